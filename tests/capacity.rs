//! Capacity enforcement through the AWS SDK: provisioned tables throttle
//! once their burst is spent (and not before), eventually consistent reads
//! cost half, the SDK's default retries complete a throttled batch,
//! on-demand tables throttle at their per-table maximum, a hot key throttles
//! alone, GSIs' reads and replicated writes use the GSIs' own capacity,
//! refusals carry `ThrottlingReasons`, and the metrics count exactly what
//! was done. Buckets refill on an injected manual clock: nothing waits on
//! the wall clock for capacity.

mod cluster;
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, KeysAndAttributes, ProvisionedThroughput, PutRequest, ReturnConsumedCapacity,
    ScalarAttributeType, TableStatus, WriteRequest,
};
use common::{DEADLINE, Keys, REGION, error_code, error_message, item, s};
use meridian::capacity::ManualClock;
use meridian::config::{NodeConfig, RegionConfig, Topology};
use meridian::node::{Node, NodeOptions};
use serde_json::json;
use tempfile::TempDir;

const PROVISIONED_MESSAGE: &str = "The level of configured provisioned throughput for the table was exceeded. \
     Consider increasing your provisioning level with the UpdateTable API.";

/// A region whose capacity buckets run on `clock`.
struct Region {
    node: Node,
    client: Client,
    clock: Arc<ManualClock>,
    _dir: TempDir,
}

impl Region {
    async fn start(config: NodeConfig) -> Region {
        let dir = tempfile::tempdir().expect("create a temporary data directory");
        let topology = Topology {
            cluster: "test".into(),
            region: vec![RegionConfig {
                name: REGION.into(),
                api: "127.0.0.1:0".parse().expect("literal address"),
                peer: "127.0.0.1:0".parse().expect("literal address"),
                clock_offset_ms: 0,
            }],
            link: Vec::new(),
            table: Vec::new(),
        };
        let clock = ManualClock::new();
        let mut options = NodeOptions::new(topology, REGION, dir.path().to_path_buf());
        options.config = config;
        options.capacity_clock = Some(clock.clone());
        let node = Node::start(options).await.expect("start the region");
        let client = common::client(node.api_addr);
        Region {
            node,
            client,
            clock,
            _dir: dir,
        }
    }

    /// The value of one series of `/metrics`, e.g.
    /// `meridian_write_throttle_events_total{table="orders"}`; 0 when absent.
    async fn metric(&self, series: &str) -> f64 {
        metric_at(self.node.api_addr, series).await
    }
}

/// The value of one series of `/metrics` of the region at `addr`; 0 when
/// absent.
async fn metric_at(addr: std::net::SocketAddr, series: &str) -> f64 {
    let body = cluster::http_get(addr, "/metrics").await;
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

/// Creates table `name` keyed by the string `pk`, provisioned at `units`
/// read and write units, or on-demand for `None`.
async fn create_table(region: &Region, name: &str, units: Option<i64>) {
    let Some(units) = units else {
        return common::create_table(&region.client, name, Keys::Hash("pk", ScalarAttributeType::S)).await;
    };
    let body = json!({
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": units, "WriteCapacityUnits": units},
    });
    create_raw(region, &body).await;
}

/// CreateTable with the JSON `body` as sent; its response body.
async fn create_raw(region: &Region, body: &serde_json::Value) -> serde_json::Value {
    let target = Some("DynamoDB_20120810.CreateTable");
    let response = common::raw_request(region.node.api_addr, target, body.to_string().into()).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.body
}

/// 25 puts of small items (one write unit each) named `prefix`0..24.
fn batch(prefix: &str) -> Vec<WriteRequest> {
    (0..25)
        .map(|i| {
            let put = PutRequest::builder()
                .set_item(Some(item([("pk", s(format!("{prefix}{i}")))])))
                .build()
                .unwrap();
            WriteRequest::builder().put_request(put).build()
        })
        .collect()
}

async fn write_batch(client: &Client, table: &str, prefix: &str) {
    let out = client
        .batch_write_item()
        .request_items(table, batch(prefix))
        .send()
        .await
        .expect("the batch is within capacity");
    assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
}

async fn put(client: &Client, table: &str, key: &str) -> Result<(), (String, String)> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item([("pk", s(key))])))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| (error_code(&e), error_message(&e)))
}

fn provisioned_refusal() -> Result<(), (String, String)> {
    Err((
        "ProvisionedThroughputExceededException".into(),
        PROVISIONED_MESSAGE.into(),
    ))
}

