//! The buitenspeelnorm engine: is this group of children out later than their norm, or
//! inside an area with a rule (such as a burgemeestersbevel), at this moment?
//!
//! A field worker meets a group, notes the counts per age band and whether an adult
//! supervises them, and the app answers per band in one line of Dutch ("3 kinderen 6–9
//! jaar: 1 u 25 min na de buitenspeelnorm van 21:00"). Norms are set per gemeente, so they
//! are data ([`NormSet`], [`AreaRule`]); this module only judges, with a pure function
//! ([`evaluate`]) that the app and the server share and that tests drive with case tables.
//!
//! # Semantics
//!
//! All civil times are wall-clock times in **Europe/Amsterdam**, whatever the device's own
//! offset says (a phone's clock zone can be wrong; the norm is about Dutch evenings).
//!
//! - **Night.** A night runs from [`NormSet::night_end`] (default 06:00) on civil date *D* to
//!   `night_end` on *D + 1*. For an instant, take its local civil time: the *night date* *D*
//!   is the local date if the local time is at or after `night_end`, else the previous date.
//!   At exactly `night_end` a new night (a new day) starts and every norm is met again.
//! - **Norm moment.** A norm time at or after `night_end` (21:00) falls on *D*; a norm time
//!   before `night_end` (00:30) means *after midnight* and falls on *D + 1*. If that civil
//!   moment does not exist or occurs twice (daylight saving), jiff's *compatible*
//!   disambiguation applies: a time in the spring gap moves forward by the gap (02:30 →
//!   03:30 CEST), a time in the autumn fold takes the first (summer-time) occurrence.
//! - **Past the norm.** A band is past its norm when at least one whole minute has *really*
//!   elapsed since the norm moment: `minutes = floor((instant − norm moment) / 60 s)`. So
//!   21:00:59 is still within, 21:01 is one minute past, 00:30 is 3 u 30 min past 21:00, and
//!   in the night of 25-10-2026 (03:00 CEST → 02:00 CET) the second 02:30 is 6 u 30 min
//!   past 21:00, not 5 u 30 min as the wall clock suggests.
//! - **Age bands.** Norms are set for the norm bands 0–5, 6–9 and 10–13 ([`NormBand`]); the
//!   field bands 10–11 and 12–13 both fall under 10–13, and 14+ never has a norm. A
//!   [`NormSet`] may leave a norm band without a norm.
//! - **Supervision.** The norm and area rules are about children *without* a parent or
//!   other adult. A supervised group gets [`Verdict::Supervised`] for every band.
//! - **Area rules.** An [`AreaRule`] applies to a band when the rule concerns that band, the
//!   encounter has a location that lies inside or *on the boundary of* the rule's area, the
//!   local time lies in the rule's daily window (start inclusive, end exclusive; a window may
//!   cross midnight), and the local date on which *that window started* lies within the
//!   validity period (inclusive). So 02:00 on 1 December belongs to the window that began on
//!   30 November. An applicable rule takes precedence over the norm verdict, but the verdict
//!   still carries the norm minutes. If several rules apply to one band, the most severe
//!   effect wins, and among equals the first in the list. Without a location no area rule
//!   applies.
//!
//! Nothing here panics: counts are `u16` and added up in `u32`; instants at the very edge
//! of jiff's range, where a norm moment cannot be computed, are judged within the norm.

use std::fmt;

use crate::time::amsterdam_ref;
use geo::Point;
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use serde::{Deserialize, Serialize};

use crate::contact::{AgeBand, ContactFacts, GroupCounts};
use crate::ids::AreaRuleId;

mod area_rule;
#[cfg(test)]
mod tests;
mod text;

pub use area_rule::{AreaEffect, AreaRule, AreaRuleError, AreaRuleWarning, DailyWindow};
use text::{duration_nl, hhmm, norm_detail, noun};

/// The night must end before noon, and a norm time between `night_end` and noon would be
/// "daytime": children past their norm all day, almost certainly a typo.
const NOON: Time = Time::constant(12, 0, 0, 0);
/// A night ending at midnight would make every norm after midnight impossible.
const MIDNIGHT: Time = Time::MIN;

/// An age band for which a gemeente sets a buitenspeelnorm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NormBand {
    /// 0–5 years.
    #[serde(rename = "0-5")]
    Under6,
    /// 6–9 years.
    #[serde(rename = "6-9")]
    Age6To9,
    /// 10–13 years (the field bands 10–11 and 12–13).
    #[serde(rename = "10-13")]
    Age10To13,
}

