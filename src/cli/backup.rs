//! `claimflow backup` and `claimflow restore`: one gzip'd tar archive holding a consistent
//! snapshot of the database, every blob that snapshot refers to, a manifest with a checksum
//! per file, and the secrets only when asked. Restore checks the whole archive before it
//! touches the target, and only restores into an empty data directory or database.
use crate::config::{Backend, Config};
use crate::domain::backup::{self as layout, FileEntry, Manifest};
use crate::store::{self, backup as engine, Pool};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub include_secrets: bool,
    pub progress: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub blobs: usize,
    pub files: usize,
    pub bytes: u64,
    pub secrets_included: bool,
}

use super::counted_bar as bar;

fn sha256_of(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Where the blob `sha256` is now: under its final name, or still staged by an upload whose
/// transaction committed a moment ago. Staging is looked at first: a staged file is renamed
/// to its final name after commit, so looking in this order cannot miss it mid-rename.
fn find_blob(data_dir: &Path, sha256: &str) -> anyhow::Result<Vec<u8>> {
    let staging = data_dir.join("blobs").join("staging");
    if let Ok(entries) = std::fs::read_dir(&staging) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(&format!("{sha256}.")) {
                if let Ok(bytes) = std::fs::read(entry.path()) {
                    return Ok(bytes);
                }
            }
        }
    }
    let path = store::blobs::path(data_dir, sha256)
        .ok_or_else(|| anyhow::anyhow!("the database names a malformed blob digest `{sha256}`"))?;
    std::fs::read(&path).map_err(|e| {
        anyhow::anyhow!(
            "blob {sha256} is referenced by the database but cannot be read at {}: {e}",
            path.display()
        )
    })
}

struct ArchiveWriter {
    tar: tar::Builder<GzEncoder<File>>,
    files: Vec<FileEntry>,
}

impl ArchiveWriter {
    fn header(bytes: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes);
        header.set_mode(0o600);
        header.set_mtime(0);
        header
    }

    fn add_bytes(&mut self, name: &str, bytes: &[u8], sha256: String) -> anyhow::Result<()> {
        let mut header = Self::header(bytes.len() as u64);
        self.tar.append_data(&mut header, name, bytes)?;
        self.files.push(FileEntry {
            path: name.into(),
            bytes: bytes.len() as u64,
            sha256,
        });
        Ok(())
    }

    fn add_file(&mut self, name: &str, path: &Path) -> anyhow::Result<()> {
        let (bytes, sha256) = sha256_of(path)?;
        let mut header = Self::header(bytes);
        self.tar.append_data(&mut header, name, File::open(path)?)?;
        self.files.push(FileEntry {
            path: name.into(),
            bytes,
            sha256,
        });
        Ok(())
    }
}

/// Writes a backup of the running service's data to `out`. The archive appears under its
/// name only when complete (it is written as `out.partial` and renamed).
pub fn backup(config: &Config, pool: &Pool, out: &Path, opts: Options) -> anyhow::Result<Written> {
    let backend = config.backend()?;
    let work = tempfile::tempdir_in(&config.data_dir)?;
    let mut conn = pool.get()?;
    let (db_name, db_file, snapshot) = match backend {
        Backend::Sqlite => {
            let file = work.path().join("claimflow.db");
            let snapshot = engine::sqlite_snapshot(&mut conn, &file)?;
            (layout::SQLITE_DB, file, snapshot)
        }
        Backend::Postgres => {
            let file = work.path().join("claimflow.pgdump");
            let snapshot = engine::pg_snapshot(&mut conn, &config.database_url, &file)?;
            (layout::PG_DUMP, file, snapshot)
        }
    };
    drop(conn);
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let mut archive = ArchiveWriter {
        tar: tar::Builder::new(GzEncoder::new(
            File::create(&partial)
                .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", partial.display()))?,
            flate2::Compression::fast(),
        )),
        files: Vec::new(),
    };
    archive.add_file(db_name, &db_file)?;
    let bar = bar(opts.progress, snapshot.blobs.len(), "blobs");
    for sha in &snapshot.blobs {
        let bytes = find_blob(&config.data_dir, sha)?;
        let actual = hex::encode(Sha256::digest(&bytes));
        anyhow::ensure!(
            &actual == sha,
            "blob {sha} on disk does not match its name (it hashes to {actual}): the data directory is damaged"
        );
        archive.add_bytes(&format!("blobs/{}/{sha}", &sha[..2]), &bytes, actual)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut secrets_included = false;
    if opts.include_secrets {
        for name in layout::SECRETS {
            let path = config.data_dir.join(name);
            if path.is_file() {
                archive.add_file(&format!("secrets/{name}"), &path)?;
                secrets_included = true;
            }
        }
    }
    let manifest = Manifest {
        format: layout::FORMAT.into(),
        backend: backend_name(backend).into(),
        created_at: chrono::Utc::now().to_rfc3339(),
        migrations: snapshot.migrations,
        secrets_included,
        blobs: snapshot.blobs.len(),
        files: archive.files.clone(),
    };
    let json = serde_json::to_vec_pretty(&manifest)?;
    let mut header = ArchiveWriter::header(json.len() as u64);
    archive
        .tar
        .append_data(&mut header, layout::MANIFEST, json.as_slice())?;
    let file = archive.tar.into_inner()?.finish()?;
    file.sync_all()?;
    let bytes = file.metadata()?.len();
    std::fs::rename(&partial, out)?;
    Ok(Written {
        blobs: manifest.blobs,
        files: manifest.files.len() + 1,
        bytes,
        secrets_included,
    })
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub blobs: usize,
    pub secrets_restored: bool,
    pub created_at: String,
}

fn sqlite_path(config: &Config) -> PathBuf {
    PathBuf::from(config.database_url.trim_start_matches("sqlite://"))
}

/// The target must hold nothing yet: no database (or an empty file), no tables, no blobs.
/// The secret files `Config::load` generates in a new data directory do not count.
fn ensure_empty(config: &Config, backend: Backend) -> anyhow::Result<()> {
    let blobs = config.data_dir.join("blobs");
    let has_blobs = std::fs::read_dir(&blobs).is_ok_and(|mut d| d.next().is_some());
    anyhow::ensure!(
        !has_blobs,
        "{} already holds blobs; restore needs an empty data directory",
        blobs.display()
    );
    match backend {
        Backend::Sqlite => {
            let db = sqlite_path(config);
            let used = std::fs::metadata(&db).is_ok_and(|m| m.len() > 0);
            anyhow::ensure!(
                !used,
                "{} already holds a database; restore needs an empty data directory",
                db.display()
            );
        }
        Backend::Postgres => anyhow::ensure!(
            engine::pg_is_empty(&config.database_url)?,
            "the PostgreSQL database already has tables; restore needs an empty database"
        ),
    }
    Ok(())
}

/// Unpacks every member into `into`, hashing as it goes; refuses any member whose path is
/// not one an archive of ours can hold.
fn unpack(archive: &Path, into: &Path) -> anyhow::Result<BTreeMap<String, (u64, String)>> {
    let damaged = |e: std::io::Error| anyhow::anyhow!("the archive is damaged or incomplete: {e}");
    let file = File::open(archive).map_err(|e| anyhow::anyhow!("{}: {e}", archive.display()))?;
    let mut tar = tar::Archive::new(GzDecoder::new(file));
    let mut found = BTreeMap::new();
    for entry in tar.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let name = entry
            .path()
            .map_err(damaged)?
            .to_string_lossy()
            .into_owned();
        anyhow::ensure!(
            entry.header().entry_type().is_file() && layout::allowed_path(&name),
            "the archive holds `{name}`, which no claimflow backup contains; refused"
        );
        anyhow::ensure!(
            !found.contains_key(&name),
            "the archive holds `{name}` twice; refused"
        );
        let target = into.join(&name);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = File::create(&target)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut bytes = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(damaged)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            bytes += n as u64;
        }
        found.insert(name, (bytes, hex::encode(hasher.finalize())));
    }
    Ok(found)
}

