//! The credentials file `auth_credentials` names: TOML with one `[[user]]`
//! table per user (`name`, `access_key_id`, `secret_access_key`, optional
//! `session_token`, and `policy`, a JSON policy document inline or the path
//! of one). It holds secrets, so it is refused when group or others can
//! read it, as the cluster CA's key is.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::AuthError;
use super::policy::Policy;

/// One user of the credentials file.
#[derive(Debug)]
pub struct User {
    /// The user's name, as ARNs and `${aws:username}` show it.
    pub name: String,
    /// The key id requests are signed with.
    pub access_key_id: String,
    /// The signing keys derived from `secret_access_key`.
    pub keys: super::sigv4::KeyCache,
    /// When set, every request must carry it as `X-Amz-Security-Token`.
    pub session_token: Option<String>,
    /// What the user may do; a user without a policy may do nothing.
    pub policy: Policy,
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    #[serde(default)]
    user: Vec<UserEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    /// A JSON document (starts with `{`) or the path of one, relative to
    /// the credentials file's directory.
    policy: Option<String>,
}

/// The users by access key id.
pub type Users = HashMap<String, Arc<User>>;

/// Reads the credentials file at `path`: refused when group or others can
/// read it, when a key id is given twice, or when a policy does not parse.
pub fn load(path: &Path) -> Result<Users, AuthError> {
    let shown = path.display().to_string();
    let file_error = |message: String| AuthError::Credentials(format!("{shown}: {message}"));
    crate::replication::tls::check_secret_permissions(path).map_err(|e| file_error(e.to_string()))?;
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let file: CredentialsFile = toml::from_str(&text).map_err(|e| file_error(e.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut users = Users::new();
    for entry in file.user {
        let policy = match &entry.policy {
            None => Policy::default(),
            Some(text) => {
                read_policy(dir, text).map_err(|e| file_error(format!("the policy of user {:?}: {e}", entry.name)))?
            }
        };
        if entry.name.is_empty() || entry.access_key_id.is_empty() || entry.secret_access_key.is_empty() {
            return Err(file_error(
                "every user needs a name, an access_key_id and a secret_access_key".into(),
            ));
        }
        let user = User {
            name: entry.name,
            access_key_id: entry.access_key_id,
            keys: super::sigv4::KeyCache::new(&entry.secret_access_key),
            session_token: entry.session_token,
            policy,
        };
        if users.contains_key(&user.access_key_id) {
            return Err(file_error(format!(
                "access key id {:?} is given twice",
                user.access_key_id
            )));
        }
        users.insert(user.access_key_id.clone(), Arc::new(user));
    }
    Ok(users)
}

/// A policy given inline (JSON) or as a path.
fn read_policy(dir: &Path, text: &str) -> Result<Policy, String> {
    if text.trim_start().starts_with('{') {
        return Policy::parse(text);
    }
    let path = dir.join(text);
    let document = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Policy::parse(&document).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn users_load_with_inline_and_file_policies() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "bob.json",
            r#"{"Statement": {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}}"#,
            0o644,
        );
        let path = write(
            dir.path(),
            "users.toml",
            r#"
            [[user]]
            name = "alice"
            access_key_id = "AKA"
            secret_access_key = "sa"
            session_token = "tok"
            policy = '{"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}'
            [[user]]
            name = "bob"
            access_key_id = "AKB"
            secret_access_key = "sb"
            policy = "bob.json"
            [[user]]
            name = "carol"
            access_key_id = "AKC"
            secret_access_key = "sc"
            "#,
            0o600,
        );
        let users = load(&path).unwrap();
        assert_eq!(users.len(), 3);
        assert_eq!(users["AKA"].session_token.as_deref(), Some("tok"));
        assert_eq!(users["AKB"].name, "bob");
    }

    #[test]
    fn a_file_others_can_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "users.toml", "", 0o640);
        let error = load(&path).unwrap_err().to_string();
        assert!(error.contains("chmod 600"), "{error}");
    }

    #[test]
    fn duplicate_keys_and_bad_policies_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let user = |key: &str, policy: &str| {
            format!(
                "[[user]]\nname = \"u\"\naccess_key_id = \"{key}\"\nsecret_access_key = \"s\"\npolicy = '{policy}'\n"
            )
        };
        let allow = r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#;
        let twice = user("AK", allow) + &user("AK", allow);
        let error = load(&write(dir.path(), "a.toml", &twice, 0o600))
            .unwrap_err()
            .to_string();
        assert!(error.contains("given twice"), "{error}");
        let bad = user(
            "AK",
            r#"{"Statement": {"Effect": "Perhaps", "Action": "*", "Resource": "*"}}"#,
        );
        let error = load(&write(dir.path(), "b.toml", &bad, 0o600)).unwrap_err().to_string();
        assert!(error.contains("Perhaps"), "{error}");
    }
}