impl NormBand {
    /// All norm bands, youngest first.
    pub const ALL: [NormBand; 3] = [NormBand::Under6, NormBand::Age6To9, NormBand::Age10To13];

    /// The norm band a field age band falls under; `None` for 14+, which has no norm.
    pub fn for_age(band: AgeBand) -> Option<NormBand> {
        match band {
            AgeBand::Under6 => Some(NormBand::Under6),
            AgeBand::Age6To9 => Some(NormBand::Age6To9),
            AgeBand::Age10To11 | AgeBand::Age12To13 => Some(NormBand::Age10To13),
            AgeBand::Age14Plus => None,
        }
    }

    /// The Dutch label, with an en dash ("10–13 jaar").
    pub fn label_nl(self) -> &'static str {
        match self {
            NormBand::Under6 => "0–5 jaar",
            NormBand::Age6To9 => "6–9 jaar",
            NormBand::Age10To13 => "10–13 jaar",
        }
    }
}

impl fmt::Display for NormBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_nl())
    }
}

/// A gemeente's buitenspeelnormen: per norm band the latest time a child may be outside
/// without an adult, and the time the night ends.
///
/// On the wire the bands use their codes, times are `HH:MM[:SS]`, and a missing band means
/// "no norm for this band": `{"0-5":"20:00","6-9":"21:00","10-13":"22:00","night_end":"06:00"}`.
/// See the module documentation for what the times mean.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NormSet {
    /// Latest time for children aged 0–5, if there is a norm.
    #[serde(rename = "0-5", default, skip_serializing_if = "Option::is_none")]
    pub under6: Option<Time>,
    /// Latest time for children aged 6–9, if there is a norm.
    #[serde(rename = "6-9", default, skip_serializing_if = "Option::is_none")]
    pub age6_9: Option<Time>,
    /// Latest time for children aged 10–13, if there is a norm.
    #[serde(rename = "10-13", default, skip_serializing_if = "Option::is_none")]
    pub age10_13: Option<Time>,
    /// When the night ends and a new day begins (default 06:00). A norm time before this
    /// means "after midnight".
    #[serde(default = "NormSet::default_night_end")]
    pub night_end: Time,
}

impl Default for NormSet {
    /// Rotterdam's norms, the sensible default (see [`NormSet::rotterdam`]).
    fn default() -> Self {
        NormSet::rotterdam()
    }
}

impl NormSet {
    /// The default end of the night, 06:00.
    pub const DEFAULT_NIGHT_END: Time = Time::constant(6, 0, 0, 0);

    fn default_night_end() -> Time {
        Self::DEFAULT_NIGHT_END
    }

    /// Rotterdam's "Zorg om Jongeren" norms: under 6 until 20:00, 6–9 until 21:00, 10–13
    /// until 22:00; the night ends at 06:00; 14+ never has a norm.
    pub fn rotterdam() -> NormSet {
        NormSet {
            under6: Some(Time::constant(20, 0, 0, 0)),
            age6_9: Some(Time::constant(21, 0, 0, 0)),
            age10_13: Some(Time::constant(22, 0, 0, 0)),
            night_end: Self::DEFAULT_NIGHT_END,
        }
    }

    /// The latest time for a norm band, if it has a norm.
    pub fn latest(&self, band: NormBand) -> Option<Time> {
        match band {
            NormBand::Under6 => self.under6,
            NormBand::Age6To9 => self.age6_9,
            NormBand::Age10To13 => self.age10_13,
        }
    }

    /// The latest time for a field age band, if it has a norm (never for 14+).
    pub fn latest_for_age(&self, band: AgeBand) -> Option<Time> {
        NormBand::for_age(band).and_then(|b| self.latest(b))
    }

    /// Builder-style setter; `None` removes the norm for that band.
    pub fn with(mut self, band: NormBand, latest: Option<Time>) -> NormSet {
        match band {
            NormBand::Under6 => self.under6 = latest,
            NormBand::Age6To9 => self.age6_9 = latest,
            NormBand::Age10To13 => self.age10_13 = latest,
        }
        self
    }

