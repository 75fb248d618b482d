//! Who is asking: device tokens, web sessions and passwords, and the extractors that make
//! every handler state who may call it.
//!
//! - A field device holds a bearer token (256 random bits). The server keeps only its
//!   BLAKE3 hash, so a copy of the database cannot be used to sync as a device. A fast
//!   hash is right here because the token is random; passwords get argon2id.
//! - A web user logs in with a password (and, for the meldpunt and the admin, a TOTP code:
//!   see [`crate::mfa`]) and gets a `Secure; HttpOnly; SameSite=Strict` session cookie,
//!   named `__Host-avondronde` when the server terminates TLS itself. Sessions end after
//!   [`SESSION_TTL_MS`] at the latest, and a meldpunt session after
//!   [`MELDPUNT_IDLE_MS`] without a request (its unlocked key is forgotten with it).
//! - One way to gate roles: a handler takes [`Authorized<R>`] (API: JSON 401/403) or
//!   [`Page<R>`] (HTML: a redirect to the login or a 403 page), where `R` is one of the
//!   [`roles`]. A handler therefore cannot forget to check, and its signature says who
//!   may call it. A device token on a web endpoint is known but not allowed: 403.
//!   Scope (the gemeente) travels with the identity; a lookup outside it answers 404.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use avondronde_shared::{DeviceId, GemeenteId, Role, UserId};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

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
/// How long a meldpunt session may sit idle before it ends (and its key is forgotten).
pub const MELDPUNT_IDLE_MS: i64 = 30 * 60 * 1000;
/// How long a password-only session has to finish its second factor.
pub const MFA_PENDING_TTL_MS: i64 = 10 * 60 * 1000;
/// `last_seen_at` is written at most this often per session.
const LAST_SEEN_STEP_MS: i64 = 60 * 1000;
/// How long an enrolment code is valid.
pub const ENROLMENT_TTL_MS: i64 = 24 * 3600 * 1000;

/// A fresh random secret of 32 bytes, URL-safe base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A short human-typable enrolment code: 12 characters from an alphabet without look-alikes,
/// shown as e.g. `K7QM-2XPR-W9DA` (about 60 bits; single use and valid for 24 hours).
pub fn new_enrolment_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..12)
        .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect();
    format!(
        "{}-{}-{}",
        chars[0..4].iter().collect::<String>(),
        chars[4..8].iter().collect::<String>(),
        chars[8..12].iter().collect::<String>()
    )
}

/// An enrolment code in the form it was issued in (`K7QM-2XPR-W9DA`), however it was
/// typed or scanned: the QR code carries it without dashes
/// ([`avondronde_shared::enrolment::EnrolInvite`] allows only letters and digits), and
/// people type spaces or leave the dashes out.
pub fn canonical_enrolment_code(code: &str) -> String {
    let plain: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if plain.len() == 12 {
        format!("{}-{}-{}", &plain[0..4], &plain[4..8], &plain[8..12])
    } else {
        code.trim().to_owned()
    }
}

/// The stored form of a token or code.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    blake3::hash(secret.trim().to_ascii_uppercase().as_bytes())
        .as_bytes()
        .to_vec()
}

fn token_hash(token: &str) -> Vec<u8> {
    blake3::hash(token.as_bytes()).as_bytes().to_vec()
}

/// Hashes a password with argon2id.
pub fn hash_password(password: &str) -> Result<String, DbError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| DbError::Domain(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DbError::Domain(e.to_string()))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// An authenticated field device.
#[derive(Debug, Clone)]
pub struct Device {
    /// The device.
    pub id: DeviceId,
    /// The field worker it belongs to.
    pub user: UserId,
    /// Their gemeente: the scope of everything the device sees.
    pub gemeente: GemeenteId,
    /// Their role.
    pub role: Role,
}

/// An authenticated web user (browser or script).
#[derive(Debug, Clone)]
pub struct WebUser {
    /// The user.
    pub id: UserId,
    /// Username (not personal data of a child; shown in the page header).
    pub username: String,
    /// Their gemeente.
    pub gemeente: GemeenteId,
    /// Their role.
    pub role: Role,
    /// The session's hash, to key per-session state such as an unlocked meldpunt key.
    pub session: Vec<u8>,
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The session cookie's name for this server.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.config.tls {
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

/// The session token from the cookie header, if any.
pub fn session_token(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 64)
}

