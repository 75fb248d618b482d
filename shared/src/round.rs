//! The round (avondronde): one or two field workers on an evening shift in one wijk.
//! Contacts hang off a round, so "what happened on this round" and "is everything sent"
//! are simple questions.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{RoundId, WijkId};

/// A round as recorded on the device. Who walked it is known to the server from the
/// device's enrolment, so it is not sent again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Id, made on the device.
    pub id: RoundId,
    /// The wijk walked.
    pub wijk: WijkId,
    /// The colleague on the round, if any (a colleague's name, never a child's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
}

/// The end of a round. It is its own outbox item (keyed by the round id) so that a round
/// is never overwritten: starting and ending are two facts, each sent exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundEnd {
    /// The round that ended.
    pub round: RoundId,
    /// When it ended.
    pub ended_at: Timestamp,
}
