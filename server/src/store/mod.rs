//! The store layer: the only code in the server that speaks SQL (issue 13).
//!
//! Domain code (ingest, accounts, the meldpunt, the hotspot map, …) decides *what* happens;
//! the store modules below decide *how it is kept*. The seam between them is [`Tx`]: an
//! open transaction, or a read snapshot, handed to a closure by [`Store::write`] or
//! [`Store::read`]. Domain code passes the `Tx` on to the store functions of the concept it
//! needs and never sees a connection, a statement or a row. That keeps every query in one
//! place per concept, so a second backend is added here and nowhere else.
//!
//! Today the backend is the embedded SQLite of [`crate::db`] (WAL, one group-committing
//! writer, a pool of readers). Exactly-once stays where it was: the sync ledger is written
//! in the same transaction as the item, and a receipt is sent only after the commit.
//!
//! One module per concept; each owns its tables:
//! - [`accounts`]: users, their password hashes, TOTP secrets and last used step, recovery
//!   codes, first-password and reset codes, and their wijken as the admin's list shows them.
//! - [`sessions`]: web sessions, keyed by the hash of their token.
//! - [`devices`]: phones (token hashes, revocation, enrolment codes) and their own reports
//!   (outbox counts, key refusals).
//! - [`hotspot`]: what the hotspot map reads (contacts by wijk and since a ledger point,
//!   archive groups), the coordinator scope and the disclosure settings.
//! - [`care_forms`]: sealed care forms in the meldpunt inbox, their handling, feedback to
//!   the reporter and the open-forms retention marks.
//! - [`meldpunt_keys`]: the meldpunt's key rows and the signed key chain.
//! - [`audit`]: the audit log's rows and each gemeente's chain head.
//! - [`retention`]: the retention periods and the sweeps that delete and archive by age.
//! - [`rules`]: norm sets and area rules as the admin changes them.
//! - [`setup`]: gemeenten, wijken and places as set up and imported.
//! - [`sync`]: the sync ledger and everything a push writes (rounds, contacts,
//!   corrections, arriving care forms); the feedback a pull reads.
//! - [`config`]: what a phone's configuration is built from (gemeente, wijken, places,
//!   norms, area rules, the current meldpunt key), the config version, the phone policy.
//! - [`login_throttle`]: what the login throttle shares between server nodes and restarts
//!   (its secret, and the failures that lock an account for an hour).
//! - [`migrate`]: moving one gemeente between the two backends.
//! - [`postgres`]: the PostgreSQL backend (pool, per-gemeente transactions under row-level
//!   security, its migrations and partition maintenance).
//!
//! **Two backends.** A [`Store`] is either the embedded SQLite or a PostgreSQL pool, chosen
//! at start-up; a [`Tx`] is a transaction of either, and each store function speaks both
//! dialects (`match tx.backend()`), so the SQL of one concept stays in one file. Every
//! transaction names its [`Scope`]: the gemeente whose rows it may touch. PostgreSQL
//! enforces that with row-level security (the gemeente is set for the transaction only);
//! SQLite's queries carry the gemeente in their `WHERE`, as before.

use std::cell::{RefCell, RefMut};
use std::path::Path;
use std::sync::Arc;

use avondronde_shared::ids::GemeenteId;
use rusqlite::Connection;

use crate::db::{Db, DbError};
use postgres::{PgStore, PgTransaction};
pub use postgres::{PoolOptions, RouteKind};

pub mod accounts;
pub mod audit;
pub mod care_forms;
pub mod config;
pub mod devices;
pub mod hotspot;
pub mod login_throttle;
pub mod meldpunt_keys;
pub mod migrate;
pub mod postgres;
pub mod retention;
pub mod rules;
pub mod sessions;
pub mod setup;
pub mod sync;

