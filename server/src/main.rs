//! The `avondronde-server` binary: argument parsing and nothing else.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use avondronde_server::{AppState, Config, db, demo, setup};
use clap::{Parser, Subcommand};

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
        /// SQLite database file (created if missing).
        #[arg(long)]
        db: PathBuf,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Basemap tile URL template for the coordinator map.
        #[arg(long)]
        basemap_url: Option<String>,
    },
    /// Create a demo gemeente with two wijken and eight weeks of contacts, then serve it.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Database file; a fresh temporary one when omitted.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Where to write the login credentials as JSON.
        #[arg(long)]
        credentials: Option<PathBuf>,
        /// Basemap tile URL template for the coordinator map.
        #[arg(long)]
        basemap_url: Option<String>,
    },
    /// Set up a gemeente: wijken, norms, users, devices.
    Admin {
        /// SQLite database file.
        #[arg(long)]
        db: PathBuf,
        #[command(subcommand)]
        action: Admin,
    },
}

#[derive(Debug, Subcommand)]
enum Admin {
    /// Create a gemeente with Rotterdam's default norms.
    CreateGemeente {
        /// Name, e.g. Rotterdam.
        #[arg(long)]
        name: String,
        /// CBS code, e.g. GM0599.
        #[arg(long)]
        code: String,
    },
    /// Import wijk boundaries from a GeoJSON FeatureCollection (properties wijkcode, wijknaam).
    ImportWijken {
        /// Gemeente CBS code.
        #[arg(long)]
        gemeente: String,
        /// The GeoJSON file.
        file: PathBuf,
    },
    /// Set norms and area rules from a TOML file.
    SetNorms {
        /// Gemeente CBS code.
        #[arg(long)]
        gemeente: String,
        /// The TOML file.
        file: PathBuf,
    },
    /// Add a user.
    AddUser {
        /// Gemeente CBS code.
        #[arg(long)]
        gemeente: String,
        /// Username.
        #[arg(long)]
        username: String,
        /// Role: straatcoach, boa, wijkagent, coordinator, meldpunt or admin.
        #[arg(long)]
        role: String,
        /// Password for web login (at least 12 characters); read from
        /// AVONDRONDE_PASSWORD when omitted.
        #[arg(long, env = "AVONDRONDE_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Issue a one-time enrolment code (24 hours) for a field user's phone.
    IssueCode {
        /// The field user's username.
        #[arg(long)]
        username: String,
    },
    /// Revoke a device: its token stops working at once.
    RevokeDevice {
        /// Device id.
        id: String,
    },
    /// Make the gemeente's first meldpunt key. The meldpunt chooses the passphrase (at
    /// least 12 characters); the server never stores it, and without it no form opens.
    CreateMeldpuntKey {
        /// Gemeente CBS code.
        #[arg(long)]
        gemeente: String,
        /// The passphrase; asked for when omitted.
        #[arg(long, env = "AVONDRONDE_PASSPHRASE", hide_env_values = true)]
        passphrase: Option<String>,
    },
    /// Replace the meldpunt key: new forms use the new key, old forms stay readable, and
    /// from now on the new passphrase opens both.
    RotateMeldpuntKey {
        /// Gemeente CBS code.
        #[arg(long)]
        gemeente: String,
        /// The current passphrase; asked for when omitted.
        #[arg(long, env = "AVONDRONDE_PASSPHRASE", hide_env_values = true)]
        passphrase: Option<String>,
        /// The new passphrase; asked for when omitted.
        #[arg(long, env = "AVONDRONDE_NEW_PASSPHRASE", hide_env_values = true)]
        new_passphrase: Option<String>,
    },
    /// Set retention periods (defaults: closed care forms 12 months, contacts 24 months).
    SetRetention {
        /// Gemeente CBS code.
        #[arg(long)]
        gemeente: String,
        /// Months a closed care form is kept after closing.
        #[arg(long, default_value_t = avondronde_server::retention::DEFAULT_CARE_FORM_MONTHS)]
        care_form_months: u32,
        /// Months a raw contact is kept (its aggregate stays).
        #[arg(long, default_value_t = avondronde_server::retention::DEFAULT_CONTACT_MONTHS)]
        contact_months: u32,
    },
    /// Enforce the retention periods now (the server also does this daily).
    RunRetention,
}

/// A passphrase from the argument or environment, else read from standard input.
fn passphrase(given: Option<String>, prompt: &str) -> anyhow::Result<age::secrecy::SecretString> {
    if let Some(p) = given {
        return Ok(p.into());
    }
    eprint!("{prompt}: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!p.is_empty(), "no passphrase given");
    Ok(p.into())
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_target(false)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve {
            db,
            addr,
            basemap_url,
        } => {
            let config = config(basemap_url);
            let db = db::Db::open(&db).with_context(|| format!("opening {}", db.display()))?;
            runtime.block_on(run(AppState::new(db, config), addr))
        }
        Command::Demo {
            addr,
            db,
            credentials,
            basemap_url,
        } => {
            let dir = tempfile::tempdir()?;
            let path = db.unwrap_or_else(|| dir.path().join("demo.sqlite"));
            let state = AppState::new(db::Db::open(&path)?, config(basemap_url));
            let creds = runtime.block_on(demo::build(&state, jiff::Timestamp::now()))?;
            println!("{}", creds.readable());
            if let Some(file) = credentials {
                std::fs::write(&file, serde_json::to_vec_pretty(&creds)?)
                    .with_context(|| format!("writing {}", file.display()))?;
                println!("credentials written to {}", file.display());
            }
            runtime.block_on(run(state, addr))
        }
        Command::Admin { db, action } => {
            let conn =
                db::open_connection(&db).with_context(|| format!("opening {}", db.display()))?;
            admin(&conn, action)
        }
    }
}

fn config(basemap_url: Option<String>) -> Config {
    let mut config = Config::default();
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

fn admin(conn: &rusqlite::Connection, action: Admin) -> anyhow::Result<()> {
    use avondronde_shared::Role;
    match action {
        Admin::CreateGemeente { name, code } => {
            let id = setup::create_gemeente(
                conn,
                &name,
                &code,
                &avondronde_shared::norms::NormSet::rotterdam(),
            )?;
            println!("gemeente {name} ({code}) created: {id}");
        }
        Admin::ImportWijken { gemeente, file } => {
            let g = setup::gemeente_by_code(conn, &gemeente)?;
            let ids = setup::import_wijken(conn, g, &file)?;
            println!("{} wijken imported", ids.len());
        }
        Admin::SetNorms { gemeente, file } => {
            let g = setup::gemeente_by_code(conn, &gemeente)?;
            for w in setup::set_norms(conn, g, &file)? {
                println!("warning: {w}");
            }
            println!("norms set");
        }
        Admin::AddUser {
            gemeente,
            username,
            role,
            password,
        } => {
            let g = setup::gemeente_by_code(conn, &gemeente)?;
            let role = Role::from_code(&role).with_context(|| {
                format!("unknown role {role:?}: use straatcoach, boa, wijkagent, coordinator, meldpunt or admin")
            })?;
            setup::add_user(conn, g, &username, role, password.as_deref())?;
            println!("user {username} added as {}", role.code());
        }
        Admin::IssueCode { username } => {
            let user = setup::user_by_name(conn, &username)?;
            let code = avondronde_server::auth::issue_enrolment_code(
                conn,
                user,
                avondronde_server::auth::ENROLMENT_TTL_MS,
            )?;
            println!("enrolment code for {username} (single use, 24 hours): {code}");
        }
        Admin::CreateMeldpuntKey {
            gemeente,
            passphrase: given,
        } => {
            use avondronde_server::{audit, meldpunt::keys};
            let g = setup::gemeente_by_code(conn, &gemeente)?;
            let p = passphrase(given, "Wachtwoordzin voor de meldpuntsleutel")?;
            let now = avondronde_server::db::now_ms();
            let tx = conn.unchecked_transaction()?;
            let key = keys::create(conn, g, &p, now)?;
            audit::record(
                conn,
                &audit::Event {
                    gemeente: g,
                    actor: &audit::Actor::cli(),
                    action: audit::Action::KeyCreate,
                    form: None,
                    address: None,
                    detail: format!("sleutel {}", key.id.0),
                },
                now,
            )?;
            tx.commit()?;
            println!(
                "meldpunt key {} created for {gemeente}; devices pull it at their next sync",
                key.id.0
            );
            if let Some(f) = keys::root_fingerprint(conn, g)? {
                println!(
                    "fingerprint (phones compare these words): {}",
                    f.words_line()
                );
            }
        }
        Admin::RotateMeldpuntKey {
            gemeente,
            passphrase: old,
            new_passphrase,
        } => {
            use avondronde_server::{audit, meldpunt::keys};
            let g = setup::gemeente_by_code(conn, &gemeente)?;
            let old = passphrase(old, "Huidige wachtwoordzin")?;
            let new = passphrase(new_passphrase, "Nieuwe wachtwoordzin")?;
            let now = avondronde_server::db::now_ms();
            // One transaction: a wrong passphrase or a failure leaves the keys as they were.
            let tx = conn.unchecked_transaction()?;
            let key = keys::rotate(conn, g, &old, &new, now)?;
            audit::record(
                conn,
                &audit::Event {
                    gemeente: g,
                    actor: &audit::Actor::cli(),
                    action: audit::Action::KeyRotate,
                    form: None,
                    address: None,
                    detail: format!("nieuwe sleutel {}", key.id.0),
                },
                now,
            )?;
            tx.commit()?;
            println!(
                "meldpunt key {} is now current for {gemeente}; old forms stay readable with the new passphrase",
                key.id.0
            );
        }
        Admin::SetRetention {
            gemeente,
            care_form_months,
            contact_months,
        } => {
            use avondronde_server::retention;
            let g = setup::gemeente_by_code(conn, &gemeente)?;
            let periods = retention::Periods {
                care_form_months,
                contact_months,
            };
            retention::set_periods(
                conn,
                g,
                periods,
                &avondronde_server::audit::Actor::cli(),
                avondronde_server::db::now_ms(),
            )?;
            println!(
                "retention for {gemeente}: closed care forms {care_form_months} months, contacts {contact_months} months"
            );
        }
        Admin::RunRetention => {
            let report = avondronde_server::retention::enforce(conn, jiff::Timestamp::now())?;
            for (g, r) in report {
                println!(
                    "{g}: {} care forms, {} contacts, {} corrections, {} rounds removed",
                    r.care_forms, r.contacts, r.corrections, r.rounds
                );
            }
        }
        Admin::RevokeDevice { id } => {
            let device = id
                .parse()
                .with_context(|| format!("{id:?} is not a device id"))?;
            if avondronde_server::auth::revoke_device(conn, device)? {
                println!("device {id} revoked");
            } else {
                anyhow::bail!("no active device {id}");
            }
        }
    }
    Ok(())
}
