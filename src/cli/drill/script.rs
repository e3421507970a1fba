//! The drill file format (TOML, in `regions/drills/`): the regions and
//! their links, a workload, and timed events.

use std::path::Path;

use serde::Deserialize;

use crate::config::LinkConfig;

/// A scripted drill.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Short name, used for the report files.
    pub name: String,
    /// What the drill rehearses, printed at the start.
    #[serde(default)]
    pub description: String,
    /// Seconds the workload runs; events happen within it.
    pub duration_s: f64,
    /// Longest wait for convergence after the workload, seconds. Default 60.
    #[serde(default = "default_settle")]
    pub settle_s: f64,
    /// Region names; the drill starts one process per region.
    pub regions: Vec<String>,
    /// Simulated link conditions from the start (as in a topology).
    #[serde(default)]
    pub link: Vec<LinkConfig>,
    pub workload: Workload,
    /// Timed events, as `[[event]]` tables.
    #[serde(default)]
    pub event: Vec<Event>,
}

fn default_settle() -> f64 {
    60.0
}

/// What the clients do during the drill.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Writes per second over all regions. Default 120.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Keys in the shared key space and in each region's private one. Default 200.
    #[serde(default = "default_keys")]
    pub keys: u64,
    /// Share of writes going to keys every region writes (conflicts). Default 0.2.
    #[serde(default = "default_conflict")]
    pub conflict_ratio: f64,
    /// Relative weights of PutItem, UpdateItem, DeleteItem and conditional
    /// UpdateItem (`attribute_exists(pk)`). Defaults 5, 3, 1, 1.
    #[serde(default = "default_puts")]
    pub puts: f64,
    #[serde(default = "default_updates")]
    pub updates: f64,
    #[serde(default = "default_one")]
    pub deletes: f64,
    #[serde(default = "default_one")]
    pub conditional: f64,
    /// Concurrent clients per region. Default 3.
    #[serde(default = "default_clients")]
    pub clients_per_region: usize,
}

fn default_rate() -> f64 {
    120.0
}
fn default_keys() -> u64 {
    200
}
fn default_conflict() -> f64 {
    0.2
}
fn default_puts() -> f64 {
    5.0
}
fn default_updates() -> f64 {
    3.0
}
fn default_one() -> f64 {
    1.0
}
fn default_clients() -> usize {
    3
}

/// One timed event.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Seconds after the workload starts.
    pub at_s: f64,
    pub action: Action,
    /// The region acted on (for `link`: the sending region).
    #[serde(default)]
    pub region: Option<String>,
    /// For `partition`/`heal`: one peer only (default: every other region);
    /// for `link`: the receiving region.
    #[serde(default)]
    pub peer: Option<String>,
    /// For `skew`: the wall-clock offset, milliseconds.
    #[serde(default)]
    pub ms: i64,
    /// For `link`: new conditions (unset ones keep their value).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub jitter_ms: Option<u64>,
    #[serde(default)]
    pub loss: Option<f64>,
    #[serde(default)]
    pub bandwidth_kbps: Option<u64>,
}

/// What an event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Partition,
    Heal,
    Kill,
    Stop,
    Start,
    Pause,
    Skew,
    Link,
}

impl Script {
    /// Reads and checks a drill file.
    pub fn load(path: &Path) -> anyhow::Result<Script> {
        let text = std::fs::read_to_string(path)?;
        let script: Script = toml::from_str(&text)?;
        script.validate()?;
        Ok(script)
    }

    /// The same drill on a compressed (or stretched) clock: the workload's
    /// duration and every event's time multiplied by `factor`, so events keep
    /// their order and their place in the drill. Rates, key spaces, link
    /// conditions, clock skews and the convergence bound are unchanged.
    pub fn scaled(mut self, factor: f64) -> anyhow::Result<Script> {
        anyhow::ensure!(
            factor.is_finite() && factor > 0.0,
            "the time scale must be a positive number, not {factor}"
        );
        self.duration_s *= factor;
        for event in &mut self.event {
            event.at_s *= factor;
        }
        self.validate()?;
        Ok(self)
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.regions.len() >= 2, "a drill needs at least two regions");
        anyhow::ensure!(self.duration_s > 0.0, "duration_s must be positive");
        anyhow::ensure!(self.workload.rate > 0.0, "workload.rate must be positive");
        anyhow::ensure!(self.workload.keys > 0, "workload.keys must be positive");
        anyhow::ensure!(
            self.workload.clients_per_region > 0,
            "workload.clients_per_region must be positive"
        );
        for event in &self.event {
            anyhow::ensure!(
                (0.0..=self.duration_s).contains(&event.at_s),
                "event at {} s is outside the drill",
                event.at_s
            );
            for name in event.region.iter().chain(event.peer.iter()) {
                anyhow::ensure!(self.regions.contains(name), "event names unknown region {name}");
            }
            let needs_region = event.action != Action::Heal;
            anyhow::ensure!(
                !needs_region || event.region.is_some(),
                "a {:?} event needs a region",
                event.action
            );
            anyhow::ensure!(
                event.action != Action::Link || event.peer.is_some(),
                "a link event needs a peer"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_drills_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regions/drills");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            Script::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            count += 1;
        }
        assert_eq!(count, 5, "the five shipped drills");
    }

    #[test]
    fn a_scaled_drill_keeps_its_events_in_place() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("regions/drills/rolling-restart.toml");
        let script = Script::load(&path).unwrap();
        let scaled = script.clone().scaled(0.5).unwrap();
        assert_eq!(scaled.duration_s, script.duration_s * 0.5);
        assert_eq!(scaled.settle_s, script.settle_s);
        assert_eq!(scaled.workload.rate, script.workload.rate);
        let times = |s: &Script| s.event.iter().map(|e| e.at_s).collect::<Vec<_>>();
        let halved: Vec<f64> = times(&script).iter().map(|t| t * 0.5).collect();
        assert_eq!(times(&scaled), halved);
        for factor in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(script.clone().scaled(factor).is_err(), "{factor}");
        }
    }
}
