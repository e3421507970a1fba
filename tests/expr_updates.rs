//! Update expressions through the AWS SDK: every clause and function, list
//! and map paths, set arithmetic, DynamoDB's errors, and ReturnValues.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ScalarAttributeType};
use common::{Keys, TestRegion, av_map, create_table, error_code, error_message, s, values_for};
use serde_json::json;

fn base_item() -> serde_json::Value {
    json!({
        "pk": {"S": "u"}, "n": {"N": "5"}, "s": {"S": "x"},
        "l": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]},
        "m": {"M": {"a": {"N": "1"}}},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}
    })
}

fn pool() -> serde_json::Value {
    json!({
        ":one": {"N": "1"}, ":two": {"N": "2"}, ":three": {"N": "3"}, ":zero": {"N": "0"}, ":x": {"S": "x"},
        ":y": {"S": "y"}, ":more": {"L": [{"N": "4"}]},
        ":big1": {"N": "12345678901234567890123456789012345678"}, ":tenth": {"N": "0.1"}, ":fifth": {"N": "0.2"},
        ":c": {"SS": ["c"]}, ":a": {"SS": ["a"]}, ":ab": {"SS": ["a", "b"]}, ":ns3": {"NS": ["3"]}, ":m": {"M": {}}
    })
}

/// Sorts set members so items compare regardless of set order.
fn normalise(mut item: HashMap<String, AttributeValue>) -> HashMap<String, AttributeValue> {
    for value in item.values_mut() {
        match value {
            AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.sort(),
            AttributeValue::M(m) => *m = normalise(std::mem::take(m)),
            _ => {}
        }
    }
    item
}

/// (update expression, expected item after it, as changes to `base_item`).
fn cases() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("SET n = n + :one", json!({"n": {"N": "6"}})),
        ("SET n = n - :two", json!({"n": {"N": "3"}})),
        ("SET n = :three - n", json!({"n": {"N": "-2"}})),
        (
            "SET big = :big1 + :one",
            json!({"big": {"N": "12345678901234567890123456789012345679"}}),
        ),
        ("SET tenth = :tenth + :fifth", json!({"tenth": {"N": "0.3"}})),
        ("SET fresh = if_not_exists(fresh, :zero)", json!({"fresh": {"N": "0"}})),
        ("SET n = if_not_exists(n, :zero)", json!({})),
        (
            "SET l = list_append(l, :more)",
            json!({"l": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}, {"N": "4"}]}}),
        ),
        (
            "SET l = list_append(:more, l)",
            json!({"l": {"L": [{"N": "4"}, {"N": "1"}, {"N": "2"}, {"N": "3"}]}}),
        ),
        (
            "SET l[1] = :x",
            json!({"l": {"L": [{"N": "1"}, {"S": "x"}, {"N": "3"}]}}),
        ),
        (
            "SET l[7] = :x",
            json!({"l": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}, {"S": "x"}]}}),
        ),
        ("REMOVE l[0]", json!({"l": {"L": [{"N": "2"}, {"N": "3"}]}})),
        ("REMOVE l[0], l[2]", json!({"l": {"L": [{"N": "2"}]}})),
        ("SET m.b = :x", json!({"m": {"M": {"a": {"N": "1"}, "b": {"S": "x"}}}})),
        ("SET m.a = m.a + :one", json!({"m": {"M": {"a": {"N": "2"}}}})),
        (
            "SET m.c = :m, m.a = :two",
            json!({"m": {"M": {"a": {"N": "2"}, "c": {"M": {}}}}}),
        ),
        ("REMOVE m.a", json!({"m": {"M": {}}})),
        ("REMOVE s, n", json!({"s": null, "n": null})),
        ("ADD n :one", json!({"n": {"N": "6"}})),
        ("ADD fresh :one", json!({"fresh": {"N": "1"}})),
        ("ADD ss :c", json!({"ss": {"SS": ["a", "b", "c"]}})),
        ("ADD ss :a", json!({})),
        ("ADD ns :ns3", json!({"ns": {"NS": ["1", "2", "3"]}})),
        ("ADD newset :c", json!({"newset": {"SS": ["c"]}})),
        ("DELETE ss :a", json!({"ss": {"SS": ["b"]}})),
        ("DELETE ss :ab", json!({"ss": null})),
        ("DELETE ss :c", json!({})),
        (
            "SET s = :y REMOVE n ADD ns :ns3 DELETE ss :a",
            json!({"s": {"S": "y"}, "n": null, "ns": {"NS": ["1", "2", "3"]}, "ss": {"SS": ["b"]}}),
        ),
        ("SET #n = :one", json!({"n": {"N": "1"}})),
    ]
}

