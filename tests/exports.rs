//! Exports in Amazon Ion and incremental exports through the AWS SDK: an
//! Ion export imports back equal to its table, an incremental export holds
//! each item changed in its window once (its last change, with the images
//! its view type asks for), and bad windows get DynamoDB's errors.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ExportDescription, ExportFormat, ExportStatus, ExportType,
    ExportViewType, ImportStatus, IncrementalExportSpecification, InputCompressionType, InputFormat, KeySchemaElement,
    KeyType, S3BucketSource, ScalarAttributeType, TableCreationParameters,
};
use common::pitr::{enable_pitr, mark, scan, wait_restorable};
use common::{Keys, REGION, TestRegion, assert_error, create_table, item, n, s, wait_for};
use meridian::pitr::time::format_rfc3339;
use serde_json::{Value, json};

const TABLE_ARN: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/src";
const MINUTE_MS: u64 = 60_000;

/// A time the server sent, in ms: epoch seconds on the wire, which the SDK
/// reads back to within a microsecond (`to_millis` would truncate).
fn millis(time: &DateTime) -> u64 {
    (time.as_secs_f64() * 1000.0).round() as u64
}

/// Waits until the export `arn` is COMPLETED; answers its description.
async fn completed(client: &Client, arn: &str) -> ExportDescription {
    wait_for("the export to complete", || async move {
        let description = client.describe_export().export_arn(arn).send().await.ok()?;
        let export = description.export_description()?.clone();
        assert_ne!(export.export_status(), Some(&ExportStatus::Failed), "{export:?}");
        (export.export_status() == Some(&ExportStatus::Completed)).then_some(export)
    })
    .await
}

/// The files of an export under the bucket directory `bucket`: its summary
/// manifest, and per data file its key and its lines (after checking the
/// files manifest's counts and etags).
fn read_export(bucket: &Path, manifest_key: &str) -> (Value, Vec<(String, Vec<String>)>) {
    let base = bucket.join(manifest_key.trim_end_matches("manifest-summary.json"));
    let summary: Value = serde_json::from_slice(&std::fs::read(base.join("manifest-summary.json")).unwrap()).unwrap();
    assert!(base.join("_started").exists());
    let manifest = std::fs::read_to_string(base.join("manifest-files.json")).unwrap();
    let checksum = std::fs::read_to_string(base.join("manifest-files.checksum")).unwrap();
    assert_eq!(checksum, format!("{:x}", md5::compute(manifest.as_bytes())));
    let mut files = Vec::new();
    for line in manifest.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        let key = entry["dataFileS3Key"].as_str().unwrap().to_string();
        let bytes = std::fs::read(bucket.join(&key)).unwrap();
        assert_eq!(entry["etag"], format!("{:x}", md5::compute(&bytes)));
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .unwrap();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        assert_eq!(entry["itemCount"].as_u64(), Some(lines.len() as u64));
        files.push((key, lines));
    }
    let rows: usize = files.iter().map(|(_, lines)| lines.len()).sum();
    assert_eq!(summary["itemCount"].as_u64(), Some(rows as u64));
    (summary, files)
}

/// PutItem of `row` into table `src`.
async fn put_src(client: &Client, row: HashMap<String, AttributeValue>) {
    let put = client.put_item().table_name("src").set_item(Some(row));
    put.send().await.unwrap();
}

