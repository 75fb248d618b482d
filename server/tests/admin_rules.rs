//! Issue 12 (part B), through `Router::oneshot`: the admin changes the buitenspeelnormen,
//! area rules and wijken in the web pages, each change is audited and reaches a phone with
//! its next pull, and every bad input (a norm time of 25:00, a rule valid for a year, a
//! GeoJSON that is not polygons, invalid or empty) gets a Dutch error and changes nothing:
//! not the rows, not the config version, not the audit log.

mod common;

use avondronde_server::setup;
use avondronde_shared::Role;
use avondronde_shared::sync::PullResponse;
use axum::http::StatusCode;
use common::*;

struct World {
    app: TestApp,
    seed: Seed,
    admin: String,
    device: String,
}

async fn world() -> World {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Admin);
    let admin = app.session_cookie(u, p);
    let device = app.device(&seed).await;
    World {
        app,
        seed,
        admin,
        device,
    }
}

impl World {
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let reply = self
            .app
            .send(post(path, Auth::Cookie(&self.admin), form(fields)))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        reply
    }

    async fn pull(&self, version: Option<u64>) -> PullResponse {
        let reply = self
            .app
            .send(post(
                "/api/v1/sync/pull",
                Auth::Bearer(&self.device),
                json_body(&serde_json::json!({ "protocol": 1, "config_version": version })),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()
    }

    fn config_version(&self) -> i64 {
        self.app.scalar(&format!(
            "SELECT config_version FROM gemeente WHERE id = '{}'",
            self.seed.gemeente
        ))
    }

    fn audit(&self, action: &str) -> i64 {
        self.app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
        ))
    }

    fn norms_json(&self) -> String {
        self.app.scalar_text(&format!(
            "SELECT norms FROM gemeente WHERE id = '{}'",
            self.seed.gemeente
        ))
    }

    /// Everything a failed change must leave alone.
    fn snapshot(&self) -> (String, i64, i64, i64, i64) {
        (
            self.norms_json(),
            self.config_version(),
            self.app.scalar("SELECT COUNT(*) FROM area_rule"),
            self.app.scalar("SELECT COUNT(*) FROM wijk"),
            self.app.scalar("SELECT COUNT(*) FROM audit_log"),
        )
    }

    /// A square of about 400 m around the seed's point inside the wijk, as `[[lon, lat], …]`.
    fn square(&self) -> String {
        let (lat, lon) = self.seed.inside;
        let d = 0.002;
        serde_json::json!([
            [lon - d, lat - d],
            [lon + d, lat - d],
            [lon + d, lat + d],
            [lon - d, lat + d]
        ])
        .to_string()
    }
}

fn norms_form<'a>(age6_9: &'a str, actie: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("under6", "20:00"),
        ("age6_9", age6_9),
        ("age10_13", "22:00"),
        ("night_end", "06:00"),
        ("om", "21:30"),
        ("actie", actie),
    ]
}

fn today_plus(months: i64, days: i64) -> String {
    let d = jiff::Zoned::now()
        .date()
        .checked_add(jiff::Span::new().months(months))
        .and_then(|d| d.checked_add(jiff::Span::new().days(days)))
        .expect("date");
    avondronde_server::admin_rules::date_nl(d)
}

// ---- norms -------------------------------------------------------------------------------

#[tokio::test]
async fn a_norm_saved_in_the_web_is_audited_and_reaches_the_phone_with_the_next_pull() {
    let w = world().await;
    let first = w
        .pull(None)
        .await
        .config
        .expect("first pull carries the config");
    assert_eq!(
        first.norms.age6_9.map(|t| t.to_string()),
        Some("21:00:00".into())
    );

    let page = w
        .post("/beheer/normen", &norms_form("20:30", "opslaan"))
        .await
        .text();
    assert!(page.contains("De normen zijn opgeslagen"), "{page}");
    assert_eq!(w.audit("norms"), 1);

    let next = w
        .pull(Some(first.version))
        .await
        .config
        .expect("a changed config is sent again");
    assert!(next.version > first.version);
    assert_eq!(
        next.norms.age6_9.map(|t| t.to_string()),
        Some("20:30:00".into())
    );
}

