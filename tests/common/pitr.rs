//! Helpers of the PITR, backup and export tests: a model of a table's
//! items, instants between writes, and waits for restores.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, BackupStatus, PointInTimeRecoverySpecification, TableStatus};

use super::wait_for;

/// A table's items, as the test models them: sort-able key text -> item.
pub type Model = BTreeMap<String, HashMap<String, AttributeValue>>;

pub fn key_text(item: &HashMap<String, AttributeValue>) -> String {
    format!("{:?}/{:?}", item.get("pk"), item.get("sk"))
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// An instant (ms) after every write acknowledged so far and before every
/// later one: the next whole millisecond, then wait for the clock to pass
/// it, so the next write is stamped strictly later.
pub async fn mark() -> u64 {
    let at = now_ms() + 1;
    wait_for(
        "the clock to pass the mark",
        || async move { (now_ms() > at).then_some(()) },
    )
    .await;
    at
}

pub async fn enable_pitr(client: &Client, table: &str) {
    set_pitr(client, table, true).await;
}

pub async fn set_pitr(client: &Client, table: &str, enabled: bool) {
    client
        .update_continuous_backups()
        .table_name(table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(enabled)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Waits until LatestRestorableDateTime has reached `at_ms`.
pub async fn wait_restorable(client: &Client, table: &str, at_ms: u64) {
    wait_for("the restore time to become restorable", || async move {
        let description = client
            .describe_continuous_backups()
            .table_name(table)
            .send()
            .await
            .ok()?;
        let pitr = description
            .continuous_backups_description()?
            .point_in_time_recovery_description()?;
        let latest = pitr.latest_restorable_date_time()?.to_millis().ok()? as u64;
        (latest >= at_ms).then_some(())
    })
    .await;
}

/// Waits until `table` is ACTIVE and returns its items.
pub async fn active_items(client: &Client, table: &str) -> Model {
    wait_for("the restored table to become ACTIVE", || async move {
        let table = client.describe_table().table_name(table).send().await.ok()?.table?;
        (table.table_status() == Some(&TableStatus::Active)).then_some(())
    })
    .await;
    scan(client, table).await
}

pub async fn scan(client: &Client, table: &str) -> Model {
    let mut out = Model::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            out.insert(key_text(item), item.clone());
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

/// Puts `count` items `k<i>` (with `n` = i and `v`) into `table`; returns them.
pub async fn fill(client: &Client, table: &str, count: usize, v: &str) -> Model {
    let mut model = Model::new();
    for i in 0..count {
        let row: HashMap<String, AttributeValue> = [
            ("pk".to_string(), AttributeValue::S(format!("k{i:03}"))),
            ("n".to_string(), AttributeValue::N(i.to_string())),
            ("v".to_string(), AttributeValue::S(v.to_string())),
        ]
        .into();
        client
            .put_item()
            .table_name(table)
            .set_item(Some(row.clone()))
            .send()
            .await
            .unwrap();
        model.insert(key_text(&row), row);
    }
    model
}

/// The ARN of a new backup `name` of `table`, once it is AVAILABLE.
pub async fn backed_up(client: &Client, table: &str, name: &str) -> String {
    let created = client
        .create_backup()
        .table_name(table)
        .backup_name(name)
        .send()
        .await
        .unwrap();
    let arn = created.backup_details().unwrap().backup_arn().to_string();
    wait_backup_available(client, &arn).await;
    arn
}

pub async fn wait_backup_available(client: &Client, arn: &str) {
    wait_for("the backup to become AVAILABLE", || async move {
        let description = client.describe_backup().backup_arn(arn).send().await.ok()?;
        let details = description.backup_description()?.backup_details()?;
        (details.backup_status() == &BackupStatus::Available).then_some(())
    })
    .await;
}
