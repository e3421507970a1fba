//! A SigV4 signer for the load generator, as lean as a client can be: the
//! signing key is derived once a day (as the SDKs cache it) and the date
//! and credential scope once a second; each request pays for its body's
//! hash, its canonical request's hash and one HMAC. The auth scenario
//! measures the server's cost of checking signatures, so the client's cost
//! of making them is kept small (they share the cores).

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::auth::sigv4::{ALGORITHM, KeyCache, SERVICE, format_amz_date};

/// The headers every request signs, in order.
const SIGNED_HEADERS: &str = "content-type;host;x-amz-date;x-amz-target";

/// Signs requests as one user for one region.
pub struct Signer {
    access_key_id: String,
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
    key: Arc<[u8]>,
}

impl Signer {
    /// A signer for `access_key_id` with `secret` in `region`.
    pub fn new(access_key_id: &str, secret: &str, region: &str) -> Signer {
        Signer {
            access_key_id: access_key_id.into(),
            region: region.into(),
            keys: KeyCache::new(secret),
            stamp: Mutex::new(None),
        }
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

    /// The `x-amz-date` and `authorization` headers of a DynamoDB request
    /// to `host` for `target` with `body` (and the `content-type` the load
    /// generator sends).
    pub fn headers(&self, host: &str, target: &str, body: &[u8]) -> [(&'static str, String); 2] {
        let Stamp {
            amz_date, scope, key, ..
        } = self.stamp(SystemTime::now());
        let mut canonical = String::with_capacity(256);
        for part in [
            "POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:",
            host,
            "\nx-amz-date:",
            &amz_date,
            "\nx-amz-target:",
            target,
            "\n\n",
            SIGNED_HEADERS,
            "\n",
            &hex::encode(Sha256::digest(body)),
        ] {
            canonical.push_str(part);
        }
        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let signature = aws_sigv4::sign::v4::calculate_signature(&key, string_to_sign.as_bytes());
        let authorization = format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}",
            self.access_key_id
        );
        [("x-amz-date", amz_date), ("authorization", authorization)]
    }
}
