//! Which groups are durable, so that nothing reveals a group before it is.
//!
//! The writer commits a group to redb (visible to new snapshots) and goes on
//! with the next group while a second thread fsyncs the write-ahead log
//! (`Store::sync`): the fsync of one group overlaps the work of the next.
//! A snapshot may therefore hold a group that a crash would still lose, and
//! every reader waits (`until_durable`) before it answers from a snapshot,
//! as every write waits before it is acknowledged. A group is durable once
//! its log frame is synced or a checkpoint holds it; because the log is
//! sequential, durable groups are always a prefix.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

use super::StoreError;

/// The durable prefix of groups, and whether the log failed.
#[derive(Clone, Copy, Debug)]
struct State {
    /// Every group up to this one is durable.
    durable: u64,
    /// A sync failed: what the log holds is unknown, nothing more becomes
    /// durable until the region restarts and redoes the log.
    broken: bool,
}

/// Shared by the writer, the syncing thread and readers.
pub struct Durability {
    /// The last group handed to redb's commit: a snapshot taken after this
    /// is read may hold groups up to it (never more).
    visible: AtomicU64,
    /// `state.durable`, read without the watch's lock on every read.
    durable: AtomicU64,
    state: watch::Sender<State>,
}

impl Durability {
    /// Every group up to `group` is durable (the state at open).
    pub fn new(group: u64) -> Durability {
        Durability {
            visible: AtomicU64::new(group),
            durable: AtomicU64::new(group),
            state: watch::Sender::new(State {
                durable: group,
                broken: false,
            }),
        }
    }

    /// The last group a snapshot begun before this call can hold.
    pub fn visible(&self) -> u64 {
        self.visible.load(Ordering::Acquire)
    }

    /// `group` is about to be committed to redb (call before the commit).
    pub(super) fn committing(&self, group: u64) {
        self.visible.store(group, Ordering::Release);
    }

    /// `group`'s commit failed: snapshots cannot hold it, and readers
    /// waiting for it are released (its number goes to the next group).
    pub(super) fn commit_failed(&self, group: u64) {
        self.visible.store(group - 1, Ordering::Release);
        self.state.send_modify(|_| ());
    }

    /// Every group up to `group` is durable.
    pub(super) fn durable_through(&self, group: u64) {
        self.state.send_if_modified(|state| {
            let moved = group > state.durable;
            state.durable = state.durable.max(group);
            self.durable.store(state.durable, Ordering::Release);
            moved
        });
    }

    /// The last group known to be durable.
    pub fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// A sync failed (see `State::broken`).
    pub(super) fn break_log(&self) {
        self.state.send_modify(|state| state.broken = true);
    }

    pub fn is_broken(&self) -> bool {
        self.state.borrow().broken
    }

    /// Waits until `group` (as returned by `ReadTables::group`) is durable,
    /// or can no longer become so.
    pub async fn until_durable(&self, group: u64) -> Result<(), StoreError> {
        // Without writes in flight (the common case) no lock is taken.
        if self.durable() >= group {
            return Ok(());
        }
        let mut state = self.state.subscribe();
        // A group whose commit failed is not waited for: `visible` went back.
        let done = |s: &State| s.broken || s.durable >= group.min(self.visible());
        let state = *state.wait_for(done).await.map_err(|_| StoreError::WalBroken)?;
        if state.broken && state.durable < group {
            return Err(StoreError::WalBroken);
        }
        Ok(())
    }

    /// `until_durable` for blocking threads inside the runtime (the
    /// blocking pool), which may wait on it.
    pub fn until_durable_blocking(&self, group: u64) -> Result<(), StoreError> {
        tokio::runtime::Handle::current().block_on(self.until_durable(group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readers_wait_for_the_groups_they_may_have_seen() {
        let durability = std::sync::Arc::new(Durability::new(3));
        durability.until_durable(3).await.unwrap();
        durability.committing(4);
        let waiter = {
            let durability = durability.clone();
            tokio::spawn(async move { durability.until_durable(durability.visible()).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        durability.durable_through(4);
        waiter.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_failed_commit_or_a_broken_log_releases_readers() {
        let durability = std::sync::Arc::new(Durability::new(1));
        durability.committing(2);
        let waiter = {
            let durability = durability.clone();
            tokio::spawn(async move { durability.until_durable(2).await })
        };
        tokio::task::yield_now().await;
        durability.commit_failed(2);
        waiter.await.unwrap().unwrap();

        durability.committing(2);
        let waiter = {
            let durability = durability.clone();
            tokio::spawn(async move { durability.until_durable(2).await })
        };
        tokio::task::yield_now().await;
        durability.break_log();
        assert!(matches!(waiter.await.unwrap(), Err(StoreError::WalBroken)));
        // What was durable before stays readable.
        durability.until_durable(1).await.unwrap();
    }
}
