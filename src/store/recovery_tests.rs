//! The write-ahead log against crashes: files copied while the store runs
//! are what a crash leaves, and opening them must give back every group the
//! store committed.

use crate::ids::{Seq, StorageId};
use std::ops::Bound;
use std::path::Path;

use redb::{ReadableDatabase, ReadableTable};

use super::records::{ChangeRef, ItemChangeRef, ItemRecordRef};
use super::*;
use super::{HISTORY, PITR};
use crate::clock::Timestamp;
use crate::model::TableMeta;
use crate::model::{AttributeValue, Item};

/// Checkpoints only when asked, so the tests can copy the files as a crash
/// would leave them, with groups only in the write-ahead log.
const NO_CHECKPOINTS: Duration = Duration::MAX;

/// A new store in a temporary folder: the folder, the database path, the store.
fn fresh_store() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("region.redb");
    let store = Store::open(&db, 1 << 20, NO_CHECKPOINTS).unwrap();
    (dir, db, store)
}

/// The tables by the names `dump` gives them.
const TABLE_NAMES: [(journal::TableId, &str); 10] = [
    (journal::TableId::Tables, "tables"),
    (journal::TableId::Items, "items"),
    (journal::TableId::IndexEntries, "index_entries"),
    (journal::TableId::Log, "log"),
    (journal::TableId::Meta, "meta"),
    (journal::TableId::Conflicts, "conflicts"),
    (journal::TableId::History, "history"),
    (journal::TableId::Pitr, "pitr"),
    (journal::TableId::Cursors, "cursors"),
    (journal::TableId::Dropped, "dropped_tables"),
];

/// Every entry of every table, as bytes (as the journal encodes them),
/// table by table, in either backend.
pub(super) fn dump(store: &Store) -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let Backend::Memory(memory) = &store.db else {
        return dump_redb(store);
    };
    let tables = memory.snapshot();
    let mut out = Vec::new();
    for (id, name) in TABLE_NAMES {
        for (k, v) in tables.range(id, Bound::Unbounded, Bound::Unbounded) {
            out.push((name, k.to_vec(), v.to_vec()));
        }
    }
    out
}

/// `dump` of a store in redb.
fn dump_redb(store: &Store) -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let txn = store.redb().begin_read().unwrap();
    let mut out = Vec::new();
    macro_rules! copy {
        ($def:expr, $name:literal, $key:expr, $value:expr) => {
            for entry in txn.open_table($def).unwrap().iter().unwrap() {
                let (k, v) = entry.unwrap();
                out.push(($name, $key(k.value()), $value(v.value())));
            }
        };
    }
    let text = |s: &str| s.as_bytes().to_vec();
    let bytes = |b: &[u8]| b.to_vec();
    let number = |n: u64| n.to_be_bytes().to_vec();
    copy!(TABLES, "tables", text, bytes);
    copy!(ITEMS, "items", bytes, bytes);
    copy!(INDEX_ENTRIES, "index_entries", bytes, bytes);
    copy!(LOG, "log", number, bytes);
    copy!(META, "meta", text, number);
    copy!(CONFLICTS, "conflicts", number, bytes);
    copy!(HISTORY, "history", bytes, bytes);
    copy!(PITR, "pitr", text, bytes);
    copy!(CURSORS, "cursors", text, bytes);
    copy!(DROPPED, "dropped_tables", text, bytes);
    // Which group the database holds durably is bookkeeping of the log, not
    // data: a store that redid groups records more of them than one that ran.
    out.retain(|(table, key, _)| !(*table == "meta" && key == WAL_GROUP.as_bytes()));
    out
}

/// Copies the database and its log as a crash at this moment would leave
/// them, and opens the copy.
fn crash_copy(dir: &Path, db: &Path) -> Store {
    let copy = dir.join("copy.redb");
    std::fs::copy(db, &copy).unwrap();
    std::fs::copy(wal_path(db), wal_path(&copy)).unwrap();
    Store::open(&copy, 1 << 20, NO_CHECKPOINTS).unwrap()
}

