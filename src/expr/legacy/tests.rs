//! Tests of the legacy parameters.

use serde_json::{Value, json};

use super::*;
use crate::model::{Item, KeyAttribute, KeySchema, ScalarType, item_from_json, item_to_json};

fn item() -> Item {
    item_from_json(&json!({"pk": {"S": "k"}, "n": {"N": "5"}, "s": {"S": "abc"}, "ss": {"SS": ["x", "y"]}, "l": {"L": [{"S": "a"}]}}))
        .unwrap()
}

fn check_expected(spec: Value, op: Option<&str>) -> Result<bool, String> {
    let cond = expected(&spec, op).map_err(|e| e.to_string())?;
    Ok(cond.evaluate(&item()).unwrap())
}

#[test]
fn expected_evaluates() {
    let cases = [
        (json!({"n": {"Value": {"N": "5"}}}), None, true),
        (json!({"n": {"Value": {"N": "5"}, "Exists": true}}), None, true),
        (json!({"absent": {"Exists": false}}), None, true),
        (json!({"n": {"Exists": false}}), None, false),
        (
            json!({"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "4"}]}}),
            None,
            true,
        ),
        (
            json!({"n": {"ComparisonOperator": "LE", "Value": {"N": "4"}}}),
            None,
            false,
        ),
        (
            json!({"absent": {"ComparisonOperator": "NE", "AttributeValueList": [{"N": "4"}]}}),
            None,
            true,
        ),
        (
            json!({"n": {"ComparisonOperator": "NOT_NULL"}, "absent": {"ComparisonOperator": "NULL"}}),
            None,
            true,
        ),
        (
            json!({"s": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "b"}]}}),
            None,
            true,
        ),
        (
            json!({"ss": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "x"}]}}),
            None,
            true,
        ),
        (
            json!({"absent": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "x"}]}}),
            None,
            false,
        ),
        (
            json!({"s": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "z"}]}}),
            None,
            true,
        ),
        (
            json!({"s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "ab"}]}}),
            None,
            true,
        ),
        (
            json!({"n": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}, {"N": "5"}]}}),
            None,
            true,
        ),
        (
            json!({"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "4"}]}}),
            None,
            false,
        ),
        (
            json!({"n": {"Value": {"N": "1"}}, "s": {"Value": {"S": "abc"}}}),
            Some("OR"),
            true,
        ),
        (
            json!({"n": {"Value": {"N": "1"}}, "s": {"Value": {"S": "abc"}}}),
            Some("AND"),
            false,
        ),
        (json!({}), None, true),
    ];
    for (spec, op, expected) in cases {
        assert_eq!(check_expected(spec.clone(), op), Ok(expected), "{spec}");
    }
}

#[test]
fn expected_validation_messages() {
    let invalid = "One or more parameter values were invalid: ";
    let cases = [
        (
            json!({"a": {"Value": {"S": "x"}, "AttributeValueList": [{"S": "x"}]}}),
            "Value and AttributeValueList cannot be used together for Attribute: a",
        ),
        (
            json!({"a": {"ComparisonOperator": "EQ", "Exists": true}}),
            "Exists and ComparisonOperator cannot be used together for Attribute: a",
        ),
        (
            json!({"a": {"ComparisonOperator": "EQ"}}),
            "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a",
        ),
        (
            json!({"a": {"AttributeValueList": [{"S": "x"}]}}),
            "AttributeValueList can only be used with a ComparisonOperator for Attribute: a",
        ),
        (
            json!({"a": {"Exists": true}}),
            "Value must be provided when Exists is true for Attribute: a",
        ),
        (
            json!({"a": {}}),
            "Value must be provided when Exists is null for Attribute: a",
        ),
        (
            json!({"a": {"Exists": false, "Value": {"S": "x"}}}),
            "Value cannot be used when Exists is false for Attribute: a",
        ),
        (
            json!({"a": {"ComparisonOperator": "NULL", "AttributeValueList": [{"S": "x"}]}}),
            "Invalid number of argument(s) for the NULL ComparisonOperator",
        ),
        (
            json!({"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"S": "x"}, {"N": "1"}]}}),
            "AttributeValues inside AttributeValueList must be of same type",
        ),
        (
            json!({"a": {"ComparisonOperator": "LT", "AttributeValueList": [{"BOOL": true}]}}),
            "ComparisonOperator LT is not valid for BOOL AttributeValue type",
        ),
    ];
    for (spec, message) in cases {
        assert_eq!(
            check_expected(spec.clone(), None),
            Err(format!("{invalid}{message}")),
            "{spec}"
        );
    }
    assert_eq!(
        check_expected(
            json!({"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "b"}, {"S": "a"}]}}),
            None
        ),
        Err("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound".into())
    );
}

#[test]
fn filters_evaluate() {
    let f = json!({"n": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "5"}]}, "s": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "zzz"}]}});
    assert!(!filter(&f, None).unwrap().evaluate(&item()).unwrap());
    assert!(filter(&f, Some("OR")).unwrap().evaluate(&item()).unwrap());
    assert_eq!(
        filter(&json!({"n": {"ComparisonOperator": "EQ"}}), None)
            .unwrap_err()
            .to_string(),
        "One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator"
    );
}

