//! The care-form API for the meldpunt's scripts: list, open and handle forms, and unlock
//! or lock the meldpunt key for the session. Same rules as the inbox page (it calls the
//! same functions): only a meldpunt user of the form's gemeente gets through, every other
//! role and a device token get 403, and ids of other gemeenten answer 404.

use std::sync::Arc;

use age::secrecy::SecretString;
use avondronde_shared::CareFormId;
use avondronde_shared::care::CareStatus;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::inbox::{self, Clock, FormRow, Handling, KnownTo};
use super::keys::OpenError;
use crate::api::{ApiJson, ApiResult};
use crate::audit::ClientAddr;
use crate::auth::{Authorized, roles};
use crate::error::ApiError;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(set_status))
        .routes(routes!(unlock))
        .routes(routes!(lock))
}

/// A care form as listed: routing and handling data, no content.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CareFormSummary {
    /// Form id.
    #[schema(value_type = String, format = Uuid)]
    pub id: CareFormId,
    /// Server receipt (the start of the 48-hour clock).
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
    /// Receipt + 48 hours.
    #[schema(value_type = String, format = DateTime)]
    pub deadline: Timestamp,
    /// The deadline in Europe/Amsterdam, `dd-mm-jjjj HH:MM`.
    pub deadline_local: String,
    /// `overdue`, `running` or `stopped` (known to care, visit planned or handled).
    pub clock: String,
    /// Minutes to the deadline while the clock runs; negative when overdue.
    pub minutes_left: Option<i64>,
    /// Wijk name.
    pub wijk: Option<String>,
    /// The reporter's role code.
    pub reporter_role: String,
    /// Age band code (`0-5`, `6-9`, …).
    pub age_band: Option<String>,
    /// Status code.
    pub status: String,
    /// `bjz`, `veilig_thuis`, `wijkteam` or `onbekend`; absent until checked.
    pub known_to: Option<String>,
    /// The planned home visit.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub visit_at: Option<Timestamp>,
    /// The feedback message to the reporter.
    pub message: Option<String>,
    /// Earlier forms about the same child (by keyed pseudonym), oldest first.
    #[schema(value_type = Vec<String>)]
    pub earlier_forms: Vec<CareFormId>,
}

impl CareFormSummary {
    fn from_row(r: &FormRow, now: Timestamp) -> CareFormSummary {
        let (clock, minutes_left) = match r.clock(now) {
            Clock::Overdue(d) => ("overdue", Some(-(d.as_secs() / 60))),
            Clock::Running(d) => ("running", Some(d.as_secs() / 60)),
            Clock::Stopped => ("stopped", None),
        };
        CareFormSummary {
            id: r.id,
            received_at: r.received_at,
            deadline: r.deadline(),
            deadline_local: inbox::format_local(r.deadline()),
            clock: clock.into(),
            minutes_left,
            wijk: r.wijk.clone(),
            reporter_role: r.reporter_role.clone(),
            age_band: r.age_band.map(|b| b.code().to_owned()),
            status: r.status.code().to_owned(),
            known_to: r.known_to.map(|k| k.code().to_owned()),
            visit_at: r.visit_at,
            message: r.message.clone(),
            earlier_forms: r.earlier.clone(),
        }
    }
}

/// The inbox.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CareFormList {
    /// Whether this session has the meldpunt key unlocked (needed to open forms).
    pub unlocked: bool,
    /// Forms, most urgent first.
    pub forms: Vec<CareFormSummary>,
}

/// An opened form.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CareFormDetail {
    /// Routing and handling data.
    pub form: CareFormSummary,
    /// Later forms about the same child.
    #[schema(value_type = Vec<String>)]
    pub later_forms: Vec<CareFormId>,
    /// The decrypted zorgformulier: child_name, birth, address, reception,
    /// siblings_present, parents_reaction, parents_informed, signals, narrative.
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// The handling of a form. Replaces the whole handling state: send the current values
/// of the fields you do not change. A status must be backed by the other fields, or the
/// whole request is refused (422) and nothing changes: `visit_planned` needs `visit_at`,
/// and `known_to_care` needs `known_to` `bjz`, `veilig_thuis` or `wijkteam`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HandlingRequest {
    /// `received`, `in_progress`, `known_to_care` (needs `known_to` bjz, veilig_thuis or
    /// wijkteam), `visit_planned` (needs `visit_at`), `closed` or `not_taken_up`.
    pub status: String,
    /// `bjz`, `veilig_thuis`, `wijkteam` or `onbekend`; null = not checked yet.
    #[serde(default)]
    pub known_to: Option<String>,
    /// The planned home visit.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub visit_at: Option<Timestamp>,
    /// Feedback to the reporter, at most 280 characters: status, not care content.
    #[serde(default)]
    pub message: Option<String>,
}

/// Unlock request.
#[derive(Deserialize, ToSchema)]
pub struct UnlockRequest {
    /// The meldpunt key's passphrase (never stored).
    pub passphrase: String,
}

