//! GETs whose response body breaks off midway (a dropped connection), which object_store does
//! not always retry: the adapter asks again, a few times, and then reports the failure. A
//! request that fails before an answer is reported at once (object_store's clients retry those
//! themselves), and an object that is not there is not asked for again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream};
use imzarr_store::{ReadRange, StoreLocation, ZarrsObjectStore};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// An in-memory store whose next `refusals` GETs are refused (a failure object_store's HTTP
/// clients retry themselves), and whose next `cuts` GETs then send half of their body and fail.
#[derive(Debug)]
struct CutOffBodies {
    inner: InMemory,
    refusals: AtomicUsize,
    cuts: AtomicUsize,
    /// GET requests received.
    calls: Arc<AtomicUsize>,
}

/// What object_store's HTTP client reports for a request or body that fails in transit.
fn transport_failure(message: &str) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(object_store::client::HttpError::new(
        object_store::client::HttpErrorKind::Interrupted,
        std::io::Error::other(message.to_string()),
    ))
}

/// Takes one from `counter` unless it is 0; whether it did.
fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl std::fmt::Display for CutOffBodies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CutOffBodies")
    }
}

#[async_trait]
impl ObjectStore for CutOffBodies {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let result = self.inner.get_opts(location, options).await?;
        if take(&self.refusals) {
            return Err(object_store::Error::Generic {
                store: "CutOffBodies",
                source: Box::new(object_store::client::HttpError::new(
                    object_store::client::HttpErrorKind::Connect,
                    std::io::Error::other("connection refused"),
                )),
            });
        }
        if !take(&self.cuts) {
            return Ok(result);
        }
        let (meta, range, attributes) = (result.meta.clone(), result.range.clone(), result.attributes.clone());
        let body = result.bytes().await?;
        let half = body.slice(..body.len() / 2);
        let cut = object_store::Error::Generic {
            store: "CutOffBodies",
            source: transport_failure("connection reset while reading the body"),
        };
        Ok(GetResult {
            payload: GetResultPayload::Stream(Box::pin(stream::iter([Ok(half), Err(cut)]))),
            meta,
            range,
            attributes,
            extensions: Default::default(),
        })
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

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// The adapter over a [`CutOffBodies`] store holding `run/a`, and its count of GET requests.
async fn store_failing(refusals: usize, cuts: usize) -> (ZarrsObjectStore, Arc<AtomicUsize>) {
    let inner = InMemory::new();
    inner
        .put(&Path::from("run/a"), Bytes::from_static(b"0123456789").into())
        .await
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let store = CutOffBodies {
        inner,
        refusals: AtomicUsize::new(refusals),
        cuts: AtomicUsize::new(cuts),
        calls: calls.clone(),
    };
    let adapter = ZarrsObjectStore::new(StoreLocation {
        store: Arc::new(store),
        prefix: Path::from("run"),
        display: "memory://run".into(),
        local_root: None,
    });
    (adapter, calls)
}

#[tokio::test(start_paused = true)]
async fn a_body_cut_off_midway_is_asked_for_again() {
    let (store, calls) = store_failing(0, 2).await;
    let whole = store.read("a", ReadRange::All).await.unwrap();
    assert_eq!(whole.as_deref(), Some(&b"0123456789"[..]));
    let part = store.read("a", ReadRange::Bounded(2..6)).await.unwrap();
    assert_eq!(part.as_deref(), Some(&b"2345"[..]));
    assert_eq!(store.counters().snapshot().gets, 4, "two cut off, then two whole");
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn bodies_that_always_break_off_fail_after_a_few_attempts() {
    let (store, calls) = store_failing(0, usize::MAX).await;
    let error = store.read("a", ReadRange::All).await.unwrap_err();
    assert!(error.to_string().contains("connection reset"), "{error}");
    assert_eq!(store.counters().snapshot().gets, 5);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test(start_paused = true)]
async fn requests_that_fail_are_left_to_object_store_and_missing_objects_are_not_asked_again() {
    // A refused connection is object_store's to retry (its HTTP clients do, as often as their
    // retry configuration says); asking again here would multiply that.
    let (store, calls) = store_failing(1, 1).await;
    let error = store.read("a", ReadRange::All).await.unwrap_err();
    assert!(error.to_string().contains("connection refused"), "{error}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(store.counters().snapshot().gets, 0, "nothing came back");
    // Then one cut off and asked again, one whole.
    let whole = store.read("a", ReadRange::All).await.unwrap();
    assert_eq!(whole.as_deref(), Some(&b"0123456789"[..]));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(store.counters().snapshot().gets, 2);
    assert_eq!(store.read("missing", ReadRange::All).await.unwrap(), None);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(store.counters().snapshot().gets, 3);
}
