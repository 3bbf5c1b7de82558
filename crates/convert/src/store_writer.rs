//! Writes the nodes of an imzarr store through zarrs and object_store. Every node's
//! `zarr.json` is written as it is created; the root `zarr.json`, which holds the `imzarr`
//! block and the consolidated metadata and marks the store complete, is written last.

use std::collections::BTreeMap;
use std::sync::Arc;

use imzarr_format::{ArraySpec, group_metadata};
use imzarr_store::{StoreLocation, ZarrsObjectStore};
use serde_json::{Map, Value, json};
use zarrs::array::{Array, ArrayBytes, ArrayMetadata};
use zarrs::storage::{
    AsyncReadableStorageTraits, AsyncReadableWritableStorageTraits, AsyncWritableStorageTraits, StoreKey,
};

use crate::blocks::extract_block;
use crate::error::{ConvertError, Result};
use imzarr_format::region::grid_indices;

/// An array being written.
pub(crate) struct ArrayWriter {
    pub(crate) path: String,
    pub(crate) spec: ArraySpec,
    array: Array<dyn AsyncReadableWritableStorageTraits>,
}

/// The store being written.
pub(crate) struct StoreWriter {
    storage: Arc<ZarrsObjectStore>,
    display: String,
    nodes: BTreeMap<String, Value>,
}

impl StoreWriter {
    pub(crate) fn new(location: StoreLocation) -> Self {
        let display = location.display.clone();
        Self {
            storage: Arc::new(ZarrsObjectStore::new(location)),
            display,
            nodes: BTreeMap::new(),
        }
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

    /// Makes the output ready: refuses a location that holds anything but an imzarr store,
    /// refuses to replace a complete store unless `overwrite`, then removes the completeness
    /// marker first and everything else after it.
    pub(crate) async fn prepare_output(&self, overwrite: bool) -> Result<()> {
        const STORE_ENTRIES: &[&str] = &["zarr.json", "pixels", "spectra", "mz_major", "images"];
        let location = self.storage.location();
        let prefix = (location.prefix.as_ref() != "").then_some(&location.prefix);
        let listing = location
            .store
            .list_with_delimiter(prefix)
            .await
            .map_err(|e| self.error("(listing)", e))?;
        let names = listing
            .common_prefixes
            .iter()
            .chain(listing.objects.iter().map(|o| &o.location));
        for name in names {
            let last = name.filename().unwrap_or_default();
            if !STORE_ENTRIES.contains(&last) {
                return Err(self.error(last, "the output location holds objects that are not part of an imzarr store; choose a new or empty location"));
            }
        }
        if self.holds_complete_store().await? && !overwrite {
            return Err(ConvertError::Exists {
                store: self.display.clone(),
            });
        }
        let key = self.key("zarr.json")?;
        self.storage.erase(&key).await.map_err(|e| self.error("zarr.json", e))?;
        for entry in &STORE_ENTRIES[1..] {
            let prefix = zarrs::storage::StorePrefix::new(format!("{entry}/")).map_err(|e| self.error(entry, e))?;
            self.storage
                .erase_prefix(&prefix)
                .await
                .map_err(|e| self.error(entry, e))?;
        }
        Ok(())
    }

    /// Whether a complete store (root metadata with an `imzarr` block) is present.
    async fn holds_complete_store(&self) -> Result<bool> {
        let key = self.key("zarr.json")?;
        let root = self.storage.get(&key).await.map_err(|e| self.error("zarr.json", e))?;
        Ok(match root {
            Some(bytes) => serde_json::from_slice::<Value>(&bytes)
                .ok()
                .is_some_and(|v| v["attributes"]["imzarr"].is_object()),
            None => false,
        })
    }

    async fn put_json(&self, key: &str, value: &Value) -> Result<()> {
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
        let parsed: ArrayMetadata = serde_json::from_value(metadata.clone()).map_err(|e| self.error(path, e))?;
        let storage: Arc<dyn AsyncReadableWritableStorageTraits> = self.storage.clone();
        let array = Array::new_with_metadata(storage, &format!("/{path}"), parsed).map_err(|e| self.error(path, e))?;
        self.put_json(&format!("{path}/zarr.json"), &metadata).await?;
        self.nodes.insert(path.to_string(), metadata);
        Ok(ArrayWriter {
            path: path.to_string(),
            spec,
            array,
        })
    }

    /// Writes one whole shard (its bytes already padded to the full shard shape).
    pub(crate) async fn write_shard(&self, array: &ArrayWriter, shard: &[u64], bytes: Vec<u8>) -> Result<()> {
        array
            .array
            .async_store_chunk(shard, ArrayBytes::new_flen(bytes))
            .await
            .map_err(|e| self.error(&array.path, e))
    }

    /// Writes a whole array held in memory (row-major bytes of its full shape).
    pub(crate) async fn write_full(&self, array: &ArrayWriter, data: &[u8], fill: &[u8]) -> Result<()> {
        let spec = &array.spec;
        for shard in grid_indices(&spec.shard_grid()) {
            let start: Vec<u64> = shard.iter().zip(&spec.shard_shape).map(|(i, s)| i * s).collect();
            let block = extract_block(data, &spec.shape, spec.element_size(), &start, &spec.shard_shape, fill);
            self.write_shard(array, &shard, block).await?;
        }
        Ok(())
    }

    /// Writes the root `zarr.json` with `attributes` and the consolidated metadata of every
    /// node written before: the store is complete from this moment on.
    pub(crate) async fn finish(self, attributes: Map<String, Value>) -> Result<()> {
        let consolidated: Map<String, Value> = self.nodes.into_iter().collect();
        let mut root = group_metadata(attributes);
        root["consolidated_metadata"] = json!({"kind": "inline", "must_understand": false, "metadata": consolidated});
        let bytes = serde_json::to_vec_pretty(&root).map_err(|e| ConvertError::Store {
            store: self.display.clone(),
            key: "zarr.json".into(),
            message: e.to_string(),
        })?;
        let key = StoreKey::new("zarr.json").map_err(|e| ConvertError::Store {
            store: self.display.clone(),
            key: "zarr.json".into(),
            message: e.to_string(),
        })?;
        self.storage
            .set(&key, bytes.into())
            .await
            .map_err(|e| ConvertError::Store {
                store: self.display.clone(),
                key: "zarr.json".into(),
                message: e.to_string(),
            })
    }
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
        debug_assert!(array.spec.shard_shape[1..] == array.spec.shape[1..]);
        let shard_bytes = array.spec.shard_shape.iter().product::<u64>() as usize * array.spec.element_size();
        Self {
            array,
            shard_bytes,
            buffer: Vec::with_capacity(shard_bytes),
            next_shard: 0,
            written_elements: 0,
        }
    }

    /// Appends little-endian element bytes.
    pub(crate) async fn push(&mut self, store: &StoreWriter, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let take = (self.shard_bytes - self.buffer.len()).min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buffer.len() == self.shard_bytes {
                self.flush(store).await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self, store: &StoreWriter) -> Result<()> {
        let mut shard = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.shard_bytes));
        self.written_elements += (shard.len() / self.array.spec.element_size()) as u64;
        shard.resize(self.shard_bytes, 0);
        let mut index = vec![0u64; self.array.spec.shape.len()];
        index[0] = self.next_shard;
        store.write_shard(&self.array, &index, shard).await?;
        self.next_shard += 1;
        Ok(())
    }

    /// Writes the last, partial shard and checks the element count against the shape.
    pub(crate) async fn finish(mut self, store: &StoreWriter) -> Result<()> {
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
