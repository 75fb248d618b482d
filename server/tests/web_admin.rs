//! Issue 12's web admin, through the real router: every operation of `/beheer` and the
//! meldpunt key page does what the command line does, refuses bad input with a Dutch
//! message and changes nothing then, stays inside the admin's own gemeente, and is
//! audited. (Who may call each route is in `authorisation.rs`'s page matrix.)

mod common;

use age::secrecy::SecretString;
use avondronde_server::meldpunt::keys;
use avondronde_server::{admin, auth, setup};
use avondronde_shared::Role;
use avondronde_shared::enrolment::EnrolInvite;
use axum::http::StatusCode;
use common::*;
use geo::MultiPolygon;
use rstest::rstest;

/// The text of the element with `id` in a page (`<… id="x">text<`).
fn element_text(page: &str, id: &str) -> Option<String> {
    let at = page.find(&format!("id=\"{id}\""))?;
    let rest = &page[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(rest[start..start + end].to_owned())
}

/// Where a redirect points.
fn location(reply: &Reply) -> String {
    reply
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location header")
        .to_owned()
}

struct World {
    app: TestApp,
    seed: Seed,
    other: Seed,
    admin: String,
    /// A second wijk of the admin's gemeente.
    second_wijk: String,
}

async fn world() -> World {
    let app = TestApp::new();
    let seed = app.seed(true);
    let other = app.seed(true);
    let second_wijk = "WK900099".to_owned();
    {
        let outline = [
            (4.50, 51.90),
            (4.52, 51.90),
            (4.52, 51.92),
            (4.50, 51.92),
            (4.50, 51.90),
        ];
        app.direct()
            .transaction(|tx| {
                Ok(setup::create_wijk(
                    tx,
                    seed.gemeente,
                    &second_wijk,
                    "Tweede wijk",
                    &MultiPolygon(vec![setup::polygon(&outline)]),
                ))
            })
            .expect("db")
            .expect("wijk");
    }
    let (u, p) = seed.login(Role::Admin);
    let admin = app.login(u, p).await;
    World {
        app,
        seed,
        other,
        admin,
        second_wijk,
    }
}

impl World {
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.app
            .send(post(path, Auth::Cookie(&self.admin), form(fields)))
            .await
    }

    /// Posts a form that changes something, checks that the answer is a redirect back to
    /// `page` (Post/Redirect/Get), and returns the page the browser then shows.
    async fn post_then_follow(&self, path: &str, fields: &[(&str, &str)], page: &str) -> String {
        let reply = self.post(path, fields).await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "{path}: {}",
            reply.text()
        );
        let to = location(&reply);
        assert!(to.starts_with(&format!("{page}?melding=")), "{path} → {to}");
        self.get(&to).await
    }

    async fn get(&self, path: &str) -> String {
        self.app
            .send(get(path, Auth::Cookie(&self.admin)))
            .await
            .text()
    }

    fn first_wijk(&self) -> String {
        self.app.scalar_text(&format!(
            "SELECT code FROM wijk WHERE id = '{}'",
            self.seed.wijk
        ))
    }

    /// (users, audit entries, wijk assignments, reset codes): what a refused add must not change.
    fn counts(&self) -> [i64; 4] {
        [
            self.app.scalar("SELECT COUNT(*) FROM \"user\""),
            self.app.scalar("SELECT COUNT(*) FROM audit_log"),
            self.app.scalar("SELECT COUNT(*) FROM user_wijk"),
            self.app.scalar("SELECT COUNT(*) FROM password_reset"),
        ]
    }
}

#[tokio::test]
async fn an_admin_adds_a_coordinator_for_one_wijk_who_sets_a_password_with_the_code_and_logs_in() {
    let w = world().await;
    let page = w
        .post_then_follow(
            "/beheer/gebruikers",
            &[
                ("username", "k.de.vries"),
                ("role", "coordinator"),
                ("wijken", &w.second_wijk),
            ],
            "/beheer/gebruikers",
        )
        .await;
    assert!(page.contains("is toegevoegd als"), "{page}");
    let code = element_text(&page, "first-password-code").expect("the one-time code is shown");
    // Exactly the chosen wijk, nothing else.
    let wijken = w.app.texts(
        "SELECT w.code FROM user_wijk uw JOIN wijk w ON w.id = uw.wijk_id
         JOIN \"user\" u ON u.id = uw.user_id WHERE u.username = 'k.de.vries'",
    );
    assert_eq!(wijken, vec![w.second_wijk.clone()]);
    // No password until the user chooses one with the code, at /wachtwoord.
    assert!(
        w.app
            .direct()
            .transaction(|tx| auth::login(tx, "k.de.vries", ""))
            .expect("db")
            .is_none()
    );
    let set = w
        .app
        .send(post(
            "/wachtwoord",
            Auth::None,
            form(&[
                ("username", "k.de.vries"),
                ("code", &code),
                ("password", "een-eigen-wachtwoord"),
            ]),
        ))
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text());
    assert!(
        w.app
            .direct()
            .transaction(|tx| auth::login(tx, "k.de.vries", "een-eigen-wachtwoord"))
            .expect("db")
            .is_some(),
        "the new coordinator logs in"
    );
    let audited = w
        .app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user_add'");
    assert_eq!(audited, 1);
}

