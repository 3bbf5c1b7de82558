//! Reads of sharded arrays, planned and fetched by imzarr itself: the inner chunks a subset
//! needs are found from the shard indexes (fetched once per shard, crc32c-checked, cached), their
//! exact byte ranges are fetched (neighbours coalesced, several GETs in flight), and each chunk
//! is decoded off the async threads by the array's inner codec chain, which checks every chunk's
//! crc32c. (zarrs' partial decoders skip that check, so subsets are not read through them.)
//!
//! Arrays read a few chunks at a time (the m/z-major layout, by ion images) whose shard index
//! is at the start of the shard fetch only the index entries a first read needs: 16 bytes a
//! chunk instead of an index of up to 64 KiB. A shard read again has its whole index fetched.

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

/// Bytes of one index entry: the offset and the size of an inner chunk.
const ENTRY_BYTES: u64 = 16;

/// What is known of the index of one shard.
enum KnownIndex {
    /// The shard does not exist.
    Absent,
    /// Every entry, checked against the index's crc32c.
    Whole(Vec<[u64; 2]>),
    /// The entries a first read needed, fetched on their own. The index's crc32c covers the
    /// whole index, so it does not check them; the chunks they point at carry their own.
    Entries(BTreeMap<usize, [u64; 2]>),
}

impl KnownIndex {
    /// The entry of inner chunk `chunk`: `Err` when it is not known, `Ok(None)` when the shard
    /// does not exist.
    fn entry(&self, chunk: usize) -> Result<Option<[u64; 2]>, String> {
        match self {
            Self::Absent => Some(None),
            Self::Whole(entries) => entries.get(chunk).copied().map(Some),
            Self::Entries(entries) => entries.get(&chunk).copied().map(Some),
        }
        .ok_or_else(|| format!("no index entry for inner chunk {chunk}"))
    }

