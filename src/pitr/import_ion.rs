//! Amazon Ion import rows: one Ion text document per line, `$ion_1_0`
//! then `{Item: {...}}`, as DynamoDB's Ion export writes them. Ion values
//! map to DynamoDB's as its documentation lists: string to S, decimal (and
//! int) to N, blob to B, bool to BOOL, null to NULL, list to L, struct to
//! M, and a list annotated `$dynamodb_SS`, `$dynamodb_NS` or `$dynamodb_BS`
//! to that set. A row is turned into DynamoDB JSON and parsed by the model,
//! so it is validated exactly as a DynamoDB JSON row is.

use base64::Engine as _;
use ion_rs::{Element, IonType, Sequence};
use serde_json::{Map, Value, json};

use crate::model::{Item, item_from_json_owned};

/// One line of Ion: the item of its `Item` struct, or why it is not one.
pub fn ion_item(text: &str) -> Result<Item, String> {
    let values = Element::read_all(text.as_bytes()).map_err(|e| format!("Invalid Ion: {e}"))?;
    let mut values = values.iter();
    let (Some(row), None) = (values.next(), values.next()) else {
        return Err("The line is not one Ion value".into());
    };
    let item = row
        .as_struct()
        .and_then(|s| s.get("Item"))
        .filter(|i| i.ion_type() == IonType::Struct && !i.is_null())
        .ok_or_else(|| "The line is not a struct with an Item struct".to_string())?;
    let Value::Object(attributes) = value_json(item)? else {
        return Err("The line is not a struct with an Item struct".into());
    };
    let attributes = attributes.get("M").cloned().unwrap_or_default();
    item_from_json_owned(attributes).map_err(|e| e.to_string())
}

/// An Ion value as a DynamoDB JSON attribute value (`{"S": ...}`, ...).
fn value_json(element: &Element) -> Result<Value, String> {
    if element.is_null() {
        return Ok(json!({ "NULL": true }));
    }
    let annotations = element.annotations();
    for (annotation, set) in [("$dynamodb_SS", "SS"), ("$dynamodb_NS", "NS"), ("$dynamodb_BS", "BS")] {
        if annotations.contains(annotation) {
            let members = element
                .as_list()
                .ok_or_else(|| format!("The {annotation} annotation is on a {}, not a list", element.ion_type()))?;
            return set_json(set, members);
        }
    }
    Ok(match element.ion_type() {
        IonType::String => json!({ "S": element.as_string().unwrap_or_default() }),
        IonType::Bool => json!({ "BOOL": element.as_bool().unwrap_or_default() }),
        IonType::Int | IonType::Decimal | IonType::Float => json!({ "N": number_text(element)? }),
        IonType::Blob => json!({ "B": base64_of(element.as_blob().unwrap_or_default()) }),
        IonType::List => {
            let members = element.as_list().map(Sequence::elements).into_iter().flatten();
            json!({ "L": members.map(value_json).collect::<Result<Vec<_>, _>>()? })
        }
        IonType::Struct => {
            let mut map = Map::new();
            for (name, value) in element.as_struct().into_iter().flat_map(|s| s.fields()) {
                let name = name.text().ok_or("A struct field has no name")?;
                map.insert(name.to_string(), value_json(value)?);
            }
            json!({ "M": map })
        }
        other => return Err(format!("Ion type {other} has no DynamoDB type")),
    })
}

/// A set's members: strings, numbers or blobs, by the set's type.
fn set_json(set: &str, members: &Sequence) -> Result<Value, String> {
    let mut out = Vec::new();
    for member in members.elements() {
        let text = match (set, member.ion_type()) {
            ("SS", IonType::String) => member.as_string().unwrap_or_default().to_string(),
            ("NS", IonType::Int | IonType::Decimal | IonType::Float) => number_text(member)?,
            ("BS", IonType::Blob) => base64_of(member.as_blob().unwrap_or_default()),
            (_, other) => return Err(format!("A {set} set holds an Ion {other}")),
        };
        out.push(Value::String(text));
    }
    Ok(json!({ set: out }))
}

/// An Ion number as DynamoDB's number text (the model checks its range
/// and precision).
fn number_text(element: &Element) -> Result<String, String> {
    if let Some(decimal) = element.as_decimal() {
        let coefficient = decimal.coefficient();
        let sign = if coefficient.is_negative() { "-" } else { "" };
        return Ok(format!("{sign}{}E{}", coefficient.magnitude(), decimal.exponent()));
    }
    if let Some(int) = element.as_int() {
        return Ok(int.to_string());
    }
    match element.as_float() {
        Some(float) if float.is_finite() => Ok(format!("{float:e}")),
        _ => Err("An Ion float that is not a finite number".into()),
    }
}

fn base64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AttributeValue;

    #[test]
    fn every_type_maps_as_dynamodb_documents() {
        let item = ion_item(
            r#"$ion_1_0 {Item:{s:"x",n:6d2,i:-7,f:1.5e0,b:{{aGk=}},t:true,z:null,l:[1.,"y"],m:{k:"v"},ss:$dynamodb_SS::["a","b"],ns:$dynamodb_NS::[1.,2d1],bs:$dynamodb_BS::[{{AQ==}}]}}"#,
        )
        .unwrap();
        let json = crate::model::item_to_json(&item);
        assert_eq!(json["s"], json!({"S": "x"}));
        assert_eq!(json["n"], json!({"N": "600"}));
        assert_eq!(json["i"], json!({"N": "-7"}));
        assert_eq!(json["f"], json!({"N": "1.5"}));
        assert_eq!(item["b"], AttributeValue::B(b"hi".to_vec()));
        assert_eq!(json["t"], json!({"BOOL": true}));
        assert_eq!(json["z"], json!({"NULL": true}));
        assert_eq!(json["l"], json!({"L": [{"N": "1"}, {"S": "y"}]}));
        assert_eq!(json["m"], json!({"M": {"k": {"S": "v"}}}));
        assert_eq!(json["ss"], json!({"SS": ["a", "b"]}));
        assert_eq!(json["ns"], json!({"NS": ["1", "20"]}));
        assert_eq!(item["bs"], AttributeValue::Bs(vec![vec![1]]));
    }

    #[test]
    fn rows_that_are_not_items_are_refused() {
        assert!(ion_item("{Item:{pk:\"a\"}}").is_ok());
        assert!(ion_item("{pk:\"a\"}").is_err());
        assert!(ion_item("{Item:{pk:2020-01-01T}}").is_err());
        assert!(ion_item("{Item:{pk:$dynamodb_SS::[1]}}").is_err());
        assert!(ion_item("{Item:{pk:$dynamodb_SS::[\"a\",\"a\"]}}").is_err());
        assert!(ion_item("{Item:{pk:\"a\"}} {Item:{}}").is_err());
        assert!(ion_item("{Item:{pk:").is_err());
    }
}
