//! PartiQL through the AWS SDK: ExecuteStatement's SELECT (key lookups,
//! partitions, scans, indexes, projections, paging), INSERT, UPDATE and
//! DELETE with RETURNING and their errors, BatchExecuteStatement and
//! ExecuteTransaction.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::execute_statement::{ExecuteStatementError, ExecuteStatementOutput};
use aws_sdk_dynamodb::operation::execute_transaction::ExecuteTransactionError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BatchStatementErrorCodeEnum, BatchStatementRequest, BillingMode,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, LocalSecondaryIndex, ParameterizedStatement, Projection,
    ProjectionType, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
};
use common::{Keys, TestRegion, assert_error, create_table, error_code, error_message, item, n, s};

type Item = HashMap<String, AttributeValue>;

async fn execute(client: &Client, statement: &str, params: Vec<AttributeValue>) -> ExecuteStatementOutput {
    let params = (!params.is_empty()).then_some(params);
    client
        .execute_statement()
        .statement(statement)
        .set_parameters(params)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e:?}"))
}

/// The error type and message ExecuteStatement answers `statement` with.
async fn fails(client: &Client, statement: &str, params: Vec<AttributeValue>) -> (String, String) {
    let params = (!params.is_empty()).then_some(params);
    let error = client
        .execute_statement()
        .statement(statement)
        .set_parameters(params)
        .send()
        .await
        .expect_err(statement);
    (error_code(&error), error_message(&error))
}

/// A table keyed by pk (S) and sk (N), with items a/1..a/4 and b/1.
async fn region_with_items() -> TestRegion {
    let region = TestRegion::start().await;
    let keys = Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N);
    create_table(&region.client, "Tab", keys).await;
    for (pk, sk) in [("a", 1), ("a", 2), ("a", 3), ("a", 4), ("b", 1)] {
        let item = item([
            ("pk", s(pk)),
            ("sk", n(sk)),
            ("v", n(sk * 10)),
            ("name", s(format!("{pk}-{sk}"))),
            ("l", AttributeValue::L(vec![n(0), s(format!("x{sk}"))])),
            ("m", AttributeValue::M(item([("x", n(sk)), ("y", s("why"))]))),
        ]);
        region
            .client
            .put_item()
            .table_name("Tab")
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    region
}

fn keys_of(items: &[Item]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|i| {
            let text = |name: &str| match i.get(name) {
                Some(AttributeValue::S(v) | AttributeValue::N(v)) => v.clone(),
                _ => String::new(),
            };
            (text("pk"), text("sk"))
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn selects_read_by_key_partition_and_scan() {
    let region = region_with_items().await;
    let c = &region.client;

    let one = execute(c, "SELECT * FROM \"Tab\" WHERE pk = ? AND sk = ?", vec![s("a"), n(2)]).await;
    let expected = c
        .get_item()
        .table_name("Tab")
        .key("pk", s("a"))
        .key("sk", n(2))
        .send()
        .await
        .unwrap();
    assert_eq!(one.items(), &[expected.item().unwrap().clone()]);
    assert_eq!(one.next_token(), None);

    let none = execute(c, "SELECT * FROM Tab WHERE pk = 'a' AND sk = 9", vec![]).await;
    assert!(none.items().is_empty());
    let filtered = execute(c, "SELECT * FROM Tab WHERE pk = 'a' AND sk = 2 AND v > 20", vec![]).await;
    assert!(
        filtered.items().is_empty(),
        "the rest of the WHERE clause applies to a key lookup"
    );

    let partition = execute(c, "SELECT pk, sk FROM Tab WHERE pk = 'a' AND sk >= 2", vec![]).await;
    assert_eq!(keys_of(partition.items()), pairs(&[("a", "2"), ("a", "3"), ("a", "4")]));
    assert_eq!(partition.items()[0], item([("pk", s("a")), ("sk", n(2))]));

    let backwards = execute(c, "SELECT pk, sk FROM Tab WHERE pk = 'a' ORDER BY sk DESC", vec![]).await;
    assert_eq!(
        keys_of(backwards.items()),
        pairs(&[("a", "4"), ("a", "3"), ("a", "2"), ("a", "1")])
    );

    let scan = execute(
        c,
        "SELECT pk, sk FROM Tab WHERE v BETWEEN 20 AND 30 OR (begins_with(name, 'b') AND m.x IN [1, 5])",
        vec![],
    )
    .await;
    let mut found = keys_of(scan.items());
    found.sort();
    assert_eq!(found, pairs(&[("a", "2"), ("a", "3"), ("b", "1")]));

    // A nested path answers under its last named component.
    let nested = execute(c, "SELECT m.x, l[1] FROM Tab WHERE pk = 'b' AND sk = 1", vec![]).await;
    assert_eq!(
        nested.items(),
        &[item([("x", n(1)), ("l", AttributeValue::L(vec![s("x1")]))])]
    );

    let functions = execute(
        c,
        "SELECT pk, sk FROM Tab WHERE pk = 'a' AND contains(name, '-3') AND size(l) = 2 \
         AND attribute_type(v, 'N') AND gone IS MISSING AND m IS NOT MISSING AND NOT sk = 1",
        vec![],
    )
    .await;
    assert_eq!(keys_of(functions.items()), pairs(&[("a", "3")]));
}

#[tokio::test]
async fn limit_and_next_token_page_through_a_scan() {
    let region = region_with_items().await;
    let c = &region.client;
    let mut token: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let out = c
            .execute_statement()
            .statement("SELECT pk, sk FROM Tab WHERE pk = 'a'")
            .limit(3)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        seen.extend(keys_of(out.items()));
        match out.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 2);
    assert_eq!(seen, pairs(&[("a", "1"), ("a", "2"), ("a", "3"), ("a", "4")]));

    let error = c
        .execute_statement()
        .statement("SELECT * FROM Tab")
        .next_token("not a token")
        .send()
        .await
        .unwrap_err();
    assert_error(&error, "ValidationException", "Invalid NextToken");
}

/// Every page of `statement`, read `limit` items at a time: the keys of
/// each page's items, and the capacity units the pages consumed.
async fn pages(c: &Client, statement: &str, limit: Option<i32>) -> (Vec<Vec<(String, String)>>, f64) {
    let (mut pages, mut units) = (Vec::new(), 0.0);
    let mut token: Option<String> = None;
    loop {
        let out = c
            .execute_statement()
            .statement(statement)
            .set_limit(limit)
            .set_next_token(token.clone())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
        pages.push(keys_of(out.items()));
        units += out.consumed_capacity().and_then(|c| c.capacity_units()).unwrap_or(0.0);
        match out.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => return (pages, units),
        }
        assert!(pages.len() < 20, "paging does not end");
    }
}

