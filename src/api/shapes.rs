//! Every request member's JSON type checked against the operation's input
//! shape from the service model, before any handler reads the request, with
//! the SerializationException messages DynamoDB's JSON layer (Coral) sends.
//!
//! `shapes.json` is botocore's DynamoDB and DynamoDB Streams models reduced
//! to the input shapes (`tests/data/shapes_from_model.py` regenerates it).
//! Members a shape does not name are ignored, and `null` is as absent, as
//! DynamoDB does. Like Coral, the check also converts what Coral converts:
//! `"true"`/`"yes"`/`"1"` (and their opposites) for booleans, and a
//! fractional number for an integer (truncated).

use std::collections::HashMap;
use std::sync::LazyLock;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::error::ApiError;

/// Java's name of Coral's types, for the messages.
const NAMESPACE: &str = "com.amazonaws.dynamodb.v20120810";

/// The shape of AttributeValue, whose scalars get a message of their own.
const ATTRIBUTE_VALUE: &str = "AttributeValue";

type ShapeId = usize;

/// What a shape allows.
enum Kind {
    Structure(HashMap<String, ShapeId>),
    List(ShapeId),
    Map(ShapeId),
    String,
    Integer,
    Long,
    Double,
    Boolean,
    Blob,
    Timestamp,
}

struct Shape {
    name: String,
    kind: Kind,
}

/// The input shapes of every operation of every service.
struct Model {
    shapes: Vec<Shape>,
    /// `X-Amz-Target` prefix, then operation, to its input shape (`None`
    /// for an operation without input): looked up by `&str`, without
    /// allocating, on every request.
    operations: HashMap<String, HashMap<String, Option<ShapeId>>>,
}

static MODEL: LazyLock<Model> = LazyLock::new(|| {
    // The file is generated and compiled in; `the_model_loads` proves it parses.
    let raw: Value = serde_json::from_str(include_str!("shapes.json")).expect("shapes.json is valid JSON");
    Model::from_json(&raw)
});

impl Model {
    fn from_json(raw: &Value) -> Model {
        let mut model = Model {
            shapes: Vec::new(),
            operations: HashMap::new(),
        };
        let Some(services) = raw.as_object() else {
            return model;
        };
        for (prefix, service) in services {
            let empty = Map::new();
            let shapes = service["shapes"].as_object().unwrap_or(&empty);
            let base = model.shapes.len();
            let ids: HashMap<String, ShapeId> = shapes.keys().enumerate().map(|(i, n)| (n.clone(), base + i)).collect();
            for (name, spec) in shapes {
                debug_assert_eq!(ids[name], model.shapes.len());
                model.shapes.push(Shape {
                    name: name.clone(),
                    kind: kind(spec, &ids),
                });
            }
            if let Some(operations) = service["operations"].as_object() {
                let inputs = operations
                    .iter()
                    .map(|(op, input)| (op.clone(), input.as_str().and_then(|s| ids.get(s).copied())))
                    .collect();
                model.operations.insert(prefix.clone(), inputs);
            }
        }
        model
    }
}

/// A shape's kind from its reduced form: `[type, members | member | value]`.
fn kind(spec: &Value, ids: &HashMap<String, ShapeId>) -> Kind {
    let id = |v: &Value| v.as_str().and_then(|s| ids.get(s).copied()).unwrap_or(0);
    match spec[0].as_str().unwrap_or("") {
        "structure" => Kind::Structure(
            spec[1]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), id(v))).collect())
                .unwrap_or_default(),
        ),
        "list" => Kind::List(id(&spec[1])),
        "map" => Kind::Map(id(&spec[1])),
        "integer" => Kind::Integer,
        "long" => Kind::Long,
        "double" => Kind::Double,
        "boolean" => Kind::Boolean,
        "blob" => Kind::Blob,
        "timestamp" => Kind::Timestamp,
        _ => Kind::String,
    }
}

/// True when `operation` is an operation of the service with `prefix` in
/// DynamoDB's API reference (served by Meridian or not).
pub fn is_api_operation(prefix: &str, operation: &str) -> bool {
    MODEL
        .operations
        .get(prefix)
        .is_some_and(|ops| ops.contains_key(operation))
}

/// Checks (and converts, as Coral does) `body`, the request of `operation`
/// of the service with `prefix`, against the operation's input shape.
pub fn check_request(prefix: &str, operation: &str, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    let Some(Some(input)) = MODEL.operations.get(prefix).and_then(|ops| ops.get(operation)) else {
        return Ok(());
    };
    check_members(&MODEL, *input, body)
}

fn check_members(model: &Model, id: ShapeId, object: &mut Map<String, Value>) -> Result<(), ApiError> {
    let Kind::Structure(members) = &model.shapes[id].kind else {
        return Ok(());
    };
    for (name, value) in object.iter_mut() {
        if let Some(&member) = members.get(name) {
            check(model, member, value)?;
        }
    }
    Ok(())
}

