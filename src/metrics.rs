//! Metric names and registration, exported in Prometheus text format at
//! `GET /metrics` (crate `prometheus-client`).
//!
//! Request counts are counted as requests finish. Everything else is read at
//! scrape time from where it already lives (the writer's counters, the
//! replication peer status), so there is one source of truth per number.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::capacity::{Capacity, Mode};
use crate::engine::Engine;
use crate::replication::status::PeerStatus;

/// Labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// DynamoDB operation, e.g. "PutItem".
    pub operation: String,
    /// "ok", or the error type, e.g. "ConditionalCheckFailedException".
    pub outcome: String,
}

/// Labels of a per-operation metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// DynamoDB operation, e.g. "PutItem".
    pub operation: String,
}

/// Upper bounds of the request latency histogram, seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048,
];

/// Errors that CloudWatch counts apart from UserErrors: throttles
/// (ThrottledRequests) and failed conditions (ConditionalCheckFailedRequests).
const NOT_USER_ERRORS: [&str; 3] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "ConditionalCheckFailedException",
];

/// A region's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram>,
    user_errors: Counter,
    system_errors: Counter,
}

impl Metrics {
    /// Registers the region's metrics; the per-table capacity metrics are
    /// read from `capacity` at scrape time.
    pub fn new(engine: Engine, peers: Option<Arc<PeerStatus>>, capacity: Arc<Capacity>) -> Metrics {
        let mut registry = Registry::with_prefix("meridian");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "DynamoDB API requests by operation and outcome",
            requests.clone(),
        );
        let latency = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(LATENCY_BUCKETS.iter().copied())
        });
        registry.register(
            "successful_request_latency_seconds",
            "SuccessfulRequestLatency: time to serve requests that succeeded, by operation",
            latency.clone(),
        );
        let user_errors = Counter::default();
        registry.register(
            "user_errors",
            "UserErrors: requests answered with an HTTP 400 error other than a throttle or a failed condition",
            user_errors.clone(),
        );
        let system_errors = Counter::default();
        registry.register(
            "system_errors",
            "SystemErrors: requests answered with an HTTP 500 error",
            system_errors.clone(),
        );
        registry.register_collector(Box::new(RegionCollector { engine, peers }));
        registry.register_collector(Box::new(CapacityCollector { capacity }));
        Metrics {
            registry,
            requests,
            latency,
            user_errors,
            system_errors,
        }
    }

    /// Counts one finished request; `outcome` is "ok" or the error's type
    /// and `server_error` whether it was an HTTP 500.
    pub fn count_request(&self, operation: &str, outcome: &str, server_error: bool) {
        let labels = RequestLabels {
            operation: operation.to_string(),
            outcome: outcome.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        if server_error {
            self.system_errors.inc();
        } else if outcome != "ok" && !NOT_USER_ERRORS.contains(&outcome) {
            self.user_errors.inc();
        }
    }

    /// Records how long a successful request took.
    pub fn observe_latency(&self, operation: &str, took: Duration) {
        let labels = OperationLabels {
            operation: operation.to_string(),
        };
        self.latency.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Reads the writer's and the replication links' state on each scrape.
#[derive(Debug)]
struct RegionCollector {
    engine: Engine,
    peers: Option<Arc<PeerStatus>>,
}

fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn seconds(encoder: &mut DescriptorEncoder, name: &str, help: &str, total: Duration) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(total.as_secs_f64());
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// A histogram read at scrape time from counts kept elsewhere.
struct ConstHistogram {
    sum: f64,
    count: u64,
    /// (upper bound, count in the bucket), not cumulative, `f64::MAX` last.
    buckets: Vec<(f64, u64)>,
}

impl EncodeMetric for ConstHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

fn histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: ConstHistogram,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: f64) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// One labelled series per peer of a metric family.
fn per_peer<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: Vec<(String, M)>,
) -> Result<(), std::fmt::Error> {
    let Some(first) = series.first() else { return Ok(()) };
    let mut family = encoder.encode_descriptor(name, help, None, first.1.metric_type())?;
    for (peer, metric) in &series {
        let labels = [("peer", peer.as_str())];
        metric.encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for RegionCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let writes = self.engine.write_stats();
        counter(&mut encoder, "commits", "Durable group commits", writes.commits)?;
        counter(
            &mut encoder,
            "write_jobs",
            "Write jobs committed (requests and replicated batches)",
            writes.jobs,
        )?;
        // Sums over write jobs: divided by the rate of write_jobs, the mean
        // time a write spends in each stage.
        seconds(
            &mut encoder,
            "write_queue_wait_seconds",
            "Summed over write jobs: time queued before the writer took them",
            writes.queue_wait,
        )?;
        seconds(
            &mut encoder,
            "write_group_seconds",
            "Summed over write jobs: time from their group's start to its commit",
            writes.in_group,
        )?;
        seconds(
            &mut encoder,
            "write_durable_wait_seconds",
            "Summed over write jobs: time from commit to durable (the log sync)",
            writes.durable_wait,
        )?;
        counter(
            &mut encoder,
            "wal_syncs",
            "Write-ahead log syncs (fdatasync)",
            writes.syncs,
        )?;
        seconds(
            &mut encoder,
            "wal_sync_seconds",
            "Time spent in write-ahead log syncs",
            writes.syncing,
        )?;
        histogram(
            &mut encoder,
            "wal_sync_duration_seconds",
            "How long write-ahead log syncs took: every write waits for one",
            ConstHistogram {
                sum: writes.syncing.as_secs_f64(),
                count: writes.syncs,
                buckets: writes.sync_latency.buckets(),
            },
        )?;
        gauge(
            &mut encoder,
            "write_queue_depth",
            "Write jobs waiting for the writer",
            self.engine.write_queue_depth() as f64,
        )?;
        let space = self.engine.disk_space();
        if space.available() != u64::MAX {
            gauge(
                &mut encoder,
                "disk_available_bytes",
                "Free bytes on the data directory's file system at the last measure",
                space.available() as f64,
            )?;
        }
        gauge(
            &mut encoder,
            "disk_read_only",
            "1 while writes are refused because free space is under storage.disk_reserve_bytes",
            if space.is_full() { 1.0 } else { 0.0 },
        )?;
        gauge(
            &mut encoder,
            "clock_offset_ms",
            "Simulated wall-clock offset of this region",
            self.engine.hlc().offset_ms() as f64,
        )?;
        let Some(peers) = &self.peers else { return Ok(()) };
        let report = peers.report_at(self.engine.hlc().wall_now_ns());
        let last_seq = *self.engine.subscribe_commits().borrow();
        let series = |f: &dyn Fn(&crate::replication::status::PeerReport) -> f64| {
            report
                .iter()
                .map(|p| (p.peer.clone(), ConstGauge::new(f(p))))
                .collect::<Vec<_>>()
        };
        let counters = |f: &dyn Fn(&crate::replication::status::PeerReport) -> u64| {
            report
                .iter()
                .map(|p| (p.peer.clone(), ConstCounter::new(f(p))))
                .collect::<Vec<_>>()
        };
        per_peer(
            &mut encoder,
            "replication_lag_p50_seconds",
            "Median lag from origin commit to apply here",
            series(&|p| p.lag_p50_ms / 1e3),
        )?;
        per_peer(
            &mut encoder,
            "replication_lag_p99_seconds",
            "99th percentile lag from origin commit to apply here",
            series(&|p| p.lag_p99_ms / 1e3),
        )?;
        per_peer(
            &mut encoder,
            "replication_lag_seconds",
            "Lag from origin commit to apply here of every change applied since the region started",
            report
                .iter()
                .map(|p| {
                    let metric = ConstHistogram {
                        sum: p.lag_histogram.sum_seconds,
                        count: p.lag_histogram.count(),
                        buckets: p.lag_histogram.buckets(),
                    };
                    (p.peer.clone(), metric)
                })
                .collect(),
        )?;
        per_peer(
            &mut encoder,
            "replication_queued_changes",
            "Entries of our change log the peer has not acknowledged",
            series(&|p| last_seq.since(p.state.acked_seq) as f64),
        )?;
        per_peer(
            &mut encoder,
            "replication_link_up",
            "Whether the peer's shipping stream to us is up",
            series(&|p| f64::from(u8::from(p.state.receiving))),
        )?;
        per_peer(
            &mut encoder,
            "replication_applied",
            "Changes from the peer written here",
            counters(&|p| p.state.applied),
        )?;
        per_peer(
            &mut encoder,
            "conflicts",
            "Writes from the peer that lost last-writer-wins here",
            counters(&|p| p.state.conflicts),
        )?;
        per_peer(
            &mut encoder,
            "clock_offset_alarms",
            "Batches from the peer with a timestamp beyond the maximum clock offset",
            counters(&|p| p.state.clock_alarms),
        )?;
        Ok(())
    }
}

