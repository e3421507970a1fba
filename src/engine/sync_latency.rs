//! How long the write-ahead log's syncs take, as a histogram.
//!
//! Every acknowledged write waits for one `fdatasync`, and often for the
//! end of another already under way, so the sync's tail is the tail of
//! write latency and of replication lag (the receiver syncs before it
//! acknowledges). Its mean, which the writer's counters give, hides that
//! tail: in the replication bench on the 2-core test machine, with three
//! regions syncing on one disk, syncs took 0.5 ms on average while one in
//! eight took over 1 ms, one in two hundred over 5 ms, the longest 13 ms.
//! So the syncer counts each sync into fixed buckets (lock-free: it runs
//! hundreds of times a second), exported as a Prometheus histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::histogram;

/// Upper bounds of the buckets, in seconds (the last bucket is unbounded).
pub const SYNC_BUCKETS: [f64; 13] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Counts of syncs per bucket and the longest sync (their summed time is
/// the writer's own counter, `WriteStats::syncing`).
#[derive(Debug, Default)]
pub struct SyncLatency {
    /// One more than `SYNC_BUCKETS`: the last counts syncs beyond 1 s.
    buckets: [AtomicU64; SYNC_BUCKETS.len() + 1],
    longest_ns: AtomicU64,
}

impl SyncLatency {
    /// Counts one sync that took `took`.
    pub fn record(&self, took: Duration) {
        let bucket = histogram::bucket_of(&SYNC_BUCKETS, took.as_secs_f64());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.longest_ns.fetch_max(nanos, Ordering::Relaxed);
    }

    /// The counts as they are now.
    pub fn snapshot(&self) -> SyncHistogram {
        SyncHistogram {
            counts: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            longest: Duration::from_nanos(self.longest_ns.load(Ordering::Relaxed)),
        }
    }
}

/// `SyncLatency` at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SyncHistogram {
    /// Syncs per bucket (not cumulative); the last bucket is beyond 1 s.
    pub counts: [u64; SYNC_BUCKETS.len() + 1],
    pub longest: Duration,
}

impl SyncHistogram {
    /// Syncs counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// (upper bound in seconds, syncs in the bucket) for every bucket, the
    /// unbounded one last with `f64::MAX`, as a Prometheus encoder takes
    /// them (it adds them up).
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        histogram::prometheus_buckets(&SYNC_BUCKETS, &self.counts)
    }

    /// The share of syncs (0 to 1) that took longer than `bound` seconds,
    /// which must be one of `SYNC_BUCKETS` (else `None`).
    pub fn share_over(&self, bound: f64) -> Option<f64> {
        let index = SYNC_BUCKETS.iter().position(|&b| b == bound)?;
        let over: u64 = self.counts[index + 1..].iter().sum();
        Some(over as f64 / self.total().max(1) as f64)
    }

    /// The syncs counted since `earlier`, a reading of the same histogram
    /// (`longest` stays the longest of all: a maximum has no difference).
    pub fn since(&self, earlier: &SyncHistogram) -> SyncHistogram {
        SyncHistogram {
            counts: std::array::from_fn(|i| self.counts[i].saturating_sub(earlier.counts[i])),
            longest: self.longest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncs_fall_in_the_bucket_their_time_bounds() {
        let latency = SyncLatency::default();
        latency.record(Duration::from_micros(80)); // <= 0.1 ms
        latency.record(Duration::from_micros(100)); // a bound belongs to its bucket
        latency.record(Duration::from_micros(600)); // <= 1 ms
        latency.record(Duration::from_millis(7)); // <= 10 ms
        latency.record(Duration::from_secs(2)); // beyond the last bound
        let histogram = latency.snapshot();
        assert_eq!(histogram.total(), 5);
        latency.record(Duration::from_millis(7));
        let later = latency.snapshot().since(&histogram);
        assert_eq!((later.total(), later.counts[6]), (1, 1));
        assert_eq!(histogram.counts[0], 2);
        assert_eq!(histogram.counts[3], 1);
        assert_eq!(histogram.counts[6], 1);
        assert_eq!(histogram.counts[SYNC_BUCKETS.len()], 1);
        assert_eq!(histogram.longest, Duration::from_secs(2));

        let buckets = histogram.buckets();
        assert_eq!(buckets.len(), SYNC_BUCKETS.len() + 1);
        assert_eq!(buckets[0], (0.0001, 2));
        assert_eq!(buckets[3], (0.001, 1));
        assert_eq!(
            buckets[SYNC_BUCKETS.len()],
            (f64::MAX, 1),
            "beyond 1 s: the unbounded bucket"
        );

        assert_eq!(histogram.share_over(0.001), Some(0.4));
        assert_eq!(histogram.share_over(0.01), Some(0.2));
        assert_eq!(histogram.share_over(0.003), None, "not a bucket bound");
    }
}
