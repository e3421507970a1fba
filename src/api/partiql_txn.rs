//! ExecuteTransaction: its statements translated (a pure function,
//! `translate`) into a TransactWriteItems request (INSERT, UPDATE, DELETE
//! and EXISTS as Put, Update, Delete and ConditionCheck) or a
//! TransactGetItems request (SELECTs), and
//! run by those operations' handlers, so a PartiQL transaction has exactly
//! their rules: one commit, cancellation reasons, idempotency tokens,
//! capacity at twice the single-item cost.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::error::{ApiError, ErrorKind};
use super::partiql::{StatementRequest, member_statement};
use super::request::Request;
use super::transactions::{handle_transact_get_items, handle_transact_write_items};
use crate::capacity::Capacity;
use crate::engine::Engine;
use crate::expr::ast::{Cond, Path};
use crate::expr::eval_cond;
use crate::model::{TableMeta, item_from_json, item_into_json, item_to_json};
use crate::partiql::{self, Change, Renderer, Statement, WritePlan};

/// Most statements in one ExecuteTransaction.
const MAX_TRANSACTION_STATEMENTS: usize = 100;

/// A transaction's statements as one request of a transaction operation.
#[derive(Debug, PartialEq)]
pub(super) enum Translated {
    /// TransactWriteItems; the positions of INSERTs, whose failed
    /// conditions are DuplicateItem.
    Write { request: Value, inserts: Vec<usize> },
    /// TransactGetItems; what each SELECT keeps of its item afterwards.
    Read { request: Value, reads: Vec<ReadRest> },
}

/// What a transactional SELECT applies to the item TransactGetItems
/// returns: the rest of its WHERE clause and its projection.
#[derive(Debug, PartialEq)]
pub(super) struct ReadRest {
    condition: Option<Cond>,
    projection: Option<Vec<Path>>,
}

/// "Validation failed in TransactStatements[i]: ...", DynamoDB's shape for
/// a statement a transaction cannot hold.
fn invalid_at(position: usize, detail: &str) -> ApiError {
    ApiError::validation(format!("Validation failed in TransactStatements[{position}]: {detail}"))
}

/// Translates parsed statements, looking each table up with `schema`.
pub(super) fn translate(
    statements: &[(StatementRequest, Statement)],
    schema: &dyn Fn(&str) -> Result<Arc<TableMeta>, ApiError>,
) -> Result<Translated, ApiError> {
    let reads = statements.iter().filter(|(_, s)| s.is_read()).count();
    if reads > 0 && reads < statements.len() {
        return Err(ApiError::validation(
            "ExecuteTransaction API does not support both read and write operations in the same request.",
        ));
    }
    if reads > 0 {
        return translate_reads(statements, schema);
    }
    let mut items = Vec::with_capacity(statements.len());
    let mut inserts = Vec::new();
    for (position, (request, statement)) in statements.iter().enumerate() {
        let meta = schema(&statement.target().table)?;
        let plan = partiql::write_plan(statement, &meta.key_schema)
            .map_err(|error| match statement {
                Statement::Exists(_) => invalid_at(position, &error.0),
                _ => error.into(),
            })?
            .ok_or_else(|| ApiError::new(ErrorKind::InternalServerError, "Internal server error"))?;
        if plan.returning.is_some() {
            return Err(invalid_at(
                position,
                "RETURNING clause is not supported in ExecuteTransaction.",
            ));
        }
        if matches!(plan.change, Change::Insert(_)) {
            inserts.push(position);
        }
        items.push(write_item(plan, request.return_on_failure));
    }
    Ok(Translated::Write {
        request: json!({ "TransactItems": items }),
        inserts,
    })
}

