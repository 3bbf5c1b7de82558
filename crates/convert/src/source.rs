//! The input of a conversion: a parsed imzML, its verified `.ibd`, the grid and the stored
//! order of its spectra.

use std::path::Path;

use imzarr_format::tile_major_order;
use imzarr_imzml::{DataType, Grid, Ibd, Imzml, parse_file_with};

use crate::error::{ConvertError, Result};
use crate::options::ConvertOptions;

/// An opened, checked input.
pub(crate) struct Source {
    pub(crate) imzml: Imzml,
    pub(crate) ibd: Ibd,
    pub(crate) grid: Grid,
    /// Indices into `imzml.spectra`, in stored (tile-major) order.
    pub(crate) order: Vec<usize>,
    /// Grid position `[x, y, z]` of each spectrum of `imzml.spectra`.
    pub(crate) positions: Vec<[u64; 3]>,
    pub(crate) mz_dtype: DataType,
    pub(crate) intensity_dtype: DataType,
    pub(crate) verified_checksums: Vec<&'static str>,
    pub(crate) sizes: [u64; 2],
}

impl Source {
    pub(crate) fn open(input: &Path, options: &ConvertOptions) -> Result<Self> {
        let mut imzml = parse_file_with(input, &options.parse)?;
        let ibd = Ibd::open(&imzml)?;
        let verified_checksums = if options.verify_checksums {
            let outcome = ibd.verify_checksums(&imzml)?;
            imzml.quirks.extend(outcome.stale);
            outcome.verified
        } else {
            Vec::new()
        };
        let unsupported = |message: String| ConvertError::Unsupported {
            input: input.display().to_string(),
            message,
        };
        let first = &imzml.spectra[0];
        let (mz_dtype, intensity_dtype) = (first.mz.dtype, first.intensity.dtype);
        if let Some(other) = imzml
            .spectra
            .iter()
            .find(|s| s.mz.dtype != mz_dtype || s.intensity.dtype != intensity_dtype)
        {
            return Err(unsupported(format!(
                "spectrum {} stores {:?}/{:?} while spectrum 0 stores {:?}/{:?}; mixed value types in one file are not supported",
                other.index, other.mz.dtype, other.intensity.dtype, mz_dtype, intensity_dtype
            )));
        }
        if let Some(other) = imzml.spectra.iter().find(|s| !s.other_arrays.is_empty()) {
            return Err(unsupported(format!(
                "spectrum {} has arrays other than m/z and intensity ({}); they are not stored yet",
                other.index,
                other
                    .other_arrays
                    .iter()
                    .map(|(a, _)| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let grid = Grid::from_spectra(&imzml.spectra);
        if grid.width > u32::MAX as u64 || grid.height > u32::MAX as u64 || grid.depth > u32::MAX as u64 {
            return Err(unsupported("grid larger than 2^32 pixels along an axis".into()));
        }
        if imzml.spectra.len() as u64 >= u32::MAX as u64 {
            return Err(unsupported("more than 2^32 - 1 spectra".into()));
        }
        let positions: Vec<[u64; 3]> = imzml.spectra.iter().map(|s| grid.position(s)).collect();
        let order = tile_major_order(&positions, grid.width, options.tile);
        let imzml_size = std::fs::metadata(&imzml.path).map(|m| m.len()).unwrap_or(0);
        let sizes = [imzml_size, ibd.len()];
        Ok(Self {
            imzml,
            ibd,
            grid,
            order,
            positions,
            mz_dtype,
            intensity_dtype,
            verified_checksums,
            sizes,
        })
    }

    /// `[depth, height, width]` without depth for 2-D data.
    pub(crate) fn spatial_shape(&self) -> Vec<u64> {
        if self.grid.depth > 1 {
            vec![self.grid.depth, self.grid.height, self.grid.width]
        } else {
            vec![self.grid.height, self.grid.width]
        }
    }

    /// Linear pixel number of spectrum `spectrum` (index into `imzml.spectra`) in the
    /// row-major spatial grid.
    pub(crate) fn pixel_of(&self, spectrum: usize) -> u64 {
        let [x, y, z] = self.positions[spectrum];
        (z * self.grid.height + y) * self.grid.width + x
    }

    pub(crate) fn input_name(&self) -> String {
        self.imzml.path.display().to_string()
    }
}
