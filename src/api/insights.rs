//! Contributor Insights (`Describe`/`List`/`UpdateContributorInsights`) and
//! the Kinesis streaming destination calls.
//!
//! Contributor Insights' status is kept per region (as DynamoDB keeps it per
//! replica) in the region's [`Settings`]; Meridian publishes no CloudWatch
//! rules, so an enabled table lists the rule names DynamoDB would create and
//! nothing reads them. Kinesis Data Streams do not exist here: a table has
//! no destinations, and enabling one is refused with a message pointing at
//! DynamoDB Streams.

use serde_json::{Value, json};

use super::error::{ApiError, ErrorKind};
use super::request::Request;
use super::settings::{Settings, StoredInsights};
use crate::engine::Engine;
use crate::model::TableMeta;

/// Most summaries one ListContributorInsights page returns (DynamoDB's).
const MAX_LIST_RESULTS: i64 = 100;

/// The table a request names, and the secondary index if it names one.
async fn target(engine: &Engine, req: &Request) -> Result<(TableMeta, Option<String>), ApiError> {
    let meta = engine.describe_table(req.table_name()?).await?;
    match req.opt_str("IndexName")? {
        None => Ok((meta, None)),
        Some(index) if meta.index(index).is_some() => Ok((meta, Some(index.to_string()))),
        Some(index) => Err(ApiError::new(
            ErrorKind::ResourceNotFound,
            format!(
                "Requested resource not found: Index: {index} not found for table {}",
                meta.name
            ),
        )),
    }
}

fn key(table: &str, index: Option<&str>) -> String {
    match index {
        Some(index) => format!("{table}/{index}"),
        None => table.to_string(),
    }
}

/// The setting of `meta` if it is for this incarnation of the table.
fn current<'a>(stored: Option<&'a StoredInsights>, meta: &TableMeta) -> Option<&'a StoredInsights> {
    stored.filter(|s| s.table_id == meta.table_id)
}

/// The CloudWatch rules DynamoDB creates for a table's Contributor Insights.
fn rule_names(meta: &TableMeta) -> Vec<String> {
    let mut kinds = vec!["PKC", "PKT"];
    if meta.key_schema.range.is_some() {
        kinds.extend(["SKC", "SKT"]);
    }
    kinds
        .into_iter()
        .map(|kind| {
            format!(
                "DynamoDBContributorInsights-{kind}-{}-{}",
                meta.name, meta.created_at_ms
            )
        })
        .collect()
}

/// DescribeContributorInsights.
pub async fn handle_describe_contributor_insights(
    engine: &Engine,
    settings: &Settings,
    req: Request,
) -> Result<Value, ApiError> {
    let (meta, index) = target(engine, &req).await?;
    let doc = settings.read().await;
    let stored = current(doc.insights.get(&key(&meta.name, index.as_deref())), &meta);
    let mut answer = json!({ "TableName": meta.name, "ContributorInsightsStatus": "DISABLED" });
    if let Some(stored) = stored {
        answer["LastUpdateDateTime"] = json!(stored.updated_ms as f64 / 1000.0);
        if stored.enabled {
            answer["ContributorInsightsStatus"] = json!("ENABLED");
            answer["ContributorInsightsRuleList"] = json!(rule_names(&meta));
            answer["ContributorInsightsMode"] = json!("ACCESSED_AND_THROTTLED_KEYS");
        }
    }
    Ok(answer)
}

/// UpdateContributorInsights: records the new status and answers with the
/// transition DynamoDB reports (`ENABLING` / `DISABLING`).
pub async fn handle_update_contributor_insights(
    engine: &Engine,
    settings: &Settings,
    req: Request,
) -> Result<Value, ApiError> {
    let action = req.opt_enum("ContributorInsightsAction", &["ENABLE", "DISABLE"])?;
    let action = action.ok_or_else(|| ApiError::missing("contributorInsightsAction"))?;
    req.opt_enum(
        "ContributorInsightsMode",
        &["ACCESSED_AND_THROTTLED_KEYS", "THROTTLED_KEYS"],
    )?;
    let (meta, index) = target(engine, &req).await?;
    let enabled = action == "ENABLE";
    let entry = StoredInsights {
        table_id: meta.table_id.clone(),
        enabled,
        updated_ms: now_ms(),
    };
    let name = key(&meta.name, index.as_deref());
    settings
        .update(|doc| {
            doc.insights.insert(name, entry);
            Ok(())
        })
        .await?;
    let status = if enabled { "ENABLING" } else { "DISABLING" };
    Ok(json!({ "TableName": meta.name, "ContributorInsightsStatus": status }))
}

/// ListContributorInsights: the tables (of this region) with Contributor
/// Insights enabled, or the one named.
pub async fn handle_list_contributor_insights(
    engine: &Engine,
    settings: &Settings,
    req: Request,
) -> Result<Value, ApiError> {
    let limit = req.opt_i64_in("MaxResults", "maxResults", 0..=MAX_LIST_RESULTS)?;
    let limit = limit.filter(|l| *l > 0).unwrap_or(MAX_LIST_RESULTS) as usize;
    let only = match req.opt_str("TableName")? {
        Some(_) => Some(req.table_name()?),
        None => None,
    };
    let after = req.opt_str("NextToken")?.map(str::to_string);
    let doc = settings.read().await;
    let mut summaries = Vec::new();
    let mut next = None;
    for (name, stored) in &doc.insights {
        if !stored.enabled || only.as_ref().is_some_and(|t| t != name) || after.as_ref().is_some_and(|a| name <= a) {
            continue;
        }
        let Ok(meta) = engine.describe_table(name.clone()).await else {
            continue;
        };
        if meta.table_id != stored.table_id {
            continue;
        }
        if summaries.len() == limit {
            next = summaries
                .last()
                .and_then(|s: &Value| s["TableName"].as_str().map(str::to_string));
            break;
        }
        summaries.push(json!({ "TableName": name, "ContributorInsightsStatus": "ENABLED" }));
    }
    let mut answer = json!({ "ContributorInsightsSummaries": summaries });
    if let Some(next) = next {
        answer["NextToken"] = json!(next);
    }
    Ok(answer)
}

/// DescribeKinesisStreamingDestination: a table has no destinations.
pub async fn handle_describe_kinesis_streaming_destination(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let meta = engine.describe_table(req.table_name()?).await?;
    Ok(json!({ "TableName": meta.name, "KinesisDataStreamDestinations": [] }))
}

/// Enable/Disable/UpdateKinesisStreamingDestination: refused, once the
/// request names an existing table, with what to use instead.
pub async fn handle_change_kinesis_streaming_destination(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    req.str("StreamArn")?;
    engine.describe_table(req.table_name()?).await?;
    Err(super::unsupported::refuse_instead(
        "Kinesis Data Streams for DynamoDB",
        "use DynamoDB Streams (UpdateTable with StreamSpecification) for change data capture",
    ))
}

/// Milliseconds since the Unix epoch, for settings' timestamps.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
