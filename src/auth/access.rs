//! What a request does, in a policy's terms: one [`Access`] per resource it
//! touches (each table of a batch, source and target of a restore), each
//! with the condition keys DynamoDB defines for fine-grained access:
//! `dynamodb:LeadingKeys` (partition key values of the items read or
//! written), `dynamodb:Attributes` (top-level attribute names the request
//! names: item, key, projection, update and condition attributes),
//! `dynamodb:Select` and `dynamodb:ReturnValues`.
//!
//! Works on the request's JSON, before any data is read: a Scan names no
//! partition key, so it carries no `LeadingKeys` (as in IAM, where a
//! `ForAllValues` condition on an absent key holds: grant Scan only where
//! that is meant).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::policy::Access;
use crate::model::KeySchema;
use crate::model::table::ACCOUNT_ID;

/// What authorization needs to know about tables: where the partition key
/// is, and which stream a shard iterator reads.
pub trait Catalog {
    /// The partition key attribute of `table`, when it exists.
    fn hash_key(&self, table: &str) -> Option<String>;
    /// The ARN of the stream a shard iterator reads, when it decodes.
    fn iterator_stream(&self, iterator: &str) -> Option<String>;
    /// The `TableId` of `table`, when it exists (whose resource-based
    /// policy applies).
    fn table_id(&self, _table: &str) -> Option<String> {
        None
    }
    /// The key schema of `table`, or of its index `index`, when it exists
    /// (what a PartiQL statement's WHERE clause is planned against).
    fn key_schema(&self, _table: &str, _index: Option<&str>) -> Option<KeySchema> {
        None
    }
}

/// Condition key names, lowercased as `Policy` compares them.
const LEADING_KEYS: &str = "dynamodb:leadingkeys";
const ATTRIBUTES: &str = "dynamodb:attributes";
const SELECT: &str = "dynamodb:select";
const RETURN_VALUES: &str = "dynamodb:returnvalues";
const ENCLOSING_OPERATION: &str = "dynamodb:enclosingoperation";
const FULL_TABLE_SCAN: &str = "dynamodb:fulltablescan";

/// The accesses of `operation` (DynamoDB's name, `PutItem`) with `body` in
/// `region`.
pub fn accesses(region: &str, operation: &str, body: &Map<String, Value>, catalog: &dyn Catalog) -> Vec<Access> {
    accesses_with(region, operation, body, catalog, true)
}

/// `accesses`, where a single-item operation, Query or Scan carries its
/// condition keys only when `keys` is true (no policy in force has a
/// condition to read them: working them out is most of authorization's
/// cost).
pub fn accesses_with(
    region: &str,
    operation: &str,
    body: &Map<String, Value>,
    catalog: &dyn Catalog,
    keys: bool,
) -> Vec<Access> {
    let action = ["dynamodb:", operation].concat();
    let table = |name: &str| table_arn(region, name);
    let named = |member: &str| str_member(body, member).map(table);
    let arn = |member: &str| str_member(body, member).map(str::to_string);
    let resources: Vec<Option<String>> = match operation {
        "GetItem" | "PutItem" | "DeleteItem" | "UpdateItem" | "Query" | "Scan" => {
            return vec![item_access(action, region, body, catalog, keys)];
        }
        "BatchGetItem" | "BatchWriteItem" => return batch_accesses(&action, region, body, catalog),
        "TransactWriteItems" | "TransactGetItems" => return transaction_accesses(operation, region, body, catalog),
        "ExecuteStatement" | "BatchExecuteStatement" | "ExecuteTransaction" => {
            let accesses = partiql_accesses(region, body, catalog);
            if !accesses.is_empty() {
                return accesses;
            }
            vec![None]
        }
        "TagResource" | "UntagResource" | "ListTagsOfResource" => vec![arn("ResourceArn")],
        "RestoreTableToPointInTime" => vec![
            named("SourceTableName").or_else(|| arn("SourceTableArn")),
            named("TargetTableName"),
        ],
        "RestoreTableFromBackup" => vec![arn("BackupArn"), named("TargetTableName")],
        "DescribeBackup" | "DeleteBackup" => vec![arn("BackupArn")],
        "ExportTableToPointInTime" => vec![arn("TableArn")],
        "DescribeExport" => vec![arn("ExportArn")],
        "ImportTable" => vec![
            body.get("TableCreationParameters")
                .and_then(Value::as_object)
                .and_then(|p| str_member(p, "TableName"))
                .map(table),
        ],
        "DescribeImport" => vec![arn("ImportArn")],
        "CreateTable" if body.contains_key("ResourcePolicy") => {
            // Attaching the policy takes PutResourcePolicy's permission too.
            let resource = named("TableName").unwrap_or_else(|| "*".into());
            return [action, "dynamodb:PutResourcePolicy".into()]
                .into_iter()
                .map(|action| Access {
                    action,
                    resource: resource.clone(),
                    keys: Vec::new(),
                })
                .collect();
        }
        "DescribeStream" | "GetShardIterator" => vec![arn("StreamArn")],
        "GetRecords" => vec![str_member(body, "ShardIterator").and_then(|i| catalog.iterator_stream(i))],
        "ListTables" | "ListBackups" | "ListExports" | "ListImports" | "ListStreams" | "DescribeEndpoints" => {
            vec![None]
        }
        _ => vec![named("TableName")],
    };
    resources
        .into_iter()
        .map(|resource| Access {
            action: action.clone(),
            resource: resource.unwrap_or_else(|| "*".into()),
            keys: Vec::new(),
        })
        .collect()
}

