//! Issue 13, bench (c): the server's per-item work was cut by reading contacts,
//! corrections and receipts without serde's `flatten` and by computing the norm verdict
//! bit without its Dutch text. These properties pin that the fast paths give exactly what
//! the slow ones gave.

use avondronde_shared::contact::{
    Action, Behaviour, ContactFacts, GroupCounts, Location, LocationSource,
};
use avondronde_shared::norms::{
    AreaEffect, AreaRule, DailyWindow, Encounter, NormSet, any_past, evaluate,
};
use avondronde_shared::sync::{Acceptance, ContactCorrection, ItemKind, ItemRef, Outcome, Receipt};
use avondronde_shared::*;
use geo::{MultiPolygon, polygon};
use jiff::Timestamp;
use jiff::civil::{date, time};
use proptest::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

/// What `flatten` reads: the reference for the hand-written readers.
#[derive(Deserialize)]
struct FlattenedContact {
    id: ContactId,
    round: RoundId,
    #[serde(flatten)]
    facts: ContactFacts,
}

#[derive(Deserialize)]
struct FlattenedCorrection {
    id: CorrectionId,
    contact: ContactId,
    #[serde(flatten)]
    facts: ContactFacts,
}

#[derive(Deserialize)]
struct FlattenedReceipt {
    kind: ItemKind,
    id: String,
    #[serde(flatten)]
    outcome: Outcome,
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    // 2026 and 2027, every second: both daylight-saving switches, every hour of the night.
    (1_767_225_600i64..1_830_297_600).prop_map(|s| Timestamp::from_second(s).expect("in range"))
}

fn group() -> impl Strategy<Value = GroupCounts> {
    proptest::collection::vec(0u16..4, 5).prop_map(|n| {
        AgeBand::ALL
            .iter()
            .zip(n)
            .fold(GroupCounts::default(), |g, (b, n)| g.with(*b, n))
    })
}

fn facts() -> impl Strategy<Value = ContactFacts> {
    (
        timestamp(),
        -7200i32..7200,
        proptest::option::of((51.85f64..51.95, 4.40f64..4.50)),
        group(),
        any::<bool>(),
        proptest::collection::vec(proptest::sample::select(Behaviour::KNOWN.to_vec()), 0..3),
        proptest::collection::vec(proptest::sample::select(Action::KNOWN.to_vec()), 0..3),
        0u16..3,
    )
        .prop_map(
            |(
                observed_at,
                utc_offset_s,
                ll,
                group,
                supervised,
                behaviours,
                actions,
                brought_home,
            )| {
                ContactFacts {
                    observed_at,
                    utc_offset_s,
                    location: match ll {
                        Some((lat, lon)) => Location::gps(lat, lon, 10.0, 3),
                        None => Location {
                            source: LocationSource::Pin,
                            ..Location::none()
                        },
                    },
                    group,
                    supervised,
                    behaviours,
                    actions,
                    brought_home,
                }
            },
        )
}

fn acceptance() -> impl Strategy<Value = Acceptance> {
    (any::<u64>(), timestamp()).prop_map(|(seq, received_at)| Acceptance { seq, received_at })
}

fn outcome() -> impl Strategy<Value = Outcome> {
    let text = proptest::option::of("[a-z ]{0,12}");
    prop_oneof![
        acceptance().prop_map(Outcome::Accepted),
        acceptance().prop_map(Outcome::Duplicate),
        (acceptance(), "[a-z ]{0,12}")
            .prop_map(|(original, message)| Outcome::Conflict { original, message }),
        ("[a-z_]{1,12}", text.clone(), "[a-z ]{0,12}").prop_map(|(code, field, message)| {
            Outcome::Rejected {
                code,
                field,
                message,
            }
        }),
        ("[a-z_]{1,12}", proptest::option::of(uuid()), "[a-z ]{0,12}").prop_map(
            |(code, parent, message)| Outcome::Retry {
                code,
                parent: parent.map(|p| ItemRef {
                    kind: ItemKind::Round,
                    id: p.to_string()
                }),
                message
            }
        ),
    ]
}

