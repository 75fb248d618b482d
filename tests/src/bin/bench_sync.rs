//! `bench_sync`: issue 3's sync benchmark against the real server on loopback.
//!
//! ```sh
//! cargo run --release -p avondronde-tests --bin bench_sync
//! ```
//!
//! It starts a [`TestServer`] (the real `serve`, a temp-file SQLite database, default
//! configuration including rate limits) and measures, with reqwest as the client:
//!
//! - **(a)** one device pushing 10,000 contacts in batches of 500, one batch after the
//!   other: contacts/s, and bytes on the wire per contact (request and response, headers
//!   included, counted by a byte-counting TCP relay in front of the server on a separate
//!   run of the same workload). Bodies are gzip-compressed JSON with
//!   `Content-Encoding: gzip`; answers are gzip-compressed because the client sends
//!   `Accept-Encoding: gzip`.
//! - **(b)** 200 devices, each enrolled beforehand, all starting at once, each pushing its
//!   50 contacts the way the app does during a round: one push per contact, as each one is
//!   recorded. Contacts/s over the whole run and the latency per push (p50, p99). 51
//!   requests per device stay within the per-device burst of the rate limit.
//! - **(c)** 200 devices each pushing their 50 contacts as one batch, all in the same
//!   instant (every phone catching up after a round offline at exactly the same moment).
//!   Here p99 is the time to store all 10,000 contacts, so it measures total throughput
//!   rather than the latency one device sees under load; it is reported against the same
//!   targets as (b).
//!
//! - **(d)** many gemeenten on one server: 50 gemeenten × 40 devices, each pushing its 50
//!   contacts as one batch, all at once: throughput and p99.
//!
//! Every scenario runs on SQLite, and again on PostgreSQL when `AVONDRONDE_TEST_POSTGRES`
//! names a cluster (a superuser's URL without a database): both in one run, on the same
//! machine.
//!
//! Request bodies are serialised and compressed before the clock starts: on a phone that
//! is the phone's work, and on this 2-core machine it would otherwise be charged to the
//! server. Everything after that (HTTP, TLS-free loopback, the server's work, reading and
//! parsing every receipt) is timed.
//!
//! Besides wall-clock figures, each row gives the CPU time per contact of the process
//! (server and client), and on PostgreSQL that of the local cluster's processes: their sum
//! over the machine's cores is a floor under the wall-clock time of a burst such as (c).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use avondronde_server::Config;
use avondronde_server::auth::{self, ENROLMENT_TTL_MS};
use avondronde_server::store::Direct;
use avondronde_shared::sync::{Outcome, Payload, PushResponse};
use avondronde_tests::client::{DeviceClient, gzip, http_client, json};
use avondronde_tests::fixtures::{self, push_request};
use avondronde_tests::{Seed, TestServer};
use jiff::{SignedDuration, Timestamp};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The server binary's allocator, so that the server measured here is the one deployed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SINGLE_CONTACTS: u64 = 10_000;
const SINGLE_BATCH: u64 = 500;
const DEVICES: usize = 200;
const PER_DEVICE: u64 = 50;

/// One line of the results table.
struct Row {
    scenario: &'static str,
    contacts: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
    bytes_per_contact: Option<f64>,
    /// CPU time during the run: of the whole process (server and client), and of
    /// PostgreSQL.
    cpu: Cpu,
}

