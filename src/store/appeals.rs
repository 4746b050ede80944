//! Residents' appeals against claim decisions.
use super::schema::appeals;
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = appeals)]
pub struct AppealRow {
    pub id: i64,
    pub claim_id: i64,
    /// The case of the decision appealed against.
    pub claim_case_id: i64,
    pub filed_by: i64,
    pub reason: String,
    pub filed_at: i64,
    /// What the decision reimbursed (all three layers).
    pub old_reimbursed_fen: i64,
    /// upheld or changed, once decided.
    pub outcome: Option<String>,
    pub new_reimbursed_fen: Option<i64>,
    pub decided_at: Option<i64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = appeals)]
pub struct NewAppeal<'a> {
    pub claim_id: i64,
    pub claim_case_id: i64,
    pub filed_by: i64,
    pub reason: &'a str,
    pub filed_at: i64,
    pub old_reimbursed_fen: i64,
}

pub fn insert(conn: &mut DbConn, a: &NewAppeal<'_>) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(appeals::table).values(a).returning(appeals::id).get_result(c))
}

pub fn get(conn: &mut DbConn, id: i64) -> QueryResult<Option<AppealRow>> {
    db_run!(conn, c => appeals::table.find(id).select(AppealRow::as_select()).load(c).map(super::at_most_one))
}

pub fn of_claim(conn: &mut DbConn, claim_id: i64) -> QueryResult<Option<AppealRow>> {
    db_run!(conn, c => appeals::table.filter(appeals::claim_id.eq(claim_id)).select(AppealRow::as_select()).load(c).map(super::at_most_one))
}

/// Records the outcome once: 0 when the appeal was decided already.
pub fn decide(
    conn: &mut DbConn,
    id: i64,
    outcome: &str,
    new_reimbursed_fen: i64,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(appeals::table.filter(appeals::id.eq(id)).filter(appeals::outcome.is_null()))
        .set((appeals::outcome.eq(outcome), appeals::new_reimbursed_fen.eq(new_reimbursed_fen), appeals::decided_at.eq(now_ms)))
        .execute(c))
}
