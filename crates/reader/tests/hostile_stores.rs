//! Stores damaged or forged on purpose: metadata with wrong types, impossible or enormous
//! shapes, truncated or random shards and shard indexes. Every query answers or fails with a
//! typed error; none panics or allocates what the metadata claims without a check.

mod common;

use std::path::{Path, PathBuf};

use imzarr::{Dataset, MzWindow, Pixels, Spectrum};
use imzarr_convert::ConvertOptions;
use serde_json::Value;

async fn converted(dir: &Path, fixture: &str) -> PathBuf {
    let store = dir.join(fixture);
    common::convert_into(&common::fixture(fixture), &store, &ConvertOptions::default()).await;
    store
}

/// What the queries answered: the first spectrum and the TIC when they succeeded.
#[derive(Debug, PartialEq)]
struct Answers {
    failures: usize,
    spectrum: Option<Option<Spectrum>>,
    tic: Option<Vec<u64>>,
}

/// Runs every kind of query; counts those that failed (with a typed error) and keeps the
/// spectrum and TIC answers.
async fn exercise(store: &Path) -> Answers {
    let dataset = match Dataset::open(store.to_str().unwrap()).await {
        Ok(dataset) => dataset,
        Err(_) => {
            return Answers {
                failures: 1,
                spectrum: None,
                tic: None,
            };
        }
    };
    let grid = dataset.attributes().grid.clone();
    let [ox, oy, _] = grid.origin;
    let mut failures = 0;
    let spectrum = dataset.spectrum(ox, oy).await.ok();
    failures += usize::from(spectrum.is_none());
    // Bits, so that NaN (no spectrum) compares equal to itself.
    let tic = dataset
        .tic()
        .await
        .ok()
        .map(|t| t.values.iter().map(|v| v.to_bits()).collect());
    failures += usize::from(tic.is_none());
    let window = dataset
        .attributes()
        .mz_range
        .map_or(MzWindow::da(500.0, 1.0), |[low, high]| MzWindow {
            low,
            high: low + (high - low) / 10.0,
        });
    failures += usize::from(dataset.ion_image(window).await.is_err());
    let region = Pixels::Rectangle {
        x: ox..ox + 3,
        y: oy..oy + 3,
    };
    failures += usize::from(dataset.mean_spectrum(&region).await.is_err());
    Answers {
        failures,
        spectrum,
        tic,
    }
}

fn edit_root(store: &Path, edit: impl FnOnce(&mut Value)) {
    let path = store.join("zarr.json");
    let mut root: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut root);
    std::fs::write(&path, serde_json::to_vec(&root).unwrap()).unwrap();
}

