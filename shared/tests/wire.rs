//! Wire-format properties (issue 2): every wire type round-trips through JSON, unknown
//! values from a newer app survive, and validation never panics on arbitrary input.

use avondronde_shared::care::{
    Birth, CareFormContent, CareFormEnvelope, CareStatus, Feedback, ParentsReaction, Reception,
    RecipientKeyId, Signal,
};
use avondronde_shared::contact::{
    Action, Behaviour, ContactFacts, GroupCounts, Location, LocationSource,
};
use avondronde_shared::round::{Round, RoundEnd};
use avondronde_shared::sync::{Acceptance, ContactCorrection, ItemKind, Outcome, Payload, Receipt};
use avondronde_shared::validate::Validate;
use avondronde_shared::*;
use jiff::Timestamp;
use proptest::prelude::*;
use uuid::Uuid;

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    // Whole seconds between 2000 and 2100, as the app sends them.
    (946_684_800i64..4_102_444_800).prop_map(|s| Timestamp::from_second(s).expect("in range"))
}

fn code() -> impl Strategy<Value = String> {
    "[a-z_]{1,12}"
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        proptest::sample::select(Behaviour::KNOWN.to_vec()),
        code().prop_map(Behaviour::from),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        proptest::sample::select(Action::KNOWN.to_vec()),
        code().prop_map(Action::from),
    ]
}

fn location() -> impl Strategy<Value = Location> {
    (
        prop_oneof![
            proptest::sample::select(LocationSource::KNOWN.to_vec()),
            code().prop_map(LocationSource::from)
        ],
        proptest::option::of((-90.0f64..90.0, -180.0f64..180.0)),
        proptest::option::of(0.0f32..5000.0),
        proptest::option::of(any::<u32>()),
        proptest::option::of(uuid().prop_map(PlaceId)),
    )
        .prop_map(|(source, ll, accuracy_m, fix_age_s, place)| Location {
            source,
            lat: ll.map(|p| p.0),
            lon: ll.map(|p| p.1),
            accuracy_m,
            fix_age_s,
            place,
        })
}

fn facts() -> impl Strategy<Value = ContactFacts> {
    (
        timestamp(),
        -64_800i32..64_800,
        location(),
        any::<[u16; 5]>(),
        any::<bool>(),
        proptest::collection::vec(behaviour(), 0..4),
        proptest::collection::vec(action(), 0..4),
        any::<u16>(),
    )
        .prop_map(
            |(
                observed_at,
                utc_offset_s,
                location,
                c,
                supervised,
                behaviours,
                actions,
                brought_home,
            )| {
                let mut group = GroupCounts::default();
                for (band, n) in AgeBand::ALL.into_iter().zip(c) {
                    *group.get_mut(band) = n;
                }
                ContactFacts {
                    observed_at,
                    utc_offset_s,
                    location,
                    group,
                    supervised,
                    behaviours,
                    actions,
                    brought_home,
                }
            },
        )
}

fn round_trip<T>(value: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let json = serde_json::to_string(value).expect("serialise");
    serde_json::from_str(&json).expect("parse back")
}

