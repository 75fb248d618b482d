//! Users and what they log in with: the `user` rows (username, role, password hash,
//! disabled mark, the TOTP secret and the last used TOTP step), `recovery_code`,
//! `password_reset` (first-password and reset codes) and `user_wijk` as the admin's user
//! list shows it. Owns the reads and writes of [`crate::auth`], [`crate::mfa`],
//! [`crate::admin`] and the set-up's user inserts; who may log in, when a code counts and
//! what the admin may change are decided there, not here.

use avondronde_shared::{GemeenteId, Role, UserId};
use rusqlite::{OptionalExtension, Row, params};

use super::{Backend, Tx};
use crate::db::DbError;

/// A role code read from a row; a code this server does not know is an error.
pub(in crate::store) fn role_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Role> {
    let code: String = r.get(i)?;
    Role::from_code(&code).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            "bad role in database".into(),
        )
    })
}

/// A role code read from a PostgreSQL row; a code this server does not know is an error.
pub(in crate::store) fn pg_role_at(r: &::postgres::Row, i: usize) -> Result<Role, DbError> {
    let code: String = r.try_get(i)?;
    Role::from_code(&code).ok_or_else(|| DbError::Domain("bad role in database".into()))
}

/// Whether a PostgreSQL error is a refused constraint (SQLSTATE class 23: unique, foreign
/// key, not null, check), the counterpart of SQLite's `ConstraintViolation`.
fn pg_constraint_refused(e: &::postgres::Error) -> bool {
    e.code().is_some_and(|c| c.code().starts_with("23"))
}

/// A user as the set-up creates it.
pub struct NewUser<'a> {
    /// Its id.
    pub id: UserId,
    /// Its gemeente.
    pub gemeente: GemeenteId,
    /// Login name, as it is to be stored.
    pub username: &'a str,
    /// Role.
    pub role: Role,
    /// Password hash, for web users.
    pub password_hash: Option<&'a str>,
    /// When, in milliseconds since the epoch.
    pub created_at: i64,
}

/// Stores a new user. `Ok(false)` if a constraint refused the row (the username is
/// taken, in any gemeente); nothing is stored then and the transaction goes on.
pub fn insert_user(tx: &Tx, user: &NewUser<'_>) -> Result<bool, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let done = c.execute(
                "INSERT INTO user (id, gemeente_id, username, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    user.id,
                    user.gemeente,
                    user.username,
                    user.role.code(),
                    user.password_hash,
                    user.created_at
                ],
            );
            match done {
                Ok(_) => Ok(true),
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Ok(false)
                }
                Err(e) => Err(e.into()),
            }
        }
        Backend::Postgres(mut t) => {
            // A refused statement aborts a PostgreSQL transaction: try it in a savepoint, so
            // that a taken username leaves the caller's transaction usable, as on SQLite.
            let mut sp = t.savepoint("insert_user")?;
            let done = sp.execute(
                "INSERT INTO \"user\" (id, gemeente_id, username, role, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &user.id,
                    &user.gemeente,
                    &user.username,
                    &user.role.code(),
                    &user.password_hash,
                    &user.created_at,
                ],
            );
            match done {
                Ok(_) => {
                    sp.commit()?;
                    Ok(true)
                }
                Err(e) if pg_constraint_refused(&e) => {
                    sp.rollback()?;
                    Ok(false)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

// Usernames compare exactly on both backends: SQLite's `=` on TEXT is BINARY (no NOCASE in
// the schema) and PostgreSQL's `=` on text with a deterministic collation is byte equality.
// The username route's key is the same bytes (`convert_to(username, 'UTF8')`). Callers trim.

/// The id of the user with this username, if any.
pub fn user_id_by_name(tx: &Tx, username: &str) -> Result<Option<UserId>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT id FROM user WHERE username = ?1",
                params![username],
                |r| r.get(0),
            )
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt("SELECT id FROM \"user\" WHERE username = $1", &[&username])?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(DbError::from),
    }
}

/// Whether a user (disabled or not) has this username, in any gemeente: usernames are
/// unique over all gemeenten. On PostgreSQL the other gemeenten's users are asked through
/// the username route (`route_lookup`), which answers for this one exact name only.
pub fn username_taken(tx: &Tx, username: &str) -> Result<bool, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let taken: Option<i64> = c
                .query_row(
                    "SELECT 1 FROM user WHERE username = ?1",
                    params![username],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(taken.is_some())
        }
        Backend::Postgres(mut t) => Ok(t
            .query_opt(
                "SELECT 1 FROM route_lookup('username', convert_to($1, 'UTF8'))",
                &[&username],
            )?
            .is_some()),
    }
}

