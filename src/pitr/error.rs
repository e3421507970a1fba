//! Errors of PITR, backups and exports; `api/error.rs` maps them to
//! DynamoDB's wire errors.

use crate::engine::EngineError;

/// What can go wrong in a PITR, backup or export operation.
#[derive(Debug, thiserror::Error)]
pub enum PitrError {
    /// The source table does not exist.
    #[error("Table not found: {0}")]
    TableNotFound(String),
    /// The restore target exists already.
    #[error("Table already exists: {0}")]
    TableAlreadyExists(String),
    /// PITR is off for the source table.
    #[error("Point in time recovery is not enabled for table '{0}'")]
    PitrUnavailable(String),
    /// The restore time is outside the restorable window.
    #[error("{0}")]
    InvalidRestoreTime(String),
    /// The export time is outside the restorable window.
    #[error("{0}")]
    InvalidExportTime(String),
    #[error("Backup not found: {0}")]
    BackupNotFound(String),
    /// The backup is still being created.
    #[error("Backup is being created: {0}")]
    BackupInUse(String),
    #[error("Export not found: {0}")]
    ExportNotFound(String),
    /// The same ClientToken was used with other parameters.
    #[error("{0}")]
    ExportConflict(String),
    #[error("Import not found: {0}")]
    ImportNotFound(String),
    /// The same ClientToken was used with other parameters.
    #[error("{0}")]
    ImportConflict(String),
    /// The request is invalid (DynamoDB's ValidationException message).
    #[error("{0}")]
    Validation(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Reading or writing backup or export files failed.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// A stored backup, export or job record does not decode.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

impl PitrError {
    /// Maps "the engine does not know the table" to TableNotFound(`name`).
    pub fn table(name: &str) -> impl Fn(EngineError) -> PitrError + '_ {
        move |error| match error {
            EngineError::TableNotFound(_) | EngineError::ResourceNotFound => PitrError::TableNotFound(name.to_string()),
            other => PitrError::Engine(other),
        }
    }
}