/// Runs `f` all-or-nothing in a savepoint, which works both on its own (the command line)
/// and inside the database writer's transaction (the server): if `f` fails, nothing it
/// wrote is kept and its error is returned.
pub fn atomically<T, E: From<DbError>>(tx: &Tx, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let batch = |sql: &str| tx.batch(sql).map_err(E::from);
    batch("SAVEPOINT atomically")?;
    match f() {
        Ok(v) => {
            batch("RELEASE atomically")?;
            Ok(v)
        }
        Err(e) => {
            batch("ROLLBACK TO atomically; RELEASE atomically")?;
            Err(e)
        }
    }
}

/// Whose rows a transaction may touch.
///
/// On PostgreSQL this is enforced by the database: the transaction's gemeente is set (for
/// that transaction only) before any store function runs, and row-level security hides
/// every row of every other gemeente. On SQLite the store's queries name the gemeente
/// themselves; the scope is not needed there.
#[derive(Clone, Debug)]
pub enum Scope {
    /// One gemeente's rows.
    Gemeente(GemeenteId),
    /// The rows of the gemeente a secret belongs to (a device token's or session's hash, an
    /// enrolment or reset code's hash, a username's bytes), found inside the transaction.
    /// When the key is unknown, no gemeente is set and every tenant table is empty.
    Route(RouteKind, Vec<u8>),
    /// No gemeente: only the cross-tenant questions (which gemeenten exist) are answered.
    /// For start-up and sweeps, which then open a transaction per gemeente.
    System,
}

impl From<GemeenteId> for Scope {
    fn from(g: GemeenteId) -> Scope {
        Scope::Gemeente(g)
    }
}

impl From<&GemeenteId> for Scope {
    fn from(g: &GemeenteId) -> Scope {
        Scope::Gemeente(*g)
    }
}

