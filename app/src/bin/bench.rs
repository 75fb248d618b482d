//! `avondronde-bench`: how fast a durable save is with 10,000 records in the local store,
//! and how long the app takes to its first screen.
//!
//! ```text
//! avondronde-bench [--records 10000] [--measure 1000]
//! ```
//! Every save is the real one (contact + outbox row in one SQLCipher transaction, WAL,
//! `synchronous = FULL`), timed until the commit returns, on a temporary data directory.

use std::time::{Duration, Instant};

use anyhow::Context;
use avondronde_app::clock::Clock;
use avondronde_app::map::MapData;
use avondronde_app::platform::secrets::Preference;
use avondronde_app::services::AppCtx;
use avondronde_app::state::RecordForm;
use avondronde_app::store::Enrolment;
use avondronde_app::store::lock;
use avondronde_app::ui::App;
use avondronde_shared::area::{Gemeente, Wijk};
use avondronde_shared::contact::{Action, Behaviour};
use avondronde_shared::norms::NormSet;
use avondronde_shared::sync::{Cursor, DeviceConfig};
use avondronde_shared::{AgeBand, DeviceId, GemeenteId, PlaceId, Role, WijkId};
use dioxus::prelude::VirtualDom;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn form(i: usize) -> RecordForm {
    let mut f = RecordForm::new();
    for _ in 0..(1 + i % 4) {
        f.add_child(AgeBand::Age10To11);
    }
    f.toggle_behaviour(Behaviour::HangingAround);
    f.toggle_action(Action::Spoken);
    let lat = 51.90 + (i % 97) as f64 * 0.0004;
    let lon = 4.42 + (i % 89) as f64 * 0.0005;
    f.choose_place(PlaceId::new(), "bench", lat, lon);
    f
}

/// The app PIN of the benchmark's device.
const BENCH_PIN: &str = "2468";

fn first_screen(dir: &std::path::Path) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let ctx = AppCtx::open(dir, Clock::System, Preference::File, false)?;
    // A cold start asks for the PIN first (issue 10): the figure includes checking it.
    ctx.try_pin(BENCH_PIN)?;
    let mut dom = VirtualDom::new(App).with_root_context(ctx);
    let edits = dom.rebuild_to_vec();
    anyhow::ensure!(
        edits.edits.len() > 50,
        "the first screen rendered too little"
    );
    Ok(t0.elapsed())
}

fn main() -> anyhow::Result<()> {
    let mut records = 10_000usize;
    let mut measure = 1_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: usize = args
            .next()
            .context("flag needs a value")?
            .parse()
            .context("a number")?;
        match flag.as_str() {
            "--records" => records = value,
            "--measure" => measure = value,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    let dir = tempfile::tempdir()?;
    let ctx = AppCtx::open(dir.path(), Clock::System, Preference::File, false)?;
    let wijk = Wijk {
        id: WijkId::new(),
        gemeente: GemeenteId::new(),
        code: "WK059903".into(),
        name: "Delfshaven".into(),
        boundary: geo::MultiPolygon(vec![]),
    };
    // Enrolled, with a configuration and a round in progress: the first screen is then the
    // record screen with the live verdict, the heaviest one.
    {
        let mut store = lock(&ctx.store);
        store.set_enrolment(&Enrolment {
            server_url: "http://127.0.0.1:9".into(),
            device_id: DeviceId::new(),
            role: Role::Straatcoach,
        })?;
        let config = DeviceConfig {
            version: 1,
            gemeente: Gemeente {
                id: wijk.gemeente,
                name: "Rotterdam".into(),
                code: "GM0599".into(),
            },
            norms: NormSet::rotterdam(),
            area_rules: vec![],
            wijken: vec![wijk.clone()],
            places: vec![],
            meldpunt_key: None,
            meldpunt_chain: None,
            basemap_url: avondronde_shared::sync::PDOK_BASEMAP_URL.into(),
            phone: Default::default(),
        };
        store.apply_pull(Some(&config), &[], Cursor(0), ctx.now())?;
    }
    ctx.set_pin(BENCH_PIN, BENCH_PIN)?;
    ctx.start_round(&wijk, "").map_err(anyhow::Error::msg)?;

    let mut fill = Vec::with_capacity(records);
    let t_fill = Instant::now();
    for i in 0..records {
        let t = Instant::now();
        ctx.save_contact(&form(i)).map_err(anyhow::Error::msg)?;
        fill.push(t.elapsed());
    }
    let fill_total = t_fill.elapsed();
    let mut timed = Vec::with_capacity(measure);
    for i in 0..measure {
        let t = Instant::now();
        ctx.save_contact(&form(records + i))
            .map_err(anyhow::Error::msg)?;
        timed.push(t.elapsed());
    }
    fill.sort();
    timed.sort();
    // The map screen's data (issue 14): this round's contacts from the store, the wijk's
    // outline and places from the configuration, as the JSON that goes to the map.
    let round_contacts = lock(&ctx.store).contacts_of_active_round()?;
    let first: Vec<_> = round_contacts.iter().take(500).cloned().collect();
    let config = ctx.config();
    let map_500 = {
        let t = Instant::now();
        let data = MapData::build(config.as_ref(), Some(&wijk), &first, None, false, ctx.now());
        let json = serde_json::to_string(&data)?;
        (t.elapsed(), json.len())
    };
    let t = Instant::now();
    let (_, all) = ctx.map_data(None, false).map_err(anyhow::Error::msg)?;
    let map_all = (t.elapsed(), all.contacts.len());
    let in_store = lock(&ctx.store).contact_count()?;
    let cipher = lock(&ctx.store).cipher_version().unwrap_or_default();
    drop(ctx);

    let screens: Vec<Duration> = (0..5)
        .map(|_| first_screen(dir.path()))
        .collect::<anyhow::Result<_>>()?;
    let mut sorted = screens.clone();
    sorted.sort();

    println!("avondronde-bench (SQLCipher {cipher}, WAL, synchronous=FULL)");
    println!(
        "filling {records} contacts: {} total, p50 {}, p99 {}",
        ms(fill_total),
        ms(percentile(&fill, 50.0)),
        ms(percentile(&fill, 99.0))
    );
    println!(
        "durable save with {records}+ records in store ({measure} saves): p50 {}, p95 {}, p99 {}, max {}",
        ms(percentile(&timed, 50.0)),
        ms(percentile(&timed, 95.0)),
        ms(percentile(&timed, 99.0)),
        ms(*timed.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "time to first screen (open store with {in_store} contacts + build the record screen), 5 runs: median {}, max {}",
        ms(percentile(&sorted, 50.0)),
        ms(*sorted.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "map data for 500 contacts of the round: {} to build and serialise ({} bytes of JSON); the whole round ({} contacts) read from the store and built: {}",
        ms(map_500.0),
        map_500.1,
        map_all.1,
        ms(map_all.0)
    );
    Ok(())
}
