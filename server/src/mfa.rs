//! Second factor for the web: TOTP (RFC 6238, through `totp-rs`) and one-time recovery
//! codes.
//!
//! The meldpunt and the admin must use it; a coordinator may opt in. A user enrols on
//! their first login: the server makes a secret, shows it as a QR code (and as text), and
//! switches it on only once the user has typed a code that it produced, so that nobody is
//! locked out by a scan that failed. Confirming hands out ten recovery codes, shown once
//! and stored as BLAKE3 hashes; each works once.
//!
//! The TOTP secret itself is stored as it is (base32), because checking a code needs it:
//! someone with a copy of the database can compute codes, but still needs the password.

use avondronde_shared::{Role, UserId};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::db::DbError;
use crate::store::{self, Tx};

/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;
/// How many wrong codes one pending session may try before it is ended.
pub const MAX_ATTEMPTS: i64 = 5;

/// The length of a TOTP step in seconds (RFC 6238's default, what authenticator apps use).
const STEP_SECS: u64 = 30;

/// Whether a role must use a second factor.
pub fn required_for(role: Role) -> bool {
    matches!(role, Role::Meldpunt | Role::Admin)
}

/// A TOTP secret (base32). Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(pub String);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// A fresh 160-bit secret.
    pub fn generate() -> TotpSecret {
        let bytes: [u8; 20] = rand::random();
        match Secret::Raw(bytes.to_vec()).to_encoded() {
            Secret::Encoded(s) => TotpSecret(s),
            Secret::Raw(_) => TotpSecret(String::new()),
        }
    }

    fn totp(&self) -> Option<TOTP> {
        let bytes = Secret::Encoded(self.0.clone()).to_bytes().ok()?;
        // Skew 0 here: `step_of` walks the window itself, to learn which step matched.
        TOTP::new(Algorithm::SHA1, 6, 0, STEP_SECS, bytes).ok()
    }

    /// The code for unix time `secs` (for tests, the demo and tools).
    pub fn code_at(&self, secs: u64) -> String {
        self.totp().map(|t| t.generate(secs)).unwrap_or_default()
    }

    /// The code now.
    pub fn code_now(&self) -> String {
        self.code_at(now_secs())
    }

    /// Whether `code` is valid now (± one 30-second step). Says nothing about reuse: a login
    /// goes through [`verify`] or [`confirm`], which accept each step once.
    pub fn check(&self, code: &str) -> bool {
        self.step_of(code, now_secs()).is_some()
    }

    /// The 30-second step `code` belongs to, if it is one of the steps accepted at unix time
    /// `now` (one step of skew either way: phone clocks drift).
    pub fn step_of(&self, code: &str, now: u64) -> Option<u64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 {
            return None;
        }
        let totp = self.totp()?;
        let current = now / STEP_SECS;
        [current.saturating_sub(1), current, current + 1]
            .into_iter()
            .find(|step| totp.check(&code, step * STEP_SECS))
    }

    /// A code an authenticator would accept at `now` for a step after `used`, or `None` when
    /// every step in the window is used and the caller must wait for the next one. The
    /// previous step is offered only with a few seconds to spare. For tests and tools that
    /// log the same user in more than once in half a minute.
    pub fn unused_code(&self, used: Option<u64>, now: u64) -> Option<String> {
        let current = now / STEP_SECS;
        let spare = STEP_SECS - now % STEP_SECS;
        let previous = (spare >= 5).then(|| current.saturating_sub(1));
        previous
            .into_iter()
            .chain([current, current + 1])
            .find(|step| used.is_none_or(|u| *step > u))
            .map(|step| self.code_at(step * STEP_SECS))
    }

    /// The `otpauth://` URL authenticator apps read from the QR code.
    pub fn url(&self, account: &str) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        };
        format!(
            "otpauth://totp/Avondronde:{}?secret={}&issuer=Avondronde&algorithm=SHA1&digits=6&period=30",
            enc(account),
            self.0
        )
    }

    /// The URL as an SVG QR code (no script, no inline style: fine under the CSP).
    pub fn qr_svg(&self, account: &str) -> String {
        qrcode::QrCode::new(self.url(account).as_bytes())
            .map(|q| {
                q.render::<qrcode::render::svg::Color<'_>>()
                    .min_dimensions(200, 200)
                    .build()
            })
            .unwrap_or_default()
    }
}

/// A user's second-factor state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Switched on (a code was confirmed).
    pub enabled: bool,
    /// The secret, confirmed or still pending.
    pub secret: Option<TotpSecret>,
    /// The last 30-second step whose code was accepted: no code of it or before it is
    /// accepted again (ASVS 2.8.4, a code is single-use).
    pub last_step: Option<u64>,
}

/// Reads a user's second-factor state.
pub fn state(tx: &Tx, user: UserId) -> Result<State, DbError> {
    Ok(store::accounts::totp(tx, user)?
        .map(|r| State {
            enabled: r.enabled,
            secret: r.secret.map(TotpSecret),
            last_step: r.last_step.map(|s| s.max(0) as u64),
        })
        .unwrap_or(State {
            enabled: false,
            secret: None,
            last_step: None,
        }))
}