/// An open transaction (from [`Store::write`]) or a consistent read (from
/// [`Store::read`]), on either backend. Only the store modules can reach the connection
/// inside.
pub struct Tx<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Sqlite(&'a Connection),
    Postgres(RefCell<PgTransaction<'a>>),
}

/// The connection behind a [`Tx`], for the store modules: `match tx.backend()` and speak
/// that backend's dialect.
pub(in crate::store) enum Backend<'t, 'a> {
    /// The embedded SQLite.
    Sqlite(&'a Connection),
    /// A PostgreSQL transaction, with the scope's gemeente set.
    Postgres(RefMut<'t, PgTransaction<'a>>),
}

impl<'a> Tx<'a> {
    fn sqlite(conn: &'a Connection) -> Tx<'a> {
        Tx {
            inner: Inner::Sqlite(conn),
        }
    }

    pub(in crate::store) fn postgres(tx: impl Into<PgTransaction<'a>>) -> Tx<'a> {
        Tx {
            inner: Inner::Postgres(RefCell::new(tx.into())),
        }
    }

    /// The PostgreSQL transaction back, to commit it.
    pub(in crate::store) fn into_postgres(self) -> Option<::postgres::Transaction<'a>> {
        match self.inner {
            Inner::Postgres(t) => Some(t.into_inner().into_inner()),
            Inner::Sqlite(_) => None,
        }
    }

    /// The connection of this transaction's backend, for the store modules only.
    pub(in crate::store) fn backend(&self) -> Backend<'_, 'a> {
        match &self.inner {
            Inner::Sqlite(c) => Backend::Sqlite(c),
            Inner::Postgres(t) => Backend::Postgres(t.borrow_mut()),
        }
    }

    /// Runs statements without results (savepoints), on either backend.
    pub(in crate::store) fn batch(&self, sql: &str) -> Result<(), DbError> {
        match self.backend() {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Postgres(mut t) => Ok(t.batch_execute(sql)?),
        }
    }

    /// Makes `gemeente` this transaction's gemeente from here on (PostgreSQL; nothing on
    /// SQLite). Only for the store functions that create a gemeente or find one by its
    /// code for the set-up commands: everything else gets its gemeente from the [`Scope`].
    pub(in crate::store) fn enter(&self, gemeente: GemeenteId) -> Result<(), DbError> {
        if let Backend::Postgres(mut t) = self.backend() {
            t.execute(
                "SELECT set_config('app.gemeente', $1, true)",
                &[&gemeente.to_string()],
            )?;
        }
        Ok(())
    }

    /// Whether this is a PostgreSQL transaction (for the few callers whose work differs,
    /// such as retention dropping whole months).
    pub fn is_postgres(&self) -> bool {
        matches!(self.inner, Inner::Postgres(_))
    }

    /// A `Tx` over a SQLite connection the caller opened itself: for tests and benchmarks
    /// that arrange rows through the server's own functions on a connection they also
    /// inspect. The caller owns the transaction (if any).
    pub fn over(conn: &'a Connection) -> Tx<'a> {
        Tx::sqlite(conn)
    }
}

/// The server's handle to its storage: the embedded SQLite or a PostgreSQL pool. Cheap to
/// clone.
#[derive(Clone)]
pub struct Store {
    backend: StoreBackend,
}

#[derive(Clone)]
enum StoreBackend {
    Sqlite(Arc<Db>),
    Postgres(PgStore),
}

/// A blocking-pool task that did not finish (the runtime is shutting down).
fn joined<T>(r: Result<Result<T, DbError>, tokio::task::JoinError>) -> Result<T, DbError> {
    r.map_err(|_| DbError::WriterGone)?
}

impl Store {
    /// Opens (creating and migrating if needed) the embedded database at `path`.
    pub fn open(path: &Path) -> Result<Store, DbError> {
        Ok(Store::over(Arc::new(Db::open(path)?)))
    }

    /// A store over an already open SQLite database.
    pub fn over(db: Arc<Db>) -> Store {
        Store {
            backend: StoreBackend::Sqlite(db),
        }
    }

    /// Connects to a PostgreSQL database already set up with `admin` (roles and
    /// migrations), as the application role in `url`.
    ///
    /// Refuses a role that bypasses row-level security (a superuser, or `BYPASSRLS`): the
    /// server would then read every gemeente's rows, and tenant isolation would rest on
    /// the code alone.
    pub fn connect(url: &str) -> Result<Store, DbError> {
        Store::connect_pool(url, PoolOptions::default())
    }

    /// As [`Store::connect`], with the connection pool sized as `options` says.
    pub fn connect_pool(url: &str, options: PoolOptions) -> Result<Store, DbError> {
        let pg = PgStore::connect_pool(url, options)?;
        if off_runtime(|| pg.bypasses_rls())? {
            return Err(DbError::Domain(
                "the server must connect as the application role (avondronde_app), not as a \
                 role that bypasses row-level security; see admin postgres-init"
                    .into(),
            ));
        }
        Ok(Store {
            backend: StoreBackend::Postgres(pg),
        })
    }

    /// Whether this store is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, StoreBackend::Postgres(_))
    }

    /// Runs `f` in a write transaction of `scope` and returns its result once committed.
    /// If `f` fails, nothing it wrote is kept.
    pub async fn write<T, F>(&self, scope: impl Into<Scope>, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    {
        match &self.backend {
            StoreBackend::Sqlite(db) => db.write(move |c| f(&Tx::sqlite(c))).await,
            StoreBackend::Postgres(pg) => {
                let (pg, scope) = (pg.clone(), scope.into());
                joined(tokio::task::spawn_blocking(move || pg.run(&scope, false, f)).await)
            }
        }
    }

    /// Queues `f` for writing and returns a future of its result, which resolves once
    /// committed. `f` is queued at once for a group-committing writer (SQLite's, see
    /// [`Db::submit`]; on PostgreSQL the gemeente's, see `postgres::writer`) and jobs run in
    /// the order they were queued, so a caller can prepare the next part of a request while
    /// the writer stores this one. If `f` fails, only its own savepoint is rolled back. On
    /// PostgreSQL a scope other than a gemeente runs as a transaction of its own when the
    /// future is awaited.
    pub fn submit<T, F, S>(
        &self,
        scope: S,
        f: F,
    ) -> Result<impl Future<Output = Result<T, DbError>> + use<T, F, S>, DbError>
    where
        S: Into<Scope>,
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    {
        let job: Submitted<T, F> = match (&self.backend, scope.into()) {
            (StoreBackend::Sqlite(db), _) => {
                Submitted::Queued(Box::pin(db.submit(move |c| f(&Tx::sqlite(c)))?))
            }
            (StoreBackend::Postgres(pg), Scope::Gemeente(g)) => {
                Submitted::Queued(Box::pin(pg.submit(g, f)))
            }
            (StoreBackend::Postgres(pg), scope) => Submitted::Postgres(pg.clone(), scope, f),
        };
        Ok(async move {
            match job {
                Submitted::Queued(f) => f.await,
                Submitted::Postgres(pg, scope, f) => {
                    joined(tokio::task::spawn_blocking(move || pg.run(&scope, false, f)).await)
                }
            }
        })
    }

    /// Runs `f` as a read of `scope` on the blocking pool.
    pub async fn read<T, F>(&self, scope: impl Into<Scope>, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    {
        match &self.backend {
            StoreBackend::Sqlite(db) => db.read(move |c| f(&Tx::sqlite(c))).await,
            StoreBackend::Postgres(pg) => {
                let (pg, scope) = (pg.clone(), scope.into());
                joined(tokio::task::spawn_blocking(move || pg.run(&scope, true, f)).await)
            }
        }
    }

    /// A read of a few microseconds, run on the caller's task when a SQLite reader is free
    /// (see [`Db::read_point`]); on PostgreSQL, a read on the blocking pool.
    pub async fn read_point<T, F>(&self, scope: impl Into<Scope>, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    {
        match &self.backend {
            StoreBackend::Sqlite(db) => db.read_point(move |c| f(&Tx::sqlite(c))).await,
            StoreBackend::Postgres(_) => self.read(scope, f).await,
        }
    }

    /// The device whose token has this hash ([`devices::by_token_hash`]), for the check
    /// that comes before every request of a phone: on PostgreSQL asked together with the
    /// look-ups of other requests, in one statement without a transaction around it
    /// (`store/postgres/tokens.rs`).
    pub async fn device_by_token_hash(
        &self,
        token_hash: Vec<u8>,
    ) -> Result<Option<devices::TokenRow>, DbError> {
        match &self.backend {
            StoreBackend::Sqlite(db) => {
                db.read_point(move |c| devices::by_token_hash(&Tx::sqlite(c), &token_hash))
                    .await
            }
            StoreBackend::Postgres(pg) => pg.device_by_token_hash(token_hash).await,
        }
    }

    /// Runs `f` as one consistent read (a read transaction) on this thread, for code
    /// already on a blocking thread that reads several statements which must agree. On
    /// PostgreSQL the transaction is `REPEATABLE READ` (one snapshot for all statements; a
    /// read-only one never fails to serialise); SQLite's read transaction is a snapshot
    /// already.
    pub fn snapshot_blocking<T>(
        &self,
        scope: impl Into<Scope>,
        f: impl FnOnce(&Tx) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        match &self.backend {
            StoreBackend::Sqlite(db) => db.read_blocking(|c| {
                let t = c.unchecked_transaction()?;
                let value = f(&Tx::sqlite(&t))?;
                t.commit()?;
                Ok(value)
            }),
            // REPEATABLE READ: the statements of `f` agree even while others commit.
            StoreBackend::Postgres(pg) => pg.run_snapshot(&scope.into(), f),
        }
    }

    /// Runs `f` as a read on this thread (for code already on a blocking thread).
    pub fn read_blocking<T>(
        &self,
        scope: impl Into<Scope>,
        f: impl FnOnce(&Tx) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        match &self.backend {
            StoreBackend::Sqlite(db) => db.read_blocking(|c| f(&Tx::sqlite(c))),
            StoreBackend::Postgres(pg) => pg.run(&scope.into(), true, f),
        }
    }

    /// Every gemeente in the database, for start-up and sweeps that then work gemeente by
    /// gemeente.
    pub async fn gemeenten(&self) -> Result<Vec<GemeenteId>, DbError> {
        self.read(Scope::System, setup::gemeenten).await
    }

    /// Whether the database answers a trivial query (the health check).
    pub async fn ping(&self) -> Result<(), DbError> {
        self.read(Scope::System, |tx| tx.batch("SELECT 1")).await
    }
}

enum Submitted<T, F> {
    /// Queued for a group-committing writer: SQLite's, or the gemeente's on PostgreSQL.
    Queued(std::pin::Pin<Box<dyn Future<Output = Result<T, DbError>> + Send>>),
    /// A transaction of its own, run when awaited.
    Postgres(PgStore, Scope, F),
}

/// One direct connection, for the admin CLI and for tests: no writer thread, no pool.
/// Each [`Direct::transaction`] commits on its own.
///
/// On PostgreSQL it connects as a role that bypasses row-level security (the cluster's
/// admin): the admin CLI works for the provider across gemeenten, and the store's queries
/// name their gemeente themselves. The server never connects that way.
pub struct Direct {
    backend: DirectBackend,
}

enum DirectBackend {
    Sqlite(Connection),
    Postgres(PgStore),
}

impl Direct {
    /// Opens (creating and migrating if needed) the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Direct, DbError> {
        Ok(Direct {
            backend: DirectBackend::Sqlite(crate::db::open_connection(path)?),
        })
    }

    /// A migrated SQLite database in memory, for tests.
    pub fn in_memory() -> Result<Direct, DbError> {
        Ok(Direct {
            backend: DirectBackend::Sqlite(crate::db::open_connection(Path::new(":memory:"))?),
        })
    }

    /// One connection to a PostgreSQL database already set up (roles and migrations), as
    /// the role in `url`, which must bypass row-level security.
    pub fn connect(url: &str) -> Result<Direct, DbError> {
        let pg = PgStore::connect_with(url, 1)?;
        if !off_runtime(|| pg.bypasses_rls())? {
            return Err(DbError::Domain(
                "the admin commands need a PostgreSQL role that bypasses row-level security \
                 (the cluster's admin, e.g. postgres://postgres@…); the server's own role \
                 sees one gemeente at a time"
                    .into(),
            ));
        }
        Ok(Direct {
            backend: DirectBackend::Postgres(pg),
        })
    }

    /// Runs `f` in one transaction: all of it is kept, or, if `f` fails, none of it.
    pub fn transaction<T: Send>(
        &mut self,
        f: impl FnOnce(&Tx) -> Result<T, DbError> + Send,
    ) -> Result<T, DbError> {
        match &mut self.backend {
            DirectBackend::Sqlite(conn) => {
                // Immediate: take the write lock up front, so a transaction that reads and
                // then writes waits for a running server's writer instead of failing.
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let value = f(&Tx::sqlite(&tx))?;
                tx.commit()?;
                Ok(value)
            }
            DirectBackend::Postgres(pg) => off_runtime(|| pg.run(&Scope::System, false, f)),
        }
    }

    /// Runs `f` as a read.
    pub fn read<T: Send>(
        &self,
        f: impl FnOnce(&Tx) -> Result<T, DbError> + Send,
    ) -> Result<T, DbError> {
        match &self.backend {
            DirectBackend::Sqlite(conn) => f(&Tx::sqlite(conn)),
            DirectBackend::Postgres(pg) => off_runtime(|| pg.run(&Scope::System, true, f)),
        }
    }
}

/// Runs `f` on a thread of its own when called on an async task (a test's, say): the
/// synchronous PostgreSQL client blocks on a runtime of its own, which tokio does not allow
/// on a thread that drives one.
fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T, DbError> + Send) -> Result<T, DbError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}
