//! One pass over a wijk's index under a filter: exact counts per cell, per hour of the
//! evening and per week, the wijk totals, and the Gi* verdict per cell
//! ([`avondronde_shared::hotspot::analyse`]).
//!
//! The numbers here are **exact** and never leave the server as they are: the only way
//! out is [`super::view`], which suppresses every count. The hotspot class is computed
//! from the exact counts, as the issue allows; a class is not a count.
//!
//! The histogram ignores the hour filter (it shows the whole evening, with the selected
//! hours marked), and the weekly trend ignores the period (it spans the period, or both
//! periods of a comparison, so a change shows as a step). Every other filter applies to
//! all outputs alike.

use avondronde_shared::hotspot::{Hotspot, HotspotError, analyse};

use super::filter::{Filter, week_start_of_day};
use super::index::{OUTSIDE, WijkIndex};

/// The most weeks a trend shows; a longer span keeps its latest weeks.
pub const MAX_TREND_WEEKS: usize = 156;

/// Exact totals of a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Contacts that pass the filter.
    pub contacts: u64,
    /// Children in those contacts (selected age bands).
    pub children: u64,
    /// Children brought home in those contacts.
    pub brought_home: u64,
    /// Contacts with a child past its norm.
    pub past_norm: u64,
}

/// Exact results for one period.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodStats {
    /// The measure per study-area cell.
    pub values: Vec<u64>,
    /// Gi* per cell, from `values`.
    pub hotspots: Vec<Hotspot>,
    /// The measure per hour of the Amsterdam clock (hour filter not applied).
    pub histogram: [u64; 24],
    /// Wijk totals (including contacts outside the study-area cells).
    pub totals: Totals,
}

/// Exact results of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// The filter they answer.
    pub filter: Filter,
    /// The period (in a comparison: after).
    pub after: PeriodStats,
    /// The before period of a comparison.
    pub before: Option<PeriodStats>,
    /// Day number of the Monday of the trend's first week.
    pub trend_first_week: i32,
    /// The measure per week (period filter not applied).
    pub trend: Vec<u64>,
}

/// The trend's first Monday and number of weeks.
fn trend_span(index: &WijkIndex, filter: &Filter) -> Option<(i32, usize)> {
    let periods = std::iter::once(filter.period).chain(filter.before);
    let (mut from, mut to) = (i32::MAX, i32::MIN);
    for p in periods {
        let (f, t) = p.days();
        from = from.min(f);
        to = to.max(t);
    }
    let (data_from, data_to) = index.day_range?;
    if from == i32::MIN {
        from = data_from;
    }
    if to == i32::MAX {
        to = data_to;
    }
    if from > to {
        return None;
    }
    let (first, last) = (week_start_of_day(from), week_start_of_day(to));
    let weeks = ((last - first) / 7 + 1) as usize;
    let weeks = weeks.min(MAX_TREND_WEEKS);
    Some((last - 7 * (weeks as i32 - 1), weeks))
}

