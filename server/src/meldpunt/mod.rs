//! The care-desk loop: sealed zorgformulieren, the meldpunt inbox, the 48-hour clock,
//! matching and feedback to the reporter (issue 5).
//!
//! - [`keys`]: the gemeente's age key pair and the passphrase-wrapped identity;
//! - [`vault`]: the keys each session has unlocked, in memory only;
//! - [`inbox`]: the clock, urgency order and the queries and updates on `care_form`;
//! - [`matching`]: normalised names and keyed pseudonyms;
//! - [`pages`]: the server-rendered inbox at `/meldpunt`;
//! - [`api`]: the same under `/api/v1/care-forms` for scripts;
//! - `demo` (cargo feature `demo`): the demo's meldpunt key and sealed care forms.
//!
//! The operations both front ends share live here, so the page and the API cannot differ
//! in what they check or record: only a meldpunt user of the form's gemeente gets through
//! ([`crate::auth::Authorized`]`<roles::Meldpunt>`), every open and change is written to the audit log in the same
//! transaction as the change itself, and a form can only be read while the session holds
//! the unlocked key.

use std::net::IpAddr;
use std::sync::Arc;

use age::secrecy::SecretString;
use avondronde_shared::CareFormId;
use avondronde_shared::care::CareFormContent;

use crate::audit::{self, Action, Actor, Event};
use crate::auth::WebUser;
use crate::db::now_ms;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;

pub mod api;
#[cfg(feature = "demo")]
pub mod demo;
pub mod inbox;
pub mod key_pages;
pub mod keys;
pub mod matching;
pub mod open_forms;
pub mod pages;
pub mod vault;

use inbox::{Changes, FormRow, Handling};
use keys::{KeyError, KeyRing, OpenError};

/// The message for an action that needs the unlocked key.
pub const LOCKED: &str = "De meldpuntsleutel is in deze sessie nog niet ontgrendeld. Ontgrendel hem eerst met de wachtwoordzin.";

/// The session's unlocked key ring, if any.
pub fn ring(state: &AppState, user: &WebUser) -> Option<Arc<KeyRing>> {
    state.vault.get(&user.session, user.gemeente, now_ms())
}

fn key_error(e: KeyError) -> ApiError {
    match e {
        KeyError::WrongPassphrase | KeyError::WeakPassphrase => ApiError::Invalid(e.to_string()),
        KeyError::NoKey | KeyError::KeyExists => ApiError::Conflict(e.to_string()),
        KeyError::Corrupt(_) => ApiError::Internal(e.to_string()),
        KeyError::Db(d) => d.into(),
    }
}

/// Unlocks the gemeente's keys for the user's session with `passphrase`, records it (or
/// the failed attempt) in the audit log, and computes match pseudonyms for forms that
/// lack one. A wrong passphrase is a 422 with a Dutch message that says so.
pub async fn unlock(
    state: &Arc<AppState>,
    user: &WebUser,
    passphrase: SecretString,
    address: Option<IpAddr>,
) -> Result<(), ApiError> {
    if state.limits.unlock.check_key(&user.id).is_err() {
        return Err(ApiError::TooManyRequests);
    }
    let gemeente = user.gemeente;
    let session = user.session.clone();
    let (stored, expires_at) = state
        .store
        .read(gemeente, move |tx| {
            let expires = store::sessions::expiry(tx, &session)?;
            Ok((keys::load(tx, gemeente)?, expires))
        })
        .await?;
    let expires_at = expires_at.ok_or(ApiError::Unauthorized)?;
    let opened = tokio::task::spawn_blocking(move || KeyRing::open(gemeente, &stored, &passphrase))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let ring = match opened {
        Ok(ring) => Some(ring),
        Err(KeyError::WrongPassphrase) => None,
        Err(e) => return Err(key_error(e)),
    };
    let action = if ring.is_some() {
        Action::Unlock
    } else {
        Action::UnlockFailed
    };
    let actor = Actor::user(user);
    state
        .store
        .write(user.gemeente, move |tx| {
            audit::record(
                tx,
                &Event {
                    gemeente,
                    actor: &actor,
                    action,
                    form: None,
                    address,
                    detail: String::new(),
                },
                now_ms(),
            )
        })
        .await?;
    let ring = ring.ok_or_else(|| key_error(KeyError::WrongPassphrase))?;
    tracing::info!(action = "unlock", "meldpunt key unlocked for a session");
    state.vault.insert(&user.session, ring, expires_at);
    refresh_pseudonyms(state, user, address).await?;
    Ok(())
}

/// Drops the session's unlocked keys and records it.
pub async fn lock(
    state: &Arc<AppState>,
    user: &WebUser,
    address: Option<IpAddr>,
) -> Result<(), ApiError> {
    if state.vault.forget(&user.session) {
        let actor = Actor::user(user);
        let gemeente = user.gemeente;
        state
            .store
            .write(gemeente, move |tx| {
                audit::record(
                    tx,
                    &Event {
                        gemeente,
                        actor: &actor,
                        action: Action::Lock,
                        form: None,
                        address,
                        detail: String::new(),
                    },
                    now_ms(),
                )
            })
            .await?;
    }
    Ok(())
}

