//! Attacks on the login itself, as an outsider would run them over HTTP: guessing the
//! second factor with the password in hand, guessing the password from a botnet of fresh
//! addresses, finding out which usernames exist from the lock, riding the token of the
//! password step, forging a login from another site, and waiting out an admin's idle
//! session. Each test fails if its defence is taken away.

mod common;

use avondronde_server::{Config, auth};
use avondronde_shared::Role;
use axum::http::{StatusCode, header};
use common::*;

/// The `name=value` of the cookie an answer sets.
fn set_cookie(reply: &Reply) -> String {
    reply.headers[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned()
}

/// A password-only login from `ip`: the cookie of the pending session.
async fn password_step(app: &TestApp, user: &str, password: &str, ip: [u8; 4]) -> String {
    let reply = app
        .send(from(
            post(
                "/api/v1/session",
                Auth::None,
                json_body(&serde_json::json!({ "username": user, "password": password })),
            ),
            ip,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json::<serde_json::Value>()["mfa"], "pending");
    set_cookie(&reply)
}

async fn code_step(app: &TestApp, cookie: &str, code: &str, ip: [u8; 4]) -> Reply {
    app.send(from(
        post(
            "/api/v1/session/totp",
            Auth::Cookie(cookie),
            json_body(&serde_json::json!({ "code": code })),
        ),
        ip,
    ))
    .await
}

#[tokio::test]
async fn guessing_the_second_factor_from_fresh_logins_is_stopped_for_the_account_within_the_hour() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Meldpunt);
    // The attacker has the password and logs in again whenever a session ends, each time
    // from another address, so that no per-session or per-address limit applies.
    let mut guesses = 0;
    let mut ip = 1u8;
    while guesses < avondronde_server::throttle::SECOND_FACTOR_FAILURES {
        let cookie = password_step(&app, u, p, [203, 0, 113, ip]).await;
        loop {
            let reply = code_step(&app, &cookie, "abcdef", [203, 0, 113, ip]).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
            guesses += 1;
            let me = app.send(get("/api/v1/me", Auth::Cookie(&cookie))).await;
            if me.status == StatusCode::UNAUTHORIZED
                || guesses == avondronde_server::throttle::SECOND_FACTOR_FAILURES
            {
                break;
            }
        }
        ip += 1;
    }
    // Now even the right code, from an address that never failed, is refused...
    let cookie = password_step(&app, u, p, [192, 0, 2, 9]).await;
    let code = app.totp_code(u).expect("enrolled");
    let refused = code_step(&app, &cookie, &code, [192, 0, 2, 9]).await;
    assert_eq!(
        refused.error(StatusCode::TOO_MANY_REQUESTS).code,
        "too_many_requests"
    );
    let one_step = app
        .send(from(
            post(
                "/api/v1/session",
                Auth::None,
                json_body(&serde_json::json!({ "username": u, "password": p, "totp": code })),
            ),
            [192, 0, 2, 10],
        ))
        .await;
    assert_eq!(one_step.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        !one_step.headers.contains_key(header::SET_COOKIE),
        "no session comes out of a refused second step"
    );
    // ... and is not used up: nothing about the code was spent.
    assert_eq!(
        app.send(get("/api/v1/care-forms", Auth::Cookie(&cookie)))
            .await
            .error(StatusCode::UNAUTHORIZED)
            .code,
        "mfa_required"
    );
    // The lock is the account's, not everyone's: the admin still logs in.
    let (admin, admin_password) = seed.login(Role::Admin);
    let _ = app.login(admin, admin_password).await;
}

