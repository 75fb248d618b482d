//! Care forms for the demo: a meldpunt key with a fresh passphrase, and realistic but fake
//! zorgformulieren for the most recent brought-home contacts of the demo's field devices,
//! sealed to that key and pushed through the real ingest path, then handled by the demo
//! meldpunt so the inbox shows every status: new, overdue, visit planned, known to care,
//! closed. One child is reported twice, with the name spelt differently, to show a match.
//!
//! Names, birth dates and addresses come from a fixed seed; they are made up (common
//! Dutch first names and surnames, real street names of the demo wijken, invented house
//! numbers and postcodes).

use std::sync::Arc;

use age::secrecy::SecretString;
use avondronde_shared::care::{
    Birth, CareFormContent, CareFormEnvelope, CareStatus, ParentsReaction, Reception, Signal,
};
use avondronde_shared::sync::{Payload, PushItem};
use avondronde_shared::{AgeBand, CareFormId, ContactId, DeviceId, GemeenteId};
use jiff::{SignedDuration, Timestamp, ToSpan};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::inbox::{self, Handling, KnownTo};
use super::keys;
use crate::audit::{self, Action, Actor, Event};
use crate::auth::Device;
use crate::db::{DbError, now_ms};
use crate::ingest::{self, PushContext};
use crate::setup::SetupError;
use crate::state::AppState;
use crate::store::{self, Tx};

/// How many forms the demo makes at most.
const FORMS: usize = 22;

const FIRST_NAMES: &[&str] = &[
    "Daan", "Sem", "Noah", "Lucas", "Mohammed", "Adam", "Finn", "Milan", "Bilal", "Liam", "Jayden",
    "Mees", "Emma", "Julia", "Sara", "Fenna", "Noor", "Aya", "Zoë", "Amira", "Lina", "Ilse",
    "Nina", "Hiba", "Sophie", "Tess", "Yara", "Esmee",
];
const SURNAMES: &[&str] = &[
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "Yilmaz",
    "Kaya",
    "Bouzid",
    "Tahiri",
    "Pinas",
    "van Dijk",
    "Koster",
    "Öztürk",
    "Haddou",
    "Martina",
    "Brouwer",
    "van der Linden",
    "Benali",
    "Doğan",
];
const STREETS_DELFSHAVEN: &[&str] = &[
    "Schiedamseweg",
    "Mathenesserweg",
    "Bellamystraat",
    "Grote Visserijstraat",
    "Spanjaardstraat",
    "Bilderdijkstraat",
    "Taborstraat",
    "Watergeusstraat",
    "Hooidrift",
    "Gijsingstraat",
    "Schoonderloostraat",
    "Duyvesteynstraat",
];
const STREETS_OVERSCHIE: &[&str] = &[
    "Overschiese Dorpsstraat",
    "Burgemeester Baumannlaan",
    "Abtsweg",
    "Zestienhovensekade",
    "Hoofdweg",
    "Rijksstraatweg",
    "Delftweg",
    "Kleine Achterweg",
];
const NARRATIVES: &[&str] = &[
    "Kind alleen aangetroffen op het plein, zei dat er niemand thuis was. Thuisgebracht; moeder kwam pas later thuis van haar werk.",
    "Zat bij een groep oudere jongens bij de hangplek. Vader was boos op het kind en wilde ons niet binnenlaten.",
    "Kind gaf aan liever niet naar huis te gaan. Er was geen volwassene thuis tot kwart over tien; oudere zus paste op.",
    "Tweede keer deze maand laat buiten gezien. Ouders reageerden bezorgd en vroegen om hulp bij de avondregels.",
    "Kind had geen jas aan en zei honger te hebben. Woning maakte een rommelige indruk.",
    "Moeder was verrast dat het kind nog buiten was; dacht dat het bij een vriendje speelde.",
    "Ouders spraken weinig Nederlands; een buurvrouw hielp met vertalen. Jongere broertjes waren nog wakker.",
];
const MESSAGES_PLANNED: &[&str] = &[
    "Huisbezoek gepland. We laten weten hoe het ging.",
    "Gezin is gebeld; huisbezoek staat deze week gepland.",
];
const MESSAGES_CLOSED: &[&str] = &[
    "Afgerond: gezin is in beeld bij het wijkteam. Dank voor je melding!",
    "Huisbezoek geweest, afspraken gemaakt met de ouders. Dank voor je melding.",
];
const MESSAGES_KNOWN: &[&str] = &["Gezin is al bekend bij de hulpverlening; melding is doorgezet."];

