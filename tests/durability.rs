//! Durability: a region stopped and started again on the same data directory
//! serves everything it acknowledged, and so does the real binary after a
//! SIGKILL in the middle of a concurrent write load.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, BillingMode, PutRequest, ScalarAttributeType, Tag, WriteRequest};
use common::kill::Kill;
use common::{Keys, ServeProcess, TestRegion, create_table, item, n, s, wait_for};

type Item = HashMap<String, AttributeValue>;

async fn scan_all(c: &Client, table: &str) -> BTreeMap<String, Item> {
    let items: Vec<Item> = c
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    items
        .into_iter()
        .map(|i| {
            let pk = i["pk"].as_s().unwrap().clone();
            let sk = i.get("sk").map(|v| v.as_n().unwrap().clone()).unwrap_or_default();
            (format!("{pk}/{sk}"), i)
        })
        .collect()
}

#[tokio::test]
async fn restart_keeps_tables_items_and_metadata() {
    let region = TestRegion::start().await;
    let c = region.client.clone();
    create_table(&c, "Plain", Keys::Hash("pk", ScalarAttributeType::S)).await;
    create_table(
        &c,
        "Ranged",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    create_table(&c, "Dropped", Keys::Hash("pk", ScalarAttributeType::S)).await;
    for i in 0..50 {
        c.put_item()
            .table_name("Plain")
            .set_item(Some(item([
                ("pk", s(format!("k{i}"))),
                ("v", n(i)),
                ("l", AttributeValue::L(vec![s("x")])),
            ])))
            .send()
            .await
            .unwrap();
    }
    for i in 0..10 {
        c.delete_item()
            .table_name("Plain")
            .key("pk", s(format!("k{i}")))
            .send()
            .await
            .unwrap();
    }
    let batch: Vec<WriteRequest> = (0..25)
        .map(|i| {
            let put = PutRequest::builder()
                .set_item(Some(item([("pk", s("p")), ("sk", n(i))])))
                .build()
                .unwrap();
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    c.batch_write_item()
        .request_items("Ranged", batch)
        .send()
        .await
        .unwrap();
    c.update_item()
        .table_name("Ranged")
        .key("pk", s("q"))
        .key("sk", n(1))
        .send()
        .await
        .unwrap();
    c.delete_table().table_name("Dropped").send().await.unwrap();
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Plain";
    c.tag_resource()
        .resource_arn(arn)
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap();
    let provisioned = aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
        .read_capacity_units(3)
        .write_capacity_units(4)
        .build()
        .unwrap();
    c.update_table()
        .table_name("Ranged")
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(provisioned)
        .send()
        .await
        .unwrap();

    let plain_before = scan_all(&c, "Plain").await;
    let ranged_before = scan_all(&c, "Ranged").await;
    let describe_before = c.describe_table().table_name("Plain").send().await.unwrap();
    assert_eq!(plain_before.len(), 40);
    assert_eq!(ranged_before.len(), 26);

    let region = region.restart().await;
    let c = region.client.clone();
    assert_eq!(c.list_tables().send().await.unwrap().table_names(), ["Plain", "Ranged"]);
    assert_eq!(scan_all(&c, "Plain").await, plain_before);
    assert_eq!(scan_all(&c, "Ranged").await, ranged_before);
    let describe = c.describe_table().table_name("Plain").send().await.unwrap();
    let (before, after) = (describe_before.table().unwrap(), describe.table().unwrap());
    assert_eq!(after.item_count(), Some(40));
    assert_eq!(after.table_size_bytes(), before.table_size_bytes());
    assert_eq!(after.table_id(), before.table_id());
    assert_eq!(after.creation_date_time(), before.creation_date_time());
    let tags = c.list_tags_of_resource().resource_arn(arn).send().await.unwrap();
    assert_eq!(tags.tags().len(), 1);
    let ranged = c.describe_table().table_name("Ranged").send().await.unwrap();
    let ranged = ranged.table().unwrap();
    assert_eq!(ranged.item_count(), Some(26));
    assert_eq!(
        ranged.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::Provisioned)
    );
    assert_eq!(ranged.provisioned_throughput().unwrap().write_capacity_units(), Some(4));
    let err = c.describe_table().table_name("Dropped").send().await.unwrap_err();
    assert_eq!(common::error_code(&err), "ResourceNotFoundException");

    // The restarted region takes writes again.
    c.put_item()
        .table_name("Plain")
        .set_item(Some(item([("pk", s("after"))])))
        .send()
        .await
        .unwrap();
    assert_eq!(scan_all(&c, "Plain").await.len(), 41);
    region.shutdown().await;
}

const WRITERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_write_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start(dir.path()).await;
    create_table(&server.client, "Load", Keys::Hash("pk", ScalarAttributeType::S)).await;

    let acked = Arc::new(AtomicUsize::new(0));
    let kill = Kill::default();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (client, acked, kill) = (server.client.clone(), acked.clone(), kill.clone());
        writers.push(tokio::spawn(async move {
            // Keys whose PutItem returned Ok, with the value written; and
            // the one in flight when the server died, which may have landed.
            let mut done = Vec::new();
            for i in 0.. {
                let key = format!("w{writer}-{i}");
                let value = format!("value of {key}");
                let result = client
                    .put_item()
                    .table_name("Load")
                    .set_item(Some(item([("pk", s(&key)), ("v", s(&value))])))
                    .send()
                    .await;
                match result {
                    Ok(_) => {
                        done.push((key, value));
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    // The server is gone: nothing from here on was acknowledged.
                    Err(error) => {
                        kill.expect_caused_by_kill(&format!("writer {writer}"), &error);
                        return (done, (key, value));
                    }
                }
            }
            unreachable!("a writer ends at the kill")
        }));
    }
    // Kill only once the load is well under way, while writers are mid-flight.
    wait_for("acknowledged writes", || {
        let acked = acked.clone();
        async move { (acked.load(Ordering::Relaxed) >= 400).then_some(()) }
    })
    .await;
    kill.begin();
    server.kill().await;
    let mut acknowledged = Vec::new();
    let mut in_flight = Vec::new();
    for writer in writers {
        let (done, last) = writer.await.unwrap();
        acknowledged.extend(done);
        in_flight.push(last);
    }
    assert!(acknowledged.len() >= 400);
    assert_eq!(acknowledged.len(), acked.load(Ordering::Relaxed));

    let server = ServeProcess::start(dir.path()).await;
    let stored = scan_all(&server.client, "Load").await;
    let mut lost = Vec::new();
    for (key, value) in &acknowledged {
        match stored.get(&format!("{key}/")) {
            Some(item) if item["v"] == s(value) => {}
            other => lost.push((key.clone(), other.cloned())),
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(5)]
    );
    // Writes in flight at the kill may or may not have landed; nothing
    // else is stored, and the table's counters agree with what is.
    let written: HashMap<String, &String> = acknowledged
        .iter()
        .chain(&in_flight)
        .map(|(key, value)| (format!("{key}/"), value))
        .collect();
    for (key, item) in &stored {
        let value = written.get(key).unwrap_or_else(|| panic!("{key} was never written"));
        assert_eq!(item["v"], s(*value), "{key}");
    }
    assert!(stored.len() <= acknowledged.len() + WRITERS, "{} stored", stored.len());
    let describe = server.client.describe_table().table_name("Load").send().await.unwrap();
    assert_eq!(describe.table().unwrap().item_count(), Some(stored.len() as i64));
    server
        .client
        .put_item()
        .table_name("Load")
        .set_item(Some(item([("pk", s("after-restart"))])))
        .send()
        .await
        .unwrap();
    server.kill().await;
}
