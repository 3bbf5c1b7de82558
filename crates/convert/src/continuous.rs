//! Continuous data: the shared m/z axis, spectrum-major rows, and the m/z-major cube.

use imzarr_format::paths;
use imzarr_imzml::ArrayBytes;

use crate::error::{ConvertError, Result};
use crate::layout;
use crate::options::ConvertOptions;
use crate::progress::Phase;
use crate::source::Source;
use crate::spectrum_stats::SpectrumStats;
use crate::spill::Spill;
use crate::store_writer::{ShardStream, StoreWriter};

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
    let pixels: u64 = spatial.iter().product();
    let unsupported = |message: String| ConvertError::Unsupported {
        input: source.input_name(),
        message,
    };
    let cube_spec = layout::channel_cube(channels, &spatial, int_type, int_size, options);
    let budget = options.sort_budget();
    let blocks = ChannelBlocks::plan(channels, cube_spec.shard_shape[0], pixels * int_size, budget.memory_bytes)
        .ok_or_else(|| {
            unsupported(format!(
                "one shard of m/z channels of the m/z-major cube ({} channels x {pixels} pixels) does not fit the memory budget of {} MiB; raise --memory",
                cube_spec.shard_shape[0],
                options.memory_bytes >> 20
            ))
        })?;
    let spectra_bytes = source.order.len() as u64 * channels * int_size;
    let in_memory = blocks.count() == 1 && 2 * spectra_bytes <= budget.memory_bytes;
    let mut spill = Spill::new(blocks.count(), in_memory, &budget.temp_dir)?;

    let mut axis = ArrayBytes {
        dtype: source.mz_dtype,
        bytes: Vec::new(),
    };
    source.ibd.read_array_into(first.index, "m/z", &first.mz, &mut axis)?;
    let axis_values = axis.to_f64_vec();
    if let Some(i) = axis_values.windows(2).position(|w| {
        !matches!(
            w[0].partial_cmp(&w[1]),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        )
    }) {
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

    let rows_spec = layout::spectrum_rows(source.order.len() as u64, channels, int_type, int_size, options);
    let mut rows = ShardStream::new(store.create_array(paths::SPECTRA_INTENSITY, rows_spec).await?);
    let mut stats = SpectrumStats::with_capacity(source.order.len());
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
        stats.add(entry.index, &axis_values, &intensity, &source.input_name())?;
        rows.push(store, &intensity.bytes).await?;
        progress.advance(intensity.bytes.len() as u64 + mz_share);
        for (block, channels) in blocks.iter().enumerate() {
            spill.push(
                block,
                &intensity.bytes[channels.start as usize * element..channels.end as usize * element],
            )?;
        }
    }
    rows.finish(store).await?;

    progress.enter(Phase::WritingMzMajor);
    let cube_array = store.create_array(paths::MZ_MAJOR_INTENSITY, cube_spec).await?;
    let pixel_of: Vec<u64> = source.order.iter().map(|&index| source.pixel_of(index)).collect();
    for (bucket, channels) in spill.into_buckets().into_iter().zip(blocks.iter()) {
        let block_rows = bucket.read_all(&budget.temp_dir)?;
        let width = (channels.end - channels.start) as usize;
        let mut cube = vec![0u8; width * pixels as usize * element];
        for (row, &pixel) in block_rows.chunks_exact(width * element).zip(&pixel_of) {
            for (channel, value) in row.chunks_exact(element).enumerate() {
                let at = (channel * pixels as usize + pixel as usize) * element;
                cube[at..at + element].copy_from_slice(value);
            }
        }
        drop(block_rows);
        store
            .write_slab(&cube_array, channels.start, &cube, &vec![0u8; element])
            .await?;
        progress.advance(
            (channels.end - channels.start) * pixel_of.len() as u64 * (element as u64 + source.mz_dtype.size() as u64),
        );
    }
    Ok((stats, channels))
}

/// The m/z channels of the cube cut into blocks of whole shards, each small enough to be
/// transposed in memory.
#[derive(Debug, Clone, Copy)]
struct ChannelBlocks {
    channels: u64,
    per_block: u64,
}

impl ChannelBlocks {
    /// Blocks of whole shards of `shard_channels` channels whose rows, and the cube built from
    /// them, fit `memory_bytes` together; `None` when a single shard does not.
    fn plan(channels: u64, shard_channels: u64, channel_bytes: u64, memory_bytes: u64) -> Option<Self> {
        let shard_memory = 2 * shard_channels * channel_bytes;
        let shards = memory_bytes.checked_div(shard_memory).unwrap_or(u64::MAX);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_blocks_are_whole_shards_within_the_budget() {
        let blocks = ChannelBlocks::plan(1000, 64, 1 << 20, 300 << 20).unwrap();
        assert_eq!(blocks.per_block, 128);
        let ranges: Vec<_> = blocks.iter().collect();
        assert_eq!(ranges.len(), 8);
        assert_eq!(ranges[0], 0..128);
        assert_eq!(ranges[7], 896..1000);
        assert!(ChannelBlocks::plan(1000, 64, 1 << 20, 100 << 20).is_none());
        let all = ChannelBlocks::plan(10, 64, 1 << 10, 1 << 30).unwrap();
        assert_eq!(all.iter().collect::<Vec<_>>(), vec![0..10]);
    }
}
