//! Phones: the `device` rows (who a phone belongs to, the BLAKE3 hash of its bearer token,
//! its label, revocation, and the phone's own reports: outbox counts of each pull and its
//! last refusal of the meldpunt key chain) and the `enrolment_code` rows that turn into
//! them. Owns the reads and writes of [`crate::auth`]'s token look-up and enrolment, of
//! [`crate::admin`]'s phone list and revocation, and of [`crate::devices`]; whether a code
//! is still good and who may revoke what are decided there, not here.
//!
//! Each function speaks both backends (`match tx.backend()`). On PostgreSQL a device and an
//! enrolment code are written in their user's gemeente (read from the user's row, so the
//! admin commands, which name no gemeente, write them too), and row-level security hides
//! every other gemeente's phones.

use std::collections::HashMap;

use avondronde_shared::{DeviceId, GemeenteId, Role, UserId};
use rusqlite::{OptionalExtension, params};

use super::accounts::role_at;
use super::{Backend, Tx};
use crate::db::DbError;

/// A role code read back from PostgreSQL, or an error (never a panic) if it is not one.
fn pg_role(r: &::postgres::Row, i: usize) -> Result<Role, DbError> {
    let code: &str = r.try_get(i)?;
    Role::from_code(code).ok_or_else(|| DbError::Domain("bad role in database".into()))
}

/// Stores the outbox counts a phone reported at `now_ms`.
pub fn set_outbox(
    tx: &Tx,
    device: DeviceId,
    pending: u32,
    quarantined: u32,
    now_ms: i64,
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.prepare_cached(
                "UPDATE device SET outbox_pending = ?1, outbox_quarantined = ?2,
                        outbox_reported_at = ?3 WHERE id = ?4",
            )?
            .execute(params![pending, quarantined, now_ms, device])?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE device SET outbox_pending = $1, outbox_quarantined = $2,
                        outbox_reported_at = $3 WHERE id = $4",
                &[
                    &i64::from(pending),
                    &i64::from(quarantined),
                    &now_ms,
                    &device,
                ],
            )?;
        }
    }
    Ok(())
}

/// Stores the refusal code a phone reported at `now_ms`.
pub fn set_key_refused(tx: &Tx, device: DeviceId, code: &str, now_ms: i64) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.prepare_cached(
                "UPDATE device SET key_refused_code = ?1, key_refused_at = ?2 WHERE id = ?3",
            )?
            .execute(params![code, now_ms, device])?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE device SET key_refused_code = $1, key_refused_at = $2 WHERE id = $3",
                &[&code, &now_ms, &device],
            )?;
        }
    }
    Ok(())
}

/// The last refusal code a device reported, if any. The device must exist.
pub fn key_refused(tx: &Tx, device: DeviceId) -> Result<Option<String>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.query_row(
            "SELECT key_refused_code FROM device WHERE id = ?1",
            params![device],
            |r| r.get(0),
        )?),
        Backend::Postgres(mut t) => Ok(t
            .query_one(
                "SELECT key_refused_code FROM device WHERE id = $1",
                &[&device],
            )?
            .try_get(0)?),
    }
}

/// A device as found by its token hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// The device.
    pub id: DeviceId,
    /// The field worker it belongs to.
    pub user: UserId,
    /// Their gemeente.
    pub gemeente: GemeenteId,
    /// Their role.
    pub role: Role,
    /// The device is revoked or its user disabled.
    pub revoked: bool,
}

/// The device whose token has this hash, if any. One cached point query.
pub fn by_token_hash(tx: &Tx, token_hash: &[u8]) -> Result<Option<TokenRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT d.id, d.user_id, u.gemeente_id, u.role,
                        d.revoked_at IS NOT NULL OR u.disabled_at IS NOT NULL
                 FROM device d JOIN user u ON u.id = d.user_id
                 WHERE d.token_hash = ?1",
            )?;
            Ok(stmt
                .query_row(params![token_hash], |r| {
                    Ok(TokenRow {
                        id: r.get(0)?,
                        user: r.get(1)?,
                        gemeente: r.get(2)?,
                        role: role_at(r, 3)?,
                        revoked: r.get(4)?,
                    })
                })
                .optional()?)
        }
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT d.id, d.user_id, u.gemeente_id, u.role,
                        d.revoked_at IS NOT NULL OR u.disabled_at IS NOT NULL
                 FROM device d JOIN \"user\" u ON u.id = d.user_id
                 WHERE d.token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| pg_token_row_at(&r, 0))
            .transpose(),
    }
}

