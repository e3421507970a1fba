//! Capacity enforcement: DynamoDB's throttling of provisioned tables (token
//! buckets at the provisioned units with 300 seconds of burst), of
//! on-demand tables (the per-table quota DescribeLimits reports), and
//! optionally of hot partitions, plus the per-table consumption counters
//! that `/metrics` reports under CloudWatch's names.
//!
//! Where it sits: throttling is an admission check the API makes before it
//! asks the engine, never a wait inside the engine. A refused request must
//! cost nothing and come back at once (the SDKs retry it with backoff), and
//! the single writer must never stall behind one table's budget, which would
//! turn one table's throttling into every table's latency. The rule reads
//! only a table's description, so it needs nothing from the engine's write
//! path; it lives beside the API (below it, so `metrics` can read it) rather
//! than in the engine as the domain rules of STYLE.md do.
//!
//! Replicated writes are charged to the receiving region's buckets but never
//! refused (a region whose capacity is spent falls behind as lag instead):
//! `Capacity::charge_replicated`, which the replication link calls once a
//! peer's batch has been applied.

pub mod bucket;
pub mod changes;
pub mod partition;
pub mod refusal;
pub mod units;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub use bucket::{CapacityClock, ManualClock, SystemClock, TokenBucket};
pub use changes::BillingChangeError;
pub use partition::HotKeyReport;
pub use refusal::{LimitType, ThrottleError, ThrottleKind, ThrottlingReason};
pub use units::{CapacityKind, read_units, transactional, write_units};

use crate::config::CapacityConfig;
use crate::ids::StorageId;
use crate::model::key::encode_key_value;
use crate::model::table::{BillingMode, TableMeta};
use crate::model::table_features::{OnDemandMax, OnDemandMaxima};
use crate::model::{AttributeValue, Item, item_to_json};
use partition::{HotKeys, PartitionCeiling};

/// How a table (or index) is billed, which decides the error a throttle is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Provisioned,
    OnDemand,
}

/// The units per second a table or index may use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub mode: Mode,
    pub read: f64,
    pub write: f64,
    /// On demand: whether the table's (or index's) own maximum, rather
    /// than the account's per-table quota, sets the read limit.
    pub read_own_max: bool,
    /// The same for writes.
    pub write_own_max: bool,
}

impl Limits {
    /// The limits of a table billed as `billing`: its provisioned units, or
    /// for on-demand the per-table quota of `config`, lowered to the
    /// table's own maximums (`max`, its OnDemandThroughput) where set.
    pub fn of(billing: &BillingMode, max: OnDemandMax, config: &CapacityConfig) -> Limits {
        match billing {
            BillingMode::Provisioned { read, write } => Limits::provisioned(*read, *write),
            BillingMode::PayPerRequest => Limits::on_demand(max, config),
        }
    }

    /// Provisioned `read` and `write` units.
    fn provisioned(read: u64, write: u64) -> Limits {
        Limits {
            mode: Mode::Provisioned,
            read: read as f64,
            write: write as f64,
            read_own_max: false,
            write_own_max: false,
        }
    }

    /// The limit a `kind` request over these limits hits.
    fn limit_type(&self, kind: CapacityKind) -> LimitType {
        let own_max = match kind {
            CapacityKind::Read => self.read_own_max,
            CapacityKind::Write => self.write_own_max,
        };
        match self.mode {
            Mode::Provisioned => LimitType::ProvisionedThroughput,
            Mode::OnDemand if own_max => LimitType::MaxOnDemandThroughput,
            Mode::OnDemand => LimitType::AccountLimit,
        }
    }

    /// On-demand limits: the per-table quota of `config`, or `max` where
    /// it is set and lower.
    fn on_demand(max: OnDemandMax, config: &CapacityConfig) -> Limits {
        let ceiling = |quota: u64, max: Option<u64>| max.map_or(quota, |m| m.min(quota)) as f64;
        let own = |quota: u64, max: Option<u64>| max.is_some_and(|m| m <= quota);
        Limits {
            mode: Mode::OnDemand,
            read: ceiling(config.table_max_read_units, max.read),
            write: ceiling(config.table_max_write_units, max.write),
            read_own_max: own(config.table_max_read_units, max.read),
            write_own_max: own(config.table_max_write_units, max.write),
        }
    }
}

/// A read and a write bucket.
#[derive(Debug)]
struct Buckets {
    limits: Limits,
    read: TokenBucket,
    write: TokenBucket,
}

