//! Secondary indexes on a global table, three regions: a GSI created in one
//! region appears (and is backfilled) in every replica, each region
//! maintains its indexes from the items it holds, local and replicated, so
//! GSI queries in every region converge after concurrent writes; a GSI
//! deleted in one region is deleted everywhere.

mod cluster;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use cluster::{Cluster, create_table, eventually};

const CONVERGE: Duration = Duration::from_secs(60);

/// The table keys (`pk`) of the GSI `byG` partition `g`, in index order,
/// or `None` while the index cannot be read there.
async fn gsi_keys(client: &Client, g: &str) -> Option<Vec<String>> {
    let out = client
        .query()
        .table_name("orders")
        .index_name("byG")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", Av::S(g.into()))
        .send()
        .await
        .ok()?;
    Some(out.items().iter().map(|i| i["pk"].as_s().unwrap().clone()).collect())
}

async fn index_status(client: &Client) -> Option<String> {
    let out = client.describe_table().table_name("orders").send().await.ok()?;
    let index = out.table()?.global_secondary_indexes().first()?.clone();
    index.index_status().map(|s| s.as_str().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gsi_created_in_one_region_serves_queries_in_every_region() {
    let cluster = Cluster::start(3, &[]).await;
    let clients: Vec<Client> = (0..3).map(|i| cluster.client(i)).collect();
    create_table(&cluster, 0, "orders").await;
    for i in 0..40 {
        clients[i % 3]
            .put_item()
            .table_name("orders")
            .item("pk", Av::S(format!("before{i:02}")))
            .item("g", Av::S(format!("g{}", i % 2)))
            .send()
            .await
            .unwrap();
    }

    // The GSI is created in eu-west-1 (region 1).
    clients[1]
        .update_table()
        .table_name("orders")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("g")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(
                    CreateGlobalSecondaryIndexAction::builder()
                        .index_name("byG")
                        .key_schema(
                            KeySchemaElement::builder()
                                .attribute_name("g")
                                .key_type(KeyType::Hash)
                                .build()
                                .unwrap(),
                        )
                        .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create the GSI in eu-west-1");

    // Concurrent writes in every region, some moving items between index
    // partitions, then every region's index holds the same entries.
    for i in 0..30 {
        let client = &clients[i % 3];
        client
            .put_item()
            .table_name("orders")
            .item("pk", Av::S(format!("after{i:02}")))
            .item("g", Av::S(format!("g{}", i % 2)))
            .send()
            .await
            .unwrap();
        client
            .update_item()
            .table_name("orders")
            .key("pk", Av::S(format!("before{i:02}")))
            .update_expression("SET g = :g")
            .expression_attribute_values(":g", Av::S("moved".into()))
            .send()
            .await
            .unwrap();
    }
    let mut expected_g0: Vec<String> = (30..40)
        .filter(|i| i % 2 == 0)
        .map(|i| format!("before{i:02}"))
        .chain((0..30).filter(|i| i % 2 == 0).map(|i| format!("after{i:02}")))
        .collect();
    expected_g0.sort();
    let mut expected_moved: Vec<String> = (0..30).map(|i| format!("before{i:02}")).collect();
    expected_moved.sort();
    for (i, client) in clients.iter().enumerate() {
        eventually(&format!("byG ACTIVE in region {i}"), CONVERGE, || async {
            (index_status(client).await? == "ACTIVE").then_some(())
        })
        .await;
        eventually(&format!("byG converged in region {i}"), CONVERGE, || async {
            let mut g0 = gsi_keys(client, "g0").await?;
            let mut moved = gsi_keys(client, "moved").await?;
            g0.sort();
            moved.sort();
            (g0 == expected_g0 && moved == expected_moved).then_some(())
        })
        .await;
    }

    // Deleted in ap-southeast-1 (region 2): gone everywhere.
    clients[2]
        .update_table()
        .table_name("orders")
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name("byG")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("delete the GSI");
    for (i, client) in clients.iter().enumerate() {
        eventually(&format!("byG gone in region {i}"), CONVERGE, || async {
            let out = client.describe_table().table_name("orders").send().await.ok()?;
            out.table()?.global_secondary_indexes().is_empty().then_some(())
        })
        .await;
    }
    cluster.shutdown().await;
}
