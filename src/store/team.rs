//! Read models for the supervisor's team board, each bounded to the supervisor's region.
use super::cases::CaseRow;
use super::schema::{cases, claims};
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;

/// Open cases in the region that need a supervisor's eye: past due, due before
/// `at_risk_before`, or escalated; most urgent first.
pub fn needing_attention(
    conn: &mut DbConn,
    region_path: &str,
    at_risk_before: i64,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    let subtree = format!("{region_path}/%");
    db_run!(conn, c => cases::table
        .filter(cases::stage.is_not_null())
        .filter(cases::region_path.eq(region_path).or(cases::region_path.like(&subtree)))
        .filter(cases::due_at.lt(at_risk_before).or(cases::escalated_at.is_not_null()))
        .order((cases::due_at.asc(), cases::id.asc()))
        .limit(limit)
        .select(CaseRow::as_select())
        .load(c))
}

/// (workflow, stage, holder, open cases); no holder is the pool.
pub type StageHolderCount = (String, Option<String>, Option<i64>, i64);

/// The region's open claim cases counted by (workflow, stage, holder).
pub fn open_by_stage_and_holder(
    conn: &mut DbConn,
    region_path: &str,
) -> QueryResult<Vec<StageHolderCount>> {
    let subtree = format!("{region_path}/%");
    db_run!(conn, c => cases::table
        .filter(cases::stage.is_not_null().and(cases::subject_kind.eq("claim")))
        .filter(cases::region_path.eq(region_path).or(cases::region_path.like(&subtree)))
        .group_by((cases::workflow, cases::stage, cases::assignee_id))
        .select((cases::workflow, cases::stage, cases::assignee_id, diesel::dsl::count_star()))
        .load(c))
}

/// Open cases held by each assignee in the region.
pub fn workload(conn: &mut DbConn, region_path: &str) -> QueryResult<Vec<(Option<i64>, i64)>> {
    let subtree = format!("{region_path}/%");
    db_run!(conn, c => cases::table
        .filter(cases::stage.is_not_null().and(cases::assignee_id.is_not_null()))
        .filter(cases::region_path.eq(region_path).or(cases::region_path.like(&subtree)))
        .group_by(cases::assignee_id)
        .select((cases::assignee_id, diesel::dsl::count_star()))
        .load(c))
}

/// (opened at, outcome, last update) of the region's claim cases opened or updated since
/// `since_ms`; a closed case's last update is when it closed.
pub fn opened_and_closed(
    conn: &mut DbConn,
    region_path: &str,
    since_ms: i64,
) -> QueryResult<Vec<(i64, Option<String>, i64)>> {
    let subtree = format!("{region_path}/%");
    db_run!(conn, c => cases::table
        .filter(cases::subject_kind.eq("claim"))
        .filter(cases::region_path.eq(region_path).or(cases::region_path.like(&subtree)))
        .filter(cases::created_at.ge(since_ms).or(cases::updated_at.ge(since_ms)))
        .select((cases::created_at, cases::outcome, cases::updated_at))
        .load(c))
}

/// (policy-scope cost, amount granted) of the region's claims approved since `since_ms`.
pub fn approved_amounts(
    conn: &mut DbConn,
    region_path: &str,
    since_ms: i64,
) -> QueryResult<Vec<(i64, Option<i64>)>> {
    let subtree = format!("{region_path}/%");
    db_run!(conn, c => claims::table
        .filter(claims::id.eq_any(cases::table
            .filter(cases::subject_kind.eq("claim"))
            .filter(cases::outcome.eq_any(["approved", "partially_approved"]))
            .filter(cases::updated_at.ge(since_ms))
            .filter(cases::region_path.eq(region_path).or(cases::region_path.like(&subtree)))
            .select(cases::subject_id)))
        .select((claims::policy_scope_fen, claims::decided_fen))
        .load(c))
}