/// The ARN of the table `name` in `region`. (Every request authorized
/// builds one: concatenated, without the formatting machinery.)
fn table_arn(region: &str, name: &str) -> String {
    ["arn:aws:dynamodb:", region, ":", ACCOUNT_ID, ":table/", name].concat()
}

fn str_member<'a>(body: &'a Map<String, Value>, member: &str) -> Option<&'a str> {
    body.get(member).and_then(Value::as_str)
}

/// GetItem, PutItem, DeleteItem, UpdateItem, Query and Scan: one table (or
/// index), with every condition key.
fn item_access(
    action: String,
    region: &str,
    body: &Map<String, Value>,
    catalog: &dyn Catalog,
    with_keys: bool,
) -> Access {
    let table = str_member(body, "TableName").unwrap_or("");
    let mut resource = table_arn(region, table);
    if let Some(index) = str_member(body, "IndexName") {
        resource.push_str("/index/");
        resource.push_str(index);
    }
    if !with_keys {
        return Access {
            action,
            resource,
            keys: Vec::new(),
        };
    }
    let hash = catalog.hash_key(table);
    let mut leading = BTreeSet::new();
    for member in ["Key", "Item"] {
        if let (Some(hash), Some(Value::Object(item))) = (&hash, body.get(member)) {
            leading.extend(item.get(hash).and_then(key_string));
        }
    }
    if let Some(hash) = &hash {
        leading.extend(query_leading_key(body, hash));
    }
    let mut keys = Vec::new();
    if !leading.is_empty() {
        keys.push((LEADING_KEYS.to_string(), leading.into_iter().collect()));
    }
    let operation = action.trim_start_matches("dynamodb:");
    keys.extend(common_keys(operation, body));
    Access { action, resource, keys }
}

/// Each action of a TransactWriteItems or TransactGetItems, as the
/// single-item operation it is authorized as (DynamoDB's rule: `Put` needs
/// `dynamodb:PutItem`, a `ConditionCheck` `dynamodb:ConditionCheckItem`),
/// with that operation's condition keys and `dynamodb:EnclosingOperation`
/// naming the transaction's operation.
fn transaction_accesses(
    operation: &str,
    region: &str,
    body: &Map<String, Value>,
    catalog: &dyn Catalog,
) -> Vec<Access> {
    const ACTIONS: [(&str, &str); 5] = [
        ("Put", "PutItem"),
        ("Update", "UpdateItem"),
        ("Delete", "DeleteItem"),
        ("ConditionCheck", "ConditionCheckItem"),
        ("Get", "GetItem"),
    ];
    let Some(Value::Array(items)) = body.get("TransactItems") else {
        return Vec::new();
    };
    let mut accesses = Vec::new();
    for entry in items.iter().filter_map(Value::as_object) {
        for (member, action_name) in ACTIONS {
            if let Some(Value::Object(action)) = entry.get(member) {
                let mut access = item_access(format!("dynamodb:{action_name}"), region, action, catalog, true);
                access.keys.push(enclosing(operation));
                accesses.push(access);
            }
        }
    }
    accesses
}

