//! ExportTableToPointInTime, DescribeExport and ListExports. The S3 bucket
//! and prefix name a directory under the region's export root (see
//! `pitr/export.rs`).

use serde_json::{Value, json};

use super::backups::table_from_arn;
use super::error::{ApiError, ErrorKind};
use super::request::Request;
use crate::pitr::time::{epoch_seconds, from_epoch_seconds};
use crate::pitr::{ExportRecord, ExportRequest, Pitr};

/// Most exports one ListExports page returns.
const MAX_LIST_EXPORTS: i64 = 25;

fn export_description(export: &ExportRecord) -> Value {
    let mut body = json!({
        "ExportArn": export.arn,
        "ExportStatus": export.status,
        "StartTime": epoch_seconds(export.start_ns),
        "TableArn": export.table_arn,
        "TableId": export.table_id,
        "ExportTime": epoch_seconds(export.export_ns),
        "S3Bucket": export.request.bucket,
        "S3SseAlgorithm": "AES256",
        "ExportFormat": "DYNAMODB_JSON",
        "ExportType": "FULL_EXPORT",
        "ItemCount": export.item_count,
        "BilledSizeBytes": export.billed_bytes,
    });
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

/// ExportTableToPointInTime.
pub async fn handle_export(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let arn = req.str("TableArn")?;
    let table = table_from_arn(pitr.region_name(), arn)
        .ok_or_else(|| ApiError::new(ErrorKind::TableNotFound, format!("Table not found: {arn}")))?;
    let bucket = req.str("S3Bucket")?.to_string();
    if let Some(format) = req.opt_enum("ExportFormat", &["DYNAMODB_JSON", "ION"])?
        && format == "ION"
    {
        return Err(ApiError::validation(
            "ExportFormat ION is not supported by Meridian yet",
        ));
    }
    if let Some(kind) = req.opt_enum("ExportType", &["FULL_EXPORT", "INCREMENTAL_EXPORT"])?
        && kind == "INCREMENTAL_EXPORT"
    {
        return Err(ApiError::validation(
            "ExportType INCREMENTAL_EXPORT is not supported by Meridian yet",
        ));
    }
    if let Some(algorithm) = req.opt_enum("S3SseAlgorithm", &["AES256", "KMS"])?
        && algorithm == "KMS"
    {
        return Err(ApiError::validation(
            "S3SseAlgorithm KMS is not supported by Meridian yet",
        ));
    }
    for unsupported in ["S3SseKmsKeyId", "IncrementalExportSpecification"] {
        if req.has(unsupported) {
            return Err(ApiError::validation(format!(
                "{unsupported} is not supported by Meridian yet"
            )));
        }
    }
    let at_ns = req
        .get("ExportTime")
        .map(|v| {
            v.as_f64()
                .and_then(from_epoch_seconds)
                .ok_or_else(|| ApiError::serialization("Unexpected value type in payload for member ExportTime"))
        })
        .transpose()?;
    let request = ExportRequest {
        table,
        at_ns,
        bucket,
        prefix: req.opt_str("S3Prefix")?.map(str::to_string),
        client_token: req.opt_str("ClientToken")?.map(str::to_string),
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
        .map(|e| json!({ "ExportArn": e.arn, "ExportStatus": e.status, "ExportType": "FULL_EXPORT" }))
        .collect();
    let mut body = json!({ "ExportSummaries": summaries });
    if more && let Some(last) = exports.last() {
        body["NextToken"] = json!(last.arn);
    }
    Ok(body)
}
