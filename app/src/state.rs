//! The record flow as a plain-Rust state machine: what the field worker taps on the
//! record screen, and what it means. No Dioxus here, so every rule is testable.
//!
//! The common case, "3 kinderen 10–11, rondhangen, aangesproken, opslaan", is six taps:
//! three on the 10–11 counter, one per chip, one on save. Location comes by itself (GPS)
//! and time is "now", so nothing needs typing. A poor GPS fix is a warning, never a block.

use avondronde_shared::contact::{Action, Behaviour, ContactFacts, GroupCounts, Location};
use avondronde_shared::norms::{Encounter, Evaluation, evaluate};
use avondronde_shared::sync::{ContactCorrection, DeviceConfig};
use avondronde_shared::validate::{Invalid, Validate};
use avondronde_shared::{AgeBand, CareFormId, ContactId, CorrectionId, PlaceId, StreetContact};
use jiff::{SignedDuration, Timestamp};

use crate::platform::webview::GpsFix;
use crate::store::records::RoundInfo;
use crate::suggest::{Situation, kinderen, nearest_place};
use avondronde_shared::area::Place;

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
    /// A pin dropped (or moved) on the map: the worker's own point, without accuracy.
    Pin {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
    /// Deliberately no location.
    None,
    /// The location saved with the contact being corrected, kept as it was (re-reading
    /// it as a fresh fix would change its accuracy and age).
    Kept(Location),
}

/// The saved contact a form corrects. Its time is the base the time buttons count from,
/// so a correction does not drift with the clock while the form is open.
#[derive(Debug, Clone, PartialEq)]
pub struct Correcting {
    /// The contact corrected.
    pub contact: ContactId,
    /// When it happened, as saved.
    pub observed_at: Timestamp,
    /// The UTC offset it was saved with.
    pub utc_offset_s: i32,
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
    /// Minutes the time was moved back from "now" (0 = now), or, when correcting, from
    /// the saved time (negative = later than saved).
    pub minutes_back: i64,
    /// Taps since the form was opened.
    pub taps: u32,
    /// The saved contact this form corrects; `None` for a new contact.
    pub correcting: Option<Correcting>,
    /// The hangplek was pre-selected because the GPS fix was poor (the fix is kept, so
    /// the screen can say so and "GPS" takes it back).
    pub auto_place: Option<GpsFix>,
}

