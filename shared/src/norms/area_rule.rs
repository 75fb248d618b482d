//! Area rules (such as a burgemeestersbevel): where, when and for whom a gemeente's rule
//! applies, and the checks a coordinator sees before saving one. Kept apart from the norm
//! engine because a rule is data with its own validation; the engine only decides which
//! applicable rule wins for a band.

use geo::{Intersects, MultiPolygon, Point};
use jiff::civil::{Date, DateTime, Time};
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

use super::Severity;
use super::text::{date_nl, hhmm};
use crate::contact::AgeBand;
use crate::ids::{AreaRuleId, GemeenteId};
use crate::time::amsterdam_ref;
use crate::wire_enum::wire_enum;

wire_enum! {
    /// What an area rule means for the field worker who meets children in the area.
    pub enum AreaEffect {
        /// Burgemeestersbevel: the children may not be there without a parent.
        PresenceBanned = "presence_banned" => "aanwezigheid verboden zonder ouder",
        /// Burgemeestersbevel addressed to the parents: they must see to it.
        ParentsOrdered = "parents_ordered" => "ouders opgedragen toezicht te houden",
        /// Pay extra attention in this area.
        ExtraAttention = "extra_attention" => "extra aandacht",
        /// Report contacts in this area to the meldpunt.
        ReportToMeldpunt = "report_to_meldpunt" => "melden bij meldpunt",
    }
}

impl AreaEffect {
    /// How urgent the effect is on its own. A code this build does not know is shown as a
    /// warning: it is not ignored, and not escalated on a guess either.
    pub fn severity(&self) -> Severity {
        match self {
            AreaEffect::PresenceBanned | AreaEffect::ParentsOrdered => Severity::Alert,
            AreaEffect::ExtraAttention | AreaEffect::ReportToMeldpunt | AreaEffect::Other(_) => {
                Severity::Warning
            }
        }
    }
}

/// A daily time window in Europe/Amsterdam civil time, e.g. 20:00–06:00.
///
/// The start is inclusive and the end exclusive. If `end` is before `start` the window
/// crosses midnight; if they are equal it lasts the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DailyWindow {
    /// When the window opens each day.
    pub start: Time,
    /// When it closes (on the next day if before `start`).
    pub end: Time,
}

impl DailyWindow {
    /// Whether the window runs past midnight.
    pub fn crosses_midnight(&self) -> bool {
        self.end < self.start
    }

    /// Whether a local time of day lies in the window.
    pub fn contains(&self, t: Time) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else if self.start > self.end {
            t >= self.start || t < self.end
        } else {
            true
        }
    }

    /// The date on which the window containing `local` opened, or `None` if `local` lies
    /// outside the window.
    fn opened_on(&self, local: DateTime) -> Option<Date> {
        if !self.contains(local.time()) {
            None
        } else if local.time() >= self.start {
            Some(local.date())
        } else {
            local.date().yesterday().ok()
        }
    }

    /// Dutch label: "20:00–06:00", or "de hele dag" for a whole-day window.
    pub fn label_nl(&self) -> String {
        if self.start == self.end {
            "de hele dag".to_owned()
        } else {
            format!("{}–{}", hhmm(self.start), hhmm(self.end))
        }
    }
}

/// A rule for a designated area, such as a burgemeestersbevel (art. 172b Gemeentewet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaRule {
    /// The rule's id.
    pub id: AreaRuleId,
    /// The gemeente that set the rule.
    pub gemeente: GemeenteId,
    /// The name the field worker sees, e.g. "Burgemeestersbevel Bospolder".
    pub name: String,
    /// The area, in WGS84 longitude (x) / latitude (y). Its boundary counts as inside.
    pub area: MultiPolygon<f64>,
    /// The daily time window in which the rule applies.
    pub window: DailyWindow,
    /// First date (inclusive) on which a window of the rule may open.
    pub valid_from: Date,
    /// Last date (inclusive) on which a window of the rule may open.
    pub valid_until: Date,
    /// The age bands the rule concerns, e.g. 0–5, 6–9 and 10–11 for "under 12".
    pub bands: Vec<AgeBand>,
    /// What the rule means for the field worker.
    pub effect: AreaEffect,
}

impl AreaRule {
    /// The longest validity of a burgemeestersbevel (art. 172b Gemeentewet).
    pub const MAX_VALIDITY_MONTHS: i64 = 3;

