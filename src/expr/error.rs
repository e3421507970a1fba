//! The one error type of the expression module. Its text is exactly the
//! message DynamoDB puts in a `ValidationException`, so the API layer maps
//! every `ExprError` to HTTP 400 with `message()` and nothing else.

use crate::model::{AttributeValue, NumberError};

/// A DynamoDB validation error; `Display` is DynamoDB's message, verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExprError(pub String);

impl ExprError {
    /// An error whose message is `text` as is.
    pub fn new(text: impl Into<String>) -> ExprError {
        ExprError(text.into())
    }

    /// `Invalid <Parameter>: <detail>`, DynamoDB's shape for errors found
    /// while parsing or checking one expression.
    pub fn invalid(kind: ExprKind, detail: impl AsRef<str>) -> ExprError {
        ExprError(format!("Invalid {}: {}", kind.parameter(), detail.as_ref()))
    }

    /// The message, for the API's error body.
    pub fn message(&self) -> &str {
        &self.0
    }

    /// An update operand of the wrong type at evaluation time (adding a
    /// string to a number, `list_append` on a map, ADD to a list, ...).
    pub(crate) fn incorrect_data_type() -> ExprError {
        ExprError::new("An operand in the update expression has an incorrect data type")
    }

    /// An update reads a path that the item does not have.
    pub(crate) fn missing_attribute() -> ExprError {
        ExprError::new("The provided expression refers to an attribute that does not exist in the item")
    }

    /// An update writes below a parent that is missing or of the wrong type.
    pub(crate) fn invalid_document_path() -> ExprError {
        ExprError::new("The document path provided in the update expression is invalid for update")
    }
}

impl From<NumberError> for ExprError {
    fn from(error: NumberError) -> ExprError {
        ExprError(error.to_string())
    }
}

/// Which request parameter an expression came from; it selects the
/// `Invalid <Parameter>:` prefix of errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprKind {
    /// `ConditionExpression` (PutItem, UpdateItem, DeleteItem, transactions).
    Condition,
    /// `FilterExpression` (Query, Scan).
    Filter,
    /// `KeyConditionExpression` (Query).
    KeyCondition,
    /// `UpdateExpression` (UpdateItem).
    Update,
    /// `ProjectionExpression` (GetItem, Query, Scan, BatchGetItem, ...).
    Projection,
}

impl ExprKind {
    /// The request parameter's name, as DynamoDB spells it in messages.
    pub fn parameter(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
            ExprKind::Update => "UpdateExpression",
            ExprKind::Projection => "ProjectionExpression",
        }
    }
}

/// Renders a value the way DynamoDB quotes operands in messages:
/// `AttributeValue: {S:abc}`, `AttributeValue: {N:12}`.
pub(crate) fn describe_value(value: &AttributeValue) -> String {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let inner = match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        AttributeValue::B(b) => b64(b),
        AttributeValue::Bool(b) => b.to_string(),
        AttributeValue::Null => "true".to_string(),
        AttributeValue::Ss(v) => format!("[{}]", v.join(", ")),
        AttributeValue::Ns(v) => format!("[{}]", v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")),
        AttributeValue::Bs(v) => format!("[{}]", v.iter().map(|b| b64(b)).collect::<Vec<_>>().join(", ")),
        AttributeValue::M(_) | AttributeValue::L(_) => value.to_json().to_string(),
    };
    format!("AttributeValue: {{{}:{}}}", value.type_name(), inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Number;

    #[test]
    fn prefixes_follow_the_parameter() {
        let e = ExprError::invalid(ExprKind::Update, "The expression can not be empty;");
        assert_eq!(
            e.to_string(),
            "Invalid UpdateExpression: The expression can not be empty;"
        );
        assert_eq!(
            ExprError::invalid(ExprKind::KeyCondition, "x").message(),
            "Invalid KeyConditionExpression: x"
        );
    }

    #[test]
    fn values_are_described_like_dynamodb() {
        assert_eq!(describe_value(&AttributeValue::S("b".into())), "AttributeValue: {S:b}");
        assert_eq!(
            describe_value(&AttributeValue::N(Number::parse("1.50").unwrap())),
            "AttributeValue: {N:1.5}"
        );
        assert_eq!(
            describe_value(&AttributeValue::Bool(true)),
            "AttributeValue: {BOOL:true}"
        );
    }
}
