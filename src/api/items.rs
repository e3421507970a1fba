//! Data plane for single items and batches: PutItem, GetItem, DeleteItem,
//! UpdateItem, BatchGetItem, BatchWriteItem.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::capacity::{CapacityDetail, CapacityKind, add_units, read_units, write_units};
use super::error::ApiError;
use super::expressions::{CONDITIONAL_WRITE, Expressions, Projection, READ, UPDATE};
use super::request::{Request, modes, validate_table_name};
use super::throttle::{
    ItemDemand, SettledWrite, admit_read, admit_tables, admit_write, estimated_write_units, gsi_units,
    index_write_units, key_demand, settle_write, write_key,
};
use crate::capacity::{Admission, Capacity, KeyDemand};
use crate::engine::{Engine, ItemOp, ItemWrite, WriteOutcome};
use crate::model::key::encode_primary_key;
use crate::model::{
    IndexKind, Item, SecondaryIndex, TableMeta, item_from_json, item_into_json, item_size, item_to_json,
};

/// Most keys in one BatchGetItem.
const MAX_BATCH_GET_KEYS: usize = 100;
/// Most requests in one BatchWriteItem.
const MAX_BATCH_WRITES: usize = 25;
/// Most bytes of items one BatchGetItem returns before the rest become
/// UnprocessedKeys.
const MAX_BATCH_GET_BYTES: usize = 16 * 1024 * 1024;

modes! {
    /// What a write returns of the item (ReturnValues).
    #[derive(Default)]
    pub enum ReturnValues = "ReturnValues" {
        #[default]
        None => "NONE",
        AllOld => "ALL_OLD",
        UpdatedOld => "UPDATED_OLD",
        AllNew => "ALL_NEW",
        UpdatedNew => "UPDATED_NEW",
    }

    /// What a write whose condition fails returns of the item
    /// (ReturnValuesOnConditionCheckFailure).
    #[derive(Default)]
    pub enum ReturnOnFailure = "ReturnValuesOnConditionCheckFailure" {
        AllOld => "ALL_OLD",
        #[default]
        None => "NONE",
    }
}

/// ReturnValues, checked against what the operation allows.
fn return_values(req: &Request, allowed: &[ReturnValues]) -> Result<ReturnValues, ApiError> {
    let value = req.mode()?;
    if !allowed.contains(&value) {
        return Err(ApiError::validation("Return values set to invalid value"));
    }
    Ok(value)
}

/// ReturnValuesOnConditionCheckFailure = ALL_OLD?
pub(super) fn return_on_failure(req: &Request) -> Result<bool, ApiError> {
    Ok(req.mode::<ReturnOnFailure>()? == ReturnOnFailure::AllOld)
}

/// ItemCollectionMetrics of a write, when ReturnItemCollectionMetrics is
/// SIZE (see `item_collection_metrics`).
async fn collection_metrics(
    engine: &Engine,
    req: &Request,
    table: &str,
    outcome: &WriteOutcome,
) -> Result<Option<Value>, ApiError> {
    if req.opt_str("ReturnItemCollectionMetrics")? != Some("SIZE") {
        return Ok(None);
    }
    item_collection_metrics(engine, table, outcome).await
}

/// ItemCollectionMetrics of a write to a table with local secondary
/// indexes: the partition key and the collection's size as DynamoDB's
/// range of whole gigabytes (`None` for a table without them).
pub(super) async fn item_collection_metrics(
    engine: &Engine,
    table: &str,
    outcome: &WriteOutcome,
) -> Result<Option<Value>, ApiError> {
    let meta = engine.table_schema(table)?;
    let Some(item) = outcome.new.as_ref().or(outcome.old.as_ref()) else {
        return Ok(None);
    };
    let hash_name = &meta.key_schema.hash.name;
    let has_local = meta.indexes.iter().any(|i| i.kind == IndexKind::Local);
    let (true, Some(hash)) = (has_local, item.get(hash_name)) else {
        return Ok(None);
    };
    let low = engine.item_collection_gib(table, hash.clone()).await? as f64;
    let key = Item::from([(hash_name.clone(), hash.clone())]);
    Ok(Some(json!({
        "ItemCollectionKey": item_to_json(&key),
        "SizeEstimateRangeGB": [low, low + 1.0],
    })))
}

