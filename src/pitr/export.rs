//! ExportTableToPointInTime into a local directory standing for S3:
//! `<export root>/<S3Bucket>/<S3Prefix>/AWSDynamoDB/<ExportId>/` receives
//! DynamoDB's full-export layout: `_started`, `data/*.json.gz` (one
//! `{"Item": ...}` DynamoDB JSON line per item, gzip), `manifest-files.json`
//! (one line per data file with its item count, MD5 and key),
//! `manifest-summary.json`, and a `.checksum` (MD5, hex) beside each
//! manifest. The items are the table's state at ExportTime, read from the
//! PITR history like a restore.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Pitr, PitrError, random_suffix, time};
use crate::clock::Timestamp;
use crate::ids::StorageId;
use crate::model::item_to_json;

const RECORD_PREFIX: &str = "export/";
/// Items per data file.
const ITEMS_PER_FILE: u64 = 100_000;

/// What ExportTableToPointInTime asks for, validated by the API layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub table: String,
    /// ExportTime, ns; `None` for the latest restorable time.
    pub at_ns: Option<u64>,
    pub bucket: String,
    pub prefix: Option<String>,
    pub client_token: Option<String>,
}

/// An export's state, as DescribeExport reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportRecord {
    /// `<start ms, 14 digits>-<8 hex>`, the last part of the ARN.
    pub id: String,
    pub arn: String,
    pub request: ExportRequest,
    pub table_arn: String,
    pub table_id: String,
    pub storage_id: StorageId,
    pub export_ns: u64,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub status: String,
    pub failure: Option<String>,
    pub item_count: u64,
    pub billed_bytes: u64,
    /// Key of `manifest-summary.json` relative to the bucket.
    pub manifest_key: String,
}

/// A data file being written: its name, gzip stream and item count.
type DataFile = (String, GzEncoder<Md5Writer<std::io::BufWriter<std::fs::File>>>, u64);

/// A writer that keeps the MD5 of what passes through it.
struct Md5Writer<W> {
    inner: W,
    md5: md5::Context,
}

impl<W: Write> Write for Md5Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.consume(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

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
        let (source, export_ns) = self
            .point_in_window(
                &request.table,
                request.at_ns,
                "Export time",
                PitrError::InvalidExportTime,
            )
            .await?;
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
    fn export_dir(&self, record: &ExportRecord) -> (PathBuf, String) {
        let key = record
            .manifest_key
            .trim_end_matches("manifest-summary.json")
            .to_string();
        (self.0.export_root.join(&record.request.bucket).join(&key), key)
    }

    /// Writes `_started` and the data files, then `manifest-files.json`.
    async fn write_export(&self, record: &mut ExportRecord) -> Result<(), PitrError> {
        let (dir, key) = self.export_dir(record);
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
            std::fs::create_dir_all(dir.join("data"))?;
            std::fs::write(dir.join("_started"), b"")?;
            let mut manifest = Vec::new();
            let mut file: Option<DataFile> = None;
            let (mut items, mut bytes) = (0u64, 0u64);
            let mut finish = |file: Option<DataFile>| -> Result<(), PitrError> {
                if let Some((name, gz, count)) = file {
                    let writer: Md5Writer<std::io::BufWriter<std::fs::File>> = gz.finish()?;
                    let digest = writer.md5.finalize();
                    writer.inner.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                    let line = json!({
                        "itemCount": count,
                        "md5Checksum": base64::engine::general_purpose::STANDARD.encode(digest.0),
                        "etag": format!("{digest:x}"),
                        "dataFileS3Key": format!("{key}data/{name}"),
                    });
                    manifest.push(line.to_string());
                }
                Ok(())
            };
            while let Some(chunk) = chunks.blocking_recv() {
                for entry in chunk? {
                    let Some(item) = entry.decode().map_err(|e| PitrError::Engine(e.into()))?.item else {
                        continue;
                    };
                    if file.as_ref().is_some_and(|f| f.2 >= ITEMS_PER_FILE) {
                        finish(file.take())?;
                    }
                    if file.is_none() {
                        let name = format!("{}{}.json.gz", random_suffix(), random_suffix());
                        let out = std::io::BufWriter::new(std::fs::File::create(dir.join("data").join(&name))?);
                        let writer = Md5Writer {
                            inner: out,
                            md5: md5::Context::new(),
                        };
                        file = Some((name, GzEncoder::new(writer, Compression::fast()), 0));
                    }
                    if let Some((_, gz, count)) = file.as_mut() {
                        let line = json!({ "Item": item_to_json(&item) });
                        serde_json::to_writer(&mut *gz, &line).map_err(|e| PitrError::Corrupt(e.to_string()))?;
                        gz.write_all(b"\n")?;
                        *count += 1;
                    }
                    items += 1;
                    bytes += u64::from(entry.size);
                }
            }
            finish(file.take())?;
            let text = manifest.iter().map(|l| format!("{l}\n")).collect::<String>();
            std::fs::write(dir.join("manifest-files.json"), &text)?;
            std::fs::write(
                dir.join("manifest-files.checksum"),
                format!("{:x}", md5::compute(text.as_bytes())),
            )?;
            Ok((items, bytes))
        });
        let (items, bytes) = handle
            .await
            .map_err(|_| PitrError::Engine(crate::engine::EngineError::Stopped))??;
        record.item_count = items;
        record.billed_bytes = bytes;
        Ok(())
    }

    /// Writes `manifest-summary.json` and its checksum.
    async fn write_summary(&self, record: &ExportRecord) -> Result<(), PitrError> {
        let (dir, key) = self.export_dir(record);
        let summary = json!({
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
            "outputFormat": "DYNAMODB_JSON",
            "exportType": "FULL_EXPORT",
        });
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
