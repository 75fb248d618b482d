//! The embedded store: SQLite in WAL mode, with migrations compiled into the binary.
//!
//! All writes go through one writer thread that **group-commits**: it takes every job that
//! is waiting, runs each in its own savepoint (so one failing job never undoes another),
//! commits once, and only then answers each caller. That is what lets the server promise
//! "a receipt is sent only after the commit" and still take hundreds of devices at once
//! on one disk. Reads use a small pool of connections of their own.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

/// The migrations, in order. `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_meldpunt.sql"),
    include_str!("migrations/003_lean_ingest.sql"),
    include_str!("migrations/004_contact_archive.sql"),
    include_str!("migrations/005_disclosure_scope.sql"),
    include_str!("migrations/006_accounts.sql"),
    include_str!("migrations/007_key_chain.sql"),
    include_str!("migrations/008_unknown_wijk_round.sql"),
    include_str!("migrations/009_totp_single_use.sql"),
    include_str!("migrations/010_phone_policy.sql"),
    include_str!("migrations/011_record_key_default.sql"),
    include_str!("migrations/012_contact_by_seq.sql"),
    include_str!("migrations/013_login_throttle.sql"),
    include_str!("migrations/014_login_throttle_keeps_the_most_failed.sql"),
];

/// Jobs the writer takes into one transaction at most.
const MAX_GROUP: usize = 512;
/// How long the writer keeps adding queued jobs to one transaction. Every job in a group
/// waits for its commit, so under a steady stream of pushes an unbounded group would hold
/// all their receipts back until the stream stops; a commit every few milliseconds costs
/// little in WAL mode.
const MAX_GROUP_TIME: std::time::Duration = std::time::Duration::from_millis(10);

/// A storage failure. Its text may name tables and constraints, never personal data.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite said no.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL said no, or the connection broke (shown with the server's SQLSTATE and
    /// message, never the statement's parameters).
    #[error("database: {}", crate::store::postgres::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    /// No PostgreSQL connection could be had from the pool in time.
    #[error("database pool: {0}")]
    Pool(#[from] r2d2_postgres::r2d2::Error),
    /// As [`DbError::Pool`], for a write queued with others (the PostgreSQL group commit):
    /// no connection could be had in time for the group.
    #[error("database busy: {0}")]
    Busy(String),
    /// Stored JSON could not be read back.
    #[error("stored value is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// The writer thread is gone (the server is shutting down).
    #[error("database writer stopped")]
    WriterGone,
    /// A job decided to fail with a domain error, carried to the caller as is.
    #[error("{0}")]
    Domain(String),
}

impl DbError {
    /// The same failure again, for each of the callers that shared the one that failed (a
    /// job of many pushes, a statement of many look-ups): a busy pool stays busy (503,
    /// come back later), anything else is told as what it said.
    pub fn again(&self) -> DbError {
        match self {
            DbError::Busy(m) => DbError::Busy(m.clone()),
            DbError::Pool(p) => DbError::Busy(p.to_string()),
            DbError::WriterGone => DbError::WriterGone,
            other => DbError::Domain(other.to_string()),
        }
    }
}

type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A queued write: run on the writer's connection inside the open transaction, or, with
/// `None`, told that no transaction could be started and must not run.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Deliver + Send>;

/// Handle to the database: one group-committing writer and a pool of readers.
pub struct Db {
    jobs: mpsc::Sender<Job>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // 8 KiB pages: a push's rows and index entries touch fewer of them, so a commit writes
    // fewer log frames (a burst of 200 pushes was about 7% faster than with 4 KiB). Only a
    // new, empty database takes this, and it must come before WAL mode; an existing one
    // keeps the page size it was made with. Savepoint journals in memory, not in a
    // temporary file: each job in a group commit runs in its own savepoint.
    conn.execute_batch(
        "PRAGMA page_size = 8192;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -32000;
         PRAGMA temp_store = MEMORY;",
    )?;
    // A stable plan per statement. Without this the bundled SQLite (built with STAT4)
    // re-prepares some cached statements, such as the device-token lookup, on every new
    // bound value: a full parse and plan per request.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // Room for every statement the server caches, so none is evicted and re-prepared.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// Opens (creating if needed) the database at `path` and runs pending migrations.
pub fn open_connection(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    migrate(&conn)?;
    Ok(conn)
}

fn migrate(conn: &Connection) -> Result<(), DbError> {
    let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let done = usize::try_from(done).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))?;
    }
    Ok(())
}

