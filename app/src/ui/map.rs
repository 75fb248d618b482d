//! The map screen: the wijk's outline, its hangplekken, this round's contacts, the
//! position with its accuracy circle, and, opened from the record screen's "Op de kaart",
//! the pin that sets a contact's location (`source: pin`, no accuracy).
//!
//! The map library is Leaflet from npm, built into the binary by `app/build.rs` (no CDN):
//! its script is put in the page once, and one [`document::eval`] runs `map.js`, which
//! draws what [`crate::map::MapData`] holds and sends the worker's taps back. The vector
//! layers come from the configuration and the store, so they draw offline; the basemap
//! tiles (the configured PDOK URL) are the only thing fetched, and when they fail the
//! screen says so and the map goes on without them, on a plain dark background.

use avondronde_shared::ContactId;
use dioxus::document;
use dioxus::prelude::*;
use serde::Deserialize;

use super::chrome::{Btn, PanelToast};
use super::{Screen, app, ui};

/// Leaflet's script and stylesheet, from `app/web/node_modules` (see `build.rs`).
const LEAFLET_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/leaflet.js"));
const LEAFLET_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/leaflet.css"));
/// The webview side of the map screen.
const MAP_JS: &str = include_str!("map.js");

/// What the map screen is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapPurpose {
    /// To look: where this round's contacts were, and the hangplekken.
    View,
    /// To drop the pin for the contact being recorded.
    Pin,
    /// To drop the pin for the saved contact being corrected.
    PinCorrection(ContactId),
}

/// What the webview sends back.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FromMap {
    /// A tap on the map, or the pin dragged, in picking mode.
    Pin { lat: f64, lon: f64 },
    /// The basemap's tiles failed (`false`) or load again (`true`).
    Tiles { ok: bool },
    /// The map exists and takes data.
    Ready,
    /// The first layers are drawn, `ms` after the script started.
    Drawn { ms: f64 },
}

/// Puts Leaflet in the page, once per page.
async fn ensure_leaflet() -> Result<(), String> {
    let loaded: bool = document::eval("return !!window.L;")
        .join()
        .await
        .map_err(|e| e.to_string())?;
    if loaded {
        return Ok(());
    }
    let source = serde_json::to_string(LEAFLET_JS).map_err(|e| e.to_string())?;
    let js = format!(
        "const s = document.createElement('script'); s.textContent = {source}; \
         document.head.appendChild(s); return !!window.L;"
    );
    match document::eval(&js).join::<bool>().await {
        Ok(true) => Ok(()),
        Ok(false) => Err("de kaartbibliotheek laadde niet".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The map screen.
#[component]
pub fn MapScreen(purpose: MapPurpose) -> Element {
    let ui = ui();
    let form = match purpose {
        MapPurpose::View => None,
        MapPurpose::Pin => Some(ui.record),
        MapPurpose::PinCorrection(_) => Some(ui.correction),
    };
    let picking = form.is_some();
    let mut started = use_signal(|| false);
    let mut tiles_ok = use_signal(|| true);
    let mut ready = use_signal(|| None::<f64>);
    let mut failed = use_signal(|| None::<String>);

    let view = use_memo(move || {
        let _ = (ui.data)();
        let pin = form.and_then(|f| f.read().pin());
        app().map_data(pin, picking).map_err(|e| e.to_string())
    });

    // Start Leaflet and the map script once; then carry the worker's taps to the form.
    use_future(move || async move {
        if let Err(e) = ensure_leaflet().await {
            failed.set(Some(format!("De kaart kan niet starten: {e}.")));
            return;
        }
        let mut eval = document::eval(MAP_JS);
        while let Ok(msg) = eval.recv::<FromMap>().await {
            match msg {
                FromMap::Pin { lat, lon } => {
                    if let Some(mut f) = form {
                        f.write().drop_pin(lat, lon);
                    }
                }
                FromMap::Tiles { ok } => tiles_ok.set(ok),
                FromMap::Ready => started.set(true),
                FromMap::Drawn { ms } => ready.set(Some(ms)),
            }
        }
    });
    // Every change of what is drawn goes to the map.
    use_effect(move || {
        let data = view();
        if let (true, Ok((_, data))) = (started(), data) {
            match serde_json::to_string(&data) {
                Ok(json) => {
                    document::eval(&format!("window.__avondronde_map.draw({json});"));
                }
                Err(e) => failed.set(Some(format!("De kaart kan niet tekenen: {e}."))),
            }
        }
    });

    let (summary, error) = match view() {
        Ok((wijk, data)) => (data.summary_nl(&wijk), None),
        Err(e) => (String::new(), Some(e)),
    };
    let has_pin = form.is_some_and(|f| f.read().pin().is_some());
    let back = move |()| match purpose {
        MapPurpose::View => ui.go(Screen::Home),
        MapPurpose::Pin => ui.go(Screen::Record),
        MapPurpose::PinCorrection(id) => ui.go(Screen::Correct(id)),
    };
    let center = move |()| {
        if started() {
            document::eval("window.__avondronde_map.center();");
        }
    };
    rsx! {
        style { {LEAFLET_CSS} }
        if picking {
            p { class: "map-hint", role: "note",
                if has_pin {
                    "Speld gezet. Tik ergens anders of sleep de speld om hem te verplaatsen."
                } else {
                    "Tik op de kaart waar het contact was."
                }
            }
        }
        p { class: "muted map-summary", aria_label: "Op de kaart", "{summary}" }
        if let Some(e) = error.or(failed()) {
            p { class: "error", role: "alert", "{e}" }
        }
        if !tiles_ok() {
            p { class: "warn map-notice", role: "status",
                "Achtergrondkaart niet bereikbaar: de wijk, hangplekken en contacten staan er wel op."
            }
        }
        div {
            id: "avondronde-map",
            class: "map",
            role: "region",
            aria_label: if picking { "Kaart: tik om de speld te zetten" } else { "Kaart van de ronde" },
            "data-ready": ready().map(|ms| format!("{ms:.0}")),
        }
        section { class: "mapbar", aria_label: "Kaartknoppen",
            PanelToast {}
            Btn { label: "Naar mijn positie", text: "Mijn positie", onclick: center }
            if has_pin {
                Btn { label: "Speld gebruiken", class: "btn primary", onclick: back }
            } else if picking {
                Btn { label: "Terug zonder speld", text: "Terug", class: "btn", onclick: back }
            } else {
                Btn { label: "Terug naar de ronde", text: "Terug", class: "btn primary", onclick: back }
            }
        }
    }
}
