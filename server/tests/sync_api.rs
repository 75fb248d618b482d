//! Issue 3, through `Router::oneshot`: enrolment, exactly-once push, pull, revocation, the
//! clock-skew rule and the hard edges of the HTTP API (sizes, bodies, content types, rate
//! limits). Every error answer is checked to be JSON `{code, message}`.

mod common;

use std::io::Write;
use std::sync::atomic::Ordering;

use avondronde_server::MAX_BODY_BYTES;
use avondronde_server::auth;
use avondronde_shared::round::RoundEnd;
use avondronde_shared::sync::{
    ContactCorrection, ItemKind, Outcome, Payload, PullResponse, PushRequest,
};
use avondronde_shared::{CorrectionId, WijkId};
use axum::http::{Method, StatusCode, header};
use common::*;
use jiff::{SignedDuration, Timestamp};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

fn pull_body() -> (Option<&'static str>, Vec<u8>) {
    json_body(&serde_json::json!({ "protocol": 1 }))
}

// ---- enrolment ---------------------------------------------------------------------------

#[tokio::test]
async fn enrolment_with_a_fresh_code_gives_a_token_that_can_pull() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let reply = app
        .send(post(
            "/api/v1/enrol",
            Auth::None,
            json_body(&serde_json::json!({ "code": seed.enrolment_code.to_lowercase(), "label": "Telefoon West" })),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let v: serde_json::Value = reply.json();
    assert_eq!(v["role"], "straatcoach");
    let token = v["token"].as_str().expect("token");
    assert!(token.len() >= 22, "at least 128 bits of base64");
    let stored = app.scalar_bytes("SELECT token_hash FROM device");
    assert_ne!(
        stored,
        token.as_bytes(),
        "only a hash of the token is stored"
    );

    let pull = app
        .send(post("/api/v1/sync/pull", Auth::Bearer(token), pull_body()))
        .await;
    assert_eq!(pull.status, StatusCode::OK, "{}", pull.text());
}

#[tokio::test]
async fn enrolment_with_an_expired_code_answers_410_gone() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let expired = app
        .direct()
        .transaction(|tx| auth::issue_enrolment_code(tx, seed.field_user, -1))
        .expect("code");
    let reply = app
        .send(post(
            "/api/v1/enrol",
            Auth::None,
            json_body(&serde_json::json!({ "code": expired })),
        ))
        .await;
    assert_eq!(reply.error(StatusCode::GONE).code, "gone");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM device"), 0);
}

#[tokio::test]
async fn enrolment_code_reused_answers_410_gone_and_makes_no_second_device() {
    let app = TestApp::new();
    let seed = app.seed(false);
    app.enrol(&seed.enrolment_code).await;
    let again = app
        .send(post(
            "/api/v1/enrol",
            Auth::None,
            json_body(&serde_json::json!({ "code": seed.enrolment_code })),
        ))
        .await;
    let err = again.error(StatusCode::GONE);
    assert!(err.message.contains("al gebruikt"), "{}", err.message);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM device"), 1);
}

#[tokio::test]
async fn enrolment_with_an_unknown_code_answers_404() {
    let app = TestApp::new();
    app.seed(false);
    let reply = app
        .send(post(
            "/api/v1/enrol",
            Auth::None,
            json_body(&serde_json::json!({ "code": "AAAA-BBBB-CCCC" })),
        ))
        .await;
    assert_eq!(reply.error(StatusCode::NOT_FOUND).code, "not_found");
}

// ---- push and pull -----------------------------------------------------------------------

#[tokio::test]
async fn push_then_pull_stores_the_contacts_and_returns_the_config() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = round(seed.wijk, minutes_ago(60));
    let c = contact(r.id, minutes_ago(30), seed.inside);
    let res = app
        .push_ok(
            &token,
            &push_request(
                Timestamp::now(),
                &[Payload::Round(r.clone()), Payload::Contact(c.clone())],
            ),
        )
        .await;
    let seqs: Vec<u64> = res.receipts.iter().map(|r| acceptance(r).seq).collect();
    assert!(
        seqs[0] < seqs[1],
        "server order follows the batch: {seqs:?}"
    );
    let of_c = |column: &str| format!("SELECT {column} FROM contact WHERE id = '{}'", c.id);
    let (wijk, n69, observed) = (
        app.scalar_text(&of_c("wijk_id")),
        app.scalar(&of_c("n_6_9")),
        app.scalar(&of_c("observed_at")),
    );
    assert_eq!(
        wijk,
        seed.wijk.to_string(),
        "wijk derived from the location"
    );
    assert_eq!(n69, 2);
    assert_eq!(observed, c.facts.observed_at.as_second());

    let pull = app
        .send(post("/api/v1/sync/pull", Auth::Bearer(&token), pull_body()))
        .await;
    assert_eq!(pull.status, StatusCode::OK, "{}", pull.text());
    let pulled: PullResponse = pull.json();
    let config = pulled.config.expect("first pull carries the config");
    assert_eq!(config.gemeente.id, seed.gemeente);
    assert_eq!(config.wijken.len(), 1);
    assert!(pulled.feedback.is_empty());

    // Holding the current config version, the device is not sent it again.
    let again = app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(&token),
            json_body(&serde_json::json!({ "protocol": 1, "config_version": config.version, "since": pulled.cursor })),
        ))
        .await;
    assert!(again.json::<PullResponse>().config.is_none());
}

#[tokio::test]
async fn duplicate_batch_leaves_one_row_each_and_returns_identical_acceptances() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = round(seed.wijk, minutes_ago(60));
    let mut payloads = vec![Payload::Round(r.clone())];
    payloads
        .extend((0..3).map(|i| Payload::Contact(contact(r.id, minutes_ago(40 - i), seed.inside))));
    let batch = push_request(Timestamp::now(), &payloads);
    let first = app.push_ok(&token, &batch).await;
    let second = app.push_ok(&token, &batch).await;
    for (a, b) in first.receipts.iter().zip(&second.receipts) {
        assert!(matches!(a.outcome, Outcome::Accepted(_)), "{a:?}");
        assert!(matches!(b.outcome, Outcome::Duplicate(_)), "{b:?}");
        assert_eq!(acceptance(a), acceptance(b), "same seq and received_at");
        assert_eq!((&a.kind, &a.id), (&b.kind, &b.id));
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 3);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM round"), 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM item"), 4);
}

