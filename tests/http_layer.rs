//! DynamoDB's HTTP layer: compressed requests and responses with the
//! `x-amz-crc32` the SDKs check, CORS for browser code, the `GET /` health
//! check, the `Server` header, limits on request heads, and
//! SerializationException for bodies that do not match the service's shapes.
//! Raw HTTP where the SDK cannot send the request; the SDK to check effects.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;

use aws_sdk_dynamodb::types::ScalarAttributeType;
use bytes::Bytes;
use common::{Keys, TestRegion, create_table, s};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response as received: status, headers (lower-case names) and the body
/// bytes exactly as sent.
struct Received {
    status: u16,
    headers: hyper::HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, inflating it if it was sent compressed.
    fn json(&self) -> Value {
        let bytes = match self.header("content-encoding") {
            Some("gzip") => inflate_gzip(&self.body),
            Some(other) => panic!("unexpected content-encoding {other}"),
            None => self.body.to_vec(),
        };
        serde_json::from_slice(&bytes).expect("a JSON body")
    }

    fn error_type(&self) -> String {
        let body = self.json();
        let full = body["__type"].as_str().unwrap_or("").to_string();
        full.rsplit('#').next().unwrap_or("").to_string()
    }

    fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or("").to_string()
    }

    /// `x-amz-crc32` is the CRC32 of the bytes as received.
    fn assert_crc(&self) {
        let crc: u32 = self
            .header("x-amz-crc32")
            .expect("x-amz-crc32")
            .parse()
            .expect("decimal");
        assert_eq!(crc, crc32fast::hash(&self.body), "x-amz-crc32 covers the bytes sent");
    }
}

/// Sends one request over a fresh connection.
async fn send(addr: SocketAddr, method: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Received {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.expect("handshake");
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri("/")
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body))).expect("a request");
    let response = sender.send_request(request).await.expect("a response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("the body").to_bytes();
    Received { status, headers, body }
}

/// POSTs `body` for `operation` with extra headers.
async fn post(addr: SocketAddr, operation: &str, extra: &[(&str, &str)], body: Vec<u8>) -> Received {
    let target = format!("DynamoDB_20120810.{operation}");
    let mut headers = vec![
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", target.as_str()),
    ];
    headers.extend_from_slice(extra);
    send(addr, "POST", &headers, body).await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn inflate_gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

async fn region_with_table() -> TestRegion {
    let region = TestRegion::start().await;
    create_table(&region.client, "tbl", Keys::Hash("pk", ScalarAttributeType::S)).await;
    region
}

async fn item_exists(region: &TestRegion, pk: &str) -> bool {
    let got = region
        .client
        .get_item()
        .table_name("tbl")
        .key("pk", s(pk))
        .send()
        .await
        .expect("GetItem");
    got.item.is_some()
}

fn put_body(pk: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"TableName": "tbl", "Item": {"pk": {"S": pk}, "v": {"N": "1"}}})).unwrap()
}

