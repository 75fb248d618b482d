//! Web login for people and scripts: `POST /api/v1/session` sets the session cookie.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::auth::{self, SESSION_COOKIE, WebUser};
use crate::error::ApiError;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(login, logout))
        .routes(routes!(me))
}

/// Login request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
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
}

impl From<&WebUser> for Me {
    fn from(u: &WebUser) -> Self {
        Me {
            username: u.username.clone(),
            role: u.role.code().to_owned(),
            gemeente: u.gemeente.to_string(),
        }
    }
}

/// The `Set-Cookie` value for a session token.
pub fn session_cookie(token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        auth::SESSION_TTL_MS / 1000
    )
}

/// Checks the password and starts a session, logged in with a secure cookie.
pub async fn start_session(
    state: &Arc<AppState>,
    username: String,
    password: String,
) -> ApiResult<(String, WebUser)> {
    let key = username.trim().to_lowercase();
    if state.limits.login.check_key(&key).is_err() {
        return Err(ApiError::TooManyRequests);
    }
    let name = username.trim().to_owned();
    let stored = state.db.read(move |c| auth::stored_login(c, &name)).await?;
    // argon2id takes tens of milliseconds of CPU: off the async threads, and not inside
    // the writer, where it would hold up every device's push.
    let login = tokio::task::spawn_blocking(move || {
        auth::check_password(stored.as_ref(), &password)
            .then_some(stored)
            .flatten()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .ok_or(ApiError::Unauthorized)?;
    let (token, user) = state
        .db
        .write(move |c| auth::create_session(c, &login))
        .await?;
    Ok((token, user))
}

/// Logs in with username and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; cookie set", body = Me),
        (status = 400, description = "Malformed body", body = crate::error::ErrorBody),
        (status = 401, description = "Wrong username or password", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let (token, user) = start_session(&state, req.username, req.password).await?;
    tracing::info!(role = user.role.code(), "login");
    let mut res = Json(Me::from(&user)).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&session_cookie(&token))
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(res)
}

/// Ends the session.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", security(("session" = [])),
    responses((status = 204, description = "Logged out"),
              (status = 401, description = "Not logged in", body = crate::error::ErrorBody)))]
pub async fn logout(State(state): State<Arc<AppState>>, user: WebUser) -> ApiResult<Response> {
    let hash = user.session.clone();
    state.vault.forget(&hash);
    state.db.write(move |c| auth::logout(c, &hash)).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "avondronde_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(res)
}

/// Who is logged in.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", security(("session" = [])),
    responses((status = 200, description = "The logged-in user", body = Me),
              (status = 401, description = "Not logged in", body = crate::error::ErrorBody)))]
pub async fn me(user: WebUser) -> Json<Me> {
    Json(Me::from(&user))
}
