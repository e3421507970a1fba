//! Point-in-time recovery through the AWS SDK: restores equal a reference
//! model computed by the test at several instants, and every bad request
//! gets DynamoDB's error and changes nothing.

mod cluster;
mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, PointInTimeRecoverySpecification, ProvisionedThroughput, ScalarAttributeType,
    TableStatus,
};
use common::pitr::{Model, active_items, enable_pitr, key_text, mark, now_ms, scan, set_pitr, wait_restorable};
use common::{Keys, TestRegion, create_table, error_code, item, n, s};

async fn restore(client: &Client, source: &str, target: &str, at_ms: u64) {
    let restored = client
        .restore_table_to_point_in_time()
        .source_table_name(source)
        .target_table_name(target)
        .restore_date_time(DateTime::from_millis(at_ms as i64))
        .send()
        .await
        .unwrap();
    let description = restored.table_description().unwrap();
    assert_eq!(description.table_status(), Some(&TableStatus::Creating));
    assert_eq!(
        description.restore_summary().map(|r| r.restore_in_progress()),
        Some(true)
    );
}

/// Puts `item` in the table and the model.
async fn put(client: &Client, model: &mut Model, item: HashMap<String, AttributeValue>) {
    client
        .put_item()
        .table_name("src")
        .set_item(Some(item.clone()))
        .send()
        .await
        .unwrap();
    model.insert(key_text(&item), item);
}

async fn delete(client: &Client, model: &mut Model, pk: &str, sk: i64) {
    let key = item([("pk", s(pk)), ("sk", n(sk))]);
    client
        .delete_item()
        .table_name("src")
        .set_key(Some(key.clone()))
        .send()
        .await
        .unwrap();
    model.remove(&key_text(&key));
}

fn row(pk: &str, sk: i64, v: &str) -> HashMap<String, AttributeValue> {
    item([("pk", s(pk)), ("sk", n(sk)), ("v", s(v))])
}

#[tokio::test]
async fn restores_equal_the_reference_at_several_instants() {
    let region = TestRegion::start().await;
    let client = &region.client;
    let keys = Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N);
    create_table(client, "src", keys).await;
    let mut model = Model::new();
    // Written before PITR is on: part of the state when it is enabled.
    put(client, &mut model, row("a", 1, "before")).await;
    enable_pitr(client, "src").await;

    for i in 0..20 {
        put(client, &mut model, row(&format!("p{}", i % 4), i, "v1")).await;
    }
    let (t1, at1) = (mark().await, model.clone());

    for i in (0..20).step_by(3) {
        put(client, &mut model, row(&format!("p{}", i % 4), i, "v2")).await;
    }
    for i in (1..20).step_by(4) {
        delete(client, &mut model, &format!("p{}", i % 4), i).await;
    }
    delete(client, &mut model, "a", 1).await;
    let (t2, at2) = (mark().await, model.clone());

    // A put and its overwrite within the same second, the mark between them.
    put(client, &mut model, row("x", 0, "first")).await;
    let (t3, at3) = (mark().await, model.clone());
    put(client, &mut model, row("x", 0, "second")).await;
    delete(client, &mut model, "p0", 0).await;
    let (t4, at4) = (mark().await, model.clone());
    put(client, &mut model, row("x", 0, "after-t4")).await;

    wait_restorable(client, "src", t4).await;
    for (i, (at, reference)) in [(t1, &at1), (t2, &at2), (t3, &at3), (t4, &at4)].into_iter().enumerate() {
        let target = format!("restored{i}");
        restore(client, "src", &target, at).await;
        let restored = active_items(client, &target).await;
        assert_eq!(&restored, reference, "restore to instant {i} equals the reference");
        let table = client
            .describe_table()
            .table_name(&target)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        assert_eq!(table.item_count(), Some(reference.len() as i64));
    }
    assert_eq!(
        at3.get(&key_text(&row("x", 0, ""))).and_then(|i| i.get("v")),
        Some(&s("first"))
    );

    // UseLatestRestorableTime restores everything acknowledged before it.
    let latest_mark = mark().await;
    wait_restorable(client, "src", latest_mark).await;
    client
        .restore_table_to_point_in_time()
        .source_table_name("src")
        .target_table_name("latest")
        .use_latest_restorable_time(true)
        .billing_mode_override(BillingMode::Provisioned)
        .provisioned_throughput_override(
            ProvisionedThroughput::builder()
                .read_capacity_units(7)
                .write_capacity_units(3)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(active_items(client, "latest").await, model);
    let table = client
        .describe_table()
        .table_name("latest")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let throughput = table.provisioned_throughput().unwrap();
    assert_eq!(
        (throughput.read_capacity_units(), throughput.write_capacity_units()),
        (Some(7), Some(3))
    );
    region.shutdown().await;
}

