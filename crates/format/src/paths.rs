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
/// Dense `([z,] y, x)` map from pixel to stored spectrum number, `uint32`.
pub const PIXELS_INDEX: &str = "pixels/index";
/// Group of the spectrum-major layout.
pub const SPECTRA: &str = "spectra";
/// m/z values: all points (processed) or the shared axis (continuous).
pub const SPECTRA_MZ: &str = "spectra/mz";
/// Intensities: all points (processed) or `(spectrum, channel)` (continuous).
pub const SPECTRA_INTENSITY: &str = "spectra/intensity";
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
