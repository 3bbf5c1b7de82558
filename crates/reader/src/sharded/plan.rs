//! What a read of a subset of a sharded array needs: the inner chunks it touches and where
//! each one's part of the subset goes (arithmetic on the array's shapes), then, once the shard
//! indexes are known, the ranged GETs that fetch those chunks.

use std::collections::BTreeMap;
use std::ops::Range;

use bytes::Bytes;

use imzarr_format::region::grid_indices;

use super::known_index::ABSENT;
use super::{COALESCE_GAP, ShardIndexes, ShardedArray, WholeShards};

/// Encoded inner chunks, each with its place in the read's plan.
pub(super) type EncodedChunks = Vec<(usize, Bytes)>;

/// Where the encoded bytes of a needed inner chunk are in its shard.
pub(super) struct ChunkBytes {
    pub(super) offset: u64,
    pub(super) size: u64,
    /// Index into the read's plan.
    pub(super) needed: usize,
}

/// One ranged GET that covers one or more neighbouring inner chunks of a shard.
pub(super) struct Get {
    pub(super) key: String,
    pub(super) range: Range<u64>,
    pub(super) chunks: Vec<ChunkBytes>,
}

/// An inner chunk a read needs, and where its data go.
pub(super) struct Needed {
    pub(super) shard: Vec<u64>,
    pub(super) chunk_in_shard: usize,
    /// Region of the chunk to copy, relative to the chunk.
    pub(super) from: Vec<u64>,
    /// Where it goes, relative to the subset.
    pub(super) to: Vec<u64>,
    pub(super) region: Vec<u64>,
}

impl ShardedArray {
    /// The inner chunks that `ranges` touches (none when it is empty).
    pub(super) fn plan(&self, ranges: &[Range<u64>]) -> Vec<Needed> {
        if ranges.iter().any(Range::is_empty) {
            return Vec::new();
        }
        let first: Vec<u64> = ranges.iter().zip(&self.inner_shape).map(|(r, c)| r.start / c).collect();
        let counts: Vec<u64> = ranges
            .iter()
            .zip(&self.inner_shape)
            .zip(&first)
            .map(|((r, c), f)| (r.end - 1) / c + 1 - f)
            .collect();
        grid_indices(&counts)
            .map(|offset| {
                let chunk: Vec<u64> = offset.iter().zip(&first).map(|(o, f)| o + f).collect();
                let shard: Vec<u64> = chunk.iter().zip(&self.chunks_per_shard).map(|(c, n)| c / n).collect();
                let in_shard: Vec<u64> = chunk.iter().zip(&self.chunks_per_shard).map(|(c, n)| c % n).collect();
                let chunk_in_shard = in_shard
                    .iter()
                    .zip(&self.chunks_per_shard)
                    .fold(0u64, |acc, (i, n)| acc * n + i) as usize;
                let start: Vec<u64> = chunk.iter().zip(&self.inner_shape).map(|(c, s)| c * s).collect();
                let low: Vec<u64> = start.iter().zip(ranges).map(|(s, r)| (*s).max(r.start)).collect();
                let high: Vec<u64> = start
                    .iter()
                    .zip(&self.inner_shape)
                    .zip(ranges)
                    .map(|((s, c), r)| (s + c).min(r.end))
                    .collect();
                Needed {
                    shard,
                    chunk_in_shard,
                    from: low.iter().zip(&start).map(|(l, s)| l - s).collect(),
                    to: low.iter().zip(ranges).map(|(l, r)| l - r.start).collect(),
                    region: high.iter().zip(&low).map(|(h, l)| h - l).collect(),
                }
            })
            .collect()
    }

    /// The GETs that fetch the present chunks of `needed` (neighbours in a shard coalesced),
    /// and the encoded bytes of those that lie in shards fetched whole, by their place in
    /// `needed`.
    pub(super) fn plan_gets(
        &self,
        needed: &[Needed],
        indexes: &ShardIndexes,
        whole_shards: &WholeShards,
    ) -> Result<(Vec<Get>, EncodedChunks), String> {
        let mut wanted: BTreeMap<Vec<u64>, Vec<ChunkBytes>> = BTreeMap::new();
        for (i, n) in needed.iter().enumerate() {
            let entry = indexes[&n.shard]
                .entry(n.chunk_in_shard)
                .map_err(|e| format!("shard {}: {e}", self.shard_key(&n.shard)))?;
            if let Some([offset, size]) = entry
                && offset != ABSENT
            {
                if offset.checked_add(size).is_none() {
                    return Err(format!("shard index entry ({offset}, {size}) overflows"));
                }
                wanted.entry(n.shard.clone()).or_default().push(ChunkBytes {
                    offset,
                    size,
                    needed: i,
                });
            }
        }
        let mut gets: Vec<Get> = Vec::new();
        let mut encoded = EncodedChunks::new();
        for (shard, mut chunks) in wanted {
            let key = self.shard_key(&shard);
            if let Some(bytes) = whole_shards.get(&shard) {
                for chunk in chunks {
                    let end = chunk.offset + chunk.size;
                    if end > bytes.len() as u64 {
                        return Err(format!(
                            "shard {key}: inner chunk at {}..{end} lies past the end of the shard ({} bytes)",
                            chunk.offset,
                            bytes.len()
                        ));
                    }
                    encoded.push((chunk.needed, bytes.slice(chunk.offset as usize..end as usize)));
                }
                continue;
            }
            chunks.sort_by_key(|c| c.offset);
            for chunk in chunks {
                match gets.last_mut() {
                    Some(get) if get.key == key && chunk.offset <= get.range.end + COALESCE_GAP => {
                        get.range.end = get.range.end.max(chunk.offset + chunk.size);
                        get.chunks.push(chunk);
                    }
                    _ => gets.push(Get {
                        key: key.clone(),
                        range: chunk.offset..chunk.offset + chunk.size,
                        chunks: vec![chunk],
                    }),
                }
            }
        }
        Ok((gets, encoded))
    }
}
