//! PartiQL's data plane: ExecuteStatement and BatchExecuteStatement (and
//! the translation ExecuteTransaction uses, in `partiql_txn`).
//!
//! A statement is parsed by `crate::partiql` and run through the same
//! building blocks as the item and query operations: a SELECT naming a
//! whole key reads like GetItem, one naming a partition key like Query,
//! any other like Scan; INSERT, UPDATE and DELETE are conditional
//! PutItem, UpdateItem and DeleteItem. Capacity is admitted and charged as
//! for those operations.

use std::collections::HashSet;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::capacity::{CapacityDetail, CapacityKind, read_units};
use super::error::{ApiError, ErrorKind};
use super::items::{read_one, return_on_failure, write_response};
use super::query::{Common, PageUnits, page_capacity, parse_limit, plan_index_read, units_report};
use super::request::Request;
use super::throttle::{admit_write, read_range, settle_write};
use crate::capacity::Capacity;
use crate::engine::{Engine, ItemOp, ItemWrite, MAX_PAGE_BYTES, Page, Precondition, RangeRead};
use crate::expr::ast::Cond;
use crate::expr::{Condition, Projection, RangeCondition, UpdateExpr};
use crate::model::key::encode_primary_key;
use crate::model::{
    AttributeValue, IndexKind, Item, KeySchema, Number, NumberError, SecondaryIndex, TableMeta, ValueError,
    item_from_json, item_from_json_owned, item_into_json, item_to_json,
};
use crate::partiql::{
    self, Access, Change, MAX_STATEMENT_CHARS, PartiqlError, Returning, Select, Statement, WritePlan,
};

/// Most statements in one BatchExecuteStatement.
const MAX_BATCH_STATEMENTS: usize = 25;

impl From<PartiqlError> for ApiError {
    fn from(error: PartiqlError) -> ApiError {
        ApiError::validation(error.0)
    }
}

/// One statement of a request and the options that travel with it.
pub(super) struct StatementRequest {
    pub(super) text: String,
    pub(super) params: Vec<AttributeValue>,
    pub(super) consistent: bool,
    pub(super) return_on_failure: bool,
}

/// Reads `Statement`, `Parameters`, `ConsistentRead` and
/// `ReturnValuesOnConditionCheckFailure` from `req` (a request, or one
/// member of a batch or transaction), with DynamoDB's constraints.
pub(super) fn statement_request(req: &Request) -> Result<StatementRequest, ApiError> {
    let mut request = statement_shape(req)?;
    request.params = parameters(req)?;
    Ok(request)
}

/// `statement_request` but for the parameters' values, which are left
/// empty: what a batch member must get right for the batch to run at all.
fn statement_shape(req: &Request) -> Result<StatementRequest, ApiError> {
    let text = req
        .opt_str("Statement")?
        .ok_or_else(|| ApiError::missing("statement"))?;
    let length = text.chars().count();
    if length == 0 || length > MAX_STATEMENT_CHARS {
        return Err(ApiError::constraint(
            &format!("'{text}'"),
            "statement",
            "Member must have length less than or equal to 8192, Member must have length greater than or equal to 1",
        ));
    }
    if req.opt_array("Parameters")?.is_some_and(|list| list.is_empty()) {
        return Err(ApiError::constraint(
            "[]",
            "parameters",
            "Member must have length greater than or equal to 1",
        ));
    }
    Ok(StatementRequest {
        text: text.to_string(),
        params: Vec::new(),
        consistent: req.opt_bool("ConsistentRead")?.unwrap_or(false),
        return_on_failure: return_on_failure(req)?,
    })
}

/// The values of `Parameters`. A number DynamoDB cannot read is "The
/// parameter cannot be converted to a numeric value: <text>" (no text when
/// empty), as its PartiQL says, not the item operations' words.
fn parameters(req: &Request) -> Result<Vec<AttributeValue>, ApiError> {
    let Some(list) = req.opt_array("Parameters")? else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|json| match first_unreadable_number(json) {
            Some(text) => Err(unconvertible(Some(text))),
            None => AttributeValue::from_json(json).map_err(|error| match error {
                ValueError::Number(NumberError::Malformed(_)) => unconvertible(None),
                error => error.into(),
            }),
        })
        .collect()
}

