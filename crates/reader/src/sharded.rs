//! Reads of sharded arrays, planned and fetched by imzarr itself: the inner chunks a subset
//! needs are found from the shard indexes (fetched once per shard, crc32c-checked, cached), their
//! exact byte ranges are fetched (neighbours coalesced, several GETs in flight), and each chunk
//! is decoded off the async threads by the array's inner codec chain, which checks every chunk's
//! crc32c. (zarrs' partial decoders skip that check, so subsets are not read through them.)

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU64;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use imzarr_format::region::{At, copy_region, grid_indices};
use imzarr_store::{ReadRange, ZarrsObjectStore};
use serde_json::Value;
use zarrs::array::codec::CodecChain;
use zarrs::array::{ArrayBytesRaw, ArrayToBytesCodecTraits, CodecOptions, DataType, FillValue};
use zarrs::metadata::v3::MetadataV3;

/// GETs in flight at once for one read.
const CONCURRENT_GETS: usize = 8;
/// Ranges of one shard closer than this are fetched with one GET.
const COALESCE_GAP: u64 = 16 << 10;
/// A shard of at most this many raw bytes is fetched whole with its index.
const WHOLE_SHARD_ALWAYS: u64 = 256 << 10;
/// A shard of at most this many raw bytes is fetched whole when a read needs half of it.
const WHOLE_SHARD_MOSTLY: u64 = 16 << 20;
/// Marks an absent inner chunk in a shard index.
const ABSENT: u64 = u64::MAX;

/// Offsets and sizes of the inner chunks of one shard (`None`: the shard does not exist).
type ShardIndex = Option<Vec<[u64; 2]>>;

/// One array of the store, as its `zarr.json` describes it.
pub(crate) struct ShardedArray {
    path: String,
    pub(crate) shape: Vec<u64>,
    /// Shape of one shard.
    pub(crate) shard_shape: Vec<u64>,
    inner_shape: Vec<u64>,
    chunks_per_shard: Vec<u64>,
    pub(crate) element_size: usize,
    pub(crate) data_type_name: String,
    /// Whether a shard may be absent and read as the fill value: only in spatial arrays
    /// (an `x` dimension), where no spectrum was acquired. Elsewhere every shard is written,
    /// and a missing one means a damaged or partly copied store.
    absent_shards_allowed: bool,
    data_type: DataType,
    fill_value: FillValue,
    inner_codecs: Arc<CodecChain>,
    indexes: Mutex<HashMap<Vec<u64>, Arc<ShardIndex>>>,
}

/// Where the encoded bytes of a needed inner chunk are in its shard.
struct ChunkBytes {
    offset: u64,
    size: u64,
    /// Index into the read's plan.
    needed: usize,
}

/// One ranged GET that covers one or more neighbouring inner chunks of a shard.
struct Get {
    key: String,
    range: Range<u64>,
    chunks: Vec<ChunkBytes>,
}

/// An inner chunk a read needs, and where its data go.
struct Needed {
    shard: Vec<u64>,
    chunk_in_shard: usize,
    /// Region of the chunk to copy, relative to the chunk.
    from: Vec<u64>,
    /// Where it goes, relative to the subset.
    to: Vec<u64>,
    region: Vec<u64>,
}

impl ShardedArray {
    /// The array at `path` described by `document` (its `zarr.json`); `data_type` and
    /// `fill_value` as zarrs parsed them.
    pub(crate) fn new(
        path: &str,
        document: &Value,
        data_type: DataType,
        fill_value: FillValue,
    ) -> Result<Self, String> {
        let shape = u64s(&document["shape"]).ok_or("no shape")?;
        let shard_shape = u64s(&document["chunk_grid"]["configuration"]["chunk_shape"]).ok_or("no chunk grid")?;
        let codecs = document["codecs"].as_array().ok_or("no codecs")?;
        let sharding = match codecs.as_slice() {
            [only] if only["name"] == "sharding_indexed" => &only["configuration"],
            _ => return Err("arrays must have exactly one codec, sharding_indexed".into()),
        };
        if sharding["index_location"] != "end" {
            return Err("the shard index must be at the end".into());
        }
        let index_codecs: Vec<&str> = sharding["index_codecs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        if index_codecs != ["bytes", "crc32c"] {
            return Err(format!(
                "shard index codecs must be bytes, crc32c (found {index_codecs:?})"
            ));
        }
        let inner_shape = u64s(&sharding["chunk_shape"]).ok_or("no inner chunk shape")?;
        if inner_shape.len() != shape.len()
            || shard_shape.len() != shape.len()
            || inner_shape.contains(&0)
            || shard_shape.iter().zip(&inner_shape).any(|(s, c)| s % c != 0)
        {
            return Err(format!(
                "inner chunks {inner_shape:?} do not tile shards {shard_shape:?}"
            ));
        }
        let metadata: Vec<MetadataV3> =
            serde_json::from_value(sharding["codecs"].clone()).map_err(|e| e.to_string())?;
        let inner_codecs = CodecChain::from_metadata(&metadata).map_err(|e| e.to_string())?;
        let element_size = fill_value.as_ne_bytes().len();
        Ok(Self {
            path: path.to_string(),
            chunks_per_shard: shard_shape.iter().zip(&inner_shape).map(|(s, c)| s / c).collect(),
            shard_shape,
            shape,
            inner_shape,
            element_size,
            data_type_name: document["data_type"].as_str().unwrap_or_default().to_string(),
            absent_shards_allowed: document["dimension_names"]
                .as_array()
                .is_some_and(|names| names.iter().any(|n| n == "x")),
            data_type,
            fill_value,
            inner_codecs: Arc::new(inner_codecs),
            indexes: Mutex::new(HashMap::new()),
        })
    }

