//! What the components share, and the app's use cases on top of store and sync.
//!
//! [`AppCtx`] is put into the Dioxus context once; components call its methods and never
//! touch SQL or HTTP themselves. Every method that records something commits before it
//! returns, and then nudges the sync engine. Methods the screens use return an
//! [`AppError`] with a Dutch message, which the screen shows instead of dropping.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use avondronde_shared::area::{Place, Wijk};
use avondronde_shared::keychain::Fingerprint;
use avondronde_shared::round::{Round, RoundEnd};
use avondronde_shared::sync::DeviceConfig;
use avondronde_shared::{CareFormId, ContactId, CorrectionId, RoundId, StreetContact};
use jiff::Timestamp;

use crate::care::{CareDraft, DraftRow, SealError};
use crate::client;
use crate::clock::Clock;
use crate::keeping::{DraftAge, discard_question, draft_age};
use crate::map::MapData;
use crate::pin::{Attempt, LockTimer};
use crate::platform::secrets::{Backend, Preference, Secret, Secrets};
use crate::state::{AfterSave, RecordForm, utc_offset_s};
use crate::store::care_forms::SentForm;
use crate::store::keeping::{Leftovers, Swept};
use crate::store::outbox::{OutboxCounts, OutboxRow};
use crate::store::records::RoundInfo;
use crate::store::{Enrolment, SharedStore, Store, StoreError, lock};
use crate::suggest::{
    RoundSummary, Situation, Suggestion, form_context_nl, last_situation, suggestions,
};
use avondronde_shared::sync::PhonePolicy;

/// Why a use case did not happen, in Dutch for the screen.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No round is in progress.
    #[error("Er loopt geen ronde; start eerst een ronde.")]
    NoRound,
    /// The form cannot be saved yet (the reason in Dutch).
    #[error("{0}")]
    Blocked(&'static str),
    /// A correcting form was offered as a new contact.
    #[error("Dit is een correctie; sla hem op met 'Correctie opslaan'.")]
    IsCorrection,
    /// A new-contact form was offered as a correction.
    #[error("Dit formulier corrigeert geen vastgelegd contact.")]
    NotACorrection,
    /// The record did not pass the same validation as the server's (Dutch summary).
    #[error("{0}")]
    Invalid(String),
    /// The local store failed.
    #[error("Opslaan op dit toestel lukte niet: {0}")]
    Store(#[from] StoreError),
    /// Sealing a care form failed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// Care-form drafts wait, so the round cannot end yet (the reason in Dutch).
    #[error("{0}")]
    DraftsWaiting(String),
    /// What the user confirmed no longer matches what is on the phone.
    #[error("Het aantal niet-verzonden items is veranderd; bekijk het opnieuw.")]
    StaleConfirmation,
    /// A PIN could not be set or checked (the reason in Dutch).
    #[error("{0}")]
    Pin(String),
}

/// What the record screen offers as one tap: "Zelfde als vorige" and suggestions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuickPicks {
    /// The round's last contact, for "Zelfde als vorige".
    pub last: Option<Situation>,
    /// Other situations of this round and of this hangplek.
    pub suggestions: Vec<Suggestion>,
}
use crate::sync::{Engine, SyncHandle};

/// Everything the UI needs, cheap to clone and shareable across threads.
#[derive(Clone)]
pub struct AppCtx {
    /// The local store.
    pub store: SharedStore,
    /// Where secrets are kept.
    pub secrets: Secrets,
    /// The sync engine.
    pub sync: SyncHandle,
    /// The clock.
    pub clock: Clock,
    /// The data directory.
    pub data_dir: PathBuf,
    /// When the PIN is asked (shared by every view of this app).
    lock: Arc<Mutex<LockTimer>>,
}

/// What saving a contact led to.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// The contact's id.
    pub contact: avondronde_shared::ContactId,
    /// Care forms to fill in, one per child brought home.
    pub care_forms: Vec<CareFormId>,
}

/// What saving a correction led to.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectionSaved {
    /// The correction's id.
    pub correction: CorrectionId,
    /// Care forms to fill in for children now brought home that were not before.
    pub care_forms: Vec<CareFormId>,
}

