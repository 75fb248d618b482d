//! Admin API: enrolment codes and device revocation, scoped to the admin's gemeente.

use std::sync::Arc;

use avondronde_shared::{DeviceId, Role, UserId};
use axum::Json;
use axum::extract::{Path, State};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::auth::{self, ENROLMENT_TTL_MS, WebUser};
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
        (status = 403, description = "Not an admin", body = crate::error::ErrorBody),
        (status = 404, description = "No such field user in this gemeente", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody)))]
pub async fn issue_code(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    ApiJson(req): ApiJson<CodeRequest>,
) -> ApiResult<Json<CodeResponse>> {
    user.require(&[Role::Admin])?;
    let gemeente = user.gemeente.to_string();
    let code = state
        .db
        .write(move |c| {
            let target: Option<(String, String)> = c
                .query_row(
                    "SELECT id, role FROM user WHERE username = ?1 AND gemeente_id = ?2",
                    params![req.username, gemeente],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match target {
                Some((id, role)) if Role::from_code(&role).is_some_and(Role::is_field) => {
                    let id: UserId = id
                        .parse()
                        .map_err(|_| crate::db::DbError::Domain("bad user id".into()))?;
                    Ok(Some(auth::issue_enrolment_code(c, id, ENROLMENT_TTL_MS)?))
                }
                _ => Ok(None),
            }
        })
        .await?
        .ok_or(ApiError::NotFound)?;
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
        (status = 403, description = "Not an admin", body = crate::error::ErrorBody),
        (status = 404, description = "No such device in this gemeente", body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    user: WebUser,
    Path(id): Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    user.require(&[Role::Admin])?;
    let device: DeviceId = id.parse().map_err(|_| ApiError::NotFound)?;
    let gemeente = user.gemeente.to_string();
    let done = state
        .db
        .write(move |c| {
            let in_scope: bool = c.query_row(
                "SELECT COUNT(*) > 0 FROM device d JOIN user u ON u.id = d.user_id
                 WHERE d.id = ?1 AND u.gemeente_id = ?2",
                params![device.to_string(), gemeente],
                |r| r.get(0),
            )?;
            Ok(in_scope && auth::revoke_device(c, device)?)
        })
        .await?;
    if done {
        tracing::info!("device revoked");
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
