//! The reports of past drills a region keeps, for the console
//! (`/admin/drills`, served by `drills.rs`): the latest [`KEPT`] of them,
//! one file each in the region's data directory's `drill-reports/` (in
//! memory only for a region without a data directory), so they outlive
//! restarts. A report's id is its finishing time and the drill's name, so
//! the same report posted again replaces itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Reports a region keeps; posting one more drops the oldest.
pub const KEPT: usize = 50;

/// Whether a JSON value is of the type a field needs.
type TypeCheck = fn(&Value) -> bool;

/// The fields every report must have, and their JSON types.
const REQUIRED: [(&str, TypeCheck); 4] = [
    ("drill", Value::is_string),
    ("passed", Value::is_boolean),
    ("finished_at_ms", Value::is_u64),
    ("events", Value::is_array),
];

/// The drill reports a region keeps, by id (which sorts oldest first).
pub struct DrillReports {
    dir: Option<PathBuf>,
    reports: Mutex<BTreeMap<String, Value>>,
}

impl DrillReports {
    /// Reports kept in memory only.
    pub fn in_memory() -> DrillReports {
        DrillReports {
            dir: None,
            reports: Mutex::new(BTreeMap::new()),
        }
    }

    /// Reports kept as files in `dir`, loading those already there; a file
    /// that is not a report is logged and left alone.
    pub fn open(dir: PathBuf) -> DrillReports {
        let mut reports = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Some(id) = path.file_stem().and_then(|s| s.to_str()).map(str::to_string) else {
                continue;
            };
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| parse(&bytes))
            {
                Ok(report) => {
                    reports.insert(id, report);
                }
                Err(error) => tracing::warn!(path = %path.display(), %error, "not a drill report: ignored"),
            }
        }
        DrillReports {
            dir: Some(dir),
            reports: Mutex::new(reports),
        }
    }

    /// Every report's summary, newest first.
    pub async fn list(&self) -> Vec<Value> {
        let reports = self.reports.lock().await;
        reports.iter().rev().map(|(id, report)| summary(id, report)).collect()
    }

    /// The report `id`, if kept.
    pub async fn get(&self, id: &str) -> Option<Value> {
        self.reports.lock().await.get(id).cloned()
    }

    /// Keeps `report` (persisted before it is listed), dropping the oldest
    /// beyond [`KEPT`]; returns its id.
    pub async fn add(&self, report: Value) -> std::io::Result<String> {
        let id = report_id(&report);
        let mut reports = self.reports.lock().await;
        if let Some(dir) = self.dir.clone() {
            let path = dir.join(format!("{id}.json"));
            let bytes = serde_json::to_vec_pretty(&report).unwrap_or_default();
            tokio::task::spawn_blocking(move || super::settings::write_atomically(&path, &bytes))
                .await
                .map_err(std::io::Error::other)??;
        }
        reports.insert(id.clone(), report);
        while reports.len() > KEPT {
            let Some((oldest, _)) = reports.pop_first() else { break };
            if let Some(dir) = &self.dir {
                let _ = std::fs::remove_file(dir.join(format!("{oldest}.json")));
            }
        }
        Ok(id)
    }
}

/// A report's id: its finishing time (milliseconds since the epoch, padded
/// so ids sort by time) and the drill's name, kept to characters safe in a
/// file name and a URL path.
fn report_id(report: &Value) -> String {
    let at = report["finished_at_ms"].as_u64().unwrap_or(0);
    let name: String = report["drill"]
        .as_str()
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("{at:015}-{name}")
}

/// `bytes` as a drill report: a JSON object with the [`REQUIRED`] fields.
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    let report: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    if !report.is_object() {
        return Err("a drill report is a JSON object".into());
    }
    for (field, has_type) in REQUIRED {
        if !has_type(&report[field]) {
            return Err(format!(
                "a drill report needs the field {field:?} (as `meridian drill` writes it)"
            ));
        }
    }
    Ok(report)
}

/// What the list shows of a report.
fn summary(id: &str, report: &Value) -> Value {
    json!({
        "id": id,
        "drill": report["drill"],
        "description": report["description"],
        "finished_at_ms": report["finished_at_ms"],
        "passed": report["passed"],
        "total_seconds": report["total_seconds"],
        "writes_acknowledged": report["writes"]["acknowledged"],
        "acknowledged_writes_lost": report["acknowledged_writes_lost"],
        "converged": report["converged"],
        "events": report["events"].as_array().map_or(0, Vec::len),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, at: u64) -> Value {
        json!({ "drill": name, "passed": true, "finished_at_ms": at, "events": [{"label": "kill eu-west-1"}] })
    }

    #[tokio::test]
    async fn reports_outlive_a_reopen_newest_first_and_only_the_latest_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let reports = DrillReports::open(dir.path().join("drill-reports"));
        for at in 1..=(KEPT as u64 + 2) {
            reports.add(report("region loss", at)).await.unwrap();
        }
        // The same report again replaces itself.
        let id = reports.add(report("region loss", 3)).await.unwrap();
        assert_eq!(id, "000000000000003-region_loss");
        let reopened = DrillReports::open(dir.path().join("drill-reports"));
        let listed = reopened.list().await;
        assert_eq!(listed.len(), KEPT);
        assert_eq!(listed[0]["id"], json!(format!("{:015}-region_loss", KEPT + 2)));
        assert_eq!(listed[KEPT - 1]["id"], json!("000000000000003-region_loss"));
        assert_eq!(listed[0]["events"], json!(1));
        assert_eq!(reopened.get(&id).await, Some(report("region loss", 3)));
        assert_eq!(reopened.get("000000000000001-region_loss").await, None);
    }

    #[test]
    fn a_report_needs_its_fields() {
        assert_eq!(parse(b"[1]"), Err("a drill report is a JSON object".into()));
        let missing = br#"{"drill": "x", "passed": true, "events": []}"#;
        assert_eq!(
            parse(missing),
            Err(r#"a drill report needs the field "finished_at_ms" (as `meridian drill` writes it)"#.into())
        );
        assert!(parse(report("x", 1).to_string().as_bytes()).is_ok());
    }
}
