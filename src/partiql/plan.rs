//! How a statement reaches its items, decided from its WHERE clause and the
//! key schema alone (pure): a whole key fixed by equalities is a single
//! item (GetItem, or the item a write changes); a partition key fixed is a
//! Query, with a sort-key range where the clause gives one (a key confined
//! to a few values by `IN` or `OR`, a Query of each); anything else is a
//! Scan. Only the top-level `AND`s of the clause are looked at, as
//! DynamoDB does; the whole clause is still evaluated on every item read.

use super::ast::{Returning, Statement, Target};
use super::error::PartiqlError;
use crate::expr::ast::{CmpOp, Cond, Operand, Path, PathElem};
use crate::expr::{Action, RangeCondition, compare_scalars};
use crate::model::{AttributeValue, Item, KeyAttribute, KeySchema};

/// How a SELECT reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Access {
    /// One item, by its whole key.
    Key(Item),
    /// One partition, optionally narrowed by a sort-key range.
    Partition(AttributeValue, Option<RangeCondition>),
    /// Several partitions (`pk IN [...]`, `pk = a OR pk = b`), in the
    /// order the clause names them, each narrowed by the same range.
    Partitions(Vec<AttributeValue>, Option<RangeCondition>),
    /// The whole table or index.
    Scan,
}

/// The conditions joined by the top-level ANDs of `cond`.
pub fn conjuncts(cond: &Cond) -> Vec<&Cond> {
    let mut out = Vec::new();
    let mut stack = vec![cond];
    while let Some(c) = stack.pop() {
        match c {
            Cond::And(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            other => out.push(other),
        }
    }
    out
}

/// The top-level attribute a one-step path names.
fn attribute(path: &Path) -> Option<&str> {
    match path.0.as_slice() {
        [PathElem::Attr(name)] => Some(name),
        _ => None,
    }
}

/// `attr <op> value` or `value <op> attr`, turned to put the attribute
/// first, when `c` compares attribute `name` with a value.
fn comparison<'c>(c: &'c Cond, name: &str) -> Option<(CmpOp, &'c AttributeValue)> {
    match c {
        Cond::Compare(op, Operand::Path(p), Operand::Value(v)) if attribute(p) == Some(name) => Some((*op, v)),
        Cond::Compare(op, Operand::Value(v), Operand::Path(p)) if attribute(p) == Some(name) => Some((op.flipped(), v)),
        _ => None,
    }
}

/// The value an equality in `parts` fixes key attribute `key` to, when it
/// has the key's type.
fn equality<'c>(parts: &[&'c Cond], key: &KeyAttribute) -> Option<&'c AttributeValue> {
    parts.iter().find_map(|c| match comparison(c, &key.name) {
        Some((CmpOp::Eq, v)) if v.type_name() == key.ty.as_str() => Some(v),
        _ => None,
    })
}

/// The whole key `cond` fixes by equalities, if it fixes every key attribute.
pub fn key_of(cond: Option<&Cond>, schema: &KeySchema) -> Option<Item> {
    let parts = conjuncts(cond?);
    let mut key = Item::new();
    key.insert(schema.hash.name.clone(), equality(&parts, &schema.hash)?.clone());
    if let Some(range) = &schema.range {
        key.insert(range.name.clone(), equality(&parts, range)?.clone());
    }
    Some(key)
}

/// How a SELECT with `cond` reads a table or index keyed by `schema`.
pub fn access(cond: Option<&Cond>, schema: &KeySchema) -> Access {
    if let Some(key) = key_of(cond, schema) {
        return Access::Key(key);
    }
    let Some(cond) = cond else {
        return Access::Scan;
    };
    let parts = conjuncts(cond);
    let Some(mut partitions) = parts.iter().find_map(|c| partition_values(c, &schema.hash)) else {
        return Access::Scan;
    };
    let sort = schema.range.as_ref().and_then(|range| sort_range(&parts, range));
    match partitions.len() {
        1 => Access::Partition(partitions.remove(0), sort),
        _ => Access::Partitions(partitions, sort),
    }
}