impl Row {
    fn rate(&self) -> f64 {
        self.contacts as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Option<Duration> {
        let mut l = self.latencies.clone();
        if l.is_empty() {
            return None;
        }
        l.sort_unstable();
        let rank = ((p / 100.0) * l.len() as f64).ceil() as usize;
        l.get(rank.saturating_sub(1).min(l.len() - 1)).copied()
    }
}

/// CPU time used so far: by this process (server and client threads), and by every
/// process named `postgres` on this machine (the cluster's backends, and through the
/// postmaster's children's times those that ended). From `/proc` (Linux; zero elsewhere).
/// Unlike wall time it does not depend on what else the machine is doing, so it shows
/// the cost of the work itself, and for PostgreSQL what the database adds to it.
#[derive(Clone, Copy, Default)]
struct Cpu {
    own: Duration,
    postgres: Duration,
}

impl Cpu {
    fn now() -> Cpu {
        let postgres: u64 = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
            .filter(|stat| stat.contains("(postgres)"))
            .map(|stat| ticks(&stat, true))
            .sum();
        Cpu {
            own: Duration::from_millis(
                std::fs::read_to_string("/proc/self/stat").map_or(0, |s| ticks(&s, false)) * 10,
            ),
            // The kernel reports in USER_HZ, which is 100 on Linux.
            postgres: Duration::from_millis(postgres * 10),
        }
    }

    /// What was used since `before` in a run against `server`: PostgreSQL's share only
    /// when the server stores in it (a cluster left running beside a SQLite run would
    /// otherwise be counted).
    fn since(self, before: Cpu, server: &TestServer) -> Cpu {
        Cpu {
            own: self.own.saturating_sub(before.own),
            postgres: if server.is_postgres() {
                self.postgres.saturating_sub(before.postgres)
            } else {
                Duration::ZERO
            },
        }
    }
}

/// User and system time from a `/proc/<pid>/stat` line, with the ended children's when
/// `children`.
fn ticks(stat: &str, children: bool) -> u64 {
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let n = if children { 4 } else { 2 };
    fields.iter().take(n).sum()
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.1}", d.as_secs_f64() * 1000.0))
}

fn ago(minutes: i64) -> Timestamp {
    Timestamp::now()
        .checked_sub(SignedDuration::from_mins(minutes))
        .unwrap_or_else(|_| Timestamp::now())
}

/// A device enrolled directly in the database (HTTP enrolment is rate-limited per client
/// address, and 200 phones do not enrol from one address in one minute).
fn enrol_direct(
    server: &TestServer,
    db: &mut Direct,
    seed: &Seed,
    http: &reqwest::Client,
) -> anyhow::Result<DeviceClient> {
    let (_, token) = db
        .transaction(|tx| {
            let code = auth::issue_enrolment_code(tx, seed.field_user, ENROLMENT_TTL_MS)?;
            auth::enrol(tx, &code, "bench")
        })?
        .map_err(|e| anyhow::anyhow!("enrolment failed: {e:?}"))?;
    Ok(DeviceClient::with_token(http, &server.url(), &token))
}

/// Starts a round for the device and returns its id.
async fn start_round(
    device: &DeviceClient,
    seed: &Seed,
) -> anyhow::Result<avondronde_shared::RoundId> {
    let round = fixtures::round(seed.wijk, ago(300));
    let res = device
        .push(&push_request(
            Timestamp::now(),
            &[Payload::Round(round.clone())],
        ))
        .await?;
    ensure!(
        matches!(res.receipts[0].outcome, Outcome::Accepted(_)),
        "round refused: {:?}",
        res.receipts[0]
    );
    Ok(round.id)
}

/// Pre-built gzip bodies of `batches` batches of `per_batch` contacts each.
fn bodies(
    round: avondronde_shared::RoundId,
    seed: &Seed,
    batches: u64,
    per_batch: u64,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let all = fixtures::contacts(round, ago(1), seed.inside, batches * per_batch);
    all.chunks(per_batch as usize)
        .map(|chunk| {
            Ok(gzip(&serde_json::to_vec(&push_request(
                Timestamp::now(),
                chunk,
            ))?))
        })
        .collect()
}

/// Sends one pre-built push and checks every receipt is an acceptance.
async fn send(device: &DeviceClient, body: Vec<u8>, expect: usize) -> anyhow::Result<()> {
    let res: PushResponse = json(device.post_gzip("/api/v1/sync/push", body).await?).await?;
    ensure!(
        res.receipts.len() == expect,
        "{} receipts for {expect} items",
        res.receipts.len()
    );
    if let Some(bad) = res
        .receipts
        .iter()
        .find(|r| !matches!(r.outcome, Outcome::Accepted(_)))
    {
        bail!("not accepted: {bad:?}");
    }
    Ok(())
}

