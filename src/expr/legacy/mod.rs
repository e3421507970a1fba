//! The legacy (pre-expression) request parameters, translated into the same
//! trees expressions produce so one evaluator serves both: `Expected`,
//! `QueryFilter`/`ScanFilter` (with `ConditionalOperator`), `KeyConditions`,
//! `AttributeUpdates` and `AttributesToGet`. Each function takes the raw JSON
//! of its request parameter; validation messages are DynamoDB's.

mod updates;

use serde_json::{Map, Value};

pub use updates::{attribute_updates, attributes_to_get, key_conditions};

use super::ast::{CmpOp, Cond, Operand, Path};
use super::condition::Condition;
use super::error::ExprError;
use super::eval::compare_scalars;
use crate::model::AttributeValue;

const INVALID: &str = "One or more parameter values were invalid: ";

/// The comparison operators of the legacy API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LegacyOp {
    Eq,
    Ne,
    Le,
    Lt,
    Ge,
    Gt,
    NotNull,
    Null,
    Contains,
    NotContains,
    BeginsWith,
    In,
    Between,
}

impl LegacyOp {
    fn parse(text: &str) -> Result<LegacyOp, ExprError> {
        Ok(match text {
            "EQ" => LegacyOp::Eq,
            "NE" => LegacyOp::Ne,
            "LE" => LegacyOp::Le,
            "LT" => LegacyOp::Lt,
            "GE" => LegacyOp::Ge,
            "GT" => LegacyOp::Gt,
            "NOT_NULL" => LegacyOp::NotNull,
            "NULL" => LegacyOp::Null,
            "CONTAINS" => LegacyOp::Contains,
            "NOT_CONTAINS" => LegacyOp::NotContains,
            "BEGINS_WITH" => LegacyOp::BeginsWith,
            "IN" => LegacyOp::In,
            "BETWEEN" => LegacyOp::Between,
            other => {
                return Err(ExprError::new(format!(
                    "1 validation error detected: Value '{other}' at 'comparisonOperator' failed to satisfy constraint: \
                     Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, \
                     BEGINS_WITH, GE, CONTAINS]"
                )));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            LegacyOp::Eq => "EQ",
            LegacyOp::Ne => "NE",
            LegacyOp::Le => "LE",
            LegacyOp::Lt => "LT",
            LegacyOp::Ge => "GE",
            LegacyOp::Gt => "GT",
            LegacyOp::NotNull => "NOT_NULL",
            LegacyOp::Null => "NULL",
            LegacyOp::Contains => "CONTAINS",
            LegacyOp::NotContains => "NOT_CONTAINS",
            LegacyOp::BeginsWith => "BEGINS_WITH",
            LegacyOp::In => "IN",
            LegacyOp::Between => "BETWEEN",
        }
    }

    /// Whether `count` operands suit the operator.
    fn arity_ok(self, count: usize) -> bool {
        match self {
            LegacyOp::NotNull | LegacyOp::Null => count == 0,
            LegacyOp::In => count >= 1,
            LegacyOp::Between => count == 2,
            _ => count == 1,
        }
    }

    /// Whether an operand of type `ty` suits the operator.
    fn type_ok(self, ty: &str) -> bool {
        match self {
            LegacyOp::Eq | LegacyOp::Ne | LegacyOp::NotNull | LegacyOp::Null => true,
            LegacyOp::Le | LegacyOp::Lt | LegacyOp::Ge | LegacyOp::Gt | LegacyOp::In | LegacyOp::Between => {
                matches!(ty, "S" | "N" | "B")
            }
            LegacyOp::Contains | LegacyOp::NotContains => matches!(ty, "S" | "N" | "B" | "BOOL" | "NULL"),
            LegacyOp::BeginsWith => matches!(ty, "S" | "B"),
        }
    }
}

/// Structure errors in the JSON itself (the API normally rejects these
/// before calling in).
fn malformed() -> ExprError {
    ExprError::new("Start of structure or map found where not expected.")
}

pub(crate) fn object(value: &Value) -> Result<&Map<String, Value>, ExprError> {
    value.as_object().ok_or_else(malformed)
}

pub(crate) fn attribute_value(json: &Value) -> Result<AttributeValue, ExprError> {
    AttributeValue::from_json(json).map_err(|e| ExprError::new(e.to_string()))
}

fn value_list(json: Option<&Value>) -> Result<Vec<AttributeValue>, ExprError> {
    match json {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(attribute_value).collect(),
        Some(_) => Err(malformed()),
    }
}

/// Checks operand count, common type, per-operator types and BETWEEN order.
pub(crate) fn check_operands(op: LegacyOp, values: &[AttributeValue]) -> Result<(), ExprError> {
    if !op.arity_ok(values.len()) {
        return Err(ExprError::new(format!(
            "{INVALID}Invalid number of argument(s) for the {} ComparisonOperator",
            op.name()
        )));
    }
    if let Some(first) = values.first()
        && values.iter().any(|v| v.type_name() != first.type_name())
    {
        return Err(ExprError::new(format!(
            "{INVALID}AttributeValues inside AttributeValueList must be of same type"
        )));
    }
    if let Some(bad) = values.iter().find(|v| !op.type_ok(v.type_name())) {
        return Err(ExprError::new(format!(
            "{INVALID}ComparisonOperator {} is not valid for {} AttributeValue type",
            op.name(),
            bad.type_name()
        )));
    }
    if op == LegacyOp::Between && compare_scalars(&values[0], &values[1]) == Some(std::cmp::Ordering::Greater) {
        return Err(ExprError::new(
            "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
        ));
    }
    Ok(())
}

/// The condition one legacy operator states about one top-level attribute.
pub(crate) fn legacy_cond(name: &str, op: LegacyOp, mut values: Vec<AttributeValue>) -> Cond {
    let path = Path::attribute(name);
    let attr = || Operand::Path(Path::attribute(name));
    let mut next = || {
        Operand::Value(if values.is_empty() {
            AttributeValue::Null
        } else {
            values.remove(0)
        })
    };
    let compare = |op: CmpOp, value: Operand| Cond::Compare(op, Operand::Path(Path::attribute(name)), value);
    match op {
        LegacyOp::Eq => compare(CmpOp::Eq, next()),
        LegacyOp::Ne => compare(CmpOp::Ne, next()),
        LegacyOp::Le => compare(CmpOp::Le, next()),
        LegacyOp::Lt => compare(CmpOp::Lt, next()),
        LegacyOp::Ge => compare(CmpOp::Ge, next()),
        LegacyOp::Gt => compare(CmpOp::Gt, next()),
        LegacyOp::NotNull => Cond::AttributeExists(path),
        LegacyOp::Null => Cond::AttributeNotExists(path),
        LegacyOp::Contains => Cond::Contains(attr(), next()),
        // NOT_CONTAINS is false for a missing attribute, unlike `NOT contains()`.
        LegacyOp::NotContains => Cond::And(
            Box::new(Cond::AttributeExists(path)),
            Box::new(Cond::Not(Box::new(Cond::Contains(attr(), next())))),
        ),
        LegacyOp::BeginsWith => Cond::BeginsWith(attr(), next()),
        LegacyOp::In => Cond::In(attr(), values.drain(..).map(Operand::Value).collect()),
        LegacyOp::Between => {
            let low = next();
            Cond::Between(attr(), low, next())
        }
    }
}

/// Joins per-attribute conditions with `ConditionalOperator` (AND by default).
fn join(conds: Vec<Cond>, conditional_operator: Option<&str>) -> Result<Condition, ExprError> {
    let or = match conditional_operator {
        None | Some("AND") => false,
        Some("OR") => true,
        Some(other) => {
            return Err(ExprError::new(format!(
                "1 validation error detected: Value '{other}' at 'conditionalOperator' failed to satisfy constraint: \
                 Member must satisfy enum value set: [OR, AND]"
            )));
        }
    };
    let root = balanced(conds, or).unwrap_or(Cond::Not(Box::new(Cond::AttributeExists(Path(Vec::new())))));
    Ok(Condition::from_cond(root))
}

/// Joins `conds` with AND (or OR) as a balanced tree, so that its depth is
/// the logarithm of their number: evaluating, checking and dropping a tree
/// recurse as deep as it is, and a chain of 100,000 legacy conditions would
/// overflow a thread's stack. AND and OR are associative, so the shape does
/// not change the result. `None` for no conditions.
fn balanced(conds: Vec<Cond>, or: bool) -> Option<Cond> {
    let mut level = conds;
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        let mut pairs = level.into_iter();
        while let Some(a) = pairs.next() {
            next.push(match pairs.next() {
                Some(b) if or => Cond::Or(Box::new(a), Box::new(b)),
                Some(b) => Cond::And(Box::new(a), Box::new(b)),
                None => a,
            });
        }
        level = next;
    }
    level.pop()
}

/// Refuses an attribute name that is empty or longer than DynamoDB allows,
/// before anything is built from it (the model's rule, with its message).
pub(crate) fn check_attribute_name(name: &str) -> Result<(), ExprError> {
    crate::model::check_attribute_name(name).map_err(|e| ExprError::new(e.to_string()))
}

/// `Expected`: per attribute either `Value`/`Exists` or `ComparisonOperator`
/// with `AttributeValueList` (or `Value`). An empty map is always true.
pub fn expected(expected: &Value, conditional_operator: Option<&str>) -> Result<Condition, ExprError> {
    let mut conds = Vec::new();
    for (name, spec) in object(expected)? {
        check_attribute_name(name)?;
        let spec = object(spec)?;
        let has = |key: &str| spec.get(key).is_some_and(|v| !v.is_null());
        if has("AttributeValueList") && has("Value") {
            return Err(ExprError::new(format!(
                "{INVALID}Value and AttributeValueList cannot be used together for Attribute: {name}"
            )));
        }
        if let Some(op) = spec.get("ComparisonOperator").filter(|v| !v.is_null()) {
            let op = LegacyOp::parse(op.as_str().ok_or_else(malformed)?)?;
            if has("Exists") {
                return Err(ExprError::new(format!(
                    "{INVALID}Exists and ComparisonOperator cannot be used together for Attribute: {name}"
                )));
            }
            if !matches!(op, LegacyOp::Null | LegacyOp::NotNull) && !has("AttributeValueList") && !has("Value") {
                return Err(ExprError::new(format!(
                    "{INVALID}Value or AttributeValueList must be used with ComparisonOperator: {} for Attribute: {name}",
                    op.name()
                )));
            }
            let values = match spec.get("Value").filter(|v| !v.is_null()) {
                Some(value) => vec![attribute_value(value)?],
                None => value_list(spec.get("AttributeValueList"))?,
            };
            check_operands(op, &values)?;
            conds.push(legacy_cond(name, op, values));
        } else if has("AttributeValueList") {
            return Err(ExprError::new(format!(
                "{INVALID}AttributeValueList can only be used with a ComparisonOperator for Attribute: {name}"
            )));
        } else {
            let exists = match spec.get("Exists") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => return Err(malformed()),
            };
            let value = spec.get("Value").filter(|v| !v.is_null());
            match (exists, value) {
                (Some(false), Some(_)) => {
                    return Err(ExprError::new(format!(
                        "{INVALID}Value cannot be used when Exists is false for Attribute: {name}"
                    )));
                }
                (Some(false), None) => conds.push(Cond::AttributeNotExists(Path::attribute(name.as_str()))),
                (exists, None) => {
                    let shown = exists.map_or("null", |_| "true");
                    return Err(ExprError::new(format!(
                        "{INVALID}Value must be provided when Exists is {shown} for Attribute: {name}"
                    )));
                }
                (_, Some(value)) => conds.push(legacy_cond(name, LegacyOp::Eq, vec![attribute_value(value)?])),
            }
        }
    }
    join(conds, conditional_operator)
}

/// `QueryFilter` / `ScanFilter`: per attribute a `ComparisonOperator` and its
/// `AttributeValueList`.
pub fn filter(filter: &Value, conditional_operator: Option<&str>) -> Result<Condition, ExprError> {
    let mut conds = Vec::new();
    for (name, spec) in object(filter)? {
        check_attribute_name(name)?;
        let (op, values) = operator_and_values(spec)?;
        conds.push(legacy_cond(name, op, values));
    }
    join(conds, conditional_operator)
}

/// Reads and checks `{ComparisonOperator, AttributeValueList}`.
pub(crate) fn operator_and_values(spec: &Value) -> Result<(LegacyOp, Vec<AttributeValue>), ExprError> {
    let spec = object(spec)?;
    let op = match spec.get("ComparisonOperator") {
        Some(Value::String(op)) => LegacyOp::parse(op)?,
        _ => {
            return Err(ExprError::new(
                "1 validation error detected: Value null at 'comparisonOperator' failed to satisfy constraint: \
                 Member must not be null",
            ));
        }
    };
    let values = value_list(spec.get("AttributeValueList"))?;
    check_operands(op, &values)?;
    Ok((op, values))
}

#[cfg(test)]
mod tests;
