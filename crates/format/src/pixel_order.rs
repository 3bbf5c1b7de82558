//! Tile-major pixel order: spectra are stored tile by tile (row-major inside a tile, tiles in
//! row-major order), so that a pixel rectangle is a few contiguous runs of spectra.

/// The tile size of the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TileOrder {
    /// Tile width in pixels.
    pub tile_width: u64,
    /// Tile height in pixels.
    pub tile_height: u64,
}

impl Default for TileOrder {
    fn default() -> Self {
        Self {
            tile_width: 16,
            tile_height: 16,
        }
    }
}

impl TileOrder {
    /// Sort key of pixel (x, y, z) in a grid `width` pixels wide: z first, then tile row,
    /// tile column, row in tile, column in tile.
    pub fn key(&self, x: u64, y: u64, z: u64, width: u64) -> (u64, u64, u64, u64, u64) {
        let tiles_across = width.div_ceil(self.tile_width);
        let tile = (y / self.tile_height) * tiles_across + x / self.tile_width;
        (z, tile, 0, y % self.tile_height, x % self.tile_width)
    }
}

/// Indices into `positions` (0-based `[x, y, z]`) in tile-major order.
pub fn tile_major_order(positions: &[[u64; 3]], width: u64, order: TileOrder) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..positions.len()).collect();
    indices.sort_by_key(|&i| {
        let [x, y, z] = positions[i];
        order.key(x, y, z, width)
    });
    indices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_is_contiguous() {
        let (width, height) = (5u64, 4u64);
        let positions: Vec<[u64; 3]> = (0..height).flat_map(|y| (0..width).map(move |x| [x, y, 0])).collect();
        let order = TileOrder {
            tile_width: 2,
            tile_height: 2,
        };
        let sorted: Vec<[u64; 3]> = tile_major_order(&positions, width, order)
            .into_iter()
            .map(|i| positions[i])
            .collect();
        assert_eq!(&sorted[..4], &[[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]]);
        assert_eq!(&sorted[4..8], &[[2, 0, 0], [3, 0, 0], [2, 1, 0], [3, 1, 0]]);
        // Edge tile of width 1.
        assert_eq!(&sorted[8..10], &[[4, 0, 0], [4, 1, 0]]);
        assert_eq!(sorted.len(), 20);
    }
}
