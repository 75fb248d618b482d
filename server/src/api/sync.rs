//! The field device's API: enrolment, push and pull.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use avondronde_shared::care::{CareStatus, Feedback};
use avondronde_shared::sync::{
    Cursor, MAX_BATCH_ITEMS, MIN_PROTOCOL_VERSION, Outcome, PullRequest, PullResponse, PushRequest,
    PushResponse, RETRY_PROTOCOL_VERSION,
};
use avondronde_shared::{DeviceId, Role};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::Extensions;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::auth::{self, Device, EnrolError};
use crate::db::{DbError, now_ms};
use crate::error::ApiError;
use crate::ingest::{self, PushContext};
use crate::state::{self, AppState, Metrics};
use crate::store::{self, Tx};

/// Items prepared and queued for the writer at a time within one push.
const PUSH_CHUNK: usize = 100;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(enrol))
        .routes(routes!(push))
        .routes(routes!(pull))
}

/// Enrolment request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EnrolRequest {
    /// The one-time code, e.g. `ABCD-EFGH-JKLM` (case and spaces do not matter).
    pub code: String,
    /// A label for the device, e.g. "Telefoon team West".
    #[serde(default)]
    pub label: String,
}

/// Enrolment answer. The token is shown once; keep it in the device's keychain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EnrolResponse {
    /// The new device's id.
    #[schema(value_type = String, format = Uuid)]
    pub device_id: DeviceId,
    /// The bearer token (256 random bits).
    pub token: String,
    /// The field worker's role.
    #[schema(value_type = String)]
    pub role: Role,
    /// The fingerprint of the gemeente's root meldpunt signing key (base64url), which the
    /// phone pins; `None` while the meldpunt has no signed key yet.
    #[serde(default)]
    pub meldpunt_fingerprint: Option<String>,
}