impl AppCtx {
    /// Opens the store in `dir` and creates the sync engine; `run_sync` starts it in the
    /// background (tests leave it off and call passes themselves).
    pub fn open(
        dir: &Path,
        clock: Clock,
        preference: Preference,
        run_sync: bool,
    ) -> Result<AppCtx, StoreError> {
        crate::platform::ensure_private_dir(dir)?;
        let secrets = Secrets::open(dir, preference)?;
        let store = Arc::new(Mutex::new(Store::open_in_dir(dir, &secrets)?));
        let pin_set = lock(&store).pin_hash()?.is_some();
        if let Err(e) = lock(&store).housekeep(clock.now()) {
            tracing::warn!("housekeeping at start failed: {e}");
        }
        let engine = Engine::new(store.clone(), secrets.clone(), clock);
        let sync = if run_sync {
            SyncHandle::spawn(engine)?
        } else {
            SyncHandle::detached(engine)
        };
        Ok(AppCtx {
            store,
            secrets,
            sync,
            clock,
            data_dir: dir.to_path_buf(),
            lock: Arc::new(Mutex::new(LockTimer::new(pin_set))),
        })
    }

    /// Now, by the app's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Where secrets are kept (shown in the UI).
    pub fn secret_backend(&self) -> Backend {
        self.secrets.backend()
    }

    /// The enrolment, if any.
    pub fn enrolment(&self) -> Option<Enrolment> {
        lock(&self.store).enrolment().ok().flatten()
    }

    /// The pulled configuration, if any.
    pub fn config(&self) -> Option<DeviceConfig> {
        lock(&self.store).config().ok().flatten()
    }

    /// The round in progress.
    pub fn active_round(&self) -> Option<RoundInfo> {
        lock(&self.store).active_round().ok().flatten()
    }

    /// Enrols this device with a one-time code; the token goes to the secret store.
    ///
    /// The meldpunt's root fingerprint is pinned: `expected` (from a QR code) must match
    /// what the server names, else enrolment stops; without it (typed by hand) the server's
    /// answer is trusted on first use and its words are returned for a person to compare
    /// with the meldpunt page.
    pub async fn enrol_pinned(
        &self,
        server_url: &str,
        code: &str,
        expected: Option<Fingerprint>,
    ) -> Result<Option<Fingerprint>, String> {
        let base = client::normalise_url(server_url).map_err(|e| e.to_string())?;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.is_empty() {
            return Err("Vul de aanmeldcode in.".into());
        }
        // Issue 10, item 7: what a previous user left unsent must never go out under the
        // new enrolment. Refuse before the one-time code is used.
        let left = self.leftovers().map_err(|e| e.to_string())?;
        let round = self.active_round().map(|r| r.wijk_name);
        if let Some(reason) = leftover_refusal(&left, round.as_deref()) {
            return Err(reason);
        }
        let enrolled = client::enrol(&base, &code, "Avondronde veld-app")
            .await
            .map_err(|e| match e {
                client::ClientError::Status { status: 404, .. } => {
                    "Deze aanmeldcode is onbekend; controleer de code.".to_owned()
                }
                other => other.to_string(),
            })?;
        let role = enrolled
            .role()
            .ok_or_else(|| "Deze rol kent de app niet; werk de app bij.".to_owned())?;
        let named: Option<Fingerprint> = enrolled
            .meldpunt_fingerprint
            .as_deref()
            .and_then(|f| f.parse().ok());
        if let Some(expected) = expected
            && named.is_some_and(|n| n != expected)
        {
            return Err(avondronde_shared::keychain::UNTRUSTED_MESSAGE.to_owned() + ".");
        }
        let pin = expected.or(named);
        if !lock(&self.store).is_on_disk() {
            // Wiped after a revocation: a fresh store, with a fresh key.
            let fresh =
                Store::open_in_dir(&self.data_dir, &self.secrets).map_err(|e| e.to_string())?;
            *lock(&self.store) = fresh;
        }
        self.secrets
            .set(Secret::DeviceToken, &enrolled.token)
            .map_err(|e| e.to_string())?;
        {
            let mut store = lock(&self.store);
            store
                .set_enrolment(&Enrolment {
                    server_url: base,
                    device_id: enrolled.device_id,
                    role,
                })
                .map_err(|e| e.to_string())?;
            store
                .set_meldpunt_pin(pin.as_ref())
                .map_err(|e| e.to_string())?;
            // A new enrolment chooses its own app PIN.
            store.clear_pin().map_err(|e| e.to_string())?;
        }
        self.sync.engine().local_change();
        self.sync.trigger();
        Ok(pin)
    }

