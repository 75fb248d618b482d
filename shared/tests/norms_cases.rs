//! The buitenspeelnorm engine driven through its public API: a case table of encounters
//! with the exact Dutch explanations the field worker sees, plus properties that must hold
//! for every input (no panics; within one night, once past the norm a band stays past).
//!
//! Local times without an offset are Europe/Amsterdam wall-clock times; where a time occurs
//! twice (the fall-back night) the case gives the offset explicitly.

use avondronde_shared::norms::{
    AreaEffect, AreaRule, DailyWindow, Encounter, NormBand, NormSet, Severity, Verdict, evaluate,
};
use avondronde_shared::{
    AgeBand, AreaRuleId, ContactFacts, GemeenteId, GroupCounts, Location, StreetContact,
};
use geo::{MultiPolygon, Point, polygon};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use rstest::rstest;

// ---------------------------------------------------------------------------------------
// Fixtures

fn amsterdam() -> TimeZone {
    avondronde_shared::time::amsterdam()
}

/// "2026-10-25T02:30+01:00" (an exact instant) or "2026-06-12 21:01" (Amsterdam wall clock).
fn ts(s: &str) -> Timestamp {
    if let Ok(exact) = s.parse::<Timestamp>() {
        return exact;
    }
    let civil: DateTime = s.parse().expect("test time is a civil date-time");
    amsterdam().to_timestamp(civil).expect("test time in range")
}

fn t(h: i8, m: i8) -> Time {
    Time::new(h, m, 0, 0).expect("valid test time")
}

fn d(y: i16, m: i8, day: i8) -> Date {
    Date::new(y, m, day).expect("valid test date")
}

fn rotterdam() -> NormSet {
    NormSet::rotterdam()
}

/// Another gemeente: no norm for 0–5, 6–9 until 20:30, 10–13 until 23:00, night ends 07:00.
fn other_gemeente() -> NormSet {
    NormSet {
        under6: None,
        age6_9: Some(t(20, 30)),
        age10_13: Some(t(23, 0)),
        night_end: t(7, 0),
    }
}

/// 10–13 until 02:30: a norm after midnight, which lands in both DST transitions.
fn late_teens() -> NormSet {
    NormSet::rotterdam().with(NormBand::Age10To13, Some(t(2, 30)))
}

/// Inside the Bospolder square, away from its edges.
const INSIDE: (f64, f64) = (4.44, 51.91);
/// East of the square.
const OUTSIDE: (f64, f64) = (4.46, 51.91);
/// On the southern edge, between two vertices.
const ON_EDGE: (f64, f64) = (4.4375, 51.905);
/// The north-eastern corner.
const ON_VERTEX: (f64, f64) = (4.445, 51.915);
/// Inside the square's courtyard hole (see [`holed`]).
const IN_HOLE: (f64, f64) = (4.4375, 51.91);

fn bospolder_area() -> MultiPolygon<f64> {
    MultiPolygon::new(vec![polygon![
        (x: 4.43, y: 51.905),
        (x: 4.445, y: 51.905),
        (x: 4.445, y: 51.915),
        (x: 4.43, y: 51.915),
    ]])
}

/// Burgemeestersbevel Bospolder: under-12s, 20:00–06:00, 01-12-2026 to 28-02-2027.
fn bevel() -> AreaRule {
    AreaRule {
        id: AreaRuleId::new(),
        gemeente: GemeenteId::new(),
        name: "Burgemeestersbevel Bospolder".into(),
        area: bospolder_area(),
        window: DailyWindow {
            start: t(20, 0),
            end: t(6, 0),
        },
        valid_from: d(2026, 12, 1),
        valid_until: d(2027, 2, 28),
        bands: vec![AgeBand::Under6, AgeBand::Age6To9, AgeBand::Age10To11],
        effect: AreaEffect::PresenceBanned,
    }
}

/// A wider attention area for every band, 18:00–23:00, the whole of 2026–2027.
fn attention() -> AreaRule {
    AreaRule {
        id: AreaRuleId::new(),
        gemeente: GemeenteId::new(),
        name: "Aandachtsgebied Delfshaven".into(),
        area: MultiPolygon::new(vec![polygon![
            (x: 4.42, y: 51.9),
            (x: 4.47, y: 51.9),
            (x: 4.47, y: 51.92),
            (x: 4.42, y: 51.92),
        ]]),
        window: DailyWindow {
            start: t(18, 0),
            end: t(23, 0),
        },
        valid_from: d(2026, 1, 1),
        valid_until: d(2027, 12, 31),
        bands: AgeBand::ALL.to_vec(),
        effect: AreaEffect::ExtraAttention,
    }
}