#[tokio::test]
async fn in_and_or_on_the_partition_key_read_only_those_partitions() {
    let region = region_with_items().await;
    let c = &region.client;
    // 300 items of partition z: a Scan would read about 30 KB of them.
    for sk in 0..300 {
        let item = item([("pk", s("z")), ("sk", n(sk)), ("pad", s("p".repeat(100)))]);
        c.put_item()
            .table_name("Tab")
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let b_then_a = pairs(&[("b", "1"), ("a", "1"), ("a", "2"), ("a", "3"), ("a", "4")]);
    for statement in [
        "SELECT pk, sk FROM Tab WHERE pk IN ['b', 'nope', 'a']",
        "SELECT pk, sk FROM Tab WHERE pk = 'b' OR pk = 'nope' OR pk = 'a'",
        "SELECT pk, sk FROM Tab WHERE (pk = 'b' OR pk IN ['nope', 'a']) AND v < 100",
    ] {
        let (pages, units) = pages(c, statement, None).await;
        assert_eq!(pages, vec![b_then_a.clone()], "{statement}");
        // Three small partitions read, each at least half a unit.
        assert_eq!(units, 1.5, "{statement}");
    }
    // Pages stop at the limit and resume in the partition they stopped in.
    let (paged, _) = pages(c, "SELECT pk, sk FROM Tab WHERE pk IN ['b', 'a'] AND sk >= 2", Some(2)).await;
    assert_eq!(paged, vec![pairs(&[("a", "2"), ("a", "3")]), pairs(&[("a", "4")])]);
    let (paged, _) = pages(c, "SELECT pk, sk FROM Tab WHERE pk IN ['b', 'a']", Some(3)).await;
    let flat: Vec<_> = paged.concat();
    assert_eq!(flat, b_then_a);
    assert_eq!(paged.len(), 2);
    // A token names a partition of its own statement only.
    let first = c
        .execute_statement()
        .statement("SELECT * FROM Tab WHERE pk IN ['a', 'b']")
        .limit(1)
        .send()
        .await
        .unwrap();
    let error = c
        .execute_statement()
        .statement("SELECT * FROM Tab WHERE pk IN ['b', 'z']")
        .set_next_token(first.next_token().map(str::to_string))
        .send()
        .await
        .unwrap_err();
    assert_error(&error, "ValidationException", "Invalid NextToken");
}

#[tokio::test]
async fn a_select_of_many_partitions_stops_at_a_page_of_bytes() {
    let region = TestRegion::start().await;
    let keys = Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N);
    create_table(&region.client, "Big", keys).await;
    let c = &region.client;
    // 300 KB items: partitions a and b hold 1.2 MB together, so the first
    // page ends after b (a page is 1 MB) and the second reads c.
    for (pk, sk) in [("a", 1), ("a", 2), ("b", 1), ("b", 2), ("c", 1)] {
        let item = item([("pk", s(pk)), ("sk", n(sk)), ("pad", s("p".repeat(300_000)))]);
        c.put_item()
            .table_name("Big")
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let (paged, _) = pages(c, "SELECT pk, sk FROM Big WHERE pk IN ['a', 'b', 'c']", None).await;
    let expected = vec![
        pairs(&[("a", "1"), ("a", "2"), ("b", "1"), ("b", "2")]),
        pairs(&[("c", "1")]),
    ];
    assert_eq!(paged, expected);
}

#[tokio::test]
async fn a_key_select_costs_what_get_item_costs() {
    let region = region_with_items().await;
    let c = &region.client;
    for consistent in [false, true] {
        let out = c
            .execute_statement()
            .statement("SELECT * FROM Tab WHERE pk = 'a' AND sk = 1")
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap();
        let get = c
            .get_item()
            .table_name("Tab")
            .key("pk", s("a"))
            .key("sk", n(1))
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap();
        let units = out.consumed_capacity().and_then(|c| c.capacity_units());
        assert_eq!(units, get.consumed_capacity().and_then(|c| c.capacity_units()));
        assert_eq!(units, Some(if consistent { 1.0 } else { 0.5 }));
        assert_eq!(out.consumed_capacity().and_then(|c| c.table_name()), Some("Tab"));
    }
}

#[tokio::test]
async fn literals_and_parameters_store_every_type() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Lit", Keys::Hash("pk", ScalarAttributeType::S)).await;
    execute(
        c,
        "INSERT INTO \"Lit\" VALUE {'pk': 'it''s', 'n': -12.5, 'yes': TRUE, 'no': false, 'nothing': NULL, \
         'list': [1, 'two', [3]], 'map': {'inner': {'deep': 'x'}}, 'ss': <<'a', 'b'>>, 'ns': <<1, 2>>, \
         'bin': ?, 'bs': <<?>>}",
        vec![AttributeValue::B(vec![1, 2].into()), AttributeValue::B(vec![3].into())],
    )
    .await;
    let got = c
        .get_item()
        .table_name("Lit")
        .key("pk", s("it's"))
        .send()
        .await
        .unwrap();
    let expected = item([
        ("pk", s("it's")),
        ("n", n("-12.5")),
        ("yes", AttributeValue::Bool(true)),
        ("no", AttributeValue::Bool(false)),
        ("nothing", AttributeValue::Null(true)),
        (
            "list",
            AttributeValue::L(vec![n(1), s("two"), AttributeValue::L(vec![n(3)])]),
        ),
        (
            "map",
            AttributeValue::M(item([("inner", AttributeValue::M(item([("deep", s("x"))])))])),
        ),
        ("ss", AttributeValue::Ss(vec!["a".into(), "b".into()])),
        ("ns", AttributeValue::Ns(vec!["1".into(), "2".into()])),
        ("bin", AttributeValue::B(vec![1, 2].into())),
        ("bs", AttributeValue::Bs(vec![vec![3].into()])),
    ]);
    assert_eq!(got.item(), Some(&expected));
}