#[tokio::test]
async fn a_norm_time_of_25_00_gets_a_dutch_error_and_changes_nothing() {
    let w = world().await;
    let before = w.snapshot();
    let page = w
        .post("/beheer/normen", &norms_form("25:00", "opslaan"))
        .await
        .text();
    assert!(page.contains("„25:00” is geen geldige tijd"), "{page}");
    assert!(page.contains("role=\"alert\""), "{page}");
    assert_eq!(w.snapshot(), before);
}

#[tokio::test]
async fn norms_that_break_the_engine_rules_are_refused_with_its_dutch_message() {
    let w = world().await;
    let before = w.snapshot();
    // 6–9 later than 10–13: the shared engine's validation refuses it.
    let page = w
        .post("/beheer/normen", &norms_form("23:00", "opslaan"))
        .await
        .text();
    assert!(
        page.contains("jongere kinderen horen eerder binnen te zijn"),
        "{page}"
    );
    assert_eq!(w.snapshot(), before);
}

#[tokio::test]
async fn the_norm_preview_shows_the_engines_verdict_and_saves_nothing() {
    let w = world().await;
    let before = w.snapshot();
    let page = w
        .post("/beheer/normen", &norms_form("21:00", "voorbeeld"))
        .await
        .text();
    // One child 6–9 at 21:30 against 21:00: thirty minutes past, as the app says it.
    assert!(page.contains("30 min"), "{page}");
    assert!(page.contains("verdict alert"), "{page}");
    assert_eq!(w.snapshot(), before);
}

// ---- area rules --------------------------------------------------------------------------

fn rule_form<'a>(
    gebied: &'a str,
    van: &'a str,
    tot: &'a str,
    actie: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("naam", "Burgemeestersbevel Testwijk"),
        ("begin", "20:00"),
        ("eind", "06:00"),
        ("van", van),
        ("tot", tot),
        ("b05", "on"),
        ("b69", "on"),
        ("b1011", "on"),
        ("effect", "presence_banned"),
        ("gebied", gebied),
        ("actie", actie),
    ]
}

#[tokio::test]
async fn an_area_rule_drawn_in_the_web_is_audited_pulled_by_the_phone_and_can_be_ended() {
    let w = world().await;
    let first = w.pull(None).await.config.expect("config");
    assert!(first.area_rules.is_empty());
    let square = w.square();
    let (van, tot) = (today_plus(0, 0), today_plus(1, 0));
    let page = w
        .post(
            "/beheer/gebiedsregels",
            &rule_form(&square, &van, &tot, "opslaan"),
        )
        .await
        .text();
    assert!(page.contains("is opgeslagen"), "{page}");
    assert_eq!(w.audit("area_rule"), 1);

    let next = w
        .pull(Some(first.version))
        .await
        .config
        .expect("changed config");
    assert_eq!(next.area_rules.len(), 1);
    let rule = &next.area_rules[0];
    let (lat, lon) = w.seed.inside;
    assert!(rule.covers(geo::Point::new(lon, lat)));
    assert_eq!(rule.name, "Burgemeestersbevel Testwijk");

    let id = rule.id.to_string();
    let page = w
        .post("/beheer/gebiedsregels/beeindigen", &[("regel", &id)])
        .await
        .text();
    assert!(page.contains("De regel is beëindigd"), "{page}");
    assert_eq!(w.audit("area_rule"), 2);
    let after = w
        .pull(Some(next.version))
        .await
        .config
        .expect("changed again");
    assert!(after.area_rules.is_empty());
}

