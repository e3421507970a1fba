//! Read-side expressions through the AWS SDK: projections of nested paths
//! and list elements, every key condition, filters applied after Limit.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ScalarAttributeType};
use common::{Keys, TestRegion, av_map, create_table, error_code, error_message, n, s, values_for};
use serde_json::json;

#[tokio::test]
async fn projections_pick_nested_paths_and_list_elements() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Proj", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let stored = json!({
        "pk": {"S": "p"}, "d": {"N": "1"}, "e": {"S": "y"},
        "a": {"M": {"b": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}]}, "c": {"S": "x"}}}
    });
    c.put_item()
        .table_name("Proj")
        .set_item(Some(av_map(&stored)))
        .send()
        .await
        .unwrap();
    let cases = [
        (
            "a.b[1], d",
            json!({"a": {"M": {"b": {"L": [{"N": "1"}]}}}, "d": {"N": "1"}}),
        ),
        ("a.c", json!({"a": {"M": {"c": {"S": "x"}}}})),
        (
            "#a.b[0], a.b[2]",
            json!({"a": {"M": {"b": {"L": [{"N": "0"}, {"N": "2"}]}}}}),
        ),
        ("e, nothere", json!({"e": {"S": "y"}})),
        ("a.b[9]", json!({})),
    ];
    for (projection, expected) in cases {
        let names = projection
            .contains("#a")
            .then(|| HashMap::from([("#a".to_string(), "a".to_string())]));
        let expected = av_map(&expected);
        let got = c
            .get_item()
            .table_name("Proj")
            .key("pk", s("p"))
            .projection_expression(projection)
            .set_expression_attribute_names(names.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.item().cloned().unwrap_or_default(),
            expected,
            "GetItem {projection}"
        );
        let scan = c
            .scan()
            .table_name("Proj")
            .projection_expression(projection)
            .set_expression_attribute_names(names.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            scan.items().first().cloned().unwrap_or_default(),
            expected,
            "Scan {projection}"
        );
        let query = c
            .query()
            .table_name("Proj")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("p"))
            .projection_expression(projection)
            .set_expression_attribute_names(names.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            query.items().first().cloned().unwrap_or_default(),
            expected,
            "Query {projection}"
        );
        let keys = KeysAndAttributes::builder()
            .keys(HashMap::from([("pk".to_string(), s("p"))]))
            .projection_expression(projection)
            .set_expression_attribute_names(names)
            .build()
            .unwrap();
        let batch = c.batch_get_item().request_items("Proj", keys).send().await.unwrap();
        let got = batch.responses().unwrap()["Proj"].first().cloned().unwrap_or_default();
        assert_eq!(got, expected, "BatchGetItem {projection}");
    }
    region.shutdown().await;
}

async fn query_sort_keys(
    c: &aws_sdk_dynamodb::Client,
    table: &str,
    condition: &str,
    pool: &serde_json::Value,
) -> Vec<AttributeValue> {
    let out = c
        .query()
        .table_name(table)
        .key_condition_expression(condition)
        .set_expression_attribute_values(values_for(condition, pool))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{condition}: {}", error_message(&e)));
    out.items().iter().map(|i| i["sk"].clone()).collect()
}

