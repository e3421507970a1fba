//! The index backfill: a background worker that fills each secondary index
//! created on a live table (UpdateTable `GlobalSecondaryIndexUpdates`
//! `Create`, locally or in another region) with the entries of the items
//! written before it existed.
//!
//! Each step is the next run of the table's items, their entries computed
//! from a snapshot off the writer and sorted by entry key
//! (`Engine::prepare_backfill`), then writer jobs of a batch each
//! (`Engine::enqueue_backfill`) that store them (recomputing those of the
//! items written since the snapshot), the run's last one moving the
//! index's cursor in its commit: a restart resumes where the last run
//! ended, so no item is missed or entered twice.
//! Client writes wait for at most one batch and its group's commit
//! (batches are background jobs of the writer, run when no client write
//! waits, several to a commit until one does). The last
//! step marks the index ACTIVE in this region.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Pass, Report};
use crate::engine::{BackfillFrom, BackfillStep, Engine, EngineError, PreparedRun};

/// The worker's name, in logs and status.
pub const WORKER: &str = "index-backfill";

/// Backfill batches submitted to the writer at a time: enough for two of
/// the writer's groups of background jobs, so it has the next group while
/// the one before waits for its log sync. Not a whole run: batches queued
/// longer than the writer's `BACKGROUND_MAX_WAIT` would go ahead of client
/// writes.
const IN_FLIGHT: usize = 64;

/// How often the worker looks for indexes to fill.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// What the backfill has done, for status and tests.
#[derive(Debug, Default)]
pub struct BackfillStatus {
    pub passes: AtomicU64,
    pub errors: AtomicU64,
    /// Table items looked at since start.
    pub looked_at: AtomicU64,
    /// Index entries added since start.
    pub added: AtomicU64,
    /// Indexes completed since start.
    pub completed: AtomicU64,
    /// The index being filled, as "table/index" (empty when idle).
    pub current: Mutex<String>,
    /// Table items looked at for the current index since this process
    /// took it up (a restart resumes from the index's cursor and counts
    /// from 0 again).
    pub current_looked_at: AtomicU64,
}

impl Report for BackfillStatus {
    fn report(&self) -> serde_json::Value {
        let current = self.current.lock().map(|c| c.clone()).unwrap_or_default();
        serde_json::json!({
            "name": WORKER,
            "passes": self.passes.load(Ordering::Relaxed),
            "errors": self.errors.load(Ordering::Relaxed),
            "items_looked_at": self.looked_at.load(Ordering::Relaxed),
            "entries_added": self.added.load(Ordering::Relaxed),
            "indexes_completed": self.completed.load(Ordering::Relaxed),
            "current": current,
            "current_items_looked_at": self.current_looked_at.load(Ordering::Relaxed),
        })
    }
}

/// The backfill as a periodic worker.
pub struct Backfill {
    pub engine: Engine,
    pub status: Arc<BackfillStatus>,
}

impl Backfill {
    fn set_current(&self, value: String) {
        if let Ok(mut current) = self.status.current.lock() {
            *current = value;
        }
    }

    /// Fills one index to the end (or until shutdown), with up to
    /// `IN_FLIGHT` batches queued for the writer at a time: the next run is
    /// prepared from a snapshot while the writer stores the one before it
    /// (see `engine::PreparedRun`), and starts where the one before it
    /// ends. A batch that found the stored cursor elsewhere (`redone`)
    /// makes the rest be prepared again from the cursor.
    async fn fill(&self, table: &str, index: &str, shutdown: &watch::Receiver<bool>) -> Result<(), EngineError> {
        self.status.current_looked_at.store(0, Ordering::Relaxed);
        self.set_current(format!("{table}/{index}"));
        let mut next_run = Some(self.prepare(table, index, BackfillFrom::Cursor));
        let mut batches = VecDeque::new();
        let mut in_flight = VecDeque::new();
        loop {
            if batches.is_empty()
                && !*shutdown.borrow()
                && let Some(run) = next_run.take()
                && let Some(run) = run.await.map_err(|_| EngineError::Stopped)??
            {
                if !run.is_last() {
                    next_run = Some(self.prepare(table, index, run.next_from()));
                }
                batches.extend(run.into_batches());
            }
            while in_flight.len() < IN_FLIGHT
                && !*shutdown.borrow()
                && let Some(batch) = batches.pop_front()
            {
                in_flight.push_back(self.engine.enqueue_backfill(batch).await?);
            }
            let Some(next) = in_flight.pop_front() else { break };
            let done = next.wait().await?;
            self.count(&done, table, index);
            if done.finished || done.looked_at == 0 || done.redone {
                // Complete, gone (deleted meanwhile), or off the prepared
                // path: the batches still queued finish or redo their part,
                // and the next ones start from the stored cursor.
                for rest in in_flight.drain(..) {
                    self.count(&rest.wait().await?, table, index);
                }
                if done.finished || done.looked_at == 0 {
                    break;
                }
                batches.clear();
                next_run = Some(self.prepare(table, index, BackfillFrom::Cursor));
            }
        }
        self.set_current(String::new());
        Ok(())
    }

    /// Prepares the run of `index` of `table` from `from` on a task of its
    /// own, so it is ready when the writer has stored the run before it.
    fn prepare(
        &self,
        table: &str,
        index: &str,
        from: BackfillFrom,
    ) -> JoinHandle<Result<Option<PreparedRun>, EngineError>> {
        let (engine, table, index) = (self.engine.clone(), table.to_string(), index.to_string());
        tokio::spawn(async move { engine.prepare_backfill(table, index, from).await })
    }

    /// Adds one step's work to the status.
    fn count(&self, done: &BackfillStep, table: &str, index: &str) {
        let looked_at = done.looked_at as u64;
        self.status.looked_at.fetch_add(looked_at, Ordering::Relaxed);
        self.status.added.fetch_add(done.added as u64, Ordering::Relaxed);
        self.status.current_looked_at.fetch_add(looked_at, Ordering::Relaxed);
        if done.finished {
            self.status.completed.fetch_add(1, Ordering::Relaxed);
            tracing::info!(table, index, "index backfill finished");
        }
    }
}

impl Pass for Backfill {
    fn name(&self) -> &'static str {
        WORKER
    }

    fn counters(&self) -> (&AtomicU64, &AtomicU64) {
        (&self.status.passes, &self.status.errors)
    }

    async fn run(&self, shutdown: &watch::Receiver<bool>) -> Result<(), EngineError> {
        for (table, index) in self.engine.indexes_being_backfilled().await? {
            if *shutdown.borrow() {
                break;
            }
            self.fill(&table, &index, shutdown).await?;
        }
        Ok(())
    }
}