#[tokio::test]
async fn gzip_and_deflate_request_bodies_are_inflated() {
    let region = region_with_table().await;
    let answer = post(
        region.addr,
        "PutItem",
        &[("content-encoding", "gzip")],
        gzip(&put_body("g")),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.assert_crc();
    let answer = post(
        region.addr,
        "PutItem",
        &[("content-encoding", "deflate")],
        zlib(&put_body("d")),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let answer = post(
        region.addr,
        "PutItem",
        &[("content-encoding", "identity")],
        put_body("i"),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    for pk in ["g", "d", "i"] {
        assert!(item_exists(&region, pk).await, "{pk}");
    }
    region.shutdown().await;
}

#[tokio::test]
async fn unknown_encodings_and_bodies_that_do_not_inflate_are_refused_without_writing() {
    let region = region_with_table().await;
    let answer = post(region.addr, "PutItem", &[("content-encoding", "br")], put_body("b")).await;
    assert_eq!(answer.status, 500);
    answer.assert_crc();
    assert_eq!(answer.error_type(), "InternalServerError");
    assert_eq!(
        answer.message(),
        "Meridian does not support Content-Encoding: br (supported: gzip, deflate)"
    );
    let mut broken = gzip(&put_body("x"));
    let middle = broken.len() / 2;
    broken.truncate(middle);
    let answer = post(region.addr, "PutItem", &[("content-encoding", "gzip")], broken).await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.message(), "The request body is not valid gzip data");
    let answer = post(region.addr, "PutItem", &[("content-encoding", "gzip")], put_body("p")).await;
    assert_eq!(answer.status, 500);
    for pk in ["b", "x", "p"] {
        assert!(!item_exists(&region, pk).await, "{pk}");
    }
    region.shutdown().await;
}

#[tokio::test]
async fn the_request_limit_applies_to_the_inflated_size() {
    let mut config = meridian::config::NodeConfig::default();
    config.limits.max_request_bytes = 64 * 1024;
    let region = TestRegion::start_with(config).await;
    create_table(&region.client, "tbl", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let padding = "a".repeat(200 * 1024);
    let body =
        serde_json::to_vec(&json!({"TableName": "tbl", "Item": {"pk": {"S": "big"}, "pad": {"S": padding}}})).unwrap();
    let compressed = gzip(&body);
    assert!(compressed.len() < 64 * 1024, "the compressed body fits the limit");
    let answer = post(region.addr, "PutItem", &[("content-encoding", "gzip")], compressed).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.error_type(), "RequestEntityTooLargeException");
    assert_eq!(answer.message(), "Request size exceeded 65536 bytes");
    assert!(!item_exists(&region, "big").await);
    region.shutdown().await;
}

#[tokio::test]
async fn large_responses_are_compressed_for_clients_that_accept_it() {
    let region = region_with_table().await;
    for i in 0..20 {
        region
            .client
            .put_item()
            .table_name("tbl")
            .item("pk", s(format!("item-{i}")))
            .item("pad", s("p".repeat(400)))
            .send()
            .await
            .expect("PutItem");
    }
    let scan = serde_json::to_vec(&json!({"TableName": "tbl"})).unwrap();
    let answer = post(
        region.addr,
        "Scan",
        &[("accept-encoding", "gzip, deflate")],
        scan.clone(),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-encoding"), Some("gzip"));
    answer.assert_crc();
    assert!(answer.body.len() < 4096, "compressed: {} bytes", answer.body.len());
    assert_eq!(answer.json()["Count"], 20);

    // Without Accept-Encoding, or for a small response, the body is sent as is.
    let plain = post(region.addr, "Scan", &[], scan).await;
    assert_eq!(plain.header("content-encoding"), None);
    plain.assert_crc();
    assert_eq!(plain.json()["Count"], 20);
    let describe = serde_json::to_vec(&json!({"TableName": "tbl"})).unwrap();
    let small = post(region.addr, "DescribeTable", &[("accept-encoding", "gzip")], describe).await;
    assert_eq!(small.header("content-encoding"), None);
    small.assert_crc();

    // The SDK reads the same responses.
    let items = region.client.scan().table_name("tbl").send().await.expect("Scan");
    assert_eq!(items.count, 20);
    region.shutdown().await;
}

#[tokio::test]
async fn cors_preflight_and_headers_as_dynamodb_sends_them() {
    let region = region_with_table().await;
    let preflight = send(
        region.addr,
        "OPTIONS",
        &[
            ("origin", "http://localhost:3000"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "content-type,x-amz-target,authorization,x-amz-date",
            ),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(preflight.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type,x-amz-target,authorization,x-amz-date")
    );
    assert_eq!(preflight.header("access-control-max-age"), Some("172800"));
    assert!(preflight.body.is_empty());

    let body = serde_json::to_vec(&json!({"TableName": "tbl"})).unwrap();
    let answer = post(
        region.addr,
        "DescribeTable",
        &[("origin", "http://localhost:3000")],
        body.clone(),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    let exposed = answer
        .header("access-control-expose-headers")
        .expect("exposed headers")
        .to_lowercase();
    for name in ["x-amzn-requestid", "x-amz-crc32", "x-amzn-errortype"] {
        assert!(exposed.split(',').any(|h| h == name), "{name} in {exposed}");
    }
    // Without an Origin (not a browser), no CORS headers.
    let answer = post(region.addr, "DescribeTable", &[], body).await;
    assert_eq!(answer.header("access-control-allow-origin"), None);
    region.shutdown().await;
}

#[tokio::test]
async fn admin_paths_get_no_cors() {
    let region = TestRegion::start().await;
    let stream = tokio::net::TcpStream::connect(region.addr).await.unwrap();
    let request = "OPTIONS /admin/clock HTTP/1.1\r\nhost: x\r\norigin: http://evil.example\r\n\
                   access-control-request-method: POST\r\nconnection: close\r\n\r\n";
    let text = exchange(stream, request.as_bytes()).await;
    assert!(!text.to_lowercase().contains("access-control-allow-origin"), "{text}");
    region.shutdown().await;
}

#[tokio::test]
async fn get_slash_is_a_health_check_and_every_answer_names_the_server() {
    let region = TestRegion::start().await;
    let answer = send(region.addr, "GET", &[], Vec::new()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(&answer.body[..], b"healthy: dynamodb.us-east-1.amazonaws.com ");
    answer.assert_crc();
    assert_eq!(answer.header("server"), Some("Server"));
    let answer = post(region.addr, "ListTables", &[], b"{}".to_vec()).await;
    assert_eq!(answer.header("server"), Some("Server"));
    let answer = post(region.addr, "FlyToTheMoon", &[], b"{}".to_vec()).await;
    assert_eq!(answer.header("server"), Some("Server"));
    region.shutdown().await;
}

/// Writes `request` and reads until the server closes the connection.
async fn exchange(mut stream: tokio::net::TcpStream, request: &[u8]) -> String {
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(common::DEADLINE, stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server answers and closes, never hangs");
    String::from_utf8_lossy(&answer).into_owned()
}

fn status_of(answer: &str) -> &str {
    answer.split(' ').nth(1).unwrap_or("")
}

#[tokio::test]
async fn request_heads_beyond_the_limits_get_400_not_a_hang() {
    let region = TestRegion::start().await;
    let body = "{}";
    let request = |extra: String, target: &str| {
        format!(
            "POST {target} HTTP/1.1\r\nhost: x\r\nx-amz-target: DynamoDB_20120810.ListTables\r\n\
             content-length: {}\r\n{extra}\r\n{body}",
            body.len()
        )
    };
    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let large = format!("x-large: {}\r\n", "v".repeat(20 * 1024));
    let long_target = format!("/?{}", "q".repeat(10 * 1024));
    for (what, text) in [
        ("150 headers", request(many, "/")),
        ("20 KiB of headers", request(large, "/")),
        ("a 10 KiB request line", request(String::new(), &long_target)),
    ] {
        let stream = tokio::net::TcpStream::connect(region.addr).await.unwrap();
        let answer = exchange(stream, text.as_bytes()).await;
        assert_eq!(status_of(&answer), "400", "{what}: {answer}");
        assert!(answer.contains("ValidationException"), "{what}: {answer}");
    }
    // Far beyond: hyper refuses it while parsing (431), still no hang.
    let huge = format!("x-huge: {}\r\n", "v".repeat(100 * 1024));
    let stream = tokio::net::TcpStream::connect(region.addr).await.unwrap();
    let answer = exchange(stream, request(huge, "/").as_bytes()).await;
    assert!(["400", "431"].contains(&status_of(&answer)), "{answer}");
    // A normal request on a new connection is served.
    let answer = post(region.addr, "ListTables", &[], b"{}".to_vec()).await;
    assert_eq!(answer.status, 200);
    region.shutdown().await;
}

#[tokio::test]
async fn bodies_that_do_not_match_the_shapes_get_serialization_exceptions() {
    let region = region_with_table().await;
    let cases = [
        (
            "PutItem",
            json!({"TableName": "tbl", "Item": {"pk": {"S": "n"}, "v": {"N": 5}}}),
            "NUMBER_VALUE cannot be converted to String",
        ),
        (
            "PutItem",
            json!({"TableName": "tbl", "Item": {"pk": {"S": 5}}}),
            "NUMBER_VALUE cannot be converted to String",
        ),
        (
            "PutItem",
            json!({"TableName": "tbl", "Item": {"pk": {"S": "b"}, "b": {"B": "not base64!"}}}),
            "Base64 encoded length is expected a multiple of 4 bytes but found: 11",
        ),
        (
            "PutItem",
            json!({"TableName": "tbl", "Item": {"pk": {"S": "b"}, "b": {"BS": ["AAA*"]}}}),
            "Invalid last non-pad Base64 character dectected",
        ),
        (
            "PutItem",
            json!({"TableName": "tbl", "Item": {"pk": {"S": "b"}, "m": {"M": {"x": "plain"}}}}),
            "Unexpected value type in payload",
        ),
        (
            "PutItem",
            json!({"TableName": "tbl", "Item": []}),
            "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>",
        ),
        (
            "Scan",
            json!({"TableName": "tbl", "Limit": "10"}),
            "STRING_VALUE cannot be converted to Integer",
        ),
        (
            "Scan",
            json!({"TableName": ["t"]}),
            "Unrecognized collection type class java.lang.String",
        ),
        (
            "Scan",
            json!({"TableName": "tbl", "ConsistentRead": {}}),
            "Start of structure or map found where not expected",
        ),
        (
            "CreateTable",
            json!({"TableName": "uuu", "KeySchema": "pk"}),
            "Unexpected field type",
        ),
        (
            "BatchWriteItem",
            json!({"RequestItems": {"tbl": [{"PutRequest": {"Item": {"pk": {"N": 1.5}}}}]}}),
            "DECIMAL_VALUE cannot be converted to String",
        ),
    ];
    for (operation, body, message) in cases {
        let answer = post(region.addr, operation, &[], serde_json::to_vec(&body).unwrap()).await;
        assert_eq!(answer.status, 400, "{operation} {body}");
        answer.assert_crc();
        assert_eq!(answer.error_type(), "SerializationException", "{operation} {body}");
        assert_eq!(answer.message(), message, "{operation} {body}");
    }
    assert!(!item_exists(&region, "n").await);
    assert!(!item_exists(&region, "b").await);
    // What Coral converts is accepted: "true" for a boolean, 2.0 for an integer.
    let answer = post(
        region.addr,
        "Scan",
        &[],
        serde_json::to_vec(&json!({"TableName": "tbl", "ConsistentRead": "true", "Limit": 2.0})).unwrap(),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.json());
    region.shutdown().await;
}
