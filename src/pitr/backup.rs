//! On-demand backups: a consistent snapshot of a table (one redb read
//! transaction) written to `<data dir>/backups/<id>.mbk` (in memory for a
//! region with no files: see `backup_files.rs`), described by a named
//! record in the engine. Backups outlive the table, so a backup can be
//! restored after its table was deleted.
//!
//! File layout: `MBK1`, then frames of a big-endian u32 length and a bincode
//! `Vec<(encoded key, ItemRecord)>` of live items. A backup is written to a
//! temporary name, synced, renamed, and only then marked AVAILABLE.

use std::io::Read;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Pitr, PitrError, random_suffix};
use crate::engine::SYSTEM_BACKUP_NS;
use crate::model::TableMeta;
use crate::store::ItemRecord;

const MAGIC: &[u8; 4] = b"MBK1";
const RECORD_PREFIX: &str = "backup/";
/// Largest frame a reader accepts (a chunk of items is far smaller).
const MAX_FRAME: usize = 1 << 30;

/// A backup's lifecycle, as DynamoDB names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupStatus {
    Creating,
    Available,
}

impl BackupStatus {
    /// DynamoDB's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::Creating => "CREATING",
            BackupStatus::Available => "AVAILABLE",
        }
    }
}

/// What is known about one backup.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackupRecord {
    /// `<creation ms, 14 digits>-<8 hex>`, the last part of the ARN.
    pub id: String,
    pub arn: String,
    pub name: String,
    /// The source table's description when the backup was requested.
    pub table: TableMeta,
    pub status: BackupStatus,
    pub created_ns: u64,
    /// Bytes of the backup file.
    pub size_bytes: u64,
    pub item_count: u64,
    /// USER (CreateBackup) or SYSTEM (kept by DeleteTable); records
    /// written before system backups existed are USER.
    #[serde(default)]
    pub kind: BackupKind,
}

/// Who made a backup, and so what it holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupKind {
    /// CreateBackup: a file of the table's items.
    #[default]
    User,
    /// DeleteTable of a table with point-in-time recovery on: the table's
    /// history up to its deletion at `deleted_ns`, kept for
    /// 35 days (`SYSTEM_BACKUP_NS`; see `Engine::system_backups`).
    System { deleted_ns: u64 },
}

impl BackupKind {
    /// DynamoDB's BackupType.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::User => "USER",
            BackupKind::System { .. } => "SYSTEM",
        }
    }
}

impl BackupRecord {
    /// When a system backup expires (ns since the epoch); `None` for others.
    pub fn expires_ns(&self) -> Option<u64> {
        match self.kind {
            BackupKind::System { deleted_ns } => Some(deleted_ns.saturating_add(SYSTEM_BACKUP_NS)),
            BackupKind::User => None,
        }
    }

    /// The system backup deleted table `meta` left at `deleted_ns`, in this
    /// `region`.
    fn system(meta: TableMeta, deleted_ns: u64, region: &str) -> BackupRecord {
        let id = format!("{:014}-{:08x}", deleted_ns / 1_000_000, meta.storage_id.0);
        BackupRecord {
            arn: format!("{}/backup/{id}", meta.arn(region)),
            id,
            name: format!("{}$DeletedTableBackup", meta.name),
            status: BackupStatus::Available,
            created_ns: deleted_ns,
            size_bytes: meta.size_bytes,
            item_count: meta.item_count,
            kind: BackupKind::System { deleted_ns },
            table: meta,
        }
    }
}

/// One chunk read back from a backup file.
type BackupChunk = Vec<(Vec<u8>, ItemRecord)>;

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, PitrError> {
    serde_json::to_vec(value).map_err(|e| PitrError::Corrupt(e.to_string()))
}

impl Pitr {
    /// CreateBackup: records the backup CREATING and writes it in the
    /// background.
    pub async fn create_backup(&self, table: &str, name: String) -> Result<BackupRecord, PitrError> {
        let meta = self
            .engine()
            .describe_table(table.to_string())
            .await
            .map_err(PitrError::table(table))?;
        let created_ns = self.now_ns();
        let id = format!("{:014}-{}", created_ns / 1_000_000, random_suffix());
        let record = BackupRecord {
            arn: format!("{}/backup/{id}", meta.arn(self.region())),
            id,
            name,
            table: meta,
            status: BackupStatus::Creating,
            created_ns,
            size_bytes: 0,
            item_count: 0,
            kind: BackupKind::User,
        };
        self.save_backup(&record, true).await?;
        let this = self.clone();
        let job = record.clone();
        self.spawn(async move { this.write_backup(job).await });
        Ok(record)
    }

    async fn save_backup(&self, record: &BackupRecord, only_new: bool) -> Result<(), PitrError> {
        let name = format!("{RECORD_PREFIX}{}", record.id);
        self.engine()
            .put_pitr_record(name, Some(encode(record)?), only_new)
            .await?;
        Ok(())
    }

    /// Takes the snapshot and writes the file; marks the backup AVAILABLE.
    async fn write_backup(&self, mut record: BackupRecord) {
        let outcome = self.write_backup_file(&record).await;
        match outcome {
            Ok((size, items)) => {
                record.status = BackupStatus::Available;
                record.size_bytes = size;
                record.item_count = items;
                if let Err(error) = self.save_backup(&record, false).await {
                    tracing::error!(region = %self.region(), backup = %record.arn, error = %error, "cannot record a finished backup");
                    return;
                }
                tracing::info!(region = %self.region(), backup = %record.arn, items, bytes = size, "backup available");
            }
            Err(error) => {
                tracing::error!(region = %self.region(), backup = %record.arn, error = %error, "backup failed; removing it");
                let name = format!("{RECORD_PREFIX}{}", record.id);
                let _ = self.engine().put_pitr_record(name, None, false).await;
            }
        }
    }

