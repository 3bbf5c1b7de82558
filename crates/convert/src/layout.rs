//! The array specifications of a store, derived from the data's dimensions and the options.

use imzarr_format::ArraySpec;
use serde_json::{Value, json};

use crate::options::ConvertOptions;

/// The zero fill value of `data_type` in Zarr v3 JSON form.
pub(crate) fn zero(data_type: &str) -> Value {
    if data_type.starts_with("float") {
        json!(0.0)
    } else {
        json!(0)
    }
}

/// Names of the spatial dimensions.
pub(crate) fn spatial_names(spatial: &[u64]) -> Vec<&'static str> {
    if spatial.len() == 3 {
        vec!["z", "y", "x"]
    } else {
        vec!["y", "x"]
    }
}

/// A per-spectrum table or a 1-D point array of `len` elements.
pub(crate) fn vector(
    len: u64,
    data_type: &'static str,
    element_size: u64,
    chunk: u64,
    fill: Value,
    dimension: &'static str,
    options: &ConvertOptions,
) -> ArraySpec {
    let per_shard = options.chunks_per_shard(chunk * element_size);
    ArraySpec::new(
        vec![len],
        data_type,
        vec![chunk],
        vec![per_shard],
        fill,
        vec![dimension],
        options.codec,
    )
}

/// A dense spatial array (`pixels/index`).
pub(crate) fn spatial(spatial: &[u64], data_type: &'static str, fill: Value, options: &ConvertOptions) -> ArraySpec {
    let mut inner = vec![256u64; spatial.len()];
    let mut per_shard = vec![8u64; spatial.len()];
    if spatial.len() == 3 {
        inner[0] = 1;
        per_shard[0] = 16;
    }
    ArraySpec::new(
        spatial.to_vec(),
        data_type,
        inner,
        per_shard,
        fill,
        spatial_names(spatial),
        options.codec,
    )
}

/// An OME-Zarr image level `(c, [z,] y, x)` with one channel.
pub(crate) fn image_level(spatial: &[u64], options: &ConvertOptions) -> ArraySpec {
    let mut shape = vec![1u64];
    shape.extend_from_slice(spatial);
    let mut inner = vec![1u64];
    let mut per_shard = vec![1u64];
    for (d, _) in spatial.iter().enumerate() {
        let depth_axis = spatial.len() == 3 && d == 0;
        inner.push(if depth_axis { 1 } else { 256 });
        per_shard.push(if depth_axis { 16 } else { 8 });
    }
    let mut names = vec!["c"];
    names.extend(spatial_names(spatial));
    ArraySpec::new(shape, "float64", inner, per_shard, json!("NaN"), names, options.codec)
}

/// Continuous spectrum-major intensities `(spectrum, channel)`: a few whole spectra per inner
/// chunk (at least 16 KiB), whole spectra per shard.
pub(crate) fn spectrum_rows(
    spectra: u64,
    channels: u64,
    data_type: &'static str,
    element_size: u64,
    options: &ConvertOptions,
) -> ArraySpec {
    let row_bytes = (channels * element_size).max(1);
    let rows_per_chunk = (16384 / row_bytes).max(1);
    let per_shard = options.chunks_per_shard(rows_per_chunk * row_bytes);
    ArraySpec::new(
        vec![spectra, channels],
        data_type,
        vec![rows_per_chunk, channels.max(1)],
        vec![per_shard, 1],
        zero(data_type),
        vec!["spectrum", "channel"],
        options.codec,
    )
}

/// Continuous m/z-major intensities `(channel, [z,] y, x)`: one channel by a spatial tile per
/// inner chunk, or as many channels as make 16 KiB where a tile is smaller (a small grid):
/// chunks of a few hundred bytes would pay blosc's header, an index entry and a checksum for
/// every handful of values.
pub(crate) fn channel_cube(
    channels: u64,
    spatial: &[u64],
    data_type: &'static str,
    element_size: u64,
    options: &ConvertOptions,
) -> ArraySpec {
    let mut shape = vec![channels];
    shape.extend_from_slice(spatial);
    let mut inner = vec![1u64];
    let mut spatial_per_shard = vec![];
    for (d, &extent) in spatial.iter().enumerate() {
        let depth_axis = spatial.len() == 3 && d == 0;
        let tile = if depth_axis { 1 } else { 128.min(extent.max(1)) };
        inner.push(tile);
        spatial_per_shard.push(if depth_axis { 1 } else { 16 });
    }
    let tile_bytes = inner[1..].iter().product::<u64>() * element_size;
    inner[0] = (16384 / tile_bytes.max(1)).clamp(1, channels.max(1));
    let spatial_chunks: u64 = inner[1..]
        .iter()
        .zip(&shape[1..])
        .zip(&spatial_per_shard)
        .map(|((&c, &s), &n)| s.div_ceil(c).min(n))
        .product();
    let inner_bytes: u64 = inner.iter().product::<u64>() * element_size;
    let channel_chunks_per_shard = options.chunks_per_shard(inner_bytes * spatial_chunks);
    let mut per_shard = vec![channel_chunks_per_shard];
    per_shard.extend(spatial_per_shard);
    let mut names = vec!["mz"];
    names.extend(spatial_names(spatial));
    ArraySpec::new(
        shape,
        data_type,
        inner,
        per_shard,
        zero(data_type),
        names,
        options.codec,
    )
}
