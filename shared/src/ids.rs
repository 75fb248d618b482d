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

        /// Stored as its hyphenated lower-case text, as every id column holds it.
        #[cfg(feature = "rusqlite")]
        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.0.to_string()))
            }
        }

        /// Read from text; anything but a UUID is a conversion error, never a panic.
        #[cfg(feature = "rusqlite")]
        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                Uuid::parse_str(value.as_str()?)
                    .map(Self)
                    .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }

        /// Stored as its hyphenated lower-case text in a `text` column, as in SQLite.
        #[cfg(feature = "postgres")]
        impl postgres_types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &postgres_types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.0.to_string().as_str().to_sql(ty, out)
            }

            postgres_types::accepts!(TEXT, VARCHAR);
            postgres_types::to_sql_checked!();
        }

        /// Read from text; anything but a UUID is a conversion error, never a panic.
        #[cfg(feature = "postgres")]
        impl<'a> postgres_types::FromSql<'a> for $name {
            fn from_sql(
                ty: &postgres_types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                let text = <&str as postgres_types::FromSql>::from_sql(ty, raw)?;
                Ok(Self(Uuid::parse_str(text)?))
            }

            postgres_types::accepts!(TEXT, VARCHAR);
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

    #[cfg(feature = "rusqlite")]
    #[test]
    fn ids_bind_and_read_back_as_the_text_the_columns_hold() {
        let conn = rusqlite::Connection::open_in_memory().expect("db");
        conn.execute_batch("CREATE TABLE t (id TEXT)")
            .expect("table");
        let id = ContactId::new();
        conn.execute("INSERT INTO t VALUES (?1)", [id])
            .expect("bind");
        let text: String = conn
            .query_row("SELECT id FROM t", [], |r| r.get(0))
            .expect("text");
        assert_eq!(text, id.to_string(), "the same text as .to_string() bound");
        let back: ContactId = conn
            .query_row("SELECT id FROM t", [], |r| r.get(0))
            .expect("read");
        assert_eq!(back, id);
        let bad = conn.query_row("SELECT 'not-a-uuid'", [], |r| r.get::<_, ContactId>(0));
        assert!(bad.is_err(), "a bad value is an error, not a panic");
        let null = conn.query_row("SELECT NULL", [], |r| r.get::<_, Option<ContactId>>(0));
        assert_eq!(null.expect("null"), None);
    }

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
