//! TransactWriteItems and TransactGetItems: the request shapes, capacity
//! (a transactional read or write costs twice its single-item cost) and
//! responses. The engine applies a write transaction all or nothing, in
//! one commit (`engine/transact.rs`), and reads a get transaction from one
//! snapshot.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::capacity::{CapacityDetail, CapacityKind, add_units, read_units, write_units};
use super::error::ApiError;
use super::expressions::{CONDITIONAL_WRITE, Expressions, Projection, READ, UPDATE};
use super::items::{item_collection_metrics, return_on_failure};
use super::request::{Request, validate_table_name};
use super::throttle::{
    ItemDemand, TableAdmission, admit_tables, estimated_write_units, first_appearances, gsi_units, index_write_units,
};
use crate::capacity::{Admission, Capacity};
use crate::engine::{
    CancelReason, ClientToken, Engine, EngineError, ItemOp, MAX_TRANSACTION_ACTIONS, TransactAction, TransactOp,
    WriteOutcome,
};
use crate::model::{Item, SecondaryIndex, TableMeta, item_from_json_owned, item_into_json, item_size};

/// Most bytes of items one write transaction may carry.
const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
/// Longest ClientRequestToken.
const MAX_TOKEN_LEN: usize = 36;

/// The kinds of action a TransactWriteItem may hold, in the order of the
/// shape's members.
const ACTION_KINDS: [&str; 4] = ["ConditionCheck", "Put", "Delete", "Update"];

/// `TransactItems`, taken out of the request: between 1 and 100 entries.
fn transact_items(req: &mut Request) -> Result<Vec<Value>, ApiError> {
    let items = match req.body_mut().remove("TransactItems") {
        None | Some(Value::Null) => return Err(ApiError::missing("transactItems")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::serialization("Unexpected value type in payload")),
    };
    let constraint = if items.is_empty() {
        "Member must have length greater than or equal to 1"
    } else if items.len() > MAX_TRANSACTION_ACTIONS {
        "Member must have length less than or equal to 100"
    } else {
        return Ok(items);
    };
    Err(ApiError::constraint_on(
        &Value::Array(items),
        "transactItems",
        constraint,
    ))
}

