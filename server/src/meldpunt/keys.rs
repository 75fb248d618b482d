//! The meldpunt key pair of a gemeente, and the per-session vault that holds it unlocked.
//!
//! ODK Central's managed encryption is the model:
//! - Each gemeente has an age X25519 key pair. Devices get the public *recipient* in their
//!   configuration and seal every care form to it on the phone.
//! - The private *identity* is stored in `meldpunt_key.identity` as an age file encrypted
//!   under a passphrase (age's scrypt recipient). The server never stores the passphrase,
//!   so the database, a backup or an administrator alone cannot open a single form.
//! - A meldpunt user types the passphrase to unlock the keys **for their session**: the
//!   decrypted identities, a [`KeyRing`], live in the [`Vault`](super::vault::Vault) in
//!   memory, keyed by the session's hash, and are dropped on logout, on lock, when the
//!   session expires, or when the server stops.
//! - Rotation makes a new key current (devices pull the new recipient because the
//!   gemeente's config version is bumped) and re-wraps every older identity under the new
//!   passphrase, so one passphrase opens every form, old and new, and each envelope names
//!   the key it was sealed to.
//!
//! The match pseudonym key is derived from the gemeente's *first* identity, so that
//! pseudonyms stay comparable across rotations (see `matching`).
//!
//! Beside each age identity the meldpunt holds an **Ed25519 signing key**, its seed wrapped
//! under the same passphrase (issue 10). Creation signs the first recipient with a validity
//! period (a self-signed root); rotation signs the new signing key and recipient with the
//! *previous* signing key. Phones pin the root and seal only to a recipient whose chain
//! verifies ([`avondronde_shared::keychain`]), so a key row written by anyone without the
//! passphrase is refused by every enrolled phone.

use std::io::{Read, Write};

use age::secrecy::{ExposeSecret, SecretString};
use avondronde_shared::GemeenteId;
use avondronde_shared::care::{CareFormContent, RecipientKeyId};
use avondronde_shared::keychain::{Fingerprint, KeyChain, KeyLink, NewLink, sign_link};
use avondronde_shared::sync::MeldpuntKey;

use crate::db::DbError;
use crate::state::bump_config;
use crate::store::{self, Tx};

/// scrypt work factor (N = 2^16: 64 MiB and a fraction of a second per unwrap). A fixed
/// value rather than age's per-machine calibration, so that a slower server can still open
/// what a faster one wrapped.
pub const WORK_FACTOR: u8 = 16;
/// The highest work factor accepted when unwrapping (a bound on memory and time).
const MAX_WORK_FACTOR: u8 = 20;
/// How long a signed recipient stays valid: a year, after which the meldpunt rotates.
pub const VALIDITY_MS: i64 = 365 * 86_400_000;
/// A signed validity starts this long before the signing, so that a phone whose clock runs
/// somewhat behind does not refuse a key that was just made or rotated.
pub const CLOCK_TOLERANCE_MS: i64 = 86_400_000;
/// The shortest passphrase accepted for a new key.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// What went wrong with the meldpunt key. The messages are for the meldpunt user or the
/// administrator, in Dutch, and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The gemeente has no key yet.
    #[error(
        "Er is nog geen meldpuntsleutel voor deze gemeente. Het meldpunt maakt hem aan op de pagina Sleutel (of de beheerder met avondronde-server admin create-meldpunt-key)."
    )]
    NoKey,
    /// The passphrase does not open the key.
    #[error("De wachtwoordzin klopt niet. Let op hoofdletters en spaties en probeer het opnieuw.")]
    WrongPassphrase,
    /// A new passphrase is too short.
    #[error("Kies een wachtwoordzin van minstens {MIN_PASSPHRASE_CHARS} tekens.")]
    WeakPassphrase,
    /// `create` on a gemeente that already has a key.
    #[error(
        "Deze gemeente heeft al een meldpuntsleutel; vervang hem in plaats daarvan (pagina Sleutel, of rotate-meldpunt-key)."
    )]
    KeyExists,
    /// Stored key material cannot be read.
    #[error("De opgeslagen meldpuntsleutel is onleesbaar ({0}); neem contact op met de beheerder.")]
    Corrupt(String),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a sealed form could not be opened with an unlocked key ring.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// None of the ring's keys fits (e.g. a key made after this session unlocked).
    #[error(
        "Dit formulier is verzegeld met een sleutel die in deze sessie niet ontgrendeld is. Vergrendel en ontgrendel opnieuw."
    )]
    NoMatchingKey,
    /// The envelope is damaged.
    #[error("Dit formulier is beschadigd en kan niet worden geopend.")]
    Damaged,
}

