//! Interpretation of the header terms: `fileContent` and `scanSettings`.

use std::path::Path;

use crate::cv;
use crate::error::{ImzmlError, Result};
use crate::length_unit::DeclaredLength;
use crate::model::{Checksums, DeclaredGrid, Digest, Mode, PixelSize, Polarity, Quirk, SpectrumType};
use crate::numbers::{parse_decimal, parse_unsigned, parse_uuid};

/// Header terms collected while parsing.
#[derive(Debug, Default)]
pub(crate) struct HeaderTerms {
    pub(crate) declared_mode: Option<Mode>,
    pub(crate) uuid: Option<[u8; 16]>,
    pub(crate) checksums: Checksums,
    /// The UUID term was written without a value.
    pub(crate) uuid_without_value: bool,
    pub(crate) grid: DeclaredGrid,
    pub(crate) pixel_size_x: Option<DeclaredLength>,
    pub(crate) pixel_size_y: Option<DeclaredLength>,
    pub(crate) file_spectrum_type: Option<SpectrumType>,
    pub(crate) seen_centroid: bool,
    pub(crate) seen_profile: bool,
    pub(crate) seen_positive: bool,
    pub(crate) seen_negative: bool,
}

impl HeaderTerms {
    pub(crate) fn apply_file_content(
        &mut self,
        accession: &str,
        value: &str,
        path: &Path,
        quirks: &mut Vec<Quirk>,
    ) -> Result<()> {
        match accession {
            cv::CONTINUOUS => self.set_mode(Mode::Continuous, path)?,
            cv::PROCESSED => self.set_mode(Mode::Processed, path)?,
            cv::UUID if value.trim().is_empty() => self.uuid_without_value = true,
            cv::UUID => {
                let uuid = parse_uuid(value).ok_or_else(|| {
                    ImzmlError::format(
                        path,
                        "fileContent",
                        format!("universally unique identifier {value:?} is not 32 hex digits"),
                    )
                })?;
                self.uuid = Some(uuid);
            }
            cv::IBD_MD5 => self.set_checksum(Digest::Md5, value, quirks),
            cv::IBD_SHA1 => self.set_checksum(Digest::Sha1, value, quirks),
            cv::IBD_SHA256 => self.set_checksum(Digest::Sha256, value, quirks),
            cv::CENTROID => self.file_spectrum_type = Some(SpectrumType::Centroid),
            cv::PROFILE => self.file_spectrum_type = Some(SpectrumType::Profile),
            _ => {}
        }
        Ok(())
    }

