//! Controlled-vocabulary accessions that imzML and mzML define and this reader interprets.
//!
//! Terms are matched by accession, never by name: writers disagree on names (see
//! `Quirk::NameDisagrees`), while accessions are stable.

/// `IMS:1000030` continuous: all spectra share one m/z array.
pub const CONTINUOUS: &str = "IMS:1000030";
/// `IMS:1000031` processed: every spectrum has its own m/z array.
pub const PROCESSED: &str = "IMS:1000031";
/// `IMS:1000080` universally unique identifier of the `.ibd` file.
pub const UUID: &str = "IMS:1000080";
/// `IMS:1000090` MD5 of the `.ibd` file.
pub const IBD_MD5: &str = "IMS:1000090";
/// `IMS:1000091` SHA-1 of the `.ibd` file.
pub const IBD_SHA1: &str = "IMS:1000091";
/// `IMS:1000092` SHA-256 of the `.ibd` file.
pub const IBD_SHA256: &str = "IMS:1000092";
/// `IMS:1000042` max count of pixels x.
pub const MAX_COUNT_X: &str = "IMS:1000042";
/// `IMS:1000043` max count of pixels y.
pub const MAX_COUNT_Y: &str = "IMS:1000043";
/// `IMS:1000044` max dimension x.
pub const MAX_DIMENSION_X: &str = "IMS:1000044";
/// `IMS:1000045` max dimension y.
pub const MAX_DIMENSION_Y: &str = "IMS:1000045";
/// `IMS:1000046` pixel size (x).
pub const PIXEL_SIZE_X: &str = "IMS:1000046";
/// `IMS:1000047` pixel size y.
pub const PIXEL_SIZE_Y: &str = "IMS:1000047";
/// `IMS:1000050` position x.
pub const POSITION_X: &str = "IMS:1000050";
/// `IMS:1000051` position y.
pub const POSITION_Y: &str = "IMS:1000051";
/// `IMS:1000052` position z.
pub const POSITION_Z: &str = "IMS:1000052";
/// `IMS:1000102` external offset.
pub const EXTERNAL_OFFSET: &str = "IMS:1000102";
/// `IMS:1000103` external array length.
pub const EXTERNAL_ARRAY_LENGTH: &str = "IMS:1000103";
/// `IMS:1000104` external encoded length.
pub const EXTERNAL_ENCODED_LENGTH: &str = "IMS:1000104";
/// `MS:1000514` m/z array.
pub const MZ_ARRAY: &str = "MS:1000514";
/// `MS:1000515` intensity array.
pub const INTENSITY_ARRAY: &str = "MS:1000515";
/// `MS:1000786` non-standard data array: its term's value names the array.
pub const NON_STANDARD_ARRAY: &str = "MS:1000786";
/// Binary array kinds of the PSI-MS vocabulary other than m/z and intensity (every child of
/// `MS:1000513` binary data array), with their names.
pub const OTHER_ARRAY_KINDS: [(&str, &str); 25] = [
    ("MS:1000516", "charge array"),
    ("MS:1000517", "signal to noise array"),
    ("MS:1000595", "time array"),
    ("MS:1000617", "wavelength array"),
    (NON_STANDARD_ARRAY, "non-standard data array"),
    ("MS:1000820", "flow rate array"),
    ("MS:1000821", "pressure array"),
    ("MS:1000822", "temperature array"),
    ("MS:1002477", "mean drift time array"),
    ("MS:1002478", "mean charge array"),
    ("MS:1002529", "resolution array"),
    ("MS:1002530", "baseline array"),
    ("MS:1002742", "noise array"),
    ("MS:1002743", "sampled noise m/z array"),
    ("MS:1002744", "sampled noise intensity array"),
    ("MS:1002745", "sampled noise baseline array"),
    ("MS:1002816", "mean ion mobility array"),
    ("MS:1002893", "ion mobility array"),
    ("MS:1003006", "mean inverse reduced ion mobility array"),
    ("MS:1003007", "raw ion mobility array"),
    ("MS:1003008", "raw inverse reduced ion mobility array"),
    ("MS:1003143", "mass array"),
    ("MS:1003154", "deconvoluted ion mobility array"),
    ("MS:1003157", "scanning quadrupole position lower bound m/z array"),
    ("MS:1003158", "scanning quadrupole position upper bound m/z array"),
];

/// The name of `accession` when it is one of [`OTHER_ARRAY_KINDS`].
pub fn other_array_name(accession: &str) -> Option<&'static str> {
    OTHER_ARRAY_KINDS
        .iter()
        .find(|(a, _)| *a == accession)
        .map(|(_, name)| *name)
}

/// `MS:1000127` centroid spectrum.
pub const CENTROID: &str = "MS:1000127";
/// `MS:1000128` profile spectrum.
pub const PROFILE: &str = "MS:1000128";
/// `MS:1000129` negative scan.
pub const NEGATIVE_SCAN: &str = "MS:1000129";
/// `MS:1000130` positive scan.
pub const POSITIVE_SCAN: &str = "MS:1000130";
/// `MS:1000285` total ion current.
pub const TOTAL_ION_CURRENT: &str = "MS:1000285";
/// `MS:1000576` no compression.
pub const NO_COMPRESSION: &str = "MS:1000576";
/// `MS:1000574` zlib compression.
pub const ZLIB_COMPRESSION: &str = "MS:1000574";

/// Numpress and other compression terms that are valid mzML but not implemented here.
pub const UNSUPPORTED_COMPRESSIONS: &[(&str, &str)] = &[
    ("MS:1002312", "MS-Numpress linear prediction compression"),
    ("MS:1002313", "MS-Numpress positive integer compression"),
    ("MS:1002314", "MS-Numpress short logged float compression"),
    (
        "MS:1002746",
        "MS-Numpress linear prediction compression followed by zlib",
    ),
    (
        "MS:1002747",
        "MS-Numpress positive integer compression followed by zlib",
    ),
    (
        "MS:1002748",
        "MS-Numpress short logged float compression followed by zlib",
    ),
];

/// Terms of a `<spectrum>` (outside its binary arrays) that a store keeps or recomputes:
/// the position, the spectrum's kind and polarity, and values derived from its arrays (lowest
/// and highest m/z, base peak, total ion current). Any other term of a spectrum is not kept.
pub const SPECTRUM_TERMS_KEPT: [&str; 16] = [
    POSITION_X,
    POSITION_Y,
    POSITION_Z,
    CENTROID,
    PROFILE,
    NEGATIVE_SCAN,
    POSITIVE_SCAN,
    TOTAL_ION_CURRENT,
    "MS:1000795", // no combination
    "MS:1000511", // ms level
    "MS:1000294", // mass spectrum
    "MS:1000579", // MS1 spectrum
    "MS:1000528", // lowest observed m/z
    "MS:1000527", // highest observed m/z
    "MS:1000504", // base peak m/z
    "MS:1000505", // base peak intensity
];
