//! Cutting row-major n-dimensional buffers into (padded) shard blocks.

/// Copies the block of `block_shape` starting at `start` out of `data` (row-major, `shape`,
/// `element_size` bytes per element). Parts of the block outside the array are `fill` bytes.
pub(crate) fn extract_block(
    data: &[u8],
    shape: &[u64],
    element_size: usize,
    start: &[u64],
    block_shape: &[u64],
    fill: &[u8],
) -> Vec<u8> {
    let block_elements: u64 = block_shape.iter().product();
    let mut out = Vec::with_capacity(block_elements as usize * element_size);
    for _ in 0..block_elements {
        out.extend_from_slice(fill);
    }
    let dims = shape.len();
    let row_len = block_shape[dims - 1].min(shape[dims - 1].saturating_sub(start[dims - 1])) as usize;
    if row_len == 0 {
        return out;
    }
    // Iterate over every row (all indices but the last) of the block that lies in the array.
    let outer: Vec<u64> = (0..dims - 1)
        .map(|d| block_shape[d].min(shape[d].saturating_sub(start[d])))
        .collect();
    if outer.contains(&0) {
        return out;
    }
    let mut index = vec![0u64; dims - 1];
    loop {
        let mut src = 0u64;
        let mut dst = 0u64;
        for d in 0..dims - 1 {
            src = src * shape[d] + start[d] + index[d];
            dst = dst * block_shape[d] + index[d];
        }
        let src = ((src * shape[dims - 1] + start[dims - 1]) as usize) * element_size;
        let dst = (dst * block_shape[dims - 1]) as usize * element_size;
        out[dst..dst + row_len * element_size].copy_from_slice(&data[src..src + row_len * element_size]);
        // Advance the multi-index.
        let mut d = dims - 1;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            index[d] += 1;
            if index[d] < outer[d] {
                break;
            }
            index[d] = 0;
        }
    }
}

/// Every multi-index of a grid of `counts`, in row-major order.
pub(crate) fn grid_indices(counts: &[u64]) -> Vec<Vec<u64>> {
    let total: u64 = counts.iter().product();
    (0..total)
        .map(|mut linear| {
            let mut index = vec![0u64; counts.len()];
            for d in (0..counts.len()).rev() {
                index[d] = linear % counts[d];
                linear /= counts[d];
            }
            index
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_blocks_are_padded() {
        // 3x3 array of u8 0..9, blocks of 2x2.
        let data: Vec<u8> = (0..9).collect();
        let block = extract_block(&data, &[3, 3], 1, &[2, 2], &[2, 2], &[255]);
        assert_eq!(block, vec![8, 255, 255, 255]);
        let block = extract_block(&data, &[3, 3], 1, &[0, 1], &[2, 2], &[255]);
        assert_eq!(block, vec![1, 2, 4, 5]);
        let one_d = extract_block(&data, &[9], 1, &[8], &[4], &[0]);
        assert_eq!(one_d, vec![8, 0, 0, 0]);
        assert_eq!(
            grid_indices(&[2, 2]),
            vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]
        );
    }
}