/// The bevel with a courtyard cut out of its area.
fn holed() -> AreaRule {
    AreaRule {
        area: MultiPolygon::new(vec![polygon!(
            exterior: [
                (x: 4.43, y: 51.905),
                (x: 4.445, y: 51.905),
                (x: 4.445, y: 51.915),
                (x: 4.43, y: 51.915),
            ],
            interiors: [[
                (x: 4.435, y: 51.908),
                (x: 4.44, y: 51.908),
                (x: 4.44, y: 51.912),
                (x: 4.435, y: 51.912),
            ]],
        )]),
        ..bevel()
    }
}

fn at(s: &str) -> Encounter {
    Encounter {
        at: ts(s),
        point: None,
        group: GroupCounts::default(),
        supervised: false,
    }
}

trait EncounterExt {
    fn kids(self, band: AgeBand, n: u16) -> Self;
    fn near(self, lon_lat: (f64, f64)) -> Self;
    fn supervised(self) -> Self;
}

impl EncounterExt for Encounter {
    fn kids(mut self, band: AgeBand, n: u16) -> Self {
        self.group = self.group.with(band, n);
        self
    }
    fn near(mut self, (lon, lat): (f64, f64)) -> Self {
        self.point = Some(Point::new(lon, lat));
        self
    }
    fn supervised(mut self) -> Self {
        self.supervised = true;
        self
    }
}

use AgeBand::{
    Age6To9 as B6_9, Age10To11 as B10_11, Age12To13 as B12_13, Age14Plus as B14, Under6 as B0_5,
};
use Severity::{Alert, Ok as Fine, Warning};

/// What a band under the bevel reads after the colon (a macro so `concat!` can use it).
macro_rules! bevel {
    () => {
        "Burgemeestersbevel Bospolder (aanwezigheid verboden zonder ouder), 20:00–06:00"
    };
}

// ---------------------------------------------------------------------------------------
// The case table