#[tokio::test]
async fn an_area_rule_valid_for_a_year_is_refused_under_art_172b_and_nothing_is_stored() {
    let w = world().await;
    let before = w.snapshot();
    let square = w.square();
    let (van, tot) = (today_plus(0, 0), today_plus(12, 0));
    let page = w
        .post(
            "/beheer/gebiedsregels",
            &rule_form(&square, &van, &tot, "opslaan"),
        )
        .await
        .text();
    assert!(page.contains("ten hoogste drie maanden"), "{page}");
    assert!(page.contains("art. 172b Gemeentewet"), "{page}");
    assert_eq!(w.snapshot(), before);
}

#[tokio::test]
async fn an_area_rule_of_exactly_three_months_is_allowed_with_a_warning_and_one_day_more_is_not() {
    let w = world().await;
    let square = w.square();
    let van = today_plus(0, 0);
    let before = w.snapshot();
    let page = w
        .post(
            "/beheer/gebiedsregels",
            &rule_form(&square, &van, &today_plus(3, 0), "opslaan"),
        )
        .await
        .text();
    assert!(page.contains("ten hoogste drie maanden"), "{page}");
    assert_eq!(w.snapshot(), before);
    let page = w
        .post(
            "/beheer/gebiedsregels",
            &rule_form(&square, &van, &today_plus(3, -1), "opslaan"),
        )
        .await
        .text();
    assert!(page.contains("is opgeslagen"), "{page}");
    assert!(page.contains("nadert de grens van drie maanden"), "{page}");
}

#[tokio::test]
async fn bad_area_rule_input_gets_dutch_errors_and_changes_nothing() {
    let w = world().await;
    let before = w.snapshot();
    let square = w.square();
    let van = today_plus(0, 0);
    let tot = today_plus(1, 0);
    for (fields, expect) in [
        (rule_form("", &van, &tot, "opslaan"), "minstens drie"),
        (
            rule_form("[[4.4,51.9]]", &van, &tot, "opslaan"),
            "minstens drie",
        ),
        (rule_form("geen json", &van, &tot, "opslaan"), "onleesbaar"),
        (
            rule_form(&square, "2026-12-01", &tot, "opslaan"),
            "dd-mm-jjjj",
        ),
        (
            rule_form(&square, &tot, &van, "opslaan"),
            "vóór de begindatum",
        ),
    ] {
        let page = w.post("/beheer/gebiedsregels", &fields).await.text();
        assert!(page.contains(expect), "{expect}: {page}");
    }
    let mut no_bands = rule_form(&square, &van, &tot, "opslaan");
    no_bands.retain(|(k, _)| !k.starts_with('b'));
    let page = w.post("/beheer/gebiedsregels", &no_bands).await.text();
    assert!(page.contains("role=\"alert\""), "{page}");
    assert_eq!(w.snapshot(), before);
}

#[tokio::test]
async fn the_area_rule_preview_lists_the_hangplekken_inside_and_stores_nothing() {
    let w = world().await;
    let (lat, lon) = w.seed.inside;
    for (name, lat) in [("Speeltuin Binnen", lat), ("Pleintje Buiten", lat + 0.01)] {
        w.app
            .direct()
            .transaction(|tx| Ok(setup::add_place(tx, w.seed.wijk, name, lat, lon)))
            .expect("db")
            .expect("place");
    }
    let before = w.snapshot();
    let square = w.square();
    let page = w
        .post(
            "/beheer/gebiedsregels",
            &rule_form(&square, &today_plus(0, 0), &today_plus(1, 0), "voorbeeld"),
        )
        .await
        .text();
    let list = page
        .split("Hangplekken in dit gebied")
        .nth(1)
        .expect("the preview lists hangplekken");
    let list = list.split("</ul>").next().unwrap_or_default();
    assert!(list.contains("Speeltuin Binnen"), "{list}");
    assert!(!list.contains("Pleintje Buiten"), "{list}");
    assert_eq!(w.snapshot(), before);
}

