use super::schema::{audit_events, cases};
use super::DbConn;
use crate::db_run;
use crate::domain::case::{Subject, SubjectKind};
use crate::domain::workflow::StageActor;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: i64,
    #[diesel(deserialize_as = String)]
    pub subject_kind: SubjectKind,
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
    /// The role a breached case was handed to; they may take the stage's actions.
    pub escalated_to: Option<String>,
    /// When the SLA breach was last escalated or flagged.
    pub escalated_at: Option<i64>,
    /// The head of the case's audit chain: its last event's sequence number and hash.
    pub last_seq: i64,
    pub last_hash: String,
    /// The steps of the stage's escalation chain taken in this visit; each once.
    pub escalation_step: i32,
    /// When the next step falls due; `None` before the first breach and after the last step.
    pub next_escalation_at: Option<i64>,
    /// The weights of the screening rules the claim hit (0-100).
    pub risk_score: i64,
}

/// `None` is NULL, not DEFAULT, so that SQLite takes many rows in one statement.
#[derive(Insertable)]
#[diesel(table_name = cases, treat_none_as_default_value = false)]
pub struct NewCase<'a> {
    /// Chosen up front ([`crate::store::reserve_ids`]) so events can refer to it.
    pub id: i64,
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
    /// The head of the case's audit chain: its first event, written with it.
    pub last_seq: i64,
    pub last_hash: &'a str,
    pub risk_score: i64,
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
    pub escalated_to: Option<&'a str>,
    pub escalated_at: Option<i64>,
    /// A new stage visit starts its escalation chain afresh.
    pub escalation_step: i32,
    pub next_escalation_at: Option<i64>,
}

pub fn insert_all(conn: &mut DbConn, rows: &[NewCase<'_>]) -> QueryResult<usize> {
    Ok(crate::insert_chunked!(conn, cases::table, rows))
}

pub fn get(conn: &mut DbConn, id: i64) -> QueryResult<Option<CaseRow>> {
    db_run!(conn, c => cases::table.find(id).select(CaseRow::as_select()).load(c).map(super::at_most_one))
}

impl CaseRow {
    /// What the case is about.
    pub fn subject(&self) -> Subject {
        Subject::new(self.subject_kind, self.subject_id)
    }
}

pub fn for_subject(conn: &mut DbConn, subject: Subject) -> QueryResult<Option<CaseRow>> {
    db_run!(conn, c => cases::table
        .filter(cases::subject_kind.eq(subject.kind().as_str()).and(cases::subject_id.eq(subject.id())))
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

/// Open cases due for a step of their escalation chain: past their due time with no step
/// taken yet, or past the time of their next step. Most overdue first.
pub fn breached_unescalated(
    conn: &mut DbConn,
    now_ms: i64,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    let first = cases::due_at.lt(now_ms).and(cases::escalation_step.eq(0));
    let next = cases::next_escalation_at.lt(now_ms);
    db_run!(conn, c => cases::table
        .filter(cases::stage.is_not_null().and(first.or(next)))
        .order((cases::due_at.asc(), cases::id.asc()))
        .limit(limit)
        .select(CaseRow::as_select())
        .load(c))
}

/// A step of a breached case's escalation chain, as the row records it.
pub struct EscalationMark<'a> {
    pub expected_version: i64,
    /// The step taken, from 1.
    pub step: i32,
    /// Handed to this role (which frees the case from its holder), or only flagged.
    pub to_role: Option<&'a str>,
    pub next_at: Option<i64>,
}

/// Records an escalation step. False when the case changed meanwhile.
pub fn mark_escalated(
    conn: &mut DbConn,
    id: i64,
    m: &EscalationMark<'_>,
    now_ms: i64,
) -> QueryResult<bool> {
    let target = cases::table.filter(
        cases::id
            .eq(id)
            .and(cases::version.eq(m.expected_version))
            .and(cases::escalation_step.eq(m.step - 1)),
    );
    let step = (
        cases::escalation_step.eq(m.step),
        cases::next_escalation_at.eq(m.next_at),
        cases::escalated_at.eq(now_ms),
        cases::version.eq(cases::version + 1),
        cases::updated_at.eq(now_ms),
    );
    let n = match m.to_role {
        Some(role) => db_run!(conn, c => diesel::update(target)
            .set((step, cases::escalated_to.eq(role), cases::assignee_id.eq(None::<i64>), cases::lease_expires_at.eq(None::<i64>)))
            .execute(c))?,
        None => db_run!(conn, c => diesel::update(target).set(step).execute(c))?,
    };
    Ok(n == 1)
}

/// Open cases in one of `stages` that entered it before `before_ms`.
pub fn in_stages_since(
    conn: &mut DbConn,
    stages: &[String],
    before_ms: i64,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    db_run!(conn, c => cases::table
        .filter(cases::stage.eq_any(stages).and(cases::stage_entered_at.lt(before_ms)))
        .order(cases::id)
        .limit(limit)
        .select(CaseRow::as_select())
        .load(c))
}

/// Closes a case with an outcome outside any workflow action (auto-close). False when the
/// case changed meanwhile.
pub fn close(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    outcome: &str,
    now_ms: i64,
) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::update(cases::table.filter(cases::id.eq(id).and(cases::version.eq(expected_version))))
        .set((cases::stage.eq(None::<String>), cases::outcome.eq(outcome), cases::due_at.eq(None::<i64>), cases::assignee_id.eq(None::<i64>),
              cases::lease_expires_at.eq(None::<i64>), cases::sla_remaining_ms.eq(None::<i64>), cases::stage_entered_at.eq(now_ms),
              cases::version.eq(cases::version + 1), cases::updated_at.eq(now_ms)))
        .execute(c))?;
    Ok(n == 1)
}

/// A standing assignment (no lease expiry), or none. False when the case changed meanwhile.
pub fn set_assignee(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    user: Option<i64>,
    now_ms: i64,
) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::update(cases::table.filter(cases::id.eq(id).and(cases::version.eq(expected_version))))
        .set((cases::assignee_id.eq(user), cases::lease_expires_at.eq(None::<i64>), cases::version.eq(cases::version + 1), cases::updated_at.eq(now_ms)))
        .execute(c))?;
    Ok(n == 1)
}

/// Open cases held by each of these users (workload for auto-assignment).
pub fn open_counts(conn: &mut DbConn, user_ids: &[i64]) -> QueryResult<Vec<(Option<i64>, i64)>> {
    db_run!(conn, c => cases::table
        .filter(cases::assignee_id.eq_any(user_ids).and(cases::stage.is_not_null()))
        .group_by(cases::assignee_id)
        .select((cases::assignee_id, diesel::dsl::count_star()))
        .load(c))
}

/// Sets an open case's deadline (a stage whose deadline was decided, not timed).
pub fn set_due(conn: &mut DbConn, case_id: i64, due_ms: i64) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(cases::table.find(case_id).filter(cases::stage.is_not_null()))
        .set(cases::due_at.eq(due_ms))
        .execute(c))
}
