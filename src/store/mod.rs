//! Persistence. One enum over the two backends; store code is written once and compiled for
//! each through [`db_run!`], so each backend keeps its full feature set (SQLite's
//! `BEGIN IMMEDIATE`, PostgreSQL's `FOR UPDATE SKIP LOCKED`, multi-row inserts, upserts).
use crate::config::{Backend, Config};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryResult, QueryableByName, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub mod appeals;
pub mod audit;
pub mod audit_checkpoints;
pub mod audit_verify;
pub mod backup;
pub mod blobs;
pub mod cases;
pub mod claims;
pub mod facilities;
pub mod facility_side;
pub mod findings;
pub mod history_indexes;
pub mod inbox;
pub mod jobs;
pub mod logins;
pub mod outbox;
pub mod payments;
pub mod persons;
pub mod queue;
pub mod regions;
pub mod replica;
pub mod reports;
pub mod schema;
pub mod screening;
pub mod search;
pub mod sessions;
pub mod supervision;
pub mod team;
pub mod users;
pub mod whatif;
pub mod workflows;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

pub enum DbConn {
    /// A SQLite connection and the write gate it shares with the rest of its pool.
    Sqlite(SqliteConnection, WriteGate),
    Pg(PgConnection),
}

/// Admits one SQLite write transaction of a pool at a time. SQLite has one writer per file;
/// without the gate, writers that find the lock taken sleep in SQLite's busy handler
/// (1, 2, 5, 10… ms) and most of them wake to find it taken again: 64 reviewers acting at
/// once then committed about 650 transitions/s. A mutex hands the lock to the next
/// writer the moment it is free. Other processes on the same file (an import beside the
/// service) still meet at the busy timeout.
#[derive(Clone)]
pub struct WriteGate {
    turn: std::sync::Arc<parking_lot::Mutex<()>>,
    /// The busy timeout: how long a writer waits at the gate, as at SQLite's lock.
    wait: std::time::Duration,
}

impl WriteGate {
    fn new(busy_timeout_ms: u32) -> Self {
        WriteGate {
            turn: Default::default(),
            wait: std::time::Duration::from_millis(busy_timeout_ms.into()),
        }
    }
}