#[rstest]
// Each band before, at and after its norm, with the minute boundaries (12-06-2026, CEST).
#[case::under6_before(rotterdam(), vec![], at("2026-06-12 19:59").kids(B0_5, 1), &["1 kind 0–5 jaar: binnen de buitenspeelnorm van 20:00"], Fine)]
#[case::under6_at_norm(rotterdam(), vec![], at("2026-06-12 20:00").kids(B0_5, 1), &["1 kind 0–5 jaar: binnen de buitenspeelnorm van 20:00"], Fine)]
#[case::under6_20_00_59_999(rotterdam(), vec![], at("2026-06-12 20:00:59.999").kids(B0_5, 1), &["1 kind 0–5 jaar: binnen de buitenspeelnorm van 20:00"], Fine)]
#[case::under6_20_00_59(rotterdam(), vec![], at("2026-06-12 20:00:59").kids(B0_5, 1), &["1 kind 0–5 jaar: binnen de buitenspeelnorm van 20:00"], Fine)]
#[case::under6_first_whole_minute(rotterdam(), vec![], at("2026-06-12 20:01").kids(B0_5, 1), &["1 kind 0–5 jaar: 1 min na de buitenspeelnorm van 20:00"], Alert)]
#[case::under6_45_min(rotterdam(), vec![], at("2026-06-12 20:45").kids(B0_5, 2), &["2 kinderen 0–5 jaar: 45 min na de buitenspeelnorm van 20:00"], Alert)]
#[case::age6_9_before(rotterdam(), vec![], at("2026-06-12 20:59").kids(B6_9, 3), &["3 kinderen 6–9 jaar: binnen de buitenspeelnorm van 21:00"], Fine)]
#[case::age6_9_at_norm(rotterdam(), vec![], at("2026-06-12 21:00").kids(B6_9, 2), &["2 kinderen 6–9 jaar: binnen de buitenspeelnorm van 21:00"], Fine)]
#[case::age6_9_21_00_59(rotterdam(), vec![], at("2026-06-12 21:00:59.999999999").kids(B6_9, 2), &["2 kinderen 6–9 jaar: binnen de buitenspeelnorm van 21:00"], Fine)]
#[case::age6_9_21_01(rotterdam(), vec![], at("2026-06-12 21:01").kids(B6_9, 1), &["1 kind 6–9 jaar: 1 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::age6_9_hours_and_minutes(rotterdam(), vec![], at("2026-06-12 22:25").kids(B6_9, 3), &["3 kinderen 6–9 jaar: 1 u 25 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::age6_9_whole_hours(rotterdam(), vec![], at("2026-06-12 23:00:30").kids(B6_9, 2), &["2 kinderen 6–9 jaar: 2 u na de buitenspeelnorm van 21:00"], Alert)]
#[case::age10_11_at_norm(rotterdam(), vec![], at("2026-06-12 22:00").kids(B10_11, 1), &["1 kind 10–11 jaar: binnen de buitenspeelnorm van 22:00"], Fine)]
#[case::age10_11_45_min(rotterdam(), vec![], at("2026-06-12 22:45").kids(B10_11, 1), &["1 kind 10–11 jaar: 45 min na de buitenspeelnorm van 22:00"], Alert)]
#[case::age12_13_a_second_before(rotterdam(), vec![], at("2026-06-12 21:59:59").kids(B12_13, 1), &["1 kind 12–13 jaar: binnen de buitenspeelnorm van 22:00"], Fine)]
#[case::age12_13_first_minute(rotterdam(), vec![], at("2026-06-12 22:01").kids(B12_13, 4), &["4 kinderen 12–13 jaar: 1 min na de buitenspeelnorm van 22:00"], Alert)]
// A night crossing midnight, and the minute the night ends.
#[case::midnight_00_30(rotterdam(), vec![], at("2026-06-13 00:30").kids(B6_9, 3), &["3 kinderen 6–9 jaar: 3 u 30 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::midnight_03_00(rotterdam(), vec![], at("2026-06-13 03:00").kids(B6_9, 3), &["3 kinderen 6–9 jaar: 6 u na de buitenspeelnorm van 21:00"], Alert)]
#[case::midnight_05_59(rotterdam(), vec![], at("2026-06-13 05:59").kids(B6_9, 3), &["3 kinderen 6–9 jaar: 8 u 59 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::midnight_05_59_59(rotterdam(), vec![], at("2026-06-13 05:59:59").kids(B6_9, 1), &["1 kind 6–9 jaar: 8 u 59 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::night_ends_at_06_00(rotterdam(), vec![], at("2026-06-13 06:00").kids(B6_9, 3), &["3 kinderen 6–9 jaar: binnen de buitenspeelnorm van 21:00"], Fine)]
#[case::under6_05_59(rotterdam(), vec![], at("2026-06-13 05:59").kids(B0_5, 1), &["1 kind 0–5 jaar: 9 u 59 min na de buitenspeelnorm van 20:00"], Alert)]
#[case::under6_at_noon(rotterdam(), vec![], at("2026-06-13 12:00").kids(B0_5, 1), &["1 kind 0–5 jaar: binnen de buitenspeelnorm van 20:00"], Fine)]
// 29-03-2026: at 02:00 CET the clock jumps to 03:00 CEST; minutes are real elapsed time.
#[case::spring_01_59(rotterdam(), vec![], at("2026-03-29 01:59").kids(B6_9, 1), &["1 kind 6–9 jaar: 4 u 59 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::spring_03_00_is_five_hours(rotterdam(), vec![], at("2026-03-29T03:00+02:00").kids(B6_9, 1), &["1 kind 6–9 jaar: 5 u na de buitenspeelnorm van 21:00"], Alert)]
#[case::spring_03_30(rotterdam(), vec![], at("2026-03-29 03:30").kids(B6_9, 1), &["1 kind 6–9 jaar: 5 u 30 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::spring_05_59(rotterdam(), vec![], at("2026-03-29 05:59").kids(B6_9, 1), &["1 kind 6–9 jaar: 7 u 59 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::spring_06_00(rotterdam(), vec![], at("2026-03-29 06:00").kids(B6_9, 1), &["1 kind 6–9 jaar: binnen de buitenspeelnorm van 21:00"], Fine)]
#[case::spring_midnight(rotterdam(), vec![], at("2026-03-29 00:00").kids(B10_11, 1), &["1 kind 10–11 jaar: 2 u na de buitenspeelnorm van 22:00"], Alert)]
// 25-10-2026: at 03:00 CEST the clock goes back to 02:00 CET; 02:00–03:00 happens twice.
#[case::fall_01_59(rotterdam(), vec![], at("2026-10-25 01:59").kids(B6_9, 1), &["1 kind 6–9 jaar: 4 u 59 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::fall_first_02_30(rotterdam(), vec![], at("2026-10-25T02:30+02:00").kids(B6_9, 1), &["1 kind 6–9 jaar: 5 u 30 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::fall_second_02_30(rotterdam(), vec![], at("2026-10-25T02:30+01:00").kids(B6_9, 1), &["1 kind 6–9 jaar: 6 u 30 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::fall_second_02_00(rotterdam(), vec![], at("2026-10-25T02:00+01:00").kids(B6_9, 1), &["1 kind 6–9 jaar: 6 u na de buitenspeelnorm van 21:00"], Alert)]
#[case::fall_second_02_59(rotterdam(), vec![], at("2026-10-25T02:59+01:00").kids(B6_9, 1), &["1 kind 6–9 jaar: 6 u 59 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::fall_05_59(rotterdam(), vec![], at("2026-10-25 05:59").kids(B6_9, 1), &["1 kind 6–9 jaar: 9 u 59 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::fall_06_00(rotterdam(), vec![], at("2026-10-25 06:00").kids(B6_9, 1), &["1 kind 6–9 jaar: binnen de buitenspeelnorm van 21:00"], Fine)]
// A norm after midnight (02:30) that falls in the spring gap (→ 03:30 CEST) or the autumn
// fold (→ the first, CEST, 02:30).
#[case::late_norm_ordinary_night(late_teens(), vec![], at("2026-06-12 23:30").kids(B12_13, 1), &["1 kind 12–13 jaar: binnen de buitenspeelnorm van 02:30"], Fine)]
#[case::late_norm_ordinary_night_past(late_teens(), vec![], at("2026-06-13 02:31").kids(B12_13, 1), &["1 kind 12–13 jaar: 1 min na de buitenspeelnorm van 02:30"], Alert)]
#[case::late_norm_in_spring_gap_within(late_teens(), vec![], at("2026-03-29T03:29+02:00").kids(B12_13, 1), &["1 kind 12–13 jaar: binnen de buitenspeelnorm van 02:30"], Fine)]
#[case::late_norm_in_spring_gap_past(late_teens(), vec![], at("2026-03-29T03:31+02:00").kids(B12_13, 1), &["1 kind 12–13 jaar: 1 min na de buitenspeelnorm van 02:30"], Alert)]
#[case::late_norm_in_fold_first(late_teens(), vec![], at("2026-10-25T02:31+02:00").kids(B12_13, 1), &["1 kind 12–13 jaar: 1 min na de buitenspeelnorm van 02:30"], Alert)]
#[case::late_norm_in_fold_second(late_teens(), vec![], at("2026-10-25T02:15+01:00").kids(B12_13, 1), &["1 kind 12–13 jaar: 45 min na de buitenspeelnorm van 02:30"], Alert)]
// Supervised groups and 14+.
#[case::supervised(rotterdam(), vec![], at("2026-06-12 23:00").kids(B6_9, 3).supervised(), &["3 kinderen 6–9 jaar: onder toezicht van een volwassene: geen norm"], Fine)]
#[case::supervised_mixed(rotterdam(), vec![], at("2026-06-13 00:30").kids(B0_5, 1).kids(B14, 2).supervised(), &["1 kind 0–5 jaar: onder toezicht van een volwassene: geen norm", "2 jongeren 14+ jaar: onder toezicht van een volwassene: geen norm"], Fine)]
#[case::age14_one(rotterdam(), vec![], at("2026-06-12 23:00").kids(B14, 1), &["1 jongere 14+ jaar: geen buitenspeelnorm"], Fine)]
#[case::age14_two_at_night(rotterdam(), vec![], at("2026-06-13 03:00").kids(B14, 2), &["2 jongeren 14+ jaar: geen buitenspeelnorm"], Fine)]
// Mixed groups: one verdict per band present, youngest first.
#[case::mixed_every_band(rotterdam(), vec![], at("2026-06-12 21:30").kids(B14, 2).kids(B12_13, 1).kids(B10_11, 1).kids(B6_9, 2).kids(B0_5, 1), &[
    "1 kind 0–5 jaar: 1 u 30 min na de buitenspeelnorm van 20:00",
    "2 kinderen 6–9 jaar: 30 min na de buitenspeelnorm van 21:00",
    "1 kind 10–11 jaar: binnen de buitenspeelnorm van 22:00",
    "1 kind 12–13 jaar: binnen de buitenspeelnorm van 22:00",
    "2 jongeren 14+ jaar: geen buitenspeelnorm",
], Alert)]
#[case::mixed_all_past(rotterdam(), vec![], at("2026-06-12 23:15").kids(B6_9, 4).kids(B12_13, 2), &[
    "4 kinderen 6–9 jaar: 2 u 15 min na de buitenspeelnorm van 21:00",
    "2 kinderen 12–13 jaar: 1 u 15 min na de buitenspeelnorm van 22:00",
], Alert)]
#[case::empty_group(rotterdam(), vec![bevel()], at("2026-12-10 22:30").near(INSIDE), &[], Fine)]
// Another gemeente's norms: a band without a norm, 20:30, and a night ending at 07:00.
#[case::custom_at_20_30(other_gemeente(), vec![], at("2026-06-12 20:30").kids(B6_9, 1), &["1 kind 6–9 jaar: binnen de buitenspeelnorm van 20:30"], Fine)]
#[case::custom_20_45(other_gemeente(), vec![], at("2026-06-12 20:45").kids(B6_9, 1), &["1 kind 6–9 jaar: 15 min na de buitenspeelnorm van 20:30"], Alert)]
#[case::custom_band_without_norm(other_gemeente(), vec![], at("2026-06-12 23:00").kids(B0_5, 1), &["1 kind 0–5 jaar: geen buitenspeelnorm"], Fine)]
#[case::custom_night_end_later(other_gemeente(), vec![], at("2026-06-13 06:30").kids(B10_11, 1), &["1 kind 10–11 jaar: 7 u 30 min na de buitenspeelnorm van 23:00"], Alert)]
#[case::custom_night_ends_07_00(other_gemeente(), vec![], at("2026-06-13 07:00").kids(B10_11, 1), &["1 kind 10–11 jaar: binnen de buitenspeelnorm van 23:00"], Fine)]
// Area rules (10-12-2026 is a winter evening inside the bevel's validity).
#[case::rule_inside(rotterdam(), vec![bevel()], at("2026-12-10 22:30").near(INSIDE).kids(B6_9, 3), &[concat!("3 kinderen 6–9 jaar: ", bevel!())], Alert)]
#[case::rule_inside_within_norm(rotterdam(), vec![bevel()], at("2026-12-10 20:00").near(INSIDE).kids(B10_11, 1), &[concat!("1 kind 10–11 jaar: ", bevel!())], Alert)]
#[case::rule_outside(rotterdam(), vec![bevel()], at("2026-12-10 22:30").near(OUTSIDE).kids(B6_9, 3), &["3 kinderen 6–9 jaar: 1 u 30 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::rule_on_edge(rotterdam(), vec![bevel()], at("2026-12-10 22:30").near(ON_EDGE).kids(B6_9, 1), &[concat!("1 kind 6–9 jaar: ", bevel!())], Alert)]
#[case::rule_on_vertex(rotterdam(), vec![bevel()], at("2026-12-10 22:30").near(ON_VERTEX).kids(B6_9, 1), &[concat!("1 kind 6–9 jaar: ", bevel!())], Alert)]
#[case::rule_in_hole(rotterdam(), vec![holed()], at("2026-12-10 22:30").near(IN_HOLE).kids(B6_9, 1), &["1 kind 6–9 jaar: 1 u 30 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::rule_before_window(rotterdam(), vec![bevel()], at("2026-12-10 19:59").near(INSIDE).kids(B6_9, 1), &["1 kind 6–9 jaar: binnen de buitenspeelnorm van 21:00"], Fine)]
#[case::rule_window_after_midnight(rotterdam(), vec![bevel()], at("2026-12-11 02:00").near(INSIDE).kids(B6_9, 1), &[concat!("1 kind 6–9 jaar: ", bevel!())], Alert)]
#[case::rule_window_ends_06_00(rotterdam(), vec![bevel()], at("2026-12-11 06:00").near(INSIDE).kids(B6_9, 1), &["1 kind 6–9 jaar: binnen de buitenspeelnorm van 21:00"], Fine)]
#[case::rule_before_valid_from(rotterdam(), vec![bevel()], at("2026-11-30 22:00").near(INSIDE).kids(B6_9, 1), &["1 kind 6–9 jaar: 1 u na de buitenspeelnorm van 21:00"], Alert)]
#[case::rule_first_day_02_00_is_previous_window(rotterdam(), vec![bevel()], at("2026-12-01 02:00").near(INSIDE).kids(B6_9, 1), &["1 kind 6–9 jaar: 5 u na de buitenspeelnorm van 21:00"], Alert)]
#[case::rule_first_evening(rotterdam(), vec![bevel()], at("2026-12-01 20:00").near(INSIDE).kids(B6_9, 1), &[concat!("1 kind 6–9 jaar: ", bevel!())], Alert)]
#[case::rule_after_valid_until(rotterdam(), vec![bevel()], at("2027-03-01 22:00").near(INSIDE).kids(B6_9, 1), &["1 kind 6–9 jaar: 1 u na de buitenspeelnorm van 21:00"], Alert)]
#[case::rule_day_after_valid_until_02_00(rotterdam(), vec![bevel()], at("2027-03-01 02:00").near(INSIDE).kids(B6_9, 1), &[concat!("1 kind 6–9 jaar: ", bevel!())], Alert)]
#[case::rule_not_for_band(rotterdam(), vec![bevel()], at("2026-12-10 22:30").near(INSIDE).kids(B12_13, 1), &["1 kind 12–13 jaar: 30 min na de buitenspeelnorm van 22:00"], Alert)]
#[case::rule_without_location(rotterdam(), vec![bevel()], at("2026-12-10 22:30").kids(B6_9, 1), &["1 kind 6–9 jaar: 1 u 30 min na de buitenspeelnorm van 21:00"], Alert)]
#[case::rule_supervised(rotterdam(), vec![bevel()], at("2026-12-10 22:30").near(INSIDE).kids(B6_9, 2).supervised(), &["2 kinderen 6–9 jaar: onder toezicht van een volwassene: geen norm"], Fine)]
#[case::rule_age14(rotterdam(), vec![bevel()], at("2026-12-10 22:30").near(INSIDE).kids(B14, 1), &["1 jongere 14+ jaar: geen buitenspeelnorm"], Fine)]
#[case::rule_mixed_group(rotterdam(), vec![bevel()], at("2026-12-10 21:00").near(INSIDE).kids(B0_5, 1).kids(B12_13, 2).kids(B14, 1), &[
    concat!("1 kind 0–5 jaar: ", bevel!()),
    "2 kinderen 12–13 jaar: binnen de buitenspeelnorm van 22:00",
    "1 jongere 14+ jaar: geen buitenspeelnorm",
], Alert)]
#[case::rule_most_severe_wins(rotterdam(), vec![attention(), bevel()], at("2026-12-10 22:30").near(INSIDE).kids(B6_9, 2).kids(B12_13, 1), &[
    concat!("2 kinderen 6–9 jaar: ", bevel!()),
    "1 kind 12–13 jaar: Aandachtsgebied Delfshaven (extra aandacht), 18:00–23:00",
], Alert)]
#[case::rule_attention_only(rotterdam(), vec![attention()], at("2026-12-10 19:00").near(OUTSIDE).kids(B6_9, 1), &["1 kind 6–9 jaar: Aandachtsgebied Delfshaven (extra aandacht), 18:00–23:00"], Warning)]
fn evaluate_case(
    #[case] norms: NormSet,
    #[case] rules: Vec<AreaRule>,
    #[case] encounter: Encounter,
    #[case] expected: &[&str],
    #[case] worst: Severity,
) {
    let evaluation = evaluate(&norms, &rules, &encounter);
    let explanations: Vec<&str> = evaluation
        .bands
        .iter()
        .map(|b| b.explanation.as_str())
        .collect();
    assert_eq!(explanations, expected);
    assert_eq!(evaluation.worst(), worst);
}

