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
/// How long the code for a new user's first password is valid: a day, like an enrolment
/// code, since the admin hands it over in person.
pub const FIRST_PASSWORD_TTL_MS: i64 = 24 * 3600 * 1000;
/// The longest username.
pub const MAX_USERNAME_CHARS: usize = 64;

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
    /// The input is wrong; the message says how, in Dutch, for the admin.
    #[error("{0}")]
    Input(String),
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
            AdminError::NotFieldUser | AdminError::Input(_) => {
                crate::error::ApiError::Invalid(e.to_string())
            }
            AdminError::Db(e) => e.into(),
        }
    }
}

struct Target {
    id: UserId,
    gemeente: GemeenteId,
    role: Role,
    disabled: bool,
}

fn target(conn: &Connection, caller: &Caller, username: &str) -> Result<Target, AdminError> {
    let row: Option<(String, String, String, bool)> = conn
        .query_row(
            "SELECT id, gemeente_id, role, disabled_at IS NOT NULL FROM user WHERE username = ?1",
            params![username.trim()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let (id, gemeente, role, disabled) = row.ok_or(AdminError::NotFound)?;
    let t = Target {
        id: id.parse().map_err(|_| AdminError::NotFound)?,
        gemeente: gemeente.parse().map_err(|_| AdminError::NotFound)?,
        role: Role::from_code(&role).ok_or(AdminError::NotFound)?,
        disabled,
    };
    if caller.scope.is_some_and(|g| g != t.gemeente) {
        return Err(AdminError::NotFound);
    }
    Ok(t)
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
        &crate::store::Tx::legacy(conn),
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

fn insert_reset_code(conn: &Connection, user: UserId, ttl_ms: i64) -> Result<String, AdminError> {
    let code = auth::new_enrolment_code();
    let now = now_ms();
    conn.execute(
        "INSERT INTO password_reset (code_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![auth::secret_hash(&code), user.to_string(), now, now + ttl_ms],
    )?;
    Ok(code)
}

/// A user to add, as the admin page (or the command line) gives it.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The username (trimmed; 1 to 64 characters, no spaces).
    pub username: String,
    /// The role.
    pub role: Role,
    /// CBS codes of the wijken a coordinator analyses; empty for every other role.
    pub wijken: Vec<String>,
}

/// What adding a user produced.
#[derive(Debug)]
pub struct Added {
    /// The new user.
    pub id: UserId,
    /// For a role that logs in on the web: the one-time code (valid a day) with which they
    /// choose their first password at `/wachtwoord`. Field workers get none; their phone is
    /// enrolled with an enrolment code instead.
    pub first_password_code: Option<String>,
}

fn check_username(username: &str) -> Result<(), AdminError> {
    let name = username.trim();
    if name.is_empty() {
        return Err(AdminError::Input("Vul een gebruikersnaam in.".into()));
    }
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(AdminError::Input(format!(
            "Een gebruikersnaam heeft hoogstens {MAX_USERNAME_CHARS} tekens."
        )));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AdminError::Input(
            "Een gebruikersnaam bevat geen spaties; gebruik bijvoorbeeld een punt (j.jansen)."
                .into(),
        ));
    }
    Ok(())
}

/// Adds a user to a gemeente, all or nothing: the user, a coordinator's wijken, the code
/// for a first password and the audit entry. No password is ever chosen by the admin; the
/// user sets it with the code and sets up the second step at the first login.
///
/// # Errors
/// [`AdminError::Input`] with a Dutch message for an empty, too long or taken username, a
/// coordinator without wijken, wijken for another role, or a wijk of another gemeente;
/// nothing changes then.
pub fn add_user(
    conn: &Connection,
    caller: &Caller,
    gemeente: GemeenteId,
    new: &NewUser,
) -> Result<Added, AdminError> {
    if caller.scope.is_some_and(|g| g != gemeente) {
        return Err(AdminError::NotFound);
    }
    check_username(&new.username)?;
    let name = new.username.trim();
    let taken: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM user WHERE username = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()?;
    if taken.is_some() {
        return Err(AdminError::Input(format!(
            "De gebruikersnaam \u{201c}{name}\u{201d} is al in gebruik; kies een andere."
        )));
    }
    match (new.role, new.wijken.is_empty()) {
        (Role::Coordinator, true) => {
            return Err(AdminError::Input(
                "Kies minstens één wijk voor een coördinator; zonder wijk ziet die niets.".into(),
            ));
        }
        (role, false) if role != Role::Coordinator => {
            return Err(AdminError::Input(
                "Alleen een coördinator krijgt wijken; haal de vinkjes weg of kies de rol coördinator."
                    .into(),
            ));
        }
        _ => {}
    }
    atomically(conn, || {
        let id = crate::setup::add_user(
            &crate::store::Tx::legacy(conn),
            gemeente,
            name,
            new.role,
            None,
        )
        .map_err(|e| match e {
            crate::setup::SetupError::Db(e) => AdminError::Db(e),
            other => AdminError::Input(other.to_string()),
        })?;
        let now = now_ms();
        if new.role == Role::Coordinator {
            crate::hotspot::scope::assign_wijken(
                &crate::store::Tx::legacy(conn),
                name,
                &new.wijken,
                &caller.actor,
                now,
            )
            .map_err(|e| match e {
                DbError::Domain(m) => AdminError::Input(m),
                other => AdminError::Db(other),
            })?;
        }
        let first_password_code = (!new.role.is_field())
            .then(|| insert_reset_code(conn, id, FIRST_PASSWORD_TTL_MS))
            .transpose()?;
        record(
            conn,
            caller,
            gemeente,
            Action::UserAdd,
            format!("gebruiker {id}: {}", new.role.code()),
        )?;
        Ok(Added {
            id,
            first_password_code,
        })
    })
}

