//! Secondary index entries inside a write transaction: every item change
//! `GroupTxn::change_item` makes updates each index of its table in the
//! same commit (`maintain`), a changed description creates or drops this
//! region's copy of an index (`localize`), and an index created on a live
//! table is filled batch by batch (`backfill_batch`, driven by
//! `indexes.rs`, or prepared outside the writer by `backfill_prep.rs`), each
//! batch resuming from a cursor stored in the same commit.
//!
//! Entries live in the store's index entries table under the index's own
//! storage id, keyed as `model::index` says, holding an `ItemRecord` of the
//! projected item at the table item's version.

use crate::ids::StorageId;
use crate::model::{Item, KeySchema, Projection, SecondaryIndex, TableMeta, item_size};
use crate::store::records::{self, CodecError, ItemRecordRef};
use crate::store::{StoreError, Version, WriteTables};

/// Items one backfill step looks at: a few milliseconds of the writer's
/// time, so writes queued behind a step wait little.
pub const BACKFILL_BATCH: usize = 256;

/// The cursor record of index `storage_id`'s backfill in this region.
pub(super) fn backfill_cursor_name(storage_id: StorageId) -> String {
    format!("index-backfill/{storage_id:016x}")
}

/// The record beside the cursor of how many batches of the prepared run
/// after it are stored (see `backfill_prep.rs`); absent: none.
fn backfill_part_name(storage_id: StorageId) -> String {
    format!("index-backfill/{storage_id:016x}/part")
}

/// How many batches of the prepared run after index `storage_id`'s
/// backfill cursor are stored.
pub(super) fn backfill_part(tables: &WriteTables<'_>, storage_id: StorageId) -> Result<u64, StoreError> {
    match tables.cursor(&backfill_part_name(storage_id))? {
        None => Ok(0),
        Some(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
            Ok(part) => Ok(u64::from_be_bytes(part)),
            Err(_) => Err(CodecError::Corrupt(format!("backfill part of {storage_id:016x}")).into()),
        },
    }
}

/// Records that `part` batches of the run after the cursor are stored.
pub(super) fn set_backfill_part(
    tables: &mut WriteTables<'_>,
    storage_id: StorageId,
    part: u64,
) -> Result<(), StoreError> {
    tables.set_cursor(&backfill_part_name(storage_id), Some(&part.to_be_bytes()))
}

/// Moves index `storage_id`'s backfill cursor to `cursor` (`None`: the
/// backfill is over), where no batch of a run is stored yet.
pub(super) fn move_backfill_cursor(
    tables: &mut WriteTables<'_>,
    storage_id: StorageId,
    cursor: Option<&[u8]>,
) -> Result<(), StoreError> {
    tables.set_cursor(&backfill_cursor_name(storage_id), cursor)?;
    tables.set_cursor(&backfill_part_name(storage_id), None)
}

/// Updates every index of `meta` for one item change from `old` to `new`
/// (key `key`, stored at `version`). An entry whose key changes is removed
/// and written again, one whose projection changes is overwritten, and an
/// entry whose key and projection are unchanged is left alone.
pub(super) fn maintain(
    tables: &mut WriteTables<'_>,
    meta: &mut TableMeta,
    key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
    version: &Version,
) -> Result<(), StoreError> {
    let (schema, table_storage) = (&meta.key_schema, meta.storage_id);
    for index in &mut meta.indexes {
        let before = old.and_then(|item| Some((index.entry_key(key, item)?, item)));
        let after = new.and_then(|item| Some((index.entry_key(key, item)?, item)));
        let same_key = matches!((&before, &after), (Some((b, _)), Some((a, _))) if a == b);
        if let (true, Some((_, old)), Some((_, new))) = (same_key, &before, &after)
            && index.same_projection(schema, old, new)
        {
            continue;
        }
        // An item written before the index existed may not have its entry
        // yet (the backfill adds it later): only what was there is counted.
        let mut gone = None;
        if let Some((entry, item)) = &before
            && !same_key
            && tables.remove_entry(index.storage_id, entry)?
        {
            gone = Some(*item);
        }
        if let Some((entry, item)) = &after {
            let stored = StoredItem {
                table_storage,
                key,
                version,
                item,
            };
            let replaced = store_entry(tables, index, schema, entry, &stored)?;
            index.item_count += 1;
            index.size_bytes += index.projected_size(schema, item) as u64;
            if replaced && same_key {
                gone = before.as_ref().map(|(_, item)| *item);
            }
        }
        if let Some(item) = gone {
            index.item_count = index.item_count.saturating_sub(1);
            index.size_bytes = index
                .size_bytes
                .saturating_sub(index.projected_size(schema, item) as u64);
        }
    }
    Ok(())
}

/// An item as the change being maintained stored it: under `key` of
/// table `table_storage`, at `version`.
struct StoredItem<'a> {
    table_storage: StorageId,
    key: &'a [u8],
    version: &'a Version,
    item: &'a Item,
}

