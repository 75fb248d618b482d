//! Ingest of pushed outbox items with exactly-once effect.
//!
//! A push is handled in two steps:
//! 1. [`prepare`] runs on the request's own task: it parses each item, validates it,
//!    hashes its canonical content and works out everything derivable (wijk by location,
//!    the norm verdict, the H3 cells). A bad item becomes a rejection right here and never
//!    touches the others.
//! 2. [`commit`] runs inside the writer's transaction: it checks the idempotency ledger
//!    (`item`, unique on kind and id) and writes the rows. The caller sends the receipts
//!    only after the transaction committed.
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
use avondronde_shared::{AgeBand, ContactId, DeviceId, GemeenteId, RoundId, StreetContact, WijkId};
use h3o::{LatLng, Resolution};
use jiff::Timestamp;
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

use crate::auth::Device;
use crate::db::DbError;
use crate::state::GemeenteRules;

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

/// Parses, validates and derives one pushed item. `now` is the validation clock.
pub fn prepare(item: PushItem, now: Timestamp, rules: &GemeenteRules) -> Prepared {
    let PushItem { kind, id, body } = item;
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

/// Whether a round or contact with this id exists for any device: then a child of it from
/// another device is refused for good instead of waiting.
fn exists_elsewhere(conn: &Connection, table: &str, id: &str) -> Result<bool, DbError> {
    let sql = match table {
        "round" => "SELECT EXISTS (SELECT 1 FROM round WHERE id = ?1)",
        _ => "SELECT EXISTS (SELECT 1 FROM contact WHERE id = ?1)",
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params![id], |r| r.get(0))?)
}

fn missing_round(conn: &Connection, round: RoundId) -> Result<Held, DbError> {
    let id = round.to_string();
    Ok(if exists_elsewhere(conn, "round", &id)? {
        Held::Refused(UNKNOWN_ROUND)
    } else {
        Held::Waiting(ItemRef {
            kind: ItemKind::Round,
            id,
        })
    })
}

fn missing_contact(conn: &Connection, contact: ContactId) -> Result<Held, DbError> {
    let id = contact.to_string();
    Ok(if exists_elsewhere(conn, "contact", &id)? {
        Held::Refused(UNKNOWN_CONTACT)
    } else {
        Held::Waiting(ItemRef {
            kind: ItemKind::Contact,
            id,
        })
    })
}

/// Writes the prepared items of one push inside the writer's transaction and returns a
/// receipt per item, in order. A refused item leaves nothing behind;
/// a storage error fails the whole call (the writer rolls back its savepoint).
pub fn commit(
    conn: &Connection,
    ctx: &PushContext,
    items: Vec<Prepared>,
) -> Result<Vec<Receipt>, DbError> {
    let mut receipts = Vec::with_capacity(items.len());
    let mut rounds = RoundCache::default();
    let names = Names::of(ctx);
    conn.prepare_cached("UPDATE device SET last_seen_at = ?1, clock_offset_ms = ?2 WHERE id = ?3")?
        .execute(params![ctx.received_at, ctx.skew_ms, names.device])?;
    for item in items {
        let (kind, id, hash, ready) = match item {
            Prepared::Rejected(r) => {
                receipts.push(r);
                continue;
            }
            Prepared::Ready {
                kind,
                id,
                hash,
                ready,
            } => (kind, id, hash, ready),
        };
        // Claim the key in the ledger; only if it is taken, look at who has it. (New items
        // are the common case: one index probe instead of two.) `OR IGNORE` rather than
        // `ON CONFLICT … RETURNING`: RETURNING makes SQLite keep a statement journal, a
        // copy of every page the insert touches, which was most of the writer's time.
        let inserted = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO item (kind, item_id, device_id, hash, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                kind.code(),
                id,
                names.device,
                &hash[..],
                ctx.received_at
            ])?;
        let claimed = (inserted == 1).then(|| conn.last_insert_rowid());
        let outcome = if let Some(seq) = claimed {
            match write(conn, ctx, &names, seq, ready, &mut rounds) {
                Ok(Ok(())) => Outcome::Accepted(acceptance(seq, ctx.received_at)),
                Ok(Err(held)) => {
                    // `write` holds an item back before it writes anything, so taking the
                    // item out of the ledger undoes it: a fixed version (or the same one,
                    // after its parent) can be sent later. (No savepoint per item: that
                    // would copy every touched page per item.)
                    conn.prepare_cached("DELETE FROM item WHERE seq = ?1")?
                        .execute(params![seq])?;
                    match held {
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
                    }
                }
                // The whole job fails; the writer rolls back its savepoint.
                Err(e) => return Err(e),
            }
        } else {
            let (seq, old_hash, at, device): (i64, Vec<u8>, i64, String) = conn
                .prepare_cached(
                    "SELECT seq, hash, received_at, device_id FROM item WHERE kind = ?1 AND item_id = ?2",
                )?
                .query_row(params![kind.code(), id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?;
            if old_hash == hash && device == names.device {
                Outcome::Duplicate(acceptance(seq, at))
            } else {
                Outcome::Conflict {
                    original: acceptance(seq, at),
                    message: "Dit id is al ontvangen met andere inhoud; er is niets overschreven."
                        .into(),
                }
            }
        };
        receipts.push(Receipt { kind, id, outcome });
    }
    Ok(receipts)
}

/// The pushing device's ids as stored text, made once per commit rather than per item.
struct Names {
    device: String,
    user: String,
    gemeente: String,
}

impl Names {
    fn of(ctx: &PushContext) -> Names {
        Names {
            device: ctx.device.id.to_string(),
            user: ctx.device.user.to_string(),
            gemeente: ctx.device.gemeente.to_string(),
        }
    }
}

/// The wijk of each of the device's rounds looked up during one commit: a batch's
/// contacts nearly all belong to one round. Only found rounds are kept (a round is never
/// deleted or moved), so a round that arrives later in the batch is still seen.
#[derive(Default)]
struct RoundCache(std::collections::HashMap<RoundId, Option<String>>);

/// The wijk of one of the device's own rounds: `None` when the device has no such round,
/// `Some(None)` for a round stored without a wijk (one the server did not know).
fn owned_round_wijk(
    conn: &Connection,
    names: &Names,
    round: RoundId,
    cache: &mut RoundCache,
) -> Result<Option<Option<String>>, DbError> {
    if let Some(wijk) = cache.0.get(&round) {
        return Ok(Some(wijk.clone()));
    }
    let wijk: Option<Option<String>> = conn
        .prepare_cached("SELECT wijk_id FROM round WHERE id = ?1 AND device_id = ?2")?
        .query_row(params![round, names.device], |r| r.get(0))
        .optional()?
        .map(|w: String| (!w.is_empty()).then_some(w));
    if let Some(w) = &wijk {
        cache.0.insert(round, w.clone());
    }
    Ok(wijk)
}

/// The contact columns that hold its facts (and what ingest derived from them), in the
/// order of [`FactColumns::values`]. A contact's insert and a correction's update both
/// write exactly these.
const FACT_COLUMNS: &str = "observed_at, utc_offset_s, source, lat, lon, accuracy_m, fix_age_s, \
     place_id, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions, \
     brought_home, past_norm, cell_r9, cell_r10";
const FACT_COUNT: usize = 20;

static INSERT_CONTACT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id,
           received_at, clock_skew_ms, skew_flag, record_key, {FACT_COLUMNS})
         VALUES ({})",
        vec!["?"; 11 + FACT_COUNT].join(", ")
    )
});