/// A rule over part of the area the points are drawn from, in force every evening of
/// 2026 and 2027 for the younger bands.
fn rule() -> AreaRule {
    AreaRule {
        id: AreaRuleId::new(),
        gemeente: GemeenteId::new(),
        name: "Burgemeestersbevel".into(),
        area: MultiPolygon::new(vec![polygon![
            (x: 4.42, y: 51.88),
            (x: 4.47, y: 51.88),
            (x: 4.47, y: 51.92),
            (x: 4.42, y: 51.92),
        ]]),
        window: DailyWindow {
            start: time(20, 0, 0, 0),
            end: time(6, 0, 0, 0),
        },
        valid_from: date(2026, 1, 1),
        valid_until: date(2027, 12, 31),
        bands: vec![AgeBand::Under6, AgeBand::Age6To9, AgeBand::Age10To11],
        effect: AreaEffect::PresenceBanned,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_contact_reads_the_same_as_with_flatten(id in uuid(), round in uuid(), facts in facts()) {
        let c = StreetContact { id: ContactId(id), round: RoundId(round), facts };
        let json = serde_json::to_string(&c).expect("json");
        let fast: StreetContact = serde_json::from_str(&json).expect("fast");
        let slow: FlattenedContact = serde_json::from_str(&json).expect("slow");
        prop_assert_eq!(&fast, &c);
        prop_assert_eq!((fast.id, fast.round, fast.facts), (slow.id, slow.round, slow.facts));
    }

    #[test]
    fn a_correction_reads_the_same_as_with_flatten(id in uuid(), contact in uuid(), facts in facts()) {
        let c = ContactCorrection { id: CorrectionId(id), contact: ContactId(contact), facts };
        let json = serde_json::to_string(&c).expect("json");
        let fast: ContactCorrection = serde_json::from_str(&json).expect("fast");
        let slow: FlattenedCorrection = serde_json::from_str(&json).expect("slow");
        prop_assert_eq!(&fast, &c);
        prop_assert_eq!((fast.id, fast.contact, fast.facts), (slow.id, slow.contact, slow.facts));
    }

    #[test]
    fn a_receipt_reads_the_same_as_with_flatten(id in "[a-z0-9-]{1,36}", outcome in outcome()) {
        let r = Receipt { kind: ItemKind::Contact, id, outcome };
        let json = serde_json::to_string(&r).expect("json");
        let fast: Receipt = serde_json::from_str(&json).expect("fast");
        let slow: FlattenedReceipt = serde_json::from_str(&json).expect("slow");
        prop_assert_eq!(&fast, &r);
        prop_assert_eq!((fast.kind, fast.id, fast.outcome), (slow.kind, slow.id, slow.outcome));
    }

    #[test]
    fn the_verdict_bit_is_evaluates_any_past(facts in facts(), with_rule in any::<bool>()) {
        let norms = NormSet::rotterdam();
        let rules = if with_rule { vec![rule()] } else { Vec::new() };
        let encounter = Encounter::from(&facts);
        prop_assert_eq!(
            any_past(&norms, &encounter),
            evaluate(&norms, &rules, &encounter).any_past()
        );
    }
}

#[test]
fn optional_fields_missing_and_unknown_fields_read_as_with_flatten() {
    let json = r#"{"id":"0192f000-0000-7000-8000-000000000001","round":"0192f000-0000-7000-8000-000000000002",
        "observed_at":"2026-11-20T21:30:00Z","utc_offset_s":3600,"loc":{"source":"pin"},
        "group":{"6-9":2},"supervised":false,"from_a_newer_app":[1,2,3]}"#;
    let fast: StreetContact = serde_json::from_str(json).expect("fast");
    let slow: FlattenedContact = serde_json::from_str(json).expect("slow");
    assert_eq!(fast.facts, slow.facts);
    assert!(fast.facts.behaviours.is_empty() && fast.facts.actions.is_empty());
    assert_eq!(fast.facts.brought_home, 0);
    // A required field missing is an error either way.
    let broken = json.replace(r#""supervised":false,"#, "");
    assert!(serde_json::from_str::<StreetContact>(&broken).is_err());
    assert!(serde_json::from_str::<FlattenedContact>(&broken).is_err());
    let receipt = r#"{"kind":"contact","id":"x","outcome":"accepted","seq":1}"#;
    assert!(
        serde_json::from_str::<Receipt>(receipt).is_err(),
        "no received_at"
    );
}
