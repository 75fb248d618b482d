//! iOS: the store key and the device token in the Keychain, this device only.
//!
//! Through `apple-native-keyring-store`'s protected-data store (a `keyring-core` store by
//! the keyring maintainers, over `security-framework`'s `set_generic_password_options`),
//! because `keyring` 3.x on iOS writes generic passwords with the default class
//! (`kSecAttrAccessibleWhenUnlocked`), which an encrypted backup carries to another phone;
//! it has no way to choose the class. Every entry here is built with the `access-policy`
//! `when-unlocked-this-device-only` ([`super::phone::IOS_MODIFIERS`]), which becomes
//! `kSecAttrAccessibleWhenUnlockedThisDeviceOnly`: the items are never in a backup or in
//! iCloud Keychain, cannot be restored onto another phone, and can be read only while the
//! phone is unlocked.
//!
//! Why "when unlocked" and not "after first unlock": the app reads the store key when it
//! opens its store and the token when it starts a sync pass, and both happen while the
//! field worker has the app on screen, so the phone is unlocked (the app asks for no iOS
//! background modes). A phone that is lost locked keeps both items sealed by the Secure
//! Enclave's class key even while it stays powered on. A read in the rare moment that the
//! phone locks mid-pass fails with the Dutch "ontgrendel het toestel en probeer opnieuw";
//! nothing is lost, the outbox waits for the next pass.
//!
//! What was and was not run: nothing of this module was compiled or run here; it is
//! Apple-only, and this machine has no iOS target or SDK. It is kept to one call of the
//! crate's documented API (`protected::Store::new`); the adapter it plugs into
//! ([`super::phone`]) and the modifiers are tested on the host.

use std::sync::{Arc, OnceLock};

use keyring_core::CredentialStore;

use super::phone::{IOS_MODIFIERS, StoreKeychain};

/// The iOS Keychain as the seam's keychain (one per process).
pub(super) fn keychain() -> Arc<StoreKeychain> {
    static KEYCHAIN: OnceLock<Arc<StoreKeychain>> = OnceLock::new();
    KEYCHAIN
        .get_or_init(|| {
            Arc::new(StoreKeychain::new(
                "de iOS-sleutelhanger",
                Box::new(open),
                IOS_MODIFIERS,
            ))
        })
        .clone()
}

/// The app's local (not iCloud-synchronised) protected Keychain store.
fn open() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = apple_native_keyring_store::protected::Store::new()?;
    Ok(store)
}
