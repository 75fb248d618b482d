//! Setting a gemeente up: gemeente, wijken (from GeoJSON), norms and area rules (from a
//! TOML file), users, enrolment codes and device revocation. The `admin` subcommand and
//! the demo both use these functions, so the demo exercises the real paths. What is kept
//! and how lives in [`crate::store::setup`] and [`crate::store::rules`].

use std::path::Path;

use avondronde_shared::area::is_wijk_code;
use avondronde_shared::norms::{AreaRule, NormSet};
use avondronde_shared::{GemeenteId, PlaceId, Role, UserId, WijkId};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde::Deserialize;

use crate::auth;
use crate::db::{DbError, now_ms};
use crate::state::bump_config;
use crate::store::{self, Tx};

/// A setup mistake, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The input is wrong; the message says how.
    #[error("{0}")]
    Input(String),
}

fn read(path: &Path) -> Result<String, SetupError> {
    std::fs::read_to_string(path).map_err(|source| SetupError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Creates a gemeente with the given norms.
pub fn create_gemeente(
    tx: &Tx,
    name: &str,
    code: &str,
    norms: &NormSet,
) -> Result<GemeenteId, SetupError> {
    if !(code.len() == 6 && code.starts_with("GM") && code[2..].bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(SetupError::Input(format!(
            "gemeente code {code:?} is not a CBS code: use GM and four digits, e.g. GM0599"
        )));
    }
    let id = GemeenteId::new();
    store::setup::insert_gemeente(tx, id, name, code, norms)?;
    Ok(id)
}

/// Finds a gemeente by CBS code.
pub fn gemeente_by_code(tx: &Tx, code: &str) -> Result<GemeenteId, SetupError> {
    store::setup::gemeente_by_code(tx, code)?
        .ok_or_else(|| SetupError::Input(format!("no gemeente with code {code}; create it first")))
}

/// Adds a wijk with its boundary.
pub fn create_wijk(
    tx: &Tx,
    gemeente: GemeenteId,
    code: &str,
    name: &str,
    boundary: &MultiPolygon<f64>,
) -> Result<WijkId, SetupError> {
    if !is_wijk_code(code) {
        return Err(SetupError::Input(format!(
            "wijk code {code:?} is not a CBS code: use WK and six digits, e.g. WK059903"
        )));
    }
    let id = WijkId::new();
    store::setup::insert_wijk(tx, id, gemeente, code, name, boundary)?;
    bump_config(tx, gemeente)?;
    Ok(id)
}

/// Imports wijken from a GeoJSON FeatureCollection (e.g. the CBS wijk file), read by the
/// same parser as the web admin ([`crate::admin_rules::parse_wijken`]): the code in
/// `wijkcode`/`WK_CODE`, the name in `wijknaam`/`WK_NAAM`, Polygon or MultiPolygon in
/// WGS84 or RD New.
pub fn import_wijken(
    tx: &Tx,
    gemeente: GemeenteId,
    path: &Path,
) -> Result<Vec<WijkId>, SetupError> {
    let text = read(path)?;
    let parsed = crate::admin_rules::parse_wijken(&text)
        .map_err(|e| SetupError::Input(format!("{}: {e}", path.display())))?;
    parsed
        .iter()
        .map(|w| create_wijk(tx, gemeente, &w.code, &w.name, &w.boundary))
        .collect()
}

/// A closed polygon from (lon, lat) pairs.
pub fn polygon(points: &[(f64, f64)]) -> Polygon<f64> {
    Polygon::new(
        LineString(points.iter().map(|&(x, y)| Coord { x, y }).collect()),
        vec![],
    )
}

/// The norms file: `[norms]` plus any number of `[[area_rules]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormsFile {
    /// The norms.
    pub norms: NormSet,
    /// Area rules.
    #[serde(default)]
    pub area_rules: Vec<AreaRuleFile>,
}

/// An area rule in the norms file; the area is a list of `[lon, lat]` points.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaRuleFile {
    /// Name.
    pub name: String,
    /// Outline as `[lon, lat]` pairs.
    pub polygon: Vec<[f64; 2]>,
    /// Window start, "20:00".
    pub start: jiff::civil::Time,
    /// Window end, "06:00".
    pub end: jiff::civil::Time,
    /// First valid date.
    pub valid_from: jiff::civil::Date,
    /// Last valid date.
    pub valid_until: jiff::civil::Date,
    /// Age band codes.
    pub bands: Vec<avondronde_shared::AgeBand>,
    /// Effect code.
    pub effect: avondronde_shared::norms::AreaEffect,
}

