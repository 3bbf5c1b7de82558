//! Writes the nodes of an imzarr store through object_store. Every node's `zarr.json` is
//! written as it is created; shards go through the [`ShardPipeline`]; the root `zarr.json`,
//! which holds the `imzarr` block and the consolidated metadata and marks the store complete,
//! is written last.
//!
//! A conversion in progress is marked by [`PROGRESS_KEY`], which names its input and options.
//! A resumed conversion of the same input with the same options keeps the shards already
//! written (object stores write objects whole or not at all) and removes anything else the
//! interrupted run left.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::TryStreamExt;
use imzarr_format::{ArraySpec, group_metadata};
use imzarr_store::{StoreLocation, ZarrsObjectStore};
use serde_json::{Map, Value, json};
use zarrs::storage::{AsyncReadableStorageTraits, AsyncWritableStorageTraits, StoreKey};

use crate::blocks::extract_block;
use crate::error::{ConvertError, Result};
use crate::shard_encoder::ShardEncoder;
use crate::shard_pipeline::ShardPipeline;
use imzarr_format::region::grid_indices;

/// The object that marks a conversion in progress.
pub(crate) const PROGRESS_KEY: &str = "imzarr-progress.json";

/// An array being written.
pub(crate) struct ArrayWriter {
    pub(crate) path: String,
    pub(crate) spec: ArraySpec,
    encoder: Arc<ShardEncoder>,
}

/// The store being written.
pub(crate) struct StoreWriter {
    storage: Arc<ZarrsObjectStore>,
    display: String,
    nodes: BTreeMap<String, Value>,
    pipeline: ShardPipeline,
    /// Shards an interrupted run finished (resumed conversions only).
    finished: HashSet<String>,
    /// Every object this run wrote or kept.
    kept: HashSet<String>,
    resumed: bool,
}

/// How to treat what is already at the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Refuse a complete store; clear an incomplete one.
    Refuse,
    /// Replace a complete or incomplete store.
    Overwrite,
    /// Continue an interrupted conversion of the same input with the same options.
    Resume,
}

impl StoreWriter {
    /// A writer with at most `in_flight` shards being encoded and uploaded at once.
    pub(crate) fn new(location: StoreLocation, in_flight: usize) -> Self {
        let display = location.display.clone();
        let storage = Arc::new(ZarrsObjectStore::new(location));
        Self {
            pipeline: ShardPipeline::new(storage.clone(), in_flight),
            storage,
            display,
            nodes: BTreeMap::new(),
            finished: HashSet::new(),
            kept: HashSet::new(),
            resumed: false,
        }
    }

    /// Shards kept from an interrupted run.
    pub(crate) fn resumed_shards(&self) -> usize {
        self.finished.len()
    }

    pub(crate) fn counters(&self) -> &imzarr_store::RequestCounters {
        self.storage.counters()
    }

