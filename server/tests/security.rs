//! Issue 11's attacks, one test each: a login flood, a cross-site form post, missing
//! browser headers, caching of personal data, a password-only meldpunt session, a
//! disabled user, an idle meldpunt session, an admin phone enrolled from the command
//! line, an open `/metrics`, and TLS. The attacks on the login itself (guessing the
//! second factor, finding usernames, forging a login) are in `login_attacks.rs`.

mod common;

use std::net::SocketAddr;

use avondronde_server::admin::{self, Caller};
use avondronde_server::state::MetricsToken;
use avondronde_server::{Config, auth};
use avondronde_shared::{CareFormId, Role};
use axum::http::{Method, StatusCode, header};
use common::*;

const PASSPHRASE: &str = "een lange wachtwoordzin voor de test";

fn login_body(username: &str, password: &str) -> (Option<&'static str>, Vec<u8>) {
    json_body(&serde_json::json!({ "username": username, "password": password }))
}

#[tokio::test]
async fn a_flood_of_large_unique_usernames_leaves_the_login_throttle_bounded() {
    let app = TestApp::new();
    let before = app.state.limits.login.len();
    for n in 0..200u32 {
        let name = format!("{n}-{}", "x".repeat(100 * 1024));
        let reply = app
            .send(from(
                post("/api/v1/session", Auth::None, login_body(&name, "whatever")),
                [203, 0, 113, (n % 250) as u8],
            ))
            .await;
        // Refused at the boundary: no lookup, no argon2, nothing remembered.
        assert_eq!(reply.error(StatusCode::BAD_REQUEST).code, "bad_request");
    }
    assert_eq!(
        app.state.limits.login.len(),
        before,
        "oversized names leave no trace"
    );
    // Unique short names of accounts that do not exist count as names that do (so a lock
    // tells nothing), each as a 16-byte keyed hash, and only as many as the address may
    // try: past its allowance nothing more is remembered.
    let per_address = 3 * Config::default().logins_per_minute as usize;
    for n in 0..100u32 {
        let _ = app
            .send(from(
                post(
                    "/api/v1/session",
                    Auth::None,
                    login_body(&format!("niemand-{n}"), "fout"),
                ),
                [198, 51, 100, 1],
            ))
            .await;
    }
    assert_eq!(
        app.state.limits.login.len(),
        before + 1 + per_address,
        "in memory: the address, and a (name, address) window per attempt it was allowed"
    );
    let shared = app
        .state
        .store
        .read(
            avondronde_server::store::Scope::System,
            avondronde_server::store::login_throttle::windows,
        )
        .await
        .expect("shared windows");
    assert_eq!(
        shared, per_address as u64,
        "in the database: a name's hourly window per attempt it was allowed"
    );
}

/// Logs in as the account's owner, from their usual address, and returns the device cookie
/// their browser got.
async fn owners_device_cookie(app: &TestApp, user: &str, password: &str) -> String {
    let login = app
        .send(from(
            post("/api/v1/session", Auth::None, login_body(user, password)),
            [192, 0, 2, 77],
        ))
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    login.device_cookie().expect("a device cookie")
}

/// Two server nodes on one database, as behind a load balancer: a botnet that spreads its
/// guesses over both gets the budget of one, and a browser that logged in on one node is
/// known on the other, and on a node started later (a restart).
#[tokio::test]
async fn a_botnet_spreading_its_guesses_over_two_nodes_gets_the_budget_of_one() {
    let config = Config {
        logins_per_minute: 2,
        ..Config::default()
    };
    let app = TestApp::with_config(config.clone());
    let seed = app.seed(true);
    let other = app.node(config.clone());
    let (user, password) = seed.login(Role::Coordinator);
    let device = owners_device_cookie(&app, user, password).await;
    // The account's hourly allowance for unknown browsers is ten times the per-minute
    // limit: 20 failures, each from a fresh address, half on each node.
    for n in 0..20u8 {
        let guess = from(
            post("/api/v1/session", Auth::None, login_body(user, "geraden")),
            [203, 0, 113, n],
        );
        let reply = if n % 2 == 0 {
            app.send(guess).await
        } else {
            other.send(guess).await
        };
        assert_eq!(reply.error(StatusCode::UNAUTHORIZED).code, "unauthorized");
    }
    let fresh = || {
        from(
            post("/api/v1/session", Auth::None, login_body(user, password)),
            [198, 51, 100, 9],
        )
    };
    for reply in [app.send(fresh()).await, other.send(fresh()).await] {
        assert_eq!(
            reply.error(StatusCode::TOO_MANY_REQUESTS).code,
            "too_many_requests",
            "locked on both nodes: each saw only ten failures itself"
        );
    }
    let owner = || {
        from(
            post(
                "/api/v1/session",
                Auth::Cookie(&device),
                login_body(user, password),
            ),
            [192, 0, 2, 78],
        )
    };
    let on_other = other.send(owner()).await;
    assert_eq!(
        on_other.status,
        StatusCode::OK,
        "the other node knows the browser: {}",
        on_other.text()
    );
    let restarted = app.node(config);
    let after_restart = restarted.send(owner()).await;
    assert_eq!(
        after_restart.status,
        StatusCode::OK,
        "a node started later knows it too: {}",
        after_restart.text()
    );
}

