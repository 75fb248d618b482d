//! What the hotspot and trends benchmarks share: the synthetic wijk (Delfshaven with seven
//! hangplekken and a uniform background, a year of evenings), inserted straight into SQLite
//! as ingest would have stored it (H3 cells and record keys included), and the real server
//! on 127.0.0.1:0 with a logged-in coordinator of that wijk.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use avondronde_server::db::open_connection;
use avondronde_server::{AppState, Config, setup};
use avondronde_shared::Role;
use avondronde_shared::norms::NormSet;
use geo::{Contains, MultiPolygon, Point};
use h3o::{LatLng, Resolution};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rusqlite::params;

const PASSWORD: &str = "bench-coordinator-password";

pub fn delfshaven() -> MultiPolygon<f64> {
    MultiPolygon(vec![setup::polygon(&[
        (4.4150, 51.9020),
        (4.4380, 51.8995),
        (4.4620, 51.9030),
        (4.4660, 51.9125),
        (4.4610, 51.9205),
        (4.4420, 51.9268),
        (4.4200, 51.9235),
        (4.4130, 51.9120),
        (4.4150, 51.9020),
    ])])
}

/// Hangplekken with their weight: most contacts happen near a few places.
pub const SPOTS: &[(f64, f64, f64)] = &[
    (51.9122, 4.4447, 30.0),
    (51.9183, 4.4316, 18.0),
    (51.9222, 4.4362, 14.0),
    (51.9095, 4.4402, 12.0),
    (51.9065, 4.4468, 10.0),
    (51.9140, 4.4575, 8.0),
    (51.9152, 4.4540, 7.0),
];

pub const BEHAVIOURS: &[&str] = &[
    r#"["hanging_around"]"#,
    r#"["hanging_around","nuisance"]"#,
    r#"["hanging_around","fireworks"]"#,
    r#"["hanging_around","nuisance","vandalism"]"#,
];

