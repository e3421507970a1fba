//! Continuous backups and restores: UpdateContinuousBackups,
//! DescribeContinuousBackups, RestoreTableToPointInTime, and on-demand
//! backups: CreateBackup, DescribeBackup, ListBackups, DeleteBackup,
//! RestoreTableFromBackup. Also the `/admin/pitr` status page.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::error::ApiError;
use super::request::{Request, validate_table_name};
use super::state::ApiState;
use super::tables::describe;
use crate::engine::SseChange;
use crate::model::table::{ACCOUNT_ID, BillingMode};
use crate::model::{SecondaryIndex, TableMeta};
use crate::pitr::time::{epoch_seconds, from_epoch_seconds};
use crate::pitr::{BackupRecord, ContinuousBackups, Pitr, RestoreRequest};

/// Most backups one ListBackups page returns.
const MAX_LIST_BACKUPS: i64 = 100;

/// A timestamp member (epoch seconds), in ns.
pub(super) fn time_member(req: &Request, name: &str) -> Result<Option<u64>, ApiError> {
    req.get(name)
        .map(|v| {
            v.as_f64()
                .and_then(from_epoch_seconds)
                .ok_or_else(|| ApiError::serialization(format!("Unexpected value type in payload for member {name}")))
        })
        .transpose()
}

/// The table named by a table ARN of this region (`None` when it is not one).
pub fn table_from_arn(region: &str, arn: &str) -> Option<String> {
    let name = arn.strip_prefix(&format!("arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/"))?;
    validate_table_name(name, "tableArn").ok()?;
    Some(name.to_string())
}

fn continuous_description(backups: &ContinuousBackups) -> Value {
    let mut pitr = json!({ "PointInTimeRecoveryStatus": "DISABLED" });
    if let (Some(settings), Some((earliest, latest))) = (&backups.settings, backups.window) {
        pitr = json!({
            "PointInTimeRecoveryStatus": "ENABLED",
            "RecoveryPeriodInDays": settings.recovery_days,
            "EarliestRestorableDateTime": epoch_seconds(earliest),
            "LatestRestorableDateTime": epoch_seconds(latest),
        });
    }
    json!({
        "ContinuousBackupsDescription": {
            "ContinuousBackupsStatus": "ENABLED",
            "PointInTimeRecoveryDescription": pitr,
        }
    })
}

/// UpdateContinuousBackups.
pub async fn handle_update_continuous_backups(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let table = req.table_name()?;
    let spec = req
        .opt_object("PointInTimeRecoverySpecification")?
        .ok_or_else(|| ApiError::missing("pointInTimeRecoverySpecification"))?;
    let spec = Request::from_map(spec.clone());
    let enabled = spec
        .opt_bool("PointInTimeRecoveryEnabled")?
        .ok_or_else(|| ApiError::missing("pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled"))?;
    let days = spec.opt_i64_in(
        "RecoveryPeriodInDays",
        "pointInTimeRecoverySpecification.recoveryPeriodInDays",
        1..=35,
    )?;
    if days.is_some() && !enabled {
        return Err(ApiError::validation(
            "RecoveryPeriodInDays can only be specified when PointInTimeRecoveryEnabled is true",
        ));
    }
    let backups = pitr.update(&table, enabled, days.map(|d| d as u32)).await?;
    Ok(continuous_description(&backups))
}

/// DescribeContinuousBackups.
pub async fn handle_describe_continuous_backups(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let backups = pitr.describe(&req.table_name()?).await?;
    Ok(continuous_description(&backups))
}

