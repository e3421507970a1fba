//! Condition and filter expressions: parse, check, evaluate.

use std::collections::HashSet;

use super::ast::{Cond, Operand, Path};
use super::check::{CONDITION_ORDER, Checker, Slot};
use super::error::{ExprError, ExprKind};
use super::eval::eval_cond;
use super::parser::parse_condition_syntax;
use super::placeholders::Placeholders;
use crate::model::Item;

/// Which parameter a condition comes from; selects the error prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionKind {
    /// `ConditionExpression`: "Invalid ConditionExpression: ...".
    Condition,
    /// `FilterExpression`: "Invalid FilterExpression: ...".
    Filter,
}

impl From<ConditionKind> for ExprKind {
    fn from(kind: ConditionKind) -> ExprKind {
        match kind {
            ConditionKind::Condition => ExprKind::Condition,
            ConditionKind::Filter => ExprKind::Filter,
        }
    }
}

/// A checked condition, ready to evaluate against items.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub(crate) root: Cond,
}

/// Parses and checks a `ConditionExpression` or `FilterExpression`,
/// resolving its placeholders from `ph`.
pub fn parse_condition(text: &str, kind: ConditionKind, ph: &mut Placeholders) -> Result<Condition, ExprError> {
    Ok(Condition {
        root: parse_checked(text, kind.into(), ph)?,
    })
}

/// Shared by conditions, filters and key conditions.
pub(crate) fn parse_checked(text: &str, kind: ExprKind, ph: &mut Placeholders) -> Result<Cond, ExprError> {
    let (node, redundant_parens) = parse_condition_syntax(text, kind)?;
    let mut checker = Checker::new(kind, ph);
    if redundant_parens {
        checker.note(Slot::Parens, "The expression has redundant parentheses;".to_string());
    }
    let root = checker.cond(&node);
    checker.finish(CONDITION_ORDER)?;
    Ok(root)
}

impl Condition {
    /// Evaluates the condition; pass an empty item when the item does not
    /// exist. Conditions cannot fail at evaluation time in DynamoDB's
    /// language, so this is always `Ok`; the `Result` keeps the interface
    /// open for the engine.
    pub fn evaluate(&self, item: &Item) -> Result<bool, ExprError> {
        Ok(eval_cond(&self.root, item))
    }

    /// Top-level attribute names the condition reads, in first-use order:
    /// Query uses it to reject filters on key attributes ("Filter Expression
    /// can only contain non-primary key attributes: Primary key attribute: pk").
    pub fn attribute_names(&self) -> Vec<&str> {
        let mut names = Names::default();
        collect_cond(&self.root, &mut names);
        names.order
    }

    /// Wraps an already-built tree (legacy parameters build their own).
    pub(crate) fn from_cond(root: Cond) -> Condition {
        Condition { root }
    }
}

/// Names in first-use order, with a set beside them so that a condition of
/// many attributes (100,000 legacy conditions) is collected in linear time.
#[derive(Default)]
struct Names<'a> {
    order: Vec<&'a str>,
    seen: HashSet<&'a str>,
}

fn push_path<'a>(path: &'a Path, names: &mut Names<'a>) {
    let head = path.head();
    if !head.is_empty() && names.seen.insert(head) {
        names.order.push(head);
    }
}

fn collect_operand<'a>(op: &'a Operand, names: &mut Names<'a>) {
    match op {
        Operand::Path(path) => push_path(path, names),
        Operand::Value(_) => {}
        Operand::Size(inner) => collect_operand(inner, names),
        Operand::IfNotExists(path, inner) => {
            push_path(path, names);
            collect_operand(inner, names);
        }
        Operand::ListAppend(a, b) | Operand::Plus(a, b) | Operand::Minus(a, b) => {
            collect_operand(a, names);
            collect_operand(b, names);
        }
    }
}

fn collect_cond<'a>(cond: &'a Cond, names: &mut Names<'a>) {
    match cond {
        Cond::Compare(_, a, b) | Cond::AttributeType(a, b) | Cond::BeginsWith(a, b) | Cond::Contains(a, b) => {
            collect_operand(a, names);
            collect_operand(b, names);
        }
        Cond::Between(a, b, c) => {
            for op in [a, b, c] {
                collect_operand(op, names);
            }
        }
        Cond::In(a, list) => {
            collect_operand(a, names);
            for op in list {
                collect_operand(op, names);
            }
        }
        Cond::AttributeExists(path) | Cond::AttributeNotExists(path) => push_path(path, names),
        Cond::Not(inner) => collect_cond(inner, names),
        Cond::And(a, b) | Cond::Or(a, b) => {
            collect_cond(a, names);
            collect_cond(b, names);
        }
    }
}
