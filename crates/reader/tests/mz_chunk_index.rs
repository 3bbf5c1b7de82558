//! The m/z chunk index is read a block at a time, as the coarse level in the root attributes
//! directs: images equal those of the same store read without the coarse level (its whole index
//! read, as stores written before the coarse level existed are), and cost one block of the index
//! instead of all of it. A coarse level out of order, or not covering the index, fails at open.

mod common;

use std::path::{Path, PathBuf};

use imzarr::{Aggregation, Dataset, MzWindow, ReadError};
use imzarr_convert::ConvertOptions;
use imzarr_imzml::synthetic::{SyntheticSpec, write_synthetic};
use serde_json::Value;

const INDEX: &str = "mz_major/chunk_mz_range";

/// A processed store whose chunk index has several blocks (chunks of 4 points), and a copy of it
/// without the coarse level.
async fn stores(dir: &Path) -> (PathBuf, PathBuf) {
    let input = dir.join("input.imzML");
    let spec = SyntheticSpec {
        width: 40,
        height: 30,
        skip_every: 0,
        points_per_spectrum: 100,
        ..SyntheticSpec::small_processed()
    };
    write_synthetic(&input, &spec).unwrap();
    let store = dir.join("store");
    let options = ConvertOptions {
        mz_chunk_points: 4,
        ..ConvertOptions::default()
    };
    common::convert_into(&input, &store, &options).await;
    let plain = dir.join("without-coarse-level");
    copy_dir(&store, &plain);
    edit_blocks(&plain, |mz_index| {
        mz_index.as_object_mut().unwrap().remove("blocks");
    });
    (store, plain)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Edits `imzarr.mz_index` of the root `zarr.json`.
fn edit_blocks(store: &Path, edit: impl FnOnce(&mut Value)) {
    let path = store.join("zarr.json");
    let mut root: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut root["attributes"]["imzarr"]["mz_index"]);
    std::fs::write(&path, serde_json::to_vec(&root).unwrap()).unwrap();
}

