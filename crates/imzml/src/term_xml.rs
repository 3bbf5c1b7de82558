//! The XML of the terms a writer gives inside each `<spectrum>` besides its position and
//! arrays (scan start times, scan window limits, user parameters).

use crate::model::Unit;
use crate::spectrum_terms::{MAX_VALUE_BYTES, TermPlace};
use crate::writer::{cv_with_unit, escape};

/// A term the writer gives in the spectra that have a value for it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumTermKind {
    /// Its accession (`MS:1000016`), or `userParam` for a user parameter.
    pub accession: String,
    /// Its name (`scan start time`, the user parameter's name).
    pub name: String,
    /// The unit of its values.
    pub unit: Option<Unit>,
    /// The `type` attribute of a user parameter (`xsd:float`); not written for cvParams.
    pub value_type: Option<String>,
    /// The element of `<spectrum>` it is written in; terms of [`TermPlace::Other`] are not
    /// written.
    pub place: TermPlace,
}

/// The term XML of one spectrum, by the element it goes in.
#[derive(Debug, Default)]
pub(crate) struct TermXml {
    pub(crate) spectrum: String,
    pub(crate) scan_list: String,
    pub(crate) scan: String,
    /// A whole `<scanWindowList>` (empty when the spectrum gives no scan window term).
    pub(crate) scan_window_list: String,
}

impl TermXml {
    /// The XML of `values`, one per kind of `kinds` (`None`: the spectrum does not give it).
    /// cvParams come before userParams in each element, as mzML orders them.
    pub(crate) fn new(kinds: &[SpectrumTermKind], values: &[Option<String>]) -> Self {
        let mut xml = Self::default();
        for user_params in [false, true] {
            for (kind, value) in kinds.iter().zip(values) {
                let Some(value) = value else { continue };
                if (kind.accession == "userParam") != user_params {
                    continue;
                }
                let (target, indent) = match kind.place {
                    TermPlace::Spectrum => (&mut xml.spectrum, 8),
                    TermPlace::ScanList => (&mut xml.scan_list, 10),
                    TermPlace::Scan => (&mut xml.scan, 12),
                    TermPlace::ScanWindow => (&mut xml.scan_window_list, 18),
                    TermPlace::Other => continue,
                };
                target.push('\n');
                target.push_str(&" ".repeat(indent));
                target.push_str(&param_xml(kind, value));
            }
        }
        if !xml.scan_window_list.is_empty() {
            xml.scan_window_list = format!(
                "\n            <scanWindowList count=\"1\">\n              <scanWindow>{}\n              </scanWindow>\n            </scanWindowList>",
                xml.scan_window_list
            );
        }
        xml
    }
}

