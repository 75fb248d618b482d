//! The binary's `avondronde-server admin …` subcommands: their arguments, and how each
//! one's result is told to the operator. The operations themselves live in the library
//! (`avondronde_server::admin`, `setup`, `retention`, …), shared with the web admin; this
//! module only parses, asks for secrets without echo, and prints.

use std::path::PathBuf;

use anyhow::Context;
use avondronde_server::store::{Direct, Tx};
use avondronde_server::{db, setup};
use clap::Subcommand;

use crate::Database;

/// The `admin` subcommands.
#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Prepare a PostgreSQL database (run once, and again after an upgrade and monthly):
    /// creates the owner and application roles, applies the migrations and creates the
    /// contact tables of the coming months. Needs the cluster's admin in --database-url.
    /// The application role's password comes from AVONDRONDE_APP_PASSWORD, if set.
    PostgresInit,
    /// Monthly upkeep of a PostgreSQL database (run it daily or at least monthly, e.g. from
    /// cron): creates the contact months ahead (moving contacts that landed in the default
    /// partition into their month), runs the retention sweep of every gemeente (expired
    /// contacts are archived, then deleted) and then drops the contact months that lie
    /// wholly past the longest retention of any gemeente. Needs the cluster's admin in
    /// --database-url.
    PostgresMaintain,
    /// Move one gemeente between SQLite and PostgreSQL (either way), verified: row counts,
    /// the audit chain's head and a sample of records. Stops with nothing written when the
    /// target already holds the gemeente. The source is only read. PostgreSQL as the
    /// cluster's admin, set up with postgres-init.
    Migrate {
        /// The source: a SQLite file or a postgres:// URL.
        #[arg(long)]
        from: String,
        /// The target: a SQLite file (created if missing) or a postgres:// URL.
        #[arg(long)]
        to: String,
        /// The gemeente's CBS code, e.g. GM0599.
        #[arg(long)]
        gemeente: String,
    },
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
        /// Ask for a password for web login (at least 12 characters), without echo, or
        /// take it from AVONDRONDE_PASSWORD. Never on the command line. Field workers
        /// need none: they use the app.
        #[arg(long)]
        web_login: bool,
    },
    /// Issue a one-time enrolment code (24 hours) for a field user's phone. Refused for
    /// any role but straatcoach, BOA and wijkagent.
    IssueCode {
        /// The field user's username.
        #[arg(long)]
        username: String,
    },
    /// Disable a user: no more logins; their sessions end and their phones are revoked.
    DisableUser {
        /// Username.
        #[arg(long)]
        username: String,
    },
    /// End every web session of a user.
    EndSessions {
        /// Username.
        #[arg(long)]
        username: String,
    },
    /// Issue a one-time password-reset code (one hour); the user sets a new password
    /// with it at /wachtwoord. Their sessions end.
    ResetPassword {
        /// Username.
        #[arg(long)]
        username: String,
    },
    /// Switch a user's second factor off (lost phone); they set it up again at their
    /// next login. Their sessions end.
    ResetMfa {
        /// Username.
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
    },
    /// Replace the meldpunt key: new forms use the new key, old forms stay readable, and
    /// from now on the new passphrase opens both.
    RotateMeldpuntKey {
        /// Gemeente CBS code.
        #[arg(long)]
        gemeente: String,
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
        /// Months without a change after which the inbox warns about an open care form.
        #[arg(long, default_value_t = avondronde_server::retention::DEFAULT_OPEN_FORM_WARN_MONTHS)]
        open_form_warn_months: u32,
        /// Months without a change after which an open care form is deleted, unless the
        /// meldpunt holds it on purpose.
        #[arg(long, default_value_t = avondronde_server::retention::DEFAULT_OPEN_FORM_MONTHS)]
        open_form_months: u32,
    },
    /// Set what the gemeente's phones keep and when the app locks (sent to the phones
    /// with their configuration).
    SetPhonePolicy {
        /// Gemeente CBS code.
        #[arg(long)]
        gemeente: String,
        /// Days a receipted contact stays on a phone (for "Eerder hier"), 1 to 365.
        #[arg(long, default_value_t = avondronde_shared::sync::PhonePolicy::DEFAULT_RETENTION_DAYS)]
        contact_days: u16,
        /// Minutes in the background after which the app asks for its PIN, 0 to 480.
        #[arg(long, default_value_t = avondronde_shared::sync::PhonePolicy::DEFAULT_LOCK_MINUTES)]
        lock_minutes: u16,
    },
    /// Enforce the retention periods now (the server also does this daily).
    RunRetention,
    /// Give a coordinator their wijken (replacing earlier ones); a coordinator without
    /// wijken sees no hotspot map at all.
    AssignWijken {
        /// The coordinator's username.
        #[arg(long)]
        username: String,
        /// CBS wijk codes of their gemeente, comma-separated (WK059903,WK059904).
        #[arg(long, value_delimiter = ',', required_unless_present_any = ["all", "none"])]
        wijken: Vec<String>,
        /// Every wijk of their gemeente.
        #[arg(long, conflicts_with_all = ["wijken", "none"])]
        all: bool,
        /// No wijk: take every wijk away.
        #[arg(long, conflicts_with = "wijken")]
        none: bool,
    },
    /// Set the noise of the coordinator statistics (cell-key method; see the README).
    SetDisclosure {
        /// Gemeente CBS code.
        #[arg(long)]
        gemeente: String,
        /// Largest noise in either direction, 3–10.
        #[arg(long, default_value_t = 5)]
        max_noise: u32,
        /// Variance of the noise, 2 to min(max_noise² / 4, 12).
        #[arg(long, default_value_t = 3.0)]
        variance: f64,
        /// Counts below this show as "<threshold": 10, 15, … 50.
        #[arg(long, default_value_t = 10)]
        threshold: u32,
    },
}

