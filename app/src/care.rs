//! Care forms (zorgformulieren): the draft a field worker fills in per child brought home,
//! and sealing it for the meldpunt.
//!
//! The draft holds personal data (name, birth date, address, narrative) in plaintext, so
//! it lives only in the encrypted store and is saved on every change. On submit it is
//! validated, encrypted with `age` to the meldpunt's X25519 recipient, queued, and the plaintext is deleted in the same transaction: from then
//! on the device can send the form but never read it back. Without a meldpunt key the
//! draft simply stays, and the UI says so. The recipient is used only when the pulled key
//! chain verifies against the root pinned at enrolment ([`trusted_key`], issue 10): a key
//! put in by whoever writes the server's database or changes the traffic is refused.

use std::io::Write;

use avondronde_shared::care::{
    Birth, CareFormContent, CareFormEnvelope, ParentsReaction, Reception, Signal,
};
use avondronde_shared::keychain::{self, TrustError};
use avondronde_shared::sync::MeldpuntKey;
use avondronde_shared::validate::Validate;
use avondronde_shared::{AgeBand, CareFormId, ContactId};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// Receptions offered as chips, in display order.
pub const RECEPTIONS: [Reception; 5] = [
    Reception::Warm,
    Reception::Indifferent,
    Reception::AngryAtChild,
    Reception::NobodyHome,
    Reception::OtherAdult,
];

/// Parents' reactions offered as chips.
pub const REACTIONS: [ParentsReaction; 5] = [
    ParentsReaction::Cooperative,
    ParentsReaction::Worried,
    ParentsReaction::Dismissive,
    ParentsReaction::Hostile,
    ParentsReaction::Absent,
];

/// Worrying signals offered as chips.
pub const SIGNALS: [Signal; 7] = [
    Signal::Neglect,
    Signal::Violence,
    Signal::Substance,
    Signal::NoSupervision,
    Signal::Housing,
    Signal::AfraidAtHome,
    Signal::Repeated,
];

/// A care form being filled in. Every field may still be empty.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CareDraft {
    /// The child's name.
    #[serde(default)]
    pub child_name: String,
    /// Birth date as typed, `dd-mm-jjjj`.
    #[serde(default)]
    pub birth_date: String,
    /// Estimated age when the birth date is unknown.
    #[serde(default)]
    pub estimated_age: Option<u8>,
    /// Home address.
    #[serde(default)]
    pub address: String,
    /// How the child was received at home.
    #[serde(default)]
    pub reception: Option<Reception>,
    /// Whether brothers or sisters were there.
    #[serde(default)]
    pub siblings_present: Option<bool>,
    /// How the parents reacted.
    #[serde(default)]
    pub parents_reaction: Option<ParentsReaction>,
    /// Whether the parents were told a report is made.
    #[serde(default)]
    pub parents_informed: bool,
    /// Worrying signals.
    #[serde(default)]
    pub signals: Vec<Signal>,
    /// Free text.
    #[serde(default)]
    pub narrative: String,
}

impl std::fmt::Debug for CareDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CareDraft { <redacted> }")
    }
}

/// What the care form says when the birth date cannot be read, at the field and in the
/// list beside "Verzegelen en verzenden".
pub const BIRTH_DATE_FORMAT_NL: &str =
    "Geboortedatum: schrijf als dd-mm-jjjj of als 8 cijfers (12032017).";

/// Parses a Dutch date, `22-11-2026` (also `22/11/2026`, `22.11.2026`, `22 11 2026` or
/// `2026-11-22`), or eight digits as `ddmmjjjj`: the field opens the numeric keypad, and
/// on iOS and many Android keyboards that has no "-" (rev3 finding 3).
pub fn parse_date_nl(text: &str) -> Option<Date> {
    let t = text.trim();
    // Before jiff's parser, which would read eight digits as the basic ISO `jjjjmmdd`.
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        let (d, rest) = t.split_at(2);
        let (m, y) = rest.split_at(2);
        return Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok();
    }
    if let Ok(d) = t.parse::<Date>() {
        return Some(d);
    }
    let parts: Vec<&str> = t.split(['-', '/', '.', ' ']).collect();
    let [d, m, y] = parts.as_slice() else {
        return None;
    };
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

impl CareDraft {
    /// Toggles a signal chip.
    pub fn toggle_signal(&mut self, s: Signal) {
        if let Some(i) = self.signals.iter().position(|x| *x == s) {
            self.signals.remove(i);
        } else {
            self.signals.push(s);
        }
    }

