//! Inspections, violations with their sanctions, evidence files and recoveries.
use super::schema::{
    cases, claims, dual_approvals, evidence_files, inspections, person_suspensions, recoveries,
    violations,
};
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = inspections)]
pub struct InspectionRow {
    pub id: i64,
    pub facility_code: String,
    /// planned, unannounced, random_recheck or follow_up
    pub kind: String,
    pub inspected_on: String,
    pub team: String,
    pub scope: String,
    pub inspector_id: i64,
    pub region_code: String,
    pub created_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = inspections)]
pub struct NewInspection<'a> {
    pub facility_code: &'a str,
    pub kind: &'a str,
    pub inspected_on: &'a str,
    pub team: &'a str,
    pub scope: &'a str,
    pub inspector_id: i64,
    pub region_code: &'a str,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = violations)]
pub struct ViolationRow {
    pub id: i64,
    pub inspection_id: Option<i64>,
    pub facility_code: String,
    pub type_code: String,
    pub article: String,
    pub amount_fen: i64,
    /// JSON array of claim ids.
    pub claim_ids: String,
    pub department: String,
    pub description: String,
    pub region_code: String,
    pub created_by: i64,
    pub created_at: i64,
    pub repay_fen: Option<i64>,
    pub fine_fen: Option<i64>,
    pub suspension_months: Option<i32>,
    pub suspended_from: Option<String>,
    pub suspended_until: Option<String>,
    pub terminated: Option<bool>,
    pub sanction_reason: Option<String>,
    pub sanctioned_by: Option<i64>,
    pub sanctioned_at: Option<i64>,
    pub rectification_due: Option<String>,
    /// Order 735 Art. 41: the insured person the violation is against.
    pub person_id: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = violations)]
pub struct NewViolation<'a> {
    pub person_id: Option<i64>,
    pub inspection_id: Option<i64>,
    pub facility_code: &'a str,
    pub type_code: &'a str,
    pub article: &'a str,
    pub amount_fen: i64,
    pub claim_ids: &'a str,
    pub department: &'a str,
    pub description: &'a str,
    pub region_code: &'a str,
    pub created_by: i64,
    pub created_at: i64,
}

/// The sanction as decided.
#[derive(AsChangeset)]
#[diesel(table_name = violations)]
pub struct SanctionRecord<'a> {
    pub repay_fen: Option<i64>,
    pub fine_fen: Option<i64>,
    pub suspension_months: Option<i32>,
    pub suspended_from: Option<&'a str>,
    pub suspended_until: Option<&'a str>,
    pub terminated: Option<bool>,
    pub sanction_reason: Option<&'a str>,
    pub sanctioned_by: Option<i64>,
    pub sanctioned_at: Option<i64>,
    pub rectification_due: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = evidence_files)]
pub struct EvidenceRow {
    pub id: i64,
    pub subject_kind: String,
    pub subject_id: i64,
    pub sha256: String,
    pub content_type: String,
    pub filename: String,
    pub size_bytes: i64,
    pub uploaded_by: Option<i64>,
    pub uploaded_at: i64,
    /// Shown to the facility (staff decide for their evidence; the facility's own files are).
    pub disclosed: bool,
    /// `evidence` (staff), or the facility's `statement`, `rectification` or `appeal` files.
    pub purpose: String,
}

#[derive(Insertable)]
#[diesel(table_name = evidence_files)]
pub struct NewEvidence<'a> {
    pub subject_kind: &'a str,
    pub subject_id: i64,
    pub sha256: &'a str,
    pub content_type: &'a str,
    pub filename: &'a str,
    pub size_bytes: i64,
    pub uploaded_by: Option<i64>,
    pub uploaded_at: i64,
    pub disclosed: bool,
    pub purpose: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = recoveries)]
pub struct RecoveryRow {
    pub id: i64,
    pub violation_id: i64,
    /// repay or fine
    pub kind: String,
    pub amount_fen: i64,
    pub paid_fen: i64,
    pub created_at: i64,
    pub settled_at: Option<i64>,
    /// Written off by two supervisors: no longer owed, never paid.
    pub written_off_fen: i64,
}

impl RecoveryRow {
    /// What is still owed.
    pub fn outstanding_fen(&self) -> i64 {
        self.amount_fen - self.paid_fen - self.written_off_fen
    }
}

