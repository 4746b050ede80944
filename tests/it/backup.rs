//! Backup and restore on both backends: an online backup taken while claims keep arriving
//! restores into an empty data directory or database with the same rows, blobs equal byte
//! for byte, and a clean audit verification; damaged, forged and partial archives, and a
//! target that is not empty, are refused before anything is written.
use crate::common::{nth_stay, pdf, test_config, trauma_claim, TestApp};
use claimflow::cli::backup::{self, Options};
use claimflow::config::Config;
use claimflow::store::{self, audit_verify, DbConn};
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use std::io::Read;
use std::path::Path;

crate::trials!(backup {
    scenarios: [an_online_backup_restores_whole_and_a_bad_archive_restores_nothing],
});

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Sha {
    #[diesel(sql_type = Text)]
    sha256: String,
}

const TABLES: [&str; 6] = [
    "claims",
    "cases",
    "audit_events",
    "claim_documents",
    "evidence_files",
    "users",
];

fn counts(conn: &mut DbConn) -> Vec<(&'static str, i64)> {
    TABLES
        .iter()
        .map(|t| {
            let q = diesel::sql_query(format!("SELECT count(*) AS n FROM {t}"));
            let n = match conn {
                DbConn::Sqlite(c, _) => q.get_result::<N>(c),
                DbConn::Pg(c) => q.get_result::<N>(c),
            }
            .unwrap()
            .n;
            (*t, n)
        })
        .collect()
}

fn blob_digests(conn: &mut DbConn) -> Vec<String> {
    let q = diesel::sql_query(
        "SELECT sha256 FROM claim_documents UNION SELECT sha256 FROM evidence_files",
    );
    match conn {
        DbConn::Sqlite(c, _) => q.load::<Sha>(c),
        DbConn::Pg(c) => q.load::<Sha>(c),
    }
    .unwrap()
    .into_iter()
    .map(|s| s.sha256)
    .collect()
}

/// A fresh, empty target of the same backend.
fn empty_target(app: &TestApp) -> (Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(app.backend, dir.path()).unwrap();
    (config, dir)
}

fn verify_clean(config: &Config, key: &str) -> (Vec<(&'static str, i64)>, usize) {
    let pool = store::build_pool(config).unwrap();
    let mut conn = pool.get().unwrap();
    let report = audit_verify::verify_all(&mut conn, key.as_bytes(), |_| {}).unwrap();
    assert!(
        report.is_clean(),
        "restored trail: {:?} {:?}",
        report.breaks,
        report.problems
    );
    (counts(&mut conn), report.events)
}

/// Rewrites an archive member's bytes while keeping the manifest as it was.
fn forge(from: &Path, to: &Path, change: impl Fn(&str, Vec<u8>) -> Vec<u8>) {
    let mut input = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(from).unwrap(),
    ));
    let mut out = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::fast(),
    ));
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        let bytes = change(&name, bytes);
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        out.append_data(&mut header, &name, bytes.as_slice())
            .unwrap();
    }
    out.into_inner().unwrap().finish().unwrap();
}

