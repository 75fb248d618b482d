//! The encrypted local store: SQLCipher through rusqlite, with migrations and an outbox.
//!
//! Everything the field worker records goes here first, in one transaction with its
//! outbox row, and the UI says "opgeslagen" only after that commit. The file is encrypted
//! with a random 256-bit key kept by [`crate::platform::secrets`], so a lost phone's store
//! is useless to the finder. WAL with `synchronous = FULL` makes each commit durable on
//! return (it survives an app kill and a power cut); `secure_delete` overwrites deleted
//! rows, which matters for care-form drafts.
//!
//! The store is split by concept: [`outbox`] (what is to be sent), [`records`] (rounds and
//! contacts), [`care_forms`] (drafts, sealed forms and their feedback), [`keeping`] (what
//! is deleted when, leftovers of a previous user, the PIN's hash).

pub mod care_forms;
pub mod keeping;
pub mod outbox;
pub mod records;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use avondronde_shared::keychain::Fingerprint;
use avondronde_shared::sync::{Cursor, DeviceConfig};
use avondronde_shared::{DeviceId, Role};
use jiff::Timestamp;
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};

use crate::platform::secrets::{Secret, SecretError, Secrets};

/// The store's file name inside the data directory.
pub const DB_FILE: &str = "avondronde.db";

const MIGRATIONS: &[&str] = &[include_str!("migrations/001_init.sql")];

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite or SQLCipher failed.
    #[error("opslag: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value could not be (de)serialised.
    #[error("opslag: onleesbare gegevens: {0}")]
    Json(#[from] serde_json::Error),
    /// The key does not open the file.
    #[error("de opslag kan niet worden geopend met deze sleutel")]
    WrongKey,
    /// The key is gone but the encrypted file is still there.
    #[error(
        "de sleutel van de opslag ontbreekt; de gegevens op dit toestel zijn niet meer te openen"
    )]
    KeyLost,
    /// The secret store failed.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The data directory could not be made.
    #[error("kan de map voor gegevens niet maken: {0}")]
    Io(#[from] std::io::Error),
    /// Something that should exist does not.
    #[error("niet gevonden: {0}")]
    NotFound(&'static str),
    /// A correction for a contact outside the round in progress.
    #[error(
        "dit contact hoort niet bij de lopende ronde; alleen contacten van de lopende ronde kunnen worden gecorrigeerd"
    )]
    NotInActiveRound,
}

/// A result of a store operation.
pub type Result<T> = std::result::Result<T, StoreError>;

/// The 256-bit SQLCipher key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; 32]);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(<redacted>)")
    }
}

impl StoreKey {
    /// A fresh random key.
    pub fn generate() -> StoreKey {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        StoreKey(bytes)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(hex: &str) -> Option<StoreKey> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(StoreKey(bytes))
    }

    /// The key as 64 hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// How this device is enrolled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The sync server's base URL, e.g. `https://avondronde.rotterdam.nl`.
    pub server_url: String,
    /// The device id the server gave.
    pub device_id: DeviceId,
    /// The field worker's role.
    pub role: Role,
}

/// The local store.
pub struct Store {
    conn: Connection,
}

/// The store shared by the UI and the sync engine. Locks are held for single statements
/// or transactions, never across a network call.
pub type SharedStore = Arc<Mutex<Store>>;

/// Deletes everything this device holds (issue 10, "revoke means wipe"): the database
/// with its WAL and shm files, every secret (the store key and the device token, as files or
/// keychain entries: on a phone, the Keystore/Keychain entries).
/// Drafts, contacts, rounds and the outbox live in the database and go with it. The shared
/// store is left as an empty in-memory placeholder until the device is enrolled again, so
/// the data directory holds no database and no key afterwards.
pub fn wipe(store: &SharedStore, secrets: &Secrets) -> Result<()> {
    let mut guard = lock(store);
    let path = guard
        .conn
        .path()
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from);
    // Dropping the old store closes its connection before its files go.
    *guard = Store::open_in_memory()?;
    if let Some(path) = path {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            match std::fs::remove_file(&name) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    secrets.delete_all()?;
    Ok(())
}