#[tokio::test]
async fn a_name_that_belongs_to_no_one_is_locked_exactly_like_a_real_one() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (real, _) = seed.login(Role::Coordinator);
    let tries = Config::default().logins_per_minute + 2;
    let mut answers = Vec::new();
    for (name, ip) in [
        (real, [203, 0, 113, 21]),
        ("niemand.hier", [203, 0, 113, 22]),
    ] {
        let mut statuses = Vec::new();
        for _ in 0..tries {
            let reply = app
                .send(from(
                    post(
                        "/api/v1/session",
                        Auth::None,
                        json_body(&serde_json::json!({ "username": name, "password": "geraden" })),
                    ),
                    ip,
                ))
                .await;
            statuses.push(reply.status.as_u16());
        }
        answers.push(statuses);
    }
    assert_eq!(
        answers[1].last(),
        Some(&429),
        "the lock must apply at all: {answers:?}"
    );
    assert_eq!(
        answers[0], answers[1],
        "an existing account and a name of no one answer alike"
    );
}

#[tokio::test]
async fn the_second_step_on_the_login_page_issues_a_new_cookie_and_the_old_one_opens_nothing() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Admin);
    let login = app
        .send(post(
            "/login",
            Auth::None,
            form(&[("username", u), ("password", p)]),
        ))
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert_eq!(login.headers[header::LOCATION], "/login/code");
    let pending = set_cookie(&login);
    let code = app.totp_code(u).expect("enrolled");
    let done = app
        .send(post(
            "/login/code",
            Auth::Cookie(&pending),
            form(&[("code", &code)]),
        ))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let renewed = set_cookie(&done);
    assert_ne!(renewed, pending, "a new token at the higher level");
    let old = app.send(get("/api/v1/me", Auth::Cookie(&pending))).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{}", old.text());
    let new = app.send(get("/api/v1/me", Auth::Cookie(&renewed))).await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.text());
    assert_eq!(new.json::<serde_json::Value>()["mfa"], "done");
}

#[tokio::test]
async fn a_login_or_logout_forged_by_another_site_is_refused_even_without_a_cookie() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Coordinator);
    for (path, body) in [
        ("/login", form(&[("username", u), ("password", p)])),
        ("/logout", form(&[])),
    ] {
        let mut req = post(path, Auth::None, body);
        req.headers_mut()
            .insert("sec-fetch-site", "cross-site".parse().expect("header"));
        req.headers_mut().insert(
            header::ORIGIN,
            "https://kwaad.example".parse().expect("origin"),
        );
        let reply = app.send(req).await;
        assert_eq!(
            reply.error(StatusCode::FORBIDDEN).code,
            "cross_site",
            "{path}"
        );
        assert!(
            !reply.headers.contains_key(header::SET_COOKIE),
            "{path}: no cookie set or cleared"
        );
    }
    // The site's own form still logs in.
    let mut own = post(
        "/login",
        Auth::None,
        form(&[("username", u), ("password", p)]),
    );
    own.headers_mut()
        .insert("sec-fetch-site", "same-origin".parse().expect("header"));
    let reply = app.send(own).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.headers.contains_key(header::SET_COOKIE));
}

#[tokio::test]
async fn idle_admin_and_coordinator_sessions_end_after_thirty_minutes_like_the_meldpunts() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let mut cookies = Vec::new();
    for role in [Role::Admin, Role::Coordinator] {
        let (u, p) = seed.login(role);
        let cookie = app.login(u, p).await;
        assert_eq!(
            app.send(get("/api/v1/me", Auth::Cookie(&cookie)))
                .await
                .status,
            StatusCode::OK
        );
        cookies.push(cookie);
    }
    // Twenty-nine minutes idle is still a session; thirty-one is not.
    app.execute("UPDATE web_session SET last_seen_at = last_seen_at - 29 * 60 * 1000");
    for cookie in &cookies {
        let me = app.send(get("/api/v1/me", Auth::Cookie(cookie))).await;
        assert_eq!(me.status, StatusCode::OK);
    }
    app.execute("UPDATE web_session SET last_seen_at = last_seen_at - 31 * 60 * 1000");
    for cookie in &cookies {
        let me = app.send(get("/api/v1/me", Auth::Cookie(cookie))).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM web_session"), 0);
    assert_eq!(auth::IDLE_MS, 30 * 60 * 1000);
}

