//! Query and Scan: key conditions, filters applied after Limit, Select,
//! projections, 1 MB pages with LastEvaluatedKey, parallel scan segments.

use serde_json::{Value, json};

use super::capacity::{CapacityDetail, CapacityKind, read_units};
use super::error::ApiError;
use super::expressions::{Expressions, Projection, QUERY, SCAN};
use super::request::{Request, modes};
use crate::capacity::Capacity;
use crate::engine::{Engine, Page, RangeRead, SortCondition};
use crate::expr::ast::PathElem;
use crate::model::key::encode_key_value;
use crate::model::{AttributeValue, IndexKind, Item, KeyAttribute, KeySchema, SecondaryIndex, TableMeta, item_to_json};

/// Most segments of a parallel scan.
const MAX_TOTAL_SEGMENTS: i64 = 1_000_000;

modes! {
    /// What Query and Scan return of the items they match (Select).
    /// Listed in the order DynamoDB's enum error lists them.
    pub(super) enum Select = "Select" {
        SpecificAttributes => "SPECIFIC_ATTRIBUTES",
        Count => "COUNT",
        AllAttributes => "ALL_ATTRIBUTES",
        AllProjectedAttributes => "ALL_PROJECTED_ATTRIBUTES",
    }
}

/// The parameters Query and Scan (and PartiQL's SELECT) share.
pub(super) struct Common {
    pub(super) table: String,
    /// IndexName.
    pub(super) index: Option<String>,
    pub(super) limit: Option<usize>,
    pub(super) select: Option<Select>,
    pub(super) select_count: bool,
    pub(super) consistent: bool,
    pub(super) capacity: CapacityDetail,
}

/// `Limit`, at least 1.
pub(super) fn parse_limit(req: &Request) -> Result<Option<usize>, ApiError> {
    match req.opt_i64("Limit")? {
        Some(l) if l < 1 => Err(ApiError::constraint(
            &format!("'{l}'"),
            "limit",
            "Member must have value greater than or equal to 1",
        )),
        limit => Ok(limit.map(|l| l as usize)),
    }
}

fn parse_common(req: &Request) -> Result<Common, ApiError> {
    let table = req.table_name()?;
    let index = req.opt_str("IndexName")?.map(str::to_string);
    let limit = parse_limit(req)?;
    let select = req.opt_mode::<Select>()?;
    let has_projection = req.has("ProjectionExpression") || req.has("AttributesToGet");
    match select {
        Some(Select::SpecificAttributes) if !has_projection => {
            return Err(ApiError::validation(
                "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
            ));
        }
        Some(Select::AllAttributes | Select::Count) if has_projection => {
            return Err(ApiError::validation(
                "Cannot specify the AttributesToGet or ProjectionExpression when choosing to get ALL_ATTRIBUTES or COUNT",
            ));
        }
        Some(Select::AllProjectedAttributes) if index.is_none() => {
            return Err(ApiError::validation(
                "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
            ));
        }
        Some(Select::AllProjectedAttributes) if has_projection => {
            return Err(ApiError::validation(
                "Cannot specify the AttributesToGet or ProjectionExpression when choosing to get ALL_PROJECTED_ATTRIBUTES",
            ));
        }
        _ => {}
    }
    Ok(Common {
        table,
        index,
        limit,
        select,
        select_count: select == Some(Select::Count),
        consistent: req.opt_bool("ConsistentRead")?.unwrap_or(false),
        capacity: CapacityDetail::from_request(req)?,
    })
}

/// How a read of secondary index `common.index` goes, checked against the
/// index as DynamoDB checks it: a GSI answers only from what it projects
/// and only eventually consistently; an LSI reads the table's item for
/// what it does not project (`fetch_from_table`).
pub(super) struct IndexRead<'m> {
    pub(super) index: Option<&'m SecondaryIndex>,
    pub(super) fetch_from_table: bool,
}

