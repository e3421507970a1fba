//! Time to Live settings: UpdateTimeToLive and DescribeTimeToLive. The
//! setting is part of the table's description, so it replicates to every
//! region; the sweeper (`crate::workers::ttl`) acts on it.

use serde_json::{Value, json};

use super::error::ApiError;
use super::request::Request;
use crate::engine::{Engine, TableUpdate};
use crate::model::table_features::TtlSpec;

/// Longest TTL attribute name DynamoDB accepts.
const MAX_ATTRIBUTE_NAME: usize = 255;

/// UpdateTimeToLive, with DynamoDB's rules: enabling needs TTL disabled,
/// disabling needs it enabled, and either must name the current attribute
/// while TTL is enabled.
pub async fn handle_update_time_to_live(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let name = req.table_name()?;
    let spec = req
        .opt_object("TimeToLiveSpecification")?
        .ok_or_else(|| ApiError::missing("timeToLiveSpecification"))?;
    let enabled = match spec.get("Enabled") {
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::serialization(
                "STRING_VALUE can not be converted to a Boolean",
            ));
        }
        None => return Err(ApiError::missing("timeToLiveSpecification.enabled")),
    };
    let attribute = match spec.get("AttributeName") {
        Some(Value::String(a)) => a.clone(),
        Some(_) => return Err(ApiError::serialization("Unexpected value type in payload")),
        None => return Err(ApiError::missing("timeToLiveSpecification.attributeName")),
    };
    if attribute.is_empty() || attribute.len() > MAX_ATTRIBUTE_NAME {
        return Err(ApiError::constraint(
            &format!("'{attribute}'"),
            "timeToLiveSpecification.attributeName",
            "Member must have length less than or equal to 255, Member must have length greater than or equal to 1",
        ));
    }
    let update = TableUpdate {
        ttl: Some(TtlSpec {
            attribute: attribute.clone(),
            enabled,
        }),
        ..TableUpdate::default()
    };
    engine.update_table(name, update).await?;
    Ok(json!({ "TimeToLiveSpecification": { "AttributeName": attribute, "Enabled": enabled } }))
}

/// DescribeTimeToLive.
pub async fn handle_describe_time_to_live(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let meta = engine.describe_table(req.table_name()?).await?;
    let description = match meta.ttl.filter(|t| t.enabled) {
        Some(ttl) => json!({ "TimeToLiveStatus": "ENABLED", "AttributeName": ttl.attribute }),
        None => json!({ "TimeToLiveStatus": "DISABLED" }),
    };
    Ok(json!({ "TimeToLiveDescription": description }))
}
