//! Change-log retention: a background worker that removes the change-log
//! entries no reader needs any more, so the log does not grow without end.
//!
//! Who reads the log, and what each still needs:
//! - streams: the entries of the last `streams.retention_secs`; older ones
//!   are already trimmed from the streams' point of view (`streams/mod.rs`);
//! - replication: every entry after the position each peer acknowledged.
//!   A peer that has not acknowledged anything since this region started
//!   (down, or not yet connected) holds everything back, but for no longer
//!   than `storage.log_hold_max_secs`: a peer that then asks for entries
//!   already removed is resynchronised from a snapshot (`engine::resync`);
//! - PITR keeps its own history, and reads no change-log entry.
//!
//! The same pass removes conflict records older than
//! `storage.conflict_retention_secs`, which nothing else bounds, and
//! forgets the streams of tables deleted longer than the streams'
//! retention ago.
//!
//! The last entry always stays: the next sequence number follows from it.
//! Entries are removed in small writer jobs, so foreground writes wait for
//! little, and each pass reports to `/status`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::{Pass, Report};
use crate::engine::{Engine, EngineError};
use crate::ids::Seq;
use crate::replication::status::PeerStatus;

/// The worker's name, in logs and status.
pub const WORKER: &str = "log-trimmer";

/// Most entries one writer job removes (about 2 ms of the writer here).
const TRIM_CHUNK: u64 = 1024;

/// What the trimmer has done, for status and tests.
#[derive(Debug, Default)]
pub struct TrimmerStatus {
    /// Completed passes.
    pub passes: AtomicU64,
    /// Change-log entries removed since start.
    pub trimmed: AtomicU64,
    /// Conflict records removed since start.
    pub conflicts_trimmed: AtomicU64,
    /// Passes that stopped on an error.
    pub errors: AtomicU64,
    /// The first entry kept after the last pass.
    pub first_kept: AtomicU64,
}

impl Report for TrimmerStatus {
    fn report(&self) -> serde_json::Value {
        serde_json::json!({
            "name": WORKER,
            "passes": self.passes.load(Ordering::Relaxed),
            "trimmed": self.trimmed.load(Ordering::Relaxed),
            "conflicts_trimmed": self.conflicts_trimmed.load(Ordering::Relaxed),
            "errors": self.errors.load(Ordering::Relaxed),
            "first_kept": self.first_kept.load(Ordering::Relaxed),
        })
    }
}

/// What the trimmer needs to know.
pub struct TrimmerSetup {
    pub engine: Engine,
    /// Time between passes.
    pub interval: Duration,
    /// How long streams keep their records.
    pub retention: Duration,
    /// Longest a peer holds entries back (zero: no limit).
    pub hold_max: Duration,
    /// How long conflict records are kept (zero: for ever).
    pub conflict_retention: Duration,
    /// Replication state, when the region replicates, and every peer of the
    /// topology (a peer missing from the state has acknowledged nothing).
    pub peers: Option<Arc<PeerStatus>>,
    pub peer_names: Vec<String>,
}

impl TrimmerSetup {
    /// A setup whose pass removes all of `engine`'s change log but its last
    /// entry: no retention, no peers holding anything back (benchmarks).
    pub fn keep_nothing(engine: Engine) -> TrimmerSetup {
        TrimmerSetup {
            engine,
            interval: Duration::ZERO,
            retention: Duration::ZERO,
            hold_max: Duration::ZERO,
            conflict_retention: Duration::ZERO,
            peers: None,
            peer_names: Vec::new(),
        }
    }
}

/// The trimmer as a periodic worker.
pub struct Trimmer {
    pub setup: TrimmerSetup,
    pub status: Arc<TrimmerStatus>,
}

impl Pass for Trimmer {
    fn name(&self) -> &'static str {
        WORKER
    }

    fn counters(&self) -> (&AtomicU64, &AtomicU64) {
        (&self.status.passes, &self.status.errors)
    }

    async fn run(&self, shutdown: &watch::Receiver<bool>) -> Result<(), EngineError> {
        pass(&self.setup, shutdown, &self.status).await
    }
}

/// The first log position some reader may still need: the streams' horizon
/// (`horizon`, the first entry younger than their retention) or the entry
/// after the one a peer acknowledged last, whichever comes first. A peer
/// holds back nothing before `hold_horizon` (the first entry younger than
/// the longest hold; 0 when there is no limit).
pub fn keep_from(horizon: Seq, acknowledged: impl IntoIterator<Item = Seq>, hold_horizon: Seq) -> Seq {
    acknowledged
        .into_iter()
        .map(|acked| acked.next().max(hold_horizon))
        .fold(horizon, Seq::min)
}