/// The database keeps a bounded number of hourly windows. An attacker who locked an account
/// and then fails with fresh names until the table is past its bound (each costs one failed
/// login: the cheapest windows there are) must not get the account's window pushed out,
/// which would give the account a fresh hourly budget.
#[tokio::test]
async fn a_flood_of_fresh_names_past_the_bound_does_not_unlock_an_attacked_account() {
    use avondronde_server::throttle::MAX_SHARED;
    let config = Config {
        logins_per_minute: 2,
        ..Config::default()
    };
    let app = TestApp::with_config(config);
    let seed = app.seed(true);
    let (user, password) = seed.login(Role::Coordinator);
    for n in 0..20u8 {
        let guess = from(
            post("/api/v1/session", Auth::None, login_body(user, "geraden")),
            [203, 0, 113, n],
        );
        let reply = app.send(guess).await;
        assert_eq!(reply.error(StatusCode::UNAUTHORIZED).code, "unauthorized");
    }
    // The flood, newer than the account's window: written straight into the table, as
    // 100,000 failed logins through the API would take hours of argon2id here.
    let at = avondronde_server::db::now_ms() + 1_000;
    let names = MAX_SHARED + 1;
    let flood = if app.is_postgres() {
        format!(
            "INSERT INTO login_failure (kind, name_key, window_start, failures)
             SELECT 'account', decode(md5(i::text), 'hex'), {at}, 1
             FROM generate_series(1, {names}) AS i"
        )
    } else {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {names})
             INSERT INTO login_failure (kind, name_key, window_start, failures)
             SELECT 'account', randomblob(16), {at}, 1 FROM n"
        )
    };
    assert_eq!(app.execute(&flood), names as u64);
    app.state
        .limits
        .login
        .prune(&app.state.store)
        .await
        .expect("the minute's sweep");
    assert_eq!(
        app.scalar("SELECT count(*) FROM login_failure"),
        MAX_SHARED as i64,
        "the sweep keeps the bound"
    );
    let reply = app
        .send(from(
            post("/api/v1/session", Auth::None, login_body(user, password)),
            [198, 51, 100, 9],
        ))
        .await;
    assert_eq!(
        reply.error(StatusCode::TOO_MANY_REQUESTS).code,
        "too_many_requests",
        "still locked to unknown browsers after the flood"
    );
}

#[tokio::test]
async fn an_account_locked_by_an_attacker_still_opens_in_a_browser_that_logged_in_before() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (user, password) = seed.login(Role::Coordinator);
    let device = owners_device_cookie(&app, user, password).await;
    let limit = Config::default().logins_per_minute;
    // Ten attackers fail the account's whole allowance between them.
    for n in 0..(limit * 10) {
        let reply = app
            .send(from(
                post("/api/v1/session", Auth::None, login_body(user, "geraden")),
                [203, 0, 113, (n % 10) as u8],
            ))
            .await;
        assert!(
            matches!(reply.status.as_u16(), 401 | 429),
            "{}",
            reply.text()
        );
    }
    let attacker = app
        .send(from(
            post("/api/v1/session", Auth::None, login_body(user, password)),
            [203, 0, 113, 1],
        ))
        .await;
    assert_eq!(
        attacker.error(StatusCode::TOO_MANY_REQUESTS).code,
        "too_many_requests"
    );
    let owner = app
        .send(from(
            post(
                "/api/v1/session",
                Auth::Cookie(&device),
                login_body(user, password),
            ),
            [192, 0, 2, 78],
        ))
        .await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.text());
}