pub(super) fn version(wall_ns: u64) -> Version {
    Version {
        ts: Timestamp { wall_ns, logical: 0 },
        region: "r".into(),
    }
}

pub(super) fn item(pk: &str) -> Item {
    Item::from([("pk".to_string(), AttributeValue::S(pk.into()))])
}

/// One group using every mutation `WriteTables` has.
pub(super) fn every_mutation(tables: &mut WriteTables<'_>, round: u64) -> Result<(), StoreError> {
    let id = tables.allocate_storage_id()?;
    let name = format!("t{round}");
    tables.put_table(&TableMeta::sample(&name, id.get()))?;
    tables.put_table(&TableMeta::sample("gone", id.get() + 100))?;
    tables.remove_table("gone")?;
    let new = item("a");
    let record = ItemRecordRef {
        version: &version(round * 10 + 1),
        item: Some(&new),
    };
    tables.put_item_ref(id, b"a", &record)?;
    tables.put_item(
        id,
        b"b",
        &ItemRecord {
            version: version(round * 10 + 2),
            item: None,
        },
    )?;
    tables.put_item_bytes(id, b"c", &records::encode(&record))?;
    // Index entries: under a storage id of their own, in their own table.
    let index = tables.allocate_storage_id()?;
    tables.put_entry_bytes(index, b"e1", &records::encode(&record))?;
    tables.put_entry(
        index,
        b"e2",
        &ItemRecord {
            version: version(round * 10 + 3),
            item: Some(item("e2")),
        },
    )?;
    tables.put_entry_bytes(index, b"e3", b"gone")?;
    tables.remove_entry(index, b"e3")?;
    // A copy of item "a" as it is now, then "a" changed: a redo copies
    // what the group copied, not what "a" became.
    assert_eq!(tables.copy_item_to_entry(index, b"e4", id, b"a")?, Some(false));
    assert_eq!(tables.copy_item_to_entry(index, b"e5", id, b"none")?, None);
    let changed = ItemRecord {
        version: version(round * 10 + 4),
        item: Some(item("a changed")),
    };
    tables.put_item(id, b"a", &changed)?;
    tables.append_change_ref(&ChangeRef::Item(ItemChangeRef {
        table: &name,
        key: b"a",
        version: &version(round * 10 + 1),
        old: None,
        new: Some(&new),
        cause: ChangeCause::Client,
    }))?;
    tables.set_applied("eu", Seq(round))?;
    tables.record_conflict(&ConflictRecord {
        table: name.clone(),
        key: b"a".to_vec(),
        winner: version(2),
        winner_item: Some(new.clone()),
        loser: version(1),
        loser_item: None,
    })?;
    tables.set_cursor("worker/kept", Some(b"here"))?;
    tables.set_cursor("worker/gone", Some(b"x"))?;
    tables.set_cursor("worker/gone", None)?;
    tables.record_dropped(&DroppedTable {
        name: name.clone(),
        table_id: format!("id-{round}"),
        region: "eu".into(),
        version: version(round),
        deleted: true,
    })?;
    tables.put_pitr_record(&format!("settings/{id}"), b"on")?;
    tables.put_pitr_record("backup/gone", b"x")?;
    tables.remove_pitr_record("backup/gone")?;
    tables.seed_history(id)?;
    tables.put_history(id, b"a", &version(round * 10 + 5), 3, b"record")?;
    let everything_before = Timestamp {
        wall_ns: u64::MAX,
        logical: 0,
    };
    tables.collect_history(id, None, everything_before, 100)?;
    if round > 1 {
        // Drops the previous round's table and index: range removals of
        // items, history and index entries.
        tables.delete_items(StorageId(id.get() - 2))?;
        tables.delete_entries(StorageId(id.get() - 1))?;
        // Trims the previous round's change-log entry (a range removal).
        tables.trim_log(tables.last_seq(), 10)?;
        // And its conflict record (a range removal too).
        tables.trim_conflicts(3, 1)?;
    }
    Ok(())
}

