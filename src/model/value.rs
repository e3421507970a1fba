//! `AttributeValue` and `Item`: DynamoDB's data model, its wire form (DynamoDB
//! JSON: `{"S": "x"}`, `{"N": "1"}`, ...) and DynamoDB's size arithmetic.
//!
//! Values are validated when they are read off the wire, so everything past the
//! API layer holds only legal values: numbers in range, non-empty sets without
//! duplicates, nesting at most 32 levels deep.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::number::{Number, NumberError};

/// An item: attribute name to value. A `BTreeMap` so that an item has one
/// byte encoding, which convergence checks compare.
pub type Item = BTreeMap<String, AttributeValue>;

/// Deepest nesting of maps and lists DynamoDB accepts.
pub const MAX_NESTING_DEPTH: usize = 32;

/// Longest attribute name DynamoDB accepts, in UTF-8 bytes ("less than
/// 64 KB").
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 65_535;

/// One DynamoDB attribute value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(BTreeMap<String, AttributeValue>),
    L(Vec<AttributeValue>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
}

/// Why a DynamoDB-JSON value is not a legal `AttributeValue`. The messages
/// are DynamoDB's (prefixed by the API layer where DynamoDB prefixes them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")]
    Empty,
    #[error(
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
    )]
    MultipleTypes,
    #[error("Start of structure or map found where not expected")]
    Malformed,
    #[error("{0}")]
    Number(#[from] NumberError),
    #[error("One or more parameter values were invalid: An {0} set  may not be empty")]
    EmptySet(&'static str),
    #[error("One or more parameter values were invalid: Input collection {0} contains duplicates.")]
    DuplicateInSet(String),
    /// DynamoDB's text (32 levels, the attribute itself the first).
    #[error(
        "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
    )]
    TooDeep,
    #[error("Invalid Base64 value for binary attribute")]
    Base64,
    #[error("One or more parameter values were invalid: Empty attribute name")]
    EmptyAttributeName,
    #[error(
        "One or more parameter values were invalid: Attribute name exceeds the maximum length of 65535 bytes: {0} bytes"
    )]
    AttributeNameTooLong(usize),
}

/// Refuses an attribute name that is empty or longer than
/// [`MAX_ATTRIBUTE_NAME_BYTES`].
pub fn check_attribute_name(name: &str) -> Result<(), ValueError> {
    if name.is_empty() {
        return Err(ValueError::EmptyAttributeName);
    }
    if name.len() > MAX_ATTRIBUTE_NAME_BYTES {
        return Err(ValueError::AttributeNameTooLong(name.len()));
    }
    Ok(())
}