// ---------------------------------------------------------------------------------------
// Verdicts, summaries and helpers

#[test]
fn area_rule_takes_precedence_but_still_reports_norm_minutes() {
    let rule = bevel();
    let evaluation = evaluate(
        &rotterdam(),
        std::slice::from_ref(&rule),
        &at("2026-12-10 21:55")
            .near(INSIDE)
            .kids(B6_9, 3)
            .kids(B10_11, 1),
    );
    assert_eq!(
        evaluation.bands[0].verdict,
        Verdict::AreaRule {
            rule: rule.id,
            name: "Burgemeestersbevel Bospolder".into(),
            effect: AreaEffect::PresenceBanned,
            past_norm_minutes: Some(55),
        }
    );
    assert_eq!(evaluation.bands[0].children, 3);
    assert_eq!(evaluation.bands[0].band, B6_9);
    assert_eq!(
        evaluation.bands[1].verdict,
        Verdict::AreaRule {
            rule: rule.id,
            name: "Burgemeestersbevel Bospolder".into(),
            effect: AreaEffect::PresenceBanned,
            past_norm_minutes: None,
        }
    );
    assert!(evaluation.any_past());
    assert_eq!(evaluation.max_minutes_past(), Some(55));
    assert_eq!(evaluation.children_past(), 3);
}

