//! Issue 10 on the phone, through the app's own components over a real store: a previous
//! user's unsent items block a new enrolment until thrown away with a confirmation that
//! names how many; care-form drafts block "Ronde beëindigen"; the app PIN is set after
//! enrolment, asked after the background, and ten wrong PINs wipe the phone.

mod ui_support;

use avondronde_app::pin::Attempt;
use avondronde_app::services::AppError;
use avondronde_app::state::RecordForm;
use avondronde_app::store::{DB_FILE, lock};
use avondronde_app::ui::Screen;
use avondronde_shared::AgeBand;
use avondronde_shared::contact::Action;
use avondronde_shared::sync::{Cursor, PhonePolicy};
use ui_support::{Harness, PIN, config, device, device_in_round, enrolled_device};

/// A round with one contact whose child was brought home: 3 unsent items (the round, the
/// contact, the care-form draft).
fn round_with_a_draft() -> ui_support::Device {
    let d = device_in_round();
    let mut form = RecordForm::new();
    form.add_child(AgeBand::Age6To9);
    form.toggle_action(Action::BroughtHome);
    form.choose_no_location();
    d.ctx.save_contact(&form).expect("saved");
    d
}

#[tokio::test]
async fn enrolment_refuses_while_a_previous_users_items_are_unsent_before_using_the_code() {
    let d = round_with_a_draft();
    let left = d.ctx.leftovers().expect("leftovers");
    assert_eq!((left.pending, left.drafts, left.items()), (2, 1, 3));
    // 127.0.0.1:9 has no server: reaching the network would give another error.
    let err = d
        .ctx
        .enrol_pinned("http://127.0.0.1:9", "ABCD-EFGH", None)
        .await
        .expect_err("refused");
    assert!(
        err.contains("3 items die niet zijn verzonden") && err.contains("weggooien?"),
        "{err}"
    );
    // Nothing was thrown away by refusing.
    assert_eq!(d.ctx.leftovers().expect("leftovers").items(), 3);
}

#[tokio::test]
async fn the_enrol_screen_names_how_many_items_and_throws_them_away_only_after_confirming() {
    let d = round_with_a_draft();
    let mut h = Harness::new(&d.ctx, Some(Screen::Enrol));
    let html = h.html();
    assert!(html.contains("Toestel opnieuw aanmelden"), "{html}");
    assert!(
        html.contains("nog 3 items die niet zijn verzonden"),
        "{html}"
    );
    h.click("Weggooien…");
    let html = h.html();
    assert!(
        html.contains("De ronde en 3 items op dit toestel weggooien?"),
        "{html}"
    );
    assert_eq!(
        d.ctx.leftovers().expect("l").items(),
        3,
        "asking deletes nothing"
    );
    h.click("Nee, bewaren");
    assert_eq!(d.ctx.leftovers().expect("l").items(), 3);
    h.click("Weggooien…");
    h.click("Ja, ronde en 3 items weggooien");
    let left = d.ctx.leftovers().expect("l");
    assert!(left.is_empty(), "{left:?}");
    assert!(lock(&d.ctx.store).drafts().expect("drafts").is_empty());
    assert!(d.ctx.active_round().is_none(), "the old round is closed");
    assert!(!h.html().contains("die niet zijn verzonden"));
    // A stale confirmation (a number that no longer matches) deletes nothing.
    let d2 = round_with_a_draft();
    assert!(matches!(
        d2.ctx.discard_leftovers(2),
        Err(AppError::StaleConfirmation)
    ));
    assert_eq!(d2.ctx.leftovers().expect("l").items(), 3);
}

