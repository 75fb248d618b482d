//! Web sessions: the `web_session` rows, keyed by the BLAKE3 hash of the cookie's token
//! (the token itself is never stored), with their expiry, last request, pending second
//! factor and wrong-code count. Owns the reads and writes of [`crate::auth`]'s sessions
//! and the meldpunt's expiry look-up; how long a session lasts, when it is idle too long
//! and how many wrong codes end it are decided there, not here.

use avondronde_shared::{GemeenteId, Role, UserId};
use rusqlite::{OptionalExtension, params};

use super::accounts::{change, pg_role_at, role_at};
use super::{Backend, Tx};
use crate::db::DbError;

/// A live session as found by its hash, with its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The user.
    pub user: UserId,
    /// Their username.
    pub username: String,
    /// Their gemeente.
    pub gemeente: GemeenteId,
    /// Their role.
    pub role: Role,
    /// The second factor is still to come.
    pub mfa_pending: bool,
    /// The last request, unix ms (written at most once a minute).
    pub last_seen: i64,
}

/// The session with this hash, if it has not expired at `now` and its user is not
/// disabled. One cached point query.
pub fn live_session(tx: &Tx, token_hash: &[u8], now: i64) -> Result<Option<SessionRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT u.id, u.username, u.gemeente_id, u.role, s.mfa_pending, s.last_seen_at
                 FROM web_session s JOIN user u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL",
            )?;
            Ok(stmt
                .query_row(params![token_hash, now], |r| {
                    Ok(SessionRow {
                        user: r.get(0)?,
                        username: r.get(1)?,
                        gemeente: r.get(2)?,
                        role: role_at(r, 3)?,
                        mfa_pending: r.get::<_, i64>(4)? != 0,
                        last_seen: r.get(5)?,
                    })
                })
                .optional()?)
        }
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT u.id, u.username, u.gemeente_id, u.role, s.mfa_pending, s.last_seen_at
                 FROM web_session s
                 JOIN \"user\" u ON u.id = s.user_id AND u.gemeente_id = s.gemeente_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
                &[&token_hash, &now],
            )?
            .map(|r| {
                Ok(SessionRow {
                    user: r.try_get(0)?,
                    username: r.try_get(1)?,
                    gemeente: r.try_get(2)?,
                    role: pg_role_at(&r, 3)?,
                    mfa_pending: r.try_get::<_, i64>(4)? != 0,
                    last_seen: r.try_get(5)?,
                })
            })
            .transpose(),
    }
}

/// Records a request of the session at `now`.
pub fn touch(tx: &Tx, token_hash: &[u8], now: i64) -> Result<(), DbError> {
    change(
        tx,
        "UPDATE web_session SET last_seen_at = ?1 WHERE token_hash = ?2",
        "UPDATE web_session SET last_seen_at = $1 WHERE token_hash = $2",
        params![now, token_hash],
        &[&now, &token_hash],
    )?;
    Ok(())
}

/// Token hashes from a PostgreSQL query whose first column is one.
fn pg_hashes(rows: &[::postgres::Row]) -> Result<Vec<Vec<u8>>, DbError> {
    rows.iter()
        .map(|r| Ok(r.try_get::<_, Vec<u8>>(0)?))
        .collect()
}

/// The hashes of sessions expired at `now`, of disabled users, and of sessions not seen
/// since `idle_since`.
pub fn ended(
    tx: &Tx,
    gemeente: GemeenteId,
    now: i64,
    idle_since: i64,
) -> Result<Vec<Vec<u8>>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT s.token_hash FROM web_session s JOIN user u ON u.id = s.user_id
                 WHERE u.gemeente_id = ?3
                   AND (s.expires_at <= ?1 OR u.disabled_at IS NOT NULL
                        OR s.last_seen_at < ?2)",
            )?;
            Ok(stmt
                .query_map(params![now, idle_since, gemeente], |r| r.get(0))?
                .collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => pg_hashes(&t.query(
            "SELECT s.token_hash FROM web_session s
             JOIN \"user\" u ON u.id = s.user_id AND u.gemeente_id = s.gemeente_id
             WHERE u.gemeente_id = $3
               AND (s.expires_at <= $1 OR u.disabled_at IS NOT NULL
                    OR s.last_seen_at < $2)",
            &[&now, &idle_since, &gemeente],
        )?),
    }
}

