//! Admin operations, written once: the web page (`/beheer`), the API
//! (`/api/v1/admin/...`) and the command line (`avondronde-server admin ...`) all call
//! these. Each checks scope (a web admin acts only in their own gemeente; the command
//! line, run by someone with shell access, in any), enforces its rules (an enrolment code
//! is only ever for a field role: a phone can never be enrolled as admin or meldpunt),
//! and writes the audit log in the same transaction as the change.

use std::net::IpAddr;

use avondronde_shared::{DeviceId, GemeenteId, Role, UserId};

use crate::audit::{self, Action, Actor};
use crate::auth;
use crate::db::{DbError, now_ms};
use crate::store::{self, Tx, atomically};

/// How long a password-reset code is valid.
pub const RESET_TTL_MS: i64 = 3600 * 1000;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// How long the code for a new user's first password is valid: a day, like an enrolment
/// code, since the admin hands it over in person.
pub const FIRST_PASSWORD_TTL_MS: i64 = 24 * 3600 * 1000;
/// Why a coordinator without a wijk is refused (adding one, or changing their wijken).
const COORDINATOR_NEEDS_WIJK: &str =
    "Kies minstens één wijk voor een coördinator; zonder wijk ziet die niets.";
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

fn target(tx: &Tx, caller: &Caller, username: &str) -> Result<Target, AdminError> {
    let row = store::accounts::user_by_name(tx, username.trim())?.ok_or(AdminError::NotFound)?;
    let t = Target {
        id: row.id,
        gemeente: row.gemeente,
        role: row.role.ok_or(AdminError::NotFound)?,
        disabled: row.disabled,
    };
    if caller.scope.is_some_and(|g| g != t.gemeente) {
        return Err(AdminError::NotFound);
    }
    Ok(t)
}

