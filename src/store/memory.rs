//! The store's tables in memory (`Store::open_in_memory`), without redb.
//!
//! redb is copy-on-write: every commit writes new pages for each tree it
//! touched, which a store that is never written to disk pays for nothing.
//! In memory each table is one persistent ordered map of bytes to bytes
//! (`imbl::OrdMap`), keyed and valued as the journal encodes them
//! (`journal.rs`: names as UTF-8, numbers as 8 bytes big-endian), so byte
//! order is the order redb keeps.
//!
//! - **Writes change the live maps in place.** The writer holds them (one
//!   lock, `MemoryDb::lock`) for the whole group and records what each change
//!   replaced (`MemWrite`); a group that fails is rolled back from that list,
//!   so it leaves nothing.
//! - **Readers take a snapshot**: a clone of the maps, O(1) (they share
//!   their nodes), taken under the same lock, so between two groups and
//!   never inside one. A snapshot reads as of when it was taken for as long
//!   as it lives, however the writer goes on: the first change the writer
//!   makes to a node a snapshot shares copies that node. The lock is held for
//!   the clone only, so a long scan never holds up the writer; a reader waits
//!   at most for the group in progress to end.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use super::journal::TableId;

/// Keys and values: shared, so that the nodes a snapshot makes the writer
/// copy hold counted references, not copies of the bytes.
pub(super) type Bytes = Arc<[u8]>;

/// One table.
type Map = imbl::OrdMap<Bytes, Bytes>;

/// How many tables the journal names (`TableId` runs from 1 to this).
const TABLE_COUNT: usize = 10;

/// Entries a range walk copies out of its map at first; each later batch is
/// twice the last, up to `MAX_BATCH`.
const FIRST_BATCH: usize = 8;
const MAX_BATCH: usize = 512;

/// Every table of a store in memory, by `TableId`.
#[derive(Clone, Default)]
pub(super) struct MemTables {
    maps: [Map; TABLE_COUNT],
}

impl MemTables {
    fn map(&self, id: TableId) -> &Map {
        &self.maps[id as usize - 1]
    }

    fn map_mut(&mut self, id: TableId) -> &mut Map {
        &mut self.maps[id as usize - 1]
    }

    /// The value stored under `key` in table `id`.
    pub(super) fn get(&self, id: TableId, key: &[u8]) -> Option<&[u8]> {
        self.map(id).get(key).map(|v| &**v)
    }

    /// The entries of table `id` within `(lo, hi)`, in key order (reverse
    /// it to walk backward).
    pub(super) fn range<'a>(
        &'a self,
        id: TableId,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
    ) -> impl DoubleEndedIterator<Item = (&'a [u8], &'a [u8])> + 'a {
        self.map(id).range::<_, [u8]>((lo, hi)).map(|(k, v)| (&**k, &**v))
    }

    /// The first entry of table `id`.
    pub(super) fn first(&self, id: TableId) -> Option<(&[u8], &[u8])> {
        self.map(id).get_min().map(|(k, v)| (&**k, &**v))
    }

    /// The last entry of table `id`.
    pub(super) fn last(&self, id: TableId) -> Option<(&[u8], &[u8])> {
        self.map(id).get_max().map(|(k, v)| (&**k, &**v))
    }

    /// A walk over the entries of table `id` within `(lo, hi)` that owns
    /// what it walks (a clone of the map), forward or backward.
    pub(super) fn walk(&self, id: TableId, lo: Bound<Vec<u8>>, hi: Bound<Vec<u8>>, forward: bool) -> MemRange {
        MemRange {
            map: self.map(id).clone(),
            lo: lo.map(Bytes::from),
            hi: hi.map(Bytes::from),
            forward,
            batch: VecDeque::new(),
            next_batch: FIRST_BATCH,
            exhausted: false,
        }
    }
}

/// The live tables of a store in memory.
#[derive(Default)]
pub(super) struct MemoryDb {
    live: Mutex<MemTables>,
}

impl MemoryDb {
    /// The live tables, for the writer to change for one group.
    pub(super) fn lock(&self) -> MutexGuard<'_, MemTables> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A snapshot of the tables as the last group committed them.
    pub(super) fn snapshot(&self) -> MemTables {
        self.lock().clone()
    }
}

/// What one change replaced: the table, the key, and the value it had
/// (`None`: there was none).
type Undo = (TableId, Bytes, Option<Bytes>);

/// One group's changes to the live tables, made in place, and what each
/// replaced, so that a failed group can be rolled back.
pub(super) struct MemWrite<'t> {
    tables: &'t mut MemTables,
    undo: Vec<Undo>,
}

