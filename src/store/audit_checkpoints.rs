//! Keyed checkpoints of the whole trail. Someone who can write to the database can rewrite a
//! case's chain end to end and its head on the case row with it, since SHA-256 needs no
//! key. A checkpoint records the heads of the chains that moved since the previous one,
//! and the number of events, under an HMAC whose key lives outside the database (the data
//! dir or `CLAIMFLOW_AUDIT_KEY`), chained through every earlier checkpoint. Verification
//! then finds every checkpointed head still in its chain, and the events counted then still
//! there.
use super::schema::{audit_checkpoint_heads as heads, audit_checkpoints, audit_events, cases};
use super::DbConn;
use crate::db_run;
use crate::domain::audit::ChainBreak;
use crate::domain::trail::{CheckpointFields, CheckpointMac};
use diesel::prelude::*;
use std::borrow::Cow;

const PAGE: i64 = 5_000;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = audit_checkpoints)]
pub struct Checkpoint {
    pub id: i64,
    pub at_ms: i64,
    pub max_event_id: i64,
    pub events: i64,
    pub mac: String,
    /// The sign-in chain's end when the checkpoint was written (0 before any sign-in).
    pub login_max_id: i64,
    pub login_hash: String,
}

#[derive(Insertable)]
#[diesel(table_name = heads)]
struct NewHead {
    checkpoint_id: i64,
    case_id: i64,
    seq: i64,
    hash: String,
}

fn latest(conn: &mut DbConn) -> QueryResult<Option<Checkpoint>> {
    db_run!(conn, c => audit_checkpoints::table
        .order(audit_checkpoints::id.desc())
        .select(Checkpoint::as_select())
        .first(c)
        .optional())
}

/// Writes a checkpoint of every chain that moved since the last one; `None` when no event
/// was written since. Call inside a write transaction. On PostgreSQL the trail is locked
/// against appends for its duration, so that no event with a lower id commits after the
/// checkpoint has counted past it.
pub fn write(
    conn: &mut DbConn,
    key: &[u8],
    now_ms: i64,
) -> QueryResult<Option<(Checkpoint, usize)>> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query("LOCK TABLE audit_events, login_events IN SHARE MODE").execute(c)?;
    }
    let previous = latest(conn)?;
    let (prev_max, prev_events, prev_mac, prev_login) =
        previous.as_ref().map_or((0, 0, String::new(), 0), |p| {
            (p.max_event_id, p.events, p.mac.clone(), p.login_max_id)
        });
    let max_id: i64 = db_run!(conn, c => audit_events::table
        .select(diesel::dsl::max(audit_events::id))
        .first::<Option<i64>>(c))?
    .unwrap_or(0)
    .max(prev_max);
    let (login_max_id, login_hash) = super::logins::head(conn)?;
    if max_id == prev_max && login_max_id <= prev_login {
        return Ok(None);
    }
    let new_events: i64 = db_run!(conn, c => audit_events::table
        .filter(audit_events::id.gt(prev_max).and(audit_events::id.le(max_id)))
        .count()
        .get_result(c))?;
    let mut row = Checkpoint {
        id: 0,
        at_ms: now_ms,
        max_event_id: max_id,
        events: prev_events + new_events,
        mac: String::new(),
        login_max_id,
        login_hash,
    };
    row.id = db_run!(conn, c => diesel::insert_into(audit_checkpoints::table)
        .values((audit_checkpoints::at_ms.eq(row.at_ms), audit_checkpoints::max_event_id.eq(row.max_event_id),
                 audit_checkpoints::events.eq(row.events), audit_checkpoints::mac.eq(""),
                 audit_checkpoints::login_max_id.eq(row.login_max_id), audit_checkpoints::login_hash.eq(&row.login_hash)))
        .returning(audit_checkpoints::id)
        .get_result(c))?;
    let mut mac = CheckpointMac::new(key, &fields_of(&row, &prev_mac));
    // Nothing appends meanwhile (the lock, or SQLite's single writer), so each moved case's
    // row holds the head of exactly the events counted.
    let mut after = i64::MIN;
    let mut written = 0;
    loop {
        let moved = audit_events::table
            .filter(audit_events::id.gt(prev_max))
            .select(audit_events::case_id);
        let page: Vec<(i64, i64, String)> = if prev_max == 0 {
            db_run!(conn, c => cases::table
                .filter(cases::id.gt(after).and(cases::last_seq.gt(0)))
                .order(cases::id).limit(PAGE)
                .select((cases::id, cases::last_seq, cases::last_hash)).load(c))?
        } else {
            db_run!(conn, c => cases::table
                .filter(cases::id.gt(after).and(cases::id.eq_any(moved)))
                .order(cases::id).limit(PAGE)
                .select((cases::id, cases::last_seq, cases::last_hash)).load(c))?
        };
        let Some(last) = page.last() else { break };
        after = last.0;
        let rows: Vec<NewHead> = page
            .into_iter()
            .map(|(case_id, seq, hash)| {
                mac.add_head(case_id, seq, &hash);
                NewHead {
                    checkpoint_id: row.id,
                    case_id,
                    seq,
                    hash,
                }
            })
            .collect();
        written += crate::insert_chunked!(conn, heads::table, rows);
    }
    row.mac = mac.finish();
    db_run!(conn, c => diesel::update(audit_checkpoints::table.find(row.id))
        .set(audit_checkpoints::mac.eq(&row.mac))
        .execute(c))?;
    Ok(Some((row, written)))
}

