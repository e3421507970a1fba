//! Secondary indexes through the AWS SDK: CreateTable with GSIs and LSIs
//! (and its validation messages), maintenance on every put, update and
//! delete, sparse indexes, Query and Scan with IndexName (paging, order,
//! projections, Select, ConsistentRead), a GSI created on a live table
//! while writers run (backfilled, checked entry by entry against the
//! table), deleted again, and surviving a restart.

mod common;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    KeySchemaElement, KeyType, LocalSecondaryIndex, Projection, ProjectionType, ReturnConsumedCapacity,
    ScalarAttributeType, Select,
};
use common::{TestRegion, assert_error, error_code, error_message, item, n, s, wait_for};

type Item = HashMap<String, AttributeValue>;

fn definition(name: &str, ty: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ty)
        .build()
        .unwrap()
}

fn keys(hash: &str, range: Option<&str>) -> Vec<KeySchemaElement> {
    let element = |n: &str, k: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(k)
            .build()
            .unwrap()
    };
    let mut out = vec![element(hash, KeyType::Hash)];
    out.extend(range.map(|r| element(r, KeyType::Range)));
    out
}

fn projection(ty: ProjectionType, include: &[&str]) -> Projection {
    let mut p = Projection::builder().projection_type(ty);
    for name in include {
        p = p.non_key_attributes(*name);
    }
    p.build()
}

fn gsi(name: &str, hash: &str, range: Option<&str>, p: Projection) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(keys(hash, range)))
        .projection(p)
        .build()
        .unwrap()
}

