//! What the map screen draws, as plain data: the wijk's outline, its hangplekken, this
//! round's contacts and the pin, built from the pulled configuration and the local store
//! only. Nothing here needs the network, so these layers always draw, also offline; the
//! basemap tiles are the only thing fetched, and the map works without them.
//!
//! The data goes to the map library (Leaflet, in the webview) as JSON through
//! [`dioxus::document::eval`]; see [`crate::ui`]'s map screen. Keeping the building here,
//! in plain Rust, lets tests check what is drawn without a webview.

use avondronde_shared::StreetContact;
use avondronde_shared::area::{Place, Wijk};
use avondronde_shared::norms::{Encounter, evaluate};
use avondronde_shared::sync::DeviceConfig;
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

/// A contact of this round on the map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapContact {
    /// Where it was.
    pub at: LatLon,
    /// "22:30 · 3 kinderen": the time and the group's size (no identity, as always).
    pub label: String,
    /// Whether a child was past the buitenspeelnorm (drawn in the alert colour).
    pub alert: bool,
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
    /// This round's contacts that have a location.
    pub contacts: Vec<MapContact>,
    /// The pin of the contact being recorded, if one was dropped.
    pub pin: Option<LatLon>,
    /// Whether a tap on the map drops the pin (the record screen's "Op de kaart").
    pub picking: bool,
}

impl MapData {
    /// What to draw for the round in `wijk`: its outline and places from `config`, the
    /// round's `contacts` (those with a location), and the pin.
    pub fn build(
        config: Option<&DeviceConfig>,
        wijk: Option<&Wijk>,
        contacts: &[StreetContact],
        pin: Option<(f64, f64)>,
        picking: bool,
    ) -> MapData {
        let outline = wijk
            .map(|w| {
                w.boundary
                    .0
                    .iter()
                    .map(|polygon| {
                        std::iter::once(polygon.exterior())
                            .chain(polygon.interiors())
                            .map(|ring| ring.coords().map(|c| [c.y, c.x]).collect())
                            .collect()
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
        let contacts = contacts
            .iter()
            .filter_map(|c| {
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
                })
            })
            .collect();
        MapData {
            basemap: config.map(|c| c.basemap_url.clone()),
            outline,
            places,
            contacts,
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
        let mut text = format!(
            "{wijk_name}: {places}, {} deze ronde op de kaart",
            contacten(u32::try_from(self.contacts.len()).unwrap_or(u32::MAX))
        );
        if self.pin.is_some() {
            text.push_str(", en de speld");
        }
        text
    }
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
        let data = MapData::build(Some(&c), Some(&w), &contacts, Some((51.9, 4.44)), true);
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
        let data = MapData::build(None, None, &contacts, None, false);
        assert!(data.outline.is_empty() && data.places.is_empty());
        assert_eq!(data.basemap, None);
        assert_eq!(data.contacts.len(), 1);
        assert_eq!(
            data.summary_nl("?"),
            "?: 0 hangplekken, 1 contact deze ronde op de kaart"
        );
    }
}
