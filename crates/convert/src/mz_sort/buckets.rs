//! The second half of the sort: the buckets read back one at a time, each sorted by m/z (split
//! again first when the sample misjudged it and it does not fit the budget).

use std::collections::VecDeque;

use super::{Bounds, RecordLayout, SortBudget, order_by_key};
use crate::error::{ConvertError, Result};
use crate::spill::{Bucket, Spill};

/// The records of one bucket in arrival order, and their arrival numbers in m/z order.
pub(crate) struct SortedBucket {
    pub(super) records: Vec<u8>,
    pub(super) by_mz: Vec<u32>,
}

/// The buckets, sorted one at a time.
pub(crate) struct SortedBuckets {
    layout: RecordLayout,
    budget: SortBudget,
    pending: VecDeque<Bucket>,
    /// Buckets split again because they did not fit.
    splits: usize,
}

impl SortedBuckets {
    /// The buckets `pending`, in m/z order, of records laid out as `layout`.
    pub(super) fn new(layout: RecordLayout, budget: SortBudget, pending: VecDeque<Bucket>) -> Self {
        Self {
            layout,
            budget,
            pending,
            splits: 0,
        }
    }

    /// Buckets split again because they did not fit.
    #[cfg(test)]
    pub(super) fn splits(&self) -> usize {
        self.splits
    }

    /// The next non-empty bucket, sorted, or `None` at the end.
    pub(crate) fn next_bucket(&mut self) -> Result<Option<SortedBucket>> {
        loop {
            let Some(bucket) = self.pending.pop_front() else {
                return Ok(None);
            };
            if bucket.bytes() == 0 {
                continue;
            }
            if self.layout.sort_memory(bucket.bytes()) > self.budget.bucket_memory() {
                let parts = self.split(bucket)?;
                self.splits += 1;
                for part in parts.into_iter().rev() {
                    self.pending.push_front(part);
                }
                continue;
            }
            let records = bucket.read_all(&self.budget.temp_dir)?;
            // Records arrive in (spectrum, m/z) order, so (m/z, arrival) orders them by
            // (m/z, spectrum), as `Key` does.
            let size = self.layout.size();
            let keys: Vec<u64> = records
                .chunks_exact(size)
                .map(|record| self.layout.key(record).0)
                .collect();
            let by_mz = order_by_key(&keys);
            return Ok(Some(SortedBucket { records, by_mz }));
        }
    }

    /// Splits a bucket the sample misjudged into buckets that fit, by a sample of its own.
    fn split(&self, bucket: Bucket) -> Result<Vec<Bucket>> {
        let size = self.layout.size();
        let bytes = bucket.bytes();
        let records = bytes / size as u64;
        let temp_dir = &self.budget.temp_dir;
        let stride = (records / 100_000).max(1);
        // Spill the bucket to a file of its own first, so that it can be read twice.
        let mut copy = Spill::new(1, false, self.budget.buffers_bytes(), temp_dir)?;
        let mut sample = Vec::new();
        let mut index = 0u64;
        bucket.for_each_record(size, temp_dir, |record| {
            if index.is_multiple_of(stride) {
                sample.push(self.layout.key(record));
            }
            index += 1;
            copy.push(0, record)
        })?;
        let count = self.budget.bucket_count(self.layout, bytes).max(2);
        let bounds = Bounds::from_sample(sample, count);
        let mut parts = Spill::new(bounds.buckets(), false, self.budget.buffers_bytes(), temp_dir)?;
        let source = copy.into_buckets()?.pop().expect("one bucket");
        source.for_each_record(size, temp_dir, |record| {
            parts.push(bounds.bucket_of(self.layout.key(record)), record)
        })?;
        let parts = parts.into_buckets()?;
        if let Some(whole) = parts.iter().find(|p| p.bytes() == bytes) {
            return Err(ConvertError::Unsupported {
                input: temp_dir.display().to_string(),
                message: format!(
                    "{} points share one m/z value and spectrum; they cannot be sorted within the memory budget of {} MiB",
                    whole.bytes() / size as u64,
                    self.budget.memory_bytes >> 20
                ),
            });
        }
        Ok(parts)
    }
}