/// Each statement of an ExecuteStatement, BatchExecuteStatement or
/// ExecuteTransaction as DynamoDB authorizes it: `dynamodb:PartiQLSelect`,
/// `PartiQLInsert`, `PartiQLUpdate` or `PartiQLDelete` on the table (or
/// the index a SELECT reads), with `dynamodb:LeadingKeys` (the partition
/// key values the statement names), `dynamodb:FullTableScan` on a SELECT
/// (whether it scans rather than reading partitions) and, in a
/// transaction, `dynamodb:EnclosingOperation`. A statement that does not
/// parse is refused by the operation itself, and needs nothing here.
fn partiql_accesses(region: &str, body: &Map<String, Value>, catalog: &dyn Catalog) -> Vec<Access> {
    let (members, enclosing_operation): (Vec<&Map<String, Value>>, _) =
        match (body.get("Statements"), body.get("TransactStatements")) {
            (_, Some(Value::Array(list))) => (list.iter().filter_map(Value::as_object).collect(), true),
            (Some(Value::Array(list)), _) => (list.iter().filter_map(Value::as_object).collect(), false),
            _ => (vec![body], false),
        };
    members
        .into_iter()
        .filter_map(|member| statement_access(region, member, catalog))
        .map(|mut access| {
            if enclosing_operation {
                access.keys.push(enclosing("ExecuteTransaction"));
            }
            access
        })
        .collect()
}

/// `dynamodb:EnclosingOperation`: the operation an action is part of.
fn enclosing(operation: &str) -> (String, Vec<String>) {
    (ENCLOSING_OPERATION.to_string(), vec![operation.to_string()])
}

fn statement_access(region: &str, member: &Map<String, Value>, catalog: &dyn Catalog) -> Option<Access> {
    use crate::partiql::Statement;
    let text = str_member(member, "Statement")?;
    let params = match member.get("Parameters") {
        Some(Value::Array(list)) => list
            .iter()
            .map(crate::model::AttributeValue::from_json)
            .collect::<Result<Vec<_>, _>>()
            .ok()?,
        _ => Vec::new(),
    };
    let statement = crate::partiql::parse(text, &params).ok()?;
    let action = match &statement {
        Statement::Select(_) | Statement::Exists(_) => "dynamodb:PartiQLSelect",
        Statement::Insert(_) => "dynamodb:PartiQLInsert",
        Statement::Update(_) => "dynamodb:PartiQLUpdate",
        Statement::Delete(_) => "dynamodb:PartiQLDelete",
    };
    let target = statement.target();
    let mut resource = format!("arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{}", target.table);
    if let Some(index) = &target.index {
        resource.push_str(&format!("/index/{index}"));
    }
    Some(Access {
        action: action.to_string(),
        resource,
        keys: statement_keys(&statement, catalog),
    })
}

