//! Admin operations, written once: the web page (`/beheer`), the API
//! (`/api/v1/admin/...`) and the command line (`avondronde-server admin ...`) all call
//! these. Each checks scope (a web admin acts only in their own gemeente; the command
//! line, run by someone with shell access, in any), enforces its rules (an enrolment code
//! is only ever for a field role: a phone can never be enrolled as admin or meldpunt),
//! and writes the audit log in the same transaction as the change.

use std::net::IpAddr;

use avondronde_shared::{DeviceId, GemeenteId, Role, UserId};
use rusqlite::{Connection, OptionalExtension, params};

use crate::audit::{self, Action, Actor};
use crate::auth;
use crate::db::{DbError, now_ms};

/// How long a password-reset code is valid.
pub const RESET_TTL_MS: i64 = 3600 * 1000;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Who asks, and where they may act.
#[derive(Debug, Clone)]
pub struct Caller {
    /// For the audit log.
    pub actor: Actor,
    /// The gemeente they may act in; `None` for the command line (any).
    pub scope: Option<GemeenteId>,
    /// Their address, if known.
    pub address: Option<IpAddr>,
}

impl Caller {
    /// A web admin, limited to their gemeente.
    pub fn web(user: &auth::WebUser, address: Option<IpAddr>) -> Caller {
        Caller {
            actor: Actor::user(user),
            scope: Some(user.gemeente),
            address,
        }
    }

    /// The command line.
    pub fn cli() -> Caller {
        Caller {
            actor: Actor::cli(),
            scope: None,
            address: None,
        }
    }
}

/// Why an admin operation was refused. The messages are Dutch, for the admin.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No such user or device, or not in the caller's gemeente (indistinguishable).
    #[error("niet gevonden (of niet in uw gemeente)")]
    NotFound,
    /// An enrolment code for someone who is not a field worker.
    #[error(
        "alleen veldwerkers (straatcoach, BOA, wijkagent) krijgen een aanmeldcode; een telefoon wordt nooit als beheerder of meldpunt aangemeld"
    )]
    NotFieldUser,
    /// The store failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for AdminError {
    fn from(e: rusqlite::Error) -> Self {
        AdminError::Db(e.into())
    }
}

impl From<AdminError> for crate::error::ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound => crate::error::ApiError::NotFound,
            AdminError::NotFieldUser => crate::error::ApiError::Invalid(e.to_string()),
            AdminError::Db(e) => e.into(),
        }
    }
}

struct Target {
    id: UserId,
    gemeente: GemeenteId,
    role: Role,
}

fn target(conn: &Connection, caller: &Caller, username: &str) -> Result<Target, AdminError> {
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT id, gemeente_id, role FROM user WHERE username = ?1",
            params![username.trim()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (id, gemeente, role) = row.ok_or(AdminError::NotFound)?;
    let t = Target {
        id: id.parse().map_err(|_| AdminError::NotFound)?,
        gemeente: gemeente.parse().map_err(|_| AdminError::NotFound)?,
        role: Role::from_code(&role).ok_or(AdminError::NotFound)?,
    };
    if caller.scope.is_some_and(|g| g != t.gemeente) {
        return Err(AdminError::NotFound);
    }
    Ok(t)
}

/// [`atomically`] for any error type that a storage error converts into (the rules
/// module has its own).
pub(crate) fn atomically_with<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    conn.execute_batch("SAVEPOINT admin_op")?;
    match f() {
        Ok(v) => {
            conn.execute_batch("RELEASE admin_op")?;
            Ok(v)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO admin_op; RELEASE admin_op")?;
            Err(e)
        }
    }
}

/// Runs `f` all-or-nothing in a savepoint, which works both on its own (the command
/// line) and inside the database writer's transaction (the server).
fn atomically<T>(
    conn: &Connection,
    f: impl FnOnce() -> Result<T, AdminError>,
) -> Result<T, AdminError> {
    conn.execute_batch("SAVEPOINT admin_op")?;
    match f() {
        Ok(v) => {
            conn.execute_batch("RELEASE admin_op")?;
            Ok(v)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO admin_op; RELEASE admin_op")?;
            Err(e)
        }
    }
}

/// Writes one admin event to the audit log (in the caller's transaction).
pub(crate) fn record(
    conn: &Connection,
    caller: &Caller,
    gemeente: GemeenteId,
    action: Action,
    detail: String,
) -> Result<(), AdminError> {
    audit::record(
        conn,
        &audit::Event {
            gemeente,
            actor: &caller.actor,
            action,
            form: None,
            address: caller.address,
            detail,
        },
        now_ms(),
    )?;
    Ok(())
}

