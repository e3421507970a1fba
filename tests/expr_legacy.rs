//! Placeholder validation and the legacy (pre-expression) parameters
//! through the AWS SDK: Expected, ConditionalOperator, AttributesToGet,
//! AttributeUpdates, KeyConditions, QueryFilter and ScanFilter.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeAction, AttributeValueUpdate, ComparisonOperator, Condition, ConditionalOperator, ExpectedAttributeValue,
    ScalarAttributeType,
};
use common::{Keys, TestRegion, create_table, error_code, error_message, n, s};

#[tokio::test]
async fn placeholders_must_be_defined_used_and_not_mixed_with_legacy_parameters() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Phs", Keys::Hash("pk", ScalarAttributeType::S)).await;
    c.put_item()
        .table_name("Phs")
        .item("pk", s("k"))
        .item("a", n(1))
        .send()
        .await
        .unwrap();
    let get = || c.get_item().table_name("Phs").key("pk", s("k"));
    let cases = [
        (
            get()
                .projection_expression("a")
                .expression_attribute_names("#unused", "a")
                .send()
                .await
                .unwrap_err(),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}",
        ),
        (
            get().projection_expression("#x").send().await.unwrap_err(),
            "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #x",
        ),
        (
            get()
                .projection_expression("a")
                .attributes_to_get("a")
                .send()
                .await
                .unwrap_err(),
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
        ),
        (
            get().expression_attribute_names("#a", "a").send().await.unwrap_err(),
            "ExpressionAttributeNames can only be specified when using expressions",
        ),
        (
            get().projection_expression("a,").send().await.unwrap_err(),
            "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\"",
        ),
    ];
    for (err, message) in cases {
        assert_eq!(error_code(&err), "ValidationException", "{message}");
        assert_eq!(error_message(&err), message);
    }
    let err = c
        .put_item()
        .table_name("Phs")
        .item("pk", s("k"))
        .condition_expression("a = :v")
        .expression_attribute_values(":v", n(1))
        .expression_attribute_values(":extra", n(2))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&err),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:extra}"
    );
    let err = c
        .put_item()
        .table_name("Phs")
        .item("pk", s("k"))
        .condition_expression("a = :v")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&err),
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :v"
    );
    region.shutdown().await;
}

#[tokio::test]
async fn legacy_expected_and_attribute_updates() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(c, "Leg", Keys::Hash("pk", ScalarAttributeType::S)).await;
    c.put_item()
        .table_name("Leg")
        .item("pk", s("k"))
        .item("a", n(1))
        .item("tags", aws_sdk_dynamodb::types::AttributeValue::Ss(vec!["x".into()]))
        .send()
        .await
        .unwrap();

    // Expected: Value (equality), Exists=false, ComparisonOperator with a list.
    let equals = ExpectedAttributeValue::builder().value(n(1)).build();
    c.put_item()
        .table_name("Leg")
        .item("pk", s("k"))
        .item("a", n(2))
        .expected("a", equals.clone())
        .send()
        .await
        .unwrap();
    let err = c
        .put_item()
        .table_name("Leg")
        .item("pk", s("k"))
        .item("a", n(3))
        .expected("a", equals)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ConditionalCheckFailedException");
    let absent = ExpectedAttributeValue::builder().exists(false).build();
    let err = c
        .put_item()
        .table_name("Leg")
        .item("pk", s("k"))
        .expected("pk", absent)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ConditionalCheckFailedException");
    let between = ExpectedAttributeValue::builder()
        .comparison_operator(ComparisonOperator::Between)
        .attribute_value_list(n(1))
        .attribute_value_list(n(5))
        .build();
    let greater = ExpectedAttributeValue::builder()
        .comparison_operator(ComparisonOperator::Gt)
        .attribute_value_list(n(7))
        .build();
    c.update_item()
        .table_name("Leg")
        .key("pk", s("k"))
        .expected("a", between.clone())
        .expected("zz", greater.clone())
        .conditional_operator(ConditionalOperator::Or)
        .attribute_updates(
            "a",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Add)
                .value(n(10))
                .build(),
        )
        .attribute_updates(
            "tags",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Delete)
                .value(aws_sdk_dynamodb::types::AttributeValue::Ss(vec!["x".into()]))
                .build(),
        )
        .attribute_updates(
            "b",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Put)
                .value(s("new"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = c
        .get_item()
        .table_name("Leg")
        .key("pk", s("k"))
        .attributes_to_get("a")
        .attributes_to_get("b")
        .attributes_to_get("tags")
        .send()
        .await
        .unwrap();
    assert_eq!(got.item(), Some(&common::item([("a", n(12)), ("b", s("new"))])));
    // AND of the same two conditions no longer holds (a = 12).
    let err = c
        .update_item()
        .table_name("Leg")
        .key("pk", s("k"))
        .expected("a", between)
        .expected(
            "b",
            ExpectedAttributeValue::builder().exists(true).value(s("new")).build(),
        )
        .conditional_operator(ConditionalOperator::And)
        .attribute_updates(
            "b",
            AttributeValueUpdate::builder().action(AttributeAction::Delete).build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ConditionalCheckFailedException");
    let err = c
        .update_item()
        .table_name("Leg")
        .key("pk", s("k"))
        .update_expression("SET b = :b")
        .expression_attribute_values(":b", s("x"))
        .attribute_updates(
            "b",
            AttributeValueUpdate::builder().action(AttributeAction::Delete).build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&err),
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}"
    );
    region.shutdown().await;
}

