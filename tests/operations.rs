//! The operations tools call by habit (DescribeLimits, the legacy global
//! tables calls, DescribeTableReplicaAutoScaling, Contributor Insights,
//! Kinesis streaming destinations, resource policies), and every other
//! operation of DynamoDB's API reference answered with Meridian's "not
//! supported" error rather than "unknown operation".

mod common;

use aws_sdk_dynamodb::types::{ContributorInsightsAction, ContributorInsightsStatus, ScalarAttributeType};
use common::{Keys, TestRegion, assert_error, create_table, error_code, error_message};
use serde_json::json;

/// The API reference's operations, as `X-Amz-Target` values.
fn api_operations() -> Vec<String> {
    let text = include_str!("data/dynamodb-operations.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// A region with an `orders` table keyed by `pk`.
async fn region_with_orders() -> TestRegion {
    let region = TestRegion::start().await;
    create_table(&region.client, "orders", Keys::Hash("pk", ScalarAttributeType::S)).await;
    region
}

#[tokio::test]
async fn every_api_operation_is_served_or_refused_by_name() {
    let region = TestRegion::start().await;
    let operations = api_operations();
    assert!(operations.len() >= 62, "{} operations listed", operations.len());
    let mut unsupported = Vec::new();
    for target in &operations {
        let name = target.split_once('.').expect("prefix.name").1;
        let answer = region.raw(Some(target), "{}").await;
        assert_ne!(answer.status, 500, "{target}: {:?}", answer.body);
        if answer.error_type() == "UnknownOperationException" {
            assert_eq!(answer.status, 400, "{target}");
            assert_eq!(
                answer.message(),
                format!("Meridian does not support the {name} operation"),
                "{target}"
            );
            unsupported.push(name.to_string());
        }
    }
    // The operations this work serves are not among the refused ones.
    for served in [
        "DescribeLimits",
        "ListGlobalTables",
        "DescribeGlobalTable",
        "DescribeGlobalTableSettings",
        "DescribeTableReplicaAutoScaling",
        "DescribeContributorInsights",
        "ListContributorInsights",
        "UpdateContributorInsights",
        "DescribeKinesisStreamingDestination",
        "GetResourcePolicy",
        "PutResourcePolicy",
        "DeleteResourcePolicy",
        "ImportTable",
        "DescribeImport",
        "ListImports",
    ] {
        assert!(!unsupported.iter().any(|u| u == served), "{served} is served");
    }
    // A name outside the API reference is still an unknown operation.
    let answer = region.raw(Some("DynamoDB_20120810.FlyToTheMoon"), "{}").await;
    assert_eq!(answer.error_type(), "UnknownOperationException");
    assert_eq!(answer.message(), "Unknown operation: DynamoDB_20120810.FlyToTheMoon");
    // A streams operation under DynamoDB's prefix is not DynamoDB's.
    let answer = region.raw(Some("DynamoDB_20120810.GetRecords"), "{}").await;
    assert_eq!(answer.message(), "Unknown operation: DynamoDB_20120810.GetRecords");
    region.shutdown().await;
}

#[tokio::test]
async fn describe_limits_reports_dynamodbs_default_quotas() {
    let region = TestRegion::start().await;
    let limits = region.client.describe_limits().send().await.expect("DescribeLimits");
    assert_eq!(limits.account_max_read_capacity_units, Some(80_000));
    assert_eq!(limits.account_max_write_capacity_units, Some(80_000));
    assert_eq!(limits.table_max_read_capacity_units, Some(40_000));
    assert_eq!(limits.table_max_write_capacity_units, Some(40_000));
    region.shutdown().await;
}

#[tokio::test]
async fn legacy_global_table_calls_answer_as_for_current_version_tables() {
    let region = region_with_orders().await;
    let listed = region
        .client
        .list_global_tables()
        .send()
        .await
        .expect("ListGlobalTables");
    assert_eq!(listed.global_tables(), &[]);
    let error = region
        .client
        .describe_global_table()
        .global_table_name("orders")
        .send()
        .await
        .expect_err("not a legacy global table");
    assert_eq!(error_code(&error), "GlobalTableNotFoundException");
    assert_eq!(
        error_message(&error),
        "Global table not found: Global table with name: 'orders' does not exist."
    );
    let error = region
        .client
        .describe_global_table_settings()
        .global_table_name("orders")
        .send()
        .await
        .expect_err("not a legacy global table");
    assert_eq!(error_code(&error), "GlobalTableNotFoundException");

    let scaling = region
        .client
        .describe_table_replica_auto_scaling()
        .table_name("orders")
        .send()
        .await
        .expect("DescribeTableReplicaAutoScaling");
    let description = scaling.table_auto_scaling_description.expect("a description");
    assert_eq!(description.table_name(), Some("orders"));
    let replicas = description.replicas();
    assert_eq!(replicas.len(), 1);
    assert_eq!(replicas[0].region_name(), Some(common::REGION));
    region.shutdown().await;
}

#[tokio::test]
async fn contributor_insights_are_recorded_listed_and_kept_across_a_restart() {
    let region = TestRegion::start().await;
    create_table(
        &region.client,
        "events",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    create_table(&region.client, "other", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let described = region
        .client
        .describe_contributor_insights()
        .table_name("events")
        .send()
        .await
        .expect("DescribeContributorInsights");
    assert_eq!(
        described.contributor_insights_status,
        Some(ContributorInsightsStatus::Disabled)
    );
    let updated = region
        .client
        .update_contributor_insights()
        .table_name("events")
        .contributor_insights_action(ContributorInsightsAction::Enable)
        .send()
        .await
        .expect("UpdateContributorInsights");
    assert_eq!(
        updated.contributor_insights_status,
        Some(ContributorInsightsStatus::Enabling)
    );

    let region = region.restart().await;
    let described = region
        .client
        .describe_contributor_insights()
        .table_name("events")
        .send()
        .await
        .expect("DescribeContributorInsights");
    assert_eq!(
        described.contributor_insights_status,
        Some(ContributorInsightsStatus::Enabled)
    );
    assert_eq!(described.contributor_insights_rule_list().len(), 4);
    let listed = region
        .client
        .list_contributor_insights()
        .send()
        .await
        .expect("ListContributorInsights");
    let names: Vec<_> = listed
        .contributor_insights_summaries()
        .iter()
        .filter_map(|s| s.table_name())
        .collect();
    assert_eq!(names, ["events"]);

    region
        .client
        .update_contributor_insights()
        .table_name("events")
        .contributor_insights_action(ContributorInsightsAction::Disable)
        .send()
        .await
        .expect("disable");
    let listed = region.client.list_contributor_insights().send().await.expect("list");
    assert!(listed.contributor_insights_summaries().is_empty());
    region.shutdown().await;
}

#[tokio::test]
async fn kinesis_destinations_are_described_empty_and_refused() {
    let region = region_with_orders().await;
    let described = region
        .client
        .describe_kinesis_streaming_destination()
        .table_name("orders")
        .send()
        .await
        .expect("DescribeKinesisStreamingDestination");
    assert_eq!(described.table_name(), Some("orders"));
    assert!(described.kinesis_data_stream_destinations().is_empty());
    // Refused as a feature Meridian lacks ("is not supported"), every one
    // of the three calls that would change a destination.
    let refusal = "Kinesis Data Streams for DynamoDB is not supported by Meridian yet; \
                   use DynamoDB Streams (UpdateTable with StreamSpecification) for change data capture";
    let stream = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    let c = &region.client;
    let enable = c
        .enable_kinesis_streaming_destination()
        .table_name("orders")
        .stream_arn(stream);
    assert_error(&enable.send().await.unwrap_err(), "ValidationException", refusal);
    let disable = c
        .disable_kinesis_streaming_destination()
        .table_name("orders")
        .stream_arn(stream);
    assert_error(&disable.send().await.unwrap_err(), "ValidationException", refusal);
    let update = c
        .update_kinesis_streaming_destination()
        .table_name("orders")
        .stream_arn(stream);
    assert_error(&update.send().await.unwrap_err(), "ValidationException", refusal);
    region.shutdown().await;
}

#[tokio::test]
async fn table_operations_name_a_missing_table_as_dynamodb_does() {
    let region = TestRegion::start().await;
    let stream = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    let missing_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/missing";
    for (operation, body) in [
        ("DescribeTableReplicaAutoScaling", json!({"TableName": "missing"})),
        ("DescribeContributorInsights", json!({"TableName": "missing"})),
        (
            "UpdateContributorInsights",
            json!({"TableName": "missing", "ContributorInsightsAction": "ENABLE"}),
        ),
        ("DescribeKinesisStreamingDestination", json!({"TableName": "missing"})),
        (
            "DisableKinesisStreamingDestination",
            json!({"TableName": "missing", "StreamArn": stream}),
        ),
        ("GetResourcePolicy", json!({"ResourceArn": missing_arn})),
        (
            "PutResourcePolicy",
            json!({"ResourceArn": missing_arn, "Policy": POLICY}),
        ),
    ] {
        let answer = region.raw_json(operation, body).await;
        assert_eq!(answer.status, 400, "{operation}");
        assert_eq!(answer.error_type(), "ResourceNotFoundException", "{operation}");
        assert_eq!(
            answer.message(),
            "Requested resource not found: Table: missing not found",
            "{operation}"
        );
    }
    region.shutdown().await;
}

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"dynamodb:GetItem","Resource":"*"}]}"#;

#[tokio::test]
async fn resource_policies_are_stored_with_revisions_and_kept_across_a_restart() {
    let region = region_with_orders().await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/orders";
    let error = region
        .client
        .get_resource_policy()
        .resource_arn(arn)
        .send()
        .await
        .expect_err("no policy yet");
    assert_eq!(error_code(&error), "PolicyNotFoundException");
    let put = region
        .client
        .put_resource_policy()
        .resource_arn(arn)
        .policy(POLICY)
        .expected_revision_id("NO_POLICY")
        .send()
        .await
        .expect("PutResourcePolicy");
    let first = put.revision_id.expect("a revision");
    let got = region
        .client
        .get_resource_policy()
        .resource_arn(arn)
        .send()
        .await
        .expect("get");
    assert_eq!(got.policy(), Some(POLICY));
    assert_eq!(got.revision_id(), Some(first.as_str()));

    // A stale ExpectedRevisionId is refused and changes nothing.
    let error = region
        .client
        .put_resource_policy()
        .resource_arn(arn)
        .policy(POLICY.replace("GetItem", "PutItem"))
        .expected_revision_id("1")
        .send()
        .await
        .expect_err("stale revision");
    assert_eq!(error_code(&error), "PolicyNotFoundException");
    let second = region
        .client
        .put_resource_policy()
        .resource_arn(arn)
        .policy(POLICY.replace("GetItem", "Query"))
        .expected_revision_id(&first)
        .send()
        .await
        .expect("update with the current revision")
        .revision_id
        .expect("a revision");
    assert!(second.parse::<u64>().unwrap() > first.parse::<u64>().unwrap());

    let region = region.restart().await;
    let got = region
        .client
        .get_resource_policy()
        .resource_arn(arn)
        .send()
        .await
        .expect("get");
    assert_eq!(got.revision_id(), Some(second.as_str()));
    assert!(got.policy().unwrap().contains("dynamodb:Query"));
    let deleted = region
        .client
        .delete_resource_policy()
        .resource_arn(arn)
        .send()
        .await
        .expect("DeleteResourcePolicy");
    assert_eq!(deleted.revision_id(), Some(second.as_str()));
    let error = region
        .client
        .get_resource_policy()
        .resource_arn(arn)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(error_code(&error), "PolicyNotFoundException");
    region.shutdown().await;
}

#[tokio::test]
async fn resource_policies_are_validated_and_die_with_their_table() {
    let region = region_with_orders().await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/orders";
    for (policy, message) in [
        ("not json", "Invalid policy document: the policy is not valid JSON"),
        (
            "{\"Version\":\"2012-10-17\"}",
            "Invalid policy document: the policy must have a Statement",
        ),
    ] {
        let error = region
            .client
            .put_resource_policy()
            .resource_arn(arn)
            .policy(policy)
            .send()
            .await
            .expect_err("invalid policy");
        assert_eq!(error_code(&error), "ValidationException");
        assert_eq!(error_message(&error), message);
    }
    let answer = region
        .raw_json("PutResourcePolicy", json!({"ResourceArn": "orders", "Policy": POLICY}))
        .await;
    assert_eq!(answer.error_type(), "ValidationException");
    assert_eq!(answer.message(), "Invalid ResourceArn provided as input orders");

    region
        .client
        .put_resource_policy()
        .resource_arn(arn)
        .policy(POLICY)
        .send()
        .await
        .expect("put");
    region
        .client
        .delete_table()
        .table_name("orders")
        .send()
        .await
        .expect("delete");
    common::wait_for("the table to be gone", || async {
        let gone = region
            .client
            .describe_table()
            .table_name("orders")
            .send()
            .await
            .is_err();
        gone.then_some(())
    })
    .await;
    create_table(&region.client, "orders", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let error = region
        .client
        .get_resource_policy()
        .resource_arn(arn)
        .send()
        .await
        .expect_err("a new table has no policy");
    assert_eq!(error_code(&error), "PolicyNotFoundException");
    region.shutdown().await;
}
