//! Hotspot API benchmark (issue 6): one wijk with 1,000,000 contacts, the real server on
//! 127.0.0.1:0, a coordinator session, and the filtered hotspot endpoints timed end to end
//! over HTTP: the first (cold) request that loads the wijk's index from SQLite, then warm
//! requests cycling through filter sets. Target: at most 150 ms warm (issue 9), with every
//! aggregate protected by the cell-key method.
//!
//! With `AVONDRONDE_TEST_POSTGRES` naming a PostgreSQL cluster (a superuser's URL without a
//! database), the same wijk is then moved into a fresh PostgreSQL database with `admin
//! migrate`'s code and measured again: both backends in one run.
//!
//! Run: `cargo bench -p avondronde-server --bench hotspot`
//! (`HOTSPOT_BENCH_CONTACTS=100000` for a quicker run, `HOTSPOT_BENCH_ROUNDS` for more
//! warm requests). The contacts are inserted straight into SQLite in one transaction,
//! already binned into H3 cells, as ingest would have stored them.

use std::time::Duration;

use common::{ms, percentile};

mod common;

const TARGET: Duration = Duration::from_millis(150);

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let n: usize = std::env::var("HOTSPOT_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = std::env::var("HOTSPOT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let (_dir, path, wijk) = common::prepare(n)?;
    let mut failed = Vec::new();
    let runtime = tokio::runtime::Runtime::new()?;
    let sqlite = avondronde_server::store::Store::open(&path)?;
    if let Err(e) = runtime.block_on(measure("SQLite", sqlite, n, rounds, &wijk)) {
        failed.push(format!("SQLite: {e}"));
    }
    if let Some(server) = std::env::var("AVONDRONDE_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    {
        use avondronde_server::store::{migrate, postgres};
        let (app_url, admin_url, name) = postgres::fresh_database(&server)?;
        let t = std::time::Instant::now();
        migrate::migrate(
            &migrate::Endpoint::Sqlite(path.clone()),
            &migrate::Endpoint::Postgres(admin_url),
            "GM0599",
        )?;
        println!(
            "\nmoved the gemeente into PostgreSQL (admin migrate) in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let pg = avondronde_server::store::Store::connect(&app_url)?;
        if let Err(e) = runtime.block_on(measure("PostgreSQL", pg, n, rounds, &wijk)) {
            failed.push(format!("PostgreSQL: {e}"));
        }
        drop(runtime);
        postgres::drop_database(&server, &name)?;
    }
    anyhow::ensure!(failed.is_empty(), "{}", failed.join("; "));
    Ok(())
}

/// The cold and warm timings on one backend; fails when the warm p99 is over the target.
async fn measure(
    backend: &str,
    store: avondronde_server::store::Store,
    n: usize,
    rounds: usize,
    wijk: &str,
) -> anyhow::Result<()> {
    println!("\n== {backend}");
    {
        let served = common::Served::over(store).await?;
        let base = served.base.clone();

        let today = jiff::Zoned::now().date();
        let ago = |days: i64| {
            today
                .saturating_sub(jiff::Span::new().days(days))
                .to_string()
        };
        let filters: Vec<(&str, String)> = vec![
            (
                "late fri/sat, 12 weeks",
                format!(
                    "res=10&from={}&to={}&weekdays=vr,za&hours=22-2",
                    ago(84),
                    ago(0)
                ),
            ),
            (
                "6-11 yrs, nuisance, contacts",
                format!(
                    "res=10&measure=contacts&bands=6-9,10-11&behaviours=nuisance&from={}&to={}",
                    ago(180),
                    ago(0)
                ),
            ),
            (
                "past norm only, whole year",
                "res=10&past_norm=true".to_owned(),
            ),
            (
                "before/after 8+8 weeks",
                format!(
                    "res=10&before_from={}&before_to={}&from={}&to={}&hours=19-1",
                    ago(112),
                    ago(57),
                    ago(56),
                    ago(1)
                ),
            ),
            (
                "brought home, 20-24",
                "res=10&brought_home=true&hours=20-24".to_owned(),
            ),
        ];
        let wijk_url = format!("{base}/api/v1/hotspot/wijken/{wijk}");
        let get = |url: String| {
            let served = &served;
            async move { served.get(&url).await }
        };

        let (cold, body) = get(format!("{wijk_url}/cells?{}", filters[0].1)).await?;
        println!(
            "cold  cells (loads the index of {n} contacts): {} ({} KiB GeoJSON)",
            ms(cold),
            body.len() / 1024
        );

        let mut all = Vec::new();
        println!("\nwarm, {rounds} requests per filter, GET /cells over HTTP (res 10):");
        for (name, q) in &filters {
            let mut times = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                times.push(get(format!("{wijk_url}/cells?{q}")).await?.0);
            }
            times.sort();
            println!(
                "  {name:<32} p50 {:>9}  p99 {:>9}  max {:>9}",
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99)),
                ms(*times.last().unwrap_or(&Duration::ZERO))
            );
            all.extend(times);
        }
        for endpoint in ["summary", "histogram", "trend", "export.csv"] {
            let mut times = Vec::with_capacity(rounds);
            for i in 0..rounds {
                let q = &filters[i % filters.len()].1;
                times.push(get(format!("{wijk_url}/{endpoint}?{q}")).await?.0);
            }
            times.sort();
            println!(
                "  {:<32} p50 {:>9}  p99 {:>9}",
                format!("GET /{endpoint} (mixed filters)"),
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99))
            );
            all.extend(times);
        }
        all.sort();
        let (p50, p99) = (percentile(&all, 0.5), percentile(&all, 0.99));
        println!(
            "\nall warm requests: n = {}, p50 {}, p99 {}; target <= {}: {}",
            all.len(),
            ms(p50),
            ms(p99),
            ms(TARGET),
            if p99 <= TARGET { "met" } else { "MISSED" }
        );
        served.stop().await?;
        anyhow::ensure!(p99 <= TARGET, "warm p99 {} is over the target", ms(p99));
        Ok::<_, anyhow::Error>(())
    }
}
