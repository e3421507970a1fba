//! Typed access to a request's JSON members, with DynamoDB's errors for
//! missing members and members of the wrong JSON type.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::ApiError;
use crate::model::{AttributeValue, Item, item_from_json, item_from_json_owned};

/// Most table names and similar strings DynamoDB accepts, in characters.
const MAX_NAME_LEN: usize = 255;

/// The parsed JSON body of a request.
pub struct Request {
    body: Map<String, Value>,
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
            Ok(Value::Object(body)) => Ok(Request { body }),
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
        Request { body }
    }

    /// The raw member, if present and not null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.body.get(name).filter(|v| !v.is_null())
    }

    /// True when the member is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
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
    pub fn table_name(&self) -> Result<String, ApiError> {
        let name = self.str("TableName")?;
        validate_table_name(name, "tableName")?;
        Ok(name.to_string())
    }

    /// A required item-shaped member (`Item`, `Key`), moved out of the
    /// request rather than copied: a handler reads it once.
    pub fn item(&mut self, name: &str) -> Result<Item, ApiError> {
        match self.body.remove(name).filter(|v| !v.is_null()) {
            None => Err(ApiError::missing(&lower_first(name))),
            Some(value) => Ok(item_from_json_owned(value)?),
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

    /// `ExpressionAttributeValues`, if given.
    pub fn attribute_values(&self) -> Result<Option<HashMap<String, AttributeValue>>, ApiError> {
        let Some(map) = self.opt_object("ExpressionAttributeValues")? else {
            return Ok(None);
        };
        let mut values = HashMap::with_capacity(map.len());
        for (k, v) in map {
            let value = AttributeValue::from_json(v).map_err(|e| {
                ApiError::validation(format!(
                    "ExpressionAttributeValues contains invalid value: {e} for key {k}"
                ))
            })?;
            values.insert(k.clone(), value);
        }
        Ok(Some(values))
    }

    /// An enum-valued string member, checked against DynamoDB's allowed values.
    pub fn opt_enum(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
        let Some(value) = self.opt_str(name)? else {
            return Ok(None);
        };
        if !allowed.contains(&value) {
            return Err(ApiError::constraint(
                &format!("'{value}'"),
                &lower_first(name),
                &format!("Member must satisfy enum value set: [{}]", allowed.join(", ")),
            ));
        }
        Ok(Some(value.to_string()))
    }
}

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
