//! Table settings recorded and described through the AWS SDK: TableClass,
//! WarmThroughput (table and GSIs), SSESpecification (KMS keys, per
//! replica) and CreateTable's ResourcePolicy. Each is set on creation,
//! described, updated and described again; invalid values get DynamoDB's
//! errors; the settings survive a restart, reach other replicas by
//! DynamoDB's rule, and a restore may override the encryption.

mod cluster;
mod common;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, CreateReplicationGroupMemberAction,
    GlobalSecondaryIndex, GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    ProvisionedThroughput, ReplicationGroupUpdate, ScalarAttributeType, SseSpecification, SseStatus, SseType,
    TableClass, TableDescription, TableStatus, UpdateGlobalSecondaryIndexAction, UpdateReplicationGroupMemberAction,
    WarmThroughput,
};
use common::{TestRegion, assert_error, wait_for};

/// The AWS managed key's ARN prefix in the test region.
const KEY_PREFIX: &str = "arn:aws:kms:us-east-1:000000000000:key/";

fn definition(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap()
}

fn hash(name: &str) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(KeyType::Hash)
        .build()
        .unwrap()
}

/// A CreateTable of on-demand table `name` keyed by `pk`.
fn new_table(client: &Client, name: &str) -> CreateTableFluentBuilder {
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(definition("pk"))
        .key_schema(hash("pk"))
        .billing_mode(BillingMode::PayPerRequest)
}

fn warm(read: Option<i64>, write: Option<i64>) -> WarmThroughput {
    WarmThroughput::builder()
        .set_read_units_per_second(read)
        .set_write_units_per_second(write)
        .build()
}

fn kms(key: Option<&str>) -> SseSpecification {
    SseSpecification::builder()
        .enabled(true)
        .sse_type(SseType::Kms)
        .set_kms_master_key_id(key.map(str::to_string))
        .build()
}

fn owned_key() -> SseSpecification {
    SseSpecification::builder().enabled(false).build()
}

async fn describe(client: &Client, table: &str) -> TableDescription {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
}

/// The table's warm throughput: read, write and status.
fn warm_of(table: &TableDescription) -> (i64, i64, String) {
    let warm = table.warm_throughput().expect("WarmThroughput");
    (
        warm.read_units_per_second().unwrap(),
        warm.write_units_per_second().unwrap(),
        warm.status().unwrap().as_str().to_string(),
    )
}

/// The table's SSEDescription: status, type and key ARN.
fn sse_of(table: &TableDescription) -> Option<(SseStatus, SseType, String)> {
    let sse = table.sse_description()?;
    Some((
        sse.status().unwrap().clone(),
        sse.sse_type().unwrap().clone(),
        sse.kms_master_key_arn().unwrap().to_string(),
    ))
}

fn class_of(table: &TableDescription) -> Option<(TableClass, bool)> {
    let summary = table.table_class_summary()?;
    Some((
        summary.table_class().unwrap().clone(),
        summary.last_update_date_time().is_some(),
    ))
}

#[track_caller]
fn validation<E, R>(error: &SdkError<E, R>, message: &str)
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    assert_error(error, "ValidationException", message);
}

#[tokio::test]
async fn table_class_is_recorded_described_and_updated() {
    let region = TestRegion::start_in_memory().await;
    let c = &region.client;
    let created = new_table(c, "infrequent")
        .table_class(TableClass::StandardInfrequentAccess)
        .send()
        .await
        .unwrap();
    let created = created.table_description().unwrap();
    assert_eq!(class_of(created), Some((TableClass::StandardInfrequentAccess, false)));
    assert_eq!(
        class_of(&describe(c, "infrequent").await),
        Some((TableClass::StandardInfrequentAccess, false))
    );

    // A table created without a class shows none (it is STANDARD).
    new_table(c, "plain").send().await.unwrap();
    assert_eq!(class_of(&describe(c, "plain").await), None);

    // UpdateTable changes the class, and stamps the change.
    let updated = c
        .update_table()
        .table_name("infrequent")
        .table_class(TableClass::Standard)
        .send()
        .await
        .unwrap();
    let updated = updated.table_description().unwrap();
    assert_eq!(class_of(updated), Some((TableClass::Standard, true)));
    let described = describe(c, "infrequent").await;
    assert_eq!(class_of(&described), Some((TableClass::Standard, true)));
    let stamp = described
        .table_class_summary()
        .unwrap()
        .last_update_date_time()
        .unwrap();
    assert!(stamp.secs() >= described.creation_date_time().unwrap().secs());

    let error = new_table(c, "bad")
        .table_class(TableClass::from("ARCHIVE"))
        .send()
        .await
        .unwrap_err();
    validation(
        &error,
        "1 validation error detected: Value 'ARCHIVE' at 'tableClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, STANDARD_INFREQUENT_ACCESS]",
    );
    let error = c
        .update_table()
        .table_name("plain")
        .table_class(TableClass::from("ARCHIVE"))
        .send()
        .await
        .unwrap_err();
    validation(
        &error,
        "1 validation error detected: Value 'ARCHIVE' at 'tableClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, STANDARD_INFREQUENT_ACCESS]",
    );
}

