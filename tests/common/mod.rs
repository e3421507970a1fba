//! Test harness: regions started in-process on port 0 with temporary data
//! directories, an AWS SDK client for each, a raw HTTP helper for requests the
//! SDK refuses to send, and the real `meridian` binary for crash tests.
//!
//! Every wait polls a condition against a deadline; nothing sleeps blindly and
//! nothing listens on a fixed port.

#![allow(dead_code)]

pub mod kill;
pub mod pitr;
pub mod settle;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use meridian::config::{NodeConfig, RegionConfig, Topology};
use meridian::node::{Node, NodeOptions};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The region every test region is called (the SDK client signs for it).
pub const REGION: &str = "us-east-1";
/// Generous bound for anything a test waits for on a loaded machine.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// An SDK client for the API at `addr`, with retries disabled so that an
/// error is seen exactly once.
pub fn client(addr: SocketAddr) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(format!("http://{addr}"))
        .credentials_provider(Credentials::new("k", "s", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// A region running in this process.
pub struct TestRegion {
    pub addr: SocketAddr,
    pub client: Client,
    node: Node,
    dir: TempDir,
    /// The store is in memory: the data directory must stay empty.
    in_memory: bool,
}

/// Whether `TestRegion::start` keeps the store in memory: in a test crate
/// whose name ends in `_in_memory` (tests/api_in_memory.rs runs the API
/// tests so; `common` is compiled into each test crate, so the name is that
/// crate's).
fn in_memory_crate() -> bool {
    env!("CARGO_CRATE_NAME").ends_with("_in_memory")
}

fn region_config() -> RegionConfig {
    RegionConfig {
        name: REGION.into(),
        api: "127.0.0.1:0".parse().expect("literal address"),
        peer: "127.0.0.1:0".parse().expect("literal address"),
        clock_offset_ms: 0,
    }
}

/// Starts a region with `config` that must refuse to start; its error.
pub async fn start_refused(config: NodeConfig) -> String {
    let data = tempfile::tempdir().expect("create a temporary data directory");
    let topology = Topology {
        cluster: "test".into(),
        region: vec![region_config()],
        link: Vec::new(),
        table: Vec::new(),
    };
    let mut options = NodeOptions::new(topology, REGION, data.path().to_path_buf());
    options.config = config;
    match Node::start(options).await {
        Ok(_) => panic!("the region started"),
        Err(error) => error.to_string(),
    }
}

impl TestRegion {
    /// Starts a region on a fresh temporary data directory (in memory in
    /// an `_in_memory` test crate).
    pub async fn start() -> TestRegion {
        let mut config = NodeConfig::default();
        config.storage.in_memory = in_memory_crate();
        TestRegion::start_with(config).await
    }

    /// Starts a region whose store is in memory; its (temporary) data
    /// directory must stay empty.
    pub async fn start_in_memory() -> TestRegion {
        let mut config = NodeConfig::default();
        config.storage.in_memory = true;
        TestRegion::start_with(config).await
    }

    /// Starts a region with node settings `config` on a fresh temporary
    /// data directory.
    pub async fn start_with(config: NodeConfig) -> TestRegion {
        let dir = tempfile::tempdir().expect("create a temporary data directory");
        TestRegion::start_in_with(dir, config).await
    }

    /// Starts a region on an existing data directory (a restart).
    pub async fn start_in(dir: TempDir) -> TestRegion {
        TestRegion::start_in_with(dir, NodeConfig::default()).await
    }

    /// Starts a region with `config` on an existing data directory.
    pub async fn start_in_with(dir: TempDir, config: NodeConfig) -> TestRegion {
        let topology = Topology {
            cluster: "test".into(),
            region: vec![region_config()],
            link: Vec::new(),
            table: Vec::new(),
        };
        let in_memory = config.storage.in_memory;
        let mut options = NodeOptions::new(topology, REGION, dir.path().to_path_buf());
        options.config = config;
        let node = Node::start(options).await.expect("start the region");
        let addr = node.api_addr;
        TestRegion {
            addr,
            client: client(addr),
            node,
            dir,
            in_memory,
        }
    }

    /// The root data directory (the region's files are in `<root>/<region>`).
    pub fn data_root(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the region cleanly and hands back its data directory (checked
    /// empty when the store is in memory).
    pub async fn shutdown(self) -> TempDir {
        self.node.shutdown().await;
        if self.in_memory {
            assert_empty_dir(self.dir.path());
        }
        self.dir
    }

    /// Stops the region and starts it again on the same data directory.
    pub async fn restart(self) -> TestRegion {
        let dir = self.shutdown().await;
        TestRegion::start_in(dir).await
    }

    /// The running node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Sends a raw request to this region.
    pub async fn raw(&self, target: Option<&str>, body: impl Into<Bytes>) -> RawResponse {
        raw_request(self.addr, target, body.into()).await
    }

    /// Sends a raw request for `operation` with a JSON body.
    pub async fn raw_json(&self, operation: &str, body: serde_json::Value) -> RawResponse {
        let target = format!("DynamoDB_20120810.{operation}");
        self.raw(Some(&target), serde_json::to_vec(&body).expect("serialise JSON"))
            .await
    }
}

/// A response read by the raw HTTP helper.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: serde_json::Value,
}

impl RawResponse {
    /// The error's `__type` without its namespace (`ValidationException`).
    pub fn error_type(&self) -> &str {
        let full = self.body["__type"].as_str().unwrap_or("");
        full.rsplit('#').next().unwrap_or(full)
    }

    /// The error message.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

/// POSTs `body` to `/` at `addr` over one fresh HTTP/1.1 connection. Checks
/// that `x-amz-crc32` is the CRC32 of the body, as the SDKs do.
pub async fn raw_request(addr: SocketAddr, target: Option<&str>, body: Bytes) -> RawResponse {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.expect("handshake");
    tokio::spawn(connection);
    let mut request = hyper::Request::post("/")
        .header("host", addr.to_string())
        .header("content-type", "application/x-amz-json-1.0");
    if let Some(target) = target {
        request = request.header("x-amz-target", target);
    }
    let request = request.body(Full::new(body)).expect("build the request");
    let response = sender.send_request(request).await.expect("send the request");
    let status = response.status().as_u16();
    let headers: HashMap<String, String> = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = response.into_body().collect().await.expect("read the body").to_bytes();
    let crc: u32 = headers
        .get("x-amz-crc32")
        .expect("x-amz-crc32 header")
        .parse()
        .expect("x-amz-crc32 is a decimal u32");
    assert_eq!(
        crc,
        crc32fast::hash(&bytes),
        "x-amz-crc32 must be the CRC32 of the body"
    );
    let body = serde_json::from_slice(&bytes).expect("the body is JSON");
    RawResponse { status, headers, body }
}

/// Polls `check` until it returns `Some`, panicking after `DEADLINE`.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Key shapes of test tables.
#[derive(Clone, Debug)]
pub enum Keys<'a> {
    /// Partition key only.
    Hash(&'a str, ScalarAttributeType),
    /// Partition and sort key.
    HashRange(&'a str, ScalarAttributeType, &'a str, ScalarAttributeType),
}

/// Creates an on-demand table with `keys`.
pub async fn create_table(client: &Client, name: &str, keys: Keys<'_>) {
    let attribute = |n: &str, t: &ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(t.clone())
            .build()
            .expect("attribute definition")
    };
    let element = |n: &str, k: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(k)
            .build()
            .expect("key schema element")
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    match keys {
        Keys::Hash(h, ht) => {
            request = request
                .attribute_definitions(attribute(h, &ht))
                .key_schema(element(h, KeyType::Hash));
        }
        Keys::HashRange(h, ht, r, rt) => {
            request = request
                .attribute_definitions(attribute(h, &ht))
                .attribute_definitions(attribute(r, &rt))
                .key_schema(element(h, KeyType::Hash))
                .key_schema(element(r, KeyType::Range));
        }
    }
    request.send().await.expect("create table");
}

/// Shorthand for `AttributeValue::S`.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Shorthand for `AttributeValue::N`.
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An item from (name, value) pairs.
pub fn item<const N: usize>(pairs: [(&str, AttributeValue); N]) -> HashMap<String, AttributeValue> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The `code()` of an SDK error (`ValidationException`, ...).
pub fn error_code<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    aws_sdk_dynamodb::error::ProvideErrorMetadata::code(error)
        .unwrap_or("<no code>")
        .to_string()
}

/// The `message()` of an SDK error.
pub fn error_message<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    aws_sdk_dynamodb::error::ProvideErrorMetadata::message(error)
        .unwrap_or("")
        .to_string()
}

/// Asserts an SDK error's code and message, both exactly.
#[track_caller]
pub fn assert_error<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>, code: &str, message: &str)
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    assert_eq!(
        (error_code(error).as_str(), error_message(error).as_str()),
        (code, message)
    );
}