/// Turns a one-time enrolment code into a device token.
#[utoipa::path(post, path = "/api/v1/enrol", tag = "sync", request_body = EnrolRequest,
    responses(
        (status = 200, description = "Enrolled", body = EnrolResponse),
        (status = 400, description = "Malformed body", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown code", body = crate::error::ErrorBody),
        (status = 410, description = "Code used or expired", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 422, description = "Label too long", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn enrol(
    State(state): State<Arc<AppState>>,
    extensions: Extensions,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> ApiResult<Json<EnrolResponse>> {
    // Per client address: one shared bucket would let anyone block every enrolment in the
    // gemeente with a few bad requests a minute. (Without connection info, as in tests
    // that call the router directly, all callers share the unspecified address.)
    let client = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    if state.limits.enrol.check_key(&client).is_err() {
        return Err(ApiError::TooManyRequests);
    }
    if req.label.chars().count() > 80 {
        return Err(ApiError::Invalid("label: maximaal 80 tekens".into()));
    }
    let code = req.code.replace(' ', "");
    let label = req.label;
    let outcome = state
        .store
        .write(auth::enrolment_scope(&code), move |tx| {
            let res = auth::enrol(tx, &code, &label)?;
            let role = match &res {
                Ok((device, _)) => {
                    let (role, gemeente) = store::sync::device_role(tx, *device)?;
                    let fingerprint = crate::meldpunt::keys::root_fingerprint(tx, gemeente)?;
                    Some((role, fingerprint.map(|f| f.to_string())))
                }
                Err(_) => None,
            };
            Ok((res, role))
        })
        .await?;
    match outcome {
        (Ok((device_id, token)), Some((role, meldpunt_fingerprint))) => Ok(Json(EnrolResponse {
            device_id,
            token,
            role: Role::from_code(&role).ok_or_else(|| ApiError::Internal("bad role".into()))?,
            meldpunt_fingerprint,
        })),
        (Err(EnrolError::Used), _) => Err(ApiError::Gone(
            "Deze aanmeldcode is al gebruikt; vraag de beheerder om een nieuwe.".into(),
        )),
        (Err(EnrolError::Expired), _) => Err(ApiError::Gone(
            "Deze aanmeldcode is verlopen (24 uur geldig); vraag de beheerder om een nieuwe."
                .into(),
        )),
        _ => Err(ApiError::NotFound),
    }
}

/// Pushes a batch of outbox items; answers one receipt per item, after the commit.
///
/// Idempotent per item on (kind, id) plus a content hash: a replay returns the original
/// acceptance as `duplicate`; the same id with other content is a `conflict`. An item
/// whose parent has not arrived is answered `retry` (protocol 2; a version-1 phone gets no
/// receipt for it, which it also treats as "send again").
#[utoipa::path(post, path = "/api/v1/sync/push", tag = "sync",
    request_body = avondronde_shared::sync::PushRequest,
    security(("device" = [])),
    responses(
        (status = 200, description = "One receipt per item", body = avondronde_shared::sync::PushResponse),
        (status = 400, description = "Malformed body", body = crate::error::ErrorBody),
        (status = 401, description = "Unknown or revoked device", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 426, description = "App too old for this server", body = crate::error::ErrorBody),
        (status = 429, description = "Too many requests", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn push(
    State(state): State<Arc<AppState>>,
    device: Device,
    ApiJson(req): ApiJson<PushRequest>,
) -> ApiResult<Json<PushResponse>> {
    supported(req.protocol)?;
    if req.items.len() > MAX_BATCH_ITEMS * 2 {
        return Err(ApiError::BadRequest(format!(
            "Te veel items in één keer: {}; stuur er hoogstens {MAX_BATCH_ITEMS}.",
            req.items.len()
        )));
    }
    let received_at = now_ms();
    let skew_ms = req.device_time.as_millisecond().saturating_sub(received_at);
    let gemeente = device.gemeente;
    // The rules as cached; the write checks their version in its own transaction and
    // derives again if they changed. Read only the first time.
    let rules = match state.cached_rules(gemeente) {
        Some(rules) => rules,
        None => {
            let st = state.clone();
            state
                .store
                .read_point(gemeente, move |tx| st.gemeente_rules(tx, gemeente))
                .await?
        }
    };
    // Validate against the later of the two clocks: a device whose clock runs ahead is
    // flagged, not refused, and nothing it recorded is lost.
    let now = Timestamp::now().max(req.device_time);
    let ctx = PushContext {
        device,
        received_at,
        skew_ms,
    };
    let skewed = ctx.skewed();
    // Prepare and store in chunks, queued in order: the writer stores one chunk while this
    // task parses and checks the next, so a big batch keeps both cores busy. Receipts are
    // still sent only after every chunk has committed.
    let total = req.items.len();
    let mut items = req.items.into_iter().peekable();
    let mut stored = Vec::new();
    loop {
        let prepared: Vec<_> = items
            .by_ref()
            .take(PUSH_CHUNK)
            .map(|item| ingest::prepare(item, now, &rules))
            .collect();
        let push = ingest::Push {
            ctx: ctx.clone(),
            items: prepared,
        };
        stored.push(crate::pushes::store(&state, push, rules.version));
        if items.peek().is_none() {
            break;
        }
    }
    let mut receipts = Vec::with_capacity(total);
    for chunk in stored {
        receipts.extend(chunk.await?);
    }
    count(&state, &receipts, skewed);
    if req.protocol < RETRY_PROTOCOL_VERSION {
        // A version-1 phone cannot read `retry`; without a receipt it keeps the item
        // pending and sends it again, which is what `retry` asks.
        receipts.retain(|r| !matches!(r.outcome, Outcome::Retry { .. }));
    }
    tracing::info!(items = receipts.len(), skew_ms, "push");
    Ok(Json(PushResponse {
        receipts,
        server_time: Timestamp::now(),
    }))
}

/// Refuses a protocol version older than the server still speaks (the device keeps its
/// outbox and asks its user to update the app).
fn supported(protocol: u32) -> ApiResult<()> {
    if protocol < MIN_PROTOCOL_VERSION {
        return Err(ApiError::AppTooOld);
    }
    Ok(())
}

fn count(state: &AppState, receipts: &[avondronde_shared::sync::Receipt], skewed: bool) {
    let m = &state.metrics;
    Metrics::add(&m.pushes, 1);
    let by = |f: fn(&Outcome) -> bool, c: &AtomicU64| {
        Metrics::add(c, receipts.iter().filter(|r| f(&r.outcome)).count() as u64)
    };
    by(|o| matches!(o, Outcome::Accepted(_)), &m.items_accepted);
    by(|o| matches!(o, Outcome::Duplicate(_)), &m.items_duplicate);
    by(|o| matches!(o, Outcome::Rejected { .. }), &m.items_rejected);
    by(|o| matches!(o, Outcome::Conflict { .. }), &m.items_conflict);
    if skewed {
        let contacts = receipts
            .iter()
            .filter(|r| {
                r.kind == avondronde_shared::sync::ItemKind::Contact
                    && matches!(r.outcome, Outcome::Accepted(_))
            })
            .count();
        Metrics::add(&m.skewed_contacts, contacts as u64);
    }
}

/// Pulls the device's configuration (when changed) and the feedback on its own care forms
/// since the cursor. A revoked device gets 401 `device_revoked`.
#[utoipa::path(post, path = "/api/v1/sync/pull", tag = "sync",
    request_body = avondronde_shared::sync::PullRequest,
    security(("device" = [])),
    responses(
        (status = 200, description = "Config and feedback", body = avondronde_shared::sync::PullResponse),
        (status = 400, description = "Malformed body", body = crate::error::ErrorBody),
        (status = 401, description = "Unknown or revoked device", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 426, description = "App too old for this server", body = crate::error::ErrorBody),
        (status = 429, description = "Too many requests", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn pull(
    State(state): State<Arc<AppState>>,
    device: Device,
    ApiJson(req): ApiJson<PullRequest>,
) -> ApiResult<Json<PullResponse>> {
    supported(req.protocol)?;
    Metrics::add(&state.metrics.pulls, 1);
    let now = now_ms();
    if let Some(device_time) = req.device_time {
        let skew = device_time.as_millisecond().saturating_sub(now);
        let id = device.id;
        state
            .store
            .write(device.gemeente, move |tx| {
                store::sync::record_seen(tx, id, now, skew)
            })
            .await?;
    }
    if req.outbox.is_some() || req.key_refused.is_some() {
        let outbox = req.outbox;
        let refused = req.key_refused.clone();
        let id = device.id;
        if let Some(code) = &refused {
            // A code only; the phone never sends content with it.
            tracing::warn!(code = %code.chars().take(40).collect::<String>(), "device refused the meldpunt key chain");
        }
        state
            .store
            .write(device.gemeente, move |tx| {
                crate::devices::record_report(tx, id, outbox, refused.as_deref(), now)
            })
            .await?;
    }
    let st = state.clone();
    let since = req.since.unwrap_or_default();
    let held = req.config_version;
    let (config, feedback, cursor) = state
        .store
        .read(device.gemeente, move |tx| {
            let version = state::config_version(tx, device.gemeente)?;
            let config = if held == Some(version) {
                None
            } else {
                state::device_config(&st, tx, device.gemeente)?
            };
            let (feedback, cursor) = feedback_since(tx, device.id, since)?;
            Ok((config, feedback, cursor))
        })
        .await?;
    Ok(Json(PullResponse {
        cursor,
        config,
        feedback,
        server_time: Timestamp::now(),
    }))
}

/// Feedback on the device's own forms changed after `since`, in server order, and the
/// cursor after it.
fn feedback_since(
    tx: &Tx,
    device: DeviceId,
    since: Cursor,
) -> Result<(Vec<Feedback>, Cursor), DbError> {
    let rows = store::sync::feedback_since(tx, device, since.0 as i64)?;
    let mut cursor = since;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        cursor = cursor.max(Cursor(row.feedback_seq.max(0) as u64));
        out.push(Feedback {
            form: row.form,
            status: CareStatus::from(row.status),
            message: row.message,
            updated_at: Timestamp::from_millisecond(row.updated_at)
                .unwrap_or(Timestamp::UNIX_EPOCH),
        });
    }
    Ok((out, cursor))
}
