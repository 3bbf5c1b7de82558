//! Sorted buckets cut into the inner chunks of the m/z-major arrays, each chunk ordered by
//! spectrum.

use super::buckets::SortedBucket;
use super::{RecordLayout, extend_by_value};

/// One inner chunk of the m/z-major arrays: its three columns and its m/z range.
#[derive(Debug, Default)]
pub(crate) struct MzChunk {
    pub(crate) mz: Vec<u8>,
    pub(crate) intensity: Vec<u8>,
    pub(crate) spectrum: Vec<u8>,
    pub(crate) mz_range: [f64; 2],
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
    pub(super) fn new(layout: RecordLayout, chunk_points: usize) -> Self {
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
