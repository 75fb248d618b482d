//! Headless component tests (issue 4): every screen renders from a real store, and the
//! record and care-form flows are driven by events as a person would tap them.

mod ui_support;

use std::time::Duration;

use avondronde_app::store::lock;
use avondronde_app::ui::Screen;
use ui_support::{Harness, device, device_in_round, enrolled_device};

#[tokio::test]
async fn enrolment_screen_asks_for_address_and_code_and_says_where_keys_live() {
    let d = device();
    let h = Harness::new(&d.ctx, None);
    let html = h.html();
    assert!(html.contains("Toestel aanmelden"), "{html}");
    assert!(html.contains("Serveradres") && html.contains("Aanmeldcode"));
    assert!(
        html.contains("afgeschermd bestand"),
        "the key location is shown"
    );
}

#[tokio::test]
async fn home_screen_offers_a_round_in_the_configured_wijk() {
    let d = enrolled_device();
    let mut h = Harness::new(&d.ctx, None);
    let html = h.html();
    assert!(html.contains("Ronde starten"), "{html}");
    assert!(html.contains("Nog te verzenden: 0"));
    h.click("Delfshaven");
    h.input("Partner (optioneel)", "Sam");
    h.click("Start ronde");
    let round = d.ctx.active_round().expect("round started");
    assert_eq!(round.partner.as_deref(), Some("Sam"));
    assert!(
        h.html().contains("Oordeel buitenspeelnorm"),
        "the record screen opens"
    );
}

#[tokio::test]
async fn every_screen_renders() {
    let d = device_in_round();
    for (screen, expect) in [
        (Screen::Home, "Ronde in Delfshaven"),
        (Screen::Record, "Wat deed je"),
        (Screen::Outbox, "Verzendstatus"),
        (Screen::Feedback, "Nog geen zorgformulieren verzonden"),
        (Screen::EndRound, "Alles verzonden?"),
    ] {
        let h = Harness::new(&d.ctx, Some(screen));
        let html = h.html();
        assert!(
            html.contains(expect),
            "{screen:?} should show {expect:?}: {html}"
        );
        assert!(html.contains("Avondronde"), "{screen:?} has the header");
    }
}

#[tokio::test]
async fn the_common_case_is_six_taps_with_a_live_verdict() {
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    assert!(h.html().contains("Geen kinderen geteld"));
    for _ in 0..3 {
        h.click("10–11 jaar: één kind erbij");
    }
    h.click("rondhangen");
    h.click("aangesproken");
    let html = h.html();
    // 22:30, norm 22:00 for 10–13: alert, in words.
    assert!(html.contains("verdict alert"), "{html}");
    assert!(html.contains("30 min"), "{html}");
    h.click("Opslaan");
    assert!(h.html().contains("opgeslagen om 22:30: 3 kinderen"));
    let store = lock(&d.ctx.store);
    assert_eq!(store.contact_count().expect("count"), 1);
    assert_eq!(
        store.outbox_counts().expect("counts").pending,
        2,
        "round and contact"
    );
}

#[tokio::test]
async fn supervision_turns_the_verdict_green() {
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    h.click("6–9 jaar: één kind erbij");
    assert!(h.html().contains("verdict alert"));
    h.click("Volwassene bij de groep");
    let html = h.html();
    assert!(html.contains("verdict ok"), "{html}");
    assert!(html.contains("Onder toezicht"));
}

#[tokio::test]
async fn bringing_a_child_home_opens_its_care_form_and_keeps_the_draft() {
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    h.click("6–9 jaar: één kind erbij");
    h.click("thuisgebracht");
    h.click("Opslaan");
    let html = h.html();
    assert!(html.contains("Zorgformulier kind 1"), "{html}");
    assert!(html.contains("nog geen sleutel van het meldpunt"));
    h.input("Naam van het kind", "Testkind");
    let drafts = lock(&d.ctx.store).drafts().expect("drafts");
    assert_eq!(drafts.len(), 1);
    let (_, draft) = lock(&d.ctx.store)
        .draft(drafts[0].id)
        .expect("read")
        .expect("draft");
    assert_eq!(draft.child_name, "Testkind", "saved on every change");
    // Without a meldpunt key the draft stays, and the screen says why.
    h.click("Verzegelen en verzenden");
    assert!(
        lock(&d.ctx.store)
            .draft(drafts[0].id)
            .expect("read")
            .is_some()
    );
    assert!(h.html().contains("nog niet compleet") || h.html().contains("geboortedatum"));
}

