//! Global table management across regions (global tables version
//! 2019.11.21): a table change made in any replica, the removal of a replica
//! and the deletion of the table reach every region, driven through the SDK.

mod cluster;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue as Av, BillingMode, DeleteReplicationGroupMemberAction, ProvisionedThroughput,
    ReplicationGroupUpdate,
};
use cluster::{Cluster, create_table, eventually};

const CONVERGE: Duration = Duration::from_secs(60);

/// The tables the region behind `client` lists.
async fn table_names(client: &Client) -> Option<Vec<String>> {
    let listed = client.list_tables().send().await.ok()?;
    Some(listed.table_names().to_vec())
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

/// Waits until region `i` has item `pk` in `table`.
async fn wait_for_item(cluster: &Cluster, i: usize, table: &str, pk: &str) {
    let client = cluster.client(i);
    eventually(&format!("{pk} in region {i}"), CONVERGE, || {
        let client = client.clone();
        async move {
            let got = client
                .get_item()
                .table_name(table)
                .key("pk", Av::S(pk.into()))
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
    eventually("ap-southeast-2 to drop its replica", CONVERGE, || async {
        let names = table_names(&ap).await?;
        (!names.iter().any(|n| n == "orders")).then_some(())
    })
    .await;
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
    wait_for_item(&cluster, 1, "orders", "after-removal").await;
    let missing = ap.describe_table().table_name("orders").send().await.unwrap_err();
    assert!(
        missing
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{missing:?}"
    );

    // Deleting the table in eu-west-1 deletes it in us-east-1 too.
    eu.delete_table().table_name("orders").send().await.unwrap();
    eventually("us-east-1 to delete the table", CONVERGE, || async {
        let names = table_names(&us).await?;
        (!names.iter().any(|n| n == "orders")).then_some(())
    })
    .await;
    cluster.shutdown().await;
}
