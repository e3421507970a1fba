//! BatchGetItem and BatchWriteItem through the AWS SDK: several tables,
//! missing keys, the 100-key and 25-request limits, duplicate keys, and
//! consumed capacity per table.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, ReturnConsumedCapacity, ScalarAttributeType,
    WriteRequest,
};
use common::{Keys, TestRegion, create_table, error_code, error_message, item, n, s};

type Item = HashMap<String, AttributeValue>;

fn put_request(item: Item) -> WriteRequest {
    WriteRequest::builder()
        .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
        .build()
}

fn delete_request(key: Item) -> WriteRequest {
    WriteRequest::builder()
        .delete_request(DeleteRequest::builder().set_key(Some(key)).build().unwrap())
        .build()
}

fn keys(keys: Vec<Item>) -> KeysAndAttributes {
    KeysAndAttributes::builder().set_keys(Some(keys)).build().unwrap()
}

async fn two_tables() -> TestRegion {
    let region = TestRegion::start().await;
    create_table(&region.client, "Users", Keys::Hash("id", ScalarAttributeType::S)).await;
    create_table(
        &region.client,
        "Orders",
        Keys::HashRange("user", ScalarAttributeType::S, "n", ScalarAttributeType::N),
    )
    .await;
    region
}

async fn write(c: &Client, table: &str, requests: Vec<WriteRequest>) {
    let out = c
        .batch_write_item()
        .request_items(table, requests)
        .send()
        .await
        .unwrap();
    assert!(out.unprocessed_items().unwrap_or(&HashMap::new()).is_empty());
}

#[tokio::test]
async fn batch_write_puts_and_deletes_across_tables() {
    let region = two_tables().await;
    let c = &region.client;
    let users: Vec<WriteRequest> = (0..10)
        .map(|i| put_request(item([("id", s(format!("u{i}"))), ("age", n(20 + i))])))
        .collect();
    let orders: Vec<WriteRequest> = (0..15)
        .map(|i| put_request(item([("user", s("u1")), ("n", n(i)), ("total", n("9.99"))])))
        .collect();
    let out = c
        .batch_write_item()
        .request_items("Users", users)
        .request_items("Orders", orders)
        .send()
        .await
        .unwrap();
    assert_eq!(out.unprocessed_items().map(HashMap::len), Some(0));
    let scan = c.scan().table_name("Users").send().await.unwrap();
    assert_eq!(scan.count(), 10);
    let scan = c.scan().table_name("Orders").send().await.unwrap();
    assert_eq!(scan.count(), 15);

    // Deletes and puts mixed in one request.
    write(
        c,
        "Users",
        vec![
            delete_request(item([("id", s("u0"))])),
            delete_request(item([("id", s("nobody"))])),
            put_request(item([("id", s("u1")), ("age", n(99))])),
        ],
    )
    .await;
    let got = c
        .get_item()
        .table_name("Users")
        .key("id", s("u0"))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_none());
    let got = c
        .get_item()
        .table_name("Users")
        .key("id", s("u1"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().unwrap()["age"], n(99));
    region.shutdown().await;
}