fn unconvertible(text: Option<&str>) -> ApiError {
    match text {
        Some(text) if !text.is_empty() => {
            ApiError::validation(format!("The parameter cannot be converted to a numeric value: {text}"))
        }
        _ => ApiError::validation("The parameter cannot be converted to a numeric value"),
    }
}

/// The text of the first number in a JSON attribute value (in the order
/// `AttributeValue::from_json` reads it) that is not a number.
fn first_unreadable_number(json: &Value) -> Option<&str> {
    let unreadable = |v: &'_ Value| -> bool {
        v.as_str().is_none_or(|t| {
            matches!(Number::parse(t), Err(NumberError::Malformed(_))) || crate::partiql::exponent_too_long(t)
        })
    };
    let (tag, inner) = json.as_object()?.iter().find(|(_, v)| !v.is_null())?;
    match (tag.as_str(), inner) {
        ("N", v) if unreadable(v) => v.as_str(),
        ("NS", Value::Array(members)) => members.iter().find(|v| unreadable(v)).and_then(Value::as_str),
        ("L", Value::Array(values)) => values.iter().find_map(first_unreadable_number),
        ("M", Value::Object(values)) => values.values().find_map(first_unreadable_number),
        _ => None,
    }
}

/// One member of a batch or transaction: its request, and its statement
/// or the error parsing it gave.
pub(super) type Member = (StatementRequest, Result<Statement, ApiError>);

/// Reads and parses one member of `Statements` or `TransactStatements`.
pub(super) fn member_statement(member: &Value) -> Result<Member, ApiError> {
    let object = member
        .as_object()
        .cloned()
        .ok_or_else(|| ApiError::serialization("Unexpected value type in payload"))?;
    let req = Request::from_map(object);
    let mut request = statement_shape(&req)?;
    let statement = parameters(&req).and_then(|params| {
        request.params = params;
        partiql::parse(&request.text, &request.params).map_err(ApiError::from)
    });
    Ok((request, statement))
}

/// How one statement runs.
struct Run<'a> {
    engine: &'a Engine,
    throttle: &'a Capacity,
    operation: &'static str,
    consistent: bool,
    return_on_failure: bool,
    capacity: CapacityDetail,
    limit: Option<usize>,
    start_after: Option<Item>,
}

/// ExecuteStatement.
pub async fn handle_execute_statement(engine: &Engine, throttle: &Capacity, req: Request) -> Result<Value, ApiError> {
    let request = statement_request(&req)?;
    let limit = parse_limit(&req)?;
    let start_after = req.opt_str("NextToken")?.map(decode_token).transpose()?;
    let run = Run {
        engine,
        throttle,
        operation: "ExecuteStatement",
        consistent: request.consistent,
        return_on_failure: request.return_on_failure,
        capacity: CapacityDetail::from_request(&req)?,
        limit,
        start_after,
    };
    let statement = partiql::parse(&request.text, &request.params)?;
    run.statement(&statement).await
}

