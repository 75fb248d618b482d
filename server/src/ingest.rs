//! Ingest of pushed outbox items with exactly-once effect.
//!
//! A push is handled in two steps:
//! 1. [`prepare`] runs on the request's own task: it parses each item, validates it,
//!    hashes its canonical content and works out everything derivable (wijk by location,
//!    the norm verdict, the H3 cells). A bad item becomes a rejection right here and never
//!    touches the others.
//! 2. [`commit_all`] runs inside the writer's transaction, for every push that waited for
//!    the writer together ([`crate::pushes`]): it checks the idempotency ledger (`item`,
//!    unique on kind and id) and writes the rows. The caller sends the receipts only after
//!    the transaction committed.
//!
//! No item is stranded behind its parent (issue 13). A contact, correction, round end or
//! care form whose parent has not arrived gets a *retry* receipt naming the parent; the
//! key stays free and the phone sends it again after the parent. A parent that belongs to
//! another device is refused as before. A round whose wijk the server does not know is
//! stored without a wijk and listed for the admin ([`rounds_with_unknown_wijk`]), so its
//! contacts always have a round to land on.

use avondronde_shared::care::CareFormEnvelope;
use avondronde_shared::contact::ContactFacts;
use avondronde_shared::disclosure::RecordKey;
use avondronde_shared::norms::{Encounter, any_past};
use avondronde_shared::round::{Round, RoundEnd};
use avondronde_shared::sync::{
    Acceptance, ContactCorrection, ItemKind, ItemRef, MAX_CLOCK_SKEW, Outcome, Payload, PushItem,
    Receipt,
};
use avondronde_shared::validate::Validate;
use avondronde_shared::{ContactId, DeviceId, GemeenteId, RoundId, StreetContact, WijkId};
use h3o::{LatLng, Resolution};
use jiff::Timestamp;

use crate::auth::Device;
use crate::db::DbError;
use crate::state::GemeenteRules;
use crate::store::{self, Tx};

/// What ingest derives from a contact's facts.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The wijk the point lies in, if any.
    pub wijk: Option<WijkId>,
    /// Whether any band was past its norm (or under an area rule).
    pub past_norm: bool,
    /// H3 cell at resolution 9.
    pub cell_r9: Option<u64>,
    /// H3 cell at resolution 10.
    pub cell_r10: Option<u64>,
}

/// Derives wijk, norm verdict and cells for a contact's facts.
pub fn derive(facts: &ContactFacts, rules: &GemeenteRules) -> Derived {
    let point = facts.location.point();
    let wijk = point.and_then(|p| rules.wijken.iter().find(|w| w.contains(p)).map(|w| w.id));
    let past_norm = any_past(&rules.norms, &Encounter::from(facts));
    let latlng = match (facts.location.lat, facts.location.lon) {
        (Some(lat), Some(lon)) => LatLng::new(lat, lon).ok(),
        _ => None,
    };
    Derived {
        wijk,
        past_norm,
        cell_r9: latlng.map(|ll| u64::from(ll.to_cell(Resolution::Nine))),
        cell_r10: latlng.map(|ll| u64::from(ll.to_cell(Resolution::Ten))),
    }
}

/// An item ready to be written.
#[derive(Debug)]
pub enum Ready {
    /// A round.
    Round(Round),
    /// A round end.
    RoundEnd(RoundEnd),
    /// A contact with what was derived from it.
    Contact(Box<StreetContact>, Derived),
    /// A correction with what was derived from the new facts.
    Correction(Box<ContactCorrection>, Derived),
    /// A care form.
    CareForm(Box<CareFormEnvelope>),
}

/// One item after preparation.
#[derive(Debug)]
pub enum Prepared {
    /// Valid: write it (or find it in the ledger).
    Ready {
        /// Kind.
        kind: ItemKind,
        /// Idempotency id.
        id: String,
        /// Canonical content hash.
        hash: [u8; 32],
        /// The record.
        ready: Ready,
    },
    /// Refused before touching the database.
    Rejected(Receipt),
}

