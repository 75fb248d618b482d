//! The record flow as a plain-Rust state machine: what the field worker taps on the
//! record screen, and what it means. No Dioxus here, so every rule is testable.
//!
//! The common case, "3 kinderen 10–11, rondhangen, aangesproken, opslaan", is six taps:
//! three on the 10–11 counter, one per chip, one on save. Location comes by itself (GPS)
//! and time is "now", so nothing needs typing. A poor GPS fix is a warning, never a block.

use avondronde_shared::contact::{Action, Behaviour, ContactFacts, GroupCounts, Location};
use avondronde_shared::norms::{Encounter, Evaluation, evaluate};
use avondronde_shared::sync::DeviceConfig;
use avondronde_shared::validate::{Invalid, Validate};
use avondronde_shared::{AgeBand, CareFormId, ContactId, PlaceId, StreetContact};
use jiff::{SignedDuration, Timestamp};

use crate::platform::webview::GpsFix;
use crate::store::records::RoundInfo;

/// Behaviours offered as chips, most common first.
pub const BEHAVIOURS: [Behaviour; 6] = [
    Behaviour::HangingAround,
    Behaviour::Nuisance,
    Behaviour::Vandalism,
    Behaviour::Theft,
    Behaviour::Fireworks,
    Behaviour::Unsafe,
];

/// Actions offered as chips, most common first.
pub const ACTIONS: [Action; 6] = [
    Action::Spoken,
    Action::SentHome,
    Action::BroughtHome,
    Action::ParentsSpoken,
    Action::Referred,
    Action::Warning,
];

/// "Eerder hier" looks this far around the point.
pub const NEARBY_RADIUS_M: f64 = 100.0;
/// "Eerder hier" looks this far back.
pub const NEARBY_DAYS: i64 = 30;
/// One tap on a time button moves the time this much.
pub const TIME_STEP_MIN: i64 = 5;

/// Where the contact happened, as chosen on screen.
#[derive(Debug, Clone, PartialEq)]
pub enum LocationChoice {
    /// Waiting for the platform's fix.
    Locating,
    /// A fix from the platform.
    Gps(GpsFix),
    /// No fix could be had (the reason in Dutch).
    GpsFailed(String),
    /// A named place from the configuration.
    Place {
        /// The place.
        id: PlaceId,
        /// Its name.
        name: String,
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
    /// Deliberately no location.
    None,
}

/// The record form.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordForm {
    /// Children per age band.
    pub counts: GroupCounts,
    /// Whether an adult supervises the group.
    pub supervised: bool,
    /// Behaviour chips, in the order tapped.
    pub behaviours: Vec<Behaviour>,
    /// Action chips, in the order tapped.
    pub actions: Vec<Action>,
    /// Children brought home (only with the "thuisgebracht" chip).
    pub brought_home: u16,
    /// The location.
    pub location: LocationChoice,
    /// Minutes the time was moved back from "now" (0 = now).
    pub minutes_back: i64,
    /// Taps since the form was opened.
    pub taps: u32,
}

impl Default for RecordForm {
    fn default() -> Self {
        RecordForm {
            counts: GroupCounts::default(),
            supervised: false,
            behaviours: Vec::new(),
            actions: Vec::new(),
            brought_home: 0,
            location: LocationChoice::Locating,
            minutes_back: 0,
            taps: 0,
        }
    }
}

fn toggle<T: PartialEq>(list: &mut Vec<T>, item: T) -> bool {
    if let Some(i) = list.iter().position(|x| *x == item) {
        list.remove(i);
        false
    } else {
        list.push(item);
        true
    }
}

impl RecordForm {
    /// A fresh form, waiting for a location.
    pub fn new() -> RecordForm {
        RecordForm::default()
    }

    fn tap(&mut self) {
        self.taps = self.taps.saturating_add(1);
    }

    /// One more child in a band.
    pub fn add_child(&mut self, band: AgeBand) {
        self.tap();
        let n = self.counts.get_mut(band);
        *n = n.saturating_add(1).min(200);
    }

    /// One child fewer in a band (a mis-tap).
    pub fn remove_child(&mut self, band: AgeBand) {
        self.tap();
        let n = self.counts.get_mut(band);
        *n = n.saturating_sub(1);
        let total = u16::try_from(self.counts.total()).unwrap_or(u16::MAX);
        self.brought_home = self.brought_home.min(total);
    }

    /// Toggles adult supervision.
    pub fn toggle_supervised(&mut self) {
        self.tap();
        self.supervised = !self.supervised;
    }

    /// Toggles a behaviour chip.
    pub fn toggle_behaviour(&mut self, b: Behaviour) {
        self.tap();
        toggle(&mut self.behaviours, b);
    }

    /// Toggles an action chip. "Thuisgebracht" starts at one child brought home.
    pub fn toggle_action(&mut self, a: Action) {
        self.tap();
        let home = a == Action::BroughtHome;
        let on = toggle(&mut self.actions, a);
        if home {
            self.brought_home = u16::from(on);
        }
    }