/// The first entry stamped after `age` ago.
async fn first_younger_than(engine: &Engine, age: Duration) -> Result<Seq, EngineError> {
    let age_ns = u64::try_from(age.as_nanos()).unwrap_or(u64::MAX);
    let cutoff_ns = engine.hlc().wall_now_ns().saturating_sub(age_ns);
    engine.first_seq_since(Seq(1), cutoff_ns).await
}

/// One pass: works out what to keep and removes what is before it.
pub async fn pass(
    setup: &TrimmerSetup,
    shutdown: &watch::Receiver<bool>,
    status: &TrimmerStatus,
) -> Result<(), EngineError> {
    let engine = &setup.engine;
    let horizon = first_younger_than(engine, setup.retention).await?;
    let hold_horizon = if setup.hold_max.is_zero() {
        Seq::ZERO
    } else {
        first_younger_than(engine, setup.hold_max).await?
    };
    let acknowledged = setup.peer_names.iter().map(|name| {
        let state = setup.peers.as_ref().and_then(|peers| peers.state(name));
        state.map_or(Seq::ZERO, |s| s.acked_seq)
    });
    let keep = keep_from(horizon, acknowledged, hold_horizon);
    let mut removed = 0;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let chunk = engine.trim_changes(keep, TRIM_CHUNK).await?;
        removed += chunk;
        status.trimmed.fetch_add(chunk, Ordering::Relaxed);
        if chunk < TRIM_CHUNK {
            break;
        }
        tokio::task::yield_now().await;
    }
    let (first, _) = engine.change_log_bounds().await?;
    status.first_kept.store(first.get(), Ordering::Relaxed);
    if removed > 0 {
        tracing::debug!(removed, %first, "trimmed the change log");
    }
    forget_deleted_streams(setup).await?;
    trim_conflicts(setup, shutdown, status).await
}

/// Forgets the streams of tables deleted longer than the retention ago:
/// every stream of theirs was disabled by then, so none is readable.
async fn forget_deleted_streams(setup: &TrimmerSetup) -> Result<(), EngineError> {
    let retention_ns = u64::try_from(setup.retention.as_nanos()).unwrap_or(u64::MAX);
    let before_ns = setup.engine.hlc().wall_now_ns().saturating_sub(retention_ns);
    let forgotten = setup.engine.forget_deleted_streams(before_ns).await?;
    if forgotten > 0 {
        tracing::debug!(forgotten, "forgot the streams of deleted tables");
    }
    Ok(())
}

