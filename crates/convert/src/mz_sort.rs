//! The out-of-core m/z sort of processed data.
//!
//! Every point becomes a record `[stored spectrum: u32 LE][m/z bytes][intensity bytes]`. The
//! records are partitioned into buckets of consecutive (m/z, spectrum) keys, with bucket bounds
//! taken from a sample of the m/z values, and spilled to temporary files when they do not fit
//! the memory budget. Each bucket is then sorted on its own (split again first when the sample
//! misjudged it) and cut into the inner chunks of the m/z-major arrays, each chunk ordered by
//! spectrum.

use std::collections::VecDeque;
use std::path::PathBuf;

use imzarr_imzml::DataType;

use crate::error::{ConvertError, Result};
use crate::spill::{self, Bucket, Spill};

/// Most buckets one partition makes (each holds a file and a write buffer).
const MAX_BUCKETS: usize = 512;

/// Points per bucket where the budget allows (buckets of 2^20 points cut 1.7x slower on a
/// 1 GB input, their chunk slots and columns spread beyond the caches).
pub(crate) const IN_MEMORY_BUCKET_POINTS: u64 = 1 << 18;

/// Bytes of the sort key kept per record while a bucket is sorted.
const KEY_BYTES: u64 = 16;

/// The byte layout of one point record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordLayout {
    pub(crate) mz: DataType,
    pub(crate) intensity: DataType,
}

impl RecordLayout {
    pub(crate) fn size(self) -> usize {
        4 + self.mz.size() + self.intensity.size()
    }

    fn spectrum(self, record: &[u8]) -> u32 {
        u32::from_le_bytes([record[0], record[1], record[2], record[3]])
    }

    fn mz_value(self, record: &[u8]) -> f64 {
        self.mz.read_f64(&record[4..])
    }

    fn key(self, record: &[u8]) -> Key {
        Key::new(self.mz_value(record), self.spectrum(record))
    }

    /// Memory a bucket of `bytes` of records needs while it is sorted and cut.
    fn sort_memory(self, bytes: u64) -> u64 {
        let records = bytes / self.size() as u64;
        // The records and, while they are sorted, two copies of their keys (later, in less
        // room: the records, a chunk slot per record and the chunk columns).
        bytes + 2 * records * KEY_BYTES
    }
}

/// The order of points in the m/z-major layout: by m/z (IEEE total order), then by spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u64, u32);

impl Key {
    fn new(mz: f64, spectrum: u32) -> Self {
        let bits = mz.to_bits();
        let ordered = if bits >> 63 == 1 { !bits } else { bits | 1 << 63 };
        Self(ordered, spectrum)
    }
}

/// The order of points by (key, arrival), as arrival numbers: `keys[i]` is the key of the
/// `i`-th point to arrive (order-preserving bits of its m/z). The m/z sort's hot loop.
///
/// Each point is packed into one `u64`, its key's offset from the smallest key above its
/// arrival number, and those are sorted: twice as fast as sorting (key, arrival) pairs. When
/// the keys span too many values for that, their lowest bits are left out of the packed
/// word, and the points whose keys differ only there are then ordered by their whole keys.
pub fn order_by_key(keys: &[u64]) -> Vec<u32> {
    let (Some(&low), Some(&high)) = (keys.iter().min(), keys.iter().max()) else {
        return Vec::new();
    };
    let arrival_bits = u64::BITS - (keys.len() as u64 - 1).leading_zeros();
    let span_bits = u64::BITS - (high - low).leading_zeros();
    let dropped = (span_bits + arrival_bits).saturating_sub(u64::BITS);
    let arrival_mask = (1u64 << arrival_bits) - 1;
    let mut packed: Vec<u64> = keys
        .iter()
        .enumerate()
        .map(|(i, &key)| (((key - low) >> dropped) << arrival_bits) | i as u64)
        .collect();
    packed.sort_unstable();
    if dropped > 0 {
        let arrival = |p: &u64| (p & arrival_mask) as usize;
        let mut start = 0;
        for end in 1..=packed.len() {
            if end == packed.len() || packed[end] >> arrival_bits != packed[start] >> arrival_bits {
                if end - start > 1 {
                    packed[start..end].sort_unstable_by_key(|p| (keys[arrival(p)], arrival(p)));
                }
                start = end;
            }
        }
    }
    packed.into_iter().map(|p| (p & arrival_mask) as u32).collect()
}

