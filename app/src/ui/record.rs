//! Record a contact: tap counters per age band, supervision, chips, location, time, the
//! live norm verdict, "Eerder hier", and save. All rules are in [`crate::state`].
//!
//! The same screen corrects a contact saved in the round in progress: it opens on the
//! saved facts, and saving queues a correction instead of a new contact.

use std::time::Duration;

use avondronde_shared::AgeBand;
use avondronde_shared::contact::Action;
use dioxus::prelude::*;

use super::chrome::{Btn, Chip};
use super::{Screen, app, ui};
use crate::platform::webview::current_position;
use crate::state::{ACTIONS, BEHAVIOURS, LocationChoice, RecordForm, TIME_STEP_MIN, hhmm};

/// How long to wait for a GPS fix.
const GPS_TIMEOUT_MS: u32 = 15_000;

/// The record screen; with `correcting`, the screen that corrects the saved contact in
/// [`super::Ui::correction`].
#[component]
pub fn Record(#[props(default)] correcting: bool) -> Element {
    let ctx = app();
    let ui = ui();
    let mut form = if correcting { ui.correction } else { ui.record };
    let mut error = use_signal(|| None::<String>);
    let mut show_places = use_signal(|| false);
    let mut tick = use_signal(|| 0u64);
    let mut locating = use_signal(|| false);
    let config = use_memo(move || {
        let _ = (ui.data)();
        app().config()
    });

    // The verdict follows the clock, not only the taps.
    use_future(move || async move {
        loop {
            tokio::time::sleep(Duration::from_secs(15)).await;
            tick += 1;
        }
    });
    // Ask the platform for a fix whenever the form waits for one.
    use_effect(move || {
        let waiting = matches!(form.read().location, LocationChoice::Locating);
        if waiting && !*locating.peek() {
            locating.set(true);
            spawn(async move {
                let fix = current_position(GPS_TIMEOUT_MS)
                    .await
                    .map_err(|e| e.to_string());
                locating.set(false);
                form.write().set_fix(fix);
            });
        }
    });

    let _ = tick();
    let Some(round) = ctx.active_round() else {
        return rsx! {
            p { "Er loopt geen ronde." }
            Btn { label: "Ronde starten", class: "btn primary wide", onclick: move |()| ui.go(Screen::Home) }
        };
    };
    let now = ctx.now();
    let f: RecordForm = form.read().clone();
    let cfg = config.read().clone();
    let evaluation = f.verdict(cfg.as_ref(), now);
    let severity = evaluation.worst().code();
    let summary = evaluation.summary_nl();
    let nearby = f.point().map(|(lat, lon)| ctx.nearby(lat, lon));
    let places: Vec<_> = cfg
        .as_ref()
        .map(|c| {
            c.places
                .iter()
                .filter(|p| p.wijk == round.wijk)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let observed = f.observed_at(now);
    let saved_at = f.correcting.as_ref().map(|c| c.observed_at);
    let time_note = match (saved_at.is_some(), f.minutes_back) {
        (false, 0) => "nu".to_string(),
        (false, m) => format!("{m} min geleden"),
        (true, 0) => "zoals vastgelegd".to_string(),
        (true, m) if m > 0 => format!("{m} min eerder dan vastgelegd"),
        (true, m) => format!("{} min later dan vastgelegd", m.unsigned_abs()),
    };
    let location_text = match &f.location {
        LocationChoice::Locating => "GPS zoekt…".to_string(),
        LocationChoice::Gps(fix) => format!(
            "GPS ±{} m, {} s oud",
            fix.accuracy_m.round(),
            fix.age_s(jiff::Timestamp::now())
        ),
        LocationChoice::GpsFailed(r) => format!("Geen GPS: {r}"),
        LocationChoice::Place { name, .. } => format!("Bekende plek: {name}"),
        LocationChoice::None => "Geen locatie".to_string(),
        LocationChoice::Kept(l) => format!("Zoals vastgelegd: {}", l.source.label_nl()),
    };
    let warnings = f.warnings(jiff::Timestamp::now());
    let blocker = f.blocker();
    let round_start = round.started_at;

    let save = move |()| {
        let current = form.peek().clone();
        if current.correcting.is_some() {
            match app().save_correction(&current) {
                Ok(saved) => {
                    error.set(None);
                    ui.changed();
                    if let Some(first) = saved.care_forms.first() {
                        ui.say("Correctie opgeslagen. Vul nu het zorgformulier in.");
                        ui.go(Screen::CareForm(*first));
                    } else {
                        ui.say("Correctie opgeslagen");
                        ui.go(Screen::Home);
                    }
                }
                Err(e) => error.set(Some(e)),
            }
            return;
        }
        match app().save_contact(&current) {
            Ok(saved) => {
                form.set(RecordForm::new());
                error.set(None);
                ui.changed();
                if let Some(first) = saved.care_forms.first() {
                    ui.say("Opgeslagen. Vul nu het zorgformulier in.");
                    ui.go(Screen::CareForm(*first));
                } else {
                    ui.say("Opgeslagen");
                }
            }
            Err(e) => error.set(Some(e)),
        }
    };

    rsx! {
        if let Some(at) = saved_at {
            section { class: "card", aria_label: "Contact corrigeren",
                h2 { "Contact corrigeren" }
                p { class: "muted",
                    "Vastgelegd om {hhmm(at)}. Wat je hier verandert vervangt dit contact; er komt geen nieuw contact bij."
                }
                Btn { label: "Correctie annuleren", text: "Annuleren", class: "btn wide", onclick: move |()| ui.go(Screen::Home) }
            }
        }
        section { aria_label: "Leeftijden",
            for band in AgeBand::ALL {
                div { class: "band", key: "{band.code()}",
                    span { class: "label", "{band.label_nl()}" }
                    span { class: "count", aria_label: "{band.label_nl()}: {f.counts.get(band)} kinderen", "{f.counts.get(band)}" }
                    button { class: "minus", aria_label: "{band.label_nl()}: één minder",
                        onclick: move |_| form.write().remove_child(band), "−" }
                    button { class: "plus", aria_label: "{band.label_nl()}: één kind erbij",
                        onclick: move |_| form.write().add_child(band), "+" }
                }
            }
            if evaluation.bands.len() > 1 || evaluation.any_past() {
                ul { class: "verdict-detail", aria_label: "Oordeel per leeftijd",
                    for b in evaluation.bands.iter() {
                        li { key: "{b.band.code()}", "{b.explanation}" }
                    }
                }
            }
            div { class: "chips",
                Chip { label: "Volwassene bij de groep", on: f.supervised, onclick: move |()| form.write().toggle_supervised() }
            }
        }
        h3 { "Wat gebeurde er" }
        div { class: "chips", role: "group", aria_label: "Gedrag",
            for b in BEHAVIOURS {
                Chip { key: "{b.code()}", label: b.label_nl().to_string(), on: f.behaviours.contains(&b),
                    onclick: move |()| form.write().toggle_behaviour(b.clone()) }
            }
        }
        h3 { "Wat deed je" }
        div { class: "chips", role: "group", aria_label: "Actie",
            for a in ACTIONS {
                Chip { key: "{a.code()}", label: a.label_nl().to_string(), on: f.actions.contains(&a),
                    onclick: move |()| form.write().toggle_action(a.clone()) }
            }
        }
        if f.actions.contains(&Action::BroughtHome) {
            div { class: "row", aria_label: "Aantal thuisgebracht",
                span { "Thuisgebracht: " strong { "{f.brought_home}" } }
                Btn { label: "Eén kind minder thuisgebracht", text: "−", onclick: move |()| form.write().change_brought_home(-1) }
                Btn { label: "Eén kind meer thuisgebracht", text: "+", onclick: move |()| form.write().change_brought_home(1) }
            }
        }
        h3 { "Waar" }
        p { aria_label: "Locatie", "{location_text}" }
        for w in warnings {
            p { class: "warn", role: "note", "{w}" }
        }
        div { class: "chips", role: "group", aria_label: "Locatie kiezen",
            Chip { label: "GPS", on: matches!(f.location, LocationChoice::Gps(_) | LocationChoice::Locating),
                onclick: move |()| form.write().use_gps() }
            Chip { label: "Bekende plek", on: matches!(f.location, LocationChoice::Place { .. }) || show_places(),
                onclick: move |()| show_places.toggle() }
            Chip { label: "Geen locatie", on: f.location == LocationChoice::None,
                onclick: move |()| form.write().choose_no_location() }
        }
        if show_places() {
            div { class: "chips", role: "group", aria_label: "Bekende plekken",
                if places.is_empty() { p { class: "muted", "Geen bekende plekken in deze wijk." } }
                for p in places {
                    Chip { key: "{p.id}", label: p.name.clone(),
                        on: matches!(&f.location, LocationChoice::Place { id, .. } if *id == p.id),
                        onclick: move |()| {
                            form.write().choose_place(p.id, &p.name, p.lat, p.lon);
                            show_places.set(false);
                        } }
                }
            }
        }
        if let Some(n) = nearby {
            p { class: "muted", aria_label: "Eerder hier", "Eerder hier: {n} contacten binnen 100 m in de laatste 30 dagen" }
        }
        h3 { "Wanneer" }
        div { class: "row",
            span { aria_label: "Tijd van het contact", "{hhmm(observed)} ({time_note})" }
            Btn { label: "Tijd 5 minuten eerder", text: "−{TIME_STEP_MIN} min",
                onclick: move |()| form.write().shift_time(-TIME_STEP_MIN, app().now(), round_start) }
            Btn { label: "Tijd 5 minuten later", text: "+{TIME_STEP_MIN} min",
                onclick: move |()| form.write().shift_time(TIME_STEP_MIN, app().now(), round_start) }
            if saved_at.is_some() {
                Btn { label: "Tijd zoals vastgelegd", text: "Zoals vastgelegd", onclick: move |()| form.write().time_now() }
            } else {
                Btn { label: "Tijd is nu", text: "Nu", onclick: move |()| form.write().time_now() }
            }
        }
        if let Some(e) = error() {
            p { class: "error", role: "alert", "{e}" }
        }
        if let Some(b) = blocker {
            p { class: "muted", "{b}" }
        }
        div { class: "savebar",
            div { class: "verdict {severity}", role: "status", aria_live: "polite", aria_label: "Oordeel buitenspeelnorm",
                "{summary}"
            }
            if saved_at.is_some() {
                Btn { label: "Correctie opslaan", class: "btn primary", disabled: blocker.is_some(), onclick: save }
            } else {
                Btn { label: "Opslaan", class: "btn primary", disabled: blocker.is_some(), onclick: save }
            }
        }
    }
}
