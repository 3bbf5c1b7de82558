//! Processed data: spectrum-major point arrays, then the m/z-major arrays and their chunk index.

use imzarr_format::paths;
use imzarr_imzml::ArrayBytes;
use serde_json::json;

use crate::error::{ConvertError, Result};
use crate::layout;
use crate::options::ConvertOptions;
use crate::source::Source;
use crate::spectrum_stats::SpectrumStats;
use crate::store_writer::{ShardStream, StoreWriter};

/// Bytes the in-memory m/z sort needs per point, besides the values themselves.
const SORT_OVERHEAD_PER_POINT: u64 = 8 + 4 + 8;

pub(crate) async fn write(source: &Source, store: &mut StoreWriter, options: &ConvertOptions) -> Result<SpectrumStats> {
    let total_points: u64 = source.imzml.spectra.iter().map(|s| s.mz.length).sum();
    let (mz_size, int_size) = (source.mz_dtype.size(), source.intensity_dtype.size());
    let needed = total_points * (SORT_OVERHEAD_PER_POINT + (mz_size + int_size) as u64);
    if needed > options.memory_bytes {
        return Err(ConvertError::Unsupported {
            input: source.input_name(),
            message: format!(
                "the m/z sort of {total_points} points needs {} MiB of memory, more than the budget of {} MiB; raise --memory (the out-of-core sort is not implemented yet)",
                needed >> 20,
                options.memory_bytes >> 20
            ),
        });
    }
    let (mut mz_stream, mut int_stream) = value_columns(
        store,
        source,
        [paths::SPECTRA_MZ, paths::SPECTRA_INTENSITY],
        total_points,
        options.spectrum_chunk_points,
        options,
    )
    .await?;

    let mut stats = SpectrumStats::with_capacity(source.order.len());
    let mut all_mz = Vec::with_capacity(total_points as usize);
    let mut all_spectrum = Vec::with_capacity(total_points as usize);
    let mut raw_mz = Vec::with_capacity(total_points as usize * mz_size);
    let mut raw_int = Vec::with_capacity(total_points as usize * int_size);
    let mut mz = ArrayBytes {
        dtype: source.mz_dtype,
        bytes: Vec::new(),
    };
    let mut intensity = ArrayBytes {
        dtype: source.intensity_dtype,
        bytes: Vec::new(),
    };
    for (stored, &index) in source.order.iter().enumerate() {
        let entry = &source.imzml.spectra[index];
        source.ibd.read_array_into(entry.index, "m/z", &entry.mz, &mut mz)?;
        source
            .ibd
            .read_array_into(entry.index, "intensity", &entry.intensity, &mut intensity)?;
        let values = mz.to_f64_vec();
        stats.add(entry.index, &values, &intensity, &source.input_name())?;
        mz_stream.push(store, &mz.bytes).await?;
        int_stream.push(store, &intensity.bytes).await?;
        all_mz.extend_from_slice(&values);
        all_spectrum.extend(std::iter::repeat_n(stored as u32, values.len()));
        raw_mz.extend_from_slice(&mz.bytes);
        raw_int.extend_from_slice(&intensity.bytes);
    }
    mz_stream.finish(store).await?;
    int_stream.finish(store).await?;

    write_mz_major(store, options, &all_mz, &all_spectrum, &raw_mz, &raw_int, source).await?;
    Ok(stats)
}

/// Creates the m/z and intensity arrays (`paths`) of `points` values in the source's types,
/// with inner chunks of `chunk` points, and streams for writing them.
async fn value_columns(
    store: &mut StoreWriter,
    source: &Source,
    paths: [&str; 2],
    points: u64,
    chunk: u64,
    options: &ConvertOptions,
) -> Result<(ShardStream, ShardStream)> {
    let [mz_path, intensity_path] = paths;
    let mz = column(store, mz_path, source.mz_dtype, points, chunk, options).await?;
    let intensity = column(store, intensity_path, source.intensity_dtype, points, chunk, options).await?;
    Ok((mz, intensity))
}

