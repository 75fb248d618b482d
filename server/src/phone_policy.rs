//! The gemeente's rules for its phones (issue 10): how many days a receipted contact stays
//! on a phone, and after how many minutes in the background the app asks for its PIN.
//!
//! They travel to the phones in the pulled configuration
//! ([`avondronde_shared::sync::PhonePolicy`]); changing them bumps the configuration
//! version, so every phone picks them up at its next pull. The CLI
//! (`admin set-phone-policy`) and any web page call the same [`set`].

use avondronde_shared::GemeenteId;
use avondronde_shared::sync::PhonePolicy;
use rusqlite::{Connection, OptionalExtension, params};

use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;

/// The gemeente's phone rules (the defaults when it set none).
pub fn get(conn: &Connection, gemeente: GemeenteId) -> Result<PhonePolicy, DbError> {
    let row = conn
        .prepare_cached(
            "SELECT contact_retention_days, lock_after_minutes FROM phone_policy
             WHERE gemeente_id = ?1",
        )?
        .query_row(params![gemeente.to_string()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?;
    Ok(match row {
        Some((days, minutes)) => PhonePolicy {
            contact_retention_days: u16::try_from(days)
                .unwrap_or(PhonePolicy::DEFAULT_RETENTION_DAYS),
            lock_after_minutes: u16::try_from(minutes).unwrap_or(PhonePolicy::DEFAULT_LOCK_MINUTES),
        }
        .clamped(),
        None => PhonePolicy::default(),
    })
}

/// Checks the rules: 1 to 365 days, 0 to 480 minutes (Dutch reason).
pub fn validate(p: PhonePolicy) -> Result<(), String> {
    if !(1..=PhonePolicy::MAX_RETENTION_DAYS).contains(&p.contact_retention_days) {
        return Err(format!(
            "bewaartermijn op de telefoon: 1 tot {} dagen",
            PhonePolicy::MAX_RETENTION_DAYS
        ));
    }
    if p.lock_after_minutes > PhonePolicy::MAX_LOCK_MINUTES {
        return Err(format!(
            "vergrendelen na: 0 tot {} minuten",
            PhonePolicy::MAX_LOCK_MINUTES
        ));
    }
    Ok(())
}

/// Sets the gemeente's phone rules, records it in the audit log and bumps the
/// configuration version so the phones pull them.
pub fn set(
    conn: &Connection,
    gemeente: GemeenteId,
    p: PhonePolicy,
    actor: &Actor,
    now_ms: i64,
) -> Result<(), DbError> {
    validate(p).map_err(DbError::Domain)?;
    conn.execute(
        "INSERT INTO phone_policy (gemeente_id, contact_retention_days, lock_after_minutes, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (gemeente_id) DO UPDATE SET
           contact_retention_days = excluded.contact_retention_days,
           lock_after_minutes = excluded.lock_after_minutes, updated_at = excluded.updated_at",
        params![
            gemeente.to_string(),
            p.contact_retention_days,
            p.lock_after_minutes,
            now_ms
        ],
    )?;
    crate::state::bump_config(conn, gemeente)?;
    audit::record(
        &crate::store::Tx::legacy(conn),
        &Event {
            gemeente,
            actor,
            action: Action::RetentionSettings,
            form: None,
            address: None,
            detail: format!(
                "telefoons: contacten {} dagen bewaren; pincode na {} minuten op de achtergrond",
                p.contact_retention_days, p.lock_after_minutes
            ),
        },
        now_ms,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gemeente_without_rules_gets_the_defaults_and_a_change_reaches_the_phones_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (conn, g) = crate::setup::test_gemeente_db(&dir.path().join("a.db"));
        assert_eq!(get(&conn, g).expect("get"), PhonePolicy::default());
        let before = crate::state::config_version(&conn, g).expect("version");
        let p = PhonePolicy {
            contact_retention_days: 14,
            lock_after_minutes: 2,
        };
        set(&conn, g, p, &Actor::cli(), 1).expect("set");
        assert_eq!(get(&conn, g).expect("get"), p);
        assert!(
            crate::state::config_version(&conn, g).expect("version") > before,
            "the phones pull the new rules"
        );
        // Out of range is refused and changes nothing.
        for bad in [
            PhonePolicy {
                contact_retention_days: 0,
                lock_after_minutes: 5,
            },
            PhonePolicy {
                contact_retention_days: 30,
                lock_after_minutes: 481,
            },
        ] {
            assert!(set(&conn, g, bad, &Actor::cli(), 2).is_err());
        }
        assert_eq!(get(&conn, g).expect("get"), p);
    }
}