/// The partition key values one conjunct confines the key to, each once:
/// an equality, an `IN` list, or equalities and `IN`s joined by `OR`
/// (DynamoDB reads those partitions rather than scanning). `None` when the
/// conjunct lets the key take any other value.
pub fn partition_values(c: &Cond, hash: &KeyAttribute) -> Option<Vec<AttributeValue>> {
    let typed = |v: &AttributeValue| v.type_name() == hash.ty.as_str();
    let mut values: Vec<AttributeValue> = Vec::new();
    let mut stack = vec![c];
    while let Some(c) = stack.pop() {
        match c {
            Cond::Or(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            Cond::In(Operand::Path(p), candidates) if attribute(p) == Some(hash.name.as_str()) => {
                for candidate in candidates {
                    match candidate {
                        Operand::Value(v) if typed(v) => push_distinct(&mut values, v),
                        _ => return None,
                    }
                }
            }
            other => match comparison(other, &hash.name) {
                Some((CmpOp::Eq, v)) if typed(v) => push_distinct(&mut values, v),
                _ => return None,
            },
        }
    }
    Some(values)
}

fn push_distinct(values: &mut Vec<AttributeValue>, v: &AttributeValue) {
    if !values.contains(v) {
        values.push(v.clone());
    }
}

/// The first conjunct that bounds the sort key with values of its type.
fn sort_range(parts: &[&Cond], key: &KeyAttribute) -> Option<RangeCondition> {
    let typed = |v: &AttributeValue| v.type_name() == key.ty.as_str();
    parts.iter().find_map(|c| {
        if let Some((op, v)) = comparison(c, &key.name).filter(|(_, v)| typed(v)) {
            return match op {
                CmpOp::Eq => Some(RangeCondition::Eq(v.clone())),
                CmpOp::Lt => Some(RangeCondition::Lt(v.clone())),
                CmpOp::Le => Some(RangeCondition::Le(v.clone())),
                CmpOp::Gt => Some(RangeCondition::Gt(v.clone())),
                CmpOp::Ge => Some(RangeCondition::Ge(v.clone())),
                CmpOp::Ne => None,
            };
        }
        match c {
            Cond::Between(Operand::Path(p), Operand::Value(lo), Operand::Value(hi))
                if attribute(p) == Some(key.name.as_str())
                    && typed(lo)
                    && typed(hi)
                    && compare_scalars(lo, hi).is_some_and(|o| o.is_le()) =>
            {
                Some(RangeCondition::Between(lo.clone(), hi.clone()))
            }
            Cond::BeginsWith(
                Operand::Path(p),
                Operand::Value(prefix @ (AttributeValue::S(_) | AttributeValue::B(_))),
            ) if attribute(p) == Some(key.name.as_str()) && typed(prefix) => {
                Some(RangeCondition::BeginsWith(prefix.clone()))
            }
            _ => None,
        }
    })
}

/// The conjuncts of a write's WHERE clause other than its key equalities:
/// the condition the item must meet (`None` when there is none).
pub fn extra_condition(cond: &Cond, schema: &KeySchema) -> Option<Cond> {
    let is_key_equality = |c: &Cond| {
        schema
            .names()
            .any(|name| matches!(comparison(c, name), Some((CmpOp::Eq, _))))
    };
    let rest: Vec<Cond> = conjuncts(cond)
        .into_iter()
        .filter(|c| !is_key_equality(c))
        .cloned()
        .collect();
    rest.into_iter().reduce(|a, b| Cond::And(Box::new(a), Box::new(b)))
}

/// What a write statement does to its one item, decided against the
/// table's key schema: the engine runs it as a conditional put, update or
/// delete, and a transaction as the matching action.
#[derive(Clone, Debug, PartialEq)]
pub struct WritePlan {
    pub table: String,
    /// The item's key (for an INSERT, taken from the item).
    pub key: Item,
    pub change: Change,
    /// What the item must satisfy for the write to happen.
    pub condition: Option<Cond>,
    pub returning: Option<Returning>,
}

/// The change a write makes.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// INSERT: create the item; it must not exist (DuplicateItemException).
    Insert(Item),
    /// UPDATE: change the item, which must exist.
    Update(Vec<Action>),
    /// DELETE: remove the item, if there is one.
    Delete,
    /// EXISTS: change nothing; the item must exist and meet the condition
    /// (a transaction's ConditionCheck).
    Check,
}

