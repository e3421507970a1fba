//! Typed access to a request's JSON members, with DynamoDB's errors for
//! missing members and members of the wrong JSON type.

use std::collections::HashMap;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::model::{AttributeValue, Item, ItemSeed, ValueError, item_from_json, item_from_json_owned};

/// Most table names and similar strings DynamoDB accepts, in characters.
const MAX_NAME_LEN: usize = 255;

/// The parsed JSON body of a request.
pub struct Request {
    body: Map<String, Value>,
    /// An item-shaped member parsed straight into an item rather than into
    /// `body` (see `parse_with_item`): its name and the item.
    parsed: Option<(&'static str, Item)>,
}

impl Request {
    /// Parses a request body; anything but a JSON object is a
    /// SerializationException.
    pub fn parse(bytes: &[u8]) -> Result<Request, ApiError> {
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}".as_slice()
        } else {
            bytes
        };
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(body)) => Ok(Request::from_map(body)),
            Ok(_) => Err(ApiError::serialization(
                "Start of structure or map found where not expected.",
            )),
            Err(_) => Err(ApiError::serialization(
                "Start of structure or map found where not expected.",
            )),
        }
    }

    /// A request-shaped JSON object nested in a request (BatchGetItem's
    /// per-table parameters).
    pub fn from_map(body: Map<String, Value>) -> Request {
        Request { body, parsed: None }
    }

    /// `parse`, with the item-shaped member `member` (PutItem's `Item`)
    /// parsed straight into an item when it is in canonical form (see
    /// `model::item_seed`), which costs a fraction of a JSON tree and its
    /// conversion. Any other body, valid or not, is parsed by `parse`, so
    /// the request and its errors are the same as `parse` gives.
    pub fn parse_with_item(bytes: &[u8], member: &'static str) -> Result<Request, ApiError> {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let fast = BodySeed { member }
            .deserialize(&mut deserializer)
            .and_then(|request| deserializer.end().map(|()| request));
        match fast {
            Ok(request) => Ok(request),
            Err(_) => Request::parse(bytes),
        }
    }

    /// The members, for the shape check to convert in place.
    pub fn body_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.body
    }

    /// Every member, as sent.
    pub fn members(&self) -> &Map<String, Value> {
        &self.body
    }

    /// The raw member, if present and not null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.body.get(name).filter(|v| !v.is_null())
    }

    /// True when the member is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The names of the request's members, null ones included (not the
    /// item parsed apart, see `parse_with_item`).
    pub fn member_names(&self) -> impl Iterator<Item = &str> {
        self.body.keys().map(String::as_str)
    }

    /// An optional string member.
    pub fn opt_str(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(name)),
        }
    }

    /// A required string member.
    pub fn str(&self, name: &str) -> Result<&str, ApiError> {
        self.opt_str(name)?.ok_or_else(|| ApiError::missing(&lower_first(name)))
    }

    /// An optional boolean member.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(name)),
        }
    }

    /// An optional integer member.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| wrong_type(name)),
        }
    }

    /// An optional integer member that must lie in `range`; outside it,
    /// DynamoDB's constraint error naming `member` (the lower-camel path).
    pub fn opt_i64_in(
        &self,
        name: &str,
        member: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ApiError> {
        let Some(value) = self.opt_i64(name)? else {
            return Ok(None);
        };
        let constraint = if value < *range.start() {
            format!("Member must have value greater than or equal to {}", range.start())
        } else if value > *range.end() {
            format!("Member must have value less than or equal to {}", range.end())
        } else {
            return Ok(Some(value));
        };
        Err(ApiError::constraint(&format!("'{value}'"), member, &constraint))
    }

    /// An optional array member.
    pub fn opt_array(&self, name: &str) -> Result<Option<&Vec<Value>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(wrong_type(name)),
        }
    }

    /// An optional object member.
    pub fn opt_object(&self, name: &str) -> Result<Option<&Map<String, Value>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(wrong_type(name)),
        }
    }

    /// The `TableName` member, validated as DynamoDB validates table names.
    /// The member also takes a table ARN, so the model's own bound on its
    /// length is 1: an empty name fails that bound first.
    pub fn table_name(&self) -> Result<String, ApiError> {
        let name = self.str("TableName")?;
        if name.is_empty() {
            return Err(ApiError::constraint(
                "''",
                "tableName",
                "Member must have length greater than or equal to 1",
            ));
        }
        validate_table_name(name, "tableName")?;
        Ok(name.to_string())
    }

    /// A required item-shaped member (`Item`, `Key`), moved out of the
    /// request rather than copied: a handler reads it once.
    pub fn item(&mut self, name: &str) -> Result<Item, ApiError> {
        self.item_as(name, ApiError::from)
    }

    /// `item`, with a value's fault turned into an error by `fault`: the
    /// operations differ in how they word it.
    pub fn item_as(&mut self, name: &str, fault: fn(ValueError) -> ApiError) -> Result<Item, ApiError> {
        if let Some((member, _)) = &self.parsed
            && *member == name
            && let Some((_, item)) = self.parsed.take()
        {
            return Ok(item);
        }
        match self.body.remove(name).filter(|v| !v.is_null()) {
            None => Err(ApiError::missing(&lower_first(name))),
            Some(value) => item_from_json_owned(value).map_err(fault),
        }
    }

    /// An optional item-shaped member (`ExclusiveStartKey`).
    pub fn opt_item(&self, name: &str) -> Result<Option<Item>, ApiError> {
        self.get(name)
            .map(|v| item_from_json(v).map_err(ApiError::from))
            .transpose()
    }

    /// `ExpressionAttributeNames`, if given.
    pub fn attribute_names(&self) -> Result<Option<HashMap<String, String>>, ApiError> {
        let Some(map) = self.opt_object("ExpressionAttributeNames")? else {
            return Ok(None);
        };
        let names = map
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k.clone(), s.to_string()))
                    .ok_or_else(|| wrong_type("ExpressionAttributeNames"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(names))
    }

    /// `ExpressionAttributeValues`, if given, with a value's fault worded
    /// as `faults` says.
    pub fn attribute_values(&self, faults: ValueFaults) -> Result<Option<HashMap<String, AttributeValue>>, ApiError> {
        let Some(map) = self.opt_object("ExpressionAttributeValues")? else {
            return Ok(None);
        };
        let mut values = HashMap::with_capacity(map.len());
        for (k, v) in map {
            let value = AttributeValue::from_json(v).map_err(|e| value_fault(e, k, faults))?;
            values.insert(k.clone(), value);
        }
        Ok(Some(values))
    }

    /// An enum-valued string member, checked against DynamoDB's allowed values.
    pub fn opt_enum(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
        let index = self.opt_enum_index(name, allowed)?;
        Ok(index.map(|i| allowed[i].to_string()))
    }

    /// The mode `M` the request asks for, if its member is present.
    pub fn opt_mode<M: Mode>(&self) -> Result<Option<M>, ApiError> {
        let index = self.opt_enum_index(M::MEMBER, M::NAMES)?;
        Ok(index.map(|i| M::VALUES[i]))
    }

    /// The mode `M` the request asks for, or its default when absent.
    pub fn mode<M: Mode + Default>(&self) -> Result<M, ApiError> {
        Ok(self.opt_mode()?.unwrap_or_default())
    }

    /// Where an enum-valued member's value stands in `allowed`; a value not
    /// in it is DynamoDB's enum constraint error listing them.
    fn opt_enum_index(&self, name: &str, allowed: &[&str]) -> Result<Option<usize>, ApiError> {
        let Some(value) = self.opt_str(name)? else {
            return Ok(None);
        };
        match allowed.iter().position(|a| *a == value) {
            Some(index) => Ok(Some(index)),
            None => Err(ApiError::constraint(
                &format!("'{value}'"),
                &lower_first(name),
                &format!("Member must satisfy enum value set: [{}]", allowed.join(", ")),
            )),
        }
    }
}

