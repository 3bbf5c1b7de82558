//! Files written and read in aligned blocks, so that they can bypass the page cache.
//!
//! A file opened with `O_DIRECT` (Linux) takes only reads and writes whose buffers, lengths
//! and file offsets are multiples of the device's logical block size. [`BlockAppender`]
//! appends bytes of any length to a file in such blocks (the last one padded with zeros) and
//! [`BlockReader`] reads the first bytes of such a file back; both work the same on files
//! opened without `O_DIRECT`. The large objects of local stores
//! ([`StoreLocation`](crate::StoreLocation)) and the converter's spill files are
//! written this way.
//!
//! On the virtual machines this project is measured on, a page the guest has not touched for a
//! while costs a fault in the host, and every byte written through the page cache first lands
//! in a fresh cache page: buffered writes of 32 MiB files ran at 91 MB/s where `O_DIRECT`
//! writes of the same files ran at 630 MB/s (`dd`, one after the other).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Alignment of direct reads' and writes' offsets, lengths and buffers (the largest logical
/// block size of common devices).
pub const ALIGN: usize = 4096;

/// A buffer whose start is aligned to [`ALIGN`] and whose length is a multiple of it.
pub struct AlignedBlock {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBlock {
    /// A block of at least `len` bytes (rounded up to a multiple of [`ALIGN`], at least one).
    pub fn new(len: usize) -> Self {
        let len = len.max(1).next_multiple_of(ALIGN);
        let storage = vec![0u8; len + ALIGN];
        let start = storage.as_ptr().align_offset(ALIGN);
        Self { storage, start, len }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no bytes (never: a block holds at least [`ALIGN`]).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// Appends bytes to a file in whole aligned blocks, through a caller's [`AlignedBlock`]: the
/// bytes short of a whole block wait in the appender for the next append, or for
/// [`finish`](Self::finish), which writes them padded with zeros. The file is written from its
/// current position on, which must be aligned (a new file's is).
#[derive(Debug, Default)]
pub struct BlockAppender {
    /// Appended bytes not written yet: fewer than [`ALIGN`].
    carry: Vec<u8>,
    /// Bytes appended.
    len: u64,
}

impl BlockAppender {
    /// An appender that has written nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `data`, writing every whole aligned block it completes.
    pub fn append(&mut self, mut file: &File, data: &[u8], block: &mut AlignedBlock) -> io::Result<()> {
        let buffer = block.bytes_mut();
        let mut filled = self.carry.len();
        buffer[..filled].copy_from_slice(&self.carry);
        self.carry.clear();
        let mut rest = data;
        loop {
            let n = rest.len().min(buffer.len() - filled);
            buffer[filled..filled + n].copy_from_slice(&rest[..n]);
            filled += n;
            rest = &rest[n..];
            if rest.is_empty() {
                break;
            }
            file.write_all(buffer)?;
            filled = 0;
        }
        let whole = filled - filled % ALIGN;
        if whole > 0 {
            file.write_all(&buffer[..whole])?;
        }
        self.carry.extend_from_slice(&buffer[whole..filled]);
        self.len += data.len() as u64;
        Ok(())
    }

    /// Writes the bytes still waiting, padded with zeros to a whole block; returns the number
    /// of bytes appended (the file's length without the padding).
    pub fn finish(mut self, mut file: &File, block: &mut AlignedBlock) -> io::Result<u64> {
        if !self.carry.is_empty() {
            let buffer = block.bytes_mut();
            let filled = self.carry.len();
            buffer[..filled].copy_from_slice(&self.carry);
            buffer[filled..ALIGN].fill(0);
            file.write_all(&buffer[..ALIGN])?;
            self.carry.clear();
        }
        Ok(self.len)
    }
}

/// Reads the first `len` bytes of a file in aligned blocks, from its start.
pub struct BlockReader<'a> {
    file: &'a File,
    block: AlignedBlock,
    /// Bytes of the block not returned yet: `pos..filled`.
    pos: usize,
    filled: usize,
    /// Bytes of the file not read into the block yet, up to `len`.
    unread: u64,
}

impl<'a> BlockReader<'a> {
    /// A reader of the first `len` bytes of `file`, in reads of about `block_bytes`.
    pub fn new(file: &'a File, len: u64, block_bytes: usize) -> io::Result<Self> {
        let mut rewound = file;
        rewound.seek(SeekFrom::Start(0))?;
        let block_bytes = usize::try_from(len).map_or(block_bytes, |len| block_bytes.min(len));
        Ok(Self {
            file,
            block: AlignedBlock::new(block_bytes),
            pos: 0,
            filled: 0,
            unread: len,
        })
    }