/// The real `meridian` binary serving one region, for crash tests.
pub struct ServeProcess {
    pub addr: SocketAddr,
    pub client: Client,
    child: Child,
}

/// Writes a one-region topology with port 0 addresses into `dir`.
fn write_topology(dir: &Path) -> PathBuf {
    let path = dir.join("topology.toml");
    let text = format!("[[region]]\nname = \"{REGION}\"\napi = \"127.0.0.1:0\"\npeer = \"127.0.0.1:0\"\n");
    std::fs::write(&path, text).expect("write the topology");
    path
}

impl ServeProcess {
    /// Runs `meridian serve` on `data_dir` (topology written next to it) and
    /// waits for its ready line to learn the API address.
    pub async fn start(data_dir: &Path) -> ServeProcess {
        let topology = write_topology(data_dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_meridian"))
            .arg("serve")
            .arg("--topology")
            .arg(&topology)
            .arg("--region")
            .arg(REGION)
            .arg("--data-dir")
            .arg(data_dir.join("data"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn meridian serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let prefix = format!("meridian: region {REGION} serving DynamoDB API on http://");
        let addr = tokio::time::timeout(DEADLINE, async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(addr) = line.strip_prefix(&prefix) {
                    return addr.trim().parse::<SocketAddr>().expect("address in the ready line");
                }
            }
            panic!("meridian serve exited before its ready line");
        })
        .await
        .expect("meridian serve printed its ready line in time");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServeProcess {
            addr,
            client: client(addr),
            child,
        }
    }

    /// SIGKILLs the process and waits for it to exit.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL meridian serve");
    }
}

