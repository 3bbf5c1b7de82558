//! Per-spectrum figures gathered while the spectra stream through: point count, TIC, m/z range.

use imzarr_imzml::ArrayBytes;

use crate::error::{ConvertError, Result};

/// Figures of the stored spectra, in stored order.
#[derive(Debug, Default)]
pub(crate) struct SpectrumStats {
    pub(crate) point_count: Vec<u64>,
    pub(crate) tic: Vec<f64>,
    pub(crate) mz_min: f64,
    pub(crate) mz_max: f64,
}

impl SpectrumStats {
    pub(crate) fn with_capacity(spectra: usize) -> Self {
        Self {
            point_count: Vec::with_capacity(spectra),
            tic: Vec::with_capacity(spectra),
            mz_min: f64::INFINITY,
            mz_max: f64::NEG_INFINITY,
        }
    }

    /// Takes `mz` (a spectrum's m/z values, or the shared axis of continuous data) into the
    /// m/z range. m/z values must be finite.
    pub(crate) fn add_mz(&mut self, source_index: usize, mz: &[f64], input: &str) -> Result<()> {
        if let Some(point) = mz.iter().position(|v| !v.is_finite()) {
            return Err(ConvertError::Unsupported {
                input: input.to_string(),
                message: format!(
                    "spectrum {source_index}: m/z value {} at point {point} is not a finite number",
                    mz[point]
                ),
            });
        }
        for &value in mz {
            self.mz_min = self.mz_min.min(value);
            self.mz_max = self.mz_max.max(value);
        }
        Ok(())
    }

    /// Adds the next stored spectrum's point count and TIC.
    pub(crate) fn add_spectrum(&mut self, intensity: &ArrayBytes) {
        self.point_count.push(intensity.len() as u64);
        self.tic.push(intensity.sum_f64());
    }

    pub(crate) fn mz_range(&self) -> Option<[f64; 2]> {
        (self.mz_min <= self.mz_max).then_some([self.mz_min, self.mz_max])
    }
}