/// Runs the filter over the index and Gi* over the study area.
///
/// # Errors
/// Only if the study area is inconsistent (a bug), as [`analyse`] reports it.
pub fn run(index: &WijkIndex, filter: &Filter) -> Result<Analysis, HotspotError> {
    let area = index.area(filter.res);
    let n = area.len();
    let c = &index.contacts;
    let cells = c.cells(filter.res);
    let (pf, pt) = filter.period.days();
    let (bf, bt) = filter.before.map_or((1, 0), |p| p.days());
    let (trend_first, weeks) = trend_span(index, filter).unwrap_or((0, 0));
    let trend_last = trend_first + 7 * weeks as i32 - 1;

    let mut after = vec![0u64; n];
    let mut before = vec![0u64; if filter.before.is_some() { n } else { 0 }];
    let (mut hist_a, mut hist_b) = ([0u64; 24], [0u64; 24]);
    let (mut tot_a, mut tot_b) = (Totals::default(), Totals::default());
    let mut trend = vec![0u64; weeks];

    // One row index into several columns at once: the columnar layout is the point here.
    #[allow(clippy::needless_range_loop)]
    for i in 0..c.len() {
        let Some(v) = filter.value(&c.counts[i], c.behaviours[i], c.flags[i]) else {
            continue;
        };
        let day = c.day[i];
        if !filter.weekday_ok(day) {
            continue;
        }
        // An archive row stands for `weight` contacts with identical facts.
        let weight = u64::from(c.weight[i]);
        let v = u64::from(v) * weight;
        let hour = c.hour[i];
        let hour_ok = filter.hour_ok(hour);
        let in_after = day >= pf && day <= pt;
        let in_before = day >= bf && day <= bt;
        if hour_ok && day >= trend_first && day <= trend_last {
            trend[((day - trend_first) / 7) as usize] += v;
        }
        if !(in_after || in_before) {
            continue;
        }
        let children: u64 = c.counts[i]
            .iter()
            .enumerate()
            .filter(|(b, _)| filter.bands & (1 << b) != 0)
            .map(|(_, &n)| u64::from(n))
            .sum();
        let past = u64::from(c.flags[i] & super::filter::flags::PAST_NORM != 0);
        let cell = cells[i];
        for (inside, values, hist, tot) in [
            (in_after, &mut after, &mut hist_a, &mut tot_a),
            (in_before, &mut before, &mut hist_b, &mut tot_b),
        ] {
            if !inside {
                continue;
            }
            hist[usize::from(hour)] += v;
            if !hour_ok {
                continue;
            }
            tot.contacts += weight;
            tot.children += children * weight;
            tot.brought_home += u64::from(c.brought_home[i]) * weight;
            tot.past_norm += past * weight;
            if cell != OUTSIDE {
                values[cell as usize] += v;
            }
        }
    }

    let stats = |values: Vec<u64>, histogram, totals| -> Result<PeriodStats, HotspotError> {
        let as_f64: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        Ok(PeriodStats {
            hotspots: analyse(&as_f64, &area.neighbours)?,
            values,
            histogram,
            totals,
        })
    };
    Ok(Analysis {
        filter: filter.clone(),
        after: stats(after, hist_a, tot_a)?,
        before: match filter.before {
            Some(_) => Some(stats(before, hist_b, tot_b)?),
            None => None,
        },
        trend_first_week: trend_first,
        trend,
    })
}

/// The stable code of a Gi_Bin class.
pub fn class_code(bin: i8) -> &'static str {
    match bin {
        3 => "hot_99",
        2 => "hot_95",
        1 => "hot_90",
        -1 => "cold_90",
        -2 => "cold_95",
        -3 => "cold_99",
        _ => "not_significant",
    }
}

