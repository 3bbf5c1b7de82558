//! The coarse level of the m/z chunk index: the m/z range of every block of rows of
//! `mz_major/chunk_mz_range`, kept in the root attributes so that an ion image fetches only the
//! block of the chunk index that holds its window, however large the store.

use serde::de::{self, Deserializer};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Fewest rows of `mz_major/chunk_mz_range` per block the reference converter writes: 4 KiB of
/// index (about 3 KB compressed), what an ion image in a new m/z region reads of the index.
pub const MZ_INDEX_MIN_BLOCK_ROWS: u64 = 256;

/// Most blocks the reference converter writes: each takes about 45 bytes of JSON in the root
/// attributes (read at open), so at most about 90 KB.
pub const MZ_INDEX_MAX_BLOCKS: u64 = 2048;

/// Rows per block (and per shard) of a chunk index of `chunks` rows, as the reference converter
/// cuts it: the smallest power of two from [`MZ_INDEX_MIN_BLOCK_ROWS`] on that needs at most
/// [`MZ_INDEX_MAX_BLOCKS`] blocks. 256 up to about 4 GB of processed points in chunks of 1024
/// (ion images read 4 KiB of index), 4096 at 100 GB (64 KiB).
pub fn mz_index_block_rows(chunks: u64) -> u64 {
    chunks
        .div_ceil(MZ_INDEX_MAX_BLOCKS)
        .next_power_of_two()
        .max(MZ_INDEX_MIN_BLOCK_ROWS)
}

/// The coarse level of the m/z chunk index (`imzarr.mz_index.blocks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MzIndexBlocks {
    /// Rows of `mz_major/chunk_mz_range` per block; block `b` is rows `[b·rows, (b+1)·rows)`.
    pub rows: u64,
    /// `[min, max]` of every block: the smallest m/z of its first row and the largest of its
    /// last row, NaN bounds written as the infinity on their side of the total order.
    #[serde(serialize_with = "serialize_bounds", deserialize_with = "deserialize_bounds")]
    pub mz_range: Vec<[f64; 2]>,
}

impl MzIndexBlocks {
    /// The blocks of `rows` rows of the chunk index `ranges`.
    pub fn of(ranges: &[[f64; 2]], rows: u64) -> Self {
        let rows = rows.max(1);
        let mz_range = ranges
            .chunks(usize::try_from(rows).unwrap_or(usize::MAX))
            .map(|block| [search_bound(block[0][0]), search_bound(block[block.len() - 1][1])])
            .collect();
        Self { rows, mz_range }
    }
}

/// A bound as the coarse level stores it: NaN becomes the infinity of its sign, which every
/// finite window compares with as it compares with that NaN in total order.
fn search_bound(value: f64) -> f64 {
    match value {
        v if v.is_nan() && v.is_sign_negative() => f64::NEG_INFINITY,
        v if v.is_nan() => f64::INFINITY,
        v => v,
    }
}