/// One TransactItems entry: Put, Update, Delete or (for an EXISTS)
/// ConditionCheck, with its expressions.
fn write_item(plan: WritePlan, return_on_failure: bool) -> Value {
    let mut renderer = Renderer::new();
    let mut member = Map::new();
    member.insert("TableName".into(), Value::String(plan.table));
    let kind = match plan.change {
        Change::Insert(item) => {
            member.insert("Item".into(), item_into_json(item));
            "Put"
        }
        Change::Update(actions) => {
            member.insert("Key".into(), item_to_json(&plan.key));
            member.insert("UpdateExpression".into(), Value::String(renderer.update(&actions)));
            "Update"
        }
        Change::Delete => {
            member.insert("Key".into(), item_to_json(&plan.key));
            "Delete"
        }
        Change::Check => {
            member.insert("Key".into(), item_to_json(&plan.key));
            "ConditionCheck"
        }
    };
    if let Some(condition) = &plan.condition {
        member.insert("ConditionExpression".into(), Value::String(renderer.cond(condition)));
    }
    placeholders(&mut member, renderer);
    if return_on_failure {
        member.insert("ReturnValuesOnConditionCheckFailure".into(), json!("ALL_OLD"));
    }
    json!({ kind: member })
}

/// ExpressionAttributeNames and ExpressionAttributeValues, when there are any.
fn placeholders(member: &mut Map<String, Value>, renderer: Renderer) {
    if !renderer.names.is_empty() {
        let names = renderer.names.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        member.insert("ExpressionAttributeNames".into(), Value::Object(names));
    }
    if !renderer.values.is_empty() {
        let values = renderer.values.into_iter().map(|(k, v)| (k, v.to_json())).collect();
        member.insert("ExpressionAttributeValues".into(), Value::Object(values));
    }
}

/// SELECTs as Gets of whole items by key; the WHERE clause's other
/// conditions and the projection are applied to what comes back.
fn translate_reads(
    statements: &[(StatementRequest, Statement)],
    schema: &dyn Fn(&str) -> Result<Arc<TableMeta>, ApiError>,
) -> Result<Translated, ApiError> {
    let mut items = Vec::with_capacity(statements.len());
    let mut reads = Vec::with_capacity(statements.len());
    for (position, (_, statement)) in statements.iter().enumerate() {
        let Statement::Select(select) = statement else {
            return Err(ApiError::new(ErrorKind::InternalServerError, "Internal server error"));
        };
        if select.target.index.is_some() {
            return Err(invalid_at(
                position,
                "Reads on indices are not supported within transactions.",
            ));
        }
        let meta = schema(&select.target.table)?;
        let key = partiql::key_of(select.condition.as_ref(), &meta.key_schema).ok_or_else(|| {
            invalid_at(
                position,
                "Select statements within ExecuteTransaction must specify the primary key in the where clause.",
            )
        })?;
        items.push(json!({ "Get": { "TableName": select.target.table, "Key": item_to_json(&key) } }));
        reads.push(ReadRest {
            condition: select.condition.clone(),
            projection: select.projection.clone(),
        });
    }
    Ok(Translated::Read {
        request: json!({ "TransactItems": items }),
        reads,
    })
}

/// ExecuteTransaction.
pub async fn handle_execute_transaction(engine: &Engine, throttle: &Capacity, req: Request) -> Result<Value, ApiError> {
    let members = req
        .opt_array("TransactStatements")?
        .ok_or_else(|| ApiError::missing("transactStatements"))?;
    if members.is_empty() || members.len() > MAX_TRANSACTION_STATEMENTS {
        let (value, constraint) = if members.is_empty() {
            ("'[]'", "Member must have length greater than or equal to 1")
        } else {
            ("'[...]'", "Member must have length less than or equal to 100")
        };
        return Err(ApiError::constraint(value, "transactStatements", constraint));
    }
    let mut statements = Vec::with_capacity(members.len());
    for member in members {
        let (request, statement) = member_statement(member)?;
        statements.push((request, statement?));
    }
    let translated = translate(&statements, &|table| Ok(engine.table_schema(table)?))?;
    let pass_on = |mut request: Value| {
        for member in ["ClientRequestToken", "ReturnConsumedCapacity"] {
            if let Some(value) = req.get(member) {
                request[member] = value.clone();
            }
        }
        match request {
            Value::Object(map) => Request::from_map(map),
            _ => Request::from_map(Map::new()),
        }
    };
    match translated {
        Translated::Write { request, inserts } => {
            let mut body = handle_transact_write_items(engine, throttle, pass_on(request))
                .await
                .map_err(|error| duplicate_inserts(error, &inserts))?;
            // Writes answer with no entry each: an empty list.
            body["Responses"] = json!([]);
            Ok(body)
        }
        Translated::Read { request, reads } => {
            let body = handle_transact_get_items(engine, throttle, pass_on(request)).await?;
            finish_reads(body, &reads)
        }
    }
}

