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
