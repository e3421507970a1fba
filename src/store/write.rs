//! Writing inside one group's transaction: the store's tables as the
//! writer sees them, each mutation recorded in the group's journal for the
//! write-ahead log (see `journal.rs`, `wal.rs`).

use redb::ReadableTable;

use super::journal::{self, TableId, corrupt};
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
    /// For tables opened only when used (`cursors`).
    pub(super) txn: &'t redb::WriteTransaction,
    pub(super) tables: redb::Table<'t, &'static str, &'static [u8]>,
    pub(super) items: ByteTable<'t>,
    pub(super) index_entries: ByteTable<'t>,
    pub(super) log: redb::Table<'t, u64, &'static [u8]>,
    pub(super) meta: redb::Table<'t, &'static str, u64>,
    pub(super) conflicts: redb::Table<'t, u64, &'static [u8]>,
    pub(super) history: ByteTable<'t>,
    pub(super) pitr: redb::Table<'t, &'static str, &'static [u8]>,
    pub(super) next_seq: u64,
    /// Every mutation, for the write-ahead log.
    pub(super) journal: journal::Journal,
}

impl<'t> WriteTables<'t> {
    /// Opens the tables in `txn`, recording its mutations in `journal`.
    pub(super) fn open(
        txn: &'t redb::WriteTransaction,
        journal: journal::Journal,
    ) -> Result<WriteTables<'t>, StoreError> {
        let log = txn.open_table(LOG)?;
        let next_seq = log.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
        Ok(WriteTables {
            txn,
            tables: txn.open_table(TABLES)?,
            items: txn.open_table(ITEMS)?,
            index_entries: txn.open_table(INDEX_ENTRIES)?,
            log,
            meta: txn.open_table(META)?,
            conflicts: txn.open_table(CONFLICTS)?,
            history: txn.open_table(HISTORY)?,
            pitr: txn.open_table(PITR)?,
            next_seq,
            journal,
        })
    }

    /// The byte-keyed table the journal names `id`: `Items`,
    /// `IndexEntries` or `History`.
    pub(super) fn byte_table(&mut self, id: TableId) -> Result<&mut ByteTable<'t>, StoreError> {
        match id {
            TableId::Items => Ok(&mut self.items),
            TableId::History => Ok(&mut self.history),
            TableId::IndexEntries => Ok(&mut self.index_entries),
            other => Err(corrupt(&format!("{other:?} is not keyed by bytes"))),
        }
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
        let previous = self.byte_table(id)?.insert(key.as_slice(), value)?.is_some();
        self.journal.insert(id, &key, value);
        Ok(previous)
    }

    /// Removes the record under `key` of `storage_id`, if any; returns
    /// whether there was one.
    fn remove_keyed(&mut self, id: TableId, storage_id: StorageId, key: &[u8]) -> Result<bool, StoreError> {
        let key = item_key(storage_id, key);
        let removed = self.byte_table(id)?.remove(key.as_slice())?.is_some();
        if removed {
            self.journal.remove(id, &key);
        }
        Ok(removed)
    }

    /// Removes every record of `storage_id`.
    fn clear_keyed(&mut self, id: TableId, storage_id: StorageId) -> Result<(), StoreError> {
        let start = storage_id.to_be_bytes();
        let end = storage_id.next().to_be_bytes();
        self.byte_table(id)?
            .retain_in(start.as_slice()..end.as_slice(), |_, _| false)?;
        self.journal.remove_range(id, &start, &end);
        Ok(())
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

    /// Removes the entry for `key` of index `storage_id`, if any; returns
    /// whether there was one.
    pub fn remove_entry(&mut self, storage_id: StorageId, key: &[u8]) -> Result<bool, StoreError> {
        self.remove_keyed(TableId::IndexEntries, storage_id, key)
    }

    /// Removes every entry of index `storage_id`.
    pub fn delete_entries(&mut self, storage_id: StorageId) -> Result<(), StoreError> {
        self.clear_keyed(TableId::IndexEntries, storage_id)
    }

    /// Bytes stored for the entries of index `storage_id` whose keys start
    /// with `prefix` (an LSI's entries for one partition).
    pub fn entry_bytes_with_prefix(&self, storage_id: StorageId, prefix: &[u8]) -> Result<u64, StoreError> {
        bytes_with_prefix(&self.index_entries, storage_id, prefix)
    }
}