fn rejected(
    kind: ItemKind,
    id: String,
    code: &str,
    field: Option<String>,
    message: String,
) -> Prepared {
    Prepared::Rejected(Receipt {
        kind,
        id,
        outcome: Outcome::Rejected {
            code: code.to_owned(),
            field,
            message,
        },
    })
}

/// Whether raw JSON text holds a NUL character: the escape `\u0000` (JSON has no other
/// way to write one), not itself escaped as `\\u0000`.
fn has_nul(raw: &str) -> bool {
    raw.match_indices("\\u0000").any(|(at, _)| {
        let backslashes = raw[..at].bytes().rev().take_while(|b| *b == b'\\').count();
        backslashes % 2 == 0
    })
}

/// Parses, validates and derives one pushed item. `now` is the validation clock.
pub fn prepare(item: PushItem, now: Timestamp, rules: &GemeenteRules) -> Prepared {
    let PushItem { kind, id, body } = item;
    if has_nul(body.get()) || id.contains('\0') {
        // A NUL character is never part of what a phone records, and PostgreSQL cannot
        // store it: refused for good, on both backends alike, so it never blocks the rest.
        let message = "Het item bevat een ongeldig teken (NUL) en wordt niet aangenomen.";
        return rejected(kind, id, "invalid_text", None, message.into());
    }
    let payload = match Payload::parse(&kind, body.get()) {
        Ok(Some(p)) => p,
        Ok(None) => {
            let message = format!(
                "Onbekend soort item '{}'; deze server is ouder dan de app. Het item blijft bewaard.",
                kind.code()
            );
            return rejected(kind, id, "unknown_kind", None, message);
        }
        Err(e) => {
            let message = format!("Het item is niet leesbaar: {e}");
            return rejected(kind, id, "invalid_body", None, message);
        }
    };
    if payload.id().to_string() != id {
        return rejected(
            kind,
            id,
            "id_mismatch",
            Some("id".into()),
            "Het id van het item komt niet overeen met het id in de inhoud.".into(),
        );
    }
    let valid = match &payload {
        Payload::Round(r) => r.validate(now),
        Payload::RoundEnd(e) => e.validate(now),
        Payload::Contact(c) => c.validate(now),
        Payload::Correction(c) => c.validate(now),
        Payload::CareForm(f) => f.validate(now),
    };
    if let Err(invalid) = valid {
        let first = invalid.first().cloned();
        return rejected(
            kind,
            id,
            first.as_ref().map_or("invalid", |f| f.code.as_str()),
            first.map(|f| f.field),
            invalid.summary(),
        );
    }
    let hash = match payload.content_hash() {
        Ok(h) => h,
        Err(e) => return rejected(kind, id, "invalid_body", None, e.to_string()),
    };
    let ready = match payload {
        Payload::Round(r) => Ready::Round(r),
        Payload::RoundEnd(e) => Ready::RoundEnd(e),
        Payload::Contact(c) => {
            let d = derive(&c.facts, rules);
            Ready::Contact(Box::new(c), d)
        }
        Payload::Correction(c) => {
            let d = derive(&c.facts, rules);
            Ready::Correction(Box::new(c), d)
        }
        Payload::CareForm(f) => Ready::CareForm(Box::new(f)),
    };
    Prepared::Ready {
        kind,
        id,
        hash,
        ready,
    }
}

/// Derives the prepared items again with `current` when the gemeente's rules changed since
/// they were prepared with version `prepared_with` (an admin changed a norm, an area rule or
/// a wijk in between). The push handler prepares with the rules it has cached and calls
/// this in the write transaction, after reading the current version there: the verdicts
/// and wijken stored are those of the rules at the commit, without a read of its own per
/// push.
pub fn rederive_if_changed(items: &mut [Prepared], prepared_with: u64, current: &GemeenteRules) {
    if prepared_with == current.version {
        return;
    }
    for item in items {
        match item {
            Prepared::Ready {
                ready: Ready::Contact(c, d),
                ..
            } => *d = derive(&c.facts, current),
            Prepared::Ready {
                ready: Ready::Correction(c, d),
                ..
            } => *d = derive(&c.facts, current),
            _ => {}
        }
    }
}

