//! A SigV4 signer for the load generator, as lean as a client can be: the
//! signing key is derived once a day (as the SDKs cache it), each request
//! pays for its body's hash, its canonical request's hash and one HMAC. The
//! auth scenario measures the server's cost of checking signatures, so the
//! client's cost of making them is kept small (they share the cores).

use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::auth::sigv4::{ALGORITHM, KeyCache, SERVICE, format_amz_date};

/// Signs requests as one user for one region.
pub struct Signer {
    access_key_id: String,
    region: String,
    keys: KeyCache,
}

impl Signer {
    /// A signer for `access_key_id` with `secret` in `region`.
    pub fn new(access_key_id: &str, secret: &str, region: &str) -> Signer {
        Signer {
            access_key_id: access_key_id.into(),
            region: region.into(),
            keys: KeyCache::new(secret),
        }
    }

    /// The `x-amz-date` and `authorization` headers of a DynamoDB request
    /// to `host` for `target` with `body` (and the `content-type` the load
    /// generator sends).
    pub fn headers(&self, host: &str, target: &str, body: &[u8]) -> [(&'static str, String); 2] {
        let now = SystemTime::now();
        let amz_date = format_amz_date(now);
        let date = &amz_date[..8];
        let signed_headers = "content-type;host;x-amz-date;x-amz-target";
        let canonical = format!(
            "POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:{host}\nx-amz-date:{amz_date}\nx-amz-target:{target}\n\n{signed_headers}\n{}",
            hex::encode(Sha256::digest(body))
        );
        let scope = format!("{date}/{}/{SERVICE}/aws4_request", self.region);
        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let key = self.keys.key(date, now, &self.region);
        let signature = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
        let authorization = format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key_id
        );
        [("x-amz-date", amz_date), ("authorization", authorization)]
    }
}
