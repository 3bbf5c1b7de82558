//! Spatial arrays written shard by shard, and only where spectra are: memory and time follow
//! the spectra, not the grid. A grid spans the coordinates' extremes, so a few spectra far
//! from the rest (a second tissue section, a stray coordinate) make it mostly empty; a dense
//! copy of it would take memory the input never hinted at. Shards that hold no pixel are not
//! written at all, and read as the fill value.

use crate::blocks::fill_buffer;
use crate::error::Result;
use crate::store_writer::{ArrayWriter, StoreWriter};

/// The spatial shards of a grid: which shard a pixel is in, and where in it.
pub(crate) struct ShardGrid {
    /// Shards along each spatial dimension.
    counts: Vec<u64>,
    /// Spatial shape of one shard.
    shard_shape: Vec<u64>,
}

impl ShardGrid {
    /// The shards of spatial shape `shard_shape` of a grid of spatial shape `spatial` (`[y, x]`,
    /// or `[z, y, x]` for 3-D grids).
    pub(crate) fn new(spatial: &[u64], shard_shape: &[u64]) -> Self {
        let shard_shape: Vec<u64> = shard_shape.iter().map(|&s| s.max(1)).collect();
        let counts = spatial.iter().zip(&shard_shape).map(|(&e, &s)| e.div_ceil(s)).collect();
        Self { counts, shard_shape }
    }

    /// Pixels in one shard's block.
    pub(crate) fn area(&self) -> u64 {
        self.shard_shape.iter().product()
    }

    /// The row-major number of the shard that holds `pixel` (`[x, y, z]`), and the pixel's
    /// row-major offset inside the shard's block.
    pub(crate) fn locate(&self, [x, y, z]: [u64; 3]) -> (u64, u64) {
        let dims = self.counts.len();
        let (mut number, mut offset) = (0u64, 0u64);
        for (d, &c) in [z, y, x][3 - dims..].iter().enumerate() {
            let shard = self.shard_shape[d];
            number = number * self.counts[d] + c / shard;
            offset = offset * shard + c % shard;
        }
        (number, offset)
    }

    /// The shard-grid indices of shard `number`.
    pub(crate) fn indices(&self, mut number: u64) -> Vec<u64> {
        let mut indices = vec![0; self.counts.len()];
        for d in (0..self.counts.len()).rev() {
            indices[d] = number % self.counts[d].max(1);
            number /= self.counts[d].max(1);
        }
        indices
    }

    /// The numbers of the shards that hold at least one of `pixels`, ascending.
    pub(crate) fn occupied(&self, pixels: impl Iterator<Item = [u64; 3]>) -> Vec<u64> {
        let mut numbers: Vec<u64> = pixels.map(|p| self.locate(p).0).collect();
        numbers.sort_unstable();
        numbers.dedup();
        numbers.shrink_to_fit();
        numbers
    }
}

/// Writes a spatial array (its spatial dimensions last, after dimensions of extent one such as
/// an image's channel): pixel `pixel(k)` (`[x, y, z]`) holds element `k` of `values` (elements
/// of `fill.len()` bytes), every other pixel is `fill`. Shards holding none of the pixels are
/// not written.
pub(crate) async fn write_scattered(
    store: &mut StoreWriter,
    array: &ArrayWriter,
    pixel: impl Fn(usize) -> [u64; 3],
    values: &[u8],
    fill: &[u8],
    spatial_dims: usize,
) -> Result<()> {
    let spec = &array.spec;
    let leading = spec.shape.len() - spatial_dims;
    let grid = ShardGrid::new(&spec.shape[leading..], &spec.shard_shape[leading..]);
    let element = fill.len();
    let count = values.len() / element.max(1);
    let shard_bytes = spec.shard_bytes();
    // The pixels by shard: four bytes each, whatever the grid.
    let mut by_shard: Vec<u32> = (0..count as u32).collect();
    by_shard.sort_unstable_by_key(|&k| grid.locate(pixel(k as usize)).0);
    let shard_of = |k: &u32| grid.locate(pixel(*k as usize)).0;
    for run in by_shard.chunk_by(|a, b| shard_of(a) == shard_of(b)) {
        let mut buffer = store.shard_buffer(shard_bytes);
        fill_buffer(&mut buffer, fill, shard_bytes);
        for &k in run {
            let k = k as usize;
            let at = grid.locate(pixel(k)).1 as usize * element;
            buffer[at..at + element].copy_from_slice(&values[k * element..(k + 1) * element]);
        }
        let mut shard = vec![0u64; leading];
        shard.extend(grid.indices(shard_of(&run[0])));
        store.write_shard(array, &shard, buffer).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_are_located_in_their_shards_and_only_occupied_shards_are_listed() {
        // A 10 x 7 grid (y, x) in shards of 4 x 3: a 3 x 3 shard grid.
        let grid = ShardGrid::new(&[10, 7], &[4, 3]);
        assert_eq!(grid.area(), 12);
        let pixels = [[0, 0, 0], [6, 9, 0], [2, 1, 0], [5, 0, 0], [4, 5, 0]];
        let located: Vec<(Vec<u64>, u64)> = pixels
            .iter()
            .map(|&p| {
                let (number, offset) = grid.locate(p);
                (grid.indices(number), offset)
            })
            .collect();
        assert_eq!(located[0], (vec![0, 0], 0));
        // (y, x) = (9, 6): row 1, column 0 of shard (2, 2).
        assert_eq!(located[1], (vec![2, 2], 3));
        assert_eq!(located[2], (vec![0, 0], 5));
        assert_eq!(located[3], (vec![0, 1], 2));
        assert_eq!(located[4], (vec![1, 1], 4));
        assert_eq!(grid.occupied(pixels.into_iter()), vec![0, 1, 4, 8]);
    }

    #[test]
    fn three_dimensional_grids_number_shards_by_plane() {
        // 2 planes of 5 x 5, shards of one plane by 5 x 5.
        let grid = ShardGrid::new(&[2, 5, 5], &[1, 5, 5]);
        let (number, offset) = grid.locate([4, 4, 1]);
        assert_eq!((grid.indices(number), offset), (vec![1, 0, 0], 24));
        assert_eq!(grid.locate([0, 0, 0]), (0, 0));
    }
}