impl std::ops::Deref for MemWrite<'_> {
    type Target = MemTables;

    fn deref(&self) -> &MemTables {
        self.tables
    }
}

impl<'t> MemWrite<'t> {
    /// A group on the live `tables`.
    pub(super) fn new(tables: &'t mut MemTables) -> MemWrite<'t> {
        MemWrite {
            tables,
            undo: Vec::new(),
        }
    }

    /// Stores `value` under `key` in table `id`; returns the value it
    /// replaced.
    pub(super) fn insert(&mut self, id: TableId, key: &[u8], value: &[u8]) -> Option<Bytes> {
        let key = Bytes::from(key);
        let old = self.tables.map_mut(id).insert(key.clone(), Bytes::from(value));
        self.undo.push((id, key, old.clone()));
        old
    }

    /// Removes `key` from table `id`; returns the value it had.
    pub(super) fn remove(&mut self, id: TableId, key: &[u8]) -> Option<Bytes> {
        let (key, old) = self.tables.map_mut(id).remove_with_key(key)?;
        self.undo.push((id, key, Some(old.clone())));
        Some(old)
    }

    /// Removes every entry of table `id` within `(lo, hi)`; returns how
    /// many.
    pub(super) fn remove_range(&mut self, id: TableId, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> u64 {
        let doomed: Vec<Bytes> = self
            .tables
            .map(id)
            .range::<_, [u8]>((lo, hi))
            .map(|(k, _)| k.clone())
            .collect();
        let map = self.tables.map_mut(id);
        for key in &doomed {
            if let Some(old) = map.remove(&**key) {
                self.undo.push((id, key.clone(), Some(old)));
            }
        }
        doomed.len() as u64
    }

    /// Undoes every change of the group, last first: the tables are as the
    /// group found them.
    pub(super) fn roll_back(self) {
        for (id, key, old) in self.undo.into_iter().rev() {
            let map = self.tables.map_mut(id);
            match old {
                Some(value) => drop(map.insert(key, value)),
                None => drop(map.remove(&*key)),
            }
        }
    }
}

/// A range of one table, walked forward or backward, owning a clone of the
/// map (O(1)) so that it outlives the snapshot it came from. It copies out
/// entries (counted references) a batch at a time and seeks past the last
/// one for the next batch.
pub(super) struct MemRange {
    map: Map,
    lo: Bound<Bytes>,
    hi: Bound<Bytes>,
    forward: bool,
    batch: VecDeque<(Bytes, Bytes)>,
    next_batch: usize,
    /// Set once a batch came back short: the range has nothing more.
    exhausted: bool,
}

impl MemRange {
    /// Whether the walk goes forward.
    pub(super) fn forward(&self) -> bool {
        self.forward
    }

    /// Goes on from key `from` (included), skipping the keys before it
    /// (forward walks; a backward walk is not moved). Returns `false`, and
    /// leaves the walk as it was, when `from` lies past the upper bound.
    pub(super) fn restart_at(&mut self, from: Vec<u8>) -> bool {
        if past(&from, as_ref(&self.hi)) {
            return false;
        }
        if self.forward {
            self.lo = Bound::Included(Bytes::from(from));
            self.batch.clear();
            self.exhausted = false;
        }
        true
    }

    fn refill(&mut self) {
        let range = self.map.range::<_, [u8]>((as_ref(&self.lo), as_ref(&self.hi)));
        let size = self.next_batch;
        let taken = |(k, v): (&Bytes, &Bytes)| (k.clone(), v.clone());
        if self.forward {
            self.batch.extend(range.take(size).map(taken));
        } else {
            self.batch.extend(range.rev().take(size).map(taken));
        }
        self.exhausted = self.batch.len() < size;
        self.next_batch = (size * 2).min(MAX_BATCH);
        if let Some((last, _)) = self.batch.back() {
            let past = Bound::Excluded(last.clone());
            if self.forward {
                self.lo = past;
            } else {
                self.hi = past;
            }
        }
    }
}

impl Iterator for MemRange {
    type Item = (Bytes, Bytes);

    fn next(&mut self) -> Option<(Bytes, Bytes)> {
        if self.batch.is_empty() && !self.exhausted {
            self.refill();
        }
        self.batch.pop_front()
    }
}

/// Whether `key` lies past the upper bound `hi`.
pub(super) fn past(key: &[u8], hi: Bound<&[u8]>) -> bool {
    match hi {
        Bound::Included(hi) => key > hi,
        Bound::Excluded(hi) => key >= hi,
        Bound::Unbounded => false,
    }
}

fn as_ref(bound: &Bound<Bytes>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(range: impl Iterator<Item = (Bytes, Bytes)>) -> Vec<Vec<u8>> {
        range.map(|(k, _)| k.to_vec()).collect()
    }

    /// 1000 keys, so that walks cross several batches.
    fn filled() -> MemTables {
        let mut tables = MemTables::default();
        let mut write = MemWrite::new(&mut tables);
        for i in 0u32..1000 {
            write.insert(TableId::Items, &i.to_be_bytes(), b"v");
        }
        tables
    }

    #[test]
    fn walks_go_forward_and_backward_within_their_bounds() {
        let tables = filled();
        let key = |i: u32| i.to_be_bytes().to_vec();
        let expect = |from: u32, to: u32| (from..=to).map(key).collect::<Vec<_>>();
        let walk = |lo, hi, forward| keys(tables.walk(TableId::Items, lo, hi, forward));
        let all = walk(Bound::Unbounded, Bound::Unbounded, true);
        assert_eq!(all, expect(0, 999));
        let inner = walk(Bound::Excluded(key(10)), Bound::Included(key(900)), true);
        assert_eq!(inner, expect(11, 900));
        let mut back = walk(Bound::Included(key(10)), Bound::Excluded(key(900)), false);
        back.reverse();
        assert_eq!(back, expect(10, 899));
        assert!(walk(Bound::Excluded(key(5)), Bound::Included(key(5)), true).is_empty());
        assert!(walk(Bound::Included(key(7)), Bound::Included(key(3)), false).is_empty());
        assert!(keys(tables.walk(TableId::Log, Bound::Unbounded, Bound::Unbounded, true)).is_empty());
        // A forward walk restarted further on skips what lies between.
        let mut walk = tables.walk(TableId::Items, Bound::Unbounded, Bound::Excluded(key(600)), true);
        assert_eq!(walk.next().map(|(k, _)| k.to_vec()), Some(key(0)));
        assert!(!walk.restart_at(key(600)));
        assert!(walk.restart_at(key(500)));
        assert_eq!(keys(walk), expect(500, 599));
    }

    #[test]
    fn a_rolled_back_group_leaves_the_tables_as_it_found_them() {
        let mut tables = filled();
        let before = tables.clone();
        let mut write = MemWrite::new(&mut tables);
        write.insert(TableId::Items, &5u32.to_be_bytes(), b"changed");
        write.insert(TableId::Items, b"new", b"v");
        write.remove(TableId::Items, &6u32.to_be_bytes());
        write.remove_range(
            TableId::Items,
            Bound::Included(&100u32.to_be_bytes()[..]),
            Bound::Excluded(&200u32.to_be_bytes()[..]),
        );
        write.insert(TableId::Items, &150u32.to_be_bytes(), b"back again");
        write.insert(TableId::Log, &1u64.to_be_bytes(), b"change");
        assert_eq!(write.get(TableId::Items, &5u32.to_be_bytes()), Some(&b"changed"[..]));
        write.roll_back();
        for id in [TableId::Items, TableId::Log] {
            let now: Vec<_> = tables.range(id, Bound::Unbounded, Bound::Unbounded).collect();
            let then: Vec<_> = before.range(id, Bound::Unbounded, Bound::Unbounded).collect();
            assert_eq!(now, then);
        }
    }

    #[test]
    fn a_snapshot_keeps_reading_as_of_when_it_was_taken() {
        let mut tables = filled();
        let snapshot = tables.clone();
        let mut write = MemWrite::new(&mut tables);
        write.insert(TableId::Items, &1u32.to_be_bytes(), b"changed");
        write.remove_range(
            TableId::Items,
            Bound::Unbounded,
            Bound::Excluded(&500u32.to_be_bytes()[..]),
        );
        assert_eq!(snapshot.get(TableId::Items, &1u32.to_be_bytes()), Some(&b"v"[..]));
        assert_eq!(
            snapshot
                .range(TableId::Items, Bound::Unbounded, Bound::Unbounded)
                .count(),
            1000
        );
        assert_eq!(
            tables.range(TableId::Items, Bound::Unbounded, Bound::Unbounded).count(),
            500
        );
        assert_eq!(
            tables.first(TableId::Items).map(|(k, _)| k.to_vec()),
            Some(500u32.to_be_bytes().to_vec())
        );
        assert_eq!(
            tables.last(TableId::Items).map(|(k, _)| k.to_vec()),
            Some(999u32.to_be_bytes().to_vec())
        );
    }
}
