//! Reading an import's source: the files under `<export root>/<S3Bucket>/`
//! whose keys start with `S3KeyPrefix`, gzip, zstd or neither, as DynamoDB JSON lines
//! (`{"Item": {...}}`, the export layout's data files), Amazon Ion lines
//! (`import_ion.rs`) or CSV (read by the `csv` crate). Blocking
//! code, run off the reactor. A row that cannot form an item is a
//! `RowError` the job counts and logs; a file that cannot be read past some
//! point (bad gzip or zstd, bad UTF-8) costs one error and the rest of that file,
//! as DynamoDB's import skips the rest of a malformed object.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::import_ion::ion_item;
use super::zstd_frames::ZstdFrames;
use crate::model::{AttributeValue, Item, ScalarType, item_from_json_owned};

/// The export layout's files that are not data (an export directory is an
/// import source as it is).
const EXPORT_METADATA: [&str; 3] = ["manifest-files.json", "manifest-summary.json", "_started"];

/// InputFormat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputFormat {
    DynamoDbJson,
    Csv,
    Ion,
}

/// InputCompressionType.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputCompression {
    #[default]
    None,
    Gzip,
    Zstd,
}

/// InputFormatOptions.Csv.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvOptions {
    /// One of `,;:|\t ` (comma when absent).
    pub delimiter: Option<char>,
    /// The columns' names; when absent the first line of each file is the header.
    pub header_list: Option<Vec<String>>,
}

/// How the rows of a source are read.
#[derive(Clone, Debug)]
pub struct RowFormat {
    pub format: InputFormat,
    pub csv: CsvOptions,
    pub compression: InputCompression,
    /// Types of the table's and its indexes' key attributes: a CSV column
    /// of one of them gets that type, every other column is a string.
    pub key_types: HashMap<String, ScalarType>,
}

/// One row that did not become an item: where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub key: String,
    pub line: u64,
    pub message: String,
}

/// One row read: the item and its size in the source, or why it is bad.
pub type Row = Result<(Item, u64), RowError>;

/// Why a source cannot be read at all (the import fails).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// DynamoDB's message, less the S3 request ids it adds.
    #[error("The specified bucket does not exist (Service: Amazon S3; Status Code: 404; Error Code: NoSuchBucket)")]
    NoSuchBucket,
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
}

impl SourceError {
    /// The import's FailureCode for this error.
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::NoSuchBucket => "S3NoSuchBucket",
            SourceError::Io(_) => "S3ReadError",
        }
    }
}

/// The source's files in key order: `(key relative to the bucket, path)`;
/// none under the prefix is no error (the import imports nothing).
pub fn source_files(root: &Path, bucket: &str, prefix: &str) -> Result<Vec<(String, PathBuf)>, SourceError> {
    let bucket_dir = root.join(bucket);
    if !bucket_dir.is_dir() {
        return Err(SourceError::NoSuchBucket);
    }
    // Only the folder the prefix's complete folders name can hold matches.
    let folder = prefix.rsplit_once('/').map(|(f, _)| f).unwrap_or("");
    let mut files = Vec::new();
    let start = if folder.is_empty() {
        bucket_dir.clone()
    } else {
        bucket_dir.join(folder)
    };
    if start.is_dir() {
        walk(&start, folder, &mut files)?;
    }
    files.retain(|(key, _)| key.starts_with(prefix) && !is_export_metadata(key));
    files.sort();
    Ok(files)
}

fn is_export_metadata(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    EXPORT_METADATA.contains(&name) || name.ends_with(".checksum")
}

/// Every regular file below `dir`, keyed `<key>/<name>`.
fn walk(dir: &Path, key: &str, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if key.is_empty() { name } else { format!("{key}/{name}") };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), &child, out)?;
        } else if kind.is_file() {
            out.push((child, entry.path()));
        }
    }
    Ok(())
}

