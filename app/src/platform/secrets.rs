//! Where the store's key and the device token are kept.
//!
//! The OS keychain is used where the platform has one that answers (macOS and iOS
//! Keychain, Windows Credential Manager, the Secret Service on a Linux desktop); otherwise
//! a file that only this user can read (mode 0600) in the app's private data directory,
//! which is what Android's app sandbox gives. The choice is made once per data directory
//! and remembered in a marker file, so a keychain that is briefly unavailable never makes
//! the app invent a new key and lose its store. The UI says which one is in use.

use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// The operating system's keychain.
    Keychain,
    /// A file readable by this user only.
    File,
}

impl Backend {
    /// What the UI says about it.
    pub fn label_nl(self) -> &'static str {
        match self {
            Backend::Keychain => "Sleutels in de sleutelhanger van het toestel",
            Backend::File => {
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

/// The secret store of one data directory.
#[derive(Debug, Clone)]
pub struct Secrets {
    dir: PathBuf,
    backend: Backend,
}

impl Secrets {
    /// Opens the secret store of `dir`, choosing a backend the first time.
    pub fn open(dir: &Path, preference: Preference) -> Result<Secrets, SecretError> {
        let marker = dir.join(MARKER);
        let io = |source| SecretError::Io {
            path: marker.clone(),
            source,
        };
        let backend = match std::fs::read_to_string(&marker) {
            Ok(text) if text.trim() == "keychain" => Backend::Keychain,
            Ok(_) => Backend::File,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let forced = std::env::var_os(FORCE_FILE_ENV).is_some();
                let backend = if preference == Preference::File || forced {
                    Backend::File
                } else if keychain::probe(dir) {
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
        Ok(Secrets {
            dir: dir.to_path_buf(),
            backend,
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Reads a secret, if it was set.
    pub fn get(&self, secret: Secret) -> Result<Option<String>, SecretError> {
        match self.backend {
            Backend::Keychain => keychain::get(&self.dir, secret.name()),
            Backend::File => {
                let path = self.file(secret);
                match std::fs::read_to_string(&path) {
                    Ok(s) => Ok(Some(s.trim().to_owned())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(SecretError::Io { path, source }),
                }
            }
        }
    }

    /// Stores a secret durably.
    pub fn set(&self, secret: Secret, value: &str) -> Result<(), SecretError> {
        match self.backend {
            Backend::Keychain => keychain::set(&self.dir, secret.name(), value),
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
            Backend::Keychain => keychain::delete(&self.dir, secret.name()),
            Backend::File => {
                let path = self.file(secret);
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(source) => Err(SecretError::Io { path, source }),
                }
            }
        }
    }

    fn file(&self, secret: Secret) -> PathBuf {
        self.dir.join(format!("{}.secret", secret.name()))
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

/// The keychain, through the `keyring` crate. Entries are named per data directory so
/// that two stores on one machine (tests, two users) never share a key.
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "windows",
    target_os = "linux"
))]
mod keychain {
    use std::path::Path;

    use super::SecretError;
    use crate::platform::APP_ID;

    fn entry(dir: &Path, name: &str) -> Result<keyring::Entry, keyring::Error> {
        let scope = fnv_tag(dir.to_string_lossy().as_bytes());
        keyring::Entry::new(APP_ID, &format!("{name}-{scope}"))
    }

    /// A short stable tag for a path (FNV-1a; no security purpose, only naming).
    fn fnv_tag(bytes: &[u8]) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }

    /// Whether the keychain answers: write, read back and delete a probe entry.
    pub fn probe(dir: &Path) -> bool {
        let Ok(e) = entry(dir, "probe") else {
            return false;
        };
        let ok = e.set_password("probe").is_ok()
            && e.get_password().map(|p| p == "probe").unwrap_or(false);
        let _ = e.delete_credential();
        ok
    }

    pub fn get(dir: &Path, name: &str) -> Result<Option<String>, SecretError> {
        let e = entry(dir, name).map_err(|e| SecretError::Keychain(e.to_string()))?;
        match e.get_password() {
            Ok(p) => Ok(Some(p)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(SecretError::Keychain(e.to_string())),
        }
    }

    pub fn set(dir: &Path, name: &str, value: &str) -> Result<(), SecretError> {
        entry(dir, name)
            .and_then(|e| e.set_password(value))
            .map_err(|e| SecretError::Keychain(e.to_string()))
    }

    pub fn delete(dir: &Path, name: &str) -> Result<(), SecretError> {
        let e = entry(dir, name).map_err(|e| SecretError::Keychain(e.to_string()))?;
        match e.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(SecretError::Keychain(e.to_string())),
        }
    }
}

/// Platforms without a keychain the `keyring` crate reaches (Android): the private file
/// in the app sandbox is the store.
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "windows",
    target_os = "linux"
)))]
mod keychain {
    use std::path::Path;

    use super::SecretError;

    const NONE: &str = "geen sleutelhanger op dit platform";

    pub fn probe(_dir: &Path) -> bool {
        false
    }

    pub fn get(_dir: &Path, _name: &str) -> Result<Option<String>, SecretError> {
        Err(SecretError::Keychain(NONE.into()))
    }

    pub fn set(_dir: &Path, _name: &str, _value: &str) -> Result<(), SecretError> {
        Err(SecretError::Keychain(NONE.into()))
    }

    pub fn delete(_dir: &Path, _name: &str) -> Result<(), SecretError> {
        Err(SecretError::Keychain(NONE.into()))
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
}