/// Stores the entry of `stored` under `entry` in `index`; returns whether
/// an entry was there. An ALL projection's entry is the item's record,
/// stored just before: copied, so the log holds its key, not the record
/// again. Any other is the projected item at the item's version.
fn store_entry(
    tables: &mut WriteTables<'_>,
    index: &SecondaryIndex,
    schema: &KeySchema,
    entry: &[u8],
    stored: &StoredItem<'_>,
) -> Result<bool, StoreError> {
    if index.projection == Projection::All
        && let Some(replaced) = tables.copy_item_to_entry(index.storage_id, entry, stored.table_storage, stored.key)?
    {
        return Ok(replaced);
    }
    let record = records::encode(&ItemRecordRef {
        version: stored.version,
        item: Some(&index.project(schema, stored.item)),
    });
    tables.put_entry_bytes(index.storage_id, entry, &record)
}

/// Gives the indexes of `new`, a table's next description, this region's
/// state: an index `old` already had (same definition) keeps its storage,
/// backfill state and counters; a new one gets storage of its own and, on
/// a table that may hold items (`backfill`), a backfill from the first
/// item; an index `old` had and `new` lacks (or redefines) is removed with
/// its entries.
pub(super) fn localize(
    tables: &mut WriteTables<'_>,
    old: Option<&TableMeta>,
    new: &mut TableMeta,
    backfill: bool,
) -> Result<(), StoreError> {
    let previous: &[SecondaryIndex] = old.map(|m| m.indexes.as_slice()).unwrap_or(&[]);
    for index in &mut new.indexes {
        match previous.iter().find(|p| p.same_definition(index)) {
            Some(kept) => {
                index.storage_id = kept.storage_id;
                index.backfilling = kept.backfilling;
                index.item_count = kept.item_count;
                index.size_bytes = kept.size_bytes;
            }
            None => {
                index.storage_id = tables.allocate_storage_id()?;
                index.backfilling = backfill;
                index.item_count = 0;
                index.size_bytes = 0;
                if backfill {
                    tables.set_cursor(&backfill_cursor_name(index.storage_id), Some(&[]))?;
                }
            }
        }
    }
    for gone in previous
        .iter()
        .filter(|p| !new.indexes.iter().any(|i| i.same_definition(p)))
    {
        drop_index(tables, gone)?;
    }
    Ok(())
}

/// Removes this region's copy of an index: its entries and its backfill.
fn drop_index(tables: &mut WriteTables<'_>, index: &SecondaryIndex) -> Result<(), StoreError> {
    tables.delete_entries(index.storage_id)?;
    move_backfill_cursor(tables, index.storage_id, None)
}

/// Removes every index of a table being dropped or emptied.
pub(super) fn drop_all(tables: &mut WriteTables<'_>, meta: &mut TableMeta) -> Result<(), StoreError> {
    for index in &mut meta.indexes {
        drop_index(tables, index)?;
        index.item_count = 0;
        index.size_bytes = 0;
    }
    Ok(())
}

/// What one backfill step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackfillStep {
    /// Table items looked at.
    pub looked_at: usize,
    /// Entries added (items not yet in the index).
    pub added: usize,
    /// Whether the index is now complete (ACTIVE).
    pub finished: bool,
    /// Whether a prepared batch did not start at the stored cursor and this
    /// step ran from the cursor in the writer instead (`backfill_batch`):
    /// batches prepared after it must be prepared again.
    pub redone: bool,
}

impl BackfillStep {
    /// Adds the work of `step`, a later step of the same backfill.
    pub fn add(&mut self, step: &BackfillStep) {
        self.looked_at += step.looked_at;
        self.added += step.added;
        self.finished |= step.finished;
        self.redone |= step.redone;
    }
}

/// One backfill batch of index `position` of `meta`: the next
/// `BACKFILL_BATCH` items after the stored cursor get their entries (those
/// not yet there: every change since the index was created maintained its
/// own), and the cursor moves on in the same commit. The last batch marks
/// the index complete. Items are read inside the writer's transaction, so
/// no change can slip between the read and the entry written for it.
pub(super) fn backfill_batch(
    tables: &mut WriteTables<'_>,
    meta: &mut TableMeta,
    position: usize,
) -> Result<BackfillStep, StoreError> {
    let storage_id = meta.indexes[position].storage_id;
    let cursor = tables.cursor(&backfill_cursor_name(storage_id))?;
    let cursor = cursor.filter(|c| !c.is_empty());
    let batch = tables.items_after(meta.storage_id, cursor.as_deref(), BACKFILL_BATCH)?;
    let mut step = BackfillStep {
        looked_at: batch.len(),
        ..BackfillStep::default()
    };
    for (key, record) in &batch {
        let Some(item) = &record.item else { continue };
        let index = &mut meta.indexes[position];
        let Some((entry, projected)) = index.entry(&meta.key_schema, key, item) else {
            continue;
        };
        let size = item_size(&projected) as u64;
        let entry_record = ItemRecordRef {
            version: &record.version,
            item: Some(&projected),
        };
        // An entry already there was written by a change since the index
        // was created, from this same item: writing it again changes
        // nothing, and one B-tree descent is cheaper than a lookup first.
        if !tables.put_entry_bytes(storage_id, &entry, &records::encode(&entry_record))? {
            index.item_count += 1;
            index.size_bytes += size;
            step.added += 1;
        }
    }
    match batch.last() {
        Some((last, _)) if batch.len() == BACKFILL_BATCH => move_backfill_cursor(tables, storage_id, Some(last))?,
        _ => {
            move_backfill_cursor(tables, storage_id, None)?;
            meta.indexes[position].backfilling = false;
            step.finished = true;
        }
    }
    Ok(step)
}
