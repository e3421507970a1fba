//! ImportTable, DescribeImport and ListImports. `S3BucketSource` names a
//! directory under the region's export root, as `S3Bucket` does for
//! exports (see `pitr/import.rs`).

use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::request::Request;
use crate::pitr::time::epoch_seconds;
use crate::pitr::{CsvOptions, ImportRecord, ImportRequest, InputCompression, InputFormat, Pitr};

/// Most imports one ListImports page returns.
const MAX_LIST_IMPORTS: i64 = 25;
/// The CSV delimiters DynamoDB accepts.
const DELIMITERS: &str = ",;:|\t ";
/// ListImports' NextToken: hex, in blocks of 16 digits, at least 112 digits.
const TOKEN_BLOCK: usize = 16;
const TOKEN_MIN: usize = 112;

fn format_name(format: InputFormat) -> &'static str {
    match format {
        InputFormat::DynamoDbJson => "DYNAMODB_JSON",
        InputFormat::Csv => "CSV",
        InputFormat::Ion => "ION",
    }
}

fn bucket_source(request: &ImportRequest) -> Value {
    let mut source = json!({ "S3Bucket": request.bucket });
    if let Some(owner) = &request.bucket_owner {
        source["S3BucketOwner"] = json!(owner);
    }
    if let Some(prefix) = &request.prefix {
        source["S3KeyPrefix"] = json!(prefix);
    }
    source
}

fn csv_options(csv: &CsvOptions) -> Value {
    let mut options = json!({});
    if let Some(delimiter) = csv.delimiter {
        options["Delimiter"] = json!(delimiter.to_string());
    }
    if let Some(headers) = &csv.header_list {
        options["HeaderList"] = json!(headers);
    }
    json!({ "Csv": options })
}

/// DynamoDB's ImportTableDescription of `import`.
fn import_description(import: &ImportRecord) -> Value {
    let request = &import.request;
    let mut body = json!({
        "ImportArn": import.arn,
        "ImportStatus": import.status,
        "TableArn": import.table_arn,
        "TableId": import.table_id,
        "S3BucketSource": bucket_source(request),
        "InputFormat": format_name(request.format),
        "InputCompressionType": compression_name(request.compression),
        "TableCreationParameters": request.table_parameters,
        "StartTime": epoch_seconds(import.start_ns),
        "ProcessedItemCount": import.processed_items,
        "ImportedItemCount": import.imported_items,
        "ErrorCount": import.errors,
        "ProcessedSizeBytes": import.processed_bytes,
    });
    if let Some(csv) = &request.csv {
        body["InputFormatOptions"] = csv_options(csv);
    }
    if let Some(token) = &request.client_token {
        body["ClientToken"] = json!(token);
    }
    if let Some(end) = import.end_ns {
        body["EndTime"] = json!(epoch_seconds(end));
    }
    if let (Some(code), Some(message)) = (&import.failure_code, &import.failure_message) {
        body["FailureCode"] = json!(code);
        body["FailureMessage"] = json!(message);
    }
    json!({ "ImportTableDescription": body })
}

/// InputFormat: DYNAMODB_JSON, ION or CSV.
fn parse_format(req: &Request) -> Result<InputFormat, ApiError> {
    let format = req
        .opt_enum("InputFormat", &["DYNAMODB_JSON", "ION", "CSV"])?
        .ok_or_else(|| ApiError::missing("inputFormat"))?;
    match format.as_str() {
        "CSV" => Ok(InputFormat::Csv),
        "ION" => Ok(InputFormat::Ion),
        _ => Ok(InputFormat::DynamoDbJson),
    }
}

/// InputCompressionType: GZIP, ZSTD or NONE (the default).
fn parse_compression(req: &Request) -> Result<InputCompression, ApiError> {
    let compression = req.opt_enum("InputCompressionType", &["GZIP", "ZSTD", "NONE"])?;
    Ok(match compression.as_deref() {
        Some("GZIP") => InputCompression::Gzip,
        Some("ZSTD") => InputCompression::Zstd,
        _ => InputCompression::None,
    })
}

/// The InputCompressionType name of `compression`.
fn compression_name(compression: InputCompression) -> &'static str {
    match compression {
        InputCompression::None => "NONE",
        InputCompression::Gzip => "GZIP",
        InputCompression::Zstd => "ZSTD",
    }
}

/// InputFormatOptions.Csv, which only a CSV import may have.
fn parse_csv_options(req: &Request, format: InputFormat) -> Result<Option<CsvOptions>, ApiError> {
    let Some(options) = req.opt_object("InputFormatOptions")? else {
        return Ok(None);
    };
    let Some(csv) = options.get("Csv").filter(|c| !c.is_null()) else {
        return Ok(None);
    };
    if format != InputFormat::Csv {
        return Err(ApiError::validation(
            "InputFormatOptions Csv can only be given when InputFormat is CSV",
        ));
    }
    let csv = Request::from_map(csv.as_object().cloned().unwrap_or_default());
    let delimiter = match csv.opt_str("Delimiter")? {
        None => None,
        Some(text) => {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if DELIMITERS.contains(c) => Some(c),
                _ => {
                    return Err(ApiError::constraint(
                        &format!("'{text}'"),
                        "inputFormatOptions.csv.delimiter",
                        "Member must satisfy regular expression pattern: [,;:|\\t ]",
                    ));
                }
            }
        }
    };
    let header_list = match csv.opt_array("HeaderList")? {
        None => None,
        Some(headers) => Some(parse_headers(headers)?),
    };
    Ok(Some(CsvOptions { delimiter, header_list }))
}

