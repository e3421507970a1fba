//! TransactWriteItems and TransactGetItems through the AWS SDK in one
//! region: all-or-nothing writes with conditions, cancellation reasons in
//! action order, DynamoDB's validation errors, client request tokens,
//! capacity at twice the single-item cost, secondary indexes kept in the
//! same commit, and a bank-transfer load in which the sum of balances read
//! by TransactGetItems never changes.

mod bank;
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Get, ReturnConsumedCapacity, TransactGetItem};
use bank::{
    ACCOUNTS, Item, START_BALANCE, TOTAL, add, balances, check, delete, get, open_accounts, put, put_if_absent,
    reason_codes, transfer_plan, withdraw,
};
use common::{Keys, TestRegion, assert_error, create_table, error_code, error_message, item, n, s};

async fn get_item(client: &Client, table: &str, pk: &str) -> Option<Item> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item().cloned()
}

async fn accounts_table(region: &TestRegion) {
    create_table(
        &region.client,
        "accounts",
        Keys::Hash("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_applies_in_one_commit() {
    let region = TestRegion::start().await;
    let client = &region.client;
    accounts_table(&region).await;
    client
        .put_item()
        .table_name("accounts")
        .set_item(Some(item([("pk", s("a")), ("balance", n(10))])))
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name("accounts")
        .set_item(Some(item([("pk", s("gone")), ("balance", n(1))])))
        .send()
        .await
        .unwrap();
    let out = client
        .transact_write_items()
        .transact_items(withdraw("accounts", "a", 4))
        .transact_items(add("accounts", "b", 4))
        .transact_items(put("accounts", item([("pk", s("log1")), ("amount", n(4))])))
        .transact_items(delete("accounts", item([("pk", s("gone"))])))
        .transact_items(check("accounts", "open", "attribute_not_exists(pk)"))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(get_item(client, "accounts", "a").await.unwrap()["balance"], n(6));
    assert_eq!(get_item(client, "accounts", "b").await.unwrap()["balance"], n(4));
    assert_eq!(get_item(client, "accounts", "log1").await.unwrap()["amount"], n(4));
    assert_eq!(get_item(client, "accounts", "gone").await, None);
    // Transactional writes cost twice a write: five items of under 1 KB.
    let consumed = out.consumed_capacity();
    assert_eq!(consumed.len(), 1);
    assert_eq!(consumed[0].table_name(), Some("accounts"));
    assert_eq!(consumed[0].capacity_units(), Some(10.0));
    assert_eq!(consumed[0].write_capacity_units(), Some(10.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_condition_cancels_everything_with_reasons_in_order() {
    let region = TestRegion::start().await;
    let client = &region.client;
    accounts_table(&region).await;
    let existing = item([("pk", s("taken")), ("owner", s("ann"))]);
    client
        .put_item()
        .table_name("accounts")
        .set_item(Some(existing.clone()))
        .send()
        .await
        .unwrap();
    let error = client
        .transact_write_items()
        .transact_items(put("accounts", item([("pk", s("new")), ("v", n(1))])))
        .transact_items(put_if_absent(
            "accounts",
            item([("pk", s("taken")), ("owner", s("bob"))]),
        ))
        .transact_items(check("accounts", "missing", "attribute_exists(pk)"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &error,
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons \
         [None, ConditionalCheckFailed, ConditionalCheckFailed]",
    );
    assert_eq!(
        reason_codes(&error),
        ["None", "ConditionalCheckFailed", "ConditionalCheckFailed"]
    );
    let Some(TransactWriteItemsError::TransactionCanceledException(canceled)) = error.as_service_error() else {
        unreachable!()
    };
    let reasons = canceled.cancellation_reasons();
    assert_eq!(reasons[1].message(), Some("The conditional request failed"));
    assert_eq!(reasons[1].item(), Some(&existing), "ALL_OLD returns the current item");
    assert_eq!(reasons[2].item(), None);
    // Nothing was written.
    assert_eq!(get_item(client, "accounts", "new").await, None);
    assert_eq!(get_item(client, "accounts", "taken").await, Some(existing));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_fails_on_the_item_is_a_validation_error_reason() {
    let region = TestRegion::start().await;
    let client = &region.client;
    accounts_table(&region).await;
    client
        .put_item()
        .table_name("accounts")
        .set_item(Some(item([("pk", s("text")), ("balance", s("lots"))])))
        .send()
        .await
        .unwrap();
    let error = client
        .transact_write_items()
        .transact_items(add("accounts", "other", 1))
        .transact_items(add("accounts", "text", 1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(reason_codes(&error), ["None", "ValidationError"]);
    let Some(TransactWriteItemsError::TransactionCanceledException(canceled)) = error.as_service_error() else {
        unreachable!()
    };
    assert_eq!(
        canceled.cancellation_reasons()[1].message(),
        Some("An operand in the update expression has an incorrect data type")
    );
    assert_eq!(get_item(client, "accounts", "other").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_dynamodb_refuses_outright() {
    let region = TestRegion::start().await;
    let client = &region.client;
    accounts_table(&region).await;
    let twice = client
        .transact_write_items()
        .transact_items(add("accounts", "a", 1))
        .transact_items(check("accounts", "a", "attribute_exists(pk)"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &twice,
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
    );

    let unknown = client
        .transact_write_items()
        .transact_items(add("nosuchtable", "a", 1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&unknown), "ResourceNotFoundException");

    let bad_key = client
        .transact_write_items()
        .transact_items(put("accounts", item([("id", s("a"))])))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &bad_key,
        "ValidationException",
        "One or more parameter values were invalid: Missing the key pk in the item",
    );

    let mut many = client.transact_write_items();
    for i in 0..101 {
        many = many.transact_items(add("accounts", &format!("k{i}"), 1));
    }
    let error = many.send().await.unwrap_err();
    assert_eq!(error_code(&error), "ValidationException");
    assert!(
        error_message(&error).ends_with("Member must have length less than or equal to 100"),
        "{}",
        error_message(&error)
    );

    let empty = region
        .raw_json("TransactWriteItems", serde_json::json!({ "TransactItems": [] }))
        .await;
    assert_eq!(empty.error_type(), "ValidationException");
    assert_eq!(
        empty.message(),
        "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: \
         Member must have length greater than or equal to 1"
    );
    let two_kinds = region
        .raw_json(
            "TransactWriteItems",
            serde_json::json!({ "TransactItems": [{
                "Put": { "TableName": "accounts", "Item": { "pk": { "S": "x" } } },
                "Delete": { "TableName": "accounts", "Key": { "pk": { "S": "x" } } },
            }] }),
        )
        .await;
    assert_eq!(two_kinds.error_type(), "ValidationException");
    assert_eq!(
        two_kinds.message(),
        "TransactItems can only contain one of Check, Put, Update or Delete"
    );
    let no_condition = region
        .raw_json(
            "TransactWriteItems",
            serde_json::json!({ "TransactItems": [
                { "ConditionCheck": { "TableName": "accounts", "Key": { "pk": { "S": "x" } } } },
            ] }),
        )
        .await;
    assert_eq!(
        no_condition.message(),
        "1 validation error detected: Value null at 'transactItems.1.member.conditionCheck.conditionExpression' \
         failed to satisfy constraint: Member must not be null"
    );
    assert_eq!(
        get_item(client, "accounts", "a").await,
        None,
        "nothing refused was applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_request_token_applies_its_transaction_once() {
    let region = TestRegion::start().await;
    let client = &region.client;
    accounts_table(&region).await;
    for _ in 0..3 {
        client
            .transact_write_items()
            .transact_items(add("accounts", "counter", 1))
            .client_request_token("token-1")
            .send()
            .await
            .unwrap();
    }
    assert_eq!(get_item(client, "accounts", "counter").await.unwrap()["balance"], n(1));
    let mismatch = client
        .transact_write_items()
        .transact_items(add("accounts", "counter", 2))
        .client_request_token("token-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&mismatch), "IdempotentParameterMismatchException");
    // A cancelled transaction does not use up its token.
    let canceled = client
        .transact_write_items()
        .transact_items(check("accounts", "counter", "attribute_not_exists(pk)"))
        .transact_items(add("accounts", "other", 1))
        .client_request_token("token-2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(reason_codes(&canceled), ["ConditionalCheckFailed", "None"]);
    client
        .transact_write_items()
        .transact_items(add("accounts", "other", 5))
        .client_request_token("token-2")
        .send()
        .await
        .unwrap();
    assert_eq!(get_item(client, "accounts", "other").await.unwrap()["balance"], n(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transact_get_items_reads_every_item_with_projections() {
    let region = TestRegion::start().await;
    let client = &region.client;
    accounts_table(&region).await;
    client
        .transact_write_items()
        .transact_items(put(
            "accounts",
            item([("pk", s("a")), ("balance", n(1)), ("note", s("x"))]),
        ))
        .transact_items(put("accounts", item([("pk", s("b")), ("balance", n(2))])))
        .send()
        .await
        .unwrap();
    let projected = TransactGetItem::builder()
        .get(
            Get::builder()
                .table_name("accounts")
                .key("pk", s("a"))
                .projection_expression("#n")
                .expression_attribute_names("#n", "note")
                .build()
                .unwrap(),
        )
        .build();
    let out = client
        .transact_get_items()
        .transact_items(projected)
        .transact_items(get("accounts", "b"))
        .transact_items(get("accounts", "none"))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let responses = out.responses();
    assert_eq!(responses.len(), 3);
    assert_eq!(responses[0].item(), Some(&item([("note", s("x"))])));
    assert_eq!(responses[1].item(), Some(&item([("pk", s("b")), ("balance", n(2))])));
    assert_eq!(responses[2].item(), None);
    // Transactional reads cost twice a strongly consistent read.
    assert_eq!(out.consumed_capacity()[0].read_capacity_units(), Some(6.0));

    let twice = client
        .transact_get_items()
        .transact_items(get("accounts", "a"))
        .transact_items(get("accounts", "a"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &twice,
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
    );
    let unknown = client
        .transact_get_items()
        .transact_items(get("nosuchtable", "a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&unknown), "ResourceNotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_keeps_the_tables_indexes_in_its_commit() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
        ScalarAttributeType,
    };
    let region = TestRegion::start().await;
    let client = &region.client;
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let definition = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name("orders")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition("pk"))
        .attribute_definitions(definition("status"))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("byStatus")
                .key_schema(key("status", KeyType::Hash))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let out = client
        .transact_write_items()
        .transact_items(put("orders", item([("pk", s("o1")), ("status", s("open"))])))
        .transact_items(put("orders", item([("pk", s("o2")), ("status", s("open"))])))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let consumed = &out.consumed_capacity()[0];
    assert_eq!(consumed.table().and_then(|t| t.capacity_units()), Some(4.0));
    let index = &consumed.global_secondary_indexes().unwrap()["byStatus"];
    assert_eq!(index.capacity_units(), Some(4.0));
    let open = |client: &Client| {
        let client = client.clone();
        async move {
            let out = client
                .query()
                .table_name("orders")
                .index_name("byStatus")
                .key_condition_expression("#s = :s")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":s", s("open"))
                .send()
                .await
                .unwrap();
            out.items()
                .iter()
                .map(|i| i["pk"].as_s().unwrap().clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(open(client).await, ["o1", "o2"]);
    let bad_index_key = client
        .transact_write_items()
        .transact_items(put("orders", item([("pk", s("o3")), ("status", n(1))])))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&bad_index_key), "ValidationException");
    client
        .transact_write_items()
        .transact_items(delete("orders", item([("pk", s("o1"))])))
        .send()
        .await
        .unwrap();
    assert_eq!(open(client).await, ["o2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transfers_keep_the_total_and_apply_once() {
    let region = TestRegion::start().await;
    let client = region.client.clone();
    accounts_table(&region).await;
    open_accounts(&client, "accounts").await;
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let reader = {
        let (client, done, reads) = (client.clone(), done.clone(), reads.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let seen = balances(&client, "accounts").await.expect("every account");
                assert_eq!(
                    seen.iter().sum::<i64>(),
                    TOTAL,
                    "a read saw part of a transfer: {seen:?}"
                );
                assert!(seen.iter().all(|b| *b >= 0), "{seen:?}");
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..6u64 {
        let client = client.clone();
        writers.push(tokio::spawn(async move {
            let mut applied = 0u64;
            for t in 0..40u64 {
                let (from, to, amount) = transfer_plan(w, t);
                let token = format!("w{w}-t{t}");
                let ledger = item([("pk", s(format!("ledger-{token}"))), ("amount", n(amount))]);
                let send = || {
                    client
                        .transact_write_items()
                        .transact_items(withdraw("accounts", &from, amount))
                        .transact_items(add("accounts", &to, amount))
                        .transact_items(put_if_absent("accounts", ledger.clone()))
                        .client_request_token(token.clone())
                        .send()
                };
                let first = send().await;
                if let Err(error) = &first {
                    assert_eq!(reason_codes(error)[0], "ConditionalCheckFailed", "{error:?}");
                    continue;
                }
                // Sent again with its token, as a client retrying after a
                // lost answer would: answered, not applied again.
                send().await.expect("a replay of a transfer that succeeded");
                applied += 1;
            }
            applied
        }));
    }
    let mut applied = 0;
    for writer in writers {
        applied += writer.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    reader.await.unwrap();
    assert!(reads.load(Ordering::Relaxed) > 0);
    let end = balances(&client, "accounts").await.expect("every account");
    assert_eq!(end.iter().sum::<i64>(), TOTAL);
    assert_eq!(end.len(), ACCOUNTS);
    assert!(end.iter().any(|b| *b != START_BALANCE), "transfers moved money");
    // One ledger item per applied transfer: none lost, none applied twice.
    let scanned = client.scan().table_name("accounts").send().await.unwrap();
    let ledgers = scanned
        .items()
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("ledger-"))
        .count() as u64;
    assert_eq!(ledgers, applied);
    assert!(applied > 0);
}

/// A Get whose key does not match its table's schema cancels the read
/// transaction with a ValidationError at its position (as DynamoDB does,
/// pinned by the dynamodb-conformance suite); a request with no actions
/// echoes the empty list quoted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_with_a_bad_key_cancels_with_a_validation_error() {
    let region = TestRegion::start().await;
    let client = &region.client;
    accounts_table(&region).await;
    let empty_key = TransactGetItem::builder()
        .get(
            Get::builder()
                .table_name("accounts")
                .set_key(Some(Item::new()))
                .build()
                .unwrap(),
        )
        .build();
    let error = client
        .transact_get_items()
        .transact_items(get("accounts", "a"))
        .transact_items(empty_key)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&error),
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ValidationError]"
    );
    let Some(aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError::TransactionCanceledException(
        canceled,
    )) = error.as_service_error()
    else {
        panic!("{error:?}")
    };
    let reasons: Vec<(&str, Option<&str>)> = canceled
        .cancellation_reasons()
        .iter()
        .map(|r| (r.code().unwrap_or(""), r.message()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("None", None),
            (
                "ValidationError",
                Some("The provided key element does not match the schema")
            )
        ]
    );

    let empty = client
        .transact_get_items()
        .set_transact_items(Some(Vec::new()))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &empty,
        "ValidationException",
        "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: \
         Member must have length greater than or equal to 1",
    );
}

/// The member constraints of TransactWriteItems (ClientRequestToken's
/// length, ReturnConsumedCapacity, ReturnItemCollectionMetrics) are checked
/// before anything else and reported together in one message, in that
/// order, as DynamoDB does (pinned by the conformance suite against
/// us-east-1); nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_faults_are_reported_together_before_anything_else() {
    let region = TestRegion::start().await;
    let client = &region.client;
    accounts_table(&region).await;
    let token = "x".repeat(37);
    let token_fault = format!(
        "Value '{token}' at 'clientRequestToken' failed to satisfy constraint: \
         Member must have length less than or equal to 36"
    );
    let capacity_fault = "Value 'BOGUS' at 'returnConsumedCapacity' failed to satisfy constraint: \
                          Member must satisfy enum value set: [INDEXES, TOTAL, NONE]";
    let metrics_fault = "Value 'BOGUS2' at 'returnItemCollectionMetrics' failed to satisfy constraint: \
                         Member must satisfy enum value set: [SIZE, NONE]";
    let write = |table: &'static str, token: Option<&str>, capacity: Option<&str>, metrics: Option<&str>| {
        client
            .transact_write_items()
            .transact_items(put(table, item([("pk", s("a"))])))
            .set_client_request_token(token.map(str::to_string))
            .set_return_consumed_capacity(capacity.map(Into::into))
            .set_return_item_collection_metrics(metrics.map(Into::into))
            .send()
    };
    let error = write("accounts", None, Some("BOGUS"), Some("BOGUS2"))
        .await
        .unwrap_err();
    assert_error(
        &error,
        "ValidationException",
        &format!("2 validation errors detected: {capacity_fault}; {metrics_fault}"),
    );
    let error = write("nosuchtable", Some(&token), Some("BOGUS"), None)
        .await
        .unwrap_err();
    assert_error(
        &error,
        "ValidationException",
        &format!("2 validation errors detected: {token_fault}; {capacity_fault}"),
    );
    let error = write("accounts", Some(&token), None, None).await.unwrap_err();
    assert_error(
        &error,
        "ValidationException",
        &format!("1 validation error detected: {token_fault}"),
    );
    assert_eq!(get_item(client, "accounts", "a").await, None);
}
