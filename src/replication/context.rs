//! What both directions of every link share: the region's engine, who it
//! is, its peers' status, the simulated link conditions and the live
//! connections. Below `link.rs`, `resync.rs` and `backfill.rs`, which all
//! take it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::status::PeerStatus;
use crate::chaos::LinkControl;
use crate::engine::Engine;

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
}

impl LinkContext {
    /// Remembers the live connection to `peer`.
    pub fn register(&self, peer: &str, conn: &quinn::Connection) {
        let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        connections.insert(peer.to_string(), conn.clone());
    }

    /// The live connection to `peer`, if there is one.
    pub fn connection(&self, peer: &str) -> Option<quinn::Connection> {
        let connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        connections.get(peer).filter(|c| c.close_reason().is_none()).cloned()
    }
}
