//! Issue 4, the field app's sync engine against the real server ([`TestServer`]): the
//! queue survives a server outage and drains without duplicates, a refused item never
//! blocks the rest, and the meldpunt's feedback arrives. (A revoked device wipes its
//! store since issue 10: `app_keytrust.rs`.)

mod app_support;

use age::secrecy::SecretString;
use app_support::{common_case, counts, enrolled};
use avondronde_app::store::lock;
use avondronde_app::sync::SyncError;
use avondronde_server::db::now_ms;
use avondronde_server::meldpunt::keys;
use avondronde_shared::care::{CareFormContent, CareStatus, ParentsReaction, Reception};
use avondronde_shared::contact::Action;
use avondronde_shared::sync::EntryState;
use avondronde_shared::{AgeBand, ContactId, StreetContact};
use avondronde_tests::TestServer;
use jiff::{SignedDuration, Timestamp};

#[tokio::test]
async fn queue_grows_while_the_server_is_down_and_drains_without_duplicates() {
    let mut server = TestServer::start();
    let seed = server.seed();
    let device = enrolled(&server, &seed).await;
    let ctx = &device.ctx;
    let engine = ctx.sync.engine();

    for _ in 0..3 {
        ctx.save_contact(&common_case(&seed)).expect("save");
    }
    let report = engine.sync_once().await.expect("pass while up");
    assert_eq!(report.sent, 4, "the round and three contacts");
    assert_eq!(counts(ctx), (0, 4, 0));

    server.stop();
    for i in 1..=5u32 {
        ctx.save_contact(&common_case(&seed))
            .expect("save while down");
        let err = engine.sync_once().await.expect_err("server is down");
        assert!(matches!(err, SyncError::Request(_)), "{err}");
        assert_eq!(counts(ctx).0, i, "the queue grows by one per save");
    }
    let rows = lock(&ctx.store).outbox_rows(100).expect("rows");
    assert!(
        rows.iter().any(|r| r.attempts >= 5),
        "failed attempts are counted per item"
    );

    server.restart();
    let report = engine.sync_once().await.expect("pass after restart");
    assert_eq!(report.sent, 5);
    assert_eq!(counts(ctx), (0, 9, 0));
    assert_eq!(server.scalar("SELECT COUNT(*) FROM contact"), 8);
    assert_eq!(server.scalar("SELECT COUNT(DISTINCT id) FROM contact"), 8);

    // Another pass sends nothing again.
    let report = engine.sync_once().await.expect("idle pass");
    assert_eq!(report.sent, 0);
    assert_eq!(server.scalar("SELECT COUNT(*) FROM contact"), 8);
}

#[tokio::test]
async fn a_refused_item_is_quarantined_and_the_rest_still_go() {
    let server = TestServer::start();
    let seed = server.seed();
    let device = enrolled(&server, &seed).await;
    let ctx = &device.ctx;
    let round = ctx.active_round().expect("round");
    let now = ctx.now();

    // A contact from a device whose clock ran three days ahead: the server refuses it.
    let good = common_case(&seed)
        .to_contact(&round, now, 3600)
        .expect("valid");
    let mut bad: StreetContact = good.clone();
    bad.id = ContactId::new();
    bad.facts.observed_at = now + SignedDuration::from_hours(72);
    lock(&ctx.store)
        .save_contact(&bad, &[], now)
        .expect("save bad");
    ctx.save_contact(&common_case(&seed))
        .expect("save good after bad");

    let report = ctx.sync.engine().sync_once().await.expect("pass");
    assert_eq!(report.refused, 1);
    assert_eq!(report.sent, 2, "the round and the good contact");
    let rows = lock(&ctx.store).outbox_rows(10).expect("rows");
    let refused = rows
        .iter()
        .find(|r| r.item_id == bad.id.to_string())
        .expect("refused row kept");
    match &refused.state {
        EntryState::Quarantined { code, message } => {
            assert_eq!(code, "in_future");
            assert!(!message.is_empty(), "a reason to show");
        }
        other => panic!("expected quarantined, got {other:?}"),
    }
    // Later saves still go; the refused one is never retried automatically.
    ctx.save_contact(&common_case(&seed)).expect("save");
    let report = ctx.sync.engine().sync_once().await.expect("pass");
    assert_eq!((report.sent, report.refused), (1, 0));
    assert_eq!(counts(ctx), (0, 3, 1));
}