#[tokio::test]
async fn writes_insert_update_and_delete_one_item() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Wri", Keys::Hash("pk", ScalarAttributeType::S)).await;

    let out = execute(c, "INSERT INTO Wri VALUE {'pk': 'a', 'v': 1, 'w': 'x'}", vec![]).await;
    assert!(out.items().is_empty());
    let (code, message) = fails(c, "INSERT INTO Wri VALUE {'pk': 'a'}", vec![]).await;
    assert_eq!(code, "DuplicateItemException");
    assert_eq!(message, "Duplicate primary key exists in table");

    let out = execute(
        c,
        "UPDATE Wri SET v = v + 1 SET t = list_append([0], [1]) REMOVE w WHERE pk = 'a' RETURNING ALL NEW *",
        vec![],
    )
    .await;
    let new = item([("pk", s("a")), ("v", n(2)), ("t", AttributeValue::L(vec![n(0), n(1)]))]);
    assert_eq!(out.items(), &[new]);
    let out = execute(
        c,
        "UPDATE Wri SET v = 7 WHERE pk = 'a' AND v = 2 RETURNING MODIFIED OLD *",
        vec![],
    )
    .await;
    assert_eq!(out.items(), &[item([("v", n(2))])]);
    let out = execute(
        c,
        "UPDATE Wri SET s = set_add(s, <<'x'>>) WHERE pk = 'a' RETURNING MODIFIED NEW *",
        vec![],
    )
    .await;
    assert_eq!(out.items(), &[item([("s", AttributeValue::Ss(vec!["x".into()]))])]);

    // A missing item, or one the extra conditions reject, is a failed condition.
    let (code, message) = fails(c, "UPDATE Wri SET v = 1 WHERE pk = 'nobody'", vec![]).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ConditionalCheckFailedException", "The conditional request failed")
    );
    let error = c
        .execute_statement()
        .statement("UPDATE Wri SET v = 1 WHERE pk = 'a' AND v > 100")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    let Some(ExecuteStatementError::ConditionalCheckFailedException(failed)) = error.as_service_error() else {
        panic!("{error:?}");
    };
    let current = item([
        ("pk", s("a")),
        ("v", n(7)),
        ("t", AttributeValue::L(vec![n(0), n(1)])),
        ("s", AttributeValue::Ss(vec!["x".into()])),
    ]);
    assert_eq!(failed.item(), Some(&current));

    let (code, message) = fails(c, "UPDATE Wri SET pk = 'b' WHERE pk = 'a'", vec![]).await;
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"
    );
    let (code, message) = fails(c, "DELETE FROM Wri WHERE v = 7", vec![]).await;
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Where clause does not contain a mandatory equality on all key attributes"
    );
    let (_, message) = fails(c, "DELETE FROM Wri WHERE pk = 'a' RETURNING ALL NEW *", vec![]).await;
    assert_eq!(
        message,
        "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in DELETE statements."
    );
    let (code, _) = fails(c, "DELETE FROM Wri WHERE pk = 'a' AND v = 1", vec![]).await;
    assert_eq!(code, "ConditionalCheckFailedException");

    let out = execute(c, "DELETE FROM Wri WHERE pk = ? RETURNING ALL OLD *", vec![s("a")]).await;
    assert_eq!(out.items(), &[current]);
    let out = execute(
        c,
        "DELETE FROM Wri WHERE pk = 'a' AND v = 1 RETURNING ALL OLD *",
        vec![],
    )
    .await;
    assert!(out.items().is_empty(), "deleting a missing item is a no-op");
    let gone = c.get_item().table_name("Wri").key("pk", s("a")).send().await.unwrap();
    assert_eq!(gone.item(), None);
}

