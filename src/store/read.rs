//! Reading the store: a consistent snapshot of its tables (`ReadTables`),
//! taken by `Store::read`.

use std::ops::Bound;
use std::sync::OnceLock;

use redb::ReadableTable;

use super::{
    CONFLICTS, CURSORS, Change, ConflictRecord, DROPPED, DroppedTable, INDEX_ENTRIES, ITEMS, ItemRecord, LOG, META,
    StoreError, TABLES, applied_key, bounds_after, item_key, peer_incarnation_key, records,
};
use crate::ids::{GroupNo, Incarnation, Seq, StorageId};
use crate::model::TableMeta;
use crate::model::key::prefix_end;

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
    pub fn group(&self) -> GroupNo {
        GroupNo(self.group)
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
    pub fn item(&self, storage_id: StorageId, key: &[u8]) -> Result<Option<ItemRecord>, StoreError> {
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
        storage_id: StorageId,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        forward: bool,
    ) -> Result<impl Iterator<Item = Result<StoredItem, StoreError>> + use<>, StoreError> {
        let all = self.items_where(Keyspace::Items, storage_id, (lower, upper), forward, |_| Walk::Keep)?;
        Ok(all.map(|entry| entry.map(|kept| kept.expect("every key is kept"))))
    }

    /// `items` of a table or a secondary index (`space`), with only the
    /// entries `keep` keeps copied and decoded, and `None` in place of the
    /// others: a parallel scan segment passes over the other segments'
    /// items without paying for them, yet still counts them, and jumps past
    /// the rest of a partition where it may.
    pub fn items_where<K: FnMut(&[u8]) -> Walk + 'static>(
        &self,
        space: Keyspace,
        storage_id: StorageId,
        (lower, upper): (Bound<Vec<u8>>, Bound<Vec<u8>>),
        forward: bool,
        keep: K,
    ) -> Result<impl Iterator<Item = Result<Option<StoredItem>, StoreError>> + use<K>, StoreError> {
        let prefix = |b: Bound<Vec<u8>>, default_end: bool| match b {
            Bound::Included(k) => Bound::Included(item_key(storage_id, &k)),
            Bound::Excluded(k) => Bound::Excluded(item_key(storage_id, &k)),
            Bound::Unbounded if default_end => Bound::Excluded(storage_id.next().to_be_bytes().to_vec()),
            Bound::Unbounded => Bound::Included(storage_id.to_be_bytes().to_vec()),
        };
        let (lo, hi) = (prefix(lower, false), prefix(upper, true));
        let definition = match space {
            Keyspace::Items => ITEMS,
            Keyspace::IndexEntries => INDEX_ENTRIES,
        };
        let table = self.txn.open_table(definition)?;
        let range = table.range::<&[u8]>((as_slice(&lo), as_slice(&hi)))?;
        Ok(ItemWalk {
            table,
            range,
            hi,
            forward,
            keep,
            done: false,
        })
    }

    /// Up to `max` records of table `storage_id` after encoded key `after`
    /// (from the first with `None`), in key order, as stored: keys without
    /// the storage prefix, records not decoded.
    pub fn raw_items_after(
        &self,
        storage_id: StorageId,
        after: Option<&[u8]>,
        max: usize,
    ) -> Result<Vec<RawItem>, StoreError> {
        let (lower, upper) = bounds_after(storage_id, after);
        let table = self.txn.open_table(ITEMS)?;
        let mut out = Vec::with_capacity(max.min(1 << 12));
        for entry in table.range::<&[u8]>((as_slice(&lower), as_slice(&upper)))?.take(max) {
            let (key, value) = entry?;
            out.push((key.value()[8..].to_vec(), value.value().to_vec()));
        }
        Ok(out)
    }

    /// Sequence number of the last change-log entry (0 when empty).
    pub fn last_seq(&self) -> Result<Seq, StoreError> {
        Ok(Seq(self
            .txn
            .open_table(LOG)?
            .last()?
            .map(|(k, _)| k.value())
            .unwrap_or(0)))
    }

    /// Sequence number of the first change-log entry still kept (0 when
    /// empty): the ones before it were trimmed.
    pub fn first_seq(&self) -> Result<Seq, StoreError> {
        Ok(Seq(self
            .txn
            .open_table(LOG)?
            .first()?
            .map(|(k, _)| k.value())
            .unwrap_or(0)))
    }

    /// The last sequence number applied of the change log named `origin`.
    pub fn applied(&self, origin: &str) -> Result<Seq, StoreError> {
        let meta = self.txn.open_table(META)?;
        Ok(Seq(meta
            .get(applied_key(origin).as_str())?
            .map(|v| v.value())
            .unwrap_or(0)))
    }

    /// The incarnation of `peer`'s data we last shipped to, if we have.
    pub fn peer_incarnation(&self, peer: &str) -> Result<Option<Incarnation>, StoreError> {
        let meta = self.txn.open_table(META)?;
        Ok(meta
            .get(peer_incarnation_key(peer).as_str())?
            .map(|v| Incarnation(v.value())))
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
        from: Seq,
    ) -> Result<impl Iterator<Item = Result<(Seq, Change), StoreError>> + use<>, StoreError> {
        let range = self.txn.open_table(LOG)?.range(from.get()..)?;
        Ok(range.map(|entry| {
            let (k, v) = entry?;
            Ok((Seq(k.value()), records::decode::<Change>(v.value())?))
        }))
    }
}

/// Which table a storage id's records are in: a table's items, or a
/// secondary index's entries (keyed the same way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyspace {
    Items,
    IndexEntries,
}

/// An item's encoded key (without the storage prefix) and its record's
/// stored bytes.
pub type RawItem = (Vec<u8>, Vec<u8>);