/// A key row as stored: public parts in the clear, the identity wrapped.
#[derive(Clone)]
pub struct StoredKey {
    /// Key id (recorded on each envelope).
    pub id: RecipientKeyId,
    /// The age recipient (`age1…`).
    pub recipient: String,
    /// The identity, as an age file under the passphrase.
    pub wrapped: Vec<u8>,
    /// Creation time, unix ms.
    pub created_at: i64,
    /// When it stopped being current, unix ms.
    pub retired_at: Option<i64>,
    /// The Ed25519 seed of this period, wrapped under the passphrase (`None` for a key made
    /// before key chains existed).
    pub signing_seed: Option<Vec<u8>>,
    /// The signed link that phones verify (`None` before key chains existed).
    pub link: Option<KeyLink>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("id", &self.id)
            .field("recipient", &self.recipient)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// A gemeente's keys, oldest first.
pub fn load(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<StoredKey>, DbError> {
    store::meldpunt_keys::load(tx, gemeente)
}

fn check_new_passphrase(p: &SecretString) -> Result<(), KeyError> {
    if p.expose_secret().trim().chars().count() < MIN_PASSPHRASE_CHARS {
        Err(KeyError::WeakPassphrase)
    } else {
        Ok(())
    }
}

/// Encrypts an identity under a passphrase (age scrypt).
fn wrap(identity: &age::x25519::Identity, passphrase: &SecretString) -> Result<Vec<u8>, KeyError> {
    wrap_bytes(identity.to_string().expose_secret().as_bytes(), passphrase)
}

/// Encrypts secret bytes under a passphrase (age scrypt).
fn wrap_bytes(secret: &[u8], passphrase: &SecretString) -> Result<Vec<u8>, KeyError> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    recipient.set_work_factor(WORK_FACTOR);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
        .map_err(|e| KeyError::Corrupt(e.to_string()))?;
    let mut out = Vec::new();
    let mut w = encryptor
        .wrap_output(&mut out)
        .map_err(|e| KeyError::Corrupt(e.to_string()))?;
    w.write_all(secret)
        .and_then(|()| w.finish().map(|_| ()))
        .map_err(|e| KeyError::Corrupt(e.to_string()))?;
    Ok(out)
}

/// Decrypts a wrapped Ed25519 seed with a passphrase.
fn unwrap_seed(wrapped: &[u8], passphrase: &SecretString) -> Result<[u8; 32], KeyError> {
    let mut plain = unwrap_bytes(wrapped, passphrase)?;
    let seed: Result<[u8; 32], _> = plain.as_slice().try_into();
    plain.iter_mut().for_each(|b| *b = 0);
    seed.map_err(|_| KeyError::Corrupt("geen ondertekensleutel".into()))
}

/// Decrypts wrapped bytes with a passphrase.
fn unwrap_bytes(wrapped: &[u8], passphrase: &SecretString) -> Result<Vec<u8>, KeyError> {
    let mut identity = age::scrypt::Identity::new(passphrase.clone());
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let decryptor =
        age::Decryptor::new_buffered(wrapped).map_err(|e| KeyError::Corrupt(e.to_string()))?;
    let mut reader = match decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)) {
        Ok(r) => r,
        Err(age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys) => {
            return Err(KeyError::WrongPassphrase);
        }
        Err(e) => return Err(KeyError::Corrupt(e.to_string())),
    };
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .map_err(|_| KeyError::WrongPassphrase)?;
    Ok(plain)
}

