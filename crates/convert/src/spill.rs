//! Buckets of fixed-size records that live in memory when they fit the budget and in
//! anonymous temporary files otherwise: the out-of-core half of the m/z sort and of the
//! continuous transpose. Full write buffers of spilled buckets go to the files on a thread of
//! their own, so that writing the spilled bytes overlaps the work that produces them. The files
//! are written and read in aligned blocks, past the page cache where the temporary directory is
//! on a local disk: a spilled byte is read back once, and on a virtual machine the fresh cache
//! pages it would land in cost more than the disk (a fifth of the processor time of a 4.5 GB
//! processed conversion went to copying spilled bytes into the page cache).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use imzarr_store::direct_io::{AlignedBlock, BlockAppender, BlockReader, bypassing_page_cache, on_local_disk};

use crate::error::{ConvertError, Result};

/// Largest write (and read) buffer of a spilled bucket.
pub(crate) const BUFFER_BYTES: usize = 256 << 10;

/// Smallest write buffer of a spilled bucket.
const MIN_BUFFER_BYTES: usize = 16 << 10;

/// Full write buffers queued for the writing thread (their memory is part of the buffers'
/// share of the budget only up to this many more).
const QUEUED_BUFFERS: usize = 4;

/// A bucket while records are appended to it (to its temporary file, the one of the same
/// number, when the buckets are spilled).
struct Filling {
    /// Records not yet handed to the file (all of them, in memory).
    buffer: Vec<u8>,
    bytes: u64,
}

/// One bucket, complete: records in arrival order.
pub(crate) struct Bucket {
    storage: Storage,
    bytes: u64,
}

/// Where a complete bucket's records are.
enum Storage {
    Memory(Vec<u8>),
    /// The first `bytes` of the file, written in aligned blocks.
    File(File),
}

/// The thread that appends full buffers to the buckets' files, in the order they were queued,
/// and gives the files back when every buffer is written.
struct FileWriter {
    queue: SyncSender<(usize, Vec<u8>)>,
    /// Emptied buffers coming back to be filled again.
    emptied: Receiver<Vec<u8>>,
    thread: JoinHandle<Vec<File>>,
    /// The write that failed, which stopped the thread.
    failure: Arc<Mutex<Option<std::io::Error>>>,
}

impl FileWriter {
    fn start(files: Vec<File>) -> Self {
        let (queue, queued) = sync_channel::<(usize, Vec<u8>)>(QUEUED_BUFFERS);
        let (give_back, emptied) = sync_channel(QUEUED_BUFFERS + 1);
        let failure = Arc::new(Mutex::new(None));
        let failed = failure.clone();
        let thread = std::thread::spawn(move || {
            let mut block = AlignedBlock::new(BUFFER_BYTES);
            let mut appenders: Vec<BlockAppender> = files.iter().map(|_| BlockAppender::new()).collect();
            // The queue is only borrowed: it stays open until the failure below is recorded, so
            // that a sender who finds it closed also finds the cause.
            let mut written = || -> std::io::Result<()> {
                for (bucket, mut buffer) in queued.iter() {
                    appenders[bucket].append(&files[bucket], &buffer, &mut block)?;
                    buffer.clear();
                    let _ = give_back.try_send(buffer);
                }
                for (file, appender) in files.iter().zip(std::mem::take(&mut appenders)) {
                    appender.finish(file, &mut block)?;
                }
                Ok(())
            };
            if let Err(error) = written() {
                if let Ok(mut failed) = failed.lock() {
                    *failed = Some(error);
                }
                return Vec::new();
            }
            files
        });
        Self {
            queue,
            emptied,
            thread,
            failure,
        }
    }

    /// Queues `buffer` for the file of `bucket`; returns an empty buffer to go on with.
    fn write(&self, bucket: usize, buffer: Vec<u8>, temp_dir: &Path) -> Result<Vec<u8>> {
        let capacity = buffer.capacity();
        if self.queue.send((bucket, buffer)).is_err() {
            return Err(self.failed(temp_dir));
        }
        Ok(self.emptied.try_recv().unwrap_or_else(|_| Vec::with_capacity(capacity)))
    }

    /// Waits until every queued buffer is written; returns the files.
    fn finish(self, temp_dir: &Path) -> Result<Vec<File>> {
        drop(self.queue);
        let joined = self.thread.join();
        match (self.failure.lock().map(|mut failure| failure.take()), joined) {
            (Ok(None), Ok(files)) => Ok(files),
            (Ok(Some(error)), _) => Err(temp_error(temp_dir, error)),
            _ => Err(temp_error(temp_dir, std::io::Error::other("the spill writer panicked"))),
        }
    }

    /// The error of the write that stopped the thread.
    fn failed(&self, temp_dir: &Path) -> ConvertError {
        let error = self
            .failure
            .lock()
            .ok()
            .and_then(|failure| failure.as_ref().map(|e| std::io::Error::new(e.kind(), e.to_string())));
        temp_error(
            temp_dir,
            error.unwrap_or_else(|| std::io::Error::other("the spill writer stopped")),
        )
    }
}

