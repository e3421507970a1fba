//! Projection expressions: which attributes, or parts of maps and lists, a
//! read returns.

use std::collections::BTreeMap;

use super::ast::{Path, PathElem};
use super::check::{Checker, PROJECTION_ORDER};
use super::error::{ExprError, ExprKind};
use super::parser::parse_projection_syntax;
use super::placeholders::Placeholders;
use crate::model::{AttributeValue, Item};

/// A checked projection: a list of document paths.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    paths: Vec<Path>,
}

/// Parses and checks a `ProjectionExpression`.
pub fn parse_projection(text: &str, ph: &mut Placeholders) -> Result<Projection, ExprError> {
    let raw = parse_projection_syntax(text)?;
    let mut checker = Checker::new(ExprKind::Projection, ph);
    let paths: Vec<Path> = raw.iter().map(|p| checker.path(p)).collect();
    checker.paths_disjoint(&paths.iter().collect::<Vec<_>>());
    checker.finish(PROJECTION_ORDER)?;
    Ok(Projection { paths })
}

/// What to keep of a value: nothing yet, all of it, some keys of a map,
/// or some elements of a list.
enum Selection {
    Empty,
    Whole,
    Map(BTreeMap<String, Selection>),
    List(BTreeMap<usize, Selection>),
}

impl Selection {
    fn add(&mut self, elems: &[PathElem]) {
        let Some((first, rest)) = elems.split_first() else {
            *self = Selection::Whole;
            return;
        };
        if matches!(self, Selection::Empty) {
            *self = match first {
                PathElem::Attr(_) => Selection::Map(BTreeMap::new()),
                PathElem::Index(_) => Selection::List(BTreeMap::new()),
            };
        }
        let child = match (first, self) {
            (PathElem::Attr(name), Selection::Map(map)) => map.entry(name.clone()).or_insert(Selection::Empty),
            (PathElem::Index(i), Selection::List(list)) => list.entry(*i).or_insert(Selection::Empty),
            // Under a whole value, or a path that names a key where another
            // indexes (checked projections never do that): nothing to add.
            _ => return,
        };
        child.add(rest);
    }

    /// The selected part of `value`, or `None` when nothing selected exists.
    fn extract(&self, value: &AttributeValue) -> Option<AttributeValue> {
        match (self, value) {
            (Selection::Empty, _) => None,
            (Selection::Whole, v) => Some(v.clone()),
            (Selection::Map(keys), AttributeValue::M(map)) => {
                let out: BTreeMap<String, AttributeValue> = keys
                    .iter()
                    .filter_map(|(k, sel)| Some((k.clone(), sel.extract(map.get(k)?)?)))
                    .collect();
                (!out.is_empty()).then_some(AttributeValue::M(out))
            }
            (Selection::List(indexes), AttributeValue::L(list)) => {
                let out: Vec<AttributeValue> = indexes
                    .iter()
                    .filter_map(|(i, sel)| sel.extract(list.get(*i)?))
                    .collect();
                (!out.is_empty()).then_some(AttributeValue::L(out))
            }
            _ => None,
        }
    }
}

impl Projection {
    /// A projection of the given paths (legacy `AttributesToGet`, and the
    /// paths an update touched).
    pub(crate) fn from_paths(paths: Vec<Path>) -> Projection {
        Projection { paths }
    }

    /// The projected paths, in written order.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// The projected part of `item`. Nested paths keep their enclosing maps
    /// and lists (`a.b[1]` gives `{a: {b: [element 1]}}`); several indexes
    /// of one list come back in index order; missing parts are left out.
    pub fn apply(&self, item: &Item) -> Item {
        let mut root = Selection::Map(BTreeMap::new());
        for path in &self.paths {
            root.add(&path.0);
        }
        let Selection::Map(top) = root else {
            return Item::new();
        };
        top.iter()
            .filter_map(|(name, sel)| Some((name.clone(), sel.extract(item.get(name)?)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::item_from_json;
    use serde_json::json;
    use std::collections::HashMap;

    fn project(text: &str, item: serde_json::Value) -> serde_json::Value {
        let names: HashMap<String, String> = [("#s".to_string(), "status".to_string())].into();
        let mut ph = Placeholders::new(Some(names), None);
        let projection = parse_projection(text, &mut ph).unwrap();
        crate::model::item_to_json(&projection.apply(&item_from_json(&item).unwrap()))
    }

    fn sample() -> serde_json::Value {
        json!({
            "a": {"M": {"b": {"L": [{"S": "x"}, {"S": "y"}, {"M": {"c": {"N": "1"}, "d": {"N": "2"}}}]}, "e": {"S": "z"}}},
            "status": {"S": "on"},
            "n": {"N": "7"}
        })
    }

    #[test]
    fn projects_nested_parts() {
        let cases = [
            ("n", json!({"n": {"N": "7"}})),
            ("#s, n", json!({"n": {"N": "7"}, "status": {"S": "on"}})),
            ("a.b[1]", json!({"a": {"M": {"b": {"L": [{"S": "y"}]}}}})),
            (
                "a.b[2], a.b[0]",
                json!({"a": {"M": {"b": {"L": [{"S": "x"}, {"M": {"c": {"N": "1"}, "d": {"N": "2"}}}]}}}}),
            ),
            (
                "a.b[2].d, a.e",
                json!({"a": {"M": {"b": {"L": [{"M": {"d": {"N": "2"}}}]}, "e": {"S": "z"}}}}),
            ),
            ("a.b[7], absent, n.x, a.e[0]", json!({})),
        ];
        for (text, expected) in cases {
            assert_eq!(project(text, sample()), expected, "{text}");
        }
    }

    #[test]
    fn rejects_bad_projections() {
        let err = |text: &str| {
            let names: HashMap<String, String> = [("#c".to_string(), "c".to_string())].into();
            parse_projection(text, &mut Placeholders::new(Some(names), None))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("a, status"),
            "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: status"
        );
        assert_eq!(
            err("a, #x"),
            "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #x"
        );
        assert_eq!(
            err("c, #c.a"),
            "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c], path two: [c, a]"
        );
        assert_eq!(
            err("a.b, a[1]"),
            "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]"
        );
        assert_eq!(
            err("a b"),
            "Invalid ProjectionExpression: Syntax error; token: \"b\", near: \"a b\""
        );
        assert_eq!(
            err("a,"),
            "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\""
        );
    }
}
