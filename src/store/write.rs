//! Writing inside one group's transaction: the store's tables as the
//! writer sees them, each mutation recorded in the group's journal for the
//! write-ahead log (see `journal.rs`, `wal.rs`). The tables are redb's
//! (`RedbTables`) or, for a store in memory, the live maps (`memory.rs`).

use std::ops::Bound;

use redb::ReadableTable;

use super::journal::{self, Keyspace, TableId, corrupt, number, text};
use super::memory::MemWrite;
use super::records::{self, Change, ConflictRecord, DroppedTable, ItemRecord};
use super::{
    CONFLICTS, CURSORS, DROPPED, HISTORY, INCARNATION, INDEX_ENTRIES, ITEMS, LOG, META, NEXT_STORAGE_ID, PITR,
    StoreError, TABLES, applied_key, bounds_after, item_key, new_incarnation, peer_incarnation_key,
};
use crate::ids::{Incarnation, Seq, StorageId};
use crate::model::TableMeta;

/// A redb table keyed by bytes, as a write transaction holds it.
pub(super) type ByteTable<'t> = redb::Table<'t, &'static [u8], &'static [u8]>;

/// The store's tables inside one write transaction.
pub struct WriteTables<'t> {
    pub(super) on: GroupTables<'t>,
    pub(super) next_seq: u64,
    /// Every mutation, for the write-ahead log.
    pub(super) journal: journal::Journal,
}

/// The tables one group writes, in the store's backend.
pub(super) enum GroupTables<'t> {
    /// Boxed: redb's tables are large, and one box per group is nothing
    /// beside a redb commit.
    Redb(Box<RedbTables<'t>>),
    Memory(MemWrite<'t>),
}

/// The redb tables of one write transaction.
pub(super) struct RedbTables<'t> {
    /// For tables opened only when used (`cursors`, `dropped_tables`).
    pub(super) txn: &'t redb::WriteTransaction,
    pub(super) tables: redb::Table<'t, &'static str, &'static [u8]>,
    pub(super) items: ByteTable<'t>,
    pub(super) index_entries: ByteTable<'t>,
    pub(super) log: redb::Table<'t, u64, &'static [u8]>,
    pub(super) meta: redb::Table<'t, &'static str, u64>,
    pub(super) conflicts: redb::Table<'t, u64, &'static [u8]>,
    pub(super) history: ByteTable<'t>,
    pub(super) pitr: redb::Table<'t, &'static str, &'static [u8]>,
}

