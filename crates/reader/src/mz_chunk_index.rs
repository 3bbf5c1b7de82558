//! The m/z chunk index of a processed store (`mz_major/chunk_mz_range`), fetched a block of
//! rows at a time: the coarse level in the root attributes says which blocks hold a window, so an
//! ion image reads one block (one small GET), however large the store. Stores without a coarse
//! level are one block, read whole.

use std::ops::Range;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};
use imzarr_format::{ImzarrAttributes, MzWindow, chunks_overlapping, paths, ranges_in_mz_order};
use tokio::sync::OnceCell;

use crate::arrays::Arrays;
use crate::error::{ReadError, Result};

/// Most blocks a coarse level may name (3.4 GB of JSON could not be opened anyway).
const MAX_BLOCKS: u64 = 1 << 24;

/// Runs of blocks fetched at once (each run's shards are fetched concurrently too).
const CONCURRENT_RUNS: usize = 4;

/// The blocks of the m/z chunk index, each fetched on first use and kept.
pub(crate) struct MzChunkIndex {
    /// The store, for errors.
    location: String,
    /// Rows of the chunk index.
    chunks: u64,
    /// Rows per block.
    block_rows: u64,
    /// `[min, max]` m/z of each block.
    block_ranges: Vec<[f64; 2]>,
    /// The rows of each block, once fetched.
    blocks: Vec<OnceCell<Arc<Vec<[f64; 2]>>>>,
}

impl MzChunkIndex {
    /// The index described by the attributes, checked against the shape of its array.
    pub(crate) fn new(location: &str, attributes: &ImzarrAttributes, arrays: &Arrays) -> Result<Self> {
        let chunks = arrays.shape(paths::MZ_MAJOR_CHUNK_MZ_RANGE)?[0];
        let coarse = attributes.mz_index.as_ref().and_then(|index| index.blocks.as_ref());
        let (block_rows, block_ranges) = match coarse {
            Some(coarse) => {
                let refuse = |problem: String| ReadError::Metadata {
                    location: location.to_string(),
                    node: "zarr.json".into(),
                    message: format!("imzarr.mz_index.blocks: {problem}"),
                };
                let expected = chunks.div_ceil(coarse.rows.max(1));
                if coarse.rows == 0 || coarse.mz_range.len() as u64 != expected || expected > MAX_BLOCKS {
                    return Err(refuse(format!(
                        "{} blocks of {} rows do not cover the {chunks} rows of {}",
                        coarse.mz_range.len(),
                        coarse.rows,
                        paths::MZ_MAJOR_CHUNK_MZ_RANGE
                    )));
                }
                if !ranges_in_mz_order(&coarse.mz_range) {
                    return Err(refuse("the blocks' m/z ranges are not in m/z order".into()));
                }
                (coarse.rows, coarse.mz_range.clone())
            }
            // One block of every row, which every window selects.
            None if chunks > 0 => (chunks, vec![[f64::NEG_INFINITY, f64::INFINITY]]),
            None => (1, Vec::new()),
        };
        let blocks = block_ranges.iter().map(|_| OnceCell::new()).collect();
        Ok(Self {
            location: location.to_string(),
            chunks,
            block_rows,
            block_ranges,
            blocks,
        })
    }

    /// For each window, the inner chunks of the m/z-major arrays whose m/z range overlaps it,
    /// fetching the blocks of the index that hold them (concurrently, the first time they are
    /// needed).
    pub(crate) async fn chunks_overlapping(&self, arrays: &Arrays, windows: &[MzWindow]) -> Result<Vec<Range<usize>>> {
        let spans: Vec<Range<usize>> = windows
            .iter()
            .map(|window| chunks_overlapping(&self.block_ranges, window))
            .collect();
        let mut needed: Vec<usize> = spans.iter().flat_map(Clone::clone).collect();
        needed.sort_unstable();
        needed.dedup();
        needed.retain(|&b| self.blocks[b].get().is_none());
        // Runs of consecutive blocks, each one read.
        let mut runs: Vec<Range<usize>> = Vec::new();
        for block in needed {
            match runs.last_mut() {
                Some(run) if run.end == block => run.end += 1,
                _ => runs.push(block..block + 1),
            }
        }
        stream::iter(runs)
            .map(|run| self.fetch(arrays, run))
            .buffer_unordered(CONCURRENT_RUNS)
            .try_collect::<()>()
            .await?;
        Ok(spans
            .into_iter()
            .zip(windows)
            .map(|(span, window)| self.chunks_in_blocks(span, window))
            .collect())
    }

