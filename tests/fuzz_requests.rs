//! The `requests` fuzz target's harness as an ordinary test: replays the
//! seed corpus (fuzz/seeds/requests) and a few thousand inputs a seeded
//! generator derives from it, through a real in-memory region. Where
//! cargo-fuzz runs, `cargo +nightly fuzz run requests` explores further.
//! `FUZZ_REQUESTS=N` sets the number of generated inputs (default 2000).

#[path = "../fuzz/harness/requests.rs"]
mod harness;

use serde_json::{Map, Value, json};

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Member names and values worth trying anywhere.
const NAMES: &[&str] = &[
    "TableName",
    "Item",
    "Key",
    "S",
    "N",
    "B",
    "SS",
    "NS",
    "BS",
    "M",
    "L",
    "NULL",
    "BOOL",
    "Limit",
    "ExclusiveStartKey",
    "ConditionExpression",
    "ExpressionAttributeValues",
    "ExpressionAttributeNames",
    "KeyConditionExpression",
    "UpdateExpression",
    "ProjectionExpression",
    "FilterExpression",
    "Segment",
    "TotalSegments",
    "RequestItems",
    "Expected",
    "ScanFilter",
    "QueryFilter",
    "AttributeUpdates",
    "ReturnValues",
    "Select",
    "KeySchema",
    "AttributeDefinitions",
    "ResourceArn",
    "Policy",
    "StreamArn",
    "ShardIterator",
    "ExportTime",
    "RestoreDateTime",
    "ConsistentRead",
    "TransactItems",
    "Statement",
    "IndexName",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "GlobalSecondaryIndexUpdates",
    "Projection",
    "ProjectionType",
    "NonKeyAttributes",
    "IndexStatus",
    "ReturnItemCollectionMetrics",
    "ReturnConsumedCapacity",
];

fn random_scalar(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => json!(null),
        1 => json!(rng.chance(2)),
        2 => json!(rng.next() as i64),
        3 => json!((rng.next() % 1000) as f64 / 7.0),
        4 => json!("A".repeat(rng.below(5000))),
        5 => json!("not base64!"),
        6 => json!("AAEC"),
        7 => json!(format!(":v{}", rng.below(3))),
        8 => json!("a.b[1].#c = :v AND size(x) > :w OR NOT begins_with(y, :z)"),
        9 => json!("9".repeat(40)),
        10 => json!(NAMES[rng.below(NAMES.len())]),
        _ => json!(""),
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    if depth == 0 || rng.chance(2) {
        return random_scalar(rng);
    }
    match rng.below(4) {
        0 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth - 1)).collect()),
        1 => {
            // Deep nesting, past the JSON parser's limit sometimes.
            let mut value = json!({"S": "x"});
            for _ in 0..rng.below(200) {
                value = json!({"M": {"a": value}});
            }
            value
        }
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                map.insert(NAMES[rng.below(NAMES.len())].to_string(), random_value(rng, depth - 1));
            }
            Value::Object(map)
        }
    }
}

/// Replaces, removes or adds one member somewhere in `value`.
fn mutate(rng: &mut Rng, value: &mut Value) {
    match value {
        Value::Object(map) if !map.is_empty() && rng.chance(3) => {
            let key = map.keys().nth(rng.below(map.len())).cloned().unwrap_or_default();
            if rng.chance(3) {
                map.remove(&key);
            } else if let Some(child) = map.get_mut(&key) {
                mutate(rng, child);
            }
        }
        Value::Object(map) if rng.chance(2) => {
            map.insert(NAMES[rng.below(NAMES.len())].to_string(), random_value(rng, 3));
        }
        Value::Array(items) if !items.is_empty() && rng.chance(2) => {
            let index = rng.below(items.len());
            mutate(rng, &mut items[index]);
        }
        _ => *value = random_value(rng, 3),
    }
}

/// An input derived from `seed`: JSON mutations, and sometimes byte ones.
fn derive(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let (head, body) = seed.split_at(2.min(seed.len()));
    let mut input = vec![
        if rng.chance(4) {
            rng.next() as u8
        } else {
            head.first().copied().unwrap_or(0)
        },
        if rng.chance(3) {
            rng.next() as u8
        } else {
            head.get(1).copied().unwrap_or(0)
        },
    ];
    let mut bytes = match serde_json::from_slice::<Value>(body) {
        Ok(mut json) => {
            for _ in 0..1 + rng.below(4) {
                mutate(rng, &mut json);
            }
            serde_json::to_vec(&json).unwrap_or_default()
        }
        Err(_) => body.to_vec(),
    };
    if rng.chance(8) && !bytes.is_empty() {
        let cut = rng.below(bytes.len());
        bytes.truncate(cut);
    }
    if rng.chance(8) && !bytes.is_empty() {
        let at = rng.below(bytes.len());
        bytes[at] = rng.next() as u8;
    }
    input.extend(bytes);
    input
}

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/requests");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("the seed corpus")
        .map(|e| e.expect("a corpus entry").path())
        .collect();
    entries.sort();
    entries.iter().map(|p| std::fs::read(p).expect("a seed")).collect()
}

#[test]
fn seeds_and_generated_requests_never_crash_hang_or_500() {
    let count: usize = std::env::var("FUZZ_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let seeds = corpus();
    assert!(seeds.len() >= 60, "{} seeds", seeds.len());
    let harness = harness::Harness::start();
    for seed in &seeds {
        harness.run(seed);
    }
    let mut rng = Rng(0x5eed_f00d_d15c_0bad);
    for i in 0..count {
        let seed = &seeds[rng.below(seeds.len())];
        let input = derive(&mut rng, seed);
        let replay = format!("input {i}: {:?}", String::from_utf8_lossy(&input));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| harness.run(&input)));
        assert!(outcome.is_ok(), "{replay}");
    }
    // Still serving after all of it.
    let (status, _) = harness.send("DynamoDB_20120810.ListTables", harness::Mode::Plain, b"{}");
    assert_eq!(status, 200);
}
