//! Issue 5, the care-desk loop, through the HTTP API without a socket: sealed forms in the
//! database, the meldpunt key (wrong passphrase, rotation), the authorisation table of
//! every care-form and audit endpoint, matching, and feedback reaching only the reporting
//! device.

mod common;

use age::secrecy::SecretString;
use avondronde_server::Config;
use avondronde_server::db::now_ms;
use avondronde_server::meldpunt::keys;
use avondronde_shared::care::{
    Birth, CareFormContent, CareFormEnvelope, CareStatus, ParentsReaction, Reception,
};
use avondronde_shared::contact::Action;
use avondronde_shared::sync::{MeldpuntKey, Outcome, Payload, PullResponse};
use avondronde_shared::{AgeBand, CareFormId, ContactId, Role};
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Method, Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use jiff::Timestamp;
use jiff::civil::date;
use rstest::{fixture, rstest};
use serde_json::{Value, json};
use std::net::SocketAddr;
use tower::ServiceExt;

const PASSPHRASE: &str = "lange wachtwoordzin voor de test";
const OTHER_PASSPHRASE: &str = "een heel andere wachtwoordzin";
const CANARY: &str = "Kanarie Vogelzang";

fn content(name: &str, birth: Birth) -> CareFormContent {
    CareFormContent {
        child_name: name.into(),
        birth,
        address: "Schiedamseweg 12B, 3026 AK Rotterdam".into(),
        reception: Reception::Indifferent,
        siblings_present: true,
        parents_reaction: ParentsReaction::Worried,
        parents_informed: true,
        signals: vec![],
        narrative: "Zat alleen op het plein.".into(),
    }
}

fn born(y: i16, m: i8, d: i8) -> Birth {
    Birth::Date(date(y, m, d))
}

fn make_key(app: &TestApp, seed: &Seed, passphrase: &str) -> MeldpuntKey {
    app.direct()
        .transaction(|tx| {
            Ok(keys::create(
                tx,
                seed.gemeente,
                &SecretString::from(passphrase.to_owned()),
                now_ms(),
            ))
        })
        .expect("db")
        .expect("meldpunt key")
}

/// Pushes a round, a contact where one child was brought home, and a care form about that
/// child sealed to `key`, as the field app does; returns the form's id.
async fn push_form(
    app: &TestApp,
    token: &str,
    seed: &Seed,
    key: &MeldpuntKey,
    form: &CareFormContent,
) -> CareFormId {
    let round = start_round(app, token, seed).await;
    let mut facts = facts(minutes_ago(30), seed.inside, 2);
    facts.brought_home = 1;
    facts.actions.push(Action::BroughtHome);
    let contact = avondronde_shared::StreetContact {
        id: ContactId::new(),
        round: round.id,
        facts,
    };
    let envelope = CareFormEnvelope {
        id: CareFormId::new(),
        contact: contact.id,
        created_at: whole_seconds(minutes_ago(5)),
        age_band: AgeBand::Age6To9,
        recipient_key: key.id.clone(),
        sealed: keys::seal(form, &key.recipient).expect("seal"),
    };
    let id = envelope.id;
    let res = app
        .push_ok(
            token,
            &push_request(
                Timestamp::now(),
                &[Payload::Contact(contact), Payload::CareForm(envelope)],
            ),
        )
        .await;
    for r in &res.receipts {
        assert!(matches!(r.outcome, Outcome::Accepted(_)), "{r:?}");
    }
    id
}

async fn login(app: &TestApp, seed: &Seed, role: Role) -> String {
    let (u, p) = seed.login(role);
    app.login(u, p).await
}

async fn unlock(app: &TestApp, cookie: &str, passphrase: &str) -> Reply {
    app.send(post(
        "/api/v1/meldpunt/unlock",
        Auth::Cookie(cookie),
        json_body(&json!({ "passphrase": passphrase })),
    ))
    .await
}

