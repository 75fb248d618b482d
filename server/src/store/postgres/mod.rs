//! The PostgreSQL backend of the store, for a provider hosting many gemeenten (issue 13;
//! docs/postgres.md). Nothing here runs unless a PostgreSQL URL is given: the embedded
//! SQLite stays the default.
//!
//! **Why the synchronous `postgres` crate with an `r2d2` pool.** The store's seam ([`super::Tx`])
//! hands an open transaction to a synchronous closure, run on the writer thread or on tokio's
//! blocking pool, and the sync ledger is written in the same transaction as the item. The
//! synchronous client (itself a thin blocking wrapper over `tokio-postgres`, the same wire
//! code) fits that seam as it is: a closure takes `&mut PgTx`, runs its statements in order
//! and returns, and the transaction commits only after it returned `Ok`. With
//! `tokio-postgres` + `deadpool` every store function would have to become `async` and every
//! closure a future borrowing the transaction, which the SQLite half cannot share, for no
//! gain: the work per transaction is a few statements and the blocking pool is sized for it.
//! sqlx's `Any` driver is ruled out by the issue (it erases the types both backends need).
//!
//! **Tenant isolation is the database's job.** Every tenant table has row-level security,
//! forced, with the policy `gemeente_id = current_setting('app.gemeente')`. The server connects
//! as `avondronde_app`, which neither owns the tables nor bypasses RLS. [`PgStore::transaction`]
//! and [`PgStore::read`] open a transaction and set the gemeente with
//! `set_config('app.gemeente', $1, true)` — bound, and local to the transaction — before the
//! closure runs, so a connection returned to the pool carries no gemeente. Cross-tenant
//! questions (which gemeente a device token or a username belongs to) are answered by
//! [`PgStore::route`], through a `SECURITY DEFINER` function that returns only the
//! (gemeente, id) of one exact key.
//!
//! Schema changes and partition maintenance are DDL and run as the owner, through
//! [`PgAdmin`] (the admin CLI's connection), never through the application's pool.

use std::time::Duration;

use ::postgres::{Client, NoTls, Transaction};

mod cached;
mod tokens;
mod writer;

pub use cached::PgTransaction;
use cached::{Manager, PgConn};

use super::{Scope, Tx};
use crate::db::DbError;
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::r2d2;

/// The role that owns the schema and runs migrations and partition maintenance.
pub const OWNER_ROLE: &str = "avondronde_owner";
/// The role the server connects as: not a superuser, not the owner, no `BYPASSRLS`.
pub const APP_ROLE: &str = "avondronde_app";

/// The migrations, in order: (version, name, SQL). Applied once each, recorded in
/// `schema_migrations`.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "001_schema", include_str!("migrations/001_schema.sql")),
    (
        2,
        "002_contact_partitions",
        include_str!("migrations/002_contact_partitions.sql"),
    ),
    (3, "003_tenants", include_str!("migrations/003_tenants.sql")),
    (4, "004_push", include_str!("migrations/004_push.sql")),
    (
        5,
        "005_accounts_setup",
        include_str!("migrations/005_accounts_setup.sql"),
    ),
    (
        7,
        "007_gemeente_from_parent",
        include_str!("migrations/007_gemeente_from_parent.sql"),
    ),
    (
        8,
        "008_item_known",
        include_str!("migrations/008_item_known.sql"),
    ),
    (
        9,
        "009_partition_from_default",
        include_str!("migrations/009_partition_from_default.sql"),
    ),
    (
        10,
        "010_contact_wijk_seq",
        include_str!("migrations/010_contact_wijk_seq.sql"),
    ),
    (
        11,
        "011_device_by_token",
        include_str!("migrations/011_device_by_token.sql"),
    ),
    (
        12,
        "012_gemeente_from_parent_when",
        include_str!("migrations/012_gemeente_from_parent_when.sql"),
    ),
    (
        13,
        "013_device_by_token_keeps_caller_gemeente",
        include_str!("migrations/013_device_by_token_keeps_caller_gemeente.sql"),
    ),
    (
        14,
        "014_route_lookup_plpgsql",
        include_str!("migrations/014_route_lookup_plpgsql.sql"),
    ),
    (
        15,
        "015_contact_fewer_indexes",
        include_str!("migrations/015_contact_fewer_indexes.sql"),
    ),
    (
        16,
        "016_devices_by_tokens",
        include_str!("migrations/016_devices_by_tokens.sql"),
    ),
    (
        17,
        "017_login_throttle",
        include_str!("migrations/017_login_throttle.sql"),
    ),
    (
        18,
        "018_login_throttle_keeps_the_most_failed",
        include_str!("migrations/018_login_throttle_keeps_the_most_failed.sql"),
    ),
];

