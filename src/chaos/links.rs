//! Live link conditions of one region: for every peer, the delay, jitter,
//! loss, bandwidth cap and partition applied to what this region sends it.
//!
//! The topology's `[[link]]` tables give the starting values; the admin
//! endpoint (`/admin/links`) changes them while the region runs. Shipping
//! reads them for every batch, so a change applies to the next batch sent,
//! and batches already on their way keep the delay they were given, as
//! packets already on a wire would.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::config::{ConfigError, LinkFaults};

/// A partial change of one link's conditions: absent fields keep their value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPatch {
    /// Receiving region the change applies to.
    pub to: String,
    pub delay_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    pub loss: Option<f64>,
    pub bandwidth_kbps: Option<u64>,
    pub partitioned: Option<bool>,
    /// Start from the defaults (no delay, no loss, connected) first.
    #[serde(default)]
    pub reset: bool,
}

impl LinkPatch {
    /// `current` with this patch applied.
    pub fn apply(&self, current: &LinkFaults) -> LinkFaults {
        let base = if self.reset {
            LinkFaults::default()
        } else {
            current.clone()
        };
        LinkFaults {
            delay_ms: self.delay_ms.unwrap_or(base.delay_ms),
            jitter_ms: self.jitter_ms.unwrap_or(base.jitter_ms),
            loss: self.loss.unwrap_or(base.loss),
            bandwidth_kbps: self.bandwidth_kbps.unwrap_or(base.bandwidth_kbps),
            partitioned: self.partitioned.unwrap_or(base.partitioned),
        }
    }
}

/// Why a link change was refused.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{0} is not a peer of this region")]
    UnknownPeer(String),
    #[error("{0}")]
    Invalid(#[from] ConfigError),
}

/// The conditions of every link leaving one region. Shared by the admin
/// endpoint (writer) and the shipping tasks (readers).
#[derive(Debug)]
pub struct LinkControl {
    region: String,
    links: Mutex<BTreeMap<String, LinkFaults>>,
    /// Bumped on every change, so a shipper held by a partition wakes up.
    changed: watch::Sender<u64>,
    /// State of a small splitmix64 generator for jitter and loss; drills
    /// need no cryptographic randomness, and a lock-free counter keeps the
    /// shipping path cheap.
    seed: AtomicU64,
}

impl LinkControl {
    /// Conditions for the links of `region` to `peers`; links not listed in
    /// `initial` start with the defaults.
    pub fn new(region: &str, peers: &[String], initial: Vec<(String, LinkFaults)>) -> LinkControl {
        let mut links: BTreeMap<String, LinkFaults> =
            peers.iter().map(|p| (p.clone(), LinkFaults::default())).collect();
        links.extend(initial);
        let seed = region
            .bytes()
            .fold(0x9E37_79B9_7F4A_7C15u64, |h, b| h.rotate_left(5) ^ u64::from(b));
        LinkControl {
            region: region.to_string(),
            links: Mutex::new(links),
            changed: watch::channel(0).0,
            seed: AtomicU64::new(seed),
        }
    }

    /// The region these links leave from.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The current conditions towards `peer` (defaults for an unknown peer).
    pub fn get(&self, peer: &str) -> LinkFaults {
        let links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links.get(peer).cloned().unwrap_or_default()
    }

    /// Every link's conditions, by peer.
    pub fn all(&self) -> BTreeMap<String, LinkFaults> {
        self.links.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Applies `patch`; returns the link's new conditions.
    pub fn patch(&self, patch: &LinkPatch) -> Result<LinkFaults, LinkError> {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        let current = links
            .get_mut(&patch.to)
            .ok_or_else(|| LinkError::UnknownPeer(patch.to.clone()))?;
        let next = patch.apply(current);
        next.validate()?;
        *current = next.clone();
        drop(links);
        self.changed.send_modify(|v| *v += 1);
        tracing::info!(region = %self.region, peer = %patch.to, faults = ?next, "link conditions changed");
        Ok(next)
    }

    /// A receiver that changes whenever any link's conditions change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// A uniformly distributed number in [0, 1).
    pub fn random(&self) -> f64 {
        let mut z = self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control() -> LinkControl {
        LinkControl::new(
            "a",
            &["b".to_string(), "c".to_string()],
            vec![(
                "b".to_string(),
                LinkFaults {
                    delay_ms: 40,
                    ..LinkFaults::default()
                },
            )],
        )
    }

    #[test]
    fn patches_keep_unset_fields_and_reset_clears_them() {
        let links = control();
        assert_eq!(links.get("b").delay_ms, 40);
        let patch = LinkPatch {
            to: "b".into(),
            loss: Some(0.1),
            ..LinkPatch::default()
        };
        let faults = links.patch(&patch).unwrap();
        assert_eq!((faults.delay_ms, faults.loss), (40, 0.1));
        let reset = LinkPatch {
            to: "b".into(),
            reset: true,
            ..LinkPatch::default()
        };
        assert_eq!(links.patch(&reset).unwrap(), LinkFaults::default());
    }

    #[test]
    fn bad_patches_are_refused_and_change_nothing() {
        let links = control();
        let unknown = LinkPatch {
            to: "z".into(),
            ..LinkPatch::default()
        };
        assert!(matches!(links.patch(&unknown), Err(LinkError::UnknownPeer(_))));
        let lossy = LinkPatch {
            to: "c".into(),
            loss: Some(1.0),
            ..LinkPatch::default()
        };
        assert!(matches!(links.patch(&lossy), Err(LinkError::Invalid(_))));
        assert_eq!(links.get("c"), LinkFaults::default());
    }

    #[test]
    fn random_numbers_are_in_range_and_spread() {
        let links = control();
        let draws: Vec<f64> = (0..1000).map(|_| links.random()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let below_half = draws.iter().filter(|d| **d < 0.5).count();
        assert!((400..600).contains(&below_half), "{below_half}");
    }
}
