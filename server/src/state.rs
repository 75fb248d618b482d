//! Shared server state: the database, rate limiters, metrics and per-gemeente caches.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use avondronde_shared::area::{Gemeente, Wijk};
use avondronde_shared::norms::{AreaRule, NormSet};
use avondronde_shared::sync::{DeviceConfig, MeldpuntKey};
use avondronde_shared::{DeviceId, GemeenteId};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::db::DbError;
use crate::store::{self, Tx};

/// Settings that differ between deployments.
#[derive(Debug, Clone)]
pub struct Config {
    /// Basemap tile URL template for the coordinator map ({z}/{x}/{y}).
    pub basemap_url: String,
    /// Requests per second a device may make (burst is four times this).
    pub device_rps: u32,
    /// Failed logins per minute an account takes from one address (see
    /// [`crate::throttle`]).
    pub logins_per_minute: u32,
    /// Enrolment attempts per minute per client address. Codes have about 60 random bits
    /// and expire in a day, so this only has to stop brute force, not a desk enrolling a
    /// tray of phones.
    pub enrolments_per_minute: u32,
    /// The server terminates TLS itself (see [`Config::https`]).
    pub tls: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The bearer token `/metrics` asks for; without one `/metrics` answers 404.
    pub metrics_token: Option<MetricsToken>,
    /// The address phones reach this server at (`https://avondronde.gemeente.nl`), put in
    /// the enrolment QR code. `None`: the address the admin's browser used.
    pub public_url: Option<String>,
}

/// The bearer token for `/metrics`. Its `Debug` does not show it.
#[derive(Clone)]
pub struct MetricsToken(pub String);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

impl Config {
    /// Whether browsers reach the server over HTTPS: it terminates TLS itself, or its public
    /// address (behind a proxy that terminates TLS) is `https://`. Then its cookies are
    /// `__Host-` (a sibling subdomain cannot plant one that shadows them) and it sends HSTS.
    pub fn https(&self) -> bool {
        self.tls
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            basemap_url: avondronde_shared::sync::PDOK_BASEMAP_URL.into(),
            device_rps: 20,
            logins_per_minute: 10,
            enrolments_per_minute: 30,
            tls: false,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            public_url: None,
        }
    }
}

/// Rate limiters.
pub struct Limits {
    /// Per device.
    pub device: DefaultKeyedRateLimiter<DeviceId>,
    /// Login attempts per address and failures per account, bounded in memory.
    pub login: crate::throttle::LoginThrottle,
    /// Per client address, for enrolment.
    pub enrol: DefaultKeyedRateLimiter<IpAddr>,
    /// Per meldpunt user, for unlocking the key (a passphrase guess is a password guess).
    pub unlock: DefaultKeyedRateLimiter<avondronde_shared::UserId>,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    /// Items accepted.
    pub items_accepted: AtomicU64,
    /// Items that were duplicates.
    pub items_duplicate: AtomicU64,
    /// Items rejected.
    pub items_rejected: AtomicU64,
    /// Items in conflict.
    pub items_conflict: AtomicU64,
    /// Push requests.
    pub pushes: AtomicU64,
    /// Writer jobs that stored pushes (several pushes that waited together share one).
    pub push_jobs: AtomicU64,
    /// Pull requests.
    pub pulls: AtomicU64,
    /// Contacts flagged for a skewed device clock.
    pub skewed_contacts: AtomicU64,
}