/// A decision that needs a second supervisor: a sanction below the article's minimum, or a
/// write-off.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = dual_approvals)]
pub struct DualApproval {
    pub id: i64,
    pub violation_id: i64,
    /// mitigated_sanction or write_off
    pub kind: String,
    /// JSON: the sanction proposed, or the amounts to write off.
    pub proposal: String,
    pub reason_code: Option<String>,
    pub reason: String,
    pub proposed_by: i64,
    pub proposed_at: i64,
    pub decided_by: Option<i64>,
    pub decided_at: Option<i64>,
    /// approved or refused; absent while pending.
    pub decision: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = dual_approvals)]
pub struct NewDualApproval<'a> {
    pub violation_id: i64,
    pub kind: &'a str,
    pub proposal: &'a str,
    pub reason_code: Option<&'a str>,
    pub reason: &'a str,
    pub proposed_by: i64,
    pub proposed_at: i64,
}

pub fn insert_approval(conn: &mut DbConn, row: &NewDualApproval<'_>) -> QueryResult<DualApproval> {
    db_run!(conn, c => diesel::insert_into(dual_approvals::table).values(row).returning(DualApproval::as_returning()).get_result(c))
}

pub fn approvals_of(conn: &mut DbConn, violation_id: i64) -> QueryResult<Vec<DualApproval>> {
    db_run!(conn, c => dual_approvals::table
        .filter(dual_approvals::violation_id.eq(violation_id))
        .order(dual_approvals::id)
        .select(DualApproval::as_select())
        .load(c))
}

/// Records the second supervisor's decision; false when it was decided meanwhile.
pub fn decide_approval(
    conn: &mut DbConn,
    id: i64,
    by: i64,
    decision: &str,
    now_ms: i64,
) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::update(dual_approvals::table.filter(dual_approvals::id.eq(id).and(dual_approvals::decision.is_null())))
        .set((dual_approvals::decided_by.eq(by), dual_approvals::decided_at.eq(now_ms), dual_approvals::decision.eq(decision)))
        .execute(c))?;
    Ok(n == 1)
}

/// Writes off what is still owed on a recovery, which is then settled.
pub fn write_off(conn: &mut DbConn, r: &RecoveryRow, now_ms: i64) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::update(recoveries::table.filter(recoveries::id.eq(r.id).and(recoveries::paid_fen.eq(r.paid_fen)).and(recoveries::written_off_fen.eq(r.written_off_fen))))
        .set((recoveries::written_off_fen.eq(r.written_off_fen + r.outstanding_fen()), recoveries::settled_at.eq(now_ms)))
        .execute(c))?;
    Ok(n == 1)
}

/// A person's direct settlement suspended for [starts_on, ends_on).
pub fn add_person_suspension(
    conn: &mut DbConn,
    person_id: i64,
    violation_id: i64,
    starts_on: &str,
    ends_on: &str,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(person_suspensions::table)
        .values((
            person_suspensions::person_id.eq(person_id),
            person_suspensions::violation_id.eq(violation_id),
            person_suspensions::starts_on.eq(starts_on),
            person_suspensions::ends_on.eq(ends_on),
            person_suspensions::created_at.eq(now_ms),
        ))
        .execute(c))
}

/// The suspensions of a person's direct settlement that overlap [from, to]: (start, end,
/// violation).
pub fn person_suspensions_over(
    conn: &mut DbConn,
    person_id: i64,
    from: &str,
    to: &str,
) -> QueryResult<Vec<(String, String, i64)>> {
    db_run!(conn, c => person_suspensions::table
        .filter(person_suspensions::person_id.eq(person_id))
        .filter(person_suspensions::starts_on.le(to).and(person_suspensions::ends_on.gt(from)))
        .select((person_suspensions::starts_on, person_suspensions::ends_on, person_suspensions::violation_id))
        .load(c))
}

/// Open claim cases of a person whose stay touches [from, until): (case id, claim id).
pub fn open_claims_of(
    conn: &mut DbConn,
    person_id: i64,
    from: &str,
    until: &str,
) -> QueryResult<Vec<(i64, i64)>> {
    db_run!(conn, c => claims::table
        .inner_join(cases::table.on(cases::subject_kind.eq("claim").and(cases::subject_id.eq(claims::id))))
        .filter(claims::person_id.eq(person_id))
        .filter(claims::admission_date.lt(until).and(claims::discharge_date.ge(from)))
        .filter(cases::stage.is_not_null())
        .select((cases::id, claims::id))
        .load(c))
}