/// Decrypts a wrapped identity with a passphrase.
fn unwrap(wrapped: &[u8], passphrase: &SecretString) -> Result<age::x25519::Identity, KeyError> {
    let mut identity = age::scrypt::Identity::new(passphrase.clone());
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let decryptor =
        age::Decryptor::new_buffered(wrapped).map_err(|e| KeyError::Corrupt(e.to_string()))?;
    let mut reader = match decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)) {
        Ok(r) => r,
        Err(age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys) => {
            return Err(KeyError::WrongPassphrase);
        }
        Err(e) => return Err(KeyError::Corrupt(e.to_string())),
    };
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .map_err(|_| KeyError::WrongPassphrase)?;
    let secret = SecretString::from(text);
    secret
        .expose_secret()
        .trim()
        .parse::<age::x25519::Identity>()
        .map_err(|_| KeyError::Corrupt("geen age-sleutel".into()))
}

/// The unlocked keys of one gemeente, held for one session. Never serialised or logged.
pub struct KeyRing {
    gemeente: GemeenteId,
    keys: Vec<(RecipientKeyId, age::x25519::Identity)>,
    match_key: [u8; 32],
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing { <redacted> }")
    }
}

impl KeyRing {
    /// Unwraps every stored key with the passphrase. CPU-heavy (scrypt): call it on a
    /// blocking thread.
    pub fn open(
        gemeente: GemeenteId,
        stored: &[StoredKey],
        passphrase: &SecretString,
    ) -> Result<KeyRing, KeyError> {
        let first = stored.first().ok_or(KeyError::NoKey)?;
        // The first key decides: a wrong passphrase is reported after one scrypt, not n.
        let root = unwrap(&first.wrapped, passphrase)?;
        let match_key = blake3::derive_key(
            "avondronde 2026 meldpunt match pseudonym v1",
            root.to_string().expose_secret().as_bytes(),
        );
        let mut keys = vec![(first.id.clone(), root)];
        for k in &stored[1..] {
            keys.push((k.id.clone(), unwrap(&k.wrapped, passphrase)?));
        }
        Ok(KeyRing {
            gemeente,
            keys,
            match_key,
        })
    }

    /// The gemeente whose keys these are.
    pub fn gemeente(&self) -> GemeenteId {
        self.gemeente
    }

    /// Whether the ring holds the key a form names.
    pub fn has(&self, id: &RecipientKeyId) -> bool {
        self.keys.iter().any(|(k, _)| k == id)
    }

    /// The key for match pseudonyms.
    pub fn match_key(&self) -> &[u8; 32] {
        &self.match_key
    }

    /// Opens a sealed form.
    pub fn open_form(
        &self,
        key: &RecipientKeyId,
        sealed: &[u8],
    ) -> Result<CareFormContent, OpenError> {
        // The named key first; all of them as a fallback for a mislabelled envelope.
        let mut order: Vec<&age::x25519::Identity> = self
            .keys
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, i)| i)
            .collect();
        order.extend(self.keys.iter().filter(|(k, _)| k != key).map(|(_, i)| i));
        let decryptor = age::Decryptor::new_buffered(sealed).map_err(|_| OpenError::Damaged)?;
        let mut reader = match decryptor.decrypt(order.into_iter().map(|i| i as &dyn age::Identity))
        {
            Ok(r) => r,
            Err(age::DecryptError::NoMatchingKeys) => return Err(OpenError::NoMatchingKey),
            Err(_) => return Err(OpenError::Damaged),
        };
        let mut plain = Vec::new();
        reader
            .read_to_end(&mut plain)
            .map_err(|_| OpenError::Damaged)?;
        let content = serde_json::from_slice(&plain).map_err(|_| OpenError::Damaged);
        // The plaintext buffer held personal data: clear it before it is freed.
        plain.iter_mut().for_each(|b| *b = 0);
        content
    }
}

fn new_key_id() -> RecipientKeyId {
    RecipientKeyId(uuid::Uuid::now_v7().to_string())
}

/// A new key's secrets and signed link, ready to store.
struct NewKey<'a> {
    id: &'a RecipientKeyId,
    identity: &'a age::x25519::Identity,
    wrapped: &'a [u8],
    signing_seed: &'a [u8],
    link: &'a KeyLink,
}