#[test]
fn attribute_updates_apply() {
    let updates = json!({
        "n": {"Action": "ADD", "Value": {"N": "2"}},
        "s": {"Action": "DELETE"},
        "ss": {"Action": "DELETE", "Value": {"SS": ["x"]}},
        "l": {"Action": "ADD", "Value": {"L": [{"S": "b"}]}},
        "newl": {"Action": "ADD", "Value": {"L": [{"S": "c"}]}},
        "p": {"Value": {"BOOL": true}}
    });
    let update = attribute_updates(&updates).unwrap();
    let mut it = item();
    update.apply(&mut it, &["pk"]).unwrap();
    assert_eq!(
        item_to_json(&it),
        json!({"pk": {"S": "k"}, "n": {"N": "7"}, "ss": {"SS": ["y"]}, "l": {"L": [{"S": "a"}, {"S": "b"}]},
               "newl": {"L": [{"S": "c"}]}, "p": {"BOOL": true}})
    );
    let err = |u: Value| attribute_updates(&u).unwrap_err().to_string();
    assert_eq!(
        err(json!({"a": {"Action": "PUT"}})),
        "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified"
    );
    let key_update = attribute_updates(&json!({"pk": {"Value": {"S": "x"}}})).unwrap();
    assert_eq!(
        key_update.apply(&mut item(), &["pk"]).unwrap_err().to_string(),
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"
    );
}

#[test]
fn attributes_to_get_projects_top_level_names() {
    let projection = attributes_to_get(&json!(["n", "status", "absent"])).unwrap();
    assert_eq!(item_to_json(&projection.apply(&item())), json!({"n": {"N": "5"}}));
    assert_eq!(
        attributes_to_get(&json!(["a", "a"])).unwrap_err().to_string(),
        "One or more parameter values were invalid: Duplicate value in attribute name: a"
    );
}

#[test]
fn key_conditions_validate_against_schema() {
    let schema = KeySchema {
        hash: KeyAttribute {
            name: "pk".into(),
            ty: ScalarType::S,
        },
        range: Some(KeyAttribute {
            name: "sk".into(),
            ty: ScalarType::N,
        }),
    };
    let ok = key_conditions(
        &json!({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]},
                "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "3"}]}}),
        &schema,
    )
    .unwrap();
    assert!(ok.range.unwrap().matches(&AttributeValue::N(2.into())));
    let err = |v: Value| key_conditions(&v, &schema).unwrap_err().to_string();
    assert_eq!(
        err(json!({"pk": {"ComparisonOperator": "NULL"}})),
        "Attempted conditional constraint is not an indexable operation"
    );
    assert_eq!(
        err(json!({"pk": {"ComparisonOperator": "GT", "AttributeValueList": [{"S": "k"}]}})),
        "Query key condition not supported"
    );
    assert_eq!(
        err(json!({"sk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}})),
        "Query condition missed key schema element: pk"
    );
    assert_eq!(err(json!({})), "Conditions can be of length 1 or 2 only");
    assert_eq!(
        err(json!({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}})),
        "One or more parameter values were invalid: Condition parameter type does not match schema type"
    );
}

/// Depth of a condition tree, counted without recursion.
fn depth(root: &Cond) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(root, 1)];
    while let Some((cond, level)) = stack.pop() {
        deepest = deepest.max(level);
        match cond {
            Cond::And(a, b) | Cond::Or(a, b) => {
                stack.push((a, level + 1));
                stack.push((b, level + 1));
            }
            Cond::Not(inner) => stack.push((inner, level + 1)),
            _ => {}
        }
    }
    deepest
}

