//! The one error type of the HTTP API. Every error answers JSON `{"code", "message"}`;
//! the details of a 5xx go to the log (without personal data), never to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbError;

/// The JSON body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `unauthorized`, `not_found`, `invalid_body`.
    pub code: String,
    /// Human message (Dutch where a field worker may see it).
    pub message: String,
}

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or invalid credentials.
    #[error("niet ingelogd of toegang ingetrokken")]
    Unauthorized,
    /// 401: the password was right but the second factor (TOTP) is still to come.
    #[error("voer eerst de code uit uw authenticator-app in (POST /api/v1/session/totp)")]
    MfaRequired,
    /// 401: the device was revoked; it must stop syncing and wipe its token.
    #[error("dit toestel is ingetrokken; meld het opnieuw aan")]
    Revoked,
    /// 403: authenticated but the role may not do this.
    #[error("deze rol mag dit niet")]
    Forbidden,
    /// 404: does not exist, or not in the caller's scope (indistinguishable on purpose).
    #[error("niet gevonden")]
    NotFound,
    /// 409: conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 410: an enrolment code that was used or expired.
    #[error("{0}")]
    Gone(String),
    /// 422: a value broke a rule; the message says which and what is allowed.
    #[error("{0}")]
    Invalid(String),
    /// 426: the app speaks a protocol version this server no longer accepts.
    #[error("deze app is te oud voor de server; werk de app bij. Er gaat niets verloren.")]
    AppTooOld,
    /// 429: slow down.
    #[error("te veel verzoeken; probeer het over een minuut opnieuw")]
    TooManyRequests,
    /// 503: every database connection is busy (the pool's wait ran out). Nothing was
    /// stored or changed; the client tries again after [`RETRY_AFTER_SECS`] seconds, as the
    /// `Retry-After` header says.
    #[error(
        "de server is even te druk; probeer het over een paar seconden opnieuw. Er is niets \
         verloren gegaan."
    )]
    Unavailable,
    /// 500: our fault; details only in the log.
    #[error("internal: {0}")]
    Internal(String),
}

/// How many seconds a client waits before it tries again after a 503 (the `Retry-After`
/// header): long enough for a burst to drain from the pool, short enough that a phone's
/// sync is hardly delayed.
pub const RETRY_AFTER_SECS: u32 = 5;

impl ApiError {
    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::Revoked | ApiError::MfaRequired => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::AppTooOld => StatusCode::UPGRADE_REQUIRED,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Revoked => "device_revoked",
            ApiError::MfaRequired => "mfa_required",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Gone(_) => "gone",
            ApiError::Invalid(_) => "invalid",
            ApiError::AppTooOld => "app_too_old",
            ApiError::TooManyRequests => "too_many_requests",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        // Text with a NUL character: SQLite keeps it, PostgreSQL cannot store it. It is
        // never a valid name, code or message, so it is the caller's input that is wrong.
        if let DbError::Postgres(pg) = &e
            && pg.code() == Some(&::postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE)
        {
            return ApiError::BadRequest(
                "De invoer bevat een ongeldig teken (NUL); verwijder het en probeer opnieuw."
                    .into(),
            );
        }
        // No connection could be had in time: the database is busy, not broken. The
        // client is told to come back, and nothing of the request was done.
        if let DbError::Pool(_) | DbError::Busy(_) = &e {
            tracing::warn!(error = %e, "database pool exhausted; answering 503");
            return ApiError::Unavailable;
        }
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "interne fout; probeer het later opnieuw".to_owned()
            }
            other => other.to_string(),
        };
        let mut res = (
            self.status_code(),
            Json(ErrorBody {
                code: self.code().to_owned(),
                message,
            }),
        )
            .into_response();
        if let ApiError::Unavailable = self {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_SECS),
            );
        }
        res
    }
}

/// A JSON error response for the given status, for middleware that has no `ApiError`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            code: code.to_owned(),
            message: message.to_owned(),
        }),
    )
        .into_response()
}
