//! The promise "personal data never appears in the log", attacked the way it would break:
//! an operator chasing a problem sets `RUST_LOG=trace`, and then logins (right, wrong and
//! for a name that does not exist), a second step and a phone's push run through the
//! server. The server's own log layer ([`avondronde_server::logging::layer`], the one the
//! binary installs) must then hold none of the usernames, passwords, tokens or the
//! contact's position, while it does record the failed login under the keyed name tag.
//!
//! The control: an uncapped layer over the same events. On PostgreSQL it catches the
//! username in `tokio-postgres`'s statement parameters, so the test shows the danger is
//! real and the cap is what keeps it out. One test in this binary: the log subscriber is
//! global to the process.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use avondronde_server::{mfa, setup};
use avondronde_shared::Role;
use avondronde_shared::sync::Payload;
use axum::http::StatusCode;
use common::*;
use jiff::Timestamp;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// A log kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const NAME: &str = "fatima.el-amrani";
const PASSWORD: &str = "Zomeravond-Kastanje-77";
const UNKNOWN: &str = "pieter.de-groot";

async fn attempt(app: &TestApp, username: &str, password: &str) -> StatusCode {
    app.send(post(
        "/api/v1/session",
        Auth::None,
        json_body(&serde_json::json!({ "username": username, "password": password })),
    ))
    .await
    .status
}

#[tokio::test]
async fn at_trace_level_the_log_holds_no_username_password_token_or_position() {
    let (server_log, uncapped) = (Captured::default(), Captured::default());
    let (s, u) = (server_log.clone(), uncapped.clone());
    tracing_subscriber::registry()
        .with(avondronde_server::logging::layer(
            Some("trace"),
            move || s.clone(),
            false,
        ))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || u.clone()),
        )
        .init();

    let app = TestApp::new();
    let seed = app.seed(false);
    app.direct()
        .transaction(|tx| {
            let id = setup::add_user(tx, seed.gemeente, NAME, Role::Coordinator, Some(PASSWORD))
                .expect("user");
            avondronde_server::hotspot::scope::assign_all_wijken(tx, id, 0)?;
            mfa::enrol_now(tx, id)
        })
        .expect("a coordinator with a second factor");

    // A wrong password, a name that does not exist, then the whole login.
    assert_eq!(
        attempt(&app, NAME, "Winteravond-Linde-12").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        attempt(&app, UNKNOWN, PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    let cookie = app.login(NAME, PASSWORD).await;
    let me = app.send(get("/api/v1/me", Auth::Cookie(&cookie))).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());

    // A phone enrols, starts a round and pushes a contact at a point in the wijk.
    let token = app.device(&seed).await;
    let round = start_round(&app, &token, &seed).await;
    let at = minutes_ago(5);
    let contact = common::contact(round.id, at, seed.inside);
    app.push_ok(
        &token,
        &push_request(Timestamp::now(), &[Payload::Contact(contact)]),
    )
    .await;

    let log = server_log.text();
    // The capture works: the failed login is there, under the keyed tag of the name.
    let keys = app.state.limits.login.keys(&app.state.store).await;
    let tag = keys.expect("throttle keys").name_key(NAME).to_string();
    assert!(
        log.lines()
            .any(|l| l.contains("login failed") && l.contains(&format!("user={tag}"))),
        "no failed login under the name's tag in the log"
    );
    assert!(log.contains("push"), "the push is not in the log");

    let session = cookie.split_once('=').map_or("", |(_, v)| v);
    let position = format!("{:.4}", seed.inside.0);
    let secrets = [
        ("the username", NAME),
        ("the unknown username", UNKNOWN),
        ("the password", PASSWORD),
        ("the wrong password", "Winteravond-Linde-12"),
        ("the session token", session),
        ("the device token", token.as_str()),
        ("the contact's latitude", position.as_str()),
    ];
    for (what, secret) in secrets {
        assert!(!secret.is_empty(), "{what} is empty");
        // Only the finding is printed, never the log or the secret itself.
        assert!(!log.contains(secret), "{what} is in the server's log");
    }

    // The control: the same events unfiltered. On PostgreSQL tokio-postgres logs every
    // statement's parameters at debug, the username among them.
    if app.is_postgres() {
        assert!(
            uncapped.text().contains(NAME),
            "control: the uncapped log no longer holds the username; the test above lost its witness"
        );
    }
}