    fn shard_key(&self, shard: &[u64]) -> String {
        let indices: Vec<String> = shard.iter().map(u64::to_string).collect();
        format!("{}/c/{}", self.path, indices.join("/"))
    }

    /// The index of `shard`, fetched with one suffix GET the first time. With `whole`, the GET
    /// asks for as many bytes as any encoding of the shard can take, so that a shard of that size
    /// arrives whole in the same round trip: its bytes are returned beside the index (`None`
    /// when the object is larger, which the format does not forbid; its chunks are then fetched
    /// by range like any other).
    async fn shard_index(
        &self,
        store: &ZarrsObjectStore,
        shard: &[u64],
        whole: bool,
    ) -> Result<(Arc<ShardIndex>, Option<Bytes>), String> {
        if let Some(index) = self.indexes.lock().map_err(|e| e.to_string())?.get(shard) {
            return Ok((index.clone(), None));
        }
        let length = self.chunks_in_shard().saturating_mul(16).saturating_add(4);
        let request = if whole {
            length + self.largest_encoding()
        } else {
            length
        };
        let key = self.shard_key(shard);
        let (index, bytes) = match store
            .read(&key, ReadRange::Suffix(request))
            .await
            .map_err(|e| format!("storage: {e}"))?
        {
            None if self.absent_shards_allowed => (None, None),
            None => {
                return Err(format!(
                    "shard {key} is missing (every shard of this array is written: the store is damaged or partly copied)"
                ));
            }
            Some(bytes) => {
                if (bytes.len() as u64) < length {
                    return Err(format!(
                        "shard {key}: {} bytes, too short for its index of {length} bytes",
                        bytes.len()
                    ));
                }
                let tail = &bytes[bytes.len() - length as usize..];
                let index = parse_index(tail, length).map_err(|e| format!("shard {key}: {e}"))?;
                let whole_object = whole && (bytes.len() as u64) < request;
                (Some(index), whole_object.then_some(bytes))
            }
        };
        let index = Arc::new(index);
        self.indexes
            .lock()
            .map_err(|e| e.to_string())?
            .insert(shard.to_vec(), index.clone());
        Ok((index, bytes))
    }

    /// Inner chunks of one shard (saturating: the metadata may be forged).
    fn chunks_in_shard(&self) -> u64 {
        self.chunks_per_shard.iter().fold(1, |n, &c| n.saturating_mul(c))
    }

    /// Raw bytes of one inner chunk.
    fn inner_chunk_bytes(&self) -> u64 {
        self.inner_shape
            .iter()
            .fold(self.element_size as u64, |bytes, &n| bytes.saturating_mul(n))
    }

    /// An upper bound on the encoded size of a shard's chunks: their raw bytes plus the blosc
    /// header, blosc's worst case and the crc32c of each.
    fn largest_encoding(&self) -> u64 {
        let chunk = self.inner_chunk_bytes();
        self.chunks_in_shard()
            .saturating_mul(chunk.saturating_add(chunk / 8 + 64))
    }

    /// Whether to fetch a shard whole with its index when `needed_chunks` of its chunks are
    /// wanted: when it is small, or when the read needs most of it anyway. One round trip
    /// instead of two (index, then chunks) costs at most the rest of a small shard.
    fn read_whole(&self, needed_chunks: u64) -> bool {
        let chunks = self.chunks_in_shard();
        let raw = chunks.saturating_mul(self.inner_chunk_bytes());
        raw <= WHOLE_SHARD_ALWAYS || (raw <= WHOLE_SHARD_MOSTLY && needed_chunks * 2 >= chunks)
    }