static CORRECT_CONTACT: LazyLock<String> = LazyLock::new(|| {
    let assignments = FACT_COLUMNS
        .split(',')
        .map(|col| format!("{} = ?", col.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE contact SET {assignments}, wijk_id = COALESCE(?, wijk_id), corrected_seq = ?
         WHERE id = ? AND device_id = ? AND COALESCE(corrected_seq, 0) < ?"
    )
});

/// A contact's facts as SQL values.
struct FactColumns<'a> {
    f: &'a ContactFacts,
    d: &'a Derived,
    observed_at: i64,
    source: &'a str,
    place: Option<String>,
    counts: [u16; 5],
    behaviours: String,
    actions: String,
    cell_r9: Option<i64>,
    cell_r10: Option<i64>,
}

impl<'a> FactColumns<'a> {
    fn new(f: &'a ContactFacts, d: &'a Derived) -> Self {
        FactColumns {
            f,
            d,
            observed_at: f.observed_at.as_second(),
            source: f.location.source.code(),
            place: f.location.place.map(|p| p.to_string()),
            counts: AgeBand::ALL.map(|b| f.group.get(b)),
            behaviours: codes(f.behaviours.iter().map(|b| b.code())),
            actions: codes(f.actions.iter().map(|a| a.code())),
            cell_r9: d.cell_r9.map(|c| c as i64),
            cell_r10: d.cell_r10.map(|c| c as i64),
        }
    }

    fn values(&self) -> [&dyn ToSql; FACT_COUNT] {
        let f = self.f;
        [
            &self.observed_at,
            &f.utc_offset_s,
            &self.source,
            &f.location.lat,
            &f.location.lon,
            &f.location.accuracy_m,
            &f.location.fix_age_s,
            &self.place,
            &self.counts[0],
            &self.counts[1],
            &self.counts[2],
            &self.counts[3],
            &self.counts[4],
            &f.supervised,
            &self.behaviours,
            &self.actions,
            &f.brought_home,
            &self.d.past_norm,
            &self.cell_r9,
            &self.cell_r10,
        ]
    }
}

