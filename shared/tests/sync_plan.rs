//! The pure sync plan, as case tables (issue 2): what the device sends next, what each
//! receipt does to an outbox entry, and what it does after a failed request.

use std::time::Duration;

use avondronde_shared::sync::{
    Acceptance, BACKOFF_CAP, Decision, Entry, EntryState, Failure, HeldBack, ItemKind, ItemRef,
    Outcome, Receipt, after_failure, apply_receipts, backoff, missing_parents, next_batch,
    resend_parents,
};
use jiff::Timestamp;
use rstest::rstest;

fn entry(local_seq: u64, state: EntryState) -> Entry {
    Entry {
        local_seq,
        kind: ItemKind::Contact,
        id: format!("id-{local_seq}"),
        body_len: 100,
        state,
    }
}

fn pending(local_seq: u64) -> Entry {
    entry(local_seq, EntryState::Pending { attempts: 0 })
}

fn acc(seq: u64) -> Acceptance {
    Acceptance {
        seq,
        received_at: Timestamp::UNIX_EPOCH,
    }
}

fn receipt(local_seq: u64, outcome: Outcome) -> Receipt {
    Receipt {
        kind: ItemKind::Contact,
        id: format!("id-{local_seq}"),
        outcome,
    }
}

#[rstest]
#[case::empty_outbox(vec![], 10, 10_000, vec![])]
#[case::in_local_order_not_insertion_order(vec![pending(3), pending(1), pending(2)], 10, 10_000, vec![1, 2, 3])]
#[case::at_most_max_items(vec![pending(1), pending(2), pending(3)], 2, 10_000, vec![1, 2])]
#[case::at_most_max_bytes(vec![pending(1), pending(2), pending(3)], 10, 250, vec![1, 2])]
#[case::a_big_item_still_goes_alone(vec![pending(1)], 10, 10, vec![1])]
#[case::skips_sent_and_quarantined(
    vec![entry(1, EntryState::Sent(acc(7))), entry(2, EntryState::Quarantined { code: "x".into(), message: "y".into() }), pending(3)],
    10, 10_000, vec![3])]
#[case::a_quarantined_item_never_blocks_later_ones(
    vec![pending(4), entry(2, EntryState::Quarantined { code: "x".into(), message: "y".into() }), pending(5)],
    1, 10_000, vec![4])]
fn next_batch_picks_pending_entries_in_local_order(
    #[case] entries: Vec<Entry>,
    #[case] max_items: usize,
    #[case] max_bytes: usize,
    #[case] expected: Vec<u64>,
) {
    assert_eq!(next_batch(&entries, max_items, max_bytes), expected);
}

#[rstest]
#[case::accepted_is_sent(Some(Outcome::Accepted(acc(5))), EntryState::Sent(acc(5)))]
#[case::duplicate_is_sent_with_the_original_receipt(
    Some(Outcome::Duplicate(acc(5))),
    EntryState::Sent(acc(5))
)]
#[case::rejected_is_quarantined(
    Some(Outcome::Rejected { code: "empty_group".into(), field: Some("group".into()), message: "Tel".into() }),
    EntryState::Quarantined { code: "empty_group".into(), message: "Tel".into() })]
#[case::conflict_is_quarantined(
    Some(Outcome::Conflict { original: acc(5), message: "anders".into() }),
    EntryState::Quarantined { code: "conflict".into(), message: "anders".into() })]
#[case::no_receipt_stays_pending_for_a_retry(None, EntryState::Pending { attempts: 3 })]
#[case::retry_for_a_missing_parent_stays_pending_not_quarantined(
    Some(Outcome::Retry { code: "parent_missing".into(), parent: None, message: "later".into() }),
    EntryState::Pending { attempts: 3 })]
#[case::an_outcome_from_a_newer_server_stays_pending(Some(Outcome::Unknown), EntryState::Pending { attempts: 3 })]
fn receipts_move_entries(#[case] outcome: Option<Outcome>, #[case] expected: EntryState) {
    let sent = entry(1, EntryState::Pending { attempts: 2 });
    let receipts: Vec<Receipt> = outcome.into_iter().map(|o| receipt(1, o)).collect();
    let t = apply_receipts(&[sent], &receipts);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].local_seq, 1);
    assert_eq!(t[0].state, expected);
}

#[test]
fn receipts_are_matched_by_key_not_by_position() {
    let batch = [pending(1), pending(2)];
    let receipts = [
        receipt(2, Outcome::Accepted(acc(20))),
        receipt(1, Outcome::Accepted(acc(10))),
    ];
    let t = apply_receipts(&batch, &receipts);
    assert_eq!(t[0].state, EntryState::Sent(acc(10)));
    assert_eq!(t[1].state, EntryState::Sent(acc(20)));
}

fn retry(local_seq: u64, parent: &str) -> Receipt {
    receipt(
        local_seq,
        Outcome::Retry {
            code: "parent_missing".into(),
            parent: Some(ItemRef {
                kind: ItemKind::Round,
                id: parent.into(),
            }),
            message: "De ronde is er nog niet.".into(),
        },
    )
}

