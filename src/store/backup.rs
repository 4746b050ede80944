//! The engine side of backup and restore: a consistent snapshot of a live database, the list
//! of blobs that snapshot refers to, and loading a snapshot into an empty database.
//!
//! - SQLite: `VACUUM INTO` writes a consistent copy from one read transaction while writers
//!   go on (WAL mode), like the online backup API, and the copy is compacted.
//! - PostgreSQL: a `REPEATABLE READ` transaction exports its snapshot, `pg_dump --snapshot`
//!   dumps exactly that state, and the blob list is read in the same transaction, so the
//!   archive's blobs are the dump's blobs.
use super::{DbConn, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use std::path::Path;
use std::process::Command;

/// What a snapshot holds besides the data: the blobs it refers to and its migrations.
pub struct Snapshot {
    pub blobs: Vec<String>,
    pub migrations: Vec<String>,
}

#[derive(QueryableByName)]
struct Digest {
    #[diesel(sql_type = Text)]
    sha256: String,
}

#[derive(QueryableByName)]
struct Exported {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

/// Read directly: diesel's own reader creates its table, which a read-only snapshot cannot.
const MIGRATIONS: &str = "SELECT version FROM __diesel_schema_migrations ORDER BY version";

const BLOBS: &str = "SELECT sha256 FROM claim_documents UNION SELECT sha256 FROM evidence_files \
                     ORDER BY sha256";

/// Writes a consistent copy of the SQLite database to `to` (which must not exist).
pub fn sqlite_snapshot(conn: &mut DbConn, to: &Path) -> anyhow::Result<Snapshot> {
    let DbConn::Sqlite(c, _) = conn else {
        anyhow::bail!("not a SQLite database");
    };
    let target = to
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("{}: the path is not UTF-8", to.display()))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(c)?;
    // Read from the copy, not the live file: the list must match what was copied.
    let mut copy = SqliteConnection::establish(target)?;
    Ok(Snapshot {
        blobs: diesel::sql_query(BLOBS)
            .load::<Digest>(&mut copy)?
            .into_iter()
            .map(|d| d.sha256)
            .collect(),
        migrations: diesel::sql_query(MIGRATIONS)
            .load::<Version>(&mut copy)?
            .into_iter()
            .map(|v| v.version)
            .collect(),
    })
}

/// Dumps the PostgreSQL database at `url` into `to` with `pg_dump`, from one snapshot.
pub fn pg_snapshot(conn: &mut DbConn, url: &str, to: &Path) -> anyhow::Result<Snapshot> {
    let DbConn::Pg(c) = conn else {
        anyhow::bail!("not a PostgreSQL database");
    };
    c.build_transaction()
        .repeatable_read()
        .read_only()
        .run(|c| -> anyhow::Result<Snapshot> {
            let exported =
                diesel::sql_query("SELECT pg_export_snapshot() AS id").get_result::<Exported>(c)?;
            let out = Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--no-privileges"])
                .arg(format!("--snapshot={}", exported.id))
                .arg("--file")
                .arg(to)
                .arg(url)
                .output()
                .map_err(|e| anyhow::anyhow!("cannot run pg_dump (is it installed?): {e}"))?;
            anyhow::ensure!(
                out.status.success(),
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            Ok(Snapshot {
                blobs: diesel::sql_query(BLOBS)
                    .load::<Digest>(c)?
                    .into_iter()
                    .map(|d| d.sha256)
                    .collect(),
                migrations: diesel::sql_query(MIGRATIONS)
                    .load::<Version>(c)?
                    .into_iter()
                    .map(|v| v.version)
                    .collect(),
            })
        })
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Whether the PostgreSQL database at `url` has no tables of its own yet.
pub fn pg_is_empty(url: &str) -> anyhow::Result<bool> {
    let mut c = diesel::pg::PgConnection::establish(url)?;
    let count = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .get_result::<Count>(&mut c)?;
    Ok(count.n == 0)
}

/// Loads a `pg_dump` archive into the (empty) database at `url`, in one transaction: a
/// failure leaves the database as empty as it was.
pub fn pg_load(url: &str, dump: &Path) -> anyhow::Result<()> {
    let out = Command::new("pg_restore")
        .args([
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
        ])
        .arg("--dbname")
        .arg(url)
        .arg(dump)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run pg_restore (is it installed?): {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "pg_restore failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// The migrations this build knows, for refusing an archive written by a newer one.
pub fn known_migrations(backend: crate::config::Backend) -> anyhow::Result<Vec<String>> {
    fn versions<DB: diesel::backend::Backend>(
        source: impl MigrationSource<DB>,
    ) -> anyhow::Result<Vec<String>> {
        let all = source
            .migrations()
            .map_err(|e| anyhow::anyhow!("cannot list this build's migrations: {e}"))?;
        Ok(all.iter().map(|m| m.name().version().to_string()).collect())
    }
    match backend {
        crate::config::Backend::Sqlite => versions::<Sqlite>(SQLITE_MIGRATIONS),
        crate::config::Backend::Postgres => versions::<Pg>(POSTGRES_MIGRATIONS),
    }
}