#[tokio::test]
async fn an_admin_cannot_end_another_gemeentes_rule() {
    let w = world().await;
    let other = w.app.seed(true);
    let (u, p) = other.login(Role::Admin);
    let other_admin = w.app.session_cookie(u, p);
    let square = w.square();
    w.post(
        "/beheer/gebiedsregels",
        &rule_form(&square, &today_plus(0, 0), &today_plus(1, 0), "opslaan"),
    )
    .await;
    let id = w.app.scalar_text("SELECT id FROM area_rule");
    let before = w.snapshot();
    let reply = w
        .app
        .send(post(
            "/beheer/gebiedsregels/beeindigen",
            Auth::Cookie(&other_admin),
            form(&[("regel", &id)]),
        ))
        .await;
    assert!(reply.text().contains("Onbekende regel"), "{}", reply.text());
    assert_eq!(w.snapshot(), before);
}

// ---- correcting an area rule ("Wijzigen", review finding 18) ------------------------------

/// The first date a correction of a 20:00–06:00 rule changes, as the server works it out
/// (yesterday while last night's window is still open, else today).
fn takes_effect() -> jiff::civil::Date {
    let window = avondronde_shared::norms::DailyWindow {
        start: jiff::civil::time(20, 0, 0, 0),
        end: jiff::civil::time(6, 0, 0, 0),
    };
    avondronde_server::admin_rules::change_takes_effect(&window, jiff::Timestamp::now())
}

impl World {
    async fn get(&self, path: &str) -> String {
        let reply = self.app.send(get(path, Auth::Cookie(&self.admin))).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        reply.text()
    }

    /// The same square as [`World::square`], moved about 1.4 km east: clear of the seed's
    /// point.
    fn square_east(&self) -> String {
        let (lat, lon) = self.seed.inside;
        let (d, east) = (0.002, 0.02);
        serde_json::json!([
            [lon + east - d, lat - d],
            [lon + east + d, lat - d],
            [lon + east + d, lat + d],
            [lon + east - d, lat + d]
        ])
        .to_string()
    }

    /// Saves a rule through the page and returns its id.
    async fn saved_rule(&self, van: &str, tot: &str) -> String {
        let square = self.square();
        let page = self
            .post(
                "/beheer/gebiedsregels",
                &rule_form(&square, van, tot, "opslaan"),
            )
            .await
            .text();
        assert!(page.contains("is opgeslagen"), "{page}");
        self.app.scalar_text("SELECT id FROM area_rule")
    }
}

fn edit_form<'a>(
    regel: &'a str,
    gebied: &'a str,
    van: &'a str,
    tot: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut f = rule_form(gebied, van, tot, "opslaan");
    f.push(("regel", regel));
    f
}

fn at_evening(date: jiff::civil::Date) -> jiff::Timestamp {
    date.at(22, 0, 0, 0)
        .to_zoned(avondronde_shared::time::amsterdam())
        .expect("22:00 exists")
        .timestamp()
}

/// The area rule a phone holding `config` applies to two children of 6–9 at `(lat, lon)`
/// at 22:00 on `date`, by its id, if any.
fn rule_applied(
    config: &avondronde_shared::sync::DeviceConfig,
    date: jiff::civil::Date,
    (lat, lon): (f64, f64),
) -> Option<String> {
    use avondronde_shared::norms::{Encounter, Verdict, evaluate};
    let group =
        avondronde_shared::GroupCounts::default().with(avondronde_shared::AgeBand::Age6To9, 2);
    evaluate(
        &config.norms,
        &config.area_rules,
        &Encounter {
            at: at_evening(date),
            point: Some(geo::Point::new(lon, lat)),
            group,
            supervised: false,
        },
    )
    .bands
    .iter()
    .find_map(|b| match &b.verdict {
        Verdict::AreaRule { rule, .. } => Some(rule.to_string()),
        _ => None,
    })
}

