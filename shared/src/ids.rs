//! Id newtypes. Every record is named by a UUIDv7 that the device (or server) makes
//! itself, so records can be created offline and merged without coordination, and a bare
//! `Uuid` never crosses a crate boundary where a contact id could be mixed up with a form id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_newtype {
    ($(#[$doc:meta] $name:ident),+ $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID, for storage layers.
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )+};
}

id_newtype!(
    /// A street contact.
    ContactId,
    /// A round (avondronde).
    RoundId,
    /// A correction to a contact.
    CorrectionId,
    /// A care form (zorgformulier).
    CareFormId,
    /// An enrolled field device.
    DeviceId,
    /// A user (field worker or web user).
    UserId,
    /// A gemeente (municipality).
    GemeenteId,
    /// A wijk (neighbourhood).
    WijkId,
    /// A named place (hangplek).
    PlaceId,
    /// An area rule (e.g. a burgemeestersbevel).
    AreaRuleId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_round_trip_as_plain_uuid_strings() {
        let a = ContactId::new();
        let b = ContactId::new();
        assert!(a < b, "v7 ids made later sort later");
        let json = serde_json::to_string(&a).expect("serialise");
        assert_eq!(json, format!("\"{a}\""));
        let back: ContactId = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, a);
        assert_eq!(a.to_string().parse::<ContactId>().expect("parse"), a);
    }
}
