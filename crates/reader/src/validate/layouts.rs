//! The full check that the two layouts hold the same values: every point of the
//! spectrum-major layout once in the m/z-major layout, with the same spectrum, m/z (or
//! channel) and intensity bits, and nothing else there. A reader draws ion images from one
//! layout and spectra from the other, so a store whose layouts disagree would give answers
//! that contradict each other without any checksum failing. Each layout is read once, a span
//! at a time, and summarized by a [`Fingerprint`].

use imzarr_format::paths;

use super::ValidationReport;
use super::fingerprint::Fingerprint;
use super::mz_major::{self, POINTS_PER_STEP};
use super::per_spectrum::{self, SpectrumSums};
use super::spatial::{self, TilePixel};
use super::values::{element_bits, element_size, numbers};
use crate::dataset::Dataset;

/// Bytes of intensities read at once from a continuous store's spectrum-major layout.
const BYTES_PER_STEP: u64 = 1 << 26;

/// The arrays [`check_processed`] reads in full.
pub(super) const PROCESSED_ARRAYS: [&str; 5] = [
    paths::SPECTRA_MZ,
    paths::SPECTRA_INTENSITY,
    paths::MZ_MAJOR_MZ,
    paths::MZ_MAJOR_INTENSITY,
    paths::MZ_MAJOR_SPECTRUM,
];

/// The arrays [`check_continuous`] reads in full.
pub(super) const CONTINUOUS_ARRAYS: [&str; 2] = [paths::SPECTRA_INTENSITY, paths::MZ_MAJOR_INTENSITY];

/// Checks a processed store's m/z-major points against its m/z chunk index and both layouts
/// against each other; `offsets` are `pixels/point_offset`, checked (`None` when they could
/// not be read or are wrong: the layouts are then not compared). Returns whether every array
/// of [`PROCESSED_ARRAYS`] was read.
pub(super) async fn check_processed(dataset: &Dataset, offsets: Option<&[u64]>, report: &mut ValidationReport) -> bool {
    // The two layouts side by side: one hashes while the other's chunks are fetched and
    // decoded. Without offsets to trust, the points cannot be given their spectra; they are
    // still read, for their checksums.
    let mut mz_report = ValidationReport::default();
    let (by_mz, by_spectrum) = tokio::join!(
        mz_major::check(dataset, &mut mz_report),
        spectrum_major_points(dataset, offsets.unwrap_or_default())
    );
    report.problems.append(&mut mz_report.problems);
    let by_spectrum = by_spectrum.map_err(|problem| report.problems.push(problem)).ok();
    let Some(offsets) = offsets else {
        return false;
    };
    if let Some((_, sums)) = &by_spectrum {
        let point_counts: Vec<u64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
        per_spectrum::check(dataset, &point_counts, sums, report).await;
    }
    compare(by_spectrum.map(|(fingerprint, _)| fingerprint), by_mz, report)
}

/// Checks a continuous store's cube against its spectrum-major rows, and that the cube holds
/// zeros where no spectrum was acquired. Returns whether both arrays were read.
pub(super) async fn check_continuous(dataset: &Dataset, report: &mut ValidationReport) -> bool {
    // The two layouts side by side: one hashes while the other's chunks are fetched and
    // decoded.
    let (by_spectrum, by_mz) = tokio::join!(spectrum_major_rows(dataset), cube(dataset));
    let by_spectrum = by_spectrum.map_err(|problem| report.problems.push(problem)).ok();
    let by_mz = by_mz.map_err(|problem| report.problems.push(problem)).ok();
    if let (Some((_, sums)), Ok(&[spectra, channels])) =
        (&by_spectrum, dataset.arrays.shape(paths::SPECTRA_INTENSITY).as_deref())
    {
        per_spectrum::check(dataset, &vec![channels; spectra as usize], sums, report).await;
    }
    compare(by_spectrum.map(|(fingerprint, _)| fingerprint), by_mz, report)
}

