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
            // 1024 rather than 2048 points: a 5 ppm ion image on the 1 GB generated set reads
            // 2.5x the bytes of its points (median; p90 6.1x) instead of 3.9x (p90 10.3x), for
            // about 2% more conversion time and 2.4% more output.
            mz_chunk_points: 1024,
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

/// Memory of a shard being encoded, in shard sizes: its raw bytes, its inner chunks encoded
/// one by one, and the shard they are assembled into. (Counting two, budgets below ~440 MiB
/// with 32 MiB shards were exceeded by up to 10%: 384 MiB gave a peak RSS of 423 MiB.)
const COPIES_PER_ENCODED_SHARD: u64 = 3;

impl ConvertOptions {
    /// Where to report progress (a private counter when nobody watches).
    pub(crate) fn progress(&self) -> Arc<Progress> {
        self.progress.clone().unwrap_or_default()
    }

    /// The part of the budget the plan hands out: an eighth is kept for what it does not
    /// count (the allocator's slack, the runtime, batches of spectra between threads).
    fn planned_bytes(&self) -> u64 {
        planned_of(self.memory_bytes)
    }

    /// Bytes of the shards being filled (up to three arrays at once) and of `in_flight` shards
    /// being encoded.
    fn shard_bytes_with(&self, in_flight: u64) -> u64 {
        (SHARDS_FILLING + COPIES_PER_ENCODED_SHARD * in_flight) * self.shard_bytes
    }

    /// Whether a budget of `memory` bytes holds, in the half of its plan that is not the
    /// sort's, the shards being filled, one being encoded and (for a remote input) the input
    /// cache.
    fn holds(&self, memory: u64, remote_input: bool) -> bool {
        let cache = if remote_input { input_cache_of(memory) } else { 0 };
        planned_of(memory) / 2 >= self.shard_bytes_with(1) + cache
    }

    /// The smallest budget that [`holds`](Self::holds) (what it holds grows with the budget:
    /// the plan by 7/16 of every byte, the cache by at most 1/8).
    fn minimum_memory_bytes(&self, remote_input: bool) -> u64 {
        let (mut low, mut high) = (0u64, 1u64 << 50);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.holds(middle, remote_input) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        low
    }

    /// Refuses a budget too small for the shard size (and, reading a remote input, for its
    /// cache), rather than exceed it.
    /// `held_bytes` are set aside first: what the parsed input holds for the whole conversion.
    pub(crate) fn check_memory(&self, remote_input: bool, held_bytes: u64) -> crate::Result<()> {
        let minimum = self.minimum_memory_bytes(remote_input) + held_bytes;
        if self.memory_bytes < minimum {
            return Err(crate::ConvertError::MemoryTooSmall {
                memory_mib: self.memory_bytes >> 20,
                shard_mib: self.shard_bytes as f64 / f64::from(1u32 << 20),
                remote_input,
                held_mib: held_bytes.div_ceil(1 << 20),
                minimum_mib: minimum.div_ceil(1 << 20),
            });
        }
        Ok(())
    }

