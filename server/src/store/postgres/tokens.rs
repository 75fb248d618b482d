//! The phones' tokens on PostgreSQL, looked up together with those that arrive meanwhile.
//!
//! Every request of a phone starts by finding its device by its token's hash. As one
//! statement per request, under load that was most of the database's work and a good part
//! of the server's: in `bench_sync` (b), 200 phones each pushing one contact at a time, the
//! look-ups took more of PostgreSQL's time than all the writes. So look-ups queue here,
//! and one look-up task at a time takes every one waiting and asks for all their tokens in
//! one statement (`devices_by_tokens`, migration 016).
//!
//! A look-up that arrives while a statement runs waits for the next one and never joins
//! the running one. So every answer is read from the database after its request arrived,
//! as when each request asked alone: a phone revoked a moment before its request is
//! refused. An idle server asks at once, for one token.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::PgStore;
use crate::db::DbError;
use crate::store::devices::{self, TokenRow};

/// Tokens one statement asks for at most, so that a long queue is answered in steps.
const MAX_BATCH: usize = 256;

/// A waiting look-up: the token's hash and where its answer goes.
type Waiting = (Vec<u8>, oneshot::Sender<Result<Option<TokenRow>, DbError>>);

/// The look-ups waiting for the next statement, and whether a task is at work on them.
#[derive(Default)]
pub(super) struct TokenQueue(Mutex<Queue>);

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// A look-up task is running: it takes `waiting` once its statement is answered.
    running: bool,
}

impl TokenQueue {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl PgStore {
    /// The device whose token has this hash, if any, as of a moment after this call.
    /// Queued with the look-ups of other requests (see the module's text).
    pub(in crate::store) fn device_by_token_hash(
        &self,
        token_hash: Vec<u8>,
    ) -> impl Future<Output = Result<Option<TokenRow>, DbError>> + use<> {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut queue = self.tokens.lock();
            queue.waiting.push((token_hash, answer));
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            let pg = self.clone();
            tokio::task::spawn_blocking(move || pg.look_up_tokens());
        }
        async move { answered.await.map_err(|_| DbError::WriterGone)? }
    }

    /// The look-up task: one statement for the look-ups waiting, until none are.
    fn look_up_tokens(&self) {
        // Should this task panic, the look-ups still queued are dropped (their callers
        // hear that it is gone) and the next one starts a new task.
        let _running = Running(self);
        loop {
            let batch: Vec<Waiting> = {
                let mut queue = self.tokens.lock();
                if queue.waiting.is_empty() {
                    queue.running = false;
                    return;
                }
                let n = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..n).collect()
            };
            let hashes: Vec<&[u8]> = batch.iter().map(|(hash, _)| hash.as_slice()).collect();
            let found: Result<HashMap<Vec<u8>, TokenRow>, DbError> =
                self.run_alone(|c| devices::by_token_hashes_alone(c, &hashes));
            // Two requests of one phone may wait together: each gets the row.
            for (hash, answer) in batch {
                let _ = answer.send(match &found {
                    Ok(found) => Ok(found.get(&hash).cloned()),
                    Err(e) => Err(e.again()),
                });
            }
        }
    }
}

/// Resets the queue when the look-up task unwinds (see [`PgStore::look_up_tokens`]).
struct Running<'a>(&'a PgStore);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut queue = self.0.tokens.lock();
            queue.waiting.clear();
            queue.running = false;
        }
    }
}