    /// Enrols with a code typed by hand (see [`AppCtx::enrol_pinned`]).
    pub async fn enrol(&self, server_url: &str, code: &str) -> Result<(), String> {
        self.enrol_pinned(server_url, code, None).await.map(|_| ())
    }

    /// Starts a round in a wijk.
    pub fn start_round(&self, wijk: &Wijk, partner: &str) -> Result<RoundInfo, AppError> {
        let now = self.now();
        let partner = partner.trim();
        let round = Round {
            id: RoundId::new(),
            wijk: wijk.id,
            partner: (!partner.is_empty()).then(|| partner.chars().take(80).collect()),
            started_at: now,
        };
        lock(&self.store).start_round(&round, &wijk.name, now)?;
        self.sync.trigger();
        Ok(RoundInfo {
            id: round.id,
            wijk: round.wijk,
            wijk_name: wijk.name.clone(),
            partner: round.partner,
            started_at: round.started_at,
            ended_at: None,
        })
    }

    /// Ends the round in progress. Unsent care-form drafts block it (issue 10): they
    /// must be sealed or deliberately thrown away first.
    pub fn end_round(&self) -> Result<(), AppError> {
        let round = self.active_round().ok_or(AppError::NoRound)?;
        let drafts = lock(&self.store).drafts()?.len();
        if let Some(reason) = crate::keeping::end_round_blocker(drafts) {
            return Err(AppError::DraftsWaiting(reason));
        }
        let now = self.now();
        lock(&self.store).end_round(
            &RoundEnd {
                round: round.id,
                ended_at: now.max(round.started_at),
            },
            now,
        )?;
        self.sync.trigger();
        Ok(())
    }

    /// Saves the form as a contact of the round in progress; returns after the commit.
    pub fn save_contact(&self, form: &RecordForm) -> Result<Saved, AppError> {
        let round = self.active_round().ok_or(AppError::NoRound)?;
        if form.correcting.is_some() {
            // A correction must never become a second contact.
            return Err(AppError::IsCorrection);
        }
        if let Some(reason) = form.blocker() {
            return Err(AppError::Blocked(reason));
        }
        let now = self.now();
        let contact = form
            .to_contact(&round, now, utc_offset_s(now))
            .map_err(|e| AppError::Invalid(e.summary()))?;
        let care_forms = form.care_forms();
        lock(&self.store).save_contact(&contact, &care_forms, now)?;
        self.sync.trigger();
        Ok(Saved {
            contact: contact.id,
            care_forms: care_forms.into_iter().map(|(id, _)| id).collect(),
        })
    }

    /// The contacts saved in the round in progress, in the order they happened.
    pub fn round_contacts(&self) -> Vec<StreetContact> {
        lock(&self.store)
            .contacts_of_active_round()
            .unwrap_or_default()
    }

    /// A record form filled in with a saved contact's facts, to correct it. Only a
    /// contact of the round in progress can be corrected.
    pub fn correction_form(&self, contact: ContactId) -> Result<RecordForm, AppError> {
        let round = self.active_round().ok_or(AppError::NoRound)?;
        let saved = lock(&self.store)
            .contact(contact)?
            .ok_or(StoreError::NotFound("contact"))?;
        if saved.round != round.id {
            return Err(StoreError::NotInActiveRound.into());
        }
        Ok(RecordForm::from_facts(saved.id, &saved.facts))
    }

    /// Saves a correcting form as a correction of its contact (never as a new contact);
    /// returns after the commit.
    pub fn save_correction(&self, form: &RecordForm) -> Result<CorrectionSaved, AppError> {
        if let Some(reason) = form.blocker() {
            return Err(AppError::Blocked(reason));
        }
        let now = self.now();
        let correction = form
            .to_correction(now)
            .ok_or(AppError::NotACorrection)?
            .map_err(|e| AppError::Invalid(e.summary()))?;
        let new_forms = lock(&self.store).correct_contact(&correction, &form.care_forms(), now)?;
        self.sync.trigger();
        Ok(CorrectionSaved {
            correction: correction.id,
            care_forms: new_forms,
        })
    }

    /// Saves the record form: a new contact, or a correction when the form corrects one
    /// (the form decides what the screen does next).
    pub fn save_form(&self, form: &RecordForm) -> Result<AfterSave, AppError> {
        let care_forms = if form.is_correction() {
            self.save_correction(form)?.care_forms
        } else {
            self.save_contact(form)?.care_forms
        };
        crate::platform::saved_feedback();
        Ok(form.after_save(&care_forms))
    }

