//! What a coordinator is shown: the API's response types, made from a protected
//! [`Analysis`] (every count in it went through the cell-key method,
//! [`avondronde_shared::disclosure`]). Every count that leaves this module is then shown
//! as 0, "<10" or rounded to 5 ([`SuppressedCount::shown`]), and every comparison between
//! two counts is computed from the two *shown* values only ([`change`]).
//!
//! Gi* is computed from the protected counts. z-scores leave as whole numbers, and the
//! p-value is the p-value *of that rounded z*, with one decimal: the class says what a
//! coordinator needs, and finer scores let the values behind them be solved for. With one
//! decimal, an attack review (rev4) solved the published z of a one-evening map for the
//! protected value behind 94 % of its `<10` cells, and read the exact count of 31 % from
//! those with the public perturbation table. q-values (Benjamini–Hochberg) have one
//! decimal.

use avondronde_shared::WijkId;
use avondronde_shared::hotspot::{Hotspot, SuppressedCount, p_value};
use h3o::{CellIndex, LatLng};
use serde::Serialize;
use utoipa::ToSchema;

use super::analysis::{Analysis, PeriodStats, Totals, class_code, class_label};
use super::filter::{Period, date_of_day};
use super::index::WijkIndex;

/// `"FeatureCollection"`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum FeatureCollectionType {
    /// The only value.
    FeatureCollection,
}

/// `"Feature"`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum FeatureType {
    /// The only value.
    Feature,
}

/// `"Polygon"`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum PolygonType {
    /// The only value.
    Polygon,
}

/// A wijk as the map names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WijkRef {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: WijkId,
    /// CBS wijk code, e.g. `WK059903`.
    pub code: String,
    /// Name.
    pub name: String,
}

impl From<&avondronde_shared::area::Wijk> for WijkRef {
    fn from(w: &avondronde_shared::area::Wijk) -> Self {
        WijkRef {
            id: w.id,
            code: w.code.clone(),
            name: w.name.clone(),
        }
    }
}

/// A GeoJSON Polygon (RFC 7946: WGS84 longitude/latitude, exterior ring counterclockwise).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolygonGeometry {
    /// `"Polygon"`.
    #[serde(rename = "type")]
    pub kind: PolygonType,
    /// One closed ring of `[longitude, latitude]` positions.
    pub coordinates: Vec<Vec<[f64; 2]>>,
}

/// How a count changed between the before and the after period, judged from the shown
/// (suppressed) values only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Certainly higher (per evening) after.
    Up,
    /// Certainly lower (per evening) after.
    Down,
    /// The same shown value (or within rounding, for counts of at least 10).
    Same,
    /// Cannot be told from the shown values (e.g. "<10" before and after).
    Unknown,
}

/// A before/after change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Change {
    /// Direction.
    pub direction: Direction,
    /// Change per evening in percent, only when both shown values are at least 10.
    pub percent: Option<i64>,
    /// After minus before, of the shown values, only when both are numbers and the
    /// periods are equally long.
    pub difference: Option<i64>,
}

/// The range of true counts a shown value stands for.
pub fn shown_interval(shown: SuppressedCount) -> (u64, u64) {
    match shown.value() {
        None => (1, u64::from(shown.threshold()) - 1),
        Some(0) => (0, 0),
        Some(v) => (v.saturating_sub(2).max(10), v.saturating_add(2)),
    }
}