#[tokio::test]
async fn an_ion_export_imports_back_equal_to_its_table() {
    let region = TestRegion::start().await;
    let client = &region.client;
    create_table(client, "src", Keys::Hash("pk", ScalarAttributeType::S)).await;
    enable_pitr(client, "src").await;
    let every_type = item([
        ("pk", s("every-type")),
        ("s", s("quote \" and \\ and \u{e9}\n")),
        ("n", n("-12500")),
        ("tiny", n("0.000001")),
        ("b", aws_sdk_dynamodb::types::AttributeValue::B(vec![255, 0].into())),
        ("t", aws_sdk_dynamodb::types::AttributeValue::Bool(false)),
        ("z", aws_sdk_dynamodb::types::AttributeValue::Null(true)),
        (
            "ss",
            aws_sdk_dynamodb::types::AttributeValue::Ss(vec!["a".into(), "b".into()]),
        ),
        (
            "ns",
            aws_sdk_dynamodb::types::AttributeValue::Ns(vec!["1.5".into(), "20".into()]),
        ),
        ("bs", aws_sdk_dynamodb::types::AttributeValue::Bs(vec![vec![1].into()])),
        (
            "m",
            aws_sdk_dynamodb::types::AttributeValue::M(item([(
                "l",
                aws_sdk_dynamodb::types::AttributeValue::L(vec![n(1), s("x")]),
            )])),
        ),
    ]);
    for row in [every_type, item([("pk", s("plain")), ("v", n(600))])] {
        put_src(client, row).await;
    }
    let expected = scan(client, "src").await;
    let at = mark().await;
    put_src(client, item([("pk", s("too-late"))])).await;
    wait_restorable(client, "src", at).await;
    let started = client
        .export_table_to_point_in_time()
        .table_arn(TABLE_ARN)
        .s3_bucket("bucket")
        .s3_prefix("ion")
        .export_format(ExportFormat::Ion)
        .export_time(DateTime::from_millis(at as i64))
        .send()
        .await
        .unwrap();
    let arn = started.export_description().unwrap().export_arn().unwrap().to_string();
    let export = completed(client, &arn).await;
    assert_eq!(export.export_format(), Some(&ExportFormat::Ion));
    assert_eq!(export.export_type(), Some(&ExportType::FullExport));
    assert_eq!(export.item_count(), Some(2));
    let manifest = export.export_manifest().unwrap();
    let bucket = region.data_root().join(REGION).join("exports").join("bucket");
    let (summary, files) = read_export(&bucket, manifest);
    assert_eq!(summary["outputFormat"], "ION");
    assert_eq!(summary["exportType"], "FULL_EXPORT");
    let prefix = manifest.trim_end_matches("manifest-summary.json");
    for (key, lines) in &files {
        assert!(
            key.starts_with(&format!("{prefix}data/")) && key.ends_with(".ion.gz"),
            "{key}"
        );
        for line in lines {
            assert!(line.starts_with("$ion_1_0 {Item:{"), "{line}");
        }
    }
    let plain = files
        .iter()
        .flat_map(|(_, lines)| lines)
        .find(|l| l.contains("\"plain\""));
    assert_eq!(
        plain.map(String::as_str),
        Some(r#"$ion_1_0 {Item:{"pk":"plain","v":600.}}"#)
    );

    // DynamoDB's ImportTable takes the export's folder as its source.
    let key_schema = KeySchemaElement::builder()
        .attribute_name("pk")
        .key_type(KeyType::Hash)
        .build()
        .unwrap();
    let definition = AttributeDefinition::builder()
        .attribute_name("pk")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap();
    let table = TableCreationParameters::builder()
        .table_name("copy")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition)
        .key_schema(key_schema)
        .build()
        .unwrap();
    let source = S3BucketSource::builder()
        .s3_bucket("bucket")
        .s3_key_prefix(prefix)
        .build()
        .unwrap();
    let import = client
        .import_table()
        .s3_bucket_source(source)
        .input_format(InputFormat::Ion)
        .input_compression_type(InputCompressionType::Gzip)
        .table_creation_parameters(table)
        .send()
        .await
        .unwrap();
    let import_arn = import
        .import_table_description()
        .unwrap()
        .import_arn()
        .unwrap()
        .to_string();
    let status = wait_for("the import to finish", || {
        let arn = import_arn.clone();
        async move {
            let description = client.describe_import().import_arn(arn).send().await.ok()?;
            let status = description.import_table_description()?.import_status()?.clone();
            (status != ImportStatus::InProgress).then_some(status)
        }
    })
    .await;
    assert_eq!(status, ImportStatus::Completed);
    assert_eq!(scan(client, "copy").await, expected);
    region.shutdown().await;
}

/// Starts an incremental export of `src` over `[from, to)` (ms).
async fn export_changes(
    client: &Client,
    prefix: &str,
    format: ExportFormat,
    view: Option<ExportViewType>,
    (from, to): (u64, u64),
) -> String {
    let spec = IncrementalExportSpecification::builder()
        .export_from_time(DateTime::from_millis(from as i64))
        .export_to_time(DateTime::from_millis(to as i64))
        .set_export_view_type(view)
        .build();
    let started = client
        .export_table_to_point_in_time()
        .table_arn(TABLE_ARN)
        .s3_bucket("bucket")
        .s3_prefix(prefix)
        .export_format(format)
        .export_type(ExportType::IncrementalExport)
        .incremental_export_specification(spec)
        .send()
        .await
        .unwrap();
    started.export_description().unwrap().export_arn().unwrap().to_string()
}

/// The WriteTimestampMicros of an Ion change row.
fn ion_micros(line: &str) -> u64 {
    let after = line.split("WriteTimestampMicros:").nth(1).unwrap();
    after.split('.').next().unwrap().parse().unwrap()
}

