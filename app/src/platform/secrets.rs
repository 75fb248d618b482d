//! Where the store's key and the device token are kept.
//!
//! The platform's keychain is used where it answers:
//! - **Android**: the Android Keystore. The values sit in the app's SharedPreferences,
//!   encrypted with an AES key that lives in the Keystore (hardware-backed where the phone
//!   has it) and never leaves it (`secrets/android.rs`).
//! - **iOS**: the Keychain, with the this-device-only class
//!   `kSecAttrAccessibleWhenUnlockedThisDeviceOnly`, so the items are in no backup or
//!   iCloud sync and cannot be restored onto another phone (`secrets/ios.rs`).
//! - **Desktop**: the macOS Keychain, Windows Credential Manager, or the Secret Service on
//!   a Linux desktop, through the `keyring` crate.
//!
//! Otherwise a file that only this user can read (mode 0600) in the app's private data
//! directory. The choice is made once per data directory and remembered in a marker file,
//! so a keychain that is briefly unavailable never makes the app invent a new key and lose
//! its store. On a phone, secrets that a file holds (an install from before the keystore
//! was used, or a start when it did not answer) move into the keystore as soon as it
//! answers: each is written and read back before the marker changes, and the files go
//! only after that. The UI says which one is in use.
//!
//! Entries are named per data directory (`entry_name`), so two stores on one machine
//! (tests, two users) never share a key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

// The Android module is compiled on the host in test builds too, so that `cargo test` and
// clippy here type-check it against the real `android-native-keyring-store` API (it
// cannot reach a keystore here: there is no Android app context).
#[cfg(any(target_os = "android", test))]
mod android;
#[cfg(target_os = "ios")]
mod ios;
#[cfg(any(target_os = "android", target_os = "ios", test))]
mod phone;

/// The marker file that remembers the choice.
const MARKER: &str = "secrets.backend";
/// The environment variable that forces the file backend (tests, CI, headless machines).
pub const FORCE_FILE_ENV: &str = "AVONDRONDE_SECRETS_FILE";

/// A secret that the app keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// The SQLCipher key of the local store.
    StoreKey,
    /// The device's bearer token for the sync server.
    DeviceToken,
}

impl Secret {
    /// Every secret, so that a wipe and a move into the keystore forget none.
    pub const ALL: [Secret; 2] = [Secret::StoreKey, Secret::DeviceToken];

    fn name(self) -> &'static str {
        match self {
            Secret::StoreKey => "store-key",
            Secret::DeviceToken => "device-token",
        }
    }
}

/// Where secrets are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The platform's keychain (on a phone: its keystore).
    Keychain,
    /// A file readable by this user only.
    File,
}

impl Backend {
    /// What the UI says about it on this platform.
    pub fn label_nl(self) -> &'static str {
        self.label_nl_on(cfg!(any(target_os = "android", target_os = "ios")))
    }

    /// What the UI says about it on a phone (`phone`) or a computer.
    fn label_nl_on(self, phone: bool) -> &'static str {
        match (self, phone) {
            (Backend::Keychain, true) => {
                "Sleutels bewaakt door de beveiligde sleutelopslag van de telefoon"
            }
            (Backend::Keychain, false) => "Sleutels in de sleutelhanger van het toestel",
            (Backend::File, _) => {
                "Sleutels in een afgeschermd bestand (alleen leesbaar voor deze gebruiker)"
            }
        }
    }
}

/// How to choose the backend for a fresh data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preference {
    /// The keychain if it answers, else the file.
    #[default]
    Auto,
    /// Always the file.
    File,
}

/// Keeping a secret failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Reading or writing the secret file failed.
    #[error("kan de sleutel niet lezen of schrijven in {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The keychain was chosen before but does not answer now.
    #[error(
        "de sleutelhanger van het toestel antwoordt niet ({0}); ontgrendel het toestel en probeer opnieuw"
    )]
    Keychain(String),
}