#[tokio::test]
async fn the_same_item_twice_in_one_batch_is_stored_once() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = start_round(&app, &token, &seed).await;
    let c = Payload::Contact(contact(r.id, minutes_ago(10), seed.inside));
    let res = app
        .push_ok(&token, &push_request(Timestamp::now(), &[c.clone(), c]))
        .await;
    assert!(matches!(res.receipts[0].outcome, Outcome::Accepted(_)));
    assert!(matches!(res.receipts[1].outcome, Outcome::Duplicate(_)));
    assert_eq!(acceptance(&res.receipts[0]), acceptance(&res.receipts[1]));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 1);
}

#[tokio::test]
async fn retry_after_a_lost_response_returns_the_original_receipt() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = start_round(&app, &token, &seed).await;
    let batch = push_request(
        Timestamp::now(),
        &[Payload::Contact(contact(r.id, minutes_ago(5), seed.inside))],
    );
    // The server committed and answered, but the answer never reached the phone.
    let lost = app.push(&token, &batch).await;
    assert_eq!(lost.status, StatusCode::OK);
    let original = acceptance(
        &lost
            .json::<avondronde_shared::sync::PushResponse>()
            .receipts[0],
    );
    drop(lost);

    // The phone still has the item pending and sends the same batch again, later.
    let retry = app.push_ok(&token, &batch).await;
    assert!(matches!(retry.receipts[0].outcome, Outcome::Duplicate(_)));
    assert_eq!(acceptance(&retry.receipts[0]), original);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 1);
}

#[tokio::test]
async fn same_id_with_other_content_is_a_conflict_and_the_original_row_is_unchanged() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = start_round(&app, &token, &seed).await;
    let original = contact(r.id, minutes_ago(5), seed.inside);
    let first = app
        .push_ok(
            &token,
            &push_request(Timestamp::now(), &[Payload::Contact(original.clone())]),
        )
        .await;
    let mut changed = original.clone();
    changed.facts.group = changed
        .facts
        .group
        .with(avondronde_shared::AgeBand::Age6To9, 7);
    let second = app
        .push_ok(
            &token,
            &push_request(Timestamp::now(), &[Payload::Contact(changed)]),
        )
        .await;
    match &second.receipts[0].outcome {
        Outcome::Conflict {
            original: a,
            message,
        } => {
            assert_eq!(*a, acceptance(&first.receipts[0]));
            assert!(!message.is_empty());
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let n69 = app.scalar(&format!(
        "SELECT n_6_9 FROM contact WHERE id = '{}'",
        original.id
    ));
    assert_eq!(n69, 2, "nothing was overwritten");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 1);
}

#[tokio::test]
async fn same_id_and_content_from_another_device_is_a_conflict_not_a_duplicate() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let phone_a = app.enrol(&seed.enrolment_code).await;
    let phone_b = app.device(&seed).await;
    let r = start_round(&app, &phone_a, &seed).await;
    let batch = push_request(
        Timestamp::now(),
        &[Payload::Contact(contact(r.id, minutes_ago(5), seed.inside))],
    );
    app.push_ok(&phone_a, &batch).await;
    let other = app.push_ok(&phone_b, &batch).await;
    assert!(
        matches!(other.receipts[0].outcome, Outcome::Conflict { .. }),
        "{:?}",
        other.receipts[0]
    );
}

/// Ids are drawn at random on the phone, so an id already taken in another gemeente is not
/// this phone's own: refused for good, on both backends, without telling anything of the
/// other gemeente's item (no sequence number, no time), and the original stays as it was.
#[tokio::test]
async fn an_id_taken_in_another_gemeente_is_refused_and_tells_nothing_of_it() {
    let app = TestApp::new();
    let own = app.seed(false);
    let other = app.seed(false);
    let phone_a = app.enrol(&own.enrolment_code).await;
    let phone_b = app.enrol(&other.enrolment_code).await;
    let r = start_round(&app, &phone_a, &own).await;
    let taken = contact(r.id, minutes_ago(5), own.inside);
    app.push_ok(
        &phone_a,
        &push_request(Timestamp::now(), &[Payload::Contact(taken.clone())]),
    )
    .await;
    let r_b = start_round(&app, &phone_b, &other).await;
    let mut copy = contact(r_b.id, minutes_ago(4), other.inside);
    copy.id = taken.id;
    let answer = app
        .push_ok(
            &phone_b,
            &push_request(Timestamp::now(), &[Payload::Contact(copy)]),
        )
        .await;
    match &answer.receipts[0].outcome {
        Outcome::Rejected { code, message, .. } => {
            assert_eq!(code, "id_taken");
            assert!(!message.is_empty());
        }
        other => panic!("expected id_taken, got {other:?}"),
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 1);
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT round_id FROM contact WHERE id = '{}'",
            taken.id
        )),
        r.id.to_string(),
        "the original is untouched"
    );
}

/// A push is handled as if its items came one after the other, though its keys are
/// claimed and its contacts stored in bulk: a correction and a care form see the contact
/// earlier in the same push, and a contact that waits for its round and comes again after
/// the round in the same push lands at its second place.
#[tokio::test]
async fn items_in_one_push_see_the_items_before_them_as_if_sent_one_by_one() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = round(seed.wijk, minutes_ago(60));
    let early = contact(r.id, minutes_ago(20), seed.inside);
    let c = contact(r.id, minutes_ago(10), seed.inside);
    let fix = ContactCorrection {
        id: CorrectionId::new(),
        contact: c.id,
        facts: facts(minutes_ago(10), seed.inside, 7),
    };
    let batch = [
        Payload::Contact(early.clone()),
        Payload::Round(r),
        Payload::Contact(c),
        Payload::Correction(fix.clone()),
        Payload::Contact(early.clone()),
    ];
    let res = app
        .push_ok(&token, &push_request(Timestamp::now(), &batch))
        .await;
    assert_waits_for(
        &res.receipts[0].outcome,
        ItemKind::Round,
        &res.receipts[1].id,
    );
    for (i, receipt) in res.receipts.iter().enumerate().skip(1) {
        assert!(
            matches!(receipt.outcome, Outcome::Accepted(_)),
            "item {i}: {receipt:?}"
        );
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 2);
    assert_eq!(
        app.scalar(&format!(
            "SELECT n_6_9 FROM contact WHERE id = '{}'",
            fix.contact
        )),
        7,
        "the correction found the contact stored just before it"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM item WHERE item_id = '{}'",
            early.id
        )),
        1
    );
}