/// A secret from the environment variable `env`, else asked for without echo. Secrets
/// never come from argv, where `ps` and shell history would show them.
fn secret(env: &str, prompt: &str) -> anyhow::Result<age::secrecy::SecretString> {
    if let Ok(p) = std::env::var(env)
        && !p.is_empty()
    {
        return Ok(p.into());
    }
    let p = rpassword::prompt_password(format!("{prompt}: "))
        .with_context(|| format!("reading the secret (or set {env})"))?;
    anyhow::ensure!(!p.is_empty(), "no secret given");
    Ok(p.into())
}

/// Runs one `admin` subcommand against `database`.
pub fn run(database: Database, action: Admin) -> anyhow::Result<()> {
    match action {
        Admin::PostgresInit => {
            let url = database
                .database_url
                .context("postgres-init needs --database-url (the cluster's admin)")?;
            postgres_init(&url)
        }
        Admin::PostgresMaintain => {
            let url = database
                .database_url
                .context("postgres-maintain needs --database-url (the cluster's admin)")?;
            let done = avondronde_server::partitions::maintain(&url, jiff::Timestamp::now())
                .context("maintaining the contact months")?;
            let contacts: usize = done.swept.iter().map(|(_, r)| r.contacts).sum();
            println!(
                "PostgreSQL maintained: {} contact month(s) created; retention removed {contacts} \
                 contact(s) in {} gemeente(n) after archiving them; longest contact retention \
                 {} months, so months before {} are dropped: {}",
                done.created,
                done.swept.len(),
                done.longest_months,
                done.keep_from.map(|d| d.to_string()).unwrap_or_default(),
                if done.dropped.is_empty() {
                    "none".to_owned()
                } else {
                    done.dropped.join(", ")
                }
            );
            Ok(())
        }
        Admin::Migrate { from, to, gemeente } => {
            use avondronde_server::store::migrate::{Endpoint, migrate};
            let report = migrate(&Endpoint::parse(&from), &Endpoint::parse(&to), &gemeente)?;
            for (table, n) in &report.rows {
                println!("{table:>20}  {n}");
            }
            println!(
                "moved gemeente {gemeente} ({}): counts match, audit head {}, {} sampled \
                 records identical",
                report.gemeente,
                report.audit_head.as_deref().unwrap_or("(no audit rows)"),
                report.sampled
            );
            Ok(())
        }
        action => admin(&mut database.direct()?, action),
    }
}

