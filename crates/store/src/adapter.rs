//! A zarrs storage adapter over object_store that maps byte ranges straight to ranged GETs.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    AsyncMaybeBytesIterator, AsyncReadableStorageTraits, AsyncWritableStorageTraits, Bytes, MaybeBytes,
    OffsetBytesIterator, StorageError, StoreKey, StorePrefix,
};

use crate::counters::RequestCounters;
use crate::location::StoreLocation;
use crate::retry::{is_transient, retried_by_object_store, retry_idempotent, retry_if};
use crate::single_flight::SingleFlight;

/// Most ranged GETs of one key in flight at once.
const RANGE_CONCURRENCY: usize = 8;

/// zarrs storage over an object store and a prefix, without a HEAD before ranged reads, with
/// every request counted. Identical reads in flight at the same time (by this adapter and its
/// clones) are sent once; a read that starts after a write or delete of its object (through
/// this adapter) has returned is sent anew, never answered by a GET sent before it.
#[derive(Debug, Clone)]
pub struct ZarrsObjectStore {
    location: StoreLocation,
    counters: RequestCounters,
    reads: Arc<SingleFlight<(String, ReadRange), ReadResult>>,
}

/// What a read answers: the bytes, `None` for a missing object, or the error's message (shared
/// by every caller waiting on the read, so it must be cloneable).
type ReadResult = Result<Option<Bytes>, String>;

impl ZarrsObjectStore {
    /// Wraps a location.
    pub fn new(location: StoreLocation) -> Self {
        Self {
            location,
            counters: RequestCounters::default(),
            reads: Arc::default(),
        }
    }

    /// The request counters of this adapter (shared by its clones).
    pub fn counters(&self) -> &RequestCounters {
        &self.counters
    }

    /// The location.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.location.store
    }

    /// Reads `range` of the object at `key` (relative to the store's prefix) with one GET;
    /// `None` when the object does not exist.
    pub async fn read(&self, key: &str, range: ReadRange) -> Result<Option<Bytes>, StorageError> {
        if let ReadRange::Bounded(bounds) = &range
            && bounds.is_empty()
        {
            return Ok(Some(Bytes::new()));
        }
        let send = || {
            let (store, counters) = (self.store().clone(), self.counters.clone());
            let path = self.location.path_of(key);
            let range = range.clone();
            async move {
                get(store.as_ref(), &counters, &path, range)
                    .await
                    .map_err(|e| e.to_string())
            }
        };
        self.reads
            .run((key.to_string(), range.clone()), send)
            .await
            .map_err(StorageError::Other)
    }

    /// Makes reads of `key` that start from now on send their own GET (see
    /// [`SingleFlight::forget`]): called once a write or delete of `key` has returned.
    fn forget_reads_of(&self, key: &str) {
        self.reads.forget(|(k, _)| k == key);
    }

    async fn get_range(&self, key: &StoreKey, range: ByteRange) -> Result<MaybeBytes, StorageError> {
        let range = match range {
            ByteRange::FromStart(0, None) => ReadRange::All,
            ByteRange::FromStart(offset, None) => ReadRange::From(offset),
            ByteRange::FromStart(offset, Some(length)) => ReadRange::Bounded(offset..offset + length),
            ByteRange::Suffix(length) => ReadRange::Suffix(length),
        };
        self.read(key.as_str(), range).await
    }
}

/// The part of an object to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReadRange {
    /// The whole object.
    All,
    /// Bytes `start..end`.
    Bounded(std::ops::Range<u64>),
    /// From an offset to the end.
    From(u64),
    /// The last n bytes.
    Suffix(u64),
}