#[tokio::test]
async fn end_round_lists_what_is_unsent_and_can_end_anyway() {
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, Some(Screen::EndRound));
    let html = h.html();
    assert!(
        html.contains("Nog niet alles is verzonden: 1 item."),
        "{html}"
    );
    assert!(h.has("Nu proberen"));
    h.click("Toch beëindigen");
    assert!(d.ctx.active_round().is_none());
    assert!(h.html().contains("Ronde starten"));
}

#[tokio::test]
async fn a_saved_contact_is_corrected_from_the_round_card_without_a_second_contact() {
    use avondronde_shared::sync::{ItemKind, Payload};

    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    for _ in 0..3 {
        h.click("10–11 jaar: één kind erbij");
    }
    h.click("rondhangen");
    h.click("Opslaan");
    // The tabs carry static labels the harness does not see; open the app again on home,
    // over the same store, as after a restart.
    let mut h = Harness::new(&d.ctx, Some(Screen::Home));
    let html = h.html();
    assert!(html.contains("Vastgelegd deze ronde"), "{html}");
    assert!(
        html.contains("<strong>22:30</strong>")
            && html.contains("3 kinderen 10–11 jaar · rondhangen"),
        "{html}"
    );

    h.click("Corrigeer contact 1 van 22:30");
    let html = h.html();
    assert!(
        html.contains("Contact corrigeren · Delfshaven"),
        "names the wijk: {html}"
    );
    assert!(
        html.contains("10–11 jaar: 3 kinderen"),
        "the form opens on the saved facts: {html}"
    );
    assert!(h.has("Correctie opslaan") && !h.has("Opslaan"));
    h.click("10–11 jaar: één kind erbij");
    h.click("Correctie opslaan");
    let html = h.html();
    assert!(html.contains("Correctie opgeslagen"), "{html}");
    assert!(
        html.contains("Ronde in Delfshaven") && html.contains("4 kinderen 10–11 jaar"),
        "back home, with the corrected contact listed: {html}"
    );

    let store = lock(&d.ctx.store);
    assert_eq!(
        store.contact_count().expect("count"),
        1,
        "no second contact"
    );
    let entries = store.pending_entries().expect("entries");
    let kinds: Vec<_> = entries.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![ItemKind::Round, ItemKind::Contact, ItemKind::Correction]
    );
    let item = store
        .push_items(&[entries[2].local_seq])
        .expect("item")
        .remove(0);
    let Some(Payload::Correction(correction)) =
        Payload::parse(&item.kind, item.body.get()).expect("parse")
    else {
        panic!("a correction item");
    };
    assert_eq!(correction.facts.group.age10_11, 4);
    let contact = store
        .contact(correction.contact)
        .expect("read")
        .expect("the corrected contact");
    assert_eq!(contact.facts, correction.facts, "the local copy follows");
}

/// The toast's element, if one is shown.
fn toast(html: &str) -> Option<&str> {
    let start = html.find("class=\"toast")?;
    let text = &html[start..];
    let open = text.find('>')? + 1;
    let close = text.find("</div>")?;
    Some(&text[open..close])
}

#[tokio::test(start_paused = true)]
async fn a_new_message_stays_its_three_seconds_when_the_earlier_ones_time_is_up() {
    let d = enrolled_device();
    let mut h = Harness::new(&d.ctx, None);
    h.click("Delfshaven");
    h.click("Start ronde");
    assert_eq!(toast(&h.html()), Some("Ronde in Delfshaven gestart"));
    h.pass(Duration::from_secs(2)).await;
    h.click("6–9 jaar: één kind erbij");
    h.click("thuisgebracht");
    h.click("Opslaan");
    const CARE: &str = "Opgeslagen. Vul nu het zorgformulier in.";
    assert_eq!(toast(&h.html()), Some(CARE));
    // 3.5 s after the first message, 1.5 s after the second: the first one's timer is up.
    h.pass(Duration::from_millis(1_500)).await;
    assert_eq!(
        toast(&h.html()),
        Some(CARE),
        "the second message was cleared by the first one's timer"
    );
    h.pass(Duration::from_secs(2)).await;
    assert_eq!(
        toast(&h.html()),
        None,
        "three seconds after the last message it is gone"
    );
}

