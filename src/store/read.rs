//! Reading the store: a consistent snapshot of its tables (`ReadTables`),
//! taken by `Store::read`: a redb read transaction, or a snapshot of a
//! store in memory (`memory.rs`).

use std::ops::Bound;
use std::sync::OnceLock;

use redb::ReadableTable;

use super::journal::{Keyspace, TableId, number, text};
use super::memory::{MemRange, MemTables, past};
use super::write::as_slice;
use super::{
    CONFLICTS, CURSORS, Change, ConflictRecord, DROPPED, DroppedTable, INDEX_ENTRIES, ITEMS, ItemRecord, LOG, META,
    PITR, StoreError, TABLES, applied_key, bounds_after, item_key, peer_incarnation_key, records,
};
use crate::ids::{GroupNo, Incarnation, Seq, StorageId};
use crate::model::TableMeta;
use crate::model::key::prefix_end;

/// A consistent read-only snapshot of the store's tables. In redb, tables
/// are opened on use: a point read opens only the two it needs, and the
/// items table once per snapshot, which point reads share
/// (`shared_read.rs`).
pub struct ReadTables {
    pub(super) on: Snapshot,
    pub(super) group: u64,
}

/// What a snapshot reads, in the store's backend.
pub(super) enum Snapshot {
    Redb {
        txn: redb::ReadTransaction,
        items: OnceLock<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
    },
    Memory(MemTables),
}

/// An iterator of either backend.
pub(super) enum Either<R, M> {
    Redb(R),
    Memory(M),
}

impl<T, R: Iterator<Item = T>, M: Iterator<Item = T>> Iterator for Either<R, M> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self {
            Either::Redb(r) => r.next(),
            Either::Memory(m) => m.next(),
        }
    }
}

impl ReadTables {
    /// The last group the snapshot may hold.
    pub fn group(&self) -> GroupNo {
        GroupNo(self.group)
    }

    /// The value under `key` in a table keyed by name (`Tables`, `Meta`,
    /// `Pitr`, `Cursors`), as the journal encodes it.
    pub(super) fn get_named(&self, id: TableId, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = match &self.on {
            Snapshot::Memory(m) => return Ok(m.get(id, key.as_bytes()).map(<[u8]>::to_vec)),
            Snapshot::Redb { txn, .. } => txn,
        };
        let bytes = |v: Option<redb::AccessGuard<'_, &'static [u8]>>| v.map(|v| v.value().to_vec());
        Ok(match id {
            TableId::Tables => bytes(txn.open_table(TABLES)?.get(key)?),
            TableId::Meta => txn
                .open_table(META)?
                .get(key)?
                .map(|v| v.value().to_be_bytes().to_vec()),
            TableId::Pitr => bytes(txn.open_table(PITR)?.get(key)?),
            TableId::Cursors => bytes(txn.open_table(CURSORS)?.get(key)?),
            _ => bytes(txn.open_table(DROPPED)?.get(key)?),
        })
    }

    /// Calls `visit` with each entry of a table keyed by name (`Tables`,
    /// `Pitr`, `Dropped`) from `from` on, in name order, while it returns
    /// `Ok(true)`.
    pub(super) fn visit_named(
        &self,
        id: TableId,
        from: Bound<&str>,
        mut visit: impl FnMut(&str, &[u8]) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let txn = match &self.on {
            Snapshot::Memory(m) => {
                for (k, v) in m.range(id, from.map(str::as_bytes), Bound::Unbounded) {
                    if !visit(text(k)?, v)? {
                        break;
                    }
                }
                return Ok(());
            }
            Snapshot::Redb { txn, .. } => txn,
        };
        let definition = match id {
            TableId::Tables => TABLES,
            TableId::Pitr => PITR,
            _ => DROPPED,
        };
        for entry in txn.open_table(definition)?.range::<&str>((from, Bound::Unbounded))? {
            let (k, v) = entry?;
            if !visit(k.value(), v.value())? {
                break;
            }
        }
        Ok(())
    }

