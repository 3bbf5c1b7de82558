//! Paths of the groups and arrays of an imzarr store, relative to its root.

/// Group of per-spectrum tables and the dense pixel index.
pub const PIXELS: &str = "pixels";
/// Grid x (0-based) of each stored spectrum, `uint32`.
pub const PIXELS_X: &str = "pixels/x";
/// Grid y (0-based) of each stored spectrum, `uint32`.
pub const PIXELS_Y: &str = "pixels/y";
/// Grid z (0-based) of each stored spectrum, `uint32`; only in 3-D stores.
pub const PIXELS_Z: &str = "pixels/z";
/// Index of each stored spectrum in the source imzML, `uint32`.
pub const PIXELS_SOURCE_INDEX: &str = "pixels/source_index";
/// Total ion current of each stored spectrum, `float64`.
pub const PIXELS_TIC: &str = "pixels/tic";
/// Number of points of each stored spectrum, `uint64`.
pub const PIXELS_POINT_COUNT: &str = "pixels/point_count";
/// Offset of each spectrum's first point in the spectrum-major arrays (`n + 1` values),
/// `uint64`; processed stores only.
pub const PIXELS_POINT_OFFSET: &str = "pixels/point_offset";
/// Group of the numbers per spectrum of kept spectrum terms (version 1.2), one array per
/// [`crate::StoredTermInfo`] of the root attributes that has no single value.
pub const PIXELS_TERMS: &str = "pixels/terms";

/// The array of the spectrum term `key` ([`crate::StoredTermInfo::key`]), `float64`.
pub fn term_array(key: &str) -> String {
    format!("{PIXELS_TERMS}/{key}")
}

/// Dense `([z,] y, x)` map from pixel to stored spectrum number, `uint32`.
pub const PIXELS_INDEX: &str = "pixels/index";
/// Group of the spectrum-major layout.
pub const SPECTRA: &str = "spectra";
/// m/z values: all points (processed) or the shared axis (continuous).
pub const SPECTRA_MZ: &str = "spectra/mz";
/// Intensities: all points (processed) or `(spectrum, channel)` (continuous).
pub const SPECTRA_INTENSITY: &str = "spectra/intensity";
/// Group of the arrays other than m/z and intensity (version 1.1), one per
/// [`crate::OtherArrayInfo`] of the root attributes.
pub const SPECTRA_OTHER: &str = "spectra/other";

/// The array of the other binary array `key` ([`crate::OtherArrayInfo::key`]).
pub fn other_array(key: &str) -> String {
    format!("{SPECTRA_OTHER}/{key}")
}

/// Group of the m/z-major layout.
pub const MZ_MAJOR: &str = "mz_major";
/// Processed: m/z of every point, in m/z-chunk order.
pub const MZ_MAJOR_MZ: &str = "mz_major/mz";
/// Processed: intensity of every point; continuous: `(channel, [z,] y, x)` cube.
pub const MZ_MAJOR_INTENSITY: &str = "mz_major/intensity";
/// Processed: stored spectrum number of every point, `uint32`.
pub const MZ_MAJOR_SPECTRUM: &str = "mz_major/spectrum";
/// Processed: `(chunk, 2)` smallest and largest m/z of every inner chunk, `float64`.
pub const MZ_MAJOR_CHUNK_MZ_RANGE: &str = "mz_major/chunk_mz_range";
/// Group of OME-Zarr images.
pub const IMAGES: &str = "images";
/// OME-Zarr 0.5 multiscale image of the total ion current.
pub const IMAGES_TIC: &str = "images/tic";

/// Every group and array this version of the specification defines, but the levels of the
/// TIC image (`images/tic/0`, `images/tic/1`, ...), the other binary arrays
/// (`spectra/other/<key>`) and the spectrum term arrays (`pixels/terms/<key>`).
const DEFINED_NODES: [&str; 21] = [
    PIXELS,
    PIXELS_X,
    PIXELS_Y,
    PIXELS_Z,
    PIXELS_SOURCE_INDEX,
    PIXELS_TIC,
    PIXELS_POINT_COUNT,
    PIXELS_POINT_OFFSET,
    PIXELS_INDEX,
    PIXELS_TERMS,
    SPECTRA,
    SPECTRA_MZ,
    SPECTRA_INTENSITY,
    SPECTRA_OTHER,
    MZ_MAJOR,
    MZ_MAJOR_MZ,
    MZ_MAJOR_INTENSITY,
    MZ_MAJOR_SPECTRUM,
    MZ_MAJOR_CHUNK_MZ_RANGE,
    IMAGES,
    IMAGES_TIC,
];

/// Whether `path` (relative to the root, no leading `/`) names a node this version of the
/// specification defines. Other nodes are extensions (a later version's arrays, a user's
/// labels added with zarr-python), which readers ignore.
pub fn is_defined_node(path: &str) -> bool {
    DEFINED_NODES.contains(&path)
        || path
            .strip_prefix("images/tic/")
            .is_some_and(|level| !level.is_empty() && level.bytes().all(|b| b.is_ascii_digit()))
        || ["spectra/other/", "pixels/terms/"].iter().any(|group| {
            path.strip_prefix(group)
                .is_some_and(|key| !key.is_empty() && !key.contains('/'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defined_nodes_are_the_spec_s_and_the_tic_levels() {
        for path in [
            "pixels",
            "pixels/index",
            "mz_major/chunk_mz_range",
            "images/tic",
            "images/tic/0",
            "images/tic/12",
            "spectra/other",
            "spectra/other/MS_1002816",
            "pixels/terms",
            "pixels/terms/MS_1000016",
        ] {
            assert!(is_defined_node(path), "{path}");
        }
        for path in [
            "labels",
            "labels/tissue",
            "images/tic/",
            "images/tic/0a",
            "images/feature",
            "spectra/noise",
            "spectra/other/",
            "spectra/other/a/b",
            "pixels/terms/",
            "pixels/terms/a/b",
            "",
        ] {
            assert!(!is_defined_node(path), "{path}");
        }
    }
}
