//! The street contact: one encounter with a child or a group in public space.
//!
//! By design a contact holds **no identity** of a child: no names, no free text, only
//! counts per age band, place, time and enumerated behaviours and actions. Identity only
//! ever appears inside a sealed care form (see [`crate::care`]).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{ContactId, PlaceId, RoundId};
use crate::wire_enum::wire_enum;

/// An age band as estimated by eye in the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AgeBand {
    /// 0–5 years.
    #[serde(rename = "0-5")]
    Under6,
    /// 6–9 years.
    #[serde(rename = "6-9")]
    Age6To9,
    /// 10–11 years.
    #[serde(rename = "10-11")]
    Age10To11,
    /// 12–13 years.
    #[serde(rename = "12-13")]
    Age12To13,
    /// 14 years and older.
    #[serde(rename = "14+")]
    Age14Plus,
}

impl AgeBand {
    /// All bands, youngest first.
    pub const ALL: [AgeBand; 5] = [
        AgeBand::Under6,
        AgeBand::Age6To9,
        AgeBand::Age10To11,
        AgeBand::Age12To13,
        AgeBand::Age14Plus,
    ];

    /// The Dutch label, with an en dash as users write it ("6–9 jaar").
    pub fn label_nl(self) -> &'static str {
        match self {
            AgeBand::Under6 => "0–5 jaar",
            AgeBand::Age6To9 => "6–9 jaar",
            AgeBand::Age10To11 => "10–11 jaar",
            AgeBand::Age12To13 => "12–13 jaar",
            AgeBand::Age14Plus => "14+ jaar",
        }
    }

    /// The stable wire code ("0-5", "6-9", …).
    pub fn code(self) -> &'static str {
        match self {
            AgeBand::Under6 => "0-5",
            AgeBand::Age6To9 => "6-9",
            AgeBand::Age10To11 => "10-11",
            AgeBand::Age12To13 => "12-13",
            AgeBand::Age14Plus => "14+",
        }
    }

    /// Parses a wire code.
    pub fn from_code(code: &str) -> Option<AgeBand> {
        AgeBand::ALL.into_iter().find(|b| b.code() == code)
    }

    /// The oldest age in the band, if bounded.
    pub fn max_age(self) -> Option<u8> {
        match self {
            AgeBand::Under6 => Some(5),
            AgeBand::Age6To9 => Some(9),
            AgeBand::Age10To11 => Some(11),
            AgeBand::Age12To13 => Some(13),
            AgeBand::Age14Plus => None,
        }
    }
}

/// How many children of each age band were in the group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupCounts {
    /// Children aged 0–5.
    #[serde(rename = "0-5", default)]
    pub under6: u16,
    /// Children aged 6–9.
    #[serde(rename = "6-9", default)]
    pub age6_9: u16,
    /// Children aged 10–11.
    #[serde(rename = "10-11", default)]
    pub age10_11: u16,
    /// Children aged 12–13.
    #[serde(rename = "12-13", default)]
    pub age12_13: u16,
    /// Youths aged 14 and older.
    #[serde(rename = "14+", default)]
    pub age14_plus: u16,
}

impl GroupCounts {
    /// The count for one band.
    pub fn get(&self, band: AgeBand) -> u16 {
        match band {
            AgeBand::Under6 => self.under6,
            AgeBand::Age6To9 => self.age6_9,
            AgeBand::Age10To11 => self.age10_11,
            AgeBand::Age12To13 => self.age12_13,
            AgeBand::Age14Plus => self.age14_plus,
        }
    }

    /// A mutable reference to the count for one band.
    pub fn get_mut(&mut self, band: AgeBand) -> &mut u16 {
        match band {
            AgeBand::Under6 => &mut self.under6,
            AgeBand::Age6To9 => &mut self.age6_9,
            AgeBand::Age10To11 => &mut self.age10_11,
            AgeBand::Age12To13 => &mut self.age12_13,
            AgeBand::Age14Plus => &mut self.age14_plus,
        }
    }

    /// Builder-style setter, handy in tests and demo data.
    pub fn with(mut self, band: AgeBand, count: u16) -> Self {
        *self.get_mut(band) = count;
        self
    }

    /// Total number of children and youths in the group.
    pub fn total(&self) -> u32 {
        AgeBand::ALL.iter().map(|b| u32::from(self.get(*b))).sum()
    }