/// What can go wrong talking to PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// PostgreSQL said no (or the connection broke). Shown with the server's SQLSTATE and
    /// message, never the statement's parameters.
    #[error("postgresql: {}", describe(.0))]
    Postgres(#[from] ::postgres::Error),
    /// No connection could be had from the pool in time.
    #[error("postgresql pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// The URL or an argument was not usable.
    #[error("{0}")]
    Invalid(String),
    /// A job decided to fail with a domain error, carried to the caller as is.
    #[error("{0}")]
    Domain(String),
}

/// The server's SQLSTATE and message of a database error (the client's own `Display` says
/// only "db error"), or the client's text for anything else.
pub(crate) fn describe(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// An open PostgreSQL transaction, with the gemeente set (or, from [`PgStore::system`], with
/// none set: then every tenant table is empty to it).
pub struct PgTx<'a> {
    tx: Transaction<'a>,
}

impl<'a> PgTx<'a> {
    /// The transaction, for the store modules and for the isolation tests, which run the
    /// queries a careless code path would run.
    pub fn client(&mut self) -> &mut Transaction<'a> {
        &mut self.tx
    }
}

/// Which cross-tenant key [`PgStore::route`] looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// A device's bearer token hash → (gemeente, device id).
    DeviceToken,
    /// A web session's token hash → (gemeente, user id).
    WebSession,
    /// An enrolment code hash → (gemeente, user id).
    EnrolmentCode,
    /// A password-reset code hash → (gemeente, user id).
    PasswordReset,
    /// A username (UTF-8 bytes) → (gemeente, user id), for the login form.
    Username,
}

impl RouteKind {
    fn code(self) -> &'static str {
        match self {
            RouteKind::DeviceToken => "device_token",
            RouteKind::WebSession => "web_session",
            RouteKind::EnrolmentCode => "enrolment_code",
            RouteKind::PasswordReset => "password_reset",
            RouteKind::Username => "username",
        }
    }
}

/// How the server's pool of PostgreSQL connections is sized.
///
/// Each server process holds at most `max_size` connections; PostgreSQL's `max_connections`
/// (100 by default) must cover every server process's `max_size`, plus the admin CLI and
/// `superuser_reserved_connections`. A request that finds every connection busy waits up to
/// `wait` and is then answered 503 with `Retry-After` (the phone tries again; nothing is
/// lost), never 500.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// The most connections this process opens (default [`PoolOptions::DEFAULT_MAX_SIZE`]).
    pub max_size: u32,
    /// How long a request waits for a free connection before it is answered 503.
    pub wait: Duration,
}

impl PoolOptions {
    /// The default pool size: enough for the blocking pool's share of the two to eight cores
    /// a server has, and six server processes within PostgreSQL's default 100 connections.
    pub const DEFAULT_MAX_SIZE: u32 = 16;
}

impl Default for PoolOptions {
    fn default() -> PoolOptions {
        PoolOptions {
            max_size: PoolOptions::DEFAULT_MAX_SIZE,
            wait: Duration::from_secs(10),
        }
    }
}

/// The server's pool of connections as [`APP_ROLE`]. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: std::sync::Arc<Pool>,
    /// The pushes waiting for their gemeente's writer (group commit, [`writer`]).
    lanes: std::sync::Arc<writer::Lanes>,
    /// The phones' token look-ups waiting to be asked together ([`tokens`]).
    tokens: std::sync::Arc<tokens::TokenQueue>,
}

