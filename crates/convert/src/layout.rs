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
    ArraySpec::new(
        shape,
        "float64",
        inner,
        per_shard,
        json!("NaN"),
        names,
        options.codec.for_viewers(),
    )
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

/// Widest spatial tile of a continuous m/z-major inner chunk, in pixels.
const MAX_CUBE_TILE: u64 = 128;

/// The tile that cuts `extent` pixels into as few tiles of at most [`MAX_CUBE_TILE`] as
/// possible, all of (nearly) one width: inner chunks that overhang the grid are stored whole,
/// their overhang filled with zeros that blosc with bit shuffle does not compress well (128-pixel
/// tiles over a 224-pixel grid stored 31% padding and made the cube 10% larger).
fn cube_tile(extent: u64) -> u64 {
    let extent = extent.max(1);
    extent.div_ceil(extent.div_ceil(MAX_CUBE_TILE))
}

/// Continuous m/z-major intensities `(channel, [z,] y, x)`: one channel by a spatial tile per
/// inner chunk ([`cube_tile`]), or as many channels as make 16 KiB where a tile is smaller (a
/// small grid): chunks of a few hundred bytes would pay blosc's header, an index entry and a
/// checksum for every handful of values.
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
        let tile = if depth_axis { 1 } else { cube_tile(extent) };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_tiles_split_the_grid_evenly_without_overhang() {
        for (extent, tile) in [
            (0, 1),
            (1, 1),
            (112, 112),
            (128, 128),
            (129, 65),
            (224, 112),
            (300, 100),
            (1000, 125),
        ] {
            assert_eq!(cube_tile(extent), tile, "extent {extent}");
        }
        for extent in 1..2000 {
            let tile = cube_tile(extent);
            let tiles = extent.div_ceil(tile);
            assert!(tile <= MAX_CUBE_TILE);
            assert_eq!(tiles, extent.div_ceil(MAX_CUBE_TILE), "as few tiles as 128 makes");
            assert!(
                tiles * tile - extent < tiles,
                "overhang of {extent}: under a pixel per tile"
            );
        }
    }

    #[test]
    fn the_cube_uses_even_tiles() {
        let spec = channel_cube(20_000, &[224, 224], "float32", 4, &ConvertOptions::default());
        assert_eq!(spec.inner_shape, vec![1, 112, 112]);
    }
}
