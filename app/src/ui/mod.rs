//! The Dioxus components: thin views over [`crate::services::AppCtx`] and
//! [`crate::state`]. Dutch, dark and high-contrast, big tap targets, one hand.
//!
//! Navigation is a [`Screen`] signal rather than a router: the app has a handful of
//! screens and no URLs worth sharing (and no personal data may ever end up in one).

mod care_form;
mod chrome;
mod end_round;
mod enrol;
mod feedback;
mod home;
mod lock;
mod map;
mod outbox;
mod record;
mod record_parts;
mod theme;

use avondronde_shared::{CareFormId, ContactId};
use dioxus::document;
use dioxus::prelude::*;

use crate::services::AppCtx;
use crate::state::RecordForm;
use crate::sync::SyncStatus;

pub use map::MapPurpose;

pub use theme::THEME_CSS;

/// What runs in the webview when the screen changes.
pub const SCROLL_TO_TOP_JS: &str = "window.scrollTo(0, 0);";

/// Which screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Start a round, or the round overview.
    Home,
    /// Record a contact.
    Record,
    /// Correct a contact saved in the round in progress (the form is [`Ui::correction`]).
    Correct(ContactId),
    /// Fill in a care form.
    CareForm(CareFormId),
    /// What is waiting, sent or refused.
    Outbox,
    /// The meldpunt's feedback on my care forms.
    Feedback,
    /// End the round, after checking that everything was sent.
    EndRound,
    /// The map of the round; from the record screen, to drop a pin.
    Map(MapPurpose),
    /// Enrol this phone again (another user, or a new code), from the status screen.
    Enrol,
}

/// A screen to open on instead of the default one, put in the root context by tests and
/// demos (`VirtualDom::new(App).with_root_context(InitialScreen(Screen::Outbox))`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialScreen(pub Screen);

/// The UI's shared signals, put in context by [`App`]. `Copy`, so handlers can capture it.
#[derive(Clone, Copy)]
pub struct Ui {
    /// The screen shown.
    pub screen: Signal<Screen>,
    /// Bumped after every change to the store; views that read the store read it too.
    pub data: Signal<u64>,
    /// The sync engine's status.
    pub status: Signal<SyncStatus>,
    /// A short message at the bottom ("Opgeslagen").
    pub toast: Signal<Option<String>>,
    /// The record form in progress (kept when switching screens).
    pub record: Signal<RecordForm>,
    /// The form correcting a saved contact; separate from [`Ui::record`], so a new
    /// contact half filled in is not lost by correcting an earlier one.
    pub correction: Signal<RecordForm>,
}

impl Ui {
    /// Goes to a screen.
    pub fn go(mut self, screen: Screen) {
        self.screen.set(screen);
    }

    /// Tells the views that the store changed.
    pub fn changed(mut self) {
        let next = *self.data.peek() + 1;
        self.data.set(next);
    }

    /// Opens the record screen on `form`, which corrects the saved `contact`.
    pub fn correct(mut self, contact: ContactId, form: RecordForm) {
        self.correction.set(form);
        self.screen.set(Screen::Correct(contact));
    }

    /// Shows a short message.
    pub fn say(mut self, text: impl Into<String>) {
        self.toast.set(Some(text.into()));
    }
}

/// Whether a screen has a panel fixed to the bottom (the record screen's counters, the
/// map's buttons), which then shows the toast just above itself.
fn has_bottom_panel(screen: Screen, in_round: bool) -> bool {
    match screen {
        Screen::Record | Screen::Correct(_) => in_round,
        Screen::Map(_) => true,
        _ => false,
    }
}

/// The app context, from inside a component or an event handler.
pub fn app() -> AppCtx {
    consume_context::<AppCtx>()
}

/// The UI signals, from inside a component or an event handler.
pub fn ui() -> Ui {
    consume_context::<Ui>()
}