async fn column(
    store: &mut StoreWriter,
    path: &str,
    dtype: imzarr_imzml::DataType,
    points: u64,
    chunk: u64,
    options: &ConvertOptions,
) -> Result<ShardStream> {
    let name = dtype.zarr_name();
    let spec = layout::vector(
        points,
        name,
        dtype.size() as u64,
        chunk,
        layout::zero(name),
        "point",
        options,
    );
    Ok(ShardStream::new(store.create_array(path, spec).await?))
}

/// Sorts every point by m/z, cuts the order into inner chunks, orders each chunk by spectrum,
/// and writes the three columns and the chunk index.
async fn write_mz_major(
    store: &mut StoreWriter,
    options: &ConvertOptions,
    all_mz: &[f64],
    all_spectrum: &[u32],
    raw_mz: &[u8],
    raw_int: &[u8],
    source: &Source,
) -> Result<()> {
    let total = all_mz.len() as u64;
    let (mz_size, int_size) = (source.mz_dtype.size(), source.intensity_dtype.size());
    let mut order: Vec<u64> = (0..total).collect();
    order.sort_unstable_by(|&a, &b| {
        all_mz[a as usize]
            .total_cmp(&all_mz[b as usize])
            .then(all_spectrum[a as usize].cmp(&all_spectrum[b as usize]))
    });

    let chunk = options.mz_chunk_points;
    let (mut mz_stream, mut int_stream) = value_columns(
        store,
        source,
        [paths::MZ_MAJOR_MZ, paths::MZ_MAJOR_INTENSITY],
        total,
        chunk,
        options,
    )
    .await?;
    let spectrum_spec = layout::vector(total, "uint32", 4, chunk, json!(0), "point", options);
    let mut spectrum_stream = ShardStream::new(store.create_array(paths::MZ_MAJOR_SPECTRUM, spectrum_spec).await?);

    let mut ranges: Vec<f64> = Vec::with_capacity(2 * (total.div_ceil(chunk)) as usize);
    let (mut mz_block, mut int_block, mut spectrum_block) = (Vec::new(), Vec::new(), Vec::new());
    for points in order.chunks_mut(chunk as usize) {
        ranges.push(all_mz[points[0] as usize]);
        ranges.push(all_mz[points[points.len() - 1] as usize]);
        // Stable: inside one spectrum the points stay in m/z order.
        points.sort_by_key(|&p| all_spectrum[p as usize]);
        mz_block.clear();
        int_block.clear();
        spectrum_block.clear();
        for &p in points.iter() {
            let p = p as usize;
            mz_block.extend_from_slice(&raw_mz[p * mz_size..(p + 1) * mz_size]);
            int_block.extend_from_slice(&raw_int[p * int_size..(p + 1) * int_size]);
            spectrum_block.extend_from_slice(&all_spectrum[p].to_le_bytes());
        }
        mz_stream.push(store, &mz_block).await?;
        int_stream.push(store, &int_block).await?;
        spectrum_stream.push(store, &spectrum_block).await?;
    }
    mz_stream.finish(store).await?;
    int_stream.finish(store).await?;
    spectrum_stream.finish(store).await?;

    let chunks = (ranges.len() / 2) as u64;
    let range_spec = imzarr_format::ArraySpec::new(
        vec![chunks, 2],
        "float64",
        vec![65536, 2],
        vec![1, 1],
        json!("NaN"),
        vec!["chunk", "bound"],
        options.codec,
    );
    let range_array = store.create_array(paths::MZ_MAJOR_CHUNK_MZ_RANGE, range_spec).await?;
    let bytes: Vec<u8> = ranges.iter().flat_map(|v| v.to_le_bytes()).collect();
    store.write_full(&range_array, &bytes, &f64::NAN.to_le_bytes()).await
}
