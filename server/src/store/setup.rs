//! A gemeente as it is set up and imported: the `gemeente` row (with its norms), its
//! `wijk` rows (boundaries as GeoJSON-like JSON) and its `place` rows (hangplekken); the
//! `user` rows the set-up creates are kept by [`super::accounts`]. Owns the inserts and
//! look-ups of [`crate::setup`] and the wijk upload of [`crate::admin_rules`]; which codes
//! are valid and when the config version moves are decided there, not here.

use avondronde_shared::norms::NormSet;
use avondronde_shared::{GemeenteId, PlaceId, WijkId};
use geo::MultiPolygon;
use rusqlite::{OptionalExtension, params};

use super::Tx;
use crate::db::DbError;

/// Stores a new gemeente with its norms.
pub fn insert_gemeente(
    tx: &Tx,
    id: GemeenteId,
    name: &str,
    code: &str,
    norms: &NormSet,
) -> Result<(), DbError> {
    tx.conn()?.execute(
        "INSERT INTO gemeente (id, name, code, norms) VALUES (?1, ?2, ?3, ?4)",
        params![id, name, code, serde_json::to_string(norms)?],
    )?;
    Ok(())
}

/// The gemeente with this CBS code, if any.
pub fn gemeente_by_code(tx: &Tx, code: &str) -> Result<Option<GemeenteId>, DbError> {
    Ok(tx
        .conn()?
        .query_row(
            "SELECT id FROM gemeente WHERE code = ?1",
            params![code],
            |r| r.get(0),
        )
        .optional()?)
}

/// Every gemeente, in the order of their CBS codes.
pub fn gemeenten(tx: &Tx) -> Result<Vec<GemeenteId>, DbError> {
    Ok(tx
        .conn()?
        .prepare("SELECT id FROM gemeente ORDER BY code")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
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
    tx.conn()?.execute(
        "INSERT INTO wijk (id, gemeente_id, code, name, boundary) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, gemeente, code, name, serde_json::to_string(boundary)?],
    )?;
    Ok(())
}

/// The wijk with this CBS code and the gemeente it belongs to, if any (in any gemeente).
pub fn wijk_by_code(tx: &Tx, code: &str) -> Result<Option<(WijkId, GemeenteId)>, DbError> {
    Ok(tx
        .conn()?
        .query_row(
            "SELECT id, gemeente_id FROM wijk WHERE code = ?1",
            params![code],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Gives a wijk a new name and boundary (its contacts, places and coordinators stay).
pub fn update_wijk(
    tx: &Tx,
    id: WijkId,
    name: &str,
    boundary: &MultiPolygon<f64>,
) -> Result<(), DbError> {
    tx.conn()?.execute(
        "UPDATE wijk SET name = ?1, boundary = ?2 WHERE id = ?3",
        params![name, serde_json::to_string(boundary)?, id],
    )?;
    Ok(())
}

/// The gemeente a wijk belongs to (an error if there is no such wijk).
pub fn gemeente_of_wijk(tx: &Tx, wijk: WijkId) -> Result<GemeenteId, DbError> {
    Ok(tx.conn()?.query_row(
        "SELECT gemeente_id FROM wijk WHERE id = ?1",
        params![wijk],
        |r| r.get(0),
    )?)
}

/// Stores a named place (hangplek) in a wijk.
pub fn insert_place(
    tx: &Tx,
    id: PlaceId,
    wijk: WijkId,
    name: &str,
    lat: f64,
    lon: f64,
) -> Result<(), DbError> {
    tx.conn()?.execute(
        "INSERT INTO place (id, wijk_id, name, lat, lon) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, wijk, name, lat, lon],
    )?;
    Ok(())
}
