//! Pixel sizes in micrometres, from a value and its unit. imzML names a unit twice, by its
//! accession (`unitAccession`) and by its name (`unitName`). Writers copy the pair from
//! templates and get the accession wrong (`UO:0000015`, centimetre, named "micrometer"):
//! where the two name different lengths, the one that gives a pixel size imaging can have
//! wins, as the byte lengths decide between a precision term's accession and its name.

use std::ops::RangeInclusive;

use crate::model::Quirk;

/// A length unit of the Unit Ontology.
struct LengthUnit {
    accession: &'static str,
    /// Its name first (as the store records it), then other spellings writers use.
    names: &'static [&'static str],
    micrometres: f64,
}

const LENGTH_UNITS: [LengthUnit; 5] = [
    LengthUnit {
        accession: "UO:0000008",
        names: &["meter", "metre", "m"],
        micrometres: 1e6,
    },
    LengthUnit {
        accession: "UO:0000015",
        names: &["centimeter", "centimetre", "cm"],
        micrometres: 1e4,
    },
    LengthUnit {
        accession: "UO:0000016",
        names: &["millimeter", "millimetre", "mm"],
        micrometres: 1e3,
    },
    LengthUnit {
        accession: "UO:0000017",
        names: &["micrometer", "micrometre", "micron", "um", "µm", "μm"],
        micrometres: 1.0,
    },
    LengthUnit {
        accession: "UO:0000018",
        names: &["nanometer", "nanometre", "nm"],
        micrometres: 1e-3,
    },
];

/// Pixel sizes of imaging, in micrometres: from sub-micrometre secondary-ion imaging to
/// centimetre-wide macro scans.
const PLAUSIBLE_PIXEL_UM: RangeInclusive<f64> = 0.01..=10_000.0;

/// A pixel size as the header declares it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeclaredLength {
    pub(crate) value: f64,
    pub(crate) unit_accession: Option<String>,
    pub(crate) unit_name: Option<String>,
}

impl DeclaredLength {
    /// The size in micrometres and the name of the unit it was read in. Without a unit it is
    /// micrometres, as imzML defines pixel sizes; an accession that is no length unit gives way
    /// to a name that is one, and is read as micrometres (recorded) when the name is not one
    /// either.
    pub(crate) fn micrometres(&self, quirks: &mut Vec<Quirk>) -> (f64, &'static str) {
        let accession = self.unit_accession.as_deref().map(str::trim).filter(|a| !a.is_empty());
        let name = self.unit_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        let by_accession = accession.and_then(|a| LENGTH_UNITS.iter().find(|u| u.accession == a));
        let by_name = name.and_then(|n| {
            LENGTH_UNITS
                .iter()
                .find(|u| u.names.iter().any(|m| m.eq_ignore_ascii_case(n)))
        });
        let unit = match (accession, by_accession, by_name) {
            (None, _, None) => &LENGTH_UNITS[3],
            (None, _, Some(named)) => named,
            (Some(_), Some(declared), None) => declared,
            (Some(_), Some(declared), Some(named)) if std::ptr::eq(declared, named) => declared,
            (Some(a), Some(declared), Some(named)) => {
                let plausible = |unit: &LengthUnit| PLAUSIBLE_PIXEL_UM.contains(&(self.value * unit.micrometres));
                let chosen = if plausible(declared) || !plausible(named) {
                    declared
                } else {
                    named
                };
                Quirk::new(
                    "pixel-size-unit-disagrees",
                    format!(
                        "pixel size {} has unit {a} ({}) named {:?}; read in {}s, which give a pixel size imaging can have",
                        self.value,
                        declared.names[0],
                        name.unwrap_or_default(),
                        chosen.names[0]
                    ),
                )
                .record(quirks);
                chosen
            }
            (Some(a), None, Some(named)) => {
                Quirk::new(
                    "pixel-size-unit-disagrees",
                    format!(
                        "pixel size unit {a} is not a length unit, its name {:?} is; read in {}s",
                        name.unwrap_or_default(),
                        named.names[0]
                    ),
                )
                .record(quirks);
                named
            }
            (Some(a), None, None) => {
                Quirk::new(
                    "unknown-pixel-size-unit",
                    format!("pixel size unit {a} is not a length unit imzML uses; read as micrometres"),
                )
                .record(quirks);
                &LENGTH_UNITS[3]
            }
        };
        (self.value * unit.micrometres, unit.names[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size in micrometres, the unit it was read in, and the kinds of the quirks recorded
    /// (joined by ", ").
    fn read(value: f64, accession: Option<&str>, name: Option<&str>) -> (f64, &'static str, String) {
        let mut quirks = Vec::new();
        let length = DeclaredLength {
            value,
            unit_accession: accession.map(str::to_string),
            unit_name: name.map(str::to_string),
        };
        let (um, unit) = length.micrometres(&mut quirks);
        let kinds: Vec<String> = quirks.into_iter().map(|q| q.kind).collect();
        (um, unit, kinds.join(", "))
    }

    #[test]
    fn a_unit_whose_accession_and_name_agree_converts() {
        assert_eq!(
            read(50.0, Some("UO:0000017"), Some("micrometer")),
            (50.0, "micrometer", String::new())
        );
        assert_eq!(
            read(0.05, Some("UO:0000016"), Some("millimeter")),
            (50.0, "millimeter", String::new())
        );
        assert_eq!(
            read(5000.0, Some("UO:0000018"), None),
            (5.0, "nanometer", String::new())
        );
        assert_eq!(
            read(0.5, Some("UO:0000015"), Some("centimetre")),
            (5000.0, "centimeter", String::new())
        );
        assert_eq!(read(50.0, None, None), (50.0, "micrometer", String::new()));
        assert_eq!(read(50.0, Some(""), Some("µm")), (50.0, "micrometer", String::new()));
    }

    #[test]
    fn where_accession_and_name_disagree_the_plausible_one_wins() {
        let disagrees = "pixel-size-unit-disagrees".to_string();
        // Centimetre's accession named micrometer: 100 cm is no pixel, 100 µm is.
        assert_eq!(
            read(100.0, Some("UO:0000015"), Some("micrometer")),
            (100.0, "micrometer", disagrees.clone())
        );
        // Both plausible: the accession wins, and the disagreement is recorded.
        assert_eq!(
            read(0.05, Some("UO:0000016"), Some("micrometer")),
            (50.0, "millimeter", disagrees)
        );
        // Neither plausible: the accession.
        assert_eq!(read(1e9, Some("UO:0000008"), Some("nanometer")).1, "meter");
    }

    #[test]
    fn an_accession_that_is_no_length_unit_gives_way_to_its_name() {
        assert_eq!(
            read(0.02, Some("UO:0000080"), Some("millimeter")),
            (20.0, "millimeter", "pixel-size-unit-disagrees".to_string())
        );
        assert_eq!(
            read(20.0, Some("UO:0000080"), Some("square micrometer")),
            (20.0, "micrometer", "unknown-pixel-size-unit".to_string())
        );
    }
}