/// A user as found by username, disabled or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// The user.
    pub id: UserId,
    /// Their gemeente.
    pub gemeente: GemeenteId,
    /// Their role (`None` for a code this server does not know).
    pub role: Option<Role>,
    /// Disabled.
    pub disabled: bool,
}

/// The user with this username, if any.
pub fn user_by_name(tx: &Tx, username: &str) -> Result<Option<UserRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT id, gemeente_id, role, disabled_at IS NOT NULL FROM user WHERE username = ?1",
                params![username],
                |r| {
                    Ok(UserRow {
                        id: r.get(0)?,
                        gemeente: r.get(1)?,
                        role: Role::from_code(&r.get::<_, String>(2)?),
                        disabled: r.get(3)?,
                    })
                },
            )
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT id, gemeente_id, role, disabled_at IS NOT NULL FROM \"user\"
                 WHERE username = $1",
                &[&username],
            )?
            .map(|r| {
                Ok(UserRow {
                    id: r.try_get(0)?,
                    gemeente: r.try_get(1)?,
                    role: Role::from_code(&r.try_get::<_, String>(2)?),
                    disabled: r.try_get(3)?,
                })
            })
            .transpose(),
    }
}

/// A user's login as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginRow {
    /// The user.
    pub id: UserId,
    /// The argon2id PHC string, if a password is set.
    pub password_hash: Option<String>,
    /// Their gemeente.
    pub gemeente: GemeenteId,
    /// Their role.
    pub role: Role,
    /// Their username as stored.
    pub username: String,
    /// Whether the second factor is switched on.
    pub totp_enabled: bool,
}

/// The login of the user with this username, unless there is none or they are disabled.
pub fn login_by_name(tx: &Tx, username: &str) -> Result<Option<LoginRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare_cached(
                "SELECT id, password_hash, gemeente_id, role, username, totp_enabled FROM user
                 WHERE username = ?1 AND disabled_at IS NULL",
            )?
            .query_row(params![username], |r| {
                Ok(LoginRow {
                    id: r.get(0)?,
                    password_hash: r.get(1)?,
                    gemeente: r.get(2)?,
                    role: role_at(r, 3)?,
                    username: r.get(4)?,
                    totp_enabled: r.get::<_, i64>(5)? != 0,
                })
            })
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT id, password_hash, gemeente_id, role, username, totp_enabled FROM \"user\"
                 WHERE username = $1 AND disabled_at IS NULL",
                &[&username],
            )?
            .map(|r| {
                Ok(LoginRow {
                    id: r.try_get(0)?,
                    password_hash: r.try_get(1)?,
                    gemeente: r.try_get(2)?,
                    role: pg_role_at(&r, 3)?,
                    username: r.try_get(4)?,
                    totp_enabled: r.try_get::<_, i64>(5)? != 0,
                })
            })
            .transpose(),
    }
}

/// Marks a user disabled at `now` (an earlier mark stays).
pub fn disable_user(tx: &Tx, user: UserId, now: i64) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "UPDATE user SET disabled_at = COALESCE(disabled_at, ?1) WHERE id = ?2",
                params![now, user],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE \"user\" SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2",
                &[&now, &user],
            )?;
        }
    }
    Ok(())
}

/// Lifts a user's disabled mark, so they can log in again (with their own password and
/// second step, under the usual throttle). Their ended sessions and revoked phones stay
/// ended and revoked.
pub fn enable_user(tx: &Tx, user: UserId) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "UPDATE user SET disabled_at = NULL WHERE id = ?1",
                params![user],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE \"user\" SET disabled_at = NULL WHERE id = $1",
                &[&user],
            )?;
        }
    }
    Ok(())
}

/// Stores a user's new password hash.
pub fn set_password_hash(tx: &Tx, user: UserId, phc: &str) -> Result<(), DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "UPDATE user SET password_hash = ?1 WHERE id = ?2",
                params![phc, user],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "UPDATE \"user\" SET password_hash = $1 WHERE id = $2",
                &[&phc, &user],
            )?;
        }
    }
    Ok(())
}

