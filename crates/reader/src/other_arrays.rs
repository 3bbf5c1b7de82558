//! Binary arrays other than m/z and intensity (ion mobility, signal to noise, ...; format
//! version 1.1): one value per point, stored beside the spectrum-major intensities.

use std::ops::Range;

use imzarr_format::{OtherArrayInfo, paths};
use imzarr_imzml::DataType;

use crate::dataset::{Dataset, member_by_key};
use crate::error::{ReadError, Result};

/// The values of one other binary array for a run of stored spectra, in their stored type.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherValues {
    /// Type of the values.
    pub dtype: DataType,
    /// Little-endian values of every spectrum of the run, one after the other.
    bytes: Vec<u8>,
    /// `len + 1` offsets of each spectrum's values, from 0.
    offsets: Vec<u64>,
}

impl OtherValues {
    /// Number of spectra.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether the run is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values of spectrum `i` of the run, little-endian in [`Self::dtype`]: one per point
    /// of the spectrum.
    pub fn bytes(&self, i: usize) -> &[u8] {
        let size = self.dtype.size();
        &self.bytes[self.offsets[i] as usize * size..self.offsets[i + 1] as usize * size]
    }

    /// The values of spectrum `i` of the run as `f64`.
    pub fn values(&self, i: usize) -> Vec<f64> {
        self.bytes(i)
            .chunks_exact(self.dtype.size())
            .map(|b| self.dtype.read_f64(b))
            .collect()
    }
}

impl Dataset {
    /// The binary arrays of the source other than m/z and intensity (empty for most stores).
    pub fn other_arrays(&self) -> &[OtherArrayInfo] {
        &self.attributes.other_arrays
    }

    /// The values of the other binary array `key` ([`OtherArrayInfo::key`]) for the stored
    /// spectra `numbers`: the same points, in the same order, as their m/z and intensities.
    pub async fn other_values(&self, key: &str, numbers: Range<u64>) -> Result<OtherValues> {
        self.check_run(&numbers)?;
        let info = member_by_key(self.other_arrays(), key, |info| &info.key, "other binary array")?;
        let path = paths::other_array(&info.key);
        let metadata_error = |message: String| ReadError::Metadata {
            location: self.location.clone(),
            node: path.clone(),
            message,
        };
        let (shape, intensity_shape) = (self.arrays.shape(&path)?, self.arrays.shape(paths::SPECTRA_INTENSITY)?);
        if shape != intensity_shape {
            return Err(metadata_error(format!(
                "shape {shape:?} differs from the {intensity_shape:?} of {}",
                paths::SPECTRA_INTENSITY
            )));
        }
        let subset = self.values_subset(&numbers).await?;
        let offsets = self.point_offsets().await?;
        let (bytes, type_name) = self.arrays.read_raw(&path, &subset).await?;
        let dtype = DataType::from_zarr_name(&type_name)
            .filter(|dtype| dtype.zarr_name() == info.dtype)
            .ok_or_else(|| {
                metadata_error(format!(
                    "data type {type_name} is not the {} the root attributes declare",
                    info.dtype
                ))
            })?;
        let run = &offsets[numbers.start as usize..=numbers.end as usize];
        Ok(OtherValues {
            dtype,
            bytes,
            offsets: run.iter().map(|o| o - run[0]).collect(),
        })
    }
}
