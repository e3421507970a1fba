//! Who may do what: AWS Signature Version 4 authentication of API requests
//! against a credentials file (`auth = "sigv4"`), IAM-style policies
//! checked before any data is read or written, and the admin surface's
//! gate. Pure checks over a request's head and body: the API calls them
//! from one place (`api/auth_hook.rs`) and maps [`AuthError`] to the wire.
//!
//! - `sigv4`: the signature, its scope and its clock window;
//! - `credentials`: the users file;
//! - `policy`: policy documents and their evaluation;
//! - `access`: what a request does, as actions, resources and condition keys;
//! - `admin`: who may use `/admin/*`, `/status` and `/metrics`.

pub mod access;
pub mod admin;
pub mod credentials;
pub mod policy;
pub mod sigv4;

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::config::NodeConfig;
use crate::model::table::ACCOUNT_ID;
use access::Catalog;
use credentials::{User, Users};
use policy::Decision;
pub use sigv4::SignedHead;

/// Why a request is refused, each with DynamoDB's error and message.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No signature at all: `MissingAuthenticationTokenException`.
    #[error("Request is missing Authentication Token")]
    MissingToken,
    /// Part of a signature: `IncompleteSignatureException`.
    #[error("{0}")]
    Incomplete(String),
    /// An access key id or session token not known:
    /// `UnrecognizedClientException`.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// A signature that does not check, or out of its window:
    /// `InvalidSignatureException`.
    #[error("{0}")]
    InvalidSignature(String),
    /// A policy refuses: `AccessDeniedException`.
    #[error("{0}")]
    AccessDenied(String),
    /// The credentials file cannot be used (at start only).
    #[error("auth_credentials {0}")]
    Credentials(String),
}

impl AuthError {
    /// The signature computed differs from the one sent.
    pub fn signature_mismatch() -> AuthError {
        AuthError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
                .into(),
        )
    }
}

/// The users a region accepts, for `auth = "sigv4"`.
pub struct Auth {
    region: String,
    users: Users,
}

impl Auth {
    /// The authenticator `config` asks for: `None` with `auth = "none"`;
    /// an error when the credentials file cannot be used.
    pub fn from_config(config: &NodeConfig, region: &str) -> Result<Option<Arc<Auth>>, AuthError> {
        if config.auth != "sigv4" {
            return Ok(None);
        }
        let users = credentials::load(Path::new(&config.auth_credentials))?;
        tracing::info!(
            region,
            users = users.len(),
            "requests must be signed (auth = \"sigv4\")"
        );
        Ok(Some(Arc::new(Auth {
            region: region.to_string(),
            users,
        })))
    }

    /// Checks the signature of a request whose head is `head` and body
    /// `body`, at `now`; the user who signed it.
    pub fn authenticate(&self, head: &SignedHead, body: &[u8], now: SystemTime) -> Result<Arc<User>, AuthError> {
        let user = self
            .users
            .get(&head.credential.access_key_id)
            .ok_or(AuthError::UnrecognizedClient)?;
        if user.session_token != head.security_token {
            return Err(AuthError::UnrecognizedClient);
        }
        head.verify(&user.keys, &self.region, body, now)?;
        Ok(user.clone())
    }

    /// Checks `user`'s policy allows every access of `operation` with
    /// `body`; the first refused access names the error.
    pub fn authorize(
        &self,
        user: &User,
        operation: &str,
        body: &Map<String, Value>,
        catalog: &dyn Catalog,
    ) -> Result<(), AuthError> {
        for access in access::accesses(&self.region, operation, body, catalog) {
            let why = match user.policy.decide(&access, &user.name) {
                Decision::Allow => continue,
                Decision::ExplicitDeny => "with an explicit deny in an identity-based policy",
                Decision::ImplicitDeny => {
                    &format!("because no identity-based policy allows the {} action", access.action)
                }
            };
            tracing::info!(region = %self.region, user = %user.name, action = %access.action, resource = %access.resource, "access denied");
            return Err(AuthError::AccessDenied(format!(
                "User: arn:aws:iam::{ACCOUNT_ID}:user/{} is not authorized to perform: {} on resource: {} {why}",
                user.name, access.action, access.resource
            )));
        }
        Ok(())
    }
}
