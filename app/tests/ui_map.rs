//! Headless component tests for the map screen and "Op de kaart" (issue 14, item 2): how
//! the screens reach the map and come back, and what the map screen says it shows. The
//! map itself (Leaflet) needs a webview: `tests/browser/app-map.test.mjs` drives it.

mod ui_support;

use avondronde_app::state::RecordForm;
use avondronde_app::ui::Screen;
use avondronde_shared::AgeBand;
use ui_support::{Harness, device_in_round};

#[tokio::test]
async fn op_de_kaart_opens_the_map_in_pin_mode_and_back_keeps_the_form() {
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    h.click("10–11 jaar: één kind erbij");
    h.click("Op de kaart");
    let html = h.html();
    assert!(html.contains("Kaart: tik om de speld te zetten"), "{html}");
    assert!(html.contains("Tik op de kaart waar het contact was."));
    assert!(html.contains("Delfshaven: 1 hangplek, 0 contacten deze ronde op de kaart"));
    assert!(h.has("Naar mijn positie"));
    assert!(!h.has("Speld gebruiken"), "no pin yet, so nothing to use");
    h.click("Terug zonder speld");
    let html = h.html();
    assert!(
        html.contains("10–11 jaar: 1 kind"),
        "the form is kept: {html}"
    );
    assert!(
        !html.contains("Speld op de kaart"),
        "no pin without a tap on the map"
    );
}

#[tokio::test]
async fn the_round_screen_opens_the_map_of_the_round_with_its_located_contacts() {
    let d = device_in_round();
    let mut pinned = RecordForm::new();
    pinned.add_child(AgeBand::Age6To9);
    pinned.drop_pin(51.9131, 4.4452);
    d.ctx.save_contact(&pinned).expect("saved");
    let mut nowhere = RecordForm::new();
    nowhere.add_child(AgeBand::Age6To9);
    nowhere.choose_no_location();
    d.ctx.save_contact(&nowhere).expect("saved");

    let mut h = Harness::new(&d.ctx, Some(Screen::Home));
    h.click("Kaart van de ronde");
    let html = h.html();
    assert!(html.contains("aria-label=\"Kaart van de ronde\""), "{html}");
    assert!(
        html.contains("Delfshaven: 1 hangplek, 1 contact deze ronde op de kaart"),
        "only the contact with a location is on the map: {html}"
    );
    h.click("Terug naar de ronde");
    assert!(h.html().contains("Ronde in Delfshaven"));
    let saved = d.ctx.round_contacts();
    assert_eq!(
        saved[0].facts.location,
        avondronde_shared::contact::Location::pin(51.9131, 4.4452)
    );
}

#[tokio::test]
async fn op_de_kaart_while_correcting_returns_to_the_correction_not_to_a_new_contact() {
    let d = device_in_round();
    let mut saved = RecordForm::new();
    saved.add_child(AgeBand::Age12To13);
    saved.choose_no_location();
    d.ctx.save_contact(&saved).expect("saved");
    let mut h = Harness::new(&d.ctx, Some(Screen::Home));
    h.click("Corrigeer contact 1 van 22:30");
    assert!(h.html().contains("Contact corrigeren"));
    h.click("Op de kaart");
    assert!(h.html().contains("Kaart: tik om de speld te zetten"));
    h.click("Terug zonder speld");
    let html = h.html();
    assert!(html.contains("Contact corrigeren"), "{html}");
    assert!(html.contains("Correctie opslaan"));
}
