//! The meldpunt's keys (`meldpunt_key`): per gemeente, each age recipient with its
//! passphrase-wrapped identity and signing seed, and the signed link of the key chain that
//! phones verify (sequence, signing key, validity, signature).
//!
//! The cryptography (wrapping, unwrapping, signing the chain, which key is the root) stays
//! in [`crate::meldpunt::keys`]; this module only keeps and fetches the rows. (A web
//! session's expiry, which bounds how long an unlocked key ring is held, is read from
//! [`super::sessions`].)
//!
//! Both backends (see [`super`]). "Oldest first" is SQLite's insertion order (`rowid`);
//! PostgreSQL has none, and orders by creation time and then by id: a rotation stores its
//! new key strictly after the others (see [`crate::meldpunt::keys::rotate`]) and ids are
//! UUIDv7, so both give the same order.

use avondronde_shared::GemeenteId;
use avondronde_shared::care::RecipientKeyId;
use avondronde_shared::keychain::KeyLink;
use avondronde_shared::sync::MeldpuntKey;
use rusqlite::{OptionalExtension, params};

use super::{Backend, Tx};
use crate::db::DbError;
use crate::meldpunt::keys::StoredKey;

/// A key row's chain fields as stored: seq, signing key, validity (unix ms), signature.
type LinkFields = (
    Option<u32>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// The signed link of a stored key, or `None` when its fields are incomplete or out of
/// range (a key made before key chains existed).
fn link(
    gemeente: GemeenteId,
    id: &RecipientKeyId,
    recipient: &str,
    fields: LinkFields,
) -> Option<KeyLink> {
    let (Some(seq), Some(signing_key), Some(from), Some(until), Some(signature)) = fields else {
        return None;
    };
    let valid_from = jiff::Timestamp::from_millisecond(from).ok()?;
    let valid_until = jiff::Timestamp::from_millisecond(until).ok()?;
    Some(KeyLink {
        seq,
        gemeente,
        signing_key,
        recipient_id: id.clone(),
        recipient: recipient.to_owned(),
        valid_from,
        valid_until,
        signature,
    })
}

/// A gemeente's keys, oldest first. A link whose stored fields are incomplete or out of
/// range reads as `None` (a key made before key chains existed).
pub fn load(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<StoredKey>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT id, recipient, identity, created_at, retired_at, signing_seed,
                        seq, signing_key, valid_from, valid_until, signature
                 FROM meldpunt_key
                 WHERE gemeente_id = ?1 ORDER BY created_at, rowid",
            )?;
            let rows = stmt.query_map(params![gemeente], |r| {
                let id = RecipientKeyId(r.get(0)?);
                let recipient: String = r.get(1)?;
                let fields = (r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?);
                Ok(StoredKey {
                    link: link(gemeente, &id, &recipient, fields),
                    id,
                    recipient,
                    wrapped: r.get(2)?,
                    created_at: r.get(3)?,
                    retired_at: r.get(4)?,
                    signing_seed: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT id, recipient, identity, created_at, retired_at, signing_seed,
                        seq, signing_key, valid_from, valid_until, signature
                 FROM meldpunt_key
                 WHERE gemeente_id = $1 ORDER BY created_at, id COLLATE \"C\"",
                &[&gemeente],
            )?
            .iter()
            .map(|r| {
                let id = RecipientKeyId(r.try_get(0)?);
                let recipient: String = r.try_get(1)?;
                // As SQLite's `u32` read: a seq out of range is an error, not a missing link.
                let seq = r
                    .try_get::<_, Option<i64>>(6)?
                    .map(|s| {
                        u32::try_from(s)
                            .map_err(|_| DbError::Domain("bad key chain seq in database".into()))
                    })
                    .transpose()?;
                let fields = (
                    seq,
                    r.try_get(7)?,
                    r.try_get(8)?,
                    r.try_get(9)?,
                    r.try_get(10)?,
                );
                Ok(StoredKey {
                    link: link(gemeente, &id, &recipient, fields),
                    id,
                    recipient,
                    wrapped: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                    retired_at: r.try_get(4)?,
                    signing_seed: r.try_get(5)?,
                })
            })
            .collect(),
    }
}

/// The gemeente's current (unretired, newest) key: what devices seal to.
pub fn current(tx: &Tx, gemeente: GemeenteId) -> Result<Option<MeldpuntKey>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT id, recipient FROM meldpunt_key WHERE gemeente_id = ?1 AND retired_at IS NULL
                 ORDER BY created_at DESC LIMIT 1",
                params![gemeente],
                |r| {
                    Ok(MeldpuntKey {
                        id: RecipientKeyId(r.get(0)?),
                        recipient: r.get(1)?,
                    })
                },
            )
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT id, recipient FROM meldpunt_key WHERE gemeente_id = $1 AND retired_at IS NULL
                 ORDER BY created_at DESC LIMIT 1",
                &[&gemeente],
            )?
            .map(|r| {
                Ok(MeldpuntKey {
                    id: RecipientKeyId(r.try_get(0)?),
                    recipient: r.try_get(1)?,
                })
            })
            .transpose(),
    }
}

