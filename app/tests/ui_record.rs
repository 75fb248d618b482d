//! Headless component tests for the parts of the record screen (issue 14): "Zelfde als
//! vorige", the suggestions, the save bar's confirmation, and Dutch plurals.

mod ui_support;

use avondronde_app::state::RecordForm;
use avondronde_app::store::lock;
use avondronde_shared::AgeBand;
use avondronde_shared::contact::{Action, Behaviour};
use ui_support::{Harness, device_in_round};

fn form(band: AgeBand, n: u16, b: Behaviour, a: Action) -> RecordForm {
    let mut f = RecordForm::new();
    for _ in 0..n {
        f.add_child(band);
    }
    f.toggle_behaviour(b);
    f.toggle_action(a);
    f.choose_no_location();
    f
}

#[tokio::test]
async fn zelfde_als_vorige_appears_after_a_contact_and_repeats_it_in_two_taps() {
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    assert!(!h.has("Zelfde als vorige"), "nothing to repeat yet");
    h.click("10–11 jaar: één kind erbij");
    h.click("10–11 jaar: één kind erbij");
    h.click("rondhangen");
    h.click("aangesproken");
    h.click("Opslaan");
    let html = h.html();
    // "✓ Contact opgeslagen om 22:30: 2 kinderen" ("Contact " in its own span, which a
    // short screen hides).
    let confirmation = html
        .split("aria-label=\"Bevestiging\"")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .expect("confirmation");
    assert!(
        confirmation.contains("✓ ")
            && confirmation.contains("Contact ")
            && confirmation.contains("opgeslagen om 22:30: 2 kinderen"),
        "{html}"
    );
    assert!(html.contains("2 kinderen 10–11 jaar · rondhangen · aangesproken"));

    h.click("Zelfde als vorige");
    assert!(
        h.html().contains("10–11 jaar: 2 kinderen"),
        "the group is back"
    );
    h.click("Opslaan");
    let round = d.ctx.round_contacts();
    assert_eq!(round.len(), 2);
    assert_eq!(round[0].facts.group, round[1].facts.group);
    assert_eq!(round[0].facts.behaviours, round[1].facts.behaviours);
    assert_eq!(round[0].facts.actions, round[1].facts.actions);
    assert_ne!(round[0].id, round[1].id);
}

#[tokio::test]
async fn a_suggestion_fills_in_an_earlier_situation_of_this_round() {
    let d = device_in_round();
    d.ctx
        .save_contact(&form(
            AgeBand::Age10To11,
            3,
            Behaviour::HangingAround,
            Action::Spoken,
        ))
        .expect("first");
    d.ctx
        .save_contact(&form(
            AgeBand::Age12To13,
            1,
            Behaviour::Fireworks,
            Action::SentHome,
        ))
        .expect("second");
    let mut h = Harness::new(&d.ctx, None);
    let label = "Suggestie: 3 kinderen 10–11 jaar · rondhangen · aangesproken";
    assert!(h.has(label), "{}", h.html());
    h.click(label);
    let html = h.html();
    assert!(html.contains("10–11 jaar: 3 kinderen"), "{html}");
    assert!(html.contains("3 kinderen na de buitenspeelnorm"), "{html}");
    h.click("Opslaan");
    assert_eq!(lock(&d.ctx.store).contact_count().expect("count"), 3);
}

#[tokio::test]
async fn one_child_is_singular_on_the_record_screen() {
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    h.click("0–5 jaar: één kind erbij");
    assert!(h.has("0–5 jaar: 1 kind"), "{}", h.html());
    assert!(h.has("6–9 jaar: 0 kinderen"));
}

/// rev3 finding 1: the counters must not move when the verdict grows (a second tap on "+"
/// landed on "−"). The panel is anchored to the bottom of the screen, so whatever changes
/// height (the confirmation, "Zelfde als vorige") sits above the counters, and below them
/// only the verdict, whose height the theme fixes, and Opslaan.
#[tokio::test]
async fn only_parts_of_a_fixed_height_sit_below_the_counters() {
    let d = device_in_round();
    let mut h = Harness::new(&d.ctx, None);
    h.click("10–11 jaar: één kind erbij");
    h.click("rondhangen");
    h.click("Opslaan");
    h.click("6–9 jaar: één kind erbij");
    let html = h.html();
    let start = html
        .find("aria-label=\"Tellen en opslaan\"")
        .expect("panel");
    let end = html.find("class=\"thumb-space\"").expect("end of panel");
    let panel = &html[start..end];
    let confirmation = panel
        .find("aria-label=\"Bevestiging\"")
        .expect("confirmation");
    let repeat = panel.find("class=\"btn repeat\"").expect("repeat");
    let counters = panel.find("aria-label=\"Leeftijden\"").expect("counters");
    assert!(confirmation < repeat && repeat < counters, "{panel}");
    let below: Vec<&str> = panel[counters..]
        .split("class=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let fixed = |class: &str| {
        [
            "bands",
            "band",
            "label",
            "count",
            "plus",
            "minus",
            "savebar",
            "verdict-text",
            "btn primary",
        ]
        .contains(&class)
            || class.starts_with("verdict ")
    };
    assert!(
        below.iter().all(|c| fixed(c)),
        "below the counters: {below:?}"
    );

    let css = avondronde_app::ui::THEME_CSS;
    let verdict = css
        .lines()
        .skip_while(|l| !l.starts_with(".verdict {"))
        .take(3)
        .collect::<String>();
    assert!(
        verdict.contains("height: calc(") && css.contains("-webkit-line-clamp: 2"),
        "the verdict has a fixed height of two lines: {verdict}"
    );
    assert!(
        !css.contains("position: static"),
        "the panel stays fixed on short screens too"
    );
}
