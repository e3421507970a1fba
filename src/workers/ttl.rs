//! The Time to Live sweeper: a background worker that deletes items whose
//! TTL attribute (a Number of epoch seconds) is in the past.
//!
//! Which region sweeps: the table's first ACTIVE replica in region-name
//! order (`owner`). Every region computes the same owner from the same
//! replicated description, so exactly one region deletes, and its deletes
//! replicate to the others as ordinary deletes (LWW tombstones). While the
//! owner is down nothing is swept; expired items are still returned by
//! reads until deleted, as in DynamoDB.
//!
//! How it deletes: it reads a page of records (`scan_batch`), then deletes
//! the expired ones in small writes (`delete_batch` keys per writer job,
//! one job in flight, yielding between jobs), so foreground writes queue
//! behind at most one small job. Each delete re-checks expiry inside the
//! commit, so an item rewritten since it was read is left alone, and is
//! logged with `ChangeCause::TimeToLive` (a service delete in streams).
//!
//! The sweep's position in a table (the last key read) is stored after each
//! page as the worker's cursor, so after a restart it resumes there; a
//! finished pass clears it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::{Pass, Report};
use crate::config::TtlConfig;
use crate::engine::{Engine, EngineError};
use crate::model::table::{Replica, ReplicaStatus};

/// The worker's name, in logs and status.
pub const WORKER: &str = "ttl-sweeper";

/// What the sweeper has done, for status and tests.
#[derive(Debug, Default)]
pub struct SweeperStatus {
    /// Completed sweeps over every table.
    pub passes: AtomicU64,
    /// Items deleted since start.
    pub deleted: AtomicU64,
    /// Sweeps that stopped on an error.
    pub errors: AtomicU64,
}

impl Report for SweeperStatus {
    fn report(&self) -> serde_json::Value {
        serde_json::json!({
            "name": WORKER,
            "passes": self.passes.load(Ordering::Relaxed),
            "deleted": self.deleted.load(Ordering::Relaxed),
            "errors": self.errors.load(Ordering::Relaxed),
        })
    }
}

/// The region that sweeps a table with these replicas: its first ACTIVE
/// replica by name.
pub fn owner(replicas: &[Replica]) -> Option<&str> {
    replicas
        .iter()
        .filter(|r| r.status == ReplicaStatus::Active)
        .map(|r| r.region.as_str())
        .min()
}

/// The sweeper as a periodic worker.
pub struct Sweeper {
    pub engine: Engine,
    pub config: TtlConfig,
    pub status: Arc<SweeperStatus>,
}

impl Sweeper {
    /// Time between sweeps.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.config.sweep_interval_ms)
    }
}

impl Pass for Sweeper {
    fn name(&self) -> &'static str {
        WORKER
    }

    fn counters(&self) -> (&AtomicU64, &AtomicU64) {
        (&self.status.passes, &self.status.errors)
    }

    async fn run(&self, shutdown: &watch::Receiver<bool>) -> Result<(), EngineError> {
        sweep(&self.engine, &self.config, shutdown, &self.status).await
    }
}

fn now_secs(engine: &Engine) -> f64 {
    engine.hlc().wall_now_ns() as f64 / 1e9
}

/// One pass over every table this region sweeps.
async fn sweep(
    engine: &Engine,
    config: &TtlConfig,
    shutdown: &watch::Receiver<bool>,
    status: &SweeperStatus,
) -> Result<(), EngineError> {
    for name in engine.list_tables(None, usize::MAX).await? {
        let meta = match engine.describe_table(name.clone()).await {
            Ok(meta) => meta,
            Err(EngineError::TableNotFound(_)) => continue,
            Err(other) => return Err(other),
        };
        let enabled = meta.ttl.as_ref().is_some_and(|t| t.enabled);
        if !enabled || owner(&meta.replicas) != Some(engine.region()) {
            continue;
        }
        // Resume where a pass over this table (this incarnation of it)
        // stopped, also across restarts.
        let cursor_name = format!("{WORKER}/{}", meta.table_id);
        let mut cursor = engine.worker_cursor(cursor_name.clone()).await?;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let now = now_secs(engine);
            let (keys, next) = engine
                .expired_keys(name.clone(), cursor.clone(), config.scan_batch, now)
                .await?;
            for chunk in keys.chunks(config.delete_batch) {
                let deleted = engine.expire_items(name.clone(), chunk.to_vec(), now).await?;
                status.deleted.fetch_add(deleted as u64, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
            if !keys.is_empty() {
                tracing::debug!(table = %name, expired = keys.len(), "TTL deletes");
            }
            match next {
                Some(key) => {
                    engine.set_worker_cursor(cursor_name.clone(), Some(key.clone())).await?;
                    cursor = Some(key);
                }
                None => {
                    if cursor.is_some() {
                        engine.set_worker_cursor(cursor_name, None).await?;
                    }
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::table::Replica;

    #[test]
    fn the_first_active_replica_by_name_owns_the_sweep() {
        let replica = |region: &str, status| Replica {
            region: region.into(),
            status,
        };
        let replicas = [
            replica("us-east-1", ReplicaStatus::Active),
            replica("ap-southeast-2", ReplicaStatus::Creating),
            replica("eu-west-1", ReplicaStatus::Active),
        ];
        assert_eq!(owner(&replicas), Some("eu-west-1"));
        assert_eq!(owner(&replicas[1..2]), None);
    }
}
