//! ImportTable, DescribeImport and ListImports: a new table filled from
//! files under the export root (`S3Bucket` names a directory there, as it
//! does for exports), in the background. The table is created CREATING
//! together with the import's record, loaded in batches through the
//! engine's writer (each item checked as a PutItem would check it; bad rows
//! are counted in ErrorCount and logged, not fatal), and turned ACTIVE in
//! the commit that marks the import COMPLETED (or FAILED with
//! ItemValidationError when some rows were bad, as DynamoDB does). An
//! import whose bucket does not exist FAILS and its table is deleted. A
//! restart starts an unfinished import over on its emptied table.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::export::safe_relative;
use super::import_source::{
    CsvOptions, InputCompression, InputFormat, Row, RowFormat, SourceError, read_file, source_files,
};
use super::{Pitr, PitrError, random_suffix};
use crate::engine::NewTable;
use crate::model::table::{TableStatus, table_arn};
use crate::model::{ScalarType, TableMeta};

const RECORD_PREFIX: &str = "import/";

/// FailureCode and FailureMessage of an import some of whose rows were not
/// imported, as DynamoDB's import documentation gives them.
const ITEM_VALIDATION_ERROR: (&str, &str) = (
    "ItemValidationError",
    "Some of the items failed validation checks and were not imported. Please check CloudWatch error logs for more details.",
);

/// What ImportTable asks for, validated by the API layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportRequest {
    pub bucket: String,
    pub bucket_owner: Option<String>,
    pub prefix: Option<String>,
    pub format: InputFormat,
    /// InputFormatOptions.Csv, as given.
    pub csv: Option<CsvOptions>,
    /// Read from `gzip`, a flag, in records stored before ZSTD was read.
    #[serde(alias = "gzip", deserialize_with = "compression_or_gzip_flag")]
    pub compression: InputCompression,
    /// TableCreationParameters as sent (echoed by DescribeImport).
    pub table_parameters: serde_json::Value,
    pub client_token: Option<String>,
}

/// An `InputCompression`, or the `gzip` flag older records hold instead.
fn compression_or_gzip_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<InputCompression, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Named(InputCompression),
        GzipFlag(bool),
    }
    Ok(match Stored::deserialize(d)? {
        Stored::Named(compression) => compression,
        Stored::GzipFlag(true) => InputCompression::Gzip,
        Stored::GzipFlag(false) => InputCompression::None,
    })
}

/// An import's state, as DescribeImport reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportRecord {
    /// `<start ms, 14 digits>-<8 hex>`, the last part of the ARN.
    pub id: String,
    pub arn: String,
    pub table: String,
    pub table_arn: String,
    pub table_id: String,
    pub request: ImportRequest,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub status: String,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub processed_items: u64,
    pub imported_items: u64,
    pub errors: u64,
    pub processed_bytes: u64,
}

impl ImportRecord {
    fn name(&self) -> String {
        format!("{RECORD_PREFIX}{}", self.id)
    }

    fn bytes(&self) -> Result<Vec<u8>, PitrError> {
        serde_json::to_vec(self).map_err(|e| PitrError::Corrupt(e.to_string()))
    }

    /// Starts the counters over (a restarted import).
    fn reset(&mut self) {
        self.processed_items = 0;
        self.imported_items = 0;
        self.errors = 0;
        self.processed_bytes = 0;
    }
}

/// Why an import failed: its FailureCode and FailureMessage.
struct Failure(String, String);

impl From<PitrError> for Failure {
    fn from(error: PitrError) -> Failure {
        Failure("InternalError".into(), error.to_string())
    }
}

impl From<crate::engine::EngineError> for Failure {
    fn from(error: crate::engine::EngineError) -> Failure {
        PitrError::from(error).into()
    }
}

