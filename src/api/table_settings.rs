//! TableClass, WarmThroughput and SSESpecification of CreateTable,
//! UpdateTable, ImportTable and the restores: parsed into the table's
//! recorded settings (`model::table_settings`) and shown back by
//! DescribeTable as TableClassSummary, WarmThroughput and SSEDescription.
//!
//! Meridian has no KMS and does not encrypt its files: a KMS key is
//! recorded and described, never used. A key given as a key id, key ARN,
//! alias name or alias ARN becomes an ARN in the table's region and
//! account without asking KMS, so an alias stays an alias ARN (DynamoDB
//! shows the key it names); `alias/aws/dynamodb` is the AWS managed key,
//! whose key id is stable per account and region.

use serde_json::{Value, json};

use super::error::ApiError;
use super::request::Request;
use crate::engine::{SettingsUpdate, SseChange, WarmRequest};
use crate::model::TableMeta;
use crate::model::table::{BillingMode, kms_arn, warm_of_billing};
use crate::model::table_settings::{ClassSetting, TableClass, TableSettings, WarmUnits};

/// The alias of the AWS managed key for DynamoDB.
const MANAGED_ALIAS: &str = "alias/aws/dynamodb";

/// The SSE types of the service model; only KMS is accepted.
const SSE_TYPES: [&str; 2] = ["AES256", "KMS"];

/// An enum-valued member `value` of a nested structure, checked against
/// `allowed` with DynamoDB's constraint message naming `field`.
fn enum_member<'a>(value: Option<&'a Value>, field: &str, allowed: &[&str]) -> Result<Option<&'a str>, ApiError> {
    let Some(text) = value.and_then(Value::as_str) else {
        return Ok(None);
    };
    if allowed.contains(&text) {
        return Ok(Some(text));
    }
    Err(ApiError::constraint(
        &format!("'{text}'"),
        field,
        &format!("Member must satisfy enum value set: [{}]", allowed.join(", ")),
    ))
}

/// A TableClass (or TableClassOverride) member.
pub fn parse_class(value: Option<&Value>, field: &str) -> Result<Option<TableClass>, ApiError> {
    Ok(enum_member(value, field, &TableClass::NAMES)?.and_then(TableClass::parse))
}

/// A WarmThroughput member: each unit given at least 1, and one given.
fn parse_warm(value: Option<&Value>, field: &str) -> Result<Option<WarmRequest>, ApiError> {
    let Some(spec) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let unit = |member: &str| -> Result<Option<u64>, ApiError> {
        let Some(units) = spec.get(member).and_then(Value::as_i64) else {
            return Ok(None);
        };
        if units < 1 {
            return Err(ApiError::constraint(
                &format!("'{units}'"),
                &format!("{field}.{}", super::request::lower_first(member)),
                "Member must have value greater than or equal to 1",
            ));
        }
        Ok(Some(units as u64))
    };
    let asked = WarmRequest {
        read: unit("ReadUnitsPerSecond")?,
        write: unit("WriteUnitsPerSecond")?,
    };
    if asked.read.is_none() && asked.write.is_none() {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: {field} must specify ReadUnitsPerSecond, WriteUnitsPerSecond, or both"
        )));
    }
    Ok(Some(asked))
}

/// A KMSMasterKeyId as the key's ARN in `region`; `None` for the AWS
/// managed key.
pub fn resolve_key(key: &str, region: &str) -> Option<String> {
    if key == MANAGED_ALIAS || key == kms_arn(region, MANAGED_ALIAS) {
        None
    } else if key.starts_with("arn:") {
        Some(key.to_string())
    } else if key.starts_with("alias/") {
        Some(kms_arn(region, key))
    } else {
        Some(kms_arn(region, &format!("key/{key}")))
    }
}

