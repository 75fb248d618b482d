//! Setting a gemeente up: gemeente, wijken (from GeoJSON), norms and area rules (from a
//! TOML file), users, enrolment codes and device revocation. The `admin` subcommand and
//! the demo both use these functions, so the demo exercises the real paths.

use std::path::Path;

use avondronde_shared::area::is_wijk_code;
use avondronde_shared::norms::{AreaRule, NormSet};
use avondronde_shared::{GemeenteId, PlaceId, Role, UserId, WijkId};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;

use crate::auth;
use crate::db::{DbError, now_ms};
use crate::state::bump_config;

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

impl From<rusqlite::Error> for SetupError {
    fn from(e: rusqlite::Error) -> Self {
        SetupError::Db(DbError::Sqlite(e))
    }
}

fn read(path: &Path) -> Result<String, SetupError> {
    std::fs::read_to_string(path).map_err(|source| SetupError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Creates a gemeente with the given norms.
pub fn create_gemeente(
    conn: &Connection,
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
    conn.execute(
        "INSERT INTO gemeente (id, name, code, norms) VALUES (?1, ?2, ?3, ?4)",
        params![
            id.to_string(),
            name,
            code,
            serde_json::to_string(norms).map_err(DbError::Json)?
        ],
    )?;
    Ok(id)
}

/// Finds a gemeente by CBS code.
pub fn gemeente_by_code(conn: &Connection, code: &str) -> Result<GemeenteId, SetupError> {
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM gemeente WHERE code = ?1",
            params![code],
            |r| r.get(0),
        )
        .optional()?;
    id.and_then(|s| s.parse().ok())
        .ok_or_else(|| SetupError::Input(format!("no gemeente with code {code}; create it first")))
}

/// Adds a wijk with its boundary.
pub fn create_wijk(
    conn: &Connection,
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
    conn.execute(
        "INSERT INTO wijk (id, gemeente_id, code, name, boundary) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id.to_string(),
            gemeente.to_string(),
            code,
            name,
            serde_json::to_string(boundary).map_err(DbError::Json)?
        ],
    )?;
    bump_config(&crate::store::Tx::legacy(conn), gemeente)?;
    Ok(id)
}

/// Imports wijken from a GeoJSON FeatureCollection (e.g. the CBS wijk file), read by the
/// same parser as the web admin ([`crate::admin_rules::parse_wijken`]): the code in
/// `wijkcode`/`WK_CODE`, the name in `wijknaam`/`WK_NAAM`, Polygon or MultiPolygon in
/// WGS84 or RD New.
pub fn import_wijken(
    conn: &Connection,
    gemeente: GemeenteId,
    path: &Path,
) -> Result<Vec<WijkId>, SetupError> {
    let text = read(path)?;
    let parsed = crate::admin_rules::parse_wijken(&text)
        .map_err(|e| SetupError::Input(format!("{}: {e}", path.display())))?;
    parsed
        .iter()
        .map(|w| create_wijk(conn, gemeente, &w.code, &w.name, &w.boundary))
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
pub fn set_norms(
    conn: &Connection,
    gemeente: GemeenteId,
    path: &Path,
) -> Result<Vec<String>, SetupError> {
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
    conn.execute(
        "UPDATE gemeente SET norms = ?1 WHERE id = ?2",
        params![
            serde_json::to_string(&file.norms).map_err(DbError::Json)?,
            gemeente.to_string()
        ],
    )?;
    conn.execute(
        "DELETE FROM area_rule WHERE gemeente_id = ?1",
        params![gemeente.to_string()],
    )?;
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
        add_area_rule(conn, &rule)?;
    }
    bump_config(&crate::store::Tx::legacy(conn), gemeente)?;
    Ok(warnings)
}

/// Stores one area rule.
pub fn add_area_rule(conn: &Connection, rule: &AreaRule) -> Result<(), SetupError> {
    conn.execute(
        "INSERT INTO area_rule (id, gemeente_id, rule) VALUES (?1, ?2, ?3)",
        params![
            rule.id.to_string(),
            rule.gemeente.to_string(),
            serde_json::to_string(rule).map_err(DbError::Json)?
        ],
    )?;
    bump_config(&crate::store::Tx::legacy(conn), rule.gemeente)?;
    Ok(())
}