impl Pitr {
    /// ImportTable: creates the table `spec` CREATING and starts filling it.
    pub async fn import_table(&self, request: ImportRequest, spec: NewTable) -> Result<ImportRecord, PitrError> {
        safe_relative(&request.bucket, "S3Bucket")?;
        if let Some(prefix) = request.prefix.as_deref().filter(|p| !p.trim_matches('/').is_empty()) {
            safe_relative(prefix, "S3KeyPrefix")?;
        }
        if let Some(existing) = self.import_by_token(&request).await? {
            return Ok(existing);
        }
        let start_ns = self.now_ns();
        let id = format!("{:014}-{}", start_ns / 1_000_000, random_suffix());
        let table_arn = table_arn(self.region(), &spec.name);
        let mut record = ImportRecord {
            arn: format!("{table_arn}/import/{id}"),
            id,
            table: spec.name.clone(),
            table_arn,
            table_id: String::new(),
            request,
            start_ns,
            end_ns: None,
            status: "IN_PROGRESS".into(),
            failure_code: None,
            failure_message: None,
            processed_items: 0,
            imported_items: 0,
            errors: 0,
            processed_bytes: 0,
        };
        let meta = self
            .engine()
            .create_restore_target(spec, (record.name(), record.bytes()?))
            .await?;
        record.table_id = meta.table_id;
        self.save_import(&record).await?;
        tracing::info!(region = %self.region(), table = %record.table, import = %record.arn, "import started");
        let this = self.clone();
        let job = record.clone();
        self.spawn(async move { this.run_import(job).await });
        Ok(record)
    }

    /// The import an earlier request with the same ClientToken started, if
    /// it asked for the same; ImportConflict if it asked for something else.
    async fn import_by_token(&self, request: &ImportRequest) -> Result<Option<ImportRecord>, PitrError> {
        let Some(token) = &request.client_token else {
            return Ok(None);
        };
        let existing = self.list_imports(None).await?;
        match existing.into_iter().find(|r| r.request.client_token.as_ref() == Some(token)) {
            Some(record) if record.request == *request => Ok(Some(record)),
            Some(_) => Err(PitrError::ImportConflict(
                "There was a conflict when importing from the specified S3 source. This can occur when the current import conflicts with a previous import request that had the same client token.".into(),
            )),
            None => Ok(None),
        }
    }

    async fn save_import(&self, record: &ImportRecord) -> Result<(), PitrError> {
        self.engine()
            .put_pitr_record(record.name(), Some(record.bytes()?), false)
            .await?;
        Ok(())
    }

    /// Fills the table, then turns it ACTIVE with the finished record:
    /// COMPLETED, or FAILED with ItemValidationError when some rows were
    /// not imported (DynamoDB keeps the table and the rows that were); when
    /// the source cannot be read at all, records FAILED and deletes the
    /// table.
    async fn run_import(&self, mut record: ImportRecord) {
        let outcome = self.load_import(&mut record).await;
        record.end_ns = Some(self.now_ns());
        let Err(Failure(code, message)) = outcome else {
            record.status = "COMPLETED".into();
            if record.errors > 0 {
                record.status = "FAILED".into();
                record.failure_code = Some(ITEM_VALIDATION_ERROR.0.into());
                record.failure_message = Some(ITEM_VALIDATION_ERROR.1.into());
            }
            let finished = match record.bytes() {
                Ok(bytes) => {
                    self.engine()
                        .finish_import(record.table.clone(), (record.name(), bytes))
                        .await
                }
                Err(error) => return tracing::error!(import = %record.arn, error = %error, "cannot record an import"),
            };
            match finished {
                Ok(()) => tracing::info!(
                    region = %self.region(), table = %record.table, imported = record.imported_items,
                    errors = record.errors, "import finished"
                ),
                Err(error) => self.fail_import(record, Failure::from(error), true).await,
            }
            return;
        };
        self.fail_import(record, Failure(code, message), true).await;
    }

    /// Records the import FAILED; with `delete`, deletes its table first
    /// (not when the table is gone, or is another table of the same name).
    async fn fail_import(&self, mut record: ImportRecord, Failure(code, message): Failure, delete: bool) {
        tracing::error!(region = %self.region(), import = %record.arn, code = %code, error = %message, "import failed");
        record.status = "FAILED".into();
        record.failure_code = Some(code);
        record.failure_message = Some(message);
        if delete {
            let _ = self.engine().delete_table(record.table.clone()).await;
        }
        if let Err(error) = self.save_import(&record).await {
            tracing::error!(region = %self.region(), import = %record.arn, error = %error, "cannot record an import's end");
        }
    }

