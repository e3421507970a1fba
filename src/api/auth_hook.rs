//! Where the API meets `auth`: a request's signature is copied out of its
//! head before the head is let go of, checked once its body has arrived
//! (before the body is parsed), and the signer's policy is checked against
//! the parsed request before it is dispatched, so a refused request reads
//! and writes nothing. The admin routes go through [`guard_admin`].

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Request as HttpRequest, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::connections::ClientAddr;
use super::error::ApiError;
use super::request::Request;
use super::state::ApiState;
use crate::auth::access::Catalog;
use crate::auth::credentials::User;
use crate::auth::{AuthError, SignedHead};
use crate::engine::Engine;
use crate::model::KeySchema;

/// A request's signature, copied from its head; `None` when the region
/// does not authenticate.
pub(super) type Captured = Option<Result<SignedHead, AuthError>>;

/// Copies the signature out of `parts`, when the region authenticates.
pub(super) fn capture(state: &ApiState, parts: &Parts) -> Captured {
    state
        .auth
        .as_ref()
        .map(|_| SignedHead::capture(&parts.method, &parts.uri, &parts.headers))
}

/// Checks the signature against the body: the user who signed, or `None`
/// when the region does not authenticate.
pub(super) fn authenticate(state: &ApiState, captured: Captured, body: &[u8]) -> Result<Option<Arc<User>>, ApiError> {
    let (Some(auth), Some(head)) = (&state.auth, captured) else {
        return Ok(None);
    };
    let user = auth.authenticate(&head?, body, SystemTime::now())?;
    Ok(Some(user))
}

/// Whether authorizing `user`'s request reads its items as JSON members
/// (condition keys do), so they must not be parsed straight into items.
pub(super) fn reads_items(state: &ApiState, user: Option<&User>) -> bool {
    match (&state.auth, user) {
        (Some(auth), Some(user)) => auth.uses_condition_keys(user),
        _ => false,
    }
}

/// Checks `user`'s policy allows `operation` as `request` asks it.
pub(super) fn authorize(
    state: &ApiState,
    user: Option<&User>,
    operation: super::Operation,
    request: &Request,
) -> Result<(), ApiError> {
    let (Some(auth), Some(user)) = (&state.auth, user) else {
        return Ok(());
    };
    auth.authorize(user, operation.name(), request.members(), &EngineCatalog(&state.engine))?;
    Ok(())
}

/// Tables and streams as the engine knows them.
struct EngineCatalog<'a>(&'a Engine);

impl Catalog for EngineCatalog<'_> {
    fn hash_key(&self, table: &str) -> Option<String> {
        let meta = self.0.table_schema(table).ok()?;
        Some(meta.key_schema.hash.name.clone())
    }

    fn table_id(&self, table: &str) -> Option<String> {
        Some(self.0.table_schema(table).ok()?.table_id.clone())
    }

    fn key_schema(&self, table: &str, index: Option<&str>) -> Option<KeySchema> {
        let meta = self.0.table_schema(table).ok()?;
        match index {
            Some(index) => Some(meta.index(index)?.key_schema.clone()),
            None => Some(meta.key_schema.clone()),
        }
    }

    fn iterator_stream(&self, iterator: &str) -> Option<String> {
        let iterator = crate::streams::iterator::ShardIterator::decode(iterator)?;
        Some(crate::streams::stream_arn(
            self.0.region(),
            &iterator.table,
            &iterator.label,
        ))
    }
}

/// Admits an admin request through the region's [`AdminGate`]
/// (`crate::auth::admin`), or answers 403 with the reason.
pub(super) async fn guard_admin(State(state): State<Arc<ApiState>>, request: HttpRequest, next: Next) -> Response {
    let peer = request.extensions().get::<ClientAddr>().map(|a| a.0);
    match state.admin.check(peer, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::warn!(region = %state.engine.region(), peer = ?peer, path = %request.uri().path(), %reason, "admin request refused");
            (StatusCode::FORBIDDEN, axum::Json(json!({ "error": reason }))).into_response()
        }
    }
}