#[tokio::test]
async fn a_rule_in_force_corrected_in_the_web_reaches_a_syncing_phone_as_a_new_version_and_past_evenings_keep_the_old_one()
 {
    let w = world().await;
    let (van, tot) = (today_plus(0, -10), today_plus(1, 0));
    let id = w.saved_rule(&van, &tot).await;
    let before = w.pull(None).await.config.expect("config");
    assert_eq!(before.area_rules.len(), 1);

    // The edit page opens the stored rule in the form, with its polygon for the map.
    let page = w
        .get(&format!("/beheer/gebiedsregels/wijzigen?regel={id}"))
        .await;
    assert!(page.contains("Regel wijzigen"), "{page}");
    assert!(
        page.contains("value=\"Burgemeestersbevel Testwijk\""),
        "{page}"
    );
    assert!(page.contains(&format!("value=\"{van}\"")), "{page}");
    let (lat, lon) = w.seed.inside;
    let corner = format!("[{},{}]", lon - 0.002, lat - 0.002);
    assert!(page.contains(&corner), "the polygon is in the form: {page}");
    assert!(page.contains("Deze regel geldt al sinds"), "{page}");

    // The admin moves the area and the end date.
    let moved = w.square_east();
    let new_tot = today_plus(2, 0);
    let page = w
        .post(
            "/beheer/gebiedsregels",
            &edit_form(&id, &moved, &van, &new_tot),
        )
        .await
        .text();
    assert!(page.contains("is gewijzigd"), "{page}");
    assert!(page.contains("De nieuwe versie geldt vanaf"), "{page}");
    assert_eq!(w.audit("area_rule"), 2);

    // A phone that syncs after the edit gets both versions: the old one, ended the day
    // before the correction takes effect, and the new one from that day.
    let after = w
        .pull(Some(before.version))
        .await
        .config
        .expect("the edit bumps the config version");
    assert!(after.version > before.version);
    assert_eq!(after.area_rules.len(), 2, "{:?}", after.area_rules);
    let effective = takes_effect();
    let old = after
        .area_rules
        .iter()
        .find(|r| r.id.to_string() == id)
        .expect("the old version stays");
    let new = after
        .area_rules
        .iter()
        .find(|r| r.id.to_string() != id)
        .expect("a new version");
    assert_eq!(old.area, before.area_rules[0].area, "the old area is kept");
    assert_eq!(Some(old.valid_until), effective.yesterday().ok());
    assert_eq!(new.valid_from, effective);
    assert_eq!(
        avondronde_server::admin_rules::date_nl(new.valid_until),
        new_tot
    );
    assert_eq!(new.name, old.name);

    // Judged on the phone: a contact at the old spot two evenings ago still falls under the
    // old version; on the first evening of the new version only the moved area counts.
    let earlier = effective
        .checked_sub(jiff::Span::new().days(2))
        .expect("date");
    assert_eq!(rule_applied(&after, earlier, (lat, lon)), Some(id.clone()));
    assert_eq!(rule_applied(&after, effective, (lat, lon)), None);
    assert_eq!(
        rule_applied(&after, effective, (lat, lon + 0.02)),
        Some(new.id.to_string())
    );

    // The audit page names the rule, not its id.
    let audit = w.get("/audit").await;
    assert!(
        audit.contains("gewijzigd: “Burgemeestersbevel Testwijk”"),
        "{audit}"
    );
    assert!(audit.contains("gebied, einddatum"), "{audit}");
}

