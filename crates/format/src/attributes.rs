//! The `imzarr` attribute block of the root group.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mz_blocks::MzIndexBlocks;

/// Value of `format` in every imzarr store.
pub const FORMAT_NAME: &str = "imzarr";
/// Version of the specification this crate implements.
pub const FORMAT_VERSION: &str = "1.4";

/// How the spectra store their m/z values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AcquisitionMode {
    /// One m/z axis shared by all spectra.
    Continuous,
    /// Each spectrum has its own m/z values.
    Processed,
}

/// The root group's `imzarr` attribute: what the store holds and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]

pub struct ImzarrAttributes {
    /// Always `imzarr`.
    pub format: String,
    /// `MAJOR.MINOR` of the specification the store follows.
    pub version: String,
    /// Acquisition mode of the stored data.
    pub mode: AcquisitionMode,
    /// `centroid` or `profile`, when known.
    pub spectrum_type: Option<String>,
    /// `positive` or `negative`, when known and the same for all spectra.
    pub polarity: Option<String>,
    /// The pixel grid.
    pub grid: GridInfo,
    /// Order of the stored spectra.
    pub pixel_order: PixelOrder,
    /// Sizes.
    pub counts: Counts,
    /// Smallest and largest m/z of the data (`null` when there are no points).
    pub mz_range: Option<[f64; 2]>,
    /// Zarr data types of the m/z and intensity values (those of the source).
    pub dtypes: DtypeNames,
    /// The m/z chunk index of processed stores (`null` for continuous stores).
    pub mz_index: Option<MzIndexInfo>,
    /// The imzML the store was converted from.
    pub source: SourceInfo,
    /// How the store was made.
    pub conversion: ConversionInfo,
    /// Binary arrays of the source other than m/z and intensity, stored beside the intensities
    /// (since version 1.1; absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_arrays: Vec<OtherArrayInfo>,
    /// Terms the source's spectra gave that the store keeps (since version 1.2; absent when
    /// there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spectrum_terms: Vec<StoredTermInfo>,
}

/// A term given inside the source's `<spectrum>` elements (scan start time, scan window
/// limits, a user parameter) that the store keeps: either one value for every spectrum, or a
/// number per spectrum in the `float64` array [`crate::paths::term_array`] of its `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTermInfo {
    /// Name of its array under `pixels/terms/` (present also when it has none).
    pub key: String,
    /// Its accession (`MS:1000016`), or `userParam` for a user parameter.
    pub accession: String,
    /// Its name (`scan start time`, the user parameter's name).
    pub name: String,
    /// The element of `<spectrum>` that gives it: `spectrum`, `scanList`, `scan` or
    /// `scanWindow`.
    pub element: String,
    /// The unit of its values, when the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitInfo>,
    /// The value every spectrum gives; absent when the term has an array of numbers instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The `type` attribute of a user parameter (`xsd:float`), when the source gives one
    /// (version 1.3).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
    /// For a term with an array of numbers: the fraction digits every spectrum writes its
    /// number with in fixed-point notation (6 for `1.000000`), when they agree and are more
    /// than none; exporters write the numbers so (version 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u32>,
}

impl StoredTermInfo {
    /// The key of a term `accession` (`userParam` with its `name`): the accession, or
    /// `userParam_` and the name, with every character but ASCII letters, digits and `-`
    /// turned into `_`, and `_2`, `_3`, ... appended when one of `taken` has it already.
    pub fn key_for(accession: &str, name: &str, taken: &[String]) -> String {
        let raw = if accession == "userParam" {
            format!("userParam_{name}")
        } else {
            accession.to_string()
        };
        let base = path_segment(&raw);
        let mut key = base.clone();
        let mut n = 1;
        while taken.contains(&key) {
            n += 1;
            key = format!("{base}_{n}");
        }
        key
    }
}

