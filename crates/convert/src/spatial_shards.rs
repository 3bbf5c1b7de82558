//! Spatial arrays written shard by shard, and only where spectra are: memory and time follow
//! the spectra, not the grid. A grid spans the coordinates' extremes, so a few spectra far
//! from the rest (a second tissue section, a stray coordinate) make it mostly empty; a dense
//! copy of it would take memory the input never hinted at. Shards that hold no pixel are not
//! written at all, and read as the fill value.

use crate::blocks::fill_buffer;
use crate::error::Result;
use crate::store_writer::{ArrayWriter, StoreWriter};

/// The shards of a spatial grid that hold at least one of a list of pixels, and where each of
/// those pixels lies in them.
pub(crate) struct OccupiedShards {
    /// Shards along each spatial dimension of the grid.
    grid: Vec<u64>,
    /// Spatial shape of one shard.
    shard_shape: Vec<u64>,
    /// Row-major number of each occupied shard in `grid`, ascending.
    shards: Vec<u64>,
    /// Per pixel, in the order given: the position of its shard in `shards`.
    slot: Vec<usize>,
    /// Per pixel: its row-major offset inside its shard's block.
    local: Vec<u64>,
}

impl OccupiedShards {
    /// Locates `pixels` (each `[x, y, z]`) in a grid of spatial shape `spatial` (`[y, x]`, or
    /// `[z, y, x]` for 3-D grids) cut into shards of spatial shape `shard_shape`.
    pub(crate) fn new(pixels: &[[u64; 3]], spatial: &[u64], shard_shape: &[u64]) -> Self {
        let dims = spatial.len();
        let grid: Vec<u64> = spatial
            .iter()
            .zip(shard_shape)
            .map(|(&extent, &shard)| extent.div_ceil(shard.max(1)))
            .collect();
        let (mut numbers, mut local) = (Vec::with_capacity(pixels.len()), Vec::with_capacity(pixels.len()));
        for &[x, y, z] in pixels {
            let coordinates = [z, y, x];
            let (mut number, mut offset) = (0u64, 0u64);
            for (d, &c) in coordinates[3 - dims..].iter().enumerate() {
                let shard = shard_shape[d].max(1);
                number = number * grid[d] + c / shard;
                offset = offset * shard + c % shard;
            }
            numbers.push(number);
            local.push(offset);
        }
        let mut shards = numbers.clone();
        shards.sort_unstable();
        shards.dedup();
        let slot = numbers
            .iter()
            .map(|n| shards.binary_search(n).unwrap_or_default())
            .collect();
        Self {
            grid,
            shard_shape: shard_shape.to_vec(),
            shards,
            slot,
            local,
        }
    }

    /// Number of occupied shards.
    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }

    /// Pixels in one shard's block.
    pub(crate) fn area(&self) -> u64 {
        self.shard_shape.iter().product()
    }

    /// The spatial shard-grid indices of the occupied shard at `slot`.
    pub(crate) fn shard_indices(&self, slot: usize) -> Vec<u64> {
        let mut number = self.shards[slot];
        let mut indices = vec![0; self.grid.len()];
        for d in (0..self.grid.len()).rev() {
            indices[d] = number % self.grid[d].max(1);
            number /= self.grid[d].max(1);
        }
        indices
    }

    /// Where pixel `k` lies: the slot of its shard and its offset inside the shard's block.
    pub(crate) fn place(&self, k: usize) -> (usize, u64) {
        (self.slot[k], self.local[k])
    }

    /// The pixels of each occupied shard, slot by slot: `(starts, pixels)` with the pixels of
    /// slot `s` at `pixels[starts[s]..starts[s + 1]]`, in the order given.
    fn pixels_by_slot(&self) -> (Vec<usize>, Vec<usize>) {
        let mut starts = vec![0usize; self.shards.len() + 1];
        for &s in &self.slot {
            starts[s + 1] += 1;
        }
        for s in 0..self.shards.len() {
            starts[s + 1] += starts[s];
        }
        let mut next = starts.clone();
        let mut pixels = vec![0usize; self.slot.len()];
        for (k, &s) in self.slot.iter().enumerate() {
            pixels[next[s]] = k;
            next[s] += 1;
        }
        (starts, pixels)
    }
}

