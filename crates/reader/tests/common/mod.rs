//! Helpers shared by the reader's test suites: the real fixtures, and stores converted from
//! them (or from generated data) into a local directory.
#![allow(dead_code)] // each suite uses its own part

use std::path::{Path, PathBuf};

use imzarr_convert::{ConvertOptions, convert};
use imzarr_imzml::Mode;
use imzarr_imzml::synthetic::{SyntheticSpec, write_synthetic};
use imzarr_store::StoreLocation;

#[path = "../../../convert/tests/common/mod.rs"]
mod shared;

#[allow(unused_imports)] // each suite uses its own part, as above
pub use shared::{entries, fixtures, objects};

/// The real fixture `name` (`fixtures/imzml/<name>.imzML`).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/imzml")
        .join(format!("{name}.imzML"))
}

/// Converts `input` into a store in the local directory `target`; panics naming the input.
pub async fn convert_into(input: &Path, target: &Path, options: &ConvertOptions) {
    let location = StoreLocation::from_url(target.to_str().unwrap(), true).unwrap();
    convert(input, location, options)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", input.display()));
}

/// A store at `dir/store`, converted with `options` from generated data written to
/// `dir/input.imzML`: 40 x 30 pixels, each with a spectrum (about `points` points, or
/// channels).
pub async fn generated_store(dir: &Path, mode: Mode, points: usize, options: &ConvertOptions) -> PathBuf {
    let base = SyntheticSpec::small(mode);
    let spec = SyntheticSpec {
        width: 40,
        height: 30,
        mode,
        skip_every: 0,
        points_per_spectrum: points,
        ..base
    };
    let input = dir.join("input.imzML");
    write_synthetic(&input, &spec).unwrap();
    let store = dir.join("store");
    convert_into(&input, &store, options).await;
    store
}

/// Inner chunks in one shard of `array`.
pub fn inner_chunks_per_shard(store: &Path, array: &str) -> usize {
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join(array).join("zarr.json")).unwrap()).unwrap();
    let shard = metadata["chunk_grid"]["configuration"]["chunk_shape"][0]
        .as_u64()
        .unwrap();
    let inner = metadata["codecs"][0]["configuration"]["chunk_shape"][0]
        .as_u64()
        .unwrap();
    (shard / inner) as usize
}

/// Copies the local store (any directory) `from` into `to`, file by file.
pub fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_store(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
