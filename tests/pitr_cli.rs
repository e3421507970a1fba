//! The operator commands: `meridian restore --table` against a running
//! region, and `meridian backup` / `meridian restore --from` of a stopped
//! region's data directory.

mod common;

use std::path::Path;

use aws_sdk_dynamodb::types::ScalarAttributeType;
use common::pitr::{active_items, enable_pitr, fill, mark, wait_restorable};
use common::{Keys, REGION, TestRegion, create_table};

/// Runs the `meridian` binary; returns (success, stdout + stderr).
async fn meridian(args: &[&str]) -> (bool, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(args)
        .output()
        .await
        .expect("run meridian");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn meridian_restore_restores_a_table_to_a_time() {
    let region = TestRegion::start().await;
    create_table(&region.client, "orders", Keys::Hash("pk", ScalarAttributeType::S)).await;
    enable_pitr(&region.client, "orders").await;
    let expected = fill(&region.client, "orders", 20, "good").await;
    let at = mark().await;
    fill(&region.client, "orders", 20, "mistake").await;
    wait_restorable(&region.client, "orders", at).await;

    let to = meridian::pitr::time::format_rfc3339(at * 1_000_000);
    let endpoint = region.addr.to_string();
    let args = [
        "restore",
        "--table",
        "orders",
        "--to",
        &to,
        "--as",
        "orders-fixed",
        "--endpoint",
        &endpoint,
    ];
    let (ok, output) = meridian(&args).await;
    assert!(ok, "{output}");
    assert!(output.contains("is ACTIVE with 20 items"), "{output}");
    assert_eq!(active_items(&region.client, "orders-fixed").await, expected);

    // Errors come back as DynamoDB's.
    let (ok, output) = meridian(&args).await;
    assert!(!ok);
    assert!(output.contains("TableAlreadyExistsException"), "{output}");
    let (ok, output) = meridian(&[
        "restore",
        "--table",
        "orders",
        "--to",
        "yesterday",
        "--as",
        "x-1",
        "--endpoint",
        &endpoint,
    ])
    .await;
    assert!(!ok);
    assert!(output.contains("RFC 3339"), "{output}");
    region.shutdown().await;
}

#[tokio::test]
async fn a_stopped_region_is_backed_up_and_restored_whole() {
    let region = TestRegion::start().await;
    create_table(&region.client, "items", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let expected = fill(&region.client, "items", 15, "saved").await;
    let incarnation = region.node().engine().incarnation();
    let backup_dir = tempfile::tempdir().unwrap();
    let backup = backup_dir.path().join("us-east-1-backup");
    let data = region.data_root().to_path_buf();
    let data_arg = data.to_str().unwrap();
    let backup_args = [
        "backup",
        "--region",
        REGION,
        "--data-dir",
        data_arg,
        "--to",
        backup.to_str().unwrap(),
    ];

    let (ok, output) = meridian(&backup_args).await;
    assert!(!ok, "a running region cannot be backed up");
    assert!(output.contains("still running"), "{output}");

    let dir = region.shutdown().await;
    let (ok, output) = meridian(&backup_args).await;
    assert!(ok, "{output}");
    assert!(Path::new(&backup).join("meridian.redb").exists());

    // The table is lost, then the region is put back from the backup.
    let region = TestRegion::start_in(dir).await;
    region.client.delete_table().table_name("items").send().await.unwrap();
    let dir = region.shutdown().await;
    let restore_args = [
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--region",
        REGION,
        "--data-dir",
        data_arg,
    ];
    let (ok, output) = meridian(&restore_args).await;
    assert!(!ok, "an existing data directory is not replaced without --force");
    assert!(output.contains("--force"), "{output}");
    let mut forced = restore_args.to_vec();
    forced.push("--force");
    let (ok, output) = meridian(&forced).await;
    assert!(ok, "{output}");

    let region = TestRegion::start_in(dir).await;
    assert_eq!(active_items(&region.client, "items").await, expected);
    // A new incarnation: peers must not take its next log entries for the
    // ones it wrote after the backup.
    assert_ne!(region.node().engine().incarnation(), incarnation);
    region.shutdown().await;
}
