//! The audit log's rows (`audit_log`): appending one, the chain head of a gemeente, the
//! rows of its chain in order, and a page of entries.
//!
//! Only keeping and fetching lives here. The chain's hashing rule (what a row's hash
//! covers, the genesis of each gemeente) stays in [`crate::audit`], which computes the hash
//! before it appends and recomputes it when it verifies. The database itself refuses any
//! `UPDATE` or `DELETE` on `audit_log` (triggers), so this module only ever inserts.
//!
//! Rows are read back as the text they hold (not parsed into ids): verification must hash
//! exactly what is stored, so that a row altered into another spelling of the same id is
//! still noticed.
//!
//! On PostgreSQL many transactions write at once (SQLite has one writer), so two appends
//! to one gemeente could read the same head and fork the chain. The table refuses a fork
//! (`UNIQUE (gemeente_id, prev_hash)`), and [`head`] prevents one: it first takes a lock
//! on the gemeente's chain for the rest of the transaction, so a second appender waits for
//! the first to commit and then reads the new head.

use avondronde_shared::{CareFormId, GemeenteId, UserId};
use rusqlite::{OptionalExtension, params};

use super::{Backend, Tx};
use crate::db::DbError;

/// A row to append, with its hash already computed by the chain.
#[derive(Debug, Clone)]
pub struct NewRow<'a> {
    /// Whose log.
    pub gemeente: GemeenteId,
    /// When, unix ms.
    pub at: i64,
    /// The user, if one.
    pub actor_id: Option<UserId>,
    /// Username or system name.
    pub actor_name: &'a str,
    /// Role code or `system`.
    pub actor_role: &'a str,
    /// Action code.
    pub action: &'a str,
    /// The form concerned.
    pub form: Option<CareFormId>,
    /// Client address, as text.
    pub address: Option<&'a str>,
    /// Codes and counts.
    pub detail: &'a str,
    /// The previous row's hash (or the gemeente's genesis).
    pub prev_hash: &'a [u8],
    /// This row's hash.
    pub hash: &'a [u8],
}

/// A stored row of a chain, every field as the text or bytes the table holds.
#[derive(Debug, Clone)]
pub struct ChainRow {
    /// Position in the log.
    pub seq: i64,
    /// When, unix ms.
    pub at: i64,
    /// The user id as stored.
    pub actor_id: Option<String>,
    /// Username or system name.
    pub actor_name: String,
    /// Role code or `system`.
    pub actor_role: String,
    /// Action code.
    pub action: String,
    /// The form id as stored.
    pub form: Option<String>,
    /// Client address as stored.
    pub address: Option<String>,
    /// Codes and counts.
    pub detail: String,
    /// The stored previous hash.
    pub prev_hash: Vec<u8>,
    /// The stored hash.
    pub hash: Vec<u8>,
}

/// A row as the log page lists it.
#[derive(Debug, Clone)]
pub struct ListedRow {
    /// Position in the log.
    pub seq: i64,
    /// When, unix ms.
    pub at: i64,
    /// Username or system name.
    pub actor_name: String,
    /// Role code or `system`.
    pub actor_role: String,
    /// Action code.
    pub action: String,
    /// The form id as stored.
    pub form: Option<String>,
    /// Client address as stored.
    pub address: Option<String>,
    /// Codes and counts.
    pub detail: String,
    /// The stored hash.
    pub hash: Vec<u8>,
}

/// The hash of the gemeente's newest row (the chain head), if it has any.
///
/// Call it only to append after it (in a write): on PostgreSQL it holds the gemeente's
/// chain lock until the transaction ends, so that no other transaction appends between.
pub fn head(tx: &Tx, gemeente: GemeenteId) -> Result<Option<Vec<u8>>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(
                "SELECT hash FROM audit_log WHERE gemeente_id = ?1 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![gemeente], |r| r.get(0))
            .optional()?),
        Backend::Postgres(mut t) => {
            // The lock first, in a statement of its own: at read committed the next
            // statement sees what a transaction that held the lock before has committed.
            t.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('audit_log ' || $1::text, 0))",
                &[&gemeente],
            )?;
            t.query_opt(
                "SELECT hash FROM audit_log WHERE gemeente_id = $1 ORDER BY seq DESC LIMIT 1",
                &[&gemeente],
            )?
            .map(|r| Ok(r.try_get(0)?))
            .transpose()
        }
    }
}

