//! A new user's first minutes, with the binary cargo builds, run from a
//! temporary directory outside the repository: `meridian up` with no flags
//! starts the built-in three regions; `region`, `link`, `restore` and
//! `status` find the cluster from that directory; with nothing running a
//! command says so in one line, without a backtrace even with
//! `RUST_BACKTRACE=1`; `serve --in-memory --port N` answers on N and creates
//! no file.
//!
//! The cluster runs on the default ports shifted by `MERIDIAN_PORT_OFFSET`
//! (chosen free), and `XDG_RUNTIME_DIR` points at a temporary directory so
//! the test's `up` record is its own.

mod common;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::Stdio;

use aws_sdk_dynamodb::types::ScalarAttributeType;
use common::{DEADLINE, Keys, client, create_table, item, s, wait_for};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// The default topology's API and peer ports (regions/local.toml).
const DEFAULT_PORTS: [u16; 3] = [8000, 8001, 8002];
const DEFAULT_PEER_PORTS: [u16; 3] = [7000, 7001, 7002];

/// A temporary working directory and per-user state directory.
struct Place {
    cwd: TempDir,
    state: TempDir,
    offset: u16,
}

impl Place {
    fn new() -> Place {
        Place {
            cwd: tempfile::tempdir().expect("temporary working directory"),
            state: tempfile::tempdir().expect("temporary state directory"),
            offset: free_offset(),
        }
    }

    /// `meridian ARGS` run from the temporary directory.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_meridian"));
        command
            .args(args)
            .current_dir(self.cwd.path())
            .env("XDG_RUNTIME_DIR", self.state.path())
            .env("MERIDIAN_PORT_OFFSET", self.offset.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs `meridian ARGS` to completion: success, stdout, stderr.
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.command(args).output().await.expect("run meridian");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `meridian ARGS`, which must succeed; returns its stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args).await;
        assert!(ok, "meridian {args:?} failed:\n{out}\n{err}");
        out
    }

    fn api(&self, i: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORTS[i] + self.offset))
    }
}

/// An offset at which the default topology's six ports are free.
fn free_offset() -> u16 {
    let seed = std::process::id() as u16;
    for attempt in 0..200u16 {
        let offset = 20_000 + (seed.wrapping_add(attempt.wrapping_mul(97))) % 30_000;
        let free = DEFAULT_PORTS
            .iter()
            .all(|p| TcpListener::bind(("127.0.0.1", p + offset)).is_ok())
            && DEFAULT_PEER_PORTS
                .iter()
                .all(|p| UdpSocket::bind(("127.0.0.1", p + offset)).is_ok());
        if free {
            return offset;
        }
    }
    panic!("no free port offset found");
}

/// Reads lines until one contains `needle`; panics if the stream ends.
async fn read_until(lines: &mut Lines<BufReader<ChildStdout>>, needle: &str) -> String {
    tokio::time::timeout(DEADLINE, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("meridian exited before printing {needle:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} in time"))
}

/// Asks `child` to stop (SIGTERM, as Ctrl-C would) and waits for it.
async fn stop(mut child: Child) {
    let pid = child.id().expect("running child");
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let status = tokio::time::timeout(DEADLINE, child.wait())
        .await
        .expect("meridian stopped in time")
        .expect("wait for meridian");
    assert!(status.success(), "meridian exited with {status}");
}

/// Whether the region's API answers a ListTables.
async fn answers(addr: SocketAddr) -> bool {
    client(addr).list_tables().send().await.is_ok()
}

/// Whether `table` holds the item whose `pk` is `pk`.
async fn has_item(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str) -> bool {
    let key = item([("pk", s(pk))]);
    let got = client.get_item().table_name(table).set_key(Some(key)).send().await;
    got.expect("GetItem").item.is_some()
}