#[rstest]
#[case::empty_username("", "coordinator", true, "Vul een gebruikersnaam in")]
#[case::only_spaces("   ", "boa", false, "Vul een gebruikersnaam in")]
#[case::space_inside("k de vries", "boa", false, "geen spaties")]
#[case::taken("straatcoach-0", "boa", false, "al in gebruik")]
#[case::taken_in_another_gemeente("straatcoach-1", "boa", false, "al in gebruik")]
#[case::coordinator_without_wijk("nieuw", "coordinator", false, "minstens één wijk")]
#[case::wijk_for_a_straatcoach("nieuw", "straatcoach", true, "Alleen een coördinator")]
#[case::unknown_role("nieuw", "koning", false, "Kies een rol")]
#[tokio::test]
async fn a_bad_new_user_is_refused_in_dutch_and_nothing_changes(
    #[case] username: &str,
    #[case] role: &str,
    #[case] with_wijk: bool,
    #[case] message: &str,
) {
    let w = world().await;
    let before = w.counts();
    let wijk = w.first_wijk();
    let mut fields = vec![("username", username), ("role", role)];
    if with_wijk {
        fields.push(("wijken", &wijk));
    }
    let reply = w.post("/beheer/gebruikers", &fields).await;
    assert_eq!(reply.status, StatusCode::OK);
    let page = reply.text();
    assert!(page.contains(message), "expected {message:?} in {page}");
    assert!(page.contains("Er is niets gewijzigd."));
    assert_eq!(w.counts(), before, "nothing was added, assigned or audited");
}

#[tokio::test]
async fn a_wijk_of_another_gemeente_is_refused_and_the_user_is_not_half_added() {
    let w = world().await;
    let foreign: String = w.app.scalar_text(&format!(
        "SELECT code FROM wijk WHERE gemeente_id = '{}'",
        w.other.gemeente
    ));
    let before = w.counts();
    let reply = w
        .post(
            "/beheer/gebruikers",
            &[
                ("username", "half"),
                ("role", "coordinator"),
                ("wijken", &w.second_wijk),
                ("wijken", &foreign),
            ],
        )
        .await;
    let page = reply.text();
    assert!(page.contains("hoort niet bij de gemeente"), "{page}");
    assert_eq!(w.counts(), before, "the savepoint rolled the user back");
}

#[tokio::test]
async fn disabling_asks_first_then_refuses_the_login_and_revokes_the_phones() {
    let w = world().await;
    let token = w.app.device(&w.seed).await;
    w.app.execute("UPDATE device SET outbox_pending = 3");
    let (name, password) = w.seed.login(Role::Straatcoach);
    let ask = w
        .post("/beheer/gebruikers/uitschakelen", &[("username", name)])
        .await
        .text();
    assert!(ask.contains("uitschakelen?"), "{ask}");
    assert!(ask.contains("3 nog niet verzonden"), "{ask}");
    assert!(
        w.app
            .direct()
            .transaction(|tx| auth::login(tx, name, password))
            .expect("db")
            .is_some(),
        "asking changed nothing"
    );
    let done = w
        .post_then_follow(
            "/beheer/gebruikers/uitschakelen",
            &[("username", name), ("bevestigd", "1")],
            "/beheer/gebruikers",
        )
        .await;
    assert!(
        done.contains("is uitgeschakeld: 1 sessie beëindigd, 1 telefoon ingetrokken."),
        "{done}"
    );
    assert!(
        w.app
            .direct()
            .transaction(|tx| auth::login(tx, name, password))
            .expect("db")
            .is_none()
    );
    let pull = w
        .app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(&token),
            json_body(&serde_json::json!({})),
        ))
        .await;
    assert_eq!(pull.status, StatusCode::UNAUTHORIZED, "{}", pull.text());
    assert!(pull.text().contains("device_revoked"));
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user_disable'"),
        1
    );
}

#[tokio::test]
async fn an_admin_cannot_disable_themselves() {
    let w = world().await;
    let (me, _) = w.seed.login(Role::Admin);
    let page = w
        .post(
            "/beheer/gebruikers/uitschakelen",
            &[("username", me), ("bevestigd", "1")],
        )
        .await
        .text();
    assert!(page.contains("niet uitschakelen"), "{page}");
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM \"user\" WHERE disabled_at IS NOT NULL"),
        0
    );
}