/// Image values as bits, so that NaN (no spectrum) equals itself.
fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_read_one_block_of_the_index_and_equal_those_of_the_whole_index() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plain) = stores(dir.path()).await;
    let blocked = Dataset::open(store.to_str().unwrap()).await.unwrap();
    let blocks = blocked.attributes().mz_index.clone().unwrap().blocks.unwrap();
    assert!(blocks.mz_range.len() >= 4, "{} blocks", blocks.mz_range.len());
    assert!(
        imzarr::validate(store.to_str().unwrap(), true)
            .await
            .unwrap()
            .problems
            .is_empty()
    );

    // Windows straddling every boundary between blocks, inside blocks, at and beyond the ends.
    let mut windows = Vec::new();
    for pair in blocks.mz_range.windows(2) {
        windows.push(MzWindow {
            low: pair[0][1],
            high: pair[1][0],
        });
        windows.push(MzWindow::ppm(pair[1][0], 5.0));
        windows.push(MzWindow::ppm((pair[0][0] + pair[0][1]) / 2.0, 50.0));
    }
    let [low, high] = blocked.attributes().mz_range.unwrap();
    windows.extend([
        MzWindow::da(low, 0.0),
        MzWindow::da(high, 0.0),
        MzWindow { low, high },
        MzWindow::da(low - 10.0, 1.0),
        MzWindow::da(high + 10.0, 1.0),
    ]);
    let whole = Dataset::open(plain.to_str().unwrap()).await.unwrap();
    for window in &windows {
        let (a, b) = (
            blocked.ion_image(*window).await.unwrap(),
            whole.ion_image(*window).await.unwrap(),
        );
        assert_eq!(a.points, b.points, "{window:?}");
        assert_eq!(bits(&a.image.values), bits(&b.image.values), "{window:?}");
    }
    // All at once, in one pass, from a store whose index nothing has read yet.
    let fresh = Dataset::open(store.to_str().unwrap()).await.unwrap();
    let together = fresh.ion_images(&windows, Aggregation::Sum).await.unwrap();
    for (window, image) in windows.iter().zip(together) {
        let alone = whole.ion_image(*window).await.unwrap();
        assert_eq!(bits(&image.image.values), bits(&alone.image.values), "{window:?}");
    }

    // The cost of the index: the one block a narrow window lies in, instead of every block.
    let object = |b: usize| store.join(format!("{INDEX}/c/{b}/0"));
    let index_bytes: u64 = (0..blocks.mz_range.len())
        .map(|b| std::fs::metadata(object(b)).unwrap().len())
        .sum();
    let block = blocks.mz_range.len() / 2;
    let window = MzWindow::ppm((blocks.mz_range[block][0] + blocks.mz_range[block][1]) / 2.0, 5.0);
    let mut costs = Vec::new();
    for path in [&store, &plain] {
        let dataset = Dataset::open(path.to_str().unwrap()).await.unwrap();
        let before = dataset.stats();
        let image = dataset.ion_image(window).await.unwrap();
        assert!(image.points > 0);
        costs.push(dataset.stats().since(&before));
    }
    let (one_block, whole_index) = (&costs[0], &costs[1]);
    assert_eq!(
        whole_index.bytes_read - one_block.bytes_read,
        index_bytes - std::fs::metadata(object(block)).unwrap().len(),
        "only block {block} of the index is read"
    );
    assert_eq!(whole_index.gets - one_block.gets, blocks.mz_range.len() as u64 - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coarse_level_that_does_not_describe_the_index_fails_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = stores(dir.path()).await;
    type Edit = fn(&mut Value);
    let edits: [(&str, Edit); 3] = [
        ("out of order", |m| {
            m["blocks"]["mz_range"].as_array_mut().unwrap().swap(0, 1);
        }),
        ("a block missing", |m| {
            m["blocks"]["mz_range"].as_array_mut().unwrap().pop();
        }),
        ("zero rows", |m| m["blocks"]["rows"] = Value::from(0)),
    ];
    for (what, edit) in edits {
        let copy = dir.path().join(what);
        copy_dir(&store, &copy);
        edit_blocks(&copy, edit);
        let error = Dataset::open(copy.to_str().unwrap()).await.unwrap_err();
        assert!(
            matches!(&error, ReadError::Metadata { message, .. } if message.contains("mz_index.blocks")),
            "{what}: {error}"
        );
    }
    // One block as large as a u64 allows, covering every row: read whole, the same images.
    let copy = dir.path().join("one huge block");
    copy_dir(&store, &copy);
    edit_blocks(&copy, |m| {
        let ranges = m["blocks"]["mz_range"].as_array().unwrap().clone();
        let whole = Value::from(vec![ranges[0][0].clone(), ranges[ranges.len() - 1][1].clone()]);
        m["blocks"] = serde_json::json!({"rows": u64::MAX, "mz_range": [whole]});
    });
    let (huge, plain) = (
        Dataset::open(copy.to_str().unwrap()).await.unwrap(),
        Dataset::open(store.to_str().unwrap()).await.unwrap(),
    );
    let [low, high] = plain.attributes().mz_range.unwrap();
    for window in [MzWindow::da((low + high) / 2.0, 1.0), MzWindow { low, high }] {
        let (a, b) = (
            huge.ion_image(window).await.unwrap(),
            plain.ion_image(window).await.unwrap(),
        );
        assert_eq!(bits(&a.image.values), bits(&b.image.values), "{window:?}");
    }

    // Rows that disagree with the blocks' ranges (in order, covering the index) are found by
    // validation.
    let copy = dir.path().join("shifted");
    copy_dir(&store, &copy);
    edit_blocks(&copy, |m| {
        let first = &mut m["blocks"]["mz_range"][0][0];
        *first = Value::from(first.as_f64().unwrap() - 1.0);
    });
    let report = imzarr::validate(copy.to_str().unwrap(), true).await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("mz_index.blocks")),
        "{:?}",
        report.problems
    );
}
