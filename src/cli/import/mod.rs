//! CSV import for the registries and for claims sent in batches by service points. Invalid
//! rows go to an error report (row, column, reason); valid rows go in, one transaction per
//! batch, so an interruption never leaves half a record.
use crate::definitions::Definitions;
use crate::domain::roles::Role;
use crate::error::Msg;
use crate::error::{AppError, FieldError};
use crate::service::registries::{self, EnrolmentInput, FacilityInput, PersonInput};
use crate::store::{self, users, DbConn, Pool};
use indicatif::{ProgressBar, ProgressStyle};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Persons,
    Enrolments,
    Facilities,
    Claims,
}

impl Kind {
    /// The tables an import of this kind fills.
    fn tables(self) -> &'static [&'static str] {
        match self {
            Kind::Persons => &["persons"],
            Kind::Enrolments => &["enrolments"],
            Kind::Facilities => &["facilities", "facility_status"],
            Kind::Claims => &[
                "claims",
                "claim_stays",
                "claim_invoices",
                "cases",
                "audit_events",
                "case_findings",
            ],
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub rows: usize,
    pub imported: usize,
    /// Already present (same natural key): re-running a file imports nothing twice.
    pub skipped: usize,
    pub rejected: usize,
    /// Recorded and refused at once by a screening rule (an invoice another person was
    /// already paid on): counted among `imported`, each with a line in the error report.
    pub refused: usize,
    /// With `--history`: the indexes dropped for the load and built again.
    pub indexes_rebuilt: usize,
}

mod claims;
pub use claims::{yuan_to_fen, ClaimRow, CLAIM_COLUMNS};

/// What happened to one valid-looking row.
pub(super) enum RowResult {
    Imported,
    /// Imported, and refused at once: the column and the finding's reason (zh, en).
    Refused(&'static str, String, String),
    Skipped,
}

/// Why a row did not go in.
pub(super) enum RowError {
    /// The row is wrong: reported, and the import goes on. Nothing of it was written.
    Rejected(Vec<FieldError>),
    /// The database failed: the batch rolls back and the import stops.
    Fatal(anyhow::Error),
}

impl From<Vec<FieldError>> for RowError {
    fn from(fields: Vec<FieldError>) -> Self {
        RowError::Rejected(fields)
    }
}

impl From<diesel::result::Error> for RowError {
    fn from(e: diesel::result::Error) -> Self {
        RowError::Fatal(e.into())
    }
}

pub(super) fn rejected(e: AppError) -> RowError {
    RowError::Rejected(match e {
        AppError::Validation(f) => f,
        // A control's refusal, in both languages, on its field.
        AppError::Rule(r) => vec![FieldError::new(
            r.fields.first().map_or("-", |f| *f),
            Msg::new("detail").both("text", r.zh, r.en),
        )],
        AppError::Internal(e) => vec![FieldError::new(
            "-",
            Msg::new("detail").text("text", format!("{e:#}")),
        )],
        other => vec![FieldError::new(
            "-",
            Msg::new("detail").both("text", other.text("zh-CN"), other.text("en")),
        )],
    })
}

fn field_errors(e: AppError) -> Result<RowResult, RowError> {
    Err(rejected(e))
}

pub fn default_error_path(file: &Path) -> PathBuf {
    let mut name = file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".errors.csv");
    file.with_file_name(name)
}

/// One import: what to read, where rejected rows go, and how.
pub struct ImportJob<'a> {
    pub kind: Kind,
    pub file: &'a Path,
    pub errors_path: &'a Path,
    /// Rows per transaction.
    pub batch: usize,
    /// The clerk or admin the rows are filed by.
    pub as_user: &'a str,
    pub progress: bool,
    /// SQLite: restart the WAL past this size during the load.
    pub wal_max_bytes: u64,
    /// `max_claim_yuan` in fen.
    pub max_claim_fen: i64,
    /// Loading history: the indexes intake never reads are dropped for the load and built
    /// at its end ([`store::history_indexes`]).
    pub history: bool,
}