/// Issues a one-time enrolment code (24 hours) for a field user's phone.
pub fn issue_code(
    conn: &Connection,
    caller: &Caller,
    username: &str,
) -> Result<String, AdminError> {
    atomically(conn, || {
        let t = target(conn, caller, username)?;
        if !t.role.is_field() {
            return Err(AdminError::NotFieldUser);
        }
        let code = auth::issue_enrolment_code(conn, t.id, auth::ENROLMENT_TTL_MS)?;
        record(
            conn,
            caller,
            t.gemeente,
            Action::EnrolmentCode,
            format!("gebruiker {}", t.id),
        )?;
        Ok(code)
    })
}

/// Revokes a device: its token stops working at once.
pub fn revoke(conn: &Connection, caller: &Caller, device: DeviceId) -> Result<(), AdminError> {
    atomically(conn, || {
        let gemeente: Option<String> = conn
            .query_row(
                "SELECT u.gemeente_id FROM device d JOIN user u ON u.id = d.user_id
                 WHERE d.id = ?1 AND d.revoked_at IS NULL",
                params![device.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let gemeente: GemeenteId = gemeente
            .and_then(|g| g.parse().ok())
            .ok_or(AdminError::NotFound)?;
        if caller.scope.is_some_and(|g| g != gemeente) {
            return Err(AdminError::NotFound);
        }
        auth::revoke_device(conn, device)?;
        record(
            conn,
            caller,
            gemeente,
            Action::DeviceRevoke,
            format!("toestel {device}"),
        )?;
        Ok(())
    })
}

fn revoke_all_devices(conn: &Connection, user: UserId) -> Result<usize, DbError> {
    Ok(conn.execute(
        "UPDATE device SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
        params![now_ms(), user.to_string()],
    )?)
}

/// What ending someone's access did.
#[derive(Debug, Default)]
pub struct Ended {
    /// The hashes of the sessions that ended (the caller forgets their unlocked keys).
    pub sessions: Vec<Vec<u8>>,
    /// How many devices were revoked.
    pub devices: usize,
}

/// Disables a user: no more logins, every session ends and every device is revoked, at
/// once.
pub fn disable_user(
    conn: &Connection,
    caller: &Caller,
    username: &str,
) -> Result<Ended, AdminError> {
    atomically(conn, || {
        let t = target(conn, caller, username)?;
        conn.execute(
            "UPDATE user SET disabled_at = COALESCE(disabled_at, ?1) WHERE id = ?2",
            params![now_ms(), t.id.to_string()],
        )?;
        let ended = Ended {
            sessions: auth::end_user_sessions(conn, t.id)?,
            devices: revoke_all_devices(conn, t.id)?,
        };
        record(
            conn,
            caller,
            t.gemeente,
            Action::UserDisable,
            format!(
                "gebruiker {}: {} sessies beëindigd, {} toestellen ingetrokken",
                t.id,
                ended.sessions.len(),
                ended.devices
            ),
        )?;
        Ok(ended)
    })
}

/// Ends every web session of a user (their devices keep working).
pub fn end_sessions(
    conn: &Connection,
    caller: &Caller,
    username: &str,
) -> Result<Ended, AdminError> {
    atomically(conn, || {
        let t = target(conn, caller, username)?;
        let ended = Ended {
            sessions: auth::end_user_sessions(conn, t.id)?,
            devices: 0,
        };
        record(
            conn,
            caller,
            t.gemeente,
            Action::SessionsEnd,
            format!(
                "gebruiker {}: {} sessies beëindigd",
                t.id,
                ended.sessions.len()
            ),
        )?;
        Ok(ended)
    })
}

/// Issues a one-time password-reset code (valid an hour) and ends the user's sessions.
/// The admin hands the code over; the user chooses a new password with it at
/// `/wachtwoord`. No password is ever sent.
pub fn reset_password(
    conn: &Connection,
    caller: &Caller,
    username: &str,
) -> Result<(String, Ended), AdminError> {
    atomically(conn, || {
        let t = target(conn, caller, username)?;
        let code = auth::new_enrolment_code();
        let now = now_ms();
        conn.execute(
            "INSERT INTO password_reset (code_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![auth::secret_hash(&code), t.id.to_string(), now, now + RESET_TTL_MS],
        )?;
        let ended = Ended {
            sessions: auth::end_user_sessions(conn, t.id)?,
            devices: 0,
        };
        record(
            conn,
            caller,
            t.gemeente,
            Action::PasswordReset,
            format!("gebruiker {}", t.id),
        )?;
        Ok((code, ended))
    })
}

/// Switches a user's second factor off (a lost phone); they set it up again at their
/// next login. Their sessions end.
pub fn reset_mfa(conn: &Connection, caller: &Caller, username: &str) -> Result<Ended, AdminError> {
    atomically(conn, || {
        let t = target(conn, caller, username)?;
        crate::mfa::reset(conn, t.id)?;
        let ended = Ended {
            sessions: auth::end_user_sessions(conn, t.id)?,
            devices: 0,
        };
        record(
            conn,
            caller,
            t.gemeente,
            Action::MfaReset,
            format!("gebruiker {}", t.id),
        )?;
        Ok(ended)
    })
}

/// Why a password could not be set with a reset code.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedeemError {
    /// Unknown, used or expired code, or a code for someone else.
    #[error(
        "deze herstelcode is onbekend, al gebruikt of verlopen; vraag de beheerder om een nieuwe"
    )]
    BadCode,
    /// The new password is too short.
    #[error("het nieuwe wachtwoord moet minstens 12 tekens hebben")]
    TooShort,
}