    /// Reads the source and loads its items in batches, keeping the
    /// counters (and the stored record, for DescribeImport) up to date.
    async fn load_import(&self, record: &mut ImportRecord) -> Result<(), Failure> {
        let meta = self.engine().describe_table(record.table.clone()).await?;
        let format = RowFormat {
            format: record.request.format,
            csv: record.request.csv.clone().unwrap_or_default(),
            compression: record.request.compression,
            key_types: key_types(&meta),
        };
        let mut batches = self.read_source(record, format)?;
        while let Some(batch) = batches.recv().await {
            let mut items = Vec::with_capacity(batch.len());
            for row in batch {
                record.processed_items += 1;
                match row {
                    Ok((item, bytes)) => {
                        record.processed_bytes += bytes;
                        items.push(item);
                    }
                    Err(error) => {
                        record.errors += 1;
                        tracing::warn!(
                            region = %self.region(), import = %record.arn, object = %error.key,
                            line = error.line, error = %error.message, "import row skipped"
                        );
                    }
                }
            }
            let rejected = self.engine().import_items(record.table.clone(), items).await?;
            for reason in &rejected {
                match reason {
                    None => record.imported_items += 1,
                    Some(message) => {
                        record.errors += 1;
                        tracing::warn!(region = %self.region(), import = %record.arn, error = %message, "import item rejected");
                    }
                }
            }
            self.save_import(record).await?;
        }
        Ok(())
    }

    /// Lists the source's files (failing the import when its bucket does
    /// not exist; a prefix with no files imports nothing, as in DynamoDB)
    /// and reads them on a blocking thread, in batches of rows.
    fn read_source(&self, record: &ImportRecord, format: RowFormat) -> Result<mpsc::Receiver<Vec<Row>>, Failure> {
        let prefix = record.request.prefix.clone().unwrap_or_default();
        let prefix = prefix.trim_start_matches('/');
        let files = source_files(&self.0.export_root, &record.request.bucket, prefix)
            .map_err(|e| Failure(e.code().into(), e.to_string()))?;
        let (tx, rx) = mpsc::channel(4);
        let chunk = self.0.config.chunk_items;
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(chunk);
            for (key, path) in files {
                let mut emit = |row: Row| {
                    batch.push(row);
                    batch.len() < chunk || tx.blocking_send(std::mem::take(&mut batch)).is_ok()
                };
                if let Err(error) = read_file(&key, &path, &format, &mut emit) {
                    emit(Err(super::import_source::RowError {
                        key: key.clone(),
                        line: 0,
                        message: SourceError::from(error).to_string(),
                    }));
                }
                if tx.is_closed() {
                    return;
                }
            }
            if !batch.is_empty() {
                let _ = tx.blocking_send(batch);
            }
        });
        Ok(rx)
    }

    /// The import with this ARN.
    pub async fn describe_import(&self, arn: &str) -> Result<ImportRecord, PitrError> {
        self.record_by_arn(RECORD_PREFIX, "/import/", arn, |r: &ImportRecord| &r.arn)
            .await?
            .ok_or_else(|| PitrError::ImportNotFound(arn.to_string()))
    }

    /// Every import (into the table with `table_arn` only, when given), oldest first.
    pub async fn list_imports(&self, table_arn: Option<&str>) -> Result<Vec<ImportRecord>, PitrError> {
        self.job_records(RECORD_PREFIX, table_arn, |r: &ImportRecord| {
            (r.table_arn.as_str(), r.start_ns, r.id.as_str())
        })
        .await
    }

    /// Starts over every import a restart interrupted, on its emptied
    /// table; one whose table is gone is recorded FAILED.
    pub(super) async fn resume_imports(&self) -> Result<(), PitrError> {
        for mut record in self.list_imports(None).await? {
            if record.status != "IN_PROGRESS" {
                continue;
            }
            let creating = matches!(
                self.engine().describe_table(record.table.clone()).await,
                Ok(meta) if meta.status == TableStatus::Creating
                    && (record.table_id.is_empty() || meta.table_id == record.table_id)
            );
            if !creating {
                let failure = Failure("InternalError".into(), "The import was interrupted".into());
                record.end_ns = Some(self.now_ns());
                self.fail_import(record, failure, false).await;
                continue;
            }
            tracing::info!(region = %self.region(), table = %record.table, "resuming an interrupted import");
            self.engine().reset_restore_target(record.table.clone()).await?;
            record.reset();
            let this = self.clone();
            self.spawn(async move { this.run_import(record).await });
        }
        Ok(())
    }
}