/// A binary array of every spectrum other than m/z and intensity (ion mobility, signal to
/// noise, ...), stored at [`crate::paths::other_array`] of its `key` with the shape and chunks
/// of `spectra/intensity`: one value per point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherArrayInfo {
    /// Name of its array under `spectra/other/`.
    pub key: String,
    /// Accession of its kind in the PSI-MS vocabulary (`MS:1002816`, ...).
    pub accession: String,
    /// Name of its kind (`mean ion mobility array`, ...).
    pub name: String,
    /// Value of the kind's term in the source: the array's own name for a non-standard data
    /// array (`MS:1000786`), usually empty.
    pub value: String,
    /// Zarr data type of its values (that of the source).
    pub dtype: String,
    /// Unit of its values, when the source's kind term gives one (version 1.1; absent when not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitInfo>,
}

/// The unit of a term's value, as the source gave it (`unitAccession`, `unitName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitInfo {
    /// Its accession (`UO:0000028`, `MS:1002814`).
    pub accession: String,
    /// Its name (`millisecond`); empty when the source gave none.
    pub name: String,
}

impl OtherArrayInfo {
    /// The key of an array of kind `accession` whose term has `value`: the accession, and for
    /// a non-standard data array its name, with every character but ASCII letters, digits and
    /// `-` turned into `_` (`MS_1002816`, `MS_1000786_resolution`).
    pub fn key_for(accession: &str, value: &str) -> String {
        let mut key = accession.to_string();
        if accession == "MS:1000786" && !value.is_empty() {
            key.push('_');
            key.push_str(value);
        }
        path_segment(&key)
    }
}

/// `raw` with every character but ASCII letters, digits and `-` turned into `_`: a name that
/// is safe as one segment of a store path.
fn path_segment(raw: &str) -> String {
    raw.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect()
}

impl ImzarrAttributes {
    /// Points per inner chunk of the m/z-major arrays (processed stores); 1 when the store
    /// declares none or 0, so that it can divide.
    pub fn mz_chunk_points(&self) -> u64 {
        self.mz_index.as_ref().map_or(1, |index| index.chunk_points.max(1))
    }
}

/// The pixel grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]

pub struct GridInfo {
    /// Pixels along x.
    pub width: u64,
    /// Pixels along y.
    pub height: u64,
    /// Pixels along z (1 for 2-D data).
    pub depth: u64,
    /// imzML coordinates `[x, y, z]` of grid position `(0, 0, 0)`.
    pub origin: [i64; 3],
    /// Pixel size, when declared.
    pub pixel_size: Option<PixelSizeInfo>,
}

/// Pixel size in micrometres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]

pub struct PixelSizeInfo {
    /// Along x, micrometres.
    pub x: f64,
    /// Along y, micrometres.
    pub y: f64,
    /// Always `micrometer`.
    pub unit: String,
}

/// Order of the stored spectra.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]

pub struct PixelOrder {
    /// Always `tile-major` in versions 1.x.
    pub kind: String,
    /// `[width, height]` of a tile.
    pub tile: [u64; 2],
}

/// Sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]

pub struct Counts {
    /// Stored spectra.
    pub spectra: u64,
    /// Stored points (m/z, intensity pairs) over all spectra.
    pub points: u64,
    /// Channels of the shared axis (continuous stores), `null` otherwise.
    pub channels: Option<u64>,
}

/// Data types of the values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]

pub struct DtypeNames {
    /// Zarr data type of m/z values.
    pub mz: String,
    /// Zarr data type of intensities.
    pub intensity: String,
}

/// The m/z chunk index of processed stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]

pub struct MzIndexInfo {
    /// Points per inner chunk of the m/z-major arrays (the last chunk may hold fewer).
    pub chunk_points: u64,
    /// Order of the points inside one inner chunk: `spectrum` (by stored spectrum number, then
    /// m/z).
    pub order_in_chunk: String,
    /// The coarse level of the chunk index, when the writer wrote one (stores written before
    /// it existed have none: their chunk index is read whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<MzIndexBlocks>,
}

