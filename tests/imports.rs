//! ImportTable, DescribeImport and ListImports through the AWS SDK: an
//! export from one region seeds a new table in another; an Amazon Ion
//! export of every attribute type imports equal to its source; CSV, DynamoDB
//! JSON and Ion files with broken rows import the good rows and count the
//! bad; gzip and zstd; and DynamoDB's errors.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CsvOptions, ExportStatus, GlobalSecondaryIndex, ImportStatus,
    ImportTableDescription, InputCompressionType, InputFormat, InputFormatOptions, KeySchemaElement, KeyType,
    Projection, ProjectionType, S3BucketSource, ScalarAttributeType, TableCreationParameters,
};
use common::pitr::{Model, enable_pitr, fill, key_text, mark, scan, wait_restorable};
use common::{Keys, REGION, TestRegion, assert_error, create_table, error_code, error_message, item, n, s, wait_for};
use meridian::config::NodeConfig;

fn definition(name: &str, ty: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ty)
        .build()
        .unwrap()
}

fn element(name: &str, key: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key)
        .build()
        .unwrap()
}

/// An on-demand table `name` keyed by `pk` (S) and, when given, `sk` of type `range`.
fn parameters(
    name: &str,
    range: Option<ScalarAttributeType>,
) -> aws_sdk_dynamodb::types::builders::TableCreationParametersBuilder {
    let mut builder = TableCreationParameters::builder()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .key_schema(element("pk", KeyType::Hash));
    if let Some(range) = range {
        builder = builder
            .attribute_definitions(definition("sk", range))
            .key_schema(element("sk", KeyType::Range));
    }
    builder
}

/// InputFormatOptions with a CSV `delimiter` and `headers` (none when empty).
fn csv_format(delimiter: &str, headers: &[&str]) -> InputFormatOptions {
    let mut csv = CsvOptions::builder().delimiter(delimiter);
    for header in headers {
        csv = csv.header_list(*header);
    }
    InputFormatOptions::builder().csv(csv.build()).build()
}

fn source(bucket: &str, prefix: &str) -> S3BucketSource {
    S3BucketSource::builder()
        .s3_bucket(bucket)
        .s3_key_prefix(prefix)
        .build()
        .unwrap()
}

/// Starts an import; answers its ARN.
async fn start_import(
    client: &Client,
    source: S3BucketSource,
    format: InputFormat,
    compression: InputCompressionType,
    table: TableCreationParameters,
) -> String {
    let started = client
        .import_table()
        .s3_bucket_source(source)
        .input_format(format)
        .input_compression_type(compression)
        .table_creation_parameters(table)
        .send()
        .await
        .unwrap();
    let description = started.import_table_description().unwrap();
    assert_eq!(description.import_status(), Some(&ImportStatus::InProgress));
    description.import_arn().unwrap().to_string()
}

/// Waits until the import is no longer IN_PROGRESS; answers its description.
async fn finished(client: &Client, arn: &str) -> ImportTableDescription {
    wait_for("the import to finish", || async move {
        let description = client.describe_import().import_arn(arn).send().await.ok()?;
        let import = description.import_table_description()?.clone();
        (import.import_status() != Some(&ImportStatus::InProgress)).then_some(import)
    })
    .await
}

/// Writes `text` (gzipped when `gzip`) to `<root>/<key>`.
fn write_object(root: &Path, key: &str, text: &str, gzip: bool) {
    let path = root.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let bytes = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    } else {
        text.as_bytes().to_vec()
    };
    std::fs::write(path, bytes).unwrap();
}

fn exports_dir(region: &TestRegion) -> PathBuf {
    region.data_root().join(REGION).join("exports")
}

/// Asserts that an import finished as DynamoDB finishes one some of whose
/// rows were bad: FAILED with ItemValidationError, its table ACTIVE with
/// the good rows.
fn assert_item_validation_failure(import: &ImportTableDescription) {
    assert_eq!(import.import_status(), Some(&ImportStatus::Failed));
    assert_eq!(import.failure_code(), Some("ItemValidationError"));
    assert_eq!(
        import.failure_message(),
        Some(
            "Some of the items failed validation checks and were not imported. Please check CloudWatch error logs for more details."
        )
    );
}

