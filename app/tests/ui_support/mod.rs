//! A headless harness for the app's components: a real [`VirtualDom`] over a real
//! (temporary, encrypted) store, with clicks and input delivered as serialized events and
//! the HTML read back with `dioxus-ssr`. Controls are found by their accessible label.

#![allow(dead_code)] // each test file uses its own part of this

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use avondronde_app::clock::Clock;
use avondronde_app::platform::secrets::Preference;
use avondronde_app::services::AppCtx;
use avondronde_app::store::{Enrolment, lock};
use avondronde_app::ui::{App, InitialScreen, Screen};
use avondronde_shared::area::{Gemeente, Place, Wijk};
use avondronde_shared::norms::NormSet;
use avondronde_shared::sync::{Cursor, DeviceConfig};
use avondronde_shared::{DeviceId, GemeenteId, PlaceId, Role, WijkId};
use dioxus::dioxus_core::{AttributeValue, ElementId, Mutation, Mutations};
use dioxus::document::{Document, Eval, NoOpDocument};
use dioxus::prelude::*;
use dioxus_html::{
    PlatformEventData, SerializedFormData, SerializedHtmlEventConverter, SerializedMouseData,
};

/// 22:30 on a Friday evening in Amsterdam.
pub const EVENING: &str = "2026-11-20T21:30:00Z";

/// A device's data directory with the app's services over it.
pub struct Device {
    /// The services.
    pub ctx: AppCtx,
    /// The data directory.
    pub dir: tempfile::TempDir,
}

/// A fresh, not yet enrolled device with the clock at [`EVENING`].
pub fn device() -> Device {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::fixed(EVENING.parse().expect("time"));
    let ctx = AppCtx::open(dir.path(), clock, Preference::File, false).expect("open");
    Device { ctx, dir }
}

/// A small configuration: Rotterdam's norms, one wijk with one place.
pub fn config() -> DeviceConfig {
    let gemeente = GemeenteId::new();
    let wijk = WijkId::new();
    DeviceConfig {
        version: 1,
        gemeente: Gemeente {
            id: gemeente,
            name: "Rotterdam".into(),
            code: "GM0599".into(),
        },
        norms: NormSet::rotterdam(),
        area_rules: vec![],
        wijken: vec![Wijk {
            id: wijk,
            gemeente,
            code: "WK059903".into(),
            name: "Delfshaven".into(),
            boundary: geo::MultiPolygon(vec![]),
        }],
        places: vec![Place {
            id: PlaceId::new(),
            wijk,
            name: "Mathenesserplein".into(),
            lat: 51.9122,
            lon: 4.4447,
        }],
        meldpunt_key: None,
        meldpunt_chain: None,
        basemap_url: avondronde_shared::sync::PDOK_BASEMAP_URL.into(),
        phone: Default::default(),
    }
}

/// An enrolled device (no server involved) with the configuration pulled.
pub fn enrolled_device() -> Device {
    let d = device();
    {
        let mut store = lock(&d.ctx.store);
        store
            .set_enrolment(&Enrolment {
                server_url: "http://127.0.0.1:9".into(),
                device_id: DeviceId::new(),
                role: Role::Straatcoach,
            })
            .expect("enrol");
        store
            .apply_pull(Some(&config()), &[], Cursor(0), d.ctx.now())
            .expect("config");
    }
    // The app asks for a PIN right after enrolment (issue 10); these devices have one.
    d.ctx.set_pin(PIN, PIN).expect("pin");
    d
}

/// The app PIN of [`enrolled_device`].
pub const PIN: &str = "2468";

/// An enrolled device with a round in progress.
pub fn device_in_round() -> Device {
    let d = enrolled_device();
    let wijk = d.ctx.config().expect("config").wijken[0].clone();
    d.ctx.start_round(&wijk, "Sam").expect("round");
    d
}

/// A document that keeps the JavaScript the app asks to run, and answers like the no-op
/// document (there is no webview in these tests).
struct RecordingDocument(Rc<RefCell<Vec<String>>>);

impl Document for RecordingDocument {
    fn eval(&self, js: String) -> Eval {
        self.0.borrow_mut().push(js.clone());
        NoOpDocument.eval(js)
    }
}

/// The app in a headless VirtualDom.
pub struct Harness {
    dom: VirtualDom,
    labels: HashMap<String, ElementId>,
    evals: Rc<RefCell<Vec<String>>>,
}

impl Harness {
    /// Builds the app over `ctx`, optionally opening on `screen`.
    pub fn new(ctx: &AppCtx, screen: Option<Screen>) -> Harness {
        dioxus_html::set_event_converter(Box::new(SerializedHtmlEventConverter));
        let evals = Rc::new(RefCell::new(Vec::new()));
        let document: Rc<dyn Document> = Rc::new(RecordingDocument(evals.clone()));
        let mut dom = VirtualDom::new(App)
            .with_root_context(ctx.clone())
            .with_root_context(document);
        if let Some(s) = screen {
            dom = dom.with_root_context(InitialScreen(s));
        }
        let mut h = Harness {
            dom,
            labels: HashMap::new(),
            evals,
        };
        let edits = h.dom.rebuild_to_vec();
        h.absorb(edits);
        h
    }

    fn absorb(&mut self, mutations: Mutations) {
        for m in mutations.edits {
            if let Mutation::SetAttribute {
                name: "aria-label",
                value: AttributeValue::Text(label),
                id,
                ..
            } = m
            {
                self.labels.insert(label, id);
            }
        }
    }

    fn id(&self, label: &str) -> ElementId {
        *self.labels.get(label).unwrap_or_else(|| {
            let mut known: Vec<_> = self.labels.keys().collect();
            known.sort();
            panic!("no control labelled {label:?}; known: {known:?}")
        })
    }

    fn fire(&mut self, name: &str, data: Box<dyn Any>, label: &str) {
        let id = self.id(label);
        let event = Event::new(Rc::new(PlatformEventData::new(data)) as Rc<dyn Any>, true);
        self.dom.runtime().handle_event(name, event, id);
        let edits = self.dom.render_immediate_to_vec();
        self.absorb(edits);
    }

    /// Clicks the control with this accessible label.
    pub fn click(&mut self, label: &str) {
        self.fire("click", Box::<SerializedMouseData>::default(), label);
    }

    /// Types `value` into the input with this accessible label.
    pub fn input(&mut self, label: &str, value: &str) {
        let data = SerializedFormData::new(value.to_owned(), vec![]);
        self.fire("input", Box::new(data), label);
    }

    /// Lets `span` pass on tokio's clock while the app's tasks run and the page re-renders.
    /// Meant for tests with paused time (`start_paused`), where it takes no real time.
    pub async fn pass(&mut self, span: std::time::Duration) {
        let until = tokio::time::Instant::now() + span;
        loop {
            tokio::select! {
                () = self.dom.wait_for_work() => {
                    let edits = self.dom.render_immediate_to_vec();
                    self.absorb(edits);
                }
                () = tokio::time::sleep_until(until) => return,
            }
        }
    }

    /// The page as HTML.
    pub fn html(&self) -> String {
        dioxus_ssr::render(&self.dom)
    }

    /// The JavaScript the app asked the webview to run since the last call, oldest first.
    pub fn take_evals(&mut self) -> Vec<String> {
        std::mem::take(&mut *self.evals.borrow_mut())
    }

    /// Whether a control with this label exists.
    pub fn has(&self, label: &str) -> bool {
        self.labels.contains_key(label)
    }
}
