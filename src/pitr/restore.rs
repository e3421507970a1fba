//! RestoreTableToPointInTime and RestoreTableFromBackup: checks, then a
//! background job that fills the CREATING target in chunks and turns it
//! ACTIVE. A failed restore deletes its target, as DynamoDB does.

use serde::{Deserialize, Serialize};

use super::{Pitr, PitrError};
use crate::clock::Timestamp;
use crate::engine::history_record;
use crate::engine::{EngineError, NewTable, SseChange};
use crate::ids::StorageId;
use crate::model::table::BillingMode;
use crate::model::table_settings::{ClassSetting, TableSettings};
use crate::model::{SecondaryIndex, TableMeta};

/// Prefix of the named records of unfinished restores (`job/restore/<target>`).
pub(super) const JOB_PREFIX: &str = "job/restore/";

/// What a restore asks for, validated by the API layer.
#[derive(Clone, Debug)]
pub struct RestoreRequest {
    /// Source table (PITR) name.
    pub source: String,
    pub target: String,
    /// Restore time, ns since the epoch; `None` for the latest restorable.
    pub at_ns: Option<u64>,
    /// BillingModeOverride / ProvisionedThroughputOverride.
    pub billing: Option<BillingMode>,
    /// The indexes, when overridden (else the source's).
    pub indexes: Option<Vec<SecondaryIndex>>,
    /// SSESpecificationOverride (else the source's encryption).
    pub sse: Option<SseChange>,
}

/// Where a restore's items come from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) enum Source {
    /// The history of a table (by storage id, so a re-created table of the
    /// same name is never read instead), at a time.
    History {
        table: String,
        storage_id: StorageId,
        at_ns: u64,
    },
    /// An on-demand backup.
    Backup { id: String },
}

/// An unfinished restore, stored beside the target's creation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct RestoreJob {
    pub target: String,
    pub source: Source,
}

impl RestoreJob {
    pub(super) fn record_name(&self) -> String {
        format!("{JOB_PREFIX}{}", self.target)
    }
}

/// A restore's BillingModeOverride (with ProvisionedThroughputOverride),
/// index overrides and SSESpecificationOverride.
type Overrides = (Option<BillingMode>, Option<Vec<SecondaryIndex>>, Option<SseChange>);

/// The restored table's recorded settings: the source's table class and
/// encryption in this region, or the encryption `sse` asks for.
fn restored_settings(source: &TableMeta, region: &str, sse: Option<SseChange>) -> Option<Box<TableSettings>> {
    let from = source.settings();
    let mut settings = TableSettings::default();
    if let Some(class) = from.class(region) {
        settings.classes.insert(
            region.to_string(),
            ClassSetting {
                updated_ms: None,
                ..*class
            },
        );
    }
    let key = match sse {
        None => from.kms.as_ref().map(|keys| keys.get(region).cloned()),
        Some(SseChange::Owned) => None,
        Some(SseChange::Kms(key)) => Some(key),
    };
    settings.kms = key.map(|key| key.map(|k| (region.to_string(), k)).into_iter().collect());
    (settings != TableSettings::default()).then(|| Box::new(settings))
}

/// The restored table's description and when it is restored to (ns).
pub type Restored = (TableMeta, u64);

impl Pitr {
    /// RestoreTableToPointInTime: checks the source, its PITR window and the
    /// target, then starts the restore; the target is returned CREATING.
    pub async fn restore_to_point_in_time(&self, request: RestoreRequest) -> Result<Restored, PitrError> {
        let (source, at_ns) = self
            .point_in_window(
                &request.source,
                request.at_ns,
                "Restore time",
                PitrError::InvalidRestoreTime,
            )
            .await?;
        let job = RestoreJob {
            target: request.target.clone(),
            source: Source::History {
                table: source.table.name.clone(),
                storage_id: source.table.storage_id,
                at_ns,
            },
        };
        let meta = self
            .start_restore(&source.table, (request.billing, request.indexes, request.sse), job)
            .await?;
        Ok((meta, at_ns))
    }

    /// The current description of table `name` (a restore's source).
    pub async fn source_table(&self, name: &str) -> Result<TableMeta, PitrError> {
        self.engine()
            .describe_table(name.to_string())
            .await
            .map_err(|e| match e {
                crate::engine::EngineError::TableNotFound(_) => PitrError::TableNotFound(name.to_string()),
                other => PitrError::Engine(other),
            })
    }