async fn pull(app: &TestApp, token: &str) -> PullResponse {
    let reply = app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(token),
            json_body(&json!({ "protocol": 1 })),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

/// Every byte the database holds (see [`TestApp::database_bytes`]).
fn database_bytes(app: &TestApp) -> Vec<u8> {
    app.database_bytes()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_pushed_form_is_stored_sealed_and_opens_only_for_the_unlocked_meldpunt() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let key = make_key(&app, &seed, PASSPHRASE);
    let token = app.device(&seed).await;
    let id = push_form(
        &app,
        &token,
        &seed,
        &key,
        &content(CANARY, born(2016, 4, 3)),
    )
    .await;
    let bytes = database_bytes(&app);
    assert!(contains(&bytes, &id.to_string()), "the envelope is stored");
    assert!(
        !contains(&bytes, CANARY),
        "the child's name is on disk in plaintext"
    );
    assert!(
        !contains(&bytes, "Schiedamseweg 12B"),
        "the address is on disk"
    );

    let cookie = login(&app, &seed, Role::Meldpunt).await;
    let locked = app
        .send(get(
            &format!("/api/v1/care-forms/{id}"),
            Auth::Cookie(&cookie),
        ))
        .await;
    assert!(
        locked
            .error(StatusCode::CONFLICT)
            .message
            .contains("ontgrendel")
    );

    let wrong = unlock(&app, &cookie, "dit is niet de wachtwoordzin").await;
    let err = wrong.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        err.message,
        "De wachtwoordzin klopt niet. Let op hoofdletters en spaties en probeer het opnieuw."
    );
    assert_eq!(
        unlock(&app, &cookie, PASSPHRASE).await.status,
        StatusCode::NO_CONTENT
    );
    let opened = app
        .send(get(
            &format!("/api/v1/care-forms/{id}"),
            Auth::Cookie(&cookie),
        ))
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text());
    let opened: Value = opened.json();
    assert_eq!(opened["content"]["child_name"], CANARY);
    assert_eq!(opened["form"]["clock"], "running");

    // Opening decrypts in memory only: still no plaintext on disk, only a pseudonym.
    let bytes = database_bytes(&app);
    assert!(!contains(&bytes, CANARY));
    assert_eq!(
        app.scalar(&format!(
            "SELECT length(pseudonym) FROM care_form WHERE id = '{id}'"
        )),
        32
    );
    let actions = app.texts("SELECT action FROM audit_log ORDER BY seq");
    assert_eq!(actions, ["unlock_failed", "unlock", "match", "open"]);

    // Logging out drops the unlocked key: a new session starts locked.
    let logout = app
        .send(request(
            Method::DELETE,
            "/api/v1/session",
            Auth::Cookie(&cookie),
            (None, vec![]),
        ))
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert!(app.state.vault.is_empty());
}

#[tokio::test]
async fn rotation_sends_devices_the_new_key_and_keeps_old_forms_readable() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let old = make_key(&app, &seed, PASSPHRASE);
    let token = app.device(&seed).await;
    let first = pull(&app, &token).await;
    let held = first.config.expect("config");
    assert_eq!(held.meldpunt_key.as_ref(), Some(&old));
    let old_form = push_form(
        &app,
        &token,
        &seed,
        &old,
        &content("Oud Kind", born(2015, 1, 1)),
    )
    .await;

    let new = app
        .direct()
        .transaction(|tx| {
            Ok(keys::rotate(
                tx,
                seed.gemeente,
                &SecretString::from(PASSPHRASE.to_owned()),
                &SecretString::from(OTHER_PASSPHRASE.to_owned()),
                now_ms(),
            ))
        })
        .expect("db")
        .expect("rotate");
    let reply = app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(&token),
            json_body(&json!({ "protocol": 1, "config_version": held.version })),
        ))
        .await;
    let pulled: PullResponse = reply.json();
    let config = pulled.config.expect("the config changed");
    assert_eq!(
        config.meldpunt_key,
        Some(new.clone()),
        "devices get the new key"
    );
    let new_form = push_form(
        &app,
        &token,
        &seed,
        &new,
        &content("Nieuw Kind", born(2017, 2, 2)),
    )
    .await;

    let cookie = login(&app, &seed, Role::Meldpunt).await;
    unlock(&app, &cookie, PASSPHRASE)
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unlock(&app, &cookie, OTHER_PASSPHRASE).await.status,
        StatusCode::NO_CONTENT
    );
    for (id, name) in [(old_form, "Oud Kind"), (new_form, "Nieuw Kind")] {
        let reply = app
            .send(get(
                &format!("/api/v1/care-forms/{id}"),
                Auth::Cookie(&cookie),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.json::<Value>()["content"]["child_name"], name);
    }
}

