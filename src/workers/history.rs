//! The PITR history collector: a worker that, every `gc_interval_secs`,
//! walks the history of each table with PITR on and removes the versions no
//! restore in the window can need (see `WriteTables::collect_history`). It
//! works in chunks through the engine's writer, so writes keep flowing, and
//! saves its position after each chunk (`gc/<storage id>`) so a restart
//! resumes the pass where it stopped. Collection is idempotent: redoing a
//! stretch is harmless. Each pass also deletes the system backups (the
//! history deleted tables left) older than 35 days.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::{Pass, Report};
use crate::clock::Timestamp;
use crate::config::PitrConfig;
use crate::engine::{Engine, EngineError};

/// The worker's name, in logs and status.
pub const WORKER: &str = "pitr-history-collector";

/// Versions looked at per writer job.
const CHUNK: usize = 20_000;
/// Extra history kept before the window start, so a restore validated just
/// before a pass never finds its versions collected under it.
const SLACK_NS: u64 = 60 * 1_000_000_000;

/// What the collector has done, for status and tests.
#[derive(Debug, Default)]
pub struct CollectorStatus {
    /// Completed passes over every table with PITR on.
    pub passes: AtomicU64,
    /// Versions removed since start.
    pub removed: AtomicU64,
    /// Passes that stopped on an error.
    pub errors: AtomicU64,
}

impl Report for CollectorStatus {
    fn report(&self) -> serde_json::Value {
        serde_json::json!({
            "name": WORKER,
            "passes": self.passes.load(Ordering::Relaxed),
            "removed": self.removed.load(Ordering::Relaxed),
            "errors": self.errors.load(Ordering::Relaxed),
        })
    }
}

/// The collector as a periodic worker.
pub struct Collector {
    pub engine: Engine,
    pub config: PitrConfig,
    pub status: Arc<CollectorStatus>,
}

impl Collector {
    /// Time between passes.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.config.gc_interval_secs)
    }
}

impl Pass for Collector {
    fn name(&self) -> &'static str {
        WORKER
    }

    fn counters(&self) -> (&AtomicU64, &AtomicU64) {
        (&self.status.passes, &self.status.errors)
    }

    async fn run(&self, shutdown: &watch::Receiver<bool>) -> Result<(), EngineError> {
        pass(&self.engine, &self.config, shutdown, &self.status).await
    }
}

/// One pass over every table with PITR on.
pub async fn pass(
    engine: &Engine,
    config: &PitrConfig,
    shutdown: &watch::Receiver<bool>,
    status: &CollectorStatus,
) -> Result<(), EngineError> {
    let expired = engine.expire_system_backups(engine.hlc().wall_now_ns()).await?;
    if expired > 0 {
        tracing::info!(region = %engine.region(), expired, "system backups of deleted tables expired");
    }
    let lag_ns = config.latest_lag_ms * 1_000_000;
    for (meta, settings) in engine.pitr_tables().await? {
        let (earliest, _) = settings.window(engine.hlc().wall_now_ns(), lag_ns);
        let window_start = Timestamp {
            wall_ns: earliest.saturating_sub(SLACK_NS),
            logical: u32::MAX,
        };
        let cursor_name = format!("gc/{:016x}", meta.storage_id);
        let mut cursor = engine.pitr_record(cursor_name.clone()).await?;
        let mut removed = 0;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let (next, counts) = engine
                .collect_history(meta.storage_id, cursor.take(), window_start, CHUNK)
                .await?;
            removed += counts.removed;
            status.removed.fetch_add(counts.removed, Ordering::Relaxed);
            engine.put_pitr_record(cursor_name.clone(), next.clone(), false).await?;
            match next {
                Some(key) => cursor = Some(key),
                None => break,
            }
        }
        tracing::debug!(region = %engine.region(), table = %meta.name, removed, "PITR history collected");
    }
    Ok(())
}