impl Buckets {
    fn new(limits: Limits, burst: Duration, now: Duration) -> Buckets {
        Buckets {
            limits,
            read: TokenBucket::new(limits.read, burst, now),
            write: TokenBucket::new(limits.write, burst, now),
        }
    }

    fn reconfigure(&mut self, limits: Limits, burst: Duration, now: Duration) {
        if self.limits != limits {
            self.limits = limits;
            self.read.reconfigure(limits.read, burst, now);
            self.write.reconfigure(limits.write, burst, now);
        }
    }

    fn bucket(&mut self, kind: CapacityKind) -> &mut TokenBucket {
        match kind {
            CapacityKind::Read => &mut self.read,
            CapacityKind::Write => &mut self.write,
        }
    }
}

/// What CloudWatch reports per table, as running totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableStats {
    /// ConsumedReadCapacityUnits.
    pub consumed_read: f64,
    /// ConsumedWriteCapacityUnits (replicated writes included).
    pub consumed_write: f64,
    /// Of those, the units of writes replicated from other regions
    /// (CloudWatch's ReplicatedWriteCapacityUnits).
    pub replicated_write: f64,
    /// ThrottledRequests by operation.
    pub throttled_requests: HashMap<&'static str, u64>,
    /// ReadThrottleEvents.
    pub read_throttle_events: u64,
    /// WriteThrottleEvents.
    pub write_throttle_events: u64,
    /// ConditionalCheckFailedRequests.
    pub conditional_check_failed: u64,
    /// ReturnedItemCount, by operation.
    pub returned_items: HashMap<&'static str, u64>,
}

/// One table's buckets and counters.
#[derive(Debug)]
struct TableState {
    /// The description the buckets were built from (a re-created table
    /// starts with full buckets).
    storage_id: StorageId,
    table: Buckets,
    /// Buckets of the table's global secondary indexes, by index name.
    indexes: HashMap<String, Buckets>,
    hot: HotKeys,
    stats: TableStats,
}

/// One partition key a request touches and the units it takes there.
#[derive(Clone, Copy, Debug)]
pub struct KeyDemand<'a> {
    pub key: &'a AttributeValue,
    pub units: f64,
}

/// What a request asks of one table.
#[derive(Clone, Debug)]
pub struct Demand<'a> {
    /// DynamoDB's operation name, for ThrottledRequests.
    pub operation: &'static str,
    pub kind: CapacityKind,
    /// Estimated units, taken at admission and corrected when settled.
    pub units: f64,
    /// Partition keys touched (for partition limits), with their units.
    pub keys: &'a [KeyDemand<'a>],
    /// Write units per global secondary index the request writes to.
    pub indexes: &'a [(&'a str, f64)],
    /// The global secondary index a read reads, whose read capacity it
    /// uses instead of the table's (GSIs have throughput of their own).
    pub index: Option<&'a str>,
}

/// The region's capacity: per-table buckets and counters.
#[derive(Debug)]
pub struct Capacity {
    config: CapacityConfig,
    clock: Arc<dyn CapacityClock>,
    /// The region, for the ARNs of throttling reasons.
    region: String,
    tables: RwLock<HashMap<String, Arc<Mutex<TableState>>>>,
    /// UpdateTable's history of billing changes, per table.
    changes: Mutex<changes::BillingChanges>,
}

impl Capacity {
    /// Capacity enforced per `config`, on `clock`, in `region`.
    pub fn new(config: CapacityConfig, clock: Arc<dyn CapacityClock>, region: &str) -> Capacity {
        Capacity {
            config,
            clock,
            region: region.to_string(),
            tables: RwLock::new(HashMap::new()),
            changes: Mutex::new(changes::BillingChanges::default()),
        }
    }

    /// Whether capacity is enforced and metered at all.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Admits `demand` on `meta` or refuses it, taking nothing when refused.
    /// Settle the admission with the real cost once it is known.
    pub fn admit(&self, meta: &TableMeta, demand: &Demand<'_>) -> Result<Admission, ThrottleError> {
        if !self.config.enabled {
            return Ok(Admission::inert());
        }
        let now = self.clock.now();
        let entry = self.entry(meta, now);
        let mut state = self.synced(&entry, meta, now);
        let result = self.try_take(&mut state, meta, demand, now);
        let index = match result {
            Ok(index) => index,
            Err(error) => {
                let stats = &mut state.stats;
                *stats.throttled_requests.entry(demand.operation).or_default() += 1;
                match demand.kind {
                    CapacityKind::Read => stats.read_throttle_events += 1,
                    CapacityKind::Write => stats.write_throttle_events += 1,
                }
                return Err(error);
            }
        };
        drop(state);
        Ok(Admission {
            taken: Some(Taken {
                table: entry,
                clock: self.clock.clone(),
                index: index.map(str::to_string),
            }),
            kind: demand.kind,
            reserved: demand.units,
            settled: false,
        })
    }