/// Writes queued together share one commit (SQLite's writer, or the gemeente's writer on
/// PostgreSQL), each in a savepoint of its own: the ones that fail leave nothing, the
/// others are all kept, and each caller hears its own outcome.
#[tokio::test]
async fn a_failing_write_rolls_back_only_itself_when_writes_share_a_commit() {
    use avondronde_server::db::DbError;
    let app = TestApp::new();
    let seed = app.seed(false);
    let device = avondronde_shared::DeviceId::new();
    let queued: Vec<_> = (0..40u8)
        .map(|i| {
            app.state
                .store
                .submit(seed.gemeente, move |tx| {
                    let id = format!("job-{i}");
                    avondronde_server::store::sync::claim_item(
                        tx,
                        &ItemKind::Contact,
                        &id,
                        device,
                        &[i; 32],
                        1,
                    )?;
                    if i % 2 == 1 {
                        return Err(DbError::Domain("this job fails".into()));
                    }
                    Ok(i)
                })
                .expect("queued")
        })
        .collect();
    for (i, job) in (0..40u8).zip(queued) {
        match job.await {
            Ok(value) => assert!(i % 2 == 0 && value == i, "job {i} answered {value}"),
            Err(e) => assert!(
                i % 2 == 1 && e.to_string().contains("this job fails"),
                "job {i}: {e}"
            ),
        }
    }
    assert_eq!(
        app.texts("SELECT item_id FROM item WHERE item_id LIKE 'job-%' ORDER BY seq"),
        (0..40)
            .step_by(2)
            .map(|i| format!("job-{i}"))
            .collect::<Vec<_>>()
    );
}

/// The push handler derives a contact's wijk and verdict with the rules it has cached, and
/// the write checks their version in its own transaction: a wijk added between two pushes
/// counts for the second one at once.
#[tokio::test]
async fn a_wijk_added_between_two_pushes_counts_for_the_second_at_once() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = start_round(&app, &token, &seed).await;
    // North of the seed's wijk, in no wijk yet: a contact there counts in its round's wijk.
    let (lat, lon) = (seed.inside.0 + 0.05, seed.inside.1);
    let first = contact(r.id, minutes_ago(9), (lat, lon));
    app.push_ok(
        &token,
        &push_request(Timestamp::now(), &[Payload::Contact(first.clone())]),
    )
    .await;
    let square = [
        (lon - 0.01, lat - 0.01),
        (lon + 0.01, lat - 0.01),
        (lon + 0.01, lat + 0.01),
        (lon - 0.01, lat + 0.01),
        (lon - 0.01, lat - 0.01),
    ];
    let boundary = geo::MultiPolygon(vec![avondronde_server::setup::polygon(&square)]);
    let north = app
        .direct()
        .transaction(move |tx| {
            Ok(avondronde_server::setup::create_wijk(
                tx,
                seed.gemeente,
                "WK900099",
                "Noord",
                &boundary,
            )
            .expect("wijk"))
        })
        .expect("a new wijk");
    let second = contact(r.id, minutes_ago(8), (lat, lon));
    app.push_ok(
        &token,
        &push_request(Timestamp::now(), &[Payload::Contact(second.clone())]),
    )
    .await;
    let wijk_of = |c: &avondronde_shared::StreetContact| {
        app.scalar_text(&format!(
            "SELECT wijk_id FROM contact WHERE id = '{}'",
            c.id
        ))
    };
    assert_eq!(wijk_of(&first), seed.wijk.to_string());
    assert_eq!(wijk_of(&second), north.to_string());
}

#[tokio::test]
async fn one_bad_item_does_not_fail_the_others_in_its_batch() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = start_round(&app, &token, &seed).await;
    let good = |m| Payload::Contact(contact(r.id, minutes_ago(m), seed.inside));
    let mut empty_group = contact(r.id, minutes_ago(3), seed.inside);
    empty_group.facts.group = Default::default();
    let orphan = contact(
        avondronde_shared::RoundId::new(),
        minutes_ago(3),
        seed.inside,
    );
    let mut items = vec![
        item(&good(9)),
        item(&Payload::Contact(empty_group)),
        item(&good(8)),
        item(&Payload::Contact(orphan)),
        item(&good(7)),
    ];
    // An unreadable body, an id that does not match its body, and a kind from a newer app.
    let mut unreadable = item(&good(6));
    unreadable.body =
        serde_json::value::RawValue::from_string(r#"{"id": 42}"#.into()).expect("raw");
    let mut mismatched = item(&good(5));
    mismatched.id = avondronde_shared::ContactId::new().to_string();
    let mut newer = item(&good(4));
    newer.kind = avondronde_shared::sync::ItemKind::Other("sighting".into());
    items.extend([unreadable, mismatched, newer]);
    let batch = PushRequest {
        protocol: avondronde_shared::sync::PROTOCOL_VERSION,
        device_time: Timestamp::now(),
        items,
    };
    let res = app.push_ok(&token, &batch).await;
    let codes: Vec<String> = res
        .receipts
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Accepted(_) => "accepted".to_owned(),
            Outcome::Rejected { code, .. } => code.clone(),
            Outcome::Retry { code, .. } => format!("retry {code}"),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        [
            "accepted",
            "empty_group",
            "accepted",
            "retry parent_missing",
            "accepted",
            "invalid_body",
            "id_mismatch",
            "unknown_kind"
        ]
    );
    if let Outcome::Rejected { field, message, .. } = &res.receipts[1].outcome {
        assert_eq!(field.as_deref(), Some("group"));
        assert!(!message.is_empty());
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 3);
    // A rejected item leaves no trace in the ledger, so a fixed version can still be sent.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM item WHERE kind = 'contact'"),
        3
    );
}

#[tokio::test]
async fn items_that_point_at_another_devices_round_or_contact_are_refused_for_good() {
    let app = TestApp::new();
    let own = app.seed(false);
    let other = app.seed(false);
    let mine = app.enrol(&own.enrolment_code).await;
    let theirs = app.enrol(&other.enrolment_code).await;
    let their_round = start_round(&app, &theirs, &other).await;
    let their_contact = contact(their_round.id, minutes_ago(6), other.inside);
    app.push_ok(
        &theirs,
        &push_request(Timestamp::now(), &[Payload::Contact(their_contact.clone())]),
    )
    .await;
    let on_their_round = contact(their_round.id, minutes_ago(5), own.inside);
    let on_their_contact = ContactCorrection {
        id: CorrectionId::new(),
        contact: their_contact.id,
        facts: facts(minutes_ago(6), own.inside, 4),
    };
    let res = app
        .push_ok(
            &mine,
            &push_request(
                Timestamp::now(),
                &[
                    Payload::Contact(on_their_round),
                    Payload::Correction(on_their_contact),
                ],
            ),
        )
        .await;
    let codes: Vec<_> = res
        .receipts
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Rejected { code, .. } => code.as_str(),
            other => panic!("expected a rejection, got {other:?}"),
        })
        .collect();
    assert_eq!(codes, ["unknown_round", "unknown_contact"]);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contact WHERE n_6_9 = 4"),
        0,
        "their contact is untouched"
    );
}