fn counts(import: &ImportTableDescription) -> (i64, i64, i64) {
    (
        import.processed_item_count(),
        import.imported_item_count(),
        import.error_count(),
    )
}

/// Rich items (every attribute type) besides `fill`'s plain ones.
async fn put_rich_items(client: &Client, model: &mut Model) {
    for i in 0..3 {
        let row: HashMap<String, AttributeValue> = item([
            ("pk", s(format!("rich{i}"))),
            ("v", s("rich")),
            ("b", AttributeValue::B(vec![0, 1, 2, i].into())),
            ("ss", AttributeValue::Ss(vec!["x".into(), "y".into()])),
            ("ns", AttributeValue::Ns(vec!["1".into(), "2.5".into()])),
            (
                "l",
                AttributeValue::L(vec![n(1), AttributeValue::Null(true), AttributeValue::Bool(false)]),
            ),
            ("m", AttributeValue::M(item([("inner", s("deep"))]))),
        ]);
        client
            .put_item()
            .table_name("src")
            .set_item(Some(row.clone()))
            .send()
            .await
            .unwrap();
        model.insert(key_text(&row), row);
    }
}

#[tokio::test]
async fn an_export_seeds_a_new_table_in_another_region() {
    // Two regions sharing one export root, as two machines sharing a bucket.
    let root = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::default();
    config.pitr.export_root = root.path().to_string_lossy().into_owned();
    let source_region = TestRegion::start_with(config.clone()).await;
    let target_region = TestRegion::start_with(config).await;
    let (from, to) = (&source_region.client, &target_region.client);

    create_table(from, "src", Keys::Hash("pk", ScalarAttributeType::S)).await;
    enable_pitr(from, "src").await;
    let mut expected = fill(from, "src", 40, "exported").await;
    put_rich_items(from, &mut expected).await;
    let at = mark().await;
    fill(from, "src", 10, "too-late").await;
    wait_restorable(from, "src", at).await;
    let table_arn = format!("arn:aws:dynamodb:{REGION}:000000000000:table/src");
    let export = from
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("shared")
        .s3_prefix("nightly")
        .export_time(DateTime::from_millis(at as i64))
        .send()
        .await
        .unwrap();
    let export_arn = export.export_description().unwrap().export_arn().unwrap().to_string();
    let manifest = wait_for("the export to complete", || {
        let arn = export_arn.clone();
        async move {
            let description = from.describe_export().export_arn(arn).send().await.ok()?;
            let export = description.export_description()?;
            (export.export_status() == Some(&ExportStatus::Completed))
                .then(|| export.export_manifest().unwrap().to_string())
        }
    })
    .await;

    // The export's directory is the source, as DynamoDB takes an export's
    // prefix: the manifests and checksums beside the data are not rows.
    let prefix = manifest.trim_end_matches("manifest-summary.json");
    let by_v = GlobalSecondaryIndex::builder()
        .index_name("by-v")
        .key_schema(element("v", KeyType::Hash))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .unwrap();
    let table = parameters("copy", None)
        .attribute_definitions(definition("v", ScalarAttributeType::S))
        .global_secondary_indexes(by_v)
        .build()
        .unwrap();
    let arn = start_import(
        to,
        source("shared", prefix),
        InputFormat::DynamodbJson,
        InputCompressionType::Gzip,
        table,
    )
    .await;
    assert!(
        arn.starts_with(&format!("{table_arn}/import/").replace("/src/", "/copy/")),
        "{arn}"
    );
    let import = finished(to, &arn).await;
    assert_eq!(
        import.import_status(),
        Some(&ImportStatus::Completed),
        "{:?}",
        import.failure_message()
    );
    let total = expected.len() as i64;
    assert_eq!(counts(&import), (total, total, 0));
    assert!(import.processed_size_bytes().unwrap() > 0);
    assert!(import.end_time().is_some());
    let parameters = import.table_creation_parameters().unwrap();
    assert_eq!(parameters.table_name(), "copy");
    assert_eq!(parameters.global_secondary_indexes().len(), 1);

    // The new table is ACTIVE and equals the source at the export time,
    // and its index was built from the imported items.
    let described = to.describe_table().table_name("copy").send().await.unwrap();
    assert_eq!(
        described.table().unwrap().table_status(),
        Some(&aws_sdk_dynamodb::types::TableStatus::Active)
    );
    assert_eq!(scan(to, "copy").await, expected);
    let rich = to
        .query()
        .table_name("copy")
        .index_name("by-v")
        .key_condition_expression("v = :v")
        .expression_attribute_values(":v", s("rich"))
        .send()
        .await
        .unwrap();
    assert_eq!(rich.count(), 3);

    // ListImports, whole and by table; the source region has none.
    let listed = to
        .list_imports()
        .table_arn(import.table_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.import_summary_list().len(), 1);
    assert_eq!(listed.import_summary_list()[0].import_arn(), Some(arn.as_str()));
    assert_eq!(
        listed.import_summary_list()[0].import_status(),
        Some(&ImportStatus::Completed)
    );
    assert!(
        from.list_imports()
            .send()
            .await
            .unwrap()
            .import_summary_list()
            .is_empty()
    );

    // The table exists now: a second import into it is refused.
    let again = to
        .import_table()
        .s3_bucket_source(source("shared", prefix))
        .input_format(InputFormat::DynamodbJson)
        .input_compression_type(InputCompressionType::Gzip)
        .table_creation_parameters(parameters_for("copy"))
        .send()
        .await
        .unwrap_err();
    assert_error(&again, "ResourceInUseException", "Table already exists: copy");
    source_region.shutdown().await;
    target_region.shutdown().await;
}

