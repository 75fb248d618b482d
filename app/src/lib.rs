//! Avondronde's field app: record a street contact in a few taps, offline, with the
//! buitenspeelnorm verdict and the care form.
//!
//! The crate is split so that almost everything can be tested without a window:
//! - [`store`]: the encrypted local store (SQLCipher) with its outbox;
//! - [`sync`] and [`client`]: the sync engine that carries out the pure plan in
//!   [`avondronde_shared::sync`] over HTTP;
//! - [`state`]: the record flow as a plain-Rust state machine;
//! - [`suggest`]: "Zelfde als vorige", suggestions and the nearest hangplek;
//! - [`map`]: what the map screen draws, from the configuration and the store only;
//! - [`care`]: care-form drafts and sealing them for the meldpunt;
//! - [`keeping`]: what the phone keeps and for how long; [`pin`]: the app PIN lock;
//! - [`qr`]: reading the enrolment QR code from camera or photo pixels;
//! - [`platform`]: the small named seams to the phone (secrets, data dir, location);
//! - [`services`]: what the components share (store, sync handle, clock);
//! - [`ui`]: thin Dioxus components over the above.

pub mod care;
pub mod client;
pub mod clock;
pub mod keeping;
pub mod map;
pub mod pin;
pub mod platform;
pub mod qr;
pub mod services;
pub mod state;
pub mod store;
pub mod suggest;
pub mod sync;
pub mod ui;
