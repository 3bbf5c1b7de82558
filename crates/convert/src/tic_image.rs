//! The TIC as an OME-Zarr 0.5 multiscale image, with NaN where no spectrum was acquired.

use imzarr_format::{multiscale_levels, ome_multiscales, paths};
use serde_json::Map;

use crate::error::Result;
use crate::layout;
use crate::options::ConvertOptions;
use crate::source::Source;
use crate::spatial_shards::write_scattered;
use crate::spectrum_stats::SpectrumStats;
use crate::store_writer::StoreWriter;

/// The TIC at the pixels that have one: `[x, y, z]` and value.
type Pixels = Vec<([u64; 3], f64)>;

/// Halves an image given by its pixels, averaging the finite values of each 2x2 block (in
/// row-major order within the block); a block without any is NaN.
fn downsample(pixels: impl Iterator<Item = ([u64; 3], f64)>) -> Pixels {
    let mut by_block: Vec<([u64; 3], u64, f64)> = pixels
        .map(|([x, y, z], v)| ([z, y / 2, x / 2], (y % 2) * 2 + x % 2, v))
        .collect();
    by_block.sort_unstable_by_key(|&(block, within, _)| (block, within));
    by_block
        .chunk_by(|a, b| a.0 == b.0)
        .map(|block| {
            let [z, y, x] = block[0].0;
            let finite = block.iter().map(|p| p.2).filter(|v| v.is_finite());
            let (sum, n) = finite.fold((0.0, 0u32), |(sum, n), v| (sum + v, n + 1));
            ([x, y, z], if n > 0 { sum / n as f64 } else { f64::NAN })
        })
        .collect()
}

pub(crate) async fn write(
    source: &Source,
    stats: &SpectrumStats,
    store: &mut StoreWriter,
    options: &ConvertOptions,
) -> Result<()> {
    let (depth, height, width) = (source.grid.depth, source.grid.height, source.grid.width);
    let source_pixel = |k: usize| source.positions[source.order[k]];
    let mut image: Pixels = Vec::new();
    let levels = multiscale_levels(height, width);
    for (level, &(h, w)) in levels.iter().enumerate() {
        let spatial: Vec<u64> = if depth > 1 { vec![depth, h, w] } else { vec![h, w] };
        let spec = layout::image_level(&spatial, options);
        let array = store
            .create_array(&format!("{}/{level}", paths::IMAGES_TIC), spec)
            .await?;
        let fill = f64::NAN.to_le_bytes();
        if level == 0 {
            let values: Vec<u8> = stats.tic.iter().flat_map(|v| v.to_le_bytes()).collect();
            write_scattered(store, &array, source_pixel, &values, &fill, spatial.len()).await?;
            continue;
        }
        image = if level == 1 {
            downsample((0..source.order.len()).map(|k| (source_pixel(k), stats.tic[k])))
        } else {
            downsample(image.into_iter())
        };
        let values: Vec<u8> = image.iter().flat_map(|p| p.1.to_le_bytes()).collect();
        write_scattered(store, &array, |k| image[k].0, &values, &fill, spatial.len()).await?;
    }
    let pixel_size = source.imzml.header.pixel_size.as_ref().map(|p| (p.x_um, p.y_um));
    let mut attributes = Map::new();
    attributes.insert(
        "ome".into(),
        ome_multiscales("tic", levels.len(), depth > 1, pixel_size),
    );
    store.write_group(paths::IMAGES_TIC, attributes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_ignores_missing_pixels() {
        // 2 rows x 3 columns, the middle of the top row missing, NaN at (x, y) = (0, 1).
        let image = [
            ([2, 0, 0], 3.0),
            ([0, 0, 0], 1.0),
            ([1, 1, 0], 5.0),
            ([0, 1, 0], f64::NAN),
            ([2, 1, 0], 7.0),
        ];
        let half = downsample(image.into_iter());
        assert_eq!(half.len(), 2);
        assert_eq!(half[0], ([0, 0, 0], (1.0 + 5.0) / 2.0));
        assert_eq!(half[1], ([1, 0, 0], (3.0 + 7.0) / 2.0));
        let nothing_finite = downsample([([5, 3, 1], f64::INFINITY)].into_iter());
        assert_eq!(nothing_finite.len(), 1);
        assert_eq!(nothing_finite[0].0, [2, 1, 1]);
        assert!(nothing_finite[0].1.is_nan());
    }

    /// The dense definition: every 2x2 block of a `(height, width)` plane, NaN where missing.
    fn dense_downsample(image: &[f64], height: u64, width: u64) -> Vec<f64> {
        let (h2, w2) = (height.div_ceil(2), width.div_ceil(2));
        let mut out = vec![f64::NAN; (h2 * w2) as usize];
        for y in 0..h2 {
            for x in 0..w2 {
                let (mut sum, mut n) = (0.0, 0u32);
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let (yy, xx) = (2 * y + dy, 2 * x + dx);
                    if yy < height && xx < width {
                        let v = image[(yy * width + xx) as usize];
                        if v.is_finite() {
                            sum += v;
                            n += 1;
                        }
                    }
                }
                if n > 0 {
                    out[(y * w2 + x) as usize] = sum / n as f64;
                }
            }
        }
        out
    }

    #[test]
    fn sparse_downsampling_equals_the_dense_definition_bit_for_bit() {
        let (height, width) = (13u64, 10u64);
        let mut pixels = Vec::new();
        let mut dense = vec![f64::NAN; (height * width) as usize];
        for p in 0..height * width {
            if p % 3 != 1 {
                // Values of mixed magnitude, so that the order of the sums shows.
                let v = (p * 7919 % 1009) as f64 * 1e-3 + (p % 5) as f64 * 1e12;
                pixels.push(([p % width, p / width, 0], v));
                dense[p as usize] = v;
            }
        }
        pixels.reverse();
        let sparse = downsample(pixels.into_iter());
        let expected = dense_downsample(&dense, height, width);
        let mut from_sparse = vec![f64::NAN; expected.len()];
        for ([x, y, _], v) in sparse {
            from_sparse[(y * width.div_ceil(2) + x) as usize] = v;
        }
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&from_sparse), bits(&expected));
    }
}