#[test]
fn groups_only_in_the_log_are_redone_after_a_crash() {
    let (dir, db, store) = fresh_store();
    for round in 1..=3 {
        store.write(|tables| every_mutation(tables, round)).unwrap();
    }
    assert!(std::fs::metadata(wal_path(&db)).unwrap().len() > 0);
    let expected = dump(&store);
    assert!(expected.iter().any(|(table, _, _)| *table == "history"));
    assert!(expected.iter().any(|(table, _, _)| *table == "index_entries"));

    let recovered = crash_copy(dir.path(), &db);
    assert_eq!(dump(&recovered), expected);
    // The redo was checkpointed, and the copy takes new groups after the
    // ones it redid, whose frames it overwrites.
    recovered.write(|tables| every_mutation(tables, 4)).unwrap();
    let expected = dump(&recovered);
    drop(recovered);
    let reopened = Store::open(&dir.path().join("copy.redb"), 1 << 20, NO_CHECKPOINTS).unwrap();
    assert_eq!(dump(&reopened), expected);
}

#[test]
fn a_failed_group_leaves_nothing_to_redo() {
    let (dir, db, store) = fresh_store();
    store.write(|tables| every_mutation(tables, 1)).unwrap();
    let before = dump(&store);
    let failed: Result<((), crate::ids::GroupNo), StoreError> = store.write(|tables| {
        every_mutation(tables, 2)?;
        Err(StoreError::CommitFailed("refused".into()))
    });
    assert!(failed.is_err());
    assert_eq!(dump(&store), before);
    assert_eq!(dump(&crash_copy(dir.path(), &db)), before);
}

#[test]
fn a_checkpoint_starts_the_log_over_and_keeps_everything() {
    let (dir, db, store) = fresh_store();
    store.write(|tables| every_mutation(tables, 1)).unwrap();
    store.checkpoint().unwrap();
    assert_eq!(store.log.lock().unwrap().wal.as_ref().map(|w| w.len()), Some(0));
    // Overwrites the first group's frame: the copy must not redo that one.
    store.write(|tables| every_mutation(tables, 2)).unwrap();
    let expected = dump(&store);
    assert_eq!(dump(&crash_copy(dir.path(), &db)), expected);
}

#[test]
fn a_group_too_big_for_the_log_commits_durably_in_the_database() {
    let (dir, db, store) = fresh_store();
    let big = vec![7u8; JOURNAL_LIMIT / 4];
    store
        .write(|tables| {
            for key in 0..5u8 {
                tables.put_item_bytes(StorageId(1), &[key], &big)?;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(store.log.lock().unwrap().wal.as_ref().map(|w| w.len()), Some(0));
    let expected = dump(&store);
    assert_eq!(dump(&crash_copy(dir.path(), &db)), expected);
}

#[tokio::test]
async fn a_snapshot_waits_for_the_sync_of_the_groups_it_holds() {
    let (_dir, _db, store) = fresh_store();
    let (_, group) = store.write(|tables| every_mutation(tables, 1)).unwrap();
    let read = store.read().unwrap();
    assert_eq!(read.group(), group);
    assert!(store.durable() < group);
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move { store.until_durable(group).await })
    };
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished(), "answered before the group was synced");
    assert!(store.sync(group).unwrap(), "the group needed a sync");
    waiting.await.unwrap().unwrap();
    assert_eq!(store.durable(), group);
}

#[test]
fn trimming_the_log_keeps_its_last_entry_and_numbering() {
    let (_dir, _db, store) = fresh_store();
    let change = |tables: &mut WriteTables<'_>| {
        tables.append_change_ref(&ChangeRef::Item(ItemChangeRef {
            table: "t",
            key: b"a",
            version: &version(1),
            old: None,
            new: None,
            cause: ChangeCause::Client,
        }))
    };
    let ((), _) = store
        .write(|tables| {
            for _ in 0..5 {
                change(tables)?;
            }
            Ok(())
        })
        .unwrap();
    // At most `max` at a time, and never the last entry.
    let (removed, _) = store.write(|tables| tables.trim_log(Seq::MAX, 3)).unwrap();
    assert_eq!(removed, 3);
    let (removed, _) = store.write(|tables| tables.trim_log(Seq::MAX, 100)).unwrap();
    assert_eq!(removed, 1);
    let read = store.read().unwrap();
    assert_eq!((read.first_seq().unwrap(), read.last_seq().unwrap()), (Seq(5), Seq(5)));
    drop(read);
    let (seq, _) = store.write(change).unwrap();
    assert_eq!(seq, Seq(6), "a trimmed log goes on numbering where it was");
    // Nothing before `before` is left: nothing is removed.
    let (removed, _) = store.write(|tables| tables.trim_log(Seq(5), 100)).unwrap();
    assert_eq!(removed, 0);
}