/// Plans an INSERT, UPDATE, DELETE or EXISTS on a table keyed by
/// `schema`; `None` for a SELECT.
pub fn write_plan(statement: &Statement, schema: &KeySchema) -> Result<Option<WritePlan>, PartiqlError> {
    let (target, change, condition, returning) = match statement {
        Statement::Select(_) => return Ok(None),
        Statement::Insert(insert) => {
            let missing = Cond::AttributeNotExists(Path::attribute(schema.hash.name.clone()));
            let plan = WritePlan {
                table: insert.target.table.clone(),
                key: schema
                    .names()
                    .filter_map(|n| Some((n.to_string(), insert.item.get(n)?.clone())))
                    .collect(),
                change: Change::Insert(insert.item.clone()),
                condition: Some(missing),
                returning: None,
            };
            return on_table(&insert.target).map(|()| Some(plan));
        }
        Statement::Update(update) => (
            &update.target,
            Change::Update(update.actions.clone()),
            // The whole clause: its key equalities fail on a missing item.
            update.condition.clone(),
            update.returning,
        ),
        Statement::Delete(delete) => {
            if let Some(returning) = delete.returning.filter(|r| *r != Returning::AllOld) {
                return Err(PartiqlError::new(format!(
                    "Invalid returning clause: RETURNING {} *. Only RETURNING ALL OLD * is allowed in DELETE statements.",
                    returning.words()
                )));
            }
            // A missing item is deleted silently; an existing one must meet
            // the conditions beyond its key.
            let extra = delete.condition.as_ref().and_then(|c| extra_condition(c, schema));
            let missing = Cond::AttributeNotExists(Path::attribute(schema.hash.name.clone()));
            let condition = extra.map(|extra| Cond::Or(Box::new(missing), Box::new(extra)));
            (&delete.target, Change::Delete, condition, delete.returning)
        }
        Statement::Exists(select) => {
            // One item, by its whole key, and a condition beyond the key.
            let extra = select.condition.as_ref().and_then(|c| extra_condition(c, schema));
            let (Some(extra), Some(_)) = (extra, key_of(select.condition.as_ref(), schema)) else {
                return Err(PartiqlError::new(
                    "EXISTS() must contain a single item read with additional condition",
                ));
            };
            let exists = Cond::AttributeExists(Path::attribute(schema.hash.name.clone()));
            let condition = Cond::And(Box::new(exists), Box::new(extra));
            (&select.target, Change::Check, Some(condition), None)
        }
    };
    on_table(target)?;
    let key = key_of(condition_of(statement), schema).ok_or_else(PartiqlError::missing_key_equality)?;
    Ok(Some(WritePlan {
        table: target.table.clone(),
        key,
        change,
        condition,
        returning,
    }))
}

/// The WHERE clause of a statement.
pub fn condition_of(statement: &Statement) -> Option<&Cond> {
    match statement {
        Statement::Select(s) | Statement::Exists(s) => s.condition.as_ref(),
        Statement::Update(u) => u.condition.as_ref(),
        Statement::Delete(d) => d.condition.as_ref(),
        Statement::Insert(_) => None,
    }
}

/// Writes go to tables, never to an index.
fn on_table(target: &Target) -> Result<(), PartiqlError> {
    match target.index {
        Some(_) => Err(PartiqlError::new("This operation is not supported on an index")),
        None => Ok(()),
    }
}
