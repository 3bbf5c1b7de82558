//! Continuous data: the shared m/z axis, spectrum-major rows, and the m/z-major cube.

use imzarr_format::paths;
use imzarr_imzml::ArrayBytes;

use crate::error::{ConvertError, Result};
use crate::layout;
use crate::options::ConvertOptions;
use crate::other_arrays::{OtherStreams, OtherValues};
use crate::progress::Phase;
use crate::shuffle_choice::intensity_shuffle;
use crate::source::Source;
use crate::spatial_shards::ShardGrid;
use crate::spectrum_stats::SpectrumStats;
use crate::spill::Spill;
use crate::store_writer::{ShardStream, StoreWriter};
use crate::transpose;

pub(crate) async fn write(
    source: &Source,
    store: &mut StoreWriter,
    options: &ConvertOptions,
) -> Result<(SpectrumStats, u64)> {
    let first = &source.imzml.spectra[0];
    let channels = first.mz.length;
    let (mz_size, int_size) = (source.mz_dtype.size() as u64, source.intensity_dtype.size() as u64);
    let (mz_type, int_type) = (source.mz_dtype.zarr_name(), source.intensity_dtype.zarr_name());
    let spatial = source.spatial_shape();
    let unsupported = |message: String| ConvertError::Unsupported {
        input: source.input_name(),
        message,
    };
    let rows_spec = layout::spectrum_rows(source.order.len() as u64, channels, int_type, int_size, options);
    let row_chunk: u64 = rows_spec.inner_shape.iter().product();
    let shuffle = intensity_shuffle(source, row_chunk, options.codec)?;
    let rows_spec = rows_spec.with_shuffle(shuffle);
    let cube_spec = layout::channel_cube(channels, &spatial, int_type, int_size, options).with_shuffle(shuffle);
    let shard_grid = ShardGrid::new(&spatial, &cube_spec.shard_shape[1..]);
    let occupied = shard_grid.occupied(source.order.iter().map(|&i| source.positions[i]));
    let shard_channels = cube_spec.shard_shape[0];
    // The cube is transposed in the shards that hold spectra only: bytes of one channel there.
    let channel_bytes = occupied.len() as u64 * shard_grid.area() * int_size;
    let budget = options.sort_budget();
    let values_bytes = source.order.len() as u64 * channels * int_size;
    check_sparsity(source, occupied.len(), channels * channel_bytes, values_bytes).map_err(unsupported)?;
    let blocks = ChannelBlocks::plan(channels, shard_channels, channel_bytes, values_bytes, budget.memory_bytes)
        .ok_or_else(|| {
            unsupported(format!(
                "one shard of m/z channels of the m/z-major cube ({shard_channels} channels x {} pixels in {} spatial shards) does not fit the memory budget of {} MiB; raise --memory",
                shard_grid.area(),
                occupied.len(),
                options.memory_bytes >> 20
            ))
        })?;
    // Rows come back for the transpose either from the .ibd itself (a local file whose
    // intensity arrays are stored uncompressed: read again, in parts) or from a spill of the
    // rows written while they stream through (a remote or compressed input, decoded once).
    let mut spill = if source.reads_values_in_parts() {
        None
    } else {
        let cube_bytes = blocks.per_block * channel_bytes;
        let in_memory = blocks.count() == 1 && values_bytes + cube_bytes <= budget.memory_bytes;
        Some(Spill::new(
            blocks.count(),
            in_memory,
            budget.buffers_bytes(),
            &budget.temp_dir,
        )?)
    };

    let mut axis = ArrayBytes {
        dtype: source.mz_dtype,
        bytes: Vec::new(),
    };
    source.ibd.read_array_into(first.index, "m/z", &first.mz, &mut axis)?;
    let axis_values = axis.to_f64_vec();
    // The source stores unsorted axes as processed; this holds whatever the caller.
    if let Some(i) = first_unsorted(&axis_values) {
        return Err(unsupported(format!(
            "the shared m/z axis is not sorted ascending at channel {i} ({} then {})",
            axis_values[i],
            axis_values[i + 1]
        )));
    }
    let axis_spec = layout::vector(
        channels,
        mz_type,
        mz_size,
        1 << 16,
        layout::zero(mz_type),
        "channel",
        options,
    );
    let axis_array = store.create_array(paths::SPECTRA_MZ, axis_spec).await?;
    store
        .write_full(&axis_array, &axis.bytes, &vec![0u8; mz_size as usize])
        .await?;

    let mut rows = ShardStream::new(store.create_array(paths::SPECTRA_INTENSITY, rows_spec).await?);
    let spectra = source.order.len() as u64;
    let mut other_streams = OtherStreams::create(store, &source.other_kinds, |dtype| {
        layout::spectrum_rows(spectra, channels, dtype.zarr_name(), dtype.size() as u64, options)
    })
    .await?;
    let mut other_values = OtherValues::new(&source.other_kinds);
    let mut stats = SpectrumStats::with_capacity(source.order.len());
    stats.add_mz(first.index, &axis_values, &source.input_name())?;
    let mut intensity = ArrayBytes {
        dtype: source.intensity_dtype,
        bytes: Vec::new(),
    };
    let element = int_size as usize;
    let progress = options.progress();
    let mz_share = source.mz_dtype.size() as u64 * channels;
    for &index in &source.order {
        let entry = &source.imzml.spectra[index];
        source
            .ibd
            .read_array_into(entry.index, "intensity", &entry.intensity, &mut intensity)?;
        stats.add_spectrum(&intensity);
        rows.push(store, &intensity.bytes).await?;
        other_values.read(&source.ibd, entry)?;
        other_streams.push(store, other_values.bytes()).await?;
        progress.advance(intensity.bytes.len() as u64 + mz_share);
        if let Some(spill) = &mut spill {
            for (block, channels) in blocks.iter().enumerate() {
                spill.push(
                    block,
                    &intensity.bytes[channels.start as usize * element..channels.end as usize * element],
                )?;
            }
        }
    }
    rows.finish(store).await?;
    other_streams.finish(store).await?;

    progress.enter(Phase::WritingMzMajor);
    let cube_array = store.create_array(paths::MZ_MAJOR_INTENSITY, cube_spec).await?;
    let cube_layout = CubeLayout {
        slots: occupied.len() as u64,
        area: shard_grid.area(),
        shard_channels,
    };
    let pixel_at: Vec<u64> = source
        .order
        .iter()
        .map(|&i| cube_layout.pixel_at(&shard_grid, &occupied, source.positions[i]))
        .collect();
    let mut buckets = spill.map(Spill::into_buckets).transpose()?.map(Vec::into_iter);
    let mut cube = Vec::new();
    // Spectra without a single channel (every array empty) leave the cube empty.
    for channels in blocks.iter().filter(|channels| !channels.is_empty()) {
        let width = (channels.end - channels.start) as usize;
        let row_bytes = width * element;
        let channel_at: Vec<u64> = (0..width as u64).map(|c| cube_layout.channel_at(c)).collect();
        cube.clear();
        cube.resize(cube_layout.block_elements(width as u64) as usize * element, 0);
        let mut transposed = 0;
        let scatter = |rows: &[u8]| -> Result<()> {
            let count = rows.len() / row_bytes;
            let pixel_at = pixel_at.get(transposed..transposed + count).ok_or_else(|| {
                unsupported(format!(
                    "the rows of channels {channels:?} hold more spectra than the input"
                ))
            })?;
            transpose::rows_to_cube(rows, width, source.intensity_dtype, pixel_at, &channel_at, &mut cube);
            transposed += count;
            Ok(())
        };
        match buckets.as_mut() {
            Some(spilled) => {
                let bucket = spilled
                    .next()
                    .ok_or_else(|| unsupported(format!("no spilled rows for channels {channels:?}")))?;
                bucket.for_each_batch(row_bytes, transpose::SPECTRA_PER_PASS, &budget.temp_dir, scatter)?;
            }
            None => read_rows_again(source, channels.clone(), row_bytes, scatter)?,
        }
        if transposed != pixel_at.len() {
            return Err(unsupported(format!(
                "the rows of channels {channels:?} hold {transposed} spectra, not {}",
                pixel_at.len()
            )));
        }
        let shard_bytes = cube_layout.shard_elements() as usize * element;
        for (k, shard) in cube.chunks_exact(shard_bytes).enumerate() {
            let (channel_shard, slot) = (k / occupied.len(), k % occupied.len());
            let mut indices = vec![channels.start / shard_channels + channel_shard as u64];
            indices.extend(shard_grid.indices(occupied[slot]));
            let mut buffer = store.shard_buffer(shard_bytes);
            buffer.extend_from_slice(shard);
            store.write_shard(&cube_array, &indices, buffer).await?;
        }
        progress.advance(
            (channels.end - channels.start) * pixel_at.len() as u64 * (element as u64 + source.mz_dtype.size() as u64),
        );
    }
    Ok((stats, channels))
}

