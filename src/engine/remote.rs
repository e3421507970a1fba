//! Applying changes that other regions originated, through the same writer
//! as local writes: last-writer-wins per item (see `lww.rs`), the region's
//! HLC observing every remote timestamp, losing writes recorded as conflicts
//! (a remote write that loses, or a local one a concurrent remote write beat),
//! and the origin's position stored in the same transaction as the changes,
//! so a restart resumes exactly where the last commit left off.

use super::error::EngineError;
use super::handle::Engine;
use super::index_entries::localize;
use super::lww::description_version;
use super::stream_rules::localize_stream;
use super::txn::{Applied, Arrival, GroupTxn, ItemUpdate};
use super::writer::Queued;
use crate::ids::{Incarnation, Seq};
use crate::model::TableMeta;
use crate::model::table::{ReplicaStatus, TableStatus};
use crate::store::{Change, ChangeCause, ConflictRecord, ItemChange, ItemRecord, TableChange, Version};

/// Whose change log a remote position counts entries of: a region, in one
/// incarnation of its data (see `Store::incarnation`). A region started over
/// on an empty data directory numbers its log from 1 again, so positions
/// are kept per incarnation and a new one starts from nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub region: String,
    pub incarnation: Incarnation,
}

impl Origin {
    /// The key the store keeps this log's applied position under.
    fn position_key(&self) -> String {
        format!("{}/{}", self.region, self.incarnation)
    }
}

/// A region's log in an unknown incarnation (0), for tests that know of one.
impl From<&str> for Origin {
    fn from(region: &str) -> Origin {
        Origin {
            region: region.to_string(),
            incarnation: Incarnation::UNKNOWN,
        }
    }
}

/// The position of `origin`'s log applied here (0: nothing yet).
pub fn applied(tables: &crate::store::WriteTables<'_>, origin: &Origin) -> Result<Seq, EngineError> {
    Ok(tables.applied(&origin.position_key())?)
}

/// `applied`, from a read snapshot.
pub fn applied_in(read: &crate::store::ReadTables, origin: &Origin) -> Result<Seq, EngineError> {
    Ok(read.applied(&origin.position_key())?)
}

/// Records that `origin`'s log is applied here through `seq`.
pub fn set_applied(tables: &mut crate::store::WriteTables<'_>, origin: &Origin, seq: Seq) -> Result<(), EngineError> {
    Ok(tables.set_applied(&origin.position_key(), seq)?)
}

/// Refuses a job unless `origin`'s applied position is `expected`: a batch
/// queued behind one whose commit failed must not apply past the changes
/// that were lost with it.
pub fn expect_applied(txn: &GroupTxn<'_, '_>, origin: &Origin, expected: Seq) -> Result<(), EngineError> {
    let applied = applied(txn.tables, origin)?;
    if applied != expected {
        return Err(EngineError::Validation(format!(
            "changes from {} out of order: applied {applied}, txn expects {expected}",
            origin.region
        )));
    }
    Ok(())
}

/// What one batch of remote changes did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Changes that won and were written.
    pub applied: u64,
    /// Changes that lost LWW (recorded as conflicts) or were already there.
    pub superseded: u64,
    /// Item changes for tables this region does not have.
    pub skipped: u64,
    /// Superseded writes recorded as conflicts (a different version won).
    pub conflicts: u64,
    /// Largest amount a remote timestamp was ahead of our clock beyond the
    /// maximum offset, in milliseconds (0 when none was).
    pub clock_ahead_ms: u64,
}

