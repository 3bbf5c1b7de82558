//! Fuzzes the store reader: stores converted from two real fixtures (processed and continuous,
//! each compressed with blosc and with pcodec, held in memory) get the fuzzer's bytes applied as edits to their objects (metadata JSON,
//! shard indexes, chunk bytes), then are opened and queried (spectrum, ion image, TIC, mean
//! spectrum): every answer must be a value or an error, never a panic or an allocation beyond
//! the reader's limits. Run with
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run read_store -- -max_total_time=60 -rss_limit_mb=4096` (from
//! the repository root or `fuzz/`). A crash found goes into `crates/reader/tests/hostile_stores.rs` as a
//! regression test.
#![no_main]

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::TryStreamExt;
use imzarr::{Dataset, MzWindow, Pixels};
use imzarr_convert::{ConvertOptions, convert};
use imzarr_format::Codec;
use imzarr_store::StoreLocation;
use libfuzzer_sys::fuzz_target;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

const FIXTURES: [&str; 2] = ["pyimzml_example_processed", "cardinal1_example_continuous"];

/// Each fixture is stored with the default codec and with pcodec.
const CODECS: [Codec; 2] = [Codec::BloscLz4 { level: 5 }, Codec::Pcodec { level: 5 }];

struct Base {
    runtime: tokio::runtime::Runtime,
    /// Every object of each fixture's store, by key.
    stores: Vec<Vec<(Path, Bytes)>>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let stores = FIXTURES
            .iter()
            .flat_map(|name| CODECS.map(|codec| (name, codec)))
            .map(|(name, codec)| {
                runtime.block_on(async {
                    let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
                    let input = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join(format!("../fixtures/imzml/{name}.imzML"));
                    let location = StoreLocation {
                        store: memory.clone(),
                        prefix: Path::from("s"),
                        display: name.to_string(),
                        local_root: None,
                    };
                    let options = ConvertOptions {
                        codec,
                        ..ConvertOptions::default()
                    };
                    convert(input.as_path(), location, &options).await.unwrap();
                    let listed: Vec<_> = memory.list(None).try_collect().await.unwrap();
                    let mut objects = Vec::new();
                    for meta in listed {
                        let bytes = memory.get(&meta.location).await.unwrap().bytes().await.unwrap();
                        objects.push((meta.location, bytes));
                    }
                    objects
                })
            })
            .collect();
        Base { runtime, stores }
    })
}

/// Applies edits read from `data`: (object u16, offset u32, kind u8, length u8, bytes).
fn mutate(objects: &[(Path, Bytes)], mut data: &[u8]) -> Vec<(Path, Vec<u8>)> {
    let mut out: Vec<(Path, Vec<u8>)> = objects.iter().map(|(p, b)| (p.clone(), b.to_vec())).collect();
    while data.len() >= 8 {
        let object = u16::from_le_bytes([data[0], data[1]]) as usize % out.len();
        let offset = u32::from_le_bytes([data[2], data[3], data[4], data[5]]) as usize;
        let (kind, length) = (data[6] % 3, data[7] as usize);
        data = &data[8..];
        let bytes = &data[..length.min(data.len())];
        data = &data[bytes.len()..];
        let target = &mut out[object].1;
        let at = offset % (target.len() + 1);
        match kind {
            0 => {
                for (i, b) in bytes.iter().enumerate() {
                    if let Some(slot) = target.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            1 => {
                target.splice(at..at, bytes.iter().copied());
            }
            _ => target.truncate(at),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, edits)) = data.split_first() else {
        return;
    };
    let base = base();
    let objects = mutate(&base.stores[which as usize % base.stores.len()], edits);
    base.runtime.block_on(async {
        let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        for (path, bytes) in objects {
            memory.put(&path, bytes.into()).await.unwrap();
        }
        let Ok(dataset) = Dataset::open_store(memory, "s").await else {
            return;
        };
        let _ = dataset.spectrum(1, 1).await;
        let _ = dataset.spectrum(3, 2).await;
        let _ = dataset.tic().await;
        let _ = dataset.ion_image(MzWindow::ppm(400.0, 200.0)).await;
        let _ = dataset.ion_image(MzWindow::da(500.0, 1e9)).await;
        let _ = dataset
            .mean_spectrum(&Pixels::Rectangle { x: 0..4, y: 0..4 })
            .await;
    });
});