/// A cancelled transaction's INSERTs whose item existed fail with
/// DuplicateItem, as DynamoDB reports them, rather than as a condition.
fn duplicate_inserts(mut error: ApiError, inserts: &[usize]) -> ApiError {
    let Some(reasons) = error.reasons.as_mut() else {
        return error;
    };
    for &position in inserts {
        if let Some(reason) = reasons.get_mut(position)
            && reason["Code"] == "ConditionalCheckFailed"
        {
            *reason = json!({ "Code": "DuplicateItem", "Message": "Duplicate primary key exists in table" });
        }
    }
    let codes: Vec<&str> = reasons.iter().map(|r| r["Code"].as_str().unwrap_or("None")).collect();
    error.message = format!(
        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
        codes.join(", ")
    );
    error
}

/// TransactGetItems' answer as ExecuteTransaction's: each item kept only
/// if it meets the rest of its WHERE clause, then projected.
fn finish_reads(mut body: Value, reads: &[ReadRest]) -> Result<Value, ApiError> {
    let Some(Value::Array(responses)) = body.get_mut("Responses") else {
        return Ok(body);
    };
    for (response, rest) in responses.iter_mut().zip(reads) {
        let Some(json) = response.get("Item") else {
            continue;
        };
        let item = item_from_json(json)?;
        *response = match &rest.condition {
            Some(condition) if !eval_cond(condition, &item) => json!({}),
            _ => {
                let item = match &rest.projection {
                    Some(paths) => partiql::project(paths, &item),
                    None => item,
                };
                json!({ "Item": item_into_json(item) })
            }
        };
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(table: &str) -> Result<Arc<TableMeta>, ApiError> {
        Ok(Arc::new(TableMeta::sample(table, 1)))
    }

    fn statements(texts: &[&str]) -> Vec<(StatementRequest, Statement)> {
        texts
            .iter()
            .map(|text| {
                let request = StatementRequest {
                    text: text.to_string(),
                    params: Vec::new(),
                    consistent: false,
                    return_on_failure: text.contains("v > 5"),
                };
                let statement = partiql::parse(text, &[]).unwrap();
                (request, statement)
            })
            .collect()
    }

    #[test]
    fn writes_become_transact_items() {
        let translated = translate(
            &statements(&[
                "INSERT INTO t VALUE {'pk': 'a', 'v': 1}",
                "UPDATE t SET v = v + 1 WHERE pk = 'b' AND v > 5",
                "DELETE FROM t WHERE pk = 'c'",
            ]),
            &schema,
        )
        .unwrap();
        let expected = json!({ "TransactItems": [
            { "Put": {
                "TableName": "t",
                "Item": { "pk": { "S": "a" }, "v": { "N": "1" } },
                "ConditionExpression": "attribute_not_exists(#n0)",
                "ExpressionAttributeNames": { "#n0": "pk" },
            } },
            { "Update": {
                "TableName": "t",
                "Key": { "pk": { "S": "b" } },
                "UpdateExpression": "SET #n0 = #n0 + :v0",
                "ConditionExpression": "(#n1 = :v1) AND (#n0 > :v2)",
                "ExpressionAttributeNames": { "#n0": "v", "#n1": "pk" },
                "ExpressionAttributeValues": { ":v0": { "N": "1" }, ":v1": { "S": "b" }, ":v2": { "N": "5" } },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            } },
            { "Delete": { "TableName": "t", "Key": { "pk": { "S": "c" } } } },
        ] });
        assert_eq!(
            translated,
            Translated::Write {
                request: expected,
                inserts: vec![0]
            }
        );
    }

    #[test]
    fn exists_becomes_a_condition_check() {
        let translated = translate(
            &statements(&[
                "EXISTS(SELECT * FROM t WHERE pk = 'a' AND v IS NOT MISSING)",
                "EXISTS(SELECT * FROM t WHERE pk = 'b' AND v > 5)",
            ]),
            &schema,
        )
        .unwrap();
        let expected = json!({ "TransactItems": [
            { "ConditionCheck": {
                "TableName": "t",
                "Key": { "pk": { "S": "a" } },
                "ConditionExpression": "(attribute_exists(#n0)) AND (NOT (attribute_not_exists(#n1)))",
                "ExpressionAttributeNames": { "#n0": "pk", "#n1": "v" },
            } },
            { "ConditionCheck": {
                "TableName": "t",
                "Key": { "pk": { "S": "b" } },
                "ConditionExpression": "(attribute_exists(#n0)) AND (#n1 > :v0)",
                "ExpressionAttributeNames": { "#n0": "pk", "#n1": "v" },
                "ExpressionAttributeValues": { ":v0": { "N": "5" } },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            } },
        ] });
        let Translated::Write { request, inserts } = translated else {
            panic!("a write");
        };
        assert_eq!(request, expected);
        assert!(inserts.is_empty());
        let message = |texts: &[&str]| translate(&statements(texts), &schema).unwrap_err().message;
        assert_eq!(
            message(&[
                "EXISTS(SELECT * FROM t WHERE pk = 'a' AND v = 1)",
                "SELECT * FROM t WHERE pk = 'b'"
            ]),
            "ExecuteTransaction API does not support both read and write operations in the same request."
        );
        assert_eq!(
            message(&["DELETE FROM t WHERE pk = 'b'", "EXISTS(SELECT * FROM t WHERE pk = 'a')"]),
            "Validation failed in TransactStatements[1]: EXISTS() must contain a single item read with additional condition"
        );
    }

    #[test]
    fn reads_become_gets_by_key() {
        let translated = translate(&statements(&["SELECT a FROM t WHERE pk = 'a' AND v = 1"]), &schema).unwrap();
        let Translated::Read { request, reads } = translated else {
            panic!("a read");
        };
        assert_eq!(
            request,
            json!({ "TransactItems": [{ "Get": { "TableName": "t", "Key": { "pk": { "S": "a" } } } }] })
        );
        assert_eq!(reads[0].projection, Some(vec![Path::attribute("a")]));
        let body = json!({ "Responses": [{ "Item": { "pk": { "S": "a" }, "a": { "N": "2" }, "v": { "N": "1" } } }] });
        assert_eq!(
            finish_reads(body, &reads).unwrap(),
            json!({ "Responses": [{ "Item": { "a": { "N": "2" } } }] })
        );
    }

    #[test]
    fn transactions_refuse_what_dynamodb_refuses() {
        let message = |texts: &[&str]| translate(&statements(texts), &schema).unwrap_err().message;
        assert_eq!(
            message(&["SELECT * FROM t WHERE pk = 'a'", "DELETE FROM t WHERE pk = 'b'"]),
            "ExecuteTransaction API does not support both read and write operations in the same request."
        );
        assert_eq!(
            message(&[
                "DELETE FROM t WHERE pk = 'b'",
                "DELETE FROM t WHERE pk = 'c' RETURNING ALL OLD *"
            ]),
            "Validation failed in TransactStatements[1]: RETURNING clause is not supported in ExecuteTransaction."
        );
        assert_eq!(
            message(&["SELECT * FROM \"t\".\"i\" WHERE pk = 'a'"]),
            "Validation failed in TransactStatements[0]: Reads on indices are not supported within transactions."
        );
        assert_eq!(
            message(&["UPDATE t SET v = 1 WHERE v = 2"]),
            "Where clause does not contain a mandatory equality on all key attributes"
        );
        assert_eq!(
            message(&["SELECT * FROM t WHERE pk = 'a'", "SELECT * FROM t WHERE v = 2"]),
            "Validation failed in TransactStatements[1]: Select statements within ExecuteTransaction must specify the primary key in the where clause."
        );
    }

    #[test]
    fn failed_inserts_are_duplicates() {
        let mut error = ApiError::new(ErrorKind::TransactionCanceled, "x");
        error.reasons = Some(vec![
            json!({ "Code": "ConditionalCheckFailed", "Message": "The conditional request failed" }),
            json!({ "Code": "None" }),
        ]);
        let error = duplicate_inserts(error, &[0, 1]);
        assert_eq!(
            error.message,
            "Transaction cancelled, please refer cancellation reasons for specific reasons [DuplicateItem, None]"
        );
        assert_eq!(
            error.reasons.unwrap()[0],
            json!({ "Code": "DuplicateItem", "Message": "Duplicate primary key exists in table" })
        );
    }
}