/// The facts of one push that apply to all its items.
#[derive(Debug, Clone)]
pub struct PushContext {
    /// The device.
    pub device: Device,
    /// Server clock at arrival, unix ms.
    pub received_at: i64,
    /// Device clock minus server clock, ms.
    pub skew_ms: i64,
}

impl PushContext {
    /// Whether the device clock is off by more than the allowed skew.
    pub fn skewed(&self) -> bool {
        self.skew_ms.unsigned_abs() > MAX_CLOCK_SKEW.as_millis().unsigned_abs() as u64
    }
}

fn acceptance(seq: i64, received_at: i64) -> Acceptance {
    Acceptance {
        seq: seq.max(0) as u64,
        received_at: Timestamp::from_millisecond(received_at).unwrap_or(Timestamp::UNIX_EPOCH),
    }
}

/// A refusal found while writing (an item that refers to something not in scope).
struct Refusal {
    code: &'static str,
    message: &'static str,
}

/// Why `write` stored nothing.
enum Held {
    /// For good: the item refers to another device's record.
    Refused(Refusal),
    /// For now: its parent has not arrived.
    Waiting(ItemRef),
}

const UNKNOWN_ROUND: Refusal = Refusal {
    code: "unknown_round",
    message: "De ronde van dit item hoort bij een ander toestel.",
};
const UNKNOWN_CONTACT: Refusal = Refusal {
    code: "unknown_contact",
    message: "Het contact van dit item hoort bij een ander toestel.",
};
/// An id already taken in another gemeente (PostgreSQL hosts many): ids are drawn at
/// random on the phone, so this is not the phone's own id.
const ID_TAKEN: Refusal = Refusal {
    code: "id_taken",
    message: "Dit id is al in gebruik; er is niets opgeslagen.",
};
/// The code of a retry for a missing parent.
pub const PARENT_MISSING: &str = "parent_missing";

fn waiting_message(parent: &ItemKind) -> String {
    format!(
        "Wacht op {} bij de server; wordt daarna vanzelf opnieuw verstuurd.",
        match parent {
            ItemKind::Round => "de ronde",
            ItemKind::Contact => "het contact",
            other => other.label_nl(),
        }
    )
}

fn missing_round(tx: &Tx, round: RoundId) -> Result<Held, DbError> {
    Ok(if store::sync::round_exists(tx, round)? {
        Held::Refused(UNKNOWN_ROUND)
    } else {
        Held::Waiting(ItemRef {
            kind: ItemKind::Round,
            id: round.to_string(),
        })
    })
}

fn missing_contact(tx: &Tx, contact: ContactId) -> Result<Held, DbError> {
    Ok(if store::sync::contact_exists(tx, contact)? {
        Held::Refused(UNKNOWN_CONTACT)
    } else {
        Held::Waiting(ItemRef {
            kind: ItemKind::Contact,
            id: contact.to_string(),
        })
    })
}

/// One push's prepared items (or a chunk of them), with what applies to all of them.
#[derive(Debug)]
pub struct Push {
    /// Who sent it, and when.
    pub ctx: PushContext,
    /// Its items, in the order sent.
    pub items: Vec<Prepared>,
}

/// Writes the prepared items of one push inside the writer's transaction and returns a
/// receipt per item, in order: [`commit_all`] for one push.
pub fn commit(tx: &Tx, ctx: &PushContext, items: Vec<Prepared>) -> Result<Vec<Receipt>, DbError> {
    let push = Push {
        ctx: ctx.clone(),
        items,
    };
    Ok(commit_all(tx, std::slice::from_ref(&push))?
        .pop()
        .unwrap_or_default())
}

