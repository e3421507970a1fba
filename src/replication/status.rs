//! Per-peer replication state for the status endpoint and metrics: link up
//! or down, positions, applied and superseded counts, clock-offset alarms,
//! and recent replication lag (origin commit to local apply), split at the
//! moment the change arrived here: shipping (origin commit to arrival) and
//! applying (arrival to the apply here).
//!
//! The origin's commit is when the change became durable there (see
//! `engine::commit_times`): when the write was acknowledged. The apply here
//! is when the change could first be read here (its group's commit, before
//! the log sync that makes it durable), as DynamoDB's ReplicationLatency
//! ends when the item appears in the other replica. The lag to the durable
//! apply here (`lag_durable_*`) adds this region's log sync. The lag from
//! the change's HLC stamp, taken while its group was still committing at
//! the origin, is kept beside it (`lag_from_write_*`): the difference is
//! the write's commit at the origin.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

use crate::engine::{ApplyReport, GroupTimes};
use crate::histogram;
use crate::ids::Seq;

/// Lag samples kept per peer for percentiles: the latest changes, enough
/// for several seconds at full load, so that a stall of a fraction of a
/// second (a checkpoint here or at the origin) is among them; sorted only
/// when a report is asked for.
const LAG_SAMPLES: usize = 16384;
/// The recent window reported beside the all-samples percentiles, so a
/// poller can draw lag over time.
const RECENT_NS: u64 = 1_000_000_000;

/// What is known about one peer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PeerState {
    /// Whether the peer's shipping stream to us is up.
    pub receiving: bool,
    /// Changes from the peer written here.
    pub applied: u64,
    /// Changes from the peer that lost LWW here (or were already here).
    pub superseded: u64,
    /// Changes for tables this region does not have.
    pub skipped: u64,
    /// Times the peer's clock was beyond the maximum offset.
    pub clock_alarms: u64,
    /// Largest offset seen beyond the maximum, milliseconds.
    pub max_clock_ahead_ms: u64,
    /// Writes from the peer that lost LWW here, recorded as conflicts.
    pub conflicts: u64,
    /// Our changes the peer acknowledged.
    pub shipped: u64,
    /// Our log position the peer acknowledged (it has everything up to it).
    pub acked_seq: Seq,
    /// Times the peer was resynchronised from a snapshot: it asked for
    /// changes our log no longer holds, or came back as a new incarnation
    /// (it lost its data).
    pub resyncs: u64,
}

/// One peer: its counters, and its latest applied changes' lag, kept apart
/// so that reading the counters does not copy the samples.
#[derive(Debug, Default)]
struct Peer {
    state: PeerState,
    lags: VecDeque<LagSample>,
    histogram: LagHistogram,
}

/// Upper bounds of the lag histogram's buckets, in seconds (the last
/// bucket is unbounded): from a millisecond, an apply between regions on one
/// machine, to a minute, a link cut for a while.
pub const LAG_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Every applied change's lag since the region started, in buckets: what a
/// Prometheus histogram needs, so that quantiles can be taken over any
/// window and summed over regions. The percentiles a report gives cover
/// only the latest `LAG_SAMPLES` changes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LagHistogram {
    /// Changes per bucket (not cumulative); the last is beyond a minute.
    pub counts: [u64; LAG_BUCKETS.len() + 1],
    /// Their lags summed, seconds.
    pub sum_seconds: f64,
}

impl LagHistogram {
    fn record(&mut self, seconds: f64) {
        self.counts[histogram::bucket_of(&LAG_BUCKETS, seconds)] += 1;
        self.sum_seconds += seconds;
    }

    /// Changes counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The buckets as a Prometheus encoder takes them.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        histogram::prometheus_buckets(&LAG_BUCKETS, &self.counts)
    }
}

/// One applied change's lag.
#[derive(Clone, Copy, Debug)]
struct LagSample {
    /// Local wall clock when it was applied (could be read), nanoseconds.
    at_ns: u64,
    /// Origin commit to apply here.
    lag_ms: f64,
    /// Of which: arrival here to apply here.
    applying_ms: f64,
    /// Origin commit to the apply being durable here.
    durable_ms: f64,
    /// The change's HLC stamp at the origin to apply here.
    from_write_ms: f64,
}

/// When an applied change was written (its HLC stamp) and committed
/// (durable) at its origin, by the origin's clock, in ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OriginTimes {
    pub written_ns: u64,
    /// 0 when the origin did not know (an old entry); the lag then counts
    /// from `written_ns`.
    pub committed_ns: u64,
}

