//! Stores whose values were rewritten with valid checksums (as a faulty writer would leave
//! them): the m/z-major points and the m/z chunk index contradict each other, or a point names
//! a spectrum the store does not hold. An ion image that would read them fails with a typed
//! error naming the array, never panics and never drops points silently; `validate` reports
//! the same damage. Values changed in one layout only, which no read can notice, are reported
//! by a full validation.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use imzarr::{Dataset, MzWindow, ReadError, validate};
use imzarr_convert::ConvertOptions;
use imzarr_imzml::{ArrayBytes, DataType, ImzmlWriter, Mode, SpectrumArrays, WriterOptions};
use zarrs::array::Array;
use zarrs::array::{ArraySubset, Element, ElementOwned};
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

/// Asserts that a full validation passes now, and reports a problem holding `words` once
/// `forge` has rewritten values of `store`; the damage is in the values alone, so no checksum
/// fails.
async fn assert_forgery_reported(store: &Path, forge: impl FnOnce(&Path), words: &str) {
    let url = store.to_str().unwrap();
    let report = validate(url, true).await.unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    forge(store);
    let problems = validate(url, true).await.unwrap().problems;
    assert!(
        problems.iter().any(|p| p.contains(words)),
        "{words:?} not in {problems:?}"
    );
    assert!(problems.iter().all(|p| !p.contains("crc32c")), "{problems:?}");
}

