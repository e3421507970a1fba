//! `ExpressionAttributeNames` and `ExpressionAttributeValues` of one request,
//! shared by all its expressions, and the request-level rules about them.

use std::collections::{HashMap, HashSet};

use super::error::ExprError;
use crate::model::{AttributeValue, MAX_ATTRIBUTE_NAME_BYTES};

/// The placeholders of one request, recording which ones its expressions
/// used so that [`Placeholders::check_all_used`] can report the rest.
#[derive(Clone, Debug, Default)]
pub struct Placeholders {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    used_names: HashSet<String>,
    used_values: HashSet<String>,
}

impl Placeholders {
    /// Wraps the request's optional `ExpressionAttributeNames` and
    /// `ExpressionAttributeValues`.
    pub fn new(
        names: Option<HashMap<String, String>>,
        values: Option<HashMap<String, AttributeValue>>,
    ) -> Placeholders {
        Placeholders {
            names: names.unwrap_or_default(),
            values: values.unwrap_or_default(),
            used_names: HashSet::new(),
            used_values: HashSet::new(),
        }
    }

    /// Resolves `#name`, marking it used; `None` if it is not defined.
    pub(crate) fn name(&mut self, placeholder: &str) -> Option<String> {
        let value = self.names.get(placeholder)?.clone();
        if !self.used_names.contains(placeholder) {
            self.used_names.insert(placeholder.to_string());
        }
        Some(value)
    }

    /// Resolves `:value`, marking it used; `None` if it is not defined.
    pub(crate) fn value(&mut self, placeholder: &str) -> Option<AttributeValue> {
        let value = self.values.get(placeholder)?.clone();
        if !self.used_values.contains(placeholder) {
            self.used_values.insert(placeholder.to_string());
        }
        Some(value)
    }

    /// After every expression of the request is parsed: DynamoDB rejects
    /// names first, then values, that no expression used. Keys are listed
    /// sorted so the message is deterministic.
    pub fn check_all_used(&self) -> Result<(), ExprError> {
        fn unused<'a>(all: impl Iterator<Item = &'a String>, used: &HashSet<String>) -> Vec<&'a str> {
            let mut keys: Vec<&str> = all.filter(|k| !used.contains(*k)).map(String::as_str).collect();
            keys.sort_unstable();
            keys
        }
        let names = unused(self.names.keys(), &self.used_names);
        if !names.is_empty() {
            return Err(ExprError::new(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                names.join(", ")
            )));
        }
        let values = unused(self.values.keys(), &self.used_values);
        if !values.is_empty() {
            return Err(ExprError::new(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                values.join(", ")
            )));
        }
        Ok(())
    }
}

/// The expression-related parameters of one request, for
/// [`check_request_parameters`]. Each list holds `(parameter name, present)`
/// in the operation's documented order, e.g. for Query
/// `[("ProjectionExpression", _), ("FilterExpression", _), ("KeyConditionExpression", _)]`
/// and `[("AttributesToGet", _), ("QueryFilter", _), ("ConditionalOperator", _), ("KeyConditions", _)]`.
#[derive(Clone, Copy, Debug)]
pub struct RequestParameters<'a> {
    pub expressions: &'a [(&'a str, bool)],
    pub legacy: &'a [(&'a str, bool)],
    pub names: Option<&'a HashMap<String, String>>,
    pub values: Option<&'a HashMap<String, AttributeValue>>,
}

