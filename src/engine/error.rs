//! The engine's errors. `api/error.rs` alone maps them to DynamoDB's wire
//! errors.

use super::table_update::TableUpdateError;
use crate::ids::Seq;
use crate::model::Item;
use crate::store::StoreError;

/// Why one action of a cancelled transaction failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelReason {
    /// Its condition did not hold; `item` is the current item when the
    /// action asked for it (ReturnValuesOnConditionCheckFailure = ALL_OLD).
    ConditionFailed { item: Option<Item> },
    /// The change it makes is invalid (an update that makes the item too
    /// large, an operand of the wrong type): DynamoDB's message.
    Validation(String),
    /// Its write would grow the item's collection past the limit.
    ItemCollectionTooLarge,
}

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
    /// A transaction was cancelled: one reason per action, in action
    /// order, `None` for the actions that would have succeeded.
    #[error("Transaction cancelled")]
    Canceled(Vec<Option<CancelReason>>),
    /// A transaction's client token was used within its window for a
    /// different request.
    #[error("Request has different parameters than the request that used the same client token")]
    TokenMismatch,
    /// A transaction's client token is in use by a transaction still running.
    #[error("The transaction with the given request token is already in progress.")]
    TokenInProgress,
    /// A write would grow an item collection past its limit.
    #[error("Item collection size limit exceeded")]
    ItemCollectionTooLarge,
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