fn consolidated<'a>(root: &'a mut Value, node: &str) -> &'a mut Value {
    &mut root["consolidated_metadata"]["metadata"][node]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_metadata_gives_errors_not_panics() {
    type Edit = fn(&mut Value);
    let edits: Vec<(&str, Edit)> = vec![
        ("enormous grid", |r| {
            r["attributes"]["imzarr"]["grid"]["width"] = Value::from(1u64 << 40);
            r["attributes"]["imzarr"]["grid"]["height"] = Value::from(1u64 << 40);
        }),
        ("enormous grid with a pixel index of the same shape", |r| {
            r["attributes"]["imzarr"]["grid"]["width"] = Value::from(1u64 << 31);
            r["attributes"]["imzarr"]["grid"]["height"] = Value::from(1u64 << 31);
            consolidated(r, "pixels/index")["shape"] = serde_json::json!([1u64 << 31, 1u64 << 31]);
        }),
        ("grid larger than the pixel index", |r| {
            r["attributes"]["imzarr"]["grid"]["width"] = Value::from(1000);
        }),
        ("enormous spectrum count", |r| {
            r["attributes"]["imzarr"]["counts"]["spectra"] = Value::from(u64::MAX / 2);
        }),
        ("negative shape", |r| {
            consolidated(r, "pixels/index")["shape"] = serde_json::json!([-1, 5]);
        }),
        ("enormous shape", |r| {
            consolidated(r, "spectra/intensity")["shape"] = serde_json::json!([u64::MAX, u64::MAX]);
        }),
        ("wrong data type", |r| {
            consolidated(r, "pixels/index")["data_type"] = Value::from("float16");
        }),
        ("unknown data type", |r| {
            consolidated(r, "spectra/mz")["data_type"] = Value::from("complex256");
        }),
        ("no codecs", |r| {
            consolidated(r, "mz_major/mz")["codecs"] = serde_json::json!([]);
        }),
        ("zero chunk shape", |r| {
            consolidated(r, "pixels/tic")["chunk_grid"]["configuration"]["chunk_shape"] = serde_json::json!([0]);
        }),
        ("array removed", |r| {
            r["consolidated_metadata"]["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("pixels/point_offset");
        }),
        ("attributes of the wrong type", |r| {
            r["attributes"]["imzarr"]["grid"] = Value::from("wide");
        }),
        ("NaN m/z range", |r| {
            r["attributes"]["imzarr"]["mz_range"] = serde_json::json!([1e308, -1e308]);
        }),
    ];
    let dir = tempfile::tempdir().unwrap();
    let pristine = converted(dir.path(), "pyimzml_example_processed").await;
    assert_eq!(
        exercise(&pristine).await.failures,
        0,
        "the undamaged store answers every query"
    );
    for (i, (name, edit)) in edits.into_iter().enumerate() {
        let copy = dir.path().join(format!("copy{i}"));
        common::copy_store(&pristine, &copy);
        edit_root(&copy, edit);
        let failures = exercise(&copy).await.failures;
        println!("{name}: {failures} queries failed with an error");
        assert!(failures > 0, "{name}: the forged store was accepted as it is");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_truncated_shards_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    for fixture in ["pyimzml_example_processed", "cardinal1_cut_masspix"] {
        let pristine = converted(dir.path(), fixture).await;
        let truth = exercise(&pristine).await;
        assert_eq!(truth.failures, 0);
        let mut failures = 0;
        let shards: Vec<PathBuf> = walk(&pristine)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("/c/"))
            .collect();
        assert!(shards.len() >= 8, "{fixture}: {} shards", shards.len());
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut random = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (i, shard) in shards.iter().enumerate() {
            let relative = shard.strip_prefix(&pristine).unwrap();
            let bytes = std::fs::read(shard).unwrap();
            let damaged: Vec<Vec<u8>> = vec![
                Vec::new(),
                bytes[..bytes.len() / 2].to_vec(),
                bytes[..bytes.len().saturating_sub(3)].to_vec(),
                (0..bytes.len()).map(|_| random() as u8).collect(),
                // A shard index claiming chunks far past the end of the object.
                [&bytes[..bytes.len().saturating_sub(20)], &[0xFF; 20][..]].concat(),
            ];
            for (j, content) in damaged.into_iter().enumerate() {
                let copy = dir.path().join(format!("{fixture}-{i}-{j}"));
                common::copy_store(&pristine, &copy);
                std::fs::write(copy.join(relative), content).unwrap();
                // Not every query reads every shard, so answering is fine, but only with the
                // right answer.
                let answers = exercise(&copy).await;
                failures += answers.failures;
                assert!(
                    answers.spectrum.is_none() || answers.spectrum == truth.spectrum,
                    "{fixture}: {relative:?} damage {j}: wrong spectrum"
                );
                assert!(
                    answers.tic.is_none() || answers.tic == truth.tic,
                    "{fixture}: {relative:?} damage {j}: wrong TIC"
                );
                std::fs::remove_dir_all(&copy).unwrap();
            }
        }
        assert!(
            failures >= shards.len(),
            "{fixture}: only {failures} failures over {} damaged shards",
            shards.len()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// A short fuzzing campaign run by every test run: random objects of a store (metadata, index
/// arrays, value shards) get random bytes overwritten, inserted or cut; every query must answer
/// correctly or fail with an error, never panic.
mod mutations {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Mutation {
        Overwrite { at: usize, bytes: Vec<u8> },
        Insert { at: usize, bytes: Vec<u8> },
        Cut { at: usize, len: usize },
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
                .prop_map(|(at, bytes)| Mutation::Overwrite { at, bytes }),
            (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
                .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
            (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Cut { at, len }),
        ]
    }

    fn apply(mut data: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
        let len = data.len().max(1);
        match mutation {
            Mutation::Overwrite { at, bytes } => {
                for (i, b) in bytes.iter().enumerate() {
                    if let Some(slot) = data.get_mut((at % len) + i) {
                        *slot = *b;
                    }
                }
            }
            Mutation::Insert { at, bytes } => {
                let at = (at % len).min(data.len());
                data.splice(at..at, bytes.iter().copied());
            }
            Mutation::Cut { at, len: n } => {
                let at = (at % len).min(data.len());
                let end = (at + n).min(data.len());
                data.drain(at..end);
            }
        }
        data
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn mutated_stores_answer_correctly_or_fail(which in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..4)) {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let pristine = converted(dir.path(), "pyimzml_example_processed").await;
                let truth = exercise(&pristine).await;
                let files = walk(&pristine);
                let target = &files[which % files.len()];
                let original = std::fs::read(target).unwrap();
                let mut bytes = original.clone();
                for m in &mutations {
                    bytes = apply(bytes, m);
                }
                std::fs::write(target, &bytes).unwrap();
                let answers = exercise(&pristine).await;
                let name = target.strip_prefix(&pristine).unwrap().display().to_string();
                // A full validation never panics, and reports any change to a shard.
                let report = imzarr::validate(pristine.to_str().unwrap(), true).await;
                if name.contains("/c/") && bytes != original {
                    assert!(!report.is_ok_and(|r| r.is_valid()), "{name}: damage not reported");
                }
                // Metadata still valid after a mutation may rightly change the answers (another
                // origin, another window); chunk data is protected by checksums and may not.
                if name.contains("/c/") {
                    assert!(answers.spectrum.is_none() || answers.spectrum == truth.spectrum, "{name}: wrong spectrum");
                    assert!(answers.tic.is_none() || answers.tic == truth.tic, "{name}: wrong TIC");
                }
            });
        }
    }
}

/// pcodec chunks of forged bytes under a correct crc32c (the checksum cannot tell them from
/// real ones): every query fails with an error or answers right, and none panics, not even on
/// a blocking thread, where a panic would become an error (a hook counts them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_pcodec_chunks_give_errors_not_panics() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    let dir = tempfile::tempdir().unwrap();
    let options = ConvertOptions {
        codec: imzarr_format::Codec::Pcodec { level: 5 },
        ..ConvertOptions::default()
    };
    let pristine = dir.path().join("pristine");
    common::convert_into(&common::fixture("pyimzml_example_processed"), &pristine, &options).await;
    let truth = exercise(&pristine).await;
    assert_eq!(truth.failures, 0);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {
        PANICS.fetch_add(1, Ordering::SeqCst);
    }));
    let shards: Vec<PathBuf> = walk(&pristine)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("/c/"))
        .collect();
    let mut failures = 0;
    for (i, shard) in shards.iter().enumerate() {
        let relative = shard.strip_prefix(&pristine).unwrap();
        let bytes = std::fs::read(shard).unwrap();
        for forgery in 0..4 {
            let copy = dir.path().join(format!("forged-{i}-{forgery}"));
            common::copy_store(&pristine, &copy);
            std::fs::write(copy.join(relative), forged_chunks(&bytes, forgery)).unwrap();
            let answers = exercise(&copy).await;
            failures += answers.failures;
            assert!(
                answers.spectrum.is_none() || answers.spectrum == truth.spectrum,
                "{relative:?}"
            );
            assert!(answers.tic.is_none() || answers.tic == truth.tic, "{relative:?}");
            std::fs::remove_dir_all(&copy).unwrap();
        }
    }
    std::panic::set_hook(previous);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a forged chunk made the reader panic");
    assert!(
        failures >= shards.len(),
        "only {failures} failures over {} shards",
        shards.len()
    );
}