#[tokio::test]
async fn a_rule_that_has_not_started_is_corrected_in_place() {
    let w = world().await;
    let id = w.saved_rule(&today_plus(0, 7), &today_plus(1, 0)).await;
    let before = w.pull(None).await.config.expect("config");
    let moved = w.square_east();
    let mut fields = edit_form(&id, &moved, "", "");
    let (van, tot) = (today_plus(0, 8), today_plus(1, 7));
    for (k, v) in fields.iter_mut() {
        match *k {
            "van" => *v = &van,
            "tot" => *v = &tot,
            "naam" => *v = "Burgemeestersbevel Testwijk-Oost",
            _ => {}
        }
    }
    let page = w.post("/beheer/gebiedsregels", &fields).await.text();
    assert!(page.contains("is gewijzigd"), "{page}");
    let after = w.pull(Some(before.version)).await.config.expect("config");
    assert_eq!(after.area_rules.len(), 1);
    let r = &after.area_rules[0];
    assert_eq!(r.id.to_string(), id, "no version: it never applied");
    assert_eq!(r.name, "Burgemeestersbevel Testwijk-Oost");
    assert_eq!(avondronde_server::admin_rules::date_nl(r.valid_from), van);
    assert_eq!(avondronde_server::admin_rules::date_nl(r.valid_until), tot);
    assert!(page.contains("Burgemeestersbevel Testwijk-Oost"), "{page}");
}

#[tokio::test]
async fn a_bad_correction_keeps_what_the_admin_typed_says_in_dutch_what_to_fix_and_changes_nothing()
{
    let w = world().await;
    let van = today_plus(0, -10);
    let id = w.saved_rule(&van, &today_plus(1, 0)).await;
    let before = w.snapshot();
    let moved = w.square_east();
    let year = today_plus(12, 0);
    let retro = today_plus(0, -20);
    let tot = today_plus(1, 0);
    for (fields, expect) in [
        (
            edit_form(&id, &moved, &van, &year),
            "ten hoogste drie maanden",
        ),
        (edit_form(&id, &moved, &retro, &tot), "terugwerkende kracht"),
        (
            edit_form(&id, &moved, &van, &today_plus(0, -3)),
            "is al voorbij",
        ),
        (edit_form(&id, "[[4.4,51.9]]", &van, &tot), "minstens drie"),
        (edit_form(&id, &moved, &van, "31-02-2026"), "dd-mm-jjjj"),
    ] {
        let page = w.post("/beheer/gebiedsregels", &fields).await.text();
        assert!(page.contains(expect), "{expect}: {page}");
        assert!(page.contains("role=\"alert\""), "{page}");
        // Still correcting the same rule, with what was typed.
        assert!(page.contains("Regel wijzigen"), "{expect}: {page}");
        assert!(
            page.contains(&format!("name=\"regel\" value=\"{id}\"")),
            "{page}"
        );
        let typed_tot = fields.iter().find(|(k, _)| *k == "tot").expect("tot").1;
        assert!(page.contains(&format!("value=\"{typed_tot}\"")), "{page}");
    }
    assert_eq!(w.snapshot(), before);
}

#[tokio::test]
async fn an_expired_rule_cannot_be_corrected_or_ended_from_the_page() {
    let w = world().await;
    let id = w.saved_rule(&today_plus(0, -30), &today_plus(0, -5)).await;
    let list = w.get("/beheer/gebiedsregels").await;
    assert!(
        !list.contains("/beheer/gebiedsregels/wijzigen?regel="),
        "{list}"
    );
    // Nor can it be removed from the page: phones judge its evenings by it.
    assert!(!list.contains("/beheer/gebiedsregels/beeindigen"), "{list}");
    let before = w.snapshot();
    let square = w.square();
    let page = w
        .post(
            "/beheer/gebiedsregels",
            &edit_form(&id, &square, &today_plus(0, -30), &today_plus(1, 0)),
        )
        .await
        .text();
    assert!(page.contains("is verlopen"), "{page}");
    // A hand-made request to end it is refused the same way.
    let page = w
        .post("/beheer/gebiedsregels/beeindigen", &[("regel", &id)])
        .await
        .text();
    assert!(page.contains("is al verlopen"), "{page}");
    assert_eq!(w.snapshot(), before);
}