/// BillingModeOverride and ProvisionedThroughputOverride of a restore.
fn parse_billing_override(req: &Request) -> Result<Option<BillingMode>, ApiError> {
    let mode = req.opt_enum("BillingModeOverride", &["PROVISIONED", "PAY_PER_REQUEST"])?;
    let throughput = req.opt_object("ProvisionedThroughputOverride")?;
    let units = |name: &str| -> Result<u64, ApiError> {
        let member = format!("provisionedThroughputOverride.{}", super::request::lower_first(name));
        match throughput.and_then(|t| t.get(name)).and_then(Value::as_i64) {
            Some(value) if value >= 1 => Ok(value as u64),
            Some(value) => Err(ApiError::constraint(
                &format!("'{value}'"),
                &member,
                "Member must have value greater than or equal to 1",
            )),
            None => Err(ApiError::missing(&member)),
        }
    };
    match (mode.as_deref(), throughput) {
        (Some("PAY_PER_REQUEST"), Some(_)) => Err(ApiError::validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        (Some("PAY_PER_REQUEST"), None) => Ok(Some(BillingMode::PayPerRequest)),
        (Some(_), None) => Err(ApiError::validation(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        )),
        (_, Some(_)) => Ok(Some(BillingMode::Provisioned {
            read: units("ReadCapacityUnits")?,
            write: units("WriteCapacityUnits")?,
        })),
        (None, None) => Ok(None),
    }
}

/// The restored table's indexes, with GlobalSecondaryIndexOverride and
/// LocalSecondaryIndexOverride applied to the source's (`None`: as the
/// source has them).
fn index_overrides(
    req: &Request,
    source: &TableMeta,
    billing: Option<&BillingMode>,
) -> Result<Option<Vec<SecondaryIndex>>, ApiError> {
    super::indexes::parse_overrides(
        req.opt_array("GlobalSecondaryIndexOverride")?,
        req.opt_array("LocalSecondaryIndexOverride")?,
        source,
        billing.unwrap_or(&source.billing),
    )
}

/// A restore's SSESpecificationOverride.
fn sse_override(req: &Request, region: &str) -> Result<Option<SseChange>, ApiError> {
    super::table_settings::parse_sse(req.get("SSESpecificationOverride"), "sSESpecificationOverride", region)
}

/// A TableDescription of a restore target, with its RestoreSummary.
fn restored_description(meta: &TableMeta, region: &str, summary: Value) -> Value {
    let mut description = describe(meta, region);
    description["RestoreSummary"] = summary;
    json!({ "TableDescription": description })
}

/// RestoreTableToPointInTime.
pub async fn handle_restore_to_point_in_time(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let region = pitr.region_name();
    let source = match (req.opt_str("SourceTableName")?, req.opt_str("SourceTableArn")?) {
        (Some(name), None) => {
            validate_table_name(name, "sourceTableName")?;
            name.to_string()
        }
        (None, Some(arn)) => table_from_arn(region, arn).ok_or_else(|| {
            ApiError::new(
                super::error::ErrorKind::TableNotFound,
                format!("Table not found: {arn}"),
            )
        })?,
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "Only one of SourceTableArn or SourceTableName can be specified",
            ));
        }
        (None, None) => {
            return Err(ApiError::validation(
                "Either SourceTableArn or SourceTableName must be specified",
            ));
        }
    };
    let target = req.str("TargetTableName")?;
    validate_table_name(target, "targetTableName")?;
    super::unsupported::check_restore(&req)?;
    let latest = req.opt_bool("UseLatestRestorableTime")?.unwrap_or(false);
    let at = req.get("RestoreDateTime");
    let at_ns =
        match (latest, at) {
            (true, Some(_)) => {
                return Err(ApiError::validation(
                    "Only one of RestoreDateTime or UseLatestRestorableTime can be specified",
                ));
            }
            (true, None) => None,
            (false, None) => {
                return Err(ApiError::validation(
                    "Either RestoreDateTime or UseLatestRestorableTime must be specified",
                ));
            }
            (false, Some(value)) => Some(value.as_f64().and_then(from_epoch_seconds).ok_or_else(|| {
                ApiError::serialization("Unexpected value type in payload for member RestoreDateTime")
            })?),
        };
    let billing = parse_billing_override(&req)?;
    let source_meta = pitr.source_table(&source).await?;
    let indexes = index_overrides(&req, &source_meta, billing.as_ref())?;
    let request = RestoreRequest {
        source,
        target: target.to_string(),
        at_ns,
        billing,
        indexes,
        sse: sse_override(&req, region)?,
    };
    let source_name = request.source.clone();
    let (meta, at_ns) = pitr.restore_to_point_in_time(request).await?;
    let summary = json!({
        "SourceTableArn": crate::model::table::table_arn(region, &source_name),
        "RestoreDateTime": epoch_seconds(at_ns),
        "RestoreInProgress": true,
    });
    Ok(restored_description(&meta, region, summary))
}

fn backup_name(req: &Request) -> Result<String, ApiError> {
    let name = req.str("BackupName")?;
    validate_table_name(name, "backupName")?;
    Ok(name.to_string())
}

fn backup_details(backup: &BackupRecord) -> Value {
    let mut details = json!({
        "BackupArn": backup.arn,
        "BackupName": backup.name,
        "BackupSizeBytes": backup.size_bytes,
        "BackupStatus": backup.status.as_str(),
        "BackupType": backup.kind.as_str(),
        "BackupCreationDateTime": epoch_seconds(backup.created_ns),
    });
    add_expiry(&mut details, backup);
    details
}

/// BackupExpiryDateTime, which only a SYSTEM backup has.
fn add_expiry(details: &mut Value, backup: &BackupRecord) {
    if let Some(expires_ns) = backup.expires_ns() {
        details["BackupExpiryDateTime"] = json!(epoch_seconds(expires_ns));
    }
}

fn backup_description(backup: &BackupRecord, region: &str) -> Value {
    let table = describe(&backup.table, region);
    json!({
        "BackupDetails": backup_details(backup),
        "SourceTableDetails": {
            "TableName": backup.table.name,
            "TableId": backup.table.table_id,
            "TableArn": table["TableArn"],
            "TableSizeBytes": backup.table.size_bytes,
            "KeySchema": table["KeySchema"],
            "TableCreationDateTime": table["CreationDateTime"],
            "ProvisionedThroughput": {
                "ReadCapacityUnits": table["ProvisionedThroughput"]["ReadCapacityUnits"],
                "WriteCapacityUnits": table["ProvisionedThroughput"]["WriteCapacityUnits"],
            },
            "ItemCount": backup.item_count,
            "BillingMode": table["BillingModeSummary"]["BillingMode"],
        },
        "SourceTableFeatureDetails": {},
    })
}