#[rstest]
#[case::reset("/beheer/gebruikers/herstelcode")]
#[case::sessions("/beheer/gebruikers/sessies")]
#[case::disable("/beheer/gebruikers/uitschakelen")]
#[case::second_step("/beheer/gebruikers/tweede-stap")]
#[tokio::test]
async fn a_user_of_another_gemeente_is_not_found_and_untouched(#[case] path: &str) {
    let w = world().await;
    let (theirs, password) = w.other.login(Role::Meldpunt);
    let their_session = w.app.login(theirs, password).await;
    let before = w.counts();
    let page = w
        .post(path, &[("username", theirs), ("bevestigd", "1")])
        .await
        .text();
    assert!(page.contains("niet gevonden"), "{page}");
    assert_eq!(w.counts(), before);
    let me = w
        .app
        .send(get("/api/v1/me", Auth::Cookie(&their_session)))
        .await;
    assert_eq!(me.status, StatusCode::OK, "their session still works");
}

#[tokio::test]
async fn a_reset_code_ends_the_sessions_and_sets_a_new_password() {
    let w = world().await;
    let (name, password) = w.seed.login(Role::Meldpunt);
    let session = w.app.login(name, password).await;
    let page = w
        .post_then_follow(
            "/beheer/gebruikers/herstelcode",
            &[("username", name)],
            "/beheer/gebruikers",
        )
        .await;
    let code = element_text(&page, "reset-code").expect("code shown");
    let me = w.app.send(get("/api/v1/me", Auth::Cookie(&session))).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "the session ended");
    let redeemed = w
        .app
        .direct()
        .transaction(|tx| admin::redeem_reset(tx, name, &code, "heel-nieuw-wachtwoord"));
    assert_eq!(redeemed.expect("db"), Ok(()));
}

#[tokio::test]
async fn switching_the_second_step_off_makes_the_user_set_it_up_again() {
    let w = world().await;
    let (name, password) = w.seed.login(Role::Meldpunt);
    let page = w
        .post_then_follow(
            "/beheer/gebruikers/tweede-stap",
            &[("username", name)],
            "/beheer/gebruikers",
        )
        .await;
    assert!(page.contains("staat uit"), "{page}");
    assert_eq!(w.app.totp_code(name), None, "no confirmed secret left");
    // The next login asks to set the app up again (the second step is still required).
    let login = w
        .app
        .send(post(
            "/api/v1/session",
            Auth::None,
            json_body(&serde_json::json!({ "username": name, "password": password })),
        ))
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    assert_ne!(login.json::<serde_json::Value>()["mfa"], "done");
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'mfa_reset'"),
        1
    );
}

#[tokio::test]
async fn ending_sessions_logs_the_user_out_everywhere() {
    let w = world().await;
    let (name, password) = w.seed.login(Role::Coordinator);
    let session = w.app.login(name, password).await;
    let page = w
        .post_then_follow(
            "/beheer/gebruikers/sessies",
            &[("username", name)],
            "/beheer/gebruikers",
        )
        .await;
    assert!(page.contains("1 sessie van"), "in the singular: {page}");
    let me = w.app.send(get("/api/v1/me", Auth::Cookie(&session))).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_enrolment_screen_shows_a_qr_code_whose_invite_enrols_a_phone_and_pins_the_key() {
    let w = world().await;
    let mut direct = w.app.direct();
    direct
        .transaction(|tx| {
            Ok(keys::create(
                tx,
                w.seed.gemeente,
                &SecretString::from("een lange wachtwoordzin".to_owned()),
                avondronde_server::db::now_ms(),
            ))
        })
        .expect("db")
        .expect("key");
    let fingerprint = direct
        .read(|tx| keys::root_fingerprint(tx, w.seed.gemeente))
        .expect("db")
        .expect("signed key");
    let (name, _) = w.seed.login(Role::Boa);
    let page = w.post("/beheer/code", &[("username", name)]).await.text();
    assert!(page.contains("<svg"), "a QR code as SVG");
    let encoded = page
        .split("data-invite=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the invite text beside the QR code");
    let invite = EnrolInvite::parse(encoded).expect("a valid invite");
    assert_eq!(invite.fingerprint, Some(fingerprint));
    assert!(
        page.contains(&fingerprint.words_line()),
        "the words to compare"
    );
    let shown = element_text(&page, "enrol-code").expect("the code to type");
    assert_eq!(shown.replace('-', ""), invite.code);
    assert!(invite.server.starts_with("http://"), "{}", invite.server);
    // The code exactly as the QR code carries it (no dashes) enrols the phone.
    w.app.enrol(&invite.code).await;
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'enrolment_code'"),
        1
    );
}

