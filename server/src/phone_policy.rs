//! The gemeente's rules for its phones (issue 10): how many days a receipted contact stays
//! on a phone, and after how many minutes in the background the app asks for its PIN.
//!
//! They travel to the phones in the pulled configuration
//! ([`avondronde_shared::sync::PhonePolicy`]); changing them bumps the configuration
//! version, so every phone picks them up at its next pull. The CLI
//! (`admin set-phone-policy`) and any web page call the same [`set`].

use avondronde_shared::GemeenteId;
use avondronde_shared::sync::PhonePolicy;

use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;
use crate::store::{self, Tx};

/// The gemeente's phone rules (the defaults when it set none).
pub fn get(tx: &Tx, gemeente: GemeenteId) -> Result<PhonePolicy, DbError> {
    Ok(match store::config::phone_policy(tx, gemeente)? {
        Some(row) => PhonePolicy {
            contact_retention_days: u16::try_from(row.contact_retention_days)
                .unwrap_or(PhonePolicy::DEFAULT_RETENTION_DAYS),
            lock_after_minutes: u16::try_from(row.lock_after_minutes)
                .unwrap_or(PhonePolicy::DEFAULT_LOCK_MINUTES),
        }
        .clamped(),
        None => PhonePolicy::default(),
    })
}

/// Checks the rules: 1 to 365 days, 0 to 480 minutes (Dutch reason, for the command line
/// and the settings page alike).
pub fn validate(p: PhonePolicy) -> Result<(), String> {
    if !(1..=PhonePolicy::MAX_RETENTION_DAYS).contains(&p.contact_retention_days) {
        return Err(format!(
            "contacten op de telefoon bewaren: kies 1 tot en met {} dagen",
            PhonePolicy::MAX_RETENTION_DAYS
        ));
    }
    if p.lock_after_minutes > PhonePolicy::MAX_LOCK_MINUTES {
        return Err(format!(
            "pincode vragen na: kies 0 tot en met {} minuten op de achtergrond",
            PhonePolicy::MAX_LOCK_MINUTES
        ));
    }
    Ok(())
}

/// Sets the gemeente's phone rules, records it in the audit log and bumps the
/// configuration version so the phones pull them.
pub fn set(
    tx: &Tx,
    gemeente: GemeenteId,
    p: PhonePolicy,
    actor: &Actor,
    now_ms: i64,
) -> Result<(), DbError> {
    validate(p).map_err(DbError::Domain)?;
    store::config::set_phone_policy(
        tx,
        gemeente,
        p.contact_retention_days,
        p.lock_after_minutes,
        now_ms,
    )?;
    crate::state::bump_config(tx, gemeente)?;
    audit::record(
        tx,
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
        let path = dir.path().join("a.db");
        let (_, g) = crate::setup::test_gemeente_db(&path);
        let mut db = store::Direct::open(&path).expect("open");
        assert_eq!(
            db.read(|tx| get(tx, g)).expect("get"),
            PhonePolicy::default()
        );
        let version = |db: &store::Direct| {
            db.read(|tx| crate::state::config_version(tx, g))
                .expect("version")
        };
        let before = version(&db);
        let p = PhonePolicy {
            contact_retention_days: 14,
            lock_after_minutes: 2,
        };
        db.transaction(|tx| set(tx, g, p, &Actor::cli(), 1))
            .expect("set");
        assert_eq!(db.read(|tx| get(tx, g)).expect("get"), p);
        assert!(version(&db) > before, "the phones pull the new rules");
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
            assert!(
                db.transaction(|tx| set(tx, g, bad, &Actor::cli(), 2))
                    .is_err()
            );
        }
        assert_eq!(db.read(|tx| get(tx, g)).expect("get"), p);
    }
}
