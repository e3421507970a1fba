//! Writing inside one group's transaction: the store's tables as the
//! writer sees them, each mutation recorded in the group's journal for the
//! write-ahead log (see `journal.rs`, `wal.rs`).

use redb::ReadableTable;

use super::journal::{self, TableId};
use super::records::{self, Change, ConflictRecord, DroppedTable, ItemRecord};
use super::{
    CONFLICTS, CURSORS, DROPPED, HISTORY, INCARNATION, ITEMS, LOG, META, NEXT_STORAGE_ID, PITR, StoreError, TABLES,
    applied_key, item_key, new_incarnation, peer_incarnation_key,
};
use crate::ids::{Incarnation, Seq, StorageId};
use crate::model::TableMeta;

/// The store's tables inside one write transaction.
pub struct WriteTables<'t> {
    /// For tables opened only when used (`cursors`).
    pub(super) txn: &'t redb::WriteTransaction,
    pub(super) tables: redb::Table<'t, &'static str, &'static [u8]>,
    pub(super) items: redb::Table<'t, &'static [u8], &'static [u8]>,
    pub(super) log: redb::Table<'t, u64, &'static [u8]>,
    pub(super) meta: redb::Table<'t, &'static str, u64>,
    pub(super) conflicts: redb::Table<'t, u64, &'static [u8]>,
    pub(super) history: redb::Table<'t, &'static [u8], &'static [u8]>,
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
            log,
            meta: txn.open_table(META)?,
            conflicts: txn.open_table(CONFLICTS)?,
            history: txn.open_table(HISTORY)?,
            pitr: txn.open_table(PITR)?,
            next_seq,
            journal,
        })
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

    /// Removes the record stored for a key, if any (a secondary index
    /// entry: table items are never removed, only replaced by tombstones).
    /// Returns whether there was one.
    pub fn remove_item(&mut self, storage_id: StorageId, key: &[u8]) -> Result<bool, StoreError> {
        let key = item_key(storage_id, key);
        let removed = self.items.remove(key.as_slice())?.is_some();
        if removed {
            self.journal.remove(TableId::Items, &key);
        }
        Ok(removed)
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
        let lower = match after {
            Some(key) => std::ops::Bound::Excluded(item_key(storage_id, key)),
            None => std::ops::Bound::Included(storage_id.to_be_bytes().to_vec()),
        };
        let upper = std::ops::Bound::Excluded(storage_id.next().to_be_bytes().to_vec());
        let bounds = (lower.as_ref().map(Vec::as_slice), upper.as_ref().map(Vec::as_slice));
        let mut out = Vec::new();
        for entry in self.items.range::<&[u8]>(bounds)?.take(max) {
            let (k, v) = entry?;
            out.push((k.value()[8..].to_vec(), records::decode(v.value())?));
        }
        Ok(out)
    }

    /// Bytes stored for the records of table `storage_id` whose encoded keys
    /// start with `prefix` (one partition's items, or an index's entries
    /// for one partition): what the item-collection limit counts, without
    /// decoding the records.
    pub fn bytes_with_prefix(&self, storage_id: StorageId, prefix: &[u8]) -> Result<u64, StoreError> {
        let lower = item_key(storage_id, prefix);
        let upper = crate::model::key::prefix_end(&lower);
        let mut bytes = 0u64;
        let range = match &upper {
            Some(upper) => self.items.range::<&[u8]>(lower.as_slice()..upper.as_slice())?,
            None => self.items.range::<&[u8]>(lower.as_slice()..)?,
        };
        for entry in range {
            bytes += entry?.1.value().len() as u64;
        }
        Ok(bytes)
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
        let start = storage_id.to_be_bytes();
        let end = storage_id.next().to_be_bytes();
        self.items.retain_in(start.as_slice()..end.as_slice(), |_, _| false)?;
        self.journal.remove_range(TableId::Items, &start, &end);
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
