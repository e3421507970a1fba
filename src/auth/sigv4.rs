//! AWS Signature Version 4, as a server checks it: the signature a request
//! carries (in its `Authorization` header, or presigned in its query
//! string) is computed again from the request and the user's secret, and
//! compared in constant time. The canonical request is built here; the
//! signing key and the HMAC come from `aws-sigv4`, the SDKs' own crate.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AuthError;

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a signature's date may be from the server's clock, either way.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The signing name of DynamoDB and of DynamoDB Streams.
pub const SERVICE: &str = "dynamodb";
/// Longest `X-Amz-Expires` of a presigned request: a week, as AWS.
pub const MAX_EXPIRES_SECS: u64 = 604_800;

/// The credential scope: `AKID/YYYYMMDD/region/service/aws4_request`, kept
/// as sent (one string, read through its parts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    text: String,
    /// Where the access key id, the date, the region and the service end
    /// (each at a `/`).
    ends: [usize; 4],
}

impl Credential {
    /// Parses a `Credential` value.
    fn parse(text: &str) -> Result<Credential, AuthError> {
        let malformed = || {
            AuthError::Incomplete(format!(
                "Credential should be of the form 'AccessKeyId/Date/Region/Service/aws4_request', not '{text}'."
            ))
        };
        let mut slashes = text
            .bytes()
            .enumerate()
            .filter(|(_, byte)| *byte == b'/')
            .map(|(at, _)| at);
        let mut ends = [0; 4];
        for end in &mut ends {
            *end = slashes.next().ok_or_else(malformed)?;
        }
        if slashes.next().is_some() {
            return Err(malformed());
        }
        let terminator = &text[ends[3] + 1..];
        if terminator != "aws4_request" {
            return Err(AuthError::Incomplete(format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
            )));
        }
        Ok(Credential {
            text: text.to_string(),
            ends,
        })
    }

    /// The access key id, which names the user.
    pub fn access_key_id(&self) -> &str {
        &self.text[..self.ends[0]]
    }

    /// The scope's date, `YYYYMMDD`.
    pub fn date(&self) -> &str {
        self.part(1)
    }

    /// The scope's region.
    pub fn region(&self) -> &str {
        self.part(2)
    }

    /// The scope's service (signing name).
    pub fn service(&self) -> &str {
        self.part(3)
    }

    /// `YYYYMMDD/region/service/aws4_request`, as the string to sign has it.
    fn scope(&self) -> &str {
        &self.text[self.ends[0] + 1..]
    }

    /// The `n`th part (from 1), between two slashes.
    fn part(&self, n: usize) -> &str {
        &self.text[self.ends[n - 1] + 1..self.ends[n]]
    }
}

/// A signing key ready to sign with: HMAC-SHA256 keyed with it, whose
/// inner and outer key blocks are hashed once rather than per signature.
#[derive(Clone)]
pub struct SigningKey(Hmac<Sha256>);

impl SigningKey {
    /// The key of `secret` for the date of `at` in `region` (four HMACs,
    /// computed by `aws-sigv4`).
    fn derive(secret: &str, at: SystemTime, region: &str) -> SigningKey {
        let key = aws_sigv4::sign::v4::generate_signing_key(secret, at, region, SERVICE);
        // HMAC takes a key of any length: this never fails.
        let mac = Hmac::<Sha256>::new_from_slice(key.as_ref()).expect("HMAC takes keys of any length");
        SigningKey(mac)
    }

    /// The signature of the string to sign that `parts` make, one after
    /// the other, in lowercase hex, written into `out`.
    pub fn sign<'o>(&self, parts: &[&str], out: &'o mut [u8; 64]) -> &'o str {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part.as_bytes());
        }
        hex_into(&mac.finalize().into_bytes(), out)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// The signing key of one secret, for the last date it was asked for:
/// deriving one takes four HMACs, and a client signs with the same key all
/// day (the SDKs cache it too).
pub struct KeyCache {
    secret: String,
    last: Mutex<Option<DatedKey>>,
}

/// `(YYYYMMDD, region, key)`.
type DatedKey = (String, String, SigningKey);

impl KeyCache {
    /// A cache for `secret`.
    pub fn new(secret: &str) -> KeyCache {
        KeyCache {
            secret: secret.to_string(),
            last: Mutex::new(None),
        }
    }