#[tokio::test]
async fn a_later_form_about_the_same_child_is_flagged_to_the_meldpunt_only() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let key = make_key(&app, &seed, PASSPHRASE);
    let token = app.device(&seed).await;
    let first = push_form(
        &app,
        &token,
        &seed,
        &key,
        &content("Yassin el Amrani", born(2016, 4, 3)),
    )
    .await;
    let sibling = push_form(
        &app,
        &token,
        &seed,
        &key,
        &content("Samira el Amrani", born(2014, 9, 12)),
    )
    .await;
    // The app parses "3-4-2016" and "03-04-2016" to the same date; the name differs in
    // case and spacing.
    let again = push_form(
        &app,
        &token,
        &seed,
        &key,
        &content("yassin  El Amrani", born(2016, 4, 3)),
    )
    .await;

    let cookie = login(&app, &seed, Role::Meldpunt).await;
    unlock(&app, &cookie, PASSPHRASE).await;
    let list: Value = app
        .send(get("/api/v1/care-forms", Auth::Cookie(&cookie)))
        .await
        .json();
    let earlier = |id: CareFormId| -> Vec<String> {
        let form = list["forms"]
            .as_array()
            .expect("forms")
            .iter()
            .find(|f| f["id"] == id.to_string())
            .expect("listed");
        serde_json::from_value(form["earlier_forms"].clone()).expect("ids")
    };
    assert_eq!(earlier(again), vec![first.to_string()]);
    assert!(earlier(first).is_empty());
    assert!(
        earlier(sibling).is_empty(),
        "a sibling is not the same child"
    );
    let detail: Value = app
        .send(get(
            &format!("/api/v1/care-forms/{first}"),
            Auth::Cookie(&cookie),
        ))
        .await
        .json();
    assert_eq!(detail["later_forms"], json!([again.to_string()]));

    // The inbox page links the earlier form.
    let page = app
        .send(get(
            &format!("/meldpunt/formulieren/{again}"),
            Auth::Cookie(&cookie),
        ))
        .await;
    assert!(page.text().contains("Dit kind is vaker gemeld"));
    assert!(
        page.text()
            .contains(&format!("/meldpunt/formulieren/{first}"))
    );

    // No other role can see a match: every endpoint that could tell is closed to them, and
    // nothing else they can read mentions pseudonyms or earlier forms.
    for role in [Role::Coordinator, Role::Admin, Role::Straatcoach] {
        let c = login(&app, &seed, role).await;
        for path in [
            "/api/v1/care-forms".to_owned(),
            format!("/api/v1/care-forms/{again}"),
        ] {
            let r = app.send(get(&path, Auth::Cookie(&c))).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?} {path}");
        }
        for path in [
            "/api/v1/audit",
            "/audit",
            "/beheer",
            "/kaart",
            "/veld",
            "/api/v1/me",
        ] {
            let r = app.send(get(path, Auth::Cookie(&c))).await;
            let text = r.text();
            assert!(
                !text.contains("eerder gemeld")
                    && !text.contains("earlier_forms")
                    && !text.contains("pseudonym"),
                "{role:?} {path} hints at a match"
            );
        }
    }
    let pulled = pull(&app, &token).await;
    let as_json = serde_json::to_string(&pulled).expect("json");
    assert!(!as_json.contains("earlier") && !as_json.contains("pseudonym"));
}

#[tokio::test]
async fn the_meldpunts_status_and_message_reach_only_the_reporting_device() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let key = make_key(&app, &seed, PASSPHRASE);
    let reporter = app.device(&seed).await;
    let colleague = app.device(&seed).await;
    let id = push_form(
        &app,
        &reporter,
        &seed,
        &key,
        &content("Noor Bakker", born(2017, 5, 6)),
    )
    .await;
    let before = pull(&app, &reporter).await;
    assert_eq!(before.feedback.len(), 1, "the receipt itself: received");
    assert_eq!(before.feedback[0].status, CareStatus::Received);
    let colleague_before = pull(&app, &colleague).await;
    assert!(colleague_before.feedback.is_empty());

    let cookie = login(&app, &seed, Role::Meldpunt).await;
    let visit = Timestamp::now() + jiff::SignedDuration::from_hours(20);
    let message = "Huisbezoek gepland voor morgen. Dank voor je melding!";
    let reply = app
        .send(request(
            Method::PUT,
            &format!("/api/v1/care-forms/{id}/status"),
            Auth::Cookie(&cookie),
            json_body(&json!({
                "status": "visit_planned", "known_to": "onbekend",
                "visit_at": visit.to_string(), "message": message
            })),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json::<Value>()["clock"], "stopped");

    let after = app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(&reporter),
            json_body(&json!({ "protocol": 1, "since": before.cursor })),
        ))
        .await
        .json::<PullResponse>();
    assert_eq!(after.feedback.len(), 1);
    assert_eq!(after.feedback[0].form, id);
    assert_eq!(after.feedback[0].status, CareStatus::VisitPlanned);
    assert_eq!(after.feedback[0].message.as_deref(), Some(message));
    let text = serde_json::to_string(&after).expect("json");
    assert!(
        !text.contains("onbekend"),
        "'bekend bij' is care information, not feedback"
    );
    let colleague_after = app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(&colleague),
            json_body(&json!({ "protocol": 1, "since": colleague_before.cursor })),
        ))
        .await
        .json::<PullResponse>();
    assert!(
        colleague_after.feedback.is_empty(),
        "only the reporting device"
    );

    // A message longer than 280 characters is refused and changes nothing.
    let long = app
        .send(request(
            Method::PUT,
            &format!("/api/v1/care-forms/{id}/status"),
            Auth::Cookie(&cookie),
            json_body(&json!({ "status": "closed", "message": "x".repeat(281) })),
        ))
        .await;
    assert!(
        long.error(StatusCode::UNPROCESSABLE_ENTITY)
            .message
            .contains("280")
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT status = 'visit_planned' FROM care_form WHERE id = '{id}'"
        )),
        1
    );
}

