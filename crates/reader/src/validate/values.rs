//! The values of a read, as the full validation needs them: each element's bits (for the
//! layouts' fingerprints) and its number (for the TIC sums). Each is written into a buffer the
//! caller keeps from one read to the next, so that a pass over gigabytes does not map and zero
//! fresh pages for every span.

use crate::arrays::decode_f64;

/// The size of the elements of `bytes`, read for `count` elements: an error when that is not
/// 1, 2, 4 or 8 bytes.
pub(super) fn element_size(array: &str, bytes: &[u8], count: u64) -> Result<usize, String> {
    if count == 0 {
        return Ok(1);
    }
    let size = bytes.len() as u64 / count;
    if size * count != bytes.len() as u64 || ![1, 2, 4, 8].contains(&size) {
        return Err(format!("{array}: {} bytes do not hold {count} values", bytes.len()));
    }
    Ok(size as usize)
}

/// Replaces the contents of `bits` with the bits of each little-endian element of `bytes`,
/// elements of `size` bytes (1, 2, 4 or 8, as [`element_size`] checks), zero-extended.
pub(super) fn element_bits(bytes: &[u8], size: usize, bits: &mut Vec<u64>) {
    fn widened<const N: usize>(bytes: &[u8], bits: &mut Vec<u64>) {
        let (elements, _) = bytes.as_chunks::<N>();
        bits.extend(elements.iter().map(|element| {
            let mut word = [0u8; 8];
            word[..N].copy_from_slice(element);
            u64::from_le_bytes(word)
        }));
    }
    bits.clear();
    match size {
        1 => widened::<1>(bytes, bits),
        2 => widened::<2>(bytes, bits),
        4 => widened::<4>(bytes, bits),
        _ => widened::<8>(bytes, bits),
    }
}

/// Replaces the contents of `numbers` with the values of `bytes`, of the Zarr data type
/// `data_type`, as `f64`.
pub(super) fn numbers(array: &str, bytes: &[u8], data_type: &str, numbers: &mut Vec<f64>) -> Result<(), String> {
    fn converted<const N: usize>(bytes: &[u8], numbers: &mut Vec<f64>, number: impl Fn([u8; N]) -> f64) {
        let (elements, _) = bytes.as_chunks::<N>();
        numbers.extend(elements.iter().map(|&element| number(element)));
    }
    numbers.clear();
    match data_type {
        "float32" => converted(bytes, numbers, |e| f64::from(f32::from_le_bytes(e))),
        "float64" => converted(bytes, numbers, f64::from_le_bytes),
        _ => numbers.extend(
            decode_f64(bytes, data_type).ok_or_else(|| format!("{array}: data type {data_type} is not numeric"))?,
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_read_little_endian_and_sizes_checked() {
        let bytes = [1, 0, 0, 0, 0, 0, 0x80, 0x3f];
        let mut bits = vec![7; 9];
        element_bits(&bytes, 4, &mut bits);
        assert_eq!(bits, [1, 0x3f80_0000]);
        element_bits(&bytes, 2, &mut bits);
        assert_eq!(bits, [1, 0, 0, 0x3f80]);
        element_bits(&bytes, 8, &mut bits);
        assert_eq!(bits, [0x3f80_0000_0000_0001]);
        assert_eq!(element_size("a", &bytes, 2), Ok(4));
        assert!(element_size("a", &bytes, 3).is_err());
        assert!(element_size("a", &bytes, 0).is_ok());
        assert!(element_size("a", &[0; 16], 1).is_err());
        assert!(element_size("a", &[0; 6], 2).is_err());
    }

    #[test]
    fn numbers_of_every_type_imzml_holds() {
        let mut numbers = vec![9.0];
        super::numbers("a", &1.5f32.to_le_bytes(), "float32", &mut numbers).unwrap();
        assert_eq!(numbers, [1.5]);
        super::numbers("a", &(-2.25f64).to_le_bytes(), "float64", &mut numbers).unwrap();
        assert_eq!(numbers, [-2.25]);
        super::numbers("a", &(-3i32).to_le_bytes(), "int32", &mut numbers).unwrap();
        assert_eq!(numbers, [-3.0]);
        super::numbers("a", &[0xff, 0x7f], "int16", &mut numbers).unwrap();
        assert_eq!(numbers, [32767.0]);
        assert!(super::numbers("a", &[0; 4], "complex64", &mut numbers).is_err());
    }
}
