//! A web user's side of authentication: the session cookie, finding and ending sessions,
//! and the login with its password and second factor.

use std::sync::Arc;

use avondronde_shared::{GemeenteId, Role, UserId};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use super::{WebUser, new_secret, token_hash, verify_password};
use crate::db::{DbError, now_ms};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, RouteKind, Scope, Tx};

/// Name of the session cookie over plain HTTP (development, or behind a TLS proxy).
pub const SESSION_COOKIE: &str = "avondronde_session";
/// Name of the session cookie when the server terminates TLS: the `__Host-` prefix makes
/// the browser refuse it unless it is `Secure`, has `Path=/` and no `Domain`, so a
/// sibling subdomain cannot plant one.
pub const TLS_SESSION_COOKIE: &str = "__Host-avondronde";
/// How long a web session lasts at most (absolute timeout).
pub const SESSION_TTL_MS: i64 = 8 * 3600 * 1000;
/// How long a web session may sit idle before it ends (ASVS 7.3.1, NIST's 30 minutes at
/// AAL2): every web role reaches children's data or changes who can. A meldpunt session's
/// unlocked key is forgotten with it.
pub const IDLE_MS: i64 = 30 * 60 * 1000;
/// How long a password-only session has to finish its second factor.
pub const MFA_PENDING_TTL_MS: i64 = 10 * 60 * 1000;
/// `last_seen_at` is written at most this often per session.
const LAST_SEEN_STEP_MS: i64 = 60 * 1000;

/// The session cookie's name for this server.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.config.https() {
        TLS_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The `Set-Cookie` value for a session token.
pub fn session_cookie(state: &AppState, token: &str) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        cookie_name(state),
        SESSION_TTL_MS / 1000
    )
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        cookie_name(state)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("avondronde_session=; Max-Age=0"))
}

/// The value of cookie `name` in the request's headers, if it is there and at most `max`
/// bytes long.
fn cookie_value(headers: &HeaderMap, name: &str, max: usize) -> Option<String> {
    cookie_values(headers, name)
        .next()
        .map(str::to_owned)
        .filter(|v| !v.is_empty() && v.len() <= max)
}

