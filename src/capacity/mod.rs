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
pub use units::{CapacityKind, add_units, read_units, transactional, write_units};

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
    pub throttled_requests: PerOperation,
    /// ReadThrottleEvents.
    pub read_throttle_events: u64,
    /// WriteThrottleEvents.
    pub write_throttle_events: u64,
    /// ConditionalCheckFailedRequests.
    pub conditional_check_failed: u64,
    /// ReturnedItemCount, by operation.
    pub returned_items: PerOperation,
}

/// A count per operation (DynamoDB's operation name). A request adds to
/// one of a handful of operations: a short list, searched in place, costs
/// less than hashing the name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerOperation(Vec<(&'static str, u64)>);

impl PerOperation {
    /// Adds `n` to `operation`'s count.
    pub fn add(&mut self, operation: &'static str, n: u64) {
        match self.0.iter_mut().find(|(name, _)| *name == operation) {
            Some((_, count)) => *count += n,
            None => self.0.push((operation, n)),
        }
    }

    /// `operation`'s count, when it has one.
    pub fn get(&self, operation: &str) -> Option<u64> {
        self.0
            .iter()
            .find(|(name, _)| *name == operation)
            .map(|(_, count)| *count)
    }

    /// Every count, by operation name.
    pub fn sorted(&self) -> Vec<(&'static str, u64)> {
        let mut counts = self.0.clone();
        counts.sort();
        counts
    }
}

/// What CloudWatch reports per global secondary index (the
/// GlobalSecondaryIndexName dimension), as running totals. The table's own
/// figures leave these out, as CloudWatch's TableName dimension does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IndexStats {
    /// ConsumedReadCapacityUnits of Queries and Scans of the index.
    pub consumed_read: f64,
    /// ConsumedWriteCapacityUnits of the index entries written (replicated
    /// writes included).
    pub consumed_write: f64,
    /// ReadThrottleEvents: reads refused for the index's read capacity.
    pub read_throttle_events: u64,
    /// WriteThrottleEvents: table writes refused for the index's write
    /// capacity.
    pub write_throttle_events: u64,
}

/// One global secondary index's buckets and counters.
#[derive(Debug)]
struct IndexState {
    buckets: Buckets,
    stats: IndexStats,
}

/// Tables by name. Every request looks its table up, and table names are
/// few and short: FxHash (`rustc-hash`, already in the tree through quinn)
/// hashes them in a few instructions, where SipHash's defence against
/// chosen keys buys nothing (only existing tables are entered).
type ByName<V> = HashMap<String, V, rustc_hash::FxBuildHasher>;

/// One table's state, shared by the admissions that took from it, with the
/// clock they settle on (so that an admission holds one handle, not two).
#[derive(Debug)]
struct TableEntry {
    clock: Arc<dyn CapacityClock>,
    state: Mutex<TableState>,
}

/// One table's buckets and counters.
#[derive(Debug)]
struct TableState {
    /// The description the buckets were built from (a re-created table
    /// starts with full buckets).
    storage_id: StorageId,
    table: Buckets,
    /// Buckets and counters of the table's global secondary indexes, by
    /// index name.
    indexes: HashMap<String, IndexState>,
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

/// One item of a multi-item write, as `Capacity::admit_items` weighs it.
#[derive(Clone, Debug)]
pub struct ItemShare<'a> {
    /// Estimated units on the table.
    pub units: f64,
    /// Its partition key (for partition limits), with its units.
    pub key: Option<KeyDemand<'a>>,
    /// Estimated write units per global secondary index it writes to.
    pub indexes: Vec<(&'a str, f64)>,
}

/// A multi-item write admitted on one table: the admission of the items
/// taken, and the positions of those refused.
#[derive(Debug)]
pub struct ItemsAdmission {
    pub admission: Admission,
    pub refused: Vec<usize>,
}

/// The region's capacity: per-table buckets and counters.
#[derive(Debug)]
pub struct Capacity {
    config: CapacityConfig,
    clock: Arc<dyn CapacityClock>,
    /// The region, for the ARNs of throttling reasons.
    region: String,
    tables: RwLock<ByName<Arc<TableEntry>>>,
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
            tables: RwLock::default(),
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
        let taken = self.take_or_count(&mut state, meta, demand, now);
        drop(state);
        Ok(self.admission(entry, demand, taken?))
    }

