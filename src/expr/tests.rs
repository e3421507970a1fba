//! Table-driven tests of the public entry points: conditions, updates and
//! key conditions, with DynamoDB's exact messages.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use crate::model::{AttributeValue, Item, KeyAttribute, KeySchema, ScalarType, item_from_json, item_to_json};

mod proptests;

/// Placeholders from DynamoDB JSON: `{"#n": "name"}` and `{":v": {"S": "x"}}`.
pub(super) fn placeholders(names: Value, values: Value) -> Placeholders {
    let names: HashMap<String, String> = serde_json::from_value(names).unwrap();
    let values: HashMap<String, AttributeValue> = item_from_json(&values).unwrap().into_iter().collect();
    Placeholders::new(
        (!names.is_empty()).then_some(names),
        (!values.is_empty()).then_some(values),
    )
}

fn values() -> Value {
    json!({
        ":one": {"N": "1"}, ":two": {"N": "2"}, ":ten": {"N": "10"}, ":s": {"S": "abc"}, ":ab": {"S": "ab"},
        ":b": {"B": "AQI="}, ":t": {"BOOL": true}, ":null": {"NULL": true}, ":l": {"L": [{"N": "1"}]},
        ":m": {"M": {}}, ":ss": {"SS": ["x", "y"]}, ":ns": {"NS": ["1", "5"]}, ":typeS": {"S": "S"},
        ":typeN": {"S": "N"}, ":dog": {"S": "DOG"}, ":x": {"S": "x"}
    })
}

fn item() -> Item {
    item_from_json(&json!({
        "pk": {"S": "k"}, "n": {"N": "5"}, "s": {"S": "abcdef"}, "b": {"B": "AQIDBA=="}, "t": {"BOOL": true},
        "z": {"NULL": true}, "ss": {"SS": ["x", "y", "z"]}, "ns": {"NS": ["1", "2"]},
        "l": {"L": [{"N": "1"}, {"S": "two"}, {"M": {"deep": {"S": "d"}}}]},
        "m": {"M": {"depth2": {"N": "3"}, "list": {"L": [{"S": "q"}]}}}, "five": {"N": "5"}
    }))
    .unwrap()
}

fn eval(text: &str) -> Result<bool, String> {
    let mut ph = placeholders(json!({"#s": "status", "#n": "n"}), values());
    let cond = parse_condition(text, ConditionKind::Condition, &mut ph).map_err(|e| e.to_string())?;
    cond.evaluate(&item()).map_err(|e| e.to_string())
}

#[test]
fn conditions_evaluate_like_dynamodb() {
    let cases = [
        ("n = :one", false),
        ("n = five", true),
        ("n <> :one", true),
        ("absent <> :one", true),
        ("absent <> gone", true),
        ("absent = gone", false),
        ("n < :ten AND n > :one", true),
        ("n <= five AND n >= five", true),
        ("s < :s", false),
        ("s > :s", true),
        ("n < :s", false),
        ("l < :one", false),
        ("n BETWEEN :one AND :ten", true),
        ("n between :one and :two", false),
        ("s BETWEEN :ab AND :s", false),
        ("absent BETWEEN :one AND :ten", false),
        ("n IN (:one, :s, five)", true),
        ("n IN (:one, :two)", false),
        ("absent IN (:one)", false),
        ("attribute_exists(l[2].deep)", true),
        ("attribute_exists(l[3])", false),
        ("attribute_not_exists(m.absent)", true),
        ("attribute_exists(#n)", true),
        ("attribute_type(ss, :typeS)", false),
        ("attribute_type(n, :typeN)", true),
        ("attribute_type(:one, :typeN)", true),
        ("begins_with(s, :ab)", true),
        ("begins_with(n, :ab)", false),
        ("begins_with(:s, :ab)", true),
        ("contains(s, :ab)", true),
        ("contains(ss, :x)", true),
        ("contains(ns, :one)", true),
        ("contains(ns, :ten)", false),
        ("contains(l, :one)", true),
        ("contains(n, :one)", false),
        ("size(s) = :ten", false),
        ("size(s) > :two", true),
        ("size(l) = three", false),
        ("size(ss) BETWEEN :two AND :ten", true),
        ("size(m) = :two", true),
        ("size(b) > :two", true),
        ("size(n) = :one", false),
        ("size(n) <> :one", true),
        ("NOT n = :one", true),
        ("NOT (n = :one OR n = five)", false),
        ("n = :one OR s = :s OR t = :t", true),
        ("(n = :one OR n = five) AND attribute_exists(s)", true),
        ("n = :one OR n = five AND attribute_not_exists(s)", false),
        ("NOT NOT n = five", true),
        ("(n) = (five)", true),
        ("z = :null AND t = :t AND l[0] = :one AND m.depth2 > :two", true),
        ("ss = :ss", false),
        ("m.depth2 = :x", false),
    ];
    for (text, expected) in cases {
        assert_eq!(eval(text), Ok(expected), "{text}");
    }
}

