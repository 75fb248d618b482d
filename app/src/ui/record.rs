//! Record a contact: the screen that puts the parts of [`super::record_parts`] together.
//! All rules and texts are in [`crate::state`] and [`crate::suggest`]; data comes only
//! through [`crate::services::AppCtx`], whose errors are shown, never dropped.
//!
//! The screen is laid out for one hand: what is tapped every time ("Zelfde als vorige",
//! the count buttons, the verdict and Opslaan) sits in a panel fixed to the bottom of
//! the screen, in the thumb's reach; chips, location and time scroll above it. Below the
//! counters sit only parts of a fixed height, so the counters never move under the thumb.
//!
//! The same screen corrects a contact saved in the round in progress: it opens on the
//! saved facts, and saving queues a correction instead of a new contact.

use std::time::Duration;

use dioxus::prelude::*;

use super::chrome::{Btn, PanelToast};
use super::record_parts::{
    AgeBands, Chips, LocationPart, RepeatLast, SaveBar, SaveConfirmation, Suggestions, TimePart,
    VerdictDetail,
};
use super::{Screen, app, ui};
use crate::platform::webview::current_position;
use crate::state::{LocationChoice, hhmm};

/// How long to wait for a GPS fix.
const GPS_TIMEOUT_MS: u32 = 15_000;

/// The record screen; with `correcting`, the screen that corrects the saved contact in
/// [`super::Ui::correction`].
#[component]
pub fn Record(#[props(default)] correcting: bool) -> Element {
    let ui = ui();
    let form = if correcting { ui.correction } else { ui.record };
    let error = use_signal(|| None::<String>);
    let confirmed = use_signal(|| None::<String>);
    let mut tick = use_signal(|| 0u64);
    let mut locating = use_signal(|| false);

    // The verdict follows the clock, not only the taps.
    use_future(move || async move {
        loop {
            tokio::time::sleep(Duration::from_secs(15)).await;
            tick += 1;
        }
    });
    // Ask the platform for a fix whenever the form waits for one; a poor fix pre-selects
    // the nearest hangplek.
    use_effect(move || {
        let waiting = matches!(form.read().location, LocationChoice::Locating);
        if waiting && !*locating.peek() {
            locating.set(true);
            let mut form = form;
            spawn(async move {
                let fix = current_position(GPS_TIMEOUT_MS)
                    .await
                    .map_err(|e| e.to_string());
                locating.set(false);
                let ctx = app();
                let places = ctx.round_places();
                form.write().set_fix_near(fix, &places, Some(ctx.now()));
            });
        }
    });

    let _ = tick();
    let _ = (ui.data)();
    let Some(round) = app().active_round() else {
        return rsx! {
            p { "Er loopt geen ronde." }
            Btn { label: "Ronde starten", class: "btn primary wide", onclick: move |()| ui.go(Screen::Home) }
        };
    };
    let saved_at = form.read().correcting.as_ref().map(|c| c.observed_at);

    rsx! {
        if let Some(at) = saved_at {
            section { class: "card", aria_label: "Contact corrigeren",
                h2 { "Contact corrigeren · {round.wijk_name}" }
                p { class: "muted",
                    "Vastgelegd om {hhmm(at)}. Wat je hier verandert vervangt dit contact; er komt geen nieuw contact bij."
                }
                Btn { label: "Correctie annuleren", text: "Annuleren", class: "btn wide", onclick: move |()| ui.go(Screen::Home) }
            }
        } else {
            // Which screen and which wijk, in one short line at the top of the scroll
            // area (rev3 finding 21); the counters are in the fixed panel, so this moves
            // nothing the thumb expects.
            h2 { class: "screen-title", "Contact · {round.wijk_name}" }
            Suggestions { form, error }
        }
        VerdictDetail { form }
        Chips { form }
        LocationPart { form, wijk: round.wijk }
        TimePart { form, round_start: round.started_at }
        if let Some(e) = error() {
            p { class: "error", role: "alert", "{e}" }
        }
        if let Some(b) = form.read().blocker() {
            p { class: "muted", "{b}" }
        }
        section { class: "thumb", aria_label: "Tellen en opslaan",
            PanelToast {}
            // Whatever changes height sits above the counters, and below them only parts
            // of a fixed height (the verdict, Opslaan): the panel is anchored to the
            // bottom, so the counters stay where the thumb expects them (rev3 finding 1).
            SaveConfirmation { confirmed }
            if saved_at.is_none() {
                RepeatLast { form, error }
            }
            AgeBands { form }
            SaveBar { form, error, confirmed }
        }
        div { class: "thumb-space" }
    }
}