/// `count` buckets of records.
pub(crate) struct Spill {
    buckets: Vec<Filling>,
    buffer_bytes: usize,
    writer: Option<FileWriter>,
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
        let buffer_bytes = buffer_of(count, buffers_bytes);
        let direct = !in_memory && on_local_disk(temp_dir);
        let mut buckets = Vec::with_capacity(count);
        let mut files = Vec::new();
        for _ in 0..count {
            let buffer = if in_memory {
                Vec::new()
            } else {
                let file = tempfile::tempfile_in(temp_dir).map_err(|e| temp_error(temp_dir, e))?;
                files.push(if direct { bypassing_page_cache(file).0 } else { file });
                Vec::with_capacity(buffer_bytes)
            };
            buckets.push(Filling { buffer, bytes: 0 });
        }
        Ok(Self {
            buckets,
            buffer_bytes,
            writer: (!in_memory).then(|| FileWriter::start(files)),
            temp_dir: temp_dir.to_path_buf(),
        })
    }

    /// Whether the buckets are kept in memory.
    #[cfg(test)]
    pub(crate) fn in_memory(&self) -> bool {
        self.writer.is_none()
    }

    /// Number of buckets.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Appends `bytes` (whole records) to bucket `bucket`.
    pub(crate) fn push(&mut self, bucket: usize, bytes: &[u8]) -> Result<()> {
        self.push_with(bucket, bytes.len(), |buffer| buffer.extend_from_slice(bytes))
    }

    /// Appends `bytes` bytes of whole records to bucket `bucket` with `fill`, which extends
    /// the bucket's buffer by exactly that much.
    pub(crate) fn push_with(&mut self, bucket: usize, bytes: usize, fill: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        // A spilled bucket's buffer is handed over before it would outgrow its capacity (a
        // grown buffer would stay twice as large), and after a push as large as itself.
        if self.buckets[bucket].buffer.len() + bytes > self.buffer_bytes {
            self.hand_over(bucket)?;
        }
        let target = &mut self.buckets[bucket];
        fill(&mut target.buffer);
        target.bytes += bytes as u64;
        if target.buffer.len() >= self.buffer_bytes {
            self.hand_over(bucket)?;
        }
        Ok(())
    }

    /// Hands the buffer of a spilled bucket to the writing thread.
    fn hand_over(&mut self, bucket: usize) -> Result<()> {
        let target = &mut self.buckets[bucket];
        if let Some(writer) = &self.writer
            && !target.buffer.is_empty()
        {
            let full = std::mem::take(&mut target.buffer);
            target.buffer = writer.write(bucket, full, &self.temp_dir)?;
        }
        Ok(())
    }

    /// The buckets, in order, ready to be read back once every buffer is written.
    pub(crate) fn into_buckets(mut self) -> Result<Vec<Bucket>> {
        let fillings = std::mem::take(&mut self.buckets);
        let Some(writer) = self.writer.take() else {
            return Ok(fillings
                .into_iter()
                .map(|filling| Bucket {
                    bytes: filling.bytes,
                    storage: Storage::Memory(filling.buffer),
                })
                .collect());
        };
        let mut sizes = Vec::with_capacity(fillings.len());
        for (bucket, filling) in fillings.into_iter().enumerate() {
            if !filling.buffer.is_empty() {
                writer.write(bucket, filling.buffer, &self.temp_dir)?;
            }
            sizes.push(filling.bytes);
        }
        let files = writer.finish(&self.temp_dir)?;
        Ok(files
            .into_iter()
            .zip(sizes)
            .map(|(file, bytes)| Bucket {
                storage: Storage::File(file),
                bytes,
            })
            .collect())
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
            Storage::File(file) => {
                let mut data = Vec::with_capacity(self.bytes as usize);
                BlockReader::new(&file, self.bytes, BUFFER_BYTES)
                    .and_then(|mut reader| reader.read_to_end(&mut data))
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
            Storage::File(file) => {
                let mut reader =
                    BlockReader::new(&file, self.bytes, BUFFER_BYTES).map_err(|e| temp_error(temp_dir, e))?;
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
            let buckets = spill.into_buckets().unwrap();
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
    fn a_failed_write_to_a_bucket_file_is_reported_with_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("read-only");
        std::fs::write(&path, b"").unwrap();
        let read_only = File::open(&path).unwrap();
        let writer = FileWriter::start(vec![read_only]);
        // Writes queue up until the thread has failed and stopped; the cause comes with the
        // first error, from `write` or at the latest from `finish`.
        let mut first_error = None;
        for _ in 0..QUEUED_BUFFERS + 2 {
            if let Err(e) = writer.write(0, vec![1u8; BUFFER_BYTES], dir.path()) {
                first_error = Some(e);
                break;
            }
        }
        let error = match first_error {
            Some(e) => e,
            None => writer.finish(dir.path()).unwrap_err(),
        };
        let message = error.to_string();
        assert!(message.contains(&dir.path().display().to_string()), "{message}");
        assert!(
            message.contains("Bad file descriptor") || message.contains("os error 9"),
            "{message}"
        );
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
            let bucket = spill.into_buckets().unwrap().pop().unwrap();
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