type R2d2Pool = r2d2::Pool<Manager>;

/// The pool, closed on a thread of its own: closing a synchronous client blocks on a
/// runtime of its own, which tokio forbids on a thread that drives one (where the server's
/// state is dropped at shutdown).
struct Pool(Option<R2d2Pool>);

impl std::ops::Deref for Pool {
    type Target = R2d2Pool;
    fn deref(&self) -> &R2d2Pool {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            std::thread::spawn(move || drop(pool));
        }
    }
}

impl PgStore {
    /// Connects a pool to `url` (a `postgres://avondronde_app@…` URL) with the default
    /// [`PoolOptions`]. Fails at once if the database cannot be reached.
    pub fn connect(url: &str) -> Result<PgStore, PgError> {
        PgStore::connect_pool(url, PoolOptions::default())
    }

    /// As [`PgStore::connect`], with at most `max_size` connections.
    pub fn connect_with(url: &str, max_size: u32) -> Result<PgStore, PgError> {
        PgStore::connect_pool(
            url,
            PoolOptions {
                max_size,
                ..PoolOptions::default()
            },
        )
    }

    /// As [`PgStore::connect`], with the pool sized and timed as `options` says.
    pub fn connect_pool(url: &str, options: PoolOptions) -> Result<PgStore, PgError> {
        if options.max_size == 0 {
            return Err(PgError::Invalid(
                "the database pool needs at least one connection".into(),
            ));
        }
        let config: ::postgres::Config = url
            .parse()
            .map_err(|_| PgError::Invalid("database URL is not a PostgreSQL URL".into()))?;
        let manager = Manager(PostgresConnectionManager::new(config, NoTls));
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size)
            // No test query per check-out (a round trip per transaction): a connection
            // that broke fails its transaction, which the caller sees, and is replaced.
            .test_on_check_out(false)
            // Connections are opened as the load needs them, not all at start.
            .min_idle(Some(1))
            .connection_timeout(options.wait)
            .build(manager)?;
        Ok(PgStore {
            pool: std::sync::Arc::new(Pool(Some(pool))),
            lanes: std::sync::Arc::default(),
            tokens: std::sync::Arc::default(),
        })
    }

    /// Whether the role connected as bypasses row-level security (a superuser, or
    /// `BYPASSRLS`): what the admin CLI needs, and what the server's role must never have.
    pub fn bypasses_rls(&self) -> Result<bool, DbError> {
        let mut conn = self.pool.get()?;
        Ok(conn
            .client
            .query_one(
                "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
                &[],
            )?
            .get(0))
    }

    /// Runs `f` in a transaction of `gemeente`: all of it is kept, or, if `f` fails, none of
    /// it. Blocks; call it from the blocking pool.
    pub fn transaction<T>(
        &self,
        gemeente: &str,
        f: impl FnOnce(&mut PgTx) -> Result<T, PgError>,
    ) -> Result<T, PgError> {
        self.run_raw(Some(gemeente), false, f)
    }

    /// Runs `f` in a read-only transaction of `gemeente`.
    pub fn read<T>(
        &self,
        gemeente: &str,
        f: impl FnOnce(&mut PgTx) -> Result<T, PgError>,
    ) -> Result<T, PgError> {
        self.run_raw(Some(gemeente), true, f)
    }

    /// Runs `f` in a read-only transaction with no gemeente: every tenant table is empty to
    /// it. For the cross-tenant look-ups that go through `route_lookup` (see
    /// [`PgStore::route`]).
    pub fn system<T>(&self, f: impl FnOnce(&mut PgTx) -> Result<T, PgError>) -> Result<T, PgError> {
        self.run_raw(None, true, f)
    }

    /// Which gemeente, and which row, the key belongs to, or `None`. The key is a token or
    /// code hash, or a username's bytes; nothing else of any tenant can be read this way.
    pub fn route(&self, kind: RouteKind, key: &[u8]) -> Result<Option<(String, String)>, PgError> {
        self.system(|tx| {
            let row = tx.client().query_opt(
                "SELECT gemeente_id, id FROM route_lookup($1, $2)",
                &[&kind.code(), &key],
            )?;
            Ok(row.map(|r| (r.get(0), r.get(1))))
        })
    }

    /// Runs `f` in a transaction of `scope` (read-only if asked), as a store [`Tx`]: the
    /// gemeente is set for this transaction only, before `f` runs. Blocks; call it from the
    /// blocking pool.
    pub(in crate::store) fn run<T>(
        &self,
        scope: &Scope,
        read_only: bool,
        f: impl FnOnce(&Tx) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.run_isolated(scope, read_only, None, f)
    }

    /// As [`PgStore::run`], read-only and `REPEATABLE READ`: every statement of `f` sees the
    /// same snapshot, taken at its first statement, also when others commit meanwhile (for
    /// [`super::Store::snapshot_blocking`]; plain reads stay `READ COMMITTED`).
    pub(in crate::store) fn run_snapshot<T>(
        &self,
        scope: &Scope,
        f: impl FnOnce(&Tx) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.run_isolated(
            scope,
            true,
            Some(::postgres::IsolationLevel::RepeatableRead),
            f,
        )
    }

    /// Runs `f` on a pooled connection outside any transaction: each statement is a
    /// transaction of its own (autocommit), with no gemeente set. Only for a statement
    /// that scopes itself, such as `devices_by_tokens` (migration 016).
    pub(in crate::store) fn run_alone<T>(
        &self,
        f: impl FnOnce(&mut ::postgres::Client) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut conn = self.pool.get()?;
        f(&mut conn.client)
    }

    fn run_isolated<T>(
        &self,
        scope: &Scope,
        read_only: bool,
        isolation: Option<::postgres::IsolationLevel>,
        f: impl FnOnce(&Tx) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut conn = self.pool.get()?;
        let PgConn { client, statements } = &mut *conn;
        let mut builder = client.build_transaction();
        if read_only {
            builder = builder.read_only(true);
        }
        if let Some(level) = isolation {
            builder = builder.isolation_level(level);
        }
        let mut tx = PgTransaction::cached(builder.start()?, statements);
        match scope {
            Scope::Gemeente(g) => {
                tx.execute(
                    "SELECT set_config('app.gemeente', $1, true)",
                    &[&g.to_string()],
                )?;
            }
            Scope::Route(kind, key) => {
                // One round trip: the look-up, and the setting only if the key is known.
                tx.execute(
                    "SELECT set_config('app.gemeente', r.gemeente_id, true)
                     FROM route_lookup($1, $2) r",
                    &[&kind.code(), key],
                )?;
            }
            Scope::System => {}
        }
        let tx = Tx::postgres(tx);
        let value = f(&tx)?;
        if !read_only {
            // PostgreSQL answers COMMIT on an aborted transaction (a statement failed and
            // `f` went on regardless) with a rollback, not an error: ask first, so that
            // nothing is reported stored that was not.
            tx.batch("SELECT 1")?;
        }
        if let Some(t) = tx.into_postgres() {
            t.commit()?;
        }
        Ok(value)
    }

    fn run_raw<T>(
        &self,
        gemeente: Option<&str>,
        read_only: bool,
        f: impl FnOnce(&mut PgTx) -> Result<T, PgError>,
    ) -> Result<T, PgError> {
        if gemeente.is_some_and(str::is_empty) {
            return Err(PgError::Invalid("empty gemeente".into()));
        }
        let mut conn = self.pool.get()?;
        let mut builder = conn.client.build_transaction();
        if read_only {
            builder = builder.read_only(true);
        }
        let mut tx = builder.start()?;
        if let Some(g) = gemeente {
            tx.execute("SELECT set_config('app.gemeente', $1, true)", &[&g])?;
        }
        let mut ptx = PgTx { tx };
        let value = f(&mut ptx)?;
        ptx.tx.commit()?;
        Ok(value)
    }
}

