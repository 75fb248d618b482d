//! Pushes that wait for the writer, stored together.
//!
//! A gemeente's pushes are stored one after the other: its ledger hands out sequence
//! numbers in commit order (see [`crate::store::sync::claim_item`]). When each push was a
//! writer job of its own, each paid for its own statements, one after the other: on
//! PostgreSQL about six round trips per push, and with 200 phones pushing at once that
//! queue was nearly all of a push's wait.
//!
//! Here a push joins its gemeente's queue instead. The push that finds the queue empty asks
//! the writer for one job, and that job takes every push queued by the time it runs and
//! stores them together ([`ingest::commit_all`]): one claim and one insert, whatever their
//! number. Pushes that arrive meanwhile queue for the next job. The effect is that of
//! storing them one after the other, and receipts still follow the commit.
//!
//! One push never fails another: if storing them together fails (a database error, which
//! one push's content could cause), the job stores each again on its own, each
//! all-or-nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use avondronde_shared::GemeenteId;
use avondronde_shared::sync::Receipt;
use tokio::sync::oneshot;

use crate::db::DbError;
use crate::ingest::{self, Push};
use crate::state::AppState;
use crate::store::{self, Tx};

/// What a queued push is answered with: a receipt per item, or why it was not stored.
type Answer = Result<Vec<Receipt>, DbError>;

/// The pushes waiting for their gemeente's next writer job. A gemeente's queue is not
/// empty exactly while a job that will take it is on its way.
#[derive(Default)]
pub struct Waiting(Mutex<HashMap<GemeenteId, Vec<Queued>>>);

/// A push in the queue.
struct Queued {
    push: Push,
    /// The rules version its items were prepared with.
    prepared_with: u64,
    answer: oneshot::Sender<Answer>,
}

impl Waiting {
    fn lock(&self) -> MutexGuard<'_, HashMap<GemeenteId, Vec<Queued>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a push; whether it found the queue empty (and so must ask for a job).
    fn add(&self, gemeente: GemeenteId, queued: Queued) -> bool {
        let mut queues = self.lock();
        let queue = queues.entry(gemeente).or_default();
        queue.push(queued);
        queue.len() == 1
    }

    /// How many pushes wait for `gemeente`'s next writer job.
    pub fn queued(&self, gemeente: GemeenteId) -> usize {
        self.lock().get(&gemeente).map_or(0, Vec::len)
    }

    /// Takes everything queued for `gemeente`.
    fn take(&self, gemeente: GemeenteId) -> Vec<Queued> {
        self.lock().remove(&gemeente).unwrap_or_default()
    }
}

/// Queues `push`, whose items were prepared with rules version `prepared_with`, for its
/// gemeente's writer. Resolves to its receipts once they are committed.
pub fn store(
    state: &Arc<AppState>,
    push: Push,
    prepared_with: u64,
) -> impl Future<Output = Answer> + use<> {
    let gemeente = push.ctx.device.gemeente;
    let (answer, answered) = oneshot::channel();
    let queued = Queued {
        push,
        prepared_with,
        answer,
    };
    if state.pushes.add(gemeente, queued) {
        ask_for_a_job(state, gemeente);
    }
    async move { answered.await.map_err(|_| DbError::WriterGone)? }
}

/// Asks the writer for a job that stores what is queued for `gemeente` when it runs, and
/// answers those pushes once it committed (on a task of its own, so that a push whose
/// phone hung up does not leave the others unanswered).
fn ask_for_a_job(state: &Arc<AppState>, gemeente: GemeenteId) {
    let taken: Arc<Mutex<Vec<oneshot::Sender<Answer>>>> = Arc::default();
    let (st, answers) = (state.clone(), taken.clone());
    let job = state.store.submit(gemeente, move |tx| {
        let (pushes, senders): (Vec<_>, Vec<_>) = st
            .pushes
            .take(gemeente)
            .into_iter()
            .map(|q| ((q.push, q.prepared_with), q.answer))
            .unzip();
        *answers.lock().unwrap_or_else(|p| p.into_inner()) = senders;
        store_together(tx, &st, gemeente, pushes)
    });
    let st = state.clone();
    tokio::spawn(async move {
        let stored = match job {
            Ok(job) => job.await,
            Err(e) => Err(e),
        };
        let mut senders = std::mem::take(&mut *taken.lock().unwrap_or_else(|p| p.into_inner()));
        if senders.is_empty() {
            // The job never ran (no transaction could be had): what it was to take is
            // still queued, and no other job is on its way for it.
            senders = st
                .pushes
                .take(gemeente)
                .into_iter()
                .map(|q| q.answer)
                .collect();
        }
        match stored {
            Ok(answers) => {
                for (sender, answer) in senders.into_iter().zip(answers) {
                    let _ = sender.send(answer);
                }
            }
            Err(e) => {
                for sender in senders {
                    let _ = sender.send(Err(e.again()));
                }
            }
        }
    });
}

/// Stores `pushes` in the writer's transaction: together, or if that fails, each on its
/// own. Fails as a whole only when the rules cannot be read.
fn store_together(
    tx: &Tx,
    state: &AppState,
    gemeente: GemeenteId,
    pushes: Vec<(Push, u64)>,
) -> Result<Vec<Answer>, DbError> {
    crate::state::Metrics::add(&state.metrics.push_jobs, 1);
    // The rules at this commit: items prepared with an older version are derived again.
    let current = state.gemeente_rules(tx, gemeente)?;
    let pushes: Vec<Push> = pushes
        .into_iter()
        .map(|(mut push, prepared_with)| {
            ingest::rederive_if_changed(&mut push.items, prepared_with, &current);
            push
        })
        .collect();
    match store::atomically(tx, || ingest::commit_all(tx, &pushes)) {
        Ok(receipts) => Ok(receipts.into_iter().map(Ok).collect()),
        Err(e) if pushes.len() == 1 => Ok(vec![Err(e)]),
        Err(_) => Ok(pushes
            .iter()
            .map(|push| {
                store::atomically(tx, || {
                    ingest::commit_all(tx, std::slice::from_ref(push))
                        .map(|mut receipts| receipts.pop().unwrap_or_default())
                })
            })
            .collect()),
    }
}