proptest! {
    #[test]
    fn street_contacts_round_trip(id in uuid(), round in uuid(), facts in facts()) {
        let c = StreetContact { id: ContactId(id), round: RoundId(round), facts };
        prop_assert_eq!(round_trip(&c), c);
    }

    #[test]
    fn corrections_round_trip(id in uuid(), contact in uuid(), facts in facts()) {
        let c = ContactCorrection { id: CorrectionId(id), contact: ContactId(contact), facts };
        prop_assert_eq!(round_trip(&c), c);
    }

    #[test]
    fn rounds_and_round_ends_round_trip(id in uuid(), wijk in uuid(), partner in proptest::option::of(".{0,20}"), at in timestamp()) {
        let r = Round { id: RoundId(id), wijk: WijkId(wijk), partner, started_at: at };
        prop_assert_eq!(round_trip(&r), r);
        let e = RoundEnd { round: RoundId(id), ended_at: at };
        prop_assert_eq!(round_trip(&e), e);
    }

    #[test]
    fn care_envelopes_round_trip_with_binary_sealed_bytes(
        id in uuid(), contact in uuid(), at in timestamp(),
        band in proptest::sample::select(AgeBand::ALL.to_vec()),
        key in "[a-z0-9-]{1,20}", sealed in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let f = CareFormEnvelope {
            id: CareFormId(id), contact: ContactId(contact), created_at: at, age_band: band,
            recipient_key: RecipientKeyId(key), sealed,
        };
        prop_assert_eq!(round_trip(&f), f);
    }

    #[test]
    fn care_contents_round_trip(
        name in ".{0,40}", address in ".{0,40}", narrative in ".{0,80}",
        age in proptest::option::of(0u8..18), siblings in any::<bool>(), informed in any::<bool>(),
        signals in proptest::collection::vec(proptest::sample::select(Signal::KNOWN.to_vec()), 0..4),
    ) {
        let c = CareFormContent {
            child_name: name,
            birth: match age {
                Some(a) => Birth::EstimatedAge(a),
                None => Birth::Date(jiff::civil::date(2016, 4, 3)),
            },
            address,
            reception: Reception::Warm,
            siblings_present: siblings,
            parents_reaction: ParentsReaction::Worried,
            parents_informed: informed,
            signals,
            narrative,
        };
        prop_assert!(round_trip(&c) == c);
    }

    #[test]
    fn feedback_and_receipts_round_trip(
        form in uuid(), at in timestamp(), seq in any::<u64>(), message in proptest::option::of(".{0,40}"),
        status in prop_oneof![proptest::sample::select(CareStatus::KNOWN.to_vec()), code().prop_map(CareStatus::from)],
        which in 0u8..4,
    ) {
        let f = Feedback { form: CareFormId(form), status, message: message.clone(), updated_at: at };
        prop_assert_eq!(round_trip(&f), f);
        let a = Acceptance { seq, received_at: at };
        let outcome = match which {
            0 => Outcome::Accepted(a),
            1 => Outcome::Duplicate(a),
            2 => Outcome::Conflict { original: a, message: message.unwrap_or_default() },
            _ => Outcome::Rejected { code: "empty_group".into(), field: Some("group".into()), message: "x".into() },
        };
        let r = Receipt { kind: ItemKind::Contact, id: form.to_string(), outcome };
        prop_assert_eq!(round_trip(&r), r);
    }

    /// Whatever a phone sends, parsing and validating gives an answer, never a panic.
    #[test]
    fn validation_never_panics_on_arbitrary_contacts(id in uuid(), round in uuid(), facts in facts(), now in timestamp()) {
        let c = StreetContact { id: ContactId(id), round: RoundId(round), facts };
        let _ = c.validate(now);
    }

    #[test]
    fn parsing_arbitrary_bytes_as_an_item_never_panics(body in ".{0,200}", kind in code()) {
        let _ = Payload::parse(&ItemKind::from(kind), &body);
        let _ = Payload::parse(&ItemKind::Contact, &body);
        let _ = Payload::parse(&ItemKind::CareForm, &body);
    }

    #[test]
    fn content_hash_is_stable_across_a_round_trip(id in uuid(), round in uuid(), facts in facts()) {
        let c = StreetContact { id: ContactId(id), round: RoundId(round), facts };
        let again = round_trip(&c);
        prop_assert_eq!(
            Payload::Contact(c).content_hash().expect("hash"),
            Payload::Contact(again).content_hash().expect("hash")
        );
    }
}

#[test]
fn an_older_server_keeps_unknown_fields_and_values_from_a_newer_app() {
    let json = r#"{
        "id": "01937d5e-8b1a-7000-8000-000000000001",
        "round": "01937d5e-8b1a-7000-8000-000000000002",
        "observed_at": "2026-11-22T21:30:00Z",
        "utc_offset_s": 3600,
        "loc": {"source": "wifi", "lat": 51.91, "lon": 4.44, "floor": 2},
        "group": {"10-11": 3, "15-17": 2},
        "supervised": false,
        "behaviours": ["hanging_around", "scooter_racing"],
        "actions": ["spoken"],
        "brought_home": 0,
        "mood": "calm"
    }"#;
    let c: StreetContact = serde_json::from_str(json).expect("a newer app's contact still parses");
    assert_eq!(
        c.facts.location.source,
        LocationSource::Other("wifi".into())
    );
    assert_eq!(
        c.facts.behaviours[1],
        Behaviour::Other("scooter_racing".into())
    );
    assert_eq!(
        c.facts.group.total(),
        3,
        "an unknown band is not counted as a known one"
    );
    let now: Timestamp = "2026-11-23T12:00:00Z".parse().expect("ts");
    assert!(
        c.validate(now).is_ok(),
        "unknown but well-formed codes are kept, not refused"
    );
}

#[test]
fn a_retry_receipt_round_trips_and_names_its_parent() {
    let r = Receipt {
        kind: ItemKind::Contact,
        id: "c1".into(),
        outcome: Outcome::Retry {
            code: "parent_missing".into(),
            parent: Some(avondronde_shared::sync::ItemRef {
                kind: ItemKind::Round,
                id: "r1".into(),
            }),
            message: "De ronde is er nog niet.".into(),
        },
    };
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["outcome"], "retry");
    assert_eq!(json["parent"]["kind"], "round");
    assert_eq!(json["parent"]["id"], "r1");
    let back: Receipt = serde_json::from_value(json).expect("back");
    assert_eq!(back, r);
}

#[test]
fn an_outcome_this_build_does_not_know_is_read_as_unknown_not_an_error() {
    let json = r#"{"receipts": [
        {"kind": "contact", "id": "c1", "outcome": "postponed_until_spring", "extra": 1},
        {"kind": "contact", "id": "c2", "outcome": "accepted", "seq": 4, "received_at": "2026-01-01T00:00:00Z"}
    ], "server_time": "2026-01-01T00:00:00Z"}"#;
    let res: avondronde_shared::sync::PushResponse = serde_json::from_str(json).expect("readable");
    assert_eq!(res.receipts[0].outcome, Outcome::Unknown);
    assert!(matches!(res.receipts[1].outcome, Outcome::Accepted(_)));
}