// ---- no item stranded behind its parent (issue 13) ---------------------------------------

/// The single receipt of a push of one item.
async fn push_one(app: &TestApp, token: &str, payload: Payload) -> Outcome {
    let res = app
        .push_ok(token, &push_request(Timestamp::now(), &[payload]))
        .await;
    assert_eq!(res.receipts.len(), 1);
    res.receipts[0].outcome.clone()
}

#[track_caller]
fn assert_waits_for(outcome: &Outcome, kind: ItemKind, id: &str) {
    match outcome {
        Outcome::Retry {
            code,
            parent: Some(parent),
            message,
        } => {
            assert_eq!(code, "parent_missing");
            assert_eq!((&parent.kind, parent.id.as_str()), (&kind, id));
            assert!(!message.is_empty());
        }
        other => panic!("expected a retry waiting for {kind:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn children_pushed_before_their_parents_are_answered_retry_and_land_exactly_once_after() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = round(seed.wijk, minutes_ago(60));
    let c = contact(r.id, minutes_ago(10), seed.inside);
    let fix = ContactCorrection {
        id: CorrectionId::new(),
        contact: c.id,
        facts: facts(minutes_ago(10), seed.inside, 5),
    };
    let end = RoundEnd {
        round: r.id,
        ended_at: whole_seconds(minutes_ago(1)),
    };

    // Each child alone, in its own push, before its parent: a retry naming the parent,
    // and nothing written, not even in the ledger.
    let round_id = r.id.to_string();
    let contact_id = c.id.to_string();
    assert_waits_for(
        &push_one(&app, &token, Payload::Contact(c.clone())).await,
        ItemKind::Round,
        &round_id,
    );
    assert_waits_for(
        &push_one(&app, &token, Payload::RoundEnd(end.clone())).await,
        ItemKind::Round,
        &round_id,
    );
    assert_waits_for(
        &push_one(&app, &token, Payload::Correction(fix.clone())).await,
        ItemKind::Contact,
        &contact_id,
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM item"),
        0,
        "no ledger row for a waiting item"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM correction"), 0);

    // The parent arrives; the same children, sent again, are accepted.
    assert!(matches!(
        push_one(&app, &token, Payload::Round(r.clone())).await,
        Outcome::Accepted(_)
    ));
    let stored = push_one(&app, &token, Payload::Contact(c.clone())).await;
    assert!(matches!(stored, Outcome::Accepted(_)), "{stored:?}");
    assert!(matches!(
        push_one(&app, &token, Payload::Correction(fix.clone())).await,
        Outcome::Accepted(_)
    ));
    assert!(matches!(
        push_one(&app, &token, Payload::RoundEnd(end.clone())).await,
        Outcome::Accepted(_)
    ));

    // Exactly once: a replay is a duplicate with the original acceptance.
    let again = push_one(&app, &token, Payload::Contact(c.clone())).await;
    assert_eq!(again, Outcome::Duplicate(acceptance_of(&stored)));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contact WHERE n_6_9 = 5"),
        1,
        "the correction is in force"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM correction"), 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM round WHERE ended_at IS NOT NULL"),
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM item"), 4);
}

fn acceptance_of(outcome: &Outcome) -> avondronde_shared::sync::Acceptance {
    match outcome {
        Outcome::Accepted(a) | Outcome::Duplicate(a) => *a,
        other => panic!("expected an acceptance, got {other:?}"),
    }
}

#[tokio::test]
async fn a_child_and_its_parent_in_one_push_in_the_wrong_order_wait_once_and_then_land() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = round(seed.wijk, minutes_ago(60));
    let c = contact(r.id, minutes_ago(10), seed.inside);
    let batch = [Payload::Contact(c.clone()), Payload::Round(r)];
    let res = app
        .push_ok(&token, &push_request(Timestamp::now(), &batch))
        .await;
    assert!(matches!(res.receipts[0].outcome, Outcome::Retry { .. }));
    assert!(matches!(res.receipts[1].outcome, Outcome::Accepted(_)));
    // The same batch again, as a phone would send it: the round is a duplicate now and
    // the contact lands.
    let res = app
        .push_ok(&token, &push_request(Timestamp::now(), &batch))
        .await;
    assert!(
        matches!(res.receipts[0].outcome, Outcome::Accepted(_)),
        "{:?}",
        res.receipts[0]
    );
    assert!(matches!(res.receipts[1].outcome, Outcome::Duplicate(_)));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 1);
}

#[tokio::test]
async fn a_version_1_phone_gets_no_receipt_for_a_waiting_item_which_it_sends_again() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = round(seed.wijk, minutes_ago(60));
    let waiting = contact(r.id, minutes_ago(10), seed.inside);
    let mut req = push_request(Timestamp::now(), &[Payload::Contact(waiting)]);
    req.protocol = 1;
    let reply = app.push(&token, &req).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body: serde_json::Value = reply.json();
    assert_eq!(
        body["receipts"],
        serde_json::json!([]),
        "no outcome a version-1 phone cannot read"
    );
}

#[tokio::test]
async fn a_round_in_a_wijk_the_server_does_not_know_is_stored_flagged_and_never_strands_its_contacts()
 {
    let app = TestApp::new();
    let own = app.seed(false);
    let other = app.seed(false);
    let token = app.enrol(&own.enrolment_code).await;
    // One round in a wijk that never existed (removed since the phone pulled), one in
    // another gemeente's wijk.
    let gone = round(WijkId::new(), minutes_ago(60));
    let foreign = round(other.wijk, minutes_ago(50));
    let outside = (own.inside.0 + 1.0, own.inside.1);
    let batch = [
        Payload::Round(gone.clone()),
        Payload::Round(foreign.clone()),
        Payload::Contact(contact(gone.id, minutes_ago(40), own.inside)),
        Payload::Contact(contact(foreign.id, minutes_ago(30), outside)),
    ];
    let res = app
        .push_ok(&token, &push_request(Timestamp::now(), &batch))
        .await;
    for r in &res.receipts {
        assert!(matches!(r.outcome, Outcome::Accepted(_)), "{r:?}");
    }
    // Contacts get a wijk by their location only, never the unknown id.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM contact WHERE wijk_id = '{}'",
            own.wijk
        )),
        1,
        "the contact inside the own wijk is in it"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contact WHERE wijk_id IS NULL"),
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM contact WHERE wijk_id = '{}'",
            other.wijk
        )),
        0,
        "nothing lands in another gemeente's wijk"
    );
    // Flagged for the admin of the phone's gemeente, not for the other one.
    let flagged = app
        .direct()
        .read(|tx| avondronde_server::ingest::rounds_with_unknown_wijk(tx, own.gemeente))
        .expect("query");
    let mut named: Vec<_> = flagged
        .iter()
        .map(|f| (f.round, f.named_wijk.clone(), f.contacts))
        .collect();
    named.sort();
    let mut expected = vec![
        (gone.id, gone.wijk.to_string(), 1),
        (foreign.id, foreign.wijk.to_string(), 1),
    ];
    expected.sort();
    assert_eq!(named, expected);
    assert!(
        app.direct()
            .read(|tx| avondronde_server::ingest::rounds_with_unknown_wijk(tx, other.gemeente))
            .expect("query")
            .is_empty()
    );
}

