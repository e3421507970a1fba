//! What a drill tells a person: a progress line while it runs, then a
//! summary on the terminal, a JSON report and an SVG timeline.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::watch;

use super::check::Verdict;
use super::cluster::DrillCluster;
use super::events::{self, EventRecord};
use super::script::Script;
use super::svg::{self, Series, Timeline};
use super::workload::Ledger;
use crate::cli::http::{self, Access};
use crate::cli::progress::Progress;

/// How often lag is sampled.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// How long a region may take to answer a poll (a paused one never does).
const POLL_TIMEOUT: Duration = Duration::from_millis(800);

/// One lag sample of a link: (seconds, "from -> to", p99 ms over the last second).
pub type LagSample = (f64, String, f64);

/// Samples every region's per-peer lag until `stopping`, then a little
/// longer so the catch-up after the workload shows.
/// `access` says how the regions' `/status` is reached.
pub async fn poll_lag(
    addrs: Vec<String>,
    access: Access,
    started: Instant,
    mut stopping: watch::Receiver<bool>,
) -> Vec<LagSample> {
    let mut samples = Vec::new();
    let mut ticks = tokio::time::interval(POLL_EVERY);
    let mut stop_at: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopping.wait_for(|s| *s), if stop_at.is_none() => {
                stop_at = Some(Instant::now() + Duration::from_secs(3));
                continue;
            }
        }
        if stop_at.is_some_and(|at| Instant::now() > at) {
            return samples;
        }
        let t = started.elapsed().as_secs_f64();
        for addr in &addrs {
            let Ok(Ok(status)) = tokio::time::timeout(POLL_TIMEOUT, http::get_json(addr, "/status", &access)).await
            else {
                continue;
            };
            let region = status["region"].as_str().unwrap_or("?").to_string();
            for peer in status["peers"].as_array().into_iter().flatten() {
                if peer["lag_recent_samples"].as_u64().unwrap_or(0) == 0 {
                    continue;
                }
                let link = format!("{} -> {region}", peer["peer"].as_str().unwrap_or("?"));
                samples.push((t, link, peer["lag_recent_p99_ms"].as_f64().unwrap_or(0.0)));
            }
        }
    }
}

/// Prints a progress line on stderr until `stopping`.
pub async fn progress(seconds: f64, ledger: Arc<Ledger>, started: Instant, mut stopping: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(Duration::from_millis(500));
    let mut bar = Progress::timed("  workload", Duration::from_secs_f64(seconds));
    let counts = || {
        format!(
            "acked {}, rejected {}, unreachable {}, unknown {}",
            ledger.acked.load(Ordering::Relaxed),
            ledger.rejected.load(Ordering::Relaxed),
            ledger.not_sent.load(Ordering::Relaxed),
            ledger.uncertain.load(Ordering::Relaxed),
        )
    };
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopping.wait_for(|s| *s) => break,
        }
        bar.set_detail(counts());
        bar.set(started.elapsed().as_secs_f64().min(seconds) as u64);
    }
    bar.finish(format_args!("  workload: {}", counts()));
}

/// Each region's final `/status`, by region name.
pub async fn final_status(cluster: &DrillCluster) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (name, addr) in cluster.names().into_iter().zip(cluster.addrs()) {
        let status = http::get_json(&addr, "/status", &cluster.access)
            .await
            .unwrap_or(Value::Null);
        out.insert(name, status);
    }
    out
}

/// Everything a drill produced.
pub struct Outcome<'a> {
    pub script: &'a Script,
    pub file: &'a Path,
    /// The factor the drill's times were multiplied by (`--time-scale`).
    pub time_scale: f64,
    pub workload_s: f64,
    pub total_s: f64,
    pub settled_in: Duration,
    pub ledger: &'a Ledger,
    /// Items in the converged table, or each region's item count at the deadline.
    pub converged: Result<usize, Vec<usize>>,
    pub verdict: Verdict,
    pub journal: Vec<EventRecord>,
    pub lag_timeline: Vec<LagSample>,
    pub finals: BTreeMap<String, Value>,
    pub names: Vec<String>,
}

