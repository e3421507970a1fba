//! Condition and filter expressions through the AWS SDK: every function,
//! comparator and logical operator, evaluated both as a ConditionExpression
//! on PutItem and as a FilterExpression on Scan, against one item.

mod common;

use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, ScalarAttributeType};
use common::{Keys, TestRegion, assert_error, av_map, create_table, error_code, error_message, s, values_for};
use serde_json::json;

fn base_item() -> serde_json::Value {
    json!({
        "pk": {"S": "k"}, "n": {"N": "5"}, "s": {"S": "hello"},
        "l": {"L": [{"N": "1"}, {"S": "x"}]},
        "m": {"M": {"a": {"N": "1"}, "b": {"M": {"c": {"S": "deep"}}}}},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bin": {"B": "AQID"},
        "flag": {"BOOL": true}, "nul": {"NULL": true}
    })
}

fn pool() -> serde_json::Value {
    json!({
        ":one": {"N": "1"}, ":two": {"N": "2"}, ":three": {"N": "3"}, ":four": {"N": "4"}, ":five": {"N": "5"},
        ":six": {"N": "6"}, ":seven": {"N": "7"}, ":fives": {"S": "5"}, ":he": {"S": "he"}, ":lo": {"S": "lo"},
        ":ell": {"S": "ell"}, ":a": {"S": "a"}, ":z": {"S": "z"}, ":x": {"S": "x"}, ":hello": {"S": "hello"},
        ":deep": {"S": "deep"}, ":bp": {"B": "AQ=="}, ":tN": {"S": "N"}, ":tS": {"S": "S"}, ":tNULL": {"S": "NULL"},
        ":tSS": {"S": "SS"}, ":tNS": {"S": "NS"}, ":tM": {"S": "M"}, ":tL": {"S": "L"}, ":tBOOL": {"S": "BOOL"},
        ":tB": {"S": "B"}, ":true": {"BOOL": true}
    })
}

/// (expression, whether it holds for `base_item`).
const CASES: &[(&str, bool)] = &[
    ("attribute_exists(n)", true),
    ("attribute_exists(nothere)", false),
    ("attribute_not_exists(nothere)", true),
    ("attribute_not_exists(n)", false),
    ("attribute_exists(m.b.c)", true),
    ("attribute_exists(m.b.x)", false),
    ("attribute_exists(l[1])", true),
    ("attribute_exists(l[5])", false),
    ("attribute_type(n, :tN)", true),
    ("attribute_type(s, :tN)", false),
    ("attribute_type(s, :tS)", true),
    ("attribute_type(nul, :tNULL)", true),
    ("attribute_type(ss, :tSS)", true),
    ("attribute_type(ns, :tNS)", true),
    ("attribute_type(m, :tM)", true),
    ("attribute_type(l, :tL)", true),
    ("attribute_type(flag, :tBOOL)", true),
    ("attribute_type(bin, :tB)", true),
    ("begins_with(s, :he)", true),
    ("begins_with(s, :lo)", false),
    ("begins_with(bin, :bp)", true),
    ("contains(s, :ell)", true),
    ("contains(s, :z)", false),
    ("contains(ss, :a)", true),
    ("contains(ss, :z)", false),
    ("contains(ns, :one)", true),
    ("contains(l, :x)", true),
    ("contains(l, :z)", false),
    ("size(s) = :five", true),
    ("size(l) = :two", true),
    ("size(m) = :two", true),
    ("size(ss) = :two", true),
    ("size(bin) = :three", true),
    ("size(s) > :six", false),
    ("n = :five", true),
    ("n <> :five", false),
    ("n <> :four", true),
    ("n < :six", true),
    ("n < :five", false),
    ("n <= :five", true),
    ("n > :four", true),
    ("n > :five", false),
    ("n >= :six", false),
    ("n >= :five", true),
    ("s < :z", true),
    ("n = :fives", false),
    ("n <> :fives", true),
    ("n < :fives", false),
    ("flag = :true", true),
    ("m.b.c = :deep", true),
    ("l[0] = :one", true),
    ("l[1] = :one", false),
    ("n BETWEEN :four AND :six", true),
    ("n BETWEEN :six AND :seven", false),
    ("n BETWEEN :five AND :five", true),
    ("n IN (:four, :five)", true),
    ("s IN (:a, :z)", false),
    ("NOT n = :four", true),
    ("NOT attribute_exists(n)", false),
    ("n = :four OR n = :five AND s = :z", false),
    ("(n = :four OR n = :five) AND s = :hello", true),
    ("n = :four OR n = :five AND s = :hello", true),
    ("NOT (n = :four OR s = :hello)", false),
    (
        "attribute_exists(n) AND NOT contains(ss, :z) AND size(l) BETWEEN :one AND :three",
        true,
    ),
];

