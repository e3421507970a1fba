//! The one evaluator shared by conditions, filters, key conditions and the
//! right-hand sides of updates.
//!
//! DynamoDB's rules: a comparison between values of different types, or
//! involving a missing attribute, is false rather than an error (`<>` is the
//! exception: it is true whenever its operands are not equal, including
//! when one is missing). Only update arithmetic and `list_append` can fail at
//! evaluation time.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::ast::{CmpOp, Cond, Operand};
use super::error::ExprError;
use crate::model::{AttributeValue, Item, Number};

/// Evaluates a condition against an item (a missing item is an empty one).
pub fn eval_cond(cond: &Cond, item: &Item) -> bool {
    match cond {
        Cond::Compare(op, a, b) => {
            let (a, b) = (operand_value(a, item), operand_value(b, item));
            compare(*op, a.as_deref(), b.as_deref())
        }
        Cond::Between(x, low, high) => {
            let (x, low, high) = (
                operand_value(x, item),
                operand_value(low, item),
                operand_value(high, item),
            );
            match (x.as_deref(), low.as_deref(), high.as_deref()) {
                (Some(x), Some(low), Some(high)) => {
                    compare_scalars(low, x).is_some_and(Ordering::is_le)
                        && compare_scalars(x, high).is_some_and(Ordering::is_le)
                }
                _ => false,
            }
        }
        Cond::In(x, list) => match operand_value(x, item) {
            Some(x) => list
                .iter()
                .any(|candidate| operand_value(candidate, item).is_some_and(|c| values_equal(&x, &c))),
            None => false,
        },
        Cond::AttributeExists(path) => path.resolve(item).is_some(),
        Cond::AttributeNotExists(path) => path.resolve(item).is_none(),
        Cond::AttributeType(x, ty) => match (operand_value(x, item), operand_value(ty, item)) {
            (Some(x), Some(ty)) => matches!(&*ty, AttributeValue::S(name) if name == x.type_name()),
            _ => false,
        },
        Cond::BeginsWith(a, b) => match (operand_value(a, item), operand_value(b, item)) {
            (Some(a), Some(b)) => begins_with(&a, &b),
            _ => false,
        },
        Cond::Contains(a, b) => match (operand_value(a, item), operand_value(b, item)) {
            (Some(a), Some(b)) => contains(&a, &b),
            _ => false,
        },
        Cond::Not(inner) => !eval_cond(inner, item),
        Cond::And(a, b) => eval_cond(a, item) && eval_cond(b, item),
        Cond::Or(a, b) => eval_cond(a, item) || eval_cond(b, item),
    }
}

/// The value of a condition operand, `None` when it does not exist (a
/// missing path, or `size()` of something without a size).
fn operand_value<'a>(op: &'a Operand, item: &'a Item) -> Option<Cow<'a, AttributeValue>> {
    match op {
        Operand::Path(path) => path.resolve(item).map(Cow::Borrowed),
        Operand::Value(value) => Some(Cow::Borrowed(value)),
        Operand::Size(inner) => {
            let inner = operand_value(inner, item)?;
            size_of(&inner).map(|n| Cow::Owned(AttributeValue::N(Number::from(n as i64))))
        }
        // Update-only operands never appear in a checked condition; evaluate
        // them anyway rather than guess, treating failures as "missing".
        other => update_operand(other, item).ok().map(Cow::Owned),
    }
}

/// `size()`: bytes of a string or binary, elements of a set, list or map.
fn size_of(value: &AttributeValue) -> Option<usize> {
    Some(match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(v) => v.len(),
        AttributeValue::Ns(v) => v.len(),
        AttributeValue::Bs(v) => v.len(),
        AttributeValue::L(v) => v.len(),
        AttributeValue::M(m) => m.len(),
        AttributeValue::N(_) | AttributeValue::Bool(_) | AttributeValue::Null => return None,
    })
}

