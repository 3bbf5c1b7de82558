//! Buckets of fixed-size records that live in memory when they fit the budget and in
//! anonymous temporary files otherwise: the out-of-core half of the m/z sort and of the
//! continuous transpose.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{ConvertError, Result};

/// Largest write (and read) buffer of a spilled bucket.
pub(crate) const BUFFER_BYTES: usize = 256 << 10;

/// Smallest write buffer of a spilled bucket.
const MIN_BUFFER_BYTES: usize = 16 << 10;

/// Where a bucket's records are.
enum Storage {
    Memory(Vec<u8>),
    File(BufWriter<File>),
}

/// One bucket: records appended in arrival order.
pub(crate) struct Bucket {
    storage: Storage,
    bytes: u64,
}

/// `count` buckets of records.
pub(crate) struct Spill {
    buckets: Vec<Bucket>,
    temp_dir: PathBuf,
}

/// The write buffer of each of `count` spilled buckets whose buffers share `buffers_bytes`:
/// 16 to 256 KiB.
fn buffer_of(count: usize, buffers_bytes: u64) -> usize {
    (buffers_bytes / count.max(1) as u64).clamp(MIN_BUFFER_BYTES as u64, BUFFER_BYTES as u64) as usize
}

impl Spill {
    /// `count` buckets, in memory or in temporary files under `temp_dir` whose write buffers
    /// share about `buffers_bytes` (each 16 to 256 KiB).
    pub(crate) fn new(count: usize, in_memory: bool, buffers_bytes: u64, temp_dir: &Path) -> Result<Self> {
        let buffer = buffer_of(count, buffers_bytes);
        let mut buckets = Vec::with_capacity(count);
        for _ in 0..count {
            let storage = if in_memory {
                Storage::Memory(Vec::new())
            } else {
                let file = tempfile::tempfile_in(temp_dir).map_err(|e| temp_error(temp_dir, e))?;
                Storage::File(BufWriter::with_capacity(buffer, file))
            };
            buckets.push(Bucket { storage, bytes: 0 });
        }
        Ok(Self {
            buckets,
            temp_dir: temp_dir.to_path_buf(),
        })
    }

    /// Whether the buckets are kept in memory.
    #[cfg(test)]
    pub(crate) fn in_memory(&self) -> bool {
        self.buckets.iter().all(|b| matches!(b.storage, Storage::Memory(_)))
    }

    /// Number of buckets.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Appends `bytes` (whole records) to bucket `bucket`.
    pub(crate) fn push(&mut self, bucket: usize, bytes: &[u8]) -> Result<()> {
        self.push_parts(bucket, &[bytes])
    }

    /// Appends the concatenation of `parts` (whole records) to bucket `bucket`.
    pub(crate) fn push_parts(&mut self, bucket: usize, parts: &[&[u8]]) -> Result<()> {
        let target = &mut self.buckets[bucket];
        for bytes in parts {
            target.bytes += bytes.len() as u64;
            match &mut target.storage {
                Storage::Memory(data) => data.extend_from_slice(bytes),
                Storage::File(writer) => writer.write_all(bytes).map_err(|e| temp_error(&self.temp_dir, e))?,
            }
        }
        Ok(())
    }

    /// The buckets, in order, ready to be read back.
    pub(crate) fn into_buckets(self) -> Vec<Bucket> {
        self.buckets
    }
}

impl Bucket {
    /// Bytes of records in the bucket.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// All records of the bucket.
    pub(crate) fn read_all(self, temp_dir: &Path) -> Result<Vec<u8>> {
        match self.storage {
            Storage::Memory(data) => Ok(data),
            Storage::File(writer) => {
                let mut data = Vec::with_capacity(self.bytes as usize);
                rewound(writer, temp_dir)?
                    .read_to_end(&mut data)
                    .map_err(|e| temp_error(temp_dir, e))?;
                Ok(data)
            }
        }
    }

    /// Calls `each` with every record of `record_size` bytes, in order, without holding the
    /// bucket in memory.
    pub(crate) fn for_each_record(
        self,
        record_size: usize,
        temp_dir: &Path,
        each: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.for_each_batch(record_size, 1, temp_dir, each)
    }

