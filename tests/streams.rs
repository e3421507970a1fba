//! DynamoDB Streams read through `aws-sdk-dynamodbstreams` against a region
//! started in-process: stream settings, every view type and iterator type,
//! paging across shards, per-item order under concurrent writers, 1 MB
//! pages (errors are in `streams_errors.rs`).

mod common;
mod stream_support;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use aws_sdk_dynamodb::types::{ScalarAttributeType, StreamSpecification, StreamViewType as ViewType};
use aws_sdk_dynamodbstreams::types::{OperationType, ShardFilter, ShardFilterType, ShardIteratorType, StreamStatus};
use common::error_code as code;
use common::{Keys, TestRegion, create_table, item, n, s};
use meridian::config::NodeConfig;
use stream_support::{
    all_shards, describe, image_s, iterator_for, read_all, read_shard, seq, spec, streams_client, table_with_stream,
};

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

/// UpdateTable with only a StreamSpecification.
async fn set_stream(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    spec: StreamSpecification,
) -> Result<
    aws_sdk_dynamodb::operation::update_table::UpdateTableOutput,
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_table::UpdateTableError>,
> {
    client
        .update_table()
        .table_name(table)
        .stream_specification(spec)
        .send()
        .await
}

#[tokio::test]
async fn create_table_with_a_stream_describes_and_lists_it() {
    let region = TestRegion::start().await;
    let streams = streams_client(region.addr, common::REGION);
    let attribute = aws_sdk_dynamodb::types::AttributeDefinition::builder()
        .attribute_name("pk")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap();
    let key = aws_sdk_dynamodb::types::KeySchemaElement::builder()
        .attribute_name("pk")
        .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
        .build()
        .unwrap();
    let created = region
        .client
        .create_table()
        .table_name("Orders")
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(attribute)
        .key_schema(key)
        .stream_specification(spec(ViewType::NewAndOldImages))
        .send()
        .await
        .expect("create a table with a stream");
    let table = created.table_description.unwrap();
    let arn = table.latest_stream_arn().expect("LatestStreamArn").to_string();
    let label = table.latest_stream_label().expect("LatestStreamLabel").to_string();
    assert_eq!(
        arn,
        format!("arn:aws:dynamodb:us-east-1:000000000000:table/Orders/stream/{label}")
    );
    assert_eq!(label.len(), "2015-05-20T20:51:10.252".len());
    let described = region
        .client
        .describe_table()
        .table_name("Orders")
        .send()
        .await
        .unwrap();
    let table = described.table.unwrap();
    assert_eq!(table.latest_stream_arn(), Some(arn.as_str()));
    let stream_spec = table.stream_specification().expect("StreamSpecification");
    assert!(stream_spec.stream_enabled());
    assert_eq!(stream_spec.stream_view_type(), Some(&ViewType::NewAndOldImages));

    create_table(&region.client, "Plain", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let listed = streams.list_streams().send().await.unwrap();
    let arns: Vec<&str> = listed.streams().iter().filter_map(|s| s.stream_arn()).collect();
    assert_eq!(arns, [arn.as_str()]);
    assert_eq!(listed.streams()[0].table_name(), Some("Orders"));
    let none = streams.list_streams().table_name("Plain").send().await.unwrap();
    assert!(none.streams().is_empty());

    let description = describe(&streams, &arn).await;
    assert_eq!(description.stream_status(), Some(&StreamStatus::Enabled));
    assert_eq!(description.table_name(), Some("Orders"));
    assert_eq!(description.stream_label(), Some(label.as_str()));
    assert_eq!(description.key_schema().len(), 1);
    let shards = description.shards();
    assert_eq!(shards.len(), 1, "one open shard");
    let range = shards[0].sequence_number_range().unwrap();
    assert!(range.starting_sequence_number().unwrap().len() >= 21);
    assert_eq!(
        range.starting_sequence_number().unwrap().len(),
        21,
        "a 21-digit sequence number"
    );
    assert!(range.ending_sequence_number().is_none(), "the shard is open");
    assert!(shards[0].parent_shard_id().is_none());
    region.shutdown().await;
}

#[tokio::test]
async fn every_view_type_carries_its_images() {
    let region = TestRegion::start().await;
    let streams = streams_client(region.addr, common::REGION);
    let views = [
        (ViewType::KeysOnly, false, false),
        (ViewType::NewImage, true, false),
        (ViewType::OldImage, false, true),
        (ViewType::NewAndOldImages, true, true),
    ];
    for (view, has_new, has_old) in views {
        let table = format!("T{}", view.as_str().replace('_', ""));
        let arn = table_with_stream(&region.client, &table, view.clone()).await;
        let c = &region.client;
        c.put_item()
            .table_name(&table)
            .set_item(Some(item([("pk", s("a")), ("v", n(1))])))
            .send()
            .await
            .unwrap();
        // A write whose condition fails changes nothing: no record.
        let refused = c
            .put_item()
            .table_name(&table)
            .set_item(Some(item([("pk", s("a")), ("v", n(9))])))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&refused), "ConditionalCheckFailedException");
        // An identical put and a delete of a missing item change nothing: no records.
        c.put_item()
            .table_name(&table)
            .set_item(Some(item([("pk", s("a")), ("v", n(1))])))
            .send()
            .await
            .unwrap();
        c.delete_item()
            .table_name(&table)
            .key("pk", s("missing"))
            .send()
            .await
            .unwrap();
        c.update_item()
            .table_name(&table)
            .key("pk", s("a"))
            .update_expression("SET v = :v")
            .expression_attribute_values(":v", n(2))
            .send()
            .await
            .unwrap();
        c.delete_item()
            .table_name(&table)
            .key("pk", s("a"))
            .send()
            .await
            .unwrap();

        let records = read_all(&streams, &arn).await;
        let names: Vec<_> = records.iter().map(|r| r.event_name().cloned().unwrap()).collect();
        assert_eq!(
            names,
            [OperationType::Insert, OperationType::Modify, OperationType::Remove],
            "{view:?}"
        );
        for (i, record) in records.iter().enumerate() {
            assert_eq!(record.event_source(), Some("aws:dynamodb"));
            assert_eq!(record.event_version(), Some("1.1"));
            assert_eq!(record.aws_region(), Some("us-east-1"));
            assert!(record.user_identity().is_none(), "client writes have no userIdentity");
            let data = record.dynamodb().unwrap();
            assert_eq!(data.keys().unwrap().get("pk").unwrap().as_s().unwrap(), "a");
            assert_eq!(data.stream_view_type().map(|v| v.as_str()), Some(view.as_str()));
            assert!(data.size_bytes().unwrap() > 0);
            assert!(data.approximate_creation_date_time().is_some());
            let expect_new = has_new && i < 2;
            let expect_old = has_old && i > 0;
            assert_eq!(data.new_image().is_some(), expect_new, "{view:?} record {i} NewImage");
            assert_eq!(data.old_image().is_some(), expect_old, "{view:?} record {i} OldImage");
        }
        if has_new {
            let v = records[1].dynamodb().unwrap().new_image().unwrap().get("v").unwrap();
            assert_eq!(v.as_n().unwrap(), "2");
        }
        if has_old {
            let v = records[2].dynamodb().unwrap().old_image().unwrap().get("v").unwrap();
            assert_eq!(v.as_n().unwrap(), "2");
        }
        assert!(seq(&records[0]) < seq(&records[1]) && seq(&records[1]) < seq(&records[2]));
        let ids: std::collections::HashSet<_> = records.iter().map(|r| r.event_id().unwrap().to_string()).collect();
        assert_eq!(ids.len(), 3, "event ids are unique");
        let described = c.describe_table().table_name(&table).send().await.unwrap();
        assert_eq!(described.table().unwrap().item_count(), Some(0), "{view:?}");
    }
    region.shutdown().await;
}