impl OriginTimes {
    /// Times for each change of a batch: `committed_ns` has one per change,
    /// or is empty (a batch without them).
    pub fn of_batch(written_ns: impl Iterator<Item = u64>, committed_ns: &[u64]) -> Vec<OriginTimes> {
        written_ns
            .enumerate()
            .map(|(i, written_ns)| OriginTimes {
                written_ns,
                committed_ns: committed_ns.get(i).copied().unwrap_or(0),
            })
            .collect()
    }

    /// Where the lag counts from.
    fn committed_or_written(&self) -> u64 {
        if self.committed_ns == 0 {
            self.written_ns
        } else {
            self.committed_ns
        }
    }
}

/// Replication state of every peer, shared by the link tasks.
#[derive(Default, Debug)]
pub struct PeerStatus {
    peers: Mutex<BTreeMap<String, Peer>>,
}

/// A serialisable snapshot of one peer.
#[derive(Clone, Debug, Serialize)]
pub struct PeerReport {
    pub peer: String,
    #[serde(flatten)]
    pub state: PeerState,
    pub lag_p50_ms: f64,
    pub lag_p99_ms: f64,
    /// The lag's part from origin commit to arrival here (the origin's
    /// durable commit, shipping, the link).
    pub lag_shipping_p50_ms: f64,
    pub lag_shipping_p99_ms: f64,
    /// The lag's part from arrival here to the apply (this region's writer
    /// queue and group commit).
    pub lag_applying_p50_ms: f64,
    pub lag_applying_p99_ms: f64,
    /// The lag to the apply being durable here instead: it adds this
    /// region's log sync.
    pub lag_durable_p50_ms: f64,
    pub lag_durable_p99_ms: f64,
    /// The lag counted from the change's HLC stamp at the origin instead of
    /// its commit there: it includes the write's own commit.
    pub lag_from_write_p50_ms: f64,
    pub lag_from_write_p99_ms: f64,
    /// Changes the lag percentiles are over (the latest `LAG_SAMPLES`).
    pub lag_samples: usize,
    /// Lag p99 of the changes applied in the last second (0 when none).
    pub lag_recent_p99_ms: f64,
    /// Every applied change's lag since the region started, in buckets
    /// (`/metrics` exports it; left out of `/status`).
    #[serde(skip)]
    pub lag_histogram: LagHistogram,
    /// Changes applied in the last second.
    pub lag_recent_samples: usize,
}

impl PeerStatus {
    fn with_peer<R>(&self, peer: &str, f: impl FnOnce(&mut Peer) -> R) -> R {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        f(peers.entry(peer.to_string()).or_default())
    }

    fn with<R>(&self, peer: &str, f: impl FnOnce(&mut PeerState) -> R) -> R {
        self.with_peer(peer, |p| f(&mut p.state))
    }

    /// One peer's counters and positions, without the lag percentiles a
    /// report computes from its samples (`None`: nothing known of the peer).
    pub fn state(&self, peer: &str) -> Option<PeerState> {
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.get(peer).map(|p| p.state.clone())
    }

    /// Marks the peer's inbound stream up or down.
    pub fn connected(&self, peer: &str, up: bool) {
        self.with(peer, |p| p.receiving = up);
    }

    /// Records an applied batch and the lag of each of its changes, given
    /// their times at the origin, when the batch arrived here and when its
    /// apply became visible and durable here (nanoseconds, by our wall clock).
    pub fn applied(
        &self,
        peer: &str,
        report: &ApplyReport,
        origins: &[OriginTimes],
        arrived_ns: u64,
        times: GroupTimes,
    ) {
        self.with_peer(peer, |peer| {
            let Peer {
                state: p,
                lags,
                histogram: lag_histogram,
            } = peer;
            p.applied += report.applied;
            p.superseded += report.superseded;
            p.skipped += report.skipped;
            p.conflicts += report.conflicts;
            if report.clock_ahead_ms > 0 {
                p.clock_alarms += 1;
                p.max_clock_ahead_ms = p.max_clock_ahead_ms.max(report.clock_ahead_ms);
            }
            let ms = |from: u64, to: u64| to.saturating_sub(from) as f64 / 1e6;
            let since = |t: u64| ms(t, times.visible_ns);
            for origin in origins {
                if lags.len() == LAG_SAMPLES {
                    lags.pop_front();
                }
                let committed = origin.committed_or_written();
                let lag_ms = since(committed);
                lag_histogram.record(lag_ms / 1e3);
                lags.push_back(LagSample {
                    at_ns: times.visible_ns,
                    lag_ms,
                    applying_ms: since(arrived_ns),
                    durable_ms: ms(committed, times.durable_ns),
                    from_write_ms: since(origin.written_ns),
                });
            }
        });
    }