#[test]
fn attention_rule_is_a_warning_until_the_norm_is_passed() {
    let evaluation = evaluate(
        &rotterdam(),
        &[attention()],
        &at("2026-12-10 21:30")
            .near(OUTSIDE)
            .kids(B10_11, 1)
            .kids(B6_9, 1),
    );
    assert_eq!(evaluation.bands[0].severity(), Alert, "6–9 is past 21:00");
    assert_eq!(
        evaluation.bands[1].severity(),
        Warning,
        "10–11 is within 22:00"
    );
    assert_eq!(evaluation.worst(), Alert);
}

#[test]
fn unknown_effect_from_a_newer_server_still_applies_as_a_warning() {
    let rule = AreaRule {
        effect: AreaEffect::from("curfew_lite".to_owned()),
        ..bevel()
    };
    let evaluation = evaluate(
        &rotterdam(),
        &[rule],
        &at("2026-12-10 20:30").near(INSIDE).kids(B10_11, 1),
    );
    assert_eq!(
        evaluation.bands[0].explanation,
        "1 kind 10–11 jaar: Burgemeestersbevel Bospolder (curfew_lite), 20:00–06:00"
    );
    assert_eq!(evaluation.worst(), Warning);
}

#[test]
fn plain_verdicts_carry_the_norm_time() {
    let norms = rotterdam();
    assert_eq!(
        norms.verdict(B6_9, ts("2026-06-12 22:25")),
        Verdict::PastNorm {
            latest: t(21, 0),
            minutes: 85
        }
    );
    assert_eq!(
        norms.verdict(B12_13, ts("2026-06-12 21:00")),
        Verdict::Within { latest: t(22, 0) }
    );
    assert_eq!(norms.verdict(B14, ts("2026-06-12 23:00")), Verdict::NoNorm);
    assert_eq!(
        norms.night_date(ts("2026-06-13 05:59")),
        Some(d(2026, 6, 12))
    );
    assert_eq!(
        norms.night_date(ts("2026-06-13 06:00")),
        Some(d(2026, 6, 13))
    );
}

