//! Avondronde's sync server: the wijk's system of record.
//!
//! [`app`] builds the whole HTTP application over an [`AppState`], so tests can drive it
//! with `Router::oneshot` and no socket; [`serve`] runs it on a bound listener until the
//! shutdown future resolves. The binary in `main.rs` only parses arguments.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub mod admin;
pub mod admin_rules;
pub mod api;
pub mod audit;
pub mod auth;
pub mod dates;
pub mod db;
#[cfg(feature = "demo")]
pub mod demo;
pub mod devices;
pub mod error;
pub mod hotspot;
pub mod ingest;
pub mod logging;
pub mod meldpunt;
pub mod mfa;
pub mod partitions;
pub mod phone_policy;
pub mod pushes;
pub mod retention;
pub mod security;
pub mod setup;
pub mod state;
pub mod store;
pub mod throttle;
pub mod tls;
pub mod web;

pub use state::{AppState, Config};

use crate::error::json_error;

/// The largest request body accepted, after decompression.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The whole application.
pub fn app(state: Arc<AppState>) -> Router {
    let (api, openapi) = api::router();
    let openapi_json = openapi.to_json().unwrap_or_else(|_| "{}".into());
    let request_id = HeaderName::from_static("x-request-id");
    let headers = security::header_layers(&state);
    let router = api.merge(web::router())
        .merge(hotspot::page::router())
        .merge(meldpunt::pages::router())
        .merge(meldpunt::key_pages::router())
        .merge(audit::web::router())
        .route(
        "/api/v1/openapi.json",
        axum::routing::get(move || async move {
            ([(header::CONTENT_TYPE, "application/json")], openapi_json)
        }),
    )
    // Only matched routes: the label is the route's pattern (ids never become labels).
    .route_layer(middleware::from_fn_with_state(state.clone(), record_latency))
    .fallback(web::not_found)
    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
    .layer(RequestDecompressionLayer::new())
    // Inside `read_body_first`, so that a refused request's body was read (see there).
    .layer(middleware::from_fn(security::check_origin))
    .layer(middleware::from_fn(read_body_first))
    // Outside the decompression layer, so that its 415 for an unknown Content-Encoding
    // is JSON like every other error.
    .layer(middleware::from_fn(json_errors))
    // Level 2 (flate2 on zlib-rs, see the README's benchmarks): receipts and configs are
    // repetitive JSON that even a fast level shrinks about five-fold, at a fraction of the
    // default level's CPU; zlib-rs's level 1 takes shortcuts that cost a fifth more bytes,
    // level 2 does not. Answers under 1 KiB
    // (a receipt or two) are sent as they are: gzip would save a few bytes and cost a
    // compressor set-up per request.
    .layer(
        CompressionLayer::new()
            .quality(CompressionLevel::Precise(2))
            .compress_when(
                SizeAbove::new(1024)
                    .and(NotForContentType::GRPC)
                    .and(NotForContentType::IMAGES)
                    .and(NotForContentType::SSE),
            ),
    )
    .layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                json_error(
                    StatusCode::REQUEST_TIMEOUT,
                    "timeout",
                    "het verzoek duurde te lang; probeer het opnieuw",
                )
            }))
            .timeout(REQUEST_TIMEOUT),
    )
    .layer(PropagateRequestIdLayer::new(request_id.clone()))
    .layer(
        TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // Method, path (ids only, never personal data) and the request id.
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }),
    )
    .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
    .layer(middleware::from_fn_with_state(state.clone(), security::real_client))
    .with_state(state);
    // Outermost: every answer, including errors made by the layers above, gets them.
    headers.into_iter().fold(router, |r, layer| r.layer(layer))
}

/// Every minute: ends expired and idle sessions (forgetting their unlocked meldpunt keys,
/// also those of sessions ended by the command line) and prunes the rate limiters.
pub async fn run_sweeper(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        sweep(&state).await;
    }
}

