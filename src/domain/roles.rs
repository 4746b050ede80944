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
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Resident,
        Role::Clerk,
        Role::Reviewer,
        Role::SeniorReviewer,
        Role::Supervisor,
        Role::Director,
        Role::Inspector,
        Role::Auditor,
        Role::Admin,
    ];

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
        }
    }

    /// Staff work within a region subtree; a resident only ever sees their own claims.
    pub fn is_staff(self) -> bool {
        self != Role::Resident
    }

    /// Who may open a claim's documents (the resident only their own): the people who file,
    /// review, sign off, investigate and audit claims. Admins manage accounts and registries
    /// and have no need to read medical records.
    pub fn reads_documents(self) -> bool {
        self != Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role `{0}` (expected one of resident, clerk, reviewer, senior_reviewer, supervisor, director, inspector, auditor, admin)")]
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
    fn staff_is_every_role_but_the_residents() {
        let staff: Vec<Role> = Role::ALL.into_iter().filter(|r| r.is_staff()).collect();
        assert_eq!(staff, Role::STAFF);
    }
}
