//! Feeds arbitrary text to the PartiQL parser with three parameters, and
//! runs whatever parses through everything that consumes a statement: the
//! WHERE clause evaluated, the key planner for two schemas, the write
//! planner, updates applied, and conditions and updates rendered back to
//! expression text and parsed again. Nothing may panic.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use meridian::expr::{ConditionKind, Placeholders, UpdateExpr, eval_cond, parse_condition, parse_update};
use meridian::model::{AttributeValue, Item, KeyAttribute, KeySchema, Number, ScalarType};
use meridian::partiql::{self, Change, Renderer, Statement};

fn schemas() -> [KeySchema; 2] {
    let attribute = |name: &str, ty| KeyAttribute { name: name.into(), ty };
    [
        KeySchema { hash: attribute("pk", ScalarType::S), range: None },
        KeySchema { hash: attribute("pk", ScalarType::S), range: Some(attribute("sk", ScalarType::N)) },
    ]
}

/// Parses rendered text back with the renderer's placeholders.
fn placeholders(renderer: &Renderer) -> Placeholders {
    let names: HashMap<String, String> = renderer.names.clone().into_iter().collect();
    let values: HashMap<String, AttributeValue> = renderer.values.clone().into_iter().collect();
    Placeholders::new(Some(names), (!values.is_empty()).then_some(values))
}

fn exercise(statement: &Statement, item: &Item) {
    let condition = partiql::condition_of(statement);
    if let Some(cond) = condition {
        let _ = eval_cond(cond, item);
        let mut renderer = Renderer::new();
        let text = renderer.cond(cond);
        let _ = parse_condition(&text, ConditionKind::Condition, &mut placeholders(&renderer));
    }
    for schema in schemas() {
        let _ = partiql::access(condition, &schema);
        let Ok(Some(plan)) = partiql::write_plan(statement, &schema) else {
            continue;
        };
        if let Change::Update(actions) = plan.change {
            let mut renderer = Renderer::new();
            let text = renderer.update(&actions);
            let _ = parse_update(&text, &mut placeholders(&renderer));
            let update = UpdateExpr::from_actions(actions);
            let mut copy = item.clone();
            let _ = update.apply(&mut copy, &["pk"]);
            let _ = update.updated_projection().apply(&copy);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let params = [
        AttributeValue::S("a".into()),
        AttributeValue::N(Number::from(2)),
        AttributeValue::L(vec![AttributeValue::Null]),
    ];
    let mut item = Item::new();
    item.insert("pk".into(), AttributeValue::S("a".into()));
    item.insert("sk".into(), AttributeValue::N(Number::from(1)));
    item.insert("l".into(), AttributeValue::L(vec![AttributeValue::N(Number::from(1))]));
    for count in 0..=params.len() {
        if let Ok(statement) = partiql::parse(text, &params[..count]) {
            exercise(&statement, &item);
        }
    }
});
