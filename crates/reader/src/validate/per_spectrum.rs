//! The full check of the per-spectrum tables against the spectra: `pixels/point_count`
//! against the points each spectrum holds, `pixels/tic` against the sum of its intensities,
//! and level 0 of the TIC image against `pixels/tic` at every pixel (NaN where no spectrum was
//! acquired). Viewers show the TIC image and users normalise by the TIC, so wrong values there
//! are wrong answers, whatever the checksums say.

use imzarr_format::paths;

use super::ValidationReport;
use super::spatial;
use crate::arrays::decode_u64;
use crate::dataset::Dataset;

/// Relative difference allowed between a stored TIC and the sum of the intensities computed
/// again, to the sum of their magnitudes: the order of a floating-point sum is the writer's
/// choice, and its rounding error stays far below this for any spectrum length.
const TIC_TOLERANCE: f64 = 1e-9;

/// Each spectrum's sum of intensities and sum of their magnitudes, as the spectrum-major
/// layout is read.
#[derive(Debug, Clone, Default)]
pub(super) struct SpectrumSums {
    sum: Vec<f64>,
    magnitude: Vec<f64>,
}

impl SpectrumSums {
    /// Adds `values`, intensities of stored spectrum `spectrum` (all of them or a part). The
    /// tables grow with the spectra read, not with a count the store claims.
    pub(super) fn add(&mut self, spectrum: usize, values: &[f64]) {
        if spectrum >= self.sum.len() {
            self.sum.resize(spectrum + 1, 0.0);
            self.magnitude.resize(spectrum + 1, 0.0);
        }
        let (sum, magnitude) = (&mut self.sum[spectrum], &mut self.magnitude[spectrum]);
        for value in values {
            *sum += value;
            *magnitude += value.abs();
        }
    }

    /// The sum and the sum of magnitudes of the intensities of `spectrum` (0 for none).
    fn of(&self, spectrum: usize) -> (f64, f64) {
        let sum = self.sum.get(spectrum).copied().unwrap_or(0.0);
        (sum, self.magnitude.get(spectrum).copied().unwrap_or(0.0))
    }
}

/// Adds to `report` the first disagreement of `pixels/point_count` with `point_counts`, of
/// `pixels/tic` with `sums`, and of the TIC image's level 0 with `pixels/tic`.
pub(super) async fn check(dataset: &Dataset, point_counts: &[u64], sums: &SpectrumSums, report: &mut ValidationReport) {
    let n = dataset.attributes.counts.spectra;
    let read = |path| async move { dataset.arrays.read_raw(path, &[0..n]).await };
    if let Ok((bytes, _)) = read(paths::PIXELS_POINT_COUNT).await {
        let stored = decode_u64(&bytes);
        if let Some(s) = stored.iter().zip(point_counts).position(|(a, b)| a != b) {
            report.problems.push(format!(
                "{}: spectrum {s} is recorded with {} points, but holds {}",
                paths::PIXELS_POINT_COUNT,
                stored[s],
                point_counts[s]
            ));
        }
    }
    let Ok((bytes, _)) = read(paths::PIXELS_TIC).await else {
        return; // reported with the arrays
    };
    let tic: Vec<f64> = decode_u64(&bytes).into_iter().map(f64::from_bits).collect();
    let wrong = (0..tic.len()).find(|&s| {
        let (sum, magnitude) = sums.of(s);
        !same_total(tic[s], sum, magnitude)
    });
    if let Some(s) = wrong {
        report.problems.push(format!(
            "{}: spectrum {s} holds {}, but its intensities sum to {}",
            paths::PIXELS_TIC,
            tic[s],
            sums.of(s).0
        ));
    }
    if let Err(problem) = check_tic_image(dataset, &tic).await {
        report.problems.push(problem);
    }
}

/// Whether a stored TIC is the sum `sum` of intensities of magnitude `magnitude`, up to the
/// order of summation; NaN and infinite intensities (kept bit for bit from the source) give
/// NaN or infinite sums on both sides.
fn same_total(tic: f64, sum: f64, magnitude: f64) -> bool {
    tic == sum || (tic.is_nan() && sum.is_nan()) || (tic - sum).abs() <= TIC_TOLERANCE * magnitude
}

/// The first pixel of level 0 of the TIC image that is not `tic` of its spectrum (bit for
/// bit), or not NaN where no spectrum was acquired.
async fn check_tic_image(dataset: &Dataset, tic: &[f64]) -> Result<(), String> {
    let array = format!("{}/0", paths::IMAGES_TIC);
    spatial::for_each_shard(dataset, &array, |shard| {
        for (_, plane) in shard.planes() {
            let values = decode_u64(plane).into_iter().map(f64::from_bits);
            for (pixel, value) in shard.tile.iter().zip(values) {
                let expected = pixel.spectrum.map(|s| tic.get(s as usize).copied().unwrap_or(f64::NAN));
                let right = match expected {
                    Some(expected) => value.to_bits() == expected.to_bits(),
                    None => value.is_nan(),
                };
                if !right {
                    let (x, y, z) = (pixel.x, pixel.y, pixel.z);
                    return Err(format!(
                        "{array}: grid (x {x}, y {y}, z {z}) holds {value}, not {}",
                        expected.map_or("NaN (no spectrum there)".into(), |e| e.to_string())
                    ));
                }
            }
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_agree_up_to_the_order_of_summation_only() {
        let values = [1.0e16, 1.0, -1.0e16, 3.5];
        let forward: f64 = values.iter().sum();
        let backward: f64 = values.iter().rev().sum();
        let magnitude: f64 = values.iter().map(|v| v.abs()).sum();
        assert_ne!(forward, backward);
        assert!(same_total(forward, backward, magnitude));
        assert!(!same_total(forward + 1.0e8, backward, magnitude));
        assert!(same_total(f64::NAN, f64::NAN, f64::NAN));
        assert!(same_total(f64::INFINITY, f64::INFINITY, f64::INFINITY));
        assert!(!same_total(f64::NAN, 1.0, 1.0));
        assert!(!same_total(0.5, 0.0, 0.0));
    }
}
