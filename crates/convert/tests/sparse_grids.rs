//! Grids that are mostly empty, because a few spectra lie far from the rest: the converter
//! writes the shards that hold spectra only, in memory that follows the spectra, not the grid.

mod common;

use std::path::Path;

use common::objects;
use imzarr_convert::{ConvertError, ConvertOptions, convert};
use imzarr_imzml::Mode;
use imzarr_imzml::synthetic::write_at_positions;
use imzarr_store::StoreLocation;

/// The shard objects of the array at `array` (relative to `store`), as keys below `c/`.
fn shards(store: &Path, array: &str) -> Vec<String> {
    let prefix = format!("{array}/c/");
    objects(store)
        .into_keys()
        .filter_map(|key| key.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

async fn convert_positions(
    dir: &Path,
    mode: Mode,
    positions: &[(u64, u64)],
) -> (std::path::PathBuf, Result<(), ConvertError>) {
    let input = dir.join(format!("{mode:?}.imzML"));
    write_at_positions(&input, mode, positions).unwrap();
    let target = dir.join(format!("{mode:?}.imzarr"));
    let location = StoreLocation::from_url(target.to_str().unwrap(), true).unwrap();
    let result = convert(&input, location, &ConvertOptions::default()).await.map(|_| ());
    (target, result)
}

/// Spectra in the four corners of a 40000 x 40000 grid.
const CORNERS: [(u64, u64); 5] = [(1, 1), (2, 1), (40000, 1), (1, 40000), (40000, 40000)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processed_spectra_far_apart_fill_only_the_shards_they_are_in() {
    let dir = tempfile::tempdir().unwrap();
    // A 40000 x 40000 grid (1.6 billion pixels) holding five spectra: a dense pixel index
    // alone would take 6.4 GB.
    let (store, result) = convert_positions(dir.path(), Mode::Processed, &CORNERS).await;
    result.unwrap();
    // Shards of 2048 x 2048 pixels (y, x), in a 20 x 20 grid of them.
    assert_eq!(shards(&store, "pixels/index"), vec!["0/0", "0/19", "19/0", "19/19"]);
    assert_eq!(
        shards(&store, "images/tic/0"),
        vec!["0/0/0", "0/0/19", "0/19/0", "0/19/19"]
    );
    assert!(store.join("zarr.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_spectra_too_far_apart_for_the_cube_are_refused_naming_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let (store, result) = convert_positions(dir.path(), Mode::Continuous, &CORNERS).await;
    match result {
        Err(ConvertError::Unsupported { message, .. }) => {
            assert!(
                message.contains("5 spectra on a grid of 40000 x 40000 x 1 pixels"),
                "{message}"
            );
            assert!(message.contains("pixel indices"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        !store.join("zarr.json").exists(),
        "a refused conversion must not look complete"
    );
}