    /// Checks that the norms make sense, returning every problem found.
    ///
    /// - the night must end in the morning: after 00:00 and before 12:00;
    /// - a norm time must be in the afternoon or evening (12:00 or later), or after midnight
    ///   (before `night_end`); a time between `night_end` and 12:00 would put children past
    ///   their norm all day;
    /// - a younger band may not have a later norm than an older band ("later" in the
    ///   night's order, so 00:30 is later than 22:00).
    pub fn validate(&self) -> Result<(), Vec<NormSetError>> {
        let mut errors = Vec::new();
        if self.night_end == MIDNIGHT || self.night_end >= NOON {
            errors.push(NormSetError::NightEndNotInMorning {
                night_end: self.night_end,
            });
        }
        for band in NormBand::ALL {
            if let Some(latest) = self.latest(band)
                && latest >= self.night_end
                && latest < NOON
            {
                errors.push(NormSetError::NormInDaytime {
                    band,
                    latest,
                    night_end: self.night_end,
                });
            }
        }
        let normed: Vec<(NormBand, Time)> = NormBand::ALL
            .into_iter()
            .filter_map(|b| self.latest(b).map(|t| (b, t)))
            .collect();
        for (i, &(younger, younger_latest)) in normed.iter().enumerate() {
            for &(older, older_latest) in &normed[i + 1..] {
                if self.night_order(younger_latest) > self.night_order(older_latest) {
                    errors.push(NormSetError::YoungerLaterThanOlder {
                        younger,
                        younger_latest,
                        older,
                        older_latest,
                    });
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Sort key that orders times as they occur in a night starting at `night_end`.
    fn night_order(&self, t: Time) -> (bool, Time) {
        (t < self.night_end, t)
    }

    /// The civil date of the night an instant belongs to (see the module documentation),
    /// in Europe/Amsterdam. `None` only at the very start of jiff's range.
    pub fn night_date(&self, at: Timestamp) -> Option<Date> {
        self.night_date_local(amsterdam_ref().to_datetime(at))
    }

    fn night_date_local(&self, local: DateTime) -> Option<Date> {
        if local.time() >= self.night_end {
            Some(local.date())
        } else {
            local.date().yesterday().ok()
        }
    }

    /// The real instant the norm `latest` falls on in the night of `night_date`.
    fn norm_moment(&self, night_date: Date, latest: Time) -> Option<Timestamp> {
        let date = if latest >= self.night_end {
            night_date
        } else {
            night_date.tomorrow().ok()?
        };
        amsterdam_ref().to_timestamp(date.to_datetime(latest)).ok()
    }

    /// How a field age band stands against its norm at an instant, ignoring supervision
    /// and area rules: [`Verdict::NoNorm`], [`Verdict::Within`] or [`Verdict::PastNorm`].
    pub fn verdict(&self, band: AgeBand, at: Timestamp) -> Verdict {
        match self.latest_for_age(band) {
            None => Verdict::NoNorm,
            Some(latest) => match self.minutes_past(latest, at) {
                Some(minutes) => Verdict::PastNorm { latest, minutes },
                None => Verdict::Within { latest },
            },
        }
    }

    /// Whole minutes past the norm `latest` at `at`, or `None` if within.
    fn minutes_past(&self, latest: Time, at: Timestamp) -> Option<u32> {
        let night = self.night_date(at)?;
        let moment = self.norm_moment(night, latest)?;
        let minutes = at.duration_since(moment).as_secs().div_euclid(60);
        if minutes >= 1 {
            Some(u32::try_from(minutes).unwrap_or(u32::MAX))
        } else {
            None
        }
    }
}

/// A problem with a [`NormSet`]; the message is Dutch, for the coordinator who configures it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormSetError {
    /// The night does not end in the morning.
    #[error(
        "Het einde van de nacht ({}) moet in de ochtend liggen: na 00:00 en vóór 12:00.",
        hhmm(*.night_end)
    )]
    NightEndNotInMorning {
        /// The configured end of the night.
        night_end: Time,
    },
    /// A norm time lies between the end of the night and noon.
    #[error(
        "De buitenspeelnorm voor {band} ({}) valt overdag: kies een tijd vanaf 12:00, of vóór {} voor een norm na middernacht.",
        hhmm(*.latest),
        hhmm(*.night_end)
    )]
    NormInDaytime {
        /// The band.
        band: NormBand,
        /// Its norm time.
        latest: Time,
        /// The configured end of the night.
        night_end: Time,
    },
    /// A younger band may stay out later than an older one.
    #[error(
        "De buitenspeelnorm voor {younger} ({}) is later dan die voor {older} ({}): jongere kinderen horen eerder binnen te zijn.",
        hhmm(*.younger_latest),
        hhmm(*.older_latest)
    )]
    YoungerLaterThanOlder {
        /// The younger band.
        younger: NormBand,
        /// Its norm time.
        younger_latest: Time,
        /// The older band.
        older: NormBand,
        /// Its norm time.
        older_latest: Time,
    },
}