#[tokio::test]
async fn legacy_key_conditions_and_filters() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(
        c,
        "LegQ",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    for k in 1..=6 {
        c.put_item()
            .table_name("LegQ")
            .item("pk", s("p"))
            .item("sk", n(k))
            .item("v", n(k * 10))
            .send()
            .await
            .unwrap();
    }
    let cond = |op: ComparisonOperator, values: Vec<aws_sdk_dynamodb::types::AttributeValue>| {
        Condition::builder()
            .comparison_operator(op)
            .set_attribute_value_list(Some(values))
            .build()
            .unwrap()
    };
    let out = c
        .query()
        .table_name("LegQ")
        .key_conditions("pk", cond(ComparisonOperator::Eq, vec![s("p")]))
        .key_conditions("sk", cond(ComparisonOperator::Between, vec![n(2), n(5)]))
        .query_filter("v", cond(ComparisonOperator::Ge, vec![n(30)]))
        .send()
        .await
        .unwrap();
    let sks: Vec<_> = out.items().iter().map(|i| i["sk"].clone()).collect();
    assert_eq!(sks, vec![n(3), n(4), n(5)]);
    assert_eq!(out.scanned_count(), 4);

    let out = c
        .scan()
        .table_name("LegQ")
        .scan_filter("v", cond(ComparisonOperator::Lt, vec![n(20)]))
        .scan_filter("sk", cond(ComparisonOperator::Eq, vec![n(6)]))
        .conditional_operator(ConditionalOperator::Or)
        .send()
        .await
        .unwrap();
    let mut sks: Vec<_> = out
        .items()
        .iter()
        .map(|i| i["sk"].as_n().unwrap().to_string())
        .collect();
    sks.sort();
    assert_eq!(sks, vec!["1", "6"]);
    let out = c
        .scan()
        .table_name("LegQ")
        .scan_filter("v", cond(ComparisonOperator::NotNull, vec![]))
        .scan_filter("w", cond(ComparisonOperator::Null, vec![]))
        .send()
        .await
        .unwrap();
    assert_eq!(out.count(), 6);

    let err = c
        .query()
        .table_name("LegQ")
        .key_conditions("pk", cond(ComparisonOperator::Eq, vec![s("p")]))
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&err),
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}"
    );
    region.shutdown().await;
}
