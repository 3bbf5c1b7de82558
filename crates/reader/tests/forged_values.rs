//! Stores whose values were rewritten with valid checksums (as a faulty writer would leave
//! them): the m/z-major points and the m/z chunk index contradict each other, or a point names
//! a spectrum the store does not hold. An ion image that would read them fails with a typed
//! error naming the array, never panics and never drops points silently; `validate` reports
//! the same damage.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use imzarr::{Dataset, MzWindow, ReadError, validate};
use imzarr_convert::ConvertOptions;
use zarrs::array::Array;
use zarrs::array::ArraySubset;
use zarrs::filesystem::FilesystemStore;

/// A processed fixture converted with chunks of 50 points, so that its index has many rows.
async fn store(dir: &Path) -> PathBuf {
    let options = ConvertOptions {
        mz_chunk_points: 50,
        ..ConvertOptions::default()
    };
    let target = dir.join("store");
    common::convert_into(&common::fixture("pyimzml_example_processed"), &target, &options).await;
    target
}

fn array(store: &Path, path: &str) -> Array<FilesystemStore> {
    let storage = Arc::new(FilesystemStore::new(store).unwrap());
    Array::open(storage, &format!("/{path}")).unwrap()
}

/// The rows `rows` of the m/z chunk index.
fn index_rows(store: &Path, rows: std::ops::Range<u64>) -> Vec<[f64; 2]> {
    let values: Vec<f64> = array(store, "mz_major/chunk_mz_range")
        .retrieve_array_subset(&ArraySubset::new_with_ranges(&[rows, 0..2]))
        .unwrap();
    values.chunks_exact(2).map(|r| [r[0], r[1]]).collect()
}

/// Rewrites the rows from `first` on with `rows` (re-encoded, checksums valid).
fn rewrite_index_rows(store: &Path, first: u64, rows: &[[f64; 2]]) {
    let values: Vec<f64> = rows.iter().flatten().copied().collect();
    let subset = ArraySubset::new_with_ranges(&[first..first + rows.len() as u64, 0..2]);
    array(store, "mz_major/chunk_mz_range")
        .store_array_subset(&subset, values)
        .unwrap();
}

/// The window `[low, high]`, asked of a freshly opened dataset.
async fn image_of(store: &Path, low: f64, high: f64) -> Result<imzarr::IonImage, ReadError> {
    let dataset = Dataset::open(store.to_str().unwrap()).await.unwrap();
    dataset.ion_image(MzWindow { low, high }).await
}

/// Asserts that a full validation reports a problem holding every one of `words`.
async fn assert_validation_reports(store: &Path, words: &[&str]) {
    let problems = validate(store.to_str().unwrap(), true).await.unwrap().problems;
    assert!(
        problems.iter().any(|p| words.iter().all(|w| p.contains(w))),
        "{words:?} not in {problems:?}"
    );
}

fn assert_data_error(result: Result<imzarr::IonImage, ReadError>, array: &str, words: &str) {
    match result {
        Err(ReadError::Data {
            array: named, message, ..
        }) => {
            assert_eq!(named, array, "{message}");
            assert!(message.contains(words), "{message}");
        }
        other => panic!("expected a data error of {array}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_naming_a_spectrum_the_store_does_not_hold_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let [first] = index_rows(&store, 0..1)[..] else {
        unreachable!()
    };
    assert!(image_of(&store, first[0], first[1]).await.is_ok());
    array(&store, "mz_major/spectrum")
        .store_array_subset(&ArraySubset::new_with_ranges(&[3..4]), vec![9u32 + 5])
        .unwrap();
    assert_data_error(
        image_of(&store, first[0], first[1]).await,
        "mz_major/spectrum",
        "point 3 names spectrum 14, but the store holds 9",
    );
    assert_validation_reports(&store, &["mz_major/spectrum"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_rows_out_of_m_z_order_are_an_error_not_a_missed_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let rows = index_rows(&store, 0..4);
    assert!(rows[1][0] < rows[2][0], "{rows:?}");
    // Rows 1 and 2 swapped: a binary search over them would skip one of the two chunks.
    rewrite_index_rows(&store, 1, &[rows[2], rows[1]]);
    assert_data_error(
        image_of(&store, rows[1][0], rows[1][1]).await,
        "mz_major/chunk_mz_range",
        "are not in m/z order",
    );
    assert_validation_reports(&store, &["mz_major/chunk_mz_range", "are not in m/z order"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_whose_points_leave_its_index_row_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let [row] = index_rows(&store, 5..6)[..] else {
        unreachable!()
    };
    assert!(row[0] < row[1], "{row:?}");
    // The row narrowed to its low end: still in order, but the chunk's other points lie
    // outside it, where the search would never look for them.
    rewrite_index_rows(&store, 5, &[[row[0], row[0]]]);
    assert_data_error(
        image_of(&store, row[0], row[0]).await,
        "mz_major/mz",
        "gives its chunk 5",
    );
    assert_validation_reports(&store, &["mz_major/chunk_mz_range: row 5 is Some("]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_rows_outside_their_block_s_coarse_range_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let [row] = index_rows(&store, 0..1)[..] else {
        unreachable!()
    };
    // The first row reaches below the block's low bound (in order still).
    rewrite_index_rows(&store, 0, &[[row[0] - 1.0, row[1]]]);
    assert_data_error(
        image_of(&store, row[0], row[1]).await,
        "mz_major/chunk_mz_range",
        "reach outside the m/z range imzarr.mz_index.blocks gives their block",
    );
    assert_validation_reports(&store, &["imzarr.mz_index.blocks"]).await;
}
