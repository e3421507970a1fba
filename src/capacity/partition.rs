//! Hot-partition simulation (`capacity.partition_limits`): DynamoDB serves at
//! most 3,000 read units and 1,000 write units per second from one
//! partition. Meridian has no partitions to split, so each partition key
//! value stands in for one, which is what DynamoDB converges to for a single
//! hot key (adaptive capacity can isolate a key, not split it). Each key
//! seen gets a bucket per kind holding one second of its ceiling, and a
//! count of its throttles, the hottest of which `/status` lists (like
//! CloudWatch Contributor Insights' most throttled keys).

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::CapacityKind;
use super::bucket::TokenBucket;

/// Keys tracked per table before idle ones (full buckets, never throttled)
/// are forgotten, so a scan of distinct keys cannot grow memory without end.
const MAX_TRACKED_KEYS: usize = 100_000;

/// Per-partition ceilings, units per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartitionCeiling {
    pub read: f64,
    pub write: f64,
}

/// One partition key's buckets and throttle count.
#[derive(Debug)]
struct HotKey {
    /// The key as DynamoDB JSON (`{"S":"user#1"}`), for `/status`.
    label: String,
    read: TokenBucket,
    write: TokenBucket,
    throttles: u64,
}

impl HotKey {
    fn bucket(&mut self, kind: CapacityKind) -> &mut TokenBucket {
        match kind {
            CapacityKind::Read => &mut self.read,
            CapacityKind::Write => &mut self.write,
        }
    }
}

/// A throttled key, as `/status` and the metrics report it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HotKeyReport {
    pub table: String,
    /// The partition key value as DynamoDB JSON.
    pub key: String,
    pub throttles: u64,
}

/// The partition keys of one table, by their encoded value.
#[derive(Debug, Default)]
pub struct HotKeys {
    keys: HashMap<Vec<u8>, HotKey>,
}

impl HotKeys {
    /// Whether the key `encoded` can take `units` of `kind` at `now`;
    /// `label` names a key seen for the first time.
    pub fn can_take(
        &mut self,
        encoded: &[u8],
        label: impl FnOnce() -> String,
        kind: CapacityKind,
        units: f64,
        ceiling: PartitionCeiling,
        now: Duration,
    ) -> bool {
        if !self.keys.contains_key(encoded) {
            self.forget_idle(now);
            let second = Duration::from_secs(1);
            let key = HotKey {
                label: label(),
                read: TokenBucket::new(ceiling.read, second, now),
                write: TokenBucket::new(ceiling.write, second, now),
                throttles: 0,
            };
            self.keys.insert(encoded.to_vec(), key);
        }
        self.keys
            .get_mut(encoded)
            .is_some_and(|key| key.bucket(kind).can_take(units, now))
    }

    /// Takes `units` from a key [`HotKeys::can_take`] has seen.
    pub fn take(&mut self, encoded: &[u8], kind: CapacityKind, units: f64, now: Duration) {
        if let Some(key) = self.keys.get_mut(encoded) {
            key.bucket(kind).take(units, now);
        }
    }

    /// Counts a throttle of a key [`HotKeys::can_take`] has seen.
    pub fn count_throttle(&mut self, encoded: &[u8]) {
        if let Some(key) = self.keys.get_mut(encoded) {
            key.throttles += 1;
        }
    }

    /// The keys throttled at least once, most throttled first.
    pub fn throttled(&self, table: &str) -> Vec<HotKeyReport> {
        let mut keys: Vec<HotKeyReport> = self
            .keys
            .values()
            .filter(|k| k.throttles > 0)
            .map(|k| HotKeyReport {
                table: table.to_string(),
                key: k.label.clone(),
                throttles: k.throttles,
            })
            .collect();
        keys.sort_by(|a, b| b.throttles.cmp(&a.throttles).then_with(|| a.key.cmp(&b.key)));
        keys
    }

    fn forget_idle(&mut self, now: Duration) {
        if self.keys.len() < MAX_TRACKED_KEYS {
            return;
        }
        self.keys
            .retain(|_, k| k.throttles > 0 || !(k.read.is_full(now) && k.write.is_full(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CEILING: PartitionCeiling = PartitionCeiling {
        read: 3000.0,
        write: 1000.0,
    };

    #[test]
    fn each_key_has_its_own_ceiling_per_second() {
        let mut keys = HotKeys::default();
        let now = Duration::ZERO;
        for _ in 0..1000 {
            assert!(keys.can_take(b"hot", || "hot".into(), CapacityKind::Write, 1.0, CEILING, now));
            keys.take(b"hot", CapacityKind::Write, 1.0, now);
        }
        assert!(!keys.can_take(b"hot", || "hot".into(), CapacityKind::Write, 1.0, CEILING, now));
        keys.count_throttle(b"hot");
        assert!(keys.can_take(b"hot", || "hot".into(), CapacityKind::Read, 3000.0, CEILING, now));
        assert!(keys.can_take(b"cold", || "cold".into(), CapacityKind::Write, 1.0, CEILING, now));
        assert!(keys.can_take(
            b"hot",
            || "hot".into(),
            CapacityKind::Write,
            1.0,
            CEILING,
            Duration::from_millis(1)
        ));
        let report = keys.throttled("t");
        assert_eq!(
            report,
            vec![HotKeyReport {
                table: "t".into(),
                key: "hot".into(),
                throttles: 1
            }]
        );
    }
}