impl WriteTables<'_> {
    /// The description of table `name`, if it exists.
    pub fn table(&self, name: &str) -> Result<Option<TableMeta>, StoreError> {
        match self.tables.get(name)? {
            Some(bytes) => Ok(Some(records::decode_table(bytes.value())?)),
            None => Ok(None),
        }
    }

    /// Creates or replaces a table description.
    pub fn put_table(&mut self, meta: &TableMeta) -> Result<(), StoreError> {
        let bytes = records::encode(meta);
        self.tables.insert(meta.name.as_str(), bytes.as_slice())?;
        self.journal.insert(TableId::Tables, meta.name.as_bytes(), &bytes);
        Ok(())
    }

    /// Removes a table description (its items are removed by `delete_items`).
    pub fn remove_table(&mut self, name: &str) -> Result<(), StoreError> {
        self.tables.remove(name)?;
        self.journal.remove(TableId::Tables, name.as_bytes());
        Ok(())
    }

    /// A fresh storage id for a new table.
    pub fn allocate_storage_id(&mut self) -> Result<StorageId, StoreError> {
        let id = self.meta.get(NEXT_STORAGE_ID)?.map(|v| v.value()).unwrap_or(1);
        self.set_meta(NEXT_STORAGE_ID, id + 1)?;
        Ok(StorageId(id))
    }

    /// The record stored for a key, live or tombstone.
    pub fn item(&self, storage_id: StorageId, key: &[u8]) -> Result<Option<ItemRecord>, StoreError> {
        match self.items.get(item_key(storage_id, key).as_slice())? {
            Some(bytes) => Ok(Some(records::decode(bytes.value())?)),
            None => Ok(None),
        }
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
        let replaced = match self.items.insert(key.as_slice(), bytes.as_slice())? {
            None => Ok(None),
            Some(old) => records::decode(old.value())
                .map(Some)
                .map_err(|e| (e, old.value().to_vec())),
        };
        match replaced {
            Ok(replaced) => {
                self.journal.insert(TableId::Items, &key, &bytes);
                Ok(replaced)
            }
            Err((error, old)) => {
                self.items.insert(key.as_slice(), old.as_slice())?;
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
        let bounds = (lower.as_ref().map(Vec::as_slice), upper.as_ref().map(Vec::as_slice));
        let mut out = Vec::new();
        for entry in self.items.range::<&[u8]>(bounds)?.take(max) {
            let (k, v) = entry?;
            out.push((k.value()[8..].to_vec(), records::decode(v.value())?));
        }
        Ok(out)
    }

    /// Bytes stored for the records of table `storage_id` whose encoded keys
    /// start with `prefix` (one partition's items): what the
    /// item-collection limit counts, without decoding the records.
    pub fn bytes_with_prefix(&self, storage_id: StorageId, prefix: &[u8]) -> Result<u64, StoreError> {
        bytes_with_prefix(&self.items, storage_id, prefix)
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
        let bounds = (
            lower.as_ref().map(Vec::as_slice),
            std::ops::Bound::Included(upper.as_slice()),
        );
        for entry in self.items.range::<&[u8]>(bounds)? {
            let (key, value) = entry?;
            visit(&key.value()[8..], value.value());
        }
        Ok(())
    }

    /// A background worker's cursor, as this transaction sees it.
    pub fn cursor(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.txn.open_table(CURSORS)?.get(name)?.map(|v| v.value().to_vec()))
    }

    /// Appends a change given by reference (same bytes as `append_change`).
    pub fn append_change_ref(&mut self, change: &records::ChangeRef<'_>) -> Result<Seq, StoreError> {
        self.append_log_bytes(&records::encode(change))
    }

    fn append_log_bytes(&mut self, bytes: &[u8]) -> Result<Seq, StoreError> {
        let seq = self.next_seq;
        self.log.insert(seq, bytes)?;
        self.journal.insert(TableId::Log, &seq.to_be_bytes(), bytes);
        self.next_seq += 1;
        Ok(Seq(seq))
    }

    /// Removes every record of a table's storage id, and its PITR history.
    pub fn delete_items(&mut self, storage_id: StorageId) -> Result<(), StoreError> {
        self.clear_keyed(TableId::Items, storage_id)?;
        self.forget_history(storage_id)?;
        Ok(())
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
        let Some(first) = self.log.first()?.map(|(k, _)| k.value()) else {
            return Ok(0);
        };
        let end = before.min(self.last_seq()).get().min(first.saturating_add(max));
        if end <= first {
            return Ok(0);
        }
        self.log.retain_in(first..end, |_, _| false)?;
        self.journal
            .remove_range(TableId::Log, &first.to_be_bytes(), &end.to_be_bytes());
        Ok(end - first)
    }

    /// Removes conflict records, oldest first, while both versions of the
    /// record are stamped before `before_ns` (wall clock), at most `max`;
    /// returns how many went. Records are appended as conflicts happen, so
    /// the first younger one ends the stretch.
    pub fn trim_conflicts(&mut self, before_ns: u64, max: u64) -> Result<u64, StoreError> {
        let mut range: Option<(u64, u64)> = None;
        for entry in self.conflicts.iter()?.take(usize::try_from(max).unwrap_or(usize::MAX)) {
            let (id, bytes) = entry?;
            let record: ConflictRecord = records::decode(bytes.value())?;
            if record.winner.ts.wall_ns.max(record.loser.ts.wall_ns) >= before_ns {
                break;
            }
            let id = id.value();
            range = Some((range.map_or(id, |(first, _)| first), id + 1));
        }
        let Some((first, end)) = range else {
            return Ok(0);
        };
        self.conflicts.retain_in(first..end, |_, _| false)?;
        self.journal
            .remove_range(TableId::Conflicts, &first.to_be_bytes(), &end.to_be_bytes());
        Ok(end - first)
    }

    /// The last sequence number applied of the change log named `origin`
    /// (the engine names a region's log in one incarnation; see
    /// `engine::Origin`).
    pub fn applied(&self, origin: &str) -> Result<Seq, StoreError> {
        Ok(Seq(self
            .meta
            .get(applied_key(origin).as_str())?
            .map(|v| v.value())
            .unwrap_or(0)))
    }

    /// Records that changes from `origin` are applied through `seq`.
    pub fn set_applied(&mut self, origin: &str, seq: Seq) -> Result<(), StoreError> {
        self.set_meta(&applied_key(origin), seq.get())
    }

    pub(super) fn set_meta(&mut self, name: &str, value: u64) -> Result<(), StoreError> {
        self.meta.insert(name, value)?;
        self.journal
            .insert(TableId::Meta, name.as_bytes(), &value.to_be_bytes());
        Ok(())
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
        let id = self.conflicts.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
        let bytes = records::encode(conflict);
        self.conflicts.insert(id, bytes.as_slice())?;
        self.journal.insert(TableId::Conflicts, &id.to_be_bytes(), &bytes);
        Ok(())
    }

    /// Records that `dropped.region` must drop its copy of a table
    /// (replacing an earlier record for the same table and region).
    pub fn record_dropped(&mut self, dropped: &DroppedTable) -> Result<(), StoreError> {
        let key = format!("{}/{}", dropped.table_id, dropped.region);
        let value = records::encode(dropped);
        self.txn.open_table(DROPPED)?.insert(key.as_str(), value.as_slice())?;
        self.journal.insert(TableId::Dropped, key.as_bytes(), &value);
        Ok(())
    }

    /// Stores (or with `None`, clears) a background worker's cursor.
    pub fn set_cursor(&mut self, name: &str, cursor: Option<&[u8]>) -> Result<(), StoreError> {
        let mut cursors = self.txn.open_table(CURSORS)?;
        match cursor {
            Some(bytes) => {
                cursors.insert(name, bytes)?;
                self.journal.insert(TableId::Cursors, name.as_bytes(), bytes);
            }
            None => {
                cursors.remove(name)?;
                self.journal.remove(TableId::Cursors, name.as_bytes());
            }
        }
        Ok(())
    }

    /// Appends a change-log entry and returns its sequence number.
    pub fn append_change(&mut self, change: &Change) -> Result<Seq, StoreError> {
        self.append_log_bytes(&records::encode(change))
    }
}

/// Bytes stored in `table` for the records of `storage_id` whose encoded
/// keys start with `prefix`, without decoding them.
fn bytes_with_prefix(table: &ByteTable<'_>, storage_id: StorageId, prefix: &[u8]) -> Result<u64, StoreError> {
    let lower = item_key(storage_id, prefix);
    let upper = crate::model::key::prefix_end(&lower);
    let range = match &upper {
        Some(upper) => table.range::<&[u8]>(lower.as_slice()..upper.as_slice())?,
        None => table.range::<&[u8]>(lower.as_slice()..)?,
    };
    let mut bytes = 0u64;
    for entry in range {
        bytes += entry?.1.value().len() as u64;
    }
    Ok(bytes)
}