/// Writes the JSON report and the SVG, prints the summary; returns the
/// report (its `passed` says whether the drill passed).
pub fn write(outcome: &Outcome, out: &Path) -> anyhow::Result<Value> {
    std::fs::create_dir_all(out)?;
    let script = outcome.script;
    let passed = outcome.converged.is_ok() && outcome.verdict.lost == 0;
    let mut conflicts = BTreeMap::new();
    let mut clock_alarms = BTreeMap::new();
    let mut links = BTreeMap::new();
    for (region, status) in &outcome.finals {
        let peers = status["peers"].as_array().cloned().unwrap_or_default();
        let sum = |field: &str| peers.iter().map(|p| p[field].as_u64().unwrap_or(0)).sum::<u64>();
        conflicts.insert(region.clone(), sum("conflicts"));
        clock_alarms.insert(region.clone(), sum("clock_alarms"));
        for peer in &peers {
            let link = format!("{} -> {region}", peer["peer"].as_str().unwrap_or("?"));
            let worst = outcome
                .lag_timeline
                .iter()
                .filter(|(_, l, _)| *l == link)
                .map(|(_, _, v)| *v)
                .fold(0.0, f64::max);
            links.insert(
                link,
                json!({
                    "p50_ms": peer["lag_p50_ms"], "p99_ms": peer["lag_p99_ms"],
                    "worst_1s_p99_ms": worst, "applied": peer["applied"],
                }),
            );
        }
    }
    let per_second = outcome.ledger.per_second();
    let writes_per_second: BTreeMap<&String, Vec<u64>> = outcome
        .names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                name,
                per_second.iter().map(|s| s.get(i).copied().unwrap_or(0)).collect(),
            )
        })
        .collect();
    let ledger = outcome.ledger;
    let report = json!({
        "drill": script.name,
        "description": script.description.trim(),
        "file": outcome.file.display().to_string(),
        "time_scale": outcome.time_scale,
        "finished_at_ms": finished_at_ms(),
        "passed": passed,
        "regions": outcome.names,
        "workload_seconds": outcome.workload_s,
        "total_seconds": outcome.total_s,
        "writes": {
            "acknowledged": ledger.acked.load(Ordering::Relaxed),
            "rejected_by_condition": ledger.rejected.load(Ordering::Relaxed),
            "region_unreachable": ledger.not_sent.load(Ordering::Relaxed),
            "outcome_unknown": ledger.uncertain.load(Ordering::Relaxed),
        },
        "acknowledged_writes_lost": outcome.verdict.lost,
        "lost_examples": outcome.verdict.examples,
        "keys_checked": outcome.verdict.keys,
        "keys_won_by_unknown_outcome_write": outcome.verdict.won_by_uncertain,
        "converged": outcome.converged.is_ok(),
        "final_items": outcome.converged.as_ref().ok(),
        "item_counts_if_diverged": outcome.converged.as_ref().err(),
        "convergence_after_workload_ms": outcome.settled_in.as_millis() as u64,
        "events": events::to_json(&outcome.journal),
        "conflicts_by_region": conflicts,
        "clock_alarms_by_region": clock_alarms,
        "lag_by_link": links,
        "lag_timeline": outcome.lag_timeline.iter().map(|(t, l, v)| json!({"t": t, "link": l, "p99_ms": v})).collect::<Vec<_>>(),
        "writes_per_second": writes_per_second,
    });
    let json_path = out.join(format!("{}.json", script.name));
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)?;
    let svg_path = out.join(format!("{}.svg", script.name));
    std::fs::write(&svg_path, timeline(outcome, &writes_per_second))?;
    print_summary(outcome, &report, passed, &json_path, &svg_path);
    Ok(report)
}

/// Now, in milliseconds since the epoch (when the report was written).
fn finished_at_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as u64)
}

fn timeline(outcome: &Outcome, writes: &BTreeMap<&String, Vec<u64>>) -> String {
    let mut lags: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for (t, link, v) in &outcome.lag_timeline {
        lags.entry(link).or_default().push((*t, *v));
    }
    let title = format!("meridian drill {}", outcome.script.name);
    let timeline = Timeline {
        title: &title,
        seconds: outcome
            .lag_timeline
            .last()
            .map_or(outcome.workload_s, |l| l.0.max(outcome.workload_s)),
        writes: writes
            .iter()
            .map(|(name, counts)| Series {
                name: name.to_string(),
                points: counts
                    .iter()
                    .enumerate()
                    .map(|(s, c)| (s as f64 + 0.5, *c as f64))
                    .collect(),
            })
            .collect(),
        lags: lags
            .into_iter()
            .map(|(name, points)| Series {
                name: name.to_string(),
                points,
            })
            .collect(),
        events: outcome.journal.iter().map(|e| (e.at_s, e.label.clone())).collect(),
    };
    svg::render(&timeline)
}

fn print_summary(outcome: &Outcome, report: &Value, passed: bool, json: &Path, svg: &Path) {
    let verdict = if passed { "PASSED" } else { "FAILED" };
    println!("\n== drill {}: {verdict} ==", outcome.script.name);
    println!(
        "took {:.1} s ({:.1} s of workload)",
        outcome.total_s, outcome.workload_s
    );
    let writes = &report["writes"];
    println!(
        "writes: {} acknowledged, {} rejected by their condition, {} with the region unreachable, {} outcome unknown",
        writes["acknowledged"],
        writes["rejected_by_condition"],
        writes["region_unreachable"],
        writes["outcome_unknown"]
    );
    println!("acknowledged writes lost: {}", outcome.verdict.lost);
    for example in &outcome.verdict.examples {
        println!("  {example}");
    }
    match &outcome.converged {
        Ok(items) => println!(
            "converged: yes, {items} items identical in every region, {} ms after the workload stopped",
            outcome.settled_in.as_millis()
        ),
        Err(counts) => println!("converged: NO (item counts {counts:?})"),
    }
    for event in &outcome.journal {
        let mut line = format!("  {:6.1} s  {:<32} {}", event.at_s, event.label, event.result);
        if let Some(ms) = event.convergence_ms {
            line.push_str(&format!("; converged {ms} ms later"));
        }
        if let Some(exposure) = &event.exposure {
            line.push_str(&format!(
                "; exposed: {} acknowledged writes only it held (RPO {} ms)",
                exposure.writes, exposure.rpo_ms
            ));
        }
        println!("{line}");
    }
    println!("conflicts recorded by region: {}", report["conflicts_by_region"]);
    println!(
        "clock alarms by region (peer beyond the maximum offset): {}",
        report["clock_alarms_by_region"]
    );
    println!("{:<34} {:>9} {:>9} {:>14}", "link", "p50 ms", "p99 ms", "worst 1s p99");
    if let Some(links) = report["lag_by_link"].as_object() {
        for (link, lag) in links {
            println!(
                "{link:<34} {:>9.1} {:>9.1} {:>14.1}",
                lag["p50_ms"].as_f64().unwrap_or(0.0),
                lag["p99_ms"].as_f64().unwrap_or(0.0),
                lag["worst_1s_p99_ms"].as_f64().unwrap_or(0.0)
            );
        }
    }
    println!("report: {}\ntimeline: {}", json.display(), svg.display());
}
