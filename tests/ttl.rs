//! Time to Live through the AWS SDK: UpdateTimeToLive / DescribeTimeToLive
//! with DynamoDB's rules, expired items read until swept, and a three-region
//! table whose expired items vanish from every region as service deletes.

mod cluster;
mod common;
mod stream_support;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodbstreams::types::OperationType;
use cluster::settle::settled;
use cluster::{Cluster, REGIONS, create_table, eventually, scan_all, stream_everywhere};
use common::{Keys, TestRegion, error_code, error_message, n, s};
use meridian::config::NodeConfig;
use stream_support::{image_s, settled_records, streams_client};

const CONVERGE: Duration = Duration::from_secs(60);

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn ttl_spec(attribute: &str, enabled: bool) -> TimeToLiveSpecification {
    TimeToLiveSpecification::builder()
        .attribute_name(attribute)
        .enabled(enabled)
        .build()
        .unwrap()
}

async fn update_ttl(client: &Client, table: &str, attribute: &str, enabled: bool) -> Result<(), (String, String)> {
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl_spec(attribute, enabled))
        .send()
        .await
        .map(|out| {
            let spec = out.time_to_live_specification().unwrap();
            assert_eq!((spec.attribute_name(), spec.enabled()), (attribute, enabled));
        })
        .map_err(|e| (error_code(&e), error_message(&e)))
}

async fn ttl_status(client: &Client, table: &str) -> (TimeToLiveStatus, Option<String>) {
    let out = client.describe_time_to_live().table_name(table).send().await.unwrap();
    let description = out.time_to_live_description.unwrap();
    (description.time_to_live_status.unwrap(), description.attribute_name)
}

#[tokio::test]
async fn update_and_describe_time_to_live_follow_dynamodb_rules() {
    let region = TestRegion::start().await;
    let c = &region.client;
    common::create_table(c, "Sessions", Keys::Hash("pk", ScalarAttributeType::S)).await;
    assert_eq!(ttl_status(c, "Sessions").await, (TimeToLiveStatus::Disabled, None));
    let already_disabled = update_ttl(c, "Sessions", "expires", false).await.unwrap_err();
    assert_eq!(
        already_disabled,
        ("ValidationException".into(), "TimeToLive is already disabled".into())
    );

    update_ttl(c, "Sessions", "expires", true).await.unwrap();
    assert_eq!(
        ttl_status(c, "Sessions").await,
        (TimeToLiveStatus::Enabled, Some("expires".into()))
    );
    let twice = update_ttl(c, "Sessions", "expires", true).await.unwrap_err();
    assert_eq!(
        twice,
        ("ValidationException".into(), "TimeToLive is already enabled".into())
    );
    let other = update_ttl(c, "Sessions", "other", true).await.unwrap_err();
    assert_eq!(other.0, "ValidationException");
    assert!(other.1.contains("different AttributeName"), "{}", other.1);
    let other = update_ttl(c, "Sessions", "other", false).await.unwrap_err();
    assert!(other.1.contains("current AttributeName is expires"), "{}", other.1);

    update_ttl(c, "Sessions", "expires", false).await.unwrap();
    assert_eq!(ttl_status(c, "Sessions").await, (TimeToLiveStatus::Disabled, None));

    let missing = c.describe_time_to_live().table_name("Nope").send().await.unwrap_err();
    assert_eq!(error_code(&missing), "ResourceNotFoundException");
    let missing = update_ttl(c, "Nope", "expires", true).await.unwrap_err();
    assert_eq!(missing.0, "ResourceNotFoundException");
    let raw = region
        .raw_json("UpdateTimeToLive", serde_json::json!({"TableName": "Sessions"}))
        .await;
    assert_eq!(raw.error_type(), "ValidationException");
    region.shutdown().await;
}

#[tokio::test]
async fn expired_items_are_still_returned_until_swept() {
    // A sweep interval far longer than the test: nothing is swept.
    let mut config = NodeConfig::default();
    config.ttl.sweep_interval_ms = 3_600_000;
    let region = TestRegion::start_with(config).await;
    let c = &region.client;
    common::create_table(c, "Lazy", Keys::Hash("pk", ScalarAttributeType::S)).await;
    update_ttl(c, "Lazy", "exp", true).await.unwrap();
    let expired = put("gone-soon", Some(n(now_secs() - 60)));
    c.put_item()
        .table_name("Lazy")
        .set_item(Some(expired.clone()))
        .send()
        .await
        .unwrap();
    let got = c
        .get_item()
        .table_name("Lazy")
        .key("pk", s("gone-soon"))
        .send()
        .await
        .unwrap();
    assert!(got.item.is_some(), "an expired item is readable until it is deleted");
    assert_eq!(got.item, Some(expired));
    region.shutdown().await;
}

fn put(key: &str, exp: Option<AttributeValue>) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([("pk".to_string(), s(key))]);
    if let Some(exp) = exp {
        item.insert("exp".to_string(), exp);
    }
    item
}