/// A phone revoked (or wiped after ten wrong PINs) right after a message: the message is
/// about data that is gone, and must not lie over the enrol screen's reason for the wipe
/// for its remaining seconds.
#[tokio::test(start_paused = true)]
async fn a_wipe_takes_the_last_message_away_with_the_data() {
    let d = enrolled_device();
    let mut h = Harness::new(&d.ctx, None);
    h.click("Delfshaven");
    h.click("Start ronde");
    h.click("10–11 jaar: één kind erbij");
    h.click("Opslaan");
    assert_eq!(toast(&h.html()), Some("Ronde in Delfshaven gestart"));
    avondronde_app::store::wipe(&d.ctx.store, &d.ctx.secrets).expect("wipe");
    d.ctx
        .sync
        .engine()
        .wiped("Alle gegevens op dit toestel zijn gewist.");
    h.pass(Duration::from_millis(100)).await;
    let html = h.html();
    assert!(
        html.contains("Toestel aanmelden"),
        "the enrol screen: {html}"
    );
    assert_eq!(toast(&html), None, "the message outlived the wipe: {html}");
}

/// rev3 finding 5: a new screen opens at its top, not at the scroll position of the
/// screen before (the care form's privacy note, the correction mode's heading).
#[tokio::test]
async fn every_screen_change_scrolls_to_the_top() {
    use avondronde_app::ui::SCROLL_TO_TOP_JS;

    // Effects run when the app's tasks do, not in the render itself.
    const EFFECTS: Duration = Duration::from_millis(20);
    let scrolled = |evals: Vec<String>| evals.iter().any(|js| js == SCROLL_TO_TOP_JS);
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    h.pass(EFFECTS).await;
    h.take_evals();
    h.click("6–9 jaar: één kind erbij");
    h.click("thuisgebracht");
    h.pass(EFFECTS).await;
    assert!(
        !scrolled(h.take_evals()),
        "a tap on the same screen keeps its place"
    );
    h.click("Opslaan");
    h.pass(EFFECTS).await;
    assert!(h.html().contains("Zorgformulier kind 1"));
    assert!(scrolled(h.take_evals()), "the care form opens at its top");
    h.click("Later afmaken");
    h.pass(EFFECTS).await;
    assert!(h.html().contains("Ronde in Delfshaven"));
    assert!(scrolled(h.take_evals()), "the round opens at its top");
    h.click("Corrigeer contact 1 van 22:30");
    h.pass(EFFECTS).await;
    assert!(h.html().contains("Contact corrigeren"));
    assert!(scrolled(h.take_evals()), "the correction opens at its top");
}

/// rev3 finding 3: the birth date field opens the numeric keypad (often without "-"), so
/// eight digits are a date; a wrong date is named at the field itself, not only at the
/// bottom of the form.
#[tokio::test]
async fn the_care_form_reads_a_birth_date_in_digits_and_names_a_wrong_one_at_the_field() {
    use avondronde_app::care::BIRTH_DATE_FORMAT_NL;

    const FIELD: &str = "Geboortedatum (dd-mm-jjjj)";
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    h.click("6–9 jaar: één kind erbij");
    h.click("thuisgebracht");
    h.click("Opslaan");
    h.input(FIELD, "12032017");
    let html = h.html();
    assert!(html.contains("Gelezen als 12-03-2017"), "{html}");
    assert!(!html.contains("class=\"field-error\""), "{html}");

    h.input(FIELD, "12132017");
    let html = h.html();
    let field = html
        .find(&format!("aria-label=\"{FIELD}\""))
        .expect("field");
    let error = html
        .find("class=\"field-error\"")
        .expect("error at the field");
    let next = html
        .find("aria-label=\"of geschatte leeftijd (jaren)\"")
        .expect("next field");
    assert!(field < error && error < next, "under the field: {html}");
    assert!(html[error..next].contains(BIRTH_DATE_FORMAT_NL), "{html}");
    assert!(html.contains("aria-invalid=true"), "{html}");

    // Sealing names it at the field as well as in the list by the button.
    h.input(FIELD, "12-13-2017");
    h.click("Verzegelen en verzenden");
    let html = h.html();
    assert_eq!(html.matches(BIRTH_DATE_FORMAT_NL).count(), 2, "{html}");
}

/// The toast's element with its class ("toast" or "toast above"), if one is shown.
fn toast_element(html: &str) -> Option<&str> {
    let start = html.find("<div class=\"toast")?;
    let end = html[start..].find("</div>")? + start;
    Some(&html[start..end])
}

