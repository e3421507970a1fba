//! Control plane through the AWS SDK: CreateTable, DescribeTable, ListTables
//! pagination, DeleteTable, UpdateTable, DescribeEndpoints and tagging.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput, ScalarAttributeType,
    TableStatus, Tag,
};
use common::{Keys, TestRegion, create_table, error_code, item, n, s};

fn definition(name: &str, ty: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ty)
        .build()
        .unwrap()
}

fn element(name: &str, ty: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(ty)
        .build()
        .unwrap()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

#[tokio::test]
async fn create_and_describe_hash_table_on_demand() {
    let region = TestRegion::start().await;
    let c = &region.client;
    let before = std::time::SystemTime::now();
    let created = c
        .create_table()
        .table_name("Users")
        .attribute_definitions(definition("id", ScalarAttributeType::S))
        .key_schema(element("id", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .tags(tag("team", "core"))
        .send()
        .await
        .unwrap();
    let desc = created.table_description().unwrap();
    assert_eq!(desc.table_name(), Some("Users"));
    assert_eq!(desc.table_status(), Some(&TableStatus::Active));

    let table = c.describe_table().table_name("Users").send().await.unwrap();
    let table = table.table().unwrap();
    assert_eq!(table.table_status(), Some(&TableStatus::Active));
    assert_eq!(
        table.table_arn(),
        Some("arn:aws:dynamodb:us-east-1:000000000000:table/Users")
    );
    let id = table.table_id().unwrap();
    assert_eq!(id.len(), 36, "TableId is UUID-shaped: {id}");
    assert_eq!(id, desc.table_id().unwrap(), "TableId is stable");
    let created_at = table.creation_date_time().unwrap();
    let before_secs = before.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(created_at.secs() >= before_secs - 5 && created_at.secs() <= before_secs + 600);
    assert_eq!(table.key_schema(), [element("id", KeyType::Hash)]);
    assert_eq!(
        table.attribute_definitions(),
        [definition("id", ScalarAttributeType::S)]
    );
    assert_eq!(
        table.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::PayPerRequest)
    );
    assert_eq!(table.item_count(), Some(0));
    assert_eq!(table.table_size_bytes(), Some(0));

    let tags = c
        .list_tags_of_resource()
        .resource_arn(table.table_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags(), [tag("team", "core")]);
    region.shutdown().await;
}

#[tokio::test]
async fn create_hash_range_table_provisioned_and_update_billing() {
    let region = TestRegion::start().await;
    let c = &region.client;
    c.create_table()
        .table_name("Events")
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .attribute_definitions(definition("ts", ScalarAttributeType::N))
        .key_schema(element("pk", KeyType::Hash))
        .key_schema(element("ts", KeyType::Range))
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(7)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let table = c.describe_table().table_name("Events").send().await.unwrap();
    let table = table.table().unwrap();
    assert_eq!(
        table.key_schema(),
        [element("pk", KeyType::Hash), element("ts", KeyType::Range)]
    );
    let throughput = table.provisioned_throughput().unwrap();
    assert_eq!(throughput.read_capacity_units(), Some(5));
    assert_eq!(throughput.write_capacity_units(), Some(7));
    assert_eq!(
        table.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::Provisioned)
    );

    let updated = c
        .update_table()
        .table_name("Events")
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let summary = updated.table_description().unwrap().billing_mode_summary().unwrap();
    assert_eq!(summary.billing_mode(), Some(&BillingMode::PayPerRequest));
    let table = c.describe_table().table_name("Events").send().await.unwrap();
    assert_eq!(
        table.table().unwrap().billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::PayPerRequest)
    );

    let back = c
        .update_table()
        .table_name("Events")
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(2)
                .write_capacity_units(3)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let throughput = back.table_description().unwrap().provisioned_throughput().unwrap();
    assert_eq!(throughput.read_capacity_units(), Some(2));
    assert_eq!(throughput.write_capacity_units(), Some(3));
    region.shutdown().await;
}

#[tokio::test]
async fn describe_table_counts_items_and_bytes() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Counted", Keys::Hash("pk", ScalarAttributeType::S)).await;
    for i in 0..3 {
        c.put_item()
            .table_name("Counted")
            .set_item(Some(item([("pk", s(format!("k{i}"))), ("v", s("abcd"))])))
            .send()
            .await
            .unwrap();
    }
    // Each item: "pk" (2) + "kN" (2) + "v" (1) + "abcd" (4) = 9 bytes.
    let table = c.describe_table().table_name("Counted").send().await.unwrap();
    assert_eq!(table.table().unwrap().item_count(), Some(3));
    assert_eq!(table.table().unwrap().table_size_bytes(), Some(27));

    // Overwriting replaces the size; deleting removes the item.
    c.put_item()
        .table_name("Counted")
        .set_item(Some(item([("pk", s("k0")), ("n", n(1))])))
        .send()
        .await
        .unwrap();
    c.delete_item()
        .table_name("Counted")
        .key("pk", s("k1"))
        .send()
        .await
        .unwrap();
    let table = c.describe_table().table_name("Counted").send().await.unwrap();
    assert_eq!(table.table().unwrap().item_count(), Some(2));
    // k0: 2 + 2 + 1 + 2 (number "1": one digit -> 2 bytes) = 7; k2: 9.
    assert_eq!(table.table().unwrap().table_size_bytes(), Some(16));
    region.shutdown().await;
}