/// DynamoDB's request-level rules, checked before any expression is parsed:
/// no mixing of expression and legacy parameters, placeholders only with
/// expressions, no empty placeholder maps, well-formed placeholder keys.
pub fn check_request_parameters(request: &RequestParameters<'_>) -> Result<(), ExprError> {
    let present = |list: &[(&str, bool)]| -> Vec<String> {
        list.iter().filter(|(_, p)| *p).map(|(n, _)| n.to_string()).collect()
    };
    let expressions = present(request.expressions);
    let legacy = present(request.legacy);
    if !expressions.is_empty() && !legacy.is_empty() {
        return Err(ExprError::new(format!(
            "Can not use both expression and non-expression parameters in the same request: \
             Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            legacy.join(", "),
            expressions.join(", ")
        )));
    }
    if request.names.is_some() && expressions.is_empty() {
        return Err(ExprError::new(
            "ExpressionAttributeNames can only be specified when using expressions",
        ));
    }
    let value_users: Vec<&str> = request
        .expressions
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| *n != "ProjectionExpression")
        .collect();
    let values_used = request
        .expressions
        .iter()
        .any(|(n, p)| *p && *n != "ProjectionExpression");
    if request.values.is_some() && !value_users.is_empty() && !values_used {
        let verb = if value_users.len() > 1 { "are" } else { "is" };
        return Err(ExprError::new(format!(
            "ExpressionAttributeValues can only be specified when using expressions: {} {verb} null",
            value_users.join(" and ")
        )));
    }
    let well_formed = |key: &str, sigil: char| {
        key.strip_prefix(sigil)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    };
    if let Some(names) = request.names {
        if names.is_empty() {
            return Err(ExprError::new("ExpressionAttributeNames must not be empty"));
        }
        let mut keys: Vec<&String> = names.keys().collect();
        keys.sort_unstable();
        if let Some(bad) = keys.into_iter().find(|k| !well_formed(k, '#')) {
            return Err(ExprError::new(format!(
                "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{bad}\""
            )));
        }
        let mut entries: Vec<(&String, &String)> = names.iter().collect();
        entries.sort_unstable();
        if let Some((key, _)) = entries.iter().find(|(_, name)| name.is_empty()) {
            return Err(ExprError::new(format!(
                "ExpressionAttributeNames contains invalid value: Empty attribute name for key {key}"
            )));
        }
        if let Some((key, name)) = entries.iter().find(|(_, name)| name.len() > MAX_ATTRIBUTE_NAME_BYTES) {
            return Err(ExprError::new(format!(
                "ExpressionAttributeNames contains invalid value: Attribute name exceeds the maximum length of \
                 {MAX_ATTRIBUTE_NAME_BYTES} bytes: {} bytes for key {key}",
                name.len()
            )));
        }
    }
    if let Some(values) = request.values {
        if values.is_empty() {
            return Err(ExprError::new("ExpressionAttributeValues must not be empty"));
        }
        let mut keys: Vec<&String> = values.keys().collect();
        keys.sort_unstable();
        if let Some(bad) = keys.into_iter().find(|k| !well_formed(k, ':')) {
            return Err(ExprError::new(format!(
                "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{bad}\""
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(keys: &[&str]) -> HashMap<String, String> {
        keys.iter().map(|k| (k.to_string(), "x".to_string())).collect()
    }

    fn values(keys: &[&str]) -> HashMap<String, AttributeValue> {
        keys.iter().map(|k| (k.to_string(), AttributeValue::Null)).collect()
    }

    #[test]
    fn reports_unused_names_before_values() {
        let mut ph = Placeholders::new(Some(names(&["#b", "#a"])), Some(values(&[":v"])));
        assert_eq!(
            ph.check_all_used().unwrap_err().to_string(),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"
        );
        assert_eq!(ph.name("#a"), Some("x".into()));
        assert_eq!(ph.name("#b"), Some("x".into()));
        assert_eq!(ph.name("#c"), None);
        assert_eq!(
            ph.check_all_used().unwrap_err().to_string(),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}"
        );
        assert!(ph.value(":v").is_some());
        assert!(ph.check_all_used().is_ok());
        assert!(Placeholders::new(None, None).check_all_used().is_ok());
    }

    #[test]
    fn request_level_rules() {
        let check = |expr: &[(&str, bool)], legacy: &[(&str, bool)], n, v| {
            check_request_parameters(&RequestParameters {
                expressions: expr,
                legacy,
                names: n,
                values: v,
            })
            .map_err(|e| e.to_string())
        };
        let query_expr = [
            ("ProjectionExpression", true),
            ("FilterExpression", false),
            ("KeyConditionExpression", false),
        ];
        let query_legacy = [("AttributesToGet", true), ("QueryFilter", false)];
        assert_eq!(
            check(&query_expr, &query_legacy, None, None).unwrap_err(),
            "Can not use both expression and non-expression parameters in the same request: \
             Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
        );
        let none = [("ProjectionExpression", false), ("FilterExpression", false)];
        let n = names(&["#a"]);
        assert_eq!(
            check(&none, &[], Some(&n), None).unwrap_err(),
            "ExpressionAttributeNames can only be specified when using expressions"
        );
        let projection_only = [
            ("ProjectionExpression", true),
            ("FilterExpression", false),
            ("KeyConditionExpression", false),
        ];
        let v = values(&[":a"]);
        assert_eq!(
            check(&projection_only, &[], None, Some(&v)).unwrap_err(),
            "ExpressionAttributeValues can only be specified when using expressions: \
             FilterExpression and KeyConditionExpression are null"
        );
        let filter = [("FilterExpression", true)];
        let empty_names = HashMap::new();
        assert_eq!(
            check(&filter, &[], Some(&empty_names), None).unwrap_err(),
            "ExpressionAttributeNames must not be empty"
        );
        let empty_values = HashMap::new();
        assert_eq!(
            check(&filter, &[], None, Some(&empty_values)).unwrap_err(),
            "ExpressionAttributeValues must not be empty"
        );
        let bad = names(&["a"]);
        assert_eq!(
            check(&filter, &[], Some(&bad), None).unwrap_err(),
            "ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\""
        );
        let bad = values(&[":a", "b"]);
        assert_eq!(
            check(&filter, &[], None, Some(&bad)).unwrap_err(),
            "ExpressionAttributeValues contains invalid key: Syntax error; key: \"b\""
        );
        assert!(check(&filter, &[], Some(&n), Some(&v)).is_ok());
    }
}