/// An item's encoded key (without the storage prefix) and its record.
pub type StoredItem = (Vec<u8>, ItemRecord);

/// One entry of the items table, as a range yields it.
type RawEntry<'a> = Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

/// What `ReadTables::items_where` does with an entry, by its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walk {
    /// Decode it and yield it.
    Keep,
    /// Yield `None` in its place.
    Pass,
    /// Yield `None` in its place, and (walking forward) go on after every
    /// key that starts with the first `n` bytes of this one.
    PassPrefix(usize),
}

/// The walk behind `ReadTables::items_where`: a range of the items table,
/// started over further on when a prefix is passed.
struct ItemWalk<K> {
    table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    range: redb::Range<'static, &'static [u8], &'static [u8]>,
    /// The range's upper bound, with the storage prefix.
    hi: Bound<Vec<u8>>,
    forward: bool,
    keep: K,
    /// Set when a jump went past the upper bound.
    done: bool,
}

impl<K: FnMut(&[u8]) -> Walk> Iterator for ItemWalk<K> {
    type Item = Result<Option<StoredItem>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let entry = if self.forward {
            self.range.next()?
        } else {
            self.range.next_back()?
        };
        Some(self.visit(entry))
    }
}

impl<K: FnMut(&[u8]) -> Walk> ItemWalk<K> {
    fn visit(&mut self, entry: RawEntry<'_>) -> Result<Option<StoredItem>, StoreError> {
        let (k, v) = entry?;
        let stored = k.value();
        let key = &stored[8..];
        match (self.keep)(key) {
            Walk::Keep => Ok(Some((key.to_vec(), records::decode::<ItemRecord>(v.value())?))),
            Walk::Pass => Ok(None),
            Walk::PassPrefix(len) => {
                if self.forward {
                    // `stored` starts with the storage id, and `hi` ends
                    // this table: the jump stays in it or ends the walk.
                    let Some(from) = prefix_end(&stored[..8 + len.min(key.len())]) else {
                        return Ok(None);
                    };
                    self.done = match &self.hi {
                        Bound::Included(hi) => from > *hi,
                        Bound::Excluded(hi) => from >= *hi,
                        Bound::Unbounded => false,
                    };
                    if !self.done {
                        let from = Bound::Included(from.as_slice());
                        self.range = self.table.range::<&[u8]>((from, as_slice(&self.hi)))?;
                    }
                }
                Ok(None)
            }
        }
    }
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::ids::StorageId;
    use crate::store::{Store, Version};

    /// Keys "a0".."a9", "b0".."b9", "c0" in table 1 and "a0" in table 2;
    /// `walk` passes the keys starting with one letter, and jumps past the
    /// rest of them from the sixth on.
    #[test]
    fn a_passed_prefix_is_jumped_over_and_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.redb"), 1 << 20, std::time::Duration::MAX).unwrap();
        let record = ItemRecord {
            version: Version {
                ts: Timestamp::default(),
                region: "r".into(),
            },
            item: None,
        };
        let keys: Vec<Vec<u8>> = (0..10)
            .flat_map(|i| [format!("a{i}"), format!("b{i}")])
            .chain(["c0".to_string()])
            .map(String::into_bytes)
            .collect();
        store
            .write(|tables| {
                for key in &keys {
                    tables.put_item(StorageId(1), key, &record)?;
                }
                tables.put_item(StorageId(2), b"a0", &record)
            })
            .unwrap();
        let read = store.read().unwrap();
        let walk = |prefix: u8, forward: bool| {
            let mut seen = 0;
            let keep = move |key: &[u8]| match key[0] == prefix {
                false => Walk::Keep,
                true if seen < 5 => {
                    seen += 1;
                    Walk::Pass
                }
                true => Walk::PassPrefix(1),
            };
            let entries = read
                .items_where(
                    Keyspace::Items,
                    StorageId(1),
                    (Bound::Unbounded, Bound::Unbounded),
                    forward,
                    keep,
                )
                .unwrap();
            let entries: Vec<Option<Vec<u8>>> = entries.map(|e| e.unwrap().map(|(key, _)| key)).collect();
            let kept: Vec<String> = entries
                .iter()
                .flatten()
                .map(|k| String::from_utf8(k.clone()).unwrap())
                .collect();
            (entries.len(), kept)
        };
        let b_keys: Vec<String> = (0..10).map(|i| format!("b{i}")).collect();
        // Forward: five "a" keys passed one by one, the sixth jumps past the
        // other four, then all of "b", "c0", and nothing of table 2.
        let (looked_at, kept) = walk(b'a', true);
        assert_eq!(looked_at, 6 + 10 + 1);
        assert_eq!(kept, [b_keys.clone(), vec!["c0".to_string()]].concat());
        let (looked_at, kept) = walk(b'b', true);
        assert_eq!((looked_at, kept.len()), (10 + 6 + 1, 11));
        // A prefix with fewer keys than that is passed key by key.
        let (looked_at, kept) = walk(b'c', true);
        assert_eq!((looked_at, kept.len()), (21, 20));
        // The empty prefix: a jump past the table's end, not into table 2.
        let entries = read.items_where(
            Keyspace::Items,
            StorageId(1),
            (Bound::Unbounded, Bound::Unbounded),
            true,
            |_| Walk::PassPrefix(0),
        );
        let entries: Vec<_> = entries.unwrap().map(|e| e.unwrap().is_none()).collect();
        assert_eq!(entries, [true]);
        // Backward, nothing is jumped: every key is looked at.
        let (looked_at, kept) = walk(b'a', false);
        assert_eq!(looked_at, 21);
        assert_eq!(kept.len(), 11);
    }
}
