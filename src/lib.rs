//! Meridian: a self-hosted, DynamoDB-compatible database with active-active
//! global tables.
//!
//! Data flows one way: `api` -> `engine` -> `store`; background readers of
//! the change log (replication, streams, PITR) go through the engine too.
//!
//! - [`model`]: DynamoDB's data model: numbers, values, items, keys, tables.
//! - [`expr`]: the expression language: parse, check and evaluate conditions, updates, projections.
//! - [`partiql`]: DynamoDB's PartiQL: parse statements into the expression language's trees, plan key access.
//! - [`clock`]: the region's hybrid logical clock and its offset guard.
//! - [`config`]: topology (`regions/`) and node settings (`config/`).
//! - [`store`]: redb tables and record codecs; only the engine opens it.
//! - [`engine`]: the one write path and the reads, as a stack (its `mod.rs`
//!   lists the layers): every item change, local, replicated, restored or
//!   expired, is stored, logged and versioned in one place,
//!   `GroupTxn::change_item` in `engine/txn.rs`.
//! - [`capacity`]: throttling (token buckets per table, index and hot key) and the
//!   consumed-capacity counters behind CloudWatch's metrics.
//! - [`api`]: the DynamoDB JSON 1.0 HTTP API and its error mapping.
//! - [`auth`]: SigV4 authentication, IAM-style policies, and the admin surface's gate.
//! - [`replication`]: QUIC links between regions: TLS, wire frames, shipping and applying.
//! - [`chaos`]: simulated link delay, jitter, loss, bandwidth and partitions.
//! - [`pitr`]: point-in-time recovery, on-demand backups and exports.
//! - [`streams`]: DynamoDB Streams as a view of the change log: shards, sequence numbers, iterators.
//! - [`workers`]: the background workers (TTL sweeper, change-log trimmer, PITR history
//!   collector) on one model, listed in one place that `/status` and shutdown walk.
//! - [`metrics`]: metric names and the Prometheus `/metrics` exposition.
//! - [`ids`]: positions and identities that cross modules (change-log positions).
//! - [`histogram`]: fixed-bucket latency histograms (log syncs, replication lag).
//! - [`node`]: one region as a running unit with an ordered shutdown.
//! - [`cli`]: the `meridian` subcommands.
//! - [`telemetry`]: logging setup and process signals.

pub mod api;
pub mod auth;
pub mod capacity;
pub mod chaos;
pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod expr;
pub mod histogram;
pub mod ids;
pub mod metrics;
pub mod model;
pub mod node;
pub mod partiql;
pub mod pitr;
pub mod replication;
pub mod store;
pub mod streams;
pub mod telemetry;
pub mod workers;