#[tokio::test]
async fn revoking_a_phone_with_unsent_items_warns_first() {
    let w = world().await;
    let token = w.app.device(&w.seed).await;
    w.app.execute("UPDATE device SET outbox_pending = 3");
    let id = w.app.scalar_text("SELECT id FROM device");
    let warned = w.post("/beheer/intrekken", &[("device", &id)]).await.text();
    assert!(warned.contains("3 nog niet verzonden items"), "{warned}");
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM device WHERE revoked_at IS NOT NULL"),
        0
    );
    let done = w
        .post_then_follow(
            "/beheer/intrekken",
            &[("device", &id), ("bevestigd", "1")],
            "/beheer/telefoons",
        )
        .await;
    assert!(done.contains("is ingetrokken"), "{done}");
    let pull = w
        .app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(&token),
            json_body(&serde_json::json!({})),
        ))
        .await;
    assert_eq!(pull.status, StatusCode::UNAUTHORIZED);
    assert!(pull.text().contains("device_revoked"), "{}", pull.text());
}

#[tokio::test]
async fn retention_periods_are_set_from_the_page_and_a_bad_one_changes_nothing() {
    let w = world().await;
    let bad = w
        .post(
            "/beheer/bewaartermijnen",
            &[
                ("care_form_months", "6"),
                ("contact_months", "twee jaar"),
                ("open_form_warn_months", "3"),
                ("open_form_months", "12"),
            ],
        )
        .await
        .text();
    assert!(bad.contains("vul een heel aantal maanden in"), "{bad}");
    assert!(bad.contains("twee jaar"), "what was typed is kept");
    let order = w
        .post(
            "/beheer/bewaartermijnen",
            &[
                ("care_form_months", "6"),
                ("contact_months", "24"),
                ("open_form_warn_months", "12"),
                ("open_form_months", "6"),
            ],
        )
        .await
        .text();
    assert!(order.contains("moet vóór de verwijdering"), "{order}");
    assert_eq!(w.app.scalar("SELECT COUNT(*) FROM retention_setting"), 0);
    let ok = w
        .post_then_follow(
            "/beheer/bewaartermijnen",
            &[
                ("care_form_months", "6"),
                ("contact_months", "18"),
                ("open_form_warn_months", "2"),
                ("open_form_months", "9"),
            ],
            "/beheer/instellingen",
        )
        .await;
    assert!(ok.contains("opgeslagen"), "{ok}");
    let g = w.seed.gemeente;
    let p = w
        .app
        .direct()
        .read(|tx| avondronde_server::retention::periods(tx, g))
        .expect("db");
    assert_eq!((p.care_form_months, p.contact_months), (6, 18));
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'retention_settings'"),
        1
    );
}

#[tokio::test]
async fn the_meldpunt_makes_and_replaces_its_key_on_the_page_with_the_fingerprint_as_words() {
    let w = world().await;
    let (name, password) = w.seed.login(Role::Meldpunt);
    let session = w.app.login(name, password).await;
    let send = |path: &'static str, fields: Vec<(&'static str, &'static str)>| {
        let session = session.clone();
        let app = &w.app;
        async move {
            app.send(post(path, Auth::Cookie(&session), form(&fields)))
                .await
                .text()
        }
    };
    let differ = send(
        "/meldpunt/sleutel/maken",
        vec![
            ("new_passphrase", "een lange wachtwoordzin"),
            ("repeat", "een andere wachtwoordzin"),
        ],
    )
    .await;
    assert!(differ.contains("niet gelijk"), "{differ}");
    let short = send(
        "/meldpunt/sleutel/maken",
        vec![("new_passphrase", "kort"), ("repeat", "kort")],
    )
    .await;
    assert!(short.contains("minstens 12 tekens"), "{short}");
    assert_eq!(w.app.scalar("SELECT COUNT(*) FROM meldpunt_key"), 0);

    let made = send(
        "/meldpunt/sleutel/maken",
        vec![
            ("new_passphrase", "een lange wachtwoordzin"),
            ("repeat", "een lange wachtwoordzin"),
        ],
    )
    .await;
    let fp = w
        .app
        .direct()
        .read(|tx| keys::root_fingerprint(tx, w.seed.gemeente))
        .expect("db")
        .expect("a signed key");
    assert!(made.contains("is aangemaakt"), "{made}");
    assert!(made.contains(&fp.words_line()), "the words on the page");

    let wrong = send(
        "/meldpunt/sleutel/vervangen",
        vec![
            ("passphrase", "dit is hem niet"),
            ("new_passphrase", "nog een lange zin"),
            ("repeat", "nog een lange zin"),
        ],
    )
    .await;
    assert!(wrong.contains("wachtwoordzin klopt niet"), "{wrong}");
    assert_eq!(w.app.scalar("SELECT COUNT(*) FROM meldpunt_key"), 1);

    let rotated = send(
        "/meldpunt/sleutel/vervangen",
        vec![
            ("passphrase", "een lange wachtwoordzin"),
            ("new_passphrase", "nog een lange zin"),
            ("repeat", "nog een lange zin"),
        ],
    )
    .await;
    assert!(rotated.contains("is vervangen"), "{rotated}");
    assert_eq!(w.app.scalar("SELECT COUNT(*) FROM meldpunt_key"), 2);
    let chain = w
        .app
        .direct()
        .read(|tx| keys::chain(tx, w.seed.gemeente))
        .expect("db")
        .expect("chain");
    assert_eq!(
        chain.links.len(),
        2,
        "the rotation is signed by the first key"
    );
    assert_eq!(
        w.app
            .direct()
            .read(|tx| keys::root_fingerprint(tx, w.seed.gemeente))
            .expect("db"),
        Some(fp),
        "phones keep their pin"
    );
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action IN ('key_create', 'key_rotate')"),
        2
    );
    // The admin sees the same words, and only public parts, on the overview (once: the
    // settings page no longer repeats them).
    let overview = w.get("/beheer").await;
    assert!(overview.contains(&fp.words_line()), "{overview}");
    let settings = w.get("/beheer/instellingen").await;
    assert!(!settings.contains("key-fingerprint"), "{settings}");
}