#[test]
fn sets_maps_and_lists_compare_structurally() {
    let mut ph = placeholders(
        json!({}),
        json!({":a": {"SS": ["z", "x", "y"]}, ":b": {"NS": ["2.0", "1"]}, ":m": {"M": {"list": {"L": [{"S": "q"}]}, "depth2": {"N": "3.00"}}}}),
    );
    let cond = parse_condition("ss = :a AND ns = :b AND m = :m", ConditionKind::Condition, &mut ph).unwrap();
    assert_eq!(cond.evaluate(&item()), Ok(true));
    assert_eq!(cond.evaluate(&Item::new()), Ok(false));
}

#[test]
fn condition_errors_carry_dynamodb_messages() {
    let cases = [
        ("", "The expression can not be empty;"),
        (
            "status = :one",
            "Attribute name is a reserved keyword; reserved keyword: status",
        ),
        (
            "#x = :one",
            "An expression attribute name used in the document path is not defined; attribute name: #x",
        ),
        (
            "n = :nope",
            "An expression attribute value used in expression is not defined; attribute value: :nope",
        ),
        ("a=a AND ((a=a AND a=a))", "The expression has redundant parentheses;"),
        ("whatever(n) = :one", "Invalid function name; function: whatever"),
        (
            "attRIbute_exIsts(n)",
            "Invalid function name; function: attRIbute_exIsts",
        ),
        (
            "attribute_not_exists(n) > :one",
            "The function is not allowed to be used this way in an expression; function: attribute_not_exists",
        ),
        (
            "size(n)",
            "The function is not allowed to be used this way in an expression; function: size",
        ),
        (
            "n = if_not_exists(n, :one)",
            "The function is not allowed to be used this way in an expression; function: if_not_exists",
        ),
        (
            "size(contains(a, b)) > a",
            "The function is not allowed to be used this way in an expression; function: contains",
        ),
        (
            "attribute_exists(views, #x)",
            "Attribute name is a reserved keyword; reserved keyword: views",
        ),
        (
            "attribute_exists(n, s)",
            "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2",
        ),
        (
            "size(n, s) > :one",
            "Incorrect number of operands for operator or function; operator or function: size, number of operands: 2",
        ),
        (
            "attribute_exists(:one)",
            "Operator or function requires a document path; operator or function: attribute_exists",
        ),
        (
            "begins_with(s, :one)",
            "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ),
        (
            "size(:t) > n",
            "Incorrect operand type for operator or function; operator or function: size, operand type: BOOL",
        ),
        (
            "attribute_type(n, :one)",
            "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N",
        ),
        (
            "attribute_type(n, :dog)",
            "Invalid attribute type name found; type: DOG, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
        (
            "n < :l",
            "Incorrect operand type for operator or function; operator or function: <, operand type: L",
        ),
        (
            "n BETWEEN :t AND :t",
            "Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: BOOL",
        ),
        (
            "n = n",
            "The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [n]",
        ),
        (
            "#n <> n",
            "The first operand must be distinct from the remaining operands for this operator or function; operator: <>, first operand: [n]",
        ),
        (
            "contains(l[1].a, l[1].a)",
            "The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [l, [1], a]",
        ),
        (
            "n BETWEEN :ten AND :one",
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:1}",
        ),
        (
            "n BETWEEN :one AND :s",
            "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:abc}",
        ),
        ("n", "Syntax error; token: \"<EOF>\", near: \"n\""),
        ("n = ", "Syntax error; token: \"<EOF>\", near: \"= \""),
        ("n = :one AND", "Syntax error; token: \"<EOF>\", near: \"AND\""),
        ("n = 1", "Syntax error; token: \"1\", near: \"= 1\""),
        ("n + :one = :two", "Syntax error; token: \"+\", near: \"n + :one\""),
    ];
    for (text, detail) in cases {
        assert_eq!(
            eval(text),
            Err(format!("Invalid ConditionExpression: {detail}")),
            "{text}"
        );
    }
    let mut ph = placeholders(json!({}), values());
    assert_eq!(
        parse_condition("n = =", ConditionKind::Filter, &mut ph)
            .unwrap_err()
            .to_string(),
        "Invalid FilterExpression: Syntax error; token: \"=\", near: \"= =\""
    );
}

#[test]
fn in_accepts_up_to_one_hundred_candidates() {
    let values: serde_json::Map<String, Value> = (0..101)
        .map(|i| (format!(":v{i}"), json!({"N": i.to_string()})))
        .collect();
    let list = |n: usize| (0..n).map(|i| format!(":v{i}")).collect::<Vec<_>>().join(", ");
    let mut ph = placeholders(json!({}), Value::Object(values.clone()));
    assert!(parse_condition(&format!("n IN ({})", list(100)), ConditionKind::Condition, &mut ph).is_ok());
    let mut ph = placeholders(json!({}), Value::Object(values));
    assert_eq!(
        parse_condition(&format!("n IN ({})", list(101)), ConditionKind::Condition, &mut ph)
            .unwrap_err()
            .to_string(),
        "Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101"
    );
}

#[test]
fn placeholders_track_use_across_expressions() {
    let mut ph = placeholders(
        json!({"#a": "a", "#b": "b"}),
        json!({":v": {"S": "x"}, ":w": {"S": "y"}}),
    );
    parse_condition("#a = :v", ConditionKind::Condition, &mut ph).unwrap();
    assert_eq!(
        ph.check_all_used().unwrap_err().to_string(),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}"
    );
    parse_update("SET #b = :v", &mut ph).unwrap();
    assert_eq!(
        ph.check_all_used().unwrap_err().to_string(),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"
    );
}