#[rstest]
#[case::empty(vec![], at("2026-06-12 22:00"), "Geen kinderen geteld")]
#[case::supervised(vec![], at("2026-06-12 23:00").kids(B6_9, 2).kids(B14, 1).supervised(), "Onder toezicht van een volwassene: geen norm")]
#[case::all_within(vec![], at("2026-06-12 20:30").kids(B6_9, 2).kids(B14, 1), "Binnen de buitenspeelnorm")]
#[case::only_youths(vec![], at("2026-06-12 23:30").kids(B14, 3), "Geen buitenspeelnorm van toepassing")]
#[case::one_child_past(vec![], at("2026-06-12 22:45").kids(B10_11, 1), "1 kind na de buitenspeelnorm (max. 45 min)")]
#[case::some_past(vec![], at("2026-06-12 21:30").kids(B0_5, 1).kids(B6_9, 2).kids(B10_11, 1).kids(B12_13, 1).kids(B14, 2), "3 van 5 kinderen na de buitenspeelnorm (max. 1 u 30 min)")]
#[case::rule_and_past(vec![bevel()], at("2026-12-10 22:30").near(INSIDE).kids(B6_9, 3), "Burgemeestersbevel Bospolder (aanwezigheid verboden zonder ouder); 3 kinderen na de buitenspeelnorm (max. 1 u 30 min)")]
#[case::rule_within(vec![bevel()], at("2026-12-10 20:30").near(INSIDE).kids(B10_11, 2), "Burgemeestersbevel Bospolder (aanwezigheid verboden zonder ouder)")]
#[case::two_rules(vec![attention(), bevel()], at("2026-12-10 20:30").near(INSIDE).kids(B6_9, 1).kids(B12_13, 1), "Burgemeestersbevel Bospolder (aanwezigheid verboden zonder ouder); Aandachtsgebied Delfshaven (extra aandacht)")]
fn summary_case(
    #[case] rules: Vec<AreaRule>,
    #[case] encounter: Encounter,
    #[case] expected: &str,
) {
    assert_eq!(
        evaluate(&rotterdam(), &rules, &encounter).summary_nl(),
        expected
    );
}