/// A TCP relay in front of the server that counts every byte in both directions.
struct Relay {
    addr: std::net::SocketAddr,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    open: Arc<tokio::sync::Semaphore>,
}

const MAX_RELAYED: u32 = 1024;

impl Relay {
    async fn start(target: std::net::SocketAddr) -> anyhow::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let relay = Relay {
            addr: listener.local_addr()?,
            up: Arc::default(),
            down: Arc::default(),
            connections: Arc::default(),
            open: Arc::new(tokio::sync::Semaphore::new(MAX_RELAYED as usize)),
        };
        let (up, down, connections, open) = (
            relay.up.clone(),
            relay.down.clone(),
            relay.connections.clone(),
            relay.open.clone(),
        );
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let Ok(permit) = open.clone().acquire_owned().await else {
                    break;
                };
                connections.fetch_add(1, Ordering::Relaxed);
                let (up, down) = (up.clone(), down.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        if let Ok((a, b)) =
                            tokio::io::copy_bidirectional(&mut client, &mut server).await
                        {
                            up.fetch_add(a, Ordering::Relaxed);
                            down.fetch_add(b, Ordering::Relaxed);
                        }
                        let _ = server.shutdown().await;
                    }
                });
            }
        });
        Ok(relay)
    }

    /// Waits until every relayed connection has closed and been counted.
    async fn totals(&self) -> anyhow::Result<(u64, u64)> {
        let _all = self.open.acquire_many(MAX_RELAYED).await?;
        Ok((
            self.up.load(Ordering::Relaxed),
            self.down.load(Ordering::Relaxed),
        ))
    }
}

/// (a) One device, 10,000 contacts in batches of 500, one after the other.
async fn single_device(
    server: &TestServer,
    seed: &Seed,
    http: &reqwest::Client,
) -> anyhow::Result<Row> {
    let device = enrol_direct(server, &mut server.direct(), seed, http)?;
    let round = start_round(&device, seed).await?;
    let batches = bodies(round, seed, SINGLE_CONTACTS / SINGLE_BATCH, SINGLE_BATCH)?;
    let mut latencies = Vec::new();
    let cpu = Cpu::now();
    let start = Instant::now();
    for body in batches {
        let t = Instant::now();
        send(&device, body, SINGLE_BATCH as usize).await?;
        latencies.push(t.elapsed());
    }
    Ok(Row {
        scenario: "(a) 1 device, 20 pushes of 500",
        contacts: SINGLE_CONTACTS,
        elapsed: start.elapsed(),
        latencies,
        bytes_per_contact: None,
        cpu: Cpu::now().since(cpu, server),
    })
}

/// (a) again, through the counting relay, for bytes on the wire.
async fn single_device_bytes(server: &TestServer, seed: &Seed) -> anyhow::Result<(f64, u64, u64)> {
    let relay = Relay::start(server.addr()).await?;
    let direct = http_client();
    let device = enrol_direct(server, &mut server.direct(), seed, &direct)?;
    let round = start_round(&device, seed).await?;
    let batches = bodies(round, seed, SINGLE_CONTACTS / SINGLE_BATCH, SINGLE_BATCH)?;
    {
        // Its own client, so that its connections close (and are counted) when it drops.
        let counted = http_client();
        let via_relay =
            DeviceClient::with_token(&counted, &format!("http://{}", relay.addr), &device.token);
        for body in batches {
            send(&via_relay, body, SINGLE_BATCH as usize).await?;
        }
    }
    let (up, down) = relay.totals().await?;
    ensure!(
        relay.connections.load(Ordering::Relaxed) >= 1,
        "nothing went through the relay"
    );
    Ok(((up + down) as f64 / SINGLE_CONTACTS as f64, up, down))
}

