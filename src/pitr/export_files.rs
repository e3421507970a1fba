//! The data files of an export and its `manifest-files.json`: rows go to
//! gzip files of at most `ITEMS_PER_FILE` rows each, named at random; each
//! finished file adds a manifest line with its row count, MD5 (base64 and
//! hex, the etag) and key relative to the bucket.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;

use super::{PitrError, random_suffix};

/// Rows per data file.
const ITEMS_PER_FILE: u64 = 100_000;

/// A writer that keeps the MD5 of what passes through it.
struct Md5Writer<W> {
    inner: W,
    md5: md5::Context,
}

impl<W: Write> Write for Md5Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.consume(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A data file being written: its name, gzip stream and row count.
struct DataFile {
    name: String,
    gz: GzEncoder<Md5Writer<BufWriter<File>>>,
    rows: u64,
}

/// The data files of one export, written one after the other.
pub(super) struct DataFiles {
    /// The directory of the data files.
    dir: PathBuf,
    /// The key of that directory relative to the bucket, ending in `/`.
    key: String,
    /// How data file names end (`json.gz`, `ion.gz`).
    extension: &'static str,
    file: Option<DataFile>,
    /// One `manifest-files.json` line per finished file.
    manifest: Vec<String>,
}

impl DataFiles {
    /// Data files in `dir`, whose key relative to the bucket is `key`.
    pub(super) fn new(dir: PathBuf, key: String, extension: &'static str) -> Result<DataFiles, PitrError> {
        std::fs::create_dir_all(&dir)?;
        Ok(DataFiles {
            dir,
            key,
            extension,
            file: None,
            manifest: Vec::new(),
        })
    }

    /// Appends one row (without its newline).
    pub(super) fn push(&mut self, row: &str) -> Result<(), PitrError> {
        if self.file.as_ref().is_some_and(|f| f.rows >= ITEMS_PER_FILE) {
            self.finish_file()?;
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(self.open()?),
        };
        file.gz.write_all(row.as_bytes())?;
        file.gz.write_all(b"\n")?;
        file.rows += 1;
        Ok(())
    }

    fn open(&self) -> Result<DataFile, PitrError> {
        let name = format!("{}{}.{}", random_suffix(), random_suffix(), self.extension);
        let writer = Md5Writer {
            inner: BufWriter::new(File::create(self.dir.join(&name))?),
            md5: md5::Context::new(),
        };
        Ok(DataFile {
            name,
            gz: GzEncoder::new(writer, Compression::fast()),
            rows: 0,
        })
    }

    fn finish_file(&mut self) -> Result<(), PitrError> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let writer = file.gz.finish()?;
        let digest = writer.md5.finalize();
        writer.inner.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        let line = json!({
            "itemCount": file.rows,
            "md5Checksum": base64::engine::general_purpose::STANDARD.encode(digest.0),
            "etag": format!("{digest:x}"),
            "dataFileS3Key": format!("{}{}", self.key, file.name),
        });
        self.manifest.push(line.to_string());
        Ok(())
    }

    /// Finishes the last file and writes `manifest-files.json` and its
    /// checksum into `export_dir`.
    pub(super) fn finish(mut self, export_dir: &Path) -> Result<(), PitrError> {
        self.finish_file()?;
        let text = self.manifest.iter().map(|l| format!("{l}\n")).collect::<String>();
        std::fs::write(export_dir.join("manifest-files.json"), &text)?;
        std::fs::write(
            export_dir.join("manifest-files.checksum"),
            format!("{:x}", md5::compute(text.as_bytes())),
        )?;
        Ok(())
    }
}
