//! The trends as a coordinator sees them (issue 15): the API
//! `GET /api/v1/hotspot/wijken/{wijk}/trends` with the map's filters, and its CSV and GeoJSON
//! exports (audited like the map's), over the cube of [`super::trend`].
//!
//! **What leaves.** Classes (from [`avondronde_shared::trend`]), per step the ArcGIS bin and
//! the Gi\* z-score as a whole number ([`super::view::published_z`]), the Mann–Kendall z
//! rounded to one decimal and whether the trend is significant, and per step the cell's count exactly as the map shows
//! it ([`SuppressedCount::shown`] with the gemeente's threshold). No exact count, no
//! p-value with more than one decimal.

use std::sync::Arc;

use avondronde_shared::hotspot::SuppressedCount;
use avondronde_shared::trend::{LocationTrend, Pattern, TREND_ALPHA};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{audit_export, body, scoped_wijk};
use super::export::{comma, dated_name, field, to_rd};
use super::filter::{FilterQuery, date_of_day};
use super::index::WijkIndex;
use super::trend::{Step, StepQuery, StepSpan, TrendAnalysis, run};
use super::view::{
    FeatureCollectionType, FeatureType, PolygonGeometry, WijkRef, cell_centre, cell_polygon,
};
use crate::api::ApiResult;
use crate::audit::ClientAddr;
use crate::auth::{Authorized, WebUser, roles};
use crate::error::ApiError;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(trends))
        .routes(routes!(trends_csv))
        .routes(routes!(trends_geojson))
}

// ---- what a coordinator sees ---------------------------------------------------------------

/// Rounds to one decimal (never `-0.0`).
fn one_decimal(x: f64) -> f64 {
    let r = (x * 10.0).round() / 10.0;
    if r == 0.0 { 0.0 } else { r }
}

/// A time step as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    /// First evening, `2026-11-16`.
    pub from: String,
    /// Last evening.
    pub to: String,
    /// `wk 47` or `nov 2026`.
    pub label: String,
}

const MONTHS_NL: [&str; 12] = [
    "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
];

fn step_view(step: Step, s: &StepSpan) -> StepView {
    let from = date_of_day(s.from);
    let label = match step {
        Step::Week => format!("wk {}", from.iso_week_date().week()),
        Step::Month => format!(
            "{} {}",
            MONTHS_NL[usize::from(from.month().unsigned_abs()).saturating_sub(1) % 12],
            from.year()
        ),
    };
    StepView {
        from: from.to_string(),
        to: date_of_day(s.to).to_string(),
        label,
    }
}

/// A class with its Dutch words and how many cells have it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClassView {
    /// Stable code, e.g. `intensifying_hotspot`.
    pub class: String,
    /// Dutch legend word, e.g. `toenemend`.
    pub label: String,
    /// One Dutch sentence.
    pub explanation: String,
    /// A hot spot class (else cold or none).
    pub hot: bool,
    /// Cells with this class (cells, not children: not a count of people).
    pub cells: usize,
    /// Cells with this class in the before period, in a comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_cells: Option<usize>,
}

/// The trend of one cell, flat so that QGIS shows each as a column.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendProperties {
    /// H3 cell index.
    pub cell: String,
    /// Class code.
    pub class: String,
    /// Dutch legend word.
    pub label: String,
    /// Mann–Kendall z of the cell's Gi* series, one decimal.
    pub trend_z: f64,
    /// Whether that trend is significant at 5 %.
    pub trend_significant: bool,
    /// Gi* z per step, a whole number.
    pub z: Vec<f64>,
    /// ArcGIS Gi_Bin per step (±3/±2/±1 at 99/95/90 % after FDR over the cube, else 0).
    pub bins: Vec<i8>,
    /// The cell's count per step, as the map shows it: `"0"`, `"<10"` or a multiple of 5.
    #[schema(value_type = Vec<String>)]
    pub counts: Vec<SuppressedCount>,
    /// Class code in the before period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_class: Option<String>,
    /// Dutch legend word in the before period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_label: Option<String>,
}

/// One hexagon with its trend.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendFeature {
    /// `"Feature"`.
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// The H3 index.
    pub id: String,
    /// The hexagon.
    pub geometry: PolygonGeometry,
    /// The trend.
    pub properties: TrendProperties,
}

