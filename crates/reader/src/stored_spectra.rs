//! Runs of consecutive stored spectra, in the types they were stored in: the raw material for
//! exports and for streams of many spectra.

use std::ops::Range;
use std::sync::Arc;

use imzarr_format::{AcquisitionMode, paths};
use imzarr_imzml::DataType;

use crate::arrays::{decode_u32, decode_u64};
use crate::dataset::Dataset;
use crate::error::{ReadError, Result};
use crate::types::Spectrum;

/// The points of a run of stored spectra, as little-endian bytes of their stored types.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Points {
    /// Type of the m/z values.
    pub mz_dtype: DataType,
    /// Type of the intensities.
    pub intensity_dtype: DataType,
    /// Processed: the m/z of every point of the run. Continuous: the shared m/z axis.
    pub mz: Vec<u8>,
    /// The intensity of every point of the run.
    pub intensity: Vec<u8>,
    /// `len + 1` point offsets into `intensity` (and, processed, into `mz`), from 0.
    pub offsets: Vec<u64>,
    /// Whether `mz` is one axis shared by every spectrum.
    pub shared_axis: bool,
}

impl Points {
    pub(crate) fn mz_bytes(&self, i: usize) -> &[u8] {
        let size = self.mz_dtype.size();
        if self.shared_axis {
            &self.mz
        } else {
            &self.mz[self.offsets[i] as usize * size..self.offsets[i + 1] as usize * size]
        }
    }

    pub(crate) fn intensity_bytes(&self, i: usize) -> &[u8] {
        let size = self.intensity_dtype.size();
        &self.intensity[self.offsets[i] as usize * size..self.offsets[i + 1] as usize * size]
    }

    pub(crate) fn mz_f64(&self, i: usize) -> Vec<f64> {
        decode(self.mz_dtype, self.mz_bytes(i))
    }

    pub(crate) fn intensity_f64(&self, i: usize) -> Vec<f64> {
        decode(self.intensity_dtype, self.intensity_bytes(i))
    }
}

fn decode(dtype: DataType, bytes: &[u8]) -> Vec<f64> {
    bytes.chunks_exact(dtype.size()).map(|b| dtype.read_f64(b)).collect()
}

/// Consecutive stored spectra with their positions, values in their stored types.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSpectra {
    /// Stored number of the first spectrum.
    pub first: u64,
    /// Source x, y, z of each spectrum, as written in the imzML.
    pub positions: Vec<[i64; 3]>,
    /// Index of each spectrum in the source imzML.
    pub source_index: Vec<u64>,
    points: Points,
}

impl StoredSpectra {
    /// Number of spectra.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether the run is empty.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Type of the m/z values.
    pub fn mz_dtype(&self) -> DataType {
        self.points.mz_dtype
    }

    /// Type of the intensities.
    pub fn intensity_dtype(&self) -> DataType {
        self.points.intensity_dtype
    }

    /// The m/z values of spectrum `i` of the run, little-endian in [`Self::mz_dtype`].
    pub fn mz_bytes(&self, i: usize) -> &[u8] {
        self.points.mz_bytes(i)
    }

    /// The intensities of spectrum `i` of the run, little-endian in [`Self::intensity_dtype`].
    pub fn intensity_bytes(&self, i: usize) -> &[u8] {
        self.points.intensity_bytes(i)
    }

    /// Spectrum `i` of the run with its values as `f64`.
    pub fn spectrum(&self, i: usize) -> Spectrum {
        let [x, y, z] = self.positions[i];
        Spectrum {
            x,
            y,
            z,
            source_index: self.source_index[i],
            mz: self.points.mz_f64(i),
            intensity: self.points.intensity_f64(i),
        }
    }
}

impl Dataset {
    /// The number of stored spectra.
    pub fn spectrum_count(&self) -> u64 {
        self.attributes.counts.spectra
    }

    /// Refuses a run of stored spectra that is not inside `0..spectrum_count()`.
    pub(crate) fn check_run(&self, numbers: &Range<u64>) -> Result<()> {
        let count = self.spectrum_count();
        if numbers.start > numbers.end || numbers.end > count {
            return Err(ReadError::Usage(format!(
                "stored spectra {numbers:?} are outside 0..{count}"
            )));
        }
        Ok(())
    }