    /// The chunks overlapping `window` among the rows of the (fetched) blocks of `span`.
    fn chunks_in_blocks(&self, span: Range<usize>, window: &MzWindow) -> Range<usize> {
        let mut found: Option<Range<usize>> = None;
        for block in span {
            let rows = self.blocks[block].get().map_or(&[][..], |rows| rows.as_slice());
            let local = chunks_overlapping(rows, window);
            if local.is_empty() {
                continue;
            }
            let start = self.first_row(block) as usize;
            let global = start + local.start..start + local.end;
            found = Some(match found {
                Some(so_far) => so_far.start..global.end,
                None => global,
            });
        }
        found.unwrap_or(0..0)
    }

    /// Every row of the index (for validation).
    pub(crate) async fn all(&self, arrays: &Arrays) -> Result<Vec<[f64; 2]>> {
        if !self.blocks.is_empty() {
            self.fetch(arrays, 0..self.blocks.len()).await?;
        }
        Ok(self
            .blocks
            .iter()
            .filter_map(OnceCell::get)
            .flat_map(|rows| rows.iter().copied())
            .collect())
    }

    /// The first row of `block` (the number of rows for the block past the last), however
    /// large the coarse level says its blocks are.
    fn first_row(&self, block: usize) -> u64 {
        (block as u64).saturating_mul(self.block_rows).min(self.chunks)
    }

    /// Fetches the blocks of `run` (not empty) in one read, its shards fetched concurrently.
    async fn fetch(&self, arrays: &Arrays, run: Range<usize>) -> Result<()> {
        let rows = self.first_row(run.start)..self.first_row(run.end);
        let flat = arrays.read_f64(paths::MZ_MAJOR_CHUNK_MZ_RANGE, &[rows, 0..2]).await?;
        let pairs: Vec<[f64; 2]> = flat.chunks_exact(2).map(|r| [r[0], r[1]]).collect();
        for (offset, block_rows) in pairs.chunks(self.block_rows as usize).enumerate() {
            let block = run.start + offset;
            self.check_rows(block, block_rows)?;
            // A query that fetched the same block meanwhile set the same rows.
            let _ = self.blocks[block].set(Arc::new(block_rows.to_vec()));
        }
        Ok(())
    }

    /// Refuses rows that the search would misread: out of m/z order, or outside the range
    /// the coarse level gives their block (checksums cannot catch a writer that wrote them so).
    fn check_rows(&self, block: usize, rows: &[[f64; 2]]) -> Result<()> {
        let [low, high] = self.block_ranges[block];
        let problem = if !ranges_in_mz_order(rows) {
            "are not in m/z order"
        } else if rows.first().is_some_and(|first| first[0] < low) || rows.last().is_some_and(|last| last[1] > high) {
            "reach outside the m/z range imzarr.mz_index.blocks gives their block"
        } else {
            return Ok(());
        };
        let first = self.first_row(block);
        Err(ReadError::Data {
            location: self.location.clone(),
            array: paths::MZ_MAJOR_CHUNK_MZ_RANGE.into(),
            message: format!("rows {first}..{} {problem}", first + rows.len() as u64),
        })
    }

    /// The `[min, max]` m/z of inner chunk `chunk`, if its block was fetched.
    pub(crate) fn row(&self, chunk: usize) -> Option<[f64; 2]> {
        let block = chunk as u64 / self.block_rows;
        let rows = self.blocks.get(usize::try_from(block).ok()?)?.get()?;
        rows.get((chunk as u64 - self.first_row(block as usize)) as usize)
            .copied()
    }
}