/// The emerging hot spots of a wijk, as an RFC 7946 FeatureCollection with foreign members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendCollection {
    /// `"FeatureCollection"`.
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    /// The wijk.
    pub wijk: WijkRef,
    /// H3 resolution.
    pub resolution: u8,
    /// `children` or `contacts`.
    pub measure: String,
    /// `week` or `month`.
    pub step: Step,
    /// The level of the bins' FDR and of the trend test.
    pub alpha: f64,
    /// The steps of the period.
    pub steps: Vec<StepView>,
    /// The steps of the before period, in a comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_steps: Option<Vec<StepView>>,
    /// Whether cells carry before classes.
    pub compare: bool,
    /// The 17 classes with their cell counts, in legend order.
    pub classes: Vec<ClassView>,
    /// One feature per study-area cell.
    pub features: Vec<TrendFeature>,
}

fn class_counts(trends: &[LocationTrend], p: Pattern) -> usize {
    trends.iter().filter(|t| t.pattern == p).count()
}

/// What a coordinator sees of a trend analysis (the privacy boundary of this module).
pub fn collection(index: &WijkIndex, a: &TrendAnalysis) -> TrendCollection {
    let area = index.area(a.filter.res);
    let n = area.len();
    let features = area
        .cells
        .iter()
        .enumerate()
        .map(|(l, &cell)| {
            let t = &a.after.trends[l];
            let before = a.before.as_ref().map(|b| b.trends[l].pattern);
            TrendFeature {
                kind: FeatureType::Feature,
                id: cell.to_string(),
                geometry: cell_polygon(cell),
                properties: TrendProperties {
                    cell: cell.to_string(),
                    class: t.pattern.code().to_owned(),
                    label: t.pattern.label_nl().to_owned(),
                    trend_z: one_decimal(t.mann_kendall.z),
                    trend_significant: t.mann_kendall.p <= TREND_ALPHA,
                    z: t.z.iter().map(|&z| super::view::published_z(z)).collect(),
                    bins: t.bins.clone(),
                    counts: (0..a.after.steps.len())
                        .map(|s| SuppressedCount::shown(a.after.counts[s * n + l], a.threshold))
                        .collect(),
                    before_class: before.map(|p| p.code().to_owned()),
                    before_label: before.map(|p| p.label_nl().to_owned()),
                },
            }
        })
        .collect();
    let classes = Pattern::ALL
        .iter()
        .map(|&p| ClassView {
            class: p.code().to_owned(),
            label: p.label_nl().to_owned(),
            explanation: p.explanation_nl().to_owned(),
            hot: p.is_hot(),
            cells: class_counts(&a.after.trends, p),
            before_cells: a.before.as_ref().map(|b| class_counts(&b.trends, p)),
        })
        .collect();
    TrendCollection {
        kind: FeatureCollectionType::FeatureCollection,
        wijk: WijkRef::from(&index.wijk),
        resolution: a.filter.res.number(),
        measure: a.filter.measure.code().to_owned(),
        step: a.step,
        alpha: TREND_ALPHA,
        steps: a.after.steps.iter().map(|s| step_view(a.step, s)).collect(),
        before_steps: a
            .before
            .as_ref()
            .map(|b| b.steps.iter().map(|s| step_view(a.step, s)).collect()),
        compare: a.before.is_some(),
        classes,
        features,
    }
}

// ---- exports ---------------------------------------------------------------------------