/// Secondary index `name` of `meta`, or DynamoDB's error for a name the
/// table does not have.
pub(super) fn named_index<'m>(meta: &'m TableMeta, name: &str) -> Result<&'m SecondaryIndex, ApiError> {
    meta.index(name)
        .ok_or_else(|| ApiError::validation(format!("The table does not have the specified index: {name}")))
}

/// Checks a read of `common.index` against the index and plans it.
pub(super) fn plan_index_read<'m>(
    common: &Common,
    meta: &'m TableMeta,
    projection: Option<&Projection>,
    filtered: bool,
) -> Result<IndexRead<'m>, ApiError> {
    let Some(name) = &common.index else {
        return Ok(IndexRead {
            index: None,
            fetch_from_table: false,
        });
    };
    let index = named_index(meta, name)?;
    let global = index.kind == IndexKind::Global;
    if global && common.consistent {
        return Err(ApiError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    let missing = projection.and_then(|p| {
        p.paths()
            .iter()
            .filter_map(|path| match path.0.first() {
                Some(PathElem::Attr(name)) => Some(name.as_str()),
                _ => None,
            })
            .find(|name| !index.projects(&meta.key_schema, name))
    });
    let all_projected = index.projection == crate::model::Projection::All;
    let wants_all = common.select == Some(Select::AllAttributes);
    if global && wants_all && !all_projected {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {name} because its projection type is not ALL"
        )));
    }
    if let (true, Some(attribute)) = (global, missing) {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Global secondary index {name} does not project the attribute: {attribute}"
        )));
    }
    let fetch_from_table = !global && !all_projected && (wants_all || missing.is_some() || filtered);
    Ok(IndexRead {
        index: Some(index),
        fetch_from_table,
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
    if let Some(report) = page_capacity(common, meta, &page) {
        body["ConsumedCapacity"] = report;
    }
    body
}

/// ConsumedCapacity of one page, when the request asked for it: an LSI's
/// reads of the table's items cost a unit each, as DynamoDB counts those
/// fetches, on the table.
pub(super) fn page_capacity(common: &Common, meta: &TableMeta, page: &Page) -> Option<Value> {
    units_report(common, meta, PageUnits::of(common, page))
}

/// The read units a page consumed: on what it walked (the table, or the
/// index) and, for a local index, on the items it fetched from the table.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PageUnits {
    walked: f64,
    table_reads: f64,
}

impl PageUnits {
    pub(super) fn of(common: &Common, page: &Page) -> PageUnits {
        PageUnits {
            walked: read_units(page.bytes_read, common.consistent),
            table_reads: page.table_reads as f64 * read_units(1, common.consistent),
        }
    }

    /// The units of this page and `other` together.
    pub(super) fn plus(self, other: PageUnits) -> PageUnits {
        PageUnits {
            walked: self.walked + other.walked,
            table_reads: self.table_reads + other.table_reads,
        }
    }
}

/// ConsumedCapacity for `units` read by a Query or Scan, as `common` asks.
pub(super) fn units_report(common: &Common, meta: &TableMeta, units: PageUnits) -> Option<Value> {
    match common.index.as_deref().and_then(|name| meta.index(name)) {
        Some(index) => common.capacity.report_parts(
            &meta.name,
            units.table_reads,
            &[(index, units.walked)],
            CapacityKind::Read,
        ),
        None => common.capacity.report(&meta.name, units.walked, CapacityKind::Read),
    }
}

/// Query's `Limit` below 1: Query's message, unlike Scan's, names the
/// member capitalised and echoes no value.
fn check_query_limit(req: &Request) -> Result<(), ApiError> {
    match req.opt_i64("Limit")? {
        Some(l) if l < 1 => Err(ApiError::validation(
            "1 validation error detected: Value at 'Limit' failed to satisfy constraint: \
             Member must have value greater than or equal to 1",
        )),
        _ => Ok(()),
    }
}

