//! Uploaded files, stored by content under `DATA_DIR/blobs/ab/abcdef…` (their SHA-256); the
//! client never picks a path. A file is written under a temporary name *before* the
//! transaction that records it, so that no disk I/O happens while the database's write lock
//! is held, and renamed to its final name *after* that transaction commits. A crash in
//! between leaves a temporary file; [`sweep`] (the `blob_cleanup` job) finishes the rename
//! when a row refers to it and deletes it when none does.
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn blobs(data_dir: &Path) -> PathBuf {
    data_dir.join("blobs")
}

fn staging(data_dir: &Path) -> PathBuf {
    blobs(data_dir).join("staging")
}

fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Where the blob with this digest lives, if the digest is well-formed.
pub fn path(data_dir: &Path, sha256: &str) -> Option<PathBuf> {
    is_digest(sha256).then(|| blobs(data_dir).join(&sha256[..2]).join(sha256))
}

/// A file written under a temporary name, waiting for the transaction that records it.
/// Dropped without [`Staged::commit`] (the transaction failed), it is removed.
pub struct Staged {
    pub sha256: String,
    temp: PathBuf,
    done: bool,
}

/// Writes `bytes` under a temporary name in the staging folder.
pub fn stage(data_dir: &Path, bytes: &[u8]) -> std::io::Result<Staged> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let dir = staging(data_dir);
    std::fs::create_dir_all(&dir)?;
    let temp = dir.join(format!("{sha256}.{:016x}", rand::random::<u64>()));
    std::fs::write(&temp, bytes)?;
    Ok(Staged {
        sha256,
        temp,
        done: false,
    })
}

/// Moves a staged file to its final name (or drops it when the same content is already
/// stored).
fn settle(data_dir: &Path, temp: &Path, sha256: &str) -> std::io::Result<()> {
    let Some(target) = path(data_dir, sha256) else {
        return std::fs::remove_file(temp);
    };
    if target.exists() {
        return std::fs::remove_file(temp);
    }
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::rename(temp, target)
}

impl Staged {
    /// Call once the transaction that records the blob has committed.
    pub fn commit(mut self, data_dir: &Path) -> std::io::Result<()> {
        self.done = true;
        settle(data_dir, &self.temp, &self.sha256)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// What a sweep of the staging folder did.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Temporary files whose row committed but whose rename did not happen: renamed now.
    pub settled: usize,
    /// Temporary files no row refers to: removed.
    pub removed: usize,
}

/// Settles or removes staged files last modified before `older_than`. `referenced` says
/// whether a committed row names the digest.
pub fn sweep(
    data_dir: &Path,
    older_than: std::time::SystemTime,
    mut referenced: impl FnMut(&str) -> anyhow::Result<bool>,
) -> anyhow::Result<Swept> {
    let mut swept = Swept::default();
    let Ok(entries) = std::fs::read_dir(staging(data_dir)) else {
        return Ok(swept);
    };
    for entry in entries.flatten() {
        let temp = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < older_than);
        let name = entry.file_name().to_string_lossy().into_owned();
        let sha256 = name.split('.').next().unwrap_or_default();
        if !old {
            continue;
        }
        if is_digest(sha256) && referenced(sha256)? {
            settle(data_dir, &temp, sha256)?;
            swept.settled += 1;
        } else {
            std::fs::remove_file(&temp)?;
            swept.removed += 1;
        }
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let staged = stage(dir.path(), b"%PDF-1.4 one").unwrap();
        let sha = staged.sha256.clone();
        let final_path = path(dir.path(), &sha).unwrap();
        assert!(!final_path.exists(), "not before the commit");
        staged.commit(dir.path()).unwrap();
        assert_eq!(std::fs::read(&final_path).unwrap(), b"%PDF-1.4 one");
        // A failed transaction: the staged file goes with the handle.
        drop(stage(dir.path(), b"%PDF-1.4 two").unwrap());
        assert_eq!(std::fs::read_dir(staging(dir.path())).unwrap().count(), 0);
    }

    #[test]
    fn a_sweep_finishes_committed_renames_and_removes_orphans() {
        let dir = tempfile::tempdir().unwrap();
        let kept = stage(dir.path(), b"kept").unwrap();
        let orphan = stage(dir.path(), b"orphan").unwrap();
        let kept_sha = kept.sha256.clone();
        // A crash after the commit and before the rename, and one before the commit.
        std::mem::forget(kept);
        std::mem::forget(orphan);
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(1);
        let swept = sweep(dir.path(), later, |sha| Ok(sha == kept_sha)).unwrap();
        assert_eq!(
            swept,
            Swept {
                settled: 1,
                removed: 1
            }
        );
        assert_eq!(
            std::fs::read(path(dir.path(), &kept_sha).unwrap()).unwrap(),
            b"kept"
        );
        assert_eq!(std::fs::read_dir(staging(dir.path())).unwrap().count(), 0);
        let recent = sweep(dir.path(), std::time::SystemTime::UNIX_EPOCH, |_| Ok(false)).unwrap();
        assert_eq!(recent, Swept::default());
    }
}