    /// Admits the items of a multi-item write on `meta`, each with its own
    /// demand on the table's global secondary indexes. An item whose GSIs
    /// lack write capacity for it is refused on its own (its position in
    /// `refused`) when `partial` (BatchWriteItem returns it unprocessed),
    /// and refuses them all otherwise (a transaction). The items admitted
    /// then take from the table as one demand; when none is, the refusal is
    /// the request's.
    pub fn admit_items(
        &self,
        meta: &TableMeta,
        operation: &'static str,
        kind: CapacityKind,
        items: &[ItemShare<'_>],
        partial: bool,
    ) -> Result<ItemsAdmission, ThrottleError> {
        if !self.config.enabled {
            return Ok(ItemsAdmission {
                admission: Admission::inert(),
                refused: Vec::new(),
            });
        }
        let now = self.clock.now();
        let entry = self.entry(meta, now);
        let mut state = self.synced(&entry, meta, now);
        let (indexes, refused, refusal) = self.index_shares(&mut state, meta, items, partial, now);
        if let Some(error) = refusal.filter(|_| !partial || refused.len() == items.len()) {
            state.stats.throttled_requests.add(operation, 1);
            return Err(error);
        }
        let admitted = || (0..items.len()).filter(|i| !refused.contains(i)).map(|i| &items[i]);
        let keys: Vec<KeyDemand<'_>> = admitted().filter_map(|item| item.key).collect();
        let demand = Demand {
            operation,
            kind,
            units: admitted().map(|item| item.units).sum(),
            keys: &keys,
            indexes: &indexes,
            index: None,
        };
        let taken = self.take_or_count(&mut state, meta, &demand, now);
        drop(state);
        Ok(ItemsAdmission {
            admission: self.admission(entry, &demand, taken?),
            refused,
        })
    }

    /// The GSI write units of the `items` their indexes have room for, in
    /// order, the positions of those refused, and the first refusal; with
    /// `partial` off, the first refusal ends the walk. Each item is weighed
    /// against what the items before it took, then all is given back for
    /// the request's demand to take at once.
    fn index_shares<'i>(
        &self,
        state: &mut TableState,
        meta: &TableMeta,
        items: &[ItemShare<'i>],
        partial: bool,
        now: Duration,
    ) -> (Vec<(&'i str, f64)>, Vec<usize>, Option<ThrottleError>) {
        let mut indexes: Vec<(&str, f64)> = Vec::new();
        let mut refused = Vec::new();
        let mut refusal = None;
        for (position, item) in items.iter().enumerate() {
            match self.index_room(state, meta, &item.indexes, now) {
                Ok(()) => {
                    take_indexes(state, &item.indexes, 1.0, now);
                    add_units(&mut indexes, item.indexes.iter().copied());
                }
                Err(error) => {
                    refused.push(position);
                    refusal.get_or_insert(error);
                    if !partial {
                        break;
                    }
                }
            }
        }
        take_indexes(state, &indexes, -1.0, now);
        (indexes, refused, refusal)
    }

    /// Takes `demand` (see `try_take`), or counts its refusal as a
    /// throttled request.
    fn take_or_count<'d>(
        &self,
        state: &mut TableState,
        meta: &TableMeta,
        demand: &Demand<'d>,
        now: Duration,
    ) -> Result<Option<&'d str>, ThrottleError> {
        let result = self.try_take(state, meta, demand, now);
        if result.is_err() {
            state.stats.throttled_requests.add(demand.operation, 1);
        }
        result
    }

    /// The admission of `demand`, taken from `entry` (and from the read
    /// bucket of the GSI `index`, if any).
    fn admission(&self, entry: Arc<TableEntry>, demand: &Demand<'_>, index: Option<&str>) -> Admission {
        let indexes = demand.indexes.iter().map(|(name, units)| (name.to_string(), *units));
        Admission {
            taken: Some(Taken {
                table: entry,
                index: index.map(str::to_string),
                indexes: indexes.collect(),
            }),
            kind: demand.kind,
            reserved: demand.units,
            settled: false,
        }
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
            if let Some(gsi) = state.indexes.get_mut(index) {
                gsi.buckets.write.take(*units, now);
                gsi.stats.consumed_write += units;
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
                Some(gsi) => gsi.buckets.reconfigure(*limits, burst, now),
                None => {
                    let gsi = IndexState {
                        buckets: Buckets::new(*limits, burst, now),
                        stats: IndexStats::default(),
                    };
                    state.indexes.insert(name.clone(), gsi);
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
                let state = lock(&entry.state);
                (name.clone(), state.table.limits, state.stats.clone())
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Every global secondary index's counters and limits, as (table,
    /// index, limits, counters), by table and index name.
    pub fn index_stats(&self) -> Vec<(String, String, Limits, IndexStats)> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = tables
            .iter()
            .flat_map(|(table, entry)| {
                let state = lock(&entry.state);
                let indexes = state.indexes.iter();
                let rows =
                    indexes.map(|(name, gsi)| (table.clone(), name.clone(), gsi.buckets.limits, gsi.stats.clone()));
                rows.collect::<Vec<_>>()
            })
            .collect();
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }

    /// The most throttled partition keys of every table, at most
    /// `capacity.hot_keys` of them.
    pub fn hottest_keys(&self) -> Vec<HotKeyReport> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<HotKeyReport> = tables
            .iter()
            .flat_map(|(name, entry)| lock(&entry.state).hot.throttled(name))
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
            count_event(state, read_index, demand.kind);
            return Err(self.refusal(meta, mode, read_index, demand.kind, limit));
        }
        self.index_room(state, meta, demand.indexes, now)?;
        if self.config.partition_limits && self.check_partitions(state, meta, demand, now).is_err() {
            let limit = LimitType::KeyRangeThroughput;
            count_event(state, read_index, demand.kind);
            return Err(self.refusal(meta, mode, read_index, demand.kind, limit));
        }
        target(state, read_index).bucket(demand.kind).take(demand.units, now);
        take_indexes(state, demand.indexes, 1.0, now);
        Ok(read_index)
    }

