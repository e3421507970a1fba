//! The drill's timed events, and what is measured around them: after a
//! heal or a restart, how long until every region holds a marker written
//! everywhere at that moment (replication ships in log order, so a marker
//! arriving means everything written before it arrived too); at a kill,
//! which acknowledged writes only the dead region held.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::check::{self, Exposure};
use super::cluster::DrillCluster;
use super::script::{Action, Event, Script};
use super::workload::{Ledger, TABLE};
use crate::cli::control::{pairs, patch_link};
use crate::cli::http;
use crate::cli::supervisor::RegionAction;

/// What happened at one event.
#[derive(Debug, Serialize)]
pub struct EventRecord {
    /// Seconds after the workload started, when it was applied.
    pub at_s: f64,
    pub action: Action,
    pub label: String,
    /// What the cluster answered, or the error.
    pub result: String,
    /// After heal/start: milliseconds until every region held every marker.
    pub convergence_ms: Option<u64>,
    /// After kill: the acknowledged writes only the dead region held.
    pub exposure: Option<Exposure>,
}

/// The running event script.
pub struct Journal {
    task: JoinHandle<Vec<EventRecord>>,
}

impl Journal {
    /// Waits for the events and their measurements (at most `settle` after now).
    pub async fn finish(self, settle: Duration) -> Vec<EventRecord> {
        match tokio::time::timeout(settle + Duration::from_secs(5), self.task).await {
            Ok(Ok(records)) => records,
            _ => Vec::new(),
        }
    }
}

/// Starts applying `script`'s events at their times.
pub async fn run(script: &Script, cluster: Arc<DrillCluster>, ledger: Arc<Ledger>, started: Instant) -> Journal {
    let mut events = script.event.clone();
    events.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    let settle = Duration::from_secs_f64(script.settle_s + script.duration_s);
    let task = tokio::spawn(async move {
        let mut records = Vec::new();
        let mut measuring: Vec<(usize, JoinHandle<Option<u64>>)> = Vec::new();
        let mut exposures: Vec<(usize, JoinHandle<Exposure>)> = Vec::new();
        for (n, event) in events.iter().enumerate() {
            tokio::time::sleep_until((started + Duration::from_secs_f64(event.at_s)).into()).await;
            let at = Instant::now();
            let result = apply(&cluster, event).await;
            let label = label(event);
            tracing::info!(%label, ?result, "drill event");
            records.push(EventRecord {
                at_s: started.elapsed().as_secs_f64(),
                action: event.action,
                label,
                result: result.unwrap_or_else(|e| format!("error: {e}")),
                convergence_ms: None,
                exposure: None,
            });
            let index = records.len() - 1;
            match event.action {
                Action::Heal | Action::Start => {
                    let cluster = cluster.clone();
                    measuring.push((index, tokio::spawn(measure_convergence(cluster, n, at, settle))));
                }
                Action::Kill => {
                    let (cluster, ledger) = (cluster.clone(), ledger.clone());
                    let dead = event.region.clone().unwrap_or_default();
                    exposures.push((index, tokio::spawn(measure_exposure(cluster, ledger, dead, at))));
                }
                _ => {}
            }
        }
        for (index, task) in measuring {
            records[index].convergence_ms = task.await.ok().flatten();
        }
        for (index, task) in exposures {
            records[index].exposure = task.await.ok();
        }
        records
    });
    Journal { task }
}

fn label(event: &Event) -> String {
    let region = event.region.as_deref().unwrap_or("all");
    let action = format!("{:?}", event.action).to_lowercase();
    match (event.action, &event.peer) {
        (Action::Skew, _) => format!("skew {region} {:+} ms", event.ms),
        (Action::Link, Some(peer)) => format!("link {region}->{peer}"),
        (_, Some(peer)) => format!("{action} {region}<->{peer}"),
        _ => format!("{action} {region}"),
    }
}