/// Appends a row; returns its seq. On PostgreSQL a row whose `prev_hash` another row of the
/// gemeente already follows (a fork) is refused with an error.
pub fn append(tx: &Tx, row: &NewRow<'_>) -> Result<i64, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(
                "INSERT INTO audit_log (gemeente_id, at, actor_id, actor_name, actor_role, action,
                   form_id, address, detail, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING seq",
            )?
            .query_row(
                params![
                    row.gemeente,
                    row.at,
                    row.actor_id,
                    row.actor_name,
                    row.actor_role,
                    row.action,
                    row.form,
                    row.address,
                    row.detail,
                    row.prev_hash,
                    row.hash
                ],
                |r| r.get(0),
            )?),
        Backend::Postgres(mut t) => Ok(t
            .query_one(
                "INSERT INTO audit_log (gemeente_id, at, actor_id, actor_name, actor_role, action,
                   form_id, address, detail, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq",
                &[
                    &row.gemeente,
                    &row.at,
                    &row.actor_id,
                    &row.actor_name,
                    &row.actor_role,
                    &row.action,
                    &row.form,
                    &row.address,
                    &row.detail,
                    &row.prev_hash,
                    &row.hash,
                ],
            )?
            .try_get(0)?),
    }
}

const CHAIN_SQL: &str =
    "SELECT seq, at, actor_id, actor_name, actor_role, action, form_id, address,
        detail, prev_hash, hash
     FROM audit_log WHERE gemeente_id = ?1 ORDER BY seq";

/// How many rows of a chain PostgreSQL hands over at a time.
const CHAIN_BATCH: i32 = 500;

/// Calls `each` with every row of the gemeente's chain, oldest first (streamed, so a long
/// log is never held in memory at once).
pub fn each_in_chain(
    tx: &Tx,
    gemeente: GemeenteId,
    mut each: impl FnMut(ChainRow),
) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(CHAIN_SQL)?;
            let mut rows = stmt.query(params![gemeente])?;
            while let Some(r) = rows.next()? {
                each(ChainRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    actor_id: r.get(2)?,
                    actor_name: r.get(3)?,
                    actor_role: r.get(4)?,
                    action: r.get(5)?,
                    form: r.get(6)?,
                    address: r.get(7)?,
                    detail: r.get(8)?,
                    prev_hash: r.get(9)?,
                    hash: r.get(10)?,
                });
            }
            Ok(())
        }
        Backend::Postgres(mut t) => {
            // A portal hands the rows over a batch at a time.
            let stmt = t.prepare(&CHAIN_SQL.replace("?1", "$1"))?;
            let portal = t.bind(&stmt, &[&gemeente])?;
            loop {
                let batch = t.query_portal(&portal, CHAIN_BATCH)?;
                for r in &batch {
                    each(ChainRow {
                        seq: r.try_get(0)?,
                        at: r.try_get(1)?,
                        actor_id: r.try_get(2)?,
                        actor_name: r.try_get(3)?,
                        actor_role: r.try_get(4)?,
                        action: r.try_get(5)?,
                        form: r.try_get(6)?,
                        address: r.try_get(7)?,
                        detail: r.try_get(8)?,
                        prev_hash: r.try_get(9)?,
                        hash: r.try_get(10)?,
                    });
                }
                if batch.len() < CHAIN_BATCH as usize {
                    return Ok(());
                }
            }
        }
    }
}

/// Up to `limit` of the gemeente's rows with a seq below `before`, newest first.
pub fn page(
    tx: &Tx,
    gemeente: GemeenteId,
    before: i64,
    limit: u32,
) -> Result<Vec<ListedRow>, DbError> {
    let sql = "SELECT seq, at, actor_name, actor_role, action, form_id, address, detail, hash
         FROM audit_log WHERE gemeente_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3";
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(sql)?;
            let rows = stmt.query_map(params![gemeente, before, limit], |r| {
                Ok(ListedRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    actor_name: r.get(2)?,
                    actor_role: r.get(3)?,
                    action: r.get(4)?,
                    form: r.get(5)?,
                    address: r.get(6)?,
                    detail: r.get(7)?,
                    hash: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => t
            .query(
                &sql.replace("?1", "$1")
                    .replace("?2", "$2")
                    .replace("?3", "$3"),
                &[&gemeente, &before, &i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(ListedRow {
                    seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor_name: r.try_get(2)?,
                    actor_role: r.try_get(3)?,
                    action: r.try_get(4)?,
                    form: r.try_get(5)?,
                    address: r.try_get(6)?,
                    detail: r.try_get(7)?,
                    hash: r.try_get(8)?,
                })
            })
            .collect(),
    }
}