    /// Changes the number brought home by `delta`, between 1 and the group's size.
    pub fn change_brought_home(&mut self, delta: i32) {
        self.tap();
        let total = i32::try_from(self.counts.total())
            .unwrap_or(i32::MAX)
            .max(1);
        let n = (i32::from(self.brought_home) + delta).clamp(1, total);
        self.brought_home = u16::try_from(n).unwrap_or(1);
    }

    /// The platform's answer to a location request.
    pub fn set_fix(&mut self, fix: Result<GpsFix, String>) {
        // A fix only replaces "waiting" or an older fix; never the user's explicit choice.
        if matches!(
            self.location,
            LocationChoice::Locating | LocationChoice::Gps(_) | LocationChoice::GpsFailed(_)
        ) {
            self.location = match fix {
                Ok(f) => LocationChoice::Gps(f),
                Err(reason) => LocationChoice::GpsFailed(reason),
            };
        }
    }

    /// Asks for GPS again.
    pub fn use_gps(&mut self) {
        self.tap();
        self.location = LocationChoice::Locating;
    }

    /// Chooses a named place.
    pub fn choose_place(&mut self, id: PlaceId, name: &str, lat: f64, lon: f64) {
        self.tap();
        self.location = LocationChoice::Place {
            id,
            name: name.to_owned(),
            lat,
            lon,
        };
    }

    /// Chooses no location.
    pub fn choose_no_location(&mut self) {
        self.tap();
        self.location = LocationChoice::None;
    }

    /// Moves the time by `minutes` (negative = earlier), never later than now and never
    /// before the round started.
    pub fn shift_time(&mut self, minutes: i64, now: Timestamp, round_start: Timestamp) {
        self.tap();
        let max_back = now.duration_since(round_start).as_mins().max(0);
        self.minutes_back = (self.minutes_back - minutes).clamp(0, max_back);
    }

    /// Back to "now".
    pub fn time_now(&mut self) {
        self.tap();
        self.minutes_back = 0;
    }

    /// When the contact happened.
    pub fn observed_at(&self, now: Timestamp) -> Timestamp {
        now.checked_sub(SignedDuration::from_mins(self.minutes_back))
            .unwrap_or(now)
    }

    /// The point, if there is one (lat, lon).
    pub fn point(&self) -> Option<(f64, f64)> {
        match &self.location {
            LocationChoice::Gps(f) => Some((f.lat, f.lon)),
            LocationChoice::Place { lat, lon, .. } => Some((*lat, *lon)),
            _ => None,
        }
    }

    /// The location to record.
    pub fn location(&self, now: Timestamp) -> Location {
        match &self.location {
            LocationChoice::Gps(f) => Location::gps(f.lat, f.lon, f.accuracy_m, f.age_s(now)),
            LocationChoice::Place { id, lat, lon, .. } => Location::place(*id, *lat, *lon),
            _ => Location::none(),
        }
    }

    /// The live verdict with the gemeente's norms and area rules (Rotterdam's norms if no
    /// configuration was pulled yet).
    pub fn verdict(&self, config: Option<&DeviceConfig>, now: Timestamp) -> Evaluation {
        let encounter = Encounter {
            at: self.observed_at(now),
            point: self.point().map(|(lat, lon)| geo::Point::new(lon, lat)),
            group: self.counts,
            supervised: self.supervised,
        };
        match config {
            Some(c) => evaluate(&c.norms, &c.area_rules, &encounter),
            None => evaluate(&Default::default(), &[], &encounter),
        }
    }

    /// Warnings that never block saving (Dutch).
    pub fn warnings(&self, now: Timestamp) -> Vec<String> {
        let mut out = Vec::new();
        match &self.location {
            LocationChoice::Gps(f) => {
                let loc = self.location(now);
                if loc.is_poor_fix() {
                    out.push(format!(
                        "Zwakke GPS-fix: ±{} m, {} s oud. Opslaan kan gewoon; kies eventueel een bekende plek.",
                        f.accuracy_m.round(),
                        f.age_s(now)
                    ));
                }
            }
            LocationChoice::GpsFailed(reason) => out.push(format!(
                "Geen GPS ({reason}). Opslaan kan gewoon, zonder locatie; of kies een bekende plek."
            )),
            LocationChoice::Locating => {
                out.push("GPS zoekt nog; opslaan kan gewoon.".to_owned());
            }
            _ => {}
        }
        out
    }