#[test]
fn conflicts_are_trimmed_oldest_first_up_to_the_first_younger_one() {
    let (_dir, _db, store) = fresh_store();
    // Recorded at 10, 20, 30, then 15 (a late loser), 40: the young one at
    // 30 ends the stretch, however old the records after it.
    let record = |tables: &mut WriteTables<'_>, winner: u64, loser: u64| {
        tables.record_conflict(&ConflictRecord {
            table: "t".into(),
            key: b"a".to_vec(),
            winner: version(winner),
            winner_item: None,
            loser: version(loser),
            loser_item: None,
        })
    };
    let ((), _) = store
        .write(|tables| {
            for (winner, loser) in [(10, 5), (20, 20), (30, 1), (15, 2), (40, 3)] {
                record(tables, winner, loser)?;
            }
            Ok(())
        })
        .unwrap();
    let (removed, _) = store.write(|tables| tables.trim_conflicts(25, 1)).unwrap();
    assert_eq!(removed, 1, "at most `max`");
    let (removed, _) = store.write(|tables| tables.trim_conflicts(25, 100)).unwrap();
    assert_eq!(removed, 1, "stops at the record stamped 30");
    let kept: Vec<u64> = store
        .read()
        .unwrap()
        .conflicts(None)
        .unwrap()
        .iter()
        .map(|c| c.winner.ts.wall_ns)
        .collect();
    assert_eq!(kept, [30, 15, 40]);
    let (removed, _) = store.write(|tables| tables.trim_conflicts(u64::MAX, 100)).unwrap();
    assert_eq!(removed, 3);
}

#[test]
fn checkpoints_are_counted_with_their_time() {
    let (_dir, _db, store) = fresh_store();
    assert_eq!(store.checkpoint_stats(), CheckpointStats::default());
    store.write_logged(|tables| every_mutation(tables, 1), |_| ()).unwrap();
    // A logged group is not a checkpoint.
    assert_eq!(store.checkpoint_stats().count, 0);
    store.checkpoint().unwrap();
    store.checkpoint().unwrap();
    let stats = store.checkpoint_stats();
    assert_eq!(stats.count, 2);
    assert!(
        stats.longest_ms > 0.0 && stats.total_ms >= stats.longest_ms,
        "{stats:?}"
    );
}

#[test]
fn a_replace_over_a_record_it_cannot_decode_fails_and_changes_nothing() {
    let (dir, db, store) = fresh_store();
    let garbage = [0xFFu8, 1, 2, 3];
    store
        .write(|tables| tables.put_item_bytes(StorageId(9), b"k", &garbage))
        .unwrap();
    let before = dump(&store);
    let version = Version {
        ts: Timestamp { wall_ns: 1, logical: 0 },
        region: "us-east-1".into(),
    };
    let record = ItemRecordRef {
        version: &version,
        item: None,
    };
    // The group commits (the failure is the write's own), as a failed
    // request in a group of others would.
    let ((replaced, also), _) = store
        .write(|tables| {
            let replaced = tables.replace_item_ref(StorageId(9), b"k", &record).map(|_| ());
            let also = tables.replace_item_ref(StorageId(9), b"other", &record)?;
            Ok((replaced, also))
        })
        .unwrap();
    assert!(matches!(replaced, Err(StoreError::Codec(_))), "{replaced:?}");
    assert_eq!(also, None);
    let after: Vec<_> = dump(&store)
        .into_iter()
        .filter(|(table, key, _)| !(*table == "items" && key.ends_with(b"other")))
        .collect();
    assert_eq!(after, before);
    // Nor does the write-ahead log redo it after a crash.
    let recovered: Vec<_> = dump(&crash_copy(dir.path(), &db))
        .into_iter()
        .filter(|(table, key, _)| !(*table == "items" && key.ends_with(b"other")))
        .collect();
    assert_eq!(recovered, before);
}