/// The trends as CSV for Dutch Excel: UTF-8 with BOM, `;`, decimal comma, CRLF, RD New
/// centres, one row per cell, the class (and the class before, in a comparison), and the
/// Gi* z per step (whole numbers).
pub fn csv(c: &TrendCollection) -> String {
    let mut out = String::from("\u{feff}");
    let mut header: Vec<String> = [
        "wijkcode",
        "wijknaam",
        "h3_cel",
        "resolutie",
        "rd_x",
        "rd_y",
        "klasse",
        "klasse_code",
        "uitleg",
        "trend_z",
        "trend_significant",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if c.compare {
        header.push("klasse_ervoor".into());
        header.push("klasse_ervoor_code".into());
    }
    header.extend(
        c.steps
            .iter()
            .map(|s| format!("z {} ({})", s.label, s.from)),
    );
    out.push_str(
        &header
            .iter()
            .map(|h| field(h))
            .collect::<Vec<_>>()
            .join(";"),
    );
    out.push_str("\r\n");
    for f in &c.features {
        let p = &f.properties;
        let (x, y) =
            f.id.parse::<h3o::CellIndex>()
                .ok()
                .and_then(|cell| {
                    let (lon, lat) = cell_centre(cell);
                    to_rd(lon, lat)
                })
                .map_or((String::new(), String::new()), |(x, y)| {
                    (comma(x, 1), comma(y, 1))
                });
        let explanation = Pattern::ALL
            .iter()
            .find(|q| q.code() == p.class)
            .map_or("", |q| q.explanation_nl());
        let mut row = vec![
            field(&c.wijk.code),
            field(&c.wijk.name),
            p.cell.clone(),
            c.resolution.to_string(),
            x,
            y,
            field(&p.label),
            p.class.clone(),
            field(explanation),
            comma(p.trend_z, 1),
            if p.trend_significant { "ja" } else { "nee" }.to_owned(),
        ];
        if c.compare {
            row.push(field(p.before_label.as_deref().unwrap_or("")));
            row.push(p.before_class.clone().unwrap_or_default());
        }
        row.extend(p.z.iter().map(|&z| comma(z, 0)));
        out.push_str(&row.join(";"));
        out.push_str("\r\n");
    }
    out
}

/// `trends-WK059903-r10-week-2026-10-01-2026-11-30.csv`.
pub fn file_name(c: &TrendCollection, from: Option<&str>, to: Option<&str>, ext: &str) -> String {
    let step = match c.step {
        Step::Week => "week",
        Step::Month => "maand",
    };
    let stem = format!("trends-{}-r{}-{step}", c.wijk.code, c.resolution);
    dated_name(stem, from, to, ext)
}

// ---- handlers --------------------------------------------------------------------------

/// Checks scope, parses the filter and the step, and runs the cube on the blocking pool.
async fn analysed(
    state: &Arc<AppState>,
    user: &WebUser,
    wijk: &str,
    query: Result<Query<FilterQuery>, QueryRejection>,
    step: Result<Query<StepQuery>, QueryRejection>,
) -> ApiResult<(TrendCollection, FilterQuery)> {
    let (wijk, version, ptable) = scoped_wijk(state, user, wijk).await?;
    let bad = |e: QueryRejection| {
        ApiError::BadRequest(format!("ongeldige zoekparameters: {}", e.body_text()))
    };
    let Query(query) = query.map_err(bad)?;
    let Query(step) = step.map_err(bad)?;
    let filter = query.parse().map_err(|e| ApiError::BadRequest(e.0))?;
    let step = Step::parse(step.step.as_deref()).map_err(ApiError::BadRequest)?;
    let st = state.clone();
    let collection = tokio::task::spawn_blocking(move || {
        let index = st.hotspot.get(&st.store, &wijk, version)?;
        let a = run(&index, &filter, step, &ptable)?;
        Ok::<_, ApiError>(collection(&index, &a))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok((collection, query))
}

fn geojson(c: &TrendCollection, download: Option<String>) -> ApiResult<Response> {
    let bytes = serde_json::to_vec(c).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(body("application/geo+json", bytes, download))
}

/// The wijk's emerging hot spots: per H3 cell its class (new, consecutive, intensifying,
/// persistent, diminishing, sporadic, oscillating, historical hot or cold spot, or none),
/// its Gi* series and its trend, over weekly (or monthly) steps of the period, with the
/// map's filters. With `before_from`/`before_to` each cell also carries its class before.
#[utoipa::path(get, path = "/api/v1/hotspot/wijken/{wijk}/trends", tag = "hotspot",
    security(("session" = [])),
    params(("wijk" = String, Path, description = "Wijk id"), FilterQuery, StepQuery),
    responses(
        (status = 200, description = "Cells with their trend class", body = TrendCollection, content_type = "application/geo+json"),
        (status = 400, description = "A filter is malformed, or the period is shorter than 8 steps", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not a coordinator, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such wijk in your gemeente", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn trends(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Coordinator>,
    ClientAddr(addr): ClientAddr,
    Path(wijk): Path<String>,
    query: Result<Query<FilterQuery>, QueryRejection>,
    step: Result<Query<StepQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let (c, q) = analysed(&state, &user, &wijk, query, step).await?;
    audit_export(&state, &user, addr, &wijk, "trends", c.features.len(), &q).await?;
    geojson(&c, None)
}

/// The trends as CSV for Dutch Excel (audited).
#[utoipa::path(get, path = "/api/v1/hotspot/wijken/{wijk}/trends/export.csv", tag = "hotspot",
    security(("session" = [])),
    params(("wijk" = String, Path, description = "Wijk id"), FilterQuery, StepQuery),
    responses(
        (status = 200, description = "CSV download", body = String, content_type = "text/csv"),
        (status = 400, description = "A filter is malformed, or the period is shorter than 8 steps", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not a coordinator, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such wijk in your gemeente", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn trends_csv(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Coordinator>,
    ClientAddr(addr): ClientAddr,
    Path(wijk): Path<String>,
    query: Result<Query<FilterQuery>, QueryRejection>,
    step: Result<Query<StepQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let (c, q) = analysed(&state, &user, &wijk, query, step).await?;
    audit_export(
        &state,
        &user,
        addr,
        &wijk,
        "trends-csv",
        c.features.len(),
        &q,
    )
    .await?;
    let name = file_name(&c, q.from.as_deref(), q.to.as_deref(), "csv");
    Ok(body(
        "text/csv; charset=utf-8",
        csv(&c).into_bytes(),
        Some(name),
    ))
}

/// The trends as a GeoJSON file for QGIS (audited).
#[utoipa::path(get, path = "/api/v1/hotspot/wijken/{wijk}/trends/export.geojson", tag = "hotspot",
    security(("session" = [])),
    params(("wijk" = String, Path, description = "Wijk id"), FilterQuery, StepQuery),
    responses(
        (status = 200, description = "GeoJSON download", body = TrendCollection, content_type = "application/geo+json"),
        (status = 400, description = "A filter is malformed, or the period is shorter than 8 steps", body = crate::error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::error::ErrorBody),
        (status = 403, description = "Not a coordinator, or a device token", body = crate::error::ErrorBody),
        (status = 404, description = "No such wijk in your gemeente", body = crate::error::ErrorBody),
        (status = 503, description = "Database busy: nothing was done; try again after Retry-After seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub async fn trends_geojson(
    State(state): State<Arc<AppState>>,
    Authorized(user, _): Authorized<roles::Coordinator>,
    ClientAddr(addr): ClientAddr,
    Path(wijk): Path<String>,
    query: Result<Query<FilterQuery>, QueryRejection>,
    step: Result<Query<StepQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let (c, q) = analysed(&state, &user, &wijk, query, step).await?;
    audit_export(
        &state,
        &user,
        addr,
        &wijk,
        "trends-geojson",
        c.features.len(),
        &q,
    )
    .await?;
    let name = file_name(&c, q.from.as_deref(), q.to.as_deref(), "geojson");
    geojson(&c, Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotspot::filter::{Filter, Measure, Period, Res};
    use crate::hotspot::index::StudyArea;
    use crate::hotspot::test_support::{day, delfshaven, raw_at, table};
    use jiff::civil::Date;

    /// Four patches (a cell and its six neighbours) far apart from each other and from the
    /// wijk's edge, chosen greedily in the order of the study area.
    fn four_patch_centres(area: &StudyArea) -> Vec<usize> {
        let mut centres: Vec<usize> = Vec::new();
        for (l, ring) in area.neighbours.iter().enumerate() {
            let far = centres.iter().all(|&c| {
                area.cells[c]
                    .grid_distance(area.cells[l])
                    .is_ok_and(|d| d >= 5)
            });
            if ring.len() == 6 && far {
                centres.push(l);
            }
            if centres.len() == 4 {
                break;
            }
        }
        assert_eq!(centres.len(), 4, "Delfshaven holds four patches");
        centres
    }

    /// The synthetic wijk (issue 15): Delfshaven at resolution 10 over 12 weeks, a light
    /// background (one child a week in every seventh cell) and four planted hangplekken,
    /// each a cell and its ring: one that appears halfway, one that grows, one that is there
    /// throughout and one that fades. The centre of each must get its planted class.
    #[test]
    fn synthetic_wijk_classifies_planted_trends() {
        let wijk = delfshaven();
        let area = StudyArea::of(&wijk.boundary, Res::Ten).expect("tiles");
        let weeks = 12usize;
        // 2026-09-07 is a Monday; 19:00 UTC is 20:00 or 21:00 in Amsterdam, the same evening.
        let monday = day(2026, 9, 7);
        let centres = four_patch_centres(&area);
        let profiles: [fn(usize) -> u16; 4] = [
            |t| if t >= 6 { 10 } else { 0 }, // appears halfway
            |t| 4 + 2 * t as u16,            // grows
            |_| 12,                          // throughout
            |t| 30 - 2 * t as u16,           // fades
        ];
        let mut rows = Vec::new();
        let mut seq = 0i64;
        let mut push = |cell: usize, week: usize, children: u16| {
            for k in 0..children {
                seq += 1;
                let d = date_of_day(monday + 7 * week as i32 + i32::from(k % 7));
                rows.push(raw_at(
                    seq,
                    &format!("{d}T19:00:00Z"),
                    u64::from(area.cells[cell]),
                ));
            }
        };
        for week in 0..weeks {
            for cell in (0..area.len()).step_by(7) {
                push(cell, week, 1);
            }
            for (&centre, profile) in centres.iter().zip(profiles) {
                for &cell in std::iter::once(&centre).chain(&area.neighbours[centre]) {
                    push(cell, week, profile(week));
                }
            }
        }
        let index = WijkIndex::from_rows(wijk, rows).expect("index");
        let filter = Filter {
            period: Period {
                from: Some(date_of_day(monday)),
                to: Some(date_of_day(monday + 7 * weeks as i32 - 1)),
            },
            measure: Measure::Children,
            ..Filter::default()
        };
        let a = run(&index, &filter, Step::Week, &table()).expect("runs");
        assert_eq!(a.after.steps.len(), weeks);
        let trend = |i: usize| &a.after.trends[centres[i]];
        assert!(
            matches!(
                trend(0).pattern,
                Pattern::NewHotspot | Pattern::ConsecutiveHotspot
            ),
            "appears halfway: {:?}",
            trend(0)
        );
        assert_eq!(
            trend(1).pattern,
            Pattern::IntensifyingHotspot,
            "grows: {:?}",
            trend(1)
        );
        assert_eq!(
            trend(2).pattern,
            Pattern::PersistentHotspot,
            "throughout: {:?}",
            trend(2)
        );
        assert_eq!(
            trend(3).pattern,
            Pattern::DiminishingHotspot,
            "fades: {:?}",
            trend(3)
        );
        // What leaves: classes, whole-number z, counts as the map shows them.
        let c = collection(&index, &a);
        let f = &c.features[centres[2]].properties;
        assert_eq!(f.label, "hardnekkig");
        assert!(f.z.iter().all(|z| z.fract() == 0.0));
        // Shown as the map shows protected counts: never an exact small number.
        assert!(f.counts.iter().all(|n| {
            let t = n.to_string();
            t == "<10" || t.parse::<u64>().is_ok_and(|v| v % 5 == 0)
        }));
        assert_eq!(c.classes.len(), 17);
        assert_eq!(c.classes.iter().map(|k| k.cells).sum::<usize>(), area.len());
    }

    #[test]
    fn csv_opens_in_dutch_excel() {
        let wijk = delfshaven();
        let area = StudyArea::of(&wijk.boundary, Res::Ten).expect("tiles");
        let rows = (0..10)
            .map(|w| {
                let d = date_of_day(day(2026, 9, 7) + 7 * w);
                raw_at(
                    i64::from(w) + 1,
                    &format!("{d}T19:00:00Z"),
                    u64::from(area.cells[3]),
                )
            })
            .collect::<Vec<_>>();
        let index = WijkIndex::from_rows(wijk, rows).expect("index");
        let filter = Filter {
            period: Period {
                from: Some(Date::constant(2026, 9, 7)),
                to: Some(Date::constant(2026, 11, 15)),
            },
            ..Filter::default()
        };
        let a = run(&index, &filter, Step::Week, &table()).expect("runs");
        let c = collection(&index, &a);
        let text = csv(&c);
        assert!(text.starts_with('\u{feff}'));
        let mut lines = text.split("\r\n");
        let header = lines.next().expect("header");
        assert!(header.contains("klasse;klasse_code;uitleg"), "{header}");
        assert_eq!(header.split(';').count(), 11 + 10);
        let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), area.len());
        for row in rows {
            // From the end: the explanation before it is quoted and may hold a ';'.
            let trend_z = row.rsplit(';').nth(11).expect("trend_z column");
            assert!(trend_z.contains(',') && !trend_z.contains('.'), "{row}");
        }
        assert_eq!(
            file_name(&c, Some("2026-09-07"), Some("2026-11-15"), "csv"),
            "trends-WK059903-r10-week-2026-09-07-2026-11-15.csv"
        );
    }
}
