//! Reads of sharded arrays, planned and fetched by imzarr itself: the inner chunks a subset
//! needs are found from the shard indexes (fetched once per shard, crc32c-checked, cached), their
//! exact byte ranges are fetched (neighbours coalesced, several GETs in flight), and each chunk
//! is decoded off the async threads by the array's inner codec chain, which checks every chunk's
//! crc32c. (zarrs' partial decoders skip that check, so subsets are not read through them.)
//!
//! Arrays read a few chunks at a time (the m/z-major layout, by ion images) whose shard index
//! is at the start of the shard fetch only the index entries each read needs: 16 bytes a
//! chunk instead of an index of up to 64 KiB. Once a shard's entries fetched so far would make
//! an eighth of its index, its whole index is fetched instead.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU64;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use imzarr_format::region::{At, copy_region};
use imzarr_store::{ReadRange, ZarrsObjectStore};
use serde_json::Value;
use zarrs::array::codec::CodecChain;
use zarrs::array::{ArrayBytesRaw, ArrayToBytesCodecTraits, CodecOptions, DataType, FillValue};
use zarrs::metadata::v3::MetadataV3;

mod known_index;
mod plan;

use known_index::{ENTRY_BYTES, KnownIndex, chained_entries, parse_entries, parse_index, remember};
use plan::{EncodedChunks, Get, Needed};

/// What is known of the index of each shard, by shard.
type ShardIndexes = HashMap<Vec<u64>, Arc<KnownIndex>>;
/// Shards fetched whole with their index, by shard.
type WholeShards = HashMap<Vec<u64>, Bytes>;

