//! Legacy `AttributeUpdates`, `AttributesToGet` and `KeyConditions`.

use serde_json::Value;

use super::{INVALID, LegacyOp, attribute_value, check_attribute_name, malformed, object, operator_and_values};
use crate::expr::ast::{CmpOp, Operand, Path};
use crate::expr::error::ExprError;
use crate::expr::key_condition::{KeyCondition, LegacyKeyOp, key_condition_from_terms};
use crate::expr::projection::Projection;
use crate::expr::update::{Action, UpdateExpr};
use crate::model::{AttributeValue, KeySchema};

/// `AttributeUpdates`: per attribute an `Action` (`PUT` by default, `ADD`,
/// `DELETE`) and a `Value`. Key attributes are refused by
/// [`UpdateExpr::apply`], as for expressions.
pub fn attribute_updates(updates: &Value) -> Result<UpdateExpr, ExprError> {
    let mut actions = Vec::new();
    for (name, spec) in object(updates)? {
        check_attribute_name(name)?;
        let spec = object(spec)?;
        let action = match spec.get("Action") {
            None | Some(Value::Null) => "PUT",
            Some(Value::String(action)) => action.as_str(),
            Some(_) => return Err(malformed()),
        };
        let value = match spec.get("Value").filter(|v| !v.is_null()) {
            Some(json) => Some(attribute_value(json)?),
            None => None,
        };
        let path = Path::attribute(name.as_str());
        actions.push(match (action, value) {
            ("DELETE", None) => Action::Remove(path),
            (_, None) if action == "PUT" || action == "ADD" => {
                return Err(ExprError::new(format!(
                    "{INVALID}Only DELETE action is allowed when no attribute value is specified"
                )));
            }
            ("PUT", Some(value)) => Action::Set(path, Operand::Value(value)),
            ("ADD", Some(value @ AttributeValue::L(_))) => {
                // ADD of a list appends to the existing list, or creates it.
                let existing =
                    Operand::IfNotExists(path.clone(), Box::new(Operand::Value(AttributeValue::L(Vec::new()))));
                Action::Set(
                    path,
                    Operand::ListAppend(Box::new(existing), Box::new(Operand::Value(value))),
                )
            }
            ("ADD", Some(value)) => match value {
                AttributeValue::N(_) | AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_) => {
                    Action::Add(path, value)
                }
                other => {
                    return Err(ExprError::new(format!(
                        "{INVALID}ADD action is not supported for the type {}",
                        other.type_name()
                    )));
                }
            },
            ("DELETE", Some(value)) => match value {
                AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_) => Action::Delete(path, value),
                other => {
                    return Err(ExprError::new(format!(
                        "{INVALID}DELETE action with value is not supported for the type {}",
                        other.type_name()
                    )));
                }
            },
            (other, _) => {
                return Err(ExprError::new(format!(
                    "1 validation error detected: Value '{other}' at 'attributeUpdates.{name}.member.action' failed to \
                     satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
                )));
            }
        });
    }
    Ok(UpdateExpr::from_actions(actions))
}

/// `AttributesToGet`: a list of top-level attribute names.
pub fn attributes_to_get(names: &Value) -> Result<Projection, ExprError> {
    let list = names.as_array().ok_or_else(malformed)?;
    if list.is_empty() {
        return Err(ExprError::new(
            "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let mut seen: Vec<&str> = Vec::with_capacity(list.len());
    // A set beside the list: a long list is checked in linear time.
    let mut unique = std::collections::HashSet::with_capacity(list.len());
    for name in list {
        let name = name.as_str().ok_or_else(malformed)?;
        check_attribute_name(name)?;
        if !unique.insert(name) {
            return Err(ExprError::new(format!(
                "{INVALID}Duplicate value in attribute name: {name}"
            )));
        }
        seen.push(name);
    }
    Ok(Projection::from_paths(seen.into_iter().map(Path::attribute).collect()))
}

/// `KeyConditions`: per key attribute a `ComparisonOperator` and values;
/// `EQ` on the partition key, one indexable operator on the sort key.
pub fn key_conditions(conditions: &Value, schema: &KeySchema) -> Result<KeyCondition, ExprError> {
    let map = object(conditions)?;
    let mut terms = Vec::with_capacity(map.len());
    for (name, spec) in map {
        check_attribute_name(name)?;
        let (op, values) = operator_and_values(spec)?;
        let op = match op {
            LegacyOp::Eq => LegacyKeyOp::Cmp(CmpOp::Eq),
            LegacyOp::Le => LegacyKeyOp::Cmp(CmpOp::Le),
            LegacyOp::Lt => LegacyKeyOp::Cmp(CmpOp::Lt),
            LegacyOp::Ge => LegacyKeyOp::Cmp(CmpOp::Ge),
            LegacyOp::Gt => LegacyKeyOp::Cmp(CmpOp::Gt),
            LegacyOp::BeginsWith => LegacyKeyOp::BeginsWith,
            LegacyOp::Between => LegacyKeyOp::Between,
            LegacyOp::NotNull
            | LegacyOp::Null
            | LegacyOp::Ne
            | LegacyOp::Contains
            | LegacyOp::NotContains
            | LegacyOp::In => {
                return Err(ExprError::new(
                    "Attempted conditional constraint is not an indexable operation",
                ));
            }
        };
        terms.push((name.clone(), op, values));
    }
    if terms.is_empty() || terms.len() > 2 {
        return Err(ExprError::new("Conditions can be of length 1 or 2 only"));
    }
    key_condition_from_terms(terms, schema)
}
