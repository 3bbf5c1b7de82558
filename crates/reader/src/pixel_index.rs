//! Which stored spectrum is at each pixel of the grid.

use imzarr_format::{NO_SPECTRUM, paths};

use crate::arrays::decode_u32;
use crate::dataset::Dataset;
use crate::error::{ReadError, Result};

/// Grids of at most this many pixels are always read as the dense `pixels/index`.
const DENSE_PIXELS: u64 = 1 << 20;

/// Larger grids are read dense while they have at most this many pixels per spectrum; beyond,
/// the spectra lie far apart and the index is built from the coordinate tables, in memory
/// that follows the spectra rather than the grid.
const DENSE_PIXELS_PER_SPECTRUM: u64 = 16;

/// The pixel → stored spectrum map.
#[derive(Debug)]
pub(crate) enum PixelIndex {
    /// `pixels/index` as stored: one entry per pixel, [`NO_SPECTRUM`] where none was acquired.
    Dense(Vec<u32>),
    /// The linear pixel of every stored spectrum and its number, by pixel.
    Sparse(Vec<(u64, u32)>),
}

impl PixelIndex {
    /// The stored spectrum at linear pixel `linear`, if one was acquired there.
    pub(crate) fn at(&self, linear: usize) -> Option<u32> {
        match self {
            Self::Dense(index) => index.get(linear).copied().filter(|&s| s != NO_SPECTRUM),
            Self::Sparse(pixels) => pixels
                .binary_search_by_key(&(linear as u64), |&(pixel, _)| pixel)
                .ok()
                .map(|k| pixels[k].1),
        }
    }

    /// Every pixel where a spectrum was acquired, with its stored spectrum, by pixel.
    pub(crate) fn occupied(&self) -> Box<dyn Iterator<Item = (usize, u32)> + '_> {
        match self {
            Self::Dense(index) => Box::new(
                index
                    .iter()
                    .enumerate()
                    .filter(|&(_, &s)| s != NO_SPECTRUM)
                    .map(|(pixel, &s)| (pixel, s)),
            ),
            Self::Sparse(pixels) => Box::new(pixels.iter().map(|&(pixel, s)| (pixel as usize, s))),
        }
    }
}

impl Dataset {
    /// Reads the pixel index: the dense array for grids not much larger than their spectra,
    /// else the coordinate tables of the spectra.
    pub(crate) async fn read_pixel_index(&self) -> Result<PixelIndex> {
        let shape = self.arrays.shape(paths::PIXELS_INDEX)?;
        let pixels = shape.iter().fold(1u64, |p, &s| p.saturating_mul(s));
        let spectra = self.attributes.counts.spectra;
        if pixels <= DENSE_PIXELS.max(spectra.saturating_mul(DENSE_PIXELS_PER_SPECTRUM)) {
            let ranges: Vec<_> = shape.iter().map(|&s| 0..s).collect();
            let (bytes, _) = self.arrays.read_raw(paths::PIXELS_INDEX, &ranges).await?;
            let index = decode_u32(&bytes);
            if let Some(bad) = index.iter().find(|&&s| s != NO_SPECTRUM && u64::from(s) >= spectra) {
                return Err(self.pixel_data_error(
                    paths::PIXELS_INDEX,
                    format!("names spectrum {bad}, but the store holds {spectra}"),
                ));
            }
            return Ok(PixelIndex::Dense(index));
        }
        let grid = &self.attributes.grid;
        let [x, y, z] = self.grid_positions(0..spectra).await?;
        let mut by_pixel = Vec::with_capacity(x.len());
        for (k, ((&x, &y), &z)) in x.iter().zip(&y).zip(&z).enumerate() {
            let (x, y, z) = (u64::from(x), u64::from(y), u64::from(z));
            if x >= grid.width || y >= grid.height || z >= grid.depth {
                return Err(self.pixel_data_error(
                    paths::PIXELS_X,
                    format!("spectrum {k} lies at ({x}, {y}, {z}), outside the grid"),
                ));
            }
            by_pixel.push(((z * grid.height + y) * grid.width + x, k as u32));
        }
        by_pixel.sort_unstable();
        if let Some(pair) = by_pixel.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(self.pixel_data_error(
                paths::PIXELS_X,
                format!("spectra {} and {} lie at the same pixel", pair[0].1, pair[1].1),
            ));
        }
        Ok(PixelIndex::Sparse(by_pixel))
    }

    fn pixel_data_error(&self, array: &str, message: String) -> ReadError {
        ReadError::Data {
            location: self.location().to_string(),
            array: array.into(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_indexes_answer_alike() {
        let dense = PixelIndex::Dense(vec![NO_SPECTRUM, 2, NO_SPECTRUM, 0, 1, NO_SPECTRUM]);
        let sparse = PixelIndex::Sparse(vec![(1, 2), (3, 0), (4, 1)]);
        for linear in 0..8 {
            assert_eq!(dense.at(linear), sparse.at(linear), "pixel {linear}");
        }
        assert_eq!(dense.at(3), Some(0));
        assert_eq!(dense.at(2), None);
        let occupied: Vec<_> = sparse.occupied().collect();
        assert_eq!(occupied, vec![(1, 2), (3, 0), (4, 1)]);
        assert_eq!(dense.occupied().collect::<Vec<_>>(), occupied);
    }
}