/// Applies changes `origin` sent, in its log order, and records that the
/// origin's log is applied through `through`. Changes at or below the stored
/// position were applied before and are skipped (re-delivery is harmless).
pub fn apply_batch(
    txn: &mut GroupTxn<'_, '_>,
    origin: &Origin,
    changes: Vec<(Seq, Change)>,
    through: Seq,
) -> Result<ApplyReport, EngineError> {
    let mut report = ApplyReport::default();
    let applied = applied(txn.tables, origin)?;
    for (seq, change) in changes {
        if seq <= applied {
            continue;
        }
        if change.version().region != origin.region {
            return Err(EngineError::Validation(format!(
                "peer {} sent a change originated elsewhere",
                origin.region
            )));
        }
        if let Err(ahead) = txn.hlc.observe(change.version().ts) {
            report.clock_ahead_ms = report.clock_ahead_ms.max(ahead.ahead_ms);
        }
        match change {
            Change::Item(item) => apply_item(txn, item, &mut report)?,
            Change::Table { version, change } => apply_table(txn, version, change, &mut report)?,
        }
    }
    if through > applied {
        set_applied(txn.tables, origin, through)?;
    }
    Ok(report)
}

fn apply_item(txn: &mut GroupTxn<'_, '_>, change: ItemChange, report: &mut ApplyReport) -> Result<(), EngineError> {
    // In place: only the counters change (see `Batch::with_table`).
    let table = change.table.clone();
    txn.with_table(&table, |txn, meta| match meta {
        Some(meta) => apply_to(txn, meta, change, report),
        None => {
            report.skipped += 1;
            Ok(())
        }
    })
}

fn apply_to(
    txn: &mut GroupTxn<'_, '_>,
    meta: &mut TableMeta,
    change: ItemChange,
    report: &mut ApplyReport,
) -> Result<(), EngineError> {
    let update = ItemUpdate {
        key: &change.key,
        new: change.new,
        cause: change.cause,
        arrival: Arrival::Merged(change.version),
    };
    let conflict = match txn.change_item(meta, update)? {
        Applied::Won {
            old,
            new,
            version,
            replaced,
        } => {
            report.applied += 1;
            // The origin wrote without having seen our current version (the
            // image it replaced differs from ours): a concurrent write, and
            // ours lost.
            let concurrent = replaced.as_ref().is_some_and(|r| r.region != version.region) && old != change.old;
            match replaced {
                Some(loser) if concurrent => Some(ConflictRecord {
                    table: change.table,
                    key: change.key,
                    winner: version,
                    winner_item: new,
                    loser,
                    loser_item: old,
                }),
                _ => None,
            }
        }
        Applied::Lost { current, new, version } => {
            report.superseded += 1;
            (current.version != version).then_some(ConflictRecord {
                table: change.table,
                key: change.key,
                winner: current.version,
                winner_item: current.item,
                loser: version,
                loser_item: new,
            })
        }
    };
    if let Some(conflict) = conflict {
        report.conflicts += 1;
        txn.tables.record_conflict(&conflict)?;
    }
    Ok(())
}

/// Merges records of another region's snapshot of `table` (see
/// `Engine::snapshot`) by LWW, as if each were a replicated change.
fn apply_snapshot(
    txn: &mut GroupTxn<'_, '_>,
    table: &str,
    records: Vec<(Vec<u8>, ItemRecord)>,
) -> Result<u64, EngineError> {
    txn.with_table(table, |txn, meta| {
        let Some(meta) = meta else { return Ok(0) };
        let mut won = 0;
        for (key, record) in records {
            let _ = txn.hlc.observe(record.version.ts);
            let update = ItemUpdate {
                key: &key,
                new: record.item,
                cause: ChangeCause::Client,
                arrival: Arrival::Merged(record.version),
            };
            if let Applied::Won { .. } = txn.change_item(meta, update)? {
                won += 1;
            }
        }
        Ok(won)
    })
}

pub(super) fn apply_table(
    txn: &mut GroupTxn<'_, '_>,
    version: Version,
    change: TableChange,
    report: &mut ApplyReport,
) -> Result<(), EngineError> {
    let applied = match &change {
        TableChange::Created(remote) | TableChange::Updated(remote) => upsert_table(txn, remote)?,
        TableChange::Deleted { name, table_id } => match txn.table(name)? {
            Some(existing) if &existing.table_id == table_id => {
                txn.delete_table(&existing, &version)?;
                true
            }
            _ => false,
        },
    };
    if applied {
        txn.tables.append_change(&Change::Table { version, change })?;
        report.applied += 1;
    } else {
        report.superseded += 1;
    }
    Ok(())
}

