//! A replica marking itself ACTIVE at the end of its backfill must not
//! undo a change another region made to the table's description meanwhile:
//! the mark travels on the description's own version (`finish_backfill`,
//! `remote::merge_finished_backfills`). Two engines exchange their logs by
//! hand, in the order that lost an UpdateTimeToLive before.

use crate::clock::Hlc;
use crate::config::StorageConfig;
use crate::engine::table_update::{ReplicaUpdate, TableUpdate};
use crate::engine::{Engine, NewTable};
use crate::model::TableMeta;
use crate::model::table::ReplicaStatus;
use crate::model::table_features::TtlSpec;

fn open(dir: &std::path::Path, region: &str) -> Engine {
    let hlc = Hlc::new(0, std::time::Duration::from_secs(1));
    Engine::open(dir, region, hlc, &StorageConfig::default()).unwrap()
}

/// Applies every change `from` originated to `to`; returns how many
/// entries were shipped.
async fn ship(from: &Engine, to: &Engine) -> usize {
    let origin = crate::engine::remote::Origin::from(from.region());
    let applied = to.applied_position(origin.clone()).await.unwrap();
    let (changes, through) = from.own_changes(applied.next(), 1000).await.unwrap();
    let shipped = changes.len();
    to.apply_remote(origin, changes, through).await.unwrap();
    shipped
}

/// Ships both ways until neither region has anything new.
async fn settle(us: &Engine, eu: &Engine) {
    for _ in 0..10 {
        if ship(us, eu).await + ship(eu, us).await == 0 {
            return;
        }
    }
    panic!("the regions kept sending each other changes");
}

/// us-east-1 with table `t`, to which it has just added a replica in
/// eu-west-1 and shipped that change (so eu-west-1 is backfilling it): the
/// engines' directories, the two engines and the description after the add.
async fn replica_added() -> ([tempfile::TempDir; 2], Engine, Engine, TableMeta) {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (us, eu) = (open(dirs[0].path(), "us-east-1"), open(dirs[1].path(), "eu-west-1"));
    us.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
    let add = TableUpdate {
        replicas: vec![ReplicaUpdate::Create("eu-west-1".into())],
        ..Default::default()
    };
    let added = us.update_table("t".into(), add).await.unwrap();
    ship(&us, &eu).await;
    (dirs, us, eu, added)
}

fn statuses(meta: &TableMeta) -> Vec<(String, ReplicaStatus)> {
    meta.replicas.iter().map(|r| (r.region.clone(), r.status)).collect()
}

#[tokio::test]
async fn a_backfill_finishing_after_an_update_elsewhere_keeps_the_update() {
    let (_dirs, us, eu, _) = replica_added().await;
    assert_eq!(eu.tables_being_backfilled().await.unwrap(), ["t"]);

    // us-east-1 enables TTL; eu-west-1 finishes its backfill (later, by
    // the clock) before it hears of it.
    let ttl = TableUpdate {
        ttl: Some(TtlSpec {
            attribute: "expires".into(),
            enabled: true,
        }),
        ..Default::default()
    };
    us.update_table("t".into(), ttl).await.unwrap();
    eu.finish_backfill("t".into()).await.unwrap();
    settle(&us, &eu).await;

    let active = vec![
        ("us-east-1".to_string(), ReplicaStatus::Active),
        ("eu-west-1".to_string(), ReplicaStatus::Active),
    ];
    for engine in [&us, &eu] {
        let meta = engine.describe_table("t".into()).await.unwrap();
        let ttl = meta.ttl.as_deref().map(|t| (t.attribute.as_str(), t.enabled));
        assert_eq!(ttl, Some(("expires", true)), "TTL in {}", engine.region());
        assert_eq!(statuses(&meta), active, "replicas in {}", engine.region());
    }
    us.shutdown();
    eu.shutdown();
}

#[tokio::test]
async fn a_backfill_finishing_with_no_other_change_is_heard_everywhere() {
    let (_dirs, us, eu, before) = replica_added().await;
    eu.finish_backfill("t".into()).await.unwrap();
    settle(&us, &eu).await;
    for engine in [&us, &eu] {
        let meta = engine.describe_table("t".into()).await.unwrap();
        assert!(
            meta.replicas.iter().all(|r| r.status == ReplicaStatus::Active),
            "{}",
            engine.region()
        );
        // The mark is not a change of the description: its version stays.
        assert_eq!((meta.changed, &meta.changed_by), (before.changed, &before.changed_by));
    }
    us.shutdown();
    eu.shutdown();
}
