//! DynamoDB's expression language, pure (no I/O, no async): condition,
//! filter, key condition, update and projection expressions, plus the legacy
//! parameters (`Expected`, `AttributeUpdates`, `KeyConditions`,
//! `QueryFilter`/`ScanFilter`, `AttributesToGet`) that older clients send.
//!
//! Every expression goes through the same pipeline: [`lexer`] tokens, a
//! recursive-descent [`parser`] that checks syntax only, then `check`, which
//! resolves placeholders and reports semantic errors in DynamoDB's order,
//! producing the typed trees of [`ast`]. One evaluator (`eval`) serves all
//! kinds. Every error is an [`ExprError`] whose text is DynamoDB's message.
//!
//! A request's expressions share one [`Placeholders`]; after parsing all of
//! them, call [`Placeholders::check_all_used`].

pub mod ast;
mod check;
mod condition;
pub mod error;
mod eval;
mod key_condition;
pub mod legacy;
pub mod lexer;
pub mod parser;
mod placeholders;
mod projection;
pub mod reserved;
mod update;

#[cfg(test)]
mod tests;

pub use check::paths_clash;
pub use condition::{Condition, ConditionKind, parse_condition};
pub use error::{ExprError, ExprKind};
pub use eval::{compare_scalars, eval_cond};
pub use key_condition::{KeyCondition, RangeCondition, parse_key_condition};
pub use placeholders::{Placeholders, RequestParameters, check_request_parameters};
pub use projection::{Projection, parse_projection};
pub use update::{Action, UpdateExpr, parse_update};
