//! The continuous transpose: rows of spectra (one value per channel) into the m/z-major cube
//! (one plane of pixels per channel).

use imzarr_imzml::DataType;

/// Spectra handled together: their values of one channel land close together in the cube
/// (neighbours in tile-major order are neighbours on the grid), while their rows stay in cache.
pub(crate) const SPECTRA_PER_PASS: usize = 64;

/// Scatters `rows` (spectrum after spectrum, `width` channels of `dtype` each) into `cube`:
/// channel `c` of row `k` goes to element `channel_at[c] + pixel_at[k]` of `cube`. Elements no
/// row names keep what `cube` held.
pub(crate) fn rows_to_cube(
    rows: &[u8],
    width: usize,
    dtype: DataType,
    pixel_at: &[u64],
    channel_at: &[u64],
    cube: &mut [u8],
) {
    let at = Placement { pixel_at, channel_at };
    match dtype {
        DataType::I8 => scatter::<1>(rows, width, at, cube),
        DataType::F16 | DataType::I16 => scatter::<2>(rows, width, at, cube),
        DataType::F32 | DataType::I32 => scatter::<4>(rows, width, at, cube),
        DataType::F64 | DataType::I64 => scatter::<8>(rows, width, at, cube),
    }
}

/// Where the values of the rows go: the sum of an offset per row and one per channel.
#[derive(Clone, Copy)]
struct Placement<'a> {
    pixel_at: &'a [u64],
    channel_at: &'a [u64],
}

fn scatter<const N: usize>(rows: &[u8], width: usize, at: Placement, cube: &mut [u8]) {
    if width == 0 {
        return;
    }
    let (rows, _) = rows.as_chunks::<N>();
    let (cube, _) = cube.as_chunks_mut::<N>();
    let spectra = rows.len() / width;
    for first in (0..spectra).step_by(SPECTRA_PER_PASS) {
        let pass = first..(first + SPECTRA_PER_PASS).min(spectra);
        for (channel, &channel_at) in at.channel_at[..width].iter().enumerate() {
            for spectrum in pass.clone() {
                cube[(channel_at + at.pixel_at[spectrum]) as usize] = rows[spectrum * width + channel];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Element-by-element definition of the transpose, for every element size.
    fn naive(rows: &[u8], width: usize, element: usize, pixel_of: &[u64], pixels: usize) -> Vec<u8> {
        let mut cube = vec![0xAAu8; width * pixels * element];
        for (row, &pixel) in rows.chunks_exact(width * element).zip(pixel_of) {
            for (channel, value) in row.chunks_exact(element).enumerate() {
                let at = (channel * pixels + pixel as usize) * element;
                cube[at..at + element].copy_from_slice(value);
            }
        }
        cube
    }

    #[test]
    fn matches_the_element_by_element_transpose() {
        let pixels = 150;
        // A permutation of part of the grid (pixels 3, 10, 17, ... never written).
        let pixel_of: Vec<u64> = (0..130u64).map(|k| (k * 7 + 3) % pixels as u64).collect();
        for dtype in [DataType::I8, DataType::I16, DataType::F32, DataType::F64] {
            let element = dtype.size();
            for width in [1, 5, 67] {
                let rows: Vec<u8> = (0..pixel_of.len() * width * element)
                    .map(|i| (i * 31 % 251) as u8)
                    .collect();
                let planes: Vec<u64> = (0..width as u64).map(|c| c * pixels as u64).collect();
                let mut cube = vec![0xAAu8; width * pixels * element];
                rows_to_cube(&rows, width, dtype, &pixel_of, &planes, &mut cube);
                assert_eq!(
                    cube,
                    naive(&rows, width, element, &pixel_of, pixels),
                    "{element} {width}"
                );
            }
        }
    }

    #[test]
    fn channels_may_be_placed_anywhere() {
        // Two rows of three one-byte channels; channels in reverse order, 10 apart.
        let rows = [1u8, 2, 3, 4, 5, 6];
        let mut cube = vec![0u8; 30];
        rows_to_cube(&rows, 3, DataType::I8, &[0, 5], &[20, 10, 0], &mut cube);
        let mut expected = vec![0u8; 30];
        for (k, &pixel) in [0usize, 5].iter().enumerate() {
            for (c, at) in [20usize, 10, 0].iter().enumerate() {
                expected[at + pixel] = rows[k * 3 + c];
            }
        }
        assert_eq!(cube, expected);
        assert_eq!((cube[20], cube[10], cube[0], cube[25]), (1, 2, 3, 4));
    }
}