#[tokio::test]
async fn bad_statements_get_dynamodbs_errors() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Err", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let validation = |m: &str| ("ValidationException".to_string(), m.to_string());
    let cases = [
        (
            "SELECT * FROM Err WHERE",
            "Statement wasn't well formed, can't be processed: Unexpected end of statement",
        ),
        (
            "SELECT * FROM Err WHERE pk = 'a' pk",
            "Statement wasn't well formed, can't be processed: Unexpected token after expression",
        ),
        (
            "MERGE INTO Err",
            "Statement wasn't well formed, can't be processed: Expected data manipulation",
        ),
        (
            "SELECT * FROM Err WHERE pk = ?",
            "Number of parameters in request and statement don't match.",
        ),
        (
            "SELECT * FROM Err ORDER BY pk",
            "Must have WHERE clause in the statement when using ORDER BY clause.",
        ),
        (
            "SELECT * FROM \"Err\".\"nope\" WHERE pk = 'a'",
            "The table does not have the specified index",
        ),
        (
            "SELECT * FROM \"Err\".\"Err\" WHERE pk = 'a'",
            "The table does not have the specified index",
        ),
        (
            "SELECT * FROM \"Err\".\"i\".\"x\" WHERE pk = 'a'",
            "A path may contain at most 2 components in the FROM clause",
        ),
        (
            "SELECT * FROM \"Err\".\"\" WHERE pk = 'a'",
            "Path component cannot be an empty string",
        ),
        (
            "SELECT * FROM \"\" WHERE pk = 'a'",
            "Path component cannot be an empty string",
        ),
        (
            "UPDATE \"Err\".\"i\" SET a = 1 WHERE pk = 'a'",
            "This operation is not supported on an index",
        ),
    ];
    for (statement, message) in cases {
        assert_eq!(fails(c, statement, vec![]).await, validation(message), "{statement}");
    }
    for op in ["<", "<=", ">", ">="] {
        let statement = format!("SELECT pk FROM Err WHERE pk = 'x' AND val {op} ?");
        assert_eq!(
            fails(c, &statement, vec![AttributeValue::Bool(true)]).await,
            validation(&format!(
                "Incorrect operand type for operator or function; operator or function: {op}, operand type: BOOL"
            )),
        );
    }
    assert_eq!(
        fails(
            c,
            "SELECT pk FROM Err WHERE pk = 'x' AND val BETWEEN ? AND ?",
            vec![AttributeValue::Bool(true), AttributeValue::Bool(false)]
        )
        .await,
        validation(
            "Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: BOOL"
        ),
    );
    // Equality takes any type.
    execute(
        c,
        "SELECT pk FROM Err WHERE pk = 'x' AND val = ?",
        vec![AttributeValue::Bool(true)],
    )
    .await;
    let (code, message) = fails(c, "SELECT * FROM Nope WHERE pk = 'a'", vec![]).await;
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(message, "Requested resource not found");
    let (_, message) = fails(c, "INSERT INTO Err VALUE {'pk': 'a', '': 1}", vec![]).await;
    assert_eq!(
        message,
        "One or more parameter values were invalid: Empty attribute name"
    );
    let deep = format!(
        "INSERT INTO Err VALUE {{'pk': 'a', 'l': {}1{}}}",
        "[".repeat(40),
        "]".repeat(40)
    );
    let (_, message) = fails(c, &deep, vec![]).await;
    assert_eq!(
        message,
        "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
    );
    let (code, message) = fails(c, "INSERT INTO Err VALUE {'v': 1}", vec![]).await;
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "One or more parameter values were invalid: Missing the key pk in the item"
    );
}

#[tokio::test]
async fn selects_read_a_global_secondary_index() {
    let region = TestRegion::start().await;
    let c = &region.client;
    let attribute = |name: &str, ty: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ty)
            .build()
            .unwrap()
    };
    let key = |name: &str, ty: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(ty)
            .build()
            .unwrap()
    };
    let index = GlobalSecondaryIndex::builder()
        .index_name("byColor")
        .key_schema(key("color", KeyType::Hash))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .unwrap();
    c.create_table()
        .table_name("Gsi")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute("color", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(index)
        .send()
        .await
        .unwrap();
    for (pk, color) in [("a", "red"), ("b", "blue"), ("c", "red")] {
        execute(c, "INSERT INTO Gsi VALUE {'pk': ?, 'color': ?}", vec![s(pk), s(color)]).await;
    }
    let out = execute(c, "SELECT pk FROM \"Gsi\".\"byColor\" WHERE color = 'red'", vec![]).await;
    let mut found: Vec<Item> = out.items().to_vec();
    found.sort_by_key(|i| format!("{:?}", i.get("pk")));
    assert_eq!(found, vec![item([("pk", s("a"))]), item([("pk", s("c"))])]);
    let error = c
        .execute_statement()
        .statement("SELECT * FROM \"Gsi\".\"byColor\" WHERE color = 'red'")
        .consistent_read(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&error),
        "Strongly consistent read is not supported on Global Secondary Indexes"
    );
    // Query keeps its own words for the same two mistakes.
    let query = c
        .query()
        .table_name("Gsi")
        .index_name("byColor")
        .key_condition_expression("color = :c")
        .expression_attribute_values(":c", s("red"))
        .consistent_read(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&query),
        "Consistent reads are not supported on global secondary indexes"
    );
    let query = c
        .query()
        .table_name("Gsi")
        .index_name("nope")
        .key_condition_expression("color = :c")
        .expression_attribute_values(":c", s("red"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&query),
        "The table does not have the specified index: nope"
    );
}

fn batch_statement(statement: &str) -> BatchStatementRequest {
    BatchStatementRequest::builder().statement(statement).build().unwrap()
}

