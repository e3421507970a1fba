//! Backfill batches prepared outside the writer: the entries of the next
//! items after a backfill's cursor are computed from a snapshot on another
//! thread (`prepare`), and the writer only stores those of the items still
//! as the snapshot saw them (`apply`), so decoding, projecting and encoding
//! cost the writer nothing.
//!
//! Every write stamps a new version, so an item stored with the bytes the
//! snapshot saw has not been written since, and the entry computed from
//! those bytes is right. An item written since (found in the writer's
//! transaction by one walk over the batch's key range) gets its entry
//! recomputed there from the item as it is now: a write that leaves an
//! item's entry unchanged (`index_entries::maintain` skips it) does not add
//! the entry the backfill has not written yet, so such an item cannot
//! simply be left alone. An item deleted since has no entry to add.

use super::index_entries::{BackfillStep, backfill_cursor_name};
use crate::ids::StorageId;
use crate::model::{Item, Projection, TableMeta, item_size};
use crate::store::records::{self, ItemRecordRef};
use crate::store::{ItemRecord, ReadTables, StoreError, WriteTables};

/// Items one prepared batch covers. The writer's share of each is a range
/// walk, a comparison and an insert, about 12,000 instructions by
/// callgrind: a batch of 128 holds the writer well under a millisecond, and
/// a client write waits for at most one batch (they run as background
/// jobs, see `Writer::enqueue_background`), so PutItem p99 during a
/// backfill stays near its p99 before. Unit tests use batches of three, so
/// a few items make several batches.
pub const PREPARED_BATCH: usize = if cfg!(test) { 3 } else { 128 };

/// Where a prepared batch starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackfillFrom {
    /// Where the index's stored cursor says (as the snapshot sees it).
    Cursor,
    /// After this item key (`None`: the table's first item): where the
    /// batch prepared before this one ends.
    After(Option<Vec<u8>>),
}

/// One table item of a prepared batch, as the snapshot held it.
#[derive(Debug)]
struct PreparedItem {
    /// The item's encoded key, without the storage prefix.
    key: Vec<u8>,
    /// The record's stored bytes.
    record: Vec<u8>,
    /// Its entry in the index, if it is in it.
    entry: Option<PreparedEntry>,
}

/// An index entry computed from a snapshot's record.
#[derive(Debug)]
struct PreparedEntry {
    key: Vec<u8>,
    /// The entry record's bytes; `None` when they are the table record's
    /// own (an ALL projection holds the whole item at the same version).
    bytes: Option<Vec<u8>>,
    /// DynamoDB-counted bytes of the projected item.
    size: u64,
}

/// The next batch of a backfill, computed from a snapshot (see the module
/// doc), for the writer to `apply`.
#[derive(Debug)]
pub struct PreparedBatch {
    pub table: String,
    pub index: String,
    table_storage: StorageId,
    index_storage: StorageId,
    /// The cursor the batch starts after (`None`: the first item).
    after: Option<Vec<u8>>,
    /// In key order.
    items: Vec<PreparedItem>,
    /// Positions in `items` of those with entries, in entry key order:
    /// inserted in that order, neighbouring entries share B-tree pages.
    order: Vec<usize>,
    /// Whether the batch stopped at `PREPARED_BATCH` items (else it reached
    /// the table's end).
    full: bool,
}

impl PreparedBatch {
    /// Where the batch after this one starts.
    pub fn next_from(&self) -> BackfillFrom {
        match self.items.last() {
            Some(last) => BackfillFrom::After(Some(last.key.clone())),
            None => BackfillFrom::After(self.after.clone()),
        }
    }

    /// Whether the batch reaches the table's end (no batch follows it).
    pub fn is_last(&self) -> bool {
        !self.full
    }
}

/// The next batch of index `index` of `table` from snapshot `read`, from
/// `from`; `None` when the snapshot has no such index being backfilled.
pub(super) fn prepare(
    read: &ReadTables,
    table: &str,
    index: &str,
    from: BackfillFrom,
) -> Result<Option<PreparedBatch>, StoreError> {
    let Some(meta) = read.table(table)? else {
        return Ok(None);
    };
    let Some(position) = meta.indexes.iter().position(|i| i.name == index && i.backfilling) else {
        return Ok(None);
    };
    let index_storage = meta.indexes[position].storage_id;
    let after = match from {
        BackfillFrom::After(after) => after,
        BackfillFrom::Cursor => match read.cursor(&backfill_cursor_name(index_storage))? {
            Some(cursor) => Some(cursor).filter(|c| !c.is_empty()),
            None => return Ok(None),
        },
    };
    let raw = read.raw_items_after(meta.storage_id, after.as_deref(), PREPARED_BATCH)?;
    let full = raw.len() == PREPARED_BATCH;
    let mut items = Vec::with_capacity(raw.len());
    for (key, record) in raw {
        let entry = prepare_entry(&meta, position, &key, &record)?;
        items.push(PreparedItem { key, record, entry });
    }
    let mut order: Vec<usize> = (0..items.len()).filter(|&i| items[i].entry.is_some()).collect();
    order.sort_by(|&a, &b| entry_key(&items[a]).cmp(entry_key(&items[b])));
    Ok(Some(PreparedBatch {
        table: table.to_string(),
        index: index.to_string(),
        table_storage: meta.storage_id,
        index_storage,
        after,
        items,
        order,
        full,
    }))
}