/// Writes a spatial array (its spatial dimensions last, after dimensions of extent one such as
/// an image's channel): `values` holds one element (`fill.len()` bytes) for each of `pixels`
/// (each `[x, y, z]`), every other pixel is `fill`. Shards holding none of `pixels` are not
/// written.
pub(crate) async fn write_scattered(
    store: &mut StoreWriter,
    array: &ArrayWriter,
    pixels: &[[u64; 3]],
    values: &[u8],
    fill: &[u8],
    spatial_dims: usize,
) -> Result<()> {
    let spec = &array.spec;
    let leading = spec.shape.len() - spatial_dims;
    let occupied = OccupiedShards::new(pixels, &spec.shape[leading..], &spec.shard_shape[leading..]);
    let element = fill.len();
    let shard_bytes = spec.shard_bytes();
    let (starts, by_slot) = occupied.pixels_by_slot();
    for slot in 0..occupied.len() {
        let mut buffer = store.shard_buffer(shard_bytes);
        fill_buffer(&mut buffer, fill, shard_bytes);
        for &k in &by_slot[starts[slot]..starts[slot + 1]] {
            let at = occupied.local[k] as usize * element;
            buffer[at..at + element].copy_from_slice(&values[k * element..(k + 1) * element]);
        }
        let mut shard = vec![0u64; leading];
        shard.extend(occupied.shard_indices(slot));
        store.write_shard(array, &shard, buffer).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_are_placed_in_their_shards_and_only_occupied_shards_are_listed() {
        // A 10 x 7 grid (y, x) in shards of 4 x 3: a 3 x 3 shard grid.
        let pixels = [[0, 0, 0], [6, 9, 0], [2, 1, 0], [5, 0, 0], [4, 5, 0]];
        let occupied = OccupiedShards::new(&pixels, &[10, 7], &[4, 3]);
        assert_eq!(occupied.area(), 12);
        // Shards (0,0), (2,2), (0,1) and (1,1), numbered 0, 8, 1 and 4.
        assert_eq!(occupied.len(), 4);
        let located: Vec<(Vec<u64>, u64)> = (0..pixels.len())
            .map(|k| {
                let (slot, local) = occupied.place(k);
                (occupied.shard_indices(slot), local)
            })
            .collect();
        assert_eq!(located[0], (vec![0, 0], 0));
        // (y, x) = (9, 6): row 1, column 0 of shard (2, 2).
        assert_eq!(located[1], (vec![2, 2], 3));
        assert_eq!(located[2], (vec![0, 0], 5));
        assert_eq!(located[3], (vec![0, 1], 2));
        assert_eq!(located[4], (vec![1, 1], 4));
        let (starts, by_slot) = occupied.pixels_by_slot();
        assert_eq!(starts, vec![0, 2, 3, 4, 5]);
        assert_eq!(by_slot, vec![0, 2, 3, 4, 1]);
    }

    #[test]
    fn three_dimensional_grids_number_shards_by_plane() {
        // 2 planes of 5 x 5, shards of one plane by 5 x 5.
        let pixels = [[4, 4, 1], [0, 0, 0]];
        let occupied = OccupiedShards::new(&pixels, &[2, 5, 5], &[1, 5, 5]);
        assert_eq!(occupied.len(), 2);
        assert_eq!(occupied.shard_indices(occupied.place(0).0), vec![1, 0, 0]);
        assert_eq!(occupied.place(0).1, 24);
        assert_eq!(occupied.shard_indices(occupied.place(1).0), vec![0, 0, 0]);
    }
}