/// One GET of `range` of the object at `path`, counted; `None` when the object does not exist.
///
/// object_store retries a GET itself after a 5xx answer and after a connection refused, a
/// timeout or a request dropped before its answer ([`retried_by_object_store`]): asking again
/// here would multiply its attempts. It does not retry a body that breaks off midway when the
/// answer carries no ETag, nor an error answer's body that breaks off: those transport failures
/// ([`is_transient`]) are asked for again here. A server's answer with an error status is never
/// retried.
async fn get(
    store: &dyn ObjectStore,
    counters: &RequestCounters,
    path: &object_store::path::Path,
    range: ReadRange,
) -> Result<Option<Bytes>, object_store::Error> {
    let range = match range {
        ReadRange::All => None,
        ReadRange::Bounded(range) => Some(GetRange::Bounded(range)),
        ReadRange::From(offset) => Some(GetRange::Offset(offset)),
        ReadRange::Suffix(length) => Some(GetRange::Suffix(length)),
    };
    let attempt = || async {
        let options = GetOptions {
            range: range.clone(),
            ..GetOptions::default()
        };
        match store.get_opts(path, options).await {
            Ok(result) => {
                let bytes = result.bytes().await;
                counters.get(bytes.as_ref().map_or(0, |b| b.len() as u64));
                bytes.map(Some).map_err(GetFailure::Body)
            }
            Err(object_store::Error::NotFound { .. }) => {
                counters.get(0);
                Ok(None)
            }
            Err(error) => Err(GetFailure::Request(error)),
        }
    };
    let worth_asking_again = |failure: &GetFailure| match failure {
        GetFailure::Request(error) => is_transient(error) && !retried_by_object_store(error, true),
        GetFailure::Body(error) => is_transient(error),
    };
    retry_if(attempt, worth_asking_again)
        .await
        .map_err(|failure| match failure {
            GetFailure::Request(error) | GetFailure::Body(error) => error,
        })
}

/// Bytes `range` of the object at `path`, by one ranged GET asked again after the transport
/// failures object_store does not retry itself (as [`ZarrsObjectStore`] reads are): for
/// inputs read from object storage outside a store.
pub async fn read_object_range(
    store: &dyn ObjectStore,
    path: &object_store::path::Path,
    range: std::ops::Range<u64>,
) -> Result<Bytes, object_store::Error> {
    let counters = RequestCounters::default();
    get(store, &counters, path, ReadRange::Bounded(range))
        .await?
        .ok_or_else(|| object_store::Error::NotFound {
            path: path.to_string(),
            source: "the object is gone".into(),
        })
}

/// Where a GET failed: object_store retries most failures of the first, not always the second.
enum GetFailure {
    /// Sending the request or receiving the answer's head.
    Request(object_store::Error),
    /// Receiving the answer's body.
    Body(object_store::Error),
}

fn other(error: object_store::Error) -> StorageError {
    StorageError::Other(error.to_string())
}

#[async_trait::async_trait]
impl AsyncReadableStorageTraits for ZarrsObjectStore {
    async fn get(&self, key: &StoreKey) -> Result<MaybeBytes, StorageError> {
        self.get_range(key, ByteRange::FromStart(0, None)).await
    }

    async fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<AsyncMaybeBytesIterator<'a>, StorageError> {
        let ranges: Vec<ByteRange> = byte_ranges.collect();
        let results: Vec<MaybeBytes> = stream::iter(ranges.into_iter().map(|range| self.get_range(key, range)))
            .buffered(RANGE_CONCURRENCY)
            .try_collect()
            .await?;
        if results.iter().any(Option::is_none) {
            return Ok(None);
        }
        let bytes = results.into_iter().map(|b| Ok(b.unwrap_or_default()));
        Ok(Some(stream::iter(bytes).boxed()))
    }

    async fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.counters.head();
        match self.store().head(&self.location.path_of(key.as_str())).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(other(error)),
        }
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

#[async_trait::async_trait]
impl AsyncWritableStorageTraits for ZarrsObjectStore {
    async fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        self.counters.put(value.len() as u64);
        let written = self
            .store()
            .put(&self.location.path_of(key.as_str()), PutPayload::from_bytes(value))
            .await;
        self.forget_reads_of(key.as_str());
        written.map_err(other)?;
        Ok(())
    }

    async fn set_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        offset_values: OffsetBytesIterator<'a>,
    ) -> Result<(), StorageError> {
        zarrs::storage::async_store_set_partial_many(self, key, offset_values).await
    }

    async fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.counters.delete();
        let path = self.location.path_of(key.as_str());
        let deleted = retry_idempotent(|| self.store().delete(&path)).await;
        self.forget_reads_of(key.as_str());
        match deleted {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(other(error)),
        }
    }

    async fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        let path = self.location.path_of(prefix.as_str());
        let deleted = retry_idempotent(|| {
            let locations = self.store().list(Some(&path)).map_ok(|meta| meta.location).boxed();
            self.store().delete_stream(locations).try_collect::<Vec<_>>()
        })
        .await;
        self.reads.forget(|(key, _)| key.starts_with(prefix.as_str()));
        deleted.map_err(other)?;
        Ok(())
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}
