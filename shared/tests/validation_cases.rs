//! Validation case table (issue 2): each bad input names the field, has a stable code and
//! a Dutch message; good input passes.

use avondronde_shared::care::{
    Birth, CareFormContent, CareStatus, Feedback, ParentsReaction, Reception,
};
use avondronde_shared::contact::{Action, Behaviour, ContactFacts, GroupCounts, Location};
use avondronde_shared::round::Round;
use avondronde_shared::validate::{ErrorCode, Validate};
use avondronde_shared::*;
use jiff::Timestamp;
use rstest::rstest;

fn now() -> Timestamp {
    "2026-11-22T22:00:00Z".parse().expect("timestamp")
}

fn good() -> StreetContact {
    StreetContact {
        id: ContactId::new(),
        round: RoundId::new(),
        facts: ContactFacts {
            observed_at: "2026-11-22T21:30:00Z".parse().expect("timestamp"),
            utc_offset_s: 3600,
            location: Location::gps(51.912, 4.444, 12.0, 4),
            group: GroupCounts::default().with(AgeBand::Age10To11, 3),
            supervised: false,
            behaviours: vec![Behaviour::HangingAround],
            actions: vec![Action::Spoken],
            brought_home: 0,
        },
    }
}

#[rstest]
#[case::empty_group(|c: &mut StreetContact| c.facts.group = GroupCounts::default(), "group", ErrorCode::EmptyGroup)]
#[case::group_too_big(|c: &mut StreetContact| c.facts.group = GroupCounts::default().with(AgeBand::Age14Plus, 500), "group", ErrorCode::OutOfRange)]
#[case::more_brought_home_than_in_group(|c: &mut StreetContact| { c.facts.brought_home = 4; c.facts.actions.push(Action::BroughtHome); }, "brought_home", ErrorCode::CountsMismatch)]
#[case::brought_home_without_the_action(|c: &mut StreetContact| c.facts.brought_home = 1, "actions", ErrorCode::CountsMismatch)]
#[case::action_without_a_count(|c: &mut StreetContact| c.facts.actions.push(Action::BroughtHome), "brought_home", ErrorCode::CountsMismatch)]
#[case::latitude_out_of_range(|c: &mut StreetContact| c.facts.location.lat = Some(91.0), "loc.lat", ErrorCode::OutOfRange)]
#[case::longitude_out_of_range(|c: &mut StreetContact| c.facts.location.lon = Some(-181.0), "loc.lon", ErrorCode::OutOfRange)]
#[case::latitude_not_a_number(|c: &mut StreetContact| c.facts.location.lat = Some(f64::NAN), "loc.lat", ErrorCode::OutOfRange)]
#[case::only_one_coordinate(|c: &mut StreetContact| c.facts.location.lon = None, "loc", ErrorCode::Required)]
#[case::negative_accuracy(|c: &mut StreetContact| c.facts.location.accuracy_m = Some(-3.0), "loc.acc_m", ErrorCode::OutOfRange)]
#[case::gps_without_accuracy(|c: &mut StreetContact| c.facts.location.accuracy_m = None, "loc.acc_m", ErrorCode::Required)]
#[case::place_without_a_place(|c: &mut StreetContact| c.facts.location.source = LocationSource::Place, "loc.place", ErrorCode::Required)]
#[case::none_with_coordinates(|c: &mut StreetContact| c.facts.location.source = LocationSource::None, "loc", ErrorCode::NotAllowed)]
#[case::more_than_a_day_in_the_future(|c: &mut StreetContact| c.facts.observed_at = now() + jiff::SignedDuration::from_hours(25), "observed_at", ErrorCode::InFuture)]
#[case::absurd_utc_offset(|c: &mut StreetContact| c.facts.utc_offset_s = 20 * 3600, "utc_offset_s", ErrorCode::OutOfRange)]
#[case::overlong_unknown_code(|c: &mut StreetContact| c.facts.behaviours.push(Behaviour::from("x".repeat(41))), "behaviours", ErrorCode::Invalid)]
#[case::code_with_free_text(|c: &mut StreetContact| c.facts.behaviours.push(Behaviour::from("Jan de Vries".to_owned())), "behaviours", ErrorCode::Invalid)]
#[case::too_many_chips(|c: &mut StreetContact| c.facts.actions = vec![Action::Spoken; 17], "actions", ErrorCode::OutOfRange)]
fn bad_contacts_name_the_field_and_the_rule(
    #[case] spoil: fn(&mut StreetContact),
    #[case] field: &str,
    #[case] code: ErrorCode,
) {
    let mut c = good();
    spoil(&mut c);
    let err = c.validate(now()).expect_err("must be refused");
    let hit = err
        .0
        .iter()
        .find(|e| e.field == field)
        .unwrap_or_else(|| panic!("no error on {field}: {err:?}"));
    assert_eq!(hit.code, code);
    assert!(!hit.message.is_empty() && hit.message.is_char_boundary(0));
}

