//! A gemeente as it is set up and imported: the `gemeente` row (with its norms), its
//! `wijk` rows (boundaries as GeoJSON-like JSON) and its `place` rows (hangplekken); the
//! `user` rows the set-up creates are kept by [`super::accounts`]. Owns the inserts and
//! look-ups of [`crate::setup`] and the wijk upload of [`crate::admin_rules`]; which codes
//! are valid and when the config version moves are decided there, not here.

use avondronde_shared::norms::NormSet;
use avondronde_shared::{GemeenteId, PlaceId, WijkId};
use geo::MultiPolygon;
use rusqlite::{OptionalExtension, params};

use super::accounts::change;
use super::{Backend, Tx};
use crate::db::DbError;

/// Stores a new gemeente with its norms. On PostgreSQL the transaction becomes the new
/// gemeente's first (so that row-level security lets its rows be written), and the
/// gemeente gets its own `feedback` counter (SQLite has one, made by its migration).
pub fn insert_gemeente(
    tx: &Tx,
    id: GemeenteId,
    name: &str,
    code: &str,
    norms: &NormSet,
) -> Result<(), DbError> {
    let norms = serde_json::to_string(norms)?;
    // Before borrowing the backend: `enter` borrows it itself.
    tx.enter(id)?;
    match tx.backend() {
        Backend::Sqlite(c) => {
            c.execute(
                "INSERT INTO gemeente (id, name, code, norms) VALUES (?1, ?2, ?3, ?4)",
                params![id, name, code, norms],
            )?;
        }
        Backend::Postgres(mut t) => {
            t.execute(
                "INSERT INTO gemeente (id, name, code, norms) VALUES ($1, $2, $3, $4)",
                &[&id, &name, &code, &norms],
            )?;
            t.execute(
                "INSERT INTO counter (gemeente_id, name, value) VALUES ($1, 'feedback', 0)",
                &[&id],
            )?;
        }
    }
    Ok(())
}

/// The gemeente with this CBS code, if any. On PostgreSQL (where the set-up commands know
/// a gemeente by its code only) the transaction becomes that gemeente's from here on.
pub fn gemeente_by_code(tx: &Tx, code: &str) -> Result<Option<GemeenteId>, DbError> {
    let found: Option<GemeenteId> = match tx.backend() {
        Backend::Sqlite(c) => c
            .query_row(
                "SELECT id FROM gemeente WHERE code = ?1",
                params![code],
                |r| r.get(0),
            )
            .optional()?,
        Backend::Postgres(mut t) => t
            .query_one("SELECT gemeente_id_by_code($1)", &[&code])?
            .try_get(0)?,
    };
    if let Some(g) = found {
        tx.enter(g)?;
    }
    Ok(found)
}

/// Every gemeente, in the order of their CBS codes (on PostgreSQL through
/// `gemeente_ids()`, the one cross-tenant list, which holds the ids only).
pub fn gemeenten(tx: &Tx) -> Result<Vec<GemeenteId>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .prepare("SELECT id FROM gemeente ORDER BY code")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?),
        Backend::Postgres(mut t) => t
            .query("SELECT * FROM gemeente_ids()", &[])?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect(),
    }
}

/// Stores a new wijk with its boundary.
pub fn insert_wijk(
    tx: &Tx,
    id: WijkId,
    gemeente: GemeenteId,
    code: &str,
    name: &str,
    boundary: &MultiPolygon<f64>,
) -> Result<(), DbError> {
    let boundary = serde_json::to_string(boundary)?;
    change(
        tx,
        "INSERT INTO wijk (id, gemeente_id, code, name, boundary) VALUES (?1, ?2, ?3, ?4, ?5)",
        "INSERT INTO wijk (id, gemeente_id, code, name, boundary) VALUES ($1, $2, $3, $4, $5)",
        params![id, gemeente, code, name, boundary],
        &[&id, &gemeente, &code, &name, &boundary],
    )?;
    Ok(())
}

/// The wijk with this CBS code and the gemeente it belongs to, if any (in any gemeente:
/// wijk codes are unique over all of them, and an upload must learn that a code is another
/// gemeente's). On PostgreSQL through `wijk_by_code()`, which answers for one exact code.
pub fn wijk_by_code(tx: &Tx, code: &str) -> Result<Option<(WijkId, GemeenteId)>, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c
            .query_row(
                "SELECT id, gemeente_id FROM wijk WHERE code = ?1",
                params![code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?),
        Backend::Postgres(mut t) => t
            .query_opt("SELECT id, gemeente_id FROM wijk_by_code($1)", &[&code])?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose(),
    }
}

/// Gives a wijk a new name and boundary (its contacts, places and coordinators stay).
pub fn update_wijk(
    tx: &Tx,
    id: WijkId,
    name: &str,
    boundary: &MultiPolygon<f64>,
) -> Result<(), DbError> {
    let boundary = serde_json::to_string(boundary)?;
    change(
        tx,
        "UPDATE wijk SET name = ?1, boundary = ?2 WHERE id = ?3",
        "UPDATE wijk SET name = $1, boundary = $2 WHERE id = $3",
        params![name, boundary, id],
        &[&name, &boundary, &id],
    )?;
    Ok(())
}

/// The gemeente a wijk belongs to (an error if there is no such wijk).
pub fn gemeente_of_wijk(tx: &Tx, wijk: WijkId) -> Result<GemeenteId, DbError> {
    match tx.backend() {
        Backend::Sqlite(c) => Ok(c.query_row(
            "SELECT gemeente_id FROM wijk WHERE id = ?1",
            params![wijk],
            |r| r.get(0),
        )?),
        Backend::Postgres(mut t) => Ok(t
            .query_one("SELECT gemeente_id FROM wijk WHERE id = $1", &[&wijk])?
            .try_get(0)?),
    }
}

/// Stores a named place (hangplek) in a wijk. On PostgreSQL the row takes its wijk's
/// gemeente; an unknown wijk (or one of another gemeente) is an error, as SQLite's foreign
/// key makes it.
pub fn insert_place(
    tx: &Tx,
    id: PlaceId,
    wijk: WijkId,
    name: &str,
    lat: f64,
    lon: f64,
) -> Result<(), DbError> {
    let stored = change(
        tx,
        "INSERT INTO place (id, wijk_id, name, lat, lon) VALUES (?1, ?2, ?3, ?4, ?5)",
        "INSERT INTO place (id, gemeente_id, wijk_id, name, lat, lon)
         SELECT $1::text, w.gemeente_id, w.id, $3::text, $4::double precision,
                $5::double precision
         FROM wijk w WHERE w.id = $2::text",
        params![id, wijk, name, lat, lon],
        &[&id, &wijk, &name, &lat, &lon],
    )?;
    if stored == 0 {
        return Err(DbError::Domain("no such wijk".into()));
    }
    Ok(())
}