    /// Reads the next block: whole aligned blocks, the last one whole too (the file is
    /// padded to one, as [`BlockAppender`] leaves it).
    fn refill(&mut self) -> io::Result<()> {
        let buffer = self.block.bytes_mut();
        let wanted = usize::try_from(self.unread)
            .map_or(buffer.len(), |unread| unread.next_multiple_of(ALIGN).min(buffer.len()));
        let mut got = 0;
        while got < wanted {
            match self.file.read(&mut buffer[got..wanted]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        let usable = usize::try_from(self.unread).map_or(got, |unread| got.min(unread));
        if usable == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the file ends {} bytes short", self.unread),
            ));
        }
        self.unread -= usable as u64;
        (self.pos, self.filled) = (0, usable);
        Ok(())
    }
}

impl Read for BlockReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.filled {
            if self.unread == 0 || out.is_empty() {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = out.len().min(self.filled - self.pos);
        out[..n].copy_from_slice(&self.block.bytes_mut()[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Whether the directory `dir` is on the file system of a local disk, where reads and writes
/// past the page cache pay (not a network file system, where each would wait for the server,
/// nor tmpfs, which is memory anyway). Always false where this cannot be told (not Linux).
pub fn on_local_disk(dir: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        crate::mountinfo::on_local_disk(dir)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        false
    }
}

/// The empty file `file` opened again to read and write past the page cache (`O_DIRECT`), with
/// whether that worked. The new descriptor is tried with one block written and cut off again,
/// since some file systems take `O_DIRECT` at open and refuse it at the first write; where the
/// file is not empty, or the file system or the platform does not take it, `file` itself
/// comes back.
pub fn bypassing_page_cache(file: File) -> (File, bool) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::{FileExt, OpenOptionsExt};
        if !file.metadata().is_ok_and(|metadata| metadata.len() == 0) {
            return (file, false);
        }
        // The descriptor's link in /proc opens the same file, even one without a name.
        let direct = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(format!("/proc/self/fd/{}", file.as_raw_fd()));
        let tried = direct.and_then(|direct| {
            direct.write_all_at(AlignedBlock::new(ALIGN).bytes_mut(), 0)?;
            direct.set_len(0)?;
            Ok(direct)
        });
        match tried {
            Ok(direct) => (direct, true),
            Err(_) => {
                let _ = file.set_len(0);
                (file, false)
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        (file, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4099) as u8).collect()
    }

    #[test]
    fn appended_pieces_read_back_whole_with_and_without_the_page_cache() {
        for direct in [false, true] {
            for (len, piece, block) in [
                (0, 1, ALIGN),
                (10, 3, ALIGN),
                (ALIGN, ALIGN, ALIGN),
                (5 * ALIGN + 17, 1000, 2 * ALIGN),
                (300_001, 65_537, 16 * ALIGN),
            ] {
                let (file, switched) = match tempfile::tempfile().unwrap() {
                    file if direct => bypassing_page_cache(file),
                    file => (file, false),
                };
                if direct && on_local_disk(&std::env::temp_dir()) {
                    assert!(switched, "a local disk's file system refused O_DIRECT");
                }
                let data = pattern(len);
                let mut appender = BlockAppender::new();
                let mut aligned = AlignedBlock::new(block);
                for part in data.chunks(piece) {
                    appender.append(&file, part, &mut aligned).unwrap();
                }
                assert_eq!(appender.finish(&file, &mut aligned).unwrap(), len as u64);
                let on_disk = file.metadata().unwrap().len();
                assert_eq!(
                    on_disk,
                    (len as u64).next_multiple_of(ALIGN as u64),
                    "padded to a block"
                );
                for read_block in [ALIGN, 3 * ALIGN, 1 << 20] {
                    let mut back = Vec::new();
                    BlockReader::new(&file, len as u64, read_block)
                        .unwrap()
                        .read_to_end(&mut back)
                        .unwrap();
                    assert!(back == data, "{len} bytes in pieces of {piece}, direct: {switched}");
                }
            }
        }
    }

    #[test]
    fn only_an_empty_file_is_switched_and_it_stays_empty() {
        let file = tempfile::tempfile().unwrap();
        let (file, switched) = bypassing_page_cache(file);
        assert_eq!(file.metadata().unwrap().len(), 0, "the tried block is cut off");
        if on_local_disk(&std::env::temp_dir()) {
            assert!(switched);
        }
        let mut written = tempfile::tempfile().unwrap();
        written.write_all(b"data").unwrap();
        let (written, switched) = bypassing_page_cache(written);
        assert!(!switched);
        assert_eq!(written.metadata().unwrap().len(), 4);
    }

    #[test]
    fn a_file_shorter_than_asked_is_an_unexpected_end() {
        let file = tempfile::tempfile().unwrap();
        let mut appender = BlockAppender::new();
        let mut block = AlignedBlock::new(ALIGN);
        appender.append(&file, &pattern(100), &mut block).unwrap();
        appender.finish(&file, &mut block).unwrap();
        let mut back = Vec::new();
        let error = BlockReader::new(&file, 2 * ALIGN as u64 + 1, ALIGN)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "{error}");
    }

    #[test]
    fn blocks_are_aligned_and_whole() {
        for len in [0, 1, ALIGN, ALIGN + 1] {
            let mut block = AlignedBlock::new(len);
            assert_eq!(block.len() % ALIGN, 0);
            assert!(block.len() >= len.max(1));
            assert_eq!(block.bytes_mut().as_ptr() as usize % ALIGN, 0);
        }
    }
}