#[tokio::test]
async fn a_cross_site_post_with_a_valid_admin_cookie_is_refused() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Admin);
    let cookie = app.login(u, p).await;
    let (field, _) = (seed.field_user, ());
    let _ = field;
    let attempt = |origin: Option<&str>, site: Option<&str>| {
        let mut req = post(
            "/api/v1/admin/enrolment-codes",
            Auth::Cookie(&cookie),
            json_body(&serde_json::json!({ "username": format!("straatcoach-{}", 0) })),
        );
        req.headers_mut()
            .insert(header::HOST, "avondronde.example".parse().expect("host"));
        if let Some(o) = origin {
            req.headers_mut()
                .insert(header::ORIGIN, o.parse().expect("origin"));
        }
        if let Some(s) = site {
            req.headers_mut()
                .insert("sec-fetch-site", s.parse().expect("site"));
        }
        req
    };
    let codes = || app.scalar("SELECT COUNT(*) FROM enrolment_code");
    let before = codes();
    for (origin, site) in [
        (Some("https://evil.example"), None),
        (Some("https://evil.example"), Some("cross-site")),
        (None, Some("cross-site")),
        (Some("null"), None),
        (Some("https://avondronde.example"), Some("same-site")),
    ] {
        let reply = app.send(attempt(origin, site)).await;
        assert_eq!(
            reply.error(StatusCode::FORBIDDEN).code,
            "cross_site",
            "{origin:?} {site:?}"
        );
    }
    // The same form page as an HTML post.
    let mut html = post(
        "/beheer/code",
        Auth::Cookie(&cookie),
        (
            Some("application/x-www-form-urlencoded"),
            b"username=x".to_vec(),
        ),
    );
    html.headers_mut().insert(
        header::ORIGIN,
        "https://evil.example".parse().expect("origin"),
    );
    assert_eq!(app.send(html).await.status, StatusCode::FORBIDDEN);
    assert_eq!(codes(), before, "nothing was issued");
    // From the site itself it works, also with the `Origin: null` that a browser sends
    // on its own form posts under `Referrer-Policy: no-referrer`.
    for origin in ["https://avondronde.example", "null"] {
        let ok = app.send(attempt(Some(origin), Some("same-origin"))).await;
        assert_eq!(ok.status, StatusCode::OK, "{origin}: {}", ok.text());
    }
}

fn assert_browser_headers(reply: &Reply, what: &str) {
    let h = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_owned()
    };
    let csp = h("content-security-policy");
    assert!(csp.contains("script-src 'self';"), "{what}: {csp}");
    assert!(
        !csp.contains("'unsafe-inline';") || !csp.contains("script-src 'self' 'unsafe-inline'")
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
}

#[tokio::test]
async fn every_page_and_answer_carries_the_browser_security_headers() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let session = |role| {
        let (u, p) = seed.login(role);
        app.session_cookie(u, p)
    };
    let admin = session(Role::Admin);
    let coordinator = session(Role::Coordinator);
    let meldpunt = session(Role::Meldpunt);
    for (path, cookie, status) in [
        ("/login", None, 200),
        ("/kaart", Some(&coordinator), 200),
        ("/meldpunt", Some(&meldpunt), 200),
        ("/beheer", Some(&admin), 200),
        ("/beheer", None, 303),
        ("/audit", Some(&admin), 200),
        ("/api/v1/me", Some(&admin), 200),
        ("/api/v1/care-forms", None, 401),
        ("/bestaat-niet", None, 404),
        ("/static/app.css", None, 200),
    ] {
        let auth = cookie.map_or(Auth::None, |c| Auth::Cookie(c));
        let reply = app.send(get(path, auth)).await;
        assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.text());
        assert_browser_headers(&reply, path);
        // HSTS only with TLS.
        assert!(
            !reply.headers.contains_key("strict-transport-security"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn pages_and_answers_with_personal_data_are_not_cached_but_assets_are() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Meldpunt);
    let meldpunt = app.session_cookie(u, p);
    let (u, p) = seed.login(Role::Admin);
    let admin = app.session_cookie(u, p);
    for (path, cookie) in [
        (
            format!("/meldpunt/formulieren/{}", CareFormId::new()),
            &meldpunt,
        ),
        ("/meldpunt".to_owned(), &meldpunt),
        ("/api/v1/care-forms".to_owned(), &meldpunt),
        (
            format!("/api/v1/care-forms/{}", CareFormId::new()),
            &meldpunt,
        ),
        ("/beheer".to_owned(), &admin),
        ("/api/v1/audit".to_owned(), &admin),
    ] {
        let reply = app.send(get(&path, Auth::Cookie(cookie))).await;
        assert_eq!(
            reply
                .headers
                .get(header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path} ({})",
            reply.status
        );
    }
    let css = app.send(get("/static/app.css", Auth::None)).await;
    assert_eq!(css.headers[header::CACHE_CONTROL], "public, max-age=3600");
}

