//! What both directions of every link share: the region's engine, who it
//! is, its peers' status, the simulated link conditions and the live
//! connections. Below `link.rs`, `resync.rs` and `backfill.rs`, which all
//! take it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::status::PeerStatus;
use crate::capacity::{Capacity, write_units};
use crate::chaos::LinkControl;
use crate::engine::Engine;
use crate::ids::Seq;
use crate::model::item_size;
use crate::store::records::Change;

/// What both directions of a link need to know.
pub struct LinkContext {
    pub engine: Engine,
    pub cluster: String,
    pub region: String,
    pub stop: watch::Receiver<bool>,
    pub peers: Arc<PeerStatus>,
    /// Simulated conditions of the links leaving this region.
    pub links: Arc<LinkControl>,
    /// Live connections by peer region, for backfill requests.
    pub connections: Mutex<HashMap<String, quinn::Connection>>,
    /// The other regions of the topology: the only peers served.
    pub peer_names: Vec<String>,
    /// Refused peers, logged at most once a second.
    pub refusals: RefusalLog,
    /// The region's capacity, which replicated writes consume.
    pub capacity: Arc<Capacity>,
}

/// Write units of a batch's item changes, per table, in DynamoDB's
/// arithmetic (a unit per started KB of the larger of the old and new
/// item, as a local write of the same change is charged).
pub fn replicated_units(changes: &[(Seq, Change)]) -> Vec<(String, f64)> {
    let mut units: Vec<(String, f64)> = Vec::new();
    let size = |item: &Option<crate::model::Item>| item.as_ref().map(item_size).unwrap_or(0);
    for (_, change) in changes {
        let Change::Item(item) = change else { continue };
        let cost = write_units(size(&item.old).max(size(&item.new)));
        match units.iter_mut().find(|(table, _)| *table == item.table) {
            Some((_, total)) => *total += cost,
            None => units.push((item.table.clone(), cost)),
        }
    }
    units
}

impl LinkContext {
    /// Charges applied replicated writes to this region's write capacity:
    /// never refused (a region out of capacity falls behind as lag
    /// instead), they leave the table's bucket in debt that local writes
    /// then wait out. Tables this region does not have are not charged.
    pub fn charge_replicated(&self, units: &[(String, f64)]) {
        for (table, units) in units {
            if let Ok(meta) = self.engine.table_schema(table) {
                self.capacity.charge_replicated(&meta, *units);
            }
        }
    }
}

/// Shortest time between two log lines about refused peers: a stranger
/// retrying in a loop must not flood the log.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(1);

/// Logs refused peers, rate-limited, counting the lines it held back.
#[derive(Default)]
pub struct RefusalLog {
    /// When the last line was logged, and refusals not logged since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl RefusalLog {
    /// Logs that `peer` was refused for `reason`, unless a line was logged
    /// less than `REFUSAL_LOG_EVERY` ago (then it is counted, and the next
    /// line says how many were held back).
    pub fn refused(&self, region: &str, peer: &str, reason: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (last, held_back) = &mut *state;
        if last.is_some_and(|at| at.elapsed() < REFUSAL_LOG_EVERY) {
            *held_back += 1;
            return;
        }
        tracing::warn!(%region, %peer, %reason, held_back = *held_back, "refused a peer");
        *last = Some(Instant::now());
        *held_back = 0;
    }
}

impl LinkContext {
    /// Remembers the live connection to `peer`.
    pub fn register(&self, peer: &str, conn: &quinn::Connection) {
        let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        connections.insert(peer.to_string(), conn.clone());
    }

    /// The region of the topology `conn`'s peer certificate names, if any
    /// (see `tls::certificate_names`).
    pub fn certified_peer(&self, conn: &quinn::Connection) -> Option<String> {
        let identity = conn.peer_identity()?;
        let chain = identity
            .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
            .ok()?;
        let cert = chain.first()?;
        self.peer_names
            .iter()
            .find(|name| super::tls::certificate_names(cert, name))
            .cloned()
    }

    /// The live connection to `peer`, if there is one.
    pub fn connection(&self, peer: &str) -> Option<quinn::Connection> {
        let connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        connections.get(peer).filter(|c| c.close_reason().is_none()).cloned()
    }
}
