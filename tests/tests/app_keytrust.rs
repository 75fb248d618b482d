//! Issue 10 end to end, the field app's own code against the real server ([`TestServer`]):
//! the phone seals a care form only to a meldpunt key whose signed chain verifies against
//! the root it pinned at enrolment. Whoever can write the server's database (or change the
//! traffic) and swaps the key row gets nothing: the phone keeps the draft, seals nothing,
//! says so in Dutch, and reports the refusal (a code, no content) on its next pull. A
//! legitimate rotation, signed with the previous key, is followed. A revoked phone wipes
//! its store.

mod app_support;

use age::secrecy::SecretString;
use app_support::{common_case, counts, enrolled};
use avondronde_app::care::SealError;
use avondronde_app::services::AppCtx;
use avondronde_app::store::lock;
use avondronde_app::sync::SyncError;
use avondronde_server::db::now_ms;
use avondronde_server::meldpunt::keys;
use avondronde_shared::CareFormId;
use avondronde_shared::care::{ParentsReaction, Reception};
use avondronde_shared::contact::Action;
use avondronde_shared::keychain::{TrustError, UNTRUSTED_MESSAGE};
use avondronde_tests::{Seed, TestServer};

const PASSPHRASE: &str = "de wachtwoordzin van het meldpunt";

