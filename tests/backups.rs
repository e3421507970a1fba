//! On-demand backups and exports through the AWS SDK: a backup restores
//! after its table was deleted, a table deleted with PITR on leaves a
//! system backup, unknown ARNs get DynamoDB's errors, and an
//! export's files read back to the table's state at the export time.

mod common;

use std::io::Read;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::{BackupStatus, BackupType, BackupTypeFilter, ExportStatus, ScalarAttributeType};
use common::pitr::{
    Model, active_items, backed_up, enable_pitr, fill, key_text, mark, scan, wait_backup_available, wait_restorable,
};
use common::{Keys, REGION, TestRegion, create_table, error_code, error_message, wait_for};

#[tokio::test]
async fn a_backup_restores_after_its_table_was_deleted() {
    let region = TestRegion::start().await;
    let client = &region.client;
    create_table(client, "src", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let expected = fill(client, "src", 30, "backed-up").await;
    let created = client
        .create_backup()
        .table_name("src")
        .backup_name("nightly")
        .send()
        .await
        .unwrap();
    let details = created.backup_details().unwrap();
    let arn = details.backup_arn().to_string();
    assert_eq!(details.backup_name(), "nightly");
    assert!(arn.starts_with(&format!("arn:aws:dynamodb:{REGION}:000000000000:table/src/backup/")));
    wait_backup_available(client, &arn).await;
    // Later writes are not in the backup.
    fill(client, "src", 5, "after").await;

    let listed = client.list_backups().table_name("src").send().await.unwrap();
    assert_eq!(listed.backup_summaries().len(), 1);
    assert_eq!(listed.backup_summaries()[0].backup_arn(), Some(arn.as_str()));
    let created_at = *listed.backup_summaries()[0].backup_creation_date_time().unwrap();

    // A second backup: pages of one, and a time range that excludes it.
    let second_arn = backed_up(client, "src", "weekly").await;
    let page = client.list_backups().limit(1).send().await.unwrap();
    assert_eq!(page.backup_summaries().len(), 1);
    let next = page.last_evaluated_backup_arn().unwrap().to_string();
    let rest = client
        .list_backups()
        .exclusive_start_backup_arn(next)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.backup_summaries().len(), 1);
    assert!(rest.last_evaluated_backup_arn().is_none());
    // Epoch seconds through an f64 may lose up to a millisecond.
    let upper = DateTime::from_millis(created_at.to_millis().unwrap() + 2);
    let early = client
        .list_backups()
        .time_range_upper_bound(upper)
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = early.backup_summaries().iter().filter_map(|b| b.backup_arn()).collect();
    assert_eq!(arns, [arn.as_str()]);
    client.delete_backup().backup_arn(&second_arn).send().await.unwrap();
    let description = client.describe_backup().backup_arn(&arn).send().await.unwrap();
    let source = description
        .backup_description()
        .unwrap()
        .source_table_details()
        .unwrap();
    assert_eq!(source.table_name(), "src");
    assert_eq!(source.item_count(), Some(30));

    client.delete_table().table_name("src").send().await.unwrap();
    let restored = client
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("src")
        .send()
        .await
        .unwrap();
    let summary = restored.table_description().unwrap().restore_summary().unwrap();
    assert_eq!(summary.source_backup_arn(), Some(arn.as_str()));
    assert_eq!(active_items(client, "src").await, expected);

    // The target must not exist.
    let error = client
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("src")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "TableAlreadyExistsException");

    // Backups survive restarts; deleting one makes its ARN unknown.
    let region = region.restart().await;
    let client = &region.client;
    let deleted = client.delete_backup().backup_arn(&arn).send().await.unwrap();
    let status = deleted
        .backup_description()
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_status();
    assert_eq!(status, &BackupStatus::Deleted);
    assert!(
        client
            .list_backups()
            .send()
            .await
            .unwrap()
            .backup_summaries()
            .is_empty()
    );
    let error = client.describe_backup().backup_arn(&arn).send().await.unwrap_err();
    assert_eq!(error_code(&error), "BackupNotFoundException");
    region.shutdown().await;
}

/// The backups ListBackups lists of `kind` ("USER", "SYSTEM", "ALL"; `None`
/// lists DynamoDB's default): (name, type, creation and expiry seconds).
async fn listed_backups(client: &Client, kind: Option<&str>) -> Vec<(String, String, i64, Option<i64>)> {
    let list = client.list_backups().set_backup_type(kind.map(BackupTypeFilter::from));
    let out = list.send().await.unwrap();
    out.backup_summaries()
        .iter()
        .map(|b| {
            (
                b.backup_name().unwrap().to_string(),
                b.backup_type().unwrap().as_str().to_string(),
                b.backup_creation_date_time().unwrap().secs(),
                b.backup_expiry_date_time().map(DateTime::secs),
            )
        })
        .collect()
}

