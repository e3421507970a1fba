//! The gate of the admin surface (`/admin/*`, `/status`, `/metrics`, and
//! `meridian up`'s control endpoint). A request passes with the admin token
//! (`Authorization: Bearer TOKEN`), or from a trusted network (loopback by
//! default) when its `Host` is an IP address or `localhost` and its
//! `Origin`, when sent, is that same host. The `Host` check defeats DNS
//! rebinding (a page whose domain was re-pointed at 127.0.0.1 still sends
//! its own name); the `Origin` check defeats cross-site requests a web page
//! makes from the user's browser.

use std::net::IpAddr;
use std::path::Path;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

use super::AuthError;
use crate::config::{AdminConfig, IpNetwork};

/// Who may use the admin surface.
#[derive(Debug)]
pub struct AdminGate {
    token: Option<String>,
    networks: Vec<IpNetwork>,
}

impl AdminGate {
    /// The gate `config` describes; the token file must be readable by its
    /// owner only.
    pub fn from_config(config: &AdminConfig) -> Result<AdminGate, AuthError> {
        let networks = config
            .networks()
            .map_err(|e| AuthError::Credentials(format!("admin: {e}")))?;
        let token = match config.token_file.as_str() {
            "" => None,
            path => Some(read_token(Path::new(path))?),
        };
        Ok(AdminGate { token, networks })
    }

    /// Loopback only, no token: the default, and `up`'s control endpoint.
    pub fn loopback() -> AdminGate {
        let networks = AdminConfig::default().networks().unwrap_or_default();
        AdminGate { token: None, networks }
    }

    /// Admits or refuses a request from `peer` (`None`: a listener bound to
    /// loopback, whose peers are local) with `headers`; the refusal says why
    /// and what to do.
    pub fn check(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<(), String> {
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(sent) = bearer {
            return match &self.token {
                Some(token) if bool::from(token.as_bytes().ct_eq(sent.trim().as_bytes())) => Ok(()),
                _ => Err("the admin token is not valid".into()),
            };
        }
        if let Some(peer) = peer
            && !self.networks.iter().any(|n| n.contains(peer))
        {
            return Err(format!(
                "the admin surface answers trusted networks only (admin.trusted_networks), \
                 or requests with the admin token (admin.token_file); {peer} is not trusted"
            ));
        }
        let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_local_host(host) {
            return Err(format!(
                "Host {host:?} is not an IP address or localhost: refused (DNS rebinding); \
                 use the address, or the admin token"
            ));
        }
        if let Some(origin) = headers.get("origin") {
            let origin = origin.to_str().unwrap_or("");
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
            if !origin_host.eq_ignore_ascii_case(host) {
                return Err(format!(
                    "Origin {origin:?} is not this server ({host}): cross-site admin requests are refused"
                ));
            }
        }
        Ok(())
    }
}

/// Whether a `Host` value (with or without port) names an IP address or
/// `localhost`, which DNS cannot re-point.
fn is_local_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map(|(name, _)| name).unwrap_or(host)
    };
    !name.is_empty()
        && (name.parse::<IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || name.to_ascii_lowercase().ends_with(".localhost"))
}

/// The token in `path`, trimmed; refused when group or others can read it
/// or when it is empty. The CLI reads it the same way to send it.
pub fn read_token(path: &Path) -> Result<String, AuthError> {
    let shown = path.display();
    let error = |message: String| AuthError::Credentials(format!("admin.token_file {shown}: {message}"));
    crate::replication::tls::check_secret_permissions(path).map_err(|e| error(e.to_string()))?;
    let token = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(error("the token is empty".into()));
    }
    Ok(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn loopback_with_a_local_host_passes() {
        let gate = AdminGate::loopback();
        let local = Some(IpAddr::from([127, 0, 0, 1]));
        for host in [
            "127.0.0.1:8000",
            "localhost:8000",
            "[::1]:8000",
            "localhost",
            "app.localhost:1",
        ] {
            assert_eq!(gate.check(local, &headers(&[("host", host)])), Ok(()), "{host}");
        }
        let same_origin = headers(&[("host", "127.0.0.1:8000"), ("origin", "http://127.0.0.1:8000")]);
        assert_eq!(gate.check(local, &same_origin), Ok(()));
    }

    #[test]
    fn rebinding_cross_site_and_remote_peers_are_refused() {
        let gate = AdminGate::loopback();
        let local = Some(IpAddr::from([127, 0, 0, 1]));
        assert!(gate.check(local, &headers(&[("host", "evil.example:8000")])).is_err());
        assert!(gate.check(local, &headers(&[])).is_err());
        let cross = headers(&[("host", "127.0.0.1:8000"), ("origin", "http://evil.example")]);
        assert!(gate.check(local, &cross).is_err());
        let remote = Some(IpAddr::from([10, 0, 0, 1]));
        assert!(gate.check(remote, &headers(&[("host", "10.0.0.2:8000")])).is_err());
        assert!(
            gate.check(local, &headers(&[("host", "127.0.0.1"), ("authorization", "Bearer x")]))
                .is_err()
        );
    }

    #[test]
    fn the_token_admits_from_anywhere() {
        let gate = AdminGate {
            token: Some("s3cret".into()),
            networks: Vec::new(),
        };
        let remote = Some(IpAddr::from([10, 0, 0, 1]));
        let with = |token: &str| headers(&[("host", "db.example"), ("authorization", token)]);
        assert_eq!(gate.check(remote, &with("Bearer s3cret")), Ok(()));
        assert!(gate.check(remote, &with("Bearer wrong")).is_err());
        assert!(gate.check(remote, &headers(&[("host", "10.0.0.2")])).is_err());
    }
}