/// A platform keychain: the three calls the seam needs. `name` is an entry's name from
/// `entry_name`; the service is always [`crate::platform::APP_ID`].
trait Keychain: std::fmt::Debug + Send + Sync {
    /// Reads an entry, `None` if there is none.
    fn get(&self, name: &str) -> Result<Option<String>, SecretError>;
    /// Writes an entry durably.
    fn set(&self, name: &str, value: &str) -> Result<(), SecretError>;
    /// Deletes an entry; deleting one that is not there is fine.
    fn delete(&self, name: &str) -> Result<(), SecretError>;
    /// Whether secrets found in files move into this keychain when it answers. True for the
    /// phones' keystores, where the file was only ever the stopgap; false on a desktop,
    /// where a file can be the user's setting.
    fn adopts_files(&self) -> bool {
        false
    }
}

/// The name of a secret's entry for the data directory `dir`: the secret's name and a
/// short stable tag of the path (FNV-1a; no security purpose, only naming).
fn entry_name(dir: &Path, name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in dir.to_string_lossy().as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{name}-{h:016x}")
}

/// Whether the keychain answers: write, read back and delete a probe entry.
fn probe(keychain: &dyn Keychain, dir: &Path) -> bool {
    let name = entry_name(dir, "probe");
    let ok = keychain.set(&name, "probe").is_ok()
        && keychain
            .get(&name)
            .map(|p| p.as_deref() == Some("probe"))
            .unwrap_or(false);
    let _ = keychain.delete(&name);
    ok
}

/// The secret store of one data directory.
#[derive(Debug, Clone)]
pub struct Secrets {
    dir: PathBuf,
    backend: Backend,
    keychain: Arc<dyn Keychain>,
}

impl Secrets {
    /// Opens the secret store of `dir`, choosing a backend the first time.
    pub fn open(dir: &Path, preference: Preference) -> Result<Secrets, SecretError> {
        let file_only =
            preference == Preference::File || std::env::var_os(FORCE_FILE_ENV).is_some();
        Secrets::open_with(dir, file_only, platform_keychain())
    }

    /// Opens with a given keychain; `file_only` keeps a fresh directory on the file.
    fn open_with(
        dir: &Path,
        file_only: bool,
        keychain: Arc<dyn Keychain>,
    ) -> Result<Secrets, SecretError> {
        let marker = dir.join(MARKER);
        let io = |source| SecretError::Io {
            path: marker.clone(),
            source,
        };
        let backend = match std::fs::read_to_string(&marker) {
            Ok(text) if text.trim() == "keychain" => Backend::Keychain,
            Ok(_) if !file_only && keychain.adopts_files() && probe(keychain.as_ref(), dir) => {
                // The copies are in the keychain before the marker changes; until it does,
                // the files stay the store, so a failure anywhere here loses nothing.
                match adopt_files(dir, keychain.as_ref())
                    .and_then(|()| write_private(&marker, b"keychain").map_err(io))
                {
                    Ok(()) => Backend::Keychain,
                    Err(e) => {
                        tracing::warn!("secrets stay in files: moving them failed: {e}");
                        Backend::File
                    }
                }
            }
            Ok(_) => Backend::File,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let backend = if !file_only && probe(keychain.as_ref(), dir) {
                    Backend::Keychain
                } else {
                    Backend::File
                };
                let word = match backend {
                    Backend::Keychain => "keychain",
                    Backend::File => "file",
                };
                write_private(&marker, word.as_bytes()).map_err(io)?;
                backend
            }
            Err(e) => return Err(io(e)),
        };
        let secrets = Secrets {
            dir: dir.to_path_buf(),
            backend,
            keychain,
        };
        if backend == Backend::Keychain {
            secrets.remove_moved_files()?;
        }
        Ok(secrets)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Reads a secret, if it was set.
    pub fn get(&self, secret: Secret) -> Result<Option<String>, SecretError> {
        match self.backend {
            Backend::Keychain => self.keychain.get(&self.entry(secret)),
            Backend::File => read_file(&self.file(secret)),
        }
    }

