//! The sync protocol between a field device and the server, and the pure sync plan.
//!
//! The device keeps an outbox. Every outbox item is keyed by `(kind, id)`, where the id is
//! the record's own UUIDv7, made on the device. The server answers one [`Receipt`] per
//! item, after its commit:
//! - **accepted** with a server sequence number;
//! - **duplicate**: the same key with the same content was already accepted, and the
//!   original acceptance is returned, so a retry after a lost response is harmless;
//! - **conflict**: the same key with *different* content; nothing is overwritten;
//! - **rejected**: the item is invalid, with the field and a reason;
//! - **retry** (protocol 2): not stored *yet*, because the record it belongs to (its
//!   parent: the round of a contact, the contact of a correction) has not arrived. The
//!   device keeps the item pending and sends it again after the parent, sending the
//!   parent again too if it thinks the server already has it (a server restored from a
//!   backup). Nothing is quarantined for a missing parent.
//!
//! What the device does with each answer is decided here, by pure functions that the app
//! only carries out ([`apply_receipts`], [`after_failure`], [`next_batch`]). Ordering never
//! depends on a device clock: the outbox is ordered by a local insertion counter, and pull
//! cursors are server sequence numbers.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::area::{Gemeente, Place, Wijk};
use crate::care::{CareFormEnvelope, Feedback, RecipientKeyId};
use crate::contact::{ContactFacts, StreetContact};
use crate::ids::{ContactId, CorrectionId};
use crate::norms::{AreaRule, NormSet};
use crate::round::{Round, RoundEnd};
use crate::wire_enum::wire_enum;

/// The protocol version this build speaks. A server accepts every version up to its own;
/// fields are only ever added (with defaults), never renamed or removed.
///
/// Version 2 added the `retry` outcome. A device that speaks version 1 cannot read it, so
/// the server leaves such an item's receipt out for it, which version 1 already treats as
/// "send again" (see [`apply_receipts`]).
pub const PROTOCOL_VERSION: u32 = 2;

/// The first protocol version whose devices understand [`Outcome::Retry`].
pub const RETRY_PROTOCOL_VERSION: u32 = 2;

/// The oldest protocol version this build still accepts. A device below it is answered
/// with 426 (`app_too_old`) and keeps its outbox until the app is updated. A device above
/// [`PROTOCOL_VERSION`] is accepted: it only adds fields, which are ignored, and item kinds,
/// which are refused one by one.
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// Items per push request that a device sends at most.
pub const MAX_BATCH_ITEMS: usize = 500;

/// A device's clock may be off by this much before its contacts are flagged.
pub const MAX_CLOCK_SKEW: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// A correction to a contact made within its round (e.g. the time was set wrong). It
/// replaces the contact's facts; the original stays in the server's history. Read without
/// serde's flatten, like [`StreetContact`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactCorrection {
    /// Id of the correction itself.
    pub id: CorrectionId,
    /// The contact corrected.
    pub contact: ContactId,
    /// The corrected facts.
    #[serde(flatten)]
    pub facts: ContactFacts,
}

crate::contact::flat_facts!(ContactCorrection {
    id: CorrectionId,
    contact: ContactId
});

wire_enum! {
    /// The kind of an outbox item.
    pub enum ItemKind {
        /// A round started.
        Round = "round" => "ronde",
        /// A round ended.
        RoundEnd = "round_end" => "einde ronde",
        /// A street contact.
        Contact = "contact" => "contact",
        /// A correction to a contact.
        Correction = "correction" => "correctie",
        /// A sealed care form.
        CareForm = "care_form" => "zorgformulier",
    }
}

/// A typed outbox payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A round started.
    Round(Round),
    /// A round ended (keyed by the round id).
    RoundEnd(RoundEnd),
    /// A street contact.
    Contact(StreetContact),
    /// A correction.
    Correction(ContactCorrection),
    /// A sealed care form.
    CareForm(CareFormEnvelope),
}

impl Payload {
    /// The kind of item.
    pub fn kind(&self) -> ItemKind {
        match self {
            Payload::Round(_) => ItemKind::Round,
            Payload::RoundEnd(_) => ItemKind::RoundEnd,
            Payload::Contact(_) => ItemKind::Contact,
            Payload::Correction(_) => ItemKind::Correction,
            Payload::CareForm(_) => ItemKind::CareForm,
        }
    }

