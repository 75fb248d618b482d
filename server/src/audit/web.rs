//! Reading the audit log: the page at `/audit` and `GET /api/v1/audit`. The admin and the
//! meldpunt of a gemeente read that gemeente's log, with the result of verifying its hash
//! chain; every other role gets 403. There is no way to change the log: no endpoint
//! writes to it, and the database refuses updates and deletes.
//!
//! The page shows each entry in Dutch, in the words of the pages where it happened and
//! with names instead of ids ([`super::describe`]); the API gives the stored codes.

use std::sync::Arc;

use avondronde_shared::Role;
use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::html;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::describe::{Names, describe};
use super::{Entry, Verification};
use crate::api::ApiResult;
use crate::auth::{Authorized, Page, WebUser, roles};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::layout;

/// Entries per page.
const PAGE: u32 = 100;

/// Who may read the log: the admin and the meldpunt.
pub const READERS: [Role; 2] = [Role::Admin, Role::Meldpunt];

/// The page route.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/audit", get(page))
}

/// The API route.
pub fn api_router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(read))
}

/// Paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Entries before this seq (for the next page); the newest when absent.
    #[serde(default)]
    pub before: Option<i64>,
}

/// A page of the log and the chain's verification.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditLog {
    /// The whole chain of the gemeente, checked now.
    pub chain: Verification,
    /// Newest first.
    pub entries: Vec<Entry>,
}

async fn load(
    state: &Arc<AppState>,
    user: &WebUser,
    before: Option<i64>,
) -> Result<AuditLog, ApiError> {
    let gemeente = user.gemeente;
    Ok(state
        .store
        .read(gemeente, move |tx| {
            Ok(AuditLog {
                chain: super::verify(tx, gemeente)?,
                entries: super::list(tx, gemeente, before, PAGE)?,
            })
        })
        .await?)
}

/// The gemeente's audit log, newest first, with the hash chain verified.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of the log", body = AuditLog),
        (status = 400, description = "Malformed query", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not the admin or the meldpunt", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn read(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::AuditReaders>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<Json<AuditLog>> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    Ok(Json(load(&state, &user, q.before).await?))
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    voor: Option<i64>,
}

/// The random tail of a UUIDv7 (its head is the time, alike for ids made together).
fn short_id(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}

fn role_label(code: &str) -> &str {
    match code {
        // A user acting for themselves (a new password with a reset code).
        "user" => "gebruiker",
        _ => Role::from_code(code).map_or("systeem", |r| r.label_nl()),
    }
}

async fn page(
    State(state): State<Arc<AppState>>,
    Page(user, _): Page<roles::AuditReaders>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let log = match load(&state, &user, q.voor).await {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let (g, viewer) = (user.gemeente, user.role);
    let names = match state
        .store
        .read(g, move |tx| Names::load(tx, g, viewer))
        .await
    {
        Ok(n) => n,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let links = user.role == Role::Meldpunt;
    let older = (log.entries.len() as u32 == PAGE)
        .then(|| log.entries.last().map(|e| e.seq))
        .flatten();
    let body = html! {
            h1 { "Auditlog" }
            @if log.chain.intact() {
                div.notice.ok role="status" {
                    strong { "Keten intact." }
                    " Alle " (log.chain.rows) " regels kloppen met hun voorganger; er is niets gewijzigd of weggehaald."
                    @if let Some(head) = &log.chain.head {
                        br; span.small.chain { "Laatste controlewaarde: " code { (head) } }
                    }
                }
            } @else {
                div.notice.error role="alert" {
                    strong { "Keten verbroken." }
                    " Regel " (log.chain.broken_at.unwrap_or_default()) " klopt niet met zijn inhoud of voorganger: het auditlog is buiten de server om gewijzigd. Meld dit bij de functionaris gegevensbescherming."
                }
            }
            p.muted.small {
                "Elk geopend zorgformulier, elke wijziging, export en sleutelhandeling staat hier met wie, wanneer, welk formulier en vanaf welk adres. Het log kan door niemand worden gewijzigd. Tijden in Nederlandse tijd."
            }
            @if log.entries.is_empty() {
                div.panel { p.muted { "Nog geen regels." } }
            } @else {
                table.audit.stack {
                    thead { tr { th { "#" } th { "Tijd" } th { "Wie" } th { "Actie" } th { "Formulier" } th { "Adres" } th { "Details" } } }
                    tbody {
                        @for e in &log.entries {
                            @let shown = describe(&e.action, &e.detail, &names);
                            tr data-action=(e.action) {
                                td data-label="#" { (e.seq) }
                                td.nowrap data-label="Tijd" { (crate::dates::format_local_seconds(e.at)) }
                                td data-label="Wie" { (e.actor_name) br; span.muted.small { (role_label(&e.actor_role)) } }
                                td data-label="Actie" { (shown.action) }
                                td data-label="Formulier" {
                                    @match (&e.form, links) {
                                        (Some(f), true) => a href={ "/meldpunt/formulieren/" (f) } title=(f) { code { (short_id(f)) } },
                                        (Some(f), false) => code title=(f) { (short_id(f)) },
                                        (None, _) => span.muted { "—" },
                                    }
                                }
                                td data-label="Adres" { (e.address.as_deref().unwrap_or("—")) }
                                td.wide data-label="Details" { (shown.detail) }
                            }
                        }
                    }
                }
                @if let Some(seq) = older {
                    p { a.button.secondary href={ "/audit?voor=" (seq) } { "Oudere regels" } }
                }
            }
    };
    layout(
        "Auditlog",
        Some(&user),
        "/audit",
        false,
        html! { link rel="stylesheet" href="/static/meldpunt.css"; },
        body,
    )
    .into_response()
}