#[tokio::test]
async fn sealed_care_form_reaches_the_meldpunt_and_its_feedback_comes_back() {
    let server = TestServer::start();
    let seed = server.seed();
    // The meldpunt's key pair, signed (issue 10); the public half and the chain go into
    // the gemeente's configuration.
    let passphrase = SecretString::from("de wachtwoordzin van het meldpunt".to_owned());
    let key = server
        .direct()
        .transaction(|tx| Ok(keys::create(tx, seed.gemeente, &passphrase, now_ms())))
        .expect("db")
        .expect("key");
    let device = enrolled(&server, &seed).await;
    let ctx = &device.ctx;
    assert!(ctx.config().and_then(|c| c.meldpunt_key).is_some());

    let mut form = common_case(&seed);
    form.toggle_action(Action::BroughtHome);
    let saved = ctx.save_contact(&form).expect("save");
    assert_eq!(saved.care_forms.len(), 1, "one form per child brought home");
    let id = saved.care_forms[0];
    let mut draft = lock(&ctx.store)
        .draft(id)
        .expect("draft")
        .expect("exists")
        .1;
    draft.child_name = "Testkind Een".into();
    draft.estimated_age = Some(10);
    draft.address = "Teststraat 1".into();
    draft.reception = Some(Reception::Indifferent);
    draft.siblings_present = Some(false);
    draft.parents_reaction = Some(ParentsReaction::Worried);
    lock(&ctx.store)
        .save_draft(id, &draft, ctx.now())
        .expect("save draft");
    ctx.submit_care_form(id).expect("seal");
    assert!(
        lock(&ctx.store).draft(id).expect("read").is_none(),
        "the plaintext is gone after sealing"
    );
    ctx.sync.engine().sync_once().await.expect("pass");
    assert_eq!(counts(ctx), (0, 3, 0), "round, contact, care form");

    // Only the meldpunt's identity opens what the server holds.
    let sealed = server.scalar_bytes(&format!("SELECT sealed FROM care_form WHERE id = '{id}'"));
    let stored = server
        .direct()
        .read(|tx| keys::load(tx, seed.gemeente))
        .expect("keys");
    let ring = keys::KeyRing::open(seed.gemeente, &stored, &passphrase).expect("unlock");
    let content: CareFormContent = ring.open_form(&key.id, &sealed).expect("open");
    assert_eq!(content.child_name, "Testkind Een");

    // The meldpunt plans a visit; the next pass brings the news.
    {
        let seq = server
            .scalar("UPDATE counter SET value = value + 1 WHERE name = 'feedback' RETURNING value");
        server.execute(&format!(
            "UPDATE care_form SET status = 'visit_planned', message = 'Huisbezoek donderdag',
               updated_at = {}, feedback_seq = {seq} WHERE id = '{id}'",
            Timestamp::now().as_millisecond()
        ));
    }
    let report = ctx.sync.engine().sync_once().await.expect("pass");
    assert_eq!(report.feedback, 1);
    let store = lock(&ctx.store);
    assert_eq!(store.unread_feedback().expect("unread"), 1);
    let forms = store.sent_forms().expect("forms");
    assert_eq!(forms[0].status, Some(CareStatus::VisitPlanned));
    assert_eq!(forms[0].message.as_deref(), Some("Huisbezoek donderdag"));
    store.mark_feedback_read().expect("read");
    assert_eq!(store.unread_feedback().expect("unread"), 0);
}

