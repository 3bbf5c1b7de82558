//! Ion images: the m/z-major layout read for the windows asked, nothing else.

use imzarr_format::{AcquisitionMode, MzWindow, paths};

use crate::arrays::decode_u32;
use crate::dataset::Dataset;
use crate::error::{ReadError, Result};
use crate::mz_chunk_index::MzChunkIndex;
use crate::types::{Aggregation, IonImage};

/// Per-window accumulator over stored spectra.
struct Accumulator {
    window: MzWindow,
    values: Vec<f64>,
    covered: Option<[f64; 2]>,
    points: u64,
}

impl Accumulator {
    fn new(window: MzWindow, spectra: usize, aggregation: Aggregation) -> Self {
        let start = match aggregation {
            Aggregation::Sum => 0.0,
            Aggregation::Max => f64::NEG_INFINITY,
        };
        Self {
            window,
            values: vec![start; spectra],
            covered: None,
            points: 0,
        }
    }

    /// Per-spectrum values; a spectrum with no point in the window is 0.
    fn finish(mut self) -> (MzWindow, Vec<f64>, Option<[f64; 2]>, u64) {
        for value in &mut self.values {
            if *value == f64::NEG_INFINITY {
                *value = 0.0;
            }
        }
        (self.window, self.values, self.covered, self.points)
    }

    #[inline]
    fn add(&mut self, spectrum: usize, mz: f64, intensity: f64, aggregation: Aggregation) {
        let slot = &mut self.values[spectrum];
        match aggregation {
            Aggregation::Sum => *slot += intensity,
            Aggregation::Max => *slot = slot.max(intensity),
        }
        self.points += 1;
        self.covered = Some(match self.covered {
            Some([low, high]) => [low.min(mz), high.max(mz)],
            None => [mz, mz],
        });
    }
}

impl Dataset {
    /// The summed ion image of one m/z window. A window outside the data's m/z range gives an
    /// image of zeros (and `NaN` where no spectrum was acquired), not an error.
    pub async fn ion_image(&self, window: MzWindow) -> Result<IonImage> {
        Ok(self.ion_images(&[window], Aggregation::Sum).await?.remove(0))
    }

    /// Ion images of several windows in one pass over the data they need.
    pub async fn ion_images(&self, windows: &[MzWindow], aggregation: Aggregation) -> Result<Vec<IonImage>> {
        for window in windows {
            Self::check_window(window)?;
        }
        self.check_image_size()?;
        let spectra = self.attributes.counts.spectra as usize;
        let mut accumulators: Vec<Accumulator> = windows
            .iter()
            .map(|&w| Accumulator::new(w, spectra, aggregation))
            .collect();
        match self.attributes.mode {
            AcquisitionMode::Processed => self.accumulate_processed(&mut accumulators, aggregation).await?,
            AcquisitionMode::Continuous => self.accumulate_continuous(&mut accumulators, aggregation).await?,
        }
        let mut images = Vec::with_capacity(accumulators.len());
        for accumulator in accumulators {
            let (window, values, mz_covered, points) = accumulator.finish();
            let image = self.image_from(|s| values[s as usize]).await?;
            images.push(IonImage {
                window,
                image,
                mz_covered,
                points,
            });
        }
        Ok(images)
    }

