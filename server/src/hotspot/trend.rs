//! Emerging hot spots on the map (issue 15): a space-time cube of the wijk (H3 cells ×
//! weeks, or × months of evenings), its classes ("nieuw", "toenemend", "hardnekkig",
//! "afnemend", …) per cell, the API `GET /api/v1/hotspot/wijken/{wijk}/trends` with the
//! map's filters, and its CSV and GeoJSON exports (audited like the map's).
//!
//! **Where the counts come from.** The cube is built with one call per time step of
//! [`step_counts`], which is the very function the map uses for its per-cell counts
//! ([`analysis::protected_cells`]: protected by the cell-key method with the gemeente's
//! perturbation table) with the period narrowed to that step. Nothing else in this module
//! reads contacts or counts, so the cube, its Gi\* and its classes are functions of the
//! protected counts only.
//!
//! **What leaves.** Classes (from [`avondronde_shared::trend`]), per step the ArcGIS bin and
//! the Gi\* z-score rounded to one decimal, the Mann–Kendall z rounded to one decimal and
//! whether the trend is significant, and per step the cell's count exactly as the map shows
//! it ([`SuppressedCount::shown`] with the gemeente's threshold). No exact count, no p-value with more than one decimal.
//!
//! **Steps.** A step is a whole ISO week (Monday to Sunday evenings) or a whole calendar
//! month: the cube covers every whole step the chosen period touches, so all weeks have
//! seven evenings and a period that starts on a Wednesday does not make its first week look
//! quiet. A trend needs at least [`MIN_STEPS`] steps; fewer is a 400 with a Dutch message.

use std::sync::Arc;

use avondronde_shared::disclosure::Ptable;
use avondronde_shared::hotspot::{HotspotError, SuppressedCount};
use avondronde_shared::trend::{
    LocationTrend, MIN_STEPS, Pattern, TREND_ALPHA, TrendError, emerging_hotspots,
};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::analysis;
use super::api::{audit_export, body, scoped_wijk};
use super::export::to_rd;
use super::filter::{Filter, FilterQuery, Period, date_of_day, day_number, week_start_of_day};
use super::index::{Columns, IndexRow, WijkIndex};
use super::view::{
    FeatureCollectionType, FeatureType, PolygonGeometry, WijkRef, cell_centre, cell_polygon,
};
use crate::api::ApiResult;
use crate::audit::ClientAddr;
use crate::auth::{Authorized, WebUser, roles};
use crate::error::ApiError;
use crate::state::AppState;

/// The most weekly steps in one cube (three years); a longer period keeps its latest steps.
pub const MAX_WEEKS: usize = 156;
/// The most monthly steps in one cube (five years).
pub const MAX_MONTHS: usize = 60;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(trends))
        .routes(routes!(trends_csv))
        .routes(routes!(trends_geojson))
}

/// The per-cell counts of one time step: **the same function the map uses** for its cells,
/// so they are protected counts ([`analysis::protected_cells`]). It is the only place the
/// cube gets counts from.
pub fn step_counts(
    index: &WijkIndex,
    filter: &Filter,
    ptable: &Ptable,
) -> Result<Vec<u64>, HotspotError> {
    Ok(analysis::protected_cells(index, filter, ptable))
}

/// The length of a time step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// ISO weeks, Monday to Sunday evenings (the default).
    #[default]
    Week,
    /// Calendar months of evenings.
    Month,
}

impl Step {
    /// Parses `week`/`week`, `month`/`maand`; empty is a week.
    ///
    /// # Errors
    /// A Dutch message for anything else.
    pub fn parse(s: Option<&str>) -> Result<Step, String> {
        match s.map(str::trim) {
            None | Some("") | Some("week") => Ok(Step::Week),
            Some("month") | Some("maand") => Ok(Step::Month),
            Some(other) => Err(format!(
                "tijdstap {other:?} bestaat niet; kies week of month (maand)"
            )),
        }
    }

