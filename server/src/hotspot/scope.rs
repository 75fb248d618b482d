//! Which wijken a coordinator may analyse (issue 9): the `user_wijk` assignment.
//!
//! A coordinator sees the wijken assigned to them and nothing else; one without an
//! assignment sees no wijk at all (not every wijk). The admin assigns wijken with
//! `admin assign-wijken` (the web admin follows in its own issue). Migration 005 gave every
//! coordinator that existed then every wijk of their gemeente, so nobody lost access
//! silently. Kept apart from `auth.rs`: the role extractors say *who* is asking, this
//! module says *which wijken* that person may see.

use std::collections::HashSet;

use avondronde_shared::{GemeenteId, UserId, WijkId};
use rusqlite::{Connection, params};

use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;

/// The wijken assigned to a user.
pub fn assigned_wijken(conn: &Connection, user: UserId) -> Result<HashSet<WijkId>, DbError> {
    let mut stmt = conn.prepare_cached("SELECT wijk_id FROM user_wijk WHERE user_id = ?1")?;
    let ids = stmt
        .query_map(params![user.to_string()], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids.into_iter().filter_map(|id| id.parse().ok()).collect())
}

/// Replaces a coordinator's wijken with `codes` (CBS wijk codes of the user's own
/// gemeente; an empty list takes every wijk away) and records it in the gemeente's audit
/// log. Returns the number of wijken now assigned.
///
/// # Errors
/// A Dutch message when the user does not exist, is not a coordinator, or a code is not a
/// wijk of their gemeente; nothing changes then.
pub fn assign_wijken(
    conn: &Connection,
    username: &str,
    codes: &[String],
    actor: &Actor,
    now_ms: i64,
) -> Result<usize, DbError> {
    let user: Option<(String, String, String)> = conn
        .query_row(
            "SELECT id, gemeente_id, role FROM user WHERE username = ?1",
            params![username],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let Some((user_id, gemeente, role)) = user else {
        return Err(DbError::Domain(format!(
            "gebruiker {username:?} bestaat niet"
        )));
    };
    if role != "coordinator" {
        return Err(DbError::Domain(format!(
            "gebruiker {username:?} is geen coördinator; alleen coördinatoren krijgen wijken"
        )));
    }
    let mut wijken = Vec::with_capacity(codes.len());
    for code in codes {
        let id: Option<String> = conn
            .query_row(
                "SELECT id FROM wijk WHERE code = ?1 AND gemeente_id = ?2",
                params![code, gemeente],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let Some(id) = id else {
            return Err(DbError::Domain(format!(
                "wijk {code:?} hoort niet bij de gemeente van {username:?}"
            )));
        };
        wijken.push(id);
    }
    wijken.sort();
    wijken.dedup();
    conn.execute("DELETE FROM user_wijk WHERE user_id = ?1", params![user_id])?;
    for w in &wijken {
        conn.execute(
            "INSERT INTO user_wijk (user_id, wijk_id, assigned_at) VALUES (?1, ?2, ?3)",
            params![user_id, w, now_ms],
        )?;
    }
    let gemeente: GemeenteId = gemeente
        .parse()
        .map_err(|_| DbError::Domain("bad gemeente id".into()))?;
    let mut listed: Vec<&str> = codes.iter().map(String::as_str).collect();
    listed.sort_unstable();
    listed.dedup();
    audit::record(
        &crate::store::Tx::legacy(conn),
        &Event {
            gemeente,
            actor,
            action: Action::WijkAssignment,
            form: None,
            address: None,
            detail: format!(
                "{username}: {}",
                if listed.is_empty() {
                    "geen wijken".to_owned()
                } else {
                    listed.join(", ")
                }
            ),
        },
        now_ms,
    )?;
    Ok(wijken.len())
}

/// Gives a coordinator every wijk of their gemeente (the demo and test set-ups).
pub fn assign_all_wijken(conn: &Connection, user: UserId, now_ms: i64) -> Result<usize, DbError> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO user_wijk (user_id, wijk_id, assigned_at)
         SELECT u.id, w.id, ?2 FROM user u JOIN wijk w ON w.gemeente_id = u.gemeente_id
         WHERE u.id = ?1",
        params![user.to_string(), now_ms],
    )?)
}

/// The CBS codes of every wijk of a user's gemeente (for `assign-wijken --all`).
pub fn wijk_codes_of_user(conn: &Connection, username: &str) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT w.code FROM wijk w JOIN user u ON u.gemeente_id = w.gemeente_id
         WHERE u.username = ?1 ORDER BY w.code",
    )?;
    let codes = stmt
        .query_map(params![username], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(codes)
}