    async fn accumulate_processed(&self, accumulators: &mut [Accumulator], aggregation: Aggregation) -> Result<()> {
        // The pixel index is needed for the image at the end: fetched alongside, not after.
        let windows: Vec<MzWindow> = accumulators.iter().map(|a| a.window).collect();
        let index = self.mz_chunk_index()?;
        let (mut spans, _) = tokio::try_join!(index.chunks_overlapping(&self.arrays, &windows), self.pixel_index())?;
        let chunk_points = self.attributes.mz_chunk_points();
        let total = self.attributes.counts.points;
        // Chunk spans of every window, merged where they overlap, so each chunk is read once.
        spans.retain(|r| !r.is_empty());
        spans.sort_by_key(|r| r.start);
        let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
        for span in spans {
            match merged.last_mut() {
                Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
                _ => merged.push(span),
            }
        }
        for span in merged {
            let points = (span.start as u64 * chunk_points)..(span.end as u64 * chunk_points).min(total);
            let (mz, intensity, spectrum) = tokio::try_join!(
                self.arrays.read_f64(paths::MZ_MAJOR_MZ, std::slice::from_ref(&points)),
                self.arrays
                    .read_f64(paths::MZ_MAJOR_INTENSITY, std::slice::from_ref(&points)),
                self.arrays
                    .read_raw(paths::MZ_MAJOR_SPECTRUM, std::slice::from_ref(&points)),
            )?;
            let spectrum = decode_u32(&spectrum.0);
            self.check_points(index, span.start, chunk_points as usize, &mz, &spectrum)?;
            for accumulator in accumulators.iter_mut() {
                for i in 0..mz.len() {
                    if accumulator.window.contains(mz[i]) {
                        accumulator.add(spectrum[i] as usize, mz[i], intensity[i], aggregation);
                    }
                }
            }
        }
        Ok(())
    }

    /// Refuses points that would be misread (checksums cannot catch a writer that wrote them
    /// so): a spectrum number beyond the stored spectra, or an m/z outside the range the m/z
    /// chunk index gives the point's chunk (the search for other windows would miss it).
    /// `mz` and `spectrum` are the points of whole chunks from chunk `first_chunk` on.
    fn check_points(
        &self,
        index: &MzChunkIndex,
        first_chunk: usize,
        chunk_points: usize,
        mz: &[f64],
        spectrum: &[u32],
    ) -> Result<()> {
        let spectra = self.attributes.counts.spectra;
        let error = |array: &str, message: String| ReadError::Data {
            location: self.location.clone(),
            array: array.into(),
            message,
        };
        let point = |chunk: usize, k: usize| chunk as u64 * chunk_points as u64 + k as u64;
        for (c, (mz, spectrum)) in mz.chunks(chunk_points).zip(spectrum.chunks(chunk_points)).enumerate() {
            let chunk = first_chunk + c;
            if let Some(k) = spectrum.iter().position(|&s| u64::from(s) >= spectra) {
                return Err(error(
                    paths::MZ_MAJOR_SPECTRUM,
                    format!(
                        "point {} names spectrum {}, but the store holds {spectra}",
                        point(chunk, k),
                        spectrum[k]
                    ),
                ));
            }
            let [low, high] = index.row(chunk).unwrap_or([f64::NEG_INFINITY, f64::INFINITY]);
            if let Some(k) = mz.iter().position(|&m| m < low || m > high) {
                return Err(error(
                    paths::MZ_MAJOR_MZ,
                    format!(
                        "point {} has m/z {}, outside the range [{low}, {high}] {} gives its chunk {chunk}",
                        point(chunk, k),
                        mz[k],
                        paths::MZ_MAJOR_CHUNK_MZ_RANGE
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn accumulate_continuous(&self, accumulators: &mut [Accumulator], aggregation: Aggregation) -> Result<()> {
        let (axis, index) = tokio::try_join!(self.mz_axis(), self.pixel_index())?;
        let shape = self.arrays.shape(paths::MZ_MAJOR_INTENSITY)?;
        let spatial: Vec<std::ops::Range<u64>> = shape[1..].iter().map(|&s| 0..s).collect();
        let pixels: usize = shape[1..].iter().product::<u64>() as usize;
        for accumulator in accumulators.iter_mut() {
            let first = axis.partition_point(|&m| m < accumulator.window.low);
            let end = axis.partition_point(|&m| m <= accumulator.window.high);
            if first >= end {
                continue;
            }
            let mut ranges = vec![first as u64..end as u64];
            ranges.extend(spatial.iter().cloned());
            let cube = self.arrays.read_f64(paths::MZ_MAJOR_INTENSITY, &ranges).await?;
            for (c, plane) in cube.chunks_exact(pixels).enumerate() {
                let mz = axis[first + c];
                for (pixel, spectrum) in index.occupied() {
                    accumulator.add(spectrum as usize, mz, plane[pixel], aggregation);
                }
            }
        }
        Ok(())
    }
}
