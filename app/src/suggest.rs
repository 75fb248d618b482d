//! Three taps for a repeated situation: "Zelfde als vorige", suggestions, and the nearest
//! hangplek when the GPS fix is poor. Plain Rust, so the rules are tested without a UI.
//!
//! A straatcoach often meets the same group at the same hangplek on several evenings. The
//! group, what happened and what was done are then the same as before; only place and
//! time are new (and those come by themselves). So the record screen offers:
//! - **Zelfde als vorige**: the last contact of this round, one tap;
//! - **suggestions**: the situations of this round and of this hangplek's recent contacts
//!   on this device (within [`crate::state::NEARBY_RADIUS_M`], last
//!   [`crate::state::NEARBY_DAYS`] days), most frequent first, one tap each.
//!
//! Applying a situation never touches the form's location or time.
//!
//! The same words name a saved contact in the round's list ([`round_line`]), with where it
//! was and a mark for past the norm, so two contacts can be told apart.

use avondronde_shared::area::Place;
use avondronde_shared::contact::{Action, Behaviour, ContactFacts, GroupCounts, LocationSource};
use avondronde_shared::norms::{Encounter, evaluate};
use avondronde_shared::sync::DeviceConfig;
use avondronde_shared::{AgeBand, StreetContact};

use crate::store::records::distance_m;

/// The accessible name (and text) of the repeat button.
pub const REPEAT_LABEL: &str = "Zelfde als vorige";

/// At most this many suggestions are shown.
pub const MAX_SUGGESTIONS: usize = 3;

/// A poor fix pre-selects a hangplek only within this distance of the fix (or within the
/// fix's accuracy, when that is larger).
pub const NEAREST_PLACE_MAX_M: f64 = 150.0;

/// What can be repeated of a contact: the group, what happened and what was done.
#[derive(Debug, Clone, PartialEq)]
pub struct Situation {
    /// Children per age band.
    pub counts: GroupCounts,
    /// Whether an adult supervised the group.
    pub supervised: bool,
    /// Behaviours, in the order tapped.
    pub behaviours: Vec<Behaviour>,
    /// Actions, in the order tapped.
    pub actions: Vec<Action>,
    /// Children brought home.
    pub brought_home: u16,
}

impl Situation {
    /// The situation of a saved contact.
    pub fn of(facts: &ContactFacts) -> Situation {
        Situation {
            counts: facts.group,
            supervised: facts.supervised,
            behaviours: facts.behaviours.clone(),
            actions: facts.actions.clone(),
            brought_home: facts.brought_home,
        }
    }

    /// The same situation regardless of the order the chips were tapped in.
    fn same_as(&self, other: &Situation) -> bool {
        fn same<T: PartialEq>(a: &[T], b: &[T]) -> bool {
            a.len() == b.len() && a.iter().all(|x| b.contains(x))
        }
        self.counts == other.counts
            && self.supervised == other.supervised
            && self.brought_home == other.brought_home
            && same(&self.behaviours, &other.behaviours)
            && same(&self.actions, &other.actions)
    }

    /// In words, for a button: "3 kinderen 10–11 jaar · rondhangen · aangesproken".
    pub fn label_nl(&self) -> String {
        let mut parts: Vec<String> = AgeBand::ALL
            .into_iter()
            .filter(|b| self.counts.get(*b) > 0)
            .map(|b| format!("{} {}", kinderen(self.counts.get(b).into()), b.label_nl()))
            .collect();
        if self.supervised {
            parts.push("met volwassene".into());
        }
        parts.extend(self.behaviours.iter().map(|b| b.label_nl().to_owned()));
        parts.extend(self.actions.iter().map(|a| a.label_nl().to_owned()));
        parts.join(" · ")
    }
}

/// "1 kind", "3 kinderen".
pub fn kinderen(n: u32) -> String {
    if n == 1 {
        "1 kind".into()
    } else {
        format!("{n} kinderen")
    }
}