/// Every session's hash of the gemeente's users.
pub fn all(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<Vec<u8>>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "SELECT s.token_hash FROM web_session s JOIN user u ON u.id = s.user_id
                 WHERE u.gemeente_id = ?1",
            )?;
            let rows = stmt.query_map([gemeente], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => pg_hashes(&t.query(
            "SELECT s.token_hash FROM web_session s
             JOIN \"user\" u ON u.id = s.user_id AND u.gemeente_id = s.gemeente_id
             WHERE u.gemeente_id = $1",
            &[&gemeente],
        )?),
    }
}

/// A new session to store.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// The token's hash.
    pub token_hash: &'a [u8],
    /// Whose it is.
    pub user: UserId,
    /// Created (and last seen), unix ms.
    pub now: i64,
    /// Ends, unix ms.
    pub expires_at: i64,
    /// The second factor is still to come.
    pub mfa_pending: bool,
}

/// Stores a new session. On PostgreSQL the row takes its user's gemeente; an unknown user
/// (or one of another gemeente) is an error, as SQLite's foreign key makes it.
pub fn insert(tx: &Tx, s: &NewSession<'_>) -> Result<(), DbError> {
    let pending = i64::from(s.mfa_pending);
    let stored = change(
        tx,
        "INSERT INTO web_session (token_hash, user_id, created_at, expires_at, mfa_pending, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?3)",
        "INSERT INTO web_session
             (token_hash, gemeente_id, user_id, created_at, expires_at, mfa_pending, last_seen_at)
         SELECT $1::bytea, u.gemeente_id, u.id, $3::bigint, $4::bigint, $5::bigint, $3::bigint
         FROM \"user\" u WHERE u.id = $2::text",
        params![s.token_hash, s.user, s.now, s.expires_at, s.mfa_pending],
        &[&s.token_hash, &s.user, &s.now, &s.expires_at, &pending],
    )?;
    if stored == 0 {
        return Err(DbError::Domain("no such user".into()));
    }
    Ok(())
}

/// Counts one more wrong second-factor code for the session; returns the count (an error
/// if there is no such session).
pub fn count_wrong_code(tx: &Tx, token_hash: &[u8]) -> Result<i64, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.query_row(
            "UPDATE web_session SET mfa_attempts = mfa_attempts + 1 WHERE token_hash = ?1
             RETURNING mfa_attempts",
            params![token_hash],
            |r| r.get(0),
        )?),
        Backend::Postgres(mut t) => Ok(t
            .query_one(
                "UPDATE web_session SET mfa_attempts = mfa_attempts + 1 WHERE token_hash = $1
                 RETURNING mfa_attempts",
                &[&token_hash],
            )?
            .try_get(0)?),
    }
}

/// Marks the session's second factor done: it goes on under `new_hash` (the token of the
/// password step opens nothing from now on), with a new expiry, seen at `now`.
pub fn finish_mfa(
    tx: &Tx,
    token_hash: &[u8],
    new_hash: &[u8],
    expires_at: i64,
    now: i64,
) -> Result<(), DbError> {
    change(
        tx,
        "UPDATE web_session SET token_hash = ?1, mfa_pending = 0, expires_at = ?2, last_seen_at = ?3
         WHERE token_hash = ?4",
        "UPDATE web_session SET token_hash = $1, mfa_pending = 0, expires_at = $2, last_seen_at = $3
         WHERE token_hash = $4",
        params![new_hash, expires_at, now, token_hash],
        &[&new_hash, &expires_at, &now, &token_hash],
    )?;
    Ok(())
}

