//! imzML → imzarr → reader, for every real fixture and generated data: every spectrum is
//! bit-identical to the source, and ion images equal a direct computation over the source.

mod common;

use std::path::Path;

use futures::TryStreamExt;
use imzarr::{Aggregation, Dataset, MzWindow, Pixels, Spectrum};
use imzarr_convert::ConvertOptions;
use imzarr_format::Codec;
use imzarr_imzml::synthetic::{SyntheticSpec, write_at_positions, write_synthetic};
use imzarr_imzml::{DataType, Ibd, Mode, parse_file};

/// Source spectra as (x, y, mz, intensity) read with the imzML reader.
fn source_spectra(input: &Path) -> Vec<(i64, i64, Vec<f64>, Vec<f64>)> {
    let imzml = parse_file(input).unwrap();
    let ibd = Ibd::open(&imzml).unwrap();
    imzml
        .spectra
        .iter()
        .map(|s| {
            let (mz, intensity) = ibd.read_spectrum(s).unwrap();
            (s.x, s.y, mz.to_f64_vec(), intensity.to_f64_vec())
        })
        .collect()
}

async fn check(input: &Path, options: &ConvertOptions) {
    let name = input.file_stem().unwrap().to_string_lossy().to_string();
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("store");
    common::convert_into(input, &target, options).await;
    let dataset = Dataset::open(target.to_str().unwrap()).await.unwrap();
    let source = source_spectra(input);

    for (x, y, mz, intensity) in &source {
        let spectrum = dataset
            .spectrum(*x, *y)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: no spectrum at ({x}, {y})"));
        assert_eq!(&spectrum.mz, mz, "{name}: m/z at ({x}, {y})");
        assert_eq!(&spectrum.intensity, intensity, "{name}: intensity at ({x}, {y})");
    }
    let origin = dataset.attributes().grid.origin;
    assert!(
        dataset.spectrum(origin[0] - 1, origin[1]).await.unwrap().is_none(),
        "{name}: outside the grid"
    );

    // Windows: around the most intense point, a wide one, below and above the m/z range.
    let (mut best_mz, mut best) = (0.0, f64::MIN);
    for (_, _, mz, intensity) in &source {
        for (m, i) in mz.iter().zip(intensity) {
            if *i > best {
                (best_mz, best) = (*m, *i);
            }
        }
    }
    let [low, high] = dataset.attributes().mz_range.unwrap();
    let windows = [
        MzWindow::ppm(best_mz, 10.0),
        MzWindow::da(best_mz, 5.0),
        MzWindow::da(low - 100.0, 1.0),
        MzWindow::da(high + 100.0, 1.0),
        MzWindow { low, high },
    ];
    for aggregation in [Aggregation::Sum, Aggregation::Max] {
        let images = dataset.ion_images(&windows, aggregation).await.unwrap();
        for (window, image) in windows.iter().zip(&images) {
            let mut expected_points = 0;
            for (x, y, mz, intensity) in &source {
                let selected: Vec<f64> = mz
                    .iter()
                    .zip(intensity)
                    .filter(|(m, _)| window.contains(**m))
                    .map(|(_, i)| *i)
                    .collect();
                expected_points += selected.len() as u64;
                let expected = match aggregation {
                    Aggregation::Sum => selected.iter().sum::<f64>(),
                    Aggregation::Max => selected
                        .iter()
                        .copied()
                        .fold(f64::NEG_INFINITY, f64::max)
                        .max(if selected.is_empty() { 0.0 } else { f64::NEG_INFINITY }),
                };
                let got = image
                    .image
                    .get((x - origin[0]) as u64, (y - origin[1]) as u64, 0)
                    .unwrap();
                assert!(
                    (got - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                    "{name}: {aggregation:?} {window:?} at ({x}, {y}): {got} vs {expected}"
                );
            }
            assert_eq!(image.points, expected_points, "{name}: points in {window:?}");
        }
        let missing = images[0].image.values.iter().filter(|v| v.is_nan()).count() as u64;
        let grid = &dataset.attributes().grid;
        assert_eq!(
            missing,
            grid.width * grid.height * grid.depth - source.len() as u64,
            "{name}: missing pixels are NaN"
        );
    }
    let tic = dataset.tic().await.unwrap();
    for (x, y, _, intensity) in &source {
        let expected: f64 = intensity.iter().sum();
        let got = tic.get((x - origin[0]) as u64, (y - origin[1]) as u64, 0).unwrap();
        assert!((got - expected).abs() <= 1e-9 * expected.abs().max(1.0), "{name}: TIC");
    }
    check_regions(&name, &dataset, &source).await;
}

/// Spectra and mean spectra of a rectangle reaching outside the grid and of a pixel list with
/// a duplicate and a pixel outside, against the source.
async fn check_regions(name: &str, dataset: &Dataset, source: &[(i64, i64, Vec<f64>, Vec<f64>)]) {
    let grid = &dataset.attributes().grid;
    let [ox, oy, _] = grid.origin;
    let rectangle = Pixels::Rectangle {
        x: ox - 1..ox + grid.width.div_ceil(2) as i64,
        y: oy - 3..oy + grid.height.div_ceil(2) as i64,
    };
    let in_rectangle = |x: i64, y: i64| match &rectangle {
        Pixels::Rectangle { x: rx, y: ry } => rx.contains(&x) && ry.contains(&y),
        Pixels::List(_) => unreachable!(),
    };
    let mut list: Vec<(i64, i64)> = source.iter().step_by(3).map(|s| (s.0, s.1)).collect();
    list.push(list[0]);
    list.push((ox - 5, oy));
    for (pixels, selected) in [
        (
            &rectangle,
            source.iter().filter(|s| in_rectangle(s.0, s.1)).collect::<Vec<_>>(),
        ),
        (&Pixels::List(list.clone()), source.iter().step_by(3).collect()),
    ] {
        let spectra: Vec<Spectrum> = dataset.spectra(pixels).try_collect().await.unwrap();
        let mut got: Vec<_> = spectra
            .iter()
            .map(|s| (s.x, s.y, s.mz.clone(), s.intensity.clone()))
            .collect();
        let mut expected: Vec<_> = selected.iter().map(|s| (*s).clone()).collect();
        got.sort_by_key(|s| (s.0, s.1));
        expected.sort_by_key(|s| (s.0, s.1));
        assert_eq!(got, expected, "{name}: spectra of {pixels:?}");

        let mean = dataset.mean_spectrum(pixels).await.unwrap();
        assert_eq!(mean.spectra, selected.len() as u64, "{name}: spectra in the mean");
        let mut points: Vec<(f64, f64)> = selected
            .iter()
            .flat_map(|s| s.2.iter().copied().zip(s.3.iter().copied()))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut merged: Vec<(f64, f64)> = Vec::new();
        for (mz, intensity) in points {
            match merged.last_mut() {
                Some(last) if last.0.total_cmp(&mz).is_eq() => last.1 += intensity,
                _ => merged.push((mz, intensity)),
            }
        }
        if dataset.attributes().mode == imzarr_format::AcquisitionMode::Processed || selected.is_empty() {
            assert_eq!(
                mean.mz,
                merged.iter().map(|p| p.0).collect::<Vec<_>>(),
                "{name}: mean m/z"
            );
        } else {
            assert_eq!(mean.mz, selected[0].2, "{name}: mean m/z");
            merged = selected[0]
                .2
                .iter()
                .enumerate()
                .map(|(c, &mz)| (mz, selected.iter().map(|s| s.3[c]).sum()))
                .collect();
        }
        for ((_, sum), got) in merged.iter().zip(&mean.intensity) {
            let expected = sum / selected.len() as f64;
            assert!(
                (got - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                "{name}: mean {got} vs {expected}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_fixture_round_trips() {
    // Small chunks, so that windows span several chunks and shards.
    let options = ConvertOptions {
        mz_chunk_points: 97,
        spectrum_chunk_points: 131,
        shard_bytes: 4096,
        ..ConvertOptions::default()
    };
    for input in common::fixtures() {
        check(&input, &options).await;
    }
}

/// Small generated files of both modes in every pair of dtypes the tests cover, and one with
/// zlib-compressed arrays.
fn generated_cases() -> Vec<SyntheticSpec> {
    let mut cases = Vec::new();
    for mode in [Mode::Processed, Mode::Continuous] {
        for (mz_dtype, intensity_dtype) in [
            (DataType::F64, DataType::F32),
            (DataType::F32, DataType::I32),
            (DataType::F64, DataType::I64),
            (DataType::F32, DataType::F16),
            (DataType::F64, DataType::I16),
            (DataType::F64, DataType::I8),
        ] {
            cases.push(SyntheticSpec {
                mode,
                mz_dtype,
                intensity_dtype,
                ..if mode == Mode::Processed {
                    SyntheticSpec::small_processed()
                } else {
                    SyntheticSpec::small_continuous()
                }
            });
        }
    }
    cases.push(SyntheticSpec {
        compression: imzarr_imzml::Compression::Zlib,
        ..SyntheticSpec::small_processed()
    });
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_data_of_every_dtype_and_mode_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let options = ConvertOptions {
        mz_chunk_points: 256,
        shard_bytes: 16384,
        ..ConvertOptions::default()
    };
    for (i, spec) in generated_cases().iter().enumerate() {
        let path = dir.path().join(format!("case{i}.imzML"));
        write_synthetic(&path, spec).unwrap();
        check(&path, &options).await;
    }
}

/// Stores compressed with pcodec (format 1.4) read back as the source too: the real fixtures
/// and generated data of every dtype (8-bit integers, which pcodec does not take, fall back to
/// blosc-zstd).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcodec_stores_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let options = ConvertOptions {
        codec: Codec::Pcodec { level: 5 },
        mz_chunk_points: 97,
        spectrum_chunk_points: 131,
        shard_bytes: 4096,
        ..ConvertOptions::default()
    };
    let mut inputs = common::fixtures();
    for (i, spec) in generated_cases().iter().enumerate() {
        let path = dir.path().join(format!("case{i}.imzML"));
        write_synthetic(&path, spec).unwrap();
        inputs.push(path);
    }
    for input in inputs {
        check(&input, &options).await;
    }
}

/// Spectra far apart: the grid spans them, and whole shards of it hold no spectrum. Those
/// shards are not written; everything reads back as from the source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scattered_coordinates_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    // A 4200 x 5 grid: its spatial shards split it in three along x, and the middle one is empty.
    let positions = [(1, 1), (2, 1), (1, 3), (4200, 5), (4199, 4)];
    for mode in [Mode::Processed, Mode::Continuous] {
        let path = dir.path().join(format!("scattered_{mode:?}.imzML"));
        write_at_positions(&path, mode, &positions).unwrap();
        check(&path, &ConvertOptions::default()).await;
    }
    // A 3000 x 2000 grid holding five spectra: the reader builds its pixel index from the
    // coordinate tables instead of reading six million entries of `pixels/index`.
    let path = dir.path().join("far_apart.imzML");
    write_at_positions(
        &path,
        Mode::Processed,
        &[(1, 1), (2, 1), (1, 3), (3000, 2000), (2999, 2000)],
    )
    .unwrap();
    check(&path, &ConvertOptions::default()).await;
}

/// Spectra without a single point, some or all of them: the store holds them as empty, and
/// ion images count no points, whatever the mode the converter settles on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spectra_without_points_round_trip() {
    use imzarr_imzml::{ArrayBytes, ImzmlWriter, SpectrumArrays, WriterOptions};
    let dir = tempfile::tempdir().unwrap();
    for some_points in [false, true] {
        let path = dir.path().join(format!("empty_{some_points}.imzML"));
        let mut writer = ImzmlWriter::create(&path, WriterOptions::default()).unwrap();
        for x in 1..=3u64 {
            let n = if some_points && x == 2 { 4 } else { 0 };
            let mz: Vec<f64> = (0..n).map(|i| 100.0 + i as f64).collect();
            let intensity: Vec<f64> = (0..n).map(|i| i as f64).collect();
            writer
                .write_spectrum(
                    x,
                    1,
                    None,
                    SpectrumArrays::new(
                        &ArrayBytes::from_f64(DataType::F64, &mz),
                        &ArrayBytes::from_f64(DataType::F32, &intensity),
                    ),
                )
                .unwrap();
        }
        writer.finish().unwrap();
        let target = dir.path().join(format!("empty_{some_points}.imzarr"));
        common::convert_into(&path, &target, &ConvertOptions::default()).await;
        let dataset = Dataset::open(target.to_str().unwrap()).await.unwrap();
        for x in 1..=3i64 {
            let spectrum = dataset.spectrum(x, 1).await.unwrap().unwrap();
            let expected = if some_points && x == 2 { 4 } else { 0 };
            assert_eq!(spectrum.mz.len(), expected, "{some_points}: m/z at x = {x}");
            assert_eq!(
                spectrum.intensity.len(),
                expected,
                "{some_points}: intensity at x = {x}"
            );
        }
        let image = dataset.ion_image(MzWindow::da(101.0, 0.1)).await.unwrap();
        assert_eq!(
            image.points,
            u64::from(some_points),
            "{some_points}: points in the window"
        );
        assert_eq!(image.image.values, vec![0.0, if some_points { 1.0 } else { 0.0 }, 0.0]);
    }
}

/// A grid of 1.6 billion pixels holding four spectra: spectra read as anywhere else, while
/// whole images of the grid are refused with an error instead of exhausting memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spectra_of_a_vast_sparse_grid_read_and_its_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vast.imzML");
    let positions = [(1, 1), (40000, 1), (1, 40000), (40000, 40000)];
    write_at_positions(&path, Mode::Processed, &positions).unwrap();
    let target = dir.path().join("vast.imzarr");
    common::convert_into(&path, &target, &ConvertOptions::default()).await;
    let dataset = Dataset::open(target.to_str().unwrap()).await.unwrap();
    let source = source_spectra(&path);
    for (x, y, mz, intensity) in &source {
        let spectrum = dataset.spectrum(*x, *y).await.unwrap().unwrap();
        assert_eq!((&spectrum.mz, &spectrum.intensity), (mz, intensity), "({x}, {y})");
    }
    assert!(dataset.spectrum(2, 1).await.unwrap().is_none());
    let region = Pixels::Rectangle {
        x: 39990..40010,
        y: 39990..40010,
    };
    let spectra: Vec<Spectrum> = dataset.spectra(&region).try_collect().await.unwrap();
    assert_eq!(spectra.len(), 1);
    for error in [
        dataset.ion_image(MzWindow::da(500.0, 1.0)).await.unwrap_err(),
        dataset.tic().await.unwrap_err(),
    ] {
        assert!(error.to_string().contains("larger than an image may be"), "{error}");
    }
}

