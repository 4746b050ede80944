//! CSV import for the registries and for claims sent in batches by service points. Invalid
//! rows go to an error report (row, column, reason); valid rows go in, one transaction per
//! batch, so an interruption never leaves half a record.
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::roles::Role;
use crate::error::{AppError, FieldError};
use crate::service::claims::{self, ClaimInput, EmergencyExplanation, FamilyFacts};
use crate::service::registries::{self, EnrolmentInput, FacilityInput, PersonInput};
use crate::store::{self, users, DbConn, IdTable, Pool};
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Deserialize;
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
}

/// What happened to one valid-looking row.
enum RowResult {
    Imported,
    Skipped,
}

/// One claim row, as service points send it. Money is yuan with at most two decimals.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRow {
    pub id_number: String,
    pub family: String,
    pub encounter_kind: String,
    pub facility_code: String,
    pub admission_date: String,
    pub discharge_date: String,
    pub diagnosis_code: String,
    pub invoice_number: String,
    pub total_yuan: String,
    pub policy_scope_yuan: String,
    pub self_paid_yuan: String,
    #[serde(default)]
    pub filed: Option<bool>,
    #[serde(default)]
    pub referral: Option<bool>,
    #[serde(default)]
    pub third_party_liable: Option<bool>,
    #[serde(default)]
    pub settled_in_real_time: Option<bool>,
    #[serde(default)]
    pub special_disease: Option<String>,
    #[serde(default)]
    pub emergency_time: Option<String>,
    #[serde(default)]
    pub emergency_place: Option<String>,
    #[serde(default)]
    pub emergency_cause: Option<String>,
    #[serde(default)]
    pub emergency_witness: Option<String>,
    #[serde(default)]
    pub emergency_witness_contact: Option<String>,
    #[serde(default)]
    pub discharge_medicine_days: Option<u32>,
    #[serde(default)]
    pub chronic: Option<bool>,
}

pub const CLAIM_COLUMNS: [&str; 23] = [
    "id_number",
    "family",
    "encounter_kind",
    "facility_code",
    "admission_date",
    "discharge_date",
    "diagnosis_code",
    "invoice_number",
    "total_yuan",
    "policy_scope_yuan",
    "self_paid_yuan",
    "filed",
    "referral",
    "third_party_liable",
    "settled_in_real_time",
    "special_disease",
    "emergency_time",
    "emergency_place",
    "emergency_cause",
    "emergency_witness",
    "emergency_witness_contact",
    "discharge_medicine_days",
    "chronic",
];

/// Yuan text to fen, exactly: at most two decimals, not negative.
pub fn yuan_to_fen(text: &str) -> Result<i64, String> {
    let d: Decimal = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not an amount in yuan"))?;
    if d.scale() > 2 || d.is_sign_negative() {
        return Err(format!(
            "`{text}`: expected a non-negative amount with at most two decimals"
        ));
    }
    crate::domain::money::Fen::from_yuan_half_up(d)
        .map(|f| f.0)
        .ok_or_else(|| format!("`{text}` is too large"))
}

impl ClaimRow {
    pub fn into_input(self) -> Result<ClaimInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut money = |field: &str, text: &str| match yuan_to_fen(text) {
            Ok(v) => v,
            Err(message) => {
                errors.push(FieldError {
                    field: field.into(),
                    message,
                });
                0
            }
        };
        let total_fen = money("total_yuan", &self.total_yuan);
        let policy_scope_fen = money("policy_scope_yuan", &self.policy_scope_yuan);
        let self_paid_fen = money("self_paid_yuan", &self.self_paid_yuan);
        let text = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let parts = [
            self.emergency_time,
            self.emergency_place,
            self.emergency_cause,
            self.emergency_witness,
            self.emergency_witness_contact,
        ]
        .map(text);
        let emergency = parts.iter().any(Option::is_some).then(|| {
            let [time, place, cause, witness, witness_contact] =
                parts.map(Option::unwrap_or_default);
            EmergencyExplanation {
                time,
                place,
                cause,
                witness,
                witness_contact,
            }
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ClaimInput {
            family: self.family,
            id_number: Some(self.id_number),
            encounter_kind: self.encounter_kind,
            facility_code: self.facility_code,
            admission_date: self.admission_date,
            discharge_date: self.discharge_date,
            diagnosis_code: self.diagnosis_code,
            invoice_numbers: vec![self.invoice_number],
            total_fen,
            policy_scope_fen,
            self_paid_fen,
            facts: FamilyFacts {
                filed: self.filed.unwrap_or(false),
                referral: self.referral.unwrap_or(false),
                third_party_liable: self.third_party_liable.unwrap_or(false),
                settled_in_real_time: self.settled_in_real_time.unwrap_or(false),
                special_disease: text(self.special_disease),
                emergency,
                discharge_medicine_days: self.discharge_medicine_days,
                chronic_condition: self.chronic.unwrap_or(false),
                ..FamilyFacts::default()
            },
            itemised_lines: vec![],
        })
    }
}

