//! Commands that act on a running cluster: `meridian link` (simulated link
//! conditions, through each region's `/admin/links`), `meridian clock skew`
//! (through `/admin/clock`), `meridian region` (through `meridian up`'s
//! control endpoint) and `meridian status` (every region's `/status`). They
//! find the cluster from any directory (see `locate.rs`).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::common::runtime;
use super::http::{Access, get_json, post_json};
use super::locate::{access, cluster_topology, control_address, explain_unreachable_at};
use super::supervisor::RegionAction;
use crate::config::Topology;

/// Where the cluster is: its topology file, and the node config naming
/// its admin token.
#[derive(Debug, Args)]
pub struct TopologyArg {
    /// Topology file of the running cluster (default: that of the running
    /// `meridian up`, else regions/local.toml here, else the built-in one).
    #[arg(long, global = true)]
    pub topology: Option<PathBuf>,
    /// Node config file of the running cluster, whose admin.token_file is
    /// sent to the regions' admin surface (default: the running `meridian
    /// up`'s; the MERIDIAN_ADMIN_TOKEN variable, when set, is sent instead).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

/// The cluster a command acts on, and how it reaches the regions (admin
/// token, HTTPS).
struct Target {
    topology: Topology,
    access: Access,
}

impl TopologyArg {
    fn target(&self) -> anyhow::Result<Target> {
        Ok(Target {
            topology: cluster_topology(self.topology.as_deref())?,
            access: access(self.config.as_deref())?,
        })
    }
}

/// Arguments of `meridian link`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    #[command(subcommand)]
    pub command: LinkCommand,
    #[command(flatten)]
    pub cluster: TopologyArg,
}

/// `meridian link` subcommands.
#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Show every link's simulated conditions.
    Show,
    /// Change the conditions of the link FROM -> TO (unset options keep their value).
    Set(LinkSetArgs),
    /// Cut REGION off from PEER (or from every other region), both directions.
    Partition(PairArgs),
    /// Reconnect REGION and PEER (or REGION and every other region; or, with no
    /// REGION, every link), both directions.
    Heal(HealArgs),
}

/// Arguments of `meridian link set`.
#[derive(Debug, Args)]
pub struct LinkSetArgs {
    pub from: String,
    pub to: String,
    /// One-way delay, milliseconds.
    #[arg(long)]
    pub delay_ms: Option<u64>,
    /// Delay variation, +/- milliseconds.
    #[arg(long)]
    pub jitter_ms: Option<u64>,
    /// Batch loss probability (0 to 0.95); lost batches are sent again later.
    #[arg(long)]
    pub loss: Option<f64>,
    /// Bandwidth cap in kbit/s (0: none).
    #[arg(long)]
    pub bandwidth_kbps: Option<u64>,
    /// Reset every condition to its default before applying the others.
    #[arg(long)]
    pub reset: bool,
    /// Apply to TO -> FROM as well.
    #[arg(long)]
    pub both: bool,
}

/// A region and optionally one peer.
#[derive(Debug, Args)]
pub struct PairArgs {
    pub region: String,
    pub peer: Option<String>,
}

/// Arguments of `meridian link heal`.
#[derive(Debug, Args)]
pub struct HealArgs {
    pub region: Option<String>,
    pub peer: Option<String>,
}

/// Arguments of `meridian region`.
#[derive(Debug, Args)]
pub struct RegionArgs {
    /// stop (SIGTERM), kill (SIGKILL), start (or resume), pause (SIGSTOP),
    /// wipe (SIGKILL and delete its data: a lost disk).
    pub action: RegionAction,
    /// Region name.
    pub region: String,
    /// The data directory `meridian up` runs with (default: the running
    /// `up`'s, else ./data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Arguments of `meridian status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cluster: TopologyArg,
}

/// Arguments of `meridian clock`.
#[derive(Debug, Args)]
pub struct ClockArgs {
    #[command(subcommand)]
    pub command: ClockCommand,
    #[command(flatten)]
    pub cluster: TopologyArg,
}

/// `meridian clock` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Set REGION's simulated wall-clock offset to MS milliseconds (negative: behind).
    Skew {
        region: String,
        #[arg(allow_negative_numbers = true)]
        ms: i64,
    },
}