impl AttributeValue {
    /// DynamoDB's type descriptor: `S`, `N`, `B`, `BOOL`, `NULL`, `M`, `L`,
    /// `SS`, `NS`, `BS`.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Bool(_) => "BOOL",
            AttributeValue::Null => "NULL",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
        }
    }

    /// Bytes DynamoDB counts for this value (without its attribute name): see
    /// "Item sizes and formats" in the DynamoDB developer guide.
    pub fn size(&self) -> usize {
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.size(),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Bool(_) | AttributeValue::Null => 1,
            AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>(),
            AttributeValue::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            AttributeValue::Ss(ss) => ss.iter().map(String::len).sum(),
            AttributeValue::Ns(ns) => ns.iter().map(Number::size).sum(),
            AttributeValue::Bs(bs) => bs.iter().map(Vec::len).sum(),
        }
    }

    /// Parses one DynamoDB-JSON attribute value, validating it.
    pub fn from_json(json: &Value) -> Result<AttributeValue, ValueError> {
        AttributeValue::from_json_at(json, 1)
    }

    /// `from_json` taking the JSON by value: a lone string (`{"S": ..}`,
    /// the commonest value, which has nothing to check) moves into the
    /// result rather than being copied; anything else goes through
    /// `from_json`.
    fn from_json_owned(mut json: Value) -> Result<AttributeValue, ValueError> {
        if let Value::Object(object) = &mut json
            && object.len() == 1
            && let Some(Value::String(s)) = object.get_mut("S")
        {
            return Ok(AttributeValue::S(std::mem::take(s)));
        }
        AttributeValue::from_json(&json)
    }

    fn from_json_at(json: &Value, depth: usize) -> Result<AttributeValue, ValueError> {
        let object = json.as_object().ok_or(ValueError::Malformed)?;
        let mut entries = object.iter().filter(|(_, v)| !v.is_null());
        let (tag, inner) = entries.next().ok_or(ValueError::Empty)?;
        if entries.next().is_some() {
            return Err(ValueError::MultipleTypes);
        }
        let string = |v: &Value| v.as_str().map(str::to_owned).ok_or(ValueError::Malformed);
        let array = |v: &Value| v.as_array().cloned().ok_or(ValueError::Malformed);
        Ok(match tag.as_str() {
            "S" => AttributeValue::S(string(inner)?),
            "N" => AttributeValue::N(Number::parse(inner.as_str().ok_or(ValueError::Malformed)?)?),
            "B" => AttributeValue::B(decode_base64(inner)?),
            "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or(ValueError::Malformed)?),
            // DynamoDB takes `{"NULL": false}` as NULL too.
            "NULL" => match inner.as_bool() {
                Some(_) => AttributeValue::Null,
                None => return Err(ValueError::Malformed),
            },
            "M" => {
                if depth >= MAX_NESTING_DEPTH {
                    return Err(ValueError::TooDeep);
                }
                let map = inner.as_object().ok_or(ValueError::Malformed)?;
                let mut out = BTreeMap::new();
                for (k, v) in map {
                    out.insert(k.clone(), AttributeValue::from_json_at(v, depth + 1)?);
                }
                AttributeValue::M(out)
            }
            "L" => {
                if depth >= MAX_NESTING_DEPTH {
                    return Err(ValueError::TooDeep);
                }
                let list = inner.as_array().ok_or(ValueError::Malformed)?;
                let items = list.iter().map(|v| AttributeValue::from_json_at(v, depth + 1));
                AttributeValue::L(items.collect::<Result<_, _>>()?)
            }
            "SS" => {
                let items = array(inner)?.iter().map(string).collect::<Result<Vec<_>, _>>()?;
                check_set("string", &items, quoted_strings)?;
                AttributeValue::Ss(items)
            }
            "NS" => {
                let raw = array(inner)?;
                let items = raw
                    .iter()
                    .map(|v| Ok(Number::parse(v.as_str().ok_or(ValueError::Malformed)?)?))
                    .collect::<Result<Vec<_>, ValueError>>()?;
                check_set("number", &items, bare)?;
                AttributeValue::Ns(items)
            }
            "BS" => {
                let items = array(inner)?.iter().map(decode_base64).collect::<Result<Vec<_>, _>>()?;
                check_set("binary", &items, quoted_binaries)?;
                AttributeValue::Bs(items)
            }
            _ => return Err(ValueError::Malformed),
        })
    }

    /// Renders the value as DynamoDB JSON.
    pub fn to_json(&self) -> Value {
        let (tag, inner) = match self {
            AttributeValue::S(s) => ("S", Value::String(s.clone())),
            AttributeValue::N(n) => ("N", Value::String(n.to_string())),
            AttributeValue::B(b) => ("B", Value::String(BASE64.encode(b))),
            AttributeValue::Bool(b) => ("BOOL", Value::Bool(*b)),
            AttributeValue::Null => ("NULL", Value::Bool(true)),
            AttributeValue::M(m) => ("M", item_to_json(m)),
            AttributeValue::L(l) => ("L", Value::Array(l.iter().map(AttributeValue::to_json).collect())),
            AttributeValue::Ss(ss) => (
                "SS",
                Value::Array(ss.iter().map(|s| Value::String(s.clone())).collect()),
            ),
            AttributeValue::Ns(ns) => (
                "NS",
                Value::Array(ns.iter().map(|n| Value::String(n.to_string())).collect()),
            ),
            AttributeValue::Bs(bs) => (
                "BS",
                Value::Array(bs.iter().map(|b| Value::String(BASE64.encode(b))).collect()),
            ),
        };
        tagged(tag, inner)
    }

    /// `to_json` taking the value: a string moves into the JSON rather than
    /// being copied.
    fn into_json(self) -> Value {
        match self {
            AttributeValue::S(s) => tagged("S", Value::String(s)),
            other => other.to_json(),
        }
    }
}