/// Refuses grids so sparse that the m/z-major cube, even in the shards that hold spectra
/// only, would be many times the values (coordinates that step by more than one pixel, e.g.
/// given in micrometres): its transpose would take that many times longer.
fn check_sparsity(
    source: &Source,
    occupied: usize,
    cube_bytes: u64,
    values_bytes: u64,
) -> std::result::Result<(), String> {
    if cube_bytes <= MAX_CUBE_EXPANSION.saturating_mul(values_bytes).max(MIN_CUBE_REFUSED) {
        return Ok(());
    }
    Err(format!(
        "{} spectra on a grid of {} x {} x {} pixels lie so far apart that the m/z-major cube would take {:.0} times their {} bytes of intensities, even in the {} spatial shards that hold them (at most {MAX_CUBE_EXPANSION} times is converted); are the coordinates pixel indices?",
        source.order.len(),
        source.grid.width,
        source.grid.height,
        source.grid.depth,
        cube_bytes as f64 / values_bytes.max(1) as f64,
        values_bytes,
        occupied,
    ))
}

/// How many times the intensities the m/z-major cube may take before a grid is refused.
const MAX_CUBE_EXPANSION: u64 = 64;

/// Cubes no larger than this are written however sparse their grid.
const MIN_CUBE_REFUSED: u64 = 1 << 30;