/// "1 contact", "2 contacten".
pub fn contacten(n: u32) -> String {
    if n == 1 {
        "1 contact".into()
    } else {
        format!("{n} contacten")
    }
}

/// "1 zorgformulier", "2 zorgformulieren".
pub fn zorgformulieren(n: usize) -> String {
    if n == 1 {
        "1 zorgformulier".into()
    } else {
        format!("{n} zorgformulieren")
    }
}

/// Where a suggestion comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A contact of the round in progress.
    ThisRound,
    /// An earlier contact at this hangplek on this device.
    ThisPlace,
}

/// A situation offered as one tap.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// What it fills in.
    pub situation: Situation,
    /// How many of the contacts looked at had it.
    pub times: u32,
    /// Where it was seen first (this round wins over this place).
    pub origin: Origin,
}

impl Suggestion {
    /// The button's accessible name: "Suggestie: 3 kinderen 10–11 jaar · rondhangen".
    pub fn button_label(&self) -> String {
        format!("Suggestie: {}", self.situation.label_nl())
    }
}

/// The last contact of the round, as "Zelfde als vorige" repeats it (`round` in the order
/// the contacts happened).
pub fn last_situation(round: &[StreetContact]) -> Option<Situation> {
    round.last().map(|c| Situation::of(&c.facts))
}

/// Suggestions from this round's contacts and this hangplek's recent contacts (any
/// order), most frequent first, then most recent; the last contact itself is left out
/// (that is "Zelfde als vorige"), and so is an empty group.
pub fn suggestions(round: &[StreetContact], here: &[StreetContact]) -> Vec<Suggestion> {
    let last = last_situation(round);
    let mut seen: Vec<(Suggestion, jiff::Timestamp)> = Vec::new();
    let tagged = round
        .iter()
        .map(|c| (c, Origin::ThisRound))
        .chain(here.iter().map(|c| (c, Origin::ThisPlace)));
    for (contact, origin) in tagged {
        let s = Situation::of(&contact.facts);
        if s.counts.total() == 0 {
            continue;
        }
        if let Some((known, when)) = seen.iter_mut().find(|(k, _)| k.situation.same_as(&s)) {
            // A contact seen both in the round and at the place counts once.
            if !(origin == Origin::ThisPlace && round.iter().any(|r| r.id == contact.id)) {
                known.times += 1;
            }
            *when = (*when).max(contact.facts.observed_at);
            continue;
        }
        if round.iter().any(|r| r.id == contact.id) && origin == Origin::ThisPlace {
            continue;
        }
        seen.push((
            Suggestion {
                situation: s,
                times: 1,
                origin,
            },
            contact.facts.observed_at,
        ));
    }
    seen.retain(|(s, _)| last.as_ref().is_none_or(|l| !l.same_as(&s.situation)));
    seen.sort_by(|(a, at), (b, bt)| b.times.cmp(&a.times).then(bt.cmp(at)));
    seen.into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(s, _)| s)
        .collect()
}

/// The hangplek nearest to a point, if one lies within `max(accuracy, NEAREST_PLACE_MAX_M)`
/// metres of it.
pub fn nearest_place(places: &[Place], lat: f64, lon: f64, accuracy_m: f64) -> Option<&Place> {
    let reach = accuracy_m.max(NEAREST_PLACE_MAX_M);
    places
        .iter()
        .map(|p| (p, distance_m(lat, lon, p.lat, p.lon)))
        .filter(|(_, d)| *d <= reach)
        .min_by(|(_, a), (_, b)| a.total_cmp(b))
        .map(|(p, _)| p)
}

/// A contact saved in the round in progress, as its line in the round's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundLine {
    /// The time, "22:31".
    pub time: String,
    /// The group and what happened: "3 kinderen 10–11 jaar · rondhangen · aangesproken".
    pub what: String,
    /// Where: the hangplek chosen, "bij" the nearest one for a GPS fix or pin, or how the
    /// location was given.
    pub place: String,
    /// Whether a child was past the buitenspeelnorm (or an area rule applied).
    pub past_norm: bool,
}