fn decode_base64(value: &Value) -> Result<Vec<u8>, ValueError> {
    let text = value.as_str().ok_or(ValueError::Malformed)?;
    BASE64.decode(text).map_err(|_| ValueError::Base64)
}

/// Sets must be non-empty and hold no value twice (DynamoDB rejects both);
/// `show` renders the whole collection for the duplicate's message.
pub(super) fn check_set<T: Eq + std::hash::Hash>(
    kind: &'static str,
    items: &[T],
    show: impl Fn(&[T]) -> String,
) -> Result<(), ValueError> {
    if items.is_empty() {
        return Err(ValueError::EmptySet(kind));
    }
    // A hash set, not pairwise comparison: a 16 MB request can hold a set of
    // millions of elements, which quadratic time would hold a thread on for
    // hours.
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let duplicate = !items.iter().all(|item| seen.insert(item));
    if duplicate {
        return Err(ValueError::DuplicateInSet(show(items)));
    }
    Ok(())
}

/// A string set as DynamoDB's duplicate message shows it: each member
/// quoted, `["a", "a"]`. This is the wording since DynamoDB's 2026
/// rewording of validation errors (conformance suite captures: eu-west-2
/// and eu-central-1 on 2026-06-09, us-east-1 on 2026-08-12; ap-southeast-2
/// not yet); before it the members were bare, `[a, a]`, as PartiQL's set
/// literals are still pinned ([`check_partiql_set`]).
fn quoted_strings(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| Value::String(s.clone()).to_string()).collect();
    format!("[{}]", quoted.join(", "))
}

/// A binary set as DynamoDB's duplicate message shows it: the members'
/// base64 quoted with no space between them, then the set's type, as
/// captured (`["",""]of type BS` for two empty members, same captures).
fn quoted_binaries(items: &[Vec<u8>]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|b| Value::String(BASE64.encode(b)).to_string())
        .collect();
    format!("[{}]of type BS", quoted.join(","))
}

/// Members shown bare, `[1, 2, 1]`: number sets (their rewording is not
/// captured) and PartiQL's set literals.
fn bare<T: std::fmt::Display>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().map(T::to_string).collect();
    format!("[{}]", shown.join(", "))
}

/// Checks a set built by PartiQL (`<<...>>`), whose repeated member is
/// worded as the conformance suite's PartiQL cases pin it: the members bare
/// (`Input collection [a, a] contains duplicates.`), binaries as base64.
/// Anything else is checked as any value is.
pub fn check_partiql_set(value: &AttributeValue) -> Result<(), ValueError> {
    match value {
        AttributeValue::Ss(items) => check_set("string", items, bare),
        AttributeValue::Ns(items) => check_set("number", items, bare),
        AttributeValue::Bs(items) => check_set("binary", items, |i| {
            bare(&i.iter().map(|b| BASE64.encode(b)).collect::<Vec<_>>())
        }),
        _ => Ok(()),
    }
}

/// Parses a DynamoDB-JSON item (`{"name": {"S": "x"}, ...}`).
pub fn item_from_json(json: &Value) -> Result<Item, ValueError> {
    let object = json.as_object().ok_or(ValueError::Malformed)?;
    object
        .iter()
        .map(|(k, v)| {
            check_attribute_name(k)?;
            Ok((k.clone(), AttributeValue::from_json(v)?))
        })
        .collect()
}