    /// Records that `peer` acknowledged `count` more of our changes, up to
    /// our log position `seq`.
    pub fn acked(&self, peer: &str, count: u64, seq: Seq) {
        self.with(peer, |p| {
            p.shipped += count;
            p.acked_seq = p.acked_seq.max(seq);
        });
    }

    /// Records where a new link of the peer starts: it has our changes up
    /// to `seq`, and no more (a peer restored from an older copy goes back).
    pub fn starts_after(&self, peer: &str, seq: Seq) {
        self.with(peer, |p| p.acked_seq = seq);
    }

    /// Records that the peer was resynchronised from a snapshot holding
    /// our log through `seq`, and acknowledged it.
    pub fn resynced(&self, peer: &str, seq: Seq) {
        self.with(peer, |p| {
            p.resyncs += 1;
            p.acked_seq = seq;
        });
    }

    /// A snapshot of every peer. `now_ns` ends the recent window: the
    /// region's wall clock (`Hlc::wall_now_ns`, with its simulated offset),
    /// which samples are stamped with; the system clock would put a skewed
    /// region's samples outside it.
    pub fn report_at(&self, now_ns: u64) -> Vec<PeerReport> {
        // The samples are copied under the lock and summarised after it:
        // the link tasks take the same lock to record every applied batch,
        // and summarising goes over thousands of samples per series.
        let copied: Vec<(String, PeerState, Vec<LagSample>, LagHistogram)> = {
            let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
            peers
                .iter()
                .map(|(name, Peer { state, lags, histogram })| {
                    (name.clone(), state.clone(), lags.iter().copied().collect(), *histogram)
                })
                .collect()
        };
        copied
            .into_iter()
            .map(|(peer, state, lags, lag_histogram)| {
                let p50_p99 = |part: fn(&LagSample) -> f64| {
                    let mut values: Vec<f64> = lags.iter().map(part).collect();
                    let [p50, p99] = quantiles(&mut values, [0.5, 0.99]);
                    (p50, p99)
                };
                let lag = p50_p99(|s| s.lag_ms);
                // The arrival is stamped by this region's clock and the
                // commit by the origin's: with skew, shipping can read < 0.
                let shipping = p50_p99(|s| (s.lag_ms - s.applying_ms).max(0.0));
                let applying = p50_p99(|s| s.applying_ms);
                let durable = p50_p99(|s| s.durable_ms);
                let from_write = p50_p99(|s| s.from_write_ms);
                let mut recent: Vec<f64> = lags
                    .iter()
                    .filter(|s| now_ns.saturating_sub(s.at_ns) <= RECENT_NS)
                    .map(|s| s.lag_ms)
                    .collect();
                let [recent_p99] = quantiles(&mut recent, [0.99]);
                PeerReport {
                    peer,
                    state,
                    lag_p50_ms: lag.0,
                    lag_p99_ms: lag.1,
                    lag_shipping_p50_ms: shipping.0,
                    lag_shipping_p99_ms: shipping.1,
                    lag_applying_p50_ms: applying.0,
                    lag_applying_p99_ms: applying.1,
                    lag_durable_p50_ms: durable.0,
                    lag_durable_p99_ms: durable.1,
                    lag_from_write_p50_ms: from_write.0,
                    lag_from_write_p99_ms: from_write.1,
                    lag_samples: lags.len(),
                    lag_recent_samples: recent.len(),
                    lag_recent_p99_ms: recent_p99,
                    lag_histogram,
                }
            })
            .collect()
    }
}