/// Where the values of a block of channels lie in the buffer that holds the block's part of
/// the cube: shard after shard (by channel shard, then by occupied spatial shard), each in the
/// C order of the shard's shape, so that every shard is one contiguous run.
struct CubeLayout {
    slots: u64,
    area: u64,
    shard_channels: u64,
}

impl CubeLayout {
    /// Elements of one shard.
    fn shard_elements(&self) -> u64 {
        self.shard_channels * self.area
    }

    /// Elements of the buffer of a block of `width` channels (whole shards).
    fn block_elements(&self, width: u64) -> u64 {
        width.div_ceil(self.shard_channels) * self.slots * self.shard_elements()
    }

    /// Offset of channel `c` of a block (counted from the block's first channel).
    fn channel_at(&self, c: u64) -> u64 {
        let (shard, within) = (c / self.shard_channels, c % self.shard_channels);
        shard * self.slots * self.shard_elements() + within * self.area
    }

    /// Offset of `pixel` (`[x, y, z]`; in one of the `occupied` shards of `grid`).
    fn pixel_at(&self, grid: &ShardGrid, occupied: &[u64], pixel: [u64; 3]) -> u64 {
        let (number, local) = grid.locate(pixel);
        let slot = occupied.partition_point(|&n| n < number) as u64;
        slot * self.shard_elements() + local
    }
}

/// Reads the values of `channels` of every spectrum again from the `.ibd` (in stored order,
/// [`transpose::SPECTRA_PER_PASS`] rows of `row_bytes` at a time) and hands them to `each`.
fn read_rows_again(
    source: &Source,
    channels: std::ops::Range<u64>,
    row_bytes: usize,
    mut each: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut rows = vec![0u8; transpose::SPECTRA_PER_PASS.min(source.order.len()) * row_bytes];
    for pass in source.order.chunks(transpose::SPECTRA_PER_PASS) {
        let rows = &mut rows[..pass.len() * row_bytes];
        for (row, &index) in rows.chunks_exact_mut(row_bytes).zip(pass) {
            let entry = &source.imzml.spectra[index];
            source
                .ibd
                .read_values_into(entry.index, "intensity", &entry.intensity, channels.clone(), row)?;
        }
        each(rows)?;
    }
    Ok(())
}

