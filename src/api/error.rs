//! The one place where errors become DynamoDB's wire errors: `__type`,
//! `message` and HTTP status. Unexpected errors become InternalServerError,
//! are logged, and never leak internals to the client.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::capacity::{BillingChangeError, ThrottleError, ThrottleKind, ThrottlingReason};
use crate::engine::{CancelReason, EngineError, TableUpdateError};
use crate::model::{Item, ValueError, item_to_json};
use crate::pitr::PitrError;
use crate::streams::StreamsError;

/// DynamoDB's error kinds that Meridian returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Validation,
    Serialization,
    UnknownOperation,
    ResourceNotFound,
    ResourceInUse,
    ConditionalCheckFailed,
    DuplicateItem,
    RequestTooLarge,
    InternalServerError,
    TableNotFound,
    TableAlreadyExists,
    PointInTimeRecoveryUnavailable,
    InvalidRestoreTime,
    InvalidExportTime,
    BackupNotFound,
    BackupInUse,
    ExportNotFound,
    ExportConflict,
    ImportNotFound,
    ImportConflict,
    ExpiredIterator,
    TrimmedDataAccess,
    ProvisionedThroughputExceeded,
    Throttling,
    LimitExceeded,
    GlobalTableNotFound,
    PolicyNotFound,
    MissingAuthenticationToken,
    IncompleteSignature,
    UnrecognizedClient,
    InvalidSignature,
    AccessDenied,
    TransactionCanceled,
    IdempotentParameterMismatch,
    TransactionInProgress,
    ItemCollectionSizeLimitExceeded,
}

impl ErrorKind {
    /// The `__type` value, with the namespace DynamoDB uses for it.
    pub fn wire_type(self) -> &'static str {
        match self {
            ErrorKind::Validation => "com.amazon.coral.validate#ValidationException",
            ErrorKind::Serialization => "com.amazon.coral.service#SerializationException",
            ErrorKind::UnknownOperation => "com.amazon.coral.service#UnknownOperationException",
            ErrorKind::ResourceNotFound => "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
            ErrorKind::ResourceInUse => "com.amazonaws.dynamodb.v20120810#ResourceInUseException",
            ErrorKind::ConditionalCheckFailed => "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            ErrorKind::DuplicateItem => "com.amazonaws.dynamodb.v20120810#DuplicateItemException",
            ErrorKind::RequestTooLarge => "com.amazon.coral.service#RequestEntityTooLargeException",
            ErrorKind::InternalServerError => "com.amazonaws.dynamodb.v20120810#InternalServerError",
            ErrorKind::TableNotFound => "com.amazonaws.dynamodb.v20120810#TableNotFoundException",
            ErrorKind::TableAlreadyExists => "com.amazonaws.dynamodb.v20120810#TableAlreadyExistsException",
            ErrorKind::PointInTimeRecoveryUnavailable => {
                "com.amazonaws.dynamodb.v20120810#PointInTimeRecoveryUnavailableException"
            }
            ErrorKind::InvalidRestoreTime => "com.amazonaws.dynamodb.v20120810#InvalidRestoreTimeException",
            ErrorKind::InvalidExportTime => "com.amazonaws.dynamodb.v20120810#InvalidExportTimeException",
            ErrorKind::BackupNotFound => "com.amazonaws.dynamodb.v20120810#BackupNotFoundException",
            ErrorKind::BackupInUse => "com.amazonaws.dynamodb.v20120810#BackupInUseException",
            ErrorKind::ExportNotFound => "com.amazonaws.dynamodb.v20120810#ExportNotFoundException",
            ErrorKind::ExportConflict => "com.amazonaws.dynamodb.v20120810#ExportConflictException",
            ErrorKind::ImportNotFound => "com.amazonaws.dynamodb.v20120810#ImportNotFoundException",
            ErrorKind::ImportConflict => "com.amazonaws.dynamodb.v20120810#ImportConflictException",
            ErrorKind::ExpiredIterator => "com.amazonaws.dynamodb.v20120810#ExpiredIteratorException",
            ErrorKind::TrimmedDataAccess => "com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException",
            ErrorKind::ProvisionedThroughputExceeded => {
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
            }
            ErrorKind::Throttling => "com.amazon.coral.availability#ThrottlingException",
            ErrorKind::LimitExceeded => "com.amazonaws.dynamodb.v20120810#LimitExceededException",
            ErrorKind::GlobalTableNotFound => "com.amazonaws.dynamodb.v20120810#GlobalTableNotFoundException",
            ErrorKind::PolicyNotFound => "com.amazonaws.dynamodb.v20120810#PolicyNotFoundException",
            ErrorKind::MissingAuthenticationToken => "com.amazon.coral.service#MissingAuthenticationTokenException",
            ErrorKind::IncompleteSignature => "com.amazon.coral.service#IncompleteSignatureException",
            ErrorKind::UnrecognizedClient => "com.amazon.coral.service#UnrecognizedClientException",
            ErrorKind::InvalidSignature => "com.amazon.coral.service#InvalidSignatureException",
            ErrorKind::AccessDenied => "com.amazon.coral.service#AccessDeniedException",
            ErrorKind::TransactionCanceled => "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            ErrorKind::IdempotentParameterMismatch => {
                "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"
            }
            ErrorKind::TransactionInProgress => "com.amazonaws.dynamodb.v20120810#TransactionInProgressException",
            ErrorKind::ItemCollectionSizeLimitExceeded => {
                "com.amazonaws.dynamodb.v20120810#ItemCollectionSizeLimitExceededException"
            }
        }
    }

    /// The HTTP status DynamoDB answers with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// The current item, for ConditionalCheckFailedException with
    /// ReturnValuesOnConditionCheckFailure = ALL_OLD.
    pub item: Option<Item>,
    /// CancellationReasons, for TransactionCanceledException.
    pub reasons: Option<Vec<Value>>,
    /// ThrottlingReasons, for ProvisionedThroughputExceededException and
    /// ThrottlingException.
    pub throttling: Option<Vec<ThrottlingReason>>,
}