#[tokio::test]
async fn a_meldpunt_login_with_a_password_alone_cannot_list_care_forms() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Meldpunt);
    let reply = app
        .send(post("/api/v1/session", Auth::None, login_body(u, p)))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json::<serde_json::Value>()["mfa"], "pending");
    let set = reply.headers[header::SET_COOKIE].to_str().expect("cookie");
    let cookie = set.split(';').next().expect("cookie").to_owned();
    for path in ["/api/v1/care-forms", "/api/v1/audit"] {
        let denied = app.send(get(path, Auth::Cookie(&cookie))).await;
        assert_eq!(
            denied.error(StatusCode::UNAUTHORIZED).code,
            "mfa_required",
            "{path}"
        );
    }
    let page = app.send(get("/meldpunt", Auth::Cookie(&cookie))).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers[header::LOCATION], "/login/code");
    // A wrong code does not help; the right one does.
    let wrong = app
        .send(post(
            "/api/v1/session/totp",
            Auth::Cookie(&cookie),
            json_body(&serde_json::json!({ "code": "12345x" })),
        ))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let code = app.totp_code(u).expect("enrolled");
    let right = app
        .send(post(
            "/api/v1/session/totp",
            Auth::Cookie(&cookie),
            json_body(&serde_json::json!({ "code": code })),
        ))
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.text());
    let renewed = right.headers[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("cookie")
        .to_owned();
    let listed = app
        .send(get("/api/v1/care-forms", Auth::Cookie(&renewed)))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
}

#[tokio::test]
async fn a_second_factor_code_seen_once_cannot_be_replayed_by_an_attacker_who_has_the_password() {
    // The attacker shoulder-surfed (or phished) the password and one TOTP code as the
    // meldpunt typed them, and replays both within the code's half minute.
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Meldpunt);
    let code = app.totp_code(u).expect("enrolled");
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let body = serde_json::json!({ "username": u, "password": p, "totp": code });
        let reply = app
            .send(post("/api/v1/session", Auth::None, json_body(&body)))
            .await;
        let mfa = match reply.status {
            StatusCode::OK => reply.json::<serde_json::Value>()["mfa"].clone(),
            other => serde_json::json!(other.as_u16()),
        };
        outcomes.push(mfa);
    }
    assert_eq!(outcomes[0], "done", "the meldpunt's own login succeeds");
    assert_ne!(
        outcomes[1], "done",
        "the replayed code must not open a session"
    );
    // An older code than the one used is refused as well, and so is the same code on the
    // second-step route.
    let mut db = app.direct();
    let (_token, user) = db
        .transaction(|tx| auth::login(tx, u, p))
        .expect("db")
        .expect("login");
    assert_eq!(
        db.transaction(|tx| auth::complete_mfa(tx, &user, &code))
            .expect("db"),
        auth::MfaOutcome::Wrong
    );
    // The next unused code works: the user is not locked out by the guard.
    let fresh = app.totp_code(u).expect("enrolled");
    assert!(matches!(
        db.transaction(|tx| auth::complete_mfa(tx, &user, &fresh))
            .expect("db"),
        auth::MfaOutcome::Done { .. }
    ));
}