/// Sets a new password with a one-time reset code.
pub fn redeem_reset(
    conn: &Connection,
    username: &str,
    code: &str,
    new_password: &str,
) -> Result<Result<(), RedeemError>, DbError> {
    if new_password.chars().count() < MIN_PASSWORD_CHARS {
        return Ok(Err(RedeemError::TooShort));
    }
    atomically(conn, || {
        let row: Option<(String, String)> = conn
            .query_row(
                "SELECT r.user_id, u.gemeente_id FROM password_reset r JOIN user u ON u.id = r.user_id
                 WHERE r.code_hash = ?1 AND u.username = ?2 AND r.used_at IS NULL AND r.expires_at > ?3
                   AND u.disabled_at IS NULL",
                params![auth::secret_hash(code), username.trim(), now_ms()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((user, gemeente)) = row else {
            return Ok(Err(RedeemError::BadCode));
        };
        let hash = auth::hash_password(new_password)?;
        conn.execute(
            "UPDATE user SET password_hash = ?1 WHERE id = ?2",
            params![hash, user],
        )?;
        conn.execute(
            "UPDATE password_reset SET used_at = ?1 WHERE user_id = ?2 AND used_at IS NULL",
            params![now_ms(), user],
        )?;
        conn.execute("DELETE FROM web_session WHERE user_id = ?1", params![user])?;
        if let Ok(g) = gemeente.parse() {
            let actor = Actor {
                id: user.parse().ok(),
                name: username.trim().to_owned(),
                role: "user".into(),
            };
            audit::record(
                conn,
                &audit::Event {
                    gemeente: g,
                    actor: &actor,
                    action: Action::PasswordChanged,
                    form: None,
                    address: None,
                    detail: String::new(),
                },
                now_ms(),
            )?;
        }
        Ok(Ok(()))
    })
    .map_err(|e| match e {
        AdminError::Db(e) => e,
        other => DbError::Domain(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup;

    fn db() -> (tempfile::TempDir, Connection, GemeenteId) {
        let dir = tempfile::tempdir().expect("dir");
        let conn = crate::db::open_connection(&dir.path().join("t.sqlite")).expect("open");
        let g = setup::create_gemeente(
            &conn,
            "Test",
            "GM9999",
            &avondronde_shared::norms::NormSet::rotterdam(),
        )
        .expect("gemeente");
        (dir, conn, g)
    }

    #[test]
    fn an_enrolment_code_is_refused_for_every_non_field_role_even_from_the_command_line() {
        let (_dir, conn, g) = db();
        for role in [Role::Admin, Role::Meldpunt, Role::Coordinator] {
            let name = format!("x-{}", role.code());
            setup::add_user(&conn, g, &name, role, None).expect("user");
            assert!(matches!(
                issue_code(&conn, &Caller::cli(), &name),
                Err(AdminError::NotFieldUser)
            ));
        }
        setup::add_user(&conn, g, "coach", Role::Straatcoach, None).expect("user");
        assert!(issue_code(&conn, &Caller::cli(), "coach").is_ok());
    }

    #[test]
    fn a_reset_code_works_once_and_only_for_its_user() {
        let (_dir, conn, g) = db();
        setup::add_user(&conn, g, "mp", Role::Meldpunt, Some("oud-wachtwoord-123")).expect("user");
        setup::add_user(
            &conn,
            g,
            "ander",
            Role::Meldpunt,
            Some("oud-wachtwoord-123"),
        )
        .expect("user");
        let (code, _) = reset_password(&conn, &Caller::cli(), "mp").expect("reset");
        assert_eq!(
            redeem_reset(&conn, "ander", &code, "nieuw-wachtwoord-123").expect("db"),
            Err(RedeemError::BadCode)
        );
        assert_eq!(
            redeem_reset(&conn, "mp", &code, "kort").expect("db"),
            Err(RedeemError::TooShort)
        );
        assert_eq!(
            redeem_reset(&conn, "mp", &code, "nieuw-wachtwoord-123").expect("db"),
            Ok(())
        );
        assert_eq!(
            redeem_reset(&conn, "mp", &code, "nog-een-wachtwoord").expect("db"),
            Err(RedeemError::BadCode)
        );
        assert!(
            auth::login(&conn, "mp", "nieuw-wachtwoord-123")
                .expect("db")
                .is_some()
        );
        assert!(
            auth::login(&conn, "mp", "oud-wachtwoord-123")
                .expect("db")
                .is_none()
        );
    }
}