impl<'t> WriteTables<'t> {
    /// Opens the tables in `txn`, recording its mutations in `journal`.
    pub(super) fn open(
        txn: &'t redb::WriteTransaction,
        journal: journal::Journal,
    ) -> Result<WriteTables<'t>, StoreError> {
        let log = txn.open_table(LOG)?;
        let next_seq = log.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
        let tables = RedbTables {
            txn,
            tables: txn.open_table(TABLES)?,
            items: txn.open_table(ITEMS)?,
            index_entries: txn.open_table(INDEX_ENTRIES)?,
            log,
            meta: txn.open_table(META)?,
            conflicts: txn.open_table(CONFLICTS)?,
            history: txn.open_table(HISTORY)?,
            pitr: txn.open_table(PITR)?,
        };
        Ok(WriteTables {
            on: GroupTables::Redb(Box::new(tables)),
            next_seq,
            journal,
        })
    }

    /// One group on the live tables of a store in memory, journaled in
    /// `journal` (which records nothing there: `Journal::off`).
    pub(super) fn in_memory(tables: MemWrite<'t>, journal: journal::Journal) -> WriteTables<'t> {
        let next_seq = tables
            .last(TableId::Log)
            .map_or(Ok(1), |(k, _)| number(k).map(|n| n + 1));
        WriteTables {
            next_seq: next_seq.unwrap_or(1),
            on: GroupTables::Memory(tables),
            journal,
        }
    }

    /// Sets `key` to `value` in table `id` (keys and values as the journal
    /// encodes them), and journals it.
    pub(super) fn set(&mut self, id: TableId, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        match &mut self.on {
            GroupTables::Redb(t) => t.insert(id, key, value)?,
            GroupTables::Memory(m) => drop(m.insert(id, key, value)),
        }
        self.journal.insert(id, key, value);
        Ok(())
    }

    /// Removes `key` from table `id`, and journals it.
    pub(super) fn unset(&mut self, id: TableId, key: &[u8]) -> Result<(), StoreError> {
        match &mut self.on {
            GroupTables::Redb(t) => t.remove(id, key)?,
            GroupTables::Memory(m) => drop(m.remove(id, key)),
        }
        self.journal.remove(id, key);
        Ok(())
    }

    /// Removes every key of table `id` in `start..end`, and journals it.
    pub(super) fn unset_range(&mut self, id: TableId, start: &[u8], end: &[u8]) -> Result<(), StoreError> {
        match &mut self.on {
            GroupTables::Redb(t) => t.remove_range(id, start, end)?,
            GroupTables::Memory(m) => drop(m.remove_range(id, Bound::Included(start), Bound::Excluded(end))),
        }
        self.journal.remove_range(id, start, end);
        Ok(())
    }

    /// The value under `key` in table `id` (`Tables`, `Meta`, `Pitr`,
    /// `Cursors`: keyed by name), as the journal encodes it.
    pub(super) fn get_named(&self, id: TableId, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match &self.on {
            GroupTables::Redb(t) => t.get_named(id, key),
            GroupTables::Memory(m) => Ok(m.get(id, key.as_bytes()).map(<[u8]>::to_vec)),
        }
    }

    /// `read` applied to the value under `key` in table `id` (`Items`,
    /// `IndexEntries`, `History`: keyed by bytes), `None` when there is none.
    pub(super) fn with_raw<R>(
        &self,
        id: TableId,
        key: &[u8],
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R, StoreError> {
        Ok(match &self.on {
            GroupTables::Redb(t) => read(t.byte_table(id)?.get(key)?.as_ref().map(|value| value.value())),
            GroupTables::Memory(m) => read(m.get(id, key)),
        })
    }

    /// Calls `visit` with each entry of table `id` (`Items`,
    /// `IndexEntries`, `History`: keyed by bytes) within `(lo, hi)`, in key
    /// order, while it returns `Ok(true)`.
    pub(super) fn visit_range(
        &self,
        id: TableId,
        (lo, hi): (Bound<&[u8]>, Bound<&[u8]>),
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        match &self.on {
            GroupTables::Redb(t) => {
                for entry in t.byte_table(id)?.range::<&[u8]>((lo, hi))? {
                    let (k, v) = entry?;
                    if !visit(k.value(), v.value())? {
                        break;
                    }
                }
            }
            GroupTables::Memory(m) => {
                for (k, v) in m.range(id, lo, hi) {
                    if !visit(k, v)? {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Stores `value` under `key` in table `id` (`Items` or
    /// `IndexEntries`) and journals it; returns the value it replaced, given
    /// to `old` (not journaled when `old` fails: the caller puts it back).
    fn replace<R>(
        &mut self,
        id: TableId,
        key: &[u8],
        value: &[u8],
        old: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, StoreError> {
        let replaced = match &mut self.on {
            GroupTables::Redb(t) => t.byte_table_mut(id)?.insert(key, value)?.map(|v| old(v.value())),
            GroupTables::Memory(m) => m.insert(id, key, value).map(|v| old(&v)),
        };
        self.journal.insert(id, key, value);
        Ok(replaced)
    }
}

impl<'t> RedbTables<'t> {
    /// The byte-keyed table the journal names `id`: `Items`,
    /// `IndexEntries` or `History`.
    pub(super) fn byte_table_mut(&mut self, id: TableId) -> Result<&mut ByteTable<'t>, StoreError> {
        match id {
            TableId::Items => Ok(&mut self.items),
            TableId::History => Ok(&mut self.history),
            TableId::IndexEntries => Ok(&mut self.index_entries),
            other => Err(corrupt(&format!("{other:?} is not keyed by bytes"))),
        }
    }

    /// `byte_table_mut`, to read.
    fn byte_table(&self, id: TableId) -> Result<&ByteTable<'t>, StoreError> {
        match id {
            TableId::Items => Ok(&self.items),
            TableId::History => Ok(&self.history),
            TableId::IndexEntries => Ok(&self.index_entries),
            other => Err(corrupt(&format!("{other:?} is not keyed by bytes"))),
        }
    }

    /// Sets `key` to `value` in table `id`, both as the journal encodes
    /// them.
    pub(super) fn insert(&mut self, table: TableId, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        match table {
            TableId::Tables => drop(self.tables.insert(text(key)?, value)?),
            TableId::Items | TableId::IndexEntries | TableId::History => {
                drop(self.byte_table_mut(table)?.insert(key, value)?)
            }
            TableId::Log => drop(self.log.insert(number(key)?, value)?),
            TableId::Meta => drop(self.meta.insert(text(key)?, number(value)?)?),
            TableId::Conflicts => drop(self.conflicts.insert(number(key)?, value)?),
            TableId::Pitr => drop(self.pitr.insert(text(key)?, value)?),
            TableId::Cursors => drop(self.txn.open_table(CURSORS)?.insert(text(key)?, value)?),
            TableId::Dropped => drop(self.txn.open_table(DROPPED)?.insert(text(key)?, value)?),
        }
        Ok(())
    }

    /// Removes `key` (as the journal encodes it) from table `id`.
    pub(super) fn remove(&mut self, table: TableId, key: &[u8]) -> Result<(), StoreError> {
        match table {
            TableId::Tables => drop(self.tables.remove(text(key)?)?),
            TableId::Items | TableId::IndexEntries | TableId::History => drop(self.byte_table_mut(table)?.remove(key)?),
            TableId::Log => drop(self.log.remove(number(key)?)?),
            TableId::Meta => drop(self.meta.remove(text(key)?)?),
            TableId::Conflicts => drop(self.conflicts.remove(number(key)?)?),
            TableId::Pitr => drop(self.pitr.remove(text(key)?)?),
            TableId::Cursors => drop(self.txn.open_table(CURSORS)?.remove(text(key)?)?),
            TableId::Dropped => drop(self.txn.open_table(DROPPED)?.remove(text(key)?)?),
        }
        Ok(())
    }

    /// Removes every key of table `id` in `start..end` (as the journal
    /// encodes them).
    pub(super) fn remove_range(&mut self, table: TableId, start: &[u8], end: &[u8]) -> Result<(), StoreError> {
        match table {
            TableId::Items | TableId::IndexEntries | TableId::History => {
                self.byte_table_mut(table)?.retain_in(start..end, |_, _| false)?
            }
            TableId::Log => self.log.retain_in(number(start)?..number(end)?, |_, _| false)?,
            TableId::Conflicts => self.conflicts.retain_in(number(start)?..number(end)?, |_, _| false)?,
            other => return Err(corrupt(&format!("range removal in {other:?}"))),
        }
        Ok(())
    }

    /// The value under `key` in a table keyed by name, as the journal
    /// encodes it.
    pub(super) fn get_named(&self, table: TableId, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let bytes = |v: Option<redb::AccessGuard<'_, &'static [u8]>>| v.map(|v| v.value().to_vec());
        Ok(match table {
            TableId::Tables => bytes(self.tables.get(key)?),
            TableId::Meta => self.meta.get(key)?.map(|v| v.value().to_be_bytes().to_vec()),
            TableId::Pitr => bytes(self.pitr.get(key)?),
            TableId::Cursors => bytes(self.txn.open_table(CURSORS)?.get(key)?),
            TableId::Dropped => bytes(self.txn.open_table(DROPPED)?.get(key)?),
            other => return Err(corrupt(&format!("{other:?} is not keyed by name"))),
        })
    }
}

/// Records of one storage id in the `Items` or `IndexEntries` table (the
/// same key encoding, `item_key`), each mutation journaled under that table.
impl WriteTables<'_> {
    /// Stores `value` under `key` of `storage_id`; returns whether a record
    /// was already there.
    pub(super) fn insert_keyed(
        &mut self,
        id: TableId,
        storage_id: StorageId,
        key: &[u8],
        value: &[u8],
    ) -> Result<bool, StoreError> {
        let key = item_key(storage_id, key);
        Ok(self.replace(id, &key, value, |_| ())?.is_some())
    }

    /// Removes the record under `key` of `storage_id`, if any; returns
    /// whether there was one.
    fn remove_keyed(&mut self, id: TableId, storage_id: StorageId, key: &[u8]) -> Result<bool, StoreError> {
        let key = item_key(storage_id, key);
        let removed = match &mut self.on {
            GroupTables::Redb(t) => t.byte_table_mut(id)?.remove(key.as_slice())?.is_some(),
            GroupTables::Memory(m) => m.remove(id, &key).is_some(),
        };
        if removed {
            self.journal.remove(id, &key);
        }
        Ok(removed)
    }

    /// Removes every record of `storage_id`.
    fn clear_keyed(&mut self, id: TableId, storage_id: StorageId) -> Result<(), StoreError> {
        self.unset_range(id, &storage_id.to_be_bytes(), &storage_id.next().to_be_bytes())
    }
}

/// Secondary index entries (`index_entries`), keyed by the index's storage
/// id and the entry key, holding an `ItemRecord` of the projected item.
impl WriteTables<'_> {
    /// Stores the entry for `key` of index `storage_id`.
    pub fn put_entry(&mut self, storage_id: StorageId, key: &[u8], record: &ItemRecord) -> Result<(), StoreError> {
        self.put_entry_bytes(storage_id, key, &records::encode(record))?;
        Ok(())
    }

    /// Stores an encoded entry record; returns whether one was there.
    pub fn put_entry_bytes(&mut self, storage_id: StorageId, key: &[u8], record: &[u8]) -> Result<bool, StoreError> {
        self.insert_keyed(TableId::IndexEntries, storage_id, key, record)
    }

    /// Stores as the entry for `key` of index `storage_id` the record item
    /// `item` of table `table_storage` holds (an ALL projection's entry),
    /// journaled as a copy: the log holds the two keys, not the record
    /// again. Returns whether an entry was there; `None`, writing nothing,
    /// when the item is not.
    pub fn copy_item_to_entry(
        &mut self,
        storage_id: StorageId,
        key: &[u8],
        table_storage: StorageId,
        item: &[u8],
    ) -> Result<Option<bool>, StoreError> {
        let item = item_key(table_storage, item);
        let Some(record) = self.with_raw(TableId::Items, &item, |record| record.map(<[u8]>::to_vec))? else {
            return Ok(None);
        };
        let key = item_key(storage_id, key);
        let id = TableId::IndexEntries;
        let replaced = match &mut self.on {
            GroupTables::Redb(t) => t
                .byte_table_mut(id)?
                .insert(key.as_slice(), record.as_slice())?
                .is_some(),
            GroupTables::Memory(m) => m.insert(id, &key, &record).is_some(),
        };
        self.journal.copy_item(id, &key, &item);
        Ok(Some(replaced))
    }

    /// Removes the entry for `key` of index `storage_id`, if any; returns
    /// whether there was one.
    pub fn remove_entry(&mut self, storage_id: StorageId, key: &[u8]) -> Result<bool, StoreError> {
        self.remove_keyed(TableId::IndexEntries, storage_id, key)
    }

    /// Removes every entry of index `storage_id`.
    pub fn delete_entries(&mut self, storage_id: StorageId) -> Result<(), StoreError> {
        self.clear_keyed(TableId::IndexEntries, storage_id)
    }
}

impl WriteTables<'_> {
    /// The description of table `name`, if it exists.
    pub fn table(&self, name: &str) -> Result<Option<TableMeta>, StoreError> {
        match self.get_named(TableId::Tables, name)? {
            Some(bytes) => Ok(Some(records::decode_table(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Creates or replaces a table description.
    pub fn put_table(&mut self, meta: &TableMeta) -> Result<(), StoreError> {
        self.set(TableId::Tables, meta.name.as_bytes(), &records::encode(meta))
    }

    /// Removes a table description (its items are removed by `delete_items`).
    pub fn remove_table(&mut self, name: &str) -> Result<(), StoreError> {
        self.unset(TableId::Tables, name.as_bytes())
    }

    /// A fresh storage id for a new table.
    pub fn allocate_storage_id(&mut self) -> Result<StorageId, StoreError> {
        let id = self.meta(NEXT_STORAGE_ID)?.unwrap_or(1);
        self.set_meta(NEXT_STORAGE_ID, id + 1)?;
        Ok(StorageId(id))
    }

    /// The record stored for a key, live or tombstone.
    pub fn item(&self, storage_id: StorageId, key: &[u8]) -> Result<Option<ItemRecord>, StoreError> {
        let record = self.with_item_bytes(storage_id, key, |bytes| bytes.map(records::decode))?;
        Ok(record.transpose()?)
    }

    /// `read` applied to the stored bytes of the record for a key (`None`
    /// when there is none), decoding nothing: a backfill's check that an
    /// item is as its snapshot saw it.
    pub fn with_item_bytes<R>(
        &self,
        storage_id: StorageId,
        key: &[u8],
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R, StoreError> {
        self.with_raw(TableId::Items, &item_key(storage_id, key), read)
    }

    /// Stores the record for a key.
    pub fn put_item(&mut self, storage_id: StorageId, key: &[u8], record: &ItemRecord) -> Result<(), StoreError> {
        self.put_item_bytes(storage_id, key, &records::encode(record))?;
        Ok(())
    }

    /// Stores a record given by reference (same bytes as `put_item`).
    pub fn put_item_ref(
        &mut self,
        storage_id: StorageId,
        key: &[u8],
        record: &records::ItemRecordRef<'_>,
    ) -> Result<(), StoreError> {
        self.put_item_bytes(storage_id, key, &records::encode(record))?;
        Ok(())
    }

    /// Stores a record given by reference and returns the record it
    /// replaced, found by the same B-tree descent (no separate lookup). If
    /// the replaced record cannot be decoded, it is put back and the error
    /// returned: the write fails and changes nothing.
    pub fn replace_item_ref(
        &mut self,
        storage_id: StorageId,
        key: &[u8],
        record: &records::ItemRecordRef<'_>,
    ) -> Result<Option<ItemRecord>, StoreError> {
        let bytes = records::encode(record);
        let key = item_key(storage_id, key);
        let replaced = self.replace(TableId::Items, &key, &bytes, |old| {
            records::decode(old).map_err(|e| (e, old.to_vec()))
        })?;
        match replaced.transpose() {
            Ok(replaced) => Ok(replaced),
            Err((error, old)) => {
                self.set(TableId::Items, &key, &old)?;
                Err(error.into())
            }
        }
    }

    /// Up to `max` records of table `storage_id` after encoded key `after`
    /// (from the first with `None`), in key order: a background job's
    /// batch, read inside the transaction that acts on it.
    pub fn items_after(
        &self,
        storage_id: StorageId,
        after: Option<&[u8]>,
        max: usize,
    ) -> Result<Vec<(Vec<u8>, ItemRecord)>, StoreError> {
        let (lower, upper) = bounds_after(storage_id, after);
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        self.visit_range(TableId::Items, (as_slice(&lower), as_slice(&upper)), |k, v| {
            out.push((k[8..].to_vec(), records::decode(v)?));
            Ok(out.len() < max)
        })?;
        Ok(out)
    }

    /// Calls `visit` with the stored bytes of each record of `storage_id`
    /// in `space` whose encoded key starts with `prefix` (one partition's
    /// items, or an LSI's entries for one partition), in key order.
    pub fn visit_with_prefix(
        &self,
        space: Keyspace,
        storage_id: StorageId,
        prefix: &[u8],
        mut visit: impl FnMut(&[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let id = space.table_id();
        let lower = item_key(storage_id, prefix);
        let upper = crate::model::key::prefix_end(&lower);
        let upper = upper.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        self.visit_range(id, (Bound::Included(&lower), upper), |_, v| {
            visit(v)?;
            Ok(true)
        })
    }

    /// Calls `visit` with the key (without the storage prefix) and the
    /// stored bytes of each record of table `storage_id` after encoded key
    /// `after` (from the first with `None`) through `through`, in key order,
    /// decoding nothing.
    pub fn visit_items(
        &self,
        storage_id: StorageId,
        after: Option<&[u8]>,
        through: &[u8],
        mut visit: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), StoreError> {
        let (lower, _) = bounds_after(storage_id, after);
        let upper = item_key(storage_id, through);
        self.visit_range(TableId::Items, (as_slice(&lower), Bound::Included(&upper)), |k, v| {
            visit(&k[8..], v);
            Ok(true)
        })
    }

    /// A named record: a background worker's cursor, or a small record
    /// the engine keeps (deleted tables' streams), as this transaction
    /// sees it.
    pub fn cursor(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_named(TableId::Cursors, name)
    }

    /// Appends a change given by reference (same bytes as `append_change`).
    pub fn append_change_ref(&mut self, change: &records::ChangeRef<'_>) -> Result<Seq, StoreError> {
        self.append_log_bytes(&records::encode(change))
    }

    fn append_log_bytes(&mut self, bytes: &[u8]) -> Result<Seq, StoreError> {
        let seq = self.next_seq;
        match &mut self.on {
            GroupTables::Redb(t) => drop(t.log.insert(seq, bytes)?),
            GroupTables::Memory(m) => drop(m.insert(TableId::Log, &seq.to_be_bytes(), bytes)),
        }
        self.journal.insert(TableId::Log, &seq.to_be_bytes(), bytes);
        self.next_seq += 1;
        Ok(Seq(seq))
    }

    /// Removes every record of a table's storage id (its PITR history is
    /// removed by `forget_history`).
    pub fn delete_items(&mut self, storage_id: StorageId) -> Result<(), StoreError> {
        self.clear_keyed(TableId::Items, storage_id)
    }

    /// Sequence number of the last change-log entry (0 when empty).
    pub fn last_seq(&self) -> Seq {
        Seq(self.next_seq - 1)
    }

    /// Removes change-log entries before `before`, at most `max` of them,
    /// and returns how many it removed. The last entry is always kept: the
    /// next sequence number is found from it, and numbers must never be
    /// used twice (peers and stream iterators hold them).
    pub fn trim_log(&mut self, before: Seq, max: u64) -> Result<u64, StoreError> {
        let first = match &self.on {
            GroupTables::Redb(t) => t.log.first()?.map(|(k, _)| k.value()),
            GroupTables::Memory(m) => m.first(TableId::Log).map(|(k, _)| number(k)).transpose()?,
        };
        let Some(first) = first else {
            return Ok(0);
        };
        let end = before.min(self.last_seq()).get().min(first.saturating_add(max));
        if end <= first {
            return Ok(0);
        }
        self.unset_range(TableId::Log, &first.to_be_bytes(), &end.to_be_bytes())?;
        Ok(end - first)
    }

    /// Removes conflict records, oldest first, while both versions of the
    /// record are stamped before `before_ns` (wall clock), at most `max`;
    /// returns how many went. Records are appended as conflicts happen, so
    /// the first younger one ends the stretch.
    pub fn trim_conflicts(&mut self, before_ns: u64, max: u64) -> Result<u64, StoreError> {
        let mut range: Option<(u64, u64)> = None;
        let mut looked_at = 0;
        let mut visit = |id: u64, bytes: &[u8]| -> Result<bool, StoreError> {
            if looked_at >= max {
                return Ok(false);
            }
            looked_at += 1;
            let record: ConflictRecord = records::decode(bytes)?;
            if record.winner.ts.wall_ns.max(record.loser.ts.wall_ns) >= before_ns {
                return Ok(false);
            }
            range = Some((range.map_or(id, |(first, _)| first), id + 1));
            Ok(true)
        };
        match &self.on {
            GroupTables::Redb(t) => {
                for entry in t.conflicts.iter()? {
                    let (id, bytes) = entry?;
                    if !visit(id.value(), bytes.value())? {
                        break;
                    }
                }
            }
            GroupTables::Memory(m) => {
                for (id, bytes) in m.range(TableId::Conflicts, Bound::Unbounded, Bound::Unbounded) {
                    if !visit(number(id)?, bytes)? {
                        break;
                    }
                }
            }
        }
        let Some((first, end)) = range else {
            return Ok(0);
        };
        self.unset_range(TableId::Conflicts, &first.to_be_bytes(), &end.to_be_bytes())?;
        Ok(end - first)
    }

    /// The last sequence number applied of the change log named `origin`
    /// (the engine names a region's log in one incarnation; see
    /// `engine::Origin`).
    pub fn applied(&self, origin: &str) -> Result<Seq, StoreError> {
        Ok(Seq(self.meta(&applied_key(origin))?.unwrap_or(0)))
    }

    /// Records that changes from `origin` are applied through `seq`.
    pub fn set_applied(&mut self, origin: &str, seq: Seq) -> Result<(), StoreError> {
        self.set_meta(&applied_key(origin), seq.get())
    }

    /// A number of the `meta` table.
    pub(super) fn meta(&self, name: &str) -> Result<Option<u64>, StoreError> {
        match &self.on {
            GroupTables::Redb(t) => Ok(t.meta.get(name)?.map(|v| v.value())),
            GroupTables::Memory(m) => m.get(TableId::Meta, name.as_bytes()).map(number).transpose(),
        }
    }

    pub(super) fn set_meta(&mut self, name: &str, value: u64) -> Result<(), StoreError> {
        self.set(TableId::Meta, name.as_bytes(), &value.to_be_bytes())
    }

    /// Records which incarnation of `peer`'s data we ship to.
    pub fn set_peer_incarnation(&mut self, peer: &str, incarnation: Incarnation) -> Result<(), StoreError> {
        self.set_meta(&peer_incarnation_key(peer), incarnation.get())
    }

    /// Makes this database a new incarnation of the region (see
    /// `Store::incarnation`), as of the next open; returns it.
    pub fn renew_incarnation(&mut self) -> Result<Incarnation, StoreError> {
        let incarnation = new_incarnation();
        self.set_meta(INCARNATION, incarnation)?;
        Ok(Incarnation(incarnation))
    }

    /// Records a write that lost last-writer-wins.
    pub fn record_conflict(&mut self, conflict: &ConflictRecord) -> Result<(), StoreError> {
        let last = match &self.on {
            GroupTables::Redb(t) => t.conflicts.last()?.map(|(k, _)| k.value()),
            GroupTables::Memory(m) => m.last(TableId::Conflicts).map(|(k, _)| number(k)).transpose()?,
        };
        let id = last.map_or(1, |last| last + 1);
        self.set(TableId::Conflicts, &id.to_be_bytes(), &records::encode(conflict))
    }

    /// Records that `dropped.region` must drop its copy of a table
    /// (replacing an earlier record for the same table and region).
    pub fn record_dropped(&mut self, dropped: &DroppedTable) -> Result<(), StoreError> {
        let key = format!("{}/{}", dropped.table_id, dropped.region);
        self.set(TableId::Dropped, key.as_bytes(), &records::encode(dropped))
    }

    /// Stores (or with `None`, clears) a named record (see `cursor`).
    pub fn set_cursor(&mut self, name: &str, cursor: Option<&[u8]>) -> Result<(), StoreError> {
        match cursor {
            Some(bytes) => self.set(TableId::Cursors, name.as_bytes(), bytes),
            None => self.unset(TableId::Cursors, name.as_bytes()),
        }
    }

    /// Appends a change-log entry and returns its sequence number.
    pub fn append_change(&mut self, change: &Change) -> Result<Seq, StoreError> {
        self.append_log_bytes(&records::encode(change))
    }
}

pub(super) fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}
