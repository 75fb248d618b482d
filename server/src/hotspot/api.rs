//! The hotspot API under `/api/v1/hotspot`: the coordinator's wijken, and per wijk the
//! cells (GeoJSON), the histogram by time of evening, the weekly trend, the totals and
//! the two exports.
//!
//! Only a **coordinator** may call it, and only for the wijken assigned to them
//! ([`super::scope`]): any other role gets 403, a wijk not assigned to them (of their own
//! gemeente or another) 404, exactly as if it did not exist. The admin role is left out on
//! purpose: it configures the gemeente and has no need for the analysis (DOMAIN.md: each
//! role sees the least it needs). Every answer is made from protected counts
//! ([`super::analysis`]); the cells and both exports are recorded in the audit log.

use std::sync::Arc;

use avondronde_shared::area::Wijk;
use avondronde_shared::disclosure::Ptable;
use avondronde_shared::{Role, WijkId};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::analysis::{self, Analysis};
use super::export;
use super::filter::FilterQuery;
use super::index::WijkIndex;
use super::view::{self, CellCollection, Histogram, Summary, Trend, WijkRef};
use crate::api::ApiResult;
use crate::audit::ClientAddr;
use crate::auth::{Authorized, WebUser, roles};
use crate::error::ApiError;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(wijken))
        .routes(routes!(cells))
        .routes(routes!(histogram))
        .routes(routes!(trend))
        .routes(routes!(summary))
        .routes(routes!(export_csv))
        .routes(routes!(export_geojson))
        .merge(super::trend_api::router())
}

/// The roles that may see the hotspot map.
pub const ROLES: &[Role] = &[Role::Coordinator];

/// What a coordinator may analyse: their assigned wijken, the gemeente's config version
/// and its perturbation table.
pub struct Scope {
    /// The wijken assigned to the user (none when nothing was assigned).
    pub wijken: Vec<Wijk>,
    /// The gemeente's config version.
    pub version: u64,
    /// The gemeente's perturbation table.
    pub ptable: Arc<Ptable>,
}

/// The user's assigned wijken, config version and perturbation table, after the role check.
pub async fn scoped_wijken(state: &Arc<AppState>, user: &WebUser) -> ApiResult<Scope> {
    let st = state.clone();
    let (gemeente, user_id) = (user.gemeente, user.id);
    let (rules, assigned, ptable) = state
        .store
        .read(gemeente, move |tx| {
            Ok((
                st.gemeente_rules(tx, gemeente)?,
                super::scope::assigned_wijken(tx, user_id)?,
                super::settings::ptable_of(tx, gemeente)?,
            ))
        })
        .await?;
    Ok(Scope {
        wijken: rules
            .wijken
            .iter()
            .filter(|w| assigned.contains(&w.id))
            .cloned()
            .collect(),
        version: rules.version,
        ptable: Arc::new(ptable),
    })
}

/// One wijk assigned to the user, or 404.
pub async fn scoped_wijk(
    state: &Arc<AppState>,
    user: &WebUser,
    wijk: &str,
) -> ApiResult<(Wijk, u64, Arc<Ptable>)> {
    let scope = scoped_wijken(state, user).await?;
    let id: WijkId = wijk.parse().map_err(|_| ApiError::NotFound)?;
    let wijk = scope
        .wijken
        .into_iter()
        .find(|w| w.id == id)
        .ok_or(ApiError::NotFound)?;
    Ok((wijk, scope.version, scope.ptable))
}

