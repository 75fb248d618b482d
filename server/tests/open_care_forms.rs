//! Issue 9, the policy for care forms that stay open: the inbox warns about a form that has
//! not changed for months and says when it goes; the meldpunt can hold it on purpose
//! (audited), and then the retention job keeps it; a form not held is deleted with an
//! audit entry of its own.

mod common;

use avondronde_shared::{CareFormId, Role};
use axum::http::StatusCode;
use common::*;
use jiff::{Timestamp, ToSpan};

fn old_open_form(app: &TestApp, seed: &Seed, months_ago: i64) -> CareFormId {
    let id = CareFormId::new();
    let updated = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_sub(months_ago.months())
        .expect("date")
        .timestamp()
        .as_millisecond();
    // A sealed form as ingest stores it; only its age matters here.
    let blob = if app.is_postgres() {
        "'\\x00'::bytea"
    } else {
        "x'00'"
    };
    app.execute(&format!(
        "INSERT INTO care_form (id, seq, device_id, user_id, gemeente_id, contact_id,
           reporter_role, age_band, created_at, received_at, recipient_key, sealed, status,
           updated_at, feedback_seq)
         VALUES ('{id}', 1, 'd', 'u', '{}', 'c', 'boa', '6-9', 0, {updated}, 'k', {blob},
           'received', {updated}, 1)",
        seed.gemeente
    ));
    id
}

#[tokio::test]
async fn an_old_open_form_is_warned_about_and_kept_only_when_held_on_purpose() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (user, password) = seed.login(Role::Meldpunt);
    let cookie = app.login(user, password).await;
    let held = old_open_form(&app, &seed, 13);
    let dropped = old_open_form(&app, &seed, 14);

    let page = app.send(get("/meldpunt", Auth::Cookie(&cookie))).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("2 openstaande formulieren zijn al maanden niet gewijzigd"),
        "{html}"
    );
    assert!(html.contains("Bewust vasthouden"));

    let reply = app
        .send(post(
            &format!("/meldpunt/formulieren/{held}/vasthouden"),
            Auth::Cookie(&cookie),
            (
                Some("application/x-www-form-urlencoded"),
                b"vast=1".to_vec(),
            ),
        ))
        .await;
    assert!(reply.status.is_redirection(), "{}", reply.text());
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE form_id = '{held}' AND detail LIKE 'bewust vastgehouden%'"
        )),
        1,
        "holding is audited"
    );

    let report = app
        .state
        .store
        .write(seed.gemeente, |tx| {
            avondronde_server::retention::enforce(tx, Timestamp::now())
        })
        .await
        .expect("retention");
    assert_eq!(report[0].1.open_care_forms, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM care_form WHERE id = '{held}'"
        )),
        1,
        "held on purpose: kept"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM care_form WHERE id = '{dropped}'"
        )),
        0,
        "not held: deleted"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE form_id = '{dropped}' AND action = 'retention'"
        )),
        1,
        "the deletion has its own audit entry"
    );
    let page = app.send(get("/meldpunt", Auth::Cookie(&cookie))).await;
    assert!(
        page.text()
            .contains("bewust vastgehouden, wordt niet verwijderd")
    );
}
