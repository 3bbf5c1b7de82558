//! Processed data: spectrum-major point arrays, then the m/z-major arrays and their chunk index.

use imzarr_format::paths;
use imzarr_imzml::ArrayBytes;
use serde_json::json;

use crate::error::{ConvertError, Result};
use crate::layout;
use crate::mz_sort::{MzPartition, RecordLayout};
use crate::options::ConvertOptions;
use crate::progress::Phase;
use crate::source::Source;
use crate::spectrum_stats::SpectrumStats;
use crate::store_writer::{ShardStream, StoreWriter};

/// Spectra whose m/z values are read ahead to place the sort's bucket bounds.
const SAMPLE_SPECTRA: usize = 1024;

/// Most m/z values kept in that sample.
const SAMPLE_POINTS: usize = 1 << 20;

pub(crate) async fn write(source: &Source, store: &mut StoreWriter, options: &ConvertOptions) -> Result<SpectrumStats> {
    let total_points: u64 = source.imzml.spectra.iter().map(|s| s.mz.length).sum();
    let (mut mz_stream, mut int_stream) = value_columns(
        store,
        source,
        [paths::SPECTRA_MZ, paths::SPECTRA_INTENSITY],
        total_points,
        options.spectrum_chunk_points,
        options,
    )
    .await?;

    let layout = RecordLayout {
        mz: source.mz_dtype,
        intensity: source.intensity_dtype,
    };
    let sample = sample_mz(source)?;
    let mut partition = MzPartition::new(layout, &sample, total_points, options.sort_budget())?;
    drop(sample);
    let mut stats = SpectrumStats::with_capacity(source.order.len());
    let mut mz = ArrayBytes {
        dtype: source.mz_dtype,
        bytes: Vec::new(),
    };
    let mut intensity = ArrayBytes {
        dtype: source.intensity_dtype,
        bytes: Vec::new(),
    };
    let progress = options.progress();
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
        partition.push_spectrum(stored as u32, &values, &mz.bytes, &intensity.bytes)?;
        progress.advance((mz.bytes.len() + intensity.bytes.len()) as u64);
    }
    mz_stream.finish(store).await?;
    int_stream.finish(store).await?;

    write_mz_major(store, options, partition, total_points, source).await?;
    Ok(stats)
}

/// m/z values (with their stored spectrum) of spectra spread evenly over the stored order.
fn sample_mz(source: &Source) -> Result<Vec<(f64, u32)>> {
    let step = source.order.len().div_ceil(SAMPLE_SPECTRA).max(1);
    let mut sample = Vec::new();
    let mut mz = ArrayBytes {
        dtype: source.mz_dtype,
        bytes: Vec::new(),
    };
    for (stored, &index) in source.order.iter().enumerate().step_by(step) {
        let entry = &source.imzml.spectra[index];
        source.ibd.read_array_into(entry.index, "m/z", &entry.mz, &mut mz)?;
        let every = (mz.len() * SAMPLE_SPECTRA).div_ceil(SAMPLE_POINTS).max(1);
        sample.extend(mz.to_f64_vec().into_iter().step_by(every).map(|v| (v, stored as u32)));
    }
    Ok(sample)
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

/// Writes the three m/z-major columns and the chunk index from the sorted partition.
async fn write_mz_major(
    store: &mut StoreWriter,
    options: &ConvertOptions,
    partition: MzPartition,
    total: u64,
    source: &Source,
) -> Result<()> {
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
    let progress = options.progress();
    progress.enter(Phase::WritingMzMajor);
    // Buckets are sorted on a blocking thread, the next while the previous one's chunks are
    // encoded and written.
    let mut sorted = partition.into_chunks(chunk as usize);
    let (sender, mut batches) = tokio::sync::mpsc::channel(1);
    let sorting = tokio::task::spawn_blocking(move || {
        while let Some(batch) = sorted.next_batch().transpose() {
            let failed = batch.is_err();
            if sender.blocking_send(batch).is_err() || failed {
                break;
            }
        }
    });
    while let Some(batch) = batches.recv().await {
        for block in batch? {
            progress.advance((block.mz.len() + block.intensity.len()) as u64);
            ranges.extend(block.mz_range);
            mz_stream.push(store, &block.mz).await?;
            int_stream.push(store, &block.intensity).await?;
            spectrum_stream.push(store, &block.spectrum).await?;
        }
    }
    sorting.await.map_err(|e| ConvertError::Unsupported {
        input: source.input_name(),
        message: format!("the m/z sort stopped: {e}"),
    })?;
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
