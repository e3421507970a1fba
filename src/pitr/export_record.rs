//! The records of exports: what ExportTableToPointInTime asks for and the
//! state DescribeExport reports, kept as JSON among the PITR records.

use serde::{Deserialize, Serialize};

use super::export_rows::{ExportFormat, ExportView};
use crate::ids::StorageId;

/// What ExportTableToPointInTime asks for, validated by the API layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub table: String,
    /// ExportTime, ns; `None` for the latest restorable time.
    pub at_ns: Option<u64>,
    pub bucket: String,
    pub prefix: Option<String>,
    pub client_token: Option<String>,
    /// ExportFormat.
    #[serde(default)]
    pub format: ExportFormat,
    /// IncrementalExportSpecification, for an INCREMENTAL_EXPORT; `None`
    /// for a FULL_EXPORT.
    #[serde(default)]
    pub incremental: Option<IncrementalRequest>,
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
    /// ExportTime of a full export; ExportToTime (exclusive) of an
    /// incremental one.
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

/// IncrementalExportSpecification, as the API layer parsed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncrementalRequest {
    /// ExportFromTime (inclusive), ns.
    pub from_ns: u64,
    /// ExportToTime (exclusive), ns; `None` for the latest restorable time.
    pub to_ns: Option<u64>,
    /// ExportViewType.
    pub view: ExportView,
}
