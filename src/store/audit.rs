//! The append-only audit trail. Events are only ever inserted: there is no update or delete
//! here, and the database refuses both (triggers in the migrations).
use super::schema::audit_events;
use super::DbConn;
use crate::db_run;
use crate::domain::audit::{
    event_hash, verify_chain, ChainBreak, EventContent, StoredEvent, GENESIS,
};
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub case_id: i64,
    pub seq: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub role: String,
    pub action: String,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    pub old_value: String,
    pub new_value: String,
    pub comment: String,
    pub public: bool,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    fn content(&self) -> EventContent<'_> {
        EventContent {
            case_id: self.case_id,
            seq: self.seq,
            at_ms: self.at_ms,
            actor_id: self.actor_id,
            actor_name: &self.actor_name,
            role: &self.role,
            action: &self.action,
            from_stage: self.from_stage.as_deref(),
            to_stage: self.to_stage.as_deref(),
            old_value: &self.old_value,
            new_value: &self.new_value,
            comment: &self.comment,
            public: self.public,
        }
    }
}

/// An event to append; sequence number and hashes are filled in here.
pub struct EventDraft<'a> {
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub actor_name: &'a str,
    pub role: &'a str,
    pub action: &'a str,
    pub from_stage: Option<&'a str>,
    pub to_stage: Option<&'a str>,
    pub old_value: &'a str,
    pub new_value: &'a str,
    pub comment: &'a str,
    /// Shown to the resident on their timeline. Internal remarks are not.
    pub public: bool,
}

/// Appends one event to a case's chain. Call inside the transaction that made the change.
pub fn append(conn: &mut DbConn, case_id: i64, e: &EventDraft<'_>) -> QueryResult<i64> {
    let last: Option<(i64, String)> = db_run!(conn, c => audit_events::table
        .filter(audit_events::case_id.eq(case_id))
        .order(audit_events::seq.desc())
        .select((audit_events::seq, audit_events::hash))
        .first(c)
        .optional())?;
    let (seq, prev_hash) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_string()),
    };
    insert_event(conn, case_id, seq, &prev_hash, e)
}