    /// The stored spectra `numbers` (a range of stored numbers, `0..spectrum_count()`), with
    /// positions, source indexes and values in their stored types: a handful of requests for
    /// the whole run. Used to export and to stream many spectra.
    pub async fn stored_spectra(&self, numbers: Range<u64>) -> Result<StoredSpectra> {
        self.check_run(&numbers)?;
        let [ox, oy, oz] = self.attributes.grid.origin;
        let ([x, y, z], source_index, points) = tokio::try_join!(
            self.grid_positions(numbers.clone()),
            self.source_indexes(numbers.clone()),
            self.points(numbers.clone()),
        )?;
        let positions = x
            .iter()
            .zip(&y)
            .zip(&z)
            .map(|((&x, &y), &z)| [x as i64 + ox, y as i64 + oy, z as i64 + oz])
            .collect();
        Ok(StoredSpectra {
            first: numbers.start,
            positions,
            source_index,
            points,
        })
    }

    /// Fetches and caches the shard indexes a later [`Self::stored_spectra`] of `numbers`
    /// needs (of the coordinate tables and the value arrays), so that, fetched ahead of it,
    /// that read takes one round trip instead of two.
    pub(crate) async fn cache_shard_indexes_of(&self, numbers: Range<u64>) -> Result<()> {
        let values = self.values_subset(&numbers).await?;
        let value_arrays: &[&str] = match self.attributes.mode {
            AcquisitionMode::Processed => &[paths::SPECTRA_MZ, paths::SPECTRA_INTENSITY],
            AcquisitionMode::Continuous => &[paths::SPECTRA_INTENSITY],
        };
        let spectra = [numbers];
        let subsets = self
            .coordinate_tables()
            .iter()
            .map(|&path| (path, &spectra[..]))
            .chain(value_arrays.iter().map(|&path| (path, &values[..])));
        futures::future::try_join_all(subsets.map(|(path, ranges)| self.arrays.cache_shard_indexes(path, ranges)))
            .await?;
        Ok(())
    }

    /// The subset of the intensity array (and, processed, of the m/z array) that holds the
    /// values of the stored spectra `numbers`: processed, their points; continuous, their rows.
    pub(crate) async fn values_subset(&self, numbers: &Range<u64>) -> Result<Vec<Range<u64>>> {
        match self.attributes.mode {
            AcquisitionMode::Processed => {
                let offsets = self.point_offsets().await?;
                let at = |k: u64| {
                    offsets.get(k as usize).copied().ok_or_else(|| {
                        ReadError::Usage(format!(
                            "stored spectra {numbers:?} are outside 0..{}",
                            offsets.len() - 1
                        ))
                    })
                };
                Ok(vec![at(numbers.start)?..at(numbers.end)?])
            }
            AcquisitionMode::Continuous => {
                let channels = self.arrays.shape(paths::SPECTRA_MZ)?[0];
                Ok(vec![numbers.clone(), 0..channels])
            }
        }
    }

