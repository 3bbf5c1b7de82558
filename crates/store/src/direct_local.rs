//! Local stores whose large objects are written past the page cache (Linux).
//!
//! A conversion writes more bytes than it reads (both layouts, about 1.5x the input), and on a
//! virtual machine, writes through the page cache cost the most: see [`crate::direct_io`].
//!
//! [`DirectLocal`] wraps object_store's [`LocalFileSystem`] and writes an object of at least
//! [`DIRECT_MIN_BYTES`] put whole (`PutMode::Overwrite`, no attributes) itself: into a staging
//! file `<object>#<n>` opened with `O_DIRECT`, in aligned blocks copied from the payload into a
//! buffer each thread reuses ([`BlockAppender`]), cut to the object's length, then renamed over
//! the object. That is the publication `LocalFileSystem` does, with its staging names (which
//! listings skip and a resumed conversion removes), so an object is there whole or not at all.
//! Everything else goes to `LocalFileSystem`, and so does every put into a file system not known
//! to gain from direct writes (only local disk file systems are: on a network file system each
//! direct write waits for the server, and tmpfs is memory anyway), or once the file system has
//! refused `O_DIRECT`.

use std::cell::RefCell;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMode,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

use crate::direct_io::{AlignedBlock, BlockAppender};

/// Objects smaller than this are written through the page cache: a direct write waits for the
/// device, which costs more than it saves on small files.
pub const DIRECT_MIN_BYTES: usize = 1 << 20;

/// Bytes of one direct write.
const BLOCK_BYTES: usize = 4 << 20;

/// The name `LocalFileSystem` gives its errors; the retry policy treats it as local.
const STORE_NAME: &str = "LocalFileSystem";

thread_local! {
    /// The block buffer of this thread.
    static BLOCK: RefCell<Option<AlignedBlock>> = const { RefCell::new(None) };
}

/// A local directory as an object store, large objects written with `O_DIRECT`.
#[derive(Debug)]
pub struct DirectLocal {
    inner: LocalFileSystem,
    /// The store's directory, whose file system decides whether direct writes pay.
    root: PathBuf,
    /// Whether that file system is a local disk's: looked up at the first large put, so that
    /// opening a store to read it costs nothing more.
    on_disk: OnceLock<bool>,
    /// Set once the file system refused a direct open or write.
    refused: AtomicBool,
}

impl DirectLocal {
    /// Wraps `inner`, whose root is the directory `root`.
    pub fn new(inner: LocalFileSystem, root: &std::path::Path) -> Self {
        Self {
            inner,
            root: root.to_path_buf(),
            on_disk: OnceLock::new(),
            refused: AtomicBool::new(false),
        }
    }

    fn writes_directly(&self, payload: &PutPayload, opts: &PutOptions) -> bool {
        payload.content_length() >= DIRECT_MIN_BYTES
            && matches!(opts.mode, PutMode::Overwrite)
            && opts.attributes.is_empty()
            && !self.refused.load(Ordering::Relaxed)
            && *self.on_disk.get_or_init(|| crate::mountinfo::on_local_disk(&self.root))
    }
}

impl fmt::Display for DirectLocal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

/// What a direct write came to.
enum Outcome {
    Written(PutResult),
    /// The file system does not take direct writes; nothing was left behind.
    Refused,
}

#[async_trait]
impl ObjectStore for DirectLocal {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if !self.writes_directly(&payload, &opts) {
            return self.inner.put_opts(location, payload, opts).await;
        }
        let destination = self.inner.path_to_filesystem(location)?;
        let direct_payload = payload.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            write_direct(&destination, &direct_payload)
                .map_err(|error| io::Error::new(error.kind(), format!("writing {}: {error}", destination.display())))
        })
        .await
        .map_err(|join| generic(io::Error::other(join)))?
        .map_err(generic)?;
        match outcome {
            Outcome::Written(result) => Ok(result),
            Outcome::Refused => {
                self.refused.store(true, Ordering::Relaxed);
                self.inner.put_opts(location, payload, opts).await
            }
        }
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

