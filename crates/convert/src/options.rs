//! Options of a conversion.

use imzarr_format::{Codec, TileOrder};
use imzarr_imzml::ParseOptions;

/// Shapes the store and the checks made on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertOptions {
    /// Compression of the inner chunks.
    pub codec: Codec,
    /// Points per inner chunk of the m/z-major arrays (processed): the unit an ion image reads.
    pub mz_chunk_points: u64,
    /// Points per inner chunk of the spectrum-major arrays (processed).
    pub spectrum_chunk_points: u64,
    /// Target size of one shard (stored object) in bytes before compression.
    pub shard_bytes: u64,
    /// Tile of the pixel order.
    pub tile: TileOrder,
    /// Verify the `.ibd` checksums the header declares before converting.
    pub verify_checksums: bool,
    /// Replace a complete store at the output.
    pub overwrite: bool,
    /// Memory the conversion may use for the in-memory steps (the m/z sort and the
    /// continuous m/z-major cube), in bytes.
    pub memory_bytes: u64,
    /// How to parse the imzML.
    pub parse: ParseOptions,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        Self {
            codec: Codec::default(),
            mz_chunk_points: 8192,
            spectrum_chunk_points: 8192,
            shard_bytes: 32 << 20,
            tile: TileOrder::default(),
            verify_checksums: true,
            overwrite: false,
            memory_bytes: 1 << 30,
            parse: ParseOptions::default(),
        }
    }
}

impl ConvertOptions {
    /// Inner chunks per shard for inner chunks of `inner_bytes`.
    pub(crate) fn chunks_per_shard(&self, inner_bytes: u64) -> u64 {
        (self.shard_bytes / inner_bytes.max(1)).max(1)
    }
}