    /// What is wrong with the typed birth date, to show at the field: `None` when it is
    /// empty or reads as a date.
    pub fn birth_date_problem(&self) -> Option<&'static str> {
        let typed = self.birth_date.trim();
        (!typed.is_empty() && parse_date_nl(typed).is_none()).then_some(BIRTH_DATE_FORMAT_NL)
    }

    /// The finished form, or the Dutch list of what is still missing or wrong.
    pub fn to_content(&self, now: Timestamp) -> Result<CareFormContent, Vec<String>> {
        let mut missing = Vec::new();
        let birth = if !self.birth_date.trim().is_empty() {
            match parse_date_nl(&self.birth_date) {
                Some(d) => Some(Birth::Date(d)),
                None => {
                    missing.push(BIRTH_DATE_FORMAT_NL.to_owned());
                    None
                }
            }
        } else {
            self.estimated_age.map(Birth::EstimatedAge)
        };
        if birth.is_none() && self.birth_date.trim().is_empty() {
            missing.push("Vul een geboortedatum of een geschatte leeftijd in.".to_owned());
        }
        if self.reception.is_none() {
            missing.push("Kies hoe het kind thuis werd ontvangen.".to_owned());
        }
        if self.siblings_present.is_none() {
            missing.push("Geef aan of er broertjes of zusjes waren.".to_owned());
        }
        if self.parents_reaction.is_none() {
            missing.push("Kies hoe de ouders reageerden.".to_owned());
        }
        let (Some(birth), Some(reception), Some(siblings), Some(reaction)) = (
            birth,
            self.reception.clone(),
            self.siblings_present,
            self.parents_reaction.clone(),
        ) else {
            return Err(missing);
        };
        let content = CareFormContent {
            child_name: self.child_name.trim().to_owned(),
            birth,
            address: self.address.trim().to_owned(),
            reception,
            siblings_present: siblings,
            parents_reaction: reaction,
            parents_informed: self.parents_informed,
            signals: self.signals.clone(),
            narrative: self.narrative.trim().to_owned(),
        };
        match content.validate(now) {
            Ok(()) => Ok(content),
            Err(invalid) => Err(invalid
                .0
                .into_iter()
                .map(|e| format!("{}: {}", field_nl(&e.field), e.message))
                .collect()),
        }
    }
}

fn field_nl(field: &str) -> &str {
    match field {
        "child_name" => "Naam",
        "address" => "Adres",
        "narrative" => "Toelichting",
        "birth" => "Geboortedatum",
        "signals" => "Signalen",
        other => other,
    }
}

/// Why a form could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The configuration has no meldpunt key yet.
    #[error(
        "Er is nog geen sleutel van het meldpunt. Het concept blijft versleuteld op dit toestel bewaard; verzend het zodra de sleutel binnen is."
    )]
    NoKey,
    /// The meldpunt's key chain does not verify against the pinned root (issue 10): the
    /// draft is kept and nothing is sealed.
    #[error(
        "De sleutel van het meldpunt is niet te vertrouwen; neem contact op met de beheerder. Het concept blijft op dit toestel bewaard."
    )]
    Untrusted(avondronde_shared::keychain::TrustError),
    /// The key in the configuration is not an age X25519 recipient.
    #[error("De sleutel van het meldpunt is ongeldig; vraag de beheerder om een nieuwe.")]
    BadKey,
    /// The form is incomplete or invalid.
    #[error("Het formulier is nog niet compleet.")]
    Incomplete(Vec<String>),
    /// Encrypting failed.
    #[error("Versleutelen mislukt: {0}")]
    Encrypt(String),
    /// The draft is gone (already sent).
    #[error("Dit concept bestaat niet meer.")]
    NoDraft,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Encrypts the form to the meldpunt's age recipient.
