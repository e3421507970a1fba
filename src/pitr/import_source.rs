//! Reading an import's source: the files under `<export root>/<S3Bucket>/`
//! whose keys start with `S3KeyPrefix`, gzip or not, as DynamoDB JSON lines
//! (`{"Item": {...}}`, the export layout's data files) or CSV. Blocking
//! code, run off the reactor. A row that cannot form an item is a
//! `RowError` the job counts and logs; a file that cannot be read past some
//! point (bad gzip, bad UTF-8) costs one error and the rest of that file,
//! as DynamoDB's import skips the rest of a malformed object.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{AttributeValue, Item, ScalarType, item_from_json_owned};

/// The export layout's files that are not data (an export directory is an
/// import source as it is).
const EXPORT_METADATA: [&str; 3] = ["manifest-files.json", "manifest-summary.json", "_started"];

/// InputFormat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputFormat {
    DynamoDbJson,
    Csv,
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
    pub gzip: bool,
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
    #[error("The specified bucket does not exist: {0}")]
    NoSuchBucket(String),
    #[error("No objects found under S3 key prefix '{0}' in bucket {1}")]
    NoObjects(String, String),
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
}

impl SourceError {
    /// The import's FailureCode for this error.
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::NoSuchBucket(_) => "S3NoSuchBucket",
            SourceError::NoObjects(..) => "S3NoSuchKey",
            SourceError::Io(_) => "S3ReadError",
        }
    }
}

/// The source's files in key order: `(key relative to the bucket, path)`.
pub fn source_files(root: &Path, bucket: &str, prefix: &str) -> Result<Vec<(String, PathBuf)>, SourceError> {
    let bucket_dir = root.join(bucket);
    if !bucket_dir.is_dir() {
        return Err(SourceError::NoSuchBucket(bucket.to_string()));
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
    if files.is_empty() {
        return Err(SourceError::NoObjects(prefix.to_string(), bucket.to_string()));
    }
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
    let inner: Box<dyn Read> = if format.gzip {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut reader = BufReader::new(Counted { inner, bytes: 0 });
    let mut rows = Rows {
        key,
        line: 0,
        format,
        header: format.csv.header_list.clone(),
    };
    loop {
        let before = reader.get_ref().bytes - reader.buffer().len() as u64;
        let record = match format.format {
            InputFormat::DynamoDbJson => rows.next_json(&mut reader),
            InputFormat::Csv => rows.next_csv(&mut reader),
        };
        let after = reader.get_ref().bytes - reader.buffer().len() as u64;
        let row = match record {
            Ok(None) => return Ok(()),
            Ok(Some(Ok(item))) => Ok((item, after - before)),
            Ok(Some(Err(message))) => Err(rows.error(message)),
            // The rest of the file cannot be read (bad gzip, bad UTF-8):
            // one error, and on to the next file.
            Err(error) => {
                emit(Err(
                    rows.error(format!("The file cannot be read past this line: {error}"))
                ));
                return Ok(());
            }
        };
        if !emit(row) {
            return Ok(());
        }
    }
}

/// The reading state of one file.
struct Rows<'a> {
    key: &'a str,
    line: u64,
    format: &'a RowFormat,
    /// The CSV columns, once known.
    header: Option<Vec<String>>,
}

/// A row's item, or why it is not one; `None` at the end of the file.
type Next = std::io::Result<Option<Result<Item, String>>>;

impl Rows<'_> {
    fn error(&self, message: String) -> RowError {
        RowError {
            key: self.key.to_string(),
            line: self.line,
            message,
        }
    }

    /// The next non-blank line as a DynamoDB JSON `{"Item": {...}}`.
    fn next_json(&mut self, reader: &mut impl BufRead) -> Next {
        let mut text = String::new();
        loop {
            text.clear();
            if reader.read_line(&mut text)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            if !text.trim().is_empty() {
                return Ok(Some(json_item(&text)));
            }
        }
    }

    /// The next CSV record as an item (the first one is the header unless
    /// HeaderList gave it).
    fn next_csv(&mut self, reader: &mut impl BufRead) -> Next {
        let delimiter = self.format.csv.delimiter.unwrap_or(',');
        loop {
            let Some(fields) = csv_record(reader, delimiter, &mut self.line)? else {
                return Ok(None);
            };
            if fields.len() == 1 && fields[0].is_empty() {
                continue;
            }
            let Some(header) = &self.header else {
                self.header = Some(fields);
                continue;
            };
            return Ok(Some(csv_item(header, fields, &self.format.key_types)));
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

/// The next CSV record (RFC 4180: quoted fields may hold the delimiter,
/// doubled quotes and line breaks), counting lines in `line`; `None` at
/// the end of the input.
fn csv_record(reader: &mut impl BufRead, delimiter: char, line: &mut u64) -> std::io::Result<Option<Vec<String>>> {
    let mut text = String::new();
    if reader.read_line(&mut text)? == 0 {
        return Ok(None);
    }
    *line += 1;
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    loop {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' if quoted => quoted = false,
                '"' if field.is_empty() => quoted = true,
                '\r' | '\n' if !quoted => {}
                c if c == delimiter && !quoted => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        if !quoted {
            break;
        }
        // A quoted field goes on past the line break.
        text.clear();
        if reader.read_line(&mut text)? == 0 {
            break;
        }
        *line += 1;
    }
    fields.push(field);
    Ok(Some(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str, delimiter: char) -> Vec<Vec<String>> {
        let mut reader = std::io::Cursor::new(text.as_bytes());
        let mut line = 0;
        let mut out = Vec::new();
        while let Some(fields) = csv_record(&mut reader, delimiter, &mut line).unwrap() {
            out.push(fields);
        }
        out
    }

    #[test]
    fn csv_records_follow_rfc_4180() {
        assert_eq!(
            records("a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\n", ','),
            vec![
                vec!["a".to_string(), "b".to_string()],
                vec!["x,y".to_string(), "say \"hi\"".to_string()],
                vec!["two\nlines".to_string(), "z".to_string()],
            ]
        );
        assert_eq!(
            records("a\tb\t\n", '\t'),
            vec![vec!["a".to_string(), "b".to_string(), String::new()]]
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