/// What the screen does after a save, decided by the form (see [`RecordForm::after_save`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AfterSave {
    /// The message for the toast ("Correctie opgeslagen"); `None` after a plain new
    /// contact, whose confirmation the record screen shows in its own panel ("✓ Contact
    /// opgeslagen om 22:30: 3 kinderen"): a toast saying "Opgeslagen" over it only repeated
    /// it (rev3 finding 21).
    pub message: Option<String>,
    /// The care form to open next, if a child was brought home.
    pub open_care_form: Option<CareFormId>,
    /// Whether the record form starts afresh (a new contact) or the screen goes home (a
    /// correction).
    pub fresh_form: bool,
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
            correcting: None,
            auto_place: None,
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

    /// A form that corrects a saved contact, filled in with its facts. Saving it gives a
    /// [`ContactCorrection`] (see [`RecordForm::to_correction`]), never a new contact.
    pub fn from_facts(contact: ContactId, facts: &ContactFacts) -> RecordForm {
        let location = match facts.location.source {
            avondronde_shared::contact::LocationSource::None => LocationChoice::None,
            _ => LocationChoice::Kept(facts.location.clone()),
        };
        RecordForm {
            counts: facts.group,
            supervised: facts.supervised,
            behaviours: facts.behaviours.clone(),
            actions: facts.actions.clone(),
            brought_home: facts.brought_home,
            location,
            minutes_back: 0,
            taps: 0,
            correcting: Some(Correcting {
                contact,
                observed_at: facts.observed_at,
                utc_offset_s: facts.utc_offset_s,
            }),
            auto_place: None,
        }
    }

    /// The time the time buttons count from: now, or the saved time when correcting.
    fn time_base(&self, now: Timestamp) -> Timestamp {
        self.correcting
            .as_ref()
            .map_or(now, |c| c.observed_at.min(now))
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
        self.set_fix_near(fix, &[], None);
    }

    /// The platform's answer to a location request, with the wijk's hangplekken: a poor
    /// fix (judged at `now`) pre-selects the nearest hangplek within reach (see
    /// [`crate::suggest::nearest_place`]). Not a tap.
    pub fn set_fix_near(
        &mut self,
        fix: Result<GpsFix, String>,
        places: &[Place],
        now: Option<Timestamp>,
    ) {
        // A fix only replaces "waiting" or an older fix; never the user's explicit choice.
        if !matches!(
            self.location,
            LocationChoice::Locating | LocationChoice::Gps(_) | LocationChoice::GpsFailed(_)
        ) {
            return;
        }
        self.auto_place = None;
        self.location = match fix {
            Ok(f) => {
                let poor = Location::gps(
                    f.lat,
                    f.lon,
                    f.accuracy_m,
                    f.age_s(now.unwrap_or(f.taken_at)),
                )
                .is_poor_fix();
                match nearest_place(places, f.lat, f.lon, f64::from(f.accuracy_m)) {
                    Some(p) if poor => {
                        self.auto_place = Some(f);
                        LocationChoice::Place {
                            id: p.id,
                            name: p.name.clone(),
                            lat: p.lat,
                            lon: p.lon,
                        }
                    }
                    _ => LocationChoice::Gps(f),
                }
            }
            Err(reason) => LocationChoice::GpsFailed(reason),
        };
    }

    /// "Zelfde als vorige" or a suggestion: fills in the group, what happened and what
    /// was done, keeping location and time. One tap.
    pub fn apply(&mut self, situation: &Situation) {
        self.tap();
        self.counts = situation.counts;
        self.supervised = situation.supervised;
        self.behaviours = situation.behaviours.clone();
        self.actions = situation.actions.clone();
        self.brought_home = if self.actions.contains(&Action::BroughtHome) {
            situation.brought_home.max(1)
        } else {
            0
        };
    }

    /// Asks for GPS again.
    pub fn use_gps(&mut self) {
        self.tap();
        self.auto_place = None;
        self.location = LocationChoice::Locating;
    }

    /// Chooses a named place.
    pub fn choose_place(&mut self, id: PlaceId, name: &str, lat: f64, lon: f64) {
        self.tap();
        self.auto_place = None;
        self.location = LocationChoice::Place {
            id,
            name: name.to_owned(),
            lat,
            lon,
        };
    }

    /// Drops the pin at a point on the map, or moves it there: one tap (or one drag).
    /// Replaces whatever location was chosen, a fix, a place or a kept location.
    pub fn drop_pin(&mut self, lat: f64, lon: f64) {
        self.tap();
        self.auto_place = None;
        self.location = LocationChoice::Pin { lat, lon };
    }

    /// The pin, if the location is one.
    pub fn pin(&self) -> Option<(f64, f64)> {
        match self.location {
            LocationChoice::Pin { lat, lon } => Some((lat, lon)),
            _ => None,
        }
    }

    /// Chooses no location.
    pub fn choose_no_location(&mut self) {
        self.tap();
        self.auto_place = None;
        self.location = LocationChoice::None;
    }

    /// Moves the time by `minutes` (negative = earlier), never later than now and never
    /// before the round started.
    pub fn shift_time(&mut self, minutes: i64, now: Timestamp, round_start: Timestamp) {
        self.tap();
        let base = self.time_base(now);
        let max_back = base.duration_since(round_start).as_mins().max(0);
        let max_later = now.duration_since(base).as_mins().max(0);
        self.minutes_back = (self.minutes_back - minutes).clamp(-max_later, max_back);
    }

    /// Back to "now" (to the saved time when correcting).
    pub fn time_now(&mut self) {
        self.tap();
        self.minutes_back = 0;
    }

    /// When the contact happened.
    pub fn observed_at(&self, now: Timestamp) -> Timestamp {
        let base = self.time_base(now);
        base.checked_sub(SignedDuration::from_mins(self.minutes_back))
            .unwrap_or(base)
    }

    /// The point, if there is one (lat, lon).
    pub fn point(&self) -> Option<(f64, f64)> {
        match &self.location {
            LocationChoice::Gps(f) => Some((f.lat, f.lon)),
            LocationChoice::Place { lat, lon, .. } => Some((*lat, *lon)),
            LocationChoice::Pin { lat, lon } => Some((*lat, *lon)),
            LocationChoice::Kept(l) => l.lat.zip(l.lon),
            _ => None,
        }
    }

    /// The location to record.
    pub fn location(&self, now: Timestamp) -> Location {
        match &self.location {
            LocationChoice::Gps(f) => Location::gps(f.lat, f.lon, f.accuracy_m, f.age_s(now)),
            LocationChoice::Place { id, lat, lon, .. } => Location::place(*id, *lat, *lon),
            LocationChoice::Pin { lat, lon } => Location::pin(*lat, *lon),
            LocationChoice::Kept(l) => l.clone(),
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
            LocationChoice::Place { name, .. } => {
                if let Some(f) = &self.auto_place {
                    out.push(format!(
                        "Zwakke GPS-fix (±{} m): dichtstbijzijnde bekende plek {name} gekozen. Tik GPS voor de GPS-positie.",
                        f.accuracy_m.round()
                    ));
                }
            }
            _ => {}
        }
        out
    }

    /// Whether saving this form queues a correction (else a new contact).
    pub fn is_correction(&self) -> bool {
        self.correcting.is_some()
    }

    /// The save button's accessible name and text.
    pub fn save_label(&self) -> &'static str {
        if self.is_correction() {
            "Correctie opslaan"
        } else {
            "Opslaan"
        }
    }

    /// What the screen does after this form was saved, with the care forms the save
    /// created.
    pub fn after_save(&self, care_forms: &[CareFormId]) -> AfterSave {
        let first = care_forms.first().copied();
        let what = if self.is_correction() {
            "Correctie opgeslagen"
        } else {
            "Opgeslagen"
        };
        AfterSave {
            message: match (first, self.is_correction()) {
                (Some(_), _) => Some(format!("{what}. Vul nu het zorgformulier in.")),
                (None, true) => Some(what.to_owned()),
                (None, false) => None,
            },
            open_care_form: first,
            fresh_form: !self.is_correction(),
        }
    }

    /// The time in words beside the clock: "nu", "10 min geleden", "zoals vastgelegd"...
    pub fn time_note(&self) -> String {
        match (self.is_correction(), self.minutes_back) {
            (false, 0) => "nu".to_string(),
            (false, m) => format!("{m} min geleden"),
            (true, 0) => "zoals vastgelegd".to_string(),
            (true, m) if m > 0 => format!("{m} min eerder dan vastgelegd"),
            (true, m) => format!("{} min later dan vastgelegd", m.unsigned_abs()),
        }
    }

    /// The location in words ("GPS ±12 m, 3 s oud").
    pub fn location_text(&self, now: Timestamp) -> String {
        match &self.location {
            LocationChoice::Locating => "GPS zoekt…".to_string(),
            LocationChoice::Gps(fix) => format!(
                "GPS ±{} m, {} s oud",
                fix.accuracy_m.round(),
                fix.age_s(now)
            ),
            LocationChoice::GpsFailed(r) => format!("Geen GPS: {r}"),
            LocationChoice::Place { name, .. } => format!("Bekende plek: {name}"),
            LocationChoice::Pin { .. } => "Speld op de kaart".to_string(),
            LocationChoice::None => "Geen locatie".to_string(),
            LocationChoice::Kept(l) => format!("Zoals vastgelegd: {}", l.source.label_nl()),
        }
    }

    /// The number shown beside a band's counter, and its accessible name
    /// ("10–11 jaar: 1 kind").
    pub fn band_count_label(&self, band: AgeBand) -> String {
        format!(
            "{}: {}",
            band.label_nl(),
            kinderen(self.counts.get(band).into())
        )
    }

    /// Why saving is not possible yet, if it is not (Dutch).
    pub fn blocker(&self) -> Option<&'static str> {
        (self.counts.total() == 0).then_some("Tel eerst minstens één kind.")
    }

    /// The facts as the form now has them.
    fn facts(&self, now: Timestamp, utc_offset_s: i32) -> ContactFacts {
        ContactFacts {
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
        }
    }

    /// The contact to save, validated as the server will. For a new contact only; a
    /// correcting form saves with [`RecordForm::to_correction`].
    pub fn to_contact(
        &self,
        round: &RoundInfo,
        now: Timestamp,
        utc_offset_s: i32,
    ) -> Result<StreetContact, Invalid> {
        let contact = StreetContact {
            id: ContactId::new(),
            round: round.id,
            facts: self.facts(now, utc_offset_s),
        };
        contact.validate(now)?;
        Ok(contact)
    }

    /// The correction to save, validated as the server will; `None` when this form does
    /// not correct a saved contact. The saved UTC offset is kept.
    pub fn to_correction(&self, now: Timestamp) -> Option<Result<ContactCorrection, Invalid>> {
        let c = self.correcting.as_ref()?;
        let correction = ContactCorrection {
            id: CorrectionId::new(),
            contact: c.contact,
            facts: self.facts(now, c.utc_offset_s),
        };
        Some(correction.validate(now).map(|()| correction))
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
        .unwrap_or_else(|_| avondronde_shared::time::amsterdam())
        .to_offset(at)
        .seconds()
}