/// A fresh, migrated database in the cluster at `server_url` (a superuser's URL without a
/// database name, e.g. `postgres://postgres@127.0.0.1:5432`), for the test suites run on
/// PostgreSQL: each test gets a database of its own, copied from a migrated template that
/// is made once. Returns (the application role's URL, the superuser's URL, the database's
/// name); drop it with [`drop_database`].
pub fn fresh_database(server_url: &str) -> Result<(String, String, String), PgError> {
    let base = server_url.trim_end_matches('/');
    let mut c = Client::connect(&format!("{base}/postgres"), NoTls)?;
    // One maker of the template at a time, across test processes.
    c.execute("SELECT pg_advisory_lock(4242)", &[])?;
    let made = (|| -> Result<(), PgError> {
        let exists = c
            .query_opt(
                "SELECT 1 FROM pg_database WHERE datname = 'avondronde_template'",
                &[],
            )?
            .is_some();
        let current = exists && {
            let mut t = Client::connect(&format!("{base}/avondronde_template"), NoTls)?;
            let v: Option<i64> = t
                .query_one("SELECT max(version) FROM schema_migrations", &[])?
                .try_get(0)?;
            drop(t);
            v == MIGRATIONS.last().map(|m| m.0)
        };
        if !current {
            if exists {
                c.batch_execute("DROP DATABASE avondronde_template WITH (FORCE)")?;
            }
            c.batch_execute("CREATE DATABASE avondronde_template")?;
            let mut admin = PgAdmin::connect(&format!("{base}/avondronde_template"))?;
            admin.ensure_roles(None)?;
            admin.migrate()?;
            let today = jiff::Zoned::now().date().first_of_month();
            let from = today
                .checked_sub(jiff::Span::new().months(3))
                .map_err(|e| PgError::Invalid(e.to_string()))?;
            admin.ensure_contact_partitions(from, 6)?;
        }
        Ok(())
    })();
    c.execute("SELECT pg_advisory_unlock(4242)", &[])?;
    made?;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    c.batch_execute(&format!(
        "CREATE DATABASE {name} TEMPLATE avondronde_template"
    ))?;
    Ok((
        with_user_and_db(base, APP_ROLE, &name),
        format!("{base}/{name}"),
        name,
    ))
}

