//! Point-in-time recovery, on-demand backups and exports.
//!
//! # Design: versioned history beside the items
//!
//! For a table with PITR on, every version the region applies *or receives*
//! is kept in a `history` redb table keyed by (storage id, primary key, HLC
//! timestamp, origin region), written by the engine in the same transaction
//! as the item itself (see `store/history.rs`). Local writes, replicated
//! writes that win, replicated writes that *lose* last-writer-wins (they may
//! still be the winner at an earlier time), late writes with old timestamps
//! and snapshot merges all land there. So the state at time T, "the LWW
//! merge of every write stamped at or before T known to this region", is one
//! ordered range scan that keeps, per key, the last version <= T. Two regions
//! that have received the same writes hold the same history and restore the
//! same table.
//!
//! Why not periodic snapshots plus the change log: the change log keeps only
//! what was applied (a replicated loser never enters it), and a restore would
//! replay log entries in arrival order rather than timestamp order; versioned
//! items make a restore a single sequential read with no replay, cost one
//! extra redb insert per write, and nothing for tables without PITR.
//!
//! Turning PITR on copies the table's current records into the history (the
//! window starts then: EarliestRestorableDateTime is when PITR was enabled,
//! or now minus the recovery period, whichever is later). Turning it off
//! drops the history. The collector (`gc.rs`) keeps, per key, the newest
//! version at or before the window start (unless it is a tombstone) plus
//! everything after it, so disk use is bounded by the table plus the writes
//! of the window; `/admin/pitr` reports the versions and bytes kept per
//! table. Deleting a table (or this region's replica) drops its history.
//!
//! Restores (`restore.rs`) create the target table CREATING, load it in
//! chunks through the engine's writer while the source keeps serving, and
//! turn it ACTIVE; a restore interrupted by a restart starts over. On-demand
//! backups (`backup.rs`) are consistent snapshots written to files under the
//! region's data directory (kept in memory by a region in memory), so they
//! survive the table. Exports (`export.rs`; rows in `export_rows.rs`, files
//! in `export_files.rs`, change windows in `export_incremental.rs`) write
//! DynamoDB's S3 export layout, full or incremental, DynamoDB JSON or Ion,
//! into a local directory; imports
//! (`import.rs`, `import_source.rs`) create a table from such a directory
//! or from CSV or DynamoDB JSON files.
//! Secondary indexes do not exist yet, so there are none to restore.

mod backup;
mod backup_files;
mod error;
mod export;
mod export_files;
mod export_incremental;
mod export_record;
mod export_rows;
mod import;
mod import_ion;
mod import_source;
mod jobs;
mod restore;
pub mod time;
mod zstd_frames;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use backup::{BackupKind, BackupRecord, BackupStatus};
pub use error::PitrError;
pub use export_record::{ExportRecord, ExportRequest, IncrementalRequest};
pub use export_rows::{ExportFormat, ExportView};
pub use import::{ImportRecord, ImportRequest};
pub use import_source::{CsvOptions, InputCompression, InputFormat};
pub use restore::RestoreRequest;

use crate::config::PitrConfig;
use crate::engine::Engine;
use crate::engine::PitrSettings;
use crate::model::TableMeta;

/// What DescribeContinuousBackups reports for a table.
#[derive(Clone, Debug)]
pub struct ContinuousBackups {
    pub table: TableMeta,
    pub settings: Option<PitrSettings>,
    /// (earliest, latest) restorable wall-clock ns, when PITR is on.
    pub window: Option<(u64, u64)>,
}

struct Inner {
    engine: Engine,
    config: PitrConfig,
    /// Where the backups' bytes are kept.
    backups: backup_files::BackupFiles,
    /// Where exports go (and imports read from).
    export_root: PathBuf,
    /// Whether exports are refused: a region in memory creates no file,
    /// unless an `export_root` is configured for its exports.
    exports_refused: bool,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// The region's PITR service: settings, restores, backups, exports and the
/// history collector. Cheap to clone.
#[derive(Clone)]
pub struct Pitr(Arc<Inner>);

impl Pitr {
    /// The service for `engine`, keeping files under `data_dir` (none
    /// when the engine's store is in memory). Call `start` to run its
    /// workers.
    pub fn new(engine: Engine, config: PitrConfig, data_dir: PathBuf) -> Pitr {
        let in_memory = engine.in_memory();
        let exports_refused = in_memory && config.export_root.is_empty();
        let export_root = if config.export_root.is_empty() {
            data_dir.join("exports")
        } else {
            PathBuf::from(&config.export_root)
        };
        let backups = backup_files::BackupFiles::new(&data_dir, in_memory);
        let (stop, _) = watch::channel(false);
        Pitr(Arc::new(Inner {
            engine,
            config,
            backups,
            export_root,
            exports_refused,
            stop,
            tasks: Mutex::new(Vec::new()),
        }))
    }

    /// Resumes the restores, backups, exports and imports a restart
    /// interrupted (the history collector is a worker:
    /// `crate::workers::history`). Awaited before the region serves its
    /// API: a job a client starts meanwhile would otherwise be found
    /// unfinished too and run twice.
    pub async fn start(&self) {
        if let Err(error) = jobs::resume(self).await {
            tracing::error!(region = %self.0.engine.region(), error = %error, "cannot resume PITR jobs");
        }
    }

