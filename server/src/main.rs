//! The `avondronde-server` binary: argument parsing and nothing else. The `admin`
//! subcommands are in [`admin_commands`].

mod admin_commands;

use std::net::SocketAddr;
use std::path::PathBuf;

use admin_commands::Admin;
use anyhow::Context;
use avondronde_server::store::{Direct, Store};
use avondronde_server::{AppState, Config, demo};
use clap::{Parser, Subcommand};

/// mimalloc: the push path allocates per item, and glibc's allocator cost a third of the
/// CPU of a burst of pushes (`bench_sync` (c)). Built without transparent huge pages
/// (the workspace's `no_thp`; README, Benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Avondronde's sync server: the wijk's system of record.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and web pages.
    Serve {
        #[command(flatten)]
        database: Database,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Basemap tile URL template for the coordinator map.
        #[arg(long)]
        basemap_url: Option<String>,
        /// A reverse proxy (CIDR, repeatable) whose X-Forwarded-For is believed.
        #[arg(long = "trusted-proxy")]
        trusted_proxies: Vec<ipnet::IpNet>,
        /// Serve HTTPS with this certificate chain (PEM). Turns on HSTS and the
        /// `__Host-avondronde` cookie. Needs --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The address phones and browsers reach this server at, for the enrolment QR code
        /// (e.g. https://avondronde.gemeente.nl). An https address behind a TLS proxy also
        /// turns on HSTS and the `__Host-` cookies. Default: the address the admin's browser
        /// uses.
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Create a demo gemeente with two wijken and eight weeks of contacts, then serve it.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Where the demo is stored; a fresh temporary SQLite file when omitted.
        #[command(flatten)]
        database: Database,
        /// Where to write the login credentials as JSON.
        #[arg(long)]
        credentials: Option<PathBuf>,
        /// Basemap tile URL template for the coordinator map.
        #[arg(long)]
        basemap_url: Option<String>,
    },
    /// Set up a gemeente: wijken, norms, users, devices.
    Admin {
        #[command(flatten)]
        database: Database,
        #[command(subcommand)]
        action: Admin,
    },
}

/// Where the data lives: the embedded SQLite (the default: one file, nothing to install) or
/// PostgreSQL 15 or later (for a provider hosting many gemeenten; see docs/postgres.md).
#[derive(Debug, clap::Args)]
struct Database {
    /// SQLite database file (created if missing).
    #[arg(long, conflicts_with = "database_url")]
    db: Option<PathBuf>,
    /// PostgreSQL URL, e.g. postgres://avondronde_app@db.example/avondronde. The server
    /// connects as the application role; the `admin` commands as the cluster's admin. Best
    /// given in the environment, so that a password does not show in `ps`.
    #[arg(long, env = "AVONDRONDE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// PostgreSQL only: the most connections this server opens. PostgreSQL's
    /// max_connections must cover this for every server process, plus a few for the admin.
    /// When all are busy, a request waits up to ten seconds and is then answered 503 with
    /// Retry-After.
    #[arg(long, env = "AVONDRONDE_DB_POOL_SIZE", default_value_t = avondronde_server::store::PoolOptions::DEFAULT_MAX_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    db_pool_size: u32,
}

impl Database {
    fn describe(&self) -> String {
        match (&self.db, &self.database_url) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(_)) => "the PostgreSQL database".into(),
            (None, None) => "no database".into(),
        }
    }

    fn store(&self) -> anyhow::Result<Store> {
        match (&self.db, &self.database_url) {
            (Some(path), _) => Store::open(path),
            (None, Some(url)) => Store::connect_pool(
                url,
                avondronde_server::store::PoolOptions {
                    max_size: self.db_pool_size,
                    ..Default::default()
                },
            ),
            (None, None) => anyhow::bail!(NO_DATABASE),
        }
        .with_context(|| format!("opening {}", self.describe()))
    }

    fn direct(&self) -> anyhow::Result<Direct> {
        match (&self.db, &self.database_url) {
            (Some(path), _) => Direct::open(path),
            (None, Some(url)) => Direct::connect(url),
            (None, None) => anyhow::bail!(NO_DATABASE),
        }
        .with_context(|| format!("opening {}", self.describe()))
    }
}

const NO_DATABASE: &str =
    "say where the data is: --db FILE (SQLite) or --database-url postgres://… (PostgreSQL)";

fn main() -> anyhow::Result<()> {
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let directives = std::env::var("RUST_LOG").ok();
        tracing_subscriber::registry()
            .with(avondronde_server::logging::layer(
                directives.as_deref(),
                std::io::stdout,
                std::io::IsTerminal::is_terminal(&std::io::stdout()),
            ))
            .init();
    }
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve {
            database,
            addr,
            basemap_url,
            trusted_proxies,
            tls_cert,
            tls_key,
            public_url,
        } => {
            let mut config = config(basemap_url);
            config.public_url = public_url;
            config.trusted_proxies = trusted_proxies;
            config.tls = tls_cert.is_some();
            let state = AppState::new(database.store()?, config);
            match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => runtime.block_on(run_tls(state, addr, cert, key)),
                _ => runtime.block_on(run(state, addr)),
            }
        }
        Command::Demo {
            addr,
            mut database,
            credentials,
            basemap_url,
        } => {
            let dir = tempfile::tempdir()?;
            if database.db.is_none() && database.database_url.is_none() {
                database.db = Some(dir.path().join("demo.sqlite"));
            }
            let state = AppState::new(database.store()?, config(basemap_url));
            let creds = runtime.block_on(demo::build(&state, jiff::Timestamp::now()))?;
            println!("{}", creds.readable());
            if let Some(file) = credentials {
                std::fs::write(&file, serde_json::to_vec_pretty(&creds)?)
                    .with_context(|| format!("writing {}", file.display()))?;
                println!("credentials written to {}", file.display());
            }
            runtime.block_on(run(state, addr))
        }
        Command::Admin { database, action } => admin_commands::run(database, action),
    }
}

fn config(basemap_url: Option<String>) -> Config {
    // `/metrics` exists only with a token of at least 16 characters, from the environment.
    let mut config = Config {
        metrics_token: std::env::var("AVONDRONDE_METRICS_TOKEN")
            .ok()
            .filter(|t| t.len() >= 16)
            .map(avondronde_server::state::MetricsToken),
        ..Config::default()
    };
    if let Some(url) = basemap_url {
        config.basemap_url = url;
    }
    config
}

async fn run(state: std::sync::Arc<AppState>, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    avondronde_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

async fn run_tls(
    state: std::sync::Arc<AppState>,
    addr: SocketAddr,
    cert: PathBuf,
    key: PathBuf,
) -> anyhow::Result<()> {
    let tls = avondronde_server::tls::config_from_pem_files(&cert, &key)
        .await
        .with_context(|| format!("reading {} and {}", cert.display(), key.display()))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    println!("listening on https://{}", listener.local_addr()?);
    avondronde_server::tls::serve(listener, tls, state, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