/// Checks `value` against shape `id`. Recursion is bounded by the JSON
/// parser's nesting limit (128), which every body went through.
fn check(model: &Model, id: ShapeId, value: &mut Value) -> Result<(), ApiError> {
    if value.is_null() {
        return Ok(());
    }
    let shape = &model.shapes[id];
    match &shape.kind {
        Kind::Structure(_) => match value {
            Value::Object(object) => check_members(model, id, object),
            Value::Array(_) => Err(error(format!(
                "Unrecognized collection type class {NAMESPACE}.{}",
                shape.name
            ))),
            _ if shape.name == ATTRIBUTE_VALUE => Err(error("Unexpected value type in payload")),
            _ => Err(error("Unexpected field type")),
        },
        Kind::List(member) => match value {
            Value::Array(items) => items.iter_mut().try_for_each(|item| check(model, *member, item)),
            Value::Object(_) => Err(start_of_structure()),
            _ => Err(error("Unexpected field type")),
        },
        Kind::Map(member) => match value {
            Value::Object(object) => object.values_mut().try_for_each(|v| check(model, *member, v)),
            Value::Array(_) => Err(error(format!(
                "Unrecognized collection type java.util.Map<java.lang.String, {}>",
                java_type(model, *member)
            ))),
            _ => Err(error("Unexpected field type")),
        },
        Kind::String => check_scalar(value, "String", |v| v.is_string()),
        Kind::Integer | Kind::Long => check_integer(value, scalar_name(&shape.kind)),
        Kind::Double | Kind::Timestamp => check_scalar(value, scalar_name(&shape.kind), |v| {
            v.is_number() || (matches!(shape.kind, Kind::Timestamp) && v.is_string())
        }),
        Kind::Boolean => check_boolean(value),
        Kind::Blob => check_blob(value),
    }
}

/// The Java type Coral names for a scalar kind.
fn scalar_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Integer => "Integer",
        Kind::Long => "Long",
        Kind::Double => "Double",
        Kind::Boolean => "Boolean",
        Kind::Timestamp => "Date",
        _ => "String",
    }
}

/// The Java type of a map's values, for the collection message.
fn java_type(model: &Model, id: ShapeId) -> String {
    match &model.shapes[id].kind {
        Kind::Structure(_) | Kind::List(_) | Kind::Map(_) => format!("{NAMESPACE}.{}", model.shapes[id].name),
        kind => format!("java.lang.{}", scalar_name(kind)),
    }
}

/// A scalar that `accepts` decides on; anything else gets Coral's message
/// for converting its JSON type to `java`.
fn check_scalar(value: &Value, java: &str, accepts: impl Fn(&Value) -> bool) -> Result<(), ApiError> {
    if accepts(value) {
        return Ok(());
    }
    Err(match value {
        Value::Bool(b) => error(format!("{} cannot be converted to {java}", bool_token(*b))),
        Value::Number(n) => error(format!("{} cannot be converted to {java}", number_token(n))),
        Value::String(_) => error(format!("STRING_VALUE cannot be converted to {java}")),
        Value::Array(_) => error(format!("Unrecognized collection type class java.lang.{java}")),
        _ => start_of_structure(),
    })
}

fn check_integer(value: &mut Value, java: &str) -> Result<(), ApiError> {
    check_scalar(value, java, Value::is_number)?;
    if let Value::Number(n) = value
        && !n.is_i64()
        && !n.is_u64()
        && let Some(f) = n.as_f64()
    {
        // Coral truncates a fractional value; out of range, saturates.
        *value = Value::from(f.trunc() as i64);
    }
    Ok(())
}

fn check_boolean(value: &mut Value) -> Result<(), ApiError> {
    if let Value::String(s) = value {
        let converted = match s.to_ascii_uppercase().as_str() {
            "TRUE" | "1" | "YES" => true,
            "FALSE" | "0" | "NO" => false,
            _ => return Err(error("Unexpected token received from parser")),
        };
        *value = Value::Bool(converted);
        return Ok(());
    }
    check_scalar(value, "Boolean", Value::is_boolean)
}

fn check_blob(value: &Value) -> Result<(), ApiError> {
    match value {
        Value::String(s) => check_base64(s),
        Value::Bool(_) | Value::Number(_) => Err(error("only base-64-encoded strings are convertible to bytes")),
        Value::Array(_) => Err(error("Unrecognized collection type class java.nio.ByteBuffer")),
        _ => Err(start_of_structure()),
    }
}

/// Base64 as Coral decodes it: padded, a multiple of 4 characters.
pub fn check_base64(text: &str) -> Result<(), ApiError> {
    if !text.len().is_multiple_of(4) {
        return Err(error(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {}",
            text.len()
        )));
    }
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(_) => Ok(()),
        // Sic: DynamoDB's message spells it so.
        Err(_) => Err(error("Invalid last non-pad Base64 character dectected")),
    }
}

fn bool_token(b: bool) -> &'static str {
    if b { "TRUE_VALUE" } else { "FALSE_VALUE" }
}

