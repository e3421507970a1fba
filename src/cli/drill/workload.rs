//! The drill's clients and the ledger of what they were told.
//!
//! Every write carries a unique write id (`w`) and a number (`v`) that
//! grows per client. Within a region, a key is written by one client only,
//! so each region's writes to a key are sequential; region-private keys
//! (`p-REGION-N`) are written by one region, shared keys (`s-N`) by all.
//!
//! The ledger keeps, per key and region, the last write the region
//! acknowledged and the writes after it whose outcome is unknown (the
//! request was sent but no answer came: a killed or paused region may or
//! may not have committed them). A region's later write always carries a
//! higher HLC timestamp than its earlier ones, so under last-writer-wins the
//! final value of a key must be one of these candidates of some region; an
//! acknowledged write that is superseded by nothing and yet absent was lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::watch;

use super::script::Workload;
use crate::cli::api_client::ApiClient;
use crate::cli::http;

/// The table every drill writes.
pub const TABLE: &str = "drill";
/// How long a write may take before its outcome counts as unknown.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long connecting may take before the write counts as not sent.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What a write leaves behind.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// The item with this write id and number.
    Item { w: String, v: u64 },
    /// No item (a delete numbered `v`).
    Deleted { v: u64 },
}

/// One region's writes to one key, as the clients saw them.
#[derive(Clone, Debug, Default)]
pub struct KeyRecord {
    /// The last acknowledged write and when it was acknowledged.
    pub last_acked: Option<(Effect, Instant)>,
    /// Writes after it whose outcome is unknown.
    pub uncertain: Vec<Effect>,
}

/// Everything the clients were told, shared by every client task.
#[derive(Default)]
pub struct Ledger {
    /// By (key, region index).
    keys: Mutex<HashMap<(String, usize), KeyRecord>>,
    pub acked: AtomicU64,
    pub rejected: AtomicU64,
    pub not_sent: AtomicU64,
    pub uncertain: AtomicU64,
    /// Acknowledged writes per whole second of the drill, per region.
    per_second: Mutex<Vec<Vec<u64>>>,
}

