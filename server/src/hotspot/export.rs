//! Exports of the hotspot map for the municipality's own tools: a CSV that opens cleanly
//! in Dutch Excel (UTF-8 with BOM, `;` between fields, decimal comma, CRLF), with the cell
//! centres in RD New (EPSG:28992, what municipal GIS uses) and the CBS wijk code; and a
//! GeoJSON FeatureCollection (WGS84, RFC 7946) that QGIS opens as a layer.
//!
//! Both are made from the same [`view`](super::view) types as the map, so they carry the
//! same protected, shown counts, whole-number z, p and q with one decimal, and nothing more.

use std::fmt::Write;
use std::sync::LazyLock;

use proj4rs::proj::Proj;

use super::view::{CellCollection, Direction};

/// EPSG:28992 (Amersfoort / RD New) with the classic 7-parameter datum shift: good to about
/// a metre, plenty for the centre of a 75 m cell (RDNAPTRANS grids would give centimetres).
const RD_NEW: &str = "+proj=sterea +lat_0=52.1561605555556 +lon_0=5.38763888888889 \
    +k=0.9999079 +x_0=155000 +y_0=463000 +ellps=bessel \
    +towgs84=565.417,50.3319,465.552,-0.398957,0.343988,-1.8774,4.0725 +units=m +no_defs";
const WGS84: &str = "+proj=longlat +ellps=WGS84 +datum=WGS84 +no_defs";

static PROJECTIONS: LazyLock<Option<(Proj, Proj)>> = LazyLock::new(|| {
    Some((
        Proj::from_proj_string(WGS84).ok()?,
        Proj::from_proj_string(RD_NEW).ok()?,
    ))
});

/// WGS84 longitude/latitude in degrees to RD New x/y in metres.
pub fn to_rd(lon: f64, lat: f64) -> Option<(f64, f64)> {
    let (wgs84, rd) = PROJECTIONS.as_ref()?;
    let mut point = (lon.to_radians(), lat.to_radians(), 0.0);
    proj4rs::transform::transform(wgs84, rd, &mut point).ok()?;
    Some((point.0, point.1))
}

/// RD New x/y in metres to WGS84 longitude/latitude in degrees (for wijk files that
/// municipal GIS exports in RD New, issue 12).
pub fn from_rd(x: f64, y: f64) -> Option<(f64, f64)> {
    let (wgs84, rd) = PROJECTIONS.as_ref()?;
    let mut point = (x, y, 0.0);
    proj4rs::transform::transform(rd, wgs84, &mut point).ok()?;
    Some((point.0.to_degrees(), point.1.to_degrees()))
}

/// A number with a decimal comma and `decimals` decimals.
pub(super) fn comma(x: f64, decimals: usize) -> String {
    format!("{x:.decimals$}").replace('.', ",")
}

/// A CSV field: quoted when it holds a separator, quote or line break.
pub(super) fn field(s: &str) -> String {
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn direction_nl(d: Direction) -> &'static str {
    match d {
        Direction::Up => "hoger",
        Direction::Down => "lager",
        Direction::Same => "gelijk",
        Direction::Unknown => "onbekend",
    }
}

