//! The API's HTTP/1.1 server loop, with limits no client can get around:
//! a cap on open connections in all and per client address, a timeout for
//! a request's headers, one for its body and one for an idle connection,
//! and a `Content-Length` above the request limit refused from the header,
//! before any of the body is read.
//!
//! At a cap, an idle connection (no request in flight, which is what an
//! abandoned or hostile connection looks like) is closed to admit the new
//! one: one that never sent a request first, the longest idle among them;
//! only when every connection is busy is the new one refused. So thousands of idle connections cannot starve a real
//! client, and cannot exhaust the open-files limit either (an accept that
//! fails for lack of descriptors also closes the longest-idle connection).
//! Each limit hit is logged as a warning, at most once per
//! `warn_interval_secs` per kind, with the number of hits not logged.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use super::error::{ApiError, ErrorKind};
use super::http;
use crate::config::ConnectionsConfig;

/// hyper's read buffer, which a request's head must fit in, bytes.
const HYPER_MAX_BUF_BYTES: usize = 64 * 1024;
/// Most headers hyper parses in a request.
const HYPER_MAX_HEADERS: usize = 4 * http::MAX_HEADERS;
/// The client's address, on every request (the admin gate reads it).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

/// The limits of one server, from `[connections]` and `[limits]`.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Connections open at once, all addresses together.
    pub max_connections: usize,
    /// Connections open at once from one IP address.
    pub max_per_address: usize,
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time a request's whole body must arrive in, from its headers.
    pub body_read_timeout: Duration,
    /// Time a connection may stay without a request and without traffic.
    pub idle_timeout: Duration,
    /// Largest request body, bytes (`limits.max_request_bytes`).
    pub max_request_bytes: usize,
    /// Shortest time between two warnings of one kind.
    pub warn_interval: Duration,
}

impl ConnectionLimits {
    /// The limits `config` describes, with `max_request_bytes` from `[limits]`.
    pub fn new(config: &ConnectionsConfig, max_request_bytes: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: config.max_connections,
            max_per_address: config.max_connections_per_address,
            header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
            body_read_timeout: Duration::from_millis(config.body_read_timeout_ms),
            idle_timeout: Duration::from_millis(config.idle_timeout_ms),
            max_request_bytes,
            warn_interval: Duration::from_secs(config.warn_interval_secs),
        }
    }

    /// How often a connection checks its timeouts: often enough to close
    /// it within a quarter of the shortest one, at most once a second.
    fn check_every(&self) -> Duration {
        let shortest = self
            .idle_timeout
            .min(self.body_read_timeout)
            .min(self.header_read_timeout);
        (shortest / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

/// Serves `router` on `listener` within `limits` (over TLS when `tls` is
/// given) until `shutdown` completes; then stops accepting, lets requests
/// in flight finish, and returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    region: String,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let registry = Arc::new(Registry::new(limits, region));
    let (stopping, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    registry.accept_failed(&error).await;
                    continue;
                }
            },
        };
        let Some(admission) = registry.admit(peer.ip()) else {
            continue;
        };
        let service = Guarded {
            router: TowerToHyperService::new(router.clone()),
            activity: admission.activity.clone(),
            registry: registry.clone(),
        };
        let span = tracing::debug_span!("connection", region = %registry.region, client = %peer);
        let connection = Connection {
            peer,
            service,
            admission,
            stopping: stop_rx.clone(),
        };
        connections.spawn(connection.run(stream, tls.clone()).instrument(span));
    }
    drop(listener);
    let _ = stopping.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// One admitted connection, and what driving it needs.
struct Connection {
    peer: SocketAddr,
    service: Guarded,
    admission: Admission,
    stopping: watch::Receiver<bool>,
}

impl Connection {
    /// Runs the connection on `stream`, first completing the TLS handshake
    /// when `tls` is given: within the header timeout, and given up when a
    /// cap evicts the connection meanwhile.
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let activity = self.admission.activity.clone();
        let tracked = Tracked {
            stream,
            activity: activity.clone(),
        };
        let Some(acceptor) = tls else {
            return self.drive(TokioIo::new(tracked)).await;
        };
        let registry = self.service.registry.clone();
        let handshake = tokio::time::timeout(registry.limits.header_read_timeout, acceptor.accept(tracked));
        tokio::select! {
            done = handshake => match done {
                Ok(Ok(stream)) => self.drive(TokioIo::new(stream)).await,
                Ok(Err(error)) => tracing::debug!(region = %registry.region, client = %self.peer, %error, "TLS handshake failed"),
                Err(_) => registry.warn(Limit::HeaderTimeout, self.peer.ip()),
            },
            _ = activity.close.notified() => {}
        }
    }

    /// Drives the connection over `io` until it ends, its timeouts expire,
    /// a cap evicts it, or the server stops (then gracefully: the request in
    /// flight ends).
    async fn drive<I>(self, io: I)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let Connection {
            peer,
            service,
            admission,
            mut stopping,
        } = self;
        let activity = admission.activity.clone();
        let registry = service.registry.clone();
        run_connection(io, peer, service, &activity, &registry, &mut stopping).await;
        drop(admission);
    }
}

