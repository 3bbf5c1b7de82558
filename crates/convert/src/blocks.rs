//! Cutting row-major n-dimensional buffers into (padded) shard blocks.

use imzarr_format::region::{At, copy_region};

/// Copies the block of `block_shape` starting at `start` out of `data` (row-major, `shape`,
/// `element_size` bytes per element) into `out` (its contents replaced). Parts of the block
/// outside the array are `fill` bytes.
pub(crate) fn extract_block(
    data: &[u8],
    shape: &[u64],
    element_size: usize,
    start: &[u64],
    block_shape: &[u64],
    fill: &[u8],
    mut out: Vec<u8>,
) -> Vec<u8> {
    let block_elements: u64 = block_shape.iter().product();
    fill_buffer(&mut out, fill, block_elements as usize * fill.len());
    let inside: Vec<u64> = (0..shape.len())
        .map(|d| block_shape[d].min(shape[d].saturating_sub(start[d])))
        .collect();
    let origin = vec![0u64; shape.len()];
    copy_region(
        data,
        At { shape, start },
        &mut out,
        At {
            shape: block_shape,
            start: &origin,
        },
        &inside,
        element_size,
    );
    out
}

/// Replaces the contents of `out` with `bytes` bytes of the repeated element `fill`.
pub(crate) fn fill_buffer(out: &mut Vec<u8>, fill: &[u8], bytes: usize) {
    out.clear();
    out.extend_from_slice(&fill[..fill.len().min(bytes)]);
    while out.len() < bytes {
        out.extend_from_within(..out.len().min(bytes - out.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_blocks_are_padded() {
        // 3x3 array of u8 0..9, blocks of 2x2.
        let data: Vec<u8> = (0..9).collect();
        let block = extract_block(&data, &[3, 3], 1, &[2, 2], &[2, 2], &[255], Vec::new());
        assert_eq!(block, vec![8, 255, 255, 255]);
        let block = extract_block(&data, &[3, 3], 1, &[0, 1], &[2, 2], &[255], Vec::new());
        assert_eq!(block, vec![1, 2, 4, 5]);
        let one_d = extract_block(&data, &[9], 1, &[8], &[4], &[0], vec![7; 9]);
        assert_eq!(one_d, vec![8, 0, 0, 0]);
    }
}
