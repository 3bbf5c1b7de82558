//! Pure planning of an export: runs of stored spectra read at once, and the place of each
//! stored spectrum in the exported spectrum list.

use std::ops::Range;

/// Cuts stored spectra `0..offsets.len() - 1` into consecutive runs of at most `budget_points`
/// points each (a spectrum larger than the budget is a run of its own). `offsets` are the
/// `n + 1` point offsets of the spectra.
pub(crate) fn runs_by_points(offsets: &[u64], budget_points: u64) -> Vec<Range<u64>> {
    let spectra = offsets.len().saturating_sub(1) as u64;
    let mut runs = Vec::new();
    let mut start = 0u64;
    while start < spectra {
        let mut end = start + 1;
        while end < spectra && offsets[end as usize + 1] - offsets[start as usize] <= budget_points {
            end += 1;
        }
        runs.push(start..end);
        start = end;
    }
    runs
}

/// For every stored spectrum, its place in a spectrum list ordered as the source imzML was:
/// the rank of its source index (source indexes are distinct but may have gaps).
pub(crate) fn list_positions(source_index: &[u64]) -> Vec<usize> {
    let mut by_source: Vec<usize> = (0..source_index.len()).collect();
    by_source.sort_unstable_by_key(|&k| source_index[k]);
    let mut position = vec![0; source_index.len()];
    for (rank, &stored) in by_source.iter().enumerate() {
        position[stored] = rank;
    }
    position
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_respect_the_budget_and_cover_every_spectrum() {
        let offsets = [0, 3, 3, 10, 11, 30, 31];
        let runs = runs_by_points(&offsets, 10);
        assert_eq!(runs, vec![0..3, 3..4, 4..5, 5..6]);
        let covered: Vec<u64> = runs.iter().flat_map(|r| r.clone()).collect();
        assert_eq!(covered, (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn no_spectra_gives_no_runs() {
        assert!(runs_by_points(&[0], 10).is_empty());
        assert!(runs_by_points(&[], 10).is_empty());
    }

    #[test]
    fn positions_follow_source_order_with_gaps() {
        assert_eq!(list_positions(&[7, 2, 9, 4]), vec![2, 0, 3, 1]);
    }
}