/// HeaderList: 1 to 255 names, each 1 to 65,536 characters.
fn parse_headers(headers: &[Value]) -> Result<Vec<String>, ApiError> {
    if headers.is_empty() || headers.len() > 255 {
        return Err(ApiError::constraint(
            "'[...]'",
            "inputFormatOptions.csv.headerList",
            "Member must have length less than or equal to 255, Member must have length greater than or equal to 1",
        ));
    }
    headers
        .iter()
        .map(|h| match h.as_str() {
            Some(name) if !name.is_empty() && name.len() <= 65_536 => Ok(name.to_string()),
            _ => Err(ApiError::constraint(
                &format!("'{h}'"),
                "inputFormatOptions.csv.headerList.member",
                "Member must have length greater than or equal to 1",
            )),
        })
        .collect()
}

/// ImportTable.
pub async fn handle_import_table(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let source = req
        .opt_object("S3BucketSource")?
        .ok_or_else(|| ApiError::missing("s3BucketSource"))?;
    let source = Request::from_map(source.clone());
    let format = parse_format(&req)?;
    let parameters = req
        .opt_object("TableCreationParameters")?
        .ok_or_else(|| ApiError::missing("tableCreationParameters"))?;
    let spec = super::tables::parse_table_spec(&Request::from_map(parameters.clone()), pitr.region_name())?;
    let request = ImportRequest {
        bucket: source.str("S3Bucket")?.to_string(),
        bucket_owner: source.opt_str("S3BucketOwner")?.map(str::to_string),
        prefix: source.opt_str("S3KeyPrefix")?.map(str::to_string),
        format,
        csv: parse_csv_options(&req, format)?,
        compression: parse_compression(&req)?,
        table_parameters: Value::Object(parameters.clone()),
        client_token: req.opt_str("ClientToken")?.map(str::to_string),
    };
    let import = pitr.import_table(request, spec).await?;
    Ok(import_description(&import))
}

/// DescribeImport.
pub async fn handle_describe_import(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let import = pitr.describe_import(req.str("ImportArn")?).await?;
    Ok(import_description(&import))
}

/// ListImports, paginated by NextToken (the last ARN of the page before,
/// in the hex form DynamoDB's tokens have).
pub async fn handle_list_imports(pitr: &Pitr, req: Request) -> Result<Value, ApiError> {
    let limit = req
        .opt_i64_in("PageSize", "pageSize", 1..=MAX_LIST_IMPORTS)?
        .unwrap_or(MAX_LIST_IMPORTS) as usize;
    let mut imports = pitr.list_imports(req.opt_str("TableArn")?).await?;
    if let Some(token) = req.opt_str("NextToken")? {
        let last = arn_of_token(token).ok_or_else(|| ApiError::validation("Invalid NextToken"))?;
        let at = imports
            .iter()
            .position(|i| i.arn == last)
            .ok_or_else(|| ApiError::validation("Invalid NextToken"))?;
        imports.drain(..=at);
    }
    let more = imports.len() > limit;
    imports.truncate(limit);
    let summaries: Vec<Value> = imports.iter().map(import_summary).collect();
    let mut body = json!({ "ImportSummaryList": summaries });
    if more && let Some(last) = imports.last() {
        body["NextToken"] = json!(token_of_arn(&last.arn));
    }
    Ok(body)
}

fn import_summary(import: &ImportRecord) -> Value {
    let mut summary = Map::new();
    summary.insert("ImportArn".into(), json!(import.arn));
    summary.insert("ImportStatus".into(), json!(import.status));
    summary.insert("TableArn".into(), json!(import.table_arn));
    summary.insert("S3BucketSource".into(), bucket_source(&import.request));
    summary.insert("InputFormat".into(), json!(format_name(import.request.format)));
    summary.insert("StartTime".into(), json!(epoch_seconds(import.start_ns)));
    if let Some(end) = import.end_ns {
        summary.insert("EndTime".into(), json!(epoch_seconds(end)));
    }
    Value::Object(summary)
}

/// The ARN as hex, padded with zero bytes to whole blocks.
fn token_of_arn(arn: &str) -> String {
    let mut token = hex::encode(arn);
    while token.len() < TOKEN_MIN || !token.len().is_multiple_of(TOKEN_BLOCK) {
        token.push_str("00");
    }
    token
}

fn arn_of_token(token: &str) -> Option<String> {
    let mut bytes = hex::decode(token).ok()?;
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_tokens_round_trip_and_have_dynamodbs_form() {
        let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t/import/01700000000000-0badf00d";
        let token = token_of_arn(arn);
        assert!(token.len() >= TOKEN_MIN && token.len().is_multiple_of(TOKEN_BLOCK));
        assert!(token.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(arn_of_token(&token).as_deref(), Some(arn));
    }
}
