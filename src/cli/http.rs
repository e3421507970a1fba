//! A small JSON-over-HTTP client for the admin and control endpoints
//! (`/status`, `/admin/links`, `/admin/clock`, `meridian up`'s control), and
//! the transport of DynamoDB requests from commands (`api_client.rs`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tokio::net::TcpStream;

/// Longest an admin request may take (a paused region never answers).
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A keep-alive HTTP/1 connection to one address.
pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// How commands reach the regions' APIs: the admin token they send, and
/// the TLS client configuration when the regions serve HTTPS (`api_tls`).
#[derive(Clone, Debug, Default)]
pub struct Access {
    pub token: Option<String>,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Access {
    /// `http` or `https`, for messages.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// Opens a connection to `addr`, over TLS with `tls` when given (the
/// server's certificate must name the host or address of `addr`).
pub async fn connect_with(addr: &str, tls: Option<&Arc<rustls::ClientConfig>>) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let Some(tls) = tls else {
        return handshake(stream).await;
    };
    let host = match addr.rsplit_once(':') {
        Some((host, _)) => host.trim_start_matches('[').trim_end_matches(']'),
        None => addr,
    };
    let name = rustls::pki_types::ServerName::try_from(host.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(name, stream)
        .await
        .map_err(|e| anyhow::anyhow!("TLS with {addr}: {e}"))?;
    handshake(stream).await
}

/// HTTP/1 over `io`, its connection driven by a task of its own.
async fn handshake<T>(io: T) -> anyhow::Result<Sender>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Sends `method path` with an optional JSON body and extra headers on
/// `sender`; returns the status and the body parsed as JSON (`Null` if it
/// is not JSON).
pub async fn send(
    sender: &mut Sender,
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut builder = hyper::Request::builder().method(method).uri(path).header("host", addr);
    if !headers.iter().any(|(name, _)| *name == "content-type") {
        builder = builder.header("content-type", "application/json");
    }
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    sender.ready().await?;
    let response = sender.send_request(builder.body(Full::new(bytes))?).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// `send` on a new plain HTTP connection.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    request_with(None, addr, method, path, headers, body).await
}

/// `send` on a new connection, over TLS with `tls` when given.
pub async fn request_with(
    tls: Option<&Arc<rustls::ClientConfig>>,
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut sender = connect_with(addr, tls).await?;
    send(&mut sender, addr, method, path, headers, body).await
}

/// GETs `path` from `addr` as JSON as `access` says (token, TLS), failing
/// on a non-2xx status or timeout.
pub async fn get_json(addr: &str, path: &str, access: &Access) -> anyhow::Result<Value> {
    admin_json(addr, "GET", path, access, None).await
}

/// POSTs JSON `body` to `path` on `addr` as `access` says (token, TLS),
/// failing on a non-2xx status or timeout.
pub async fn post_json(addr: &str, path: &str, body: &Value, access: &Access) -> anyhow::Result<Value> {
    admin_json(addr, "POST", path, access, Some(body)).await
}

/// An admin request: `Authorization: Bearer TOKEN` when there is a token;
/// a refusal says how to send one.
async fn admin_json(
    addr: &str,
    method: &str,
    path: &str,
    access: &Access,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let token = access.token.as_deref();
    let headers: Vec<(&str, String)> = token
        .map(|t| ("authorization", format!("Bearer {t}")))
        .into_iter()
        .collect();
    let tls = access.tls.as_ref();
    let exchange = request_with(tls, addr, method, path, &headers, body);
    let (status, answer) = tokio::time::timeout(ADMIN_TIMEOUT, exchange).await??;
    if status == 403 && token.is_none() {
        anyhow::bail!(
            "{method} {path} on {addr}: 403 {answer}; give the admin token in {} or the node config \
             (--config FILE with admin.token_file)",
            super::common::ADMIN_TOKEN_ENV
        );
    }
    anyhow::ensure!(
        (200..300).contains(&status),
        "{method} {path} on {addr}: {status} {answer}"
    );
    Ok(answer)
}

/// The headers of a DynamoDB JSON 1.0 request for `operation`.
pub fn dynamodb_headers(operation: &str) -> [(&'static str, String); 2] {
    [
        ("content-type", "application/x-amz-json-1.0".to_string()),
        ("x-amz-target", format!("DynamoDB_20120810.{operation}")),
    ]
}
