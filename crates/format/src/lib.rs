//! The imzarr store layout (version [`FORMAT_VERSION`]): metadata types, array specifications, pixel ordering
//! and m/z index math. No I/O: the converter writes what this crate describes and the reader
//! reads it back. The normative text is `spec/imzarr-1.md` in the repository.

mod array_spec;
mod attributes;
mod mz_blocks;
mod mz_window;
mod ome;
pub mod paths;
mod pixel_order;
pub mod region;
pub mod schema;

pub use array_spec::{ArraySpec, Codec, Shuffle, ValueOrder, group_metadata};
pub use attributes::{
    AcquisitionMode, ConversionInfo, Counts, DtypeNames, FORMAT_NAME, FORMAT_VERSION, GridInfo, ImzarrAttributes,
    MzIndexInfo, OtherArrayInfo, PixelOrder, PixelSizeInfo, SourceInfo, SpectrumTermInfo, StoredTermInfo, UnitInfo,
    VersionCheck, check_version,
};
pub use mz_blocks::{MZ_INDEX_MAX_BLOCKS, MZ_INDEX_MIN_BLOCK_ROWS, MzIndexBlocks, mz_index_block_rows};
pub use mz_window::{MzWindow, chunks_overlapping, ranges_in_mz_order};
pub use ome::{multiscale_levels, ome_multiscales, ome_mz_cube};
pub use pixel_order::{TileOrder, tile_major_order};

/// The sentinel in `pixels/index` for a pixel where no spectrum was acquired.
pub const NO_SPECTRUM: u32 = u32::MAX;
