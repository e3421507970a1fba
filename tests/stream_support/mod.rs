//! Reading DynamoDB Streams with `aws-sdk-dynamodbstreams` in tests: a
//! client per region and helpers that walk every shard of a stream.

#![allow(dead_code)]

use std::net::SocketAddr;

use aws_sdk_dynamodb::types::{ScalarAttributeType, StreamSpecification, StreamViewType as ViewType};
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::config::retry::RetryConfig;
use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodbstreams::types::{Record, Shard, ShardIteratorType};

use crate::common::settle::settled;
use crate::common::{DEADLINE, Keys, create_table};

/// A Streams client for the region API at `addr`, retries disabled.
pub fn streams_client(addr: SocketAddr, region: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(format!("http://{addr}"))
        .credentials_provider(Credentials::new("k", "s", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// DescribeStream's StreamDescription (first page of shards).
pub async fn describe(client: &Client, arn: &str) -> aws_sdk_dynamodbstreams::types::StreamDescription {
    let out = client
        .describe_stream()
        .stream_arn(arn)
        .send()
        .await
        .expect("DescribeStream");
    out.stream_description.expect("StreamDescription")
}

/// Every shard of a stream, following DescribeStream's pagination with
/// `page` shards per call.
pub async fn all_shards(client: &Client, arn: &str, page: i32) -> Vec<Shard> {
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = client
            .describe_stream()
            .stream_arn(arn)
            .limit(page)
            .set_exclusive_start_shard_id(start)
            .send()
            .await
            .expect("DescribeStream");
        let description = out.stream_description.expect("StreamDescription");
        shards.extend(description.shards().iter().cloned());
        start = description.last_evaluated_shard_id;
        if start.is_none() {
            return shards;
        }
    }
}

/// Reads one shard from `iterator` with GetRecords pages of `limit`, until
/// the shard ends (closed) or a page comes back empty (caught up).
pub async fn read_shard(client: &Client, mut iterator: String, limit: i32) -> Vec<Record> {
    let mut records = Vec::new();
    loop {
        let out = client
            .get_records()
            .shard_iterator(&iterator)
            .limit(limit)
            .send()
            .await
            .expect("GetRecords");
        let empty = out.records().is_empty();
        records.extend(out.records().iter().cloned());
        match out.next_shard_iterator {
            Some(next) if !empty => iterator = next,
            _ => return records,
        }
    }
}

/// Every record of a stream currently readable, shard by shard in order.
pub async fn read_all(client: &Client, arn: &str) -> Vec<Record> {
    let mut records = Vec::new();
    for shard in all_shards(client, arn, 100).await {
        let iterator = client
            .get_shard_iterator()
            .stream_arn(arn)
            .shard_id(shard.shard_id().expect("ShardId"))
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator
            .expect("ShardIterator");
        records.extend(read_shard(client, iterator, 1000).await);
    }
    records
}

/// Every record of the stream `arn` once `reached` holds for them and no
/// more arrive (see `settled`): how a test counts records exactly once.
pub async fn settled_records(
    client: &Client,
    arn: &str,
    what: &str,
    reached: impl Fn(&Vec<Record>) -> bool,
) -> Vec<Record> {
    settled(what, DEADLINE, reached, || async { Some(read_all(client, arn).await) }).await
}

/// A string attribute of a record's image (`NewImage` or else `OldImage`).
pub fn image_s(record: &Record, name: &str) -> Option<String> {
    let data = record.dynamodb()?;
    let image = data.new_image().or(data.old_image())?;
    image.get(name)?.as_s().ok().cloned()
}

/// The record's sequence number as an integer.
pub fn seq(record: &Record) -> u128 {
    record
        .dynamodb()
        .and_then(|d| d.sequence_number())
        .expect("SequenceNumber")
        .parse()
        .expect("decimal sequence number")
}

/// StreamSpecification enabling a stream of `view` type.
pub fn spec(view: ViewType) -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(view)
        .build()
        .expect("stream specification")
}

/// Creates table `name` (hash key `pk`) with a stream of `view` type and
/// returns the stream's ARN.
pub async fn table_with_stream(client: &aws_sdk_dynamodb::Client, name: &str, view: ViewType) -> String {
    create_table(client, name, Keys::Hash("pk", ScalarAttributeType::S)).await;
    let out = client
        .update_table()
        .table_name(name)
        .stream_specification(spec(view))
        .send()
        .await
        .expect("enable the stream");
    out.table_description()
        .and_then(|t| t.latest_stream_arn())
        .expect("LatestStreamArn")
        .to_string()
}

/// A shard iterator of `kind` (at `sequence` for the SEQUENCE_NUMBER kinds).
pub async fn iterator_for(
    client: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
    shard: &str,
    kind: ShardIteratorType,
    sequence: Option<&str>,
) -> String {
    client
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .set_sequence_number(sequence.map(str::to_string))
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator
        .expect("ShardIterator")
}
