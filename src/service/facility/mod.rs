//! The facility side (handbook §8.3, Order 735): a designated facility's own people act in
//! the stages a workflow gives the facility (its statement, its rectification, its appeal
//! against a screening finding, the hospital's first review of a claim), and see exactly the
//! cases those stages brought them, nothing else. A case brings a facility a task when it
//! arrives at one of the facility's stages; the task closes when the case moves on (by the
//! facility, by staff, or by the deadline). Every read and write here starts from the
//! caller's facility codes; whatever the codes do not reach is "not found", worded as for
//! an id never issued.
mod acts;
mod dashboard;
mod staff;
mod views;

pub use super::facility_tasks::{remind, CORRECT_INVOICE};
pub use acts::{attach, correct_invoice, open_file, set_disclosed, Correction};
pub use dashboard::{dashboard, FacilityDashboard, RuleRate};
pub use staff::{add_staff, staff_of, NewStaff};
pub use views::{case_view, list, FacilityCaseView, TaskItem};

use super::cases::{self, ActionRequest};
use super::Env;
use crate::auth::Principal;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::cases::CaseRow;
use crate::store::facility_side::{self as store, TaskRow};
use crate::store::DbConn;

/// Refuses everyone but a facility's own people (before anything is read or parsed).
pub fn require_facility(p: &Principal) -> AppResult<()> {
    p.require_any(&Role::FACILITY).map(drop)
}

/// The case, if one of its tasks was for a facility this user speaks for; with those tasks.
pub fn case(conn: &mut DbConn, p: &Principal, case_id: i64) -> AppResult<(CaseRow, Vec<TaskRow>)> {
    require_facility(p)?;
    let unknown = || AppError::NotFound(format!("case {case_id}"));
    let tasks = store::tasks_on(conn, case_id, &p.facilities)?;
    if tasks.is_empty() {
        return Err(unknown());
    }
    let case = crate::store::cases::get(conn, case_id)?.ok_or_else(unknown)?;
    Ok((case, tasks))
}

/// The facility's action on one of its cases: the workflow decides, as for staff, but the
/// facility acts only in its own roles, so that an action of any other stage is refused.
pub fn act(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    req: &ActionRequest<'_>,
) -> AppResult<CaseRow> {
    conn.write_tx(|conn| {
        let (case, _) = case(conn, p, req.case_id)?;
        let roles: Vec<Role> = p
            .roles
            .iter()
            .copied()
            .filter(|r| r.is_facility())
            .collect();
        cases::take(conn, env, p, &roles, case, req)
    })
}