/// Applies a replicated table description: creates the local replica when
/// this region was added (its status says CREATING until backfilled), drops
/// it when this region was removed, else takes the newer description (LWW on
/// `changed`, `changed_by`). Returns whether anything changed.
fn upsert_table(txn: &mut GroupTxn<'_, '_>, remote: &TableMeta) -> Result<bool, EngineError> {
    let region = txn.region.to_string();
    let replica_here = remote.replica(&region).is_some();
    let Some(local) = txn.table(&remote.name)? else {
        if !replica_here {
            return Ok(false);
        }
        let mut meta = remote.clone();
        localize_stream(txn.tables.last_seq() + 1, None, &mut meta);
        meta.storage_id = txn.tables.allocate_storage_id()?;
        meta.item_count = 0;
        meta.size_bytes = 0;
        meta.status = TableStatus::Active;
        // The new replica is empty and filled through `change_item`, which
        // enters each item in the indexes: no backfill.
        localize(txn.tables, None, &mut meta, false)?;
        txn.set_table(&remote.name, Some(meta));
        return Ok(true);
    };
    if local.table_id != remote.table_id {
        tracing::warn!(table = %remote.name, "a table of the same name was created in two regions; keeping the local one");
        return Ok(false);
    }
    if !super::lww::description_wins(&local, remote) {
        return merge_finished_backfills(txn, local, remote);
    }
    if !replica_here {
        txn.drop_table(&remote.name, local.storage_id)?;
        return Ok(true);
    }
    let mut meta = remote.clone();
    localize_stream(txn.tables.last_seq() + 1, Some(&local), &mut meta);
    meta.storage_id = local.storage_id;
    meta.item_count = local.item_count;
    meta.size_bytes = local.size_bytes;
    meta.status = local.status;
    localize(txn.tables, Some(&local), &mut meta, true)?;
    let own_active = local
        .replica(&region)
        .is_some_and(|r| r.status == ReplicaStatus::Active);
    let demoted = meta.replica(&region).is_some_and(|r| r.status != ReplicaStatus::Active);
    if own_active && demoted {
        // The writer of `remote` had not yet heard that this replica finished
        // its backfill: keep it ACTIVE and tell the replicas so, on this
        // version of the description (see `Engine::finish_backfill`).
        for replica in meta.replicas.iter_mut().filter(|r| r.region == region) {
            replica.status = ReplicaStatus::Active;
        }
        super::tables::announce_replica_status(txn, &meta)?;
    }
    txn.set_table(&remote.name, Some(meta));
    Ok(true)
}

/// A description of the version this region holds, or an older one: an
/// older one changes nothing, and the same version can only add replicas
/// that finished their backfill since (a region marks its own replica ACTIVE
/// without a new version): those are marked ACTIVE here too. A replica never
/// goes back to CREATING on the same version, and this region's own is
/// marked by its backfill only. Returns whether anything changed.
fn merge_finished_backfills(
    txn: &mut GroupTxn<'_, '_>,
    mut local: TableMeta,
    remote: &TableMeta,
) -> Result<bool, EngineError> {
    if description_version(&local) != description_version(remote) {
        return Ok(false);
    }
    let finished = |region: &str| {
        remote
            .replica(region)
            .is_some_and(|r| r.status == ReplicaStatus::Active)
    };
    let mut changed = false;
    // This region's own replica is marked here, by its backfill only.
    let here = txn.region.to_string();
    for replica in local.replicas.iter_mut().filter(|r| r.region != here) {
        if replica.status != ReplicaStatus::Active && finished(&replica.region) {
            replica.status = ReplicaStatus::Active;
            changed = true;
        }
    }
    if changed {
        let name = local.name.clone();
        txn.set_table(&name, Some(local));
    }
    Ok(changed)
}