impl Run<'_> {
    async fn statement(&self, statement: &Statement) -> Result<Value, ApiError> {
        if let Statement::Exists(_) = statement {
            return Err(exists_outside_transaction());
        }
        let meta = self.engine.table_schema(&statement.target().table)?;
        match statement {
            Statement::Select(select) => self.select(&meta, select).await,
            _ => {
                let plan = partiql::write_plan(statement, &meta.key_schema)?
                    .ok_or_else(|| ApiError::new(ErrorKind::InternalServerError, "Internal server error"))?;
                self.write(plan).await
            }
        }
    }

    /// A SELECT: by key, partition or scan, on the table or an index.
    async fn select(&self, meta: &TableMeta, select: &Select) -> Result<Value, ApiError> {
        let index = statement_index(meta, select, self.consistent)?;
        let keys = index.map(|i| &i.key_schema).unwrap_or(&meta.key_schema);
        let projection = select.projection.clone().map(Projection::from_paths);
        let access = partiql::access(select.condition.as_ref(), keys);
        if select.ordered && access == Access::Scan {
            return Err(ApiError::validation(
                "Must have WHERE clause in the statement when using ORDER BY clause.",
            ));
        }
        match access {
            Access::Key(key) if index.is_none() && self.start_after.is_none() => {
                self.get(meta, key, select.condition.as_ref(), projection).await
            }
            Access::Key(mut key) => {
                let sort = keys
                    .range
                    .as_ref()
                    .and_then(|r| key.remove(&r.name))
                    .map(RangeCondition::Eq);
                let hash = key.remove(&keys.hash.name);
                self.range(meta, select, hash.map(|h| (h, sort)), projection).await
            }
            Access::Partition(hash, sort) => self.range(meta, select, Some((hash, sort)), projection).await,
            Access::Partitions(hashes, sort) => {
                let (page, units) = self
                    .partitions(meta, select, keys, &hashes, sort, projection.as_ref())
                    .await?;
                let capacity = units_report(&self.common(meta, select, self.limit), meta, units);
                Ok(page_body(page, projection.as_ref(), capacity))
            }
            Access::Scan => self.range(meta, select, None, projection).await,
        }
    }

    /// A SELECT of one item by its key: GetItem's path, then the rest of
    /// the WHERE clause.
    async fn get(
        &self,
        meta: &TableMeta,
        key: Item,
        condition: Option<&Cond>,
        projection: Option<Projection>,
    ) -> Result<Value, ApiError> {
        let table = &meta.name;
        let (item, bytes) = read_one(self.engine, self.throttle, self.operation, table, &key, self.consistent).await?;
        let matches = |item: &Item| condition.is_none_or(|c| crate::expr::eval_cond(c, item));
        let items: Vec<Value> = item
            .filter(matches)
            .map(|item| match &projection {
                Some(p) => item_into_json(partiql::project(p.paths(), &item)),
                None => item_into_json(item),
            })
            .into_iter()
            .collect();
        let mut body = json!({ "Items": items });
        let units = read_units(bytes, self.consistent);
        if let Some(report) = self.capacity.report(table, units, CapacityKind::Read) {
            body["ConsumedCapacity"] = report;
        }
        Ok(body)
    }

    /// A SELECT over a partition (Query) or everything (Scan), one page.
    async fn range(
        &self,
        meta: &TableMeta,
        select: &Select,
        partition: Option<(AttributeValue, Option<RangeCondition>)>,
        projection: Option<Projection>,
    ) -> Result<Value, ApiError> {
        let page = self
            .read_page(
                meta,
                select,
                partition,
                self.start_after.clone(),
                self.limit,
                projection.as_ref(),
            )
            .await?;
        let capacity = page_capacity(&self.common(meta, select, self.limit), meta, &page);
        Ok(page_body(page, projection.as_ref(), capacity))
    }

    /// One page of a partition, or of everything, from `start_after`.
    async fn read_page(
        &self,
        meta: &TableMeta,
        select: &Select,
        partition: Option<(AttributeValue, Option<RangeCondition>)>,
        start_after: Option<Item>,
        limit: Option<usize>,
        projection: Option<&Projection>,
    ) -> Result<Page, ApiError> {
        let common = self.common(meta, select, limit);
        let filter = select
            .condition
            .clone()
            .map(|c| Box::new(Condition::from_cond(c)) as Box<dyn Precondition>);
        // The filter reads only what the index projects (`statement_index`
        // checked), so it needs no item from the table.
        let plan = plan_index_read(&common, meta, projection, false)?;
        let operation = if partition.is_some() { "Query" } else { "Scan" };
        let (partition, sort) = partition.map_or((None, None), |(hash, sort)| (Some(hash), sort));
        let spec = RangeRead {
            table: common.table.clone(),
            partition,
            sort,
            forward: !select.descending,
            start_after,
            limit,
            filter,
            segment: None,
            index: plan.index.map(|i| i.name.clone()),
            fetch_from_table: plan.fetch_from_table,
        };
        let (_, page) = read_range(self.engine, self.throttle, operation, spec, common.consistent).await?;
        Ok(page)
    }

    /// A SELECT over several partitions: one Query each, in the order the
    /// statement names them, until the limit or a page's worth of bytes.
    /// The NextToken is the last key read; where a partition ended right
    /// at the stop, it is a marker holding only that partition's key
    /// value ("this partition is done").
    async fn partitions(
        &self,
        meta: &TableMeta,
        select: &Select,
        keys: &KeySchema,
        hashes: &[AttributeValue],
        sort: Option<RangeCondition>,
        projection: Option<&Projection>,
    ) -> Result<(Page, PageUnits), ApiError> {
        let marker_names = full_key_names(meta, keys);
        let (first, mut start_after) = match &self.start_after {
            None => (0, None),
            Some(token) => resume_point(token, &keys.hash.name, hashes, marker_names)?,
        };
        let mut total = Page::default();
        let mut units = PageUnits::default();
        let common = self.common(meta, select, self.limit);
        for (i, hash) in hashes.iter().enumerate().skip(first) {
            let limit = self.limit.map(|l| l - total.scanned);
            let partition = Some((hash.clone(), sort.clone()));
            let page = self
                .read_page(meta, select, partition, start_after.take(), limit, projection)
                .await?;
            let stopped = page.last_key.is_some();
            units = units.plus(PageUnits::of(&common, &page));
            total.items.extend(page.items);
            total.scanned += page.scanned;
            total.bytes_read += page.bytes_read;
            total.table_reads += page.table_reads;
            total.last_key = page.last_key;
            let full = self.limit.is_some_and(|l| total.scanned >= l) || total.bytes_read >= MAX_PAGE_BYTES;
            if stopped || (full && i + 1 < hashes.len()) {
                total.last_key = total
                    .last_key
                    .or_else(|| Some(Item::from([(keys.hash.name.clone(), hash.clone())])));
                break;
            }
        }
        Ok((total, units))
    }

    /// The Query/Scan parameters a SELECT's page is read with.
    fn common(&self, meta: &TableMeta, select: &Select, limit: Option<usize>) -> Common {
        Common {
            table: meta.name.clone(),
            index: select.target.index.clone(),
            limit,
            select: None,
            select_count: false,
            consistent: self.consistent,
            capacity: self.capacity,
        }
    }

    /// An INSERT, UPDATE or DELETE: one conditional item write.
    async fn write(&self, plan: WritePlan) -> Result<Value, ApiError> {
        let insert = matches!(plan.change, Change::Insert(_));
        let (op, updated) = match plan.change {
            // Through DynamoDB JSON and back, for the checks every item
            // written gets there (attribute names, nesting depth).
            Change::Insert(item) => (ItemOp::Put(item_from_json_owned(item_into_json(item))?), None),
            Change::Update(actions) => {
                let update = UpdateExpr::from_actions(actions);
                let updated = update.updated_projection();
                let mutator = Box::new(update);
                (ItemOp::Update { key: plan.key, mutator }, Some(updated))
            }
            Change::Delete => (ItemOp::Delete(plan.key), None),
            Change::Check => return Err(exists_outside_transaction()),
        };
        let write = ItemWrite {
            op,
            condition: plan
                .condition
                .map(|c| Box::new(Condition::from_cond(c)) as Box<dyn Precondition>),
            return_item_on_condition_failure: self.return_on_failure && !insert,
        };
        let table = plan.table;
        let (meta, admission) = admit_write(self.engine, self.throttle, &table, self.operation, &write.op)?;
        let result = self.engine.write_item(table.clone(), write).await;
        let written = match settle_write(self.throttle, &meta, admission, result) {
            Err(error) if insert && error.kind == ErrorKind::ConditionalCheckFailed => {
                return Err(ApiError::new(
                    ErrorKind::DuplicateItem,
                    "Duplicate primary key exists in table",
                ));
            }
            written => written?,
        };
        let outcome = &written.outcome;
        let returned = match (plan.returning, &updated) {
            (None, _) => None,
            (Some(Returning::AllOld), _) => Some(outcome.old.clone()),
            (Some(Returning::AllNew), _) => Some(outcome.new.clone()),
            (Some(Returning::ModifiedOld), Some(p)) => Some(outcome.old.as_ref().map(|i| p.apply(i))),
            (Some(Returning::ModifiedNew), Some(p)) => Some(outcome.new.as_ref().map(|i| p.apply(i))),
            (Some(_), None) => Some(None),
        };
        let mut body = write_response(&table, &meta, &written, None, self.capacity);
        // Without RETURNING, an empty list (DynamoDB sends one either way).
        let items: Vec<Value> = returned
            .flatten()
            .filter(|i| !i.is_empty())
            .map(item_into_json)
            .into_iter()
            .collect();
        body["Items"] = Value::Array(items);
        Ok(body)
    }
}