    /// Charges a replicated write of `units` to `meta`'s write capacity,
    /// and `indexes` (name, units) to its global secondary indexes': never
    /// refused, it leaves the buckets in debt instead, which local writes
    /// then wait out.
    pub fn charge_replicated(&self, meta: &TableMeta, units: f64, indexes: &[(String, f64)]) {
        if !self.config.enabled {
            return;
        }
        let now = self.clock.now();
        let entry = self.entry(meta, now);
        let mut state = self.synced(&entry, meta, now);
        state.table.write.take(units, now);
        for (index, units) in indexes {
            if let Some(buckets) = state.indexes.get_mut(index) {
                buckets.write.take(*units, now);
            }
        }
        state.stats.consumed_write += units;
        state.stats.replicated_write += units;
    }

    /// Brings `meta`'s buckets in line with its description now (after an
    /// UpdateTable), rather than at its next request: a changed rate
    /// applies from the change on, not from the last request before it.
    pub fn reconfigure(&self, meta: &TableMeta) {
        if self.config.enabled {
            let now = self.clock.now();
            drop(self.synced(&self.entry(meta, now), meta, now));
        }
    }

    /// Sets a table's GSI buckets to `indexes` (name and limits), keeping
    /// the tokens of those that stay (see `entry`, which keeps them in step
    /// with the table's description).
    fn set_indexes(&self, state: &mut TableState, indexes: &[(String, Limits)], now: Duration) {
        state.indexes.retain(|name, _| indexes.iter().any(|(n, _)| n == name));
        for (name, limits) in indexes {
            let burst = self.burst(limits);
            match state.indexes.get_mut(name) {
                Some(buckets) => buckets.reconfigure(*limits, burst, now),
                None => {
                    state.indexes.insert(name.clone(), Buckets::new(*limits, burst, now));
                }
            }
        }
    }

