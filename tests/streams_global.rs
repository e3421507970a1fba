//! Streams of replicated tables: three in-process regions linked over real
//! QUIC, each region's stream read through `aws-sdk-dynamodbstreams`; a
//! replicated change that loses last-writer-wins never reaching a stream;
//! a stream disabled and enabled again in one region, whose earlier
//! stream every region keeps readable; and a deleted table's stream, kept
//! readable in every region.

mod cluster;
mod common;
mod stream_support;

use meridian::ids::Seq;
use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use aws_sdk_dynamodbstreams::types::OperationType;
use cluster::{Cluster, REGIONS, create_table, eventually, isolate, stream_everywhere};
use common::{Keys, TestRegion, s};
use meridian::clock::Timestamp;
use meridian::model::key::encode_primary_key;
use meridian::model::{AttributeValue, Item};
use meridian::store::{Change, ChangeCause, ItemChange, Version};
use stream_support::{image_s, read_all, settled_records, streams_client};

fn new_and_old() -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .unwrap()
}

/// Creates `table` in region 0 with a replica everywhere, enables its
/// stream (new and old images), and returns each region's stream ARN.
async fn global_table_with_stream(cluster: &Cluster, table: &str) -> Vec<String> {
    create_table(cluster, 0, table).await;
    cluster
        .client(0)
        .update_table()
        .table_name(table)
        .stream_specification(new_and_old())
        .send()
        .await
        .unwrap();
    stream_everywhere(cluster, table).await
}

