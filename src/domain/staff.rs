//! Who works at the office and what each role may do in the console (and at the command line,
//! which calls the same functions).
//!
//! - **clerk**: the agenda, a case, check-in, no-show, the document checklist, resending
//!   documents; approving and rejecting when the office lets clerks issue;
//! - **supervisor**: also capacity, hours, closures, rescheduling for an applicant, reopening a
//!   rejected case;
//! - **admin**: also users and offices.
//!
//! A member with an office sees only that office; one without an office is national.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clerk,
    Supervisor,
    Admin,
}

/// What a staff action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the agenda, a case, its timeline; search.
    View,
    /// Check-in, no-show, the document checklist, resending documents.
    Attend,
    /// Approve (issue the cédula) or reject, when the office lets clerks do it.
    Issue,
    /// Capacity, hours, closures, rescheduling for an applicant, reopening a rejected case.
    Supervise,
    /// Users and offices.
    Administer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Clerk, Role::Supervisor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }

    /// Whether the role may do what `permission` covers; `clerks_issue` is the office's rule
    /// for [`Permission::Issue`].
    pub fn allows(self, permission: Permission, clerks_issue: bool) -> bool {
        match permission {
            Permission::View | Permission::Attend => true,
            Permission::Issue => self >= Role::Supervisor || clerks_issue,
            Permission::Supervise => self >= Role::Supervisor,
            Permission::Administer => self == Role::Admin,
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(value: String) -> Result<Role, String> {
        Role::parse(&value).ok_or_else(|| format!("unknown staff role {value:?}"))
    }
}

/// A staff member as the console and the audit trail know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// `None`: national (every office).
    pub office_id: Option<String>,
}

impl StaffMember {
    /// Whether the member works at `office_id` (a national member works at every office).
    pub fn serves(&self, office_id: &str) -> bool {
        self.office_id.as_deref().is_none_or(|own| own == office_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grow_in_what_they_may_do() {
        use Permission::*;
        assert!(Role::Clerk.allows(View, false) && Role::Clerk.allows(Attend, false));
        assert!(!Role::Clerk.allows(Issue, false) && Role::Clerk.allows(Issue, true));
        assert!(!Role::Clerk.allows(Supervise, true) && !Role::Clerk.allows(Administer, true));
        assert!(Role::Supervisor.allows(Issue, false) && Role::Supervisor.allows(Supervise, false));
        assert!(!Role::Supervisor.allows(Administer, false));
        assert!(Role::Admin.allows(Administer, false) && Role::Admin.allows(Supervise, false));
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn a_member_without_an_office_serves_every_office() {
        let member = |office: Option<&str>| StaffMember {
            id: 1,
            name: "ana".into(),
            role: Role::Clerk,
            office_id: office.map(str::to_string),
        };
        assert!(member(None).serves("dgp-cdmx"));
        assert!(member(Some("dgp-cdmx")).serves("dgp-cdmx"));
        assert!(!member(Some("dgp-cdmx")).serves("dgp-gdl"));
    }
}
