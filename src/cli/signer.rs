//! A SigV4 signer for the commands that send DynamoDB requests (`restore
//! --table`, `index wait`, drills) and for the bench's load generator, as
//! lean as a client can be: the signing key is derived once a day (as the
//! SDKs cache it) and the date and credential scope once a second; each
//! request pays for its body's hash, its canonical request's hash and one
//! HMAC. Commands take their credentials as the AWS CLI does, from
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::auth::sigv4::{ALGORITHM, KeyCache, SERVICE, SigningKey, format_amz_date, hex_digest};

/// The headers every request signs, in order.
const SIGNED_HEADERS: &str = "content-type;host;x-amz-date;x-amz-target";

/// The same with a session token.
const SIGNED_WITH_TOKEN: &str = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target";

/// The variables credentials are read from, as the AWS CLI reads them.
pub const ACCESS_KEY_ENV: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";
pub const SESSION_TOKEN_ENV: &str = "AWS_SESSION_TOKEN";

/// Signs requests as one user for one region.
pub struct Signer {
    access_key_id: String,
    session_token: Option<String>,
    region: String,
    keys: KeyCache,
    /// What stays the same for a second.
    stamp: Mutex<Option<Stamp>>,
}

/// The signing time to the second, as `x-amz-date`, its credential scope
/// and the signing key of its day.
#[derive(Clone)]
struct Stamp {
    second: u64,
    amz_date: String,
    scope: String,
    key: SigningKey,
}

impl Signer {
    /// A signer for `access_key_id` with `secret` in `region`.
    pub fn new(access_key_id: &str, secret: &str, region: &str) -> Signer {
        Signer {
            access_key_id: access_key_id.into(),
            session_token: None,
            region: region.into(),
            keys: KeyCache::new(secret),
            stamp: Mutex::new(None),
        }
    }

    /// A signer for `region` with the credentials of the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, and
    /// `AWS_SESSION_TOKEN` when set); `None` without a key id, and an
    /// error for a key id without its secret.
    pub fn from_env(region: &str) -> anyhow::Result<Option<Signer>> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let Some(key_id) = var(ACCESS_KEY_ENV) else {
            return Ok(None);
        };
        let Some(secret) = var(SECRET_KEY_ENV) else {
            anyhow::bail!("{ACCESS_KEY_ENV} is set but {SECRET_KEY_ENV} is not");
        };
        let mut signer = Signer::new(&key_id, &secret, region);
        signer.session_token = var(SESSION_TOKEN_ENV);
        Ok(Some(signer))
    }

    /// The stamp of `now`, made at most once a second.
    fn stamp(&self, now: SystemTime) -> Stamp {
        let second = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut stamp = self.stamp.lock().unwrap_or_else(|e| e.into_inner());
        match &*stamp {
            Some(current) if current.second == second => current.clone(),
            _ => {
                let amz_date = format_amz_date(now);
                let date = &amz_date[..8];
                let fresh = Stamp {
                    second,
                    scope: format!("{date}/{}/{SERVICE}/aws4_request", self.region),
                    key: self.keys.key(date, now, &self.region),
                    amz_date,
                };
                *stamp = Some(fresh.clone());
                fresh
            }
        }
    }

    /// The `x-amz-date`, `authorization` (and with a session token
    /// `x-amz-security-token`) headers of a DynamoDB request to `host` for
    /// `target` with `body`, sent with `content-type:
    /// application/x-amz-json-1.0`.
    pub fn headers(&self, host: &str, target: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        let Stamp {
            amz_date, scope, key, ..
        } = self.stamp(SystemTime::now());
        let token = self.session_token.as_deref();
        let signed_headers = if token.is_some() {
            SIGNED_WITH_TOKEN
        } else {
            SIGNED_HEADERS
        };
        let mut body_hash = [0u8; 64];
        let mut canonical = String::with_capacity(256);
        let token_line = token.map(|t| ["\nx-amz-security-token:", t]).unwrap_or_default();
        for part in [
            "POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:",
            host,
            "\nx-amz-date:",
            &amz_date,
            token_line[0],
            token_line[1],
            "\nx-amz-target:",
            target,
            "\n\n",
            signed_headers,
            "\n",
            hex_digest(body, &mut body_hash),
        ] {
            canonical.push_str(part);
        }
        let mut canonical_hash = [0u8; 64];
        let canonical_hash = hex_digest(canonical.as_bytes(), &mut canonical_hash);
        let mut signature = [0u8; 64];
        let signature = key.sign(
            &[ALGORITHM, "\n", &amz_date, "\n", &scope, "\n", canonical_hash],
            &mut signature,
        );
        let authorization = format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key_id
        );
        let mut headers = vec![("x-amz-date", amz_date), ("authorization", authorization)];
        headers.extend(token.map(|t| ("x-amz-security-token", t.to_string())));
        headers
    }
}
