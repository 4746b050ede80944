//! Whistleblower reports, their links to violations, and the per-address submission count.
use super::schema::{report_violations, reports};
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = reports)]
pub struct ReportRow {
    pub id: i64,
    #[serde(skip)]
    pub tracking_hash: String,
    pub facility_code: Option<String>,
    pub person_id_number: Option<String>,
    pub claim_id: Option<i64>,
    pub description: String,
    pub contact: Option<String>,
    #[serde(skip)]
    pub client_addr: String,
    pub region_code: String,
    pub created_at: i64,
    /// Fixed at the first payment.
    pub reward_fen: Option<i64>,
    pub reward_paid_fen: i64,
    pub reward_paid_at: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = reports)]
pub struct NewReport<'a> {
    pub tracking_hash: &'a str,
    pub facility_code: Option<&'a str>,
    pub person_id_number: Option<&'a str>,
    pub claim_id: Option<i64>,
    pub description: &'a str,
    pub contact: Option<&'a str>,
    pub client_addr: &'a str,
    pub region_code: &'a str,
    pub created_at: i64,
}

pub fn insert(conn: &mut DbConn, r: &NewReport<'_>) -> QueryResult<ReportRow> {
    db_run!(conn, c => diesel::insert_into(reports::table).values(r).returning(ReportRow::as_returning()).get_result(c))
}

pub fn get(conn: &mut DbConn, id: i64) -> QueryResult<Option<ReportRow>> {
    db_run!(conn, c => reports::table.find(id).select(ReportRow::as_select()).first(c).optional())
}

pub fn by_tracking_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<ReportRow>> {
    db_run!(conn, c => reports::table.filter(reports::tracking_hash.eq(hash)).select(ReportRow::as_select()).first(c).optional())
}

/// Reports this address submitted since `since_ms`.
pub fn submitted_since(conn: &mut DbConn, addr: &str, since_ms: i64) -> QueryResult<i64> {
    db_run!(conn, c => reports::table
        .filter(reports::client_addr.eq(addr).and(reports::created_at.ge(since_ms)))
        .count()
        .get_result(c))
}

pub fn link(conn: &mut DbConn, report_id: i64, violation_id: i64) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(report_violations::table)
        .values((report_violations::report_id.eq(report_id), report_violations::violation_id.eq(violation_id)))
        .on_conflict_do_nothing()
        .execute(c))
}

pub fn violations_of(conn: &mut DbConn, report_id: i64) -> QueryResult<Vec<i64>> {
    db_run!(conn, c => report_violations::table
        .filter(report_violations::report_id.eq(report_id))
        .order(report_violations::violation_id)
        .select(report_violations::violation_id)
        .load(c))
}

pub fn set_reward(
    conn: &mut DbConn,
    id: i64,
    reward_fen: i64,
    paid_fen: i64,
    paid_at: Option<i64>,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(reports::table.find(id))
        .set((reports::reward_fen.eq(reward_fen), reports::reward_paid_fen.eq(paid_fen), reports::reward_paid_at.eq(paid_at)))
        .execute(c))
}

/// A report on the staff's triage list, with where its case stands.
#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct ReportListRow {
    pub id: i64,
    pub facility_code: Option<String>,
    pub description: String,
    pub created_at: i64,
    pub case_id: i64,
    pub stage: Option<String>,
    pub outcome: Option<String>,
    pub due_at: Option<i64>,
}

/// Reports whose case lies in the region subtree `path`, newest first; closed ones only when
/// asked for. At most `limit`.
pub fn in_region(
    conn: &mut DbConn,
    path: &str,
    with_closed: bool,
    limit: i64,
) -> QueryResult<Vec<ReportListRow>> {
    use super::schema::cases;
    let subtree = format!("{path}/%");
    db_run!(conn, c => {
        let mut q = reports::table
            .inner_join(cases::table.on(cases::subject_kind.eq("report").and(cases::subject_id.eq(reports::id))))
            .filter(cases::region_path.eq(path).or(cases::region_path.like(&subtree)))
            .into_boxed();
        if !with_closed {
            q = q.filter(cases::outcome.is_null());
        }
        q.order(reports::id.desc())
            .limit(limit)
            .select((reports::id, reports::facility_code, reports::description, reports::created_at,
                cases::id, cases::stage, cases::outcome, cases::due_at))
            .load(c)
    })
}