#[tokio::test]
async fn ending_a_rule_in_force_keeps_it_for_the_evenings_it_covered_and_stops_it_from_the_evening_in_progress()
 {
    let w = world().await;
    let id = w.saved_rule(&today_plus(0, -10), &today_plus(1, 0)).await;
    let before = w.pull(None).await.config.expect("config");
    let page = w
        .post("/beheer/gebiedsregels/beeindigen", &[("regel", &id)])
        .await
        .text();
    let effective = takes_effect();
    let last = effective.yesterday().expect("date");
    assert!(
        page.contains(&format!(
            "hij gold tot en met {}",
            avondronde_server::admin_rules::date_nl(last)
        )),
        "{page}"
    );
    assert_eq!(w.audit("area_rule"), 2);

    // The phone's next pull still holds the rule, now ending the day before.
    let after = w
        .pull(Some(before.version))
        .await
        .config
        .expect("ending bumps the config version");
    assert_eq!(after.area_rules.len(), 1, "{:?}", after.area_rules);
    let ended = &after.area_rules[0];
    assert_eq!(ended.id.to_string(), id);
    assert_eq!(ended.valid_until, last);
    assert_eq!(ended.area, before.area_rules[0].area);

    // A contact queued on a phone from two evenings ago is still judged by it; one on the
    // evening in progress is not.
    let earlier = effective
        .checked_sub(jiff::Span::new().days(2))
        .expect("date");
    assert_eq!(
        rule_applied(&after, earlier, w.seed.inside),
        Some(id.clone())
    );
    assert_eq!(rule_applied(&after, effective, w.seed.inside), None);

    // Its evenings are over now: it cannot be ended twice, and the list no longer offers it.
    let again = w.snapshot();
    let page = w
        .post("/beheer/gebiedsregels/beeindigen", &[("regel", &id)])
        .await
        .text();
    assert!(page.contains("is al verlopen"), "{page}");
    assert_eq!(w.snapshot(), again);
    let list = w.get("/beheer/gebiedsregels").await;
    assert!(!list.contains("/beheer/gebiedsregels/beeindigen"), "{list}");
}

#[tokio::test]
async fn an_admin_cannot_open_or_correct_another_gemeentes_rule() {
    let w = world().await;
    let other = w.app.seed(true);
    let (u, p) = other.login(Role::Admin);
    let other_admin = w.app.session_cookie(u, p);
    let id = w.saved_rule(&today_plus(0, 0), &today_plus(1, 0)).await;
    let before = w.snapshot();
    let page = w
        .app
        .send(get(
            &format!("/beheer/gebiedsregels/wijzigen?regel={id}"),
            Auth::Cookie(&other_admin),
        ))
        .await
        .text();
    assert!(page.contains("Onbekende regel"), "{page}");
    assert!(!page.contains("Burgemeestersbevel Testwijk"), "{page}");
    let moved = w.square_east();
    let (van, tot) = (today_plus(0, 0), today_plus(1, 0));
    let reply = w
        .app
        .send(post(
            "/beheer/gebiedsregels",
            Auth::Cookie(&other_admin),
            form(&edit_form(&id, &moved, &van, &tot)),
        ))
        .await;
    assert!(reply.text().contains("Onbekende regel"), "{}", reply.text());
    assert_eq!(w.snapshot(), before);
}

// ---- wijken ------------------------------------------------------------------------------

fn cbs_file(features: &[(&str, &str, &str)]) -> String {
    let features: Vec<serde_json::Value> = features
        .iter()
        .map(|(code, name, geometry)| {
            serde_json::json!({
                "type": "Feature",
                "properties": { "WK_CODE": code, "WK_NAAM": name, "GM_CODE": "GM9000" },
                "geometry": serde_json::from_str::<serde_json::Value>(geometry).expect("geometry"),
            })
        })
        .collect();
    serde_json::json!({ "type": "FeatureCollection", "features": features }).to_string()
}

const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[4.50,51.95],[4.52,51.95],[4.52,51.97],[4.50,51.97],[4.50,51.95]]]}"#;