pub fn insert_inspection(conn: &mut DbConn, row: &NewInspection<'_>) -> QueryResult<InspectionRow> {
    db_run!(conn, c => diesel::insert_into(inspections::table).values(row).returning(InspectionRow::as_returning()).get_result(c))
}

pub fn inspection(conn: &mut DbConn, id: i64) -> QueryResult<Option<InspectionRow>> {
    db_run!(conn, c => inspections::table.find(id).select(InspectionRow::as_select()).load(c).map(super::at_most_one))
}

pub fn insert_violation(conn: &mut DbConn, row: &NewViolation<'_>) -> QueryResult<ViolationRow> {
    db_run!(conn, c => diesel::insert_into(violations::table).values(row).returning(ViolationRow::as_returning()).get_result(c))
}

pub fn violation(conn: &mut DbConn, id: i64) -> QueryResult<Option<ViolationRow>> {
    db_run!(conn, c => violations::table.find(id).select(ViolationRow::as_select()).load(c).map(super::at_most_one))
}

pub fn record_sanction(conn: &mut DbConn, id: i64, s: &SanctionRecord<'_>) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(violations::table.find(id)).set(s).execute(c))
}

pub fn insert_evidence(conn: &mut DbConn, row: &NewEvidence<'_>) -> QueryResult<EvidenceRow> {
    db_run!(conn, c => diesel::insert_into(evidence_files::table).values(row).returning(EvidenceRow::as_returning()).get_result(c))
}

pub fn evidence_file(conn: &mut DbConn, id: i64) -> QueryResult<Option<EvidenceRow>> {
    db_run!(conn, c => evidence_files::table.find(id).select(EvidenceRow::as_select()).first(c).optional())
}

pub fn evidence_of(conn: &mut DbConn, kind: &str, id: i64) -> QueryResult<Vec<EvidenceRow>> {
    db_run!(conn, c => evidence_files::table
        .filter(evidence_files::subject_kind.eq(kind).and(evidence_files::subject_id.eq(id)))
        .order(evidence_files::id)
        .select(EvidenceRow::as_select())
        .load(c))
}

/// Orders a repayment or fine; zero amounts are not recorded.
pub fn order_recovery(
    conn: &mut DbConn,
    violation_id: i64,
    kind: &str,
    amount_fen: i64,
    now_ms: i64,
) -> QueryResult<usize> {
    if amount_fen == 0 {
        return Ok(0);
    }
    db_run!(conn, c => diesel::insert_into(recoveries::table)
        .values((
            recoveries::violation_id.eq(violation_id),
            recoveries::kind.eq(kind),
            recoveries::amount_fen.eq(amount_fen),
            recoveries::paid_fen.eq(0),
            recoveries::created_at.eq(now_ms),
        ))
        .execute(c))
}

pub fn recoveries_of(conn: &mut DbConn, violation_id: i64) -> QueryResult<Vec<RecoveryRow>> {
    db_run!(conn, c => recoveries::table
        .filter(recoveries::violation_id.eq(violation_id))
        .order(recoveries::id)
        .select(RecoveryRow::as_select())
        .load(c))
}

pub fn recovery(conn: &mut DbConn, id: i64) -> QueryResult<Option<RecoveryRow>> {
    db_run!(conn, c => recoveries::table.find(id).select(RecoveryRow::as_select()).load(c).map(super::at_most_one))
}

/// Adds a payment; refuses (returns false) one that would pay more than is owed.
pub fn add_payment(conn: &mut DbConn, id: i64, amount_fen: i64, now_ms: i64) -> QueryResult<bool> {
    let Some(r) = recovery(conn, id)? else {
        return Ok(false);
    };
    if amount_fen <= 0 || amount_fen > r.outstanding_fen() {
        return Ok(false);
    }
    // Bounded by what is owed, so this cannot overflow.
    let paid = r.paid_fen + amount_fen;
    let settled = (paid + r.written_off_fen == r.amount_fen).then_some(now_ms);
    let n = db_run!(conn, c => diesel::update(recoveries::table.filter(recoveries::id.eq(id).and(recoveries::paid_fen.eq(r.paid_fen))))
        .set((recoveries::paid_fen.eq(paid), recoveries::settled_at.eq(settled)))
        .execute(c))?;
    Ok(n == 1)
}