/// Drops a database made by [`fresh_database`].
pub fn drop_database(server_url: &str, name: &str) -> Result<(), PgError> {
    let base = server_url.trim_end_matches('/');
    let mut c = Client::connect(&format!("{base}/postgres"), NoTls)?;
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    Ok(())
}

/// `postgres://someone@host:port` with another user and a database.
fn with_user_and_db(base: &str, user: &str, db: &str) -> String {
    let rest = base
        .split_once("://")
        .map(|(_, r)| r.rsplit_once('@').map_or(r, |(_, host)| host))
        .unwrap_or(base);
    format!("postgres://{user}@{rest}/{db}")
}

/// A connection as a privileged role (the cluster's admin, or one granted
/// [`OWNER_ROLE`]), for migrations and partition maintenance. The admin CLI's, never the
/// server's.
pub struct PgAdmin {
    client: Client,
}

impl PgAdmin {
    /// Connects to `url` as a role that may `SET ROLE avondronde_owner` (or create it).
    pub fn connect(url: &str) -> Result<PgAdmin, PgError> {
        let client = Client::connect(url, NoTls)?;
        Ok(PgAdmin { client })
    }

    /// Creates the two roles if they are missing (this needs `CREATEROLE`), and gives the
    /// owner the right to create in the public schema. `app_password`, if given, is set as
    /// the application role's password.
    pub fn ensure_roles(&mut self, app_password: Option<&str>) -> Result<(), PgError> {
        self.client.batch_execute(&format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
                 CREATE ROLE {OWNER_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
               END IF;
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                 CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
               END IF;
             END $$;
             GRANT USAGE, CREATE ON SCHEMA public TO {OWNER_ROLE};
             GRANT USAGE ON SCHEMA public TO {APP_ROLE};
             GRANT {OWNER_ROLE} TO CURRENT_USER;"
        ))?;
        if let Some(pw) = app_password {
            // ALTER ROLE takes no parameters: quote the password as a literal.
            let quoted = pw.replace('\'', "''");
            self.client
                .batch_execute(&format!("ALTER ROLE {APP_ROLE} PASSWORD '{quoted}'"))?;
        }
        Ok(())
    }

