//! What the map screen draws, as plain data: the wijk's outline, its hangplekken, the
//! gemeente's area rules (a burgemeestersbevel), this round's contacts (those at one spot
//! as one numbered stack) and the pin, built from the pulled configuration and the local
//! store only. Nothing here needs the network, so these layers always draw, also offline; the
//! basemap tiles are the only thing fetched, and the map works without them.
//!
//! The data goes to the map library (Leaflet, in the webview) as JSON through
//! [`dioxus::document::eval`]; see [`crate::ui`]'s map screen. Keeping the building here,
//! in plain Rust, lets tests check what is drawn without a webview.

use avondronde_shared::StreetContact;
use avondronde_shared::area::{Place, Wijk};
use avondronde_shared::norms::{AreaRule, Encounter, evaluate};
use avondronde_shared::sync::DeviceConfig;
use avondronde_shared::time::local_date;
use geo::MultiPolygon;
use jiff::Timestamp;
use serde::Serialize;

use crate::state::hhmm;
use crate::suggest::{contacten, kinderen};

/// A point as Leaflet takes it: `[lat, lon]`.
pub type LatLon = [f64; 2];

/// A hangplek on the map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapPlace {
    /// Its name, shown beside it.
    pub name: String,
    /// Where it is.
    pub at: LatLon,
}

/// Contacts of this round closer together than this (metres) are one stack on the map:
/// recorded where the worker stood, a few metres of GPS wander apart, they would
/// otherwise hide behind each other as one dot (rev3 finding 7).
pub const STACK_METRES: f64 = 10.0;

/// A contact of this round on the map, or several at one spot (a stack, drawn with its
/// number).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapContact {
    /// Where it was (the first contact of a stack).
    pub at: LatLon,
    /// "22:30 · 3 kinderen": the time and the group's size (no identity, as always); for
    /// a stack, each contact's, joined with "; ".
    pub label: String,
    /// Whether a child was past the buitenspeelnorm, in any contact of the stack (drawn in
    /// the alert colour).
    pub alert: bool,
    /// How many contacts of the round are at this spot.
    pub count: u32,
}

/// An area rule (a burgemeestersbevel) on the map: drawn hatched, with its name, so the
/// worker sees where the rule the verdict names applies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapRule {
    /// "Burgemeestersbevel Bospolder · 20:00–06:00".
    pub label: String,
    /// Polygons, each a list of rings, each a list of points.
    pub area: Vec<Vec<Vec<LatLon>>>,
    /// Whether it applies right now (inside its daily window): drawn stronger.
    pub in_force: bool,
}

/// Everything the map screen draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapData {
    /// The basemap's tile URL template, from the configuration.
    pub basemap: Option<String>,
    /// The wijk's outline: polygons, each a list of rings, each a list of points.
    pub outline: Vec<Vec<Vec<LatLon>>>,
    /// The wijk's hangplekken.
    pub places: Vec<MapPlace>,
    /// The gemeente's area rules valid today (or tonight, after midnight).
    pub rules: Vec<MapRule>,
    /// This round's contacts that have a location, those at one spot as one stack.
    pub contacts: Vec<MapContact>,
    /// The pin of the contact being recorded, if one was dropped.
    pub pin: Option<LatLon>,
    /// Whether a tap on the map drops the pin (the record screen's "Op de kaart").
    pub picking: bool,
}