#[tokio::test]
async fn batches_run_each_statement_and_report_each_error() {
    let region = region_with_items().await;
    let c = &region.client;
    let out = c
        .batch_execute_statement()
        .statements(batch_statement("INSERT INTO Tab VALUE {'pk': 'c', 'sk': 1}"))
        .statements(batch_statement("INSERT INTO Tab VALUE {'pk': 'a', 'sk': 1}"))
        .statements(batch_statement("UPDATE Tab SET v = 0 WHERE pk = 'z' AND sk = 1"))
        .statements(batch_statement("DELETE FROM Tab WHERE pk = 'b' AND sk = 1"))
        .statements(batch_statement("DELETE FROM Tab WHERE"))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let responses = out.responses();
    assert_eq!(responses.len(), 5);
    assert!(responses[0].error().is_none());
    assert_eq!(responses[0].table_name(), Some("Tab"));
    let error = |i: usize| {
        let e = responses[i].error().expect("an error");
        (e.code().cloned(), e.message().unwrap_or("").to_string())
    };
    assert_eq!(
        error(1),
        (
            Some(BatchStatementErrorCodeEnum::DuplicateItem),
            "Duplicate primary key exists in table".into()
        )
    );
    assert_eq!(
        error(2),
        (
            Some(BatchStatementErrorCodeEnum::ConditionalCheckFailed),
            "The conditional request failed".into()
        )
    );
    assert!(responses[3].error().is_none());
    assert_eq!(
        error(4),
        (
            Some(BatchStatementErrorCodeEnum::ValidationError),
            "Statement wasn't well formed, can't be processed: Unexpected end of statement".into()
        )
    );
    let capacity = out.consumed_capacity();
    assert_eq!(capacity.len(), 1);
    assert_eq!(capacity[0].table_name(), Some("Tab"));

    let reads = c
        .batch_execute_statement()
        .statements(batch_statement("SELECT pk, sk FROM Tab WHERE pk = 'a' AND sk = 2"))
        .statements(batch_statement("SELECT * FROM Tab WHERE pk = 'b' AND sk = 1"))
        .statements(batch_statement("SELECT * FROM Tab WHERE pk = 'a'"))
        .send()
        .await
        .unwrap();
    let responses = reads.responses();
    assert_eq!(responses[0].item(), Some(&item([("pk", s("a")), ("sk", n(2))])));
    assert_eq!(responses[1].item(), None, "deleted above");
    assert!(responses[1].error().is_none());
    let error = responses[2].error().expect("an error");
    assert_eq!(error.code(), Some(&BatchStatementErrorCodeEnum::ValidationError));
    assert_eq!(
        error.message(),
        Some("Select statements within BatchExecuteStatement must specify the primary key in the where clause.")
    );

    let mixed = c
        .batch_execute_statement()
        .statements(batch_statement("SELECT * FROM Tab WHERE pk = 'a' AND sk = 2"))
        .statements(batch_statement("DELETE FROM Tab WHERE pk = 'a' AND sk = 3"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &mixed,
        "ValidationException",
        "Read and write requests together in the same batch is not supported.",
    );
    let twice = c
        .batch_execute_statement()
        .statements(batch_statement("DELETE FROM Tab WHERE pk = 'a' AND sk = 3"))
        .statements(batch_statement("UPDATE Tab SET v = 1 WHERE sk = 3 AND pk = 'a'"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_message(&twice), "Provided list of item keys contains duplicates");
    let kept = c
        .get_item()
        .table_name("Tab")
        .key("pk", s("a"))
        .key("sk", n(3))
        .send()
        .await
        .unwrap();
    assert!(kept.item().is_some(), "a rejected batch runs nothing");
}

#[tokio::test]
async fn a_batch_member_returns_no_item_whose_condition_failed() {
    let region = region_with_items().await;
    let c = &region.client;
    for setting in [Some(ReturnValuesOnConditionCheckFailure::AllOld), None] {
        let statement = BatchStatementRequest::builder()
            .statement("UPDATE Tab SET v = 1 WHERE pk = 'b' AND sk = 1 AND v = 5")
            .set_return_values_on_condition_check_failure(setting)
            .build()
            .unwrap();
        let out = c.batch_execute_statement().statements(statement).send().await.unwrap();
        let response = &out.responses()[0];
        let error = response.error().expect("an error");
        assert_eq!(error.code(), Some(&BatchStatementErrorCodeEnum::ConditionalCheckFailed));
        assert_eq!(error.item(), None);
        assert_eq!(response.table_name(), Some("Tab"));
    }
}

fn transact_statement(statement: &str) -> ParameterizedStatement {
    ParameterizedStatement::builder().statement(statement).build().unwrap()
}

#[tokio::test]
async fn transactions_apply_all_or_nothing() {
    let region = region_with_items().await;
    let c = &region.client;
    c.execute_transaction()
        .transact_statements(transact_statement("INSERT INTO Tab VALUE {'pk': 'c', 'sk': 1, 'v': 0}"))
        .transact_statements(transact_statement(
            "UPDATE Tab SET v = v + 1 WHERE pk = 'a' AND sk = 1 AND v = 10",
        ))
        .transact_statements(transact_statement("DELETE FROM Tab WHERE pk = 'b' AND sk = 1"))
        .send()
        .await
        .unwrap();
    let read = c
        .execute_transaction()
        .transact_statements(transact_statement("SELECT pk, v FROM Tab WHERE pk = 'c' AND sk = 1"))
        .transact_statements(transact_statement("SELECT v FROM Tab WHERE pk = 'a' AND sk = 1"))
        .transact_statements(transact_statement("SELECT * FROM Tab WHERE pk = 'b' AND sk = 1"))
        .transact_statements(transact_statement(
            "SELECT v FROM Tab WHERE pk = 'a' AND sk = 2 AND v = 0",
        ))
        .send()
        .await
        .unwrap();
    let items: Vec<Option<&Item>> = read.responses().iter().map(|r| r.item()).collect();
    assert_eq!(
        items,
        vec![
            Some(&item([("pk", s("c")), ("v", n(0))])),
            Some(&item([("v", n(11))])),
            None,
            None
        ]
    );

    // An INSERT of an existing item cancels the whole transaction.
    let error = c
        .execute_transaction()
        .transact_statements(transact_statement("UPDATE Tab SET v = 99 WHERE pk = 'a' AND sk = 2"))
        .transact_statements(transact_statement("INSERT INTO Tab VALUE {'pk': 'c', 'sk': 1}"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &error,
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, DuplicateItem]",
    );
    let Some(ExecuteTransactionError::TransactionCanceledException(canceled)) = error.as_service_error() else {
        panic!("{error:?}");
    };
    let reasons: Vec<(Option<&str>, Option<&str>)> = canceled
        .cancellation_reasons()
        .iter()
        .map(|r| (r.code(), r.message()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (Some("None"), None),
            (Some("DuplicateItem"), Some("Duplicate primary key exists in table"))
        ]
    );
    let untouched = c
        .get_item()
        .table_name("Tab")
        .key("pk", s("a"))
        .key("sk", n(2))
        .send()
        .await
        .unwrap();
    assert_eq!(untouched.item().and_then(|i| i.get("v")), Some(&n(20)));
}

#[tokio::test]
async fn a_transaction_token_applies_once() {
    let region = region_with_items().await;
    let c = &region.client;
    for _ in 0..2 {
        c.execute_transaction()
            .client_request_token("partiql-once")
            .transact_statements(transact_statement("UPDATE Tab SET v = v + 1 WHERE pk = 'a' AND sk = 3"))
            .send()
            .await
            .unwrap();
    }
    let item = c
        .get_item()
        .table_name("Tab")
        .key("pk", s("a"))
        .key("sk", n(3))
        .send()
        .await
        .unwrap();
    assert_eq!(item.item().and_then(|i| i.get("v")), Some(&n(31)));

    let mixed = c
        .execute_transaction()
        .transact_statements(transact_statement("SELECT * FROM Tab WHERE pk = 'a' AND sk = 3"))
        .transact_statements(transact_statement("DELETE FROM Tab WHERE pk = 'a' AND sk = 4"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &mixed,
        "ValidationException",
        "ExecuteTransaction API does not support both read and write operations in the same request.",
    );
}

/// A table keyed by pk and sk (S) with the indexes of the conformance
/// suite's PartiQL fixture: `gsi-all` (ALL), `gsi-inc` (INCLUDE projattr)
/// and `lsi-keys` (KEYS_ONLY); no index projects `np`.
async fn create_indexed_table(c: &Client) {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, ty: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(ty)
            .build()
            .unwrap()
    };
    let projection = |ty: ProjectionType, names: &[&str]| {
        let names = (!names.is_empty()).then(|| names.iter().map(|n| n.to_string()).collect());
        Projection::builder()
            .projection_type(ty)
            .set_non_key_attributes(names)
            .build()
    };
    let gsi = |name: &str, hash: &str, projection: Projection| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(hash, KeyType::Hash))
            .projection(projection)
            .build()
            .unwrap()
    };
    let mut request = c
        .create_table()
        .table_name("Idx")
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(gsi("gsi-all", "gsiPk", projection(ProjectionType::All, &[])))
        .global_secondary_indexes(gsi(
            "gsi-inc",
            "gsiPk2",
            projection(ProjectionType::Include, &["projattr"]),
        ))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("lsi-keys")
                .key_schema(key("pk", KeyType::Hash))
                .key_schema(key("lsiSk2", KeyType::Range))
                .projection(projection(ProjectionType::KeysOnly, &[]))
                .build()
                .unwrap(),
        );
    for name in ["pk", "sk", "gsiPk", "gsiPk2", "lsiSk2"] {
        request = request.attribute_definitions(attribute(name));
    }
    request.send().await.unwrap();
}