impl Metrics {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// What ingest needs to know of a gemeente: norms, rules and wijken.
#[derive(Debug)]
pub struct GemeenteRules {
    /// The config version these were read at.
    pub version: u64,
    /// Norms.
    pub norms: NormSet,
    /// Area rules.
    pub rules: Vec<AreaRule>,
    /// Wijken with boundaries.
    pub wijken: Vec<Wijk>,
}

/// The server's state, shared by all handlers.
pub struct AppState {
    /// The store layer: the only way to the data.
    pub store: crate::store::Store,
    /// Settings.
    pub config: Config,
    /// Rate limiters.
    pub limits: Limits,
    /// Counters.
    pub metrics: Metrics,
    /// In-memory contact indexes for the hotspot map.
    pub hotspot: crate::hotspot::Indexes,
    /// Meldpunt keys unlocked per web session (memory only).
    pub vault: crate::meldpunt::vault::Vault,
    /// Password checks (argon2id, tens of milliseconds of CPU and 19 MiB each) run at
    /// most this many at a time, so a login flood cannot starve sync of CPU or memory.
    pub argon2: tokio::sync::Semaphore,
    /// Per-route latency histograms (`metrics` + `metrics-exporter-prometheus`), a
    /// recorder of this state's own rather than a global one, so tests stay apart.
    pub prometheus: metrics_exporter_prometheus::PrometheusRecorder,
    /// Pushes waiting for their gemeente's next writer job.
    pub pushes: crate::pushes::Waiting,
    /// The admin's results waiting for the page view after their redirect.
    pub notices: crate::web::notices::Notices,
    rules_cache: Mutex<HashMap<GemeenteId, Arc<GemeenteRules>>>,
}

impl AppState {
    /// New state over an open store.
    pub fn new(store: crate::store::Store, config: Config) -> Arc<AppState> {
        let rps = NonZeroU32::new(config.device_rps.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.device_rps.max(1).saturating_mul(4)).unwrap_or(rps);
        let logins = NonZeroU32::new(config.logins_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let enrolments =
            NonZeroU32::new(config.enrolments_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Arc::new(AppState {
            store,
            limits: Limits {
                device: RateLimiter::keyed(Quota::per_second(rps).allow_burst(burst)),
                login: crate::throttle::LoginThrottle::new(logins.get()),
                enrol: RateLimiter::keyed(Quota::per_minute(enrolments)),
                unlock: RateLimiter::keyed(Quota::per_minute(logins)),
            },
            config,
            metrics: Metrics::default(),
            hotspot: crate::hotspot::Indexes::default(),
            vault: crate::meldpunt::vault::Vault::default(),
            argon2: tokio::sync::Semaphore::new(
                std::thread::available_parallelism()
                    .map_or(1, |n| n.get() / 2)
                    .max(1),
            ),
            prometheus: metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets(&[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .unwrap_or_else(|_| metrics_exporter_prometheus::PrometheusBuilder::new())
                .build_recorder(),
            pushes: crate::pushes::Waiting::default(),
            notices: crate::web::notices::Notices::default(),
            rules_cache: Mutex::new(HashMap::new()),
        })
    }

    /// The gemeente's rules as last loaded, without asking the database whether they are
    /// still current: for work that checks the version later, in its own transaction (see
    /// [`crate::ingest::rederive_if_changed`]).
    pub fn cached_rules(&self, gemeente: GemeenteId) -> Option<Arc<GemeenteRules>> {
        self.rules_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&gemeente)
            .cloned()
    }

    /// The gemeente's norms, rules and wijken, cached until its config version changes.
    pub fn gemeente_rules(
        &self,
        tx: &Tx,
        gemeente: GemeenteId,
    ) -> Result<Arc<GemeenteRules>, DbError> {
        let version = config_version(tx, gemeente)?;
        if let Some(cached) = self
            .rules_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&gemeente)
            && cached.version == version
        {
            return Ok(cached.clone());
        }
        let fresh = Arc::new(GemeenteRules {
            version,
            norms: load_norms(tx, gemeente)?,
            rules: store::config::area_rules(tx, gemeente)?,
            wijken: load_wijken(tx, gemeente)?,
        });
        self.rules_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(gemeente, fresh.clone());
        Ok(fresh)
    }
}

/// The gemeente's config version (0 if it does not exist).
pub fn config_version(tx: &Tx, gemeente: GemeenteId) -> Result<u64, DbError> {
    Ok(store::config::config_version(tx, gemeente)?.map_or(0, |v| v.max(0) as u64))
}

/// Marks the gemeente's device configuration as changed.
pub fn bump_config(tx: &Tx, gemeente: GemeenteId) -> Result<(), DbError> {
    store::config::bump_config_version(tx, gemeente)
}

/// The gemeente's norms; Rotterdam's for a gemeente that is not there.
fn load_norms(tx: &Tx, gemeente: GemeenteId) -> Result<NormSet, DbError> {
    Ok(store::config::norms(tx, gemeente)?.unwrap_or_else(NormSet::rotterdam))
}

/// The gemeente's wijken, ordered by code.
pub fn load_wijken(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<Wijk>, DbError> {
    store::config::wijken(tx, gemeente)
}

/// The gemeente record.
pub fn load_gemeente(tx: &Tx, gemeente: GemeenteId) -> Result<Option<Gemeente>, DbError> {
    store::config::gemeente(tx, gemeente)
}

/// The current (unretired) meldpunt key of a gemeente.
pub fn current_meldpunt_key(tx: &Tx, gemeente: GemeenteId) -> Result<Option<MeldpuntKey>, DbError> {
    store::meldpunt_keys::current(tx, gemeente)
}

/// Everything a device of this gemeente needs offline.
pub fn device_config(
    state: &AppState,
    tx: &Tx,
    gemeente: GemeenteId,
) -> Result<Option<DeviceConfig>, DbError> {
    let Some(g) = load_gemeente(tx, gemeente)? else {
        return Ok(None);
    };
    let rules = state.gemeente_rules(tx, gemeente)?;
    Ok(Some(DeviceConfig {
        version: rules.version,
        gemeente: g,
        norms: rules.norms.clone(),
        area_rules: rules.rules.clone(),
        wijken: rules.wijken.clone(),
        places: store::config::places(tx, gemeente)?,
        meldpunt_key: current_meldpunt_key(tx, gemeente)?,
        meldpunt_chain: crate::meldpunt::keys::chain(tx, gemeente)?,
        basemap_url: state.config.basemap_url.clone(),
        phone: crate::phone_policy::get(tx, gemeente)?,
    }))
}