async fn an_online_backup_restores_whole_and_a_bad_archive_restores_nothing(app: TestApp) {
    let resident = app.login("resident").await;
    let (status, body) = app.post(&resident, "/api/claims", trauma_claim()).await;
    assert_eq!(status, 201, "{body}");
    let claim_id = body["claim_id"].as_i64().unwrap();
    for (kind, tail) in [("invoice", "a"), ("discharge_summary", "b")] {
        let bytes = [pdf(), format!("% {tail}").into_bytes()].concat();
        let (status, body) = app
            .upload(&resident, claim_id, kind, "scan.pdf", bytes)
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let work = tempfile::tempdir().unwrap();
    let online = work.path().join("online.tar.gz");

    // 1. Online: claims keep arriving over HTTP while the backup runs.
    let writer = {
        let (client, base, token) = (app.client.clone(), app.base.clone(), resident.clone());
        tokio::spawn(async move {
            for n in 1..=12 {
                let res = client
                    .post(format!("{base}/api/claims"))
                    .bearer_auth(&token)
                    .json(&nth_stay(trauma_claim(), n))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
            }
        })
    };
    let (config, pool, out) = (app.config.clone(), app.pool.clone(), online.clone());
    let written =
        actix_web::web::block(move || backup::backup(&config, &pool, &out, Options::default()))
            .await
            .unwrap()
            .expect("backup while serving");
    writer.await.unwrap();
    assert!(written.blobs >= 2 && !written.secrets_included);
    assert!(!Path::new(&format!("{}.partial", online.display())).exists());
    let (target, _t1) = empty_target(&app);
    let restored = backup::restore(&target, &online, false).expect("restore the online backup");
    assert!(!restored.secrets_restored);
    // Taken under load, the snapshot is still a consistent state: its trail verifies.
    verify_clean(&target, &app.config.audit_key);
    assert!(
        !target.data_dir.join("audit_key").exists()
            || std::fs::read_to_string(target.data_dir.join("audit_key")).unwrap()
                != app.config.audit_key,
        "without --include-secrets the key stays behind"
    );

    // 2. Quiet: a backup with secrets restores to exactly the source, blobs byte for byte.
    let full = work.path().join("full.tar.gz");
    let (config, pool, out) = (app.config.clone(), app.pool.clone(), full.clone());
    actix_web::web::block(move || {
        backup::backup(
            &config,
            &pool,
            &out,
            Options {
                include_secrets: true,
                progress: false,
            },
        )
    })
    .await
    .unwrap()
    .unwrap();
    let source_counts = counts(&mut app.conn());
    let source_blobs = blob_digests(&mut app.conn());
    let (target, _t2) = empty_target(&app);
    let restored = backup::restore(&target, &full, false).expect("restore the full backup");
    assert!(restored.secrets_restored);
    let key = std::fs::read_to_string(target.data_dir.join("audit_key")).unwrap();
    assert_eq!(key.trim(), app.config.audit_key.trim());
    let (restored_counts, events) = verify_clean(&target, &app.config.audit_key);
    assert_eq!(restored_counts, source_counts);
    assert!(events > 0);
    assert!(source_blobs.len() >= 2);
    for sha in &source_blobs {
        let rel = format!("blobs/{}/{sha}", &sha[..2]);
        assert_eq!(
            std::fs::read(target.data_dir.join(&rel)).unwrap(),
            std::fs::read(app.config.data_dir.join(&rel)).unwrap(),
            "{rel}"
        );
    }

    // 3. Refused, with nothing written: a target that is not empty...
    let again = backup::restore(&target, &full, false)
        .unwrap_err()
        .to_string();
    assert!(again.contains("already"), "{again}");
    let (fresh, _t3) = empty_target(&app);
    let refused = |archive: &Path| {
        let e = backup::restore(&fresh, archive, false)
            .unwrap_err()
            .to_string();
        assert!(
            !fresh.data_dir.join("blobs").exists(),
            "a refused restore wrote blobs"
        );
        e
    };
    // ... a blob changed under an unchanged manifest ...
    let forged = work.path().join("forged.tar.gz");
    forge(&full, &forged, |name, mut bytes| {
        if name.starts_with("blobs/") {
            bytes[0] ^= 1;
        }
        bytes
    });
    let e = refused(&forged);
    assert!(e.contains("checksum does not match"), "{e}");
    // ... a foreign member ...
    let foreign = work.path().join("foreign.tar.gz");
    {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            std::fs::File::create(&foreign).unwrap(),
            flate2::Compression::fast(),
        ));
        let mut header = tar::Header::new_gnu();
        header.set_size(4);
        header.set_mode(0o600);
        builder
            .append_data(&mut header, "database/evil.sh", &b"evil"[..])
            .unwrap();
        builder.into_inner().unwrap().finish().unwrap();
    }
    let e = refused(&foreign);
    assert!(e.contains("no claimflow backup contains"), "{e}");
    // ... and a partial archive.
    let partial = work.path().join("partial.tar.gz");
    let bytes = std::fs::read(&full).unwrap();
    std::fs::write(&partial, &bytes[..bytes.len() / 2]).unwrap();
    let e = refused(&partial);
    assert!(
        e.contains("damaged or incomplete") || e.contains("no manifest.json"),
        "{e}"
    );
    // The refused target is still empty: the full archive restores into it.
    backup::restore(&fresh, &full, false).expect("the empty target accepts a good archive");
}