/// How urgent a verdict is, for the UI to map to a colour (green / amber / red).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Nothing to act on: within the norm, no norm, or supervised.
    #[default]
    Ok,
    /// Pay attention: an area rule asks for it.
    Warning,
    /// Act: past the norm, or an area rule forbids being there.
    Alert,
}

impl Severity {
    /// A stable code, usable as a CSS class ("ok", "warning", "alert").
    pub fn code(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Alert => "alert",
        }
    }
}

/// One encounter to judge.
#[derive(Debug, Clone, PartialEq)]
pub struct Encounter {
    /// When it happened.
    pub at: Timestamp,
    /// Where, as (lon, lat); without a location no area rule can apply.
    pub point: Option<Point<f64>>,
    /// Children per age band.
    pub group: GroupCounts,
    /// Whether an adult supervised the group.
    pub supervised: bool,
}

impl From<&ContactFacts> for Encounter {
    /// The encounter a recorded contact describes. The device's UTC offset is ignored:
    /// norms are judged in Europe/Amsterdam.
    fn from(facts: &ContactFacts) -> Self {
        Encounter {
            at: facts.observed_at,
            point: facts.location.point(),
            group: facts.group,
            supervised: facts.supervised,
        }
    }
}

/// The verdict for one age band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    /// An adult supervises the group: no norm and no area rule applies.
    Supervised,
    /// The band has no norm (14+, or the gemeente set none).
    NoNorm,
    /// Within the norm.
    Within {
        /// The norm time.
        latest: Time,
    },
    /// At least one whole minute past the norm.
    PastNorm {
        /// The norm time.
        latest: Time,
        /// Whole minutes of real elapsed time since the norm moment (at least 1).
        minutes: u32,
    },
    /// An area rule applies; it takes precedence over the norm.
    AreaRule {
        /// The rule.
        rule: AreaRuleId,
        /// The rule's name.
        name: String,
        /// What it means.
        effect: AreaEffect,
        /// Minutes past the norm, if the band is also past its norm.
        past_norm_minutes: Option<u32>,
    },
}

impl Verdict {
    /// How urgent the verdict is.
    pub fn severity(&self) -> Severity {
        match self {
            Verdict::Supervised | Verdict::NoNorm | Verdict::Within { .. } => Severity::Ok,
            Verdict::PastNorm { .. } => Severity::Alert,
            Verdict::AreaRule {
                effect,
                past_norm_minutes,
                ..
            } => {
                if past_norm_minutes.is_some() {
                    Severity::Alert
                } else {
                    effect.severity()
                }
            }
        }
    }

    /// Minutes past the norm, also when an area rule took precedence.
    pub fn minutes_past(&self) -> Option<u32> {
        match self {
            Verdict::PastNorm { minutes, .. } => Some(*minutes),
            Verdict::AreaRule {
                past_norm_minutes, ..
            } => *past_norm_minutes,
            _ => None,
        }
    }
}

/// The verdict for the children of one age band in a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandVerdict {
    /// The age band.
    pub band: AgeBand,
    /// How many children of that band.
    pub children: u16,
    /// The verdict.
    pub verdict: Verdict,
    /// One line of Dutch for the field worker, e.g. "3 kinderen 6–9 jaar: 1 u 25 min na de
    /// buitenspeelnorm van 21:00".
    pub explanation: String,
}

impl BandVerdict {
    /// How urgent the verdict is.
    pub fn severity(&self) -> Severity {
        self.verdict.severity()
    }
}

/// The verdicts for one encounter: one per age band present, youngest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// One verdict per band with at least one child, youngest first.
    pub bands: Vec<BandVerdict>,
}

impl Evaluation {
    /// The most urgent severity ([`Severity::Ok`] for an empty group).
    pub fn worst(&self) -> Severity {
        self.bands
            .iter()
            .map(BandVerdict::severity)
            .max()
            .unwrap_or_default()
    }

    /// Whether any band is past its norm (also when an area rule took precedence).
    pub fn any_past(&self) -> bool {
        self.bands
            .iter()
            .any(|b| b.verdict.minutes_past().is_some())
    }

    /// The most minutes any band is past its norm.
    pub fn max_minutes_past(&self) -> Option<u32> {
        self.bands
            .iter()
            .filter_map(|b| b.verdict.minutes_past())
            .max()
    }

    /// How many children are past their norm.
    pub fn children_past(&self) -> u32 {
        self.bands
            .iter()
            .filter(|b| b.verdict.minutes_past().is_some())
            .map(|b| u32::from(b.children))
            .sum()
    }