/// (b) and (c): `DEVICES` devices at once, each pushing `PER_DEVICE` contacts in pushes
/// of `per_push`.
async fn many_devices(
    server: &TestServer,
    seed: &Seed,
    http: &reqwest::Client,
    per_push: u64,
    scenario: &'static str,
) -> anyhow::Result<Row> {
    fleet(
        server,
        std::slice::from_ref(seed),
        DEVICES,
        http,
        per_push,
        scenario,
    )
    .await
}

/// `per_seed` devices of every seeded gemeente at once, each pushing `PER_DEVICE`
/// contacts in pushes of `per_push`: (b), (c) and the many-gemeenten scenario.
async fn fleet(
    server: &TestServer,
    seeds: &[Seed],
    per_seed: usize,
    http: &reqwest::Client,
    per_push: u64,
    scenario: &'static str,
) -> anyhow::Result<Row> {
    let devices = seeds.len() * per_seed;
    let mut db = server.direct();
    let mut prepared = Vec::with_capacity(devices);
    for seed in seeds {
        for _ in 0..per_seed {
            prepared.push((enrol_direct(server, &mut db, seed, http)?, seed.clone()));
        }
    }
    // Rounds first (untimed), all devices at once, which also opens their connections.
    let starting: Vec<_> = prepared
        .iter()
        .map(|(d, seed)| {
            let (d, seed) = (d.clone(), seed.clone());
            tokio::spawn(async move { start_round(&d, &seed).await })
        })
        .collect();
    let mut rounds = Vec::with_capacity(devices);
    for task in starting {
        rounds.push(task.await.context("round task")??);
    }
    let work: Vec<(DeviceClient, Vec<Vec<u8>>)> = prepared
        .into_iter()
        .zip(rounds)
        .map(|((d, seed), round)| Ok((d, bodies(round, &seed, PER_DEVICE / per_push, per_push)?)))
        .collect::<anyhow::Result<_>>()?;
    let barrier = Arc::new(tokio::sync::Barrier::new(devices + 1));
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(device, bodies)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut latencies = Vec::with_capacity(bodies.len());
                for body in bodies {
                    let t = Instant::now();
                    send(&device, body, per_push as usize).await?;
                    latencies.push(t.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    profiler("enable");
    barrier.wait().await;
    let cpu = Cpu::now();
    let start = Instant::now();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.context("device task")??);
    }
    profiler("disable");
    Ok(Row {
        scenario,
        contacts: devices as u64 * PER_DEVICE,
        elapsed: start.elapsed(),
        latencies,
        bytes_per_contact: None,
        cpu: Cpu::now().since(cpu, server),
    })
}

fn print_rows(rows: &[Row]) {
    println!();
    println!(
        "Avondronde sync benchmark: real server on loopback, {} CPU cores, load average {}",
        cores(),
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into())
    );
    println!(
        "(cpu µs/ctc: CPU time of server and client together per contact; unlike the \
         wall-clock figures it does not depend on other load on the machine. pg µs/ctc: \
         what the PostgreSQL processes on this machine used besides, per contact)"
    );
    println!();
    println!(
        "{:<40} {:>8} {:>8} {:>11} {:>8} {:>8} {:>10} {:>11} {:>10}",
        "scenario",
        "contacts",
        "seconds",
        "contacts/s",
        "p50 ms",
        "p99 ms",
        "bytes/ctc",
        "cpu µs/ctc",
        "pg µs/ctc"
    );
    for row in rows {
        println!(
            "{:<40} {:>8} {:>8.3} {:>11.0} {:>8} {:>8} {:>10} {:>11.1} {:>10}",
            row.scenario,
            row.contacts,
            row.elapsed.as_secs_f64(),
            row.rate(),
            ms(row.percentile(50.0)),
            ms(row.percentile(99.0)),
            row.bytes_per_contact
                .map_or("-".into(), |b| format!("{b:.1}")),
            row.cpu.own.as_secs_f64() * 1e6 / row.contacts as f64,
            if row.cpu.postgres.is_zero() {
                "-".to_owned()
            } else {
                format!(
                    "{:.1}",
                    row.cpu.postgres.as_secs_f64() * 1e6 / row.contacts as f64
                )
            }
        );
    }
}