/// The scope of a request bearing a session cookie (by the token's hash).
pub fn session_scope(hash: &[u8]) -> Scope {
    Scope::Route(RouteKind::WebSession, hash.to_vec())
}

/// The scope of a login or a password reset: the gemeente of the user by that name.
pub fn username_scope(username: &str) -> Scope {
    Scope::Route(RouteKind::Username, username.as_bytes().to_vec())
}

/// The scope of an enrolment: the gemeente of the user the code was issued to.
pub fn enrolment_scope(code: &str) -> Scope {
    Scope::Route(
        RouteKind::EnrolmentCode,
        secret_hash(&canonical_enrolment_code(code)),
    )
}

/// What a device token turned out to be.
#[derive(Debug)]
pub enum DeviceLookup {
    /// A device in good standing.
    Active(Device),
    /// A device that was revoked.
    Revoked,
    /// No such token.
    Unknown,
}

/// Looks up a device by its token (one point query on the token's hash; on PostgreSQL
/// one statement without a transaction).
pub async fn device_by_token(state: &AppState, token: &str) -> Result<DeviceLookup, DbError> {
    let row = state.store.device_by_token_hash(token_hash(token)).await?;
    // A phone of a disabled user counts as revoked (disabling revokes every phone), so
    // it answers `device_revoked` and the app wipes its store (issue 10).
    Ok(match row {
        Some(d) if !d.revoked => DeviceLookup::Active(Device {
            id: d.id,
            user: d.user,
            gemeente: d.gemeente,
            role: d.role,
        }),
        Some(_) => DeviceLookup::Revoked,
        None => DeviceLookup::Unknown,
    })
}

impl FromRequestParts<Arc<AppState>> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let device = match device_by_token(state, token).await? {
            DeviceLookup::Active(d) => d,
            DeviceLookup::Revoked => return Err(ApiError::Revoked),
            DeviceLookup::Unknown => return Err(ApiError::Unauthorized),
        };
        if state.limits.device.check_key(&device.id).is_err() {
            return Err(ApiError::TooManyRequests);
        }
        Ok(device)
    }
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
    if idle_expired(user.role, last_seen, now) {
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

/// Whether a session last seen at `last_seen` has been idle too long for `role`.
pub fn idle_expired(role: Role, last_seen: i64, now: i64) -> bool {
    role == Role::Meldpunt && now - last_seen > MELDPUNT_IDLE_MS
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
    let ended = store::sessions::ended(tx, gemeente, now, now - MELDPUNT_IDLE_MS)?;
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

/// A set of roles allowed to call a handler.
pub trait RoleSet: Send + Sync + 'static {
    /// The roles.
    const ROLES: &'static [Role];
}

/// The role sets handlers are gated by.
pub mod roles {
    use super::{Role, RoleSet};

    /// Any web user.
    #[derive(Debug)]
    pub struct AnyWeb;
    impl RoleSet for AnyWeb {
        const ROLES: &'static [Role] = &Role::ALL;
    }

    /// The admin of a gemeente.
    #[derive(Debug)]
    pub struct Admin;
    impl RoleSet for Admin {
        const ROLES: &'static [Role] = &[Role::Admin];
    }

    /// The meldpunt.
    #[derive(Debug)]
    pub struct Meldpunt;
    impl RoleSet for Meldpunt {
        const ROLES: &'static [Role] = &[Role::Meldpunt];
    }

    /// The coordinator.
    #[derive(Debug)]
    pub struct Coordinator;
    impl RoleSet for Coordinator {
        const ROLES: &'static [Role] = &[Role::Coordinator];
    }

    /// Who may read the audit log: the admin and the meldpunt.
    #[derive(Debug)]
    pub struct AuditReaders;
    impl RoleSet for AuditReaders {
        const ROLES: &'static [Role] = &[Role::Admin, Role::Meldpunt];
    }

    /// Field workers (straatcoach, BOA, wijkagent).
    #[derive(Debug)]
    pub struct Field;
    impl RoleSet for Field {
        const ROLES: &'static [Role] = &[Role::Straatcoach, Role::Boa, Role::Wijkagent];
    }
}

/// Why a request was not let through.
#[derive(Debug)]
enum Denied {
    /// No session: 401, or 403 for a device token.
    Nobody,
    /// The second factor is still to come.
    MfaPending,
    /// Logged in with a role that may not do this.
    Role(WebUser),
}

async fn authorize(
    parts: &Parts,
    state: &Arc<AppState>,
    roles: &[Role],
) -> Result<Result<WebUser, Denied>, ApiError> {
    Ok(match current_session(parts, state).await? {
        None => Err(Denied::Nobody),
        Some(s) if s.mfa_pending => Err(Denied::MfaPending),
        Some(s) if !roles.contains(&s.user.role) => Err(Denied::Role(s.user)),
        Some(s) => Ok(s.user),
    })
}

/// 403 for a valid device token (known, but never allowed on a web endpoint), else 401.
pub async fn device_or_unauthorized(parts: &Parts, state: &Arc<AppState>) -> ApiError {
    let Some(token) = bearer(parts) else {
        return ApiError::Unauthorized;
    };
    match device_by_token(state, token).await {
        Ok(DeviceLookup::Active(_)) => ApiError::Forbidden,
        Ok(DeviceLookup::Revoked) => ApiError::Revoked,
        Ok(DeviceLookup::Unknown) => ApiError::Unauthorized,
        Err(e) => e.into(),
    }
}

/// A web user with one of `R`'s roles and a finished login, for the API: otherwise JSON
/// 401 (`mfa_required` while the second factor is still to come) or 403.
#[derive(Debug)]
pub struct Authorized<R: RoleSet>(pub WebUser, pub PhantomData<R>);

impl<R: RoleSet> Deref for Authorized<R> {
    type Target = WebUser;
    fn deref(&self) -> &WebUser {
        &self.0
    }
}

impl<R: RoleSet> FromRequestParts<Arc<AppState>> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match authorize(parts, state, R::ROLES).await? {
            Ok(user) => Ok(Authorized(user, PhantomData)),
            Err(Denied::Nobody) => Err(device_or_unauthorized(parts, state).await),
            Err(Denied::MfaPending) => Err(ApiError::MfaRequired),
            Err(Denied::Role(_)) => Err(ApiError::Forbidden),
        }
    }
}

