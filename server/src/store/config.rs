//! What a phone's configuration is built from, as the device config and ingest read it.
//!
//! Reads the `gemeente` row (name, code, norms, and its `config_version`, which every
//! change a phone must pull bumps), the gemeente's `wijk`, `place` and `area_rule` rows,
//! and owns the `phone_policy` table (issue 10); the current meldpunt key comes from
//! [`super::meldpunt_keys`]. The caches and defaults (a gemeente without norms gets
//! Rotterdam's, without a phone policy the default one) stay in [`crate::state`] and
//! [`crate::phone_policy`]; this module keeps and fetches.
//!
//! Both backends (see [`super`]). Text is ordered as SQLite orders it (by bytes:
//! `COLLATE "C"` on PostgreSQL), so a phone's configuration is the same list in the same
//! order on either.

use avondronde_shared::area::{Gemeente, Place, Wijk};
use avondronde_shared::norms::{AreaRule, NormSet};
use avondronde_shared::{GemeenteId, WijkId};
use rusqlite::{OptionalExtension, params};

use super::{Backend, Tx};
use crate::db::DbError;

/// The gemeente's config version as stored; `None` if the gemeente does not exist.
pub fn config_version(tx: &Tx, gemeente: GemeenteId) -> Result<Option<i64>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached("SELECT config_version FROM gemeente WHERE id = ?1")?
            .query_row(params![gemeente], |r| r.get::<_, i64>(0))
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT config_version FROM gemeente WHERE id = $1",
                &[&gemeente],
            )?
            .map(|r| Ok(r.try_get::<_, i64>(0)?))
            .transpose(),
    }
}

/// Adds one to the gemeente's config version.
pub fn bump_config_version(tx: &Tx, gemeente: GemeenteId) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "UPDATE gemeente SET config_version = config_version + 1 WHERE id = ?1",
                params![gemeente],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE gemeente SET config_version = config_version + 1 WHERE id = $1",
                &[&gemeente],
            )?;
        }
    }
    Ok(())
}

/// The gemeente's norms; `None` if the gemeente does not exist.
pub fn norms(tx: &Tx, gemeente: GemeenteId) -> Result<Option<NormSet>, DbError> {
    let json: Option<String> = match tx.backend() {
        Backend::Sqlite(c) => c
            .query_row(
                "SELECT norms FROM gemeente WHERE id = ?1",
                params![gemeente],
                |r| r.get(0),
            )
            .optional()?,
        Backend::Postgres(mut t) => t
            .query_opt("SELECT norms FROM gemeente WHERE id = $1", &[&gemeente])?
            .map(|r| r.try_get(0))
            .transpose()?,
    };
    Ok(match json {
        Some(j) => Some(serde_json::from_str(&j)?),
        None => None,
    })
}

/// The gemeente's area rules.
pub fn area_rules(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<AreaRule>, DbError> {
    let json: Vec<String> = match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached("SELECT rule FROM area_rule WHERE gemeente_id = ?1")?;
            let rows = stmt.query_map(params![gemeente], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<_, _>>()?
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT rule FROM area_rule WHERE gemeente_id = $1",
                &[&gemeente],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?,
    };
    json.iter().map(|j| Ok(serde_json::from_str(j)?)).collect()
}

/// The gemeente's wijken with their boundaries, ordered by code.
pub fn wijken(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<Wijk>, DbError> {
    let rows: Vec<(WijkId, String, String, String)> = match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT id, code, name, boundary FROM wijk WHERE gemeente_id = ?1 ORDER BY code",
            )?;
            let rows = stmt.query_map(params![gemeente], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.collect::<Result<_, _>>()?
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT id, code, name, boundary FROM wijk WHERE gemeente_id = $1
                 ORDER BY code COLLATE \"C\"",
                &[&gemeente],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect::<Result<_, DbError>>()?,
    };
    rows.into_iter()
        .map(|(id, code, name, boundary)| {
            Ok(Wijk {
                id,
                gemeente,
                code,
                name,
                boundary: serde_json::from_str(&boundary)?,
            })
        })
        .collect()
}

/// The gemeente record, if it exists.
pub fn gemeente(tx: &Tx, gemeente: GemeenteId) -> Result<Option<Gemeente>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT name, code FROM gemeente WHERE id = ?1",
                params![gemeente],
                |r| {
                    Ok(Gemeente {
                        id: gemeente,
                        name: r.get(0)?,
                        code: r.get(1)?,
                    })
                },
            )
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT name, code FROM gemeente WHERE id = $1",
                &[&gemeente],
            )?
            .map(|r| {
                Ok(Gemeente {
                    id: gemeente,
                    name: r.try_get(0)?,
                    code: r.try_get(1)?,
                })
            })
            .transpose(),
    }
}