    fn knows_all(&self, chunks: &[usize]) -> bool {
        match self {
            Self::Absent | Self::Whole(_) => true,
            Self::Entries(entries) => chunks.iter().all(|c| entries.contains_key(c)),
        }
    }
}

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
    indexes: Mutex<HashMap<Vec<u64>, Arc<KnownIndex>>>,
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
    /// - First read of a shard of an entries-first array (and not `whole`): only the entries
    ///   of `chunks` and their neighbours, one GET; the whole index too when they do not check
    ///   out.
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
        let entries = match cached {
            // (A shard small enough to come whole in one GET is better read so.)
            None if self.entries_first && !whole => self.fetch_entries(store, &key, chunks, length).await?,
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
    /// with their neighbours, fetched with one GET when they are few. `None` when they are not,
    /// or when they do not check out (see [`chained_entries`]): the whole index is read then.
    async fn fetch_entries(
        &self,
        store: &ZarrsObjectStore,
        key: &str,
        chunks: &[usize],
        length: u64,
    ) -> Result<Option<KnownIndex>, String> {
        let (Some(&first), Some(&last)) = (chunks.iter().min(), chunks.iter().max()) else {
            return Ok(None);
        };
        let window = first.saturating_sub(1)..(last + 2).min(self.chunks_in_shard() as usize);
        let bytes_wanted = window.len() as u64 * ENTRY_BYTES;
        if bytes_wanted * 8 > length {
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
        let mut chunks_of_shard: BTreeMap<Vec<u64>, Vec<usize>> = BTreeMap::new();
        for n in &needed {
            chunks_of_shard
                .entry(n.shard.clone())
                .or_default()
                .push(n.chunk_in_shard);
        }
        let fetched_indexes: Vec<(Vec<u64>, Arc<KnownIndex>, Option<Bytes>)> =
            stream::iter(chunks_of_shard.into_iter().map(|(shard, chunks)| async move {
                let whole = self.read_whole(chunks.len() as u64);
                let (index, bytes) = self.shard_index(store, &shard, &chunks, whole).await?;
                Ok::<_, String>((shard, index, bytes))
            }))
            .buffer_unordered(CONCURRENT_GETS)
            .try_collect()
            .await?;
        let mut indexes: HashMap<Vec<u64>, Arc<KnownIndex>> = HashMap::new();
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
            let entry = indexes[&n.shard]
                .entry(n.chunk_in_shard)
                .map_err(|e| format!("shard {}: {e}", self.shard_key(&n.shard)))?;
            if let Some([offset, size]) = entry
                && offset != ABSENT
            {
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

/// The index entries `entries`, read on their own from `first` on, if they check out for the
/// needed `chunks`: every chunk is stored whole, in order, right after the index (of
/// `index_bytes`), so each present chunk must begin where the previous present one ends (or
/// where the index ends), and absent ones are marked in both words. A needed chunk's offset is
/// trusted only when a present chunk before it in the window ends there (or it is the first
/// chunk of the shard), and its size only when a present chunk after it begins where it ends.
/// So a flipped byte in any entry used breaks the chain and sends the read to the whole,
/// crc32c-checked index instead of to the wrong bytes.
fn chained_entries(
    first: usize,
    entries: &[[u64; 2]],
    chunks: &[usize],
    index_bytes: u64,
) -> Option<BTreeMap<usize, [u64; 2]>> {
    let mut previous_end = (first == 0).then_some(index_bytes);
    // The first and the last present chunk of the window.
    let mut present: Option<(usize, usize)> = None;
    for (i, &[offset, size]) in entries.iter().enumerate() {
        if offset == ABSENT || size == ABSENT {
            if offset != size {
                return None;
            }
            continue;
        }
        if previous_end.is_some_and(|end| offset != end) {
            return None;
        }
        previous_end = Some(offset.checked_add(size)?);
        let chunk = first + i;
        present = Some((present.map_or(chunk, |(earliest, _)| earliest), chunk));
    }
    // The chain holds, so a present chunk's offset is vouched for by any present chunk before
    // it (or by the index's end, from the first chunk of the shard on), and its size by any
    // present chunk after it.
    let vouched =
        |chunk: usize| present.is_some_and(|(earliest, latest)| (first == 0 || earliest < chunk) && chunk < latest);
    let checked = chunks
        .iter()
        .all(|&chunk| entries[chunk - first][0] == ABSENT || vouched(chunk));
    checked.then(|| (first..).zip(entries.iter().copied()).collect())
}

/// Caches what a fetch learnt of the index of `shard`. A read side by side may have cached
/// the whole index (or the shard's absence) meanwhile: entries fetched on their own do not
/// replace it.
fn remember(indexes: &mut HashMap<Vec<u64>, Arc<KnownIndex>>, shard: &[u64], known: Arc<KnownIndex>) {
    let cached = indexes.entry(shard.to_vec()).or_insert_with(|| known.clone());
    if matches!(**cached, KnownIndex::Entries(_)) {
        *cached = known;
    }
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
    Ok(parse_entries(pairs).collect())
}

/// Little-endian (offset, size) pairs.
fn parse_entries(pairs: &[u8]) -> impl Iterator<Item = [u64; 2]> + '_ {
    pairs.chunks_exact(ENTRY_BYTES as usize).map(|p| {
        let word = |b: &[u8]| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        [word(&p[..8]), word(&p[8..])]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries of chunks stored back to back after an index of 100 bytes, sizes 10, 20, ...;
    /// `absent` chunks marked absent.
    fn chain(count: usize, absent: &[usize]) -> Vec<[u64; 2]> {
        let mut offset = 100;
        (0..count)
            .map(|c| {
                if absent.contains(&c) {
                    return [ABSENT, ABSENT];
                }
                let size = 10 * (c as u64 + 1);
                offset += size;
                [offset - size, size]
            })
            .collect()
    }

    #[test]
    fn entries_fetched_side_by_side_do_not_replace_a_whole_index() {
        let entries = |chunk: usize| Arc::new(KnownIndex::Entries(BTreeMap::from([(chunk, [100, 10])])));
        let whole = Arc::new(KnownIndex::Whole(chain(4, &[])));
        let mut indexes = HashMap::new();
        remember(&mut indexes, &[0], entries(0));
        assert!(indexes[&vec![0]].knows_all(&[0]) && !indexes[&vec![0]].knows_all(&[1]));
        remember(&mut indexes, &[0], whole.clone());
        remember(&mut indexes, &[0], entries(2));
        assert!(indexes[&vec![0]].knows_all(&[0, 1, 2, 3]), "the whole index stays");
        remember(&mut indexes, &[1], Arc::new(KnownIndex::Absent));
        remember(&mut indexes, &[1], entries(0));
        assert!(matches!(*indexes[&vec![1]], KnownIndex::Absent));
    }

    #[test]
    fn entries_read_on_their_own_are_used_only_when_their_neighbours_vouch_for_them() {
        let all = chain(8, &[]);
        // A window from the first chunk: its offset is where the index ends.
        assert!(chained_entries(0, &all[0..3], &[0, 1], 100).is_some());
        // Chunks 3 and 4 with chunks 2 and 5 around them.
        assert!(chained_entries(2, &all[2..6], &[3, 4], 100).is_some());
        // Without a chunk after it, a size cannot be trusted; without one before, an offset.
        assert!(chained_entries(6, &all[6..8], &[7], 100).is_none());
        assert!(chained_entries(3, &all[3..5], &[3], 100).is_none());
        // An entry pointing at the next chunk (a valid chunk of its own), or off by one.
        for (chunk, wrong) in [
            (3, all[4]),
            (3, [all[3][0] + 1, all[3][1]]),
            (3, [all[3][0], all[3][1] - 1]),
        ] {
            let mut entries = all[2..6].to_vec();
            entries[chunk - 2] = wrong;
            assert!(chained_entries(2, &entries, &[3], 100).is_none(), "{wrong:?}");
        }
        // Absent chunks need no neighbours; present ones skip over absent ones; half-absent
        // entries are corrupt.
        let gaps = chain(8, &[3, 5]);
        assert!(chained_entries(2, &gaps[2..7], &[3, 4], 100).is_some());
        let mut half = gaps.clone();
        half[3] = [ABSENT, 0];
        assert!(chained_entries(2, &half[2..7], &[3, 4], 100).is_none());
        // The first chunk's offset must be the index's length.
        assert!(chained_entries(0, &all[0..3], &[0], 96).is_none());
    }
}