/// "Orders": pk (S) + sk (N); GSI byStatus (status S, at N, ALL), GSI
/// byCustomer (customer S, KEYS_ONLY), LSI byTotal (pk, total N, INCLUDE
/// note).
async fn create_orders(c: &Client) {
    c.create_table()
        .table_name("Orders")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .attribute_definitions(definition("sk", ScalarAttributeType::N))
        .attribute_definitions(definition("status", ScalarAttributeType::S))
        .attribute_definitions(definition("at", ScalarAttributeType::N))
        .attribute_definitions(definition("customer", ScalarAttributeType::S))
        .attribute_definitions(definition("total", ScalarAttributeType::N))
        .set_key_schema(Some(keys("pk", Some("sk"))))
        .global_secondary_indexes(gsi(
            "byStatus",
            "status",
            Some("at"),
            projection(ProjectionType::All, &[]),
        ))
        .global_secondary_indexes(gsi(
            "byCustomer",
            "customer",
            None,
            projection(ProjectionType::KeysOnly, &[]),
        ))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("byTotal")
                .set_key_schema(Some(keys("pk", Some("total"))))
                .projection(projection(ProjectionType::Include, &["note"]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create Orders");
}

fn order(pk: &str, sk: i64, status: &str, at: i64, customer: &str, total: i64) -> Item {
    item([
        ("pk", s(pk)),
        ("sk", n(sk)),
        ("status", s(status)),
        ("at", n(at)),
        ("customer", s(customer)),
        ("total", n(total)),
        ("note", s(format!("note {pk}/{sk}"))),
        ("secret", s("not projected")),
    ])
}

async fn put(c: &Client, table: &str, item: Item) {
    c.put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .expect("put");
}

fn ids(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| format!("{}/{}", i["pk"].as_s().unwrap(), i["sk"].as_n().unwrap()))
        .collect()
}

async fn query_status(c: &Client, status: &str) -> Vec<Item> {
    let out = c
        .query()
        .table_name("Orders")
        .index_name("byStatus")
        .key_condition_expression("#s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s(status))
        .send()
        .await
        .expect("query byStatus");
    out.items().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_follow_every_write_and_answer_queries() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_orders(c).await;

    let described = c.describe_table().table_name("Orders").send().await.unwrap();
    let table = described.table().unwrap();
    let gsis = table.global_secondary_indexes();
    assert_eq!(gsis.len(), 2);
    assert_eq!(gsis[0].index_name(), Some("byStatus"));
    assert_eq!(gsis[0].index_status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(gsis[0].backfilling(), Some(false));
    assert!(gsis[0].index_arn().unwrap().ends_with(":table/Orders/index/byStatus"));
    let lsis = table.local_secondary_indexes();
    assert_eq!(lsis.len(), 1);
    assert_eq!(lsis[0].projection().unwrap().non_key_attributes(), ["note".to_string()]);

    // Two orders with equal index keys come back in table-key order.
    put(c, "Orders", order("b", 2, "open", 10, "carol", 30)).await;
    put(c, "Orders", order("a", 1, "open", 10, "carol", 20)).await;
    put(c, "Orders", order("a", 3, "open", 5, "dave", 50)).await;
    put(c, "Orders", order("c", 1, "shipped", 7, "carol", 10)).await;
    // Sparse: no status, so not in byStatus; no customer, not in byCustomer.
    put(c, "Orders", item([("pk", s("d")), ("sk", n(1)), ("total", n(1))])).await;
    assert_eq!(ids(&query_status(c, "open").await), ["a/3", "a/1", "b/2"]);
    assert_eq!(ids(&query_status(c, "shipped").await), ["c/1"]);

    // An update that changes the index key moves the entry; a delete
    // removes it.
    c.update_item()
        .table_name("Orders")
        .key("pk", s("a"))
        .key("sk", n(1))
        .update_expression("SET #s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s("shipped"))
        .send()
        .await
        .unwrap();
    c.delete_item()
        .table_name("Orders")
        .key("pk", s("b"))
        .key("sk", n(2))
        .send()
        .await
        .unwrap();
    assert_eq!(ids(&query_status(c, "open").await), ["a/3"]);
    assert_eq!(ids(&query_status(c, "shipped").await), ["c/1", "a/1"]);
    // Removing the attribute takes the item out of the index.
    c.update_item()
        .table_name("Orders")
        .key("pk", s("c"))
        .key("sk", n(1))
        .update_expression("REMOVE #s")
        .expression_attribute_names("#s", "status")
        .send()
        .await
        .unwrap();
    assert_eq!(ids(&query_status(c, "shipped").await), ["a/1"]);

    // KEYS_ONLY projection: table and index keys only.
    let carol = c
        .query()
        .table_name("Orders")
        .index_name("byCustomer")
        .key_condition_expression("customer = :c")
        .expression_attribute_values(":c", s("carol"))
        .send()
        .await
        .unwrap();
    let mut names: Vec<Vec<String>> = carol
        .items()
        .iter()
        .map(|i| {
            let mut k: Vec<String> = i.keys().cloned().collect();
            k.sort();
            k
        })
        .collect();
    names.dedup();
    assert_eq!(names, vec![vec!["customer".to_string(), "pk".into(), "sk".into()]]);
    assert_eq!(carol.count(), 2);

    // LSI: range conditions on the index's sort key, reverse order, and
    // attributes outside the projection fetched from the table.
    let lsi = c
        .query()
        .table_name("Orders")
        .index_name("byTotal")
        .key_condition_expression("pk = :p AND #t > :t")
        .expression_attribute_names("#t", "total")
        .expression_attribute_values(":p", s("a"))
        .expression_attribute_values(":t", n(10))
        .scan_index_forward(false)
        .select(Select::AllAttributes)
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    assert_eq!(ids(lsi.items()), ["a/3", "a/1"]);
    assert_eq!(lsi.items()[0]["secret"], s("not projected"));
    let consumed = lsi.consumed_capacity().unwrap();
    assert!(consumed.local_secondary_indexes().unwrap().contains_key("byTotal"));
    let projected_only = c
        .query()
        .table_name("Orders")
        .index_name("byTotal")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .send()
        .await
        .unwrap();
    assert!(
        projected_only
            .items()
            .iter()
            .all(|i| !i.contains_key("secret") && i.contains_key("note"))
    );

    // Write capacity counts each index entry written or deleted: a new
    // item is a put in all three; changing the status is a delete and a
    // put in byStatus only (the other two project nothing that changed).
    let put_out = c
        .put_item()
        .table_name("Orders")
        .set_item(Some(order("e", 1, "open", 1, "erin", 5)))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let consumed = put_out.consumed_capacity().unwrap();
    assert_eq!(consumed.capacity_units(), Some(4.0));
    assert_eq!(consumed.table().unwrap().capacity_units(), Some(1.0));
    let gsis = consumed.global_secondary_indexes().unwrap();
    assert_eq!(gsis["byStatus"].capacity_units(), Some(1.0));
    assert_eq!(gsis["byCustomer"].capacity_units(), Some(1.0));
    assert_eq!(
        consumed.local_secondary_indexes().unwrap()["byTotal"].capacity_units(),
        Some(1.0)
    );
    let update_out = c
        .update_item()
        .table_name("Orders")
        .key("pk", s("e"))
        .key("sk", n(1))
        .update_expression("SET #s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s("shipped"))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let consumed = update_out.consumed_capacity().unwrap();
    assert_eq!(consumed.capacity_units(), Some(3.0));
    let gsis = consumed.global_secondary_indexes().unwrap();
    assert_eq!(gsis.len(), 1);
    assert_eq!(gsis["byStatus"].capacity_units(), Some(2.0));
    assert!(consumed.local_secondary_indexes().is_none());
    c.delete_item()
        .table_name("Orders")
        .key("pk", s("e"))
        .key("sk", n(1))
        .send()
        .await
        .unwrap();

    // A table with an LSI reports its item collections' sizes.
    let metrics = c
        .put_item()
        .table_name("Orders")
        .set_item(Some(order("a", 9, "open", 9, "carol", 9)))
        .return_item_collection_metrics(aws_sdk_dynamodb::types::ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .unwrap();
    let metrics = metrics.item_collection_metrics().unwrap();
    assert_eq!(metrics.item_collection_key().unwrap()["pk"], s("a"));
    assert_eq!(metrics.size_estimate_range_gb(), [0.0, 1.0]);
    c.delete_item()
        .table_name("Orders")
        .key("pk", s("a"))
        .key("sk", n(9))
        .send()
        .await
        .unwrap();

    // Scan of an index: only the items it holds.
    let scanned = c
        .scan()
        .table_name("Orders")
        .index_name("byCustomer")
        .send()
        .await
        .unwrap();
    assert_eq!(scanned.count(), 3);
    region.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_reads_and_writes_are_checked_as_dynamodb_checks_them() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_orders(c).await;
    put(c, "Orders", order("a", 1, "open", 1, "carol", 1)).await;

    // A wrong type for an index key: refused, nothing written.
    let bad = c
        .put_item()
        .table_name("Orders")
        .set_item(Some(item([("pk", s("x")), ("sk", n(1)), ("status", n(5))])))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &bad,
        "ValidationException",
        "One or more parameter values were invalid: Type mismatch for Index Key status Expected: S Actual: N IndexName: byStatus",
    );
    let empty = c
        .update_item()
        .table_name("Orders")
        .key("pk", s("a"))
        .key("sk", n(1))
        .update_expression("SET customer = :e")
        .expression_attribute_values(":e", s(""))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&empty), "ValidationException");
    assert!(
        error_message(&empty).contains("IndexName: byCustomer, IndexKey: customer"),
        "{}",
        error_message(&empty)
    );
    let got = c
        .get_item()
        .table_name("Orders")
        .key("pk", s("x"))
        .key("sk", n(1))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_none());
    assert_eq!(ids(&query_status(c, "open").await), ["a/1"]);

    let query = || {
        c.query()
            .table_name("Orders")
            .key_condition_expression("customer = :c")
            .expression_attribute_values(":c", s("carol"))
    };
    let cases = [
        (
            query().index_name("nope").send().await.unwrap_err(),
            "The table does not have the specified index: nope",
        ),
        (
            query()
                .index_name("byCustomer")
                .consistent_read(true)
                .send()
                .await
                .unwrap_err(),
            "Consistent reads are not supported on global secondary indexes",
        ),
        (
            query()
                .index_name("byCustomer")
                .select(Select::AllAttributes)
                .send()
                .await
                .unwrap_err(),
            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index byCustomer because its projection type is not ALL",
        ),
        (
            query()
                .index_name("byCustomer")
                .projection_expression("note")
                .send()
                .await
                .unwrap_err(),
            "One or more parameter values were invalid: Global secondary index byCustomer does not project the attribute: note",
        ),
        (
            query().select(Select::AllProjectedAttributes).send().await.unwrap_err(),
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        ),
    ];
    for (error, message) in cases {
        assert_error(&error, "ValidationException", message);
    }
    region.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_table_validates_indexes_with_dynamodbs_messages() {
    let region = TestRegion::start().await;
    let base = serde_json::json!({
        "TableName": "Val",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    });
    let index = |name: &str, key: &str| {
        serde_json::json!({
            "IndexName": name,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        })
    };
    let with = |member: &str, value: serde_json::Value| {
        let mut body = base.clone();
        body[member] = value;
        body
    };
    let cases = [
        (
            base.clone(),
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ),
        (
            with("GlobalSecondaryIndexes", serde_json::json!([index("gi", "g")])),
            "1 validation error detected: Value 'gi' at 'globalSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must have length less than or equal to 255, Member must have length greater than or equal to 3",
        ),
        (
            with("GlobalSecondaryIndexes", serde_json::json!([index("gsi", "missing")])),
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [missing], AttributeDefinitions: [pk, g]",
        ),
        (
            with(
                "GlobalSecondaryIndexes",
                serde_json::json!([index("gsi", "g"), index("gsi", "g")]),
            ),
            "One or more parameter values were invalid: Duplicate index name: gsi",
        ),
        (
            with("GlobalSecondaryIndexes", serde_json::json!([index("gsi", "pk")])),
            "One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [pk, g], keys used: [pk]",
        ),
        (
            with("LocalSecondaryIndexes", serde_json::json!([index("lsi", "pk")])),
            "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
        ),
        (
            with("GlobalSecondaryIndexes", serde_json::json!([])),
            "One or more parameter values were invalid: List of GlobalSecondaryIndexes is empty",
        ),
        (
            with(
                "GlobalSecondaryIndexes",
                serde_json::json!([{
                    "IndexName": "gsi",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL", "NonKeyAttributes": ["x"]},
                }]),
            ),
            "One or more parameter values were invalid: ProjectionType is ALL, but NonKeyAttributes is specified",
        ),
        (
            with(
                "GlobalSecondaryIndexes",
                serde_json::json!([{
                    "IndexName": "gsi",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                    "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                }]),
            ),
            "One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: gsi when BillingMode is PAY_PER_REQUEST",
        ),
        (
            with(
                "GlobalSecondaryIndexes",
                serde_json::Value::Array((0..21).map(|i| index(&format!("gsi{i}"), "g")).collect()),
            ),
            "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20",
        ),
    ];
    for (body, message) in cases {
        let response = region.raw_json("CreateTable", body.clone()).await;
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.error_type(), "ValidationException", "{body}");
        assert_eq!(response.message(), message, "{body}");
    }
    // LSI rules on a table with a sort key.
    let mut composite = base.clone();
    composite["KeySchema"] = serde_json::json!([
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "g", "KeyType": "RANGE"},
    ]);
    composite["AttributeDefinitions"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"AttributeName": "l", "AttributeType": "N"}));
    composite["LocalSecondaryIndexes"] = serde_json::json!([{
        "IndexName": "lsi",
        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }]);
    let response = region.raw_json("CreateTable", composite.clone()).await;
    assert_eq!(
        response.message(),
        "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: lsi. index hash key: g, table hash key: pk"
    );
    composite["LocalSecondaryIndexes"][0]["KeySchema"][0]["AttributeName"] = serde_json::json!("pk");
    let response = region.raw_json("CreateTable", composite).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(
        response.body["TableDescription"]["LocalSecondaryIndexes"][0]["IndexName"],
        "lsi"
    );
    region.shutdown().await;
}

/// A GlobalSecondaryIndexUpdates entry deleting index `name`.
fn delete_index(name: &str) -> GlobalSecondaryIndexUpdate {
    let action = aws_sdk_dynamodb::types::DeleteGlobalSecondaryIndexAction::builder()
        .index_name(name)
        .build()
        .unwrap();
    GlobalSecondaryIndexUpdate::builder().delete(action).build()
}

/// Every entry of index `name` (as a scan of it returns them, keyed by
/// table key) against the index recomputed from a scan of the table.
async fn check_index_matches_table(c: &Client, table: &str, name: &str, key: &str) -> usize {
    let scan_all = |index: Option<&str>| {
        let index = index.map(str::to_string);
        async move {
            let mut items = Vec::new();
            let mut start = None;
            loop {
                let out = c
                    .scan()
                    .table_name(table)
                    .set_index_name(index.clone())
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .expect("scan");
                items.extend(out.items().iter().cloned());
                start = out.last_evaluated_key().cloned();
                if start.is_none() {
                    return items;
                }
            }
        }
    };
    let by_key = |items: Vec<Item>| -> BTreeMap<String, Item> {
        items
            .into_iter()
            .map(|i| (i["pk"].as_s().unwrap().clone(), i))
            .collect()
    };
    let expected: BTreeMap<String, Item> = by_key(scan_all(None).await)
        .into_iter()
        .filter(|(_, i)| i.contains_key(key))
        .collect();
    let actual_items = scan_all(Some(name)).await;
    let count = actual_items.len();
    let actual = by_key(actual_items);
    assert_eq!(count, actual.len(), "no entry twice in {name}");
    assert_eq!(actual.len(), expected.len(), "entries of {name}");
    assert_eq!(actual, expected, "every entry of {name} is its item, current");
    count
}

/// UpdateTable creating GSI `byG` (hash key `g`, string; ALL projection)
/// on `table`, while the table is live.
async fn create_gsi_by_g(c: &Client, table: &str) -> aws_sdk_dynamodb::operation::update_table::UpdateTableOutput {
    create_gsi(c, table, "byG", "g").await.expect("create the GSI")
}

/// UpdateTable creating GSI `name` keyed by string attribute `key`, ALL
/// projected.
async fn create_gsi(
    c: &Client,
    table: &str,
    name: &str,
    key: &str,
) -> Result<
    aws_sdk_dynamodb::operation::update_table::UpdateTableOutput,
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_table::UpdateTableError>,
> {
    c.update_table()
        .table_name(table)
        .attribute_definitions(definition(key, ScalarAttributeType::S))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                        .index_name(name)
                        .set_key_schema(Some(keys(key, None)))
                        .projection(projection(ProjectionType::All, &[]))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
}

/// Puts `items` into `table`, 25 to a BatchWriteItem.
async fn batch_put(c: &Client, table: &str, items: impl Iterator<Item = Item>) {
    let items: Vec<_> = items.collect();
    for chunk in items.chunks(25) {
        let writes = chunk
            .iter()
            .map(|it| {
                let put = aws_sdk_dynamodb::types::PutRequest::builder()
                    .set_item(Some(it.clone()))
                    .build()
                    .unwrap();
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(put)
                    .build()
            })
            .collect::<Vec<_>>();
        c.batch_write_item().request_items(table, writes).send().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gsi_created_on_a_live_table_is_backfilled_while_writers_run() {
    let region = TestRegion::start().await;
    let c = region.client.clone();
    common::create_table(&c, "Live", common::Keys::Hash("pk", ScalarAttributeType::S)).await;
    let total = 6_000;
    let items = (0..total).map(|i| {
        let mut it = item([("pk", s(format!("k{i:05}"))), ("v", n(i))]);
        if i % 3 != 0 {
            it.insert("g".into(), s(format!("g{}", i % 7)));
        }
        it
    });
    batch_put(&c, "Live", items).await;

    // Writers that put, update (changing and removing the index key) and
    // delete while the index is created and backfilled.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..2u64 {
        let (c, stop) = (c.clone(), stop.clone());
        writers.spawn(async move {
            let mut n_ops = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n_ops < 300 {
                let k = format!("k{:05}", (n_ops * 7919 + w * 131) % (total as u64 + 500));
                let op = (n_ops + w) % 4;
                let result = match op {
                    0 => c
                        .put_item()
                        .table_name("Live")
                        .item("pk", s(&k))
                        .item("g", s(format!("g{}", n_ops % 5)))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}")),
                    1 => c
                        .update_item()
                        .table_name("Live")
                        .key("pk", s(&k))
                        .update_expression("SET g = :g")
                        .expression_attribute_values(":g", s(format!("u{}", n_ops % 3)))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}")),
                    2 => c
                        .update_item()
                        .table_name("Live")
                        .key("pk", s(&k))
                        .update_expression("REMOVE g")
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}")),
                    _ => c
                        .delete_item()
                        .table_name("Live")
                        .key("pk", s(&k))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}")),
                };
                result.expect("a write during the backfill");
                n_ops += 1;
            }
            n_ops
        });
    }
    let created = create_gsi_by_g(&c, "Live").await;
    let description = created.table_description().unwrap().global_secondary_indexes()[0].clone();
    assert_eq!(description.index_status().map(|s| s.as_str()), Some("CREATING"));
    assert_eq!(description.backfilling(), Some(true));
    // A second index created meanwhile is refused.
    if let Err(error) = create_gsi(&c, "Live", "byH", "h").await {
        assert_eq!(error_code(&error), "LimitExceededException");
    }

    wait_active(&c, "Live").await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while let Some(done) = writers.join_next().await {
        assert!(done.unwrap() >= 300);
    }
    let entries = check_index_matches_table(&c, "Live", "byG", "g").await;
    assert!(entries > 3_000, "{entries} entries");

    // The index survives a restart, and is deleted with its entries.
    let region = region.restart().await;
    let c = region.client.clone();
    check_index_matches_table(&c, "Live", "byG", "g").await;
    let after = delete_by_g(&c, "Live").await;
    let defined: Vec<&str> = after
        .table()
        .unwrap()
        .attribute_definitions()
        .iter()
        .map(|d| d.attribute_name())
        .collect();
    assert_eq!(defined, ["pk"]);
    region.shutdown().await;
}