/// The local time as users read it ("22:31"), in Europe/Amsterdam.
pub fn hhmm(at: Timestamp) -> String {
    avondronde_shared::time::hhmm(at)
}

/// The local date and time as users read it ("22-11-2026 22:31").
pub fn date_hhmm(at: Timestamp) -> String {
    avondronde_shared::time::date_hhmm(at)
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
    fn a_correction_form_keeps_the_saved_facts_and_moves_time_around_the_saved_time() {
        let start = at("2026-11-20T20:00:00Z");
        let saved_at = at("2026-11-20T20:10:00Z");
        let now = at("2026-11-20T20:30:00Z");
        let mut f = RecordForm::new();
        f.add_child(AgeBand::Age12To13);
        f.toggle_behaviour(Behaviour::Fireworks);
        f.set_fix(Ok(GpsFix {
            lat: 51.91,
            lon: 4.44,
            accuracy_m: 12.0,
            taken_at: saved_at,
        }));
        let original = f.to_contact(&round(start), saved_at, 3600).expect("valid");

        let mut c = RecordForm::from_facts(original.id, &original.facts);
        // Unchanged, the correction carries exactly the saved facts, later as well.
        let same = c.to_correction(now).expect("a correction").expect("valid");
        assert_eq!((same.contact, &same.facts), (original.id, &original.facts));
        assert_eq!(c.warnings(now), Vec::<String>::new(), "no GPS request");
        // Time moves from the saved time: later up to now, earlier down to the start.
        c.shift_time(TIME_STEP_MIN, now, start);
        assert_eq!(c.observed_at(now), at("2026-11-20T20:15:00Z"));
        for _ in 0..10 {
            c.shift_time(TIME_STEP_MIN, now, start);
        }
        assert_eq!(c.observed_at(now), now);
        for _ in 0..20 {
            c.shift_time(-TIME_STEP_MIN, now, start);
        }
        assert_eq!(c.observed_at(now), start);
        c.time_now();
        assert_eq!(c.observed_at(now), saved_at, "back to the saved time");
        c.add_child(AgeBand::Age12To13);
        let fixed = c.to_correction(now).expect("a correction").expect("valid");
        assert_eq!(fixed.facts.group.age12_13, 2);
        assert_eq!(fixed.facts.location, original.facts.location);
        assert!(RecordForm::new().to_correction(now).is_none());
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
    fn zelfde_als_vorige_repeats_group_behaviours_and_actions_in_one_tap_then_save() {
        let start = at("2026-11-20T20:00:00Z");
        let first_at = at("2026-11-20T20:10:00Z");
        let now = at("2026-11-20T21:30:00Z");
        let r = round(start);
        let mut first = RecordForm::new();
        for _ in 0..3 {
            first.add_child(AgeBand::Age10To11);
        }
        first.toggle_behaviour(Behaviour::HangingAround);
        first.toggle_action(Action::Spoken);
        first.choose_no_location();
        let saved = first.to_contact(&r, first_at, 3600).expect("valid");

        let mut again = RecordForm::new();
        again.set_fix(Ok(GpsFix {
            lat: 51.91,
            lon: 4.44,
            accuracy_m: 10.0,
            taken_at: now,
        }));
        let last = crate::suggest::last_situation(std::slice::from_ref(&saved)).expect("last");
        again.apply(&last);
        assert_eq!(again.taps + 1, 2, "one tap to repeat, one to save");
        let repeat = again.to_contact(&r, now, 3600).expect("valid");
        assert_eq!(repeat.facts.group, saved.facts.group);
        assert_eq!(repeat.facts.behaviours, saved.facts.behaviours);
        assert_eq!(repeat.facts.actions, saved.facts.actions);
        // Place and time are this contact's own, not the last one's.
        assert_eq!(repeat.facts.observed_at, now);
        assert_eq!(repeat.facts.location.lat, Some(51.91));
        // Then adjust: one child fewer is one more tap.
        again.remove_child(AgeBand::Age10To11);
        assert_eq!(again.counts.age10_11, 2);
        assert_eq!(again.taps, 2);
    }

    #[test]
    fn repeating_a_contact_with_children_brought_home_keeps_their_number_and_care_forms() {
        let mut f = RecordForm::new();
        f.apply(&Situation {
            counts: GroupCounts {
                age6_9: 2,
                ..Default::default()
            },
            supervised: false,
            behaviours: vec![],
            actions: vec![Action::BroughtHome],
            brought_home: 2,
        });
        assert_eq!(f.care_forms().len(), 2);
    }

    #[test]
    fn a_poor_fix_preselects_the_nearest_hangplek_and_a_good_one_does_not() {
        let now = at("2026-11-20T21:30:00Z");
        let wijk = avondronde_shared::WijkId::new();
        let places = vec![Place {
            id: PlaceId::new(),
            wijk,
            name: "Speeltuin".into(),
            lat: 51.9122,
            lon: 4.4447,
        }];
        let fix = |acc: f32| GpsFix {
            lat: 51.9125,
            lon: 4.4447,
            accuracy_m: acc,
            taken_at: now,
        };
        let mut poor = RecordForm::new();
        poor.set_fix_near(Ok(fix(120.0)), &places, Some(now));
        assert!(
            matches!(&poor.location, LocationChoice::Place { name, .. } if name == "Speeltuin"),
            "{:?}",
            poor.location
        );
        assert_eq!(poor.taps, 0, "pre-selecting is not a tap");
        assert!(poor.warnings(now)[0].contains("dichtstbijzijnde bekende plek Speeltuin"));
        // "GPS" takes the pre-selection back.
        poor.use_gps();
        assert_eq!(poor.auto_place, None);

        let mut good = RecordForm::new();
        good.set_fix_near(Ok(fix(12.0)), &places, Some(now));
        assert!(matches!(good.location, LocationChoice::Gps(_)));
        assert!(good.warnings(now).is_empty());

        // A fix that is poor because it is old counts too.
        let mut stale = RecordForm::new();
        let old = GpsFix {
            taken_at: at("2026-11-20T21:00:00Z"),
            ..fix(12.0)
        };
        stale.set_fix_near(Ok(old), &places, Some(now));
        assert!(matches!(stale.location, LocationChoice::Place { .. }));
    }

    #[test]
    fn after_save_says_what_happened_and_where_to_go() {
        let f = RecordForm::new();
        let plain = f.after_save(&[]);
        assert_eq!(
            plain.message, None,
            "the record screen's panel confirms a new contact; no toast repeats it"
        );
        assert!(plain.fresh_form && plain.open_care_form.is_none());
        let care = CareFormId::new();
        let home = f.after_save(&[care]);
        assert_eq!(
            home.message.as_deref(),
            Some("Opgeslagen. Vul nu het zorgformulier in.")
        );
        assert_eq!(home.open_care_form, Some(care));

        let mut c = RecordForm::from_facts(ContactId::new(), &{
            let mut g = RecordForm::new();
            g.add_child(AgeBand::Under6);
            g.choose_no_location();
            let now = at("2026-11-20T20:00:00Z");
            g.to_contact(&round(now), now, 3600).expect("valid").facts
        });
        assert_eq!(c.save_label(), "Correctie opslaan");
        let fixed = c.after_save(&[]);
        assert_eq!(fixed.message.as_deref(), Some("Correctie opgeslagen"));
        assert!(!fixed.fresh_form);
        assert_eq!(c.time_note(), "zoals vastgelegd");
        c.minutes_back = -5;
        assert_eq!(c.time_note(), "5 min later dan vastgelegd");
        assert_eq!(f.save_label(), "Opslaan");
        assert_eq!(c.band_count_label(AgeBand::Under6), "0–5 jaar: 1 kind");
    }

    #[test]
    fn a_pin_on_the_map_is_saved_with_source_pin_its_point_and_no_accuracy() {
        let now = at("2026-11-20T21:30:00Z");
        let mut f = RecordForm::new();
        f.add_child(AgeBand::Age10To11);
        f.set_fix(Ok(GpsFix {
            lat: 51.90,
            lon: 4.40,
            accuracy_m: 150.0,
            taken_at: now,
        }));
        f.drop_pin(51.9131, 4.4452);
        assert_eq!(f.pin(), Some((51.9131, 4.4452)));
        assert_eq!(f.point(), Some((51.9131, 4.4452)));
        assert_eq!(f.location_text(now), "Speld op de kaart");
        assert!(f.warnings(now).is_empty(), "a pin is no poor fix");
        // Moving it is dropping it again: the last point counts, one tap each.
        f.drop_pin(51.9125, 4.4460);
        assert_eq!(f.taps, 3);
        // A GPS answer that arrives late does not move the worker's pin.
        f.set_fix(Ok(GpsFix {
            lat: 51.0,
            lon: 4.0,
            accuracy_m: 5.0,
            taken_at: now,
        }));
        let contact = f.to_contact(&round(now), now, 3600).expect("valid");
        let loc = &contact.facts.location;
        assert_eq!(loc.source, avondronde_shared::contact::LocationSource::Pin);
        assert_eq!((loc.lat, loc.lon), (Some(51.9125), Some(4.4460)));
        assert_eq!(
            (loc.accuracy_m, loc.fix_age_s, loc.place),
            (None, None, None)
        );
        let wire = serde_json::to_value(loc).expect("json");
        assert_eq!(
            wire,
            serde_json::json!({ "source": "pin", "lat": 51.9125, "lon": 4.4460 })
        );
        // GPS takes the pin back.
        f.use_gps();
        assert_eq!(f.pin(), None);
    }

    #[test]
    fn a_pin_replaces_a_preselected_hangplek_and_corrects_a_saved_location() {
        let now = at("2026-11-20T21:30:00Z");
        let places = vec![Place {
            id: PlaceId::new(),
            wijk: avondronde_shared::WijkId::new(),
            name: "Speeltuin".into(),
            lat: 51.9122,
            lon: 4.4447,
        }];
        let mut f = RecordForm::new();
        f.add_child(AgeBand::Age6To9);
        f.set_fix_near(
            Ok(GpsFix {
                lat: 51.9125,
                lon: 4.4447,
                accuracy_m: 120.0,
                taken_at: now,
            }),
            &places,
            Some(now),
        );
        assert!(f.auto_place.is_some());
        f.drop_pin(51.9127, 4.4449);
        assert_eq!(
            f.auto_place, None,
            "the pin is the worker's choice, not a guess"
        );
        assert!(f.warnings(now).is_empty());
        let saved = f.to_contact(&round(now), now, 3600).expect("valid");

        // Correcting a pinned contact keeps the pin as it was, or moves it.
        let mut c = RecordForm::from_facts(saved.id, &saved.facts);
        let kept = c.to_correction(now).expect("correction").expect("valid");
        assert_eq!(kept.facts.location, Location::pin(51.9127, 4.4449));
        c.drop_pin(51.9130, 4.4450);
        let moved = c.to_correction(now).expect("correction").expect("valid");
        assert_eq!(moved.facts.location, Location::pin(51.9130, 4.4450));
    }

    #[test]
    fn empty_group_blocks_with_a_reason() {
        let f = RecordForm::new();
        assert!(f.blocker().is_some());
    }
}