impl ApiError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
            item: None,
            reasons: None,
            throttling: None,
        }
    }

    /// A ValidationException.
    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Validation, message)
    }

    /// A SerializationException (a parameter of the wrong JSON type).
    pub fn serialization(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Serialization, message)
    }

    /// DynamoDB's "1 validation error detected" shape for a constraint on a
    /// request member.
    pub fn constraint(value: &str, member: &str, constraint: &str) -> ApiError {
        ApiError::validation(format!(
            "1 validation error detected: Value {value} at '{member}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// The outcomes of a request's member-constraint checks, reported
    /// together as DynamoDB does ("2 validation errors detected: a; b"); a
    /// fault of another shape (a SerializationException) is reported alone.
    pub fn together<const N: usize>(checks: [Result<(), ApiError>; N]) -> Result<(), ApiError> {
        const ONE: &str = "1 validation error detected: ";
        let faults: Vec<ApiError> = checks.into_iter().filter_map(Result::err).collect();
        let parts: Option<Vec<&str>> = faults
            .iter()
            .map(|f| {
                (f.kind == ErrorKind::Validation)
                    .then(|| f.message.strip_prefix(ONE))
                    .flatten()
            })
            .collect();
        match (faults.len(), parts) {
            (0, _) => Ok(()),
            (2.., Some(parts)) => Err(ApiError::validation(format!(
                "{} validation errors detected: {}",
                parts.len(),
                parts.join("; ")
            ))),
            _ => Err(faults.into_iter().next().unwrap_or_else(|| ApiError::validation(""))),
        }
    }

    /// A required member is missing.
    pub fn missing(member: &str) -> ApiError {
        ApiError::constraint("null", member, "Member must not be null")
    }

    /// The "1 validation error detected" shape for a constraint on
    /// `member`, echoing its `value` as DynamoDB's Java layer prints it.
    pub fn constraint_on(value: &Value, member: &str, constraint: &str) -> ApiError {
        ApiError::constraint(&format!("'{}'", java_text(value)), member, constraint)
    }

    /// The JSON body DynamoDB sends for this error.
    pub fn body(&self) -> Value {
        let mut body = json!({ "__type": self.kind.wire_type(), "message": self.message });
        if let Some(item) = &self.item {
            body["Item"] = item_to_json(item);
        }
        if let Some(reasons) = &self.reasons {
            body["CancellationReasons"] = Value::Array(reasons.clone());
        }
        if let Some(reasons) = &self.throttling {
            // The two exceptions' models spell the member differently.
            let member = match self.kind {
                ErrorKind::Throttling => "throttlingReasons",
                _ => "ThrottlingReasons",
            };
            let reasons = reasons
                .iter()
                .map(|r| json!({ "reason": r.reason, "resource": r.resource }));
            body[member] = Value::Array(reasons.collect());
        }
        body
    }
}

/// A request value as Java's `toString` prints the map, list and string it
/// parses into: `{name=[a, b]}`. DynamoDB echoes members so in its
/// constraint messages.
pub fn java_text(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(java_text).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(members) => {
            let members: Vec<String> = members.iter().map(|(k, v)| format!("{k}={}", java_text(v))).collect();
            format!("{{{}}}", members.join(", "))
        }
        other => other.to_string(),
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        match error {
            EngineError::ResourceNotFound | EngineError::TableNotFound(_) => {
                ApiError::new(ErrorKind::ResourceNotFound, error.to_string())
            }
            EngineError::TableExists(_) | EngineError::ResourceInUse(_) => {
                ApiError::new(ErrorKind::ResourceInUse, error.to_string())
            }
            EngineError::ConditionFailed { item } => ApiError {
                kind: ErrorKind::ConditionalCheckFailed,
                message: "The conditional request failed".into(),
                item,
                reasons: None,
                throttling: None,
            },
            EngineError::Canceled(reasons) => canceled(&reasons),
            EngineError::TokenMismatch => ApiError::new(ErrorKind::IdempotentParameterMismatch, error.to_string()),
            EngineError::ItemCollectionTooLarge => {
                ApiError::new(ErrorKind::ItemCollectionSizeLimitExceeded, error.to_string())
            }
            EngineError::TokenInProgress => ApiError::new(ErrorKind::TransactionInProgress, error.to_string()),
            EngineError::Validation(message) => ApiError::validation(message),
            EngineError::TableUpdate(TableUpdateError::IndexBusy) => {
                ApiError::new(ErrorKind::LimitExceeded, TableUpdateError::IndexBusy.to_string())
            }
            // UpdateTable names a nonexistent index: DynamoDB's "nonexistent
            // table or index" ResourceNotFoundException.
            EngineError::TableUpdate(error @ TableUpdateError::NoSuchIndex(_)) => {
                ApiError::new(ErrorKind::ResourceNotFound, error.to_string())
            }
            EngineError::TableUpdate(error) => ApiError::validation(error.to_string()),
            // A full disk is the operator's to fix, and the client's to
            // know: the message says so (as a 500, which SDKs retry).
            EngineError::Store(crate::store::StoreError::DiskFull { .. }) => ApiError::new(
                ErrorKind::InternalServerError,
                format!("Internal server error: {error}"),
            ),
            EngineError::Store(_) | EngineError::Stopped | EngineError::Trimmed { .. } => {
                tracing::error!(error = %error, "internal error");
                ApiError::new(ErrorKind::InternalServerError, "Internal server error")
            }
        }
    }
}

/// TransactionCanceledException: DynamoDB's message lists every action's
/// reason code in order, and `CancellationReasons` holds them in full.
fn canceled(reasons: &[Option<CancelReason>]) -> ApiError {
    let reasons: Vec<Value> = reasons.iter().map(|r| cancellation_reason(r.as_ref())).collect();
    let codes: Vec<&str> = reasons.iter().map(|r| r["Code"].as_str().unwrap_or("None")).collect();
    let message = format!(
        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
        codes.join(", ")
    );
    let mut error = ApiError::new(ErrorKind::TransactionCanceled, message);
    error.reasons = Some(reasons);
    error
}

/// One CancellationReason: `Code`, `Message` and, for a failed condition
/// that asked for it, the current `Item`.
pub fn cancellation_reason(reason: Option<&CancelReason>) -> Value {
    match reason {
        None => json!({ "Code": "None" }),
        Some(CancelReason::ConditionFailed { item }) => {
            let mut reason = json!({ "Code": "ConditionalCheckFailed", "Message": "The conditional request failed" });
            if let Some(item) = item {
                reason["Item"] = item_to_json(item);
            }
            reason
        }
        Some(CancelReason::Validation(message)) => json!({ "Code": "ValidationError", "Message": message }),
        Some(CancelReason::ItemCollectionTooLarge) => json!({
            "Code": "ItemCollectionSizeLimitExceeded",
            "Message": EngineError::ItemCollectionTooLarge.to_string(),
        }),
    }
}

impl From<PitrError> for ApiError {
    fn from(error: PitrError) -> ApiError {
        let kind = match &error {
            PitrError::TableNotFound(_) => ErrorKind::TableNotFound,
            PitrError::TableAlreadyExists(_) => ErrorKind::TableAlreadyExists,
            PitrError::PitrUnavailable(_) => ErrorKind::PointInTimeRecoveryUnavailable,
            PitrError::InvalidRestoreTime(_) => ErrorKind::InvalidRestoreTime,
            PitrError::InvalidExportTime(_) => ErrorKind::InvalidExportTime,
            PitrError::BackupNotFound(_) => ErrorKind::BackupNotFound,
            PitrError::BackupInUse(_) => ErrorKind::BackupInUse,
            PitrError::ExportNotFound(_) => ErrorKind::ExportNotFound,
            PitrError::ExportConflict(_) => ErrorKind::ExportConflict,
            PitrError::ImportNotFound(_) => ErrorKind::ImportNotFound,
            PitrError::ImportConflict(_) => ErrorKind::ImportConflict,
            PitrError::Validation(_) => ErrorKind::Validation,
            PitrError::Engine(_) | PitrError::Io(_) | PitrError::Corrupt(_) => {
                if let PitrError::Engine(engine) = error {
                    return engine.into();
                }
                tracing::error!(error = %error, "internal error");
                return ApiError::new(ErrorKind::InternalServerError, "Internal server error");
            }
        };
        ApiError::new(kind, error.to_string())
    }
}

impl From<StreamsError> for ApiError {
    fn from(error: StreamsError) -> ApiError {
        match error {
            StreamsError::NotFound(message) => ApiError::new(ErrorKind::ResourceNotFound, message),
            StreamsError::Validation(message) => ApiError::validation(message),
            StreamsError::ExpiredIterator(message) => ApiError::new(ErrorKind::ExpiredIterator, message),
            StreamsError::Trimmed(message) => ApiError::new(ErrorKind::TrimmedDataAccess, message),
            StreamsError::Engine(engine) => engine.into(),
        }
    }
}

impl From<ThrottleError> for ApiError {
    fn from(error: ThrottleError) -> ApiError {
        let kind = match error.kind {
            ThrottleKind::ProvisionedExceeded | ThrottleKind::IndexProvisionedExceeded => {
                ErrorKind::ProvisionedThroughputExceeded
            }
            ThrottleKind::OnDemandExceeded => ErrorKind::Throttling,
        };
        let mut api = ApiError::new(kind, error.to_string());
        api.throttling = Some(error.reasons);
        api
    }
}

impl From<BillingChangeError> for ApiError {
    fn from(error: BillingChangeError) -> ApiError {
        let kind = match error {
            BillingChangeError::Unchanged { .. } => ErrorKind::Validation,
            BillingChangeError::OnDemandSwitches { .. } | BillingChangeError::Decreases { .. } => {
                ErrorKind::LimitExceeded
            }
        };
        ApiError::new(kind, error.to_string())
    }
}

impl ApiError {
    /// A value's fault as PutItem, UpdateItem and DeleteItem report it: a
    /// bad number or a duplicate set member inside the "1 validation error
    /// detected" envelope, the rest as everywhere.
    pub fn enveloped_value(error: ValueError) -> ApiError {
        match error {
            ValueError::Number(_) | ValueError::DuplicateInSet(_) => {
                ApiError::validation(format!("1 validation error detected: {error}"))
            }
            other => ApiError::from(other),
        }
    }
}

impl From<ValueError> for ApiError {
    fn from(error: ValueError) -> ApiError {
        match error {
            ValueError::Malformed => ApiError::serialization(error.to_string()),
            other => ApiError::validation(other.to_string()),
        }
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(error: crate::auth::AuthError) -> ApiError {
        use crate::auth::AuthError;
        let kind = match &error {
            AuthError::MissingToken => ErrorKind::MissingAuthenticationToken,
            AuthError::Incomplete(_) => ErrorKind::IncompleteSignature,
            AuthError::UnrecognizedClient => ErrorKind::UnrecognizedClient,
            AuthError::InvalidSignature(_) => ErrorKind::InvalidSignature,
            AuthError::AccessDenied(_) => ErrorKind::AccessDenied,
            AuthError::Credentials(_) => {
                tracing::error!(error = %error, "internal error");
                return ApiError::new(ErrorKind::InternalServerError, "Internal server error");
            }
        };
        ApiError::new(kind, error.to_string())
    }
}