#[test]
fn missing_parents_are_named_once_each() {
    let receipts = [
        retry(1, "r1"),
        retry(2, "r1"),
        retry(3, "r2"),
        receipt(4, Outcome::Accepted(acc(4))),
    ];
    let ids: Vec<String> = missing_parents(&receipts)
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["r1", "r2"]);
}

#[rstest]
#[case::a_sent_parent_the_server_lost_is_sent_again(EntryState::Sent(acc(3)), Some(EntryState::Pending { attempts: 0 }))]
#[case::a_pending_parent_goes_first_anyway(EntryState::Pending { attempts: 2 }, None)]
#[case::a_quarantined_parent_is_left_to_its_user(
    EntryState::Quarantined { code: "x".into(), message: "y".into() }, None)]
fn parents_the_server_lacks(#[case] state: EntryState, #[case] expected: Option<EntryState>) {
    let t = resend_parents(&[entry(7, state)]);
    assert_eq!(t.first().map(|t| t.state.clone()), expected);
    assert!(t.iter().all(|t| t.local_seq == 7));
}

#[test]
fn a_child_waiting_for_its_parent_is_held_back_until_something_new_is_stored() {
    let mut held = HeldBack::default();
    let child = pending(5);
    held.after(std::slice::from_ref(&child), &[retry(5, "r")]);
    assert_eq!(held.len(), 1);
    // Held: the rest of the pass does not send it again and again.
    assert!(
        held.sendable(vec![child.clone(), pending(6)])
            .iter()
            .all(|e| e.local_seq == 6)
    );
    // A batch that only duplicates stores nothing new: still held.
    held.after(&[pending(6)], &[receipt(6, Outcome::Duplicate(acc(6)))]);
    assert_eq!(held.len(), 1);
    // The parent (or anything) accepted: the child may go again in this pass.
    held.after(&[pending(1)], &[receipt(1, Outcome::Accepted(acc(9)))]);
    assert!(held.is_empty());
    assert_eq!(held.sendable(vec![child]).len(), 1);
}

#[test]
fn a_child_whose_parent_comes_later_in_the_same_batch_is_not_held() {
    let mut held = HeldBack::default();
    held.after(
        &[pending(1), pending(2)],
        &[retry(1, "id-2"), receipt(2, Outcome::Accepted(acc(2)))],
    );
    assert!(held.is_empty());
}

#[rstest]
#[case::no_answer_in_time_halves_the_batch(Failure::Network, 100, Some(50))]
#[case::no_answer_for_a_single_item_stays_at_one(Failure::Network, 1, Some(1))]
#[case::server_error_retries(Failure::Status(503), 100, Some(100))]
#[case::rate_limited_retries(Failure::Status(429), 100, Some(100))]
#[case::timeout_retries(Failure::Status(408), 100, Some(100))]
#[case::too_large_halves_the_batch(Failure::Status(413), 100, Some(50))]
#[case::too_large_single_item_stays_at_one(Failure::Status(413), 1, Some(1))]
#[case::revoked_asks_to_enrol_again(Failure::Status(401), 100, None)]
fn failures_retry_or_stop(
    #[case] failure: Failure,
    #[case] batch: usize,
    #[case] next: Option<usize>,
) {
    match (after_failure(failure, 0, batch, 0.5), next) {
        (Decision::Retry { batch_items, .. }, Some(n)) => assert_eq!(batch_items, n),
        (Decision::Reenrol, None) => {}
        (other, _) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn an_unknown_protocol_waits_for_an_app_update() {
    assert_eq!(
        after_failure(Failure::Status(426), 0, 10, 0.5),
        Decision::UpdateApp
    );
}

#[rstest]
#[case::first_retry_is_short(0, 1.0, Duration::from_secs(2))]
#[case::grows_exponentially(3, 1.0, Duration::from_secs(16))]
#[case::is_capped_at_five_minutes(30, 1.0, Duration::from_secs(300))]
#[case::jitter_scales_it_down(3, 0.5, Duration::from_secs(8))]
#[case::never_zero(3, 0.0, Duration::from_millis(500))]
#[case::bad_jitter_is_treated_as_full(3, f64::NAN, Duration::from_secs(16))]
fn backoff_is_exponential_with_full_jitter(
    #[case] attempt: u32,
    #[case] jitter: f64,
    #[case] expected: Duration,
) {
    assert_eq!(backoff(attempt, jitter), expected);
}

#[rstest]
#[case::waits_as_long_as_the_server_asks(0, 1.0, 30, Duration::from_secs(30))]
#[case::keeps_its_own_backoff_when_that_is_longer(5, 1.0, 10, Duration::from_secs(64))]
#[case::never_waits_past_the_cap_whatever_the_server_asks(0, 0.0, 86_400, BACKOFF_CAP)]
fn a_busy_server_is_not_asked_again_before_its_retry_after(
    #[case] attempt: u32,
    #[case] jitter: f64,
    #[case] retry_after_s: u64,
    #[case] expected: Duration,
) {
    let decision = after_failure(
        Failure::ComeBackAfter(Duration::from_secs(retry_after_s)),
        attempt,
        40,
        jitter,
    );
    assert_eq!(
        decision,
        Decision::Retry {
            delay: expected,
            batch_items: 40
        }
    );
}