/// The change between two shown counts over periods of `days_before` and `days_after`
/// evenings (compared per evening; unknown lengths count as equal).
///
/// Only the shown values go in, so the result reveals nothing they do not: a direction is
/// given when the ranges the shown values stand for do not overlap (per evening), or
/// when both are at least 10; a percentage only when both are at least 10.
pub fn change(
    before: SuppressedCount,
    after: SuppressedCount,
    days_before: Option<i64>,
    days_after: Option<i64>,
) -> Change {
    let (db, da) = match (days_before, days_after) {
        (Some(b), Some(a)) if b > 0 && a > 0 => (b as f64, a as f64),
        _ => (1.0, 1.0),
    };
    let equal_length = db == da;
    let (bl, bh) = shown_interval(before);
    let (al, ah) = shown_interval(after);
    let percent = match (before.value(), after.value()) {
        (Some(b), Some(a)) if b >= 10 && a >= 10 => {
            Some(((a as f64 / da) / (b as f64 / db) * 100.0 - 100.0).round() as i64)
        }
        _ => None,
    };
    let difference = match (before.value(), after.value()) {
        (Some(b), Some(a)) if equal_length => Some(a as i64 - b as i64),
        _ => None,
    };
    let direction = if (bl, bh, al, ah) == (0, 0, 0, 0) {
        Direction::Same
    } else if al as f64 / da > bh as f64 / db {
        Direction::Up
    } else if (ah as f64 / da) < bl as f64 / db {
        Direction::Down
    } else {
        match percent {
            Some(p) if p > 0 => Direction::Up,
            Some(p) if p < 0 => Direction::Down,
            Some(_) => Direction::Same,
            None => Direction::Unknown,
        }
    };
    Change {
        direction,
        percent,
        difference,
    }
}

/// Rounds to `decimals` decimals.
fn round_to(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// The published z-score: a whole number (never `-0`). The map and the trends both
/// publish through this.
pub fn published_z(z: f64) -> f64 {
    let r = round_to(z, 0);
    if r == 0.0 { 0.0 } else { r }
}

/// The published p-value: the two-sided p-value of the *published* z, with one decimal,
/// so that it says nothing the published z does not.
pub fn published_p(z: f64) -> f64 {
    round_to(p_value(published_z(z)), 1)
}

/// The properties of one cell. Flat, so that QGIS shows each as a column.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CellProperties {
    /// H3 cell index (hexadecimal).
    pub cell: String,
    /// The measure in the cell, suppressed: `"0"`, `"<10"` or a multiple of 5.
    #[schema(value_type = String, example = "<10")]
    pub count: SuppressedCount,
    /// Gi* z-score of the protected counts (a whole number).
    pub z: f64,
    /// Two-sided p-value of the published z (one decimal).
    pub p: f64,
    /// Benjamini–Hochberg q-value over the study area (one decimal).
    pub q: f64,
    /// Whether the cell passes FDR at 5 %.
    pub significant: bool,
    /// ArcGIS Gi_Bin: ±3, ±2, ±1 (99/95/90 % after FDR), 0 not significant.
    pub gi_bin: i8,
    /// Class code: `hot_99` … `not_significant` … `cold_99`.
    pub class: String,
    /// Dutch class label.
    pub label: String,
    /// Count in the before period, suppressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub before_count: Option<SuppressedCount>,
    /// z-score in the before period (one decimal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_z: Option<f64>,
    /// Gi_Bin in the before period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_gi_bin: Option<i8>,
    /// Class code in the before period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_class: Option<String>,
    /// Direction of the change of the count (from the shown values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Direction>,
    /// Change per evening in percent (both shown values at least 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_percent: Option<i64>,
    /// Shown after minus shown before (equal periods, both numbers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_difference: Option<i64>,
}

/// One hexagon.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CellFeature {
    /// `"Feature"`.
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// The H3 index, as the feature id.
    pub id: String,
    /// The hexagon.
    pub geometry: PolygonGeometry,
    /// Counts and statistics.
    pub properties: CellProperties,
}

/// The hexagons of a wijk's study area as an RFC 7946 FeatureCollection, with a few
/// foreign members describing the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CellCollection {
    /// `"FeatureCollection"`.
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    /// The wijk.
    pub wijk: WijkRef,
    /// H3 resolution.
    pub resolution: u8,
    /// `children` or `contacts`.
    pub measure: String,
    /// Whether the cells carry before/after fields.
    pub compare: bool,
    /// One feature per study-area cell, empty cells included.
    pub features: Vec<CellFeature>,
}