/// Writes the prepared items of `pushes` inside the writer's transaction and returns, per
/// push, a receipt per item, in order. A refused item leaves nothing behind; a storage
/// error fails the whole call (the caller rolls back its savepoint).
///
/// The effect is that of handling the pushes one after the other, and each push's items
/// one after the other, done in bulk where that cannot change the outcome: every key is
/// claimed in one go, and the contacts are stored together, before any later item that
/// could refer to one of them. (On PostgreSQL a statement per item, or per push, was a
/// round trip each.)
pub fn commit_all(tx: &Tx, pushes: &[Push]) -> Result<Vec<Vec<Receipt>>, DbError> {
    let seen: Vec<store::sync::Seen> = pushes
        .iter()
        .map(|p| store::sync::Seen {
            device: p.ctx.device.id,
            at_ms: p.ctx.received_at,
            skew_ms: p.ctx.skew_ms,
        })
        .collect();
    store::sync::record_seen_all(tx, &seen)?;
    let mut claims = claim_first_sightings(tx, pushes)?.into_iter();
    let mut batch = Batch::default();
    batch.find_rounds(tx, pushes)?;
    let mut all = Vec::with_capacity(pushes.len());
    for Push { ctx, items } in pushes {
        let device = ctx.device.id;
        let mut receipts = Vec::with_capacity(items.len());
        for item in items {
            let first_claim = claims.next().flatten();
            let (kind, id, hash, ready) = match item {
                Prepared::Rejected(r) => {
                    receipts.push(r.clone());
                    continue;
                }
                Prepared::Ready {
                    kind,
                    id,
                    hash,
                    ready,
                } => (kind, id, hash, ready),
            };
            // A key's first sighting was claimed above; a repeat is claimed now, as it
            // would have been had it come in a push of its own.
            let claimed = match first_claim {
                Some(claim) => claim,
                None => store::sync::claim_item(tx, kind, id, device, hash, ctx.received_at)?,
            };
            let outcome = match claimed {
                Some(seq) => written(tx, ctx, seq, ready, &mut batch)?,
                None => repeated(tx, ctx, kind, id, hash)?,
            };
            receipts.push(Receipt {
                kind: kind.clone(),
                id: id.clone(),
                outcome,
            });
        }
        all.push(receipts);
    }
    batch.flush(tx)?;
    Ok(all)
}

/// The outcome of an item whose key was just claimed as `seq`.
fn written<'a>(
    tx: &Tx,
    ctx: &'a PushContext,
    seq: i64,
    ready: &'a Ready,
    batch: &mut Batch<'a>,
) -> Result<Outcome, DbError> {
    let held = match write(tx, ctx, seq, ready, batch)? {
        Ok(()) => return Ok(Outcome::Accepted(acceptance(seq, ctx.received_at))),
        Err(held) => held,
    };
    // `write` holds an item back before it writes anything, so taking the item out of the
    // ledger undoes it: a fixed version (or the same one, after its parent) can be sent
    // later. (No savepoint per item: that would copy every touched page per item.)
    store::sync::release_item(tx, seq)?;
    Ok(match held {
        Held::Refused(refusal) => Outcome::Rejected {
            code: refusal.code.into(),
            field: None,
            message: refusal.message.into(),
        },
        Held::Waiting(parent) => Outcome::Retry {
            code: PARENT_MISSING.into(),
            message: waiting_message(&parent.kind),
            parent: Some(parent),
        },
    })
}

/// The outcome of an item whose key was taken already.
fn repeated(
    tx: &Tx,
    ctx: &PushContext,
    kind: &ItemKind,
    id: &str,
    hash: &[u8; 32],
) -> Result<Outcome, DbError> {
    Ok(
        match store::sync::ledger_entry(tx, kind, id, ctx.device.gemeente)? {
            Some(first) if first.hash == hash && first.device == ctx.device.id => {
                Outcome::Duplicate(acceptance(first.seq, first.received_at))
            }
            Some(first) => Outcome::Conflict {
                original: acceptance(first.seq, first.received_at),
                message: "Dit id is al ontvangen met andere inhoud; er is niets overschreven."
                    .into(),
            },
            // Taken in another gemeente: not this phone's id to use, and nothing of that
            // gemeente is told.
            None => Outcome::Rejected {
                code: ID_TAKEN.code.into(),
                field: None,
                message: ID_TAKEN.message.into(),
            },
        },
    )
}

