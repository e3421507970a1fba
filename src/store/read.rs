//! Reading the store: a consistent snapshot of its tables (`ReadTables`),
//! taken by `Store::read`.

use std::ops::Bound;
use std::sync::OnceLock;

use redb::ReadableTable;

use super::{
    CONFLICTS, CURSORS, Change, ConflictRecord, DROPPED, DroppedTable, ITEMS, ItemRecord, LOG, META, StoreError,
    TABLES, applied_key, item_key, peer_incarnation_key, records,
};
use crate::model::TableMeta;

/// A consistent read-only snapshot of the store's tables. Tables are opened
/// on use: a point read opens only the two it needs, and the items table
/// once per snapshot, which point reads share (`shared_read.rs`).
pub struct ReadTables {
    pub(super) txn: redb::ReadTransaction,
    pub(super) group: u64,
    pub(super) items: OnceLock<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
}

impl ReadTables {
    /// The last group the snapshot may hold.
    pub fn group(&self) -> u64 {
        self.group
    }

    /// The description of table `name`, if it exists.
    pub fn table(&self, name: &str) -> Result<Option<TableMeta>, StoreError> {
        match self.txn.open_table(TABLES)?.get(name)? {
            Some(bytes) => Ok(Some(records::decode_table(bytes.value())?)),
            None => Ok(None),
        }
    }

    /// Table names in order, starting after `after` (exclusive), at most `limit`.
    pub fn table_names(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        let start = match after {
            Some(name) => Bound::Excluded(name),
            None => Bound::Unbounded,
        };
        let mut names = Vec::new();
        for entry in self.txn.open_table(TABLES)?.range::<&str>((start, Bound::Unbounded))? {
            if names.len() == limit {
                break;
            }
            names.push(entry?.0.value().to_string());
        }
        Ok(names)
    }

    /// The record stored for a key, live or tombstone.
    pub fn item(&self, storage_id: u64, key: &[u8]) -> Result<Option<ItemRecord>, StoreError> {
        let items = match self.items.get() {
            Some(items) => items,
            None => {
                let opened = self.txn.open_table(ITEMS)?;
                self.items.get_or_init(|| opened)
            }
        };
        match items.get(item_key(storage_id, key).as_slice())? {
            Some(bytes) => Ok(Some(records::decode(bytes.value())?)),
            None => Ok(None),
        }
    }

    /// Records of one table whose encoded keys lie within `(lower, upper)`,
    /// ascending or descending. Keys are yielded without the storage prefix.
    pub fn items(
        &self,
        storage_id: u64,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        forward: bool,
    ) -> Result<impl Iterator<Item = Result<StoredItem, StoreError>> + use<>, StoreError> {
        let all = self.items_where(storage_id, lower, upper, forward, |_| true)?;
        Ok(all.map(|entry| entry.map(|kept| kept.expect("every key is kept"))))
    }

    /// `items`, with only the entries whose key passes `keep` copied and
    /// decoded, and `None` in place of the others: a parallel scan segment
    /// passes over the other segments' items without paying for them, yet
    /// still counts them.
    pub fn items_where<K: FnMut(&[u8]) -> bool + 'static>(
        &self,
        storage_id: u64,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        forward: bool,
        mut keep: K,
    ) -> Result<impl Iterator<Item = Result<Option<StoredItem>, StoreError>> + use<K>, StoreError> {
        let prefix = |b: Bound<Vec<u8>>, default_end: bool| match b {
            Bound::Included(k) => Bound::Included(item_key(storage_id, &k)),
            Bound::Excluded(k) => Bound::Excluded(item_key(storage_id, &k)),
            Bound::Unbounded if default_end => Bound::Excluded((storage_id + 1).to_be_bytes().to_vec()),
            Bound::Unbounded => Bound::Included(storage_id.to_be_bytes().to_vec()),
        };
        let (lo, hi) = (prefix(lower, false), prefix(upper, true));
        let range = self
            .txn
            .open_table(ITEMS)?
            .range::<&[u8]>((as_slice(&lo), as_slice(&hi)))?;
        let decode = move |entry: RawEntry<'_>| {
            let (k, v) = entry?;
            let key = &k.value()[8..];
            if !keep(key) {
                return Ok(None);
            }
            Ok(Some((key.to_vec(), records::decode::<ItemRecord>(v.value())?)))
        };
        let iter: Box<dyn Iterator<Item = _>> = if forward {
            Box::new(range.map(decode))
        } else {
            Box::new(range.rev().map(decode))
        };
        Ok(iter)
    }

    /// Sequence number of the last change-log entry (0 when empty).
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(LOG)?.last()?.map(|(k, _)| k.value()).unwrap_or(0))
    }

    /// Sequence number of the first change-log entry still kept (0 when
    /// empty): the ones before it were trimmed.
    pub fn first_seq(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(LOG)?.first()?.map(|(k, _)| k.value()).unwrap_or(0))
    }

    /// The last sequence number applied of the change log named `origin`.
    pub fn applied(&self, origin: &str) -> Result<u64, StoreError> {
        let meta = self.txn.open_table(META)?;
        Ok(meta.get(applied_key(origin).as_str())?.map(|v| v.value()).unwrap_or(0))
    }

    /// The incarnation of `peer`'s data we last shipped to, if we have.
    pub fn peer_incarnation(&self, peer: &str) -> Result<Option<u64>, StoreError> {
        let meta = self.txn.open_table(META)?;
        Ok(meta.get(peer_incarnation_key(peer).as_str())?.map(|v| v.value()))
    }

    /// The tables `region` must no longer hold (see `DroppedTable`).
    pub fn dropped_tables(&self, region: &str) -> Result<Vec<DroppedTable>, StoreError> {
        let mut out = Vec::new();
        for entry in self.txn.open_table(DROPPED)?.iter()? {
            let dropped: DroppedTable = records::decode(entry?.1.value())?;
            if dropped.region == region {
                out.push(dropped);
            }
        }
        Ok(out)
    }

    /// A background worker's cursor, if it stored one.
    pub fn cursor(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.txn.open_table(CURSORS)?.get(name)?.map(|v| v.value().to_vec()))
    }

    /// Conflicts recorded for `table` (all tables when `None`), oldest first.
    pub fn conflicts(&self, table: Option<&str>) -> Result<Vec<ConflictRecord>, StoreError> {
        let mut out = Vec::new();
        for entry in self.txn.open_table(CONFLICTS)?.iter()? {
            let record: ConflictRecord = records::decode(entry?.1.value())?;
            if table.is_none_or(|t| t == record.table) {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// Change-log entries from sequence `from` (inclusive), in order.
    pub fn changes(
        &self,
        from: u64,
    ) -> Result<impl Iterator<Item = Result<(u64, Change), StoreError>> + use<>, StoreError> {
        let range = self.txn.open_table(LOG)?.range(from..)?;
        Ok(range.map(|entry| {
            let (k, v) = entry?;
            Ok((k.value(), records::decode::<Change>(v.value())?))
        }))
    }
}

/// One raw entry of the items table, as a range yields it.
/// An item's encoded key (without the storage prefix) and its record.
pub type StoredItem = (Vec<u8>, ItemRecord);

type RawEntry<'a> = Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}
