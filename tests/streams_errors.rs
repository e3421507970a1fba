//! DynamoDB Streams errors through `aws-sdk-dynamodbstreams`: unknown
//! streams and shards, malformed iterators and parameters, iterators that
//! expire, records trimmed by retention, and an earlier stream of a table
//! (or a deleted table's stream) readable for a day after it was disabled,
//! then gone.

mod common;
mod stream_support;

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType as ViewType};
use aws_sdk_dynamodbstreams::types::{ShardIteratorType, StreamStatus};
use common::error_code as code;
use common::{TestRegion, s, wait_for};
use meridian::config::NodeConfig;
use stream_support::{all_shards, describe, iterator_for, read_all, spec, streams_client, table_with_stream};

#[tokio::test]
async fn unknown_streams_and_bad_iterators_get_dynamodb_errors() {
    let region = TestRegion::start().await;
    let streams = streams_client(region.addr, common::REGION);
    let arn = table_with_stream(&region.client, "Known", ViewType::KeysOnly).await;
    let unknown = arn.replace("/Known/", "/Unknown/");
    let err = streams.describe_stream().stream_arn(&unknown).send().await.unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    let (table_part, _) = arn.split_once("/stream/").unwrap();
    let other_label = format!("{table_part}/stream/1999-01-01T00:00:00.000");
    let err = streams
        .describe_stream()
        .stream_arn(&other_label)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    let err = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id("shardId-00000000000000000001-00000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    let err = streams
        .list_streams()
        .table_name("NoSuchTable")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    let err = streams
        .get_records()
        .shard_iterator("bm90IGFuIGl0ZXJhdG9y")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
    let err = streams
        .get_records()
        .shard_iterator("x")
        .limit(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");

    // A raw request with the Streams target prefix answers in JSON 1.0.
    let target = "DynamoDBStreams_20120810.ListStreams";
    let raw = region.raw(Some(target), "{}").await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.headers["content-type"], "application/x-amz-json-1.0");
    let raw = region.raw(Some("DynamoDBStreams_20120810.Nope"), "{}").await;
    assert_eq!(raw.error_type(), "UnknownOperationException");
    region.shutdown().await;
}

#[tokio::test]
async fn iterators_expire_and_old_records_are_trimmed() {
    let mut config = NodeConfig::default();
    config.streams.iterator_ttl_secs = 1;
    config.streams.retention_secs = 1;
    let region = TestRegion::start_with(config).await;
    let streams = streams_client(region.addr, common::REGION);
    let arn = table_with_stream(&region.client, "Short", ViewType::KeysOnly).await;
    region
        .client
        .put_item()
        .table_name("Short")
        .item("pk", s("old"))
        .send()
        .await
        .unwrap();
    let shard = all_shards(&streams, &arn, 100).await.remove(0);
    let shard_id = shard.shard_id().unwrap().to_string();
    let first = shard
        .sequence_number_range()
        .unwrap()
        .starting_sequence_number()
        .unwrap()
        .to_string();
    let iterator = iterator_for(&streams, &arn, &shard_id, ShardIteratorType::Latest, None).await;

    // The iterator works until it is older than iterator_ttl_secs.
    let error = wait_for("the iterator to expire", || {
        let (streams, iterator) = (streams.clone(), iterator.clone());
        async move {
            match streams.get_records().shard_iterator(iterator).send().await {
                Ok(_) => None,
                Err(err) => Some(code(&err)),
            }
        }
    })
    .await;
    assert_eq!(error, "ExpiredIteratorException");

    // Positions older than retention_secs are trimmed from the stream's view.
    let error = wait_for("the first position to be trimmed", || {
        let (streams, arn, shard_id, first) = (streams.clone(), arn.clone(), shard_id.clone(), first.clone());
        async move {
            let result = streams
                .get_shard_iterator()
                .stream_arn(arn)
                .shard_id(shard_id)
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .sequence_number(first)
                .send()
                .await;
            match result {
                Ok(_) => None,
                Err(err) => Some(code(&err)),
            }
        }
    })
    .await;
    assert_eq!(error, "TrimmedDataAccessException");
    // TRIM_HORIZON now starts after the trimmed record (retrying when the
    // short-lived iterator expires first on a loaded machine).
    wait_for("TRIM_HORIZON to skip the trimmed record", || {
        let (streams, arn, shard_id) = (streams.clone(), arn.clone(), shard_id.clone());
        async move {
            let it = iterator_for(&streams, &arn, &shard_id, ShardIteratorType::TrimHorizon, None).await;
            match streams.get_records().shard_iterator(it).send().await {
                Ok(out) => out.records().is_empty().then_some(()),
                Err(err) => {
                    let code = code(&err);
                    assert!(
                        code == "ExpiredIteratorException" || code == "TrimmedDataAccessException",
                        "{code}"
                    );
                    None
                }
            }
        }
    })
    .await;
    region.shutdown().await;
}

/// Puts an item with only its key `pk`.
async fn put_key(client: &aws_sdk_dynamodb::Client, table: &str, key: &str) {
    client
        .put_item()
        .table_name(table)
        .item("pk", s(key))
        .send()
        .await
        .unwrap();
}

/// UpdateTable of `table`'s StreamSpecification; answers LatestStreamArn.
async fn set_stream(client: &aws_sdk_dynamodb::Client, table: &str, spec: StreamSpecification) -> String {
    let out = client
        .update_table()
        .table_name(table)
        .stream_specification(spec)
        .send()
        .await
        .unwrap();
    out.table_description()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_string()
}

/// ListStreams of `table`: the stream ARNs.
async fn listed(streams: &aws_sdk_dynamodbstreams::Client, table: &str) -> Vec<String> {
    let out = streams.list_streams().table_name(table).send().await.unwrap();
    out.streams()
        .iter()
        .map(|s| s.stream_arn().unwrap().to_string())
        .collect()
}

/// The `pk` key of every record of the stream `arn`.
async fn keys_in(streams: &aws_sdk_dynamodbstreams::Client, arn: &str) -> Vec<String> {
    let records = read_all(streams, arn).await;
    let key = |r: &aws_sdk_dynamodbstreams::types::Record| {
        let keys = r.dynamodb().and_then(|d| d.keys()).expect("Keys");
        keys["pk"].as_s().expect("a string key").clone()
    };
    records.iter().map(key).collect()
}

/// DescribeStream of `arn`, checked DISABLED with every shard closed.
async fn describe_disabled(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
) -> aws_sdk_dynamodbstreams::types::StreamDescription {
    let description = describe(streams, arn).await;
    assert_eq!(description.stream_status(), Some(&StreamStatus::Disabled));
    let closed = |shard: &aws_sdk_dynamodbstreams::types::Shard| {
        let range = shard.sequence_number_range().unwrap();
        range.ending_sequence_number().is_some()
    };
    assert!(description.shards().iter().all(closed), "{arn}: every shard closed");
    description
}

#[tokio::test]
async fn an_earlier_stream_stays_readable_for_a_day_after_it_is_disabled() {
    let region = TestRegion::start().await;
    let c = &region.client;
    let first = table_with_stream(c, "Old", ViewType::KeysOnly).await;
    put_key(c, "Old", "one").await;
    let off = StreamSpecification::builder().stream_enabled(false).build().unwrap();
    assert_eq!(set_stream(c, "Old", off).await, first);
    put_key(c, "Old", "while-off").await;
    let second = set_stream(c, "Old", spec(ViewType::NewImage)).await;
    assert_ne!(second, first);
    put_key(c, "Old", "two").await;

    // Both streams are listed and readable, also after a restart: the
    // earlier one disabled, its shards closed, its records still there.
    let region = region.restart().await;
    let streams = streams_client(region.addr, common::REGION);
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(listed(&streams, "Old").await, both);
    let old = describe_disabled(&streams, &first).await;
    assert_eq!(old.stream_view_type().map(|v| v.as_str()), Some("KEYS_ONLY"));
    assert_eq!(keys_in(&streams, &first).await, ["one"]);
    assert_eq!(
        describe(&streams, &second).await.stream_status(),
        Some(&StreamStatus::Enabled)
    );
    assert_eq!(keys_in(&streams, &second).await, ["two"]);
    let shard = old.shards()[0].shard_id().unwrap().to_string();

    // A day after it was disabled, the earlier stream is gone.
    region.node().engine().hlc().set_offset_ms(86_400_000).unwrap();
    assert_eq!(listed(&streams, "Old").await, [second.as_str()]);
    let gone = format!("Requested resource not found: Stream: {first} not found");
    let err = streams.describe_stream().stream_arn(&first).send().await.unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    assert_eq!(common::error_message(&err), gone);
    let err = streams
        .get_shard_iterator()
        .stream_arn(&first)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    assert_eq!(
        describe(&streams, &second).await.stream_status(),
        Some(&StreamStatus::Enabled)
    );
    region.shutdown().await;
}

#[tokio::test]
async fn a_deleted_tables_stream_stays_readable_for_a_day() {
    let region = TestRegion::start().await;
    let c = &region.client;
    let deleted = table_with_stream(c, "Gone", ViewType::KeysOnly).await;
    put_key(c, "Gone", "one").await;
    put_key(c, "Gone", "two").await;
    c.delete_table().table_name("Gone").send().await.unwrap();

    // The deleted table's stream is DISABLED, listed and readable to its end.
    let streams = streams_client(region.addr, common::REGION);
    assert_eq!(listed(&streams, "Gone").await, [deleted.as_str()]);
    let all = streams.list_streams().send().await.unwrap();
    assert!(all.streams().iter().any(|s| s.stream_arn() == Some(deleted.as_str())));
    let old = describe_disabled(&streams, &deleted).await;
    assert_eq!(old.table_name(), Some("Gone"));
    assert_eq!(keys_in(&streams, &deleted).await, ["one", "two"]);

    // A new table of the same name has a stream of its own; the deleted
    // table's stream does not see its writes, also after a restart.
    let created = table_with_stream(c, "Gone", ViewType::NewImage).await;
    assert_ne!(created, deleted);
    put_key(c, "Gone", "three").await;
    let region = region.restart().await;
    let streams = streams_client(region.addr, common::REGION);
    let mut both = vec![deleted.clone(), created.clone()];
    both.sort();
    assert_eq!(listed(&streams, "Gone").await, both);
    assert_eq!(keys_in(&streams, &deleted).await, ["one", "two"]);
    assert_eq!(keys_in(&streams, &created).await, ["three"]);

    // A day after the deletion the stream is gone.
    region.node().engine().hlc().set_offset_ms(86_400_000).unwrap();
    assert_eq!(listed(&streams, "Gone").await, [created.as_str()]);
    let err = streams.describe_stream().stream_arn(&deleted).send().await.unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    assert_eq!(
        common::error_message(&err),
        format!("Requested resource not found: Stream: {deleted} not found")
    );
    region.shutdown().await;
}
