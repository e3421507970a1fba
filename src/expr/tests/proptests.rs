//! Property tests: the parsers never panic, and evaluation of random
//! well-formed conditions agrees with a small reference evaluator.

use proptest::prelude::*;

use super::*;
use crate::model::Number;

/// Fragments that make syntactically interesting token soups.
const PIECES: &[&str] = &[
    "a",
    "b",
    "#n",
    ":v",
    ":w",
    "(",
    ")",
    "[",
    "]",
    "0",
    "12",
    ".",
    ",",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "size",
    "contains",
    "begins_with",
    "attribute_exists",
    "attribute_type",
    "if_not_exists",
    "list_append",
    "+",
    "-",
    "status",
    "ü",
    "!",
    " ",
];

fn parse_everything(text: &str) {
    let mut ph = placeholders(json!({"#n": "n"}), json!({":v": {"N": "1"}, ":w": {"S": "x"}}));
    let schema = KeySchema {
        hash: KeyAttribute {
            name: "a".into(),
            ty: ScalarType::N,
        },
        range: Some(KeyAttribute {
            name: "b".into(),
            ty: ScalarType::S,
        }),
    };
    if let Ok(cond) = parse_condition(text, ConditionKind::Filter, &mut ph) {
        let _ = cond.evaluate(&Item::new());
    }
    if let Ok(update) = parse_update(text, &mut ph) {
        let _ = update.apply(&mut Item::new(), &["a"]);
    }
    if let Ok(projection) = parse_projection(text, &mut ph) {
        let _ = projection.apply(&Item::new());
    }
    let _ = parse_key_condition(text, &schema, &mut ph);
    let _ = ph.check_all_used();
}

/// A generated condition: rendered to text and evaluated by the reference.
#[derive(Clone, Debug)]
enum Gen {
    Cmp(&'static str, usize, usize),
    Between(usize, usize, usize),
    In(usize, Vec<usize>),
    Exists(usize),
    BeginsWith(usize, usize),
    Contains(usize, usize),
    Not(Box<Gen>),
    And(Box<Gen>, Box<Gen>),
    Or(Box<Gen>, Box<Gen>),
}

/// Operands: three attributes (`x`, `y`, `z`, possibly missing) and three
/// constants.
const OPERANDS: [&str; 6] = ["x", "y", "z", ":c0", ":c1", ":c2"];

fn gen_cond() -> impl Strategy<Value = Gen> {
    let attr = 0usize..3;
    let any = 0usize..6;
    let leaf = prop_oneof![
        (
            prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">="]),
            any.clone(),
            any.clone()
        )
            .prop_map(|(o, a, b)| Gen::Cmp(o, a, b)),
        (any.clone(), 3usize..6, 3usize..6).prop_map(|(a, b, c)| Gen::Between(a, b, c)),
        (any.clone(), prop::collection::vec(any.clone(), 1..4)).prop_map(|(a, l)| Gen::In(a, l)),
        attr.clone().prop_map(Gen::Exists),
        (attr.clone(), 3usize..6).prop_map(|(a, b)| Gen::BeginsWith(a, b)),
        (attr, any).prop_map(|(a, b)| Gen::Contains(a, b)),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|g| Gen::Not(Box::new(g))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Gen::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Gen::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn render(g: &Gen) -> String {
    let op = |i: &usize| OPERANDS[*i].to_string();
    match g {
        Gen::Cmp(o, a, b) => format!("{} {o} {}", op(a), op(b)),
        Gen::Between(a, b, c) => format!("{} BETWEEN {} AND {}", op(a), op(b), op(c)),
        Gen::In(a, l) => format!("{} IN ({})", op(a), l.iter().map(op).collect::<Vec<_>>().join(", ")),
        Gen::Exists(a) => format!("attribute_exists({})", op(a)),
        Gen::BeginsWith(a, b) => format!("begins_with({}, {})", op(a), op(b)),
        Gen::Contains(a, b) => format!("contains({}, {})", op(a), op(b)),
        Gen::Not(inner) => format!("NOT ({})", render(inner)),
        Gen::And(a, b) => format!("({}) AND ({})", render(a), render(b)),
        Gen::Or(a, b) => format!("({}) OR ({})", render(a), render(b)),
    }
}

/// Small scalar values: numbers and strings, so every operator applies.
fn gen_value() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        (-3i64..4).prop_map(|n| AttributeValue::N(Number::from(n))),
        prop::sample::select(vec!["", "a", "ab", "b", "ba"]).prop_map(|s| AttributeValue::S(s.to_string())),
    ]
}