/// Directed pairs (from, to) between `region` and `peer`, or between
/// `region` and every other region, or every pair.
pub fn pairs(topology: &Topology, region: Option<&str>, peer: Option<&str>) -> anyhow::Result<Vec<(String, String)>> {
    for name in region.iter().chain(peer.iter()) {
        topology.region(name)?;
    }
    let names: Vec<&str> = topology.region.iter().map(|r| r.name.as_str()).collect();
    let mut out = Vec::new();
    for &a in &names {
        for &b in &names {
            let joins = match (region, peer) {
                (Some(r), Some(p)) => (a == r && b == p) || (a == p && b == r),
                (Some(r), None) => a == r || b == r,
                (None, _) => true,
            };
            if a != b && joins {
                out.push((a.to_string(), b.to_string()));
            }
        }
    }
    Ok(out)
}

/// Applies `patch` to the link from -> to of a running cluster, reached
/// as `access` says.
pub async fn patch_link(
    topology: &Topology,
    access: &Access,
    from: &str,
    to: &str,
    patch: &Value,
) -> anyhow::Result<Value> {
    let mut patch = patch.clone();
    patch["to"] = json!(to);
    let api = topology.region(from)?.api.to_string();
    let answer = post_json(&api, "/admin/links", &patch, access)
        .await
        .map_err(|e| explain_unreachable_at(e, from, access.scheme(), &api))?;
    Ok(answer["link"].clone())
}

/// Runs `meridian link`.
pub fn run_link(args: LinkArgs) -> anyhow::Result<()> {
    let Target { topology, access } = args.cluster.target()?;
    let access = &access;
    runtime()?.block_on(async move {
        let (pairs, patch) = match &args.command {
            LinkCommand::Show => return show_links(&topology, access).await,
            LinkCommand::Set(set) => {
                let mut pairs = vec![(set.from.clone(), set.to.clone())];
                if set.both {
                    pairs.push((set.to.clone(), set.from.clone()));
                }
                let patch = json!({
                    "delay_ms": set.delay_ms, "jitter_ms": set.jitter_ms, "loss": set.loss,
                    "bandwidth_kbps": set.bandwidth_kbps, "reset": set.reset,
                });
                (pairs, patch)
            }
            LinkCommand::Partition(pair) => (
                pairs(&topology, Some(&pair.region), pair.peer.as_deref())?,
                json!({ "partitioned": true }),
            ),
            LinkCommand::Heal(heal) => (
                pairs(&topology, heal.region.as_deref(), heal.peer.as_deref())?,
                json!({ "partitioned": false }),
            ),
        };
        for (from, to) in pairs {
            let link = patch_link(&topology, access, &from, &to, &patch).await?;
            println!("{from} -> {to}: {}", describe(&link));
        }
        anyhow::Ok(())
    })
}

async fn show_links(topology: &Topology, access: &Access) -> anyhow::Result<()> {
    println!(
        "{:<16} {:<16} {:>9} {:>9} {:>6} {:>10} {:>12}",
        "from", "to", "delay ms", "jitter ms", "loss", "kbit/s", "state"
    );
    for region in &topology.region {
        let links = match get_json(&region.api.to_string(), "/admin/links", access).await {
            Ok(answer) => answer["links"].clone(),
            Err(error) => {
                println!("{:<16} (unreachable: {error})", region.name);
                continue;
            }
        };
        let Some(links) = links.as_object() else { continue };
        for (to, link) in links {
            let bandwidth = match link["bandwidth_kbps"].as_u64() {
                Some(0) | None => "-".to_string(),
                Some(kbps) => kbps.to_string(),
            };
            let state = if link["partitioned"] == json!(true) {
                "PARTITIONED"
            } else {
                "up"
            };
            println!(
                "{:<16} {:<16} {:>9} {:>9} {:>6} {:>10} {:>12}",
                region.name,
                to,
                link["delay_ms"].to_string(),
                link["jitter_ms"].to_string(),
                link["loss"].to_string(),
                bandwidth,
                state
            );
        }
    }
    Ok(())
}

fn describe(link: &Value) -> String {
    format!(
        "delay {} ms, jitter {} ms, loss {}, bandwidth {} kbit/s, {}",
        link["delay_ms"],
        link["jitter_ms"],
        link["loss"],
        link["bandwidth_kbps"],
        if link["partitioned"] == json!(true) {
            "partitioned"
        } else {
            "connected"
        }
    )
}

/// Runs `meridian clock skew`.
pub fn run_clock(args: ClockArgs) -> anyhow::Result<()> {
    let Target { topology, access } = args.cluster.target()?;
    let ClockCommand::Skew { region, ms } = args.command;
    let api = topology.region(&region)?.api.to_string();
    runtime()?.block_on(async move {
        post_json(&api, "/admin/clock", &json!({ "offset_ms": ms }), &access)
            .await
            .map_err(|e| explain_unreachable_at(e, &region, access.scheme(), &api))?;
        println!("{region}: wall clock offset now {ms} ms");
        anyhow::Ok(())
    })
}