/// One pass of [`run_sweeper`].
pub async fn sweep(state: &AppState) {
    let now = db::now_ms();
    let swept = async {
        let (mut ended, mut live) = (Vec::new(), Vec::new());
        for g in state.store.gemeenten().await? {
            let (e, l) = state
                .store
                .write(g, move |tx| {
                    Ok((
                        auth::sweep_sessions(tx, g, now)?,
                        auth::live_sessions(tx, g)?,
                    ))
                })
                .await?;
            ended.extend(e);
            live.extend(l);
        }
        Ok::<_, db::DbError>((ended, live))
    };
    match swept.await {
        Ok((ended, live)) => {
            for h in &ended {
                state.vault.forget(h);
            }
            state.vault.retain_sessions(&live);
            if !ended.is_empty() {
                tracing::info!(sessions = ended.len(), "expired sessions ended");
            }
        }
        Err(e) => tracing::error!(error = %e, "session sweep failed"),
    }
    if let Err(e) = state.limits.login.prune(&state.store).await {
        tracing::error!(error = %e, "login throttle prune failed");
    }
    state.limits.enrol.retain_recent();
    state.limits.enrol.shrink_to_fit();
    state.limits.device.retain_recent();
}

/// Records each request's latency per route pattern, method and status.
async fn record_latency(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let secs = started.elapsed().as_secs_f64();
    metrics::with_local_recorder(&state.prometheus, || {
        metrics::histogram!(
            "avondronde_http_request_duration_seconds",
            "route" => route,
            "method" => method,
            "status" => status
        )
        .record(secs);
    });
    res
}

/// Reads the whole (still compressed) request body before any handler or extractor runs.
///
/// A request refused before its body is needed (no token, wrong role) would otherwise be
/// answered while the body is still on its way; the server then has to drop the
/// connection, and a client that reuses it for its next request gets "closed without
/// response". A body over the limit is refused here with 413 and the connection closed.
async fn read_body_first(req: Request, next: Next) -> Response {
    use axum::body::{Body, HttpBody};
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let too_large = || {
        let mut res = json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "het verzoek is te groot",
        )
        .into_response();
        res.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        res
    };
    if req.body().size_hint().lower() > MAX_BODY_BYTES as u64 {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(e) if over_limit(&e) => too_large(),
        Err(_) => json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "het verzoek kwam niet volledig aan; probeer het opnieuw",
        )
        .into_response(),
    }
}

fn over_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Gives every error response the JSON `{code, message}` shape, including those made by
/// layers and by axum itself (405, 413 from a body limit, …). axum's own rejections (a
/// form or query it could not read) come as plain text naming the framework and the
/// missing field: those are replaced too, so no error answers with internals. The one
/// exception is a browser asking for a page by an address only a form may use (a 405): it
/// gets a page in Dutch, with the same headers.
async fn json_errors(req: Request, next: Next) -> Response {
    let page = web::asks_for_a_page(req.uri(), req.headers());
    let res = next.run(req).await;
    let status = res.status();
    let plain_text = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error())
        || (res.headers().contains_key(header::CONTENT_TYPE) && !plain_text)
    {
        return res;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "deze methode kan hier niet"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "het verzoek is te groot"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "verkeerd soort inhoud: stuur JSON, of een formulier vanaf de pagina zelf",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => (
            "bad_request",
            "het verzoek mist een veld of heeft een veld van de verkeerde soort",
        ),
        StatusCode::NOT_FOUND => ("not_found", "niet gevonden"),
        s if s.is_server_error() => ("internal", "interne fout; probeer het later opnieuw"),
        _ => ("bad_request", "ongeldig verzoek"),
    };
    let mut out = if page && status == StatusCode::METHOD_NOT_ALLOWED {
        web::wrong_method_page()
    } else {
        json_error(status, code, message)
    };
    for (k, v) in res.headers() {
        if k != header::CONTENT_LENGTH && k != header::CONTENT_TYPE {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out.into_response()
}

/// Serves the application on `listener` until `shutdown` resolves, then drains in-flight
/// requests. The daily retention job runs alongside and stops with the server.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let retention = tokio::spawn(retention::run_daily(state.clone()));
    let sweeper = tokio::spawn(run_sweeper(state.clone()));
    let served = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    retention.abort();
    sweeper.abort();
    served
}
