//! Emerging hot spots on the map (issue 15): the space-time cube of a wijk (H3 cells ×
//! weeks, or × months of evenings) and its classes ("nieuw", "toenemend", "hardnekkig",
//! "afnemend", …) per cell. What a coordinator sees of them, the API and the exports are
//! in [`super::trend_api`].
//!
//! **Where the counts come from.** The cube is built with one call per time step of
//! [`step_counts`], which is the very function the map uses for its per-cell counts
//! ([`analysis::protected_cells`]: protected by the cell-key method with the gemeente's
//! perturbation table) with the period narrowed to that step. Nothing else in this module
//! reads contacts or counts, so the cube, its Gi\* and its classes are functions of the
//! protected counts only.
//!
//! **Steps.** A step is a whole ISO week (Monday to Sunday evenings) or a whole calendar
//! month: the cube covers every whole step the chosen period touches, so all weeks have
//! seven evenings and a period that starts on a Wednesday does not make its first week look
//! quiet. A trend needs at least [`MIN_STEPS`] steps; fewer is a 400 with a Dutch message.

use avondronde_shared::disclosure::Ptable;
use avondronde_shared::hotspot::HotspotError;
use avondronde_shared::trend::{
    LocationTrend, MIN_STEPS, TREND_ALPHA, TrendError, emerging_hotspots,
};
use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::analysis;
use super::filter::{Filter, Period, date_of_day, day_number, week_start_of_day};
use super::index::{Columns, IndexRow, WijkIndex};
use crate::error::ApiError;

/// The most weekly steps in one cube (three years); a longer period keeps its latest steps.
pub const MAX_WEEKS: usize = 156;
/// The most monthly steps in one cube (five years).
pub const MAX_MONTHS: usize = 60;

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

/// The exact result of one trends request (never sent as it is; see
/// [`super::trend_api::collection`]).
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::hotspot::filter::Res;
    use crate::hotspot::index::StudyArea;
    use crate::hotspot::test_support::{day, delfshaven, raw_at, table};
    use rstest::rstest;

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
}
