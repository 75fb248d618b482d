//! End-to-end test support: an RAII [`TestServer`] that runs the real Avondronde server on
//! loopback, plus [`fixtures`] to build outbox items and a small [`client`] that speaks the
//! sync API the way the field app does (gzip request bodies, bearer token).
//!
//! The server binds `127.0.0.1:0` *before* it is spawned, so [`TestServer::url`] is usable
//! the moment `start` returns: no sleeps, no polling. It runs on its own tokio runtime in a
//! background thread, so the same `TestServer` works from plain `#[test]` functions and from
//! `#[tokio::test]` ones. Dropping it shuts the server down gracefully.
//!
//! ```no_run
//! use avondronde_tests::TestServer;
//!
//! let mut server = TestServer::start();
//! let seed = server.seed(); // gemeente, wijk, a field user's enrolment code, web users
//! // … drive the field app's sync code against `server.url()` …
//! server.stop(); // the server is down: the app's outbox grows
//! server.restart(); // same port, same database: the app drains its outbox
//! # let _ = seed;
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use avondronde_server::auth::{self, ENROLMENT_TTL_MS};
use avondronde_server::db;
use avondronde_server::setup;
use avondronde_server::{AppState, Config};
use avondronde_shared::norms::NormSet;
use avondronde_shared::{GemeenteId, Role, UserId, WijkId};
use geo::MultiPolygon;
use tokio::sync::watch;

pub mod client;
pub mod fixtures;

/// How long a graceful shutdown may take before open connections are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The running Avondronde server, on loopback with its own database. Shuts down on drop.
///
/// With `AVONDRONDE_TEST_POSTGRES` set (a superuser's URL without a database, as
/// `scripts/test` sets it), [`TestServer::start`] puts it on a fresh PostgreSQL database of
/// its own instead of a SQLite file.
pub struct TestServer {
    addr: SocketAddr,
    db_path: PathBuf,
    postgres: Option<Arc<TestPg>>,
    config: Config,
    state: Arc<AppState>,
    running: Option<Running>,
    // Declared last so the server is gone before its database directory is removed.
    _dir: Option<tempfile::TempDir>,
}

/// A PostgreSQL database of one test server, dropped with it.
struct TestPg {
    server: String,
    app_url: String,
    admin_url: String,
    name: String,
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

struct Running {
    shutdown: watch::Sender<bool>,
    thread: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    /// Starts a server on `127.0.0.1:<free port>` with a fresh temporary database and the
    /// default configuration (rate limits included).
    ///
    /// # Panics
    /// If the server cannot start (a broken test environment, not a test failure).
    pub fn start() -> TestServer {
        TestServer::start_with(Config::default())
    }

    /// As [`TestServer::start`], with a configuration of your own (e.g. other rate limits).
    ///
    /// # Panics
    /// If the server cannot start.
    pub fn start_with(config: Config) -> TestServer {
        let postgres = std::env::var("AVONDRONDE_TEST_POSTGRES")
            .ok()
            .filter(|u| !u.is_empty());
        TestServer::start_on_backend(postgres.as_deref(), config)
    }

    /// As [`TestServer::start_with`], on a fresh database of the PostgreSQL cluster at
    /// `postgres` (a superuser's URL without a database) when given, else on SQLite,
    /// whatever the environment says (the benchmark runs both in one process).
    ///
    /// # Panics
    /// If the server or its database cannot start.
    pub fn start_on_backend(postgres: Option<&str>, config: Config) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory for the test database");
        let db_path = dir.path().join("avondronde.sqlite");
        let postgres = postgres.map(|server| {
            let (app_url, admin_url, name) =
                off_runtime(|| avondronde_server::store::postgres::fresh_database(server))
                    .expect("a fresh PostgreSQL database");
            Arc::new(TestPg {
                server: server.to_owned(),
                app_url,
                admin_url,
                name,
            })
        });
        let mut server = TestServer::launch(local(0), db_path, postgres, config)
            .expect("starting the test server on 127.0.0.1:0");
        server._dir = Some(dir);
        server
    }

    /// Starts a server on `addr` (port 0 picks a free port) over the database at `db`,
    /// created if missing. The caller owns the file; it is not removed on drop.
    ///
    /// # Errors
    /// If the address cannot be bound or the database cannot be opened.
    pub fn start_on(addr: SocketAddr, db: &Path) -> std::io::Result<TestServer> {
        TestServer::launch(addr, db.to_owned(), None, Config::default())
    }