/// Adds a problem when both fingerprints are known and differ; whether both are known.
fn compare(by_spectrum: Option<Fingerprint>, by_mz: Option<Fingerprint>, report: &mut ValidationReport) -> bool {
    let (Some(by_spectrum), Some(by_mz)) = (by_spectrum, by_mz) else {
        return false;
    };
    if by_spectrum != by_mz {
        report.problems.push(format!(
            "{} and {}: the two layouts do not hold the same values ({} points by spectrum, {} by m/z{})",
            paths::SPECTRA,
            paths::MZ_MAJOR,
            by_spectrum.points,
            by_mz.points,
            if by_spectrum.points == by_mz.points {
                ", some of them different"
            } else {
                ""
            }
        ));
    }
    true
}

/// The fingerprint of a processed store's spectrum-major points, keyed by m/z, and each
/// spectrum's sums; spectra by `offsets` (all 0 when they are empty). Each step's points are
/// hashed on a blocking thread, beside the m/z-major pass.
async fn spectrum_major_points(dataset: &Dataset, offsets: &[u64]) -> Result<(Fingerprint, SpectrumSums), String> {
    let points = dataset.attributes.counts.points;
    let offsets: std::sync::Arc<[u64]> = offsets.into();
    let mut pass = PointsPass::default();
    let mut start = 0;
    while start < points {
        let span = start..(start + POINTS_PER_STEP).min(points);
        let subset = std::slice::from_ref(&span);
        let ((mz, _), (intensity, intensity_type)) = tokio::try_join!(
            dataset.arrays.read_raw(paths::SPECTRA_MZ, subset),
            dataset.arrays.read_raw(paths::SPECTRA_INTENSITY, subset),
        )
        .map_err(|e| e.to_string())?;
        start = span.end;
        let offsets = offsets.clone();
        pass = on_blocking_thread(paths::SPECTRA, pass, move |pass| {
            pass.add(span, &offsets, &mz, &intensity, &intensity_type)
        })
        .await?;
    }
    Ok((pass.fingerprint, pass.sums))
}

/// Runs `step` on `pass` on a blocking thread, beside the other layout's pass on the calling
/// task, and gives the pass back; `array` names what is checked if the thread fails.
async fn on_blocking_thread<P: Send + 'static>(
    array: &str,
    mut pass: P,
    step: impl FnOnce(&mut P) -> Result<(), String> + Send + 'static,
) -> Result<P, String> {
    tokio::task::spawn_blocking(move || step(&mut pass).map(|()| pass))
        .await
        .map_err(|e| format!("{array}: the check stopped: {e}"))?
}

/// What [`spectrum_major_points`] has added up, where it is, and buffers kept from one step
/// to the next.
#[derive(Default)]
struct PointsPass {
    fingerprint: Fingerprint,
    sums: SpectrumSums,
    /// The stored spectrum of the next point.
    spectrum: usize,
    mz_bits: Vec<u64>,
    intensity_bits: Vec<u64>,
    intensities: Vec<f64>,
}

impl PointsPass {
    /// Adds the points `span` (their m/z and intensity bytes; the intensities of
    /// `intensity_type`), given to spectra by `offsets`.
    fn add(
        &mut self,
        span: std::ops::Range<u64>,
        offsets: &[u64],
        mz: &[u8],
        intensity: &[u8],
        intensity_type: &str,
    ) -> Result<(), String> {
        let count = span.end - span.start;
        let mz_size = element_size(paths::SPECTRA_MZ, mz, count)?;
        let intensity_size = element_size(paths::SPECTRA_INTENSITY, intensity, count)?;
        element_bits(mz, mz_size, &mut self.mz_bits);
        element_bits(intensity, intensity_size, &mut self.intensity_bits);
        numbers(
            paths::SPECTRA_INTENSITY,
            intensity,
            intensity_type,
            &mut self.intensities,
        )?;
        let mut key = Fingerprint::spectrum_key(self.spectrum as u64);
        // The points of the span from which the current spectrum's sums are still to add.
        let mut unsummed = 0;
        let values = self.mz_bits.iter().zip(&self.intensity_bits);
        for (point, (mz, value)) in span.clone().zip(values) {
            // Checked offsets rise from 0 to the point count: every point has a spectrum.
            while offsets.get(self.spectrum + 1).is_some_and(|&end| end <= point) {
                let here = (point - span.start) as usize;
                self.sums.add(self.spectrum, &self.intensities[unsummed..here]);
                unsummed = here;
                self.spectrum += 1;
                key = Fingerprint::spectrum_key(self.spectrum as u64);
            }
            self.fingerprint.add(key, *mz, *value);
        }
        let rest = &self.intensities[unsummed.min(self.intensities.len())..];
        self.sums.add(self.spectrum, rest);
        Ok(())
    }
}

