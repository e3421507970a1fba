//! Backfill runs prepared outside the writer: the entries of the next
//! items after a backfill's cursor are computed from a snapshot on another
//! thread (`prepare`), sorted by entry key and cut into batches, and the
//! writer only stores those of the items still as the snapshot saw them
//! (`apply`), so decoding, projecting and encoding cost the writer nothing.
//!
//! Why a run is sorted by entry key: the table is walked in its own key
//! order and the index orders entries by another key, so the entries of a
//! stretch of the table fall all over the index. Stored in table order, a
//! batch of 128 entries touched about 128 leaves of a large index, and
//! redb copies every page a commit changes: with a million items the
//! backfill ran at ~70,000 items/s, the writer busy copying pages. Sorted,
//! the entries of a batch are neighbours: a leaf copied takes several of
//! them, and each batch holds the writer no longer than before.
//!
//! Every write stamps a new version, so an item stored with the bytes the
//! snapshot saw has not been written since, and the entry computed from
//! those bytes is right. An item written since gets its entry recomputed
//! in the writer from the item as it is now: a write that leaves an item's
//! entry unchanged (`index_entries::maintain` skips it) does not add the
//! entry the backfill has not stored yet. An item deleted since has no
//! entry to add. An item the snapshot saw without an entry needs nothing:
//! a write since that gave it one stored it (`maintain` adds an entry
//! whose key the item did not have before).
//!
//! The cursor moves on with a run's last batch only: until then a restart
//! prepares the run again, and an entry stored twice is stored with the
//! same bytes and counted once. A run's batches are stored in order: each
//! carries its position, checked against the count of the run's batches
//! stored, kept beside the cursor (`index_entries::backfill_part`).

use super::index_entries::{
    BackfillStep, backfill_cursor_name, backfill_part, move_backfill_cursor, set_backfill_part,
};
use crate::ids::StorageId;
use crate::model::{Item, Projection, TableMeta, item_size};
use crate::store::records::{self, ItemRecordRef};
use crate::store::{ItemRecord, ReadTables, StoreError, WriteTables};

/// Table items one prepared run covers: the more, the more entries of a
/// batch share index leaves (with 1,000 distinct index keys among a
/// million items, a run of 32,768 puts ~32 entries of each key side by
/// side). A run's items and entries, ~16 MB for items of 200 bytes, are
/// held until the run is stored. Unit tests use runs of three, so a few
/// items make several runs.
pub const PREPARED_RUN: usize = if cfg!(test) { 3 } else { 32_768 };

/// Record bytes past which a run stops early: items may be 400 KB each, and
/// a run of them must not hold gigabytes (the worker holds two runs).
pub const PREPARED_RUN_BYTES: usize = 16 << 20;

/// Entries one writer job stores: its share of each is two lookups, a
/// comparison and an insert, and a client write waits for at most one
/// batch and the commit of its group (they run as background jobs, see
/// `Writer::enqueue_background`, which shares a commit among several).
/// Measured with the indexes bench (1,000,000 items, 500 PutItem/s
/// meanwhile, PutItem p50 0.5-0.6 ms before the backfill): batches of 32
/// gave 130,000-163,000 items/s and the same p50 during it. Each in a
/// group of its own, batches of 64 had given 130,000-150,000 items/s and
/// a p50 of 0.6 ms, 128 gave 155,000-175,000 and 0.8-0.9 ms, 256 gave
/// 165,000-170,000 and 1.3 ms. Unit tests use batches of two, so a run
/// makes several.
pub const APPLIED_BATCH: usize = if cfg!(test) { 2 } else { 32 };

/// Where a prepared run starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackfillFrom {
    /// Where the index's stored cursor says (as the snapshot sees it).
    Cursor,
    /// After this item key (`None`: the table's first item): where the
    /// run prepared before this one ends.
    After(Option<Vec<u8>>),
}

/// One table item of a prepared batch, as the snapshot held it, with its
/// entry in the index.
#[derive(Debug)]
struct PreparedItem {
    /// The item's encoded key, without the storage prefix.
    key: Vec<u8>,
    /// The record's stored bytes.
    record: Vec<u8>,
    entry: PreparedEntry,
}

/// An index entry computed from a record.
#[derive(Debug)]
struct PreparedEntry {
    key: Vec<u8>,
    /// The entry record's bytes; `None` when they are the table record's
    /// own (an ALL projection holds the whole item at the same version).
    bytes: Option<Vec<u8>>,
    /// DynamoDB-counted bytes of the projected item.
    size: u64,
}

/// The next stretch of a backfill, computed from a snapshot (see the
/// module doc), as the batches the writer stores in order.
#[derive(Debug)]
pub struct PreparedRun {
    batches: Vec<PreparedBatch>,
    next: BackfillFrom,
    last: bool,
}

impl PreparedRun {
    /// Where the run after this one starts.
    pub fn next_from(&self) -> BackfillFrom {
        self.next.clone()
    }

    /// Whether the run reaches the table's end (no run follows it).
    pub fn is_last(&self) -> bool {
        self.last
    }

    /// Its batches, to be stored in this order (at least one).
    pub fn into_batches(self) -> Vec<PreparedBatch> {
        self.batches
    }
}

/// One writer job's share of a prepared run.
#[derive(Debug)]
pub struct PreparedBatch {
    pub table: String,
    pub index: String,
    table_storage: StorageId,
    index_storage: StorageId,
    /// The cursor the run starts after (`None`: the first item).
    after: Option<Vec<u8>>,
    /// The batch's position in its run.
    part: u64,
    /// Items with entries, in entry key order: inserted in that order,
    /// neighbouring entries share B-tree pages.
    items: Vec<PreparedItem>,
    /// Set on the run's last batch: where the run ends.
    end: Option<RunEnd>,
}