#[test]
fn a_recorded_contact_is_judged_in_amsterdam_time_whatever_the_device_offset() {
    let contact = StreetContact {
        id: Default::default(),
        round: Default::default(),
        facts: ContactFacts {
            observed_at: ts("2026-12-10 22:30"),
            // A phone still set to UTC: the norm is about the Dutch evening regardless.
            utc_offset_s: 0,
            location: Location::gps(INSIDE.1, INSIDE.0, 8.0, 3),
            group: GroupCounts::default().with(B6_9, 2),
            supervised: false,
            behaviours: vec![],
            actions: vec![],
            brought_home: 0,
        },
    };
    let evaluation = evaluate(&rotterdam(), &[bevel()], &Encounter::from(&contact.facts));
    assert_eq!(
        evaluation.bands[0].explanation,
        concat!("2 kinderen 6–9 jaar: ", bevel!())
    );
}

#[test]
fn area_rule_round_trips_through_json() {
    let rule = bevel();
    let json = serde_json::to_value(&rule).expect("serialise");
    assert_eq!(json["effect"], "presence_banned");
    assert_eq!(json["bands"], serde_json::json!(["0-5", "6-9", "10-11"]));
    assert_eq!(json["valid_from"], "2026-12-01");
    let back: AreaRule = serde_json::from_value(json).expect("parse");
    assert_eq!(back, rule);
}

// ---------------------------------------------------------------------------------------
// Properties

fn any_time() -> impl Strategy<Value = Time> {
    (0i8..24, 0i8..60, 0i8..60, 0i32..1_000_000_000)
        .prop_map(|(h, m, s, ns)| Time::new(h, m, s, ns).expect("in range by construction"))
}

fn any_date() -> impl Strategy<Value = Date> {
    (-9999i16..=9999, 1i8..=12, 1i8..=28)
        .prop_map(|(y, m, day)| Date::new(y, m, day).expect("in range by construction"))
}

fn any_norms() -> impl Strategy<Value = NormSet> {
    (
        proptest::option::of(any_time()),
        proptest::option::of(any_time()),
        proptest::option::of(any_time()),
        any_time(),
    )
        .prop_map(|(under6, age6_9, age10_13, night_end)| NormSet {
            under6,
            age6_9,
            age10_13,
            night_end,
        })
}

fn any_counts() -> impl Strategy<Value = GroupCounts> {
    any::<[u16; 5]>().prop_map(|n| {
        AgeBand::ALL
            .into_iter()
            .zip(n)
            .fold(GroupCounts::default(), |g, (band, count)| {
                g.with(band, count)
            })
    })
}