impl Db {
    /// Opens the database at `path`, migrates it and starts the writer thread.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let writer = open_connection(path)?;
        // Checkpoints (copying the log back into the database file) run on a thread of
        // their own, so the writer, which every push waits for, never stops for one.
        // SQLite's automatic checkpoint stays as a backstop far above the usual size.
        writer.execute_batch("PRAGMA wal_autocheckpoint = 20000;")?;
        let checkpointer = Connection::open(path)?;
        configure(&checkpointer)?;
        let (kick, kicked) = mpsc::sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, kicked))
            .map_err(|e| DbError::Domain(format!("cannot start checkpointer: {e}")))?;
        let readers = (0..4)
            .map(|_| {
                let c = Connection::open(path)?;
                configure(&c)?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || writer_loop(writer, rx, kick))
            .map_err(|e| DbError::Domain(format!("cannot start writer: {e}")))?;
        Ok(Db {
            jobs,
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Runs `f` in the writer's transaction and returns its result once committed.
    ///
    /// If `f` fails, only its own savepoint is rolled back.
    pub async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        self.submit(f)?.await
    }

    /// Queues `f` for the writer at once and returns a future of its result, which
    /// resolves once committed. Jobs run in the order they were queued, so a caller can
    /// queue the parts of one request in order, keep working on the next part while the
    /// writer stores the previous one, and then await them all.
    ///
    /// If `f` fails, only its own savepoint is rolled back.
    pub fn submit<T, F>(
        &self,
        f: F,
    ) -> Result<impl Future<Output = Result<T, DbError>> + use<T, F>, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, DbError>>();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => in_savepoint(conn, f),
                None => Err(DbError::Domain("no write transaction".into())),
            };
            Box::new(move |commit: Result<(), String>| {
                let outcome = match commit {
                    Ok(()) => result,
                    Err(e) => Err(DbError::Domain(format!("commit failed: {e}"))),
                };
                let _ = tx.send(outcome);
            })
        });
        self.jobs.send(job).map_err(|_| DbError::WriterGone)?;
        Ok(async move { rx.await.map_err(|_| DbError::WriterGone)? })
    }

    /// For a point lookup of a few microseconds on a request's own task: runs `f` at once
    /// on a free reader connection, where handing it to the blocking pool would cost more
    /// than the query (two thread switches). Only if every reader is busy (say, loading
    /// a hotspot index) does it wait for one on the blocking pool, so an async worker is
    /// never held up behind a long read.
    pub async fn read_point<T, F>(self: &std::sync::Arc<Self>, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        for reader in &self.readers {
            if let Ok(conn) = reader.try_lock() {
                return f(&conn);
            }
        }
        self.read(f).await
    }

    /// Runs `f` on a reader connection on the blocking pool.
    pub async fn read<T, F>(self: &std::sync::Arc<Self>, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_blocking(f))
            .await
            .map_err(|_| DbError::WriterGone)?
    }

    /// Runs `f` on a reader connection on this thread.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        for i in 0..n {
            if let Ok(conn) = self.readers[(start + i) % n].try_lock() {
                return f(&conn);
            }
        }
        let conn = self.readers[start % n]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&conn)
    }
}

fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    // Cached statements: a group commit opens and releases one savepoint per job.
    conn.prepare_cached("SAVEPOINT job")?.execute([])?;
    match f(conn) {
        Ok(v) => {
            conn.prepare_cached("RELEASE job")?.execute([])?;
            Ok(v)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(e)
        }
    }
}