/// Why a row did not go in.
enum RowError {
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

fn rejected(e: AppError) -> RowError {
    RowError::Rejected(match e {
        AppError::Validation(f) => f,
        AppError::Internal(e) => vec![FieldError {
            field: "-".into(),
            message: format!("{e:#}"),
        }],
        other => vec![FieldError {
            field: "-".into(),
            message: other.to_string(),
        }],
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
}

/// Imports `job.file`; returns the counts.
pub fn run(pool: &Pool, defs: &Definitions, job: &ImportJob<'_>) -> anyhow::Result<Report> {
    let ImportJob {
        kind,
        file,
        errors_path,
        batch,
        as_user,
        progress,
        wal_max_bytes,
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
    let now = store::now_ms();
    let bulk = store::BulkLoad::begin(pool, &mut conn, wal_max_bytes)?;
    let report = match kind {
        Kind::Persons => import_rows(
            &mut conn,
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
            &mut conn,
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
            &mut conn,
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
            &mut conn,
            &bulk,
            file,
            errors_path,
            batch,
            progress,
            &mut ClaimImport {
                defs,
                principal: &principal,
                lookups: claims::Lookups::default(),
                claim_ids: Vec::new().into_iter(),
                case_ids: Vec::new().into_iter(),
                planned: Vec::with_capacity(batch),
                now,
            },
        ),
    };
    bulk.end(&mut conn)?;
    let report = report?;
    if report.imported > 0 {
        conn.refresh_statistics(kind.tables())?;
    }
    Ok(report)
}

/// How rows of one kind go in. A batch is one transaction: `begin`, its rows, `finish`.
trait BatchImport<R> {
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

/// Claims: each row is planned (every read and check) as it comes; the batch's accepted
/// plans are written together at its end, as multi-row statements, under ids reserved when
/// the batch began. A rejected row has written nothing, so no savepoints are needed.
struct ClaimImport<'a> {
    defs: &'a crate::definitions::Definitions,
    principal: &'a Principal,
    lookups: claims::Lookups,
    claim_ids: std::vec::IntoIter<i64>,
    case_ids: std::vec::IntoIter<i64>,
    planned: Vec<claims::IntakePlan>,
    now: i64,
}

impl BatchImport<ClaimRow> for ClaimImport<'_> {
    const SAVEPOINT_PER_ROW: bool = false;

    fn begin(&mut self, conn: &mut DbConn, rows: usize) -> anyhow::Result<()> {
        self.claim_ids = store::reserve_ids(conn, IdTable::Claims, rows)?.into_iter();
        self.case_ids = store::reserve_ids(conn, IdTable::Cases, rows)?.into_iter();
        Ok(())
    }

    fn row(&mut self, conn: &mut DbConn, row: ClaimRow) -> Result<RowResult, RowError> {
        let input = row.into_input()?;
        claims::validate(&input)?;
        let workflow = self.defs.latest(&input.family).ok_or_else(|| {
            vec![FieldError {
                field: "family".into(),
                message: "no published workflow".into(),
            }]
        })?;
        let mut plan = claims::plan_intake(
            conn,
            self.defs,
            &mut self.lookups,
            self.principal,
            Role::Clerk,
            &input,
            &workflow,
            self.now,
        )
        .map_err(rejected)?;
        // Natural key: invoice number + facility. A file imported twice imports nothing
        // twice, and a row repeated within the file goes in once.
        let facility = plan.claim.facility_code.as_str();
        if plan
            .duplicates
            .iter()
            .any(|(_, uses)| uses.iter().any(|(_, f, _)| f == facility))
        {
            return Ok(RowResult::Skipped);
        }
        let (Some(claim_id), Some(case_id)) = (self.claim_ids.next(), self.case_ids.next()) else {
            return Err(RowError::Fatal(anyhow::anyhow!(
                "more rows than ids reserved for the batch"
            )));
        };
        plan.assign_ids(claim_id, case_id);
        self.lookups.note_pending(&plan);
        self.planned.push(plan);
        Ok(RowResult::Imported)
    }

    fn finish(&mut self, conn: &mut DbConn) -> anyhow::Result<()> {
        claims::write_intakes(conn, self.defs, self.principal, &self.planned, self.now)
            .map_err(|e| anyhow::anyhow!("writing the batch: {e}"))?;
        self.planned.clear();
        self.lookups.clear_pending();
        Ok(())
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
        let (mut imported, mut skipped) = (0, 0);
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
                    Ok(RowResult::Skipped) => skipped += 1,
                    Err(RowError::Rejected(fields)) => {
                        for f in fields {
                            rejected.push((line, f.field, f.message));
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
        let mut rows_rejected: Vec<usize> = rejected.iter().map(|r| r.0).collect();
        rows_rejected.dedup();
        report.rejected += rows_rejected.len();
        for (row, column, reason) in rejected {
            errors.write_record([row.to_string(), column, reason])?;
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
