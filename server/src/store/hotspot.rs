//! What the hotspot map reads, and the two settings that shape it.
//!
//! - The contact source of the in-memory index ([`crate::hotspot::index`]): a wijk's
//!   contacts, streamed row by row so a wijk of a million contacts is never held twice;
//!   its `contact_archive` groups (what retention keeps of old contacts); and, for an index
//!   that is already loaded, only the contacts and corrections that entered the ledger
//!   since, by ledger sequence number.
//! - The coordinator scope: the `user_wijk` assignment (which wijken a coordinator sees).
//! - The gemeente's disclosure parameters (`disclosure_setting`).
//!
//! The rules (who may see which wijk, the bounds of the parameters, what enters the index)
//! stay in [`crate::hotspot`]; this module keeps and fetches.
//!
//! Each function speaks both backends (`match tx.backend()`). On PostgreSQL the ledger is
//! shared by all gemeenten but row-level security shows a transaction only its own
//! gemeente's rows: the ledger head and the "since seq" reads are the gemeente's, and
//! because [`super::sync::claim_item`] draws a gemeente's sequence numbers in commit order,
//! a reader that caught up to a head never misses a row that commits later below it.

use std::collections::HashSet;

use ::postgres::fallible_iterator::FallibleIterator;
use avondronde_shared::disclosure::{PtableParams, RecordKey};
use avondronde_shared::{GemeenteId, UserId, WijkId};
use rusqlite::{OptionalExtension, Row, params};

use super::{Backend, Tx};
use crate::db::DbError;
use crate::hotspot::filter::behaviour_mask_of_json;
use crate::hotspot::index::RawContact;

/// The columns of `contact` that [`raw_contact`] reads, in order, for a query that names
/// the table `c`.
const COLUMNS: &str = "c.seq, c.observed_at, c.n_0_5, c.n_6_9, c.n_10_11, c.n_12_13, \
     c.n_14p, c.brought_home, c.behaviours, c.past_norm, c.cell_r9, c.cell_r10, c.record_key";

/// Reads the [`COLUMNS`] from a row (weight 1: one contact).
fn raw_contact(r: &Row<'_>) -> rusqlite::Result<RawContact> {
    let count = |i: usize| -> rusqlite::Result<u16> {
        Ok(r.get::<_, i64>(i)?.clamp(0, i64::from(u16::MAX)) as u16)
    };
    let behaviours = behaviour_mask_of_json(r.get_ref(8)?.as_str().unwrap_or("[]"));
    Ok(RawContact {
        seq: r.get(0)?,
        observed_at: r.get(1)?,
        counts: [count(2)?, count(3)?, count(4)?, count(5)?, count(6)?],
        brought_home: count(7)?,
        behaviours,
        past_norm: r.get::<_, i64>(9)? != 0,
        cell_r9: r.get::<_, Option<i64>>(10)?.map(|c| c as u64),
        cell_r10: r.get::<_, Option<i64>>(11)?.map(|c| c as u64),
        weight: 1,
        key: RecordKey::from_i64(r.get::<_, Option<i64>>(12)?.unwrap_or(0)),
    })
}

/// [`raw_contact`] for a PostgreSQL row of the same columns.
fn pg_raw_contact(r: &::postgres::Row) -> Result<RawContact, DbError> {
    let count = |i: usize| -> Result<u16, DbError> {
        Ok(r.try_get::<_, i64>(i)?.clamp(0, i64::from(u16::MAX)) as u16)
    };
    let behaviours = behaviour_mask_of_json(r.try_get::<_, Option<&str>>(8)?.unwrap_or("[]"));
    Ok(RawContact {
        seq: r.try_get(0)?,
        observed_at: r.try_get(1)?,
        counts: [count(2)?, count(3)?, count(4)?, count(5)?, count(6)?],
        brought_home: count(7)?,
        behaviours,
        past_norm: r.try_get::<_, i64>(9)? != 0,
        cell_r9: r.try_get::<_, Option<i64>>(10)?.map(|c| c as u64),
        cell_r10: r.try_get::<_, Option<i64>>(11)?.map(|c| c as u64),
        weight: 1,
        key: RecordKey::from_i64(r.try_get::<_, Option<i64>>(12)?.unwrap_or(0)),
    })
}

