//! Keeping the change log bounded: entries every reader is done with are
//! removed (see `crate::retention` for who decides which).

use super::{Engine, EngineError};

impl Engine {
    /// The first and last sequence numbers the change log holds (0, 0 when
    /// it is empty).
    pub async fn change_log_bounds(&self) -> Result<(u64, u64), EngineError> {
        self.read(|read| Ok((read.first_seq()?, read.last_seq()?))).await
    }

    /// Removes change-log entries before `before`, at most `max` (one small
    /// writer job, so foreground writes wait for little), and returns how
    /// many were removed. The last entry always stays.
    pub async fn trim_changes(&self, before: u64, max: u64) -> Result<u64, EngineError> {
        self.writer()?
            .submit(move |batch| Ok(batch.tables.trim_log(before, max)?))
            .await
    }
}