    /// The key for `date` (`YYYYMMDD`, the date of `at`) in `region`.
    pub fn key(&self, date: &str, at: SystemTime, region: &str) -> SigningKey {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match &*last {
            Some((d, r, key)) if d == date && r == region => key.clone(),
            _ => {
                let key = SigningKey::derive(&self.secret, at, region);
                *last = Some((date.to_string(), region.to_string(), key.clone()));
                key
            }
        }
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCache(..)")
    }
}

/// What a request's signature covers, copied out of its head before the
/// body is read (the head is let go of early, see `api::handle`).
#[derive(Debug)]
pub struct SignedHead {
    /// Who signed, and for which date, region and service.
    pub credential: Credential,
    /// The session token the request carries, if any.
    pub security_token: Option<String>,
    /// The canonical request but its last line (the payload's hash): the
    /// method, path, query, signed headers and their names, each line
    /// ended with `\n`.
    canonical: String,
    signature: String,
    amz_date: String,
    /// `X-Amz-Expires`, for a presigned request.
    expires: Option<u64>,
    /// `x-amz-content-sha256`, when sent.
    content_sha256: Option<String>,
}

impl SignedHead {
    /// Copies the signature and what it covers out of a request's head:
    /// `MissingAuthenticationToken` when it carries none, `Incomplete` when
    /// it carries part of one.
    pub fn capture(method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<SignedHead, AuthError> {
        let query = uri.query().unwrap_or("");
        let found = SigningHeaders::find(headers);
        if let Some(authorization) = found.authorization {
            let authorization = authorization
                .to_str()
                .map_err(|_| AuthError::Incomplete("Authorization header is not ASCII.".into()))?;
            return from_header(method, uri, headers, &found, authorization, query);
        }
        let query = parse_query(query);
        if query.iter().any(|(name, _)| name == "X-Amz-Algorithm") {
            return from_query(method, uri, headers, &found, &query);
        }
        Err(AuthError::MissingToken)
    }

    /// Checks the signature with `secret`, for `region`, against `body`, at
    /// `now`. The session token and the user were checked by the caller.
    pub fn verify(&self, keys: &KeyCache, region: &str, body: &[u8], now: SystemTime) -> Result<(), AuthError> {
        let credential = &self.credential;
        if credential.region() != region {
            return Err(AuthError::InvalidSignature(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                credential.region()
            )));
        }
        if credential.service() != SERVICE {
            return Err(AuthError::InvalidSignature(format!(
                "Credential should be scoped to correct service: '{SERVICE}'. "
            )));
        }
        let signed_at = parse_amz_date(&self.amz_date)?;
        if !self.amz_date.starts_with(credential.date()) || credential.date().len() != 8 {
            return Err(AuthError::InvalidSignature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
                credential.date(),
                &self.amz_date[..8],
                self.amz_date
            )));
        }
        self.check_window(signed_at, now)?;
        let mut body_hash = [0u8; 64];
        let body_hash = hex_digest(body, &mut body_hash);
        if self.content_sha256.as_ref().is_some_and(|sent| sent != body_hash) {
            return Err(AuthError::signature_mismatch());
        }
        let mut canonical_hash = [0u8; 64];
        let canonical_hash = self.canonical_hash(body_hash, &mut canonical_hash);
        let string_to_sign = [
            ALGORITHM,
            "\n",
            &self.amz_date,
            "\n",
            credential.scope(),
            "\n",
            canonical_hash,
        ];
        let key = keys.key(credential.date(), signed_at, region);
        let mut expected = [0u8; 64];
        let expected = key.sign(&string_to_sign, &mut expected);
        if bool::from(expected.as_bytes().ct_eq(self.signature.as_bytes())) {
            Ok(())
        } else {
            Err(AuthError::signature_mismatch())
        }
    }

    /// The 15-minute window around the server's clock, and a presigned
    /// request's expiry.
    fn check_window(&self, signed_at: SystemTime, now: SystemTime) -> Result<(), AuthError> {
        let window = self.expires.map_or(MAX_SKEW, Duration::from_secs);
        if signed_at + window < now {
            let earliest = now.checked_sub(window).unwrap_or(UNIX_EPOCH);
            let unit = match self.expires {
                Some(expires) => format!("{expires} sec."),
                None => "15 min.".to_string(),
            };
            return Err(AuthError::InvalidSignature(format!(
                "Signature expired: {} is now earlier than {} ({} - {unit})",
                self.amz_date,
                format_amz_date(earliest),
                format_amz_date(now)
            )));
        }
        if signed_at > now + MAX_SKEW {
            return Err(AuthError::InvalidSignature(format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                self.amz_date,
                format_amz_date(now + MAX_SKEW),
                format_amz_date(now)
            )));
        }
        Ok(())
    }

    /// The SHA-256, in lowercase hex written into `out`, of the canonical
    /// request whose payload hash is `body_hash`.
    fn canonical_hash<'o>(&self, body_hash: &str, out: &'o mut [u8; 64]) -> &'o str {
        let mut hasher = Sha256::new();
        hasher.update(self.canonical.as_bytes());
        hasher.update(body_hash.as_bytes());
        hex_into(&hasher.finalize(), out)
    }
}