/// The hexagon of a cell as a closed, counterclockwise ring rounded to 1e-6 degrees.
pub fn cell_polygon(cell: CellIndex) -> PolygonGeometry {
    let mut ring: Vec<[f64; 2]> = cell
        .boundary()
        .iter()
        .map(|ll| [round_to(ll.lng(), 6), round_to(ll.lat(), 6)])
        .collect();
    let twice_area: f64 = ring
        .iter()
        .zip(ring.iter().cycle().skip(1))
        .map(|(a, b)| a[0] * b[1] - b[0] * a[1])
        .sum();
    if twice_area < 0.0 {
        ring.reverse();
    }
    if let Some(&first) = ring.first() {
        ring.push(first);
    }
    PolygonGeometry {
        kind: PolygonType::Polygon,
        coordinates: vec![ring],
    }
}

/// The centre of a cell as (longitude, latitude).
pub fn cell_centre(cell: CellIndex) -> (f64, f64) {
    let ll = LatLng::from(cell);
    (ll.lng(), ll.lat())
}

/// The hexagons with suppressed counts and statistics.
pub fn cells(index: &WijkIndex, a: &Analysis) -> CellCollection {
    let area = index.area(a.filter.res);
    let days_after = a.filter.period.len_days();
    let days_before = a.filter.before.and_then(|p| p.len_days());
    let show = |v: u64| SuppressedCount::shown(v, a.params.threshold);
    let features = area
        .cells
        .iter()
        .enumerate()
        .map(|(i, &cell)| {
            let h: Hotspot = a.after.hotspots[i];
            let count = show(a.after.values[i]);
            let mut props = CellProperties {
                cell: cell.to_string(),
                count,
                z: published_z(h.z),
                p: published_p(h.z),
                q: round_to(h.q, 1),
                significant: h.significant,
                gi_bin: h.bin,
                class: class_code(h.bin).to_owned(),
                label: class_label(h.bin).to_owned(),
                before_count: None,
                before_z: None,
                before_gi_bin: None,
                before_class: None,
                change: None,
                change_percent: None,
                change_difference: None,
            };
            if let Some(b) = &a.before {
                let shown = show(b.values[i]);
                let hb = b.hotspots[i];
                let ch = change(shown, count, days_before, days_after);
                props.before_count = Some(shown);
                props.before_z = Some(published_z(hb.z));
                props.before_gi_bin = Some(hb.bin);
                props.before_class = Some(class_code(hb.bin).to_owned());
                props.change = Some(ch.direction);
                props.change_percent = ch.percent;
                props.change_difference = ch.difference;
            }
            CellFeature {
                kind: FeatureType::Feature,
                id: cell.to_string(),
                geometry: cell_polygon(cell),
                properties: props,
            }
        })
        .collect();
    CellCollection {
        kind: FeatureCollectionType::FeatureCollection,
        wijk: WijkRef::from(&index.wijk),
        resolution: a.filter.res.number(),
        measure: a.filter.measure.code().to_owned(),
        compare: a.before.is_some(),
        features,
    }
}

/// One hour of the evening.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HourBin {
    /// Hour of the Amsterdam clock, 0–23.
    pub hour: u8,
    /// `"22:00"`.
    pub label: String,
    /// The measure in this hour, suppressed.
    #[schema(value_type = String, example = "15")]
    pub count: SuppressedCount,
    /// The measure in this hour in the before period, suppressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub before: Option<SuppressedCount>,
    /// Whether the hour filter selects this hour.
    pub selected: bool,
}

/// The measure by hour of the evening, from 12:00 to 11:00 (the hour filter is not
/// applied, the selected hours are marked).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Histogram {
    /// `children` or `contacts`.
    pub measure: String,
    /// 24 hours, starting at 12:00.
    pub hours: Vec<HourBin>,
}