fn print(backend: &str, rows: &[Row], wire: (f64, u64, u64)) {
    println!();
    println!("== {backend}");
    print_rows(rows);
    println!();
    println!(
        "wire, (a): {} bytes up + {} bytes down for {SINGLE_CONTACTS} contacts = {:.1} bytes/contact \
         (HTTP headers included; gzip both ways)",
        wire.1, wire.2, wire.0
    );
    let single = &rows[0];
    let many = &rows[1];
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!();
    println!("targets:");
    // The issue's targets: (a) 40,000/s on SQLite (issue 3), 20,000/s on PostgreSQL
    // (issue 13), where each transaction crosses a socket.
    let a_target = if backend == "PostgreSQL" {
        20_000.0
    } else {
        40_000.0
    };
    println!(
        "  (a) >= {:>6} contacts/s ............ {:>9.0}  {}",
        a_target,
        single.rate(),
        verdict(single.rate() >= a_target)
    );
    println!(
        "  (a) <= 120 bytes/contact on the wire  {:>9.1}  {}",
        wire.0,
        verdict(wire.0 <= 120.0)
    );
    println!(
        "  (b) >= 5,000 contacts/s ............. {:>9.0}  {}",
        many.rate(),
        verdict(many.rate() >= 5_000.0)
    );
    let p99 = many.percentile(99.0).unwrap_or(Duration::MAX);
    println!(
        "  (b) p99 <= 100 ms ................... {:>9}  {}",
        ms(Some(p99)),
        verdict(p99 <= Duration::from_millis(100))
    );
    // (c) against the same two targets: with all 10,000 contacts arriving in the same
    // instant, its p99 is the time to store all of them.
    let batched = &rows[2];
    let p99 = batched.percentile(99.0).unwrap_or(Duration::MAX);
    println!(
        "  (c) >= 5,000 contacts/s ............. {:>9.0}  {}",
        batched.rate(),
        verdict(batched.rate() >= 5_000.0)
    );
    println!(
        "  (c) p99 <= 100 ms ................... {:>9}  {}",
        ms(Some(p99)),
        verdict(p99 <= Duration::from_millis(100))
    );
    // What bounds (c) from below on this machine: the CPU the burst used, spread perfectly
    // over every core, server, client and database alike.
    let cpu = batched.cpu.own + batched.cpu.postgres;
    println!(
        "  (c) CPU of the burst: {:.0} ms (this process {:.0}, PostgreSQL {:.0}); over {} cores no schedule ends before {:.0} ms",
        cpu.as_secs_f64() * 1e3,
        batched.cpu.own.as_secs_f64() * 1e3,
        batched.cpu.postgres.as_secs_f64() * 1e3,
        cores(),
        cpu.as_secs_f64() * 1e3 / cores() as f64
    );
}

