//! What parsing an imzML file yields: the interpreted header, the per-spectrum index, the
//! lossless header tree, and the quirks that were repaired.

use std::path::PathBuf;

use crate::dtype::{Compression, DataType};

/// An XML element of the imzML header, kept losslessly: name, attributes in document order,
/// child elements and text. The spectra are not part of it; everything else is.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct XmlNode {
    /// Local element name (`cvParam`, `instrumentConfiguration`, ...).
    pub name: String,
    /// Attributes in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<(String, String)>,
    /// Child elements in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<XmlNode>,
    /// Non-whitespace text content, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl XmlNode {
    /// The value of attribute `key`, if present.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&XmlNode> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every descendant (depth first, including `self`) named `name`.
    pub fn descendants<'a>(&'a self, name: &'a str) -> Vec<&'a XmlNode> {
        let mut found = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            if node.name == name {
                found.push(node);
            }
            stack.extend(node.children.iter().rev());
        }
        found
    }
}

/// How spectra store their m/z values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One m/z array shared by every spectrum (`IMS:1000030`).
    Continuous,
    /// Every spectrum has its own m/z array (`IMS:1000031`).
    Processed,
}

/// Whether spectra are peak lists or sampled profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpectrumType {
    /// `MS:1000127` centroid spectrum.
    Centroid,
    /// `MS:1000128` profile spectrum.
    Profile,
}

/// Scan polarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    /// `MS:1000130` positive scan.
    Positive,
    /// `MS:1000129` negative scan.
    Negative,
}

/// Pixel size as declared, with its unit, and converted to micrometres.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PixelSize {
    /// Size along x in micrometres.
    pub x_um: f64,
    /// Size along y in micrometres.
    pub y_um: f64,
    /// The unit the file declared (`micrometer` when it declared none).
    pub declared_unit: String,
}

/// Checksums of the `.ibd` that the header declares (hex, as written).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Checksums {
    /// `IMS:1000090` ibd MD5.
    pub md5: Option<String>,
    /// `IMS:1000091` ibd SHA-1.
    pub sha1: Option<String>,
    /// `IMS:1000092` ibd SHA-256.
    pub sha256: Option<String>,
}

/// The checksum algorithms imzML declares for the `.ibd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest {
    Md5,
    Sha1,
    Sha256,
}

impl Digest {
    /// The algorithm's name, as errors and the store spell it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Digest::Md5 => "MD5",
            Digest::Sha1 => "SHA-1",
            Digest::Sha256 => "SHA-256",
        }
    }

    /// The algorithm whose digests are `digits` hex digits long.
    pub(crate) fn of_hex_length(digits: usize) -> Option<Self> {
        match digits {
            32 => Some(Digest::Md5),
            40 => Some(Digest::Sha1),
            64 => Some(Digest::Sha256),
            _ => None,
        }
    }
}

/// The grid as the header declares it (may disagree with the coordinates).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeclaredGrid {
    /// `IMS:1000042` max count of pixels x.
    pub max_count_x: Option<u64>,
    /// `IMS:1000043` max count of pixels y.
    pub max_count_y: Option<u64>,
    /// `IMS:1000044` max dimension x (micrometres).
    pub max_dimension_x: Option<f64>,
    /// `IMS:1000045` max dimension y (micrometres).
    pub max_dimension_y: Option<f64>,
}

/// The header terms this reader interprets.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// Mode as declared by `fileContent`, if declared.
    pub declared_mode: Option<Mode>,
    /// Mode the data actually has (from the m/z array offsets).
    pub mode: Mode,
    /// `IMS:1000080`, 16 bytes.
    pub uuid: Option<[u8; 16]>,
    /// Declared `.ibd` checksums.
    pub checksums: Checksums,
    /// Declared grid.
    pub declared_grid: DeclaredGrid,
    /// Declared pixel size.
    pub pixel_size: Option<PixelSize>,
    /// Centroid or profile, from `fileContent` or the spectra.
    pub spectrum_type: Option<SpectrumType>,
    /// Polarity of the spectra, if declared and the same for all.
    pub polarity: Option<Polarity>,
}

/// Where one binary array lives in the `.ibd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayRef {
    /// Byte offset in the `.ibd`.
    pub offset: u64,
    /// Number of values.
    pub length: u64,
    /// Number of bytes at `offset` (after compression).
    pub encoded_length: u64,
    /// Value type.
    pub dtype: DataType,
    /// Compression of the bytes.
    pub compression: Compression,
}

/// One spectrum of the file: where it is and where its arrays are. About 100 bytes each.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumEntry {
    /// Position in the file (0-based, document order).
    pub index: usize,
    /// `IMS:1000050` position x, as written.
    pub x: i64,
    /// `IMS:1000051` position y, as written.
    pub y: i64,
    /// `IMS:1000052` position z, as written (1 when absent).
    pub z: i64,
    /// The m/z array.
    pub mz: ArrayRef,
    /// The intensity array.
    pub intensity: ArrayRef,
    /// Arrays of other kinds (ion mobility, signal to noise, ...).
    pub other_arrays: Vec<OtherArray>,
}