/// The line of a saved contact in the round's list (rev3 finding 21: two identical lines
/// "23:47 · 4 kinderen · rondhangen" could not be told apart).
pub fn round_line(facts: &ContactFacts, config: Option<&DeviceConfig>) -> RoundLine {
    let places = config.map_or(&[][..], |c| c.places.as_slice());
    let loc = &facts.location;
    let near = || {
        loc.lat
            .zip(loc.lon)
            .and_then(|(lat, lon)| nearest_place(places, lat, lon, 0.0))
            .map(|p| format!("bij {}", p.name))
    };
    let place = match loc.source {
        LocationSource::Place => loc
            .place
            .and_then(|id| places.iter().find(|p| p.id == id))
            .map_or_else(|| "bekende plek".to_owned(), |p| p.name.clone()),
        LocationSource::Gps => near().unwrap_or_else(|| "GPS-punt".to_owned()),
        LocationSource::Pin => {
            near().map_or_else(|| "speld op de kaart".to_owned(), |n| format!("speld {n}"))
        }
        LocationSource::None => "geen locatie".to_owned(),
        // A source a newer app wrote: say where if we can.
        LocationSource::Other(_) => near().unwrap_or_else(|| "locatie".to_owned()),
    };
    let encounter = Encounter {
        at: facts.observed_at,
        point: loc.point(),
        group: facts.group,
        supervised: facts.supervised,
    };
    let verdict = match config {
        Some(c) => evaluate(&c.norms, &c.area_rules, &encounter),
        None => evaluate(&Default::default(), &[], &encounter),
    };
    let what = Situation::of(facts).label_nl();
    RoundLine {
        time: crate::state::hhmm(facts.observed_at),
        what: if what.is_empty() {
            "niemand geteld".to_owned()
        } else {
            what
        },
        place,
        past_norm: verdict.any_past(),
    }
}

/// Which contact a care form is about, as the reporter's feedback list shows it: the
/// contact's time and, when it has one, the hangplek or the place near it ("Contact om
/// 23:46 · Mathenesserplein"). With several forms the reporter can tell them apart (rev3
/// finding 21). Nothing here identifies the child: no name, birth date or address, which
/// are sealed for the meldpunt and gone from the phone.
pub fn form_context_nl(facts: &ContactFacts, config: Option<&DeviceConfig>) -> String {
    let line = round_line(facts, config);
    let named = match facts.location.source {
        LocationSource::Place => true,
        _ => line.place.contains("bij "),
    };
    if named {
        format!("Contact om {} · {}", line.time, line.place)
    } else {
        format!("Contact om {}", line.time)
    }
}

/// How long after its end a round's summary stays on the home screen: the rest of the
/// evening and the night, not into the next evening's round.
pub const SUMMARY_HOURS: i64 = 12;

/// A round that ended, as the summary after "Ronde beëindigen" shows it (rev3 finding
/// 21: only a toast confirmed that the evening was complete).
#[derive(Debug, Clone, PartialEq)]
pub struct RoundSummary {
    /// The wijk's name.
    pub wijk_name: String,
    /// When the round started.
    pub started_at: jiff::Timestamp,
    /// When it ended.
    pub ended_at: jiff::Timestamp,
    /// Contacts recorded in it.
    pub contacts: u32,
    /// Care forms sealed for its contacts.
    pub care_forms: u32,
    /// Items on the phone still waiting to be sent.
    pub pending: u32,
    /// Items the server refused.
    pub refused: u32,
}