    /// The coordinate tables of the grid: x and y, and z on a 3-D grid.
    fn coordinate_tables(&self) -> &'static [&'static str] {
        if self.attributes.grid.depth > 1 {
            &[paths::PIXELS_X, paths::PIXELS_Y, paths::PIXELS_Z]
        } else {
            &[paths::PIXELS_X, paths::PIXELS_Y]
        }
    }

    /// The 0-based grid coordinates x, y and z of the stored spectra `numbers` (z all 0 on a
    /// 2-D grid), from the coordinate tables.
    pub(crate) async fn grid_positions(&self, numbers: Range<u64>) -> Result<[Vec<u32>; 3]> {
        let spectra = std::slice::from_ref(&numbers);
        let columns =
            futures::future::try_join_all(self.coordinate_tables().iter().map(|&path| async move {
                Ok::<_, ReadError>(decode_u32(&self.arrays.read_raw(path, spectra).await?.0))
            }))
            .await?;
        let mut columns = columns.into_iter();
        let mut next = || {
            columns
                .next()
                .unwrap_or_else(|| vec![0; (numbers.end - numbers.start) as usize])
        };
        Ok([next(), next(), next()])
    }

    /// The source imzML index of the stored spectra `numbers`.
    pub async fn source_indexes(&self, numbers: Range<u64>) -> Result<Vec<u64>> {
        let all = self.source_index().await?;
        let range = numbers.start as usize..numbers.end as usize;
        let selected = all
            .get(range)
            .ok_or_else(|| ReadError::Usage(format!("stored spectra {numbers:?} are outside 0..{}", all.len())))?;
        Ok(selected.iter().map(|&i| u64::from(i)).collect())
    }

    /// The source index of every stored spectrum: a small index array, fetched once.
    pub(crate) async fn source_index(&self) -> Result<Arc<Vec<u32>>> {
        self.source_index
            .get_or_try_init(|| async {
                let n = self.spectrum_count();
                let (bytes, _) = self.arrays.read_raw(paths::PIXELS_SOURCE_INDEX, &[0..n]).await?;
                Ok(Arc::new(decode_u32(&bytes)))
            })
            .await
            .cloned()
    }

    /// The `n + 1` point offsets of the stored spectra: spectrum k has the points
    /// `offsets[k]..offsets[k + 1]` (continuous stores: `k * channels`). A small index array,
    /// fetched once and checked (non-decreasing, ending at the number of points).
    pub async fn point_offsets(&self) -> Result<Arc<Vec<u64>>> {
        self.point_offsets
            .get_or_try_init(|| async {
                let count = self.spectrum_count();
                let offsets = match self.attributes.mode {
                    AcquisitionMode::Processed => decode_u64(
                        &self
                            .arrays
                            .read_raw(paths::PIXELS_POINT_OFFSET, &[0..count + 1])
                            .await?
                            .0,
                    ),
                    AcquisitionMode::Continuous => {
                        let channels = self.arrays.shape(paths::SPECTRA_MZ)?[0];
                        (0..=count).map(|k| k * channels).collect()
                    }
                };
                let points = self.arrays.shape(paths::SPECTRA_INTENSITY)?.iter().product::<u64>();
                if offsets.windows(2).any(|w| w[0] > w[1]) || offsets.last() != Some(&points) {
                    return Err(ReadError::Data {
                        location: self.location.clone(),
                        array: paths::PIXELS_POINT_OFFSET.into(),
                        message: format!("offsets must not decrease and must end at the {points} points stored"),
                    });
                }
                Ok(Arc::new(offsets))
            })
            .await
            .cloned()
    }

    /// The points of the stored spectra `numbers`, in their stored types.
    pub(crate) async fn points(&self, numbers: Range<u64>) -> Result<Points> {
        let dtype = |path: &str, name: &str| {
            DataType::from_zarr_name(name).ok_or_else(|| ReadError::Metadata {
                location: self.location.clone(),
                node: path.to_string(),
                message: format!("data type {name} is not a type imzML can hold"),
            })
        };
        let spectra = numbers.end - numbers.start;
        match self.attributes.mode {
            AcquisitionMode::Processed => {
                let points = self.values_subset(&numbers).await?;
                let all = self.point_offsets().await?;
                let offsets = &all[numbers.start as usize..=numbers.end as usize];
                let ((mz, mz_type), (intensity, intensity_type)) = tokio::try_join!(
                    self.arrays.read_raw(paths::SPECTRA_MZ, &points),
                    self.arrays.read_raw(paths::SPECTRA_INTENSITY, &points)
                )?;
                Ok(Points {
                    mz_dtype: dtype(paths::SPECTRA_MZ, &mz_type)?,
                    intensity_dtype: dtype(paths::SPECTRA_INTENSITY, &intensity_type)?,
                    mz,
                    intensity,
                    offsets: offsets.iter().map(|o| o - offsets[0]).collect(),
                    shared_axis: false,
                })
            }
            AcquisitionMode::Continuous => {
                let subset = self.values_subset(&numbers).await?;
                // (Rows of every channel.)
                let channels = subset[1].end;
                let ((mz, mz_type), (intensity, intensity_type)) = tokio::try_join!(
                    self.mz_axis_raw(),
                    self.arrays.read_raw(paths::SPECTRA_INTENSITY, &subset)
                )?;
                Ok(Points {
                    mz_dtype: dtype(paths::SPECTRA_MZ, &mz_type)?,
                    intensity_dtype: dtype(paths::SPECTRA_INTENSITY, &intensity_type)?,
                    mz: mz.to_vec(),
                    intensity,
                    offsets: (0..=spectra).map(|k| k * channels).collect(),
                    shared_axis: true,
                })
            }
        }
    }
}
