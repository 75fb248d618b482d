//! Validation of everything that crosses the wire.
//!
//! Each problem names the field, carries a stable machine code (for the API and tests) and
//! a Dutch message for the field worker that says what was wrong and what is allowed.
//! Validation collects every problem rather than stopping at the first, and never panics:
//! whatever a phone sends, the answer is a list of errors or nothing.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::care::{Birth, CareFormContent, CareFormEnvelope, FEEDBACK_MAX_CHARS, Feedback};
use crate::contact::{Action, ContactFacts, Location, LocationSource, StreetContact};
use crate::round::{Round, RoundEnd};
use crate::sync::ContactCorrection;

/// How far in the future (by the server's clock) an observation may lie. Device clocks
/// drift; a day is generous enough for a wrong time zone and still catches nonsense.
pub const MAX_FUTURE: SignedDuration = SignedDuration::from_hours(24);
/// The most children one contact may count.
pub const MAX_GROUP: u32 = 200;
/// The longest wire code for an enumeration value (also for values from a newer app).
pub const MAX_CODE_CHARS: usize = 40;
/// The most behaviours or actions on one contact.
pub const MAX_CHIPS: usize = 16;
/// The longest partner name on a round.
pub const MAX_PARTNER_CHARS: usize = 80;
/// The biggest sealed care form accepted, in bytes.
pub const MAX_SEALED_BYTES: usize = 64 * 1024;
/// Limits on the plaintext care form.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest address.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Longest narrative.
pub const MAX_NARRATIVE_CHARS: usize = 4000;

/// A stable machine code for a validation problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A required value is missing.
    Required,
    /// A value that must be absent was given.
    NotAllowed,
    /// A number is outside its allowed range.
    OutOfRange,
    /// A text is longer than allowed.
    TooLong,
    /// The group has no children in it.
    EmptyGroup,
    /// Counts contradict each other.
    CountsMismatch,
    /// A moment lies too far in the future.
    InFuture,
    /// A value is not in the allowed form.
    Invalid,
}

impl ErrorCode {
    /// The stable code as a string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Required => "required",
            ErrorCode::NotAllowed => "not_allowed",
            ErrorCode::OutOfRange => "out_of_range",
            ErrorCode::TooLong => "too_long",
            ErrorCode::EmptyGroup => "empty_group",
            ErrorCode::CountsMismatch => "counts_mismatch",
            ErrorCode::InFuture => "in_future",
            ErrorCode::Invalid => "invalid",
        }
    }
}

/// One validation problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field, as a dotted path in the wire format ("loc.lat", "group").
    pub field: String,
    /// Stable code.
    pub code: ErrorCode,
    /// Dutch message for the UI: what was wrong and what is allowed.
    pub message: String,
}

/// All problems found in one value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{}", self.summary())]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    /// The messages joined into one line.
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The first problem (there is always at least one).
    pub fn first(&self) -> Option<&FieldError> {
        self.0.first()
    }
}

/// Collects problems while walking a value.
#[derive(Debug, Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: &str, code: ErrorCode, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            code,
            message: message.into(),
        });
    }

    fn text(&mut self, field: &str, value: &str, max: usize) {
        let n = value.chars().count();
        if n > max {
            self.add(
                field,
                ErrorCode::TooLong,
                format!("Te lang: {n} tekens, maximaal {max}."),
            );
        }
    }

    fn required_text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, ErrorCode::Required, "Vul dit in.");
        }
        self.text(field, value, max);
    }

    fn codes<'a>(&mut self, field: &str, codes: impl ExactSizeIterator<Item = &'a str>) {
        if codes.len() > MAX_CHIPS {
            self.add(
                field,
                ErrorCode::OutOfRange,
                format!("Te veel keuzes: {}, maximaal {MAX_CHIPS}.", codes.len()),
            );
            return;
        }
        for code in codes {
            let ok = !code.is_empty()
                && code.len() <= MAX_CODE_CHARS
                && code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                self.add(
                    field,
                    ErrorCode::Invalid,
                    format!(
                        "Onbekende code; codes zijn kleine letters, cijfers en '_', maximaal {MAX_CODE_CHARS} tekens."
                    ),
                );
            }
        }
    }

    fn not_in_future(&mut self, field: &str, at: Timestamp, now: Timestamp) {
        if at.duration_since(now) > MAX_FUTURE {
            self.add(
                field,
                ErrorCode::InFuture,
                "Dit tijdstip ligt meer dan 24 uur in de toekomst; controleer de klok van het toestel.",
            );
        }
    }

    fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.0))
        }
    }
}