/// Runs `$body` with `$c` bound to the inner connection of either backend. The body is
/// compiled once per backend.
#[macro_export]
macro_rules! db_run {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::DbConn::Sqlite($c, _) => $body,
            $crate::store::DbConn::Pg($c) => $body,
        }
    };
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Sqlite(..) => Backend::Sqlite,
            DbConn::Pg(_) => Backend::Postgres,
        }
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`),
    /// so that concurrent writers queue on the busy timeout instead of failing on upgrade.
    /// Called inside another transaction, it becomes a savepoint of that one.
    pub fn write_tx<T, E>(&mut self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        // Inside a transaction already (a batch import, say): nest as a savepoint.
        let depth = db_run!(self, c => AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth())?;
        if depth.is_some() {
            return self.savepoint(f);
        }
        match self {
            DbConn::Sqlite(c, gate) => {
                // Bounded by the busy timeout: a thread that already holds the gate through
                // another connection of the pool goes on to SQLite's own wait, and fails
                // there as busy instead of waiting for itself.
                let gate = gate.clone();
                let _turn = gate.turn.try_lock_for(gate.wait);
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
                return self.commit_or_roll_back(f);
            }
            DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
        }
        self.commit_or_roll_back(f)
    }

    /// Runs `f` in the transaction or savepoint just begun, and ends it by its result.
    fn commit_or_roll_back<T, E>(
        &mut self,
        f: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        match f(self) {
            Ok(value) => {
                db_run!(self, c => AnsiTransactionManager::commit_transaction(c))?;
                Ok(value)
            }
            Err(e) => {
                // The original error matters more than a failed rollback; a broken
                // transaction state makes r2d2 discard the connection anyway.
                let _ = db_run!(self, c => AnsiTransactionManager::rollback_transaction(c));
                Err(e)
            }
        }
    }

    /// A nested unit inside a transaction (a savepoint): on error only its own writes are
    /// undone, and the enclosing transaction goes on.
    pub fn savepoint<T, E>(&mut self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        db_run!(self, c => AnsiTransactionManager::begin_transaction(c))?;
        self.commit_or_roll_back(f)
    }

    /// Refreshes PostgreSQL's statistics on tables a bulk load has just filled. It plans from
    /// sampled statistics, and until autovacuum catches up it believes such a table is nearly
    /// empty: the queue then ran a bitmap AND over the whole cases table (4 ms a lane instead
    /// of 0.4 ms). Only the loaded tables: statistics taken of a still-empty table make later
    /// loads plan sequential scans. SQLite keeps no statistics unless asked (no
    /// `sqlite_stat1`), and its planner's defaults already favour the indexes.
    pub fn refresh_statistics(&mut self, tables: &[&str]) -> QueryResult<()> {
        match self {
            DbConn::Sqlite(..) => Ok(()),
            DbConn::Pg(c) => diesel::RunQueryDsl::execute(
                diesel::sql_query(format!("ANALYZE {}", tables.join(", "))),
                c,
            )
            .map(drop),
        }
    }

    pub fn run_migrations(&mut self) -> anyhow::Result<Vec<String>> {
        let applied = match self {
            DbConn::Sqlite(c, _) => c.run_pending_migrations(SQLITE_MIGRATIONS),
            DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        let applied: Vec<String> = applied.iter().map(|v| v.to_string()).collect();
        // Invoice rows from before the normal form was kept get theirs (SQL cannot compute
        // it); an index range on the empty key, so nothing to do is cheap.
        let filled = self
            .write_tx(claims::fill_invoice_keys)
            .map_err(|e| anyhow::anyhow!("filling invoice keys: {e}"))?;
        if filled > 0 {
            tracing::info!(filled, "invoice numbers given their normal form");
        }
        Ok(applied)
    }

    pub fn migrations_pending(&mut self) -> anyhow::Result<bool> {
        let pending = match self {
            DbConn::Sqlite(c, _) => c.pending_migrations(SQLITE_MIGRATIONS).map(|p| p.len()),
            DbConn::Pg(c) => c.pending_migrations(POSTGRES_MIGRATIONS).map(|p| p.len()),
        }
        .map_err(|e| anyhow::anyhow!("cannot read migration state: {e}"))?;
        Ok(pending > 0)
    }
}

pub struct DbManager {
    url: String,
    backend: Backend,
    busy_timeout_ms: u32,
    write_gate: WriteGate,
}

impl DbManager {
    pub fn new(config: &Config) -> anyhow::Result<DbManager> {
        DbManager::with_url(config, &config.database_url)
    }

    /// A manager for `url` of the configured engine (the read replica's, for one).
    pub fn with_url(config: &Config, url: &str) -> anyhow::Result<DbManager> {
        let backend = config.backend()?;
        let url = match backend {
            Backend::Sqlite => url.trim_start_matches("sqlite://").to_string(),
            Backend::Postgres => url.to_string(),
        };
        Ok(DbManager {
            url,
            backend,
            busy_timeout_ms: config.sqlite_busy_timeout_ms,
            write_gate: WriteGate::new(config.sqlite_busy_timeout_ms),
        })
    }

    pub fn connect(&self) -> Result<DbConn, diesel::ConnectionError> {
        match self.backend {
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(&self.url)?;
                // WAL lets readers proceed during a write; NORMAL is durable across
                // application crashes and ~5x faster than FULL on commit.
                // busy_timeout first, so that the statements after it wait instead of failing.
                c.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;",
                    self.busy_timeout_ms
                ))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(c, self.write_gate.clone()))
            }
            Backend::Postgres => Ok(DbConn::Pg(PgConnection::establish(&self.url)?)),
        }
    }
}

impl ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        DbManager::connect(self).map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        db_run!(conn, c => c.batch_execute("SELECT 1")).map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        db_run!(conn, c => AnsiTransactionManager::is_broken_transaction_manager(c))
    }
}

pub type Pool = r2d2::Pool<DbManager>;
pub type PooledConn = r2d2::PooledConnection<DbManager>;

pub fn build_pool(config: &Config) -> anyhow::Result<Pool> {
    let manager = DbManager::new(config)?;
    // One connection first: switching a new SQLite file to WAL takes a lock that the pool's
    // parallel connects would otherwise contend for.
    manager
        .connect()
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    r2d2::Pool::builder()
        .max_size(config.pool_size)
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(manager)
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))
}

/// The row of a lookup by a unique key. Such lookups load instead of calling `.first()`:
/// `.first()` adds `LIMIT ?`, and SQLite treats a statement whose LIMIT is a bound
/// parameter as expired on every re-bind, preparing it afresh each run (a tenth of a bulk
/// import's time went there).
pub fn at_most_one<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
}

/// Inserts `rows` (a slice of `Insertable` structs whose `None`s mean NULL) into `table` as
/// multi-row statements of [`INSERT_CHUNK`] rows; evaluates to the rows written.
#[macro_export]
macro_rules! insert_chunked {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut written = 0usize;
        for chunk in $rows.chunks($crate::store::INSERT_CHUNK) {
            written += $crate::db_run!($conn, c => diesel::insert_into($table).values(chunk).execute(c))?;
        }
        written
    }};
}

/// Tables whose ids a bulk writer picks before inserting, so that rows written together in
/// multi-row statements can already refer to each other.
#[derive(Debug, Clone, Copy)]
pub enum IdTable {
    Claims,
    Cases,
}

impl IdTable {
    fn name(self) -> &'static str {
        match self {
            IdTable::Claims => "claims",
            IdTable::Cases => "cases",
        }
    }
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// `n` unused ids of `table`. SQLite: call inside a write transaction; `BEGIN IMMEDIATE`
/// holds the only write lock, so the ids after the largest ever used stay free until it
/// commits. PostgreSQL: drawn from the table's sequence, safe across sessions; ids left
/// unused become gaps, as a rolled-back insert's do.
pub fn reserve_ids(conn: &mut DbConn, table: IdTable, n: usize) -> QueryResult<Vec<i64>> {
    use diesel::RunQueryDsl;
    let name = table.name();
    match conn {
        DbConn::Sqlite(c, _) => {
            // AUTOINCREMENT never reuses an id, even of a deleted last row: respect its mark.
            let last = diesel::sql_query(format!(
                "SELECT MAX(COALESCE((SELECT MAX(id) FROM {name}), 0), \
                 COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{name}'), 0)) AS id"
            ))
            .get_result::<IdRow>(c)?
            .id;
            Ok((last + 1..=last + n as i64).collect())
        }
        DbConn::Pg(c) => Ok(diesel::sql_query(format!(
            "SELECT nextval(pg_get_serial_sequence('{name}', 'id')) AS id \
             FROM generate_series(1, $1)"
        ))
        .bind::<diesel::sql_types::Integer, _>(n as i32)
        .load::<IdRow>(c)?
        .into_iter()
        .map(|r| r.id)
        .collect()),
    }
}

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters for our widest
/// table, and large enough that per-statement overhead vanishes.
pub const INSERT_CHUNK: usize = 256;

/// A long bulk load on one connection, the writer.
///
/// SQLite: a second connection checkpoints the WAL from its own thread while the writer's
/// automatic checkpoints are off, so the writer never stops at a commit to copy pages back
/// into the database file (a tenth of import time) and the second core does it instead;
/// WAL lets a checkpoint run beside the writer. A larger cache and rarer checkpoints on the
/// writer alone were measured and made no difference.
///
/// A passive checkpoint copies pages back but never rewinds the WAL: SQLite starts the log
/// over only when a writer begins while every frame is checkpointed, and a writer that
/// commits batch after batch never finds that moment. So once the log holds more than
/// `wal_max_bytes`, the checkpointer asks the writer, which runs a RESTART checkpoint between
/// two batches (from the other thread it would starve: the writer takes the lock back first)
/// and then starts the log over, so the WAL file stays at about that size.
///
/// PostgreSQL: commits do not wait for the WAL flush. A crash may lose the last batches,
/// never half of one, and a re-run of the file imports only what is missing.
pub struct BulkLoad {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    checkpointer: Option<std::thread::JoinHandle<()>>,
    restart_wanted: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// One row of `PRAGMA wal_checkpoint`: frames in the log and frames copied back.
#[derive(QueryableByName)]
struct CheckpointResult {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
}

impl BulkLoad {
    pub fn begin(pool: &Pool, writer: &mut DbConn, wal_max_bytes: u64) -> anyhow::Result<Self> {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let restart_wanted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let checkpointer = match writer {
            DbConn::Pg(c) => {
                c.batch_execute("SET synchronous_commit = off")?;
                None
            }
            DbConn::Sqlite(w, _) => {
                let mut own = pool.get()?;
                w.batch_execute("PRAGMA wal_autocheckpoint = 0")?;
                let page_bytes: i64 = match &mut *own {
                    DbConn::Sqlite(c, _) => {
                        diesel::sql_query("PRAGMA page_size")
                            .get_result::<PageSize>(c)?
                            .page_size
                    }
                    DbConn::Pg(_) => unreachable!("one pool, one backend"),
                };
                let max_frames = (wal_max_bytes / page_bytes.max(512) as u64).max(1) as i64;
                let stopping = stop.clone();
                let wanted = restart_wanted.clone();
                Some(std::thread::spawn(move || {
                    let DbConn::Sqlite(c, _) = &mut *own else {
                        return;
                    };
                    while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        // PASSIVE never blocks the writer; a busy round is simply retried.
                        let frames = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                            .get_result::<CheckpointResult>(c);
                        match frames {
                            Ok(r) if i64::from(r.log) > max_frames => {
                                wanted.store(true, std::sync::atomic::Ordering::Relaxed)
                            }
                            Ok(_) => {}
                            Err(e) => tracing::debug!("background checkpoint: {e}"),
                        }
                    }
                }))
            }
        };
        Ok(BulkLoad {
            stop,
            checkpointer,
            restart_wanted,
        })
    }

    /// Called by the writer after each committed batch: the RESTART checkpoint, if asked for.
    pub fn between_batches(&self, writer: &mut DbConn) -> diesel::QueryResult<()> {
        match writer {
            DbConn::Sqlite(c, _)
                if self
                    .restart_wanted
                    .swap(false, std::sync::atomic::Ordering::Relaxed) =>
            {
                c.batch_execute("PRAGMA wal_checkpoint(RESTART)")
            }
            _ => Ok(()),
        }
    }

    /// Back to the writer's usual settings (it returns to the pool afterwards).
    pub fn end(mut self, writer: &mut DbConn) -> diesel::QueryResult<()> {
        self.stop_checkpointer();
        match writer {
            DbConn::Pg(c) => c.batch_execute("SET synchronous_commit = on"),
            DbConn::Sqlite(c, _) => c.batch_execute("PRAGMA wal_autocheckpoint = 1000"),
        }
    }

    fn stop_checkpointer(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.checkpointer.take() {
            let _ = t.join();
        }
    }
}

impl Drop for BulkLoad {
    fn drop(&mut self) {
        self.stop_checkpointer();
    }
}

#[derive(QueryableByName)]
struct PageSize {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    page_size: i64,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Whether a committed document or evidence row names this blob.
pub fn blob_referenced(conn: &mut DbConn, sha256: &str) -> QueryResult<bool> {
    use diesel::dsl::exists;
    use diesel::{ExpressionMethods, QueryDsl};
    use schema::{claim_documents, evidence_files};
    let (document, evidence): (bool, bool) = db_run!(conn, c => diesel::select((
        exists(claim_documents::table.filter(claim_documents::sha256.eq(sha256))),
        exists(evidence_files::table.filter(evidence_files::sha256.eq(sha256))),
    ))
    .get_result(c))?;
    Ok(document || evidence)
}