#[tokio::test]
async fn a_cbs_wijk_file_is_previewed_first_then_stored_on_confirm_and_pulled() {
    let w = world().await;
    let first = w.pull(None).await.config.expect("config");
    let file = cbs_file(&[("WK999977", "Nieuwe Wijk", SQUARE)]);
    let before = w.snapshot();
    let page = w.post("/beheer/wijken", &[("geojson", &file)]).await.text();
    assert!(page.contains("Controleer de wijken"), "{page}");
    assert!(page.contains("Nieuwe Wijk"), "{page}");
    assert_eq!(w.snapshot(), before, "the preview stores nothing");

    let page = w
        .post("/beheer/wijken/bevestigen", &[("geojson", &file)])
        .await
        .text();
    assert!(page.contains("1 toegevoegd, 0 bijgewerkt"), "{page}");
    assert_eq!(w.audit("wijken"), 1);
    let next = w
        .pull(Some(first.version))
        .await
        .config
        .expect("changed config");
    assert!(
        next.wijken
            .iter()
            .any(|x| x.code == "WK999977" && x.name == "Nieuwe Wijk")
    );

    // The same file again updates instead of duplicating.
    let renamed = cbs_file(&[("WK999977", "Andere Naam", SQUARE)]);
    let page = w
        .post("/beheer/wijken/bevestigen", &[("geojson", &renamed)])
        .await
        .text();
    assert!(page.contains("0 toegevoegd, 1 bijgewerkt"), "{page}");
    assert_eq!(
        w.app
            .scalar("SELECT COUNT(*) FROM wijk WHERE code = 'WK999977'"),
        1
    );
}

#[tokio::test]
async fn bad_wijk_files_get_dutch_errors_and_change_nothing() {
    let w = world().await;
    let before = w.snapshot();
    let point = r#"{"type":"Point","coordinates":[4.5,51.95]}"#;
    let line = r#"{"type":"LineString","coordinates":[[4.5,51.95],[4.6,51.96]]}"#;
    let rd = r#"{"type":"Polygon","coordinates":[[[920000,437000],[930000,437000],[930000,438000],[920000,437000]]]}"#;
    let cases: Vec<(String, &str)> = vec![
        (cbs_file(&[("WK999977", "Punt", point)]), "geen vlak"),
        (
            cbs_file(&[("WK999977", "Goed", SQUARE), ("WK999978", "Lijn", line)]),
            "geen vlak",
        ),
        (cbs_file(&[("WK999977", "RD", rd)]), "WGS84"),
        ("{ dit is geen json".into(), "geen geldig GeoJSON"),
        (String::new(), "leeg"),
        (
            r#"{"type":"FeatureCollection","features":[]}"#.into(),
            "geen wijken",
        ),
        (
            cbs_file(&[("BU12345678", "Buurt", SQUARE)]),
            "geen CBS-wijkcode",
        ),
    ];
    for (file, expect) in &cases {
        for path in ["/beheer/wijken", "/beheer/wijken/bevestigen"] {
            let page = w.post(path, &[("geojson", file)]).await.text();
            assert!(page.contains(expect), "{path} {expect}: {page}");
            assert!(page.contains("role=\"alert\""), "{page}");
        }
    }
    assert_eq!(w.snapshot(), before);
}

#[tokio::test]
async fn a_wijk_file_with_another_gemeentes_code_is_refused_whole() {
    let w = world().await;
    let other = w.app.seed(false);
    let taken = w.app.scalar_text(&format!(
        "SELECT code FROM wijk WHERE gemeente_id = '{}'",
        other.gemeente
    ));
    let before = w.snapshot();
    // The first feature is fine; the second belongs to another gemeente. Nothing is stored.
    let file = cbs_file(&[("WK999977", "Nieuw", SQUARE), (&taken, "Gekaapt", SQUARE)]);
    let page = w
        .post("/beheer/wijken/bevestigen", &[("geojson", &file)])
        .await
        .text();
    assert!(page.contains("hoort bij een andere gemeente"), "{page}");
    assert_eq!(w.snapshot(), before);
}