fn fields_of<'a>(row: &'a Checkpoint, prev_mac: &'a str) -> CheckpointFields<'a> {
    CheckpointFields {
        id: row.id,
        at_ms: row.at_ms,
        max_event_id: row.max_event_id,
        events: row.events,
        prev_mac,
        login_head: (row.login_max_id, &row.login_hash),
    }
}

/// What the checkpoints say about the trail.
#[derive(Debug, Default)]
pub struct CheckpointReport {
    pub checkpoints: usize,
    pub last: Option<Checkpoint>,
    /// Checkpoints that fail their MAC, and events missing or added below the last one.
    pub problems: Vec<String>,
    /// Cases whose chain no longer holds a head a checkpoint recorded: one per case.
    pub breaks: Vec<ChainBreak>,
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |t| t.to_rfc3339())
}

/// Checks every checkpoint's MAC (in order, each over the previous one's), that each head it
/// recorded is still in its chain with the same hash, and that the events the last one
/// counted are all still there and no more.
pub fn verify(conn: &mut DbConn, key: &[u8]) -> QueryResult<CheckpointReport> {
    let all: Vec<Checkpoint> = db_run!(conn, c => audit_checkpoints::table
        .order(audit_checkpoints::id)
        .select(Checkpoint::as_select())
        .load(c))?;
    let mut report = CheckpointReport {
        checkpoints: all.len(),
        ..Default::default()
    };
    let mut reported = std::collections::BTreeSet::new();
    let mut prev_mac = String::new();
    for cp in &all {
        let mut mac = CheckpointMac::new(key, &fields_of(cp, &prev_mac));
        let mut after = i64::MIN;
        loop {
            let in_chain = audit_events::case_id
                .eq(heads::case_id)
                .and(audit_events::seq.eq(heads::seq));
            let page: Vec<(i64, i64, String, Option<String>)> = db_run!(conn, c => heads::table
                .left_join(audit_events::table.on(in_chain))
                .filter(heads::checkpoint_id.eq(cp.id).and(heads::case_id.gt(after)))
                .order(heads::case_id)
                .limit(PAGE)
                .select((heads::case_id, heads::seq, heads::hash, audit_events::hash.nullable()))
                .load(c))?;
            let Some(last) = page.last() else { break };
            after = last.0;
            for (case_id, seq, hash, found) in page {
                mac.add_head(case_id, seq, &hash);
                if found.as_deref() != Some(hash.as_str()) && reported.insert(case_id) {
                    report.breaks.push(ChainBreak {
                        case_id,
                        event_id: 0,
                        seq,
                        reason: Cow::Owned(format!(
                            "event {seq}, recorded by checkpoint {} of {}, is missing or was rewritten since",
                            cp.id,
                            when(cp.at_ms)
                        )),
                    });
                }
            }
        }
        if cp.login_max_id > 0
            && super::logins::hash_of(conn, cp.login_max_id)?.as_deref()
                != Some(cp.login_hash.as_str())
        {
            report.problems.push(format!(
                "sign-in record {}, the chain's end at checkpoint {} of {}, is missing or was rewritten since",
                cp.login_max_id,
                cp.id,
                when(cp.at_ms)
            ));
        }
        if mac.finish() != cp.mac {
            report.problems.push(format!(
                "checkpoint {} of {} does not match its MAC: the checkpoint rows were edited or removed, or the audit key is not the one they were written with",
                cp.id,
                when(cp.at_ms)
            ));
        }
        prev_mac.clone_from(&cp.mac);
    }
    if let Some(last) = all.last() {
        let now: i64 = db_run!(conn, c => audit_events::table
            .filter(audit_events::id.le(last.max_event_id))
            .count()
            .get_result(c))?;
        if now != last.events {
            let what = if now < last.events {
                format!("{} of them are missing: deleted since", last.events - now)
            } else {
                format!(
                    "{} more now sit below its last id: written outside the application",
                    now - last.events
                )
            };
            report.problems.push(format!(
                "checkpoint {} of {} counted {} events; {what}",
                last.id,
                when(last.at_ms),
                last.events
            ));
        }
        report.last = Some(last.clone());
    }
    Ok(report)
}