    /// One line of Dutch for the whole group, e.g. "Burgemeestersbevel Bospolder
    /// (aanwezigheid verboden zonder ouder); 2 van 5 kinderen na de buitenspeelnorm (max.
    /// 1 u 25 min)".
    pub fn summary_nl(&self) -> String {
        if self.bands.is_empty() {
            return "Geen kinderen geteld".to_owned();
        }
        if self.bands.iter().all(|b| b.verdict == Verdict::Supervised) {
            return "Onder toezicht van een volwassene: geen norm".to_owned();
        }

        let mut parts: Vec<String> = Vec::new();
        let mut seen: Vec<&AreaRuleId> = Vec::new();
        for b in &self.bands {
            if let Verdict::AreaRule {
                rule, name, effect, ..
            } = &b.verdict
                && !seen.contains(&rule)
            {
                seen.push(rule);
                parts.push(format!("{name} ({})", effect.label_nl()));
            }
        }

        let children: u32 = self
            .bands
            .iter()
            .filter(|b| b.band != AgeBand::Age14Plus)
            .map(|b| u32::from(b.children))
            .sum();
        let past = self.children_past();
        if let (true, Some(max)) = (past > 0, self.max_minutes_past()) {
            let who = if past == children {
                format!("{past} {}", if past == 1 { "kind" } else { "kinderen" })
            } else {
                format!("{past} van {children} kinderen")
            };
            parts.push(format!(
                "{who} na de buitenspeelnorm (max. {})",
                duration_nl(max)
            ));
        } else if parts.is_empty() {
            let any_within = self
                .bands
                .iter()
                .any(|b| matches!(b.verdict, Verdict::Within { .. }));
            parts.push(if any_within {
                "Binnen de buitenspeelnorm".to_owned()
            } else {
                "Geen buitenspeelnorm van toepassing".to_owned()
            });
        }
        parts.join("; ")
    }
}

/// Whether any child of the group is past its norm: the same answer as
/// `evaluate(norms, rules, encounter).any_past()`, without building the Dutch explanation
/// of every band. The server needs only this bit per pushed contact, and the text was a
/// measurable part of its work per item (issue 13). Area rules do not change it: a band
/// under a rule still counts as past when it is past its norm.
pub fn any_past(norms: &NormSet, encounter: &Encounter) -> bool {
    !encounter.supervised
        && encounter
            .group
            .present()
            .any(|(band, _)| norms.verdict(band, encounter.at).minutes_past().is_some())
}

/// Judges an encounter against a gemeente's norms and area rules (see the module
/// documentation for the exact semantics). Pure and total: it never panics.
pub fn evaluate(norms: &NormSet, rules: &[AreaRule], encounter: &Encounter) -> Evaluation {
    let local = amsterdam_ref().to_datetime(encounter.at);
    // Rules that hold here and now; which bands they concern is decided per band below.
    let active: Vec<&AreaRule> = match encounter.point {
        Some(point) if !encounter.supervised => rules
            .iter()
            .filter(|r| r.in_force_local(local) && r.covers(point))
            .collect(),
        _ => Vec::new(),
    };

    let bands = encounter
        .group
        .present()
        .map(|(band, children)| {
            let (verdict, detail) = if encounter.supervised {
                (
                    Verdict::Supervised,
                    "onder toezicht van een volwassene: geen norm".to_owned(),
                )
            } else {
                let norm = norms.verdict(band, encounter.at);
                // Most severe effect first; `max_by_key` keeps the last maximum, so iterate
                // in reverse to let the earliest rule win ties.
                let rule = active
                    .iter()
                    .rev()
                    .filter(|r| r.concerns(band))
                    .max_by_key(|r| r.effect.severity());
                match rule {
                    Some(rule) => (
                        Verdict::AreaRule {
                            rule: rule.id,
                            name: rule.name.clone(),
                            effect: rule.effect.clone(),
                            past_norm_minutes: norm.minutes_past(),
                        },
                        format!(
                            "{} ({}), {}",
                            rule.name,
                            rule.effect.label_nl(),
                            rule.window.label_nl()
                        ),
                    ),
                    None => {
                        let detail = norm_detail(&norm);
                        (norm, detail)
                    }
                }
            };
            BandVerdict {
                band,
                children,
                explanation: format!(
                    "{children} {} {}: {detail}",
                    noun(band, u32::from(children)),
                    band.label_nl()
                ),
                verdict,
            }
        })
        .collect();
    Evaluation { bands }
}
