//! Shared fixtures for the server's `Router::oneshot` tests: a temp-file database behind an
//! [`AppState`], a seeded gemeente, and request/answer helpers that check every error is
//! the API's JSON `{code, message}`.
//!
//! (The end-to-end `TestServer` lives in the `avondronde-tests` crate; these tests need no
//! socket.)

#![allow(dead_code, missing_docs)] // each test binary uses a different part

use std::sync::Arc;

use avondronde_server::auth::{self, ENROLMENT_TTL_MS};
use avondronde_server::db;
use avondronde_server::error::ErrorBody;
use avondronde_server::{AppState, Config, setup};
use avondronde_shared::contact::{Action, Behaviour, ContactFacts, GroupCounts, Location};
use avondronde_shared::norms::NormSet;
use avondronde_shared::round::Round;
use avondronde_shared::sync::{
    Acceptance, Outcome, PROTOCOL_VERSION, Payload, PushItem, PushRequest, PushResponse, Receipt,
};
use avondronde_shared::{
    AgeBand, ContactId, GemeenteId, Role, RoundId, StreetContact, UserId, WijkId,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use geo::MultiPolygon;
use http_body_util::BodyExt;
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

/// An application over a fresh temp-file database, driven without a socket. With
/// `AVONDRONDE_TEST_POSTGRES` set (a superuser's URL without a database, as `scripts/test`
/// sets it), over a fresh PostgreSQL database of its own instead.
pub struct TestApp {
    pub state: Arc<AppState>,
    router: Router,
    dir: tempfile::TempDir,
    postgres: Option<TestPg>,
}

/// The PostgreSQL database of one test: (server URL, superuser URL, name), and the URL
/// the application role connects with.
struct TestPg {
    server: String,
    admin_url: String,
    name: String,
    app_url: String,
}

/// Another server node on a [`TestApp`]'s database, as a load balancer's second backend:
/// a state and router of its own, sharing nothing with the first but the database.
pub struct Node {
    pub state: Arc<AppState>,
    router: Router,
}

impl Node {
    pub async fn send(&self, req: Request<Body>) -> Reply {
        send_to(&self.router, req).await
    }
}

async fn send_to(router: &Router, req: Request<Body>) -> Reply {
    let res = router.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

impl Drop for TestPg {
    fn drop(&mut self) {
        let _ = off_runtime(|| {
            avondronde_server::store::postgres::drop_database(&self.server, &self.name)
        });
    }
}

/// Runs `f` on a thread of its own: the synchronous PostgreSQL client blocks on a runtime
/// of its own, which tokio does not allow on a test's async thread.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("no panic"))
}

/// The cluster the suites run against, if any (see [`TestApp`]).
pub fn test_postgres() -> Option<String> {
    std::env::var("AVONDRONDE_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
}

impl TestApp {
    pub fn new() -> TestApp {
        TestApp::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db, postgres) = match test_postgres() {
            Some(server) => {
                let (app_url, admin_url, name) =
                    off_runtime(|| avondronde_server::store::postgres::fresh_database(&server))
                        .expect("a fresh PostgreSQL database");
                let store = avondronde_server::store::Store::connect(&app_url)
                    .expect("connect as the application role");
                (
                    store,
                    Some(TestPg {
                        server,
                        admin_url,
                        name,
                        app_url,
                    }),
                )
            }
            None => (
                avondronde_server::store::Store::open(&dir.path().join("test.sqlite"))
                    .expect("open db"),
                None,
            ),
        };
        let state = AppState::new(db, config);
        TestApp {
            router: avondronde_server::app(state.clone()),
            state,
            dir,
            postgres,
        }
    }

    /// The SQLite database file (when not on PostgreSQL).
    pub fn sqlite_path(&self) -> std::path::PathBuf {
        self.dir.path().join("test.sqlite")
    }

    /// Whether this app runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A second connection to the SQLite database, for arranging and inspecting rows.
    /// Tests that use it run on SQLite only (on PostgreSQL they fail here, saying so).
    pub fn conn(&self) -> rusqlite::Connection {
        assert!(
            self.postgres.is_none(),
            "this test reads and writes SQLite directly; it runs on SQLite only"
        );
        db::open_connection(&self.dir.path().join("test.sqlite")).expect("open conn")
    }

    /// The store layer on a direct connection, for arranging state through the same
    /// functions the server uses (`app.direct().transaction(|tx| …)`), on either backend.
    #[allow(dead_code)]
    pub fn direct(&self) -> avondronde_server::store::Direct {
        match &self.postgres {
            Some(pg) => avondronde_server::store::Direct::connect(&pg.admin_url).expect("connect"),
            None => avondronde_server::store::Direct::open(&self.dir.path().join("test.sqlite"))
                .expect("open"),
        }
    }

    /// The one number `sql` answers, on either backend (as the superuser on PostgreSQL;
    /// write `"user"` for the user table, which both accept).
    /// A truth value is 1 or 0, as SQLite gives it.
    pub fn scalar(&self, sql: &str) -> i64 {
        self.one(
            sql,
            |r| r.get(0),
            |r| {
                r.try_get::<_, i64>(0)
                    .or_else(|_| r.try_get::<_, i32>(0).map(i64::from))
                    .or_else(|_| r.try_get::<_, bool>(0).map(i64::from))
            },
        )
    }

    /// The one text `sql` answers, on either backend.
    pub fn scalar_text(&self, sql: &str) -> String {
        self.one(sql, |r| r.get(0), |r| r.try_get(0))
    }

    /// The one byte string `sql` answers, on either backend.
    pub fn scalar_bytes(&self, sql: &str) -> Vec<u8> {
        self.one(sql, |r| r.get(0), |r| r.try_get(0))
    }

    /// Runs a statement that returns no rows (arranging a state the API cannot reach, such
    /// as an old session), on either backend; returns the rows changed.
    pub fn execute(&self, sql: &str) -> u64 {
        match &self.postgres {
            Some(p) => off_runtime(|| {
                postgres::Client::connect(&p.admin_url, postgres::NoTls)
                    .expect("connect as the superuser")
                    .execute(sql, &[])
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }),
            None => self
                .conn()
                .execute(sql, [])
                .map(|n| n as u64)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// The first column of every row `sql` answers, as text, on either backend.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        match &self.postgres {
            Some(p) => off_runtime(|| {
                postgres::Client::connect(&p.admin_url, postgres::NoTls)
                    .expect("connect as the superuser")
                    .query(sql, &[])
                    .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }),
            None => {
                let conn = self.conn();
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                stmt.query_map([], |r| r.get(0))
                    .and_then(|rows| rows.collect())
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
        }
    }

    /// Every byte the database holds for this app, to search for what must never be
    /// stored: on SQLite the file, its WAL and shm; on PostgreSQL every table's rows in
    /// `COPY`'s binary format (bytea columns as their raw bytes).
    pub fn database_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        match &self.postgres {
            Some(p) => off_runtime(|| {
                use std::io::Read;
                let mut c = postgres::Client::connect(&p.admin_url, postgres::NoTls)
                    .expect("connect as the superuser");
                let tables: Vec<String> = c
                    .query(
                        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'",
                        &[],
                    )
                    .expect("tables")
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                for t in tables {
                    c.copy_out(&format!(
                        "COPY (SELECT * FROM {t}) TO STDOUT WITH (FORMAT binary)"
                    ))
                    .expect("copy")
                    .read_to_end(&mut all)
                    .expect("read");
                }
            }),
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut path = self.sqlite_path().into_os_string();
                    path.push(suffix);
                    if let Ok(b) = std::fs::read(path) {
                        all.extend(b);
                    }
                }
            }
        }
        all
    }

    /// The one value `sql` answers, read from the row by the backend's own reader.
    fn one<T: Send>(
        &self,
        sql: &str,
        sqlite: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        pg: impl FnOnce(&postgres::Row) -> Result<T, postgres::Error> + Send,
    ) -> T {
        match &self.postgres {
            Some(p) => off_runtime(|| {
                let mut c = postgres::Client::connect(&p.admin_url, postgres::NoTls)
                    .expect("connect as the superuser");
                c.query_one(sql, &[])
                    .and_then(|r| pg(&r))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }),
            None => self
                .conn()
                .query_row(sql, [], sqlite)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        send_to(&self.router, req).await
    }

    /// Another server node on this app's database, with `config` (see [`Node`]).
    pub fn node(&self, config: Config) -> Node {
        let store = match &self.postgres {
            Some(p) => avondronde_server::store::Store::connect(&p.app_url)
                .expect("connect as the application role"),
            None => avondronde_server::store::Store::open(&self.sqlite_path()).expect("open db"),
        };
        let state = AppState::new(store, config);
        Node {
            router: avondronde_server::app(state.clone()),
            state,
        }
    }

    /// Sets up a gemeente (see [`seed`]).
    pub fn seed(&self, web_users: bool) -> Seed {
        self.direct()
            .transaction(|tx| Ok(seed(tx, web_users)))
            .expect("seed")
    }

    /// Enrols a device with `code` over the API and returns its token.
    pub async fn enrol(&self, code: &str) -> String {
        let reply = self
            .send(post(
                "/api/v1/enrol",
                Auth::None,
                json_body(&serde_json::json!({ "code": code })),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "enrol: {}", reply.text());
        reply.json::<serde_json::Value>()["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Enrols a fresh device for the seed's field user.
    pub async fn device(&self, seed: &Seed) -> String {
        let code = self
            .direct()
            .transaction(|tx| auth::issue_enrolment_code(tx, seed.field_user, ENROLMENT_TTL_MS))
            .expect("code");
        self.enrol(&code).await
    }

    /// Logs in over the API exactly as a script would, including the second factor (the
    /// current TOTP code) for users who have one, and returns the `Cookie` header value.
    /// The one login helper for every test (issue 11).
    pub async fn login(&self, username: &str, password: &str) -> String {
        let totp = self.totp_code(username);
        let reply = self
            .send(post(
                "/api/v1/session",
                Auth::None,
                json_body(
                    &serde_json::json!({ "username": username, "password": password, "totp": totp }),
                ),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "login: {}", reply.text());
        assert_eq!(
            reply.json::<serde_json::Value>()["mfa"],
            "done",
            "login complete"
        );
        let set = reply.headers[header::SET_COOKIE].to_str().expect("cookie");
        set.split(';').next().expect("name=value").to_owned()
    }

    pub async fn push(&self, token: &str, req: &PushRequest) -> Reply {
        self.send(post(
            "/api/v1/sync/push",
            Auth::Bearer(token),
            json_body(req),
        ))
        .await
    }

    /// Pushes and expects 200 with one receipt per item.
    pub async fn push_ok(&self, token: &str, req: &PushRequest) -> PushResponse {
        let reply = self.push(token, req).await;
        assert_eq!(reply.status, StatusCode::OK, "push: {}", reply.text());
        let res: PushResponse = reply.json();
        assert_eq!(res.receipts.len(), req.items.len(), "one receipt per item");
        res
    }
}

impl TestApp {
    /// A TOTP code of a user who has the second factor switched on, for a step the server
    /// has not accepted yet (a code is single-use), waiting for the next step when the
    /// window is used up.
    pub fn totp_code(&self, username: &str) -> Option<String> {
        use avondronde_server::store::accounts;
        let row = self
            .direct()
            .read(|tx| match accounts::user_id_by_name(tx, username)? {
                Some(user) => accounts::totp(tx, user),
                None => Ok(None),
            })
            .expect("read totp secret")?;
        if !row.enabled {
            return None;
        }
        let secret = avondronde_server::mfa::TotpSecret(row.secret?);
        let used = row.last_step;
        loop {
            let now = jiff::Timestamp::now().as_second() as u64;
            if let Some(code) = secret.unused_code(used.map(|u| u as u64), now) {
                return Some(code);
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    /// A complete session made straight in the database (password, then the TOTP code
    /// when the user has one), as a `Cookie` header value: for tests that need many
    /// sessions without going through the login throttle.
    pub fn session_cookie(&self, username: &str, password: &str) -> String {
        let (token, user) = self
            .direct()
            .transaction(|tx| auth::login(tx, username, password))
            .expect("db")
            .expect("valid login");
        // One second factor at a time in this process: tests that share an app log the same
        // user in at once, and a code is single-use, so each must read the step the other
        // used before choosing its own.
        static SECOND_FACTOR: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = SECOND_FACTOR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let token = match self.totp_code(username) {
            Some(code) => match self
                .direct()
                .transaction(|tx| auth::complete_mfa(tx, &user, &code))
                .expect("db")
            {
                auth::MfaOutcome::Done { token } => token,
                other => panic!("the second factor did not complete: {other:?}"),
            },
            None => token,
        };
        format!("{}={token}", auth::SESSION_COOKIE)
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

pub fn json_body(value: &impl Serialize) -> (Option<&'static str>, Vec<u8>) {
    (
        Some("application/json"),
        serde_json::to_vec(value).expect("serialise"),
    )
}

pub fn request(
    method: Method,
    path: &str,
    auth: Auth<'_>,
    (content_type, body): (Option<&str>, Vec<u8>),
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    match auth {
        Auth::None => {}
        Auth::Bearer(t) => b = b.header(header::AUTHORIZATION, format!("Bearer {t}")),
        Auth::Cookie(c) => b = b.header(header::COOKIE, c),
    }
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(Body::from(body)).expect("request")
}

/// `req` as if it came from client address `ip` (what the login throttle counts by).
pub fn from(mut req: Request<Body>, ip: [u8; 4]) -> Request<Body> {
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            ip, 40000,
        ))));
    req
}

/// `application/x-www-form-urlencoded`, every byte but letters and digits escaped.
pub fn form(fields: &[(&str, &str)]) -> (Option<&'static str>, Vec<u8>) {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    (Some("application/x-www-form-urlencoded"), body.into_bytes())
}

pub fn post(path: &str, auth: Auth<'_>, body: (Option<&str>, Vec<u8>)) -> Request<Body> {
    request(Method::POST, path, auth, body)
}

pub fn get(path: &str, auth: Auth<'_>) -> Request<Body> {
    request(Method::GET, path, auth, (None, Vec::new()))
}

/// A buffered answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: not the expected JSON: {}", self.text()))
    }

    /// The `name=value` of the login's device cookie among the cookies this answer sets
    /// (plain-HTTP name), if any.
    pub fn device_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{}=", auth::DEVICE_COOKIE)))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
    }

    /// Asserts the answer is an error with the given status, as JSON `{code, message}`
    /// with a non-empty message, and returns it.
    #[track_caller]
    pub fn error(&self, status: StatusCode) -> ErrorBody {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_json_error(self)
    }
}

/// Asserts an answer is the API's JSON error shape.
#[track_caller]
pub fn assert_json_error(reply: &Reply) -> ErrorBody {
    let ct = reply
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        ct.starts_with("application/json"),
        "{} has content type {ct:?}: {}",
        reply.status,
        reply.text()
    );
    let v: serde_json::Value = reply.json();
    let obj = v.as_object().expect("an object");
    assert_eq!(
        obj.keys().collect::<Vec<_>>(),
        vec!["code", "message"],
        "exactly code and message: {v}"
    );
    let body: ErrorBody = reply.json();
    assert!(!body.code.is_empty() && !body.message.is_empty(), "{v}");
    body
}

/// A seeded gemeente.
#[derive(Debug, Clone)]
pub struct Seed {
    pub gemeente: GemeenteId,
    pub wijk: WijkId,
    /// A point inside the wijk, (lat, lon).
    pub inside: (f64, f64),
    pub field_user: UserId,
    pub enrolment_code: String,
    /// (role, username, password), when seeded with web users.
    pub web_users: Vec<(Role, String, String)>,
}

impl Seed {
    pub fn login(&self, role: Role) -> (&str, &str) {
        self.web_users
            .iter()
            .find(|(r, _, _)| *r == role)
            .map(|(_, u, p)| (u.as_str(), p.as_str()))
            .expect("seeded with web users")
    }
}

/// Creates the next gemeente in the database: Rotterdam's norms, one wijk, a straatcoach
/// with an enrolment code, and (if `web_users`) a web login for every role. Argon2 makes
/// passwords slow on purpose, so tests that need no web login skip them.
pub fn seed(tx: &avondronde_server::store::Tx, web_users: bool) -> Seed {
    let n = u32::try_from(
        avondronde_server::store::setup::gemeenten(tx)
            .expect("count")
            .len(),
    )
    .expect("few");
    let number = 9000 + n;
    let north = f64::from(n) * 0.1;
    let outline: Vec<(f64, f64)> = [
        (4.4150, 51.9020),
        (4.4620, 51.9030),
        (4.4610, 51.9205),
        (4.4200, 51.9235),
        (4.4150, 51.9020),
    ]
    .iter()
    .map(|&(x, y)| (x, y + north))
    .collect();
    let boundary = MultiPolygon(vec![setup::polygon(&outline)]);
    let gemeente = setup::create_gemeente(
        tx,
        &format!("Gemeente {n}"),
        &format!("GM{number:04}"),
        &NormSet::rotterdam(),
    )
    .expect("gemeente");
    let wijk = setup::create_wijk(tx, gemeente, &format!("WK{number:04}01"), "Wijk", &boundary)
        .expect("wijk");
    let mut users = Vec::new();
    let mut field_user = None;
    for role in Role::ALL {
        if !web_users && role != Role::Straatcoach {
            continue;
        }
        let username = format!("{}-{n}", role.code());
        let password = format!("wachtwoord-{}-{n}", role.code());
        let pw = web_users.then_some(password.as_str());
        let id = setup::add_user(tx, gemeente, &username, role, pw).expect("user");
        if role == Role::Coordinator {
            avondronde_server::hotspot::scope::assign_all_wijken(tx, id, 0).expect("wijken");
        }
        if web_users && avondronde_server::mfa::required_for(role) {
            avondronde_server::mfa::enrol_now(tx, id).expect("totp");
        }
        if role == Role::Straatcoach {
            field_user = Some(id);
        }
        if web_users {
            users.push((role, username, password));
        }
    }
    let field_user = field_user.expect("straatcoach");
    let enrolment_code =
        auth::issue_enrolment_code(tx, field_user, ENROLMENT_TTL_MS).expect("code");
    Seed {
        gemeente,
        wijk,
        inside: (51.9122 + north, 4.4447),
        field_user,
        enrolment_code,
        web_users: users,
    }
}

pub fn whole_seconds(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).expect("in range")
}

