//! Whole-region backup and restore of a stopped region's data directory:
//! `meridian backup --region R --data-dir DIR --to BACKUP` copies
//! `DIR/R` (the redb file with items, history and change log, plus on-demand
//! backups and exports) to BACKUP with a manifest; `meridian restore --from
//! BACKUP --region R --data-dir DIR` checks the manifest and copies it back.
//!
//! The region must be stopped: redb locks its file, so opening the engine
//! on the directory fails while the region runs, and that is the check.
//! The restored copy is a new incarnation of the region: its log ends where
//! the backup was taken, and peers that applied its entries past that point
//! must take what it writes next as new entries. When it rejoins, each peer
//! resynchronises it from a snapshot (`engine::resync`), which brings back
//! what it had written after the backup and replicated.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};

use super::progress::Progress;
use crate::clock::Hlc;
use crate::config::StorageConfig;
use crate::engine::Engine;

const MANIFEST: &str = "meridian-backup.json";

/// Arguments of `meridian backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The region whose data directory is saved (it must be stopped).
    #[arg(long)]
    pub region: String,
    /// Root data directory; the region's files are in DIR/REGION.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Where to write the backup (a new or empty directory).
    #[arg(long)]
    pub to: PathBuf,
}

/// What a region backup holds.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    region: String,
    created: String,
    /// Relative path and size of every file.
    files: Vec<(PathBuf, u64)>,
}

/// Fails unless the region's store can be opened here, i.e. the region is
/// stopped (and its store is readable).
fn check_stopped(dir: &Path, region: &str) -> anyhow::Result<()> {
    let hlc = Hlc::new(0, Duration::from_millis(500));
    let engine = Engine::open(dir, region, hlc, &StorageConfig::default()).with_context(|| {
        format!(
            "cannot open {}: is region {region} still running? Stop it first",
            dir.display()
        )
    })?;
    engine.shutdown();
    Ok(())
}

/// Makes the store in `dir` a new incarnation of `region` (see the module
/// doc).
fn renew_incarnation(dir: &Path, region: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let hlc = Hlc::new(0, Duration::from_millis(500));
    let engine = Engine::open(dir, region, hlc, &StorageConfig::default())?;
    let renewed = runtime.block_on(engine.renew_incarnation());
    engine.shutdown();
    renewed?;
    Ok(())
}

/// Every file below `root`, relative to it, with its size.
fn files_below(root: &Path) -> anyhow::Result<Vec<(PathBuf, u64)>> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in std::fs::read_dir(root.join(&relative))? {
            let entry = entry?;
            let path = relative.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                out.push((path, entry.metadata()?.len()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Copies `files` (paths below `from`, with their sizes) to `to`, each
/// synced, showing the bytes copied as `label`'s progress.
fn copy_files(from: &Path, to: &Path, files: &[(PathBuf, u64)], label: &str) -> anyhow::Result<()> {
    let total = files.iter().map(|(_, size)| size).sum();
    let mut progress = Progress::new(label, Some(total), "bytes");
    let mut copied = 0;
    for (path, _) in files {
        let target = to.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        copy_file(&from.join(path), &target, &mut |n| {
            copied += n;
            progress.set(copied);
        })
        .with_context(|| format!("copy {} to {}", from.join(path).display(), target.display()))?;
    }
    progress.finish(format_args!("{label}: {copied} bytes copied"));
    Ok(())
}

/// Copies `source` to `target` in chunks, calling `copied` with each
/// chunk's size, then syncs `target`.
fn copy_file(source: &Path, target: &Path, copied: &mut dyn FnMut(u64)) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let mut reader = std::fs::File::open(source)?;
    let mut writer = std::fs::File::create(target)?;
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        writer.write_all(&buffer[..n])?;
        copied(n as u64);
    }
    writer.sync_all()
}

fn is_empty_dir(dir: &Path) -> anyhow::Result<bool> {
    Ok(!dir.exists() || std::fs::read_dir(dir)?.next().is_none())
}

/// Runs `meridian backup`.
pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let source = args.data_dir.join(&args.region);
    if !source.join(crate::engine::DB_FILE).exists() {
        bail!("{} holds no region data", source.display());
    }
    if !is_empty_dir(&args.to)? {
        bail!("{} exists and is not empty", args.to.display());
    }
    check_stopped(&source, &args.region)?;
    let files = files_below(&source)?;
    copy_files(
        &source,
        &args.to,
        &files,
        &format!("meridian: backing up {}", args.region),
    )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let manifest = Manifest {
        region: args.region.clone(),
        created: crate::pitr::time::format_rfc3339(now),
        files,
    };
    std::fs::write(args.to.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    let bytes: u64 = manifest.files.iter().map(|(_, n)| n).sum();
    println!(
        "meridian: region {} backed up to {} ({} files, {bytes} bytes)",
        args.region,
        args.to.display(),
        manifest.files.len()
    );
    Ok(())
}

/// Puts a region backup back into `data_dir/region` (see `restore.rs`).
pub fn restore(from: &Path, data_dir: &Path, region: &str, force: bool) -> anyhow::Result<()> {
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(from.join(MANIFEST)).with_context(|| format!("{} is not a region backup", from.display()))?,
    )?;
    if manifest.region != region {
        bail!(
            "{} is a backup of region {}, not {region}",
            from.display(),
            manifest.region
        );
    }
    for (path, size) in &manifest.files {
        let found = std::fs::metadata(from.join(path)).map(|m| m.len()).ok();
        if found != Some(*size) {
            bail!("backup file {} is missing or has the wrong size", path.display());
        }
    }
    let target = data_dir.join(region);
    if !is_empty_dir(&target)? {
        if !force {
            bail!(
                "{} already holds region data; pass --force to replace it",
                target.display()
            );
        }
        check_stopped(&target, region)?;
        std::fs::remove_dir_all(&target)?;
    }
    copy_files(from, &target, &manifest.files, &format!("meridian: restoring {region}"))?;
    renew_incarnation(&target, region).context("the restored store does not open")?;
    println!(
        "meridian: region {region} restored from {} (taken {}) into {}",
        from.display(),
        manifest.created,
        target.display()
    );
    Ok(())
}
