//! The checked syntax trees every expression kind is parsed into. Placeholders
//! are already resolved: paths hold real attribute names and operands hold
//! the values from `ExpressionAttributeValues`.

use std::fmt;

use crate::model::AttributeValue;

/// Deepest document path DynamoDB accepts (attribute names plus indexes).
pub const MAX_PATH_DEPTH: usize = 32;

/// One step of a document path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathElem {
    /// A map key (or, first, a top-level attribute name).
    Attr(String),
    /// A list index.
    Index(usize),
}

/// A document path such as `a.b[2].c`; never empty, starts with an `Attr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path(pub Vec<PathElem>);

impl Path {
    /// A one-element path naming a top-level attribute.
    pub fn attribute(name: impl Into<String>) -> Path {
        Path(vec![PathElem::Attr(name.into())])
    }

    /// The top-level attribute the path starts in.
    pub fn head(&self) -> &str {
        match self.0.first() {
            Some(PathElem::Attr(name)) => name,
            // The parser and the legacy builders only create paths that
            // start with a name; an index-first path names nothing.
            _ => "",
        }
    }

    /// Looks the path up in an item.
    pub fn resolve<'a>(&self, item: &'a crate::model::Item) -> Option<&'a AttributeValue> {
        let mut elems = self.0.iter();
        let mut current = match elems.next()? {
            PathElem::Attr(name) => item.get(name)?,
            PathElem::Index(_) => return None,
        };
        for elem in elems {
            current = match (elem, current) {
                (PathElem::Attr(name), AttributeValue::M(map)) => map.get(name)?,
                (PathElem::Index(i), AttributeValue::L(list)) => list.get(*i)?,
                _ => return None,
            };
        }
        Some(current)
    }
}

/// DynamoDB's rendering in messages: `[a, b, [2], c]`.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, elem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match elem {
                PathElem::Attr(name) => f.write_str(name)?,
                PathElem::Index(index) => write!(f, "[{index}]")?,
            }
        }
        f.write_str("]")
    }
}

/// A value-producing operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// A document path into the item.
    Path(Path),
    /// A constant from `ExpressionAttributeValues`.
    Value(AttributeValue),
    /// `size(x)`: conditions only.
    Size(Box<Operand>),
    /// `if_not_exists(path, x)`: update SET values only.
    IfNotExists(Path, Box<Operand>),
    /// `list_append(x, y)`: update SET values only.
    ListAppend(Box<Operand>, Box<Operand>),
    /// `x + y` on numbers: update SET values only.
    Plus(Box<Operand>, Box<Operand>),
    /// `x - y` on numbers: update SET values only.
    Minus(Box<Operand>, Box<Operand>),
}

/// The comparators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator as written, for messages.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }
}

/// A boolean condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Compare(CmpOp, Operand, Operand),
    Between(Operand, Operand, Operand),
    /// `x IN (a, b, ...)`: 1 to 99 candidates.
    In(Operand, Vec<Operand>),
    AttributeExists(Path),
    AttributeNotExists(Path),
    AttributeType(Operand, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Item;

    #[test]
    fn paths_render_like_dynamodb() {
        let path = Path(vec![
            PathElem::Attr("a".into()),
            PathElem::Attr("b".into()),
            PathElem::Index(2),
            PathElem::Attr("[3]".into()),
        ]);
        assert_eq!(path.to_string(), "[a, b, [2], [3]]");
        assert_eq!(path.head(), "a");
    }

    #[test]
    fn paths_resolve_through_maps_and_lists() {
        let mut inner = std::collections::BTreeMap::new();
        inner.insert("c".to_string(), AttributeValue::Bool(true));
        let list = AttributeValue::L(vec![AttributeValue::Null, AttributeValue::M(inner)]);
        let mut item = Item::new();
        item.insert("a".into(), list);
        let path = |elems: Vec<PathElem>| Path(elems);
        let good = path(vec![
            PathElem::Attr("a".into()),
            PathElem::Index(1),
            PathElem::Attr("c".into()),
        ]);
        assert_eq!(good.resolve(&item), Some(&AttributeValue::Bool(true)));
        let past_end = path(vec![PathElem::Attr("a".into()), PathElem::Index(2)]);
        assert_eq!(past_end.resolve(&item), None);
        let wrong_kind = path(vec![PathElem::Attr("a".into()), PathElem::Attr("c".into())]);
        assert_eq!(wrong_kind.resolve(&item), None);
    }
}