/// `item_from_json` taking the JSON by value, so that attribute names and
/// string values move into the item (a request body is dropped once parsed).
pub fn item_from_json_owned(json: Value) -> Result<Item, ValueError> {
    let Value::Object(object) = json else {
        return Err(ValueError::Malformed);
    };
    object
        .into_iter()
        .map(|(k, v)| {
            check_attribute_name(&k)?;
            Ok((k, AttributeValue::from_json_owned(v)?))
        })
        .collect()
}

/// `{tag: inner}`: one attribute value in DynamoDB JSON.
fn tagged(tag: &str, inner: Value) -> Value {
    let mut map = Map::with_capacity(1);
    map.insert(tag.to_string(), inner);
    Value::Object(map)
}

/// Renders an item as DynamoDB JSON.
pub fn item_to_json(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// `item_to_json` taking the item, so that names and string values move
/// into the JSON (a response is built from items it owns).
pub fn item_into_json(item: Item) -> Value {
    Value::Object(item.into_iter().map(|(k, v)| (k, v.into_json())).collect())
}

/// Bytes DynamoDB counts for an item: names plus values.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_type_round_trips() {
        let item = json!({
            "s": {"S": ""}, "n": {"N": "1.5"}, "b": {"B": "AAEC"}, "t": {"BOOL": true},
            "z": {"NULL": true}, "m": {"M": {"a": {"L": [{"N": "1"}, {"S": "x"}]}}},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AA==", "AQ=="]}
        });
        let parsed = item_from_json(&item).unwrap();
        assert_eq!(item_to_json(&parsed), item);
        assert_eq!(item_into_json(parsed.clone()), item);
        assert_eq!(item_from_json_owned(item), Ok(parsed));
    }

    #[test]
    fn parsing_by_value_checks_what_parsing_by_reference_checks() {
        for bad in [
            json!([]),
            json!({"a": {}}),
            json!({"a": {"S": "x", "N": "1"}}),
            json!({"a": {"S": 1}}),
            json!({"a": {"S": "x"}, "b": {"NULL": "true"}}),
        ] {
            assert!(item_from_json(&bad).is_err());
            assert_eq!(item_from_json_owned(bad.clone()), item_from_json(&bad), "{bad}");
        }
        let with_null = json!({"a": {"S": "x", "N": null}});
        assert_eq!(item_from_json_owned(with_null.clone()), item_from_json(&with_null));
    }

    #[test]
    fn rejects_illegal_values() {
        assert_eq!(AttributeValue::from_json(&json!({})), Err(ValueError::Empty));
        assert_eq!(
            AttributeValue::from_json(&json!({"S": "a", "N": "1"})),
            Err(ValueError::MultipleTypes)
        );
        assert_eq!(
            AttributeValue::from_json(&json!({"SS": []})),
            Err(ValueError::EmptySet("string"))
        );
        assert_eq!(
            AttributeValue::from_json(&json!({"SS": ["a", "a"]}))
                .unwrap_err()
                .to_string(),
            "One or more parameter values were invalid: Input collection [\"a\", \"a\"] contains duplicates."
        );
        assert_eq!(
            AttributeValue::from_json(&json!({"BS": ["", ""]}))
                .unwrap_err()
                .to_string(),
            "One or more parameter values were invalid: Input collection [\"\",\"\"]of type BS contains duplicates."
        );
        assert!(AttributeValue::from_json(&json!({"NS": ["1", "1.0"]})).is_err());
        assert_eq!(
            AttributeValue::from_json(&json!({"NULL": false})),
            Ok(AttributeValue::Null)
        );
        let mut deep = json!({"S": "x"});
        for _ in 0..32 {
            deep = json!({"L": [deep]});
        }
        assert_eq!(AttributeValue::from_json(&deep), Err(ValueError::TooDeep));
    }

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let item = item_from_json(&json!({"name": {"S": "abc"}, "n": {"N": "12345"}, "m": {"M": {}}})).unwrap();
        assert_eq!(item_size(&item), 4 + 3 + 1 + 4 + 1 + 3);
    }
}
