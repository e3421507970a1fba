//! The load generator of `meridian bench`: keep-alive HTTP/1 connections
//! sending DynamoDB requests one at a time, flat out or paced, recording
//! each request's latency and the CPU the process used meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::report::{Measurement, summarise};
use crate::cli::progress::Progress;
use crate::cli::signer::Signer;

/// Rounds the HTTP measurements are interleaved in, at least. This
/// machine's speed drifts from one second to the next (seen here: the no-op
/// rate of back to back runs between 30,000 and 57,000/s), so no-op, PutItem,
/// GetItem and Query take turns in each round and the rounds are pooled: the
/// ratios compare them under the same conditions.
pub const ROUNDS: u32 = 3;

/// Sends one DynamoDB request and fails unless it succeeds.
pub async fn one_request(addr: &str, op: &'static str, body: String) -> anyhow::Result<()> {
    one_signed_request(addr, op, body, None).await
}

/// `one_request`, signed by `signer` when given.
pub async fn one_signed_request(
    addr: &str,
    op: &'static str,
    body: String,
    signer: Option<&Signer>,
) -> anyhow::Result<()> {
    let (mut sender, conn) = connect(addr).await?;
    tokio::spawn(conn);
    let status = send(&mut sender, addr, op, body, signer).await?;
    anyhow::ensure!(status.is_success(), "{op} failed with {status}");
    Ok(())
}

pub(super) type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

pub(super) async fn connect(
    addr: &str,
) -> anyhow::Result<(
    Sender,
    impl std::future::Future<Output = Result<(), hyper::Error>> + Send + use<>,
)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let io = hyper_util::rt::TokioIo::new(stream);
    Ok(hyper::client::conn::http1::handshake(io).await?)
}

async fn send(
    sender: &mut Sender,
    addr: &str,
    op: &'static str,
    body: String,
    signer: Option<&Signer>,
) -> anyhow::Result<hyper::StatusCode> {
    send_prepared(sender, prepare(addr, op, body, signer)?).await
}

/// A DynamoDB request built (and signed, for a signed load) ahead of
/// sending it: what a replayed load sends again and again.
#[derive(Clone)]
pub(super) struct Prepared {
    op: &'static str,
    headers: hyper::HeaderMap,
    body: Bytes,
}

/// The request `op` with `body` to `addr`, signed by `signer` when given.
pub(super) fn prepare(addr: &str, op: &'static str, body: String, signer: Option<&Signer>) -> anyhow::Result<Prepared> {
    let target = format!("DynamoDB_20120810.{op}");
    let mut headers = hyper::HeaderMap::with_capacity(5);
    headers.insert("host", addr.parse()?);
    headers.insert("content-type", "application/x-amz-json-1.0".parse()?);
    if let Some(signer) = signer {
        for (name, value) in signer.headers(addr, &target, body.as_bytes()) {
            headers.insert(name, value.parse()?);
        }
    }
    headers.insert("x-amz-target", target.parse()?);
    Ok(Prepared {
        op,
        headers,
        body: Bytes::from(body),
    })
}

async fn send_prepared(sender: &mut Sender, prepared: Prepared) -> anyhow::Result<hyper::StatusCode> {
    let mut request = hyper::Request::post("/").body(Full::new(prepared.body))?;
    *request.headers_mut() = prepared.headers;
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    Ok(status)
}