/// `bytes` (at most 32) in lowercase hex, written into `out`.
fn hex_into<'o>(bytes: &[u8], out: &'o mut [u8; 64]) -> &'o str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in bytes.iter().take(32).enumerate() {
        out[2 * i] = DIGITS[usize::from(byte >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(byte & 0xf)];
    }
    // Hex digits are ASCII.
    std::str::from_utf8(&out[..2 * bytes.len().min(32)]).unwrap_or_default()
}

/// The SHA-256 of `data` in lowercase hex, written into `out`.
pub fn hex_digest<'o>(data: &[u8], out: &'o mut [u8; 64]) -> &'o str {
    hex_into(&Sha256::digest(data), out)
}

/// The `Authorization: AWS4-HMAC-SHA256 Credential=.., SignedHeaders=..,
/// Signature=..` form.
fn from_header(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    found: &SigningHeaders<'_>,
    authorization: &str,
    query: &str,
) -> Result<SignedHead, AuthError> {
    let (algorithm, rest) = authorization.split_once(' ').unwrap_or((authorization, ""));
    if algorithm != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'. Authorization={authorization}"
        )));
    }
    let mut fields = [("Credential", None), ("SignedHeaders", None), ("Signature", None)];
    for part in rest.split(',') {
        if let Some((name, value)) = part.trim().split_once('=')
            && let Some(field) = fields.iter_mut().find(|(n, _)| *n == name)
        {
            field.1 = Some(value);
        }
    }
    let [(_, Some(credential)), (_, Some(signed_headers)), (_, Some(signature))] = fields else {
        let missing: String = fields
            .iter()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| format!("Authorization header requires '{name}' parameter. "))
            .collect();
        return Err(AuthError::Incomplete(format!("{missing}Authorization={authorization}")));
    };
    let amz_date = header_str(found.date).ok_or_else(|| {
        AuthError::Incomplete(format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={authorization}"
        ))
    })?;
    let canonical_query = match query {
        "" => String::new(),
        query => canonical_query(&parse_query(query)),
    };
    build(
        method,
        uri,
        headers,
        Parts {
            credential: Credential::parse(credential)?,
            security_token: header_str(found.security_token).map(str::to_string),
            content_sha256: header_str(found.content_sha256),
            signed_headers,
            signature,
            amz_date,
            expires: None,
            canonical_query,
        },
    )
}

/// The presigned form: `X-Amz-Algorithm`, `X-Amz-Credential`,
/// `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
/// `X-Amz-Signature` (and `X-Amz-Security-Token`) in the query string.
fn from_query(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    found: &SigningHeaders<'_>,
    query: &[(String, String)],
) -> Result<SignedHead, AuthError> {
    let param = |name: &str| query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let required = |name: &str| {
        param(name).ok_or_else(|| {
            AuthError::Incomplete(format!(
                "AWS query-string parameters must include '{name}'. Re-examine the query-string parameters."
            ))
        })
    };
    let algorithm = required("X-Amz-Algorithm")?;
    if algorithm != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\""
        )));
    }
    let expires = required("X-Amz-Expires")?;
    let expires = expires
        .parse::<u64>()
        .ok()
        .filter(|e| (1..=MAX_EXPIRES_SECS).contains(e))
        .ok_or_else(|| {
            AuthError::Incomplete(format!(
                "X-Amz-Expires must be a number of seconds from 1 to {MAX_EXPIRES_SECS}, not '{expires}'."
            ))
        })?;
    let unsigned: Vec<(String, String)> = query
        .iter()
        .filter(|(name, _)| name != "X-Amz-Signature")
        .cloned()
        .collect();
    build(
        method,
        uri,
        headers,
        Parts {
            credential: Credential::parse(required("X-Amz-Credential")?)?,
            security_token: param("X-Amz-Security-Token").map(str::to_string),
            content_sha256: header_str(found.content_sha256),
            signed_headers: required("X-Amz-SignedHeaders")?,
            signature: required("X-Amz-Signature")?,
            amz_date: required("X-Amz-Date")?,
            expires: Some(expires),
            canonical_query: canonical_query(&unsigned),
        },
    )
}

