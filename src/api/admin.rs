//! Admin endpoints beside the DynamoDB API (plain GETs, not part of
//! DynamoDB): `/status` (region, peers, links, positions, lag) and
//! `/admin/conflicts?table=T` (writes that lost last-writer-wins here) and
//! `/metrics` (Prometheus).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use super::ApiState;
use crate::model::item_to_json;

/// GET /status.
pub async fn handle_status(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let peers = state.peers.as_ref().map(|p| p.report()).unwrap_or_default();
    let last_seq = *state.engine.subscribe_commits().borrow();
    Json(json!({
        "region": state.engine.region(),
        "last_change_seq": last_seq,
        "write_queue": state.engine.write_queue_depth(),
        "clock_offset_ms": state.engine.hlc().offset_ms(),
        "peers": peers,
        "workers": state.ttl.as_ref().map(|t| vec![t.report()]).unwrap_or_default(),
    }))
}

/// GET /metrics: Prometheus text format.
pub async fn handle_metrics(State(state): State<Arc<ApiState>>) -> impl axum::response::IntoResponse {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    (
        [(axum::http::header::CONTENT_TYPE, content_type)],
        state.metrics.render(),
    )
}

/// GET /admin/conflicts?table=T.
pub async fn handle_conflicts(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Json<Value> {
    let conflicts = match state.engine.conflicts(params.get("table").cloned()).await {
        Ok(conflicts) => conflicts,
        Err(error) => return Json(json!({ "error": error.to_string() })),
    };
    let version =
        |v: &crate::store::Version| json!({ "region": v.region, "wall_ns": v.ts.wall_ns, "logical": v.ts.logical });
    let rows: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            json!({
                "table": c.table,
                "winner": version(&c.winner),
                "winner_item": c.winner_item.as_ref().map(item_to_json),
                "loser": version(&c.loser),
                "loser_item": c.loser_item.as_ref().map(item_to_json),
            })
        })
        .collect();
    Json(json!({ "region": state.engine.region(), "conflicts": rows }))
}