#[tokio::test]
async fn deleting_a_table_with_pitr_leaves_a_system_backup_for_35_days() {
    let region = TestRegion::start().await;
    let client = &region.client;
    create_table(client, "accounts", Keys::Hash("pk", ScalarAttributeType::S)).await;
    enable_pitr(client, "accounts").await;
    let mut expected = fill(client, "accounts", 20, "first").await;
    expected.extend(fill(client, "accounts", 5, "second").await);
    create_table(client, "scratch", Keys::Hash("pk", ScalarAttributeType::S)).await;
    fill(client, "scratch", 3, "x").await;
    client.delete_table().table_name("accounts").send().await.unwrap();
    client.delete_table().table_name("scratch").send().await.unwrap();

    // Only the table with PITR on left one; ListBackups shows it when asked
    // for SYSTEM (or ALL) backups, expiring 35 days after the deletion.
    assert!(listed_backups(client, None).await.is_empty(), "USER backups by default");
    let system = listed_backups(client, Some("SYSTEM")).await;
    assert_eq!(system.len(), 1, "{system:?}");
    let (name, kind, created, expires) = system[0].clone();
    assert_eq!(
        (name.as_str(), kind.as_str()),
        ("accounts$DeletedTableBackup", "SYSTEM")
    );
    assert_eq!(expires, Some(created + 35 * 86_400));
    assert_eq!(listed_backups(client, Some("ALL")).await, system);
    assert!(listed_backups(client, Some("USER")).await.is_empty());
    let arn = client
        .list_backups()
        .backup_type(BackupTypeFilter::System)
        .send()
        .await
        .unwrap()
        .backup_summaries()[0]
        .backup_arn()
        .unwrap()
        .to_string();
    let description = client.describe_backup().backup_arn(&arn).send().await.unwrap();
    let description = description.backup_description().unwrap();
    let details = description.backup_details().unwrap();
    assert_eq!(details.backup_type(), &BackupType::System);
    assert_eq!(details.backup_status(), &BackupStatus::Available);
    assert!(details.backup_expiry_date_time().is_some());
    assert_eq!(description.source_table_details().unwrap().item_count(), Some(20));

    // It restores the table as it was just before the deletion, also after
    // a restart.
    let region = region.restart().await;
    let client = &region.client;
    client
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("accounts")
        .send()
        .await
        .unwrap();
    assert_eq!(active_items(client, "accounts").await, expected);

    // Deleting it deletes the history it kept.
    let deleted = client.delete_backup().backup_arn(&arn).send().await.unwrap();
    let details = deleted.backup_description().unwrap().backup_details().unwrap();
    assert_eq!(details.backup_status(), &BackupStatus::Deleted);
    let error = client.describe_backup().backup_arn(&arn).send().await.unwrap_err();
    assert_eq!(error_code(&error), "BackupNotFoundException");

    // Another one expires 35 days after its table's deletion.
    enable_pitr(client, "accounts").await;
    client.delete_table().table_name("accounts").send().await.unwrap();
    let system = listed_backups(client, Some("SYSTEM")).await;
    let expires_ns = |seconds: i64| u64::try_from(seconds).unwrap() * 1_000_000_000;
    let expiry = expires_ns(system[0].3.unwrap());
    let engine = region.node().engine();
    assert_eq!(engine.expire_system_backups(expiry - 2_000_000_000).await.unwrap(), 0);
    assert_eq!(engine.expire_system_backups(expiry + 1_000_000_000).await.unwrap(), 1);
    assert!(listed_backups(client, Some("ALL")).await.is_empty());
    region.shutdown().await;
}

#[tokio::test]
async fn unknown_backups_and_tables_get_dynamodb_errors_and_change_nothing() {
    let region = TestRegion::start().await;
    let client = &region.client;
    let unknown = format!("arn:aws:dynamodb:{REGION}:000000000000:table/src/backup/01700000000000-deadbeef");
    let error = client.describe_backup().backup_arn(&unknown).send().await.unwrap_err();
    assert_eq!(error_code(&error), "BackupNotFoundException");
    let error = client.delete_backup().backup_arn(&unknown).send().await.unwrap_err();
    assert_eq!(error_code(&error), "BackupNotFoundException");
    let error = client
        .restore_table_from_backup()
        .backup_arn(&unknown)
        .target_table_name("target")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "BackupNotFoundException");
    for (name, expected) in [("backup1", "TableNotFoundException"), ("b", "ValidationException")] {
        let error = client
            .create_backup()
            .table_name("nope")
            .backup_name(name)
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_code(&error), expected, "backup name {name}");
    }
    assert!(client.list_tables().send().await.unwrap().table_names().is_empty());
    assert!(
        client
            .list_backups()
            .send()
            .await
            .unwrap()
            .backup_summaries()
            .is_empty()
    );
    region.shutdown().await;
}