/// A reader that counts the (uncompressed) bytes read through it.
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Reads every row of the file `path` (key `key`), handing each to `emit`;
/// stops early when `emit` answers false.
pub fn read_file(key: &str, path: &Path, format: &RowFormat, emit: &mut dyn FnMut(Row) -> bool) -> std::io::Result<()> {
    let file = std::fs::File::open(path)?;
    let inner: Box<dyn Read> = match format.compression {
        InputCompression::None => Box::new(file),
        InputCompression::Gzip => Box::new(MultiGzDecoder::new(file)),
        InputCompression::Zstd => Box::new(ZstdFrames::new(BufReader::new(file))),
    };
    match format.format {
        InputFormat::DynamoDbJson => read_lines(key, inner, json_item, emit),
        InputFormat::Ion => read_lines(key, inner, ion_item, emit),
        InputFormat::Csv => read_csv(key, inner, format, emit),
    }
    Ok(())
}

/// The error of a row at `line` of file `key`.
fn row_error(key: &str, line: u64, message: String) -> RowError {
    RowError {
        key: key.to_string(),
        line,
        message,
    }
}

/// The error that ends a file: the rest cannot be read (bad gzip or zstd, bad
/// UTF-8), as one error, and on to the next file.
fn unreadable(key: &str, line: u64, error: impl std::fmt::Display) -> RowError {
    row_error(key, line, format!("The file cannot be read past this line: {error}"))
}

/// Reads a file of one item per non-blank line, each parsed by `parse`.
fn read_lines(key: &str, inner: impl Read, parse: fn(&str) -> Result<Item, String>, emit: &mut dyn FnMut(Row) -> bool) {
    let mut reader = BufReader::new(Counted { inner, bytes: 0 });
    let mut text = String::new();
    let mut line = 0;
    loop {
        let before = reader.get_ref().bytes - reader.buffer().len() as u64;
        text.clear();
        match reader.read_line(&mut text) {
            Ok(0) => return,
            Ok(_) => line += 1,
            Err(error) => {
                emit(Err(unreadable(key, line + 1, error)));
                return;
            }
        }
        if text.trim().is_empty() {
            continue;
        }
        let after = reader.get_ref().bytes - reader.buffer().len() as u64;
        let row = parse(&text)
            .map(|item| (item, after - before))
            .map_err(|message| row_error(key, line, message));
        if !emit(row) {
            return;
        }
    }
}

/// Reads a CSV file (RFC 4180, by the `csv` crate): the first record is
/// the header unless HeaderList gave it; key columns are typed by their
/// definitions, every other column is a string.
fn read_csv(key: &str, inner: impl Read, format: &RowFormat, emit: &mut dyn FnMut(Row) -> bool) {
    // The API layer admits only ASCII delimiters (`,;:|\t `).
    let delimiter = u8::try_from(format.csv.delimiter.unwrap_or(',')).unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(inner);
    let mut header = format.csv.header_list.clone();
    let mut record = csv::StringRecord::new();
    loop {
        let before = reader.position().byte();
        let line = reader.position().line();
        let fields = match reader.read_record(&mut record) {
            Ok(false) => return,
            Ok(true) => record.iter().map(str::to_string).collect::<Vec<_>>(),
            Err(error) if matches!(error.kind(), csv::ErrorKind::Utf8 { .. }) => {
                if !emit(Err(row_error(key, line, format!("The row is not UTF-8: {error}")))) {
                    return;
                }
                continue;
            }
            Err(error) => {
                emit(Err(unreadable(key, line, error)));
                return;
            }
        };
        let Some(names) = &header else {
            header = Some(fields);
            continue;
        };
        let row = csv_item(names, fields, &format.key_types)
            .map(|item| (item, reader.position().byte() - before))
            .map_err(|message| row_error(key, line, message));
        if !emit(row) {
            return;
        }
    }
}

/// One line of DynamoDB JSON: `{"Item": {<attribute>: <value>, ...}}`.
fn json_item(text: &str) -> Result<Item, String> {
    let mut value: Value = serde_json::from_str(text).map_err(|e| format!("Invalid JSON: {e}"))?;
    let item = value
        .get_mut("Item")
        .filter(|i| i.is_object())
        .map(Value::take)
        .ok_or_else(|| "The line is not an object with an \"Item\" map".to_string())?;
    item_from_json_owned(item).map_err(|e| e.to_string())
}