/// The first events of cases created in this transaction, one multi-row write: no reads.
pub fn append_firsts(conn: &mut DbConn, events: &[(i64, EventDraft<'_>)]) -> QueryResult<usize> {
    let rows: Vec<NewEvent<'_>> = events
        .iter()
        .map(|(case_id, e)| NewEvent::chained(*case_id, 1, GENESIS, e))
        .collect();
    Ok(crate::insert_chunked!(conn, audit_events::table, rows))
}

#[derive(Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
struct NewEvent<'a> {
    case_id: i64,
    seq: i64,
    at_ms: i64,
    actor_id: Option<i64>,
    actor_name: &'a str,
    role: &'a str,
    action: &'a str,
    from_stage: Option<&'a str>,
    to_stage: Option<&'a str>,
    old_value: &'a str,
    new_value: &'a str,
    comment: &'a str,
    public: bool,
    prev_hash: &'a str,
    hash: String,
}

impl<'a> NewEvent<'a> {
    /// The row for `e` as event `seq` of its case, hashed onto `prev_hash`.
    fn chained(case_id: i64, seq: i64, prev_hash: &'a str, e: &EventDraft<'a>) -> Self {
        let content = EventContent {
            case_id,
            seq,
            at_ms: e.at_ms,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            role: e.role,
            action: e.action,
            from_stage: e.from_stage,
            to_stage: e.to_stage,
            old_value: e.old_value,
            new_value: e.new_value,
            comment: e.comment,
            public: e.public,
        };
        NewEvent {
            hash: event_hash(prev_hash, &content),
            case_id,
            seq,
            at_ms: e.at_ms,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            role: e.role,
            action: e.action,
            from_stage: e.from_stage,
            to_stage: e.to_stage,
            old_value: e.old_value,
            new_value: e.new_value,
            comment: e.comment,
            public: e.public,
            prev_hash,
        }
    }
}

fn insert_event(
    conn: &mut DbConn,
    case_id: i64,
    seq: i64,
    prev_hash: &str,
    e: &EventDraft<'_>,
) -> QueryResult<i64> {
    let row = NewEvent::chained(case_id, seq, prev_hash, e);
    db_run!(conn, c => diesel::insert_into(audit_events::table).values(&row).execute(c))?;
    Ok(seq)
}

pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<AuditEvent>> {
    db_run!(conn, c => audit_events::table
        .filter(audit_events::case_id.eq(case_id))
        .order(audit_events::seq)
        .select(AuditEvent::as_select())
        .load(c))
}

pub struct VerifyReport {
    pub cases: usize,
    pub events: usize,
    pub breaks: Vec<ChainBreak>,
}

/// Checks every case's chain, reading in pages ordered by (case, seq) so memory stays flat.
pub fn verify_all(conn: &mut DbConn, mut progress: impl FnMut(usize)) -> QueryResult<VerifyReport> {
    const PAGE: i64 = 5_000;
    let mut report = VerifyReport {
        cases: 0,
        events: 0,
        breaks: Vec::new(),
    };
    let mut pending: Vec<AuditEvent> = Vec::new();
    let mut after: (i64, i64) = (i64::MIN, 0);
    loop {
        let page: Vec<AuditEvent> = db_run!(conn, c => audit_events::table
            .filter(audit_events::case_id.gt(after.0).or(audit_events::case_id.eq(after.0).and(audit_events::seq.gt(after.1))))
            .order((audit_events::case_id, audit_events::seq))
            .limit(PAGE)
            .select(AuditEvent::as_select())
            .load(c))?;
        let done = (page.len() as i64) < PAGE;
        if let Some(last) = page.last() {
            after = (last.case_id, last.seq);
        }
        report.events += page.len();
        progress(report.events);
        for event in page {
            if pending.last().is_some_and(|p| p.case_id != event.case_id) {
                finish_case(&mut pending, &mut report);
            }
            pending.push(event);
        }
        if done {
            finish_case(&mut pending, &mut report);
            return Ok(report);
        }
    }
}

fn finish_case(events: &mut Vec<AuditEvent>, report: &mut VerifyReport) {
    if events.is_empty() {
        return;
    }
    report.cases += 1;
    let chain = events.iter().map(|e| StoredEvent {
        id: e.id,
        content: e.content(),
        prev_hash: &e.prev_hash,
        hash: &e.hash,
    });
    if let Err(b) = verify_chain(chain) {
        report.breaks.push(b);
    }
    events.clear();
}

/// A trail row for reviewer metrics: (case, workflow, at, actor, action, from, to).
pub type TrailRow = (
    i64,
    String,
    i64,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
);

/// The whole trail of every case opened in `[from_ms, to_ms)` within a region, in order.
pub fn trails_of_cases_opened(
    conn: &mut DbConn,
    region_path: &str,
    from_ms: i64,
    to_ms: i64,
) -> QueryResult<Vec<TrailRow>> {
    use super::schema::cases;
    let pattern = format!("{region_path}/%");
    db_run!(conn, c => audit_events::table
        .inner_join(cases::table)
        .filter(cases::created_at.ge(from_ms).and(cases::created_at.lt(to_ms)))
        .filter(cases::region_path.eq(region_path).or(cases::region_path.like(&pattern)))
        .order((audit_events::case_id, audit_events::seq))
        .select((audit_events::case_id, cases::workflow, audit_events::at_ms, audit_events::actor_id, audit_events::action, audit_events::from_stage, audit_events::to_stage))
        .load(c))
}

/// Every event of these cases, ordered by case and sequence (one query for a page of cases).
pub fn for_cases(conn: &mut DbConn, case_ids: &[i64]) -> QueryResult<Vec<AuditEvent>> {
    db_run!(conn, c => audit_events::table
        .filter(audit_events::case_id.eq_any(case_ids))
        .order((audit_events::case_id, audit_events::seq))
        .select(AuditEvent::as_select())
        .load(c))
}

/// Verifies one case's events (in sequence order): how many, or the first break.
pub fn verify_events(events: &[AuditEvent]) -> Result<usize, ChainBreak> {
    verify_chain(events.iter().map(|e| StoredEvent {
        id: e.id,
        content: e.content(),
        prev_hash: &e.prev_hash,
        hash: &e.hash,
    }))
}