#[tokio::test]
async fn every_clause_and_function_gives_dynamodbs_item() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Upd", Keys::Hash("pk", ScalarAttributeType::S)).await;
    for (expression, changes) in cases() {
        c.put_item()
            .table_name("Upd")
            .set_item(Some(av_map(&base_item())))
            .send()
            .await
            .unwrap();
        let names = expression
            .contains("#n")
            .then(|| HashMap::from([("#n".to_string(), "n".to_string())]));
        let out = c
            .update_item()
            .table_name("Upd")
            .key("pk", s("u"))
            .update_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values_for(expression, &pool()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{expression}: {} {}", error_code(&e), error_message(&e)));
        let mut expected = base_item();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                expected.as_object_mut().unwrap().remove(k);
            } else {
                expected[k] = v.clone();
            }
        }
        let expected = normalise(av_map(&expected));
        assert_eq!(normalise(out.attributes().cloned().unwrap()), expected, "{expression}");
        let stored = c.get_item().table_name("Upd").key("pk", s("u")).send().await.unwrap();
        assert_eq!(
            normalise(stored.item().cloned().unwrap()),
            expected,
            "{expression} (stored)"
        );
    }
    region.shutdown().await;
}

/// (update expression, DynamoDB's ValidationException message).
const ERRORS: &[(&str, &str)] = &[
    (
        "SET n = n + :x",
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S",
    ),
    (
        "SET s = s + :one",
        "An operand in the update expression has an incorrect data type",
    ),
    (
        "ADD s :one",
        "An operand in the update expression has an incorrect data type",
    ),
    (
        "SET l = list_append(n, :more)",
        "An operand in the update expression has an incorrect data type",
    ),
    (
        "DELETE n :a",
        "An operand in the update expression has an incorrect data type",
    ),
    (
        "SET nothere.x = :one",
        "The document path provided in the update expression is invalid for update",
    ),
    (
        "SET pk = :x",
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key",
    ),
    (
        "SET a = :one, a = :two",
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
    ),
    (
        "SET m = :one REMOVE m.a",
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m], path two: [m, a]",
    ),
    (
        "SET a = :one SET b = :two",
        "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;",
    ),
    (
        "SET status = :one",
        "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status",
    ),
    (
        "SET a = ",
        "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"= \"",
    ),
    ("", "Invalid UpdateExpression: The expression can not be empty;"),
];

#[tokio::test]
async fn invalid_updates_get_dynamodbs_errors_and_change_nothing() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "UpdErr", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let base = av_map(&base_item());
    c.put_item()
        .table_name("UpdErr")
        .set_item(Some(base.clone()))
        .send()
        .await
        .unwrap();
    for &(expression, message) in ERRORS {
        let err = c
            .update_item()
            .table_name("UpdErr")
            .key("pk", s("u"))
            .update_expression(expression)
            .set_expression_attribute_values(values_for(expression, &pool()))
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_code(&err), "ValidationException", "{expression}");
        assert_eq!(error_message(&err), message, "{expression}");
        let stored = c
            .get_item()
            .table_name("UpdErr")
            .key("pk", s("u"))
            .send()
            .await
            .unwrap();
        assert_eq!(stored.item(), Some(&base), "{expression} changed the item");
    }
    region.shutdown().await;
}

#[tokio::test]
async fn return_values_show_old_and_new_attributes() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "UpdRet", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let expression = "SET n = n + :one, s = :y";
    let expect = |j: serde_json::Value| av_map(&j);
    let cases = [
        (
            ReturnValue::UpdatedOld,
            expect(json!({"n": {"N": "5"}, "s": {"S": "x"}})),
        ),
        (
            ReturnValue::UpdatedNew,
            expect(json!({"n": {"N": "6"}, "s": {"S": "y"}})),
        ),
        (ReturnValue::AllOld, av_map(&base_item())),
    ];
    for (returns, expected) in cases {
        c.put_item()
            .table_name("UpdRet")
            .set_item(Some(av_map(&base_item())))
            .send()
            .await
            .unwrap();
        let out = c
            .update_item()
            .table_name("UpdRet")
            .key("pk", s("u"))
            .update_expression(expression)
            .set_expression_attribute_values(values_for(expression, &pool()))
            .return_values(returns.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            out.attributes().cloned().map(normalise),
            Some(normalise(expected)),
            "{returns:?}"
        );
    }
    // An update that creates the item: nothing old to return.
    let out = c
        .update_item()
        .table_name("UpdRet")
        .key("pk", s("new"))
        .update_expression("SET n = :one")
        .expression_attribute_values(":one", common::n(1))
        .return_values(ReturnValue::UpdatedOld)
        .send()
        .await
        .unwrap();
    assert!(out.attributes().is_none());
    region.shutdown().await;
}