    /// Runs `task` until it finishes or the service stops.
    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut stopped = self.0.stop.subscribe();
        let handle = tokio::spawn(async move {
            tokio::select! {
                _ = task => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        });
        let mut tasks = self.0.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// Stops the collector and every job (an interrupted job resumes at the
    /// next start) and waits for them.
    pub async fn shutdown(&self) {
        let _ = self.0.stop.send(true);
        let tasks = std::mem::take(&mut *self.0.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            let _ = task.await;
        }
    }

    fn engine(&self) -> &Engine {
        &self.0.engine
    }

    fn region(&self) -> &str {
        self.0.engine.region()
    }

    /// The region this service runs in.
    pub fn region_name(&self) -> &str {
        self.0.engine.region()
    }

    /// The wall clock now, ns (with the region's simulated offset).
    fn now_ns(&self) -> u64 {
        self.0.engine.hlc().wall_now_ns()
    }

    fn lag_ns(&self) -> u64 {
        self.0.config.latest_lag_ms * 1_000_000
    }

    /// DescribeContinuousBackups.
    pub async fn describe(&self, table: &str) -> Result<ContinuousBackups, PitrError> {
        let (table, settings) = self
            .engine()
            .pitr_settings(table.to_string())
            .await
            .map_err(PitrError::table(table))?;
        let window = settings.as_ref().map(|s| s.window(self.now_ns(), self.lag_ns()));
        Ok(ContinuousBackups {
            table,
            settings,
            window,
        })
    }

    /// UpdateContinuousBackups.
    pub async fn update(
        &self,
        table: &str,
        enabled: bool,
        recovery_days: Option<u32>,
    ) -> Result<ContinuousBackups, PitrError> {
        self.engine()
            .set_pitr(table.to_string(), enabled, recovery_days)
            .await
            .map_err(PitrError::table(table))?;
        self.describe(table).await
    }

    /// Checks that `table` has PITR on and that `at_ns` (the latest
    /// restorable time when `None`) is in its window; `bad_time` builds the
    /// error for a time outside it, `what` names the time in its message.
    async fn point_in_window(
        &self,
        table: &str,
        at_ns: Option<u64>,
        what: &str,
        bad_time: fn(String) -> PitrError,
    ) -> Result<(ContinuousBackups, u64), PitrError> {
        let source = self.describe(table).await?;
        let Some((earliest, latest)) = source.window else {
            return Err(PitrError::PitrUnavailable(table.to_string()));
        };
        let at_ns = at_ns.unwrap_or(latest);
        if at_ns < earliest || at_ns > latest {
            return Err(bad_time(format!(
                "{what} {} is not between EarliestRestorableDateTime {} and LatestRestorableDateTime {}",
                time::format_rfc3339(at_ns),
                time::format_rfc3339(earliest),
                time::format_rfc3339(latest)
            )));
        }
        Ok((source, at_ns))
    }

    /// The JSON record `<prefix><id>` for an ARN ending in `<marker><id>`,
    /// if `arn_of` it is that ARN.
    async fn record_by_arn<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
        marker: &str,
        arn: &str,
        arn_of: fn(&T) -> &str,
    ) -> Result<Option<T>, PitrError> {
        let Some((_, id)) = arn.rsplit_once(marker) else {
            return Ok(None);
        };
        let Some(bytes) = self.engine().pitr_record(format!("{prefix}{id}")).await? else {
            return Ok(None);
        };
        let record: T = serde_json::from_slice(&bytes).map_err(|e| PitrError::Corrupt(e.to_string()))?;
        Ok((arn_of(&record) == arn).then_some(record))
    }

    /// Every JSON record whose name starts with `prefix`.
    async fn json_records<T: serde::de::DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>, PitrError> {
        let mut out = Vec::new();
        for (_, bytes) in self.engine().pitr_records(prefix.to_string()).await? {
            out.push(serde_json::from_slice(&bytes).map_err(|e| PitrError::Corrupt(e.to_string()))?);
        }
        Ok(out)
    }

    /// Every JSON record whose name starts with `prefix` (of the table with
    /// `table_arn` only, when given), oldest first; `key` gives a record's
    /// table ARN, start (ns) and id.
    async fn job_records<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
        table_arn: Option<&str>,
        key: for<'a> fn(&'a T) -> (&'a str, u64, &'a str),
    ) -> Result<Vec<T>, PitrError> {
        let mut out: Vec<T> = self.json_records(prefix).await?;
        out.retain(|record| table_arn.is_none_or(|t| t == key(record).0));
        out.sort_by(|a, b| {
            let ((_, a_start, a_id), (_, b_start, b_id)) = (key(a), key(b));
            (a_start, a_id).cmp(&(b_start, b_id))
        });
        Ok(out)
    }

    /// What `/admin/pitr` shows: per table with PITR on, its window and the
    /// history kept; and the backups kept.
    pub async fn status(&self) -> Result<Value, PitrError> {
        let mut tables = Vec::new();
        for (meta, settings) in self.engine().pitr_tables().await? {
            let (versions, bytes) = self.engine().history_size(meta.storage_id).await?;
            let (earliest, latest) = settings.window(self.now_ns(), self.lag_ns());
            tables.push(json!({
                "table": meta.name,
                "recovery_period_days": settings.recovery_days,
                "earliest_restorable": time::format_rfc3339(earliest),
                "latest_restorable": time::format_rfc3339(latest),
                "history_versions": versions,
                "history_bytes": bytes,
                "table_bytes": meta.size_bytes,
            }));
        }
        let backups = self.list_backups(None).await?;
        let backup_bytes: u64 = backups.iter().map(|b| b.size_bytes).sum();
        Ok(json!({
            "region": self.region(),
            "tables": tables,
            "backups": backups.len(),
            "backup_bytes": backup_bytes,
        }))
    }
}

/// A short random hex suffix for backup and export ids.
fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:08x}", hasher.finish() as u32)
}