/// An SSESpecification (or SSESpecificationOverride) member, `field` in
/// messages: KMS when Enabled is true or SSEType is KMS, else the AWS
/// owned key.
pub fn parse_sse(value: Option<&Value>, field: &str, region: &str) -> Result<Option<SseChange>, ApiError> {
    let Some(spec) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let enabled = spec.get("Enabled").and_then(Value::as_bool);
    let sse_type = enum_member(spec.get("SSEType"), &format!("{field}.sseType"), &SSE_TYPES)?;
    let key = spec.get("KMSMasterKeyId").and_then(Value::as_str);
    if sse_type == Some("AES256") {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: SSEType AES256 is not supported",
        ));
    }
    if key.is_some() && sse_type.is_none() {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: SSEType KMS is required if KMSMasterKeyId is specified",
        ));
    }
    match (enabled, sse_type) {
        (Some(false), Some(_)) => Err(ApiError::validation(
            "One or more parameter values were invalid: SSEType and KMSMasterKeyId can be specified only when Enabled is true",
        )),
        (Some(true), _) | (None, Some(_)) => Ok(Some(SseChange::Kms(key.and_then(|k| resolve_key(k, region))))),
        (Some(false) | None, None) => Ok(Some(SseChange::Owned)),
    }
}

/// The KMS keys of a new table in `region` encrypted as `sse` says.
pub fn new_kms(sse: Option<SseChange>, region: &str) -> Option<std::collections::BTreeMap<String, String>> {
    match sse {
        Some(SseChange::Kms(key)) => Some(key.map(|k| (region.to_string(), k)).into_iter().collect()),
        Some(SseChange::Owned) | None => None,
    }
}

/// The SSESpecification of a CreateTable-shaped request (also ImportTable's
/// TableCreationParameters), as a new table's settings.
pub fn sse_for_create(req: &Request, region: &str) -> Result<Option<Box<TableSettings>>, ApiError> {
    let sse = parse_sse(req.get("SSESpecification"), "sSESpecification", region)?;
    let settings = TableSettings {
        kms: new_kms(sse, region),
        ..TableSettings::default()
    };
    Ok((settings != TableSettings::default()).then(|| Box::new(settings)))
}

/// CreateTable's TableClass and WarmThroughput (the table's and its
/// GSIs'), added to `settings`. A new table's warm throughput starts at
/// what its billing sustains and can only be asked higher.
pub fn for_create(
    req: &Request,
    region: &str,
    billing: &BillingMode,
    settings: Option<Box<TableSettings>>,
) -> Result<Option<Box<TableSettings>>, ApiError> {
    let mut settings = settings.map(|s| *s).unwrap_or_default();
    if let Some(class) = parse_class(req.get("TableClass"), "tableClass")? {
        settings.classes.insert(
            region.to_string(),
            ClassSetting {
                class,
                updated_ms: None,
            },
        );
    }
    if let Some(warm) = create_warm(req, billing)? {
        settings.warm = warm;
    }
    let global = req.opt_array("GlobalSecondaryIndexes")?;
    for (n, index) in global.map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
        let field = format!("globalSecondaryIndexes.{}.member.warmThroughput", n + 1);
        if let Some(asked) = parse_warm(index.get("WarmThroughput"), &field)? {
            let name = index.get("IndexName").and_then(Value::as_str).unwrap_or_default();
            let start = index_start(index, billing);
            settings.index_warm.insert(name.to_string(), asked.over(start));
        }
    }
    Ok((settings != TableSettings::default()).then(|| Box::new(settings)))
}

/// CreateTable's WarmThroughput: at least what the table's billing
/// sustains, the rest of it where a member is left out.
fn create_warm(req: &Request, billing: &BillingMode) -> Result<Option<WarmUnits>, ApiError> {
    let Some(asked) = parse_warm(req.get("WarmThroughput"), "warmThroughput")? else {
        return Ok(None);
    };
    let floor = warm_of_billing(billing);
    for (member, asked, floor) in [
        ("ReadUnitsPerSecond", asked.read, floor.read),
        ("WriteUnitsPerSecond", asked.write, floor.write),
    ] {
        if let Some(asked) = asked
            && asked < floor
        {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: WarmThroughput.{member} must be at least {floor}, but was {asked}"
            )));
        }
    }
    Ok(Some(asked.over(floor)))
}

