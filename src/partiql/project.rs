//! A SELECT's projection: each path comes back under its last named
//! component, as DynamoDB answers (`SELECT m.x` gives `{x: ...}`, and
//! `SELECT a.b[1]` gives `{b: [element 1]}`), not inside its enclosing
//! maps as a ProjectionExpression would.

use std::collections::BTreeMap;

use crate::expr::Projection;
use crate::expr::ast::{Path, PathElem};
use crate::model::{AttributeValue, Item};

/// The part of `item` that `paths` select, each path under its last named
/// component; a path whose enclosing maps are missing gives nothing.
pub fn project(paths: &[Path], item: &Item) -> Item {
    let mut by_scope: BTreeMap<&[PathElem], Vec<Path>> = BTreeMap::new();
    for path in paths {
        let last = path.0.iter().rposition(|e| matches!(e, PathElem::Attr(_))).unwrap_or(0);
        let (scope, rest) = path.0.split_at(last);
        by_scope.entry(scope).or_default().push(Path(rest.to_vec()));
    }
    let mut out = Item::new();
    for (scope, rests) in by_scope {
        let inner = match scope {
            [] => Some(item),
            _ => match Path(scope.to_vec()).resolve(item) {
                Some(AttributeValue::M(map)) => Some(map),
                _ => None,
            },
        };
        if let Some(inner) = inner {
            out.extend(Projection::from_paths(rests).apply(inner));
        }
    }
    out
}