/// Rewrites the element of the array `path` at index `at` (one coordinate per dimension)
/// with `value(old)`, checksums valid.
fn rewrite<T: ElementOwned + Element + Copy>(store: &Path, path: &str, at: &[u64], value: impl FnOnce(T) -> T) {
    let ranges: Vec<_> = at.iter().map(|&i| i..i + 1).collect();
    let subset = ArraySubset::new_with_ranges(&ranges);
    let array = array(store, path);
    let [old] = array.retrieve_array_subset::<Vec<T>>(&subset).unwrap()[..] else {
        unreachable!()
    };
    array.store_array_subset(&subset, vec![value(old)]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intensities_swapped_between_two_m_z_major_points_break_the_layouts_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    // Two points of one chunk (of 50 points: the index rows stay right), each given the
    // other's value.
    let swap = |store: &Path| {
        let intensity = array(store, "mz_major/intensity");
        let all = ArraySubset::new_with_shape(intensity.shape().to_vec());
        let mut values: Vec<f32> = intensity.retrieve_array_subset(&all).unwrap();
        let (chunk, other) = values
            .chunks(50)
            .enumerate()
            .find_map(|(c, chunk)| Some((c, chunk.iter().position(|v| v.to_bits() != chunk[0].to_bits())?)))
            .unwrap();
        values.swap(chunk * 50, chunk * 50 + other);
        intensity.store_array_subset(&all, values).unwrap();
    };
    assert_forgery_reported(&store, swap, "by m/z, some of them different)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_spectrum_major_intensity_breaks_the_layouts_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let bump = |store: &Path| {
        rewrite(store, "spectra/intensity", &[7], |v: f32| v + 1.0);
    };
    assert_forgery_reported(&store, bump, "the two layouts do not hold the same values").await;
}

/// A continuous fixture converted as it is; its 40 spectra lie on a grid of 73 x 54 pixels.
async fn continuous_store(dir: &Path) -> PathBuf {
    let target = dir.join("store");
    common::convert_into(
        &common::fixture("cardinal2_combat_40pixel"),
        &target,
        &ConvertOptions::default(),
    )
    .await;
    target
}

/// A continuous 3-D store of 3 x 2 x 2 pixels, 10 channels, with no spectrum at (3, 2, 2).
async fn three_dimensional_store(dir: &Path) -> PathBuf {
    let input = dir.join("cube.imzML");
    let options = WriterOptions {
        mode: Mode::Continuous,
        intensity_dtype: DataType::F32,
        ..WriterOptions::default()
    };
    let mut writer = ImzmlWriter::create(&input, options).unwrap();
    let mz: Vec<f64> = (0..10).map(|c| 100.0 + f64::from(c)).collect();
    let mz = ArrayBytes::from_f64(DataType::F64, &mz);
    for (k, (z, y, x)) in (1..=2)
        .flat_map(|z| (1..=2).flat_map(move |y| (1..=3).map(move |x| (z, y, x))))
        .enumerate()
    {
        if (x, y, z) != (3, 2, 2) {
            let intensity: Vec<f64> = (0..10).map(|c| (k * 10 + c) as f64 + 0.5).collect();
            let intensity = ArrayBytes::from_f64(DataType::F32, &intensity);
            writer
                .write_spectrum(x, y, Some(z), SpectrumArrays::new(&mz, &intensity))
                .unwrap();
        }
    }
    writer.finish().unwrap();
    let target = dir.join("store");
    common::convert_into(&input, &target, &ConvertOptions::default()).await;
    target
}

/// The grid position (`[z,] y, x`) of the first pixel whose stored spectrum `wanted` accepts.
fn pixel_where(store: &Path, wanted: impl Fn(u32) -> bool) -> Vec<u64> {
    let index = array(store, "pixels/index");
    let shape = index.shape().to_vec();
    let values: Vec<u32> = index
        .retrieve_array_subset(&ArraySubset::new_with_shape(shape.clone()))
        .unwrap();
    let mut at = values.iter().position(|&s| wanted(s)).unwrap() as u64;
    let mut pixel = vec![0; shape.len()];
    for (coordinate, extent) in pixel.iter_mut().zip(&shape).rev() {
        (*coordinate, at) = (at % extent, at / extent);
    }
    pixel
}

/// `lead` followed by the grid position `pixel`: an index of the cube or of a TIC image level.
fn at_pixel(lead: u64, pixel: &[u64]) -> Vec<u64> {
    std::iter::once(lead).chain(pixel.iter().copied()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_value_of_the_continuous_cube_breaks_the_layouts_agreement() {
    for three_dimensional in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let store = if three_dimensional {
            three_dimensional_store(dir.path()).await
        } else {
            continuous_store(dir.path()).await
        };
        let acquired = pixel_where(&store, |s| s != u32::MAX);
        let forge = |store: &Path| rewrite(store, "mz_major/intensity", &at_pixel(3, &acquired), |_: f32| 1.0e6);
        assert_forgery_reported(&store, forge, "the two layouts do not hold the same values").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_of_the_continuous_cube_where_no_spectrum_was_acquired_is_reported() {
    for three_dimensional in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let store = if three_dimensional {
            three_dimensional_store(dir.path()).await
        } else {
            continuous_store(dir.path()).await
        };
        let missing = pixel_where(&store, |s| s == u32::MAX);
        let forge = |store: &Path| rewrite(store, "mz_major/intensity", &at_pixel(3, &missing), |_: f32| 1.0);
        let (x, y, z) = match missing[..] {
            [z, y, x] => (x, y, z),
            [y, x] => (x, y, 0),
            _ => unreachable!(),
        };
        assert_eq!((x, y, z), if three_dimensional { (2, 1, 1) } else { (x, y, 0) });
        let words = format!("channel 3 holds a value at grid (x {x}, y {y}, z {z}), where no spectrum was acquired");
        assert_forgery_reported(&store, forge, &words).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tic_that_is_not_the_sum_of_its_spectrum_is_reported() {
    for continuous in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let store = if continuous {
            continuous_store(dir.path()).await
        } else {
            store(dir.path()).await
        };
        let forge = |store: &Path| rewrite(store, "pixels/tic", &[2], |tic: f64| tic * 1.001 + 1.0);
        assert_forgery_reported(&store, forge, "pixels/tic: spectrum 2 holds").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_point_count_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let forge = |store: &Path| rewrite(store, "pixels/point_count", &[4], |_: u64| 7);
    assert_forgery_reported(
        &store,
        forge,
        "pixels/point_count: spectrum 4 is recorded with 7 points, but holds",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tic_image_that_is_not_the_tic_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = continuous_store(dir.path()).await;
    let acquired = pixel_where(&store, |s| s != u32::MAX);
    let missing = pixel_where(&store, |s| s == u32::MAX);
    for (pixel, value) in [(&acquired, 5.0), (&missing, 0.0)] {
        let copy = dir.path().join(format!("copy-{value}"));
        common::copy_store(&store, &copy);
        let forge = |store: &Path| rewrite(store, "images/tic/0", &at_pixel(0, pixel), |_: f64| value);
        let (y, x) = (pixel[0], pixel[1]);
        let words = format!("images/tic/0: grid (x {x}, y {y}, z 0) holds {value}, not ");
        assert_forgery_reported(&copy, forge, &words).await;
    }
}