fn insert(
    tx: &Tx,
    gemeente: GemeenteId,
    key: &NewKey<'_>,
    now_ms: i64,
) -> Result<MeldpuntKey, KeyError> {
    let id = key.id;
    let recipient = key.identity.to_public().to_string();
    store::meldpunt_keys::insert(
        tx,
        gemeente,
        &store::meldpunt_keys::NewKey {
            id,
            recipient: &recipient,
            wrapped: key.wrapped,
            created_at: now_ms,
            signing_seed: key.signing_seed,
            link: key.link,
        },
    )?;
    Ok(MeldpuntKey {
        id: id.clone(),
        recipient,
    })
}

/// Makes the first meldpunt key of a gemeente, wrapped under `passphrase`, and bumps the
/// config version so devices pull the recipient.
pub fn create(
    tx: &Tx,
    gemeente: GemeenteId,
    passphrase: &SecretString,
    now_ms: i64,
) -> Result<MeldpuntKey, KeyError> {
    check_new_passphrase(passphrase)?;
    if !load(tx, gemeente)?.is_empty() {
        return Err(KeyError::KeyExists);
    }
    let identity = age::x25519::Identity::generate();
    let wrapped = wrap(&identity, passphrase)?;
    let id = new_key_id();
    let seed: [u8; 32] = rand::random();
    let link = sign_link(&new_link(0, gemeente, seed, &id, &identity, now_ms)?, &seed);
    let key = insert(
        tx,
        gemeente,
        &NewKey {
            id: &id,
            identity: &identity,
            wrapped: &wrapped,
            signing_seed: &wrap_bytes(&seed, passphrase)?,
            link: &link,
        },
        now_ms,
    )?;
    bump_config(tx, gemeente)?;
    Ok(key)
}

fn new_link(
    seq: u32,
    gemeente: GemeenteId,
    signing_seed: [u8; 32],
    id: &RecipientKeyId,
    identity: &age::x25519::Identity,
    now_ms: i64,
) -> Result<NewLink, KeyError> {
    let at = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms).map_err(|e| KeyError::Corrupt(e.to_string()))
    };
    Ok(NewLink {
        seq,
        gemeente,
        signing_seed,
        recipient_id: id.clone(),
        recipient: identity.to_public().to_string(),
        valid_from: at(now_ms.saturating_sub(CLOCK_TOLERANCE_MS))?,
        valid_until: at(now_ms.saturating_add(VALIDITY_MS))?,
    })
}

/// The chain phones verify: the signed links from the newest root on, oldest first.
/// `None` when the gemeente has no signed key (no key, or only keys made before chains).
pub fn chain(tx: &Tx, gemeente: GemeenteId) -> Result<Option<KeyChain>, DbError> {
    let links: Vec<KeyLink> = load(tx, gemeente)?
        .into_iter()
        .filter_map(|k| k.link)
        .collect();
    let start = links.iter().rposition(|l| l.seq == 0);
    Ok(start.map(|i| KeyChain {
        links: links[i..].to_vec(),
    }))
}

/// The fingerprint of the gemeente's root signing key: what phones pin, what the QR code
/// carries and what the meldpunt page shows as words.
pub fn root_fingerprint(tx: &Tx, gemeente: GemeenteId) -> Result<Option<Fingerprint>, DbError> {
    Ok(chain(tx, gemeente)?
        .and_then(|c| c.links.first().cloned())
        .and_then(|l| Fingerprint::of_encoded(&l.signing_key).ok()))
}