/// rev3 finding 20: the toast covered the headings at the top of the screen. On the
/// record screen it sits in the bottom panel (just above it, by the stylesheet), and on
/// screens without a panel at the bottom of the screen (`.toast`, bottom: 16px).
#[tokio::test]
async fn the_toast_sits_above_the_bottom_panel_on_the_record_screen_and_at_the_bottom_elsewhere() {
    let d = enrolled_device();
    let mut h = Harness::new(&d.ctx, None);
    h.click("Delfshaven");
    h.click("Start ronde");
    let html = h.html();
    let toast = toast_element(&html).expect("a toast");
    assert!(
        toast.starts_with("<div class=\"toast above\"")
            && toast.contains("Ronde in Delfshaven gestart"),
        "{toast}"
    );
    let panel = html
        .find("aria-label=\"Tellen en opslaan\"")
        .expect("the panel");
    let at = html.find("<div class=\"toast").expect("toast");
    assert!(panel < at, "the toast is inside the bottom panel: {html}");
    assert_eq!(
        html.matches("class=\"toast").count(),
        1,
        "shown once, not also at the bottom of the screen"
    );

    let mut h = Harness::new(&d.ctx, Some(Screen::EndRound));
    h.click("Toch beëindigen");
    let html = h.html();
    assert!(html.contains("Ronde starten"), "{html}");
    let toast = toast_element(&html).expect("a toast");
    assert!(
        toast.starts_with("<div class=\"toast\"") && toast.contains("Ronde beëindigd"),
        "no panel on this screen, so the toast is at the bottom of the screen: {toast}"
    );
    let css = avondronde_app::ui::THEME_CSS;
    let rule = css
        .lines()
        .find(|l| l.starts_with(".toast {"))
        .expect("the toast's rule");
    assert!(
        rule.contains("bottom: 16px") && !rule.contains("top:"),
        "{rule}"
    );
}

/// rev3 finding 21: "Geen kinderen geteld" was in the green of "binnen de norm", and the
/// round's list showed two identical lines "23:47 · 4 kinderen · rondhangen".
#[tokio::test]
async fn nobody_counted_is_grey_and_the_rounds_list_tells_contacts_apart() {
    use avondronde_app::state::RecordForm;
    use avondronde_shared::AgeBand;
    use avondronde_shared::contact::Behaviour;

    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    let html = h.html();
    assert!(
        html.contains("<div class=\"verdict empty\""),
        "nobody counted is no verdict: {html}"
    );
    h.click("6–9 jaar: één kind erbij");
    assert!(
        h.html().contains("<div class=\"verdict alert\""),
        "a 6–9-year-old at 22:30 is past the 21:00 norm"
    );

    // At 22:30: two 10–11-year-olds at the hangplek, past their 22:00 norm, and two
    // teenagers of 14+ (no norm) on a pin near it.
    let mut at_place = RecordForm::new();
    at_place.add_child(AgeBand::Age10To11);
    at_place.add_child(AgeBand::Age10To11);
    at_place.toggle_behaviour(Behaviour::HangingAround);
    let place = d.ctx.round_places()[0].clone();
    at_place.choose_place(place.id, &place.name, place.lat, place.lon);
    d.ctx.save_contact(&at_place).expect("saved");
    let mut by_gps = RecordForm::new();
    by_gps.add_child(AgeBand::Age14Plus);
    by_gps.add_child(AgeBand::Age14Plus);
    by_gps.toggle_behaviour(Behaviour::HangingAround);
    by_gps.drop_pin(51.9125, 4.4450);
    d.ctx.save_contact(&by_gps).expect("saved");

    let h = Harness::new(&d.ctx, Some(Screen::Home));
    let html = h.html();
    let list = &html[html
        .find("aria-label=\"Vastgelegd deze ronde\"")
        .expect("the list")..];
    let first = &list[..list.find("</li>").expect("first line")];
    let second = &list[list.find("</li>").expect("first") + 5..];
    let second = &second[..second.find("</li>").expect("second line")];
    assert!(
        first.contains("2 kinderen 10–11 jaar · rondhangen")
            && first.contains("Mathenesserplein")
            && first.contains("na de norm"),
        "{first}"
    );
    assert!(
        second.contains("2 kinderen 14+ jaar · rondhangen")
            && second.contains("speld bij Mathenesserplein")
            && !second.contains("na de norm"),
        "{second}"
    );
}

