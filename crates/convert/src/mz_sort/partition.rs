//! The first half of the sort: points partitioned into buckets of consecutive m/z keys while
//! the spectra stream through, spilled to temporary files beyond the memory budget.

use super::buckets::SortedBuckets;
use super::chunks::ChunkCutter;
use super::{Bounds, Key, MAX_BUCKETS, RecordLayout, SortBudget, extend_by_value};
use crate::error::Result;
use crate::spill::{self, Spill};

/// Points partitioned by m/z while the spectra stream through.
pub(crate) struct MzPartition {
    layout: RecordLayout,
    bounds: Bounds,
    spill: Spill,
    budget: SortBudget,
}

impl MzPartition {
    /// A partition for `total_points` points whose m/z values look like `sample` (pairs of
    /// m/z value and stored spectrum).
    pub(crate) fn new(
        layout: RecordLayout,
        sample: &[(f64, u32)],
        total_points: u64,
        budget: SortBudget,
    ) -> Result<Self> {
        let bytes = total_points * layout.size() as u64;
        let fits = layout.sort_memory(bytes) <= budget.memory_bytes;
        // Buckets of about a quarter of a million points where the budget allows, in memory
        // or spilled: each sorts and is cut within the caches, and the next one sorts while
        // the previous one is encoded.
        let cache_sized = (total_points / budget.in_memory_bucket_points.max(1)).clamp(1, MAX_BUCKETS as u64) as usize;
        let count = if sample.is_empty() {
            1
        } else if fits {
            cache_sized
        } else {
            // No more cache-sized buckets than an eighth of the budget gives write buffers of
            // a quarter of their full size (with full ones, the buckets of a 4 GB input held
            // 1.5 million points, and two of them in flight took the peak RSS 35% above a
            // 1 GB input's).
            let buffered = (budget.buffers_bytes() / (spill::BUFFER_BYTES as u64 / 4)).max(1) as usize;
            budget.bucket_count(layout, bytes).max(cache_sized.min(buffered))
        };
        let keys = sample.iter().map(|&(mz, s)| Key::new(mz, s)).collect();
        let bounds = Bounds::from_sample(keys, count);
        let spill = Spill::new(bounds.buckets(), fits, budget.buffers_bytes(), &budget.temp_dir)?;
        Ok(Self {
            layout,
            bounds,
            spill,
            budget,
        })
    }

    /// Whether the buckets were spilled to temporary files.
    #[cfg(test)]
    pub(super) fn spilled(&self) -> bool {
        !self.spill.in_memory()
    }

    /// Number of buckets (1: sorted in memory).
    #[cfg(test)]
    pub(crate) fn buckets(&self) -> usize {
        self.spill.len()
    }

    /// Adds the points of stored spectrum `stored`: decoded m/z values and their raw bytes.
    /// They are pushed in m/z order (the source's order when it is ascending, as it nearly
    /// always is), so that each bucket holds its records in (spectrum, m/z) order, and so that
    /// the bucket of each point is found by walking on from the previous point's.
    pub(crate) fn push_spectrum(&mut self, stored: u32, mz: &[f64], raw_mz: &[u8], raw_intensity: &[u8]) -> Result<()> {
        let key = |j: usize| Key::new(mz[j], stored);
        let reordered: Option<Vec<usize>> = (!(1..mz.len()).all(|j| key(j - 1) <= key(j))).then(|| {
            let mut order: Vec<usize> = (0..mz.len()).collect();
            order.sort_by_key(|&j| key(j));
            order
        });
        let spectrum = Points {
            layout: self.layout,
            stored,
            mz,
            raw_mz,
            raw_intensity,
            order: reordered.as_deref(),
        };
        self.push_runs(&spectrum)
    }

    /// Pushes the points of `spectrum` run by run: the points of a run go to one bucket.
    fn push_runs(&mut self, spectrum: &Points) -> Result<()> {
        let size = self.layout.size();
        let bounds = &self.bounds.0;
        let count = spectrum.mz.len();
        if count == 0 {
            return Ok(());
        }
        let mut bucket = self.bounds.bucket_of(spectrum.key(0));
        let mut start = 0;
        while start < count {
            // Points ascend, so each run's bucket is found by walking on from the previous one.
            let key = spectrum.key(start);
            while bucket < bounds.len() && bounds[bucket] <= key {
                bucket += 1;
            }
            let end = (start + 1..count)
                .find(|&i| bounds.get(bucket).is_some_and(|&bound| spectrum.key(i) >= bound))
                .unwrap_or(count);
            self.spill.push_with(bucket, (end - start) * size, |records| {
                spectrum.append(records, start..end);
            })?;
            start = end;
        }
        Ok(())
    }

    /// The buckets, to be sorted one at a time, and the cutter that makes chunks of
    /// `chunk_points` of them.
    pub(crate) fn into_sorted(self, chunk_points: usize) -> Result<(SortedBuckets, ChunkCutter)> {
        let buckets = SortedBuckets::new(self.layout, self.budget, self.spill.into_buckets()?.into());
        Ok((buckets, ChunkCutter::new(self.layout, chunk_points)))
    }
}

/// The points of one spectrum on their way into the buckets.
struct Points<'a> {
    layout: RecordLayout,
    stored: u32,
    mz: &'a [f64],
    raw_mz: &'a [u8],
    raw_intensity: &'a [u8],
    /// The points in m/z order, when the source's order is not.
    order: Option<&'a [usize]>,
}

impl Points<'_> {
    /// The place in the source of the point `i`-th in m/z order.
    fn source_place(&self, i: usize) -> usize {
        self.order.map_or(i, |order| order[i])
    }

    fn key(&self, i: usize) -> Key {
        Key::new(self.mz[self.source_place(i)], self.stored)
    }

    /// Appends the records of the points `run` (places in m/z order) to `records`.
    fn append(&self, records: &mut Vec<u8>, run: std::ops::Range<usize>) {
        let (m, w) = (self.layout.mz.size(), self.layout.intensity.size());
        records.reserve(run.len() * self.layout.size());
        let stored = self.stored.to_le_bytes();
        for i in run {
            let j = self.source_place(i);
            records.extend_from_slice(&stored);
            extend_by_value(records, &self.raw_mz[j * m..j * m + m]);
            extend_by_value(records, &self.raw_intensity[j * w..j * w + w]);
        }
    }
}