/// Bucket bounds: bucket `i` holds the keys in `[bounds[i-1], bounds[i])`.
#[derive(Debug)]
struct Bounds(Vec<Key>);

impl Bounds {
    /// `count` buckets of about equal shares of `sample`.
    fn from_sample(mut sample: Vec<Key>, count: usize) -> Self {
        sample.sort_unstable();
        let mut bounds: Vec<Key> = (1..count).map(|i| sample[i * sample.len() / count]).collect();
        bounds.dedup();
        Self(bounds)
    }

    fn buckets(&self) -> usize {
        self.0.len() + 1
    }

    fn bucket_of(&self, key: Key) -> usize {
        self.0.partition_point(|bound| *bound <= key)
    }
}

/// Budget and place of the sort.
#[derive(Debug, Clone)]
pub(crate) struct SortBudget {
    /// Bytes a bucket may take while it is sorted.
    pub(crate) memory_bytes: u64,
    /// Where spilled buckets go.
    pub(crate) temp_dir: PathBuf,
    /// Points per bucket when every bucket stays in memory.
    pub(crate) in_memory_bucket_points: u64,
}

impl SortBudget {
    /// What the write buffers of spilled buckets share: an eighth of the budget.
    pub(crate) fn buffers_bytes(&self) -> u64 {
        self.memory_bytes / 8
    }

    /// Most sort memory of one bucket: half the budget, so that one bucket is sorted while
    /// the previous one is cut.
    fn bucket_memory(&self) -> u64 {
        (self.memory_bytes / 2).max(1)
    }

    /// Buckets for `bytes` of records, so that each, with the sample's error, fits in
    /// [`bucket_memory`](Self::bucket_memory).
    fn bucket_count(&self, layout: RecordLayout, bytes: u64) -> usize {
        let per_bucket = (self.bucket_memory() / 2).max(1);
        (layout.sort_memory(bytes).div_ceil(per_bucket) as usize).clamp(1, MAX_BUCKETS)
    }
}

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
        let buckets = SortedBuckets {
            layout: self.layout,
            budget: self.budget,
            pending: self.spill.into_buckets()?.into(),
            splits: 0,
        };
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

/// Appends one value of 1 to 8 bytes: with the usual widths as a move the compiler knows, not
/// a call of memcpy (the hot loops of the m/z sort copy every point's fields one by one).
#[inline(always)]
fn extend_by_value(to: &mut Vec<u8>, value: &[u8]) {
    match value.len() {
        8 => to.extend_from_slice(&value[..8]),
        4 => to.extend_from_slice(&value[..4]),
        _ => to.extend_from_slice(value),
    }
}

/// One inner chunk of the m/z-major arrays: its three columns and its m/z range.
#[derive(Debug, Default)]
pub(crate) struct MzChunk {
    pub(crate) mz: Vec<u8>,
    pub(crate) intensity: Vec<u8>,
    pub(crate) spectrum: Vec<u8>,
    pub(crate) mz_range: [f64; 2],
}

/// The records of one bucket in arrival order, and their arrival numbers in m/z order.
pub(crate) struct SortedBucket {
    records: Vec<u8>,
    by_mz: Vec<u32>,
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

/// Cuts sorted buckets into chunks, each ordered by spectrum.
///
/// A bucket's records arrive in (stored spectrum, m/z) order, the order the spectra were read
/// in with each spectrum's points in m/z order. A pass in that order that appends each record
/// to the chunk its m/z rank falls in therefore fills every chunk in (spectrum, m/z) order,
/// reading the records once, front to back: no gather of records in m/z order, no sort per
/// chunk. Only the chunk a bucket begins and the previous one left unfinished is merged.
pub(crate) struct ChunkCutter {
    layout: RecordLayout,
    chunk_points: usize,
    /// Records of the chunk left unfinished by the previous buckets, in (spectrum, m/z) order.
    carried: Vec<u8>,
    /// The smallest and largest m/z of the carried records.
    carried_range: [f64; 2],
}

/// The chunk slot of a record that goes to the next bucket's first chunk.
const CARRIED: u32 = u32::MAX;

impl ChunkCutter {
    fn new(layout: RecordLayout, chunk_points: usize) -> Self {
        Self {
            layout,
            chunk_points: chunk_points.max(1),
            carried: Vec::new(),
            carried_range: [f64::NAN; 2],
        }
    }