/// Serves HTTP/1.1 on `io` for one connection (see `Connection::drive`).
async fn run_connection<I>(
    io: I,
    peer: SocketAddr,
    service: Guarded,
    activity: &Activity,
    registry: &Registry,
    stopping: &mut watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    // Headers are timed here rather than by hyper, whose timer also runs
    // while a kept-alive connection waits for its next request.
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        // Beyond these hyper answers 431 itself; up to them, a request over
        // `http::MAX_HEADERS` / `MAX_HEADER_BYTES` gets a 400 from `Guarded`.
        .max_buf_size(HYPER_MAX_BUF_BYTES)
        .max_headers(HYPER_MAX_HEADERS)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut check = tokio::time::interval(registry.limits.check_every());
    let mut draining = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => break,
            _ = activity.close.notified() => break,
            _ = stopping.wait_for(|s| *s), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = check.tick() => {
                // Stopping, a request whose body is still on its way is not
                // waited for: it would hold the shutdown up to the body
                // timeout.
                if draining && activity.body_since_ms.load(Ordering::Acquire) != u64::MAX {
                    break;
                }
                if let Some(limit) = registry.expired(activity) {
                    registry.warn(limit, peer.ip());
                    break;
                }
            }
        }
    }
}

/// The limits whose hits are logged, each rate-limited on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Limit {
    MaxConnections,
    MaxPerAddress,
    HeaderTimeout,
    BodyTimeout,
    IdleTimeout,
    RequestTooLarge,
    HeadTooLarge,
    AcceptFailed,
}

impl Limit {
    /// The warning's text: what happened and what was done about it.
    fn message(self) -> &'static str {
        match self {
            Limit::MaxConnections => {
                "connection limit reached (connections.max_connections): closed the longest-idle connection, or refused the new one if none was idle"
            }
            Limit::MaxPerAddress => {
                "connection limit reached (connections.max_connections_per_address): closed this address's longest-idle connection, or refused the new one if none was idle"
            }
            Limit::HeaderTimeout => {
                "header read timeout (connections.header_read_timeout_ms): closed a connection that did not send its request headers in time"
            }
            Limit::BodyTimeout => {
                "body read timeout (connections.body_read_timeout_ms): closed a connection that did not send its request body in time"
            }
            Limit::IdleTimeout => "idle timeout (connections.idle_timeout_ms): closed an idle connection",
            Limit::RequestTooLarge => {
                "request too large (limits.max_request_bytes): refused a request from its Content-Length, without reading its body"
            }
            Limit::HeadTooLarge => {
                "request head over the limits (headers, their size or the request line): answered 400 and closed the connection"
            }
            Limit::AcceptFailed => {
                "cannot accept connections (open-files limit?): closed the longest-idle connection to make room"
            }
        }
    }
}

/// What one connection is doing, shared by its task, its I/O and its
/// requests. Times are milliseconds since the registry's epoch.
struct Activity {
    id: u64,
    /// The registry's epoch, which the times below count from.
    epoch: Instant,
    addr: IpAddr,
    /// Last byte read or written.
    last_io_ms: AtomicU64,
    /// Since when the connection has been waiting for the rest of a
    /// request's headers: from its first byte, or from the connect for a
    /// connection's first request; `u64::MAX` when none is awaited (a
    /// request in flight, or a kept-alive connection not yet sending).
    head_since_ms: AtomicU64,
    /// Requests whose response has not been produced yet.
    in_flight: AtomicUsize,
    /// Requests answered so far.
    served: AtomicU64,
    /// When the current request's headers arrived, while its body has not
    /// been read to the end; `u64::MAX` when no body is pending.
    body_since_ms: AtomicU64,
    /// Wakes the connection's task to close it (eviction).
    close: Notify,
}

