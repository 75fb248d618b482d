//! Admin API: enrolment codes and device revocation, scoped to the admin's gemeente. The
//! operations themselves live in [`crate::admin`], shared with the web page and the CLI.

use std::sync::Arc;

use avondronde_shared::DeviceId;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::admin::{self, Caller};
use crate::audit::ClientAddr;
use crate::auth::{Authorized, roles};
use crate::error::ApiError;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(issue_code))
        .routes(routes!(revoke))
}

/// Which field user a code is for.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeRequest {
    /// The field user's username.
    pub username: String,
}

/// A fresh one-time enrolment code.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CodeResponse {
    /// The code, e.g. `ABCD-EFGH-JKLM`; single use, valid 24 hours.
    pub code: String,
}

/// Issues a one-time enrolment code for a field user of the admin's gemeente.
#[utoipa::path(post, path = "/api/v1/admin/enrolment-codes", tag = "admin", request_body = CodeRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "Code issued", body = CodeResponse),
        (status = 400, description = "Malformed body", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such field user in this gemeente", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn issue_code(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Admin>,
    ClientAddr(address): ClientAddr,
    ApiJson(req): ApiJson<CodeRequest>,
) -> ApiResult<Json<CodeResponse>> {
    let caller = Caller::web(&user, address);
    let code = state
        .store
        .write(user.gemeente, move |tx| {
            Ok(admin::issue_code(tx, &caller, &req.username))
        })
        .await?
        .map_err(|e| match e {
            // A non-field user is as absent as an unknown one here: the API never says
            // which usernames exist with which role.
            admin::AdminError::NotFieldUser => ApiError::NotFound,
            other => other.into(),
        })?;
    tracing::info!("enrolment code issued");
    Ok(Json(CodeResponse { code }))
}

/// Revokes a device of the admin's gemeente; its token stops working at once.
#[utoipa::path(post, path = "/api/v1/admin/devices/{id}/revoke", tag = "admin",
    params(("id" = String, Path, description = "Device id")),
    security(("session" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such device in this gemeente", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Admin>,
    ClientAddr(address): ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    let device: DeviceId = id.parse().map_err(|_| ApiError::NotFound)?;
    let caller = Caller::web(&user, address);
    state
        .store
        .write(user.gemeente, move |tx| {
            Ok(admin::revoke(tx, &caller, device))
        })
        .await??;
    tracing::info!("device revoked");
    Ok(axum::http::StatusCode::NO_CONTENT)
}