/// As [`by_token_hash`] on PostgreSQL, for many tokens in one statement outside any
/// transaction: `devices_by_tokens` (migration 016) finds each token's gemeente, reads its
/// device under row-level security with that gemeente set, and names the hash each row
/// answers. The devices found, by their token's hash; an unknown token is not among them.
pub(in crate::store) fn by_token_hashes_alone(
    client: &mut ::postgres::Client,
    token_hashes: &[&[u8]],
) -> Result<HashMap<Vec<u8>, TokenRow>, DbError> {
    client
        .query_typed(
            "SELECT token_hash, id, user_id, gemeente_id, role, revoked
             FROM devices_by_tokens($1)",
            &[(&token_hashes, ::postgres::types::Type::BYTEA_ARRAY)],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, pg_token_row_at(r, 1)?)))
        .collect()
}

/// A [`TokenRow`] from the columns of `r` from `first` on.
fn pg_token_row_at(r: &::postgres::Row, first: usize) -> Result<TokenRow, DbError> {
    Ok(TokenRow {
        id: r.try_get(first)?,
        user: r.try_get(first + 1)?,
        gemeente: r.try_get(first + 2)?,
        role: pg_role(r, first + 3)?,
        revoked: r.try_get(first + 4)?,
    })
}

/// Stores an enrolment code's hash for a user, valid until `expires_at`.
pub fn insert_enrolment_code(
    tx: &Tx,
    code_hash: &[u8],
    user: UserId,
    now: i64,
    expires_at: i64,
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "INSERT INTO enrolment_code (code_hash, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![code_hash, user, now, expires_at],
            )?;
        }
        Backend::Postgres(mut t) => {
            // In the user's gemeente (NULL, and refused, if the user is not visible).
            t.execute(
                "INSERT INTO enrolment_code (code_hash, gemeente_id, user_id, created_at,
                   expires_at)
                 VALUES ($1, (SELECT gemeente_id FROM \"user\" WHERE id = $2), $2, $3, $4)",
                &[&code_hash, &user, &now, &expires_at],
            )?;
        }
    }
    Ok(())
}

/// An enrolment code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentCodeRow {
    /// Whose phone it enrols.
    pub user: UserId,
    /// Valid until, unix ms.
    pub expires_at: i64,
    /// When it was used, if it was.
    pub used_at: Option<i64>,
}

/// The enrolment code with this hash, if any.
pub fn enrolment_code(tx: &Tx, code_hash: &[u8]) -> Result<Option<EnrolmentCodeRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT user_id, expires_at, used_at FROM enrolment_code WHERE code_hash = ?1",
                params![code_hash],
                |r| {
                    Ok(EnrolmentCodeRow {
                        user: r.get(0)?,
                        expires_at: r.get(1)?,
                        used_at: r.get(2)?,
                    })
                },
            )
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT user_id, expires_at, used_at FROM enrolment_code WHERE code_hash = $1",
                &[&code_hash],
            )?
            .map(|r| {
                Ok(EnrolmentCodeRow {
                    user: r.try_get(0)?,
                    expires_at: r.try_get(1)?,
                    used_at: r.try_get(2)?,
                })
            })
            .transpose(),
    }
}

/// Marks the enrolment code with this hash used at `now`, for `device`.
pub fn use_enrolment_code(
    tx: &Tx,
    code_hash: &[u8],
    now: i64,
    device: DeviceId,
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "UPDATE enrolment_code SET used_at = ?1, device_id = ?2 WHERE code_hash = ?3",
                params![now, device, code_hash],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE enrolment_code SET used_at = $1, device_id = $2 WHERE code_hash = $3",
                &[&now, &device, &code_hash],
            )?;
        }
    }
    Ok(())
}

/// Stores a new device of a user, with its token's hash.
pub fn insert(
    tx: &Tx,
    id: DeviceId,
    user: UserId,
    token_hash: &[u8],
    label: &str,
    now: i64,
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "INSERT INTO device (id, user_id, token_hash, label, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, user, token_hash, label, now],
            )?;
        }
        Backend::Postgres(mut t) => {
            // In the user's gemeente (NULL, and refused, if the user is not visible).
            t.execute(
                "INSERT INTO device (id, gemeente_id, user_id, token_hash, label, created_at)
                 VALUES ($1, (SELECT gemeente_id FROM \"user\" WHERE id = $2), $2, $3, $4, $5)",
                &[&id, &user, &token_hash, &label, &now],
            )?;
        }
    }
    Ok(())
}