/// Runs a PostgreSQL query and hands each row to `f` as it arrives from the server, so a
/// wijk's contacts are never all held at once.
fn pg_each(
    t: &mut ::postgres::Transaction<'_>,
    sql: &str,
    params: &[&(dyn ::postgres::types::ToSql + Sync)],
    mut f: impl FnMut(&::postgres::Row) -> Result<(), DbError>,
) -> Result<(), DbError> {
    let mut rows = t.query_raw(sql, params.iter().copied())?;
    while let Some(r) = rows.next()? {
        f(&r)?;
    }
    Ok(())
}

/// The ledger's newest sequence number (0 for an empty ledger). On PostgreSQL: the newest
/// of this transaction's gemeente (row-level security).
pub fn ledger_head(tx: &Tx) -> Result<i64, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            Ok(c.query_row("SELECT COALESCE(MAX(seq), 0) FROM item", [], |r| r.get(0))?)
        }
        Backend::Postgres(mut t) => Ok(t
            .query_one("SELECT COALESCE(MAX(seq), 0)::bigint FROM item", &[])?
            .try_get(0)?),
    }
}

/// Calls `f` with each contact of a wijk, in no particular order.
pub fn each_contact_of_wijk(
    tx: &Tx,
    wijk: WijkId,
    mut f: impl FnMut(RawContact),
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM contact c WHERE c.wijk_id = ?1"
            ))?;
            let mut q = stmt.query(params![wijk])?;
            while let Some(r) = q.next()? {
                f(raw_contact(r)?);
            }
            Ok(())
        }
        Backend::Postgres(mut t) => pg_each(
            &mut t,
            &format!("SELECT {COLUMNS} FROM contact c WHERE c.wijk_id = $1"),
            &[&wijk],
            |r| {
                f(pg_raw_contact(r)?);
                Ok(())
            },
        ),
    }
}

/// A wijk's archive groups, as contacts with a weight, at the start of their hour and with
/// negative `seq`s (which never meet the ledger's).
///
/// SQLite numbers them by `-rowid`. PostgreSQL has no rowid: there they are numbered
/// -1, -2, … in the table's physical order (the order they were written, until rows are
/// deleted and their space reused). Either way the numbers only tell the groups apart
/// within one load of the index.
pub fn archived_of_wijk(tx: &Tx, wijk: WijkId) -> Result<Vec<RawContact>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT -rowid, hour_at, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, brought_home,
                   behaviours, past_norm, cell_r9, cell_r10, key_sum, contacts
                 FROM contact_archive WHERE wijk_id = ?1",
            )?;
            let mut q = stmt.query(params![wijk])?;
            let mut out = Vec::new();
            while let Some(r) = q.next()? {
                let mut raw = raw_contact(r)?;
                raw.weight = r.get::<_, i64>(13)?.clamp(0, i64::from(u32::MAX)) as u32;
                out.push(raw);
            }
            Ok(out)
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT -row_number() OVER (ORDER BY ctid), hour_at, n_0_5, n_6_9, n_10_11,
                   n_12_13, n_14p, brought_home, behaviours, past_norm, cell_r9, cell_r10,
                   key_sum, contacts
                 FROM contact_archive WHERE wijk_id = $1
                 ORDER BY ctid",
                &[&wijk],
            )?
            .iter()
            .map(|r| {
                let mut raw = pg_raw_contact(r)?;
                raw.weight = r.try_get::<_, i64>(13)?.clamp(0, i64::from(u32::MAX)) as u32;
                Ok(raw)
            })
            .collect(),
    }
}

/// Calls `f` with each contact of a wijk that entered the ledger after `after` and up to
/// `head`, in ledger order.
pub fn each_new_contact(
    tx: &Tx,
    wijk: WijkId,
    after: i64,
    head: i64,
    mut f: impl FnMut(RawContact),
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM item i JOIN contact c ON c.seq = i.seq
                 WHERE i.seq > ?1 AND i.seq <= ?2 AND i.kind = 'contact' AND c.wijk_id = ?3
                 ORDER BY i.seq"
            ))?;
            let mut q = stmt.query(params![after, head, wijk])?;
            while let Some(r) = q.next()? {
                f(raw_contact(r)?);
            }
            Ok(())
        }
        Backend::Postgres(mut t) => pg_each(
            &mut t,
            // A contact's `seq` is its ledger number (written with its `item` row, in the same
            // transaction), so contact alone answers, through `contact_wijk_seq` (migration
            // 010): one index range per month. Joining `item` made the planner probe every
            // month per new item, which on a table without statistics took seconds.
            &format!(
                "SELECT {COLUMNS} FROM contact c
                 WHERE c.seq > $1 AND c.seq <= $2 AND c.wijk_id = $3
                 ORDER BY c.seq"
            ),
            &[&after, &head, &wijk],
            |r| {
                f(pg_raw_contact(r)?);
                Ok(())
            },
        ),
    }
}