    /// The inner chunks that `ranges` touches.
    fn plan(&self, ranges: &[Range<u64>]) -> Vec<Needed> {
        let first: Vec<u64> = ranges.iter().zip(&self.inner_shape).map(|(r, c)| r.start / c).collect();
        let counts: Vec<u64> = ranges
            .iter()
            .zip(&self.inner_shape)
            .zip(&first)
            .map(|((r, c), f)| (r.end - 1) / c + 1 - f)
            .collect();
        grid_indices(&counts)
            .map(|offset| {
                let chunk: Vec<u64> = offset.iter().zip(&first).map(|(o, f)| o + f).collect();
                let shard: Vec<u64> = chunk.iter().zip(&self.chunks_per_shard).map(|(c, n)| c / n).collect();
                let in_shard: Vec<u64> = chunk.iter().zip(&self.chunks_per_shard).map(|(c, n)| c % n).collect();
                let chunk_in_shard = in_shard
                    .iter()
                    .zip(&self.chunks_per_shard)
                    .fold(0u64, |acc, (i, n)| acc * n + i) as usize;
                let start: Vec<u64> = chunk.iter().zip(&self.inner_shape).map(|(c, s)| c * s).collect();
                let low: Vec<u64> = start.iter().zip(ranges).map(|(s, r)| (*s).max(r.start)).collect();
                let high: Vec<u64> = start
                    .iter()
                    .zip(&self.inner_shape)
                    .zip(ranges)
                    .map(|((s, c), r)| (s + c).min(r.end))
                    .collect();
                Needed {
                    shard,
                    chunk_in_shard,
                    from: low.iter().zip(&start).map(|(l, s)| l - s).collect(),
                    to: low.iter().zip(ranges).map(|(l, r)| l - r.start).collect(),
                    region: high.iter().zip(&low).map(|(h, l)| h - l).collect(),
                }
            })
            .collect()
    }