/// The helpful error of a command with nothing running: one line, what to
/// run, no backtrace.
fn assert_helpful(err: &str, expected: &str) {
    assert!(err.contains(expected), "expected {expected:?} in {err:?}");
    assert!(err.contains("meridian up"), "no hint of what to run in {err:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(!err.to_lowercase().contains("backtrace"), "a backtrace in {err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_no_flags_is_found_from_any_directory() {
    let place = Place::new();
    let mut up = place
        .command(&["up"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn meridian up");
    let mut lines = BufReader::new(up.stdout.take().expect("piped stdout")).lines();
    read_until(&mut lines, "3 regions up").await;
    let hint = read_until(&mut lines, "AWS_ENDPOINT_URL=").await;
    assert!(hint.contains(&format!("http://{}", place.api(0))), "{hint}");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    assert!(place.cwd.path().join("data/cluster-ca.pem").exists());

    let (us, eu) = (place.api(0), place.api(1));
    let east = client(us);
    create_table(&east, "orders", Keys::Hash("pk", ScalarAttributeType::S)).await;
    east.put_item()
        .table_name("orders")
        .set_item(Some(item([("pk", s("a"))])))
        .send()
        .await
        .unwrap();
    common::pitr::enable_pitr(&east, "orders").await;

    let killed = place.ok(&["region", "kill", "eu-west-1"]).await;
    assert!(killed.contains("killed"), "{killed}");
    wait_for(
        "eu-west-1 to go down",
        || async move { (!answers(eu).await).then_some(()) },
    )
    .await;
    place.ok(&["region", "start", "eu-west-1"]).await;
    wait_for(
        "eu-west-1 to come back",
        || async move { answers(eu).await.then_some(()) },
    )
    .await;

    let cut = place.ok(&["link", "partition", "us-east-1", "eu-west-1"]).await;
    assert!(
        cut.contains("us-east-1 -> eu-west-1") && cut.contains("partitioned"),
        "{cut}"
    );
    let shown = place.ok(&["link", "show"]).await;
    assert!(shown.contains("PARTITIONED"), "{shown}");
    place.ok(&["link", "heal"]).await;

    let restored = place
        .ok(&["restore", "--table", "orders", "--to", "latest", "--as", "orders_copy"])
        .await;
    assert!(restored.contains("orders_copy is ACTIVE"), "{restored}");
    assert!(has_item(&east, "orders_copy", "a").await);

    let status = place.ok(&["status"]).await;
    for region in ["us-east-1", "eu-west-1", "ap-southeast-2"] {
        assert!(status.contains(&format!("{region}  http://")), "{status}");
    }

    stop(up).await;
    assert!(!place.state.path().join("meridian/up.json").exists());
    assert!(!place.cwd.path().join("data/up.control").exists());
    let mut nothing = place.command(&["region", "kill", "us-east-1"]);
    nothing.env("RUST_BACKTRACE", "1");
    let out = nothing.output().await.unwrap();
    assert!(!out.status.success());
    assert_helpful(&String::from_utf8_lossy(&out.stderr), "no `meridian up` is running");
    let (ok, _, err) = place.run(&["link", "partition", "us-east-1"]).await;
    assert!(!ok);
    assert_helpful(&err, "nothing answers at http://");
}

/// The status and body of an empty `METHOD path` at `addr` (HTTP/1.0,
/// so the server closes).
async fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("{method} {path} HTTP/1.0\r\nhost: {addr}\r\ncontent-length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    (status, body.to_string())
}

/// The body of `GET path` at `addr`, which must answer 200.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    let (status, body) = http(addr, "GET", path).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The status and JSON body of an empty `POST path` at `addr`.
async fn http_post(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = http(addr, "POST", path).await;
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

/// A free loopback port (bound, then let go).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("bound address").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_in_memory_answers_on_its_port_and_writes_nothing() {
    let place = Place::new();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let args = ["serve", "--in-memory", "--port", &port.to_string(), "--data-dir"];
    let mut command = place.command(&args);
    let mut serve = command.arg(data.path()).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    let ready = read_until(&mut lines, "serving DynamoDB API").await;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        ready.contains(&format!("region us-east-1 serving DynamoDB API on http://{addr}")),
        "{ready}"
    );

    let region = client(addr);
    create_table(&region, "things", Keys::Hash("pk", ScalarAttributeType::S)).await;
    region
        .put_item()
        .table_name("things")
        .set_item(Some(item([("pk", s("x"))])))
        .send()
        .await
        .unwrap();
    assert!(has_item(&region, "things", "x").await);
    let pretty = http_get(addr, "/status?pretty").await;
    assert!(pretty.contains("\n  \"region\": \"us-east-1\",\n"), "{pretty}");
    let compact = http_get(addr, "/status").await;
    assert!(compact.contains("\"region\":\"us-east-1\""), "{compact}");
    stop(serve).await;
    common::assert_empty_dir(place.cwd.path());
    common::assert_empty_dir(data.path());
    common::assert_empty_dir(place.state.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_in_memory_replicates_and_writes_nothing_in_the_directory() {
    let place = Place::new();
    let mut up = place
        .command(&["up", "--in-memory"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(up.stdout.take().unwrap()).lines();
    let ready = read_until(&mut lines, "3 regions up").await;
    assert!(ready.contains("in memory"), "{ready}");
    let console = read_until(&mut lines, "console at").await;
    let url = format!("http://{}/console", place.api(0));
    assert!(console.contains(&url), "{console}");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    // Every region receives from both peers over QUIC with the CA `up`
    // handed over.
    let place = &place;
    wait_for("every link to be up", || async move {
        let status = place.ok(&["status"]).await;
        let receiving = status.matches(" receiving,").count() - status.matches("NOT receiving,").count();
        (receiving == 6).then_some(())
    })
    .await;
    // The console's region commands pass through a region to `up`.
    let regions: serde_json::Value = serde_json::from_str(&http_get(place.api(0), "/admin/regions").await).unwrap();
    assert_eq!(regions["up_control"], serde_json::json!(true), "{regions}");
    let (status, answer) = http_post(place.api(0), "/admin/regions/ap-southeast-2/pause").await;
    assert_eq!((status, answer["message"].is_string()), (200, true), "{answer}");
    let (status, answer) = http_post(place.api(0), "/admin/regions/ap-southeast-2/start").await;
    assert_eq!((status, answer["message"].is_string()), (200, true), "{answer}");
    let (status, answer) = http_post(place.api(0), "/admin/regions/ap-southeast-2/wipe").await;
    assert_eq!(status, 400, "{answer}");
    place.ok(&["region", "kill", "ap-southeast-2"]).await;
    place.ok(&["region", "start", "ap-southeast-2"]).await;
    let ap = place.api(2);
    wait_for("ap-southeast-2 to come back", || async move {
        answers(ap).await.then_some(())
    })
    .await;
    stop(up).await;
    common::assert_empty_dir(place.cwd.path());
}
