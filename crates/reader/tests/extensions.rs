//! What the specification's versioning promises readers (section 3): a store of a newer minor
//! version, with attributes and nodes this reader does not know (in codecs it cannot read),
//! reads exactly as the same store without them, and says it is newer; a store of another
//! major version is refused with an error that names the version.

mod common;

use std::path::Path;

use futures::TryStreamExt;
use imzarr::{Dataset, MzWindow, Pixels, ReadError};
use imzarr_convert::ConvertOptions;
use serde_json::{Value, json};

/// A copy of `store` in `to`, its root metadata edited by `edit`.
fn edited_copy(store: &Path, to: &Path, edit: impl FnOnce(&mut Value)) {
    common::copy_store(store, to);
    let root_path = to.join("zarr.json");
    let mut root: Value = serde_json::from_slice(&std::fs::read(&root_path).unwrap()).unwrap();
    edit(&mut root);
    std::fs::write(root_path, serde_json::to_vec(&root).unwrap()).unwrap();
}

/// What a reader answers about `dataset`, spelled out (NaN included) for comparison.
async fn answers(dataset: &Dataset) -> Vec<String> {
    let grid = dataset.attributes().grid.clone();
    let [x0, y0, _] = grid.origin;
    let all = Pixels::Rectangle {
        x: x0..x0 + grid.width as i64,
        y: y0..y0 + grid.height as i64,
    };
    let spectra: Vec<_> = dataset.spectra(&all).try_collect().await.unwrap();
    let mut answers: Vec<String> = spectra.iter().map(|s| format!("{s:?}")).collect();
    answers.push(format!("{:?}", dataset.tic().await.unwrap()));
    for mz in spectra[0].mz.iter().step_by(spectra[0].mz.len().div_ceil(6).max(1)) {
        answers.push(format!(
            "{:?}",
            dataset.ion_image(MzWindow::ppm(*mz, 10.0)).await.unwrap()
        ));
    }
    answers
}

/// The minor version after the one this reader implements.
fn next_minor_version() -> String {
    let (major, minor) = imzarr_format::FORMAT_VERSION.split_once('.').unwrap();
    format!("{major}.{}", minor.parse::<u32>().unwrap() + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_minor_version_with_unknown_parts_reads_as_the_store_without_them() {
    for fixture in ["pyimzml_example_processed", "cardinal1_cut_masspix"] {
        let dir = tempfile::tempdir().unwrap();
        let (store, newer) = (dir.path().join("store"), dir.path().join("newer"));
        common::convert_into(&common::fixture(fixture), &store, &ConvertOptions::default()).await;
        edited_copy(&store, &newer, |root| {
            let block = &mut root["attributes"]["imzarr"];
            block["version"] = next_minor_version().into();
            block["ion_mobility"] = json!({"unit": "1/K0", "arrays": ["mobility/values"]});
            block["grid"]["rotation_degrees"] = 90.into();
            // A node of the newer version, compressed with a codec this reader lacks.
            root["consolidated_metadata"]["metadata"]["mobility/values"] = json!({
                "zarr_format": 3, "node_type": "array", "shape": [10], "data_type": "float32",
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [10]}},
                "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                "fill_value": 0.0, "codecs": [{"name": "zfp", "configuration": {"mode": "reversible"}}],
                "attributes": {}, "dimension_names": ["point"]
            });
        });
        let expected = Dataset::open(store.to_str().unwrap()).await.unwrap();
        let found = Dataset::open(newer.to_str().unwrap()).await.unwrap();
        assert!(!expected.is_newer_than_reader());
        assert!(found.is_newer_than_reader(), "{fixture}");
        assert_eq!(answers(&found).await, answers(&expected).await, "{fixture}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_major_version_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, other) = (dir.path().join("store"), dir.path().join("other"));
    common::convert_into(
        &common::fixture("pyimzml_example_processed"),
        &store,
        &ConvertOptions::default(),
    )
    .await;
    for version in ["2.0", "0.9", "one"] {
        edited_copy(&store, &other, |root| {
            root["attributes"]["imzarr"]["version"] = version.into()
        });
        match Dataset::open(other.to_str().unwrap()).await {
            Err(error @ ReadError::IncompatibleVersion { .. }) => {
                assert!(
                    error
                        .to_string()
                        .contains(&format!("version {version} is not readable")),
                    "{error}"
                );
            }
            other => panic!(
                "version {version}: expected IncompatibleVersion, got {:?}",
                other.map(|_| ())
            ),
        }
    }
}