#[tokio::test]
async fn a_form_the_server_cannot_read_gets_the_json_error_shape_not_the_frameworks_text() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Admin);
    let cookie = app.login(u, p).await;
    let missing = app
        .send(post(
            "/beheer/code",
            Auth::Cookie(&cookie),
            form(&[("x", "1")]),
        ))
        .await;
    let error = missing.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error.code, "bad_request");
    assert!(
        !missing.text().contains("deserialize"),
        "{}",
        missing.text()
    );
    let not_a_form = app
        .send(post(
            "/beheer/code",
            Auth::Cookie(&cookie),
            (Some("text/plain"), b"x".to_vec()),
        ))
        .await;
    assert_eq!(
        not_a_form.error(StatusCode::UNSUPPORTED_MEDIA_TYPE).code,
        "unsupported_media_type"
    );
}

/// OWASP's device cookies: a botnet that spreads its guesses over fresh addresses (one
/// failure each, so no address is ever locked) used to guess without limit. Once the
/// account has taken its allowance of failures, every browser that never completed a
/// login on it is refused, whatever its address, even with the right password; the
/// owner's browser, which did (second step included), keeps getting in from anywhere.
#[tokio::test]
async fn a_botnet_of_fresh_addresses_is_stopped_at_the_lock_while_the_owners_browser_gets_in_until_the_password_changes()
 {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Admin);

    // The owner logs in on the login page: no device cookie for the password alone.
    let login = app
        .send(from(
            post(
                "/login",
                Auth::None,
                form(&[("username", u), ("password", p)]),
            ),
            [192, 0, 2, 10],
        ))
        .await;
    assert_eq!(login.headers[header::LOCATION], "/login/code");
    assert_eq!(
        login.device_cookie(),
        None,
        "the password alone is not a login"
    );
    let pending = set_cookie(&login);
    let code = app.totp_code(u).expect("enrolled");
    let done = app
        .send(from(
            post(
                "/login/code",
                Auth::Cookie(&pending),
                form(&[("code", &code)]),
            ),
            [192, 0, 2, 10],
        ))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let owner = done
        .device_cookie()
        .expect("a device cookie once the login is complete");

    // The botnet: every failure from another address.
    let limit = Config::default().logins_per_minute;
    for n in 0..limit * 10 {
        let reply = app
            .send(from(
                post(
                    "/api/v1/session",
                    Auth::None,
                    json_body(&serde_json::json!({ "username": u, "password": "geraden" })),
                ),
                [203, 0, 113, n as u8],
            ))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let right_password = |cookie: Option<String>, ip: [u8; 4]| {
        let mut req = post(
            "/api/v1/session",
            Auth::None,
            json_body(&serde_json::json!({ "username": u, "password": p })),
        );
        if let Some(c) = cookie {
            req.headers_mut()
                .insert(header::COOKIE, c.parse().expect("cookie"));
        }
        app.send(from(req, ip))
    };
    let fresh = right_password(None, [198, 51, 100, 200]).await;
    assert_eq!(
        fresh.error(StatusCode::TOO_MANY_REQUESTS).code,
        "too_many_requests",
        "a fresh address with the right password is refused at the lock"
    );
    let (name, value) = owner.split_once('=').expect("name=value");
    let forged = format!(
        "{name}={}{}",
        if value.starts_with('0') { '1' } else { '0' },
        &value[1..]
    );
    let forged = right_password(Some(forged), [198, 51, 100, 201]).await;
    assert_eq!(
        forged.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged device cookie"
    );
    // A cookie of the same name planted by a sibling site, sent first, does not hide the
    // owner's.
    let planted = format!(
        "{name}=00000000000000000000000000000000.{}; {owner}",
        "0".repeat(64)
    );
    let shadowed = right_password(Some(planted), [198, 51, 100, 203]).await;
    assert_eq!(shadowed.status, StatusCode::OK, "{}", shadowed.text());
    let elsewhere = right_password(Some(owner.clone()), [198, 51, 100, 202]).await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.text());
    assert_eq!(elsewhere.json::<serde_json::Value>()["mfa"], "pending");

    // The password changes (the cookie was stolen with it, say): the old cookie no longer
    // opens the lock, not even with the new password.
    let new_password = "Nieuw-wachtwoord-na-diefstal-2026";
    app.direct()
        .transaction(|tx| {
            let login = auth::stored_login(tx, u)?.expect("the admin");
            let phc = auth::hash_password(new_password)?;
            avondronde_server::store::accounts::set_password_hash(tx, login.id(), &phc)
        })
        .expect("new password");
    let mut req = post(
        "/api/v1/session",
        Auth::None,
        json_body(&serde_json::json!({ "username": u, "password": new_password })),
    );
    req.headers_mut()
        .insert(header::COOKIE, owner.parse().expect("cookie"));
    let after_reset = app.send(from(req, [198, 51, 100, 204])).await;
    assert_eq!(
        after_reset.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a device cookie from before the password changed still opens the lock"
    );
}

