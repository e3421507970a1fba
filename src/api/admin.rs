//! Admin endpoints beside the DynamoDB API (not part of DynamoDB):
//! `/status` (region, peers, links, positions, lag) and
//! `/admin/conflicts?table=T` (writes that lost last-writer-wins here) and
//! `/metrics` (Prometheus); for drills, `/admin/links` (GET, POST: simulated
//! link conditions) and `/admin/clock` (GET, POST: simulated clock skew).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::state::ApiState;
use crate::chaos::LinkPatch;
use crate::model::item_to_json;

/// GET /status; `/status?pretty` indents it for reading.
pub async fn handle_status(State(state): State<Arc<ApiState>>, RawQuery(query): RawQuery) -> axum::response::Response {
    let status = status_json(&state);
    if !wants_pretty(query.as_deref()) {
        return Json(status).into_response();
    }
    // Serialising a `Value` cannot fail: its map keys are strings.
    let text = serde_json::to_string_pretty(&status).unwrap_or_default() + "\n";
    ([(axum::http::header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// Whether a query string asks for indented JSON: `pretty`, `pretty=1`,
/// `pretty=true` among its parameters.
fn wants_pretty(query: Option<&str>) -> bool {
    query.unwrap_or("").split('&').any(|part| {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        name == "pretty" && matches!(value, "" | "1" | "true")
    })
}

/// The body of `/status`.
fn status_json(state: &ApiState) -> Value {
    let now = state.engine.hlc().wall_now_ns();
    let peers = state.peers.as_ref().map(|p| p.report_at(now)).unwrap_or_default();
    let last_seq = *state.engine.subscribe_commits().borrow();
    json!({
        "region": state.engine.region(),
        "incarnation": state.engine.incarnation(),
        "last_change_seq": last_seq,
        "write_queue": state.engine.write_queue_depth(),
        "checkpoints": state.engine.checkpoint_stats(),
        "disk": disk_json(state.engine.disk_space()),
        "clock_offset_ms": state.engine.hlc().offset_ms(),
        "peers": peers,
        "workers": state.workers.iter().map(|w| w.report()).collect::<Vec<_>>(),
        "hot_keys": state.capacity.hottest_keys(),
    })
}

/// Free space of the data directory's file system and whether the region
/// is read-only for lack of it (`available_bytes` null in memory). Unused
/// pages of the database file count as free while the file system is
/// under the reserve (`free_in_database_file_bytes`, 0 otherwise).
fn disk_json(space: &crate::store::space::DiskSpace) -> Value {
    let available = Some(space.available()).filter(|&a| a != u64::MAX);
    json!({
        "available_bytes": available,
        "free_in_database_file_bytes": space.in_file(),
        "reserve_bytes": space.reserve(),
        "read_only": space.is_full(),
    })
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

/// GET /admin/links: the simulated conditions of every link leaving this region.
pub async fn handle_links(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let links = state.links.as_ref().map(|l| l.all()).unwrap_or_default();
    Json(json!({ "region": state.engine.region(), "links": links }))
}

/// An admin answer: a status and a JSON body.
type AdminReply = (StatusCode, Json<Value>);

/// A 400 with `{"error": message}`.
fn bad_request(message: impl std::fmt::Display) -> AdminReply {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message.to_string() })))
}

/// Parses an admin request body, answering 400 with serde's message for
/// anything that is not the expected JSON (a number out of range included),
/// rather than axum's 415/422.
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AdminReply> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid request body: {e}")))
}

/// POST /admin/links with a `LinkPatch`: changes one link's conditions now.
/// Values outside their ranges (`LinkFaults::validate`) get a 400.
pub async fn handle_set_link(State(state): State<Arc<ApiState>>, body: Bytes) -> AdminReply {
    let patch: LinkPatch = match parse_body(&body) {
        Ok(patch) => patch,
        Err(reply) => return reply,
    };
    let Some(links) = state.links.as_ref() else {
        let error = json!({ "error": "this region has no replication links" });
        return (StatusCode::CONFLICT, Json(error));
    };
    match links.patch(&patch) {
        Ok(faults) => (
            StatusCode::OK,
            Json(json!({ "region": state.engine.region(), "to": patch.to, "link": faults })),
        ),
        Err(error) => bad_request(error),
    }
}

/// Body of POST /admin/clock.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSkew {
    /// Simulated wall-clock offset, milliseconds (negative: behind), within
    /// ±[`MAX_CLOCK_OFFSET_MS`](crate::clock::MAX_CLOCK_OFFSET_MS).
    pub offset_ms: i64,
}

/// GET /admin/clock: the region's simulated wall-clock offset.
pub async fn handle_clock(State(state): State<Arc<ApiState>>) -> Json<Value> {
    Json(json!({ "region": state.engine.region(), "offset_ms": state.engine.hlc().offset_ms() }))
}

/// POST /admin/clock: skews the region's wall clock now. The HLC never goes
/// backwards: a clock set behind keeps issuing timestamps above the last one
/// until its wall clock passes it again. Offsets beyond
/// ±[`MAX_CLOCK_OFFSET_MS`](crate::clock::MAX_CLOCK_OFFSET_MS) (one day) get a 400 and change nothing.
pub async fn handle_set_clock(State(state): State<Arc<ApiState>>, body: Bytes) -> AdminReply {
    let skew: ClockSkew = match parse_body(&body) {
        Ok(skew) => skew,
        Err(reply) => return reply,
    };
    if let Err(error) = state.engine.hlc().set_offset_ms(skew.offset_ms) {
        tracing::warn!(region = %state.engine.region(), offset_ms = skew.offset_ms, "clock skew refused: out of range");
        return bad_request(error);
    }
    tracing::info!(region = %state.engine.region(), offset_ms = skew.offset_ms, "clock skewed");
    (
        StatusCode::OK,
        Json(json!({ "region": state.engine.region(), "offset_ms": skew.offset_ms })),
    )
}

#[cfg(test)]
mod tests {
    use super::wants_pretty;

    #[test]
    fn pretty_is_asked_by_name() {
        for query in ["pretty", "pretty=1", "pretty=true", "a=b&pretty"] {
            assert!(wants_pretty(Some(query)), "{query}");
        }
        for query in ["", "pretty=0", "pretty=false", "prettyish", "a=pretty"] {
            assert!(!wants_pretty(Some(query)), "{query}");
        }
        assert!(!wants_pretty(None));
    }
}
