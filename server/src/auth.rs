//! Who is asking: device tokens, web sessions and passwords, and the extractors that make
//! every handler state what it needs.
//!
//! - A field device holds a bearer token (256 random bits). The server keeps only its
//!   BLAKE3 hash, so a copy of the database cannot be used to sync as a device. A fast
//!   hash is right here because the token is random; passwords get argon2id.
//! - A web user logs in with a password and gets a `Secure; HttpOnly; SameSite=Strict`
//!   session cookie; scripts use the same cookie.
//! - Handlers take [`Device`] or [`WebUser`] as an argument and so cannot forget to check.
//!   Scope (the gemeente) travels with the identity; a lookup outside it answers 404.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use avondronde_shared::{DeviceId, GemeenteId, Role, UserId};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::{DbError, now_ms};
use crate::error::ApiError;
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "avondronde_session";
/// How long a web session lasts.
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;
/// How long an enrolment code is valid.
pub const ENROLMENT_TTL_MS: i64 = 24 * 3600 * 1000;

/// A fresh random secret of 32 bytes, URL-safe base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

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

/// The stored form of a token or code.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    blake3::hash(secret.trim().to_ascii_uppercase().as_bytes())
        .as_bytes()
        .to_vec()
}

fn token_hash(token: &str) -> Vec<u8> {
    blake3::hash(token.as_bytes()).as_bytes().to_vec()
}

/// Hashes a password with argon2id.
pub fn hash_password(password: &str) -> Result<String, DbError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| DbError::Domain(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DbError::Domain(e.to_string()))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// An authenticated field device.
#[derive(Debug, Clone)]
pub struct Device {
    /// The device.
    pub id: DeviceId,
    /// The field worker it belongs to.
    pub user: UserId,
    /// Their gemeente: the scope of everything the device sees.
    pub gemeente: GemeenteId,
    /// Their role.
    pub role: Role,
}

/// An authenticated web user (browser or script).
#[derive(Debug, Clone)]
pub struct WebUser {
    /// The user.
    pub id: UserId,
    /// Username (not personal data of a child; shown in the page header).
    pub username: String,
    /// Their gemeente.
    pub gemeente: GemeenteId,
    /// Their role.
    pub role: Role,
    /// The session's hash, to key per-session state such as an unlocked meldpunt key.
    pub session: Vec<u8>,
}

impl WebUser {
    /// Fails with 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The session token from the cookie header, if any.
pub fn session_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn parse_id<T: std::str::FromStr>(s: String) -> rusqlite::Result<T> {
    s.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            "bad id in database".into(),
        )
    })
}

fn parse_role(s: &str) -> rusqlite::Result<Role> {
    Role::from_code(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            "bad role in database".into(),
        )
    })
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

/// Looks up a device by its token.
pub fn device_by_token(conn: &Connection, token: &str) -> Result<DeviceLookup, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.user_id, u.gemeente_id, u.role, d.revoked_at
         FROM device d JOIN user u ON u.id = d.user_id WHERE d.token_hash = ?1",
    )?;
    let row = stmt
        .query_row(params![token_hash(token)], |r| {
            Ok((
                Device {
                    id: parse_id(r.get(0)?)?,
                    user: parse_id(r.get(1)?)?,
                    gemeente: parse_id(r.get(2)?)?,
                    role: parse_role(&r.get::<_, String>(3)?)?,
                },
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .optional()?;
    Ok(match row {
        Some((d, None)) => DeviceLookup::Active(d),
        Some((_, Some(_))) => DeviceLookup::Revoked,
        None => DeviceLookup::Unknown,
    })
}

impl FromRequestParts<Arc<AppState>> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?.to_owned();
        let device = state
            .db
            .read_point(move |c| device_by_token(c, &token))
            .await?;
        let device = match device {
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

impl FromRequestParts<Arc<AppState>> for WebUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = session_token(parts).ok_or(ApiError::Unauthorized)?;
        let hash = token_hash(&token);
        let now = now_ms();
        let user = state
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT u.id, u.username, u.gemeente_id, u.role
                     FROM web_session s JOIN user u ON u.id = s.user_id
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                )?;
                Ok(stmt
                    .query_row(params![hash, now], |r| {
                        Ok(WebUser {
                            id: parse_id(r.get(0)?)?,
                            username: r.get(1)?,
                            gemeente: parse_id(r.get(2)?)?,
                            role: parse_role(&r.get::<_, String>(3)?)?,
                            session: hash.clone(),
                        })
                    })
                    .optional()?)
            })
            .await?;
        user.ok_or(ApiError::Unauthorized)
    }
}

/// A user's login as stored, so the password can be checked away from the database.
#[derive(Debug, Clone)]
pub struct StoredLogin {
    id: String,
    phc: Option<String>,
    gemeente: GemeenteId,
    role: Role,
    username: String,
}

