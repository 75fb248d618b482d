//! Outbox items for tests and the benchmark: rounds and street contacts that pass the
//! server's validation, made deterministically from an index so runs are repeatable.
//!
//! Values are what a well-behaved field app sends: timestamps in whole seconds (the server
//! stores seconds) and coordinates at five decimals (about a metre, well within a phone's
//! GPS accuracy).

use avondronde_shared::contact::{Action, Behaviour, ContactFacts, GroupCounts, Location};
use avondronde_shared::round::Round;
use avondronde_shared::sync::{PROTOCOL_VERSION, Payload, PushItem, PushRequest};
use avondronde_shared::{AgeBand, ContactId, RoundId, StreetContact, WijkId};
use jiff::Timestamp;

/// `at` without its sub-second part.
pub fn whole_seconds(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}

/// A round in `wijk`, started at `started_at`.
pub fn round(wijk: WijkId, started_at: Timestamp) -> Round {
    Round {
        id: RoundId::new(),
        wijk,
        partner: None,
        started_at: whole_seconds(started_at),
    }
}

/// SplitMix64: a tiny deterministic mixer, so fixtures need no RNG dependency.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The facts of the `i`-th contact: a group of one to six children of varied ages about
/// `near` (lat, lon), observed at `at`.
pub fn facts(at: Timestamp, near: (f64, f64), i: u64) -> ContactFacts {
    let r = mix(i);
    let bits = |shift: u32, modulo: u64| ((r >> shift) % modulo) as u16;
    let group = GroupCounts::default()
        .with(AgeBand::Age6To9, bits(0, 3))
        .with(AgeBand::Age10To11, 1 + bits(4, 2))
        .with(AgeBand::Age12To13, bits(8, 3));
    // Within about 300 m of `near`, rounded to five decimals.
    let offset = |shift: u32| (((r >> shift) % 600) as f64 - 300.0) / 100_000.0;
    let round5 = |v: f64| (v * 100_000.0).round() / 100_000.0;
    let at = whole_seconds(at);
    let utc_offset_s = at
        .to_zoned(avondronde_shared::time::amsterdam())
        .offset()
        .seconds();
    let mut behaviours = vec![Behaviour::HangingAround];
    if r >> 20 & 3 == 0 {
        behaviours.push(Behaviour::Nuisance);
    }
    ContactFacts {
        observed_at: at,
        utc_offset_s,
        location: Location::gps(
            round5(near.0 + offset(24)),
            round5(near.1 + offset(36)),
            (5 + (r >> 48) % 30) as f32,
            ((r >> 56) % 30) as u32,
        ),
        group,
        supervised: false,
        behaviours,
        actions: vec![Action::Spoken],
        brought_home: 0,
    }
}

/// The `i`-th contact of `round`, observed at `at` near `near` (lat, lon).
pub fn contact(round: RoundId, at: Timestamp, near: (f64, f64), i: u64) -> StreetContact {
    StreetContact {
        id: ContactId::new(),
        round,
        facts: facts(at, near, i),
    }
}

/// `n` contacts of `round`, a minute apart, the last one a minute before `end`.
pub fn contacts(round: RoundId, end: Timestamp, near: (f64, f64), n: u64) -> Vec<Payload> {
    (0..n)
        .map(|i| {
            let minutes_before = i64::try_from(n - i).unwrap_or(i64::MAX);
            let at = end
                .checked_sub(jiff::SignedDuration::from_mins(minutes_before))
                .unwrap_or(end);
            Payload::Contact(contact(round, at, near, i))
        })
        .collect()
}

/// Wraps payloads as push items.
///
/// # Panics
/// Never for the payload types of this crate (they always serialise).
pub fn items(payloads: &[Payload]) -> Vec<PushItem> {
    payloads
        .iter()
        .map(|p| PushItem::from_payload(p).expect("payloads serialise"))
        .collect()
}

/// A push request of `payloads`, sent at `device_time` by the device's clock.
pub fn push_request(device_time: Timestamp, payloads: &[Payload]) -> PushRequest {
    PushRequest {
        protocol: PROTOCOL_VERSION,
        device_time,
        items: items(payloads),
    }
}
