//! Shared set-up for the field app's end-to-end tests: a device (the app's own store and
//! sync engine in a temporary data directory) enrolled with a [`TestServer`].

#![allow(dead_code)] // each test file uses its own part of this

use std::path::Path;

use avondronde_app::clock::Clock;
use avondronde_app::platform::secrets::Preference;
use avondronde_app::platform::webview::GpsFix;
use avondronde_app::services::AppCtx;
use avondronde_app::state::RecordForm;
use avondronde_app::store::lock;
use avondronde_shared::AgeBand;
use avondronde_shared::contact::{Action, Behaviour};
use avondronde_tests::{Seed, TestServer};
use jiff::Timestamp;

/// The app on one device, with its data directory.
pub struct Device {
    /// The app's services, with the sync engine detached (tests run passes themselves).
    pub ctx: AppCtx,
    /// Kept so the directory lives as long as the device.
    pub dir: tempfile::TempDir,
}

/// Opens the app in `dir` without a background sync loop.
pub fn open(dir: &Path) -> AppCtx {
    AppCtx::open(dir, Clock::System, Preference::File, false).expect("open the app's store")
}

/// A device enrolled with the server's seed code, with its configuration pulled and a
/// round started in the seed's wijk.
pub async fn enrolled(server: &TestServer, seed: &Seed) -> Device {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = open(dir.path());
    ctx.enrol(&server.url(), &seed.enrolment_code)
        .await
        .expect("enrol with the seed's code");
    ctx.sync.engine().sync_once().await.expect("first pass");
    let config = ctx
        .config()
        .expect("configuration pulled on the first pass");
    let wijk = config
        .wijken
        .iter()
        .find(|w| w.id == seed.wijk)
        .expect("the seed's wijk is in the configuration")
        .clone();
    ctx.start_round(&wijk, "").expect("start a round");
    Device { ctx, dir }
}

/// The common case: three children 10–11 hanging around, spoken to, GPS at the seed's point.
pub fn common_case(seed: &Seed) -> RecordForm {
    let mut f = RecordForm::new();
    for _ in 0..3 {
        f.add_child(AgeBand::Age10To11);
    }
    f.toggle_behaviour(Behaviour::HangingAround);
    f.toggle_action(Action::Spoken);
    f.set_fix(Ok(GpsFix {
        lat: seed.inside.0,
        lon: seed.inside.1,
        accuracy_m: 8.0,
        taken_at: Timestamp::now(),
    }));
    f
}

/// Pending, sent and refused counts of the device's outbox.
pub fn counts(ctx: &AppCtx) -> (u32, u32, u32) {
    let c = lock(&ctx.store).outbox_counts().expect("counts");
    (c.pending, c.sent, c.quarantined)
}