    /// Stores a secret durably.
    pub fn set(&self, secret: Secret, value: &str) -> Result<(), SecretError> {
        match self.backend {
            Backend::Keychain => self.keychain.set(&self.entry(secret), value),
            Backend::File => {
                let path = self.file(secret);
                write_private(&path, value.as_bytes()).map_err(|source| SecretError::Io {
                    path: path.clone(),
                    source,
                })
            }
        }
    }

    /// Forgets a secret (a revoked token).
    pub fn delete(&self, secret: Secret) -> Result<(), SecretError> {
        match self.backend {
            Backend::Keychain => {
                self.keychain.delete(&self.entry(secret))?;
                // A file left by an interrupted move into the keychain goes too.
                remove_file(&self.file(secret))
            }
            Backend::File => remove_file(&self.file(secret)),
        }
    }

    /// Forgets every secret: the store key and the device token (a wipe).
    pub fn delete_all(&self) -> Result<(), SecretError> {
        for secret in Secret::ALL {
            self.delete(secret)?;
        }
        Ok(())
    }

    /// After a move into the keychain: deletes each file whose value the keychain now holds
    /// (a start that was interrupted between the marker and the deletion). A file whose
    /// value the keychain does not hold is left alone: a key is never thrown away unless
    /// it is kept elsewhere.
    fn remove_moved_files(&self) -> Result<(), SecretError> {
        for secret in Secret::ALL {
            let path = self.file(secret);
            if let Some(value) = read_file(&path)?
                && self.keychain.get(&self.entry(secret))?.as_deref() == Some(value.as_str())
            {
                remove_file(&path)?;
            }
        }
        Ok(())
    }

    fn entry(&self, secret: Secret) -> String {
        entry_name(&self.dir, secret.name())
    }

    fn file(&self, secret: Secret) -> PathBuf {
        self.dir.join(format!("{}.secret", secret.name()))
    }
}

/// Copies the secrets that files hold into `keychain`, reading each back.
fn adopt_files(dir: &Path, keychain: &dyn Keychain) -> Result<(), SecretError> {
    for secret in Secret::ALL {
        let path = dir.join(format!("{}.secret", secret.name()));
        if let Some(value) = read_file(&path)? {
            let name = entry_name(dir, secret.name());
            keychain.set(&name, &value)?;
            if keychain.get(&name)?.as_deref() != Some(value.as_str()) {
                return Err(SecretError::Keychain(
                    "de sleutel kwam anders terug dan hij werd weggeschreven".into(),
                ));
            }
        }
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Option<String>, SecretError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SecretError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn remove_file(path: &Path) -> Result<(), SecretError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(SecretError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a file readable by this user only, atomically and durably.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent()
        && let Ok(dir) = std::fs::File::open(parent)
    {
        // Make the rename itself durable; not every platform can sync a directory.
        let _ = dir.sync_all();
    }
    Ok(())
}

/// This platform's keychain.
fn platform_keychain() -> Arc<dyn Keychain> {
    #[cfg(target_os = "android")]
    return android::keychain();
    #[cfg(target_os = "ios")]
    return ios::keychain();
    #[cfg(any(target_os = "macos", target_os = "windows", target_os = "linux"))]
    return Arc::new(desktop::Keyring);
    #[cfg(not(any(
        target_os = "android",
        target_os = "ios",
        target_os = "macos",
        target_os = "windows",
        target_os = "linux"
    )))]
    return Arc::new(NoKeychain);
}

/// The desktop keychains, through the `keyring` crate (3.x).
#[cfg(any(target_os = "macos", target_os = "windows", target_os = "linux"))]
mod desktop {
    use super::{Keychain, SecretError};
    use crate::platform::APP_ID;

    /// The macOS Keychain, Windows Credential Manager or the Linux Secret Service.
    #[derive(Debug)]
    pub(super) struct Keyring;