/// What the two forms have in common, once read (borrowed from the head).
struct Parts<'h> {
    credential: Credential,
    security_token: Option<String>,
    signed_headers: &'h str,
    signature: &'h str,
    amz_date: &'h str,
    expires: Option<u64>,
    canonical_query: String,
    content_sha256: Option<&'h str>,
}

/// The signed head of `parts`, with the canonical request (but its payload
/// hash) written out of `method`, `uri` and the signed `headers`.
fn build(method: &Method, uri: &Uri, headers: &HeaderMap, parts: Parts<'_>) -> Result<SignedHead, AuthError> {
    let mut canonical = String::with_capacity(384);
    canonical.push_str(method.as_str());
    canonical.push('\n');
    push_canonical_uri(&mut canonical, uri.path());
    canonical.push('\n');
    canonical.push_str(&parts.canonical_query);
    canonical.push('\n');
    let mut host = false;
    for name in parts.signed_headers.split(';') {
        host |= name == "host";
        push_canonical_header(&mut canonical, headers, name);
    }
    if !host {
        return Err(AuthError::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    canonical.push('\n');
    canonical.push_str(parts.signed_headers);
    canonical.push('\n');
    Ok(SignedHead {
        credential: parts.credential,
        security_token: parts.security_token,
        canonical,
        signature: parts.signature.to_string(),
        amz_date: parts.amz_date.to_string(),
        expires: parts.expires,
        content_sha256: parts.content_sha256.map(str::to_string),
    })
}

/// Appends the canonical line of the signed header `name`: its values, in
/// the order sent, joined by commas. (Names compare as `HeaderMap::get_all`
/// compares them, whatever their case; a walk over the few headers a
/// request has costs less than parsing and hashing the name to look it up.)
fn push_canonical_header(out: &mut String, headers: &HeaderMap, name: &str) {
    out.push_str(name);
    out.push(':');
    let values = headers.iter().filter(|(n, _)| n.as_str().eq_ignore_ascii_case(name));
    for (i, (_, value)) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_collapsed(out, value.as_bytes());
    }
    out.push('\n');
}

/// The headers SigV4 reads by name (the first value of each), found in one
/// walk over a request's headers rather than a lookup each.
#[derive(Default)]
struct SigningHeaders<'h> {
    authorization: Option<&'h HeaderValue>,
    date: Option<&'h HeaderValue>,
    security_token: Option<&'h HeaderValue>,
    content_sha256: Option<&'h HeaderValue>,
}

