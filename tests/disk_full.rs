//! Disk full (issue 33), on a small tmpfs the test mounts: writes are
//! refused with a 500 saying the disk is full while reads go on, `/status`
//! and `/metrics` show it, the region restarts on the full disk read-only,
//! `DeleteBackup` runs, `DeleteTable` frees space that later writes reuse,
//! and every
//! acknowledged write is there throughout. Needs root (to mount); skipped
//! with a printed reason otherwise.

mod cluster;
mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_dynamodb::types::{AttributeValue, BackupStatus, PutRequest, ScalarAttributeType, WriteRequest};
use cluster::http_get;
use common::{DEADLINE, Keys, TestRegion, create_table, item, s, wait_for};
use meridian::config::NodeConfig;
use meridian::store::space::DiskSpace;
use serde_json::{Value, json};

/// Size of the file system the region runs on.
const FS_BYTES: u64 = 96 << 20;
/// The region's reserve: below this many free bytes it is read-only.
const RESERVE: u64 = 12 << 20;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Mount {
    dir: tempfile::TempDir,
}

impl Mount {
    /// Mounts a tmpfs of `bytes`, or says why it cannot.
    fn tmpfs(bytes: u64) -> Result<Mount, String> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not running as root, cannot mount a small file system".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !status.success() {
            return Err(format!("mount -t tmpfs failed ({status})"));
        }
        Ok(Mount { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Free bytes on the file system holding `dir`.
fn available(dir: &Path) -> u64 {
    DiskSpace::new(dir, 0).available()
}

/// Fills the file system holding `dir` with a file until fewer than
/// `leave` bytes are free; returns the file.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    let chunk = vec![0x5a; 256 << 10];
    while available(dir) >= leave {
        file.write_all(&chunk).unwrap();
        file.sync_data().unwrap();
    }
    path
}

fn config() -> NodeConfig {
    let mut config = NodeConfig::default();
    config.storage.disk_reserve_bytes = RESERVE;
    // Short intervals keep the write-ahead log small on a small disk.
    config.storage.checkpoint_interval_ms = 100;
    config.storage.cache_bytes = 16 << 20;
    config
}

/// Writes items `from..to` of `table`, each with a `size`-byte payload,
/// 25 to a batch; returns their keys.
async fn load(region: &TestRegion, table: &str, from: usize, to: usize, size: usize) -> Vec<String> {
    let keys: Vec<String> = (from..to).map(|i| format!("k{i:06}")).collect();
    for chunk in keys.chunks(25) {
        let writes = chunk
            .iter()
            .map(|k| {
                let row = item([("pk", s(k.as_str())), ("v", s("x".repeat(size)))]);
                let put = PutRequest::builder().set_item(Some(row)).build().unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect::<Vec<_>>();
        let mut pending = HashMap::from([(table.to_string(), writes)]);
        while !pending.is_empty() {
            let out = region
                .client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .expect("a batch write on a disk with room");
            pending = out.unprocessed_items.unwrap_or_default();
        }
    }
    keys
}

/// Every one of `keys` is in `table` (a consistent scan).
async fn assert_all_present(region: &TestRegion, table: &str, keys: &[String]) {
    let items: Vec<HashMap<String, AttributeValue>> = region
        .client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("a scan on a full disk");
    let found: std::collections::BTreeSet<&str> = items.iter().map(|i| i["pk"].as_s().unwrap().as_str()).collect();
    for key in keys {
        assert!(
            found.contains(key.as_str()),
            "acknowledged write {key} of {table} is missing"
        );
    }
}

/// Puts into `keep` until one is refused: the region measures free space
/// after each write, so a write or two may still be accepted, on the
/// reserve, after the disk filled behind its back (each is added to
/// `kept`). Then checks the refusal as the wire has it.
async fn until_refused(region: &TestRegion, kept: &mut Vec<String>) {
    for attempt in 0..100 {
        let key = format!("probe{attempt}");
        let put = json!({"TableName": "keep", "Item": {"pk": {"S": key}, "v": {"S": "x"}}});
        let answer = region.raw_json("PutItem", put).await;
        if answer.status == 200 {
            kept.push(key);
            continue;
        }
        return assert_refusal(answer);
    }
    panic!("writes are still accepted on a full disk");
}

/// A PutItem answered with the disk-full error.
async fn assert_write_refused(region: &TestRegion) {
    let put = json!({"TableName": "keep", "Item": {"pk": {"S": "refused"}, "v": {"S": "x"}}});
    assert_refusal(region.raw_json("PutItem", put).await);
}

/// `answer` is DynamoDB's InternalServerError saying the disk is full.
fn assert_refusal(answer: common::RawResponse) {
    assert_eq!(answer.status, 500, "{}", answer.body);
    assert_eq!(
        answer.body["__type"], "com.amazonaws.dynamodb.v20120810#InternalServerError",
        "{}",
        answer.body
    );
    let message = answer.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("disk is full"), "{message}");
}

/// Backs `keep` up and waits until the backup is AVAILABLE; returns its ARN.
async fn backup_of_keep(region: &TestRegion) -> String {
    let created = region
        .client
        .create_backup()
        .table_name("keep")
        .backup_name("before-full")
        .send()
        .await;
    let arn = created.unwrap().backup_details().unwrap().backup_arn().to_string();
    wait_for("the backup to become AVAILABLE", || async {
        let described = region.client.describe_backup().backup_arn(&arn).send().await.ok()?;
        let status = described
            .backup_description()?
            .backup_details()?
            .backup_status()
            .clone();
        (status == BackupStatus::Available).then_some(())
    })
    .await;
    arn
}

/// The region's `/status` disk section.
async fn disk_status(region: &TestRegion) -> Value {
    let status: Value = serde_json::from_str(&http_get(region.addr, "/status").await).unwrap();
    status["disk"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_serves_reads_and_delete_table_frees_space() {
    let mount = match Mount::tmpfs(FS_BYTES) {
        Ok(mount) => mount,
        Err(reason) => {
            println!("skipped: {reason}");
            return;
        }
    };
    let dir = tempfile::tempdir_in(mount.path()).unwrap();
    let region = TestRegion::start_in_with(dir, config()).await;
    create_table(&region.client, "keep", Keys::Hash("pk", ScalarAttributeType::S)).await;
    create_table(&region.client, "big", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let mut kept = load(&region, "keep", 0, 200, 100).await;
    load(&region, "big", 0, 2_000, 8_000).await;
    assert_eq!(disk_status(&region).await["read_only"], false);
    let backup = backup_of_keep(&region).await;

    // Fill the disk below the reserve: writes are refused, reads served.
    fill(mount.path(), RESERVE / 2);
    until_refused(&region, &mut kept).await;
    assert_write_refused(&region).await;
    let sdk = region
        .client
        .put_item()
        .table_name("keep")
        .item("pk", s("sdk"))
        .send()
        .await;
    let code = sdk
        .as_ref()
        .err()
        .and_then(|e| e.as_service_error())
        .map(|e| e.meta().code());
    assert_eq!(code, Some(Some("InternalServerError")), "{sdk:?}");
    let got = region
        .client
        .get_item()
        .table_name("keep")
        .key("pk", s("k000007"))
        .send()
        .await;
    assert!(got.unwrap().item.is_some());
    assert_all_present(&region, "keep", &kept).await;
    let disk = disk_status(&region).await;
    assert_eq!(disk["read_only"], true, "{disk}");
    assert!(disk["available_bytes"].as_u64().unwrap() < RESERVE, "{disk}");
    let metrics = http_get(region.addr, "/metrics").await;
    assert!(
        metrics.lines().any(|l| l.starts_with("meridian_disk_read_only 1")),
        "{metrics}"
    );

    // A restart on the full disk comes up read-only with everything in it.
    let dir = region.shutdown().await;
    let region = TestRegion::start_in_with(dir, config()).await;
    assert_write_refused(&region).await;
    assert_all_present(&region, "keep", &kept).await;
    assert_eq!(disk_status(&region).await["read_only"], true);

    // DeleteBackup runs on the reserve too.
    let deleted = region.client.delete_backup().backup_arn(&backup).send().await;
    assert!(deleted.is_ok(), "DeleteBackup on a full disk: {deleted:?}");

    // DeleteTable runs on the reserve and frees the big table's space,
    // which writes then reuse.
    region
        .client
        .delete_table()
        .table_name("big")
        .send()
        .await
        .expect("DeleteTable on a full disk");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let put = region
            .client
            .put_item()
            .table_name("keep")
            .item("pk", s("after"))
            .send()
            .await;
        if put.is_ok() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "writes still refused after DeleteTable: {put:?}, {}",
            disk_status(&region).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    kept.push("after".into());
    kept.extend(load(&region, "keep", 200, 400, 1_000).await);
    assert_eq!(disk_status(&region).await["read_only"], false);
    let dir = region.shutdown().await;
    let region = TestRegion::start_in_with(dir, config()).await;
    assert_all_present(&region, "keep", &kept).await;
    region.shutdown().await;
    drop(mount);
}
