//! The full check of a processed store's m/z-major points against its m/z chunk index: the
//! index in order and within its coarse level, every row the smallest and largest m/z of its
//! chunk's points, every point naming a stored spectrum. The points are read a span of chunks
//! at a time, so that memory stays bounded whatever the store's size; the same pass
//! fingerprints them for the comparison with the spectrum-major layout.

use imzarr_format::{MzIndexBlocks, paths};

use super::ValidationReport;
use super::fingerprint::Fingerprint;
use super::values::{element_bits, element_size, numbers};
use crate::arrays::decode_u32;
use crate::dataset::Dataset;

/// Points read at once (32 MiB of f64 m/z, f32 intensities and u32 spectrum numbers).
pub(super) const POINTS_PER_STEP: u64 = 1 << 21;

/// Adds to `report` every inconsistency of the m/z-major points and the m/z chunk index;
/// returns the fingerprint of the points, keyed by m/z, when they could all be read.
pub(super) async fn check(dataset: &Dataset, report: &mut ValidationReport) -> Option<Fingerprint> {
    let rows = async { dataset.mz_chunk_index()?.all(&dataset.arrays).await };
    let rows = match rows.await {
        Ok(rows) => rows,
        Err(e) => {
            report.problems.push(e.to_string());
            return None;
        }
    };
    if let Some(stored) = dataset.attributes.mz_index.as_ref().and_then(|i| i.blocks.as_ref())
        && !same_bits(&MzIndexBlocks::of(&rows, stored.rows).mz_range, &stored.mz_range)
    {
        report.problems.push(format!(
            "imzarr.mz_index.blocks: the blocks' m/z ranges are not those of the rows of {}",
            paths::MZ_MAJOR_CHUNK_MZ_RANGE
        ));
    }
    check_points(dataset, &rows)
        .await
        .map_err(|problem| report.problems.push(problem))
        .ok()
}

/// The fingerprint of the points, or the first inconsistency between them and `rows`.
async fn check_points(dataset: &Dataset, rows: &[[f64; 2]]) -> Result<Fingerprint, String> {
    let spectra = dataset.attributes.counts.spectra;
    let points = dataset.attributes.counts.points;
    let chunk_points = dataset.attributes.mz_chunk_points();
    let step = (POINTS_PER_STEP / chunk_points).max(1) * chunk_points;
    let mut fingerprint = Fingerprint::default();
    let (mut mz_bits, mut intensity_bits, mut mz) = (Vec::new(), Vec::new(), Vec::new());
    let mut start = 0;
    while start < points {
        let span = start..(start + step).min(points);
        let subset = std::slice::from_ref(&span);
        let ((mz_bytes, mz_type), (intensity, _), (spectrum, _)) = tokio::try_join!(
            dataset.arrays.read_raw(paths::MZ_MAJOR_MZ, subset),
            dataset.arrays.read_raw(paths::MZ_MAJOR_INTENSITY, subset),
            dataset.arrays.read_raw(paths::MZ_MAJOR_SPECTRUM, subset),
        )
        .map_err(|e| e.to_string())?;
        let spectrum = decode_u32(&spectrum);
        if let Some(k) = spectrum.iter().position(|&s| u64::from(s) >= spectra) {
            return Err(format!(
                "{}: point {} names a spectrum beyond the {spectra} stored",
                paths::MZ_MAJOR_SPECTRUM,
                span.start + k as u64
            ));
        }
        let count = span.end - span.start;
        let mz_size = element_size(paths::MZ_MAJOR_MZ, &mz_bytes, count)?;
        let intensity_size = element_size(paths::MZ_MAJOR_INTENSITY, &intensity, count)?;
        element_bits(&mz_bytes, mz_size, &mut mz_bits);
        element_bits(&intensity, intensity_size, &mut intensity_bits);
        let values = mz_bits.iter().zip(&intensity_bits);
        // Inside a chunk the points run by spectrum: one key per run.
        let mut key = (u32::MAX, Fingerprint::spectrum_key(u64::from(u32::MAX)));
        for (&s, (mz, value)) in spectrum.iter().zip(values) {
            if s != key.0 {
                key = (s, Fingerprint::spectrum_key(u64::from(s)));
            }
            fingerprint.add(key.1, *mz, *value);
        }
        numbers(paths::MZ_MAJOR_MZ, &mz_bytes, &mz_type, &mut mz)?;
        for (k, values) in mz.chunks(chunk_points as usize).enumerate() {
            let chunk = (span.start / chunk_points) as usize + k;
            let found = total_order_range(values);
            match rows.get(chunk) {
                Some(row) if same_bits(&[*row], &[found]) => {}
                row => {
                    return Err(format!(
                        "{}: row {chunk} is {row:?}, but the chunk's points range over {found:?}",
                        paths::MZ_MAJOR_CHUNK_MZ_RANGE
                    ));
                }
            }
        }
        start = span.end;
    }
    Ok(fingerprint)
}

/// The smallest and largest of `values` (not empty) in IEEE 754 totalOrder.
fn total_order_range(values: &[f64]) -> [f64; 2] {
    values.iter().fold([values[0], values[0]], |[low, high], &v| {
        [
            if v.total_cmp(&low).is_lt() { v } else { low },
            if v.total_cmp(&high).is_gt() { v } else { high },
        ]
    })
}

fn same_bits(a: &[[f64; 2]], b: &[[f64; 2]]) -> bool {
    a.len() == b.len()
        && a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .all(|(x, y)| x.to_bits() == y.to_bits())
}
