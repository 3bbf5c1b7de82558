//! Many spectra at once: a rectangle or a list of pixels, streamed in runs of stored spectra,
//! and their mean spectrum.

use std::collections::BTreeMap;
use std::ops::Range;

use futures::{Stream, StreamExt, TryStreamExt, stream};
use imzarr_format::AcquisitionMode;

use crate::dataset::Dataset;
use crate::error::{ReadError, Result};
use crate::types::Spectrum;

/// Stored spectra further apart than this are read in separate runs.
const MAX_GAP: u64 = 64;
/// Points read at once at most (unless one spectrum alone is larger).
const RUN_POINTS: u64 = 4 << 20;
/// Runs fetched at once, in order (each at most [`RUN_POINTS`] points: 16 MiB of 32-bit
/// intensities): over object storage, their round trips overlap.
const RUNS_IN_FLIGHT: usize = 3;

/// A set of pixels, in source coordinates (as written in the imzML), on the first z plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pixels {
    /// Every pixel with `x` in the first range and `y` in the second (half-open).
    Rectangle {
        /// Columns.
        x: Range<i64>,
        /// Rows.
        y: Range<i64>,
    },
    /// These pixels.
    List(Vec<(i64, i64)>),
}

/// The mean of the spectra of a set of pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanSpectrum {
    /// Spectra averaged (pixels without a spectrum do not count).
    pub spectra: u64,
    /// m/z values: the shared axis (continuous), or every distinct m/z of the spectra (processed).
    pub mz: Vec<f64>,
    /// Sum of the intensities at each m/z divided by `spectra`.
    pub intensity: Vec<f64>,
}

impl Dataset {
    /// The stored numbers of the spectra of `pixels`, ascending, without duplicates; pixels
    /// outside the grid or without a spectrum are left out.
    pub async fn stored_numbers(&self, pixels: &Pixels) -> Result<Vec<u64>> {
        let z = self.attributes.grid.origin[2];
        let mut numbers = Vec::new();
        let mut add = |x: i64, y: i64| numbers.extend(self.linear_pixel(x, y, z));
        match pixels {
            Pixels::Rectangle { x, y } => {
                let grid = &self.attributes.grid;
                let clip =
                    |r: &Range<i64>, origin: i64, size: u64| r.start.max(origin)..r.end.min(origin + size as i64);
                for y in clip(y, grid.origin[1], grid.height) {
                    for x in clip(x, grid.origin[0], grid.width) {
                        add(x, y);
                    }
                }
            }
            Pixels::List(list) => {
                for &(x, y) in list {
                    add(x, y);
                }
            }
        }
        let index = self.pixel_index().await?;
        let mut stored: Vec<u64> = numbers
            .into_iter()
            .filter_map(|linear| index.at(linear))
            .map(u64::from)
            .collect();
        stored.sort_unstable();
        stored.dedup();
        Ok(stored)
    }

    /// The spectra of `pixels` as a stream, in stored order (tile by tile), read in runs of
    /// nearby stored spectra: a few requests per run, not per spectrum. Three runs are fetched
    /// at once, and while a run is read the shard indexes of the run three places later are
    /// fetched, so that each run after the first three takes one round trip.
    pub fn spectra<'a>(&'a self, pixels: &'a Pixels) -> impl Stream<Item = Result<Spectrum>> + 'a {
        stream::once(async move {
            // The pixel index and the other small index arrays the runs need, side by side.
            let (numbers, ()) = tokio::try_join!(self.stored_numbers(pixels), self.spectrum_indexes())?;
            let offsets = self.point_offsets().await?;
            let runs = runs(&numbers, &offsets);
            let ranges: Vec<Range<u64>> = runs.iter().map(|(run, _)| run.clone()).collect();
            let with_later = runs
                .into_iter()
                .enumerate()
                .map(move |(i, run)| Ok::<_, ReadError>((run, ranges.get(i + RUNS_IN_FLIGHT).cloned())));
            Ok::<_, ReadError>(stream::iter(with_later))
        })
        .try_flatten()
        .map_ok(move |((run, wanted), later)| async move {
            let ahead = async {
                if let Some(numbers) = later {
                    self.cache_shard_indexes_of(numbers).await?;
                }
                Ok(())
            };
            let (spectra, ()) = tokio::try_join!(self.stored_spectra(run.clone()), ahead)?;
            Ok(stream::iter(wanted.into_iter().map(move |k| {
                Ok::<_, ReadError>(spectra.spectrum((k - run.start) as usize))
            })))
        })
        // The next runs are fetched while the caller takes the spectra of the first.
        .try_buffered(RUNS_IN_FLIGHT)
        .try_flatten()
    }