#[tokio::test]
async fn a_waiting_draft_blocks_ending_the_round_until_it_is_thrown_away_with_a_confirmation() {
    let d = round_with_a_draft();
    assert!(matches!(d.ctx.end_round(), Err(AppError::DraftsWaiting(_))));
    assert!(d.ctx.active_round().is_some());
    let home = Harness::new(&d.ctx, Some(Screen::Home)).html();
    assert!(
        home.contains("1 zorgformulier wacht op verzegelen."),
        "{home}"
    );

    let mut h = Harness::new(&d.ctx, Some(Screen::EndRound));
    let html = h.html();
    assert!(html.contains("Er wacht nog 1 zorgformulier."), "{html}");
    assert!(
        html.contains("disabled"),
        "the end button is disabled: {html}"
    );
    h.click("Zorgformulier kind 1 weggooien");
    assert!(h.html().contains("Zorgformulier kind 1 weggooien?"));
    assert_eq!(lock(&d.ctx.store).drafts().expect("d").len(), 1);
    h.click("Ja, zorgformulier kind 1 weggooien");
    assert!(lock(&d.ctx.store).drafts().expect("d").is_empty());
    assert!(!h.html().contains("Er wacht nog"));
    h.click("Toch beëindigen");
    assert!(d.ctx.active_round().is_none());
}

#[tokio::test]
async fn after_enrolment_the_app_asks_for_a_pin_before_any_screen_with_data() {
    let d = enrolled_device();
    lock(&d.ctx.store).clear_pin().expect("clear");
    let mut h = Harness::new(&d.ctx, None);
    let html = h.html();
    assert!(html.contains("Kies een pincode"), "{html}");
    assert!(!html.contains("Ronde starten"), "no data before the PIN");
    h.input("Nieuwe pincode", "12");
    h.input("Pincode nogmaals", "12");
    h.click("Pincode instellen");
    assert!(h.html().contains("4 tot 8 cijfers"));
    h.input("Nieuwe pincode", "13579");
    h.input("Pincode nogmaals", "13579");
    h.click("Pincode instellen");
    assert!(h.html().contains("Ronde starten"), "{}", h.html());
    let phc = lock(&d.ctx.store).pin_hash().expect("read").expect("set");
    assert!(phc.starts_with("$argon2id$") && !phc.contains("13579"));
}

#[tokio::test]
async fn the_pin_is_asked_after_the_background_and_a_right_one_resets_the_count() {
    let d = enrolled_device();
    let mut c = config();
    c.version = 2;
    c.phone = PhonePolicy {
        lock_after_minutes: 0,
        ..PhonePolicy::default()
    };
    lock(&d.ctx.store)
        .apply_pull(Some(&c), &[], Cursor(1), d.ctx.now())
        .expect("config");
    assert!(!d.ctx.is_locked());
    d.ctx.app_hidden();
    assert!(d.ctx.app_shown(), "0 minutes: locked on return");
    let mut h = Harness::new(&d.ctx, None);
    let html = h.html();
    assert!(html.contains("Avondronde is vergrendeld"), "{html}");
    assert!(
        !html.contains("Delfshaven"),
        "no data behind the lock: {html}"
    );
    h.input("Pincode", "0000");
    h.click("Ontgrendelen");
    assert!(h.html().contains("Onjuiste pincode. Nog 9 pogingen."));
    assert_eq!(lock(&d.ctx.store).pin_failures().expect("n"), 1);
    h.input("Pincode", PIN);
    h.click("Ontgrendelen");
    assert!(h.html().contains("Ronde starten"), "{}", h.html());
    assert_eq!(lock(&d.ctx.store).pin_failures().expect("n"), 0);
}

#[tokio::test]
async fn ten_wrong_pins_wipe_the_phone_and_the_enrol_screen_says_why() {
    let d = round_with_a_draft();
    for n in 1..10 {
        assert_eq!(
            d.ctx.try_pin("0000").expect("try"),
            Attempt::Wrong { left: 10 - n }
        );
    }
    assert!(d.dir.path().join(DB_FILE).exists());
    assert_eq!(d.ctx.try_pin("0000").expect("try"), Attempt::Wipe);
    let left: Vec<String> = std::fs::read_dir(d.dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|n| !n.starts_with(DB_FILE)),
        "no database: {left:?}"
    );
    assert!(d.ctx.enrolment().is_none());
    let html = Harness::new(&d.ctx, None).html();
    assert!(html.contains("Toestel aanmelden"), "{html}");
    assert!(html.contains("Tien keer een onjuiste pincode"), "{html}");
}