    /// Calls `each` with the records of `record_size` bytes, in order, `batch` at a time (fewer
    /// in the last call), without holding the bucket in memory.
    pub(crate) fn for_each_batch(
        self,
        record_size: usize,
        batch: usize,
        temp_dir: &Path,
        mut each: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let batch_bytes = record_size.max(1) * batch.max(1);
        let whole_records = (self.bytes - self.bytes % record_size.max(1) as u64) as usize;
        match self.storage {
            Storage::Memory(data) => data[..whole_records].chunks(batch_bytes).try_for_each(each),
            Storage::File(writer) => {
                let mut reader = BufReader::with_capacity(BUFFER_BYTES, rewound(writer, temp_dir)?);
                let mut buffer = vec![0u8; batch_bytes.min(whole_records)];
                let mut left = whole_records;
                while left > 0 {
                    let records = &mut buffer[..batch_bytes.min(left)];
                    reader.read_exact(records).map_err(|e| temp_error(temp_dir, e))?;
                    each(records)?;
                    left -= records.len();
                }
                Ok(())
            }
        }
    }
}

fn rewound(writer: BufWriter<File>, temp_dir: &Path) -> Result<File> {
    let mut file = writer.into_inner().map_err(|e| temp_error(temp_dir, e.into_error()))?;
    file.seek(SeekFrom::Start(0)).map_err(|e| temp_error(temp_dir, e))?;
    Ok(file)
}

fn temp_error(temp_dir: &Path, error: std::io::Error) -> ConvertError {
    ConvertError::TempFile {
        dir: temp_dir.display().to_string(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_from_memory_and_files() {
        let dir = tempfile::tempdir().unwrap();
        for in_memory in [true, false] {
            let mut spill = Spill::new(3, in_memory, 1 << 20, dir.path()).unwrap();
            for i in 0u16..1000 {
                spill.push((i % 3) as usize, &i.to_le_bytes()).unwrap();
            }
            let buckets = spill.into_buckets();
            assert_eq!(buckets[0].bytes(), 334 * 2);
            let mut seen = Vec::new();
            for (b, bucket) in buckets.into_iter().enumerate() {
                if b == 1 {
                    let all = bucket.read_all(dir.path()).unwrap();
                    seen.extend(all.chunks_exact(2).map(|r| u16::from_le_bytes([r[0], r[1]])));
                } else {
                    bucket
                        .for_each_record(2, dir.path(), |r| {
                            seen.push(u16::from_le_bytes([r[0], r[1]]));
                            Ok(())
                        })
                        .unwrap();
                }
            }
            let expected: Vec<u16> = (0..3).flat_map(|b| (0u16..1000).filter(move |i| i % 3 == b)).collect();
            assert_eq!(seen, expected, "in memory: {in_memory}");
        }
    }

    #[test]
    fn write_buffers_share_their_budget_within_bounds() {
        assert_eq!(buffer_of(4, 4 << 20), BUFFER_BYTES);
        assert_eq!(buffer_of(64, 4 << 20), 64 << 10);
        assert_eq!(buffer_of(512, 4 << 20), MIN_BUFFER_BYTES);
    }

    #[test]
    fn batches_hold_whole_records_and_the_rest_comes_last() {
        let dir = tempfile::tempdir().unwrap();
        for in_memory in [true, false] {
            let mut spill = Spill::new(1, in_memory, 1 << 20, dir.path()).unwrap();
            for i in 0u16..10 {
                spill.push(0, &i.to_le_bytes()).unwrap();
            }
            let mut sizes = Vec::new();
            let mut seen = Vec::new();
            let bucket = spill.into_buckets().pop().unwrap();
            bucket
                .for_each_batch(2, 4, dir.path(), |records| {
                    sizes.push(records.len());
                    seen.extend(records.chunks_exact(2).map(|r| u16::from_le_bytes([r[0], r[1]])));
                    Ok(())
                })
                .unwrap();
            assert_eq!(sizes, vec![8, 8, 4], "in memory: {in_memory}");
            assert_eq!(seen, (0u16..10).collect::<Vec<_>>());
        }
    }
}
