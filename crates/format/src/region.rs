//! Copying rectangular regions between row-major n-dimensional byte buffers: how shards are cut
//! from arrays on writing and how inner chunks are pasted into results on reading.

/// A position in a row-major n-dimensional buffer of the given shape.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// Shape of the buffer.
    pub shape: &'a [u64],
    /// Position of the region's first element.
    pub start: &'a [u64],
}

/// Copies the region of `region_shape` at `from` in `src` to `to` in `dst`. Elements are
/// `element_size` bytes. The region must lie inside both buffers.
pub fn copy_region(src: &[u8], from: At<'_>, dst: &mut [u8], to: At<'_>, region_shape: &[u64], element_size: usize) {
    let (src_shape, src_start, dst_shape, dst_start) = (from.shape, from.start, to.shape, to.start);
    let dims = region_shape.len();
    if dims == 0 || region_shape.contains(&0) {
        return;
    }
    let row = region_shape[dims - 1] as usize * element_size;
    let mut index = vec![0u64; dims - 1];
    loop {
        let (mut s, mut d) = (0u64, 0u64);
        for k in 0..dims - 1 {
            s = s * src_shape[k] + src_start[k] + index[k];
            d = d * dst_shape[k] + dst_start[k] + index[k];
        }
        let s = ((s * src_shape[dims - 1] + src_start[dims - 1]) as usize) * element_size;
        let d = ((d * dst_shape[dims - 1] + dst_start[dims - 1]) as usize) * element_size;
        dst[d..d + row].copy_from_slice(&src[s..s + row]);
        // Advance the multi-index over all but the last dimension.
        let mut k = dims - 1;
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            index[k] += 1;
            if index[k] < region_shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
}

/// Every multi-index of a grid of `counts`, in row-major order, one at a time (a grid from
/// untrusted metadata may be far too large to list).
pub fn grid_indices(counts: &[u64]) -> impl Iterator<Item = Vec<u64>> + '_ {
    let total = counts.iter().fold(1u64, |n, &c| n.saturating_mul(c));
    (0..total).map(move |mut linear| {
        let mut index = vec![0u64; counts.len()];
        for d in (0..counts.len()).rev() {
            index[d] = linear % counts[d];
            linear /= counts[d];
        }
        index
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_a_corner_between_buffers() {
        // 3x3 source 0..9; copy its bottom-right 2x2 into the top-left of a 2x3 destination.
        let src: Vec<u8> = (0..9).collect();
        let mut dst = vec![255u8; 6];
        let from = At {
            shape: &[3, 3],
            start: &[1, 1],
        };
        copy_region(
            &src,
            from,
            &mut dst,
            At {
                shape: &[2, 3],
                start: &[0, 0],
            },
            &[2, 2],
            1,
        );
        assert_eq!(dst, vec![4, 5, 255, 7, 8, 255]);
        let mut one_d = vec![0u8; 4];
        copy_region(
            &src,
            At {
                shape: &[9],
                start: &[7],
            },
            &mut one_d,
            At {
                shape: &[4],
                start: &[1],
            },
            &[2],
            1,
        );
        assert_eq!(one_d, vec![0, 7, 8, 0]);
        assert_eq!(
            grid_indices(&[2, 2]).collect::<Vec<_>>(),
            vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]
        );
    }
}
