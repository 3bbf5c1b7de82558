//! Arrays laid over the pixel grid, `(lead, [z,] y, x)`: the continuous cube (one lead index
//! per channel) and the levels of the TIC image (one lead index). The full validation reads
//! them a shard at a time, each with the stored spectrum at every pixel of its tile.

use std::ops::Range;

use super::shard_ranges;
use super::values::element_size;
use crate::dataset::Dataset;

/// A pixel of a shard's tile: its grid position and the stored spectrum there, if any.
pub(super) struct TilePixel {
    pub(super) x: u64,
    pub(super) y: u64,
    pub(super) z: u64,
    pub(super) spectrum: Option<u32>,
}

/// One shard of a spatial array, read.
pub(super) struct SpatialShard {
    /// The lead indexes (channels) the shard covers.
    pub(super) lead: Range<u64>,
    /// Its pixels, in C order.
    pub(super) tile: Vec<TilePixel>,
    bytes: Vec<u8>,
    size: usize,
}

impl SpatialShard {
    /// The size of the elements, in bytes (1, 2, 4 or 8).
    pub(super) fn element_size(&self) -> usize {
        self.size
    }

    /// Each lead index with the bytes of its values over [`Self::tile`].
    pub(super) fn planes(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let plane = (self.size * self.tile.len()).max(1);
        self.lead.clone().zip(self.bytes.chunks_exact(plane))
    }
}

/// Reads the spatial array `array` a shard at a time and hands each to `visit`; stops at the
/// first error, of the read or of `visit`.
pub(super) async fn for_each_shard(
    dataset: &Dataset,
    array: &str,
    mut visit: impl FnMut(&SpatialShard) -> Result<(), String>,
) -> Result<(), String> {
    let (shape, shard_shape) = dataset
        .arrays
        .shape(array)
        .and_then(|shape| Ok((shape, dataset.arrays.shard_shape(array)?)))
        .map_err(|e| e.to_string())?;
    if !(3..=4).contains(&shape.len()) {
        return Err(format!("{array}: {} dimensions, not 3 or 4", shape.len()));
    }
    let index = dataset.pixel_index().await.map_err(|e| e.to_string())?;
    let grid = &dataset.attributes.grid;
    for ranges in shard_ranges(&shape, &shard_shape) {
        let (bytes, _) = dataset
            .arrays
            .read_raw(array, &ranges)
            .await
            .map_err(|e| e.to_string())?;
        let count = ranges.iter().map(|r| r.end - r.start).product();
        let size = element_size(array, &bytes, count)?;
        // The spatial dimensions are (z,) y, x, with z only for 3-D grids.
        let (zs, ys, xs) = match &ranges[1..] {
            [z, y, x] => (z.clone(), y.clone(), x.clone()),
            [y, x] => (0..1, y.clone(), x.clone()),
            _ => unreachable!("the dimensions were checked above"),
        };
        let mut tile = Vec::new();
        for z in zs {
            for y in ys.clone() {
                for x in xs.clone() {
                    let linear = (z * grid.height + y) * grid.width + x;
                    let spectrum = index.at(linear as usize);
                    tile.push(TilePixel { x, y, z, spectrum });
                }
            }
        }
        let lead = ranges[0].clone();
        visit(&SpatialShard {
            lead,
            tile,
            bytes,
            size,
        })?;
    }
    Ok(())
}
