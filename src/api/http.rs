//! What DynamoDB's endpoint does at the HTTP level, beside the operations:
//! compressed request bodies (`Content-Encoding: gzip` / `deflate`, the SDKs'
//! request compression) inflated with the request limit applied to the
//! inflated size; large responses compressed for clients that send
//! `Accept-Encoding`, with `x-amz-crc32` over the bytes sent (the compressed
//! ones, which is what the SDKs check); CORS for browser code; the `GET /`
//! health check; the `Server` header; and limits on request headers.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use bytes::Bytes;
use flate2::Compression;

use super::error::{ApiError, ErrorKind};

/// Responses at least this large are compressed when the client accepts it.
/// DynamoDB compresses only large responses and does not document where it
/// starts; 4 KiB is where it is reported to, and below that compression
/// saves little.
pub const COMPRESS_MIN_BYTES: usize = 4096;

/// Compressed request bodies up to this size are inflated on the reactor;
/// larger ones on a blocking thread.
const INLINE_INFLATE_BYTES: usize = 64 * 1024;

/// Most request headers a request may carry, and their total size in bytes
/// (names and values); the request line's target at most `MAX_URI_BYTES`.
pub const MAX_HEADERS: usize = 100;
/// See [`MAX_HEADERS`].
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// See [`MAX_HEADERS`].
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The headers DynamoDB lets browser code read.
const EXPOSE_HEADERS: &str = "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,x-amz-crc32,Date";

/// How long a browser may cache a preflight answer, seconds (DynamoDB's).
const PREFLIGHT_MAX_AGE: &str = "172800";

/// A compression of a request or response body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` (or `x-gzip`).
    Gzip,
    /// `deflate`: zlib, or raw deflate as some clients send it.
    Deflate,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }

    fn parse(token: &str) -> Option<Coding> {
        match token.trim().to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
            _ => None,
        }
    }
}

/// What a request's headers say about its body and the response's.
#[derive(Clone, Debug)]
pub struct Negotiation {
    /// The body's codings in the order they were applied; `Err` names an
    /// encoding Meridian cannot decode.
    pub request_codings: Result<Vec<Coding>, String>,
    /// The coding the client accepts for the response, if any.
    pub response_coding: Option<Coding>,
}

impl Negotiation {
    /// Reads `Content-Encoding` and `Accept-Encoding`.
    pub fn from_headers(headers: &HeaderMap) -> Negotiation {
        Negotiation {
            request_codings: request_codings(headers),
            response_coding: accepted(headers),
        }
    }
}

fn request_codings(headers: &HeaderMap) -> Result<Vec<Coding>, String> {
    let mut codings = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let text = value.to_str().map_err(|_| "(not text)".to_string())?;
        for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if token.eq_ignore_ascii_case("identity") {
                continue;
            }
            codings.push(Coding::parse(token).ok_or_else(|| token.to_string())?);
        }
    }
    Ok(codings)
}

/// The coding to answer with: gzip before deflate, neither if refused
/// with `q=0`.
fn accepted(headers: &HeaderMap) -> Option<Coding> {
    let mut best = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let Some(coding) = parts.next().and_then(Coding::parse) else {
                continue;
            };
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if !refused && (best.is_none() || coding == Coding::Gzip) {
                best = Some(coding);
            }
        }
    }
    best
}

/// The request body with its codings undone, at most `limit` bytes once
/// inflated (a larger one is refused as too large, without inflating the
/// rest). An unknown coding or a body that does not inflate is refused
/// before anything reads it: DynamoDB answers both with an HTTP 500.
pub async fn decode_body(codings: &Result<Vec<Coding>, String>, body: Bytes, limit: usize) -> Result<Bytes, ApiError> {
    let codings = match codings {
        Ok(codings) if codings.is_empty() => return Ok(body),
        Ok(codings) => codings.clone(),
        Err(unknown) => {
            return Err(ApiError::new(
                ErrorKind::InternalServerError,
                format!("Meridian does not support Content-Encoding: {unknown} (supported: gzip, deflate)"),
            ));
        }
    };
    if body.len() <= INLINE_INFLATE_BYTES {
        return inflate_all(&codings, body, limit);
    }
    tokio::task::spawn_blocking(move || inflate_all(&codings, body, limit))
        .await
        .map_err(|_| ApiError::new(ErrorKind::InternalServerError, "Internal server error"))?
}