    /// The Dutch plural, for messages.
    pub fn plural_nl(self) -> &'static str {
        match self {
            Step::Week => "weken",
            Step::Month => "maanden",
        }
    }
}

/// The trend's own query parameter, next to the map's filters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StepQuery {
    /// Time step of the cube: `week` (default) or `month` (evenings per calendar month).
    #[param(example = "week")]
    pub step: Option<String>,
}

/// One time step: evening days `from..=to` (day numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepSpan {
    /// First evening.
    pub from: i32,
    /// Last evening.
    pub to: i32,
}

fn month_start(d: Date) -> Date {
    d.first_of_month()
}

/// The whole steps that the evenings `from..=to` touch, oldest first, at most `max` of them
/// (the latest).
pub fn steps(step: Step, from: i32, to: i32) -> Vec<StepSpan> {
    if from > to {
        return Vec::new();
    }
    let mut out = Vec::new();
    match step {
        Step::Week => {
            let mut monday = week_start_of_day(from);
            while monday <= to {
                out.push(StepSpan {
                    from: monday,
                    to: monday + 6,
                });
                monday += 7;
            }
            let keep = out.len().saturating_sub(MAX_WEEKS);
            out.drain(..keep);
        }
        Step::Month => {
            let last = date_of_day(to);
            let mut start = month_start(date_of_day(from));
            while start <= last {
                let next = start.checked_add(1.month()).unwrap_or(Date::MAX);
                out.push(StepSpan {
                    from: day_number(start),
                    to: day_number(next) - 1,
                });
                if next == Date::MAX {
                    break;
                }
                start = next;
            }
            let keep = out.len().saturating_sub(MAX_MONTHS);
            out.drain(..keep);
        }
    }
    out
}

/// The cube of one period: its steps, the counts per step and cell, and per cell its trend.
#[derive(Debug, Clone, PartialEq)]
pub struct Cube {
    /// The steps, oldest first.
    pub steps: Vec<StepSpan>,
    /// Counts, step-major (`counts[t * cells + l]`), as [`step_counts`] gave them.
    pub counts: Vec<u64>,
    /// Per study-area cell, its z series, bins, Mann–Kendall and class.
    pub trends: Vec<LocationTrend>,
}

/// The exact result of one trends request (never sent as it is; see [`collection`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TrendAnalysis {
    /// The filter.
    pub filter: Filter,
    /// The step.
    pub step: Step,
    /// The gemeente's threshold below which a count shows as `<T`.
    pub threshold: u32,
    /// The period (in a comparison: after).
    pub after: Cube,
    /// The before period of a comparison.
    pub before: Option<Cube>,
}

/// Why a trend could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrendRunError {
    /// Too few steps in a period: the user's choice, said in Dutch.
    #[error(
        "{period} beslaat {steps} {unit}; een trend heeft er minstens {min} nodig. Kies een langere periode."
    )]
    TooFewSteps {
        /// `de periode` or `de periode ervoor`.
        period: &'static str,
        /// Steps it has.
        steps: usize,
        /// `weken` or `maanden`.
        unit: &'static str,
        /// [`MIN_STEPS`].
        min: usize,
    },
    /// A bug: the study area or the cube is inconsistent.
    #[error("{0}")]
    Internal(String),
}

impl From<TrendRunError> for ApiError {
    fn from(e: TrendRunError) -> Self {
        match e {
            TrendRunError::TooFewSteps { .. } => ApiError::BadRequest(e.to_string()),
            TrendRunError::Internal(m) => ApiError::Internal(m),
        }
    }
}