/// Marks a device revoked at `now`, unless it already was. Whether it was not.
pub fn revoke(tx: &Tx, device: DeviceId, now: i64) -> Result<bool, DbError> {
    Ok(match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "UPDATE device SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                params![now, device],
            )? > 0
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE device SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[&now, &device],
            )? > 0
        }
    })
}

/// Marks every device of a user revoked at `now`; returns how many were not yet.
pub fn revoke_all_of_user(tx: &Tx, user: UserId, now: i64) -> Result<usize, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.execute(
            "UPDATE device SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
            params![now, user],
        )?),
        Backend::Postgres(mut t) => {
            let n = t.execute(
                "UPDATE device SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                &[&now, &user],
            )?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        }
    }
}

/// The gemeente of an active (not revoked) device's user, if there is such a device.
pub fn active_device_gemeente(tx: &Tx, device: DeviceId) -> Result<Option<GemeenteId>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT u.gemeente_id FROM device d JOIN user u ON u.id = d.user_id
                 WHERE d.id = ?1 AND d.revoked_at IS NULL",
                params![device],
                |r| r.get(0),
            )
            .optional()?),
        Backend::Postgres(mut t) => Ok(t
            .query_opt(
                "SELECT u.gemeente_id FROM device d JOIN \"user\" u ON u.id = d.user_id
                 WHERE d.id = $1 AND d.revoked_at IS NULL",
                &[&device],
            )?
            .map(|r| r.try_get::<_, GemeenteId>(0))
            .transpose()?),
    }
}

/// A phone as the admin's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceListRow {
    /// The device.
    pub id: DeviceId,
    /// Its user's username.
    pub username: String,
    /// The label the phone gave at enrolment.
    pub label: String,
    /// Last sync, unix ms.
    pub last_seen: Option<i64>,
    /// How far the phone's clock was off at its last sync, ms.
    pub offset_ms: Option<i64>,
    /// Revoked.
    pub revoked: bool,
    /// Items and drafts the phone last reported as not yet sent.
    pub unsent: Option<i64>,
    /// When the phone was enrolled (server clock), unix ms.
    pub enrolled_at: i64,
}

/// The phones of a gemeente's users: active first, then by username (byte order, as
/// SQLite sorts) and age. A row whose id is not a device id this server makes is left out.
pub fn of_gemeente(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<DeviceListRow>, DbError> {
    let c = match tx.backend() {
        Backend::Sqlite(c) => c,
        Backend::Postgres(mut t) => {
            let rows = t.query(
                "SELECT d.id, u.username, d.label, d.last_seen_at, d.clock_offset_ms,
                        d.revoked_at IS NOT NULL, d.outbox_pending, d.created_at
                 FROM device d JOIN \"user\" u ON u.id = d.user_id WHERE u.gemeente_id = $1
                 ORDER BY d.revoked_at IS NOT NULL, u.username COLLATE \"C\", d.created_at",
                &[&gemeente],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let Ok(id) = r.try_get::<_, DeviceId>(0) else {
                    continue;
                };
                out.push(DeviceListRow {
                    id,
                    username: r.try_get(1)?,
                    label: r.try_get(2)?,
                    last_seen: r.try_get(3)?,
                    offset_ms: r.try_get(4)?,
                    revoked: r.try_get(5)?,
                    unsent: r.try_get(6)?,
                    enrolled_at: r.try_get(7)?,
                });
            }
            return Ok(out);
        }
    };
    let mut stmt = c.prepare(
        "SELECT d.id, u.username, d.label, d.last_seen_at, d.clock_offset_ms, d.revoked_at IS NOT NULL,
                d.outbox_pending, d.created_at
         FROM device d JOIN user u ON u.id = d.user_id WHERE u.gemeente_id = ?1
         ORDER BY d.revoked_at IS NOT NULL, u.username, d.created_at",
    )?;
    let rows = stmt
        .query_map(params![gemeente], |r| {
            let Ok(id) = r.get::<_, DeviceId>(0) else {
                return Ok(None);
            };
            Ok(Some(DeviceListRow {
                id,
                username: r.get(1)?,
                label: r.get(2)?,
                last_seen: r.get(3)?,
                offset_ms: r.get(4)?,
                revoked: r.get(5)?,
                unsent: r.get(6)?,
                enrolled_at: r.get(7)?,
            }))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows.into_iter().flatten().collect())
}
