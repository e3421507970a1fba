//! Meridian: a self-hosted, DynamoDB-compatible database with active-active
//! global tables.
//!
//! Data flows one way: `api` -> `engine` -> `store` (and, later, replication).
//!
//! - [`model`]: DynamoDB's data model (numbers, values, items, keys, tables).
//! - [`expr`]: the expression language: parse, check and evaluate conditions, updates, projections.

pub mod expr;
pub mod model;