/// Reads one number of a table's capacity counters.
type StatOf = dyn Fn(&crate::capacity::TableStats) -> f64;

/// Reads the same number of a global secondary index's counters, for the
/// metrics CloudWatch also reports per index (GlobalSecondaryIndexName).
type IndexStatOf = dyn Fn(&crate::capacity::IndexStats) -> f64;

/// The per-table capacity metrics, under CloudWatch's names, read from the
/// capacity counters on each scrape.
#[derive(Debug)]
struct CapacityCollector {
    capacity: Arc<Capacity>,
}

/// One series per label set of a metric family.
fn labelled<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: Vec<(Vec<(&'static str, String)>, M)>,
) -> Result<(), std::fmt::Error> {
    let Some(first) = series.first() else { return Ok(()) };
    let mut family = encoder.encode_descriptor(name, help, None, first.1.metric_type())?;
    for (labels, metric) in &series {
        metric.encode(family.encode_family(&labels.as_slice())?)?;
    }
    Ok(())
}

impl Collector for CapacityCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let tables = self.capacity.stats();
        let indexes = self.capacity.index_stats();
        let table = |name: &str| vec![("table", name.to_string())];
        let index = |table: &str, index: &str| vec![("table", table.to_string()), ("index", index.to_string())];
        let series = |f: &StatOf, of_index: Option<&IndexStatOf>| {
            let tables = tables.iter().map(|(name, _, stats)| (table(name), f(stats)));
            let indexes = of_index.into_iter().flat_map(|g| {
                let rows = indexes.iter();
                rows.map(move |(t, name, _, stats)| (index(t, name), g(stats)))
            });
            let all = tables
                .chain(indexes)
                .map(|(labels, value)| (labels, ConstCounter::new(value)));
            all.collect::<Vec<_>>()
        };
        let counters: [(&str, &str, &StatOf, Option<&IndexStatOf>); 6] = [
            (
                "consumed_read_capacity_units",
                "ConsumedReadCapacityUnits: read capacity units consumed, by the table or by one global secondary index",
                &|s| s.consumed_read,
                Some(&|s| s.consumed_read),
            ),
            (
                "consumed_write_capacity_units",
                "ConsumedWriteCapacityUnits: write capacity units consumed, by the table or by one global secondary index, replicated writes included",
                &|s| s.consumed_write,
                Some(&|s| s.consumed_write),
            ),
            (
                "replicated_write_capacity_units",
                "ReplicatedWriteCapacityUnits: write capacity units consumed by writes replicated from other regions",
                &|s| s.replicated_write,
                None,
            ),
            (
                "read_throttle_events",
                "ReadThrottleEvents: reads refused for the capacity of the table or of one global secondary index",
                &|s| s.read_throttle_events as f64,
                Some(&|s| s.read_throttle_events as f64),
            ),
            (
                "write_throttle_events",
                "WriteThrottleEvents: writes refused for the capacity of the table or of one global secondary index",
                &|s| s.write_throttle_events as f64,
                Some(&|s| s.write_throttle_events as f64),
            ),
            (
                "conditional_check_failed_requests",
                "ConditionalCheckFailedRequests: writes whose condition was false",
                &|s| s.conditional_check_failed as f64,
                None,
            ),
        ];
        for (name, help, f, of_index) in counters {
            labelled(&mut encoder, name, help, series(f, of_index))?;
        }
        let provisioned = |f: &dyn Fn(&crate::capacity::Limits) -> f64| {
            let tables = tables.iter().map(|(name, limits, _)| (table(name), limits));
            let indexes = indexes.iter().map(|(t, name, limits, _)| (index(t, name), limits));
            let all = tables
                .chain(indexes)
                .filter(|(_, limits)| limits.mode == Mode::Provisioned);
            all.map(|(labels, limits)| (labels, ConstGauge::new(f(limits))))
                .collect::<Vec<_>>()
        };
        labelled(
            &mut encoder,
            "provisioned_read_capacity_units",
            "ProvisionedReadCapacityUnits: read capacity units per second of a provisioned table or global secondary index",
            provisioned(&|l| l.read),
        )?;
        labelled(
            &mut encoder,
            "provisioned_write_capacity_units",
            "ProvisionedWriteCapacityUnits: write capacity units per second of a provisioned table or global secondary index",
            provisioned(&|l| l.write),
        )?;
        let per_operation = |f: &dyn Fn(&crate::capacity::TableStats) -> Vec<(&'static str, u64)>| {
            tables
                .iter()
                .flat_map(|(name, _, stats)| {
                    f(stats).into_iter().map(|(operation, count)| {
                        let labels = vec![("table", name.clone()), ("operation", operation.to_string())];
                        (labels, ConstCounter::new(count))
                    })
                })
                .collect::<Vec<_>>()
        };
        labelled(
            &mut encoder,
            "throttled_requests",
            "ThrottledRequests: requests refused for capacity, by table and operation",
            per_operation(&|s| s.throttled_requests.sorted()),
        )?;
        labelled(
            &mut encoder,
            "returned_item_count",
            "ReturnedItemCount: items returned by reads, by table and operation",
            per_operation(&|s| s.returned_items.sorted()),
        )?;
        let hot = self
            .capacity
            .hottest_keys()
            .into_iter()
            .map(|k| {
                (
                    vec![("table", k.table), ("key", escape_label(&k.key))],
                    ConstCounter::new(k.throttles),
                )
            })
            .collect();
        labelled(
            &mut encoder,
            "partition_key_throttles",
            "Requests refused at a partition key's ceiling (capacity.partition_limits), most throttled keys",
            hot,
        )
    }
}

/// A label value escaped as the text exposition format requires (the
/// encoder writes values as they are): backslash, double quote and newline.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