/// Calls `f` with each contact corrected after `after` and up to `head` (in any wijk), as
/// it is now, and whether it lies in `wijk` now (a correction can move it out).
pub fn each_corrected_contact(
    tx: &Tx,
    wijk: WijkId,
    after: i64,
    head: i64,
    mut f: impl FnMut(RawContact, bool),
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS}, COALESCE(c.wijk_id = ?3, 0) FROM item i
                   JOIN correction k ON k.id = i.item_id
                   JOIN item ci ON ci.kind = 'contact' AND ci.item_id = k.contact_id
                   JOIN contact c ON c.seq = ci.seq
                 WHERE i.seq > ?1 AND i.seq <= ?2 AND i.kind = 'correction'
                 ORDER BY i.seq"
            ))?;
            let mut q = stmt.query(params![after, head, wijk])?;
            while let Some(r) = q.next()? {
                f(raw_contact(r)?, r.get::<_, bool>(13)?);
            }
            Ok(())
        }
        Backend::Postgres(mut t) => pg_each(
            &mut t,
            &format!(
                "SELECT {COLUMNS}, COALESCE(c.wijk_id = $3, false) FROM item i
                   JOIN correction k ON k.id = i.item_id AND k.gemeente_id = i.gemeente_id
                   JOIN contact c ON c.id = k.contact_id AND c.gemeente_id = i.gemeente_id
                 WHERE i.seq > $1 AND i.seq <= $2 AND i.kind = 'correction'
                 ORDER BY i.seq"
            ),
            &[&after, &head, &wijk],
            |r| {
                f(pg_raw_contact(r)?, r.try_get::<_, bool>(13)?);
                Ok(())
            },
        ),
    }
}

/// The wijken assigned to a user.
pub fn assigned_wijken(tx: &Tx, user: UserId) -> Result<HashSet<WijkId>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached("SELECT wijk_id FROM user_wijk WHERE user_id = ?1")?;
            let ids = stmt.query_map(params![user], |r| r.get::<_, WijkId>(0))?;
            Ok(ids.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query("SELECT wijk_id FROM user_wijk WHERE user_id = $1", &[&user])?
            .iter()
            .map(|r| Ok(r.try_get::<_, WijkId>(0)?))
            .collect(),
    }
}

/// A user as the assignment needs them: id, gemeente and role code.
pub fn user_by_name(
    tx: &Tx,
    username: &str,
) -> Result<Option<(UserId, GemeenteId, String)>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT id, gemeente_id, role FROM user WHERE username = ?1",
                params![username],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT id, gemeente_id, role FROM \"user\" WHERE username = $1",
                &[&username],
            )?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose(),
    }
}

/// The wijk with CBS code `code` in `gemeente`, if any.
pub fn wijk_in_gemeente_by_code(
    tx: &Tx,
    code: &str,
    gemeente: GemeenteId,
) -> Result<Option<WijkId>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT id FROM wijk WHERE code = ?1 AND gemeente_id = ?2",
                params![code, gemeente],
                |r| r.get(0),
            )
            .optional()?),
        Backend::Postgres(mut t) => Ok(t
            .query_opt(
                "SELECT id FROM wijk WHERE code = $1 AND gemeente_id = $2",
                &[&code, &gemeente],
            )?
            .map(|r| r.try_get::<_, WijkId>(0))
            .transpose()?),
    }
}