/// A write's response body: its returned attributes and its capacity, as
/// `written` (a write to `table`, described by `meta`) was charged.
pub(super) fn write_response(
    table: &str,
    meta: &TableMeta,
    written: &SettledWrite<'_>,
    attributes: Option<Item>,
    capacity: CapacityDetail,
) -> Value {
    let mut body = json!({});
    if let Some(attributes) = attributes.filter(|a| !a.is_empty()) {
        body["Attributes"] = item_to_json(&attributes);
    }
    if capacity != CapacityDetail::None {
        let units = write_units(written.outcome.billed_bytes());
        let report = match meta.indexes.is_empty() {
            true => capacity.report(table, units, CapacityKind::Write),
            false => capacity.report_parts(table, units, &written.indexes, CapacityKind::Write),
        };
        if let Some(report) = report {
            body["ConsumedCapacity"] = report;
        }
    }
    body
}

/// PutItem and DeleteItem: one item replaced or removed, optionally under a
/// condition, returning the old item on ALL_OLD.
async fn conditional_write(
    engine: &Engine,
    throttle: &Capacity,
    operation: &'static str,
    req: Request,
    op: ItemOp,
) -> Result<Value, ApiError> {
    let table = req.table_name()?;
    let returns = return_values(&req, &[ReturnValues::None, ReturnValues::AllOld])?;
    let capacity = CapacityDetail::from_request(&req)?;
    let mut expressions = Expressions::new(&req, &CONDITIONAL_WRITE)?;
    let condition = expressions.write_condition(&req)?;
    expressions.finish()?;
    let write = ItemWrite {
        op,
        condition,
        return_item_on_condition_failure: return_on_failure(&req)?,
    };
    let (meta, admission) = admit_write(engine, throttle, &table, operation, &write.op)?;
    let result = engine.write_item(table.clone(), write).await;
    let written = settle_write(throttle, &meta, admission, result)?;
    let attributes = match returns {
        ReturnValues::AllOld => written.outcome.old.clone(),
        _ => None,
    };
    let mut body = write_response(&table, &meta, &written, attributes, capacity);
    if let Some(metrics) = collection_metrics(engine, &req, &table, &written.outcome).await? {
        body["ItemCollectionMetrics"] = metrics;
    }
    Ok(body)
}

/// PutItem.
pub async fn handle_put_item(engine: &Engine, throttle: &Capacity, mut req: Request) -> Result<Value, ApiError> {
    // The table name is checked before the item, as DynamoDB reports them.
    req.table_name()?;
    let item = req.item_as("Item", ApiError::enveloped_value)?;
    conditional_write(engine, throttle, "PutItem", req, ItemOp::Put(item)).await
}

/// DeleteItem.
pub async fn handle_delete_item(engine: &Engine, throttle: &Capacity, mut req: Request) -> Result<Value, ApiError> {
    req.table_name()?;
    let key = req.item_as("Key", ApiError::enveloped_value)?;
    conditional_write(engine, throttle, "DeleteItem", req, ItemOp::Delete(key)).await
}

/// UpdateItem.
pub async fn handle_update_item(engine: &Engine, throttle: &Capacity, mut req: Request) -> Result<Value, ApiError> {
    let table = req.table_name()?;
    let key = req.item_as("Key", ApiError::enveloped_value)?;
    let returns = req.mode::<ReturnValues>()?;
    let capacity = CapacityDetail::from_request(&req)?;
    let mut expressions = Expressions::new(&req, &UPDATE)?;
    let (mutator, updated) = expressions.update(&req)?;
    let condition = expressions.write_condition(&req)?;
    expressions.finish()?;
    let op = ItemOp::Update { key, mutator };
    let write = ItemWrite {
        op,
        condition,
        return_item_on_condition_failure: return_on_failure(&req)?,
    };
    let (meta, admission) = admit_write(engine, throttle, &table, "UpdateItem", &write.op)?;
    let result = engine.write_item(table.clone(), write).await;
    let written = settle_write(throttle, &meta, admission, result)?;
    let (old, new) = (&written.outcome.old, &written.outcome.new);
    let attributes = match returns {
        ReturnValues::None => None,
        ReturnValues::AllOld => old.clone(),
        ReturnValues::AllNew => new.clone(),
        ReturnValues::UpdatedOld => old.as_ref().map(|i| updated.apply(i)),
        ReturnValues::UpdatedNew => new.as_ref().map(|i| updated.apply(i)),
    };
    let mut body = write_response(&table, &meta, &written, attributes, capacity);
    if let Some(metrics) = collection_metrics(engine, &req, &table, &written.outcome).await? {
        body["ItemCollectionMetrics"] = metrics;
    }
    Ok(body)
}