/// Claims the key of every item of `pushes` at its first sighting, in order, in one go.
/// Per item: `Some` with the claim's outcome at a key's first sighting, `None` for a
/// refused item or a repeat of a key (claimed in its turn).
fn claim_first_sightings(tx: &Tx, pushes: &[Push]) -> Result<Vec<Option<Option<i64>>>, DbError> {
    let mut seen = std::collections::HashSet::new();
    let firsts: Vec<Option<store::sync::Claim>> = pushes
        .iter()
        .flat_map(|p| p.items.iter().map(move |item| (&p.ctx, item)))
        .map(|(ctx, item)| match item {
            Prepared::Ready { kind, id, hash, .. } if seen.insert((kind, id.as_str())) => {
                Some(store::sync::Claim {
                    kind,
                    id,
                    hash,
                    device: ctx.device.id,
                    received_at: ctx.received_at,
                })
            }
            _ => None,
        })
        .collect();
    let claims: Vec<store::sync::Claim> = firsts.iter().flatten().copied().collect();
    let mut seqs = store::sync::claim_items(tx, &claims)?.into_iter();
    Ok(firsts
        .iter()
        .map(|first| first.as_ref().map(|_| seqs.next().flatten()))
        .collect())
}

/// What a commit has yet to write: its contacts, stored together by [`Batch::flush`]
/// before anything that could refer to one of them, and at the end. Also the wijk of each
/// of the device's rounds looked up during the commit: a batch's contacts nearly all
/// belong to one round. Only found rounds are kept (a round is never deleted or moved), so
/// a round that arrives later in the batch is still seen.
#[derive(Default)]
struct Batch<'a> {
    contacts: Vec<PendingContact<'a>>,
    rounds: std::collections::HashMap<store::sync::OwnRound, Option<WijkId>>,
}

/// A contact whose ledger key is claimed, waiting to be stored with the others.
struct PendingContact<'a> {
    contact: &'a StreetContact,
    derived: &'a Derived,
    ctx: &'a PushContext,
    seq: i64,
    wijk: Option<WijkId>,
    record_key: i64,
}

impl Batch<'_> {
    /// Stores the waiting contacts.
    fn flush(&mut self, tx: &Tx) -> Result<(), DbError> {
        if self.contacts.is_empty() {
            return Ok(());
        }
        let rows: Vec<store::sync::NewContact> = self
            .contacts
            .iter()
            .map(|p| store::sync::NewContact {
                contact: p.contact,
                derived: p.derived,
                seq: p.seq,
                device: p.ctx.device.id,
                user: p.ctx.device.user,
                gemeente: p.ctx.device.gemeente,
                wijk: p.wijk,
                received_at: p.ctx.received_at,
                skew_ms: p.ctx.skew_ms,
                skew_flag: p.ctx.skewed(),
                record_key: p.record_key,
            })
            .collect();
        store::sync::insert_contacts(tx, &rows)?;
        self.contacts.clear();
        Ok(())
    }

    /// Looks up, in one go, the rounds the contacts of `pushes` name as their phone's own.
    fn find_rounds(&mut self, tx: &Tx, pushes: &[Push]) -> Result<(), DbError> {
        let named: std::collections::HashSet<store::sync::OwnRound> = pushes
            .iter()
            .flat_map(|p| p.items.iter().map(move |item| (p.ctx.device.id, item)))
            .filter_map(|(device, item)| match item {
                Prepared::Ready {
                    ready: Ready::Contact(c, _),
                    ..
                } => Some((device, c.round)),
                _ => None,
            })
            .collect();
        let named: Vec<_> = named.into_iter().collect();
        self.rounds
            .extend(store::sync::own_round_wijks(tx, &named)?);
        Ok(())
    }

    /// The wijk of one of the device's own rounds: `None` when the device has no such
    /// round, `Some(None)` for a round stored without a wijk (one the server did not know).
    fn round_wijk(
        &mut self,
        tx: &Tx,
        device: DeviceId,
        round: RoundId,
    ) -> Result<Option<Option<WijkId>>, DbError> {
        if let Some(wijk) = self.rounds.get(&(device, round)) {
            return Ok(Some(*wijk));
        }
        let wijk = store::sync::own_round_wijk(tx, round, device)?;
        if let Some(w) = wijk {
            self.rounds.insert((device, round), w);
        }
        Ok(wijk)
    }
}

