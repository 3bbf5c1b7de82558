//! Terms that spectra give beside their position and arrays (scan start times, scan windows,
//! user parameters), collected while parsing. A store keeps a term that every spectrum gives
//! with the same value, or that has a number in each spectrum that gives it; the others are
//! counted so that a store can list what it dropped.

use crate::model::{SpectrumTerm, Unit};
use crate::term_xml::fixed_point_digits;

/// The element of a `<spectrum>` that gives a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermPlace {
    /// `<spectrum>` itself.
    Spectrum,
    /// `<scanList>`.
    ScanList,
    /// `<scan>`.
    Scan,
    /// `<scanWindow>`.
    ScanWindow,
    /// Any other element (`<precursor>`, `<product>`, ...): its terms are not kept.
    Other,
}

impl TermPlace {
    /// The place of the terms inside the element `name`.
    pub(crate) fn of_element(name: &str) -> Self {
        match name {
            "spectrum" => Self::Spectrum,
            "scanList" => Self::ScanList,
            "scan" => Self::Scan,
            "scanWindow" => Self::ScanWindow,
            _ => Self::Other,
        }
    }

    /// The element's name (`scan`); `None` for [`TermPlace::Other`].
    pub fn element_name(self) -> Option<&'static str> {
        match self {
            Self::Spectrum => Some("spectrum"),
            Self::ScanList => Some("scanList"),
            Self::Scan => Some("scan"),
            Self::ScanWindow => Some("scanWindow"),
            Self::Other => None,
        }
    }

    /// The place named `name` ([`TermPlace::element_name`]).
    pub fn from_element_name(name: &str) -> Option<Self> {
        [Self::Spectrum, Self::ScanList, Self::Scan, Self::ScanWindow]
            .into_iter()
            .find(|place| place.element_name() == Some(name))
    }
}

/// A term given in spectra that a store keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumTermValues {
    /// Its accession (`MS:1000016`), or `userParam` for a user parameter.
    pub accession: String,
    /// Its name (`scan start time`, the user parameter's name).
    pub name: String,
    /// The unit of its values, the same in every spectrum.
    pub unit: Option<Unit>,
    /// The element that gives it, the same in every spectrum.
    pub place: TermPlace,
    /// The `type` attribute of a user parameter (`xsd:float`), the same in every spectrum.
    pub value_type: Option<String>,
    /// For [`TermValues::Numbers`]: the fraction digits every spectrum writes its number with
    /// in fixed-point notation (6 for `1.000000`), when they agree and are more than none;
    /// writing the numbers so gives back the source's text.
    pub decimals: Option<u32>,
    /// Its values.
    pub values: TermValues,
}

/// The values of a kept spectrum term.
#[derive(Debug, Clone, PartialEq)]
pub enum TermValues {
    /// Every spectrum gives the term once, with this value (a flag has an empty one).
    Constant(String),
    /// A finite number per spectrum, by source index; NaN where a spectrum does not give it.
    Numbers(Vec<f64>),
}

/// Most terms that are kept as a number per spectrum; further ones are kept only when constant.
/// Bounds the memory to 8 bytes per spectrum and term.
pub const MAX_NUMBER_TERMS: usize = 16;

/// Longest value of a kept term, in bytes: a longer one (a term that holds a document) is
/// listed, not kept, so that the store's metadata stays small.
pub const MAX_VALUE_BYTES: usize = 4096;

/// One term as seen so far.
#[derive(Debug)]
struct Seen {
    accession: String,
    name: String,
    unit: Option<Unit>,
    place: TermPlace,
    value_type: Option<String>,
    fixed_point: FixedPoint,
    occurrences: u64,
    last_spectrum: Option<usize>,
    first_value: String,
    same_value: bool,
    /// `None` once a value is not a finite number, or when too many terms have numbers.
    numbers: Option<Vec<f64>>,
    /// False once the term is given twice in a spectrum, in two places, with two units, or
    /// in a place whose terms are not kept.
    keepable: bool,
}

/// One occurrence of a term in a spectrum.
pub(crate) struct Occurrence<'a> {
    /// The source index of the spectrum.
    pub(crate) spectrum: usize,
    /// Accession, or `userParam`.
    pub(crate) accession: &'a str,
    /// Its value (empty when the element has none).
    pub(crate) value: &'a str,
    /// `unitAccession` and `unitName`.
    pub(crate) unit: (Option<&'a str>, Option<&'a str>),
    /// The element that gives it.
    pub(crate) place: TermPlace,
    /// The `type` attribute of a user parameter.
    pub(crate) value_type: Option<&'a str>,
}

