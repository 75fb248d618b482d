//! The demo wijk: one gemeente with Rotterdam's norms, two wijken in Rotterdam-West,
//! fifteen hangplekken and eight weeks of realistic evening contacts, written through the
//! same ingest path as a real phone's push.
//!
//! The data is generated from a fixed seed, so every demo shows the same map; only the
//! passwords and codes are fresh each time.

use std::collections::BTreeMap;
use std::sync::Arc;

use avondronde_shared::contact::{Action, Behaviour, ContactFacts, GroupCounts, Location};
use avondronde_shared::norms::{Encounter, NormSet, evaluate};
use avondronde_shared::round::{Round, RoundEnd};
use avondronde_shared::sync::{Payload, PushItem};
use avondronde_shared::{AgeBand, ContactId, PlaceId, Role, RoundId, StreetContact, WijkId};
use geo::{BoundingRect, Intersects, MultiPolygon, Point};
use jiff::{Timestamp, ToSpan};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use crate::auth::{self, Device, ENROLMENT_TTL_MS};
use crate::db::{DbError, now_ms};
use crate::ingest::{self, PushContext};
use crate::setup::{self, SetupError, polygon};
use crate::state::AppState;
use crate::store;

/// A web login.
#[derive(Clone, Serialize)]
pub struct Login {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// The TOTP secret (base32) for roles with a second factor: put it in an
    /// authenticator app, or compute the code from it (RFC 6238, SHA-1, 6 digits, 30 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Everything a person or a script needs to log in to the demo. Its `Debug` shows no
/// secret.
#[derive(Clone, Serialize)]
pub struct Credentials {
    /// Role code → login.
    pub web_users: BTreeMap<String, Login>,
    /// Fresh one-time enrolment codes for field phones.
    pub enrolment_codes: Vec<String>,
    /// The meldpunt key's passphrase, once the demo has a meldpunt key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meldpunt_passphrase: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("web_users", &self.web_users)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// A readable summary for the terminal.
    pub fn readable(&self) -> String {
        let mut out = String::from("Avondronde demo\n\nWeb logins:\n");
        for (role, login) in &self.web_users {
            out.push_str(&format!(
                "  {role:<12} {:<16} {}\n",
                login.username, login.password
            ));
            if let Some(t) = &login.totp_secret {
                out.push_str(&format!(
                    "  {:<12} TOTP-sleutel (authenticator-app): {t}\n",
                    ""
                ));
            }
        }
        out.push_str("\nEnrolment codes for the field app (single use, 24 hours):\n");
        for code in &self.enrolment_codes {
            out.push_str(&format!("  {code}\n"));
        }
        if let Some(p) = &self.meldpunt_passphrase {
            out.push_str(&format!("\nMeldpunt key passphrase: {p}\n"));
        }
        out
    }
}

/// Name, latitude, longitude, popularity, wijk index.
const PLACES: &[(&str, f64, f64, f64, usize)] = &[
    ("Mathenesserplein", 51.9122, 4.4447, 30.0, 0),
    ("Park 1943", 51.9183, 4.4316, 18.0, 0),
    ("Speelveld Spangen", 51.9222, 4.4362, 14.0, 0),
    ("Bospolderplein", 51.9095, 4.4402, 12.0, 0),
    ("Dakpark", 51.9065, 4.4468, 10.0, 0),
    ("Schiemond kade", 51.9043, 4.4338, 6.0, 0),
    ("Heemraadsplein", 51.9140, 4.4575, 8.0, 0),
    ("Coolhaven", 51.9072, 4.4522, 5.0, 0),
    ("Sportpark Oud-Mathenesse", 51.9150, 4.4235, 5.0, 0),
    ("Winkelcentrum Nieuwe Binnenweg", 51.9152, 4.4540, 7.0, 0),
    ("Kleinpolderplein", 51.9305, 4.4372, 9.0, 1),
    ("Park Schiehoek", 51.9381, 4.4302, 7.0, 1),
    ("Overschie Dorp", 51.9392, 4.4248, 6.0, 1),
    ("Sportpark Overschie", 51.9452, 4.4202, 4.0, 1),
    ("Winkelcentrum Overschie", 51.9362, 4.4282, 5.0, 1),
];

fn wijk_shapes() -> [(&'static str, &'static str, MultiPolygon<f64>); 2] {
    [
        (
            "WK059903",
            "Delfshaven",
            MultiPolygon(vec![polygon(&[
                (4.4150, 51.9020),
                (4.4380, 51.8995),
                (4.4620, 51.9030),
                (4.4660, 51.9125),
                (4.4610, 51.9205),
                (4.4420, 51.9268),
                (4.4200, 51.9235),
                (4.4130, 51.9120),
                (4.4150, 51.9020),
            ])]),
        ),
        (
            "WK059904",
            "Overschie",
            MultiPolygon(vec![polygon(&[
                (4.4200, 51.9235),
                (4.4420, 51.9268),
                (4.4510, 51.9380),
                (4.4420, 51.9520),
                (4.4180, 51.9560),
                (4.4030, 51.9440),
                (4.4080, 51.9300),
                (4.4200, 51.9235),
            ])]),
        ),
    ]
}

fn password(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    (0..16)
        .map(|i| {
            if i > 0 && i % 4 == 0 {
                '-'
            } else {
                ALPHABET[rng.random_range(0..ALPHABET.len())] as char
            }
        })
        .collect()
}

/// Builds the demo in an empty database, with contacts in the eight weeks before `now`.
pub async fn build(state: &Arc<AppState>, now: Timestamp) -> Result<Credentials, SetupError> {
    let mut secret_rng = ChaCha8Rng::from_os_rng();
    let logins: Vec<(Role, String, String)> = [
        (Role::Straatcoach, "coach.west"),
        (Role::Boa, "boa.west"),
        (Role::Wijkagent, "agent.west"),
        (Role::Coordinator, "coordinator"),
        (Role::Meldpunt, "meldpunt"),
        (Role::Admin, "beheer"),
    ]
    .into_iter()
    .map(|(role, name)| (role, name.to_owned(), password(&mut secret_rng)))
    .collect();
    let setup_logins = logins.clone();
    let meldpunt_passphrase = password(&mut secret_rng);
    let setup_passphrase = meldpunt_passphrase.clone();
    let (gemeente, wijken, places, field, totp) = state
        .store
        .write(crate::store::Scope::System, move |tx| {
            // Set-up goes through the set-up functions; what other modules own (wijk
            // assignment, TOTP, enrolment, the meldpunt key) through theirs.
            let run = || -> Result<_, SetupError> {
                let g = setup::create_gemeente(tx, "Rotterdam", "GM0599", &NormSet::rotterdam())?;
                let wijken: Vec<(WijkId, MultiPolygon<f64>)> = wijk_shapes()
                    .into_iter()
                    .map(|(code, name, shape)| {
                        Ok((setup::create_wijk(tx, g, code, name, &shape)?, shape))
                    })
                    .collect::<Result<_, SetupError>>()?;
                let places: Vec<(PlaceId, f64, f64, f64, usize)> = PLACES
                    .iter()
                    .map(|&(name, lat, lon, weight, w)| {
                        Ok((
                            setup::add_place(tx, wijken[w].0, name, lat, lon)?,
                            lat,
                            lon,
                            weight,
                            w,
                        ))
                    })
                    .collect::<Result<_, SetupError>>()?;
                let mut field = Vec::new();
                let mut totp = Vec::new();
                for (role, name, pw) in &setup_logins {
                    let user = setup::add_user(tx, g, name, *role, Some(pw))?;
                    if *role == Role::Coordinator {
                        // The demo coordinator sees both demo wijken (issue 9).
                        crate::hotspot::scope::assign_all_wijken(tx, user, 0)
                            .map_err(SetupError::Db)?;
                    }
                    if crate::mfa::required_for(*role) {
                        let (secret, _recovery) = crate::mfa::enrol_now(tx, user)?;
                        totp.push((*role, secret.0));
                    }
                    if role.is_field() {
                        let code = auth::issue_enrolment_code(tx, user, ENROLMENT_TTL_MS)?;
                        let (device, _token) = auth::enrol(tx, &code, "demo")?.map_err(|e| {
                            SetupError::Input(format!("demo enrolment failed: {e:?}"))
                        })?;
                        field.push(Device {
                            id: device,
                            user,
                            gemeente: g,
                            role: *role,
                        });
                    }
                }
                crate::meldpunt::demo::create_key(tx, g, &setup_passphrase)?;
                Ok((g, wijken, places, field, totp))
            };
            run().map_err(|e| DbError::Domain(e.to_string()))
        })
        .await?;

    let rules = {
        let st = state.clone();
        state
            .store
            .read(gemeente, move |tx| st.gemeente_rules(tx, gemeente))
            .await?
    };
    let mut rng = ChaCha8Rng::seed_from_u64(59_903);
    let items = generate(&mut rng, now, &wijken, &places, &field, &rules.norms);
    for (device, payloads) in items {
        for chunk in payloads.chunks(500) {
            let prepared: Vec<_> = chunk
                .iter()
                .filter_map(|p| PushItem::from_payload(p).ok())
                .map(|item| ingest::prepare(item, now, &rules))
                .collect();
            let ctx = PushContext {
                device: device.clone(),
                received_at: now_ms(),
                skew_ms: 0,
            };
            state
                .store
                .write(ctx.device.gemeente, move |tx| {
                    ingest::commit(tx, &ctx, prepared)
                })
                .await?;
        }
    }

    crate::meldpunt::demo::seed_care_forms(state, gemeente, &field, now).await?;

    let codes = {
        let field_users: Vec<_> = field.iter().map(|d| d.user).collect();
        // The care forms arrived, as the story goes, over the past weeks, and each marked
        // its phone as seen then; but the phones sent their contacts just now, which is
        // when the admin's list of phones should say they were last seen (not weeks
        // before they were enrolled).
        let seen: Vec<store::sync::Seen> = field
            .iter()
            .map(|d| store::sync::Seen {
                device: d.id,
                at_ms: now_ms(),
                skew_ms: 0,
            })
            .collect();
        state
            .store
            .write(gemeente, move |tx| {
                store::sync::record_seen_all(tx, &seen)?;
                field_users
                    .iter()
                    .map(|u| auth::issue_enrolment_code(tx, *u, ENROLMENT_TTL_MS))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?
    };
    Ok(Credentials {
        web_users: logins
            .into_iter()
            .map(|(role, username, password)| {
                let totp_secret = totp
                    .iter()
                    .find(|(r, _)| *r == role)
                    .map(|(_, s)| s.clone());
                (
                    role.code().to_owned(),
                    Login {
                        username,
                        password,
                        totp_secret,
                    },
                )
            })
            .collect(),
        enrolment_codes: codes,
        meldpunt_passphrase: Some(meldpunt_passphrase),
    })
}

type PlaceRow = (PlaceId, f64, f64, f64, usize);

/// Generates rounds and contacts per field device.
fn generate(
    rng: &mut ChaCha8Rng,
    now: Timestamp,
    wijken: &[(WijkId, MultiPolygon<f64>)],
    places: &[PlaceRow],
    field: &[Device],
    norms: &NormSet,
) -> Vec<(Device, Vec<Payload>)> {
    let tz = avondronde_shared::time::amsterdam();
    let today = now.to_zoned(tz.clone()).date();
    // Four weeks ago the gemeente put extra youth work at the busiest place: the demo shows
    // fewer contacts there afterwards, for the before/after view.
    let intervention = today.saturating_sub(28.days());
    let jitter = Normal::new(0.0, 0.0007)
        .unwrap_or_else(|_| Normal::new(0.0, 1.0).expect("standard normal"));
    let mut out = Vec::new();
    for (di, device) in field.iter().enumerate() {
        let mut payloads = Vec::new();
        for day in 1..=56i64 {
            let date = today.saturating_sub(day.days());
            // Not every worker is out every evening.
            if rng.random::<f64>() < 0.25 {
                continue;
            }
            let wi = if rng.random::<f64>() < 0.7 { 0 } else { 1 };
            let round_start = date
                .at(19, 0, 0, 0)
                .to_zoned(tz.clone())
                .map(|z| z.timestamp())
                .unwrap_or(now);
            let round = RoundId::new();
            payloads.push(Payload::Round(Round {
                id: round,
                wijk: wijken[wi].0,
                partner: None,
                started_at: round_start,
            }));
            let n = 38 + rng.random_range(0..18) + di;
            let mut last = round_start;
            for _ in 0..n {
                let minutes: i64 = match rng.random::<f64>() {
                    x if x < 0.06 => rng.random_range(-150..0), // late afternoon
                    x if x < 0.85 => rng.random_range(0..300),  // 19:00–24:00
                    _ => rng.random_range(300..390),            // after midnight
                };
                let at = round_start
                    .checked_add(jiff::SignedDuration::from_mins(minutes))
                    .unwrap_or(round_start);
                last = last.max(at);
                let local_places: Vec<&PlaceRow> = places.iter().filter(|p| p.4 == wi).collect();
                let (lat, lon, place) = if rng.random::<f64>() < 0.8 {
                    let total: f64 = local_places
                        .iter()
                        .map(|p| weight(p, date >= intervention))
                        .sum();
                    let mut pick = rng.random::<f64>() * total;
                    let mut chosen = local_places[0];
                    for p in &local_places {
                        pick -= weight(p, date >= intervention);
                        if pick <= 0.0 {
                            chosen = p;
                            break;
                        }
                    }
                    (
                        chosen.1 + jitter.sample(rng) * 0.6,
                        chosen.2 + jitter.sample(rng),
                        Some(chosen.0),
                    )
                } else {
                    random_point(rng, &wijken[wi].1)
                };
                let facts = contact_facts(rng, at, lat, lon, place, norms);
                payloads.push(Payload::Contact(StreetContact {
                    id: ContactId::new(),
                    round,
                    facts,
                }));
            }
            payloads.push(Payload::RoundEnd(RoundEnd {
                round,
                ended_at: last
                    .checked_add(jiff::SignedDuration::from_mins(10))
                    .unwrap_or(last),
            }));
        }
        out.push((device.clone(), payloads));
    }
    out
}

fn weight(p: &PlaceRow, after_intervention: bool) -> f64 {
    if after_intervention && p.3 >= 30.0 {
        p.3 * 0.35
    } else {
        p.3
    }
}

fn random_point(rng: &mut ChaCha8Rng, shape: &MultiPolygon<f64>) -> (f64, f64, Option<PlaceId>) {
    let Some(rect) = shape.bounding_rect() else {
        return (51.91, 4.44, None);
    };
    for _ in 0..100 {
        let lon = rect.min().x + rng.random::<f64>() * rect.width();
        let lat = rect.min().y + rng.random::<f64>() * rect.height();
        if shape.intersects(&Point::new(lon, lat)) {
            return (lat, lon, None);
        }
    }
    (rect.center().y, rect.center().x, None)
}

fn contact_facts(
    rng: &mut ChaCha8Rng,
    at: Timestamp,
    lat: f64,
    lon: f64,
    place: Option<PlaceId>,
    norms: &NormSet,
) -> ContactFacts {
    let mut group = GroupCounts::default();
    let size = 1 + rng.random_range(0..5) + usize::from(rng.random::<f64>() < 0.2) * 3;
    for _ in 0..size {
        let band = match rng.random::<f64>() {
            x if x < 0.05 => AgeBand::Under6,
            x if x < 0.25 => AgeBand::Age6To9,
            x if x < 0.55 => AgeBand::Age10To11,
            x if x < 0.85 => AgeBand::Age12To13,
            _ => AgeBand::Age14Plus,
        };
        *group.get_mut(band) += 1;
    }
    let supervised = rng.random::<f64>() < 0.08;
    let mut behaviours = vec![Behaviour::HangingAround];
    for (b, p) in [
        (Behaviour::Nuisance, 0.25),
        (Behaviour::Vandalism, 0.05),
        (Behaviour::Fireworks, 0.06),
        (Behaviour::Theft, 0.02),
        (Behaviour::Unsafe, 0.03),
    ] {
        if rng.random::<f64>() < p {
            behaviours.push(b);
        }
    }
    let location = match place {
        Some(p) if rng.random::<f64>() < 0.3 => Location::place(p, lat, lon),
        _ => Location::gps(
            lat,
            lon,
            5.0 + rng.random::<f32>() * 30.0,
            rng.random_range(0..30),
        ),
    };
    let verdict = evaluate(
        norms,
        &[],
        &Encounter {
            at,
            point: None,
            group,
            supervised,
        },
    );
    let mut actions = vec![Action::Spoken];
    let mut brought_home = 0;
    if verdict.any_past() {
        let young: u16 = [AgeBand::Under6, AgeBand::Age6To9, AgeBand::Age10To11]
            .iter()
            .map(|b| group.get(*b))
            .sum();
        if young > 0 && rng.random::<f64>() < 0.35 {
            brought_home = young.min(2);
            actions.push(Action::BroughtHome);
            actions.push(Action::ParentsSpoken);
        } else {
            actions.push(Action::SentHome);
        }
    }
    if behaviours.contains(&Behaviour::Vandalism) && rng.random::<f64>() < 0.5 {
        actions.push(Action::Referred);
    }
    ContactFacts {
        observed_at: at,
        utc_offset_s: at
            .to_zoned(avondronde_shared::time::amsterdam())
            .offset()
            .seconds(),
        location,
        group,
        supervised,
        behaviours,
        actions,
        brought_home,
    }
}
