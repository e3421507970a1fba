//! Update expressions: SET, REMOVE, ADD and DELETE, parsed once and applied
//! to an item all-or-nothing.
//!
//! As in DynamoDB, every right-hand side is evaluated against the item as it
//! was before the update, target paths never overlap (checked at parse
//! time), and list indexes refer to the original list: REMOVE of several
//! elements of one list removes the highest index first.

use std::collections::HashSet;
use std::hash::Hash;

use super::ast::{Operand, Path, PathElem};
use super::check::{Checker, Slot, UPDATE_ORDER};
use super::error::{ExprError, ExprKind};
use super::eval::update_operand;
use super::parser::{Clause, parse_update_syntax};
use super::placeholders::Placeholders;
use super::projection::Projection;
use crate::model::{AttributeValue, Item};

/// One action of an update: `SET path = value`, `REMOVE path`, `ADD path
/// value`, `DELETE path set`.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Set(Path, Operand),
    Remove(Path),
    Add(Path, AttributeValue),
    Delete(Path, AttributeValue),
}

impl Action {
    /// The path the action changes.
    pub fn path(&self) -> &Path {
        match self {
            Action::Set(p, _) | Action::Remove(p) | Action::Add(p, _) | Action::Delete(p, _) => p,
        }
    }
}

/// A checked update expression.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateExpr {
    pub(crate) actions: Vec<Action>,
}

/// Parses and checks an `UpdateExpression`.
pub fn parse_update(text: &str, ph: &mut Placeholders) -> Result<UpdateExpr, ExprError> {
    let raw = parse_update_syntax(text)?;
    let mut checker = Checker::new(ExprKind::Update, ph);
    let mut seen: Vec<Clause> = Vec::new();
    let mut actions = Vec::with_capacity(raw.len());
    for action in &raw {
        if action.starts_section {
            if seen.contains(&action.clause) {
                checker.note(
                    Slot::Section,
                    format!(
                        "The \"{}\" section can only be used once in an update expression;",
                        action.clause.keyword()
                    ),
                );
            }
            seen.push(action.clause);
        }
        let path = checker.path(&action.path);
        let value = action.value.as_ref();
        actions.push(match (action.clause, value) {
            (Clause::Set, Some(node)) => Action::Set(path, checker.set_value(node)),
            (Clause::Add, Some(node)) => Action::Add(path, checker.add_delete_value(Clause::Add, node)),
            (Clause::Delete, Some(node)) => Action::Delete(path, checker.add_delete_value(Clause::Delete, node)),
            _ => Action::Remove(path),
        });
    }
    let paths: Vec<&Path> = actions.iter().map(Action::path).collect();
    checker.paths_disjoint(&paths);
    checker.finish(UPDATE_ORDER)?;
    Ok(UpdateExpr { actions })
}

impl UpdateExpr {
    /// Builds an update from actions (legacy `AttributeUpdates`, PartiQL's
    /// SET and REMOVE).
    pub fn from_actions(actions: Vec<Action>) -> UpdateExpr {
        UpdateExpr { actions }
    }

    /// Whether the update creates an item that does not exist: it does
    /// unless it only removes attributes or deletes from sets (an update
    /// with no actions creates the item with its key).
    pub fn creates_missing_item(&self) -> bool {
        self.actions.is_empty()
            || self
                .actions
                .iter()
                .any(|a| matches!(a, Action::Set(..) | Action::Add(..)))
    }

    /// Applies the update to `item` (an empty item when it does not exist
    /// yet). On error the item is left unchanged. Touching any of
    /// `key_attributes` is an error.
    pub fn apply(&self, item: &mut Item, key_attributes: &[&str]) -> Result<(), ExprError> {
        if let Some(key) = self
            .actions
            .iter()
            .map(|a| a.path().head())
            .find(|h| key_attributes.contains(h))
        {
            return Err(ExprError::new(format!(
                "One or more parameter values were invalid: Cannot update attribute {key}. This attribute is part of the key"
            )));
        }
        let mut sets = Vec::new();
        for action in &self.actions {
            if let Action::Set(path, value) = action {
                sets.push((path, update_operand(value, item)?));
            }
        }
        let mut updated = item.clone();
        for (path, value) in sets {
            set_path(&mut updated, path, value)?;
        }
        let mut removes = Vec::new();
        for action in &self.actions {
            match action {
                Action::Add(path, value) => add_path(&mut updated, path, value)?,
                Action::Delete(path, value) => delete_path(&mut updated, path, value)?,
                Action::Remove(path) => removes.push(path),
                Action::Set(..) => {}
            }
        }
        // Highest list index first, so earlier removals do not shift later ones.
        removes.sort_by(|a, b| b.0.cmp(&a.0));
        for path in removes {
            remove_path(&mut updated, path)?;
        }
        *item = updated;
        Ok(())
    }

    /// The paths the update writes, as a projection: applied to the old item
    /// it gives `UPDATED_OLD`, applied to the new one `UPDATED_NEW`.
    pub fn updated_projection(&self) -> Projection {
        Projection::from_paths(self.actions.iter().map(|a| a.path().clone()).collect())
    }
}