fn compare(op: CmpOp, a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return op == CmpOp::Ne;
    };
    match op {
        CmpOp::Eq => values_equal(a, b),
        CmpOp::Ne => !values_equal(a, b),
        CmpOp::Lt => compare_scalars(a, b).is_some_and(Ordering::is_lt),
        CmpOp::Le => compare_scalars(a, b).is_some_and(Ordering::is_le),
        CmpOp::Gt => compare_scalars(a, b).is_some_and(Ordering::is_gt),
        CmpOp::Ge => compare_scalars(a, b).is_some_and(Ordering::is_ge),
    }
}

/// Orders two numbers, two strings (by UTF-8 bytes) or two binaries;
/// `None` for any other pair.
pub fn compare_scalars(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// DynamoDB equality: same type and value; sets compare as sets, and lists
/// and maps element by element with the same rule.
pub fn values_equal(a: &AttributeValue, b: &AttributeValue) -> bool {
    use AttributeValue as V;
    fn same_set<T: Eq + std::hash::Hash>(x: &[T], y: &[T]) -> bool {
        // Sets hold no duplicates, so equal lengths plus inclusion is
        // equality; through a hash set, as sets of 100,000 members compared
        // pairwise would hold the writer for minutes.
        if x.len() != y.len() {
            return false;
        }
        if x.len() <= 16 {
            return x.iter().all(|e| y.contains(e));
        }
        let members: std::collections::HashSet<&T> = y.iter().collect();
        x.iter().all(|e| members.contains(e))
    }
    match (a, b) {
        (V::Ss(x), V::Ss(y)) => same_set(x, y),
        (V::Ns(x), V::Ns(y)) => same_set(x, y),
        (V::Bs(x), V::Bs(y)) => same_set(x, y),
        (V::L(x), V::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q)),
        (V::M(x), V::M(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w))),
        _ => a == b,
    }
}

fn begins_with(a: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (a, prefix) {
        (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
        (AttributeValue::B(s), AttributeValue::B(p)) => s.starts_with(p),
        _ => false,
    }
}

/// `contains()`: substring of a string, sub-sequence of a binary, member of
/// a set of the matching type, or element of a list.
fn contains(haystack: &AttributeValue, needle: &AttributeValue) -> bool {
    use AttributeValue as V;
    match (haystack, needle) {
        (V::S(s), V::S(n)) => s.contains(n.as_str()),
        (V::B(s), V::B(n)) => n.is_empty() || s.windows(n.len()).any(|w| w == n.as_slice()),
        (V::Ss(set), V::S(n)) => set.contains(n),
        (V::Ns(set), V::N(n)) => set.contains(n),
        (V::Bs(set), V::B(n)) => set.contains(n),
        (V::L(list), n) => list.iter().any(|e| values_equal(e, n)),
        _ => false,
    }
}

/// Evaluates an update SET value against the original item.
pub fn update_operand(op: &Operand, item: &Item) -> Result<AttributeValue, ExprError> {
    match op {
        Operand::Path(path) => path.resolve(item).cloned().ok_or_else(ExprError::missing_attribute),
        Operand::Value(value) => Ok(value.clone()),
        Operand::IfNotExists(path, fallback) => match path.resolve(item) {
            Some(value) => Ok(value.clone()),
            None => update_operand(fallback, item),
        },
        Operand::ListAppend(a, b) => match (update_operand(a, item)?, update_operand(b, item)?) {
            (AttributeValue::L(mut x), AttributeValue::L(y)) => {
                x.extend(y);
                Ok(AttributeValue::L(x))
            }
            _ => Err(ExprError::incorrect_data_type()),
        },
        Operand::Plus(a, b) | Operand::Minus(a, b) => match (update_operand(a, item)?, update_operand(b, item)?) {
            (AttributeValue::N(x), AttributeValue::N(y)) => {
                let result = if matches!(op, Operand::Plus(..)) {
                    x.add(&y)
                } else {
                    x.sub(&y)
                };
                Ok(AttributeValue::N(result?))
            }
            _ => Err(ExprError::incorrect_data_type()),
        },
        Operand::Size(_) => operand_value(op, item)
            .map(Cow::into_owned)
            .ok_or_else(ExprError::missing_attribute),
    }
}