/// A binary array of a kind other than m/z and intensity.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherArray {
    /// The accession of its kind (`MS:1002816` mean ion mobility array, ...; one of
    /// [`crate::cv::OTHER_ARRAY_KINDS`]).
    pub accession: String,
    /// The value of that term: the array's name for a non-standard data array
    /// ([`crate::cv::NON_STANDARD_ARRAY`]), usually empty for the others.
    pub value: String,
    /// The unit of its values, when the kind's term gives one.
    pub unit: Option<Unit>,
    /// Where its values are.
    pub array: ArrayRef,
}

/// The unit a cvParam gives its value (`unitAccession`, `unitName`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unit {
    /// Its accession (`UO:0000028`).
    pub accession: String,
    /// Its name (`millisecond`); empty when the file gives none.
    pub name: String,
}

impl Unit {
    /// The unit of a param's `unitAccession` and `unitName` attributes; none without an
    /// accession (absent or blank).
    pub(crate) fn from_attributes((accession, name): (Option<&str>, Option<&str>)) -> Option<Self> {
        accession.filter(|a| !a.trim().is_empty()).map(|accession| Self {
            accession: accession.trim().to_string(),
            name: name.unwrap_or_default().to_string(),
        })
    }
}

/// A real-world deviation from imzML that the reader repaired or tolerated.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quirk {
    /// A short stable identifier (`grid-from-coordinates`, `wrapped-offset`, ...).
    pub kind: String,
    /// What was found and what was done about it.
    pub detail: String,
}

/// Quirks of one kind kept with their details; further ones are counted in one more entry.
const DETAILED_PER_KIND: usize = 5;
/// How the counting entry's detail ends.
const MORE_SUFFIX: &str = " more of this kind (details of the first few above)";

impl Quirk {
    pub(crate) fn new(kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: kind.to_string(),
            detail: detail.into(),
        }
    }

    /// Adds `self` to `quirks`: in full for the first few of its kind, then only counted in
    /// one last entry of the kind, so that a file repaired at every one of its million
    /// spectra gives a handful of lines and a small metadata block, not a million.
    pub(crate) fn record(self, quirks: &mut Vec<Quirk>) {
        let mut seen = 0;
        for quirk in quirks.iter_mut().filter(|q| q.kind == self.kind) {
            if let Some(count) = quirk.detail.strip_suffix(MORE_SUFFIX) {
                let count: u64 = count.parse().unwrap_or(0);
                quirk.detail = format!("{}{MORE_SUFFIX}", count + 1);
                return;
            }
            seen += 1;
        }
        if seen < DETAILED_PER_KIND {
            quirks.push(self);
        } else {
            quirks.push(Quirk::new(&self.kind, format!("1{MORE_SUFFIX}")));
        }
    }
}

/// A parsed imzML file: everything but the binary values.
#[derive(Debug, Clone)]
pub struct Imzml {
    /// The `.imzML` file.
    pub path: PathBuf,
    /// The `.ibd` file beside it.
    pub ibd_path: PathBuf,
    /// Interpreted header terms.
    pub header: Header,
    /// The whole header as an element tree (the `<mzML>` root without the spectra).
    pub document: XmlNode,
    /// Spectra in document order.
    pub spectra: Vec<SpectrumEntry>,
    /// Repaired deviations.
    pub quirks: Vec<Quirk>,
    /// Terms given in spectra (not in [`crate::cv::SPECTRUM_TERMS_KEPT`]: scan start times,
    /// scan windows, user parameters, ...) that a store keeps: each is given at most once per
    /// spectrum, always in the same element and unit, and is either the same in every
    /// spectrum or a number. In order of first appearance.
    pub spectrum_terms: Vec<crate::spectrum_terms::SpectrumTermValues>,
    /// The other terms given in spectra, which a store does not keep. Together with
    /// [`Imzml::spectrum_terms`], up to [`SpectrumTerm::MAX_DISTINCT`] distinct ones.
    pub spectrum_terms_not_kept: Vec<SpectrumTerm>,
}

/// A term given inside `<spectrum>` elements (outside their binary arrays) that a store does not
/// keep; terms of referenceable groups are kept with the header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpectrumTerm {
    /// Its accession (`MS:1000016`), or `userParam` for a user parameter.
    pub accession: String,
    /// Its name (`scan start time`, the user parameter's name).
    pub name: String,
    /// How often it was found, over every spectrum.
    pub occurrences: u64,
}

impl SpectrumTerm {
    /// Most distinct terms that spectra may give and are kept or listed; further ones are
    /// neither.
    pub const MAX_DISTINCT: usize = 64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quirks_of_one_kind_are_detailed_a_few_times_then_counted() {
        let mut quirks = vec![Quirk::new("grid-from-coordinates", "once")];
        for i in 0..1000 {
            Quirk::new("several-precision-terms", format!("spectrum {i}")).record(&mut quirks);
        }
        Quirk::new("decimal-offset", "spectrum 7").record(&mut quirks);
        let details: Vec<&str> = quirks.iter().map(|q| q.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "once",
                "spectrum 0",
                "spectrum 1",
                "spectrum 2",
                "spectrum 3",
                "spectrum 4",
                "995 more of this kind (details of the first few above)",
                "spectrum 7"
            ]
        );
    }
}
