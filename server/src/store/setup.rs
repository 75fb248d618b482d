//! A gemeente as it is set up and imported: the `gemeente` row (with its norms), its
//! `wijk` rows (boundaries as GeoJSON-like JSON), its `place` rows (hangplekken), and the
//! `user` rows the set-up creates. Owns the inserts and look-ups of [`crate::setup`] and
//! the wijk upload of [`crate::admin_rules`]; which codes are valid, what a taken username
//! means and when the config version moves are decided there, not here.

use avondronde_shared::area::Place;
use avondronde_shared::norms::NormSet;
use avondronde_shared::{GemeenteId, PlaceId, Role, UserId, WijkId};
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
    tx.conn().execute(
        "INSERT INTO gemeente (id, name, code, norms) VALUES (?1, ?2, ?3, ?4)",
        params![id, name, code, serde_json::to_string(norms)?],
    )?;
    Ok(())
}

/// The gemeente with this CBS code, if any.
pub fn gemeente_by_code(tx: &Tx, code: &str) -> Result<Option<GemeenteId>, DbError> {
    Ok(tx
        .conn()
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
        .conn()
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
    tx.conn().execute(
        "INSERT INTO wijk (id, gemeente_id, code, name, boundary) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, gemeente, code, name, serde_json::to_string(boundary)?],
    )?;
    Ok(())
}

/// The wijk with this CBS code and the gemeente it belongs to, if any (in any gemeente).
pub fn wijk_by_code(tx: &Tx, code: &str) -> Result<Option<(WijkId, GemeenteId)>, DbError> {
    Ok(tx
        .conn()
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
    tx.conn().execute(
        "UPDATE wijk SET name = ?1, boundary = ?2 WHERE id = ?3",
        params![name, serde_json::to_string(boundary)?, id],
    )?;
    Ok(())
}

/// The gemeente a wijk belongs to (an error if there is no such wijk).
pub fn gemeente_of_wijk(tx: &Tx, wijk: WijkId) -> Result<GemeenteId, DbError> {
    Ok(tx.conn().query_row(
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
    tx.conn().execute(
        "INSERT INTO place (id, wijk_id, name, lat, lon) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, wijk, name, lat, lon],
    )?;
    Ok(())
}

/// The places in a gemeente's wijken, by name.
pub fn places_of_gemeente(tx: &Tx, gemeente: GemeenteId) -> Result<Vec<Place>, DbError> {
    let mut stmt = tx.conn().prepare(
        "SELECT p.id, p.wijk_id, p.name, p.lat, p.lon FROM place p JOIN wijk w ON w.id = p.wijk_id
         WHERE w.gemeente_id = ?1 ORDER BY p.name",
    )?;
    let rows = stmt.query_map(params![gemeente], |r| {
        Ok(Place {
            id: r.get(0)?,
            wijk: r.get(1)?,
            name: r.get(2)?,
            lat: r.get(3)?,
            lon: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A user as the set-up creates it.
pub struct NewUser<'a> {
    /// Its id.
    pub id: UserId,
    /// Its gemeente.
    pub gemeente: GemeenteId,
    /// Login name, as it is to be stored.
    pub username: &'a str,
    /// Role.
    pub role: Role,
    /// Password hash, for web users.
    pub password_hash: Option<&'a str>,
    /// When, in milliseconds since the epoch.
    pub created_at: i64,
}

/// Stores a new user. `Ok(false)` if a constraint refused the row (the username is
/// taken); nothing is stored then.
pub fn insert_user(tx: &Tx, user: &NewUser<'_>) -> Result<bool, DbError> {
    let done = tx.conn().execute(
        "INSERT INTO user (id, gemeente_id, username, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            user.id,
            user.gemeente,
            user.username,
            user.role.code(),
            user.password_hash,
            user.created_at
        ],
    );
    match done {
        Ok(_) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// The id of the user with this username, if any.
pub fn user_id_by_name(tx: &Tx, username: &str) -> Result<Option<UserId>, DbError> {
    Ok(tx
        .conn()
        .query_row(
            "SELECT id FROM user WHERE username = ?1",
            params![username],
            |r| r.get(0),
        )
        .optional()?)
}
