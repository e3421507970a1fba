//! Keeping the logs bounded: change-log entries every reader is done with,
//! and conflict records past their retention, are removed (see
//! `crate::retention` for who decides which).

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
            .submit(move |txn| Ok(txn.tables.trim_log(before, max)?))
            .await
    }

    /// Removes conflict records whose versions are both stamped before
    /// `before_ns` (wall clock), oldest first, at most `max`; returns how
    /// many were removed.
    pub async fn trim_conflicts(&self, before_ns: u64, max: u64) -> Result<u64, EngineError> {
        self.writer()?
            .submit(move |txn| Ok(txn.tables.trim_conflicts(before_ns, max)?))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ItemOp, ItemWrite, NewTable};
    use crate::model::{AttributeValue, Item};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn own_changes_refuse_to_skip_a_trimmed_stretch() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_for_test(dir.path(), "r");
        engine.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
        for n in 0..5 {
            let item = Item::from([("pk".to_string(), AttributeValue::S(format!("k{n}")))]);
            engine
                .write_item("t".into(), ItemWrite::new(ItemOp::Put(item)))
                .await
                .unwrap();
        }
        let (first, last) = engine.change_log_bounds().await.unwrap();
        assert_eq!((first, last), (1, 6), "the table's creation and 5 puts");
        assert_eq!(engine.trim_changes(4, 100).await.unwrap(), 3);
        assert_eq!(engine.change_log_bounds().await.unwrap(), (4, 6));
        // From the first entry kept, or later: as before.
        let (changes, through) = engine.own_changes(4, 100).await.unwrap();
        assert_eq!((changes.len(), through), (3, 6));
        // From before it: an error, not the rest with a gap.
        let refused = engine.own_changes(2, 100).await;
        assert!(
            matches!(refused, Err(EngineError::Trimmed { from: 2, first: 4 })),
            "{refused:?}"
        );
        engine.shutdown();
    }
}