#[tokio::test]
async fn continuous_backups_are_described_and_bad_restores_change_nothing() {
    let region = TestRegion::start().await;
    let client = &region.client;
    create_table(client, "src", Keys::Hash("pk", ScalarAttributeType::S)).await;
    create_table(client, "taken", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let tables = || async { client.list_tables().send().await.unwrap().table_names().to_vec() };
    let before = tables().await;

    // Off by default, as in DynamoDB.
    let description = client
        .describe_continuous_backups()
        .table_name("src")
        .send()
        .await
        .unwrap();
    let backups = description.continuous_backups_description().unwrap();
    assert_eq!(backups.continuous_backups_status().as_str(), "ENABLED");
    let pitr = backups.point_in_time_recovery_description().unwrap();
    assert_eq!(pitr.point_in_time_recovery_status().unwrap().as_str(), "DISABLED");
    assert!(pitr.earliest_restorable_date_time().is_none());

    let now = DateTime::from_millis(now_ms() as i64);
    let error = client
        .restore_table_to_point_in_time()
        .source_table_name("src")
        .target_table_name("target2")
        .restore_date_time(now)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&error),
        "PointInTimeRecoveryUnavailableException",
        "{error:?}"
    );

    let error = client
        .restore_table_to_point_in_time()
        .source_table_name("nope")
        .target_table_name("target2")
        .use_latest_restorable_time(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "TableNotFoundException");
    let error = client
        .describe_continuous_backups()
        .table_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "TableNotFoundException");
    let error = client
        .update_continuous_backups()
        .table_name("src")
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .recovery_period_in_days(36)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "ValidationException");

    enable_pitr(client, "src").await;
    client
        .put_item()
        .table_name("src")
        .set_item(Some(item([("pk", s("k"))])))
        .send()
        .await
        .unwrap();
    let description = client
        .describe_continuous_backups()
        .table_name("src")
        .send()
        .await
        .unwrap();
    let pitr = description
        .continuous_backups_description()
        .unwrap()
        .point_in_time_recovery_description()
        .unwrap();
    assert_eq!(pitr.point_in_time_recovery_status().unwrap().as_str(), "ENABLED");
    assert_eq!(pitr.recovery_period_in_days(), Some(35));
    let earliest = pitr.earliest_restorable_date_time().unwrap().to_millis().unwrap();
    let latest = pitr.latest_restorable_date_time().unwrap().to_millis().unwrap();
    assert!(earliest <= latest);

    for (at, what) in [
        (earliest - 60_000, "before the window"),
        (now_ms() as i64 + 3_600_000, "in the future"),
    ] {
        let error = client
            .restore_table_to_point_in_time()
            .source_table_name("src")
            .target_table_name("target2")
            .restore_date_time(DateTime::from_millis(at))
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_code(&error), "InvalidRestoreTimeException", "{what}");
    }
    let error = client
        .restore_table_to_point_in_time()
        .source_table_name("src")
        .target_table_name("taken")
        .use_latest_restorable_time(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "TableAlreadyExistsException");
    let error = client
        .restore_table_to_point_in_time()
        .source_table_name("src")
        .target_table_name("target2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "ValidationException");
    assert_eq!(tables().await, before, "failed restores create no table");
    assert!(scan(client, "taken").await.is_empty());

    // The history is reported per table; turning PITR off drops it.
    let status = admin_pitr(&region).await;
    assert_eq!(status["tables"].as_array().map(Vec::len), Some(1), "{status}");
    assert_eq!(status["tables"][0]["table"], "src");
    assert!(status["tables"][0]["history_bytes"].as_u64().unwrap() > 0);
    set_pitr(client, "src", false).await;
    assert_eq!(admin_pitr(&region).await["tables"], serde_json::json!([]));
    region.shutdown().await;
}

