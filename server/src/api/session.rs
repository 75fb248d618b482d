//! Web login for people and scripts: `POST /api/v1/session` sets the session cookie.
//!
//! The meldpunt and the admin (and coordinators who opted in) need a second factor: send
//! `totp` with the password, or finish a password-only session with
//! `POST /api/v1/session/totp`. Until then the session reaches nothing but these routes.
//! A user without a second factor yet gets its secret from
//! `POST /api/v1/session/totp/setup` and confirms it with the first code.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::audit::ClientAddr;
use crate::auth::{self, AnySession, MfaOutcome, StoredLogin, WebUser};
use crate::db::DbError;
use crate::error::ApiError;
use crate::state::AppState;
use crate::throttle::MAX_USERNAME_BYTES;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(login, logout))
        .routes(routes!(me))
        .routes(routes!(totp))
        .routes(routes!(totp_setup))
}

/// Login request.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username (at most 64 bytes).
    #[schema(max_length = 64)]
    pub username: String,
    /// Password.
    pub password: String,
    /// The current code of the authenticator app, or a recovery code.
    #[serde(default)]
    pub totp: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRequest { <redacted> }")
    }
}

/// Who is logged in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// Username.
    pub username: String,
    /// Role code.
    pub role: String,
    /// Gemeente id.
    pub gemeente: String,
    /// `done`, or `pending` while the second factor is still to come.
    #[serde(default)]
    pub mfa: String,
}

impl Me {
    fn new(u: &WebUser, pending: bool) -> Me {
        Me {
            username: u.username.clone(),
            role: u.role.code().to_owned(),
            gemeente: u.gemeente.to_string(),
            mfa: if pending { "pending" } else { "done" }.to_owned(),
        }
    }
}

impl From<&WebUser> for Me {
    fn from(u: &WebUser) -> Self {
        Me::new(u, false)
    }
}

/// A started session.
#[derive(Debug)]
pub struct Started {
    /// The cookie's token.
    pub token: String,
    /// Whose.
    pub user: WebUser,
    /// The second factor is still to come.
    pub mfa_pending: bool,
}