/// Writes, in a table with PITR on: `a`, `b`, `c`, `d` (v = 1) before the
/// window; inside it (20 simulated minutes later) `a` updated twice, `b`
/// deleted, `e` created, `f` created then deleted; after it (40 minutes
/// later) `c` updated and `g` created. Answers the window, ms.
async fn changes_around_a_window(region: &TestRegion) -> (u64, u64) {
    let client = &region.client;
    create_table(client, "src", Keys::Hash("pk", ScalarAttributeType::S)).await;
    enable_pitr(client, "src").await;
    let put = |pk: &'static str, v: i64| put_src(client, item([("pk", s(pk)), ("v", n(v))]));
    let delete = |pk: &'static str| async move {
        let key = item([("pk", s(pk))]);
        client
            .delete_item()
            .table_name("src")
            .set_key(Some(key))
            .send()
            .await
            .unwrap();
    };
    for pk in ["a", "b", "c", "d"] {
        put(pk, 1).await;
    }
    let start = mark().await;
    let hlc = region.node().engine().hlc();
    hlc.set_offset_ms(20 * MINUTE_MS as i64).unwrap();
    put("a", 2).await;
    client
        .update_item()
        .table_name("src")
        .key("pk", s("a"))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", n(3))
        .send()
        .await
        .unwrap();
    delete("b").await;
    put("e", 1).await;
    put("f", 1).await;
    delete("f").await;
    hlc.set_offset_ms(40 * MINUTE_MS as i64).unwrap();
    put("c", 2).await;
    put("g", 1).await;
    let window = (start + 10 * MINUTE_MS, start + 30 * MINUTE_MS);
    wait_restorable(client, "src", window.1).await;
    window
}

