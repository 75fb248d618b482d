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

use avondronde_shared::{CareFormId, GemeenteId, UserId};
use rusqlite::{OptionalExtension, params};

use super::Tx;
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
pub fn head(tx: &Tx, gemeente: GemeenteId) -> Result<Option<Vec<u8>>, DbError> {
    Ok(tx
        .conn()?
        .prepare_cached(
            "SELECT hash FROM audit_log WHERE gemeente_id = ?1 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(params![gemeente], |r| r.get(0))
        .optional()?)
}

/// Appends a row; returns its seq.
pub fn append(tx: &Tx, row: &NewRow<'_>) -> Result<i64, DbError> {
    Ok(tx
        .conn()?
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
        )?)
}

/// Calls `each` with every row of the gemeente's chain, oldest first (streamed, so a long
/// log is never held in memory at once).
pub fn each_in_chain(
    tx: &Tx,
    gemeente: GemeenteId,
    mut each: impl FnMut(ChainRow),
) -> Result<(), DbError> {
    let mut stmt = tx.conn()?.prepare_cached(
        "SELECT seq, at, actor_id, actor_name, actor_role, action, form_id, address, detail,
                prev_hash, hash
         FROM audit_log WHERE gemeente_id = ?1 ORDER BY seq",
    )?;
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

/// Up to `limit` of the gemeente's rows with a seq below `before`, newest first.
pub fn page(
    tx: &Tx,
    gemeente: GemeenteId,
    before: i64,
    limit: u32,
) -> Result<Vec<ListedRow>, DbError> {
    let mut stmt = tx.conn()?.prepare_cached(
        "SELECT seq, at, actor_name, actor_role, action, form_id, address, detail, hash
         FROM audit_log WHERE gemeente_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
    )?;
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
