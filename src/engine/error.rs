//! The engine's errors. `api/error.rs` alone maps them to DynamoDB's wire
//! errors.

use super::table_update::TableUpdateError;
use crate::ids::Seq;
use crate::model::Item;
use crate::store::StoreError;

/// What can go wrong in an engine operation.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A data-plane request named a table that does not exist (or is not
    /// ACTIVE yet).
    #[error("Requested resource not found")]
    ResourceNotFound,
    /// A control-plane request named a table that does not exist.
    #[error("Requested resource not found: Table: {0} not found")]
    TableNotFound(String),
    #[error("Table already exists: {0}")]
    TableExists(String),
    /// The table cannot be changed in its current state.
    #[error("{0}")]
    ResourceInUse(String),
    /// A condition expression evaluated to false; `item` is the current item
    /// when the request asked for it (ReturnValuesOnConditionCheckFailure).
    #[error("The conditional request failed")]
    ConditionFailed { item: Option<Item> },
    /// The request is invalid (DynamoDB's ValidationException message).
    #[error("{0}")]
    Validation(String),
    /// A table change the table's description does not allow (a
    /// ValidationException).
    #[error(transparent)]
    TableUpdate(#[from] TableUpdateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine is shutting down or its writer stopped.
    #[error("the storage engine is not running")]
    Stopped,
    /// Change-log entries from `from` were asked for, but the log was
    /// trimmed up to `first` (see `crate::workers::trimmer`).
    #[error("change-log entries from {from} were trimmed (the log starts at {first})")]
    Trimmed { from: Seq, first: Seq },
}
