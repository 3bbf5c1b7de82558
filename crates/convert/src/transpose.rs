//! The continuous transpose: rows of spectra (one value per channel) into the m/z-major cube
//! (one plane of pixels per channel).

use imzarr_imzml::DataType;

/// Spectra handled together: their values of one channel land close together in the cube
/// (neighbours in tile-major order are neighbours on the grid), while their rows stay in cache.
pub(crate) const SPECTRA_PER_PASS: usize = 64;

/// Scatters `rows` (spectrum after spectrum, `width` channels of `dtype` each; row `k` is the
/// spectrum at pixel `pixel_of[k]`) into `cube` (channel after channel, one plane of
/// `cube.len() / (width * dtype.size())` pixels each). Pixels no row names keep what `cube`
/// held.
pub(crate) fn rows_to_cube(rows: &[u8], width: usize, dtype: DataType, pixel_of: &[u64], cube: &mut [u8]) {
    match dtype {
        DataType::I8 => scatter::<1>(rows, width, pixel_of, cube),
        DataType::F16 | DataType::I16 => scatter::<2>(rows, width, pixel_of, cube),
        DataType::F32 | DataType::I32 => scatter::<4>(rows, width, pixel_of, cube),
        DataType::F64 | DataType::I64 => scatter::<8>(rows, width, pixel_of, cube),
    }
}

fn scatter<const N: usize>(rows: &[u8], width: usize, pixel_of: &[u64], cube: &mut [u8]) {
    if width == 0 {
        return;
    }
    let (rows, _) = rows.as_chunks::<N>();
    let (cube, _) = cube.as_chunks_mut::<N>();
    let pixels = cube.len() / width;
    let spectra = rows.len() / width;
    for first in (0..spectra).step_by(SPECTRA_PER_PASS) {
        let pass = first..(first + SPECTRA_PER_PASS).min(spectra);
        for (channel, plane) in cube.chunks_exact_mut(pixels).enumerate() {
            for spectrum in pass.clone() {
                plane[pixel_of[spectrum] as usize] = rows[spectrum * width + channel];
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
                let mut cube = vec![0xAAu8; width * pixels * element];
                rows_to_cube(&rows, width, dtype, &pixel_of, &mut cube);
                assert_eq!(
                    cube,
                    naive(&rows, width, element, &pixel_of, pixels),
                    "{element} {width}"
                );
            }
        }
    }
}