fn any_rule() -> impl Strategy<Value = AreaRule> {
    let coords = proptest::collection::vec((any::<f64>(), any::<f64>()), 0..6);
    let effect = prop_oneof![
        Just(AreaEffect::PresenceBanned),
        Just(AreaEffect::ExtraAttention),
        "[a-z_]{0,12}".prop_map(AreaEffect::from),
    ];
    (
        prop_oneof![
            coords,
            Just(vec![(4.43, 51.905), (4.445, 51.905), (4.445, 51.915)])
        ],
        any_time(),
        any_time(),
        any_date(),
        any_date(),
        proptest::sample::subsequence(AgeBand::ALL.to_vec(), 0..=5),
        effect,
    )
        .prop_map(|(ring, start, end, from, until, bands, effect)| AreaRule {
            area: MultiPolygon::new(vec![geo::Polygon::new(ring.into(), vec![])]),
            window: DailyWindow { start, end },
            valid_from: from,
            valid_until: until,
            bands,
            effect,
            ..bevel()
        })
}

fn any_instant() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        (Timestamp::MIN.as_second()..=Timestamp::MAX.as_second())
            .prop_map(|s| Timestamp::from_second(s).expect("in range by construction")),
        // Most interesting instants are near now.
        (1_700_000_000i64..1_900_000_000)
            .prop_map(|s| Timestamp::from_second(s).expect("in range by construction")),
        Just(Timestamp::MIN),
        Just(Timestamp::MAX),
    ]
}

proptest! {
    #[test]
    fn evaluate_never_panics_and_judges_every_band_present(
        norms in any_norms(),
        rules in proptest::collection::vec(any_rule(), 0..4),
        instant in any_instant(),
        group in any_counts(),
        point in proptest::option::of((any::<f64>(), any::<f64>())),
        supervised in any::<bool>(),
    ) {
        let encounter = Encounter {
            at: instant,
            point: point.map(|(x, y)| Point::new(x, y)),
            group,
            supervised,
        };
        let evaluation = evaluate(&norms, &rules, &encounter);
        prop_assert_eq!(evaluation.bands.len(), group.present().count());
        for (verdict, (band, n)) in evaluation.bands.iter().zip(group.present()) {
            prop_assert_eq!(verdict.band, band);
            prop_assert_eq!(verdict.children, n);
            let prefix = format!("{n} ");
            prop_assert!(verdict.explanation.starts_with(&prefix));
            if supervised {
                prop_assert_eq!(&verdict.verdict, &Verdict::Supervised);
            }
            if let Some(minutes) = verdict.verdict.minutes_past() {
                prop_assert!(minutes >= 1);
            }
        }
        prop_assert!(!evaluation.summary_nl().is_empty());
        let _ = evaluation.worst();
        let _ = norms.validate();
        for rule in &rules {
            let _ = rule.warnings();
        }
    }

    #[test]
    fn within_one_night_a_band_once_past_stays_past(
        night in prop_oneof![
            Just(d(2026, 3, 28)),
            Just(d(2026, 10, 24)),
            (0i64..6000).prop_map(|n| d(2020, 1, 1)
                .checked_add(SignedDuration::from_hours(24 * n))
                .expect("in range")),
        ],
        under6 in proptest::option::of(any_time()),
        age6_9 in proptest::option::of(any_time()),
        age10_13 in proptest::option::of(any_time()),
        night_end in (3i8..=9, 0i8..60).prop_map(|(h, m)| t(h, m)),
        mut fractions in proptest::collection::vec(0.0f64..1.0, 1..60),
    ) {
        let norms = NormSet { under6, age6_9, age10_13, night_end };
        let tz = amsterdam();
        let start = tz.to_timestamp(night.to_datetime(t(18, 0))).expect("in range");
        let end = tz
            .to_timestamp(night.tomorrow().expect("in range").to_datetime(night_end))
            .expect("in range");
        let span_ns = end.duration_since(start).as_nanos() as f64;
        fractions.sort_by(f64::total_cmp);

        let group = AgeBand::ALL.into_iter().fold(GroupCounts::default(), |g, b| g.with(b, 1));
        let mut previous: Vec<Option<u32>> = vec![None; AgeBand::ALL.len()];
        for f in fractions {
            let offset = SignedDuration::from_nanos((f * span_ns) as i64);
            let instant = start.checked_add(offset).expect("in range");
            prop_assert!(instant < end);
            prop_assert_eq!(norms.night_date(instant), Some(night));
            let evaluation = evaluate(
                &norms,
                &[],
                &Encounter { at: instant, point: None, group, supervised: false },
            );
            for (i, verdict) in evaluation.bands.iter().enumerate() {
                let now = verdict.verdict.minutes_past();
                if let Some(before) = previous[i] {
                    prop_assert!(
                        now.is_some_and(|m| m >= before),
                        "{:?} went from {} min past to {:?} at {}",
                        verdict.band, before, now, instant
                    );
                }
                previous[i] = now;
            }
        }
    }
}