    /// The chunks completed by a sorted bucket.
    pub(crate) fn cut(&mut self, bucket: SortedBucket) -> Vec<MzChunk> {
        let SortedBucket { records, by_mz } = bucket;
        let (layout, size, c) = (self.layout, self.layout.size(), self.chunk_points);
        let carried = self.carried.len() / size;
        let n = by_mz.len();
        if n == 0 {
            return Vec::new();
        }
        // Positions in the chunk stream: the carried records come first.
        let full = (carried + n) / c;
        let complete = full * c;
        let mz_at = |p: usize| layout.mz_value(&records[by_mz[p] as usize * size..]);
        // Smallest and largest m/z of each complete chunk (the carried ones are the smallest).
        let ranges: Vec<[f64; 2]> = (0..full)
            .map(|j| {
                let low = match (j * c).checked_sub(carried) {
                    Some(p) => mz_at(p),
                    None => self.carried_range[0],
                };
                [low, mz_at((j + 1) * c - 1 - carried)]
            })
            .collect();
        let next_range = match complete.checked_sub(carried) {
            _ if complete == carried + n => [f64::NAN; 2],
            Some(p) => [mz_at(p), mz_at(n - 1)],
            None => [self.carried_range[0], mz_at(n - 1)],
        };
        let mut slot = vec![CARRIED; n];
        for (p, &arrival) in by_mz.iter().enumerate() {
            if carried + p < complete {
                slot[arrival as usize] = ((carried + p) / c) as u32;
            }
        }
        drop(by_mz);

        // The first chunk, when it continues the carried one, is built by the merge below.
        let mut chunks: Vec<MzChunk> = ranges
            .into_iter()
            .enumerate()
            .map(|(j, range)| MzChunk::with_capacity(layout, if j == 0 && carried > 0 { 0 } else { c }, range))
            .collect();
        // Records of the first chunk when it continues the carried one, and of the next
        // bucket's first chunk.
        let (mut head, mut next) = (Vec::new(), Vec::new());
        for (record, &chunk) in records.chunks_exact(size).zip(&slot) {
            match chunk {
                CARRIED => next.extend_from_slice(record),
                0 if carried > 0 => head.extend_from_slice(record),
                j => chunks[j as usize].push(layout, record),
            }
        }
        drop(slot);
        if carried > 0 && full > 0 {
            let merged = merge_by_spectrum(layout, &std::mem::take(&mut self.carried), &head);
            chunks[0] = MzChunk::from_records(layout, &merged, chunks[0].mz_range);
            self.carried = next;
        } else {
            self.carried = merge_by_spectrum(layout, &self.carried, &next);
        }
        self.carried_range = next_range;
        chunks
    }

    /// The last chunk, unfinished by the last bucket.
    pub(crate) fn finish(&mut self) -> Option<MzChunk> {
        if self.carried.is_empty() {
            return None;
        }
        let records = std::mem::take(&mut self.carried);
        Some(MzChunk::from_records(self.layout, &records, self.carried_range))
    }
}

impl MzChunk {
    fn with_capacity(layout: RecordLayout, points: usize, mz_range: [f64; 2]) -> Self {
        Self {
            mz: Vec::with_capacity(points * layout.mz.size()),
            intensity: Vec::with_capacity(points * layout.intensity.size()),
            spectrum: Vec::with_capacity(points * 4),
            mz_range,
        }
    }

    /// The chunk of `records`, in their order.
    fn from_records(layout: RecordLayout, records: &[u8], mz_range: [f64; 2]) -> Self {
        let size = layout.size();
        let mut chunk = Self::with_capacity(layout, records.len() / size, mz_range);
        records.chunks_exact(size).for_each(|record| chunk.push(layout, record));
        chunk
    }