    fn error(&self, key: &str, message: impl ToString) -> ConvertError {
        ConvertError::Store {
            store: self.display.clone(),
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    fn key(&self, key: &str) -> Result<StoreKey> {
        StoreKey::new(key).map_err(|e| self.error(key, e))
    }

    /// Makes the output ready: refuses a location that holds anything but an imzarr store;
    /// refuses to replace a complete store unless told to; keeps the finished shards of an
    /// interrupted conversion of the same `fingerprint` when resuming; otherwise removes the
    /// completeness marker first and everything else after it. Then marks the conversion as
    /// in progress.
    pub(crate) async fn prepare_output(&mut self, existing: Existing, fingerprint: &Value) -> Result<()> {
        const STORE_ENTRIES: &[&str] = &["zarr.json", PROGRESS_KEY, "pixels", "spectra", "mz_major", "images"];
        let location = self.storage.location();
        let prefix = (location.prefix.as_ref() != "").then_some(&location.prefix);
        let listing = imzarr_store::retry_idempotent(|| location.store.list_with_delimiter(prefix))
            .await
            .map_err(|e| self.error("(listing)", e))?;
        let names: Vec<String> = listing
            .common_prefixes
            .iter()
            .chain(listing.objects.iter().map(|o| &o.location))
            .map(|name| name.filename().unwrap_or_default().to_string())
            .collect();
        // An upload stopped midway may leave a staging file `<name>#<n>` beside its object.
        let entry_of = |name: &str| name.split('#').next().unwrap_or_default().to_string();
        if let Some(foreign) = names
            .iter()
            .find(|name| !STORE_ENTRIES.contains(&entry_of(name).as_str()))
        {
            return Err(self.error(foreign, "the output location holds objects that are not part of an imzarr store; choose a new or empty location"));
        }
        if self.holds_complete_store().await? && existing != Existing::Overwrite {
            // A run stopped after its root metadata was written, before it removed its progress
            // marker, finished its store: resuming it only clears the marker.
            if existing == Existing::Resume && names.iter().any(|name| name == PROGRESS_KEY) {
                self.erase(PROGRESS_KEY).await?;
            }
            return Err(ConvertError::Exists {
                store: self.display.clone(),
            });
        }
        if existing == Existing::Resume && !names.is_empty() {
            let progress = self.get_json(PROGRESS_KEY).await?;
            if progress.as_ref() != Some(fingerprint) {
                return Err(ConvertError::CannotResume {
                    store: self.display.clone(),
                    reason: if progress.is_some() {
                        "it was started from another input or with other options".into()
                    } else {
                        "it holds no record of an interrupted conversion".into()
                    },
                });
            }
            self.finished = self
                .list_all()
                .await?
                .into_iter()
                .filter(|k| k.contains("/c/") && !k.contains('#'))
                .collect();
            self.resumed = true;
            Ok(())
        } else {
            // The completeness marker goes first, the progress marker comes right after it, so
            // that a run stopped while clearing leaves a store that can be resumed.
            self.erase("zarr.json").await?;
            self.put_json(PROGRESS_KEY, fingerprint).await?;
            for entry in &STORE_ENTRIES[2..] {
                let prefix = zarrs::storage::StorePrefix::new(format!("{entry}/")).map_err(|e| self.error(entry, e))?;
                self.storage
                    .erase_prefix(&prefix)
                    .await
                    .map_err(|e| self.error(entry, e))?;
            }
            Ok(())
        }
    }

    /// Keys of every object of the store, relative to it.
    async fn list_all(&self) -> Result<Vec<String>> {
        let location = self.storage.location();
        let prefix = (location.prefix.as_ref() != "").then_some(&location.prefix);
        let objects: Vec<object_store::ObjectMeta> =
            imzarr_store::retry_idempotent(|| location.store.list(prefix).try_collect())
                .await
                .map_err(|e| self.error("(listing)", e))?;
        let skip = location.prefix.as_ref().len() + usize::from(prefix.is_some());
        Ok(objects
            .into_iter()
            .map(|o| o.location.as_ref()[skip..].to_string())
            .collect())
    }

    async fn erase(&self, key: &str) -> Result<()> {
        let store_key = self.key(key)?;
        self.storage.erase(&store_key).await.map_err(|e| self.error(key, e))
    }

    async fn get_json(&self, key: &str) -> Result<Option<Value>> {
        let store_key = self.key(key)?;
        let bytes = self.storage.get(&store_key).await.map_err(|e| self.error(key, e))?;
        Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// Whether a complete store (root metadata with an `imzarr` block) is present.
    async fn holds_complete_store(&self) -> Result<bool> {
        let root = self.get_json("zarr.json").await?;
        Ok(root.is_some_and(|v| v["attributes"]["imzarr"].is_object()))
    }

    async fn put_json(&mut self, key: &str, value: &Value) -> Result<()> {
        self.kept.insert(key.to_string());
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| self.error(key, e))?;
        let store_key = self.key(key)?;
        self.storage
            .set(&store_key, bytes.into())
            .await
            .map_err(|e| self.error(key, e))
    }

    pub(crate) async fn write_group(&mut self, path: &str, attributes: Map<String, Value>) -> Result<()> {
        let metadata = group_metadata(attributes);
        self.put_json(&format!("{path}/zarr.json"), &metadata).await?;
        self.nodes.insert(path.to_string(), metadata);
        Ok(())
    }

    pub(crate) async fn create_array(&mut self, path: &str, spec: ArraySpec) -> Result<ArrayWriter> {
        let metadata = spec.metadata();
        let encoder = Arc::new(ShardEncoder::from_spec(&spec).map_err(|e| self.error(path, e))?);
        self.put_json(&format!("{path}/zarr.json"), &metadata).await?;
        self.nodes.insert(path.to_string(), metadata);
        Ok(ArrayWriter {
            path: path.to_string(),
            spec,
            encoder,
        })
    }

    /// An empty buffer for the raw bytes of a shard of `bytes`, reused from shards already
    /// encoded where one is free.
    pub(crate) fn shard_buffer(&self, bytes: usize) -> Vec<u8> {
        self.pipeline.buffers().take(bytes)
    }

    /// Queues one whole shard (its bytes already padded to the full shard shape), unless an
    /// interrupted run finished it.
    pub(crate) async fn write_shard(&mut self, array: &ArrayWriter, shard: &[u64], bytes: Vec<u8>) -> Result<()> {
        let indices: Vec<String> = shard.iter().map(u64::to_string).collect();
        let key = format!("{}/c/{}", array.path, indices.join("/"));
        self.kept.insert(key.clone());
        if self.finished.contains(&key) {
            return Ok(());
        }
        self.pipeline
            .submit(array.encoder.clone(), key, bytes)
            .await
            .map_err(|(key, message)| self.error(&key, message))
    }

    /// Writes a whole array held in memory (row-major bytes of its full shape).
    pub(crate) async fn write_full(&mut self, array: &ArrayWriter, data: &[u8], fill: &[u8]) -> Result<()> {
        let spec = &array.spec;
        for shard in grid_indices(&spec.shard_grid()) {
            let start: Vec<u64> = shard.iter().zip(&spec.shard_shape).map(|(i, s)| i * s).collect();
            let buffer = self.shard_buffer(spec.shard_bytes());
            let block = extract_block(
                data,
                &spec.shape,
                spec.element_size(),
                &start,
                &spec.shard_shape,
                fill,
                buffer,
            );
            self.write_shard(array, &shard, block).await?;
        }
        Ok(())
    }

    /// Waits for every shard, removes what an interrupted run left and this one did not
    /// write, then writes the root `zarr.json` with `attributes` and the consolidated metadata
    /// of every node: the store is complete from this moment on.
    pub(crate) async fn finish(mut self, attributes: Map<String, Value>) -> Result<()> {
        self.pipeline
            .drain()
            .await
            .map_err(|(key, message)| self.error(&key, message))?;
        if self.resumed {
            for key in self.list_all().await? {
                if !self.kept.contains(&key) && key != "zarr.json" {
                    self.erase(&key).await?;
                }
            }
            if let Some(root) = self.storage.location().local_root.clone() {
                remove_staging_files(&root).map_err(|e| self.error("(staging files)", e))?;
            }
        }
        let consolidated: Map<String, Value> = std::mem::take(&mut self.nodes).into_iter().collect();
        let mut root = group_metadata(attributes);
        root["consolidated_metadata"] = json!({"kind": "inline", "must_understand": false, "metadata": consolidated});
        self.put_json("zarr.json", &root).await?;
        self.erase(PROGRESS_KEY).await
    }
}

/// Removes, below `root`, the staging files (`<object>#<digits>`) that a local upload killed
/// midway leaves: the object store neither lists nor deletes them.
fn remove_staging_files(root: &std::path::Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        if path.is_dir() {
            remove_staging_files(&path)?;
        } else if path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.rsplit_once('#'))
            .is_some_and(|(_, suffix)| !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()))
        {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Streams an array shard by shard along its first dimension. Its shards must span every
/// other dimension whole, so that a shard is a contiguous run of row-major bytes.
pub(crate) struct ShardStream {
    array: ArrayWriter,
    shard_bytes: usize,
    buffer: Vec<u8>,
    next_shard: u64,
    written_elements: u64,
}

impl ShardStream {
    pub(crate) fn new(array: ArrayWriter) -> Self {
        // Shards span every other dimension whole (rows of no element have shards of one).
        debug_assert!(
            array.spec.shard_shape[1..]
                .iter()
                .zip(&array.spec.shape[1..])
                .all(|(&shard, &extent)| shard == extent.max(1))
        );
        let shard_bytes = array.spec.shard_bytes();
        Self {
            array,
            shard_bytes,
            buffer: Vec::new(),
            next_shard: 0,
            written_elements: 0,
        }
    }

    /// Appends little-endian element bytes.
    pub(crate) async fn push(&mut self, store: &mut StoreWriter, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            if self.buffer.capacity() < self.shard_bytes {
                self.buffer = store.shard_buffer(self.shard_bytes);
            }
            let take = (self.shard_bytes - self.buffer.len()).min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buffer.len() == self.shard_bytes {
                self.flush(store).await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self, store: &mut StoreWriter) -> Result<()> {
        let mut shard = std::mem::take(&mut self.buffer);
        self.written_elements += (shard.len() / self.array.spec.element_size()) as u64;
        shard.resize(self.shard_bytes, 0);
        let mut index = vec![0u64; self.array.spec.shape.len()];
        index[0] = self.next_shard;
        store.write_shard(&self.array, &index, shard).await?;
        self.next_shard += 1;
        Ok(())
    }

    /// Writes the last, partial shard and checks the element count against the shape.
    pub(crate) async fn finish(mut self, store: &mut StoreWriter) -> Result<()> {
        if !self.buffer.is_empty() {
            self.flush(store).await?;
        }
        let expected: u64 = self.array.spec.shape.iter().product();
        if self.written_elements != expected {
            return Err(ConvertError::Store {
                store: store.display.clone(),
                key: self.array.path.clone(),
                message: format!("wrote {} elements into an array of {expected}", self.written_elements),
            });
        }
        Ok(())
    }
}