/// Imports `job.file`; returns the counts.
pub fn run(pool: &Pool, defs: &Definitions, job: &ImportJob<'_>) -> anyhow::Result<Report> {
    let ImportJob {
        kind,
        as_user,
        progress,
        history,
        ..
    } = *job;
    let mut conn = pool.get()?;
    let user = users::find_by_username(&mut conn, as_user)?
        .ok_or_else(|| anyhow::anyhow!("no user `{as_user}`"))?;
    let principal =
        crate::service::principal(&mut conn, user).map_err(|e| anyhow::anyhow!("{e}"))?;
    let needed = if kind == Kind::Claims {
        Role::Clerk
    } else {
        Role::Admin
    };
    anyhow::ensure!(
        principal.has(needed),
        "`{as_user}` needs the {needed} role to import {kind:?}"
    );
    anyhow::ensure!(
        !history || kind == Kind::Claims,
        "--history is for `import claims` (registries are small and read by intake)"
    );
    let now = store::now_ms();
    let dropped = if history {
        store::history_indexes::drop_for_history(&mut conn, now)?
    } else {
        0
    };
    let loaded = load(&mut conn, pool, defs, &principal, job, now);
    // Built again whether the load succeeded or not; a crash leaves them to the next start.
    let rebuilt = if dropped > 0 {
        rebuild_indexes(&mut conn, dropped, progress)?
    } else {
        0
    };
    let mut report = loaded?;
    report.indexes_rebuilt = rebuilt;
    if report.imported > 0 {
        conn.refresh_statistics(kind.tables())?;
    }
    Ok(report)
}

