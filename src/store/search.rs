//! The auditor's read-only searches over cases, claims and the audit trail, newest first, in
//! pages by id, always within the searcher's region.
use super::audit::EventRow;
use super::cases::CaseRow;
use super::schema::{audit_events, cases, claim_invoices, claims, persons, users};
use super::DbConn;
use crate::db_run;
use crate::domain::audit::StoredEvent;
use diesel::prelude::*;

#[derive(Debug, Clone, Default)]
pub struct CaseSearch {
    /// The searcher's region: only cases in its subtree.
    pub region_path: String,
    pub case_id: Option<i64>,
    pub workflow: Option<String>,
    /// `open` or `closed`; none for both.
    pub state: Option<String>,
    /// Opened at or after (ms).
    pub from_ms: Option<i64>,
    /// Opened before (ms).
    pub to_ms: Option<i64>,
    /// Cases with a smaller id than this (the next page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub fn cases(conn: &mut DbConn, s: &CaseSearch) -> QueryResult<Vec<CaseRow>> {
    let subtree = format!("{}/%", s.region_path);
    db_run!(conn, c => {
        let mut q = cases::table
            .filter(cases::region_path.eq(&s.region_path).or(cases::region_path.like(&subtree)))
            .select(CaseRow::as_select())
            .into_boxed();
        if let Some(id) = s.case_id {
            q = q.filter(cases::id.eq(id));
        }
        if let Some(w) = &s.workflow {
            q = q.filter(cases::workflow.eq(w));
        }
        match s.state.as_deref() {
            Some("open") => q = q.filter(cases::stage.is_not_null()),
            Some("closed") => q = q.filter(cases::outcome.is_not_null()),
            _ => {}
        }
        if let Some(from) = s.from_ms {
            q = q.filter(cases::created_at.ge(from));
        }
        if let Some(to) = s.to_ms {
            q = q.filter(cases::created_at.lt(to));
        }
        if let Some(before) = s.before_id {
            q = q.filter(cases::id.lt(before));
        }
        q.order(cases::id.desc()).limit(s.limit).load(c)
    })
}