/// DynamoDB's refusal of an EXISTS outside ExecuteTransaction.
fn exists_outside_transaction() -> ApiError {
    ApiError::validation("The EXISTS function can only be used in transactions")
}

/// The index a SELECT names, checked in the words DynamoDB uses for
/// PartiQL (Query's differ): it exists, a GSI is read eventually
/// consistently and holds every attribute the SELECT asks for (an LSI reads
/// the rest from the table), and the index projects every attribute the
/// WHERE clause reads.
fn statement_index<'m>(
    meta: &'m TableMeta,
    select: &Select,
    consistent: bool,
) -> Result<Option<&'m SecondaryIndex>, ApiError> {
    let Some(name) = select.target.index.as_deref() else {
        return Ok(None);
    };
    let index = meta
        .index(name)
        .ok_or_else(|| ApiError::validation("The table does not have the specified index"))?;
    let global = index.kind == IndexKind::Global;
    if global && consistent {
        return Err(ApiError::validation(
            "Strongly consistent read is not supported on Global Secondary Indexes",
        ));
    }
    let unprojected = |names: Vec<&str>| -> Vec<String> {
        let mut missing: Vec<String> = Vec::new();
        for name in names {
            if !index.projects(&meta.key_schema, name) && !missing.iter().any(|m| m == name) {
                missing.push(name.to_string());
            }
        }
        missing
    };
    let selected = select.projection.iter().flatten().map(|p| p.head()).collect();
    let selected = unprojected(selected);
    if global && !selected.is_empty() {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Global secondary index {name} does not project [{}]",
            selected.join(", ")
        )));
    }
    let condition = select.condition.clone().map(Condition::from_cond);
    let filtered = unprojected(condition.iter().flat_map(Condition::attribute_names).collect());
    if !filtered.is_empty() {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Secondary index {name} does not project one or more filter attributes: [{}]",
            filtered.join(", ")
        )));
    }
    Ok(Some(index))
}