/// The wijk's contacts split by step: for each step an index holding only the rows whose
/// evening falls in it (same wijk, same study areas). [`step_counts`] on a step's slice
/// with the step's filter gives exactly what it gives on the whole index, because every row
/// outside the step's period is skipped for the cell counts anyway; the slices only spare
/// each step the pass over a whole year of rows.
fn slices(index: &WijkIndex, spans: &[StepSpan]) -> Vec<WijkIndex> {
    let empty = || WijkIndex {
        wijk: index.wijk.clone(),
        area9: index.area9.clone(),
        area10: index.area10.clone(),
        contacts: Columns::default(),
        through_seq: index.through_seq,
        config_version: index.config_version,
        day_range: None,
    };
    let mut out: Vec<WijkIndex> = spans.iter().map(|_| empty()).collect();
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
        return out;
    };
    let c = &index.contacts;
    for i in 0..c.len() {
        let day = c.day[i];
        if day < first.from || day > last.to {
            continue;
        }
        // Steps are contiguous and sorted: the last one starting on or before the day.
        let step = spans.partition_point(|s| s.from <= day).saturating_sub(1);
        out[step].contacts.push(IndexRow {
            seq: c.seq[i],
            day,
            hour: c.hour[i],
            counts: c.counts[i],
            brought_home: c.brought_home[i],
            behaviours: c.behaviours[i],
            flags: c.flags[i],
            cell9: c.cell9[i],
            cell10: c.cell10[i],
            weight: c.weight[i],
            key: c.key[i],
        });
    }
    for (slice, span) in out.iter_mut().zip(spans) {
        slice.day_range = (!slice.contacts.is_empty()).then_some((span.from, span.to));
    }
    out
}

/// The counts of every step, computed on up to as many threads as the machine has cores.
fn cube_counts(
    index: &WijkIndex,
    filter: &Filter,
    spans: &[StepSpan],
    ptable: &Ptable,
) -> Result<Vec<u64>, String> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, spans.len().max(1));
    let per_thread = spans.len().div_ceil(threads).max(1);
    let step_filter = |s: &StepSpan| Filter {
        period: Period {
            from: Some(date_of_day(s.from)),
            to: Some(date_of_day(s.to)),
        },
        before: None,
        ..filter.clone()
    };
    let slices = slices(index, spans);
    let work: Vec<(&StepSpan, &WijkIndex)> = spans.iter().zip(&slices).collect();
    let chunks: Vec<Result<Vec<Vec<u64>>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(s, slice)| {
                            step_counts(slice, &step_filter(s), ptable).map_err(|e| e.to_string())
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a step of the trend cube panicked".to_owned()))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(spans.len() * index.area(filter.res).len());
    for chunk in chunks {
        for step in chunk? {
            out.extend(step);
        }
    }
    Ok(out)
}

fn cube(
    index: &WijkIndex,
    filter: &Filter,
    step: Step,
    period: Period,
    name: &'static str,
    ptable: &Ptable,
) -> Result<Cube, TrendRunError> {
    let (mut from, mut to) = period.days();
    if let Some((first, last)) = index.day_range {
        if from == i32::MIN {
            from = first;
        }
        if to == i32::MAX {
            to = last;
        }
    }
    let spans = if from == i32::MIN || to == i32::MAX {
        Vec::new()
    } else {
        steps(step, from, to)
    };
    if spans.len() < MIN_STEPS {
        return Err(TrendRunError::TooFewSteps {
            period: name,
            steps: spans.len(),
            unit: step.plural_nl(),
            min: MIN_STEPS,
        });
    }
    let area = index.area(filter.res);
    let counts = cube_counts(index, filter, &spans, ptable).map_err(TrendRunError::Internal)?;
    let values: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let trends = emerging_hotspots(&values, &area.neighbours, spans.len(), TREND_ALPHA).map_err(
        |e| match e {
            TrendError::TooFewSteps { steps, min } => TrendRunError::TooFewSteps {
                period: name,
                steps,
                unit: step.plural_nl(),
                min,
            },
            other => TrendRunError::Internal(other.to_string()),
        },
    )?;
    Ok(Cube {
        steps: spans,
        counts,
        trends,
    })
}