fn inflate_all(codings: &[Coding], mut body: Bytes, limit: usize) -> Result<Bytes, ApiError> {
    for &coding in codings.iter().rev() {
        body = inflate(coding, &body, limit)?.into();
    }
    Ok(body)
}

/// Inflates `data`, reading at most one byte past `limit`. `deflate` is
/// zlib as HTTP defines it, or raw deflate as some clients send it.
pub fn inflate(coding: Coding, data: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    let inflated = match coding {
        Coding::Gzip => read_capped(flate2::read::MultiGzDecoder::new(data), limit),
        Coding::Deflate => read_capped(flate2::read::ZlibDecoder::new(data), limit)
            .or_else(|_| read_capped(flate2::read::DeflateDecoder::new(data), limit)),
    };
    let out = inflated.map_err(|_| {
        ApiError::new(
            ErrorKind::InternalServerError,
            format!("The request body is not valid {} data", coding.name()),
        )
    })?;
    if out.len() > limit {
        return Err(ApiError::new(
            ErrorKind::RequestTooLarge,
            format!("Request size exceeded {limit} bytes"),
        ));
    }
    Ok(out)
}

/// Reads `reader` to its end or to one byte past `limit`, whichever is first.
fn read_capped(reader: impl Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(limit as u64 + 1).read_to_end(&mut out)?;
    Ok(out)
}

/// `body` compressed with `coding` when it is worth it: the bytes to send
/// and the `Content-Encoding` to send them with.
pub fn encode_body(body: Vec<u8>, coding: Option<Coding>) -> (Vec<u8>, Option<Coding>) {
    let Some(coding) = coding.filter(|_| body.len() >= COMPRESS_MIN_BYTES) else {
        return (body, None);
    };
    let compressed = match coding {
        Coding::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
            std::io::Write::write_all(&mut encoder, &body).and_then(|_| encoder.finish())
        }
        Coding::Deflate => {
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), Compression::fast());
            std::io::Write::write_all(&mut encoder, &body).and_then(|_| encoder.finish())
        }
    };
    match compressed {
        Ok(compressed) => (compressed, Some(coding)),
        Err(_) => (body, None),
    }
}

/// Sets the `Content-Encoding` of a response encoded with `coding`.
pub fn set_content_encoding(headers: &mut HeaderMap, coding: Option<Coding>) {
    if let Some(coding) = coding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding.name()));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

/// The CORS preflight answer to an `OPTIONS` request, as DynamoDB gives it:
/// any origin, the method and headers asked for, cached two days.
pub fn preflight(request_headers: &HeaderMap) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if let Some(method) = request_headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, method.clone());
    }
    if let Some(asked) = request_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

/// True for a CORS preflight request to the API. The admin and status
/// paths get no CORS: a web page must not drive or read them.
pub fn is_preflight<B>(request: &Request<B>) -> bool {
    request.method() == Method::OPTIONS && is_api_path(request)
}

/// True for a request from browser code to the API (with an `Origin`), which
/// gets the CORS headers.
pub fn is_cors<B>(request: &Request<B>) -> bool {
    request.headers().contains_key(header::ORIGIN) && is_api_path(request)
}

fn is_api_path<B>(request: &Request<B>) -> bool {
    request.uri().path() == "/"
}