#[tokio::test]
async fn the_audit_log_records_who_when_which_form_and_from_which_address() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let key = make_key(&app, &seed, PASSPHRASE);
    let token = app.device(&seed).await;
    let id = push_form(
        &app,
        &token,
        &seed,
        &key,
        &content("Finn Smit", born(2016, 8, 9)),
    )
    .await;
    let cookie = login(&app, &seed, Role::Meldpunt).await;
    let addr = SocketAddr::from(([192, 0, 2, 7], 50_123));
    let router = avondronde_server::app(app.state.clone()).layer(MockConnectInfo(addr));
    let send = |req: Request<Body>| {
        let router = router.clone();
        async move {
            let res = router.oneshot(req).await.expect("infallible");
            let status = res.status();
            let body = res.into_body().collect().await.expect("body").to_bytes();
            (status, body)
        }
    };
    let (status, _) = send(post(
        "/api/v1/meldpunt/unlock",
        Auth::Cookie(&cookie),
        json_body(&json!({ "passphrase": PASSPHRASE })),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(get(
        &format!("/api/v1/care-forms/{id}"),
        Auth::Cookie(&cookie),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(get("/api/v1/audit", Auth::Cookie(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    let log: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(log["chain"]["broken_at"], Value::Null);
    let open = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "open")
        .expect("the open is recorded");
    assert_eq!(open["form"], id.to_string());
    assert_eq!(open["address"], "192.0.2.7");
    assert_eq!(open["actor_name"], seed.login(Role::Meldpunt).0);
    assert_eq!(open["actor_role"], "meldpunt");
    let at: Timestamp = open["at"].as_str().expect("at").parse().expect("timestamp");
    assert!(Timestamp::now().duration_since(at).as_secs() < 60);
}

// ---------------------------------------------------------------------------------------
// The authorisation table.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Straatcoach,
    Boa,
    Wijkagent,
    Coordinator,
    Meldpunt,
    Admin,
    Device,
    Anonymous,
    /// The meldpunt of another gemeente (which has a key of its own).
    OtherMeldpunt,
    /// The admin of another gemeente.
    OtherAdmin,
}

const EVERYONE: [Who; 10] = [
    Who::Straatcoach,
    Who::Boa,
    Who::Wijkagent,
    Who::Coordinator,
    Who::Meldpunt,
    Who::Admin,
    Who::Device,
    Who::Anonymous,
    Who::OtherMeldpunt,
    Who::OtherAdmin,
];

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    List,
    Get,
    SetStatus,
    Unlock,
    Lock,
    Audit,
    AuditPut,
    AuditDelete,
    InboxPage,
    FormPage,
    FormSave,
    AuditPage,
}

struct World {
    app: TestApp,
    own: Seed,
    other: Seed,
    form: CareFormId,
    device: String,
    /// Unlocked sessions (meldpunt) and plain sessions, per (gemeente index, role).
    sessions: Vec<((usize, Role), String)>,
    /// Cases run one at a time: some change the shared form.
    serial: tokio::sync::Mutex<()>,
}

impl World {
    fn session(&self, gemeente: usize, role: Role) -> String {
        self.sessions
            .iter()
            .find(|(k, _)| *k == (gemeente, role))
            .map(|(_, c)| c.clone())
            .expect("session")
    }

    /// A fresh session (for unlock and lock, which change the session they run in).
    fn fresh(&self, seed: &Seed, role: Role) -> String {
        let (u, p) = seed.login(role);
        self.app.session_cookie(u, p)
    }
}

#[fixture]
#[once]
fn world() -> World {
    let app = TestApp::with_config(Config {
        logins_per_minute: 100_000,
        ..Config::default()
    });
    let own = app.seed(true);
    let other = app.seed(true);
    let key = make_key(&app, &own, PASSPHRASE);
    make_key(&app, &other, OTHER_PASSPHRASE);
    // The fixture is built inside a test's runtime; its async setup runs on a runtime of
    // its own, on a thread of its own.
    let built = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Runtime::new().expect("runtime");
                runtime.block_on(setup_world(&app, &own, &other, &key))
            })
            .join()
            .expect("world setup")
    });
    let (form, device, sessions) = built;
    World {
        app,
        own,
        other,
        form,
        device,
        sessions,
        serial: tokio::sync::Mutex::new(()),
    }
}