/// The `qs` quantiles of `values` (0 when empty): each the value a sort
/// would put at that rank, found by selection (linear) rather than by
/// sorting. Reorders `values`.
fn quantiles<const N: usize>(values: &mut [f64], qs: [f64; N]) -> [f64; N] {
    qs.map(|q| {
        if values.is_empty() {
            return 0.0;
        }
        let rank = ((values.len() as f64 - 1.0) * q).round() as usize;
        *values.select_nth_unstable_by(rank, f64::total_cmp).1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// Applied at `visible_ms`, durable at `durable_ms`.
    fn times(visible_ms: u64, durable_ms: u64) -> GroupTimes {
        GroupTimes {
            visible_ns: visible_ms * MS,
            durable_ns: durable_ms * MS,
        }
    }

    #[test]
    fn every_applied_change_is_counted_in_the_lag_histogram() {
        let status = PeerStatus::default();
        let report = ApplyReport {
            applied: 3,
            ..ApplyReport::default()
        };
        // Committed at the origin at 1 ms, 7 ms and 0 (unknown: the write's
        // stamp, 0, counts instead); applied here at 10 ms (durable later).
        let origins = OriginTimes::of_batch([MS, MS, 0].into_iter(), &[MS, 7 * MS, 0]);
        status.applied("eu", &report, &origins, 8 * MS, times(10, 12));
        let histogram = status.report_at(10 * MS)[0].lag_histogram;
        assert_eq!(histogram.count(), 3);
        // 9 ms and 10 ms fall in the bucket up to 10 ms (a bound belongs
        // to its bucket), 3 ms in the one up to 5 ms.
        let bucket = |bound: f64| LAG_BUCKETS.iter().position(|&b| b == bound).unwrap();
        assert_eq!(histogram.counts[bucket(0.01)], 2);
        assert_eq!(histogram.counts[bucket(0.005)], 1);
        assert!((histogram.sum_seconds - 0.022).abs() < 1e-9, "{histogram:?}");

        // A lag beyond the last bound goes to the unbounded bucket.
        let late = OriginTimes::of_batch([MS].into_iter(), &[MS]);
        status.applied("eu", &report, &late, 0, times(120_000, 120_000));
        let histogram = status.report_at(120_000 * MS)[0].lag_histogram;
        assert_eq!(histogram.counts[LAG_BUCKETS.len()], 1);
        assert_eq!(histogram.count(), 4);
    }

    #[test]
    fn lag_counts_from_the_origin_commit_when_the_origin_sent_it() {
        let status = PeerStatus::default();
        let report = ApplyReport {
            applied: 2,
            ..ApplyReport::default()
        };
        // Written at 1 ms, committed at 3 ms at the origin, arrived at 5 ms,
        // applied at 10 ms, durable at 12 ms; the second change's commit
        // time is unknown.
        let origins = OriginTimes::of_batch([MS, MS].into_iter(), &[3 * MS]);
        assert_eq!(
            origins[1],
            OriginTimes {
                written_ns: MS,
                committed_ns: 0
            }
        );
        status.applied("eu-west-1", &report, &origins[..1], 5 * MS, times(10, 12));
        let peer = &status.report_at(10 * MS)[0];
        assert_eq!(peer.state.applied, 2);
        assert_eq!((peer.lag_p50_ms, peer.lag_p99_ms), (7.0, 7.0));
        assert_eq!(peer.lag_shipping_p50_ms, 2.0);
        assert_eq!(peer.lag_applying_p50_ms, 5.0);
        assert_eq!(peer.lag_durable_p50_ms, 9.0);
        assert_eq!(peer.lag_from_write_p50_ms, 9.0);
        // The counters alone, as the trimmer reads positions.
        assert_eq!(status.state("eu-west-1").map(|s| s.applied), Some(2));
        assert!(status.state("ap-southeast-2").is_none());

        // The recent window ends at the clock the samples were stamped with.
        assert_eq!(status.report_at(10 * MS + 900 * MS)[0].lag_recent_samples, 1);
        assert_eq!(status.report_at(10 * MS + 1_100 * MS)[0].lag_recent_samples, 0);

        let other = PeerStatus::default();
        other.applied("eu-west-1", &report, &origins[1..], 5 * MS, times(10, 12));
        let peer = &other.report_at(10 * MS)[0];
        assert_eq!((peer.lag_p50_ms, peer.lag_from_write_p50_ms), (9.0, 9.0));
    }

    #[test]
    fn quantiles_are_the_values_a_sort_puts_at_their_rank() {
        // 101 distinct values in a scrambled order (37 is prime to 101).
        let values: Vec<f64> = (0..101u32).map(|i| f64::from((i * 37) % 101)).collect();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let mut scratch = values.clone();
        let [p0, p50, p99, p100] = quantiles(&mut scratch, [0.0, 0.5, 0.99, 1.0]);
        assert_eq!([p0, p50, p99, p100], [sorted[0], sorted[50], sorted[99], sorted[100]]);
        assert_eq!([p0, p50, p99, p100], [0.0, 50.0, 99.0, 100.0]);
        assert_eq!(quantiles(&mut [], [0.5, 0.99]), [0.0, 0.0], "no samples: zeros");
        assert_eq!(quantiles(&mut [7.5], [0.5, 0.99]), [7.5, 7.5]);
    }
}
