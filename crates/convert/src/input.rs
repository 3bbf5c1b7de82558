//! Where the imzML comes from: a local file, or an object (`s3://bucket/x.imzML`, its `.ibd`
//! beside it) read by range requests in large blocks kept in a small cache.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use imzarr_imzml::IbdBytes;
use imzarr_store::StoreLocation;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::error::{ConvertError, Result};

/// Bytes fetched by one range request.
const BLOCK_BYTES: u64 = 8 << 20;

/// The input of a conversion.
#[derive(Debug, Clone)]
pub enum Input {
    /// A local `.imzML` file.
    Local(PathBuf),
    /// An `.imzML` object: the location's prefix is the object's path.
    Object(StoreLocation),
}

impl Input {
    /// A local path, or a URL object_store understands (`s3://bucket/dir/x.imzML`).
    pub fn from_url(text: &str) -> Result<Self> {
        match url::Url::parse(text) {
            Ok(url) if url.scheme().len() > 1 && url.scheme() != "file" => {
                Ok(Self::Object(StoreLocation::from_url(text, false)?))
            }
            Ok(url) if url.scheme() == "file" => {
                url.to_file_path()
                    .map(Self::Local)
                    .map_err(|()| ConvertError::Unsupported {
                        input: text.to_string(),
                        message: "not a local file URL".into(),
                    })
            }
            _ => Ok(Self::Local(PathBuf::from(text))),
        }
    }

    /// The input as the user gave it.
    pub fn display(&self) -> String {
        match self {
            Self::Local(path) => path.display().to_string(),
            Self::Object(location) => location.display.clone(),
        }
    }
}

impl From<&Path> for Input {
    fn from(path: &Path) -> Self {
        Self::Local(path.to_path_buf())
    }
}

impl From<&PathBuf> for Input {
    fn from(path: &PathBuf) -> Self {
        Self::Local(path.clone())
    }
}

impl From<PathBuf> for Input {
    fn from(path: PathBuf) -> Self {
        Self::Local(path)
    }
}

/// The `.imzML` and `.ibd` objects of a remote input, opened.
pub(crate) struct RemoteInput {
    pub(crate) imzml: ObjectBytes,
    pub(crate) ibd: ObjectBytes,
    /// Names for messages: `s3://bucket/dir/x.imzML` and its `.ibd`.
    pub(crate) imzml_name: PathBuf,
    pub(crate) ibd_name: PathBuf,
}

impl RemoteInput {
    /// Finds the objects (the `.ibd` under any case of its extension), with one HEAD each.
    pub(crate) async fn open(location: &StoreLocation, cache_bytes: u64) -> Result<Self> {
        let imzml_path = location.prefix.clone();
        let imzml = ObjectBytes::open(
            location.store.clone(),
            imzml_path.clone(),
            &location.display,
            cache_bytes,
        )
        .await?;
        let stem = imzml_path
            .as_ref()
            .rsplit_once('.')
            .map_or(imzml_path.as_ref(), |(stem, _)| stem)
            .to_string();
        let display_stem = location
            .display
            .rsplit_once('.')
            .map_or(location.display.as_str(), |(stem, _)| stem)
            .to_string();
        let mut last_error = None;
        for extension in ["ibd", "IBD", "Ibd"] {
            let path = object_store::path::Path::from(format!("{stem}.{extension}"));
            let name = format!("{display_stem}.{extension}");
            match ObjectBytes::open(location.store.clone(), path, &name, cache_bytes).await {
                Ok(ibd) => {
                    return Ok(Self {
                        imzml,
                        ibd,
                        imzml_name: PathBuf::from(&location.display),
                        ibd_name: PathBuf::from(name),
                    });
                }
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| ConvertError::Unsupported {
            input: location.display.clone(),
            message: "no .ibd object beside the imzML".into(),
        }))
    }
}

/// An object read by blocking range requests of [`BLOCK_BYTES`], the most recent blocks kept.
///
/// Reads block the calling thread: call them from a blocking thread or from a worker of a
/// multi-thread tokio runtime (they step out of the worker with `block_in_place`); a
/// current-thread runtime gets an error, not a deadlock.
#[derive(Debug)]
pub(crate) struct ObjectBytes {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    len: u64,
    runtime: tokio::runtime::Handle,
    cache: Mutex<BlockCache>,
}

