//! The out-of-core m/z sort of processed data.
//!
//! Every point becomes a record `[stored spectrum: u32 LE][m/z bytes][intensity bytes]`. The
//! records are partitioned into buckets of consecutive (m/z, spectrum) keys, with bucket bounds
//! taken from a sample of the m/z values, and spilled to temporary files when they do not fit
//! the memory budget. Each bucket is then sorted on its own (split again first when the sample
//! misjudged it) and cut into the inner chunks of the m/z-major arrays, each chunk ordered by
//! spectrum.

use std::path::PathBuf;

use imzarr_imzml::DataType;

mod buckets;
mod chunks;
mod partition;

pub(crate) use buckets::SortedBucket;
pub(crate) use partition::MzPartition;

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

#[cfg(test)]
mod tests {
    use super::chunks::MzChunk;
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
        let spilled = partition.spilled();
        let (mut sorted, mut cutter) = partition.into_sorted(chunk).unwrap();
        let mut chunks = Vec::new();
        while let Some(bucket) = sorted.next_bucket().unwrap() {
            chunks.extend(cutter.cut(bucket));
        }
        chunks.extend(cutter.finish());
        (buckets, spilled, sorted.splits(), chunks)
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
