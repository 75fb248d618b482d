//! The small, named seams between the app and the phone or computer it runs on.
//!
//! Everything platform-specific lives behind these functions, so the app's logic has no
//! desktop-only code and the Android and iOS builds only differ here:
//! - [`data_dir`]: where the encrypted store lives;
//! - [`secrets`]: where the store's key and the device token are kept (on Android the
//!   Android Keystore, on iOS the Keychain this-device-only, on a desktop its keychain;
//!   a file only this user can read where none answers);
//! - [`saved_feedback`]: haptics and sound after a save (a no-op on the desktop);
//! - [`webview`]: location and connectivity, asked of the webview with JavaScript
//!   (`navigator.geolocation`, `online` events), which works the same in the desktop
//!   window, the phone webviews and a browser; and "in the background" (the page hidden);
//! - [`camera`]: the camera (`getUserMedia`) and a chosen photo, for the enrolment QR code.

pub mod camera;
pub mod secrets;
pub mod webview;

use std::path::{Path, PathBuf};

/// The environment variable that overrides the data directory (tests, demos).
pub const DATA_DIR_ENV: &str = "AVONDRONDE_DATA_DIR";

/// The app's bundle identity, also used as the keychain service name.
pub const APP_ID: &str = "nl.avondronde.veld";

/// Where the app keeps its files on this platform.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV) {
        return PathBuf::from(dir);
    }
    platform_data_dir()
}

#[cfg(target_os = "android")]
fn platform_data_dir() -> PathBuf {
    // The app's private internal storage; no permission needed and wiped on uninstall.
    PathBuf::from(format!("/data/data/{APP_ID}/files"))
}

#[cfg(any(target_os = "ios", target_os = "macos"))]
fn platform_data_dir() -> PathBuf {
    home().join("Library/Application Support").join(APP_ID)
}

#[cfg(target_os = "windows")]
fn platform_data_dir() -> PathBuf {
    std::env::var_os("APPDATA")
        .map(PathBuf::from)
        .unwrap_or_else(home)
        .join("Avondronde")
}

#[cfg(not(any(
    target_os = "android",
    target_os = "ios",
    target_os = "macos",
    target_os = "windows"
)))]
fn platform_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".local/share"))
        .join("avondronde")
}

#[allow(dead_code)] // not every platform branch needs it
fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// Creates the data directory, readable by this user only.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The phone's confirmation that a contact was saved, beside the visual one on screen: a
/// short vibration and sound on Android and iOS. On the desktop and in the browser build
/// there is nothing to vibrate, so this does nothing there; the phone builds fill it in
/// (this seam is where they do).
pub fn saved_feedback() {}
