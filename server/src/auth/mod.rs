//! Who is asking: device tokens, web sessions and passwords, and the extractors that make
//! every handler state who may call it.
//!
//! - A field device holds a bearer token (256 random bits). The server keeps only its
//!   BLAKE3 hash, so a copy of the database cannot be used to sync as a device. A fast
//!   hash is right here because the token is random; passwords get argon2id.
//! - A web user logs in with a password (and, for the meldpunt and the admin, a TOTP code:
//!   see [`crate::mfa`]) and gets a `Secure; HttpOnly; SameSite=Strict` session cookie,
//!   named `__Host-avondronde` when the server terminates TLS itself. Sessions end after
//!   [`SESSION_TTL_MS`] at the latest, and after [`IDLE_MS`] without a request (a
//!   meldpunt session's unlocked key is forgotten with it). A session that completes
//!   its second factor gets a new token.
//! - One way to gate roles: a handler takes [`Authorized<R>`] (API: JSON 401/403) or
//!   [`Page<R>`] (HTML: a redirect to the login or a 403 page), where `R` is one of the
//!   [`roles`]. A handler therefore cannot forget to check, and its signature says who
//!   may call it. A device token on a web endpoint is known but not allowed: 403.
//!   Scope (the gemeente) travels with the identity; a lookup outside it answers 404.
//!
//! The device side (tokens, enrolment) is in `device.rs`, the web side (cookies, sessions,
//! logins and their second factor) in `session.rs`; this module holds what both share: the
//! secrets and their hashes, who is asking, and the gates.

mod device;
mod session;

pub use device::{
    DeviceLookup, ENROLMENT_TTL_MS, EnrolError, canonical_enrolment_code, device_by_token, enrol,
    enrolment_scope, issue_enrolment_code, new_enrolment_code, revoke_device,
};
pub use session::{
    DEVICE_COOKIE, DEVICE_ENTRIES, IDLE_MS, MFA_PENDING_TTL_MS, MfaOutcome, SESSION_COOKIE,
    SESSION_TTL_MS, Session, StoredLogin, TLS_DEVICE_COOKIE, TLS_SESSION_COOKIE, check_password,
    clear_cookie, complete_mfa, cookie_name, create_session, current_session, device_cookie,
    device_cookies_of, end_session, end_user_sessions, idle_expired, live_sessions, login, logout,
    session_cookie, session_scope, session_token, stored_login, sweep_sessions, username_scope,
};

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use avondronde_shared::{DeviceId, GemeenteId, Role, UserId};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::db::DbError;
use crate::error::ApiError;
use crate::state::AppState;

/// A fresh random secret of 32 bytes, URL-safe base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token or code.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    blake3::hash(secret.trim().to_ascii_uppercase().as_bytes())
        .as_bytes()
        .to_vec()
}

/// The stored form of a bearer token or session token (as given: both are random).
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

/// Whether `password` matches the argon2id hash `phc` (false for a malformed hash).
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

/// The bearer token of the request, if any.
fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
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
}