/// In memory there is no log: every group is durable when `write` returns,
/// `sync` has nothing to do, and a later snapshot reads the write;
/// checkpoints come only when due or asked for.
#[test]
fn an_in_memory_store_commits_without_a_log() {
    let store = Store::open_in_memory(1 << 20, NO_CHECKPOINTS).unwrap();
    assert!(store.log.lock().unwrap().wal.is_none() && store.sync_file.is_none());
    for seq in 1..=3 {
        let ((), group) = store.write(|tables| tables.set_applied("eu-west-1", Seq(seq))).unwrap();
        assert_eq!(store.durable(), group);
        assert!(!store.sync(group).unwrap());
        assert_eq!(store.read().unwrap().applied("eu-west-1").unwrap(), Seq(seq));
    }
    assert_eq!(store.checkpoint_stats().count, 0);
    store.checkpoint().unwrap();
    assert_eq!(store.checkpoint_stats().count, 1);
    assert_eq!(store.read().unwrap().applied("eu-west-1").unwrap(), Seq(3));
    let every_time = Store::open_in_memory(1 << 20, Duration::ZERO).unwrap();
    every_time
        .write(|tables| tables.set_applied("eu-west-1", Seq(1)))
        .unwrap();
    assert_eq!(every_time.checkpoint_stats().count, 1);
    assert_ne!(every_time.incarnation(), crate::ids::Incarnation::UNKNOWN);
}

/// The entries `dump` lists in `table` under storage id `id`, as (key
/// without the storage id, value).
fn dumped(dump: &[(&str, Vec<u8>, Vec<u8>)], table: &str, id: StorageId) -> Vec<(Vec<u8>, Vec<u8>)> {
    dump.iter()
        .filter(|(t, key, _)| *t == table && key.starts_with(&id.to_be_bytes()))
        .map(|(_, key, value)| (key[8..].to_vec(), value.clone()))
        .collect()
}

/// Index writes only in the log (puts, a replacement, a removal and an
/// index dropped whole) are redone into the index entries table, and
/// nothing of them lands among the items.
#[test]
fn index_writes_only_in_the_log_are_redone_into_their_own_table() {
    let (dir, db, store) = fresh_store();
    let record = |n: u64| ItemRecord {
        version: version(n),
        item: Some(item(&format!("i{n}"))),
    };
    let ((kept, dropped), _) = store
        .write(|tables| {
            let (kept, dropped) = (tables.allocate_storage_id()?, tables.allocate_storage_id()?);
            for n in 0..20u64 {
                tables.put_entry(kept, &n.to_be_bytes(), &record(n))?;
                tables.put_entry(dropped, &n.to_be_bytes(), &record(n))?;
            }
            Ok((kept, dropped))
        })
        .unwrap();
    store
        .write(|tables| {
            tables.put_entry(kept, &3u64.to_be_bytes(), &record(33))?;
            assert!(tables.remove_entry(kept, &4u64.to_be_bytes())?);
            assert!(!tables.remove_entry(kept, b"never written")?);
            tables.delete_entries(dropped)
        })
        .unwrap();
    let expected = dump(&store);
    let entries = dumped(&expected, "index_entries", kept);
    assert_eq!(entries.len(), 19);
    assert_eq!(entries[3], (3u64.to_be_bytes().to_vec(), records::encode(&record(33))));
    assert!(dumped(&expected, "index_entries", dropped).is_empty());

    let recovered = crash_copy(dir.path(), &db);
    assert_eq!(dump(&recovered), expected);
    assert!(
        recovered
            .read()
            .unwrap()
            .items(kept, Bound::Unbounded, Bound::Unbounded, true)
            .unwrap()
            .next()
            .is_none()
    );
    let read = recovered.read().unwrap();
    let keys: Vec<Vec<u8>> = read
        .items_where(
            Keyspace::IndexEntries,
            kept,
            (Bound::Unbounded, Bound::Unbounded),
            true,
            |_| Walk::Keep,
        )
        .unwrap()
        .map(|e| e.unwrap().unwrap().0)
        .collect();
    let expected_keys: Vec<Vec<u8>> = (0..20u64)
        .filter(|n| *n != 4)
        .map(|n| n.to_be_bytes().to_vec())
        .collect();
    assert_eq!(keys, expected_keys);
}

