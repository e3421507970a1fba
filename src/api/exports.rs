//! ExportTableToPointInTime, DescribeExport and ListExports. The S3 bucket
//! and prefix name a directory under the region's export root (see
//! `pitr/export.rs`).

use serde_json::{Value, json};

use super::backups::{table_from_arn, time_member};
use super::error::{ApiError, ErrorKind};
use super::request::Request;
use crate::pitr::time::epoch_seconds;
use crate::pitr::{ExportFormat, ExportRecord, ExportRequest, ExportView, IncrementalRequest, Pitr};

/// Most exports one ListExports page returns.
const MAX_LIST_EXPORTS: i64 = 25;

fn export_description(export: &ExportRecord) -> Value {
    let mut body = json!({
        "ExportArn": export.arn,
        "ExportStatus": export.status,
        "StartTime": epoch_seconds(export.start_ns),
        "TableArn": export.table_arn,
        "TableId": export.table_id,
        "S3Bucket": export.request.bucket,
        "S3SseAlgorithm": "AES256",
        "ExportFormat": export.request.format.name(),
        "ExportType": export_type(export),
        "ItemCount": export.item_count,
        "BilledSizeBytes": export.billed_bytes,
    });
    match &export.request.incremental {
        Some(spec) => {
            body["IncrementalExportSpecification"] = json!({
                "ExportFromTime": epoch_seconds(spec.from_ns),
                "ExportToTime": epoch_seconds(export.export_ns),
                "ExportViewType": spec.view.name(),
            });
        }
        None => body["ExportTime"] = json!(epoch_seconds(export.export_ns)),
    }
    if let Some(prefix) = &export.request.prefix {
        body["S3Prefix"] = json!(prefix);
    }
    if let Some(token) = &export.request.client_token {
        body["ClientToken"] = json!(token);
    }
    if let Some(end) = export.end_ns {
        body["EndTime"] = json!(epoch_seconds(end));
    }
    if export.status == "COMPLETED" {
        body["ExportManifest"] = json!(export.manifest_key);
    }
    if let Some(failure) = &export.failure {
        body["FailureCode"] = json!("UNKNOWN");
        body["FailureMessage"] = json!(failure);
    }
    json!({ "ExportDescription": body })
}

/// FULL_EXPORT or INCREMENTAL_EXPORT.
fn export_type(export: &ExportRecord) -> &'static str {
    if export.request.incremental.is_some() {
        "INCREMENTAL_EXPORT"
    } else {
        "FULL_EXPORT"
    }
}

/// IncrementalExportSpecification: required by an INCREMENTAL_EXPORT (with
/// its ExportFromTime), refused for a FULL_EXPORT.
fn incremental_spec(req: &Request, incremental: bool) -> Result<Option<IncrementalRequest>, ApiError> {
    let spec = req.opt_object("IncrementalExportSpecification")?;
    let spec = match (incremental, spec) {
        (false, None) => return Ok(None),
        (false, Some(_)) => {
            return Err(ApiError::validation(
                "IncrementalExportSpecification is only allowed when ExportType is INCREMENTAL_EXPORT",
            ));
        }
        (true, None) => {
            return Err(ApiError::validation(
                "IncrementalExportSpecification is required when ExportType is INCREMENTAL_EXPORT",
            ));
        }
        (true, Some(spec)) => Request::from_map(spec.clone()),
    };
    if req.has("ExportTime") {
        return Err(ApiError::validation(
            "ExportTime is not allowed when ExportType is INCREMENTAL_EXPORT: \
             IncrementalExportSpecification gives the export's window",
        ));
    }
    let from_ns = time_member(&spec, "ExportFromTime")?.ok_or_else(|| {
        ApiError::validation(
            "IncrementalExportSpecification.ExportFromTime is required when ExportType is INCREMENTAL_EXPORT",
        )
    })?;
    let view = match spec.opt_str("ExportViewType")? {
        None | Some("NEW_AND_OLD_IMAGES") => ExportView::NewAndOldImages,
        Some("NEW_IMAGE") => ExportView::NewImage,
        Some(other) => {
            return Err(ApiError::constraint(
                &format!("'{other}'"),
                "incrementalExportSpecification.exportViewType",
                "Member must satisfy enum value set: [NEW_IMAGE, NEW_AND_OLD_IMAGES]",
            ));
        }
    };
    Ok(Some(IncrementalRequest {
        from_ns,
        to_ns: time_member(&spec, "ExportToTime")?,
        view,
    }))
}

/// ExportTableToPointInTime.
pub async fn handle_export(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let arn = req.str("TableArn")?;
    let table = table_from_arn(pitr.region_name(), arn)
        .ok_or_else(|| ApiError::new(ErrorKind::TableNotFound, format!("Table not found: {arn}")))?;
    let bucket = req.str("S3Bucket")?.to_string();
    let format = match req.opt_enum("ExportFormat", &["DYNAMODB_JSON", "ION"])?.as_deref() {
        Some("ION") => ExportFormat::Ion,
        _ => ExportFormat::DynamodbJson,
    };
    let kind = req.opt_enum("ExportType", &["FULL_EXPORT", "INCREMENTAL_EXPORT"])?;
    let incremental = incremental_spec(&req, kind.as_deref() == Some("INCREMENTAL_EXPORT"))?;
    if let Some(algorithm) = req.opt_enum("S3SseAlgorithm", &["AES256", "KMS"])?
        && algorithm == "KMS"
    {
        return Err(ApiError::validation(
            "S3SseAlgorithm KMS is not supported by Meridian yet",
        ));
    }
    if req.has("S3SseKmsKeyId") {
        return Err(ApiError::validation("S3SseKmsKeyId is not supported by Meridian yet"));
    }
    let at_ns = time_member(&req, "ExportTime")?;
    let request = ExportRequest {
        table,
        at_ns,
        bucket,
        prefix: req.opt_str("S3Prefix")?.map(str::to_string),
        client_token: req.opt_str("ClientToken")?.map(str::to_string),
        format,
        incremental,
    };
    let export = pitr.export(request).await?;
    Ok(export_description(&export))
}

/// DescribeExport.
pub async fn handle_describe_export(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let export = pitr.describe_export(req.str("ExportArn")?).await?;
    Ok(export_description(&export))
}

/// ListExports, paginated by NextToken (the last ARN of the page before).
pub async fn handle_list_exports(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let limit = req
        .opt_i64_in("MaxResults", "maxResults", 1..=MAX_LIST_EXPORTS)?
        .unwrap_or(MAX_LIST_EXPORTS);
    let mut exports = pitr.list_exports(req.opt_str("TableArn")?).await?;
    if let Some(token) = req.opt_str("NextToken")? {
        let at = exports
            .iter()
            .position(|e| e.arn == token)
            .ok_or_else(|| ApiError::validation("Invalid NextToken"))?;
        exports.drain(..=at);
    }
    let more = exports.len() > limit as usize;
    exports.truncate(limit as usize);
    let summaries: Vec<Value> = exports
        .iter()
        .map(|e| json!({ "ExportArn": e.arn, "ExportStatus": e.status, "ExportType": export_type(e) }))
        .collect();
    let mut body = json!({ "ExportSummaries": summaries });
    if more && let Some(last) = exports.last() {
        body["NextToken"] = json!(last.arn);
    }
    Ok(body)
}