    /// Whether every global secondary index of `indexes` (name, write
    /// units) has room for its units; the refusal of the first that has
    /// not, counted as a write throttle event of that index.
    fn index_room(
        &self,
        state: &mut TableState,
        meta: &TableMeta,
        indexes: &[(&str, f64)],
        now: Duration,
    ) -> Result<(), ThrottleError> {
        for (index, units) in indexes {
            let Some(gsi) = state.indexes.get_mut(*index) else {
                continue;
            };
            if !gsi.buckets.write.can_take(*units, now) {
                gsi.stats.write_throttle_events += 1;
                let limits = gsi.buckets.limits;
                let limit = limits.limit_type(CapacityKind::Write);
                let mut error = self.refusal(meta, limits.mode, Some(index), CapacityKind::Write, limit);
                if limits.mode == Mode::Provisioned {
                    error.kind = ThrottleKind::IndexProvisionedExceeded;
                }
                return Err(error);
            }
        }
        Ok(())
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
    fn entry(&self, meta: &TableMeta, now: Duration) -> Arc<TableEntry> {
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
            Arc::new(TableEntry {
                clock: self.clock.clone(),
                state: Mutex::new(TableState {
                    storage_id: meta.storage_id,
                    table: Buckets::new(limits, burst, now),
                    indexes: HashMap::new(),
                    hot: HotKeys::default(),
                    stats: TableStats::default(),
                }),
            })
        });
        entry.clone()
    }

    /// Locks `entry`, brought in line with `meta`'s billing (a changed
    /// throughput keeps the tokens held; a re-created table starts afresh).
    fn synced<'e>(
        &self,
        entry: &'e TableEntry,
        meta: &TableMeta,
        now: Duration,
    ) -> std::sync::MutexGuard<'e, TableState> {
        let limits = self.table_limits(meta);
        let burst = self.burst(&limits);
        let mut state = lock(&entry.state);
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
        Some(gsi) => &mut gsi.buckets,
        None => &mut state.table,
    }
}

/// Takes `indexes` (name, write units) times `factor` from the GSIs' write
/// buckets (a factor of -1 gives them back).
fn take_indexes(state: &mut TableState, indexes: &[(&str, f64)], factor: f64, now: Duration) {
    for (index, units) in indexes {
        if let Some(gsi) = state.indexes.get_mut(*index) {
            gsi.buckets.write.take(factor * units, now);
        }
    }
}

/// Counts a refused `kind` request as a throttle event of the table, or of
/// its global secondary index `index` (a read of the index).
fn count_event(state: &mut TableState, index: Option<&str>, kind: CapacityKind) {
    let events = match index.and_then(|name| state.indexes.get_mut(name)) {
        Some(gsi) => match kind {
            CapacityKind::Read => &mut gsi.stats.read_throttle_events,
            CapacityKind::Write => &mut gsi.stats.write_throttle_events,
        },
        None => match kind {
            CapacityKind::Read => &mut state.stats.read_throttle_events,
            CapacityKind::Write => &mut state.stats.write_throttle_events,
        },
    };
    *events += 1;
}