#[tokio::test]
async fn an_incremental_export_holds_the_last_change_of_each_item_in_its_window() {
    let region = TestRegion::start().await;
    let client = &region.client;
    let (from, to) = changes_around_a_window(&region).await;
    let bucket = region.data_root().join(REGION).join("exports").join("bucket");
    let in_window = |micros: u64| (from * 1000..to * 1000).contains(&micros);

    // DynamoDB JSON, NEW_AND_OLD_IMAGES (the default view).
    let arn = export_changes(client, "daily", ExportFormat::DynamodbJson, None, (from, to)).await;
    let export = completed(client, &arn).await;
    assert_eq!(export.export_type(), Some(&ExportType::IncrementalExport));
    assert_eq!(export.export_format(), Some(&ExportFormat::DynamodbJson));
    assert_eq!(export.export_time(), None);
    assert_eq!(export.item_count(), Some(3));
    let spec = export.incremental_export_specification().unwrap();
    assert_eq!(spec.export_from_time().map(millis), Some(from));
    assert_eq!(spec.export_to_time().map(millis), Some(to));
    assert_eq!(spec.export_view_type(), Some(&ExportViewType::NewAndOldImages));
    let manifest = export.export_manifest().unwrap();
    assert!(manifest.starts_with("daily/AWSDynamoDB/") && manifest.ends_with("/manifest-summary.json"));
    let (summary, files) = read_export(&bucket, manifest);
    let export_id = arn.rsplit('/').next().unwrap();
    assert_eq!(
        summary,
        json!({
            "version": "2023-08-01",
            "exportArn": arn,
            "startTime": summary["startTime"],
            "endTime": summary["endTime"],
            "tableArn": TABLE_ARN,
            "tableId": summary["tableId"],
            "exportFromTime": format_rfc3339(from * 1_000_000),
            "exportToTime": format_rfc3339(to * 1_000_000),
            "s3Bucket": "bucket",
            "s3Prefix": "daily",
            "s3SseAlgorithm": "AES256",
            "s3SseKmsKeyId": null,
            "manifestFilesS3Key": format!("daily/AWSDynamoDB/{export_id}/manifest-files.json"),
            "billedSizeBytes": summary["billedSizeBytes"],
            "itemCount": 3,
            "outputFormat": "DYNAMODB_JSON",
            "outputView": "NEW_AND_OLD_IMAGES",
            "exportType": "INCREMENTAL_EXPORT",
        })
    );
    let mut rows = Vec::new();
    for (key, lines) in files {
        // Incremental data files go to the prefix's shared data folder.
        assert!(
            key.starts_with("daily/AWSDynamoDB/data/") && key.ends_with(".json.gz"),
            "{key}"
        );
        rows.extend(lines.iter().map(|l| serde_json::from_str::<Value>(l).unwrap()));
    }
    rows.sort_by_key(|row| row["Keys"]["pk"]["S"].as_str().unwrap().to_string());
    let micros: Vec<u64> = rows
        .iter()
        .map(|row| {
            row["Metadata"]["WriteTimestampMicros"]["N"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        micros.iter().all(|&m| in_window(m)),
        "{micros:?} not in [{from}, {to}) ms"
    );
    let metadata = |i: usize| json!({ "WriteTimestampMicros": { "N": micros[i].to_string() } });
    assert_eq!(
        rows,
        vec![
            json!({
                "Metadata": metadata(0),
                "Keys": {"pk": {"S": "a"}},
                "OldImage": {"pk": {"S": "a"}, "v": {"N": "1"}},
                "NewImage": {"pk": {"S": "a"}, "v": {"N": "3"}},
            }),
            json!({
                "Metadata": metadata(1),
                "Keys": {"pk": {"S": "b"}},
                "OldImage": {"pk": {"S": "b"}, "v": {"N": "1"}},
            }),
            json!({
                "Metadata": metadata(2),
                "Keys": {"pk": {"S": "e"}},
                "NewImage": {"pk": {"S": "e"}, "v": {"N": "1"}},
            }),
        ]
    );
    assert!(micros[0] < micros[1] && micros[1] < micros[2], "{micros:?}");

    // Ion, NEW_IMAGE: no old images; a deleted item has its keys only.
    let view = Some(ExportViewType::NewImage);
    let arn = export_changes(client, "daily", ExportFormat::Ion, view, (from, to)).await;
    let export = completed(client, &arn).await;
    assert_eq!(export.export_format(), Some(&ExportFormat::Ion));
    let spec = export.incremental_export_specification().unwrap();
    assert_eq!(spec.export_view_type(), Some(&ExportViewType::NewImage));
    let (summary, files) = read_export(&bucket, export.export_manifest().unwrap());
    assert_eq!(summary["outputFormat"], "ION");
    assert_eq!(summary["outputView"], "NEW_IMAGE");
    let mut lines = Vec::new();
    for (key, file_lines) in files {
        assert!(
            key.starts_with("daily/AWSDynamoDB/data/") && key.ends_with(".ion.gz"),
            "{key}"
        );
        lines.extend(file_lines);
    }
    lines.sort_by_key(|line| line.split("Keys:").nth(1).unwrap().to_string());
    let expected: Vec<String> = [
        (r#"{"pk":"a"}"#, r#",NewImage:{"pk":"a","v":3.}"#),
        (r#"{"pk":"b"}"#, ""),
        (r#"{"pk":"e"}"#, r#",NewImage:{"pk":"e","v":1.}"#),
    ]
    .iter()
    .zip(&lines)
    .map(|((keys, image), line)| {
        let micros = ion_micros(line);
        assert!(in_window(micros), "{line}");
        format!("$ion_1_0 {{Metadata:{{WriteTimestampMicros:{micros}.}},Keys:{keys}{image}}}")
    })
    .collect();
    assert_eq!(lines, expected);

    let listed = client.list_exports().table_arn(TABLE_ARN).send().await.unwrap();
    let types: Vec<_> = listed
        .export_summaries()
        .iter()
        .filter_map(|e| e.export_type())
        .collect();
    assert_eq!(types, [&ExportType::IncrementalExport, &ExportType::IncrementalExport]);
    region.shutdown().await;
}

#[tokio::test]
async fn incremental_exports_answer_dynamodbs_validation_errors() {
    let region = TestRegion::start().await;
    let client = &region.client;
    create_table(client, "src", Keys::Hash("pk", ScalarAttributeType::S)).await;
    enable_pitr(client, "src").await;
    let backups = client
        .describe_continuous_backups()
        .table_name("src")
        .send()
        .await
        .unwrap();
    let pitr = backups
        .continuous_backups_description()
        .unwrap()
        .point_in_time_recovery_description()
        .unwrap();
    let earliest = millis(pitr.earliest_restorable_date_time().unwrap());
    // Two simulated hours later, windows of up to two hours are restorable.
    region
        .node()
        .engine()
        .hlc()
        .set_offset_ms(120 * MINUTE_MS as i64)
        .unwrap();
    wait_restorable(client, "src", earliest + 120 * MINUTE_MS).await;
    let spec = |from: u64, to: Option<u64>| {
        IncrementalExportSpecification::builder()
            .export_from_time(DateTime::from_millis(from as i64))
            .set_export_to_time(to.map(|t| DateTime::from_millis(t as i64)))
            .build()
    };
    let request = || {
        client
            .export_table_to_point_in_time()
            .table_arn(TABLE_ARN)
            .s3_bucket("bucket")
    };
    let incremental = || request().export_type(ExportType::IncrementalExport);
    let from = earliest + MINUTE_MS;

    let error = incremental().send().await.unwrap_err();
    let required = "IncrementalExportSpecification is required when ExportType is INCREMENTAL_EXPORT";
    assert_error(&error, "ValidationException", required);
    let error = request()
        .incremental_export_specification(spec(from, None))
        .send()
        .await
        .unwrap_err();
    let only = "IncrementalExportSpecification is only allowed when ExportType is INCREMENTAL_EXPORT";
    assert_error(&error, "ValidationException", only);
    let no_from = IncrementalExportSpecification::builder()
        .export_view_type(ExportViewType::NewImage)
        .build();
    let error = incremental()
        .incremental_export_specification(no_from)
        .send()
        .await
        .unwrap_err();
    let message = "IncrementalExportSpecification.ExportFromTime is required when ExportType is INCREMENTAL_EXPORT";
    assert_error(&error, "ValidationException", message);
    let error = incremental()
        .incremental_export_specification(spec(from, Some(from + 20 * MINUTE_MS)))
        .export_time(DateTime::from_millis(from as i64))
        .send()
        .await
        .unwrap_err();
    let message = "ExportTime is not allowed when ExportType is INCREMENTAL_EXPORT: IncrementalExportSpecification \
                   gives the export's window";
    assert_error(&error, "ValidationException", message);

    let error = region
        .raw_json(
            "ExportTableToPointInTime",
            json!({
                "TableArn": TABLE_ARN,
                "S3Bucket": "bucket",
                "ExportType": "INCREMENTAL_EXPORT",
                "IncrementalExportSpecification": {"ExportFromTime": from as f64 / 1000.0, "ExportViewType": "OLD_IMAGE"},
            }),
        )
        .await;
    assert_eq!(error.error_type(), "ValidationException");
    assert_eq!(
        error.message(),
        "1 validation error detected: Value 'OLD_IMAGE' at 'incrementalExportSpecification.exportViewType' failed to \
         satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, NEW_AND_OLD_IMAGES]"
    );

    let window = |from: u64, to: u64| incremental().incremental_export_specification(spec(from, Some(to)));
    let error = window(from + 20 * MINUTE_MS, from).send().await.unwrap_err();
    let message = format!(
        "ExportFromTime {} must be before ExportToTime {}",
        format_rfc3339((from + 20 * MINUTE_MS) * 1_000_000),
        format_rfc3339(from * 1_000_000)
    );
    assert_error(&error, "ValidationException", &message);
    let period = "The incremental export period from ExportFromTime to ExportToTime must be at least 15 minutes and \
                  at most 24 hours";
    let error = window(from, from + 15 * MINUTE_MS - 1).send().await.unwrap_err();
    assert_error(&error, "ValidationException", period);
    let error = window(from + 60 * MINUTE_MS - 25 * 60 * MINUTE_MS, from + 60 * MINUTE_MS)
        .send()
        .await
        .unwrap_err();
    assert_error(&error, "ValidationException", period);

    // Outside the PITR window: the latest restorable time moves on, so the
    // message is checked up to it.
    let outside = |error: &str, what: &str, at: u64| {
        let prefix = format!(
            "{what} {} is not between EarliestRestorableDateTime {} and LatestRestorableDateTime ",
            format_rfc3339(at * 1_000_000),
            format_rfc3339(earliest * 1_000_000)
        );
        assert!(error.starts_with(&prefix), "{error:?} does not start with {prefix:?}");
    };
    let error = window(earliest - MINUTE_MS, earliest + 20 * MINUTE_MS)
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::error_code(&error), "InvalidExportTimeException");
    outside(&common::error_message(&error), "ExportFromTime", earliest - MINUTE_MS);
    let future = common::pitr::now_ms() + 600 * MINUTE_MS;
    let error = window(future - 20 * MINUTE_MS, future).send().await.unwrap_err();
    assert_eq!(common::error_code(&error), "InvalidExportTimeException");
    outside(&common::error_message(&error), "ExportToTime", future);

    // A window of exactly 15 minutes, and one up to the latest time, start.
    window(from, from + 15 * MINUTE_MS).send().await.unwrap();
    incremental()
        .incremental_export_specification(spec(from, None))
        .send()
        .await
        .unwrap();
    let listed = client.list_exports().table_arn(TABLE_ARN).send().await.unwrap();
    assert_eq!(listed.export_summaries().len(), 2);
    region.shutdown().await;
}