/// The fingerprint of a continuous store's spectrum-major rows, keyed by channel, and each
/// spectrum's sums. Each step's rows are hashed on a blocking thread, beside the cube's pass
/// (which hashes on the task that joins both): the two layouts are checked on two cores.
async fn spectrum_major_rows(dataset: &Dataset) -> Result<(Fingerprint, SpectrumSums), String> {
    let [spectra, channels] = dataset
        .arrays
        .shape(paths::SPECTRA_INTENSITY)
        .map_err(|e| e.to_string())?[..]
    else {
        return Err(format!("{}: not two-dimensional", paths::SPECTRA_INTENSITY));
    };
    let rows_per_step = (BYTES_PER_STEP / (8 * channels).max(1)).max(1);
    let mut pass = RowsPass::default();
    let mut first = 0;
    while first < spectra {
        let rows = first..(first + rows_per_step).min(spectra);
        let subset = [rows.clone(), 0..channels];
        let (bytes, data_type) = dataset
            .arrays
            .read_raw(paths::SPECTRA_INTENSITY, &subset)
            .await
            .map_err(|e| e.to_string())?;
        pass = on_blocking_thread(paths::SPECTRA_INTENSITY, pass, move |pass| {
            pass.add(rows, channels, &bytes, &data_type)
        })
        .await?;
        first += rows_per_step;
    }
    Ok((pass.fingerprint, pass.sums))
}

/// What [`spectrum_major_rows`] has added up, with buffers kept from one step to the next.
#[derive(Default)]
struct RowsPass {
    fingerprint: Fingerprint,
    sums: SpectrumSums,
    values: Vec<u64>,
    intensities: Vec<f64>,
}

impl RowsPass {
    /// Adds the rows `rows` (`bytes` of `data_type`, `channels` values each).
    fn add(&mut self, rows: std::ops::Range<u64>, channels: u64, bytes: &[u8], data_type: &str) -> Result<(), String> {
        let size = element_size(paths::SPECTRA_INTENSITY, bytes, (rows.end - rows.start) * channels)?;
        element_bits(bytes, size, &mut self.values);
        numbers(paths::SPECTRA_INTENSITY, bytes, data_type, &mut self.intensities)?;
        let row_length = channels.max(1) as usize;
        for ((spectrum, row), row_numbers) in rows
            .zip(self.values.chunks(row_length))
            .zip(self.intensities.chunks(row_length))
        {
            let key = Fingerprint::spectrum_key(spectrum);
            for (channel, &value) in (0..channels).zip(row) {
                self.fingerprint.add(key, channel, value);
            }
            self.sums.add(spectrum as usize, row_numbers);
        }
        Ok(())
    }
}

/// The fingerprint of a continuous store's cube `(C, [depth,] height, width)`, keyed by
/// channel, read a shard at a time; an error at the first non-zero value at a pixel where no
/// spectrum was acquired.
async fn cube(dataset: &Dataset) -> Result<Fingerprint, String> {
    let array = paths::MZ_MAJOR_INTENSITY;
    let mut fingerprint = Fingerprint::default();
    let mut values = Vec::new();
    spatial::for_each_shard(dataset, array, |shard| {
        let keys: Vec<Option<u64>> = shard
            .tile
            .iter()
            .map(|pixel| pixel.spectrum.map(|s| Fingerprint::spectrum_key(u64::from(s))))
            .collect();
        for (channel, plane) in shard.planes() {
            element_bits(plane, shard.element_size(), &mut values);
            for ((pixel, key), &value) in shard.tile.iter().zip(&keys).zip(&values) {
                match key {
                    Some(key) => fingerprint.add(*key, channel, value),
                    None if value == 0 => {}
                    None => {
                        let TilePixel { x, y, z, .. } = pixel;
                        return Err(format!(
                            "{array}: channel {channel} holds a value at grid (x {x}, y {y}, z {z}), where no spectrum was acquired (it must be 0)"
                        ));
                    }
                }
            }
        }
        Ok(())
    })
    .await?;
    Ok(fingerprint)
}
