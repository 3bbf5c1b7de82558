//! The full check of a processed store's m/z-major points against its m/z chunk index: the
//! index in order and within its coarse level, every row the smallest and largest m/z of its
//! chunk's points, every point naming a stored spectrum. The points are read a span of chunks
//! at a time, so that memory stays bounded whatever the store's size.

use imzarr_format::{MzIndexBlocks, paths};

use super::ValidationReport;
use crate::arrays::decode_u32;
use crate::dataset::Dataset;

/// Points read at once (about 48 MiB of f64 m/z and u32 spectrum numbers).
const POINTS_PER_STEP: u64 = 1 << 22;

/// Adds to `report` every inconsistency of the m/z-major points and the m/z chunk index.
pub(super) async fn check(dataset: &Dataset, report: &mut ValidationReport) {
    let rows = async { dataset.mz_chunk_index()?.all(&dataset.arrays).await };
    let rows = match rows.await {
        Ok(rows) => rows,
        Err(e) => return report.problems.push(e.to_string()),
    };
    if let Some(stored) = dataset.attributes.mz_index.as_ref().and_then(|i| i.blocks.as_ref())
        && !same_bits(&MzIndexBlocks::of(&rows, stored.rows).mz_range, &stored.mz_range)
    {
        report.problems.push(format!(
            "imzarr.mz_index.blocks: the blocks' m/z ranges are not those of the rows of {}",
            paths::MZ_MAJOR_CHUNK_MZ_RANGE
        ));
    }
    if let Err(problem) = check_points(dataset, &rows).await {
        report.problems.push(problem);
    }
}

/// The first inconsistency between the points and `rows`, if any.
async fn check_points(dataset: &Dataset, rows: &[[f64; 2]]) -> Result<(), String> {
    let spectra = dataset.attributes.counts.spectra;
    let points = dataset.attributes.counts.points;
    let chunk_points = dataset.attributes.mz_chunk_points();
    let step = (POINTS_PER_STEP / chunk_points).max(1) * chunk_points;
    let mut start = 0;
    while start < points {
        let span = start..(start + step).min(points);
        let (mz, spectrum) = tokio::try_join!(
            dataset.arrays.read_f64(paths::MZ_MAJOR_MZ, std::slice::from_ref(&span)),
            dataset
                .arrays
                .read_raw(paths::MZ_MAJOR_SPECTRUM, std::slice::from_ref(&span)),
        )
        .map_err(|e| e.to_string())?;
        if let Some(k) = decode_u32(&spectrum.0).iter().position(|&s| u64::from(s) >= spectra) {
            return Err(format!(
                "{}: point {} names a spectrum beyond the {spectra} stored",
                paths::MZ_MAJOR_SPECTRUM,
                span.start + k as u64
            ));
        }
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
    Ok(())
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