pub fn seal(content: &CareFormContent, key: &MeldpuntKey) -> Result<Vec<u8>, SealError> {
    let recipient: age::x25519::Recipient = key
        .recipient
        .trim()
        .parse()
        .map_err(|_| SealError::BadKey)?;
    let plaintext = serde_json::to_vec(content).map_err(|e| SealError::Encrypt(e.to_string()))?;
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
        .map_err(|e| SealError::Encrypt(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| SealError::Encrypt(e.to_string()))?;
    writer
        .write_all(&plaintext)
        .and_then(|()| writer.finish().map(|_| ()))
        .map_err(|e| SealError::Encrypt(e.to_string()))?;
    Ok(out)
}

/// Seals a draft and queues it, deleting the plaintext in the same transaction.
pub fn submit(store: &mut Store, draft_id: CareFormId, now: Timestamp) -> Result<(), SealError> {
    let (row, draft) = store.draft(draft_id)?.ok_or(SealError::NoDraft)?;
    let content = draft.to_content(now).map_err(SealError::Incomplete)?;
    let key = trusted_key(store, now)?;
    let sealed = seal(&content, &key)?;
    let envelope = CareFormEnvelope {
        id: draft_id,
        contact: row.contact,
        created_at: now,
        age_band: row.age_band,
        recipient_key: key.id.clone(),
        sealed,
    };
    store.seal_draft(&envelope, now)?;
    Ok(())
}

/// The recipient to seal to: the last link of the meldpunt's key chain, verified against
/// the root this device pinned, at `now`. A refusal is remembered (as a code, no content)
/// for the next pull to report to the server.
pub fn trusted_key(store: &Store, now: Timestamp) -> Result<MeldpuntKey, SealError> {
    let config = store.config()?.ok_or(SealError::NoKey)?;
    let verdict = match (&config.meldpunt_chain, &config.meldpunt_key) {
        (None, None) => return Err(SealError::NoKey),
        // A key without a chain is exactly what a swapped key row looks like.
        (None, Some(_)) => Err(TrustError::Empty),
        (Some(chain), _) => match store.meldpunt_pin()? {
            Some(pin) => keychain::verify(chain, &pin, config.gemeente.id, now),
            None => Err(TrustError::UnknownSigner),
        },
    };
    verdict.map_err(|e| {
        let _ = store.set_key_refused(Some(e.code()));
        tracing::warn!(code = e.code(), "meldpunt key chain refused");
        SealError::Untrusted(e)
    })
}

/// Summary of a draft for lists (no personal data).
#[derive(Debug, Clone, PartialEq)]
pub struct DraftRow {
    /// The form's id (also the envelope's id once sealed).
    pub id: CareFormId,
    /// The contact the child was part of.
    pub contact: ContactId,
    /// Which child of that contact (1-based).
    pub child_no: u32,
    /// The child's age band.
    pub age_band: AgeBand,
    /// Last change.
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    pub(crate) fn filled() -> CareDraft {
        CareDraft {
            child_name: "Test Kind".into(),
            birth_date: "12-03-2016".into(),
            estimated_age: None,
            address: "Teststraat 1".into(),
            reception: Some(Reception::Indifferent),
            siblings_present: Some(true),
            parents_reaction: Some(ParentsReaction::Worried),
            parents_informed: true,
            signals: vec![Signal::NoSupervision],
            narrative: String::new(),
        }
    }

    #[test]
    fn incomplete_draft_lists_what_is_missing_in_dutch() {
        let now = Timestamp::now();
        let missing = CareDraft::default()
            .to_content(now)
            .expect_err("incomplete");
        assert!(missing.iter().any(|m| m.contains("geboortedatum")));
        assert!(filled().to_content(now).is_ok());
        assert_eq!(
            parse_date_nl("22-11-2026"),
            Some(jiff::civil::date(2026, 11, 22))
        );
        assert_eq!(parse_date_nl("31-02-2026"), None);
    }

    /// rev3 finding 3: the birth date field opens the numeric keypad, which often has no
    /// "-", so eight digits are read as `ddmmjjjj`; the dashed forms still work.
    #[test]
    fn birth_date_accepts_eight_digits_and_the_dashed_forms() {
        use jiff::civil::date;
        let cases = [
            ("12032017", Some(date(2017, 3, 12))),
            (" 01012010 ", Some(date(2010, 1, 1))),
            ("12-03-2017", Some(date(2017, 3, 12))),
            ("1-3-2017", Some(date(2017, 3, 1))),
            ("12/03/2017", Some(date(2017, 3, 12))),
            ("12.03.2017", Some(date(2017, 3, 12))),
            ("12 03 2017", Some(date(2017, 3, 12))),
            ("2017-03-12", Some(date(2017, 3, 12))),
            // Not `jjjjmmdd`: the field asks for the day first.
            ("20170312", None),
            ("31022017", None),
            ("1203201", None),
            ("120320171", None),
            ("12-03", None),
            ("", None),
        ];
        for (typed, want) in cases {
            assert_eq!(parse_date_nl(typed), want, "{typed:?}");
        }
    }

    #[test]
    fn a_birth_date_in_digits_seals_and_a_wrong_one_is_named_at_the_field() {
        let now = Timestamp::now();
        let digits = CareDraft {
            birth_date: "12032016".into(),
            ..filled()
        };
        assert_eq!(digits.birth_date_problem(), None);
        let content = digits.to_content(now).expect("eight digits are a date");
        assert_eq!(content.birth, Birth::Date(jiff::civil::date(2016, 3, 12)));

        let wrong = CareDraft {
            birth_date: "12132016".into(),
            ..filled()
        };
        assert_eq!(wrong.birth_date_problem(), Some(BIRTH_DATE_FORMAT_NL));
        let missing = wrong.to_content(now).expect_err("no month 13");
        assert_eq!(missing, vec![BIRTH_DATE_FORMAT_NL.to_owned()]);
        assert_eq!(
            CareDraft::default().birth_date_problem(),
            None,
            "empty is not wrong"
        );
    }

    #[test]
    fn sealed_form_opens_only_with_the_meldpunt_identity() {
        let identity = age::x25519::Identity::generate();
        let key = MeldpuntKey {
            id: avondronde_shared::care::RecipientKeyId("k1".into()),
            recipient: identity.to_public().to_string(),
        };
        let content = filled().to_content(Timestamp::now()).expect("content");
        let sealed = seal(&content, &key).expect("seal");
        assert!(!sealed.windows(9).any(|w| w == b"Test Kind"));
        let decryptor = age::Decryptor::new(&sealed[..]).expect("decryptor");
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .expect("decrypt");
        let mut plain = Vec::new();
        reader.read_to_end(&mut plain).expect("read");
        let back: CareFormContent = serde_json::from_slice(&plain).expect("json");
        assert_eq!(back.child_name, "Test Kind");
    }
}
