//! Android: the store key and the device token, wrapped by the Android Keystore.
//!
//! Through `android-native-keyring-store` (a `keyring-core` credential store): each value
//! is encrypted with AES-GCM under a key that is generated inside the Android Keystore and
//! never leaves it (hardware-backed on phones that have a TEE or StrongBox), and the
//! ciphertext is kept in the app's private SharedPreferences file `keyring-avondronde`.
//! Copying the app's storage off a phone therefore yields the database and an encrypted
//! key, but not the Keystore key that opens it.
//!
//! Why this crate: it is maintained by the maintainers of the `keyring` family
//! (open-source-cooperative, with its original author), is at 1.0 on the current
//! `keyring-core` 1.x, uses the platform's own Keystore and SharedPreferences through JNI
//! (no Java code of ours), and gets the app's JNI context from `ndk-context`, which Dioxus
//! Mobile (through `tao`) initialises when the activity starts. Its predecessor
//! `android-keyring` (same author) is superseded by it.
//!
//! What was and was not run: this module is compiled on the build machine in test builds
//! (`cargo test`, clippy `--all-targets`) against the real crate, and its only host test
//! shows that without an Android app context the store does not answer and the file
//! backend is chosen, without a crash. No Android build or device test was run here: the
//! machine has no Android target or SDK.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use keyring_core::CredentialStore;

use super::phone::StoreKeychain;

/// The credential store's name: its SharedPreferences file and Keystore alias are
/// `keyring-avondronde`.
const STORE_NAME: &str = "avondronde";

/// The Android Keystore as the seam's keychain (one per process).
pub(super) fn keychain() -> Arc<StoreKeychain> {
    static KEYCHAIN: OnceLock<Arc<StoreKeychain>> = OnceLock::new();
    KEYCHAIN
        .get_or_init(|| {
            Arc::new(StoreKeychain::new(
                "de Android Keystore",
                Box::new(open),
                &[],
            ))
        })
        .clone()
}

/// Opens (or on first use creates) the app's credential store and its Keystore key.
fn open() -> keyring_core::Result<Arc<CredentialStore>> {
    let config = HashMap::from([("name", STORE_NAME)]);
    let store: Arc<CredentialStore> =
        android_native_keyring_store::Store::new_with_configuration(&config)?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::secrets::{Backend, Secrets};

    /// On this machine there is no Android app context: the real store's open panics inside
    /// `ndk-context`. The seam must turn that into "the keystore does not answer" and keep
    /// the key in the private file, not crash the app.
    #[test]
    fn without_an_android_app_context_the_keystore_does_not_answer_and_the_file_is_used() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Secrets::open_with(dir.path(), false, keychain()).expect("open");
        assert_eq!(s.backend(), Backend::File);
        crate::store::Store::open_in_dir(dir.path(), &s).expect("store");
        assert!(dir.path().join("store-key.secret").exists());
    }
}