fn param_xml(kind: &SpectrumTermKind, value: &str) -> String {
    if kind.accession == "userParam" {
        let unit = kind.unit.as_ref().map_or_else(String::new, |unit| {
            format!(
                r#" unitAccession="{}" unitName="{}""#,
                escape(&unit.accession),
                escape(&unit.name)
            )
        });
        let value_type = kind
            .value_type
            .as_ref()
            .map_or_else(String::new, |value_type| format!(r#" type="{}""#, escape(value_type)));
        return format!(
            r#"<userParam name="{}"{value_type} value="{}"{unit}/>"#,
            escape(&kind.name),
            escape(value)
        );
    }
    let cv_ref = kind.accession.split(':').next().unwrap_or_default();
    cv_with_unit(
        &escape(cv_ref),
        &escape(&kind.accession),
        &escape(&kind.name),
        value,
        kind.unit.as_ref(),
    )
}

/// Most significant digits of a decimal that every `f64` between its neighbours reads back
/// as (`f64::DIGITS`).
const EXACT_DECIMAL_DIGITS: usize = f64::DIGITS as usize;

/// A number as a term value that reads back as the same `f64`: with `decimals` fraction
/// digits in fixed-point notation when given (`1.000000`, as a source wrote it; at most
/// [`MAX_VALUE_BYTES`], the longest value a store keeps, whatever a forged store says), else
/// plain digits for everyday magnitudes and scientific notation for very large or small ones.
pub fn format_term_number(value: f64, decimals: Option<u32>) -> String {
    if let Some(decimals) = decimals {
        return format!("{value:.*}", (decimals as usize).min(MAX_VALUE_BYTES));
    }
    let magnitude = value.abs();
    if value == 0.0 || (1e-5..1e15).contains(&magnitude) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

/// The fraction digits of `text` when it is a decimal in fixed-point notation that
/// [`format_term_number`] with those digits writes back exactly: digits with an optional `-`
/// and `.`, no leading zero before another digit, at most 15 significant digits (so that the
/// `f64` read from it rounds back to it). `None` for any other text (`1e-7`, `+2`, `007`).
pub(crate) fn fixed_point_digits(text: &str) -> Option<u32> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = !unsigned.contains('.') || !fraction.is_empty();
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || !fraction_ok {
        return None;
    }
    if whole.len() > 1 && whole.starts_with('0') {
        return None;
    }
    let digits = whole.bytes().chain(fraction.bytes());
    let significant = digits.skip_while(|&b| b == b'0').count();
    (significant <= EXACT_DECIMAL_DIGITS)
        .then(|| u32::try_from(fraction.len()).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_as_the_same_f64() {
        for value in [
            0.0,
            0.25,
            12.0,
            1.0 / 3.0,
            1e-7,
            -2.5e300,
            123456.789,
            f64::MIN_POSITIVE,
        ] {
            let text = format_term_number(value, None);
            assert_eq!(text.parse::<f64>().unwrap(), value, "{text}");
        }
        assert_eq!(format_term_number(12.0, None), "12");
        assert_eq!(format_term_number(1e-7, None), "1e-7");
        assert_eq!(format_term_number(23.0, Some(6)), "23.000000");
        // A forged digit count makes a bounded string, not four billion digits.
        assert_eq!(format_term_number(0.5, Some(u32::MAX)).len(), 2 + MAX_VALUE_BYTES);
    }

    #[test]
    fn fixed_point_text_is_recognised_only_when_it_writes_back_exactly() {
        for (text, digits) in [
            ("1.000000", Some(6)),
            ("-0.50", Some(2)),
            ("0.000001234", Some(9)),
            ("12", Some(0)),
            ("123456789.012345", Some(6)),
            ("1234567890.123456", None),
            ("1e-7", None),
            ("+2.0", None),
            ("007.5", None),
            ("1.", None),
            (".5", None),
            ("", None),
            (" 1.0", None),
        ] {
            assert_eq!(fixed_point_digits(text), digits, "{text:?}");
            if let Some(digits) = digits {
                let value: f64 = text.parse().unwrap();
                assert_eq!(format_term_number(value, Some(digits)), text);
            }
        }
    }

    proptest::proptest! {
        /// Any decimal of up to 15 significant digits, in fixed-point notation, is recognised
        /// with its fraction digits and written back as the same text from its `f64`.
        #[test]
        fn fixed_point_text_of_up_to_15_digits_writes_back_exactly(
            digits in proptest::collection::vec(0u8..10, 1..=15),
            fraction in 0usize..=15,
            negative: bool,
        ) {
            let digits: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let fraction = fraction.min(digits.len());
            let (whole, part) = digits.split_at(digits.len() - fraction);
            let whole = whole.trim_start_matches('0');
            let whole = if whole.is_empty() { "0" } else { whole };
            let sign = if negative { "-" } else { "" };
            let text = if part.is_empty() {
                format!("{sign}{whole}")
            } else {
                format!("{sign}{whole}.{part}")
            };
            let decimals = fixed_point_digits(&text);
            proptest::prop_assert_eq!(decimals, Some(part.len() as u32), "{}", text);
            let value: f64 = text.parse().unwrap();
            proptest::prop_assert_eq!(format_term_number(value, decimals), text);
        }
    }

    #[test]
    fn terms_go_to_their_element_cv_params_first() {
        let kind = |accession: &str, name: &str, place| SpectrumTermKind {
            accession: accession.into(),
            name: name.into(),
            unit: None,
            value_type: None,
            place,
        };
        let kinds = [
            kind("userParam", "shots & more", TermPlace::Scan),
            kind("MS:1000016", "scan start time", TermPlace::Scan),
            kind("MS:1000501", "scan window lower limit", TermPlace::ScanWindow),
            kind("MS:1000796", "spectrum title", TermPlace::Spectrum),
        ];
        let values = [Some("200".into()), Some("0.5".into()), Some("100".into()), None];
        let xml = TermXml::new(&kinds, &values);
        assert!(xml.spectrum.is_empty() && xml.scan_list.is_empty());
        let start_time = xml.scan.find("MS:1000016").unwrap();
        let user = xml
            .scan
            .find(r#"<userParam name="shots &amp; more" value="200"/>"#)
            .unwrap();
        assert!(start_time < user, "{}", xml.scan);
        assert!(xml.scan_window_list.contains("<scanWindow>"));
        assert!(
            xml.scan_window_list
                .contains(r#"accession="MS:1000501" name="scan window lower limit" value="100""#)
        );
    }
}