/// A request body whose member `member` is parsed by `ItemSeed`, every
/// other member into `Value`s. Fails, for `parse` to take over, on
/// anything but an object, on an item that is not canonical, and on the
/// member twice (`parse` keeps the last, whatever the first held).
struct BodySeed {
    member: &'static str,
}

impl<'de> DeserializeSeed<'de> for BodySeed {
    type Value = Request;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Request, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BodySeed {
    type Value = Request;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Request, A::Error> {
        let mut body = Map::new();
        let mut item = None;
        while let Some(name) = map.next_key::<String>()? {
            if name != self.member {
                body.insert(name, map.next_value()?);
            } else if item.replace(map.next_value_seed(ItemSeed)?).is_some() {
                return Err(serde::de::Error::custom("member repeated"));
            }
        }
        Ok(Request {
            body,
            parsed: item.map(|item| (self.member, item)),
        })
    }
}

/// A string-valued request member whose value is one of a fixed set of
/// names (`ReturnValues`, `Select`): parsed once into an enum with
/// `Request::mode`, then matched as a type. Declared with `modes!`.
pub trait Mode: Copy + 'static {
    /// The member's name in the request.
    const MEMBER: &'static str;
    /// Every value, in the order DynamoDB's messages list them.
    const VALUES: &'static [Self];
    /// The wire names of `VALUES`, index for index.
    const NAMES: &'static [&'static str];
}