/// The shard `bytes` (index at the start) with the body of every inner chunk forged in one of
/// four ways (zeros, ones, every byte flipped, the bytes reversed) and its crc32c made right.
fn forged_chunks(bytes: &[u8], forgery: usize) -> Vec<u8> {
    let mut shard = bytes.to_vec();
    // The index: (offset, size) of every chunk, then its crc32c; the first stored chunk
    // follows it, so the entries end 4 bytes before the lowest offset.
    let mut index_end = bytes.len();
    let mut k = 0;
    while 16 * k + 20 <= index_end {
        let entry = &bytes[16 * k..16 * k + 16];
        k += 1;
        let offset = u64::from_le_bytes(entry[..8].try_into().unwrap());
        let size = u64::from_le_bytes(entry[8..].try_into().unwrap());
        if offset == u64::MAX || size < 5 {
            continue;
        }
        let (offset, size) = (offset as usize, size as usize);
        index_end = index_end.min(offset);
        let body = &mut shard[offset..offset + size - 4];
        match forgery {
            0 => body.fill(0),
            1 => body.fill(0xFF),
            2 => body.iter_mut().for_each(|b| *b = !*b),
            _ => body.reverse(),
        }
        let checksum = crc32c::crc32c(body).to_le_bytes();
        shard[offset + size - 4..offset + size].copy_from_slice(&checksum);
    }
    shard
}