/// The response to a SELECT's page: its items, projected, its NextToken
/// and its capacity.
fn page_body(page: Page, projection: Option<&Projection>, capacity: Option<Value>) -> Value {
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|item| match projection {
            Some(p) => item_into_json(partiql::project(p.paths(), &item)),
            None => item_into_json(item),
        })
        .collect();
    let mut body = json!({ "Items": items });
    if let Some(key) = &page.last_key {
        body["NextToken"] = Value::String(encode_token(key));
        body["LastEvaluatedKey"] = item_to_json(key);
    }
    if let Some(report) = capacity {
        body["ConsumedCapacity"] = report;
    }
    body
}

/// How many attributes a whole start key of a read of `keys` (the table's
/// or an index's) has: the index's keys and the table's, each once.
fn full_key_names(meta: &TableMeta, keys: &KeySchema) -> usize {
    let mut names: Vec<&str> = keys.names().collect();
    names.extend(meta.key_schema.names().filter(|n| !keys.names().any(|k| k == *n)));
    names.len()
}

/// Where a multi-partition SELECT resumes from its NextToken: the
/// partition the token's key is in, and the key to read after (none after
/// a "partition done" marker, which resumes at the next partition).
fn resume_point(
    token: &Item,
    hash_name: &str,
    hashes: &[AttributeValue],
    full_key_names: usize,
) -> Result<(usize, Option<Item>), ApiError> {
    let invalid = || ApiError::validation("Invalid NextToken");
    let hash = token.get(hash_name).ok_or_else(invalid)?;
    let position = hashes.iter().position(|h| h == hash).ok_or_else(invalid)?;
    if token.len() == 1 && full_key_names > 1 {
        return Ok((position + 1, None));
    }
    Ok((position, Some(token.clone())))
}

/// A NextToken: the page's last key, as JSON in base64.
fn encode_token(key: &Item) -> String {
    base64::engine::general_purpose::STANDARD.encode(item_to_json(key).to_string())
}

fn decode_token(token: &str) -> Result<Item, ApiError> {
    let invalid = || ApiError::validation("Invalid NextToken");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| invalid())?;
    let json: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    item_from_json(&json).map_err(|_| invalid())
}

