//! Single-item data plane through the AWS SDK: PutItem, GetItem, DeleteItem,
//! UpdateItem without an update, every attribute type round-tripping exactly,
//! and ReturnConsumedCapacity arithmetic.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, ReturnValue, ScalarAttributeType};
use common::{Keys, TestRegion, create_table, item, n, s};

type Item = HashMap<String, AttributeValue>;

async fn region_with_table(name: &str) -> TestRegion {
    let region = TestRegion::start().await;
    create_table(&region.client, name, Keys::Hash("pk", ScalarAttributeType::S)).await;
    region
}

async fn put(region: &TestRegion, table: &str, item: Item) {
    region
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

async fn get(region: &TestRegion, table: &str, pk: &str) -> Option<Item> {
    let out = region
        .client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item().cloned()
}

#[tokio::test]
async fn put_get_delete_with_return_values() {
    let region = region_with_table("Items").await;
    let c = &region.client;
    let first = item([("pk", s("a")), ("v", n(1))]);
    let out = c
        .put_item()
        .table_name("Items")
        .set_item(Some(first.clone()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert!(out.attributes().is_none(), "no old item on a fresh put");

    let second = item([("pk", s("a")), ("v", n(2)), ("w", s("x"))]);
    let out = c
        .put_item()
        .table_name("Items")
        .set_item(Some(second.clone()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(out.attributes(), Some(&first));

    // Eventually consistent and strongly consistent reads both see it here.
    let eventual = c.get_item().table_name("Items").key("pk", s("a")).send().await.unwrap();
    assert_eq!(eventual.item(), Some(&second));
    assert_eq!(get(&region, "Items", "a").await, Some(second.clone()));
    assert_eq!(get(&region, "Items", "missing").await, None);

    let out = c
        .delete_item()
        .table_name("Items")
        .key("pk", s("a"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(out.attributes(), Some(&second));
    assert_eq!(get(&region, "Items", "a").await, None);
    // Deleting a missing item succeeds and returns nothing.
    let out = c
        .delete_item()
        .table_name("Items")
        .key("pk", s("a"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert!(out.attributes().is_none());
    region.shutdown().await;
}

#[tokio::test]
async fn get_item_projections() {
    let region = region_with_table("Items").await;
    let c = &region.client;
    put(
        &region,
        "Items",
        item([
            ("pk", s("a")),
            ("x", n(1)),
            ("y", s("two")),
            ("z", AttributeValue::Bool(true)),
        ]),
    )
    .await;
    let out = c
        .get_item()
        .table_name("Items")
        .key("pk", s("a"))
        .projection_expression("x, #y")
        .expression_attribute_names("#y", "y")
        .send()
        .await
        .unwrap();
    assert_eq!(out.item(), Some(&item([("x", n(1)), ("y", s("two"))])));

    let out = c
        .get_item()
        .table_name("Items")
        .key("pk", s("a"))
        .attributes_to_get("z")
        .attributes_to_get("missing")
        .send()
        .await
        .unwrap();
    assert_eq!(out.item(), Some(&item([("z", AttributeValue::Bool(true))])));
    region.shutdown().await;
}

#[tokio::test]
async fn update_item_without_update_creates_key_only_item() {
    let region = TestRegion::start().await;
    let c = &region.client;
    create_table(
        c,
        "Items2",
        Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N),
    )
    .await;
    let out = c
        .update_item()
        .table_name("Items2")
        .key("pk", s("a"))
        .key("sk", n(7))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let key_only = item([("pk", s("a")), ("sk", n(7))]);
    assert_eq!(out.attributes(), Some(&key_only));
    let got = c
        .get_item()
        .table_name("Items2")
        .key("pk", s("a"))
        .key("sk", n(7))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item(), Some(&key_only));

    // On an existing item it changes nothing; ALL_OLD returns the item.
    c.put_item()
        .table_name("Items2")
        .set_item(Some(item([("pk", s("a")), ("sk", n(7)), ("v", s("kept"))])))
        .send()
        .await
        .unwrap();
    let out = c
        .update_item()
        .table_name("Items2")
        .key("pk", s("a"))
        .key("sk", n(7))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.attributes(),
        Some(&item([("pk", s("a")), ("sk", n(7)), ("v", s("kept"))]))
    );
    region.shutdown().await;
}

fn nested(depth: usize) -> AttributeValue {
    let mut value = s("leaf");
    for level in 0..depth {
        value = if level % 2 == 0 {
            AttributeValue::L(vec![value])
        } else {
            AttributeValue::M(HashMap::from([("k".to_string(), value)]))
        };
    }
    value
}

#[tokio::test]
async fn every_attribute_type_round_trips() {
    let region = region_with_table("Items").await;
    let big = "12345678901234567890123456789012345678";
    let original = item([
        ("pk", s("types")),
        ("s_empty", s("")),
        ("s_unicode", s("héllo wörld ✓ 日本語 🎉 \u{0}nul")),
        ("n_int", n(42)),
        ("n_neg", n("-0.000123")),
        ("n_big", n(big)),
        ("n_neg_big", n(format!("-{big}"))),
        ("n_tiny", n("1E-130")),
        ("b", AttributeValue::B(Blob::new(vec![0u8, 1, 2, 255, 254]))),
        ("b_empty", AttributeValue::B(Blob::new(Vec::new()))),
        ("t", AttributeValue::Bool(true)),
        ("f", AttributeValue::Bool(false)),
        ("null", AttributeValue::Null(true)),
        (
            "m",
            AttributeValue::M(item([("a", n(1)), ("b", AttributeValue::L(vec![s("x"), n(2)]))])),
        ),
        ("m_empty", AttributeValue::M(HashMap::new())),
        (
            "l",
            AttributeValue::L(vec![AttributeValue::Null(true), s(""), AttributeValue::L(vec![])]),
        ),
        ("ss", AttributeValue::Ss(vec!["b".into(), "a".into(), "c d".into()])),
        ("ns", AttributeValue::Ns(vec!["3".into(), "-1".into(), "2.5".into()])),
        (
            "bs",
            AttributeValue::Bs(vec![Blob::new(vec![1u8]), Blob::new(vec![0u8, 0])]),
        ),
        ("deep", nested(31)),
    ]);
    put(&region, "Items", original.clone()).await;
    let mut got = get(&region, "Items", "types").await.unwrap();
    // Sets are unordered: compare them as sorted lists.
    let sort_sets = |item: &mut Item| {
        for value in item.values_mut() {
            match value {
                AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.sort(),
                AttributeValue::Bs(v) => v.sort_by(|a, b| a.as_ref().cmp(b.as_ref())),
                _ => {}
            }
        }
    };
    let mut expected = original.clone();
    sort_sets(&mut expected);
    // 1E-130 may come back written out in full: compare its value.
    let tiny = got.remove("n_tiny").unwrap();
    expected.remove("n_tiny");
    assert_eq!(tiny.as_n().unwrap().parse::<f64>().unwrap(), 1e-130);
    sort_sets(&mut got);
    assert_eq!(got, expected);
    region.shutdown().await;
}

#[tokio::test]
async fn numbers_are_normalised() {
    let region = region_with_table("Items").await;
    let cases = [
        ("1.50", "1.5"),
        ("0001", "1"),
        ("-0", "0"),
        ("0.0", "0"),
        ("+7", "7"),
        ("1e2", "100"),
        ("1.2300E+1", "12.3"),
        ("-15E-1", "-1.5"),
        ("100", "100"),
    ];
    for (i, (input, _)) in cases.iter().enumerate() {
        put(&region, "Items", item([("pk", s(format!("n{i}"))), ("v", n(input))])).await;
    }
    for (i, (input, expected)) in cases.iter().enumerate() {
        let got = get(&region, "Items", &format!("n{i}")).await.unwrap();
        assert_eq!(got["v"], n(expected), "{input} normalises to {expected}");
    }
    region.shutdown().await;
}

/// A string attribute making the item exactly `size` bytes with key "pk"/"k".
fn item_of_size(pk: &str, size: usize) -> Item {
    let fixed = "pk".len() + pk.len() + "d".len();
    item([("pk", s(pk)), ("d", s("x".repeat(size - fixed)))])
}

#[tokio::test]
async fn consumed_capacity_follows_dynamodb_arithmetic() {
    let region = region_with_table("Capacity").await;
    let c = &region.client;
    let write_units = |size: usize, key: &'static str| {
        let c = c.clone();
        async move {
            let out = c
                .put_item()
                .table_name("Capacity")
                .set_item(Some(item_of_size(key, size)))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .unwrap();
            let consumed = out.consumed_capacity().unwrap();
            assert_eq!(consumed.table_name(), Some("Capacity"));
            consumed.capacity_units().unwrap()
        }
    };
    // One write unit per started KB of the item.
    assert_eq!(write_units(1024, "a").await, 1.0);
    assert_eq!(write_units(1025, "b").await, 2.0);
    assert_eq!(write_units(10 * 1024, "c").await, 10.0);
    // Overwriting counts the larger of the old and new item.
    assert_eq!(write_units(100, "c").await, 10.0);
    assert_eq!(write_units(100, "c").await, 1.0);

    // Reads: one unit per started 4 KB, half for eventually consistent.
    put(&region, "Capacity", item_of_size("r4", 4096)).await;
    put(&region, "Capacity", item_of_size("r5", 4097)).await;
    let read_units = |key: &'static str, consistent: bool| {
        let c = c.clone();
        async move {
            let out = c
                .get_item()
                .table_name("Capacity")
                .key("pk", s(key))
                .consistent_read(consistent)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .unwrap();
            out.consumed_capacity().unwrap().capacity_units().unwrap()
        }
    };
    assert_eq!(read_units("r4", true).await, 1.0);
    assert_eq!(read_units("r4", false).await, 0.5);
    assert_eq!(read_units("r5", true).await, 2.0);
    assert_eq!(read_units("r5", false).await, 1.0);
    assert_eq!(read_units("missing", false).await, 0.5);

    // INDEXES also breaks the total down for the table.
    let out = c
        .delete_item()
        .table_name("Capacity")
        .key("pk", s("b"))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let consumed = out.consumed_capacity().unwrap();
    assert_eq!(consumed.capacity_units(), Some(2.0));
    assert_eq!(consumed.table().unwrap().capacity_units(), Some(2.0));

    // NONE (the default) reports nothing.
    let out = c
        .get_item()
        .table_name("Capacity")
        .key("pk", s("a"))
        .send()
        .await
        .unwrap();
    assert!(out.consumed_capacity().is_none());
    region.shutdown().await;
}
