//! The m/z chunk index is read a block at a time, as the coarse level in the root attributes
//! directs: images equal those of the same store read without the coarse level (its whole index
//! read, as stores written before the coarse level existed are), and cost one block of the index
//! instead of all of it. A coarse level out of order, or not covering the index, fails at open.

mod common;

use std::path::{Path, PathBuf};

use imzarr::{Aggregation, Dataset, MzWindow, ReadError};
use imzarr_convert::ConvertOptions;
use imzarr_imzml::Mode;
use serde_json::Value;

const INDEX: &str = "mz_major/chunk_mz_range";

/// A processed store whose chunk index has several blocks (chunks of 4 points), and a copy of it
/// without the coarse level.
async fn stores(dir: &Path) -> (PathBuf, PathBuf) {
    let options = ConvertOptions {
        mz_chunk_points: 4,
        ..ConvertOptions::default()
    };
    let store = common::generated_store(dir, Mode::Processed, 100, &options).await;
    let plain = dir.join("without-coarse-level");
    common::copy_store(&store, &plain);
    edit_blocks(&plain, |mz_index| {
        mz_index.as_object_mut().unwrap().remove("blocks");
    });
    (store, plain)
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
        common::copy_store(&store, &copy);
        edit_blocks(&copy, edit);
        let error = Dataset::open(copy.to_str().unwrap()).await.unwrap_err();
        assert!(
            matches!(&error, ReadError::Metadata { message, .. } if message.contains("mz_index.blocks")),
            "{what}: {error}"
        );
    }
    // One block as large as a u64 allows, covering every row: read whole, the same images.
    let copy = dir.path().join("one huge block");
    common::copy_store(&store, &copy);
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
    common::copy_store(&store, &copy);
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

/// m/z values at the edges of the finite doubles (both zeros, negative values, subnormals, the
/// largest magnitudes; the converter refuses NaN and infinities) sort into the m/z-major layout
/// in total order, one point per chunk so that they bound chunks and blocks; every window finds
/// exactly the points `MzWindow::contains` accepts, checked against a sum over the source
/// arrays (integer intensities, so sums are exact in any order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_mz_values_are_found_by_the_windows_that_hold_them() {
    use imzarr_imzml::{ArrayBytes, DataType, ImzmlWriter, Mode, SpectrumArrays, SpectrumType, WriterOptions};

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("special.imzML");
    let options = WriterOptions {
        mode: Mode::Processed,
        spectrum_type: SpectrumType::Centroid,
        ..WriterOptions::default()
    };
    let mut writer = ImzmlWriter::create(&input, options).unwrap();
    let special = [-f64::MAX, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1e-300, f64::MAX];
    let (width, height) = (6u64, 5u64);
    let mut source = Vec::new();
    for y in 1..=height {
        for x in 1..=width {
            let k = (y * width + x) as usize;
            let mut mz: Vec<f64> = (0..90).map(|i| 100.0 + ((i * 7 + k * 3) % 400) as f64 * 0.5).collect();
            mz.extend(special.iter().cycle().skip(k % special.len()).take(10));
            mz.sort_by(f64::total_cmp);
            let intensity: Vec<f64> = (0..mz.len()).map(|i| ((i + k) % 13) as f64).collect();
            writer
                .write_spectrum(
                    x,
                    y,
                    None,
                    SpectrumArrays::new(
                        &ArrayBytes::from_f64(DataType::F64, &mz),
                        &ArrayBytes::from_f64(DataType::F32, &intensity),
                    ),
                )
                .unwrap();
            source.push(((x, y), mz, intensity));
        }
    }
    writer.finish().unwrap();
    let store = dir.path().join("store");
    let options = ConvertOptions {
        mz_chunk_points: 1,
        ..ConvertOptions::default()
    };
    common::convert_into(&input, &store, &options).await;
    let dataset = Dataset::open(store.to_str().unwrap()).await.unwrap();
    let blocks = dataset.attributes().mz_index.clone().unwrap().blocks.unwrap();
    assert!(blocks.mz_range.len() >= 2, "{} blocks", blocks.mz_range.len());

    let windows = [
        MzWindow::da(0.0, 0.0),
        MzWindow::da(-1.0, 0.5),
        MzWindow::da(0.0, 1.0),
        MzWindow {
            low: -f64::MAX,
            high: f64::MAX,
        },
        MzWindow::da(0.0, 1e-320),
        MzWindow {
            low: 1e-300,
            high: 150.0,
        },
        MzWindow::da(299.5, 0.0),
        MzWindow::da(-5.0, 1.0),
    ];
    for window in windows {
        let image = dataset.ion_image(window).await.unwrap();
        for ((x, y), mz, intensity) in &source {
            let expected: f64 = mz
                .iter()
                .zip(intensity)
                .filter(|(m, _)| window.contains(**m))
                .map(|(_, i)| i)
                .sum();
            let got = image.image.get(x - 1, y - 1, 0).unwrap();
            assert_eq!(got, expected, "{window:?} at ({x}, {y})");
        }
    }
}