#[test]
fn many_conditions_join_into_a_shallow_tree_with_the_same_meaning() {
    let spec = |i: usize| json!({"ComparisonOperator": "NE", "AttributeValueList": [{"N": i.to_string()}]});
    let many: serde_json::Map<String, Value> = (0..100_000).map(|i| (format!("a{i}"), spec(i))).collect();
    let and = filter(&Value::Object(many.clone()), None).unwrap();
    assert!(depth(&and.root) <= 18, "depth {}", depth(&and.root));
    // Every aN is missing, so every NE holds: AND is true; with a0 = 0, false.
    assert!(and.evaluate(&Item::new()).unwrap());
    let mut zero = Item::new();
    zero.insert("a0".into(), AttributeValue::N(0.into()));
    assert!(!and.evaluate(&zero).unwrap());
    let or = expected(&Value::Object(many), Some("OR")).unwrap();
    assert!(or.evaluate(&zero).unwrap());
    assert_eq!(or.attribute_names().len(), 100_000);
    assert_eq!(or.attribute_names()[..2], ["a0", "a1"]);
}

#[test]
fn attribute_names_empty_or_too_long_are_refused() {
    let long = "x".repeat(100_000);
    let spec = json!({"ComparisonOperator": "NOT_NULL"});
    for name in ["", long.as_str()] {
        let conditions = json!({ name: spec.clone() });
        let message = filter(&conditions, None).unwrap_err().to_string();
        assert!(
            message.starts_with("One or more parameter values were invalid: "),
            "{message}"
        );
        assert_eq!(expected(&conditions, None).unwrap_err().to_string(), message);
        assert_eq!(attributes_to_get(&json!([name])).unwrap_err().to_string(), message);
        let update = json!({ name: {"Action": "DELETE"} });
        assert_eq!(attribute_updates(&update).unwrap_err().to_string(), message);
    }
    assert_eq!(
        filter(&json!({"": spec}), None).unwrap_err().to_string(),
        "One or more parameter values were invalid: Empty attribute name"
    );
    let longest = "y".repeat(crate::model::MAX_ATTRIBUTE_NAME_BYTES);
    assert!(filter(&json!({ longest: {"ComparisonOperator": "NULL"} }), None).is_ok());
}

#[test]
fn sets_of_a_hundred_thousand_members_are_read_merged_and_compared() {
    // Each step compared members pairwise before: minutes, on the writer.
    let members = |range: std::ops::Range<usize>| Value::Array(range.map(|i| json!(format!("m{i}"))).collect());
    let mut big = Item::new();
    big.insert("pk".into(), AttributeValue::S("k".into()));
    big.insert(
        "ss".into(),
        attribute_value(&json!({"SS": members(0..100_000)})).unwrap(),
    );
    let add = attribute_updates(&json!({"ss": {"Action": "ADD", "Value": {"SS": members(50_000..150_000)}}})).unwrap();
    add.apply(&mut big, &["pk"]).unwrap();
    assert!(matches!(&big["ss"], AttributeValue::Ss(all) if all.len() == 150_000));
    let delete = attribute_updates(&json!({"ss": {"Action": "DELETE", "Value": {"SS": members(0..100_000)}}})).unwrap();
    delete.apply(&mut big, &["pk"]).unwrap();
    let reversed = Value::Array((100_000..150_000).rev().map(|i| json!(format!("m{i}"))).collect());
    let same = expected(&json!({"ss": {"Value": {"SS": reversed}}}), None).unwrap();
    assert!(same.evaluate(&big).unwrap());
    let mut with_duplicate = members(0..100_000);
    with_duplicate.as_array_mut().unwrap().push(json!("m7"));
    assert!(attribute_value(&json!({"SS": with_duplicate})).is_err());
}