    /// Appends one record's fields to the three columns.
    fn push(&mut self, layout: RecordLayout, record: &[u8]) {
        let (spectrum, values) = record.split_at(4);
        let (mz, intensity) = values.split_at(layout.mz.size());
        extend_by_value(&mut self.spectrum, spectrum);
        extend_by_value(&mut self.mz, mz);
        extend_by_value(&mut self.intensity, intensity);
    }
}

/// Merges two runs of records, each in (spectrum, m/z) order, whose m/z keys all sort `first`
/// before `second`: by spectrum, `first`'s records before `second`'s within one spectrum.
fn merge_by_spectrum(layout: RecordLayout, first: &[u8], second: &[u8]) -> Vec<u8> {
    let size = layout.size();
    let mut merged = Vec::with_capacity(first.len() + second.len());
    let (mut a, mut b) = (
        first.chunks_exact(size).peekable(),
        second.chunks_exact(size).peekable(),
    );
    loop {
        let take_first = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => layout.spectrum(x) <= layout.spectrum(y),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return merged,
        };
        let record = if take_first { a.next() } else { b.next() };
        merged.extend_from_slice(record.unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: RecordLayout = RecordLayout {
        mz: DataType::F64,
        intensity: DataType::F32,
    };

    /// Spectra of pseudo-random m/z values, sorted but in every fifth spectrum when
    /// `unsorted`; the m/z values of each spectrum.
    fn spectra(count: u32, points: usize, unsorted: bool) -> Vec<Vec<f64>> {
        let mut state = 7u64;
        (0..count)
            .map(|s| {
                let mut mz: Vec<f64> = (0..points)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        // Few distinct values, so that ties between spectra happen.
                        100.0 + (state >> 54) as f64 * 0.5
                    })
                    .collect();
                if !(unsorted && s % 5 == 2) {
                    mz.sort_by(f64::total_cmp);
                }
                mz
            })
            .collect()
    }

    /// Sorts `data` into chunks of `chunk` points with a sample of the m/z values below
    /// `sample_below`; returns the buckets, whether they were spilled, the buckets split
    /// again, and the chunks.
    fn sorted_chunks(
        memory_bytes: u64,
        sample_below: f64,
        data: &[Vec<f64>],
        chunk: usize,
    ) -> (usize, bool, usize, Vec<MzChunk>) {
        let dir = tempfile::tempdir().unwrap();
        let total: u64 = data.iter().map(|s| s.len() as u64).sum();
        let sample: Vec<(f64, u32)> = data
            .iter()
            .enumerate()
            .flat_map(|(s, mz)| mz.iter().map(move |&v| (v, s as u32)))
            .filter(|&(v, _)| v < sample_below)
            .collect();
        let budget = SortBudget {
            memory_bytes,
            temp_dir: dir.path().to_path_buf(),
            in_memory_bucket_points: 10_000,
        };
        let mut partition = MzPartition::new(LAYOUT, &sample, total, budget).unwrap();
        for (s, mz) in data.iter().enumerate() {
            let raw_mz: Vec<u8> = mz.iter().flat_map(|v| v.to_le_bytes()).collect();
            let raw_int: Vec<u8> = (0..mz.len()).flat_map(|j| (j as f32).to_le_bytes()).collect();
            partition.push_spectrum(s as u32, mz, &raw_mz, &raw_int).unwrap();
        }
        let buckets = partition.buckets();
        let spilled = !partition.spill.in_memory();
        let (mut sorted, mut cutter) = partition.into_sorted(chunk).unwrap();
        let mut chunks = Vec::new();
        while let Some(bucket) = sorted.next_bucket().unwrap() {
            chunks.extend(cutter.cut(bucket));
        }
        chunks.extend(cutter.finish());
        (buckets, spilled, sorted.splits, chunks)
    }

    /// The chunks of `chunk` points computed by a plain sort of every point in memory: by
    /// (m/z, spectrum, place in the spectrum), then each chunk by (spectrum, m/z, place).
    fn expected(data: &[Vec<f64>], chunk: usize) -> Vec<Vec<(u32, f64, f32)>> {
        let mut points: Vec<(f64, u32, u32)> = data
            .iter()
            .enumerate()
            .flat_map(|(s, mz)| mz.iter().enumerate().map(move |(j, &v)| (v, s as u32, j as u32)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        points
            .chunks(chunk)
            .map(|chunk| {
                let mut chunk: Vec<(u32, f64, f32)> = chunk.iter().map(|&(v, s, j)| (s, v, j as f32)).collect();
                chunk.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.total_cmp(&b.2)));
                chunk
            })
            .collect()
    }