impl RoundSummary {
    /// "Ronde Delfshaven 22:30–23:59: 5 contacten, 1 zorgformulier, alles verzonden", or
    /// "…, nog 2 te verzenden" while the outbox is not empty.
    pub fn line_nl(&self) -> String {
        let forms = match self.care_forms {
            0 => "geen zorgformulier".to_owned(),
            n => zorgformulieren(n as usize),
        };
        let sent = match (self.pending, self.refused) {
            (0, 0) => "alles verzonden".to_owned(),
            (p, 0) => format!("nog {p} te verzenden"),
            (0, r) => format!("{r} geweigerd (zie Status)"),
            (p, r) => format!("nog {p} te verzenden, {r} geweigerd (zie Status)"),
        };
        format!(
            "Ronde {} {}–{}: {}, {forms}, {sent}",
            self.wijk_name,
            crate::state::hhmm(self.started_at),
            crate::state::hhmm(self.ended_at),
            contacten(self.contacts),
        )
    }

    /// Whether everything is sent (and nothing refused).
    pub fn all_sent(&self) -> bool {
        self.pending == 0 && self.refused == 0
    }

    /// Whether a round that ended at `ended_at` is still worth summing up at `now`.
    pub fn is_recent(ended_at: jiff::Timestamp, now: jiff::Timestamp) -> bool {
        now.duration_since(ended_at) <= jiff::SignedDuration::from_hours(SUMMARY_HOURS)
    }
}

#[cfg(test)]
mod tests {
    use avondronde_shared::contact::Location;
    use avondronde_shared::{ContactId, PlaceId, RoundId, WijkId};
    use jiff::Timestamp;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn contact(
        round: RoundId,
        when: &str,
        band: AgeBand,
        n: u16,
        b: &[Behaviour],
        a: &[Action],
    ) -> StreetContact {
        let mut group = GroupCounts::default();
        *group.get_mut(band) = n;
        StreetContact {
            id: ContactId::new(),
            round,
            facts: ContactFacts {
                observed_at: at(when),
                utc_offset_s: 3600,
                location: Location::none(),
                group,
                supervised: false,
                behaviours: b.to_vec(),
                actions: a.to_vec(),
                brought_home: 0,
            },
        }
    }

    #[test]
    fn the_last_situation_is_the_contact_that_happened_last() {
        let r = RoundId::new();
        let round = vec![
            contact(r, "2026-11-20T20:00:00Z", AgeBand::Age6To9, 2, &[], &[]),
            contact(
                r,
                "2026-11-20T20:10:00Z",
                AgeBand::Age10To11,
                3,
                &[Behaviour::HangingAround],
                &[Action::Spoken],
            ),
        ];
        let last = last_situation(&round).expect("a last contact");
        assert_eq!(last.counts.age10_11, 3);
        assert_eq!(last.behaviours, vec![Behaviour::HangingAround]);
        assert_eq!(last.actions, vec![Action::Spoken]);
        assert_eq!(
            last.label_nl(),
            "3 kinderen 10–11 jaar · rondhangen · aangesproken"
        );
        assert_eq!(last_situation(&[]), None);
    }

    #[test]
    fn suggestions_rank_by_frequency_then_recency_and_leave_out_the_last() {
        let r = RoundId::new();
        let old = RoundId::new();
        let hang = [Behaviour::HangingAround];
        let spoken = [Action::Spoken];
        let round = vec![
            contact(r, "2026-11-20T20:00:00Z", AgeBand::Age12To13, 1, &hang, &[]),
            contact(
                r,
                "2026-11-20T20:05:00Z",
                AgeBand::Age10To11,
                2,
                &hang,
                &spoken,
            ),
            contact(r, "2026-11-20T20:20:00Z", AgeBand::Age6To9, 4, &[], &[]),
        ];
        // At this hangplek on earlier evenings: twice the 10–11 pair, once the 12–13 one
        // with fireworks, and an empty group that is never offered.
        let here = vec![
            contact(
                old,
                "2026-11-18T20:00:00Z",
                AgeBand::Age10To11,
                2,
                &hang,
                &spoken,
            ),
            contact(
                old,
                "2026-11-17T20:00:00Z",
                AgeBand::Age10To11,
                2,
                &hang,
                &spoken,
            ),
            contact(
                old,
                "2026-11-19T20:00:00Z",
                AgeBand::Age12To13,
                1,
                &[Behaviour::Fireworks],
                &[],
            ),
            contact(old, "2026-11-19T21:00:00Z", AgeBand::Age12To13, 0, &[], &[]),
        ];
        let s = suggestions(&round, &here);
        let labels: Vec<String> = s.iter().map(|s| s.situation.label_nl()).collect();
        assert_eq!(
            labels,
            vec![
                "2 kinderen 10–11 jaar · rondhangen · aangesproken".to_owned(),
                "1 kind 12–13 jaar · rondhangen".to_owned(),
                "1 kind 12–13 jaar · vuurwerk".to_owned(),
            ],
            "the 4 of 6–9 is the last contact: that is 'Zelfde als vorige'"
        );
        assert_eq!((s[0].times, s[0].origin), (3, Origin::ThisRound));
        assert_eq!((s[2].times, s[2].origin), (1, Origin::ThisPlace));
        assert_eq!(
            s[0].button_label(),
            "Suggestie: 2 kinderen 10–11 jaar · rondhangen · aangesproken"
        );
    }

