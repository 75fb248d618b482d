//! Issue 5 end to end: the field app's own code fills in and seals a zorgformulier and
//! syncs it to the real server ([`TestServer`]); the meldpunt logs in over HTTP, unlocks
//! the gemeente's key with its passphrase, finds the form in the inbox, opens it and sets
//! "huisbezoek gepland" with a message; the reporting device's next sync shows that, and
//! another device of the same field worker gets nothing.

mod app_support;

use age::secrecy::SecretString;
use app_support::{common_case, counts, enrolled, open};
use avondronde_app::store::lock;
use avondronde_server::db::now_ms;
use avondronde_server::meldpunt::keys;
use avondronde_shared::care::{CareStatus, ParentsReaction, Reception};
use avondronde_shared::contact::Action;
use avondronde_tests::TestServer;
use avondronde_tests::client::http_client;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::{Value, json};

const PASSPHRASE: &str = "de wachtwoordzin van het meldpunt";
const CHILD: &str = "Yassin el Amrani";

#[tokio::test]
async fn a_form_from_the_app_reaches_the_inbox_and_the_meldpunts_answer_reaches_the_reporter() {
    let server = TestServer::start();
    let seed = server.seed();
    server
        .direct()
        .transaction(|tx| {
            Ok(keys::create(
                tx,
                seed.gemeente,
                &SecretString::from(PASSPHRASE.to_owned()),
                now_ms(),
            ))
        })
        .expect("db")
        .expect("the gemeente's meldpunt key");

    // The field worker's phone: it pulls the key with its configuration, records a contact
    // where a child was brought home, fills in the care form, seals it and syncs.
    let reporter = enrolled(&server, &seed).await;
    let ctx = &reporter.ctx;
    assert!(ctx.config().and_then(|c| c.meldpunt_key).is_some());
    let mut contact = common_case(&seed);
    contact.toggle_action(Action::BroughtHome);
    let saved = ctx.save_contact(&contact).expect("save");
    let id = saved.care_forms[0];
    let mut draft = lock(&ctx.store)
        .draft(id)
        .expect("draft")
        .expect("exists")
        .1;
    draft.child_name = CHILD.into();
    draft.birth_date = "03-04-2016".into();
    draft.address = "Bellamystraat 12B, 3022 DK Rotterdam".into();
    draft.reception = Some(Reception::AngryAtChild);
    draft.siblings_present = Some(true);
    draft.parents_reaction = Some(ParentsReaction::Dismissive);
    lock(&ctx.store)
        .save_draft(id, &draft, ctx.now())
        .expect("save draft");
    ctx.submit_care_form(id).expect("seal");
    ctx.sync.engine().sync_once().await.expect("sync");
    assert_eq!(counts(ctx), (0, 3, 0), "round, contact and care form sent");

    // A colleague's phone (same field worker, other device) syncs too.
    let code = server.issue_code(seed.field_user);
    let colleague_dir = tempfile::tempdir().expect("tempdir");
    let colleague = open(colleague_dir.path());
    colleague
        .enrol(&server.url(), &code)
        .await
        .expect("enrol second device");
    colleague.sync.engine().sync_once().await.expect("sync");

    // The database holds the form sealed: no name in any of SQLite's files.
    let path = server.db_path().display().to_string();
    for suffix in ["", "-wal"] {
        let bytes = std::fs::read(format!("{path}{suffix}")).unwrap_or_default();
        assert!(
            !bytes.windows(CHILD.len()).any(|w| w == CHILD.as_bytes()),
            "the child's name is on disk in {suffix:?}"
        );
    }

    // The meldpunt: log in, unlock, see the form in the inbox, open it.
    let http = http_client();
    let base = server.url();
    let login_of = seed.login(avondronde_shared::Role::Meldpunt);
    let cookie = avondronde_tests::web_login(&http, &base, login_of).await;
    let unlocked = http
        .post(format!("{base}/api/v1/meldpunt/unlock"))
        .header(COOKIE, &cookie)
        .json(&json!({ "passphrase": PASSPHRASE }))
        .send()
        .await
        .expect("unlock");
    assert_eq!(unlocked.status(), StatusCode::NO_CONTENT);
    let inbox = http
        .get(format!("{base}/meldpunt"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("inbox")
        .text()
        .await
        .expect("html");
    assert!(
        inbox.contains(&format!("/meldpunt/formulieren/{id}")),
        "listed"
    );
    assert!(inbox.contains("Nog niet gecontroleerd"));
    assert!(!inbox.contains(CHILD), "the list shows no content");
    let opened: Value = http
        .get(format!("{base}/api/v1/care-forms/{id}"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("open")
        .json()
        .await
        .expect("json");
    assert_eq!(opened["content"]["child_name"], CHILD);
    assert_eq!(opened["content"]["birth"]["date"], "2016-04-03");
    assert_eq!(opened["form"]["reporter_role"], "straatcoach");

    // Mark and plan on the inbox page, as a person does: a plain HTML form post.
    let visit = (Timestamp::now() + SignedDuration::from_hours(20))
        .to_zoned(avondronde_shared::time::amsterdam())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    let message = "Huisbezoek gepland. We laten weten hoe het ging.";
    let body = format!(
        "known_to=onbekend&visit_at={}&status=visit_planned&message={}",
        visit.replace(':', "%3A"),
        message.replace(' ', "+")
    );
    let saved = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{base}/meldpunt/formulieren/{id}"))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("save");
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(
        saved.headers()[LOCATION]
            .to_str()
            .expect("location")
            .ends_with("melding=opgeslagen")
    );

    // The reporting phone's next sync brings the status and the message.
    let report = ctx.sync.engine().sync_once().await.expect("sync");
    assert!(report.feedback >= 1);
    let forms = lock(&ctx.store).sent_forms().expect("sent forms");
    let form = forms.iter().find(|f| f.id == id).expect("the form");
    assert_eq!(form.status, Some(CareStatus::VisitPlanned));
    assert_eq!(form.message.as_deref(), Some(message));
    assert!(form.unread);

    // The colleague's phone hears nothing about a form it did not send.
    let report = colleague.sync.engine().sync_once().await.expect("sync");
    assert_eq!(report.feedback, 0);
    assert!(
        lock(&colleague.store)
            .sent_forms()
            .expect("forms")
            .is_empty()
    );

    // And the open and the change are in the audit log, from the loopback address.
    let log: Value = http
        .get(format!("{base}/api/v1/audit"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    assert_eq!(log["chain"]["broken_at"], Value::Null);
    let entries = log["entries"].as_array().expect("entries");
    for action in ["open", "update"] {
        let e = entries
            .iter()
            .find(|e| e["action"] == action && e["form"] == id.to_string())
            .unwrap_or_else(|| panic!("{action} recorded"));
        assert_eq!(e["address"], "127.0.0.1");
    }
}