#[tokio::test]
async fn five_wrong_second_factor_codes_end_the_pending_session() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Admin);
    let mut db = app.direct();
    let (token, user) = db
        .transaction(|tx| auth::login(tx, u, p))
        .expect("db")
        .expect("login");
    for _ in 0..4 {
        assert_eq!(
            db.transaction(|tx| auth::complete_mfa(tx, &user, "000000"))
                .expect("db"),
            auth::MfaOutcome::Wrong
        );
    }
    assert_eq!(
        db.transaction(|tx| auth::complete_mfa(tx, &user, "000000"))
            .expect("db"),
        auth::MfaOutcome::Ended
    );
    let me = app
        .send(get(
            "/api/v1/me",
            Auth::Cookie(&format!("{}={token}", auth::SESSION_COOKIE)),
        ))
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_disabled_users_sessions_and_devices_stop_working_at_once() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Straatcoach);
    let cookie = app.session_cookie(u, p);
    let token = app.enrol(&seed.enrolment_code).await;
    assert_eq!(
        app.send(get("/api/v1/me", Auth::Cookie(&cookie)))
            .await
            .status,
        StatusCode::OK
    );
    let ended = app
        .direct()
        .transaction(|tx| Ok(admin::disable_user(tx, &Caller::cli(), u)))
        .expect("db")
        .expect("disable");
    assert_eq!((ended.sessions.len(), ended.devices), (1, 1));
    let me = app.send(get("/api/v1/me", Auth::Cookie(&cookie))).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let pull = app
        .send(post(
            "/api/v1/sync/pull",
            Auth::Bearer(&token),
            json_body(&serde_json::json!({ "protocol": 1 })),
        ))
        .await;
    // `device_revoked`, not a bare 401: the phone of a disabled user wipes its store
    // (issues 10 and 12).
    assert_eq!(pull.error(StatusCode::UNAUTHORIZED).code, "device_revoked");
    // And they cannot log in again.
    let login = app
        .send(post("/api/v1/session", Auth::None, login_body(u, p)))
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user_disable'"),
        1
    );
}

async fn unlocked_meldpunt(app: &TestApp, seed: &Seed) -> String {
    app.direct()
        .transaction(|tx| {
            Ok(avondronde_server::meldpunt::demo::create_key(
                tx,
                seed.gemeente,
                PASSPHRASE,
            ))
        })
        .expect("db")
        .expect("key");
    let (u, p) = seed.login(Role::Meldpunt);
    let cookie = app.session_cookie(u, p);
    let unlock = app
        .send(post(
            "/api/v1/meldpunt/unlock",
            Auth::Cookie(&cookie),
            json_body(&serde_json::json!({ "passphrase": PASSPHRASE })),
        ))
        .await;
    assert_eq!(unlock.status, StatusCode::NO_CONTENT, "{}", unlock.text());
    assert_eq!(app.state.vault.len(), 1);
    cookie
}

#[tokio::test]
async fn an_idle_meldpunt_session_ends_and_its_unlocked_key_is_forgotten() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let cookie = unlocked_meldpunt(&app, &seed).await;
    // Thirty-one minutes without a request.
    app.execute("UPDATE web_session SET last_seen_at = last_seen_at - 31 * 60 * 1000");
    let reply = app
        .send(get("/api/v1/care-forms", Auth::Cookie(&cookie)))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.state.vault.len(), 0, "the key went with the session");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM web_session WHERE user_id IN (SELECT id FROM \"user\" WHERE role = 'meldpunt')"), 0);
}

