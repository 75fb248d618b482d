//! The app's notion of "now": the system clock, or a fixed instant for tests and demos.
//!
//! Nothing orders records by this clock (the outbox uses a local counter and the server
//! hands out sequence numbers); it only stamps when things were observed and drives the
//! live norm verdict, which is why a browser test can pin it to 22:30.

use jiff::Timestamp;

/// Where the current time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The device's clock.
    #[default]
    System,
    /// A fixed instant that advances with real elapsed time from when it was set, so a
    /// test sees a stable evening that still moves forward.
    Fixed {
        /// The instant the clock showed when it was created.
        at: Timestamp,
        /// The real instant at creation.
        since: Timestamp,
    },
}

impl Clock {
    /// A clock that starts at `at` and runs on from there.
    pub fn fixed(at: Timestamp) -> Clock {
        Clock::Fixed {
            at,
            since: Timestamp::now(),
        }
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Fixed { at, since } => at
                .checked_add(Timestamp::now().duration_since(*since))
                .unwrap_or(*at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_starts_at_its_instant_and_moves_forward() {
        let at: Timestamp = "2026-11-20T21:30:00Z".parse().expect("ts");
        let clock = Clock::fixed(at);
        let now = clock.now();
        assert!(now >= at);
        assert!(now.duration_since(at).as_secs() < 5);
    }
}
