//! The TIC as an OME-Zarr 0.5 multiscale image, with NaN where no spectrum was acquired.

use imzarr_format::{multiscale_levels, ome_multiscales, paths};
use serde_json::Map;

use crate::error::Result;
use crate::layout;
use crate::options::ConvertOptions;
use crate::source::Source;
use crate::spectrum_stats::SpectrumStats;
use crate::store_writer::StoreWriter;

/// Halves a `(depth, height, width)` image, averaging the finite values of each 2x2 block.
fn downsample(image: &[f64], depth: u64, height: u64, width: u64) -> Vec<f64> {
    let (h2, w2) = (height.div_ceil(2), width.div_ceil(2));
    let mut out = Vec::with_capacity((depth * h2 * w2) as usize);
    for z in 0..depth {
        for y in 0..h2 {
            for x in 0..w2 {
                let mut sum = 0.0;
                let mut n = 0u32;
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let (yy, xx) = (2 * y + dy, 2 * x + dx);
                    if yy < height && xx < width {
                        let v = image[((z * height + yy) * width + xx) as usize];
                        if v.is_finite() {
                            sum += v;
                            n += 1;
                        }
                    }
                }
                out.push(if n > 0 { sum / n as f64 } else { f64::NAN });
            }
        }
    }
    out
}

pub(crate) async fn write(
    source: &Source,
    stats: &SpectrumStats,
    store: &mut StoreWriter,
    options: &ConvertOptions,
) -> Result<()> {
    let (depth, height, width) = (source.grid.depth, source.grid.height, source.grid.width);
    let mut image = vec![f64::NAN; (depth * height * width) as usize];
    for (stored, &i) in source.order.iter().enumerate() {
        image[source.pixel_of(i) as usize] = stats.tic[stored];
    }
    let levels = multiscale_levels(height, width);
    let (mut h, mut w) = (height, width);
    for (level, &(level_h, level_w)) in levels.iter().enumerate() {
        if level > 0 {
            image = downsample(&image, depth, h, w);
            (h, w) = (level_h, level_w);
        }
        let spatial: Vec<u64> = if depth > 1 { vec![depth, h, w] } else { vec![h, w] };
        let spec = layout::image_level(&spatial, options);
        let array = store
            .create_array(&format!("{}/{level}", paths::IMAGES_TIC), spec)
            .await?;
        let bytes: Vec<u8> = image.iter().flat_map(|v| v.to_le_bytes()).collect();
        store.write_full(&array, &bytes, &f64::NAN.to_le_bytes()).await?;
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
        let image = [1.0, 3.0, f64::NAN, f64::NAN, 5.0, 7.0];
        // 2 rows x 3 columns.
        let half = downsample(&image, 1, 2, 3);
        assert_eq!(half.len(), 2);
        assert_eq!(half[0], (1.0 + 3.0 + 5.0) / 3.0);
        assert_eq!(half[1], 7.0);
    }
}
