//! Roles of handbook §2.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Resident,
    Clerk,
    Reviewer,
    SeniorReviewer,
    Supervisor,
    /// The head of the agency (经办机构负责人): where escalations end.
    Director,
    Inspector,
    Auditor,
    Admin,
    /// A designated facility's own staff (定点机构经办人): scoped to its facility codes,
    /// never to a region; acts only in the stages a workflow gives the facility.
    Facility,
    /// A facility's own administrator (定点机构管理员): also adds staff to the facility,
    /// within the limit the agency sets.
    FacilityAdmin,
}

impl Role {
    pub const ALL: [Role; 11] = [
        Role::Resident,
        Role::Clerk,
        Role::Reviewer,
        Role::SeniorReviewer,
        Role::Supervisor,
        Role::Director,
        Role::Inspector,
        Role::Auditor,
        Role::Admin,
        Role::Facility,
        Role::FacilityAdmin,
    ];

    /// The facility's people: they see and do only what their facility's cases give them.
    pub const FACILITY: [Role; 2] = [Role::Facility, Role::FacilityAdmin];

    /// Every role but the resident's: the people who work cases.
    pub const STAFF: [Role; 8] = [
        Role::Clerk,
        Role::Reviewer,
        Role::SeniorReviewer,
        Role::Supervisor,
        Role::Director,
        Role::Inspector,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Clerk => "clerk",
            Role::Reviewer => "reviewer",
            Role::SeniorReviewer => "senior_reviewer",
            Role::Supervisor => "supervisor",
            Role::Director => "director",
            Role::Inspector => "inspector",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Facility => "facility",
            Role::FacilityAdmin => "facility_admin",
        }
    }

    pub fn title_zh(self) -> &'static str {
        match self {
            Role::Resident => "参保人",
            Role::Clerk => "窗口受理员",
            Role::Reviewer => "初审员",
            Role::SeniorReviewer => "复审员",
            Role::Supervisor => "审批负责人",
            Role::Director => "经办机构负责人",
            Role::Inspector => "稽核员",
            Role::Auditor => "审计员",
            Role::Admin => "系统管理员",
            Role::Facility => "定点机构经办人",
            Role::FacilityAdmin => "定点机构管理员",
        }
    }

    /// Staff work within a region subtree; a resident only ever sees their own claims, and
    /// a facility only its own cases.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Resident | Role::Facility | Role::FacilityAdmin)
    }

    /// A facility's own people, scoped to facility codes rather than a region.
    pub fn is_facility(self) -> bool {
        matches!(self, Role::Facility | Role::FacilityAdmin)
    }

    /// Who may open a claim's documents (the resident only their own): the people who file,
    /// review, sign off, investigate and audit claims. Admins manage accounts and registries
    /// and have no need to read medical records; a facility reads only what its own cases
    /// show it, on its own pages.
    pub fn reads_documents(self) -> bool {
        !matches!(self, Role::Admin | Role::Facility | Role::FacilityAdmin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role `{0}` (expected one of resident, clerk, reviewer, senior_reviewer, supervisor, director, inspector, auditor, admin, facility, facility_admin)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_is_every_role_but_the_residents_and_the_facilities() {
        let staff: Vec<Role> = Role::ALL.into_iter().filter(|r| r.is_staff()).collect();
        assert_eq!(staff, Role::STAFF);
        let facility: Vec<Role> = Role::ALL.into_iter().filter(|r| r.is_facility()).collect();
        assert_eq!(facility, Role::FACILITY);
        assert!(Role::FACILITY.iter().all(|r| !r.reads_documents()));
    }
}