fn parameters_for(name: &str) -> TableCreationParameters {
    parameters(name, None).build().unwrap()
}

#[tokio::test]
async fn bad_rows_are_counted_and_the_good_ones_imported() {
    let region = TestRegion::start().await;
    let client = &region.client;
    let root = exports_dir(&region).join("raw");
    // CSV: sk is a number key (typed), everything else a string.
    write_object(
        &root,
        "csv/part-1.csv",
        "pk,sk,note\n\
         a,1,first\n\
         b,not-a-number,bad key\n\
         c,3\n\
         ,4,no partition key\n\
         \"d,e\",5,\"say \"\"hi\"\"\"\n",
        false,
    );
    write_object(&root, "csv/part-2.csv", "pk,sk,note\nf,6,12\n", false);
    let arn = start_import(
        client,
        source("raw", "csv/part-"),
        InputFormat::Csv,
        InputCompressionType::None,
        parameters("from_csv", Some(ScalarAttributeType::N)).build().unwrap(),
    )
    .await;
    let import = finished(client, &arn).await;
    assert_item_validation_failure(&import);
    assert_eq!(counts(&import), (6, 3, 3));
    let mut want = Model::new();
    for row in [
        item([("pk", s("a")), ("sk", n(1)), ("note", s("first"))]),
        item([("pk", s("d,e")), ("sk", n(5)), ("note", s("say \"hi\""))]),
        item([("pk", s("f")), ("sk", n(6)), ("note", s("12"))]),
    ] {
        want.insert(key_text(&row), row);
    }
    assert_eq!(scan(client, "from_csv").await, want);

    // DynamoDB JSON, gzipped: a bad line, a line without "Item", an item
    // without its key and one whose key has the wrong type are errors;
    // blank lines are nothing; a repeated key keeps the last item.
    write_object(
        &root,
        "json/data/one.json.gz",
        "{\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"1\"}}}\n\
         \n\
         {not json\n\
         {\"pk\":{\"S\":\"no-item\"}}\n\
         {\"Item\":{\"v\":{\"S\":\"keyless\"}}}\n\
         {\"Item\":{\"pk\":{\"N\":\"7\"}}}\n\
         {\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"2\"}}}\n\
         {\"Item\":{\"pk\":{\"S\":\"b\"},\"l\":{\"L\":[{\"S\":\"x\"}]}}}\n",
        true,
    );
    let arn = start_import(
        client,
        source("raw", "json/"),
        InputFormat::DynamodbJson,
        InputCompressionType::Gzip,
        parameters_for("from_json"),
    )
    .await;
    let import = finished(client, &arn).await;
    assert_item_validation_failure(&import);
    assert_eq!(counts(&import), (7, 3, 4));
    let mut want = Model::new();
    for row in [
        item([("pk", s("a")), ("v", n(2))]),
        item([("pk", s("b")), ("l", AttributeValue::L(vec![s("x")]))]),
    ] {
        want.insert(key_text(&row), row);
    }
    assert_eq!(scan(client, "from_json").await, want);

    // A file that is not gzip at all, imported as GZIP: one error, no items.
    write_object(&root, "notgz/data.json", "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n", false);
    let arn = start_import(
        client,
        source("raw", "notgz/"),
        InputFormat::DynamodbJson,
        InputCompressionType::Gzip,
        parameters_for("from_notgz"),
    )
    .await;
    let import = finished(client, &arn).await;
    assert_item_validation_failure(&import);
    assert_eq!(counts(&import), (1, 0, 1));
    // The table stays, ACTIVE, as DynamoDB keeps a failed import's table.
    let described = client.describe_table().table_name("from_notgz").send().await.unwrap();
    assert_eq!(
        described.table().unwrap().table_status(),
        Some(&aws_sdk_dynamodb::types::TableStatus::Active)
    );
    region.shutdown().await;
}