/// Removes the conflict records older than the conflict retention.
async fn trim_conflicts(
    setup: &TrimmerSetup,
    shutdown: &watch::Receiver<bool>,
    status: &TrimmerStatus,
) -> Result<(), EngineError> {
    if setup.conflict_retention.is_zero() {
        return Ok(());
    }
    let retention_ns = u64::try_from(setup.conflict_retention.as_nanos()).unwrap_or(u64::MAX);
    let before_ns = setup.engine.hlc().wall_now_ns().saturating_sub(retention_ns);
    while !*shutdown.borrow() {
        let chunk = setup.engine.trim_conflicts(before_ns, TRIM_CHUNK).await?;
        status.conflicts_trimmed.fetch_add(chunk, Ordering::Relaxed);
        if chunk < TRIM_CHUNK {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `keep_from` over plain numbers.
    fn keep(horizon: u64, acked: &[u64], hold: u64) -> u64 {
        keep_from(Seq(horizon), acked.iter().copied().map(Seq), Seq(hold)).get()
    }

    #[test]
    fn the_earliest_need_of_any_reader_is_kept() {
        assert_eq!(keep(100, &[], 0), 100, "no peers: the streams' horizon");
        assert_eq!(keep(100, &[150, 40], 0), 41, "a peer behind holds entries back");
        assert_eq!(keep(100, &[150, 0], 0), 1, "a peer that acknowledged nothing keeps all");
        assert_eq!(keep(10, &[150, 99], 0), 10);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pass_forgets_deleted_tables_streams_past_their_retention() {
        use crate::clock::Hlc;
        use crate::config::StorageConfig;
        use crate::engine::{NewStream, NewTable};
        use crate::model::table_features::StreamViewType;

        let dir = tempfile::tempdir().unwrap();
        let hlc = Hlc::new(0, Duration::from_secs(1));
        let engine = Engine::open(dir.path(), "us-east-1", hlc, &StorageConfig::default()).unwrap();
        let stream = NewStream {
            view_type: StreamViewType::KeysOnly,
            shard_span: 100,
            retention_ms: 3_600_000,
        };
        for name in ["streamed", "plain"] {
            let mut table = NewTable::keyed_by_pk(name);
            table.stream = (name == "streamed").then(|| stream.clone());
            engine.create_table(table).await.unwrap();
            engine.delete_table(name.into()).await.unwrap();
        }
        let kept = engine.deleted_table_streams().await.unwrap();
        let names: Vec<_> = kept.iter().map(|meta| meta.name.as_str()).collect();
        assert_eq!(names, ["streamed"], "only a table with a stream leaves one");
        assert!(!kept[0].stream.as_ref().unwrap().enabled);

        let setup = TrimmerSetup {
            retention: Duration::from_secs(3600),
            ..TrimmerSetup::keep_nothing(engine.clone())
        };
        let (_stop, shutdown) = watch::channel(false);
        let status = TrimmerStatus::default();
        pass(&setup, &shutdown, &status).await.unwrap();
        assert_eq!(engine.deleted_table_streams().await.unwrap().len(), 1);
        engine.hlc().set_offset_ms(3_600_001).unwrap();
        pass(&setup, &shutdown, &status).await.unwrap();
        assert!(engine.deleted_table_streams().await.unwrap().is_empty());
        engine.shutdown();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pass_removes_the_conflict_records_past_their_retention() {
        use crate::clock::{Hlc, Timestamp};
        use crate::config::StorageConfig;
        use crate::engine::{ItemOp, ItemWrite, NewTable};
        use crate::model::{AttributeValue, Item};
        use crate::store::{Change, ChangeCause, ItemChange, Version};

        let dir = tempfile::tempdir().unwrap();
        let hlc = Hlc::new(0, Duration::from_secs(1));
        let engine = Engine::open(dir.path(), "us-east-1", hlc, &StorageConfig::default()).unwrap();
        engine.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
        let item = |pk: &str| Item::from([("pk".to_string(), AttributeValue::S(pk.into()))]);
        // A write `region` made at `wall_ns` without seeing any other.
        let remote = |region: &str, pk: &str, wall_ns: u64| {
            let version = Version {
                ts: Timestamp { wall_ns, logical: 0 },
                region: region.into(),
            };
            let key = crate::model::key::encode_primary_key(&AttributeValue::S(pk.into()), None);
            let change = ItemChange {
                table: "t".into(),
                key,
                version,
                old: None,
                new: Some(item(pk)),
                cause: ChangeCause::Client,
            };
            vec![(Seq(1), Change::Item(change))]
        };
        // Long ago, eu-west-1's write lost to ap-southeast-2's; just now, one
        // of eu-west-1's lost to ours.
        let apply = |origin: &str, changes| engine.apply_remote(origin.into(), changes, Seq(1));
        apply("ap-southeast-2", remote("ap-southeast-2", "old", 20))
            .await
            .unwrap();
        engine
            .write_item("t".into(), ItemWrite::new(ItemOp::Put(item("new"))))
            .await
            .unwrap();
        let now = engine.hlc().wall_now_ns();
        let changes = [
            remote("eu-west-1", "old", 10),
            remote("eu-west-1", "new", now - 1_000_000),
        ]
        .concat();
        let changes = changes
            .into_iter()
            .enumerate()
            .map(|(n, (_, c))| (Seq(n as u64 + 1), c))
            .collect();
        engine.apply_remote("eu-west-1".into(), changes, Seq(2)).await.unwrap();
        assert_eq!(engine.conflicts(None).await.unwrap().len(), 2);

        let setup = TrimmerSetup {
            retention: Duration::from_secs(3600),
            conflict_retention: Duration::from_secs(60),
            ..TrimmerSetup::keep_nothing(engine.clone())
        };
        let (_stop, shutdown) = watch::channel(false);
        let status = TrimmerStatus::default();
        pass(&setup, &shutdown, &status).await.unwrap();
        let kept = engine.conflicts(None).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].loser_item, Some(item("new")));
        assert_eq!(status.conflicts_trimmed.load(Ordering::Relaxed), 1);
        engine.shutdown();
    }

    #[test]
    fn a_peer_holds_entries_back_no_longer_than_the_longest_hold() {
        assert_eq!(keep(100, &[150, 0], 30), 30, "past the hold, trimmed all the same");
        assert_eq!(keep(100, &[150, 40], 30), 41, "within the hold, kept");
        assert_eq!(keep(20, &[150, 0], 30), 20, "the streams' horizon still comes first");
    }
}
