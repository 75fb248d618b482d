//! Users and what they log in with: the `user` rows (username, role, password hash,
//! disabled mark, the TOTP secret and the last used TOTP step), `recovery_code`,
//! `password_reset` (first-password and reset codes) and `user_wijk` as the admin's user
//! list shows it. Owns the reads and writes of [`crate::auth`], [`crate::mfa`],
//! [`crate::admin`] and the set-up's user inserts; who may log in, when a code counts and
//! what the admin may change are decided there, not here.

use avondronde_shared::{GemeenteId, Role, UserId};
use rusqlite::{OptionalExtension, Row, params};

use super::Tx;
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
/// taken); nothing is stored then.
pub fn insert_user(tx: &Tx, user: &NewUser<'_>) -> Result<bool, DbError> {
    let done = tx.conn()?.execute(
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

/// The id of the user with this username, if any.
pub fn user_id_by_name(tx: &Tx, username: &str) -> Result<Option<UserId>, DbError> {
    Ok(tx
        .conn()?
        .query_row(
            "SELECT id FROM user WHERE username = ?1",
            params![username],
            |r| r.get(0),
        )
        .optional()?)
}

/// Whether a user (disabled or not) has this username.
pub fn username_taken(tx: &Tx, username: &str) -> Result<bool, DbError> {
    let taken: Option<i64> = tx
        .conn()?
        .query_row(
            "SELECT 1 FROM user WHERE username = ?1",
            params![username],
            |r| r.get(0),
        )
        .optional()?;
    Ok(taken.is_some())
}

/// A user as found by username, disabled or not.
#[derive(Debug, Clone)]
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
    Ok(tx
        .conn()?
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
        .optional()?)
}

/// A user's login as stored.
#[derive(Clone)]
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
    Ok(tx
        .conn()?
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
        .optional()?)
}

/// Marks a user disabled at `now` (an earlier mark stays).
pub fn disable_user(tx: &Tx, user: UserId, now: i64) -> Result<(), DbError> {
    tx.conn()?.execute(
        "UPDATE user SET disabled_at = COALESCE(disabled_at, ?1) WHERE id = ?2",
        params![now, user],
    )?;
    Ok(())
}

/// Stores a user's new password hash.
pub fn set_password_hash(tx: &Tx, user: UserId, phc: &str) -> Result<(), DbError> {
    tx.conn()?.execute(
        "UPDATE user SET password_hash = ?1 WHERE id = ?2",
        params![phc, user],
    )?;
    Ok(())
}