/// Adds what every response carries: the `Server` header, and for a
/// request from a browser (with `Origin`) the CORS headers.
pub fn finish_response(headers: &mut HeaderMap, from_browser: bool) {
    headers.insert(header::SERVER, HeaderValue::from_static("Server"));
    if from_browser {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
}

/// Why a request's head is over the limits, if it is.
pub fn head_over_limits<B>(request: &Request<B>) -> Option<String> {
    let uri = request.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(format!("The request line exceeds {MAX_URI_BYTES} bytes"));
    }
    let headers = request.headers();
    if headers.len() > MAX_HEADERS {
        return Some(format!("The request has more than {MAX_HEADERS} headers"));
    }
    let bytes: usize = headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    if bytes > MAX_HEADER_BYTES {
        return Some(format!("The request headers exceed {MAX_HEADER_BYTES} bytes"));
    }
    None
}

/// The answer to a request whose head is over the limits: a 400, and the
/// connection closed.
pub fn head_too_large(message: String) -> Response<Body> {
    let error = ApiError::new(ErrorKind::Validation, message);
    let mut response = super::json_response(StatusCode::BAD_REQUEST, &error.body(), "0", None);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// DynamoDB's answer to `GET /`: a health line naming the endpoint.
pub fn health(region: &str) -> Response<Body> {
    let body = format!("healthy: dynamodb.{region}.amazonaws.com ");
    let crc = crc32fast::hash(body.as_bytes());
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    headers.insert("x-amz-crc32", HeaderValue::from(crc));
    response
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn accept_encoding_prefers_gzip_and_honours_q_zero() {
        let pick = |v| accepted(&headers(&[("accept-encoding", v)]));
        assert_eq!(pick("gzip, deflate"), Some(Coding::Gzip));
        assert_eq!(pick("deflate, gzip;q=0.5"), Some(Coding::Gzip));
        assert_eq!(pick("deflate, gzip;q=0"), Some(Coding::Deflate));
        assert_eq!(pick("br, identity"), None);
        assert_eq!(accepted(&HeaderMap::new()), None);
    }

    #[test]
    fn content_encoding_lists_codings_and_names_unknown_ones() {
        let codings = |v| request_codings(&headers(&[("content-encoding", v)]));
        assert_eq!(codings("gzip"), Ok(vec![Coding::Gzip]));
        assert_eq!(codings("identity"), Ok(vec![]));
        assert_eq!(codings("deflate, gzip"), Ok(vec![Coding::Deflate, Coding::Gzip]));
        assert_eq!(codings("br"), Err("br".to_string()));
    }

    #[test]
    fn inflating_stops_one_byte_past_the_limit() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(&vec![b'a'; 1 << 20]).unwrap();
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 4096);
        let error = inflate(Coding::Gzip, &bomb, 1000).unwrap_err();
        assert_eq!(error.kind, ErrorKind::RequestTooLarge);
        assert_eq!(inflate(Coding::Gzip, &bomb, 1 << 20).unwrap().len(), 1 << 20);
        let error = inflate(Coding::Gzip, b"not gzip", 1000).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InternalServerError);
    }

    #[test]
    fn deflate_is_zlib_or_raw() {
        let body = b"{\"TableName\":\"t\"}";
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(body).unwrap();
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(body).unwrap();
        for data in [zlib.finish().unwrap(), raw.finish().unwrap()] {
            assert_eq!(inflate(Coding::Deflate, &data, 100).unwrap(), body);
        }
    }

    #[test]
    fn only_large_bodies_are_compressed() {
        let small = vec![b'x'; COMPRESS_MIN_BYTES - 1];
        assert_eq!(encode_body(small.clone(), Some(Coding::Gzip)), (small, None));
        let large = vec![b'x'; COMPRESS_MIN_BYTES];
        let (bytes, coding) = encode_body(large.clone(), Some(Coding::Gzip));
        assert_eq!(coding, Some(Coding::Gzip));
        assert_eq!(inflate(Coding::Gzip, &bytes, 1 << 20).unwrap(), large);
        assert_eq!(encode_body(large.clone(), None), (large, None));
    }
}
