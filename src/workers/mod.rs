//! The region's background workers, under one model: each is a periodic
//! pass with a name, counters `/status` shows, a cursor it persists
//! through the engine where a pass can be interrupted (the TTL sweep's
//! position, the history collector's), and the region's one shutdown
//! signal, which every loop selects on. `Workers` lists the running ones:
//! `/status` and the region's shutdown both walk that list.
//!
//! - [`ttl`]: the Time to Live sweeper.
//! - [`trimmer`]: the change-log (and conflict-record) trimmer.
//! - [`history`]: the PITR history collector.
//! - [`index_backfill`]: fills secondary indexes created on live tables.
//!
//! Each pass waits an interval, runs, and counts passes and failed passes;
//! a pass that finds the engine stopped ends the loop, any other failure
//! is logged and the next interval tries again.

pub mod history;
pub mod index_backfill;
pub mod trimmer;
pub mod ttl;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::engine::EngineError;

/// What `/status` shows of a worker.
pub trait Report: Send + Sync + 'static {
    /// The worker's name and counters.
    fn report(&self) -> serde_json::Value;
}

/// A worker's pass, run every interval by `run_every`.
pub trait Pass: Send + Sync + 'static {
    /// The worker's name, in logs.
    fn name(&self) -> &'static str;

    /// Where passes and failed passes are counted (for `/status`).
    fn counters(&self) -> (&AtomicU64, &AtomicU64);

    /// One pass; it returns early once `shutdown` turns true.
    fn run<'a>(
        &'a self,
        shutdown: &'a watch::Receiver<bool>,
    ) -> impl Future<Output = Result<(), EngineError>> + Send + 'a;
}

/// Runs `worker`'s pass every `interval` until `shutdown` turns true.
pub async fn run_every(interval: Duration, worker: impl Pass, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            _ = tokio::time::sleep(interval) => {}
        }
        let (passes, errors) = worker.counters();
        match worker.run(&shutdown).await {
            Ok(()) => {
                passes.fetch_add(1, Ordering::Relaxed);
            }
            Err(EngineError::Stopped) => break,
            Err(error) => {
                errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, worker = worker.name(), "pass failed; retrying at the next interval");
            }
        }
    }
    tracing::debug!(worker = worker.name(), "stopped");
}

/// One running worker.
struct Running {
    name: &'static str,
    status: Arc<dyn Report>,
    task: JoinHandle<()>,
}

/// The region's running workers, in the order they started; they stop
/// (`join`, after the shutdown signal) in the same order.
#[derive(Default)]
pub struct Workers {
    running: Vec<Running>,
}

impl Workers {
    /// Starts `worker` every `interval` until `shutdown` turns true, in a
    /// span naming it and `region`; `status` is what `/status` shows of it.
    /// `watch` wraps the task (the region's supervisor: a panic stops the
    /// region).
    pub fn start(
        &mut self,
        region: &str,
        interval: Duration,
        worker: impl Pass,
        status: Arc<dyn Report>,
        shutdown: watch::Receiver<bool>,
        watch: impl FnOnce(&'static str, JoinHandle<()>) -> JoinHandle<()>,
    ) {
        let name = worker.name();
        let span = tracing::info_span!("worker", name, region = %region);
        let task = watch(
            name,
            tokio::spawn(run_every(interval, worker, shutdown).instrument(span)),
        );
        self.running.push(Running { name, status, task });
    }

    /// Every worker's status, in start order (what `/status` lists).
    pub fn statuses(&self) -> Vec<Arc<dyn Report>> {
        self.running.iter().map(|r| r.status.clone()).collect()
    }

    /// The workers' names, in start order.
    pub fn names(&self) -> Vec<&'static str> {
        self.running.iter().map(|r| r.name).collect()
    }

    /// Waits for every worker to stop (the shutdown signal must have been
    /// sent), in start order.
    pub async fn join(self) {
        for running in self.running {
            let _ = running.task.await;
            tracing::debug!(worker = running.name, "joined");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker that counts its passes and fails every other one.
    struct Counting {
        name: &'static str,
        status: Arc<CountingStatus>,
    }

    #[derive(Default)]
    struct CountingStatus {
        passes: AtomicU64,
        errors: AtomicU64,
        runs: AtomicU64,
    }

    impl Report for CountingStatus {
        fn report(&self) -> serde_json::Value {
            serde_json::json!({ "passes": self.passes.load(Ordering::Relaxed) })
        }
    }

    impl Pass for Counting {
        fn name(&self) -> &'static str {
            self.name
        }

        fn counters(&self) -> (&AtomicU64, &AtomicU64) {
            (&self.status.passes, &self.status.errors)
        }

        async fn run(&self, _: &watch::Receiver<bool>) -> Result<(), EngineError> {
            let run = self.status.runs.fetch_add(1, Ordering::Relaxed);
            if run % 2 == 1 {
                return Err(EngineError::Validation("every other pass fails".into()));
            }
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn workers_are_listed_in_start_order_count_their_passes_and_stop_together() {
        let (stop, shutdown) = watch::channel(false);
        let mut workers = Workers::default();
        let mut statuses = Vec::new();
        for name in ["first", "second"] {
            let status = Arc::new(CountingStatus::default());
            let worker = Counting {
                name,
                status: status.clone(),
            };
            let interval = Duration::from_secs(1);
            workers.start("r", interval, worker, status.clone(), shutdown.clone(), |_, task| task);
            statuses.push(status);
        }
        assert_eq!(workers.names(), ["first", "second"]);
        // Paused time: each sleep of the loops ends when every task waits.
        tokio::time::sleep(Duration::from_millis(4500)).await;
        for status in &statuses {
            assert_eq!(status.runs.load(Ordering::Relaxed), 4);
            assert_eq!(status.passes.load(Ordering::Relaxed), 2);
            assert_eq!(status.errors.load(Ordering::Relaxed), 2);
        }
        let reports: Vec<_> = workers.statuses().iter().map(|s| s.report()).collect();
        assert_eq!(
            reports,
            [serde_json::json!({"passes": 2}), serde_json::json!({"passes": 2})]
        );
        stop.send(true).unwrap();
        workers.join().await;
    }
}