/// Rows written before a background checkpoint is due: about the thousand log pages at
/// which SQLite would checkpoint by itself.
const CHECKPOINT_EVERY_ROWS: u64 = 2000;
/// A due checkpoint waits until the writer has had nothing to do for this long: a burst
/// of pushes then has both cores to itself, and the log is copied back once it is over.
const CHECKPOINT_WHEN_IDLE: std::time::Duration = std::time::Duration::from_millis(20);
/// Rows after which a checkpoint is asked for even while pushes keep coming, so that a
/// steady stream does not grow the log without end. SQLite's own checkpoint (see
/// [`Db::open`]) stays the backstop behind this one.
const CHECKPOINT_BUSY_ROWS: u64 = 50_000;

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>, kick: mpsc::SyncSender<()>) {
    let mut checkpointed_at = conn.total_changes();
    // Asks for a checkpoint once `rows` have been written since the last one.
    let mut checkpoint_after = |rows: u64| {
        if conn.total_changes().saturating_sub(checkpointed_at) >= rows {
            checkpointed_at = conn.total_changes();
            // Full means a checkpoint is already pending: nothing to add.
            let _ = kick.try_send(());
        }
    };
    loop {
        let next = match rx.recv_timeout(CHECKPOINT_WHEN_IDLE) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                checkpoint_after(CHECKPOINT_EVERY_ROWS);
                rx.recv().ok()
            }
            received => received.ok(),
        };
        let Some(first) = next else {
            return;
        };
        let mut delivers: Vec<Deliver> = Vec::with_capacity(16);
        let begun = conn
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut s| s.execute([]));
        if let Err(e) = begun {
            // Without a transaction the job must not run: its savepoint would commit on
            // its own while the caller is told it failed.
            first(None)(Err(e.to_string()));
            continue;
        }
        let started = std::time::Instant::now();
        delivers.push(first(Some(&conn)));
        while delivers.len() < MAX_GROUP && started.elapsed() < MAX_GROUP_TIME {
            match rx.try_recv() {
                Ok(job) => delivers.push(job(Some(&conn))),
                Err(_) => break,
            }
        }
        let commit = conn
            .prepare_cached("COMMIT")
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(|e| e.to_string());
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for deliver in delivers {
            deliver(commit.clone());
        }
        checkpoint_after(CHECKPOINT_BUSY_ROWS);
    }
}