    /// The bands with at least one child, youngest first.
    pub fn present(&self) -> impl Iterator<Item = (AgeBand, u16)> + '_ {
        AgeBand::ALL
            .into_iter()
            .map(|b| (b, self.get(b)))
            .filter(|(_, n)| *n > 0)
    }

    /// The youngest band present, if any.
    pub fn youngest(&self) -> Option<AgeBand> {
        self.present().next().map(|(b, _)| b)
    }
}

wire_enum! {
    /// Where a contact's location came from.
    pub enum LocationSource {
        /// A satellite fix from the device.
        Gps = "gps" => "GPS",
        /// A named place (hangplek) chosen from the list.
        Place = "place" => "bekende plek",
        /// A pin dropped on a map.
        Pin = "pin" => "speld op kaart",
        /// No location recorded.
        None = "none" => "geen locatie",
    }
}

/// Where a contact happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// How the location was obtained.
    pub source: LocationSource,
    /// Latitude in WGS84 degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude in WGS84 degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// Horizontal accuracy in metres (GPS only).
    #[serde(default, rename = "acc_m", skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f32>,
    /// How old the fix was when the contact was saved, in seconds (GPS only).
    #[serde(default, rename = "age_s", skip_serializing_if = "Option::is_none")]
    pub fix_age_s: Option<u32>,
    /// The named place, when `source` is `place`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceId>,
}

impl Location {
    /// No location.
    pub fn none() -> Self {
        Location {
            source: LocationSource::None,
            lat: None,
            lon: None,
            accuracy_m: None,
            fix_age_s: None,
            place: None,
        }
    }

    /// A GPS fix.
    pub fn gps(lat: f64, lon: f64, accuracy_m: f32, fix_age_s: u32) -> Self {
        Location {
            source: LocationSource::Gps,
            lat: Some(lat),
            lon: Some(lon),
            accuracy_m: Some(accuracy_m),
            fix_age_s: Some(fix_age_s),
            place: None,
        }
    }

    /// A named place, with its coordinates.
    pub fn place(place: PlaceId, lat: f64, lon: f64) -> Self {
        Location {
            source: LocationSource::Place,
            lat: Some(lat),
            lon: Some(lon),
            accuracy_m: None,
            fix_age_s: None,
            place: Some(place),
        }
    }

    /// A pin dropped on the map: coordinates, and no accuracy (the worker chose the
    /// point; no instrument measured it).
    pub fn pin(lat: f64, lon: f64) -> Self {
        Location {
            source: LocationSource::Pin,
            lat: Some(lat),
            lon: Some(lon),
            accuracy_m: None,
            fix_age_s: None,
            place: None,
        }
    }

    /// The point as (lon, lat), if there is one.
    pub fn point(&self) -> Option<geo::Point<f64>> {
        Some(geo::Point::new(self.lon?, self.lat?))
    }

    /// A GPS fix worse than this many metres earns a warning in the app (never a block).
    pub const POOR_ACCURACY_M: f32 = 50.0;
    /// A GPS fix older than this many seconds earns a warning in the app (never a block).
    pub const STALE_FIX_S: u32 = 120;

    /// Whether the app should warn that this fix is poor (inaccurate or stale).
    pub fn is_poor_fix(&self) -> bool {
        self.source == LocationSource::Gps
            && (self.accuracy_m.is_none_or(|a| a > Self::POOR_ACCURACY_M)
                || self.fix_age_s.is_none_or(|s| s > Self::STALE_FIX_S))
    }
}

wire_enum! {
    /// What was going on (from DOMAIN.md: the evening round).
    pub enum Behaviour {
        /// Hanging around.
        HangingAround = "hanging_around" => "rondhangen",
        /// Nuisance.
        Nuisance = "nuisance" => "overlast",
        /// Vandalism.
        Vandalism = "vandalism" => "vernieling",
        /// Theft.
        Theft = "theft" => "diefstal",
        /// Fireworks.
        Fireworks = "fireworks" => "vuurwerk",
        /// A child who seems neglected or unsafe.
        Unsafe = "unsafe" => "verwaarloosd / onveilig",
    }
}

wire_enum! {
    /// What the field worker did.
    pub enum Action {
        /// Spoke to the children.
        Spoken = "spoken" => "aangesproken",
        /// Sent them home.
        SentHome = "sent_home" => "naar huis gestuurd",
        /// Brought a child home.
        BroughtHome = "brought_home" => "thuisgebracht",
        /// Spoke to the parents.
        ParentsSpoken = "parents_spoken" => "ouders gesproken",
        /// Referred (e.g. to Halt or youth care).
        Referred = "referred" => "doorverwezen",
        /// Gave an official warning.
        Warning = "warning" => "officiële waarschuwing",
    }
}

