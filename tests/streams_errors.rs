//! DynamoDB Streams errors through `aws-sdk-dynamodbstreams`: unknown
//! streams and shards, malformed iterators and parameters, iterators that
//! expire and records trimmed by retention.

mod common;
mod stream_support;

use aws_sdk_dynamodb::types::StreamViewType as ViewType;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use common::error_code as code;
use common::{TestRegion, s, wait_for};
use meridian::config::NodeConfig;
use stream_support::{all_shards, iterator_for, streams_client, table_with_stream};

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
