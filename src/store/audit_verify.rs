//! `audit verify`: every case's hash chain, each chain's end against the head its case row
//! records, and the case and claim rows against the state their events replay to. One pass
//! in (case, seq) order, a page at a time, so memory stays flat however long the trail.
use super::audit::{stored, EventRow};
use super::audit_checkpoints::{self, Checkpoint};
use super::schema::{audit_events, cases, claims};
use super::DbConn;
use crate::db_run;
use crate::domain::audit::{verify_chain, ChainBreak, StoredEvent};
use crate::domain::trail::TrailState;
use diesel::prelude::*;
use std::borrow::Cow;
use std::collections::VecDeque;

const PAGE: i64 = 5_000;

pub struct VerifyReport {
    pub cases: usize,
    pub events: usize,
    /// Broken cases: by their own chain, their row, or a checkpoint.
    pub breaks: Vec<ChainBreak>,
    pub checkpoints: usize,
    pub last_checkpoint: Option<Checkpoint>,
    /// Sign-in attempts in their own chain.
    pub sign_ins: usize,
    /// Whole-trail findings: a checkpoint that fails its MAC, events missing since one.
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.breaks.is_empty() && self.problems.is_empty()
    }
}

/// A case row as verification reads it: where its chain ends, and what it holds.
struct RecordedCase {
    id: i64,
    last_seq: i64,
    last_hash: String,
    held: TrailState,
    is_claim: bool,
}

type RecordedRow = (
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
    Option<i64>,
);

/// The case rows (with their claims' decided amounts) in id order, a page at a time,
/// read alongside the trail.
struct RecordedCases {
    page: VecDeque<RecordedCase>,
    after: i64,
    exhausted: bool,
}

impl RecordedCases {
    fn new() -> Self {
        RecordedCases {
            page: VecDeque::new(),
            after: i64::MIN,
            exhausted: false,
        }
    }

    /// The next case row in id order, or None after the last.
    fn next(&mut self, conn: &mut DbConn) -> QueryResult<Option<RecordedCase>> {
        if self.page.is_empty() && !self.exhausted {
            let after = self.after;
            let claim_of_case = claims::id
                .eq(cases::subject_id)
                .and(cases::subject_kind.eq("claim"));
            let rows: Vec<RecordedRow> = db_run!(conn, c => cases::table
                .left_join(claims::table.on(claim_of_case))
                .filter(cases::id.gt(after))
                .order(cases::id)
                .limit(PAGE)
                .select((cases::id, cases::last_seq, cases::last_hash, cases::stage, cases::outcome, cases::assignee_id, cases::subject_kind, claims::decided_fen.nullable()))
                .load(c))?;
            self.exhausted = (rows.len() as i64) < PAGE;
            if let Some(last) = rows.last() {
                self.after = last.0;
            }
            self.page.extend(rows.into_iter().map(
                |(id, last_seq, last_hash, stage, outcome, assignee_id, kind, decided_fen)| {
                    RecordedCase {
                        id,
                        last_seq,
                        last_hash,
                        held: TrailState {
                            stage,
                            outcome,
                            assignee_id,
                            decided_fen,
                        },
                        is_claim: kind == "claim",
                    }
                },
            ));
        }
        Ok(self.page.pop_front())
    }
}

/// A case row whose recorded head is not where its trail ends: the newest events were
/// deleted (or the row was edited).
fn head_break(case_id: i64, recorded_seq: i64, found: Option<&StoredEvent>) -> ChainBreak {
    ChainBreak {
        case_id,
        event_id: found.map_or(0, |e| e.id),
        seq: recorded_seq,
        reason: Cow::Borrowed(
            "the trail ends before the head recorded on the case row: its newest events were deleted",
        ),
    }
}