/// Sets the session cookie on a login's answer and, when `complete_as` names the user whose
/// login is now complete (second factor included), a fresh device entry for their current
/// password, kept with the browser's other entries (`headers`' device cookies): this
/// browser is then one the login throttle lets through when the account is locked for
/// unknown ones. The one place the API and the login page set them.
pub async fn set_login_cookies(
    state: &AppState,
    headers: &HeaderMap,
    res: &mut Response,
    token: &str,
    complete_as: Option<&str>,
) {
    let device = match complete_as {
        // Without it (the database failed, or the user was disabled a moment ago) the
        // login still stands; the browser is just not known to the throttle.
        Some(username) => match (
            state.limits.login.keys(&state.store).await,
            stored_login(state, username).await,
        ) {
            (Ok(keys), Ok(Some(l))) => Some(auth::device_cookie(
                state,
                keys,
                &l,
                &auth::device_cookies_of(state, headers),
            )),
            _ => None,
        },
        None => None,
    };
    let cookies = std::iter::once(auth::session_cookie(state, token)).chain(device);
    for cookie in cookies {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// The stored login of `username` (none for a name without an enabled account).
async fn stored_login(state: &AppState, username: &str) -> Result<Option<StoredLogin>, DbError> {
    let lookup = username.to_owned();
    state
        .store
        .read(auth::username_scope(username), move |tx| {
            auth::stored_login(tx, &lookup)
        })
        .await
}

/// Checks the password (and the TOTP code if one is given) and starts a session.
///
/// The username is capped before anything else; the throttle counts by address and by
/// account name (a keyed hash, the same for a name that exists and one that does not),
/// and lets a browser with a valid device cookie for the account (among `device_cookies`) through a lock that
/// holds for unknown browsers; argon2 runs on a bounded pool.
pub async fn start_session(
    state: &Arc<AppState>,
    address: Option<IpAddr>,
    device_cookies: Vec<String>,
    username: String,
    password: String,
    totp: Option<String>,
) -> ApiResult<Started> {
    let name = username.trim().to_owned();
    drop(username);
    if name.len() > MAX_USERNAME_BYTES || password.len() > 1024 {
        return Err(ApiError::BadRequest(format!(
            "gebruikersnaam is te lang (maximaal {MAX_USERNAME_BYTES} tekens)"
        )));
    }
    let address = address.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if state.limits.login.attempt(address).is_err() {
        tracing::warn!(%address, "login refused: too many attempts from this address");
        return Err(ApiError::TooManyRequests);
    }
    let stored = stored_login(state, &name).await?;
    let throttle = &state.limits.login;
    let keys = throttle.keys(&state.store).await?;
    let account = keys.name_key(&name);
    // A device cookie counts only for the password the account has now; a name with no
    // account has no password, and so no device.
    let device = stored.as_ref().and_then(|login| {
        let credential = login.credential();
        device_cookies
            .iter()
            .find_map(|c| keys.device(account, &credential, c))
    });
    if throttle
        .account_open(&state.store, account, address, device)
        .await?
        .is_err()
    {
        tracing::warn!(user = %account, %address, "login refused: account locked for this address");
        return Err(ApiError::TooManyRequests);
    }
    // argon2id takes tens of milliseconds of CPU and 19 MiB: off the async threads, not
    // inside the writer, and only a few at a time.
    let permit = tokio::time::timeout(std::time::Duration::from_secs(10), state.argon2.acquire())
        .await
        .map_err(|_| ApiError::TooManyRequests)?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (ok, stored) = tokio::task::spawn_blocking(move || {
        let ok = auth::check_password(stored.as_ref(), &password);
        (ok, stored)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    drop(permit);
    let login = match (ok, stored) {
        (true, Some(login)) => login,
        _ => {
            throttle
                .failed(&state.store, account, address, device)
                .await?;
            tracing::warn!(user = %account, %address, "login failed");
            return Err(ApiError::Unauthorized);
        }
    };
    let needs_mfa = login.needs_mfa();
    let mfa_enabled = login.mfa_enabled();
    let (token, user) = state
        .store
        .write(login.gemeente(), move |tx| {
            auth::create_session(tx, &login, needs_mfa)
        })
        .await?;
    if needs_mfa
        && mfa_enabled
        && let Some(code) = totp.filter(|c| !c.trim().is_empty())
    {
        let outcome = second_step(state, Some(address), &user, code).await;
        if let Ok(MfaOutcome::Done { token } | MfaOutcome::Enrolled { token, .. }) = outcome {
            return Ok(Started {
                token,
                user,
                mfa_pending: false,
            });
        }
        auth::end_session(state, user.session.clone()).await?;
        outcome?;
        return Err(ApiError::Unauthorized);
    }
    Ok(Started {
        token,
        user,
        mfa_pending: needs_mfa,
    })
}

/// Takes a second-factor code for a pending session (the API's and the login page's
/// second step). Wrong codes count against the account for an hour, across its sessions
/// and addresses, and as failed logins from `address`: logging in again with the password
/// buys no new guesses. Too many, and the step answers 429 until the hour is over.
pub async fn second_step(
    state: &Arc<AppState>,
    address: Option<IpAddr>,
    user: &WebUser,
    code: String,
) -> ApiResult<MfaOutcome> {
    let throttle = &state.limits.login;
    let account = throttle.keys(&state.store).await?.name_key(&user.username);
    if throttle
        .second_factor_open(&state.store, account)
        .await?
        .is_err()
    {
        tracing::warn!(user = %account, "second factor refused: too many wrong codes this hour");
        return Err(ApiError::TooManyRequests);
    }
    if code.len() > 32 {
        // Too long to be any code: not a guess.
        return Ok(MfaOutcome::Wrong);
    }
    let u = user.clone();
    let outcome = state
        .store
        .write(user.gemeente, move |tx| auth::complete_mfa(tx, &u, &code))
        .await?;
    if matches!(outcome, MfaOutcome::Wrong | MfaOutcome::Ended) {
        let address = address.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        throttle
            .second_factor_failed(&state.store, account, address)
            .await?;
        tracing::warn!(user = %account, %address, "wrong second factor");
    }
    Ok(outcome)
}

/// Logs in with username and password (and TOTP code); sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; cookie set. `mfa` says whether the second factor is still to come", body = Me),
        (status = 400, description = "Malformed body or username too long", body = crate::error::ErrorBody),
        (status = 401, description = "Wrong username, password or code", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn login(
    State(state): State<Arc<AppState>>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let device = auth::device_cookies_of(&state, &headers);
    let s = start_session(
        &state,
        address,
        device,
        req.username,
        req.password,
        req.totp,
    )
    .await?;
    tracing::info!(
        role = s.user.role.code(),
        mfa_pending = s.mfa_pending,
        "login"
    );
    let mut res = Json(Me::new(&s.user, s.mfa_pending)).into_response();
    let complete = (!s.mfa_pending).then_some(s.user.username.as_str());
    set_login_cookies(&state, &headers, &mut res, &s.token, complete).await;
    Ok(res)
}

/// A second-factor code.
#[derive(Deserialize, ToSchema)]
pub struct TotpRequest {
    /// The current code of the authenticator app, or a recovery code.
    #[schema(max_length = 32)]
    pub code: String,
}

/// The answer to a finished second factor.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TotpResponse {
    /// Who is logged in.
    pub me: Me,
    /// Recovery codes, only when the second factor was just set up: shown this once.
    pub recovery_codes: Vec<String>,
}

/// Finishes a password-only session with a TOTP or recovery code.
#[utoipa::path(post, path = "/api/v1/session/totp", tag = "session", request_body = TotpRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "Login complete; the session goes on under a new cookie", body = TotpResponse),
        (status = 400, description = "Malformed body", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in, or wrong code", body = crate::error::ErrorBody),
        (status = 403, description = "A device token", body = crate::error::ErrorBody),
        (status = 409, description = "The login is already complete", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 429, description = "Too many wrong codes for this account this hour", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn totp(
    State(state): State<Arc<AppState>>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    AnySession(session): AnySession,
    ApiJson(req): ApiJson<TotpRequest>,
) -> ApiResult<Response> {
    if !session.mfa_pending {
        return Err(ApiError::Conflict("de login is al voltooid".into()));
    }
    let (token, recovery_codes) =
        match second_step(&state, address, &session.user, req.code).await? {
            MfaOutcome::Done { token } => (token, Vec::new()),
            MfaOutcome::Enrolled {
                token,
                recovery_codes,
            } => (token, recovery_codes),
            MfaOutcome::Wrong | MfaOutcome::Ended => return Err(ApiError::Unauthorized),
        };
    let mut res = Json(TotpResponse {
        me: Me::new(&session.user, false),
        recovery_codes,
    })
    .into_response();
    set_login_cookies(
        &state,
        &headers,
        &mut res,
        &token,
        Some(&session.user.username),
    )
    .await;
    Ok(res)
}

/// A new TOTP secret to put in an authenticator app.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TotpSetup {
    /// The secret, base32.
    pub secret: String,
    /// The `otpauth://` URL (what the QR code holds).
    pub url: String,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup { <redacted> }")
    }
}

/// Starts setting up the second factor for a pending session whose user has none yet.
#[utoipa::path(post, path = "/api/v1/session/totp/setup", tag = "session",
    security(("session" = [])),
    responses(
        (status = 200, description = "A secret to confirm with POST /api/v1/session/totp", body = TotpSetup),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "A device token", body = crate::error::ErrorBody),
        (status = 409, description = "The second factor is already set up, or the login complete", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn totp_setup(
    State(state): State<Arc<AppState>>,
    AnySession(session): AnySession,
) -> ApiResult<Json<TotpSetup>> {
    let id = session.user.id;
    let enabled = state
        .store
        .read(session.user.gemeente, move |tx| {
            Ok(crate::mfa::state(tx, id)?.enabled)
        })
        .await?;
    if !session.mfa_pending || enabled {
        return Err(ApiError::Conflict(
            "de tweede stap is al ingesteld; vraag de beheerder om hem te herstellen".into(),
        ));
    }
    let secret = state
        .store
        .write(session.user.gemeente, move |tx| crate::mfa::begin(tx, id))
        .await?;
    Ok(Json(TotpSetup {
        url: secret.url(&session.user.username),
        secret: secret.0,
    }))
}

/// Ends the session.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", security(("session" = [])),
    responses((status = 204, description = "Logged out"),
              (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
              (status = 403, description = "A device token", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn logout(
    State(state): State<Arc<AppState>>,
    AnySession(session): AnySession,
) -> ApiResult<Response> {
    auth::end_session(&state, session.user.session.clone()).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, auth::clear_cookie(&state));
    Ok(res)
}

/// Who is logged in.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", security(("session" = [])),
    responses((status = 200, description = "The logged-in user", body = Me),
              (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
              (status = 403, description = "A device token", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn me(AnySession(session): AnySession) -> Json<Me> {
    Json(Me::new(&session.user, session.mfa_pending))
}
