//! The app PIN lock (issue 10, item 5), as plain Rust with the app's clock.
//!
//! The PIN gates the screens; it is not the store key (the platform keystore guards that).
//! After enrolment the worker sets a PIN of 4 to 8 digits; only its Argon2 hash is stored.
//! When the app has been in the background (on desktop and in the browser: the page was
//! hidden) for the gemeente's number of minutes, it asks for the PIN before any screen
//! with data. Ten wrong PINs in a row wipe the phone, exactly as a revocation does; a right
//! PIN resets the count. The count lives in the store, so restarting the app does not
//! reset it.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::{SignedDuration, Timestamp};

/// Wrong PINs in a row that wipe the phone.
pub const MAX_FAILURES: u32 = 10;
/// The shortest PIN.
pub const MIN_DIGITS: usize = 4;
/// The longest PIN.
pub const MAX_DIGITS: usize = 8;

/// Checks a new PIN: 4 to 8 digits (the reason in Dutch).
pub fn check_new_pin(pin: &str, again: &str) -> Result<(), &'static str> {
    if pin.len() < MIN_DIGITS || pin.len() > MAX_DIGITS || !pin.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("Een pincode is 4 tot 8 cijfers.");
    }
    if pin != again {
        return Err("De twee pincodes zijn niet gelijk.");
    }
    Ok(())
}

/// The Argon2id hash of a PIN, as a PHC string with a fresh salt.
pub fn hash_pin(pin: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| format!("pincode vastleggen: {e}"))?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("pincode vastleggen: {e}"))
}

/// Whether `pin` matches the stored hash (a damaged hash matches nothing).
pub fn verify_pin(pin: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok()
    })
}

/// What a PIN attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Right: unlocked, the count is back to 0.
    Unlocked,
    /// Wrong, with this many attempts left before the wipe.
    Wrong {
        /// Attempts left.
        left: u32,
    },
    /// The tenth wrong PIN in a row: wipe the phone.
    Wipe,
}

/// The outcome of an attempt and the new failure count, given the count before it.
pub fn attempt(right: bool, failures_before: u32) -> (Attempt, u32) {
    if right {
        return (Attempt::Unlocked, 0);
    }
    let failures = failures_before.saturating_add(1);
    if failures >= MAX_FAILURES {
        (Attempt::Wipe, failures)
    } else {
        (
            Attempt::Wrong {
                left: MAX_FAILURES - failures,
            },
            failures,
        )
    }
}

impl Attempt {
    /// What the lock screen says after a wrong PIN (Dutch).
    pub fn message_nl(&self) -> Option<String> {
        match self {
            Attempt::Unlocked => None,
            Attempt::Wrong { left: 1 } => Some(
                "Onjuiste pincode. Nog 1 poging; daarna worden alle gegevens gewist.".to_owned(),
            ),
            Attempt::Wrong { left } => Some(format!("Onjuiste pincode. Nog {left} pogingen.")),
            Attempt::Wipe => Some(WIPED_MESSAGE.to_owned()),
        }
    }
}

/// The one line on the enrol screen after a wipe by wrong PINs.
pub const WIPED_MESSAGE: &str =
    "Tien keer een onjuiste pincode: alle gegevens op dit toestel zijn gewist.";

/// When the app must ask for the PIN: it tracks when the app went to the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockTimer {
    hidden_at: Option<Timestamp>,
    locked: bool,
}

impl LockTimer {
    /// A timer for an app that just started: locked when a PIN is set (a cold start is
    /// the longest background of all).
    pub fn new(pin_set: bool) -> LockTimer {
        LockTimer {
            hidden_at: None,
            locked: pin_set,
        }
    }

    /// The app went to the background (the page or window was hidden).
    pub fn hidden(&mut self, now: Timestamp) {
        if self.hidden_at.is_none() {
            self.hidden_at = Some(now);
        }
    }

    /// The app came back at `now`; locks when it was away `lock_after_minutes` or longer.
    /// Returns whether it is locked now.
    pub fn shown(&mut self, now: Timestamp, lock_after_minutes: u16) -> bool {
        if let Some(at) = self.hidden_at.take() {
            let away = now.duration_since(at);
            if away >= SignedDuration::from_mins(i64::from(lock_after_minutes)) {
                self.locked = true;
            }
        }
        self.locked
    }

    /// Whether the screens with data are hidden behind the PIN.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// The right PIN was entered.
    pub fn unlock(&mut self) {
        self.locked = false;
        self.hidden_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    #[test]
    fn a_pin_is_four_to_eight_digits_typed_twice_the_same() {
        assert!(check_new_pin("1234", "1234").is_ok());
        assert!(check_new_pin("12345678", "12345678").is_ok());
        assert!(check_new_pin("123", "123").is_err());
        assert!(check_new_pin("123456789", "123456789").is_err());
        assert!(check_new_pin("12a4", "12a4").is_err());
        assert!(check_new_pin("١٢٣٤", "١٢٣٤").is_err(), "ASCII digits only");
        assert_eq!(
            check_new_pin("1234", "1235"),
            Err("De twee pincodes zijn niet gelijk.")
        );
    }

    #[test]
    fn the_hash_verifies_the_pin_and_nothing_else_and_does_not_contain_it() {
        let phc = hash_pin("4711").expect("hash");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("4711"));
        assert!(verify_pin("4711", &phc));
        assert!(!verify_pin("4712", &phc));
        assert!(!verify_pin("4711", "not a hash"));
        assert_ne!(hash_pin("4711").expect("hash"), phc, "salted");
    }

    #[test]
    fn ten_wrong_pins_in_a_row_wipe_and_a_right_one_resets_the_count() {
        let mut failures = 0;
        for n in 1..MAX_FAILURES {
            let (a, f) = attempt(false, failures);
            assert_eq!(
                a,
                Attempt::Wrong {
                    left: MAX_FAILURES - n
                }
            );
            failures = f;
        }
        assert_eq!(failures, 9);
        assert!(
            Attempt::Wrong { left: 1 }
                .message_nl()
                .is_some_and(|m| m.contains("Nog 1 poging"))
        );
        // A right PIN at 9 resets to 0: the next wrong one is not the tenth.
        assert_eq!(attempt(true, failures), (Attempt::Unlocked, 0));
        assert_eq!(attempt(false, 0), (Attempt::Wrong { left: 9 }, 1));
        // The tenth wrong one in a row wipes.
        assert_eq!(attempt(false, failures), (Attempt::Wipe, 10));
        assert_eq!(attempt(false, 10).0, Attempt::Wipe, "stays wiped past ten");
    }

    #[test]
    fn the_lock_comes_after_the_gemeentes_minutes_in_the_background_not_before() {
        let t0 = at("2026-11-20T21:00:00Z");
        let mut timer = LockTimer::new(true);
        assert!(timer.is_locked(), "a cold start with a PIN asks for it");
        timer.unlock();
        timer.hidden(t0);
        assert!(!timer.shown(t0 + SignedDuration::from_secs(299), 5));
        timer.hidden(t0);
        // A second "hidden" does not restart the clock.
        timer.hidden(t0 + SignedDuration::from_mins(3));
        assert!(timer.shown(t0 + SignedDuration::from_mins(5), 5));
        assert!(timer.is_locked());
        timer.unlock();
        assert!(!timer.is_locked());
        // 0 minutes: every return asks.
        timer.hidden(t0);
        assert!(timer.shown(t0, 0));
        assert!(!LockTimer::new(false).is_locked(), "no PIN, no lock");
    }
}
