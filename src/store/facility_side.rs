//! The facility side: which facilities a facility user speaks for, the tasks a case gives a
//! facility while it stands at one of the facility's stages, and the facility's address.
use super::schema::{cases, claims, evidence_files, facilities, facility_tasks, user_facilities};
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;
use serde::Serialize;

/// The facility codes a user speaks for, in order.
pub fn codes_of(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<String>> {
    db_run!(conn, c => user_facilities::table
        .filter(user_facilities::user_id.eq(user_id))
        .order(user_facilities::facility_code)
        .select(user_facilities::facility_code)
        .load(c))
}

pub fn link(conn: &mut DbConn, user_id: i64, codes: &[String]) -> QueryResult<usize> {
    let rows: Vec<_> = codes
        .iter()
        .map(|code| {
            (
                user_facilities::user_id.eq(user_id),
                user_facilities::facility_code.eq(code),
            )
        })
        .collect();
    db_run!(conn, c => diesel::insert_into(user_facilities::table).values(&rows).execute(c))
}

/// How many users speak for a facility (the agency's staff limit counts them).
pub fn users_of(conn: &mut DbConn, code: &str) -> QueryResult<i64> {
    db_run!(conn, c => user_facilities::table
        .filter(user_facilities::facility_code.eq(code))
        .count()
        .get_result(c))
}

/// The user ids that speak for a facility (their inboxes get its letters).
pub fn user_ids_of(conn: &mut DbConn, code: &str) -> QueryResult<Vec<i64>> {
    db_run!(conn, c => user_facilities::table
        .filter(user_facilities::facility_code.eq(code))
        .order(user_facilities::user_id)
        .select(user_facilities::user_id)
        .load(c))
}

pub fn contact_email(conn: &mut DbConn, code: &str) -> QueryResult<Option<String>> {
    db_run!(conn, c => facilities::table
        .find(code)
        .select(facilities::contact_email)
        .first::<Option<String>>(c)
        .optional()
        .map(Option::flatten))
}

pub fn set_contact_email(conn: &mut DbConn, code: &str, email: Option<&str>) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(facilities::table.find(code))
        .set(facilities::contact_email.eq(email))
        .execute(c))
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = facility_tasks)]
pub struct TaskRow {
    pub id: i64,
    pub case_id: i64,
    pub facility_code: String,
    /// The stage the facility acts in (its statement, a rectification, an appeal, a review).
    pub stage: String,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    /// The action that closed it (the facility's own, a member of staff's, or the deadline's).
    pub closed_action: Option<String>,
    pub closed_by: Option<i64>,
}

pub fn open_task(
    conn: &mut DbConn,
    case_id: i64,
    facility_code: &str,
    stage: &str,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(facility_tasks::table)
        .values((
            facility_tasks::case_id.eq(case_id),
            facility_tasks::facility_code.eq(facility_code),
            facility_tasks::stage.eq(stage),
            facility_tasks::opened_at.eq(now_ms),
        ))
        .execute(c))
}

/// Closes the case's open task, if it has one.
pub fn close_tasks(
    conn: &mut DbConn,
    case_id: i64,
    action: &str,
    by: Option<i64>,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(
        facility_tasks::table.filter(facility_tasks::case_id.eq(case_id).and(facility_tasks::closed_at.is_null())),
    )
    .set((
        facility_tasks::closed_at.eq(now_ms),
        facility_tasks::closed_action.eq(action),
        facility_tasks::closed_by.eq(by),
    ))
    .execute(c))
}

/// Every task a case gave one of these facilities, oldest first.
pub fn tasks_on(conn: &mut DbConn, case_id: i64, codes: &[String]) -> QueryResult<Vec<TaskRow>> {
    db_run!(conn, c => facility_tasks::table
        .filter(facility_tasks::case_id.eq(case_id).and(facility_tasks::facility_code.eq_any(codes)))
        .order(facility_tasks::id)
        .select(TaskRow::as_select())
        .load(c))
}

/// One facility task with the case it belongs to, for lists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskLine {
    pub task: TaskRow,
    pub subject_kind: String,
    pub subject_id: i64,
    pub workflow: String,
    /// The case's stage now; the deadline below is the stage's while the task is open.
    pub case_stage: Option<String>,
    pub outcome: Option<String>,
    pub due_at: Option<i64>,
}