/// Replaces a user's assigned wijken with `wijken`.
pub fn replace_assignment(
    tx: &Tx,
    user: UserId,
    wijken: &[WijkId],
    now_ms: i64,
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(conn) => {
            conn.execute("DELETE FROM user_wijk WHERE user_id = ?1", params![user])?;
            for w in wijken {
                conn.execute(
                    "INSERT INTO user_wijk (user_id, wijk_id, assigned_at) VALUES (?1, ?2, ?3)",
                    params![user, w, now_ms],
                )?;
            }
        }
        Backend::Postgres(mut t) => {
            t.execute("DELETE FROM user_wijk WHERE user_id = $1", &[&user])?;
            for w in wijken {
                // In the user's gemeente (NULL, and refused, if the user is not visible);
                // the foreign key keeps the wijk in that gemeente too.
                t.execute(
                    "INSERT INTO user_wijk (gemeente_id, user_id, wijk_id, assigned_at)
                     VALUES ((SELECT gemeente_id FROM \"user\" WHERE id = $1), $1, $2, $3)",
                    &[&user, w, &now_ms],
                )?;
            }
        }
    }
    Ok(())
}

/// Assigns a user every wijk of their gemeente. Returns how many were added.
pub fn assign_all(tx: &Tx, user: UserId, now_ms: i64) -> Result<usize, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.execute(
            "INSERT OR IGNORE INTO user_wijk (user_id, wijk_id, assigned_at)
             SELECT u.id, w.id, ?2 FROM user u JOIN wijk w ON w.gemeente_id = u.gemeente_id
             WHERE u.id = ?1",
            params![user, now_ms],
        )?),
        Backend::Postgres(mut t) => {
            let n = t.execute(
                "INSERT INTO user_wijk (gemeente_id, user_id, wijk_id, assigned_at)
                 SELECT u.gemeente_id, u.id, w.id, $2
                 FROM \"user\" u JOIN wijk w ON w.gemeente_id = u.gemeente_id
                 WHERE u.id = $1
                 ON CONFLICT DO NOTHING",
                &[&user, &now_ms],
            )?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        }
    }
}

/// The CBS codes of every wijk of a user's gemeente, in order (byte order, as SQLite
/// sorts).
pub fn wijk_codes_of_user(tx: &Tx, username: &str) -> Result<Vec<String>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare(
                "SELECT w.code FROM wijk w JOIN user u ON u.gemeente_id = w.gemeente_id
                 WHERE u.username = ?1 ORDER BY w.code",
            )?;
            let codes = stmt.query_map(params![username], |r| r.get(0))?;
            Ok(codes.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT w.code FROM wijk w JOIN \"user\" u ON u.gemeente_id = w.gemeente_id
                 WHERE u.username = $1 ORDER BY w.code COLLATE \"C\"",
                &[&username],
            )?
            .iter()
            .map(|r| Ok(r.try_get::<_, String>(0)?))
            .collect(),
    }
}

/// A stored `bigint` as a `u32`, or an error (never a panic) when it does not fit.
fn pg_u32(r: &::postgres::Row, i: usize) -> Result<u32, DbError> {
    u32::try_from(r.try_get::<_, i64>(i)?)
        .map_err(|_| DbError::Domain("stored disclosure setting out of range".into()))
}

/// The gemeente's stored disclosure parameters, if it set any.
pub fn disclosure_params(tx: &Tx, gemeente: GemeenteId) -> Result<Option<PtableParams>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(
                "SELECT max_noise, variance, threshold FROM disclosure_setting
                 WHERE gemeente_id = ?1",
            )?
            .query_row(params![gemeente], |r| {
                Ok(PtableParams {
                    max_noise: r.get(0)?,
                    variance: r.get(1)?,
                    threshold: r.get(2)?,
                })
            })
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT max_noise, variance, threshold FROM disclosure_setting
                 WHERE gemeente_id = $1",
                &[&gemeente],
            )?
            .map(|r| {
                Ok(PtableParams {
                    max_noise: pg_u32(&r, 0)?,
                    variance: r.try_get(1)?,
                    threshold: pg_u32(&r, 2)?,
                })
            })
            .transpose(),
    }
}

/// Stores the gemeente's disclosure parameters.
pub fn set_disclosure_params(
    tx: &Tx,
    gemeente: GemeenteId,
    p: &PtableParams,
    now_ms: i64,
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "INSERT INTO disclosure_setting (gemeente_id, max_noise, variance, threshold,
                   updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (gemeente_id) DO UPDATE SET max_noise = excluded.max_noise,
                   variance = excluded.variance, threshold = excluded.threshold,
                   updated_at = excluded.updated_at",
                params![gemeente, p.max_noise, p.variance, p.threshold, now_ms],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "INSERT INTO disclosure_setting (gemeente_id, max_noise, variance, threshold,
                   updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (gemeente_id) DO UPDATE SET max_noise = excluded.max_noise,
                   variance = excluded.variance, threshold = excluded.threshold,
                   updated_at = excluded.updated_at",
                &[
                    &gemeente,
                    &i64::from(p.max_noise),
                    &p.variance,
                    &i64::from(p.threshold),
                    &now_ms,
                ],
            )?;
        }
    }
    Ok(())
}