/// A user as the admin's list shows it: username, role code, disabled, password set,
/// wijk codes (joined by `", "`, in code order) and active devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListRow {
    /// The user (the audit page names them by it).
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Role (`None` for a code this server does not know).
    pub role: Option<Role>,
    /// Disabled.
    pub disabled: bool,
    /// A password is set.
    pub has_password: bool,
    /// CBS codes of the user's wijken, in code order.
    pub wijken: Vec<String>,
    /// Devices not revoked.
    pub devices: i64,
}

fn split_wijken(wijken: Option<String>) -> Vec<String> {
    wijken
        .map(|w| w.split(", ").map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The users of a gemeente: active first, by role and name (in byte order on both
/// backends).
pub fn users_of_gemeente(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<UserListRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => {
            let mut stmt = c.prepare(
                "SELECT u.username, u.role, u.disabled_at IS NOT NULL, u.password_hash IS NOT NULL,
                        u.id,
                        (SELECT group_concat(code, ', ') FROM
                           (SELECT w.code FROM user_wijk uw JOIN wijk w ON w.id = uw.wijk_id
                            WHERE uw.user_id = u.id ORDER BY w.code)),
                        (SELECT COUNT(*) FROM device d WHERE d.user_id = u.id AND d.revoked_at IS NULL)
                 FROM user u WHERE u.gemeente_id = ?1
                 ORDER BY u.disabled_at IS NOT NULL, u.role, u.username",
            )?;
            let rows = stmt
                .query_map(params![gemeente], |r| {
                    Ok(UserListRow {
                        id: r.get(4)?,
                        username: r.get(0)?,
                        role: Role::from_code(&r.get::<_, String>(1)?),
                        disabled: r.get(2)?,
                        has_password: r.get(3)?,
                        wijken: split_wijken(r.get(5)?),
                        devices: r.get(6)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        }
        Backend::Postgres(mut t) => t
            .query(
                "SELECT u.username, u.role, u.disabled_at IS NOT NULL, u.password_hash IS NOT NULL,
                        u.id,
                        (SELECT string_agg(w.code, ', ' ORDER BY w.code COLLATE \"C\")
                         FROM user_wijk uw JOIN wijk w ON w.id = uw.wijk_id
                         WHERE uw.user_id = u.id),
                        (SELECT COUNT(*) FROM device d WHERE d.user_id = u.id AND d.revoked_at IS NULL)
                 FROM \"user\" u WHERE u.gemeente_id = $1
                 ORDER BY u.disabled_at IS NOT NULL, u.role COLLATE \"C\", u.username COLLATE \"C\"",
                &[&gemeente],
            )?
            .iter()
            .map(|r| {
                Ok(UserListRow {
                    id: r.try_get(4)?,
                    username: r.try_get(0)?,
                    role: Role::from_code(&r.try_get::<_, String>(1)?),
                    disabled: r.try_get(2)?,
                    has_password: r.try_get(3)?,
                    wijken: split_wijken(r.try_get(5)?),
                    devices: r.try_get(6)?,
                })
            })
            .collect(),
    }
}

/// A user's TOTP columns as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpRow {
    /// Switched on.
    pub enabled: bool,
    /// The base32 secret, confirmed or pending.
    pub secret: Option<String>,
    /// The last accepted 30-second step.
    pub last_step: Option<i64>,
}

/// A user's TOTP columns, if there is such a user.
pub fn totp(tx: &Tx, user: UserId) -> Result<Option<TotpRow>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT totp_enabled, totp_secret, totp_last_step FROM user WHERE id = ?1",
                params![user],
                |r| {
                    Ok(TotpRow {
                        enabled: r.get::<_, i64>(0)? != 0,
                        secret: r.get(1)?,
                        last_step: r.get(2)?,
                    })
                },
            )
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT totp_enabled, totp_secret, totp_last_step FROM \"user\" WHERE id = $1",
                &[&user],
            )?
            .map(|r| {
                Ok(TotpRow {
                    enabled: r.try_get::<_, i64>(0)? != 0,
                    secret: r.try_get(1)?,
                    last_step: r.try_get(2)?,
                })
            })
            .transpose(),
    }
}

/// Runs one statement that returns no rows, on either backend, and returns how many rows
/// it changed. `sqlite` and `pg` are the same statement in each dialect.
pub(in crate::store) fn change(
    tx: &Tx,
    sqlite: &str,
    pg: &str,
    sqlite_params: &[&dyn rusqlite::ToSql],
    pg_params: &[&(dyn ::postgres::types::ToSql + Sync)],
) -> Result<u64, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.execute(sqlite, sqlite_params)? as u64),
        Backend::Postgres(mut t) => Ok(t.execute(pg, pg_params)?),
    }
}

