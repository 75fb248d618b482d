//! Group commit on PostgreSQL: the pushes of one gemeente share transactions.
//!
//! A push claims its ledger keys under a per-gemeente lock held until its transaction ends
//! (see [`crate::store::sync::claim_item`]: a gemeente's sequence numbers are handed out in
//! commit order). So a gemeente's pushes commit one after the other anyway, and each one
//! waited for a commit of its own: a flush of the write-ahead log to disk per push. Here
//! they queue per gemeente instead. One writer per gemeente takes every push that is
//! waiting into one transaction, runs each in a savepoint of its own (a failing push never
//! undoes another), commits once, and only then answers each: receipts still follow the
//! commit. This is what the SQLite writer does ([`crate::db`]), with a writer per gemeente,
//! so that gemeenten still write side by side.
//!
//! A writer lives as long as its gemeente's queue is not empty, on the blocking pool.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use avondronde_shared::GemeenteId;
use tokio::sync::oneshot;

use super::{PgStore, describe};
use crate::db::DbError;
use crate::store::Tx;

/// Jobs one transaction takes at most, so that a steady stream still commits (and
/// answers) every so often. Also PostgreSQL's cache of a transaction's subtransactions
/// (each job's savepoint is one) holds 64: past that every other session's snapshot has
/// to look subtransactions up on disk.
const MAX_GROUP: usize = 64;

/// Tells a job's caller how its transaction ended.
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A queued write: run in the group's transaction (in a savepoint [`PgStore::commit_group`]
/// opened for it), or told why it cannot run. Answers whether it succeeded, and how to
/// tell its caller once the transaction ended.
type Job = Box<dyn FnOnce(Result<&Tx, &DbError>) -> (bool, Deliver) + Send>;

/// The queues of the gemeenten that have a writer at work: a gemeente is in the map
/// exactly while its writer runs.
#[derive(Default)]
pub(super) struct Lanes(Mutex<HashMap<GemeenteId, VecDeque<Job>>>);

impl Lanes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GemeenteId, VecDeque<Job>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl PgStore {
    /// Queues `f` for `gemeente`'s writer at once and returns a future of its result,
    /// which resolves once committed. A gemeente's jobs run in the order they were queued,
    /// so the parts of one push are stored in order. If `f` fails, only its own savepoint
    /// is rolled back.
    pub(in crate::store) fn submit<T, F>(
        &self,
        gemeente: GemeenteId,
        f: F,
    ) -> impl Future<Output = Result<T, DbError>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, DbError>>();
        let job: Job = Box::new(move |tx| {
            let result = match tx {
                Ok(tx) => f(tx),
                // A full pool is a busy database (503, come back later), not a broken one.
                Err(e @ DbError::Pool(_)) => Err(DbError::Busy(e.to_string())),
                Err(e) => Err(DbError::Domain(format!("no write transaction: {e}"))),
            };
            let ok = result.is_ok();
            let deliver = Box::new(move |commit: Result<(), String>| {
                let outcome = match commit {
                    Ok(()) => result,
                    Err(e) => Err(DbError::Domain(format!("commit failed: {e}"))),
                };
                let _ = answer.send(outcome);
            });
            (ok, deliver as Deliver)
        });
        let start = match self.lanes.lock().entry(gemeente) {
            Entry::Occupied(mut queue) => {
                queue.get_mut().push_back(job);
                false
            }
            Entry::Vacant(lane) => {
                lane.insert(VecDeque::from([job]));
                true
            }
        };
        if start {
            let pg = self.clone();
            tokio::task::spawn_blocking(move || pg.drain(gemeente));
        }
        async move { answered.await.map_err(|_| DbError::WriterGone)? }
    }

    /// The writer of `gemeente`: commits groups until its queue is empty.
    fn drain(&self, gemeente: GemeenteId) {
        // Should a job panic, the lane goes with the writer: the jobs still queued are
        // dropped (their callers hear that the writer is gone) and the next push starts a
        // new writer, instead of queueing behind one that will never come.
        let _lane = LaneGuard { pg: self, gemeente };
        loop {
            let group: Vec<Job> = {
                let mut lanes = self.lanes.lock();
                let Some(queue) = lanes.get_mut(&gemeente) else {
                    return;
                };
                if queue.is_empty() {
                    lanes.remove(&gemeente);
                    return;
                }
                let n = queue.len().min(MAX_GROUP);
                queue.drain(..n).collect()
            };
            self.commit_group(gemeente, group);
        }
    }

    /// Runs `group` in one transaction of `gemeente` and answers each job after the commit.
    fn commit_group(&self, gemeente: GemeenteId, group: Vec<Job>) {
        let mut conn = match self.pool.get() {
            Ok(conn) => conn,
            Err(e) => return fail_all(group, &e.into()),
        };
        let super::PgConn { client, statements } = &mut *conn;
        let begun = client.transaction().and_then(|t| {
            let mut t = super::PgTransaction::cached(t, statements);
            t.execute(
                "SELECT set_config('app.gemeente', $1, true)",
                &[&gemeente.to_string()],
            )?;
            Ok(t)
        });
        let tx = match begun {
            Ok(t) => Tx::postgres(t),
            Err(e) => return fail_all(group, &e.into()),
        };
        // Each job in a savepoint of its own: a failing one is rolled back alone. A job's
        // savepoint is released as the next one is opened (one round trip for both).
        let mut open = false;
        // Set when a savepoint could not be opened, rolled back or released: the
        // transaction may then be aborted, and PostgreSQL answers COMMIT on an aborted
        // transaction with a rollback, not an error. No job is then told it was stored.
        let mut broken: Option<String> = None;
        let mut delivers: Vec<Deliver> = Vec::with_capacity(group.len());
        for job in group {
            let begun = tx.batch(if open {
                "RELEASE SAVEPOINT job; SAVEPOINT job"
            } else {
                "SAVEPOINT job"
            });
            let (ok, deliver) = match &begun {
                Ok(()) => job(Ok(&tx)),
                Err(e) => {
                    broken.get_or_insert_with(|| e.to_string());
                    job(Err(e))
                }
            };
            open = begun.is_ok() && ok;
            if begun.is_ok()
                && !ok
                && let Err(e) = tx.batch("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")
            {
                broken.get_or_insert_with(|| e.to_string());
            }
            delivers.push(deliver);
        }
        // The last savepoint is released before the commit, which also proves the
        // transaction is not aborted.
        if open && let Err(e) = tx.batch("RELEASE SAVEPOINT job") {
            broken.get_or_insert_with(|| e.to_string());
        }
        let commit = match (broken, tx.into_postgres()) {
            (Some(e), _) => Err(e),
            (None, Some(t)) => t.commit().map_err(|e| describe(&e)),
            (None, None) => Err("not a PostgreSQL transaction".to_owned()),
        };
        for deliver in delivers {
            deliver(commit.clone());
        }
    }
}

/// Tells every job of `group` that no transaction could be begun: each then answers that
/// error as its result (there was nothing to commit).
fn fail_all(group: Vec<Job>, e: &DbError) {
    for job in group {
        job(Err(e)).1(Ok(()));
    }
}

/// Removes a gemeente's lane when its writer unwinds (see [`PgStore::drain`]).
struct LaneGuard<'a> {
    pg: &'a PgStore,
    gemeente: GemeenteId,
}

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.pg.lanes.lock().remove(&self.gemeente);
        }
    }
}