    /// The entries of a byte-keyed table (`Items`, `IndexEntries`,
    /// `History`) within `(lo, hi)`, forward or backward, as stored.
    pub(super) fn bytes_range(
        &self,
        id: TableId,
        (lo, hi): (Bound<Vec<u8>>, Bound<Vec<u8>>),
        forward: bool,
    ) -> Result<ByteRange, StoreError> {
        let txn = match &self.on {
            Snapshot::Memory(m) => return Ok(ByteRange::Memory(m.walk(id, lo, hi, forward))),
            Snapshot::Redb { txn, .. } => txn,
        };
        let definition = match id {
            TableId::Items => ITEMS,
            TableId::IndexEntries => INDEX_ENTRIES,
            _ => super::HISTORY,
        };
        let table = txn.open_table(definition)?;
        let range = table.range::<&[u8]>((as_slice(&lo), as_slice(&hi)))?;
        Ok(ByteRange::Redb(Box::new(RedbRange {
            table,
            range,
            hi,
            forward,
        })))
    }

    /// The description of table `name`, if it exists.
    pub fn table(&self, name: &str) -> Result<Option<TableMeta>, StoreError> {
        match self.get_named(TableId::Tables, name)? {
            Some(bytes) => Ok(Some(records::decode_table(&bytes)?)),
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
        if limit == 0 {
            return Ok(names);
        }
        self.visit_named(TableId::Tables, start, |name, _| {
            names.push(name.to_string());
            Ok(names.len() < limit)
        })?;
        Ok(names)
    }

    /// The record stored for a key, live or tombstone.
    pub fn item(&self, storage_id: StorageId, key: &[u8]) -> Result<Option<ItemRecord>, StoreError> {
        let key = item_key(storage_id, key);
        let (txn, items) = match &self.on {
            Snapshot::Memory(m) => return Ok(m.get(TableId::Items, &key).map(records::decode).transpose()?),
            Snapshot::Redb { txn, items } => (txn, items),
        };
        let items = match items.get() {
            Some(items) => items,
            None => {
                let opened = txn.open_table(ITEMS)?;
                items.get_or_init(|| opened)
            }
        };
        match items.get(key.as_slice())? {
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
        let table = space.table_id();
        let range = self.bytes_range(table, (prefix(lower, false), prefix(upper, true)), forward)?;
        Ok(ItemWalk {
            range,
            keep,
            done: false,
        })
    }

    /// Up to `max` records of table `storage_id` after encoded key `after`
    /// (from the first with `None`), in key order, as stored: keys without
    /// the storage prefix, records not decoded. It stops early once the
    /// records hold `max_bytes` (items may be 400 KB each).
    pub fn raw_items_after(
        &self,
        storage_id: StorageId,
        after: Option<&[u8]>,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<RawItem>, StoreError> {
        let mut out = Vec::with_capacity(max.min(1 << 12));
        let mut bytes = 0;
        let mut range = self.bytes_range(TableId::Items, bounds_after(storage_id, after), true)?;
        while out.len() < max && bytes < max_bytes {
            let Some(entry) = range.next_with(|key, value| (key[8..].to_vec(), value.to_vec())) else {
                break;
            };
            let entry = entry?;
            bytes += entry.1.len();
            out.push(entry);
        }
        Ok(out)
    }

    /// The first (`first`) or last change-log entry's sequence number.
    fn log_end(&self, first: bool) -> Result<Option<u64>, StoreError> {
        let txn = match &self.on {
            Snapshot::Memory(m) => {
                let end = if first {
                    m.first(TableId::Log)
                } else {
                    m.last(TableId::Log)
                };
                return end.map(|(k, _)| number(k)).transpose();
            }
            Snapshot::Redb { txn, .. } => txn,
        };
        let log = txn.open_table(LOG)?;
        let end = if first { log.first()? } else { log.last()? };
        Ok(end.map(|(k, _)| k.value()))
    }

    /// Sequence number of the last change-log entry (0 when empty).
    pub fn last_seq(&self) -> Result<Seq, StoreError> {
        Ok(Seq(self.log_end(false)?.unwrap_or(0)))
    }

    /// Sequence number of the first change-log entry still kept (0 when
    /// empty): the ones before it were trimmed.
    pub fn first_seq(&self) -> Result<Seq, StoreError> {
        Ok(Seq(self.log_end(true)?.unwrap_or(0)))
    }

    /// A number of the `meta` table.
    fn meta(&self, name: &str) -> Result<Option<u64>, StoreError> {
        self.get_named(TableId::Meta, name)?.map(|v| number(&v)).transpose()
    }

    /// The last sequence number applied of the change log named `origin`.
    pub fn applied(&self, origin: &str) -> Result<Seq, StoreError> {
        Ok(Seq(self.meta(&applied_key(origin))?.unwrap_or(0)))
    }

    /// The incarnation of `peer`'s data we last shipped to, if we have.
    pub fn peer_incarnation(&self, peer: &str) -> Result<Option<Incarnation>, StoreError> {
        Ok(self.meta(&peer_incarnation_key(peer))?.map(Incarnation))
    }

    /// The tables `region` must no longer hold (see `DroppedTable`).
    pub fn dropped_tables(&self, region: &str) -> Result<Vec<DroppedTable>, StoreError> {
        let mut out = Vec::new();
        self.visit_named(TableId::Dropped, Bound::Unbounded, |_, value| {
            let dropped: DroppedTable = records::decode(value)?;
            if dropped.region == region {
                out.push(dropped);
            }
            Ok(true)
        })?;
        Ok(out)
    }

    /// A named record (a background worker's cursor, or a small record the
    /// engine keeps: deleted tables' streams), if one is stored.
    pub fn cursor(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_named(TableId::Cursors, name)
    }

    /// Conflicts recorded for `table` (all tables when `None`), oldest first.
    pub fn conflicts(&self, table: Option<&str>) -> Result<Vec<ConflictRecord>, StoreError> {
        let mut out = Vec::new();
        let mut visit = |bytes: &[u8]| -> Result<(), StoreError> {
            let record: ConflictRecord = records::decode(bytes)?;
            if table.is_none_or(|t| t == record.table) {
                out.push(record);
            }
            Ok(())
        };
        match &self.on {
            Snapshot::Memory(m) => {
                for (_, bytes) in m.range(TableId::Conflicts, Bound::Unbounded, Bound::Unbounded) {
                    visit(bytes)?;
                }
            }
            Snapshot::Redb { txn, .. } => {
                for entry in txn.open_table(CONFLICTS)?.iter()? {
                    visit(entry?.1.value())?;
                }
            }
        }
        Ok(out)
    }

    /// Change-log entries from sequence `from` (inclusive), in order.
    pub fn changes(
        &self,
        from: Seq,
    ) -> Result<impl Iterator<Item = Result<(Seq, Change), StoreError>> + use<>, StoreError> {
        let txn = match &self.on {
            Snapshot::Memory(m) => {
                let start = Bound::Included(from.get().to_be_bytes().to_vec());
                let walk = m.walk(TableId::Log, start, Bound::Unbounded, true);
                return Ok(Either::Memory(
                    walk.map(|(k, v)| Ok((Seq(number(&k)?), records::decode::<Change>(&v)?))),
                ));
            }
            Snapshot::Redb { txn, .. } => txn,
        };
        let range = txn.open_table(LOG)?.range(from.get()..)?;
        Ok(Either::Redb(range.map(|entry| {
            let (k, v) = entry?;
            Ok((Seq(k.value()), records::decode::<Change>(v.value())?))
        })))
    }
}

/// A range of a byte-keyed table, in either backend, forward or backward.
pub(super) enum ByteRange {
    /// Boxed: redb's table and range are large, and one box per scan is
    /// nothing beside opening them.
    Redb(Box<RedbRange>),
    Memory(MemRange),
}

/// A range of a redb table, and what it takes to start it over.
pub(super) struct RedbRange {
    table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    range: redb::Range<'static, &'static [u8], &'static [u8]>,
    /// The range's upper bound, for `restart_at`.
    hi: Bound<Vec<u8>>,
    forward: bool,
}

impl ByteRange {
    /// `read` of the next entry's key and value, if any.
    pub(super) fn next_with<R>(&mut self, read: impl FnOnce(&[u8], &[u8]) -> R) -> Option<Result<R, StoreError>> {
        match self {
            ByteRange::Redb(redb) => {
                let entry = if redb.forward {
                    redb.range.next()?
                } else {
                    redb.range.next_back()?
                };
                Some(entry.map(|(k, v)| read(k.value(), v.value())).map_err(Into::into))
            }
            ByteRange::Memory(walk) => walk.next().map(|(k, v)| Ok(read(&k, &v))),
        }
    }

    /// Goes on from key `from` (included), walking forward; returns `false`
    /// (and leaves the range) when `from` lies past the upper bound.
    fn restart_at(&mut self, from: Vec<u8>) -> Result<bool, StoreError> {
        match self {
            ByteRange::Redb(redb) => {
                if past(&from, as_slice(&redb.hi)) {
                    return Ok(false);
                }
                let from = Bound::Included(from.as_slice());
                redb.range = redb.table.range::<&[u8]>((from, as_slice(&redb.hi)))?;
                Ok(true)
            }
            ByteRange::Memory(walk) => Ok(walk.restart_at(from)),
        }
    }
}

/// An item's encoded key (without the storage prefix) and its record's
/// stored bytes.
pub type RawItem = (Vec<u8>, Vec<u8>);

/// An item's encoded key (without the storage prefix) and its record.
pub type StoredItem = (Vec<u8>, ItemRecord);

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
    range: ByteRange,
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
        let keep = &mut self.keep;
        let visited = self.range.next_with(|stored, value| {
            let key = &stored[8..];
            match keep(key) {
                Walk::Keep => Ok(Visit::Kept((key.to_vec(), records::decode::<ItemRecord>(value)?))),
                Walk::Pass => Ok(Visit::Passed),
                // `stored` starts with the storage id, and the upper bound
                // ends this table: the jump stays in it or ends the walk.
                Walk::PassPrefix(len) => Ok(Visit::Jump(prefix_end(&stored[..8 + len.min(key.len())]))),
            }
        })?;
        Some(self.after(visited))
    }
}

/// What `ItemWalk` made of one entry.
enum Visit {
    Kept(StoredItem),
    Passed,
    /// Passed, going on from this key (`None`: from nowhere, the walk ends).
    Jump(Option<Vec<u8>>),
}

impl<K> ItemWalk<K> {
    fn after(
        &mut self,
        visited: Result<Result<Visit, StoreError>, StoreError>,
    ) -> Result<Option<StoredItem>, StoreError> {
        match visited?? {
            Visit::Kept(item) => Ok(Some(item)),
            Visit::Passed => Ok(None),
            Visit::Jump(from) => {
                // Backward, nothing is jumped (see `Walk::PassPrefix`).
                if self.forward() {
                    self.done = match from {
                        Some(from) => !self.range.restart_at(from)?,
                        None => false,
                    };
                }
                Ok(None)
            }
        }
    }

    fn forward(&self) -> bool {
        match &self.range {
            ByteRange::Redb(redb) => redb.forward,
            ByteRange::Memory(walk) => walk.forward(),
        }
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
        jumps_over_passed_prefixes(&store);
        jumps_over_passed_prefixes(&Store::open_in_memory(1 << 20, std::time::Duration::MAX).unwrap());
    }

    fn jumps_over_passed_prefixes(store: &Store) {
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