    #[test]
    fn a_round_contact_also_found_at_the_place_counts_once_and_chip_order_does_not_matter() {
        let r = RoundId::new();
        let a = contact(
            r,
            "2026-11-20T20:00:00Z",
            AgeBand::Age10To11,
            2,
            &[Behaviour::HangingAround, Behaviour::Nuisance],
            &[],
        );
        let b = contact(
            r,
            "2026-11-20T20:05:00Z",
            AgeBand::Age10To11,
            2,
            &[Behaviour::Nuisance, Behaviour::HangingAround],
            &[],
        );
        let last = contact(r, "2026-11-20T20:10:00Z", AgeBand::Under6, 1, &[], &[]);
        let s = suggestions(&[a.clone(), b, last], &[a]);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].times, 2);
        assert!(suggestions(&[], &[]).is_empty());
    }

    #[test]
    fn the_nearest_place_within_reach_is_found_and_a_far_one_is_not() {
        let wijk = WijkId::new();
        let place = |name: &str, lat: f64, lon: f64| Place {
            id: PlaceId::new(),
            wijk,
            name: name.into(),
            lat,
            lon,
        };
        let places = vec![
            place("Speeltuin", 51.9122, 4.4447),
            place("Pleintje", 51.9130, 4.4447), // about 90 m north
            place("Ver weg", 51.9300, 4.4447),  // about 2 km north
        ];
        let near = nearest_place(&places, 51.9128, 4.4447, 80.0).expect("a place");
        assert_eq!(near.name, "Pleintje");
        // 1 km from everything, with a ±100 m fix: no place is pre-selected.
        assert!(nearest_place(&places, 51.9210, 4.4447, 100.0).is_none());
        // A very poor fix widens the reach to its accuracy.
        assert_eq!(
            nearest_place(&places, 51.9210, 4.4447, 1_000.0).map(|p| p.name.as_str()),
            Some("Pleintje")
        );
    }

    #[test]
    fn a_round_line_names_the_place_and_marks_a_contact_past_the_norm() {
        let wijk = WijkId::new();
        let plein = Place {
            id: PlaceId::new(),
            wijk,
            name: "Mathenesserplein".into(),
            lat: 51.9122,
            lon: 4.4447,
        };
        let config = DeviceConfig {
            version: 1,
            gemeente: avondronde_shared::area::Gemeente {
                id: avondronde_shared::GemeenteId::new(),
                name: "Rotterdam".into(),
                code: "GM0599".into(),
            },
            norms: avondronde_shared::norms::NormSet::rotterdam(),
            area_rules: vec![],
            wijken: vec![],
            places: vec![plein.clone()],
            meldpunt_key: None,
            meldpunt_chain: None,
            basemap_url: String::new(),
            phone: Default::default(),
        };
        let round = RoundId::new();
        // 22:30: three 10–11-year-olds past their 22:00 norm, by GPS 30 m from the plein.
        let mut late = contact(
            round,
            "2026-11-20T21:30:00Z",
            AgeBand::Age10To11,
            3,
            &[Behaviour::HangingAround],
            &[Action::Spoken],
        );
        late.facts.location = Location::gps(51.91247, 4.4447, 12.0, 2);
        let line = round_line(&late.facts, Some(&config));
        assert_eq!(line.time, "22:30");
        assert_eq!(
            line.what,
            "3 kinderen 10–11 jaar · rondhangen · aangesproken"
        );
        assert_eq!(line.place, "bij Mathenesserplein");
        assert!(line.past_norm);
        // 21:30, the same group chosen at the hangplek: within the norm.
        let mut early = contact(
            round,
            "2026-11-20T20:30:00Z",
            AgeBand::Age10To11,
            3,
            &[Behaviour::HangingAround],
            &[],
        );
        early.facts.location = Location::place(plein.id, plein.lat, plein.lon);
        let line = round_line(&early.facts, Some(&config));
        assert_eq!(
            (line.place.as_str(), line.past_norm),
            ("Mathenesserplein", false)
        );
        // Far from every hangplek, and without a location.
        // The feedback list names a care form's contact by its time and place.
        assert_eq!(
            form_context_nl(&late.facts, Some(&config)),
            "Contact om 22:30 · bij Mathenesserplein"
        );
        assert_eq!(
            form_context_nl(&early.facts, Some(&config)),
            "Contact om 21:30 · Mathenesserplein"
        );
        early.facts.location = Location::pin(51.95, 4.40);
        assert_eq!(
            round_line(&early.facts, Some(&config)).place,
            "speld op de kaart"
        );
        assert_eq!(
            form_context_nl(&early.facts, Some(&config)),
            "Contact om 21:30",
            "no place named: only the time"
        );
        early.facts.location = Location::none();
        assert_eq!(round_line(&early.facts, None).place, "geen locatie");
    }

    /// rev3 finding 21: after "Ronde beëindigen" only a toast said the round had ended.
    #[test]
    fn the_round_summary_says_what_was_done_and_whether_all_of_it_was_sent() {
        let mut summary = RoundSummary {
            wijk_name: "Delfshaven".into(),
            started_at: at("2026-11-20T21:30:00Z"),
            ended_at: at("2026-11-20T22:59:00Z"),
            contacts: 5,
            care_forms: 1,
            pending: 0,
            refused: 0,
        };
        assert_eq!(
            summary.line_nl(),
            "Ronde Delfshaven 22:30–23:59: 5 contacten, 1 zorgformulier, alles verzonden"
        );
        assert!(summary.all_sent());
        summary.pending = 2;
        summary.care_forms = 0;
        summary.contacts = 1;
        assert_eq!(
            summary.line_nl(),
            "Ronde Delfshaven 22:30–23:59: 1 contact, geen zorgformulier, nog 2 te verzenden"
        );
        summary.refused = 1;
        assert!(
            summary
                .line_nl()
                .ends_with("nog 2 te verzenden, 1 geweigerd (zie Status)")
        );
        summary.pending = 0;
        assert!(!summary.all_sent(), "refused is not sent");
        // Shown the rest of the night, not at the next evening's start.
        let end = summary.ended_at;
        assert!(RoundSummary::is_recent(end, at("2026-11-21T06:00:00Z")));
        assert!(!RoundSummary::is_recent(end, at("2026-11-21T17:00:00Z")));
    }

    #[test]
    fn dutch_plurals() {
        assert_eq!(kinderen(1), "1 kind");
        assert_eq!(kinderen(0), "0 kinderen");
        assert_eq!(kinderen(2), "2 kinderen");
        assert_eq!(contacten(1), "1 contact");
        assert_eq!(contacten(0), "0 contacten");
        assert_eq!(contacten(5), "5 contacten");
        assert_eq!(zorgformulieren(1), "1 zorgformulier");
        assert_eq!(zorgformulieren(2), "2 zorgformulieren");
    }
}