/// Stores a pending TOTP secret, only if the user has none and is not enrolled.
pub fn set_pending_totp_secret(tx: &Tx, user: UserId, secret: &str) -> Result<(), DbError> {
    change(
        tx,
        "UPDATE user SET totp_secret = ?1 WHERE id = ?2 AND totp_enabled = 0 AND totp_secret IS NULL",
        "UPDATE \"user\" SET totp_secret = $1 WHERE id = $2 AND totp_enabled = 0 AND totp_secret IS NULL",
        params![secret, user],
        &[&secret, &user],
    )?;
    Ok(())
}

/// Switches the stored secret on.
pub fn enable_totp(tx: &Tx, user: UserId) -> Result<(), DbError> {
    change(
        tx,
        "UPDATE user SET totp_enabled = 1 WHERE id = ?1",
        "UPDATE \"user\" SET totp_enabled = 1 WHERE id = $1",
        params![user],
        &[&user],
    )?;
    Ok(())
}

/// Stores a secret switched on at once, with no step used yet.
pub fn set_enabled_totp_secret(tx: &Tx, user: UserId, secret: &str) -> Result<(), DbError> {
    change(
        tx,
        "UPDATE user SET totp_secret = ?1, totp_enabled = 1, totp_last_step = NULL WHERE id = ?2",
        "UPDATE \"user\" SET totp_secret = $1, totp_enabled = 1, totp_last_step = NULL WHERE id = $2",
        params![secret, user],
        &[&secret, &user],
    )?;
    Ok(())
}

/// Removes a user's TOTP secret, switches it off and forgets the last step.
pub fn clear_totp(tx: &Tx, user: UserId) -> Result<(), DbError> {
    change(
        tx,
        "UPDATE user SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = ?1",
        "UPDATE \"user\" SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = $1",
        params![user],
        &[&user],
    )?;
    Ok(())
}

/// Records `step` as the user's last used TOTP step if it comes after the one stored, in
/// one conditional statement (of two racing uses of a step, one wins). Whether it did.
pub fn use_totp_step(tx: &Tx, user: UserId, step: i64) -> Result<bool, DbError> {
    Ok(change(
        tx,
        "UPDATE user SET totp_last_step = ?1
         WHERE id = ?2 AND (totp_last_step IS NULL OR totp_last_step < ?1)",
        "UPDATE \"user\" SET totp_last_step = $1
         WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        params![step, user],
        &[&step, &user],
    )? == 1)
}

/// Removes every recovery code of a user.
pub fn delete_recovery_codes(tx: &Tx, user: UserId) -> Result<(), DbError> {
    change(
        tx,
        "DELETE FROM recovery_code WHERE user_id = ?1",
        "DELETE FROM recovery_code WHERE user_id = $1",
        params![user],
        &[&user],
    )?;
    Ok(())
}

/// Stores one recovery code's hash. On PostgreSQL the row takes its user's gemeente; an
/// unknown user (or one of another gemeente) is an error, as SQLite's foreign key makes it.
pub fn insert_recovery_code(tx: &Tx, user: UserId, code_hash: &[u8]) -> Result<(), DbError> {
    let stored = change(
        tx,
        "INSERT INTO recovery_code (user_id, code_hash) VALUES (?1, ?2)",
        "INSERT INTO recovery_code (gemeente_id, user_id, code_hash)
         SELECT u.gemeente_id, u.id, $2::bytea FROM \"user\" u WHERE u.id = $1::text",
        params![user, code_hash],
        &[&user, &code_hash],
    )?;
    no_such_user(stored)
}

/// The error for an insert that found no user to hang its row on (PostgreSQL; SQLite's
/// foreign key refuses such a row itself).
fn no_such_user(stored: u64) -> Result<(), DbError> {
    if stored == 0 {
        return Err(DbError::Domain("no such user".into()));
    }
    Ok(())
}

/// Marks the user's unused recovery code with this hash used at `now`; whether there was
/// one.
pub fn use_recovery_code(
    tx: &Tx,
    user: UserId,
    code_hash: &[u8],
    now: i64,
) -> Result<bool, DbError> {
    Ok(change(
        tx,
        "UPDATE recovery_code SET used_at = ?1
         WHERE user_id = ?2 AND code_hash = ?3 AND used_at IS NULL",
        "UPDATE recovery_code SET used_at = $1
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        params![now, user, code_hash],
        &[&now, &user, &code_hash],
    )? > 0)
}