/// Something that can be checked before it is stored or sent.
pub trait Validate {
    /// Checks the value against the rules, with `now` the checker's clock.
    fn validate(&self, now: Timestamp) -> Result<(), Invalid>;
}

fn check_location(p: &mut Problems, loc: &Location) {
    let coords = match (loc.lat, loc.lon) {
        (Some(lat), Some(lon)) => {
            if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
                p.add(
                    "loc.lat",
                    ErrorCode::OutOfRange,
                    "Breedtegraad moet tussen -90 en 90 liggen.",
                );
            }
            if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
                p.add(
                    "loc.lon",
                    ErrorCode::OutOfRange,
                    "Lengtegraad moet tussen -180 en 180 liggen.",
                );
            }
            true
        }
        (None, None) => false,
        _ => {
            p.add(
                "loc",
                ErrorCode::Required,
                "Geef zowel breedte- als lengtegraad, of geen van beide.",
            );
            false
        }
    };
    if let Some(acc) = loc.accuracy_m
        && !(acc.is_finite() && (0.0..=100_000.0).contains(&acc))
    {
        p.add(
            "loc.acc_m",
            ErrorCode::OutOfRange,
            "Nauwkeurigheid is een aantal meters van 0 tot 100 000.",
        );
    }
    match &loc.source {
        LocationSource::Gps => {
            if !coords {
                p.add(
                    "loc",
                    ErrorCode::Required,
                    "Een GPS-locatie heeft coördinaten nodig.",
                );
            }
            if loc.accuracy_m.is_none() {
                p.add(
                    "loc.acc_m",
                    ErrorCode::Required,
                    "Een GPS-locatie heeft een nauwkeurigheid in meters nodig.",
                );
            }
        }
        LocationSource::Pin if !coords => {
            p.add(
                "loc",
                ErrorCode::Required,
                "Een speld op de kaart heeft coördinaten nodig.",
            );
        }
        LocationSource::Place if loc.place.is_none() => {
            p.add("loc.place", ErrorCode::Required, "Kies een bekende plek.");
        }
        LocationSource::None if coords || loc.place.is_some() => {
            p.add(
                "loc",
                ErrorCode::NotAllowed,
                "Bron 'geen locatie' mag geen coördinaten of plek hebben.",
            );
        }
        _ => {}
    }
}

fn check_facts(p: &mut Problems, facts: &ContactFacts, now: Timestamp) {
    p.not_in_future("observed_at", facts.observed_at, now);
    if !(-18 * 3600..=18 * 3600).contains(&facts.utc_offset_s) {
        p.add(
            "utc_offset_s",
            ErrorCode::OutOfRange,
            "De UTC-afwijking van het toestel moet tussen -18 en +18 uur liggen.",
        );
    }
    check_location(p, &facts.location);
    let total = facts.group.total();
    if total == 0 {
        p.add(
            "group",
            ErrorCode::EmptyGroup,
            "Tel minstens één kind in een leeftijdsklasse.",
        );
    } else if total > MAX_GROUP {
        p.add(
            "group",
            ErrorCode::OutOfRange,
            format!("Een groep telt hoogstens {MAX_GROUP} kinderen; geteld: {total}."),
        );
    }
    let home = u32::from(facts.brought_home);
    if home > total {
        p.add(
            "brought_home",
            ErrorCode::CountsMismatch,
            format!("{home} thuisgebracht, maar de groep telt maar {total} kinderen."),
        );
    }
    let action_home = facts.actions.contains(&Action::BroughtHome);
    if home > 0 && !action_home {
        p.add(
            "actions",
            ErrorCode::CountsMismatch,
            "Er zijn kinderen thuisgebracht; kies ook de actie 'thuisgebracht'.",
        );
    }
    if home == 0 && action_home {
        p.add(
            "brought_home",
            ErrorCode::CountsMismatch,
            "De actie 'thuisgebracht' is gekozen; geef aan hoeveel kinderen (minstens 1).",
        );
    }
    p.codes("behaviours", facts.behaviours.iter().map(|b| b.code()));
    p.codes("actions", facts.actions.iter().map(|a| a.code()));
}