/// Every value of cookie `name` in the request's headers, in the order sent.
fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(move |(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The session token from the cookie header, if any.
pub fn session_token(parts: &Parts, name: &str) -> Option<String> {
    cookie_value(&parts.headers, name, 64)
}

/// Name of the device cookie over plain HTTP: it marks a browser that completed a login,
/// which the login throttle lets through when an account is locked for unknown browsers
/// ([`crate::throttle`]).
pub const DEVICE_COOKIE: &str = "avondronde_device";
/// Name of the device cookie when the server terminates TLS (`__Host-`, as the session's).
pub const TLS_DEVICE_COOKIE: &str = "__Host-avondronde-device";

fn device_cookie_name(state: &AppState) -> &'static str {
    if state.config.https() {
        TLS_DEVICE_COOKIE
    } else {
        DEVICE_COOKIE
    }
}

/// How many accounts one browser's device cookie remembers: a shared office PC on which a
/// few staff log in keeps each of them known to the throttle (attack review rev4, L4).
pub const DEVICE_ENTRIES: usize = 4;

/// Between the entries of a device cookie (a cookie value may not hold a comma).
const ENTRY_SEPARATOR: char = '_';

/// Whether `entry` has the shape of a device entry ([`crate::throttle::Keys::device_cookie`]):
/// 32 hex digits, a dot, 64 hex digits.
fn is_device_entry(entry: &str) -> bool {
    entry.len() == 97
        && entry.bytes().enumerate().all(|(i, b)| {
            if i == 32 {
                b == b'.'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// The device entries the browser sent, newest first (unchecked: the throttle checks them
/// against the account being logged in to). Every device cookie is read, at most four: a
/// cookie planted by a sibling site under the same name, sent first, must not hide the
/// owner's. Each holds up to [`DEVICE_ENTRIES`] entries, one per account.
pub fn device_cookies_of(state: &AppState, headers: &HeaderMap) -> Vec<String> {
    cookie_values(headers, device_cookie_name(state))
        .filter(|v| !v.is_empty() && v.len() <= 98 * DEVICE_ENTRIES)
        .take(4)
        .flat_map(|v| v.split(ENTRY_SEPARATOR).take(DEVICE_ENTRIES))
        .filter(|e| is_device_entry(e))
        .map(str::to_owned)
        .collect()
}

/// The `Set-Cookie` value that marks this browser as one that completed a login as the
/// user of `login`, with the password they have now; set only once the login is complete
/// (second factor included). It keeps the browser's other entries (`sent`, as
/// [`device_cookies_of`] read them) up to [`DEVICE_ENTRIES`] in all, newest first, and
/// drops the one it replaces. Signed with the throttle's `keys`.
pub fn device_cookie(
    state: &AppState,
    keys: &crate::throttle::Keys,
    login: &StoredLogin,
    sent: &[String],
) -> String {
    let (account, credential) = (keys.name_key(&login.username), login.credential());
    let mut entries = vec![keys.device_cookie(account, &credential)];
    for e in sent {
        if entries.len() == DEVICE_ENTRIES {
            break;
        }
        if keys.device(account, &credential, e).is_none() && !entries.contains(e) {
            entries.push(e.clone());
        }
    }
    format!(
        "{}={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        device_cookie_name(state),
        entries.join(&ENTRY_SEPARATOR.to_string()),
        crate::throttle::DEVICE_COOKIE_TTL.as_secs()
    )
}

/// The scope of a request bearing a session cookie (by the token's hash).
pub fn session_scope(hash: &[u8]) -> Scope {
    Scope::Route(RouteKind::WebSession, hash.to_vec())
}

/// The scope of a login or a password reset: the gemeente of the user by that name.
pub fn username_scope(username: &str) -> Scope {
    Scope::Route(RouteKind::Username, username.as_bytes().to_vec())
}

/// A session as found by its cookie.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whose it is.
    pub user: WebUser,
    /// The second factor is still to come: the session may only finish the login.
    pub mfa_pending: bool,
}

/// Finds the request's session, ending it first if it has been idle too long. `None`
/// when there is no valid session.
pub async fn current_session(
    parts: &Parts,
    state: &Arc<AppState>,
) -> Result<Option<Session>, ApiError> {
    let Some(token) = session_token(parts, cookie_name(state)) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let now = now_ms();
    let key = hash.clone();
    let found = state
        .store
        .read(session_scope(&hash), move |tx| {
            store::sessions::live_session(tx, &key, now)
        })
        .await?;
    let found = found.map(|row| {
        (
            WebUser {
                id: row.user,
                username: row.username,
                gemeente: row.gemeente,
                role: row.role,
                session: hash.clone(),
            },
            row.mfa_pending,
            row.last_seen,
        )
    });
    let Some((user, mfa_pending, last_seen)) = found else {
        state.vault.forget(&hash);
        return Ok(None);
    };
    if idle_expired(last_seen, now) {
        end_session(state, hash).await?;
        return Ok(None);
    }
    if now - last_seen >= LAST_SEEN_STEP_MS {
        let key = hash.clone();
        state
            .store
            .write(user.gemeente, move |tx| {
                store::sessions::touch(tx, &key, now)
            })
            .await?;
    }
    Ok(Some(Session { user, mfa_pending }))
}

/// Whether a session last seen at `last_seen` has been idle too long.
pub fn idle_expired(last_seen: i64, now: i64) -> bool {
    now - last_seen > IDLE_MS
}

/// Ends a session: its row and its unlocked meldpunt key.
pub async fn end_session(state: &AppState, hash: Vec<u8>) -> Result<(), DbError> {
    state.vault.forget(&hash);
    state
        .store
        .write(session_scope(&hash), move |tx| logout(tx, &hash))
        .await
}

/// Deletes expired and idle sessions and forgets their meldpunt keys; returns how many
/// ended. The server runs this every minute, gemeente by gemeente.
pub fn sweep_sessions(tx: &Tx, gemeente: GemeenteId, now: i64) -> Result<Vec<Vec<u8>>, DbError> {
    let ended = store::sessions::ended(tx, gemeente, now, now - IDLE_MS)?;
    for h in &ended {
        logout(tx, h)?;
    }
    Ok(ended)
}

/// Every live session's hash (to drop unlocked keys of sessions ended elsewhere, such as
/// by the command line) of a gemeente.
pub fn live_sessions(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<Vec<u8>>, DbError> {
    store::sessions::all(tx, gemeente)
}

/// A user's login as stored, so the password can be checked away from the database.
#[derive(Clone)]
pub struct StoredLogin {
    id: UserId,
    phc: Option<String>,
    gemeente: GemeenteId,
    role: Role,
    username: String,
    totp_enabled: bool,
}

impl std::fmt::Debug for StoredLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredLogin")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("phc", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl StoredLogin {
    /// The gemeente of the user: the scope of the session about to be made.
    pub fn gemeente(&self) -> GemeenteId {
        self.gemeente
    }

    /// The user.
    pub fn id(&self) -> UserId {
        self.id
    }

    /// Whether this login needs a second factor: always for the meldpunt and the admin,
    /// and for anyone who switched it on.
    pub fn needs_mfa(&self) -> bool {
        crate::mfa::required_for(self.role) || self.totp_enabled
    }

    /// A digest of the stored password hash, which changes with every new password (its
    /// salt is new): the login throttle signs a browser's device cookie over it, so that a
    /// password reset also ends what the cookies of the old password could do.
    pub fn credential(&self) -> [u8; 32] {
        *blake3::hash(self.phc.as_deref().unwrap_or_default().as_bytes()).as_bytes()
    }

    /// Whether the second factor is set up (else the user enrols at this login).
    pub fn mfa_enabled(&self) -> bool {
        self.totp_enabled
    }
}

/// Reads the stored login of `username`, if there is such a user and they are not
/// disabled.
pub fn stored_login(tx: &Tx, username: &str) -> Result<Option<StoredLogin>, DbError> {
    Ok(
        store::accounts::login_by_name(tx, username)?.map(|r| StoredLogin {
            id: r.id,
            phc: r.password_hash,
            gemeente: r.gemeente,
            role: r.role,
            username: r.username,
            totp_enabled: r.totp_enabled,
        }),
    )
}

/// Whether `password` opens `stored`. Costs one argon2id verification whether or not the
/// user exists, so timing does not reveal usernames. That is tens of milliseconds of CPU:
/// call it on the bounded argon2 pool, never on the database writer.
pub fn check_password(stored: Option<&StoredLogin>, password: &str) -> bool {
    match stored.and_then(|s| s.phc.as_deref()) {
        Some(phc) => verify_password(password, phc),
        None => {
            let _ = verify_password(password, DUMMY_HASH);
            false
        }
    }
}

/// Starts a session for a login whose password was checked; returns its token and the
/// user. `mfa_pending` sessions last [`MFA_PENDING_TTL_MS`] and can only finish the login.
pub fn create_session(
    tx: &Tx,
    login: &StoredLogin,
    mfa_pending: bool,
) -> Result<(String, WebUser), DbError> {
    let token = new_secret();
    let now = now_ms();
    let session = token_hash(&token);
    let ttl = if mfa_pending {
        MFA_PENDING_TTL_MS
    } else {
        SESSION_TTL_MS
    };
    store::sessions::insert(
        tx,
        &store::sessions::NewSession {
            token_hash: &session,
            user: login.id,
            now,
            expires_at: now + ttl,
            mfa_pending,
        },
    )?;
    let user = WebUser {
        id: login.id,
        username: login.username.clone(),
        gemeente: login.gemeente,
        role: login.role,
        session,
    };
    Ok((token, user))
}

/// What a second-factor attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum MfaOutcome {
    /// The login is complete. The session goes on under this new token; the token of the
    /// password step opens nothing any more (ASVS 7.2.4).
    Done {
        /// The session's new token, for the cookie.
        token: String,
    },
    /// The login is complete and the user just enrolled: show these recovery codes once.
    Enrolled {
        /// The session's new token, for the cookie.
        token: String,
        /// The recovery codes, shown this once.
        recovery_codes: Vec<String>,
    },
    /// Wrong code; the session may try again.
    Wrong,
    /// Wrong code too often: the session was ended.
    Ended,
}

/// Finishes a pending session's login with a TOTP or recovery code (or, for a user
/// still enrolling, the first code of the new secret). On success the session gets a new
/// token. The server limits wrong codes per account as well
/// ([`crate::throttle::LoginThrottle::second_factor_open`]); this counts them per session.
pub fn complete_mfa(tx: &Tx, user: &WebUser, code: &str) -> Result<MfaOutcome, DbError> {
    let st = crate::mfa::state(tx, user.id)?;
    let recovery_codes = if st.enabled {
        crate::mfa::verify(tx, user.id, code)?.then(Vec::new)
    } else {
        crate::mfa::confirm(tx, user.id, code)?
    };
    let Some(recovery_codes) = recovery_codes else {
        let attempts = store::sessions::count_wrong_code(tx, &user.session)?;
        if attempts >= crate::mfa::MAX_ATTEMPTS {
            logout(tx, &user.session)?;
            return Ok(MfaOutcome::Ended);
        }
        return Ok(MfaOutcome::Wrong);
    };
    let token = new_secret();
    let now = now_ms();
    store::sessions::finish_mfa(
        tx,
        &user.session,
        &token_hash(&token),
        now + SESSION_TTL_MS,
        now,
    )?;
    Ok(if st.enabled {
        MfaOutcome::Done { token }
    } else {
        MfaOutcome::Enrolled {
            token,
            recovery_codes,
        }
    })
}

/// Checks a username and password; on success creates a session and returns its token
/// and the user. The session still waits for its second factor when the user needs one
/// (finish it with [`complete_mfa`]). All in one transaction: for tools and tests. The
/// server splits these steps so that the password check never holds up the database
/// writer.
pub fn login(
    tx: &Tx,
    username: &str,
    password: &str,
) -> Result<Option<(String, WebUser)>, DbError> {
    let stored = stored_login(tx, username)?;
    if !check_password(stored.as_ref(), password) {
        return Ok(None);
    }
    stored
        .map(|login| create_session(tx, &login, login.needs_mfa()))
        .transpose()
}

/// Ends a session.
pub fn logout(tx: &Tx, session_hash: &[u8]) -> Result<(), DbError> {
    store::sessions::delete(tx, session_hash)
}

/// Ends every session of a user; returns their hashes (to forget unlocked keys).
pub fn end_user_sessions(tx: &Tx, user: UserId) -> Result<Vec<Vec<u8>>, DbError> {
    store::sessions::delete_of_user_returning(tx, user)
}

/// A valid argon2id hash of no one's password, checked when a username is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2r1UQ4b3z3Jc5mSg2zJdU9ZkqkT0lU9xq0c3j9k1Xy8";

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHash;

    #[test]
    fn the_dummy_hash_parses_so_unknown_users_cost_a_real_verification() {
        let parsed = PasswordHash::new(DUMMY_HASH).expect("valid PHC string");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
    }
}
