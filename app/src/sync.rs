//! The sync engine: carries out the pure plan of [`avondronde_shared::sync`] against the
//! server, in the background.
//!
//! One pass ([`Engine::sync_once`]) pushes the pending outbox in batches chosen by
//! [`next_batch`], writes the [`apply_receipts`] transitions back in one transaction per
//! batch, and then pulls configuration and feedback. A refused item is quarantined by the
//! plan and never blocks the others. An item the server cannot take *yet*, because its
//! parent (a contact's round) has not arrived, stays pending: the parent is sent (again)
//! first, and the item is held back until something new is stored ([`HeldBack`]), so a
//! pass never loops on it. When a request fails, [`after_failure`] decides:
//! back off with jitter, halve the batch, or stop because the device was revoked. A
//! revoked phone was reported lost, so it wipes its store ([`crate::store::wipe`]). Passes run on save, on reconnect, when the user
//! asks, and every few minutes, on a thread of their own so the UI never waits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use avondronde_shared::keychain::Fingerprint;
use avondronde_shared::sync::{
    Decision, EntryState, HeldBack, MAX_BATCH_ITEMS, OutboxReport, PROTOCOL_VERSION, PullRequest,
    PushRequest, after_failure, apply_receipts, missing_parents, next_batch, resend_parents,
};
use jiff::Timestamp;
use tokio::sync::{Notify, watch};

use crate::client::{Client, ClientError};
use crate::clock::Clock;
use crate::platform::secrets::{Secret, Secrets};
use crate::store::outbox::OutboxCounts;
use crate::store::{SharedStore, StoreError, lock};

/// How often a pass runs when nothing else triggers one.
pub const PERIODIC: Duration = Duration::from_secs(180);
/// Body bytes per push at most (before gzip).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// From this many waiting items on, the UI shows a progress bar.
pub const LONG_QUEUE: u32 = 20;

/// What the engine is doing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Phase {
    /// Not enrolled yet: nothing to do.
    #[default]
    NotEnrolled,
    /// Up to date, or waiting for the next pass.
    Idle,
    /// Sending the outbox.
    Sending,
    /// Fetching configuration and feedback.
    Pulling,
    /// The last pass failed; the next try is scheduled.
    Retrying {
        /// Seconds until the next try.
        in_s: u64,
        /// When the next try is due, by the app's clock ("nieuwe poging om 23:52").
        at: Timestamp,
    },
    /// The server revoked this device: its data was wiped; enrol again.
    Revoked,
    /// The server needs a newer app.
    UpdateApp,
}

/// What the UI shows about syncing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncStatus {
    /// What the engine is doing.
    pub phase: Phase,
    /// The outbox per state.
    pub counts: OutboxCounts,
    /// Items sent in this pass and items that were waiting when it began.
    pub progress: Option<(u32, u32)>,
    /// When the last pass succeeded.
    pub last_ok: Option<Timestamp>,
    /// Why the last pass failed (Dutch), if it did.
    pub message: Option<String>,
    /// Whether the last pass failed because the server could not be reached (no
    /// connection, or no answer within the client's timeout).
    pub unreachable: bool,
    /// Whether the platform says there is a network.
    pub online: bool,
    /// Bumped whenever the store changed because of a sync, so views reload.
    pub generation: u64,
    /// The device was revoked and its data wiped; the enrol screen says so until the next
    /// enrolment.
    pub wiped: bool,
}

/// A pass failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Not enrolled.
    #[error("dit toestel is nog niet aangemeld")]
    NotEnrolled,
    /// The server revoked the device.
    #[error(
        "Dit toestel is ingetrokken door de beheerder; alle gegevens op dit toestel zijn gewist. Meld het opnieuw aan met een nieuwe code."
    )]
    Revoked,
    /// A request failed.
    #[error("{0}")]
    Request(#[from] ClientError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Items the server now has (accepted or duplicate).
    pub sent: u32,
    /// Items refused and quarantined.
    pub refused: u32,
    /// Items still waiting at the end of the pass because their parent has not reached
    /// the server (they go again on the next pass).
    pub waiting: u32,
    /// Feedback updates pulled.
    pub feedback: u32,
}