#[tokio::test]
async fn warm_throughput_starts_from_billing_rises_and_never_falls() {
    let region = TestRegion::start_in_memory().await;
    let c = &region.client;
    new_table(c, "on_demand").send().await.unwrap();
    assert_eq!(warm_of(&describe(c, "on_demand").await), (12000, 4000, "ACTIVE".into()));
    c.create_table()
        .table_name("prov")
        .attribute_definitions(definition("pk"))
        .key_schema(hash("pk"))
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(7)
                .build()
                .unwrap(),
        )
        .warm_throughput(warm(Some(5000), None))
        .send()
        .await
        .unwrap();
    assert_eq!(warm_of(&describe(c, "prov").await), (5000, 7, "ACTIVE".into()));

    let created = new_table(c, "warm")
        .warm_throughput(warm(Some(20000), None))
        .send()
        .await
        .unwrap();
    assert_eq!(
        warm_of(created.table_description().unwrap()),
        (20000, 4000, "ACTIVE".into())
    );

    let updated = c
        .update_table()
        .table_name("warm")
        .warm_throughput(warm(None, Some(9000)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        warm_of(updated.table_description().unwrap()),
        (20000, 9000, "UPDATING".into())
    );
    assert_eq!(warm_of(&describe(c, "warm").await), (20000, 9000, "ACTIVE".into()));

    let error = c
        .update_table()
        .table_name("warm")
        .warm_throughput(warm(Some(15000), None))
        .send()
        .await
        .unwrap_err();
    validation(
        &error,
        "One or more parameter values were invalid: WarmThroughput.ReadUnitsPerSecond cannot be decreased: it is 20000, requested 15000",
    );
    let error = new_table(c, "cold")
        .warm_throughput(warm(Some(1000), None))
        .send()
        .await
        .unwrap_err();
    validation(
        &error,
        "One or more parameter values were invalid: WarmThroughput.ReadUnitsPerSecond must be at least 12000, but was 1000",
    );
    let error = new_table(c, "cold")
        .warm_throughput(warm(None, Some(0)))
        .send()
        .await
        .unwrap_err();
    validation(
        &error,
        "1 validation error detected: Value '0' at 'warmThroughput.writeUnitsPerSecond' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    let error = c
        .update_table()
        .table_name("warm")
        .warm_throughput(warm(None, None))
        .send()
        .await
        .unwrap_err();
    validation(
        &error,
        "One or more parameter values were invalid: warmThroughput must specify ReadUnitsPerSecond, WriteUnitsPerSecond, or both",
    );

    // Switching to provisioned capacity keeps what the table sustained.
    c.update_table()
        .table_name("on_demand")
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(5)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(warm_of(&describe(c, "on_demand").await), (12000, 4000, "ACTIVE".into()));
}

fn gsi_warm(table: &TableDescription, index: &str) -> (i64, i64) {
    let index = table
        .global_secondary_indexes()
        .iter()
        .find(|i| i.index_name() == Some(index))
        .unwrap();
    let warm = index.warm_throughput().unwrap();
    (
        warm.read_units_per_second().unwrap(),
        warm.write_units_per_second().unwrap(),
    )
}

fn gsi_keys(name: &str, key: &str) -> (String, KeySchemaElement, Projection) {
    let projection = Projection::builder().projection_type(ProjectionType::KeysOnly).build();
    (name.to_string(), hash(key), projection)
}

#[tokio::test]
async fn a_gsi_warm_throughput_is_recorded_and_may_change_either_way() {
    let region = TestRegion::start_in_memory().await;
    let c = &region.client;
    let (name, key, projection) = gsi_keys("by_a", "a");
    let index = GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key)
        .projection(projection)
        .warm_throughput(warm(Some(30000), Some(10000)))
        .build()
        .unwrap();
    new_table(c, "indexed")
        .attribute_definitions(definition("a"))
        .global_secondary_indexes(index)
        .send()
        .await
        .unwrap();
    assert_eq!(gsi_warm(&describe(c, "indexed").await, "by_a"), (30000, 10000));

    let update = UpdateGlobalSecondaryIndexAction::builder()
        .index_name("by_a")
        .warm_throughput(warm(Some(15000), None))
        .build()
        .unwrap();
    c.update_table()
        .table_name("indexed")
        .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().update(update).build())
        .send()
        .await
        .unwrap();
    assert_eq!(gsi_warm(&describe(c, "indexed").await, "by_a"), (15000, 10000));

    // A GSI created by UpdateTable with its own warm throughput.
    let (name, key, projection) = gsi_keys("by_b", "b");
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name(name)
        .key_schema(key)
        .projection(projection)
        .warm_throughput(warm(None, Some(8000)))
        .build()
        .unwrap();
    c.update_table()
        .table_name("indexed")
        .attribute_definitions(definition("b"))
        .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
        .send()
        .await
        .unwrap();
    assert_eq!(gsi_warm(&describe(c, "indexed").await, "by_b"), (12000, 8000));

    let update = UpdateGlobalSecondaryIndexAction::builder()
        .index_name("nope")
        .warm_throughput(warm(Some(15000), None))
        .build()
        .unwrap();
    let error = c
        .update_table()
        .table_name("indexed")
        .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().update(update).build())
        .send()
        .await
        .unwrap_err();
    validation(
        &error,
        "One or more parameter values were invalid: Requested index not found: nope",
    );
}