/// BatchExecuteStatement: up to 25 statements, all reads or all writes,
/// each run on its own with its own error in `Responses`.
pub async fn handle_batch_execute_statement(
    engine: &Engine,
    throttle: &Capacity,
    req: Request,
) -> Result<Value, ApiError> {
    let capacity = CapacityDetail::from_request(&req)?;
    let members = req
        .opt_array("Statements")?
        .ok_or_else(|| ApiError::missing("statements"))?;
    if members.is_empty() {
        return Err(ApiError::constraint(
            "'[]'",
            "statements",
            "Member must have length greater than or equal to 1",
        ));
    }
    if members.len() > MAX_BATCH_STATEMENTS {
        return Err(ApiError::validation(
            "Too many statements in BatchExecuteStatement; limit is 25",
        ));
    }
    let parsed = members.iter().map(member_statement).collect::<Result<Vec<_>, _>>()?;
    check_batch(engine, &parsed)?;
    let mut responses = Vec::with_capacity(parsed.len());
    let mut reports = Vec::new();
    for (request, statement) in parsed {
        let run = Run {
            engine,
            throttle,
            operation: "BatchExecuteStatement",
            consistent: request.consistent,
            // Inert on a batch member: DynamoDB returns no item with a
            // failed condition there, whatever the member asks.
            return_on_failure: false,
            capacity,
            limit: None,
            start_after: None,
        };
        let (response, report) = batch_member(&run, statement).await;
        responses.push(response);
        reports.extend(report);
    }
    let mut body = json!({ "Responses": responses });
    if capacity != CapacityDetail::None && !reports.is_empty() {
        body["ConsumedCapacity"] = Value::Array(merge_capacity(reports));
    }
    Ok(body)
}

/// The rules on a batch as a whole, checked before any statement runs:
/// reads and writes are not mixed, and no item is named twice.
fn check_batch(engine: &Engine, parsed: &[Member]) -> Result<(), ApiError> {
    let statements: Vec<&Statement> = parsed.iter().filter_map(|(_, s)| s.as_ref().ok()).collect();
    let reads = statements.iter().filter(|s| s.is_read()).count();
    if reads > 0 && reads < statements.len() {
        return Err(ApiError::validation(
            "Read and write requests together in the same batch is not supported.",
        ));
    }
    let mut seen = HashSet::new();
    for statement in statements {
        let Some((table, key)) = named_item(engine, statement) else {
            continue;
        };
        if !seen.insert((table, key)) {
            return Err(ApiError::validation("Provided list of item keys contains duplicates"));
        }
    }
    Ok(())
}

/// The table and encoded key of the one item a statement names, if it
/// names one.
fn named_item(engine: &Engine, statement: &Statement) -> Option<(String, Vec<u8>)> {
    let meta = engine.table_schema(&statement.target().table).ok()?;
    let key = match statement {
        Statement::Select(select) if select.target.index.is_none() => {
            partiql::key_of(select.condition.as_ref(), &meta.key_schema)?
        }
        Statement::Select(_) => return None,
        _ => partiql::write_plan(statement, &meta.key_schema).ok()??.key,
    };
    let key = meta.key_schema.key_from_request(&key).ok()?;
    Some((meta.name.clone(), encode_primary_key(&key.hash, key.range.as_ref())))
}

/// Runs one member of a batch: its `BatchStatementResponse` and the
/// capacity it consumed.
async fn batch_member(run: &Run<'_>, statement: Result<Statement, ApiError>) -> (Value, Option<Value>) {
    let table = statement.as_ref().ok().map(|s| s.target().table.clone());
    let result = match statement {
        Ok(statement) => match batch_read_check(run.engine, &statement) {
            Ok(()) => run.statement(&statement).await,
            Err(error) => Err(error),
        },
        Err(error) => Err(error),
    };
    match result {
        Ok(mut body) => {
            let mut response = Map::new();
            if let Some(table) = table {
                response.insert("TableName".into(), Value::String(table));
            }
            let item = body.get_mut("Items").and_then(|items| match items {
                Value::Array(items) if !items.is_empty() => Some(items.swap_remove(0)),
                _ => None,
            });
            if let Some(item) = item {
                response.insert("Item".into(), item);
            }
            (Value::Object(response), body.get("ConsumedCapacity").cloned())
        }
        Err(error) => (batch_error(error, table), None),
    }
}

