//! Unit tests of `Capacity`: admission, settling, refunds, index buckets,
//! replicated writes and reconfiguration from the table's description.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::model::TableMeta;

fn provisioned(name: &str, units: u64) -> TableMeta {
    let mut meta = TableMeta::sample(name, 1);
    meta.billing = BillingMode::Provisioned {
        read: units,
        write: units,
    };
    meta
}

fn capacity() -> (Capacity, Arc<ManualClock>) {
    let clock = ManualClock::new();
    (Capacity::new(CapacityConfig::default(), clock.clone(), "r"), clock)
}

fn write(units: f64) -> Demand<'static> {
    Demand {
        operation: "PutItem",
        kind: CapacityKind::Write,
        units,
        keys: &[],
        indexes: &[],
        index: None,
    }
}

fn consumed_write(capacity: &Capacity) -> f64 {
    capacity.stats()[0].2.consumed_write
}

#[test]
fn settling_charges_the_real_cost_and_dropping_refunds() {
    let (capacity, _) = capacity();
    let meta = provisioned("t", 1);
    // 300 units of burst: an admission reserves its estimate.
    capacity.admit(&meta, &write(300.0)).unwrap().settle(1.0);
    assert_eq!(consumed_write(&capacity), 1.0);
    drop(capacity.admit(&meta, &write(299.0)).unwrap());
    assert_eq!(consumed_write(&capacity), 1.0, "a refund consumes nothing");
    capacity.admit(&meta, &write(299.0)).unwrap().settle_estimate();
    let error = capacity.admit(&meta, &write(1.0)).unwrap_err();
    assert_eq!(error.kind, ThrottleKind::ProvisionedExceeded);
    assert_eq!(
        error.reasons,
        [ThrottlingReason {
            reason: "TableWriteProvisionedThroughputExceeded".into(),
            resource: "arn:aws:dynamodb:r:000000000000:table/t".into(),
        }]
    );
    let stats = &capacity.stats()[0].2;
    assert_eq!(stats.write_throttle_events, 1);
    assert_eq!(stats.throttled_requests.get("PutItem"), Some(1));
}

#[test]
fn a_throughput_change_reconfigures_the_buckets_and_a_new_table_starts_afresh() {
    let (capacity, clock) = capacity();
    let mut meta = provisioned("t", 1);
    capacity.admit(&meta, &write(300.0)).unwrap().settle(300.0);
    assert!(capacity.admit(&meta, &write(1.0)).is_err());
    meta.billing = BillingMode::Provisioned { read: 1, write: 100 };
    assert!(
        capacity.admit(&meta, &write(1.0)).is_err(),
        "a new rate fills nothing at once"
    );
    clock.advance(Duration::from_millis(10));
    assert!(
        capacity.admit(&meta, &write(1.0)).is_ok(),
        "100 WCU refill a unit in 10 ms"
    );
    let recreated = TableMeta {
        storage_id: StorageId(2),
        ..provisioned("t", 1)
    };
    assert!(capacity.admit(&recreated, &write(300.0)).is_ok());
    assert_eq!(capacity.stats()[0].1.write, 1.0);
}

#[test]
fn an_exhausted_index_throttles_its_tables_writes() {
    let (capacity, _) = capacity();
    let meta = with_index(provisioned("t", 100), 1);
    let indexes = [("by-date", 300.0)];
    let demand = Demand {
        indexes: &indexes,
        ..write(1.0)
    };
    capacity.admit(&meta, &demand).unwrap().settle(1.0);
    let error = capacity.admit(&meta, &demand).unwrap_err();
    assert_eq!(error.kind, ThrottleKind::IndexProvisionedExceeded);
    assert_eq!(error.reasons[0].reason, "IndexWriteProvisionedThroughputExceeded");
    assert_eq!(
        error.reasons[0].resource,
        "arn:aws:dynamodb:r:000000000000:table/t/index/by-date"
    );
    assert!(
        capacity.admit(&meta, &write(1.0)).is_ok(),
        "writes not touching the index pass"
    );
}

#[test]
fn replicated_writes_are_charged_and_never_refused() {
    let (capacity, clock) = capacity();
    let meta = provisioned("t", 1);
    capacity.charge_replicated(&meta, 600.0, &[]);
    assert!(
        capacity.admit(&meta, &write(1.0)).is_err(),
        "local writes wait out the debt"
    );
    clock.advance(Duration::from_secs(301));
    assert!(capacity.admit(&meta, &write(1.0)).is_ok());
    let stats = &capacity.stats()[0].2;
    assert_eq!((stats.consumed_write, stats.replicated_write), (600.0, 600.0));
}

#[test]
fn disabled_capacity_admits_everything_and_meters_nothing() {
    let config = CapacityConfig {
        enabled: false,
        ..CapacityConfig::default()
    };
    let capacity = Capacity::new(config, ManualClock::new(), "r");
    let meta = provisioned("t", 1);
    for _ in 0..1000 {
        capacity.admit(&meta, &write(400.0)).unwrap().settle(400.0);
    }
    assert!(capacity.stats().is_empty());
}

/// `meta` with a global secondary index `by-date` provisioned at `units`.
fn with_index(mut meta: TableMeta, units: u64) -> TableMeta {
    meta.indexes.push(crate::model::SecondaryIndex {
        name: "by-date".into(),
        kind: crate::model::IndexKind::Global,
        key_schema: meta.key_schema.clone(),
        projection: crate::model::Projection::KeysOnly,
        throughput: Some((units, units)),
        storage_id: Default::default(),
        backfilling: false,
        item_count: 0,
        size_bytes: 0,
    });
    meta
}