/// Query.
pub async fn handle_query(engine: &Engine, capacity: &Capacity, req: Request) -> Result<Value, ApiError> {
    check_query_limit(&req)?;
    let common = parse_common(&req)?;
    let meta = engine.table_schema(&common.table)?;
    let index = common
        .index
        .as_deref()
        .map(|name| named_index(&meta, name))
        .transpose()?;
    let keys = index.map(|i| &i.key_schema).unwrap_or(&meta.key_schema);
    let mut expressions = Expressions::new(&req, &QUERY)?;
    let (partition, sort) = expressions.key_condition(&req, keys)?;
    let filter = expressions.filter(&req, "QueryFilter", Some(keys))?;
    let projection = expressions.projection(&req)?;
    expressions.finish()?;
    let plan = plan_index_read(&common, &meta, projection.as_ref(), filter.is_some())?;
    check_key_condition(keys, &partition, sort.as_ref())?;
    let start_after = req.opt_item("ExclusiveStartKey")?;
    if let Some(start) = &start_after {
        check_start_key(keys, &partition, sort.as_ref(), start)?;
    }
    let spec = RangeRead {
        table: common.table.clone(),
        partition: Some(partition),
        sort,
        forward: req.opt_bool("ScanIndexForward")?.unwrap_or(true),
        start_after,
        limit: common.limit,
        filter,
        segment: None,
        index: plan.index.map(|i| i.name.clone()),
        fetch_from_table: plan.fetch_from_table,
    };
    let (meta, page) = super::throttle::read_range(engine, capacity, "Query", spec, common.consistent).await?;
    Ok(page_response(&common, &meta, page, projection.as_ref()))
}

/// The order-preserving encoding of one key value: equal values (`1` and
/// `1.0`) encode equally, and byte order is DynamoDB's order.
fn encoded(value: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode_key_value(value, &mut out);
    out
}

/// The values a sort-key condition compares with.
fn sort_operands(condition: &SortCondition) -> Vec<&AttributeValue> {
    match condition {
        SortCondition::Eq(v)
        | SortCondition::Lt(v)
        | SortCondition::Le(v)
        | SortCondition::Gt(v)
        | SortCondition::Ge(v)
        | SortCondition::BeginsWith(v) => vec![v],
        SortCondition::Between(lo, hi) => vec![lo, hi],
    }
}

/// A key condition value must have its key attribute's type, and an equality
/// on a string or binary key cannot be empty (DynamoDB rejects both before
/// reading anything, rather than matching nothing).
fn check_key_value(attr: &KeyAttribute, value: &AttributeValue, equality: bool) -> Result<(), ApiError> {
    if value.type_name() != attr.ty.as_str() {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ));
    }
    let kind = match value {
        AttributeValue::S(s) if s.is_empty() => "string",
        AttributeValue::B(b) if b.is_empty() => "binary",
        _ => return Ok(()),
    };
    if equality {
        return Err(ApiError::validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {}",
            attr.name
        )));
    }
    Ok(())
}

fn check_key_condition(
    schema: &KeySchema,
    partition: &AttributeValue,
    sort: Option<&SortCondition>,
) -> Result<(), ApiError> {
    check_key_value(&schema.hash, partition, true)?;
    if let (Some(attr), Some(condition)) = (&schema.range, sort) {
        let equality = matches!(condition, SortCondition::Eq(_));
        for value in sort_operands(condition) {
            check_key_value(attr, value, equality)?;
        }
    }
    Ok(())
}

