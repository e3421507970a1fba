//! When recent change-log entries became durable here, by this region's
//! wall clock: the moment their write was committed. Replication lag is
//! measured from it (the shipper sends it with each change), not from the
//! change's HLC stamp, which is taken before the group commits: the time a
//! write takes to commit at its origin is that write's latency, not lag.
//!
//! Kept for the last `KEPT` groups only: a shipper catching up on older
//! entries gets no time for them (the receiver then counts from the stamp).
//! Neither does one that reads an entry in the moment between its group
//! becoming durable and the syncer recording it: a missing time makes the
//! lag count from earlier, never from later, than the commit.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::ids::Seq;

/// Groups whose commit time is kept (about seconds of writes at full load).
const KEPT: usize = 4096;

pub struct CommitTimes(Mutex<Ring>);

struct Ring {
    /// (last change-log entry of a group, when it became durable), by entry.
    groups: VecDeque<(Seq, u64)>,
    /// Entries up to here have no known time (before the region started,
    /// or in groups dropped from the ring).
    floor: Seq,
}

impl CommitTimes {
    /// Times for the entries after `last_seq`, the log's end at start-up.
    pub fn new(last_seq: Seq) -> CommitTimes {
        CommitTimes(Mutex::new(Ring {
            groups: VecDeque::with_capacity(KEPT),
            floor: last_seq,
        }))
    }

    /// The entries through `last_seq` are durable as of `wall_ns`. Groups
    /// arrive in commit order; one that wrote no entry adds nothing.
    pub fn record(&self, last_seq: Seq, wall_ns: u64) {
        let mut ring = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let newest = ring.groups.back().map_or(ring.floor, |&(seq, _)| seq);
        if last_seq <= newest {
            return;
        }
        if ring.groups.len() == KEPT
            && let Some((dropped, _)) = ring.groups.pop_front()
        {
            ring.floor = dropped;
        }
        ring.groups.push_back((last_seq, wall_ns));
    }

    /// When each of `seqs` became durable (wall-clock ns), 0 when unknown.
    pub fn lookup(&self, seqs: impl Iterator<Item = Seq>) -> Vec<u64> {
        let ring = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seqs.map(|seq| {
            if seq <= ring.floor {
                return 0;
            }
            // The first group ending at or after `seq` is the one holding it.
            let at = ring.groups.partition_point(|&(last, _)| last < seq);
            ring.groups.get(at).map_or(0, |&(_, wall_ns)| wall_ns)
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_takes_the_time_of_the_group_that_committed_it() {
        let times = CommitTimes::new(Seq(10));
        times.record(Seq(12), 1_000);
        times.record(Seq(12), 1_500); // a group without entries
        times.record(Seq(15), 2_000);
        assert_eq!(
            times.lookup([10, 11, 12, 13, 15, 16].into_iter().map(Seq)),
            vec![0, 1_000, 1_000, 2_000, 2_000, 0]
        );
    }

    #[test]
    fn entries_of_groups_dropped_from_the_ring_have_no_time() {
        let times = CommitTimes::new(Seq::ZERO);
        for group in 1..=(KEPT as u64 + 2) {
            times.record(Seq(group * 2), group);
        }
        // Groups 1 and 2 (entries 1 to 4) were dropped.
        assert_eq!(times.lookup([3, 4, 5, 6].into_iter().map(Seq)), vec![0, 0, 3, 3]);
    }
}
