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
    (Capacity::new(CapacityConfig::default(), clock.clone()), clock)
}

fn write(units: f64) -> Demand<'static> {
    Demand {
        operation: "PutItem",
        kind: CapacityKind::Write,
        units,
        keys: &[],
        indexes: &[],
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
    assert_eq!(
        capacity.admit(&meta, &write(1.0)).unwrap_err(),
        ThrottleError::ProvisionedExceeded
    );
    let stats = &capacity.stats()[0].2;
    assert_eq!(stats.write_throttle_events, 1);
    assert_eq!(stats.throttled_requests.get("PutItem"), Some(&1));
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
    let mut meta = provisioned("t", 100);
    meta.indexes.push(crate::model::SecondaryIndex {
        name: "by-date".into(),
        kind: crate::model::IndexKind::Global,
        key_schema: meta.key_schema.clone(),
        projection: crate::model::Projection::KeysOnly,
        throughput: Some((1, 1)),
        storage_id: Default::default(),
        backfilling: false,
        item_count: 0,
        size_bytes: 0,
    });
    let indexes = [("by-date", 300.0)];
    let demand = Demand {
        indexes: &indexes,
        ..write(1.0)
    };
    capacity.admit(&meta, &demand).unwrap().settle(1.0);
    assert_eq!(
        capacity.admit(&meta, &demand).unwrap_err(),
        ThrottleError::IndexProvisionedExceeded
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
    capacity.charge_replicated(&meta, 600.0);
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
    let capacity = Capacity::new(config, ManualClock::new());
    let meta = provisioned("t", 1);
    for _ in 0..1000 {
        capacity.admit(&meta, &write(400.0)).unwrap().settle(400.0);
    }
    assert!(capacity.stats().is_empty());
}