#[tokio::test]
async fn every_region_stream_carries_local_and_replicated_records() {
    let cluster = Cluster::start(3, &[]).await;
    let arns = global_table_with_stream(&cluster, "Global").await;
    for (arn, region) in arns.iter().zip(REGIONS) {
        assert!(arn.contains(&format!(":{region}:")), "{arn} names its region");
    }
    let labels: BTreeSet<&str> = arns.iter().map(|a| a.rsplit('/').next().unwrap()).collect();
    assert_eq!(labels.len(), 1, "one stream label, replicated: {arns:?}");

    for (i, region) in REGIONS.iter().enumerate() {
        cluster
            .client(i)
            .put_item()
            .table_name("Global")
            .item("pk", s(format!("from-{region}")))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(cluster::converged(&cluster, "Global").await.len(), 3);
    for (i, arn) in arns.iter().enumerate() {
        let api = cluster.topology.region[i].api;
        let streams = streams_client(api, REGIONS[i]);
        // Once three are there, keep reading until nothing more comes: a
        // change delivered twice would show as a fourth record.
        let what = format!("three records in region {i}'s stream");
        let records = settled_records(&streams, arn, &what, |records| records.len() >= 3).await;
        assert_eq!(records.len(), 3, "each change exactly once in region {i}");
        let mut origins = BTreeSet::new();
        for record in &records {
            assert_eq!(record.event_name(), Some(&OperationType::Insert));
            let key = image_s(record, "pk").unwrap();
            let origin = record.aws_region().unwrap();
            assert_eq!(
                key,
                format!("from-{origin}"),
                "awsRegion names where the change was made"
            );
            origins.insert(origin.to_string());
        }
        let all: BTreeSet<String> = REGIONS.iter().map(|r| r.to_string()).collect();
        assert_eq!(origins, all, "region {i} has its own and both replicated records");
    }
    cluster.shutdown().await;
}

fn remote_put(seq: u64, wall_ns: u64, value: &str) -> (Seq, Change) {
    let key = encode_primary_key(&AttributeValue::S("k".into()), None);
    let item = Item::from([
        ("pk".to_string(), AttributeValue::S("k".into())),
        ("v".to_string(), AttributeValue::S(value.into())),
    ]);
    let change = ItemChange {
        table: "Lww".into(),
        key,
        version: Version {
            ts: Timestamp { wall_ns, logical: 0 },
            region: "eu-west-1".into(),
        },
        old: None,
        new: Some(item),
        cause: ChangeCause::Client,
    };
    (Seq(seq), Change::Item(change))
}

#[tokio::test]
async fn a_replicated_change_appears_only_when_it_wins() {
    let region = TestRegion::start().await;
    common::create_table(
        &region.client,
        "Lww",
        Keys::Hash("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
    )
    .await;
    let out = region
        .client
        .update_table()
        .table_name("Lww")
        .stream_specification(new_and_old())
        .send()
        .await
        .unwrap();
    let arn = out
        .table_description()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_string();
    region
        .client
        .put_item()
        .table_name("Lww")
        .item("pk", s("k"))
        .item("v", s("local"))
        .send()
        .await
        .unwrap();
    let engine = region.node().engine();
    // Stamped long before the local write: loses, is not applied, no record.
    let report = engine
        .apply_remote("eu-west-1".into(), vec![remote_put(1, 1, "stale")], Seq(1))
        .await
        .unwrap();
    assert_eq!(report.applied, 0);
    // It lost to a version it had not seen: superseded, and a conflict.
    assert_eq!((report.superseded, report.conflicts, report.skipped), (1, 1, 0));
    assert_eq!(report.clock_ahead_ms, 0);
    // Stamped after it: wins, and is a MODIFY from eu-west-1.
    let later = engine.hlc().now().wall_ns + 1_000_000;
    let report = engine
        .apply_remote("eu-west-1".into(), vec![remote_put(2, later, "remote")], Seq(2))
        .await
        .unwrap();
    assert_eq!(report.applied, 1);
    // It replaced a version its origin had not seen: ours lost, a conflict.
    assert_eq!((report.superseded, report.conflicts, report.skipped), (0, 1, 0));
    // Delivered again (after a reconnect, say): already applied, nothing
    // happens, and the stream below still has each change once.
    let again = vec![remote_put(1, 1, "stale"), remote_put(2, later, "remote")];
    let report = engine.apply_remote("eu-west-1".into(), again, Seq(2)).await.unwrap();
    assert_eq!(
        (report.applied, report.superseded, report.conflicts, report.skipped),
        (0, 0, 0, 0)
    );
    // Both conflicts are recorded as the test made them, once each.
    let conflicts = engine.conflicts(Some("Lww".into())).await.unwrap();
    let summary: Vec<(&str, Option<&Item>, &Version, Option<&Item>)> = conflicts
        .iter()
        .map(|c| {
            (
                c.winner.region.as_str(),
                c.winner_item.as_ref(),
                &c.loser,
                c.loser_item.as_ref(),
            )
        })
        .collect();
    let stored = |v: &str| match remote_put(0, 0, v).1 {
        Change::Item(change) => change.new.unwrap(),
        other => unreachable!("{other:?}"),
    };
    let (local, stale, remote) = (stored("local"), stored("stale"), stored("remote"));
    let eu = |wall_ns| Version {
        ts: Timestamp { wall_ns, logical: 0 },
        region: "eu-west-1".into(),
    };
    let local_version = &conflicts[1].loser;
    assert_eq!(
        summary,
        [
            ("us-east-1", Some(&local), &eu(1), Some(&stale)),
            ("eu-west-1", Some(&remote), local_version, Some(&local)),
        ]
    );
    assert_eq!(local_version.region, "us-east-1");
    assert_eq!(&conflicts[0].winner, local_version, "the local write won both times");
    assert_eq!(conflicts[1].winner, eu(later));

    let streams = streams_client(region.addr, common::REGION);
    let records = read_all(&streams, &arn).await;
    let seen: Vec<(String, String)> = records
        .iter()
        .map(|r| (r.aws_region().unwrap().to_string(), image_s(r, "v").unwrap()))
        .collect();
    let expected = [
        ("us-east-1".to_string(), "local".to_string()),
        ("eu-west-1".to_string(), "remote".to_string()),
    ];
    assert_eq!(seen, expected);
    assert_eq!(records[1].event_name(), Some(&OperationType::Modify));
    let old = records[1].dynamodb().unwrap().old_image().unwrap();
    assert_eq!(old["v"].as_s().unwrap(), "local");
    region.shutdown().await;
}

/// A record as (event, key, new `v`, old `v`, region it was made in).
type Summary = (String, String, Option<String>, Option<String>, String);

fn summarise(record: &aws_sdk_dynamodbstreams::types::Record) -> Summary {
    let data = record.dynamodb().unwrap();
    let v = |image: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        image.and_then(|i| i.get("v")).map(|v| v.as_s().unwrap().clone())
    };
    (
        record.event_name().unwrap().as_str().to_string(),
        data.keys().unwrap()["pk"].as_s().unwrap().clone(),
        v(data.new_image()),
        v(data.old_image()),
        record.aws_region().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_partition_each_stream_has_its_own_writes_and_the_winners_once() {
    let cluster = Cluster::start(2, &[]).await;
    let arns = global_table_with_stream(&cluster, "Split").await;
    isolate(&cluster, 0, true).await;
    // Cut off from each other, both regions write both keys, one after the
    // other: the second write to a key is sent after the first was
    // answered, so it has the later stamp and wins.
    let put = |region: usize, pk: &'static str, v: &'static str| {
        let client = cluster.client(region);
        async move {
            client
                .put_item()
                .table_name("Split")
                .item("pk", s(pk))
                .item("v", s(v))
                .send()
                .await
                .unwrap();
        }
    };
    put(0, "eu-wins", "us").await;
    put(1, "eu-wins", "eu").await;
    put(1, "us-wins", "eu").await;
    put(0, "us-wins", "us").await;
    isolate(&cluster, 0, false).await;
    let items = cluster::converged(&cluster, "Split").await;
    assert_eq!(items.len(), 2);
    assert!(
        items[0].contains("S(\"eu-wins\")") && items[0].contains("v=S(\"eu\")"),
        "{items:?}"
    );
    assert!(
        items[1].contains("S(\"us-wins\")") && items[1].contains("v=S(\"us\")"),
        "{items:?}"
    );

    // Each stream: the region's own two inserts, and the one remote write
    // that won there as a MODIFY of the local item; the remote write that
    // lost is in no stream. Read once nothing more arrives.
    let summary = |e: &str, pk: &str, new: &str, old: Option<&str>, region: &str| -> Summary {
        (
            e.into(),
            pk.into(),
            Some(new.into()),
            old.map(str::to_string),
            region.into(),
        )
    };
    let expected = [
        vec![
            summary("INSERT", "eu-wins", "us", None, "us-east-1"),
            summary("INSERT", "us-wins", "us", None, "us-east-1"),
            summary("MODIFY", "eu-wins", "eu", Some("us"), "eu-west-1"),
        ],
        vec![
            summary("INSERT", "eu-wins", "eu", None, "eu-west-1"),
            summary("INSERT", "us-wins", "eu", None, "eu-west-1"),
            summary("MODIFY", "us-wins", "us", Some("eu"), "us-east-1"),
        ],
    ];
    for (i, (arn, expected)) in arns.iter().zip(expected).enumerate() {
        let streams = streams_client(cluster.topology.region[i].api, REGIONS[i]);
        let what = format!("region {i}'s stream");
        let records = settled_records(&streams, arn, &what, |records| records.len() >= 3).await;
        let mut seen: Vec<Summary> = records.iter().map(summarise).collect();
        // The local inserts come first, in the order they were made; the
        // replicated winner after them.
        assert_eq!(seen[..2], expected[..2], "region {i}");
        seen.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(seen, expected, "region {i}");
    }
    cluster.shutdown().await;
}

/// The `pk` of every record of the stream `arn`, once `count` are there
/// and nothing more comes.
async fn settled_keys(client: &aws_sdk_dynamodbstreams::Client, arn: &str, count: usize) -> Vec<String> {
    let what = format!("{count} records in {arn}");
    let records = settled_records(client, arn, &what, |records| records.len() >= count).await;
    records.iter().map(|r| image_s(r, "pk").unwrap()).collect()
}

#[tokio::test]
async fn an_earlier_stream_stays_readable_in_every_region() {
    let cluster = Cluster::start(2, &[]).await;
    let first = global_table_with_stream(&cluster, "Toggled").await;
    let put = |key: &'static str| {
        let client = cluster.client(0);
        async move {
            let put = client.put_item().table_name("Toggled").item("pk", s(key));
            put.send().await.unwrap();
        }
    };
    put("one").await;
    let streams: Vec<_> = (0..2)
        .map(|i| streams_client(cluster.topology.region[i].api, REGIONS[i]))
        .collect();
    assert_eq!(settled_keys(&streams[1], &first[1], 1).await, ["one"]);

    // Region 0 disables its stream and enables a new one.
    let off = StreamSpecification::builder().stream_enabled(false).build().unwrap();
    for spec in [off, new_and_old()] {
        let update = cluster.client(0).update_table().table_name("Toggled");
        update.stream_specification(spec).send().await.unwrap();
    }
    put("two").await;
    assert_eq!(cluster::converged(&cluster, "Toggled").await.len(), 2);

    // Each region lists both of its streams: the earlier one keeps its
    // record, the new one has the write made after it opened.
    for (i, client) in streams.iter().enumerate() {
        let listed = eventually(
            &format!("two streams in region {i}"),
            std::time::Duration::from_secs(60),
            || {
                let client = client.clone();
                async move {
                    let out = client.list_streams().table_name("Toggled").send().await.ok()?;
                    let arns: Vec<String> = out
                        .streams()
                        .iter()
                        .filter_map(|s| s.stream_arn().map(str::to_string))
                        .collect();
                    (arns.len() == 2).then_some(arns)
                }
            },
        )
        .await;
        assert!(
            listed.contains(&first[i]),
            "region {i} lists its earlier stream: {listed:?}"
        );
        let latest = listed.iter().find(|arn| **arn != first[i]).unwrap();
        assert_eq!(
            settled_keys(client, &first[i], 1).await,
            ["one"],
            "region {i}'s earlier stream"
        );
        assert_eq!(
            settled_keys(client, latest, 1).await,
            ["two"],
            "region {i}'s new stream"
        );
    }
}

#[tokio::test]
async fn a_deleted_global_tables_stream_stays_readable_in_every_region() {
    let cluster = Cluster::start(2, &[]).await;
    let arns = global_table_with_stream(&cluster, "Dropped").await;
    let put = cluster.client(0).put_item().table_name("Dropped").item("pk", s("one"));
    put.send().await.unwrap();
    let streams: Vec<_> = (0..2)
        .map(|i| streams_client(cluster.topology.region[i].api, REGIONS[i]))
        .collect();
    assert_eq!(settled_keys(&streams[1], &arns[1], 1).await, ["one"]);

    // Region 0 deletes the table; once the deletion reaches region 1, each
    // region's stream is DISABLED there and still holds its record.
    let delete = cluster.client(0).delete_table().table_name("Dropped");
    delete.send().await.unwrap();
    for (i, client) in streams.iter().enumerate() {
        eventually(
            &format!("the table gone and its stream disabled in region {i}"),
            std::time::Duration::from_secs(60),
            || {
                let (client, table) = (client.clone(), cluster.client(i));
                let arn = arns[i].clone();
                async move {
                    table.describe_table().table_name("Dropped").send().await.err()?;
                    let out = client.describe_stream().stream_arn(arn).send().await.ok()?;
                    let status = out.stream_description()?.stream_status()?;
                    (*status == aws_sdk_dynamodbstreams::types::StreamStatus::Disabled).then_some(())
                }
            },
        )
        .await;
        assert_eq!(settled_keys(client, &arns[i], 1).await, ["one"], "region {i}");
    }
}
