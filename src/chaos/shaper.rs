//! The outbound side of a link under simulated conditions.
//!
//! A shipper stamps each batch with the time it may leave when it queues it
//! (`Stamper`), and a delivery stage lets it through when due (`Gate`).
//! Because batches wait in a queue with their own release times instead of
//! the shipper sleeping per batch, a delay of D adds D to every batch's
//! latency without capping throughput: everything queued during D is in
//! flight at once, as on a long fat network.
//!
//! Loss on an ordered QUIC stream is modelled as a batch withheld for a
//! retransmission timeout and then sent again; later batches wait behind it
//! (head-of-line blocking, as real QUIC loss on one stream does). Data is
//! never dropped, only slowed. A partition withholds everything until heal;
//! QUIC keep-alives still flow, so the connection itself stays up and
//! shipping resumes where it was.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::links::LinkControl;
use crate::config::LinkFaults;

/// Shortest simulated retransmission timeout.
const MIN_RETRANSMIT: Duration = Duration::from_millis(100);

/// Gives each batch queued for one peer its release time.
pub struct Stamper {
    control: Arc<LinkControl>,
    peer: String,
    last: Instant,
    changes: watch::Receiver<u64>,
}

impl Stamper {
    /// A stamper for the link to `peer`.
    pub fn new(control: Arc<LinkControl>, peer: &str) -> Stamper {
        Stamper {
            changes: control.subscribe(),
            control,
            peer: peer.to_string(),
            last: Instant::now(),
        }
    }

    /// Waits while the link is partitioned. A shipper calls this before
    /// reading its next batch, so that changes made during a partition stay
    /// in the log and leave in a few large batches at heal rather than
    /// queueing up as many small ones.
    pub async fn until_connected(&mut self) {
        wait_connected(&self.control, &self.peer, &mut self.changes).await;
    }

    /// When a batch queued now may leave: now plus the delay, give or take
    /// the jitter, but never before the previous batch (a stream keeps order).
    pub fn release_at(&mut self) -> Instant {
        let faults = self.control.get(&self.peer);
        let jitter = if faults.jitter_ms > 0 {
            (self.control.random() * 2.0 - 1.0) * faults.jitter_ms as f64
        } else {
            0.0
        };
        let delay_ms = (faults.delay_ms as f64 + jitter).max(0.0);
        let release = Instant::now() + Duration::from_secs_f64(delay_ms / 1000.0);
        self.last = self.last.max(release);
        self.last
    }
}

/// Lets queued batches through to one peer when the link's conditions allow.
pub struct Gate {
    control: Arc<LinkControl>,
    peer: String,
    changes: watch::Receiver<u64>,
    /// When the simulated wire is free again under a bandwidth cap.
    wire_free: Instant,
}

impl Gate {
    /// A gate for the link to `peer`.
    pub fn new(control: Arc<LinkControl>, peer: &str) -> Gate {
        Gate {
            changes: control.subscribe(),
            control,
            peer: peer.to_string(),
            wire_free: Instant::now(),
        }
    }

    /// Waits until a batch stamped `release` may be written: the link is
    /// not partitioned, the release time has passed, every simulated loss
    /// has been retransmitted, and the bandwidth cap has room for its
    /// `bytes()` bytes (only computed under a cap).
    pub async fn pass(&mut self, mut release: Instant, bytes: impl FnOnce() -> usize) {
        let faults = loop {
            self.wait_connected().await;
            // Not a sleep when the batch is due: tokio's timer rounds a
            // deadline up to its next millisecond tick, which would add
            // ~1 ms of lag to every batch of an unshaped link.
            if release > Instant::now() {
                tokio::time::sleep_until(release).await;
            }
            let faults = self.control.get(&self.peer);
            if faults.partitioned {
                continue;
            }
            if faults.loss > 0.0 && self.control.random() < faults.loss {
                release = Instant::now() + retransmit_timeout(&faults);
                tracing::trace!(region = %self.control.region(), peer = %self.peer, "simulated loss; retransmitting");
                continue;
            }
            break faults;
        };
        if faults.bandwidth_kbps > 0 {
            let seconds = bytes() as f64 * 8.0 / (faults.bandwidth_kbps as f64 * 1000.0);
            self.wire_free = self.wire_free.max(Instant::now()) + Duration::from_secs_f64(seconds);
            tokio::time::sleep_until(self.wire_free).await;
        }
    }

    async fn wait_connected(&mut self) {
        wait_connected(&self.control, &self.peer, &mut self.changes).await;
    }
}

/// Completes once the link to `peer` is not partitioned.
async fn wait_connected(control: &LinkControl, peer: &str, changes: &mut watch::Receiver<u64>) {
    while control.get(peer).partitioned {
        if changes.changed().await.is_err() {
            // The control is gone with its region; shipping is stopping.
            std::future::pending::<()>().await;
        }
    }
}

/// The simulated retransmission timeout: a few one-way delays, as QUIC's
/// probe timeout is a few round trips, with a floor.
fn retransmit_timeout(faults: &LinkFaults) -> Duration {
    MIN_RETRANSMIT.max(Duration::from_millis(faults.delay_ms * 3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::links::LinkPatch;

    fn control(faults: LinkFaults) -> Arc<LinkControl> {
        Arc::new(LinkControl::new(
            "a",
            &["b".to_string()],
            vec![("b".to_string(), faults)],
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn delay_stamps_do_not_serialise_batches() {
        let links = control(LinkFaults {
            delay_ms: 100,
            ..LinkFaults::default()
        });
        let mut stamper = Stamper::new(links.clone(), "b");
        let mut gate = Gate::new(links, "b");
        let start = Instant::now();
        let stamps: Vec<Instant> = (0..50).map(|_| stamper.release_at()).collect();
        for stamp in stamps {
            gate.pass(stamp, || 0).await;
        }
        // Fifty batches queued together all arrive after one delay, not fifty.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_millis(150),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_partition_holds_batches_until_heal() {
        let links = control(LinkFaults {
            partitioned: true,
            ..LinkFaults::default()
        });
        let mut gate = Gate::new(links.clone(), "b");
        let release = Instant::now();
        let held = tokio::spawn(async move {
            gate.pass(release, || 0).await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!held.is_finished());
        let healed_at = Instant::now();
        let heal = LinkPatch {
            to: "b".into(),
            partitioned: Some(false),
            ..LinkPatch::default()
        };
        links.patch(&heal).unwrap();
        assert!(held.await.unwrap() >= healed_at);
    }

    #[tokio::test(start_paused = true)]
    async fn loss_slows_but_every_batch_passes() {
        let links = control(LinkFaults {
            loss: 0.5,
            ..LinkFaults::default()
        });
        let mut gate = Gate::new(links, "b");
        let start = Instant::now();
        for _ in 0..40 {
            gate.pass(Instant::now(), || 0).await;
        }
        // About twenty losses of 100 ms each; all forty batches passed.
        assert!(start.elapsed() >= Duration::from_millis(500), "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_bandwidth_cap_spaces_batches_by_their_size() {
        let links = control(LinkFaults {
            bandwidth_kbps: 80,
            ..LinkFaults::default()
        });
        let mut gate = Gate::new(links, "b");
        let start = Instant::now();
        for _ in 0..10 {
            // 1000 bytes at 80 kbit/s take 100 ms.
            gate.pass(Instant::now(), || 1000).await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1000) && took < Duration::from_millis(1100),
            "{took:?}"
        );
    }
}