/// The reference: written from the DynamoDB documentation, independently
/// of `eval.rs`.
fn reference(g: &Gen, vals: &[Option<AttributeValue>; 6]) -> bool {
    let v = |i: &usize| vals[*i].as_ref();
    let order = |a: &AttributeValue, b: &AttributeValue| match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match g {
        Gen::Cmp(o, a, b) => match (v(a), v(b)) {
            (Some(x), Some(y)) => match *o {
                "=" => x == y,
                "<>" => x != y,
                "<" => order(x, y) == Some(std::cmp::Ordering::Less),
                "<=" => matches!(order(x, y), Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)),
                ">" => order(x, y) == Some(std::cmp::Ordering::Greater),
                _ => matches!(
                    order(x, y),
                    Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                ),
            },
            _ => *o == "<>",
        },
        Gen::Between(a, b, c) => match (v(a), v(b), v(c)) {
            (Some(x), Some(lo), Some(hi)) => {
                order(lo, x).is_some_and(|o| o.is_le()) && order(x, hi).is_some_and(|o| o.is_le())
            }
            _ => false,
        },
        Gen::In(a, l) => v(a).is_some_and(|x| l.iter().any(|c| v(c) == Some(x))),
        Gen::Exists(a) => v(a).is_some(),
        Gen::BeginsWith(a, b) => {
            matches!((v(a), v(b)), (Some(AttributeValue::S(x)), Some(AttributeValue::S(p))) if x.starts_with(p.as_str()))
        }
        Gen::Contains(a, b) => {
            matches!((v(a), v(b)), (Some(AttributeValue::S(x)), Some(AttributeValue::S(p))) if x.contains(p.as_str()))
        }
        Gen::Not(inner) => !reference(inner, vals),
        Gen::And(a, b) => reference(a, vals) && reference(b, vals),
        Gen::Or(a, b) => reference(a, vals) || reference(b, vals),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in "\\PC{0,80}") {
        parse_everything(&text);
    }

    #[test]
    fn parsers_never_panic_on_token_soup(pieces in prop::collection::vec(prop::sample::select(PIECES), 0..30)) {
        parse_everything(&pieces.join(" "));
        parse_everything(&pieces.concat());
    }

    #[test]
    fn evaluation_matches_reference(
        g in gen_cond(),
        attrs in prop::collection::vec(prop::option::of(gen_value()), 3),
        consts in prop::collection::vec(gen_value(), 3),
    ) {
        let text = render(&g);
        let mut item = Item::new();
        for (name, value) in ["x", "y", "z"].iter().zip(&attrs) {
            if let Some(value) = value {
                item.insert(name.to_string(), value.clone());
            }
        }
        let values: HashMap<String, AttributeValue> =
            consts.iter().enumerate().map(|(i, v)| (format!(":c{i}"), v.clone())).collect();
        let mut ph = Placeholders::new(None, Some(values));
        match parse_condition(&text, ConditionKind::Condition, &mut ph) {
            Ok(cond) => {
                let vals = [
                    attrs[0].clone(), attrs[1].clone(), attrs[2].clone(),
                    Some(consts[0].clone()), Some(consts[1].clone()), Some(consts[2].clone()),
                ];
                prop_assert_eq!(cond.evaluate(&item).unwrap(), reference(&g, &vals), "{}", text);
            }
            // Statically invalid combinations (same path twice, constant
            // BETWEEN bounds out of order or of two types, a number
            // constant in begins_with) are rejected, never evaluated.
            Err(e) => {
                let m = e.to_string();
                prop_assert!(
                    m.contains("distinct") || m.contains("BETWEEN") || m.contains("operand type"),
                    "{}: {}", text, m
                );
            }
        }
    }
}