/// Replaces a gemeente's norms and area rules from a TOML file. Returns warnings (e.g. a
/// rule valid for longer than three months).
pub fn set_norms(tx: &Tx, gemeente: GemeenteId, path: &Path) -> Result<Vec<String>, SetupError> {
    let file: NormsFile = toml::from_str(&read(path)?)
        .map_err(|e| SetupError::Input(format!("{}: {e}", path.display())))?;
    if let Err(errors) = file.norms.validate() {
        return Err(SetupError::Input(
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        ));
    }
    store::rules::set_norms(tx, gemeente, &file.norms)?;
    store::rules::delete_area_rules_of(tx, gemeente)?;
    let mut warnings = Vec::new();
    for r in file.area_rules {
        let points: Vec<(f64, f64)> = r.polygon.iter().map(|p| (p[0], p[1])).collect();
        let rule = AreaRule {
            id: avondronde_shared::AreaRuleId::new(),
            gemeente,
            name: r.name,
            area: MultiPolygon(vec![polygon(&points)]),
            window: avondronde_shared::norms::DailyWindow {
                start: r.start,
                end: r.end,
            },
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            bands: r.bands,
            effect: r.effect,
        };
        let found = rule
            .warnings()
            .map_err(|e| SetupError::Input(format!("{}: {e}", rule.name)))?;
        warnings.extend(found.iter().map(|w| format!("{}: {w}", rule.name)));
        add_area_rule(tx, &rule)?;
    }
    bump_config(tx, gemeente)?;
    Ok(warnings)
}

/// Stores one area rule.
pub fn add_area_rule(tx: &Tx, rule: &AreaRule) -> Result<(), SetupError> {
    store::rules::insert_area_rule(tx, rule)?;
    bump_config(tx, rule.gemeente)?;
    Ok(())
}

/// Adds a named place.
pub fn add_place(
    tx: &Tx,
    wijk: WijkId,
    name: &str,
    lat: f64,
    lon: f64,
) -> Result<PlaceId, SetupError> {
    let id = PlaceId::new();
    store::setup::insert_place(tx, id, wijk, name, lat, lon)?;
    let gemeente = store::setup::gemeente_of_wijk(tx, wijk)?;
    bump_config(tx, gemeente)?;
    Ok(id)
}

/// Adds a user; web users get a password, field-only users may have none.
pub fn add_user(
    tx: &Tx,
    gemeente: GemeenteId,
    username: &str,
    role: Role,
    password: Option<&str>,
) -> Result<UserId, SetupError> {
    if username.trim().is_empty() || username.len() > 64 {
        return Err(SetupError::Input("username: 1 to 64 characters".into()));
    }
    if let Some(p) = password
        && p.chars().count() < 12
    {
        return Err(SetupError::Input("password: at least 12 characters".into()));
    }
    let hash = password.map(auth::hash_password).transpose()?;
    let id = UserId::new();
    let stored = store::accounts::insert_user(
        tx,
        &store::accounts::NewUser {
            id,
            gemeente,
            username: username.trim(),
            role,
            password_hash: hash.as_deref(),
            created_at: now_ms(),
        },
    )?;
    if !stored {
        return Err(SetupError::Input(format!("username {username:?} is taken")));
    }
    Ok(id)
}

/// Finds a user id by username.
pub fn user_by_name(tx: &Tx, username: &str) -> Result<UserId, SetupError> {
    store::accounts::user_id_by_name(tx, username)?
        .ok_or_else(|| SetupError::Input(format!("no user {username:?}")))
}

