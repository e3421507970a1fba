//! The PartiQL module's one error type: its text is the message DynamoDB
//! sends in a `ValidationException`.

/// A statement DynamoDB rejects; `Display` is DynamoDB's message, verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PartiqlError(pub String);

impl PartiqlError {
    /// An error whose message is `text` as is.
    pub fn new(text: impl Into<String>) -> PartiqlError {
        PartiqlError(text.into())
    }

    /// DynamoDB's envelope for a statement its parser rejects.
    pub fn syntax(detail: &str) -> PartiqlError {
        PartiqlError(format!("Statement wasn't well formed, can't be processed: {detail}"))
    }

    /// The statement's `?` markers and the request's `Parameters` differ in
    /// number.
    pub fn parameter_count() -> PartiqlError {
        PartiqlError::new("Number of parameters in request and statement don't match.")
    }

    /// A write whose WHERE clause does not name its item's whole key.
    pub fn missing_key_equality() -> PartiqlError {
        PartiqlError::new("Where clause does not contain a mandatory equality on all key attributes")
    }
}
