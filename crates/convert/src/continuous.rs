//! Continuous data: the shared m/z axis, spectrum-major rows, and the m/z-major cube.

use imzarr_format::paths;
use imzarr_imzml::ArrayBytes;

use crate::error::{ConvertError, Result};
use crate::layout;
use crate::options::ConvertOptions;
use crate::source::Source;
use crate::spectrum_stats::SpectrumStats;
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
    let cube_bytes = channels * pixels * int_size;
    let unsupported = |message: String| ConvertError::Unsupported {
        input: source.input_name(),
        message,
    };
    if cube_bytes > options.memory_bytes {
        return Err(unsupported(format!(
            "the m/z-major cube of {channels} channels x {pixels} pixels needs {} MiB of memory, more than the budget of {} MiB; raise --memory (the out-of-core transpose is not implemented yet)",
            cube_bytes >> 20,
            options.memory_bytes >> 20
        )));
    }

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
    let mut cube = vec![0u8; cube_bytes as usize];
    let mut stats = SpectrumStats::with_capacity(source.order.len());
    let mut intensity = ArrayBytes {
        dtype: source.intensity_dtype,
        bytes: Vec::new(),
    };
    let element = int_size as usize;
    for &index in &source.order {
        let entry = &source.imzml.spectra[index];
        source
            .ibd
            .read_array_into(entry.index, "intensity", &entry.intensity, &mut intensity)?;
        stats.add(entry.index, &axis_values, &intensity, &source.input_name())?;
        rows.push(store, &intensity.bytes).await?;
        let pixel = source.pixel_of(index);
        for (channel, value) in intensity.bytes.chunks_exact(element).enumerate() {
            let at = ((channel as u64 * pixels + pixel) as usize) * element;
            cube[at..at + element].copy_from_slice(value);
        }
    }
    rows.finish(store).await?;
    let cube_spec = layout::channel_cube(channels, &spatial, int_type, int_size, options);
    let cube_array = store.create_array(paths::MZ_MAJOR_INTENSITY, cube_spec).await?;
    store.write_full(&cube_array, &cube, &vec![0u8; element]).await?;
    Ok((stats, channels))
}
