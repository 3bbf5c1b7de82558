//! The out-of-core paths (the m/z sort spilled to temporary files, the continuous cube
//! transposed block by block) write the very same store as the in-memory paths.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{fixtures, objects};
use imzarr_convert::{ConvertOptions, convert};
use imzarr_imzml::synthetic::{SyntheticSpec, write_synthetic};
use imzarr_imzml::{Compression, DataType, Mode};
use imzarr_store::StoreLocation;

async fn store_of(input: &Path, target: &Path, options: &ConvertOptions) -> BTreeMap<String, Vec<u8>> {
    let location = StoreLocation::from_url(target.to_str().unwrap(), true).unwrap();
    convert(input, location, options)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    objects(target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_memory_budget_gives_the_same_store() {
    let work = tempfile::tempdir().unwrap();
    let mut inputs = fixtures();
    // Uncompressed local continuous data is transposed from the .ibd read again in parts;
    // compressed data from the spilled rows: both are here, with several blocks when tight.
    for (i, (mode, intensity_dtype, compression)) in [
        (Mode::Processed, DataType::F32, Compression::None),
        (Mode::Continuous, DataType::I16, Compression::None),
        (Mode::Continuous, DataType::F32, Compression::Zlib),
    ]
    .into_iter()
    .enumerate()
    {
        let path = work.path().join(format!("generated{i}.imzML"));
        let base = SyntheticSpec::small(mode);
        let spec = SyntheticSpec {
            width: 40,
            height: 30,
            intensity_dtype,
            compression,
            ..base
        };
        write_synthetic(&path, &spec).unwrap();
        inputs.push(path);
    }
    let spill_dir = work.path().join("spill");
    std::fs::create_dir(&spill_dir).unwrap();
    let roomy = ConvertOptions {
        mz_chunk_points: 97,
        shard_bytes: 4096,
        ..ConvertOptions::default()
    };
    for input in inputs {
        // 96 KiB beside what the parsed input holds.
        let held = imzarr_convert::memory_held_by(&imzarr_imzml::parse_file(&input).unwrap());
        let tight = ConvertOptions {
            memory_bytes: held + (96 << 10),
            temp_dir: Some(spill_dir.clone()),
            ..roomy.clone()
        };
        let name = input.file_stem().unwrap().to_string_lossy().to_string();
        let in_memory = store_of(&input, &work.path().join(format!("{name}-a")), &roomy).await;
        let spilled = store_of(&input, &work.path().join(format!("{name}-b")), &tight).await;
        assert_eq!(
            in_memory.keys().collect::<Vec<_>>(),
            spilled.keys().collect::<Vec<_>>(),
            "{name}: objects"
        );
        for (key, bytes) in &in_memory {
            assert!(
                bytes == &spilled[key],
                "{name}: {key} differs: {} vs {} bytes",
                bytes.len(),
                spilled[key].len()
            );
        }
        assert_eq!(
            std::fs::read_dir(&spill_dir).unwrap().count(),
            0,
            "{name}: temporary files left"
        );
    }
}

/// The two sources of the continuous transpose (an uncompressed .ibd read again in parts, and
/// the rows of a compressed one spilled while they stream through) build the same arrays from
/// the same values, in one block and in several.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_cubes_from_the_ibd_and_from_spilled_rows_are_identical() {
    let work = tempfile::tempdir().unwrap();
    let mut stores = Vec::new();
    for compression in [Compression::None, Compression::Zlib] {
        let path = work.path().join(format!("{compression:?}.imzML"));
        let spec = SyntheticSpec {
            width: 37,
            height: 23,
            compression,
            ..SyntheticSpec::small_continuous()
        };
        write_synthetic(&path, &spec).unwrap();
        // 96 KiB beside what the parsed input holds: several blocks.
        let held = imzarr_convert::memory_held_by(&imzarr_imzml::parse_file(&path).unwrap());
        for memory_bytes in [64 << 20, held + (96 << 10)] {
            let options = ConvertOptions {
                memory_bytes,
                shard_bytes: 4096,
                ..ConvertOptions::default()
            };
            let target = work.path().join(format!("{compression:?}-{memory_bytes}.imzarr"));
            stores.push(store_of(&path, &target, &options).await);
        }
    }
    let arrays = [
        "mz_major/intensity/",
        "spectra/intensity/",
        "spectra/mz/",
        "pixels/tic/",
    ];
    let of = |store: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        store
            .iter()
            .filter(|(key, _)| arrays.iter().any(|a| key.starts_with(a)) && !key.ends_with("zarr.json"))
            .map(|(key, bytes)| (key.clone(), bytes.clone()))
            .collect()
    };
    let reference = of(&stores[0]);
    assert!(
        reference.keys().any(|k| k.starts_with("mz_major/intensity/c/")),
        "{:?}",
        reference.keys()
    );
    for other in &stores[1..] {
        assert!(of(other) == reference, "the arrays differ between the two sources");
    }
}
