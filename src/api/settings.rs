//! Per-region API settings that DynamoDB keeps per replica rather than
//! replicating: resource-based policies (DynamoDB does not replicate them
//! to a global table's other replicas) and the Contributor Insights status.
//! Kept in one small JSON file in the region's data directory, replaced
//! atomically (written beside, synced, renamed) on every change; in memory
//! only for a region without a data directory.
//!
//! Entries name the table's `TableId`, so a table deleted and created again
//! under the same name does not inherit its predecessor's settings.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::error::{ApiError, ErrorKind};

/// One table's resource-based policy.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredPolicy {
    /// The table incarnation the policy belongs to.
    pub table_id: String,
    /// The policy document, as the client sent it.
    pub policy: String,
    /// Its revision: a decimal string that rises with every change.
    pub revision: String,
}

/// One table's (or index's) Contributor Insights setting.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredInsights {
    /// The table incarnation the setting belongs to.
    pub table_id: String,
    /// True once enabled.
    pub enabled: bool,
    /// When it last changed, milliseconds since the epoch.
    pub updated_ms: u64,
}

/// The file's contents.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SettingsDoc {
    /// Policies by table ARN.
    #[serde(default)]
    pub policies: BTreeMap<String, StoredPolicy>,
    /// Contributor Insights by table name, or `table/index`.
    #[serde(default)]
    pub insights: BTreeMap<String, StoredInsights>,
}

/// The region's settings, with the file that keeps them.
pub struct Settings {
    path: Option<PathBuf>,
    doc: Mutex<SettingsDoc>,
}

impl Settings {
    /// Settings kept in memory only.
    pub fn in_memory() -> Settings {
        Settings {
            path: None,
            doc: Mutex::new(SettingsDoc::default()),
        }
    }

    /// Settings kept in `path`, loaded from it if it exists. A file that
    /// does not parse is moved aside (`.corrupt`) and logged, never
    /// silently overwritten.
    pub fn open(path: PathBuf) -> Settings {
        let doc = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::error!(path = %path.display(), %error, "API settings file is corrupt: moved aside, starting empty");
                let _ = std::fs::rename(&path, path.with_extension("corrupt"));
                SettingsDoc::default()
            }),
            Err(_) => SettingsDoc::default(),
        };
        Settings {
            path: Some(path),
            doc: Mutex::new(doc),
        }
    }

    /// A copy of the settings as they are now.
    pub async fn read(&self) -> SettingsDoc {
        self.doc.lock().await.clone()
    }

    /// Applies `change` and, if it succeeds, persists the result before
    /// answering; a change that cannot be persisted is not applied.
    pub async fn update<T>(&self, change: impl FnOnce(&mut SettingsDoc) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let mut doc = self.doc.lock().await;
        let mut next = doc.clone();
        let answer = change(&mut next)?;
        if let Some(path) = self.path.clone() {
            let bytes = serde_json::to_vec_pretty(&next).unwrap_or_default();
            tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
                .await
                .map_err(|_| internal())?
                .map_err(|error| {
                    tracing::error!(%error, "cannot persist API settings");
                    internal()
                })?;
        }
        *doc = next;
        Ok(answer)
    }
}

fn internal() -> ApiError {
    ApiError::new(ErrorKind::InternalServerError, "Internal server error")
}

/// Replaces `path` with `bytes`: written beside it, synced, renamed over it,
/// and the directory synced, so a crash leaves the old or the new file.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changes_survive_a_reopen_and_failed_changes_are_not_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api-settings.json");
        let settings = Settings::open(path.clone());
        settings
            .update(|doc| {
                doc.insights.insert(
                    "t".into(),
                    StoredInsights {
                        table_id: "id".into(),
                        enabled: true,
                        updated_ms: 5,
                    },
                );
                Ok(())
            })
            .await
            .unwrap();
        let refused = settings
            .update(|doc| {
                doc.insights.clear();
                Err::<(), _>(ApiError::validation("no"))
            })
            .await;
        assert!(refused.is_err());
        let reopened = Settings::open(path);
        assert!(reopened.read().await.insights["t"].enabled);
    }

    #[tokio::test]
    async fn a_corrupt_file_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api-settings.json");
        std::fs::write(&path, b"{not json").unwrap();
        let settings = Settings::open(path.clone());
        assert!(settings.read().await.policies.is_empty());
        assert!(path.with_extension("corrupt").exists());
    }
}
