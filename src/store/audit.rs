//! The append-only audit trail. Events are only ever inserted: there is no update or delete
//! here, and the database refuses both (triggers in the migrations). Verification is in
//! `audit_verify`, checkpoints in `audit_checkpoints`.
use super::schema::{audit_events, cases};
use super::DbConn;
use crate::db_run;
use crate::domain::audit::{ChainHead, Event, StoredEvent, GENESIS};
use diesel::prelude::*;
use std::borrow::Cow;

/// An event row as stored; read back as a [`StoredEvent`].
#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct EventRow {
    id: i64,
    case_id: i64,
    seq: i64,
    at_ms: i64,
    actor_id: Option<i64>,
    actor_name: String,
    role: String,
    action: String,
    from_stage: Option<String>,
    to_stage: Option<String>,
    old_value: String,
    new_value: String,
    comment: String,
    public: bool,
    prev_hash: String,
    hash: String,
}

impl From<EventRow> for StoredEvent {
    fn from(r: EventRow) -> StoredEvent {
        StoredEvent {
            id: r.id,
            event: Event {
                case_id: r.case_id,
                seq: r.seq,
                at_ms: r.at_ms,
                actor_id: r.actor_id,
                actor_name: Cow::Owned(r.actor_name),
                role: Cow::Owned(r.role),
                action: Cow::Owned(r.action),
                from_stage: r.from_stage.map(Cow::Owned),
                to_stage: r.to_stage.map(Cow::Owned),
                old_value: Cow::Owned(r.old_value),
                new_value: Cow::Owned(r.new_value),
                comment: Cow::Owned(r.comment),
                public: r.public,
            },
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

pub fn stored(rows: Vec<EventRow>) -> Vec<StoredEvent> {
    rows.into_iter().map(StoredEvent::from).collect()
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
    hash: &'a str,
}

impl<'a> NewEvent<'a> {
    /// The row of `e` (already placed in its case's chain), hashed onto `prev_hash`.
    fn of(e: &'a Event<'_>, prev_hash: &'a str, hash: &'a str) -> Self {
        NewEvent {
            case_id: e.case_id,
            seq: e.seq,
            at_ms: e.at_ms,
            actor_id: e.actor_id,
            actor_name: &e.actor_name,
            role: &e.role,
            action: &e.action,
            from_stage: e.from_stage.as_deref(),
            to_stage: e.to_stage.as_deref(),
            old_value: &e.old_value,
            new_value: &e.new_value,
            comment: &e.comment,
            public: e.public,
            prev_hash,
            hash,
        }
    }
}

/// The head a case's chain ends in, from its case row.
fn head_of(conn: &mut DbConn, case_id: i64) -> QueryResult<ChainHead> {
    let (seq, hash): (i64, String) = db_run!(conn, c => cases::table
        .find(case_id)
        .select((cases::last_seq, cases::last_hash))
        .first(c))?;
    Ok(ChainHead { seq, hash })
}

/// Appends one event to a case's chain and moves the head on the case row. Call inside the
/// transaction that made the change. Returns the event's sequence number.
pub fn append(conn: &mut DbConn, case_id: i64, event: Event<'_>) -> QueryResult<i64> {
    let head = head_of(conn, case_id)?;
    let event = event.at(case_id, head.seq + 1);
    let hash = event.hash(&head.hash);
    db_run!(conn, c => diesel::insert_into(audit_events::table)
        .values(NewEvent::of(&event, &head.hash, &hash))
        .execute(c))?;
    let moved = db_run!(conn, c => diesel::update(cases::table.filter(cases::id.eq(case_id).and(cases::last_seq.eq(head.seq))))
        .set((cases::last_seq.eq(event.seq), cases::last_hash.eq(&hash)))
        .execute(c))?;
    if moved != 1 {
        // Another transaction appended to this case after the head was read.
        return Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::SerializationFailure,
            Box::new(format!(
                "case {case_id}: its audit trail moved on meanwhile"
            )),
        ));
    }
    Ok(event.seq)
}

/// The first event of a case about to be written, and the head its case row starts with.
pub fn first_event<'a>(case_id: i64, event: Event<'a>) -> (Event<'a>, ChainHead) {
    let event = event.at(case_id, 1);
    let hash = event.hash(GENESIS);
    (event, ChainHead { seq: 1, hash })
}

/// The first events of cases created in this transaction (their heads already on the case
/// rows, from [`first_event`]), one multi-row write: no reads.
pub fn insert_firsts(conn: &mut DbConn, firsts: &[(Event<'_>, ChainHead)]) -> QueryResult<usize> {
    let rows: Vec<NewEvent<'_>> = firsts
        .iter()
        .map(|(event, head)| NewEvent::of(event, GENESIS, &head.hash))
        .collect();
    Ok(crate::insert_chunked!(conn, audit_events::table, rows))
}

pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<StoredEvent>> {
    Ok(stored(db_run!(conn, c => audit_events::table
        .filter(audit_events::case_id.eq(case_id))
        .order(audit_events::seq)
        .select(EventRow::as_select())
        .load(c))?))
}

/// The action of a case's latest event.
pub fn last_action(conn: &mut DbConn, case_id: i64) -> QueryResult<Option<String>> {
    db_run!(conn, c => audit_events::table
        .filter(audit_events::case_id.eq(case_id))
        .order(audit_events::seq.desc())
        .select(audit_events::action)
        .first(c)
        .optional())
}

/// How many `action` events a case has had since `since_ms` (reminders in one stage visit).
pub fn count_since(
    conn: &mut DbConn,
    case_id: i64,
    action: &str,
    since_ms: i64,
) -> QueryResult<i64> {
    db_run!(conn, c => audit_events::table
        .filter(audit_events::case_id.eq(case_id))
        .filter(audit_events::action.eq(action))
        .filter(audit_events::at_ms.ge(since_ms))
        .count()
        .get_result(c))
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
pub fn for_cases(conn: &mut DbConn, case_ids: &[i64]) -> QueryResult<Vec<StoredEvent>> {
    Ok(stored(db_run!(conn, c => audit_events::table
        .filter(audit_events::case_id.eq_any(case_ids))
        .order((audit_events::case_id, audit_events::seq))
        .select(EventRow::as_select())
        .load(c))?))
}