    async fn write_backup_file(&self, record: &BackupRecord) -> Result<(u64, u64), PitrError> {
        let mut chunks = self
            .engine()
            .snapshot(record.table.name.clone(), self.0.config.chunk_items);
        let (this, id, table) = (self.clone(), record.id.clone(), record.table.name.clone());
        let handle = tokio::task::spawn_blocking(move || -> Result<(u64, u64), PitrError> {
            this.0.backups.write(&id, |out| {
                out.write_all(MAGIC)?;
                let mut items = 0u64;
                while let Some(chunk) = chunks.blocking_recv() {
                    let Some(chunk) = chunk? else {
                        return Err(PitrError::TableNotFound(table));
                    };
                    let live: BackupChunk = chunk.into_iter().filter(|(_, r)| r.item.is_some()).collect();
                    items += live.len() as u64;
                    let body = bincode::serde::encode_to_vec(&live, bincode::config::standard())
                        .map_err(|e| PitrError::Corrupt(e.to_string()))?;
                    out.write_all(&(body.len() as u32).to_be_bytes())?;
                    out.write_all(&body)?;
                }
                Ok(items)
            })
        });
        handle
            .await
            .map_err(|_| PitrError::Engine(crate::engine::EngineError::Stopped))?
    }

    /// Streams the items of a backup file.
    pub(super) fn read_backup(&self, id: &str) -> mpsc::Receiver<Result<BackupChunk, PitrError>> {
        let (tx, rx) = mpsc::channel(4);
        let (this, id) = (self.clone(), id.to_string());
        tokio::task::spawn_blocking(move || {
            let result = (|| -> Result<(), PitrError> {
                let mut input = this.0.backups.open(&id)?;
                let mut magic = [0u8; 4];
                input.read_exact(&mut magic)?;
                if &magic != MAGIC {
                    return Err(PitrError::Corrupt(format!("backup {id} is not a backup file")));
                }
                let mut len = [0u8; 4];
                loop {
                    match input.read_exact(&mut len) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                        Err(e) => return Err(e.into()),
                    }
                    let len = u32::from_be_bytes(len) as usize;
                    if len > MAX_FRAME {
                        return Err(PitrError::Corrupt("backup frame too large".into()));
                    }
                    let mut body = vec![0u8; len];
                    input.read_exact(&mut body)?;
                    let (chunk, _): (BackupChunk, _) =
                        bincode::serde::decode_from_slice(&body, bincode::config::standard())
                            .map_err(|e| PitrError::Corrupt(e.to_string()))?;
                    if tx.blocking_send(Ok(chunk)).is_err() {
                        return Ok(());
                    }
                }
            })();
            if let Err(error) = result {
                let _ = tx.blocking_send(Err(error));
            }
        });
        rx
    }

    /// The backup with this ARN.
    pub async fn backup(&self, arn: &str) -> Result<BackupRecord, PitrError> {
        if let Some(record) = self
            .record_by_arn(RECORD_PREFIX, "/backup/", arn, |r: &BackupRecord| &r.arn)
            .await?
        {
            return Ok(record);
        }
        let system = self.system_backups().await?;
        system
            .into_iter()
            .find(|record| record.arn == arn)
            .ok_or_else(|| PitrError::BackupNotFound(arn.to_string()))
    }

    /// The system backups deleted tables left.
    async fn system_backups(&self) -> Result<Vec<BackupRecord>, PitrError> {
        let kept = self.engine().system_backups().await?;
        let (region, now_ns) = (self.region(), self.now_ns());
        let backups = kept
            .into_iter()
            .map(|(meta, deleted_ns)| BackupRecord::system(meta, deleted_ns, region));
        // An expired one is gone, whether or not the collector has been by.
        Ok(backups
            .filter(|b| b.expires_ns().is_some_and(|at| at > now_ns))
            .collect())
    }

    /// Every backup (of `table` only, when given), oldest first: those
    /// CreateBackup made and the system backups deleted tables left.
    pub async fn list_backups(&self, table: Option<&str>) -> Result<Vec<BackupRecord>, PitrError> {
        let mut out: Vec<BackupRecord> = self.json_records(RECORD_PREFIX).await?;
        out.extend(self.system_backups().await?);
        out.retain(|record| table.is_none_or(|t| t == record.table.name));
        out.sort_by(|a, b| (a.created_ns, &a.id).cmp(&(b.created_ns, &b.id)));
        Ok(out)
    }

    /// DeleteBackup: removes the record, then the file (a system backup:
    /// the history it kept).
    pub async fn delete_backup(&self, arn: &str) -> Result<BackupRecord, PitrError> {
        let record = self.backup(arn).await?;
        if record.status != BackupStatus::Available {
            return Err(PitrError::BackupInUse(arn.to_string()));
        }
        if let BackupKind::System { .. } = record.kind {
            if !self.engine().delete_system_backup(record.table.storage_id).await? {
                return Err(PitrError::BackupNotFound(arn.to_string()));
            }
            return Ok(record);
        }
        self.engine()
            .put_pitr_record(format!("{RECORD_PREFIX}{}", record.id), None, false)
            .await?;
        self.0.backups.remove(&record.id)?;
        Ok(record)
    }

    /// Takes again every backup a restart interrupted.
    pub(super) async fn resume_backups(&self) -> Result<(), PitrError> {
        for record in self.list_backups(None).await? {
            if record.status == BackupStatus::Creating {
                let this = self.clone();
                self.spawn(async move { this.write_backup(record).await });
            }
        }
        Ok(())
    }
}
