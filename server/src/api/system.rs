//! `/health` and `/metrics` (Prometheus text format). `/metrics` needs the bearer token
//! given at start-up (`AVONDRONDE_METRICS_TOKEN`); without one it answers 404.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(metrics))
}

/// Liveness: answers when the server and its database respond.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, description = "Healthy", body = String, content_type = "text/plain"),
              (status = 500, description = "Database unavailable", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn health(
    State(state): State<Arc<AppState>>,
) -> Result<&'static str, crate::error::ApiError> {
    state.store.ping().await?;
    Ok("ok")
}

/// Whether the request carries the metrics token (compared in constant time).
fn metrics_allowed(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.config.metrics_token else {
        return Err(ApiError::NotFound);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    if blake3::hash(given.trim().as_bytes()) == blake3::hash(expected.0.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Counters in Prometheus text format, for the holder of the metrics token.
#[utoipa::path(get, path = "/metrics", tag = "system",
    security(("metrics" = [])),
    responses((status = 200, description = "Prometheus metrics", body = String, content_type = "text/plain"),
              (status = 401, description = "No or wrong metrics token", body = crate::error::ErrorBody),
              (status = 404, description = "Metrics are not enabled on this server", body = crate::error::ErrorBody)))]
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    metrics_allowed(&state, &headers)?;
    let m = &state.metrics;
    let mut out = String::new();
    for (name, help, v) in [
        (
            "avondronde_push_requests_total",
            "Push requests.",
            &m.pushes,
        ),
        (
            "avondronde_push_writer_jobs_total",
            "Writer jobs that stored pushes; pushes per job is how many were stored together.",
            &m.push_jobs,
        ),
        ("avondronde_pull_requests_total", "Pull requests.", &m.pulls),
        (
            "avondronde_items_accepted_total",
            "Outbox items accepted.",
            &m.items_accepted,
        ),
        (
            "avondronde_items_duplicate_total",
            "Outbox items that were replays.",
            &m.items_duplicate,
        ),
        (
            "avondronde_items_rejected_total",
            "Outbox items rejected.",
            &m.items_rejected,
        ),
        (
            "avondronde_items_conflict_total",
            "Outbox items in conflict.",
            &m.items_conflict,
        ),
        (
            "avondronde_skewed_contacts_total",
            "Contacts from a device whose clock was off by more than 5 minutes.",
            &m.skewed_contacts,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            v.load(Ordering::Relaxed)
        );
    }
    out.push_str(&state.prometheus.handle().render());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}
