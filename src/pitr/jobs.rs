//! Resuming what a restart interrupted: restores start over on an emptied
//! target (loading is idempotent but the table's counters are not), backups
//! still CREATING are taken again, exports still IN_PROGRESS are written
//! again. Each kind keeps its state in the engine's named records, written
//! when the job starts, so nothing is lost between a request's answer and
//! the job's first step.

use super::restore::{JOB_PREFIX, RestoreJob};
use super::{Pitr, PitrError};
use crate::model::table::TableStatus;

/// Resumes every unfinished job of the region.
pub(super) async fn resume(pitr: &Pitr) -> Result<(), PitrError> {
    let engine = pitr.engine().clone();
    for (name, bytes) in engine.pitr_records(JOB_PREFIX.to_string()).await? {
        let job: RestoreJob = serde_json::from_slice(&bytes).map_err(|e| PitrError::Corrupt(e.to_string()))?;
        let creating = matches!(
            engine.describe_table(job.target.clone()).await,
            Ok(meta) if meta.status == TableStatus::Creating
        );
        if !creating {
            engine.put_pitr_record(name, None, false).await?;
            continue;
        }
        tracing::info!(region = %pitr.region(), table = %job.target, "resuming an interrupted restore");
        engine.reset_restore_target(job.target.clone()).await?;
        let this = pitr.clone();
        pitr.spawn(async move { this.run_restore(job).await });
    }
    pitr.resume_backups().await?;
    pitr.resume_exports().await?;
    Ok(())
}
