//! Simulated trouble for drills and latency experiments: link conditions
//! applied where replication messages leave a region (`links`, `shaper`),
//! so no root or network namespace is needed.
//!
//! Clock skew is the region clock's adjustable offset (`clock.rs`), changed
//! live through the admin endpoint; drills themselves live in `cli/`.

pub mod links;
pub mod shaper;

pub use links::{LinkControl, LinkError, LinkPatch};