    /// The idempotency id: the record's own id (the round's id for a round end).
    pub fn id(&self) -> uuid::Uuid {
        match self {
            Payload::Round(r) => r.id.0,
            Payload::RoundEnd(e) => e.round.0,
            Payload::Contact(c) => c.id.0,
            Payload::Correction(c) => c.id.0,
            Payload::CareForm(f) => f.id.0,
        }
    }

    /// The body as JSON.
    pub fn body_json(&self) -> serde_json::Result<String> {
        match self {
            Payload::Round(r) => serde_json::to_string(r),
            Payload::RoundEnd(e) => serde_json::to_string(e),
            Payload::Contact(c) => serde_json::to_string(c),
            Payload::Correction(c) => serde_json::to_string(c),
            Payload::CareForm(f) => serde_json::to_string(f),
        }
    }

    /// Parses a body of a known kind. Unknown kinds give `Ok(None)`.
    pub fn parse(kind: &ItemKind, body: &str) -> serde_json::Result<Option<Payload>> {
        Ok(Some(match kind {
            ItemKind::Round => Payload::Round(serde_json::from_str(body)?),
            ItemKind::RoundEnd => Payload::RoundEnd(serde_json::from_str(body)?),
            ItemKind::Contact => Payload::Contact(serde_json::from_str(body)?),
            ItemKind::Correction => Payload::Correction(serde_json::from_str(body)?),
            ItemKind::CareForm => Payload::CareForm(serde_json::from_str(body)?),
            ItemKind::Other(_) => return Ok(None),
        }))
    }

    /// The content hash the server uses to tell a replay from a conflict: BLAKE3 over the
    /// canonical JSON of the typed value (so formatting differences do not matter).
    pub fn content_hash(&self) -> serde_json::Result<[u8; 32]> {
        Ok(*blake3::hash(self.body_json()?.as_bytes()).as_bytes())
    }
}

/// One outbox item on the wire. The body stays raw until the server parses it, so that
/// one malformed item is rejected on its own instead of failing the whole batch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize, Deserialize)]
pub struct PushItem {
    /// The kind.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "contact"))]
    pub kind: ItemKind,
    /// The idempotency id (must equal the id inside the body).
    pub id: String,
    /// The record.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: Box<RawValue>,
}

impl PushItem {
    /// Wraps a typed payload.
    pub fn from_payload(payload: &Payload) -> serde_json::Result<PushItem> {
        Ok(PushItem {
            kind: payload.kind(),
            id: payload.id().to_string(),
            body: RawValue::from_string(payload.body_json()?)?,
        })
    }
}

/// `POST /api/v1/sync/push`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize, Deserialize)]
pub struct PushRequest {
    /// The protocol version the device speaks.
    pub protocol: u32,
    /// The device's clock when it sent the request, to measure its offset.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub device_time: Timestamp,
    /// The items, in outbox order.
    pub items: Vec<PushItem>,
}

/// When and in what order the server accepted an item.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// The server's sequence number for the item, unique and increasing.
    pub seq: u64,
    /// When the server received it (server clock).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: Timestamp,
}

/// The server's answer for one item.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Stored now.
    Accepted(Acceptance),
    /// Already stored with the same content: the original acceptance.
    Duplicate(Acceptance),
    /// The key exists with other content; nothing was overwritten.
    Conflict {
        /// The original acceptance of the key.
        original: Acceptance,
        /// Why (Dutch).
        message: String,
    },
    /// Not stored yet: the item's parent has not arrived. Keep it pending and send it again
    /// after the parent; nothing was written and the key is still free.
    Retry {
        /// Stable code, e.g. `parent_missing`.
        code: String,
        /// The parent the server is waiting for, so the device can send it (again) first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<ItemRef>,
        /// Dutch explanation.
        message: String,
    },
    /// Refused; retrying the same content will not help.
    Rejected {
        /// Stable code (a validation code or a protocol code such as `unknown_kind`).
        code: String,
        /// The offending field, if one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        /// Dutch explanation.
        message: String,
    },
    /// An outcome a newer server sent that this build does not know. Treated like a
    /// missing receipt: the item stays pending and is sent again, so nothing is lost and one
    /// new outcome cannot make a whole answer unreadable.
    #[serde(other)]
    Unknown,
}