#[tokio::test]
async fn a_fresh_device_has_no_leftovers_and_no_pin_screen() {
    let d = device();
    assert!(d.ctx.leftovers().expect("l").is_empty());
    let html = Harness::new(&d.ctx, None).html();
    assert!(html.contains("Toestel aanmelden") && !html.contains("vorige gebruiker"));
}

/// rev3 finding 8: "Toestel opnieuw aanmelden" was a full-width button right under "Nu
/// proberen", and the enrol screen called the user's own running round "een ronde van de
/// vorige gebruiker", offering "Weggooien…" first and "Terug" last. Now it is a quiet
/// action at the end of the status screen, behind a question; the enrol screen starts with
/// "Terug", names the round neutrally, and offers the way that keeps it before the one
/// that throws it away.
#[tokio::test]
async fn enrolling_again_is_a_quiet_question_at_the_end_of_the_status_screen() {
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, Some(Screen::Outbox));
    let html = h.html();
    let retry = html
        .find("aria-label=\"Nu proberen\"")
        .expect("Nu proberen");
    let list = html.find("aria-label=\"Items\"").expect("the list");
    let device = html
        .find("aria-label=\"Toestel\"")
        .expect("a Toestel section");
    assert!(
        retry < list && list < device,
        "the Toestel section comes after the list: {html}"
    );
    let button = html
        .find("aria-label=\"Toestel opnieuw aanmelden…\"")
        .expect("the button");
    assert!(
        html[..button].ends_with("class=\"btn quiet\" "),
        "a quiet button, not a wide one: {}",
        &html[button.saturating_sub(60)..button + 60]
    );
    h.click("Toestel opnieuw aanmelden…");
    let html = h.html();
    assert!(
        html.contains("Verzendstatus") && html.contains("Dit toestel opnieuw aanmelden?"),
        "asked first, still on the status screen: {html}"
    );
    h.click("Nee, terug");
    assert!(!h.html().contains("Dit toestel opnieuw aanmelden?"));
    h.click("Toestel opnieuw aanmelden…");
    h.click("Ja, opnieuw aanmelden");

    let html = h.html();
    assert!(html.contains("Toestel opnieuw aanmelden</h2>"), "{html}");
    assert!(
        html.contains("De ronde in Delfshaven loopt nog op dit toestel, en er staat nog 1 item dat niet is verzonden."),
        "{html}"
    );
    assert!(!html.contains("vorige gebruiker"), "{html}");
    let back = html.find("aria-label=\"Terug\"").expect("Terug");
    let title = html.find("<h2").expect("title");
    let keep = html.find("aria-label=\"Naar de ronde\"").expect("keep");
    let discard = html.find("aria-label=\"Weggooien…\"").expect("discard");
    let scan = html.find("aria-label=\"Scan QR-code\"").expect("scan");
    assert!(back < title, "Terug comes first");
    assert!(
        keep < discard && discard < scan,
        "keeping the round is offered before throwing it away"
    );
    h.click("Weggooien…");
    let html = h.html();
    assert!(
        html.contains("De ronde en 1 item op dit toestel weggooien?"),
        "{html}"
    );
    let no = html.find("aria-label=\"Nee, bewaren\"").expect("no");
    let yes = html
        .find("aria-label=\"Ja, ronde en 1 item weggooien\"")
        .expect("yes");
    assert!(no < yes, "the safe answer first");
    h.click("Terug");
    assert!(h.html().contains("Verzendstatus"));
    assert!(d.ctx.active_round().is_some(), "nothing was thrown away");
}