async fn apply(cluster: &DrillCluster, event: &Event) -> anyhow::Result<String> {
    let region = event.region.as_deref().unwrap_or_default();
    let command = |action| async move { cluster.control().command(region, action).await };
    match event.action {
        Action::Kill => command(RegionAction::Kill).await,
        Action::Stop => command(RegionAction::Stop).await,
        Action::Start => command(RegionAction::Start).await,
        Action::Pause => command(RegionAction::Pause).await,
        Action::Partition | Action::Heal => {
            let partitioned = event.action == Action::Partition;
            let pairs = pairs(&cluster.topology, event.region.as_deref(), event.peer.as_deref())?;
            let mut failed = Vec::new();
            for (from, to) in &pairs {
                if let Err(error) = patch_link(
                    &cluster.topology,
                    &cluster.access,
                    from,
                    to,
                    &json!({ "partitioned": partitioned }),
                )
                .await
                {
                    failed.push(format!("{from}->{to}: {error}"));
                }
            }
            anyhow::ensure!(failed.is_empty(), "{}", failed.join("; "));
            Ok(format!(
                "{} links {}",
                pairs.len(),
                if partitioned { "cut" } else { "healed" }
            ))
        }
        Action::Skew => {
            let addr = cluster.topology.region(region)?.api.to_string();
            http::post_json(
                &addr,
                "/admin/clock",
                &json!({ "offset_ms": event.ms }),
                &cluster.access,
            )
            .await?;
            Ok(format!("{region} clock offset {} ms", event.ms))
        }
        Action::Link => {
            let peer = event.peer.as_deref().unwrap_or_default();
            let patch = json!({
                "delay_ms": event.delay_ms, "jitter_ms": event.jitter_ms,
                "loss": event.loss, "bandwidth_kbps": event.bandwidth_kbps,
            });
            let link = patch_link(&cluster.topology, &cluster.access, region, peer, &patch).await?;
            Ok(format!("{region}->{peer}: {link}"))
        }
    }
}

/// Writes a marker into every region once all answer, then waits until
/// every region holds every marker; milliseconds since `at`.
async fn measure_convergence(cluster: Arc<DrillCluster>, event: usize, at: Instant, limit: Duration) -> Option<u64> {
    let deadline = at + limit;
    let addrs = cluster.addrs();
    for i in 0..addrs.len() {
        if !cluster
            .wait_up(i, deadline.saturating_duration_since(Instant::now()))
            .await
        {
            return None;
        }
    }
    let names = cluster.names();
    let mut markers = Vec::new();
    for (api, name) in cluster.apis.iter().zip(&names) {
        let key = format!("m-{event}-{name}");
        let put = json!({ "TableName": TABLE, "Item": { "pk": { "S": key } } });
        loop {
            if matches!(api.request("PutItem", &put).await, Ok((200, _))) {
                break;
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        markers.push(key);
    }
    for api in &cluster.apis {
        for key in &markers {
            let get = json!({ "TableName": TABLE, "Key": { "pk": { "S": key } }, "ConsistentRead": true });
            loop {
                let found = api.request("GetItem", &get).await;
                if matches!(&found, Ok((200, body)) if body.get("Item").is_some_and(|i| !i.is_null())) {
                    break;
                }
                if Instant::now() > deadline {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Some(at.elapsed().as_millis() as u64)
}

/// Which of the dead region's acknowledged writes no survivor held, once
/// what was already on the wire has had a moment to land.
async fn measure_exposure(cluster: Arc<DrillCluster>, ledger: Arc<Ledger>, dead: String, died: Instant) -> Exposure {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Ok(dead_index) = cluster.index(&dead) else {
        return Exposure::default();
    };
    let survivors: Vec<_> = cluster
        .apis
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != dead_index)
        .map(|(_, api)| api.clone())
        .collect();
    check::exposure(&dead, dead_index, died, &ledger.records(), &survivors).await
}

/// The JSON form of the events, for the report.
pub fn to_json(records: &[EventRecord]) -> Value {
    serde_json::to_value(records).unwrap_or(Value::Null)
}