/// The measure by hour of the evening.
pub fn histogram(a: &Analysis) -> Histogram {
    let show = |v: u64| SuppressedCount::shown(v, a.params.threshold);
    let hours = (12..24)
        .chain(0..12)
        .map(|h: u8| HourBin {
            hour: h,
            label: format!("{h:02}:00"),
            count: show(a.after.histogram[usize::from(h)]),
            before: a.before.as_ref().map(|b| show(b.histogram[usize::from(h)])),
            selected: a.filter.hour_ok(h),
        })
        .collect();
    Histogram {
        measure: a.filter.measure.code().to_owned(),
        hours,
    }
}

/// Which period a week falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeekPeriod {
    /// In the period (in a comparison: after).
    Period,
    /// In the before period.
    Before,
    /// In neither.
    Outside,
}

/// One week of the trend.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeekBin {
    /// The Monday that starts the week, `2026-11-16`.
    pub week_start: String,
    /// ISO week number.
    pub week: i8,
    /// The measure in this week, suppressed.
    #[schema(value_type = String, example = "25")]
    pub count: SuppressedCount,
    /// Which period the week (mostly) falls in.
    pub period: WeekPeriod,
}

/// The measure per week (Monday to Sunday evenings).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Trend {
    /// `children` or `contacts`.
    pub measure: String,
    /// The weeks, oldest first.
    pub weeks: Vec<WeekBin>,
}

fn overlap(week_start: i32, p: &Period) -> i32 {
    let (from, to) = p.days();
    let (a, b) = (week_start.max(from), (week_start + 6).min(to));
    (b - a + 1).max(0)
}

/// The weekly trend.
pub fn trend(a: &Analysis) -> Trend {
    let show = |v: u64| SuppressedCount::shown(v, a.params.threshold);
    let weeks = a
        .trend
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let start = a.trend_first_week + 7 * i as i32;
            let date = date_of_day(start);
            let in_period = overlap(start, &a.filter.period);
            let in_before = a.filter.before.map_or(0, |b| overlap(start, &b));
            let period = if in_period == 0 && in_before == 0 {
                WeekPeriod::Outside
            } else if in_before > in_period {
                WeekPeriod::Before
            } else {
                WeekPeriod::Period
            };
            WeekBin {
                week_start: date.to_string(),
                week: date.iso_week_date().week(),
                count: show(v),
                period,
            }
        })
        .collect();
    Trend {
        measure: a.filter.measure.code().to_owned(),
        weeks,
    }
}

/// Suppressed wijk totals.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotalsView {
    /// Contacts.
    #[schema(value_type = String)]
    pub contacts: SuppressedCount,
    /// Children (selected age bands).
    #[schema(value_type = String)]
    pub children: SuppressedCount,
    /// Children brought home.
    #[schema(value_type = String)]
    pub brought_home: SuppressedCount,
    /// Contacts with a child past its norm.
    #[schema(value_type = String)]
    pub past_norm: SuppressedCount,
}

impl TotalsView {
    /// Shows protected totals with threshold `threshold`.
    pub fn of(t: Totals, threshold: u32) -> Self {
        let show = |v: u64| SuppressedCount::shown(v, threshold);
        TotalsView {
            contacts: show(t.contacts),
            children: show(t.children),
            brought_home: show(t.brought_home),
            past_norm: show(t.past_norm),
        }
    }
}

/// How many cells fall in each class (cells, not children: not suppressed).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ClassCounts {
    /// Cells in the study area.
    pub cells: usize,
    /// Hotspot cells (Gi_Bin 1–3).
    pub hot: usize,
    /// Of which at 99 %.
    pub hot_99: usize,
    /// Coldspot cells (Gi_Bin −1 to −3).
    pub cold: usize,
}

