use geo::{MultiPolygon, polygon};

use super::text::date_nl;
use super::*;
use crate::ids::{AreaRuleId, GemeenteId};

fn t(h: i8, m: i8) -> Time {
    Time::new(h, m, 0, 0).expect("valid test time")
}

fn d(y: i16, m: i8, day: i8) -> Date {
    Date::new(y, m, day).expect("valid test date")
}

fn rule(valid_from: Date, valid_until: Date) -> AreaRule {
    AreaRule {
        id: AreaRuleId::new(),
        gemeente: GemeenteId::new(),
        name: "Burgemeestersbevel Bospolder".into(),
        area: MultiPolygon::new(vec![polygon![
            (x: 4.43, y: 51.905),
            (x: 4.445, y: 51.905),
            (x: 4.445, y: 51.915),
            (x: 4.43, y: 51.915),
        ]]),
        window: DailyWindow {
            start: t(20, 0),
            end: t(6, 0),
        },
        valid_from,
        valid_until,
        bands: vec![AgeBand::Under6, AgeBand::Age6To9, AgeBand::Age10To11],
        effect: AreaEffect::PresenceBanned,
    }
}

#[test]
fn age_bands_map_to_norm_bands() {
    assert_eq!(NormBand::for_age(AgeBand::Under6), Some(NormBand::Under6));
    assert_eq!(NormBand::for_age(AgeBand::Age6To9), Some(NormBand::Age6To9));
    assert_eq!(
        NormBand::for_age(AgeBand::Age10To11),
        Some(NormBand::Age10To13)
    );
    assert_eq!(
        NormBand::for_age(AgeBand::Age12To13),
        Some(NormBand::Age10To13)
    );
    assert_eq!(NormBand::for_age(AgeBand::Age14Plus), None);
    assert_eq!(
        NormSet::rotterdam().latest_for_age(AgeBand::Age14Plus),
        None
    );
}

#[test]
fn rotterdam_is_valid_and_the_default() {
    assert_eq!(NormSet::rotterdam().validate(), Ok(()));
    assert_eq!(NormSet::default(), NormSet::rotterdam());
}

