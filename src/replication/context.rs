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
use crate::model::{IndexKind, TableMeta, item_size};
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

/// The write units a batch's item changes cost one table, and each of its
/// global secondary indexes.
#[derive(Debug)]
pub struct ReplicatedUnits {
    pub table: String,
    pub units: f64,
    /// Units per global secondary index (name, units).
    pub indexes: Vec<(String, f64)>,
    /// The table's description in this region, when it has the table.
    meta: Option<Arc<TableMeta>>,
}

/// Write units of a batch's item changes, per table, in DynamoDB's
/// arithmetic (a unit per started KB of the larger of the old and new
/// item, as a local write of the same change is charged), and per global
/// secondary index of the table in this region (a unit per started KB of
/// each index entry the change writes or deletes, as for a local write).
pub fn replicated_units(engine: &Engine, changes: &[(Seq, Change)]) -> Vec<ReplicatedUnits> {
    let mut units: Vec<ReplicatedUnits> = Vec::new();
    let size = |item: &Option<crate::model::Item>| item.as_ref().map(item_size).unwrap_or(0);
    for (_, change) in changes {
        let Change::Item(item) = change else { continue };
        let position = match units.iter().position(|u| u.table == item.table) {
            Some(position) => position,
            None => {
                units.push(ReplicatedUnits {
                    table: item.table.clone(),
                    units: 0.0,
                    indexes: Vec::new(),
                    meta: engine.table_schema(&item.table).ok(),
                });
                units.len() - 1
            }
        };
        let entry = &mut units[position];
        entry.units += write_units(size(&item.old).max(size(&item.new)));
        let Some(meta) = &entry.meta else { continue };
        for index in meta.indexes.iter().filter(|i| i.kind == IndexKind::Global) {
            let writes = index.entry_writes(&meta.key_schema, item.old.as_ref(), item.new.as_ref());
            let cost: f64 = writes.into_iter().map(write_units).sum();
            if cost == 0.0 {
                continue;
            }
            match entry.indexes.iter_mut().find(|(name, _)| *name == index.name) {
                Some((_, total)) => *total += cost,
                None => entry.indexes.push((index.name.clone(), cost)),
            }
        }
    }
    units
}

impl LinkContext {
    /// Charges applied replicated writes to this region's write capacity,
    /// the table's and its global secondary indexes': never refused (a
    /// region out of capacity falls behind as lag instead), they leave the
    /// buckets in debt that local writes then wait out. Tables this region
    /// does not have are not charged.
    pub fn charge_replicated(&self, units: &[ReplicatedUnits]) {
        for charge in units {
            if let Ok(meta) = self.engine.table_schema(&charge.table) {
                self.capacity.charge_replicated(&meta, charge.units, &charge.indexes);
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