async fn setup_world(
    app: &TestApp,
    own: &Seed,
    other: &Seed,
    key: &MeldpuntKey,
) -> (CareFormId, String, Vec<((usize, Role), String)>) {
    {
        let device = app.device(own).await;
        let form = push_form(
            app,
            &device,
            own,
            key,
            &content("Tess Visser", born(2016, 1, 2)),
        )
        .await;
        let mut sessions = Vec::new();
        for (i, seed) in [own, other].into_iter().enumerate() {
            for role in Role::ALL {
                sessions.push(((i, role), login(app, seed, role).await));
            }
        }
        let unlock_with = |i: usize, p: &'static str| {
            let cookie = sessions
                .iter()
                .find(|(k, _)| *k == (i, Role::Meldpunt))
                .map(|(_, c): &((usize, Role), String)| c.clone())
                .expect("meldpunt");
            async move { unlock(app, &cookie, p).await }
        };
        assert_eq!(
            unlock_with(0, PASSPHRASE).await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            unlock_with(1, OTHER_PASSPHRASE).await.status,
            StatusCode::NO_CONTENT
        );
        (form, device, sessions)
    }
}

/// Issue 5: only the meldpunt of the form's gemeente gets through; the audit log is
/// readable by the admin and the meldpunt of that gemeente only, and changeable by nobody.
#[rstest]
//                         coach boa  agent coord meldp admin device anon o.mp o.admin
#[case::list(Endpoint::List,         [403, 403, 403, 403, 200, 403, 403, 401, 200, 403])]
#[case::get(Endpoint::Get,           [403, 403, 403, 403, 200, 403, 403, 401, 404, 403])]
#[case::set_status(Endpoint::SetStatus, [403, 403, 403, 403, 200, 403, 403, 401, 404, 403])]
#[case::unlock(Endpoint::Unlock,     [403, 403, 403, 403, 204, 403, 403, 401, 422, 403])]
#[case::lock(Endpoint::Lock,         [403, 403, 403, 403, 204, 403, 403, 401, 204, 403])]
#[case::audit(Endpoint::Audit,       [403, 403, 403, 403, 200, 200, 403, 401, 200, 200])]
#[case::audit_put(Endpoint::AuditPut, [405, 405, 405, 405, 405, 405, 405, 405, 405, 405])]
#[case::audit_delete(Endpoint::AuditDelete, [405, 405, 405, 405, 405, 405, 405, 405, 405, 405])]
#[case::inbox_page(Endpoint::InboxPage, [403, 403, 403, 403, 200, 403, 303, 303, 200, 403])]
#[case::form_page(Endpoint::FormPage, [403, 403, 403, 403, 200, 403, 303, 303, 404, 403])]
#[case::form_save(Endpoint::FormSave, [403, 403, 403, 403, 303, 403, 303, 303, 404, 403])]
#[case::audit_page(Endpoint::AuditPage, [403, 403, 403, 403, 200, 200, 303, 303, 200, 200])]
#[tokio::test]
async fn care_form_and_audit_endpoints_admit_only_the_right_people(
    world: &World,
    #[case] endpoint: Endpoint,
    #[case] expected: [u16; 10],
) {
    let _serial = world.serial.lock().await;
    for (i, who) in EVERYONE.into_iter().enumerate() {
        let (seed, role) = match who {
            Who::Straatcoach => (&world.own, Some(Role::Straatcoach)),
            Who::Boa => (&world.own, Some(Role::Boa)),
            Who::Wijkagent => (&world.own, Some(Role::Wijkagent)),
            Who::Coordinator => (&world.own, Some(Role::Coordinator)),
            Who::Meldpunt => (&world.own, Some(Role::Meldpunt)),
            Who::Admin => (&world.own, Some(Role::Admin)),
            Who::OtherMeldpunt => (&world.other, Some(Role::Meldpunt)),
            Who::OtherAdmin => (&world.other, Some(Role::Admin)),
            Who::Device | Who::Anonymous => (&world.own, None),
        };
        let gemeente = usize::from(matches!(who, Who::OtherMeldpunt | Who::OtherAdmin));
        let cookie = role.map(|r| match endpoint {
            Endpoint::Unlock | Endpoint::Lock => world.fresh(seed, r),
            _ => world.session(gemeente, r),
        });
        let auth = match (who, &cookie) {
            (Who::Device, _) => Auth::Bearer(&world.device),
            (_, Some(c)) => Auth::Cookie(c),
            _ => Auth::None,
        };
        let form = world.form;
        let status_before = world.app.scalar(&format!(
            "SELECT feedback_seq FROM care_form WHERE id = '{form}'"
        ));
        let req = match endpoint {
            Endpoint::List => get("/api/v1/care-forms?all=true", auth),
            Endpoint::Get => get(&format!("/api/v1/care-forms/{form}"), auth),
            Endpoint::SetStatus => request(
                Method::PUT,
                &format!("/api/v1/care-forms/{form}/status"),
                auth,
                json_body(&json!({ "status": "in_progress", "message": format!("stap {i}") })),
            ),
            Endpoint::Unlock => post(
                "/api/v1/meldpunt/unlock",
                auth,
                json_body(&json!({ "passphrase": PASSPHRASE })),
            ),
            Endpoint::Lock => post("/api/v1/meldpunt/lock", auth, (None, vec![])),
            Endpoint::Audit => get("/api/v1/audit", auth),
            Endpoint::AuditPut => request(
                Method::PUT,
                "/api/v1/audit",
                auth,
                json_body(&json!({ "entries": [] })),
            ),
            Endpoint::AuditDelete => request(Method::DELETE, "/api/v1/audit", auth, (None, vec![])),
            Endpoint::InboxPage => get("/meldpunt?alle=1", auth),
            Endpoint::FormPage => get(&format!("/meldpunt/formulieren/{form}"), auth),
            Endpoint::FormSave => request(
                Method::POST,
                &format!("/meldpunt/formulieren/{form}"),
                auth,
                (
                    Some("application/x-www-form-urlencoded"),
                    format!("status=in_progress&known_to=&visit_at=&message=stap+{i}").into_bytes(),
                ),
            ),
            Endpoint::AuditPage => get("/audit", auth),
        };
        let reply = world.app.send(req).await;
        assert_eq!(
            reply.status.as_u16(),
            expected[i],
            "{endpoint:?} by {who:?}: {}",
            reply.text()
        );
        if reply.status.as_u16() == 303 {
            let to = reply.headers["location"].to_str().expect("location");
            let expected_to = if matches!(who, Who::Device | Who::Anonymous) {
                "/login"
            } else {
                "/meldpunt/formulieren/"
            };
            assert!(
                to.starts_with(expected_to),
                "{endpoint:?} by {who:?} → {to}"
            );
        }
        if reply.status.is_client_error() && reply.text().starts_with('{') {
            assert_json_error(&reply);
        }
        // A refusal changes nothing, and the form's existence leaks to nobody else.
        let changed = world.app.scalar(&format!(
            "SELECT feedback_seq FROM care_form WHERE id = '{form}'"
        )) != status_before;
        let may_change =
            who == Who::Meldpunt && matches!(endpoint, Endpoint::SetStatus | Endpoint::FormSave);
        assert!(
            !changed || may_change,
            "{endpoint:?} by {who:?} changed the form"
        );
        let reads_audit = matches!(endpoint, Endpoint::Audit | Endpoint::AuditPage);
        if who != Who::Meldpunt && !(who == Who::Admin && reads_audit) {
            assert!(
                !reply.text().contains(&form.to_string()) || matches!(reply.status.as_u16(), 303),
                "{endpoint:?} by {who:?} mentions the form"
            );
        }
    }
}

