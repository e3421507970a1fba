//! The changes of a table in a time window, read from its PITR history:
//! what an incremental export writes. Per key changed in the window, the
//! version it had just before the window and its last version in it.

use tokio::sync::mpsc;

use super::error::EngineError;
use super::handle::Engine;
use crate::clock::Timestamp;
use crate::ids::StorageId;
use crate::model::Item;
use crate::store::history::HistoryEntry;

/// One key's change over a window: its state before the window and its
/// last version inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowChange {
    /// The version live just before the window (`None`: the key held no
    /// item then).
    pub before: Option<HistoryEntry>,
    /// The key's last version inside the window (a tombstone for a delete).
    pub last: HistoryEntry,
}

impl WindowChange {
    /// The item before the window and at its end (`None`: no item).
    pub fn images(&self) -> Result<(Option<Item>, Option<Item>), EngineError> {
        let decode = |entry: &HistoryEntry| entry.decode().map(|record| record.item).map_err(EngineError::from);
        let old = self.before.as_ref().map(decode).transpose()?.flatten();
        Ok((old, decode(&self.last)?))
    }
}

/// The change of one key over `[from, to)`, given its versions in
/// ascending LWW order; `None` when no version falls in the window.
pub fn window_change(versions: Vec<HistoryEntry>, from: Timestamp, to: Timestamp) -> Option<WindowChange> {
    let mut before = None;
    let mut last = None;
    for entry in versions {
        if entry.ts < from {
            before = Some(entry);
        } else if entry.ts < to {
            last = Some(entry);
        }
    }
    Some(WindowChange {
        before: before.filter(|entry| !entry.is_tombstone()),
        last: last?,
    })
}

impl Engine {
    /// Streams, per key of `table` written in `[from, to)`, its change over
    /// that window, from one consistent snapshot of the history. Fails with
    /// `TableNotFound` when the table is gone or was re-created (another
    /// storage id).
    pub fn changes_between(
        &self,
        table: String,
        storage_id: StorageId,
        (from, to): (Timestamp, Timestamp),
        chunk: usize,
    ) -> mpsc::Receiver<Result<Vec<WindowChange>, EngineError>> {
        debug_assert!(from < to, "an empty or reversed window");
        self.history_by_key(table, storage_id, chunk, move |versions| {
            window_change(versions, from, to)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(wall_ns: u64, size: u32) -> HistoryEntry {
        HistoryEntry {
            key: b"k".to_vec(),
            ts: Timestamp { wall_ns, logical: 0 },
            size,
            record: vec![],
        }
    }

    fn at(wall_ns: u64) -> Timestamp {
        Timestamp { wall_ns, logical: 0 }
    }

    #[test]
    fn a_change_is_the_state_before_and_the_last_version_inside() {
        let versions = vec![version(1, 5), version(10, 6), version(15, 7), version(20, 8)];
        let change = window_change(versions, at(10), at(20)).unwrap();
        assert_eq!(change.before, Some(version(1, 5)));
        assert_eq!(change.last, version(15, 7));
    }

    #[test]
    fn keys_untouched_in_the_window_and_deleted_pasts_give_no_image() {
        assert_eq!(window_change(vec![version(1, 5), version(20, 6)], at(10), at(20)), None);
        let change = window_change(vec![version(1, 0), version(12, 0)], at(10), at(20)).unwrap();
        assert_eq!(change.before, None);
        assert!(change.last.is_tombstone());
    }
}
