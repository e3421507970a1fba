//! The drill's verdicts: do all regions hold the same items, is every key's
//! final value one the clients could have left there, and which
//! acknowledged writes existed only in a region when it died.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::workload::{Effect, KeyRecord, TABLE};
use crate::cli::api_client::ApiClient;

/// Every item of the drill table in the region `api` reaches, by key, with
/// its full JSON; `None` if the region does not answer.
pub async fn scan(api: &ApiClient) -> Option<BTreeMap<String, Value>> {
    let mut items = BTreeMap::new();
    let mut start: Option<Value> = None;
    loop {
        let mut body = json!({ "TableName": TABLE, "ConsistentRead": true });
        if let Some(start) = start.take() {
            body["ExclusiveStartKey"] = start;
        }
        let (status, page) = tokio::time::timeout(Duration::from_secs(10), api.request("Scan", &body))
            .await
            .ok()?
            .ok()?;
        if status != 200 {
            return None;
        }
        for item in page["Items"].as_array()? {
            let key = item["pk"]["S"].as_str()?.to_string();
            items.insert(key, item.clone());
        }
        match page.get("LastEvaluatedKey") {
            Some(last) if !last.is_null() => start = Some(last.clone()),
            _ => return Some(items),
        }
    }
}

/// Waits until every region answers the same scan; returns it and when it
/// was first seen, or the last differing scans at the deadline.
pub async fn converge(apis: &[Arc<ApiClient>], limit: Duration) -> Result<BTreeMap<String, Value>, Vec<usize>> {
    let deadline = Instant::now() + limit;
    loop {
        let mut scans = Vec::new();
        for api in apis {
            scans.push(scan(api).await);
        }
        let all: Option<Vec<_>> = scans.into_iter().collect();
        if let Some(mut all) = all {
            if all.windows(2).all(|w| w[0] == w[1]) {
                return Ok(all.remove(0));
            }
            if Instant::now() >= deadline {
                return Err(all.iter().map(|s| s.len()).collect());
            }
        } else if Instant::now() >= deadline {
            return Err(Vec::new());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What the final state says about the acknowledged writes.
#[derive(Debug, Default, serde::Serialize)]
pub struct Verdict {
    /// Keys whose final value no client could have left: an acknowledged
    /// write was lost (or a value appeared from nowhere).
    pub lost: u64,
    /// Up to ten of them, explained.
    pub examples: Vec<String>,
    /// Keys checked.
    pub keys: u64,
    /// Keys whose final value came from a write whose outcome was unknown.
    pub won_by_uncertain: u64,
}

/// Checks `items` (the converged state) against the ledger.
pub fn verify(items: &BTreeMap<String, Value>, records: &HashMap<(String, usize), KeyRecord>) -> Verdict {
    let mut by_key: BTreeMap<&str, Vec<&KeyRecord>> = BTreeMap::new();
    for ((key, _), record) in records {
        by_key.entry(key.as_str()).or_default().push(record);
    }
    let mut verdict = Verdict::default();
    let fail = |verdict: &mut Verdict, why: String| {
        verdict.lost += 1;
        if verdict.examples.len() < 10 {
            verdict.examples.push(why);
        }
    };
    for (key, regions) in &by_key {
        verdict.keys += 1;
        let acked: Vec<&Effect> = regions
            .iter()
            .filter_map(|r| r.last_acked.as_ref().map(|(e, _)| e))
            .collect();
        let uncertain: Vec<&Effect> = regions.iter().flat_map(|r| r.uncertain.iter()).collect();
        match items.get(*key).map(|item| item["w"]["S"].as_str().unwrap_or("")) {
            Some(w) => {
                let is = |e: &&Effect| matches!(e, Effect::Item { w: id, .. } if id == w);
                if acked.iter().any(is) {
                    continue;
                }
                if uncertain.iter().any(is) {
                    verdict.won_by_uncertain += 1;
                    continue;
                }
                fail(
                    &mut verdict,
                    format!("{key}: holds write {w}, which is no region's last write"),
                );
            }
            None => {
                let deleted = |e: &&Effect| matches!(e, Effect::Deleted { .. });
                if acked.is_empty() || acked.iter().any(deleted) || uncertain.iter().any(deleted) {
                    continue;
                }
                fail(
                    &mut verdict,
                    format!("{key}: absent, but its last acknowledged writes were {acked:?}"),
                );
            }
        }
    }
    for key in items
        .keys()
        .filter(|k| !k.starts_with("m-") && !by_key.contains_key(k.as_str()))
    {
        fail(&mut verdict, format!("{key}: present but never written"));
    }
    verdict
}

/// The writes a dead region had acknowledged that no surviving region held
/// when it died: what an operator would lose if it never came back.
#[derive(Debug, Default, serde::Serialize)]
pub struct Exposure {
    /// The dead region's private keys whose latest acknowledged write is
    /// missing from every survivor.
    pub writes: u64,
    /// Age of the oldest such write at the moment of death, milliseconds
    /// (the recovery point: how far back the survivors' copy of its data is).
    pub rpo_ms: u64,
    /// Keys looked at.
    pub checked: u64,
}

/// Compares the dead region's last acknowledged private writes with what
/// the survivors at `survivors` hold.
pub async fn exposure(
    dead: &str,
    dead_index: usize,
    died: Instant,
    records: &HashMap<(String, usize), KeyRecord>,
    survivors: &[Arc<ApiClient>],
) -> Exposure {
    let prefix = format!("p-{dead}-");
    let mut survivor_items = Vec::new();
    for api in survivors {
        survivor_items.push(scan(api).await.unwrap_or_default());
    }
    let mut exposure = Exposure::default();
    for ((key, region), record) in records {
        if *region != dead_index || !key.starts_with(&prefix) {
            continue;
        }
        let Some((effect, acked_at)) = &record.last_acked else {
            continue;
        };
        if *acked_at > died {
            continue;
        }
        exposure.checked += 1;
        let held = survivor_items.iter().any(|items| {
            let v = items.get(key).and_then(|i| i["v"]["N"].as_str()?.parse::<u64>().ok());
            match effect {
                Effect::Item { v: wanted, .. } => v.is_some_and(|v| v >= *wanted),
                Effect::Deleted { v: wanted } => v.is_none_or(|v| v >= *wanted),
            }
        });
        if !held {
            exposure.writes += 1;
            exposure.rpo_ms = exposure.rpo_ms.max(died.duration_since(*acked_at).as_millis() as u64);
        }
    }
    exposure
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(acked: Option<Effect>, uncertain: Vec<Effect>) -> KeyRecord {
        KeyRecord {
            last_acked: acked.map(|e| (e, Instant::now())),
            uncertain,
        }
    }

    fn item(w: &str) -> Value {
        json!({ "pk": { "S": "k" }, "w": { "S": w } })
    }

    fn put(w: &str) -> Effect {
        Effect::Item { w: w.into(), v: 1 }
    }

    #[test]
    fn final_values_must_be_some_regions_last_write() {
        let mut records = HashMap::new();
        records.insert(("k".to_string(), 0), record(Some(put("a2")), vec![]));
        records.insert(("k".to_string(), 1), record(Some(put("b1")), vec![put("b2")]));
        let check = |w: Option<&str>| {
            let items: BTreeMap<String, Value> = w.map(|w| ("k".to_string(), item(w))).into_iter().collect();
            verify(&items, &records)
        };
        assert_eq!(check(Some("a2")).lost, 0);
        assert_eq!(check(Some("b1")).lost, 0);
        assert_eq!(check(Some("b2")).won_by_uncertain, 1);
        assert_eq!(check(Some("a1")).lost, 1, "an older write of a region resurfaced");
        assert_eq!(check(None).lost, 1, "acknowledged puts vanished");
    }

    #[test]
    fn absence_is_fine_after_a_delete_or_without_acknowledged_writes() {
        let mut records = HashMap::new();
        records.insert(("k".to_string(), 0), record(Some(put("a1")), vec![]));
        records.insert(("k".to_string(), 1), record(Some(Effect::Deleted { v: 3 }), vec![]));
        records.insert(("j".to_string(), 0), record(None, vec![put("x")]));
        let verdict = verify(&BTreeMap::new(), &records);
        assert_eq!((verdict.lost, verdict.keys), (0, 2));
    }
}