impl Engine {
    /// Applies a batch of changes `origin` originated (see `remote.rs`).
    pub async fn apply_remote(
        &self,
        origin: Origin,
        changes: Vec<(Seq, Change)>,
        through: Seq,
    ) -> Result<ApplyReport, EngineError> {
        self.writer()?
            .submit(move |txn| apply_batch(txn, &origin, changes, through))
            .await
    }

    /// Queues a batch of changes `origin` originated, to be applied after
    /// everything queued before it, and returns a future of the result. The
    /// batch is refused unless the origin's applied position is `expected`
    /// when it runs: a batch queued behind one whose commit failed must not
    /// apply past the changes that were lost with it.
    pub async fn queue_remote(
        &self,
        origin: Origin,
        changes: Vec<(Seq, Change)>,
        expected: Seq,
        through: Seq,
    ) -> Result<Queued<ApplyReport>, EngineError> {
        self.writer()?
            .enqueue(move |txn| {
                expect_applied(txn, &origin, expected)?;
                apply_batch(txn, &origin, changes, through)
            })
            .await
    }

    /// The origin's log position applied here.
    pub async fn applied_position(&self, origin: Origin) -> Result<Seq, EngineError> {
        self.read(move |read| applied_in(read, &origin)).await
    }

    /// Merges snapshot records into this region's replica of `table` by
    /// last-writer-wins; returns how many won.
    pub async fn apply_snapshot(&self, table: String, records: Vec<(Vec<u8>, ItemRecord)>) -> Result<u64, EngineError> {
        self.writer()?
            .submit(move |txn| apply_snapshot(txn, &table, records))
            .await
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::{Hlc, Timestamp};
    use crate::config::StorageConfig;
    use crate::engine::{Engine, ItemOp, ItemWrite, NewTable};
    use crate::ids::Seq;
    use crate::model::{AttributeValue, Item};
    use crate::store::{Change, ChangeCause, ItemChange, ItemRecord, Version};

    fn item(pk: &str, v: &str) -> Item {
        Item::from([
            ("pk".to_string(), AttributeValue::S(pk.into())),
            ("v".to_string(), AttributeValue::S(v.into())),
        ])
    }

    fn remote(seq: u64, wall_ns: u64, key: Vec<u8>, old: Option<Item>, new: Item) -> (Seq, Change) {
        let version = Version {
            ts: Timestamp { wall_ns, logical: 0 },
            region: "eu-west-1".into(),
        };
        let change = ItemChange {
            table: "t".into(),
            key,
            version,
            old,
            new: Some(new),
            cause: ChangeCause::Client,
        };
        (Seq(seq), Change::Item(change))
    }

    /// The newest entry of this region's own change log, an item change.
    async fn last_own_item_change(engine: &Engine) -> ItemChange {
        let (mut changes, _) = engine.own_changes(Seq(1), 10).await.unwrap();
        match changes.pop() {
            Some((_, Change::Item(change))) => change,
            other => panic!("a local item change expected: {other:?}"),
        }
    }

    /// us-east-1's engine on `dir`, with a clock that starts now.
    fn open_engine(dir: &std::path::Path) -> Engine {
        let hlc = Hlc::new(0, std::time::Duration::from_secs(1));
        Engine::open(dir, "us-east-1", hlc, &StorageConfig::default()).unwrap()
    }

    #[tokio::test]
    async fn losing_writes_on_either_side_are_recorded_as_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open_engine(dir.path());
        let spec = NewTable::keyed_by_pk("t");
        engine.create_table(spec).await.unwrap();
        engine
            .write_item("t".into(), ItemWrite::new(ItemOp::Put(item("k", "local"))))
            .await
            .unwrap();
        let key = crate::model::key::encode_primary_key(&AttributeValue::S("k".into()), None);

        // An older remote write (made without seeing ours) loses.
        let older = remote(1, 1, key.clone(), None, item("k", "remote-old"));
        let report = engine
            .apply_remote("eu-west-1".into(), vec![older], Seq(1))
            .await
            .unwrap();
        assert_eq!((report.applied, report.conflicts), (0, 1));
        let read_key = Item::from([("pk".to_string(), AttributeValue::S("k".into()))]);
        let (_, stored) = engine.get_item("t", &read_key).await.unwrap();
        assert_eq!(
            stored,
            Some(item("k", "local")),
            "a losing change leaves the item as it was"
        );

        // A newer remote write made without seeing ours wins; ours is recorded.
        let newer = remote(2, u64::MAX / 2, key.clone(), None, item("k", "remote-new"));
        let report = engine
            .apply_remote("eu-west-1".into(), vec![newer], Seq(2))
            .await
            .unwrap();
        assert_eq!((report.applied, report.conflicts), (1, 1));

        // A newer write that replaced exactly what we hold is causal, not a conflict.
        let causal = remote(
            3,
            u64::MAX / 2 + 1,
            key,
            Some(item("k", "remote-new")),
            item("k", "after"),
        );
        let report = engine
            .apply_remote("eu-west-1".into(), vec![causal], Seq(3))
            .await
            .unwrap();
        assert_eq!((report.applied, report.conflicts), (1, 0));

        let conflicts = engine.conflicts(Some("t".into())).await.unwrap();
        assert_eq!(conflicts.len(), 2);
        assert_eq!(conflicts[0].loser_item, Some(item("k", "remote-old")));
        assert_eq!(conflicts[1].loser_item, Some(item("k", "local")));
        assert_eq!(conflicts[1].winner.region, "eu-west-1");
        engine.shutdown();
    }