/// Writes one admin event to the audit log (in the caller's transaction).
pub(crate) fn record(
    tx: &Tx,
    caller: &Caller,
    gemeente: GemeenteId,
    action: Action,
    detail: String,
) -> Result<(), AdminError> {
    audit::record(
        tx,
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

fn insert_reset_code(tx: &Tx, user: UserId, ttl_ms: i64) -> Result<String, AdminError> {
    let code = auth::new_enrolment_code();
    let now = now_ms();
    store::accounts::insert_reset_code(tx, &auth::secret_hash(&code), user, now, now + ttl_ms)?;
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
    tx: &Tx,
    caller: &Caller,
    gemeente: GemeenteId,
    new: &NewUser,
) -> Result<Added, AdminError> {
    if caller.scope.is_some_and(|g| g != gemeente) {
        return Err(AdminError::NotFound);
    }
    check_username(&new.username)?;
    let name = new.username.trim();
    if store::accounts::username_taken(tx, name)? {
        return Err(AdminError::Input(format!(
            "De gebruikersnaam \u{201c}{name}\u{201d} is al in gebruik; kies een andere."
        )));
    }
    match (new.role, new.wijken.is_empty()) {
        (Role::Coordinator, true) => {
            return Err(AdminError::Input(COORDINATOR_NEEDS_WIJK.into()));
        }
        (role, false) if role != Role::Coordinator => {
            return Err(AdminError::Input(
                "Alleen een coördinator krijgt wijken; haal de vinkjes weg of kies de rol coördinator."
                    .into(),
            ));
        }
        _ => {}
    }
    atomically(tx, || {
        let id =
            crate::setup::add_user(tx, gemeente, name, new.role, None).map_err(|e| match e {
                crate::setup::SetupError::Db(e) => AdminError::Db(e),
                other => AdminError::Input(other.to_string()),
            })?;
        let now = now_ms();
        if new.role == Role::Coordinator {
            crate::hotspot::scope::assign_wijken(tx, name, &new.wijken, &caller.actor, now)
                .map_err(|e| match e {
                    DbError::Domain(m) => AdminError::Input(m),
                    other => AdminError::Db(other),
                })?;
        }
        let first_password_code = (!new.role.is_field())
            .then(|| insert_reset_code(tx, id, FIRST_PASSWORD_TTL_MS))
            .transpose()?;
        record(
            tx,
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
pub use crate::store::accounts::UserListRow as UserSummary;

/// The users of a gemeente: active first, by role and name.
pub fn users(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<UserSummary>, DbError> {
    store::accounts::users_of_gemeente(tx, gemeente)
}

/// A phone as the admin's list shows it.
pub use crate::store::devices::DeviceListRow as DeviceSummary;

/// The phones of a gemeente's users: active first.
pub fn devices(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<DeviceSummary>, DbError> {
    store::devices::of_gemeente(tx, gemeente)
}

/// Issues a one-time enrolment code (24 hours) for a field user's phone.
pub fn issue_code(tx: &Tx, caller: &Caller, username: &str) -> Result<String, AdminError> {
    atomically(tx, || {
        let t = target(tx, caller, username)?;
        if !t.role.is_field() {
            return Err(AdminError::NotFieldUser);
        }
        if t.disabled {
            return Err(AdminError::Input(
                "Deze gebruiker is uitgeschakeld en krijgt geen aanmeldcode.".into(),
            ));
        }
        let code = auth::issue_enrolment_code(tx, t.id, auth::ENROLMENT_TTL_MS)?;
        record(
            tx,
            caller,
            t.gemeente,
            Action::EnrolmentCode,
            format!("gebruiker {}", t.id),
        )?;
        Ok(code)
    })
}

/// Revokes a device: its token stops working at once.
pub fn revoke(tx: &Tx, caller: &Caller, device: DeviceId) -> Result<(), AdminError> {
    atomically(tx, || {
        let gemeente =
            store::devices::active_device_gemeente(tx, device)?.ok_or(AdminError::NotFound)?;
        if caller.scope.is_some_and(|g| g != gemeente) {
            return Err(AdminError::NotFound);
        }
        auth::revoke_device(tx, device)?;
        record(
            tx,
            caller,
            gemeente,
            Action::DeviceRevoke,
            format!("toestel {device}"),
        )?;
        Ok(())
    })
}

fn revoke_all_devices(tx: &Tx, user: UserId) -> Result<usize, DbError> {
    store::devices::revoke_all_of_user(tx, user, now_ms())
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
pub fn disable_user(tx: &Tx, caller: &Caller, username: &str) -> Result<Ended, AdminError> {
    atomically(tx, || {
        let t = target(tx, caller, username)?;
        if caller.actor.id == Some(t.id) {
            return Err(AdminError::Input(
                "U kunt uzelf niet uitschakelen; vraag een andere beheerder.".into(),
            ));
        }
        store::accounts::disable_user(tx, t.id, now_ms())?;
        let ended = Ended {
            sessions: auth::end_user_sessions(tx, t.id)?,
            devices: revoke_all_devices(tx, t.id)?,
        };
        record(
            tx,
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

/// Enables a disabled user again. They log in as before, with their own password and
/// second step and under the same throttle and lock rules; nothing about their login is
/// reset. Their sessions ended and their phones were revoked when they were disabled, and
/// stay so: a field worker's phone needs a new enrolment code.
///
/// # Errors
/// [`AdminError::Input`] when the user is not disabled; nothing changes then.
pub fn enable_user(tx: &Tx, caller: &Caller, username: &str) -> Result<(), AdminError> {
    atomically(tx, || {
        let t = target(tx, caller, username)?;
        if !t.disabled {
            return Err(AdminError::Input(format!(
                "{} is niet uitgeschakeld.",
                username.trim()
            )));
        }
        store::accounts::enable_user(tx, t.id)?;
        record(
            tx,
            caller,
            t.gemeente,
            Action::UserEnable,
            format!("gebruiker {}", t.id),
        )?;
        Ok(())
    })
}

/// Replaces the wijken a coordinator of the caller's gemeente analyses: the same rule and
/// store operation as `admin assign-wijken` ([`crate::hotspot::scope::assign_wijken`],
/// which audits it), after checking that the user is in the caller's gemeente. The web
/// asks for at least one wijk, as when adding a coordinator; only the command line
/// (`--none`) takes every wijk away.
///
/// # Errors
/// [`AdminError::NotFound`] for a user outside the caller's gemeente;
/// [`AdminError::Input`] (Dutch) for no wijk, a user who is not a coordinator, or a wijk of
/// another gemeente. Nothing changes then.
pub fn assign_wijken(
    tx: &Tx,
    caller: &Caller,
    username: &str,
    wijken: &[String],
) -> Result<usize, AdminError> {
    atomically(tx, || {
        let t = target(tx, caller, username)?;
        if t.role != Role::Coordinator {
            return Err(AdminError::Input(
                "Alleen een coördinator krijgt wijken.".into(),
            ));
        }
        if wijken.is_empty() {
            return Err(AdminError::Input(COORDINATOR_NEEDS_WIJK.into()));
        }
        crate::hotspot::scope::assign_wijken(tx, username.trim(), wijken, &caller.actor, now_ms())
            .map_err(|e| match e {
                DbError::Domain(m) => AdminError::Input(m),
                other => AdminError::Db(other),
            })
    })
}

/// Ends every web session of a user (their devices keep working).
pub fn end_sessions(tx: &Tx, caller: &Caller, username: &str) -> Result<Ended, AdminError> {
    atomically(tx, || {
        let t = target(tx, caller, username)?;
        let ended = Ended {
            sessions: auth::end_user_sessions(tx, t.id)?,
            devices: 0,
        };
        record(
            tx,
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
    tx: &Tx,
    caller: &Caller,
    username: &str,
) -> Result<(String, Ended), AdminError> {
    atomically(tx, || {
        let t = target(tx, caller, username)?;
        let code = insert_reset_code(tx, t.id, RESET_TTL_MS)?;
        let ended = Ended {
            sessions: auth::end_user_sessions(tx, t.id)?,
            devices: 0,
        };
        record(
            tx,
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
pub fn reset_mfa(tx: &Tx, caller: &Caller, username: &str) -> Result<Ended, AdminError> {
    atomically(tx, || {
        let t = target(tx, caller, username)?;
        crate::mfa::reset(tx, t.id)?;
        let ended = Ended {
            sessions: auth::end_user_sessions(tx, t.id)?,
            devices: 0,
        };
        record(
            tx,
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
    tx: &Tx,
    username: &str,
    code: &str,
    new_password: &str,
) -> Result<Result<(), RedeemError>, DbError> {
    if new_password.chars().count() < MIN_PASSWORD_CHARS {
        return Ok(Err(RedeemError::TooShort));
    }
    atomically(tx, || {
        let row = store::accounts::reset_code_user(
            tx,
            &auth::secret_hash(code),
            username.trim(),
            now_ms(),
        )?;
        let Some((user, gemeente)) = row else {
            return Ok(Err(RedeemError::BadCode));
        };
        let hash = auth::hash_password(new_password)?;
        store::accounts::set_password_hash(tx, user, &hash)?;
        store::accounts::use_reset_codes(tx, user, now_ms())?;
        store::sessions::delete_of_user(tx, user)?;
        let actor = Actor {
            id: Some(user),
            name: username.trim().to_owned(),
            role: "user".into(),
        };
        audit::record(
            tx,
            &audit::Event {
                gemeente,
                actor: &actor,
                action: Action::PasswordChanged,
                form: None,
                address: None,
                detail: String::new(),
            },
            now_ms(),
        )?;
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
    use crate::store::Direct;

    fn db() -> (tempfile::TempDir, Direct, GemeenteId) {
        let dir = tempfile::tempdir().expect("dir");
        let mut db = Direct::open(&dir.path().join("t.sqlite")).expect("open");
        let g = db
            .transaction(|tx| {
                setup::create_gemeente(
                    tx,
                    "Test",
                    "GM9999",
                    &avondronde_shared::norms::NormSet::rotterdam(),
                )
                .map_err(|e| DbError::Domain(e.to_string()))
            })
            .expect("gemeente");
        (dir, db, g)
    }

    fn add(db: &mut Direct, g: GemeenteId, name: &str, role: Role, password: Option<&str>) {
        db.transaction(|tx| {
            setup::add_user(tx, g, name, role, password).map_err(|e| DbError::Domain(e.to_string()))
        })
        .expect("user");
    }

    /// Runs an admin operation in its own transaction, like the command line.
    fn run<T: Send>(
        db: &mut Direct,
        f: impl FnOnce(&Tx) -> Result<T, AdminError> + Send,
    ) -> Result<T, AdminError> {
        db.transaction(|tx| Ok(f(tx))).expect("db")
    }

    #[test]
    fn an_enrolment_code_is_refused_for_every_non_field_role_even_from_the_command_line() {
        let (_dir, mut db, g) = db();
        for role in [Role::Admin, Role::Meldpunt, Role::Coordinator] {
            let name = format!("x-{}", role.code());
            add(&mut db, g, &name, role, None);
            assert!(matches!(
                run(&mut db, |tx| issue_code(tx, &Caller::cli(), &name)),
                Err(AdminError::NotFieldUser)
            ));
        }
        add(&mut db, g, "coach", Role::Straatcoach, None);
        assert!(run(&mut db, |tx| issue_code(tx, &Caller::cli(), "coach")).is_ok());
    }

    #[test]
    fn a_disabled_field_user_gets_no_enrolment_code() {
        let (dir, mut db, g) = db();
        add(&mut db, g, "coach", Role::Straatcoach, None);
        run(&mut db, |tx| disable_user(tx, &Caller::cli(), "coach")).expect("disable");
        // Counted behind the store's back, as an attacker with a copy would.
        let codes = || -> i64 {
            crate::db::open_connection(&dir.path().join("t.sqlite"))
                .expect("open")
                .query_row("SELECT COUNT(*) FROM enrolment_code", [], |r| r.get(0))
                .expect("count")
        };
        let before = codes();
        let e = run(&mut db, |tx| issue_code(tx, &Caller::cli(), "coach")).expect_err("disabled");
        assert!(e.to_string().contains("uitgeschakeld"), "{e}");
        assert_eq!(codes(), before);
    }

    #[test]
    fn a_reset_code_works_once_and_only_for_its_user() {
        let (_dir, mut db, g) = db();
        add(&mut db, g, "mp", Role::Meldpunt, Some("oud-wachtwoord-123"));
        add(
            &mut db,
            g,
            "ander",
            Role::Meldpunt,
            Some("oud-wachtwoord-123"),
        );
        let (code, _) = run(&mut db, |tx| reset_password(tx, &Caller::cli(), "mp")).expect("reset");
        let mut redeem = |user: &str, password: &str| {
            db.transaction(|tx| redeem_reset(tx, user, &code, password))
                .expect("db")
        };
        assert_eq!(
            redeem("ander", "nieuw-wachtwoord-123"),
            Err(RedeemError::BadCode)
        );
        assert_eq!(redeem("mp", "kort"), Err(RedeemError::TooShort));
        assert_eq!(redeem("mp", "nieuw-wachtwoord-123"), Ok(()));
        assert_eq!(
            redeem("mp", "nog-een-wachtwoord"),
            Err(RedeemError::BadCode)
        );
        let mut login = |password: &str| {
            db.transaction(|tx| auth::login(tx, "mp", password))
                .expect("db")
        };
        assert!(login("nieuw-wachtwoord-123").is_some());
        assert!(login("oud-wachtwoord-123").is_none());
    }
}