/// How a run ends, for its last batch.
#[derive(Debug)]
struct RunEnd {
    /// The run's last item key when more items follow it (the cursor moves
    /// there); `None` when the run reaches the table's end.
    cursor: Option<Vec<u8>>,
    /// The run's items without entries (looked at, with nothing to store).
    passed: usize,
}

/// The next run of index `index` of `table` from snapshot `read`, from
/// `from`; `None` when the snapshot has no such index being backfilled.
pub(super) fn prepare(
    read: &ReadTables,
    table: &str,
    index: &str,
    from: BackfillFrom,
) -> Result<Option<PreparedRun>, StoreError> {
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
    let raw = read.raw_items_after(meta.storage_id, after.as_deref(), PREPARED_RUN, PREPARED_RUN_BYTES)?;
    let bytes: usize = raw.iter().map(|(_, record)| record.len()).sum();
    let full = raw.len() == PREPARED_RUN || bytes >= PREPARED_RUN_BYTES;
    let last_key = raw.last().map(|(key, _)| key.clone());
    let looked_at = raw.len();
    let mut items = Vec::with_capacity(raw.len());
    for (key, record) in raw {
        if let Some(entry) = prepare_entry(&meta, position, &key, &record)? {
            items.push(PreparedItem { key, record, entry });
        }
    }
    items.sort_unstable_by(|a, b| a.entry.key.cmp(&b.entry.key));
    let end = RunEnd {
        cursor: last_key.clone().filter(|_| full),
        passed: looked_at - items.len(),
    };
    let mut batches = Vec::with_capacity(items.len().div_ceil(APPLIED_BATCH).max(1));
    let mut items = items.into_iter().peekable();
    for part in 0u64.. {
        let batch = PreparedBatch {
            table: table.to_string(),
            index: index.to_string(),
            table_storage: meta.storage_id,
            index_storage,
            after: after.clone(),
            part,
            items: items.by_ref().take(APPLIED_BATCH).collect(),
            end: None,
        };
        batches.push(batch);
        if items.peek().is_none() {
            break;
        }
    }
    if let Some(last) = batches.last_mut() {
        last.end = Some(end);
    }
    Ok(Some(PreparedRun {
        batches,
        next: BackfillFrom::After(last_key.or(after)),
        last: !full,
    }))
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
/// snapshot), then the run's progress, in this commit (the run's last
/// batch moves the cursor, or marks the index complete). `None` when the
/// batch is not the next of the run after the stored cursor, or was
/// prepared for another copy of the table or index: nothing is written.
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
    let Some(cursor) = tables.cursor(&backfill_cursor_name(index_storage))? else {
        return Ok(None);
    };
    if Some(cursor).filter(|c| !c.is_empty()) != batch.after || backfill_part(tables, index_storage)? != batch.part {
        return Ok(None);
    }
    let mut step = BackfillStep {
        looked_at: batch.items.len(),
        ..BackfillStep::default()
    };
    for item in &batch.items {
        step.added += store_item(tables, meta, position, batch.table_storage, item)?;
    }
    let Some(end) = &batch.end else {
        set_backfill_part(tables, index_storage, batch.part + 1)?;
        return Ok(Some(step));
    };
    step.looked_at += end.passed;
    move_backfill_cursor(tables, index_storage, end.cursor.as_deref())?;
    if end.cursor.is_none() {
        meta.indexes[position].backfilling = false;
        step.finished = true;
    }
    Ok(Some(step))
}

/// Stores the entry of prepared `item` as the item is stored now: the
/// prepared entry when the item is as the snapshot saw it, one computed
/// from its record now when it was written since, none when it is gone;
/// returns how many entries it added.
fn store_item(
    tables: &mut WriteTables<'_>,
    meta: &mut TableMeta,
    position: usize,
    table_storage: StorageId,
    item: &PreparedItem,
) -> Result<usize, StoreError> {
    let now = tables.with_item_bytes(table_storage, &item.key, |now| match now {
        Some(bytes) if bytes == item.record.as_slice() => ItemNow::Unchanged,
        Some(bytes) => ItemNow::Changed(bytes.to_vec()),
        None => ItemNow::Gone,
    })?;
    let index_storage = meta.indexes[position].storage_id;
    match now {
        ItemNow::Unchanged => {
            let entry = &item.entry;
            let there = match &entry.bytes {
                Some(bytes) => tables.put_entry_bytes(index_storage, &entry.key, bytes)?,
                // The entry is the item's record: copied, so the log holds
                // its key, not the record again.
                None => tables
                    .copy_item_to_entry(index_storage, &entry.key, table_storage, &item.key)?
                    .unwrap_or(true),
            };
            Ok(count_entry(meta, position, entry, there))
        }
        ItemNow::Changed(record) => match prepare_entry(meta, position, &item.key, &record)? {
            Some(entry) => {
                let bytes = entry.bytes.as_deref().unwrap_or(&record);
                let there = tables.put_entry_bytes(index_storage, &entry.key, bytes)?;
                Ok(count_entry(meta, position, &entry, there))
            }
            None => Ok(0),
        },
        ItemNow::Gone => Ok(0),
    }
}

/// Counts `entry`, just stored, in index `position` of `meta` unless it
/// was `there` already (a change since the index was created, or an
/// earlier try at the same run, wrote it); returns how many entries it
/// added.
fn count_entry(meta: &mut TableMeta, position: usize, entry: &PreparedEntry, there: bool) -> usize {
    if there {
        return 0;
    }
    let index = &mut meta.indexes[position];
    index.item_count += 1;
    index.size_bytes += entry.size;
    1
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