/// Deletes GSI `byG` of `table`: the response shows it DELETING, then it
/// is gone from the table's description (returned) and from queries.
async fn delete_by_g(c: &Client, table: &str) -> aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput {
    let deleted = c
        .update_table()
        .table_name(table)
        .global_secondary_index_updates(delete_index("byG"))
        .send()
        .await
        .expect("delete the GSI");
    let listed = deleted.table_description().unwrap().global_secondary_indexes();
    assert_eq!(listed[0].index_status().map(|s| s.as_str()), Some("DELETING"));
    let after = c.describe_table().table_name(table).send().await.unwrap();
    assert!(after.table().unwrap().global_secondary_indexes().is_empty());
    let gone = c
        .query()
        .table_name(table)
        .index_name("byG")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s("g1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_message(&gone), "The table does not have the specified index: byG");
    after
}

/// A GSI deleted while it is being backfilled (as DynamoDB allows while
/// `Backfilling` is true) is gone at once, and created again it is
/// backfilled from the start into an index equal to the table's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gsi_deleted_while_backfilling_is_gone_and_can_be_created_again() {
    let region = TestRegion::start().await;
    let c = region.client.clone();
    common::create_table(&c, "Cancel", common::Keys::Hash("pk", ScalarAttributeType::S)).await;
    let total = 3_000;
    let items = (0..total).map(|i| item([("pk", s(format!("k{i:05}"))), ("g", s(format!("g{}", i % 7)))]));
    batch_put(&c, "Cancel", items).await;
    let created = create_gsi_by_g(&c, "Cancel").await;
    let description = created.table_description().unwrap().global_secondary_indexes()[0].clone();
    assert_eq!(description.backfilling(), Some(true));
    delete_by_g(&c, "Cancel").await;

    create_gsi_by_g(&c, "Cancel").await;
    wait_active(&c, "Cancel").await;
    assert_eq!(
        check_index_matches_table(&c, "Cancel", "byG", "g").await,
        total as usize
    );
    region.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_pages_continue_from_last_evaluated_key() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_orders(c).await;
    for i in 0..57 {
        put(c, "Orders", order(&format!("p{}", i % 5), i, "open", i % 4, "carol", i)).await;
    }
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let out = c
            .query()
            .table_name("Orders")
            .index_name("byStatus")
            .key_condition_expression("#s = :s AND #a BETWEEN :lo AND :hi")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#a", "at")
            .expression_attribute_values(":s", s("open"))
            .expression_attribute_values(":lo", n(1))
            .expression_attribute_values(":hi", n(2))
            .limit(4)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        seen.extend(
            out.items()
                .iter()
                .map(|i| (i["at"].as_n().unwrap().clone(), ids(std::slice::from_ref(i))[0].clone())),
        );
        start = out.last_evaluated_key().cloned();
        if let Some(key) = &start {
            let mut names: Vec<&String> = key.keys().collect();
            names.sort();
            assert_eq!(names, ["at", "pk", "sk", "status"]);
        } else {
            break;
        }
    }
    let mut expected: Vec<(i64, (String, i64))> = (0..57)
        .filter(|i| (1..=2).contains(&(i % 4)))
        .map(|i| (i % 4, (format!("p{}", i % 5), i)))
        .collect();
    expected.sort();
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(at, (pk, sk))| (at.to_string(), format!("{pk}/{sk}")))
        .collect();
    assert_eq!(seen, expected);

    // Parallel scan of an index: the segments together hold every entry once.
    let mut all = Vec::new();
    for segment in 0..3 {
        let out = c
            .scan()
            .table_name("Orders")
            .index_name("byStatus")
            .segment(segment)
            .total_segments(3)
            .send()
            .await
            .unwrap();
        all.extend(ids(out.items()));
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 57);
    region.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_deletes_and_restores_keep_indexes_right() {
    let mut config = meridian::config::NodeConfig::default();
    config.ttl.sweep_interval_ms = 50;
    let region = TestRegion::start_with(config).await;
    let c = &region.client;
    create_orders(c).await;
    common::pitr::enable_pitr(c, "Orders").await;
    c.update_time_to_live()
        .table_name("Orders")
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .attribute_name("exp")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut expired = order("t", 1, "open", 1, "carol", 1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    expired.insert("exp".into(), n(now - 120));
    put(c, "Orders", expired).await;
    put(c, "Orders", order("t", 2, "open", 2, "carol", 2)).await;
    // The sweeper's delete removes the index entries with the item.
    wait_for("the expired order to leave byStatus", || async {
        (ids(&query_status(c, "open").await) == ["t/2"]).then_some(())
    })
    .await;

    let at = common::pitr::mark().await;
    put(c, "Orders", order("t", 3, "open", 3, "carol", 3)).await;
    c.delete_item()
        .table_name("Orders")
        .key("pk", s("t"))
        .key("sk", n(2))
        .send()
        .await
        .unwrap();
    common::pitr::wait_restorable(c, "Orders", at).await;
    c.restore_table_to_point_in_time()
        .source_table_name("Orders")
        .target_table_name("OrdersThen")
        .restore_date_time(aws_sdk_dynamodb::primitives::DateTime::from_millis(at as i64))
        .send()
        .await
        .expect("restore to the mark");
    common::pitr::active_items(c, "OrdersThen").await;
    let restored = c
        .query()
        .table_name("OrdersThen")
        .index_name("byStatus")
        .key_condition_expression("#s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s("open"))
        .send()
        .await
        .unwrap();
    assert_eq!(ids(restored.items()), ["t/2"]);

    // A backup restored without its GSIs (an empty override) keeps the LSI.
    let backup = c
        .create_backup()
        .table_name("Orders")
        .backup_name("orders-backup")
        .send()
        .await
        .unwrap();
    let arn = backup.backup_details().unwrap().backup_arn().to_string();
    wait_for("the backup to become AVAILABLE", || async {
        let described = c.describe_backup().backup_arn(&arn).send().await.ok()?;
        let status = described.backup_description()?.backup_details()?.backup_status();
        (*status == aws_sdk_dynamodb::types::BackupStatus::Available).then_some(())
    })
    .await;
    let out = c
        .restore_table_from_backup()
        .backup_arn(arn)
        .target_table_name("OrdersNoGsi")
        .set_global_secondary_index_override(Some(Vec::new()))
        .send()
        .await
        .expect("restore without GSIs");
    let description = out.table_description().unwrap();
    assert!(description.global_secondary_indexes().is_empty());
    assert_eq!(description.local_secondary_indexes().len(), 1);
    common::pitr::active_items(c, "OrdersNoGsi").await;
    let lsi = c
        .query()
        .table_name("OrdersNoGsi")
        .index_name("byTotal")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("t"))
        .send()
        .await
        .unwrap();
    assert_eq!(ids(lsi.items()), ["t/3"]);
    region.shutdown().await;
}

/// Every item of `table` (all pages of a scan, of the table or of `index`),
/// keyed "pk/sk".
async fn scan_keyed(c: &Client, table: &str, index: Option<&str>) -> BTreeMap<String, Item> {
    let mut out = BTreeMap::new();
    let mut start = None;
    loop {
        let page = c
            .scan()
            .table_name(table)
            .set_index_name(index.map(str::to_string))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let id = ids(std::slice::from_ref(item)).remove(0);
            assert!(out.insert(id, item.clone()).is_none(), "an entry twice in {index:?}");
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

/// An index of "Orders" as the check sees it: name, table and index key
/// attributes, and the attributes projected besides (`None`: all).
type IndexShape<'a> = (&'a str, &'a [&'a str], Option<&'a [&'a str]>);