/// GET /admin/pitr.
async fn admin_pitr(region: &TestRegion) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(region.addr).await.unwrap();
    let request = format!(
        "GET /admin/pitr HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        region.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn an_interrupted_restore_finishes_after_a_restart() {
    let region = TestRegion::start().await;
    create_table(&region.client, "src", Keys::Hash("pk", ScalarAttributeType::S)).await;
    enable_pitr(&region.client, "src").await;
    let mut expected = Model::new();
    for i in 0..50 {
        let row = item([("pk", s(format!("k{i}"))), ("v", n(i))]);
        region
            .client
            .put_item()
            .table_name("src")
            .set_item(Some(row.clone()))
            .send()
            .await
            .unwrap();
        expected.insert(key_text(&row), row);
    }
    let at = mark().await;
    wait_restorable(&region.client, "src", at).await;
    restore(&region.client, "src", "copy", at).await;
    // Whether or not the job finished before the stop, after the restart the
    // table is complete and ACTIVE.
    let region = region.restart().await;
    assert_eq!(active_items(&region.client, "copy").await, expected);
    region.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_restore_in_two_regions_gives_identical_tables() {
    let cluster = cluster::Cluster::start(2, &[0, 0]).await;
    cluster::create_table(&cluster, 0, "global").await;
    let clients = [cluster.client(0), cluster.client(1)];
    for client in &clients {
        enable_pitr(client, "global").await;
    }
    let write = |region: usize, pk: String, v: String| {
        let client = clients[region].clone();
        async move {
            let row = item([("pk", s(pk)), ("v", s(v))]);
            client
                .put_item()
                .table_name("global")
                .set_item(Some(row))
                .send()
                .await
                .unwrap();
        }
    };
    // Each region writes its own keys, and both write the same keys at
    // about the same time (conflicts resolved by LWW).
    for i in 0..10 {
        write(0, format!("a{i}"), "from-0".into()).await;
        write(1, format!("b{i}"), "from-1".into()).await;
        tokio::join!(
            write(0, format!("c{i}"), "0".into()),
            write(1, format!("c{i}"), "1".into())
        );
    }
    let state_at_mark = cluster::converged(&cluster, "global").await;
    assert_eq!(state_at_mark.len(), 30, "a, b and c keys: {state_at_mark:?}");
    let at = mark().await;
    for i in 0..10 {
        tokio::join!(
            write(0, format!("c{i}"), "later-0".into()),
            write(1, format!("a{i}"), "later-1".into())
        );
        let key = item([("pk", s(format!("b{i}")))]);
        clients[0]
            .delete_item()
            .table_name("global")
            .set_key(Some(key))
            .send()
            .await
            .unwrap();
    }
    // Each later write was the only one to its key, so it is what is left.
    let now = cluster::converged(&cluster, "global").await;
    let mut expected: Vec<String> = (0..10)
        .flat_map(|i| [(format!("a{i}"), "later-1"), (format!("c{i}"), "later-0")])
        .map(|(pk, v)| format!("pk={:?},v={:?}", s(pk), s(v)))
        .collect();
    expected.sort();
    assert_eq!(now, expected);
    let mut restored = Vec::new();
    for client in &clients {
        wait_restorable(client, "global", at).await;
        restore(client, "global", "restored", at).await;
        active_items(client, "restored").await;
        restored.push(cluster::scan_all(client, "restored").await.unwrap());
    }
    assert_eq!(restored[0], restored[1], "both regions restore the same table");
    assert_eq!(restored[0], state_at_mark, "and it is the state at the mark");
    cluster.shutdown().await;
}