    /// The start of the "Eerder hier" window.
    fn nearby_since(&self) -> Timestamp {
        self.now()
            .checked_sub(jiff::SignedDuration::from_hours(
                24 * crate::state::NEARBY_DAYS,
            ))
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// "Eerder hier": this device's contacts within 100 m in the last 30 days.
    pub fn nearby(&self, lat: f64, lon: f64) -> Result<u32, AppError> {
        let since = self.nearby_since();
        Ok(lock(&self.store).contacts_near(lat, lon, crate::state::NEARBY_RADIUS_M, since)?)
    }

    /// "Zelfde als vorige" and the suggestions: this round's contacts, and this device's
    /// recent contacts near `point` (the hangplek), if there is one.
    pub fn quick_picks(&self, point: Option<(f64, f64)>) -> Result<QuickPicks, AppError> {
        let store = lock(&self.store);
        let round = store.contacts_of_active_round()?;
        let here = match point {
            Some((lat, lon)) => store.recent_contacts_near(
                lat,
                lon,
                crate::state::NEARBY_RADIUS_M,
                self.nearby_since(),
                50,
            )?,
            None => Vec::new(),
        };
        Ok(QuickPicks {
            last: last_situation(&round),
            suggestions: suggestions(&round, &here),
        })
    }

    /// What the map screen draws for the round in progress: the wijk's outline and
    /// hangplekken, the round's contacts, and `pin`; with the wijk's name. Local data only.
    pub fn map_data(
        &self,
        pin: Option<(f64, f64)>,
        picking: bool,
    ) -> Result<(String, MapData), AppError> {
        let round = self.active_round().ok_or(AppError::NoRound)?;
        let config = self.config();
        let contacts = lock(&self.store).contacts_of_active_round()?;
        let wijk = config
            .as_ref()
            .and_then(|c| c.wijken.iter().find(|w| w.id == round.wijk));
        let data = MapData::build(config.as_ref(), wijk, &contacts, pin, picking, self.now());
        Ok((round.wijk_name, data))
    }

    /// The hangplekken of the round's wijk (none without a round or configuration).
    pub fn round_places(&self) -> Vec<Place> {
        let (Some(round), Some(config)) = (self.active_round(), self.config()) else {
            return Vec::new();
        };
        config
            .places
            .into_iter()
            .filter(|p| p.wijk == round.wijk)
            .collect()
    }

    /// Unread feedback and the outbox counts, for the header.
    pub fn header_counts(&self) -> Result<(u32, OutboxCounts), AppError> {
        let store = lock(&self.store);
        Ok((store.unread_feedback()?, store.outbox_counts()?))
    }

    /// A care-form draft to show, if it is still a draft.
    pub fn care_draft(&self, id: CareFormId) -> Result<Option<(DraftRow, CareDraft)>, AppError> {
        Ok(lock(&self.store).draft(id)?)
    }

    /// Keeps a care-form draft as it is now.
    pub fn save_care_draft(&self, id: CareFormId, draft: &CareDraft) -> Result<(), AppError> {
        let now = self.now();
        Ok(lock(&self.store).save_draft(id, draft, now)?)
    }

    /// Changes a care-form draft's age band.
    pub fn set_care_band(
        &self,
        id: CareFormId,
        band: avondronde_shared::AgeBand,
    ) -> Result<(), AppError> {
        Ok(lock(&self.store).set_draft_band(id, band)?)
    }

    /// What the home screen shows: drafts to finish, unread feedback, the contacts of the
    /// round in progress (0 without one) and how many items wait to be sent.
    pub fn home_summary(&self) -> Result<(Vec<DraftRow>, u32, u32, u32), AppError> {
        let round = self.active_round();
        let store = lock(&self.store);
        let contacts = match round {
            Some(r) => store.contacts_in_round(r.id)?,
            None => 0,
        };
        Ok((
            store.drafts()?,
            store.unread_feedback()?,
            contacts,
            store.outbox_counts()?.pending,
        ))
    }

    /// The care-form drafts still to fill in.
    pub fn care_drafts(&self) -> Result<Vec<DraftRow>, AppError> {
        Ok(lock(&self.store).drafts()?)
    }

    /// The newest `limit` outbox rows, the counts, and the pinned meldpunt fingerprint.
    pub fn outbox_view(
        &self,
        limit: u32,
    ) -> Result<(Vec<OutboxRow>, OutboxCounts, Option<Fingerprint>), AppError> {
        let store = lock(&self.store);
        Ok((
            store.outbox_rows(limit)?,
            store.outbox_counts()?,
            store.meldpunt_pin()?,
        ))
    }

    /// The care forms sent from this device, with their feedback.
    pub fn sent_forms(&self) -> Result<Vec<SentForm>, AppError> {
        Ok(lock(&self.store).sent_forms()?)
    }

    /// The care forms sent from this device with their feedback, each with which contact
    /// it is about ([`crate::suggest::form_context_nl`]: time and place, nothing about
    /// the child); `None` once the contact itself is gone from the phone.
    pub fn feedback(&self) -> Result<Vec<(SentForm, Option<String>)>, AppError> {
        let config = self.config();
        let store = lock(&self.store);
        let mut out = Vec::new();
        for form in store.sent_forms()? {
            let about = store
                .contact(form.contact)?
                .map(|c| form_context_nl(&c.facts, config.as_ref()));
            out.push((form, about));
        }
        Ok(out)
    }

    /// The summary of the round that ended last, while no round runs and for
    /// [`crate::suggest::SUMMARY_HOURS`] after its end (rev3 finding 21).
    pub fn round_summary(&self) -> Result<Option<RoundSummary>, AppError> {
        let now = self.now();
        let store = lock(&self.store);
        if store.active_round()?.is_some() {
            return Ok(None);
        }
        let Some(round) = store.last_ended_round()? else {
            return Ok(None);
        };
        let ended_at = round.ended_at.unwrap_or(round.started_at);
        if !RoundSummary::is_recent(ended_at, now) {
            return Ok(None);
        }
        let counts = store.outbox_counts()?;
        Ok(Some(RoundSummary {
            wijk_name: round.wijk_name,
            started_at: round.started_at,
            ended_at,
            contacts: store.contacts_in_round(round.id)?,
            care_forms: store.sealed_forms_in_round(round.id)?,
            pending: counts.pending,
            refused: counts.quarantined,
        }))
    }

    /// Marks all feedback as read.
    pub fn mark_feedback_read(&self) -> Result<(), AppError> {
        Ok(lock(&self.store).mark_feedback_read()?)
    }

    /// The first care-form draft still to fill in.
    pub fn next_care_draft(&self) -> Result<Option<CareFormId>, AppError> {
        Ok(lock(&self.store).drafts()?.first().map(|d| d.id))
    }

    /// What is on this phone unsent (issue 10, item 7): shown on the enrol screen.
    pub fn leftovers(&self) -> Result<Leftovers, AppError> {
        Ok(lock(&self.store).leftovers()?)
    }

    /// Throws away what a previous user left unsent, after the user confirmed the number
    /// ("3 items op dit toestel weggooien?"); nothing goes if the number changed.
    pub fn discard_leftovers(&self, confirmed: u32) -> Result<Leftovers, AppError> {
        let now = self.now();
        let gone = lock(&self.store)
            .discard_leftovers(confirmed, now)
            .map_err(|e| match e {
                StoreError::NotFound(_) => AppError::StaleConfirmation,
                other => AppError::Store(other),
            })?;
        self.sync.engine().local_change();
        Ok(gone)
    }

    /// Deliberately throws away one care-form draft ("weggooien", after a confirmation).
    pub fn discard_care_draft(&self, id: CareFormId) -> Result<(), AppError> {
        lock(&self.store).discard_draft(id)?;
        self.sync.engine().local_change();
        Ok(())
    }

    /// How old each draft is by the draft rules (issue 10): warnings from day 5.
    pub fn draft_ages(&self) -> Result<Vec<(CareFormId, DraftAge)>, AppError> {
        let now = self.now();
        Ok(lock(&self.store)
            .draft_ages()?
            .into_iter()
            .map(|(id, started)| (id, draft_age(started, now)))
            .collect())
    }

    /// The gemeente's rules for this phone (the defaults until a configuration is pulled).
    pub fn phone_policy(&self) -> PhonePolicy {
        self.config().map(|c| c.phone).unwrap_or_default().clamped()
    }

    /// Deletes what the phone no longer needs: receipted contacts past the gemeente's
    /// retention, and drafts a week old. Runs at start and after every sync pass.
    pub fn housekeep(&self) -> Result<Swept, AppError> {
        let now = self.now();
        let swept = lock(&self.store).housekeep(now)?;
        if swept != Swept::default() {
            self.sync.engine().local_change();
        }
        Ok(swept)
    }

    /// Whether an app PIN is set.
    pub fn pin_is_set(&self) -> bool {
        lock(&self.store).pin_hash().ok().flatten().is_some()
    }

    /// Sets the app PIN (typed twice); only its Argon2 hash is stored. Setting it also
    /// unlocks: the person who set it is here.
    pub fn set_pin(&self, pin: &str, again: &str) -> Result<(), AppError> {
        crate::pin::check_new_pin(pin, again).map_err(|e| AppError::Pin(e.to_owned()))?;
        let phc = crate::pin::hash_pin(pin).map_err(AppError::Pin)?;
        lock(&self.store).set_pin_hash(&phc)?;
        self.lock_timer().unlock();
        Ok(())
    }

    /// Checks a PIN on the lock screen. Ten wrong ones in a row wipe the phone, exactly
    /// as a revocation does, and the enrol screen says why.
    pub fn try_pin(&self, pin: &str) -> Result<Attempt, AppError> {
        let (right, failures) = {
            let store = lock(&self.store);
            let Some(phc) = store.pin_hash()? else {
                return Err(AppError::Pin("Er is geen pincode ingesteld.".to_owned()));
            };
            (
                crate::pin::verify_pin(pin.trim(), &phc),
                store.pin_failures()?,
            )
        };
        let (outcome, failures) = crate::pin::attempt(right, failures);
        match outcome {
            Attempt::Unlocked => {
                lock(&self.store).set_pin_failures(0)?;
                self.lock_timer().unlock();
            }
            Attempt::Wrong { .. } => lock(&self.store).set_pin_failures(failures)?,
            Attempt::Wipe => {
                crate::store::wipe(&self.store, &self.secrets)?;
                self.lock_timer().unlock();
                self.sync.engine().wiped(crate::pin::WIPED_MESSAGE);
            }
        }
        Ok(outcome)
    }

    fn lock_timer(&self) -> std::sync::MutexGuard<'_, LockTimer> {
        self.lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The app went to the background (the platform seam reports a hidden page/window).
    pub fn app_hidden(&self) {
        let now = self.now();
        self.lock_timer().hidden(now);
    }

    /// The app came back; returns whether the PIN must be asked now.
    pub fn app_shown(&self) -> bool {
        let now = self.now();
        let minutes = self.phone_policy().lock_after_minutes;
        let set = self.pin_is_set();
        set && self.lock_timer().shown(now, minutes)
    }

    /// Whether screens with data must stay behind the PIN now.
    pub fn is_locked(&self) -> bool {
        self.pin_is_set() && self.lock_timer().is_locked()
    }

    /// Seals and queues a care form.
    pub fn submit_care_form(&self, id: CareFormId) -> Result<(), SealError> {
        let now = self.now();
        crate::care::submit(&mut lock(&self.store), id, now)?;
        self.sync.trigger();
        Ok(())
    }
}

/// Why enrolment must wait for what is unsent or unfinished on this phone (Dutch), if it
/// must. `round` is the wijk of the round still running. Neutral about whose it is: on
/// the status screen it is usually the user's own round (rev3 finding 8).
pub fn leftover_refusal(left: &Leftovers, round: Option<&str>) -> Option<String> {
    let n = left.items();
    let unsent = if n == 1 {
        "staat nog 1 item dat niet is verzonden".to_owned()
    } else {
        format!("staan nog {n} items die niet zijn verzonden")
    };
    let running = match round {
        Some(wijk) => format!("De ronde in {wijk} loopt nog op dit toestel"),
        None => "Er loopt nog een ronde op dit toestel".to_owned(),
    };
    match (left.open_round, n > 0) {
        (true, true) => Some(format!(
            "{running}, en er {unsent}. Beëindig de ronde en verstuur alles eerst, of gooi het weg: {}",
            discard_question(n)
        )),
        (false, true) => Some(format!(
            "Op dit toestel {unsent}. Verstuur ze eerst (Status, Nu proberen), of gooi ze weg: {}",
            discard_question(n)
        )),
        (true, false) => Some(format!(
            "{running}. Beëindig die eerst (Ronde, Ronde beëindigen), of gooi hem weg."
        )),
        (false, false) => None,
    }
}
