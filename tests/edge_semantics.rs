//! DynamoDB's answers at the edges, over raw HTTP so each asserts the exact
//! status, `__type` and message: updates of missing items, legacy and
//! expression parameters together, empty and mismatched parameters,
//! attribute name and expression limits, duplicate attribute definitions,
//! tags and ARNs, and the consumed capacity of Query and Scan.

mod common;

use aws_sdk_dynamodb::types::ScalarAttributeType;
use common::{Keys, TestRegion, create_table};
use serde_json::{Value, json};

/// A region with table `t` keyed by `pk` (S) and `sk` (N).
async fn region() -> TestRegion {
    let region = TestRegion::start().await;
    create_table(
        &region.client,
        "edge",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    region
}

/// Sends `operation` with `body`; answers (status, error type, message) of
/// an error, or panics with the body of a success.
async fn refused(region: &TestRegion, operation: &str, body: Value) -> (u16, String, String) {
    let answer = region.raw_json(operation, body).await;
    assert_ne!(answer.status, 200, "{operation} succeeded: {}", answer.body);
    (
        answer.status,
        answer.error_type().to_string(),
        answer.message().to_string(),
    )
}

/// Sends `operation` with `body`, which must succeed; answers the body.
async fn served(region: &TestRegion, operation: &str, body: Value) -> Value {
    let answer = region.raw_json(operation, body).await;
    assert_eq!(answer.status, 200, "{operation}: {}", answer.body);
    answer.body
}

fn validation(message: &str) -> (u16, String, String) {
    (400, "ValidationException".into(), message.into())
}

fn key(pk: &str) -> Value {
    json!({"pk": {"S": pk}, "sk": {"N": "1"}})
}

async fn get(region: &TestRegion, pk: &str) -> Value {
    served(region, "GetItem", json!({"TableName": "edge", "Key": key(pk)})).await["Item"].clone()
}

#[tokio::test]
async fn updates_of_a_missing_item() {
    let region = region().await;
    // An update that only removes or deletes does not create the item,
    // also when it asks for the new image.
    for (pk, body) in [
        ("r1", json!({"UpdateExpression": "REMOVE a"})),
        (
            "r2",
            json!({"UpdateExpression": "REMOVE a, b.c", "ReturnValues": "ALL_NEW"}),
        ),
        (
            "r3",
            json!({"UpdateExpression": "DELETE s :v", "ExpressionAttributeValues": {":v": {"SS": ["x"]}}, "ReturnValues": "ALL_NEW"}),
        ),
        (
            "r4",
            json!({"AttributeUpdates": {"a": {"Action": "DELETE"}}, "ReturnValues": "UPDATED_NEW"}),
        ),
    ] {
        let mut request = body.clone();
        request["TableName"] = json!("edge");
        request["Key"] = key(pk);
        let answer = served(&region, "UpdateItem", request).await;
        assert_eq!(answer.get("Attributes"), None, "{body}");
        assert_eq!(get(&region, pk).await, Value::Null, "{body} created the item");
    }
    // An update with no actions at all creates the item with its key.
    let answer = served(
        &region,
        "UpdateItem",
        json!({"TableName": "edge", "Key": key("e1"), "ReturnValues": "ALL_NEW"}),
    )
    .await;
    assert_eq!(answer["Attributes"], key("e1"));
    assert_eq!(get(&region, "e1").await, key("e1"));

    // ADD and DELETE on the wrong types.
    served(
        &region,
        "PutItem",
        json!({"TableName": "edge", "Item": {"pk": {"S": "w"}, "sk": {"N": "1"}, "s": {"S": "text"}, "ss": {"SS": ["a"]}}}),
    )
    .await;
    let wrong = "An operand in the update expression has an incorrect data type";
    for (expression, value) in [
        ("ADD s :v", json!({"N": "1"})),
        ("ADD ss :v", json!({"NS": ["1"]})),
        ("DELETE s :v", json!({"SS": ["a"]})),
        ("DELETE ss :v", json!({"NS": ["1"]})),
    ] {
        let answer = refused(
            &region,
            "UpdateItem",
            json!({"TableName": "edge", "Key": key("w"), "UpdateExpression": expression, "ExpressionAttributeValues": {":v": value}}),
        )
        .await;
        assert_eq!(answer, validation(wrong), "{expression}");
    }
    // DELETE of a value that is not a set is refused as the expression is read.
    let answer = refused(
        &region,
        "UpdateItem",
        json!({"TableName": "edge", "Key": key("w"), "UpdateExpression": "DELETE ss :v", "ExpressionAttributeValues": {":v": {"S": "a"}}}),
    )
    .await;
    assert_eq!(
        answer,
        validation(
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: STRING"
        )
    );
    region.shutdown().await;
}

#[tokio::test]
async fn legacy_and_expression_parameters_mix_only_where_dynamodb_allows() {
    let region = region().await;
    served(
        &region,
        "PutItem",
        json!({"TableName": "edge", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "x"}, "w": {"S": "y"}}}),
    )
    .await;
    let key_conditions = json!({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}});
    // KeyConditions with ProjectionExpression or FilterExpression is accepted.
    let answer = served(
        &region,
        "Query",
        json!({"TableName": "edge", "KeyConditions": key_conditions, "ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "v"}}),
    )
    .await;
    assert_eq!(answer["Items"], json!([{"v": {"S": "x"}}]));
    let answer = served(
        &region,
        "Query",
        json!({"TableName": "edge", "KeyConditions": key_conditions, "FilterExpression": "w = :w", "ExpressionAttributeValues": {":w": {"S": "nope"}}}),
    )
    .await;
    assert_eq!(
        (answer["Count"].clone(), answer["ScannedCount"].clone()),
        (json!(0), json!(1))
    );
    // Every other pair is refused, listing what was sent on each side.
    let answer = refused(
        &region,
        "Query",
        json!({
            "TableName": "edge",
            "KeyConditions": key_conditions,
            "QueryFilter": {"v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]}},
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "a"}},
        }),
    )
    .await;
    assert_eq!(
        answer,
        validation(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {QueryFilter, KeyConditions} Expression parameters: {KeyConditionExpression}"
        )
    );
    let answer = refused(
        &region,
        "Scan",
        json!({"TableName": "edge", "AttributesToGet": ["v"], "FilterExpression": "v = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}}),
    )
    .await;
    assert_eq!(
        answer,
        validation(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {FilterExpression}"
        )
    );
    region.shutdown().await;
}

#[tokio::test]
async fn conditional_operator_needs_two_legacy_conditions() {
    let region = region().await;
    let condition = json!({"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]});
    let without = validation("ConditionalOperator cannot be used without Filter or Expected");
    let one = validation("ConditionalOperator can only be used when Filter or Expected has two or more elements");
    for (operation, body, expected) in [
        ("PutItem", json!({"Item": key("a")}), &without),
        ("PutItem", json!({"Item": key("a"), "Expected": {}}), &without),
        ("PutItem", json!({"Item": key("a"), "Expected": {"v": condition}}), &one),
        ("DeleteItem", json!({"Key": key("a")}), &without),
        ("UpdateItem", json!({"Key": key("a")}), &without),
        ("Scan", json!({}), &without),
        ("Scan", json!({"ScanFilter": {"v": condition}}), &one),
        ("Query", json!({}), &without),
    ] {
        let mut request = body.clone();
        request["TableName"] = json!("edge");
        request["ConditionalOperator"] = json!("AND");
        assert_eq!(
            &refused(&region, operation, request).await,
            expected,
            "{operation} {body}"
        );
    }
    // Two conditions: accepted.
    served(
        &region,
        "PutItem",
        json!({"TableName": "edge", "Item": key("a"), "ConditionalOperator": "OR", "Expected": {"v": condition, "w": {"Exists": false}}}),
    )
    .await;
    region.shutdown().await;
}

#[tokio::test]
async fn empty_and_mismatched_parameters() {
    let region = region().await;
    // An empty Expected is no condition at all.
    served(
        &region,
        "PutItem",
        json!({"TableName": "edge", "Item": key("a"), "Expected": {}}),
    )
    .await;
    let answer = refused(
        &region,
        "GetItem",
        json!({"TableName": "edge", "Key": key("a"), "AttributesToGet": []}),
    )
    .await;
    assert_eq!(
        answer,
        validation(
            "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1"
        )
    );
    let answer = refused(
        &region,
        "Scan",
        json!({"TableName": "edge", "ExclusiveStartKey": {"pk": {"S": "a"}}}),
    )
    .await;
    assert_eq!(
        answer,
        validation("The provided starting key is invalid: The provided key element does not match the schema")
    );
    // A Query's says less (as DynamoDB answers it).
    let answer = refused(
        &region,
        "Query",
        json!({
            "TableName": "edge", "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "a"}}, "ExclusiveStartKey": {"pk": {"S": "a"}},
        }),
    )
    .await;
    assert_eq!(answer, validation("The provided starting key is invalid"));
    let answer = refused(
        &region,
        "Scan",
        json!({"TableName": "edge", "ExclusiveStartKey": {"pk": {"N": "1"}, "sk": {"N": "1"}}}),
    )
    .await;
    assert_eq!(
        answer,
        validation("The provided starting key is invalid: The provided key element does not match the schema")
    );
    region.shutdown().await;
}

#[tokio::test]
async fn a_parallel_scan_start_key_must_be_in_its_segment() {
    let region = region().await;
    for i in 0..40 {
        served(
            &region,
            "PutItem",
            json!({"TableName": "edge", "Item": {"pk": {"S": format!("k{i}")}, "sk": {"N": "1"}}}),
        )
        .await;
    }
    // A key of segment 0 given to segment 1.
    let first = served(
        &region,
        "Scan",
        json!({"TableName": "edge", "Segment": 0, "TotalSegments": 2, "Limit": 1}),
    )
    .await;
    let start = first["LastEvaluatedKey"].clone();
    assert!(start.is_object(), "{first}");
    let answer = refused(
        &region,
        "Scan",
        json!({"TableName": "edge", "Segment": 1, "TotalSegments": 2, "ExclusiveStartKey": start}),
    )
    .await;
    assert_eq!(
        answer,
        validation(
            "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: 2 Segment: 1"
        )
    );
    region.shutdown().await;
}

#[tokio::test]
async fn names_expressions_and_paths_at_their_limits() {
    let region = region().await;
    let put = |item: Value| json!({"TableName": "edge", "Item": item});
    // A non-key attribute name may be 65,535 bytes long, not empty.
    let long = "a".repeat(65_535);
    served(
        &region,
        "PutItem",
        put(json!({"pk": {"S": "n"}, "sk": {"N": "1"}, long.clone(): {"S": "v"}})),
    )
    .await;
    let answer = refused(
        &region,
        "PutItem",
        put(json!({"pk": {"S": "n"}, "sk": {"N": "1"}, "": {"S": "v"}})),
    )
    .await;
    assert_eq!(
        answer,
        validation("One or more parameter values were invalid: Empty attribute name")
    );
    // A value nests at most 32 levels, the attribute itself the first
    // (DynamoDB's boundary and message, as measured against it).
    let nested = |wraps: usize| (0..wraps).fold(json!({"S": "leaf"}), |v, _| json!({"M": {"n": v}}));
    served(
        &region,
        "PutItem",
        put(json!({"pk": {"S": "n"}, "sk": {"N": "1"}, "deep": nested(31)})),
    )
    .await;
    assert_eq!(
        refused(
            &region,
            "PutItem",
            put(json!({"pk": {"S": "n"}, "sk": {"N": "1"}, "deep": nested(32)}))
        )
        .await,
        validation(
            "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
        )
    );
    // A document path is at most 32 levels deep (DynamoDB's documented
    // limit; the message is the one DynamoDB gives).
    let path = |levels: usize| vec!["a"; levels].join(".");
    let get_with =
        |projection: String| json!({"TableName": "edge", "Key": key("n"), "ProjectionExpression": projection});
    served(&region, "GetItem", get_with(path(32))).await;
    assert_eq!(
        refused(&region, "GetItem", get_with(path(33))).await,
        validation("Invalid ProjectionExpression: The document path has too many nesting levels; nesting levels: 33")
    );
    // SET under a parent that does not exist.
    let answer = refused(
        &region,
        "UpdateItem",
        json!({"TableName": "edge", "Key": key("n"), "UpdateExpression": "SET m.x = :v", "ExpressionAttributeValues": {":v": {"S": "v"}}}),
    )
    .await;
    assert_eq!(
        answer,
        validation("The document path provided in the update expression is invalid for update")
    );
    // An unknown function.
    let answer = refused(
        &region,
        "PutItem",
        json!({"TableName": "edge", "Item": key("n"), "ConditionExpression": "no_such(pk)"}),
    )
    .await;
    assert_eq!(
        answer,
        validation("Invalid ConditionExpression: Invalid function name; function: no_such")
    );
    // A projection through a list index past the end, or through a non-list, is nothing.
    served(
        &region,
        "PutItem",
        put(json!({"pk": {"S": "l"}, "sk": {"N": "1"}, "l": {"L": [{"S": "x"}]}, "s": {"S": "y"}})),
    )
    .await;
    let answer = served(
        &region,
        "GetItem",
        json!({"TableName": "edge", "Key": key("l"), "ProjectionExpression": "l[5], s[0], l[0]"}),
    )
    .await;
    assert_eq!(answer["Item"], json!({"l": {"L": [{"S": "x"}]}}));
    // SET of an index past the end appends; through a non-list is refused.
    served(
        &region,
        "UpdateItem",
        json!({"TableName": "edge", "Key": key("l"), "UpdateExpression": "SET l[9] = :v", "ExpressionAttributeValues": {":v": {"S": "z"}}}),
    )
    .await;
    assert_eq!(get(&region, "l").await["l"], json!({"L": [{"S": "x"}, {"S": "z"}]}));
    let answer = refused(
        &region,
        "UpdateItem",
        json!({"TableName": "edge", "Key": key("l"), "UpdateExpression": "SET s[0] = :v", "ExpressionAttributeValues": {":v": {"S": "z"}}}),
    )
    .await;
    assert_eq!(
        answer,
        validation("The document path provided in the update expression is invalid for update")
    );
    region.shutdown().await;
}

#[tokio::test]
async fn tags_and_arns() {
    let region = region().await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/edge";
    let tag = |k: &str, v: &str| json!({"ResourceArn": arn, "Tags": [{"Key": k, "Value": v}]});
    served(&region, "TagResource", tag(&"k".repeat(128), &"v".repeat(256))).await;
    // DynamoDB's tagging restrictions: letters, white space and numbers
    // (Unicode ones too), and + - = . _ : / (no @, which other services allow).
    served(&region, "TagResource", tag("a+-=._:/ b", "any value +-=._:/")).await;
    served(&region, "TagResource", tag("законные буквы", "ѮѮ 7")).await;
    // DynamoDB's messages, as a catalogue of its live answers records them.
    for (key, value, message) in [
        ("k@", "v", "The Tag Key provided is invalid, Key: k@"),
        ("->>;-)])", "ok", "The Tag Key provided is invalid, Key: ->>;-)])"),
        ("k", "v@", "The Tag Value provided is invalid, Value: v@"),
        ("ok", "#!%%^$$&", "The Tag Value provided is invalid, Value: #!%%^$$&"),
        ("aws:owner", "v", "Tag Key cannot be prefixed with aws:, Key: aws:owner"),
    ] {
        let answer = refused(&region, "TagResource", tag(key, value)).await;
        assert_eq!(answer, validation(message), "{key}={value}");
    }
    let twice = json!({"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]});
    assert_eq!(
        refused(&region, "TagResource", twice).await,
        validation("Duplicate Tag Keys provided as input: Duplicate Tag Key found k")
    );
    let many: Vec<Value> = (0..51).map(|i| json!({"Key": format!("k{i}"), "Value": "v"})).collect();
    assert_eq!(
        refused(&region, "TagResource", json!({"ResourceArn": arn, "Tags": many})).await,
        validation("Number of Tags exceed the current limit for the provided ResourceArn")
    );
    assert_eq!(
        refused(&region, "TagResource", json!({"ResourceArn": arn, "Tags": []})).await,
        validation("Atleast one Tag needs to be provided as Input.")
    );
    assert_eq!(
        refused(&region, "UntagResource", json!({"ResourceArn": arn, "TagKeys": []})).await,
        validation("Atleast one Tag Key needs to be provided as Input.")
    );
    let answer = refused(&region, "TagResource", tag(&"k".repeat(129), "v")).await;
    assert_eq!(
        answer,
        validation(&format!(
            "1 validation error detected: Value '{}' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128",
            "k".repeat(129)
        ))
    );
    let answer = refused(&region, "TagResource", tag("k", &"v".repeat(257))).await;
    assert_eq!(
        answer,
        validation(&format!(
            "1 validation error detected: Value '{}' at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256",
            "v".repeat(257)
        ))
    );
    // Malformed ARNs: not an ARN, not DynamoDB's, another region's, not a
    // table's; and a table that does not exist.
    let list = |arn: &str| json!({"ResourceArn": arn});
    for (arn, message) in [
        (
            "not-an-arn",
            "One or more parameter values were invalid: ARNs must start with 'arn:': not-an-arn",
        ),
        (
            "arn:aws:s3:::bucket",
            "One or more parameter values were invalid: Provided Arn is not a DynamoDB resource arn: arn:aws:s3:::bucket",
        ),
        (
            "arn:aws:dynamodb:eu-west-1:000000000000:table/edge",
            "Invalid TableArn: Invalid ResourceArn provided as input arn:aws:dynamodb:eu-west-1:000000000000:table/edge",
        ),
        (
            "arn:aws:dynamodb:us-east-1:000000000000:table/edge/index/gsi",
            "One or more parameter values were invalid: Invalid resource arn provided, only table or stream is accepted. Provided resource arn: arn:aws:dynamodb:us-east-1:000000000000:table/edge/index/gsi",
        ),
    ] {
        assert_eq!(
            refused(&region, "ListTagsOfResource", list(arn)).await,
            validation(message),
            "{arn}"
        );
    }
    // Another account's table, in this region: AccessDeniedException, as
    // real AWS answers the conformance suite (tier2 tags/basic), for every
    // tagging call.
    let foreign = "arn:aws:dynamodb:us-east-1:123456789012:table/edge";
    for (operation, body) in [
        ("ListTagsOfResource", list(foreign)),
        (
            "TagResource",
            json!({"ResourceArn": foreign, "Tags": [{"Key": "k", "Value": "v"}]}),
        ),
        ("UntagResource", json!({"ResourceArn": foreign, "TagKeys": ["k"]})),
    ] {
        let message = format!(
            "User: arn:aws:iam::000000000000:root is not authorized to perform: dynamodb:{operation} on resource: {foreign} \
             because no resource-based policy allows the dynamodb:{operation} action"
        );
        assert_eq!(
            refused(&region, operation, body).await,
            (400, "AccessDeniedException".to_string(), message)
        );
    }
    let missing = "arn:aws:dynamodb:us-east-1:000000000000:table/nope";
    assert_eq!(
        refused(&region, "ListTagsOfResource", list(missing)).await,
        (
            400,
            "ResourceNotFoundException".to_string(),
            format!("Requested resource not found: ResourcArn: {missing} not found")
        )
    );
    region.shutdown().await;
}

#[tokio::test]
async fn query_and_scan_report_their_consumed_capacity() {
    let region = region().await;
    // 10 items of about 1 KB each: a scan reads 10 KB, 3 units eventually
    // consistent (10 KB / 4 KB rounded up = 3, halved = 1.5).
    for i in 0..10 {
        served(
            &region,
            "PutItem",
            json!({"TableName": "edge", "Item": {"pk": {"S": "p"}, "sk": {"N": i.to_string()}, "v": {"S": "x".repeat(1000)}}}),
        )
        .await;
    }
    let scan = served(
        &region,
        "Scan",
        json!({"TableName": "edge", "ReturnConsumedCapacity": "TOTAL"}),
    )
    .await;
    assert_eq!(
        scan["ConsumedCapacity"],
        json!({"TableName": "edge", "CapacityUnits": 1.5, "ReadCapacityUnits": 1.5})
    );
    let query = served(
        &region,
        "Query",
        json!({
            "TableName": "edge", "ReturnConsumedCapacity": "INDEXES", "ConsistentRead": true,
            "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}},
        }),
    )
    .await;
    assert_eq!(
        query["ConsumedCapacity"],
        json!({
            "TableName": "edge", "CapacityUnits": 3.0, "ReadCapacityUnits": 3.0,
            "Table": {"CapacityUnits": 3.0, "ReadCapacityUnits": 3.0},
        })
    );
    region.shutdown().await;
}

#[tokio::test]
async fn key_attribute_names_have_dynamodbs_limits() {
    let region = TestRegion::start().await;
    let create = |definition: &str, key: &str| {
        json!({
            "TableName": "long_keys",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": definition, "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
        })
    };
    let long = "k".repeat(256);
    let constraint = |value: &str, member: &str, rule: &str| {
        validation(&format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}"
        ))
    };
    assert_eq!(
        refused(&region, "CreateTable", create(&long, &long)).await,
        constraint(
            &long,
            "attributeDefinitions.1.member.attributeName",
            "Member must have length less than or equal to 255"
        )
    );
    assert_eq!(
        refused(&region, "CreateTable", create("pk", "")).await,
        constraint(
            "",
            "keySchema.1.member.attributeName",
            "Member must have length greater than or equal to 1"
        )
    );
    // An attribute defined twice (DynamoDB's message, whatever the types).
    let mut twice = create("pk", "pk");
    twice["AttributeDefinitions"]
        .as_array_mut()
        .expect("a list of definitions")
        .push(json!({"AttributeName": "pk", "AttributeType": "N"}));
    assert_eq!(
        refused(&region, "CreateTable", twice).await,
        validation("Attribute Name is duplicated: pk")
    );
    // 255 characters (not bytes) is the limit: a multi-byte name of 255 is fine.
    let wide = "é".repeat(255);
    served(&region, "CreateTable", create(&wide, &wide)).await;
    region.shutdown().await;
}

#[tokio::test]
async fn stream_parameters_are_checked_before_the_stream_is_looked_up() {
    let region = TestRegion::start().await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/edge/stream/2024-01-01T00:00:00.000";
    let short = |value: &str, member: &str, min: usize| {
        validation(&format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        ))
    };
    for (operation, body, expected) in [
        (
            "GetShardIterator",
            json!({"StreamArn": arn, "ShardId": "garbage", "ShardIteratorType": "LATEST"}),
            short("garbage", "shardId", 28),
        ),
        (
            "DescribeStream",
            json!({"StreamArn": arn, "ExclusiveStartShardId": "garbage"}),
            short("garbage", "exclusiveStartShardId", 28),
        ),
        (
            "DescribeStream",
            json!({"StreamArn": arn, "ShardFilter": {"Type": "CHILD_SHARDS", "ShardId": "garbage"}}),
            short("garbage", "shardFilter.shardId", 28),
        ),
        (
            "ListStreams",
            json!({"ExclusiveStartStreamArn": "garbage"}),
            short("garbage", "exclusiveStartStreamArn", 37),
        ),
    ] {
        let target = format!("DynamoDBStreams_20120810.{operation}");
        let answer = region.raw(Some(&target), serde_json::to_vec(&body).unwrap()).await;
        let got = (
            answer.status,
            answer.error_type().to_string(),
            answer.message().to_string(),
        );
        assert_eq!(got, expected, "{operation} {body}");
    }
    // A well-formed ARN of no stream: ResourceNotFoundException.
    let body = json!({"StreamArn": arn});
    let answer = region
        .raw(
            Some("DynamoDBStreams_20120810.DescribeStream"),
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    assert_eq!(answer.error_type(), "ResourceNotFoundException");
    assert_eq!(
        answer.message(),
        format!("Requested resource not found: Stream: {arn} not found")
    );
    region.shutdown().await;
}
