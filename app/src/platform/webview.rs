//! Location and connectivity, asked of the webview the app runs in.
//!
//! The desktop window, the Android and iOS webviews and a browser (liveview) all have
//! `navigator.geolocation` and `online`/`offline` events, so one piece of JavaScript
//! through [`dioxus::document::eval`] serves every platform; the OS location permission is
//! declared in `Dioxus.toml`. These functions must run inside a Dioxus component scope.
//!
//! "The app is in the background" is the page's `visibilitychange` (hidden/visible): the
//! desktop window minimised, the phone's webview paused, the browser tab switched. The PIN
//! lock ([`crate::pin`]) counts its minutes from there.

use dioxus::document;
use jiff::Timestamp;
use serde::Deserialize;

/// A position fix from the platform.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpsFix {
    /// Latitude in WGS84 degrees.
    pub lat: f64,
    /// Longitude in WGS84 degrees.
    pub lon: f64,
    /// Horizontal accuracy in metres.
    pub accuracy_m: f32,
    /// When the fix was taken (real time, as the platform reports it).
    pub taken_at: Timestamp,
}

impl GpsFix {
    /// Seconds between the fix and `now`, never negative.
    pub fn age_s(&self, now: Timestamp) -> u32 {
        let secs = now.duration_since(self.taken_at).as_secs().max(0);
        u32::try_from(secs).unwrap_or(u32::MAX)
    }
}

/// Why no fix came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// The user or the OS refused location access.
    #[error("geen toestemming voor de locatie")]
    Denied,
    /// No fix in time.
    #[error("geen GPS-fix binnen de tijd")]
    Timeout,
    /// The platform has no location or it failed.
    #[error("locatie niet beschikbaar")]
    Unavailable,
}

#[derive(Deserialize)]
struct RawFix {
    lat: Option<f64>,
    lon: Option<f64>,
    acc: Option<f64>,
    ts: Option<f64>,
    error: Option<String>,
}

/// Asks the platform for the current position, waiting at most `timeout_ms`.
pub async fn current_position(timeout_ms: u32) -> Result<GpsFix, LocationError> {
    let js = format!(
        r#"return await new Promise((resolve) => {{
  if (!navigator.geolocation) {{ resolve({{ error: "unavailable" }}); return; }}
  navigator.geolocation.getCurrentPosition(
    (p) => resolve({{ lat: p.coords.latitude, lon: p.coords.longitude, acc: p.coords.accuracy, ts: p.timestamp }}),
    (e) => resolve({{ error: e.code === 1 ? "denied" : (e.code === 3 ? "timeout" : "unavailable") }}),
    {{ enableHighAccuracy: true, timeout: {timeout_ms}, maximumAge: 30000 }});
}});"#
    );
    let raw: RawFix = document::eval(&js)
        .join()
        .await
        .map_err(|_| LocationError::Unavailable)?;
    match (raw.lat, raw.lon, raw.acc, raw.error.as_deref()) {
        (Some(lat), Some(lon), Some(acc), None) => Ok(GpsFix {
            lat,
            lon,
            accuracy_m: acc as f32,
            taken_at: raw
                .ts
                .and_then(|ms| Timestamp::from_millisecond(ms as i64).ok())
                .unwrap_or_else(Timestamp::now),
        }),
        (_, _, _, Some("denied")) => Err(LocationError::Denied),
        (_, _, _, Some("timeout")) => Err(LocationError::Timeout),
        _ => Err(LocationError::Unavailable),
    }
}

/// Calls `on_change` with `navigator.onLine` now and at every `online`/`offline` event,
/// until the component that spawned it goes away.
pub async fn watch_online(mut on_change: impl FnMut(bool)) {
    let mut eval = document::eval(
        r#"const send = () => dioxus.send(navigator.onLine);
window.addEventListener("online", send);
window.addEventListener("offline", send);
send();
await new Promise(() => {});"#,
    );
    while let Ok(online) = eval.recv::<bool>().await {
        on_change(online);
    }
}

/// Calls `on_change` with whether the app is visible, at every `visibilitychange` (the
/// platform seam for "in the background"), until the component that spawned it goes away.
pub async fn watch_visibility(mut on_change: impl FnMut(bool)) {
    let mut eval = document::eval(
        r#"document.addEventListener("visibilitychange", () => dioxus.send(document.visibilityState === "visible"));
await new Promise(() => {});"#,
    );
    while let Ok(visible) = eval.recv::<bool>().await {
        on_change(visible);
    }
}
