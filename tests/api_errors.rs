//! Validation and protocol errors: each bad request gets DynamoDB's `__type`
//! (through the SDK's `code()` or the raw HTTP helper), and writes nothing.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use common::{Keys, RawResponse, TestRegion, create_table, error_code, error_message, item, n, s};
use serde_json::{Value, json};

/// A region with table "Items" (pk S, sk N) and table "Hash" (pk S).
async fn region() -> TestRegion {
    let region = TestRegion::start().await;
    create_table(
        &region.client,
        "Items",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    create_table(&region.client, "Hash", Keys::Hash("pk", ScalarAttributeType::S)).await;
    region
}

#[track_caller]
fn expect_error(response: &RawResponse, status: u16, error_type: &str, message_part: &str) {
    assert_eq!(response.status, status, "{response:?}");
    assert_eq!(response.error_type(), error_type, "{response:?}");
    assert!(
        response.message().contains(message_part),
        "message {:?} should contain {message_part:?}",
        response.message()
    );
    assert_eq!(
        response.headers.get("content-type").map(String::as_str),
        Some("application/x-amz-json-1.0")
    );
}

/// Asserts a ValidationException with exactly `message`.
#[track_caller]
fn exact(response: RawResponse, message: &str) {
    assert_eq!(
        (response.status, response.error_type(), response.message()),
        (400, "ValidationException", message)
    );
}

async fn put_raw(region: &TestRegion, item: Value) -> RawResponse {
    region
        .raw_json("PutItem", json!({"TableName": "Hash", "Item": item}))
        .await
}

async fn hash_table_is_empty(region: &TestRegion) {
    let scan = region.client.scan().table_name("Hash").send().await.unwrap();
    assert_eq!(scan.count(), 0, "a rejected write left an item behind");
}

#[tokio::test]
async fn unknown_and_existing_tables() {
    let region = region().await;
    let c = &region.client;
    let err = c
        .get_item()
        .table_name("Nope")
        .key("pk", s("a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
    let err = c
        .put_item()
        .table_name("Nope")
        .set_item(Some(item([("pk", s("a"))])))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
    let err = c.scan().table_name("Nope").send().await.unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
    let err = c
        .query()
        .table_name("Nope")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
    let err = c.describe_table().table_name("Nope").send().await.unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
    let err = c
        .update_item()
        .table_name("Nope")
        .key("pk", s("a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");

    let response = region
        .raw_json(
            "CreateTable",
            json!({
                "TableName": "Hash",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            }),
        )
        .await;
    expect_error(&response, 400, "ResourceInUseException", "");
    region.shutdown().await;
}

#[tokio::test]
async fn bad_table_names_and_parameters() {
    let region = region().await;
    for name in ["ab", "bad name", "sl/ash", &"x".repeat(256)] {
        let response = region.raw_json("DescribeTable", json!({"TableName": name})).await;
        expect_error(&response, 400, "ValidationException", "tableName");
    }
    let response = region.raw_json("ListTables", json!({"Limit": 0})).await;
    expect_error(&response, 400, "ValidationException", "limit");
    let response = region.raw_json("Scan", json!({"TableName": "Hash", "Limit": 0})).await;
    expect_error(&response, 400, "ValidationException", "limit");
    let query = json!({
        "TableName": "Hash", "Limit": 0, "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "a"}},
    });
    let response = region.raw_json("Query", query).await;
    expect_error(&response, 400, "ValidationException", "'Limit'");

    let c = &region.client;
    let err = c
        .scan()
        .table_name("Hash")
        .segment(4)
        .total_segments(4)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    let err = c
        .scan()
        .table_name("Hash")
        .segment(-1)
        .total_segments(4)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    let err = c.scan().table_name("Hash").segment(0).send().await.unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    let err = c.scan().table_name("Hash").total_segments(2).send().await.unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    let err = c
        .scan()
        .table_name("Hash")
        .segment(0)
        .total_segments(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    let response = region
        .raw_json(
            "PutItem",
            json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}}, "ReturnValues": "ALL_NEW"}),
        )
        .await;
    expect_error(&response, 400, "ValidationException", "");
    let response = region
        .raw_json("Scan", json!({"TableName": "Hash", "Select": "SPECIFIC_ATTRIBUTES"}))
        .await;
    expect_error(&response, 400, "ValidationException", "");
    hash_table_is_empty(&region).await;
    region.shutdown().await;
}

#[tokio::test]
async fn key_errors() {
    let region = region().await;
    let c = &region.client;
    // Wrong key type in an item, and in a Key.
    let response = put_raw(&region, json!({"pk": {"N": "1"}})).await;
    expect_error(&response, 400, "ValidationException", "Type mismatch");
    let err = c
        .get_item()
        .table_name("Hash")
        .key("pk", n(1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    assert!(error_message(&err).contains("does not match the schema"));
    // Missing keys.
    let response = put_raw(&region, json!({"other": {"S": "x"}})).await;
    expect_error(&response, 400, "ValidationException", "Missing the key pk");
    let err = c
        .get_item()
        .table_name("Items")
        .key("pk", s("a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    let err = c
        .delete_item()
        .table_name("Hash")
        .key("pk", s("a"))
        .key("extra", s("b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    // Empty string and binary keys.
    let response = put_raw(&region, json!({"pk": {"S": ""}})).await;
    expect_error(&response, 400, "ValidationException", "empty string");
    let err = c
        .get_item()
        .table_name("Hash")
        .key("pk", s(""))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");

    // Key sizes: 2048 bytes of partition key and 1024 of sort key are fine.
    c.put_item()
        .table_name("Items")
        .set_item(Some(item([("pk", s("k".repeat(2048))), ("sk", n(1))])))
        .send()
        .await
        .unwrap();
    let response = region
        .raw_json(
            "PutItem",
            json!({"TableName": "Items", "Item": {"pk": {"S": "k".repeat(2049)}, "sk": {"N": "1"}}}),
        )
        .await;
    expect_error(&response, 400, "ValidationException", "2048");
    create_table(
        c,
        "Ranged",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::S),
    )
    .await;
    c.put_item()
        .table_name("Ranged")
        .set_item(Some(item([("pk", s("a")), ("sk", s("r".repeat(1024)))])))
        .send()
        .await
        .unwrap();
    let err = c
        .put_item()
        .table_name("Ranged")
        .set_item(Some(item([("pk", s("b")), ("sk", s("r".repeat(1025)))])))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    assert!(error_message(&err).contains("1024"), "{}", error_message(&err));
    let scan = c.scan().table_name("Ranged").send().await.unwrap();
    assert_eq!(scan.count(), 1);
    hash_table_is_empty(&region).await;
    region.shutdown().await;
}

#[tokio::test]
async fn item_size_and_value_errors() {
    let region = region().await;
    let c = &region.client;
    // Exactly 400 KB is accepted; one byte more is not.
    let fixed = "pk".len() + "big".len() + "d".len();
    let at_limit = item([("pk", s("big")), ("d", s("x".repeat(400 * 1024 - fixed)))]);
    c.put_item()
        .table_name("Hash")
        .set_item(Some(at_limit))
        .send()
        .await
        .unwrap();
    c.delete_item()
        .table_name("Hash")
        .key("pk", s("big"))
        .send()
        .await
        .unwrap();
    let over = item([("pk", s("big")), ("d", s("x".repeat(400 * 1024 - fixed + 1)))]);
    let err = c
        .put_item()
        .table_name("Hash")
        .set_item(Some(over))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    assert!(error_message(&err).contains("Item size"), "{}", error_message(&err));

    // Nesting deeper than 32 levels.
    let mut deep = json!({"S": "leaf"});
    for _ in 0..33 {
        deep = json!({"L": [deep]});
    }
    let response = put_raw(&region, json!({"pk": {"S": "a"}, "deep": deep})).await;
    expect_error(&response, 400, "ValidationException", "Nesting Levels");

    let cases: Vec<(Value, &str)> = vec![
        (json!({"SS": []}), "may not be empty"),
        (json!({"NS": []}), "may not be empty"),
        (json!({"BS": []}), "may not be empty"),
        (json!({"SS": ["a", "a"]}), "duplicates"),
        (json!({"NS": ["1", "1.0"]}), "duplicates"),
        (json!({"BS": ["AQ==", "AQ=="]}), "duplicates"),
        (
            json!({"N": "123456789012345678901234567890123456789"}),
            "38 significant digits",
        ),
        (json!({"N": "1E126"}), "overflow"),
        (json!({"N": "-1E126"}), "overflow"),
        (json!({"N": "1E-131"}), "underflow"),
        (json!({"N": "12abc"}), "cannot be converted"),
        (json!({"N": ""}), "cannot be converted"),
        (json!({}), "Supplied AttributeValue is empty"),
        (json!({"S": "a", "N": "1"}), "more than one datatypes"),
    ];
    for (value, message) in cases {
        let response = put_raw(&region, json!({"pk": {"S": "a"}, "v": value.clone()})).await;
        assert_eq!(response.status, 400, "{value}: {response:?}");
        assert_eq!(response.error_type(), "ValidationException", "{value}: {response:?}");
        assert!(response.message().contains(message), "{value}: {response:?}");
    }
    // 38 digits are fine (through the SDK too).
    c.put_item()
        .table_name("Hash")
        .set_item(Some(HashMap::from([
            ("pk".to_string(), s("n38")),
            ("v".to_string(), AttributeValue::N("9".repeat(38))),
        ])))
        .send()
        .await
        .unwrap();
    c.delete_item()
        .table_name("Hash")
        .key("pk", s("n38"))
        .send()
        .await
        .unwrap();
    hash_table_is_empty(&region).await;
    region.shutdown().await;
}

#[tokio::test]
async fn protocol_errors() {
    let region = region().await;
    let response = region.raw(Some("DynamoDB_20120810.PutItem"), "{not json").await;
    expect_error(&response, 400, "SerializationException", "");
    let response = region.raw(Some("DynamoDB_20120810.PutItem"), "[1, 2]").await;
    expect_error(&response, 400, "SerializationException", "");
    // A member of the wrong JSON type.
    let response = region.raw_json("DescribeTable", json!({"TableName": 5})).await;
    expect_error(&response, 400, "SerializationException", "");
    let response = region
        .raw_json("PutItem", json!({"TableName": "Hash", "Item": {"pk": "a"}}))
        .await;
    assert_eq!(response.status, 400);
    assert!(
        ["SerializationException", "ValidationException"].contains(&response.error_type()),
        "{response:?}"
    );

    let response = region.raw(Some("DynamoDB_20120810.FlyToTheMoon"), "{}").await;
    expect_error(&response, 400, "UnknownOperationException", "");
    let response = region.raw(Some("SomethingElse.PutItem"), "{}").await;
    expect_error(&response, 400, "UnknownOperationException", "");
    let response = region.raw(None, "{}").await;
    expect_error(&response, 400, "UnknownOperationException", "");

    // Missing required members.
    let response = region.raw_json("PutItem", json!({"Item": {"pk": {"S": "a"}}})).await;
    expect_error(&response, 400, "ValidationException", "tableName");
    let response = region.raw_json("PutItem", json!({"TableName": "Hash"})).await;
    expect_error(&response, 400, "ValidationException", "item");
    let response = region.raw_json("GetItem", json!({"TableName": "Hash"})).await;
    expect_error(&response, 400, "ValidationException", "key");
    let response = region.raw_json("BatchWriteItem", json!({})).await;
    expect_error(&response, 400, "ValidationException", "requestItems");
    let response = region.raw_json("CreateTable", json!({"TableName": "NewOne"})).await;
    expect_error(&response, 400, "ValidationException", "");

    // A request body over 16 MiB is refused with 413.
    let mut body = br#"{"TableName": "Hash", "Item": {"pk": {"S": ""#.to_vec();
    body.extend(std::iter::repeat_n(b'x', 16 * 1024 * 1024 + 1));
    body.extend_from_slice(br#""}}}"#);
    let response = region.raw(Some("DynamoDB_20120810.PutItem"), body).await;
    assert_eq!(response.status, 413, "{response:?}");
    hash_table_is_empty(&region).await;

    // Every response carries a request id.
    let response = region.raw_json("ListTables", json!({})).await;
    assert_eq!(response.status, 200);
    assert!(response.headers.contains_key("x-amzn-requestid"));
    region.shutdown().await;
}

#[tokio::test]
async fn query_key_condition_and_start_key_errors() {
    let region = region().await;
    let c = &region.client;
    for (pk, sk) in [("a", 1), ("b", 1), ("b", 2), ("c", 1)] {
        c.put_item()
            .table_name("Items")
            .set_item(Some(item([("pk", s(pk)), ("sk", n(sk))])))
            .send()
            .await
            .unwrap();
    }
    let query = |values: Value, start: Option<Value>| {
        let mut body = json!({
            "TableName": "Items",
            "KeyConditionExpression": if values.get(":s").is_some() { "pk = :p AND sk = :s" } else { "pk = :p" },
            "ExpressionAttributeValues": values,
        });
        if let Some(start) = start {
            body["ExclusiveStartKey"] = start;
        }
        region.raw_json("Query", body)
    };
    // Values of the wrong type are rejected, not matched against nothing.
    let response = query(json!({":p": {"N": "1"}}), None).await;
    expect_error(
        &response,
        400,
        "ValidationException",
        "Condition parameter type does not match schema type",
    );
    let response = query(json!({":p": {"S": "b"}, ":s": {"S": "1"}}), None).await;
    expect_error(
        &response,
        400,
        "ValidationException",
        "Condition parameter type does not match schema type",
    );
    let response = query(json!({":p": {"S": ""}}), None).await;
    expect_error(&response, 400, "ValidationException", "empty string value");

    // A start key in another partition is outside the query, in either direction.
    for start in ["a", "c"] {
        let response = query(
            json!({":p": {"S": "b"}}),
            Some(json!({"pk": {"S": start}, "sk": {"N": "1"}})),
        )
        .await;
        expect_error(&response, 400, "ValidationException", "outside query boundaries");
    }
    let response = query(
        json!({":p": {"S": "b"}, ":s": {"N": "2"}}),
        Some(json!({"pk": {"S": "b"}, "sk": {"N": "1"}})),
    )
    .await;
    expect_error(&response, 400, "ValidationException", "outside query boundaries");
    let response = query(
        json!({":p": {"S": "b"}}),
        Some(json!({"pk": {"S": "b"}, "other": {"N": "1"}})),
    )
    .await;
    expect_error(&response, 400, "ValidationException", "starting key is invalid");

    // Inside the boundaries, paging continues normally (1.0 is the key 1).
    let response = query(
        json!({":p": {"S": "b"}}),
        Some(json!({"pk": {"S": "b"}, "sk": {"N": "1.0"}})),
    )
    .await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body["Items"], json!([{"pk": {"S": "b"}, "sk": {"N": "2"}}]));
    let response = query(
        json!({":p": {"S": "b"}, ":s": {"N": "1"}}),
        Some(json!({"pk": {"S": "b"}, "sk": {"N": "1"}})),
    )
    .await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body["Count"], json!(0));
    region.shutdown().await;
}

#[tokio::test]
async fn create_table_validation() {
    let region = TestRegion::start().await;
    let def = |name: &str, ty: &str| json!({"AttributeName": name, "AttributeType": ty});
    let key = |name: &str, ty: &str| json!({"AttributeName": name, "KeyType": ty});
    let on_demand = |definitions: Value, schema: Value| json!({"TableName": "NewTable", "AttributeDefinitions": definitions, "KeySchema": schema, "BillingMode": "PAY_PER_REQUEST"});
    let cases = [
        on_demand(json!([def("other", "S")]), json!([key("pk", "HASH")])),
        on_demand(json!([def("pk", "S"), def("extra", "S")]), json!([key("pk", "HASH")])),
        on_demand(json!([def("pk", "X")]), json!([key("pk", "HASH")])),
        on_demand(json!([def("pk", "S"), def("pk", "N")]), json!([key("pk", "HASH")])),
        on_demand(
            json!([def("pk", "S"), def("sk", "S")]),
            json!([key("pk", "RANGE"), key("sk", "HASH")]),
        ),
        on_demand(json!([def("pk", "S")]), json!([key("pk", "HASH"), key("pk", "RANGE")])),
        on_demand(json!([def("pk", "S")]), json!([])),
        on_demand(json!([def("pk", "S")]), json!([key("pk", "PRIMARY")])),
        json!({"TableName": "NewTable", "AttributeDefinitions": [def("pk", "S")], "KeySchema": [key("pk", "HASH")], "BillingMode": "PROVISIONED"}),
        json!({
            "TableName": "NewTable", "AttributeDefinitions": [def("pk", "S")], "KeySchema": [key("pk", "HASH")],
            "BillingMode": "PAY_PER_REQUEST", "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        }),
        json!({
            "TableName": "NewTable", "AttributeDefinitions": [def("pk", "S")], "KeySchema": [key("pk", "HASH")],
            "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 1},
        }),
    ];
    for body in cases {
        let response = region.raw_json("CreateTable", body.clone()).await;
        assert_eq!(response.status, 400, "{body}: {response:?}");
        assert_eq!(response.error_type(), "ValidationException", "{body}: {response:?}");
    }
    // These with DynamoDB's exact messages (pinned against AWS by the
    // dynamodb-conformance suite).
    let with = |mut body: Value, member: &str, value: Value| {
        body[member] = value;
        body
    };
    let hash = || on_demand(json!([def("pk", "S"), def("g", "S")]), json!([key("pk", "HASH")]));
    let gsi =
        |projection: Value| json!([{"IndexName": "gsi1", "KeySchema": [key("g", "HASH")], "Projection": projection}]);
    let exact_cases = [
        (
            json!({"AttributeDefinitions": [def("pk", "S")], "KeySchema": [key("pk", "HASH")], "BillingMode": "PAY_PER_REQUEST"}),
            "The parameter 'TableName' is required but was not present in the request".to_string(),
        ),
        (
            on_demand(json!([def("pk", "S")]), json!([key("pk", "HASH"), key("pk", "RANGE")])),
            "Invalid KeySchema: Some index key attribute have no definition".to_string(),
        ),
        (
            on_demand(
                json!([def("pk", "S"), def("sk", "S"), def("x", "S")]),
                json!([key("pk", "HASH"), key("sk", "RANGE"), key("x", "RANGE")]),
            ),
            "1 validation error detected: Value '[KeySchemaElement(attributeName=pk, keyType=HASH), \
             KeySchemaElement(attributeName=sk, keyType=RANGE), KeySchemaElement(attributeName=x, keyType=RANGE)]' \
             at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2"
                .to_string(),
        ),
        (
            on_demand(json!([def("pk", "S")]), json!([key("pk", "INVALID")])),
            "1 validation error detected: Value 'INVALID' at 'keySchema.1.member.keyType' failed to satisfy \
             constraint: Member must satisfy enum value set: [HASH, RANGE]"
                .to_string(),
        ),
        (
            on_demand(json!([def("pk", "S"), def("x", "INVALID")]), json!([key("pk", "HASH")])),
            "1 validation error detected: Value 'INVALID' at 'attributeDefinitions.2.member.attributeType' failed \
             to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
                .to_string(),
        ),
        (
            with(hash(), "GlobalSecondaryIndexes", gsi(json!({"ProjectionType": "INCLUDE"}))),
            "One or more parameter values were invalid: ProjectionType is INCLUDE, but NonKeyAttributes is not specified"
                .to_string(),
        ),
        (
            with(
                on_demand(json!([def("pk", "S")]), json!([key("pk", "HASH")])),
                "StreamSpecification",
                json!({"StreamEnabled": false, "StreamViewType": "NEW_IMAGE"}),
            ),
            "One or more parameter values were invalid: Table is being created with a stream disabled, \
             UpdateViewType should not be specified"
                .to_string(),
        ),
    ];
    for (body, message) in exact_cases {
        exact(region.raw_json("CreateTable", body).await, &message);
    }
    let tables = region.client.list_tables().send().await.unwrap();
    assert!(
        tables.table_names().is_empty(),
        "no invalid CreateTable created a table"
    );
    region.shutdown().await;
}

/// Item and read requests' messages, exactly as DynamoDB words them
/// (pinned against AWS by the dynamodb-conformance suite), and
/// `{"NULL": false}`, which DynamoDB takes as NULL.
#[tokio::test]
async fn item_and_read_messages_are_dynamodbs() {
    let region = region().await;
    exact(
        region
            .raw_json("PutItem", json!({"TableName": "", "Item": {"pk": {"S": "a"}}}))
            .await,
        "1 validation error detected: Value '' at 'tableName' failed to satisfy constraint: \
         Member must have length greater than or equal to 1",
    );
    let query = |extra: Value| {
        let mut body = json!({
            "TableName": "Items", "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "a"}},
        });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    exact(
        region
            .raw_json("Query", query(json!({"Select": "INVALID_VALUE"})))
            .await,
        "1 validation error detected: Value 'INVALID_VALUE' at 'select' failed to satisfy constraint: Member must \
         satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]",
    );
    exact(
        region.raw_json("Query", query(json!({"Limit": 0}))).await,
        "1 validation error detected: Value at 'Limit' failed to satisfy constraint: \
         Member must have value greater than or equal to 1",
    );
    exact(
        region.raw_json("Scan", json!({"TableName": "Hash", "Limit": 0})).await,
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: \
         Member must have value greater than or equal to 1",
    );

    let response = put_raw(&region, json!({"pk": {"S": "null"}, "v": {"NULL": false}})).await;
    assert_eq!(response.status, 200, "{response:?}");
    let got = region
        .client
        .get_item()
        .table_name("Hash")
        .key("pk", s("null"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.item(),
        Some(&item([("pk", s("null")), ("v", AttributeValue::Null(true))]))
    );
    region.shutdown().await;
}

/// A bad number's message names the text sent; PutItem, UpdateItem and
/// DeleteItem put a bad number or a duplicate set member of their item,
/// key or expression values inside the "1 validation error detected"
/// envelope, GetItem and Query do not, and Scan wraps it (as the
/// dynamodb-conformance suite pins against AWS in four regions).
#[tokio::test]
async fn value_faults_are_worded_per_operation() {
    let region = region().await;
    let not_numeric = "The parameter cannot be converted to a numeric value";
    let overflow = "Number overflow. Attempting to store a number with magnitude larger than supported range";
    for (text, message) in [
        ("abc", format!("{not_numeric}: abc")),
        ("", format!("{not_numeric}: ")),
        (" 1", format!("{not_numeric}:  1")),
        ("1e2147483647", overflow.to_string()),
    ] {
        exact(
            put_raw(&region, json!({"pk": {"S": "n"}, "n": {"N": text}})).await,
            &format!("1 validation error detected: {message}"),
        );
        let key = json!({"TableName": "Hash", "Key": {"pk": {"N": text}}});
        exact(region.raw_json("GetItem", key.clone()).await, &message);
        exact(
            region.raw_json("DeleteItem", key).await,
            &format!("1 validation error detected: {message}"),
        );
    }
    // In ExpressionAttributeValues: PutItem envelopes, Query is bare,
    // Scan wraps the fault with its placeholder.
    let bad = json!({":v": {"N": "abc"}});
    let put = json!({
        "TableName": "Hash", "Item": {"pk": {"S": "n"}},
        "ConditionExpression": "attribute_not_exists(pk) OR n = :v", "ExpressionAttributeValues": bad,
    });
    exact(
        region.raw_json("PutItem", put).await,
        &format!("1 validation error detected: {not_numeric}: abc"),
    );
    let query = json!({
        "TableName": "Hash", "KeyConditionExpression": "pk = :p", "FilterExpression": "n = :v",
        "ExpressionAttributeValues": {":p": {"S": "a"}, ":v": {"N": "abc"}},
    });
    exact(region.raw_json("Query", query).await, &format!("{not_numeric}: abc"));
    let scan = json!({"TableName": "Hash", "FilterExpression": "n = :v", "ExpressionAttributeValues": bad});
    exact(
        region.raw_json("Scan", scan).await,
        &format!("ExpressionAttributeValues contains invalid value: {not_numeric}: abc for key :v"),
    );
    // A repeated set member, in DynamoDB's wording since its 2026 rewording
    // (conformance suite captures, eu-west-2 2026-06-09, us-east-1
    // 2026-08-12): string members quoted, binaries quoted without a space
    // and the set's type named.
    let duplicates = "1 validation error detected: One or more parameter values were invalid: Input collection";
    for (set, shown) in [
        (json!({"SS": ["a", "a"]}), r#"["a", "a"] contains duplicates."#),
        (json!({"SS": ["", ""]}), r#"["", ""] contains duplicates."#),
        (json!({"BS": ["", ""]}), r#"["",""]of type BS contains duplicates."#),
        (
            json!({"BS": ["Yg==", "Yg=="]}),
            r#"["Yg==","Yg=="]of type BS contains duplicates."#,
        ),
    ] {
        exact(
            put_raw(&region, json!({"pk": {"S": "d"}, "s": set})).await,
            &format!("{duplicates} {shown}"),
        );
    }
    hash_table_is_empty(&region).await;
    region.shutdown().await;
}