#[rstest]
#[case::a_common_contact(|_: &mut StreetContact| {})]
#[case::no_location(|c: &mut StreetContact| c.facts.location = Location::none())]
#[case::a_named_place(|c: &mut StreetContact| c.facts.location = Location::place(PlaceId::new(), 51.9, 4.4))]
#[case::poor_gps_is_a_warning_not_an_error(|c: &mut StreetContact| c.facts.location = Location::gps(51.9, 4.4, 900.0, 3600))]
#[case::brought_home_consistently(|c: &mut StreetContact| { c.facts.brought_home = 2; c.facts.actions.push(Action::BroughtHome); })]
#[case::up_to_a_day_ahead_for_clock_drift(|c: &mut StreetContact| c.facts.observed_at = now() + jiff::SignedDuration::from_hours(23))]
fn good_contacts_pass(#[case] tweak: fn(&mut StreetContact)) {
    let mut c = good();
    tweak(&mut c);
    assert_eq!(c.validate(now()), Ok(()));
}

#[test]
fn all_problems_are_reported_at_once() {
    let mut c = good();
    c.facts.group = GroupCounts::default();
    c.facts.location.lat = Some(200.0);
    let err = c.validate(now()).expect_err("invalid");
    assert!(err.0.len() >= 2, "{err:?}");
    assert!(err.summary().contains("group") && err.summary().contains("loc.lat"));
}

#[test]
fn an_overlong_partner_name_on_a_round_is_refused() {
    let r = Round {
        id: RoundId::new(),
        wijk: WijkId::new(),
        partner: Some("x".repeat(81)),
        started_at: now(),
    };
    let err = r.validate(now()).expect_err("too long");
    assert_eq!(err.0[0].code, ErrorCode::TooLong);
    assert_eq!(err.0[0].field, "partner");
}

#[test]
fn feedback_longer_than_280_characters_is_refused() {
    let f = Feedback {
        form: CareFormId::new(),
        status: CareStatus::VisitPlanned,
        message: Some("é".repeat(281)),
        updated_at: now(),
    };
    assert_eq!(
        f.validate(now()).expect_err("too long").0[0].code,
        ErrorCode::TooLong
    );
}

#[rstest]
#[case::empty_name(|c: &mut CareFormContent| c.child_name = "  ".into(), "child_name", ErrorCode::Required)]
#[case::birth_in_the_future(|c: &mut CareFormContent| c.birth = Birth::Date(jiff::civil::date(2027, 1, 1)), "birth", ErrorCode::OutOfRange)]
#[case::an_adult(|c: &mut CareFormContent| c.birth = Birth::EstimatedAge(30), "birth", ErrorCode::OutOfRange)]
#[case::overlong_narrative(|c: &mut CareFormContent| c.narrative = "a".repeat(4001), "narrative", ErrorCode::TooLong)]
fn bad_care_forms_are_refused_before_sealing(
    #[case] spoil: fn(&mut CareFormContent),
    #[case] field: &str,
    #[case] code: ErrorCode,
) {
    let mut c = CareFormContent {
        child_name: "Test Kind".into(),
        birth: Birth::Date(jiff::civil::date(2016, 4, 3)),
        address: "Teststraat 1".into(),
        reception: Reception::Warm,
        siblings_present: false,
        parents_reaction: ParentsReaction::Cooperative,
        parents_informed: true,
        signals: vec![],
        narrative: String::new(),
    };
    assert_eq!(c.validate(now()), Ok(()));
    spoil(&mut c);
    let err = c.validate(now()).expect_err("refused");
    assert_eq!(err.0[0].field, field);
    assert_eq!(err.0[0].code, code);
    assert!(
        !format!("{c:?}").contains("Test Kind"),
        "Debug never shows the child's name"
    );
}