#[tokio::test]
async fn index_reads_get_dynamodbs_partiql_messages() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_indexed_table(c).await;
    let invalid = |m: &str| ("ValidationException".to_string(), m.to_string());
    let cases = [
        (
            "SELECT pk FROM \"Idx\".\"gsi-inc\" WHERE gsiPk2 = 'y' AND np = 'np1'",
            "One or more parameter values were invalid: Secondary index gsi-inc does not project one or more filter attributes: [np]",
        ),
        (
            "SELECT pk FROM \"Idx\".\"lsi-keys\" WHERE pk = 'p' AND np = 'np1' AND (projattr = 1 OR np = 2)",
            "One or more parameter values were invalid: Secondary index lsi-keys does not project one or more filter attributes: [np, projattr]",
        ),
        (
            "SELECT np FROM \"Idx\".\"gsi-inc\" WHERE gsiPk2 = 'y'",
            "One or more parameter values were invalid: Global secondary index gsi-inc does not project [np]",
        ),
        (
            "SELECT pk, np, projattr, other.x FROM \"Idx\".\"gsi-inc\" WHERE gsiPk2 = 'y'",
            "One or more parameter values were invalid: Global secondary index gsi-inc does not project [np, other]",
        ),
    ];
    for (statement, message) in cases {
        assert_eq!(fails(c, statement, vec![]).await, invalid(message), "{statement}");
    }
    let error = c
        .execute_transaction()
        .transact_statements(transact_statement(
            "SELECT * FROM \"Idx\".\"gsi-all\" WHERE gsiPk = 'x'",
        ))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &error,
        "ValidationException",
        "Validation failed in TransactStatements[0]: Reads on indices are not supported within transactions.",
    );
}

#[tokio::test]
async fn an_index_answers_with_its_projection_and_an_lsi_reaches_back() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_indexed_table(c).await;
    for i in 1..=3 {
        let values = vec![s(format!("s{i}")), s(format!("k{i}")), s(format!("np{i}"))];
        execute(
            c,
            "INSERT INTO Idx VALUE {'pk': 'p', 'sk': ?, 'lsiSk2': ?, 'projattr': 'x', 'np': ?}",
            values,
        )
        .await;
    }
    // A filter on a projected attribute reads the index alone: SELECT *
    // gives the index's attributes, not the item's.
    let star = execute(
        c,
        "SELECT * FROM \"Idx\".\"lsi-keys\" WHERE pk = 'p' AND lsiSk2 >= 'k2'",
        vec![],
    )
    .await;
    assert_eq!(
        star.items(),
        &[
            item([("pk", s("p")), ("sk", s("s2")), ("lsiSk2", s("k2"))]),
            item([("pk", s("p")), ("sk", s("s3")), ("lsiSk2", s("k3"))]),
        ]
    );
    // An attribute an LSI does not project is read from the table.
    let reached = execute(c, "SELECT np FROM \"Idx\".\"lsi-keys\" WHERE pk = 'p'", vec![]).await;
    assert_eq!(
        reached.items(),
        &[
            item([("np", s("np1"))]),
            item([("np", s("np2"))]),
            item([("np", s("np3"))])
        ]
    );
}