/// CPU time this process has used so far (user + system), from
/// `/proc/self/stat`; `None` where that file does not exist.
pub(super) fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Drives `connections` keep-alive connections for `duration`, each sending
/// the requests `make(connection, n)` builds, one at a time; with `rate`
/// (requests/s over all connections) they pace themselves instead of going
/// flat out.
pub async fn load_paced(
    addr: &str,
    name: &'static str,
    connections: usize,
    duration: Duration,
    rate: Option<f64>,
    make: impl Fn(usize, u64) -> (&'static str, String) + Send + Sync + 'static,
) -> anyhow::Result<Measurement> {
    Ok(sample(addr, connections, duration, rate, make).await?.summarise(name))
}

/// Latencies of a load and the time and CPU it took, poolable over rounds.
#[derive(Default)]
pub(super) struct Samples {
    latencies: Vec<Duration>,
    elapsed: Duration,
    cpu: Option<Duration>,
    /// Requests each connection made, by connection (one load, not pooled).
    pub(super) per_connection: Vec<u64>,
}

impl Samples {
    pub(super) fn add(&mut self, other: Samples) {
        self.cpu = match self.elapsed.is_zero() {
            true => other.cpu,
            false => self.cpu.zip(other.cpu).map(|(a, b)| a + b),
        };
        self.latencies.extend(other.latencies);
        self.elapsed += other.elapsed;
    }

    /// Waits for `workers`, tasks started together at `start` (when the
    /// process had used `cpu_start`), each returning its latencies.
    pub(super) async fn join(
        workers: Vec<JoinHandle<anyhow::Result<Vec<Duration>>>>,
        start: Instant,
        cpu_start: Option<Duration>,
    ) -> anyhow::Result<Samples> {
        let (mut latencies, mut per_connection) = (Vec::new(), Vec::with_capacity(workers.len()));
        for worker in workers {
            let mine = worker.await??;
            per_connection.push(mine.len() as u64);
            latencies.extend(mine);
        }
        let cpu = match (cpu_start, cpu_time()) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        Ok(Samples {
            latencies,
            elapsed: start.elapsed(),
            cpu,
            per_connection,
        })
    }

    pub(super) fn summarise(self, name: &'static str) -> Measurement {
        let mut measurement = summarise(name, self.latencies, self.elapsed);
        if let Some(cpu) = self.cpu {
            measurement.cores = cpu.as_secs_f64() / self.elapsed.as_secs_f64();
        }
        measurement
    }
}

/// What `load_paced` measures, before summarising.
pub(super) async fn sample(
    addr: &str,
    connections: usize,
    duration: Duration,
    rate: Option<f64>,
    make: impl Fn(usize, u64) -> (&'static str, String) + Send + Sync + 'static,
) -> anyhow::Result<Samples> {
    sample_signed(addr, connections, duration, rate, make, None).await
}

/// `sample`, each request signed by `signer` when given.
pub(super) async fn sample_signed(
    addr: &str,
    connections: usize,
    duration: Duration,
    rate: Option<f64>,
    make: impl Fn(usize, u64) -> (&'static str, String) + Send + Sync + 'static,
    signer: Option<Arc<Signer>>,
) -> anyhow::Result<Samples> {
    let host = addr.to_string();
    let build = move |conn, n| {
        let (op, body) = make(conn, n);
        prepare(&host, op, body, signer.as_deref())
    };
    sample_built(addr, connections, duration, rate, build).await
}

/// A load that sends the requests of `pool` over and over, built (and
/// signed) before it starts, so that the load generator does no building
/// or signing while it is measured: connection `c` starts at its own
/// offset in the pool and walks on from there.
pub(super) async fn sample_replayed(
    addr: &str,
    connections: usize,
    duration: Duration,
    pool: Arc<Vec<Prepared>>,
) -> anyhow::Result<Samples> {
    anyhow::ensure!(!pool.is_empty(), "an empty request pool");
    let stride = pool.len() / connections.max(1);
    let build = move |conn: usize, n: u64| Ok(pool[(conn * stride + n as usize) % pool.len()].clone());
    sample_built(addr, connections, duration, None, build).await
}

/// What `sample` measures, for requests `build(connection, n)` makes.
async fn sample_built(
    addr: &str,
    connections: usize,
    duration: Duration,
    rate: Option<f64>,
    build: impl Fn(usize, u64) -> anyhow::Result<Prepared> + Send + Sync + 'static,
) -> anyhow::Result<Samples> {
    let build = Arc::new(build);
    let start = Instant::now();
    let cpu_start = cpu_time();
    let sent = Arc::new(AtomicU64::new(0));
    let shown = tokio::spawn(show_phase(start, duration, sent.clone()));
    let mut workers = Vec::new();
    for conn in 0..connections {
        let (addr, build, sent) = (addr.to_string(), build.clone(), sent.clone());
        workers.push(tokio::spawn(async move {
            let (mut sender, driver) = connect(&addr).await?;
            tokio::spawn(driver);
            let mut latencies = Vec::new();
            let mut n = 0u64;
            // Each connection sends every `period`; their first sends are
            // spread over one period, so that together they send at an even
            // `rate` rather than in bursts of `connections` at once.
            let mut pace = rate.map(|r| {
                let period = Duration::from_secs_f64(connections as f64 / r);
                let first = start + period.mul_f64(conn as f64 / connections as f64);
                let mut ticks = tokio::time::interval_at(first.into(), period);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticks
            });
            while start.elapsed() < duration {
                if let Some(ticks) = &mut pace {
                    ticks.tick().await;
                }
                let request = build(conn, n)?;
                let op = request.op;
                let began = Instant::now();
                let status = send_prepared(&mut sender, request).await?;
                anyhow::ensure!(status.is_success(), "{op} failed with {status}");
                latencies.push(began.elapsed());
                sent.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
            anyhow::Ok(latencies)
        }));
    }
    let samples = Samples::join(workers, start, cpu_start).await;
    let _ = shown.await;
    samples
}

/// Shows a measurement's progress until its `duration` is over: the
/// seconds gone and the requests `sent` so far, at their rate.
async fn show_phase(start: Instant, duration: Duration, sent: Arc<AtomicU64>) {
    let mut progress = Progress::timed("  measuring", duration);
    while start.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(250).min(duration)).await;
        let requests = sent.load(Ordering::Relaxed);
        let rate = requests as f64 / start.elapsed().as_secs_f64();
        progress.set_detail(format!("{requests} requests, {rate:.0}/s"));
        progress.set(start.elapsed().min(duration).as_secs());
    }
    progress.clear();
}
