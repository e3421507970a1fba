//! Global table management across regions (global tables version
//! 2019.11.21): a table change made in any replica, the removal of a replica
//! and the deletion of the table reach every region; tables the topology
//! declares are global from the start. Driven through the SDK.

mod cluster;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue as Av, BillingMode, DeleteReplicationGroupMemberAction, ProvisionedThroughput,
    ReplicationGroupUpdate,
};
use cluster::{Cluster, create_table, eventually, wait_replicas_active};
use meridian::config::{DeclaredTable, NodeConfig};
use meridian::model::ScalarType;

const CONVERGE: Duration = Duration::from_secs(60);

/// Waits until the region behind `client` no longer lists `table`.
async fn wait_until_gone(client: &Client, table: &str, what: &str) {
    eventually(what, CONVERGE, || async {
        let listed = client.list_tables().send().await.ok()?;
        (!listed.table_names().iter().any(|n| n == table)).then_some(())
    })
    .await;
}

/// The regions `client`'s region lists as the other replicas of `table`.
async fn replica_regions(client: &Client, table: &str) -> Option<Vec<String>> {
    let described = client.describe_table().table_name(table).send().await.ok()?;
    let replicas = described.table()?.replicas();
    let mut regions: Vec<String> = replicas
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    Some(regions)
}

/// Waits until region `i` has the item of key `key` in `table`.
async fn wait_for_item(cluster: &Cluster, i: usize, table: &str, key: &[(&str, Av)]) {
    let client = cluster.client(i);
    let key: HashMap<String, Av> = key
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect();
    eventually(&format!("{key:?} in region {i}"), CONVERGE, || {
        let (client, key) = (client.clone(), key.clone());
        async move {
            let got = client
                .get_item()
                .table_name(table)
                .set_key(Some(key))
                .send()
                .await
                .ok()?;
            got.item().map(|_| ())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_changes_replica_removal_and_deletion_reach_every_region() {
    let cluster = Cluster::start(3, &[]).await;
    let [us, eu, ap] = [0, 1, 2].map(|i| cluster.client(i));
    create_table(&cluster, 0, "orders").await;

    // A billing-mode change made in eu-west-1 reaches the other replicas.
    let throughput = ProvisionedThroughput::builder()
        .read_capacity_units(5)
        .write_capacity_units(7)
        .build()
        .unwrap();
    eu.update_table()
        .table_name("orders")
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(throughput)
        .send()
        .await
        .unwrap();
    for client in [&us, &ap] {
        eventually("the provisioned billing mode in every region", CONVERGE, || async {
            let described = client.describe_table().table_name("orders").send().await.ok()?;
            let table = described.table()?;
            let provisioned = table.billing_mode_summary()?.billing_mode() == Some(&BillingMode::Provisioned);
            let units = table.provisioned_throughput()?.write_capacity_units() == Some(7);
            (provisioned && units).then_some(())
        })
        .await;
    }

    // us-east-1 removes the ap-southeast-2 replica: ap-southeast-2 drops its
    // copy, and the two left list only each other.
    let remove = DeleteReplicationGroupMemberAction::builder()
        .region_name("ap-southeast-2")
        .build()
        .unwrap();
    us.update_table()
        .table_name("orders")
        .replica_updates(ReplicationGroupUpdate::builder().delete(remove).build())
        .send()
        .await
        .unwrap();
    wait_until_gone(&ap, "orders", "ap-southeast-2 to drop its replica").await;
    for (client, other) in [(&us, "eu-west-1"), (&eu, "us-east-1")] {
        eventually("the replica list without ap-southeast-2", CONVERGE, || async {
            (replica_regions(client, "orders").await? == [other]).then_some(())
        })
        .await;
    }

    // Writes go on between the two replicas left, and do not bring the
    // table back in ap-southeast-2.
    us.put_item()
        .table_name("orders")
        .item("pk", Av::S("after-removal".into()))
        .send()
        .await
        .unwrap();
    wait_for_item(&cluster, 1, "orders", &[("pk", Av::S("after-removal".into()))]).await;
    let missing = ap.describe_table().table_name("orders").send().await.unwrap_err();
    assert!(
        missing
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{missing:?}"
    );

    // Deleting the table in eu-west-1 deletes it in us-east-1 too.
    eu.delete_table().table_name("orders").send().await.unwrap();
    wait_until_gone(&us, "orders", "us-east-1 to delete the table").await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_declared_in_the_topology_are_global_from_the_start() {
    let declared = DeclaredTable {
        name: "declared".into(),
        hash_key: "pk".into(),
        hash_key_type: ScalarType::S,
        range_key: Some("sk".into()),
        range_key_type: ScalarType::N,
    };
    let mut cluster = Cluster::start_declaring(3, &[], 3, NodeConfig::default(), vec![declared]).await;
    wait_replicas_active(&cluster, "declared").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let described = cluster
            .client(i)
            .describe_table()
            .table_name("declared")
            .send()
            .await
            .unwrap();
        let table = described.table().unwrap();
        assert_eq!(table.key_schema().len(), 2);
        ids.push(table.table_id().unwrap().to_string());
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one table everywhere: {ids:?}");

    // A write in ap-southeast-2 reaches the others with no UpdateTable.
    let key = [("pk", Av::S("a".into())), ("sk", Av::N("1".into()))];
    cluster
        .client(2)
        .put_item()
        .table_name("declared")
        .item("pk", Av::S("a".into()))
        .item("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap();
    for i in [0, 1] {
        wait_for_item(&cluster, i, "declared", &key).await;
    }
    assert_eq!(cluster::converged(&cluster, "declared").await.len(), 1);

    // A restart finds the table there and leaves it, items and all.
    cluster.stop(1).await;
    cluster.restart(1).await;
    let described = cluster
        .client(1)
        .describe_table()
        .table_name("declared")
        .send()
        .await
        .unwrap();
    assert_eq!(described.table().unwrap().table_id(), Some(ids[0].as_str()));
    wait_for_item(&cluster, 1, "declared", &key).await;
    assert_eq!(cluster::converged(&cluster, "declared").await.len(), 1);
    cluster.shutdown().await;
}
