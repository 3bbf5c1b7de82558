//! Options of a conversion.

use std::path::PathBuf;
use std::sync::Arc;

use imzarr_format::{Codec, TileOrder};
use imzarr_imzml::ParseOptions;

use crate::mz_sort::SortBudget;
use crate::progress::Progress;

/// Shapes the store and the checks made on the way.
#[derive(Debug, Clone)]
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
    /// Continue an interrupted conversion of the same input with the same options, keeping
    /// the shards it finished.
    pub resume: bool,
    /// Memory the conversion may use, in bytes. Half of it goes to the m/z sort and the
    /// continuous transpose, which spill to temporary files beyond it; the rest to the shards
    /// being encoded.
    pub memory_bytes: u64,
    /// Directory of the temporary files of the sort (the system's temporary directory when
    /// `None`).
    pub temp_dir: Option<PathBuf>,
    /// How to parse the imzML.
    pub parse: ParseOptions,
    /// Updated as the conversion goes, for progress displays.
    pub progress: Option<Arc<Progress>>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        Self {
            codec: Codec::default(),
            mz_chunk_points: 2048,
            spectrum_chunk_points: 8192,
            shard_bytes: 32 << 20,
            tile: TileOrder::default(),
            verify_checksums: true,
            overwrite: false,
            resume: false,
            memory_bytes: 1 << 30,
            temp_dir: None,
            parse: ParseOptions::default(),
            progress: None,
        }
    }
}

/// Shards being filled at once: up to three arrays are written side by side.
const SHARDS_FILLING: u64 = 3;

impl ConvertOptions {
    /// Where to report progress (a private counter when nobody watches).
    pub(crate) fn progress(&self) -> Arc<Progress> {
        self.progress.clone().unwrap_or_default()
    }

    /// The part of the budget the plan hands out: an eighth is kept for what it does not
    /// count (the allocator's slack, the runtime, batches of spectra between threads).
    fn planned_bytes(&self) -> u64 {
        self.memory_bytes - self.memory_bytes / 8
    }

    /// Bytes of the shards being filled (up to three arrays at once) and of `in_flight` shards
    /// being encoded (raw and encoded bytes each).
    fn shard_bytes_with(&self, in_flight: u64) -> u64 {
        (SHARDS_FILLING + 2 * in_flight) * self.shard_bytes
    }

    /// The smallest budget whose half of the plan (the half that is not the sort's) holds the
    /// shards being filled and one being encoded.
    fn minimum_memory_bytes(&self) -> u64 {
        // planned_bytes() / 2 >= shard_bytes_with(1), with planned = 7/8 of the budget.
        (2 * self.shard_bytes_with(1) * 8).div_ceil(7)
    }

    /// Refuses a budget too small for the shard size, rather than exceed it.
    pub(crate) fn check_memory(&self) -> crate::Result<()> {
        let minimum = self.minimum_memory_bytes();
        if self.memory_bytes < minimum {
            return Err(crate::ConvertError::MemoryTooSmall {
                memory_mib: self.memory_bytes >> 20,
                shard_mib: self.shard_bytes as f64 / f64::from(1u32 << 20),
                minimum_mib: minimum.div_ceil(1 << 20),
            });
        }
        Ok(())
    }

    /// Budget and place of the m/z sort and the continuous transpose.
    pub(crate) fn sort_budget(&self) -> SortBudget {
        SortBudget {
            memory_bytes: self.planned_bytes() / 2,
            temp_dir: self.temp_dir.clone().unwrap_or_else(std::env::temp_dir),
            in_memory_bucket_points: crate::mz_sort::IN_MEMORY_BUCKET_POINTS,
        }
    }

    /// Shards encoded and uploaded at once: as many as the other half of the memory budget
    /// holds after the input cache and the shards being filled (up to three arrays at once),
    /// each needing its raw and its encoded bytes; at least one, at most eight.
    pub(crate) fn shards_in_flight(&self) -> usize {
        let available = (self.planned_bytes() / 2)
            .saturating_sub(self.input_cache_bytes())
            .saturating_sub(self.shard_bytes_with(0));
        (available / (2 * self.shard_bytes).max(1)).clamp(1, 8) as usize
    }

    /// Blocks of a remote input kept in memory: an eighth of the budget, 16 to 256 MiB (it
    /// should hold the rows of spectra a tile of pixels spans, so that each block is fetched
    /// once).
    pub(crate) fn input_cache_bytes(&self) -> u64 {
        (self.memory_bytes / 8).clamp(16 << 20, 256 << 20)
    }

    /// Inner chunks per shard for inner chunks of `inner_bytes`.
    pub(crate) fn chunks_per_shard(&self, inner_bytes: u64) -> u64 {
        (self.shard_bytes / inner_bytes.max(1)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_too_small_for_the_shards_are_refused_with_the_minimum() {
        let options = ConvertOptions {
            memory_bytes: 256 << 20,
            ..ConvertOptions::default()
        };
        let message = options.check_memory().unwrap_err().to_string();
        assert!(
            message.contains("256 MiB is too small for shards of 32 MiB: give at least 366 MiB"),
            "{message}"
        );
        let smaller_shards = ConvertOptions {
            shard_bytes: 16 << 20,
            ..options
        };
        assert!(smaller_shards.check_memory().is_ok());
        assert!(ConvertOptions::default().check_memory().is_ok());
    }
}