impl Validate for StreetContact {
    fn validate(&self, now: Timestamp) -> Result<(), Invalid> {
        let mut p = Problems::default();
        check_facts(&mut p, &self.facts, now);
        p.finish()
    }
}

impl Validate for ContactCorrection {
    fn validate(&self, now: Timestamp) -> Result<(), Invalid> {
        let mut p = Problems::default();
        check_facts(&mut p, &self.facts, now);
        p.finish()
    }
}

impl Validate for Round {
    fn validate(&self, now: Timestamp) -> Result<(), Invalid> {
        let mut p = Problems::default();
        p.not_in_future("started_at", self.started_at, now);
        if let Some(partner) = &self.partner {
            p.text("partner", partner, MAX_PARTNER_CHARS);
        }
        p.finish()
    }
}

impl Validate for RoundEnd {
    fn validate(&self, now: Timestamp) -> Result<(), Invalid> {
        let mut p = Problems::default();
        p.not_in_future("ended_at", self.ended_at, now);
        p.finish()
    }
}

impl Validate for CareFormEnvelope {
    fn validate(&self, now: Timestamp) -> Result<(), Invalid> {
        let mut p = Problems::default();
        p.not_in_future("created_at", self.created_at, now);
        p.required_text("recipient_key", &self.recipient_key.0, 128);
        if self.sealed.is_empty() {
            p.add(
                "sealed",
                ErrorCode::Required,
                "Het verzegelde formulier ontbreekt.",
            );
        } else if self.sealed.len() > MAX_SEALED_BYTES {
            p.add(
                "sealed",
                ErrorCode::TooLong,
                format!(
                    "Het verzegelde formulier is {} bytes, maximaal {MAX_SEALED_BYTES}.",
                    self.sealed.len()
                ),
            );
        }
        p.finish()
    }
}

impl Validate for CareFormContent {
    fn validate(&self, now: Timestamp) -> Result<(), Invalid> {
        let mut p = Problems::default();
        p.required_text("child_name", &self.child_name, MAX_NAME_CHARS);
        p.required_text("address", &self.address, MAX_ADDRESS_CHARS);
        p.text("narrative", &self.narrative, MAX_NARRATIVE_CHARS);
        match &self.birth {
            Birth::EstimatedAge(age) if *age > 17 => p.add(
                "birth",
                ErrorCode::OutOfRange,
                "Een geschatte leeftijd ligt tussen 0 en 17 jaar.",
            ),
            Birth::Date(date) => {
                let today = crate::time::local_date(now);
                let oldest = today.saturating_sub(jiff::Span::new().years(18));
                if *date > today || *date < oldest {
                    p.add(
                        "birth",
                        ErrorCode::OutOfRange,
                        "De geboortedatum moet in de afgelopen 18 jaar liggen.",
                    );
                }
            }
            Birth::EstimatedAge(_) => {}
        }
        p.codes("signals", self.signals.iter().map(|s| s.code()));
        p.finish()
    }
}

impl Validate for Feedback {
    fn validate(&self, _now: Timestamp) -> Result<(), Invalid> {
        let mut p = Problems::default();
        if let Some(message) = &self.message {
            p.text("message", message, FEEDBACK_MAX_CHARS);
        }
        p.finish()
    }
}