/// A fresh database at `path` with one gemeente (Rotterdam's norms), for unit tests.
#[cfg(test)]
pub(crate) fn test_gemeente_db(path: &std::path::Path) -> (rusqlite::Connection, GemeenteId) {
    let conn = crate::db::open_connection(path).expect("open");
    let g = create_gemeente(
        &Tx::over(&conn),
        "Test",
        "GM0001",
        &avondronde_shared::norms::NormSet::rotterdam(),
    )
    .expect("gemeente");
    (conn, g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Direct;
    use std::path::PathBuf;

    fn example(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples-data")
            .join(name)
    }

    /// A migrated database in memory with gemeente GM0599.
    fn rotterdam() -> (Direct, GemeenteId) {
        let mut store = Direct::in_memory().expect("memory db");
        let g = store
            .transaction(|tx| {
                create_gemeente(tx, "Rotterdam", "GM0599", &NormSet::rotterdam())
                    .map_err(|e| DbError::Domain(e.to_string()))
            })
            .expect("gemeente");
        (store, g)
    }

    /// Runs a set-up step in its own transaction, keeping its error as it is.
    fn run<T: Send>(
        store: &mut Direct,
        f: impl FnOnce(&Tx) -> Result<T, SetupError> + Send,
    ) -> Result<T, SetupError> {
        let mut out = None;
        let kept = store.transaction(|tx| {
            let r = f(tx);
            let failed = r.is_err();
            out = Some(r);
            if failed {
                Err(DbError::Domain("rolled back".into()))
            } else {
                Ok(())
            }
        });
        let r = out.expect("ran");
        if r.is_ok() {
            kept.expect("commit");
        }
        r
    }

    #[test]
    fn the_readme_norms_file_sets_norms_and_an_area_rule_without_warnings() {
        let (mut store, g) = rotterdam();
        let warnings =
            run(&mut store, |tx| set_norms(tx, g, &example("normen.toml"))).expect("valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        let rules = store
            .read(|tx| store::config::area_rules(tx, g))
            .expect("rules");
        assert_eq!(rules.len(), 1);
    }

    #[test]
    fn a_rule_longer_than_three_months_is_stored_with_a_warning() {
        let (mut store, g) = rotterdam();
        let text = std::fs::read_to_string(example("normen.toml"))
            .expect("example")
            .replace("2027-01-31", "2027-06-30");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lang.toml");
        std::fs::write(&path, text).expect("write");
        let warnings = run(&mut store, |tx| set_norms(tx, g, &path)).expect("valid");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn a_norms_file_with_a_typo_says_where() {
        let (mut store, g) = rotterdam();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fout.toml");
        std::fs::write(&path, "[norms]\n\"6-9\" = \"25:00\"\n").expect("write");
        let err = run(&mut store, |tx| set_norms(tx, g, &path))
            .expect_err("25:00 is no time")
            .to_string();
        assert!(err.contains("fout.toml"), "{err}");
    }

    #[test]
    fn wijken_import_from_geojson_with_their_cbs_codes() {
        let (mut store, g) = rotterdam();
        let ids = run(&mut store, |tx| {
            import_wijken(tx, g, &example("wijken.geojson"))
        })
        .expect("import");
        assert_eq!(ids.len(), 1);
        let found = store
            .read(|tx| store::setup::wijk_by_code(tx, "WK059903"))
            .expect("read");
        assert_eq!(found, Some((ids[0], g)));
    }

    #[test]
    fn bad_codes_and_weak_passwords_are_refused_with_a_hint() {
        let mut store = Direct::in_memory().expect("memory db");
        let err = run(&mut store, |tx| {
            create_gemeente(tx, "X", "0599", &NormSet::rotterdam())
        })
        .expect_err("no GM");
        assert!(err.to_string().contains("GM0599"));
        let g = run(&mut store, |tx| {
            create_gemeente(tx, "Rotterdam", "GM0599", &NormSet::rotterdam())
        })
        .expect("gemeente");
        let err = run(&mut store, |tx| {
            add_user(tx, g, "a", Role::Admin, Some("kort"))
        })
        .expect_err("short");
        assert!(err.to_string().contains("12"));
        run(&mut store, |tx| {
            add_user(tx, g, "a", Role::Admin, Some("lang-genoeg-wachtwoord"))
        })
        .expect("ok");
        let err = run(&mut store, |tx| add_user(tx, g, "a", Role::Boa, None)).expect_err("taken");
        assert!(err.to_string().contains("taken"));
        let err = store
            .read(|tx| Ok(user_by_name(tx, "b")))
            .expect("read")
            .expect_err("no user b");
        assert!(err.to_string().contains("no user"), "{err}");
    }
}