/// A user as the admin's list shows it: username, role code, disabled, password set,
/// wijk codes (joined by `", "`, in code order) and active devices.
#[derive(Debug, Clone)]
pub struct UserListRow {
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

/// The users of a gemeente: active first, by role and name.
pub fn users_of_gemeente(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<UserListRow>, DbError> {
    let mut stmt = tx.conn()?.prepare(
        "SELECT u.username, u.role, u.disabled_at IS NOT NULL, u.password_hash IS NOT NULL,
                (SELECT group_concat(code, ', ') FROM
                   (SELECT w.code FROM user_wijk uw JOIN wijk w ON w.id = uw.wijk_id
                    WHERE uw.user_id = u.id ORDER BY w.code)),
                (SELECT COUNT(*) FROM device d WHERE d.user_id = u.id AND d.revoked_at IS NULL)
         FROM user u WHERE u.gemeente_id = ?1
         ORDER BY u.disabled_at IS NOT NULL, u.role, u.username",
    )?;
    let rows = stmt
        .query_map(params![gemeente], |r| {
            let wijken: Option<String> = r.get(4)?;
            Ok(UserListRow {
                username: r.get(0)?,
                role: Role::from_code(&r.get::<_, String>(1)?),
                disabled: r.get(2)?,
                has_password: r.get(3)?,
                wijken: wijken
                    .map(|w| w.split(", ").map(str::to_owned).collect())
                    .unwrap_or_default(),
                devices: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A user's TOTP columns as stored.
#[derive(Clone)]
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
    Ok(tx
        .conn()?
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
        .optional()?)
}

/// Stores a pending TOTP secret, only if the user has none and is not enrolled.
pub fn set_pending_totp_secret(tx: &Tx, user: UserId, secret: &str) -> Result<(), DbError> {
    tx.conn()?.execute(
        "UPDATE user SET totp_secret = ?1 WHERE id = ?2 AND totp_enabled = 0 AND totp_secret IS NULL",
        params![secret, user],
    )?;
    Ok(())
}

/// Switches the stored secret on.
pub fn enable_totp(tx: &Tx, user: UserId) -> Result<(), DbError> {
    tx.conn()?.execute(
        "UPDATE user SET totp_enabled = 1 WHERE id = ?1",
        params![user],
    )?;
    Ok(())
}

/// Stores a secret switched on at once, with no step used yet.
pub fn set_enabled_totp_secret(tx: &Tx, user: UserId, secret: &str) -> Result<(), DbError> {
    tx.conn()?.execute(
        "UPDATE user SET totp_secret = ?1, totp_enabled = 1, totp_last_step = NULL WHERE id = ?2",
        params![secret, user],
    )?;
    Ok(())
}

/// Removes a user's TOTP secret, switches it off and forgets the last step.
pub fn clear_totp(tx: &Tx, user: UserId) -> Result<(), DbError> {
    tx.conn()?.execute(
        "UPDATE user SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = ?1",
        params![user],
    )?;
    Ok(())
}

/// Records `step` as the user's last used TOTP step if it comes after the one stored, in
/// one conditional statement (of two racing uses of a step, one wins). Whether it did.
pub fn use_totp_step(tx: &Tx, user: UserId, step: i64) -> Result<bool, DbError> {
    Ok(tx.conn()?.execute(
        "UPDATE user SET totp_last_step = ?1
         WHERE id = ?2 AND (totp_last_step IS NULL OR totp_last_step < ?1)",
        params![step, user],
    )? == 1)
}

/// Removes every recovery code of a user.
pub fn delete_recovery_codes(tx: &Tx, user: UserId) -> Result<(), DbError> {
    tx.conn()?.execute(
        "DELETE FROM recovery_code WHERE user_id = ?1",
        params![user],
    )?;
    Ok(())
}

/// Stores one recovery code's hash.
pub fn insert_recovery_code(tx: &Tx, user: UserId, code_hash: &[u8]) -> Result<(), DbError> {
    tx.conn()?.execute(
        "INSERT INTO recovery_code (user_id, code_hash) VALUES (?1, ?2)",
        params![user, code_hash],
    )?;
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
    Ok(tx.conn()?.execute(
        "UPDATE recovery_code SET used_at = ?1
         WHERE user_id = ?2 AND code_hash = ?3 AND used_at IS NULL",
        params![now, user, code_hash],
    )? > 0)
}

/// Stores a first-password or reset code's hash for a user, valid until `expires_at`.
pub fn insert_reset_code(
    tx: &Tx,
    code_hash: &[u8],
    user: UserId,
    now: i64,
    expires_at: i64,
) -> Result<(), DbError> {
    tx.conn()?.execute(
        "INSERT INTO password_reset (code_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![code_hash, user, now, expires_at],
    )?;
    Ok(())
}

/// The user (and their gemeente) an unused reset code with this hash was issued to, if
/// it is theirs by `username`, still valid at `now`, and they are not disabled.
pub fn reset_code_user(
    tx: &Tx,
    code_hash: &[u8],
    username: &str,
    now: i64,
) -> Result<Option<(UserId, GemeenteId)>, DbError> {
    Ok(tx
        .conn()?
        .query_row(
            "SELECT r.user_id, u.gemeente_id FROM password_reset r JOIN user u ON u.id = r.user_id
             WHERE r.code_hash = ?1 AND u.username = ?2 AND r.used_at IS NULL AND r.expires_at > ?3
               AND u.disabled_at IS NULL",
            params![code_hash, username, now],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Marks every unused reset code of a user used at `now`.
pub fn use_reset_codes(tx: &Tx, user: UserId, now: i64) -> Result<(), DbError> {
    tx.conn()?.execute(
        "UPDATE password_reset SET used_at = ?1 WHERE user_id = ?2 AND used_at IS NULL",
        params![now, user],
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
