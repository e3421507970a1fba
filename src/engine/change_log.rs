//! Keeping the logs bounded: change-log entries every reader is done with,
//! and conflict records past their retention, are removed (see
//! `crate::workers::trimmer` for who decides which).

use super::error::EngineError;
use super::handle::Engine;
use crate::ids::Seq;
use crate::store::{Change, ReadTables};

/// Change-log entries `own_changes` reads inline (see there).
const INLINE_CHANGES: u64 = 64;

/// Bytes of items `own_changes` returns at most, about (it finishes a
/// transaction it started, up to 8 MB more): a batch stays far below the
/// replication frame limit (`replication::wire::MAX_FRAME_BYTES`, 64 MB)
/// however large the items are.
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// About how many bytes `change` takes in a batch: its item images.
fn change_bytes(change: &Change) -> usize {
    match change {
        Change::Item(change) => {
            let size = |item: &Option<crate::model::Item>| item.as_ref().map(crate::model::item_size).unwrap_or(0);
            change.key.len() + size(&change.old) + size(&change.new)
        }
        Change::Table { .. } => 1024,
    }
}

/// Whether `change` belongs to the same transaction as `last`, the change
/// before it: a transaction's changes are logged one after another with one
/// version (see `transact.rs`).
fn same_transaction(last: Option<&(Seq, Change)>, change: &Change) -> bool {
    matches!((last, change), (Some((_, Change::Item(a))), Change::Item(b)) if a.version == b.version)
}

impl Engine {
    /// Changes this region originated, from log sequence `from` on, at most
    /// `max` (more when a transaction would otherwise be split: its changes,
    /// which share one version, always come in one batch); also returns the last sequence number looked at, so a caller
    /// can move past stretches of replicated entries (and call again: it may
    /// look at fewer entries than the log holds).
    ///
    /// A shipper keeping up asks for the few entries of the last commits:
    /// those are read inline, since handing the read to the blocking pool
    /// (~0.3 ms measured here) would be a good part of the replication lag.
    /// A shipper behind reads on the blocking pool.
    pub async fn own_changes(&self, from: Seq, max: usize) -> Result<(Vec<(Seq, Change)>, Seq), EngineError> {
        let region = self.0.region.clone();
        let scan = move |read: &ReadTables, limit: usize| {
            let mut out: Vec<(Seq, Change)> = Vec::new();
            let mut through = from.prev();
            let mut bytes = 0;
            for (looked, entry) in read.changes(from)?.enumerate() {
                let (seq, change) = entry?;
                // Entries are numbered without gaps: a first entry past
                // `from` means the ones before it were trimmed.
                if through.next() < seq && through.next() == from {
                    return Err(EngineError::Trimmed { from, first: seq });
                }
                let full = looked >= limit || out.len() >= max || bytes >= MAX_BATCH_BYTES;
                if full && !same_transaction(out.last(), &change) {
                    break;
                }
                through = seq;
                if change.version().region == region {
                    bytes += change_bytes(&change);
                    out.push((seq, change));
                }
            }
            Ok::<_, EngineError>((out, through))
        };
        let behind = self.0.committed.borrow().since(from);
        if behind >= INLINE_CHANGES {
            return self.read(move |read| scan(read, usize::MAX)).await;
        }
        let read = self.0.store.read()?;
        let found = scan(&read, INLINE_CHANGES as usize)?;
        self.release(read).await?;
        Ok(found)
    }

    /// The first and last sequence numbers the change log holds (0, 0 when
    /// it is empty).
    pub async fn change_log_bounds(&self) -> Result<(Seq, Seq), EngineError> {
        self.read(|read| Ok((read.first_seq()?, read.last_seq()?))).await
    }

    /// Removes change-log entries before `before`, at most `max` (one small
    /// writer job, so foreground writes wait for little), and returns how
    /// many were removed. The last entry always stays.
    pub async fn trim_changes(&self, before: Seq, max: u64) -> Result<u64, EngineError> {
        self.writer()?
            .submit_freeing(move |txn| Ok(txn.tables.trim_log(before, max)?))
            .await
    }

    /// Removes conflict records whose versions are both stamped before
    /// `before_ns` (wall clock), oldest first, at most `max`; returns how
    /// many were removed.
    pub async fn trim_conflicts(&self, before_ns: u64, max: u64) -> Result<u64, EngineError> {
        self.writer()?
            .submit_freeing(move |txn| Ok(txn.tables.trim_conflicts(before_ns, max)?))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ItemOp, ItemWrite, NewTable};
    use crate::ids::Seq;
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
        assert_eq!((first, last), (Seq(1), Seq(6)), "the table's creation and 5 puts");
        assert_eq!(engine.trim_changes(Seq(4), 100).await.unwrap(), 3);
        assert_eq!(engine.change_log_bounds().await.unwrap(), (Seq(4), Seq(6)));
        // From the first entry kept, or later: as before.
        let (changes, through) = engine.own_changes(Seq(4), 100).await.unwrap();
        assert_eq!((changes.len(), through), (3, Seq(6)));
        // From before it: an error, not the rest with a gap.
        let refused = engine.own_changes(Seq(2), 100).await;
        assert!(
            matches!(
                refused,
                Err(EngineError::Trimmed {
                    from: Seq(2),
                    first: Seq(4)
                })
            ),
            "{refused:?}"
        );
        engine.shutdown();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_is_never_split_across_batches() {
        use crate::engine::{TransactAction, TransactOp};
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_for_test(dir.path(), "r");
        engine.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
        let put = |n: usize| TransactAction {
            table: "t".into(),
            op: TransactOp::Write(ItemOp::Put(Item::from([(
                "pk".to_string(),
                AttributeValue::S(format!("k{n}")),
            )]))),
            condition: None,
            return_item_on_condition_failure: false,
        };
        engine.transact_write((0..100).map(put).collect(), None).await.unwrap();
        engine
            .write_item(
                "t".into(),
                ItemWrite::new(ItemOp::Put(Item::from([(
                    "pk".to_string(),
                    AttributeValue::S("after".into()),
                )]))),
            )
            .await
            .unwrap();
        // Asked for 10 (and past the 64 read inline), a batch holds the
        // whole transaction, and stops before the write after it.
        let (changes, through) = engine.own_changes(Seq(2), 10).await.unwrap();
        assert_eq!((changes.len(), through), (100, Seq(101)));
        let version = changes[0].1.version().clone();
        assert!(changes.iter().all(|(_, c)| *c.version() == version));
        // From inside a transaction (a peer's position can only be at its
        // end, but the scan must not overrun either way): to its end.
        let (changes, _) = engine.own_changes(Seq(50), 1).await.unwrap();
        assert_eq!(changes.len(), 52);
        let (changes, _) = engine.own_changes(Seq(102), 10).await.unwrap();
        assert_eq!(changes.len(), 1);
        engine.shutdown();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_of_large_items_stops_at_its_byte_budget() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_for_test(dir.path(), "r");
        engine.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
        let payload = "x".repeat(350 * 1024);
        for n in 0..60 {
            let item = Item::from([
                ("pk".to_string(), AttributeValue::S(format!("k{n}"))),
                ("v".to_string(), AttributeValue::S(payload.clone())),
            ]);
            engine
                .write_item("t".into(), ItemWrite::new(ItemOp::Put(item)))
                .await
                .unwrap();
        }
        let (changes, through) = engine.own_changes(Seq(2), 512).await.unwrap();
        // 16 MB of 350 KB items: 47 of them (the 47th crosses the budget).
        assert_eq!(changes.len(), 47);
        assert_eq!(through, Seq(48));
        engine.shutdown();
    }
}
