//! Whole requests of every operation, sent over HTTP to a real in-memory
//! region: the `requests` fuzz target and `tests/fuzz_requests.rs` share it.
//!
//! An input is `[operation, mode, body...]`. `operation` picks a target of
//! `tests/data/dynamodb-operations.txt` (every operation of the API
//! reference, served or not); `mode` how the body travels: as is, gzip,
//! deflate, labelled gzip without being compressed, or an unknown encoding.
//! Requests are served on the server's own tokio worker threads, with
//! their default stack size, as in production.
//!
//! Every answer must come (no hang), carry the CRC32 of its bytes, be
//! JSON, and be a 500 only where the encoding is broken; the region must
//! keep answering.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use meridian::config::{NodeConfig, RegionConfig, Topology};
use meridian::node::{Node, NodeOptions};

/// Every operation of the API reference, as `X-Amz-Target` values.
pub fn targets() -> Vec<&'static str> {
    include_str!("../../tests/data/dynamodb-operations.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// How a body is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Uncompressed.
    Plain,
    /// `Content-Encoding: gzip`, compressed.
    Gzip,
    /// `Content-Encoding: deflate`, compressed.
    Deflate,
    /// `Content-Encoding: gzip`, but the bytes as they are.
    FalseGzip,
    /// An encoding Meridian does not know.
    Unknown,
}

impl Mode {
    /// The mode a byte of the input selects.
    pub fn from_byte(byte: u8) -> Mode {
        match byte % 8 {
            1 => Mode::Gzip,
            2 => Mode::Deflate,
            3 => Mode::FalseGzip,
            4 => Mode::Unknown,
            _ => Mode::Plain,
        }
    }

    /// True when the server may answer 500 (DynamoDB's answer to a body it
    /// cannot decode).
    fn may_fail_decoding(self) -> bool {
        matches!(self, Mode::FalseGzip | Mode::Unknown)
    }
}

/// A region in memory, and the runtime that serves it.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    node: Option<Node>,
    targets: Vec<&'static str>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Starts a region in memory with a table `tbl` (`pk` S, `sk` N).
    pub fn start() -> Harness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let node = runtime.block_on(async {
            let mut config = NodeConfig::default();
            config.storage.in_memory = true;
            config.log_level = "off".into();
            let topology = Topology {
                cluster: "fuzz".into(),
                region: vec![RegionConfig {
                    name: "us-east-1".into(),
                    api: "127.0.0.1:0".parse().expect("literal address"),
                    peer: "127.0.0.1:0".parse().expect("literal address"),
                    clock_offset_ms: 0,
                }],
                link: Vec::new(),
                table: Vec::new(),
            };
            let mut options = NodeOptions::new(topology, "us-east-1", dir.path().to_path_buf());
            options.config = config;
            Node::start(options).await.expect("start the region")
        });
        let addr = node.api_addr;
        let harness = Harness {
            runtime,
            addr,
            node: Some(node),
            targets: targets(),
            _dir: dir,
        };
        let table = br#"{"TableName":"tbl","BillingMode":"PAY_PER_REQUEST",
            "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}]}"#;
        let (status, _) = harness.send("DynamoDB_20120810.CreateTable", Mode::Plain, table);
        assert_eq!(status, 200, "create the fuzzing table");
        harness
    }

    /// Runs one input; panics on a hang, a bad CRC, a body that is not JSON
    /// or a 500 the input does not explain.
    pub fn run(&self, input: &[u8]) {
        let [operation, mode, body @ ..] = input else {
            return;
        };
        let target = self.targets[*operation as usize % self.targets.len()];
        let mode = Mode::from_byte(*mode);
        let (status, answer) = self.send(target, mode, body);
        if status == 500 {
            assert!(
                mode.may_fail_decoding(),
                "HTTP 500 for {target} ({mode:?}): {answer} <- {}",
                String::from_utf8_lossy(body)
            );
        }
        if status != 200 {
            assert!(
                answer["__type"].is_string(),
                "{target}: {status} without __type: {answer}"
            );
        }
    }

    /// Sends `body` to `target` as `mode` says: the status and the JSON
    /// answer.
    pub fn send(&self, target: &str, mode: Mode, body: &[u8]) -> (u16, serde_json::Value) {
        let (encoding, bytes) = encode(mode, body);
        let request = async {
            let stream = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
            // Headers and body leave in two writes: without this, Nagle and
            // delayed ACKs add tens of milliseconds to each request.
            stream.set_nodelay(true).expect("TCP_NODELAY");
            let io = hyper_util::rt::TokioIo::new(stream);
            let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.expect("handshake");
            tokio::spawn(connection);
            let mut request = hyper::Request::post("/")
                .header("host", "localhost")
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amz-target", target)
                .header("accept-encoding", "gzip");
            if let Some(encoding) = encoding {
                request = request.header("content-encoding", encoding);
            }
            let request = request.body(Full::new(Bytes::from(bytes))).expect("a request");
            let response = sender.send_request(request).await.expect("an answer");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let received = response.into_body().collect().await.expect("the body").to_bytes();
            (status, headers, received)
        };
        let outcome = self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(60), request).await });
        let (status, headers, received) = outcome.unwrap_or_else(|_| panic!("no answer to {target} in 60 s"));
        let crc: u32 = headers
            .get("x-amz-crc32")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("x-amz-crc32");
        assert_eq!(crc, crc32fast::hash(&received), "x-amz-crc32 of {target}");
        let json = match headers.get("content-encoding").map(|v| v.as_bytes()) {
            Some(b"gzip") => {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&received[..]), &mut out)
                    .expect("a gzip answer");
                out
            }
            _ => received.to_vec(),
        };
        let answer = serde_json::from_slice(&json).unwrap_or_else(|_| panic!("{target}: the answer is not JSON"));
        (status, answer)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            self.runtime.block_on(node.shutdown());
        }
    }
}

/// The `Content-Encoding` and bytes for `body` sent as `mode`.
fn encode(mode: Mode, body: &[u8]) -> (Option<&'static str>, Vec<u8>) {
    match mode {
        Mode::Plain => (None, body.to_vec()),
        Mode::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(body).expect("compress in memory");
            (Some("gzip"), encoder.finish().expect("compress in memory"))
        }
        Mode::Deflate => {
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(body).expect("compress in memory");
            (Some("deflate"), encoder.finish().expect("compress in memory"))
        }
        Mode::FalseGzip => (Some("gzip"), body.to_vec()),
        Mode::Unknown => (Some("zstd"), body.to_vec()),
    }
}
