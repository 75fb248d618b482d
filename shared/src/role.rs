//! Roles. Each role sees the least it needs (DOMAIN.md, "Privacy is part of the job"):
//! field workers their own records and the feedback on their own forms, coordinators the
//! aggregates of their wijken, the meldpunt the care forms, the admin the configuration.

use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Straatcoach: professional street supervisor employed under the gemeente.
    Straatcoach,
    /// BOA / handhaver: municipal enforcement officer.
    Boa,
    /// Wijkagent: community police officer.
    Wijkagent,
    /// Coordinator at the gemeente (wijkregisseur, jeugd & veiligheid).
    Coordinator,
    /// The care desk that receives and handles care forms.
    Meldpunt,
    /// Configures the gemeente: wijken, norms, users, devices.
    Admin,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 6] = [
        Role::Straatcoach,
        Role::Boa,
        Role::Wijkagent,
        Role::Coordinator,
        Role::Meldpunt,
        Role::Admin,
    ];

    /// Whether this role records contacts in the field.
    pub fn is_field(self) -> bool {
        matches!(self, Role::Straatcoach | Role::Boa | Role::Wijkagent)
    }

    /// The stable code ("straatcoach", …).
    pub fn code(self) -> &'static str {
        match self {
            Role::Straatcoach => "straatcoach",
            Role::Boa => "boa",
            Role::Wijkagent => "wijkagent",
            Role::Coordinator => "coordinator",
            Role::Meldpunt => "meldpunt",
            Role::Admin => "admin",
        }
    }

    /// Parses a stable code.
    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The Dutch label.
    pub fn label_nl(self) -> &'static str {
        match self {
            Role::Straatcoach => "straatcoach",
            Role::Boa => "BOA",
            Role::Wijkagent => "wijkagent",
            Role::Coordinator => "coördinator",
            Role::Meldpunt => "meldpunt",
            Role::Admin => "beheerder",
        }
    }
}