/// A statement's `dynamodb:LeadingKeys` and, for a SELECT,
/// `dynamodb:FullTableScan`, planned as the statement will run.
fn statement_keys(statement: &crate::partiql::Statement, catalog: &dyn Catalog) -> Vec<(String, Vec<String>)> {
    use crate::partiql::{Access as Reads, Statement, access, condition_of, partition_values, plan::conjuncts};
    let target = statement.target();
    let mut keys = Vec::new();
    if let Some(table) = catalog.key_schema(&target.table, None) {
        let values = match statement {
            Statement::Insert(insert) => insert.item.get(&table.hash.name).into_iter().cloned().collect(),
            _ => condition_of(statement)
                .and_then(|c| conjuncts(c).into_iter().find_map(|c| partition_values(c, &table.hash)))
                .unwrap_or_default(),
        };
        let leading: Vec<String> = values.iter().filter_map(|v| key_string(&v.to_json())).collect();
        if !leading.is_empty() {
            keys.push((LEADING_KEYS.to_string(), leading));
        }
    }
    if let Statement::Select(select) = statement
        && let Some(read) = catalog.key_schema(&target.table, target.index.as_deref())
    {
        let scans = access(select.condition.as_ref(), &read) == Reads::Scan;
        keys.push((FULL_TABLE_SCAN.to_string(), vec![scans.to_string()]));
    }
    keys
}