impl ClassCounts {
    fn of(stats: &PeriodStats) -> Self {
        let mut c = ClassCounts {
            cells: stats.hotspots.len(),
            ..ClassCounts::default()
        };
        for h in &stats.hotspots {
            match h.bin {
                3 => {
                    c.hot += 1;
                    c.hot_99 += 1;
                }
                1 | 2 => c.hot += 1,
                b if b < 0 => c.cold += 1,
                _ => {}
            }
        }
        c
    }
}

/// A period as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodView {
    /// First evening, or null when open.
    pub from: Option<String>,
    /// Last evening, or null when open.
    pub to: Option<String>,
    /// Number of evenings, when both ends are set.
    pub evenings: Option<i64>,
}

impl From<Period> for PeriodView {
    fn from(p: Period) -> Self {
        PeriodView {
            from: p.from.map(|d| d.to_string()),
            to: p.to.map(|d| d.to_string()),
            evenings: p.len_days(),
        }
    }
}

/// One period's totals and classes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodSummary {
    /// The period.
    pub period: PeriodView,
    /// Protected, shown totals. Each total is protected on its own, so cells and hours need
    /// not add up to it exactly.
    pub totals: TotalsView,
    /// Cells per class.
    pub classes: ClassCounts,
}

/// Wijk-level changes (from shown values, per evening).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotalsChange {
    /// Contacts.
    pub contacts: Change,
    /// Children.
    pub children: Change,
}

/// The wijk's totals for the filter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    /// The wijk.
    pub wijk: WijkRef,
    /// `children` or `contacts`.
    pub measure: String,
    /// H3 resolution.
    pub resolution: u8,
    /// The period (in a comparison: after).
    pub after: PeriodSummary,
    /// The before period of a comparison.
    pub before: Option<PeriodSummary>,
    /// The change from before to after.
    pub change: Option<TotalsChange>,
}