/// Any web user with a finished login (the same as `Authorized<roles::AnyWeb>`).
impl FromRequestParts<Arc<AppState>> for WebUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Authorized::<roles::AnyWeb>::from_request_parts(parts, state)
            .await
            .map(|a| a.0)
    }
}

/// A web user with one of `R`'s roles and a finished login, for HTML pages: otherwise a
/// redirect to the login (or to its second step), or the 403 page.
#[derive(Debug)]
pub struct Page<R: RoleSet>(pub WebUser, pub PhantomData<R>);

impl<R: RoleSet> Deref for Page<R> {
    type Target = WebUser;
    fn deref(&self) -> &WebUser {
        &self.0
    }
}

impl<R: RoleSet> FromRequestParts<Arc<AppState>> for Page<R> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match authorize(parts, state, R::ROLES).await {
            Ok(Ok(user)) => Ok(Page(user, PhantomData)),
            Ok(Err(Denied::Nobody)) => Err(Redirect::to("/login").into_response()),
            Ok(Err(Denied::MfaPending)) => Err(Redirect::to("/login/code").into_response()),
            Ok(Err(Denied::Role(user))) => Err(crate::web::forbidden(&user)),
            Err(e) => Err(crate::web::failed_page(None, e)),
        }
    }
}

/// Any session, also one whose second factor is still to come: only for finishing the
/// login, logging out and asking who one is.
#[derive(Debug)]
pub struct AnySession(pub Session);

impl FromRequestParts<Arc<AppState>> for AnySession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match current_session(parts, state).await? {
            Some(s) => Ok(AnySession(s)),
            None => Err(device_or_unauthorized(parts, state).await),
        }
    }
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
    /// The login is complete.
    Done,
    /// The login is complete and the user just enrolled: show these recovery codes once.
    Enrolled(Vec<String>),
    /// Wrong code; the session may try again.
    Wrong,
    /// Wrong code too often: the session was ended.
    Ended,
}