#[tokio::test]
async fn every_sort_key_condition_selects_dynamodbs_range() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(
        c,
        "KeyN",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    create_table(
        c,
        "KeyS",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::S),
    )
    .await;
    for k in 1..=10 {
        c.put_item()
            .table_name("KeyN")
            .item("pk", s("p"))
            .item("sk", n(k))
            .send()
            .await
            .unwrap();
        c.put_item()
            .table_name("KeyN")
            .item("pk", s("other"))
            .item("sk", n(k))
            .send()
            .await
            .unwrap();
    }
    for k in ["a1", "a2", "ab", "b1", "a"] {
        c.put_item()
            .table_name("KeyS")
            .item("pk", s("p"))
            .item("sk", s(k))
            .send()
            .await
            .unwrap();
    }
    let pool =
        json!({":p": {"S": "p"}, ":three": {"N": "3"}, ":five": {"N": "5"}, ":eight": {"N": "8"}, ":a": {"S": "a"}});
    let nums = |v: &[i32]| v.iter().map(|k| n(*k)).collect::<Vec<_>>();
    let cases = [
        ("pk = :p", nums(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])),
        ("pk = :p AND sk = :five", nums(&[5])),
        ("pk = :p AND sk < :five", nums(&[1, 2, 3, 4])),
        ("pk = :p AND sk <= :five", nums(&[1, 2, 3, 4, 5])),
        ("pk = :p AND sk > :eight", nums(&[9, 10])),
        ("pk = :p AND sk >= :eight", nums(&[8, 9, 10])),
        ("pk = :p AND sk BETWEEN :three AND :five", nums(&[3, 4, 5])),
        ("sk BETWEEN :three AND :five AND pk = :p", nums(&[3, 4, 5])),
        ("(pk = :p) AND (sk < :three)", nums(&[1, 2])),
    ];
    for (condition, expected) in cases {
        assert_eq!(
            query_sort_keys(c, "KeyN", condition, &pool).await,
            expected,
            "{condition}"
        );
    }
    let strs = |v: &[&str]| v.iter().map(|k| s(*k)).collect::<Vec<_>>();
    assert_eq!(
        query_sort_keys(c, "KeyS", "pk = :p AND begins_with(sk, :a)", &pool).await,
        strs(&["a", "a1", "a2", "ab"])
    );
    assert_eq!(
        query_sort_keys(c, "KeyS", "pk = :p AND sk > :a", &pool).await,
        strs(&["a1", "a2", "ab", "b1"])
    );

    let errors = [
        ("sk = :five", "Query condition missed key schema element: pk"),
        (
            "pk = :p OR sk = :five",
            "Invalid operator used in KeyConditionExpression: OR",
        ),
        (
            "pk = :p AND begins_with(sk, :five)",
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ),
        (
            "pk = :p AND sk = :five AND sk = :three",
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
        ),
        (
            "pk = :p AND sk <> :five",
            "Invalid operator used in KeyConditionExpression: <>",
        ),
        (
            "pk = :p AND sk BETWEEN :five AND :three",
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:3}",
        ),
    ];
    for (condition, message) in errors {
        let err = c
            .query()
            .table_name("KeyN")
            .key_condition_expression(condition)
            .set_expression_attribute_values(values_for(condition, &pool))
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_code(&err), "ValidationException", "{condition}");
        assert_eq!(error_message(&err), message, "{condition}");
    }
    region.shutdown().await;
}

#[tokio::test]
async fn filters_apply_after_limit_as_dynamodb_does() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(
        c,
        "Filt",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    for k in 1..=10 {
        let parity = if k % 2 == 0 { "even" } else { "odd" };
        c.put_item()
            .table_name("Filt")
            .item("pk", s("p"))
            .item("sk", n(k))
            .item("v", s(parity))
            .send()
            .await
            .unwrap();
    }
    let page = |start: Option<HashMap<String, AttributeValue>>| {
        c.query()
            .table_name("Filt")
            .key_condition_expression("pk = :p")
            .filter_expression("v = :even")
            .expression_attribute_values(":p", s("p"))
            .expression_attribute_values(":even", s("even"))
            .limit(5)
            .set_exclusive_start_key(start)
            .send()
    };
    let first = page(None).await.unwrap();
    assert_eq!((first.count(), first.scanned_count()), (2, 5));
    let sks: Vec<_> = first.items().iter().map(|i| i["sk"].clone()).collect();
    assert_eq!(sks, vec![n(2), n(4)]);
    let last = first.last_evaluated_key().cloned().unwrap();
    assert_eq!(last["sk"], n(5));
    let second = page(Some(last)).await.unwrap();
    assert_eq!((second.count(), second.scanned_count()), (3, 5));
    // Limit reached on the last item: DynamoDB still returns a key; the next page is empty.
    let third = page(second.last_evaluated_key().cloned()).await.unwrap();
    assert_eq!((third.count(), third.scanned_count()), (0, 0));
    assert!(third.last_evaluated_key().is_none());

    let scan = c
        .scan()
        .table_name("Filt")
        .filter_expression("v = :odd")
        .expression_attribute_values(":odd", s("odd"))
        .limit(4)
        .send()
        .await
        .unwrap();
    assert_eq!((scan.count(), scan.scanned_count()), (2, 4));

    // A Query filter may not name key attributes.
    let err = c
        .query()
        .table_name("Filt")
        .key_condition_expression("pk = :p")
        .filter_expression("sk > :one")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":one", n(1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&err),
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"
    );
    region.shutdown().await;
}
