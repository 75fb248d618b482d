//! Where the work happens: the gemeente (which sets the norms), its wijken (CBS code and
//! boundary polygon) and the named places (hangplekken) field workers pick from instead of
//! waiting for a GPS fix.

use geo::{Intersects, MultiPolygon, Point};
use serde::{Deserialize, Serialize};

use crate::ids::{GemeenteId, PlaceId, WijkId};

/// A municipality. It is legally responsible for the approach and sets the norms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gemeente {
    /// Id.
    pub id: GemeenteId,
    /// Name, e.g. "Rotterdam".
    pub name: String,
    /// CBS gemeente code, e.g. "GM0599".
    pub code: String,
}

/// A neighbourhood with its CBS wijk code and boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wijk {
    /// Id.
    pub id: WijkId,
    /// The gemeente it belongs to.
    pub gemeente: GemeenteId,
    /// CBS wijk code: "WK" followed by six digits, e.g. "WK059903".
    pub code: String,
    /// Name, e.g. "Delfshaven".
    pub name: String,
    /// Boundary in WGS84 (x = longitude, y = latitude).
    pub boundary: MultiPolygon<f64>,
}

impl Wijk {
    /// Whether a point lies in the wijk; a point on the boundary counts as inside.
    pub fn contains(&self, point: Point<f64>) -> bool {
        self.boundary.intersects(&point)
    }
}

/// Whether `code` is a well-formed CBS wijk code ("WK" and six digits).
pub fn is_wijk_code(code: &str) -> bool {
    code.len() == 8 && code.starts_with("WK") && code[2..].bytes().all(|b| b.is_ascii_digit())
}

/// A named place where groups are often found (hangplek).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// Id.
    pub id: PlaceId,
    /// The wijk it lies in.
    pub wijk: WijkId,
    /// Name as field workers know it, e.g. "Speeltuin Mathenesserplein".
    pub name: String,
    /// Latitude (WGS84).
    pub lat: f64,
    /// Longitude (WGS84).
    pub lon: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wijk_codes_are_wk_and_six_digits() {
        assert!(is_wijk_code("WK059903"));
        assert!(!is_wijk_code("BU05990301"));
        assert!(!is_wijk_code("WK05990"));
        assert!(!is_wijk_code("wk059903"));
        assert!(!is_wijk_code("WK05990é"));
    }
}