/// Finishes a pending session's login with a TOTP or recovery code (or, for a user
/// still enrolling, the first code of the new secret).
pub fn complete_mfa(tx: &Tx, user: &WebUser, code: &str) -> Result<MfaOutcome, DbError> {
    let st = crate::mfa::state(tx, user.id)?;
    let outcome = if st.enabled {
        if crate::mfa::verify(tx, user.id, code)? {
            MfaOutcome::Done
        } else {
            MfaOutcome::Wrong
        }
    } else {
        match crate::mfa::confirm(tx, user.id, code)? {
            Some(codes) => MfaOutcome::Enrolled(codes),
            None => MfaOutcome::Wrong,
        }
    };
    if outcome == MfaOutcome::Wrong {
        let attempts = store::sessions::count_wrong_code(tx, &user.session)?;
        if attempts >= crate::mfa::MAX_ATTEMPTS {
            logout(tx, &user.session)?;
            return Ok(MfaOutcome::Ended);
        }
        return Ok(outcome);
    }
    let now = now_ms();
    store::sessions::finish_mfa(tx, &user.session, now + SESSION_TTL_MS, now)?;
    Ok(outcome)
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

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2r1UQ4b3z3Jc5mSg2zJdU9ZkqkT0lU9xq0c3j9k1Xy8";

/// Why an enrolment failed.
#[derive(Debug, PartialEq, Eq)]
pub enum EnrolError {
    /// No such code.
    Unknown,
    /// Already used.
    Used,
    /// Past its 24 hours.
    Expired,
}

/// Issues a one-time enrolment code for a field user, valid for `ttl_ms`.
pub fn issue_enrolment_code(tx: &Tx, user: UserId, ttl_ms: i64) -> Result<String, DbError> {
    let code = new_enrolment_code();
    let now = now_ms();
    store::devices::insert_enrolment_code(tx, &secret_hash(&code), user, now, now + ttl_ms)?;
    Ok(code)
}

/// Turns an enrolment code into a device; returns the device and its token (shown once).
pub fn enrol(
    tx: &Tx,
    code: &str,
    label: &str,
) -> Result<Result<(DeviceId, String), EnrolError>, DbError> {
    let now = now_ms();
    let code_hash = secret_hash(&canonical_enrolment_code(code));
    let Some(row) = store::devices::enrolment_code(tx, &code_hash)? else {
        return Ok(Err(EnrolError::Unknown));
    };
    if row.used_at.is_some() {
        return Ok(Err(EnrolError::Used));
    }
    if row.expires_at <= now {
        return Ok(Err(EnrolError::Expired));
    }
    let device = DeviceId::new();
    let token = new_secret();
    store::devices::insert(tx, device, row.user, &token_hash(&token), label, now)?;
    store::devices::use_enrolment_code(tx, &code_hash, now, device)?;
    Ok(Ok((device, token)))
}

/// Revokes a device: its token stops working at once. Returns whether it existed.
pub fn revoke_device(tx: &Tx, device: DeviceId) -> Result<bool, DbError> {
    store::devices::revoke(tx, device, now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let phc = hash_password("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_users_cost_a_real_verification() {
        let parsed = PasswordHash::new(DUMMY_HASH).expect("valid PHC string");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
    }

    #[test]
    fn enrolment_codes_are_readable_and_match_case_insensitively() {
        let code = new_enrolment_code();
        assert_eq!(code.len(), 14);
        assert_eq!(secret_hash(&code), secret_hash(&code.to_lowercase()));
        assert_eq!(new_secret().len(), 43, "32 bytes = 256 bits");
    }

    #[test]
    fn an_enrolment_code_from_the_qr_code_or_typed_without_dashes_is_the_same_code() {
        let code = new_enrolment_code();
        let plain = code.replace('-', "");
        assert_eq!(canonical_enrolment_code(&plain), code);
        assert_eq!(canonical_enrolment_code(&plain.to_lowercase()), code);
        let spaced = format!(" {} {} {} ", &plain[0..4], &plain[4..8], &plain[8..12]);
        assert_eq!(canonical_enrolment_code(&spaced), code);
        assert_eq!(canonical_enrolment_code(&code), code);
        // Anything that is not 12 letters and digits stays what it was (and matches nothing).
        assert_eq!(canonical_enrolment_code("ABC"), "ABC");
    }
}