/// How the numbers of a term are written, as far as seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FixedPoint {
    /// No number yet.
    Unseen,
    /// Every number so far in fixed-point notation with these fraction digits.
    Digits(u32),
    /// Numbers with different fraction digits, or not in fixed-point notation.
    Varies,
}

impl FixedPoint {
    fn record(&mut self, text: &str) {
        *self = match (*self, fixed_point_digits(text)) {
            (Self::Unseen, Some(digits)) => Self::Digits(digits),
            (Self::Digits(seen), Some(digits)) if seen == digits => Self::Digits(seen),
            _ => Self::Varies,
        };
    }

    /// The fraction digits to write the numbers with; `None` when there are none (integers
    /// read back as written without them) or when the numbers disagree.
    fn decimals(self) -> Option<u32> {
        match self {
            Self::Digits(digits) if digits > 0 => Some(digits),
            _ => None,
        }
    }
}

/// Collects the spectrum terms of a document, up to [`SpectrumTerm::MAX_DISTINCT`] of them.
#[derive(Debug, Default)]
pub(crate) struct TermCollector {
    seen: Vec<Seen>,
}

impl TermCollector {
    /// Records `occurrence`; `name` (the term's name, or the user parameter's) is asked for
    /// only when `accession` alone does not identify the term.
    pub(crate) fn observe(&mut self, occurrence: Occurrence<'_>, name: impl FnOnce() -> String) {
        let accession = occurrence.accession;
        // A user parameter is told apart by its name, a cvParam by its accession alone.
        let mut name = Some(name);
        let user_name = if accession == "userParam" {
            name.take().map(|name| name())
        } else {
            None
        };
        let position = match self.find(accession, user_name.as_deref()) {
            Some(at) => at,
            None => {
                let name = user_name.or_else(|| name.take().map(|name| name())).unwrap_or_default();
                match self.add(&occurrence, name) {
                    Some(at) => at,
                    None => return,
                }
            }
        };
        self.seen[position].record(&occurrence);
    }

    fn find(&self, accession: &str, name: Option<&str>) -> Option<usize> {
        self.seen
            .iter()
            .position(|s| s.accession == accession && name.is_none_or(|name| s.name == name))
    }

    /// A new term, first given in `occurrence`, under `name`; `None` when there are too many.
    fn add(&mut self, occurrence: &Occurrence<'_>, name: String) -> Option<usize> {
        if self.seen.len() >= SpectrumTerm::MAX_DISTINCT {
            return None;
        }
        let with_numbers = self.seen.iter().filter(|s| s.numbers.is_some()).count();
        self.seen.push(Seen {
            accession: occurrence.accession.to_string(),
            name,
            unit: Unit::from_attributes(occurrence.unit),
            place: occurrence.place,
            value_type: occurrence.value_type.map(str::to_string),
            fixed_point: FixedPoint::Unseen,
            occurrences: 0,
            last_spectrum: None,
            first_value: occurrence.value.chars().take(MAX_VALUE_BYTES + 1).collect(),
            same_value: true,
            numbers: (with_numbers < MAX_NUMBER_TERMS).then(Vec::new),
            keepable: occurrence.place != TermPlace::Other,
        });
        Some(self.seen.len() - 1)
    }

    /// The kept terms, and those not kept with how often they were given; `spectra` is the
    /// number of spectra of the document.
    pub(crate) fn finish(self, spectra: usize) -> (Vec<SpectrumTermValues>, Vec<SpectrumTerm>) {
        let mut kept = Vec::new();
        let mut not_kept = Vec::new();
        for seen in self.seen {
            let values = if !seen.keepable {
                None
            } else if seen.same_value && seen.occurrences == spectra as u64 {
                Some(TermValues::Constant(seen.first_value))
            } else {
                seen.numbers.map(|mut numbers| {
                    numbers.resize(spectra.max(numbers.len()), f64::NAN);
                    TermValues::Numbers(numbers)
                })
            };
            match values {
                Some(values) => kept.push(SpectrumTermValues {
                    accession: seen.accession,
                    name: seen.name,
                    unit: seen.unit,
                    place: seen.place,
                    value_type: seen.value_type,
                    decimals: match values {
                        TermValues::Numbers(_) => seen.fixed_point.decimals(),
                        TermValues::Constant(_) => None,
                    },
                    values,
                }),
                None => not_kept.push(SpectrumTerm {
                    accession: seen.accession,
                    name: seen.name,
                    occurrences: seen.occurrences,
                }),
            }
        }
        (kept, not_kept)
    }
}

