//! The store in memory against the store in redb: the same groups leave
//! the same tables and read back the same, a failed group leaves nothing,
//! a snapshot reads as of when it was taken, and range scans go both ways
//! within their bounds.

use std::ops::Bound;
use std::time::Duration;

use super::records::ItemRecordRef;
use super::recovery_tests::{dump, every_mutation, item, version};
use super::*;
use crate::ids::{Seq, StorageId};

/// A store in redb, in a temporary folder, and one in memory.
fn both() -> (tempfile::TempDir, [Store; 2]) {
    let dir = tempfile::tempdir().unwrap();
    let redb = Store::open(&dir.path().join("region.redb"), 1 << 20, Duration::MAX).unwrap();
    let memory = Store::open_in_memory(1 << 20, Duration::MAX).unwrap();
    (dir, [redb, memory])
}

/// `dump` without the incarnation, which each database draws for itself.
fn tables_of(store: &Store) -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let mut out = dump(store);
    out.retain(|(table, key, _)| !(*table == "meta" && key == INCARNATION.as_bytes()));
    out
}

/// Stores items "k00".."k19" in table 1 and "k00" in tables 0 and 2, each
/// record's version numbered after its key.
fn put_keys(store: &Store) {
    store
        .write(|tables| {
            for n in 0..20u64 {
                let key = format!("k{n:02}");
                let value = item(&key);
                let record = ItemRecordRef {
                    version: &version(n),
                    item: Some(&value),
                };
                tables.put_item_ref(StorageId(1), key.as_bytes(), &record)?;
            }
            let other = ItemRecordRef {
                version: &version(99),
                item: None,
            };
            tables.put_item_ref(StorageId(0), b"k00", &other)?;
            tables.put_item_ref(StorageId(2), b"k00", &other)
        })
        .unwrap();
}

/// The keys (as text) `ReadTables::items` yields for table 1.
fn scan(read: &ReadTables, lower: Bound<&str>, upper: Bound<&str>, forward: bool) -> Vec<String> {
    let bound = |b: Bound<&str>| b.map(|k| k.as_bytes().to_vec());
    read.items(StorageId(1), bound(lower), bound(upper), forward)
        .unwrap()
        .map(|entry| String::from_utf8(entry.unwrap().0).unwrap())
        .collect()
}

/// Names "k{from}".."k{to}" (inclusive), in order.
fn keys(from: u32, to: u32) -> Vec<String> {
    (from..=to).map(|n| format!("k{n:02}")).collect()
}

/// Everything `ReadTables` answers about what `every_mutation` wrote, as
/// text to compare.
fn reads(store: &Store) -> Vec<String> {
    let read = store.read().unwrap();
    let mut out = vec![
        format!("{:?}", read.table_names(None, 100).unwrap()),
        format!("{:?}", read.table_names(Some("t1"), 1).unwrap()),
        format!("{:?} {:?}", read.first_seq().unwrap(), read.last_seq().unwrap()),
        format!(
            "{:?}",
            read.changes(Seq(0)).unwrap().collect::<Result<Vec<_>, _>>().unwrap()
        ),
        format!("{:?}", read.applied("eu").unwrap()),
        format!("{:?}", read.conflicts(None).unwrap()),
        format!("{:?}", read.dropped_tables("eu").unwrap()),
        format!("{:?}", read.cursor("worker/kept").unwrap()),
        format!("{:?}", read.pitr_records("settings/").unwrap()),
    ];
    for id in 1..=8 {
        let id = StorageId(id);
        let all = || (Bound::Unbounded, Bound::Unbounded);
        for (space, forward) in [(Keyspace::Items, true), (Keyspace::IndexEntries, false)] {
            let entries = read.items_where(space, id, all(), forward, |_| Walk::Keep).unwrap();
            out.push(format!("{:?}", entries.collect::<Result<Vec<_>, _>>().unwrap()));
        }
        out.push(format!(
            "{:?}",
            read.raw_items_after(id, Some(b"a"), 1, usize::MAX).unwrap()
        ));
        out.push(format!(
            "{:?}",
            read.history(id).unwrap().collect::<Result<Vec<_>, _>>().unwrap()
        ));
        out.push(format!("{:?}", read.history_size(id).unwrap()));
        out.push(format!("{:?}", read.table(&format!("t{}", id.get())).unwrap()));
    }
    out
}

#[test]
fn the_same_groups_leave_the_same_tables_in_memory_as_in_redb() {
    let (_dir, [redb, memory]) = both();
    for round in 1..=3 {
        for store in [&redb, &memory] {
            store.write(|tables| every_mutation(tables, round)).unwrap();
        }
        assert_eq!(tables_of(&memory), tables_of(&redb), "after round {round}");
        assert_eq!(reads(&memory), reads(&redb), "after round {round}");
    }
    assert!(tables_of(&memory).iter().any(|(table, _, _)| *table == "history"));
}