/// Checks the three indexes of "Orders" against the ones recomputed from
/// its items: the same entries, each with its projection of the current
/// item.
async fn check_orders_indexes(c: &Client) -> usize {
    let table = scan_keyed(c, "Orders", None).await;
    let project = |item: &Item, keys: &[&str], include: Option<&[&str]>| -> Item {
        item.iter()
            .filter(|(name, _)| keys.contains(&name.as_str()) || include.is_none_or(|i| i.contains(&name.as_str())))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let cases: [IndexShape; 3] = [
        ("byStatus", &["pk", "sk", "status", "at"], None),
        ("byCustomer", &["pk", "sk", "customer"], Some(&[])),
        ("byTotal", &["pk", "sk", "total"], Some(&["note"])),
    ];
    let mut entries = 0;
    for (index, keys, include) in cases {
        let index_keys = &keys[2..];
        let expected: BTreeMap<String, Item> = table
            .iter()
            .filter(|(_, item)| index_keys.iter().all(|k| item.contains_key(*k)))
            .map(|(id, item)| (id.clone(), project(item, keys, include)))
            .collect();
        let actual = scan_keyed(c, "Orders", Some(index)).await;
        assert_eq!(actual, expected, "index {index} against the table");
        entries += actual.len();
    }
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sigkill_under_load_every_index_equals_its_table() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let server = common::ServeProcess::start(dir.path()).await;
    create_orders(&server.client).await;
    let acked = std::sync::Arc::new(AtomicUsize::new(0));
    let kill = common::kill::Kill::default();
    let mut writers = Vec::new();
    for writer in 0..6u64 {
        let (c, acked, kill) = (server.client.clone(), acked.clone(), kill.clone());
        writers.push(tokio::spawn(async move {
            for i in 0u64.. {
                let k = (i * 13 + writer * 7) % 97;
                let (pk, sk) = (format!("p{}", k % 9), k as i64);
                let result = match (i + writer) % 3 {
                    0 => c
                        .put_item()
                        .table_name("Orders")
                        .set_item(Some(order(
                            &pk,
                            sk,
                            ["open", "shipped"][(i % 2) as usize],
                            i as i64,
                            "carol",
                            k as i64,
                        )))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| {
                            (
                                format!("{e:?}"),
                                kill.expect_caused_by_kill(&format!("writer {writer}"), &e),
                            )
                        }),
                    1 => c
                        .update_item()
                        .table_name("Orders")
                        .key("pk", s(&pk))
                        .key("sk", n(sk))
                        .update_expression("SET customer = :c, note = :n REMOVE #s")
                        .expression_attribute_names("#s", "status")
                        .expression_attribute_values(":c", s(format!("c{}", i % 4)))
                        .expression_attribute_values(":n", s(format!("n{i}")))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| {
                            (
                                format!("{e:?}"),
                                kill.expect_caused_by_kill(&format!("writer {writer}"), &e),
                            )
                        }),
                    _ => c
                        .delete_item()
                        .table_name("Orders")
                        .key("pk", s(&pk))
                        .key("sk", n(sk))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| {
                            (
                                format!("{e:?}"),
                                kill.expect_caused_by_kill(&format!("writer {writer}"), &e),
                            )
                        }),
                };
                if result.is_err() {
                    return i;
                }
                acked.fetch_add(1, Ordering::Relaxed);
            }
            unreachable!("a writer ends at the kill")
        }));
    }
    wait_for("acknowledged writes", || {
        let acked = acked.clone();
        async move { (acked.load(Ordering::Relaxed) >= 600).then_some(()) }
    })
    .await;
    kill.begin();
    server.kill().await;
    for writer in writers {
        writer.await.unwrap();
    }
    let server = common::ServeProcess::start(dir.path()).await;
    let entries = check_orders_indexes(&server.client).await;
    assert!(entries > 0);
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_collection_past_its_limit_refuses_writes_that_grow_it() {
    let mut config = meridian::config::NodeConfig::default();
    // 4 KB instead of 10 GB, to rehearse hitting it.
    config.limits.item_collection_bytes = 4096;
    let region = TestRegion::start_with(config).await;
    let c = region.client.clone();
    create_orders(&c).await;
    let big = |sk: i64, partition: &str| {
        let mut item = order(partition, sk, "open", sk, "carol", sk);
        item.insert("filler".into(), s("x".repeat(900)));
        item
    };
    // Each item, with its LSI entry, takes about 1 KB of the collection.
    let mut written = 0;
    let refused = loop {
        match c
            .put_item()
            .table_name("Orders")
            .set_item(Some(big(written, "full")))
            .send()
            .await
        {
            Ok(_) => written += 1,
            Err(error) => break error,
        }
        assert!(written < 10, "the limit never refused a write");
    };
    assert_error(
        &refused,
        "ItemCollectionSizeLimitExceededException",
        "Item collection size limit exceeded",
    );
    assert!(written >= 2, "{written} items fit");
    // Nothing of the refused write is there; other partitions and writes
    // that do not grow the collection still go through.
    let got = c
        .get_item()
        .table_name("Orders")
        .key("pk", s("full"))
        .key("sk", n(written))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_none());
    put(&c, "Orders", big(0, "other")).await;
    c.delete_item()
        .table_name("Orders")
        .key("pk", s("full"))
        .key("sk", n(0))
        .send()
        .await
        .unwrap();
    // The room one item freed takes one item again, not two: the actions
    // of a transaction count together.
    let put_action = |sk: i64| {
        aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(
                aws_sdk_dynamodb::types::Put::builder()
                    .table_name("Orders")
                    .set_item(Some(big(sk, "full")))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let canceled = c
        .transact_write_items()
        .transact_items(put_action(100))
        .transact_items(put_action(101))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&canceled),
        "Transaction cancelled, please refer cancellation reasons for specific reasons \
         [None, ItemCollectionSizeLimitExceeded]"
    );
    c.transact_write_items()
        .transact_items(put_action(100))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_write_item_reports_the_units_of_every_index_it_wrote() {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let region = TestRegion::start().await;
    let c = region.client.clone();
    create_orders(&c).await;
    let put = |item: Item| {
        WriteRequest::builder()
            .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
            .build()
    };
    let mut sparse = order("b", 2, "open", 2, "dan", 2);
    sparse.remove("customer");
    let out = c
        .batch_write_item()
        .request_items("Orders", vec![put(order("a", 1, "open", 1, "carol", 1)), put(sparse)])
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let consumed = &out.consumed_capacity()[0];
    // Two items of under 1 KB: 2 units on the table, 2 in byStatus and in
    // byTotal, 1 in byCustomer (the second item has no customer).
    assert_eq!(consumed.table().and_then(|t| t.capacity_units()), Some(2.0));
    let gsis = consumed.global_secondary_indexes().unwrap();
    assert_eq!(gsis["byStatus"].capacity_units(), Some(2.0));
    assert_eq!(gsis["byCustomer"].capacity_units(), Some(1.0));
    assert_eq!(
        consumed.local_secondary_indexes().unwrap()["byTotal"].capacity_units(),
        Some(2.0)
    );
    assert_eq!(consumed.capacity_units(), Some(7.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_reports_the_item_collections_it_wrote() {
    use aws_sdk_dynamodb::types::{Put, ReturnItemCollectionMetrics, TransactWriteItem};
    let region = TestRegion::start().await;
    let c = region.client.clone();
    create_orders(&c).await;
    let put = |item: Item| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name("Orders")
                    .set_item(Some(item))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let out = c
        .transact_write_items()
        .transact_items(put(order("a", 1, "open", 1, "carol", 1)))
        .transact_items(put(order("b", 1, "open", 1, "carol", 1)))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .unwrap();
    let metrics = &out.item_collection_metrics().unwrap()["Orders"];
    let keys: Vec<&AttributeValue> = metrics
        .iter()
        .map(|m| &m.item_collection_key().unwrap()["pk"])
        .collect();
    assert_eq!(keys, [&s("a"), &s("b")]);
    assert!(metrics.iter().all(|m| m.size_estimate_range_gb() == [0.0, 1.0]));
}

/// The GSI "byG" of `table`: its status and item count, as DescribeTable
/// gives them.
async fn gsi_state(c: &Client, table: &str) -> Option<(String, i64)> {
    let out = c.describe_table().table_name(table).send().await.ok()?;
    let index = out.table()?.global_secondary_indexes().first()?.clone();
    Some((index.index_status()?.as_str().to_string(), index.item_count()?))
}

/// Waits for the first GSI of `table` to be ACTIVE.
async fn wait_active(c: &Client, table: &str) {
    wait_for("the GSI to become ACTIVE", || async move {
        gsi_state(c, table)
            .await
            .filter(|(status, _)| status == "ACTIVE")
            .map(|_| ())
    })
    .await;
}

/// A SIGKILL in the middle of a backfill, while writers put, update and
/// delete: the restarted region redoes its write-ahead log (the backfill's
/// entries, logged as copies of their items, and its cursor with them),
/// the backfill completes from its cursor, and the index equals the index
/// recomputed from the table, its ItemCount included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_backfill_loses_no_index_entry() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let server = common::ServeProcess::start(dir.path()).await;
    let c = server.client.clone();
    common::create_table(&c, "Killed", common::Keys::Hash("pk", ScalarAttributeType::S)).await;
    let total = 20_000;
    let items = (0..total).map(|i| item([("pk", s(format!("k{i:05}"))), ("g", s(format!("g{}", i % 11)))]));
    batch_put(&c, "Killed", items).await;
    let acked = std::sync::Arc::new(AtomicUsize::new(0));
    let kill = common::kill::Kill::default();
    let mut writers = Vec::new();
    for writer in 0..2u64 {
        let (c, acked, kill) = (c.clone(), acked.clone(), kill.clone());
        writers.push(tokio::spawn(async move {
            for i in 0u64.. {
                let k = format!("k{:05}", (i * 7919 + writer * 131) % total as u64);
                let result = match (i + writer) % 3 {
                    0 => c
                        .put_item()
                        .table_name("Killed")
                        .item("pk", s(&k))
                        .item("g", s(format!("p{}", i % 5)))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| kill.expect_caused_by_kill(&format!("writer {writer}"), &e)),
                    1 => c
                        .update_item()
                        .table_name("Killed")
                        .key("pk", s(&k))
                        .update_expression("REMOVE g")
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| kill.expect_caused_by_kill(&format!("writer {writer}"), &e)),
                    _ => c
                        .delete_item()
                        .table_name("Killed")
                        .key("pk", s(&k))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| kill.expect_caused_by_kill(&format!("writer {writer}"), &e)),
                };
                if result.is_err() {
                    return;
                }
                acked.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    create_gsi_by_g(&c, "Killed").await;
    // Killed once the backfill has stored entries, in its middle: 20,000
    // items take it many batches.
    let (status, _) = wait_for("backfilled entries", || {
        let c = c.clone();
        async move { gsi_state(&c, "Killed").await.filter(|(_, count)| *count > 0) }
    })
    .await;
    assert_eq!(status, "CREATING", "the kill falls in the backfill");
    kill.begin();
    server.kill().await;
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(acked.load(Ordering::Relaxed) > 0);

    let server = common::ServeProcess::start(dir.path()).await;
    let c = server.client.clone();
    wait_active(&c, "Killed").await;
    let entries = check_index_matches_table(&c, "Killed", "byG", "g").await;
    assert!(entries > 0);
    let (_, count) = gsi_state(&c, "Killed").await.unwrap();
    assert_eq!(count, entries as i64, "the index's ItemCount");
    server.kill().await;
}

/// Deleting an index the table does not have is DynamoDB's
/// ResourceNotFoundException ("a nonexistent table or index"), not a
/// validation error (as the conformance suite expects).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_unknown_index_is_resource_not_found() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_orders(c).await;
    let err = c
        .update_table()
        .table_name("Orders")
        .global_secondary_index_updates(delete_index("doesNotExist"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &err,
        "ResourceNotFoundException",
        "One or more parameter values were invalid: Requested index not found: doesNotExist",
    );
    region.shutdown().await;
}

/// UpdateTable creating GSI `name` keyed on `hash` (and `range`), KEYS_ONLY,
/// with exactly `definitions` as the request's AttributeDefinitions.
async fn add_gsi(
    c: &Client,
    table: &str,
    definitions: &[(&str, ScalarAttributeType)],
    name: &str,
    hash: &str,
    range: Option<&str>,
) -> Result<aws_sdk_dynamodb::operation::update_table::UpdateTableOutput, String> {
    let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
        .index_name(name)
        .set_key_schema(Some(keys(hash, range)))
        .projection(projection(ProjectionType::KeysOnly, &[]))
        .build()
        .unwrap();
    let defined = definitions.iter().map(|(n, t)| definition(n, t.clone())).collect();
    c.update_table()
        .table_name(table)
        .set_attribute_definitions(Some(defined).filter(|d: &Vec<_>| !d.is_empty()))
        .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
        .send()
        .await
        .map_err(|e| format!("{}: {}", error_code(&e), error_message(&e)))
}

/// A table's AttributeDefinitions as (name, type), sorted by name.
fn sorted_definitions(defined: &[AttributeDefinition]) -> Vec<(String, String)> {
    let mut out: Vec<_> = defined
        .iter()
        .map(|d| (d.attribute_name().to_string(), d.attribute_type().as_str().to_string()))
        .collect();
    out.sort();
    out
}

async fn wait_indexes_active(c: &Client, table: &str) -> Vec<AttributeDefinition> {
    wait_for("every index of the table ACTIVE", || async move {
        let out = c.describe_table().table_name(table).send().await.ok()?;
        let t = out.table()?;
        let active = t
            .global_secondary_indexes()
            .iter()
            .all(|i| i.index_status().map(|s| s.as_str()) == Some("ACTIVE"));
        active.then(|| t.attribute_definitions().to_vec())
    })
    .await
}

/// How DynamoDB reconciles UpdateTable's AttributeDefinitions when a GSI
/// is added, as the conformance suite pins it against AWS (tier2
/// updateTable/gsi, eu-west-2, 2026-07-12): a redeclared key keeps its
/// stored type, an unused definition is dropped, adds merge into the
/// stored union, a deleted index takes only its orphaned keys with it, and
/// a new index's keys must be in the request's own definitions, even ones
/// the table already has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gsi_adds_reconcile_attribute_definitions_as_dynamodb_does() {
    use ScalarAttributeType::{N, S};
    let region = TestRegion::start().await;
    let c = &region.client;
    common::create_table(c, "Recon", common::Keys::HashRange("pk", S, "sk", S)).await;
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
    };

    // pk (stored S) redeclared N, and `unused` keys nothing: accepted, pk
    // stays S and `unused` is not stored, already in the answer.
    let defs = [("pk", N), ("gsiPk", S), ("unused", S)];
    let added = add_gsi(c, "Recon", &defs, "gsiRedecl", "gsiPk", None).await.unwrap();
    let answered = added.table_description().unwrap().attribute_definitions();
    let expected = pairs(&[("gsiPk", "S"), ("pk", "S"), ("sk", "S")]);
    assert_eq!(sorted_definitions(answered), expected);
    assert_eq!(sorted_definitions(&wait_indexes_active(c, "Recon").await), expected);
    put(c, "Recon", item([("pk", s("redecl")), ("sk", s("1"))])).await;

    // A second add declaring only its own attribute merges into the union.
    add_gsi(c, "Recon", &[("g2", N)], "gsi2", "g2", None).await.unwrap();
    let expected = pairs(&[("g2", "N"), ("gsiPk", "S"), ("pk", "S"), ("sk", "S")]);
    assert_eq!(sorted_definitions(&wait_indexes_active(c, "Recon").await), expected);

    // Keys the table defines but the request does not: refused.
    let refused = add_gsi(c, "Recon", &[("g3", S)], "gsiSharedPk", "pk", Some("g3")).await;
    assert_eq!(
        refused.unwrap_err(),
        "ValidationException: One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [pk, g3], AttributeDefinitions: [g3]"
    );
    let refused = add_gsi(c, "Recon", &[], "gsiOnSk", "sk", None).await;
    assert_eq!(
        refused.unwrap_err(),
        "ValidationException: One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [sk], AttributeDefinitions: []"
    );

    // Deleting an index prunes its orphaned key attribute only.
    c.update_table()
        .table_name("Recon")
        .global_secondary_index_updates(delete_index("gsiRedecl"))
        .send()
        .await
        .unwrap();
    let expected = pairs(&[("g2", "N"), ("pk", "S"), ("sk", "S")]);
    assert_eq!(sorted_definitions(&wait_indexes_active(c, "Recon").await), expected);
    let got = c
        .get_item()
        .table_name("Recon")
        .key("pk", s("redecl"))
        .key("sk", s("1"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(got.item().is_some());
    region.shutdown().await;
}
