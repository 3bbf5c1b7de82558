//! Stores whose shards keep their index at the end (zarr-python's default, and what a store
//! rewritten by other tools may hold) read exactly as the same stores with the index at the
//! start, which the reference converter writes: every spectrum, region, ion image and TIC of
//! every real fixture, and a full validation.

mod common;

use std::path::Path;

use futures::TryStreamExt;
use imzarr::{Dataset, MzWindow, Pixels, validate};
use imzarr_convert::ConvertOptions;
use serde_json::Value;

/// Copies the store `from` into `to`, moving the index of every shard to its end (entries
/// re-pointed, crc32c recomputed) and saying so in every array's metadata and in the
/// consolidated copy.
fn copy_with_indexes_at_end(from: &Path, to: &Path) {
    let objects = common::objects(from);
    let mut root: Value = serde_json::from_slice(&objects["zarr.json"]).unwrap();
    let mut index_bytes = std::collections::HashMap::new();
    for (key, bytes) in &objects {
        let Some(array) = key.strip_suffix("/zarr.json") else {
            continue;
        };
        let mut document: Value = serde_json::from_slice(bytes).unwrap();
        if document["node_type"] != "array" {
            write(to, key, bytes);
            continue;
        }
        let shard_shape = document["chunk_grid"]["configuration"]["chunk_shape"].clone();
        let sharding = &mut document["codecs"][0]["configuration"];
        assert_eq!(sharding["index_location"], "start", "{key}");
        sharding["index_location"] = "end".into();
        let chunks: u64 = shard_shape
            .as_array()
            .unwrap()
            .iter()
            .zip(sharding["chunk_shape"].as_array().unwrap())
            .map(|(shard, inner)| shard.as_u64().unwrap() / inner.as_u64().unwrap())
            .product();
        index_bytes.insert(format!("{array}/c/"), chunks as usize * 16 + 4);
        root["consolidated_metadata"]["metadata"][array] = document.clone();
        write(to, key, &serde_json::to_vec_pretty(&document).unwrap());
    }
    write(to, "zarr.json", &serde_json::to_vec_pretty(&root).unwrap());
    for (key, bytes) in &objects {
        if key.ends_with("zarr.json") {
            continue;
        }
        let (_, &index_len) = index_bytes
            .iter()
            .find(|(prefix, _)| key.starts_with(prefix.as_str()))
            .unwrap_or_else(|| panic!("{key} is not a shard of an array"));
        write(to, key, &index_moved_to_end(&bytes[..], index_len));
    }
}

/// A shard with its index (`index_len` bytes with the crc32c) moved from its start to its end.
fn index_moved_to_end(shard: &[u8], index_len: usize) -> Vec<u8> {
    let (index, chunks) = shard.split_at(index_len);
    let entries = &index[..index_len - 4];
    let crc = u32::from_le_bytes(index[index_len - 4..].try_into().unwrap());
    assert_eq!(crc32c::crc32c(entries), crc, "the source shard's index is intact");
    let mut moved = chunks.to_vec();
    let mut new_entries = Vec::with_capacity(entries.len());
    for entry in entries.chunks_exact(16) {
        let offset = u64::from_le_bytes(entry[..8].try_into().unwrap());
        let offset = if offset == u64::MAX {
            offset
        } else {
            offset - index_len as u64
        };
        new_entries.extend_from_slice(&offset.to_le_bytes());
        new_entries.extend_from_slice(&entry[8..]);
    }
    moved.extend_from_slice(&new_entries);
    moved.extend_from_slice(&crc32c::crc32c(&new_entries).to_le_bytes());
    moved
}

fn write(root: &Path, key: &str, bytes: &[u8]) {
    let path = root.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The values of the array at `path` of the store `root`, as zarrs reads them.
fn zarrs_bytes(root: &Path, path: &str) -> Vec<u8> {
    let storage = std::sync::Arc::new(zarrs::filesystem::FilesystemStore::new(root).unwrap());
    let array = zarrs::array::Array::open(storage, &format!("/{path}")).unwrap();
    let subset = zarrs::array::ArraySubset::new_with_shape(array.shape().to_vec());
    let bytes: zarrs::array::ArrayBytes = array.retrieve_array_subset(&subset).unwrap();
    bytes.into_fixed().unwrap().into_owned()
}

/// Everything a reader answers about `dataset`, spelled out (NaN included) for comparison.
async fn answers(dataset: &Dataset) -> Vec<String> {
    let grid = dataset.attributes().grid.clone();
    let [x0, y0, _] = grid.origin;
    let mut answers = vec![format!("{:?}", dataset.tic().await.unwrap())];
    let all = Pixels::Rectangle {
        x: x0..x0 + grid.width as i64,
        y: y0..y0 + grid.height as i64,
    };
    let spectra: Vec<_> = dataset.spectra(&all).try_collect().await.unwrap();
    answers.extend(spectra.iter().map(|s| format!("{s:?}")));
    answers.push(format!("{:?}", dataset.mean_spectrum(&all).await.unwrap()));
    // Windows at points of the spectra, narrow and wide.
    let [low, high] = dataset.attributes().mz_range.unwrap();
    for spectrum in spectra.iter().step_by(spectra.len().div_ceil(4).max(1)) {
        for mz in spectrum.mz.iter().step_by(spectrum.mz.len().div_ceil(5).max(1)) {
            for window in [MzWindow::ppm(*mz, 5.0), MzWindow::da(*mz, (high - low) / 20.0)] {
                answers.push(format!("{:?}", dataset.ion_image(window).await.unwrap()));
            }
        }
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_with_the_index_at_the_end_read_the_same() {
    for input in common::fixtures() {
        let name = input.file_stem().unwrap().to_string_lossy().to_string();
        let dir = tempfile::tempdir().unwrap();
        let (start, end) = (dir.path().join("start"), dir.path().join("end"));
        common::convert_into(&input, &start, &ConvertOptions::default()).await;
        copy_with_indexes_at_end(&start, &end);
        assert_ne!(common::objects(&start), common::objects(&end), "{name}");

        // zarrs, an independent reader, finds the same values in both copies.
        for array in ["spectra/mz", "spectra/intensity", "pixels/index"] {
            assert_eq!(zarrs_bytes(&start, array), zarrs_bytes(&end, array), "{name}: {array}");
        }
        let report = validate(end.to_str().unwrap(), true).await.unwrap();
        assert!(report.is_valid(), "{name}: {:?}", report.problems);
        let expected = answers(&Dataset::open(start.to_str().unwrap()).await.unwrap()).await;
        let found = answers(&Dataset::open(end.to_str().unwrap()).await.unwrap()).await;
        assert!(expected.len() > 3, "{name}: too few answers compared");
        assert_eq!(expected, found, "{name}");
    }
}