/// Builds the cube of the period (and of the before period, in a comparison) and classifies
/// every cell.
///
/// # Errors
/// [`TrendRunError::TooFewSteps`] when a period covers fewer than [`MIN_STEPS`] steps.
pub fn run(
    index: &WijkIndex,
    filter: &Filter,
    step: Step,
    ptable: &Ptable,
) -> Result<TrendAnalysis, TrendRunError> {
    let after = cube(index, filter, step, filter.period, "de periode", ptable)?;
    let before = match filter.before {
        Some(p) => Some(cube(index, filter, step, p, "de periode ervoor", ptable)?),
        None => None,
    };
    Ok(TrendAnalysis {
        filter: filter.clone(),
        step,
        threshold: ptable.params().threshold,
        after,
        before,
    })
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
    /// Gi* z per step, one decimal.
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
                    z: t.z.iter().map(|&z| one_decimal(z)).collect(),
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

fn comma(x: f64, decimals: usize) -> String {
    format!("{x:.decimals$}").replace('.', ",")
}

fn field(s: &str) -> String {
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The trends as CSV for Dutch Excel: UTF-8 with BOM, `;`, decimal comma, CRLF, RD New
/// centres, one row per cell, the class (and the class before, in a comparison), and the
/// Gi* z per step (one decimal).
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
        row.extend(p.z.iter().map(|&z| comma(z, 1)));
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
    let mut name = format!("trends-{}-r{}-{step}", c.wijk.code, c.resolution);
    for d in [from, to].into_iter().flatten() {
        name.push('-');
        name.push_str(d);
    }
    name.retain(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    format!("{name}.{ext}")
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
    Path(wijk): Path<String>,
    query: Result<Query<FilterQuery>, QueryRejection>,
    step: Result<Query<StepQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let (c, _) = analysed(&state, &user, &wijk, query, step).await?;
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
    audit_export(&state, &user, addr, &wijk, "trends-csv", c.features.len()).await?;
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
    )
    .await?;
    let name = file_name(&c, q.from.as_deref(), q.to.as_deref(), "geojson");
    geojson(&c, Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Ptable {
        Ptable::new(avondronde_shared::disclosure::PtableParams::default()).expect("default table")
    }
    use crate::hotspot::filter::{Measure, Res};
    use crate::hotspot::index::StudyArea;
    use crate::hotspot::test_support::{delfshaven, raw_at};
    use rstest::rstest;

    fn day(y: i16, m: i8, d: i8) -> i32 {
        day_number(Date::constant(y, m, d))
    }

    #[rstest]
    // 2026-11-04 is a Wednesday: its whole week starts on Monday 2 November.
    #[case::whole_weeks(
        Step::Week,
        day(2026, 11, 4),
        day(2026, 12, 30),
        9,
        day(2026, 11, 2),
        day(2027, 1, 3)
    )]
    #[case::months(
        Step::Month,
        day(2026, 3, 15),
        day(2026, 12, 2),
        10,
        day(2026, 3, 1),
        day(2026, 12, 31)
    )]
    #[case::leap_february(
        Step::Month,
        day(2028, 2, 10),
        day(2028, 2, 11),
        1,
        day(2028, 2, 1),
        day(2028, 2, 29)
    )]
    #[case::empty(Step::Week, day(2026, 11, 4), day(2026, 11, 3), 0, 0, 0)]
    fn steps_are_whole_weeks_or_months(
        #[case] step: Step,
        #[case] from: i32,
        #[case] to: i32,
        #[case] count: usize,
        #[case] first: i32,
        #[case] last: i32,
    ) {
        let s = steps(step, from, to);
        assert_eq!(s.len(), count);
        if count > 0 {
            assert_eq!((s[0].from, s[count - 1].to), (first, last));
            assert!(s.windows(2).all(|w| w[1].from == w[0].to + 1), "contiguous");
        }
    }

    #[test]
    fn a_long_period_keeps_its_latest_weeks() {
        let s = steps(Step::Week, day(2020, 1, 1), day(2026, 12, 31));
        assert_eq!(s.len(), MAX_WEEKS);
        assert_eq!(s[MAX_WEEKS - 1].to, day(2027, 1, 3));
    }

    #[rstest]
    #[case::default(None, Ok(Step::Week))]
    #[case::month(Some("month"), Ok(Step::Month))]
    #[case::maand(Some("maand"), Ok(Step::Month))]
    #[case::day(Some("dag"), Err(()))]
    fn step_parameter(#[case] s: Option<&str>, #[case] expected: Result<Step, ()>) {
        assert_eq!(Step::parse(s).map_err(|_| ()), expected);
    }

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
        // What leaves: classes, one-decimal z, counts as the map shows them.
        let c = collection(&index, &a);
        let f = &c.features[centres[2]].properties;
        assert_eq!(f.label, "hardnekkig");
        assert!(
            f.z.iter()
                .all(|z| (z * 10.0 - (z * 10.0).round()).abs() < 1e-9)
        );
        // Shown as the map shows protected counts: never an exact small number.
        assert!(f.counts.iter().all(|n| {
            let t = n.to_string();
            t == "<10" || t.parse::<u64>().is_ok_and(|v| v % 5 == 0)
        }));
        assert_eq!(c.classes.len(), 17);
        assert_eq!(c.classes.iter().map(|k| k.cells).sum::<usize>(), area.len());
    }

    /// The per-step slices are an optimisation only: the map's call on a slice gives what it
    /// gives on the whole index.
    #[test]
    fn step_slices_give_the_same_counts_as_the_whole_index() {
        let wijk = delfshaven();
        let area = StudyArea::of(&wijk.boundary, Res::Ten).expect("tiles");
        let rows: Vec<_> = (0..400i64)
            .map(|k| {
                let d = date_of_day(day(2026, 9, 1) + (k * 37 % 90) as i32);
                let cell = u64::from(area.cells[(k as usize * 13) % area.len()]);
                raw_at(k + 1, &format!("{d}T{:02}:30:00Z", 16 + k % 8), cell)
            })
            .collect();
        let index = WijkIndex::from_rows(wijk, rows).expect("index");
        let spans = steps(Step::Week, day(2026, 9, 1), day(2026, 11, 29));
        let filter = Filter::default();
        let sliced = cube_counts(&index, &filter, &spans, &table()).expect("counts");
        let whole: Vec<u64> = spans
            .iter()
            .flat_map(|s| {
                let f = Filter {
                    period: Period {
                        from: Some(date_of_day(s.from)),
                        to: Some(date_of_day(s.to)),
                    },
                    ..Filter::default()
                };
                step_counts(&index, &f, &table()).expect("counts")
            })
            .collect();
        assert_eq!(sliced, whole);
        // Protected counts: each non-empty cell is off by at most the table's maximum noise.
        let nonzero = sliced.iter().filter(|&&n| n > 0).count() as i64;
        let sum = sliced.iter().sum::<u64>() as i64;
        assert!((sum - 400).abs() <= 5 * nonzero, "{sum} for 400 contacts");
    }

    #[test]
    fn fewer_than_eight_weeks_is_a_dutch_400() {
        let wijk = delfshaven();
        let area = StudyArea::of(&wijk.boundary, Res::Ten).expect("tiles");
        let index = WijkIndex::from_rows(
            wijk,
            vec![raw_at(1, "2026-11-20T21:30:00Z", u64::from(area.cells[0]))],
        )
        .expect("index");
        let filter = Filter {
            period: Period {
                from: Some(Date::constant(2026, 11, 2)),
                to: Some(Date::constant(2026, 12, 20)),
            },
            ..Filter::default()
        };
        let err = run(&index, &filter, Step::Week, &table()).expect_err("7 weeks");
        assert!(matches!(err, TrendRunError::TooFewSteps { steps: 7, .. }));
        assert!(err.to_string().contains("minstens 8"), "{err}");
        assert!(matches!(ApiError::from(err), ApiError::BadRequest(_)));
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