/// `admin postgres-init`: roles, migrations and the contact tables of the coming months.
fn postgres_init(url: &str) -> anyhow::Result<()> {
    use avondronde_server::store::postgres::PgAdmin;
    let mut pg = PgAdmin::connect(url).context("connecting to PostgreSQL")?;
    let password = std::env::var("AVONDRONDE_APP_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    pg.ensure_roles(password.as_deref())
        .context("creating the roles")?;
    let applied = pg.migrate().context("applying the migrations")?;
    // Two years back (a migrated gemeente's history) and three months ahead.
    let today = jiff::Zoned::now().date();
    let from = today
        .first_of_month()
        .checked_sub(jiff::Span::new().months(24))
        .context("date arithmetic")?;
    let made = pg
        .ensure_contact_partitions(from, 28)
        .context("creating the contact months")?;
    println!(
        "PostgreSQL ready: {} migration(s) applied, {made} contact month(s) created. \
         Serve with --database-url postgres://avondronde_app@…",
        applied.len()
    );
    Ok(())
}

/// Runs `f` in one transaction: all of it is kept, or, if `f` fails, none of it (and its
/// error is returned as it was).
fn write<T: Send, E: Into<anyhow::Error>>(
    db: &mut Direct,
    f: impl FnOnce(&Tx) -> Result<T, E> + Send,
) -> anyhow::Result<T> {
    keeping_error(f, |f| db.transaction(f))
}

/// Runs `f` as a read.
fn read<T: Send, E: Into<anyhow::Error>>(
    db: &Direct,
    f: impl FnOnce(&Tx) -> Result<T, E> + Send,
) -> anyhow::Result<T> {
    keeping_error(f, |f| db.read(f))
}

/// A store job that fails with the store's error type.
type Job<'a, T> = Box<dyn FnOnce(&Tx) -> Result<T, db::DbError> + Send + 'a>;

/// Hands `f` to `run` (a transaction or a read) as a store job, and returns `f`'s own
/// error as it was: the store only learns that the job failed, so a transaction rolls back.
fn keeping_error<T: Send, E: Into<anyhow::Error>>(
    f: impl FnOnce(&Tx) -> Result<T, E> + Send,
    run: impl FnOnce(Job<'_, T>) -> Result<T, db::DbError>,
) -> anyhow::Result<T> {
    let mut failed = None;
    let done = run(Box::new(|tx| {
        f(tx).map_err(|e| {
            failed = Some(e.into());
            db::DbError::Domain("failed".into())
        })
    }));
    match (done, failed) {
        (_, Some(e)) => Err(e),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(e.into()),
    }
}

/// The subcommands that work in one transaction on an open store.
fn admin(db: &mut Direct, action: Admin) -> anyhow::Result<()> {
    use avondronde_server::admin::{self, Caller};
    use avondronde_shared::Role;
    match action {
        Admin::CreateGemeente { name, code } => {
            let id = write(db, |tx| {
                setup::create_gemeente(
                    tx,
                    &name,
                    &code,
                    &avondronde_shared::norms::NormSet::rotterdam(),
                )
            })?;
            println!("gemeente {name} ({code}) created: {id}");
        }
        Admin::ImportWijken { gemeente, file } => {
            let ids = write(db, |tx| {
                let g = setup::gemeente_by_code(tx, &gemeente)?;
                setup::import_wijken(tx, g, &file)
            })?;
            println!("{} wijken imported", ids.len());
        }
        Admin::SetNorms { gemeente, file } => {
            let warnings = write(db, |tx| {
                let g = setup::gemeente_by_code(tx, &gemeente)?;
                setup::set_norms(tx, g, &file)
            })?;
            for w in warnings {
                println!("warning: {w}");
            }
            println!("norms set");
        }
        Admin::AddUser {
            gemeente,
            username,
            role,
            web_login,
        } => {
            use age::secrecy::ExposeSecret;
            let g = read(db, |tx| setup::gemeente_by_code(tx, &gemeente))?;
            let role = Role::from_code(&role).with_context(|| {
                format!("unknown role {role:?}: use straatcoach, boa, wijkagent, coordinator, meldpunt or admin")
            })?;
            let password = web_login
                .then(|| secret("AVONDRONDE_PASSWORD", "Wachtwoord (minstens 12 tekens)"))
                .transpose()?;
            write(db, |tx| {
                setup::add_user(
                    tx,
                    g,
                    &username,
                    role,
                    password.as_ref().map(|p| p.expose_secret()),
                )
            })?;
            println!("user {username} added as {}", role.code());
            if avondronde_server::mfa::required_for(role) && web_login {
                println!("{username} sets up the authenticator app (TOTP) at the first web login");
            }
            if role == Role::Coordinator {
                println!(
                    "{username} sees no wijk yet: assign them with `admin assign-wijken --username {username} --wijken WK…` (or --all)"
                );
            }
        }
        Admin::IssueCode { username } => {
            let code = write(db, |tx| admin::issue_code(tx, &Caller::cli(), &username))?;
            println!("enrolment code for {username} (single use, 24 hours): {code}");
        }
        Admin::DisableUser { username } => {
            let ended = write(db, |tx| admin::disable_user(tx, &Caller::cli(), &username))?;
            println!(
                "{username} disabled: {} sessions ended, {} devices revoked",
                ended.sessions.len(),
                ended.devices
            );
        }
        Admin::EndSessions { username } => {
            let ended = write(db, |tx| admin::end_sessions(tx, &Caller::cli(), &username))?;
            println!("{} sessions of {username} ended", ended.sessions.len());
        }
        Admin::ResetPassword { username } => {
            let (code, _) = write(db, |tx| {
                admin::reset_password(tx, &Caller::cli(), &username)
            })?;
            println!(
                "password-reset code for {username} (single use, one hour; enter it at /wachtwoord): {code}"
            );
        }
        Admin::ResetMfa { username } => {
            write(db, |tx| admin::reset_mfa(tx, &Caller::cli(), &username))?;
            println!("{username} sets up a new authenticator app at the next login");
        }
        Admin::CreateMeldpuntKey { gemeente } => {
            use avondronde_server::{audit, meldpunt::keys};
            let g = read(db, |tx| setup::gemeente_by_code(tx, &gemeente))?;
            let p = secret(
                "AVONDRONDE_PASSPHRASE",
                "Wachtwoordzin voor de meldpuntsleutel",
            )?;
            let cli = audit::Actor::cli();
            let by = keys::KeyActor {
                actor: &cli,
                address: None,
            };
            let now = avondronde_server::db::now_ms();
            let (key, fingerprint) = write(db, |tx| keys::create_recorded(tx, g, &p, &by, now))?;
            println!(
                "meldpunt key {} created for {gemeente}; devices pull it at their next sync",
                key.id.0
            );
            if let Some(f) = fingerprint {
                println!(
                    "fingerprint (phones compare these words): {}",
                    f.words_line()
                );
            }
        }
        Admin::RotateMeldpuntKey { gemeente } => {
            use avondronde_server::{audit, meldpunt::keys};
            let g = read(db, |tx| setup::gemeente_by_code(tx, &gemeente))?;
            let old = secret("AVONDRONDE_PASSPHRASE", "Huidige wachtwoordzin")?;
            let new = secret("AVONDRONDE_NEW_PASSPHRASE", "Nieuwe wachtwoordzin")?;
            let cli = audit::Actor::cli();
            let by = keys::KeyActor {
                actor: &cli,
                address: None,
            };
            let now = avondronde_server::db::now_ms();
            // All or nothing: a wrong passphrase or a failure leaves the keys as they were.
            let (key, _) = write(db, |tx| keys::rotate_recorded(tx, g, &old, &new, &by, now))?;
            println!(
                "meldpunt key {} is now current for {gemeente}; old forms stay readable with the new passphrase",
                key.id.0
            );
        }
        Admin::SetRetention {
            gemeente,
            care_form_months,
            contact_months,
            open_form_warn_months,
            open_form_months,
        } => {
            use avondronde_server::retention;
            let periods = retention::Periods {
                care_form_months,
                contact_months,
                open_form_warn_months,
                open_form_months,
            };
            write(db, |tx| {
                let g = setup::gemeente_by_code(tx, &gemeente)?;
                retention::set_periods(
                    tx,
                    g,
                    periods,
                    &avondronde_server::audit::Actor::cli(),
                    avondronde_server::db::now_ms(),
                )
                .map_err(anyhow::Error::from)
            })?;
            println!(
                "retention for {gemeente}: closed care forms {care_form_months} months, contacts {contact_months} months"
            );
        }
        Admin::SetPhonePolicy {
            gemeente,
            contact_days,
            lock_minutes,
        } => {
            let policy = avondronde_shared::sync::PhonePolicy {
                contact_retention_days: contact_days,
                lock_after_minutes: lock_minutes,
            };
            write(db, |tx| {
                let g = setup::gemeente_by_code(tx, &gemeente)?;
                avondronde_server::phone_policy::set(
                    tx,
                    g,
                    policy,
                    &avondronde_server::audit::Actor::cli(),
                    avondronde_server::db::now_ms(),
                )
                .map_err(anyhow::Error::from)
            })?;
            println!(
                "phones of {gemeente}: contacts kept {contact_days} days, PIN after {lock_minutes} minutes"
            );
        }
        Admin::RunRetention => {
            let report = write(db, |tx| {
                avondronde_server::retention::enforce(tx, jiff::Timestamp::now())
            })?;
            for (g, r) in report {
                println!(
                    "{g}: {} care forms, {} contacts, {} corrections, {} rounds removed",
                    r.care_forms, r.contacts, r.corrections, r.rounds
                );
            }
        }
        Admin::AssignWijken {
            username,
            wijken,
            all,
            none: _,
        } => {
            use avondronde_server::hotspot::scope;
            let now = avondronde_server::db::now_ms();
            let cli = avondronde_server::audit::Actor::cli();
            let n = write(db, |tx| {
                let wijken = if all {
                    scope::wijk_codes_of_user(tx, &username)?
                } else {
                    wijken
                };
                scope::assign_wijken(tx, &username, &wijken, &cli, now)
            })?;
            println!("{username} now sees {n} wijk(en)");
        }
        Admin::SetDisclosure {
            gemeente,
            max_noise,
            variance,
            threshold,
        } => {
            use avondronde_shared::disclosure::PtableParams;
            let p = PtableParams {
                max_noise,
                variance,
                threshold,
            };
            let cli = avondronde_server::audit::Actor::cli();
            let now = avondronde_server::db::now_ms();
            write(db, |tx| {
                let g = setup::gemeente_by_code(tx, &gemeente)?;
                avondronde_server::hotspot::settings::set_params(tx, g, p, &cli, now)
                    .map_err(anyhow::Error::from)
            })?;
            println!(
                "noise for {gemeente}: maximum {max_noise}, variance {variance}, threshold {threshold}"
            );
        }
        Admin::PostgresInit | Admin::PostgresMaintain | Admin::Migrate { .. } => {
            anyhow::bail!("this command opens its own connections")
        }
        Admin::RevokeDevice { id } => {
            let device = id
                .parse()
                .with_context(|| format!("{id:?} is not a device id"))?;
            write(db, |tx| admin::revoke(tx, &Caller::cli(), device))
                .with_context(|| format!("no active device {id}"))?;
            println!("device {id} revoked");
        }
    }
    Ok(())
}