#[tokio::test]
async fn every_admin_page_says_lang_nl_and_links_the_sections() {
    let w = world().await;
    for path in [
        "/beheer",
        "/beheer/gebruikers",
        "/beheer/telefoons",
        "/beheer/instellingen",
    ] {
        let page = w.app.send(get(path, Auth::Cookie(&w.admin))).await.text();
        assert!(page.contains("<html lang=\"nl\">"), "{path}");
        for section in ["/beheer/normen", "/beheer/gebiedsregels", "/beheer/wijken"] {
            assert!(
                page.contains(&format!("href=\"{section}\"")),
                "{path} links {section}"
            );
        }
    }
}

/// Issue 13: a round whose wijk the server no longer knows is stored and flagged for the
/// admin. The overview says how many such rounds the admin's own gemeente has (not
/// another's, not rounds in a known wijk) and what to do; without any, it says nothing.
#[tokio::test]
async fn the_overview_flags_rounds_whose_wijk_the_server_does_not_know_and_says_what_to_do() {
    use avondronde_shared::WijkId;
    use avondronde_shared::sync::{Outcome, Payload};

    let w = world().await;
    let before = w.app.send(get("/beheer", Auth::Cookie(&w.admin))).await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(
        !before.text().contains("id=\"onbekende-wijk\""),
        "no notice while every round has a known wijk"
    );

    let push = |code: String, batch: Vec<Payload>| {
        let app = &w.app;
        async move {
            let token = app.enrol(&code).await;
            let res = app
                .push_ok(&token, &push_request(jiff::Timestamp::now(), &batch))
                .await;
            for r in &res.receipts {
                assert!(matches!(r.outcome, Outcome::Accepted(_)), "{r:?}");
            }
        }
    };
    // Own gemeente: one round in a wijk that is gone (with one contact), one in its wijk.
    let gone = round(WijkId::new(), minutes_ago(60));
    let known = round(w.seed.wijk, minutes_ago(50));
    push(
        w.seed.enrolment_code.clone(),
        vec![
            Payload::Round(gone.clone()),
            Payload::Round(known.clone()),
            Payload::Contact(contact(gone.id, minutes_ago(40), w.seed.inside)),
            Payload::Contact(contact(known.id, minutes_ago(30), w.seed.inside)),
        ],
    )
    .await;
    // Another gemeente: two rounds in a wijk it does not know; not this admin's business.
    push(
        w.other.enrolment_code.clone(),
        vec![
            Payload::Round(round(WijkId::new(), minutes_ago(60))),
            Payload::Round(round(WijkId::new(), minutes_ago(55))),
        ],
    )
    .await;

    let page = w.app.send(get("/beheer", Auth::Cookie(&w.admin))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let text = page.text();
    let at = text
        .find("id=\"onbekende-wijk\"")
        .expect("the overview shows the notice");
    let notice = &text[at..at + text[at..].find("</div>").expect("notice ends")];
    assert!(
        notice.contains("1 ronde noemt een wijk die de server niet kent"),
        "counts only the own gemeente's round with an unknown wijk: {notice}"
    );
    assert!(notice.contains("(samen 1 contact)"), "{notice}");
    assert!(
        notice.contains("upload de wijken dan opnieuw met de code van die wijk"),
        "says what to do: {notice}"
    );
    assert!(notice.contains("href=\"/beheer/wijken\""), "{notice}");
}

/// Review rev3 #12: a disabled user can be enabled again on the page. They log in with
/// their own password as before (nothing about their login is reset), their phones stay
/// revoked, and it is audited.
#[tokio::test]
async fn a_disabled_user_is_enabled_again_and_logs_in_with_their_own_password() {
    let w = world().await;
    let token = w.app.device(&w.seed).await;
    let (name, password) = w.seed.login(Role::Straatcoach);
    w.post_then_follow(
        "/beheer/gebruikers/uitschakelen",
        &[("username", name), ("bevestigd", "1")],
        "/beheer/gebruikers",
    )
    .await;
    let list = w.get("/beheer/gebruikers").await;
    assert!(
        list.contains(&format!("aria-label=\"{name} inschakelen\"")),
        "a disabled user has an Inschakelen button: {list}"
    );
    let page = w
        .post_then_follow(
            "/beheer/gebruikers/inschakelen",
            &[("username", name)],
            "/beheer/gebruikers",
        )
        .await;
    assert!(page.contains("is weer ingeschakeld"), "{page}");
    assert!(page.contains("blijven ingetrokken"), "{page}");
    assert!(
        w.app
            .direct()
            .transaction(|tx| auth::login(tx, name, password))
            .expect("db")
            .is_some(),
        "their own password works again"
    );
    let pull = w
        .app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(&token),
            json_body(&serde_json::json!({})),
        ))
        .await;
    assert_eq!(
        pull.status,
        StatusCode::UNAUTHORIZED,
        "the phone stays revoked"
    );
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user_enable'"),
        1
    );
    // Enabling someone who is not disabled is refused and changes nothing.
    let again = w
        .post("/beheer/gebruikers/inschakelen", &[("username", name)])
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        again.text().contains("is niet uitgeschakeld"),
        "{}",
        again.text()
    );
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user_enable'"),
        1
    );
}

