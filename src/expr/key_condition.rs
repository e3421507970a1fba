//! Query key conditions: equality on the partition key and at most one of
//! `=, <, <=, >, >=, BETWEEN, begins_with` on the sort key. Parsed with the
//! condition grammar, then reduced to a [`KeyCondition`] with DynamoDB's
//! messages for everything a key condition may not contain.

use std::cmp::Ordering;
use std::ops::Bound;

use super::ast::{CmpOp, Cond, Operand, Path};
use super::condition::parse_checked;
use super::error::{ExprError, ExprKind};
use super::eval::compare_scalars;
use super::placeholders::Placeholders;
use crate::model::{AttributeValue, KeySchema, ScalarType};

/// A Query's key condition.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyCondition {
    /// The partition key value (equality is the only operator allowed).
    pub hash: AttributeValue,
    /// The sort key condition, if any.
    pub range: Option<RangeCondition>,
}

/// The condition on the sort key.
#[derive(Clone, Debug, PartialEq)]
pub enum RangeCondition {
    Eq(AttributeValue),
    Lt(AttributeValue),
    Le(AttributeValue),
    Gt(AttributeValue),
    Ge(AttributeValue),
    /// Inclusive on both ends; lower <= upper is checked at parse time.
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

impl RangeCondition {
    /// True when a sort key value satisfies the condition.
    pub fn matches(&self, value: &AttributeValue) -> bool {
        let cmp = |bound: &AttributeValue| compare_scalars(value, bound);
        match self {
            RangeCondition::Eq(v) => cmp(v) == Some(Ordering::Equal),
            RangeCondition::Lt(v) => cmp(v) == Some(Ordering::Less),
            RangeCondition::Le(v) => cmp(v).is_some_and(Ordering::is_le),
            RangeCondition::Gt(v) => cmp(v) == Some(Ordering::Greater),
            RangeCondition::Ge(v) => cmp(v).is_some_and(Ordering::is_ge),
            RangeCondition::Between(lo, hi) => {
                cmp(lo).is_some_and(Ordering::is_ge) && cmp(hi).is_some_and(Ordering::is_le)
            }
            RangeCondition::BeginsWith(prefix) => match (value, prefix) {
                (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
                (AttributeValue::B(s), AttributeValue::B(p)) => s.starts_with(p),
                _ => false,
            },
        }
    }

    /// The sort-key range to scan, in the key's own order. `begins_with`
    /// starts at the prefix and is unbounded above: matching keys are
    /// contiguous, so a scan stops at the first key `matches` rejects.
    pub fn bounds(&self) -> (Bound<&AttributeValue>, Bound<&AttributeValue>) {
        use Bound::{Excluded, Included, Unbounded};
        match self {
            RangeCondition::Eq(v) => (Included(v), Included(v)),
            RangeCondition::Lt(v) => (Unbounded, Excluded(v)),
            RangeCondition::Le(v) => (Unbounded, Included(v)),
            RangeCondition::Gt(v) => (Excluded(v), Unbounded),
            RangeCondition::Ge(v) => (Included(v), Unbounded),
            RangeCondition::Between(lo, hi) => (Included(lo), Included(hi)),
            RangeCondition::BeginsWith(prefix) => (Included(prefix), Unbounded),
        }
    }
}

/// One condition on one key attribute, before schema checks.
struct KeyTerm {
    attribute: String,
    op: TermOp,
    values: Vec<AttributeValue>,
}

#[derive(Clone, Copy, PartialEq)]
enum TermOp {
    Cmp(CmpOp),
    Between,
    BeginsWith,
}

/// Parses a `KeyConditionExpression` against the table's (or index's) key
/// schema.
pub fn parse_key_condition(text: &str, schema: &KeySchema, ph: &mut Placeholders) -> Result<KeyCondition, ExprError> {
    let root = parse_checked(text, ExprKind::KeyCondition, ph)?;
    let mut terms = Vec::new();
    collect_terms(&root, &mut terms)?;
    build_key_condition(terms, schema)
}

fn invalid_operator(op: &str) -> ExprError {
    ExprError::new(format!("Invalid operator used in KeyConditionExpression: {op}"))
}

fn invalid_condition(detail: &str) -> ExprError {
    ExprError::new(format!("Invalid condition in KeyConditionExpression: {detail}"))
}

fn collect_terms(cond: &Cond, terms: &mut Vec<KeyTerm>) -> Result<(), ExprError> {
    let (op, args): (TermOp, Vec<&Operand>) = match cond {
        Cond::And(a, b) => {
            collect_terms(a, terms)?;
            return collect_terms(b, terms);
        }
        Cond::Or(..) => return Err(invalid_operator("OR")),
        Cond::Not(_) => return Err(invalid_operator("NOT")),
        Cond::In(..) => return Err(invalid_operator("IN")),
        Cond::Compare(CmpOp::Ne, ..) => return Err(invalid_operator("<>")),
        Cond::AttributeExists(_) => return Err(invalid_operator("attribute_exists")),
        Cond::AttributeNotExists(_) => return Err(invalid_operator("attribute_not_exists")),
        Cond::AttributeType(..) => return Err(invalid_operator("attribute_type")),
        Cond::Contains(..) => return Err(invalid_operator("contains")),
        Cond::Compare(op, a, b) => (TermOp::Cmp(*op), vec![a, b]),
        Cond::Between(a, b, c) => {
            if !matches!(a, Operand::Path(_)) {
                return Err(invalid_condition(
                    "BETWEEN operator must have the key attribute as its first operand",
                ));
            }
            (TermOp::Between, vec![a, b, c])
        }
        Cond::BeginsWith(a, b) => {
            if !matches!(a, Operand::Path(_)) {
                return Err(invalid_condition(
                    "begins_with operator must have the key attribute as its first operand",
                ));
            }
            (TermOp::BeginsWith, vec![a, b])
        }
    };
    let mut attribute: Option<(usize, &Path)> = None;
    let mut values = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        match arg {
            Operand::Path(path) => {
                if attribute.is_some() {
                    return Err(invalid_condition("Multiple attribute names used in one condition"));
                }
                if path.0.len() > 1 {
                    return Err(ExprError::new(
                        "KeyConditionExpressions cannot have conditions on nested attributes",
                    ));
                }
                attribute = Some((i, path));
            }
            Operand::Value(v) => values.push(v.clone()),
            _ => {
                return Err(ExprError::new(
                    "KeyConditionExpressions cannot contain nested operations",
                ));
            }
        }
    }
    let Some((position, path)) = attribute else {
        return Err(invalid_condition("No key attribute specified"));
    };
    let name = path.head().to_string();
    if terms.iter().any(|t| t.attribute == name) {
        return Err(ExprError::invalid(
            ExprKind::KeyCondition,
            "KeyConditionExpressions must only contain one condition per key",
        ));
    }
    // `:v < sk` is `sk > :v`.
    let op = match op {
        TermOp::Cmp(cmp) if position != 0 => TermOp::Cmp(cmp.flipped()),
        other => other,
    };
    terms.push(KeyTerm {
        attribute: name,
        op,
        values,
    });
    Ok(())
}

fn scalar_matches(ty: ScalarType, value: &AttributeValue) -> bool {
    matches!(
        (ty, value),
        (ScalarType::S, AttributeValue::S(_))
            | (ScalarType::N, AttributeValue::N(_))
            | (ScalarType::B, AttributeValue::B(_))
    )
}

fn build_key_condition(terms: Vec<KeyTerm>, schema: &KeySchema) -> Result<KeyCondition, ExprError> {
    let key_count = 1 + usize::from(schema.range.is_some());
    if terms.len() > key_count {
        return Err(ExprError::new(format!(
            "The number of query conditions ({}) exceeds the number of key attributes defined in the schema ({key_count})",
            terms.len()
        )));
    }
    let missed = |name: &str| ExprError::new(format!("Query condition missed key schema element: {name}"));
    let find = |name: &str| terms.iter().find(|t| t.attribute == name);
    let hash = find(&schema.hash.name).ok_or_else(|| missed(&schema.hash.name))?;
    let range_term = match &schema.range {
        Some(range) if terms.len() == 2 => Some((find(&range.name).ok_or_else(|| missed(&range.name))?, range.ty)),
        _ => None,
    };
    if hash.op != TermOp::Cmp(CmpOp::Eq) {
        return Err(ExprError::new("Query key condition not supported"));
    }
    let type_mismatch = || {
        ExprError::new("One or more parameter values were invalid: Condition parameter type does not match schema type")
    };
    let mut checked = vec![(hash, schema.hash.ty)];
    checked.extend(range_term);
    if checked
        .iter()
        .any(|(t, ty)| t.values.iter().any(|v| !scalar_matches(*ty, v)))
    {
        return Err(type_mismatch());
    }
    let value = |t: &KeyTerm, i: usize| t.values.get(i).cloned().ok_or_else(type_mismatch);
    let range = match range_term {
        None => None,
        Some((t, _)) => Some(match t.op {
            TermOp::Cmp(CmpOp::Eq) => RangeCondition::Eq(value(t, 0)?),
            TermOp::Cmp(CmpOp::Lt) => RangeCondition::Lt(value(t, 0)?),
            TermOp::Cmp(CmpOp::Le) => RangeCondition::Le(value(t, 0)?),
            TermOp::Cmp(CmpOp::Gt) => RangeCondition::Gt(value(t, 0)?),
            TermOp::Cmp(CmpOp::Ge) => RangeCondition::Ge(value(t, 0)?),
            TermOp::Between => RangeCondition::Between(value(t, 0)?, value(t, 1)?),
            TermOp::BeginsWith => RangeCondition::BeginsWith(value(t, 0)?),
            // `<>` was rejected while collecting terms.
            TermOp::Cmp(CmpOp::Ne) => return Err(invalid_operator("<>")),
        }),
    };
    Ok(KeyCondition {
        hash: value(hash, 0)?,
        range,
    })
}

/// Builds a key condition from already-typed terms (legacy `KeyConditions`).
pub(crate) fn key_condition_from_terms(
    terms: Vec<(String, LegacyKeyOp, Vec<AttributeValue>)>,
    schema: &KeySchema,
) -> Result<KeyCondition, ExprError> {
    let terms = terms
        .into_iter()
        .map(|(attribute, op, values)| KeyTerm {
            attribute,
            op: match op {
                LegacyKeyOp::Cmp(c) => TermOp::Cmp(c),
                LegacyKeyOp::Between => TermOp::Between,
                LegacyKeyOp::BeginsWith => TermOp::BeginsWith,
            },
            values,
        })
        .collect();
    build_key_condition(terms, schema)
}

/// Operators legacy `KeyConditions` can express on a key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum LegacyKeyOp {
    Cmp(CmpOp),
    Between,
    BeginsWith,
}