/// Each table of a BatchGetItem or BatchWriteItem, with the partition keys
/// and attributes of its keys and items.
fn batch_accesses(action: &str, region: &str, body: &Map<String, Value>, catalog: &dyn Catalog) -> Vec<Access> {
    let Some(Value::Object(tables)) = body.get("RequestItems") else {
        return Vec::new();
    };
    let mut accesses = Vec::new();
    for (table, spec) in tables {
        let hash = catalog.hash_key(table);
        let items: Vec<&Map<String, Value>> = match spec {
            // BatchGetItem: {"Keys": [...], "ProjectionExpression": ...}
            Value::Object(spec) => match spec.get("Keys") {
                Some(Value::Array(keys)) => keys.iter().filter_map(Value::as_object).collect(),
                _ => Vec::new(),
            },
            // BatchWriteItem: [{"PutRequest": {"Item": ..}}, {"DeleteRequest": {"Key": ..}}]
            Value::Array(requests) => requests
                .iter()
                .filter_map(|r| {
                    r.pointer("/PutRequest/Item")
                        .or_else(|| r.pointer("/DeleteRequest/Key"))
                        .and_then(Value::as_object)
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut leading = BTreeSet::new();
        let mut attributes = BTreeSet::new();
        for item in &items {
            if let Some(hash) = &hash {
                leading.extend(item.get(hash).and_then(key_string));
            }
            attributes.extend(item.keys().cloned());
        }
        let mut keys = Vec::new();
        if !leading.is_empty() {
            keys.push((LEADING_KEYS.to_string(), leading.into_iter().collect()));
        }
        if let Value::Object(spec) = spec {
            attributes.extend(expression_attributes(spec));
            keys.push((SELECT.to_string(), vec![select(spec)]));
        }
        keys.push((ATTRIBUTES.to_string(), attributes.into_iter().collect()));
        accesses.push(Access {
            action: action.to_string(),
            resource: format!("arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{table}"),
            keys,
        });
    }
    accesses
}

/// `dynamodb:Attributes`, `dynamodb:Select` and `dynamodb:ReturnValues`
/// of a single-table item operation.
fn common_keys(operation: &str, body: &Map<String, Value>) -> Vec<(String, Vec<String>)> {
    let mut attributes = expression_attributes(body);
    for member in [
        "Key",
        "Item",
        "AttributeUpdates",
        "KeyConditions",
        "QueryFilter",
        "ScanFilter",
        "Expected",
    ] {
        if let Some(Value::Object(map)) = body.get(member) {
            attributes.extend(map.keys().cloned());
        }
    }
    let mut keys = vec![(ATTRIBUTES.to_string(), attributes.into_iter().collect())];
    let reads = matches!(operation, "GetItem" | "Query" | "Scan");
    if reads {
        keys.push((SELECT.to_string(), vec![select(body)]));
    } else {
        let returns = str_member(body, "ReturnValues").unwrap_or("NONE");
        keys.push((RETURN_VALUES.to_string(), vec![returns.to_string()]));
    }
    keys
}

/// The request's `Select`, or what it amounts to: `SPECIFIC_ATTRIBUTES`
/// with a projection, else `ALL_ATTRIBUTES`.
fn select(body: &Map<String, Value>) -> String {
    if let Some(select) = str_member(body, "Select") {
        return select.to_string();
    }
    if body.contains_key("ProjectionExpression") || body.contains_key("AttributesToGet") {
        "SPECIFIC_ATTRIBUTES".into()
    } else {
        "ALL_ATTRIBUTES".into()
    }
}

/// A key attribute's value as `LeadingKeys` compares it: the string, the
/// number's text, or the binary's base64.
fn key_string(value: &Value) -> Option<String> {
    let (_, inner) = value.as_object()?.iter().next()?;
    inner.as_str().map(str::to_string)
}

/// The partition key value a Query's key condition pins: `KeyConditions`'
/// EQ on `hash`, or the `=` term on `hash` in `KeyConditionExpression`.
fn query_leading_key(body: &Map<String, Value>, hash: &str) -> Option<String> {
    if let Some(condition) = body.get("KeyConditions").and_then(|c| c.get(hash)) {
        return condition.pointer("/AttributeValueList/0").and_then(key_string);
    }
    let expression = str_member(body, "KeyConditionExpression")?;
    let names = body.get("ExpressionAttributeNames").and_then(Value::as_object);
    let values = body.get("ExpressionAttributeValues").and_then(Value::as_object)?;
    for term in split_and(expression) {
        let Some((left, right)) = term.split_once('=') else {
            continue;
        };
        let (left, right) = (left.trim().trim_start_matches('('), right.trim().trim_end_matches(')'));
        let (name, value) = if right.starts_with(':') {
            (left, right)
        } else {
            (right, left)
        };
        let resolved = match name.strip_prefix('#') {
            Some(_) => names.and_then(|n| n.get(name)).and_then(Value::as_str),
            None => Some(name),
        };
        if resolved == Some(hash) {
            return values.get(value.trim()).and_then(key_string);
        }
    }
    None
}

/// The terms of a key condition, split on `AND` (any case).
fn split_and(expression: &str) -> Vec<String> {
    let mut terms = vec![String::new()];
    for word in expression.split_whitespace() {
        if word.eq_ignore_ascii_case("and") {
            terms.push(String::new());
        } else if let Some(term) = terms.last_mut() {
            term.push(' ');
            term.push_str(word);
        }
    }
    terms
}

/// Words of the expression grammars that are not attribute names.
const KEYWORDS: &[&str] = &["and", "or", "not", "between", "in", "set", "remove", "add", "delete"];

/// The top-level attribute names the request's expressions and
/// `AttributesToGet` name, `#placeholders` resolved.
fn expression_attributes(body: &Map<String, Value>) -> BTreeSet<String> {
    let names = body.get("ExpressionAttributeNames").and_then(Value::as_object);
    let mut found = BTreeSet::new();
    for member in [
        "ProjectionExpression",
        "UpdateExpression",
        "ConditionExpression",
        "FilterExpression",
        "KeyConditionExpression",
    ] {
        if let Some(expression) = str_member(body, member) {
            for root in expression_roots(expression) {
                let resolved = match root.strip_prefix('#') {
                    Some(_) => names
                        .and_then(|n| n.get(&root))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    None => Some(root),
                };
                found.extend(resolved);
            }
        }
    }
    if let Some(Value::Array(list)) = body.get("AttributesToGet") {
        found.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
    }
    found
}

/// The first element of each document path in `expression`: names (bare
/// or `#placeholders`) not after a `.`, not function names, not keywords.
fn expression_roots(expression: &str) -> Vec<String> {
    let chars: Vec<char> = expression.chars().collect();
    let mut roots = Vec::new();
    let mut i = 0;
    let mut after_dot = false;
    while i < chars.len() {
        let c = chars[i];
        let starts_name = c == '#' || c == ':' || c.is_alphabetic() || c == '_';
        if !starts_name {
            if !c.is_whitespace() {
                after_dot = c == '.';
            }
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-') {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let next = chars[i..].iter().find(|c| !c.is_whitespace());
        let is_function = next == Some(&'(') && c != '#';
        let is_keyword = KEYWORDS.iter().any(|k| word.eq_ignore_ascii_case(k));
        if !after_dot && c != ':' && !is_function && !is_keyword {
            roots.push(word);
        }
        after_dot = false;
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Pk;
    impl Catalog for Pk {
        fn hash_key(&self, _: &str) -> Option<String> {
            Some("pk".into())
        }
        fn iterator_stream(&self, _: &str) -> Option<String> {
            None
        }
        fn key_schema(&self, _: &str, index: Option<&str>) -> Option<KeySchema> {
            let hash = |name: &str| crate::model::KeyAttribute {
                name: name.into(),
                ty: crate::model::ScalarType::S,
            };
            Some(KeySchema {
                hash: hash(if index.is_some() { "x" } else { "pk" }),
                range: None,
            })
        }
    }

    fn keys_of(operation: &str, body: Value) -> Vec<Access> {
        accesses("us-east-1", operation, body.as_object().unwrap(), &Pk)
    }

    fn key<'a>(access: &'a Access, name: &str) -> Option<&'a [String]> {
        access.keys.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_slice())
    }

    #[test]
    fn a_table_created_with_a_policy_needs_put_resource_policy_too() {
        let actions = |body: Value| -> Vec<(String, String)> {
            keys_of("CreateTable", body)
                .into_iter()
                .map(|a| (a.action, a.resource))
                .collect()
        };
        let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/T".to_string();
        assert_eq!(
            actions(json!({"TableName": "T"})),
            [("dynamodb:CreateTable".to_string(), arn.clone())]
        );
        assert_eq!(
            actions(json!({"TableName": "T", "ResourcePolicy": "{}"})),
            [
                ("dynamodb:CreateTable".to_string(), arn.clone()),
                ("dynamodb:PutResourcePolicy".to_string(), arn)
            ]
        );
    }

    #[test]
    fn partiql_statements_need_their_partiql_action_on_their_table() {
        let one = keys_of(
            "ExecuteStatement",
            json!({"Statement": "SELECT * FROM \"T\".\"byX\" WHERE x = ?", "Parameters": [{"S": "a"}]}),
        );
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].action, "dynamodb:PartiQLSelect");
        assert_eq!(
            one[0].resource,
            "arn:aws:dynamodb:us-east-1:000000000000:table/T/index/byX"
        );
        let batch = keys_of(
            "BatchExecuteStatement",
            json!({"Statements": [{"Statement": "INSERT INTO A VALUE {'pk': 'a'}"}, {"Statement": "DELETE FROM B WHERE pk = 'a'"}]}),
        );
        let pairs: Vec<(&str, &str)> = batch.iter().map(|a| (a.action.as_str(), a.resource.as_str())).collect();
        assert_eq!(
            pairs,
            [
                (
                    "dynamodb:PartiQLInsert",
                    "arn:aws:dynamodb:us-east-1:000000000000:table/A"
                ),
                (
                    "dynamodb:PartiQLDelete",
                    "arn:aws:dynamodb:us-east-1:000000000000:table/B"
                ),
            ]
        );
        let update = keys_of(
            "ExecuteTransaction",
            json!({"TransactStatements": [{"Statement": "UPDATE C SET a = 1 WHERE pk = 'a'"}]}),
        );
        assert_eq!(update[0].action, "dynamodb:PartiQLUpdate");
        let garbage = keys_of("ExecuteStatement", json!({"Statement": "nonsense"}));
        assert_eq!(
            (garbage[0].action.as_str(), garbage[0].resource.as_str()),
            ("dynamodb:ExecuteStatement", "*")
        );
    }

    #[test]
    fn partiql_statements_carry_leading_keys_full_table_scan_and_their_transaction() {
        let select = |text: &str| keys_of("ExecuteStatement", json!({ "Statement": text })).remove(0);
        let named = select("SELECT * FROM T WHERE pk IN ['a', 'b'] AND v = 1");
        assert_eq!(key(&named, LEADING_KEYS), Some(&["a".to_string(), "b".to_string()][..]));
        assert_eq!(key(&named, FULL_TABLE_SCAN), Some(&["false".to_string()][..]));
        let scan = select("SELECT * FROM T WHERE v = 1");
        assert_eq!(key(&scan, LEADING_KEYS), None);
        assert_eq!(key(&scan, FULL_TABLE_SCAN), Some(&["true".to_string()][..]));
        // An index is planned on its own key: x fixed reads a partition.
        let index = select("SELECT * FROM \"T\".\"byX\" WHERE x = 'q'");
        assert_eq!(key(&index, FULL_TABLE_SCAN), Some(&["false".to_string()][..]));
        let insert = select("INSERT INTO T VALUE {'pk': 'c', 'v': 2}");
        assert_eq!(key(&insert, LEADING_KEYS), Some(&["c".to_string()][..]));
        assert_eq!(key(&insert, FULL_TABLE_SCAN), None);
        assert_eq!(key(&insert, ENCLOSING_OPERATION), None);
        let in_transaction = keys_of(
            "ExecuteTransaction",
            json!({"TransactStatements": [{"Statement": "DELETE FROM T WHERE pk = 'd'"}]}),
        );
        assert_eq!(
            key(&in_transaction[0], ENCLOSING_OPERATION),
            Some(&["ExecuteTransaction".to_string()][..])
        );
        let write = keys_of(
            "TransactWriteItems",
            json!({"TransactItems": [{"Put": {"TableName": "T", "Item": {"pk": {"S": "e"}}}}]}),
        );
        assert_eq!(
            key(&write[0], ENCLOSING_OPERATION),
            Some(&["TransactWriteItems".to_string()][..])
        );
    }

    #[test]
    fn expression_roots_skip_paths_functions_keywords_and_values() {
        let roots = expression_roots("SET a.b = :v, #c[1] = list_append(d, :w) REMOVE e.#f AND size(g) > :n");
        assert_eq!(roots, ["a", "#c", "d", "e", "g"]);
    }

    #[test]
    fn item_operations_carry_leading_keys_attributes_and_returns() {
        let put = keys_of(
            "PutItem",
            json!({"TableName": "T", "Item": {"pk": {"S": "alice"}, "x": {"N": "1"}}, "ReturnValues": "ALL_OLD"}),
        );
        assert_eq!(put[0].resource, "arn:aws:dynamodb:us-east-1:000000000000:table/T");
        assert_eq!(key(&put[0], LEADING_KEYS).unwrap(), ["alice"]);
        assert_eq!(key(&put[0], ATTRIBUTES).unwrap(), ["pk", "x"]);
        assert_eq!(key(&put[0], RETURN_VALUES).unwrap(), ["ALL_OLD"]);
        let query = keys_of(
            "Query",
            json!({"TableName": "T", "IndexName": "I", "KeyConditionExpression": "#p = :v AND sk > :s",
                   "ExpressionAttributeNames": {"#p": "pk"},
                   "ExpressionAttributeValues": {":v": {"S": "bob"}, ":s": {"S": "a"}},
                   "ProjectionExpression": "a, b.c"}),
        );
        assert!(query[0].resource.ends_with("table/T/index/I"));
        assert_eq!(key(&query[0], LEADING_KEYS).unwrap(), ["bob"]);
        assert_eq!(key(&query[0], SELECT).unwrap(), ["SPECIFIC_ATTRIBUTES"]);
        assert_eq!(key(&query[0], ATTRIBUTES).unwrap(), ["a", "b", "pk", "sk"]);
    }

    #[test]
    fn batches_name_every_table() {
        let batch = keys_of(
            "BatchWriteItem",
            json!({"RequestItems": {
                "A": [{"PutRequest": {"Item": {"pk": {"S": "1"}}}}],
                "B": [{"DeleteRequest": {"Key": {"pk": {"S": "2"}}}}]}}),
        );
        assert_eq!(batch.len(), 2);
        assert!(batch[1].resource.ends_with("table/B"));
        assert_eq!(key(&batch[1], LEADING_KEYS).unwrap(), ["2"]);
    }
}