pub fn insert_contacts(
    path: &std::path::Path,
    gemeente: &str,
    wijk: &str,
    n: usize,
) -> anyhow::Result<()> {
    let shape = delfshaven();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let jitter = Normal::new(0.0, 0.0008)?;
    let total_weight: f64 = SPOTS.iter().map(|s| s.2).sum();
    let now = jiff::Timestamp::now().as_second();
    let conn = open_connection(path)?;
    conn.execute_batch("PRAGMA synchronous = OFF; BEGIN")?;
    {
        let mut stmt = conn.prepare(
            "INSERT INTO contact (id, seq, device_id, user_id, gemeente_id, round_id, wijk_id, observed_at,
               utc_offset_s, received_at, clock_skew_ms, skew_flag, source, lat, lon, accuracy_m, fix_age_s,
               place_id, n_0_5, n_6_9, n_10_11, n_12_13, n_14p, supervised, behaviours, actions,
               brought_home, past_norm, cell_r9, cell_r10, record_key)
             VALUES (?1, ?2, 'bench', 'bench', ?3, 'bench', ?4, ?5, 3600, ?6, 0, 0, 'gps', ?7, ?8, 10.0, 5,
               NULL, ?9, ?10, ?11, ?12, ?13, 0, ?14, '[\"spoken\"]', ?15, ?16, ?17, ?18, ?19)",
        )?;
        for seq in 1..=n {
            let (lat, lon) = if rng.random::<f64>() < 0.7 {
                let mut pick = rng.random::<f64>() * total_weight;
                let mut spot = SPOTS[0];
                for s in SPOTS {
                    pick -= s.2;
                    if pick <= 0.0 {
                        spot = *s;
                        break;
                    }
                }
                (
                    spot.0 + jitter.sample(&mut rng) * 0.6,
                    spot.1 + jitter.sample(&mut rng),
                )
            } else {
                loop {
                    let lat = 51.8995 + rng.random::<f64>() * 0.0273;
                    let lon = 4.4130 + rng.random::<f64>() * 0.0530;
                    if shape.contains(&Point::new(lon, lat)) {
                        break (lat, lon);
                    }
                }
            };
            // A year of evenings, 16:00 to 03:00.
            let day = rng.random_range(0..365i64);
            let minutes = rng.random_range(16 * 60..27 * 60i64);
            let observed = now - now.rem_euclid(86_400) - day * 86_400 + minutes * 60 - 3600;
            let ll = LatLng::new(lat, lon)?;
            let mut counts = [0i64; 5];
            for _ in 0..rng.random_range(1..6) {
                counts[rng.random_range(0..5usize)] += 1;
            }
            let late = minutes > 21 * 60;
            stmt.execute(params![
                uuid::Uuid::now_v7().to_string(),
                seq as i64,
                gemeente,
                wijk,
                observed,
                observed * 1000,
                lat,
                lon,
                counts[0],
                counts[1],
                counts[2],
                counts[3],
                counts[4],
                BEHAVIOURS[rng.random_range(0..BEHAVIOURS.len())],
                i64::from(late && rng.random::<f64>() < 0.2),
                late,
                u64::from(ll.to_cell(Resolution::Nine)) as i64,
                u64::from(ll.to_cell(Resolution::Ten)) as i64,
                // The record key ingest would draw (issue 9, the cell-key method).
                i64::from(rng.random::<u32>()),
            ])?;
        }
    }
    conn.execute_batch("COMMIT; ANALYZE")?;
    Ok(())
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A fresh database with one gemeente, the wijk, a coordinator assigned to it and `n`
/// contacts. Returns the directory (removed on drop), the database and the wijk's id.
pub fn prepare(n: usize) -> anyhow::Result<(tempfile::TempDir, PathBuf, String)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.sqlite");
    let conn = open_connection(&path)?;
    let gemeente = setup::create_gemeente(
        &avondronde_server::store::Tx::over(&conn),
        "Rotterdam",
        "GM0599",
        &NormSet::rotterdam(),
    )?;
    let wijk = setup::create_wijk(
        &avondronde_server::store::Tx::over(&conn),
        gemeente,
        "WK059903",
        "Delfshaven",
        &delfshaven(),
    )?;
    let coordinator = setup::add_user(
        &avondronde_server::store::Tx::over(&conn),
        gemeente,
        "coordinator",
        Role::Coordinator,
        Some(PASSWORD),
    )?;
    avondronde_server::hotspot::scope::assign_all_wijken(
        &avondronde_server::store::Tx::over(&conn),
        coordinator,
        0,
    )?;
    drop(conn);

    let t = std::time::Instant::now();
    insert_contacts(&path, &gemeente.to_string(), &wijk.to_string(), n)?;
    println!(
        "inserted {n} contacts in one wijk in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok((dir, path, wijk.to_string()))
}

/// The real server on 127.0.0.1:0 over `path`, with the coordinator logged in.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The coordinator's session cookie (`name=value`).
    pub cookie: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Starts the server over the SQLite file and logs the coordinator in.
    pub async fn start(path: &Path) -> anyhow::Result<Served> {
        Served::over(avondronde_server::store::Store::open(path)?).await
    }

    /// Starts the server over `store` (either backend) and logs the coordinator in.
    pub async fn over(store: avondronde_server::store::Store) -> anyhow::Result<Served> {
        let state = AppState::new(store, Config::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(avondronde_server::serve(
            listener,
            Arc::clone(&state),
            async {
                let _ = stopped.await;
            },
        ));
        let client = reqwest::Client::new();
        let login = client
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({"username": "coordinator", "password": PASSWORD}))
            .send()
            .await?;
        anyhow::ensure!(
            login.status().is_success(),
            "login failed: {}",
            login.status()
        );
        let cookie = login
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no session cookie"))?;
        Ok(Served {
            base,
            client,
            cookie,
            stop,
            server,
        })
    }

    /// Times one GET with the session: how long it took, and the body.
    pub async fn get(&self, url: &str) -> anyhow::Result<(Duration, Vec<u8>)> {
        let t = std::time::Instant::now();
        let res = self
            .client
            .get(url)
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await?;
        let status = res.status();
        let bytes = res.bytes().await?;
        let took = t.elapsed();
        anyhow::ensure!(
            status.is_success(),
            "{url}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok((took, bytes.to_vec()))
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.await??;
        Ok(())
    }
}
