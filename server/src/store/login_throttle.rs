//! What the login throttle keeps in the database, so that it holds on every server node and
//! across restarts: the secret that keys its account names and signs device cookies, and
//! the failures that lock an account for an hour (SQLite migration 013, PostgreSQL 017).
//!
//! The rules (how many failures, how long a window, who is let through) live in
//! [`crate::throttle`]; this module keeps and counts. Neither table is tenant data: the
//! login comes before the gemeente is known. On PostgreSQL the application role has no
//! privilege on them and goes through functions that answer for one exact key, as it does
//! for `tenant_route`; call these from a [`super::Scope::System`] transaction.

use rusqlite::{OptionalExtension, params};

use super::{Backend, Tx};
use crate::db::DbError;

/// What a shared failure count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Wrong passwords for an account name from browsers the throttle does not know.
    Account,
    /// Wrong second-factor codes for an account name.
    SecondFactor,
}

impl FailureKind {
    fn code(self) -> &'static str {
        match self {
            FailureKind::Account => "account",
            FailureKind::SecondFactor => "second_factor",
        }
    }
}

/// The secret named `name`: the one stored, or `candidate` if none was (the first server
/// to ask draws it; every later one, on any node, gets the same secret back).
pub fn secret(tx: &Tx, name: &str, candidate: &[u8; 32]) -> Result<[u8; 32], DbError> {
    let stored: Vec<u8> = match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "INSERT INTO server_secret (name, secret) VALUES (?1, ?2)
                 ON CONFLICT (name) DO NOTHING",
                params![name, candidate.as_slice()],
            )?;
            c.query_row(
                "SELECT secret FROM server_secret WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )?
        }
        Backend::Postgres(mut t) => t
            .query_one(
                "SELECT server_secret($1, $2)",
                &[&name, &candidate.as_slice()],
            )?
            .try_get(0)?,
    };
    stored.try_into().map_err(|s: Vec<u8>| {
        DbError::Domain(format!(
            "stored server secret has {} bytes, not 32",
            s.len()
        ))
    })
}

/// The failures of `kind` counted for `name_key` in a window that started after `since_ms`
/// (unix ms); 0 when its window is older or there is none.
pub fn failures(
    tx: &Tx,
    kind: FailureKind,
    name_key: &[u8],
    since_ms: i64,
) -> Result<u32, DbError> {
    let n: i64 = match tx.backend() {
        Backend::Sqlite(c) => c
            .prepare_cached(
                "SELECT failures FROM login_failure
                 WHERE kind = ?1 AND name_key = ?2 AND window_start > ?3",
            )?
            .query_row(params![kind.code(), name_key, since_ms], |r| r.get(0))
            .optional()?
            .unwrap_or(0),
        Backend::Postgres(mut t) => i64::from(
            t.query_one(
                "SELECT login_failures($1, $2, $3)",
                &[&kind.code(), &name_key, &since_ms],
            )?
            .try_get::<_, i32>(0)?,
        ),
    };
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Counts one failure of `kind` for `name_key` at `now_ms`: in its window, or in a new one
/// from `now_ms` when its window started `window_ms` or longer ago. Answers the count after.
pub fn add_failure(
    tx: &Tx,
    kind: FailureKind,
    name_key: &[u8],
    now_ms: i64,
    window_ms: i64,
) -> Result<u32, DbError> {
    let n: i64 = match tx.backend() {
        Backend::Sqlite(c) => c
            .prepare_cached(
                "INSERT INTO login_failure (kind, name_key, window_start, failures)
                 VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (kind, name_key) DO UPDATE SET
                     window_start = CASE WHEN window_start <= ?3 - ?4 THEN ?3 ELSE window_start END,
                     failures = CASE WHEN window_start <= ?3 - ?4 THEN 1 ELSE failures + 1 END
                 RETURNING failures",
            )?
            .query_row(params![kind.code(), name_key, now_ms, window_ms], |r| {
                r.get(0)
            })?,
        Backend::Postgres(mut t) => i64::from(
            t.query_one(
                "SELECT login_failure_add($1, $2, $3, $4)",
                &[&kind.code(), &name_key, &now_ms, &window_ms],
            )?
            .try_get::<_, i32>(0)?,
        ),
    };
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Drops every window that started at or before `before_ms`, then all but the `keep` with
/// the most failures (the newest first among equals), so that a flood of names cannot grow
/// the table without bound, nor push out the window of an account under attack: that
/// would take `keep` newer windows with at least as many failures. Answers how many rows
/// went.
pub fn prune_failures(tx: &Tx, before_ms: i64, keep: usize) -> Result<u64, DbError> {
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    match tx.backend() {
        Backend::Sqlite(c) => {
            let expired = c.execute(
                "DELETE FROM login_failure WHERE window_start <= ?1",
                params![before_ms],
            )?;
            let crowded = c.execute(
                "DELETE FROM login_failure WHERE (kind, name_key) IN (
                     SELECT kind, name_key FROM login_failure
                     ORDER BY failures DESC, window_start DESC LIMIT -1 OFFSET ?1)",
                params![keep],
            )?;
            Ok((expired + crowded) as u64)
        }
        Backend::Postgres(mut t) => {
            let keep = i32::try_from(keep).unwrap_or(i32::MAX);
            let n: i64 = t
                .query_one("SELECT login_failures_prune($1, $2)", &[&before_ms, &keep])?
                .try_get(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        }
    }
}

/// How many failure windows are kept, of both kinds (for the bound's tests and checks).
pub fn windows(tx: &Tx) -> Result<u64, DbError> {
    let n: i64 = match tx.backend() {
        Backend::Sqlite(c) => {
            c.query_row("SELECT count(*) FROM login_failure", [], |r| r.get(0))?
        }
        Backend::Postgres(mut t) => t
            .query_one("SELECT login_failure_windows()", &[])?
            .try_get(0)?,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}