impl Activity {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Bytes moved now.
    fn touch(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Bytes arrived: between requests, they start the next one's headers.
    fn received(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let _ = self
                .head_since_ms
                .compare_exchange(u64::MAX, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// No request in flight and no body pending: what eviction may close.
    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && self.body_since_ms.load(Ordering::Acquire) == u64::MAX
    }
}

/// The open connections, per address, and the warnings' rate limits.
struct Registry {
    limits: ConnectionLimits,
    region: String,
    epoch: Instant,
    open: Mutex<Open>,
    /// When each kind of warning was last logged, and hits since.
    warned: Mutex<HashMap<Limit, (Instant, u64)>>,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    by_id: HashMap<u64, Arc<Activity>>,
    per_address: HashMap<IpAddr, usize>,
}

impl Open {
    fn remove(&mut self, id: u64) -> Option<Arc<Activity>> {
        let activity = self.by_id.remove(&id)?;
        if let Some(count) = self.per_address.get_mut(&activity.addr) {
            *count -= 1;
            if *count == 0 {
                self.per_address.remove(&activity.addr);
            }
        }
        Some(activity)
    }

    /// Closes an idle connection (of `addr`, if given): one that has never
    /// had a request answered before one that has (a client being served is
    /// worth more than a socket that never asked for anything), and among
    /// those the one whose last I/O is oldest. False when every candidate
    /// is busy.
    fn evict_longest_idle(&mut self, addr: Option<IpAddr>) -> bool {
        let victim = self
            .by_id
            .values()
            .filter(|a| addr.is_none_or(|addr| a.addr == addr) && a.idle())
            .min_by_key(|a| {
                (
                    a.served.load(Ordering::Relaxed) > 0,
                    a.last_io_ms.load(Ordering::Relaxed),
                )
            })
            .map(|a| a.id);
        match victim.and_then(|id| self.remove(id)) {
            Some(activity) => {
                activity.close.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Registry {
    fn new(limits: ConnectionLimits, region: String) -> Registry {
        Registry {
            limits,
            region,
            epoch: Instant::now(),
            open: Mutex::new(Open::default()),
            warned: Mutex::new(HashMap::new()),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Admits a connection from `addr`, evicting the longest-idle one at a
    /// cap; `None` (the caller drops the socket) when none could be evicted.
    fn admit(self: &Arc<Self>, addr: IpAddr) -> Option<Admission> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let from_addr = open.per_address.get(&addr).copied().unwrap_or(0);
        if from_addr >= self.limits.max_per_address {
            self.warn_with(Limit::MaxPerAddress, addr, open.by_id.len());
            if !open.evict_longest_idle(Some(addr)) {
                return None;
            }
        }
        if open.by_id.len() >= self.limits.max_connections {
            self.warn_with(Limit::MaxConnections, addr, open.by_id.len());
            if !open.evict_longest_idle(None) {
                return None;
            }
        }
        let id = open.next_id;
        open.next_id += 1;
        let now = self.now_ms();
        let activity = Arc::new(Activity {
            id,
            epoch: self.epoch,
            addr,
            last_io_ms: AtomicU64::new(now),
            head_since_ms: AtomicU64::new(now),
            in_flight: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            body_since_ms: AtomicU64::new(u64::MAX),
            close: Notify::new(),
        });
        open.by_id.insert(id, activity.clone());
        *open.per_address.entry(addr).or_default() += 1;
        Some(Admission {
            activity,
            registry: self.clone(),
        })
    }

    /// An accept failed: out of descriptors, close the longest-idle
    /// connection and pause a moment (the error repeats at once otherwise);
    /// anything else (a connection reset before it was accepted) is skipped.
    async fn accept_failed(&self, error: &io::Error) {
        let out_of_files = matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
        if !out_of_files {
            tracing::debug!(region = %self.region, %error, "accept failed");
            return;
        }
        self.warn(Limit::AcceptFailed, IpAddr::from([0, 0, 0, 0]));
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .evict_longest_idle(None);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    /// The timeout `activity` has run past, if any: its body's, its
    /// headers' (a connection that never sends a request runs out of this
    /// one), or, kept alive between requests, the idle timeout.
    fn expired(&self, activity: &Activity) -> Option<Limit> {
        let now = self.now_ms();
        let past = |since: &AtomicU64, timeout: Duration| {
            let since = since.load(Ordering::Acquire);
            since != u64::MAX && now.saturating_sub(since) >= timeout.as_millis() as u64
        };
        if past(&activity.body_since_ms, self.limits.body_read_timeout) {
            return Some(Limit::BodyTimeout);
        }
        if !activity.idle() {
            return None;
        }
        if past(&activity.head_since_ms, self.limits.header_read_timeout) {
            return Some(Limit::HeaderTimeout);
        }
        let waiting = activity.head_since_ms.load(Ordering::Acquire) == u64::MAX;
        (waiting && past(&activity.last_io_ms, self.limits.idle_timeout)).then_some(Limit::IdleTimeout)
    }

    /// Logs that `limit` was hit (by `addr`), unless a warning of that kind
    /// was logged less than `warn_interval` ago; then counts it for the next.
    fn warn(&self, limit: Limit, addr: IpAddr) {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner()).by_id.len();
        self.warn_with(limit, addr, open);
    }

    /// [`Registry::warn`] for a caller that holds the `open` lock.
    fn warn_with(&self, limit: Limit, addr: IpAddr, open: usize) {
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let entry = warned.entry(limit).or_insert((now - self.limits.warn_interval, 0));
        if now.duration_since(entry.0) < self.limits.warn_interval && entry.1 > 0 {
            entry.1 += 1;
            return;
        }
        let unlogged = entry.1.saturating_sub(1);
        *entry = (now, 1);
        drop(warned);
        tracing::warn!(
            region = %self.region,
            client = %addr,
            open,
            unlogged,
            "{}",
            limit.message()
        );
    }
}

/// A connection's place in the registry, given back when its task ends.
struct Admission {
    activity: Arc<Activity>,
    registry: Arc<Registry>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(self.activity.id);
    }
}

/// The socket, recording when bytes last moved.
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl Tracked {
    fn touched(&self) {
        self.activity.touch();
    }
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.received();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touched();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touched();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The router behind the limits: refuses a `Content-Length` over the
/// request limit from the header, and tracks each request and its body on
/// the connection's [`Activity`].
#[derive(Clone)]
struct Guarded {
    router: TowerToHyperService<Router>,
    activity: Arc<Activity>,
    registry: Arc<Registry>,
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Guarded {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let limit = self.registry.limits.max_request_bytes;
        let announced = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let from_browser = http::is_cors(&request);
        let early = if announced.is_some_and(|length| length > limit as u64) {
            self.registry.warn(Limit::RequestTooLarge, self.activity.addr);
            Some(too_large(limit))
        } else if let Some(reason) = http::head_over_limits(&request) {
            self.registry.warn(Limit::HeadTooLarge, self.activity.addr);
            Some(http::head_too_large(reason))
        } else if http::is_preflight(&request) {
            Some(http::preflight(request.headers()))
        } else {
            None
        };
        if let Some(mut response) = early {
            http::finish_response(response.headers_mut(), from_browser);
            return Box::pin(std::future::ready(Ok(response)));
        }
        let activity = self.activity.clone();
        let in_flight = InFlight::start(activity.clone());
        activity.head_since_ms.store(u64::MAX, Ordering::Release);
        if !HttpBody::is_end_stream(request.body()) {
            activity.body_since_ms.store(activity.now_ms(), Ordering::Release);
        }
        let mut request = request.map(|inner| Body::new(TrackedBody { inner, activity }));
        request.extensions_mut().insert(ClientAddr(self.activity.addr));
        let router = self.router.clone();
        Box::pin(async move {
            let mut response = hyper::service::Service::call(&router, request).await;
            drop(in_flight);
            if let Ok(response) = &mut response {
                http::finish_response(response.headers_mut(), from_browser);
            }
            response
        })
    }
}

/// DynamoDB's answer to a request over the limit, sent before its body is
/// read; the connection is closed after it (the unread body cannot be
/// skipped).
fn too_large(limit: usize) -> Response<Body> {
    let error = ApiError::new(
        ErrorKind::RequestTooLarge,
        format!("Request size exceeded {limit} bytes"),
    );
    let mut response = super::json_response(error.kind.status(), &error.body(), "0", None);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    debug_assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    response
}

/// One request in flight on a connection, until its response is produced.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // A body the handler did not read to the end is no longer awaited.
        self.0.body_since_ms.store(u64::MAX, Ordering::Release);
        self.0.served.fetch_add(1, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request body that marks the connection's body as complete when its
/// end is read.
struct TrackedBody {
    inner: Incoming,
    activity: Arc<Activity>,
}

impl HttpBody for TrackedBody {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.activity.body_since_ms.store(u64::MAX, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