pub fn round(wijk: WijkId, started_at: Timestamp) -> Round {
    Round {
        id: RoundId::new(),
        wijk,
        partner: None,
        started_at: whole_seconds(started_at),
    }
}

pub fn facts(at: Timestamp, (lat, lon): (f64, f64), children_6_9: u16) -> ContactFacts {
    ContactFacts {
        observed_at: whole_seconds(at),
        utc_offset_s: 3600,
        location: Location::gps(lat, lon, 12.0, 4),
        group: GroupCounts::default().with(AgeBand::Age6To9, children_6_9),
        supervised: false,
        behaviours: vec![Behaviour::HangingAround],
        actions: vec![Action::Spoken],
        brought_home: 0,
    }
}

pub fn contact(round: RoundId, at: Timestamp, near: (f64, f64)) -> StreetContact {
    StreetContact {
        id: ContactId::new(),
        round,
        facts: facts(at, near, 2),
    }
}

pub fn item(payload: &Payload) -> PushItem {
    PushItem::from_payload(payload).expect("serialise")
}

pub fn push_request(device_time: Timestamp, payloads: &[Payload]) -> PushRequest {
    PushRequest {
        protocol: PROTOCOL_VERSION,
        device_time,
        items: payloads.iter().map(item).collect(),
    }
}

/// A minutes-ago timestamp by the server's clock.
pub fn minutes_ago(minutes: i64) -> Timestamp {
    Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_mins(minutes))
        .expect("in range")
}

/// The acceptance of an accepted or duplicate receipt.
#[track_caller]
pub fn acceptance(receipt: &Receipt) -> Acceptance {
    match &receipt.outcome {
        Outcome::Accepted(a) | Outcome::Duplicate(a) => *a,
        other => panic!("expected accepted or duplicate, got {other:?}"),
    }
}

/// Starts a round for the device (asserting it is accepted) and returns it.
pub async fn start_round(app: &TestApp, token: &str, seed: &Seed) -> Round {
    let r = round(seed.wijk, minutes_ago(60));
    let res = app
        .push_ok(
            token,
            &push_request(Timestamp::now(), &[Payload::Round(r.clone())]),
        )
        .await;
    assert!(
        matches!(res.receipts[0].outcome, Outcome::Accepted(_)),
        "{:?}",
        res.receipts[0]
    );
    r
}