/// A read in a batch must name its item by the table's whole key.
fn batch_read_check(engine: &Engine, statement: &Statement) -> Result<(), ApiError> {
    let Statement::Select(select) = statement else {
        return Ok(());
    };
    let meta = engine.table_schema(&select.target.table)?;
    let keyed = select.target.index.is_none() && partiql::key_of(select.condition.as_ref(), &meta.key_schema).is_some();
    if keyed {
        Ok(())
    } else {
        Err(ApiError::validation(
            "Select statements within BatchExecuteStatement must specify the primary key in the where clause.",
        ))
    }
}

/// A member's error: DynamoDB's short code, its message, the item when a
/// condition failed and it was asked for, and the table once the statement
/// ran.
fn batch_error(error: ApiError, table: Option<String>) -> Value {
    let code = batch_error_code(error.kind);
    let mut detail = json!({ "Code": code, "Message": error.message });
    if let Some(item) = &error.item {
        detail["Item"] = item_to_json(item);
    }
    let mut response = json!({ "Error": detail });
    if let (Some(table), false) = (table, code == "ValidationError") {
        response["TableName"] = Value::String(table);
    }
    response
}

/// `BatchStatementErrorCodeEnum` for an error kind.
fn batch_error_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ConditionalCheckFailed => "ConditionalCheckFailed",
        ErrorKind::DuplicateItem => "DuplicateItem",
        ErrorKind::ResourceNotFound | ErrorKind::TableNotFound => "ResourceNotFound",
        ErrorKind::ProvisionedThroughputExceeded => "ProvisionedThroughputExceeded",
        ErrorKind::Throttling => "ThrottlingError",
        ErrorKind::LimitExceeded => "RequestLimitExceeded",
        ErrorKind::AccessDenied => "AccessDenied",
        ErrorKind::InternalServerError => "InternalServerError",
        _ => "ValidationError",
    }
}

/// ConsumedCapacity reports of several statements, one per table, with
/// their units added up.
fn merge_capacity(reports: Vec<Value>) -> Vec<Value> {
    let mut merged: Vec<Value> = Vec::new();
    for report in reports {
        let table = report.get("TableName").cloned();
        match merged.iter_mut().find(|m| m.get("TableName") == table.as_ref()) {
            Some(existing) => add_units(existing, &report),
            None => merged.push(report),
        }
    }
    merged
}

/// Adds the numbers of `more` into `into`, member by member.
fn add_units(into: &mut Value, more: &Value) {
    let (Value::Object(into), Value::Object(more)) = (into, more) else {
        return;
    };
    for (name, value) in more {
        match (into.get_mut(name), value) {
            (Some(Value::Number(a)), Value::Number(b)) => {
                let sum = a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0);
                into.insert(name.clone(), json!(sum));
            }
            (Some(existing @ Value::Object(_)), Value::Object(_)) => add_units(existing, value),
            (None, _) => {
                into.insert(name.clone(), value.clone());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let key = Item::from([("pk".to_string(), AttributeValue::S("a".into()))]);
        assert_eq!(decode_token(&encode_token(&key)).unwrap(), key);
        for bad in ["", "!!!", "bm90IGpzb24="] {
            assert_eq!(decode_token(bad).unwrap_err().message, "Invalid NextToken", "{bad}");
        }
    }

    #[test]
    fn capacity_of_a_table_adds_up() {
        let merged = merge_capacity(vec![
            json!({ "TableName": "a", "CapacityUnits": 1.0, "Table": { "CapacityUnits": 1.0 } }),
            json!({ "TableName": "b", "CapacityUnits": 2.0 }),
            json!({ "TableName": "a", "CapacityUnits": 0.5, "Table": { "CapacityUnits": 0.5 } }),
        ]);
        assert_eq!(
            merged,
            vec![
                json!({ "TableName": "a", "CapacityUnits": 1.5, "Table": { "CapacityUnits": 1.5 } }),
                json!({ "TableName": "b", "CapacityUnits": 2.0 }),
            ]
        );
    }

    #[test]
    fn error_codes_are_dynamodbs_short_names() {
        let error = ApiError::new(ErrorKind::DuplicateItem, "Duplicate primary key exists in table");
        assert_eq!(
            batch_error(error, Some("t".into())),
            json!({ "Error": { "Code": "DuplicateItem", "Message": "Duplicate primary key exists in table" }, "TableName": "t" })
        );
        let error = ApiError::validation("bad");
        assert_eq!(
            batch_error(error, Some("t".into())),
            json!({ "Error": { "Code": "ValidationError", "Message": "bad" } })
        );
    }
}