/// Review rev3 #12: a coordinator's wijken are changed on the page, through the same rule
/// as `admin assign-wijken`, and audited.
#[tokio::test]
async fn a_coordinators_wijken_are_changed_on_the_page_and_audited() {
    let w = world().await;
    let (name, _) = w.seed.login(Role::Coordinator);
    let list = w.get("/beheer/gebruikers").await;
    assert!(list.contains("Wijken wijzigen"), "{list}");
    let assigned = || {
        w.app.texts(&format!(
            "SELECT w.code FROM user_wijk uw JOIN wijk w ON w.id = uw.wijk_id
             JOIN \"user\" u ON u.id = uw.user_id WHERE u.username = '{name}' ORDER BY w.code"
        ))
    };
    let audited = || {
        w.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'wijk_assignment'")
    };
    let before = audited();
    let page = w
        .post_then_follow(
            "/beheer/gebruikers/wijken",
            &[("username", name), ("wijken", &w.second_wijk)],
            "/beheer/gebruikers",
        )
        .await;
    assert!(page.contains("ziet nu 1 wijk op de hotspotkaart"), "{page}");
    assert_eq!(assigned(), vec![w.second_wijk.clone()]);
    assert_eq!(audited(), before + 1);
    // The list names the wijk, not only its code.
    assert!(page.contains("Tweede wijk"), "{page}");
}

#[rstest]
#[case::no_wijk("coordinator", &[], "minstens één wijk")]
#[case::not_a_coordinator("straatcoach", &["first"], "Alleen een coördinator")]
#[case::wijk_of_another_gemeente("coordinator", &["foreign"], "hoort niet bij de gemeente")]
#[case::coordinator_of_another_gemeente("other", &["first"], "niet gevonden")]
#[tokio::test]
async fn a_bad_wijk_change_is_refused_in_dutch_and_nothing_changes(
    #[case] who: &str,
    #[case] wijken: &[&str],
    #[case] message: &str,
) {
    let w = world().await;
    let foreign = w.app.scalar_text(&format!(
        "SELECT code FROM wijk WHERE gemeente_id = '{}'",
        w.other.gemeente
    ));
    let first = w.first_wijk();
    let name = match who {
        "coordinator" => w.seed.login(Role::Coordinator).0,
        "straatcoach" => w.seed.login(Role::Straatcoach).0,
        _ => w.other.login(Role::Coordinator).0,
    };
    let mut fields = vec![("username", name)];
    for wijk in wijken {
        fields.push(("wijken", if *wijk == "foreign" { &foreign } else { &first }));
    }
    let snapshot = || {
        (
            w.app
                .texts("SELECT user_id || wijk_id FROM user_wijk ORDER BY 1"),
            w.app.scalar("SELECT COUNT(*) FROM audit_log"),
        )
    };
    let before = snapshot();
    let reply = w.post("/beheer/gebruikers/wijken", &fields).await;
    assert_eq!(reply.status, StatusCode::OK, "a refusal is no redirect");
    let page = reply.text();
    assert!(page.contains(message), "expected {message:?} in {page}");
    assert!(page.contains("Er is niets gewijzigd."));
    assert_eq!(snapshot(), before);
}