impl MapData {
    /// What to draw for the round in `wijk` at `now`: its outline, places and the area
    /// rules valid now from `config`, the round's `contacts` (those with a location), and
    /// the pin.
    pub fn build(
        config: Option<&DeviceConfig>,
        wijk: Option<&Wijk>,
        contacts: &[StreetContact],
        pin: Option<(f64, f64)>,
        picking: bool,
        now: Timestamp,
    ) -> MapData {
        let outline = wijk.map(|w| lat_lon(&w.boundary)).unwrap_or_default();
        let rules = config
            .map(|c| {
                c.area_rules
                    .iter()
                    .filter(|r| valid_around(r, now))
                    .map(|r| MapRule {
                        label: format!("{} · {}", r.name, r.window.label_nl()),
                        area: lat_lon(&r.area),
                        in_force: r.in_force_at(now),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let places = config
            .map(|c| {
                c.places
                    .iter()
                    .filter(|p| wijk.is_none_or(|w| p.wijk == w.id))
                    .map(map_place)
                    .collect()
            })
            .unwrap_or_default();
        let norms = config.map(|c| (&c.norms, c.area_rules.as_slice()));
        let located = contacts.iter().filter_map(|c| {
            let f = &c.facts;
            let (lat, lon) = f.location.lat.zip(f.location.lon)?;
            let encounter = Encounter {
                at: f.observed_at,
                point: f.location.point(),
                group: f.group,
                supervised: f.supervised,
            };
            let verdict = match norms {
                Some((n, r)) => evaluate(n, r, &encounter),
                None => evaluate(&Default::default(), &[], &encounter),
            };
            Some(MapContact {
                at: [lat, lon],
                label: format!("{} · {}", hhmm(f.observed_at), kinderen(f.group.total())),
                alert: verdict.any_past(),
                count: 1,
            })
        });
        MapData {
            basemap: config.map(|c| c.basemap_url.clone()),
            outline,
            places,
            rules,
            contacts: stacked(located),
            pin: pin.map(|(lat, lon)| [lat, lon]),
            picking,
        }
    }

    /// What the map shows, in words: for screen readers, and for a glance when the
    /// map itself is hard to read ("Delfshaven: 4 hangplekken, 3 contacten deze ronde").
    pub fn summary_nl(&self, wijk_name: &str) -> String {
        let places = match self.places.len() {
            1 => "1 hangplek".to_owned(),
            n => format!("{n} hangplekken"),
        };
        let n = self
            .contacts
            .iter()
            .fold(0u32, |n, c| n.saturating_add(c.count));
        let mut text = format!(
            "{wijk_name}: {places}, {} deze ronde op de kaart",
            contacten(n)
        );
        if self.pin.is_some() {
            text.push_str(", en de speld");
        }
        match self.rules.as_slice() {
            [] => {}
            [one] => text.push_str(&format!("; gebiedsregel: {}", one.label)),
            more => text.push_str(&format!("; {} gebiedsregels", more.len())),
        }
        text
    }
}

/// A multipolygon as Leaflet takes it: polygons of rings of `[lat, lon]`.
fn lat_lon(area: &MultiPolygon<f64>) -> Vec<Vec<Vec<LatLon>>> {
    area.0
        .iter()
        .map(|polygon| {
            std::iter::once(polygon.exterior())
                .chain(polygon.interiors())
                .map(|ring| ring.coords().map(|c| [c.y, c.x]).collect())
                .collect()
        })
        .collect()
}

/// Whether a rule is valid on today's date in Amsterdam, or on yesterday's when its
/// window runs past midnight (a 20:00–06:00 order still holds at 00:30 on its last night).
fn valid_around(rule: &AreaRule, now: Timestamp) -> bool {
    let today = local_date(now);
    let yesterday = today.yesterday().unwrap_or(today);
    rule.in_force_at(now)
        || (rule.valid_from <= today && today <= rule.valid_until)
        || (rule.window.crosses_midnight() && rule.valid_until == yesterday)
}

/// Contacts within [`STACK_METRES`] of a stack's first contact join that stack, in the
/// round's order.
fn stacked(contacts: impl Iterator<Item = MapContact>) -> Vec<MapContact> {
    let mut stacks: Vec<MapContact> = Vec::new();
    for c in contacts {
        match stacks
            .iter_mut()
            .find(|s| metres_between(s.at, c.at) <= STACK_METRES)
        {
            Some(s) => {
                s.count = s.count.saturating_add(1);
                s.alert |= c.alert;
                s.label.push_str("; ");
                s.label.push_str(&c.label);
            }
            None => stacks.push(c),
        }
    }
    stacks
}

/// The distance between two nearby points in metres (equirectangular: exact enough at
/// street scale, which is all a stack is about).
fn metres_between(a: LatLon, b: LatLon) -> f64 {
    const M_PER_DEGREE: f64 = 111_195.0;
    let dy = (a[0] - b[0]) * M_PER_DEGREE;
    let dx = (a[1] - b[1]) * M_PER_DEGREE * ((a[0] + b[0]) / 2.0).to_radians().cos();
    dx.hypot(dy)
}

fn map_place(p: &Place) -> MapPlace {
    MapPlace {
        name: p.name.clone(),
        at: [p.lat, p.lon],
    }
}

#[cfg(test)]
mod tests {
    use avondronde_shared::contact::{ContactFacts, GroupCounts, Location};
    use avondronde_shared::norms::NormSet;
    use avondronde_shared::{ContactId, GemeenteId, PlaceId, RoundId, WijkId};
    use geo::{LineString, MultiPolygon, Polygon};

    use super::*;

    fn wijk() -> Wijk {
        let square = LineString::from(vec![
            (4.43, 51.90),
            (4.46, 51.90),
            (4.46, 51.92),
            (4.43, 51.92),
            (4.43, 51.90),
        ]);
        Wijk {
            id: WijkId::new(),
            gemeente: GemeenteId::new(),
            code: "WK059903".into(),
            name: "Delfshaven".into(),
            boundary: MultiPolygon(vec![Polygon::new(square, vec![])]),
        }
    }

    fn config(w: &Wijk) -> DeviceConfig {
        let elsewhere = WijkId::new();
        DeviceConfig {
            version: 1,
            gemeente: avondronde_shared::area::Gemeente {
                id: w.gemeente,
                name: "Rotterdam".into(),
                code: "GM0599".into(),
            },
            norms: NormSet::rotterdam(),
            area_rules: vec![],
            wijken: vec![w.clone()],
            places: vec![
                Place {
                    id: PlaceId::new(),
                    wijk: w.id,
                    name: "Dakpark".into(),
                    lat: 51.907,
                    lon: 4.447,
                },
                Place {
                    id: PlaceId::new(),
                    wijk: elsewhere,
                    name: "Elders".into(),
                    lat: 52.0,
                    lon: 4.3,
                },
            ],
            meldpunt_key: None,
            meldpunt_chain: None,
            basemap_url: "https://tiles.invalid/{z}/{x}/{y}.png".into(),
            phone: Default::default(),
        }
    }

    fn contact(at: &str, location: Location, n: u16) -> StreetContact {
        StreetContact {
            id: ContactId::new(),
            round: RoundId::new(),
            facts: ContactFacts {
                observed_at: at.parse().expect("time"),
                utc_offset_s: 3600,
                location,
                group: GroupCounts::default().with(avondronde_shared::AgeBand::Age10To11, n),
                supervised: false,
                behaviours: vec![],
                actions: vec![],
                brought_home: 0,
            },
        }
    }

    /// 22:30 in Amsterdam on 20-11-2026.
    fn evening() -> Timestamp {
        "2026-11-20T21:30:00Z".parse().expect("time")
    }

    fn order(name: &str, from: &str, until: &str) -> AreaRule {
        use avondronde_shared::norms::{AreaEffect, DailyWindow};
        let square = LineString::from(vec![
            (4.440, 51.910),
            (4.446, 51.910),
            (4.446, 51.914),
            (4.440, 51.914),
            (4.440, 51.910),
        ]);
        AreaRule {
            id: avondronde_shared::AreaRuleId::new(),
            gemeente: GemeenteId::new(),
            name: name.into(),
            area: MultiPolygon(vec![Polygon::new(square, vec![])]),
            window: DailyWindow {
                start: jiff::civil::time(20, 0, 0, 0),
                end: jiff::civil::time(6, 0, 0, 0),
            },
            valid_from: from.parse().expect("date"),
            valid_until: until.parse().expect("date"),
            bands: vec![avondronde_shared::AgeBand::Age6To9],
            effect: AreaEffect::PresenceBanned,
        }
    }

    #[test]
    fn contacts_recorded_at_one_spot_are_one_stack_with_their_number_and_the_worst_colour() {
        let w = wijk();
        let c = config(&w);
        // Three contacts where the worker stood, a few metres of GPS wander apart (the
        // last one past the norm), and one 200 m further on.
        let contacts = vec![
            contact(
                "2026-11-20T20:00:00Z",
                Location::gps(51.9122, 4.4447, 10.0, 3),
                1,
            ),
            contact(
                "2026-11-20T20:05:00Z",
                Location::gps(51.91223, 4.44475, 10.0, 3),
                2,
            ),
            contact(
                "2026-11-20T21:30:00Z",
                Location::gps(51.91216, 4.44466, 10.0, 3),
                1,
            ),
            contact("2026-11-20T20:10:00Z", Location::pin(51.9140, 4.4447), 4),
        ];
        let data = MapData::build(Some(&c), Some(&w), &contacts, None, false, evening());
        assert_eq!(data.contacts.len(), 2, "{:?}", data.contacts);
        let here = &data.contacts[0];
        assert_eq!(here.count, 3);
        assert!(here.alert, "one of the three is past the norm");
        assert_eq!(
            here.label,
            "21:00 · 1 kind; 21:05 · 2 kinderen; 22:30 · 1 kind"
        );
        assert_eq!(here.at, [51.9122, 4.4447]);
        let further = &data.contacts[1];
        assert_eq!((further.count, further.alert), (1, false));
        assert_eq!(
            data.summary_nl("Delfshaven"),
            "Delfshaven: 1 hangplek, 4 contacten deze ronde op de kaart",
            "the summary counts contacts, not stacks"
        );
    }

    #[test]
    fn area_rules_valid_tonight_are_drawn_with_their_name_and_window_and_expired_ones_not() {
        let w = wijk();
        let mut c = config(&w);
        c.area_rules = vec![
            order("Burgemeestersbevel Bospolder", "2026-11-01", "2027-01-31"),
            order("Bevel van vorig jaar", "2025-11-01", "2026-01-31"),
            order("Bevel dat nog moet ingaan", "2026-12-01", "2027-02-28"),
        ];
        let data = MapData::build(Some(&c), Some(&w), &[], None, false, evening());
        assert_eq!(data.rules.len(), 1, "{:?}", data.rules);
        let rule = &data.rules[0];
        assert_eq!(rule.label, "Burgemeestersbevel Bospolder · 20:00–06:00");
        assert!(rule.in_force, "22:30 is inside 20:00–06:00");
        assert_eq!(rule.area[0][0][0], [51.910, 4.440], "[lat, lon]");
        assert_eq!(rule.area[0][0].len(), 5);
        assert_eq!(
            data.summary_nl("Delfshaven"),
            "Delfshaven: 1 hangplek, 0 contacten deze ronde op de kaart; gebiedsregel: Burgemeestersbevel Bospolder · 20:00–06:00"
        );
        // In the afternoon the rule is valid but not in force: still drawn, paler.
        let afternoon: Timestamp = "2026-11-20T14:00:00Z".parse().expect("time");
        let data = MapData::build(Some(&c), Some(&w), &[], None, false, afternoon);
        assert_eq!(data.rules.len(), 1);
        assert!(!data.rules[0].in_force);
        // 00:30 after its last evening: the order still holds until 06:00.
        c.area_rules = vec![order("Laatste nacht", "2026-11-01", "2026-11-20")];
        let night: Timestamp = "2026-11-20T23:30:00Z".parse().expect("time");
        let data = MapData::build(Some(&c), Some(&w), &[], None, false, night);
        assert_eq!(data.rules.len(), 1);
        assert!(data.rules[0].in_force);
        let json = serde_json::to_value(&data).expect("json");
        assert_eq!(json["rules"][0]["label"], "Laatste nacht · 20:00–06:00");
    }

    #[test]
    fn the_map_draws_the_outline_the_wijks_places_and_located_contacts_from_local_data() {
        let w = wijk();
        let c = config(&w);
        let contacts = vec![
            // 22:30 in Amsterdam: three 10–11-year-olds past their 22:00 norm.
            contact(
                "2026-11-20T21:30:00Z",
                Location::gps(51.91, 4.44, 10.0, 3),
                3,
            ),
            // 21:00: within the norm, a pin.
            contact("2026-11-20T20:00:00Z", Location::pin(51.905, 4.45), 1),
            // No location: nothing to draw.
            contact("2026-11-20T20:10:00Z", Location::none(), 2),
        ];
        let data = MapData::build(
            Some(&c),
            Some(&w),
            &contacts,
            Some((51.9, 4.44)),
            true,
            evening(),
        );
        assert_eq!(data.outline.len(), 1);
        assert_eq!(
            data.outline[0][0][0],
            [51.90, 4.43],
            "[lat, lon], as Leaflet takes it"
        );
        assert_eq!(data.outline[0][0].len(), 5);
        assert_eq!(
            data.places,
            vec![MapPlace {
                name: "Dakpark".into(),
                at: [51.907, 4.447]
            }],
            "only the round's wijk's places"
        );
        assert_eq!(data.contacts.len(), 2);
        assert_eq!(data.contacts[0].label, "22:30 · 3 kinderen");
        assert!(data.contacts[0].alert);
        assert_eq!(data.contacts[1].label, "21:00 · 1 kind");
        assert!(!data.contacts[1].alert);
        assert_eq!(data.pin, Some([51.9, 4.44]));
        assert_eq!(
            data.basemap.as_deref(),
            Some("https://tiles.invalid/{z}/{x}/{y}.png")
        );
        assert_eq!(
            data.summary_nl("Delfshaven"),
            "Delfshaven: 1 hangplek, 2 contacten deze ronde op de kaart, en de speld"
        );
        let json = serde_json::to_value(&data).expect("json");
        assert_eq!(json["picking"], true);
        assert_eq!(json["contacts"][0]["at"], serde_json::json!([51.91, 4.44]));
    }

    #[test]
    fn without_a_configuration_the_map_still_shows_the_rounds_contacts() {
        let contacts = vec![contact(
            "2026-11-20T20:00:00Z",
            Location::pin(51.905, 4.45),
            2,
        )];
        let data = MapData::build(None, None, &contacts, None, false, evening());
        assert!(data.outline.is_empty() && data.places.is_empty());
        assert_eq!(data.basemap, None);
        assert_eq!(data.contacts.len(), 1);
        assert_eq!(
            data.summary_nl("?"),
            "?: 0 hangplekken, 1 contact deze ronde op de kaart"
        );
    }
}