    /// Keeps a declared checksum. A placeholder that its writer never filled in (empty,
    /// nothing but zeros: no digest of real data is that, or not hex digits at all, such as
    /// `N/A`) declares nothing. A digest whose
    /// length is another algorithm's (an MD5 under the SHA-1 term) is kept as that algorithm's,
    /// unless the file declares that one too.
    fn set_checksum(&mut self, term: Digest, value: &str, quirks: &mut Vec<Quirk>) {
        let value = value.trim();
        let all_zeros = value.bytes().all(|b| b == b'0');
        if all_zeros || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            let what = if all_zeros { "a placeholder" } else { "not hex digits" };
            let detail = format!(
                "the declared {} {value:?} is {what}, not a checksum; the .ibd is not checked against it",
                term.name()
            );
            Quirk::new("checksum-placeholder", detail).record(quirks);
            return;
        }
        let digest = Digest::of_hex_length(value.len()).unwrap_or(term);
        if digest != term {
            let detail = format!(
                "the {} term holds {} hex digits, the length of an {}; checked as one",
                term.name(),
                value.len(),
                digest.name()
            );
            Quirk::new("checksum-of-another-algorithm", detail).record(quirks);
        }
        let slot = match digest {
            Digest::Md5 => &mut self.checksums.md5,
            Digest::Sha1 => &mut self.checksums.sha1,
            Digest::Sha256 => &mut self.checksums.sha256,
        };
        if digest == term || slot.is_none() {
            *slot = Some(value.to_string());
        }
    }

    fn set_mode(&mut self, mode: Mode, path: &Path) -> Result<()> {
        match self.declared_mode {
            Some(previous) if previous != mode => Err(ImzmlError::format(
                path,
                "fileContent",
                "declares both continuous (IMS:1000030) and processed (IMS:1000031)",
            )),
            _ => {
                self.declared_mode = Some(mode);
                Ok(())
            }
        }
    }

    /// Applies a scanSettings term. Only the first block defines the grid; later blocks that
    /// disagree are recorded as quirks.
    pub(crate) fn apply_scan_settings(
        &mut self,
        accession: &str,
        value: &str,
        unit: (Option<&str>, Option<&str>),
        first_block: bool,
        quirks: &mut Vec<Quirk>,
    ) {
        let count = || parse_unsigned(value).map(|(v, _)| v);
        let decimal = parse_decimal(value);
        let lengths = [
            cv::MAX_DIMENSION_X,
            cv::MAX_DIMENSION_Y,
            cv::PIXEL_SIZE_X,
            cv::PIXEL_SIZE_Y,
        ];
        if let Some((number, true)) = decimal.filter(|_| lengths.contains(&accession)) {
            Quirk::new(
                "decimal-comma",
                format!("{accession} = {value:?} is written with a decimal comma; read as {number}"),
            )
            .record(quirks);
        }
        let number = || decimal.map(|(number, _)| number);
        let mut conflict = |name: &str, present: bool| {
            if !first_block && present {
                Quirk::new(
                    "several-scan-settings",
                    format!("a later scanSettings block also declares {name} = {value}; the first block wins"),
                )
                .record(quirks);
            }
        };
        match accession {
            cv::MAX_COUNT_X => set_first(&mut self.grid.max_count_x, count(), first_block, |p| {
                conflict("max count of pixels x", p)
            }),
            cv::MAX_COUNT_Y => set_first(&mut self.grid.max_count_y, count(), first_block, |p| {
                conflict("max count of pixels y", p)
            }),
            cv::MAX_DIMENSION_X => set_first(&mut self.grid.max_dimension_x, number(), first_block, |p| {
                conflict("max dimension x", p)
            }),
            cv::MAX_DIMENSION_Y => set_first(&mut self.grid.max_dimension_y, number(), first_block, |p| {
                conflict("max dimension y", p)
            }),
            cv::PIXEL_SIZE_X => {
                let v = number().map(|value| declared_length(value, unit));
                set_first(&mut self.pixel_size_x, v, first_block, |p| conflict("pixel size x", p))
            }
            cv::PIXEL_SIZE_Y => {
                let v = number().map(|value| declared_length(value, unit));
                set_first(&mut self.pixel_size_y, v, first_block, |p| conflict("pixel size y", p))
            }
            _ => {}
        }
    }

    pub(crate) fn observe_spectrum_term(&mut self, accession: &str) {
        match accession {
            cv::CENTROID => self.seen_centroid = true,
            cv::PROFILE => self.seen_profile = true,
            cv::POSITIVE_SCAN => self.seen_positive = true,
            cv::NEGATIVE_SCAN => self.seen_negative = true,
            _ => {}
        }
    }

    pub(crate) fn spectrum_type(&self) -> Option<SpectrumType> {
        self.file_spectrum_type
            .or(match (self.seen_centroid, self.seen_profile) {
                (true, false) => Some(SpectrumType::Centroid),
                (false, true) => Some(SpectrumType::Profile),
                _ => None,
            })
    }

    pub(crate) fn polarity(&self) -> Option<Polarity> {
        match (self.seen_positive, self.seen_negative) {
            (true, false) => Some(Polarity::Positive),
            (false, true) => Some(Polarity::Negative),
            _ => None,
        }
    }

    /// Pixel size in micrometres. Where only x is declared, y is taken equal to it.
    pub(crate) fn pixel_size(&self, quirks: &mut Vec<Quirk>) -> Option<PixelSize> {
        let x = self.pixel_size_x.as_ref()?;
        let (x_um, unit) = x.micrometres(quirks);
        // A y declared as x is (the usual case) is read once: its repairs are recorded once.
        let y_um = match &self.pixel_size_y {
            Some(y) if y != x => y.micrometres(quirks).0,
            _ => x_um,
        };
        Some(PixelSize {
            x_um,
            y_um,
            declared_unit: unit.to_string(),
        })
    }
}

fn set_first<T>(slot: &mut Option<T>, value: Option<T>, first_block: bool, on_conflict: impl FnOnce(bool)) {
    if first_block || slot.is_none() {
        if value.is_some() {
            *slot = value;
        }
    } else {
        on_conflict(value.is_some());
    }
}

/// A pixel size `value` with its `unit` (accession, name).
fn declared_length(value: f64, unit: (Option<&str>, Option<&str>)) -> DeclaredLength {
    DeclaredLength {
        value,
        unit_accession: unit.0.map(str::to_string),
        unit_name: unit.1.map(str::to_string),
    }
}