/// Stores a first-password or reset code's hash for a user, valid until `expires_at`. On
/// PostgreSQL the row takes its user's gemeente.
pub fn insert_reset_code(
    tx: &Tx,
    code_hash: &[u8],
    user: UserId,
    now: i64,
    expires_at: i64,
) -> Result<(), DbError> {
    let stored = change(
        tx,
        "INSERT INTO password_reset (code_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        "INSERT INTO password_reset (code_hash, gemeente_id, user_id, created_at, expires_at)
         SELECT $1::bytea, u.gemeente_id, u.id, $3::bigint, $4::bigint
         FROM \"user\" u WHERE u.id = $2::text",
        params![code_hash, user, now, expires_at],
        &[&code_hash, &user, &now, &expires_at],
    )?;
    no_such_user(stored)
}

/// The user (and their gemeente) an unused reset code with this hash was issued to, if
/// it is theirs by `username`, still valid at `now`, and they are not disabled.
pub fn reset_code_user(
    tx: &Tx,
    code_hash: &[u8],
    username: &str,
    now: i64,
) -> Result<Option<(UserId, GemeenteId)>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT r.user_id, u.gemeente_id FROM password_reset r JOIN user u ON u.id = r.user_id
                 WHERE r.code_hash = ?1 AND u.username = ?2 AND r.used_at IS NULL AND r.expires_at > ?3
                   AND u.disabled_at IS NULL",
                params![code_hash, username, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt(
                "SELECT r.user_id, u.gemeente_id FROM password_reset r
                 JOIN \"user\" u ON u.id = r.user_id AND u.gemeente_id = r.gemeente_id
                 WHERE r.code_hash = $1 AND u.username = $2 AND r.used_at IS NULL
                   AND r.expires_at > $3 AND u.disabled_at IS NULL",
                &[&code_hash, &username, &now],
            )?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose(),
    }
}

/// Marks every unused reset code of a user used at `now`.
pub fn use_reset_codes(tx: &Tx, user: UserId, now: i64) -> Result<(), DbError> {
    change(
        tx,
        "UPDATE password_reset SET used_at = ?1 WHERE user_id = ?2 AND used_at IS NULL",
        "UPDATE password_reset SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
        params![now, user],
        &[&now, &user],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Direct;

    fn user(db: &mut Direct) -> UserId {
        let id = UserId::new();
        db.transaction(|tx| {
            let g = GemeenteId::new();
            crate::store::setup::insert_gemeente(
                tx,
                g,
                "Test",
                "GM9999",
                &avondronde_shared::norms::NormSet::rotterdam(),
            )?;
            let stored = insert_user(
                tx,
                &NewUser {
                    id,
                    gemeente: g,
                    username: "mp",
                    role: Role::Meldpunt,
                    password_hash: None,
                    created_at: 0,
                },
            )?;
            assert!(stored);
            Ok(())
        })
        .expect("user");
        id
    }

    #[test]
    fn a_totp_step_is_taken_once_and_never_an_earlier_one_after_it() {
        let mut db = Direct::in_memory().expect("db");
        let id = user(&mut db);
        let mut take = |step| {
            db.transaction(|tx| use_totp_step(tx, id, step))
                .expect("db")
        };
        assert!(take(100), "the first use of a step");
        assert!(!take(100), "the same step again (a replayed code)");
        assert!(!take(99), "an earlier step");
        assert!(take(101), "the next step");
    }

    #[test]
    fn a_taken_username_is_refused_without_storing_anything() {
        let mut db = Direct::in_memory().expect("db");
        let first = user(&mut db);
        let again = db
            .transaction(|tx| {
                let row = user_by_name(tx, "mp")?.expect("user");
                insert_user(
                    tx,
                    &NewUser {
                        id: UserId::new(),
                        gemeente: row.gemeente,
                        username: "mp",
                        role: Role::Admin,
                        password_hash: None,
                        created_at: 0,
                    },
                )
            })
            .expect("db");
        assert!(!again);
        let found = db.read(|tx| user_id_by_name(tx, "mp")).expect("db");
        assert_eq!(found, Some(first));
    }
}