/// Review rev3 #12: every change on the users page answers with a redirect, and its
/// result (even a one-time code) is shown once, to the admin who made it: a reload does
/// not send the form again and does not show the code again.
#[tokio::test]
async fn a_result_is_shown_once_after_the_redirect_and_only_to_its_admin() {
    let w = world().await;
    let (name, _) = w.seed.login(Role::Meldpunt);
    let reply = w
        .post("/beheer/gebruikers/herstelcode", &[("username", name)])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let to = location(&reply);
    assert!(
        !reply.text().contains("reset-code"),
        "no code in the redirect"
    );
    // Another admin's session cannot take it.
    let (other_admin, password) = w.other.login(Role::Admin);
    let other = w.app.login(other_admin, password).await;
    let theirs = w.app.send(get(&to, Auth::Cookie(&other))).await.text();
    assert!(element_text(&theirs, "reset-code").is_none(), "{theirs}");
    let first = w.get(&to).await;
    assert!(element_text(&first, "reset-code").is_some(), "{first}");
    let reload = w.get(&to).await;
    assert!(
        element_text(&reload, "reset-code").is_none(),
        "shown once: {reload}"
    );
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'password_reset'"),
        1,
        "the reload sent nothing"
    );
}

/// Review rev3 #23: the phone policy is set on the settings page with the command line's
/// bounds, audited, and reaches the phones' configuration.
#[tokio::test]
async fn the_phone_policy_is_set_on_the_settings_page_and_audited() {
    let w = world().await;
    let page = w.get("/beheer/instellingen").await;
    assert!(page.contains("name=\"lock_after_minutes\""), "{page}");
    assert!(page.contains("name=\"contact_retention_days\""), "{page}");
    let g = w.seed.gemeente;
    let version = || {
        w.app
            .direct()
            .read(|tx| avondronde_server::state::config_version(tx, g))
            .expect("db")
    };
    let before = version();
    let page = w
        .post_then_follow(
            "/beheer/telefooninstellingen",
            &[
                ("lock_after_minutes", "2"),
                ("contact_retention_days", "14"),
            ],
            "/beheer/instellingen",
        )
        .await;
    assert!(
        page.contains("telefooninstellingen zijn opgeslagen"),
        "{page}"
    );
    let p = w
        .app
        .direct()
        .read(|tx| avondronde_server::phone_policy::get(tx, g))
        .expect("db");
    assert_eq!((p.lock_after_minutes, p.contact_retention_days), (2, 14));
    assert_ne!(version(), before, "the phones pull the new policy");
    assert!(
        page.contains("value=\"2\""),
        "the page shows the stored values: {page}"
    );
    let audit = w.get("/audit").await;
    assert!(audit.contains("telefooninstellingen gewijzigd"), "{audit}");
    let overview = w.get("/beheer").await;
    assert!(
        overview.contains("pincode na 2 minuten op de achtergrond en bewaren contacten 14 dagen"),
        "{overview}"
    );
}

