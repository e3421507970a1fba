//! The loop every periodic background worker runs (the TTL sweeper, the
//! change-log trimmer): wait an interval, run a pass, count passes and
//! failed passes, and stop when the region stops. A pass that finds the
//! engine stopped ends the loop too; any other failure is logged and the
//! next interval tries again.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::engine::EngineError;

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