/// Locks a shared store, recovering from a poisoned lock (a panic elsewhere does not make
/// committed data less valid).
pub fn lock(store: &SharedStore) -> MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Milliseconds since the Unix epoch.
pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// The instant of a stored millisecond value.
pub(crate) fn from_ms(v: i64) -> Timestamp {
    Timestamp::from_millisecond(v).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Store {
    /// Opens (or creates) the encrypted store at `path`.
    pub fn open(path: &Path, key: &StoreKey) -> Result<Store> {
        Store::init(Connection::open(path)?, key, true)
    }

    /// An encrypted in-memory store, for tests.
    pub fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?, &StoreKey::generate(), false)
    }

    /// Opens the store in the app's data directory, taking the key from `secrets` (and
    /// making one on first start).
    pub fn open_in_dir(dir: &Path, secrets: &Secrets) -> Result<Store> {
        crate::platform::ensure_private_dir(dir)?;
        let path = dir.join(DB_FILE);
        let key = match secrets
            .get(Secret::StoreKey)?
            .and_then(|h| StoreKey::from_hex(&h))
        {
            Some(key) => key,
            None if path.exists() => return Err(StoreError::KeyLost),
            None => {
                let key = StoreKey::generate();
                secrets.set(Secret::StoreKey, &key.to_hex())?;
                key
            }
        };
        Store::open(&path, &key)
    }

    fn init(conn: Connection, key: &StoreKey, file: bool) -> Result<Store> {
        // The key must be the first statement on the connection.
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex()))?;
        // Reading the schema fails here if the key is wrong.
        if conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .is_err()
        {
            return Err(StoreError::WrongKey);
        }
        if file {
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA secure_delete = ON;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let target = i as i64 + 1;
            if version < target {
                let tx = self.conn.transaction()?;
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", target)?;
                tx.commit()?;
            }
        }
        Ok(())
    }

    /// The SQLCipher version, proving the file is encrypted (`None` on plain SQLite).
    pub fn cipher_version(&self) -> Option<String> {
        self.conn
            .query_row("PRAGMA cipher_version", [], |r| r.get(0))
            .optional()
            .ok()
            .flatten()
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// A setting.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row(params![key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a setting.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value])?;
        Ok(())
    }

    fn delete_meta(&self, key: &str) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM meta WHERE key = ?1")?
            .execute(params![key])?;
        Ok(())
    }

    /// The enrolment, if this device is enrolled.
    pub fn enrolment(&self) -> Result<Option<Enrolment>> {
        let (Some(url), Some(id), Some(role)) = (
            self.meta("server_url")?,
            self.meta("device_id")?,
            self.meta("role")?,
        ) else {
            return Ok(None);
        };
        Ok(match (id.parse(), Role::from_code(&role)) {
            (Ok(device_id), Some(role)) => Some(Enrolment {
                server_url: url,
                device_id,
                role,
            }),
            _ => None,
        })
    }

    /// Records an enrolment (and clears a revocation).
    pub fn set_enrolment(&mut self, e: &Enrolment) -> Result<()> {
        let tx = self.conn.transaction()?;
        for (k, v) in [
            ("server_url", e.server_url.as_str()),
            ("device_id", &e.device_id.to_string()),
            ("role", e.role.code()),
        ] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        tx.execute("DELETE FROM meta WHERE key = 'revoked'", [])?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the server revoked this device.
    pub fn is_revoked(&self) -> Result<bool> {
        Ok(self.meta("revoked")?.is_some())
    }

    /// Marks the device revoked: syncing stops; the outbox is kept for a new enrolment.
    pub fn set_revoked(&self, revoked: bool) -> Result<()> {
        if revoked {
            self.set_meta("revoked", "1")
        } else {
            self.delete_meta("revoked")
        }
    }

    /// The meldpunt root fingerprint this device pinned, if any (issue 10).
    pub fn meldpunt_pin(&self) -> Result<Option<Fingerprint>> {
        Ok(self.meta("meldpunt_pin")?.and_then(|f| f.parse().ok()))
    }

    /// Pins (or with `None` forgets) the meldpunt root fingerprint.
    pub fn set_meldpunt_pin(&self, pin: Option<&Fingerprint>) -> Result<()> {
        match pin {
            Some(f) => self.set_meta("meldpunt_pin", &f.to_string()),
            None => self.delete_meta("meldpunt_pin"),
        }
    }

    /// The last refusal of the key chain not yet reported to the server (a code).
    pub fn key_refused(&self) -> Result<Option<String>> {
        self.meta("key_refused")
    }

    /// Records (or with `None` clears) a refusal to report on the next pull.
    pub fn set_key_refused(&self, code: Option<&str>) -> Result<()> {
        match code {
            Some(c) => self.set_meta("key_refused", c),
            None => self.delete_meta("key_refused"),
        }
    }

    /// Whether this store lives in a file (not the in-memory placeholder after a wipe).
    pub fn is_on_disk(&self) -> bool {
        self.conn.path().is_some_and(|p| !p.is_empty())
    }

    /// The pull cursor.
    pub fn cursor(&self) -> Result<Option<Cursor>> {
        Ok(self
            .meta("cursor")?
            .and_then(|c| c.parse::<u64>().ok())
            .map(Cursor))
    }

    /// The pulled configuration.
    pub fn config(&self) -> Result<Option<DeviceConfig>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM config WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?;
        Ok(match body {
            Some(b) => Some(serde_json::from_str(&b)?),
            None => None,
        })
    }

    /// The version of the pulled configuration.
    pub fn config_version(&self) -> Result<Option<u64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT version FROM config WHERE id = 1")?
            .query_row([], |r| r.get::<_, i64>(0))
            .optional()?
            .map(|v| v.max(0) as u64))
    }

    /// Stores a pull's outcome in one transaction: the new configuration (if any), the
    /// feedback and the cursor, so a crash never skips feedback.
    pub fn apply_pull(
        &mut self,
        config: Option<&DeviceConfig>,
        feedback: &[avondronde_shared::care::Feedback],
        cursor: Cursor,
        now: Timestamp,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        if let Some(c) = config {
            tx.execute(
                "INSERT INTO config (id, version, body, pulled_at) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version,
                   body = excluded.body, pulled_at = excluded.pulled_at",
                params![c.version as i64, serde_json::to_string(c)?, ms(now)],
            )?;
        }
        care_forms::apply_feedback(&tx, feedback)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('cursor', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![cursor.0.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_is_encrypted_and_a_wrong_key_does_not_open_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let key = StoreKey::generate();
        let store = Store::open(&path, &key).expect("open");
        assert!(store.cipher_version().is_some(), "SQLCipher is linked");
        store.set_meta("x", "geheim").expect("meta");
        drop(store);
        let raw = std::fs::read(&path).expect("read");
        assert!(!raw.windows(6).any(|w| w == b"geheim"));
        assert!(!raw.starts_with(b"SQLite format 3"));
        assert!(matches!(
            Store::open(&path, &StoreKey::generate()),
            Err(StoreError::WrongKey)
        ));
        let again = Store::open(&path, &key).expect("reopen");
        assert_eq!(again.meta("x").expect("meta").as_deref(), Some("geheim"));
    }

    /// Issue 10: after a wipe the data directory holds no database, WAL, shm or key file.
    #[test]
    fn wipe_leaves_no_database_and_no_key_in_the_data_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secrets =
            Secrets::open(dir.path(), crate::platform::secrets::Preference::File).expect("secrets");
        secrets.set(Secret::DeviceToken, "token").expect("token");
        let store: SharedStore = Arc::new(Mutex::new(
            Store::open_in_dir(dir.path(), &secrets).expect("open"),
        ));
        lock(&store)
            .set_meta("probe", "Schiedamseweg 1")
            .expect("write");
        assert!(dir.path().join(DB_FILE).exists());
        wipe(&store, &secrets).expect("wipe");
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            left.iter().all(|n| !n.starts_with(DB_FILE)),
            "no database files: {left:?}"
        );
        assert_eq!(secrets.get(Secret::StoreKey).expect("get"), None);
        assert_eq!(secrets.get(Secret::DeviceToken).expect("get"), None);
        assert!(!lock(&store).is_on_disk());
        assert_eq!(lock(&store).meta("probe").expect("read"), None);
    }

    #[test]
    fn store_key_round_trips_as_hex() {
        let k = StoreKey::generate();
        assert_eq!(StoreKey::from_hex(&k.to_hex()), Some(k));
        assert_eq!(StoreKey::from_hex("zz"), None);
    }
}
