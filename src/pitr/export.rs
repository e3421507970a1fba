//! ExportTableToPointInTime into a local directory standing for S3:
//! `<export root>/<S3Bucket>/<S3Prefix>/AWSDynamoDB/<ExportId>/` receives
//! DynamoDB's export layout: `_started`, `manifest-files.json` (one line
//! per data file with its item count, MD5 and key, see `export_files.rs`),
//! `manifest-summary.json`, and a `.checksum` (MD5, hex) beside each
//! manifest. A full export writes its data files into `data/` beside them:
//! one row per item (`export_rows.rs`: DynamoDB JSON or Ion, gzip) of the
//! table's state at ExportTime, read from the PITR history like a restore.
//! An incremental export (`export_incremental.rs`) writes the changes of a
//! window into the data folder all exports under the prefix share,
//! `<S3Prefix>/AWSDynamoDB/data/`, as DynamoDB does.

use std::path::{Component, Path, PathBuf};

use serde_json::json;

use super::export_files::DataFiles;
use super::export_incremental::incremental_summary;
use super::export_record::{ExportRecord, ExportRequest};
use super::export_rows::item_row;
use super::{Pitr, PitrError, random_suffix, time};
use crate::clock::Timestamp;

const RECORD_PREFIX: &str = "export/";

/// A relative path made of plain components only (no `..`, no root), so
/// a bucket or prefix cannot escape the export root.
pub(super) fn safe_relative(text: &str, member: &str) -> Result<PathBuf, PitrError> {
    let path = Path::new(text.trim_matches('/'));
    if path.components().all(|c| matches!(c, Component::Normal(_))) {
        Ok(path.to_path_buf())
    } else {
        Err(PitrError::Validation(format!("Invalid {member}: {text}")))
    }
}

/// Why a region in memory refuses an export: it creates no file anywhere
/// unless told where exports may go.
const IN_MEMORY_EXPORT: &str = "This region keeps its data in memory (--in-memory) and writes no files: \
                                set pitr.export_root in its config to export tables to that directory";

impl Pitr {
    /// ExportTableToPointInTime: records the export IN_PROGRESS and writes
    /// it in the background.
    pub async fn export(&self, request: ExportRequest) -> Result<ExportRecord, PitrError> {
        if self.0.exports_refused {
            return Err(PitrError::Validation(IN_MEMORY_EXPORT.into()));
        }
        safe_relative(&request.bucket, "S3Bucket")?;
        if let Some(prefix) = &request.prefix {
            safe_relative(prefix, "S3Prefix")?;
        }
        if let Some(token) = &request.client_token {
            for existing in self.list_exports(None).await? {
                if existing.request.client_token.as_ref() == Some(token) {
                    if existing.request == request {
                        return Ok(existing);
                    }
                    return Err(PitrError::ExportConflict(format!(
                        "Export with ClientToken {token} already exists with different parameters"
                    )));
                }
            }
        }
        let (source, export_ns) = match &request.incremental {
            Some(spec) => self.incremental_window(&request.table, spec).await?,
            None => {
                self.point_in_window(
                    &request.table,
                    request.at_ns,
                    "Export time",
                    PitrError::InvalidExportTime,
                )
                .await?
            }
        };
        let start_ns = self.now_ns();
        let id = format!("{:014}-{}", start_ns / 1_000_000, random_suffix());
        let table_arn = source.table.arn(self.region());
        let base = match &request.prefix {
            Some(prefix) if !prefix.trim_matches('/').is_empty() => format!("{}/", prefix.trim_matches('/')),
            _ => String::new(),
        };
        let record = ExportRecord {
            arn: format!("{table_arn}/export/{id}"),
            manifest_key: format!("{base}AWSDynamoDB/{id}/manifest-summary.json"),
            id,
            request,
            table_arn,
            table_id: source.table.table_id.clone(),
            storage_id: source.table.storage_id,
            export_ns,
            start_ns,
            end_ns: None,
            status: "IN_PROGRESS".into(),
            failure: None,
            item_count: 0,
            billed_bytes: 0,
        };
        self.save_export(&record).await?;
        let this = self.clone();
        let job = record.clone();
        self.spawn(async move { this.run_export(job).await });
        Ok(record)
    }

    async fn save_export(&self, record: &ExportRecord) -> Result<(), PitrError> {
        let bytes = serde_json::to_vec(record).map_err(|e| PitrError::Corrupt(e.to_string()))?;
        self.engine()
            .put_pitr_record(format!("{RECORD_PREFIX}{}", record.id), Some(bytes), false)
            .await?;
        Ok(())
    }

    async fn run_export(&self, mut record: ExportRecord) {
        match self.write_export(&mut record).await {
            Ok(()) => record.status = "COMPLETED".into(),
            Err(error) => {
                tracing::error!(region = %self.region(), export = %record.arn, error = %error, "export failed");
                record.status = "FAILED".into();
                record.failure = Some(error.to_string());
            }
        }
        record.end_ns = Some(self.now_ns());
        if let Err(error) = self.write_summary(&record).await {
            record.status = "FAILED".into();
            record.failure = Some(error.to_string());
        }
        if let Err(error) = self.save_export(&record).await {
            tracing::error!(region = %self.region(), export = %record.arn, error = %error, "cannot record an export's end");
        }
    }

