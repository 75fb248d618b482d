//! Which wijken a coordinator may analyse (issue 9): the `user_wijk` assignment.
//!
//! A coordinator sees the wijken assigned to them and nothing else; one without an
//! assignment sees no wijk at all (not every wijk). The admin assigns wijken with
//! `admin assign-wijken` (the web admin follows in its own issue). Migration 005 gave every
//! coordinator that existed then every wijk of their gemeente, so nobody lost access
//! silently. Kept apart from `auth.rs`: the role extractors say *who* is asking, this
//! module says *which wijken* that person may see.

use std::collections::HashSet;

use avondronde_shared::{UserId, WijkId};

use crate::audit::{self, Action, Actor, Event};
use crate::db::DbError;
use crate::store::{self, Tx};

/// The wijken assigned to a user.
pub fn assigned_wijken(tx: &Tx, user: UserId) -> Result<HashSet<WijkId>, DbError> {
    store::hotspot::assigned_wijken(tx, user)
}

/// Replaces a coordinator's wijken with `codes` (CBS wijk codes of the user's own
/// gemeente; an empty list takes every wijk away) and records it in the gemeente's audit
/// log. Returns the number of wijken now assigned.
///
/// # Errors
/// A Dutch message when the user does not exist, is not a coordinator, or a code is not a
/// wijk of their gemeente; nothing changes then.
pub fn assign_wijken(
    tx: &Tx,
    username: &str,
    codes: &[String],
    actor: &Actor,
    now_ms: i64,
) -> Result<usize, DbError> {
    let Some((user, gemeente, role)) = store::hotspot::user_by_name(tx, username)? else {
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
        let Some(id) = store::hotspot::wijk_in_gemeente_by_code(tx, code, gemeente)? else {
            return Err(DbError::Domain(format!(
                "wijk {code:?} hoort niet bij de gemeente van {username:?}"
            )));
        };
        wijken.push(id);
    }
    wijken.sort();
    wijken.dedup();
    store::hotspot::replace_assignment(tx, user, &wijken, now_ms)?;
    let mut listed: Vec<&str> = codes.iter().map(String::as_str).collect();
    listed.sort_unstable();
    listed.dedup();
    audit::record(
        tx,
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
pub fn assign_all_wijken(tx: &Tx, user: UserId, now_ms: i64) -> Result<usize, DbError> {
    store::hotspot::assign_all(tx, user, now_ms)
}

/// The CBS codes of every wijk of a user's gemeente (for `assign-wijken --all`).
pub fn wijk_codes_of_user(tx: &Tx, username: &str) -> Result<Vec<String>, DbError> {
    store::hotspot::wijk_codes_of_user(tx, username)
}