/// A reference to one outbox item by its idempotency key.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemRef {
    /// Kind of the item.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: ItemKind,
    /// Its idempotency id.
    pub id: String,
}

/// The receipt for one pushed item.
///
/// Its outcome's fields sit beside `kind` and `id` on the wire. It is written with
/// `#[serde(flatten)]` but read in one pass by a hand-written `Deserialize`: flatten of an
/// internally tagged enum buffers every field twice before reading it, per receipt.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Kind of the item.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: ItemKind,
    /// Its idempotency id, as sent.
    pub id: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl<'de> Deserialize<'de> for Receipt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        /// Every field any outcome has; which must be present depends on `outcome`.
        #[derive(Deserialize)]
        struct Flat {
            kind: ItemKind,
            id: String,
            outcome: String,
            #[serde(default)]
            seq: Option<u64>,
            #[serde(default)]
            received_at: Option<Timestamp>,
            #[serde(default)]
            original: Option<Acceptance>,
            #[serde(default)]
            code: Option<String>,
            #[serde(default)]
            field: Option<String>,
            #[serde(default)]
            parent: Option<ItemRef>,
            #[serde(default)]
            message: Option<String>,
        }
        let f = Flat::deserialize(d)?;
        let acceptance = |seq: Option<u64>, at: Option<Timestamp>| match (seq, at) {
            (Some(seq), Some(received_at)) => Ok(Acceptance { seq, received_at }),
            (None, _) => Err(D::Error::missing_field("seq")),
            (_, None) => Err(D::Error::missing_field("received_at")),
        };
        let need =
            |v: Option<String>, name: &'static str| v.ok_or_else(|| D::Error::missing_field(name));
        let outcome = match f.outcome.as_str() {
            "accepted" => Outcome::Accepted(acceptance(f.seq, f.received_at)?),
            "duplicate" => Outcome::Duplicate(acceptance(f.seq, f.received_at)?),
            "conflict" => Outcome::Conflict {
                original: f
                    .original
                    .ok_or_else(|| D::Error::missing_field("original"))?,
                message: need(f.message, "message")?,
            },
            "retry" => Outcome::Retry {
                code: need(f.code, "code")?,
                parent: f.parent,
                message: need(f.message, "message")?,
            },
            "rejected" => Outcome::Rejected {
                code: need(f.code, "code")?,
                field: f.field,
                message: need(f.message, "message")?,
            },
            _ => Outcome::Unknown,
        };
        Ok(Receipt {
            kind: f.kind,
            id: f.id,
            outcome,
        })
    }
}

/// Response of a push.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    /// One receipt per item, in request order.
    pub receipts: Vec<Receipt>,
    /// The server's clock, so the device can show its own offset.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub server_time: Timestamp,
}

/// An opaque pull position: a server sequence number, never a device clock.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub u64);

/// `POST /api/v1/sync/pull`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequest {
    /// The protocol version the device speaks.
    #[serde(default = "default_protocol")]
    pub protocol: u32,
    /// Where the last pull ended; `None` on first sync.
    #[serde(default)]
    pub since: Option<Cursor>,
    /// The configuration version the device holds, so an unchanged config is not resent.
    #[serde(default)]
    pub config_version: Option<u64>,
    /// The device's clock.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub device_time: Option<Timestamp>,
    /// The device's outbox, counts only, so the admin sees unsent work before revoking.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub outbox: Option<OutboxReport>,
    /// The last refusal of the meldpunt key chain, if any: a code, no content.
    #[serde(default)]
    pub key_refused: Option<String>,
}

/// How many items wait in a device's outbox (counts only, never content).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxReport {
    /// Items not yet accepted by the server.
    pub pending: u32,
    /// Items the server refused, kept on the device for its user.
    pub quarantined: u32,
    /// Care-form drafts not yet sealed.
    #[serde(default)]
    pub drafts: u32,
}