/// GetItem.
pub async fn handle_get_item(engine: &Engine, throttle: &Capacity, mut req: Request) -> Result<Value, ApiError> {
    let table = req.table_name()?;
    let key = req.item("Key")?;
    let consistent = req.opt_bool("ConsistentRead")?.unwrap_or(false);
    let capacity = CapacityDetail::from_request(&req)?;
    let mut expressions = Expressions::new(&req, &READ)?;
    let projection = expressions.projection(&req)?;
    expressions.finish()?;
    let (item, bytes) = read_one(engine, throttle, "GetItem", &table, &key, consistent).await?;
    let mut body = json!({});
    if let Some(item) = item {
        let item = match &projection {
            Some(p) => p.apply(&item),
            None => item,
        };
        body["Item"] = item_into_json(item);
    }
    if let Some(report) = capacity.report(&table, read_units(bytes, consistent), CapacityKind::Read) {
        body["ConsumedCapacity"] = report;
    }
    Ok(body)
}

/// Reads one item by its key, admitted and charged as `operation`: the
/// item, if there is one, and the bytes it cost.
pub(super) async fn read_one(
    engine: &Engine,
    throttle: &Capacity,
    operation: &'static str,
    table: &str,
    key: &Item,
    consistent: bool,
) -> Result<(Option<Item>, usize), ApiError> {
    let meta = engine.table_schema(table)?;
    let demand = key_demand(&meta, key, read_units(0, consistent));
    let admission = admit_read(throttle, &meta, operation, demand.as_slice(), 1, consistent)?;
    let (_, item) = engine.get_item(table, key).await?;
    let bytes = item.as_ref().map(item_size).unwrap_or(0);
    admission.settle_read(read_units(bytes, consistent), operation, usize::from(item.is_some()));
    Ok((item, bytes))
}

/// `RequestItems` of BatchGetItem or BatchWriteItem (`operation`), with at
/// least one table, each validly named.
fn request_items<'r>(req: &'r Request, operation: &str) -> Result<&'r Map<String, Value>, ApiError> {
    let items = req
        .opt_object("RequestItems")?
        .ok_or_else(|| ApiError::missing("requestItems"))?;
    if items.is_empty() {
        return Err(ApiError::validation(format!(
            "The requestItems parameter is required for {operation}"
        )));
    }
    for table in items.keys() {
        validate_table_name(table, "requestItems.key")?;
    }
    Ok(items)
}

/// What BatchGetItem asks of one table.
struct TableGet {
    table: String,
    keys: Vec<Item>,
    raw: Map<String, Value>,
    consistent: bool,
    projection: Option<Projection>,
}

fn parse_table_get(table: &str, spec: &Value) -> Result<TableGet, ApiError> {
    let raw = spec
        .as_object()
        .cloned()
        .ok_or_else(|| ApiError::serialization("Unexpected value type in payload"))?;
    let sub = Request::from_map(raw.clone());
    let keys = sub
        .opt_array("Keys")?
        .ok_or_else(|| ApiError::missing("requestItems.member.keys"))?;
    if keys.is_empty() {
        return Err(ApiError::constraint(
            "[]",
            "requestItems.member.keys",
            "Member must have length greater than or equal to 1",
        ));
    }
    if keys.len() > MAX_BATCH_GET_KEYS {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'RequestItems.{table}.member.Keys' failed to satisfy constraint: \
             Member must have length less than or equal to {MAX_BATCH_GET_KEYS}"
        )));
    }
    let keys = keys.iter().map(item_from_json).collect::<Result<Vec<_>, _>>()?;
    let mut expressions = Expressions::new(&sub, &READ)?;
    let projection = expressions.projection(&sub)?;
    expressions.finish()?;
    let consistent = sub.opt_bool("ConsistentRead")?.unwrap_or(false);
    Ok(TableGet {
        table: table.to_string(),
        keys,
        raw,
        consistent,
        projection,
    })
}

