//! The database's layout format, and bringing an older layout up to date
//! at open (after the write-ahead log is redone, since an older binary's
//! log writes the older layout).
//!
//! Formats:
//! - 1 (no number stored): secondary index entries in `items`, under the
//!   index's storage id.
//! - 2: index entries in `index_entries`, keyed the same way.

use redb::{Database, ReadableTable};

use super::{INDEX_ENTRIES, ITEMS, META, StoreError, TABLES, records};
use crate::ids::StorageId;

/// META key of the layout's format number.
pub(super) const FORMAT: &str = "format";
/// The format this binary writes.
pub(super) const CURRENT: u64 = 2;
/// The format of a database that stores no number.
const UNNUMBERED: u64 = 1;

/// The format of the database `meta` describes: `CURRENT` for a new one
/// (no incarnation yet, so nothing written in an older layout). Refuses a
/// newer format than this binary knows.
pub(super) fn format(meta: &impl ReadableTable<&'static str, u64>, new_database: bool) -> Result<u64, StoreError> {
    let stored = meta.get(FORMAT)?.map(|v| v.value());
    let format = match stored {
        Some(format) => format,
        None if new_database => CURRENT,
        None => UNNUMBERED,
    };
    if format > CURRENT {
        return Err(StoreError::NewerFormat {
            found: format,
            supported: CURRENT,
        });
    }
    Ok(format)
}

/// Brings `db` to `CURRENT` in one durable commit; nothing when it is.
pub(super) fn to_current(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    let stored = txn.open_table(META)?.get(FORMAT)?.map(|v| v.value());
    if stored == Some(CURRENT) {
        txn.abort()?;
        return Ok(());
    }
    let moved = move_index_entries(&txn)?;
    txn.open_table(META)?.insert(FORMAT, CURRENT)?;
    txn.commit()?;
    if moved > 0 {
        tracing::info!(entries = moved, "moved secondary index entries to a table of their own");
    }
    Ok(())
}

/// Format 1 to 2: moves every index's entries from `items` to
/// `index_entries`; returns how many.
fn move_index_entries(txn: &redb::WriteTransaction) -> Result<u64, StoreError> {
    let mut index_ids: Vec<StorageId> = Vec::new();
    for entry in txn.open_table(TABLES)?.iter()? {
        let meta = records::decode_table(entry?.1.value())?;
        index_ids.extend(meta.indexes.iter().map(|i| i.storage_id));
    }
    let mut items = txn.open_table(ITEMS)?;
    let mut entries = txn.open_table(INDEX_ENTRIES)?;
    let mut moved = 0;
    for storage_id in index_ids {
        let (start, end) = (storage_id.to_be_bytes(), storage_id.next().to_be_bytes());
        for entry in items.range::<&[u8]>(start.as_slice()..end.as_slice())? {
            let (key, value) = entry?;
            entries.insert(key.value(), value.value())?;
            moved += 1;
        }
        items.retain_in(start.as_slice()..end.as_slice(), |_, _| false)?;
    }
    Ok(moved)
}