/// Which tasks a list wants.
pub enum Tasks<'a> {
    /// These facilities' tasks, open ones first, newest first, at most this many.
    Of(&'a [String], i64),
    /// Open tasks whose case falls due after the first instant and by the second: the
    /// "deadline approaching" letters.
    DueBetween(i64, i64),
}

/// Facility tasks, each with its case.
pub fn task_lines(conn: &mut DbConn, which: Tasks<'_>) -> QueryResult<Vec<TaskLine>> {
    type Row = (
        TaskRow,
        String,
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let rows: Vec<Row> = db_run!(conn, c => {
        let mut q = facility_tasks::table
            .inner_join(cases::table.on(cases::id.eq(facility_tasks::case_id)))
            .select((
                TaskRow::as_select(),
                cases::subject_kind,
                cases::subject_id,
                cases::workflow,
                cases::stage,
                cases::outcome,
                cases::due_at,
            ))
            .into_boxed();
        match which {
            Tasks::Of(codes, limit) => {
                q = q
                    .filter(facility_tasks::facility_code.eq_any(codes))
                    .order((facility_tasks::closed_at.is_not_null(), facility_tasks::id.desc()))
                    .limit(limit);
            }
            Tasks::DueBetween(after, by) => {
                q = q
                    .filter(facility_tasks::closed_at.is_null())
                    .filter(cases::due_at.gt(after).and(cases::due_at.le(by)))
                    .order(facility_tasks::id);
            }
        }
        q.load(c)
    })?;
    Ok(rows
        .into_iter()
        .map(
            |(task, subject_kind, subject_id, workflow, case_stage, outcome, due_at)| TaskLine {
                task,
                subject_kind,
                subject_id,
                workflow,
                case_stage,
                outcome,
                due_at,
            },
        )
        .collect())
}

/// The facility a claim was filed against.
pub fn claim_facility(conn: &mut DbConn, claim_id: i64) -> QueryResult<Option<String>> {
    db_run!(conn, c => claims::table
        .find(claim_id)
        .select(claims::facility_code)
        .first::<String>(c)
        .optional())
}

/// Marks a staff evidence file disclosed to the facility, or internal again.
pub fn set_disclosed(conn: &mut DbConn, evidence_id: i64, disclosed: bool) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(evidence_files::table.find(evidence_id))
        .set(evidence_files::disclosed.eq(disclosed))
        .execute(c))
}

/// Claims per facility admitted on or after `since` (ISO date), for these facilities.
pub fn claim_counts(
    conn: &mut DbConn,
    codes: &[String],
    since: &str,
) -> QueryResult<Vec<(String, i64)>> {
    db_run!(conn, c => claims::table
        .filter(claims::facility_code.eq_any(codes).and(claims::admission_date.ge(since)))
        .group_by(claims::facility_code)
        .select((claims::facility_code, diesel::dsl::count_star()))
        .load(c))
}

/// Findings per facility and code on claims admitted on or after `since`, for these
/// facilities: (facility, code, count).
pub fn finding_counts(
    conn: &mut DbConn,
    codes: &[String],
    since: &str,
) -> QueryResult<Vec<(String, String, i64)>> {
    use super::schema::case_findings;
    db_run!(conn, c => case_findings::table
        .inner_join(cases::table.on(cases::id.eq(case_findings::case_id)))
        .inner_join(claims::table.on(claims::id.eq(cases::subject_id).and(cases::subject_kind.eq("claim"))))
        .filter(claims::facility_code.eq_any(codes).and(claims::admission_date.ge(since)))
        .group_by((claims::facility_code, case_findings::code))
        .select((claims::facility_code, case_findings::code, diesel::dsl::count_star()))
        .load(c))
}

/// The codes of the facilities at a level.
pub fn codes_at_level(conn: &mut DbConn, level: &str) -> QueryResult<Vec<String>> {
    db_run!(conn, c => facilities::table
        .filter(facilities::level.eq(level))
        .order(facilities::code)
        .select(facilities::code)
        .load(c))
}

/// The repayments and fines ordered at these facilities, with the violation they belong to.
pub fn recoveries_at(
    conn: &mut DbConn,
    codes: &[String],
) -> QueryResult<Vec<(String, super::supervision::RecoveryRow)>> {
    use super::schema::{recoveries, violations};
    db_run!(conn, c => recoveries::table
        .inner_join(violations::table.on(violations::id.eq(recoveries::violation_id)))
        .filter(violations::facility_code.eq_any(codes))
        .order(recoveries::id)
        .select((violations::facility_code, super::supervision::RecoveryRow::as_select()))
        .load(c))
}