/// BatchGetItem: up to 100 keys; keys beyond the 16 MB response limit come
/// back as UnprocessedKeys.
pub async fn handle_batch_get_item(engine: &Engine, throttle: &Capacity, req: Request) -> Result<Value, ApiError> {
    let capacity = CapacityDetail::from_request(&req)?;
    let gets = request_items(&req, "BatchGetItem")?
        .iter()
        .map(|(table, spec)| parse_table_get(table, spec))
        .collect::<Result<Vec<_>, _>>()?;
    if gets.iter().map(|g| g.keys.len()).sum::<usize>() > MAX_BATCH_GET_KEYS {
        return Err(ApiError::validation(
            "Too many items requested for the BatchGetItem call",
        ));
    }
    let mut responses = Map::new();
    let mut unprocessed = Map::new();
    let mut consumed = Vec::new();
    let mut returned_bytes = 0;
    let mut refusal = None;
    let mut served = false;
    for get in gets {
        let meta = engine.table_schema(&get.table)?;
        let admission = match admit_batch_get(throttle, &meta, &get) {
            Ok(admission) => admission,
            Err(error) => {
                unprocessed.insert(get.table.clone(), Value::Object(get.raw.clone()));
                refusal = Some(error);
                continue;
            }
        };
        served = true;
        let (meta, items) = engine.get_items(&get.table, &get.keys).await?;
        let mut seen = HashSet::new();
        for key in &get.keys {
            let key = meta
                .key_schema
                .key_from_request(key)
                .map_err(|e| ApiError::validation(e.to_string()))?;
            if !seen.insert(encode_primary_key(&key.hash, key.range.as_ref())) {
                return Err(ApiError::validation("Provided list of item keys contains duplicates"));
            }
        }
        let mut found = Vec::new();
        let mut left = Vec::new();
        let mut units = 0.0;
        for (key, item) in get.keys.iter().zip(items) {
            if returned_bytes >= MAX_BATCH_GET_BYTES {
                left.push(item_to_json(key));
                continue;
            }
            let bytes = item.as_ref().map(item_size).unwrap_or(0);
            units += read_units(bytes, get.consistent);
            if let Some(item) = item {
                returned_bytes += bytes;
                let item = match &get.projection {
                    Some(p) => p.apply(&item),
                    None => item,
                };
                found.push(item_into_json(item));
            }
        }
        admission.settle_read(units, "BatchGetItem", found.len());
        responses.insert(get.table.clone(), Value::Array(found));
        if !left.is_empty() {
            let mut spec = get.raw.clone();
            spec.insert("Keys".into(), Value::Array(left));
            unprocessed.insert(get.table.clone(), Value::Object(spec));
        }
        consumed.extend(capacity.report(&get.table, units, CapacityKind::Read));
    }
    if let (Some(error), false) = (refusal, served) {
        return Err(error);
    }
    let mut body = json!({ "Responses": responses, "UnprocessedKeys": unprocessed });
    if capacity != CapacityDetail::None {
        body["ConsumedCapacity"] = Value::Array(consumed);
    }
    Ok(body)
}

/// Admits the reads of one table of a BatchGetItem.
fn admit_batch_get(throttle: &Capacity, meta: &TableMeta, get: &TableGet) -> Result<Admission, ApiError> {
    let unit = read_units(0, get.consistent);
    let keys: Vec<KeyDemand<'_>> = get.keys.iter().filter_map(|k| key_demand(meta, k, unit)).collect();
    admit_read(throttle, meta, "BatchGetItem", &keys, get.keys.len(), get.consistent)
}

