//! Query and Scan through the AWS SDK: pagination over thousands of items by
//! Limit and by the 1 MB page limit, reverse order, Select, parallel scan
//! segments, sort-key ordering of numbers, binaries and strings, and read
//! capacity rounding.

mod common;

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, PutRequest, ReturnConsumedCapacity, ScalarAttributeType, Select, WriteRequest,
};
use common::{Keys, TestRegion, create_table, item, n, s};

type Item = HashMap<String, AttributeValue>;

/// Writes `items` with BatchWriteItem, 25 per request, 4 requests at a time.
async fn load(c: &Client, table: &str, items: Vec<Item>) {
    let batches: Vec<Vec<WriteRequest>> = items
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .map(|i| {
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(i.clone())).build().unwrap())
                        .build()
                })
                .collect()
        })
        .collect();
    for group in batches.chunks(4) {
        let mut sends = tokio::task::JoinSet::new();
        for batch in group {
            sends.spawn(c.batch_write_item().request_items(table, batch.clone()).send());
        }
        while let Some(out) = sends.join_next().await {
            let out = out.expect("the batch task ran").expect("BatchWriteItem succeeded");
            assert!(out.unprocessed_items().unwrap_or(&HashMap::new()).is_empty());
        }
    }
}

fn sk_of(item: &Item) -> i64 {
    item["sk"].as_n().unwrap().parse().unwrap()
}