/// A database of format 1 kept index entries among the items, under the
/// index's storage id, and its log may hold groups that wrote them there:
/// opening it redoes the log, then moves every index's entries to their
/// own table, leaving the table's items where they were.
#[test]
fn a_database_with_entries_among_the_items_is_migrated_at_open() {
    let (dir, db, store) = fresh_store();
    // What a format-1 database looks like: no format number stored.
    let txn = store.redb().begin_write().unwrap();
    txn.open_table(META).unwrap().remove(migrate::FORMAT).unwrap();
    txn.commit().unwrap();
    let record = |n: u64| {
        records::encode(&ItemRecord {
            version: version(n),
            item: Some(item(&format!("i{n}"))),
        })
    };
    let old_layout = |tables: &mut WriteTables<'_>, keys: std::ops::Range<u64>| -> Result<_, StoreError> {
        let (table, index) = (StorageId(1), StorageId(2));
        let mut meta = TableMeta::sample("t", table.get());
        meta.indexes.push(crate::model::SecondaryIndex {
            name: "byA".into(),
            kind: crate::model::IndexKind::Global,
            key_schema: meta.key_schema.clone(),
            projection: crate::model::Projection::All,
            throughput: None,
            storage_id: index,
            backfilling: false,
            item_count: 0,
            size_bytes: 0,
        });
        tables.put_table(&meta)?;
        for n in keys {
            tables.put_item_bytes(table, &n.to_be_bytes(), &record(n))?;
            tables.put_item_bytes(index, &n.to_be_bytes(), &record(n))?;
        }
        Ok(())
    };
    // One group durable in the database, one only in the log.
    store.write(|tables| old_layout(tables, 0..10)).unwrap();
    store.checkpoint().unwrap();
    store.write(|tables| old_layout(tables, 10..15)).unwrap();
    let before = dump(&store);
    assert_eq!(dumped(&before, "items", StorageId(2)).len(), 15);

    let migrated = dump(&crash_copy(dir.path(), &db));
    let expected_entries = dumped(&before, "items", StorageId(2));
    assert_eq!(dumped(&migrated, "index_entries", StorageId(2)), expected_entries);
    assert!(dumped(&migrated, "items", StorageId(2)).is_empty());
    assert_eq!(
        dumped(&migrated, "items", StorageId(1)),
        dumped(&before, "items", StorageId(1))
    );
    let format = migrated
        .iter()
        .find(|(table, key, _)| *table == "meta" && key == migrate::FORMAT.as_bytes())
        .map(|(_, _, value)| value.clone());
    assert_eq!(format, Some(migrate::CURRENT.to_be_bytes().to_vec()));
}

/// A database laid out by a newer binary is refused, not misread.
#[test]
fn a_database_of_a_newer_format_is_refused() {
    let (_dir, db, store) = fresh_store();
    let txn = store.redb().begin_write().unwrap();
    txn.open_table(META)
        .unwrap()
        .insert(migrate::FORMAT, migrate::CURRENT + 1)
        .unwrap();
    txn.commit().unwrap();
    drop(store);
    let refused = Store::open(&db, 1 << 20, NO_CHECKPOINTS).err().map(|e| e.to_string());
    assert_eq!(
        refused.as_deref(),
        Some(
            format!(
                "the database has format {}; this binary reads formats up to {}",
                migrate::CURRENT + 1,
                migrate::CURRENT
            )
            .as_str()
        )
    );
}