#[tokio::test]
async fn expired_items_vanish_from_every_region_as_service_deletes() {
    let mut config = NodeConfig::default();
    config.ttl.sweep_interval_ms = 50;
    let cluster = Cluster::start_configured(3, &[], 3, config).await;
    create_table(&cluster, 0, "Cache").await;
    let spec = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .unwrap();
    let client = cluster.client(0);
    client
        .update_table()
        .table_name("Cache")
        .stream_specification(spec)
        .send()
        .await
        .unwrap();
    let arns = stream_everywhere(&cluster, "Cache").await;

    let now = now_secs();
    let items = [
        put("expired", Some(n(now - 120))),
        put("expired-too", Some(n(now - 1))),
        put("future", Some(n(now + 3600))),
        put("no-ttl", None),
        put("string-ttl", Some(s((now - 120).to_string()))),
        put("ancient", Some(n(now - 6 * 365 * 86_400))),
    ];
    let written: HashMap<String, HashMap<String, AttributeValue>> = items
        .iter()
        .map(|item| (item["pk"].as_s().unwrap().clone(), item.clone()))
        .collect();
    for item in items {
        client
            .put_item()
            .table_name("Cache")
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    // Enabled in another region: the setting replicates with the table.
    update_ttl(&cluster.client(1), "Cache", "exp", true).await.unwrap();

    let remaining = ["ancient", "future", "no-ttl", "string-ttl"];
    for i in 0..3 {
        let client = cluster.client(i);
        eventually(&format!("expired items gone in region {i}"), CONVERGE, || {
            let client = client.clone();
            async move {
                let keys: Vec<String> = scan_all(&client, "Cache")
                    .await?
                    .iter()
                    .map(|row| row.split(',').find(|f| f.starts_with("pk=")).unwrap_or("").to_string())
                    .collect();
                let done = keys.len() == remaining.len()
                    && remaining
                        .iter()
                        .all(|k| keys.iter().any(|row| row.contains(&format!("\"{k}\""))));
                done.then_some(())
            }
        })
        .await;
    }

    // Every region holds and counts exactly the four that remain.
    assert_eq!(cluster::converged(&cluster, "Cache").await.len(), remaining.len());

    // The owner is the first ACTIVE replica by name; only it deleted.
    let owner = REGIONS.iter().min().unwrap().to_string();
    let owner_index = REGIONS.iter().position(|r| *r == owner).unwrap();
    // Counted once each, also once the sweeper has had many more passes.
    let status = cluster.node(owner_index).ttl_status();
    let deleted = settled(
        "the owner's count of its deletes",
        CONVERGE,
        |deleted: &u64| *deleted >= 2,
        || {
            let deleted = status.deleted.load(Ordering::Relaxed);
            async move { Some(deleted) }
        },
    )
    .await;
    assert_eq!(deleted, 2);
    for (i, region) in REGIONS.iter().enumerate() {
        let deleted = cluster.node(i).ttl_status().deleted.load(Ordering::Relaxed);
        let expected = if *region == owner { 2 } else { 0 };
        assert_eq!(deleted, expected, "TTL deletes made by {region}");
    }
    let status: serde_json::Value =
        serde_json::from_str(&cluster::http_get(cluster.topology.region[owner_index].api, "/status").await).unwrap();
    assert_eq!(status["workers"][0]["name"], "ttl-sweeper");
    assert_eq!(status["workers"][0]["deleted"], 2);

    // Every region's stream holds the six inserts and both TTL deletes,
    // each exactly once, as service deletes from the owner.
    for (i, arn) in arns.iter().enumerate() {
        let streams = streams_client(cluster.topology.region[i].api, REGIONS[i]);
        let summary = |records: &[aws_sdk_dynamodbstreams::types::Record]| -> Vec<(String, String)> {
            let mut events: Vec<(String, String)> = records
                .iter()
                .map(|r| (r.event_name().unwrap().as_str().to_string(), image_s(r, "pk").unwrap()))
                .collect();
            events.sort();
            events
        };
        let what = format!("the records of region {i}'s stream");
        let records = settled_records(&streams, arn, &what, |records| {
            records
                .iter()
                .filter(|r| r.event_name() == Some(&OperationType::Remove))
                .count()
                >= 2
        })
        .await;
        let mut expected: Vec<(String, String)> = written.keys().map(|k| ("INSERT".to_string(), k.clone())).collect();
        expected.push(("REMOVE".into(), "expired".into()));
        expected.push(("REMOVE".into(), "expired-too".into()));
        expected.sort();
        assert_eq!(summary(&records), expected, "region {i}");
        let removes: Vec<_> = records
            .into_iter()
            .filter(|r| r.event_name() == Some(&OperationType::Remove))
            .collect();
        let mut keys: Vec<String> = removes.iter().map(|r| image_s(r, "pk").unwrap()).collect();
        keys.sort();
        assert_eq!(keys, ["expired", "expired-too"], "region {i}");
        for record in &removes {
            let identity = record.user_identity().expect("a TTL delete has a userIdentity");
            assert_eq!(identity.r#type(), Some("Service"));
            assert_eq!(identity.principal_id(), Some("dynamodb.amazonaws.com"));
            assert_eq!(record.aws_region(), Some(owner.as_str()));
            assert!(record.dynamodb().unwrap().old_image().is_some());
            // The old image is the item as written.
            let old = record.dynamodb().unwrap().old_image().unwrap();
            let key = old["pk"].as_s().unwrap();
            let stream_image: HashMap<String, String> =
                old.iter().map(|(k, v)| (k.clone(), format!("{v:?}"))).collect();
            let item_image: HashMap<String, String> = written[key]
                .iter()
                .map(|(k, v)| (k.clone(), format!("{v:?}")))
                .collect();
            assert_eq!(stream_image, item_image, "region {i}");
        }
    }
    cluster.shutdown().await;
}