/// A user as the admin's list shows it.
#[derive(Debug, Clone)]
pub struct UserSummary {
    /// Username.
    pub username: String,
    /// Role.
    pub role: Option<Role>,
    /// Disabled (no login, devices revoked).
    pub disabled: bool,
    /// Whether a password is set (a new user has none until they use their code).
    pub has_password: bool,
    /// CBS codes of a coordinator's wijken.
    pub wijken: Vec<String>,
    /// Active (not revoked) devices.
    pub devices: i64,
}

/// The users of a gemeente: active first, by role and name.
pub fn users(conn: &Connection, gemeente: GemeenteId) -> Result<Vec<UserSummary>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT u.username, u.role, u.disabled_at IS NOT NULL, u.password_hash IS NOT NULL,
                (SELECT group_concat(code, ', ') FROM
                   (SELECT w.code FROM user_wijk uw JOIN wijk w ON w.id = uw.wijk_id
                    WHERE uw.user_id = u.id ORDER BY w.code)),
                (SELECT COUNT(*) FROM device d WHERE d.user_id = u.id AND d.revoked_at IS NULL)
         FROM user u WHERE u.gemeente_id = ?1
         ORDER BY u.disabled_at IS NOT NULL, u.role, u.username",
    )?;
    let rows = stmt
        .query_map(params![gemeente.to_string()], |r| {
            let wijken: Option<String> = r.get(4)?;
            Ok(UserSummary {
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

/// A phone as the admin's list shows it.
#[derive(Debug, Clone)]
pub struct DeviceSummary {
    /// The device.
    pub id: DeviceId,
    /// Its user's username.
    pub username: String,
    /// The label the phone gave at enrolment.
    pub label: String,
    /// Last sync, unix ms.
    pub last_seen: Option<i64>,
    /// How far the phone's clock was off at its last sync, ms.
    pub offset_ms: Option<i64>,
    /// Revoked.
    pub revoked: bool,
    /// Items and drafts the phone last reported as not yet sent (issue 10).
    pub unsent: Option<i64>,
}

/// The phones of a gemeente's users: active first.
pub fn devices(conn: &Connection, gemeente: GemeenteId) -> Result<Vec<DeviceSummary>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT d.id, u.username, d.label, d.last_seen_at, d.clock_offset_ms, d.revoked_at IS NOT NULL,
                d.outbox_pending
         FROM device d JOIN user u ON u.id = d.user_id WHERE u.gemeente_id = ?1
         ORDER BY d.revoked_at IS NOT NULL, u.username, d.created_at",
    )?;
    let rows = stmt
        .query_map(params![gemeente.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    // A row whose id does not parse is not a device this server made; leave it out.
    Ok(rows
        .into_iter()
        .filter_map(
            |(id, username, label, last_seen, offset_ms, revoked, unsent)| {
                Some(DeviceSummary {
                    id: id.parse().ok()?,
                    username,
                    label,
                    last_seen,
                    offset_ms,
                    revoked,
                    unsent,
                })
            },
        )
        .collect())
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
        if t.disabled {
            return Err(AdminError::Input(
                "Deze gebruiker is uitgeschakeld en krijgt geen aanmeldcode.".into(),
            ));
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
        if caller.actor.id == Some(t.id) {
            return Err(AdminError::Input(
                "U kunt uzelf niet uitschakelen; vraag een andere beheerder.".into(),
            ));
        }
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
        let code = insert_reset_code(conn, t.id, RESET_TTL_MS)?;
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
                &crate::store::Tx::legacy(conn),
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
            &crate::store::Tx::legacy(&conn),
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
            setup::add_user(&crate::store::Tx::legacy(&conn), g, &name, role, None).expect("user");
            assert!(matches!(
                issue_code(&conn, &Caller::cli(), &name),
                Err(AdminError::NotFieldUser)
            ));
        }
        setup::add_user(
            &crate::store::Tx::legacy(&conn),
            g,
            "coach",
            Role::Straatcoach,
            None,
        )
        .expect("user");
        assert!(issue_code(&conn, &Caller::cli(), "coach").is_ok());
    }

    #[test]
    fn a_disabled_field_user_gets_no_enrolment_code() {
        let (_dir, conn, g) = db();
        setup::add_user(
            &crate::store::Tx::legacy(&conn),
            g,
            "coach",
            Role::Straatcoach,
            None,
        )
        .expect("user");
        disable_user(&conn, &Caller::cli(), "coach").expect("disable");
        let codes = |c: &Connection| -> i64 {
            c.query_row("SELECT COUNT(*) FROM enrolment_code", [], |r| r.get(0))
                .expect("count")
        };
        let before = codes(&conn);
        let e = issue_code(&conn, &Caller::cli(), "coach").expect_err("disabled");
        assert!(e.to_string().contains("uitgeschakeld"), "{e}");
        assert_eq!(codes(&conn), before);
    }

    #[test]
    fn a_reset_code_works_once_and_only_for_its_user() {
        let (_dir, conn, g) = db();
        setup::add_user(
            &crate::store::Tx::legacy(&conn),
            g,
            "mp",
            Role::Meldpunt,
            Some("oud-wachtwoord-123"),
        )
        .expect("user");
        setup::add_user(
            &crate::store::Tx::legacy(&conn),
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