fn write<'a>(
    tx: &Tx,
    ctx: &'a PushContext,
    seq: i64,
    ready: &'a Ready,
    batch: &mut Batch<'a>,
) -> Result<Result<(), Held>, DbError> {
    let device = ctx.device.id;
    // Anything but a contact may refer to a contact written before it: those are stored
    // first.
    if !matches!(ready, Ready::Contact(..)) {
        batch.flush(tx)?;
    }
    match ready {
        Ready::Round(r) => {
            let in_scope = store::sync::wijk_in_gemeente(tx, r.wijk, ctx.device.gemeente)?;
            // A wijk the server does not know (removed since the phone's last pull, or
            // never in this gemeente): the round is stored without one, so that its
            // contacts are never stuck, and the named id is kept for the admin. Its
            // contacts then get a wijk by their location only; the unknown id is never
            // copied onto them, so no contact lands in another gemeente's wijk.
            let (wijk, unknown) = if in_scope {
                (Some(r.wijk), None)
            } else {
                tracing::warn!("round stored with a wijk this gemeente does not know");
                (None, Some(r.wijk))
            };
            store::sync::insert_round(tx, r, device, ctx.device.user, wijk, unknown)?;
        }
        Ready::RoundEnd(e) => {
            if !store::sync::end_round(tx, e.round, device, e.ended_at.as_second())? {
                return Ok(Err(missing_round(tx, e.round)?));
            }
        }
        Ready::Contact(c, d) => {
            // Rounds are written at once, so the round is found whether it came in an
            // earlier push or earlier in this one.
            let Some(round_wijk) = batch.round_wijk(tx, device, c.round)? else {
                return Ok(Err(missing_round(tx, c.round)?));
            };
            // The contact's random record key for the cell-key method (issue 9): drawn
            // here, stored, never published and never sent back to a phone. A correction
            // keeps it: the record stays the same record.
            let record_key = RecordKey(rand::random::<u32>()).to_i64();
            batch.contacts.push(PendingContact {
                wijk: d.wijk.or(round_wijk),
                contact: c,
                derived: d,
                ctx,
                seq,
                record_key,
            });
        }
        Ready::Correction(c, d) => {
            if !store::sync::correct_contact(tx, c.contact, device, seq, &c.facts, d, d.wijk)? {
                return Ok(Err(missing_contact(tx, c.contact)?));
            }
            store::sync::insert_correction(tx, c.id, c.contact, seq, &c.facts)?;
        }
        Ready::CareForm(f) => {
            let Some(wijk) = store::sync::own_contact_wijk(tx, f.contact, device)? else {
                return Ok(Err(missing_contact(tx, f.contact)?));
            };
            let feedback_seq = store::care_forms::next_feedback_seq(tx)?;
            store::sync::insert_care_form(
                tx,
                &store::sync::NewCareForm {
                    form: f,
                    seq,
                    device,
                    user: ctx.device.user,
                    gemeente: ctx.device.gemeente,
                    wijk,
                    reporter_role: ctx.device.role.code(),
                    received_at: ctx.received_at,
                    feedback_seq,
                },
            )?;
        }
    }
    Ok(Ok(()))
}

/// A round stored with a wijk the server did not know, for the admin to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWijkRound {
    /// The round.
    pub round: RoundId,
    /// The phone that sent it.
    pub device: DeviceId,
    /// The wijk id the phone named.
    pub named_wijk: String,
    /// When the round started (device clock), unix seconds.
    pub started_at: i64,
    /// Its contacts on the server.
    pub contacts: u64,
}

/// The gemeente's rounds stored with a wijk the server did not know, newest first. The
/// admin's phone page lists them: usually a phone that has not pulled since a wijk was
/// removed, which a sync fixes for its next round.
pub fn rounds_with_unknown_wijk(
    tx: &Tx,
    gemeente: GemeenteId,
) -> Result<Vec<UnknownWijkRound>, DbError> {
    store::sync::rounds_with_unknown_wijk(tx, gemeente)
}