/// The root component. Expects an [`AppCtx`] in the root context.
#[component]
pub fn App() -> Element {
    let ctx = use_context::<AppCtx>();
    let initial = if let Some(InitialScreen(s)) = try_consume_context::<InitialScreen>() {
        s
    } else if ctx.active_round().is_some() {
        Screen::Record
    } else {
        Screen::Home
    };
    let screen = use_signal(|| initial);
    let data = use_signal(|| 0u64);
    let mut status = use_signal(|| ctx.sync.engine().status());
    let toast = use_signal(|| None::<String>);
    let record = use_signal(RecordForm::new);
    let correction = use_signal(RecordForm::new);
    let ui = use_context_provider(|| Ui {
        screen,
        data,
        status,
        toast,
        record,
        correction,
    });

    // Follow the sync engine: every change re-reads the store. When the phone is wiped
    // (revoked, or ten wrong PINs), a message still shown is about data that is gone, and
    // it would lie over the enrol screen's reason for the wipe: it goes too.
    let engine = ctx.sync.engine().clone();
    use_future(move || {
        let mut rx = engine.subscribe();
        let mut toast = ui.toast;
        async move {
            while rx.changed().await.is_ok() {
                let now = rx.borrow_and_update().clone();
                if now.wiped && !status.peek().wiped {
                    toast.set(None);
                }
                status.set(now);
                ui.changed();
            }
        }
    });
    // Reconnecting triggers a pass.
    let sync = ctx.sync.clone();
    use_future(move || {
        let sync = sync.clone();
        async move {
            crate::platform::webview::watch_online(move |online| sync.set_online(online)).await;
        }
    });
    // In the background (the page or window hidden) long enough, the PIN is asked again.
    let visible_ctx = ctx.clone();
    use_future(move || {
        let ctx = visible_ctx.clone();
        async move {
            crate::platform::webview::watch_visibility(move |visible| {
                if visible {
                    if ctx.app_shown() {
                        ui.changed();
                    }
                } else {
                    ctx.app_hidden();
                }
            })
            .await;
        }
    });

    // Every screen opens at its top, not at the scroll position of the screen before: the
    // top is what explains a screen (the correction mode, the care form's privacy note;
    // rev3 finding 5). The page is one document, so this is the window's scroll.
    use_effect(move || {
        let _ = screen();
        document::eval(SCROLL_TO_TOP_JS);
    });

    let _ = data();
    let enrolled = ctx.enrolment().is_some();
    let revoked = matches!(status.read().phase, crate::sync::Phase::Revoked);
    let main_shown =
        enrolled && !revoked && ctx.pin_is_set() && !ctx.is_locked() && screen() != Screen::Enrol;
    let in_panel = main_shown && has_bottom_panel(screen(), ctx.active_round().is_some());
    rsx! {
        style { {THEME_CSS} }
        div { class: "app",
            if !enrolled || revoked {
                enrol::Enrol {}
            } else if !ctx.pin_is_set() {
                lock::SetPin {}
            } else if ctx.is_locked() {
                lock::Unlock {}
            } else if screen() == Screen::Enrol {
                enrol::Enrol {}
            } else {
                chrome::Header {}
                main { class: "screen",
                    match screen() {
                        Screen::Home => rsx! { home::Home {} },
                        Screen::Record => rsx! { record::Record {} },
                        Screen::Correct(id) => rsx! { record::Record { key: "{id}", correcting: true } },
                        Screen::CareForm(id) => rsx! { care_form::CareFormScreen { key: "{id}", id } },
                        Screen::Outbox => rsx! { outbox::Outbox {} },
                        Screen::Feedback => rsx! { feedback::FeedbackList {} },
                        Screen::EndRound => rsx! { end_round::EndRound {} },
                        Screen::Map(purpose) => rsx! { map::MapScreen { purpose } },
                        Screen::Enrol => rsx! {},
                    }
                }
            }
            chrome::Toast { in_panel }
        }
    }
}
