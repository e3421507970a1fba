//! Parsed statements. Their conditions, paths and values are the
//! expression language's own (`crate::expr::ast`), with every `?` already
//! replaced by its parameter, so one evaluator serves both languages.

use crate::expr::Action;
use crate::expr::ast::{Cond, Path};
use crate::model::Item;

/// A statement's target: `"table"` or `"table"."index"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub table: String,
    pub index: Option<String>,
}

/// `SELECT ... FROM ... [WHERE ...] [ORDER BY key [ASC|DESC]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    pub target: Target,
    /// The projected paths; `None` for `*`.
    pub projection: Option<Vec<Path>>,
    pub condition: Option<Cond>,
    /// `ORDER BY ... DESC`: read the partition backwards.
    pub descending: bool,
    /// Whether the statement has an ORDER BY clause at all.
    pub ordered: bool,
}

/// `INSERT INTO table VALUE {...}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Insert {
    pub target: Target,
    pub item: Item,
}

/// `UPDATE table SET ... REMOVE ... WHERE ... [RETURNING ...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub target: Target,
    pub actions: Vec<Action>,
    pub condition: Option<Cond>,
    pub returning: Option<Returning>,
}

/// `DELETE FROM table WHERE ... [RETURNING ALL OLD *]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Delete {
    pub target: Target,
    pub condition: Option<Cond>,
    pub returning: Option<Returning>,
}

/// What a write returns of its item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returning {
    AllOld,
    ModifiedOld,
    AllNew,
    ModifiedNew,
}

impl Returning {
    /// The clause as written, for messages (`ALL OLD`).
    pub fn words(self) -> &'static str {
        match self {
            Returning::AllOld => "ALL OLD",
            Returning::ModifiedOld => "MODIFIED OLD",
            Returning::AllNew => "ALL NEW",
            Returning::ModifiedNew => "MODIFIED NEW",
        }
    }
}

/// One PartiQL statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    Select(Select),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    /// `EXISTS(SELECT ...)`: a transaction's check that an item exists
    /// (and meets the rest of the WHERE clause), TransactWriteItems'
    /// ConditionCheck.
    Exists(Select),
}

impl Statement {
    /// The target the statement names.
    pub fn target(&self) -> &Target {
        match self {
            Statement::Select(s) => &s.target,
            Statement::Insert(i) => &i.target,
            Statement::Update(u) => &u.target,
            Statement::Delete(d) => &d.target,
            Statement::Exists(s) => &s.target,
        }
    }

    /// Whether it reads (SELECT) rather than writes; an EXISTS is on the
    /// write side of a transaction.
    pub fn is_read(&self) -> bool {
        matches!(self, Statement::Select(_))
    }
}
