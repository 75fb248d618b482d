//! The phones' keystores behind the seam: one adapter from a `keyring-core` credential
//! store (Android's `android.rs`, iOS's `ios.rs`) to the seam's [`Keychain`].
//!
//! Both phone stores come from the keyring maintainers' `keyring-core` family, so the
//! adapter is the same for both and is compiled and tested on the host, against an
//! in-memory credential store that stands in for the phone's keystore (the real ones need
//! a phone). It never lets a panic out: opening the Android store panics inside
//! `ndk-context` when no app context was set up, and a field worker's app must then fall
//! back to the file rather than crash.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use keyring_core::{CredentialStore, Entry, Error};

use super::{Keychain, SecretError};
use crate::platform::APP_ID;

/// Opens a platform's credential store.
pub(super) type Open = Box<dyn Fn() -> keyring_core::Result<Arc<CredentialStore>> + Send + Sync>;

/// The entry modifiers on iOS: the Keychain class `kSecAttrAccessibleWhenUnlockedThisDeviceOnly`
/// (the protected store's `access-policy`; `ios.rs` says why this class).
#[cfg_attr(not(target_os = "ios"), allow(dead_code))]
pub(super) const IOS_MODIFIERS: &[(&str, &str)] =
    &[("access-policy", "when-unlocked-this-device-only")];

/// A phone keystore, reached through a `keyring-core` credential store.
pub(super) struct StoreKeychain {
    what: &'static str,
    open: Open,
    modifiers: &'static [(&'static str, &'static str)],
    /// The store once it opened; a failed open is tried again on the next call.
    store: Mutex<Option<Arc<CredentialStore>>>,
}

impl std::fmt::Debug for StoreKeychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreKeychain")
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

impl StoreKeychain {
    /// A keychain over the store that `open` opens; `modifiers` go with every entry.
    pub(super) fn new(
        what: &'static str,
        open: Open,
        modifiers: &'static [(&'static str, &'static str)],
    ) -> StoreKeychain {
        StoreKeychain {
            what,
            open,
            modifiers,
            store: Mutex::new(None),
        }
    }

    fn store(&self) -> Result<Arc<CredentialStore>, SecretError> {
        let mut guard = self
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(store) = guard.as_ref() {
            return Ok(store.clone());
        }
        let store = guarded(self.what, || (self.open)())?.map_err(failure)?;
        *guard = Some(store.clone());
        Ok(store)
    }

    fn entry(&self, name: &str) -> Result<Entry, SecretError> {
        let store = self.store()?;
        let modifiers: HashMap<&str, &str> = self.modifiers.iter().copied().collect();
        guarded(self.what, || {
            if modifiers.is_empty() {
                store.build(APP_ID, name, None)
            } else {
                store.build(APP_ID, name, Some(&modifiers))
            }
        })?
        .map_err(failure)
    }
}

impl Keychain for StoreKeychain {
    fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        let entry = self.entry(name)?;
        match guarded(self.what, || entry.get_password())? {
            Ok(value) => Ok(Some(value)),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(failure(e)),
        }
    }

    fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        let entry = self.entry(name)?;
        guarded(self.what, || entry.set_password(value))?.map_err(failure)
    }

    fn delete(&self, name: &str) -> Result<(), SecretError> {
        let entry = self.entry(name)?;
        match guarded(self.what, || entry.delete_credential())? {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(failure(e)),
        }
    }

    fn adopts_files(&self) -> bool {
        true
    }
}

/// A store's error for the user. Its text names the kind of failure, never a value.
fn failure(e: Error) -> SecretError {
    SecretError::Keychain(e.to_string())
}

/// Runs a call into a platform store, turning a panic into an error.
fn guarded<T>(what: &str, call: impl FnOnce() -> T) -> Result<T, SecretError> {
    catch_unwind(AssertUnwindSafe(call)).map_err(|_| {
        tracing::warn!("{what}: the platform store panicked");
        SecretError::Keychain(format!("{what} is niet bereikbaar"))
    })
}

#[cfg(test)]
mod tests {
    //! The seam's keystore logic against an in-memory credential store standing in for the
    //! phone's keystore: the keystore itself cannot run on this machine.

    use std::any::Any;
    use std::sync::atomic::{AtomicU8, Ordering};

    use keyring_core::api::{Credential, CredentialApi, CredentialStoreApi};

    use std::path::Path;

    use super::*;
    use crate::platform::secrets::{
        Backend, MARKER, Secret, Secrets, entry_name, read_file, write_private,
    };
    use crate::store::{DB_FILE, Store, StoreError};

    /// How the stand-in keystore behaves.
    const ANSWERS: u8 = 0;
    /// Every call fails, as a locked or broken keystore does.
    const SILENT: u8 = 1;
    /// Reads of the app's secrets come back changed (the probe still passes).
    const GARBLES: u8 = 2;

    /// An in-memory keystore: entries by name, the modifiers each entry was built with.
    #[derive(Debug, Default)]
    struct Memory {
        entries: Mutex<HashMap<String, String>>,
        built_with: Mutex<Vec<HashMap<String, String>>>,
        mode: AtomicU8,
    }

