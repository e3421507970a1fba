//! No input can stop a region (issue 33): legacy conditions by the hundred
//! thousand, deep nesting, bad attribute names and enum members, admin clock
//! offsets that used to panic the writer, and a writer that dies anyway.
//! Every case is followed by ordinary requests that must still be served.

mod cluster;
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use aws_sdk_dynamodb::types::ScalarAttributeType;
use common::{DEADLINE, Keys, TestRegion, create_table, item, n, s};
use meridian::engine::{ItemOp, ItemWrite, Precondition};
use meridian::model::{AttributeValue, Item};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Everything the process logs, for the tests that check log lines.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    })
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured log lines that contain every one of `words`.
fn log_lines_with(words: &[&str]) -> Vec<String> {
    let text = String::from_utf8_lossy(&logs().lock().unwrap()).to_string();
    text.lines()
        .filter(|line| words.iter().all(|w| line.contains(w)))
        .map(str::to_string)
        .collect()
}

/// A region with table `tbl` (partition key `pk`, sort key `sk`) holding
/// two items.
async fn region_with_items() -> TestRegion {
    region_with_items_and(meridian::config::NodeConfig::default()).await
}

/// [`region_with_items`] with node settings `config`.
async fn region_with_items_and(config: meridian::config::NodeConfig) -> TestRegion {
    let region = TestRegion::start_with(config).await;
    create_table(
        &region.client,
        "tbl",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    for (sk, v) in [(1, "a"), (2, "b")] {
        put(&region, item([("pk", s("k")), ("sk", n(sk)), ("v", s(v))])).await;
    }
    region
}

/// Puts `row` into `tbl` through the SDK.
async fn put(region: &TestRegion, row: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) {
    let put = region.client.put_item().table_name("tbl").set_item(Some(row));
    put.send().await.expect("a write through the SDK");
}

/// The region still answers reads and writes through the SDK.
async fn still_serving(region: &TestRegion) {
    put(region, item([("pk", s("alive")), ("sk", n(0))])).await;
    let got = region
        .client
        .get_item()
        .table_name("tbl")
        .key("pk", s("alive"))
        .key("sk", n(0))
        .send()
        .await
        .expect("a read after the attack");
    assert!(got.item.is_some());
}

/// `count` legacy conditions `NE <i>` on attributes no item has (each true).
fn ne_conditions(count: usize) -> Value {
    let map: Map<String, Value> = (0..count)
        .map(|i| {
            let spec = json!({"ComparisonOperator": "NE", "AttributeValueList": [{"N": i.to_string()}]});
            (format!("x{i}"), spec)
        })
        .collect();
    Value::Object(map)
}

#[tokio::test]
async fn legacy_conditions_by_the_hundred_thousand_are_answered_and_the_region_keeps_serving() {
    let region = region_with_items().await;
    // `still_serving` adds one item per round.
    for (round, count) in [5_000, 100_000].into_iter().enumerate() {
        let items = 2 + round;
        let scan = region
            .raw_json("Scan", json!({"TableName": "tbl", "ScanFilter": ne_conditions(count)}))
            .await;
        assert_eq!(scan.status, 200, "{count} ScanFilter conditions: {}", scan.body);
        assert_eq!(scan.body["Count"], items);
        let query = region
            .raw_json(
                "Query",
                json!({"TableName": "tbl", "ConditionalOperator": "OR",
                       "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}},
                       "QueryFilter": ne_conditions(count)}),
            )
            .await;
        assert_eq!(query.status, 200, "{count} QueryFilter conditions: {}", query.body);
        assert_eq!(query.body["Count"], 2);
        let mut expected = ne_conditions(count);
        // One false condition among them: the conditional write must fail.
        expected["v"] = json!({"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "zzz"}]});
        let put = region
            .raw_json(
                "PutItem",
                json!({"TableName": "tbl", "Item": {"pk": {"S": "k"}, "sk": {"N": "1"}}, "Expected": expected}),
            )
            .await;
        assert_eq!(
            put.error_type(),
            "ConditionalCheckFailedException",
            "{count} Expected conditions: {}",
            put.body
        );
        still_serving(&region).await;
    }
    region.shutdown().await;
}

#[tokio::test]
async fn deep_nesting_is_refused_and_the_region_keeps_serving() {
    let region = region_with_items().await;
    let scan = |filter: String| json!({"TableName": "tbl", "FilterExpression": filter, "ExpressionAttributeValues": {":v": {"S": "a"}}});
    let parens = format!("{}v = :v{}", "(".repeat(2_000), ")".repeat(2_000));
    let nots = format!("{}v = :v", "NOT ".repeat(1_000));
    for filter in [parens, nots] {
        let answer = region.raw_json("Scan", scan(filter)).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_eq!(answer.error_type(), "ValidationException");
    }
    // The longest chain 4 KB allows is evaluated.
    let chain = vec!["v = :v"; 4096 / 11].join(" OR ");
    let answer = region.raw_json("Scan", scan(chain)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["Count"], 1);
    // JSON nested beyond the parser's limit, and attribute values nested
    // beyond DynamoDB's 32 levels.
    let deep_json = format!(
        "{{\"TableName\":\"t\",\"Item\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let answer = region.raw(Some("DynamoDB_20120810.PutItem"), deep_json).await;
    assert_eq!(answer.error_type(), "SerializationException", "{}", answer.body);
    let mut value = json!({"S": "leaf"});
    for _ in 0..40 {
        value = json!({"M": {"m": value}});
    }
    let put = region
        .raw_json(
            "PutItem",
            json!({"TableName": "tbl", "Item": {"pk": {"S": "k"}, "sk": {"N": "9"}, "deep": value}}),
        )
        .await;
    assert_eq!(put.error_type(), "ValidationException", "{}", put.body);
    still_serving(&region).await;
    region.shutdown().await;
}

#[tokio::test]
async fn attribute_names_empty_or_too_long_are_refused() {
    let region = region_with_items().await;
    let long = "n".repeat(100_000);
    for name in ["", long.as_str()] {
        let filter = json!({ name: {"ComparisonOperator": "NOT_NULL"} });
        let requests = [
            ("Scan", json!({"TableName": "tbl", "ScanFilter": filter})),
            ("Scan", json!({"TableName": "tbl", "AttributesToGet": [name]})),
            (
                "PutItem",
                json!({"TableName": "tbl", "Item": {"pk": {"S": "k"}, "sk": {"N": "3"}}, "Expected": filter}),
            ),
            (
                "Scan",
                json!({"TableName": "tbl", "ProjectionExpression": "#n", "ExpressionAttributeNames": {"#n": name}}),
            ),
            (
                "PutItem",
                json!({"TableName": "tbl", "Item": {"pk": {"S": "k"}, "sk": {"N": "3"}, name: {"S": "v"}}}),
            ),
            (
                "BatchWriteItem",
                json!({"RequestItems": {"tbl": [{"PutRequest": {"Item": {"pk": {"S": "k"}, "sk": {"N": "3"}, name: {"N": "1"}}}}]}}),
            ),
        ];
        for (operation, body) in requests {
            let answer = region.raw_json(operation, body.clone()).await;
            assert_eq!(answer.status, 400, "{operation} {}", answer.body);
            assert_eq!(answer.error_type(), "ValidationException");
            let expected = if name.is_empty() {
                "Empty attribute name"
            } else {
                "exceeds the maximum length"
            };
            assert!(answer.message().contains(expected), "{}", answer.message());
        }
    }
    let answer = region
        .raw_json(
            "Scan",
            json!({"TableName": "tbl", "ScanFilter": {"": {"ComparisonOperator": "NULL"}}}),
        )
        .await;
    assert_eq!(
        answer.message(),
        "One or more parameter values were invalid: Empty attribute name"
    );
    still_serving(&region).await;
    region.shutdown().await;
}

#[tokio::test]
async fn enum_members_of_a_wrong_type_or_value_are_refused() {
    let region = region_with_items().await;
    let put = |extra: Value| {
        let mut body = json!({"TableName": "tbl", "Item": {"pk": {"S": "k"}, "sk": {"N": "5"}}});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (
            "PutItem",
            put(json!({"ReturnItemCollectionMetrics": 5})),
            "SerializationException",
            "NUMBER_VALUE cannot be converted to String",
        ),
        (
            "PutItem",
            put(json!({"ReturnItemCollectionMetrics": {"a": 1}})),
            "SerializationException",
            "Start of structure or map found where not expected",
        ),
        (
            "PutItem",
            put(json!({"ReturnItemCollectionMetrics": "ALL"})),
            "ValidationException",
            "1 validation error detected: Value 'ALL' at 'returnItemCollectionMetrics' failed to satisfy constraint: Member must satisfy enum value set: [SIZE, NONE]",
        ),
        (
            "PutItem",
            put(json!({"ConditionalOperator": ["AND"]})),
            "SerializationException",
            "Unrecognized collection type class java.lang.String",
        ),
        (
            "Scan",
            json!({"TableName": "tbl", "ConditionalOperator": true}),
            "SerializationException",
            "TRUE_VALUE cannot be converted to String",
        ),
        (
            "Scan",
            json!({"TableName": "tbl", "ConditionalOperator": "XOR"}),
            "ValidationException",
            "1 validation error detected: Value 'XOR' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [OR, AND]",
        ),
    ];
    for (operation, body, error, message) in cases {
        let answer = region.raw_json(operation, body.clone()).await;
        assert_eq!((answer.error_type(), answer.message()), (error, message), "{body}");
    }
    let ok = region.raw_json("DeleteItem", json!({"TableName": "tbl", "Key": {"pk": {"S": "k"}, "sk": {"N": "5"}}, "ReturnItemCollectionMetrics": "SIZE"})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    still_serving(&region).await;
    region.shutdown().await;
}

#[tokio::test]
async fn clock_offsets_beyond_a_day_are_refused_and_the_writer_survives() {
    let region = region_with_items().await;
    let panicked_before = [
        "9223372036854775807",
        "-9223372036854775808",
        "1000000000000000",
        "-10000000000000",
    ];
    let accepted_silently_before = ["10000000000000", "86400001", "-86400001"];
    let not_an_i64 = ["9223372036854775808", "1.5", "\"1\""];
    for offset in panicked_before
        .iter()
        .chain(&accepted_silently_before)
        .chain(&not_an_i64)
    {
        let (status, body) =
            cluster::http_post_raw(region.addr, "/admin/clock", &format!("{{\"offset_ms\": {offset}}}")).await;
        assert_eq!(status, 400, "offset {offset}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "offset {offset}: {body}"
        );
        still_serving(&region).await;
    }
    let (status, body) = cluster::http_post_raw(region.addr, "/admin/clock", "{\"offset_ms\": 10000000000000}").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("86400000"), "{body}");
    for offset in [86_400_000i64, -86_400_000, 0] {
        let (status, body) =
            cluster::http_post_raw(region.addr, "/admin/clock", &format!("{{\"offset_ms\": {offset}}}")).await;
        assert_eq!((status, &body["offset_ms"]), (200, &json!(offset)), "{body}");
        still_serving(&region).await;
    }
    region.shutdown().await;
}

#[tokio::test]
async fn link_settings_out_of_range_are_refused_with_a_400() {
    let cluster = cluster::Cluster::start(2, &[0, 0]).await;
    let api = cluster.topology.region[0].api;
    let to = &cluster.topology.region[1].name;
    let refused = [
        json!({"to": to, "delay_ms": 600_001}),
        json!({"to": to, "jitter_ms": 600_001}),
        json!({"to": to, "delay_ms": u64::MAX}),
        json!({"to": to, "delay_ms": -1}),
        json!({"to": to, "loss": 1.5}),
        json!({"to": to, "loss": "half"}),
        json!({"to": "nowhere", "delay_ms": 5}),
        json!({"to": to, "unknown": 1}),
    ];
    for patch in refused {
        let (status, body) = cluster::http_post_raw(api, "/admin/links", &patch.to_string()).await;
        assert_eq!(status, 400, "{patch}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{patch}: {body}");
    }
    let (status, body) = cluster::http_post_raw(api, "/admin/links", "not json").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        cluster::http_post_raw(api, "/admin/links", &json!({"to": to, "delay_ms": 600_000}).to_string()).await;
    assert_eq!((status, &body["link"]["delay_ms"]), (200, &json!(600_000)), "{body}");
    let (status, _) = cluster::http_post_raw(api, "/admin/links", &json!({"to": to, "reset": true}).to_string()).await;
    assert_eq!(status, 200);
    cluster
        .client(0)
        .list_tables()
        .send()
        .await
        .expect("the region still serves");
    cluster.shutdown().await;
}

/// A condition that panics when the writer evaluates it: conditions run on
/// the writer thread, as the legacy conditions that overflowed its stack did.
struct Panics;

impl Precondition for Panics {
    fn holds(&self, _item: &Item) -> Result<bool, String> {
        panic!("test-induced writer panic");
    }
}

#[tokio::test]
async fn a_dead_writer_stops_the_region_with_its_cause_logged() {
    logs();
    let region = region_with_items().await;
    let mut key = Item::new();
    key.insert("pk".into(), AttributeValue::S("k".into()));
    key.insert("sk".into(), AttributeValue::N(1.into()));
    let write = ItemWrite {
        condition: Some(Box::new(Panics)),
        ..ItemWrite::new(ItemOp::Put(key))
    };
    let engine = region.node().engine().clone();
    assert!(engine.write_item("tbl".into(), write).await.is_err());
    let reason = tokio::time::timeout(DEADLINE, region.node().failed())
        .await
        .expect("the region reports its dead writer");
    assert!(reason.contains("writer"), "{reason}");
    // The API stops answering rather than failing every write with a 500.
    let addr = region.addr;
    common::wait_for("the API to close", || async move {
        tokio::net::TcpStream::connect(addr).await.err().map(|_| ())
    })
    .await;
    let panics = log_lines_with(&["panic", "test-induced writer panic", "writer-"]);
    assert_eq!(
        panics.len(),
        1,
        "the panic is logged once with its cause and thread: {panics:?}"
    );
    assert_eq!(
        log_lines_with(&["writer thread stopped unexpectedly", "shutting the region down"]).len(),
        1
    );
    region.shutdown().await;
}

/// Reads `stream` until the server closes it (or resets it); returns what
/// it sent.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server never closed the connection");
    String::from_utf8_lossy(&received).to_string()
}

/// Opens `count` connections to `addr` that never send anything.
async fn idle_connections(addr: std::net::SocketAddr, count: usize) -> Vec<tokio::net::TcpStream> {
    let mut idle = Vec::with_capacity(count);
    for _ in 0..count {
        idle.push(
            tokio::net::TcpStream::connect(addr)
                .await
                .expect("connect an idle connection"),
        );
    }
    idle
}

/// A connection that announces a body of `length` bytes and sends `sent`.
async fn slow_body(addr: std::net::SocketAddr, length: usize, sent: &str) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {length}\r\n\r\n{sent}"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// An SDK client writing and reading in a loop until told to stop; returns
/// the requests served and the errors.
fn client_load(
    region: &TestRegion,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<(u64, Vec<String>)>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let client = region.client.clone();
    let load = tokio::spawn(async move {
        let (mut served, mut errors) = (0u64, Vec::new());
        for i in 0u64.. {
            if *stopped.borrow() {
                break;
            }
            let row = item([("pk", s("load")), ("sk", n(i % 10)), ("v", n(i))]);
            match client.put_item().table_name("tbl").set_item(Some(row)).send().await {
                Ok(_) => served += 1,
                Err(e) => errors.push(format!("{e:?}")),
            }
            let got = client
                .get_item()
                .table_name("tbl")
                .key("pk", s("load"))
                .key("sk", n(i % 10))
                .send()
                .await;
            match got {
                Ok(got) if got.item.is_some() => served += 1,
                other => errors.push(format!("{other:?}")),
            }
        }
        (served, errors)
    });
    (stop, load)
}

/// Sends `more` reads through a new SDK client (a new connection, so that
/// none of them reuses a connection the server is closing for idleness).
async fn served_more(region: &TestRegion, more: usize) {
    let client = common::client(region.addr);
    for i in 0..more {
        let got = client
            .get_item()
            .table_name("tbl")
            .key("pk", s("k"))
            .key("sk", n(1))
            .send()
            .await;
        assert!(
            got.is_ok_and(|g| g.item.is_some()),
            "request {i} of the real client failed"
        );
    }
}

#[tokio::test]
async fn with_the_defaults_thousands_of_idle_connections_and_a_stuck_body_do_not_starve_a_client() {
    logs();
    let region = region_with_items().await;
    let (stop, load) = client_load(&region);
    served_more(&region, 5).await;
    let _stuck = slow_body(region.addr, 1_000, "{\"TableName\":").await;
    let idle = idle_connections(region.addr, 2_000).await;
    served_more(&region, 50).await;
    let _ = stop.send(true);
    let (served, errors) = load.await.unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(served > 0);
    drop(idle);
    region.shutdown().await;
}

#[tokio::test]
async fn limits_close_idle_and_slow_connections_with_rate_limited_warnings() {
    logs();
    let mut config = meridian::config::NodeConfig::default();
    config.limits.max_request_bytes = 1 << 20;
    config.connections = meridian::config::ConnectionsConfig {
        max_connections: 150,
        max_connections_per_address: 100,
        header_read_timeout_ms: 1_000,
        body_read_timeout_ms: 1_000,
        idle_timeout_ms: 3_000,
        warn_interval_secs: 3_600,
    };
    let region = region_with_items_and(config).await;
    let (stop, load) = client_load(&region);
    served_more(&region, 5).await;

    // Five times the per-address cap of connections that never send: the
    // oldest are closed to admit the newest, the rest once their headers
    // are overdue.
    let idle = idle_connections(region.addr, 500).await;
    // A body announced and never finished: closed after the body timeout.
    let mut stuck = slow_body(region.addr, 1_000, "{\"TableName\":").await;
    // Headers never finished: closed after the header timeout.
    let mut no_headers = tokio::net::TcpStream::connect(region.addr).await.unwrap();
    no_headers.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // A Content-Length over the limit: refused from the header.
    let mut too_large = slow_body(region.addr, 2_000_000, "").await;
    // A connection served once, then kept alive without a next request:
    // closed after the idle timeout.
    let mut kept_alive = slow_body(region.addr, 2, "{}").await;
    served_more(&region, 20).await;

    let refused = read_until_closed(&mut too_large).await;
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    assert!(refused.contains("RequestEntityTooLargeException"), "{refused}");
    assert!(refused.contains("Request size exceeded 1048576 bytes"), "{refused}");
    assert!(!read_until_closed(&mut stuck).await.starts_with("HTTP/1.1 200"));
    read_until_closed(&mut no_headers).await;
    let served_once = read_until_closed(&mut kept_alive).await;
    assert!(served_once.starts_with("HTTP/1.1 "), "{served_once}");
    assert_eq!(served_once.matches("HTTP/1.1 ").count(), 1, "{served_once}");
    served_more(&region, 20).await;
    let _ = stop.send(true);
    let (served, errors) = load.await.unwrap();
    assert!(errors.is_empty(), "the real client failed: {errors:?}");
    assert!(served > 0);

    let per_address = log_lines_with(&["WARN", "connections.max_connections_per_address", "client=127.0.0.1"]);
    assert_eq!(
        per_address.len(),
        1,
        "one warning, the other hits counted, not logged: {per_address:?}"
    );
    for (what, key) in [
        ("body read timeout", "connections.body_read_timeout_ms"),
        ("header read timeout", "connections.header_read_timeout_ms"),
        ("request too large", "limits.max_request_bytes"),
        ("idle timeout", "connections.idle_timeout_ms"),
    ] {
        assert_eq!(log_lines_with(&["WARN", what, key]).len(), 1, "{what}");
    }
    drop(idle);
    region.shutdown().await;
}

/// A two-region topology (so that `serve` loads the cluster CA) in `dir`.
fn two_region_topology(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("topology.toml");
    let regions = ["a", "b"]
        .map(|name| format!("[[region]]\nname = \"{name}\"\napi = \"127.0.0.1:0\"\npeer = \"127.0.0.1:0\"\n"))
        .join("\n");
    std::fs::write(&path, format!("cluster = \"secrets\"\n\n{regions}")).unwrap();
    path
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_cluster_ca_key_is_created_0600_and_a_readable_one_stops_the_region() {
    let dir = tempfile::tempdir().unwrap();
    let topology = two_region_topology(dir.path());
    let data = dir.path().join("data");
    let meridian = env!("CARGO_BIN_EXE_meridian");
    // With no umask at all, the key must still be the owner's only.
    let init = tokio::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" init --topology \"$1\" --data-dir \"$2\"")
        .arg(meridian)
        .arg(&topology)
        .arg(&data)
        .output()
        .await
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let key = data.join(meridian::replication::tls::CA_KEY_FILE);
    assert_eq!(mode(&key), 0o600);

    use std::os::unix::fs::PermissionsExt;
    for readable in [0o640, 0o604, 0o644] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(readable)).unwrap();
        let serve = tokio::process::Command::new(meridian)
            .args(["serve", "--region", "a", "--topology"])
            .arg(&topology)
            .arg("--data-dir")
            .arg(&data)
            .kill_on_drop(true)
            .output();
        let serve = tokio::time::timeout(DEADLINE, serve)
            .await
            .expect("serve exits")
            .unwrap();
        assert!(
            !serve.status.success(),
            "a region started with its CA key mode {readable:o}"
        );
        let stderr = String::from_utf8_lossy(&serve.stderr);
        assert!(stderr.contains("readable by group or others"), "{stderr}");
        assert!(stderr.contains(&format!("chmod 600 {}", key.display())), "{stderr}");
    }
}