#[tokio::test]
async fn a_provisioned_table_throttles_once_its_burst_is_spent_and_not_before() {
    let region = Region::start(NodeConfig::default()).await;
    let client = &region.client;
    create_table(&region, "orders", Some(5)).await;
    // 5 WCU keep 300 s of burst: 1500 one-unit writes pass at once.
    for b in 0..60 {
        write_batch(client, "orders", &format!("b{b}-")).await;
    }
    assert_eq!(put(client, "orders", "over").await, provisioned_refusal());

    // The refusal is DynamoDB's error with HTTP 400, so the SDKs retry it.
    let raw = common::raw_request(
        region.node.api_addr,
        Some("DynamoDB_20120810.PutItem"),
        serde_json::to_vec(&json!({"TableName": "orders", "Item": {"pk": {"S": "raw"}}}))
            .unwrap()
            .into(),
    )
    .await;
    assert_eq!(raw.status, 400);
    assert_eq!(raw.error_type(), "ProvisionedThroughputExceededException");
    assert_eq!(raw.message(), PROVISIONED_MESSAGE);

    // Refused requests took nothing: a fifth of a second refills exactly
    // one unit at 5 WCU, enough for one write and not two.
    region.clock.advance(Duration::from_millis(200));
    assert_eq!(put(client, "orders", "refilled").await, Ok(()));
    assert_eq!(put(client, "orders", "over-again").await, provisioned_refusal());

    let table = r#"{table="orders"}"#;
    let metric = |name: &str| format!("meridian_{name}{table}");
    assert_eq!(
        region.metric(&metric("consumed_write_capacity_units_total")).await,
        1501.0
    );
    assert_eq!(region.metric(&metric("write_throttle_events_total")).await, 3.0);
    assert_eq!(region.metric(&metric("read_throttle_events_total")).await, 0.0);
    assert_eq!(region.metric(&metric("provisioned_write_capacity_units")).await, 5.0);
    assert_eq!(region.metric(&metric("provisioned_read_capacity_units")).await, 5.0);
    assert_eq!(
        region
            .metric(r#"meridian_throttled_requests_total{table="orders",operation="PutItem"}"#)
            .await,
        3.0
    );
    assert_eq!(
        region
            .metric(r#"meridian_requests_total{operation="PutItem",outcome="ProvisionedThroughputExceededException"}"#)
            .await,
        3.0
    );
}

/// A BatchGetItem of `count` keys of table `t`, eventually consistent
/// unless `consistent`; returns the units it reported, or the error code.
async fn batch_get(client: &Client, count: usize, consistent: bool) -> Result<f64, String> {
    let keys: Vec<HashMap<String, AttributeValue>> = (0..count).map(|i| item([("pk", s(format!("k{i}")))])).collect();
    let spec = KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .consistent_read(consistent)
        .build()
        .unwrap();
    let out = client
        .batch_get_item()
        .request_items("orders", spec)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .map_err(|e| error_code(&e))?;
    Ok(out.consumed_capacity()[0].capacity_units().unwrap_or(-1.0))
}

#[tokio::test]
async fn eventually_consistent_reads_cost_half_of_consistent_ones() {
    let region = Region::start(NodeConfig::default()).await;
    let client = &region.client;
    create_table(&region, "orders", Some(1)).await;
    // 1 RCU keeps 300 units: six batches of 100 eventually consistent
    // reads at half a unit each, and not a seventh.
    for _ in 0..6 {
        assert_eq!(batch_get(client, 100, false).await, Ok(50.0));
    }
    assert_eq!(
        batch_get(client, 1, false).await,
        Err("ProvisionedThroughputExceededException".into())
    );
    // 100 seconds refill 100 units: 100 consistent reads exactly.
    region.clock.advance(Duration::from_secs(100));
    assert_eq!(batch_get(client, 100, true).await, Ok(100.0));
    let get = client
        .get_item()
        .table_name("orders")
        .key("pk", s("k0"))
        .send()
        .await
        .expect_err("the bucket is empty");
    assert_eq!(error_code(&get), "ProvisionedThroughputExceededException");
    assert_eq!(
        region
            .metric(r#"meridian_consumed_read_capacity_units_total{table="orders"}"#)
            .await,
        400.0
    );
    assert_eq!(
        region
            .metric(r#"meridian_read_throttle_events_total{table="orders"}"#)
            .await,
        2.0
    );
}

/// An SDK client with the default retry configuration (standard mode,
/// three attempts, exponential backoff with jitter).
fn retrying_client(addr: std::net::SocketAddr) -> Client {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_dynamodb::Config::builder()
        .http_client(http)
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(REGION))
        .endpoint_url(format!("http://{addr}"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("k", "s", None, None, "test"))
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn the_sdks_default_retries_complete_a_throttled_batch() {
    let region = Region::start(NodeConfig::default()).await;
    create_table(&region, "orders", Some(1)).await;
    for b in 0..12 {
        write_batch(&region.client, "orders", &format!("b{b}-")).await;
    }
    let retrying = retrying_client(region.node.api_addr);
    let write = tokio::spawn(async move {
        retrying
            .batch_write_item()
            .request_items("orders", batch("retried-"))
            .send()
            .await
    });
    // Once the first attempt has been refused, 25 seconds refill what the
    // batch needs; one of the SDK's retries then gets through.
    let events = r#"meridian_write_throttle_events_total{table="orders"}"#;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while region.metric(events).await < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "the batch was never throttled");
        assert!(!write.is_finished(), "the batch ended before it was throttled");
        tokio::task::yield_now().await;
    }
    region.clock.advance(Duration::from_secs(25));
    let out = write.await.unwrap().expect("the SDK's retries complete the batch");
    assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    let throttles = region.metric(events).await;
    assert!(
        (1.0..=2.0).contains(&throttles),
        "{throttles} throttles in three attempts"
    );
    assert_eq!(
        region
            .metric(r#"meridian_consumed_write_capacity_units_total{table="orders"}"#)
            .await,
        325.0
    );
}

#[tokio::test]
async fn an_on_demand_table_throttles_at_its_maximum_with_throttling_exception() {
    let mut config = NodeConfig::default();
    config.capacity.table_max_write_units = 10;
    let region = Region::start(config).await;
    let client = &region.client;
    create_table(&region, "orders", None).await;
    for i in 0..10 {
        assert_eq!(put(client, "orders", &format!("k{i}")).await, Ok(()));
    }
    let (code, message) = put(client, "orders", "over").await.expect_err("over the maximum");
    assert_eq!(code, "ThrottlingException");
    assert!(message.starts_with("Throughput exceeds the current capacity of your table or index."));
    // An on-demand maximum is per second, with no 300-second burst.
    region.clock.advance(Duration::from_secs(3600));
    for i in 0..10 {
        assert_eq!(put(client, "orders", &format!("again{i}")).await, Ok(()));
    }
    assert!(put(client, "orders", "over").await.is_err());
    assert_eq!(
        region
            .metric(r#"meridian_write_throttle_events_total{table="orders"}"#)
            .await,
        2.0
    );
    // On-demand tables have no provisioned units to report.
    assert_eq!(
        region
            .metric(r#"meridian_provisioned_write_capacity_units{table="orders"}"#)
            .await,
        0.0
    );
}

#[tokio::test]
async fn with_partition_limits_a_hot_key_throttles_and_other_keys_do_not() {
    let mut config = NodeConfig::default();
    config.capacity.partition_limits = true;
    config.capacity.partition_write_units = 5;
    let region = Region::start(config).await;
    let client = &region.client;
    create_table(&region, "orders", None).await;
    create_table(&region, "prov", Some(100)).await;
    for _ in 0..5 {
        assert_eq!(put(client, "orders", "hot").await, Ok(()));
        assert_eq!(put(client, "prov", "hot").await, Ok(()));
    }
    let (code, _) = put(client, "orders", "hot")
        .await
        .expect_err("the hot key is over its ceiling");
    assert_eq!(code, "ThrottlingException");
    assert_eq!(put(client, "prov", "hot").await, provisioned_refusal());
    assert_eq!(put(client, "prov", "hot").await, provisioned_refusal());
    for i in 0..20 {
        assert_eq!(put(client, "orders", &format!("cold{i}")).await, Ok(()));
    }
    region.clock.advance(Duration::from_secs(1));
    assert_eq!(put(client, "orders", "hot").await, Ok(()));

    let status: serde_json::Value =
        serde_json::from_str(&cluster::http_get(region.node.api_addr, "/status").await).unwrap();
    assert_eq!(
        status["hot_keys"],
        json!([
            {"table": "prov", "key": r#"{"pk":{"S":"hot"}}"#, "throttles": 2},
            {"table": "orders", "key": r#"{"pk":{"S":"hot"}}"#, "throttles": 1},
        ])
    );
    assert_eq!(
        region
            .metric(r#"meridian_partition_key_throttles_total{table="orders",key="{\"pk\":{\"S\":\"hot\"}}"}"#)
            .await,
        1.0
    );
}

#[tokio::test]
async fn metrics_count_reads_conditions_and_errors_exactly() {
    let region = Region::start(NodeConfig::default()).await;
    let client = &region.client;
    create_table(&region, "orders", None).await;
    for i in 0..3 {
        assert_eq!(put(client, "orders", &format!("k{i}")).await, Ok(()));
    }
    let failed = client
        .put_item()
        .table_name("orders")
        .set_item(Some(item([("pk", s("k0"))])))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .expect_err("k0 exists");
    assert_eq!(error_code(&failed), "ConditionalCheckFailedException");
    let scan = client.scan().table_name("orders").send().await.unwrap();
    assert_eq!(scan.count(), 3);
    client
        .get_item()
        .table_name("orders")
        .key("pk", s("k1"))
        .send()
        .await
        .unwrap();
    client
        .get_item()
        .table_name("orders")
        .key("pk", s("none"))
        .send()
        .await
        .unwrap();
    let missing = client.get_item().table_name("missing").key("pk", s("k")).send().await;
    assert_eq!(error_code(&missing.unwrap_err()), "ResourceNotFoundException");

    let counts = [
        (
            r#"meridian_conditional_check_failed_requests_total{table="orders"}"#,
            1.0,
        ),
        (
            r#"meridian_returned_item_count_total{table="orders",operation="Scan"}"#,
            3.0,
        ),
        (
            r#"meridian_returned_item_count_total{table="orders",operation="GetItem"}"#,
            1.0,
        ),
        // Three puts and the failed one: one unit each.
        (r#"meridian_consumed_write_capacity_units_total{table="orders"}"#, 4.0),
        // The scan read three small items (half a unit rounded up per 4 KB
        // read at once), the gets half a unit each.
        (r#"meridian_consumed_read_capacity_units_total{table="orders"}"#, 1.5),
        ("meridian_user_errors_total", 1.0),
        ("meridian_system_errors_total", 0.0),
        (
            r#"meridian_successful_request_latency_seconds_count{operation="GetItem"}"#,
            2.0,
        ),
    ];
    for (series, value) in counts {
        assert_eq!(region.metric(series).await, value, "{series}");
    }
}

/// UpdateTable of `table`'s billing: on-demand, or provisioned at `units`.
async fn set_billing(client: &Client, table: &str, units: Option<i64>) -> Result<TableStatus, (String, String)> {
    let mut update = client.update_table().table_name(table);
    update = match units {
        None => update.billing_mode(BillingMode::PayPerRequest),
        Some(units) => update.billing_mode(BillingMode::Provisioned).provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(units)
                .write_capacity_units(units)
                .build()
                .unwrap(),
        ),
    };
    let out = update.send().await.map_err(|e| (error_code(&e), error_message(&e)))?;
    Ok(out.table_description().unwrap().table_status().unwrap().clone())
}

#[tokio::test]
async fn update_table_limits_switches_to_on_demand_and_decreases() {
    let region = Region::start(NodeConfig::default()).await;
    let client = &region.client;
    create_table(&region, "orders", Some(10)).await;
    // Four switches to on-demand in a rolling day, back to provisioned at
    // any time; the change answers UPDATING, and applies at once.
    for _ in 0..4 {
        assert_eq!(set_billing(client, "orders", None).await, Ok(TableStatus::Updating));
        assert_eq!(set_billing(client, "orders", Some(10)).await, Ok(TableStatus::Updating));
    }
    let described = client.describe_table().table_name("orders").send().await.unwrap();
    assert_eq!(described.table().unwrap().table_status(), Some(&TableStatus::Active));
    let (code, message) = set_billing(client, "orders", None).await.unwrap_err();
    assert_eq!(code, "LimitExceededException");
    assert!(
        message.starts_with("Subscriber limit exceeded: Update to PayPerRequest mode"),
        "{message}"
    );

    // The same throughput is not a change.
    let (code, message) = set_billing(client, "orders", Some(10)).await.unwrap_err();
    assert_eq!(code, "ValidationException");
    assert!(message.starts_with("The provisioned throughput for the table will not change."));

    // Four decreases at once, then one an hour.
    for units in [9, 8, 7, 6] {
        assert_eq!(
            set_billing(client, "orders", Some(units)).await,
            Ok(TableStatus::Updating)
        );
    }
    let (code, message) = set_billing(client, "orders", Some(5)).await.unwrap_err();
    assert_eq!(code, "LimitExceededException");
    assert!(message.contains("Number of decreases today: 4."), "{message}");
    assert_eq!(set_billing(client, "orders", Some(50)).await, Ok(TableStatus::Updating));

    // A day later (the region's simulated clock) every limit has reset.
    region.node.engine().hlc().set_offset_ms(86_400_000).unwrap();
    assert_eq!(set_billing(client, "orders", Some(5)).await, Ok(TableStatus::Updating));
    assert_eq!(set_billing(client, "orders", None).await, Ok(TableStatus::Updating));
}

/// Creates table `Indexed` keyed by `pk`, billed per `billing` (a member
/// and its value), with a KEYS_ONLY GSI `byG` on `g` whose capacity member
/// is `index`; the CreateTable response.
async fn create_indexed(
    region: &Region,
    billing: (&str, serde_json::Value),
    index: (&str, serde_json::Value),
) -> serde_json::Value {
    let mut gsi = json!({
        "IndexName": "byG",
        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    });
    gsi[index.0] = index.1;
    let mut create = json!({
        "TableName": "Indexed",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [gsi],
    });
    create[billing.0] = billing.1;
    create_raw(region, &create).await
}

/// Puts item `key` into `Indexed` with a `g`, so that `byG` indexes it.
async fn put_indexed(
    region: &Region,
    key: String,
) -> Result<
    aws_sdk_dynamodb::operation::put_item::PutItemOutput,
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError>,
> {
    region
        .client
        .put_item()
        .table_name("Indexed")
        .set_item(Some(item([("pk", s(key)), ("g", s("x"))])))
        .send()
        .await
}

#[tokio::test]
async fn a_gsi_out_of_write_capacity_throttles_its_table() {
    let region = Region::start(NodeConfig::default()).await;
    let throughput = json!({"ReadCapacityUnits": 1, "WriteCapacityUnits": 1});
    let billing = (
        "ProvisionedThroughput",
        json!({"ReadCapacityUnits": 100, "WriteCapacityUnits": 100}),
    );
    create_indexed(&region, billing, ("ProvisionedThroughput", throughput)).await;
    let put_g = |key: String| put_indexed(&region, key);
    // The GSI's burst: 300 seconds of its 1 write unit, well within the
    // table's 30,000.
    for i in 0..300 {
        put_g(format!("k{i}")).await.expect("within the GSI's burst");
    }
    let refused = put_g("k300".into()).await.unwrap_err();
    assert_eq!(error_code(&refused), "ProvisionedThroughputExceededException");
    assert_eq!(
        error_message(&refused),
        "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API"
    );
    // An item outside the index costs the GSI nothing, so it is written.
    put(&region.client, "Indexed", "no-g")
        .await
        .expect("a write the GSI does not see");
    // A second later the GSI has refilled one unit.
    region.clock.advance(Duration::from_secs(1));
    put_g("k300".into()).await.expect("one more unit after a second");
    region.node.shutdown().await;
}

#[tokio::test]
async fn replicated_writes_consume_the_receiving_regions_capacity_and_are_never_refused() {
    // Region A serves 10 write units a second per on-demand table, region
    // B 4 (each replica enforces its own), both on one manual clock.
    let mut config = NodeConfig::default();
    config.capacity.table_max_write_units = 10;
    let clock = ManualClock::new();
    let mut cluster = cluster::Cluster::start_clocked(2, &[0, 0], 1, config, Vec::new(), Some(clock.clone())).await;
    cluster.config.capacity.table_max_write_units = 4;
    cluster.restart(1).await;
    cluster::create_table(&cluster, 0, "orders").await;
    // Clients without retries: each refusal is seen (and counted) once.
    let b_addr = cluster.node(1).api_addr;
    let (a, b) = (common::client(cluster.node(0).api_addr), common::client(b_addr));
    for i in 0..10 {
        assert_eq!(put(&a, "orders", &format!("a{i}")).await, Ok(()));
    }
    // All ten reach B although B serves only 4 units a second: replicated
    // writes are never refused. They are charged there all the same.
    let replicated = r#"meridian_replicated_write_capacity_units_total{table="orders"}"#;
    cluster::eventually("A's writes charged in B", DEADLINE, || async {
        (metric_at(b_addr, replicated).await == 10.0).then_some(())
    })
    .await;
    let scan = b
        .scan()
        .table_name("orders")
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(scan.count(), 10);
    // B's bucket is 6 units in debt, which its local writes wait out.
    let throttled = || async { put(&b, "orders", "over").await.map_err(|(code, _)| code) };
    assert_eq!(throttled().await, Err("ThrottlingException".to_string()));
    clock.advance(Duration::from_secs(1));
    assert_eq!(throttled().await, Err("ThrottlingException".to_string()));
    clock.advance(Duration::from_secs(1));
    for i in 0..2 {
        assert_eq!(put(&b, "orders", &format!("b{i}")).await, Ok(()));
    }
    assert_eq!(throttled().await, Err("ThrottlingException".to_string()));
    let consumed = r#"meridian_consumed_write_capacity_units_total{table="orders"}"#;
    assert_eq!(metric_at(b_addr, consumed).await, 12.0);
    assert_eq!(metric_at(b_addr, replicated).await, 10.0);
    assert_eq!(
        metric_at(b_addr, r#"meridian_write_throttle_events_total{table="orders"}"#).await,
        3.0
    );
    cluster.shutdown().await;
}

/// DescribeTable's OnDemandThroughput of `table`, as (read, write).
async fn described_maximums(client: &Client, table: &str) -> (Option<i64>, Option<i64>) {
    let described = client.describe_table().table_name(table).send().await.unwrap();
    let throughput = described
        .table()
        .unwrap()
        .on_demand_throughput()
        .expect("OnDemandThroughput");
    (
        throughput.max_read_request_units(),
        throughput.max_write_request_units(),
    )
}

#[tokio::test]
async fn on_demand_maximums_of_a_table_are_enforced_and_can_be_changed() {
    use aws_sdk_dynamodb::types::OnDemandThroughput;
    let region = Region::start(NodeConfig::default()).await;
    let client = &region.client;
    let create = json!({
        "TableName": "orders",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
        "OnDemandThroughput": {"MaxWriteRequestUnits": 3},
    });
    create_raw(&region, &create).await;
    assert_eq!(described_maximums(client, "orders").await, (Some(-1), Some(3)));
    // Three write units a second, with no burst beyond a second's worth.
    for i in 0..3 {
        assert_eq!(put(client, "orders", &format!("k{i}")).await, Ok(()));
    }
    let (code, message) = put(client, "orders", "over")
        .await
        .expect_err("over the table's maximum");
    assert_eq!(code, "ThrottlingException");
    assert!(message.starts_with("Throughput exceeds the current capacity of your table or index."));
    region.clock.advance(Duration::from_secs(60));
    for i in 0..3 {
        assert_eq!(put(client, "orders", &format!("again{i}")).await, Ok(()));
    }
    assert!(put(client, "orders", "over").await.is_err());

    // UpdateTable removes the write maximum (-1) and sets a read one.
    let maximums = OnDemandThroughput::builder()
        .max_read_request_units(1)
        .max_write_request_units(-1)
        .build();
    client
        .update_table()
        .table_name("orders")
        .on_demand_throughput(maximums)
        .send()
        .await
        .expect("UpdateTable of OnDemandThroughput");
    assert_eq!(described_maximums(client, "orders").await, (Some(1), Some(-1)));
    // The buckets keep what they held (nothing); a second later, writes
    // are bounded only by the per-table quota.
    region.clock.advance(Duration::from_secs(1));
    for i in 0..10 {
        assert_eq!(put(client, "orders", &format!("free{i}")).await, Ok(()), "{i}");
    }
    // One read unit a second: two eventually consistent reads, not three.
    let get = || client.get_item().table_name("orders").key("pk", s("k0")).send();
    get().await.expect("first half unit");
    get().await.expect("second half unit");
    assert_eq!(error_code(&get().await.unwrap_err()), "ThrottlingException");

    // A maximum is at least 1, or -1.
    let zero = OnDemandThroughput::builder().max_read_request_units(0).build();
    let refused = client
        .update_table()
        .table_name("orders")
        .on_demand_throughput(zero)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&refused), "ValidationException");
    assert_eq!(
        error_message(&refused),
        "One or more parameter values were invalid: onDemandThroughput.maxReadRequestUnits must be -1 (no maximum) or at least 1, but was 0"
    );
    assert_eq!(
        region
            .metric(r#"meridian_write_throttle_events_total{table="orders"}"#)
            .await,
        2.0
    );
}

#[tokio::test]
async fn an_on_demand_gsi_at_its_maximum_throttles_writes_to_its_table() {
    let region = Region::start(NodeConfig::default()).await;
    let maximum = ("OnDemandThroughput", json!({"MaxWriteRequestUnits": 2}));
    let created = create_indexed(&region, ("BillingMode", json!("PAY_PER_REQUEST")), maximum).await;
    assert_eq!(
        created["TableDescription"]["GlobalSecondaryIndexes"][0]["OnDemandThroughput"],
        json!({"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 2})
    );
    assert_eq!(
        created["TableDescription"]["OnDemandThroughput"],
        json!({"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1})
    );
    let put_g = |key: &str| put_indexed(&region, key.to_string());
    put_g("k0").await.expect("within the GSI's maximum");
    put_g("k1").await.expect("within the GSI's maximum");
    assert_eq!(error_code(&put_g("k2").await.unwrap_err()), "ThrottlingException");
    // An item outside the index costs the GSI nothing.
    assert_eq!(put(&region.client, "Indexed", "no-g").await, Ok(()));
    region.clock.advance(Duration::from_secs(1));
    put_g("k2").await.expect("the GSI refilled");
}

/// The `ThrottlingReasons` of a refused PutItem, as (reason, resource).
fn put_reasons(
    error: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError>,
) -> Vec<(String, String)> {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    let reasons = match error.as_service_error() {
        Some(PutItemError::ProvisionedThroughputExceededException(e)) => e.throttling_reasons(),
        Some(PutItemError::ThrottlingException(e)) => e.throttling_reasons(),
        other => panic!("not a throttle: {other:?}"),
    };
    let text = |s: Option<&str>| s.unwrap_or_default().to_string();
    reasons.iter().map(|r| (text(r.reason()), text(r.resource()))).collect()
}

/// A PutItem of `key` with `bytes` bytes of payload.
async fn put_sized(
    client: &Client,
    table: &str,
    key: &str,
    bytes: usize,
) -> Result<
    aws_sdk_dynamodb::operation::put_item::PutItemOutput,
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError>,
> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item([("pk", s(key)), ("payload", s("x".repeat(bytes)))])))
        .send()
        .await
}

fn table_arn(region: &str, table: &str) -> String {
    format!("arn:aws:dynamodb:{region}:000000000000:table/{table}")
}

#[tokio::test]
async fn throttling_errors_name_their_reason_and_resource() {
    let mut config = NodeConfig::default();
    config.capacity.table_max_write_units = 10;
    let region = Region::start(config).await;
    let client = &region.client;
    // Provisioned at 1 WCU: a 300-unit item spends the 300 s burst at once.
    create_table(&region, "slow", Some(1)).await;
    put_sized(client, "slow", "big", 300 * 1024 - 20)
        .await
        .expect("the burst");
    let refused = put_sized(client, "slow", "over", 10).await.unwrap_err();
    assert_eq!(error_code(&refused), "ProvisionedThroughputExceededException");
    assert_eq!(
        put_reasons(&refused),
        [(
            "TableWriteProvisionedThroughputExceeded".to_string(),
            table_arn(REGION, "slow")
        )]
    );
    // On demand: the per-table quota of the account (10 units here).
    create_table(&region, "quota", None).await;
    put_sized(client, "quota", "big", 10 * 1024 - 20)
        .await
        .expect("the quota");
    let refused = put_sized(client, "quota", "over", 10).await.unwrap_err();
    assert_eq!(error_code(&refused), "ThrottlingException");
    assert_eq!(
        put_reasons(&refused),
        [("TableWriteAccountLimitExceeded".to_string(), table_arn(REGION, "quota"))]
    );
    // A GSI's own on-demand maximum, which throttles writes to its table.
    let maximum = ("OnDemandThroughput", json!({"MaxWriteRequestUnits": 1}));
    create_indexed(&region, ("BillingMode", json!("PAY_PER_REQUEST")), maximum).await;
    put_indexed(&region, "k0".into())
        .await
        .expect("within the GSI's maximum");
    let refused = put_indexed(&region, "k1".into()).await.unwrap_err();
    assert_eq!(
        put_reasons(&refused),
        [(
            "IndexWriteMaxOnDemandThroughputExceeded".to_string(),
            format!("{}/index/byG", table_arn(REGION, "Indexed"))
        )]
    );
    region.node.shutdown().await;
}

/// An eventually consistent Query of `byG` for `g = x`.
async fn query_gsi(
    client: &Client,
) -> Result<(), aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::query::QueryError>> {
    client
        .query()
        .table_name("Indexed")
        .index_name("byG")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s("x"))
        .send()
        .await
        .map(|_| ())
}

/// An eventually consistent GetItem of `Indexed`: its error code.
async fn get_indexed(client: &Client) -> Result<(), String> {
    client
        .get_item()
        .table_name("Indexed")
        .key("pk", s("k0"))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| error_code(&e))
}

#[tokio::test]
async fn gsi_reads_use_the_gsis_read_capacity_not_the_tables() {
    // 10 read units a second for the table and, apart, for its GSI: 20
    // eventually consistent one-item reads of each.
    let mut config = NodeConfig::default();
    config.capacity.table_max_read_units = 10;
    let region = Region::start(config).await;
    let client = &region.client;
    let projection = ("Projection", json!({"ProjectionType": "ALL"}));
    create_indexed(&region, ("BillingMode", json!("PAY_PER_REQUEST")), projection).await;
    put_indexed(&region, "k0".into()).await.expect("a write");
    for _ in 0..20 {
        query_gsi(client).await.expect("within the GSI's quota");
    }
    let refused = query_gsi(client).await.unwrap_err();
    assert_eq!(error_code(&refused), "ThrottlingException");
    let aws_sdk_dynamodb::operation::query::QueryError::ThrottlingException(throttle) =
        refused.as_service_error().expect("a service error")
    else {
        panic!("not a ThrottlingException: {refused:?}");
    };
    let reason = &throttle.throttling_reasons()[0];
    assert_eq!(reason.reason(), Some("IndexReadAccountLimitExceeded"));
    let index_arn = format!("{}/index/byG", table_arn(REGION, "Indexed"));
    assert_eq!(reason.resource(), Some(index_arn.as_str()));
    // The table's own read capacity is untouched by the GSI's reads...
    for _ in 0..20 {
        assert_eq!(get_indexed(client).await, Ok(()));
    }
    assert_eq!(get_indexed(client).await, Err("ThrottlingException".into()));
    // ...and a second later both have refilled.
    region.clock.advance(Duration::from_secs(1));
    query_gsi(client).await.expect("the GSI refilled");
    assert_eq!(get_indexed(client).await, Ok(()));
    region.node.shutdown().await;
}

#[tokio::test]
async fn replicated_writes_consume_the_receiving_regions_gsi_capacity() {
    use aws_sdk_dynamodb::types::{CreateReplicationGroupMemberAction, ReplicationGroupUpdate};
    // A GSI with an on-demand maximum of 3 write units a second, in both
    // regions; the tables themselves have 100.
    let mut config = NodeConfig::default();
    config.capacity.table_max_write_units = 100;
    let clock = ManualClock::new();
    let cluster = cluster::Cluster::start_clocked(2, &[0, 0], 2, config, Vec::new(), Some(clock.clone())).await;
    let create = json!({
        "TableName": "Indexed",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": "byG",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "OnDemandThroughput": {"MaxWriteRequestUnits": 3},
        }],
    });
    let target = Some("DynamoDB_20120810.CreateTable");
    let created = common::raw_request(cluster.node(0).api_addr, target, create.to_string().into()).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let b_name = cluster.topology.region[1].name.clone();
    let replica = CreateReplicationGroupMemberAction::builder()
        .region_name(&b_name)
        .build()
        .unwrap();
    cluster
        .client(0)
        .update_table()
        .table_name("Indexed")
        .replica_updates(ReplicationGroupUpdate::builder().create(replica).build())
        .send()
        .await
        .unwrap();
    cluster::wait_replicas_active(&cluster, "Indexed").await;
    let (a, b) = (cluster.client(0), cluster.client(1));
    let put_g = |client: &Client, key: &str| {
        client
            .put_item()
            .table_name("Indexed")
            .set_item(Some(item([("pk", s(key)), ("g", s("x"))])))
            .send()
    };
    for i in 0..3 {
        put_g(&a, &format!("a{i}")).await.expect("within A's GSI maximum");
    }
    let b_addr = cluster.node(1).api_addr;
    let replicated = r#"meridian_replicated_write_capacity_units_total{table="Indexed"}"#;
    cluster::eventually("A's writes charged in B", DEADLINE, || async {
        (metric_at(b_addr, replicated).await == 3.0).then_some(())
    })
    .await;
    // B's GSI bucket paid for A's three index entries: a write to the GSI
    // in B is refused, one the GSI does not see is not.
    let refused = put_g(&b, "b0").await.unwrap_err();
    assert_eq!(
        put_reasons(&refused),
        [(
            "IndexWriteMaxOnDemandThroughputExceeded".to_string(),
            format!("{}/index/byG", table_arn(&b_name, "Indexed"))
        )]
    );
    assert_eq!(put(&b, "Indexed", "no-g").await, Ok(()));
    clock.advance(Duration::from_secs(1));
    put_g(&b, "b0").await.expect("B's GSI refilled");
    cluster.shutdown().await;
}

/// A PutRequest of item `key` in `Indexed`, with a `g` (so that `byG`
/// indexes it) when `indexed`.
fn indexed_put(key: &str, indexed: bool) -> WriteRequest {
    let mut fields = item([("pk", s(key))]);
    if indexed {
        fields.insert("g".into(), s("x"));
    }
    let put = PutRequest::builder().set_item(Some(fields)).build().unwrap();
    WriteRequest::builder().put_request(put).build()
}

/// A BatchWriteItem of `requests` to `Indexed`: its UnprocessedItems.
async fn batch_indexed(
    client: &Client,
    requests: Vec<WriteRequest>,
) -> Result<
    Vec<WriteRequest>,
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError>,
> {
    let out = client
        .batch_write_item()
        .request_items("Indexed", requests)
        .send()
        .await?;
    let mut unprocessed = out.unprocessed_items().cloned().unwrap_or_default();
    Ok(unprocessed.remove("Indexed").unwrap_or_default())
}

/// A TransactWriteItems putting each of `puts` (a key, and whether it has
/// a `g`) into `Indexed`.
async fn transact_indexed(
    client: &Client,
    puts: &[(&str, bool)],
) -> Result<
    (),
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError>,
> {
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
    let mut request = client.transact_write_items();
    for (key, indexed) in puts {
        let item = indexed_put(key, *indexed).put_request.unwrap().item;
        let put = Put::builder()
            .table_name("Indexed")
            .set_item(Some(item))
            .build()
            .unwrap();
        request = request.transact_items(TransactWriteItem::builder().put(put).build());
    }
    request.send().await.map(|_| ())
}

/// The keys of `Indexed`, sorted.
async fn indexed_keys(client: &Client) -> Vec<String> {
    let scan = client.scan().table_name("Indexed").send().await.unwrap();
    let mut keys: Vec<String> = scan
        .items()
        .iter()
        .map(|item| item["pk"].as_s().unwrap().clone())
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_throttled_gsi_refuses_batch_items_and_transactions_and_is_metered_alone() {
    // Five seconds of burst: the GSI at 1 write unit holds 5, the table at
    // 100 holds 500.
    let mut config = NodeConfig::default();
    config.capacity.burst_seconds = 5;
    let region = Region::start(config).await;
    let client = &region.client;
    let throughput = json!({"ReadCapacityUnits": 1, "WriteCapacityUnits": 1});
    let billing = (
        "ProvisionedThroughput",
        json!({"ReadCapacityUnits": 100, "WriteCapacityUnits": 100}),
    );
    create_indexed(&region, billing, ("ProvisionedThroughput", throughput)).await;

    // Six items for the GSI, which has room for five: the sixth comes back
    // unprocessed, while the items the GSI does not see are all written.
    let mut requests: Vec<WriteRequest> = (0..6).map(|i| indexed_put(&format!("k{i}"), true)).collect();
    requests.extend([indexed_put("n0", false), indexed_put("n1", false)]);
    let unprocessed = batch_indexed(client, requests).await.expect("a batch");
    assert_eq!(unprocessed, [indexed_put("k5", true)]);
    assert_eq!(indexed_keys(client).await, ["k0", "k1", "k2", "k3", "k4", "n0", "n1"]);

    // With every item refused, the whole batch is, with the GSI's error.
    let refused = batch_indexed(client, unprocessed).await.unwrap_err();
    common::assert_error(
        &refused,
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API",
    );

    // A transaction with one item for the GSI is refused as a whole, naming
    // the index, and writes nothing.
    let refused = transact_indexed(client, &[("k5", true), ("n2", false)])
        .await
        .unwrap_err();
    assert_eq!(error_code(&refused), "ProvisionedThroughputExceededException");
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    let Some(TransactWriteItemsError::ProvisionedThroughputExceededException(e)) = refused.as_service_error() else {
        panic!("not a provisioned throughput error: {refused:?}");
    };
    let reasons: Vec<_> = e
        .throttling_reasons()
        .iter()
        .map(|r| (r.reason().unwrap_or_default(), r.resource().unwrap_or_default()))
        .collect();
    let index_arn = format!("{}/index/byG", table_arn(REGION, "Indexed"));
    assert_eq!(
        reasons,
        [("IndexWriteProvisionedThroughputExceeded", index_arn.as_str())]
    );
    assert_eq!(indexed_keys(client).await, ["k0", "k1", "k2", "k3", "k4", "n0", "n1"]);

    // A second on, the GSI has one unit. A delete of an item outside the
    // index is admitted on an estimate of one GSI unit, and settled at what
    // it wrote there (nothing), so the unit is still there for k5.
    region.clock.advance(Duration::from_secs(1));
    let delete = aws_sdk_dynamodb::types::DeleteRequest::builder()
        .key("pk", s("n1"))
        .build()
        .unwrap();
    let deletes = vec![WriteRequest::builder().delete_request(delete).build()];
    assert_eq!(batch_indexed(client, deletes).await.expect("a delete"), []);
    assert_eq!(
        batch_indexed(client, vec![indexed_put("k5", true)]).await.expect("k5"),
        []
    );

    // A transactional write costs the GSI double: two seconds' worth.
    region.clock.advance(Duration::from_secs(2));
    transact_indexed(client, &[("k6", true), ("n2", false)])
        .await
        .expect("two GSI units");
    assert_eq!(
        indexed_keys(client).await,
        ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "n0", "n2"]
    );
    query_gsi(client).await.expect("a query of the GSI");

    // The GSI's own series (CloudWatch's GlobalSecondaryIndexName), which
    // the table's leave out.
    let table = r#"{table="Indexed"}"#;
    let index = r#"{table="Indexed",index="byG"}"#;
    let counts = [
        // The batch's 5, k5's 1 and the transaction's 2 (double).
        ("consumed_write_capacity_units_total", index, 8.0),
        // The batch's 7, the delete's 1, k5's 1, the transaction's 2 x 2.
        ("consumed_write_capacity_units_total", table, 13.0),
        // The eventually consistent query: half a unit.
        ("consumed_read_capacity_units_total", index, 0.5),
        // Three scans of a few small items: half a unit each.
        ("consumed_read_capacity_units_total", table, 1.5),
        // k5 unprocessed, the batch of k5 alone, the transaction.
        ("write_throttle_events_total", index, 3.0),
        ("write_throttle_events_total", table, 0.0),
        ("read_throttle_events_total", index, 0.0),
        ("provisioned_write_capacity_units", index, 1.0),
        ("provisioned_read_capacity_units", index, 1.0),
        ("provisioned_write_capacity_units", table, 100.0),
    ];
    for (name, labels, value) in counts {
        let series = format!("meridian_{name}{labels}");
        assert_eq!(region.metric(&series).await, value, "{series}");
    }
    // A batch counts as throttled only when every item of it was.
    let throttled =
        |operation: &str| format!(r#"meridian_throttled_requests_total{{table="Indexed",operation="{operation}"}}"#);
    assert_eq!(region.metric(&throttled("BatchWriteItem")).await, 1.0);
    assert_eq!(region.metric(&throttled("TransactWriteItems")).await, 1.0);
    region.node.shutdown().await;
}