/// Checks scope, parses the filter and runs the analysis on the blocking pool.
pub async fn analysed(
    state: &Arc<AppState>,
    user: &WebUser,
    wijk: &str,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> ApiResult<(Arc<WijkIndex>, Analysis, FilterQuery)> {
    let (wijk, version, ptable) = scoped_wijk(state, user, wijk).await?;
    let Query(query) = query.map_err(|e| {
        ApiError::BadRequest(format!("ongeldige zoekparameters: {}", e.body_text()))
    })?;
    let filter = query.parse().map_err(|e| ApiError::BadRequest(e.0))?;
    let st = state.clone();
    let (index, analysis) = tokio::task::spawn_blocking(move || {
        let index = st.hotspot.get(&st.store, &wijk, version)?;
        let a = analysis::run(&index, &filter, &ptable)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok::<_, ApiError>((index, a))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok((index, analysis, query))
}

pub(crate) fn body(
    content_type: &'static str,
    bytes: Vec<u8>,
    download: Option<String>,
) -> Response {
    let mut res = bytes.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Some(name) = download
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

fn geojson(cells: &CellCollection, download: Option<String>) -> ApiResult<Response> {
    let bytes = serde_json::to_vec(cells).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(body("application/geo+json", bytes, download))
}

/// A named place (hangplek), for orientation on the map.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceView {
    /// Name.
    pub name: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// `"MultiPolygon"`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum MultiPolygonType {
    /// The only value.
    MultiPolygon,
}

/// A GeoJSON MultiPolygon (WGS84).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MultiPolygonGeometry {
    /// `"MultiPolygon"`.
    #[serde(rename = "type")]
    pub kind: MultiPolygonType,
    /// Polygons of rings of `[longitude, latitude]`.
    pub coordinates: Vec<Vec<Vec<[f64; 2]>>>,
}

/// A wijk with its outline, for the map.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WijkOutline {
    /// Id, code and name.
    #[serde(flatten)]
    pub wijk: WijkRef,
    /// `[west, south, east, north]`.
    pub bbox: [f64; 4],
    /// The boundary.
    pub geometry: MultiPolygonGeometry,
    /// Cells in the study area at resolution 9 and 10.
    pub cells_r9: usize,
    /// Cells at resolution 10.
    pub cells_r10: usize,
    /// Named places in the wijk.
    pub places: Vec<PlaceView>,
}

fn outline(w: &Wijk, places: Vec<PlaceView>) -> WijkOutline {
    use geo::BoundingRect;
    let rect = w.boundary.bounding_rect();
    let bbox = rect.map_or([0.0; 4], |r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    let coordinates = w
        .boundary
        .0
        .iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|ring| ring.0.iter().map(|c| [c.x, c.y]).collect())
                .collect()
        })
        .collect();
    let tiles = |res| super::index::StudyArea::of(&w.boundary, res).map_or(0, |a| a.len());
    WijkOutline {
        wijk: WijkRef::from(w),
        bbox,
        geometry: MultiPolygonGeometry {
            kind: MultiPolygonType::MultiPolygon,
            coordinates,
        },
        cells_r9: tiles(super::filter::Res::Nine),
        cells_r10: tiles(super::filter::Res::Ten),
        places,
    }
}

/// The user's gemeente's wijken with outlines and named places.
pub async fn wijk_outlines(state: &Arc<AppState>, user: &WebUser) -> ApiResult<Vec<WijkOutline>> {
    let wijken = scoped_wijken(state, user).await?.wijken;
    let gemeente = user.gemeente;
    let places = state
        .store
        .read(gemeente, move |tx| {
            crate::store::config::places(tx, gemeente)
        })
        .await?;
    Ok(wijken
        .iter()
        .map(|w| {
            let here = places
                .iter()
                .filter(|p| p.wijk == w.id)
                .map(|p| PlaceView {
                    name: p.name.clone(),
                    lat: p.lat,
                    lon: p.lon,
                })
                .collect();
            outline(w, here)
        })
        .collect())
}

/// The wijken of the coordinator's gemeente, with outlines and named places.
#[utoipa::path(get, path = "/api/v1/hotspot/wijken", tag = "hotspot", security(("session" = [])),
    responses(
        (status = 200, description = "The gemeente's wijken", body = Vec<WijkOutline>),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not a coordinator, or a device token", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn wijken(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Coordinator>,
) -> ApiResult<Json<Vec<WijkOutline>>> {
    Ok(Json(wijk_outlines(&state, &user).await?))
}