// ---- revocation --------------------------------------------------------------------------

#[tokio::test]
async fn revoked_device_gets_401_device_revoked_on_push_and_pull() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = start_round(&app, &token, &seed).await;
    let device: avondronde_shared::DeviceId = app
        .scalar_text("SELECT id FROM device")
        .parse()
        .expect("id");
    assert!(
        app.direct()
            .transaction(|tx| auth::revoke_device(tx, device))
            .expect("revoke")
    );

    let push = app
        .push(
            &token,
            &push_request(
                Timestamp::now(),
                &[Payload::Contact(contact(r.id, minutes_ago(1), seed.inside))],
            ),
        )
        .await;
    assert_eq!(push.error(StatusCode::UNAUTHORIZED).code, "device_revoked");
    let pull = app
        .send(post("/api/v1/sync/pull", Auth::Bearer(&token), pull_body()))
        .await;
    assert_eq!(pull.error(StatusCode::UNAUTHORIZED).code, "device_revoked");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 0);

    // An unknown token is plain 401, so the app can tell "revoked" from "wrong token".
    let unknown = app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer("not-a-token"),
            pull_body(),
        ))
        .await;
    assert_eq!(unknown.error(StatusCode::UNAUTHORIZED).code, "unauthorized");
}

// ---- clock skew --------------------------------------------------------------------------

fn skew_of(app: &TestApp, id: &str) -> (i64, i64) {
    let of = |column: &str| app.scalar(&format!("SELECT {column} FROM contact WHERE id = '{id}'"));
    (of("skew_flag"), of("clock_skew_ms"))
}

#[tokio::test]
async fn device_clock_ten_minutes_ahead_flags_its_contacts_and_drops_none() {
    const METRICS_TOKEN: &str = "metrics-token-for-this-test";
    let app = TestApp::with_config(avondronde_server::Config {
        metrics_token: Some(avondronde_server::state::MetricsToken(METRICS_TOKEN.into())),
        ..avondronde_server::Config::default()
    });
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = start_round(&app, &token, &seed).await;
    let ahead = SignedDuration::from_mins(10);
    let device_now = Timestamp::now().checked_add(ahead).expect("in range");
    // By the phone's clock these were 20 and 2 minutes ago; the second lies 8 minutes in
    // the server's future, consistent with the phone's clock.
    let past = contact(
        r.id,
        device_now
            .checked_sub(SignedDuration::from_mins(20))
            .expect("t"),
        seed.inside,
    );
    let future = contact(
        r.id,
        device_now
            .checked_sub(SignedDuration::from_mins(2))
            .expect("t"),
        seed.inside,
    );
    assert!(future.facts.observed_at > Timestamp::now());
    let res = app
        .push_ok(
            &token,
            &push_request(
                device_now,
                &[
                    Payload::Contact(past.clone()),
                    Payload::Contact(future.clone()),
                ],
            ),
        )
        .await;
    for receipt in &res.receipts {
        assert!(
            matches!(receipt.outcome, Outcome::Accepted(_)),
            "{receipt:?}"
        );
    }
    for c in [&past, &future] {
        let (flag, skew_ms) = skew_of(&app, &c.id.to_string());
        assert_eq!(flag, 1, "flagged");
        assert!(
            (590_000..=610_000).contains(&skew_ms),
            "skew recorded: {skew_ms}"
        );
    }
    let offset = app.scalar("SELECT clock_offset_ms FROM device");
    assert!(
        (590_000..=610_000).contains(&offset),
        "device offset recorded: {offset}"
    );
    let metrics = app.send(get("/metrics", Auth::Bearer(METRICS_TOKEN))).await;
    assert!(
        metrics
            .text()
            .contains("avondronde_skewed_contacts_total 2"),
        "{}",
        metrics.text()
    );
}

#[tokio::test]
async fn device_clock_within_five_minutes_is_not_flagged() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = start_round(&app, &token, &seed).await;
    let c = contact(r.id, minutes_ago(3), seed.inside);
    let device_now = Timestamp::now()
        .checked_add(SignedDuration::from_mins(4))
        .expect("t");
    app.push_ok(
        &token,
        &push_request(device_now, &[Payload::Contact(c.clone())]),
    )
    .await;
    assert_eq!(skew_of(&app, &c.id.to_string()).0, 0);
}

#[tokio::test]
async fn contact_days_in_the_servers_future_is_kept_when_the_device_clock_agrees() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = start_round(&app, &token, &seed).await;
    // A phone whose clock is three days ahead: by the server's clock alone this contact
    // would be "more than 24 hours in the future", but it is a minute old by the phone's.
    let device_now = Timestamp::now()
        .checked_add(SignedDuration::from_hours(72))
        .expect("t");
    let c = contact(
        r.id,
        device_now
            .checked_sub(SignedDuration::from_mins(1))
            .expect("t"),
        seed.inside,
    );
    // Still nonsense relative to the phone's own clock: a day and more ahead of it.
    let nonsense = contact(
        r.id,
        device_now
            .checked_add(SignedDuration::from_hours(25))
            .expect("t"),
        seed.inside,
    );
    let res = app
        .push_ok(
            &token,
            &push_request(
                device_now,
                &[Payload::Contact(c.clone()), Payload::Contact(nonsense)],
            ),
        )
        .await;
    assert!(
        matches!(res.receipts[0].outcome, Outcome::Accepted(_)),
        "{:?}",
        res.receipts[0]
    );
    assert!(
        matches!(&res.receipts[1].outcome, Outcome::Rejected { code, .. } if code == "in_future"),
        "{:?}",
        res.receipts[1]
    );
    assert_eq!(skew_of(&app, &c.id.to_string()).0, 1);
}