/// The imzML the store was converted from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// File name of the `.imzML`.
    pub imzml_name: String,
    /// File name of the `.ibd`.
    pub ibd_name: String,
    /// Sizes in bytes `[imzML, ibd]`.
    pub sizes: [u64; 2],
    /// UUID declared by the header (canonical spelling), if any.
    pub uuid: Option<String>,
    /// Checksums declared by the header, by algorithm (`md5`, `sha1`, `sha256`).
    pub checksums: serde_json::Map<String, Value>,
    /// Algorithms whose checksum the converter verified against the `.ibd`.
    pub verified_checksums: Vec<String>,
    /// The mode the header declared.
    pub declared_mode: Option<String>,
    /// Deviations from imzML that were repaired, each `{kind, detail}`.
    pub quirks: Vec<Value>,
    /// The whole imzML header as an element tree: `{name, attributes, children, text}`.
    pub header: Value,
    /// Terms the spectra gave that the store does not keep (version 1.1; absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spectrum_terms_not_kept: Vec<SpectrumTermInfo>,
}

/// A term given inside the source's `<spectrum>` elements that the store does not keep: not
/// the position, the spectrum's kind or polarity, nor a value derived from its arrays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpectrumTermInfo {
    /// Its accession (`MS:1000016`), or `userParam` for a user parameter.
    pub accession: String,
    /// Its name (`scan start time`, the user parameter's name).
    pub name: String,
    /// How often it was given, over every spectrum.
    pub occurrences: u64,
}

/// How the store was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]

pub struct ConversionInfo {
    /// Name and version of the converter.
    pub software: String,
    /// Options that shape the store (chunk sizes, codec).
    pub options: Value,
}

/// What a reader may do with a store of a given version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionCheck {
    /// Same version.
    Exact,
    /// Same major, newer minor: readable; unknown additions are to be ignored.
    NewerMinor,
    /// Another major version, or not a version: not readable.
    Incompatible,
}

/// Compares a store's `version` with the one this crate implements.
pub fn check_version(version: &str) -> VersionCheck {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let (major, minor) = v.split_once('.')?;
        Some((major.parse().ok()?, minor.parse().ok()?))
    };
    match (parse(version), parse(FORMAT_VERSION)) {
        (Some(store), Some(ours)) if store == ours => VersionCheck::Exact,
        (Some((major, minor)), Some((our_major, our_minor))) if major == our_major && minor > our_minor => {
            VersionCheck::NewerMinor
        }
        (Some((major, minor)), Some((our_major, our_minor))) if major == our_major && minor < our_minor => {
            VersionCheck::Exact
        }
        _ => VersionCheck::Incompatible,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_array_keys_are_path_safe() {
        assert_eq!(OtherArrayInfo::key_for("MS:1002816", ""), "MS_1002816");
        assert_eq!(OtherArrayInfo::key_for("MS:1002816", "ignored"), "MS_1002816");
        assert_eq!(
            OtherArrayInfo::key_for("MS:1000786", "peak width/2 (FWHM)"),
            "MS_1000786_peak_width_2__FWHM_"
        );
        assert_eq!(OtherArrayInfo::key_for("MS:1000786", ".."), "MS_1000786___");
    }

    #[test]
    fn term_keys_are_path_safe_and_distinct() {
        assert_eq!(
            StoredTermInfo::key_for("MS:1000016", "scan start time", &[]),
            "MS_1000016"
        );
        let taken = vec!["userParam_laser_shots".to_string()];
        assert_eq!(
            StoredTermInfo::key_for("userParam", "laser/shots", &[]),
            "userParam_laser_shots"
        );
        assert_eq!(
            StoredTermInfo::key_for("userParam", "laser/shots", &taken),
            "userParam_laser_shots_2"
        );
    }

    #[test]
    fn versions() {
        assert_eq!(check_version("1.0"), VersionCheck::Exact);
        assert_eq!(check_version("1.1"), VersionCheck::Exact);
        assert_eq!(check_version("1.2"), VersionCheck::Exact);
        assert_eq!(check_version("1.3"), VersionCheck::Exact);
        assert_eq!(check_version("1.7"), VersionCheck::NewerMinor);
        assert_eq!(check_version("2.0"), VersionCheck::Incompatible);
        assert_eq!(check_version("one"), VersionCheck::Incompatible);
    }
}