/// Replaces the current key: the old passphrase must open every existing key; a new key
/// becomes current, every identity (old and new) is wrapped under `new_passphrase`, the
/// old current key is retired (it still opens the forms sealed to it) and devices pull
/// the new recipient.
pub fn rotate(
    tx: &Tx,
    gemeente: GemeenteId,
    old_passphrase: &SecretString,
    new_passphrase: &SecretString,
    now_ms: i64,
) -> Result<MeldpuntKey, KeyError> {
    check_new_passphrase(new_passphrase)?;
    let stored = load(tx, gemeente)?;
    let ring = KeyRing::open(gemeente, &stored, old_passphrase)?;
    for (id, identity) in &ring.keys {
        store::meldpunt_keys::set_identity(tx, gemeente, id, &wrap(identity, new_passphrase)?)?;
    }
    // The previous signing key signs the next link; every seed is re-wrapped too.
    let mut previous: Option<(u32, [u8; 32])> = None;
    for k in &stored {
        let Some(w) = &k.signing_seed else { continue };
        let seed = unwrap_seed(w, old_passphrase)?;
        store::meldpunt_keys::set_signing_seed(
            tx,
            gemeente,
            &k.id,
            &wrap_bytes(&seed, new_passphrase)?,
        )?;
        if let Some(link) = &k.link {
            previous = Some((link.seq, seed));
        }
    }
    store::meldpunt_keys::retire_current(tx, gemeente, now_ms)?;
    let identity = age::x25519::Identity::generate();
    let wrapped = wrap(&identity, new_passphrase)?;
    // Strictly after the others, so "oldest first" stays true within one millisecond.
    let created = stored
        .iter()
        .map(|k| k.created_at + 1)
        .max()
        .unwrap_or(now_ms)
        .max(now_ms);
    let id = new_key_id();
    let seed: [u8; 32] = rand::random();
    // A gemeente whose keys predate chains starts one here (phones enrolled before then
    // pinned nothing and must be enrolled again to trust it).
    let (seq, signer) = previous.map_or((0, seed), |(seq, s)| (seq + 1, s));
    let link = sign_link(
        &new_link(seq, gemeente, seed, &id, &identity, now_ms)?,
        &signer,
    );
    let key = insert(
        tx,
        gemeente,
        &NewKey {
            id: &id,
            identity: &identity,
            wrapped: &wrapped,
            signing_seed: &wrap_bytes(&seed, new_passphrase)?,
            link: &link,
        },
        created,
    )?;
    bump_config(tx, gemeente)?;
    Ok(key)
}

/// Who makes or rotates a key, for the audit log.
#[derive(Debug, Clone)]
pub struct KeyActor<'a> {
    /// The person (the meldpunt on the web, or the command line).
    pub actor: &'a crate::audit::Actor,
    /// Their address, if known.
    pub address: Option<std::net::IpAddr>,
}

fn record_key_event(
    tx: &Tx,
    gemeente: GemeenteId,
    by: &KeyActor<'_>,
    action: crate::audit::Action,
    detail: String,
    now_ms: i64,
) -> Result<(), KeyError> {
    crate::audit::record(
        tx,
        &crate::audit::Event {
            gemeente,
            actor: by.actor,
            action,
            form: None,
            address: by.address,
            detail,
        },
        now_ms,
    )?;
    Ok(())
}

/// [`create`] plus its audit entry, all or nothing; returns the key and the root
/// fingerprint to show as words. The command line and the meldpunt page both call this.
pub fn create_recorded(
    tx: &Tx,
    gemeente: GemeenteId,
    passphrase: &SecretString,
    by: &KeyActor<'_>,
    now_ms: i64,
) -> Result<(MeldpuntKey, Option<Fingerprint>), KeyError> {
    store::atomically(tx, || {
        let key = create(tx, gemeente, passphrase, now_ms)?;
        record_key_event(
            tx,
            gemeente,
            by,
            crate::audit::Action::KeyCreate,
            format!("sleutel {}", key.id.0),
            now_ms,
        )?;
        Ok((key, root_fingerprint(tx, gemeente)?))
    })
}

/// [`rotate`] plus its audit entry, all or nothing; returns the new key and the root
/// fingerprint (unchanged by a rotation, unless the gemeente's keys predate chains).
pub fn rotate_recorded(
    tx: &Tx,
    gemeente: GemeenteId,
    old_passphrase: &SecretString,
    new_passphrase: &SecretString,
    by: &KeyActor<'_>,
    now_ms: i64,
) -> Result<(MeldpuntKey, Option<Fingerprint>), KeyError> {
    store::atomically(tx, || {
        let key = rotate(tx, gemeente, old_passphrase, new_passphrase, now_ms)?;
        record_key_event(
            tx,
            gemeente,
            by,
            crate::audit::Action::KeyRotate,
            format!("nieuwe sleutel {}", key.id.0),
            now_ms,
        )?;
        Ok((key, root_fingerprint(tx, gemeente)?))
    })
}