#[test]
fn a_failed_group_in_memory_leaves_nothing() {
    let store = Store::open_in_memory(1 << 20, Duration::MAX).unwrap();
    store.write(|tables| every_mutation(tables, 1)).unwrap();
    let (before, reads_before) = (tables_of(&store), reads(&store));
    let failed: Result<((), crate::ids::GroupNo), StoreError> = store.write(|tables| {
        every_mutation(tables, 2)?;
        Err(StoreError::CommitFailed("refused".into()))
    });
    assert_eq!(
        failed.err().map(|e| e.to_string()).as_deref(),
        Some("commit failed: refused")
    );
    assert_eq!(tables_of(&store), before);
    assert_eq!(reads(&store), reads_before);
    // Numbering goes on from what was kept: the next group leaves what it
    // leaves in a store that never saw the failed one.
    let (_dir, [redb, _]) = both();
    redb.write(|tables| every_mutation(tables, 1)).unwrap();
    for store in [&store, &redb] {
        store.write(|tables| every_mutation(tables, 2)).unwrap();
    }
    assert_eq!(tables_of(&store), tables_of(&redb));
}

#[test]
fn a_snapshot_in_memory_does_not_see_the_groups_after_it() {
    let store = Store::open_in_memory(1 << 20, Duration::MAX).unwrap();
    put_keys(&store);
    let before = store.read().unwrap();
    // A scan begun before the group and read after it.
    let mut begun = before
        .items(StorageId(1), Bound::Unbounded, Bound::Unbounded, true)
        .unwrap();
    let first = begun.next().unwrap().unwrap().0;
    store
        .write(|tables| {
            tables.delete_items(StorageId(1))?;
            let record = ItemRecordRef {
                version: &version(500),
                item: None,
            };
            tables.put_item_ref(StorageId(1), b"k05", &record)?;
            tables.put_item_ref(StorageId(1), b"new", &record)?;
            tables.set_applied("eu", Seq(9))
        })
        .unwrap();
    let after = store.read().unwrap();
    assert_eq!(
        std::iter::once(first)
            .chain(begun.map(|entry| entry.unwrap().0))
            .map(|k| String::from_utf8(k).unwrap())
            .collect::<Vec<_>>(),
        keys(0, 19)
    );
    assert_eq!(scan(&before, Bound::Unbounded, Bound::Unbounded, true), keys(0, 19));
    let wall_ns = |read: &ReadTables| read.item(StorageId(1), b"k05").unwrap().map(|r| r.version.ts.wall_ns);
    assert_eq!(wall_ns(&before), Some(5));
    assert_eq!(before.applied("eu").unwrap(), Seq(0));
    assert_eq!(scan(&after, Bound::Unbounded, Bound::Unbounded, true), ["k05", "new"]);
    assert_eq!(wall_ns(&after), Some(500));
    assert_eq!(after.applied("eu").unwrap(), Seq(9));
    assert!(after.group() > before.group());
}

#[test]
fn range_scans_go_both_ways_within_their_bounds_in_either_backend() {
    let (_dir, stores) = both();
    for store in &stores {
        put_keys(store);
        let read = store.read().unwrap();
        let reversed = |mut keys: Vec<String>| {
            keys.reverse();
            keys
        };
        use Bound::{Excluded, Included, Unbounded};
        for forward in [true, false] {
            let expect = |keys: Vec<String>| if forward { keys } else { reversed(keys) };
            let scan = |lower, upper| scan(&read, lower, upper, forward);
            assert_eq!(scan(Unbounded, Unbounded), expect(keys(0, 19)));
            assert_eq!(scan(Included("k05"), Excluded("k10")), expect(keys(5, 9)));
            assert_eq!(scan(Excluded("k05"), Included("k10")), expect(keys(6, 10)));
            assert_eq!(scan(Excluded("k18"), Unbounded), expect(keys(19, 19)));
            assert_eq!(scan(Unbounded, Excluded("k01")), expect(keys(0, 0)));
            // Keys between stored ones, and empty ranges.
            assert_eq!(scan(Included("k05x"), Included("k07x")), expect(keys(6, 7)));
            assert!(scan(Excluded("k05"), Excluded("k06")).is_empty());
            assert!(scan(Included("k09"), Included("k03")).is_empty());
        }
        let raw_keys = |after: &[u8], max_bytes| -> Vec<String> {
            let raw = read.raw_items_after(StorageId(1), Some(after), 5, max_bytes).unwrap();
            raw.into_iter().map(|(k, _)| String::from_utf8(k).unwrap()).collect()
        };
        assert_eq!(raw_keys(b"k17", usize::MAX), keys(18, 19));
        // A byte budget stops the walk once the records reach it, after
        // at least one.
        let first = read.raw_items_after(StorageId(1), Some(b"k03"), 1, usize::MAX).unwrap();
        let one = first[0].1.len();
        assert_eq!(raw_keys(b"k03", 1), keys(4, 4));
        assert_eq!(raw_keys(b"k03", one + 1), keys(4, 5));
        assert_eq!(raw_keys(b"k03", usize::MAX), keys(4, 8));
    }
}