fn generic(source: io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE_NAME,
        source: Box::new(source),
    }
}

/// Whether `error` says the file system does not take `O_DIRECT`.
fn is_refusal(error: &io::Error) -> bool {
    error.kind() == ErrorKind::InvalidInput
}

/// Writes `payload` to `destination` through a direct staging file, or finds that the file
/// system refuses direct writes.
fn write_direct(destination: &std::path::Path, payload: &PutPayload) -> io::Result<Outcome> {
    let (file, staging) = match open_staging(destination) {
        Err(error) if is_refusal(&error) => return Ok(Outcome::Refused),
        opened => opened?,
    };
    let written = write_blocks(&file, payload).and_then(|()| {
        file.set_len(payload.content_length() as u64)?;
        file.metadata()
    });
    drop(file);
    let published = written.and_then(|metadata| std::fs::rename(&staging, destination).map(|()| metadata));
    match published {
        Ok(metadata) => Ok(Outcome::Written(PutResult {
            e_tag: Some(e_tag(&metadata)),
            version: None,
            extensions: Default::default(),
        })),
        Err(error) => {
            let _ = std::fs::remove_file(&staging);
            if is_refusal(&error) {
                Ok(Outcome::Refused)
            } else {
                Err(error)
            }
        }
    }
}

/// A new staging file `<destination>#<n>` opened for direct writes, with its parent
/// directories created when they are missing.
fn open_staging(destination: &std::path::Path) -> io::Result<(File, PathBuf)> {
    let mut suffix = 1u32;
    loop {
        let mut staging = destination.as_os_str().to_owned();
        staging.push(format!("#{suffix}"));
        let staging = PathBuf::from(staging);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_DIRECT)
            .open(&staging)
        {
            Ok(file) => return Ok((file, staging)),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => suffix += 1,
            Err(error) if error.kind() == ErrorKind::NotFound => match destination.parent() {
                Some(parent) if !parent.exists() => std::fs::create_dir_all(parent)?,
                _ => return Err(error),
            },
            Err(error) => return Err(error),
        }
    }
}

/// Writes the payload in aligned blocks, the last one padded with zeros (the file is cut to
/// the payload's length afterwards).
fn write_blocks(file: &File, payload: &PutPayload) -> io::Result<()> {
    BLOCK.with_borrow_mut(|block| {
        let block = block.get_or_insert_with(|| AlignedBlock::new(BLOCK_BYTES));
        let mut appender = BlockAppender::new();
        for piece in payload.iter() {
            appender.append(file, piece, block)?;
        }
        appender.finish(file, block).map(drop)
    })
}

