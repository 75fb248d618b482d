//! The care form (zorgformulier): "of every child that is brought home a report is made".
//!
//! The form has two parts. The [`CareFormEnvelope`] is what the server stores and routes:
//! ids, timestamps, the age band for triage and the *sealed* bytes. The [`CareFormContent`]
//! is the plaintext (the child's identity and what the field worker saw at home); it is
//! encrypted on the phone to the meldpunt's public key and only the meldpunt can open it.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::contact::AgeBand;
use crate::ids::{CareFormId, ContactId};
use crate::wire_enum::wire_enum;

/// The longest feedback message the meldpunt may send back. Feedback is status, not care
/// content, so it is kept short on purpose.
pub const FEEDBACK_MAX_CHARS: usize = 280;

/// The id of the meldpunt key a form was sealed to (so that rotation keeps old forms
/// readable with the old key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecipientKeyId(pub String);

/// A sealed care form as it travels and is stored. Holds no plaintext identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CareFormEnvelope {
    /// Id, made on the device.
    pub id: CareFormId,
    /// The contact where the child was brought home.
    pub contact: ContactId,
    /// When the form was completed on the device.
    pub created_at: Timestamp,
    /// The age band, so the meldpunt can triage without opening the form.
    pub age_band: AgeBand,
    /// The meldpunt key the form was sealed to.
    pub recipient_key: RecipientKeyId,
    /// The sealed (age-encrypted) [`CareFormContent`], base64 on the wire.
    #[serde(with = "base64_bytes")]
    pub sealed: Vec<u8>,
}

/// What we know of the child's age: a birth date, or an estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Birth {
    /// The birth date, as told.
    Date(Date),
    /// Estimated age in years.
    EstimatedAge(u8),
}

wire_enum! {
    /// How the child was received at home.
    pub enum Reception {
        /// Warmly; parents were glad the child was brought.
        Warm = "warm" => "hartelijk ontvangen",
        /// Indifferent.
        Indifferent = "indifferent" => "onverschillig",
        /// Angry at the child.
        AngryAtChild = "angry_at_child" => "boos op het kind",
        /// Nobody was home.
        NobodyHome = "nobody_home" => "niemand thuis",
        /// Received by someone other than a parent.
        OtherAdult = "other_adult" => "door een andere volwassene",
    }
}

wire_enum! {
    /// How the parents reacted to the field worker.
    pub enum ParentsReaction {
        /// Cooperative.
        Cooperative = "cooperative" => "meewerkend",
        /// Worried.
        Worried = "worried" => "bezorgd",
        /// Dismissive.
        Dismissive = "dismissive" => "afwijzend",
        /// Hostile.
        Hostile = "hostile" => "vijandig",
        /// Not present.
        Absent = "absent" => "niet aanwezig",
    }
}

wire_enum! {
    /// Worrying signals noticed at home (the checklist on the form).
    pub enum Signal {
        /// The child seems neglected (clothing, hygiene, hunger).
        Neglect = "neglect" => "verwaarlozing",
        /// Signs of domestic violence.
        Violence = "violence" => "signalen van huiselijk geweld",
        /// Parents seemed under the influence.
        Substance = "substance" => "ouders onder invloed",
        /// No supervision at home for young children.
        NoSupervision = "no_supervision" => "geen toezicht thuis",
        /// Poor housing.
        Housing = "housing" => "slechte woonsituatie",
        /// The child is afraid to go home.
        AfraidAtHome = "afraid_at_home" => "kind is bang om naar huis te gaan",
        /// The child is repeatedly out late.
        Repeated = "repeated" => "vaker laat buiten gezien",
    }
}

/// The plaintext of a care form. Only ever exists on the phone while being filled in, and
/// at the meldpunt after unlocking. Never logged, never sent unsealed.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CareFormContent {
    /// The child's name.
    pub child_name: String,
    /// Birth date or estimated age.
    pub birth: Birth,
    /// Home address.
    pub address: String,
    /// How the child was received at home.
    pub reception: Reception,
    /// Whether brothers or sisters were present.
    pub siblings_present: bool,
    /// How the parents reacted.
    pub parents_reaction: ParentsReaction,
    /// Whether the parents were told that a report is being made.
    pub parents_informed: bool,
    /// Signals noticed.
    #[serde(default)]
    pub signals: Vec<Signal>,
    /// What the field worker wants the meldpunt to know.
    #[serde(default)]
    pub narrative: String,
}

impl std::fmt::Debug for CareFormContent {
    /// Redacted: personal data never reaches a log or a panic message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CareFormContent { <redacted> }")
    }
}

wire_enum! {
    /// Where a care form stands at the meldpunt; this is what the reporter sees.
    pub enum CareStatus {
        /// Received by the meldpunt.
        Received = "received" => "ontvangen",
        /// Being handled.
        InProgress = "in_progress" => "in behandeling",
        /// The family is known to youth care already.
        KnownToCare = "known_to_care" => "bekend bij hulpverlening",
        /// A home visit is planned.
        VisitPlanned = "visit_planned" => "huisbezoek gepland",
        /// Done.
        Closed = "closed" => "afgerond",
        /// Not taken up.
        NotTakenUp = "not_taken_up" => "niet opgepakt",
    }
}

/// Feedback (terugkoppeling) on one form, as the reporting device pulls it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// The form.
    pub form: CareFormId,
    /// Its status.
    pub status: CareStatus,
    /// The meldpunt's short message to the reporter (at most [`FEEDBACK_MAX_CHARS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the meldpunt last changed it (server clock).
    pub updated_at: Timestamp,
}

/// Base64 (standard alphabet, padded) for byte fields in JSON.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("sealed is not valid base64: {e}")))
    }
}