/// Seals the first care-form draft as [`avondronde_app::care::submit`] would, with a
/// stand-in for the encrypted content (these tests have no meldpunt key): the store keeps
/// only what the feedback list needs, and the draft with the child's details is gone.
fn seal_first_draft(d: &ui_support::Device) {
    use avondronde_shared::care::{CareFormEnvelope, RecipientKeyId};

    let mut store = lock(&d.ctx.store);
    let draft = store.drafts().expect("drafts").remove(0);
    let envelope = CareFormEnvelope {
        id: draft.id,
        contact: draft.contact,
        created_at: d.ctx.now(),
        age_band: draft.age_band,
        recipient_key: RecipientKeyId("k1".into()),
        sealed: vec![1, 2, 3],
    };
    store.seal_draft(&envelope, d.ctx.now()).expect("sealed");
}

/// Marks everything in the outbox as received by the server.
fn all_sent(d: &ui_support::Device) {
    use avondronde_shared::sync::{Acceptance, EntryState, Transition};

    let mut store = lock(&d.ctx.store);
    let transitions: Vec<_> = store
        .pending_entries()
        .expect("entries")
        .iter()
        .enumerate()
        .map(|(i, e)| Transition {
            local_seq: e.local_seq,
            state: EntryState::Sent(Acceptance {
                seq: i as u64 + 1,
                received_at: d.ctx.now(),
            }),
        })
        .collect();
    store.apply_transitions(&transitions).expect("sent");
}

/// A contact of 22:30 at the hangplek with one 6–9-year-old brought home.
fn save_brought_home_at_the_hangplek(d: &ui_support::Device) {
    use avondronde_app::state::RecordForm;
    use avondronde_shared::AgeBand;
    use avondronde_shared::contact::Action;

    let mut f = RecordForm::new();
    f.add_child(AgeBand::Age6To9);
    f.toggle_action(Action::BroughtHome);
    let place = d.ctx.round_places()[0].clone();
    f.choose_place(place.id, &place.name, place.lat, place.lon);
    d.ctx.save_contact(&f).expect("saved");
}

/// The text of the element that carries `aria-label="{label}"`, up to its closing tag.
fn labelled<'a>(html: &'a str, label: &str, close: &str) -> &'a str {
    let rest = &html[html
        .find(&format!("aria-label=\"{label}\""))
        .unwrap_or_else(|| panic!("no {label:?} in {html}"))..];
    &rest[..rest.find(close).expect("closing tag")]
}

/// rev3 finding 21: after "Ronde beëindigen" only a toast said that the round had ended;
/// nothing confirmed what the evening came to, or that all of it was sent.
#[tokio::test]
async fn after_ending_a_round_home_sums_it_up_and_says_whether_all_was_sent() {
    let d = device_in_round();
    save_brought_home_at_the_hangplek(&d);
    seal_first_draft(&d);
    let mut plain = avondronde_app::state::RecordForm::new();
    plain.add_child(avondronde_shared::AgeBand::Age12To13);
    plain.choose_no_location();
    d.ctx.save_contact(&plain).expect("saved");

    let mut h = Harness::new(&d.ctx, Some(Screen::EndRound));
    h.click("Toch beëindigen");
    let html = h.html();
    let summary = labelled(&html, "Samenvatting van de ronde", "</p>");
    // Round, two contacts, the care form and the round's end wait: nothing was synced.
    assert!(
        summary.contains(
            "Ronde Delfshaven 22:30–22:30: 2 contacten, 1 zorgformulier, nog 5 te verzenden"
        ),
        "{summary}"
    );
    assert!(html.contains("Ronde afgerond") && h.has("Verzendstatus bekijken"));
    assert!(
        html.find("Ronde afgerond") < html.find("Ronde starten"),
        "the summary comes first: {html}"
    );

    // Once the server has it all, the same card says so.
    all_sent(&d);
    let h = Harness::new(&d.ctx, Some(Screen::Home));
    let html = h.html();
    let summary = labelled(&html, "Samenvatting van de ronde", "</p>");
    assert!(
        summary.contains(
            "Ronde Delfshaven 22:30–22:30: 2 contacten, 1 zorgformulier, alles verzonden"
        ),
        "{summary}"
    );
    assert!(!h.has("Verzendstatus bekijken"));

    // A new round replaces the summary.
    let wijk = d.ctx.config().expect("config").wijken[0].clone();
    d.ctx.start_round(&wijk, "").expect("round");
    let html = Harness::new(&d.ctx, Some(Screen::Home)).html();
    assert!(!html.contains("Ronde afgerond"), "{html}");
}