fn entry_key(item: &PreparedItem) -> &[u8] {
    item.entry.as_ref().map(|e| e.key.as_slice()).unwrap_or_default()
}

/// The entry of the item stored as `record` under `key` in index
/// `position` of `meta`, if it is in the index.
fn prepare_entry(
    meta: &TableMeta,
    position: usize,
    key: &[u8],
    record: &[u8],
) -> Result<Option<PreparedEntry>, StoreError> {
    let decoded: ItemRecord = records::decode(record)?;
    let Some(item) = &decoded.item else {
        return Ok(None);
    };
    let index = &meta.indexes[position];
    let Some(entry_key) = index.entry_key(key, item) else {
        return Ok(None);
    };
    if index.projection == Projection::All {
        let size = item_size(item) as u64;
        return Ok(Some(PreparedEntry {
            key: entry_key,
            bytes: None,
            size,
        }));
    }
    let projected: Item = index.project(&meta.key_schema, item);
    let bytes = records::encode(&ItemRecordRef {
        version: &decoded.version,
        item: Some(&projected),
    });
    Ok(Some(PreparedEntry {
        key: entry_key,
        bytes: Some(bytes),
        size: item_size(&projected) as u64,
    }))
}

/// Stores `batch` for index `position` of `meta`: the entries of its items
/// (recomputed from the items as they are now for those written since the
/// snapshot), then the cursor, in this commit (the last batch marks the
/// index complete). `None` when the batch does not start at the stored
/// cursor or was prepared for another copy of the table or index: nothing
/// is written.
pub(super) fn apply(
    tables: &mut WriteTables<'_>,
    meta: &mut TableMeta,
    position: usize,
    batch: &PreparedBatch,
) -> Result<Option<BackfillStep>, StoreError> {
    let index_storage = meta.indexes[position].storage_id;
    if meta.storage_id != batch.table_storage || index_storage != batch.index_storage {
        return Ok(None);
    }
    let cursor_name = backfill_cursor_name(index_storage);
    let Some(cursor) = tables.cursor(&cursor_name)? else {
        return Ok(None);
    };
    if Some(cursor).filter(|c| !c.is_empty()) != batch.after {
        return Ok(None);
    }
    let now = items_now(tables, batch)?;
    let mut step = BackfillStep {
        looked_at: batch.items.len(),
        ..BackfillStep::default()
    };
    for &i in &batch.order {
        let item = &batch.items[i];
        if let (Some(entry), ItemNow::Unchanged) = (&item.entry, &now[i]) {
            let bytes = entry.bytes.as_deref().unwrap_or(&item.record);
            step.added += store_entry(tables, meta, position, entry, bytes)?;
        }
    }
    for (item, now) in batch.items.iter().zip(&now) {
        if let ItemNow::Changed(record) = now
            && let Some(entry) = prepare_entry(meta, position, &item.key, record)?
        {
            let bytes = entry.bytes.as_deref().unwrap_or(record);
            step.added += store_entry(tables, meta, position, &entry, bytes)?;
        }
    }
    let index = &mut meta.indexes[position];
    match batch.items.last() {
        Some(last) if batch.full => tables.set_cursor(&cursor_name, Some(&last.key))?,
        _ => {
            tables.set_cursor(&cursor_name, None)?;
            index.backfilling = false;
            step.finished = true;
        }
    }
    Ok(Some(step))
}

/// Stores `entry` (record `bytes`) in index `position` of `meta`, counting
/// it in the index when it was not there yet (a change since the index was
/// created may have written it); returns how many entries it added.
fn store_entry(
    tables: &mut WriteTables<'_>,
    meta: &mut TableMeta,
    position: usize,
    entry: &PreparedEntry,
    bytes: &[u8],
) -> Result<usize, StoreError> {
    let index = &mut meta.indexes[position];
    if tables.put_entry_bytes(index.storage_id, &entry.key, bytes)? {
        return Ok(0);
    }
    index.item_count += 1;
    index.size_bytes += entry.size;
    Ok(1)
}

/// A prepared item as the writer's transaction holds it.
#[derive(Debug, PartialEq, Eq)]
enum ItemNow {
    /// Stored with the bytes the snapshot saw.
    Unchanged,
    /// Written since the snapshot: its record's bytes now.
    Changed(Vec<u8>),
    /// No longer stored.
    Gone,
}

/// How each item of `batch` is stored now: one walk over the batch's key
/// range, beside the batch's own keys (items written since the snapshot,
/// in between, are passed over: their writes maintained their entries).
fn items_now(tables: &WriteTables<'_>, batch: &PreparedBatch) -> Result<Vec<ItemNow>, StoreError> {
    let mut now: Vec<ItemNow> = batch.items.iter().map(|_| ItemNow::Gone).collect();
    let Some(last) = batch.items.last() else {
        return Ok(now);
    };
    let mut next = 0;
    tables.visit_items(batch.table_storage, batch.after.as_deref(), &last.key, |key, bytes| {
        while batch.items.get(next).is_some_and(|item| item.key.as_slice() < key) {
            next += 1;
        }
        if let Some(item) = batch.items.get(next)
            && item.key == key
        {
            now[next] = match item.record == bytes {
                true => ItemNow::Unchanged,
                false => ItemNow::Changed(bytes.to_vec()),
            };
            next += 1;
        }
    })?;
    Ok(now)
}