fn read(units: f64, index: Option<&'static str>) -> Demand<'static> {
    Demand {
        operation: "Query",
        kind: CapacityKind::Read,
        index,
        ..write(units)
    }
}

#[test]
fn a_gsi_read_uses_the_indexs_read_capacity_not_the_tables() {
    let (capacity, _) = capacity();
    let meta = with_index(provisioned("t", 1), 100);
    // The table's 300 units of burst are spent by a table read...
    capacity.admit(&meta, &read(300.0, None)).unwrap().settle(300.0);
    // ...but reads of the index draw on its own 30,000.
    capacity
        .admit(&meta, &read(1000.0, Some("by-date")))
        .unwrap()
        .settle_read(1000.0, "Query", 3);
    let error = capacity.admit(&meta, &read(1.0, None)).unwrap_err();
    assert_eq!(error.reasons[0].reason, "TableReadProvisionedThroughputExceeded");
    // Spend the index's burst: then the index refuses, naming itself.
    capacity
        .admit(&meta, &read(29_000.0, Some("by-date")))
        .unwrap()
        .settle(29_000.0);
    let error = capacity.admit(&meta, &read(1.0, Some("by-date"))).unwrap_err();
    assert_eq!(error.kind, ThrottleKind::ProvisionedExceeded);
    assert_eq!(
        error.reasons,
        [ThrottlingReason {
            reason: "IndexReadProvisionedThroughputExceeded".into(),
            resource: "arn:aws:dynamodb:r:000000000000:table/t/index/by-date".into(),
        }]
    );
    // The table's counters leave the index's out, as CloudWatch's
    // TableName dimension does.
    let stats = &capacity.stats()[0].2;
    assert_eq!(stats.consumed_read, 300.0);
    assert_eq!(stats.returned_items.get("Query"), Some(3));
    assert_eq!(stats.read_throttle_events, 1);
    let (table, index, limits, stats) = &capacity.index_stats()[0];
    assert_eq!((table.as_str(), index.as_str(), limits.read), ("t", "by-date", 100.0));
    assert_eq!(stats.consumed_read, 30_000.0);
    assert_eq!(stats.read_throttle_events, 1);
}

#[test]
fn a_gsi_write_bucket_is_settled_at_what_the_write_put_there() {
    let (capacity, _) = capacity();
    // The index holds 300 units of burst.
    let meta = with_index(provisioned("t", 100), 1);
    let estimated = [("by-date", 100.0)];
    let demand = Demand {
        indexes: &estimated,
        ..write(1.0)
    };
    // Estimated at 100 units there, the write put 2: 298 are left.
    capacity
        .admit(&meta, &demand)
        .unwrap()
        .settle_write(1.0, &[("by-date", 2.0)]);
    // A refused condition puts nothing there; a dropped admission neither.
    capacity.admit(&meta, &demand).unwrap().settle_estimate();
    drop(capacity.admit(&meta, &demand).unwrap());
    let rest = [("by-date", 298.0)];
    let all = Demand {
        indexes: &rest,
        ..write(1.0)
    };
    capacity.admit(&meta, &all).unwrap().settle(1.0);
    let error = capacity.admit(&meta, &demand).unwrap_err();
    assert_eq!(error.kind, ThrottleKind::IndexProvisionedExceeded);
    let (_, _, _, stats) = &capacity.index_stats()[0];
    assert_eq!(stats.consumed_write, 300.0);
    assert_eq!(stats.write_throttle_events, 1);
    assert_eq!(capacity.stats()[0].2.write_throttle_events, 0);
}

#[test]
fn replicated_writes_charge_their_gsis_too() {
    let (capacity, clock) = capacity();
    let meta = with_index(provisioned("t", 100), 1);
    capacity.charge_replicated(&meta, 2.0, &[("by-date".into(), 400.0)]);
    let indexed = [("by-date", 1.0)];
    let demand = Demand {
        indexes: &indexed,
        ..write(1.0)
    };
    let error = capacity.admit(&meta, &demand).unwrap_err();
    assert_eq!(error.kind, ThrottleKind::IndexProvisionedExceeded);
    assert!(capacity.admit(&meta, &write(1.0)).is_ok(), "the table has room");
    clock.advance(Duration::from_secs(101));
    assert!(capacity.admit(&meta, &demand).is_ok(), "the index's debt is paid");
}

#[test]
fn on_demand_refusals_name_the_account_quota_or_the_tables_own_maximum() {
    let config = CapacityConfig {
        table_max_read_units: 10,
        ..CapacityConfig::default()
    };
    let capacity = Capacity::new(config, ManualClock::new(), "r");
    let mut meta = TableMeta::sample("t", 1);
    meta.billing = BillingMode::PayPerRequest;
    capacity.admit(&meta, &read(10.0, None)).unwrap().settle(10.0);
    let error = capacity.admit(&meta, &read(1.0, None)).unwrap_err();
    assert_eq!(error.kind, ThrottleKind::OnDemandExceeded);
    assert_eq!(error.reasons[0].reason, "TableReadAccountLimitExceeded");
    let limits = Limits::of(
        &BillingMode::PayPerRequest,
        OnDemandMax {
            read: Some(5),
            write: None,
        },
        &capacity.config,
    );
    assert_eq!(limits.limit_type(CapacityKind::Read), LimitType::MaxOnDemandThroughput);
    assert_eq!(limits.limit_type(CapacityKind::Write), LimitType::AccountLimit);
}
