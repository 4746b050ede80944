//! The auditor's lists: cases with the verdict of their hash chain, claims and events, each
//! found by a search already limited to the caller's region subtree (`scope::staff_region`).
use crate::domain::audit::StoredEvent;
use crate::error::AppResult;
use crate::store::cases::CaseRow;
use crate::store::search::{self, CaseSearch, ClaimHit, ClaimSearch, EventSearch};
use crate::store::{audit, DbConn};

/// Whether a case's chain verifies (with its length) or where it breaks.
pub type Verdict = Result<usize, String>;

/// Cases and, per case, the verdict of its chain.
pub fn cases(conn: &mut DbConn, s: &CaseSearch) -> AppResult<Vec<(CaseRow, Verdict)>> {
    let rows = search::cases(conn, s)?;
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    // Events in chunks of 500 cases, so that no statement carries too many parameters.
    let mut events = Vec::new();
    for chunk in ids.chunks(500) {
        events.extend(audit::for_cases(conn, chunk)?);
    }
    events.sort_by_key(|e| (e.case_id, e.seq));
    let mut out = Vec::with_capacity(rows.len());
    for case in rows {
        let start = events.partition_point(|e| e.case_id < case.id);
        let end = events.partition_point(|e| e.case_id <= case.id);
        let verdict = crate::domain::audit::verify_chain(&events[start..end])
            .map(|(count, _)| count)
            .map_err(|b| format!("#{} {}", b.seq, b.reason));
        out.push((case, verdict));
    }
    Ok(out)
}

pub fn claims(conn: &mut DbConn, s: &ClaimSearch) -> AppResult<Vec<ClaimHit>> {
    Ok(search::claims(conn, s)?)
}

pub fn events(conn: &mut DbConn, s: &EventSearch) -> AppResult<Vec<StoredEvent>> {
    Ok(search::events(conn, s)?)
}

/// The mail outbox about cases of the caller's region subtree, newest first (admins and
/// auditors); letters about no case are nobody's region and are not listed.
pub fn outbox(
    conn: &mut DbConn,
    p: &crate::auth::Principal,
    case_id: Option<i64>,
    limit: i64,
) -> AppResult<Vec<crate::store::outbox::MailRow>> {
    use crate::domain::roles::Role;
    p.require_any(&[Role::Admin, Role::Auditor])?;
    let region = crate::service::scope::staff_region(p)?;
    Ok(crate::store::outbox::list_in_region(
        conn, region, case_id, limit,
    )?)
}