impl<'h> SigningHeaders<'h> {
    fn find(headers: &'h HeaderMap) -> SigningHeaders<'h> {
        let mut found = SigningHeaders::default();
        for (name, value) in headers {
            let slot = match name.as_str() {
                "authorization" => &mut found.authorization,
                "x-amz-date" => &mut found.date,
                "x-amz-security-token" => &mut found.security_token,
                "x-amz-content-sha256" => &mut found.content_sha256,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        found
    }
}

/// A header's value, when it is text.
fn header_str(value: Option<&HeaderValue>) -> Option<&str> {
    value.and_then(|v| v.to_str().ok())
}

/// Appends a header value as signed: trimmed, runs of spaces made one.
fn push_collapsed(out: &mut String, value: &[u8]) {
    // The usual value (ASCII, single spaces, nothing to trim) as it is,
    // without decoding it character by character.
    if is_collapsed(value)
        && let Ok(text) = std::str::from_utf8(value)
    {
        out.push_str(text);
        return;
    }
    let value = String::from_utf8_lossy(value);
    for (i, word) in value.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// Whether `bytes` are as `push_collapsed` would write them: ASCII with no
/// whitespace but single spaces between words. One pass over the bytes.
fn is_collapsed(bytes: &[u8]) -> bool {
    // A space is refused at the start, after a space, and (below) at the end.
    let mut after_space = true;
    for &byte in bytes {
        if byte == b' ' {
            if after_space {
                return false;
            }
            after_space = true;
        } else if !byte.is_ascii() || byte.is_ascii_whitespace() {
            return false;
        } else {
            after_space = false;
        }
    }
    bytes.is_empty() || !after_space
}

/// AWS's URI encoding: every byte but `A-Za-z0-9-_.~` as `%XX`.
fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    push_uri_encoded(&mut out, text, keep_slash);
    out
}

/// Appends `text` in AWS's URI encoding (see `uri_encode`).
fn push_uri_encoded(out: &mut String, text: &str, keep_slash: bool) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b'/' if keep_slash => out.push('/'),
            _ => {
                out.push('%');
                out.push(char::from(DIGITS[usize::from(byte >> 4)]));
                out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
            }
        }
    }
}

/// Appends the path as the SDKs of every service but S3 sign it: the path
/// as sent, each segment encoded once more.
fn push_canonical_uri(out: &mut String, path: &str) {
    if path.is_empty() {
        out.push('/');
    } else {
        push_uri_encoded(out, path, true);
    }
}