fn rebuild_indexes(conn: &mut DbConn, dropped: usize, progress: bool) -> anyhow::Result<usize> {
    let bar = crate::cli::counted_bar(progress, dropped, "rebuilding indexes");
    let rebuilt = store::history_indexes::rebuild(conn, &|name| {
        bar.set_message(format!("rebuilt {name}"));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    Ok(rebuilt)
}

/// The load itself: every row of `job.file`, batch by batch.
fn load(
    conn: &mut DbConn,
    pool: &Pool,
    defs: &Definitions,
    principal: &crate::auth::Principal,
    job: &ImportJob<'_>,
    now: i64,
) -> anyhow::Result<Report> {
    let ImportJob {
        kind,
        file,
        errors_path,
        batch,
        progress,
        wal_max_bytes,
        max_claim_fen,
        ..
    } = *job;
    let bulk = store::BulkLoad::begin(pool, conn, wal_max_bytes)?;
    let report = match kind {
        Kind::Persons => import_rows(
            conn,
            &bulk,
            file,
            errors_path,
            batch,
            progress,
            &mut |conn: &mut DbConn, row: PersonInput| {
                let person = registries::validate_person(&row)?;
                if store::persons::by_id_number(conn, &person.id_number)?.is_some() {
                    return Ok(RowResult::Skipped);
                }
                registries::add_person(conn, &row)
                    .map(|_| RowResult::Imported)
                    .or_else(field_errors)
            },
        ),
        Kind::Enrolments => import_rows(
            conn,
            &bulk,
            file,
            errors_path,
            batch,
            progress,
            &mut |conn: &mut DbConn, row: EnrolmentInput| {
                registries::add_enrolment(conn, &row)
                    .map(|_| RowResult::Imported)
                    .or_else(field_errors)
            },
        ),
        Kind::Facilities => import_rows(
            conn,
            &bulk,
            file,
            errors_path,
            batch,
            progress,
            &mut |conn: &mut DbConn, row: FacilityInput| {
                if store::facilities::get(conn, row.code.trim())?.is_some() {
                    return Ok(RowResult::Skipped);
                }
                registries::add_facility(conn, &row, now)
                    .map(|_| RowResult::Imported)
                    .or_else(field_errors)
            },
        ),
        Kind::Claims => import_rows(
            conn,
            &bulk,
            file,
            errors_path,
            batch,
            progress,
            &mut claims::ClaimImport::new(defs, principal, batch, now, max_claim_fen),
        ),
    };
    bulk.end(conn)?;
    report
}

/// How rows of one kind go in. A batch is one transaction: `begin`, its rows, `finish`.
pub(super) trait BatchImport<R> {
    /// True when a row may write before all its checks are done, so that a rejected row
    /// must be rolled back to a savepoint.
    const SAVEPOINT_PER_ROW: bool = true;

    fn begin(&mut self, _conn: &mut DbConn, _rows: usize) -> anyhow::Result<()> {
        Ok(())
    }

    fn row(&mut self, conn: &mut DbConn, row: R) -> Result<RowResult, RowError>;

    fn finish(&mut self, _conn: &mut DbConn) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Definitions rows: checked and written one at a time.
impl<R, F> BatchImport<R> for F
where
    F: FnMut(&mut DbConn, R) -> Result<RowResult, RowError>,
{
    fn row(&mut self, conn: &mut DbConn, row: R) -> Result<RowResult, RowError> {
        self(conn, row)
    }
}

fn import_rows<R: DeserializeOwned, I: BatchImport<R>>(
    conn: &mut DbConn,
    bulk: &store::BulkLoad,
    file: &Path,
    errors_path: &Path,
    batch: usize,
    progress: bool,
    import: &mut I,
) -> anyhow::Result<Report> {
    let size = std::fs::metadata(file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
        .len();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(file)?;
    let mut errors = csv::Writer::from_path(errors_path)?;
    errors.write_record(["row", "column", "reason"])?;
    let headers = reader.headers()?.clone();
    let bar = if progress {
        ProgressBar::new(size)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut report = Report::default();
    let mut records = reader.records().peekable();
    let mut line = 1;
    while records.peek().is_some() {
        let mut rejected: Vec<(usize, String, String)> = Vec::new();
        // Rows that went in but were refused: the error report says so, row by row.
        let mut notes: Vec<(usize, String, String)> = Vec::new();
        let (mut imported, mut skipped, mut refused) = (0, 0, 0);
        conn.write_tx(|conn| {
            import.begin(conn, batch)?;
            for record in records.by_ref().take(batch) {
                line += 1;
                report.rows += 1;
                let record = match record {
                    Ok(r) => r,
                    Err(e) => {
                        rejected.push((line, "-".into(), format!("unreadable CSV: {e}")));
                        continue;
                    }
                };
                line = record.position().map_or(line, |p| p.line() as usize);
                let row: R = match record.deserialize(Some(&headers)) {
                    Ok(r) => r,
                    Err(e) => {
                        let column = match e.kind() {
                            csv::ErrorKind::Deserialize { err, .. } => err
                                .field()
                                .and_then(|i| headers.get(i as usize))
                                .unwrap_or("-")
                                .to_string(),
                            _ => "-".into(),
                        };
                        rejected.push((line, column, e.to_string()));
                        continue;
                    }
                };
                let outcome = if I::SAVEPOINT_PER_ROW {
                    conn.savepoint(|conn| import.row(conn, row))
                } else {
                    import.row(conn, row)
                };
                match outcome {
                    Ok(RowResult::Imported) => imported += 1,
                    Ok(RowResult::Refused(column, zh, en)) => {
                        imported += 1;
                        refused += 1;
                        notes.push((line, column.to_string(), format!("{zh} / {en}")));
                    }
                    Ok(RowResult::Skipped) => skipped += 1,
                    Err(RowError::Rejected(fields)) => {
                        for f in fields {
                            let (zh, en) = crate::messages::render_both(&f.msg);
                            rejected.push((line, f.field, format!("{zh} / {en}")));
                        }
                    }
                    Err(RowError::Fatal(e)) => return Err(e.context(format!("row at line {line}"))),
                }
            }
            import.finish(conn)
        })?;
        bulk.between_batches(conn)?;
        // Counted only once the batch is committed.
        report.imported += imported;
        report.skipped += skipped;
        report.refused += refused;
        let mut rows_rejected: Vec<usize> = rejected.iter().map(|r| r.0).collect();
        rows_rejected.dedup();
        report.rejected += rows_rejected.len();
        rejected.extend(notes);
        rejected.sort_by_key(|r| r.0);
        for (row, column, reason) in rejected {
            errors.write_record(crate::domain::export::safe_record([
                row.to_string(),
                column,
                reason,
            ]))?;
        }
        bar.set_position(
            records
                .peek()
                .and_then(|r| r.as_ref().ok())
                .and_then(|r| r.position())
                .map_or(size, |p| p.byte()),
        );
        bar.set_message(format!(
            "{} imported, {} skipped, {} rejected",
            report.imported, report.skipped, report.rejected
        ));
    }
    errors.flush()?;
    bar.finish();
    Ok(report)
}