/// GETs in flight at once for one read.
const CONCURRENT_GETS: usize = 8;
/// Ranges of one shard closer than this are fetched with one GET.
const COALESCE_GAP: u64 = 16 << 10;
/// A shard of at most this many raw bytes is fetched whole with its index.
const WHOLE_SHARD_ALWAYS: u64 = 256 << 10;
/// A shard of at most this many raw bytes is fetched whole when a read needs half of it.
const WHOLE_SHARD_MOSTLY: u64 = 16 << 20;

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
    /// Whether shard indexes are at the start of their shards (else at the end).
    index_at_start: bool,
    /// Whether a first read of a shard fetches only the index entries it needs.
    entries_first: bool,
    /// What is known of the index of every shard read so far.
    indexes: Mutex<ShardIndexes>,
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
        let index_at_start = match sharding["index_location"].as_str() {
            Some("start") => true,
            Some("end") => false,
            other => return Err(format!("shard index location {other:?} is neither start nor end")),
        };
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
            index_at_start,
            entries_first: false,
            indexes: Mutex::new(HashMap::new()),
        })
    }

    /// Makes first reads of a shard fetch only the index entries they need (when the index is
    /// at the start of the shard): for arrays that queries read a few chunks at a time.
    pub(crate) fn with_entries_first(mut self) -> Self {
        self.entries_first = self.index_at_start;
        self
    }

    fn shard_key(&self, shard: &[u64]) -> String {
        let indices: Vec<String> = shard.iter().map(u64::to_string).collect();
        format!("{}/c/{}", self.path, indices.join("/"))
    }

    /// What is known of the index of `shard`, including the entries of `chunks`: from the
    /// cache when it has them, else fetched and cached.
    ///
    /// - Read of a shard of an entries-first array (and not `whole`) whose whole index is not
    ///   cached: only the entries of `chunks` and their neighbours, one GET, while the entries
    ///   known of the shard stay under an eighth of its index; the whole index when they do
    ///   not check out, or when that many are known.
    /// - Otherwise the whole index, one GET. With `whole`, the GET asks for as many bytes as
    ///   any encoding of the shard can take, so that a shard of that size arrives whole in the
    ///   same round trip: its bytes are returned beside the index (`None` when the object is
    ///   larger, which the format does not forbid; its chunks are then fetched by range).
    async fn shard_index(
        &self,
        store: &ZarrsObjectStore,
        shard: &[u64],
        chunks: &[usize],
        whole: bool,
    ) -> Result<(Arc<KnownIndex>, Option<Bytes>), String> {
        let cached = self.indexes.lock().map_err(|e| e.to_string())?.get(shard).cloned();
        if let Some(known) = &cached
            && known.knows_all(chunks)
        {
            return Ok((known.clone(), None));
        }
        let key = self.shard_key(shard);
        let length = self.chunks_in_shard().saturating_mul(ENTRY_BYTES).saturating_add(4);
        let known_entries = match cached.as_deref() {
            None => Some(0),
            Some(KnownIndex::Entries(entries)) => Some(entries.len()),
            Some(_) => None,
        };
        let entries = match known_entries {
            // (A shard small enough to come whole in one GET is better read so.)
            Some(known) if self.entries_first && !whole => {
                self.fetch_entries(store, &key, chunks, known, length).await?
            }
            _ => None,
        };
        let (known, bytes) = match entries {
            Some(known) => (known, None),
            None => self.fetch_index(store, &key, length, whole).await?,
        };
        let known = Arc::new(known);
        remember(
            &mut *self.indexes.lock().map_err(|e| e.to_string())?,
            shard,
            known.clone(),
        );
        Ok((known, bytes))
    }

    /// The whole index (of `length` bytes) of shard `key`, checked against its crc32c, and the
    /// whole shard when `whole` and it is small enough.
    async fn fetch_index(
        &self,
        store: &ZarrsObjectStore,
        key: &str,
        length: u64,
        whole: bool,
    ) -> Result<(KnownIndex, Option<Bytes>), String> {
        let request = if whole {
            length + self.largest_encoding()
        } else {
            length
        };
        let range = if self.index_at_start {
            ReadRange::Bounded(0..request)
        } else {
            ReadRange::Suffix(request)
        };
        let Some(bytes) = self.fetch(store, key, range).await? else {
            return Ok((self.absent(key)?, None));
        };
        if (bytes.len() as u64) < length {
            return Err(format!(
                "shard {key}: {} bytes, too short for its index of {length} bytes",
                bytes.len()
            ));
        }
        let index = if self.index_at_start {
            &bytes[..length as usize]
        } else {
            &bytes[bytes.len() - length as usize..]
        };
        let entries = parse_index(index, length).map_err(|e| format!("shard {key}: {e}"))?;
        let whole_object = whole && (bytes.len() as u64) < request;
        Ok((KnownIndex::Whole(entries), whole_object.then_some(bytes)))
    }

    /// The entries of `chunks` in the index (of `length` bytes, at the start) of shard `key`,
    /// with their neighbours, fetched with one GET when they and the `known` entries fetched
    /// before are few. `None` when they are not, or when they do not check out (see
    /// [`chained_entries`]): the whole index is read then.
    async fn fetch_entries(
        &self,
        store: &ZarrsObjectStore,
        key: &str,
        chunks: &[usize],
        known: usize,
        length: u64,
    ) -> Result<Option<KnownIndex>, String> {
        let (Some(&first), Some(&last)) = (chunks.iter().min(), chunks.iter().max()) else {
            return Ok(None);
        };
        let window = first.saturating_sub(1)..(last + 2).min(self.chunks_in_shard() as usize);
        let bytes_wanted = window.len() as u64 * ENTRY_BYTES;
        if (bytes_wanted + known as u64 * ENTRY_BYTES) * 8 > length {
            return Ok(None);
        }
        let range = window.start as u64 * ENTRY_BYTES..window.end as u64 * ENTRY_BYTES;
        Ok(match self.fetch(store, key, ReadRange::Bounded(range)).await? {
            None => Some(self.absent(key)?),
            Some(bytes) if bytes.len() as u64 != bytes_wanted => None,
            Some(bytes) => {
                let entries: Vec<[u64; 2]> = parse_entries(&bytes).collect();
                chained_entries(window.start, &entries, chunks, length).map(KnownIndex::Entries)
            }
        })
    }

    async fn fetch(&self, store: &ZarrsObjectStore, key: &str, range: ReadRange) -> Result<Option<Bytes>, String> {
        store.read(key, range).await.map_err(|e| format!("storage: {e}"))
    }

    /// A shard that does not exist: the fill value where that is allowed, else an error.
    fn absent(&self, key: &str) -> Result<KnownIndex, String> {
        if self.absent_shards_allowed {
            Ok(KnownIndex::Absent)
        } else {
            Err(format!(
                "shard {key} is missing (every shard of this array is written: the store is damaged or partly copied)"
            ))
        }
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
        let (indexes, whole_shards) = self.indexes_of(store, &needed).await?;
        let (gets, mut encoded) = self.plan_gets(&needed, &indexes, &whole_shards)?;
        encoded.extend(self.fetch_gets(store, gets).await?);
        for (i, chunk) in self.decode(encoded).await? {
            let n = &needed[i];
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

    /// Fetches and caches the indexes of the shards a later read of `ranges` (validated by
    /// the caller) will fetch by range, so that the read itself takes one round trip. Shards
    /// that read would fetch whole with their index (one round trip anyway) are left to it.
    pub(crate) async fn cache_indexes(&self, store: &ZarrsObjectStore, ranges: &[Range<u64>]) -> Result<(), String> {
        let by_range = chunks_of_shard(&self.plan(ranges))
            .into_iter()
            .filter(|(_, chunks)| !self.read_whole(chunks.len() as u64));
        stream::iter(
            by_range
                .map(|(shard, chunks)| async move { self.shard_index(store, &shard, &chunks, false).await.map(drop) }),
        )
        .buffer_unordered(CONCURRENT_GETS)
        .try_collect()
        .await
    }

    /// The index of every shard the `needed` chunks lie in (cached after the first read of a
    /// shard), and the bytes of the shards small enough to come whole with their index.
    async fn indexes_of(
        &self,
        store: &ZarrsObjectStore,
        needed: &[Needed],
    ) -> Result<(ShardIndexes, WholeShards), String> {
        let fetched: Vec<(Vec<u64>, Arc<KnownIndex>, Option<Bytes>)> =
            stream::iter(chunks_of_shard(needed).into_iter().map(|(shard, chunks)| async move {
                let whole = self.read_whole(chunks.len() as u64);
                let (index, bytes) = self.shard_index(store, &shard, &chunks, whole).await?;
                Ok::<_, String>((shard, index, bytes))
            }))
            .buffer_unordered(CONCURRENT_GETS)
            .try_collect()
            .await?;
        let mut indexes = HashMap::new();
        let mut whole_shards = HashMap::new();
        for (shard, index, whole) in fetched {
            if let Some(bytes) = whole {
                whole_shards.insert(shard.clone(), bytes);
            }
            indexes.insert(shard, index);
        }
        Ok((indexes, whole_shards))
    }

    /// Fetches `gets` (several in flight): the encoded bytes of each chunk they cover, by its
    /// place in the read's plan.
    async fn fetch_gets(&self, store: &ZarrsObjectStore, gets: Vec<Get>) -> Result<EncodedChunks, String> {
        let fetched: Vec<(Bytes, Get)> = stream::iter(gets.into_iter().map(|get| async move {
            let bytes = self
                .fetch(store, &get.key, ReadRange::Bounded(get.range.clone()))
                .await?
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
        Ok(fetched
            .into_iter()
            .flat_map(|(bytes, get)| {
                let base = get.range.start;
                get.chunks.into_iter().map(move |c| {
                    (
                        c.needed,
                        bytes.slice((c.offset - base) as usize..(c.offset - base + c.size) as usize),
                    )
                })
            })
            .collect())
    }

    /// Decodes encoded inner chunks off the async threads (each chunk's crc32c checked by the
    /// codec chain), keeping their places in the read's plan.
    async fn decode(&self, encoded: EncodedChunks) -> Result<Vec<(usize, Vec<u8>)>, String> {
        let codecs = self.inner_codecs.clone();
        let inner: Vec<NonZeroU64> = self
            .inner_shape
            .iter()
            .map(|&s| NonZeroU64::new(s).unwrap_or(NonZeroU64::MIN))
            .collect();
        let chunk_bytes = self.inner_chunk_bytes();
        let (data_type, fill_value) = (self.data_type.clone(), self.fill_value.clone());
        tokio::task::spawn_blocking(move || {
            let options = CodecOptions::default();
            encoded
                .into_iter()
                .map(|(i, bytes)| {
                    let raw: ArrayBytesRaw = bytes.to_vec().into();
                    let decoded = codecs
                        .decode(raw, &inner, &data_type, &fill_value, &options)
                        .map_err(|e| format!("inner chunk: {e}"))?;
                    let fixed = decoded.into_fixed().map_err(|e| e.to_string())?.into_owned();
                    if fixed.len() as u64 != chunk_bytes {
                        return Err(format!("inner chunk decoded to {} bytes", fixed.len()));
                    }
                    Ok((i, fixed))
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// The `needed` chunks grouped by shard: their places in each shard.
fn chunks_of_shard(needed: &[Needed]) -> BTreeMap<Vec<u64>, Vec<usize>> {
    let mut chunks_of_shard: BTreeMap<Vec<u64>, Vec<usize>> = BTreeMap::new();
    for n in needed {
        chunks_of_shard
            .entry(n.shard.clone())
            .or_default()
            .push(n.chunk_in_shard);
    }
    chunks_of_shard
}

fn u64s(value: &Value) -> Option<Vec<u64>> {
    value.as_array()?.iter().map(Value::as_u64).collect()
}