#[tokio::test]
async fn list_tables_paginates() {
    let region = TestRegion::start().await;
    let c = &region.client;
    let names = ["t-a", "t-b", "t-c", "t-d", "t-e", "t-f", "t-g"];
    // Created out of order: ListTables returns names sorted.
    for name in names.iter().rev() {
        create_table(c, name, Keys::Hash("pk", ScalarAttributeType::S)).await;
    }
    let mut seen = Vec::new();
    let mut start: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = c
            .list_tables()
            .limit(3)
            .set_exclusive_start_table_name(start.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.table_names().len() <= 3);
        seen.extend(page.table_names().iter().cloned());
        match page.last_evaluated_table_name() {
            Some(last) => {
                assert_eq!(Some(last), page.table_names().last().map(String::as_str));
                start = Some(last.to_string());
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, names);

    // The SDK paginator follows the same tokens.
    let all: Vec<String> = c
        .list_tables()
        .limit(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all, names);

    // Without a limit, everything fits on one page.
    let page = c.list_tables().send().await.unwrap();
    assert_eq!(page.table_names(), names);
    assert_eq!(page.last_evaluated_table_name(), None);
    region.shutdown().await;
}

#[tokio::test]
async fn delete_table_removes_it_and_its_items() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Gone", Keys::Hash("pk", ScalarAttributeType::S)).await;
    c.put_item()
        .table_name("Gone")
        .set_item(Some(item([("pk", s("a"))])))
        .send()
        .await
        .unwrap();
    let deleted = c.delete_table().table_name("Gone").send().await.unwrap();
    assert_eq!(deleted.table_description().unwrap().table_name(), Some("Gone"));
    let err = c.describe_table().table_name("Gone").send().await.unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
    let err = c.delete_table().table_name("Gone").send().await.unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
    assert!(c.list_tables().send().await.unwrap().table_names().is_empty());

    // A table created again under the same name starts empty.
    create_table(c, "Gone", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let got = c.get_item().table_name("Gone").key("pk", s("a")).send().await.unwrap();
    assert!(got.item().is_none());
    let scan = c.scan().table_name("Gone").send().await.unwrap();
    assert_eq!(scan.count(), 0);
    region.shutdown().await;
}

#[tokio::test]
async fn describe_endpoints_names_this_region() {
    let region = TestRegion::start().await;
    let endpoints = region.client.describe_endpoints().send().await.unwrap();
    let endpoints = endpoints.endpoints();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].address(), region.addr.to_string());
    assert_eq!(endpoints[0].cache_period_in_minutes(), 1440);
    region.shutdown().await;
}