fn parse_write_request(table: &str, request: &Value) -> Result<(String, ItemWrite), ApiError> {
    let object = request
        .as_object()
        .ok_or_else(|| ApiError::serialization("Unexpected value type in payload"))?;
    let put = object.get("PutRequest").filter(|v| !v.is_null());
    let delete = object.get("DeleteRequest").filter(|v| !v.is_null());
    let op = match (put, delete) {
        (Some(put), None) => {
            let item = put
                .get("Item")
                .ok_or_else(|| ApiError::missing("requestItems.member.member.putRequest.item"))?;
            ItemOp::Put(item_from_json(item)?)
        }
        (None, Some(delete)) => {
            let key = delete
                .get("Key")
                .ok_or_else(|| ApiError::missing("requestItems.member.member.deleteRequest.key"))?;
            ItemOp::Delete(item_from_json(key)?)
        }
        _ => {
            return Err(ApiError::validation(
                "Supplied WriteRequest must contain exactly one of PutRequest and DeleteRequest",
            ));
        }
    };
    Ok((table.to_string(), ItemWrite::new(op)))
}

/// The writes of a BatchWriteItem that capacity admitted, per table, and
/// the WriteRequests it refused.
struct AdmittedWrites {
    /// Each table written and its admission.
    tables: Vec<(String, Admission)>,
    writes: Vec<(String, ItemWrite)>,
    unprocessed: Map<String, Value>,
}

/// Admits a BatchWriteItem's writes table by table: the writes of a table
/// over its capacity, and each write whose global secondary indexes lack
/// write capacity for it, come back as UnprocessedItems; when none is
/// admitted, the whole request is refused, as DynamoDB does.
fn admit_batch_writes(
    engine: &Engine,
    throttle: &Capacity,
    writes: Vec<(String, ItemWrite)>,
    raw: Vec<&Value>,
) -> Result<AdmittedWrites, ApiError> {
    let items: Vec<ItemDemand<'_>> = writes
        .iter()
        .map(|(table, write)| ItemDemand {
            table,
            key: write_key(&write.op),
            units: estimated_write_units(&write.op),
            write: Some((&write.op, 1.0)),
        })
        .collect();
    let mut tables = Vec::new();
    let mut refused = vec![false; items.len()];
    let mut refusal = None;
    for (table, admission) in admit_tables(engine, throttle, "BatchWriteItem", CapacityKind::Write, &items, true)? {
        match admission {
            Ok(admitted) => {
                admitted.refused.iter().for_each(|i| refused[*i] = true);
                tables.push((table, admitted.admission));
            }
            Err(error) => {
                let theirs = items.iter().enumerate().filter(|(_, item)| item.table == table);
                theirs.for_each(|(i, _)| refused[i] = true);
                refusal = Some(error);
            }
        }
    }
    drop(items);
    if let (Some(error), true) = (refusal, tables.is_empty()) {
        return Err(error);
    }
    let mut admitted = AdmittedWrites {
        tables,
        writes: Vec::new(),
        unprocessed: Map::new(),
    };
    for (((table, write), request), refused) in writes.into_iter().zip(raw).zip(refused) {
        if refused {
            let requests = admitted.unprocessed.entry(table).or_insert_with(|| json!([]));
            if let Value::Array(requests) = requests {
                requests.push(request.clone());
            }
        } else {
            admitted.writes.push((table, write));
        }
    }
    Ok(admitted)
}

/// BatchWriteItem's enum members, ReturnConsumedCapacity and
/// ReturnItemCollectionMetrics, checked together before anything else.
fn batch_write_enums(req: &Request) -> Result<CapacityDetail, ApiError> {
    let metrics = req.opt_enum("ReturnItemCollectionMetrics", &["SIZE", "NONE"]).map(drop);
    ApiError::together([CapacityDetail::from_request(req).map(drop), metrics])?;
    CapacityDetail::from_request(req)
}

