//! `validate` passes every store the converter writes and finds each kind of damage.

mod common;

use std::path::{Path, PathBuf};

use imzarr::validate;
use imzarr_convert::ConvertOptions;

async fn store_of(name: &str, dir: &Path) -> PathBuf {
    let target = dir.join(name);
    let options = ConvertOptions {
        mz_chunk_points: 500,
        shard_bytes: 65536,
        ..ConvertOptions::default()
    };
    common::convert_into(&common::fixture(name), &target, &options).await;
    target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converted_stores_are_valid_in_full() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "pyimzml_example_processed",
        "cardinal2_combat_40pixel",
        "imzy_simple",
        "m2aia_test",
    ] {
        let store = store_of(name, dir.path()).await;
        let report = validate(store.to_str().unwrap(), true).await.unwrap();
        assert!(report.is_valid(), "{name}: {:#?}", report.problems);
        assert!(
            report.arrays_read >= 10 && report.nodes_checked >= 15,
            "{name}: {report:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_damage_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_of("pyimzml_example_processed", dir.path()).await;
    let url = store.to_str().unwrap().to_string();

    // A corrupted shard: only a full validation reads the data.
    let shard = store.join("mz_major/intensity/c/0");
    let pristine = std::fs::read(&shard).unwrap();
    let mut corrupted = pristine.clone();
    corrupted[pristine.len() / 3] ^= 1;
    std::fs::write(&shard, &corrupted).unwrap();
    assert!(validate(&url, false).await.unwrap().is_valid());
    let report = validate(&url, true).await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("mz_major/intensity")),
        "{report:?}"
    );
    std::fs::write(&shard, &pristine).unwrap();

    // A node's metadata that disagrees with the consolidated copy.
    let node = store.join("pixels/tic/zarr.json");
    let original = std::fs::read_to_string(&node).unwrap();
    std::fs::write(&node, original.replace("\"float64\"", "\"float32\"")).unwrap();
    let report = validate(&url, false).await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("pixels/tic/zarr.json differs")),
        "{report:?}"
    );
    std::fs::write(&node, &original).unwrap();

    // Counts that contradict the arrays.
    let root_path = store.join("zarr.json");
    let root = std::fs::read_to_string(&root_path).unwrap();
    let mut document: serde_json::Value = serde_json::from_str(&root).unwrap();
    document["attributes"]["imzarr"]["counts"]["spectra"] = serde_json::json!(10);
    std::fs::write(&root_path, serde_json::to_string(&document).unwrap()).unwrap();
    let report = validate(&url, false).await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("pixels/x: shape [9]")),
        "{report:?}"
    );

    // No root: an unfinished conversion.
    std::fs::remove_file(&root_path).unwrap();
    let report = validate(&url, false).await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("zarr.json: missing")),
        "{report:?}"
    );
}
