//! A field device's side of authentication: the enrolment code a phone is set up with, the
//! bearer token it gets for it, and the look-up that starts every request of a phone.

use std::sync::Arc;

use avondronde_shared::{DeviceId, UserId};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;

use super::{Device, bearer, new_secret, secret_hash, token_hash};
use crate::db::{DbError, now_ms};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, RouteKind, Scope, Tx};

/// How long an enrolment code is valid.
pub const ENROLMENT_TTL_MS: i64 = 24 * 3600 * 1000;

/// A short human-typable enrolment code: 12 characters from an alphabet without look-alikes,
/// shown as e.g. `K7QM-2XPR-W9DA` (about 60 bits; single use and valid for 24 hours).
pub fn new_enrolment_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..12)
        .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect();
    format!(
        "{}-{}-{}",
        chars[0..4].iter().collect::<String>(),
        chars[4..8].iter().collect::<String>(),
        chars[8..12].iter().collect::<String>()
    )
}

/// An enrolment code in the form it was issued in (`K7QM-2XPR-W9DA`), however it was
/// typed or scanned: the QR code carries it without dashes
/// ([`avondronde_shared::enrolment::EnrolInvite`] allows only letters and digits), and
/// people type spaces or leave the dashes out.
pub fn canonical_enrolment_code(code: &str) -> String {
    let plain: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if plain.len() == 12 {
        format!("{}-{}-{}", &plain[0..4], &plain[4..8], &plain[8..12])
    } else {
        code.trim().to_owned()
    }
}

/// The scope of an enrolment: the gemeente of the user the code was issued to.
pub fn enrolment_scope(code: &str) -> Scope {
    Scope::Route(
        RouteKind::EnrolmentCode,
        secret_hash(&canonical_enrolment_code(code)),
    )
}

/// What a device token turned out to be.
#[derive(Debug)]
pub enum DeviceLookup {
    /// A device in good standing.
    Active(Device),
    /// A device that was revoked.
    Revoked,
    /// No such token.
    Unknown,
}

/// Looks up a device by its token (one point query on the token's hash; on PostgreSQL
/// one statement without a transaction).
pub async fn device_by_token(state: &AppState, token: &str) -> Result<DeviceLookup, DbError> {
    let row = state.store.device_by_token_hash(token_hash(token)).await?;
    // A phone of a disabled user counts as revoked (disabling revokes every phone), so
    // it answers `device_revoked` and the app wipes its store (issue 10).
    Ok(match row {
        Some(d) if !d.revoked => DeviceLookup::Active(Device {
            id: d.id,
            user: d.user,
            gemeente: d.gemeente,
            role: d.role,
        }),
        Some(_) => DeviceLookup::Revoked,
        None => DeviceLookup::Unknown,
    })
}

impl FromRequestParts<Arc<AppState>> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let device = match device_by_token(state, token).await? {
            DeviceLookup::Active(d) => d,
            DeviceLookup::Revoked => return Err(ApiError::Revoked),
            DeviceLookup::Unknown => return Err(ApiError::Unauthorized),
        };
        if state.limits.device.check_key(&device.id).is_err() {
            return Err(ApiError::TooManyRequests);
        }
        Ok(device)
    }
}

/// Why an enrolment failed.
#[derive(Debug, PartialEq, Eq)]
pub enum EnrolError {
    /// No such code.
    Unknown,
    /// Already used.
    Used,
    /// Past its 24 hours.
    Expired,
}

/// Issues a one-time enrolment code for a field user, valid for `ttl_ms`.
pub fn issue_enrolment_code(tx: &Tx, user: UserId, ttl_ms: i64) -> Result<String, DbError> {
    let code = new_enrolment_code();
    let now = now_ms();
    store::devices::insert_enrolment_code(tx, &secret_hash(&code), user, now, now + ttl_ms)?;
    Ok(code)
}

/// Turns an enrolment code into a device; returns the device and its token (shown once).
pub fn enrol(
    tx: &Tx,
    code: &str,
    label: &str,
) -> Result<Result<(DeviceId, String), EnrolError>, DbError> {
    let now = now_ms();
    let code_hash = secret_hash(&canonical_enrolment_code(code));
    let Some(row) = store::devices::enrolment_code(tx, &code_hash)? else {
        return Ok(Err(EnrolError::Unknown));
    };
    if row.used_at.is_some() {
        return Ok(Err(EnrolError::Used));
    }
    if row.expires_at <= now {
        return Ok(Err(EnrolError::Expired));
    }
    let device = DeviceId::new();
    let token = new_secret();
    store::devices::insert(tx, device, row.user, &token_hash(&token), label, now)?;
    store::devices::use_enrolment_code(tx, &code_hash, now, device)?;
    Ok(Ok((device, token)))
}

/// Revokes a device: its token stops working at once. Returns whether it existed.
pub fn revoke_device(tx: &Tx, device: DeviceId) -> Result<bool, DbError> {
    store::devices::revoke(tx, device, now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrolment_codes_are_readable_and_match_case_insensitively() {
        let code = new_enrolment_code();
        assert_eq!(code.len(), 14);
        assert_eq!(secret_hash(&code), secret_hash(&code.to_lowercase()));
        assert_eq!(new_secret().len(), 43, "32 bytes = 256 bits");
    }

    #[test]
    fn an_enrolment_code_from_the_qr_code_or_typed_without_dashes_is_the_same_code() {
        let code = new_enrolment_code();
        let plain = code.replace('-', "");
        assert_eq!(canonical_enrolment_code(&plain), code);
        assert_eq!(canonical_enrolment_code(&plain.to_lowercase()), code);
        let spaced = format!(" {} {} {} ", &plain[0..4], &plain[4..8], &plain[8..12]);
        assert_eq!(canonical_enrolment_code(&spaced), code);
        assert_eq!(canonical_enrolment_code(&code), code);
        // Anything that is not 12 letters and digits stays what it was (and matches nothing).
        assert_eq!(canonical_enrolment_code("ABC"), "ABC");
    }
}