// ---- hard edges --------------------------------------------------------------------------

#[tokio::test]
async fn oversized_body_answers_413_json() {
    let app = TestApp::new();
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    let reply = app
        .send(post(
            "/api/v1/enrol",
            Auth::None,
            (Some("application/json"), body),
        ))
        .await;
    assert_eq!(
        reply.error(StatusCode::PAYLOAD_TOO_LARGE).code,
        "payload_too_large"
    );
}

#[tokio::test]
async fn gzip_body_that_inflates_past_the_limit_answers_413_json() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    // 8 MiB of spaces compress to a few kilobytes: the limit applies after decompression.
    let bomb = gzip(&vec![b' '; 2 * MAX_BODY_BYTES]);
    assert!(bomb.len() < 64 * 1024);
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/sync/push")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(axum::body::Body::from(bomb))
        .expect("request");
    let reply = app.send(req).await;
    assert_eq!(
        reply.error(StatusCode::PAYLOAD_TOO_LARGE).code,
        "payload_too_large"
    );
}

#[tokio::test]
async fn gzip_compressed_push_is_accepted() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = round(seed.wijk, minutes_ago(60));
    let mut payloads = vec![Payload::Round(r.clone())];
    // Enough receipts for a compressed answer (small answers are sent as they are).
    payloads
        .extend((0..20).map(|i| Payload::Contact(contact(r.id, minutes_ago(30 - i), seed.inside))));
    let batch = push_request(Timestamp::now(), &payloads);
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/sync/push")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, "gzip")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(axum::body::Body::from(gzip(
            &serde_json::to_vec(&batch).expect("json"),
        )))
        .expect("request");
    let reply = app.send(req).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.headers[header::CONTENT_ENCODING],
        "gzip",
        "answer compressed too"
    );
    let mut json = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&reply.body[..]),
        &mut json,
    )
    .expect("gunzip");
    let res: avondronde_shared::sync::PushResponse = serde_json::from_slice(&json).expect("json");
    assert!(
        res.receipts
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Accepted(_)))
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 20);
}

#[tokio::test]
async fn small_answers_are_sent_uncompressed_even_when_gzip_is_accepted() {
    let app = TestApp::new();
    let reply = app
        .send(
            axum::http::Request::builder()
                .uri("/health")
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(reply.text(), "ok");
}

#[tokio::test]
async fn a_batch_of_several_write_chunks_keeps_batch_order_and_refers_across_chunks() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    // The round first, 450 contacts in it, then its end: the server stores big batches in
    // chunks, and a later chunk must see the round an earlier one stored.
    let r = round(seed.wijk, minutes_ago(600));
    let mut payloads = vec![Payload::Round(r.clone())];
    payloads.extend(
        (0..450).map(|i| Payload::Contact(contact(r.id, minutes_ago(500 - i), seed.inside))),
    );
    payloads.push(Payload::RoundEnd(avondronde_shared::round::RoundEnd {
        round: r.id,
        ended_at: whole_seconds(minutes_ago(1)),
    }));
    let res = app
        .push_ok(&token, &push_request(Timestamp::now(), &payloads))
        .await;
    let seqs: Vec<u64> = res.receipts.iter().map(|r| acceptance(r).seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "server order is batch order"
    );
    for (receipt, payload) in res.receipts.iter().zip(&payloads) {
        assert_eq!(
            receipt.id,
            payload.id().to_string(),
            "receipts in request order"
        );
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 450);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM round WHERE ended_at IS NOT NULL"),
        1
    );
}

#[rstest::rstest]
#[case::syntax_error(r#"{"code": "#)]
#[case::not_json("code=ABCD")]
#[case::wrong_shape(r#"{"kode": "ABCD-EFGH-JKLM"}"#)]
#[case::wrong_type(r#"{"code": 12}"#)]
#[case::empty("")]
#[tokio::test]
async fn malformed_json_answers_400_json_with_a_code(#[case] body: &str) {
    let app = TestApp::new();
    let reply = app
        .send(post(
            "/api/v1/enrol",
            Auth::None,
            (Some("application/json"), body.as_bytes().to_vec()),
        ))
        .await;
    let err = reply.error(StatusCode::BAD_REQUEST);
    assert_eq!(err.code, "invalid_body");
}

#[tokio::test]
async fn malformed_push_batch_answers_400_and_stores_nothing() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let reply = app
        .send(post(
            "/api/v1/sync/push",
            Auth::Bearer(&token),
            (
                Some("application/json"),
                br#"{"protocol":1,"items":[}"#.to_vec(),
            ),
        ))
        .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST).code, "invalid_body");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM item"), 0);
}

#[rstest::rstest]
#[case::form("application/x-www-form-urlencoded")]
#[case::text("text/plain")]
#[case::missing("")]
#[tokio::test]
async fn wrong_content_type_answers_415_json(#[case] content_type: &str) {
    let app = TestApp::new();
    let ct = (!content_type.is_empty()).then_some(content_type);
    let reply = app
        .send(post(
            "/api/v1/enrol",
            Auth::None,
            (ct, br#"{"code":"AAAA-BBBB-CCCC"}"#.to_vec()),
        ))
        .await;
    assert_eq!(
        reply.error(StatusCode::UNSUPPORTED_MEDIA_TYPE).code,
        "unsupported_media_type"
    );
}

#[tokio::test]
async fn unsupported_content_encoding_answers_415_json() {
    let app = TestApp::new();
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/enrol")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, "compress")
        .body(axum::body::Body::from(r#"{"code":"x"}"#))
        .expect("request");
    let reply = app.send(req).await;
    reply.error(StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn unknown_route_answers_404_json() {
    let app = TestApp::new();
    for path in ["/api/v1/nope", "/api/v2/sync/push", "/nope"] {
        let reply = app.send(get(path, Auth::None)).await;
        assert_eq!(
            reply.error(StatusCode::NOT_FOUND).code,
            "not_found",
            "{path}"
        );
    }
}

#[tokio::test]
async fn wrong_method_answers_405_json() {
    let app = TestApp::new();
    let reply = app.send(get("/api/v1/sync/push", Auth::None)).await;
    assert_eq!(
        reply.error(StatusCode::METHOD_NOT_ALLOWED).code,
        "method_not_allowed"
    );
}

#[tokio::test]
async fn too_many_items_in_one_push_answers_400_json() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = round(seed.wijk, minutes_ago(60));
    let c = Payload::Contact(contact(r.id, minutes_ago(5), seed.inside));
    let one = item(&c);
    let items: Vec<_> = (0..1001)
        .map(|_| avondronde_shared::sync::PushItem {
            kind: one.kind.clone(),
            id: one.id.clone(),
            body: one.body.clone(),
        })
        .collect();
    let batch = PushRequest {
        protocol: 1,
        device_time: Timestamp::now(),
        items,
    };
    let reply = app.push(&token, &batch).await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST).code, "bad_request");
}

#[tokio::test]
async fn a_protocol_older_than_the_server_accepts_answers_426_and_stores_nothing() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.enrol(&seed.enrolment_code).await;
    let r = round(seed.wijk, minutes_ago(60));
    let mut batch = push_request(Timestamp::now(), &[Payload::Round(r.clone())]);
    batch.protocol = avondronde_shared::sync::MIN_PROTOCOL_VERSION - 1;
    let push = app.push(&token, &batch).await;
    assert_eq!(push.error(StatusCode::UPGRADE_REQUIRED).code, "app_too_old");
    let pull = app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(&token),
            json_body(&serde_json::json!({ "protocol": 0 })),
        ))
        .await;
    assert_eq!(pull.error(StatusCode::UPGRADE_REQUIRED).code, "app_too_old");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM round"), 0);

    // A newer app only adds fields and kinds: the server takes what it knows.
    batch.protocol = avondronde_shared::sync::PROTOCOL_VERSION + 1;
    let reply = app.push_ok(&token, &batch).await;
    assert!(matches!(reply.receipts[0].outcome, Outcome::Accepted(_)));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM round"), 1);
}