    fn decoded(chunk: &MzChunk) -> Vec<(u32, f64, f32)> {
        (0..chunk.spectrum.len() / 4)
            .map(|i| {
                (
                    u32::from_le_bytes(chunk.spectrum[i * 4..i * 4 + 4].try_into().unwrap()),
                    f64::from_le_bytes(chunk.mz[i * 8..i * 8 + 8].try_into().unwrap()),
                    f32::from_le_bytes(chunk.intensity[i * 4..i * 4 + 4].try_into().unwrap()),
                )
            })
            .collect()
    }

    #[test]
    fn in_memory_spilled_and_resplit_sorts_agree_with_a_plain_sort() {
        // Everything fits (in several buckets of 10,000 points); spilled to many buckets; a
        // sample of low m/z values only, which misjudges the buckets, so that the last one is
        // split again. Chunks much smaller than a bucket, and larger than one (each chunk then
        // gathers several buckets); spectra in m/z order, and some not.
        for (memory, sample_below, spilled, split, chunk, unsorted) in [
            (64 << 20, f64::INFINITY, false, false, 100, false),
            (200_000, f64::INFINITY, true, false, 100, false),
            (200_000, 120.0, true, true, 100, false),
            (64 << 20, f64::INFINITY, false, false, 7, true),
            (64 << 20, f64::INFINITY, false, false, 25_000, true),
            (200_000, 120.0, true, true, 333, true),
        ] {
            let data = spectra(300, 250, unsorted);
            let truth = expected(&data, chunk);
            let (buckets, sorted_spilled, splits, chunks) = sorted_chunks(memory, sample_below, &data, chunk);
            assert!(buckets > 1, "memory {memory}");
            assert_eq!(sorted_spilled, spilled, "memory {memory}");
            assert_eq!(splits > 0, split, "memory {memory}, sample below {sample_below}");
            let got: Vec<_> = chunks.iter().map(decoded).collect();
            assert_eq!(got, truth, "memory {memory}, sample below {sample_below}");
            for (chunk, want) in chunks.iter().zip(&truth) {
                let lo = want.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
                let hi = want.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
                assert_eq!(chunk.mz_range, [lo, hi]);
            }
        }
    }

    #[test]
    fn points_are_ordered_by_key_then_arrival_whatever_the_span_of_the_keys() {
        let mut state = 99u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state
        };
        // Narrow spans (every bit packed), spans that leave out low bits (keys equal but for
        // them, and keys fully equal), the whole u64 range, and the m/z keys of a real bucket.
        let cases: Vec<Vec<u64>> = vec![
            (0..5000).map(|_| (1 << 40) | (next() % 1000)).collect(),
            (0..5000).map(|_| ((next() % 50) << 50) | (next() % 8)).collect(),
            (0..5000).map(|_| next()).collect(),
            (0..5000).map(|_| [0, u64::MAX, 7][(next() % 3) as usize]).collect(),
            (0..5000)
                .map(|_| Key::new(100.0 + (next() % 2800) as f64 * 1e-3, 0).0)
                .collect(),
            vec![42],
            vec![],
        ];
        for keys in cases {
            let mut expected: Vec<(u64, u32)> = keys.iter().enumerate().map(|(i, &k)| (k, i as u32)).collect();
            expected.sort_unstable();
            let order = order_by_key(&keys);
            let got: Vec<(u64, u32)> = order.iter().map(|&i| (keys[i as usize], i)).collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn keys_follow_the_total_order_of_f64() {
        let values = [f64::NEG_INFINITY, -2.5, -0.0, 0.0, 1e-300, 3.0, f64::INFINITY];
        for pair in values.windows(2) {
            assert!(Key::new(pair[0], 9) < Key::new(pair[1], 0), "{pair:?}");
        }
        assert!(Key::new(1.0, 1) < Key::new(1.0, 2));
    }
}