/// Writes `text` to `<root>/<key>` as zstd, one frame per part.
fn write_zstd_object(root: &Path, key: &str, parts: &[&str]) {
    let path = root.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let frames: Vec<u8> = parts
        .iter()
        .flat_map(|part| {
            ruzstd::encoding::compress_to_vec(part.as_bytes(), ruzstd::encoding::CompressionLevel::Fastest)
        })
        .collect();
    std::fs::write(path, frames).unwrap();
}

#[tokio::test]
async fn zstd_sources_import_in_every_format() {
    let region = TestRegion::start().await;
    let client = &region.client;
    let root = exports_dir(&region).join("raw");
    // DynamoDB JSON in two frames (as `zstd` writes concatenated files),
    // and CSV in one.
    write_zstd_object(
        &root,
        "zjson/data.json.zst",
        &[
            "{\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"1\"}}}\n",
            "{\"Item\":{\"pk\":{\"S\":\"b\"},\"l\":{\"L\":[{\"S\":\"x\"}]}}}\n",
        ],
    );
    write_zstd_object(&root, "zcsv/data.csv.zst", &["pk,note\nc,third\nd,fourth\n"]);
    for (prefix, format, table, want) in [
        (
            "zjson/",
            InputFormat::DynamodbJson,
            "from_zjson",
            vec![
                item([("pk", s("a")), ("v", n(1))]),
                item([("pk", s("b")), ("l", AttributeValue::L(vec![s("x")]))]),
            ],
        ),
        (
            "zcsv/",
            InputFormat::Csv,
            "from_zcsv",
            vec![
                item([("pk", s("c")), ("note", s("third"))]),
                item([("pk", s("d")), ("note", s("fourth"))]),
            ],
        ),
    ] {
        let arn = start_import(
            client,
            source("raw", prefix),
            format,
            InputCompressionType::Zstd,
            parameters_for(table),
        )
        .await;
        let import = finished(client, &arn).await;
        assert_eq!(
            import.import_status(),
            Some(&ImportStatus::Completed),
            "{:?}",
            import.failure_message()
        );
        assert_eq!(import.input_compression_type(), Some(&InputCompressionType::Zstd));
        assert_eq!(counts(&import), (2, 2, 0));
        let want: Model = want.into_iter().map(|row| (key_text(&row), row)).collect();
        assert_eq!(scan(client, table).await, want);
    }

    // A file that is not zstd, imported as ZSTD: one error, no items.
    write_object(&root, "notzst/data.json", "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n", false);
    let arn = start_import(
        client,
        source("raw", "notzst/"),
        InputFormat::DynamodbJson,
        InputCompressionType::Zstd,
        parameters_for("from_notzst"),
    )
    .await;
    let import = finished(client, &arn).await;
    assert_item_validation_failure(&import);
    assert_eq!(counts(&import), (1, 0, 1));
    region.shutdown().await;
}