#[tokio::test]
async fn a_correction_made_in_the_round_replaces_the_contact_on_the_server() {
    let server = TestServer::start();
    let seed = server.seed();
    let device = enrolled(&server, &seed).await;
    let ctx = &device.ctx;
    let saved = ctx.save_contact(&common_case(&seed)).expect("save");
    ctx.sync.engine().sync_once().await.expect("pass");
    let children = |server: &TestServer| {
        server.scalar(&format!(
            "SELECT n_10_11 FROM contact WHERE id = '{}'",
            saved.contact
        ))
    };
    assert_eq!(children(&server), 3);

    let mut form = ctx.correction_form(saved.contact).expect("correctable");
    form.add_child(AgeBand::Age10To11);
    ctx.save_correction(&form).expect("save correction");
    let report = ctx.sync.engine().sync_once().await.expect("pass");
    assert_eq!((report.sent, report.refused), (1, 0), "accepted");
    assert_eq!(counts(ctx), (0, 3, 0), "round, contact, correction");
    assert_eq!(
        children(&server),
        4,
        "the server's row has the corrected facts"
    );
    assert_eq!(server.scalar("SELECT COUNT(*) FROM contact"), 1);
}

/// Issue 13: no item stranded behind its parent. The server lost the phone's round (it was
/// restored from a backup taken before the round arrived), so the phone's round is marked
/// sent but the server does not have it. The contacts saved afterwards are answered
/// `retry`; the phone sends its round again and then the contacts, in the same pass, and
/// nothing is quarantined.
#[tokio::test]
async fn contacts_whose_round_the_server_lost_get_in_after_the_phone_sends_the_round_again() {
    let server = TestServer::start();
    let seed = server.seed();
    let device = enrolled(&server, &seed).await;
    let ctx = &device.ctx;
    let engine = ctx.sync.engine();
    let report = engine.sync_once().await.expect("round pass");
    assert_eq!(report.sent, 1, "the round");
    server.execute("DELETE FROM round");
    server.execute("DELETE FROM item WHERE kind = 'round'");

    for _ in 0..3 {
        ctx.save_contact(&common_case(&seed)).expect("save");
    }
    let report = engine.sync_once().await.expect("pass");
    assert_eq!(report.refused, 0, "nothing refused");
    assert_eq!(report.waiting, 0, "nothing left waiting");
    assert_eq!(report.sent, 4, "the round again and three contacts");
    assert_eq!(
        counts(ctx),
        (0, 4, 0),
        "nothing quarantined, nothing pending"
    );
    assert_eq!(server.scalar("SELECT COUNT(*) FROM round"), 1);
    assert_eq!(server.scalar("SELECT COUNT(*) FROM contact"), 3);
    assert_eq!(
        server.scalar(&format!(
            "SELECT COUNT(*) FROM contact WHERE wijk_id = '{}'",
            seed.wijk
        )),
        3
    );

    // Exactly once: another pass sends nothing, and the server still has each once.
    let report = engine.sync_once().await.expect("idle pass");
    assert_eq!((report.sent, report.waiting), (0, 0));
    assert_eq!(server.scalar("SELECT COUNT(DISTINCT id) FROM contact"), 3);
}

/// Issue 13: a round in a wijk the server no longer knows (removed after the phone's last
/// pull) is stored and flagged for the admin, not refused, so its contacts get in.
#[tokio::test]
async fn contacts_of_a_round_in_a_wijk_the_server_no_longer_knows_get_in_and_the_round_is_flagged()
{
    let server = TestServer::start();
    let seed = server.seed();
    let device = enrolled(&server, &seed).await;
    let ctx = &device.ctx;
    ctx.end_round().expect("end the first round");
    let mut removed = ctx
        .config()
        .expect("config")
        .wijken
        .into_iter()
        .find(|w| w.id == seed.wijk)
        .expect("wijk");
    removed.id = avondronde_shared::WijkId::new();
    ctx.start_round(&removed, "")
        .expect("round in the removed wijk");
    ctx.save_contact(&common_case(&seed)).expect("save");

    let report = ctx.sync.engine().sync_once().await.expect("pass");
    assert_eq!(report.refused, 0);
    assert_eq!(
        counts(ctx),
        (0, 4, 0),
        "two rounds, an end and a contact, all sent"
    );
    assert_eq!(server.scalar("SELECT COUNT(*) FROM contact"), 1);
    let flagged = server
        .direct()
        .read(|tx| avondronde_server::ingest::rounds_with_unknown_wijk(tx, seed.gemeente))
        .expect("flagged rounds");
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].named_wijk, removed.id.to_string());
    assert_eq!(flagged[0].contacts, 1);
}