/// Starts enrolment: the pending secret (made now if there is none), not yet switched on.
pub fn begin(tx: &Tx, user: UserId) -> Result<TotpSecret, DbError> {
    let secret = TotpSecret::generate();
    store::accounts::set_pending_totp_secret(tx, user, &secret.0)?;
    Ok(state(tx, user)?.secret.unwrap_or(secret))
}

/// Switches the pending secret on if `code` matches it; returns the fresh recovery codes.
pub fn confirm(tx: &Tx, user: UserId, code: &str) -> Result<Option<Vec<String>>, DbError> {
    let st = state(tx, user)?;
    match st.secret {
        Some(secret) if !st.enabled && use_code(tx, user, &secret, code)? => {
            store::accounts::enable_totp(tx, user)?;
            Ok(Some(new_recovery_codes(tx, user)?))
        }
        _ => Ok(None),
    }
}

/// Enrols a user at once, without a confirmation round (the demo, tests and the CLI,
/// which show the secret to the person who will use it). Returns the secret and the
/// recovery codes.
pub fn enrol_now(tx: &Tx, user: UserId) -> Result<(TotpSecret, Vec<String>), DbError> {
    let secret = TotpSecret::generate();
    store::accounts::set_enabled_totp_secret(tx, user, &secret.0)?;
    Ok((secret, new_recovery_codes(tx, user)?))
}

/// Switches the second factor off (an admin resetting a lost phone); the user enrols
/// again at the next login.
pub fn reset(tx: &Tx, user: UserId) -> Result<(), DbError> {
    store::accounts::clear_totp(tx, user)?;
    store::accounts::delete_recovery_codes(tx, user)
}

/// Accepts `code` if it is valid now and its step comes after the last one used, and
/// records its step, in one statement: of two logins racing with the same code, one wins.
fn use_code(tx: &Tx, user: UserId, secret: &TotpSecret, code: &str) -> Result<bool, DbError> {
    let Some(step) = secret.step_of(code, now_secs()) else {
        return Ok(false);
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    store::accounts::use_totp_step(tx, user, step)
}

fn now_secs() -> u64 {
    jiff::Timestamp::now().as_second().max(0) as u64
}

fn new_recovery_codes(tx: &Tx, user: UserId) -> Result<Vec<String>, DbError> {
    store::accounts::delete_recovery_codes(tx, user)?;
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| crate::auth::new_enrolment_code())
        .collect();
    for c in &codes {
        store::accounts::insert_recovery_code(tx, user, &crate::auth::secret_hash(c))?;
    }
    Ok(codes)
}

/// Whether `code` is the user's current TOTP code or an unused recovery code (which is
/// then used up).
pub fn verify(tx: &Tx, user: UserId, code: &str) -> Result<bool, DbError> {
    let st = state(tx, user)?;
    if !st.enabled {
        return Ok(false);
    }
    if let Some(secret) = &st.secret
        && use_code(tx, user, secret, code)?
    {
        return Ok(true);
    }
    if code.trim().len() > 20 {
        return Ok(false);
    }
    store::accounts::use_recovery_code(
        tx,
        user,
        &crate::auth::secret_hash(&code.replace(' ', "")),
        crate::db::now_ms(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_checks_its_own_current_code_and_not_another() {
        let s = TotpSecret::generate();
        assert_eq!(s.0.len(), 32, "160 bits in base32");
        assert!(s.check(&s.code_now()));
        assert!(!s.check("12345"));
        assert!(!format!("{s:?}").contains(&s.0));
    }

    #[test]
    fn a_code_names_its_step_and_the_next_unused_code_is_always_a_later_step() {
        let s = TotpSecret::generate();
        let now = 1_800_000_015; // 15 s into step 60_000_000
        let step = now / STEP_SECS;
        for (offset, secs) in [(0, now), (1, now + 30), (-1, now - 30)] {
            let code = s.code_at(secs);
            assert_eq!(s.step_of(&code, now), step.checked_add_signed(offset));
        }
        assert_eq!(
            s.step_of(&s.code_at(now + 60), now),
            None,
            "two steps ahead"
        );
        assert_eq!(s.step_of("12 34", now), None);
        let first = s.unused_code(None, now).expect("a code");
        assert_eq!(s.step_of(&first, now), Some(step - 1));
        let after = s.unused_code(Some(step), now).expect("a code");
        assert_eq!(s.step_of(&after, now), Some(step + 1));
        assert_eq!(s.unused_code(Some(step + 1), now), None, "window used up");
        // With under five seconds left in the step, the previous step is not offered.
        let late = step * STEP_SECS + 27;
        assert_eq!(
            s.step_of(&s.unused_code(None, late).expect("code"), late),
            Some(step)
        );
    }

    #[test]
    fn the_qr_code_is_an_svg_of_the_otpauth_url() {
        let s = TotpSecret::generate();
        assert!(
            s.url("meldpunt")
                .starts_with("otpauth://totp/Avondronde:meldpunt?secret=")
        );
        let svg = s.qr_svg("meldpunt");
        assert!(svg.contains("<svg"), "{svg:.80}");
        assert!(!svg.contains("style="));
    }
}