#[tokio::test]
async fn the_sweeper_forgets_keys_of_idle_and_ended_sessions_without_any_request() {
    let app = TestApp::new();
    let seed = app.seed(true);
    let _cookie = unlocked_meldpunt(&app, &seed).await;
    avondronde_server::sweep(&app.state).await;
    assert_eq!(app.state.vault.len(), 1, "a live session keeps its key");
    app.execute("UPDATE web_session SET last_seen_at = last_seen_at - 31 * 60 * 1000");
    avondronde_server::sweep(&app.state).await;
    assert_eq!(app.state.vault.len(), 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM web_session"), 0);
    // An expired session of another role is cleared too.
    let (u, p) = seed.login(Role::Coordinator);
    let _ = app.session_cookie(u, p);
    app.execute("UPDATE web_session SET expires_at = 0");
    avondronde_server::sweep(&app.state).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM web_session"), 0);
}

#[test]
fn the_command_line_refuses_to_enrol_an_admin_phone() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("cli.sqlite");
    let seed = avondronde_server::store::Direct::open(&path)
        .expect("db")
        .transaction(|tx| Ok(seed(tx, true)))
        .expect("seed");
    let run = |username: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_avondronde-server"))
            .args(["admin", "--db"])
            .arg(&path)
            .args(["issue-code", "--username", username])
            .output()
            .expect("run the binary")
    };
    let (admin, _) = seed.login(Role::Admin);
    let refused = run(admin);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("alleen veldwerkers"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let (coach, _) = seed.login(Role::Straatcoach);
    let ok = run(coach);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[tokio::test]
async fn metrics_answer_only_to_their_bearer_token() {
    let app = TestApp::with_config(Config {
        metrics_token: Some(MetricsToken("metrics-token-0123456789".into())),
        ..Config::default()
    });
    let none = app.send(get("/metrics", Auth::None)).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let wrong = app
        .send(get("/metrics", Auth::Bearer("metrics-token-wrong")))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = app
        .send(get("/metrics", Auth::Bearer("metrics-token-0123456789")))
        .await;
    assert_eq!(right.status, StatusCode::OK);
    assert!(right.text().contains("avondronde_push_requests_total"));
    // Per-route latency, labelled by the route's pattern (the requests above were to it).
    assert!(
        right.text().contains(r#"avondronde_http_request_duration_seconds_bucket{route="/metrics",method="GET",status="401""#),
        "{}",
        right.text()
    );
    assert!(
        !format!("{:?}", app.state.config).contains("0123456789"),
        "Debug is redacted"
    );
}

#[tokio::test]
async fn with_tls_the_cookie_is_host_prefixed_and_hsts_is_sent() {
    host_prefixed_cookies_and_hsts(Config {
        tls: true,
        ..Config::default()
    })
    .await;
}

/// Behind a reverse proxy that terminates TLS (the README's second way), the server itself
/// speaks plain HTTP; its public address tells it browsers use HTTPS. Without the
/// `__Host-` prefix, a sibling subdomain could plant a cookie of the same name with a
/// narrower path, which the browser sends first (attack review rev4, L3).
#[tokio::test]
async fn behind_a_tls_proxy_with_an_https_public_url_the_cookie_is_host_prefixed_too() {
    host_prefixed_cookies_and_hsts(Config {
        public_url: Some("https://avondronde.gemeente.nl".into()),
        trusted_proxies: vec!["127.0.0.1/32".parse().expect("cidr")],
        ..Config::default()
    })
    .await;
    // An http public address (a test set-up on a laptop) keeps the plain names: a browser
    // drops a `__Host-` cookie that did not come over HTTPS.
    let plain = TestApp::with_config(Config {
        public_url: Some("http://10.0.0.5:8080".into()),
        ..Config::default()
    });
    let seed = plain.seed(true);
    let (u, p) = seed.login(Role::Coordinator);
    let reply = plain
        .send(post("/api/v1/session", Auth::None, login_body(u, p)))
        .await;
    let set = reply.headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(
        set.starts_with(&format!("{}=", auth::SESSION_COOKIE)),
        "{set}"
    );
    assert!(!reply.headers.contains_key("strict-transport-security"));
}

/// Logs in on a server with `config` and checks that both cookies carry the `__Host-`
/// prefix, that HSTS is sent, and that the plain name is not accepted.
async fn host_prefixed_cookies_and_hsts(config: Config) {
    let app = TestApp::with_config(config);
    let seed = app.seed(true);
    let (u, p) = seed.login(Role::Coordinator);
    let reply = app
        .send(post("/api/v1/session", Auth::None, login_body(u, p)))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let set = reply.headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(set.starts_with("__Host-avondronde="), "{set}");
    assert!(set.contains("Secure") && set.contains("Path=/") && !set.contains("Domain"));
    let cookies: Vec<&str> = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with(&format!("{}=", auth::TLS_DEVICE_COOKIE))
                && c.contains("Secure")
                && c.contains("HttpOnly")
                && !c.contains("Domain")),
        "the device cookie is host-prefixed too: {cookies:?}"
    );
    assert!(
        reply.headers["strict-transport-security"]
            .to_str()
            .expect("hsts")
            .starts_with("max-age=")
    );
    // The plain name is not accepted over TLS.
    let cookie = set.split(';').next().expect("cookie");
    let plain = cookie.replace("__Host-avondronde", auth::SESSION_COOKIE);
    assert_eq!(
        app.send(get("/api/v1/me", Auth::Cookie(cookie)))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.send(get("/api/v1/me", Auth::Cookie(&plain)))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_server_terminates_tls_with_a_generated_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let dir = tempfile::tempdir().expect("dir");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let db = avondronde_server::store::Store::open(&dir.path().join("tls.sqlite")).expect("db");
    let state = avondronde_server::AppState::new(
        db,
        Config {
            tls: true,
            ..Config::default()
        },
    );
    let tls = avondronde_server::tls::config_from_pem_files(&cert_path, &key_path)
        .await
        .expect("tls config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(avondronde_server::tls::serve(listener, tls, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("pem"),
        )
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)))
        .build()
        .expect("client");
    let res = client
        .get(format!("https://localhost:{port}/health"))
        .send()
        .await
        .expect("https request");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("strict-transport-security"));
    let _ = stop.send(());
    let _ = server.await;
    let _ = Method::GET;
}