/// A new key row.
#[derive(Debug, Clone, Copy)]
pub struct NewKey<'a> {
    /// Key id.
    pub id: &'a RecipientKeyId,
    /// The age recipient.
    pub recipient: &'a str,
    /// The identity, wrapped under the passphrase.
    pub wrapped: &'a [u8],
    /// Creation time, unix ms.
    pub created_at: i64,
    /// The signing seed, wrapped under the passphrase.
    pub signing_seed: &'a [u8],
    /// The signed link.
    pub link: &'a KeyLink,
}

/// Stores a new key of the gemeente.
pub fn insert(tx: &Tx, gemeente: GemeenteId, key: &NewKey<'_>) -> Result<(), DbError> {
    let valid_from = key.link.valid_from.as_millisecond();
    let valid_until = key.link.valid_until.as_millisecond();
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "INSERT INTO meldpunt_key (id, gemeente_id, recipient, identity, created_at,
                                           signing_seed, seq, signing_key, valid_from, valid_until,
                                           signature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    key.id.0,
                    gemeente,
                    key.recipient,
                    key.wrapped,
                    key.created_at,
                    key.signing_seed,
                    key.link.seq,
                    key.link.signing_key,
                    valid_from,
                    valid_until,
                    key.link.signature,
                ],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "INSERT INTO meldpunt_key (id, gemeente_id, recipient, identity, created_at,
                                           signing_seed, seq, signing_key, valid_from, valid_until,
                                           signature)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &key.id.0,
                    &gemeente,
                    &key.recipient,
                    &key.wrapped,
                    &key.created_at,
                    &key.signing_seed,
                    &i64::from(key.link.seq),
                    &key.link.signing_key,
                    &valid_from,
                    &valid_until,
                    &key.link.signature,
                ],
            )?;
        }
    }
    Ok(())
}

/// Replaces a key's wrapped identity (a rotation re-wraps it under the new passphrase).
pub fn set_identity(
    tx: &Tx,
    gemeente: GemeenteId,
    id: &RecipientKeyId,
    wrapped: &[u8],
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "UPDATE meldpunt_key SET identity = ?1 WHERE id = ?2 AND gemeente_id = ?3",
                params![wrapped, id.0, gemeente],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE meldpunt_key SET identity = $1 WHERE id = $2 AND gemeente_id = $3",
                &[&wrapped, &id.0, &gemeente],
            )?;
        }
    }
    Ok(())
}

/// Replaces a key's wrapped signing seed.
pub fn set_signing_seed(
    tx: &Tx,
    gemeente: GemeenteId,
    id: &RecipientKeyId,
    wrapped: &[u8],
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "UPDATE meldpunt_key SET signing_seed = ?1 WHERE id = ?2 AND gemeente_id = ?3",
                params![wrapped, id.0, gemeente],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE meldpunt_key SET signing_seed = $1 WHERE id = $2 AND gemeente_id = $3",
                &[&wrapped, &id.0, &gemeente],
            )?;
        }
    }
    Ok(())
}

/// Retires the gemeente's current key(s) at `now_ms`.
pub fn retire_current(tx: &Tx, gemeente: GemeenteId, now_ms: i64) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "UPDATE meldpunt_key SET retired_at = ?1 WHERE gemeente_id = ?2 AND retired_at IS NULL",
                params![now_ms, gemeente],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE meldpunt_key SET retired_at = $1 WHERE gemeente_id = $2 AND retired_at IS NULL",
                &[&now_ms, &gemeente],
            )?;
        }
    }
    Ok(())
}