/// Makes the demo gemeente's meldpunt key under `passphrase`, recorded in its audit log.
pub fn create_key(tx: &Tx, gemeente: GemeenteId, passphrase: &str) -> Result<(), SetupError> {
    let now = now_ms();
    // The demo's history (and the field app's pinned demo clock) lies weeks back: the key
    // is made, and its signed validity starts, before the oldest demo record.
    let made = now - 90 * 86_400_000;
    let key = keys::create(
        tx,
        gemeente,
        &SecretString::from(passphrase.to_owned()),
        made,
    )
    .map_err(|e| SetupError::Input(e.to_string()))?;
    audit::record(
        tx,
        &Event {
            gemeente,
            actor: &Actor::system(),
            action: Action::KeyCreate,
            form: None,
            address: None,
            detail: format!("sleutel {} (demo)", key.id.0),
        },
        now,
    )?;
    Ok(())
}

struct Candidate {
    contact: ContactId,
    device: DeviceId,
    observed_at: Timestamp,
    band: AgeBand,
    overschie: bool,
}

fn candidates(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<Candidate>, DbError> {
    Ok(store::care_forms::demo_brought_home(tx, gemeente)?
        .into_iter()
        .map(|c| {
            let (n05, n69, n1011) = c.counts;
            let band = if n1011 > 0 {
                AgeBand::Age10To11
            } else if n69 > 0 {
                AgeBand::Age6To9
            } else if n05 > 0 {
                AgeBand::Under6
            } else {
                AgeBand::Age10To11
            };
            Candidate {
                contact: c.id,
                device: c.device,
                observed_at: Timestamp::from_second(c.observed_at).unwrap_or(Timestamp::UNIX_EPOCH),
                band,
                overschie: c.wijk_code.as_deref() == Some("WK059904"),
            }
        })
        .collect())
}

fn birth_date(rng: &mut ChaCha8Rng, band: AgeBand, on: Timestamp) -> Birth {
    let (lo, hi) = match band {
        AgeBand::Under6 => (3, 5),
        AgeBand::Age6To9 => (6, 9),
        _ => (10, 11),
    };
    let age: i64 = rng.random_range(lo..=hi);
    let extra_days: i64 = rng.random_range(10..350);
    let date = on
        .to_zoned(avondronde_shared::time::amsterdam())
        .date()
        .checked_sub(age.years())
        .and_then(|d| d.checked_sub(extra_days.days()))
        .unwrap_or_else(|_| jiff::civil::date(2016, 1, 1));
    if rng.random::<f64>() < 0.1 {
        Birth::EstimatedAge(age as u8)
    } else {
        Birth::Date(date)
    }
}

fn address(rng: &mut ChaCha8Rng, overschie: bool) -> String {
    let (streets, pc) = if overschie {
        (STREETS_OVERSCHIE, 3042..=3046)
    } else {
        (STREETS_DELFSHAVEN, 3021..=3029)
    };
    let street = streets.choose(rng).copied().unwrap_or("Schiedamseweg");
    let letters = b"ABCDEGHJKLMNPRSTVWXZ";
    let pick = |rng: &mut ChaCha8Rng| letters[rng.random_range(0..letters.len())] as char;
    let suffix = match rng.random_range(0..4) {
        0 => "A",
        1 => "B",
        2 => "-III",
        _ => "",
    };
    format!(
        "{street} {}{suffix}, {} {}{} Rotterdam",
        rng.random_range(2..240),
        rng.random_range(pc),
        pick(rng),
        pick(rng)
    )
}

fn content(rng: &mut ChaCha8Rng, c: &Candidate, name: String, birth: Birth) -> CareFormContent {
    let mut signals = Vec::new();
    for (s, p) in [
        (Signal::NoSupervision, 0.35),
        (Signal::Repeated, 0.3),
        (Signal::Neglect, 0.12),
        (Signal::AfraidAtHome, 0.08),
        (Signal::Housing, 0.1),
        (Signal::Violence, 0.04),
        (Signal::Substance, 0.05),
    ] {
        if rng.random::<f64>() < p {
            signals.push(s);
        }
    }
    let reception = [
        Reception::Warm,
        Reception::Warm,
        Reception::Indifferent,
        Reception::AngryAtChild,
        Reception::OtherAdult,
        Reception::NobodyHome,
    ]
    .choose(rng)
    .cloned()
    .unwrap_or(Reception::Warm);
    let parents_reaction = if reception == Reception::NobodyHome {
        ParentsReaction::Absent
    } else {
        [
            ParentsReaction::Cooperative,
            ParentsReaction::Worried,
            ParentsReaction::Dismissive,
            ParentsReaction::Hostile,
        ]
        .choose(rng)
        .cloned()
        .unwrap_or(ParentsReaction::Cooperative)
    };
    CareFormContent {
        child_name: name,
        birth,
        address: address(rng, c.overschie),
        parents_informed: reception != Reception::NobodyHome,
        reception,
        siblings_present: rng.random::<f64>() < 0.5,
        parents_reaction,
        signals,
        narrative: NARRATIVES
            .choose(rng)
            .copied()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The demo meldpunt's handling of a form received `hours` ago (the `i`-th most recent).
fn handling(rng: &mut ChaCha8Rng, i: usize, received: Timestamp, hours: i64) -> Option<Handling> {
    let visit = |h: i64| Some(received + SignedDuration::from_hours(h));
    let msg = |list: &[&str], rng: &mut ChaCha8Rng| list.choose(rng).map(|m| (*m).to_owned());
    Some(match (hours, i % 4) {
        (..48, 0 | 2) => return None,
        (..48, 1) => Handling {
            status: CareStatus::InProgress,
            known_to: Some(KnownTo::Onbekend),
            visit_at: None,
            message: None,
        },
        (..48, _) => Handling {
            status: CareStatus::KnownToCare,
            known_to: Some(KnownTo::Wijkteam),
            visit_at: None,
            message: msg(MESSAGES_KNOWN, rng),
        },
        (..120, 0) => return None,
        (..120, 2) => Handling {
            status: CareStatus::InProgress,
            known_to: Some(KnownTo::Onbekend),
            visit_at: None,
            message: None,
        },
        (..120, _) => Handling {
            status: CareStatus::VisitPlanned,
            known_to: Some(KnownTo::Onbekend),
            visit_at: visit(40),
            message: msg(MESSAGES_PLANNED, rng),
        },
        (_, 0 | 1) => Handling {
            status: CareStatus::Closed,
            known_to: Some(KnownTo::Onbekend),
            visit_at: visit(30),
            message: msg(MESSAGES_CLOSED, rng),
        },
        (_, 2) => Handling {
            status: CareStatus::KnownToCare,
            known_to: Some(if rng.random::<bool>() {
                KnownTo::Bjz
            } else {
                KnownTo::VeiligThuis
            }),
            visit_at: None,
            message: msg(MESSAGES_KNOWN, rng),
        },
        _ => Handling {
            status: CareStatus::NotTakenUp,
            known_to: Some(KnownTo::Onbekend),
            visit_at: None,
            message: Some("Niet opgepakt: gezin verhuisd naar een andere gemeente.".into()),
        },
    })
}

/// Seals and pushes the demo's care forms, then lets the demo meldpunt handle the older
/// ones. Returns how many forms were made.
pub async fn seed_care_forms(
    state: &Arc<AppState>,
    gemeente: GemeenteId,
    field: &[Device],
    now: Timestamp,
) -> Result<usize, SetupError> {
    let (key, found, meldpunt) = state
        .store
        .read(gemeente, move |tx| {
            let key = store::meldpunt_keys::current(tx, gemeente)?;
            let meldpunt = store::care_forms::demo_meldpunt_user(tx, gemeente)
                .ok()
                .flatten();
            Ok((key, candidates(tx, gemeente)?, meldpunt))
        })
        .await?;
    let Some(key) = key else {
        return Ok(0);
    };
    let rules = {
        let st = state.clone();
        state
            .store
            .read(gemeente, move |tx| st.gemeente_rules(tx, gemeente))
            .await?
    };
    let mut rng = ChaCha8Rng::seed_from_u64(59_905);
    // Spread over the weeks: several forms from the last evenings, one a day that week,
    // then one a week.
    let today = now.to_zoned(avondronde_shared::time::amsterdam()).date();
    let quota = |days: i64| match days {
        ..=1 => 5,
        2 | 3 => 3,
        4..=7 => 1,
        d if d % 7 == 0 => 1,
        _ => 0,
    };
    let mut taken: std::collections::HashMap<i64, usize> = Default::default();
    let picked: Vec<&Candidate> = found
        .iter()
        .filter(|c| {
            let day = c
                .observed_at
                .to_zoned(avondronde_shared::time::amsterdam())
                .date();
            let days = (today - day).get_days().into();
            let n = taken.entry(days).or_default();
            *n += 1;
            *n <= quota(days)
        })
        .take(FORMS)
        .collect();
    // One child reported twice: a recent form and an older one, the name spelt otherwise.
    let repeat = (
        picked.iter().position(|c| c.band == AgeBand::Age10To11),
        picked.iter().rposition(|c| c.band == AgeBand::Age10To11),
    );
    let repeat_birth = now
        .to_zoned(avondronde_shared::time::amsterdam())
        .date()
        .checked_sub(10.years())
        .and_then(|d| d.checked_sub(120.days()))
        .unwrap_or_else(|_| jiff::civil::date(2016, 4, 3));
    let mut handled = Vec::new();
    for (i, c) in picked.iter().enumerate() {
        let Some(device) = field.iter().find(|d| d.id == c.device) else {
            continue;
        };
        let (name, birth) = match repeat {
            (Some(a), _) if a == i => ("Yassin el Amrani".to_owned(), Birth::Date(repeat_birth)),
            (_, Some(b)) if b == i && Some(b) != repeat.0 => {
                ("yassin El-Amrani".to_owned(), Birth::Date(repeat_birth))
            }
            _ => (
                format!(
                    "{} {}",
                    FIRST_NAMES.choose(&mut rng).copied().unwrap_or("Daan"),
                    SURNAMES.choose(&mut rng).copied().unwrap_or("Jansen")
                ),
                birth_date(&mut rng, c.band, c.observed_at),
            ),
        };
        let form = content(&mut rng, c, name, birth);
        let sealed =
            keys::seal(&form, &key.recipient).map_err(|e| SetupError::Input(e.to_string()))?;
        let created_at = c.observed_at + SignedDuration::from_mins(rng.random_range(10..40));
        let received_at =
            (created_at + SignedDuration::from_mins(rng.random_range(5..90))).min(now);
        let envelope = CareFormEnvelope {
            id: CareFormId::new(),
            contact: c.contact,
            created_at: created_at.min(now),
            age_band: c.band,
            recipient_key: key.id.clone(),
            sealed,
        };
        let id = envelope.id;
        let item = PushItem::from_payload(&Payload::CareForm(envelope))
            .map_err(|e| SetupError::Input(e.to_string()))?;
        let prepared = vec![ingest::prepare(item, now, &rules)];
        let ctx = PushContext {
            device: device.clone(),
            received_at: received_at.as_millisecond(),
            skew_ms: 0,
        };
        state
            .store
            .write(ctx.device.gemeente, move |tx| {
                ingest::commit(tx, &ctx, prepared)
            })
            .await?;
        let hours = now.duration_since(received_at).as_hours();
        if let Some(h) = handling(&mut rng, i, received_at, hours) {
            handled.push((id, h));
        }
    }
    let made = picked.len();
    if let Some((user, username)) = meldpunt {
        let actor = Actor {
            id: Some(user),
            name: username,
            role: "meldpunt".into(),
        };
        state
            .store
            .write(gemeente, move |tx| {
                for (id, h) in &handled {
                    inbox::update(tx, gemeente, *id, h, &actor, None, now_ms())?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(made)
}