/// Every item of an export's data files, read back as a model.
fn read_export(dir: &std::path::Path, bucket: &str, manifest_key: &str) -> Model {
    let base = dir
        .join(bucket)
        .join(manifest_key.trim_end_matches("manifest-summary.json"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(base.join("manifest-summary.json")).unwrap()).unwrap();
    assert_eq!(summary["outputFormat"], "DYNAMODB_JSON");
    assert!(base.join("_started").exists());
    let manifest = std::fs::read_to_string(base.join("manifest-files.json")).unwrap();
    let mut model = Model::new();
    let mut counted = 0;
    for line in manifest.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = dir.join(bucket).join(entry["dataFileS3Key"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(entry["etag"], format!("{:x}", md5::compute(&bytes)));
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .unwrap();
        for line in text.lines() {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let item = common::av_map(&row["Item"]);
            model.insert(key_text(&item), item);
            counted += 1;
        }
        assert_eq!(entry["itemCount"].as_u64(), Some(counted));
        counted = 0;
    }
    assert_eq!(summary["itemCount"].as_u64(), Some(model.len() as u64));
    model
}

#[tokio::test]
async fn an_export_reads_back_as_the_table_at_the_export_time() {
    let region = TestRegion::start().await;
    let client = &region.client;
    create_table(client, "src", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let table_arn = format!("arn:aws:dynamodb:{REGION}:000000000000:table/src");
    let error = client
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "PointInTimeRecoveryUnavailableException");

    enable_pitr(client, "src").await;
    let expected = fill(client, "src", 40, "exported").await;
    let at = mark().await;
    fill(client, "src", 10, "too-late").await;
    wait_restorable(client, "src", at).await;
    let started = client
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("bucket")
        .s3_prefix("nightly/src")
        .export_time(DateTime::from_millis(at as i64))
        .send()
        .await
        .unwrap();
    let arn = started.export_description().unwrap().export_arn().unwrap().to_string();
    let manifest = wait_for("the export to complete", || {
        let arn = arn.clone();
        async move {
            let description = client.describe_export().export_arn(arn).send().await.ok()?;
            let export = description.export_description()?;
            assert_ne!(export.export_status(), Some(&ExportStatus::Failed));
            (export.export_status() == Some(&ExportStatus::Completed))
                .then(|| export.export_manifest().unwrap().to_string())
        }
    })
    .await;
    assert!(manifest.starts_with("nightly/src/AWSDynamoDB/"));
    let exports_dir = region.data_root().join(REGION).join("exports");
    assert_eq!(read_export(&exports_dir, "bucket", &manifest), expected);
    assert_ne!(
        scan(client, "src").await,
        expected,
        "the table moved on after the export time"
    );

    let listed = client.list_exports().table_arn(&table_arn).send().await.unwrap();
    assert_eq!(listed.export_summaries().len(), 1);
    let error = client
        .describe_export()
        .export_arn(format!("{table_arn}/export/01700000000000-deadbeef"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "ExportNotFoundException");
    let error = client
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("bucket")
        .export_time(DateTime::from_millis(at as i64 + 3_600_000))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "InvalidExportTimeException");
    let error = client
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("..")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "ValidationException");
    region.shutdown().await;
}

#[tokio::test]
async fn a_region_in_memory_keeps_its_backups_in_memory_and_refuses_exports() {
    // `shutdown` checks that the region's data directory stayed empty.
    let region = TestRegion::start_in_memory().await;
    let client = &region.client;
    create_table(client, "src", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let expected = fill(client, "src", 30, "backed-up").await;
    let arn = backed_up(client, "src", "in-memory").await;
    let description = client.describe_backup().backup_arn(&arn).send().await.unwrap();
    let details = description.backup_description().unwrap().backup_details().unwrap();
    assert!(details.backup_size_bytes().unwrap() > 0);

    client.delete_table().table_name("src").send().await.unwrap();
    client
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("src")
        .send()
        .await
        .unwrap();
    assert_eq!(active_items(client, "src").await, expected);
    client.delete_backup().backup_arn(&arn).send().await.unwrap();
    let error = client
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("again")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "BackupNotFoundException");

    // An export writes files: refused, and no record of it is kept.
    enable_pitr(client, "src").await;
    let table_arn = format!("arn:aws:dynamodb:{REGION}:000000000000:table/src");
    let error = client
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), "ValidationException");
    assert_eq!(
        error_message(&error),
        "This region keeps its data in memory (--in-memory) and writes no files: set pitr.export_root in its \
         config to export tables to that directory"
    );
    assert!(
        client
            .list_exports()
            .send()
            .await
            .unwrap()
            .export_summaries()
            .is_empty()
    );
    region.shutdown().await;
}