/// A bound in JSON: a number, or `"Infinity"` / `"-Infinity"` as Zarr v3 spells them.
fn bound_to_json(value: f64) -> Value {
    match serde_json::Number::from_f64(value) {
        Some(number) => Value::Number(number),
        None if value > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

fn bound_from_json(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(s) if s == "Infinity" => Some(f64::INFINITY),
        Value::String(s) if s == "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

fn serialize_bounds<S: Serializer>(ranges: &[[f64; 2]], serializer: S) -> Result<S::Ok, S::Error> {
    let mut sequence = serializer.serialize_seq(Some(ranges.len()))?;
    for range in ranges {
        sequence.serialize_element(&[bound_to_json(range[0]), bound_to_json(range[1])])?;
    }
    sequence.end()
}

fn deserialize_bounds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<[f64; 2]>, D::Error> {
    let pairs: Vec<[Value; 2]> = Vec::deserialize(deserializer)?;
    pairs
        .iter()
        .map(|[low, high]| match (bound_from_json(low), bound_from_json(high)) {
            (Some(low), Some(high)) => Ok([low, high]),
            _ => Err(de::Error::custom(format!(
                "m/z block bound [{low}, {high}] is neither a number nor \"Infinity\" / \"-Infinity\""
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MzWindow, chunks_overlapping};
    use proptest::prelude::*;

    #[test]
    fn blocks_hold_the_first_minimum_and_last_maximum_of_their_rows() {
        let ranges = [[1.0, 2.0], [2.0, 3.0], [3.5, 4.0], [4.0, 9.0], [10.0, 11.0]];
        let blocks = MzIndexBlocks::of(&ranges, 2);
        assert_eq!(blocks.mz_range, vec![[1.0, 3.0], [3.5, 9.0], [10.0, 11.0]]);
        assert_eq!(MzIndexBlocks::of(&[], 2).mz_range, Vec::<[f64; 2]>::new());
    }

    #[test]
    fn block_rows_grow_only_when_the_blocks_would_be_too_many() {
        assert_eq!(mz_index_block_rows(0), MZ_INDEX_MIN_BLOCK_ROWS);
        assert_eq!(mz_index_block_rows(40_750), 256, "1 GB of processed points");
        assert_eq!(mz_index_block_rows(256 * 2048), 256);
        assert_eq!(mz_index_block_rows(256 * 2048 + 1), 512);
        assert_eq!(mz_index_block_rows(4_000_000), 2048, "50 GB in chunks of 1024");
        assert_eq!(mz_index_block_rows(8_000_000), 4096, "100 GB in chunks of 1024");
        for chunks in [1, 1000, 524_289, 4_000_000, u64::MAX / 4] {
            let rows = mz_index_block_rows(chunks);
            assert!(
                chunks.div_ceil(rows) <= MZ_INDEX_MAX_BLOCKS,
                "{chunks} chunks, {rows} rows"
            );
        }
    }

    #[test]
    fn non_finite_bounds_survive_json_as_they_sort() {
        let ranges = [
            [-f64::NAN, f64::NEG_INFINITY],
            [0.5, f64::INFINITY],
            [f64::NAN, f64::NAN],
        ];
        let blocks = MzIndexBlocks::of(&ranges, 1);
        let json = serde_json::to_string(&blocks).unwrap();
        assert_eq!(
            json,
            r#"{"rows":1,"mz_range":[["-Infinity","-Infinity"],[0.5,"Infinity"],["Infinity","Infinity"]]}"#
        );
        let back: MzIndexBlocks = serde_json::from_str(&json).unwrap();
        assert_eq!(back, blocks);
        let bad = serde_json::from_str::<MzIndexBlocks>(r#"{"rows":1,"mz_range":[["NaN",1]]}"#);
        assert!(bad.unwrap_err().to_string().contains("neither a number"));
    }

    proptest! {
        /// Searching the blocks, then the rows of the blocks found, finds exactly the chunks a
        /// search of every row finds; bounds survive JSON bit for bit.
        #[test]
        fn two_level_search_equals_the_search_of_every_row(
            mut values in proptest::collection::vec(prop_oneof![
                8 => -1e3f64..1e3,
                1 => Just(0.0),
                1 => Just(-0.0),
                1 => Just(f64::NAN),
                1 => Just(-f64::NAN),
                1 => Just(f64::INFINITY),
            ], 1..200),
            chunk in 1usize..6,
            rows in 1u64..5,
            low in -1.2e3f64..1.2e3,
            width in 0.0f64..300.0,
        ) {
            values.sort_by(f64::total_cmp);
            let ranges: Vec<[f64; 2]> = values.chunks(chunk).map(|c| [c[0], c[c.len() - 1]]).collect();
            let blocks = MzIndexBlocks::of(&ranges, rows);
            let back: MzIndexBlocks = serde_json::from_str(&serde_json::to_string(&blocks).unwrap()).unwrap();
            prop_assert_eq!(
                back.mz_range.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>(),
                blocks.mz_range.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            let window = MzWindow { low, high: low + width };
            let rows = rows as usize;
            let mut found = Vec::new();
            for block in chunks_overlapping(&back.mz_range, &window) {
                let start = block * rows;
                let block_rows = &ranges[start..(start + rows).min(ranges.len())];
                found.extend(chunks_overlapping(block_rows, &window).map(|i| start + i));
            }
            let expected: Vec<usize> = chunks_overlapping(&ranges, &window).collect();
            prop_assert_eq!(&found, &expected);
            // And the rows found hold every value in the window.
            let holding: Vec<usize> = (0..ranges.len())
                .filter(|&i| values[i * chunk..((i + 1) * chunk).min(values.len())].iter().any(|&v| window.contains(v)))
                .collect();
            prop_assert!(holding.iter().all(|i| expected.contains(i)), "{holding:?} not in {expected:?}");
        }
    }
}