#[rstest]
#[tokio::test]
async fn refused_requests_leave_no_open_in_the_audit_log(world: &World) {
    let n = world.app.scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'open' AND actor_role <> 'meldpunt'",
    );
    assert_eq!(n, 0);
    let theirs = world.app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'open' AND gemeente_id = '{}'",
        world.other.gemeente
    ));
    assert_eq!(
        theirs, 0,
        "a 404 for another gemeente's form is not an open"
    );
}

// Review rev3, finding 2: a status is a claim the reporter sees and the 48-hour clock
// trusts, so it must be backed by the fields that make it true. One change of the status
// select alone must not take a late form off the clock.

/// Moves a form's receipt `hours` into the past (the 48-hour clock runs from receipt).
fn received_hours_ago(app: &TestApp, id: CareFormId, hours: i64) {
    let at = now_ms() - hours * 3_600_000;
    app.execute(&format!(
        "UPDATE care_form SET received_at = {at} WHERE id = '{id}'"
    ));
}

/// Everything about a form's handling that a refused update must leave alone. Status codes,
/// ids and times only: no personal data.
fn stored_handling(app: &TestApp, id: CareFormId) -> String {
    app.scalar_text(&format!(
        "SELECT status || '|' || COALESCE(known_to, '-') || '|'
             || COALESCE(CAST(visit_at AS TEXT), '-') || '|' || COALESCE(message, '-') || '|'
             || CAST(feedback_seq AS TEXT) || '|' || CAST(updated_at AS TEXT)
         FROM care_form WHERE id = '{id}'"
    ))
}

fn updates_recorded(app: &TestApp, id: CareFormId) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'update' AND form_id = '{id}'"
    ))
}