#[tokio::test]
async fn encryption_settings_are_described_switched_and_checked() {
    let region = TestRegion::start_in_memory().await;
    let c = &region.client;
    // The AWS owned key (the default) shows no SSEDescription.
    new_table(c, "owned").send().await.unwrap();
    assert_eq!(sse_of(&describe(c, "owned").await), None);
    new_table(c, "owned2")
        .sse_specification(owned_key())
        .send()
        .await
        .unwrap();
    assert_eq!(sse_of(&describe(c, "owned2").await), None);

    // Enabled without a key: the AWS managed key, the same for every table.
    let created = new_table(c, "managed")
        .sse_specification(SseSpecification::builder().enabled(true).build())
        .send()
        .await
        .unwrap();
    let (status, sse_type, managed) = sse_of(created.table_description().unwrap()).unwrap();
    assert_eq!((status, sse_type), (SseStatus::Enabled, SseType::Kms));
    assert!(managed.starts_with(KEY_PREFIX), "{managed}");
    new_table(c, "managed2")
        .sse_specification(kms(None))
        .send()
        .await
        .unwrap();
    assert_eq!(sse_of(&describe(c, "managed2").await).unwrap().2, managed);
    new_table(c, "managed3")
        .sse_specification(kms(Some("alias/aws/dynamodb")))
        .send()
        .await
        .unwrap();
    assert_eq!(sse_of(&describe(c, "managed3").await).unwrap().2, managed);

    // A key id, alias name, or ARN given becomes an ARN.
    let key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    new_table(c, "by_id")
        .sse_specification(kms(Some(key_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sse_of(&describe(c, "by_id").await).unwrap().2,
        format!("{KEY_PREFIX}{key_id}")
    );
    new_table(c, "by_alias")
        .sse_specification(kms(Some("alias/orders")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sse_of(&describe(c, "by_alias").await).unwrap().2,
        "arn:aws:kms:us-east-1:000000000000:alias/orders"
    );

    // UpdateTable switches between the AWS owned key and KMS keys.
    let updated = c
        .update_table()
        .table_name("owned")
        .sse_specification(kms(Some(key_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sse_of(updated.table_description().unwrap()),
        Some((SseStatus::Enabled, SseType::Kms, format!("{KEY_PREFIX}{key_id}")))
    );
    c.update_table()
        .table_name("owned")
        .sse_specification(owned_key())
        .send()
        .await
        .unwrap();
    assert_eq!(sse_of(&describe(c, "owned").await), None);
    let error = c
        .update_table()
        .table_name("owned")
        .sse_specification(owned_key())
        .send()
        .await
        .unwrap_err();
    validation(&error, "Table is already encrypted by default");

    let aes = SseSpecification::builder()
        .enabled(true)
        .sse_type(SseType::Aes256)
        .build();
    let error = new_table(c, "aes").sse_specification(aes).send().await.unwrap_err();
    validation(
        &error,
        "One or more parameter values were invalid: SSEType AES256 is not supported",
    );
    let keyed = SseSpecification::builder()
        .enabled(true)
        .kms_master_key_id(key_id)
        .build();
    let error = new_table(c, "keyed").sse_specification(keyed).send().await.unwrap_err();
    validation(
        &error,
        "One or more parameter values were invalid: SSEType KMS is required if KMSMasterKeyId is specified",
    );
    let error = c.describe_table().table_name("aes").send().await.unwrap_err();
    assert_eq!(common::error_code(&error), "ResourceNotFoundException");
}

#[tokio::test]
async fn settings_survive_a_restart() {
    let region = TestRegion::start().await;
    let c = &region.client;
    new_table(c, "kept")
        .table_class(TableClass::StandardInfrequentAccess)
        .warm_throughput(warm(Some(40000), Some(9000)))
        .sse_specification(kms(Some("alias/kept")))
        .send()
        .await
        .unwrap();
    c.update_table()
        .table_name("kept")
        .table_class(TableClass::Standard)
        .send()
        .await
        .unwrap();
    let before = describe(c, "kept").await;
    let region = region.restart().await;
    let after = describe(&region.client, "kept").await;
    assert_eq!(after.table_class_summary(), before.table_class_summary());
    assert_eq!(class_of(&after), Some((TableClass::Standard, true)));
    assert_eq!(warm_of(&after), (40000, 9000, "ACTIVE".into()));
    assert_eq!(
        sse_of(&after).unwrap().2,
        "arn:aws:kms:us-east-1:000000000000:alias/kept"
    );
}

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"dynamodb:GetItem","Resource":"*"}]}"#;

#[tokio::test]
async fn create_table_attaches_its_resource_policy() {
    let region = TestRegion::start_in_memory().await;
    let c = &region.client;
    let created = new_table(c, "guarded").resource_policy(POLICY).send().await.unwrap();
    let arn = created.table_description().unwrap().table_arn().unwrap().to_string();
    let got = c.get_resource_policy().resource_arn(&arn).send().await.unwrap();
    assert_eq!(got.policy(), Some(POLICY));
    assert!(got.revision_id().is_some_and(|r| !r.is_empty()));

    let error = new_table(c, "refused").resource_policy("{}").send().await.unwrap_err();
    validation(&error, "Invalid policy document: the policy must have a Statement");
    let error = c.describe_table().table_name("refused").send().await.unwrap_err();
    assert_eq!(common::error_code(&error), "ResourceNotFoundException");
}

#[tokio::test]
async fn a_restore_keeps_or_overrides_the_encryption() {
    let region = TestRegion::start().await;
    let c = &region.client;
    new_table(c, "src")
        .sse_specification(kms(Some("alias/src")))
        .table_class(TableClass::StandardInfrequentAccess)
        .send()
        .await
        .unwrap();
    let arn = common::pitr::backed_up(c, "src", "nightly").await;

    let kept = c
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("kept")
        .send()
        .await
        .unwrap();
    let kept = kept.table_description().unwrap();
    assert_eq!(sse_of(kept).unwrap().2, "arn:aws:kms:us-east-1:000000000000:alias/src");
    assert_eq!(class_of(kept), Some((TableClass::StandardInfrequentAccess, false)));

    let owned = c
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("owned")
        .sse_specification_override(owned_key())
        .send()
        .await
        .unwrap();
    assert_eq!(sse_of(owned.table_description().unwrap()), None);

    let managed = c
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("managed")
        .sse_specification_override(kms(None))
        .send()
        .await
        .unwrap();
    let key = sse_of(managed.table_description().unwrap()).unwrap().2;
    assert!(key.starts_with(KEY_PREFIX), "{key}");
    for table in ["kept", "owned", "managed"] {
        wait_for("the restore to finish", || async move {
            let status = describe(c, table).await.table_status().cloned();
            (status == Some(TableStatus::Active)).then_some(())
        })
        .await;
    }
    assert_eq!(sse_of(&describe(c, "owned").await), None);
}

/// The entry of `region` in the table's Replicas: its KMS key and class.
fn replica_of(table: &TableDescription, region: &str) -> (Option<String>, Option<TableClass>) {
    let replica = table
        .replicas()
        .iter()
        .find(|r| r.region_name() == Some(region))
        .unwrap();
    (
        replica.kms_master_key_id().map(str::to_string),
        replica
            .replica_table_class_summary()
            .and_then(|s| s.table_class().cloned()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_has_its_own_class_and_key_and_shares_warm_throughput() {
    let cluster = cluster::Cluster::start(2, &[]).await;
    let (us, eu) = (cluster.client(0), cluster.client(1));
    new_table(&us, "global")
        .table_class(TableClass::StandardInfrequentAccess)
        .sse_specification(kms(Some("alias/us")))
        .send()
        .await
        .unwrap();
    // The new replica takes this region's class, and its own key.
    let create = CreateReplicationGroupMemberAction::builder()
        .region_name("eu-west-1")
        .kms_master_key_id("alias/eu")
        .build()
        .unwrap();
    us.update_table()
        .table_name("global")
        .replica_updates(ReplicationGroupUpdate::builder().create(create).build())
        .send()
        .await
        .unwrap();
    cluster::wait_replicas_active(&cluster, "global").await;
    let seen_in_us = describe(&us, "global").await;
    assert_eq!(
        replica_of(&seen_in_us, "eu-west-1"),
        (
            Some("arn:aws:kms:eu-west-1:000000000000:alias/eu".into()),
            Some(TableClass::StandardInfrequentAccess)
        )
    );
    let seen_in_eu = describe(&eu, "global").await;
    assert_eq!(
        class_of(&seen_in_eu),
        Some((TableClass::StandardInfrequentAccess, false))
    );
    assert_eq!(
        sse_of(&seen_in_eu).unwrap().2,
        "arn:aws:kms:eu-west-1:000000000000:alias/eu"
    );
    assert_eq!(
        replica_of(&seen_in_eu, "us-east-1"),
        (
            Some("arn:aws:kms:us-east-1:000000000000:alias/us".into()),
            Some(TableClass::StandardInfrequentAccess)
        )
    );

    // TableClassOverride changes only that replica; warm throughput is
    // the whole global table's.
    let update = UpdateReplicationGroupMemberAction::builder()
        .region_name("eu-west-1")
        .table_class_override(TableClass::Standard)
        .build()
        .unwrap();
    us.update_table()
        .table_name("global")
        .replica_updates(ReplicationGroupUpdate::builder().update(update).build())
        .warm_throughput(warm(Some(50000), None))
        .send()
        .await
        .unwrap();
    let seen_in_eu = cluster::eventually("the class change in eu-west-1", common::DEADLINE, || async {
        let table = eu.describe_table().table_name("global").send().await.ok()?.table?;
        (class_of(&table) == Some((TableClass::Standard, true))).then_some(table)
    })
    .await;
    assert_eq!(warm_of(&seen_in_eu), (50000, 4000, "ACTIVE".into()));
    let replica_warm = seen_in_eu.replicas()[0].warm_throughput().unwrap();
    assert_eq!(
        (
            replica_warm.read_units_per_second(),
            replica_warm.write_units_per_second()
        ),
        (Some(50000), Some(4000))
    );
    assert_eq!(
        class_of(&describe(&us, "global").await),
        Some((TableClass::StandardInfrequentAccess, false))
    );

    let update = UpdateReplicationGroupMemberAction::builder()
        .region_name("ap-southeast-2")
        .table_class_override(TableClass::Standard)
        .build()
        .unwrap();
    let error = us
        .update_table()
        .table_name("global")
        .replica_updates(ReplicationGroupUpdate::builder().update(update).build())
        .send()
        .await
        .unwrap_err();
    validation(
        &error,
        "Region ap-southeast-2 is not part of this cluster's topology; regions: [us-east-1, eu-west-1]",
    );
}

#[tokio::test]
async fn an_imported_table_takes_its_encryption() {
    use aws_sdk_dynamodb::types::{
        ImportStatus, InputCompressionType, InputFormat, S3BucketSource, TableCreationParameters,
    };
    let region = TestRegion::start().await;
    let c = &region.client;
    let root = region.data_root().join(common::REGION).join("exports").join("raw");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("rows.csv"), "pk\na\nb\n").unwrap();
    let parameters = TableCreationParameters::builder()
        .table_name("imported")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition("pk"))
        .key_schema(hash("pk"))
        .sse_specification(kms(Some("alias/imports")))
        .build()
        .unwrap();
    let started = c
        .import_table()
        .s3_bucket_source(
            S3BucketSource::builder()
                .s3_bucket("raw")
                .s3_key_prefix("rows")
                .build()
                .unwrap(),
        )
        .input_format(InputFormat::Csv)
        .input_compression_type(InputCompressionType::None)
        .table_creation_parameters(parameters)
        .send()
        .await
        .unwrap();
    let arn = started
        .import_table_description()
        .unwrap()
        .import_arn()
        .unwrap()
        .to_string();
    wait_for("the import to finish", || async {
        let described = c.describe_import().import_arn(&arn).send().await.ok()?;
        let status = described.import_table_description()?.import_status()?.clone();
        (status == ImportStatus::Completed).then_some(())
    })
    .await;
    assert_eq!(
        sse_of(&describe(c, "imported").await),
        Some((
            SseStatus::Enabled,
            SseType::Kms,
            "arn:aws:kms:us-east-1:000000000000:alias/imports".into()
        ))
    );
}
