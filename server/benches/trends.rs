//! Trends API benchmark (issue 15): one wijk with 1,000,000 contacts over a year, the real
//! server on 127.0.0.1:0, a coordinator session, and `GET /trends` with 52 weekly steps at
//! resolution 10 timed end to end over HTTP: the first (cold) request, which also loads the
//! wijk's index from SQLite, then warm requests with several filters. Target: at most
//! 500 ms warm (p99).
//!
//! Run: `cargo bench -p avondronde-server --bench trends`
//! (`HOTSPOT_BENCH_CONTACTS=100000` for a quicker run, `HOTSPOT_BENCH_ROUNDS` for more
//! warm requests). The data generator is the hotspot benchmark's (`benches/hotspot.rs`):
//! contacts around seven hangplekken plus a uniform background, a year of evenings.

use std::time::Duration;

use common::{ms, percentile};

mod common;

const TARGET: Duration = Duration::from_millis(500);

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("HOTSPOT_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = std::env::var("HOTSPOT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let (_dir, path, wijk) = common::prepare(n)?;

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let served = common::Served::start(&path).await?;
        let base = served.base.clone();

        // 52 whole weeks: from the Monday 52 weeks before this week's Monday to last Sunday.
        let today = jiff::Zoned::now().date();
        let monday = today
            .saturating_sub(jiff::Span::new().days(i64::from(today.weekday().to_monday_zero_offset())));
        let from = monday.saturating_sub(jiff::Span::new().weeks(52));
        let to = monday.saturating_sub(jiff::Span::new().days(1));
        let period = format!("from={from}&to={to}");
        let filters: Vec<(&str, String)> = vec![
            ("52 weeks, all contacts", format!("res=10&{period}")),
            ("52 weeks, fri/sat 22-2", format!("res=10&{period}&weekdays=vr,za&hours=22-2")),
            ("52 weeks, 6-11 yrs, nuisance", format!("res=10&{period}&bands=6-9,10-11&behaviours=nuisance")),
            ("52 weeks, past norm, contacts", format!("res=10&{period}&past_norm=true&measure=contacts")),
        ];
        let wijk_url = format!("{base}/api/v1/hotspot/wijken/{wijk}");
        let get = |url: String| {
            let served = &served;
            async move { served.get(&url).await }
        };

        let (cold, body) = get(format!("{wijk_url}/trends?{}", filters[0].1)).await?;
        let fc: serde_json::Value = serde_json::from_slice(&body)?;
        let steps = fc["steps"].as_array().map_or(0, Vec::len);
        let cells = fc["features"].as_array().map_or(0, Vec::len);
        anyhow::ensure!(steps == 52, "expected 52 weekly steps, got {steps}");
        println!(
            "cold  trends (loads the index of {n} contacts, {cells} cells x {steps} weeks): {} ({} KiB)",
            ms(cold),
            body.len() / 1024
        );
        let (second, _) = get(format!("{wijk_url}/trends?{}", filters[0].1)).await?;
        println!("first warm trends request: {}", ms(second));

        let mut all = Vec::new();
        println!("\nwarm, {rounds} requests per filter, GET /trends over HTTP (res 10, 52 weeks):");
        for (name, q) in &filters {
            let mut times = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                times.push(get(format!("{wijk_url}/trends?{q}")).await?.0);
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
        all.sort();
        let (p50, p99) = (percentile(&all, 0.5), percentile(&all, 0.99));
        println!(
            "\nall warm trends requests: n = {}, p50 {}, p99 {}; target <= {}: {}",
            all.len(),
            ms(p50),
            ms(p99),
            ms(TARGET),
            if p99 <= TARGET { "met" } else { "MISSED" }
        );
        served.stop().await?;
        anyhow::ensure!(p99 <= TARGET, "warm p99 {} is over the target", ms(p99));
        Ok::<_, anyhow::Error>(())
    })
}
