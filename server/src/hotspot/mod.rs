//! The coordinator's hotspot map (issue 6): where and when children are out late in a
//! wijk, as Getis–Ord Gi* hotspots on H3 cells, with filters, a before/after comparison,
//! charts and exports. Every count a coordinator sees is protected with the cell-key method
//! (issue 9, [`avondronde_shared::disclosure`]), and a coordinator sees only the wijken
//! assigned to them ([`scope`]).
//!
//! The parts, in the order a request passes them:
//! - [`filter`]: the query a coordinator can ask, parsed into masks (pure);
//! - [`index`]: each wijk's contacts as in-memory columns, kept in step with the ledger,
//!   and the wijk's study areas (H3 cells by centroid containment, with ring neighbours);
//! - [`scope`]: which wijken a coordinator may see; [`settings`]: the gemeente's
//!   perturbation table;
//! - [`analysis`]: one pass over the columns, every aggregate protected with its cell key
//!   as a sum of atoms (`atoms` says which records form one; [`analysis::protected_cells`]
//!   gives the cells), then
//!   [`avondronde_shared::hotspot::analyse`] on the protected counts;
//! - [`view`]: the response types: protected counts shown as 0, "<10" or rounded to 5,
//!   whole-number z and p with one decimal;
//! - [`export`]: CSV for Dutch Excel (RD New coordinates) and GeoJSON for QGIS;
//! - [`api`]: the HTTP handlers (coordinators of the wijk only);
//! - [`page`]: the `/kaart` page and the map library it serves itself;
//! - [`trend`]: emerging hot spots (issue 15), a space-time cube built from the map's
//!   protected per-cell counts, its classes, API and exports.

pub mod analysis;
pub mod api;
mod atoms;
pub mod export;
pub mod filter;
pub mod index;
pub mod page;
pub mod scope;
pub mod settings;
pub mod trend;
pub mod trend_api;
pub mod view;

pub use index::Indexes;

#[cfg(test)]
pub(crate) mod test_support {
    //! Fixtures for the hotspot tests: the demo's Delfshaven boundary and contacts at a
    //! given instant and cell.

    use avondronde_shared::area::Wijk;
    use avondronde_shared::{GemeenteId, WijkId};
    use geo::MultiPolygon;

    use super::index::RawContact;

    /// Delfshaven as the demo draws it.
    pub fn delfshaven() -> Wijk {
        Wijk {
            id: WijkId::new(),
            gemeente: GemeenteId::new(),
            code: "WK059903".into(),
            name: "Delfshaven".into(),
            boundary: MultiPolygon(vec![crate::setup::polygon(&[
                (4.4150, 51.9020),
                (4.4380, 51.8995),
                (4.4620, 51.9030),
                (4.4660, 51.9125),
                (4.4610, 51.9205),
                (4.4420, 51.9268),
                (4.4200, 51.9235),
                (4.4130, 51.9120),
                (4.4150, 51.9020),
            ])]),
        }
    }

    /// The default perturbation table of the cell-key method.
    pub fn table() -> avondronde_shared::disclosure::Ptable {
        avondronde_shared::disclosure::Ptable::new(
            avondronde_shared::disclosure::PtableParams::default(),
        )
        .expect("default table")
    }

    /// The day number of a date, as the filters count days.
    pub fn day(y: i16, m: i8, d: i8) -> i32 {
        super::filter::day_number(jiff::civil::Date::constant(y, m, d))
    }

    /// A contact of one 10–11-year-old at `utc` in resolution-10 cell `cell_r10`.
    pub fn raw_at(seq: i64, utc: &str, cell_r10: u64) -> RawContact {
        let at: jiff::Timestamp = utc.parse().expect("timestamp");
        RawContact {
            seq,
            observed_at: at.as_second(),
            counts: [0, 0, 1, 0, 0],
            brought_home: 0,
            behaviours: 0,
            past_norm: false,
            cell_r9: None,
            cell_r10: Some(cell_r10),
            weight: 1,
            key: avondronde_shared::disclosure::RecordKey((seq as u32).wrapping_mul(0x9e37_79b9)),
        }
    }
}