fn default_protocol() -> u32 {
    PROTOCOL_VERSION
}

impl Default for PullRequest {
    /// A first pull in this build's protocol.
    fn default() -> Self {
        PullRequest {
            protocol: PROTOCOL_VERSION,
            since: None,
            config_version: None,
            device_time: None,
            outbox: None,
            key_refused: None,
        }
    }
}

/// The meldpunt's public key for sealing care forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeldpuntKey {
    /// Key id, recorded on each envelope.
    pub id: RecipientKeyId,
    /// The age X25519 recipient ("age1…").
    pub recipient: String,
}

/// Everything a device needs to work offline in its gemeente.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceConfig {
    /// Version; changes whenever anything below changes.
    pub version: u64,
    /// The gemeente.
    pub gemeente: Gemeente,
    /// Its norms.
    pub norms: NormSet,
    /// Its area rules.
    #[serde(default)]
    pub area_rules: Vec<AreaRule>,
    /// The wijken the device may work in.
    pub wijken: Vec<Wijk>,
    /// Named places.
    #[serde(default)]
    pub places: Vec<Place>,
    /// The current meldpunt key, once the meldpunt has one. Informational: the phone seals
    /// only to the recipient of a [`crate::keychain::KeyChain`] that verifies.
    #[serde(default)]
    pub meldpunt_key: Option<MeldpuntKey>,
    /// The meldpunt's signed key chain, root first.
    #[serde(default)]
    pub meldpunt_chain: Option<crate::keychain::KeyChain>,
    /// The basemap's tile URL template (`{z}/{x}/{y}`, Web Mercator) for the app's map.
    /// Nothing depends on it being reachable: the wijk, the hangplekken and the contacts
    /// are drawn from this configuration and the device's own store. A server that sends
    /// none (older versions) means the PDOK BRT achtergrondkaart.
    #[serde(default = "default_basemap_url")]
    pub basemap_url: String,
    /// What the gemeente lets a phone keep, and when the app locks (issue 10). Absent
    /// from an older server's configuration, which then means the defaults.
    #[serde(default)]
    pub phone: PhonePolicy,
}

/// The PDOK BRT achtergrondkaart in Web Mercator: the standard Dutch basemap.
pub const PDOK_BASEMAP_URL: &str =
    "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png";

fn default_basemap_url() -> String {
    PDOK_BASEMAP_URL.to_owned()
}

/// The gemeente's rules for what a phone keeps and when it locks (issue 10). Every field
/// has a serde default, so an older server's configuration (without them) and an older
/// phone (ignoring them) both keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhonePolicy {
    /// Days a receipted contact stays on the phone (for "Eerder hier"), then it is deleted.
    #[serde(default = "PhonePolicy::default_retention_days")]
    pub contact_retention_days: u16,
    /// Minutes in the background after which the app asks for its PIN.
    #[serde(default = "PhonePolicy::default_lock_minutes")]
    pub lock_after_minutes: u16,
}

impl PhonePolicy {
    /// The default retention of receipted contacts: 30 days, as long as "Eerder hier" looks.
    pub const DEFAULT_RETENTION_DAYS: u16 = 30;
    /// The default lock: 5 minutes in the background.
    pub const DEFAULT_LOCK_MINUTES: u16 = 5;
    /// The longest retention a gemeente may set (a year).
    pub const MAX_RETENTION_DAYS: u16 = 365;
    /// The longest lock delay a gemeente may set (a shift).
    pub const MAX_LOCK_MINUTES: u16 = 480;

    fn default_retention_days() -> u16 {
        Self::DEFAULT_RETENTION_DAYS
    }

    fn default_lock_minutes() -> u16 {
        Self::DEFAULT_LOCK_MINUTES
    }

    /// The policy with out-of-range values brought within range (1 day .. a year;
    /// 0 minutes = lock at once .. a shift), so a damaged setting cannot keep data forever.
    pub fn clamped(self) -> PhonePolicy {
        PhonePolicy {
            contact_retention_days: self
                .contact_retention_days
                .clamp(1, Self::MAX_RETENTION_DAYS),
            lock_after_minutes: self.lock_after_minutes.min(Self::MAX_LOCK_MINUTES),
        }
    }
}