#[tokio::test]
async fn tag_untag_and_list_tags() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Tagged", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Tagged";
    let list = || async {
        let mut tags: Vec<(String, String)> = c
            .list_tags_of_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap()
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        tags.sort();
        tags
    };
    assert!(list().await.is_empty());
    c.tag_resource()
        .resource_arn(arn)
        .tags(tag("env", "test"))
        .tags(tag("owner", "me"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        list().await,
        [("env".into(), "test".into()), ("owner".into(), "me".into())]
    );
    // Tagging an existing key replaces its value.
    c.tag_resource()
        .resource_arn(arn)
        .tags(tag("env", "prod"))
        .send()
        .await
        .unwrap();
    c.untag_resource()
        .resource_arn(arn)
        .tag_keys("owner")
        .send()
        .await
        .unwrap();
    assert_eq!(list().await, [("env".to_string(), "prod".to_string())]);

    let missing = "arn:aws:dynamodb:us-east-1:000000000000:table/Nope";
    let err = c
        .list_tags_of_resource()
        .resource_arn(missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
    let err = c
        .tag_resource()
        .resource_arn(missing)
        .tags(tag("a", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
    region.shutdown().await;
}

/// A vector index on `embedding`, for the requests that must refuse it.
fn vector_index() -> aws_sdk_dynamodb::types::VectorIndex {
    use aws_sdk_dynamodb::types::{VectorAttributeDefinition, VectorDistanceFunction, VectorIndex};
    VectorIndex::builder()
        .index_name("byEmbedding")
        .vector_attribute(
            VectorAttributeDefinition::builder()
                .attribute_name("embedding")
                .build()
                .unwrap(),
        )
        .dimensions(3)
        .distance_function(VectorDistanceFunction::from("COSINE"))
        .projection(
            aws_sdk_dynamodb::types::Projection::builder()
                .projection_type(aws_sdk_dynamodb::types::ProjectionType::All)
                .build(),
        )
        .build()
        .unwrap()
}

/// `result` failed with a ValidationException saying `message`.
fn assert_refused<T: std::fmt::Debug, E, R>(result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>, message: &str)
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    let error = result.expect_err("refused");
    assert_eq!(error_code(&error), "ValidationException");
    assert_eq!(common::error_message(&error), message);
}

#[tokio::test]
async fn features_meridian_lacks_are_refused_not_ignored() {
    use aws_sdk_dynamodb::types::{
        CreateGlobalTableWitnessGroupMemberAction, CreateReplicationGroupMemberAction, DeleteVectorIndexAction,
        GlobalTableSettingsReplicationMode, GlobalTableWitnessGroupUpdate, MultiRegionConsistency,
        ReplicationGroupUpdate, VectorIndexUpdate,
    };
    let region = TestRegion::start().await;
    let c = &region.client;
    let create = |name: &str| {
        c.create_table()
            .table_name(name)
            .attribute_definitions(definition("id", ScalarAttributeType::S))
            .key_schema(element("id", KeyType::Hash))
            .billing_mode(BillingMode::PayPerRequest)
    };
    assert_refused(
        create("Vectors").vector_indexes(vector_index()).send().await,
        "VectorIndexes is not supported by Meridian yet",
    );
    assert_refused(
        create("FromElsewhere")
            .global_table_source_arn("arn:aws:dynamodb:us-east-1:111111111111:table/FromElsewhere")
            .send()
            .await,
        "GlobalTableSourceArn is not supported by Meridian yet",
    );
    assert_refused(
        create("Synced")
            .global_table_settings_replication_mode(GlobalTableSettingsReplicationMode::Enabled)
            .send()
            .await,
        "GlobalTableSettingsReplicationMode ENABLED (multi-account global tables) is not supported by Meridian yet",
    );
    assert_refused(
        create("Odd")
            .global_table_settings_replication_mode(GlobalTableSettingsReplicationMode::from("SOMETIMES"))
            .send()
            .await,
        "1 validation error detected: Value 'SOMETIMES' at 'globalTableSettingsReplicationMode' failed to satisfy \
         constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_OVERRIDES]",
    );
    // Nothing of a refused request was created.
    let tables = c.list_tables().send().await.unwrap();
    assert!(tables.table_names().is_empty(), "{:?}", tables.table_names());

    // The same-account mode is what Meridian's replicated tables do.
    create("Users")
        .global_table_settings_replication_mode(GlobalTableSettingsReplicationMode::EnabledWithOverrides)
        .send()
        .await
        .unwrap();
    let add_replica = || {
        c.update_table().table_name("Users").replica_updates(
            ReplicationGroupUpdate::builder()
                .create(
                    CreateReplicationGroupMemberAction::builder()
                        .region_name("eu-west-1")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
    };
    assert_refused(
        add_replica()
            .multi_region_consistency(MultiRegionConsistency::Strong)
            .send()
            .await,
        "MultiRegionConsistency STRONG (replicas are eventually consistent, the last writer wins) is not \
         supported by Meridian yet",
    );
    assert_refused(
        add_replica()
            .global_table_witness_updates(
                GlobalTableWitnessGroupUpdate::builder()
                    .create(
                        CreateGlobalTableWitnessGroupMemberAction::builder()
                            .region_name("eu-west-1")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await,
        "GlobalTableWitnessUpdates is not supported by Meridian yet",
    );
    assert_refused(
        c.update_table()
            .table_name("Users")
            .vector_index_updates(
                VectorIndexUpdate::builder()
                    .delete(
                        DeleteVectorIndexAction::builder()
                            .index_name("byEmbedding")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await,
        "VectorIndexUpdates is not supported by Meridian yet",
    );
    assert_refused(
        c.restore_table_from_backup()
            .target_table_name("Restored")
            .backup_arn("arn:aws:dynamodb:us-east-1:000000000000:table/Users/backup/01234567890123-abcdefgh")
            .vector_index_override(vector_index())
            .send()
            .await,
        "VectorIndexOverride is not supported by Meridian yet",
    );
    assert_refused(
        c.restore_table_to_point_in_time()
            .source_table_name("Users")
            .target_table_name("Restored")
            .use_latest_restorable_time(true)
            .vector_index_override(vector_index())
            .send()
            .await,
        "VectorIndexOverride is not supported by Meridian yet",
    );
    let table = c.describe_table().table_name("Users").send().await.unwrap();
    assert!(table.table().unwrap().replicas().is_empty(), "no replica was added");
    region.shutdown().await;
}
