//! Feeds arbitrary text to every expression parser, and evaluates or applies
//! whatever parses, against a small item. Nothing may panic.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use meridian::expr::{ConditionKind, Placeholders, parse_condition, parse_key_condition, parse_projection, parse_update};
use meridian::model::{AttributeValue, Item, KeyAttribute, KeySchema, Number, ScalarType};

fn placeholders() -> Placeholders {
    let names: HashMap<String, String> = [("#a", "a"), ("#b", "b"), ("#k", "pk")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let values: HashMap<String, AttributeValue> = [
        (":n", AttributeValue::N(Number::from(3))),
        (":s", AttributeValue::S("ab".into())),
        (":l", AttributeValue::L(vec![AttributeValue::Null])),
        (":ss", AttributeValue::Ss(vec!["x".into()])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Placeholders::new(Some(names), Some(values))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut item = Item::new();
    item.insert("a".into(), AttributeValue::L(vec![AttributeValue::N(Number::from(1))]));
    item.insert("b".into(), AttributeValue::S("abc".into()));
    let schema = KeySchema {
        hash: KeyAttribute { name: "pk".into(), ty: ScalarType::S },
        range: Some(KeyAttribute { name: "a".into(), ty: ScalarType::N }),
    };
    let mut ph = placeholders();
    if let Ok(cond) = parse_condition(text, ConditionKind::Condition, &mut ph) {
        let _ = cond.evaluate(&item);
    }
    if let Ok(update) = parse_update(text, &mut ph) {
        let mut copy = item.clone();
        let _ = update.apply(&mut copy, &["pk"]);
        let _ = update.updated_projection().apply(&copy);
    }
    if let Ok(projection) = parse_projection(text, &mut ph) {
        let _ = projection.apply(&item);
    }
    if let Ok(key) = parse_key_condition(text, &schema, &mut ph) {
        if let Some(range) = key.range {
            let _ = range.matches(&AttributeValue::N(Number::from(1)));
        }
    }
    let _ = ph.check_all_used();
});