fn pass(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

/// Records a contact with a child brought home and fills in its care form (not sealed).
fn filled_draft(ctx: &AppCtx, seed: &Seed) -> CareFormId {
    let mut form = common_case(seed);
    form.toggle_action(Action::BroughtHome);
    let id = ctx.save_contact(&form).expect("save").care_forms[0];
    let mut draft = lock(&ctx.store)
        .draft(id)
        .expect("draft")
        .expect("exists")
        .1;
    draft.child_name = "Testkind Twee".into();
    draft.estimated_age = Some(9);
    draft.address = "Teststraat 2".into();
    draft.reception = Some(Reception::Indifferent);
    draft.siblings_present = Some(false);
    draft.parents_reaction = Some(ParentsReaction::Worried);
    lock(&ctx.store)
        .save_draft(id, &draft, ctx.now())
        .expect("save draft");
    id
}

/// Asserts the phone refuses to seal `id` with `why`, keeps the draft and queues nothing.
fn refuses(ctx: &AppCtx, id: CareFormId, why: TrustError) {
    let before = counts(ctx);
    let err = ctx.submit_care_form(id).expect_err("must not seal");
    assert!(err.to_string().contains(UNTRUSTED_MESSAGE), "{err}");
    match err {
        SealError::Untrusted(e) => assert_eq!(e, why),
        other => panic!("expected an untrusted key, got {other:?}"),
    }
    assert!(
        lock(&ctx.store).draft(id).expect("read").is_some(),
        "the draft is kept"
    );
    assert_eq!(counts(ctx), before, "nothing was queued");
}

fn bump(server: &TestServer, seed: &Seed) {
    server
        .direct()
        .transaction(|tx| avondronde_server::state::bump_config(tx, seed.gemeente))
        .expect("bump");
}

fn refusal_on_server(server: &TestServer, ctx: &AppCtx) -> Option<String> {
    let device = ctx.enrolment().expect("enrolled").device_id;
    server
        .direct()
        .read(|tx| avondronde_server::devices::key_refused(tx, device))
        .expect("device row")
}

#[tokio::test]
async fn a_swapped_recipient_in_the_key_row_is_refused_and_reported_without_content() {
    let server = TestServer::start();
    let seed = server.seed();
    server
        .direct()
        .transaction(|tx| Ok(keys::create(tx, seed.gemeente, &pass(PASSPHRASE), now_ms())))
        .expect("db")
        .expect("key");
    let device = enrolled(&server, &seed).await;
    let ctx = &device.ctx;

    // The genuine key seals.
    let first = filled_draft(ctx, &seed);
    ctx.submit_care_form(first)
        .expect("seal to the genuine key");

    // An administrator with the database file puts their own recipient in the row.
    let attacker = age::x25519::Identity::generate();
    server.execute(&format!(
        "UPDATE meldpunt_key SET recipient = '{}' WHERE gemeente_id = '{}'",
        attacker.to_public(),
        seed.gemeente
    ));
    bump(&server, &seed);
    ctx.sync
        .engine()
        .sync_once()
        .await
        .expect("pull the swapped key");
    assert_eq!(
        ctx.config()
            .and_then(|c| c.meldpunt_key)
            .map(|k| k.recipient),
        Some(attacker.to_public().to_string()),
        "the phone did receive the attacker's key"
    );
    let second = filled_draft(ctx, &seed);
    refuses(ctx, second, TrustError::BadSignature(0));

    // The next pull tells the server, with a code and nothing else.
    ctx.sync.engine().sync_once().await.expect("pass");
    assert_eq!(
        refusal_on_server(&server, ctx).as_deref(),
        Some("bad_signature")
    );
    let sealed_to_attacker: i64 = server.scalar("SELECT COUNT(*) FROM care_form");
    assert_eq!(
        sealed_to_attacker, 1,
        "only the form sealed before the swap"
    );
}

#[tokio::test]
async fn a_whole_new_key_made_by_a_database_admin_is_refused() {
    let server = TestServer::start();
    let seed = server.seed();
    server
        .direct()
        .transaction(|tx| Ok(keys::create(tx, seed.gemeente, &pass(PASSPHRASE), now_ms())))
        .expect("db")
        .expect("key");
    let device = enrolled(&server, &seed).await;
    let ctx = &device.ctx;

    // The admin replaces the key row by a correctly signed key of their own: a chain that
    // verifies in itself, rooted in a key the phone never pinned.
    {
        server.execute(&format!(
            "DELETE FROM meldpunt_key WHERE gemeente_id = '{}'",
            seed.gemeente
        ));
        server
            .direct()
            .transaction(|tx| {
                Ok(keys::create(
                    tx,
                    seed.gemeente,
                    &pass("de sleutel van de indringer"),
                    now_ms(),
                ))
            })
            .expect("db")
            .expect("attacker's key");
    }
    ctx.sync.engine().sync_once().await.expect("pull");
    let id = filled_draft(ctx, &seed);
    refuses(ctx, id, TrustError::UnknownSigner);

    // And a bare key row without any signature, as older versions stored it.
    {
        server.execute(&format!(
            "DELETE FROM meldpunt_key WHERE gemeente_id = '{}'",
            seed.gemeente
        ));
        let blob = if server.is_postgres() {
            "'\\x00'::bytea"
        } else {
            "x'00'"
        };
        server.execute(&format!(
            "INSERT INTO meldpunt_key (id, gemeente_id, recipient, identity, created_at)
             VALUES ('bare', '{}', '{}', {blob}, {})",
            seed.gemeente,
            age::x25519::Identity::generate().to_public(),
            now_ms()
        ));
    }
    bump(&server, &seed);
    ctx.sync.engine().sync_once().await.expect("pull");
    refuses(ctx, id, TrustError::Empty);
}

#[tokio::test]
async fn a_rotation_signed_by_the_previous_key_is_followed() {
    let server = TestServer::start();
    let seed = server.seed();
    server
        .direct()
        .transaction(|tx| Ok(keys::create(tx, seed.gemeente, &pass(PASSPHRASE), now_ms())))
        .expect("db")
        .expect("key");
    let device = enrolled(&server, &seed).await;
    let ctx = &device.ctx;
    let new = server
        .direct()
        .transaction(|tx| {
            Ok(keys::rotate(
                tx,
                seed.gemeente,
                &pass(PASSPHRASE),
                &pass("de nieuwe wachtwoordzin"),
                now_ms(),
            ))
        })
        .expect("db")
        .expect("rotate");
    ctx.sync.engine().sync_once().await.expect("pull");
    let id = filled_draft(ctx, &seed);
    ctx.submit_care_form(id).expect("seals to the rotated key");
    ctx.sync.engine().sync_once().await.expect("send");
    let key = server.scalar_text(&format!(
        "SELECT recipient_key FROM care_form WHERE id = '{id}'"
    ));
    assert_eq!(key, new.id.0, "sealed to the new recipient");
    assert_eq!(refusal_on_server(&server, ctx), None);
}

#[tokio::test]
async fn a_revoked_phone_wipes_its_database_key_and_token_and_can_enrol_afresh() {
    let server = TestServer::start();
    let seed = server.seed();
    let device = enrolled(&server, &seed).await;
    let ctx = &device.ctx;
    let dir = device.dir.path();
    // A child brought home: a care-form draft that is not sent.
    let mut form = common_case(&seed);
    form.toggle_action(Action::BroughtHome);
    ctx.save_contact(&form).expect("save");
    ctx.sync.engine().sync_once().await.expect("pass");
    let device_id = ctx.enrolment().expect("enrolled").device_id;
    // The admin sees the unsent draft in the phone list before revoking.
    let unsent = server.scalar(&format!(
        "SELECT outbox_pending FROM device WHERE id = '{device_id}'"
    ));
    assert_eq!(unsent, 1, "the draft, counted as of the last pull");
    ctx.save_contact(&common_case(&seed)).expect("save unsent");

    assert!(
        server
            .direct()
            .transaction(|tx| avondronde_server::auth::revoke_device(tx, device_id))
            .expect("revoke")
    );
    let err = ctx.sync.engine().sync_once().await.expect_err("revoked");
    assert!(matches!(err, SyncError::Revoked), "{err}");
    let left: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter()
            .all(|n| !n.starts_with("avondronde.db") && !n.ends_with(".secret")),
        "no database, WAL, shm, key or token file left: {left:?}"
    );
    assert!(ctx.enrolment().is_none(), "back to the enrol screen");
    assert!(ctx.sync.engine().status().wiped, "with the reason");
    assert_eq!(counts(ctx), (0, 0, 0), "the unsent contact went too");
    assert!(
        lock(&ctx.store).drafts().expect("drafts").is_empty(),
        "and the draft"
    );

    let code = server.issue_code(seed.field_user);
    ctx.enrol(&server.url(), &code).await.expect("enrol again");
    assert!(dir.join("avondronde.db").exists(), "a fresh store");
    ctx.sync.engine().sync_once().await.expect("pass");
    assert!(!ctx.sync.engine().status().wiped);
}