/// CreateBackup.
pub async fn handle_create_backup(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let table = req.table_name()?;
    let name = backup_name(&req)?;
    let backup = pitr.create_backup(&table, name).await?;
    Ok(json!({ "BackupDetails": backup_details(&backup) }))
}

/// DescribeBackup.
pub async fn handle_describe_backup(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let backup = pitr.backup(req.str("BackupArn")?).await?;
    Ok(json!({ "BackupDescription": backup_description(&backup, pitr.region_name()) }))
}

/// DeleteBackup.
pub async fn handle_delete_backup(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let backup = pitr.delete_backup(req.str("BackupArn")?).await?;
    let mut description = backup_description(&backup, pitr.region_name());
    description["BackupDetails"]["BackupStatus"] = json!("DELETED");
    Ok(json!({ "BackupDescription": description }))
}

/// ListBackups, paginated by ExclusiveStartBackupArn / LastEvaluatedBackupArn.
pub async fn handle_list_backups(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let table = req.opt_str("TableName")?;
    if let Some(table) = table {
        validate_table_name(table, "tableName")?;
    }
    let limit = req
        .opt_i64_in("Limit", "limit", 1..=MAX_LIST_BACKUPS)?
        .unwrap_or(MAX_LIST_BACKUPS);
    let backup_type = req.opt_enum("BackupType", &["USER", "SYSTEM", "AWS_BACKUP", "ALL"])?;
    let (lower, upper) = (
        time_member(&req, "TimeRangeLowerBound")?,
        time_member(&req, "TimeRangeUpperBound")?,
    );
    let start = req.opt_str("ExclusiveStartBackupArn")?;
    let mut backups: Vec<BackupRecord> = pitr
        .list_backups(table)
        .await?
        .into_iter()
        // Without a BackupType, DynamoDB lists USER backups only.
        .filter(|b| match backup_type.as_deref() {
            Some("ALL") => true,
            Some(kind) => b.kind.as_str() == kind,
            None => b.kind.as_str() == "USER",
        })
        // Compared at the millisecond precision the creation time is shown
        // in; the lower bound is inclusive, the upper exclusive.
        .filter(|b| {
            let created = b.created_ns / 1_000_000 * 1_000_000;
            lower.is_none_or(|l| created >= l) && upper.is_none_or(|u| created < u)
        })
        .collect();
    if let Some(start) = start
        && let Some(at) = backups.iter().position(|b| b.arn == start)
    {
        backups.drain(..=at);
    }
    let more = backups.len() > limit as usize;
    backups.truncate(limit as usize);
    let region = pitr.region_name();
    let summaries: Vec<Value> = backups
        .iter()
        .map(|b| {
            let mut summary = json!({
                "TableName": b.table.name,
                "TableId": b.table.table_id,
                "TableArn": b.table.arn(region),
                "BackupArn": b.arn,
                "BackupName": b.name,
                "BackupCreationDateTime": epoch_seconds(b.created_ns),
                "BackupStatus": b.status.as_str(),
                "BackupType": b.kind.as_str(),
                "BackupSizeBytes": b.size_bytes,
            });
            add_expiry(&mut summary, b);
            summary
        })
        .collect();
    let mut body = json!({ "BackupSummaries": summaries });
    if more && let Some(last) = backups.last() {
        body["LastEvaluatedBackupArn"] = json!(last.arn);
    }
    Ok(body)
}

/// RestoreTableFromBackup.
pub async fn handle_restore_from_backup(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let target = req.str("TargetTableName")?;
    validate_table_name(target, "targetTableName")?;
    let arn = req.str("BackupArn")?;
    super::unsupported::check_restore(&req)?;
    let billing = parse_billing_override(&req)?;
    let source = pitr.backup(arn).await?.table;
    let indexes = index_overrides(&req, &source, billing.as_ref())?;
    let sse = sse_override(&req, pitr.region_name())?;
    let (meta, backup) = pitr
        .restore_from_backup(arn, target.to_string(), billing, indexes, sse)
        .await?;
    let region = pitr.region_name();
    let summary = json!({
        "SourceBackupArn": backup.arn,
        "SourceTableArn": backup.table.arn(region),
        "RestoreDateTime": epoch_seconds(backup.created_ns),
        "RestoreInProgress": true,
    });
    Ok(restored_description(&meta, region, summary))
}

/// GET /admin/pitr: per table with PITR on, its window and the bytes of
/// history kept; the number and bytes of backups.
pub async fn handle_admin_status(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let Some(pitr) = &state.pitr else {
        return Json(json!({ "error": "point-in-time recovery is not running" }));
    };
    match pitr.status().await {
        Ok(status) => Json(status),
        Err(error) => Json(json!({ "error": error.to_string() })),
    }
}
