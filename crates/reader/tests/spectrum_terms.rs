//! Terms the source's spectra give besides their position (scan start times, scan window
//! limits, user parameters): converted in both modes and read back equal to what the parser
//! reads from the source, per stored spectrum and as images; the store validates in full.

mod common;

use std::path::{Path, PathBuf};

use common::convert_into;
use imzarr::{BlockingDataset, Dataset, ReadError, TermColumn, validate};
use imzarr_convert::ConvertOptions;
use imzarr_imzml::synthetic::{SyntheticSpec, sample_spectrum_terms, write_synthetic};
use imzarr_imzml::{Mode, TermValues, parse_file};

/// Writes `base` with the sample spectrum terms into `dir` and gives the imzML's path.
fn input_with_terms(dir: &Path, base: SyntheticSpec) -> PathBuf {
    let input = dir.join("input.imzML");
    let spec = SyntheticSpec {
        spectrum_terms: sample_spectrum_terms(),
        ..base
    };
    write_synthetic(&input, &spec).unwrap();
    input
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_terms_read_back_as_the_source_gives_them() {
    for mode in [Mode::Processed, Mode::Continuous] {
        let dir = tempfile::tempdir().unwrap();
        let base = SyntheticSpec {
            width: 30,
            height: 20,
            ..SyntheticSpec::small(mode)
        };
        let input = input_with_terms(dir.path(), base);
        let source = parse_file(&input).unwrap();
        assert_eq!(source.spectrum_terms.len(), sample_spectrum_terms().len(), "{mode:?}");
        let store = dir.path().join("store");
        convert_into(&input, &store, &ConvertOptions::default()).await;
        let url = store.to_str().unwrap();
        let dataset = Dataset::open(url).await.unwrap();
        let n = dataset.spectrum_count();
        let source_index = dataset.source_indexes(0..n).await.unwrap();
        let position_of: std::collections::HashMap<u64, (i64, i64)> =
            source.spectra.iter().map(|s| (s.index as u64, (s.x, s.y))).collect();

        assert_eq!(dataset.spectrum_terms().len(), source.spectrum_terms.len());
        for (info, term) in dataset.spectrum_terms().iter().zip(&source.spectrum_terms) {
            let at = format!("{mode:?} {}", info.key);
            assert_eq!(
                (info.accession.as_str(), info.name.as_str()),
                (term.accession.as_str(), term.name.as_str()),
                "{at}"
            );
            assert_eq!(info.element, term.place.element_name().unwrap(), "{at}");
            assert_eq!(
                info.unit.as_ref().map(|u| (u.accession.as_str(), u.name.as_str())),
                term.unit.as_ref().map(|u| (u.accession.as_str(), u.name.as_str())),
                "{at}"
            );
            let column = dataset.term_values(&info.key, 0..n).await.unwrap();
            match (&term.values, column) {
                (TermValues::Constant(value), TermColumn::Same(read)) => {
                    assert_eq!(&read, value, "{at}");
                    let error = dataset.term_image(&info.key).await.unwrap_err();
                    assert!(matches!(error, ReadError::Usage(_)), "{at}: {error}");
                }
                (TermValues::Numbers(numbers), TermColumn::Numbers(read)) => {
                    assert_eq!(read.len() as u64, n, "{at}");
                    let image = dataset.term_image(&info.key).await.unwrap();
                    let origin = dataset.attributes().grid.origin;
                    for (k, value) in read.iter().enumerate() {
                        let expected = numbers[source_index[k] as usize];
                        assert_eq!(value.to_bits(), expected.to_bits(), "{at}: stored spectrum {k}");
                        let (x, y) = position_of[&source_index[k]];
                        let pixel = image.get((x - origin[0]) as u64, (y - origin[1]) as u64, 0).unwrap();
                        assert_eq!(
                            pixel.to_bits(),
                            expected.to_bits(),
                            "{at}: pixel of stored spectrum {k}"
                        );
                    }
                    assert!(
                        read.iter().any(|v| v.is_nan()),
                        "{at}: the sample leaves some spectra without it"
                    );
                    // A run in the middle reads the same values.
                    let TermColumn::Numbers(run) = dataset.term_values(&info.key, 5..9).await.unwrap() else {
                        panic!("{at}: a run of a number term gave a constant");
                    };
                    assert_eq!(format!("{run:?}"), format!("{:?}", &read[5..9]), "{at}");
                }
                (expected, read) => panic!("{at}: expected {expected:?}, read {read:?}"),
            }
        }
        let error = dataset.term_values("MS_0000000", 0..n).await.unwrap_err();
        assert!(error.to_string().contains("MS_1000016"), "{error}");
        assert!(dataset.term_values("MS_1000016", 0..n + 1).await.is_err());
        let report = validate(url, true).await.unwrap();
        assert!(report.is_valid(), "{mode:?}: {report:?}");
    }
}

#[test]
fn the_blocking_facade_reads_terms_too() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_with_terms(dir.path(), SyntheticSpec::small_processed());
    let store = dir.path().join("store");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(convert_into(&input, &store, &ConvertOptions::default()));
    let dataset = BlockingDataset::open(store.to_str().unwrap()).unwrap();
    let n = dataset.inner().spectrum_count();
    let TermColumn::Numbers(numbers) = dataset.term_values("MS_1000016", 0..n).unwrap() else {
        panic!("scan start time should be a number per spectrum");
    };
    assert_eq!(numbers.len() as u64, n);
    let image = dataset.term_image("MS_1000016").unwrap();
    assert_eq!(
        image.values.iter().filter(|v| !v.is_nan()).count(),
        numbers.iter().filter(|v| !v.is_nan()).count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_reports_a_missing_term_array() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_with_terms(dir.path(), SyntheticSpec::small_processed());
    let store = dir.path().join("store");
    convert_into(&input, &store, &ConvertOptions::default()).await;
    let root_path = store.join("zarr.json");
    let mut root: serde_json::Value = serde_json::from_slice(&std::fs::read(&root_path).unwrap()).unwrap();
    let metadata = root["consolidated_metadata"]["metadata"].as_object_mut().unwrap();
    assert!(metadata.remove("pixels/terms/MS_1000016").is_some());
    std::fs::write(&root_path, serde_json::to_vec(&root).unwrap()).unwrap();
    std::fs::remove_dir_all(store.join("pixels/terms/MS_1000016")).unwrap();

    let report = validate(store.to_str().unwrap(), false).await.unwrap();
    assert!(!report.is_valid());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p == "pixels/terms/MS_1000016: required array is missing"),
        "{report:?}"
    );
}