/// Bytes of the cube transposed at once, for `values_bytes` of intensities, shards of
/// `shard_bytes` and a sort budget of `memory_bytes`. Blocks much smaller than the budget are
/// faster: the scatter of rows stays within the caches' and the TLB's reach, and the pages of a
/// cube as large as the budget are not faulted in (1 GB continuous input: 5.4-5.9 s with a
/// 448 MiB cube, 3.0-4.1 s with 64 MiB). But each block is another pass over the rows, so
/// blocks grow with the input to keep the passes at [`TARGET_PASSES`], as far as the budget
/// allows; a block holds at least one shard (the plan refuses it if that does not fit).
fn block_memory(values_bytes: u64, shard_bytes: u64, memory_bytes: u64) -> u64 {
    BLOCK_TARGET_BYTES
        .max(values_bytes.div_ceil(TARGET_PASSES))
        .max(shard_bytes)
        .min(memory_bytes)
}

/// The smallest block of the cube transposed at once.
const BLOCK_TARGET_BYTES: u64 = 64 << 20;

/// Passes over the rows that larger blocks avoid.
const TARGET_PASSES: u64 = 32;

/// The m/z channels of the cube cut into blocks of whole shards, each small enough to be
/// transposed in memory.
#[derive(Debug, Clone, Copy)]
struct ChannelBlocks {
    channels: u64,
    per_block: u64,
}

impl ChannelBlocks {
    /// Blocks of whole shards of `shard_channels` channels (`channel_bytes` each) for
    /// `values_bytes` of intensities, as large as [`block_memory`] makes them within
    /// `memory_bytes` (the rows that fill a block stream through a few at a time); `None` when
    /// a single shard does not fit.
    fn plan(
        channels: u64,
        shard_channels: u64,
        channel_bytes: u64,
        values_bytes: u64,
        memory_bytes: u64,
    ) -> Option<Self> {
        let shard_memory = shard_channels * channel_bytes;
        let block = block_memory(values_bytes, shard_memory, memory_bytes);
        let shards = block.checked_div(shard_memory).unwrap_or(u64::MAX);
        (shards > 0).then(|| Self {
            channels,
            per_block: shards.saturating_mul(shard_channels).min(channels.max(1)),
        })
    }

    fn count(self) -> usize {
        self.channels.div_ceil(self.per_block).max(1) as usize
    }

    fn iter(self) -> impl Iterator<Item = std::ops::Range<u64>> {
        (0..self.count() as u64).map(move |b| b * self.per_block..((b + 1) * self.per_block).min(self.channels))
    }
}

/// The first channel `i` of `axis` whose m/z is not at most the next one's (NaN included):
/// `None` when the axis is sorted ascending.
pub(crate) fn first_unsorted(axis: &[f64]) -> Option<usize> {
    axis.windows(2).position(|w| {
        !matches!(
            w[0].partial_cmp(&w[1]),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_small_for_small_inputs_and_grow_with_the_input_within_the_budget() {
        const MIB: u64 = 1 << 20;
        assert_eq!(block_memory(1000 * MIB, 8 * MIB, 448 * MIB), BLOCK_TARGET_BYTES);
        assert_eq!(block_memory(6400 * MIB, 8 * MIB, 448 * MIB), 200 * MIB);
        assert_eq!(block_memory(100_000 * MIB, 8 * MIB, 448 * MIB), 448 * MIB);
        assert_eq!(block_memory(10 * MIB, 100 * MIB, 448 * MIB), 100 * MIB);
        assert_eq!(block_memory(10 * MIB, 100 * MIB, 50 * MIB), 50 * MIB);
    }

    #[test]
    fn channel_blocks_are_whole_shards_within_the_budget() {
        // 4 GiB of values: blocks of 4 GiB / 32 passes = 128 MiB, two shards.
        let blocks = ChannelBlocks::plan(1000, 64, 1 << 20, 4 << 30, 150 << 20).unwrap();
        assert_eq!(blocks.per_block, 128);
        let ranges: Vec<_> = blocks.iter().collect();
        assert_eq!(ranges.len(), 8);
        assert_eq!(ranges[0], 0..128);
        assert_eq!(ranges[7], 896..1000);
        assert!(ChannelBlocks::plan(1000, 64, 1 << 20, 0, 50 << 20).is_none());
        let all = ChannelBlocks::plan(10, 64, 1 << 10, 0, 1 << 30).unwrap();
        assert_eq!(all.iter().collect::<Vec<_>>(), vec![0..10]);
    }
}