    #[tokio::test]
    async fn a_snapshot_record_is_stored_only_where_it_wins() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open_engine(dir.path());
        engine.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
        engine
            .write_item("t".into(), ItemWrite::new(ItemOp::Put(item("k", "local"))))
            .await
            .unwrap();
        let record = |pk: &str, wall_ns: u64, v: &str| ItemRecord {
            version: Version {
                ts: Timestamp { wall_ns, logical: 0 },
                region: "eu-west-1".into(),
            },
            item: Some(item(pk, v)),
        };
        let encode = |pk: &str| crate::model::key::encode_primary_key(&AttributeValue::S(pk.into()), None);
        let snapshot = vec![
            (encode("k"), record("k", 1, "older than ours")),
            (encode("j"), record("j", u64::MAX / 2, "new here")),
        ];
        assert_eq!(engine.apply_snapshot("t".into(), snapshot).await.unwrap(), 1);

        let read = |pk: &str| Item::from([("pk".to_string(), AttributeValue::S(pk.into()))]);
        let (_, k) = engine.get_item("t", &read("k")).await.unwrap();
        assert_eq!(k, Some(item("k", "local")), "the losing record leaves ours in place");
        let (_, j) = engine.get_item("t", &read("j")).await.unwrap();
        assert_eq!(j, Some(item("j", "new here")));
        assert_eq!(engine.describe_table("t".into()).await.unwrap().item_count, 2);
        engine.shutdown();
    }

    #[tokio::test]
    async fn a_local_put_wins_over_a_stored_version_stamped_ahead_of_our_clock() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open_engine(dir.path());
        engine.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
        let key = crate::model::key::encode_primary_key(&AttributeValue::S("k".into()), None);

        // A peer whose clock runs far beyond the maximum offset wrote first.
        // Applying it moved our clock past it, but a restart starts the
        // clock from the wall clock again, behind the stored version.
        let ahead_ns = u64::MAX / 2;
        let ahead = remote(1, ahead_ns, key.clone(), None, item("k", "ahead"));
        let deleted_key = crate::model::key::encode_primary_key(&AttributeValue::S("d".into()), None);
        let ahead_of_delete = remote(2, ahead_ns, deleted_key.clone(), None, item("d", "ahead"));
        let report = engine
            .apply_remote("eu-west-1".into(), vec![ahead.clone(), ahead_of_delete.clone()], Seq(2))
            .await
            .unwrap();
        assert_eq!(report.applied, 2);
        engine.shutdown();
        drop(engine);
        let engine = open_engine(dir.path());
        assert!(engine.hlc().wall_now_ns() < ahead_ns);

        // An unconditional PutItem here replaces it and says what it replaced.
        let outcome = engine
            .write_item("t".into(), ItemWrite::new(ItemOp::Put(item("k", "local"))))
            .await
            .unwrap();
        assert_eq!(outcome.old, Some(item("k", "ahead")));
        let local = last_own_item_change(&engine).await;
        assert!(local.version.ts.wall_ns >= ahead_ns, "{:?}", local.version);
        assert_eq!(local.old, Some(item("k", "ahead")));

        // What is stored carries that version: the remote write, shipped
        // again, loses to it.
        let report = engine
            .apply_remote("eu-west-1".into(), vec![(Seq(3), ahead.1)], Seq(3))
            .await
            .unwrap();
        assert_eq!((report.applied, report.conflicts), (0, 1));
        let read_key = Item::from([("pk".to_string(), AttributeValue::S("k".into()))]);
        let (_, stored) = engine.get_item("t", &read_key).await.unwrap();
        assert_eq!(stored, Some(item("k", "local")));

        // The same for an unconditional DeleteItem: its tombstone wins.
        let delete_key = Item::from([("pk".to_string(), AttributeValue::S("d".into()))]);
        let outcome = engine
            .write_item("t".into(), ItemWrite::new(ItemOp::Delete(delete_key.clone())))
            .await
            .unwrap();
        assert_eq!(outcome.old, Some(item("d", "ahead")));
        let local = last_own_item_change(&engine).await;
        assert!(local.version.ts.wall_ns >= ahead_ns, "{:?}", local.version);
        assert_eq!((local.old, local.new), (Some(item("d", "ahead")), None));
        let report = engine
            .apply_remote("eu-west-1".into(), vec![(Seq(4), ahead_of_delete.1)], Seq(4))
            .await
            .unwrap();
        assert_eq!((report.applied, report.conflicts), (0, 1));
        let (_, stored) = engine.get_item("t", &delete_key).await.unwrap();
        assert_eq!(stored, None);
        engine.shutdown();
    }

    #[tokio::test]
    async fn writes_and_applies_say_when_they_were_committed() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open_engine(dir.path());
        engine.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
        let now = || engine.hlc().wall_now_ns();

        // A local write's change-log entry: its shipper sends this time.
        let before = now();
        engine
            .write_item("t".into(), ItemWrite::new(ItemOp::Put(item("k", "local"))))
            .await
            .unwrap();
        let after = now();
        let last = *engine.subscribe_commits().borrow();
        let committed = engine.committed_at([last].into_iter())[0];
        assert!(
            before <= committed && committed <= after,
            "{before} <= {committed} <= {after}"
        );
        // Entries from before the region started have no known time.
        assert_eq!(engine.committed_at([Seq::ZERO].into_iter()), vec![0]);

        // A remote batch: its lag ends when the apply could be read, which
        // is no later than when it was durable.
        let key = crate::model::key::encode_primary_key(&AttributeValue::S("r".into()), None);
        let change = remote(1, now(), key, None, item("r", "remote"));
        let before = now();
        let queued = engine
            .queue_remote(super::Origin::from("eu-west-1"), vec![change], Seq::ZERO, Seq(1))
            .await
            .unwrap();
        let (report, times) = queued.wait_timed().await.unwrap();
        let after = now();
        assert_eq!(report.applied, 1);
        assert!(
            before <= times.visible_ns && times.visible_ns <= times.durable_ns && times.durable_ns <= after,
            "{before} <= {times:?} <= {after}"
        );
        engine.shutdown();
    }
}