/// rev3 finding 21: the record screen started with a chip, without saying what it was
/// or in which wijk.
#[tokio::test]
async fn the_record_screen_names_itself_and_the_wijk_above_the_chips_not_in_the_panel() {
    let d = device_in_round();
    let html = Harness::new(&d.ctx, None).html();
    let title = html
        .find("<h2 class=\"screen-title\">Contact · Delfshaven</h2>")
        .unwrap_or_else(|| panic!("no title: {html}"));
    let chips = html.find("Volwassene bij de groep").expect("chips");
    let panel = html
        .find("aria-label=\"Tellen en opslaan\"")
        .expect("panel");
    assert!(
        title < chips && chips < panel,
        "the title is the first thing in the scroll area, outside the fixed panel: {html}"
    );
    let css = avondronde_app::ui::THEME_CSS;
    assert!(
        css.contains(".thumb { position: fixed;"),
        "the counters' panel stays fixed, so the title cannot push it"
    );
}

/// rev3 finding 21: a feedback card said only "Zorgformulier · 6–9 jaar, Verzegeld …";
/// with several forms the reporter could not tell which family it was about.
#[tokio::test]
async fn a_feedback_card_names_its_contacts_time_and_place_and_nothing_about_the_child() {
    let d = device_in_round();
    save_brought_home_at_the_hangplek(&d);
    let draft = lock(&d.ctx.store).drafts().expect("drafts").remove(0);
    let mut content = avondronde_app::care::CareDraft {
        child_name: "Testkind Geheim".into(),
        birth_date: "12-03-2017".into(),
        address: "Teststraat 99".into(),
        ..Default::default()
    };
    content.parents_informed = true;
    d.ctx.save_care_draft(draft.id, &content).expect("draft");
    seal_first_draft(&d);

    let html = Harness::new(&d.ctx, Some(Screen::Feedback)).html();
    let card = labelled(&html, "Zorgformulier 6–9 jaar", "</article>");
    assert!(
        card.contains("Contact om 22:30 · Mathenesserplein"),
        "{card}"
    );
    assert!(card.contains("Verzegeld 20-11-2026 22:30"), "{card}");
    for secret in ["Testkind", "12-03-2017", "2017", "Teststraat"] {
        assert!(!html.contains(secret), "{secret:?} on the feedback screen");
    }
}

/// rev3 finding 21: "Ouders weten dat er een melding komt" sat in the grid of "Hoe
/// reageerden de ouders?" and looked like a sixth answer to it.
#[tokio::test]
async fn parents_being_told_is_its_own_question_not_a_sixth_reaction() {
    let d = device_in_round();
    save_brought_home_at_the_hangplek(&d);
    let id = d.ctx.next_care_draft().expect("read").expect("a draft");
    let mut h = Harness::new(&d.ctx, Some(Screen::CareForm(id)));
    let html = h.html();
    let reactions = labelled(&html, "Reactie ouders", "</div>");
    assert!(
        !reactions.contains("melding"),
        "not among the reactions: {reactions}"
    );
    let own = html
        .find("<h3>Melding aan de ouders</h3>")
        .expect("a heading");
    assert!(
        html.contains("class=\"chips single\" role=\"group\" aria-label=\"Melding aan de ouders\""),
        "a group of its own, one chip wide: {html}"
    );
    let group = labelled(&html, "Melding aan de ouders", "</div>");
    assert!(
        group.contains("Ouders weten dat er een melding komt"),
        "{group}"
    );
    assert!(
        html.find("aria-label=\"Reactie ouders\"") < Some(own),
        "{html}"
    );
    h.click("Ouders weten dat er een melding komt");
    let (_, draft) = lock(&d.ctx.store).draft(id).expect("read").expect("draft");
    assert!(
        draft.parents_informed,
        "the chip still answers the question"
    );
}

/// rev3 finding 21: after a save the toast "Opgeslagen" repeated the confirmation in the
/// record screen's panel. The panel says it; a toast only comes when the screen changes.
#[tokio::test]
async fn a_new_contact_is_confirmed_once_in_the_panel_without_a_toast_repeating_it() {
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    h.click("10–11 jaar: één kind erbij");
    h.click("Opslaan");
    let html = h.html();
    assert!(
        labelled(&html, "Bevestiging", "</p>").contains("opgeslagen om 22:30: 1 kind"),
        "{html}"
    );
    assert_eq!(toast(&html), None, "{html}");
    // Bringing a child home moves to its care form: there the toast says what happened.
    h.click("6–9 jaar: één kind erbij");
    h.click("thuisgebracht");
    h.click("Opslaan");
    assert_eq!(
        toast(&h.html()),
        Some("Opgeslagen. Vul nu het zorgformulier in.")
    );
}
