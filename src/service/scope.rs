//! Read authorisation in one place. A [`Scope`] is computed from the principal: staff read
//! the cases of their region subtree, residents the cases they own. Every read of a case,
//! and the list queries through [`Scope::region_path`], goes through it.
use crate::auth::Principal;
use crate::domain::case::Subject;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::cases::{self as case_store, CaseRow};
use crate::store::DbConn;

#[derive(Debug, Clone)]
pub struct Scope {
    /// Staff: the region subtree they read.
    region_path: Option<String>,
    /// Residents: the user whose own cases they read.
    owner: Option<i64>,
}

impl Scope {
    pub fn of(p: &Principal) -> Scope {
        Scope {
            region_path: p.is_staff().then(|| p.region_path.clone()),
            owner: p.has(Role::Resident).then_some(p.user_id),
        }
    }

    pub fn sees(&self, case: &CaseRow) -> bool {
        let in_region = self
            .region_path
            .as_deref()
            .is_some_and(|r| crate::store::regions::path_within(&case.region_path, r));
        let owned = self.owner.is_some() && case.owner_user_id == self.owner;
        in_region || owned
    }

    /// The region subtree a staff list is limited to; `None` for a resident.
    pub fn region_path(&self) -> Option<&str> {
        self.region_path.as_deref()
    }

    /// The case if this scope sees it. Anything else is "not found", worded as for an id that
    /// names nothing, so that no caller can tell another region's cases (or another
    /// resident's) from numbers never issued.
    pub fn check(&self, case: CaseRow) -> AppResult<CaseRow> {
        if self.sees(&case) {
            Ok(case)
        } else {
            Err(AppError::NotFound(format!("case {}", case.id)))
        }
    }
}

/// The region subtree a staff list query is limited to: the one place every list (queue,
/// reports, dashboards, audit lists, digests) takes its region from. Not staff: refused, so
/// that a list whose role check was forgotten still shows a resident nothing.
pub fn staff_region(p: &Principal) -> AppResult<&str> {
    Scope::of(p)
        .region_path
        .is_some()
        .then_some(p.region_path.as_str())
        .ok_or_else(|| AppError::Forbidden(crate::error::Msg::new("forbidden-staff-only")))
}

/// Read access to one case, as [`Scope::check`] decides it.
pub fn ensure_can_see(p: &Principal, case: &CaseRow) -> AppResult<()> {
    Scope::of(p).check(case.clone()).map(drop)
}

/// A case by id, without an authorisation check (jobs and the engine's own reads).
pub fn load(conn: &mut DbConn, case_id: i64) -> AppResult<CaseRow> {
    case_store::get(conn, case_id)?.ok_or_else(|| AppError::NotFound(format!("case {case_id}")))
}

/// A case by id, if the principal may see it.
pub fn case(conn: &mut DbConn, p: &Principal, case_id: i64) -> AppResult<CaseRow> {
    Scope::of(p).check(load(conn, case_id)?)
}

/// The case of a subject (a claim, a violation, a report), if the principal may see it.
pub fn case_of(conn: &mut DbConn, p: &Principal, subject: Subject) -> AppResult<CaseRow> {
    // Unseen answers as unknown, naming what was asked for (not the case behind it).
    let missing = || AppError::NotFound(format!("{} {}", subject.kind(), subject.id()));
    let case = case_store::for_subject(conn, subject)?.ok_or_else(missing)?;
    if Scope::of(p).sees(&case) {
        Ok(case)
    } else {
        Err(missing())
    }
}

/// The role a breached case was escalated to, when this user holds it.
pub fn stand_in(p: &Principal, case: &CaseRow) -> Option<Role> {
    let role: Role = case.escalated_to.as_deref()?.parse().ok()?;
    (p.has(role) && p.covers_region(&case.region_path)).then_some(role)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: Vec<Role>) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            roles,
            region: "330326".into(),
            region_path: "330000/330300/330326".into(),
            org: String::new(),
            lang: "zh-CN".into(),
            facilities: Vec::new(),
            session_id: String::new(),
        }
    }

    #[test]
    fn lists_take_the_staff_region_and_refuse_residents() {
        let staff = principal(vec![Role::Reviewer]);
        assert_eq!(staff_region(&staff).unwrap(), "330000/330300/330326");
        let resident = principal(vec![Role::Resident]);
        assert!(matches!(
            staff_region(&resident),
            Err(AppError::Forbidden(_))
        ));
    }
}
