//! Expression throughput: parse + evaluate a typical update and a typical
//! filter, each next to a baseline measured in the same run. Plain
//! `Instant` loop; run with `cargo bench --bench expr`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use meridian::expr::{ConditionKind, Placeholders, parse_condition, parse_update};
use meridian::model::{AttributeValue, Item, item_from_json};
use serde_json::json;

/// Runs `f` repeatedly for about `budget` and returns operations per second.
fn measure(budget: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..1_000 {
        f();
    }
    let start = Instant::now();
    let mut ops = 0u64;
    while start.elapsed() < budget {
        for _ in 0..256 {
            f();
        }
        ops += 256;
    }
    ops as f64 / start.elapsed().as_secs_f64()
}

fn report(name: &str, ops: f64, baseline_name: &str, baseline: f64) {
    println!("{name:<44} {ops:>12.0} ops/s");
    println!(
        "{baseline_name:<44} {baseline:>12.0} ops/s   (ratio {:.2}x)",
        baseline / ops
    );
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("EXPR_BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2_000),
    );
    let item: Item = item_from_json(&json!({
        "pk": {"S": "user#42"}, "c": {"N": "17"}, "s": {"S": "active"}, "name": {"S": "meridian-bench"},
        "tags": {"SS": ["a", "b", "c", "d"]}, "tmp": {"S": "scratch"}, "updated": {"N": "1700000000"},
        "profile": {"M": {"city": {"S": "Oslo"}, "langs": {"L": [{"S": "rust"}, {"S": "go"}]}}}
    }))
    .expect("static item");
    let names = || -> HashMap<String, String> {
        [("#c", "c"), ("#s", "s"), ("#nm", "name")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let values = || -> HashMap<String, AttributeValue> {
        let json = json!({":one": {"N": "1"}, ":now": {"N": "1700000100"}, ":t": {"SS": ["e"]},
            ":active": {"S": "active"}, ":n": {"N": "2"}, ":p": {"S": "meri"}});
        item_from_json(&json).expect("static values").into_iter().collect()
    };

    let update_text = "SET #c = #c + :one, updated = :now REMOVE tmp ADD tags :t";
    let update_ops = measure(budget, || {
        let mut ph = Placeholders::new(Some(names()), Some(values()));
        let update = parse_update(black_box(update_text), &mut ph).expect("valid update");
        let mut copy = item.clone();
        update.apply(&mut copy, &["pk"]).expect("update applies");
        black_box(copy);
    });
    let clone_ops = measure(budget, || {
        let _ph = black_box(Placeholders::new(Some(names()), Some(values())));
        black_box(item.clone());
    });
    report(
        "update: parse + apply (incl. item clone)",
        update_ops,
        "baseline: placeholders + item clone",
        clone_ops,
    );

    // `name` is a DynamoDB reserved word, so the filter goes through `#nm`.
    let filter_text = "#s = :active AND size(tags) > :n AND begins_with(#nm, :p)";
    let filter_ops = measure(budget, || {
        let mut ph = Placeholders::new(Some(names()), Some(values()));
        let filter = parse_condition(black_box(filter_text), ConditionKind::Filter, &mut ph).expect("valid filter");
        black_box(filter.evaluate(black_box(&item)).expect("evaluates"));
    });
    let mut ph = Placeholders::new(Some(names()), Some(values()));
    let parsed = parse_condition(filter_text, ConditionKind::Filter, &mut ph).expect("valid filter");
    let evaluate_ops = measure(budget, || {
        black_box(parsed.evaluate(black_box(&item)).expect("evaluates"));
    });
    report(
        "filter: parse + evaluate",
        filter_ops,
        "baseline: evaluate pre-parsed filter",
        evaluate_ops,
    );
}