    fn entry(name: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(APP_ID, name).map_err(|e| SecretError::Keychain(e.to_string()))
    }

    impl Keychain for Keyring {
        fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
            match entry(name)?.get_password() {
                Ok(p) => Ok(Some(p)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(SecretError::Keychain(e.to_string())),
            }
        }

        fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
            entry(name)?
                .set_password(value)
                .map_err(|e| SecretError::Keychain(e.to_string()))
        }

        fn delete(&self, name: &str) -> Result<(), SecretError> {
            match entry(name)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(SecretError::Keychain(e.to_string())),
            }
        }
    }
}

/// Platforms without a keychain this app reaches: the private file is the store.
#[cfg(not(any(
    target_os = "android",
    target_os = "ios",
    target_os = "macos",
    target_os = "windows",
    target_os = "linux"
)))]
#[derive(Debug)]
struct NoKeychain;

#[cfg(not(any(
    target_os = "android",
    target_os = "ios",
    target_os = "macos",
    target_os = "windows",
    target_os = "linux"
)))]
impl Keychain for NoKeychain {
    fn get(&self, _name: &str) -> Result<Option<String>, SecretError> {
        Err(SecretError::Keychain(
            "geen sleutelhanger op dit platform".into(),
        ))
    }

    fn set(&self, _name: &str, _value: &str) -> Result<(), SecretError> {
        Err(SecretError::Keychain(
            "geen sleutelhanger op dit platform".into(),
        ))
    }

    fn delete(&self, _name: &str) -> Result<(), SecretError> {
        Err(SecretError::Keychain(
            "geen sleutelhanger op dit platform".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_backend_keeps_secrets_private_and_remembers_its_choice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Secrets::open(dir.path(), Preference::File).expect("open");
        assert_eq!(s.backend(), Backend::File);
        assert_eq!(s.get(Secret::DeviceToken).expect("get"), None);
        s.set(Secret::DeviceToken, "tok").expect("set");
        assert_eq!(
            s.get(Secret::DeviceToken).expect("get").as_deref(),
            Some("tok")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("device-token.secret"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Reopening with Auto keeps the file backend: the marker wins.
        let again = Secrets::open(dir.path(), Preference::Auto).expect("reopen");
        assert_eq!(again.backend(), Backend::File);
        again.delete(Secret::DeviceToken).expect("delete");
        assert_eq!(again.get(Secret::DeviceToken).expect("get"), None);
    }

    #[test]
    fn entry_names_differ_per_data_directory_and_per_secret_and_are_stable() {
        let a = Path::new("/data/data/nl.avondronde.veld/files");
        let b = Path::new("/data/data/nl.avondronde.veld/files2");
        assert_ne!(entry_name(a, "store-key"), entry_name(b, "store-key"));
        assert_ne!(entry_name(a, "store-key"), entry_name(a, "device-token"));
        // Stable across versions: a changed name would lose the key of an existing store.
        assert_eq!(entry_name(a, "store-key"), entry_name(a, "store-key"));
        assert!(entry_name(a, "store-key").starts_with("store-key-"));
        assert_eq!(entry_name(a, "store-key").len(), "store-key-".len() + 16);
    }

    #[test]
    fn the_label_says_on_a_phone_that_the_keystore_guards_the_keys() {
        let phone = Backend::Keychain.label_nl_on(true);
        assert!(phone.contains("telefoon"), "{phone}");
        assert!(phone.contains("sleutelopslag"), "{phone}");
        assert_ne!(phone, Backend::Keychain.label_nl_on(false));
        // A file is never described as the keystore.
        assert!(!Backend::File.label_nl_on(true).contains("sleutelopslag"));
        #[cfg(not(any(target_os = "android", target_os = "ios")))]
        assert_eq!(
            Backend::Keychain.label_nl(),
            Backend::Keychain.label_nl_on(false)
        );
    }
}