fn update(text: &str, start: Value) -> Result<Value, String> {
    let mut ph = placeholders(json!({"#c": "c", "#s": "status"}), values());
    let expr = parse_update(text, &mut ph).map_err(|e| e.to_string())?;
    let mut item = item_from_json(&start).unwrap();
    let before = item.clone();
    let result = expr.apply(&mut item, &["pk"]);
    if result.is_err() {
        assert_eq!(item, before, "a failed update must leave the item unchanged");
    }
    result.map_err(|e| e.to_string())?;
    Ok(item_to_json(&item))
}

#[test]
fn updates_apply_like_dynamodb() {
    let start = json!({"pk": {"S": "k"}, "n": {"N": "5"}, "l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]},
        "m": {"M": {"x": {"N": "1"}}}, "ss": {"SS": ["a", "b"]}, "tmp": {"S": "t"}});
    let cases = [
        ("SET n = n + :one", json!({"n": {"N": "6"}})),
        ("SET n = :ten - n", json!({"n": {"N": "5"}})),
        ("SET c = n, n = :one", json!({"c": {"N": "5"}, "n": {"N": "1"}})),
        ("SET #c = if_not_exists(#c, :one)", json!({"c": {"N": "1"}})),
        ("SET n = if_not_exists(n, :one)", json!({"n": {"N": "5"}})),
        (
            "SET l = list_append(l, :l)",
            json!({"l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"N": "1"}]}}),
        ),
        (
            "SET l = list_append(:l, l)",
            json!({"l": {"L": [{"N": "1"}, {"S": "a"}, {"S": "b"}, {"S": "c"}]}}),
        ),
        (
            "SET l[1] = :x",
            json!({"l": {"L": [{"S": "a"}, {"S": "x"}, {"S": "c"}]}}),
        ),
        (
            "SET l[9] = :x",
            json!({"l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"S": "x"}]}}),
        ),
        (
            "SET m.y = :x, m.x = m.x + :one",
            json!({"m": {"M": {"x": {"N": "2"}, "y": {"S": "x"}}}}),
        ),
        ("REMOVE l[0], l[2]", json!({"l": {"L": [{"S": "b"}]}})),
        ("REMOVE tmp, absent, m.absent, l[7]", json!({})),
        ("ADD n :two", json!({"n": {"N": "7"}})),
        (
            "ADD newn :two, ss :ss",
            json!({"newn": {"N": "2"}, "ss": {"SS": ["a", "b", "x", "y"]}}),
        ),
        ("DELETE ss :ss", json!({})),
        (
            "SET tmp = :x REMOVE n ADD newset :ns DELETE absent :ss",
            json!({"tmp": {"S": "x"}, "newset": {"NS": ["1", "5"]}}),
        ),
        ("set #c = :one remove tmp", json!({"c": {"N": "1"}})),
    ];
    // Each case lists the attributes it changes; removals are checked below.
    for (text, changes) in cases {
        let got = update(text, start.clone()).unwrap();
        for (k, v) in changes.as_object().unwrap() {
            assert_eq!(got.get(k), Some(v), "{text}: {k}");
        }
    }
    assert!(update("REMOVE tmp", start.clone()).unwrap().get("tmp").is_none());
    assert!(
        update("DELETE ss :ss", json!({"ss": {"SS": ["x", "y"]}}))
            .unwrap()
            .get("ss")
            .is_none()
    );
    assert_eq!(
        update("DELETE ss :ss", json!({"ss": {"SS": ["x", "q"]}})).unwrap(),
        json!({"ss": {"SS": ["q"]}})
    );
    assert_eq!(update("SET a = :one", json!({})).unwrap(), json!({"a": {"N": "1"}}));
}

#[test]
fn update_runtime_errors_leave_item_unchanged() {
    let start = json!({"pk": {"S": "k"}, "s": {"S": "x"}, "l": {"L": []}, "n": {"N": "1"},
        "big": {"N": "99999999999999999999999999999999999999"}, "ss": {"SS": ["a"]}});
    let cases = [
        (
            "SET pk = :one",
            "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key",
        ),
        (
            "REMOVE pk",
            "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key",
        ),
        (
            "SET n = s + :one",
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "SET n = absent + :one",
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        (
            "SET n = absent",
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        (
            "SET l = list_append(l, s)",
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "SET absent.x = :one",
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "SET s.x = :one",
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "SET s[0] = :one",
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "ADD s :one",
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "ADD ss :ns",
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "DELETE ss :ns",
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "SET big = big + :ten",
            "Attempting to store more than 38 significant digits in a Number",
        ),
        (
            "SET n = :one, m = s + :one",
            "An operand in the update expression has an incorrect data type",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(update(text, start.clone()), Err(message.to_string()), "{text}");
    }
}

#[test]
fn update_parse_errors_carry_dynamodb_messages() {
    let cases = [
        ("", "The expression can not be empty;"),
        (
            "SET a = :one SET b = :two",
            "The \"SET\" section can only be used once in an update expression;",
        ),
        (
            "remove a set b = :one remove c",
            "The \"REMOVE\" section can only be used once in an update expression;",
        ),
        (
            " remove Absolute ",
            "Attribute name is a reserved keyword; reserved keyword: Absolute",
        ),
        (
            "SET #x = :one",
            "An expression attribute name used in the document path is not defined; attribute name: #x",
        ),
        (
            "SET a = :nope",
            "An expression attribute value used in expression is not defined; attribute value: :nope",
        ),
        (
            "SET a = if_not_exist(a, :one)",
            "Invalid function name; function: if_not_exist",
        ),
        (
            "SET a = size(b)",
            "The function is not allowed to be used this way in an expression; function: size",
        ),
        (
            "set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a, :one)",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c, [1], a], path two: [c]",
        ),
        (
            "set a = b remove a",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
        ),
        (
            "remove a.#c set a[1] = b",
            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, c], path two: [a, [1]]",
        ),
        (
            "ADD a.b :s",
            "Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
        ),
        (
            "DELETE a :one",
            "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER",
        ),
        (
            "ADD a :l",
            "Incorrect operand type for operator or function; operator: ADD, operand type: LIST",
        ),
        (
            "SET a = if_not_exists(b)",
            "Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1",
        ),
        (
            "SET a = if_not_exists(:one, b)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "SET a = list_append(:s, a)",
            "Incorrect operand type for operator or function; operator or function: list_append, operand type: S",
        ),
        (
            "SET a = a + :s",
            "Incorrect operand type for operator or function; operator or function: +, operand type: S",
        ),
        (
            "SET a = :ss - a",
            "Incorrect operand type for operator or function; operator or function: -, operand type: SS",
        ),
        ("SET a = :one,", "Syntax error; token: \"<EOF>\", near: \",\""),
        ("SET a = b + c + d", "Syntax error; token: \"+\", near: \"c + d\""),
    ];
    for (text, detail) in cases {
        assert_eq!(
            update(text, json!({})),
            Err(format!("Invalid UpdateExpression: {detail}")),
            "{text}"
        );
    }
}

#[test]
fn updated_projection_selects_touched_paths() {
    let mut ph = placeholders(json!({}), values());
    let expr = parse_update("SET m.x = :one, n = :two REMOVE l[0] ADD ss :ss", &mut ph).unwrap();
    let old = item();
    let touched = expr.updated_projection().apply(&old);
    // m.x does not exist in the old item, so m is left out entirely.
    assert_eq!(
        item_to_json(&touched),
        json!({"n": {"N": "5"}, "l": {"L": [{"N": "1"}]}, "ss": {"SS": ["x", "y", "z"]}})
    );
}

fn schema(range: Option<ScalarType>) -> KeySchema {
    KeySchema {
        hash: KeyAttribute {
            name: "pk".into(),
            ty: ScalarType::S,
        },
        range: range.map(|ty| KeyAttribute { name: "sk".into(), ty }),
    }
}

fn key(text: &str, range: Option<ScalarType>) -> Result<KeyCondition, String> {
    let mut ph = placeholders(json!({"#k": "pk"}), values());
    parse_key_condition(text, &schema(range), &mut ph).map_err(|e| e.to_string())
}

#[test]
fn key_conditions_reduce_to_hash_and_range() {
    let n = |v: i64| AttributeValue::N(v.into());
    let s = |v: &str| AttributeValue::S(v.into());
    let num = Some(ScalarType::N);
    assert_eq!(
        key("pk = :s", num),
        Ok(KeyCondition {
            hash: s("abc"),
            range: None
        })
    );
    assert_eq!(
        key("#k = :s", None),
        Ok(KeyCondition {
            hash: s("abc"),
            range: None
        })
    );
    let cases = [
        ("pk = :s AND sk = :one", RangeCondition::Eq(n(1))),
        ("pk = :s AND sk < :one", RangeCondition::Lt(n(1))),
        ("sk <= :one AND pk = :s", RangeCondition::Le(n(1))),
        ("pk = :s AND :one < sk", RangeCondition::Gt(n(1))),
        ("pk = :s AND (sk >= :one)", RangeCondition::Ge(n(1))),
        (
            "pk = :s AND sk BETWEEN :one AND :ten",
            RangeCondition::Between(n(1), n(10)),
        ),
    ];
    for (text, range) in cases {
        assert_eq!(key(text, num).map(|k| k.range), Ok(Some(range)), "{text}");
    }
    let prefix = key("pk = :s AND begins_with(sk, :ab)", Some(ScalarType::S))
        .unwrap()
        .range
        .unwrap();
    assert_eq!(prefix, RangeCondition::BeginsWith(s("ab")));
    assert!(prefix.matches(&s("abc")) && !prefix.matches(&s("b")) && !prefix.matches(&n(1)));
    let between = RangeCondition::Between(n(1), n(10));
    assert!(between.matches(&n(10)) && between.matches(&n(1)) && !between.matches(&n(11)));
    assert_eq!(
        between.bounds(),
        (std::ops::Bound::Included(&n(1)), std::ops::Bound::Included(&n(10)))
    );
    assert!(RangeCondition::Lt(n(3)).matches(&n(2)) && !RangeCondition::Gt(n(3)).matches(&n(3)));
}

#[test]
fn key_condition_errors() {
    let num = Some(ScalarType::N);
    let cases = [
        (
            "pk = :s OR sk = :one",
            "Invalid operator used in KeyConditionExpression: OR",
        ),
        ("NOT pk = :s", "Invalid operator used in KeyConditionExpression: NOT"),
        ("pk IN (:s)", "Invalid operator used in KeyConditionExpression: IN"),
        ("pk <> :s", "Invalid operator used in KeyConditionExpression: <>"),
        (
            "attribute_exists(pk)",
            "Invalid operator used in KeyConditionExpression: attribute_exists",
        ),
        (
            "contains(pk, :s)",
            "Invalid operator used in KeyConditionExpression: contains",
        ),
        (
            "pk = :s AND size(sk) > :one",
            "KeyConditionExpressions cannot contain nested operations",
        ),
        (
            "pk = :s AND sk = pk",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        (
            "pk.x = :s",
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ),
        (
            ":s = :ab",
            "Invalid condition in KeyConditionExpression: No key attribute specified",
        ),
        (
            "pk = :s AND :one BETWEEN sk AND :ten",
            "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand",
        ),
        (
            "pk = :s AND begins_with(:ab, sk)",
            "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand",
        ),
        (
            "pk = :s AND sk > :one AND sk < :ten",
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
        ),
        (
            "pk = :s AND sk > :one AND extra = :two",
            "The number of query conditions (3) exceeds the number of key attributes defined in the schema (2)",
        ),
        ("sk = :one", "Query condition missed key schema element: pk"),
        (
            "pk = :s AND extra = :one",
            "Query condition missed key schema element: sk",
        ),
        ("pk > :s", "Query key condition not supported"),
        ("begins_with(pk, :s)", "Query key condition not supported"),
        (
            "pk = :one",
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ),
        (
            "pk = :s AND sk = :s",
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ),
        (
            "pk = :s AND sk < :t",
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: BOOL",
        ),
        (
            "pk = :s AND sk BETWEEN :ten AND :one",
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:1}",
        ),
        (
            "pk = :s AND begins_with(sk, :one)",
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ),
        (
            "pk = ",
            "Invalid KeyConditionExpression: Syntax error; token: \"<EOF>\", near: \"= \"",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(key(text, num), Err(message.to_string()), "{text}");
    }
    assert_eq!(
        key("pk = :s AND sk = :one", None),
        Err("The number of query conditions (2) exceeds the number of key attributes defined in the schema (1)".into())
    );
}