/// Computes match pseudonyms for the gemeente's forms that have none yet, if the session
/// has the key unlocked. Returns how many were stored.
pub async fn refresh_pseudonyms(
    state: &Arc<AppState>,
    user: &WebUser,
    address: Option<IpAddr>,
) -> Result<usize, ApiError> {
    let Some(ring) = ring(state, user) else {
        return Ok(0);
    };
    let gemeente = user.gemeente;
    let pending = state
        .store
        .read(gemeente, move |tx| inbox::pending_pseudonyms(tx, gemeente))
        .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let computed = tokio::task::spawn_blocking(move || matching::compute(&ring, &pending))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let actor = Actor::user(user);
    let stored = state
        .store
        .write(gemeente, move |tx| {
            let n = inbox::store_pseudonyms(tx, gemeente, &computed)?;
            if n > 0 {
                audit::record(
                    tx,
                    &Event {
                        gemeente,
                        actor: &actor,
                        action: Action::Match,
                        form: None,
                        address,
                        detail: format!("formulieren: {n}"),
                    },
                    now_ms(),
                )?;
            }
            Ok(n)
        })
        .await?;
    Ok(stored)
}

/// The inbox: the gemeente's forms in urgency order (handled ones only when `all`).
/// Computes missing pseudonyms first when the session has the key unlocked.
pub async fn list(
    state: &Arc<AppState>,
    user: &WebUser,
    all: bool,
    address: Option<IpAddr>,
) -> Result<Vec<FormRow>, ApiError> {
    refresh_pseudonyms(state, user, address).await?;
    let gemeente = user.gemeente;
    let now = jiff::Timestamp::now();
    Ok(state
        .store
        .read(gemeente, move |tx| inbox::list(tx, gemeente, all, now))
        .await?)
}

/// A form as opened by the meldpunt.
#[derive(Debug)]
pub struct Opened {
    /// The inbox row.
    pub row: FormRow,
    /// Earlier forms about the same child, oldest first.
    pub earlier: Vec<FormRow>,
    /// Later forms about the same child, oldest first.
    pub later: Vec<FormRow>,
    /// The decrypted content, or why it could not be opened.
    pub content: Result<CareFormContent, OpenError>,
}

/// Opens a form of the user's gemeente: records the open in the audit log, then decrypts
/// it with the session's ring. 404 for a form of another gemeente (nothing is recorded);
/// 409 when the key is locked.
pub async fn open(
    state: &Arc<AppState>,
    user: &WebUser,
    id: CareFormId,
    address: Option<IpAddr>,
) -> Result<Opened, ApiError> {
    let gemeente = user.gemeente;
    let exists = state
        .store
        .read(gemeente, move |tx| {
            Ok(inbox::sealed(tx, gemeente, id)?.is_some())
        })
        .await?;
    if !exists {
        return Err(ApiError::NotFound);
    }
    let ring = ring(state, user).ok_or_else(|| ApiError::Conflict(LOCKED.into()))?;
    let actor = Actor::user(user);
    let found = state
        .store
        .write(gemeente, move |tx| {
            let Some((key, sealed)) = inbox::sealed(tx, gemeente, id)? else {
                return Ok(None);
            };
            audit::record(
                tx,
                &Event {
                    gemeente,
                    actor: &actor,
                    action: Action::Open,
                    form: Some(id),
                    address,
                    detail: String::new(),
                },
                now_ms(),
            )?;
            let Some(row) = inbox::get(tx, gemeente, id)? else {
                return Ok(None);
            };
            let rows = |ids: &[CareFormId]| -> Result<Vec<FormRow>, crate::db::DbError> {
                let mut out = Vec::new();
                for other in ids {
                    out.extend(inbox::get(tx, gemeente, *other)?);
                }
                Ok(out)
            };
            let earlier = rows(&row.earlier)?;
            let later = rows(&inbox::later(tx, gemeente, id)?)?;
            Ok(Some((row, earlier, later, key, sealed)))
        })
        .await?;
    let (row, earlier, later, key, sealed) = found.ok_or(ApiError::NotFound)?;
    tracing::info!(form = %id, "care form opened");
    Ok(Opened {
        row,
        earlier,
        later,
        content: ring.open_form(&key, &sealed),
    })
}

/// Applies the meldpunt's handling of a form (validated first, [`inbox::validate`]) and
/// records it; 404 for a form of another gemeente, 422 with a Dutch message for an invalid
/// or self-contradicting handling (a status without the date or "bekend bij" it needs),
/// in which case nothing is stored.
pub async fn handle(
    state: &Arc<AppState>,
    user: &WebUser,
    id: CareFormId,
    handling: Handling,
    address: Option<IpAddr>,
) -> Result<(FormRow, Changes), ApiError> {
    let gemeente = user.gemeente;
    let actor = Actor::user(user);
    let result = state
        .store
        .write(gemeente, move |tx| {
            let Some(current) = inbox::get(tx, gemeente, id)? else {
                return Ok(Err(ApiError::NotFound));
            };
            let now = jiff::Timestamp::now();
            if let Err(msg) = inbox::validate(&handling, current.received_at, now) {
                return Ok(Err(ApiError::Invalid(msg)));
            }
            let changes = inbox::update(tx, gemeente, id, &handling, &actor, address, now_ms())?
                .ok_or(crate::db::DbError::Domain("form vanished".into()))?;
            let row = inbox::get(tx, gemeente, id)?
                .ok_or(crate::db::DbError::Domain("form vanished".into()))?;
            Ok(Ok((row, changes)))
        })
        .await??;
    tracing::info!(form = %id, feedback = result.1.feedback, "care form handled");
    Ok(result)
}