/// Runs `meridian region`.
pub fn run_region(args: RegionArgs) -> anyhow::Result<()> {
    let addr = control_address(args.data_dir.as_deref())?;
    let action = format!("{:?}", args.action).to_lowercase();
    let path = format!("/regions/{}/{action}", args.region);
    runtime()?.block_on(async move {
        // Stopping a region can take up to the supervisor's stop timeout.
        let (status, answer) = super::http::request(&addr, "POST", &path, &[], None)
            .await
            .map_err(|e| {
                e.context(format!(
                    "`meridian up` does not answer at {addr}; {}",
                    super::locate::START_HINT
                ))
            })?;
        match answer["message"].as_str() {
            Some(message) if status == 200 => println!("{message}"),
            _ => anyhow::bail!("{}", answer["error"].as_str().unwrap_or("the supervisor refused")),
        }
        anyhow::Ok(())
    })
}

/// Runs `meridian status`: one block per region of the running cluster,
/// from its `/status`.
pub fn run_status(args: StatusArgs) -> anyhow::Result<()> {
    let Target { topology, access } = args.cluster.target()?;
    runtime()?.block_on(async move {
        let mut reachable = 0;
        for region in &topology.region {
            let api = format!("{}://{}", access.scheme(), region.api);
            match get_json(&region.api.to_string(), "/status", &access).await {
                Ok(status) => {
                    reachable += 1;
                    super::common::say(format_args!("{}", summarize_status(&region.name, &api, &status)));
                }
                Err(error) => super::common::say(format_args!("{}  {api}  DOWN ({})", region.name, error.root_cause())),
            }
        }
        anyhow::ensure!(
            reachable > 0,
            "no region of the cluster answers; {}",
            super::locate::START_HINT
        );
        anyhow::Ok(())
    })
}

/// A few lines on one region's `/status`: its log position and write
/// queue, then per peer whether it receives, what it applied, its lag and
/// clock alarms.
fn summarize_status(name: &str, api: &str, status: &Value) -> String {
    let mut out = format!(
        "{name}  {api}  up, {} changes logged, {} writes queued, clock offset {} ms",
        status["last_change_seq"], status["write_queue"], status["clock_offset_ms"]
    );
    for peer in status["peers"].as_array().into_iter().flatten() {
        let receiving = if peer["receiving"] == json!(true) {
            "receiving"
        } else {
            "NOT receiving"
        };
        out.push_str(&format!(
            "\n  from {:<16} {receiving}, applied {}, acked {} of ours, lag p50 {:.1} ms p99 {:.1} ms, {} conflicts, {} clock alarms",
            peer["peer"].as_str().unwrap_or("?"),
            peer["applied"],
            peer["acked_seq"],
            peer["lag_p50_ms"].as_f64().unwrap_or(0.0),
            peer["lag_p99_ms"].as_f64().unwrap_or(0.0),
            peer["conflicts"],
            peer["clock_alarms"],
        ));
    }
    out
}

/// The gate of `meridian up`'s control endpoint. It is bound to loopback,
/// so every peer is local; what is left to refuse is a web page driving it
/// through the user's browser: a `Host` that is not an address or
/// `localhost` (DNS rebinding) or a foreign `Origin` (a cross-site POST)
/// gets a 403 (see [`AdminGate`](crate::auth::admin::AdminGate)).
pub async fn guard_control(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    match crate::auth::admin::AdminGate::loopback().check(None, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::warn!(path = %request.uri().path(), %reason, "control request refused");
            let body = axum::Json(json!({ "error": reason }));
            (axum::http::StatusCode::FORBIDDEN, body).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The status line of a POST with `headers` to a control endpoint
    /// guarded by `guard_control` that answers 200 to what passes.
    async fn post_status(headers: &str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/regions/{name}/{action}", axum::routing::post(|| async { "done" }))
            .layer(axum::middleware::from_fn(super::guard_control));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let headers = headers.replace("ADDR", &addr.to_string());
        let request =
            format!("POST /regions/r/stop HTTP/1.1\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        server.abort();
        response.lines().next().unwrap_or("").to_string()
    }

    #[tokio::test]
    async fn the_control_endpoint_refuses_what_a_web_page_could_send() {
        assert!(post_status("Host: ADDR\r\n").await.contains(" 200 "));
        assert!(post_status("Host: localhost\r\n").await.contains(" 200 "));
        assert!(post_status("Host: rebound.example\r\n").await.contains(" 403 "));
        let cross = "Host: ADDR\r\nOrigin: https://attacker.example\r\n";
        assert!(post_status(cross).await.contains(" 403 "));
    }
}