#[test]
fn norm_set_round_trips_with_band_codes_and_short_times() {
    let parsed: NormSet =
        serde_json::from_str(r#"{"0-5":"20:00","6-9":"20:30","10-13":"00:30"}"#).expect("parse");
    assert_eq!(parsed.age6_9, Some(t(20, 30)));
    assert_eq!(parsed.age10_13, Some(t(0, 30)));
    assert_eq!(parsed.night_end, t(6, 0), "night_end defaults to 06:00");
    let back: NormSet = serde_json::from_value(serde_json::to_value(&parsed).expect("serialise"))
        .expect("parse back");
    assert_eq!(back, parsed);

    let without_under6: NormSet =
        serde_json::from_str(r#"{"6-9":"21:00","night_end":"07:00"}"#).expect("parse");
    assert_eq!(without_under6.under6, None);
    assert_eq!(without_under6.night_end, t(7, 0));
    let json = serde_json::to_value(&without_under6).expect("serialise");
    assert!(json.get("0-5").is_none(), "no norm is left out, not null");
}

#[test]
fn norm_after_midnight_is_valid_but_in_the_morning_is_not() {
    let after_midnight = NormSet::rotterdam().with(NormBand::Age10To13, Some(t(0, 30)));
    assert_eq!(after_midnight.validate(), Ok(()));

    let morning = NormSet::rotterdam().with(NormBand::Age10To13, Some(t(8, 0)));
    let errors = morning.validate().expect_err("08:00 is daytime");
    assert!(errors.contains(&NormSetError::NormInDaytime {
        band: NormBand::Age10To13,
        latest: t(8, 0),
        night_end: t(6, 0),
    }));
    assert_eq!(
        errors[0].to_string(),
        "De buitenspeelnorm voor 10–13 jaar (08:00) valt overdag: kies een tijd vanaf \
         12:00, of vóór 06:00 voor een norm na middernacht."
    );
}

#[test]
fn exactly_night_end_as_norm_is_daytime() {
    let set = NormSet::rotterdam().with(NormBand::Under6, Some(t(6, 0)));
    assert!(matches!(
        set.validate().expect_err("06:00 means all day").as_slice(),
        [NormSetError::NormInDaytime { .. }, ..]
    ));
}

#[test]
fn night_end_must_be_in_the_morning() {
    for night_end in [t(0, 0), t(12, 0), t(18, 0)] {
        let set = NormSet {
            night_end,
            ..NormSet::rotterdam()
        };
        assert!(
            set.validate()
                .expect_err("night end outside the morning")
                .contains(&NormSetError::NightEndNotInMorning { night_end }),
            "{night_end}"
        );
    }
}

#[test]
fn younger_band_may_not_stay_out_later_in_night_order() {
    // 00:30 is later in the night than 22:00, although it is a smaller clock time.
    let set = NormSet::rotterdam().with(NormBand::Age6To9, Some(t(0, 30)));
    let errors = set.validate().expect_err("6–9 later than 10–13");
    assert_eq!(
        errors,
        vec![NormSetError::YoungerLaterThanOlder {
            younger: NormBand::Age6To9,
            younger_latest: t(0, 30),
            older: NormBand::Age10To13,
            older_latest: t(22, 0),
        }]
    );
    // A band without a norm is not compared.
    let set = NormSet::rotterdam().with(NormBand::Under6, None);
    assert_eq!(set.validate(), Ok(()));
}

#[test]
fn area_rule_validity_errors_and_warnings() {
    let ok = rule(d(2026, 12, 1), d(2027, 2, 28));
    assert_eq!(ok.warnings(), Ok(vec![]), "exactly three months is allowed");

    let long = rule(d(2026, 12, 1), d(2027, 3, 1));
    let warnings = long.warnings().expect("a warning, not an error");
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        warnings[0].to_string(),
        "De regel geldt van 01-12-2026 tot en met 01-03-2027, langer dan drie maanden; \
         een burgemeestersbevel geldt ten hoogste drie maanden (art. 172b Gemeentewet)."
    );

    let backwards = rule(d(2026, 12, 1), d(2026, 11, 30));
    let error = backwards.warnings().expect_err("ends before it starts");
    assert_eq!(
        error.to_string(),
        "De einddatum (30-11-2026) ligt vóór de begindatum (01-12-2026): pas een van \
         beide aan."
    );

    let one_day = rule(d(2026, 12, 1), d(2026, 12, 1));
    assert_eq!(one_day.warnings(), Ok(vec![]));
}

#[test]
fn area_rule_structural_errors() {
    let mut empty = rule(d(2026, 12, 1), d(2026, 12, 31));
    empty.area = MultiPolygon::new(vec![]);
    assert_eq!(empty.warnings(), Err(AreaRuleError::EmptyArea));

    let mut rd = rule(d(2026, 12, 1), d(2026, 12, 31));
    rd.area = MultiPolygon::new(vec![polygon![
        (x: 92_000.0, y: 437_000.0),
        (x: 93_000.0, y: 437_000.0),
        (x: 93_000.0, y: 438_000.0),
    ]]);
    assert_eq!(
        rd.warnings(),
        Err(AreaRuleError::BadCoordinate),
        "RD New metres are not lon/lat"
    );

    let mut nobody = rule(d(2026, 12, 1), d(2026, 12, 31));
    nobody.bands.clear();
    assert_eq!(nobody.warnings(), Err(AreaRuleError::NoBands));

    let mut whole_day = rule(d(2026, 12, 1), d(2026, 12, 31));
    whole_day.window = DailyWindow {
        start: t(0, 0),
        end: t(0, 0),
    };
    assert_eq!(
        whole_day.warnings(),
        Ok(vec![AreaRuleWarning::WholeDay { at: t(0, 0) }])
    );
    assert_eq!(whole_day.window.label_nl(), "de hele dag");
}

#[test]
fn window_contains_start_but_not_end() {
    let night = DailyWindow {
        start: t(20, 0),
        end: t(6, 0),
    };
    assert!(night.crosses_midnight());
    assert!(night.contains(t(20, 0)));
    assert!(night.contains(t(0, 0)));
    assert!(night.contains(t(5, 59)));
    assert!(!night.contains(t(6, 0)));
    assert!(!night.contains(t(19, 59)));

    let evening = DailyWindow {
        start: t(18, 0),
        end: t(23, 0),
    };
    assert!(!evening.crosses_midnight());
    assert!(evening.contains(t(18, 0)));
    assert!(!evening.contains(t(23, 0)));
    assert!(!evening.contains(t(2, 0)));
    assert_eq!(evening.label_nl(), "18:00–23:00");
}

#[test]
fn boundary_and_vertex_count_as_inside_but_holes_and_nan_do_not() {
    let mut r = rule(d(2026, 12, 1), d(2026, 12, 31));
    assert!(r.covers(Point::new(4.4375, 51.905)), "on an edge");
    assert!(r.covers(Point::new(4.43, 51.905)), "on a vertex");
    assert!(r.covers(Point::new(4.44, 51.91)), "inside");
    assert!(!r.covers(Point::new(4.4375, 51.9049)), "just outside");
    assert!(!r.covers(Point::new(f64::NAN, 51.91)));
    r.area = MultiPolygon::new(vec![polygon!(
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
    )]);
    assert!(!r.covers(Point::new(4.4375, 51.91)), "in a hole");
    assert!(r.covers(Point::new(4.435, 51.91)), "on the hole's edge");
}

#[test]
fn verdict_and_evaluation_serialise_with_a_kind_tag() {
    let v = Verdict::PastNorm {
        latest: t(21, 0),
        minutes: 85,
    };
    let json = serde_json::to_value(&v).expect("serialise");
    assert_eq!(json["kind"], "past_norm");
    assert_eq!(json["minutes"], 85);
    let back: Verdict = serde_json::from_value(json).expect("parse");
    assert_eq!(back, v);
    assert_eq!(
        serde_json::to_value(Severity::Warning).expect("serialise"),
        "warning"
    );
}

#[test]
fn durations_and_times_format_the_dutch_way() {
    assert_eq!(duration_nl(1), "1 min");
    assert_eq!(duration_nl(60), "1 u");
    assert_eq!(duration_nl(85), "1 u 25 min");
    assert_eq!(hhmm(t(6, 5)), "06:05");
    assert_eq!(date_nl(d(2026, 11, 22)), "22-11-2026");
}
