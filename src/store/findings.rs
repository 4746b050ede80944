use super::schema::case_findings;
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = case_findings)]
pub struct Finding {
    pub id: i64,
    pub case_id: i64,
    pub code: String,
    /// info, warning or error
    pub severity: String,
    pub message_zh: String,
    pub message_en: String,
    /// JSON: what the finding rests on (the other claim, the dates, …).
    pub evidence: String,
    pub created_at: i64,
    /// Set when a supervisor overrode this error finding at sign-off.
    pub overridden_at: Option<i64>,
    pub overridden_by: Option<i64>,
    /// The coded reason (policies/controls/controls.toml) and the comment given with it.
    pub override_reason: Option<String>,
    pub override_comment: Option<String>,
}

impl Finding {
    /// An error finding nobody overrode: it blocks paying the claim.
    pub fn blocks(&self) -> bool {
        self.severity == "error" && self.overridden_at.is_none()
    }
}

/// A finding before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinding {
    pub code: &'static str,
    pub severity: &'static str,
    pub zh: String,
    pub en: String,
    pub evidence: serde_json::Value,
}

#[derive(Insertable)]
#[diesel(table_name = case_findings)]
struct FindingRow<'a> {
    case_id: i64,
    code: &'a str,
    severity: &'a str,
    message_zh: &'a str,
    message_en: &'a str,
    evidence: String,
    created_at: i64,
}

/// Stores findings, each with the case it belongs to.
pub fn insert_all<'a>(
    conn: &mut DbConn,
    findings: impl IntoIterator<Item = (i64, &'a NewFinding)>,
    now_ms: i64,
) -> QueryResult<usize> {
    let rows: Vec<FindingRow<'_>> = findings
        .into_iter()
        .map(|(case_id, f)| FindingRow {
            case_id,
            code: f.code,
            severity: f.severity,
            message_zh: &f.zh,
            message_en: &f.en,
            evidence: f.evidence.to_string(),
            created_at: now_ms,
        })
        .collect();
    Ok(crate::insert_chunked!(conn, case_findings::table, rows))
}

pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<Finding>> {
    db_run!(conn, c => case_findings::table.filter(case_findings::case_id.eq(case_id)).order(case_findings::id).select(Finding::as_select()).load(c))
}

/// (case id, code) of the error findings of these cases, for a queue page in one query.
pub fn error_codes(conn: &mut DbConn, case_ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    db_run!(conn, c => case_findings::table
        .filter(case_findings::case_id.eq_any(case_ids).and(case_findings::severity.eq("error")))
        .order(case_findings::id)
        .select((case_findings::case_id, case_findings::code))
        .load(c))
}

/// How many error findings of the case stand (not overridden): the findings gate.
pub fn blocking(conn: &mut DbConn, case_id: i64) -> QueryResult<i64> {
    db_run!(conn, c => case_findings::table
        .filter(case_findings::case_id.eq(case_id).and(case_findings::severity.eq("error")).and(case_findings::overridden_at.is_null()))
        .count()
        .get_result(c))
}

pub fn get(conn: &mut DbConn, case_id: i64, id: i64) -> QueryResult<Option<Finding>> {
    db_run!(conn, c => case_findings::table
        .filter(case_findings::id.eq(id).and(case_findings::case_id.eq(case_id)))
        .select(Finding::as_select())
        .load(c)
        .map(super::at_most_one))
}

/// Records an override; false when the finding was overridden meanwhile.
pub fn mark_overridden(
    conn: &mut DbConn,
    id: i64,
    by: i64,
    reason: &str,
    comment: &str,
    at_ms: i64,
) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::update(case_findings::table.filter(case_findings::id.eq(id).and(case_findings::overridden_at.is_null())))
        .set((
            case_findings::overridden_at.eq(at_ms),
            case_findings::overridden_by.eq(by),
            case_findings::override_reason.eq(reason),
            case_findings::override_comment.eq(comment),
        ))
        .execute(c))?;
    Ok(n == 1)
}

/// How many of the case's findings carry one of these codes.
pub fn count_codes(conn: &mut DbConn, case_id: i64, codes: &[&str]) -> QueryResult<i64> {
    db_run!(conn, c => case_findings::table
        .filter(case_findings::case_id.eq(case_id).and(case_findings::code.eq_any(codes)))
        .count()
        .get_result(c))
}