impl Seen {
    fn record(&mut self, occurrence: &Occurrence<'_>) {
        let Occurrence {
            spectrum,
            value,
            unit,
            place,
            value_type,
            ..
        } = *occurrence;
        self.occurrences += 1;
        if !self.keepable {
            return;
        }
        let repeated = self.last_spectrum == Some(spectrum);
        if repeated
            || place != self.place
            || Unit::from_attributes(unit) != self.unit
            || value_type != self.value_type.as_deref()
            || value.len() > MAX_VALUE_BYTES
        {
            self.keepable = false;
            self.numbers = None;
            return;
        }
        self.last_spectrum = Some(spectrum);
        self.same_value &= value == self.first_value;
        let number = value.trim().parse::<f64>().ok().filter(|n| n.is_finite());
        match (&mut self.numbers, number) {
            (Some(numbers), Some(number)) => {
                self.fixed_point.record(value);
                if numbers.len() <= spectrum {
                    numbers.resize(spectrum + 1, f64::NAN);
                }
                numbers[spectrum] = number;
            }
            (numbers, _) => *numbers = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observe(collector: &mut TermCollector, spectrum: usize, accession: &str, name: &str, value: &str) {
        observe_at(collector, spectrum, accession, name, value, TermPlace::Scan);
    }

    fn observe_at(
        collector: &mut TermCollector,
        spectrum: usize,
        accession: &str,
        name: &str,
        value: &str,
        place: TermPlace,
    ) {
        observe_typed(collector, spectrum, (accession, name, value), place, None);
    }

    fn observe_typed(
        collector: &mut TermCollector,
        spectrum: usize,
        (accession, name, value): (&str, &str, &str),
        place: TermPlace,
        value_type: Option<&str>,
    ) {
        let occurrence = Occurrence {
            spectrum,
            accession,
            value,
            unit: (Some("UO:0000031"), Some("minute")),
            place,
            value_type,
        };
        collector.observe(occurrence, || name.to_string());
    }

    #[test]
    fn fraction_digits_are_kept_when_every_number_agrees_on_them() {
        let mut collector = TermCollector::default();
        for (spectrum, (fixed, mixed, whole)) in [("1.000000", "0.5", "12"), ("2.500000", "0.25", "13")]
            .into_iter()
            .enumerate()
        {
            observe(&mut collector, spectrum, "MS:1", "fixed", fixed);
            observe(&mut collector, spectrum, "MS:2", "mixed", mixed);
            observe(&mut collector, spectrum, "MS:3", "whole", whole);
        }
        let (kept, _) = collector.finish(2);
        let decimals: Vec<_> = kept.iter().map(|t| (t.name.as_str(), t.decimals)).collect();
        assert_eq!(decimals, [("fixed", Some(6)), ("mixed", None), ("whole", None)]);
    }

    #[test]
    fn a_user_parameter_keeps_its_type_unless_it_changes() {
        let mut collector = TermCollector::default();
        for spectrum in 0..2 {
            let place = TermPlace::Scan;
            let shots = ("userParam", "shots", "200");
            observe_typed(&mut collector, spectrum, shots, place, Some("xsd:int"));
            let changing = if spectrum == 0 { "xsd:int" } else { "xsd:float" };
            let gain = ("userParam", "gain", "2");
            observe_typed(&mut collector, spectrum, gain, place, Some(changing));
        }
        let (kept, not_kept) = collector.finish(2);
        assert_eq!(kept.len(), 1);
        assert_eq!(
            (kept[0].name.as_str(), kept[0].value_type.as_deref()),
            ("shots", Some("xsd:int"))
        );
        assert_eq!((not_kept[0].name.as_str(), not_kept[0].occurrences), ("gain", 2));
    }

    #[test]
    fn numbers_are_kept_by_spectrum_with_nan_where_a_spectrum_has_none() {
        let mut collector = TermCollector::default();
        observe(&mut collector, 0, "MS:1000016", "scan start time", "0.5");
        observe(&mut collector, 2, "MS:1000016", "scan start time", "1.25e1");
        let (kept, not_kept) = collector.finish(4);
        assert!(not_kept.is_empty());
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].name, "scan start time");
        assert_eq!(kept[0].unit.as_ref().map(|u| u.name.as_str()), Some("minute"));
        let TermValues::Numbers(numbers) = &kept[0].values else {
            panic!("expected numbers, got {:?}", kept[0].values);
        };
        assert_eq!(numbers.len(), 4);
        assert_eq!((numbers[0], numbers[2]), (0.5, 12.5));
        assert!(numbers[1].is_nan() && numbers[3].is_nan());
    }