/// Declares request modes: `Name = "Member" { Variant => "WIRE", ... }`
/// emits the enum (attributes pass through, so `#[derive(Default)]` with a
/// `#[default]` variant works) and its `Mode` implementation, with the
/// variants in the order DynamoDB's enum error lists them.
macro_rules! modes {
    ($(
        $(#[$attr:meta])*
        $vis:vis enum $name:ident = $member:literal {
            $($(#[$vattr:meta])* $variant:ident => $wire:literal,)+
        }
    )+) => {$(
        $(#[$attr])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name {
            $(
                $(#[$vattr])*
                #[doc = concat!("`", $wire, "`.")]
                $variant,
            )+
        }

        impl $crate::api::request::Mode for $name {
            const MEMBER: &'static str = $member;
            const VALUES: &'static [Self] = &[$($name::$variant,)+];
            const NAMES: &'static [&'static str] = &[$($wire,)+];
        }
    )+};
}
pub(super) use modes;

/// Checks DynamoDB's table-name rules: 3 to 255 characters of `[a-zA-Z0-9_.-]`.
pub fn validate_table_name(name: &str, member: &str) -> Result<(), ApiError> {
    if name.len() < 3 {
        return Err(ApiError::constraint(
            &format!("'{name}'"),
            member,
            "Member must have length greater than or equal to 3",
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(ApiError::constraint(
            &format!("'{name}'"),
            member,
            "Member must have length less than or equal to 255",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(ApiError::constraint(
            &format!("'{name}'"),
            member,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ));
    }
    Ok(())
}

/// The two layers in which DynamoDB checks expression attribute values: the
/// current one (item writes inside the "1 validation error detected"
/// envelope, reads bare) and the older one (Scan), which wraps the fault
/// with the placeholder it belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ValueFaults {
    Enveloped,
    Bare,
    Wrapped,
}

/// A fault of expression attribute value `key`, worded as `faults` says:
/// only a bad number or a duplicate set member differs between the layers.
fn value_fault(error: ValueError, key: &str, faults: ValueFaults) -> ApiError {
    let current = matches!(error, ValueError::Number(_) | ValueError::DuplicateInSet(_));
    match faults {
        ValueFaults::Enveloped if current => ApiError::enveloped_value(error),
        ValueFaults::Bare if current => ApiError::from(error),
        _ => ApiError::validation(format!(
            "ExpressionAttributeValues contains invalid value: {error} for key {key}"
        )),
    }
}

fn wrong_type(name: &str) -> ApiError {
    ApiError::serialization(format!("Unexpected value type in payload for member {name}"))
}

/// DynamoDB's messages name members in lower camel case (`tableName`).
pub fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::error::ErrorKind;

    modes! {
        /// A mode of the tests' own, with a default.
        #[derive(Default)]
        enum Colour = "FavouriteColour" {
            Red => "RED",
            #[default]
            Green => "GREEN",
            Blue => "BLUE",
        }
    }

    fn request(body: serde_json::Value) -> Request {
        Request::parse(body.to_string().as_bytes()).expect("a JSON object")
    }

    /// PutItem's `Item` from `body` as the API reads it, parsed by `parse`
    /// or `parse_with_item`: the item and the members left, or the error.
    fn put_item_parts(body: &str, fast: bool) -> Result<(Item, Map<String, Value>), (ErrorKind, String)> {
        let outcome = (|| {
            let mut req = match fast {
                true => Request::parse_with_item(body.as_bytes(), "Item")?,
                false => Request::parse(body.as_bytes())?,
            };
            crate::api::shapes::check_request("DynamoDB_20120810", "PutItem", req.body_mut())?;
            req.table_name()?;
            let item = req.item("Item")?;
            req.opt_mode::<Colour>()?;
            Ok::<_, ApiError>((item, req.body))
        })();
        outcome.map_err(|e| (e.kind, e.message))
    }

    /// Every pair of attribute values from a list of legal, refused and
    /// converted ones, in bodies with and without other faults: the item
    /// parsed straight from the body, or the error, is the one `parse`
    /// gives.
    #[test]
    fn an_item_parsed_straight_is_the_item_or_error_parse_gives() {
        let values = [
            r#"{"S": "x"}"#,
            r#"{"S": "a\"b"}"#,
            r#"{"N": "1.50"}"#,
            r#"{"N": "1e999"}"#,
            r#"{"N": 1}"#,
            r#"{"B": "AAEC"}"#,
            r#"{"B": "abc"}"#,
            r#"{"BOOL": true}"#,
            r#"{"BOOL": "yes"}"#,
            r#"{"NULL": true}"#,
            r#"{"NULL": false}"#,
            r#"{"M": {"": {"L": [{"N": "1"}]}}}"#,
            r#"{"M": {"a": {"SS": []}}}"#,
            r#"{"L": [{"S": "x"}, {}]}"#,
            r#"{"SS": ["a", "a"]}"#,
            r#"{"NS": ["1", "2"]}"#,
            r#"{"BS": ["AA==", "ab!="]}"#,
            r#"{"S": "x", "N": null}"#,
            r#"{"S": "x", "N": "1"}"#,
            r#"{"X": "x"}"#,
            r#"{}"#,
            r#""x""#,
            r#"null"#,
            r#"[1]"#,
        ];
        let others = [
            r#""TableName": "bench""#,
            r#""TableName": "b""#,
            r#""TableName": "bench", "FavouriteColour": "PINK""#,
            r#""TableName": "bench", "ReturnValues": 5"#,
            r#""TableName": 5"#,
        ];
        let mut checked = 0;
        for (first, second) in values.iter().flat_map(|a| values.iter().map(move |b| (a, b))) {
            for other in others {
                for item in [
                    format!(r#"{{"a": {first}, "b": {second}}}"#),
                    format!(r#"{{"b": {first}, "a": {second}, "a": {first}}}"#),
                ] {
                    for body in [
                        format!(r#"{{{other}, "Item": {item}}}"#),
                        format!(r#"{{"Item": {item}, {other}}}"#),
                    ] {
                        assert_eq!(put_item_parts(&body, true), put_item_parts(&body, false), "{body}");
                        checked += 1;
                    }
                }
            }
        }
        for body in [
            "",
            " ",
            "{}",
            "[]",
            r#"{"Item": null}"#,
            r#"{"Item": {"a": {"S": "x"}}, "Item": {}}"#,
            "{\"Item\": {}",
        ] {
            assert_eq!(put_item_parts(body, true), put_item_parts(body, false), "{body}");
        }
        assert_eq!(checked, values.len() * values.len() * others.len() * 4);
        let canonical = Request::parse_with_item(br#"{"TableName": "t", "Item": {"a": {"S": "x"}}}"#, "Item");
        assert!(
            canonical.unwrap().parsed.is_some(),
            "a canonical item takes the fast path"
        );
    }

    #[test]
    fn every_mode_name_parses_to_its_value() {
        for (&value, &name) in Colour::VALUES.iter().zip(Colour::NAMES) {
            let req = request(json!({ "FavouriteColour": name }));
            assert_eq!(req.opt_mode::<Colour>().unwrap(), Some(value), "{name}");
            assert_eq!(req.mode::<Colour>().unwrap(), value, "{name}");
        }
        assert_eq!(Colour::VALUES.len(), Colour::NAMES.len());
    }

    #[test]
    fn an_absent_or_null_mode_is_none_or_the_default() {
        for req in [request(json!({})), request(json!({ "FavouriteColour": null }))] {
            assert_eq!(req.opt_mode::<Colour>().unwrap(), None);
            assert_eq!(req.mode::<Colour>().unwrap(), Colour::Green);
        }
    }

    #[test]
    fn an_unknown_mode_lists_the_allowed_names_in_order() {
        for value in ["PURPLE", "red", ""] {
            let error = request(json!({ "FavouriteColour": value }))
                .mode::<Colour>()
                .unwrap_err();
            assert_eq!(error.kind, ErrorKind::Validation);
            assert_eq!(
                error.message,
                format!(
                    "1 validation error detected: Value '{value}' at 'favouriteColour' failed to satisfy \
                     constraint: Member must satisfy enum value set: [RED, GREEN, BLUE]"
                )
            );
        }
    }

    #[test]
    fn a_mode_of_the_wrong_json_type_is_a_serialization_error() {
        let error = request(json!({ "FavouriteColour": 3 })).mode::<Colour>().unwrap_err();
        assert_eq!(error.kind, ErrorKind::Serialization);
        assert_eq!(
            error.message,
            "Unexpected value type in payload for member FavouriteColour"
        );
    }
}