/// 2,000 items in partition "hot" plus 100 partitions of 10: 3,000 items.
async fn big_table(region: &TestRegion) {
    create_table(
        &region.client,
        "Big",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    let mut items: Vec<Item> = (0..2000)
        .map(|i| item([("pk", s("hot")), ("sk", n(i)), ("v", s(format!("value {i}")))]))
        .collect();
    for p in 0..100 {
        items.extend((0..10).map(|i| item([("pk", s(format!("p{p}"))), ("sk", n(i))])));
    }
    load(&region.client, "Big", items).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_and_scan_paginate_through_thousands_of_items() {
    let region = TestRegion::start().await;
    let c = &region.client;
    big_table(&region).await;

    // Query with Limit, forwards then backwards: each item once, in order.
    for forward in [true, false] {
        let mut seen = Vec::new();
        let mut start = None;
        let mut pages = 0;
        loop {
            let page = c
                .query()
                .table_name("Big")
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s("hot"))
                .scan_index_forward(forward)
                .limit(300)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            pages += 1;
            assert!(page.count() <= 300);
            assert_eq!(page.count(), page.scanned_count());
            seen.extend(page.items().iter().map(sk_of));
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        let mut expected: Vec<i64> = (0..2000).collect();
        if !forward {
            expected.reverse();
        }
        assert_eq!(seen, expected, "forward: {forward}");
        // 2000 / 300 = 6 full pages and a partial one.
        assert_eq!(pages, 7);
    }

    // The SDK paginator follows LastEvaluatedKey the same way.
    let items: Vec<Item> = c
        .query()
        .table_name("Big")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p42"))
        .limit(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(items.iter().map(sk_of).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());

    // Scan with Limit: every item exactly once, sort keys in order per partition.
    let mut seen: HashMap<String, Vec<i64>> = HashMap::new();
    let mut start = None;
    let mut total = 0;
    loop {
        let page = c
            .scan()
            .table_name("Big")
            .limit(700)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            seen.entry(item["pk"].as_s().unwrap().clone())
                .or_default()
                .push(sk_of(item));
            total += 1;
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert_eq!(total, 3000);
    assert_eq!(seen.len(), 101);
    assert_eq!(seen["hot"], (0..2000).collect::<Vec<_>>());
    for p in 0..100 {
        assert_eq!(seen[&format!("p{p}")], (0..10).collect::<Vec<_>>());
    }
    region.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_scan_segments_partition_the_table() {
    let region = TestRegion::start().await;
    let c = &region.client;
    big_table(&region).await;
    let key = |i: &Item| (i["pk"].as_s().unwrap().clone(), sk_of(i));
    let full: BTreeSet<(String, i64)> = c
        .scan()
        .table_name("Big")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .map(key)
        .collect();
    assert_eq!(full.len(), 3000);

    let total_segments = 4;
    let mut union = BTreeSet::new();
    let mut sizes = Vec::new();
    for segment in 0..total_segments {
        let items: Vec<Item> = c
            .scan()
            .table_name("Big")
            .segment(segment)
            .total_segments(total_segments)
            .limit(500)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        sizes.push(items.len());
        for item in &items {
            assert!(union.insert(key(item)), "segments are disjoint: {:?}", key(item));
        }
    }
    assert_eq!(union, full, "the union of the segments is the full scan");
    assert_eq!(sizes.iter().sum::<usize>(), 3000);
    region.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_stop_at_one_megabyte() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(
        c,
        "Wide",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    let payload = "x".repeat(10 * 1024);
    let items: Vec<Item> = (0..250)
        .map(|i| item([("pk", s("w")), ("sk", n(i)), ("d", s(payload.clone()))]))
        .collect();
    load(c, "Wide", items).await;

    for scan in [false, true] {
        let mut seen = Vec::new();
        let mut counts = Vec::new();
        let mut start = None;
        loop {
            let (items, count, last) = if scan {
                let page = c
                    .scan()
                    .table_name("Wide")
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .unwrap();
                (page.items().to_vec(), page.count(), page.last_evaluated_key().cloned())
            } else {
                let page = c
                    .query()
                    .table_name("Wide")
                    .key_condition_expression("pk = :p")
                    .expression_attribute_values(":p", s("w"))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .unwrap();
                (page.items().to_vec(), page.count(), page.last_evaluated_key().cloned())
            };
            counts.push(count);
            seen.extend(items.iter().map(sk_of));
            start = last;
            if start.is_none() {
                break;
            }
        }
        assert_eq!(seen, (0..250).collect::<Vec<_>>(), "scan: {scan}");
        // About 10 KB per item: a 1 MB page holds 100 to 103 of them.
        assert_eq!(counts.len(), 3, "scan: {scan}, page sizes {counts:?}");
        for count in &counts[..2] {
            assert!((100..=103).contains(count), "scan: {scan}, page sizes {counts:?}");
        }
    }
    region.shutdown().await;
}

#[tokio::test]
async fn select_modes_and_reverse_order() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(
        c,
        "Sel",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::S),
    )
    .await;
    let items: Vec<Item> = ["a", "b", "c", "d"]
        .iter()
        .map(|k| item([("pk", s("p")), ("sk", s(*k)), ("x", n(1)), ("y", s("why"))]))
        .collect();
    load(c, "Sel", items.clone()).await;
    let query = || {
        c.query()
            .table_name("Sel")
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", "pk")
            .expression_attribute_values(":p", s("p"))
    };

    let out = query().select(Select::Count).send().await.unwrap();
    assert_eq!(out.count(), 4);
    assert_eq!(out.scanned_count(), 4);
    assert!(out.items().is_empty());
    let out = query().select(Select::Count).limit(3).send().await.unwrap();
    assert_eq!(out.count(), 3);
    assert!(out.last_evaluated_key().is_some());
    // The key of the third item read, to resume after it.
    assert_eq!(out.last_evaluated_key(), Some(&item([("pk", s("p")), ("sk", s("c"))])));

    let out = query()
        .select(Select::SpecificAttributes)
        .projection_expression("sk, y")
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    let expected: Vec<Item> = ["d", "c", "b", "a"]
        .iter()
        .map(|k| item([("sk", s(*k)), ("y", s("why"))]))
        .collect();
    assert_eq!(out.items(), expected);

    let out = query().select(Select::AllAttributes).send().await.unwrap();
    assert_eq!(out.items(), items);

    let out = c.scan().table_name("Sel").select(Select::Count).send().await.unwrap();
    assert_eq!(out.count(), 4);
    assert!(out.items().is_empty());
    let out = c.scan().table_name("Sel").attributes_to_get("x").send().await.unwrap();
    assert_eq!(out.items(), vec![item([("x", n(1))]); 4]);

    // Query with both key attributes fetches one item.
    let out = query()
        .key_condition_expression("#p = :p AND sk = :s")
        .expression_attribute_values(":s", s("c"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.items(), &items[2..3]);
    region.shutdown().await;
}

/// Puts `values` (shuffled) as sort keys of partition "p" and checks Query
/// returns them in the given order, and reversed with ScanIndexForward=false.
async fn check_sort_order(c: &Client, table: &str, values: &[AttributeValue]) {
    let mut shuffled: Vec<(usize, &AttributeValue)> = values.iter().enumerate().collect();
    shuffled.sort_by_key(|(i, _)| (i * 7919) % values.len());
    let items = shuffled
        .iter()
        .map(|(i, v)| item([("pk", s("p")), ("sk", (*v).clone()), ("rank", n(*i))]))
        .collect();
    load(c, table, items).await;
    for forward in [true, false] {
        let out = c
            .query()
            .table_name(table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("p"))
            .scan_index_forward(forward)
            .send()
            .await
            .unwrap();
        let ranks: Vec<usize> = out
            .items()
            .iter()
            .map(|i| i["rank"].as_n().unwrap().parse().unwrap())
            .collect();
        let mut expected: Vec<usize> = (0..values.len()).collect();
        if !forward {
            expected.reverse();
        }
        assert_eq!(ranks, expected, "{table}, forward: {forward}");
    }
}

#[tokio::test]
async fn sort_keys_order_numbers_binaries_and_strings() {
    let region = TestRegion::start().await;
    let c = &region.client;
    let numbers = [
        "-9.99E125",
        "-1E10",
        "-10",
        "-1.5",
        "-1.05",
        "-1",
        "-0.5",
        "-1E-130",
        "0",
        "1E-130",
        "0.001",
        "0.5",
        "1",
        "1.05",
        "1.5",
        "9",
        "10",
        "10.5",
        "100",
        "12345678901234567890123456789012345678",
        "9.99E125",
    ];
    create_table(
        c,
        "Numbers",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    check_sort_order(c, "Numbers", &numbers.map(n)).await;

    let binaries: [&[u8]; 9] = [
        &[0x00],
        &[0x00, 0x00],
        &[0x00, 0x01],
        &[0x01],
        &[0x7f],
        &[0x80],
        &[0x80, 0x00],
        &[0xfe, 0xff],
        &[0xff],
    ];
    create_table(
        c,
        "Binaries",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::B),
    )
    .await;
    check_sort_order(c, "Binaries", &binaries.map(|b| AttributeValue::B(Blob::new(b)))).await;

    // Strings order by their UTF-8 bytes: upper case before lower case, a
    // prefix before its extensions, non-ASCII after ASCII.
    let strings = [
        "\u{1}", "A", "B", "Z", "a", "a\u{0}", "a\u{1}", "aa", "ab", "b", "z", "é", "日本",
    ];
    create_table(
        c,
        "Strings",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::S),
    )
    .await;
    check_sort_order(c, "Strings", &strings.map(s)).await;
    region.shutdown().await;
}

#[tokio::test]
async fn query_and_scan_capacity_round_the_total() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(
        c,
        "Reads",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    // Ten items of 1,000 bytes: 10,000 bytes is 3 read units (4 KB each),
    // not the 10 a per-item rounding would give.
    let items: Vec<Item> = (0..10)
        .map(|i| {
            let fixed = "pk".len() + 1 + "sk".len() + 2 + "d".len();
            item([("pk", s("r")), ("sk", n(i)), ("d", s("x".repeat(1000 - fixed)))])
        })
        .collect();
    load(c, "Reads", items).await;
    for (consistent, expected) in [(true, 3.0), (false, 1.5)] {
        let out = c
            .query()
            .table_name("Reads")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("r"))
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap();
        assert_eq!(out.count(), 10);
        let consumed = out.consumed_capacity().unwrap();
        assert_eq!(consumed.table_name(), Some("Reads"));
        assert_eq!(consumed.capacity_units(), Some(expected), "consistent: {consistent}");

        let out = c
            .scan()
            .table_name("Reads")
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
            .await
            .unwrap();
        let consumed = out.consumed_capacity().unwrap();
        assert_eq!(consumed.capacity_units(), Some(expected), "consistent: {consistent}");
        assert_eq!(consumed.table().unwrap().capacity_units(), Some(expected));
    }
    // COUNT costs the same as reading the items.
    let out = c
        .query()
        .table_name("Reads")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("r"))
        .select(Select::Count)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(out.consumed_capacity().unwrap().capacity_units(), Some(1.5));
    region.shutdown().await;
}
