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

/// Points per bucket when every bucket stays in memory.
pub(crate) const IN_MEMORY_BUCKET_POINTS: u64 = 1 << 20;

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
        // The records, their keys, and the chunk columns built from them.
        2 * bytes + records * KEY_BYTES
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

/// Orders the keys of a bucket's points: (order-preserving bits of the m/z, arrival). The m/z
/// sort's hot loop. Measured against an LSD radix sort on this project's machine, the standard
/// pattern-defeating quicksort was as fast on random keys and faster end to end, because each
/// spectrum's points arrive as an ascending run.
pub fn sort_keys(keys: &mut [(u64, u32)]) {
    keys.sort_unstable();
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

    /// Buckets for `bytes` of records, so that each, with the sample's error, fits in memory.
    fn bucket_count(&self, layout: RecordLayout, bytes: u64) -> usize {
        let per_bucket = (self.memory_bytes / 2).max(1);
        (layout.sort_memory(bytes).div_ceil(per_bucket) as usize).clamp(1, MAX_BUCKETS)
    }
}

/// Points partitioned by m/z while the spectra stream through.
pub(crate) struct MzPartition {
    layout: RecordLayout,
    bounds: Bounds,
    spill: Spill,
    budget: SortBudget,
    record: Vec<u8>,
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
        // Buckets of about a million points where the budget allows, in memory or spilled:
        // each sorts and is gathered within the caches (a spilled bucket of several million
        // records gathered in key order misses the caches at every record), and the next one
        // sorts while the previous one is encoded.
        let cache_sized = (total_points / budget.in_memory_bucket_points.max(1)).clamp(1, MAX_BUCKETS as u64) as usize;
        let count = if sample.is_empty() {
            1
        } else if fits {
            cache_sized
        } else {
            // No more cache-sized buckets than an eighth of the budget gives full write buffers.
            let buffered = (budget.buffers_bytes() / spill::BUFFER_BYTES as u64).max(1) as usize;
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
            record: Vec::with_capacity(layout.size()),
        })
    }

    /// Number of buckets (1: sorted in memory).
    #[cfg(test)]
    pub(crate) fn buckets(&self) -> usize {
        self.spill.len()
    }

    /// Adds the points of stored spectrum `stored`: decoded m/z values and their raw bytes.
    pub(crate) fn push_spectrum(&mut self, stored: u32, mz: &[f64], raw_mz: &[u8], raw_intensity: &[u8]) -> Result<()> {
        let (mz_size, int_size) = (self.layout.mz.size(), self.layout.intensity.size());
        for (j, &value) in mz.iter().enumerate() {
            self.record.clear();
            self.record.extend_from_slice(&stored.to_le_bytes());
            self.record.extend_from_slice(&raw_mz[j * mz_size..(j + 1) * mz_size]);
            self.record
                .extend_from_slice(&raw_intensity[j * int_size..(j + 1) * int_size]);
            let bucket = self.bounds.bucket_of(Key::new(value, stored));
            self.spill.push(bucket, &self.record)?;
        }
        Ok(())
    }

    /// The sorted points, cut into chunks of `chunk_points`.
    pub(crate) fn into_chunks(self, chunk_points: usize) -> SortedChunks {
        SortedChunks {
            layout: self.layout,
            budget: self.budget,
            pending: self.spill.into_buckets().into(),
            cutter: ChunkCutter::new(self.layout, chunk_points),
            splits: 0,
        }
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

/// Sorted chunks, produced one bucket at a time.
pub(crate) struct SortedChunks {
    layout: RecordLayout,
    budget: SortBudget,
    pending: VecDeque<Bucket>,
    cutter: ChunkCutter,
    /// Buckets split again because they did not fit.
    splits: usize,
}

impl SortedChunks {
    /// The chunks completed by the next bucket, or the last partial chunk, or `None` at the end.
    pub(crate) fn next_batch(&mut self) -> Result<Option<Vec<MzChunk>>> {
        loop {
            let Some(bucket) = self.pending.pop_front() else {
                return Ok(self.cutter.finish().map(|chunk| vec![chunk]));
            };
            if bucket.bytes() == 0 {
                continue;
            }
            if self.layout.sort_memory(bucket.bytes()) > self.budget.memory_bytes {
                let parts = self.split(bucket)?;
                self.splits += 1;
                for part in parts.into_iter().rev() {
                    self.pending.push_front(part);
                }
                continue;
            }
            let records = bucket.read_all(&self.budget.temp_dir)?;
            return Ok(Some(self.sort_and_cut(&records)));
        }
    }

    fn sort_and_cut(&mut self, records: &[u8]) -> Vec<MzChunk> {
        let size = self.layout.size();
        // Records arrive in stored spectrum order, so (m/z, arrival) orders them by
        // (m/z, spectrum), as `Key` does.
        let mut keys: Vec<(u64, u32)> = records
            .chunks_exact(size)
            .enumerate()
            .map(|(i, record)| (self.layout.key(record).0, i as u32))
            .collect();
        sort_keys(&mut keys);
        let mut chunks = Vec::new();
        for (_, i) in keys {
            let at = i as usize * size;
            if let Some(chunk) = self.cutter.push(&records[at..at + size]) {
                chunks.push(chunk);
            }
        }
        chunks
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
        let source = copy.into_buckets().pop().expect("one bucket");
        source.for_each_record(size, temp_dir, |record| {
            parts.push(bounds.bucket_of(self.layout.key(record)), record)
        })?;
        let parts = parts.into_buckets();
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

/// Cuts records arriving in m/z order into chunks, each ordered by spectrum.
struct ChunkCutter {
    layout: RecordLayout,
    chunk_points: usize,
    records: Vec<u8>,
}

impl ChunkCutter {
    fn new(layout: RecordLayout, chunk_points: usize) -> Self {
        Self {
            layout,
            chunk_points,
            records: Vec::with_capacity(chunk_points * layout.size()),
        }
    }

    fn push(&mut self, record: &[u8]) -> Option<MzChunk> {
        self.records.extend_from_slice(record);
        (self.records.len() == self.chunk_points * self.layout.size()).then(|| self.cut())
    }

    fn finish(&mut self) -> Option<MzChunk> {
        (!self.records.is_empty()).then(|| self.cut())
    }

    fn cut(&mut self) -> MzChunk {
        let layout = self.layout;
        let size = layout.size();
        let (mz_size, int_size) = (layout.mz.size(), layout.intensity.size());
        let count = self.records.len() / size;
        let mz_range = [
            layout.mz_value(&self.records[..size]),
            layout.mz_value(&self.records[(count - 1) * size..]),
        ];
        // (spectrum, arrival) packed in one integer: inside one spectrum the points stay in
        // m/z order.
        let mut order: Vec<u64> = self
            .records
            .chunks_exact(size)
            .enumerate()
            .map(|(i, record)| (u64::from(layout.spectrum(record)) << 32) | i as u64)
            .collect();
        order.sort_unstable();
        let mut chunk = MzChunk {
            mz: Vec::with_capacity(count * mz_size),
            intensity: Vec::with_capacity(count * int_size),
            spectrum: Vec::with_capacity(count * 4),
            mz_range,
        };
        for packed in order {
            let (spectrum, i) = ((packed >> 32) as u32, packed as u32);
            let record = &self.records[i as usize * size..(i as usize + 1) * size];
            chunk.spectrum.extend_from_slice(&spectrum.to_le_bytes());
            chunk.mz.extend_from_slice(&record[4..4 + mz_size]);
            chunk.intensity.extend_from_slice(&record[4 + mz_size..]);
        }
        self.records.clear();
        chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: RecordLayout = RecordLayout {
        mz: DataType::F64,
        intensity: DataType::F32,
    };

    /// Spectra of pseudo-random sorted m/z values; the m/z values of each spectrum.
    fn spectra(count: u32, points: usize) -> Vec<Vec<f64>> {
        let mut state = 7u64;
        (0..count)
            .map(|_| {
                let mut mz: Vec<f64> = (0..points)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        // Few distinct values, so that ties between spectra happen.
                        100.0 + (state >> 54) as f64 * 0.5
                    })
                    .collect();
                mz.sort_by(f64::total_cmp);
                mz
            })
            .collect()
    }

    /// Sorts `data` with a sample of the m/z values below `sample_below`; returns the
    /// buckets, the splits and the chunks.
    /// Buckets, whether they were spilled, buckets split again, and the chunks.
    fn sorted_chunks(memory_bytes: u64, sample_below: f64, data: &[Vec<f64>]) -> (usize, bool, usize, Vec<MzChunk>) {
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
        let mut sorted = partition.into_chunks(100);
        let mut chunks = Vec::new();
        while let Some(batch) = sorted.next_batch().unwrap() {
            chunks.extend(batch);
        }
        (buckets, spilled, sorted.splits, chunks)
    }

    /// The chunks computed by a plain sort of every point in memory.
    fn expected(data: &[Vec<f64>]) -> Vec<Vec<(u32, f64, f32)>> {
        let mut points: Vec<(f64, u32, u32)> = data
            .iter()
            .enumerate()
            .flat_map(|(s, mz)| mz.iter().enumerate().map(move |(j, &v)| (v, s as u32, j as u32)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        points
            .chunks(100)
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
        let data = spectra(300, 250);
        let truth = expected(&data);
        // Everything fits (in several buckets of 10,000 points); spilled to many buckets; a
        // sample of low m/z values only, which misjudges the buckets, so that the last one is
        // split again.
        for (memory, sample_below, spilled, split) in [
            (64 << 20, f64::INFINITY, false, false),
            (200_000, f64::INFINITY, true, false),
            (200_000, 120.0, true, true),
        ] {
            let (buckets, sorted_spilled, splits, chunks) = sorted_chunks(memory, sample_below, &data);
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
    fn keys_follow_the_total_order_of_f64() {
        let values = [f64::NEG_INFINITY, -2.5, -0.0, 0.0, 1e-300, 3.0, f64::INFINITY];
        for pair in values.windows(2) {
            assert!(Key::new(pair[0], 9) < Key::new(pair[1], 0), "{pair:?}");
        }
        assert!(Key::new(1.0, 1) < Key::new(1.0, 2));
    }
}
