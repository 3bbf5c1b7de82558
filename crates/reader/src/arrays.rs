//! The arrays of an open store, described by the consolidated metadata (no request), and typed
//! reads of their subsets.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use imzarr_format::paths;
use imzarr_imzml::DataType;
use imzarr_store::ZarrsObjectStore;
use serde_json::{Map, Value};
use zarrs::array::{Array, ArrayMetadata};
use zarrs::storage::AsyncReadableStorageTraits;

use crate::error::{ReadError, Result};
use crate::sharded::ShardedArray;

/// Largest subset one read returns, in bytes: a forged shape cannot make a read allocate more.
const MAX_READ_BYTES: u64 = 1 << 36;

/// Every array of a store, by path.
pub(crate) struct Arrays {
    location: String,
    storage: Arc<ZarrsObjectStore>,
    arrays: HashMap<String, ShardedArray>,
}

impl Arrays {
    /// Describes the arrays named in `consolidated` (path → `zarr.json` document) that the
    /// specification defines; others are extensions, left alone whatever their codecs.
    pub(crate) fn new(
        location: &str,
        storage: Arc<ZarrsObjectStore>,
        consolidated: &Map<String, Value>,
    ) -> Result<Self> {
        let mut arrays = HashMap::new();
        for (path, document) in consolidated {
            if document.get("node_type").and_then(Value::as_str) != Some("array") {
                continue;
            }
            let path = path.trim_start_matches('/');
            if !paths::is_defined_node(path) {
                continue;
            }
            let metadata_error = |message: String| ReadError::Metadata {
                location: location.to_string(),
                node: path.to_string(),
                message,
            };
            // zarrs checks the document and parses the data type and fill value.
            let metadata: ArrayMetadata =
                serde_json::from_value(document.clone()).map_err(|e| metadata_error(e.to_string()))?;
            let readable: Arc<dyn AsyncReadableStorageTraits> = storage.clone();
            let array = Array::new_with_metadata(readable, &format!("/{path}"), metadata)
                .map_err(|e| metadata_error(e.to_string()))?;
            let mut sharded = ShardedArray::new(path, document, array.data_type().clone(), array.fill_value().clone())
                .map_err(metadata_error)?;
            // Ion images read the m/z-major layout a few chunks at a time.
            if path.starts_with(&format!("{}/", paths::MZ_MAJOR)) {
                sharded = sharded.with_entries_first();
            }
            arrays.insert(path.to_string(), sharded);
        }
        Ok(Self {
            location: location.to_string(),
            storage,
            arrays,
        })
    }

    fn get(&self, path: &str) -> Result<&ShardedArray> {
        self.arrays.get(path).ok_or_else(|| ReadError::Metadata {
            location: self.location.clone(),
            node: path.to_string(),
            message: "array missing from the store".into(),
        })
    }

    /// Shape of an array.
    pub(crate) fn shape(&self, path: &str) -> Result<Vec<u64>> {
        Ok(self.get(path)?.shape.clone())
    }

    /// Shape of one shard of an array.
    pub(crate) fn shard_shape(&self, path: &str) -> Result<Vec<u64>> {
        Ok(self.get(path)?.shard_shape.clone())
    }

    fn data_error(&self, path: &str, message: impl ToString) -> ReadError {
        ReadError::Data {
            location: self.location.clone(),
            array: path.to_string(),
            message: message.to_string(),
        }
    }

    /// The array at `path`, if `ranges` is a subset of it that one read may return.
    fn readable_subset(&self, path: &str, ranges: &[Range<u64>]) -> Result<&ShardedArray> {
        let array = self.get(path)?;
        let shape = &array.shape;
        if ranges.len() != shape.len() || ranges.iter().zip(shape).any(|(r, &s)| r.start > r.end || r.end > s) {
            return Err(self.data_error(path, format!("subset {ranges:?} is outside the shape {shape:?}")));
        }
        let bytes = ranges
            .iter()
            .try_fold(array.element_size as u64, |acc, r| acc.checked_mul(r.end - r.start));
        if bytes.is_none_or(|b| b > MAX_READ_BYTES) {
            return Err(self.data_error(
                path,
                format!("subset {ranges:?} is larger than one read may be ({MAX_READ_BYTES} bytes)"),
            ));
        }
        Ok(array)
    }

    /// Raw little-endian bytes of the subset `ranges` and the array's Zarr data type name.
    pub(crate) async fn read_raw(&self, path: &str, ranges: &[Range<u64>]) -> Result<(Vec<u8>, String)> {
        let array = self.readable_subset(path, ranges)?;
        let bytes = array
            .read(&self.storage, ranges)
            .await
            .map_err(|e| self.data_error(path, e))?;
        Ok((bytes, array.data_type_name.clone()))
    }

    /// Fetches and caches the shard indexes a later [`Self::read_raw`] of the subset needs
    /// (those of the shards it would fetch by range), ahead of it.
    pub(crate) async fn cache_shard_indexes(&self, path: &str, ranges: &[Range<u64>]) -> Result<()> {
        self.readable_subset(path, ranges)?
            .cache_indexes(&self.storage, ranges)
            .await
            .map_err(|e| self.data_error(path, e))
    }

    /// Values of the subset as `f64`, whatever the stored numeric type.
    pub(crate) async fn read_f64(&self, path: &str, ranges: &[Range<u64>]) -> Result<Vec<f64>> {
        let (bytes, data_type) = self.read_raw(path, ranges).await?;
        decode_f64(&bytes, &data_type)
            .ok_or_else(|| self.data_error(path, format!("data type {data_type} is not numeric")))
    }
}

/// Decodes little-endian values of a Zarr numeric type.
pub(crate) fn decode_f64(bytes: &[u8], data_type: &str) -> Option<Vec<f64>> {
    if let Some(dtype) = DataType::from_zarr_name(data_type) {
        return Some(bytes.chunks_exact(dtype.size()).map(|b| dtype.read_f64(b)).collect());
    }
    Some(match data_type {
        "uint8" => bytes.iter().map(|&b| b as f64).collect(),
        "uint16" => bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as f64)
            .collect(),
        "uint32" => decode_u32(bytes).into_iter().map(|v| v as f64).collect(),
        "uint64" => decode_u64(bytes).into_iter().map(|v| v as f64).collect(),
        _ => return None,
    })
}

/// Decodes little-endian `uint32` values.
pub(crate) fn decode_u32(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Decodes little-endian `uint64` values.
pub(crate) fn decode_u64(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect()
}