/// The types of the key attributes of `meta` and of its indexes.
fn key_types(meta: &TableMeta) -> HashMap<String, ScalarType> {
    let schemas = std::iter::once(&meta.key_schema).chain(meta.indexes.iter().map(|i| &i.key_schema));
    schemas
        .flat_map(|s| std::iter::once(&s.hash).chain(s.range.as_ref()))
        .map(|a| (a.name.clone(), a.ty))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::clock::Hlc;
    use crate::config::{PitrConfig, StorageConfig};
    use crate::engine::Engine;
    use crate::model::{AttributeValue, Item};

    #[tokio::test]
    async fn an_import_interrupted_midway_starts_over_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let hlc = Hlc::new(0, Duration::from_secs(1));
        let engine = Engine::open(dir.path(), "us-east-1", hlc, &StorageConfig::default()).unwrap();
        let pitr = Pitr::new(engine.clone(), PitrConfig::default(), dir.path().to_path_buf());
        let source = pitr.0.export_root.join("bucket/rows.json");
        std::fs::create_dir_all(source.parent().unwrap()).unwrap();
        let rows: String = (0..3)
            .map(|i| format!("{{\"Item\":{{\"pk\":{{\"S\":\"k{i}\"}}}}}}\n"))
            .collect();
        std::fs::write(&source, rows).unwrap();

        // What a crash leaves: the CREATING table and its IN_PROGRESS
        // record, written together, and part of the load (a stray item).
        let record = ImportRecord {
            id: "01700000000000-00000000".into(),
            arn: "arn:aws:dynamodb:us-east-1:000000000000:table/dst/import/01700000000000-00000000".into(),
            table: "dst".into(),
            table_arn: "arn:aws:dynamodb:us-east-1:000000000000:table/dst".into(),
            table_id: String::new(),
            request: ImportRequest {
                bucket: "bucket".into(),
                bucket_owner: None,
                prefix: None,
                format: InputFormat::DynamoDbJson,
                csv: None,
                compression: InputCompression::None,
                table_parameters: serde_json::json!({}),
                client_token: None,
            },
            start_ns: 0,
            end_ns: None,
            status: "IN_PROGRESS".into(),
            failure_code: None,
            failure_message: None,
            processed_items: 1,
            imported_items: 1,
            errors: 0,
            processed_bytes: 10,
        };
        engine
            .create_restore_target(NewTable::keyed_by_pk("dst"), (record.name(), record.bytes().unwrap()))
            .await
            .unwrap();
        let stray = Item::from([("pk".to_string(), AttributeValue::S("stray".into()))]);
        engine.import_items("dst".into(), vec![stray]).await.unwrap();

        pitr.start().await;
        let deadline = Instant::now() + Duration::from_secs(60);
        let finished = loop {
            let import = pitr.describe_import(&record.arn).await.unwrap();
            if import.status != "IN_PROGRESS" {
                break import;
            }
            assert!(Instant::now() < deadline, "the import did not finish");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(finished.status, "COMPLETED");
        assert_eq!((finished.processed_items, finished.imported_items), (3, 3));
        let meta = engine.describe_table("dst".into()).await.unwrap();
        assert_eq!(meta.status, TableStatus::Active);
        assert_eq!(meta.item_count, 3, "the stray item is gone and the counters are right");
        pitr.shutdown().await;
        engine.shutdown();
    }

    #[test]
    fn a_request_stored_with_the_gzip_flag_reads_as_its_compression() {
        let stored = |compression: &str| {
            let text = format!(
                r#"{{"bucket":"b","bucket_owner":null,"prefix":null,"format":"Csv","csv":null,{compression},"table_parameters":{{}},"client_token":null}}"#
            );
            serde_json::from_str::<ImportRequest>(&text).unwrap().compression
        };
        assert_eq!(stored(r#""gzip":true"#), InputCompression::Gzip);
        assert_eq!(stored(r#""gzip":false"#), InputCompression::None);
        assert_eq!(stored(r#""compression":"Zstd""#), InputCompression::Zstd);
        let request = ImportRequest {
            bucket: "b".into(),
            bucket_owner: None,
            prefix: None,
            format: InputFormat::Csv,
            csv: None,
            compression: InputCompression::Zstd,
            table_parameters: serde_json::json!({}),
            client_token: None,
        };
        let text = serde_json::to_string(&request).unwrap();
        assert_eq!(serde_json::from_str::<ImportRequest>(&text).unwrap(), request);
    }
}