/// The state of a gemeente's meldpunt key, for the admin and meldpunt pages (public parts
/// only).
#[derive(Debug, Clone, Default)]
pub struct KeyStatus {
    /// How many keys the gemeente has had (the current one and the retired ones).
    pub keys: usize,
    /// When the current key was made, unix ms.
    pub current_since: Option<i64>,
    /// Until when phones accept the current key's signature, unix ms (`None`: unsigned).
    pub valid_until: Option<i64>,
    /// The root fingerprint phones pin.
    pub fingerprint: Option<Fingerprint>,
}

/// Reads [`KeyStatus`].
pub fn status(tx: &Tx, gemeente: GemeenteId) -> Result<KeyStatus, DbError> {
    let stored = load(tx, gemeente)?;
    let current = stored.iter().rev().find(|k| k.retired_at.is_none());
    Ok(KeyStatus {
        keys: stored.len(),
        current_since: current.map(|k| k.created_at),
        valid_until: current
            .and_then(|k| k.link.as_ref())
            .map(|l| l.valid_until.as_millisecond()),
        fingerprint: root_fingerprint(tx, gemeente)?,
    })
}

/// Seals a care form to a recipient, as the field app does. The server itself never
/// seals real forms; the demo and the tests use this.
pub fn seal(content: &CareFormContent, recipient: &str) -> Result<Vec<u8>, KeyError> {
    let recipient: age::x25519::Recipient = recipient
        .trim()
        .parse()
        .map_err(|_| KeyError::Corrupt("ongeldige ontvanger".into()))?;
    let plain = serde_json::to_vec(content).map_err(|e| KeyError::Corrupt(e.to_string()))?;
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
        .map_err(|e| KeyError::Corrupt(e.to_string()))?;
    let mut out = Vec::new();
    let mut w = encryptor
        .wrap_output(&mut out)
        .map_err(|e| KeyError::Corrupt(e.to_string()))?;
    w.write_all(&plain)
        .and_then(|()| w.finish().map(|_| ()))
        .map_err(|e| KeyError::Corrupt(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::db::open_connection;
    use crate::store::Direct;
    use avondronde_shared::care::{Birth, ParentsReaction, Reception};
    use rusqlite::Connection;

    pub(in crate::meldpunt) fn pass(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    pub(crate) fn content(name: &str) -> CareFormContent {
        CareFormContent {
            child_name: name.into(),
            birth: Birth::Date(jiff::civil::date(2016, 4, 3)),
            address: "Schiedamseweg 1".into(),
            reception: Reception::Warm,
            siblings_present: false,
            parents_reaction: ParentsReaction::Cooperative,
            parents_informed: true,
            signals: vec![],
            narrative: String::new(),
        }
    }

    pub(in crate::meldpunt) fn gemeente(conn: &Connection) -> GemeenteId {
        crate::setup::create_gemeente(
            &crate::store::Tx::over(conn),
            "Test",
            "GM0001",
            &avondronde_shared::norms::NormSet::rotterdam(),
        )
        .expect("gemeente")
    }

    /// A database on file: a connection for arranging and inspecting, the store on the same
    /// file for the functions under test.
    pub(in crate::meldpunt) fn open(dir: &tempfile::TempDir) -> (Connection, Direct) {
        let path = dir.path().join("k.db");
        let conn = open_connection(&path).expect("open");
        (conn, Direct::open(&path).expect("direct"))
    }

    pub(in crate::meldpunt) fn create_key(
        d: &mut Direct,
        g: GemeenteId,
        p: &SecretString,
        now: i64,
    ) -> Result<MeldpuntKey, KeyError> {
        d.transaction(|tx| Ok(create(tx, g, p, now))).expect("db")
    }

    pub(in crate::meldpunt) fn loaded(d: &Direct, g: GemeenteId) -> Vec<StoredKey> {
        d.read(|tx| load(tx, g)).expect("load")
    }

    #[test]
    fn the_database_holds_only_the_wrapped_identity_and_a_wrong_passphrase_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (conn, mut d) = open(&dir);
        let g = gemeente(&conn);
        let before = d
            .read(|tx| crate::state::config_version(tx, g))
            .expect("version");
        let key = create_key(&mut d, g, &pass("correct paard batterij"), 1).expect("create");
        assert_eq!(
            d.read(|tx| crate::state::config_version(tx, g)).expect("v"),
            before + 1
        );
        assert!(key.recipient.starts_with("age1"));
        let stored = loaded(&d, g);
        assert!(
            !String::from_utf8_lossy(&stored[0].wrapped).contains("AGE-SECRET-KEY"),
            "the identity is stored wrapped"
        );
        let err = KeyRing::open(g, &stored, &pass("fout wachtwoord!")).expect_err("wrong");
        assert!(matches!(err, KeyError::WrongPassphrase));
        assert!(err.to_string().contains("wachtwoordzin klopt niet"));
        assert!(matches!(
            create_key(&mut d, g, &pass("nog een sleutel erbij"), 2),
            Err(KeyError::KeyExists)
        ));
        assert!(matches!(
            create_key(&mut d, gemeente_b(&conn), &pass("kort"), 2),
            Err(KeyError::WeakPassphrase)
        ));
    }

    fn gemeente_b(conn: &Connection) -> GemeenteId {
        crate::setup::create_gemeente(
            &crate::store::Tx::over(conn),
            "B",
            "GM0002",
            &avondronde_shared::norms::NormSet::rotterdam(),
        )
        .expect("gemeente")
    }

    #[test]
    fn rotation_keeps_old_forms_readable_under_the_new_passphrase() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (conn, mut d) = open(&dir);
        let g = gemeente(&conn);
        let old = create_key(&mut d, g, &pass("eerste wachtwoordzin"), 1).expect("create");
        let old_form = seal(&content("Oud Kind"), &old.recipient).expect("seal");
        let new = d
            .transaction(|tx| {
                Ok(rotate(
                    tx,
                    g,
                    &pass("eerste wachtwoordzin"),
                    &pass("tweede wachtwoordzin"),
                    1,
                ))
            })
            .expect("db")
            .expect("rotate");
        assert_ne!(old.id, new.id);
        let current = crate::state::current_meldpunt_key(&crate::store::Tx::over(&conn), g)
            .expect("current")
            .expect("some");
        assert_eq!(current, new, "devices get the new recipient");
        let new_form = seal(&content("Nieuw Kind"), &new.recipient).expect("seal");
        let stored = loaded(&d, g);
        assert!(matches!(
            KeyRing::open(g, &stored, &pass("eerste wachtwoordzin")),
            Err(KeyError::WrongPassphrase)
        ));
        let ring = KeyRing::open(g, &stored, &pass("tweede wachtwoordzin")).expect("open");
        assert_eq!(
            ring.open_form(&old.id, &old_form).expect("old").child_name,
            "Oud Kind"
        );
        assert_eq!(
            ring.open_form(&new.id, &new_form).expect("new").child_name,
            "Nieuw Kind"
        );
        // The chain: root and rotation, the rotation signed by the root's key.
        let chain = d.read(|tx| chain(tx, g)).expect("chain").expect("some");
        let pin = d
            .read(|tx| root_fingerprint(tx, g))
            .expect("fp")
            .expect("some");
        assert_eq!(chain.links.len(), 2);
        let now = jiff::Timestamp::from_millisecond(2).expect("ts");
        let trusted = avondronde_shared::keychain::verify(&chain, &pin, g, now).expect("trusted");
        assert_eq!(trusted, new);
        assert!(
            !stored
                .iter()
                .filter_map(|k| k.signing_seed.as_ref())
                .any(|w| w.len() == 32),
            "signing seeds are stored wrapped"
        );
        assert!(matches!(
            d.transaction(|tx| Ok(rotate(
                tx,
                g,
                &pass("fout fout fout"),
                &pass("derde wachtwoordzin"),
                2
            )))
            .expect("db"),
            Err(KeyError::WrongPassphrase)
        ));
    }
}
