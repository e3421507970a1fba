//! The history collector: a worker that, every `gc_interval_secs`, walks the
//! history of each table with PITR on and removes the versions no restore
//! in the window can need (see `WriteTables::collect_history`). It works in
//! chunks through the engine's writer, so writes keep flowing, and saves its
//! position after each chunk (`gc/<storage id>`) so a restart resumes the
//! pass where it stopped. Collection is idempotent: redoing a stretch is
//! harmless.

use std::time::Duration;

use super::Pitr;
use crate::clock::Timestamp;

/// Versions looked at per writer job.
const CHUNK: usize = 20_000;
/// Extra history kept before the window start, so a restore validated just
/// before a pass never finds its versions collected under it.
const SLACK_NS: u64 = 60 * 1_000_000_000;

/// Runs passes until the service stops (the caller selects on that).
pub(super) async fn run(pitr: Pitr) {
    let interval = Duration::from_secs(pitr.0.config.gc_interval_secs);
    loop {
        tokio::time::sleep(interval).await;
        if let Err(error) = pass(&pitr).await {
            tracing::warn!(region = %pitr.region(), error = %error, "PITR history collection failed; retrying next interval");
        }
    }
}

/// One pass over every table with PITR on.
pub(super) async fn pass(pitr: &Pitr) -> Result<(), super::PitrError> {
    let engine = pitr.engine();
    for (meta, settings) in engine.pitr_tables().await? {
        let (earliest, _) = settings.window(pitr.now_ns(), pitr.lag_ns());
        let window_start = Timestamp {
            wall_ns: earliest.saturating_sub(SLACK_NS),
            logical: u32::MAX,
        };
        let cursor_name = format!("gc/{:016x}", meta.storage_id);
        let mut cursor = engine.pitr_record(cursor_name.clone()).await?;
        let mut removed = 0;
        loop {
            let (next, counts) = engine
                .collect_history(meta.storage_id, cursor.take(), window_start, CHUNK)
                .await?;
            removed += counts.removed;
            engine.put_pitr_record(cursor_name.clone(), next.clone(), false).await?;
            match next {
                Some(key) => cursor = Some(key),
                None => break,
            }
        }
        tracing::debug!(region = %pitr.region(), table = %meta.name, removed, "PITR history collected");
    }
    Ok(())
}
