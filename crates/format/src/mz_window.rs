//! m/z windows and the search of the m/z chunk index.

/// A closed m/z interval to integrate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MzWindow {
    /// Lower bound (inclusive).
    pub low: f64,
    /// Upper bound (inclusive).
    pub high: f64,
}

impl MzWindow {
    /// `center` ± `ppm` parts per million of `center`.
    pub fn ppm(center: f64, ppm: f64) -> Self {
        let half = center * ppm * 1e-6;
        Self {
            low: center - half,
            high: center + half,
        }
    }

    /// `center` ± `da` daltons.
    pub fn da(center: f64, da: f64) -> Self {
        Self {
            low: center - da,
            high: center + da,
        }
    }

    /// Whether `mz` lies in the window.
    #[inline]
    pub fn contains(&self, mz: f64) -> bool {
        mz >= self.low && mz <= self.high
    }

    /// Whether the window is a proper interval (finite, low ≤ high).
    pub fn is_valid(&self) -> bool {
        self.low.is_finite() && self.high.is_finite() && self.low <= self.high
    }
}

/// Indices of the chunks whose `[min, max]` m/z range overlaps `window`, the chunks ordered by
/// m/z in IEEE 754 total order (the order of the m/z-major points), so that both columns are
/// non-decreasing in that order. NaN bounds (of NaN m/z values, which sort below `-inf` or
/// above `inf` by their sign) select no window; `-0.0` and `0.0` both lie in a window that holds
/// zero, as [`MzWindow::contains`] has it.
pub fn chunks_overlapping(ranges: &[[f64; 2]], window: &MzWindow) -> std::ops::Range<usize> {
    let low = if window.low == 0.0 { -0.0 } else { window.low };
    let high = if window.high == 0.0 { 0.0 } else { window.high };
    let first = ranges.partition_point(|r| r[1].total_cmp(&low).is_lt());
    let end = ranges.partition_point(|r| r[0].total_cmp(&high).is_le());
    first..end.max(first)
}

/// Whether `[min, max]` ranges are in the order [`chunks_overlapping`] searches: each `min ≤ max`,
/// and both columns non-decreasing, in IEEE 754 total order.
pub fn ranges_in_mz_order(ranges: &[[f64; 2]]) -> bool {
    let ordered = |a: f64, b: f64| a.total_cmp(&b).is_le();
    ranges.iter().all(|r| ordered(r[0], r[1]))
        && ranges
            .windows(2)
            .all(|w| ordered(w[0][0], w[1][0]) && ordered(w[0][1], w[1][1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_search_finds_exactly_the_overlapping_chunks() {
        let ranges = [[100.0, 200.0], [200.0, 300.0], [300.5, 400.0], [400.0, 500.0]];
        assert_eq!(chunks_overlapping(&ranges, &MzWindow::da(250.0, 1.0)), 1..2);
        assert_eq!(chunks_overlapping(&ranges, &MzWindow::da(200.0, 0.0)), 0..2);
        assert_eq!(
            chunks_overlapping(&ranges, &MzWindow::da(300.2, 0.1)),
            2..2,
            "gap between chunks"
        );
        assert_eq!(
            chunks_overlapping(&ranges, &MzWindow::da(50.0, 1.0)),
            0..0,
            "below the range"
        );
        assert_eq!(
            chunks_overlapping(&ranges, &MzWindow::da(900.0, 1.0)),
            4..4,
            "above the range"
        );
        assert_eq!(chunks_overlapping(&ranges, &MzWindow { low: 0.0, high: 1e9 }), 0..4);
    }

    #[test]
    fn window_search_follows_the_total_order_of_the_sorted_points() {
        let negative_nan = -f64::NAN;
        let ranges = [
            [negative_nan, negative_nan],
            [negative_nan, f64::NEG_INFINITY],
            [-1.0, -0.0],
            [0.0, 5.0],
            [5.0, f64::INFINITY],
            [f64::NAN, f64::NAN],
        ];
        assert_eq!(chunks_overlapping(&ranges, &MzWindow::da(0.0, 0.0)), 2..4, "both zeros");
        assert_eq!(chunks_overlapping(&ranges, &MzWindow::da(3.0, 1.0)), 3..4);
        assert_eq!(chunks_overlapping(&ranges, &MzWindow::da(-1e300, 1.0)), 2..2);
        assert_eq!(chunks_overlapping(&ranges, &MzWindow { low: 5.0, high: 1e300 }), 3..5);
        assert_eq!(
            chunks_overlapping(
                &ranges,
                &MzWindow {
                    low: -1e300,
                    high: 1e300
                }
            ),
            2..5
        );
    }

    #[test]
    fn ranges_out_of_order_are_told_apart() {
        assert!(ranges_in_mz_order(&[[1.0, 2.0], [2.0, 2.0], [2.5, 9.0]]));
        assert!(ranges_in_mz_order(&[[-0.0, 0.0], [0.0, 1.0]]));
        assert!(!ranges_in_mz_order(&[[2.0, 1.0]]), "min above max");
        assert!(!ranges_in_mz_order(&[[1.0, 5.0], [0.5, 6.0]]), "minima decrease");
        assert!(!ranges_in_mz_order(&[[1.0, 5.0], [2.0, 4.0]]), "maxima decrease");
        assert!(!ranges_in_mz_order(&[[0.0, 0.0], [-0.0, 1.0]]), "0.0 before -0.0");
    }

    #[test]
    fn ppm_window_is_symmetric() {
        let w = MzWindow::ppm(1000.0, 5.0);
        assert!((w.low - 999.995).abs() < 1e-9 && (w.high - 1000.005).abs() < 1e-9);
    }
}
