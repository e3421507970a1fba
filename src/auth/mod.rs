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

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::config::NodeConfig;
use crate::model::table::ACCOUNT_ID;
use access::Catalog;
use credentials::{User, Users};
use policy::{Access, Decision, Policy};
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

/// The users a region accepts, for `auth = "sigv4"`, and the tables'
/// resource-based policies.
pub struct Auth {
    region: String,
    users: Users,
    /// Resource-based policies by table ARN, each with the `TableId` of the
    /// table it was put on (a policy left by a deleted table of the same
    /// name does not apply to its successor).
    resource_policies: RwLock<HashMap<String, (String, Arc<Policy>)>>,
}

/// What refused an access, for AccessDeniedException's message.
fn refusal(identity: Decision, resource: Decision, action: &str) -> Option<String> {
    match (identity, resource) {
        (Decision::ExplicitDeny, _) => Some("with an explicit deny in an identity-based policy".into()),
        (_, Decision::ExplicitDeny) => Some("with an explicit deny in a resource-based policy".into()),
        (Decision::Allow, _) | (_, Decision::Allow) => None,
        _ => Some(format!("because no identity-based policy allows the {action} action")),
    }
}

/// The table ARN and table name of a table or index `resource`, whose
/// resource-based policy applies to it (streams and backups have their own
/// resources, which a table's policy does not cover).
fn table_of(resource: &str) -> Option<(&str, &str)> {
    let (prefix, rest) = resource.split_once(":table/")?;
    if !prefix.starts_with("arn:aws:dynamodb:") {
        return None;
    }
    let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if !(tail.is_empty() || tail.starts_with("index/")) {
        return None;
    }
    Some((&resource[..prefix.len() + ":table/".len() + name.len()], name))
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
            resource_policies: RwLock::default(),
        })))
    }

    /// Sets (or with `None` removes) the resource-based policy of the table
    /// `table_arn` whose `TableId` is `table_id`; the error says why a
    /// policy document cannot be used.
    pub fn set_resource_policy(&self, table_arn: &str, table_id: &str, policy: Option<&str>) -> Result<(), String> {
        let mut policies = self.resource_policies.write().unwrap_or_else(|e| e.into_inner());
        match policy {
            Some(text) => {
                let parsed = Policy::parse_resource(text)?;
                policies.insert(table_arn.to_string(), (table_id.to_string(), Arc::new(parsed)));
            }
            None => {
                policies.remove(table_arn);
            }
        }
        Ok(())
    }

    /// What the resource-based policy of the table `access` is on says
    /// about it for `username` (an implicit deny when there is none).
    fn resource_decision(&self, access: &Access, username: &str, catalog: &dyn Catalog) -> Decision {
        let Some((arn, name)) = table_of(&access.resource) else {
            return Decision::ImplicitDeny;
        };
        let policy = {
            let policies = self.resource_policies.read().unwrap_or_else(|e| e.into_inner());
            policies
                .get(arn)
                .map(|(table_id, policy)| (table_id.clone(), policy.clone()))
        };
        match policy {
            Some((table_id, policy)) if catalog.table_id(name).as_deref() == Some(table_id.as_str()) => {
                policy.decide(access, username)
            }
            _ => Decision::ImplicitDeny,
        }
    }

    /// Whether some table's resource-based policy has a `Condition`.
    fn resource_conditions(&self) -> bool {
        let policies = self.resource_policies.read().unwrap_or_else(|e| e.into_inner());
        policies.values().any(|(_, policy)| policy.has_conditions())
    }

    /// Whether authorizing `user`'s requests computes condition keys, which
    /// read the request's items (`dynamodb:LeadingKeys`, `Attributes`).
    pub fn uses_condition_keys(&self, user: &User) -> bool {
        user.policy.has_conditions() || self.resource_conditions()
    }

    /// Checks the signature of a request whose head is `head` and body
    /// `body`, at `now`; the user who signed it.
    pub fn authenticate(&self, head: &SignedHead, body: &[u8], now: SystemTime) -> Result<Arc<User>, AuthError> {
        let user = self
            .users
            .get(head.credential.access_key_id())
            .ok_or(AuthError::UnrecognizedClient)?;
        if user.session_token != head.security_token {
            return Err(AuthError::UnrecognizedClient);
        }
        head.verify(&user.keys, &self.region, body, now)?;
        Ok(user.clone())
    }

    /// Checks every access of `operation` with `body` is allowed to `user`,
    /// by IAM's rules within one account: an explicit deny in the user's
    /// policy or the table's resource-based policy refuses, else an allow
    /// in either admits; the first refused access names the error.
    pub fn authorize(
        &self,
        user: &User,
        operation: &str,
        body: &Map<String, Value>,
        catalog: &dyn Catalog,
    ) -> Result<(), AuthError> {
        let keys = self.uses_condition_keys(user);
        // Without any resource-based policy (the usual case), the user's own
        // policy decides alone.
        let resource_policies = !self
            .resource_policies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        for access in access::accesses_with(&self.region, operation, body, catalog, keys) {
            let identity = user.policy.decide(&access, &user.name);
            let resource = match identity {
                Decision::ExplicitDeny => Decision::ImplicitDeny,
                _ if !resource_policies => Decision::ImplicitDeny,
                _ => self.resource_decision(&access, &user.name, catalog),
            };
            let Some(why) = refusal(identity, resource, &access.action) else {
                continue;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tables_policy_covers_the_table_and_its_indexes_only() {
        let table = "arn:aws:dynamodb:r:000000000000:table/T";
        assert_eq!(table_of(table), Some((table, "T")));
        assert_eq!(table_of(&format!("{table}/index/I")), Some((table, "T")));
        assert_eq!(table_of(&format!("{table}/stream/2024-01-01T00:00:00.000")), None);
        assert_eq!(table_of(&format!("{table}/backup/01")), None);
        assert_eq!(table_of("*"), None);
    }

    #[test]
    fn an_explicit_deny_anywhere_wins_and_an_allow_anywhere_admits() {
        use Decision::*;
        assert!(refusal(ExplicitDeny, Allow, "a").unwrap().contains("identity-based"));
        assert!(refusal(Allow, ExplicitDeny, "a").unwrap().contains("resource-based"));
        assert_eq!(refusal(ImplicitDeny, Allow, "a"), None);
        assert_eq!(refusal(Allow, ImplicitDeny, "a"), None);
        assert!(refusal(ImplicitDeny, ImplicitDeny, "a").is_some());
    }
}