/// The observable facts of a contact, without its ids: what a correction replaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactFacts {
    /// When it was observed (UTC instant).
    pub observed_at: Timestamp,
    /// The device's UTC offset in seconds at that moment, as the device believed it.
    pub utc_offset_s: i32,
    /// Where.
    #[serde(rename = "loc")]
    pub location: Location,
    /// Children per age band.
    pub group: GroupCounts,
    /// Whether an adult supervised the group.
    pub supervised: bool,
    /// What was going on.
    #[serde(default)]
    pub behaviours: Vec<Behaviour>,
    /// What the field worker did.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// How many children were brought home.
    #[serde(default)]
    pub brought_home: u16,
}

/// A street contact as recorded on a device.
///
/// On the wire its facts sit beside its ids (`{"id", "round", "observed_at", …}`). It is
/// written with `#[serde(flatten)]` but read through `flat_facts!`: flatten on the
/// reading side first buffers every field into an intermediate map, which was a
/// measurable part of the server's work per pushed contact (issue 13). The JSON is the
/// same either way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreetContact {
    /// The contact's id, made on the device; also the sync idempotency key.
    pub id: ContactId,
    /// The round it belongs to.
    pub round: RoundId,
    /// What was observed.
    #[serde(flatten)]
    pub facts: ContactFacts,
}

/// Implements `Deserialize` for a record made of two ids and a flattened
/// [`ContactFacts`], reading every field in one pass. The field names, renames and
/// defaults mirror [`ContactFacts`]; a field added there and not here does not compile.
macro_rules! flat_facts {
    ($record:ident { $first:ident: $first_ty:ty, $second:ident: $second_ty:ty }) => {
        impl<'de> serde::Deserialize<'de> for $record {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                struct Flat {
                    $first: $first_ty,
                    $second: $second_ty,
                    observed_at: jiff::Timestamp,
                    utc_offset_s: i32,
                    loc: $crate::contact::Location,
                    group: $crate::contact::GroupCounts,
                    supervised: bool,
                    #[serde(default)]
                    behaviours: Vec<$crate::contact::Behaviour>,
                    #[serde(default)]
                    actions: Vec<$crate::contact::Action>,
                    #[serde(default)]
                    brought_home: u16,
                }
                let f = Flat::deserialize(d)?;
                Ok($record {
                    $first: f.$first,
                    $second: f.$second,
                    facts: $crate::contact::ContactFacts {
                        observed_at: f.observed_at,
                        utc_offset_s: f.utc_offset_s,
                        location: f.loc,
                        group: f.group,
                        supervised: f.supervised,
                        behaviours: f.behaviours,
                        actions: f.actions,
                        brought_home: f.brought_home,
                    },
                })
            }
        }
    };
}
pub(crate) use flat_facts;

flat_facts!(StreetContact {
    id: ContactId,
    round: RoundId
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_counts_use_band_codes_on_the_wire_and_total_all_bands() {
        let g = GroupCounts::default()
            .with(AgeBand::Age6To9, 3)
            .with(AgeBand::Age14Plus, 1);
        assert_eq!(g.total(), 4);
        let json = serde_json::to_value(g).expect("serialise");
        assert_eq!(json["6-9"], 3);
        assert_eq!(json["14+"], 1);
        assert_eq!(g.youngest(), Some(AgeBand::Age6To9));
    }

    #[test]
    fn unknown_behaviour_from_a_newer_app_is_kept_verbatim() {
        let parsed: Vec<Behaviour> =
            serde_json::from_str(r#"["nuisance","drone_flying"]"#).expect("parse");
        assert_eq!(parsed[0], Behaviour::Nuisance);
        assert_eq!(parsed[1], Behaviour::Other("drone_flying".into()));
        let back = serde_json::to_string(&parsed).expect("serialise");
        assert_eq!(back, r#"["nuisance","drone_flying"]"#);
    }

    #[test]
    fn poor_fix_is_inaccurate_or_stale_gps_only() {
        assert!(!Location::gps(51.9, 4.45, 10.0, 5).is_poor_fix());
        assert!(Location::gps(51.9, 4.45, 80.0, 5).is_poor_fix());
        assert!(Location::gps(51.9, 4.45, 10.0, 600).is_poor_fix());
        assert!(!Location::none().is_poor_fix());
    }
}