/// Tells `perf record` to start or stop recording, when `BENCH_PERF_CTL` names its
/// control FIFO, so that a profile of (c) or (d) holds the burst alone, not the set-up
/// before it (enrolling the devices is mostly argon2). Other scenarios record nothing:
///
/// ```sh
/// mkfifo /tmp/ctl /tmp/ack
/// BENCH_PERF_CTL=/tmp/ctl perf record -D -1 --control fifo:/tmp/ctl,/tmp/ack -g \
///     target/release/bench_sync c sqlite
/// ```
fn profiler(command: &str) {
    if let Ok(fifo) = std::env::var("BENCH_PERF_CTL")
        && let Err(e) = std::fs::write(&fifo, format!("{command}\n"))
    {
        eprintln!("note: cannot tell the profiler to {command}: {e}");
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn main() -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; run with --release for meaningful figures");
    }
    // The client gets its own runtime; the server runs on the TestServer's.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // `bench_sync a|b|c|d` runs one scenario alone, e.g. under a profiler.
    let only = std::env::args().nth(1);
    // Both backends in one run when a PostgreSQL cluster is given (a superuser's URL
    // without a database, as scripts/test sets it); each test server gets a fresh database.
    let postgres = std::env::var("AVONDRONDE_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty());
    // `bench_sync b postgres` skips SQLite (to profile PostgreSQL alone).
    let postgres_only = std::env::args().nth(2).as_deref() == Some("postgres");
    let backends: Vec<(&str, Option<&str>)> = std::iter::once(("SQLite", None))
        .filter(|_| !postgres_only)
        .chain(postgres.as_deref().map(|u| ("PostgreSQL", Some(u))))
        .collect();
    if postgres.is_none() {
        eprintln!(
            "note: SQLite only; set AVONDRONDE_TEST_POSTGRES=postgres://postgres@host:port for \
             PostgreSQL as well"
        );
    }
    runtime.block_on(async {
        for (backend, pg) in backends {
            run_backend(backend, pg, only.as_deref()).await?;
        }
        anyhow::Ok(())
    })
}

const GEMEENTEN: usize = 50;
const DEVICES_PER_GEMEENTE: usize = 40;

async fn run_backend(backend: &str, pg: Option<&str>, only: Option<&str>) -> anyhow::Result<()> {
    {
        let server = TestServer::start_on_backend(pg, Config::default());
        let seed = server.seed();
        let http = http_client();
        if let Some(only) = only {
            let row = match only {
                "a" => single_device(&server, &seed, &http).await?,
                "b" => {
                    many_devices(&server, &seed, &http, 1, "(b) 200 devices, 50 pushes of 1")
                        .await?
                }
                "c" => {
                    many_devices(
                        &server,
                        &seed,
                        &http,
                        PER_DEVICE,
                        "(c) 200 devices, 1 push of 50",
                    )
                    .await?
                }
                "d" => return many_gemeenten(backend, pg).await,
                other => bail!("unknown scenario {other:?}: use a, b, c or d, or nothing for all"),
            };
            println!("== {backend}");
            print_rows(&[row]);
            return Ok(());
        }
        let wire = single_device_bytes(&server, &seed).await?;
        let mut single = single_device(&server, &seed, &http).await?;
        single.bytes_per_contact = Some(wire.0);
        let many = many_devices(
            &server,
            &seed,
            &http,
            1,
            "(b) 200 devices at once, 50 pushes of 1",
        )
        .await?;
        let batched = many_devices(
            &server,
            &seed,
            &http,
            PER_DEVICE,
            "(c) 200 devices at once, 1 push of 50",
        )
        .await?;
        let stored = server.scalar("SELECT COUNT(*) FROM contact");
        let expected = 2 * SINGLE_CONTACTS + 2 * DEVICES as u64 * PER_DEVICE;
        ensure!(
            stored == i64::try_from(expected)?,
            "{stored} contacts stored, expected {expected}"
        );
        print(backend, &[single, many, batched], wire);
    }
    many_gemeenten(backend, pg).await
}

/// (d) Many gemeenten on one server: `GEMEENTEN` × `DEVICES_PER_GEMEENTE` devices, each
/// pushing its 50 contacts as one batch, all at once.
async fn many_gemeenten(backend: &str, pg: Option<&str>) -> anyhow::Result<()> {
    let server = TestServer::start_on_backend(pg, Config::default());
    let seeds: Vec<Seed> = (0..GEMEENTEN).map(|_| server.seed()).collect();
    let row = fleet(
        &server,
        &seeds,
        DEVICES_PER_GEMEENTE,
        &http_client(),
        PER_DEVICE,
        "(d) 50 gemeenten x 40 devices, 1 push of 50",
    )
    .await?;
    let stored = server.scalar("SELECT COUNT(*) FROM contact");
    ensure!(
        stored == i64::try_from(row.contacts)?,
        "{stored} contacts stored, expected {}",
        row.contacts
    );
    println!();
    println!("== {backend}, many gemeenten");
    print_rows(&[row]);
    Ok(())
}
