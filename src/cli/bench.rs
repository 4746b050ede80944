//! Baselines for the benchmark runner (`bench/run.py`, BENCHMARKS.md): what the database alone
//! does on this machine, measured in the same run as claimflow's own figures, so that each
//! figure can be read as a ratio to the ceiling under it.
//!
//! - `insert`: a plain diesel insert of N claim-shaped rows into one table without secondary
//!   indexes, in one transaction (the ceiling for bulk intake, P1);
//! - `commits`: N transactions of one row each (the ceiling for durable transitions, P3);
//! - `scan`: every claim read in the backtest's order and pages, no rules (the ceiling for the
//!   screening backtest, P4).
use crate::db_run;
use crate::store::DbConn;
use diesel::prelude::*;
use serde::Serialize;
use std::time::Instant;

diesel::table! {
    bench_baseline (id) {
        id -> BigInt,
        person_id -> BigInt,
        facility_code -> Text,
        family -> Text,
        admission_date -> Text,
        discharge_date -> Text,
        invoice_number -> Text,
        total_fen -> BigInt,
        policy_scope_fen -> BigInt,
        self_paid_fen -> BigInt,
        created_at -> BigInt,
    }
}

#[derive(Insertable)]
#[diesel(table_name = bench_baseline)]
struct BaselineRow {
    id: i64,
    person_id: i64,
    facility_code: String,
    family: String,
    admission_date: String,
    discharge_date: String,
    invoice_number: String,
    total_fen: i64,
    policy_scope_fen: i64,
    self_paid_fen: i64,
    created_at: i64,
}

/// Rows per INSERT statement: 11 columns stay under SQLite's 32,766 bound parameters.
const ROWS_PER_STATEMENT: usize = 2_000;

#[derive(Debug, Serialize)]
pub struct Measured {
    pub baseline: &'static str,
    pub rows: u64,
    pub secs: f64,
    pub rows_per_s: f64,
}

impl Measured {
    fn new(baseline: &'static str, rows: u64, started: Instant) -> Measured {
        let secs = started.elapsed().as_secs_f64();
        Measured {
            baseline,
            rows,
            secs,
            rows_per_s: rows as f64 / secs.max(1e-9),
        }
    }
}

fn row(id: i64) -> BaselineRow {
    BaselineRow {
        id,
        person_id: id / 4 + 1,
        facility_code: format!("G33{:05}", id % 200),
        family: "out_of_region".into(),
        admission_date: "2019-03-01".into(),
        discharge_date: "2019-03-08".into(),
        invoice_number: format!("INV{id:010}"),
        total_fen: 1_234_500 + id % 1000,
        policy_scope_fen: 1_000_000,
        self_paid_fen: 234_500,
        created_at: 1_700_000_000_000 + id,
    }
}

fn create_table(conn: &mut DbConn) -> QueryResult<()> {
    // INTEGER PRIMARY KEY is SQLite's rowid, as in `claims`; PostgreSQL wants BIGINT.
    let id = match conn.backend() {
        crate::config::Backend::Sqlite => "INTEGER",
        crate::config::Backend::Postgres => "BIGINT",
    };
    let sql = format!(
        "CREATE TABLE bench_baseline (id {id} PRIMARY KEY, person_id BIGINT NOT NULL, \
         facility_code TEXT NOT NULL, family TEXT NOT NULL, admission_date TEXT NOT NULL, \
         discharge_date TEXT NOT NULL, invoice_number TEXT NOT NULL, total_fen BIGINT NOT NULL, \
         policy_scope_fen BIGINT NOT NULL, self_paid_fen BIGINT NOT NULL, created_at BIGINT NOT NULL)"
    );
    drop_table(conn)?;
    db_run!(conn, c => diesel::sql_query(sql).execute(c))?;
    Ok(())
}

fn drop_table(conn: &mut DbConn) -> QueryResult<()> {
    db_run!(conn, c => diesel::sql_query("DROP TABLE IF EXISTS bench_baseline").execute(c))?;
    Ok(())
}

/// N rows in one transaction, as multi-row INSERTs. Building the rows is not timed.
pub fn insert(conn: &mut DbConn, rows: u64) -> QueryResult<Measured> {
    create_table(conn)?;
    let all: Vec<BaselineRow> = (1..=rows as i64).map(row).collect();
    let started = Instant::now();
    conn.write_tx(|conn| {
        for chunk in all.chunks(ROWS_PER_STATEMENT) {
            db_run!(conn, c => diesel::insert_into(bench_baseline::table).values(chunk).execute(c))?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    let measured = Measured::new("insert", rows, started);
    drop_table(conn)?;
    Ok(measured)
}

/// N transactions of one row each: the rate of durable commits.
pub fn commits(conn: &mut DbConn, rows: u64) -> QueryResult<Measured> {
    create_table(conn)?;
    let started = Instant::now();
    for id in 1..=rows as i64 {
        let one = row(id);
        conn.write_tx(|conn| {
            db_run!(conn, c => diesel::insert_into(bench_baseline::table).values(&one).execute(c))
        })?;
    }
    let measured = Measured::new("commits", rows, started);
    drop_table(conn)?;
    Ok(measured)
}

/// Every claim touching `from..=to`, read in the backtest's pages of whole persons.
pub fn scan(conn: &mut DbConn, from: &str, to: &str) -> QueryResult<Measured> {
    let started = Instant::now();
    let (mut after, mut rows, mut total_fen) = (0i64, 0u64, 0i64);
    while let Some(persons) = crate::cli::screen::whole_persons(conn, after, from, to)? {
        rows += persons.page.len() as u64;
        // Touch every row so that nothing is optimised away.
        total_fen = total_fen.wrapping_add(persons.page.iter().map(|r| r.total_fen).sum::<i64>());
        after = persons.upto;
        if !persons.full {
            break;
        }
    }
    std::hint::black_box(total_fen);
    Ok(Measured::new("scan", rows, started))
}