/// BatchWriteItem: up to 25 puts and deletes, each atomic, validated as a
/// whole before any is written. The writes of a table over its capacity
/// come back as UnprocessedItems; all others are processed.
pub async fn handle_batch_write_item(engine: &Engine, throttle: &Capacity, req: Request) -> Result<Value, ApiError> {
    let capacity = batch_write_enums(&req)?;
    let mut writes = Vec::new();
    let mut raw = Vec::new();
    let items = request_items(&req, "BatchWriteItem")?;
    for (table, requests) in items {
        let requests = requests
            .as_array()
            .ok_or_else(|| ApiError::serialization("Unexpected value type in payload"))?;
        if requests.is_empty() || requests.len() > MAX_BATCH_WRITES {
            return Err(ApiError::constraint_on(
                &Value::Object(items.clone()),
                "requestItems",
                "Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
            ));
        }
        for request in requests {
            writes.push(parse_write_request(table, request)?);
            raw.push(request);
        }
    }
    if writes.len() > MAX_BATCH_WRITES {
        return Err(ApiError::validation(
            "Too many items requested for the BatchWriteItem call",
        ));
    }
    let admitted = admit_batch_writes(engine, throttle, writes, raw)?;
    let tables: Vec<String> = admitted.writes.iter().map(|(t, _)| t.clone()).collect();
    let outcomes = engine.write_batch(admitted.writes).await?;
    let mut body = json!({ "UnprocessedItems": admitted.unprocessed });
    let mut reports = Vec::new();
    for (table, admission) in admitted.tables {
        let meta = engine.table_schema(&table)?;
        let mut units = 0.0;
        let mut index_units: Vec<(&SecondaryIndex, f64)> = Vec::new();
        for (_, outcome) in tables.iter().zip(&outcomes).filter(|(t, _)| **t == table) {
            units += write_units(outcome.billed_bytes());
            add_units(&mut index_units, index_write_units(&meta, outcome));
        }
        reports.extend(capacity.report_parts(&table, units, &index_units, CapacityKind::Write));
        admission.settle_write(units, &gsi_units(&index_units));
    }
    if capacity != CapacityDetail::None {
        body["ConsumedCapacity"] = Value::Array(reports);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::error::ErrorKind;

    fn request(body: Value) -> Request {
        Request::parse(body.to_string().as_bytes()).expect("a JSON object")
    }

    #[test]
    fn return_values_parse_to_their_variants() {
        let cases = [
            ("NONE", ReturnValues::None),
            ("ALL_OLD", ReturnValues::AllOld),
            ("UPDATED_OLD", ReturnValues::UpdatedOld),
            ("ALL_NEW", ReturnValues::AllNew),
            ("UPDATED_NEW", ReturnValues::UpdatedNew),
        ];
        for (name, value) in cases {
            assert_eq!(
                request(json!({ "ReturnValues": name })).mode::<ReturnValues>().unwrap(),
                value
            );
        }
        assert_eq!(request(json!({})).mode::<ReturnValues>().unwrap(), ReturnValues::None);
    }

    #[test]
    fn an_unknown_return_values_is_dynamodbs_enum_error() {
        let error = request(json!({ "ReturnValues": "ALL" }))
            .mode::<ReturnValues>()
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Validation);
        assert_eq!(
            error.message,
            "1 validation error detected: Value 'ALL' at 'returnValues' failed to satisfy constraint: \
             Member must satisfy enum value set: [NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW]"
        );
    }

    #[test]
    fn put_and_delete_allow_only_none_and_all_old() {
        let allowed = [ReturnValues::None, ReturnValues::AllOld];
        for name in ["NONE", "ALL_OLD"] {
            assert!(return_values(&request(json!({ "ReturnValues": name })), &allowed).is_ok());
        }
        for name in ["UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"] {
            let error = return_values(&request(json!({ "ReturnValues": name })), &allowed).unwrap_err();
            assert_eq!(error.kind, ErrorKind::Validation);
            assert_eq!(error.message, "Return values set to invalid value", "{name}");
        }
    }

    #[test]
    fn return_on_failure_is_all_old_or_none() {
        let on_failure = |body| return_on_failure(&request(body));
        let asks = |body| on_failure(body).unwrap();
        assert!(asks(json!({ "ReturnValuesOnConditionCheckFailure": "ALL_OLD" })));
        assert!(!asks(json!({ "ReturnValuesOnConditionCheckFailure": "NONE" })));
        assert!(!asks(json!({})));
        let error = on_failure(json!({ "ReturnValuesOnConditionCheckFailure": "ALL_NEW" })).unwrap_err();
        assert_eq!(
            error.message,
            "1 validation error detected: Value 'ALL_NEW' at 'returnValuesOnConditionCheckFailure' failed \
             to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
        );
    }
}