/// A claim as the auditor's claim search lists it: the claim's own fields, its case, and the
/// insured person it was matched to.
#[derive(Debug, Clone, Queryable)]
pub struct ClaimHit {
    pub claim_id: i64,
    pub case_id: i64,
    pub workflow: String,
    pub stage: Option<String>,
    pub outcome: Option<String>,
    pub family: String,
    pub facility_code: String,
    pub admission_date: String,
    pub discharge_date: String,
    pub diagnosis_code: String,
    /// JSON array of the invoice numbers as filed.
    pub invoice_numbers: String,
    pub total_fen: i64,
    pub payable_fen: Option<i64>,
    pub decided_fen: Option<i64>,
    pub created_at: i64,
    pub person_name: Option<String>,
    pub id_number: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ClaimSearch {
    /// The searcher's region: only claims whose case lies in its subtree.
    pub region_path: String,
    pub claim_id: Option<i64>,
    /// One invoice number, exactly as filed.
    pub invoice: Option<String>,
    /// A full ID number, or part of a resident's name.
    pub resident: Option<String>,
    pub facility: Option<String>,
    pub family: Option<String>,
    /// Submitted at or after (ms).
    pub from_ms: Option<i64>,
    /// Submitted before (ms).
    pub to_ms: Option<i64>,
    /// Claims with a smaller id than this (the next page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// `%text%` for LIKE, with the pattern characters in `text` matched literally.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

pub fn claims(conn: &mut DbConn, s: &ClaimSearch) -> QueryResult<Vec<ClaimHit>> {
    let subtree = format!("{}/%", s.region_path);
    db_run!(conn, c => {
        let mut q = claims::table
            .inner_join(cases::table.on(cases::subject_id.eq(claims::id).and(cases::subject_kind.eq("claim"))))
            .left_join(persons::table.on(persons::id.nullable().eq(claims::person_id)))
            .filter(cases::region_path.eq(&s.region_path).or(cases::region_path.like(&subtree)))
            .into_boxed();
        if let Some(id) = s.claim_id {
            q = q.filter(claims::id.eq(id));
        }
        if let Some(invoice) = &s.invoice {
            q = q.filter(claims::id.eq_any(
                claim_invoices::table
                    .filter(claim_invoices::invoice_number.eq(invoice))
                    .select(claim_invoices::claim_id),
            ));
        }
        if let Some(who) = &s.resident {
            q = q.filter(
                persons::id_number
                    .eq(who)
                    .or(persons::name.like(contains_pattern(who)).escape('\\'))
                    .assume_not_null(),
            );
        }
        if let Some(facility) = &s.facility {
            q = q.filter(claims::facility_code.eq(facility));
        }
        if let Some(family) = &s.family {
            q = q.filter(claims::family.eq(family));
        }
        if let Some(from) = s.from_ms {
            q = q.filter(claims::created_at.ge(from));
        }
        if let Some(to) = s.to_ms {
            q = q.filter(claims::created_at.lt(to));
        }
        if let Some(before) = s.before_id {
            q = q.filter(claims::id.lt(before));
        }
        q.order(claims::id.desc())
            .limit(s.limit)
            .select((
                claims::id,
                cases::id,
                cases::workflow,
                cases::stage,
                cases::outcome,
                claims::family,
                claims::facility_code,
                claims::admission_date,
                claims::discharge_date,
                claims::diagnosis_code,
                claims::invoice_numbers,
                claims::total_fen,
                claims::payable_fen,
                claims::decided_fen,
                claims::created_at,
                persons::name.nullable(),
                persons::id_number.nullable(),
            ))
            .load(c)
    })
}

#[derive(Debug, Clone, Default)]
pub struct EventSearch {
    /// The searcher's region: only events of cases in its subtree.
    pub region_path: String,
    pub case_id: Option<i64>,
    /// A username or the recorded actor name (exact), or part of a user's display name.
    pub actor: Option<String>,
    pub role: Option<String>,
    pub action: Option<String>,
    /// At or after (ms).
    pub from_ms: Option<i64>,
    /// Before (ms).
    pub to_ms: Option<i64>,
    /// Events with a smaller id than this (the next page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// The audit trail across cases, newest first.
pub fn events(conn: &mut DbConn, s: &EventSearch) -> QueryResult<Vec<StoredEvent>> {
    let subtree = format!("{}/%", s.region_path);
    let rows: Vec<EventRow> = db_run!(conn, c => {
        let mut q = audit_events::table
            .inner_join(cases::table)
            .filter(cases::region_path.eq(&s.region_path).or(cases::region_path.like(&subtree)))
            .select(EventRow::as_select())
            .into_boxed();
        if let Some(id) = s.case_id {
            q = q.filter(audit_events::case_id.eq(id));
        }
        if let Some(actor) = &s.actor {
            let pattern = contains_pattern(actor);
            let named = users::table
                .filter(users::username.eq(actor).or(users::display_name.like(pattern.clone()).escape('\\')))
                .select(users::id.nullable());
            // `system` and `public` events have no user behind them: their recorded name.
            q = q.filter(
                audit_events::actor_id
                    .eq_any(named)
                    .or(audit_events::actor_name.eq(actor))
                    .assume_not_null(),
            );
        }
        if let Some(role) = &s.role {
            q = q.filter(audit_events::role.eq(role));
        }
        if let Some(action) = &s.action {
            q = q.filter(audit_events::action.eq(action));
        }
        if let Some(from) = s.from_ms {
            q = q.filter(audit_events::at_ms.ge(from));
        }
        if let Some(to) = s.to_ms {
            q = q.filter(audit_events::at_ms.lt(to));
        }
        if let Some(before) = s.before_id {
            q = q.filter(audit_events::id.lt(before));
        }
        q.order(audit_events::id.desc()).limit(s.limit).load(c)
    })?;
    Ok(super::audit::stored(rows))
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_match_wildcards_literally() {
        assert_eq!(super::contains_pattern("张"), "%张%");
        assert_eq!(super::contains_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