    impl Memory {
        fn names(&self) -> Vec<String> {
            let mut names: Vec<String> = lock(&self.entries).keys().cloned().collect();
            names.sort();
            names
        }
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[derive(Debug)]
    struct MemoryStore(Arc<Memory>);

    #[derive(Debug)]
    struct MemoryCred {
        memory: Arc<Memory>,
        service: String,
        user: String,
    }

    fn unreachable_store() -> Error {
        Error::NoStorageAccess("stand-in keystore does not answer".into())
    }

    impl CredentialApi for MemoryCred {
        fn set_secret(&self, secret: &[u8]) -> keyring_core::Result<()> {
            if self.memory.mode.load(Ordering::SeqCst) == SILENT {
                return Err(unreachable_store());
            }
            let value = String::from_utf8(secret.to_vec())
                .map_err(|e| Error::BadEncoding(e.into_bytes()))?;
            lock(&self.memory.entries).insert(self.user.clone(), value);
            Ok(())
        }

        fn get_secret(&self) -> keyring_core::Result<Vec<u8>> {
            let mode = self.memory.mode.load(Ordering::SeqCst);
            if mode == SILENT {
                return Err(unreachable_store());
            }
            let mut value = lock(&self.memory.entries)
                .get(&self.user)
                .cloned()
                .ok_or(Error::NoEntry)?;
            if mode == GARBLES && !self.user.starts_with("probe-") {
                value.push('x');
            }
            Ok(value.into_bytes())
        }

        fn delete_credential(&self) -> keyring_core::Result<()> {
            if self.memory.mode.load(Ordering::SeqCst) == SILENT {
                return Err(unreachable_store());
            }
            lock(&self.memory.entries)
                .remove(&self.user)
                .map(|_| ())
                .ok_or(Error::NoEntry)
        }

        fn get_credential(&self) -> keyring_core::Result<Option<Arc<Credential>>> {
            Ok(None)
        }

        fn get_specifiers(&self) -> Option<(String, String)> {
            Some((self.service.clone(), self.user.clone()))
        }

        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    impl CredentialStoreApi for MemoryStore {
        fn vendor(&self) -> String {
            "avondronde test stand-in".into()
        }

        fn id(&self) -> String {
            "memory".into()
        }

        fn build(
            &self,
            service: &str,
            user: &str,
            modifiers: Option<&HashMap<&str, &str>>,
        ) -> keyring_core::Result<Entry> {
            let mods = modifiers
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            lock(&self.0.built_with).push(mods);
            Ok(Entry::new_with_credential(Arc::new(MemoryCred {
                memory: self.0.clone(),
                service: service.to_owned(),
                user: user.to_owned(),
            })))
        }

        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    /// A phone keychain over `memory`, built with `modifiers`.
    fn keychain(
        memory: &Arc<Memory>,
        modifiers: &'static [(&'static str, &'static str)],
    ) -> Arc<StoreKeychain> {
        let memory = memory.clone();
        Arc::new(StoreKeychain::new(
            "test keystore",
            Box::new(move || {
                let store: Arc<CredentialStore> = Arc::new(MemoryStore(memory.clone()));
                Ok(store)
            }),
            modifiers,
        ))
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn on_a_phone_the_keys_live_in_the_keystore_and_no_key_file_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = Arc::new(Memory::default());
        let s = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("open");
        assert_eq!(s.backend(), Backend::Keychain);
        let store = Store::open_in_dir(dir.path(), &s).expect("store");
        store.set_meta("probe", "Schiedamseweg 1").expect("write");
        drop(store);
        s.set(Secret::DeviceToken, "tok").expect("token");
        assert_eq!(
            memory.names(),
            vec![
                entry_name(dir.path(), "device-token"),
                entry_name(dir.path(), "store-key")
            ],
            "the probe entry is gone; both secrets are in the keystore"
        );
        let files = files_in(dir.path());
        assert!(
            files.iter().all(|f| !f.ends_with(".secret")),
            "an attacker copying the data directory finds no key: {files:?}"
        );
        // The store opens again with the key from the keystore.
        let again = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("reopen");
        let store = Store::open_in_dir(dir.path(), &again).expect("store again");
        assert_eq!(
            store.meta("probe").expect("read").as_deref(),
            Some("Schiedamseweg 1")
        );
    }

    #[test]
    fn the_wipe_deletes_every_keystore_entry_of_the_phone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = Arc::new(Memory::default());
        let s = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("open");
        s.set(Secret::DeviceToken, "tok").expect("token");
        let shared = Arc::new(Mutex::new(
            Store::open_in_dir(dir.path(), &s).expect("store"),
        ));
        assert_eq!(memory.names().len(), 2);
        crate::store::wipe(&shared, &s).expect("wipe");
        assert!(memory.names().is_empty(), "left: {:?}", memory.names());
        for secret in Secret::ALL {
            assert_eq!(s.get(secret).expect("get"), None);
        }
        assert!(!dir.path().join(DB_FILE).exists());
    }