#[tokio::test]
async fn batch_write_limits_and_duplicates_write_nothing() {
    let region = two_tables().await;
    let c = &region.client;
    let many: Vec<WriteRequest> = (0..26)
        .map(|i| put_request(item([("id", s(format!("u{i}")))])))
        .collect();
    let err = c
        .batch_write_item()
        .request_items("Users", many)
        .send()
        .await
        .unwrap_err();
    // The request is echoed back as Java prints it.
    assert_eq!(error_code(&err), "ValidationException");
    let message = error_message(&err);
    let echoed = message
        .strip_prefix("1 validation error detected: Value '{Users=[")
        .and_then(|m| {
            m.strip_suffix(
                "]}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: \
                 [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
            )
        })
        .unwrap_or_else(|| panic!("{message}"));
    assert!(echoed.starts_with("{PutRequest={Item={id={S=u0}}}}, "), "{echoed}");
    assert_eq!(echoed.matches("PutRequest").count(), 26, "{echoed}");

    // 25 in total across two tables is the limit too.
    let users: Vec<WriteRequest> = (0..13)
        .map(|i| put_request(item([("id", s(format!("u{i}")))])))
        .collect();
    let orders: Vec<WriteRequest> = (0..13)
        .map(|i| put_request(item([("user", s("x")), ("n", n(i))])))
        .collect();
    let err = c
        .batch_write_item()
        .request_items("Users", users)
        .request_items("Orders", orders)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    assert!(
        error_message(&err).contains("Too many items"),
        "{}",
        error_message(&err)
    );

    // A put and a delete of the same key are duplicates.
    let err = c
        .batch_write_item()
        .request_items(
            "Users",
            vec![
                put_request(item([("id", s("new"))])),
                put_request(item([("id", s("dup")), ("v", n(1))])),
                delete_request(item([("id", s("dup"))])),
            ],
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    assert!(error_message(&err).contains("duplicates"), "{}", error_message(&err));

    // An invalid request in the batch (wrong key type) fails it as a whole.
    let err = c
        .batch_write_item()
        .request_items(
            "Users",
            vec![put_request(item([("id", s("new"))])), put_request(item([("id", n(1))]))],
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");

    // A missing table fails the batch too.
    let err = c
        .batch_write_item()
        .request_items("Users", vec![put_request(item([("id", s("new"))]))])
        .request_items("NoSuchTable", vec![put_request(item([("id", s("x"))]))])
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");

    let scan = c.scan().table_name("Users").send().await.unwrap();
    assert_eq!(scan.count(), 0, "no failed batch wrote anything");
    region.shutdown().await;
}

#[tokio::test]
async fn batch_get_across_tables_with_missing_keys() {
    let region = two_tables().await;
    let c = &region.client;
    write(
        c,
        "Users",
        (0..5)
            .map(|i| put_request(item([("id", s(format!("u{i}"))), ("name", s(format!("user {i}")))])))
            .collect(),
    )
    .await;
    write(
        c,
        "Orders",
        (0..3)
            .map(|i| put_request(item([("user", s("u1")), ("n", n(i))])))
            .collect(),
    )
    .await;
    let out = c
        .batch_get_item()
        .request_items(
            "Users",
            keys(vec![
                item([("id", s("u0"))]),
                item([("id", s("u4"))]),
                item([("id", s("missing"))]),
            ]),
        )
        .request_items(
            "Orders",
            keys(vec![
                item([("user", s("u1")), ("n", n(2))]),
                item([("user", s("u1")), ("n", n(5))]),
            ]),
        )
        .send()
        .await
        .unwrap();
    let responses = out.responses().unwrap();
    let mut users: Vec<String> = responses["Users"]
        .iter()
        .map(|i| i["id"].as_s().unwrap().clone())
        .collect();
    users.sort();
    assert_eq!(users, ["u0", "u4"]);
    assert_eq!(responses["Orders"], [item([("user", s("u1")), ("n", n(2))])]);
    assert!(out.unprocessed_keys().unwrap_or(&HashMap::new()).is_empty());

    // Projections apply per table.
    let out = c
        .batch_get_item()
        .request_items(
            "Users",
            KeysAndAttributes::builder()
                .keys(item([("id", s("u2"))]))
                .projection_expression("#n")
                .expression_attribute_names("#n", "name")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.responses().unwrap()["Users"], [item([("name", s("user 2"))])]);
    region.shutdown().await;
}

#[tokio::test]
async fn batch_get_limits_and_duplicates() {
    let region = two_tables().await;
    let c = &region.client;
    let hundred: Vec<Item> = (0..100).map(|i| item([("id", s(format!("u{i}")))])).collect();
    let out = c
        .batch_get_item()
        .request_items("Users", keys(hundred.clone()))
        .send()
        .await
        .unwrap();
    assert!(out.responses().unwrap()["Users"].is_empty());

    let mut too_many = hundred.clone();
    too_many.push(item([("id", s("one-more"))]));
    let err = c
        .batch_get_item()
        .request_items("Users", keys(too_many))
        .send()
        .await
        .unwrap_err();
    common::assert_error(
        &err,
        "ValidationException",
        "1 validation error detected: Value at 'RequestItems.Users.member.Keys' failed to satisfy constraint: \
         Member must have length less than or equal to 100",
    );

    // 100 keys in total across tables.
    let err = c
        .batch_get_item()
        .request_items("Users", keys(hundred[..60].to_vec()))
        .request_items(
            "Orders",
            keys((0..41).map(|i| item([("user", s("x")), ("n", n(i))])).collect()),
        )
        .send()
        .await
        .unwrap_err();
    common::assert_error(
        &err,
        "ValidationException",
        "Too many items requested for the BatchGetItem call",
    );

    let err = c
        .batch_get_item()
        .request_items("Users", keys(vec![item([("id", s("a"))]), item([("id", s("a"))])]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    assert!(error_message(&err).contains("duplicates"), "{}", error_message(&err));

    let err = c
        .batch_get_item()
        .request_items("NoSuchTable", keys(vec![item([("id", s("a"))])]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");

    let err = c
        .batch_get_item()
        .request_items("Users", keys(vec![item([("wrong", s("a"))])]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    region.shutdown().await;
}

#[tokio::test]
async fn batch_consumed_capacity_per_table() {
    let region = two_tables().await;
    let c = &region.client;
    let big = "x".repeat(1500);
    let out = c
        .batch_write_item()
        .request_items(
            "Users",
            vec![
                // 2 + 2 + 1 + 1500 bytes: 2 write units.
                put_request(item([("id", s("u1")), ("d", s(big.clone()))])),
                put_request(item([("id", s("u2"))])),
            ],
        )
        .request_items("Orders", vec![put_request(item([("user", s("a")), ("n", n(1))]))])
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let mut consumed: Vec<(String, f64)> = out
        .consumed_capacity()
        .iter()
        .map(|c| (c.table_name().unwrap().to_string(), c.capacity_units().unwrap()))
        .collect();
    consumed.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(consumed, [("Orders".to_string(), 1.0), ("Users".to_string(), 3.0)]);

    // Batch reads round each item: two small items eventually consistent are
    // 0.5 each; consistent reads 1 each.
    for (consistent, expected) in [(false, 1.0), (true, 2.0)] {
        let out = c
            .batch_get_item()
            .request_items(
                "Users",
                KeysAndAttributes::builder()
                    .keys(item([("id", s("u1"))]))
                    .keys(item([("id", s("u2"))]))
                    .consistent_read(consistent)
                    .build()
                    .unwrap(),
            )
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap();
        let consumed = out.consumed_capacity();
        assert_eq!(consumed.len(), 1);
        assert_eq!(consumed[0].table_name(), Some("Users"));
        assert_eq!(consumed[0].capacity_units(), Some(expected), "consistent: {consistent}");
    }
    region.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_get_over_16_megabytes_returns_unprocessed_keys() {
    let region = two_tables().await;
    let c = &region.client;
    // 42 items of almost 400 KB: about 16.8 MB, more than one response holds.
    let payload = "x".repeat(400 * 1024 - 100);
    for i in 0..42 {
        c.put_item()
            .table_name("Users")
            .set_item(Some(item([("id", s(format!("u{i}"))), ("d", s(payload.clone()))])))
            .send()
            .await
            .unwrap();
    }
    let mut request: Vec<Item> = (0..42).map(|i| item([("id", s(format!("u{i}")))])).collect();
    let mut seen = Vec::new();
    let mut calls = 0;
    while !request.is_empty() {
        calls += 1;
        assert!(calls <= 5, "UnprocessedKeys must shrink");
        let out = c
            .batch_get_item()
            .request_items("Users", keys(request))
            .send()
            .await
            .unwrap();
        let found = &out.responses().unwrap()["Users"];
        assert!(!found.is_empty(), "every call makes progress");
        seen.extend(found.iter().map(|i| i["id"].as_s().unwrap().clone()));
        request = out
            .unprocessed_keys()
            .and_then(|u| u.get("Users"))
            .map(|k| k.keys().to_vec())
            .unwrap_or_default();
    }
    assert!(calls >= 2, "16.8 MB does not fit in one BatchGetItem response");
    // Each response holds up to 16 MB, so the second call gets the rest.
    assert_eq!(calls, 2, "16.8 MB in two BatchGetItem responses");
    seen.sort();
    let mut expected: Vec<String> = (0..42).map(|i| format!("u{i}")).collect();
    expected.sort();
    assert_eq!(seen, expected);
    region.shutdown().await;
}

/// An empty RequestItems, with DynamoDB's message for each operation
/// (pinned against AWS by the dynamodb-conformance suite).
#[tokio::test]
async fn an_empty_request_items_is_refused_by_name() {
    let region = two_tables().await;
    for operation in ["BatchGetItem", "BatchWriteItem"] {
        let response = region
            .raw_json(operation, serde_json::json!({ "RequestItems": {} }))
            .await;
        assert_eq!(
            (response.status, response.error_type(), response.message()),
            (
                400,
                "ValidationException",
                format!("The requestItems parameter is required for {operation}").as_str()
            )
        );
    }
    region.shutdown().await;
}

/// BatchWriteItem refuses an unknown ReturnItemCollectionMetrics before
/// writing anything, and reports it with an unknown ReturnConsumedCapacity
/// in one message, as DynamoDB does (pinned by the conformance suite).
#[tokio::test]
async fn batch_write_refuses_unknown_enums_together() {
    let region = two_tables().await;
    let c = &region.client;
    let capacity = "Value 'BOGUS' at 'returnConsumedCapacity' failed to satisfy constraint: \
                    Member must satisfy enum value set: [INDEXES, TOTAL, NONE]";
    let metrics = "Value 'BOGUS2' at 'returnItemCollectionMetrics' failed to satisfy constraint: \
                   Member must satisfy enum value set: [SIZE, NONE]";
    let write = |capacity: Option<&str>| {
        c.batch_write_item()
            .request_items("Users", vec![put_request(item([("id", s("enum"))]))])
            .set_return_consumed_capacity(capacity.map(Into::into))
            .return_item_collection_metrics("BOGUS2".into())
            .send()
    };
    let err = write(None).await.unwrap_err();
    common::assert_error(
        &err,
        "ValidationException",
        &format!("1 validation error detected: {metrics}"),
    );
    let err = write(Some("BOGUS")).await.unwrap_err();
    common::assert_error(
        &err,
        "ValidationException",
        &format!("2 validation errors detected: {capacity}; {metrics}"),
    );
    let scan = c.scan().table_name("Users").send().await.unwrap();
    assert_eq!(scan.count(), 0, "a refused batch wrote nothing");
    region.shutdown().await;
}
