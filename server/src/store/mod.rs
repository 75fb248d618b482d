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
//! - [`postgres`]: the PostgreSQL backend (pool, per-gemeente transactions under row-level
//!   security, its migrations and partition maintenance); not yet wired to the server.

use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;

use crate::db::{Db, DbError};

pub mod accounts;
pub mod audit;
pub mod care_forms;
pub mod config;
pub mod devices;
pub mod hotspot;
pub mod meldpunt_keys;
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
    let batch = |sql: &str| {
        tx.conn()
            .execute_batch(sql)
            .map_err(|e| E::from(DbError::from(e)))
    };
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

/// An open transaction (from [`Store::write`]) or a consistent read (from
/// [`Store::read`]). Only the store modules can reach the connection inside.
pub struct Tx<'a> {
    conn: &'a Connection,
}

impl<'a> Tx<'a> {
    fn sqlite(conn: &'a Connection) -> Tx<'a> {
        Tx { conn }
    }

    /// The SQLite connection, for the store modules only.
    pub(in crate::store) fn conn(&self) -> &'a Connection {
        self.conn
    }

    /// A `Tx` over a connection the caller opened itself: for tests and benchmarks that
    /// arrange rows through the server's own functions on a connection they also inspect.
    /// The caller owns the transaction (if any).
    pub fn over(conn: &'a Connection) -> Tx<'a> {
        Tx { conn }
    }
}

/// The server's handle to its storage. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Db>,
}

impl Store {
    /// Opens (creating and migrating if needed) the embedded database at `path`.
    pub fn open(path: &Path) -> Result<Store, DbError> {
        Ok(Store::over(Arc::new(Db::open(path)?)))
    }

    /// A store over an already open database.
    pub fn over(db: Arc<Db>) -> Store {
        Store { db }
    }

    /// Runs `f` in a write transaction and returns its result once committed. If `f`
    /// fails, nothing it wrote is kept.
    pub async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    {
        self.db.write(move |c| f(&Tx::sqlite(c))).await
    }

    /// Queues `f` for writing at once and returns a future of its result, which resolves
    /// once committed. Jobs run in the order they were queued (see [`Db::submit`]).
    pub fn submit<T, F>(
        &self,
        f: F,
    ) -> Result<impl Future<Output = Result<T, DbError>> + use<T, F>, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    {
        self.db.submit(move |c| f(&Tx::sqlite(c)))
    }

    /// Runs `f` as a read on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    {
        self.db.read(move |c| f(&Tx::sqlite(c))).await
    }

    /// A read of a few microseconds, run on the caller's task when a reader is free
    /// (see [`Db::read_point`]).
    pub async fn read_point<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    {
        self.db.read_point(move |c| f(&Tx::sqlite(c))).await
    }

    /// Runs `f` as one consistent read (a read transaction) on this thread, for code
    /// already on a blocking thread that reads several statements which must agree.
    pub fn snapshot_blocking<T>(
        &self,
        f: impl FnOnce(&Tx) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.db.read_blocking(|c| {
            let t = c.unchecked_transaction()?;
            let value = f(&Tx::sqlite(&t))?;
            t.commit()?;
            Ok(value)
        })
    }

    /// Whether the database answers a trivial query (the health check).
    pub async fn ping(&self) -> Result<(), DbError> {
        self.read(|tx| {
            tx.conn()
                .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
        .await
    }

    /// Runs `f` as a read on this thread (for code already on a blocking thread).
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&Tx) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.db.read_blocking(|c| f(&Tx::sqlite(c)))
    }
}

/// One direct connection, for the admin CLI and for tests: no writer thread, no pool.
/// Each [`Direct::transaction`] commits on its own.
pub struct Direct {
    conn: Connection,
}

impl Direct {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Direct, DbError> {
        Ok(Direct {
            conn: crate::db::open_connection(path)?,
        })
    }

    /// A migrated database in memory, for tests.
    pub fn in_memory() -> Result<Direct, DbError> {
        Ok(Direct {
            conn: crate::db::open_connection(Path::new(":memory:"))?,
        })
    }

    /// Runs `f` in one transaction: all of it is kept, or, if `f` fails, none of it.
    pub fn transaction<T>(
        &mut self,
        f: impl FnOnce(&Tx) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let tx = self.conn.transaction()?;
        let value = f(&Tx::sqlite(&tx))?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` as a read.
    pub fn read<T>(&self, f: impl FnOnce(&Tx) -> Result<T, DbError>) -> Result<T, DbError> {
        f(&Tx::sqlite(&self.conn))
    }
}
