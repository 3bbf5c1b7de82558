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
}
