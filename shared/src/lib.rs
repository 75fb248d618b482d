//! Avondronde's shared core: the domain model, the buitenspeelnorm engine, the sync
//! protocol and the pure planning code that the field app and the sync server both use.
//!
//! Nothing here does I/O. Every rule that decides something (is this group out past its
//! norm, what does the outbox send next, is this cell a hotspot) is a function of data, so
//! it can be tested with case tables and runs the same on a phone and on the server.

pub mod area;
pub mod care;
pub mod contact;
pub mod disclosure;
pub mod enrolment;
pub mod hotspot;
pub mod ids;
pub mod keychain;
pub mod norms;
pub mod role;
pub mod round;
pub mod sync;
pub mod time;
pub mod trend;
pub mod validate;
mod wire_enum;

pub use contact::{
    Action, AgeBand, Behaviour, ContactFacts, GroupCounts, Location, LocationSource, StreetContact,
};
pub use ids::*;
pub use role::Role;
