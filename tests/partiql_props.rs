//! Property: a random SELECT returns exactly what the equivalent Query (its
//! partition key fixed) or Scan (not fixed) returns, through the SDK. The
//! cases come from proptest strategies, drawn deterministically, and run
//! against one region with a fixed table of 24 items.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use common::{Keys, TestRegion, create_table, item, n, s};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

type Item = HashMap<String, AttributeValue>;

/// How many random SELECTs are compared.
const CASES: usize = 48;

/// A condition on the non-key attributes `v` (a number) and `w` (a string,
/// missing on some items).
#[derive(Clone, Debug)]
enum Pred {
    Cmp(&'static str, i64),
    Between(i64, i64),
    In(Vec<i64>),
    WordIs(&'static str),
    Begins(&'static str),
    WordMissing,
    Not(Box<Pred>),
    And(Box<Pred>, Box<Pred>),
    Or(Box<Pred>, Box<Pred>),
}

fn pred() -> impl Strategy<Value = Pred> {
    let leaf = prop_oneof![
        (prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">="]), 0i64..5).prop_map(|(op, v)| Pred::Cmp(op, v)),
        (0i64..5, 0i64..5).prop_map(|(a, b)| Pred::Between(a.min(b), a.max(b))),
        prop::collection::vec(0i64..5, 1..4).prop_map(Pred::In),
        prop::sample::select(vec!["x", "xy", "y"]).prop_map(Pred::WordIs),
        prop::sample::select(vec!["x", "y"]).prop_map(Pred::Begins),
        Just(Pred::WordMissing),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|p| Pred::Not(Box::new(p))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Pred::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Pred::Or(Box::new(a), Box::new(b))),
        ]
    })
}

/// One SELECT: maybe a partition, maybe a sort-key bound, a condition.
#[derive(Clone, Debug)]
struct Case {
    partition: Option<&'static str>,
    sort: Option<(&'static str, i64)>,
    pred: Pred,
}

fn case() -> impl Strategy<Value = Case> {
    let partition = prop::option::of(prop::sample::select(vec!["a", "b", "c"]));
    let sort = prop::option::of((prop::sample::select(vec!["=", "<", "<=", ">", ">="]), 0i64..8));
    (partition, sort, pred()).prop_map(|(partition, sort, pred)| Case { partition, sort, pred })
}

/// The condition in PartiQL.
fn partiql(pred: &Pred) -> String {
    match pred {
        Pred::Cmp(op, v) => format!("v {op} {v}"),
        Pred::Between(a, b) => format!("v BETWEEN {a} AND {b}"),
        Pred::In(list) => format!(
            "v IN [{}]",
            list.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        ),
        Pred::WordIs(w) => format!("w = '{w}'"),
        Pred::Begins(w) => format!("begins_with(w, '{w}')"),
        Pred::WordMissing => "w IS MISSING".into(),
        Pred::Not(p) => format!("NOT ({})", partiql(p)),
        Pred::And(a, b) => format!("({}) AND ({})", partiql(a), partiql(b)),
        Pred::Or(a, b) => format!("({}) OR ({})", partiql(a), partiql(b)),
    }
}

/// The condition as a FilterExpression, its values added to `values`.
fn expression(pred: &Pred, values: &mut HashMap<String, AttributeValue>) -> String {
    let mut value = |v: AttributeValue| {
        let name = format!(":x{}", values.len());
        values.insert(name.clone(), v);
        name
    };
    match pred {
        Pred::Cmp(op, v) => format!("#v {op} {}", value(n(v))),
        Pred::Between(a, b) => {
            let (a, b) = (value(n(a)), value(n(b)));
            format!("#v BETWEEN {a} AND {b}")
        }
        Pred::In(list) => {
            let list: Vec<String> = list.iter().map(|v| value(n(v))).collect();
            format!("#v IN ({})", list.join(", "))
        }
        Pred::WordIs(w) => format!("#w = {}", value(s(*w))),
        Pred::Begins(w) => format!("begins_with(#w, {})", value(s(*w))),
        Pred::WordMissing => "attribute_not_exists(#w)".into(),
        Pred::Not(p) => format!("NOT ({})", expression(p, values)),
        Pred::And(a, b) => format!("({}) AND ({})", expression(a, values), expression(b, values)),
        Pred::Or(a, b) => format!("({}) OR ({})", expression(a, values), expression(b, values)),
    }
}

/// The items a region holds: three partitions of eight.
async fn region_with_items() -> TestRegion {
    let region = TestRegion::start().await;
    let keys = Keys::HashRange("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N);
    create_table(&region.client, "Props", keys).await;
    for (p, pk) in ["a", "b", "c"].into_iter().enumerate() {
        for sk in 0..8i64 {
            let mut it = item([("pk", s(pk)), ("sk", n(sk)), ("v", n((sk * 3 + p as i64) % 5))]);
            if sk % 3 != 0 {
                it.insert("w".into(), s(["x", "xy", "y"][(sk as usize + p) % 3]));
            }
            region
                .client
                .put_item()
                .table_name("Props")
                .set_item(Some(it))
                .send()
                .await
                .unwrap();
        }
    }
    region
}

async fn select(client: &Client, case: &Case) -> Vec<Item> {
    let mut parts = Vec::new();
    if let Some(pk) = case.partition {
        parts.push(format!("pk = '{pk}'"));
    }
    if let Some((op, sk)) = case.sort {
        parts.push(format!("sk {op} {sk}"));
    }
    parts.push(format!("({})", partiql(&case.pred)));
    let statement = format!("SELECT * FROM Props WHERE {}", parts.join(" AND "));
    let out = client.execute_statement().statement(&statement).send().await.unwrap();
    assert_eq!(out.next_token(), None, "{statement}: one page");
    out.items().to_vec()
}

async fn query_or_scan(client: &Client, case: &Case) -> Vec<Item> {
    let mut values = HashMap::new();
    let filter = expression(&case.pred, &mut values);
    let sort = case.sort.map(|(op, sk)| {
        values.insert(":sk".to_string(), n(sk));
        format!("sk {op} :sk")
    });
    let names: HashMap<String, String> = [("#v", "v"), ("#w", "w")]
        .into_iter()
        .filter(|(placeholder, _)| filter.contains(placeholder))
        .map(|(p, name)| (p.to_string(), name.to_string()))
        .collect();
    match case.partition {
        Some(pk) => {
            values.insert(":pk".into(), s(pk));
            let key = match sort {
                Some(sort) => format!("pk = :pk AND {sort}"),
                None => "pk = :pk".into(),
            };
            let out = client
                .query()
                .table_name("Props")
                .key_condition_expression(key)
                .filter_expression(filter)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await
                .unwrap();
            out.items().to_vec()
        }
        None => {
            let filter = match sort {
                Some(sort) => format!("({sort}) AND ({filter})"),
                None => filter,
            };
            let out = client
                .scan()
                .table_name("Props")
                .filter_expression(filter)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await
                .unwrap();
            out.items().to_vec()
        }
    }
}

#[tokio::test]
async fn random_selects_agree_with_query_and_scan() {
    let region = region_with_items().await;
    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let mut nonempty = 0;
    for _ in 0..CASES {
        let case = strategy.new_tree(&mut runner).expect("a case").current();
        let selected = select(&region.client, &case).await;
        let expected = query_or_scan(&region.client, &case).await;
        assert_eq!(selected, expected, "{case:?}");
        nonempty += usize::from(!selected.is_empty());
    }
    assert!(nonempty > CASES / 4, "only {nonempty} cases matched any item");
}