/// The entity tag `LocalFileSystem` gives a file: inode, modification time and size.
fn e_tag(metadata: &std::fs::Metadata) -> String {
    let mtime = metadata
        .modified()
        .ok()
        .and_then(|mtime| mtime.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default()
        .as_micros();
    format!("\"{:x}-{mtime:x}-{:x}\"", metadata.ino(), metadata.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;

    fn payload_of(len: usize, pieces: usize) -> (Vec<u8>, PutPayload) {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4099) as u8).collect();
        let step = len.div_ceil(pieces).max(1);
        let payload = bytes
            .chunks(step)
            .map(bytes::Bytes::copy_from_slice)
            .collect::<Vec<_>>();
        (bytes, PutPayload::from_iter(payload))
    }

    #[tokio::test]
    async fn large_objects_read_back_whole_and_leave_no_staging_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = direct_into(dir.path());
        // Below the threshold, one block and a padded tail, several blocks from several pieces.
        for (len, pieces) in [
            (1000, 1),
            (DIRECT_MIN_BYTES, 1),
            (BLOCK_BYTES + 1, 3),
            (3 * BLOCK_BYTES + 4095, 7),
        ] {
            let (bytes, payload) = payload_of(len, pieces);
            let location = Path::from(format!("a/b/{len}"));
            let result = store.put(&location, payload).await.unwrap();
            let read = store.get(&location).await.unwrap();
            assert_eq!(read.meta.e_tag, result.e_tag, "{len}: the tag LocalFileSystem gives");
            assert_eq!(read.bytes().await.unwrap(), bytes, "{len} bytes in {pieces} pieces");
        }
        // Overwritten by a shorter object: cut to its length.
        let (bytes, payload) = payload_of(DIRECT_MIN_BYTES + 10, 2);
        store.put(&Path::from("a/b/1000"), payload).await.unwrap();
        let (short, payload) = payload_of(DIRECT_MIN_BYTES + 1, 1);
        store.put(&Path::from("a/b/1000"), payload).await.unwrap();
        let read = store.get(&Path::from("a/b/1000")).await.unwrap().bytes().await.unwrap();
        assert_eq!(read, short);
        assert_ne!(read.len(), bytes.len());
        assert!(
            !store.refused.load(Ordering::Relaxed),
            "the temporary directory refused O_DIRECT"
        );
        let files: Vec<String> = walk(dir.path());
        assert!(files.iter().all(|f| !f.contains('#')), "staging files left: {files:?}");
        assert_eq!(files.len(), 4, "{files:?}");
    }

    #[tokio::test]
    async fn a_file_where_a_directory_is_needed_is_an_error_naming_the_object() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"a file").unwrap();
        let store = direct_into(dir.path());
        let (_, payload) = payload_of(DIRECT_MIN_BYTES, 1);
        let error = store.put(&Path::from("a/b"), payload).await.unwrap_err();
        assert!(
            matches!(error, object_store::Error::Generic { store: STORE_NAME, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("a/b"), "{error}");
    }

    #[tokio::test]
    async fn once_refused_large_objects_go_through_the_page_cache() {
        // A file system refuses O_DIRECT with EINVAL at open (open(2)); this kernel's tmpfs
        // takes it, so the refusal is set here.
        let dir = tempfile::tempdir().unwrap();
        let store = direct_into(dir.path());
        store.refused.store(true, Ordering::Relaxed);
        let (bytes, payload) = payload_of(BLOCK_BYTES + 5, 2);
        assert!(!store.writes_directly(&payload, &PutOptions::default()));
        store.put(&Path::from("x"), payload).await.unwrap();
        assert_eq!(store.get(&Path::from("x")).await.unwrap().bytes().await.unwrap(), bytes);
        assert_eq!(walk(dir.path()), vec!["x".to_string()]);
    }

    /// A store that writes directly whatever file system holds `root`.
    fn direct_into(root: &std::path::Path) -> DirectLocal {
        DirectLocal {
            inner: LocalFileSystem::new_with_prefix(root).unwrap(),
            root: root.to_path_buf(),
            on_disk: OnceLock::from(true),
            refused: AtomicBool::new(false),
        }
    }

    #[test]
    fn only_a_disk_file_system_is_written_directly() {
        let (_, large) = payload_of(DIRECT_MIN_BYTES, 1);
        let put = PutOptions::default();
        // /dev/shm is tmpfs where it exists: memory, nothing to gain.
        if let Ok(dir) = tempfile::tempdir_in("/dev/shm") {
            let store = DirectLocal::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap(), dir.path());
            assert!(!store.writes_directly(&large, &put));
        }
        let dir = tempfile::tempdir().unwrap();
        let on_disk = crate::mountinfo::on_local_disk(dir.path());
        let store = DirectLocal::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap(), dir.path());
        assert_eq!(store.writes_directly(&large, &put), on_disk);
    }

    fn walk(root: &std::path::Path) -> Vec<String> {
        let mut files = Vec::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    files.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        files.sort();
        files
    }
}