    /// Every table's counters and limits, by table name.
    pub fn stats(&self) -> Vec<(String, Limits, TableStats)> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = tables
            .iter()
            .map(|(name, entry)| {
                let state = lock(entry);
                (name.clone(), state.table.limits, state.stats.clone())
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The most throttled partition keys of every table, at most
    /// `capacity.hot_keys` of them.
    pub fn hottest_keys(&self) -> Vec<HotKeyReport> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<HotKeyReport> = tables
            .iter()
            .flat_map(|(name, entry)| lock(entry).hot.throttled(name))
            .collect();
        keys.sort_by(|a, b| b.throttles.cmp(&a.throttles).then_with(|| a.key.cmp(&b.key)));
        keys.truncate(self.config.hot_keys);
        keys
    }

    /// Checks UpdateTable's limits on taking `table` from `current` to
    /// `requested` billing at `now_ms` (wall clock, milliseconds since the
    /// epoch) and records the change when they allow it.
    pub fn change_billing(
        &self,
        table: &str,
        current: &BillingMode,
        requested: &BillingMode,
        now_ms: u64,
    ) -> Result<(), BillingChangeError> {
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        changes.change(table, current, requested, now_ms)
    }

    /// Counts a write whose condition failed (ConditionalCheckFailedRequests).
    pub fn count_condition_failed(&self, meta: &TableMeta) {
        if self.config.enabled {
            let now = self.clock.now();
            self.synced(&self.entry(meta, now), meta, now)
                .stats
                .conditional_check_failed += 1;
        }
    }

    /// How much unused capacity `limits` keeps: provisioned capacity keeps
    /// `burst_seconds` of it; an on-demand maximum is a ceiling per second.
    fn burst(&self, limits: &Limits) -> Duration {
        match limits.mode {
            Mode::Provisioned => Duration::from_secs(self.config.burst_seconds),
            Mode::OnDemand => Duration::from_secs(1),
        }
    }

    /// Takes the demand from the table, index and partition buckets, all or
    /// nothing; the global secondary index whose read bucket a read took
    /// from instead of the table's, if any.
    fn try_take<'d>(
        &self,
        state: &mut TableState,
        meta: &TableMeta,
        demand: &Demand<'d>,
        now: Duration,
    ) -> Result<Option<&'d str>, ThrottleError> {
        let read_index = demand
            .index
            .filter(|name| demand.kind == CapacityKind::Read && state.indexes.contains_key(*name));
        let first = target(state, read_index);
        let mode = first.limits.mode;
        if !first.bucket(demand.kind).can_take(demand.units, now) {
            let limit = first.limits.limit_type(demand.kind);
            return Err(self.refusal(meta, mode, read_index, demand.kind, limit));
        }
        for (index, units) in demand.indexes {
            let Some(buckets) = state.indexes.get_mut(*index) else {
                continue;
            };
            if !buckets.write.can_take(*units, now) {
                let limit = buckets.limits.limit_type(CapacityKind::Write);
                let mut error = self.refusal(meta, buckets.limits.mode, Some(index), CapacityKind::Write, limit);
                if buckets.limits.mode == Mode::Provisioned {
                    error.kind = ThrottleKind::IndexProvisionedExceeded;
                }
                return Err(error);
            }
        }
        if self.config.partition_limits && self.check_partitions(state, meta, demand, now).is_err() {
            let limit = LimitType::KeyRangeThroughput;
            return Err(self.refusal(meta, mode, read_index, demand.kind, limit));
        }
        target(state, read_index).bucket(demand.kind).take(demand.units, now);
        for (index, units) in demand.indexes {
            if let Some(buckets) = state.indexes.get_mut(*index) {
                buckets.write.take(*units, now);
            }
        }
        Ok(read_index)
    }

    /// The error of a `kind` request refused by `limit` on `meta` (or its
    /// index `index`), billed in `mode`.
    fn refusal(
        &self,
        meta: &TableMeta,
        mode: Mode,
        index: Option<&str>,
        kind: CapacityKind,
        limit: LimitType,
    ) -> ThrottleError {
        let mut resource = meta.arn(&self.region);
        if let Some(index) = index {
            resource.push_str("/index/");
            resource.push_str(index);
        }
        ThrottleError {
            kind: match mode {
                Mode::Provisioned => ThrottleKind::ProvisionedExceeded,
                Mode::OnDemand => ThrottleKind::OnDemandExceeded,
            },
            reasons: vec![ThrottlingReason::new(index.is_some(), kind, limit, resource)],
        }
    }

    /// Checks and, when every key has room, takes the partition buckets.
    fn check_partitions(
        &self,
        state: &mut TableState,
        meta: &TableMeta,
        demand: &Demand<'_>,
        now: Duration,
    ) -> Result<(), ()> {
        let ceiling = PartitionCeiling {
            read: self.config.partition_read_units as f64,
            write: self.config.partition_write_units as f64,
        };
        let encoded: Vec<Vec<u8>> = demand.keys.iter().map(|k| encoded_key(k.key)).collect();
        let label = |key: &AttributeValue| {
            let item = Item::from([(meta.key_schema.hash.name.clone(), key.clone())]);
            item_to_json(&item).to_string()
        };
        for (key, bytes) in demand.keys.iter().zip(&encoded) {
            if !state
                .hot
                .can_take(bytes, || label(key.key), demand.kind, key.units, ceiling, now)
            {
                state.hot.count_throttle(bytes);
                return Err(());
            }
        }
        for (key, bytes) in demand.keys.iter().zip(&encoded) {
            state.hot.take(bytes, demand.kind, key.units, now);
        }
        Ok(())
    }

    /// The limits of `meta` itself.
    fn table_limits(&self, meta: &TableMeta) -> Limits {
        let max = meta.on_demand.as_deref().map(|m| m.table).unwrap_or_default();
        Limits::of(&meta.billing, max, &self.config)
    }

    /// The table's state, created for `meta` when it has none yet; lock it
    /// with [`Capacity::synced`].
    fn entry(&self, meta: &TableMeta, now: Duration) -> Arc<Mutex<TableState>> {
        let existing = self
            .tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&meta.name)
            .cloned();
        if let Some(entry) = existing {
            return entry;
        }
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        let entry = tables.entry(meta.name.clone()).or_insert_with(|| {
            let limits = self.table_limits(meta);
            let burst = self.burst(&limits);
            Arc::new(Mutex::new(TableState {
                storage_id: meta.storage_id,
                table: Buckets::new(limits, burst, now),
                indexes: HashMap::new(),
                hot: HotKeys::default(),
                stats: TableStats::default(),
            }))
        });
        entry.clone()
    }

    /// Locks `entry`, brought in line with `meta`'s billing (a changed
    /// throughput keeps the tokens held; a re-created table starts afresh).
    fn synced<'e>(
        &self,
        entry: &'e Mutex<TableState>,
        meta: &TableMeta,
        now: Duration,
    ) -> std::sync::MutexGuard<'e, TableState> {
        let limits = self.table_limits(meta);
        let burst = self.burst(&limits);
        let mut state = lock(entry);
        if state.storage_id != meta.storage_id {
            state.storage_id = meta.storage_id;
            state.table = Buckets::new(limits, burst, now);
            state.indexes.clear();
            state.hot = HotKeys::default();
        } else {
            state.table.reconfigure(limits, burst, now);
        }
        if !meta.indexes.is_empty() || !state.indexes.is_empty() {
            let indexes = self.index_limits(meta, meta.on_demand.as_deref());
            self.set_indexes(&mut state, &indexes, now);
        }
        state
    }

    /// The limits of `meta`'s global secondary indexes: their provisioned
    /// throughput, or on an on-demand table the per-table quota lowered to
    /// the index's own maximums (`on_demand`) where set.
    fn index_limits(&self, meta: &TableMeta, on_demand: Option<&OnDemandMaxima>) -> Vec<(String, Limits)> {
        meta.indexes
            .iter()
            .filter(|i| i.kind == crate::model::IndexKind::Global)
            .map(|i| {
                let limits = match i.throughput {
                    Some((read, write)) => Limits::provisioned(read, write),
                    None => {
                        let max = on_demand.map(|m| m.index(&i.name)).unwrap_or_default();
                        Limits::on_demand(max, &self.config)
                    }
                };
                (i.name.clone(), limits)
            })
            .collect()
    }
}