#[tokio::test]
async fn exists_checks_an_item_in_a_transaction() {
    let region = region_with_items().await;
    let c = &region.client;
    let v_of = |pk: &'static str, sk: i64| async move {
        let out = c
            .get_item()
            .table_name("Tab")
            .key("pk", s(pk))
            .key("sk", n(sk))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        out.item().and_then(|i| i.get("v")).cloned()
    };

    // A true EXISTS lets the writes beside it happen.
    c.execute_transaction()
        .transact_statements(transact_statement(
            "EXISTS(SELECT * FROM \"Tab\" WHERE pk = 'a' AND sk = 1 AND v = 10)",
        ))
        .transact_statements(transact_statement("UPDATE Tab SET v = 100 WHERE pk = 'a' AND sk = 2"))
        .send()
        .await
        .unwrap();
    assert_eq!(v_of("a", 2).await, Some(n(100)));

    // A false one cancels the transaction, with ConditionalCheckFailed at
    // its position, and nothing is written.
    let cancelled = |error: &aws_sdk_dynamodb::error::SdkError<ExecuteTransactionError, _>| {
        let Some(ExecuteTransactionError::TransactionCanceledException(canceled)) = error.as_service_error() else {
            panic!("{error:?}");
        };
        canceled
            .cancellation_reasons()
            .iter()
            .map(|r| (r.code().map(str::to_string), r.message().map(str::to_string)))
            .collect::<Vec<_>>()
    };
    let failed = (
        Some("ConditionalCheckFailed".to_string()),
        Some("The conditional request failed".to_string()),
    );
    let none = (Some("None".to_string()), None);
    let error = c
        .execute_transaction()
        .transact_statements(transact_statement("INSERT INTO Tab VALUE {'pk': 'c', 'sk': 5}"))
        .transact_statements(transact_statement(
            "exists (select * from Tab where pk = 'z' and sk = 1 and v IS MISSING)",
        ))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &error,
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]",
    );
    assert_eq!(cancelled(&error), vec![none.clone(), failed.clone()]);
    assert_eq!(v_of("c", 5).await, None);
    let inserted = execute(c, "SELECT * FROM Tab WHERE pk = 'c' AND sk = 5", vec![]).await;
    assert!(inserted.items().is_empty());

    // The rest of the WHERE clause is part of the check.
    let error = c
        .execute_transaction()
        .transact_statements(
            ParameterizedStatement::builder()
                .statement("EXISTS(SELECT * FROM Tab WHERE pk = 'a' AND sk = 3 AND v > ?)")
                .parameters(n(30))
                .build()
                .unwrap(),
        )
        .transact_statements(transact_statement("DELETE FROM Tab WHERE pk = 'a' AND sk = 4"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(cancelled(&error), vec![failed, none]);
    assert_eq!(v_of("a", 4).await, Some(n(40)));
    c.execute_transaction()
        .transact_statements(transact_statement(
            "EXISTS(SELECT pk FROM Tab WHERE pk = 'a' AND sk = 3 AND v = 30 AND name = 'a-3')",
        ))
        .transact_statements(transact_statement("DELETE FROM Tab WHERE pk = 'a' AND sk = 4"))
        .send()
        .await
        .unwrap();
    assert_eq!(v_of("a", 4).await, None);
    // Like a ConditionCheck, an EXISTS shares no item with another member.
    let twice = c
        .execute_transaction()
        .transact_statements(transact_statement(
            "EXISTS(SELECT * FROM Tab WHERE pk = 'a' AND sk = 3 AND v = 30)",
        ))
        .transact_statements(transact_statement("DELETE FROM Tab WHERE pk = 'a' AND sk = 3"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &twice,
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
    );

    // EXISTS is on the write side: not beside a SELECT.
    let mixed = c
        .execute_transaction()
        .transact_statements(transact_statement(
            "EXISTS(SELECT * FROM Tab WHERE pk = 'a' AND sk = 1)",
        ))
        .transact_statements(transact_statement("SELECT * FROM Tab WHERE pk = 'a' AND sk = 2"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &mixed,
        "ValidationException",
        "ExecuteTransaction API does not support both read and write operations in the same request.",
    );
    // It reads one item, by its whole key, and asks more than its existence.
    for exists in [
        "EXISTS(SELECT * FROM Tab WHERE pk = 'a' AND v = 10)",
        "EXISTS(SELECT * FROM Tab WHERE pk = 'a' AND sk = 1)",
    ] {
        let refused = c
            .execute_transaction()
            .transact_statements(transact_statement("DELETE FROM Tab WHERE pk = 'b' AND sk = 1"))
            .transact_statements(transact_statement(exists))
            .send()
            .await
            .unwrap_err();
        assert_error(
            &refused,
            "ValidationException",
            "Validation failed in TransactStatements[1]: EXISTS() must contain a single item read with additional condition",
        );
    }
    let select = c
        .execute_transaction()
        .transact_statements(transact_statement("SELECT * FROM Tab WHERE pk = 'a'"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &select,
        "ValidationException",
        "Validation failed in TransactStatements[0]: Select statements within ExecuteTransaction must specify the primary key in the where clause.",
    );
}

#[tokio::test]
async fn exists_is_refused_outside_a_transaction() {
    let region = region_with_items().await;
    let c = &region.client;
    let exists = "EXISTS(SELECT * FROM Tab WHERE pk = 'a' AND sk = 1)";
    assert_eq!(
        fails(c, exists, vec![]).await,
        (
            "ValidationException".to_string(),
            "The EXISTS function can only be used in transactions".to_string()
        )
    );
    let refused = batch_statement(exists);
    one_member_refused(c, refused, 0, "The EXISTS function can only be used in transactions").await;
}

/// Runs a batch of `member` and an UPDATE of a/2 setting v to `v`: the
/// member fails with ValidationError and `message`, the UPDATE applies.
async fn one_member_refused(c: &Client, member: BatchStatementRequest, v: i64, message: &str) {
    let update = format!("UPDATE Tab SET v = {v} WHERE pk = 'a' AND sk = 2");
    let out = c
        .batch_execute_statement()
        .statements(member)
        .statements(batch_statement(&update))
        .send()
        .await
        .unwrap();
    let error = out.responses()[0].error().expect("an error");
    assert_eq!(error.code(), Some(&BatchStatementErrorCodeEnum::ValidationError));
    assert_eq!(error.message(), Some(message));
    assert!(out.responses()[1].error().is_none());
    let updated = execute(c, "SELECT v FROM Tab WHERE pk = 'a' AND sk = 2", vec![]).await;
    assert_eq!(updated.items(), &[item([("v", n(v))])]);
}

#[tokio::test]
async fn comments_aliases_and_number_literals_read_as_dynamodb_reads_them() {
    let region = region_with_items().await;
    let c = &region.client;
    let out = execute(
        c,
        "-- a note\nSELECT pk, sk FROM Tab /* between */ WHERE pk = 'b' -- the rest\nAND sk = .1e1",
        vec![],
    )
    .await;
    assert_eq!(out.items(), &[item([("pk", s("b")), ("sk", n(1))])]);
    let invalid = |m: &str| ("ValidationException".to_string(), m.to_string());
    let cases = [
        (
            "SELECT * FROM Tab t WHERE pk = 'a'",
            "Aliasing is not supported".to_string(),
        ),
        (
            "DELETE FROM Tab WHERE pk = 'b' AND sk = 1 ORDER BY pk",
            "Statement wasn't well formed, can't be processed: Unexpected token after expression".to_string(),
        ),
        (
            "SELECT * FROM Tab WHERE pk = 'b' # note",
            "Statement wasn't well formed, can't be processed: ".to_string(),
        ),
        (
            "INSERT INTO Tab VALUE {'pk': 'z', 'sk': 1, 'l': [1, 1e126]}",
            "Number overflow. Attempting to store a number with magnitude larger than supported range under root[1]"
                .to_string(),
        ),
    ];
    for (statement, message) in cases {
        assert_eq!(fails(c, statement, vec![]).await, invalid(&message), "{statement}");
    }
    let kept = execute(c, "SELECT pk FROM Tab WHERE pk = 'b' AND sk = 1", vec![]).await;
    assert_eq!(kept.items().len(), 1, "the refused DELETE deleted nothing");
}

#[tokio::test]
async fn attribute_exists_filters_reads_and_guards_writes() {
    let region = region_with_items().await;
    let c = &region.client;
    let found = execute(
        c,
        "SELECT pk, sk FROM Tab WHERE pk = 'a' AND (attribute_exists(gone) OR ATTRIBUTE_EXISTS(m.x)) AND sk < 3",
        vec![],
    )
    .await;
    assert_eq!(keys_of(found.items()), pairs(&[("a", "1"), ("a", "2")]));
    let guarded = "UPDATE Tab SET once = 1 WHERE pk = 'b' AND sk = 1 AND attribute_not_exists(once)";
    execute(c, guarded, vec![]).await;
    let (code, message) = fails(c, guarded, vec![]).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ConditionalCheckFailedException", "The conditional request failed")
    );
    let (code, message) = fails(c, "SELECT * FROM Tab WHERE pk = 'a' AND attribute_exists('v')", vec![]).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ValidationException",
            "Operator or function requires a document path; operator or function: attribute_exists"
        )
    );
}

#[tokio::test]
async fn writes_answer_with_empty_lists() {
    let region = region_with_items().await;
    let statement = |text: &str| serde_json::json!({ "Statement": text });
    for text in [
        "INSERT INTO Tab VALUE {'pk': 'w', 'sk': 1}",
        "UPDATE Tab SET v = 2 WHERE pk = 'w' AND sk = 1",
        "DELETE FROM Tab WHERE pk = 'w' AND sk = 1",
        "DELETE FROM Tab WHERE pk = 'never' AND sk = 1",
    ] {
        let out = region.raw_json("ExecuteStatement", statement(text)).await;
        assert_eq!(out.body, serde_json::json!({ "Items": [] }), "{text}");
    }
    let transaction = serde_json::json!({ "TransactStatements": [
        statement("UPDATE Tab SET v = 2 WHERE pk = 'a' AND sk = 1"),
        statement("INSERT INTO Tab VALUE {'pk': 'w', 'sk': 2}"),
    ] });
    let out = region.raw_json("ExecuteTransaction", transaction).await;
    assert_eq!(out.body, serde_json::json!({ "Responses": [] }));
}

#[tokio::test]
async fn a_parameter_that_is_no_number_is_named() {
    let region = region_with_items().await;
    let c = &region.client;
    let unconvertible = |text: &str| {
        (
            "ValidationException".to_string(),
            format!("The parameter cannot be converted to a numeric value: {text}"),
        )
    };
    let select = "SELECT * FROM Tab WHERE pk = 'a' AND v = ?";
    for bad in ["1e99999999999", "-1e2147483648", "abc"] {
        assert_eq!(fails(c, select, vec![n(bad)]).await, unconvertible(bad));
    }
    let nested = AttributeValue::L(vec![n(1), AttributeValue::M(item([("x", n("1e99999999999"))]))]);
    assert_eq!(fails(c, select, vec![nested]).await, unconvertible("1e99999999999"));
    let set = AttributeValue::Ns(vec!["1".into(), "x1".into()]);
    assert_eq!(fails(c, select, vec![set]).await, unconvertible("x1"));
    assert_eq!(
        fails(c, select, vec![n("")]).await,
        (
            "ValidationException".to_string(),
            "The parameter cannot be converted to a numeric value".to_string()
        )
    );

    // In a batch, the member fails and the others run.
    let bad_member = BatchStatementRequest::builder()
        .statement("UPDATE Tab SET v = ? WHERE pk = 'a' AND sk = 1")
        .parameters(n("abc"))
        .build()
        .unwrap();
    one_member_refused(
        c,
        bad_member,
        7,
        "The parameter cannot be converted to a numeric value: abc",
    )
    .await;

    let error = c
        .execute_transaction()
        .transact_statements(
            ParameterizedStatement::builder()
                .statement("UPDATE Tab SET v = ? WHERE pk = 'a' AND sk = 1")
                .parameters(n("1e99999999999"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_error(
        &error,
        "ValidationException",
        "The parameter cannot be converted to a numeric value: 1e99999999999",
    );
}