    #[test]
    fn a_value_every_spectrum_gives_alike_is_a_constant_even_when_not_a_number() {
        let mut collector = TermCollector::default();
        for spectrum in 0..3 {
            observe(
                &mut collector,
                spectrum,
                "MS:1000512",
                "filter string",
                "FTMS + p MALDI",
            );
            observe(&mut collector, spectrum, "userParam", "flag", "");
        }
        let (kept, not_kept) = collector.finish(3);
        assert!(not_kept.is_empty());
        let values: Vec<_> = kept.iter().map(|t| t.values.clone()).collect();
        assert_eq!(
            values,
            [
                TermValues::Constant("FTMS + p MALDI".into()),
                TermValues::Constant(String::new())
            ]
        );
    }

    #[test]
    fn varying_text_repeats_and_changes_of_place_are_counted_not_kept() {
        let mut collector = TermCollector::default();
        observe(&mut collector, 0, "MS:1000796", "spectrum title", "a");
        observe(&mut collector, 1, "MS:1000796", "spectrum title", "b");
        observe(&mut collector, 0, "MS:1000501", "scan window lower limit", "100");
        observe(&mut collector, 0, "MS:1000501", "scan window lower limit", "200");
        observe_at(&mut collector, 0, "MS:1000016", "scan start time", "1", TermPlace::Scan);
        observe_at(
            &mut collector,
            1,
            "MS:1000016",
            "scan start time",
            "2",
            TermPlace::Spectrum,
        );
        observe_at(
            &mut collector,
            0,
            "MS:1000744",
            "selected ion m/z",
            "5",
            TermPlace::Other,
        );
        let (kept, not_kept) = collector.finish(2);
        assert!(kept.is_empty(), "{kept:?}");
        let counted: Vec<(&str, u64)> = not_kept.iter().map(|t| (t.accession.as_str(), t.occurrences)).collect();
        assert_eq!(
            counted,
            [
                ("MS:1000796", 2),
                ("MS:1000501", 2),
                ("MS:1000016", 2),
                ("MS:1000744", 1)
            ]
        );
    }

    #[test]
    fn a_value_longer_than_the_limit_is_counted_not_kept() {
        let mut collector = TermCollector::default();
        let long = "x".repeat(MAX_VALUE_BYTES + 1);
        observe(&mut collector, 0, "MS:1000796", "spectrum title", &long);
        let (kept, not_kept) = collector.finish(1);
        assert!(kept.is_empty());
        assert_eq!(not_kept[0].occurrences, 1);
    }

    #[test]
    fn user_parameters_are_told_apart_by_name() {
        let mut collector = TermCollector::default();
        for spectrum in 0..2 {
            observe(
                &mut collector,
                spectrum,
                "userParam",
                "3DPositionX",
                &spectrum.to_string(),
            );
            observe(&mut collector, spectrum, "userParam", "3DPositionY", "7");
        }
        let (kept, _) = collector.finish(2);
        let names: Vec<_> = kept.iter().map(|t| (t.name.as_str(), t.values.clone())).collect();
        assert_eq!(
            names,
            [
                ("3DPositionX", TermValues::Numbers(vec![0.0, 1.0])),
                ("3DPositionY", TermValues::Constant("7".into()))
            ]
        );
    }

    #[test]
    fn numbers_are_kept_for_a_bounded_number_of_terms() {
        let mut collector = TermCollector::default();
        for term in 0..MAX_NUMBER_TERMS + 1 {
            observe(&mut collector, 0, &format!("MS:{term}"), "t", "1");
            observe(&mut collector, 1, &format!("MS:{term}"), "t", "2");
        }
        let (kept, not_kept) = collector.finish(2);
        assert_eq!((kept.len(), not_kept.len()), (MAX_NUMBER_TERMS, 1));
    }
}