/// The wijk's totals, classes and, in a comparison, the change.
pub fn summary(index: &WijkIndex, a: &Analysis) -> Summary {
    let after = PeriodSummary {
        period: a.filter.period.into(),
        totals: TotalsView::of(a.after.totals, a.params.threshold),
        classes: ClassCounts::of(&a.after),
    };
    let before = a
        .before
        .as_ref()
        .zip(a.filter.before)
        .map(|(b, p)| PeriodSummary {
            period: p.into(),
            totals: TotalsView::of(b.totals, a.params.threshold),
            classes: ClassCounts::of(b),
        });
    let change = before.as_ref().map(|b| {
        let (db, da) = (b.period.evenings, after.period.evenings);
        TotalsChange {
            contacts: change(b.totals.contacts, after.totals.contacts, db, da),
            children: change(b.totals.children, after.totals.children, db, da),
        }
    });
    Summary {
        wijk: WijkRef::from(&index.wijk),
        measure: a.filter.measure.code().to_owned(),
        resolution: a.filter.res.number(),
        after,
        before,
        change,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use avondronde_shared::hotspot::suppress;
    use rstest::rstest;

    #[rstest]
    #[case::zero(0, "0", (0, 0))]
    #[case::one(1, "<10", (1, 9))]
    #[case::nine(9, "<10", (1, 9))]
    #[case::ten(10, "10", (10, 12))]
    #[case::twelve(12, "10", (10, 12))]
    #[case::thirteen(13, "15", (13, 17))]
    fn shown_values_and_the_ranges_they_stand_for(
        #[case] exact: u64,
        #[case] shown: &str,
        #[case] range: (u64, u64),
    ) {
        let s = suppress(exact);
        assert_eq!(s.to_string(), shown);
        assert_eq!(shown_interval(s), range);
        assert!(range.0 <= exact && exact <= range.1);
    }

    /// No change reveals a count below 10: whenever one side is "<10", the change carries
    /// no number, and the direction is the same for every pair of true counts that show
    /// alike.
    #[test]
    fn changes_never_reveal_small_counts() {
        for b in 0..=30u64 {
            for a in 0..=30u64 {
                let ch = change(suppress(b), suppress(a), Some(28), Some(28));
                if (1..=9).contains(&b) || (1..=9).contains(&a) {
                    assert_eq!((ch.percent, ch.difference), (None, None), "{b} -> {a}");
                }
                // Same shown values, same answer.
                for b2 in 0..=30u64 {
                    for a2 in 0..=30u64 {
                        if suppress(b2) == suppress(b) && suppress(a2) == suppress(a) {
                            assert_eq!(change(suppress(b2), suppress(a2), Some(28), Some(28)), ch);
                        }
                    }
                }
            }
        }
    }

    #[rstest]
    #[case::small_both(3, 4, Direction::Unknown, None, None)]
    #[case::small_to_zero(3, 0, Direction::Down, None, None)]
    #[case::zero_to_small(0, 7, Direction::Up, None, None)]
    #[case::small_to_ten(3, 12, Direction::Up, None, None)]
    #[case::ten_to_small(10, 9, Direction::Down, None, None)]
    #[case::zero_to_fifteen(0, 14, Direction::Up, None, Some(15))]
    #[case::ten_to_fifteen(10, 13, Direction::Up, Some(50), Some(5))]
    #[case::equal(22, 18, Direction::Same, Some(0), Some(0))]
    #[case::halved(40, 20, Direction::Down, Some(-50), Some(-20))]
    #[case::zeros(0, 0, Direction::Same, None, Some(0))]
    fn change_from_shown_values(
        #[case] before: u64,
        #[case] after: u64,
        #[case] direction: Direction,
        #[case] percent: Option<i64>,
        #[case] difference: Option<i64>,
    ) {
        assert_eq!(
            change(suppress(before), suppress(after), Some(28), Some(28)),
            Change {
                direction,
                percent,
                difference
            }
        );
    }

    #[test]
    fn change_is_per_evening_for_unequal_periods() {
        // 20 in 14 evenings against 20 in 28: twice as many per evening before.
        let ch = change(suppress(20), suppress(20), Some(14), Some(28));
        assert_eq!(ch.direction, Direction::Down);
        assert_eq!(ch.percent, Some(-50));
        assert_eq!(ch.difference, None, "raw difference of unequal periods");
    }

    #[test]
    fn cell_polygons_are_closed_counterclockwise_hexagons() {
        let cell = LatLng::new(51.9122, 4.4447)
            .expect("valid")
            .to_cell(h3o::Resolution::Ten);
        let ring = &cell_polygon(cell).coordinates[0];
        assert_eq!(ring.len(), 7);
        assert_eq!(ring.first(), ring.last());
        let twice_area: f64 = ring
            .windows(2)
            .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
            .sum();
        assert!(twice_area > 0.0, "counterclockwise");
        let (lon, lat) = cell_centre(cell);
        assert!((lon - 4.4447).abs() < 0.001 && (lat - 51.9122).abs() < 0.001);
    }

    #[test]
    fn z_is_published_whole_and_p_with_one_decimal_follows_the_published_z() {
        assert_eq!(round_to(1.234_567, 3), 1.235);
        assert_eq!(published_z(1.96), 2.0);
        assert_eq!(published_z(-2.549), -3.0);
        assert_eq!(published_z(1.449), 1.0);
        assert!(published_z(-0.3).is_sign_positive(), "never -0");
        // p of z = 2 is 0.0455: one decimal. p of the exact 1.96 would be the same here,
        // but the value is computed from the published z, never from the exact one.
        assert_eq!(published_p(1.96), 0.0);
        assert_eq!(published_p(1.449), published_p(1.0));
        assert_eq!(published_p(0.04), 1.0);
        for z in [-3.27, -1.0, 0.0, 0.55, 1.64, 2.33] {
            let p = published_p(z);
            assert_eq!(p, round_to(p, 1));
        }
    }
}