/// Adds a named place.
pub fn add_place(
    conn: &Connection,
    wijk: WijkId,
    name: &str,
    lat: f64,
    lon: f64,
) -> Result<PlaceId, SetupError> {
    let id = PlaceId::new();
    conn.execute(
        "INSERT INTO place (id, wijk_id, name, lat, lon) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id.to_string(), wijk.to_string(), name, lat, lon],
    )?;
    let gemeente: String = conn.query_row(
        "SELECT gemeente_id FROM wijk WHERE id = ?1",
        params![wijk.to_string()],
        |r| r.get(0),
    )?;
    if let Ok(g) = gemeente.parse() {
        bump_config(&crate::store::Tx::legacy(conn), g)?;
    }
    Ok(id)
}

/// Adds a user; web users get a password, field-only users may have none.
pub fn add_user(
    conn: &Connection,
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
    conn.execute(
        "INSERT INTO user (id, gemeente_id, username, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id.to_string(), gemeente.to_string(), username.trim(), role.code(), hash, now_ms()],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            SetupError::Input(format!("username {username:?} is taken"))
        }
        other => other.into(),
    })?;
    Ok(id)
}

/// Finds a user id by username.
pub fn user_by_name(conn: &Connection, username: &str) -> Result<UserId, SetupError> {
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM user WHERE username = ?1",
            params![username],
            |r| r.get(0),
        )
        .optional()?;
    id.and_then(|s| s.parse().ok())
        .ok_or_else(|| SetupError::Input(format!("no user {username:?}")))
}

/// A fresh database at `path` with one gemeente (Rotterdam's norms), for unit tests.
#[cfg(test)]
pub(crate) fn test_gemeente_db(path: &std::path::Path) -> (Connection, GemeenteId) {
    let conn = crate::db::open_connection(path).expect("open");
    let g = create_gemeente(
        &conn,
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
    use std::path::PathBuf;

    fn example(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples-data")
            .join(name)
    }

    fn conn() -> Connection {
        let c = Connection::open_in_memory().expect("memory db");
        c.execute_batch(include_str!("migrations/001_init.sql"))
            .expect("schema");
        c
    }

    #[test]
    fn the_readme_norms_file_sets_norms_and_an_area_rule_without_warnings() {
        let c = conn();
        let g =
            create_gemeente(&c, "Rotterdam", "GM0599", &NormSet::rotterdam()).expect("gemeente");
        let warnings = set_norms(&c, g, &example("normen.toml")).expect("norms file is valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        let rules: i64 = c
            .query_row("SELECT COUNT(*) FROM area_rule", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rules, 1);
    }

    #[test]
    fn a_rule_longer_than_three_months_is_stored_with_a_warning() {
        let c = conn();
        let g =
            create_gemeente(&c, "Rotterdam", "GM0599", &NormSet::rotterdam()).expect("gemeente");
        let text = std::fs::read_to_string(example("normen.toml"))
            .expect("example")
            .replace("2027-01-31", "2027-06-30");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lang.toml");
        std::fs::write(&path, text).expect("write");
        let warnings = set_norms(&c, g, &path).expect("valid");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn a_norms_file_with_a_typo_says_where() {
        let c = conn();
        let g =
            create_gemeente(&c, "Rotterdam", "GM0599", &NormSet::rotterdam()).expect("gemeente");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fout.toml");
        std::fs::write(&path, "[norms]\n\"6-9\" = \"25:00\"\n").expect("write");
        let err = set_norms(&c, g, &path)
            .expect_err("25:00 is no time")
            .to_string();
        assert!(err.contains("fout.toml"), "{err}");
    }

    #[test]
    fn wijken_import_from_geojson_with_their_cbs_codes() {
        let c = conn();
        let g =
            create_gemeente(&c, "Rotterdam", "GM0599", &NormSet::rotterdam()).expect("gemeente");
        let ids = import_wijken(&c, g, &example("wijken.geojson")).expect("import");
        assert_eq!(ids.len(), 1);
        let code: String = c
            .query_row("SELECT code FROM wijk", [], |r| r.get(0))
            .expect("code");
        assert_eq!(code, "WK059903");
    }

    #[test]
    fn bad_codes_and_weak_passwords_are_refused_with_a_hint() {
        let c = conn();
        let err = create_gemeente(&c, "X", "0599", &NormSet::rotterdam()).expect_err("no GM");
        assert!(err.to_string().contains("GM0599"));
        let g =
            create_gemeente(&c, "Rotterdam", "GM0599", &NormSet::rotterdam()).expect("gemeente");
        let err = add_user(&c, g, "a", Role::Admin, Some("kort")).expect_err("short");
        assert!(err.to_string().contains("12"));
        add_user(&c, g, "a", Role::Admin, Some("lang-genoeg-wachtwoord")).expect("ok");
        let err = add_user(&c, g, "a", Role::Boa, None).expect_err("taken");
        assert!(err.to_string().contains("taken"));
    }
}