/// A whole login (password and, where the account has one, the second factor) from `ip` in
/// a browser that holds `device` (`name=value`, or none); the answer.
async fn browser_login(
    app: &TestApp,
    (user, password): (&str, &str),
    device: Option<&str>,
    ip: [u8; 4],
) -> Reply {
    let mut req = post(
        "/api/v1/session",
        Auth::None,
        json_body(&serde_json::json!({
            "username": user, "password": password, "totp": app.totp_code(user)
        })),
    );
    if let Some(c) = device {
        req.headers_mut()
            .insert(header::COOKIE, c.parse().expect("cookie"));
    }
    app.send(from(req, ip)).await
}

/// A shared office PC: several staff log in on one browser, one after the other. Each
/// keeps being let through the lock of their account, not only the last one (attack
/// review rev4, L4), and the cookie remembers at most four accounts, the newest.
#[tokio::test]
async fn a_shared_browser_stays_known_to_each_account_that_logged_in_on_it() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let office = [192, 0, 2, 20];
    let mut jar: Option<String> = None;
    for (role, _, _) in &seed.web_users {
        let reply = browser_login(&app, seed.login(*role), jar.as_deref(), office).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        jar = Some(reply.device_cookie().expect("a device cookie"));
    }
    let jar = jar.expect("logged in");
    let entries = jar
        .split_once('=')
        .expect("name=value")
        .1
        .split('_')
        .count();
    // Four, as the README says; six accounts logged in.
    let remembered = 4;
    assert_eq!(auth::DEVICE_ENTRIES, remembered);
    assert_eq!(entries, remembered, "{jar}");
    assert!(seed.web_users.len() > remembered);

    // A botnet locks every account; the office browser still gets into the four newest.
    let limit = Config::default().logins_per_minute;
    for (role, user, _) in &seed.web_users {
        for n in 0..limit * 10 {
            let reply = browser_login(&app, (user, "geraden"), None, [203, 0, 113, n as u8]).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{role:?} attempt {n}"
            );
        }
    }
    let newest = &seed.web_users[seed.web_users.len() - remembered..];
    for (role, _, _) in newest {
        let reply = browser_login(&app, seed.login(*role), Some(&jar), [198, 51, 100, 1]).await;
        assert_eq!(reply.status, StatusCode::OK, "{role:?}: {}", reply.text());
    }
    let (oldest, _, _) = &seed.web_users[seed.web_users.len() - remembered - 1];
    let reply = browser_login(&app, seed.login(*oldest), Some(&jar), [198, 51, 100, 2]).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the fifth account back is forgotten"
    );
}