/// The form's clock as the API reports it: `overdue`, `running` or `stopped`.
async fn api_clock(app: &TestApp, cookie: &str, id: CareFormId) -> String {
    let list = app
        .send(get("/api/v1/care-forms?all=true", Auth::Cookie(cookie)))
        .await
        .json::<Value>();
    list["forms"]
        .as_array()
        .expect("forms")
        .iter()
        .find(|f| f["id"] == id.to_string())
        .map(|f| f["clock"].as_str().expect("clock").to_owned())
        .expect("the form is listed")
}

/// The inbox's "N te laat" counter.
async fn late_count(app: &TestApp, cookie: &str) -> usize {
    let html = app
        .send(get("/meldpunt", Auth::Cookie(cookie)))
        .await
        .text();
    let at = html.find("</strong> te laat").expect("the late counter");
    let digits: String = html[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().expect("n")
}

/// The Dutch reason of a refused save on the form page (and only that: the page also holds
/// the decrypted form, which never goes into test output).
fn handling_error(html: &str) -> &str {
    let start = html
        .find("id=\"handling-error\"")
        .expect("the error beside the form");
    let end = html[start..].find("</p>").expect("end") + start;
    &html[start..end]
}

/// A visit time as the form page takes it, Europe/Amsterdam.
fn visit_text(at: Timestamp) -> String {
    at.to_zoned(avondronde_shared::time::amsterdam())
        .strftime("%d-%m-%Y %H:%M")
        .to_string()
}

#[rstest]
#[case::visit_without_date(json!({ "status": "visit_planned" }), "Huisbezoek gepland op")]
#[case::visit_without_date_after_the_check(
    json!({ "status": "visit_planned", "known_to": "onbekend", "visit_at": null }),
    "Huisbezoek gepland op"
)]
#[case::known_to_care_unchecked(json!({ "status": "known_to_care" }), "Bekend bij")]
#[case::known_to_care_but_known_nowhere(
    json!({ "status": "known_to_care", "known_to": "onbekend" }),
    "nergens bekend"
)]
#[tokio::test]
async fn the_api_refuses_a_status_its_own_fields_contradict(
    #[case] mut body: Value,
    #[case] names: &str,
) {
    let app = TestApp::new();
    let seed = app.seed(true);
    let key = make_key(&app, &seed, PASSPHRASE);
    let reporter = app.device(&seed).await;
    let id = push_form(
        &app,
        &reporter,
        &seed,
        &key,
        &content("Noor Bakker", born(2017, 5, 6)),
    )
    .await;
    received_hours_ago(&app, id, 71);
    let before = pull(&app, &reporter).await;
    let cookie = login(&app, &seed, Role::Meldpunt).await;
    assert_eq!(api_clock(&app, &cookie, id).await, "overdue");
    let saved = stored_handling(&app, id);

    body["message"] = json!("Huisbezoek komt eraan.");
    let reply = app
        .send(request(
            Method::PUT,
            &format!("/api/v1/care-forms/{id}/status"),
            Auth::Cookie(&cookie),
            json_body(&body),
        ))
        .await;
    let error = reply.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error.message.contains(names), "{}", error.message);

    assert_eq!(stored_handling(&app, id), saved, "nothing was stored");
    assert_eq!(updates_recorded(&app, id), 0);
    assert_eq!(api_clock(&app, &cookie, id).await, "overdue", "still late");
    let after = app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(&reporter),
            json_body(&json!({ "protocol": 1, "since": before.cursor })),
        ))
        .await
        .json::<PullResponse>();
    assert!(after.feedback.is_empty(), "the reporter is told nothing");
}

