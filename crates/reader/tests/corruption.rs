//! A flipped byte anywhere in a stored shard is an error naming the array, never a wrong value:
//! inner chunks and shard indexes are both protected by crc32c.

use std::path::PathBuf;

use imzarr::{Dataset, ReadError};
use imzarr_convert::{ConvertOptions, convert};
use imzarr_store::StoreLocation;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flipped_byte_of_a_shard_is_detected() {
    let input = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/imzml/pyimzml_example_processed.imzML");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let options = ConvertOptions {
        spectrum_chunk_points: 4096,
        ..ConvertOptions::default()
    };
    convert(
        &input,
        StoreLocation::from_url(store.to_str().unwrap(), true).unwrap(),
        &options,
    )
    .await
    .unwrap();

    let original = Dataset::open(store.to_str().unwrap()).await.unwrap();
    let mut expected = Vec::new();
    for y in 1..=3 {
        for x in 1..=3 {
            expected.push(original.spectrum(x, y).await.unwrap().unwrap());
        }
    }

    let shard = store.join("spectra/intensity/c/0");
    let pristine = std::fs::read(&shard).unwrap();
    let positions: Vec<usize> = (0..pristine.len())
        .step_by(pristine.len() / 53)
        .chain([pristine.len() - 1])
        .collect();
    for &position in &positions {
        let mut corrupted = pristine.clone();
        corrupted[position] ^= 0x5A;
        std::fs::write(&shard, &corrupted).unwrap();
        let dataset = Dataset::open(store.to_str().unwrap()).await.unwrap();
        let mut detected = false;
        for (i, want) in expected.iter().enumerate() {
            match dataset.spectrum(want.x, want.y).await {
                Ok(Some(got)) => assert_eq!(&got, want, "byte {position}: spectrum {i} silently changed"),
                Ok(None) => panic!("byte {position}: spectrum {i} vanished"),
                Err(error) => {
                    assert!(
                        matches!(error, ReadError::Data { ref array, .. } if array == "spectra/intensity"),
                        "byte {position}: {error}"
                    );
                    detected = true;
                }
            }
        }
        assert!(
            detected,
            "flipping byte {position} of {} went unnoticed",
            shard.display()
        );
    }
    std::fs::write(&shard, &pristine).unwrap();
}