#[tokio::test]
async fn login_is_rate_limited_per_username_with_429() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (username, password) = seed.login(avondronde_shared::Role::Coordinator);
    let attempt = |pw: &str| {
        post(
            "/api/v1/session",
            Auth::None,
            json_body(&serde_json::json!({ "username": username, "password": pw })),
        )
    };
    let limit = avondronde_server::Config::default().logins_per_minute;
    for _ in 0..limit {
        let reply = app.send(attempt("verkeerd-wachtwoord")).await;
        assert_eq!(reply.error(StatusCode::UNAUTHORIZED).code, "unauthorized");
    }
    // Even the right password is refused until the minute is over.
    let reply = app.send(attempt(password)).await;
    assert_eq!(
        reply.error(StatusCode::TOO_MANY_REQUESTS).code,
        "too_many_requests"
    );
    // Another username is not affected.
    let (other, other_pw) = seed.login(avondronde_shared::Role::Admin);
    app.login(other, other_pw).await;
}

#[tokio::test]
async fn health_and_openapi_answer() {
    let app = TestApp::new();
    let health = app.send(get("/health", Auth::None)).await;
    assert_eq!(health.status, StatusCode::OK);
    let spec = app.send(get("/api/v1/openapi.json", Auth::None)).await;
    let v: serde_json::Value = spec.json();
    assert!(v["openapi"].as_str().is_some_and(|s| s.starts_with("3.")));
    assert!(v["paths"]["/api/v1/sync/push"].is_object());
}

#[tokio::test]
async fn enrolment_attempts_are_rate_limited_per_client_address_with_429() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let from = |ip: [u8; 4], code: &str| {
        let mut req = post(
            "/api/v1/enrol",
            Auth::None,
            json_body(&serde_json::json!({ "code": code })),
        );
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                ip, 40000,
            ))));
        req
    };
    let limit = avondronde_server::Config::default().enrolments_per_minute;
    for _ in 0..limit {
        let guess = app.send(from([192, 0, 2, 1], "AAAA-BBBB-CCCC")).await;
        assert_eq!(guess.error(StatusCode::NOT_FOUND).code, "not_found");
    }
    // The guesser is stopped, even with a valid code …
    let blocked = app.send(from([192, 0, 2, 1], &seed.enrolment_code)).await;
    assert_eq!(
        blocked.error(StatusCode::TOO_MANY_REQUESTS).code,
        "too_many_requests"
    );
    // … but a phone elsewhere still enrols: one bucket per address, not one for everyone.
    let phone = app
        .send(from([198, 51, 100, 7], &seed.enrolment_code))
        .await;
    assert_eq!(phone.status, StatusCode::OK, "{}", phone.text());
}

#[tokio::test]
async fn an_item_with_a_nul_character_is_refused_for_good_and_the_rest_of_its_batch_lands() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let token = app.device(&seed).await;
    let mut poisoned = round(seed.wijk, minutes_ago(30));
    poisoned.partner = Some("Jan\u{0}Smit".into());
    let good = round(seed.wijk, minutes_ago(20));
    let c = contact(good.id, minutes_ago(10), seed.inside);
    let res = app
        .push_ok(
            &token,
            &push_request(
                Timestamp::now(),
                &[
                    Payload::Round(poisoned),
                    Payload::Round(good),
                    Payload::Contact(c),
                ],
            ),
        )
        .await;
    match &res.receipts[0].outcome {
        Outcome::Rejected { code, .. } => assert_eq!(code, "invalid_text"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(matches!(res.receipts[1].outcome, Outcome::Accepted(_)));
    assert!(matches!(res.receipts[2].outcome, Outcome::Accepted(_)));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM round"), 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact"), 1);
}

#[tokio::test]
async fn a_nul_character_in_a_web_request_is_a_clear_error_not_a_server_error() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(avondronde_shared::Role::Admin);
    let cookie = app.login(u, p).await;
    let reply = app
        .send(post(
            "/api/v1/admin/enrolment-codes",
            Auth::Cookie(&cookie),
            json_body(&serde_json::json!({ "username": "a\u{0}b" })),
        ))
        .await;
    assert!(
        reply.status.is_client_error(),
        "{}: {}",
        reply.status,
        reply.text()
    );
    assert_json_error(&reply);
}

/// A trigger of this test's own: the database refuses a contact with 13 children of 6 to 9,
/// as it would refuse a push whose content it cannot store.
fn refuse_thirteen_children(app: &TestApp) {
    if app.is_postgres() {
        app.execute(
            "CREATE FUNCTION refuse_thirteen() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.n_6_9 = 13 THEN RAISE EXCEPTION 'refused by the test'; END IF;
               RETURN NEW;
             END $$",
        );
        app.execute(
            "CREATE TRIGGER refuse_thirteen BEFORE INSERT ON contact
             FOR EACH ROW EXECUTE FUNCTION refuse_thirteen()",
        );
    } else {
        app.execute(
            "CREATE TRIGGER refuse_thirteen BEFORE INSERT ON contact WHEN NEW.n_6_9 = 13
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        );
    }
}