    /// RestoreTableFromBackup: the target is returned CREATING.
    pub async fn restore_from_backup(
        &self,
        backup_arn: &str,
        target: String,
        billing: Option<BillingMode>,
        indexes: Option<Vec<SecondaryIndex>>,
        sse: Option<SseChange>,
    ) -> Result<(TableMeta, super::BackupRecord), PitrError> {
        let backup = self.backup(backup_arn).await?;
        if backup.status != super::BackupStatus::Available {
            return Err(PitrError::BackupInUse(backup_arn.to_string()));
        }
        let source = match backup.kind {
            // The state just before the deletion.
            super::BackupKind::System { deleted_ns } => Source::History {
                table: backup.table.name.clone(),
                storage_id: backup.table.storage_id,
                at_ns: deleted_ns.saturating_sub(1),
            },
            super::BackupKind::User => Source::Backup { id: backup.id.clone() },
        };
        let job = RestoreJob { target, source };
        let meta = self.start_restore(&backup.table, (billing, indexes, sse), job).await?;
        Ok((meta, backup))
    }

    /// Creates the target (with the source's key schema, billing and
    /// indexes, unless overridden) together with its job record, and runs
    /// the job. The indexes are rebuilt from the restored items as they
    /// are loaded.
    async fn start_restore(
        &self,
        source: &TableMeta,
        (billing, indexes, sse): Overrides,
        job: RestoreJob,
    ) -> Result<TableMeta, PitrError> {
        let settings = restored_settings(source, self.region(), sse);
        let indexes = indexes.unwrap_or_else(|| source.indexes.clone());
        let used = |name: &str| {
            source.key_schema.names().any(|n| n == name)
                || indexes.iter().any(|i| i.key_schema.names().any(|n| n == name))
        };
        let spec = NewTable {
            name: job.target.clone(),
            key_schema: source.key_schema.clone(),
            attribute_definitions: source
                .attribute_definitions
                .iter()
                .filter(|d| used(&d.name))
                .cloned()
                .collect(),
            billing: billing.unwrap_or_else(|| source.billing.clone()),
            tags: Default::default(),
            stream: None,
            indexes,
            on_demand: source.on_demand.clone(),
            settings,
        };
        let record = serde_json::to_vec(&job).map_err(|e| PitrError::Corrupt(e.to_string()))?;
        let meta = self
            .engine()
            .create_restore_target(spec, (job.record_name(), record))
            .await
            .map_err(|e| match e {
                EngineError::TableExists(name) => PitrError::TableAlreadyExists(name),
                other => PitrError::Engine(other),
            })?;
        tracing::info!(region = %self.region(), table = %job.target, "restore started");
        let this = self.clone();
        self.spawn(async move { this.run_restore(job).await });
        Ok(meta)
    }

    /// Fills the target, then turns it ACTIVE; on failure deletes it.
    pub(super) async fn run_restore(&self, job: RestoreJob) {
        let outcome = match &job.source {
            Source::History {
                table,
                storage_id,
                at_ns,
            } => self.load_from_history(&job.target, table, *storage_id, *at_ns).await,
            Source::Backup { id } => self.load_from_backup(&job.target, id).await,
        };
        let finished = match outcome {
            Ok(items) => self
                .engine()
                .finish_restore(job.target.clone())
                .await
                .map(|_| items)
                .map_err(PitrError::from),
            Err(error) => Err(error),
        };
        match finished {
            Ok(items) => tracing::info!(region = %self.region(), table = %job.target, items, "restore finished"),
            Err(error) => {
                tracing::error!(region = %self.region(), table = %job.target, error = %error, "restore failed; deleting its target");
                let _ = self.engine().delete_table(job.target.clone()).await;
            }
        }
        let _ = self.engine().put_pitr_record(job.record_name(), None, false).await;
    }

    async fn load_from_history(
        &self,
        target: &str,
        table: &str,
        storage_id: StorageId,
        at_ns: u64,
    ) -> Result<u64, PitrError> {
        // Everything stamped within the restore instant counts, whatever its
        // logical counter.
        let at = Timestamp {
            wall_ns: at_ns,
            logical: u32::MAX,
        };
        let mut chunks = self
            .engine()
            .state_at(table.to_string(), storage_id, at, self.0.config.chunk_items);
        let mut items = 0;
        while let Some(chunk) = chunks.recv().await {
            let records = chunk?.into_iter().map(history_record).collect::<Result<Vec<_>, _>>()?;
            items += records.len() as u64;
            self.engine().load_records(target.to_string(), records).await?;
        }
        Ok(items)
    }

    async fn load_from_backup(&self, target: &str, id: &str) -> Result<u64, PitrError> {
        let mut chunks = self.read_backup(id);
        let mut items = 0;
        while let Some(chunk) = chunks.recv().await {
            let records = chunk?;
            items += records.len() as u64;
            self.engine().load_records(target.to_string(), records).await?;
        }
        Ok(items)
    }
}
