//! Reads through the adapter over a store that answers GETs after 100 ms, so that reads
//! started together are in flight together: identical ones are one GET, and a write of the
//! object makes the reads that start after it send their own.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use imzarr_store::{ReadRange, StoreLocation, ZarrsObjectStore};
use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::throttle::{ThrottleConfig, ThrottledStore};
use zarrs::storage::{AsyncWritableStorageTraits, StoreKey};

async fn slow_store_holding(value: &'static [u8]) -> ZarrsObjectStore {
    let memory = InMemory::new();
    memory
        .put(&Path::from("run/a"), Bytes::from_static(value).into())
        .await
        .unwrap();
    let config = ThrottleConfig {
        wait_get_per_call: Duration::from_millis(100),
        ..ThrottleConfig::default()
    };
    ZarrsObjectStore::new(StoreLocation {
        store: Arc::new(ThrottledStore::new(memory, config)),
        prefix: Path::from("run"),
        display: "memory://run".into(),
        local_root: None,
    })
}

#[tokio::test]
async fn identical_reads_in_flight_together_are_one_get() {
    let store = slow_store_holding(b"0123456789").await;
    let read = |range| store.read("a", range);
    let (a, b, c, other) = tokio::join!(
        read(ReadRange::Bounded(2..6)),
        read(ReadRange::Bounded(2..6)),
        read(ReadRange::Bounded(2..6)),
        read(ReadRange::Bounded(0..2)),
    );
    for bytes in [a, b, c] {
        assert_eq!(bytes.unwrap().unwrap(), &b"2345"[..]);
    }
    assert_eq!(other.unwrap().unwrap(), &b"01"[..]);
    assert_eq!(store.counters().snapshot().gets, 2, "one GET per distinct range");

    // Answered reads are not kept: the same read later is a GET of its own.
    store.read("a", ReadRange::Bounded(2..6)).await.unwrap();
    assert_eq!(store.counters().snapshot().gets, 3);
}

#[tokio::test]
async fn a_read_started_after_a_write_is_not_answered_by_one_sent_before_it() {
    let store = slow_store_holding(b"old").await;
    let before = store.read("a", ReadRange::All);
    let after = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        store
            .set(&StoreKey::new("a").unwrap(), Bytes::from_static(b"new"))
            .await
            .unwrap();
        store.read("a", ReadRange::All).await
    };
    let (_, after) = tokio::join!(before, after);
    assert_eq!(after.unwrap().unwrap(), &b"new"[..]);
    assert_eq!(
        store.counters().snapshot().gets,
        2,
        "the read after the write sent its own GET"
    );
}
