//! Requests per query, counted by the store adapter: what a remote user pays in round trips.
//!
//! Two stores of each mode: one of small shards (fetched whole with their index, one GET each)
//! and one of shards too large for that (a ranged GET of the index, or of the entries an ion
//! image needs, then ranged GETs of chunks).
//!
//! Budgets asserted (GETs): open 1. Spectrum: the first pays for the small index arrays (pixel
//! index, source index, point offsets or m/z axis: one GET each, side by side) and the shard
//! indexes of its value arrays; after that, one GET per value array (processed: m/z and
//! intensity, continuous: the intensity row; 2 per array in a shard not seen yet). Ion image:
//! continuous, shard index + chunk of the one m/z-major array; processed, the pixel index once
//! and the block of the m/z chunk index that holds the window (one GET, the first time a window
//! falls in that block), then shard index + chunk of each of the three m/z-major columns (m/z,
//! intensity, spectrum) per shard touched.

mod common;

use imzarr::{Dataset, MzWindow};
use imzarr_convert::ConvertOptions;
use imzarr_imzml::Mode;
use imzarr_imzml::synthetic::SyntheticSpec;

async fn store_of(mode: Mode, large_shards: bool, dir: &std::path::Path) -> String {
    let points = if large_shards {
        2000
    } else {
        SyntheticSpec::small(mode).points_per_spectrum
    };
    let options = ConvertOptions {
        shard_bytes: if large_shards { 2 << 20 } else { 64 << 10 },
        mz_chunk_points: 512,
        ..ConvertOptions::default()
    };
    let store = common::generated_store(dir, mode, points, &options).await;
    store.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_budgets_hold() {
    for (mode, large_shards) in [
        (Mode::Processed, false),
        (Mode::Processed, true),
        (Mode::Continuous, false),
        (Mode::Continuous, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let url = store_of(mode, large_shards, dir.path()).await;
        let dataset = Dataset::open(&url).await.unwrap();
        let open = dataset.stats();
        let s0 = dataset.stats();
        dataset.spectrum(3, 3).await.unwrap().unwrap();
        let first = dataset.stats().since(&s0);
        let s1 = dataset.stats();
        dataset.spectrum(4, 3).await.unwrap().unwrap();
        let second = dataset.stats().since(&s1);
        let s2 = dataset.stats();
        dataset.spectrum(30, 25).await.unwrap().unwrap();
        let far = dataset.stats().since(&s2);
        let probe = dataset.spectrum(5, 5).await.unwrap().unwrap();
        let centre = probe.mz[probe.mz.len() / 2];
        let s3 = dataset.stats();
        let image = dataset.ion_image(MzWindow::ppm(centre, 5.0)).await.unwrap();
        let ion = dataset.stats().since(&s3);
        let s4 = dataset.stats();
        dataset
            .ion_image(MzWindow::ppm(probe.mz[probe.mz.len() / 3], 5.0))
            .await
            .unwrap();
        let ion2 = dataset.stats().since(&s4);
        println!(
            "{mode:?} large shards {large_shards}: open {} spectrum first {} second {} far {} ion {} ({} points) ion2 {}",
            open.gets, first.gets, second.gets, far.gets, ion.gets, image.points, ion2.gets
        );
        assert!(image.points > 0, "{mode:?}: the window must hold points");
        let (value_arrays, index_arrays) = match mode {
            Mode::Processed => (2, 3),
            Mode::Continuous => (1, 3),
        };
        assert_eq!(open.gets, 1, "{mode:?}: open");
        assert!(
            first.gets <= index_arrays + 2 * value_arrays,
            "{mode:?}: first spectrum {}",
            first.gets
        );
        assert!(second.gets <= value_arrays, "{mode:?}: next spectrum {}", second.gets);
        assert!(
            far.gets <= 2 * value_arrays,
            "{mode:?}: spectrum in a new shard {}",
            far.gets
        );
        match mode {
            Mode::Processed => {
                assert!(ion.gets <= 2 + 2 * 3, "{mode:?}: first ion image {}", ion.gets);
                if !large_shards {
                    assert!(
                        ion.gets <= 2 + 3,
                        "{mode:?}: first ion image, small shards {}",
                        ion.gets
                    );
                }
                // Its window may lie in another block of the m/z chunk index: one GET more.
                assert!(ion2.gets <= 1 + 2 * 3, "{mode:?}: next ion image {}", ion2.gets);
            }
            Mode::Continuous => {
                assert!(
                    ion.gets <= 2 && ion2.gets <= 2,
                    "{mode:?}: ion images {} {}",
                    ion.gets,
                    ion2.gets
                );
            }
        }
    }
}

/// Ion images read only the index entries they need from each shard they touch, the first
/// image in a shard and the next ones, until the entries known of a shard would make an eighth
/// of its index: then its whole index is fetched, once, and later images read only chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ion_images_fetch_index_entries_until_an_eighth_of_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let url = store_of(Mode::Processed, true, dir.path()).await;
    let store = std::path::Path::new(&url);
    let columns = ["mz_major/mz", "mz_major/intensity", "mz_major/spectrum"];
    let index_bytes = |array: &str| common::inner_chunks_per_shard(store, array) as u64 * 16 + 4;
    let whole_indexes: u64 = columns.iter().map(|a| index_bytes(a)).sum();
    let dataset = Dataset::open(&url).await.unwrap();
    let probe = dataset.spectrum(5, 5).await.unwrap().unwrap();
    // Successive peaks of one spectrum: a few chunks apart in the m/z-major arrays, all in
    // their first shards (2.4 M points, 512 a chunk: a peak every ~2.3 chunks).
    let mut costs = Vec::new();
    for &mz in probe.mz.iter().take(150) {
        let before = dataset.stats();
        let image = dataset.ion_image(MzWindow::ppm(mz, 5.0)).await.unwrap();
        assert!(image.points > 0);
        costs.push(dataset.stats().since(&before));
    }
    let summary: Vec<(u64, u64)> = costs.iter().map(|c| (c.gets, c.bytes_read)).collect();
    println!("whole indexes {whole_indexes} bytes; images (GETs, bytes): {summary:?}");
    // The second image in the same shards fetches entries again, not the whole indexes.
    assert!(
        costs[1].bytes_read * 2 < whole_indexes,
        "the second image read {} bytes; the whole indexes are {whole_indexes}",
        costs[1].bytes_read
    );
    // Once a shard's entries add up, its whole index is fetched and cached: one GET of chunks
    // per column from then on.
    assert!(
        costs[costs.len() - 40..].iter().all(|c| c.gets == 3),
        "the last images must read chunks only: {summary:?}"
    );
}

/// A region streamed in many runs over a store that answers each GET after 200 ms: while a run
/// is read, the shard indexes of a later one are fetched, so each run after the first three
/// costs one round trip (its chunks), not two (index, then chunks). Twelve runs of one
/// spectrum, 100 stored spectra apart, in four shards of the value arrays: the pixel index
/// with the other small index arrays, then two round trips for the first three runs, then one
/// for each later group of three: 6 (measured 6.1-6.3). Without the indexes fetched ahead, 9;
/// with the small index arrays fetched after the pixel index, 7.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_runs_after_the_first_take_one_round_trip() {
    use futures::TryStreamExt;
    use imzarr::Pixels;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;
    use object_store::throttle::{ThrottleConfig, ThrottledStore};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    const LATENCY: Duration = Duration::from_millis(200);
    let dir = tempfile::tempdir().unwrap();
    let url = store_of(Mode::Processed, true, dir.path()).await;
    let local = Dataset::open(&url).await.unwrap();
    let mut pixels = Vec::new();
    for k in (0..1200).step_by(100) {
        let [x, y, _] = local.stored_spectra(k..k + 1).await.unwrap().positions[0];
        pixels.push((x, y));
    }
    let region = Pixels::List(pixels);
    let expected: Vec<_> = local.spectra(&region).try_collect().await.unwrap();
    assert_eq!(expected.len(), 12);

    let config = ThrottleConfig {
        wait_get_per_call: LATENCY,
        ..ThrottleConfig::default()
    };
    // (ThrottledStore cannot wrap local files: the store is copied into memory.)
    let memory = InMemory::new();
    for (key, bytes) in common::objects(std::path::Path::new(&url)) {
        memory
            .put(&object_store::path::Path::from(key), bytes.into())
            .await
            .unwrap();
    }
    let slow = ThrottledStore::new(memory, config);
    let remote = Dataset::open_store(Arc::new(slow), "").await.unwrap();
    let started = Instant::now();
    let spectra: Vec<_> = remote.spectra(&region).try_collect().await.unwrap();
    let round_trips = started.elapsed().as_secs_f64() / LATENCY.as_secs_f64();
    println!("12 runs: {round_trips:.1} round trips, {} GETs", remote.stats().gets);
    assert_eq!(spectra, expected);
    assert!(round_trips < 7.0, "{round_trips:.1} sequential round trips");
}