impl Default for PhonePolicy {
    fn default() -> Self {
        PhonePolicy {
            contact_retention_days: Self::DEFAULT_RETENTION_DAYS,
            lock_after_minutes: Self::DEFAULT_LOCK_MINUTES,
        }
    }
}

/// Response of a pull. A revoked device gets no pull at all: every call answers 401 with
/// code `device_revoked`, which is the signal to stop and wipe the token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// Pass this as `since` next time.
    pub cursor: Cursor,
    /// The configuration, when it differs from the version the device holds.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub config: Option<DeviceConfig>,
    /// Feedback on this device's care forms that changed since the cursor, in server order.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub feedback: Vec<Feedback>,
    /// The server's clock.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub server_time: Timestamp,
}

// ---------------------------------------------------------------------------------------
// The pure plan.

/// The state of an outbox entry on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EntryState {
    /// Waiting to be sent (wacht).
    Pending {
        /// Failed attempts so far.
        attempts: u32,
    },
    /// The server has it (verzonden).
    Sent(Acceptance),
    /// Refused; kept aside and never retried automatically (geweigerd).
    Quarantined {
        /// Stable code.
        code: String,
        /// Dutch reason to show.
        message: String,
    },
}

impl EntryState {
    /// The Dutch word for the UI.
    pub fn label_nl(&self) -> &'static str {
        match self {
            EntryState::Pending { .. } => "wacht",
            EntryState::Sent(_) => "verzonden",
            EntryState::Quarantined { .. } => "geweigerd",
        }
    }
}

/// An outbox entry as the plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Local insertion counter: the only ordering the outbox uses.
    pub local_seq: u64,
    /// Kind of item.
    pub kind: ItemKind,
    /// Idempotency id.
    pub id: String,
    /// Size of the body in bytes.
    pub body_len: usize,
    /// State.
    pub state: EntryState,
}

/// Picks the next batch: pending entries in local order, at most `max_items` and at most
/// `max_bytes` of bodies (but always at least one entry, so a big item is never stuck).
pub fn next_batch(entries: &[Entry], max_items: usize, max_bytes: usize) -> Vec<u64> {
    let mut pending: Vec<&Entry> = entries
        .iter()
        .filter(|e| matches!(e.state, EntryState::Pending { .. }))
        .collect();
    pending.sort_by_key(|e| e.local_seq);
    let mut batch = Vec::new();
    let mut bytes = 0usize;
    for e in pending {
        if batch.len() >= max_items.max(1)
            || (!batch.is_empty() && bytes.saturating_add(e.body_len) > max_bytes)
        {
            break;
        }
        bytes = bytes.saturating_add(e.body_len);
        batch.push(e.local_seq);
    }
    batch
}

/// A state change the store must carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The entry.
    pub local_seq: u64,
    /// Its new state.
    pub state: EntryState,
}

/// Applies the receipts of one push to the batch that was sent.
///
/// Accepted and duplicate mean sent; rejected and conflict mean quarantined; `retry` (a
/// missing parent) and an entry without a receipt (a truncated answer, or a version-1
/// answer to an item waiting for its parent) stay pending with one more attempt, so they
/// are simply sent again and the server's idempotency makes that harmless.
pub fn apply_receipts(batch: &[Entry], receipts: &[Receipt]) -> Vec<Transition> {
    batch
        .iter()
        .map(|entry| {
            let receipt = receipts
                .iter()
                .find(|r| r.kind == entry.kind && r.id == entry.id);
            let state = match receipt.map(|r| &r.outcome) {
                Some(Outcome::Accepted(a)) | Some(Outcome::Duplicate(a)) => EntryState::Sent(*a),
                Some(Outcome::Rejected { code, message, .. }) => EntryState::Quarantined {
                    code: code.clone(),
                    message: message.clone(),
                },
                Some(Outcome::Conflict { message, .. }) => EntryState::Quarantined {
                    code: "conflict".into(),
                    message: message.clone(),
                },
                Some(Outcome::Retry { .. }) | Some(Outcome::Unknown) | None => {
                    EntryState::Pending {
                        attempts: attempts(&entry.state).saturating_add(1),
                    }
                }
            };
            Transition {
                local_seq: entry.local_seq,
                state,
            }
        })
        .collect()
}