    #[test]
    fn a_keystore_that_does_not_answer_leaves_the_keys_in_the_private_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = Arc::new(Memory::default());
        memory.mode.store(SILENT, Ordering::SeqCst);
        let s = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("open");
        assert_eq!(s.backend(), Backend::File);
        Store::open_in_dir(dir.path(), &s).expect("store");
        assert!(
            read_file(&dir.path().join("store-key.secret"))
                .expect("read")
                .is_some()
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join(MARKER)).expect("marker"),
            "file"
        );
    }

    #[test]
    fn file_keys_move_into_the_keystore_once_it_answers_and_the_store_still_opens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = Arc::new(Memory::default());
        memory.mode.store(SILENT, Ordering::SeqCst);
        let s = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("open");
        assert_eq!(s.backend(), Backend::File);
        s.set(Secret::DeviceToken, "tok").expect("token");
        let store = Store::open_in_dir(dir.path(), &s).expect("store");
        store.set_meta("probe", "Schiedamseweg 1").expect("write");
        drop(store);

        // The keystore answers on a later start (or: an install from before this version).
        memory.mode.store(ANSWERS, Ordering::SeqCst);
        let moved = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("move");
        assert_eq!(moved.backend(), Backend::Keychain);
        let files = files_in(dir.path());
        assert!(
            files.iter().all(|f| !f.ends_with(".secret")),
            "no key file is left beside the database: {files:?}"
        );
        assert_eq!(
            moved.get(Secret::DeviceToken).expect("token").as_deref(),
            Some("tok")
        );
        let store = Store::open_in_dir(dir.path(), &moved).expect("same key");
        assert_eq!(
            store.meta("probe").expect("read").as_deref(),
            Some("Schiedamseweg 1")
        );
    }

    #[test]
    fn a_file_key_stays_a_file_when_the_user_chose_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = Arc::new(Memory::default());
        let s = Secrets::open_with(dir.path(), true, keychain(&memory, &[])).expect("open");
        s.set(Secret::DeviceToken, "tok").expect("token");
        let again = Secrets::open_with(dir.path(), true, keychain(&memory, &[])).expect("again");
        assert_eq!(again.backend(), Backend::File);
        assert!(memory.names().is_empty());
    }

    #[test]
    fn a_move_whose_read_back_differs_keeps_the_files_and_loses_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = Arc::new(Memory::default());
        memory.mode.store(SILENT, Ordering::SeqCst);
        let s = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("open");
        Store::open_in_dir(dir.path(), &s).expect("store");
        let key = read_file(&dir.path().join("store-key.secret")).expect("read");

        memory.mode.store(GARBLES, Ordering::SeqCst);
        let again = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("again");
        assert_eq!(again.backend(), Backend::File);
        assert_eq!(
            read_file(&dir.path().join("store-key.secret")).expect("read"),
            key
        );
        Store::open_in_dir(dir.path(), &again).expect("still opens");
    }

    #[test]
    fn a_keystore_that_stops_answering_is_an_error_and_never_a_new_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = Arc::new(Memory::default());
        let s = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("open");
        Store::open_in_dir(dir.path(), &s).expect("store");
        memory.mode.store(SILENT, Ordering::SeqCst);
        let locked = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("open");
        assert_eq!(locked.backend(), Backend::Keychain, "the marker wins");
        assert!(matches!(
            Store::open_in_dir(dir.path(), &locked),
            Err(StoreError::Secret(SecretError::Keychain(_)))
        ));
        memory.mode.store(ANSWERS, Ordering::SeqCst);
        Store::open_in_dir(dir.path(), &locked).expect("the same key once it answers again");
    }

    #[test]
    fn an_interrupted_move_removes_only_files_the_keystore_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = Arc::new(Memory::default());
        let s = Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("open");
        s.set(Secret::StoreKey, "aaaa").expect("key");
        // As if a start stopped after the marker, before the files were deleted; and a
        // stray file whose value the keystore does not hold.
        write_private(&dir.path().join("store-key.secret"), b"aaaa").expect("write");
        write_private(&dir.path().join("device-token.secret"), b"other").expect("write");
        Secrets::open_with(dir.path(), false, keychain(&memory, &[])).expect("reopen");
        assert!(!dir.path().join("store-key.secret").exists());
        assert!(dir.path().join("device-token.secret").exists());
    }

    #[test]
    fn ios_entries_are_built_with_the_this_device_only_class() {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = Arc::new(Memory::default());
        let s =
            Secrets::open_with(dir.path(), false, keychain(&memory, IOS_MODIFIERS)).expect("open");
        s.set(Secret::StoreKey, "k").expect("set");
        let built = lock(&memory.built_with);
        assert!(!built.is_empty());
        for mods in built.iter() {
            assert_eq!(
                mods.get("access-policy").map(String::as_str),
                Some("when-unlocked-this-device-only")
            );
        }
    }

    #[test]
    fn a_panicking_platform_store_is_an_error_not_a_crash() {
        let k = StoreKeychain::new("test keystore", Box::new(|| panic!("no app context")), &[]);
        assert!(matches!(k.get("x"), Err(SecretError::Keychain(_))));
        assert!(matches!(k.set("x", "y"), Err(SecretError::Keychain(_))));
    }
}