#[tokio::test]
async fn csv_options_name_the_columns_and_the_delimiter() {
    let region = TestRegion::start().await;
    let client = &region.client;
    let root = exports_dir(&region).join("raw");
    write_object(&root, "semi.csv.gz", "a;x\nb;y\n", true);
    let options = csv_format(";", &["pk", "v"]);
    let started = client
        .import_table()
        .s3_bucket_source(source("raw", "semi"))
        .input_format(InputFormat::Csv)
        .input_format_options(options)
        .input_compression_type(InputCompressionType::Gzip)
        .table_creation_parameters(parameters_for("semi"))
        .client_token("semi-1")
        .send()
        .await
        .unwrap();
    let arn = started
        .import_table_description()
        .unwrap()
        .import_arn()
        .unwrap()
        .to_string();
    let import = finished(client, &arn).await;
    assert_eq!(counts(&import), (2, 2, 0));
    let csv = import.input_format_options().unwrap().csv().unwrap();
    assert_eq!(csv.delimiter(), Some(";"));
    assert_eq!(csv.header_list(), ["pk", "v"]);
    let mut want = Model::new();
    for row in [
        item([("pk", s("a")), ("v", s("x"))]),
        item([("pk", s("b")), ("v", s("y"))]),
    ] {
        want.insert(key_text(&row), row);
    }
    assert_eq!(scan(client, "semi").await, want);

    // The same ClientToken again: the same import. With other parameters: a conflict.
    let repeat = |table: &'static str| {
        client
            .import_table()
            .s3_bucket_source(source("raw", "semi"))
            .input_format(InputFormat::Csv)
            .input_format_options(csv_format(";", &["pk", "v"]))
            .input_compression_type(InputCompressionType::Gzip)
            .table_creation_parameters(parameters_for(table))
            .client_token("semi-1")
            .send()
    };
    let same = repeat("semi").await.unwrap();
    assert_eq!(
        same.import_table_description().unwrap().import_arn(),
        Some(arn.as_str())
    );
    let conflict = repeat("other").await.unwrap_err();
    assert_error(
        &conflict,
        "ImportConflictException",
        "There was a conflict when importing from the specified S3 source. This can occur when the current import conflicts with a previous import request that had the same client token.",
    );
    region.shutdown().await;
}

/// An attribute value in Amazon Ion text, as DynamoDB's Ion export writes
/// it: numbers as decimals, sets as lists annotated `$dynamodb_SS` (`NS`,
/// `BS`).
fn ion_value(value: &AttributeValue) -> String {
    use base64::Engine as _;
    let text = |t: &str| serde_json::to_string(t).unwrap();
    let number = |n: &str| {
        let n = n.replace(['e', 'E'], "d");
        if n.contains(['.', 'd']) { n } else { format!("{n}.") }
    };
    let blob = |b: &[u8]| format!("{{{{{}}}}}", base64::engine::general_purpose::STANDARD.encode(b));
    let list = |annotation: &str, members: Vec<String>| format!("{annotation}[{}]", members.join(","));
    match value {
        AttributeValue::S(v) => text(v),
        AttributeValue::N(v) => number(v),
        AttributeValue::B(v) => blob(v.as_ref()),
        AttributeValue::Bool(v) => v.to_string(),
        AttributeValue::Null(_) => "null".into(),
        AttributeValue::L(v) => list("", v.iter().map(ion_value).collect()),
        AttributeValue::M(v) => ion_struct(v),
        AttributeValue::Ss(v) => list("$dynamodb_SS::", v.iter().map(|m| text(m)).collect()),
        AttributeValue::Ns(v) => list("$dynamodb_NS::", v.iter().map(|m| number(m)).collect()),
        AttributeValue::Bs(v) => list("$dynamodb_BS::", v.iter().map(|m| blob(m.as_ref())).collect()),
        other => panic!("no Ion form for {other:?}"),
    }
}

