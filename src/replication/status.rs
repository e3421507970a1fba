//! Per-peer replication state for the status endpoint and metrics: link up
//! or down, positions, applied and superseded counts, clock-offset alarms,
//! and recent replication lag (origin commit to local apply), split at the
//! moment the change arrived here: shipping (origin commit to arrival) and
//! applying (arrival to durable apply here).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

use crate::engine::ApplyReport;

/// Lag samples kept per peer for percentiles.
const LAG_SAMPLES: usize = 4096;
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
    pub acked_seq: u64,
    /// Times the peer was resynchronised from a snapshot: it asked for
    /// changes our log no longer holds, or came back as a new incarnation
    /// (it lost its data).
    pub resyncs: u64,
    /// The latest applied changes.
    #[serde(skip)]
    lags_ms: VecDeque<LagSample>,
}

/// One applied change's lag.
#[derive(Clone, Copy, Debug)]
struct LagSample {
    /// Local wall clock when it was applied, nanoseconds.
    at_ns: u64,
    /// Origin commit to durable apply here.
    lag_ms: f64,
    /// Of which: arrival here to durable apply here.
    applying_ms: f64,
}

/// Replication state of every peer, shared by the link tasks.
#[derive(Default, Debug)]
pub struct PeerStatus {
    peers: Mutex<BTreeMap<String, PeerState>>,
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
    /// The lag's part from arrival here to durable apply (this region's
    /// writer queue, group commit and log sync).
    pub lag_applying_p50_ms: f64,
    pub lag_applying_p99_ms: f64,
    /// Lag p99 of the changes applied in the last second (0 when none).
    pub lag_recent_p99_ms: f64,
    /// Changes applied in the last second.
    pub lag_recent_samples: usize,
}

impl PeerStatus {
    fn with<R>(&self, peer: &str, f: impl FnOnce(&mut PeerState) -> R) -> R {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        f(peers.entry(peer.to_string()).or_default())
    }

    /// Marks the peer's inbound stream up or down.
    pub fn connected(&self, peer: &str, up: bool) {
        self.with(peer, |p| p.receiving = up);
    }

    /// Records an applied batch and the lag of each of its changes, given
    /// their origin commit times, when the batch arrived here and our wall
    /// clock now (nanoseconds).
    pub fn applied(&self, peer: &str, report: &ApplyReport, origin_times_ns: &[u64], arrived_ns: u64, now_ns: u64) {
        self.with(peer, |p| {
            p.applied += report.applied;
            p.superseded += report.superseded;
            p.skipped += report.skipped;
            p.conflicts += report.conflicts;
            if report.clock_ahead_ms > 0 {
                p.clock_alarms += 1;
                p.max_clock_ahead_ms = p.max_clock_ahead_ms.max(report.clock_ahead_ms);
            }
            for &t in origin_times_ns {
                if p.lags_ms.len() == LAG_SAMPLES {
                    p.lags_ms.pop_front();
                }
                p.lags_ms.push_back(LagSample {
                    at_ns: now_ns,
                    lag_ms: now_ns.saturating_sub(t) as f64 / 1e6,
                    applying_ms: now_ns.saturating_sub(arrived_ns) as f64 / 1e6,
                });
            }
        });
    }

    /// Records that `peer` acknowledged `count` more of our changes, up to
    /// our log position `seq`.
    pub fn acked(&self, peer: &str, count: u64, seq: u64) {
        self.with(peer, |p| {
            p.shipped += count;
            p.acked_seq = p.acked_seq.max(seq);
        });
    }

    /// Records where a new link of the peer starts: it has our changes up
    /// to `seq`, and no more (a peer restored from an older copy goes back).
    pub fn starts_after(&self, peer: &str, seq: u64) {
        self.with(peer, |p| p.acked_seq = seq);
    }

    /// Records that the peer was resynchronised from a snapshot holding
    /// our log through `seq`, and acknowledged it.
    pub fn resynced(&self, peer: &str, seq: u64) {
        self.with(peer, |p| {
            p.resyncs += 1;
            p.acked_seq = seq;
        });
    }

    /// A snapshot of every peer.
    /// `now_ns` is the local wall clock, for the recent window.
    pub fn report_at(&self, now_ns: u64) -> Vec<PeerReport> {
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers
            .iter()
            .map(|(name, state)| {
                let p50_p99 = |part: fn(&LagSample) -> f64| {
                    let mut samples: Vec<f64> = state.lags_ms.iter().map(part).collect();
                    samples.sort_by(f64::total_cmp);
                    (quantile(&samples, 0.5), quantile(&samples, 0.99))
                };
                let lag = p50_p99(|s| s.lag_ms);
                // The arrival is stamped by this region's clock and the
                // commit by the origin's: with skew, shipping can read < 0.
                let shipping = p50_p99(|s| (s.lag_ms - s.applying_ms).max(0.0));
                let applying = p50_p99(|s| s.applying_ms);
                let mut recent: Vec<f64> = state
                    .lags_ms
                    .iter()
                    .filter(|s| now_ns.saturating_sub(s.at_ns) <= RECENT_NS)
                    .map(|s| s.lag_ms)
                    .collect();
                recent.sort_by(f64::total_cmp);
                PeerReport {
                    peer: name.clone(),
                    state: state.clone(),
                    lag_p50_ms: lag.0,
                    lag_p99_ms: lag.1,
                    lag_shipping_p50_ms: shipping.0,
                    lag_shipping_p99_ms: shipping.1,
                    lag_applying_p50_ms: applying.0,
                    lag_applying_p99_ms: applying.1,
                    lag_recent_samples: recent.len(),
                    lag_recent_p99_ms: quantile(&recent, 0.99),
                }
            })
            .collect()
    }

    /// A snapshot of every peer (the recent window ends at the system clock).
    pub fn report(&self) -> Vec<PeerReport> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        self.report_at(now)
    }
}

/// The `q` quantile of `sorted` (0 when empty).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or(0.0)
}