#[rstest]
#[case::no_days("5", "0", "1 tot en met 365 dagen")]
#[case::too_many_days("5", "366", "1 tot en met 365 dagen")]
#[case::too_many_minutes("481", "30", "0 tot en met 480 minuten")]
#[case::not_a_number("vijf", "30", "vul een heel aantal minuten in")]
#[case::negative("5", "-1", "vul een heel aantal dagen in")]
#[tokio::test]
async fn a_bad_phone_policy_is_refused_in_dutch_and_nothing_changes(
    #[case] minutes: &str,
    #[case] days: &str,
    #[case] message: &str,
) {
    let w = world().await;
    let audit = || w.app.scalar("SELECT COUNT(*) FROM audit_log");
    let before = audit();
    let reply = w
        .post(
            "/beheer/telefooninstellingen",
            &[
                ("lock_after_minutes", minutes),
                ("contact_retention_days", days),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let page = reply.text();
    assert!(page.contains(message), "expected {message:?} in {page}");
    assert!(page.contains("Er is niets gewijzigd."));
    assert!(
        page.contains(&format!("value=\"{minutes}\"")),
        "what was typed is kept"
    );
    assert_eq!(audit(), before);
    let g = w.seed.gemeente;
    let p = w
        .app
        .direct()
        .read(|tx| avondronde_server::phone_policy::get(tx, g))
        .expect("db");
    assert_eq!(p, avondronde_shared::sync::PhonePolicy::default());
}

/// Review rev3 #13: the audit page speaks the pages' Dutch, names users and wijken instead
/// of ids, tells a map view from a real export, and the chain still verifies (the stored
/// rows are not changed).
#[tokio::test]
async fn the_audit_page_names_users_and_wijken_and_tells_map_views_from_exports() {
    let w = world().await;
    w.post_then_follow(
        "/beheer/gebruikers",
        &[
            ("username", "k.de.vries"),
            ("role", "coordinator"),
            ("wijken", &w.second_wijk),
        ],
        "/beheer/gebruikers",
    )
    .await;
    let (coach, _) = w.seed.login(Role::Straatcoach);
    w.post_then_follow(
        "/beheer/gebruikers/uitschakelen",
        &[("username", coach), ("bevestigd", "1")],
        "/beheer/gebruikers",
    )
    .await;
    let (coordinator, password) = w.seed.login(Role::Coordinator);
    let c = w.app.login(coordinator, password).await;
    let wijk = w.seed.wijk;
    for what in ["cells?", "export.csv?"] {
        let r = w
            .app
            .send(get(
                &format!("/api/v1/hotspot/wijken/{wijk}/{what}"),
                Auth::Cookie(&c),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.text());
    }
    let page = w.get("/audit").await;
    assert!(page.contains("Keten intact."), "{page}");
    assert!(page.contains("k.de.vries als coördinator"), "{page}");
    assert!(page.contains("gebruiker uitgeschakeld"), "{page}");
    assert!(
        page.contains(&format!(
            "{coach}: 0 sessies beëindigd, 0 telefoons ingetrokken"
        )),
        "{page}"
    );
    assert!(page.contains("kaart bekeken"), "{page}");
    assert!(page.contains("export (CSV)"), "{page}");
    assert!(
        !page.contains("toestellen"),
        "the pages say telefoons: {page}"
    );
    let wijk_name = w
        .app
        .scalar_text(&format!("SELECT name FROM wijk WHERE id = '{wijk}'"));
    assert!(page.contains(&format!("wijk {wijk_name}")), "{page}");
    for id in w
        .app
        .texts("SELECT id FROM \"user\" WHERE username IN ('k.de.vries')")
        .into_iter()
        .chain([wijk.to_string()])
    {
        assert!(!page.contains(&id), "no id {id} where a name is known");
    }
    // The stored rows keep their codes (the chain covers them); the API gives them as is.
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'export'"),
        2
    );
}

/// Review rev3 #16: two phones of one person can be told apart (enrolment date and the end
/// of their number), the clock column explains itself, the enrolment panel names the
/// app's real button, and a one-time code comes with the full address to pass on.
#[tokio::test]
async fn the_phones_page_tells_phones_apart_and_the_instructions_match_the_app() {
    let w = world().await;
    w.app.device(&w.seed).await;
    w.app.device(&w.seed).await;
    w.app.execute("UPDATE device SET clock_offset_ms = 1000");
    let page = w.get("/beheer/telefoons").await;
    assert!(page.contains("Aangemeld op"), "{page}");
    let today = jiff::Zoned::now()
        .with_time_zone(avondronde_shared::time::amsterdam())
        .strftime("%d-%m-%Y")
        .to_string();
    assert!(
        page.matches(&today).count() >= 2,
        "each phone shows its enrolment date: {page}"
    );
    for id in w.app.texts("SELECT id FROM device") {
        let tail = &id[id.len() - 4..];
        assert!(page.contains(&format!("nr. …{tail}")), "{page}");
    }
    assert!(
        page.contains("title=\"De klok van de telefoon vergeleken met die van de server"),
        "the clock badge has a tooltip: {page}"
    );
    // The button the admin is told to tap is the one the app's enrol screen has.
    let app_screen = include_str!("../../app/src/ui/enrol.rs");
    assert!(
        app_screen.contains("label: \"Scan QR-code\""),
        "the app's button changed"
    );
    let (boa, _) = w.seed.login(Role::Boa);
    let code = w.post("/beheer/code", &[("username", boa)]).await.text();
    assert!(code.contains("<strong>Scan QR-code</strong>"), "{code}");
    // The reset code's notice names the page by its full address.
    let (mp, _) = w.seed.login(Role::Meldpunt);
    let reset = w
        .post_then_follow(
            "/beheer/gebruikers/herstelcode",
            &[("username", mp)],
            "/beheer/gebruikers",
        )
        .await;
    assert!(reset.contains("http://"), "a full address: {reset}");
    assert!(reset.contains("/wachtwoord</a>"), "{reset}");
}

/// The new forms are protected like every other admin form: a cross-site post, even with
/// the admin's cookie, is refused and changes nothing.
#[rstest]
#[case::enable("/beheer/gebruikers/inschakelen", "username=straatcoach-0")]
#[case::wijken("/beheer/gebruikers/wijken", "username=coordinator-0&wijken=WK900099")]
#[case::phones(
    "/beheer/telefooninstellingen",
    "lock_after_minutes=1&contact_retention_days=2"
)]
#[tokio::test]
async fn a_cross_site_post_to_a_new_admin_form_is_refused(#[case] path: &str, #[case] body: &str) {
    let w = world().await;
    w.app
        .execute("UPDATE \"user\" SET disabled_at = 1 WHERE username = 'straatcoach-0'");
    let audit = || w.app.scalar("SELECT COUNT(*) FROM audit_log");
    let before = audit();
    let mut req = post(
        path,
        Auth::Cookie(&w.admin),
        (
            Some("application/x-www-form-urlencoded"),
            body.as_bytes().to_vec(),
        ),
    );
    req.headers_mut().insert(
        axum::http::header::ORIGIN,
        "https://evil.example".parse().expect("origin"),
    );
    assert_eq!(w.app.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(audit(), before, "nothing changed");
}