/// A pixel list whose spectra lie far apart in stored order is read in many runs, several
/// fetched at once: the stream still gives them in stored order, each equal to a single read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spectra_read_in_many_runs_come_in_stored_order() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [Mode::Processed, Mode::Continuous] {
        let dir = dir.path().join(format!("{mode:?}"));
        std::fs::create_dir_all(&dir).unwrap();
        let store = common::generated_store(&dir, mode, 40, &ConvertOptions::default()).await;
        let dataset = Dataset::open(store.to_str().unwrap()).await.unwrap();
        let [ox, oy, _] = dataset.attributes().grid.origin;
        // Every 97th pixel of the 40 x 30 grid, listed backwards: 13 runs (stored spectra
        // more than 64 apart are read in separate runs).
        let mut list: Vec<(i64, i64)> = (0..1200i64).step_by(97).map(|p| (ox + p % 40, oy + p / 40)).collect();
        list.reverse();
        let pixels = Pixels::List(list.clone());
        let numbers = dataset.stored_numbers(&pixels).await.unwrap();
        assert_eq!(numbers.len(), list.len());
        assert!(
            numbers.windows(2).filter(|w| w[1] - w[0] > 64).count() >= 8,
            "{numbers:?}"
        );
        let spectra: Vec<Spectrum> = dataset.spectra(&pixels).try_collect().await.unwrap();
        let mut order = Vec::new();
        for spectrum in &spectra {
            let number = dataset
                .spectrum_number(spectrum.x, spectrum.y, spectrum.z)
                .await
                .unwrap();
            order.push(u64::from(number.unwrap()));
            let single = dataset.spectrum(spectrum.x, spectrum.y).await.unwrap().unwrap();
            assert_eq!(&single, spectrum, "{mode:?}");
        }
        assert_eq!(order, numbers, "{mode:?}: spectra in stored order");
    }
}