#[tokio::test]
async fn every_iterator_type_starts_where_it_should() {
    let region = TestRegion::start().await;
    let streams = streams_client(region.addr, common::REGION);
    let arn = table_with_stream(&region.client, "Events", ViewType::KeysOnly).await;
    let put = |key: String| {
        let client = region.client.clone();
        async move {
            client
                .put_item()
                .table_name("Events")
                .item("pk", s(key))
                .send()
                .await
                .unwrap();
        }
    };
    for i in 0..5 {
        put(format!("k{i}")).await;
    }
    let shard = all_shards(&streams, &arn, 100).await[0].shard_id().unwrap().to_string();
    let keys = |records: &[aws_sdk_dynamodbstreams::types::Record]| -> Vec<String> {
        records
            .iter()
            .map(|r| r.dynamodb().unwrap().keys().unwrap()["pk"].as_s().unwrap().clone())
            .collect()
    };

    let trim = iterator_for(&streams, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;
    let all = read_shard(&streams, trim, 1000).await;
    assert_eq!(keys(&all), ["k0", "k1", "k2", "k3", "k4"]);
    let third = all[2].dynamodb().unwrap().sequence_number().unwrap().to_string();

    let at = iterator_for(
        &streams,
        &arn,
        &shard,
        ShardIteratorType::AtSequenceNumber,
        Some(&third),
    )
    .await;
    assert_eq!(keys(&read_shard(&streams, at, 1000).await), ["k2", "k3", "k4"]);
    let after = iterator_for(
        &streams,
        &arn,
        &shard,
        ShardIteratorType::AfterSequenceNumber,
        Some(&third),
    )
    .await;
    assert_eq!(keys(&read_shard(&streams, after, 1000).await), ["k3", "k4"]);

    let latest = iterator_for(&streams, &arn, &shard, ShardIteratorType::Latest, None).await;
    let first = streams.get_records().shard_iterator(&latest).send().await.unwrap();
    assert!(first.records().is_empty(), "LATEST starts after the last record");
    let next = first
        .next_shard_iterator
        .expect("an open shard always has a next iterator");
    put("k5".into()).await;
    let later = streams.get_records().shard_iterator(&next).send().await.unwrap();
    assert_eq!(keys(later.records()), ["k5"]);

    // Limit pages through the same records one at a time.
    let trim = iterator_for(&streams, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;
    assert_eq!(
        keys(&read_shard(&streams, trim, 1).await),
        ["k0", "k1", "k2", "k3", "k4", "k5"]
    );

    // A sequence number that is not in the shard, or missing, is invalid.
    let err = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number("000000000000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
    let err = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
    region.shutdown().await;
}

#[tokio::test]
async fn thousands_of_records_page_across_rolled_over_shards() {
    let mut config = NodeConfig::default();
    config.streams.shard_log_span = 500;
    let region = TestRegion::start_with(config).await;
    let streams = streams_client(region.addr, common::REGION);
    let arn = table_with_stream(&region.client, "Bulk", ViewType::NewImage).await;
    const ITEMS: usize = 3000;
    for batch in 0..ITEMS / 25 {
        let writes: Vec<WriteRequest> = (0..25)
            .map(|i| {
                let put = PutRequest::builder()
                    .set_item(Some(item([("pk", s(format!("item{:05}", batch * 25 + i)))])))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        region
            .client
            .batch_write_item()
            .request_items("Bulk", writes)
            .send()
            .await
            .unwrap();
    }
    // Describe with small pages: every shard once, each one's parent the one before.
    let shards = all_shards(&streams, &arn, 2).await;
    assert!(
        shards.len() >= 6,
        "3000 records over 500-position shards: {} shards",
        shards.len()
    );
    // The stream covers the log from the UpdateTable that enabled it (a
    // position with no record), then one position per put: 3001 positions
    // over 500-position shards, six closed and the seventh open.
    assert_eq!(shards.len(), 7, "3001 positions over 500-position shards");
    // ShardFilter CHILD_SHARDS names each shard's one child; the open
    // shard has none yet.
    for (i, shard) in shards.iter().enumerate() {
        let filter = ShardFilter::builder()
            .r#type(ShardFilterType::ChildShards)
            .shard_id(shard.shard_id().unwrap())
            .build();
        let children = streams
            .describe_stream()
            .stream_arn(&arn)
            .shard_filter(filter)
            .send()
            .await
            .unwrap();
        let children = children.stream_description().unwrap();
        let ids: Vec<_> = children.shards().iter().map(|c| c.shard_id()).collect();
        let expected: Vec<_> = shards.get(i + 1).map(|c| c.shard_id()).into_iter().collect();
        assert_eq!(ids, expected, "children of shard {i}");
        assert_eq!(children.last_evaluated_shard_id(), None);
    }
    for pair in shards.windows(2) {
        assert_eq!(pair[1].parent_shard_id(), pair[0].shard_id());
        let closed = pair[0].sequence_number_range().unwrap();
        assert!(
            closed.ending_sequence_number().is_some(),
            "all but the last shard are closed"
        );
    }
    assert!(
        shards
            .last()
            .unwrap()
            .sequence_number_range()
            .unwrap()
            .ending_sequence_number()
            .is_none()
    );

    // Read every shard in pages of 100: each record exactly once, in order.
    let mut keys = Vec::new();
    let mut per_shard = Vec::new();
    let mut last_seq = 0;
    for shard in &shards {
        let it = iterator_for(
            &streams,
            &arn,
            shard.shard_id().unwrap(),
            ShardIteratorType::TrimHorizon,
            None,
        )
        .await;
        let records = read_shard(&streams, it, 100).await;
        per_shard.push(records.len());
        for record in &records {
            assert!(seq(record) > last_seq, "sequence numbers increase");
            last_seq = seq(record);
            keys.push(image_s(record, "pk").unwrap());
        }
    }
    let expected: Vec<String> = (0..ITEMS).map(|i| format!("item{i:05}")).collect();
    assert_eq!(keys, expected);
    assert_eq!(per_shard, [499, 500, 500, 500, 500, 500, 1]);
    region.shutdown().await;
}

#[tokio::test]
async fn concurrent_writers_see_each_item_exactly_once_in_order() {
    let region = TestRegion::start().await;
    let streams = streams_client(region.addr, common::REGION);
    let arn = table_with_stream(&region.client, "Counters", ViewType::NewImage).await;
    const WRITERS: usize = 8;
    const ROUNDS: usize = 40;
    const KEYS: usize = 4;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let client = region.client.clone();
        tasks.push(tokio::spawn(async move {
            for r in 0..ROUNDS {
                client
                    .update_item()
                    .table_name("Counters")
                    .key("pk", s(format!("c{}", (w + r) % KEYS)))
                    .update_expression("ADD n :one")
                    .expression_attribute_values(":one", n(1))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let records = read_all(&streams, &arn).await;
    assert_eq!(records.len(), WRITERS * ROUNDS);
    let mut per_key: HashMap<String, Vec<u64>> = HashMap::new();
    for record in &records {
        let image = record.dynamodb().unwrap().new_image().unwrap();
        let value: u64 = image["n"].as_n().unwrap().parse().unwrap();
        per_key
            .entry(image["pk"].as_s().unwrap().clone())
            .or_default()
            .push(value);
    }
    assert_eq!(per_key.len(), KEYS);
    for (key, values) in per_key {
        let expected: Vec<u64> = (1..=values.len() as u64).collect();
        assert_eq!(values, expected, "{key}: every modification once, in order");
    }
    region.shutdown().await;
}

#[tokio::test]
async fn disabling_closes_the_stream_and_enabling_again_opens_a_new_one() {
    let region = TestRegion::start().await;
    let streams = streams_client(region.addr, common::REGION);
    let arn = table_with_stream(&region.client, "Toggle", ViewType::KeysOnly).await;
    let c = &region.client;
    put_key(c, "Toggle", "before").await;

    let err = set_stream(c, "Toggle", spec(ViewType::NewImage)).await.unwrap_err();
    assert_eq!(common::error_code(&err), "ValidationException");
    assert!(common::error_message(&err).contains("already has an enabled stream"));

    let off = StreamSpecification::builder().stream_enabled(false).build().unwrap();
    set_stream(c, "Toggle", off.clone()).await.unwrap();
    put_key(c, "Toggle", "while-off").await;
    let err = set_stream(c, "Toggle", off).await.unwrap_err();
    assert_eq!(common::error_code(&err), "ValidationException");

    let description = describe(&streams, &arn).await;
    assert_eq!(description.stream_status(), Some(&StreamStatus::Disabled));
    let shard = &description.shards()[0];
    assert!(
        shard
            .sequence_number_range()
            .unwrap()
            .ending_sequence_number()
            .is_some()
    );
    let it = iterator_for(
        &streams,
        &arn,
        shard.shard_id().unwrap(),
        ShardIteratorType::TrimHorizon,
        None,
    )
    .await;
    let out = streams.get_records().shard_iterator(&it).send().await.unwrap();
    assert_eq!(out.records().len(), 1);
    assert!(
        out.next_shard_iterator.is_none(),
        "a closed shard read to its end has no next iterator"
    );

    let again = set_stream(c, "Toggle", spec(ViewType::NewImage)).await.unwrap();
    let new_arn = again
        .table_description()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_string();
    assert_ne!(new_arn, arn);
    put_key(c, "Toggle", "after").await;
    let records = read_all(&streams, &new_arn).await;
    assert_eq!(records.len(), 1);
    assert_eq!(image_s(&records[0], "pk").as_deref(), Some("after"));
    region.shutdown().await;
}

#[tokio::test]
async fn get_records_pages_stay_under_one_megabyte() {
    let region = TestRegion::start().await;
    let streams = streams_client(region.addr, common::REGION);
    let arn = table_with_stream(&region.client, "Large", ViewType::NewImage).await;
    let blob = "x".repeat(300 * 1024);
    for i in 0..6 {
        region
            .client
            .put_item()
            .set_table_name(Some("Large".into()))
            .set_item(Some(item([("pk", s(format!("big{i}"))), ("blob", s(blob.clone()))])))
            .send()
            .await
            .unwrap();
    }
    let shard = all_shards(&streams, &arn, 100).await.remove(0);
    let it = iterator_for(
        &streams,
        &arn,
        shard.shard_id().unwrap(),
        ShardIteratorType::TrimHorizon,
        None,
    )
    .await;
    let first = streams.get_records().shard_iterator(&it).send().await.unwrap();
    assert_eq!(first.records().len(), 3, "three 300 KB images fit in 1 MB, four do not");
    let rest = read_shard(&streams, first.next_shard_iterator.unwrap(), 1000).await;
    assert_eq!(rest.len(), 3);
    region.shutdown().await;
}

#[tokio::test]
async fn a_stream_and_its_iterators_survive_a_restart() {
    let region = TestRegion::start().await;
    let arn = table_with_stream(&region.client, "Durable", ViewType::KeysOnly).await;
    put_key(&region.client, "Durable", "before").await;
    let streams = streams_client(region.addr, common::REGION);
    let shard = all_shards(&streams, &arn, 100).await.remove(0);
    let latest = iterator_for(
        &streams,
        &arn,
        shard.shard_id().unwrap(),
        ShardIteratorType::Latest,
        None,
    )
    .await;

    let region = region.restart().await;
    put_key(&region.client, "Durable", "after").await;
    let streams = streams_client(region.addr, common::REGION);
    let records = read_all(&streams, &arn).await;
    let keys: Vec<_> = records.iter().map(|r| image_s(r, "pk")).collect();
    assert!(keys.iter().all(Option::is_none), "KEYS_ONLY records carry no images");
    let keys: Vec<String> = records
        .iter()
        .map(|r| r.dynamodb().unwrap().keys().unwrap()["pk"].as_s().unwrap().clone())
        .collect();
    assert_eq!(keys, ["before", "after"]);
    // An iterator issued before the restart still reads from where it was.
    let out = streams.get_records().shard_iterator(latest).send().await.unwrap();
    assert_eq!(out.records().len(), 1);
    region.shutdown().await;
}