fn ion_struct(map: &HashMap<String, AttributeValue>) -> String {
    let fields: Vec<String> = map
        .iter()
        .map(|(name, value)| format!("{}:{}", serde_json::to_string(name).unwrap(), ion_value(value)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

#[tokio::test]
async fn an_ion_export_of_every_type_imports_equal_to_its_source() {
    let region = TestRegion::start().await;
    let client = &region.client;
    create_table(client, "src", Keys::Hash("pk", ScalarAttributeType::S)).await;
    let mut source_items = fill(client, "src", 5, "plain").await;
    put_rich_items(client, &mut source_items).await;
    let every_type = item([
        ("pk", s("every-type")),
        ("s", s("quote \" and \\ and \u{e9}")),
        ("n", n("-12500")),
        ("tiny", n("0.000001")),
        ("b", AttributeValue::B(vec![255, 0].into())),
        ("t", AttributeValue::Bool(true)),
        ("z", AttributeValue::Null(true)),
        ("bs", AttributeValue::Bs(vec![vec![1].into(), vec![2, 3].into()])),
        (
            "nested",
            AttributeValue::M(item([(
                "l",
                AttributeValue::L(vec![AttributeValue::Ss(vec!["a".into()])]),
            )])),
        ),
    ]);
    client
        .put_item()
        .table_name("src")
        .set_item(Some(every_type.clone()))
        .send()
        .await
        .unwrap();
    source_items.insert(key_text(&every_type), every_type);
    let original = scan(client, "src").await;
    assert_eq!(original.len(), source_items.len());

    // The export layout: data files of one `$ion_1_0 {Item:{...}}` per
    // line, gzipped, beside the manifests (which are not rows).
    let bucket = exports_dir(&region).join("bucket");
    let export = bucket.join("AWSDynamoDB/01700000000000-abcdef01");
    let lines: Vec<String> = original
        .values()
        .map(|row| format!("$ion_1_0 {{Item:{}}}", ion_struct(row)))
        .collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    write_object(&export, "data/one.ion.gz", &first.join("\n"), true);
    write_object(&export, "data/two.ion.gz", &(second.join("\n") + "\n"), true);
    write_object(&export, "manifest-summary.json", "{\"outputFormat\":\"ION\"}", false);
    write_object(&export, "_started", "", false);
    let arn = start_import(
        client,
        source("bucket", "AWSDynamoDB/01700000000000-abcdef01/"),
        InputFormat::Ion,
        InputCompressionType::Gzip,
        parameters_for("copy"),
    )
    .await;
    let import = finished(client, &arn).await;
    assert_eq!(import.import_status(), Some(&ImportStatus::Completed));
    assert_eq!(import.input_format(), Some(&InputFormat::Ion));
    let total = original.len() as i64;
    assert_eq!(counts(&import), (total, total, 0));
    assert_eq!(scan(client, "copy").await, original);

    // Broken Ion rows are counted, the good ones imported.
    write_object(
        &bucket,
        "AWSDynamoDB/broken/rows.ion",
        "$ion_1_0 {Item:{pk:\"good\",n:1.}}\n\
         $ion_1_0 {Item:{pk:\n\
         $ion_1_0 {pk:\"no-item\"}\n\
         $ion_1_0 {Item:{pk:\"when\",t:2020-01-01T}}\n\
         $ion_1_0 {Item:{pk:\"dup\",ss:$dynamodb_SS::[\"a\",\"a\"]}}\n\
         $ion_1_0 {Item:{pk:7.}}\n",
        false,
    );
    let arn = start_import(
        client,
        source("bucket", "AWSDynamoDB/broken/"),
        InputFormat::Ion,
        InputCompressionType::None,
        parameters_for("from_broken_ion"),
    )
    .await;
    let import = finished(client, &arn).await;
    assert_item_validation_failure(&import);
    assert_eq!(counts(&import), (6, 1, 5));
    let good = item([("pk", s("good")), ("n", n(1))]);
    assert_eq!(
        scan(client, "from_broken_ion").await,
        Model::from([(key_text(&good), good)])
    );
    region.shutdown().await;
}

#[tokio::test]
async fn imports_answer_dynamodbs_errors() {
    let region = TestRegion::start().await;
    let client = &region.client;
    let request = |format: InputFormat, compression: InputCompressionType| {
        client
            .import_table()
            .s3_bucket_source(source("raw", "x/"))
            .input_format(format)
            .input_compression_type(compression)
            .table_creation_parameters(parameters_for("tbl"))
    };
    let error = request(InputFormat::DynamodbJson, InputCompressionType::None)
        .input_format_options(csv_format(",", &[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&error),
        "InputFormatOptions Csv can only be given when InputFormat is CSV"
    );
    let error = request(InputFormat::Csv, InputCompressionType::None)
        .input_format_options(csv_format("#", &[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&error),
        "1 validation error detected: Value '#' at 'inputFormatOptions.csv.delimiter' failed to satisfy constraint: Member must satisfy regular expression pattern: [,;:|\\t ]"
    );
    let error = client
        .import_table()
        .s3_bucket_source(source("..", "x/"))
        .input_format(InputFormat::Csv)
        .table_creation_parameters(parameters_for("tbl"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_message(&error), "Invalid S3Bucket: ..");
    // The table's parameters are checked as CreateTable checks them.
    let error = client
        .import_table()
        .s3_bucket_source(source("raw", "x/"))
        .input_format(InputFormat::Csv)
        .table_creation_parameters(
            TableCreationParameters::builder()
                .table_name("tbl")
                .attribute_definitions(definition("pk", ScalarAttributeType::S))
                .attribute_definitions(definition("pk", ScalarAttributeType::N))
                .key_schema(element("pk", KeyType::Hash))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_message(&error), "Attribute Name is duplicated: pk");
    assert!(client.describe_table().table_name("tbl").send().await.is_err());

    let unknown = format!("arn:aws:dynamodb:{REGION}:000000000000:table/tbl/import/01700000000000-0badf00d");
    let error = client.describe_import().import_arn(&unknown).send().await.unwrap_err();
    assert_error(
        &error,
        "ImportNotFoundException",
        &format!("Import not found: {unknown}"),
    );

    // A bucket that does not exist fails the import, and its table goes.
    let arn = start_import(
        client,
        source("missing", "x/"),
        InputFormat::Csv,
        InputCompressionType::None,
        parameters_for("tbl"),
    )
    .await;
    let import = finished(client, &arn).await;
    assert_eq!(import.import_status(), Some(&ImportStatus::Failed));
    assert_eq!(import.failure_code(), Some("S3NoSuchBucket"));
    assert_eq!(
        import.failure_message(),
        Some("The specified bucket does not exist (Service: Amazon S3; Status Code: 404; Error Code: NoSuchBucket)")
    );
    let gone = client.describe_table().table_name("tbl").send().await.unwrap_err();
    assert_eq!(error_code(&gone), "ResourceNotFoundException");
    // A prefix with no objects under it imports nothing, and completes.
    std::fs::create_dir_all(exports_dir(&region).join("empty")).unwrap();
    let arn = start_import(
        client,
        source("empty", "nothing/"),
        InputFormat::Csv,
        InputCompressionType::None,
        parameters_for("tbl"),
    )
    .await;
    let import = finished(client, &arn).await;
    assert_eq!(import.import_status(), Some(&ImportStatus::Completed));
    assert_eq!(counts(&import), (0, 0, 0));
    assert_eq!(import.failure_code(), None);
    assert!(scan(client, "tbl").await.is_empty());
    let listed = client.list_imports().page_size(1).send().await.unwrap();
    assert_eq!(listed.import_summary_list().len(), 1);
    let next = client
        .list_imports()
        .page_size(1)
        .next_token(listed.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(next.import_summary_list()[0].import_arn(), Some(arn.as_str()));
    assert!(next.next_token().is_none());
    region.shutdown().await;
}