    /// The mean spectrum of `pixels`.
    pub async fn mean_spectrum(&self, pixels: &Pixels) -> Result<MeanSpectrum> {
        let mut spectra = 0u64;
        let mut sums: BTreeMap<OrderedMz, f64> = BTreeMap::new();
        let mut axis: Option<(Vec<f64>, Vec<f64>)> = None;
        let mut stream = std::pin::pin!(self.spectra(pixels));
        while let Some(spectrum) = stream.next().await {
            let spectrum = spectrum?;
            spectra += 1;
            match self.attributes.mode {
                AcquisitionMode::Continuous => {
                    let (_, sum) = axis.get_or_insert_with(|| (spectrum.mz.clone(), vec![0.0; spectrum.mz.len()]));
                    sum.iter_mut().zip(&spectrum.intensity).for_each(|(s, v)| *s += v);
                }
                AcquisitionMode::Processed => {
                    for (&mz, &intensity) in spectrum.mz.iter().zip(&spectrum.intensity) {
                        *sums.entry(OrderedMz(mz)).or_default() += intensity;
                    }
                }
            }
        }
        let divide = |v: f64| if spectra == 0 { 0.0 } else { v / spectra as f64 };
        let (mz, intensity) = match axis {
            Some((mz, sum)) => (mz, sum.into_iter().map(divide).collect()),
            None => sums.into_iter().map(|(mz, sum)| (mz.0, divide(sum))).unzip(),
        };
        Ok(MeanSpectrum { spectra, mz, intensity })
    }

    /// The linear grid position of source coordinates, if inside the grid.
    pub(crate) fn linear_pixel(&self, x: i64, y: i64, z: i64) -> Option<usize> {
        let grid = &self.attributes.grid;
        let [ox, oy, oz] = grid.origin;
        let (gx, gy, gz) = (x - ox, y - oy, z - oz);
        if gx < 0 || gy < 0 || gz < 0 || gx as u64 >= grid.width || gy as u64 >= grid.height || gz as u64 >= grid.depth
        {
            return None;
        }
        Some(((gz as u64 * grid.height + gy as u64) * grid.width + gx as u64) as usize)
    }
}

/// An m/z ordered by `f64::total_cmp`.
#[derive(Debug, Clone, Copy)]
struct OrderedMz(f64);

impl PartialEq for OrderedMz {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}
impl Eq for OrderedMz {}
impl PartialOrd for OrderedMz {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrderedMz {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Groups ascending stored numbers into runs read at once: a run ends at a gap of more than
/// [`MAX_GAP`] spectra or when it would exceed [`RUN_POINTS`] points. Each run comes with the
/// numbers wanted from it.
pub(crate) fn runs(numbers: &[u64], offsets: &[u64]) -> Vec<(Range<u64>, Vec<u64>)> {
    let mut runs: Vec<(Range<u64>, Vec<u64>)> = Vec::new();
    for &k in numbers {
        if let Some((run, wanted)) = runs.last_mut() {
            let points = offsets[k as usize + 1] - offsets[run.start as usize];
            if k - (run.end - 1) <= MAX_GAP && points <= RUN_POINTS {
                run.end = k + 1;
                wanted.push(k);
                continue;
            }
        }
        runs.push((k..k + 1, vec![k]));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_join_near_numbers_and_split_far_ones() {
        let offsets: Vec<u64> = (0..=300).map(|k| k * 10).collect();
        let runs = runs(&[1, 2, 5, 100, 200, 201], &offsets);
        assert_eq!(
            runs,
            vec![(1..6, vec![1, 2, 5]), (100..101, vec![100]), (200..202, vec![200, 201])]
        );
    }

    #[test]
    fn runs_split_at_the_point_budget() {
        let offsets = vec![0, RUN_POINTS, RUN_POINTS + 1, RUN_POINTS + 5];
        let runs = runs(&[0, 1, 2], &offsets);
        assert_eq!(runs, vec![(0..1, vec![0]), (1..3, vec![1, 2])]);
    }
}