/// A CSV row as an item: key columns typed by their definitions, every
/// other column a string.
fn csv_item(header: &[String], fields: Vec<String>, key_types: &HashMap<String, ScalarType>) -> Result<Item, String> {
    if fields.len() != header.len() {
        return Err(format!(
            "The row has {} columns where the header has {}",
            fields.len(),
            header.len()
        ));
    }
    let mut item = Item::new();
    for (name, text) in header.iter().zip(fields) {
        let value = match key_types.get(name) {
            // An empty key column leaves the attribute out: the item then
            // fails the table key check, or is simply not in the index.
            Some(_) if text.is_empty() => continue,
            Some(ScalarType::N) => {
                AttributeValue::from_json(&serde_json::json!({ "N": text })).map_err(|e| e.to_string())?
            }
            Some(ScalarType::B) => AttributeValue::B(
                base64::engine::general_purpose::STANDARD
                    .decode(text.as_bytes())
                    .map_err(|_| format!("Invalid base64 value for binary key attribute {name}"))?,
            ),
            Some(ScalarType::S) | None => AttributeValue::S(text),
        };
        item.insert(name.clone(), value);
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of a CSV text read with `header` (or its first line).
    fn csv_rows(text: &str, delimiter: char, header: Option<&[&str]>) -> Vec<Result<Item, String>> {
        let format = RowFormat {
            format: InputFormat::Csv,
            csv: CsvOptions {
                delimiter: Some(delimiter),
                header_list: header.map(|h| h.iter().map(|s| s.to_string()).collect()),
            },
            compression: InputCompression::None,
            key_types: HashMap::new(),
        };
        let mut out = Vec::new();
        read_csv(
            "k",
            std::io::Cursor::new(text.as_bytes().to_vec()),
            &format,
            &mut |row| {
                out.push(row.map(|(item, _)| item).map_err(|e| e.message));
                true
            },
        );
        out
    }

    fn strings(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    #[test]
    fn csv_records_follow_rfc_4180() {
        assert_eq!(
            csv_rows("a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\n\n\"two\nlines\",z\n", ',', None),
            vec![
                Ok(strings(&[("a", "x,y"), ("b", "say \"hi\"")])),
                Ok(strings(&[("a", "two\nlines"), ("b", "z")])),
            ]
        );
        assert_eq!(
            csv_rows("a\tb\t\n", '\t', Some(&["x", "y", "z"])),
            vec![Ok(strings(&[("x", "a"), ("y", "b"), ("z", "")]))]
        );
        let rows = csv_rows("a,b\n1\n", ',', None);
        assert_eq!(
            rows,
            vec![Err("The row has 1 columns where the header has 2".to_string())]
        );
    }

    #[test]
    fn csv_items_type_key_columns_only() {
        let header = vec!["pk".to_string(), "n".to_string(), "sk".to_string()];
        let keys = HashMap::from([("pk".to_string(), ScalarType::S), ("sk".to_string(), ScalarType::N)]);
        let item = csv_item(&header, vec!["a".into(), "12".into(), "7".into()], &keys).unwrap();
        assert_eq!(item["n"], AttributeValue::S("12".into()));
        assert!(matches!(item["sk"], AttributeValue::N(_)));
        assert!(csv_item(&header, vec!["a".into(), "1".into(), "x".into()], &keys).is_err());
        assert!(csv_item(&header, vec!["a".into()], &keys).is_err());
    }

    #[test]
    fn json_lines_need_an_item_map() {
        assert!(json_item(r#"{"Item": {"pk": {"S": "a"}}}"#).is_ok());
        assert!(json_item(r#"{"pk": {"S": "a"}}"#).is_err());
        assert!(json_item(r#"{"Item": {"pk": {"Q": "a"}}}"#).is_err());
        assert!(json_item("{not json").is_err());
    }
}