impl TableState {
    /// Counts items an operation returned (ReturnedItemCount).
    fn count_returned(&mut self, operation: &'static str, items: usize) {
        self.stats.returned_items.add(operation, items as u64);
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
    table: Arc<TableEntry>,
    /// The global secondary index a read took from, instead of the table.
    index: Option<String>,
    /// The write units taken from each global secondary index.
    indexes: Vec<(String, f64)>,
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

    /// Charges the request's real cost, `units`, in place of the estimate;
    /// what it took from global secondary indexes stands as their cost.
    pub fn settle(mut self, units: f64) {
        self.apply(Settlement::estimated_indexes(units));
    }

    /// Charges a write's real cost: `units` on the table and `indexes`
    /// (name, units) on its global secondary indexes, in place of what was
    /// taken from each (an index not named wrote nothing).
    pub fn settle_write(mut self, units: f64, indexes: &[(&str, f64)]) {
        self.apply(Settlement {
            units,
            indexes: Some(indexes),
            returned: None,
        });
    }

    /// Charges a read's real cost, `units`, and counts the `items` it
    /// returned as `operation` (ReturnedItemCount), under one lock.
    pub fn settle_read(mut self, units: f64, operation: &'static str, items: usize) {
        self.apply(Settlement {
            returned: Some((operation, items)),
            ..Settlement::estimated_indexes(units)
        });
    }

    /// Charges the estimate as the real cost (a write whose condition
    /// failed costs its write units, as in DynamoDB); it wrote no index
    /// entry, so its global secondary indexes get back what was taken.
    pub fn settle_estimate(mut self) {
        let units = self.reserved;
        self.apply(Settlement {
            units,
            indexes: Some(&[]),
            returned: None,
        });
    }

    fn apply(&mut self, settlement: Settlement<'_>) {
        if self.settled {
            return;
        }
        self.settled = true;
        let Some(taken) = &self.taken else { return };
        let units = settlement.units;
        let change = units - self.reserved;
        let indexes = !taken.indexes.is_empty() || settlement.indexes.is_some_and(|real| !real.is_empty());
        // An estimate that was right (the usual read, a put of a new item)
        // changes no bucket: the clock is read only when one changes.
        let now = (change != 0.0 || indexes).then(|| taken.table.clock.now());
        let mut guard = lock(&taken.table.state);
        let state = &mut *guard;
        if let Some(now) = now {
            target(state, taken.index.as_deref())
                .bucket(self.kind)
                .take(change, now);
            settle_indexes(state, &taken.indexes, settlement.indexes, now);
        }
        let gsi_read = taken.index.as_deref().and_then(|name| state.indexes.get_mut(name));
        match (self.kind, gsi_read) {
            (CapacityKind::Read, Some(gsi)) => gsi.stats.consumed_read += units,
            (CapacityKind::Read, None) => state.stats.consumed_read += units,
            (CapacityKind::Write, _) => state.stats.consumed_write += units,
        }
        if let Some((operation, items)) = settlement.returned {
            state.count_returned(operation, items);
        }
    }
}

/// What an admission is settled with.
struct Settlement<'a> {
    /// The table's (or a read GSI's) real units.
    units: f64,
    /// The real write units of each global secondary index, or `None` to
    /// keep what was taken from them.
    indexes: Option<&'a [(&'a str, f64)]>,
    /// Items returned by a read, and its operation.
    returned: Option<(&'static str, usize)>,
}

impl Settlement<'_> {
    /// `units`, the GSIs charged what was taken from them.
    fn estimated_indexes(units: f64) -> Settlement<'static> {
        Settlement {
            units,
            indexes: None,
            returned: None,
        }
    }
}

/// Corrects each GSI write bucket from what was `taken` to the `real` units
/// (`None`: what was taken), and counts the real units as consumed.
fn settle_indexes(state: &mut TableState, taken: &[(String, f64)], real: Option<&[(&str, f64)]>, now: Duration) {
    let real_of = |name: &str, reserved: f64| match real {
        Some(real) => real.iter().filter(|(n, _)| *n == name).map(|(_, u)| u).sum(),
        None => reserved,
    };
    for (name, reserved) in taken {
        if let Some(gsi) = state.indexes.get_mut(name) {
            let units = real_of(name, *reserved);
            gsi.buckets.write.take(units - reserved, now);
            gsi.stats.consumed_write += units;
        }
    }
    let untaken = real
        .unwrap_or_default()
        .iter()
        .filter(|(n, _)| !taken.iter().any(|(t, _)| t == n));
    for (name, units) in untaken {
        if let Some(gsi) = state.indexes.get_mut(*name) {
            gsi.buckets.write.take(*units, now);
            gsi.stats.consumed_write += units;
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.apply(Settlement {
            units: 0.0,
            indexes: Some(&[]),
            returned: None,
        });
    }
}

#[cfg(test)]
mod tests;
