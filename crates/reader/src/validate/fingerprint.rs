//! An order-independent summary of a layout's values, so that two layouts that store the same
//! points in different orders can be compared in one pass each, in memory that does not grow
//! with the store.

/// The number of points and the wrapping sum of a 64-bit hash of each point's
/// `(spectrum, position, value)`: equal for two layouts that hold the same points in any
/// order; a changed, missing, extra or moved value changes the sum except with probability
/// about 2⁻⁶⁴.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Fingerprint {
    /// Points added.
    pub(super) points: u64,
    sum: u64,
}

impl Fingerprint {
    /// The part of a point's hash that depends on its stored spectrum number alone: computed
    /// once per spectrum (or run of points of one spectrum), not once per point.
    pub(super) fn spectrum_key(spectrum: u64) -> u64 {
        mix(spectrum ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// Adds one point: the [`Self::spectrum_key`] of its spectrum, where it lies in the
    /// spectrum (the bits of its m/z, or its channel), and the bits of its value. The key
    /// and the position make a word that differs for every position of a spectrum (an odd
    /// multiplier is a bijection), and whose mix with the value is a bijection of the value.
    pub(super) fn add(&mut self, spectrum_key: u64, position: u64, value: u64) {
        self.points += 1;
        let key = spectrum_key.wrapping_add(position.wrapping_mul(0xd6e8_feb8_6659_fd93));
        self.sum = self.sum.wrapping_add(mix(key ^ value));
    }
}

/// splitmix64's finalizer: a bijection of `u64` whose outputs look independent.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The bits of each little-endian element of `bytes`, elements of `size` bytes (1, 2, 4 or
/// 8, as [`element_size`] checks), zero-extended to `u64`.
pub(super) fn element_bits(bytes: &[u8], size: usize) -> Vec<u64> {
    fn widened<const N: usize>(bytes: &[u8]) -> Vec<u64> {
        let (elements, _) = bytes.as_chunks::<N>();
        elements
            .iter()
            .map(|element| {
                let mut bits = [0u8; 8];
                bits[..N].copy_from_slice(element);
                u64::from_le_bytes(bits)
            })
            .collect()
    }
    match size {
        1 => widened::<1>(bytes),
        2 => widened::<2>(bytes),
        4 => widened::<4>(bytes),
        _ => widened::<8>(bytes),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn of(points: &[(u64, u64, u64)]) -> Fingerprint {
        let mut fingerprint = Fingerprint::default();
        for &(s, p, v) in points {
            fingerprint.add(Fingerprint::spectrum_key(s), p, v);
        }
        fingerprint
    }

    #[test]
    fn order_does_not_matter_and_any_change_does() {
        let points = [(0, 10, 1), (0, 11, 2), (1, 10, 3)];
        let reordered = [(1, 10, 3), (0, 10, 1), (0, 11, 2)];
        assert_eq!(of(&points), of(&reordered));
        // A value moved to another point of the same spectrum, to another spectrum, changed,
        // missing, or added twice.
        assert_ne!(of(&points), of(&[(0, 10, 2), (0, 11, 1), (1, 10, 3)]));
        assert_ne!(of(&points), of(&[(1, 10, 1), (0, 11, 2), (0, 10, 3)]));
        assert_ne!(of(&points), of(&[(0, 10, 1), (0, 11, 2), (1, 10, 4)]));
        assert_ne!(of(&points), of(&points[..2]));
        assert_ne!(of(&points), of(&[(0, 10, 1), (0, 11, 2), (1, 10, 3), (1, 10, 3)]));
    }

    #[test]
    fn elements_are_read_little_endian_and_sizes_checked() {
        let bytes = [1, 0, 0, 0, 0, 0, 0x80, 0x3f];
        assert_eq!(element_bits(&bytes, 4), [1, 0x3f80_0000]);
        assert_eq!(element_bits(&bytes, 2), [1, 0, 0, 0x3f80]);
        assert_eq!(element_bits(&bytes, 8), [0x3f80_0000_0000_0001]);
        assert_eq!(element_size("a", &bytes, 2), Ok(4));
        assert!(element_size("a", &bytes, 3).is_err());
        assert!(element_size("a", &bytes, 0).is_ok());
        assert!(element_size("a", &[0; 16], 1).is_err());
        assert!(element_size("a", &[0; 6], 2).is_err());
    }
}
