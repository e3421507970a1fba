//! Incremental exports (ExportType INCREMENTAL_EXPORT): the items changed
//! in `[ExportFromTime, ExportToTime)`, read from the PITR history, one row
//! per changed item with its last change's time, its keys, and its images
//! as ExportViewType asks (`export_rows.rs`). As DynamoDB does, the window
//! lasts 15 minutes to 24 hours inside the PITR window, the data files go
//! to the data folder shared by the exports under the prefix
//! (`<S3Prefix>/AWSDynamoDB/data/`) while the manifests stay in the
//! export's own folder, and the summary manifest (version `2023-08-01`)
//! names the window and the view instead of an export time.

use serde_json::{Value, json};

use super::export_files::DataFiles;
use super::export_record::{ExportRecord, IncrementalRequest};
use super::export_rows::{ChangeRow, ExportFormat, ExportView, change_row};
use super::{ContinuousBackups, Pitr, PitrError, time};
use crate::clock::Timestamp;
use crate::engine::WindowChange;
use crate::model::{Item, KeySchema};

/// Shortest incremental export window: 15 minutes, in ns.
const MIN_WINDOW_NS: u64 = 15 * 60 * 1_000_000_000;
/// Longest incremental export window: 24 hours, in ns.
const MAX_WINDOW_NS: u64 = 24 * 3_600 * 1_000_000_000;

impl Pitr {
    /// Checks an incremental export's window against DynamoDB's rules and
    /// the table's PITR window; returns the table and ExportToTime.
    pub(super) async fn incremental_window(
        &self,
        table: &str,
        spec: &IncrementalRequest,
    ) -> Result<(ContinuousBackups, u64), PitrError> {
        let (source, to_ns) = self
            .point_in_window(table, spec.to_ns, "ExportToTime", PitrError::InvalidExportTime)
            .await?;
        if spec.from_ns >= to_ns {
            return Err(PitrError::Validation(format!(
                "ExportFromTime {} must be before ExportToTime {}",
                time::format_rfc3339(spec.from_ns),
                time::format_rfc3339(to_ns)
            )));
        }
        let period = to_ns - spec.from_ns;
        if !(MIN_WINDOW_NS..=MAX_WINDOW_NS).contains(&period) {
            return Err(PitrError::Validation(
                "The incremental export period from ExportFromTime to ExportToTime must be at least 15 minutes \
                 and at most 24 hours"
                    .into(),
            ));
        }
        self.point_in_window(
            table,
            Some(spec.from_ns),
            "ExportFromTime",
            PitrError::InvalidExportTime,
        )
        .await?;
        Ok((source, to_ns))
    }

    /// An incremental export's files: one row per item changed in the
    /// window; returns the row count and the size of the images written.
    pub(super) async fn write_incremental(
        &self,
        record: &ExportRecord,
        spec: &IncrementalRequest,
    ) -> Result<(u64, u64), PitrError> {
        let table = record.request.table.clone();
        let (meta, _) = self
            .engine()
            .pitr_settings(table.clone())
            .await
            .map_err(PitrError::table(&table))?;
        if meta.storage_id != record.storage_id {
            return Err(PitrError::TableNotFound(table));
        }
        let (dir, key) = self.export_dir(record);
        let data_key = format!("{}data/", key.trim_end_matches(&format!("{}/", record.id)));
        let data_dir = self.0.export_root.join(&record.request.bucket).join(&data_key);
        let window = (stamp(spec.from_ns), stamp(record.export_ns));
        let mut chunks = self
            .engine()
            .changes_between(table, record.storage_id, window, self.0.config.chunk_items);
        let (format, view) = (record.request.format, spec.view);
        let handle = tokio::task::spawn_blocking(move || -> Result<(u64, u64), PitrError> {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("_started"), b"")?;
            let mut files = DataFiles::new(data_dir, data_key, format.extension())?;
            let (mut rows, mut bytes) = (0u64, 0u64);
            while let Some(chunk) = chunks.blocking_recv() {
                for change in chunk? {
                    let Some((row, size)) = change_text(&change, &meta.key_schema, format, view)? else {
                        continue;
                    };
                    files.push(&row)?;
                    rows += 1;
                    bytes += size;
                }
            }
            files.finish(&dir)?;
            Ok((rows, bytes))
        });
        handle
            .await
            .map_err(|_| PitrError::Engine(crate::engine::EngineError::Stopped))?
    }
}

/// The start of the wall-clock instant `ns`: versions stamped at `ns` are
/// at or after it.
fn stamp(ns: u64) -> Timestamp {
    Timestamp {
        wall_ns: ns,
        logical: 0,
    }
}

/// The row of one change and the size of its images; `None` for an item
/// that held nothing before the window and nothing after it (created and
/// deleted inside it, or a delete of nothing).
fn change_text(
    change: &WindowChange,
    schema: &KeySchema,
    format: ExportFormat,
    view: ExportView,
) -> Result<Option<(String, u64)>, PitrError> {
    let (old, new) = change.images()?;
    let Some(image) = new.as_ref().or(old.as_ref()) else {
        return Ok(None);
    };
    let keys: Item = schema
        .names()
        .filter_map(|name| image.get(name).map(|value| (name.to_string(), value.clone())))
        .collect();
    let mut size = u64::from(change.last.size);
    if view == ExportView::NewAndOldImages {
        size += change.before.as_ref().map_or(0, |b| u64::from(b.size));
    }
    let row = ChangeRow {
        write_micros: change.last.ts.wall_ns / 1_000,
        keys: &keys,
        old: old.as_ref(),
        new: new.as_ref(),
    };
    Ok(Some((change_row(format, view, &row), size)))
}

/// Turns a full export's summary manifest into an incremental one's.
pub(super) fn incremental_summary(summary: &mut Value, spec: &IncrementalRequest, to_ns: u64) {
    if let Value::Object(members) = summary {
        members.remove("exportTime");
    }
    summary["version"] = json!("2023-08-01");
    summary["exportFromTime"] = json!(time::format_rfc3339(spec.from_ns));
    summary["exportToTime"] = json!(time::format_rfc3339(to_ns));
    summary["outputView"] = json!(spec.view.name());
    summary["exportType"] = json!("INCREMENTAL_EXPORT");
}
