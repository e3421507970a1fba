//! One snapshot shared by point reads until the next commit.
//!
//! A GetItem used to begin a redb read transaction, open the items table in
//! it and drop both again: about a third of its time in the engine, more
//! than the B-tree lookup itself. Between two commits every such snapshot
//! holds the same data, so point reads share one (`Store::read_shared`).
//!
//! Freshness: a read must see every write acknowledged before it began. The
//! writer counts its finished commits (`committed`, after redb's commit
//! returns, so before any write of it is acknowledged). A snapshot is shared
//! under the count read *before* it began, so it holds every commit that
//! count includes; a reader takes it only when the count is still the same,
//! that is when no commit has finished since. Any write acknowledged before
//! the read therefore lies in the snapshot it gets.
//!
//! Space: a live snapshot keeps redb from reusing the pages later commits
//! free. The writer drops the shared one at each commit, so a write-only
//! load pins nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{ReadTables, StoreError};

/// The shared snapshot and the commit count it was taken under.
#[derive(Default)]
pub(super) struct SharedRead {
    commits: AtomicU64,
    slot: Mutex<Option<(u64, Arc<ReadTables>)>>,
}

impl SharedRead {
    /// The current shared snapshot, or one begun by `begin` (and shared
    /// unless a commit finished meanwhile).
    pub(super) fn get(
        &self,
        begin: impl FnOnce() -> Result<ReadTables, StoreError>,
    ) -> Result<Arc<ReadTables>, StoreError> {
        let commits = self.commits.load(Ordering::Acquire);
        if let Some((taken_at, read)) = &*self.lock()
            && *taken_at == commits
        {
            return Ok(read.clone());
        }
        let read = Arc::new(begin()?);
        let mut slot = self.lock();
        // Checked under the lock `committed` clears the slot with: a commit
        // finishing after this check clears what is stored here.
        if self.commits.load(Ordering::Acquire) == commits {
            *slot = Some((commits, read.clone()));
        }
        Ok(read)
    }

    /// Called by the writer after each commit, before its writes are
    /// acknowledged: later reads begin a new snapshot.
    pub(super) fn committed(&self) {
        self.commits.fetch_add(1, Ordering::AcqRel);
        let stale = self.lock().take();
        drop(stale); // outside the lock: ending a read transaction takes redb's own
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Arc<ReadTables>)>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use crate::ids::StorageId;
    use std::time::Duration;

    use super::super::{ItemRecord, Store, Version};
    use crate::clock::Timestamp;

    fn put(store: &Store, key: &[u8], wall_ns: u64) {
        let record = ItemRecord {
            version: Version {
                ts: Timestamp { wall_ns, logical: 0 },
                region: "r".into(),
            },
            item: None,
        };
        store
            .write(|tables| tables.put_item(StorageId(1), key, &record))
            .unwrap();
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("region.redb"), 1 << 20, Duration::MAX).unwrap();
        (dir, store)
    }

    #[test]
    fn reads_share_a_snapshot_until_a_commit_and_then_see_it() {
        let (_dir, store) = open();
        share_until_a_commit(&store);
        share_until_a_commit(&Store::open_in_memory(1 << 20, Duration::MAX).unwrap());
    }

    fn share_until_a_commit(store: &Store) {
        let first = store.read_shared().unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &store.read_shared().unwrap()));
        assert!(first.item(StorageId(1), b"k").unwrap().is_none());

        put(store, b"k", 7);
        let after = store.read_shared().unwrap();
        assert!(!std::sync::Arc::ptr_eq(&first, &after));
        assert_eq!(after.item(StorageId(1), b"k").unwrap().unwrap().version.ts.wall_ns, 7);
        // The old snapshot still reads as of when it began.
        assert!(first.item(StorageId(1), b"k").unwrap().is_none());
    }

    #[test]
    fn a_snapshot_begun_across_a_commit_is_not_shared() {
        let (_dir, store) = open();
        // A commit finishes after the reader read the count but before its
        // snapshot is stored: the snapshot must not serve later reads, which
        // may come from clients the commit was acknowledged to.
        let raced = store
            .shared_read
            .get(|| {
                let read = store.read();
                put(&store, b"k", 9);
                read
            })
            .unwrap();
        assert!(raced.item(StorageId(1), b"k").unwrap().is_none());
        let later = store.read_shared().unwrap();
        assert!(!std::sync::Arc::ptr_eq(&raced, &later));
        assert_eq!(later.item(StorageId(1), b"k").unwrap().unwrap().version.ts.wall_ns, 9);
    }
}
