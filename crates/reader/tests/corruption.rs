//! A flipped byte anywhere in a stored shard is an error naming the array, never a wrong value:
//! inner chunks and shard indexes are both protected by crc32c. A shard missing from a value
//! array (a partly copied store) is an error too, not the fill value.

mod common;

use std::path::Path;

use imzarr::{Dataset, MzWindow, ReadError};
use imzarr_convert::ConvertOptions;
use imzarr_imzml::Mode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flipped_byte_of_a_shard_is_detected() {
    let input = common::fixture("pyimzml_example_processed");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let options = ConvertOptions {
        spectrum_chunk_points: 4096,
        ..ConvertOptions::default()
    };
    common::convert_into(&input, &store, &options).await;

    let pristine = std::fs::read(store.join("spectra/intensity/c/0")).unwrap();
    let positions: Vec<usize> = (0..pristine.len())
        .step_by(pristine.len() / 53)
        .chain([pristine.len() - 1])
        .collect();
    let pixels: Vec<(i64, i64)> = (1..=3).flat_map(|y| (1..=3).map(move |x| (x, y))).collect();
    check_flips(&store, &pixels, &positions).await;
}

/// The same with shards too large to be fetched whole: the shard index comes by a ranged GET and
/// the chunk by another. Flips in the chunk the reads need and in the index are detected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_are_detected_in_ranged_reads_of_large_shards() {
    let dir = tempfile::tempdir().unwrap();
    let options = ConvertOptions {
        spectrum_chunk_points: 4096,
        ..ConvertOptions::default()
    };
    let store = store_of_large_shards(dir.path(), options).await;
    let pristine = std::fs::read(store.join("spectra/intensity/c/0")).unwrap();
    // The shard index: 16 bytes per inner chunk and a crc32c, at the start.
    let chunks = common::inner_chunks_per_shard(&store, "spectra/intensity");
    assert!(chunks > 1, "several inner chunks per shard");
    let index_end = chunks * 16 + 4;
    let word = |at: usize| u64::from_le_bytes(pristine[at..at + 8].try_into().unwrap()) as usize;
    let (offset, size) = (word(0), word(8));
    assert!(size > 0 && offset == index_end, "chunk 0 at {offset}+{size}");
    let positions: Vec<usize> = (offset..offset + size)
        .step_by((size / 29).max(1))
        .chain((0..index_end).step_by(97))
        .chain([offset + size - 1, index_end - 1])
        .collect();
    // Stored spectra 0 and 1 (tile-major order): the first two pixels of the first row.
    check_flips(&store, &[(1, 1), (2, 1)], &positions).await;
}

