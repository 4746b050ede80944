//! What a backup archive holds and how it is checked before anything is restored: a manifest
//! that lists every file with its size and SHA-256. An archive whose files do not match their
//! manifest line for line (one missing, one extra, one changed byte) is refused whole.
//!
//! The manifest's checksums catch damage and truncation. They do not stop someone who
//! rewrites both a file and its line; that is what the audit trail's HMAC checkpoints are for,
//! and `claimflow audit verify` after a restore checks them with the key, which a backup
//! leaves out unless asked.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The archive layout this build writes and reads.
pub const FORMAT: &str = "claimflow-backup/1";
pub const MANIFEST: &str = "manifest.json";
/// The SQLite snapshot, or the PostgreSQL dump in `pg_dump`'s custom format.
pub const SQLITE_DB: &str = "database/claimflow.db";
pub const PG_DUMP: &str = "database/claimflow.pgdump";
/// Secret files kept in the data directory, included only on request.
pub const SECRETS: [&str; 3] = ["jwt_secret", "audit_key", "account_key"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// `sqlite` or `postgres`: a dump restores only into the engine that wrote it.
    pub backend: String,
    pub created_at: String,
    /// The migrations the database had, so that a restore into an older build is refused.
    pub migrations: Vec<String>,
    pub secrets_included: bool,
    /// Documents and evidence files the database refers to.
    pub blobs: usize,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Where an archive member may go: the manifest, the database, blobs by digest, secrets.
/// Anything else (an absolute path, `..`, an unknown name) marks a foreign or forged archive.
pub fn allowed_path(path: &str) -> bool {
    let is_digest = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    match path.split('/').collect::<Vec<_>>().as_slice() {
        [m] => *m == MANIFEST,
        ["database", _] => path == SQLITE_DB || path == PG_DUMP,
        ["blobs", prefix, digest] => is_digest(digest) && digest.get(..2) == Some(*prefix),
        ["secrets", name] => SECRETS.contains(name),
        _ => false,
    }
}

/// Checks what was found in an archive (path → bytes and SHA-256) against its manifest.
/// Returns every problem, each naming its file.
pub fn check(manifest: &Manifest, found: &BTreeMap<String, (u64, String)>) -> Vec<String> {
    let mut problems = Vec::new();
    if manifest.format != FORMAT {
        problems.push(format!(
            "archive format `{}`; this build reads `{FORMAT}`",
            manifest.format
        ));
    }
    let listed: BTreeMap<&str, &FileEntry> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    for (path, entry) in &listed {
        match found.get(*path) {
            None => problems.push(format!("{path}: listed in the manifest but missing")),
            Some((bytes, _)) if *bytes != entry.bytes => problems.push(format!(
                "{path}: {bytes} bytes, the manifest says {}",
                entry.bytes
            )),
            Some((_, sha)) if *sha != entry.sha256 => {
                problems.push(format!("{path}: checksum does not match the manifest"))
            }
            Some(_) => {}
        }
    }
    for path in found.keys() {
        if !listed.contains_key(path.as_str()) {
            problems.push(format!("{path}: in the archive but not in the manifest"));
        }
    }
    let database = [SQLITE_DB, PG_DUMP]
        .iter()
        .filter(|p| listed.contains_key(**p))
        .count();
    if database != 1 {
        problems.push("the archive must hold exactly one database file".into());
    }
    let blobs = listed.keys().filter(|p| p.starts_with("blobs/")).count();
    if blobs != manifest.blobs {
        problems.push(format!(
            "{blobs} blobs listed, the manifest counts {}",
            manifest.blobs
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> (Manifest, BTreeMap<String, (u64, String)>) {
        let digest = "ab".repeat(32);
        let files = vec![
            FileEntry {
                path: SQLITE_DB.into(),
                bytes: 10,
                sha256: "1".repeat(64),
            },
            FileEntry {
                path: format!("blobs/ab/{digest}"),
                bytes: 3,
                sha256: digest.clone(),
            },
        ];
        let found = files
            .iter()
            .map(|f| (f.path.clone(), (f.bytes, f.sha256.clone())))
            .collect();
        let m = Manifest {
            format: FORMAT.into(),
            backend: "sqlite".into(),
            created_at: "2026-12-02T00:00:00Z".into(),
            migrations: vec![],
            secrets_included: false,
            blobs: 1,
            files,
        };
        (m, found)
    }

    #[test]
    fn a_complete_archive_passes() {
        let (m, found) = manifest();
        assert!(check(&m, &found).is_empty());
    }

    #[test]
    fn missing_extra_and_changed_files_are_each_named() {
        let (m, mut found) = manifest();
        let blob = m.files[1].path.clone();
        found.remove(&blob);
        found.insert("secrets/jwt_secret".into(), (5, "0".repeat(64)));
        found.get_mut(SQLITE_DB).unwrap().1 = "2".repeat(64);
        let problems = check(&m, &found).join("\n");
        assert!(problems.contains(&format!("{blob}: listed in the manifest but missing")));
        assert!(problems.contains("secrets/jwt_secret: in the archive but not in the manifest"));
        assert!(problems.contains("database/claimflow.db: checksum does not match"));
    }

    #[test]
    fn only_known_paths_may_be_unpacked() {
        let digest = "cd".repeat(32);
        assert!(allowed_path(&format!("blobs/cd/{digest}")));
        assert!(allowed_path(SQLITE_DB) && allowed_path(MANIFEST));
        assert!(allowed_path("secrets/audit_key"));
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "blobs/ab/../../x",
            &format!("blobs/ab/{digest}"),
            "database/other.db",
            "secrets/id_rsa",
        ] {
            assert!(!allowed_path(bad), "{bad}");
        }
    }
}