/// The parents named by `retry` receipts, which the device must look up in its outbox
/// (in any state) and pass to [`resend_parents`].
pub fn missing_parents(receipts: &[Receipt]) -> Vec<ItemRef> {
    let mut parents: Vec<ItemRef> = receipts
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Retry {
                parent: Some(p), ..
            } => Some(p.clone()),
            _ => None,
        })
        .collect();
    parents.sort();
    parents.dedup();
    parents
}

/// What to do with the outbox entries of parents the server says it lacks.
///
/// A parent still pending goes first anyway (the outbox is sent in local order, and a
/// parent is always queued before its children). A parent the device holds as *sent* was
/// lost by the server (restored from a backup, say): it becomes pending again, so it is
/// sent before its children are retried; if the server has it after all, the ledger
/// answers `duplicate`. A quarantined parent is left alone: its user decides, and its
/// children wait.
pub fn resend_parents(parents: &[Entry]) -> Vec<Transition> {
    parents
        .iter()
        .filter(|e| matches!(e.state, EntryState::Sent(_)))
        .map(|e| Transition {
            local_seq: e.local_seq,
            state: EntryState::Pending { attempts: 0 },
        })
        .collect()
}

/// The memory of one push pass: entries the server asked to send again later.
///
/// Such an entry is held back for the rest of the pass, so a child whose parent never
/// comes cannot make a pass loop, until a batch of the same pass stores something new
/// (which may be the parent): then the held entries are sent again. Every release needs at
/// least one newly accepted item, so a pass ends. The next pass starts with nothing held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldBack(std::collections::BTreeSet<u64>);

impl HeldBack {
    /// The entries that may go in this pass's next batch.
    pub fn sendable(&self, entries: Vec<Entry>) -> Vec<Entry> {
        entries
            .into_iter()
            .filter(|e| !self.0.contains(&e.local_seq))
            .collect()
    }

    /// Takes in the receipts of one batch.
    pub fn after(&mut self, batch: &[Entry], receipts: &[Receipt]) {
        let outcome = |e: &Entry| {
            receipts
                .iter()
                .find(|r| r.kind == e.kind && r.id == e.id)
                .map(|r| &r.outcome)
        };
        // Something new was stored (perhaps the parent, even later in this same batch):
        // everything held may succeed now.
        if batch
            .iter()
            .any(|e| matches!(outcome(e), Some(Outcome::Accepted(_))))
        {
            self.0.clear();
            return;
        }
        for e in batch {
            if matches!(outcome(e), Some(Outcome::Retry { .. })) {
                self.0.insert(e.local_seq);
            }
        }
    }

    /// How many entries are held back.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is held back.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn attempts(state: &EntryState) -> u32 {
    match state {
        EntryState::Pending { attempts } => *attempts,
        _ => 0,
    }
}

/// Why a whole push (or pull) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No connection, DNS, TLS, or a timeout.
    Network,
    /// The server answered with this HTTP status.
    Status(u16),
    /// The server is busy (429 or 503) and said when to come back (`Retry-After`).
    ComeBackAfter(Duration),
}

/// What to do after a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after the delay, with at most this many items per batch.
    Retry {
        /// How long to wait.
        delay: Duration,
        /// The batch size to use next.
        batch_items: usize,
    },
    /// The device is no longer allowed in (revoked or token lost): stop syncing and ask the
    /// user to enrol again. Nothing in the outbox is deleted.
    Reenrol,
    /// The server does not speak this protocol; keep everything and wait for an app update.
    UpdateApp,
}

/// The longest a device waits between two attempts, also when a server asks for longer.
pub const BACKOFF_CAP: Duration = Duration::from_secs(300);

/// Exponential backoff with full jitter: a delay in `[0, min(cap, base · 2^attempt)]`,
/// scaled by `jitter` in `[0, 1]` (the caller supplies the randomness, so this stays pure).
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    const BASE: Duration = Duration::from_secs(2);
    let ceiling = BASE
        .checked_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .unwrap_or(BACKOFF_CAP)
        .min(BACKOFF_CAP);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        1.0
    };
    // Never zero: a retry storm against a struggling server helps nobody.
    ceiling.mul_f64(jitter).max(Duration::from_millis(500))
}