fn number_token(n: &serde_json::Number) -> &'static str {
    if n.is_i64() || n.is_u64() {
        "NUMBER_VALUE"
    } else {
        "DECIMAL_VALUE"
    }
}

fn start_of_structure() -> ApiError {
    error("Start of structure or map found where not expected")
}

fn error(message: impl Into<String>) -> ApiError {
    ApiError::serialization(message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::error::ErrorKind;

    const DYNAMO: &str = "DynamoDB_20120810";

    fn checked(operation: &str, body: Value) -> Result<Value, String> {
        let Value::Object(mut map) = body else {
            panic!("an object")
        };
        match check_request(DYNAMO, operation, &mut map) {
            Ok(()) => Ok(Value::Object(map)),
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::Serialization);
                Err(e.message)
            }
        }
    }

    #[test]
    fn the_model_loads() {
        assert!(MODEL.shapes.len() > 100, "{}", MODEL.shapes.len());
        assert!(is_api_operation(DYNAMO, "PutItem"));
        assert!(is_api_operation("DynamoDBStreams_20120810", "GetRecords"));
        assert!(!is_api_operation(DYNAMO, "GetRecords"));
        assert!(MODEL.operations.values().map(HashMap::len).sum::<usize>() > 60);
    }

    #[test]
    fn well_typed_requests_pass_unchanged() {
        let body = json!({
            "TableName": "t", "Item": {"a": {"N": "1"}, "b": {"B": "AAEC"}, "c": {"L": [{"M": {"x": {"BOOL": true}}}]}},
            "ReturnValues": "ALL_OLD", "Unknown": [1, 2, {"x": 1}], "ConditionExpression": null,
        });
        assert_eq!(checked("PutItem", body.clone()), Ok(body));
    }

    #[test]
    fn wrong_scalar_types_get_corals_messages() {
        let cases = [
            (
                "DescribeTable",
                json!({"TableName": 5}),
                "NUMBER_VALUE cannot be converted to String",
            ),
            (
                "DescribeTable",
                json!({"TableName": 5.5}),
                "DECIMAL_VALUE cannot be converted to String",
            ),
            (
                "DescribeTable",
                json!({"TableName": true}),
                "TRUE_VALUE cannot be converted to String",
            ),
            (
                "DescribeTable",
                json!({"TableName": ["a"]}),
                "Unrecognized collection type class java.lang.String",
            ),
            (
                "DescribeTable",
                json!({"TableName": {}}),
                "Start of structure or map found where not expected",
            ),
            (
                "Scan",
                json!({"Limit": "5"}),
                "STRING_VALUE cannot be converted to Integer",
            ),
            (
                "Scan",
                json!({"ConsistentRead": 1}),
                "NUMBER_VALUE cannot be converted to Boolean",
            ),
            (
                "Scan",
                json!({"ConsistentRead": "maybe"}),
                "Unexpected token received from parser",
            ),
            ("Scan", json!({"AttributesToGet": "a"}), "Unexpected field type"),
            (
                "Scan",
                json!({"AttributesToGet": {}}),
                "Start of structure or map found where not expected",
            ),
            (
                "Scan",
                json!({"ExclusiveStartKey": []}),
                "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>",
            ),
            (
                "Scan",
                json!({"ExpressionAttributeNames": []}),
                "Unrecognized collection type java.util.Map<java.lang.String, java.lang.String>",
            ),
            (
                "PutItem",
                json!({"Item": {"a": "x"}}),
                "Unexpected value type in payload",
            ),
            (
                "PutItem",
                json!({"Item": {"a": {"N": 5}}}),
                "NUMBER_VALUE cannot be converted to String",
            ),
            (
                "PutItem",
                json!({"Item": {"a": {"B": "abc"}}}),
                "Base64 encoded length is expected a multiple of 4 bytes but found: 3",
            ),
            (
                "PutItem",
                json!({"Item": {"a": {"BS": ["ab!="]}}}),
                "Invalid last non-pad Base64 character dectected",
            ),
            (
                "PutItem",
                json!({"Item": {"a": {"B": 5}}}),
                "only base-64-encoded strings are convertible to bytes",
            ),
            ("CreateTable", json!({"KeySchema": [5]}), "Unexpected field type"),
            (
                "CreateTable",
                json!({"KeySchema": [[]]}),
                "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.KeySchemaElement",
            ),
        ];
        for (operation, body, message) in cases {
            assert_eq!(
                checked(operation, body.clone()),
                Err(message.to_string()),
                "{operation} {body}"
            );
        }
    }

    #[test]
    fn coral_conversions_are_applied() {
        let body = checked("Scan", json!({"ConsistentRead": "yes", "Limit": 2.7})).unwrap();
        assert_eq!(body, json!({"ConsistentRead": true, "Limit": 2}));
        let body = checked("Scan", json!({"ConsistentRead": "0"})).unwrap();
        assert_eq!(body, json!({"ConsistentRead": false}));
    }
}
