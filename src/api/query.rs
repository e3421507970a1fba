//! Query and Scan: key conditions, filters applied after Limit, Select,
//! projections, 1 MB pages with LastEvaluatedKey, parallel scan segments.

use serde_json::{Value, json};

use super::capacity::{CapacityDetail, CapacityKind, read_units};
use super::error::ApiError;
use super::expressions::{Expressions, Projection};
use super::request::Request;
use crate::engine::{Engine, Page, RangeRead};
use crate::model::{TableMeta, item_to_json};

/// Most segments of a parallel scan.
const MAX_TOTAL_SEGMENTS: i64 = 1_000_000;

/// The parameters Query and Scan share.
struct Common {
    table: String,
    limit: Option<usize>,
    select_count: bool,
    consistent: bool,
    capacity: CapacityDetail,
}

fn parse_common(req: &Request) -> Result<Common, ApiError> {
    let table = req.table_name()?;
    if let Some(index) = req.opt_str("IndexName")? {
        return Err(ApiError::validation(format!(
            "The table does not have the specified index: {index}"
        )));
    }
    let limit = match req.opt_i64("Limit")? {
        Some(l) if l < 1 => {
            return Err(ApiError::constraint(
                &format!("'{l}'"),
                "limit",
                "Member must have value greater than or equal to 1",
            ));
        }
        Some(l) => Some(l as usize),
        None => None,
    };
    let select = req.opt_enum(
        "Select",
        &[
            "ALL_ATTRIBUTES",
            "ALL_PROJECTED_ATTRIBUTES",
            "SPECIFIC_ATTRIBUTES",
            "COUNT",
        ],
    )?;
    let has_projection = req.has("ProjectionExpression") || req.has("AttributesToGet");
    match select.as_deref() {
        Some("SPECIFIC_ATTRIBUTES") if !has_projection => {
            return Err(ApiError::validation(
                "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
            ));
        }
        Some("ALL_ATTRIBUTES") | Some("COUNT") if has_projection => {
            return Err(ApiError::validation(
                "Cannot specify the AttributesToGet or ProjectionExpression when choosing to get ALL_ATTRIBUTES or COUNT",
            ));
        }
        Some("ALL_PROJECTED_ATTRIBUTES") => {
            return Err(ApiError::validation(
                "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
            ));
        }
        _ => {}
    }
    Ok(Common {
        table,
        limit,
        select_count: select.as_deref() == Some("COUNT"),
        consistent: req.opt_bool("ConsistentRead")?.unwrap_or(false),
        capacity: CapacityDetail::from_request(req)?,
    })
}

fn page_response(common: &Common, meta: &TableMeta, page: Page, projection: Option<&Projection>) -> Value {
    let mut body = json!({ "Count": page.items.len(), "ScannedCount": page.scanned });
    if !common.select_count {
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|item| match projection {
                Some(p) => item_to_json(&p.apply(item)),
                None => item_to_json(item),
            })
            .collect();
        body["Items"] = Value::Array(items);
    }
    if let Some(key) = &page.last_key {
        body["LastEvaluatedKey"] = item_to_json(key);
    }
    let units = read_units(page.bytes_read, common.consistent);
    if let Some(report) = common.capacity.report(&meta.name, units, CapacityKind::Read) {
        body["ConsumedCapacity"] = report;
    }
    body
}

/// Query.
pub async fn handle_query(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let common = parse_common(&req)?;
    let meta = engine
        .describe_table(common.table.clone())
        .await
        .map_err(|_| ApiError::from(crate::engine::EngineError::ResourceNotFound))?;
    let mut expressions = Expressions::new(&req)?;
    let (partition, sort) = expressions.key_condition(&req, &meta.key_schema)?;
    let filter = expressions.filter(&req, "QueryFilter")?;
    let projection = expressions.projection(&req)?;
    expressions.finish()?;
    let spec = RangeRead {
        table: common.table.clone(),
        partition: Some(partition),
        sort,
        forward: req.opt_bool("ScanIndexForward")?.unwrap_or(true),
        start_after: req.opt_item("ExclusiveStartKey")?,
        limit: common.limit,
        filter,
        segment: None,
    };
    let (meta, page) = engine.read_range(spec).await?;
    Ok(page_response(&common, &meta, page, projection.as_ref()))
}

/// Scan, including parallel scan segments.
pub async fn handle_scan(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let common = parse_common(&req)?;
    let segment = match (req.opt_i64("Segment")?, req.opt_i64("TotalSegments")?) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(ApiError::validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::validation(
                "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            ));
        }
        (Some(segment), Some(total)) => {
            if !(1..=MAX_TOTAL_SEGMENTS).contains(&total) {
                return Err(ApiError::constraint(
                    &format!("'{total}'"),
                    "totalSegments",
                    "Member must have value less than or equal to 1000000, Member must have value greater than or equal to 1",
                ));
            }
            if segment < 0 || segment >= total {
                return Err(ApiError::validation(format!(
                    "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
                )));
            }
            Some((segment as u32, total as u32))
        }
    };
    let mut expressions = Expressions::new(&req)?;
    let filter = expressions.filter(&req, "ScanFilter")?;
    let projection = expressions.projection(&req)?;
    expressions.finish()?;
    let spec = RangeRead {
        table: common.table.clone(),
        partition: None,
        sort: None,
        forward: true,
        start_after: req.opt_item("ExclusiveStartKey")?,
        limit: common.limit,
        filter,
        segment,
    };
    let (meta, page) = engine.read_range(spec).await?;
    Ok(page_response(&common, &meta, page, projection.as_ref()))
}