#[derive(Debug)]
struct BlockCache {
    blocks: HashMap<u64, Bytes>,
    recent: VecDeque<u64>,
    capacity: usize,
}

impl ObjectBytes {
    async fn open(
        store: Arc<dyn ObjectStore>,
        path: object_store::path::Path,
        display: &str,
        cache_bytes: u64,
    ) -> Result<Self> {
        let meta = store.head(&path).await.map_err(|e| ConvertError::Input {
            input: display.to_string(),
            message: format!("cannot read the object: {e}"),
        })?;
        Ok(Self {
            store,
            path,
            len: meta.size,
            runtime: tokio::runtime::Handle::current(),
            cache: Mutex::new(BlockCache {
                blocks: HashMap::new(),
                recent: VecDeque::new(),
                capacity: (cache_bytes / BLOCK_BYTES).max(2) as usize,
            }),
        })
    }

    fn block(&self, number: u64) -> std::io::Result<Bytes> {
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| std::io::Error::other("block cache poisoned"))?;
        if let Some(block) = cache.blocks.get(&number) {
            return Ok(block.clone());
        }
        let start = number * BLOCK_BYTES;
        let end = (start + BLOCK_BYTES).min(self.len);
        let fetch = imzarr_store::read_object_range(self.store.as_ref(), &self.path, start..end);
        let block = self.block_on(fetch)?.map_err(std::io::Error::other)?;
        if block.len() as u64 != end - start {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("bytes {start}..{end}: the server sent {} bytes", block.len()),
            ));
        }
        if cache.recent.len() >= cache.capacity
            && let Some(old) = cache.recent.pop_front()
        {
            cache.blocks.remove(&old);
        }
        cache.recent.push_back(number);
        cache.blocks.insert(number, block.clone());
        Ok(block)
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> std::io::Result<F::Output> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        match Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(RuntimeFlavor::CurrentThread) => Err(std::io::Error::other(
                "reading an imzML from object storage needs a multi-thread tokio runtime",
            )),
            Ok(_) => Ok(tokio::task::block_in_place(|| self.runtime.block_on(future))),
            Err(_) => Ok(self.runtime.block_on(future)),
        }
    }
}

impl IbdBytes for ObjectBytes {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&end| end <= self.len)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("bytes {offset}..+{} are past the end ({} bytes)", buf.len(), self.len),
                )
            })?;
        let mut position = offset;
        while position < end {
            let number = position / BLOCK_BYTES;
            let block = self.block(number)?;
            let within = (position - number * BLOCK_BYTES) as usize;
            let n = (block.len() - within).min((end - position) as usize);
            let at = (position - offset) as usize;
            buf[at..at + n].copy_from_slice(&block[within..within + n]);
            position += n as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    async fn object(len: usize) -> (Arc<dyn ObjectStore>, Vec<u8>) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        store.put(&"dir/x.ibd".into(), data.clone().into()).await.unwrap();
        (store, data)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_across_blocks_equal_the_object() {
        let len = 2 * BLOCK_BYTES as usize + 12345;
        let (store, data) = object(len).await;
        let bytes = ObjectBytes::open(store, "dir/x.ibd".into(), "mem://x.ibd", 0)
            .await
            .unwrap();
        assert_eq!(bytes.len(), len as u64);
        let b = BLOCK_BYTES as usize;
        for (offset, n) in [(0, 16), (b - 3, 10), (b - 1, b + 2), (len - 5, 5), (17, 0)] {
            let mut buf = vec![0u8; n];
            bytes.read_exact_at(offset as u64, &mut buf).unwrap();
            assert_eq!(buf, data[offset..offset + n], "{offset}+{n}");
        }
        let mut past = vec![0u8; 6];
        let error = bytes.read_exact_at(len as u64 - 5, &mut past).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
        // The cache keeps at most two blocks here: reading three blocks in turn evicts the first.
        assert!(bytes.cache.lock().unwrap().blocks.len() <= 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_current_thread_runtime_gets_an_error_not_a_deadlock() {
        let (store, _) = object(100).await;
        let bytes = ObjectBytes::open(store, "dir/x.ibd".into(), "mem://x.ibd", 0)
            .await
            .unwrap();
        let error = bytes.read_exact_at(0, &mut [0u8; 4]).unwrap_err();
        assert!(error.to_string().contains("multi-thread"), "{error}");
    }
}