#[tokio::test]
async fn a_status_with_its_date_or_choice_is_saved_and_only_then_leaves_te_laat() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let key = make_key(&app, &seed, PASSPHRASE);
    let reporter = app.device(&seed).await;
    let visit_form = push_form(
        &app,
        &reporter,
        &seed,
        &key,
        &content("A", born(2017, 1, 1)),
    )
    .await;
    let known_form = push_form(
        &app,
        &reporter,
        &seed,
        &key,
        &content("B", born(2016, 2, 2)),
    )
    .await;
    received_hours_ago(&app, visit_form, 72);
    received_hours_ago(&app, known_form, 60);
    let cookie = login(&app, &seed, Role::Meldpunt).await;
    assert_eq!(late_count(&app, &cookie).await, 2);
    let put = |id: CareFormId, body: Value| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            app.send(request(
                Method::PUT,
                &format!("/api/v1/care-forms/{id}/status"),
                Auth::Cookie(&cookie),
                json_body(&body),
            ))
            .await
        }
    };

    // The status alone: refused, still late.
    put(visit_form, json!({ "status": "visit_planned" }))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY);
    put(known_form, json!({ "status": "known_to_care" }))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(late_count(&app, &cookie).await, 2);

    // With the visit's date: saved, off the clock.
    let visit = whole_seconds(Timestamp::now() + jiff::SignedDuration::from_hours(20));
    let reply = put(
        visit_form,
        json!({ "status": "visit_planned", "visit_at": visit.to_string() }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let summary = reply.json::<Value>();
    assert_eq!(summary["clock"], "stopped");
    assert_eq!(summary["status"], "visit_planned");
    assert_eq!(late_count(&app, &cookie).await, 1);

    // With "bekend bij" Veilig Thuis: saved, off the clock.
    let reply = put(
        known_form,
        json!({ "status": "known_to_care", "known_to": "veilig_thuis" }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json::<Value>()["clock"], "stopped");
    assert_eq!(late_count(&app, &cookie).await, 0);

    // Dropping the date again while keeping the status is refused as well.
    let saved = stored_handling(&app, visit_form);
    put(
        visit_form,
        json!({ "status": "visit_planned", "visit_at": null }),
    )
    .await
    .error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stored_handling(&app, visit_form), saved);
}

#[tokio::test]
async fn the_form_page_refuses_a_contradicting_status_in_dutch_and_keeps_what_was_typed() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let key = make_key(&app, &seed, PASSPHRASE);
    let reporter = app.device(&seed).await;
    let id = push_form(
        &app,
        &reporter,
        &seed,
        &key,
        &content("Noor Bakker", born(2017, 5, 6)),
    )
    .await;
    received_hours_ago(&app, id, 71);
    let cookie = login(&app, &seed, Role::Meldpunt).await;
    assert_eq!(
        unlock(&app, &cookie, PASSPHRASE).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(late_count(&app, &cookie).await, 1);
    let saved = stored_handling(&app, id);
    let save = |fields: Vec<(&'static str, String)>| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.send(post(
                &format!("/meldpunt/formulieren/{id}"),
                Auth::Cookie(&cookie),
                form(&fields),
            ))
            .await
        }
    };
    let typed = "Wij bellen het gezin morgen.";

    // Only the status select changed, as in the review.
    let reply = save(vec![
        ("known_to", String::new()),
        ("visit_at", String::new()),
        ("status", "visit_planned".into()),
        ("message", typed.into()),
    ])
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = reply.text();
    let error = handling_error(&html);
    assert!(
        error.contains("Huisbezoek gepland op") && error.contains("Er is niets opgeslagen"),
        "{error}"
    );
    assert!(
        html.contains(r#"<option value="visit_planned" selected>"#),
        "the status as typed"
    );
    assert!(html.contains(typed), "the message as typed");
    assert_eq!(stored_handling(&app, id), saved);
    assert_eq!(late_count(&app, &cookie).await, 1, "still late");

    // "Bekend bij hulpverlening" while the check said: known nowhere.
    let reply = save(vec![
        ("known_to", "onbekend".into()),
        ("visit_at", String::new()),
        ("status", "known_to_care".into()),
        ("message", String::new()),
    ])
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = reply.text();
    assert!(
        handling_error(&html).contains("nergens bekend"),
        "{}",
        handling_error(&html)
    );
    assert!(
        html.contains(r#"value="onbekend" checked"#),
        "the choice as typed"
    );
    // ... or not checked at all.
    let reply = save(vec![
        ("known_to", String::new()),
        ("visit_at", String::new()),
        ("status", "known_to_care".into()),
        ("message", String::new()),
    ])
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(handling_error(&reply.text()).contains("Bekend bij"));

    // A date that does not parse is shown again as typed.
    let reply = save(vec![
        ("known_to", "onbekend".into()),
        ("visit_at", "31-02-2026 10:00".into()),
        ("status", "visit_planned".into()),
        ("message", String::new()),
    ])
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = reply.text();
    assert!(handling_error(&html).contains("dd-mm-jjjj uu:mm"));
    assert!(html.contains(r#"value="31-02-2026 10:00""#));
    assert_eq!(stored_handling(&app, id), saved);
    assert_eq!(updates_recorded(&app, id), 0);
    assert_eq!(late_count(&app, &cookie).await, 1);

    // With the date: saved, and only now off "te laat".
    let visit = visit_text(Timestamp::now() + jiff::SignedDuration::from_hours(20));
    let reply = save(vec![
        ("known_to", "onbekend".into()),
        ("visit_at", visit),
        ("status", "visit_planned".into()),
        ("message", typed.into()),
    ])
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let to = reply.headers["location"].to_str().expect("location");
    assert!(to.ends_with("melding=opgeslagen"), "{to}");
    assert!(stored_handling(&app, id).starts_with("visit_planned|onbekend|"));
    assert_eq!(late_count(&app, &cookie).await, 0);
}