/// Open claim cases at `facility` whose stay touches [from, until): (case id, claim id).
pub fn open_claims_at(
    conn: &mut DbConn,
    facility: &str,
    from: &str,
    until: &str,
) -> QueryResult<Vec<(i64, i64)>> {
    db_run!(conn, c => claims::table
        .inner_join(cases::table.on(cases::subject_kind.eq("claim").and(cases::subject_id.eq(claims::id))))
        .filter(claims::facility_code.eq(facility))
        .filter(claims::admission_date.lt(until).and(claims::discharge_date.ge(from)))
        .filter(cases::stage.is_not_null())
        .select((cases::id, claims::id))
        .load(c))
}

/// Which of these claims exist with their case in the region subtree `path`.
pub fn claims_in_region(conn: &mut DbConn, ids: &[i64], path: &str) -> QueryResult<Vec<i64>> {
    let subtree = format!("{path}/%");
    db_run!(conn, c => claims::table
        .inner_join(cases::table.on(cases::subject_kind.eq("claim").and(cases::subject_id.eq(claims::id))))
        .filter(claims::id.eq_any(ids))
        .filter(cases::region_path.eq(path).or(cases::region_path.like(&subtree)))
        .select(claims::id)
        .load(c))
}

/// A violation with its case's stage and due time.
pub type ViolationAndStage = (ViolationRow, Option<String>, Option<i64>);

/// Violations whose case lies in the region subtree `path`, with the case's stage and due
/// time.
pub fn violations_in(conn: &mut DbConn, path: &str) -> QueryResult<Vec<ViolationAndStage>> {
    use super::schema::cases;
    let subtree = format!("{path}/%");
    let cases: Vec<(i64, Option<String>, Option<i64>)> = db_run!(conn, c => cases::table
        .filter(cases::subject_kind.eq("violation"))
        .filter(cases::region_path.eq(path).or(cases::region_path.like(&subtree)))
        .select((cases::subject_id, cases::stage, cases::due_at))
        .load(c))?;
    let ids: Vec<i64> = cases.iter().map(|c| c.0).collect();
    let rows: Vec<ViolationRow> = db_run!(conn, c => violations::table
        .filter(violations::id.eq_any(&ids))
        .order(violations::id)
        .select(ViolationRow::as_select())
        .load(c))?;
    let by_id: std::collections::HashMap<i64, (Option<String>, Option<i64>)> =
        cases.into_iter().map(|(id, s, d)| (id, (s, d))).collect();
    Ok(rows
        .into_iter()
        .map(|v| {
            let (stage, due) = by_id.get(&v.id).cloned().unwrap_or_default();
            (v, stage, due)
        })
        .collect())
}

/// All recoveries of these violations.
pub fn recoveries_for(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<RecoveryRow>> {
    db_run!(conn, c => recoveries::table
        .filter(recoveries::violation_id.eq_any(ids))
        .select(RecoveryRow::as_select())
        .load(c))
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    facility_code: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// (facility, count) pairs.
pub type PerFacility = Vec<(String, i64)>;

/// Per facility: claims, and screening findings on their cases (`codes` are the rule codes,
/// plain identifiers from the rule table).
pub fn facility_claims_and_hits(
    conn: &mut DbConn,
    codes: &[&str],
) -> QueryResult<(PerFacility, PerFacility)> {
    let claims_sql =
        "SELECT facility_code, CAST(COUNT(*) AS BIGINT) AS n FROM claims GROUP BY facility_code";
    let list = codes
        .iter()
        .filter(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(",");
    let hits_sql = format!(
        "SELECT cl.facility_code AS facility_code, CAST(COUNT(*) AS BIGINT) AS n FROM case_findings f \
         JOIN cases c ON c.id = f.case_id AND c.subject_kind = 'claim' \
         JOIN claims cl ON cl.id = c.subject_id WHERE f.code IN ({list}) GROUP BY cl.facility_code"
    );
    let claims: Vec<CountRow> = db_run!(conn, c => diesel::sql_query(claims_sql).load(c))?;
    let hits: Vec<CountRow> = db_run!(conn, c => diesel::sql_query(&hits_sql).load(c))?;
    let pairs = |rows: Vec<CountRow>| rows.into_iter().map(|r| (r.facility_code, r.n)).collect();
    Ok((pairs(claims), pairs(hits)))
}

/// A facility's inspections, newest first.
pub fn inspections_of(conn: &mut DbConn, facility_code: &str) -> QueryResult<Vec<InspectionRow>> {
    db_run!(conn, c => inspections::table
        .filter(inspections::facility_code.eq(facility_code))
        .order((inspections::inspected_on.desc(), inspections::id.desc()))
        .select(InspectionRow::as_select())
        .load(c))
}