/// Deletes one session.
pub fn delete(tx: &Tx, token_hash: &[u8]) -> Result<(), DbError> {
    change(
        tx,
        "DELETE FROM web_session WHERE token_hash = ?1",
        "DELETE FROM web_session WHERE token_hash = $1",
        params![token_hash],
        &[&token_hash],
    )?;
    Ok(())
}

/// Deletes every session of a user; returns their hashes.
pub fn delete_of_user_returning(tx: &Tx, user: UserId) -> Result<Vec<Vec<u8>>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare_cached(
                "DELETE FROM web_session WHERE user_id = ?1 RETURNING token_hash",
            )?;
            let rows = stmt.query_map(params![user], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        }
        Backend::Postgres(mut t) => pg_hashes(&t.query(
            "DELETE FROM web_session WHERE user_id = $1 RETURNING token_hash",
            &[&user],
        )?),
    }
}

/// Deletes every session of a user.
pub fn delete_of_user(tx: &Tx, user: UserId) -> Result<(), DbError> {
    change(
        tx,
        "DELETE FROM web_session WHERE user_id = ?1",
        "DELETE FROM web_session WHERE user_id = $1",
        params![user],
        &[&user],
    )?;
    Ok(())
}

/// When the web session with this token hash expires (unix ms), if it exists.
pub fn expiry(tx: &Tx, token_hash: &[u8]) -> Result<Option<i64>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached("SELECT expires_at FROM web_session WHERE token_hash = ?1")?
            .query_row(params![token_hash], |r| r.get(0))
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT expires_at FROM web_session WHERE token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(DbError::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Direct;
    use crate::store::accounts::{self, NewUser};

    #[test]
    fn a_session_is_found_only_while_it_lasts_and_its_user_is_not_disabled() {
        let mut db = Direct::in_memory().expect("db");
        let user = UserId::new();
        let hash = [7u8; 32];
        let g = GemeenteId::new();
        db.transaction(|tx| {
            crate::store::setup::insert_gemeente(
                tx,
                g,
                "Test",
                "GM9999",
                &avondronde_shared::norms::NormSet::rotterdam(),
            )?;
            accounts::insert_user(
                tx,
                &NewUser {
                    id: user,
                    gemeente: g,
                    username: "mp",
                    role: Role::Meldpunt,
                    password_hash: None,
                    created_at: 0,
                },
            )?;
            insert(
                tx,
                &NewSession {
                    token_hash: &hash,
                    user,
                    now: 1_000,
                    expires_at: 2_000,
                    mfa_pending: true,
                },
            )
        })
        .expect("arrange");
        let found = db.read(|tx| live_session(tx, &hash, 1_500)).expect("db");
        let found = found.expect("live");
        assert_eq!((found.user, found.role), (user, Role::Meldpunt));
        assert!(found.mfa_pending);
        assert_eq!(found.last_seen, 1_000);
        assert!(
            db.read(|tx| live_session(tx, &hash, 2_000))
                .expect("db")
                .is_none()
        );
        assert_eq!(db.read(|tx| expiry(tx, &hash)).expect("db"), Some(2_000));
        // Idle since before 1_200: an ended meldpunt session, though not yet expired.
        assert_eq!(
            db.read(|tx| ended(tx, g, 1_500, 1_200)).expect("db"),
            vec![hash.to_vec()]
        );
        db.transaction(|tx| accounts::disable_user(tx, user, 1_600))
            .expect("disable");
        assert!(
            db.read(|tx| live_session(tx, &hash, 1_700))
                .expect("db")
                .is_none()
        );
        let gone = db
            .transaction(|tx| delete_of_user_returning(tx, user))
            .expect("db");
        assert_eq!(gone, vec![hash.to_vec()]);
        assert!(db.read(|tx| all(tx, g)).expect("db").is_empty());
    }
}