/// Restores `archive` into the configured (empty) data directory and database.
pub fn restore(config: &Config, archive: &Path, progress: bool) -> anyhow::Result<Restored> {
    let backend = config.backend()?;
    ensure_empty(config, backend)?;
    let work = tempfile::tempdir_in(&config.data_dir)?;
    let mut found = unpack(archive, work.path())?;
    let Some(_) = found.remove(layout::MANIFEST) else {
        anyhow::bail!("the archive has no {}: it is incomplete", layout::MANIFEST);
    };
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(work.path().join(layout::MANIFEST))?)
            .map_err(|e| anyhow::anyhow!("{} is not a backup manifest: {e}", layout::MANIFEST))?;
    let problems = layout::check(&manifest, &found);
    anyhow::ensure!(
        problems.is_empty(),
        "the archive does not match its manifest, nothing was restored:\n  {}",
        problems.join("\n  ")
    );
    anyhow::ensure!(
        manifest.backend == backend_name(backend),
        "the archive holds a {} database; this configuration is {}",
        manifest.backend,
        backend_name(backend)
    );
    let known = engine::known_migrations(backend)?;
    if let Some(newer) = manifest.migrations.iter().find(|m| !known.contains(m)) {
        anyhow::bail!("the archive was written by a newer claimflow (migration {newer}); upgrade before restoring");
    }
    // The database first: if loading fails, no blob has been moved and the target stays empty.
    match backend {
        Backend::Sqlite => {
            let db = sqlite_path(config);
            if let Some(dir) = db.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::rename(work.path().join(layout::SQLITE_DB), &db)?;
        }
        Backend::Postgres => {
            engine::pg_load(&config.database_url, &work.path().join(layout::PG_DUMP))?
        }
    }
    let blobs: Vec<&FileEntry> = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("blobs/"))
        .collect();
    let bar = bar(progress, blobs.len(), "blobs");
    for f in &blobs {
        let target = config.data_dir.join(&f.path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(work.path().join(&f.path), target)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    for name in layout::SECRETS {
        let packed = work.path().join("secrets").join(name);
        if packed.is_file() {
            std::fs::rename(packed, config.data_dir.join(name))?;
        }
    }
    Ok(Restored {
        blobs: blobs.len(),
        secrets_restored: manifest.secrets_included,
        created_at: manifest.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_blob_is_found_before_its_rename() {
        let dir = tempfile::tempdir().unwrap();
        let staged = store::blobs::stage(dir.path(), b"scan").unwrap();
        let bytes = find_blob(dir.path(), &staged.sha256).unwrap();
        assert_eq!(bytes, b"scan");
        let missing = find_blob(dir.path(), &"0".repeat(64)).unwrap_err();
        assert!(missing.to_string().contains("referenced by the database"));
    }
}