impl Ledger {
    fn record(&self, key: &str, region: usize, effect: Effect, outcome: Outcome, second: usize, regions: usize) {
        let counter = match outcome {
            Outcome::Acked => &self.acked,
            Outcome::Rejected => &self.rejected,
            Outcome::NotSent => &self.not_sent,
            Outcome::Uncertain => &self.uncertain,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let record = keys.entry((key.to_string(), region)).or_default();
        match outcome {
            Outcome::Acked => {
                record.last_acked = Some((effect, Instant::now()));
                record.uncertain.clear();
                drop(keys);
                let mut per_second = self.per_second.lock().unwrap_or_else(|e| e.into_inner());
                if per_second.len() <= second {
                    per_second.resize(second + 1, vec![0; regions]);
                }
                per_second[second][region] += 1;
            }
            Outcome::Uncertain => record.uncertain.push(effect),
            Outcome::Rejected | Outcome::NotSent => {}
        }
    }

    /// A copy of every record.
    pub fn records(&self) -> HashMap<(String, usize), KeyRecord> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Acknowledged writes per second, per region.
    pub fn per_second(&self) -> Vec<Vec<u64>> {
        self.per_second.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// How a write ended, from the client's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// 200: committed in the region.
    Acked,
    /// 400 (a failed condition): not applied.
    Rejected,
    /// The region could not be reached: not applied.
    NotSent,
    /// Sent, but no answer: may or may not be committed.
    Uncertain,
}

#[derive(Clone, Copy)]
enum Kind {
    Put,
    Update,
    Delete,
    Conditional,
}

/// A small xorshift generator; the workload needs spread, not secrecy.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Starts every client; they run until `stop` turns true.
pub fn spawn_clients(
    workload: &Workload,
    regions: &[(String, Arc<ApiClient>)],
    ledger: Arc<Ledger>,
    started: Instant,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinSet<()> {
    let mut clients = tokio::task::JoinSet::new();
    let per_region = workload.clients_per_region;
    let interval = Duration::from_secs_f64((regions.len() * per_region) as f64 / workload.rate);
    for (region, (name, api)) in regions.iter().enumerate() {
        for client in 0..per_region {
            let spec = ClientSpec {
                workload: workload.clone(),
                region,
                regions: regions.len(),
                name: name.clone(),
                api: api.clone(),
                client,
                interval,
            };
            let (ledger, stop) = (ledger.clone(), stop.clone());
            clients.spawn(run_client(spec, ledger, started, stop));
        }
    }
    clients
}

struct ClientSpec {
    workload: Workload,
    region: usize,
    regions: usize,
    name: String,
    api: Arc<ApiClient>,
    client: usize,
    interval: Duration,
}

async fn run_client(spec: ClientSpec, ledger: Arc<Ledger>, started: Instant, mut stop: watch::Receiver<bool>) {
    let w = &spec.workload;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ (((spec.region as u64) << 32) | (spec.client as u64 + 1)));
    let mut ticks = tokio::time::interval(spec.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let total = w.puts + w.updates + w.deletes + w.conditional;
    let owned = (w.keys / spec.workload.clients_per_region as u64).max(1);
    let mut connection: Option<http::Sender> = None;
    let api = spec.api.clone();
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        n += 1;
        let slot = (rng.next() * owned as f64) as u64 * spec.workload.clients_per_region as u64 + spec.client as u64;
        let key = if rng.next() < w.conflict_ratio {
            format!("s-{slot}")
        } else {
            format!("p-{}-{slot}", spec.name)
        };
        let pick = rng.next() * total;
        let kind = if pick < w.puts {
            Kind::Put
        } else if pick < w.puts + w.updates {
            Kind::Update
        } else if pick < w.puts + w.updates + w.deletes {
            Kind::Delete
        } else {
            Kind::Conditional
        };
        // v grows per client; a key has one client per region, so v grows per (key, region).
        let v = n;
        let id = format!("{}:{}:{n}", spec.name, spec.client);
        let (operation, body, effect) = request_for(kind, &key, &id, v, &spec.name);
        let outcome = write(&mut connection, &api, operation, &body).await;
        let second = started.elapsed().as_secs() as usize;
        ledger.record(&key, spec.region, effect, outcome, second, spec.regions);
    }
}

fn request_for(kind: Kind, key: &str, id: &str, v: u64, origin: &str) -> (&'static str, Value, Effect) {
    let pk = json!({ "pk": { "S": key } });
    let item = Effect::Item { w: id.to_string(), v };
    let update = |condition: Option<&str>| {
        let mut body = json!({
            "TableName": TABLE, "Key": pk,
            "UpdateExpression": "SET w = :w, v = :v, origin = :o, hits = if_not_exists(hits, :zero) + :one",
            "ExpressionAttributeValues": {
                ":w": { "S": id }, ":v": { "N": v.to_string() }, ":o": { "S": origin },
                ":zero": { "N": "0" }, ":one": { "N": "1" },
            },
        });
        if let Some(condition) = condition {
            body["ConditionExpression"] = json!(condition);
        }
        body
    };
    match kind {
        Kind::Put => {
            let body = json!({ "TableName": TABLE, "Item": {
                "pk": { "S": key }, "w": { "S": id }, "v": { "N": v.to_string() }, "origin": { "S": origin },
            }});
            ("PutItem", body, item)
        }
        Kind::Update => ("UpdateItem", update(None), item),
        Kind::Conditional => ("UpdateItem", update(Some("attribute_exists(pk)")), item),
        Kind::Delete => (
            "DeleteItem",
            json!({ "TableName": TABLE, "Key": pk }),
            Effect::Deleted { v },
        ),
    }
}

/// Sends one write, reusing the connection while it works.
async fn write(connection: &mut Option<http::Sender>, api: &ApiClient, operation: &str, body: &Value) -> Outcome {
    if connection.as_ref().is_none_or(|c| c.is_closed()) {
        *connection = match tokio::time::timeout(CONNECT_TIMEOUT, api.connect()).await {
            Ok(Ok(sender)) => Some(sender),
            _ => return Outcome::NotSent,
        };
    }
    let Some(sender) = connection.as_mut() else {
        return Outcome::NotSent;
    };
    let sent = tokio::time::timeout(WRITE_TIMEOUT, api.send_on(sender, operation, body)).await;
    match sent {
        Ok(Ok((200, _))) => Outcome::Acked,
        Ok(Ok((400, _))) => Outcome::Rejected,
        _ => {
            *connection = None;
            Outcome::Uncertain
        }
    }
}
