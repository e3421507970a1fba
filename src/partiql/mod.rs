//! DynamoDB's PartiQL, pure (no I/O, no async): `SELECT`, `INSERT`,
//! `UPDATE`, `DELETE` and (in transactions) `EXISTS(SELECT ...)`
//! statements with `?` parameters and PartiQL
//! literals (`'strings'`, numbers, `<<sets>>`, `{maps}`, `[lists]`,
//! `MISSING`, `NULL`, booleans).
//!
//! A statement is tokenized ([`lexer`]), parsed with its parameters bound
//! ([`parser`]) into [`ast`] whose conditions, paths, updates and values are
//! the expression language's own (`crate::expr::ast`), so WHERE clauses are
//! evaluated by the same code as ConditionExpression and FilterExpression.
//! [`plan`] decides from a WHERE clause and a key schema whether a
//! statement names one item, one partition or the whole table, and
//! [`render`] writes conditions and updates back as expression text for the
//! operations that take text (transactions). [`project`] shapes what a
//! SELECT returns of an item.

pub mod ast;
pub mod error;
pub mod lexer;
pub mod parser;
pub mod plan;
pub mod project;
pub mod render;

#[cfg(test)]
mod tests;

pub use ast::{Delete, Insert, Returning, Select, Statement, Target, Update};
pub use error::PartiqlError;
pub use parser::{MAX_STATEMENT_CHARS, exponent_too_long, parse};
pub use plan::{
    Access, Change, WritePlan, access, condition_of, extra_condition, key_of, partition_values, write_plan,
};
pub use project::project;
pub use render::Renderer;