/// Checks every case's chain, reading in pages ordered by (case, seq) so memory stays flat;
/// each chain's end against the head its case row records, so a trail shortened at its
/// tail (or removed whole) is caught; and each row against what its trail replays to, so a
/// stage, outcome, holder or decided amount changed by hand is caught too. Then the trail
/// against its checkpoints, under `audit_key`.
pub fn verify_all(
    conn: &mut DbConn,
    audit_key: &[u8],
    mut progress: impl FnMut(usize),
) -> QueryResult<VerifyReport> {
    let mut report = VerifyReport {
        cases: 0,
        events: 0,
        breaks: Vec::new(),
        checkpoints: 0,
        last_checkpoint: None,
        sign_ins: 0,
        problems: Vec::new(),
    };
    let mut recorded = RecordedCases::new();
    let mut pending: Vec<StoredEvent> = Vec::new();
    let mut after: (i64, i64) = (i64::MIN, 0);
    loop {
        let page = stored(db_run!(conn, c => audit_events::table
            .filter(audit_events::case_id.gt(after.0).or(audit_events::case_id.eq(after.0).and(audit_events::seq.gt(after.1))))
            .order((audit_events::case_id, audit_events::seq))
            .limit(PAGE)
            .select(EventRow::as_select())
            .load(c))?);
        let done = (page.len() as i64) < PAGE;
        if let Some(last) = page.last() {
            after = (last.event.case_id, last.event.seq);
        }
        report.events += page.len();
        progress(report.events);
        for event in page {
            if pending
                .last()
                .is_some_and(|p| p.event.case_id != event.event.case_id)
            {
                finish_case(conn, &mut recorded, &mut pending, &mut report)?;
            }
            pending.push(event);
        }
        if done {
            finish_case(conn, &mut recorded, &mut pending, &mut report)?;
            // Case rows after the last trail: their whole trail is gone.
            while let Some(row) = recorded.next(conn)? {
                trail_gone(&row, &mut report);
            }
            let checked = audit_checkpoints::verify(conn, audit_key)?;
            report.checkpoints = checked.checkpoints;
            report.last_checkpoint = checked.last;
            report.problems = checked.problems;
            report.breaks.extend(checked.breaks);
            let (sign_ins, broken) = super::logins::verify_chain(conn)?;
            report.sign_ins = sign_ins;
            report.problems.extend(broken);
            return Ok(report);
        }
    }
}

fn trail_gone(row: &RecordedCase, report: &mut VerifyReport) {
    if row.last_seq > 0 {
        report.cases += 1;
        report.breaks.push(head_break(row.id, row.last_seq, None));
    }
}

fn finish_case(
    conn: &mut DbConn,
    recorded: &mut RecordedCases,
    events: &mut Vec<StoredEvent>,
    report: &mut VerifyReport,
) -> QueryResult<()> {
    let Some(case_id) = events.first().map(|e| e.event.case_id) else {
        return Ok(());
    };
    report.cases += 1;
    // Case rows before this one with no trail at all.
    let row = loop {
        match recorded.next(conn)? {
            Some(row) if row.id < case_id => trail_gone(&row, report),
            Some(row) if row.id == case_id => break Some(row),
            Some(other) => {
                recorded.page.push_front(other);
                break None;
            }
            None => break None,
        }
    };
    match verify_chain(events.iter()) {
        Err(b) => report.breaks.push(b),
        Ok((_, head)) => {
            if let Some(row) = row {
                if head.seq != row.last_seq || head.hash != row.last_hash {
                    report
                        .breaks
                        .push(head_break(case_id, row.last_seq, events.last()));
                } else {
                    let trail = TrailState::replay(events.iter());
                    let contradictions = trail.contradictions(&row.held, row.is_claim);
                    if !contradictions.is_empty() {
                        report.breaks.push(ChainBreak {
                            case_id,
                            event_id: events.last().map_or(0, |e| e.id),
                            seq: head.seq,
                            reason: Cow::Owned(format!(
                                "the case row contradicts its trail: {}",
                                contradictions.join("; ")
                            )),
                        });
                    }
                }
            }
        }
    }
    events.clear();
    Ok(())
}