/// What a new GSI sustains billed as `billing` (its own provisioned
/// capacity on a provisioned table).
fn index_start(index: &Value, billing: &BillingMode) -> WarmUnits {
    let throughput = index.get("ProvisionedThroughput");
    let units = |member: &str| throughput.and_then(|t| t.get(member)).and_then(Value::as_u64);
    match (billing, units("ReadCapacityUnits"), units("WriteCapacityUnits")) {
        (BillingMode::Provisioned { .. }, Some(read), Some(write)) => WarmUnits { read, write },
        _ => warm_of_billing(billing),
    }
}

/// UpdateTable's TableClass, WarmThroughput (the table's, and those of
/// GlobalSecondaryIndexUpdates' `Create` and `Update`) and
/// SSESpecification. Replicas' overrides are added with ReplicaUpdates.
pub fn for_update(req: &Request, region: &str) -> Result<SettingsUpdate, ApiError> {
    let mut update = SettingsUpdate {
        class: parse_class(req.get("TableClass"), "tableClass")?,
        warm: parse_warm(req.get("WarmThroughput"), "warmThroughput")?,
        sse: parse_sse(req.get("SSESpecification"), "sSESpecification", region)?,
        ..SettingsUpdate::default()
    };
    let updates = req.opt_array("GlobalSecondaryIndexUpdates")?;
    for (n, entry) in updates.map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
        for action in ["Create", "Update"] {
            let Some(spec) = entry.get(action).filter(|v| !v.is_null()) else {
                continue;
            };
            let field = format!(
                "globalSecondaryIndexUpdates.{}.member.{}.warmThroughput",
                n + 1,
                action.to_lowercase()
            );
            if let Some(asked) = parse_warm(spec.get("WarmThroughput"), &field)? {
                let name = spec.get("IndexName").and_then(Value::as_str).unwrap_or_default();
                update.index_warm.push((name.to_string(), asked));
            }
        }
    }
    Ok(update)
}

/// A table class as DynamoDB shows it (TableClassSummary and
/// ReplicaTableClassSummary).
fn class_summary(setting: &ClassSetting) -> Value {
    let mut summary = json!({ "TableClass": setting.class.as_str() });
    if let Some(ms) = setting.updated_ms {
        summary["LastUpdateDateTime"] = json!(ms as f64 / 1000.0);
    }
    summary
}

/// Warm throughput as DynamoDB shows it.
pub fn warm_json(units: WarmUnits, status: &str) -> Value {
    json!({
        "ReadUnitsPerSecond": units.read,
        "WriteUnitsPerSecond": units.write,
        "Status": status,
    })
}

/// Adds TableClassSummary, WarmThroughput and SSEDescription to a table
/// description in `region`, and each other replica's table class, KMS key
/// and warm throughput to its entry of `Replicas`.
pub fn describe_into(description: &mut Value, meta: &TableMeta, region: &str) {
    let settings = meta.settings();
    if let Some(class) = settings.class(region) {
        description["TableClassSummary"] = class_summary(class);
    }
    description["WarmThroughput"] = warm_json(meta.warm(), "ACTIVE");
    if let Some(key) = meta.kms_key_arn(region) {
        description["SSEDescription"] = json!({
            "Status": "ENABLED",
            "SSEType": "KMS",
            "KMSMasterKeyArn": key,
        });
    }
    let Some(replicas) = description.get_mut("Replicas").and_then(Value::as_array_mut) else {
        return;
    };
    for replica in replicas {
        let other = replica["RegionName"].as_str().unwrap_or_default().to_string();
        // Warm throughput is the whole global table's.
        replica["WarmThroughput"] = warm_json(meta.warm(), "ACTIVE");
        if let Some(key) = meta.kms_key_arn(&other) {
            replica["KMSMasterKeyId"] = json!(key);
        }
        if let Some(class) = settings.class(&other) {
            replica["ReplicaTableClassSummary"] = class_summary(class);
        }
    }
}