    /// Applies the migrations not yet applied, each in its own transaction as the owner.
    /// Returns the versions applied.
    pub fn migrate(&mut self) -> Result<Vec<i64>, PgError> {
        self.migrate_to(i64::MAX)
    }

    /// As [`PgAdmin::migrate`], up to and including `version` (for the upgrade test).
    pub fn migrate_to(&mut self, version: i64) -> Result<Vec<i64>, PgError> {
        let mut applied = Vec::new();
        let mut tx = self.client.transaction()?;
        tx.batch_execute(&format!(
            "SET LOCAL ROLE {OWNER_ROLE};
             CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    bigint PRIMARY KEY,
                 name       text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );"
        ))?;
        tx.commit()?;
        for &(v, name, sql) in MIGRATIONS {
            if v > version {
                break;
            }
            let mut tx = self.client.transaction()?;
            tx.batch_execute(&format!("SET LOCAL ROLE {OWNER_ROLE}"))?;
            // One migrator at a time.
            tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE", &[])?;
            let done = tx
                .query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[&v])?
                .is_some();
            if done {
                continue;
            }
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&v, &name],
            )?;
            tx.commit()?;
            applied.push(v);
        }
        Ok(applied)
    }

    /// Creates the contact partitions of `months` months from the month of `from` on (those
    /// missing). Returns how many were created. Run it ahead of time (e.g. daily for the
    /// next three months), so that contacts land in their month and not in the default.
    pub fn ensure_contact_partitions(
        &mut self,
        from: jiff::civil::Date,
        months: i32,
    ) -> Result<i32, PgError> {
        let from = from.to_string();
        let mut tx = self.client.transaction()?;
        tx.batch_execute(&format!("SET LOCAL ROLE {OWNER_ROLE}"))?;
        let made: i32 = tx
            .query_one(
                "SELECT contact_partitions_ensure($1::text::date, $2)",
                &[&from, &months],
            )?
            .get(0);
        tx.commit()?;
        Ok(made)
    }

    /// Drops every contact month that ends on or before `before` (the first day of the
    /// oldest month still within the longest retention of any gemeente). Returns the names of
    /// the partitions dropped.
    pub fn drop_contact_months_before(
        &mut self,
        before: jiff::civil::Date,
    ) -> Result<Vec<String>, PgError> {
        let before = before.to_string();
        let mut tx = self.client.transaction()?;
        tx.batch_execute(&format!("SET LOCAL ROLE {OWNER_ROLE}"))?;
        let names = tx
            .query(
                "SELECT contact_partitions_drop_before($1::text::date)",
                &[&before],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.commit()?;
        Ok(names)
    }

    /// Detaches the contact month of `month` (to archive it with `pg_dump -t`, then drop it).
    /// Returns the detached table's name, or `None` when that month has no partition.
    pub fn detach_contact_month(
        &mut self,
        month: jiff::civil::Date,
    ) -> Result<Option<String>, PgError> {
        let month = month.to_string();
        let mut tx = self.client.transaction()?;
        tx.batch_execute(&format!("SET LOCAL ROLE {OWNER_ROLE}"))?;
        let name = tx
            .query_one("SELECT contact_partition_detach($1::text::date)", &[&month])?
            .get(0);
        tx.commit()?;
        Ok(name)
    }

    /// The connection, for the admin CLI's own statements and for tests.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl From<PgError> for DbError {
    fn from(e: PgError) -> DbError {
        match e {
            PgError::Postgres(e) => DbError::Postgres(e),
            PgError::Pool(e) => DbError::Pool(e),
            PgError::Invalid(m) | PgError::Domain(m) => DbError::Domain(m),
        }
    }
}