/// Copies the log back into the database whenever the writer asks, without ever making
/// the writer or a reader wait (a passive checkpoint). Ends with the writer.
fn checkpoint_loop(conn: Connection, kicked: mpsc::Receiver<()>) {
    for () in kicked.iter() {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

/// The server clock in unix milliseconds.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values in test table `t`, in order.
    async fn rows_of_t(db: &std::sync::Arc<Db>) -> Vec<i64> {
        db.read(|c| {
            let mut s = c.prepare("SELECT x FROM t ORDER BY x")?;
            let v = s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            Ok(v)
        })
        .await
        .expect("read")
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_only_itself_in_a_group_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = std::sync::Arc::new(Db::open(&dir.path().join("t.db")).expect("open"));
        db.write(|c| {
            c.execute("CREATE TABLE t (x INTEGER UNIQUE)", [])?;
            Ok(())
        })
        .await
        .expect("create");
        let ok = db.write(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?));
        let bad = db.write(|c| {
            c.execute("INSERT INTO t VALUES (2)", [])?;
            c.execute("INSERT INTO t VALUES (1)", [])?; // unique violation
            Ok(())
        });
        let (ok, bad) = tokio::join!(ok, bad);
        assert!(ok.is_ok());
        assert!(bad.is_err());
        let rows = rows_of_t(&db).await;
        assert_eq!(
            rows,
            vec![1],
            "the failed job's insert of 2 was rolled back"
        );
    }

    #[tokio::test]
    async fn a_job_whose_transaction_cannot_begin_fails_alone_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("b.db");
        let db = std::sync::Arc::new(Db::open(&path).expect("open"));
        db.write(|c| {
            c.execute_batch("CREATE TABLE t (x INTEGER); PRAGMA busy_timeout = 20;")?;
            Ok(())
        })
        .await
        .expect("create");
        // Another process holds the write lock, so the writer's BEGIN IMMEDIATE times out.
        let other = Connection::open(&path).expect("other connection");
        other.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let blocked = db
            .write(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?))
            .await;
        assert!(
            blocked.is_err(),
            "a job without a transaction reports failure"
        );
        other.execute_batch("ROLLBACK").expect("unlock");
        db.write(|c| Ok(c.execute("INSERT INTO t VALUES (2)", [])?))
            .await
            .expect("the writer works again once the lock is free");
        let rows = rows_of_t(&db).await;
        assert_eq!(rows, vec![2], "the refused job wrote nothing");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_point_read_waits_on_the_blocking_pool_when_every_reader_is_busy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = std::sync::Arc::new(Db::open(&dir.path().join("p.db")).expect("open"));
        let busy: Vec<_> = db
            .readers
            .iter()
            .map(|r| r.lock().unwrap_or_else(|p| p.into_inner()))
            .collect();
        let reading = tokio::spawn({
            let db = db.clone();
            async move {
                db.read_point(|c| Ok(c.query_row("SELECT 7", [], |r| r.get::<_, i64>(0))?))
                    .await
            }
        });
        // On this single-threaded runtime the read gets its turn here; had it blocked on a
        // busy reader in place, this task would never run again.
        tokio::task::yield_now().await;
        assert!(!reading.is_finished());
        drop(busy);
        assert_eq!(reading.await.expect("task").expect("read"), 7);
    }

    #[test]
    fn the_ledger_keeps_its_items_and_their_order_through_the_lean_ingest_migration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join("l.db")).expect("open");
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.execute_batch(
            "PRAGMA user_version = 2; PRAGMA foreign_keys = OFF;
             INSERT INTO item (seq, kind, item_id, device_id, hash, received_at)
             VALUES (41, 'contact', 'c-41', 'd', x'00', 1);",
        )
        .expect("old item");
        migrate(&conn).expect("migrate");
        conn.execute(
            "INSERT OR IGNORE INTO item (kind, item_id, device_id, hash, received_at)
             VALUES ('contact', 'c-42', 'd', x'01', 2)",
            [],
        )
        .expect("new item");
        let items: Vec<(i64, String)> = conn
            .prepare("SELECT seq, item_id FROM item ORDER BY seq")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("items");
        assert_eq!(items, vec![(41, "c-41".into()), (42, "c-42".into())]);
    }

    #[test]
    fn contacts_keep_their_rows_and_keys_and_every_contact_gets_one_after_the_record_key_rebuild() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join("k.db")).expect("open");
        for sql in &MIGRATIONS[..10] {
            conn.execute_batch(sql).expect("old migration");
        }
        let insert = |id: &str| {
            conn.execute(
                "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id,
                   observed_at, utc_offset_s, received_at, clock_skew_ms, skew_flag, source,
                   n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions,
                   brought_home, past_norm)
                 VALUES (?1, 1, 'd', 'u', 'g', 'r', 1, 3600, 1, 0, 0, 'gps',
                   0, 1, 0, 0, 0, 0, '[]', '[]', 0, 0)",
                [id],
            )
            .expect("contact")
        };
        insert("kept");
        insert("keyless");
        conn.execute_batch(
            "PRAGMA user_version = 10;
             UPDATE contact SET record_key = 7, rowid = 40 WHERE id = 'kept';
             UPDATE contact SET record_key = NULL WHERE id = 'keyless';",
        )
        .expect("old rows");
        // Migration 11 alone: 12 keys the table by `seq`, which these rows share.
        conn.execute_batch(MIGRATIONS[10]).expect("migration 11");
        insert("new");
        let rows: Vec<(i64, String, Option<i64>)> = conn
            .prepare("SELECT rowid, id, record_key FROM contact ORDER BY rowid")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .expect("contacts");
        assert_eq!(rows[1], (40, "kept".into(), Some(7)), "rowid and key kept");
        assert_eq!((rows[0].0, rows[0].1.as_str()), (2, "keyless"));
        assert_eq!(rows[2].1, "new");
        for (_, id, key) in [&rows[0], &rows[2]] {
            let key = key.unwrap_or_else(|| panic!("{id} has no record key"));
            assert!((0..1 << 32).contains(&key), "{id}: key {key} out of range");
        }
        let triggers: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'contact'",
                [],
                |r| r.get(0),
            )
            .expect("triggers");
        assert_eq!(triggers, 0, "no trigger left to journal every insert");
        let null_key = conn.execute("UPDATE contact SET record_key = NULL WHERE id = 'new'", []);
        assert!(null_key.is_err(), "a contact without a key is refused");
    }

    #[test]
    fn contacts_keep_every_column_and_are_keyed_by_their_ledger_number_after_migration_12() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join("s.db")).expect("open");
        for sql in &MIGRATIONS[..11] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.execute_batch("PRAGMA user_version = 11;")
            .expect("version");
        // Stored out of ledger order, so that the old rowids are not the ledger numbers.
        for (id, seq, lat) in [
            ("c9", 9, Some(52.1)),
            ("c7", 7, None),
            ("c8", 8, Some(51.9)),
        ] {
            conn.execute(
                "INSERT INTO item (seq, kind, item_id, device_id, hash, received_at)
                 VALUES (?1, 'contact', ?2, 'd', x'00', 1)",
                rusqlite::params![seq, id],
            )
            .expect("item");
            conn.execute(
                "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id,
                   wijk_id, observed_at, utc_offset_s, received_at, clock_skew_ms, skew_flag,
                   source, lat, lon, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised,
                   behaviours, actions, brought_home, past_norm, cell_r9, corrected_seq,
                   record_key)
                 VALUES (?1, ?2, 'd', 'u', 'g', 'r', 'w', ?2 * 100, 3600, 5, -7, 1, 'gps',
                   ?3, 4.4, 0, ?2, 1, 0, 0, 1, '[\"nuisance\"]', '[]', 2, 1, 42, 12, ?2 + 1000)",
                rusqlite::params![id, seq, lat],
            )
            .expect("contact");
        }
        let all = |conn: &Connection| -> Vec<Vec<rusqlite::types::Value>> {
            let mut stmt = conn
                .prepare("SELECT * FROM contact ORDER BY seq")
                .expect("select");
            let n = stmt.column_count();
            stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
                .and_then(|rows| rows.collect())
                .expect("rows")
        };
        let before = all(&conn);
        migrate(&conn).expect("migrate");

        assert_eq!(all(&conn), before, "every column of every contact kept");
        let keys: Vec<(i64, i64)> = conn
            .prepare("SELECT rowid, seq FROM contact ORDER BY rowid")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("keys");
        assert_eq!(
            keys,
            vec![(7, 7), (8, 8), (9, 9)],
            "the ledger number is the rowid"
        );
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM pragma_index_list('contact') ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("indexes");
        assert_eq!(
            indexes,
            vec![
                "contact_observed".to_string(),
                "contact_wijk_time".to_string()
            ],
            "no index of the contact's own on its id"
        );
        let again = conn.execute(
            "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id,
               observed_at, utc_offset_s, received_at, clock_skew_ms, skew_flag, source,
               n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions,
               brought_home, past_norm)
             VALUES ('other', 8, 'd', 'u', 'g', 'r', 1, 3600, 1, 0, 0, 'gps',
               0, 1, 0, 0, 0, 0, '[]', '[]', 0, 0)",
            [],
        );
        assert!(
            again.is_err(),
            "a second contact with the same ledger number is refused"
        );
    }

    #[test]
    fn a_new_database_gets_8_kib_pages_and_an_existing_one_keeps_its_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let page_size = |c: &Connection| -> i64 {
            c.query_row("PRAGMA page_size", [], |r| r.get(0))
                .expect("page size")
        };
        let new = open_connection(&dir.path().join("new.db")).expect("new");
        assert_eq!(page_size(&new), 8192);
        let old_path = dir.path().join("old.db");
        let old = Connection::open(&old_path).expect("old");
        old.execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x INTEGER);")
            .expect("made with 4 KiB pages");
        drop(old);
        let reopened = open_connection(&old_path).expect("reopened");
        assert_eq!(page_size(&reopened), 4096);
        let tables: i64 = reopened
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 't'",
                [],
                |r| r.get(0),
            )
            .expect("tables");
        assert_eq!(tables, 1, "the existing database is the same one");
    }

    /// The size of the database file itself: it grows when a checkpoint copies the log
    /// (where commits go first in WAL mode) back into it.
    fn file_len(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    #[tokio::test]
    async fn a_due_checkpoint_waits_while_the_writer_is_busy_and_runs_once_it_is_idle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.db");
        let db = std::sync::Arc::new(Db::open(&path).expect("open"));
        // Both jobs are queued at once, so the second follows the first without a pause.
        // The first writes enough rows to make a checkpoint due, and runs past the group
        // time, so that it commits on its own before the second starts.
        let first = db.submit(|c| {
            c.execute_batch(
                "CREATE TABLE t (x BLOB);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
                 INSERT INTO t SELECT randomblob(100) FROM n;",
            )?;
            std::thread::sleep(MAX_GROUP_TIME * 2);
            Ok(())
        });
        let watched = path.clone();
        let second = db.submit(move |_| {
            let at_start = file_len(&watched);
            // Long enough for any checkpoint asked for at the first commit to be done.
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok((at_start, file_len(&watched)))
        });
        first.expect("queued").await.expect("first job");
        let (at_start, while_busy) = second.expect("queued").await.expect("second job");
        assert_eq!(
            while_busy, at_start,
            "no checkpoint ran while the writer was busy"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while file_len(&path) < while_busy + 300_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the due checkpoint never ran once the writer was idle: {} bytes",
                file_len(&path)
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[test]
    fn migrations_are_recorded_and_not_run_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        drop(open_connection(&path).expect("first open"));
        let conn = open_connection(&path).expect("second open");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, MIGRATIONS.len() as i64);
    }
}
