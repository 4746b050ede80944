use super::schema::{audit_events, cases};
use super::DbConn;
use crate::db_run;
use crate::domain::workflow::StageActor;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: i64,
    pub subject_kind: String,
    pub subject_id: i64,
    pub workflow: String,
    pub workflow_version: i32,
    pub stage: Option<String>,
    pub outcome: Option<String>,
    pub assignee_id: Option<i64>,
    pub region_code: String,
    pub region_path: String,
    pub org: String,
    pub owner_user_id: Option<i64>,
    pub returned_from: Option<String>,
    pub due_at: Option<i64>,
    pub stage_entered_at: i64,
    pub facts: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub lease_expires_at: Option<i64>,
    pub sla_remaining_ms: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = cases)]
pub struct NewCase<'a> {
    pub subject_kind: &'a str,
    pub subject_id: i64,
    pub workflow: &'a str,
    pub workflow_version: i32,
    pub stage: Option<&'a str>,
    pub region_code: &'a str,
    pub region_path: &'a str,
    pub org: &'a str,
    pub owner_user_id: Option<i64>,
    pub due_at: Option<i64>,
    pub stage_entered_at: i64,
    pub facts: &'a str,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The state a transition writes. Applied only if the row still has `expected_version`.
#[derive(AsChangeset)]
#[diesel(table_name = cases, treat_none_as_null = true)]
pub struct CaseState<'a> {
    pub stage: Option<&'a str>,
    pub outcome: Option<&'a str>,
    pub assignee_id: Option<i64>,
    pub returned_from: Option<&'a str>,
    pub due_at: Option<i64>,
    pub stage_entered_at: i64,
    pub facts: &'a str,
    pub version: i64,
    pub updated_at: i64,
    pub lease_expires_at: Option<i64>,
    /// Set while the case waits for documents: the SLA time it had left.
    pub sla_remaining_ms: Option<i64>,
}

pub fn insert(conn: &mut DbConn, case: &NewCase<'_>) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(cases::table).values(case).returning(cases::id).get_result(c))
}

pub fn get(conn: &mut DbConn, id: i64) -> QueryResult<Option<CaseRow>> {
    db_run!(conn, c => cases::table.find(id).select(CaseRow::as_select()).load(c).map(super::at_most_one))
}

pub fn for_subject(conn: &mut DbConn, kind: &str, subject_id: i64) -> QueryResult<Option<CaseRow>> {
    db_run!(conn, c => cases::table
        .filter(cases::subject_kind.eq(kind).and(cases::subject_id.eq(subject_id)))
        .select(CaseRow::as_select())
        .first(c)
        .optional())
}

/// Optimistic update: returns false when someone else changed the case first.
pub fn update_state(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    state: &CaseState<'_>,
) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::update(cases::table.filter(cases::id.eq(id).and(cases::version.eq(expected_version))))
        .set(state)
        .execute(c))?;
    Ok(n == 1)
}

/// Who acted in which stage, from the audit trail (the source of truth for four-eyes).
pub fn stage_actors(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<StageActor>> {
    let rows: Vec<(Option<String>, Option<i64>)> = db_run!(conn, c => audit_events::table
        .filter(audit_events::case_id.eq(case_id))
        .filter(audit_events::from_stage.is_not_null())
        .select((audit_events::from_stage, audit_events::actor_id))
        .load(c))?;
    Ok(rows
        .into_iter()
        .filter_map(|(stage, actor)| {
            Some(StageActor {
                stage: stage?,
                actor_id: actor?,
            })
        })
        .collect())
}

/// Open cases per workflow and stage, for metrics.
pub fn count_by_stage(conn: &mut DbConn) -> QueryResult<Vec<(String, Option<String>, i64)>> {
    db_run!(conn, c => cases::table
        .group_by((cases::workflow, cases::stage))
        .select((cases::workflow, cases::stage, diesel::dsl::count_star()))
        .load(c))
}