#[tokio::test]
async fn every_function_and_operator_as_condition_and_filter() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Cond", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let item = av_map(&base_item());
    c.put_item()
        .table_name("Cond")
        .set_item(Some(item.clone()))
        .send()
        .await
        .unwrap();
    for &(expression, holds) in CASES {
        let values = values_for(expression, &pool());
        let put = c
            .put_item()
            .table_name("Cond")
            .set_item(Some(item.clone()))
            .condition_expression(expression)
            .set_expression_attribute_values(values.clone())
            .send()
            .await;
        match (&put, holds) {
            (Ok(_), true) => {}
            (Err(e), false) => assert_eq!(
                error_code(e),
                "ConditionalCheckFailedException",
                "{expression}: {}",
                error_message(e)
            ),
            _ => panic!("{expression}: expected holds={holds}, got {put:?}"),
        }
        let scan = c
            .scan()
            .table_name("Cond")
            .filter_expression(expression)
            .set_expression_attribute_values(values)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{expression}: {e:?}"));
        assert_eq!(scan.count(), i32::from(holds), "filter {expression}");
        assert_eq!(scan.scanned_count(), 1, "filter {expression}");
    }
    region.shutdown().await;
}

#[tokio::test]
async fn conditional_writes_fail_without_change_and_can_return_the_item() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "CondW", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let original = common::item([("pk", s("k")), ("v", s("one"))]);
    c.put_item()
        .table_name("CondW")
        .set_item(Some(original.clone()))
        .send()
        .await
        .unwrap();

    // attribute_not_exists on an existing item: the classic "create only".
    let err = c
        .put_item()
        .table_name("CondW")
        .set_item(Some(common::item([("pk", s("k")), ("v", s("two"))])))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    assert_error(
        &err,
        "ConditionalCheckFailedException",
        "The conditional request failed",
    );
    let returned = err.into_service_error();
    let returned = match returned {
        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e) => e.item,
        other => panic!("{other:?}"),
    };
    assert_eq!(returned, Some(original.clone()));

    // Without ReturnValuesOnConditionCheckFailure no item comes back.
    let err = c
        .delete_item()
        .table_name("CondW")
        .key("pk", s("k"))
        .condition_expression("v = :v")
        .expression_attribute_values(":v", s("other"))
        .send()
        .await
        .unwrap_err();
    match err.into_service_error() {
        aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(e) => {
            assert!(e.item.is_none())
        }
        other => panic!("{other:?}"),
    }
    let err = c
        .update_item()
        .table_name("CondW")
        .key("pk", s("k"))
        .update_expression("SET v = :v")
        .condition_expression("attribute_not_exists(v)")
        .expression_attribute_values(":v", s("three"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ConditionalCheckFailedException");

    // Nothing changed; a condition that holds lets the delete through.
    let got = c.get_item().table_name("CondW").key("pk", s("k")).send().await.unwrap();
    assert_eq!(got.item(), Some(&original));
    c.delete_item()
        .table_name("CondW")
        .key("pk", s("k"))
        .condition_expression("v = :v")
        .expression_attribute_values(":v", s("one"))
        .send()
        .await
        .unwrap();
    let got = c.get_item().table_name("CondW").key("pk", s("k")).send().await.unwrap();
    assert!(got.item().is_none());

    // A condition on a missing item sees an empty item.
    c.put_item()
        .table_name("CondW")
        .set_item(Some(original.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .unwrap();
    region.shutdown().await;
}