/// The named places in the gemeente's wijken, ordered by name.
pub fn places(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<Place>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT p.id, p.wijk_id, p.name, p.lat, p.lon FROM place p JOIN wijk w ON w.id = p.wijk_id
                 WHERE w.gemeente_id = ?1 ORDER BY p.name",
            )?;
            let rows = stmt.query_map(params![gemeente], |r| {
                Ok(Place {
                    id: r.get(0)?,
                    wijk: r.get(1)?,
                    name: r.get(2)?,
                    lat: r.get(3)?,
                    lon: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT p.id, p.wijk_id, p.name, p.lat, p.lon FROM place p
                 JOIN wijk w ON w.id = p.wijk_id AND w.gemeente_id = p.gemeente_id
                 WHERE w.gemeente_id = $1 ORDER BY p.name COLLATE \"C\"",
                &[&gemeente],
            )?
            .iter()
            .map(|r| {
                Ok(Place {
                    id: r.try_get(0)?,
                    wijk: r.try_get(1)?,
                    name: r.try_get(2)?,
                    lat: r.try_get(3)?,
                    lon: r.try_get(4)?,
                })
            })
            .collect(),
    }
}

/// A gemeente's phone policy row as stored (days a receipted contact stays on a phone,
/// minutes in the background before the PIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhonePolicyRow {
    /// `contact_retention_days`.
    pub contact_retention_days: i64,
    /// `lock_after_minutes`.
    pub lock_after_minutes: i64,
}

/// The gemeente's phone policy row, if it set one.
pub fn phone_policy(tx: &Tx, gemeente: GemeenteId) -> Result<Option<PhonePolicyRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(
                "SELECT contact_retention_days, lock_after_minutes FROM phone_policy
                 WHERE gemeente_id = ?1",
            )?
            .query_row(params![gemeente], |r| {
                Ok(PhonePolicyRow {
                    contact_retention_days: r.get(0)?,
                    lock_after_minutes: r.get(1)?,
                })
            })
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT contact_retention_days, lock_after_minutes FROM phone_policy
                 WHERE gemeente_id = $1",
                &[&gemeente],
            )?
            .map(|r| {
                Ok(PhonePolicyRow {
                    contact_retention_days: r.try_get(0)?,
                    lock_after_minutes: r.try_get(1)?,
                })
            })
            .transpose(),
    }
}

/// Sets (inserts or replaces) the gemeente's phone policy.
pub fn set_phone_policy(
    tx: &Tx,
    gemeente: GemeenteId,
    contact_retention_days: u16,
    lock_after_minutes: u16,
    now_ms: i64,
) -> Result<(), DbError> {
    let sql = "INSERT INTO phone_policy (gemeente_id, contact_retention_days, lock_after_minutes, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (gemeente_id) DO UPDATE SET
           contact_retention_days = excluded.contact_retention_days,
           lock_after_minutes = excluded.lock_after_minutes, updated_at = excluded.updated_at";
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                sql,
                params![gemeente, contact_retention_days, lock_after_minutes, now_ms],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                &sql.replace("?1", "$1")
                    .replace("?2", "$2")
                    .replace("?3", "$3")
                    .replace("?4", "$4"),
                &[
                    &gemeente,
                    &i64::from(contact_retention_days),
                    &i64::from(lock_after_minutes),
                    &now_ms,
                ],
            )?;
        }
    }
    Ok(())
}