    /// The export's directory and its key prefix relative to the bucket.
    pub(super) fn export_dir(&self, record: &ExportRecord) -> (PathBuf, String) {
        let key = record
            .manifest_key
            .trim_end_matches("manifest-summary.json")
            .to_string();
        (self.0.export_root.join(&record.request.bucket).join(&key), key)
    }

    /// Writes `_started`, the data files and `manifest-files.json`.
    async fn write_export(&self, record: &mut ExportRecord) -> Result<(), PitrError> {
        let (items, bytes) = match record.request.incremental.clone() {
            Some(spec) => self.write_incremental(record, &spec).await?,
            None => self.write_full(record).await?,
        };
        record.item_count = items;
        record.billed_bytes = bytes;
        Ok(())
    }

    /// A full export's files: the table's items at ExportTime; returns the
    /// item count and their size.
    async fn write_full(&self, record: &ExportRecord) -> Result<(u64, u64), PitrError> {
        let (dir, key) = self.export_dir(record);
        let format = record.request.format;
        let at = Timestamp {
            wall_ns: record.export_ns,
            logical: u32::MAX,
        };
        let mut chunks = self.engine().state_at(
            record.request.table.clone(),
            record.storage_id,
            at,
            self.0.config.chunk_items,
        );
        let handle = tokio::task::spawn_blocking(move || -> Result<(u64, u64), PitrError> {
            let mut files = DataFiles::new(dir.join("data"), format!("{key}data/"), format.extension())?;
            std::fs::write(dir.join("_started"), b"")?;
            let (mut items, mut bytes) = (0u64, 0u64);
            while let Some(chunk) = chunks.blocking_recv() {
                for entry in chunk? {
                    let Some(item) = entry.decode().map_err(|e| PitrError::Engine(e.into()))?.item else {
                        continue;
                    };
                    files.push(&item_row(format, &item))?;
                    items += 1;
                    bytes += u64::from(entry.size);
                }
            }
            files.finish(&dir)?;
            Ok((items, bytes))
        });
        handle
            .await
            .map_err(|_| PitrError::Engine(crate::engine::EngineError::Stopped))?
    }

    /// Writes `manifest-summary.json` and its checksum.
    async fn write_summary(&self, record: &ExportRecord) -> Result<(), PitrError> {
        let (dir, key) = self.export_dir(record);
        let mut summary = json!({
            "version": "2020-06-30",
            "exportArn": record.arn,
            "startTime": time::format_rfc3339(record.start_ns),
            "endTime": time::format_rfc3339(record.end_ns.unwrap_or(record.start_ns)),
            "tableArn": record.table_arn,
            "tableId": record.table_id,
            "exportTime": time::format_rfc3339(record.export_ns),
            "s3Bucket": record.request.bucket,
            "s3Prefix": record.request.prefix,
            "s3SseAlgorithm": "AES256",
            "s3SseKmsKeyId": null,
            "manifestFilesS3Key": format!("{key}manifest-files.json"),
            "billedSizeBytes": record.billed_bytes,
            "itemCount": record.item_count,
            "outputFormat": record.request.format.name(),
            "exportType": "FULL_EXPORT",
        });
        if let Some(spec) = &record.request.incremental {
            incremental_summary(&mut summary, spec, record.export_ns);
        }
        let text = serde_json::to_string_pretty(&summary).map_err(|e| PitrError::Corrupt(e.to_string()))?;
        let write = move || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("manifest-summary.json"), &text)?;
            std::fs::write(
                dir.join("manifest-summary.checksum"),
                format!("{:x}", md5::compute(text.as_bytes())),
            )
        };
        tokio::task::spawn_blocking(write)
            .await
            .map_err(|_| PitrError::Engine(crate::engine::EngineError::Stopped))??;
        Ok(())
    }

    /// The export with this ARN.
    pub async fn describe_export(&self, arn: &str) -> Result<ExportRecord, PitrError> {
        self.record_by_arn(RECORD_PREFIX, "/export/", arn, |r: &ExportRecord| &r.arn)
            .await?
            .ok_or_else(|| PitrError::ExportNotFound(arn.to_string()))
    }

    /// Every export (of the table with `table_arn` only, when given), oldest first.
    pub async fn list_exports(&self, table_arn: Option<&str>) -> Result<Vec<ExportRecord>, PitrError> {
        self.job_records(RECORD_PREFIX, table_arn, |r: &ExportRecord| {
            (r.table_arn.as_str(), r.start_ns, r.id.as_str())
        })
        .await
    }

    /// Writes again every export a restart interrupted.
    pub(super) async fn resume_exports(&self) -> Result<(), PitrError> {
        for record in self.list_exports(None).await? {
            if record.status == "IN_PROGRESS" {
                let this = self.clone();
                self.spawn(async move { this.run_export(record).await });
            }
        }
        Ok(())
    }
}