    /// Row-major bytes of the subset `ranges` (validated by the caller).
    pub(crate) async fn read(&self, store: &ZarrsObjectStore, ranges: &[Range<u64>]) -> Result<Vec<u8>, String> {
        let subset_shape: Vec<u64> = ranges.iter().map(|r| r.end - r.start).collect();
        let elements: u64 = subset_shape.iter().product();
        let fill = self.fill_value.as_ne_bytes().to_vec();
        let mut out = fill.repeat(elements as usize);
        if elements == 0 {
            return Ok(out);
        }
        let needed = self.plan(ranges);

        // Shard indexes (cached after the first read of a shard); small shards come whole.
        let mut chunks_of_shard: BTreeMap<Vec<u64>, u64> = BTreeMap::new();
        for n in &needed {
            *chunks_of_shard.entry(n.shard.clone()).or_default() += 1;
        }
        let fetched_indexes: Vec<(Vec<u64>, Arc<ShardIndex>, Option<Bytes>)> =
            stream::iter(chunks_of_shard.into_iter().map(|(shard, count)| async move {
                let (index, whole) = self.shard_index(store, &shard, self.read_whole(count)).await?;
                Ok::<_, String>((shard, index, whole))
            }))
            .buffer_unordered(CONCURRENT_GETS)
            .try_collect()
            .await?;
        let mut indexes: HashMap<Vec<u64>, Arc<ShardIndex>> = HashMap::new();
        let mut whole_shards: HashMap<Vec<u64>, Bytes> = HashMap::new();
        for (shard, index, whole) in fetched_indexes {
            if let Some(bytes) = whole {
                whole_shards.insert(shard.clone(), bytes);
            }
            indexes.insert(shard, index);
        }

        // Byte ranges of the present chunks, per shard, coalesced into GETs.
        let mut wanted: BTreeMap<Vec<u64>, Vec<ChunkBytes>> = BTreeMap::new();
        for (i, n) in needed.iter().enumerate() {
            if let Some(entries) = indexes[&n.shard].as_ref() {
                let [offset, size] = entries[n.chunk_in_shard];
                if offset != ABSENT {
                    if offset.checked_add(size).is_none() {
                        return Err(format!("shard index entry ({offset}, {size}) overflows"));
                    }
                    wanted.entry(n.shard.clone()).or_default().push(ChunkBytes {
                        offset,
                        size,
                        needed: i,
                    });
                }
            }
        }
        let mut gets: Vec<Get> = Vec::new();
        let mut encoded: Vec<(usize, Bytes)> = Vec::new();
        for (shard, mut chunks) in wanted {
            let key = self.shard_key(&shard);
            if let Some(bytes) = whole_shards.get(&shard) {
                for chunk in chunks {
                    let end = chunk.offset + chunk.size;
                    if end > bytes.len() as u64 {
                        return Err(format!(
                            "shard {key}: inner chunk at {}..{end} lies past the end of the shard ({} bytes)",
                            chunk.offset,
                            bytes.len()
                        ));
                    }
                    encoded.push((chunk.needed, bytes.slice(chunk.offset as usize..end as usize)));
                }
                continue;
            }
            chunks.sort_by_key(|c| c.offset);
            for chunk in chunks {
                match gets.last_mut() {
                    Some(get) if get.key == key && chunk.offset <= get.range.end + COALESCE_GAP => {
                        get.range.end = get.range.end.max(chunk.offset + chunk.size);
                        get.chunks.push(chunk);
                    }
                    _ => gets.push(Get {
                        key: key.clone(),
                        range: chunk.offset..chunk.offset + chunk.size,
                        chunks: vec![chunk],
                    }),
                }
            }
        }
        let fetched: Vec<(Bytes, Get)> = stream::iter(gets.into_iter().map(|get| async move {
            let bytes = store
                .read(&get.key, ReadRange::Bounded(get.range.clone()))
                .await
                .map_err(|e| format!("storage: {e}"))?
                .ok_or_else(|| format!("{} vanished", get.key))?;
            if bytes.len() as u64 != get.range.end - get.range.start {
                return Err(format!(
                    "{}: got {} bytes for range {:?}",
                    get.key,
                    bytes.len(),
                    get.range
                ));
            }
            Ok((bytes, get))
        }))
        .buffer_unordered(CONCURRENT_GETS)
        .try_collect()
        .await?;

        // Decode off the async threads.
        encoded.extend(fetched.into_iter().flat_map(|(bytes, get)| {
            let base = get.range.start;
            get.chunks.into_iter().map(move |c| {
                (
                    c.needed,
                    bytes.slice((c.offset - base) as usize..(c.offset - base + c.size) as usize),
                )
            })
        }));
        let codecs = self.inner_codecs.clone();
        let inner: Vec<NonZeroU64> = self
            .inner_shape
            .iter()
            .map(|&s| NonZeroU64::new(s).unwrap_or(NonZeroU64::MIN))
            .collect();
        let (data_type, fill_value) = (self.data_type.clone(), self.fill_value.clone());
        let decoded = tokio::task::spawn_blocking(move || {
            let options = CodecOptions::default();
            encoded
                .into_iter()
                .map(|(i, bytes)| {
                    let raw: ArrayBytesRaw = bytes.to_vec().into();
                    let decoded = codecs
                        .decode(raw, &inner, &data_type, &fill_value, &options)
                        .map_err(|e| format!("inner chunk: {e}"))?;
                    let fixed = decoded.into_fixed().map_err(|e| e.to_string())?;
                    Ok::<_, String>((i, fixed.into_owned()))
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .await
        .map_err(|e| e.to_string())??;
        for (i, chunk) in decoded {
            let n = &needed[i];
            if chunk.len() != self.inner_shape.iter().product::<u64>() as usize * self.element_size {
                return Err(format!("inner chunk decoded to {} bytes", chunk.len()));
            }
            copy_region(
                &chunk,
                At {
                    shape: &self.inner_shape,
                    start: &n.from,
                },
                &mut out,
                At {
                    shape: &subset_shape,
                    start: &n.to,
                },
                &n.region,
                self.element_size,
            );
        }
        Ok(out)
    }
}

fn u64s(value: &Value) -> Option<Vec<u64>> {
    value.as_array()?.iter().map(Value::as_u64).collect()
}

/// Parses a shard index: little-endian (offset, size) pairs followed by their crc32c.
fn parse_index(bytes: &[u8], expected: u64) -> Result<Vec<[u64; 2]>, String> {
    if bytes.len() as u64 != expected {
        return Err(format!("index of {} bytes, expected {expected}", bytes.len()));
    }
    let (pairs, checksum) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([checksum[0], checksum[1], checksum[2], checksum[3]]);
    if crc32c::crc32c(pairs) != stored {
        return Err("shard index checksum (crc32c) mismatch: the shard is corrupt".into());
    }
    Ok(pairs
        .chunks_exact(16)
        .map(|p| {
            let word = |b: &[u8]| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            [word(&p[..8]), word(&p[8..])]
        })
        .collect())
}