/// The engine. Cheap to share; one pass runs at a time.
pub struct Engine {
    store: SharedStore,
    secrets: Secrets,
    clock: Clock,
    status: watch::Sender<SyncStatus>,
    batch_items: AtomicUsize,
    running: tokio::sync::Mutex<()>,
}

impl Engine {
    /// An engine over the store, taking the token from `secrets`.
    pub fn new(store: SharedStore, secrets: Secrets, clock: Clock) -> Arc<Engine> {
        let (status, _) = watch::channel(SyncStatus {
            online: true,
            ..SyncStatus::default()
        });
        let engine = Arc::new(Engine {
            store,
            secrets,
            clock,
            status,
            batch_items: AtomicUsize::new(MAX_BATCH_ITEMS),
            running: tokio::sync::Mutex::new(()),
        });
        engine.refresh(|_| {});
        engine
    }

    /// A receiver of status changes.
    pub fn subscribe(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    /// The current status.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// Updates the status and re-reads the counts from the store.
    fn refresh(&self, f: impl FnOnce(&mut SyncStatus)) {
        let (counts, enrolled, revoked) = {
            let store = lock(&self.store);
            (
                store.outbox_counts().unwrap_or_default(),
                store.enrolment().ok().flatten().is_some(),
                store.is_revoked().unwrap_or(false),
            )
        };
        self.status.send_modify(|s| {
            s.counts = counts;
            if revoked {
                s.phase = Phase::Revoked;
            } else if !enrolled {
                s.phase = Phase::NotEnrolled;
            } else {
                // Enrolled again after a wipe.
                s.wiped = false;
                if matches!(s.phase, Phase::NotEnrolled | Phase::Revoked) {
                    s.phase = Phase::Idle;
                }
            }
            f(s);
            s.generation = s.generation.wrapping_add(1);
        });
    }

    /// The store was wiped on the phone itself (ten wrong PINs): the enrol screen shows
    /// `reason` as its one line.
    pub fn wiped(&self, reason: &str) {
        self.refresh(|s| {
            s.progress = None;
            s.counts = OutboxCounts::default();
            s.wiped = true;
            s.message = Some(reason.to_owned());
        });
    }

    /// Tells the UI that local data changed (a save), so counts are re-read.
    pub fn local_change(&self) {
        self.refresh(|_| {});
    }

    /// Records what the platform says about connectivity.
    pub fn set_online(&self, online: bool) {
        self.status.send_modify(|s| s.online = online);
    }

    fn client(&self) -> Result<Client, SyncError> {
        let enrolment = lock(&self.store)
            .enrolment()?
            .ok_or(SyncError::NotEnrolled)?;
        if lock(&self.store).is_revoked()? {
            // Revoked under an older version that kept the data: wipe it now.
            self.revoke()?;
            return Err(SyncError::Revoked);
        }
        let token = self
            .secrets
            .get(Secret::DeviceToken)
            .map_err(StoreError::from)?
            .ok_or(SyncError::NotEnrolled)?;
        Ok(Client::new(&enrolment.server_url, &token))
    }

    /// One pass: push everything pending, then pull. Safe to call at any time; passes never
    /// overlap.
    pub async fn sync_once(&self) -> Result<Report, SyncError> {
        let _guard = self.running.lock().await;
        let client = self.client()?;
        let mut report = Report::default();
        let result = async {
            self.push_all(&client, &mut report).await?;
            self.pull(&client, &mut report).await
        }
        .await;
        match &result {
            Ok(()) => {
                self.batch_items.store(MAX_BATCH_ITEMS, Ordering::Relaxed);
                let now = self.clock.now();
                // What the server has receipted may now be past the gemeente's retention.
                if let Err(e) = lock(&self.store).housekeep(now) {
                    tracing::warn!("housekeeping after sync failed: {e}");
                }
                self.refresh(|s| {
                    s.phase = Phase::Idle;
                    s.progress = None;
                    s.last_ok = Some(now);
                    s.message = None;
                    s.unreachable = false;
                });
            }
            Err(SyncError::Request(e)) if e.is_revoked() => {
                self.revoke()?;
                return Err(SyncError::Revoked);
            }
            Err(e) => {
                let message = e.to_string();
                let unreachable = matches!(e, SyncError::Request(ClientError::Network));
                // The pass is over: the header must not go on saying "verzenden…" under a
                // body that says the server cannot be reached (rev3 finding 14). `run`
                // schedules the next try right after.
                self.refresh(|s| {
                    s.phase = Phase::Idle;
                    s.progress = None;
                    s.message = Some(message);
                    s.unreachable = unreachable;
                });
            }
        }
        result.map(|()| report)
    }

    /// The server revoked this device: it was reported lost, so everything goes.
    fn revoke(&self) -> Result<(), SyncError> {
        crate::store::wipe(&self.store, &self.secrets)?;
        tracing::warn!("device revoked: local store wiped");
        self.refresh(|s| {
            s.progress = None;
            s.counts = OutboxCounts::default();
            s.wiped = true;
            s.message = Some(SyncError::Revoked.to_string());
        });
        Ok(())
    }

    async fn push_all(&self, client: &Client, report: &mut Report) -> Result<(), SyncError> {
        let total = lock(&self.store).outbox_counts()?.pending;
        let mut done = 0u32;
        let mut held = HeldBack::default();
        loop {
            let (batch, items) = {
                let store = lock(&self.store);
                let entries = held.sendable(store.pending_entries()?);
                let seqs = next_batch(
                    &entries,
                    self.batch_items.load(Ordering::Relaxed),
                    MAX_BATCH_BYTES,
                );
                if seqs.is_empty() {
                    report.waiting = u32::try_from(held.len()).unwrap_or(u32::MAX);
                    return Ok(());
                }
                let batch: Vec<_> = entries
                    .into_iter()
                    .filter(|e| seqs.contains(&e.local_seq))
                    .collect();
                let items = store.push_items(&seqs)?;
                (batch, items)
            };
            self.refresh(|s| {
                s.phase = Phase::Sending;
                s.progress = Some((done, total.max(done)));
            });
            let req = PushRequest {
                protocol: PROTOCOL_VERSION,
                device_time: self.clock.now(),
                items,
            };
            let res = match client.push(&req).await {
                Ok(res) => res,
                Err(e) => {
                    lock(&self.store).count_failed_attempt(&batch)?;
                    return Err(e.into());
                }
            };
            let mut transitions = apply_receipts(&batch, &res.receipts);
            let unanswered = batch
                .iter()
                .filter(|e| {
                    !res.receipts
                        .iter()
                        .any(|r| r.kind == e.kind && r.id == e.id)
                })
                .count();
            let mut finished = 0usize;
            for t in &transitions {
                match t.state {
                    EntryState::Sent(_) => report.sent += 1,
                    EntryState::Quarantined { .. } => report.refused += 1,
                    EntryState::Pending { .. } => continue,
                }
                finished += 1;
            }
            held.after(&batch, &res.receipts);
            {
                let mut store = lock(&self.store);
                // Parents the server lacks: a sent one goes again, before its children.
                let parents = missing_parents(&res.receipts);
                if !parents.is_empty() {
                    transitions.extend(resend_parents(&store.entries_of(&parents)?));
                }
                store.apply_transitions(&transitions)?;
            }
            done = done.saturating_add(u32::try_from(finished).unwrap_or(0));
            if unanswered == batch.len() {
                // The server answered without receipts for anything: treat as a bad answer
                // rather than loop on the same batch.
                return Err(ClientError::Decode.into());
            }
        }
    }

    async fn pull(&self, client: &Client, report: &mut Report) -> Result<(), SyncError> {
        self.refresh(|s| s.phase = Phase::Pulling);
        let (since, config_version, outbox, key_refused) = {
            let store = lock(&self.store);
            let counts = store.outbox_counts()?;
            let outbox = OutboxReport {
                pending: counts.pending,
                quarantined: counts.quarantined,
                drafts: u32::try_from(store.drafts()?.len()).unwrap_or(u32::MAX),
            };
            (
                store.cursor()?,
                store.config_version()?,
                outbox,
                store.key_refused()?,
            )
        };
        let res = client
            .pull(&PullRequest {
                protocol: PROTOCOL_VERSION,
                since,
                config_version,
                device_time: Some(self.clock.now()),
                outbox: Some(outbox),
                key_refused: key_refused.clone(),
            })
            .await?;
        report.feedback = u32::try_from(res.feedback.len()).unwrap_or(u32::MAX);
        let mut store = lock(&self.store);
        store.apply_pull(
            res.config.as_ref(),
            &res.feedback,
            res.cursor,
            self.clock.now(),
        )?;
        if key_refused.is_some() {
            store.set_key_refused(None)?;
        }
        // A device enrolled before its meldpunt had a signed key pins the first chain it
        // sees (trust on first use, over the TLS the client insists on). Enrolment by QR
        // code or with a key in place pins at enrolment, and a pin never changes here.
        if store.meldpunt_pin()?.is_none()
            && let Some(root) = res
                .config
                .as_ref()
                .and_then(|c| c.meldpunt_chain.as_ref())
                .and_then(|c| c.links.first())
            && let Ok(fp) = Fingerprint::of_encoded(&root.signing_key)
        {
            store.set_meldpunt_pin(Some(&fp))?;
        }
        Ok(())
    }

    /// Runs passes until `stop` is notified: after each pass it waits for a trigger, the
    /// backoff delay after a failure, or the periodic interval.
    pub async fn run(self: Arc<Self>, trigger: Arc<Notify>, stop: Arc<Notify>) {
        let mut attempt = 0u32;
        loop {
            let wait = match self.sync_once().await {
                Ok(_) => {
                    attempt = 0;
                    Some(PERIODIC)
                }
                Err(SyncError::NotEnrolled | SyncError::Revoked) => None,
                Err(SyncError::Store(_)) => Some(PERIODIC),
                Err(SyncError::Request(e)) => {
                    let batch = self.batch_items.load(Ordering::Relaxed);
                    match after_failure(e.failure(), attempt, batch, rand::random::<f64>()) {
                        Decision::Retry { delay, batch_items } => {
                            attempt = attempt.saturating_add(1);
                            self.batch_items.store(batch_items, Ordering::Relaxed);
                            let at = self
                                .clock
                                .now()
                                .checked_add(delay)
                                .unwrap_or_else(|_| self.clock.now());
                            self.refresh(|s| {
                                s.phase = Phase::Retrying {
                                    in_s: delay.as_secs(),
                                    at,
                                }
                            });
                            Some(delay)
                        }
                        Decision::Reenrol => {
                            let _ = self.revoke();
                            None
                        }
                        Decision::UpdateApp => {
                            self.refresh(|s| s.phase = Phase::UpdateApp);
                            None
                        }
                    }
                }
            };
            let sleep = async {
                match wait {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = trigger.notified() => {}
                _ = sleep => {}
                _ = stop.notified() => break,
            }
        }
    }
}

/// The UI's handle on the engine running in the background.
#[derive(Clone)]
pub struct SyncHandle {
    engine: Arc<Engine>,
    trigger: Arc<Notify>,
    stop: Arc<Notify>,
}

impl SyncHandle {
    /// Starts the engine on a thread of its own, with its own small runtime.
    pub fn spawn(engine: Arc<Engine>) -> std::io::Result<SyncHandle> {
        let handle = SyncHandle::detached(engine);
        let (engine, trigger, stop) = (
            handle.engine.clone(),
            handle.trigger.clone(),
            handle.stop.clone(),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("avondronde-sync".into())
            .spawn(move || runtime.block_on(engine.run(trigger, stop)))?;
        Ok(handle)
    }

    /// A handle whose engine does not run by itself (tests call [`Engine::sync_once`]).
    pub fn detached(engine: Arc<Engine>) -> SyncHandle {
        SyncHandle {
            engine,
            trigger: Arc::new(Notify::new()),
            stop: Arc::new(Notify::new()),
        }
    }

    /// Asks for a pass now (on save, on reconnect, "nu proberen").
    pub fn trigger(&self) {
        // Only a wake-up: the save that calls this must not wait for anything else.
        self.trigger.notify_one();
    }

    /// Stops the background loop.
    pub fn shutdown(&self) {
        self.stop.notify_one();
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Platform connectivity changed; going online triggers a pass.
    pub fn set_online(&self, online: bool) {
        let was = self.engine.status().online;
        self.engine.set_online(online);
        if online && !was {
            self.trigger.notify_one();
        }
    }
}