/// The cells as CSV for Dutch Excel.
pub fn csv(cells: &CellCollection) -> String {
    let mut out = String::from("\u{feff}");
    let mut header = vec![
        "wijkcode",
        "wijknaam",
        "h3_cel",
        "resolutie",
        "rd_x",
        "rd_y",
        "maat",
        "aantal",
        "z_score",
        "p_waarde",
        "q_waarde_fdr",
        "gi_bin",
        "klasse",
    ];
    if cells.compare {
        header.extend([
            "aantal_voor",
            "z_score_voor",
            "gi_bin_voor",
            "verandering",
            "verandering_procent",
        ]);
    }
    out.push_str(&header.join(";"));
    out.push_str("\r\n");
    let measure = match cells.measure.as_str() {
        "contacts" => "contacten",
        _ => "kinderen",
    };
    for f in &cells.features {
        let p = &f.properties;
        let (lon, lat) = p
            .cell
            .parse::<h3o::CellIndex>()
            .map(super::view::cell_centre)
            .unwrap_or((f64::NAN, f64::NAN));
        let (x, y) = to_rd(lon, lat).unwrap_or((f64::NAN, f64::NAN));
        let mut row = vec![
            field(&cells.wijk.code),
            field(&cells.wijk.name),
            p.cell.clone(),
            cells.resolution.to_string(),
            comma(x, 1),
            comma(y, 1),
            measure.to_owned(),
            p.count.to_string(),
            // One decimal each: what the API publishes (issue 9).
            comma(p.z, 0),
            comma(p.p, 1),
            comma(p.q, 1),
            p.gi_bin.to_string(),
            field(&p.label),
        ];
        if cells.compare {
            row.extend([
                p.before_count.map(|c| c.to_string()).unwrap_or_default(),
                p.before_z.map(|z| comma(z, 1)).unwrap_or_default(),
                p.before_gi_bin.map(|b| b.to_string()).unwrap_or_default(),
                p.change.map(direction_nl).unwrap_or_default().to_owned(),
                p.change_percent.map(|v| v.to_string()).unwrap_or_default(),
            ]);
        }
        let _ = write!(out, "{}\r\n", row.join(";"));
    }
    out
}

/// A file name for an export: `hotspots-WK059903-r10-2026-10-01-2026-11-30.csv`.
pub fn file_name(
    cells: &CellCollection,
    from: Option<&str>,
    to: Option<&str>,
    ext: &str,
) -> String {
    let stem = format!("hotspots-{}-r{}", cells.wijk.code, cells.resolution);
    dated_name(stem, from, to, ext)
}

/// `stem`, then the period's dates, then `.ext`; anything but letters, digits and `-`
/// dropped, so that a name from a query parameter cannot leave the download folder.
pub(super) fn dated_name(stem: String, from: Option<&str>, to: Option<&str>, ext: &str) -> String {
    let mut name = stem;
    for d in [from, to].into_iter().flatten() {
        name.push('-');
        name.push_str(d);
    }
    name.retain(|c| c.is_ascii_alphanumeric() || c == '-');
    format!("{name}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A date from the query string is part of the download's name: whatever it holds,
    /// the name keeps only letters, digits and `-`, so no path or header can be smuggled.
    #[test]
    fn an_export_name_drops_everything_but_letters_digits_and_dashes_from_the_dates() {
        let name = dated_name(
            "hotspots-WK059903-r10".into(),
            Some("../../etc/passwd"),
            Some("2026-11-30\r\nSet-Cookie: x=1\";"),
            "csv",
        );
        assert_eq!(
            name,
            "hotspots-WK059903-r10-etcpasswd-2026-11-30Set-Cookiex1.csv"
        );
    }

    /// The RD origin (Onze Lieve Vrouwetoren, Amersfoort; WGS84 as in the usual RD
    /// approximation formulas) and a point in Rotterdam-West.
    #[test]
    fn rd_new_matches_known_points() {
        let (x, y) = to_rd(5.387_206_21, 52.155_174_40).expect("projects");
        assert!(
            (x - 155_000.0).abs() < 1.0 && (y - 463_000.0).abs() < 1.0,
            "{x} {y}"
        );
        // Mathenesserplein, Rotterdam.
        let (x, y) = to_rd(4.4447, 51.9122).expect("projects");
        assert!((88_000.0..95_000.0).contains(&x), "{x}");
        assert!((435_000.0..440_000.0).contains(&y), "{y}");
        // And back again, to within a few centimetres.
        let (lon, lat) = from_rd(x, y).expect("back");
        assert!(
            (lon - 4.4447).abs() < 1e-6 && (lat - 51.9122).abs() < 1e-6,
            "{lon} {lat}"
        );
    }

    #[test]
    fn numbers_use_a_decimal_comma() {
        assert_eq!(comma(91234.56, 1), "91234,6");
        assert_eq!(comma(-1.5, 3), "-1,500");
        assert_eq!(field("a;b"), "\"a;b\"");
    }
}