/// List filter.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Include handled forms (`afgerond`, `niet opgepakt`).
    #[serde(default)]
    pub all: bool,
}

/// The gemeente's care forms, most urgent first (no content).
#[utoipa::path(get, path = "/api/v1/care-forms", tag = "meldpunt", params(ListQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The inbox", body = CareFormList),
        (status = 400, description = "Malformed query", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not the meldpunt", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Meldpunt>,
    ClientAddr(addr): ClientAddr,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<CareFormList>> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let rows = super::list(&state, &user, q.all, addr).await?;
    let now = Timestamp::now();
    Ok(Json(CareFormList {
        unlocked: super::ring(&state, &user).is_some(),
        forms: rows
            .iter()
            .map(|r| CareFormSummary::from_row(r, now))
            .collect(),
    }))
}

fn form_id(id: &str) -> Result<CareFormId, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound)
}

/// Opens a form: decrypts it with the session's unlocked key. Every call is audited.
#[utoipa::path(get, path = "/api/v1/care-forms/{id}", tag = "meldpunt",
    params(("id" = String, Path, description = "Form id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The opened form", body = CareFormDetail),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not the meldpunt", body = crate::error::ErrorBody),
        (status = 404, description = "No such form in your gemeente", body = crate::error::ErrorBody),
        (status = 409, description = "Key locked, or sealed to a key this session has not unlocked", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Meldpunt>,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<Json<CareFormDetail>> {
    let opened = super::open(&state, &user, form_id(&id)?, addr).await?;
    let content = match opened.content {
        Ok(c) => serde_json::to_value(&c).map_err(|e| ApiError::Internal(e.to_string()))?,
        Err(e @ (OpenError::NoMatchingKey | OpenError::Damaged)) => {
            return Err(ApiError::Conflict(e.to_string()));
        }
    };
    Ok(Json(CareFormDetail {
        form: CareFormSummary::from_row(&opened.row, Timestamp::now()),
        later_forms: opened.later.iter().map(|r| r.id).collect(),
        content,
    }))
}

/// Sets the handling of a form: status, "bekend bij", visit and the message to the
/// reporter. A new status or message reaches the reporting device at its next pull. A
/// status its own fields contradict (a planned visit without a date, "known to care"
/// without a youth-care service under `known_to`) is refused with a Dutch message that
/// says what to fill in, and the stored form stays as it was.
#[utoipa::path(put, path = "/api/v1/care-forms/{id}/status", tag = "meldpunt",
    params(("id" = String, Path, description = "Form id")),
    request_body = HandlingRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "The updated form", body = CareFormSummary),
        (status = 400, description = "Malformed body", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not the meldpunt", body = crate::error::ErrorBody),
        (status = 404, description = "No such form in your gemeente", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid status, code, date or message, or a status its fields contradict (visit_planned without visit_at; known_to_care without bjz, veilig_thuis or wijkteam); nothing changed", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn set_status(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Meldpunt>,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<HandlingRequest>,
) -> ApiResult<Json<CareFormSummary>> {
    let id = form_id(&id)?;
    let known_to = match req.known_to.as_deref() {
        None | Some("") => None,
        Some(code) => Some(KnownTo::from_code(code).ok_or_else(|| {
            ApiError::Invalid(
                "known_to: kies bjz, veilig_thuis, wijkteam of onbekend (of null).".into(),
            )
        })?),
    };
    let handling = Handling {
        status: CareStatus::from(req.status),
        known_to,
        visit_at: req.visit_at,
        message: req.message,
    };
    let (row, _) = super::handle(&state, &user, id, handling, addr).await?;
    Ok(Json(CareFormSummary::from_row(&row, Timestamp::now())))
}

/// Unlocks the meldpunt key for this session (until logout, lock or session expiry).
#[utoipa::path(post, path = "/api/v1/meldpunt/unlock", tag = "meldpunt",
    request_body = UnlockRequest,
    security(("session" = [])),
    responses(
        (status = 204, description = "Unlocked"),
        (status = 400, description = "Malformed body", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not the meldpunt", body = crate::error::ErrorBody),
        (status = 409, description = "The gemeente has no meldpunt key yet", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 422, description = "Wrong passphrase", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn unlock(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Meldpunt>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<UnlockRequest>,
) -> ApiResult<StatusCode> {
    super::unlock(&state, &user, SecretString::from(req.passphrase), addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Forgets the unlocked meldpunt key of this session.
#[utoipa::path(post, path = "/api/v1/meldpunt/lock", tag = "meldpunt",
    security(("session" = [])),
    responses(
        (status = 204, description = "Locked"),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not the meldpunt", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn lock(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Meldpunt>,
    ClientAddr(addr): ClientAddr,
) -> ApiResult<StatusCode> {
    super::lock(&state, &user, addr).await?;
    Ok(StatusCode::NO_CONTENT)
}