fn codes<T: AsRef<str>>(codes: impl Iterator<Item = T>) -> String {
    serde_json::to_string(&codes.map(|c| c.as_ref().to_owned()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

fn write(
    conn: &Connection,
    ctx: &PushContext,
    names: &Names,
    seq: i64,
    ready: Ready,
    rounds: &mut RoundCache,
) -> Result<Result<(), Held>, DbError> {
    let device = &names.device;
    match ready {
        Ready::Round(r) => {
            let in_scope: bool = conn
                .prepare_cached("SELECT COUNT(*) > 0 FROM wijk WHERE id = ?1 AND gemeente_id = ?2")?
                .query_row(params![r.wijk, names.gemeente], |row| row.get(0))?;
            // A wijk the server does not know (removed since the phone's last pull, or
            // never in this gemeente): the round is stored without one, so that its
            // contacts are never stuck, and the named id is kept for the admin. Its
            // contacts then get a wijk by their location only; the unknown id is never
            // copied onto them, so no contact lands in another gemeente's wijk.
            let (wijk, unknown) = if in_scope {
                (r.wijk.to_string(), None)
            } else {
                tracing::warn!("round stored with a wijk this gemeente does not know");
                (String::new(), Some(r.wijk.to_string()))
            };
            conn.prepare_cached(
                "INSERT INTO round (id, device_id, user_id, wijk_id, partner, started_at, unknown_wijk)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                r.id,
                device,
                names.user,
                wijk,
                r.partner,
                r.started_at.as_second(),
                unknown,
            ])?;
        }
        Ready::RoundEnd(e) => {
            let n = conn
                .prepare_cached("UPDATE round SET ended_at = ?1 WHERE id = ?2 AND device_id = ?3")?
                .execute(params![e.ended_at.as_second(), e.round, device])?;
            if n == 0 {
                return Ok(Err(missing_round(conn, e.round)?));
            }
        }
        Ready::Contact(c, d) => {
            let Some(round_wijk) = owned_round_wijk(conn, names, c.round, rounds)? else {
                return Ok(Err(missing_round(conn, c.round)?));
            };
            let wijk = d.wijk.map(|w| w.to_string()).or(round_wijk);
            // The contact's random record key for the cell-key method (issue 9): drawn
            // here, stored, never published and never sent back to a phone. A correction
            // keeps it: the record stays the same record.
            let record_key = RecordKey(rand::random::<u32>()).to_i64();
            let head: [&dyn ToSql; 11] = [
                &c.id,
                &seq,
                &device,
                &names.user,
                &names.gemeente,
                &c.round,
                &wijk,
                &ctx.received_at,
                &ctx.skew_ms,
                &ctx.skewed(),
                &record_key,
            ];
            let facts = FactColumns::new(&c.facts, &d);
            conn.prepare_cached(&INSERT_CONTACT)?
                .execute(params_from_iter(head.into_iter().chain(facts.values())))?;
        }
        Ready::Correction(c, d) => {
            let facts = FactColumns::new(&c.facts, &d);
            let wijk = d.wijk.map(|w| w.to_string());
            let contact = c.contact.to_string();
            let tail: [&dyn ToSql; 5] = [&wijk, &seq, &contact, &device, &seq];
            let n = conn
                .prepare_cached(&CORRECT_CONTACT)?
                .execute(params_from_iter(facts.values().into_iter().chain(tail)))?;
            if n == 0 {
                return Ok(Err(missing_contact(conn, c.contact)?));
            }
            conn.prepare_cached(
                "INSERT INTO correction (id, contact_id, seq, facts) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                c.id,
                c.contact,
                seq,
                serde_json::to_string(&c.facts)?
            ])?;
        }
        Ready::CareForm(f) => {
            let wijk: Option<Option<String>> = conn
                .prepare_cached("SELECT wijk_id FROM contact WHERE id = ?1 AND device_id = ?2")?
                .query_row(params![f.contact, device], |r| r.get(0))
                .optional()?;
            let Some(wijk) = wijk else {
                return Ok(Err(missing_contact(conn, f.contact)?));
            };
            let feedback_seq: i64 = conn
                .prepare_cached(
                    "UPDATE counter SET value = value + 1 WHERE name = 'feedback' RETURNING value",
                )?
                .query_row([], |r| r.get(0))?;
            conn.prepare_cached(
                "INSERT INTO care_form (id, seq, device_id, user_id, gemeente_id, contact_id, wijk_id,
                   reporter_role, age_band, created_at, received_at, recipient_key, sealed, status,
                   updated_at, feedback_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'received', ?11, ?14)",
            )?
            .execute(params![
                f.id,
                seq,
                device,
                names.user,
                names.gemeente,
                f.contact,
                wijk,
                ctx.device.role.code(),
                f.age_band.code(),
                f.created_at.as_second(),
                ctx.received_at,
                f.recipient_key.0,
                f.sealed,
                feedback_seq,
            ])?;
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
    conn: &Connection,
    gemeente: GemeenteId,
) -> Result<Vec<UnknownWijkRound>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.device_id, r.unknown_wijk, r.started_at,
                (SELECT COUNT(*) FROM contact c WHERE c.round_id = r.id)
         FROM round r JOIN user u ON u.id = r.user_id
         WHERE r.unknown_wijk IS NOT NULL AND u.gemeente_id = ?1
         ORDER BY r.started_at DESC",
    )?;
    let rows = stmt.query_map(params![gemeente], |r| {
        Ok(UnknownWijkRound {
            round: r.get(0)?,
            device: r.get(1)?,
            named_wijk: r.get(2)?,
            started_at: r.get(3)?,
            contacts: r.get::<_, i64>(4)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