/// The one action member of TransactItems entry `position` (1-based, as
/// DynamoDB's messages count), with its kind.
fn action_member(position: usize, entry: Value) -> Result<(&'static str, Request), ApiError> {
    let Value::Object(mut entry) = entry else {
        return Err(ApiError::serialization("Unexpected value type in payload"));
    };
    let mut found = ACTION_KINDS
        .iter()
        .filter_map(|kind| match entry.remove(*kind) {
            Some(Value::Object(member)) => Some(Ok((*kind, member))),
            None | Some(Value::Null) => None,
            Some(_) => Some(Err(ApiError::serialization("Unexpected value type in payload"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if found.len() != 1 {
        return Err(ApiError::validation(
            "TransactItems can only contain one of Check, Put, Update or Delete",
        ));
    }
    let (kind, member) = found.remove(0);
    let request = Request::from_map(member);
    let table = request
        .str("TableName")
        .map_err(|_| ApiError::missing(&format!("transactItems.{position}.member.{}.tableName", lower(kind))))?;
    validate_table_name(
        table,
        &format!("transactItems.{position}.member.{}.tableName", lower(kind)),
    )?;
    Ok((kind, request))
}

/// `ConditionCheck` -> `conditionCheck`, as DynamoDB's member paths spell it.
fn lower(kind: &str) -> String {
    super::request::lower_first(kind)
}

/// A required item-shaped member of an action (`Item`, `Key`).
fn action_item(req: &mut Request, position: usize, kind: &str, name: &str) -> Result<Item, ApiError> {
    match req.body_mut().remove(name).filter(|v| !v.is_null()) {
        None => Err(ApiError::missing(&format!(
            "transactItems.{position}.member.{}.{}",
            lower(kind),
            lower(name)
        ))),
        Some(value) => Ok(item_from_json_owned(value)?),
    }
}

/// A required string member of an action (`ConditionExpression` of a
/// ConditionCheck, `UpdateExpression` of an Update).
fn require(req: &Request, position: usize, kind: &str, name: &str) -> Result<(), ApiError> {
    if req.opt_str(name)?.is_none() {
        return Err(ApiError::missing(&format!(
            "transactItems.{position}.member.{}.{}",
            lower(kind),
            lower(name)
        )));
    }
    Ok(())
}

/// One TransactItems entry as an engine action.
fn parse_action(position: usize, entry: Value) -> Result<TransactAction, ApiError> {
    let (kind, mut req) = action_member(position, entry)?;
    let table = req.table_name()?;
    let op = match kind {
        "ConditionCheck" => {
            require(&req, position, kind, "ConditionExpression")?;
            TransactOp::Check(action_item(&mut req, position, kind, "Key")?)
        }
        "Put" => TransactOp::Write(ItemOp::Put(action_item(&mut req, position, kind, "Item")?)),
        "Delete" => TransactOp::Write(ItemOp::Delete(action_item(&mut req, position, kind, "Key")?)),
        _ => {
            require(&req, position, kind, "UpdateExpression")?;
            let key = action_item(&mut req, position, kind, "Key")?;
            let mut expressions = Expressions::new(&req, &UPDATE)?;
            let (mutator, _) = expressions.update(&req)?;
            let condition = expressions.write_condition(&req)?;
            expressions.finish()?;
            return Ok(TransactAction {
                table,
                op: TransactOp::Write(ItemOp::Update { key, mutator }),
                condition,
                return_item_on_condition_failure: return_on_failure(&req)?,
            });
        }
    };
    let mut expressions = Expressions::new(&req, &CONDITIONAL_WRITE)?;
    let condition = expressions.write_condition(&req)?;
    expressions.finish()?;
    Ok(TransactAction {
        table,
        op,
        condition,
        return_item_on_condition_failure: return_on_failure(&req)?,
    })
}

/// ClientRequestToken's length: 1 to 36 characters.
fn token_length(req: &Request) -> Result<(), ApiError> {
    let Some(token) = req.opt_str("ClientRequestToken")? else {
        return Ok(());
    };
    let constraint = if token.is_empty() {
        "Member must have length greater than or equal to 1"
    } else if token.len() > MAX_TOKEN_LEN {
        "Member must have length less than or equal to 36"
    } else {
        return Ok(());
    };
    Err(ApiError::constraint(
        &format!("'{token}'"),
        "clientRequestToken",
        constraint,
    ))
}

/// ClientRequestToken, with a fingerprint of the rest of the request: the
/// same token must come with the same request.
fn client_token(req: &Request, items: &[Value]) -> Result<Option<ClientToken>, ApiError> {
    token_length(req)?;
    let Some(token) = req.opt_str("ClientRequestToken")? else {
        return Ok(None);
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for item in items {
        item.to_string().hash(&mut hasher);
    }
    req.opt_str("ReturnItemCollectionMetrics")?.hash(&mut hasher);
    Ok(Some(ClientToken {
        token: token.to_string(),
        fingerprint: hasher.finish(),
    }))
}

/// Bytes a transaction carries: its items and keys.
fn transaction_bytes(actions: &[TransactAction]) -> usize {
    actions.iter().map(|action| item_size(action.key())).sum()
}

/// A transactional write's estimated units: twice a single write's.
fn estimated_units(action: &TransactAction) -> f64 {
    match &action.op {
        TransactOp::Write(op) => 2.0 * estimated_write_units(op),
        TransactOp::Check(_) => 2.0 * write_units(0),
    }
}

/// Admits a transaction's writes, table by table; one table, or one global
/// secondary index, over its capacity refuses the whole transaction.
fn admit(
    engine: &Engine,
    throttle: &Capacity,
    actions: &[TransactAction],
) -> Result<Vec<(String, Admission)>, ApiError> {
    let items: Vec<ItemDemand<'_>> = actions
        .iter()
        .map(|action| ItemDemand {
            table: &action.table,
            key: action.key(),
            units: estimated_units(action),
            write: match &action.op {
                TransactOp::Write(op) => Some((op, 2.0)),
                TransactOp::Check(_) => None,
            },
        })
        .collect();
    admit_all(admit_tables(
        engine,
        throttle,
        "TransactWriteItems",
        CapacityKind::Write,
        &items,
        false,
    )?)
}

/// Every table's admission, or the first refusal.
fn admit_all(admissions: Vec<TableAdmission>) -> Result<Vec<(String, Admission)>, ApiError> {
    admissions
        .into_iter()
        .map(|(table, admission)| Ok((table, admission?.admission)))
        .collect()
}

/// What one action of a committed transaction consumed: twice a single
/// write's units on its table and on each index it changed.
struct Consumed<'m> {
    table: f64,
    indexes: Vec<(&'m SecondaryIndex, f64)>,
}

fn consumed<'m>(meta: &'m TableMeta, outcome: &WriteOutcome, check: bool) -> Consumed<'m> {
    if check {
        return Consumed {
            table: 2.0 * write_units(0),
            indexes: Vec::new(),
        };
    }
    let indexes = index_write_units(meta, outcome)
        .into_iter()
        .map(|(index, units)| (index, 2.0 * units))
        .collect();
    Consumed {
        table: 2.0 * write_units(outcome.billed_bytes()),
        indexes,
    }
}

/// ItemCollectionMetrics of a committed (or replayed) write transaction:
/// per table, one entry per item written to a table with local indexes.
async fn collection_metrics(
    engine: &Engine,
    tables: &[(String, bool)],
    outcomes: &[WriteOutcome],
) -> Result<Map<String, Value>, ApiError> {
    let mut metrics: Map<String, Value> = Map::new();
    for ((table, check), outcome) in tables.iter().zip(outcomes) {
        if *check {
            continue;
        }
        if let Some(metric) = item_collection_metrics(engine, table, outcome).await? {
            let list = metrics.entry(table.clone()).or_insert_with(|| json!([]));
            if let Value::Array(list) = list {
                list.push(metric);
            }
        }
    }
    Ok(metrics)
}

/// The schema of each table a transaction wrote, in the order the tables
/// first appear.
fn table_metas(engine: &Engine, tables: &[(String, bool)]) -> Result<Vec<(String, Arc<TableMeta>)>, ApiError> {
    first_appearances(tables.iter().map(|(table, _)| table.as_str()))
        .into_iter()
        .map(|table| Ok((table.to_string(), engine.table_schema(table)?)))
        .collect()
}

/// What each table of a committed transaction consumed (its own units and
/// each index's), in the order of `metas`.
fn consumption<'m>(
    metas: &'m [(String, Arc<TableMeta>)],
    tables: &[(String, bool)],
    outcomes: &[WriteOutcome],
) -> Vec<Consumed<'m>> {
    let per_table = |name: &String, meta: &'m TableMeta| {
        let mut total = Consumed {
            table: 0.0,
            indexes: Vec::new(),
        };
        for ((_, check), outcome) in tables.iter().zip(outcomes).filter(|((t, _), _)| t == name) {
            let part = consumed(meta, outcome, *check);
            total.table += part.table;
            add_units(&mut total.indexes, part.indexes);
        }
        total
    };
    metas.iter().map(|(name, meta)| per_table(name, meta)).collect()
}

/// One ConsumedCapacity per table written, in the order tables first appear.
fn capacity_reports(capacity: CapacityDetail, metas: &[(String, Arc<TableMeta>)], spent: &[Consumed<'_>]) -> Value {
    let reports = metas
        .iter()
        .zip(spent)
        .filter_map(|((name, _), part)| capacity.report_parts(name, part.table, &part.indexes, CapacityKind::Write));
    Value::Array(reports.collect())
}

/// The actions of a TransactWriteItems, numbered from 1 as DynamoDB's
/// messages number them, within the 4 MB a transaction may carry.
fn parse_actions(items: Vec<Value>) -> Result<Vec<TransactAction>, ApiError> {
    let actions = items
        .into_iter()
        .enumerate()
        .map(|(i, entry)| parse_action(i + 1, entry))
        .collect::<Result<Vec<_>, _>>()?;
    if transaction_bytes(&actions) > MAX_TRANSACTION_BYTES {
        return Err(ApiError::validation(
            "Transaction size has exceeded the maximum allowed size of 4 MB",
        ));
    }
    Ok(actions)
}

/// TransactWriteItems.
pub async fn handle_transact_write_items(
    engine: &Engine,
    throttle: &Capacity,
    mut req: Request,
) -> Result<Value, ApiError> {
    ApiError::together([
        token_length(&req),
        CapacityDetail::from_request(&req).map(drop),
        req.opt_enum("ReturnItemCollectionMetrics", &["SIZE", "NONE"]).map(drop),
    ])?;
    let capacity = CapacityDetail::from_request(&req)?;
    let items = transact_items(&mut req)?;
    let token = client_token(&req, &items)?;
    let actions = parse_actions(items)?;
    let tables: Vec<(String, bool)> = actions
        .iter()
        .map(|a| (a.table.clone(), matches!(a.op, TransactOp::Check(_))))
        .collect();
    let admissions = admit(engine, throttle, &actions)?;
    let outcomes = match engine.transact_write(actions, token).await {
        Ok(outcomes) => outcomes,
        Err(error) => {
            // DynamoDB charges a cancelled transaction what it was estimated at.
            admissions
                .into_iter()
                .for_each(|(_, admission)| admission.settle_estimate());
            return Err(error.into());
        }
    };
    let metas = table_metas(engine, &tables)?;
    let spent = consumption(&metas, &tables, &outcomes);
    for ((_, admission), part) in admissions.into_iter().zip(&spent) {
        admission.settle_write(part.table, &gsi_units(&part.indexes));
    }
    let mut body = json!({});
    if capacity != CapacityDetail::None {
        body["ConsumedCapacity"] = capacity_reports(capacity, &metas, &spent);
    }
    if req.opt_str("ReturnItemCollectionMetrics")? == Some("SIZE") {
        body["ItemCollectionMetrics"] = Value::Object(collection_metrics(engine, &tables, &outcomes).await?);
    }
    Ok(body)
}

/// One Get of a TransactGetItems.
struct Get {
    table: String,
    key: Item,
    projection: Option<Projection>,
}

fn parse_get(position: usize, entry: Value) -> Result<Get, ApiError> {
    let Value::Object(mut entry) = entry else {
        return Err(ApiError::serialization("Unexpected value type in payload"));
    };
    let member = match entry.remove("Get") {
        Some(Value::Object(member)) => member,
        None | Some(Value::Null) => return Err(ApiError::missing(&format!("transactItems.{position}.member.get"))),
        Some(_) => return Err(ApiError::serialization("Unexpected value type in payload")),
    };
    let mut req = Request::from_map(member);
    let table = req
        .str("TableName")
        .map_err(|_| ApiError::missing(&format!("transactItems.{position}.member.get.tableName")))?
        .to_string();
    validate_table_name(&table, &format!("transactItems.{position}.member.get.tableName"))?;
    let key = action_item(&mut req, position, "Get", "Key")?;
    let mut expressions = Expressions::new(&req, &READ)?;
    let projection = expressions.projection(&req)?;
    expressions.finish()?;
    Ok(Get { table, key, projection })
}

/// TransactGetItems: every item read from one snapshot.
pub async fn handle_transact_get_items(
    engine: &Engine,
    throttle: &Capacity,
    mut req: Request,
) -> Result<Value, ApiError> {
    let capacity = CapacityDetail::from_request(&req)?;
    let gets = transact_items(&mut req)?
        .into_iter()
        .enumerate()
        .map(|(i, entry)| parse_get(i + 1, entry))
        .collect::<Result<Vec<_>, _>>()?;
    let keys: Vec<(String, Item)> = gets.iter().map(|g| (g.table.clone(), g.key.clone())).collect();
    check_distinct(engine, &keys)?;
    let admissions = admit_gets(engine, throttle, &keys)?;
    let found = engine.transact_get(&keys).await?;
    let (responses, units) = get_responses(&gets, found.into_iter().map(|(_, item)| item));
    for (table, admission) in admissions {
        let spent = units.iter().find(|(t, _)| *t == table).map(|(_, u)| *u).unwrap_or(0.0);
        admission.settle(spent);
    }
    let mut body = json!({ "Responses": responses });
    if capacity != CapacityDetail::None {
        let reports: Vec<Value> = units
            .iter()
            .filter_map(|(table, u)| capacity.report(table, *u, CapacityKind::Read))
            .collect();
        body["ConsumedCapacity"] = Value::Array(reports);
    }
    Ok(body)
}

/// Each Get's response (its item, projected, or nothing) and the read
/// units each table spent: twice a strongly consistent read per item.
fn get_responses(gets: &[Get], found: impl Iterator<Item = Option<Item>>) -> (Vec<Value>, Vec<(&str, f64)>) {
    let mut responses = Vec::with_capacity(gets.len());
    let mut units: Vec<(&str, f64)> = Vec::new();
    for (get, item) in gets.iter().zip(found) {
        let cost = 2.0 * read_units(item.as_ref().map(item_size).unwrap_or(0), true);
        add_units(&mut units, [(get.table.as_str(), cost)]);
        responses.push(match item {
            Some(item) => {
                let item = match &get.projection {
                    Some(p) => p.apply(&item),
                    None => item,
                };
                json!({ "Item": item_into_json(item) })
            }
            None => json!({}),
        });
    }
    (responses, units)
}

/// No item may be named twice, and every key must match its table's schema:
/// a key that does not cancels the transaction with a ValidationError at
/// its position, as DynamoDB reports a Get's own faults.
fn check_distinct(engine: &Engine, keys: &[(String, Item)]) -> Result<(), ApiError> {
    let mut seen = HashSet::with_capacity(keys.len());
    let mut reasons = Vec::with_capacity(keys.len());
    for (table, key) in keys {
        let meta = engine.table_schema(table)?;
        let key = match meta.key_schema.key_from_request(key) {
            Ok(key) => key,
            Err(error) => {
                reasons.push(Some(CancelReason::Validation(error.to_string())));
                continue;
            }
        };
        if !seen.insert((table.as_str(), key.encoded)) {
            return Err(ApiError::validation(
                "Transaction request cannot include multiple operations on one item",
            ));
        }
        reasons.push(None);
    }
    if reasons.iter().any(Option::is_some) {
        return Err(EngineError::Canceled(reasons).into());
    }
    Ok(())
}

/// Admits a read transaction's gets, table by table, at twice a strongly
/// consistent read each.
fn admit_gets(
    engine: &Engine,
    throttle: &Capacity,
    keys: &[(String, Item)],
) -> Result<Vec<(String, Admission)>, ApiError> {
    let items: Vec<ItemDemand<'_>> = keys
        .iter()
        .map(|(table, key)| ItemDemand {
            table,
            key,
            units: 2.0 * read_units(0, true),
            write: None,
        })
        .collect();
    admit_all(admit_tables(
        engine,
        throttle,
        "TransactGetItems",
        CapacityKind::Read,
        &items,
        false,
    )?)
}