/// Whether a sort-key value satisfies the query's sort condition.
fn sort_matches(condition: &SortCondition, value: &AttributeValue) -> bool {
    let v = encoded(value);
    match condition {
        SortCondition::Eq(c) => v == encoded(c),
        SortCondition::Lt(c) => v < encoded(c),
        SortCondition::Le(c) => v <= encoded(c),
        SortCondition::Gt(c) => v > encoded(c),
        SortCondition::Ge(c) => v >= encoded(c),
        SortCondition::Between(lo, hi) => encoded(lo) <= v && v <= encoded(hi),
        SortCondition::BeginsWith(c) => match (value, c) {
            (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
            (AttributeValue::B(b), AttributeValue::B(p)) => b.starts_with(p),
            _ => false,
        },
    }
}

/// An ExclusiveStartKey must lie inside the queried partition and sort
/// range; otherwise DynamoDB rejects the request (a key of the wrong shape is
/// reported by the engine when it reads).
fn check_start_key(
    schema: &KeySchema,
    partition: &AttributeValue,
    sort: Option<&SortCondition>,
    start: &Item,
) -> Result<(), ApiError> {
    // Only the queried key's attributes are compared (an index's start key
    // holds the table's keys too); a key of the wrong shape is reported by
    // the engine when it reads.
    let Some(hash) = start.get(&schema.hash.name) else {
        return Ok(());
    };
    let range = schema.range.as_ref().and_then(|r| start.get(&r.name));
    let inside = encoded(hash) == encoded(partition)
        && match (sort, range) {
            (Some(condition), Some(value)) => sort_matches(condition, value),
            _ => true,
        };
    if !inside {
        return Err(ApiError::validation(
            "The provided starting key is outside query boundaries based on provided conditions",
        ));
    }
    Ok(())
}

/// Scan, including parallel scan segments.
pub async fn handle_scan(engine: &Engine, capacity: &Capacity, req: Request) -> Result<Value, ApiError> {
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
    let mut expressions = Expressions::new(&req, &SCAN)?;
    let filter = expressions.filter(&req, "ScanFilter", None)?;
    let projection = expressions.projection(&req)?;
    expressions.finish()?;
    let meta = engine.table_schema(&common.table)?;
    let plan = plan_index_read(&common, &meta, projection.as_ref(), filter.is_some())?;
    let spec = RangeRead {
        index: plan.index.map(|i| i.name.clone()),
        fetch_from_table: plan.fetch_from_table,
        table: common.table.clone(),
        partition: None,
        sort: None,
        forward: true,
        start_after: req.opt_item("ExclusiveStartKey")?,
        limit: common.limit,
        filter,
        segment,
    };
    let (meta, page) = super::throttle::read_range(engine, capacity, "Scan", spec, common.consistent).await?;
    Ok(page_response(&common, &meta, page, projection.as_ref()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::error::ErrorKind;

    fn common(body: Value) -> Result<Common, ApiError> {
        parse_common(&Request::parse(body.to_string().as_bytes()).expect("a JSON object"))
    }

    #[test]
    fn select_count_leaves_the_items_out() {
        let count = common(json!({ "TableName": "Sel", "Select": "COUNT" })).unwrap();
        assert!(count.select_count);
        for body in [
            json!({ "TableName": "Sel" }),
            json!({ "TableName": "Sel", "Select": "ALL_ATTRIBUTES" }),
            json!({ "TableName": "Sel", "Select": "SPECIFIC_ATTRIBUTES", "ProjectionExpression": "pk" }),
        ] {
            assert!(!common(body).unwrap().select_count);
        }
    }

    #[test]
    fn select_is_checked_against_the_projection() {
        let cases = [
            (
                json!({ "Select": "SPECIFIC_ATTRIBUTES" }),
                "Must specify the AttributesToGet",
            ),
            (
                json!({ "Select": "COUNT", "ProjectionExpression": "pk" }),
                "Cannot specify the AttributesToGet",
            ),
            (
                json!({ "Select": "ALL_ATTRIBUTES", "AttributesToGet": ["pk"] }),
                "Cannot specify the AttributesToGet",
            ),
            (
                json!({ "Select": "ALL_PROJECTED_ATTRIBUTES" }),
                "ALL_PROJECTED_ATTRIBUTES can be used only",
            ),
        ];
        for (mut body, start) in cases {
            body["TableName"] = json!("Sel");
            let error = common(body.clone()).err().expect("an error");
            assert_eq!(error.kind, ErrorKind::Validation, "{body}");
            assert!(error.message.starts_with(start), "{body}: {}", error.message);
        }
    }

    #[test]
    fn an_unknown_select_lists_dynamodbs_values() {
        let error = common(json!({ "TableName": "Sel", "Select": "SOME" }))
            .err()
            .expect("an error");
        assert_eq!(
            error.message,
            "1 validation error detected: Value 'SOME' at 'select' failed to satisfy constraint: Member must \
             satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
        );
    }
}