/// Holds `gemeente`'s writer until `pushes` pushes wait in its queue (at most 20 s);
/// answers how many did.
async fn hold_writer_until_queued(
    app: &TestApp,
    gemeente: avondronde_shared::GemeenteId,
    pushes: usize,
) -> usize {
    let state = app.state.clone();
    app.state
        .store
        .submit(gemeente, move |_| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while state.pushes.queued(gemeente) < pushes && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Ok(state.pushes.queued(gemeente))
        })
        .expect("queued")
        .await
        .expect("held")
}

/// Pushes of three phones that wait for the writer together are stored by one job, each
/// as if alone: every contact kept once, under its own phone, every phone heard from.
#[tokio::test]
async fn pushes_of_several_phones_stored_together_keep_each_phones_contacts() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let mut phones = Vec::new();
    for _ in 0..3 {
        let token = app.device(&seed).await;
        let round = start_round(&app, &token, &seed).await;
        phones.push((token, round));
    }
    app.execute("UPDATE device SET last_seen_at = NULL");
    let requests: Vec<PushRequest> = phones
        .iter()
        .map(|(_, round)| {
            let contacts: Vec<Payload> = (0..3)
                .map(|m| Payload::Contact(contact(round.id, minutes_ago(10 - m), seed.inside)))
                .collect();
            push_request(Timestamp::now(), &contacts)
        })
        .collect();
    let jobs_before = app.state.metrics.push_jobs.load(Ordering::Relaxed);
    let (held, one, two, three) = tokio::join!(
        hold_writer_until_queued(&app, seed.gemeente, 3),
        app.push_ok(&phones[0].0, &requests[0]),
        app.push_ok(&phones[1].0, &requests[1]),
        app.push_ok(&phones[2].0, &requests[2]),
    );
    assert_eq!(held, 3, "all three pushes waited together");
    assert_eq!(
        app.state.metrics.push_jobs.load(Ordering::Relaxed) - jobs_before,
        1
    );
    for ((res, request), (_, round)) in [one, two, three].iter().zip(&requests).zip(&phones) {
        assert!(
            res.receipts
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Accepted(_))),
            "{:?}",
            res.receipts
        );
        for item in &request.items {
            assert_eq!(
                app.scalar(&format!(
                    "SELECT COUNT(*) FROM contact c JOIN round r ON r.id = c.round_id
                     WHERE c.id = '{}' AND c.device_id = r.device_id AND r.id = '{}'",
                    item.id, round.id
                )),
                1,
                "stored once, as its own phone's"
            );
        }
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM device WHERE last_seen_at IS NOT NULL"),
        3,
        "every phone was heard from"
    );
}

/// Pushes that wait for the writer at the same time are stored by one writer job
/// (`avondronde_server::pushes`): each is answered as if it had been stored alone, and one
/// that the database refuses fails alone, leaving nothing, while the others are kept.
#[tokio::test]
async fn pushes_stored_together_are_answered_as_if_alone_and_a_refused_one_fails_alone() {
    let app = TestApp::new();
    let seed = app.seed(false);
    let (a, b) = (app.device(&seed).await, app.device(&seed).await);
    let (round_a, round_b) = (
        start_round(&app, &a, &seed).await,
        start_round(&app, &b, &seed).await,
    );
    refuse_thirteen_children(&app);
    let fresh = contact(round_a.id, minutes_ago(5), seed.inside);
    let mut refused = contact(round_b.id, minutes_ago(4), seed.inside);
    refused.facts = facts(minutes_ago(4), seed.inside, 13);
    let on_a_round = contact(round_a.id, minutes_ago(3), seed.inside);
    let kept = contact(round_b.id, minutes_ago(2), seed.inside);
    let request = |payloads: &[Payload]| push_request(Timestamp::now(), payloads);
    let (first, again, refused_push, mixed) = (
        request(&[Payload::Contact(fresh.clone())]),
        request(&[Payload::Contact(fresh.clone())]),
        request(&[Payload::Contact(refused.clone())]),
        request(&[
            Payload::Contact(on_a_round.clone()),
            Payload::Contact(kept.clone()),
        ]),
    );
    app.execute("UPDATE device SET last_seen_at = NULL");
    let jobs_before = app.state.metrics.push_jobs.load(Ordering::Relaxed);
    let (held, first, again, refused_reply, mixed_reply) = tokio::join!(
        hold_writer_until_queued(&app, seed.gemeente, 4),
        app.push(&a, &first),
        app.push(&a, &again),
        app.push(&b, &refused_push),
        app.push(&b, &mixed),
    );
    assert_eq!(held, 4, "all four pushes waited together");
    assert_eq!(
        app.state.metrics.push_jobs.load(Ordering::Relaxed) - jobs_before,
        1,
        "one writer job stored them"
    );

    // The same contact twice from its phone: one stored, the other its duplicate.
    let outcome = |reply: &Reply| {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let res: avondronde_shared::sync::PushResponse = reply.json();
        res.receipts
            .into_iter()
            .map(|r| r.outcome)
            .collect::<Vec<_>>()
    };
    let mut twice = [outcome(&first), outcome(&again)].concat();
    twice.sort_by_key(|o| matches!(o, Outcome::Duplicate(_)));
    match &twice[..] {
        [Outcome::Accepted(stored), Outcome::Duplicate(original)] => {
            assert_eq!(
                stored, original,
                "the duplicate tells the original acceptance"
            )
        }
        other => panic!("expected accepted and duplicate, got {other:?}"),
    }
    // The refused push fails alone and leaves nothing behind.
    assert_eq!(refused_reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_json_error(&refused_reply);
    // The other phone's push is answered item by item as if it had come alone.
    match &outcome(&mixed_reply)[..] {
        [Outcome::Rejected { .. }, Outcome::Accepted(_)] => {}
        other => panic!("a contact on another phone's round, then a good one: {other:?}"),
    }
    let stored = |id: &avondronde_shared::ContactId| {
        app.scalar(&format!("SELECT COUNT(*) FROM contact WHERE id = '{id}'"))
    };
    assert_eq!(stored(&fresh.id), 1);
    assert_eq!(stored(&kept.id), 1);
    assert_eq!(stored(&refused.id), 0, "the refused push left no contact");
    assert_eq!(stored(&on_a_round.id), 0);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM item WHERE item_id IN ('{}', '{}')",
            refused.id, on_a_round.id
        )),
        0,
        "nor a ledger row: both keys are free to be sent again"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM device WHERE last_seen_at IS NOT NULL"),
        2,
        "both phones were heard from"
    );
}