    /// The same options with `held_bytes` taken out of the budget: what the plan may hand out
    /// once the input is parsed.
    pub(crate) fn without(&self, held_bytes: u64) -> Self {
        Self {
            memory_bytes: self.memory_bytes.saturating_sub(held_bytes),
            ..self.clone()
        }
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
    /// holds after the input cache and the shards being filled (up to three arrays at once);
    /// at least one, at most eight.
    pub(crate) fn shards_in_flight(&self) -> usize {
        let available = (self.planned_bytes() / 2)
            .saturating_sub(self.input_cache_bytes())
            .saturating_sub(self.shard_bytes_with(0));
        (available / (COPIES_PER_ENCODED_SHARD * self.shard_bytes).max(1)).clamp(1, 8) as usize
    }

    /// Blocks of a remote input kept in memory: an eighth of the budget, 16 to 256 MiB (it
    /// should hold the rows of spectra a tile of pixels spans, so that each block is fetched
    /// once).
    pub(crate) fn input_cache_bytes(&self) -> u64 {
        input_cache_of(self.memory_bytes)
    }

    /// Inner chunks per shard for inner chunks of `inner_bytes`: as many as fill a shard, up
    /// to [`MAX_CHUNKS_PER_SHARD`].
    pub(crate) fn chunks_per_shard(&self, inner_bytes: u64) -> u64 {
        (self.shard_bytes / inner_bytes.max(1)).clamp(1, MAX_CHUNKS_PER_SHARD)
    }
}

/// Most inner chunks in one shard: its index (16 bytes a chunk), which a reader fetches whole
/// before its first read of the shard, stays within 64 KiB. Tiny inner chunks (one channel
/// of a small grid) would otherwise fill a 32 MiB shard by the hundred thousand, and the first
/// ion image would read a megabyte of index for a few hundred bytes of values.
const MAX_CHUNKS_PER_SHARD: u64 = 4096;

/// The planned part of a budget of `memory` bytes: seven eighths.
fn planned_of(memory: u64) -> u64 {
    memory - memory / 8
}

/// The remote-input cache of a budget of `memory` bytes: an eighth, 16 to 256 MiB.
fn input_cache_of(memory: u64) -> u64 {
    (memory / 8).clamp(16 << 20, 256 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_fill_their_bytes_with_at_most_4096_inner_chunks() {
        let options = ConvertOptions::default();
        assert_eq!(options.shard_bytes, 32 << 20);
        assert_eq!(options.chunks_per_shard(16 << 10), 2048);
        assert_eq!(options.chunks_per_shard(8 << 10), 4096);
        assert_eq!(options.chunks_per_shard(36), MAX_CHUNKS_PER_SHARD);
        assert_eq!(options.chunks_per_shard(0), MAX_CHUNKS_PER_SHARD);
        assert_eq!(options.chunks_per_shard(64 << 20), 1);
    }

    #[test]
    fn budgets_too_small_for_the_shards_are_refused_with_the_minimum() {
        let options = ConvertOptions {
            memory_bytes: 256 << 20,
            ..ConvertOptions::default()
        };
        let message = options.check_memory(false, 0).unwrap_err().to_string();
        assert!(
            message.contains("256 MiB is too small for shards of 32 MiB: give at least 439 MiB"),
            "{message}"
        );
        // A remote input's cache (an eighth of the budget, at least 16 MiB) needs more.
        let remote = ConvertOptions {
            memory_bytes: 439 << 20,
            ..options.clone()
        };
        assert!(remote.check_memory(false, 0).is_ok());
        let message = remote.check_memory(true, 0).unwrap_err().to_string();
        assert!(
            message.contains("shards of 32 MiB and the cache of a remote input: give at least 615 MiB"),
            "{message}"
        );
        let at_minimum = ConvertOptions {
            memory_bytes: 615 << 20,
            ..options.clone()
        };
        assert!(at_minimum.check_memory(true, 0).is_ok());
        assert!(at_minimum.planned_bytes() / 2 >= at_minimum.shard_bytes_with(1) + at_minimum.input_cache_bytes());
        let smaller_shards = ConvertOptions {
            shard_bytes: 16 << 20,
            ..options
        };
        assert!(smaller_shards.check_memory(false, 0).is_ok());
        assert!(ConvertOptions::default().check_memory(true, 0).is_ok());
    }

    #[test]
    fn what_the_parsed_input_holds_comes_out_of_the_budget() {
        let options = ConvertOptions {
            memory_bytes: 500 << 20,
            ..ConvertOptions::default()
        };
        assert!(options.check_memory(false, 61 << 20).is_ok());
        let message = options.check_memory(false, 62 << 20).unwrap_err().to_string();
        assert!(
            message.contains("shards of 32 MiB beside the 62 MiB that the parsed imzML and its per-spectrum tables hold: give at least 501 MiB"),
            "{message}"
        );
        let left = options.without(61 << 20);
        assert_eq!(left.memory_bytes, 439 << 20);
        assert!(left.check_memory(false, 0).is_ok());
    }
}