/// A partition key's bytes, as the store orders them.
fn encoded_key(key: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    encode_key_value(key, &mut out);
    out
}

/// Locks a table's state. A panic while holding it leaves counters and
/// buckets that are still numbers, so a poisoned lock is used as is.
fn lock(entry: &Mutex<TableState>) -> std::sync::MutexGuard<'_, TableState> {
    entry.lock().unwrap_or_else(|e| e.into_inner())
}

/// The buckets (of a table, or one of its global secondary indexes) a
/// request's units are taken from.
fn target<'s>(state: &'s mut TableState, index: Option<&str>) -> &'s mut Buckets {
    match index.and_then(|name| state.indexes.get_mut(name)) {
        Some(buckets) => buckets,
        None => &mut state.table,
    }
}

impl TableState {
    /// Counts items an operation returned (ReturnedItemCount).
    fn count_returned(&mut self, operation: &'static str, items: usize) {
        *self.stats.returned_items.entry(operation).or_default() += items as u64;
    }
}

/// Units taken for an admitted request: settle it with the real cost, or
/// let it drop to give them back (a request that failed before it read or
/// wrote anything consumes nothing).
#[derive(Debug)]
pub struct Admission {
    /// Where the units were taken, unless enforcement is off.
    taken: Option<Taken>,
    kind: CapacityKind,
    reserved: f64,
    settled: bool,
}

/// The table state an admission took units from, and from which buckets.
#[derive(Debug)]
struct Taken {
    table: Arc<Mutex<TableState>>,
    clock: Arc<dyn CapacityClock>,
    /// The global secondary index a read took from, instead of the table.
    index: Option<String>,
}

impl Admission {
    /// An admission that takes nothing (enforcement off).
    fn inert() -> Admission {
        Admission {
            taken: None,
            kind: CapacityKind::Read,
            reserved: 0.0,
            settled: true,
        }
    }

    /// Charges the request's real cost, `units`, in place of the estimate.
    pub fn settle(mut self, units: f64) {
        self.apply(units, None);
    }

    /// Charges a read's real cost, `units`, and counts the `items` it
    /// returned as `operation` (ReturnedItemCount), under one lock.
    pub fn settle_read(mut self, units: f64, operation: &'static str, items: usize) {
        self.apply(units, Some((operation, items)));
    }

    /// Charges the estimate as the real cost (a write whose condition
    /// failed costs its write units, as in DynamoDB).
    pub fn settle_estimate(mut self) {
        let units = self.reserved;
        self.apply(units, None);
    }

    fn apply(&mut self, units: f64, returned: Option<(&'static str, usize)>) {
        if self.settled {
            return;
        }
        self.settled = true;
        let Some(taken) = &self.taken else { return };
        let now = taken.clock.now();
        let mut state = lock(&taken.table);
        target(&mut state, taken.index.as_deref())
            .bucket(self.kind)
            .take(units - self.reserved, now);
        match self.kind {
            CapacityKind::Read => state.stats.consumed_read += units,
            CapacityKind::Write => state.stats.consumed_write += units,
        }
        if let Some((operation, items)) = returned {
            state.count_returned(operation, items);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.apply(0.0, None);
    }
}

#[cfg(test)]
mod tests;