/// An ion image reads only the index entries it needs (and their neighbours), which the
/// index's crc32c cannot check: a flip in any of them, or in the chunks they point at, is
/// still an error, never a wrong image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_in_index_entries_read_on_their_own_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let options = ConvertOptions {
        mz_chunk_points: 512,
        ..ConvertOptions::default()
    };
    let store = store_of_large_shards(dir.path(), options).await;
    let url = store.to_str().unwrap();
    let array = "mz_major/intensity";
    let chunks = common::inner_chunks_per_shard(&store, array);
    let index_end = chunks * 16 + 4;

    // A narrow window low in the m/z range: a few chunks early in the first shard.
    // (An image at the top of the range first, so that the pixel index is loaded, and the
    // shards of the low window are read for the first time; the low window's block of the m/z
    // chunk index, the first, is read whole with it.)
    let dataset = Dataset::open(url).await.unwrap();
    let probe = dataset.spectrum(1, 1).await.unwrap().unwrap();
    dataset
        .ion_image(MzWindow::ppm(probe.mz[probe.mz.len() - 3], 5.0))
        .await
        .unwrap();
    let window = MzWindow::ppm(probe.mz[0], 5.0);
    let before = dataset.stats();
    let expected = dataset.ion_image(window).await.unwrap();
    let cost = dataset.stats().since(&before);
    assert!(expected.points > 0);
    let index_block = std::fs::metadata(store.join("mz_major/chunk_mz_range/c/0/0"))
        .unwrap()
        .len();
    assert!(
        cost.bytes_read - index_block < 2 * index_end as u64,
        "the image read {} bytes besides the m/z chunk index: whole indexes ({index_end} bytes each), not entries",
        cost.bytes_read - index_block
    );

    // The chunks whose entries the image read: those holding the window's points.
    let shard = store.join(format!("{array}/c/0"));
    let pristine = std::fs::read(&shard).unwrap();
    let entry = |c: usize| {
        let word = |at: usize| u64::from_le_bytes(pristine[at..at + 8].try_into().unwrap()) as usize;
        (word(c * 16), word(c * 16 + 8))
    };
    let mut positions = Vec::new();
    let mut checked_chunks = 0;
    for c in 0..chunks {
        let (offset, size) = entry(c);
        // Chunks near the window's m/z: the first ones of the shard, since the window is low.
        if c < 16 {
            positions.extend(c * 16..c * 16 + 16);
            positions.extend((offset..offset + size).step_by((size / 7).max(1)));
            checked_chunks += 1;
        }
    }
    assert!(checked_chunks > 2);
    // Single flipped bytes, and entries pointing at the next chunk: a chunk whose own crc32c
    // holds, so only the order of the entries can tell.
    let flips = positions.iter().map(|&position| {
        let mut corrupted = pristine.clone();
        corrupted[position] ^= 0x5A;
        (format!("byte {position}"), corrupted)
    });
    let misdirected = (0..16).map(|c| {
        let mut corrupted = pristine.clone();
        corrupted.copy_within((c + 1) * 16..(c + 2) * 16, c * 16);
        (format!("entry {c} pointing at chunk {}", c + 1), corrupted)
    });
    let mut detected = (0, 0);
    for (i, (what, corrupted)) in flips.chain(misdirected).enumerate() {
        std::fs::write(&shard, &corrupted).unwrap();
        let dataset = Dataset::open(url).await.unwrap();
        match dataset.ion_image(window).await {
            Ok(got) => assert_eq!(got, expected, "{what}: the image silently changed"),
            Err(error) => {
                assert!(
                    matches!(error, ReadError::Data { array: ref a, .. } if a == array),
                    "{what}: {error}"
                );
                if i < positions.len() {
                    detected.0 += 1;
                } else {
                    detected.1 += 1;
                }
            }
        }
    }
    std::fs::write(&shard, &pristine).unwrap();
    // Corruption of the entries and chunks the image used is detected; of the others (chunks
    // of other m/z), it changes nothing the image reads.
    assert!(
        detected.0 > 0 && detected.0 < positions.len(),
        "{detected:?} of {}",
        positions.len()
    );
    assert!(detected.1 > 0, "no misdirected entry was used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_shard_of_a_value_array_is_an_error_not_zeros() {
    let input = common::fixture("pyimzml_example_processed");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    common::convert_into(&input, &store, &ConvertOptions::default()).await;
    let url = store.to_str().unwrap();
    assert!(imzarr::validate(url, true).await.unwrap().problems.is_empty());
    std::fs::remove_file(store.join("spectra/intensity/c/0")).unwrap();
    let dataset = Dataset::open(url).await.unwrap();
    let error = dataset.spectrum(1, 1).await.unwrap_err();
    assert!(
        matches!(error, ReadError::Data { ref array, ref message, .. }
            if array == "spectra/intensity" && message.contains("spectra/intensity/c/0 is missing")),
        "{error}"
    );
    let report = imzarr::validate(url, true).await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("spectra/intensity/c/0 is missing")),
        "{:?}",
        report.problems
    );
}

/// Flips each byte of `positions` of the first `spectra/intensity` shard in turn and reads the
/// spectra at `pixels`: each read gives the original spectrum or an error naming the array, and
/// at least one read fails.
async fn check_flips(store: &Path, pixels: &[(i64, i64)], positions: &[usize]) {
    let original = Dataset::open(store.to_str().unwrap()).await.unwrap();
    let mut expected = Vec::new();
    for &(x, y) in pixels {
        expected.push(original.spectrum(x, y).await.unwrap().unwrap());
    }
    let shard = store.join("spectra/intensity/c/0");
    let pristine = std::fs::read(&shard).unwrap();
    for &position in positions {
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

/// A store in `dir` of 1,200 processed spectra of about 2,000 points, converted with `options`
/// and shards of 1 MiB: too large to be fetched whole, so that indexes and chunks come by range.
async fn store_of_large_shards(dir: &Path, options: ConvertOptions) -> std::path::PathBuf {
    let options = ConvertOptions {
        shard_bytes: 1 << 20,
        ..options
    };
    common::generated_store(dir, Mode::Processed, 2000, &options).await
}