/// An SDK attribute value from DynamoDB JSON (`{"S": "x"}`, `{"L": [...]}`),
/// so tables of test cases can be written as JSON literals.
pub fn av(json: &serde_json::Value) -> AttributeValue {
    use aws_sdk_dynamodb::primitives::Blob;
    use base64::Engine as _;
    let decode = |v: &serde_json::Value| {
        Blob::new(
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str().expect("base64 string"))
                .expect("base64"),
        )
    };
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|s| s.as_str().expect("string").to_string())
            .collect()
    };
    let (tag, inner) = json.as_object().and_then(|o| o.iter().next()).expect("one type tag");
    match tag.as_str() {
        "S" => AttributeValue::S(inner.as_str().expect("string").into()),
        "N" => AttributeValue::N(inner.as_str().expect("string").into()),
        "B" => AttributeValue::B(decode(inner)),
        "BOOL" => AttributeValue::Bool(inner.as_bool().expect("bool")),
        "NULL" => AttributeValue::Null(true),
        "M" => AttributeValue::M(av_map(inner)),
        "L" => AttributeValue::L(inner.as_array().expect("array").iter().map(av).collect()),
        "SS" => AttributeValue::Ss(strings(inner)),
        "NS" => AttributeValue::Ns(strings(inner)),
        "BS" => AttributeValue::Bs(inner.as_array().expect("array").iter().map(decode).collect()),
        other => panic!("unknown type tag {other}"),
    }
}

/// An SDK item (or placeholder map) from a DynamoDB JSON object.
pub fn av_map(json: &serde_json::Value) -> HashMap<String, AttributeValue> {
    json.as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), av(v)))
        .collect()
}

/// The `:placeholders` of `pool` that `expression` mentions (DynamoDB
/// rejects unused ones, so each case sends exactly what it uses).
pub fn values_for(expression: &str, pool: &serde_json::Value) -> Option<HashMap<String, AttributeValue>> {
    let used: HashMap<String, AttributeValue> = pool
        .as_object()
        .expect("object")
        .iter()
        .filter(|(k, _)| {
            expression.match_indices(k.as_str()).any(|(i, _)| {
                let next = expression[i + k.len()..].chars().next();
                !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
        .map(|(k, v)| (k.clone(), av(v)))
        .collect();
    (!used.is_empty()).then_some(used)
}

/// Fails unless `dir` holds nothing (an in-memory region wrote no file).
pub fn assert_empty_dir(dir: &Path) {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| e.expect("read an entry").path())
        .collect();
    assert!(
        entries.is_empty(),
        "{} should be empty, holds {entries:?}",
        dir.display()
    );
}

/// Runs the `meridian` binary with `args` and `env`, away from any
/// `meridian up` of this machine (its own HOME, runtime and working
/// directory); whether it succeeded, and what it printed.
pub async fn meridian_cli(args: &[&str], env: &[(&str, &str)], home: &Path) -> (bool, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_meridian"));
    command
        .args(args)
        .current_dir(home)
        .env_remove("MERIDIAN_ADMIN_TOKEN")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