/// Reads the stored login of `username`, if there is such a user.
pub fn stored_login(conn: &Connection, username: &str) -> Result<Option<StoredLogin>, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, password_hash, gemeente_id, role, username FROM user WHERE username = ?1",
        )?
        .query_row(params![username], |r| {
            Ok(StoredLogin {
                id: r.get(0)?,
                phc: r.get(1)?,
                gemeente: parse_id(r.get(2)?)?,
                role: parse_role(&r.get::<_, String>(3)?)?,
                username: r.get(4)?,
            })
        })
        .optional()?)
}

/// Whether `password` opens `stored`. Costs one argon2id verification whether or not the
/// user exists, so timing does not reveal usernames. That is tens of milliseconds of CPU:
/// call it on the blocking pool, never on the database writer.
pub fn check_password(stored: Option<&StoredLogin>, password: &str) -> bool {
    match stored.and_then(|s| s.phc.as_deref()) {
        Some(phc) => verify_password(password, phc),
        None => {
            let _ = verify_password(password, DUMMY_HASH);
            false
        }
    }
}

/// Starts a session for a login whose password was checked; returns its token and the user.
pub fn create_session(
    conn: &Connection,
    login: &StoredLogin,
) -> Result<(String, WebUser), DbError> {
    let token = new_secret();
    let now = now_ms();
    let session = token_hash(&token);
    conn.execute(
        "INSERT INTO web_session (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![session, login.id, now, now + SESSION_TTL_MS],
    )?;
    let user = WebUser {
        id: parse_id(login.id.clone())?,
        username: login.username.clone(),
        gemeente: login.gemeente,
        role: login.role,
        session,
    };
    Ok((token, user))
}

/// Checks a username and password; on success creates a session and returns its token
/// and the user. All on one connection: for tools and tests. The server splits these
/// steps so that the password check never holds up the database writer.
pub fn login(
    conn: &Connection,
    username: &str,
    password: &str,
) -> Result<Option<(String, WebUser)>, DbError> {
    let stored = stored_login(conn, username)?;
    if !check_password(stored.as_ref(), password) {
        return Ok(None);
    }
    stored.map(|login| create_session(conn, &login)).transpose()
}

/// Ends a session.
pub fn logout(conn: &Connection, session_hash: &[u8]) -> Result<(), DbError> {
    conn.execute(
        "DELETE FROM web_session WHERE token_hash = ?1",
        params![session_hash],
    )?;
    Ok(())
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2r1UQ4b3z3Jc5mSg2zJdU9ZkqkT0lU9xq0c3j9k1Xy8";

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
pub fn issue_enrolment_code(
    conn: &Connection,
    user: UserId,
    ttl_ms: i64,
) -> Result<String, DbError> {
    let code = new_enrolment_code();
    let now = now_ms();
    conn.execute(
        "INSERT INTO enrolment_code (code_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![secret_hash(&code), user.to_string(), now, now + ttl_ms],
    )?;
    Ok(code)
}

/// Turns an enrolment code into a device; returns the device and its token (shown once).
pub fn enrol(
    conn: &Connection,
    code: &str,
    label: &str,
) -> Result<Result<(DeviceId, String), EnrolError>, DbError> {
    let now = now_ms();
    let row: Option<(String, i64, Option<i64>)> = conn
        .query_row(
            "SELECT user_id, expires_at, used_at FROM enrolment_code WHERE code_hash = ?1",
            params![secret_hash(code)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((user_id, expires_at, used_at)) = row else {
        return Ok(Err(EnrolError::Unknown));
    };
    if used_at.is_some() {
        return Ok(Err(EnrolError::Used));
    }
    if expires_at <= now {
        return Ok(Err(EnrolError::Expired));
    }
    let device = DeviceId::new();
    let token = new_secret();
    conn.execute(
        "INSERT INTO device (id, user_id, token_hash, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![device.to_string(), user_id, token_hash(&token), label, now],
    )?;
    conn.execute(
        "UPDATE enrolment_code SET used_at = ?1, device_id = ?2 WHERE code_hash = ?3",
        params![now, device.to_string(), secret_hash(code)],
    )?;
    Ok(Ok((device, token)))
}

/// Revokes a device: its token stops working at once. Returns whether it existed.
pub fn revoke_device(conn: &Connection, device: DeviceId) -> Result<bool, DbError> {
    Ok(conn.execute(
        "UPDATE device SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        params![now_ms(), device.to_string()],
    )? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let phc = hash_password("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_users_cost_a_real_verification() {
        let parsed = PasswordHash::new(DUMMY_HASH).expect("valid PHC string");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
    }

    #[test]
    fn enrolment_codes_are_readable_and_match_case_insensitively() {
        let code = new_enrolment_code();
        assert_eq!(code.len(), 14);
        assert_eq!(secret_hash(&code), secret_hash(&code.to_lowercase()));
        assert_eq!(new_secret().len(), 43, "32 bytes = 256 bits");
    }
}