    /// Whether the rule concerns an age band.
    pub fn concerns(&self, band: AgeBand) -> bool {
        self.bands.contains(&band)
    }

    /// Whether a point (lon, lat) lies in the area or on its boundary. Points with a
    /// non-finite coordinate are never inside.
    pub fn covers(&self, point: Point<f64>) -> bool {
        point.x().is_finite() && point.y().is_finite() && self.area.intersects(&point)
    }

    /// Whether the rule is in force at an instant: inside its daily window, and the window
    /// opened on a date within the validity period.
    pub fn in_force_at(&self, at: Timestamp) -> bool {
        self.in_force_local(amsterdam_ref().to_datetime(at))
    }

    pub(super) fn in_force_local(&self, local: DateTime) -> bool {
        self.window
            .opened_on(local)
            .is_some_and(|d| self.valid_from <= d && d <= self.valid_until)
    }

    /// Checks the rule. Errors make the rule unusable; warnings are shown to the coordinator
    /// but the rule may be saved (messages in Dutch).
    pub fn warnings(&self) -> Result<Vec<AreaRuleWarning>, AreaRuleError> {
        if self.valid_until < self.valid_from {
            return Err(AreaRuleError::EndsBeforeStart {
                valid_from: self.valid_from,
                valid_until: self.valid_until,
            });
        }
        if self.area.0.is_empty() {
            return Err(AreaRuleError::EmptyArea);
        }
        let bad_coord = self
            .area
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|ring| ring.coords())
            .any(|c| {
                !(c.x.is_finite() && c.y.is_finite() && c.x.abs() <= 180.0 && c.y.abs() <= 90.0)
            });
        if bad_coord {
            return Err(AreaRuleError::BadCoordinate);
        }
        if self.bands.is_empty() {
            return Err(AreaRuleError::NoBands);
        }

        let mut warnings = Vec::new();
        let limit = self
            .valid_from
            .checked_add(Span::new().months(Self::MAX_VALIDITY_MONTHS));
        if let Ok(limit) = limit
            && self.valid_until >= limit
        {
            warnings.push(AreaRuleWarning::LongerThanThreeMonths {
                valid_from: self.valid_from,
                valid_until: self.valid_until,
            });
        }
        if self.window.start == self.window.end {
            warnings.push(AreaRuleWarning::WholeDay {
                at: self.window.start,
            });
        }
        Ok(warnings)
    }
}

/// A mistake that makes an [`AreaRule`] unusable; the message is Dutch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaRuleError {
    /// The validity period ends before it starts.
    #[error(
        "De einddatum ({}) ligt vóór de begindatum ({}): pas een van beide aan.",
        date_nl(*.valid_until),
        date_nl(*.valid_from)
    )]
    EndsBeforeStart {
        /// First valid date.
        valid_from: Date,
        /// Last valid date.
        valid_until: Date,
    },
    /// The area has no polygons.
    #[error("Het gebied is leeg: teken minstens één vlak op de kaart.")]
    EmptyArea,
    /// A coordinate is not a valid WGS84 longitude/latitude.
    #[error(
        "Het gebied bevat een ongeldige coördinaat (lengte moet tussen −180 en 180 liggen, breedte tussen −90 en 90): teken het gebied opnieuw."
    )]
    BadCoordinate,
    /// The rule concerns no age band and would never apply.
    #[error("De regel geldt voor geen enkele leeftijdsklasse: kies er minstens één.")]
    NoBands,
}

/// Something unusual about an [`AreaRule`] that the coordinator should confirm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaRuleWarning {
    /// Valid for longer than a burgemeestersbevel may last.
    #[error(
        "De regel geldt van {} tot en met {}, langer dan drie maanden; een burgemeestersbevel geldt ten hoogste drie maanden (art. 172b Gemeentewet).",
        date_nl(*.valid_from),
        date_nl(*.valid_until)
    )]
    LongerThanThreeMonths {
        /// First valid date.
        valid_from: Date,
        /// Last valid date.
        valid_until: Date,
    },
    /// The window starts and ends at the same time, so it lasts the whole day.
    #[error(
        "Het tijdvak begint en eindigt om {}: de regel geldt dus de hele dag.",
        hhmm(*.at)
    )]
    WholeDay {
        /// The start (and end) of the window.
        at: Time,
    },
}