/// The study area's cells with protected, shown counts and Gi* hotspot classes (of the
/// protected counts), as an RFC 7946 GeoJSON FeatureCollection. With
/// `before_from`/`before_to` each cell also carries the before period and the change.
/// Recorded in the audit log like the exports.
#[utoipa::path(get, path = "/api/v1/hotspot/wijken/{wijk}/cells", tag = "hotspot",
    security(("session" = [])),
    params(("wijk" = String, Path, description = "Wijk id"), FilterQuery),
    responses(
        (status = 200, description = "Cells", body = CellCollection, content_type = "application/geo+json"),
        (status = 400, description = "A filter is malformed", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not a coordinator, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such wijk among yours", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn cells(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Coordinator>,
    ClientAddr(addr): ClientAddr,
    Path(wijk): Path<String>,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let (index, a, q) = analysed(&state, &user, &wijk, query).await?;
    let cells = view::cells(&index, &a);
    audit_export(
        &state,
        &user,
        addr,
        &wijk,
        "cells",
        cells.features.len(),
        &q,
    )
    .await?;
    geojson(&cells, None)
}

/// The measure by hour of the evening (the hour filter marks hours instead of dropping them).
#[utoipa::path(get, path = "/api/v1/hotspot/wijken/{wijk}/histogram", tag = "hotspot",
    security(("session" = [])),
    params(("wijk" = String, Path, description = "Wijk id"), FilterQuery),
    responses(
        (status = 200, description = "Histogram", body = Histogram),
        (status = 400, description = "A filter is malformed", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not a coordinator, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such wijk among yours", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn histogram(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Coordinator>,
    ClientAddr(addr): ClientAddr,
    Path(wijk): Path<String>,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> ApiResult<Json<Histogram>> {
    let (_, a, q) = analysed(&state, &user, &wijk, query).await?;
    audit_export(&state, &user, addr, &wijk, "histogram", 0, &q).await?;
    Ok(Json(view::histogram(&a)))
}

/// The measure per week over the period (or both periods of a comparison).
#[utoipa::path(get, path = "/api/v1/hotspot/wijken/{wijk}/trend", tag = "hotspot",
    security(("session" = [])),
    params(("wijk" = String, Path, description = "Wijk id"), FilterQuery),
    responses(
        (status = 200, description = "Weekly trend", body = Trend),
        (status = 400, description = "A filter is malformed", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not a coordinator, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such wijk among yours", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn trend(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Coordinator>,
    ClientAddr(addr): ClientAddr,
    Path(wijk): Path<String>,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> ApiResult<Json<Trend>> {
    let (_, a, q) = analysed(&state, &user, &wijk, query).await?;
    audit_export(&state, &user, addr, &wijk, "trend", 0, &q).await?;
    Ok(Json(view::trend(&a)))
}

/// The wijk's suppressed totals and hotspot cell counts; in a comparison also the change.
#[utoipa::path(get, path = "/api/v1/hotspot/wijken/{wijk}/summary", tag = "hotspot",
    security(("session" = [])),
    params(("wijk" = String, Path, description = "Wijk id"), FilterQuery),
    responses(
        (status = 200, description = "Totals", body = Summary),
        (status = 400, description = "A filter is malformed", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not a coordinator, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such wijk among yours", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn summary(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Coordinator>,
    ClientAddr(addr): ClientAddr,
    Path(wijk): Path<String>,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> ApiResult<Json<Summary>> {
    let (index, a, q) = analysed(&state, &user, &wijk, query).await?;
    audit_export(&state, &user, addr, &wijk, "summary", 0, &q).await?;
    Ok(Json(view::summary(&index, &a)))
}

/// The cells as CSV for Dutch Excel: UTF-8 with BOM, `;`, decimal comma, RD New centres.
#[utoipa::path(get, path = "/api/v1/hotspot/wijken/{wijk}/export.csv", tag = "hotspot",
    security(("session" = [])),
    params(("wijk" = String, Path, description = "Wijk id"), FilterQuery),
    responses(
        (status = 200, description = "CSV download", body = String, content_type = "text/csv"),
        (status = 400, description = "A filter is malformed", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not a coordinator, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such wijk among yours", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn export_csv(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Coordinator>,
    ClientAddr(addr): ClientAddr,
    Path(wijk): Path<String>,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let (index, a, q) = analysed(&state, &user, &wijk, query).await?;
    let cells = view::cells(&index, &a);
    audit_export(&state, &user, addr, &wijk, "csv", cells.features.len(), &q).await?;
    let name = export::file_name(&cells, q.from.as_deref(), q.to.as_deref(), "csv");
    Ok(body(
        "text/csv; charset=utf-8",
        export::csv(&cells).into_bytes(),
        Some(name),
    ))
}

/// The cells as a GeoJSON file for QGIS (WGS84, flat properties).
#[utoipa::path(get, path = "/api/v1/hotspot/wijken/{wijk}/export.geojson", tag = "hotspot",
    security(("session" = [])),
    params(("wijk" = String, Path, description = "Wijk id"), FilterQuery),
    responses(
        (status = 200, description = "GeoJSON download", body = CellCollection, content_type = "application/geo+json"),
        (status = 400, description = "A filter is malformed", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not a coordinator, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such wijk among yours", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn export_geojson(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Coordinator>,
    ClientAddr(addr): ClientAddr,
    Path(wijk): Path<String>,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let (index, a, q) = analysed(&state, &user, &wijk, query).await?;
    let cells = view::cells(&index, &a);
    audit_export(
        &state,
        &user,
        addr,
        &wijk,
        "geojson",
        cells.features.len(),
        &q,
    )
    .await?;
    let name = export::file_name(&cells, q.from.as_deref(), q.to.as_deref(), "geojson");
    geojson(&cells, Some(name))
}

/// Records a statistical answer (the map's cells, totals, histogram, trend or trends) or
/// an export in the gemeente's audit log: who, when, which wijk, from where, and with
/// which filter, so that a run of overlapping queries shows for what it is.
pub(crate) async fn audit_export(
    state: &Arc<AppState>,
    user: &WebUser,
    address: Option<std::net::IpAddr>,
    wijk: &str,
    format: &'static str,
    cells: usize,
    filter: &FilterQuery,
) -> ApiResult<()> {
    let actor = crate::audit::Actor::user(user);
    let gemeente = user.gemeente;
    let detail = format!(
        "hotspot {format} wijk={wijk} cells={cells} {}",
        filter.audit_text()
    );
    state
        .store
        .write(gemeente, move |tx| {
            crate::audit::record(
                tx,
                &crate::audit::Event {
                    gemeente,
                    actor: &actor,
                    action: crate::audit::Action::Export,
                    form: None,
                    address,
                    detail,
                },
                crate::db::now_ms(),
            )
        })
        .await?;
    Ok(())
}