/// Decoded query parameters, in the order sent.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parameters encoded and sorted by name, then value.
fn canonical_query(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(n, v)| (uri_encode(n, false), uri_encode(v, false)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parses `YYYYMMDDTHHMMSSZ` (through PITR's RFC 3339 calendar).
fn parse_amz_date(text: &str) -> Result<SystemTime, AuthError> {
    let invalid = || AuthError::Incomplete(format!("Date must be in ISO-8601 'basic format'. Got '{text}'."));
    let b = text.as_bytes();
    if b.len() != 16
        || b[8] != b'T'
        || b[15] != b'Z'
        || !text[..8].bytes().chain(text[9..15].bytes()).all(|c| c.is_ascii_digit())
    {
        return Err(invalid());
    }
    // Every request carries one: read the digits in place rather than
    // through the general RFC 3339 parser (a format! and a dozen parses).
    let number = |range: std::ops::Range<usize>| b[range].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let secs = crate::pitr::time::utc_seconds(
        i64::from(number(0..4)),
        number(4..6),
        number(6..8),
        number(9..11),
        number(11..13),
        number(13..15),
    )
    .ok_or_else(invalid)?;
    Ok(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Formats `time` as `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(time: SystemTime) -> String {
    let ns = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // `2026-11-22T10:15:30.123Z` without its separators and fraction.
    let rfc3339 = crate::pitr::time::format_rfc3339(ns);
    let digits: String = rfc3339[..19].chars().filter(char::is_ascii_digit).collect();
    format!("{}T{}Z", &digits[..8], &digits[8..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for text in [
            "19700101T000000Z",
            "20150830T123600Z",
            "20240229T235959Z",
            "21000301T000000Z",
        ] {
            assert_eq!(format_amz_date(parse_amz_date(text).unwrap()), text);
        }
        for bad in [
            "",
            "20150830T123600",
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "20150830X123600Z",
            "20150830T243600Z",
            "20150832T123600Z",
        ] {
            assert!(parse_amz_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_credential_has_five_parts_ending_in_aws4_request() {
        let credential = Credential::parse("AK/20150830/us-east-1/dynamodb/aws4_request").unwrap();
        assert_eq!(
            [
                credential.access_key_id(),
                credential.date(),
                credential.region(),
                credential.service(),
                credential.scope()
            ],
            [
                "AK",
                "20150830",
                "us-east-1",
                "dynamodb",
                "20150830/us-east-1/dynamodb/aws4_request"
            ]
        );
        let form = "Credential should be of the form 'AccessKeyId/Date/Region/Service/aws4_request', not";
        for (text, error) in [
            (
                "AK/20150830/us-east-1/dynamodb",
                format!("{form} 'AK/20150830/us-east-1/dynamodb'."),
            ),
            ("AK/2/r/s/aws4_request/x", format!("{form} 'AK/2/r/s/aws4_request/x'.")),
            (
                "AK/2/r/s/aws4",
                "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'.".to_string(),
            ),
        ] {
            assert_eq!(Credential::parse(text).unwrap_err().to_string(), error);
        }
    }

    #[test]
    fn header_values_are_trimmed_and_their_spaces_collapsed() {
        let cases: [(&[u8], &str); 7] = [
            (b"application/x-amz-json-1.0", "application/x-amz-json-1.0"),
            (b"a b c", "a b c"),
            (b"  a   b  ", "a b"),
            (b"a\tb", "a b"),
            (b"a\xc2\xa0b", "a b"),
            (b"caf\xc3\xa9 x", "caf\u{e9} x"),
            (b"", ""),
        ];
        for (value, signed) in cases {
            let mut out = String::new();
            push_collapsed(&mut out, value);
            assert_eq!(out, signed, "{value:?}");
        }
    }

    #[test]
    fn collapsed_values_are_recognised() {
        for (value, collapsed) in [
            (&b""[..], true),
            (b"a", true),
            (b"a b c", true),
            (b" a", false),
            (b"a ", false),
            (b" ", false),
            (b"a  b", false),
            (b"a\tb", false),
            (b"caf\xc3\xa9", false),
        ] {
            assert_eq!(is_collapsed(value), collapsed, "{value:?}");
        }
    }

    #[test]
    fn signed_header_values_are_joined_in_order_whatever_the_names_case() {
        let mut headers = HeaderMap::new();
        headers.append("x-b", "1".parse().unwrap());
        headers.insert("host", "h".parse().unwrap());
        headers.append("x-b", " 2  3 ".parse().unwrap());
        let mut out = String::new();
        for name in ["host", "X-B", "x-missing"] {
            push_canonical_header(&mut out, &headers, name);
        }
        assert_eq!(out, "host:h\nX-B:1,2 3\nx-missing:\n");
    }

    #[test]
    fn query_is_decoded_then_encoded_and_sorted() {
        let params = parse_query("b=2&a=x%2Fy&X-Amz-Credential=AK%2F20150830%2Fus-east-1");
        assert_eq!(params[1], ("a".into(), "x/y".into()));
        assert_eq!(
            canonical_query(&params),
            "X-Amz-Credential=AK%2F20150830%2Fus-east-1&a=x%2Fy&b=2"
        );
    }

    /// AWS's documented example (IAM ListUsers, `get-vanilla-query`-style):
    /// the signature this module computes is the one AWS publishes.
    #[test]
    fn matches_aws_documented_example() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "iam.amazonaws.com".parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8".parse().unwrap(),
        );
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                .parse()
                .unwrap(),
        );
        let uri: Uri = "/?Action=ListUsers&Version=2010-05-08".parse().unwrap();
        let head = SignedHead::capture(&Method::GET, &uri, &headers).unwrap();
        let at = parse_amz_date("20150830T123600Z").unwrap();
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        // The example signs for IAM; only the service check stands between.
        let error = head.verify(&KeyCache::new(secret), "us-east-1", b"", at).unwrap_err();
        assert!(matches!(error, AuthError::InvalidSignature(_)));
        assert_eq!(head.credential.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(head.credential.service(), "iam");
        // Recompute with the example's service by hand: the same inputs
        // with `iam` give AWS's published signature.
        let (mut body_hash, mut canonical_hash) = ([0u8; 64], [0u8; 64]);
        let canonical_hash = head.canonical_hash(hex_digest(b"", &mut body_hash), &mut canonical_hash);
        let string_to_sign =
            format!("{ALGORITHM}\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n{canonical_hash}");
        let key = aws_sigv4::sign::v4::generate_signing_key(secret, at, "us-east-1", "iam");
        assert_eq!(
            aws_sigv4::sign::v4::calculate_signature(&key, string_to_sign.as_bytes()),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        // And so does the cached signing key, from its hashed pads.
        let key = SigningKey(Hmac::<Sha256>::new_from_slice(key.as_ref()).unwrap());
        assert_eq!(
            key.sign(&[&string_to_sign], &mut [0u8; 64]),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }
}