/// The value at `elems` below `value`, mutably.
fn descend<'a>(mut value: &'a mut AttributeValue, elems: &[PathElem]) -> Option<&'a mut AttributeValue> {
    for elem in elems {
        value = match (elem, value) {
            (PathElem::Attr(name), AttributeValue::M(map)) => map.get_mut(name)?,
            (PathElem::Index(i), AttributeValue::L(list)) => list.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The parent of the path's last element (which must exist), and that
/// last element. `Ok(None)` for a top-level path.
fn parent<'a>(item: &'a mut Item, path: &'a Path) -> Result<Option<(&'a mut AttributeValue, &'a PathElem)>, ExprError> {
    let Some((last, parents)) = path.0.split_last() else {
        return Err(ExprError::invalid_document_path());
    };
    let Some((first, middle)) = parents.split_first() else {
        return Ok(None);
    };
    let PathElem::Attr(name) = first else {
        return Err(ExprError::invalid_document_path());
    };
    let top = item.get_mut(name).ok_or_else(ExprError::invalid_document_path)?;
    let parent = descend(top, middle).ok_or_else(ExprError::invalid_document_path)?;
    Ok(Some((parent, last)))
}

fn set_path(item: &mut Item, path: &Path, value: AttributeValue) -> Result<(), ExprError> {
    match parent(item, path)? {
        None => {
            item.insert(path.head().to_string(), value);
        }
        Some((AttributeValue::M(map), PathElem::Attr(name))) => {
            map.insert(name.clone(), value);
        }
        Some((AttributeValue::L(list), PathElem::Index(i))) => {
            // Setting past the end appends, as DynamoDB does.
            match list.get_mut(*i) {
                Some(slot) => *slot = value,
                None => list.push(value),
            }
        }
        Some(_) => return Err(ExprError::invalid_document_path()),
    }
    Ok(())
}

fn remove_path(item: &mut Item, path: &Path) -> Result<(), ExprError> {
    if path.0.len() == 1 {
        item.remove(path.head());
        return Ok(());
    }
    // Removing below a missing parent removes nothing.
    let Ok(Some((holder, last))) = parent(item, path) else {
        return Ok(());
    };
    match (holder, last) {
        (AttributeValue::M(map), PathElem::Attr(name)) => {
            map.remove(name);
        }
        (AttributeValue::L(list), PathElem::Index(i)) => {
            if *i < list.len() {
                list.remove(*i);
            }
        }
        _ => return Err(ExprError::invalid_document_path()),
    }
    Ok(())
}

fn add_path(item: &mut Item, path: &Path, value: &AttributeValue) -> Result<(), ExprError> {
    use AttributeValue as V;
    let merged = match (path.resolve(item), value) {
        (None, _) => value.clone(),
        (Some(V::N(old)), V::N(delta)) => V::N(old.add(delta)?),
        (Some(V::Ss(old)), V::Ss(new)) => V::Ss(union(old, new)),
        (Some(V::Ns(old)), V::Ns(new)) => V::Ns(union(old, new)),
        (Some(V::Bs(old)), V::Bs(new)) => V::Bs(union(old, new)),
        _ => return Err(ExprError::incorrect_data_type()),
    };
    set_path(item, path, merged)
}

/// `old` then the members of `new` it lacks. Membership goes through a hash
/// set: sets of 100,000 members would take the writer minutes pairwise.
fn union<T: Clone + Eq + Hash>(old: &[T], new: &[T]) -> Vec<T> {
    let present: HashSet<&T> = old.iter().collect();
    let mut out = old.to_vec();
    out.extend(new.iter().filter(|e| !present.contains(e)).cloned());
    out
}

/// The members of `old` not in `gone`, in order (hash set, as `union`).
fn difference<T: Clone + Eq + Hash>(old: &[T], gone: &[T]) -> Vec<T> {
    let gone: HashSet<&T> = gone.iter().collect();
    old.iter().filter(|e| !gone.contains(e)).cloned().collect()
}

fn delete_path(item: &mut Item, path: &Path, value: &AttributeValue) -> Result<(), ExprError> {
    use AttributeValue as V;
    let remaining = match (path.resolve(item), value) {
        (None, _) => return Ok(()),
        (Some(V::Ss(old)), V::Ss(gone)) => V::Ss(difference(old, gone)),
        (Some(V::Ns(old)), V::Ns(gone)) => V::Ns(difference(old, gone)),
        (Some(V::Bs(old)), V::Bs(gone)) => V::Bs(difference(old, gone)),
        _ => return Err(ExprError::incorrect_data_type()),
    };
    let empty = matches!(&remaining, V::Ss(v) if v.is_empty())
        || matches!(&remaining, V::Ns(v) if v.is_empty())
        || matches!(&remaining, V::Bs(v) if v.is_empty());
    // DynamoDB has no empty sets: deleting the last element removes the attribute.
    if empty {
        remove_path(item, path)
    } else {
        set_path(item, path, remaining)
    }
}