    fn launch(
        addr: SocketAddr,
        db_path: PathBuf,
        postgres: Option<Arc<TestPg>>,
        config: Config,
    ) -> std::io::Result<TestServer> {
        let (addr, state, running) = spawn(addr, &db_path, postgres.as_deref(), config.clone())?;
        Ok(TestServer {
            addr,
            db_path,
            postgres,
            config,
            state,
            running: Some(running),
            _dir: None,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address. It stays the same across [`TestServer::restart`].
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the server runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The SQLite database file.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// The running server's state (its database handle, limits and metrics). After a
    /// restart this is the new server's state.
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Whether the server is up.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// A fresh connection to the server's database (WAL mode, so it can read while the
    /// server writes; writes wait for the server's writer via the busy timeout). Works
    /// whether or not the server is running.
    ///
    /// # Panics
    /// If the database cannot be opened.
    /// If the database cannot be opened, or the server runs on PostgreSQL (a test that
    /// reads SQLite directly runs on SQLite only).
    pub fn conn(&self) -> rusqlite::Connection {
        assert!(
            self.postgres.is_none(),
            "this test reads and writes SQLite directly; it runs on SQLite only"
        );
        db::open_connection(&self.db_path).expect("opening the test database")
    }

    /// The server's store layer on a direct connection, for arranging state through the
    /// same functions the server uses (`server.direct().transaction(|tx| …)`).
    ///
    /// # Panics
    /// If the database cannot be opened.
    pub fn direct(&self) -> avondronde_server::store::Direct {
        match &self.postgres {
            Some(pg) => avondronde_server::store::Direct::connect(&pg.admin_url),
            None => avondronde_server::store::Direct::open(&self.db_path),
        }
        .expect("opening the test database")
    }

    /// The single integer an SQL query returns, e.g.
    /// `server.scalar("SELECT COUNT(*) FROM contact")`.
    ///
    /// # Panics
    /// If the query fails or returns no row.
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

    /// The single text an SQL query returns, on either backend.
    ///
    /// # Panics
    /// If the query fails or returns no row.
    pub fn scalar_text(&self, sql: &str) -> String {
        self.one(sql, |r| r.get(0), |r| r.try_get(0))
    }

    /// The single byte string an SQL query returns, on either backend.
    ///
    /// # Panics
    /// If the query fails or returns no row.
    pub fn scalar_bytes(&self, sql: &str) -> Vec<u8> {
        self.one(sql, |r| r.get(0), |r| r.try_get(0))
    }

    /// Runs a statement that returns no rows (arranging what the API cannot, such as a
    /// round the server lost), on either backend; returns the rows changed.
    ///
    /// # Panics
    /// If the statement fails.
    pub fn execute(&self, sql: &str) -> u64 {
        match &self.postgres {
            Some(pg) => off_runtime(|| {
                postgres::Client::connect(&pg.admin_url, postgres::NoTls)
                    .and_then(|mut c| c.execute(sql, &[]))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }),
            None => self
                .conn()
                .execute(sql, [])
                .map(|n| n as u64)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    fn one<T: Send>(
        &self,
        sql: &str,
        sqlite: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        pg: impl FnOnce(&postgres::Row) -> Result<T, postgres::Error> + Send,
    ) -> T {
        match &self.postgres {
            Some(p) => off_runtime(|| {
                postgres::Client::connect(&p.admin_url, postgres::NoTls)
                    .and_then(|mut c| c.query_one(sql, &[]))
                    .and_then(|r| pg(&r))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }),
            None => self
                .conn()
                .query_row(sql, [], sqlite)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// Stops the server gracefully (in-flight requests finish; requests after this fail
    /// to connect). The database stays. Does nothing if it is already stopped.
    ///
    /// # Panics
    /// If the server failed while running.
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running
                .stop()
                .expect("the test server stopped with an error");
        }
    }

    /// Starts the server again on the same address and database, as a real restart would:
    /// a fresh process state (caches, rate limits) over the same data. Stops it first if
    /// it is running.
    ///
    /// # Panics
    /// If the address cannot be bound again.
    pub fn restart(&mut self) {
        self.stop();
        let (addr, state, running) = spawn(
            self.addr,
            &self.db_path,
            self.postgres.as_deref(),
            self.config.clone(),
        )
        .expect("restarting the test server on its old address");
        self.addr = addr;
        self.state = state;
        self.running = Some(running);
    }

    /// Issues a one-time enrolment code (valid 24 hours) for a field user.
    ///
    /// # Panics
    /// If the database write fails.
    pub fn issue_code(&self, user: UserId) -> String {
        self.direct()
            .transaction(|tx| auth::issue_enrolment_code(tx, user, ENROLMENT_TTL_MS))
            .expect("issuing an enrolment code")
    }

    /// Sets up a gemeente with Rotterdam's norms, one wijk (a polygon in Rotterdam-West),
    /// web users for every role and a fresh enrolment code for the field user, through the
    /// same `setup` functions the `admin` subcommand uses.
    ///
    /// Each call makes another, independent gemeente (other codes, other usernames), so
    /// two calls give an "own" and an "other" scope.
    ///
    /// # Panics
    /// If the database writes fail.
    pub fn seed(&self) -> Seed {
        let mut seeded = None;
        self.direct()
            .transaction(|tx| {
                seeded = Some(seed(tx));
                Ok(())
            })
            .expect("seeding the test database");
        seeded.expect("ran").expect("seeding the test database")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            // Never panic in drop: a failing test is already unwinding here.
            let _ = running.stop();
        }
    }
}

impl Running {
    fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.thread
            .join()
            .map_err(|_| std::io::Error::other("the test server thread panicked"))?
    }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Binds, opens the database and spawns the server thread; returns once the socket is bound.
fn spawn(
    addr: SocketAddr,
    db_path: &Path,
    postgres: Option<&TestPg>,
    config: Config,
) -> std::io::Result<(SocketAddr, Arc<AppState>, Running)> {
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::other(
            "test servers listen on loopback only",
        ));
    }
    // Bound here, before the thread exists: connections made after `start` returns queue
    // in the backlog until the server accepts them.
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let db = match postgres {
        Some(pg) => avondronde_server::store::Store::connect(&pg.app_url),
        None => avondronde_server::store::Store::open(db_path),
    }
    .map_err(std::io::Error::other)?;
    let state = AppState::new(db, config);
    let (shutdown, signal) = watch::channel(false);
    let served = state.clone();
    let thread = std::thread::Builder::new()
        .name(format!("test-server-{}", addr.port()))
        .spawn(move || run(listener, served, signal))?;
    Ok((addr, state, Running { shutdown, thread }))
}

fn run(
    listener: std::net::TcpListener,
    state: Arc<AppState>,
    signal: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("test-server-worker")
        .build()?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let mut graceful = signal.clone();
        let mut deadline = signal;
        let shutdown = async move {
            // A dropped sender also means "stop".
            let _ = graceful.wait_for(|stop| *stop).await;
        };
        tokio::select! {
            served = avondronde_server::serve(listener, state, shutdown) => served,
            () = async move {
                let _ = deadline.wait_for(|stop| *stop).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => Ok(()),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// A web login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// The TOTP secret, for roles with a second factor (meldpunt, admin).
    pub totp_secret: Option<String>,
}

impl Login {
    /// A TOTP code the server has not accepted yet, if this login has a second factor.
    /// A code is single-use, so the steps this process used are remembered per secret, and
    /// when the window (now ± 30 s) is used up this waits for the next step.
    pub fn totp(&self) -> Option<String> {
        static USED: std::sync::Mutex<Vec<(String, u64)>> = std::sync::Mutex::new(Vec::new());
        let secret = avondronde_server::mfa::TotpSecret(self.totp_secret.clone()?);
        loop {
            let now = jiff::Timestamp::now().as_second() as u64;
            let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
            let last = used.iter().find(|(s, _)| *s == secret.0).map(|(_, u)| *u);
            if let Some(code) = secret.unused_code(last, now) {
                let step = secret.step_of(&code, now).unwrap_or(now / 30);
                used.retain(|(s, _)| *s != secret.0);
                used.push((secret.0.clone(), step));
                return Some(code);
            }
            drop(used);
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
}

/// Logs in over HTTP as a script would (password and, when the user has one, the current
/// TOTP code) and returns the `Cookie` header value. The session cookie is `Secure`, so it
/// is passed by hand over the loopback's plain HTTP. The one login helper of the
/// end-to-end tests (issue 11).
///
/// # Panics
/// When the login is refused or the server does not answer.
pub async fn web_login(http: &reqwest::Client, base: &str, login: &Login) -> String {
    let res = http
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({
            "username": login.username,
            "password": login.password,
            "totp": login.totp(),
        }))
        .send()
        .await
        .expect("login request");
    assert_eq!(
        res.status(),
        reqwest::StatusCode::OK,
        "login of {}",
        login.username
    );
    res.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned()
}

/// What [`TestServer::seed`] created.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The gemeente.
    pub gemeente: GemeenteId,
    /// Its CBS code, e.g. `GM0599`.
    pub gemeente_code: String,
    /// Its one wijk.
    pub wijk: WijkId,
    /// The wijk's CBS code, e.g. `WK059903`.
    pub wijk_code: String,
    /// The wijk's boundary (WGS84, x = longitude).
    pub boundary: MultiPolygon<f64>,
    /// A point well inside the wijk, as (lat, lon).
    pub inside: (f64, f64),
    /// The field user (a straatcoach) the enrolment code is for.
    pub field_user: UserId,
    /// The field user's username (also their web login as straatcoach).
    pub field_username: String,
    /// A fresh one-time enrolment code for the field user.
    pub enrolment_code: String,
    /// A web login for each role.
    pub web_users: BTreeMap<Role, Login>,
}

impl Seed {
    /// The web login of a role.
    ///
    /// # Panics
    /// Never for a seed made by [`TestServer::seed`], which has every role.
    pub fn login(&self, role: Role) -> &Login {
        &self.web_users[&role]
    }
}

/// The Delfshaven outline used by the demo, as (lon, lat).
const DELFSHAVEN: &[(f64, f64)] = &[
    (4.4150, 51.9020),
    (4.4380, 51.8995),
    (4.4620, 51.9030),
    (4.4660, 51.9125),
    (4.4610, 51.9205),
    (4.4420, 51.9268),
    (4.4200, 51.9235),
    (4.4130, 51.9120),
    (4.4150, 51.9020),
];

fn seed(tx: &avondronde_server::store::Tx) -> Result<Seed, setup::SetupError> {
    let n = u32::try_from(avondronde_server::store::setup::gemeenten(tx)?.len())
        .map_err(|_| setup::SetupError::Input("too many gemeenten".into()))?;
    // Later seeds are other gemeenten: other codes, usernames and a wijk further north.
    let (name, number) = if n == 0 {
        ("Rotterdam".to_owned(), 599)
    } else {
        (format!("Testgemeente {n}"), 9000 + n)
    };
    let gemeente_code = format!("GM{number:04}");
    let wijk_code = format!("WK{number:04}03");
    let north = f64::from(n) * 0.1;
    let outline: Vec<(f64, f64)> = DELFSHAVEN.iter().map(|&(x, y)| (x, y + north)).collect();
    let boundary = MultiPolygon(vec![setup::polygon(&outline)]);
    let gemeente = setup::create_gemeente(tx, &name, &gemeente_code, &NormSet::rotterdam())?;
    let wijk = setup::create_wijk(tx, gemeente, &wijk_code, "Delfshaven", &boundary)?;
    let mut web_users = BTreeMap::new();
    let mut field = None;
    for role in Role::ALL {
        let mut login = Login {
            username: format!("{}-{n}", role.code()),
            password: format!("test-wachtwoord-{}-{n}", role.code()),
            totp_secret: None,
        };
        let user = setup::add_user(tx, gemeente, &login.username, role, Some(&login.password))?;
        if role == Role::Coordinator {
            avondronde_server::hotspot::scope::assign_all_wijken(tx, user, 0)
                .map_err(setup::SetupError::Db)?;
        }
        if avondronde_server::mfa::required_for(role) {
            let (secret, _) =
                avondronde_server::mfa::enrol_now(tx, user).map_err(setup::SetupError::Db)?;
            login.totp_secret = Some(secret.0);
        }
        if role == Role::Straatcoach {
            field = Some((user, login.username.clone()));
        }
        web_users.insert(role, login);
    }
    let (field_user, field_username) =
        field.ok_or_else(|| setup::SetupError::Input("no straatcoach".into()))?;
    let enrolment_code = auth::issue_enrolment_code(tx, field_user, ENROLMENT_TTL_MS)
        .map_err(setup::SetupError::Db)?;
    Ok(Seed {
        gemeente,
        gemeente_code,
        wijk,
        wijk_code,
        boundary,
        inside: (51.9122 + north, 4.4447),
        field_user,
        field_username,
        enrolment_code,
        web_users,
    })
}