/// Decides what to do after a failed push of `batch_items` items on attempt `attempt`.
pub fn after_failure(failure: Failure, attempt: u32, batch_items: usize, jitter: f64) -> Decision {
    let retry = |items: usize| Decision::Retry {
        delay: backoff(attempt, jitter),
        batch_items: items.max(1),
    };
    match failure {
        // No answer in time may be a link too slow for this batch (the app gives a request
        // 15 s): send half as much next time, so a weak evening connection still drains
        // the queue; a pass that goes through restores the full size.
        Failure::Network => retry(batch_items / 2),
        Failure::Status(401) | Failure::Status(403) => Decision::Reenrol,
        // Too large: halve the batch and try again at once-ish.
        Failure::Status(413) => retry(batch_items / 2),
        Failure::Status(426) => Decision::UpdateApp,
        // 408, 425, 429 and 5xx: the server is busy or broken; back off.
        Failure::Status(_) => retry(batch_items),
        // Busy, and it said for how long: not before then (a retry sooner only adds to
        // the load), but never longer than the cap, whatever a server asks.
        Failure::ComeBackAfter(wait) => Decision::Retry {
            delay: backoff(attempt, jitter).max(wait.min(BACKOFF_CAP)),
            batch_items: batch_items.max(1),
        },
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;
    use crate::ids::GemeenteId;

    fn config() -> DeviceConfig {
        DeviceConfig {
            version: 3,
            gemeente: Gemeente {
                id: GemeenteId::new(),
                name: "Rotterdam".into(),
                code: "GM0599".into(),
            },
            norms: NormSet::rotterdam(),
            area_rules: vec![],
            wijken: vec![],
            places: vec![],
            meldpunt_key: None,
            meldpunt_chain: None,
            basemap_url: "https://tiles.example.nl/{z}/{x}/{y}.png".into(),
            phone: PhonePolicy {
                contact_retention_days: 14,
                lock_after_minutes: 2,
            },
        }
    }

    #[test]
    fn a_configuration_without_a_basemap_url_means_the_pdok_achtergrondkaart() {
        let config = config();
        let mut json = serde_json::to_value(&config).expect("json");
        let back: DeviceConfig = serde_json::from_value(json.clone()).expect("parses");
        assert_eq!(
            back.basemap_url, config.basemap_url,
            "a configured URL is kept"
        );
        // What an older server sent, and what older phones stored.
        json.as_object_mut().expect("object").remove("basemap_url");
        let old: DeviceConfig = serde_json::from_value(json).expect("parses");
        assert_eq!(old.basemap_url, PDOK_BASEMAP_URL);
    }

    #[test]
    fn an_older_servers_configuration_without_phone_rules_means_the_defaults() {
        let mut json = serde_json::to_value(config()).expect("json");
        json.as_object_mut().expect("object").remove("phone");
        let old: DeviceConfig = serde_json::from_value(json).expect("parses");
        assert_eq!(old.phone, PhonePolicy::default());
        assert_eq!(old.phone.contact_retention_days, 30);
        assert_eq!(old.phone.lock_after_minutes, 5);
        let partial: PhonePolicy =
            serde_json::from_str(r#"{"contact_retention_days":7}"#).expect("parses");
        assert_eq!(
            (partial.contact_retention_days, partial.lock_after_minutes),
            (7, 5)
        );
    }

    #[test]
    fn phone_rules_travel_with_the_configuration_and_are_clamped() {
        let c = config();
        let back: DeviceConfig =
            serde_json::from_str(&serde_json::to_string(&c).expect("json")).expect("parses");
        assert_eq!(back.phone.contact_retention_days, 14);
        let wild = PhonePolicy {
            contact_retention_days: 0,
            lock_after_minutes: u16::MAX,
        }
        .clamped();
        assert_eq!(wild.contact_retention_days, 1);
        assert_eq!(wild.lock_after_minutes, PhonePolicy::MAX_LOCK_MINUTES);
    }
}