    /// Why saving is not possible yet, if it is not (Dutch).
    pub fn blocker(&self) -> Option<&'static str> {
        (self.counts.total() == 0).then_some("Tel eerst minstens één kind.")
    }

    /// The contact to save, validated as the server will.
    pub fn to_contact(
        &self,
        round: &RoundInfo,
        now: Timestamp,
        utc_offset_s: i32,
    ) -> Result<StreetContact, Invalid> {
        let contact = StreetContact {
            id: ContactId::new(),
            round: round.id,
            facts: ContactFacts {
                observed_at: self.observed_at(now),
                utc_offset_s,
                location: self.location(now),
                group: self.counts,
                supervised: self.supervised,
                behaviours: self.behaviours.clone(),
                actions: self.actions.clone(),
                brought_home: if self.actions.contains(&Action::BroughtHome) {
                    self.brought_home
                } else {
                    0
                },
            },
        };
        contact.validate(now)?;
        Ok(contact)
    }

    /// One care form per child brought home, each with the youngest band present as a
    /// starting guess (the form lets the worker change it).
    pub fn care_forms(&self) -> Vec<(CareFormId, AgeBand)> {
        let band = self.counts.youngest().unwrap_or(AgeBand::Age10To11);
        let n = if self.actions.contains(&Action::BroughtHome) {
            self.brought_home
        } else {
            0
        };
        (0..n).map(|_| (CareFormId::new(), band)).collect()
    }
}

/// The device's UTC offset in seconds at `at` (Europe/Amsterdam when the system zone is
/// unknown, which is what the norms use anyway).
pub fn utc_offset_s(at: Timestamp) -> i32 {
    jiff::tz::TimeZone::try_system()
        .unwrap_or_else(|_| {
            jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap_or(jiff::tz::TimeZone::UTC)
        })
        .to_offset(at)
        .seconds()
}

/// The local time as users read it ("22:31"), in Europe/Amsterdam.
pub fn hhmm(at: Timestamp) -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap_or(jiff::tz::TimeZone::UTC);
    at.to_zoned(tz).strftime("%H:%M").to_string()
}

/// The local date and time as users read it ("22-11-2026 22:31").
pub fn date_hhmm(at: Timestamp) -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap_or(jiff::tz::TimeZone::UTC);
    at.to_zoned(tz).strftime("%d-%m-%Y %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use avondronde_shared::norms::Severity;
    use avondronde_shared::{RoundId, WijkId};

    use super::*;

    fn round(start: Timestamp) -> RoundInfo {
        RoundInfo {
            id: RoundId::new(),
            wijk: WijkId::new(),
            wijk_name: "Delfshaven".into(),
            partner: None,
            started_at: start,
            ended_at: None,
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn the_common_case_takes_six_taps_and_no_typing() {
        let now = at("2026-11-20T21:30:00Z"); // 22:30 in Amsterdam
        let mut f = RecordForm::new();
        for _ in 0..3 {
            f.add_child(AgeBand::Age10To11);
        }
        f.toggle_behaviour(Behaviour::HangingAround);
        f.toggle_action(Action::Spoken);
        let contact = f.to_contact(&round(now), now, 3600).expect("valid");
        assert_eq!(f.taps + 1, 6, "five taps on the form plus save");
        assert_eq!(contact.facts.group.age10_11, 3);
        assert_eq!(contact.facts.location, Location::none());
        let verdict = f.verdict(None, now);
        assert_eq!(verdict.worst(), Severity::Alert);
        assert!(
            verdict.summary_nl().contains("30 min"),
            "{}",
            verdict.summary_nl()
        );
    }

    #[test]
    fn brought_home_starts_at_one_and_stays_within_the_group() {
        let mut f = RecordForm::new();
        f.add_child(AgeBand::Age6To9);
        f.add_child(AgeBand::Age6To9);
        f.toggle_action(Action::BroughtHome);
        assert_eq!(f.brought_home, 1);
        f.change_brought_home(5);
        assert_eq!(f.brought_home, 2);
        assert_eq!(f.care_forms().len(), 2);
        f.toggle_action(Action::BroughtHome);
        assert_eq!(f.brought_home, 0);
        assert!(f.care_forms().is_empty());
    }

    #[test]
    fn time_moves_back_within_the_round_only() {
        let start = at("2026-11-20T20:00:00Z");
        let now = at("2026-11-20T20:20:00Z");
        let mut f = RecordForm::new();
        f.shift_time(-TIME_STEP_MIN, now, start);
        assert_eq!(f.observed_at(now), at("2026-11-20T20:15:00Z"));
        for _ in 0..10 {
            f.shift_time(-TIME_STEP_MIN, now, start);
        }
        assert_eq!(f.observed_at(now), start);
        f.shift_time(TIME_STEP_MIN * 100, now, start);
        assert_eq!(f.observed_at(now), now);
    }

    #[test]
    fn poor_gps_warns_but_never_blocks() {
        let now = Timestamp::now();
        let mut f = RecordForm::new();
        f.add_child(AgeBand::Under6);
        f.set_fix(Ok(GpsFix {
            lat: 51.91,
            lon: 4.44,
            accuracy_m: 180.0,
            taken_at: now,
        }));
        assert!(f.warnings(now)[0].contains("Zwakke GPS-fix"));
        assert_eq!(f.blocker(), None);
        assert!(f.to_contact(&round(now), now, 3600).is_ok());
        // An explicit choice is not overwritten by a late fix.
        f.choose_no_location();
        f.set_fix(Err("time-out".into()));
        assert_eq!(f.location, LocationChoice::None);
    }

    #[test]
    fn empty_group_blocks_with_a_reason() {
        let f = RecordForm::new();
        assert!(f.blocker().is_some());
    }
}