/// The Dutch label of a Gi_Bin class, as the legend shows it.
pub fn class_label(bin: i8) -> &'static str {
    match bin {
        3 => "Hotspot, 99% betrouwbaar",
        2 => "Hotspot, 95% betrouwbaar",
        1 => "Hotspot, 90% betrouwbaar",
        -1 => "Coldspot, 90% betrouwbaar",
        -2 => "Coldspot, 95% betrouwbaar",
        -3 => "Coldspot, 99% betrouwbaar",
        _ => "Niet significant",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotspot::filter::{Measure, Period, day_number, parse_hours};
    use crate::hotspot::index::RawContact;
    use crate::hotspot::test_support::{delfshaven, raw_at};
    use jiff::civil::Date;

    /// One contact per (cell, count) at 22:30 on 2026-11-20.
    fn index_with(contacts: &[(u64, [u16; 5])]) -> WijkIndex {
        let rows = contacts
            .iter()
            .enumerate()
            .map(|(i, &(cell, counts))| RawContact {
                counts,
                ..raw_at(i as i64 + 1, "2026-11-20T21:30:00Z", cell)
            })
            .collect::<Vec<_>>();
        WijkIndex::from_rows(delfshaven(), rows).expect("index")
    }

    #[test]
    fn z_unchanged_when_every_contact_is_scaled() {
        // The same groups, once as counted and once with every band doubled.
        let wijk = delfshaven();
        let area =
            crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Ten)
                .expect("tiles");
        let cells: Vec<u64> = area.cells.iter().take(40).map(|c| u64::from(*c)).collect();
        let small: Vec<(u64, [u16; 5])> = cells
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, [0, (i % 4) as u16, (i % 3) as u16, 1, 0]))
            .collect();
        let doubled: Vec<(u64, [u16; 5])> =
            small.iter().map(|&(c, n)| (c, n.map(|x| x * 2))).collect();
        let a = run(&index_with(&small), &Filter::default()).expect("runs");
        let b = run(&index_with(&doubled), &Filter::default()).expect("runs");
        assert!(a.after.hotspots.iter().any(|h| h.z != 0.0));
        for (x, y) in a.after.hotspots.iter().zip(&b.after.hotspots) {
            assert!((x.z - y.z).abs() < 1e-9, "{x:?} vs {y:?}");
            assert_eq!(x.bin, y.bin);
        }
        assert_eq!(b.after.totals.children, 2 * a.after.totals.children);
    }

    #[test]
    fn empty_cells_count_as_zero_and_the_measure_switches() {
        let wijk = delfshaven();
        let area =
            crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Ten)
                .expect("tiles");
        let hot = u64::from(area.cells[100]);
        let index = index_with(&[(hot, [0, 3, 2, 0, 0]), (hot, [0, 0, 0, 1, 0])]);
        let children = run(&index, &Filter::default()).expect("runs");
        assert_eq!(children.after.values.len(), area.len());
        assert_eq!(children.after.values[100], 6);
        assert_eq!(children.after.values.iter().sum::<u64>(), 6);
        let contacts = run(
            &index,
            &Filter {
                measure: Measure::Contacts,
                ..Filter::default()
            },
        )
        .expect("runs");
        assert_eq!(contacts.after.values[100], 2);
        assert_eq!(contacts.after.totals.children, 6);
    }

    #[test]
    fn hour_filter_applies_to_cells_not_to_the_histogram() {
        let wijk = delfshaven();
        let area =
            crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Ten)
                .expect("tiles");
        let cell = u64::from(area.cells[5]);
        let rows = vec![
            raw_at(1, "2026-11-20T21:30:00Z", cell), // 22:30
            raw_at(2, "2026-11-21T00:30:00Z", cell), // 01:30, same evening
            raw_at(3, "2026-11-20T18:30:00Z", cell), // 19:30
        ];
        let index = WijkIndex::from_rows(wijk, rows).expect("index");
        let filter = Filter {
            hours: parse_hours("22-2").expect("valid"),
            measure: Measure::Contacts,
            ..Filter::default()
        };
        let a = run(&index, &filter).expect("runs");
        assert_eq!(a.after.values[5], 2);
        assert_eq!(a.after.totals.contacts, 2);
        assert_eq!(
            (
                a.after.histogram[22],
                a.after.histogram[1],
                a.after.histogram[19]
            ),
            (1, 1, 1)
        );
        assert_eq!(a.trend.iter().sum::<u64>(), 2);
    }

    #[test]
    fn before_and_after_split_by_period() {
        let wijk = delfshaven();
        let area =
            crate::hotspot::index::StudyArea::of(&wijk.boundary, crate::hotspot::filter::Res::Nine)
                .expect("tiles");
        let cell9 = u64::from(area.cells[3]);
        let mut early = raw_at(1, "2026-11-02T20:00:00Z", 0);
        early.cell_r9 = Some(cell9);
        let mut late = raw_at(2, "2026-11-20T20:00:00Z", 0);
        late.cell_r9 = Some(cell9);
        let index = WijkIndex::from_rows(
            wijk,
            vec![early, late.clone(), RawContact { seq: 3, ..late }],
        )
        .expect("index");
        let d = |y, m, d| Some(Date::constant(y, m, d));
        let filter = Filter {
            res: crate::hotspot::filter::Res::Nine,
            measure: Measure::Contacts,
            before: Some(Period {
                from: d(2026, 11, 1),
                to: d(2026, 11, 14),
            }),
            period: Period {
                from: d(2026, 11, 15),
                to: d(2026, 11, 28),
            },
            ..Filter::default()
        };
        let a = run(&index, &filter).expect("runs");
        let before = a.before.expect("comparison");
        assert_eq!((before.values[3], a.after.values[3]), (1, 2));
        assert_eq!(a.trend_first_week, day_number(Date::constant(2026, 10, 26)));
        assert_eq!(a.trend.len(), 5);
        assert_eq!(a.trend.iter().sum::<u64>(), 3);
    }
}
