//! Every real fixture converts, and every `zarr.json` the converter writes passes the schemas
//! of `spec/schemas/`.

mod common;

use std::path::{Path, PathBuf};

use common::{entries, fixtures};
use imzarr_convert::{ConvertOptions, convert};
use imzarr_format::schema::{NodeKind, validate_node};
use imzarr_store::StoreLocation;

/// Validates every `zarr.json` below `dir`; returns how many were checked.
fn validate_tree(root: &Path, dir: &Path) -> usize {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            checked += validate_tree(root, &path);
        } else if path.file_name().unwrap() == "zarr.json" {
            let document: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let kind = match (path.parent().unwrap() == root, document["node_type"].as_str()) {
                (true, _) => NodeKind::Root,
                (false, Some("array")) => NodeKind::Array,
                _ => NodeKind::Group,
            };
            if let Err(problems) = validate_node(kind, &document) {
                panic!("{}: {problems:#?}", path.display());
            }
            checked += 1;
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_converts_into_schema_valid_metadata() {
    let out = tempfile::tempdir().unwrap();
    for input in fixtures() {
        let name = input.file_stem().unwrap().to_string_lossy().to_string();
        let target = out.path().join(format!("{name}.imzarr"));
        let location = StoreLocation::from_url(target.to_str().unwrap(), true).unwrap();
        let report = convert(&input, location, &ConvertOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.spectra > 0);
        let checked = validate_tree(&target, &target);
        assert!(checked >= 15, "{name}: only {checked} zarr.json files");
        if name == "cardinal2_combat_40pixel" {
            checked_spectrum_terms(&target);
        }
    }
}

/// The root of a store from Cardinal's output keeps the user parameters its spectra gave, each
/// with its array and the six fraction digits Cardinal writes them with, and the schemas refuse
/// a term kept for an element that is not one of the four a store keeps terms from, a constant
/// term with fraction digits, and a listed term with a count that is not positive.
fn checked_spectrum_terms(store: &Path) {
    let mut root: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join("zarr.json")).unwrap()).unwrap();
    let block = &mut root["attributes"]["imzarr"];
    assert_eq!(
        block["spectrum_terms"][0],
        serde_json::json!({"key": "userParam_3DPositionX", "accession": "userParam", "name": "3DPositionX", "element": "scan", "decimals": 6})
    );
    assert_eq!(block["source"].get("spectrum_terms_not_kept"), None);
    let array = store.join("pixels/terms/userParam_3DPositionX/zarr.json");
    let array: serde_json::Value = serde_json::from_slice(&std::fs::read(array).unwrap()).unwrap();
    assert_eq!(
        (&array["shape"][0], &array["data_type"]),
        (&serde_json::json!(40), &serde_json::json!("float64"))
    );

    let mut wrong_element = root.clone();
    wrong_element["attributes"]["imzarr"]["spectrum_terms"][0]["element"] = "precursor".into();
    assert!(validate_node(NodeKind::Root, &wrong_element).is_err());
    let mut constant_with_digits = root.clone();
    constant_with_digits["attributes"]["imzarr"]["spectrum_terms"][0]["value"] = "1.000000".into();
    assert!(validate_node(NodeKind::Root, &constant_with_digits).is_err());
    let mut not_positive = root;
    not_positive["attributes"]["imzarr"]["source"]["spectrum_terms_not_kept"] =
        serde_json::json!([{"accession": "MS:1000796", "name": "spectrum title", "occurrences": 0}]);
    assert!(validate_node(NodeKind::Root, &not_positive).is_err());
}

/// A store with other binary arrays (format 1.1) passes the schemas too, and they reject its
/// `other_arrays` member when a key could not be a path segment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_binary_arrays_make_schema_valid_metadata() {
    use imzarr_imzml::synthetic::{SyntheticSpec, write_synthetic};
    use imzarr_imzml::{DataType, OtherArrayKind, Unit};
    let out = tempfile::tempdir().unwrap();
    let input = out.path().join("mobility.imzML");
    let spec = SyntheticSpec {
        other_arrays: vec![OtherArrayKind {
            accession: "MS:1002816".into(),
            value: String::new(),
            dtype: DataType::F32,
            unit: Some(Unit {
                accession: "UO:0000028".into(),
                name: "millisecond".into(),
            }),
        }],
        ..SyntheticSpec::small_processed()
    };
    write_synthetic(&input, &spec).unwrap();
    let target = out.path().join("mobility.imzarr");
    let location = StoreLocation::from_url(target.to_str().unwrap(), true).unwrap();
    convert(&input, location, &ConvertOptions::default()).await.unwrap();
    assert!(validate_tree(&target, &target) >= 17);
    let mut root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.join("zarr.json")).unwrap()).unwrap();
    let block = &mut root["attributes"]["imzarr"];
    assert_eq!(block["version"], imzarr_format::FORMAT_VERSION);
    assert_eq!(block["other_arrays"][0]["key"], "MS_1002816");
    assert_eq!(
        block["other_arrays"][0]["unit"],
        serde_json::json!({"accession": "UO:0000028", "name": "millisecond"})
    );
    block["other_arrays"][0]["key"] = "../pixels".into();
    assert!(validate_node(NodeKind::Root, &root).is_err());
}

/// The `zarr.json` of the array at `path` of `store`.
fn array_document(store: &Path, path: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(store.join(path).join("zarr.json")).unwrap()).unwrap()
}

/// The inner codecs of the array at `path` of `store`.
fn inner_codecs(store: &Path, path: &str) -> Vec<serde_json::Value> {
    let document = array_document(store, path);
    document["codecs"][0]["configuration"]["codecs"]
        .as_array()
        .unwrap()
        .clone()
}

/// The inner codecs of the array at `path` of `store`, by name.
fn inner_codec_names(store: &Path, path: &str) -> Vec<String> {
    inner_codecs(store, path)
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// With pcodec asked for, the data arrays of both modes use it (but for 8-bit integers, which
/// it does not take: blosc-zstd), the TIC image stays blosc for viewers, and every `zarr.json`
/// passes the schemas, which refuse a pcodec level above 12.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcodec_stores_make_schema_valid_metadata() {
    use imzarr_format::Codec;
    use imzarr_imzml::DataType;
    use imzarr_imzml::synthetic::{SyntheticSpec, write_synthetic};
    let out = tempfile::tempdir().unwrap();
    let options = ConvertOptions {
        codec: Codec::Pcodec { level: 5 },
        ..ConvertOptions::default()
    };
    let cases = [
        ("processed", SyntheticSpec::small_processed()),
        ("continuous", SyntheticSpec::small_continuous()),
        (
            "bytes",
            SyntheticSpec {
                intensity_dtype: DataType::I8,
                ..SyntheticSpec::small_processed()
            },
        ),
    ];
    for (name, spec) in cases {
        let input = out.path().join(format!("{name}.imzML"));
        write_synthetic(&input, &spec).unwrap();
        let target = out.path().join(format!("{name}.imzarr"));
        let location = StoreLocation::from_url(target.to_str().unwrap(), true).unwrap();
        convert(&input, location, &options).await.unwrap();
        assert!(validate_tree(&target, &target) >= 15, "{name}");
        let pcodec = ["numcodecs.pcodec", "crc32c"];
        let blosc = ["bytes", "blosc", "crc32c"];
        let intensity = if name == "bytes" { &blosc[..] } else { &pcodec[..] };
        assert_eq!(inner_codec_names(&target, "spectra/intensity"), intensity, "{name}");
        assert_eq!(inner_codec_names(&target, "spectra/mz"), pcodec, "{name}");
        assert_eq!(inner_codec_names(&target, "images/tic/0"), blosc, "{name}");
        if name == "processed" {
            assert_eq!(inner_codec_names(&target, "mz_major/spectrum"), pcodec);
            // pcodec is told which columns hold ascending runs and which unrelated values.
            let delta_spec = |path: &str| inner_codecs(&target, path)[0]["configuration"]["delta_spec"].clone();
            assert_eq!(delta_spec("mz_major/spectrum"), "try_consecutive");
            assert_eq!(delta_spec("mz_major/mz"), "none");
            assert_eq!(delta_spec("mz_major/intensity"), "none");
            assert_eq!(delta_spec("spectra/intensity"), "auto");
        }
        if name == "continuous" {
            assert_eq!(inner_codec_names(&target, "mz_major/intensity"), pcodec);
        }
        let mut document = array_document(&target, "spectra/mz");
        document["codecs"][0]["configuration"]["codecs"][0]["configuration"]["level"] = 13.into();
        assert!(validate_node(NodeKind::Array, &document).is_err(), "{name}");
    }
}

#[test]
fn the_schemas_reject_a_store_root_without_its_imzarr_block() {
    let document = serde_json::json!({"zarr_format": 3, "node_type": "group", "attributes": {}});
    assert!(validate_node(NodeKind::Root, &document).is_err());
}

/// The progress counter a caller passes in ends complete, in the last phase, for both modes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reaches_its_total() {
    for name in ["pyimzml_example_processed", "cardinal1_cut_masspix"] {
        let input = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/imzml/{name}.imzML"));
        let dir = tempfile::tempdir().unwrap();
        let progress = std::sync::Arc::new(imzarr_convert::Progress::default());
        let options = ConvertOptions {
            progress: Some(progress.clone()),
            ..ConvertOptions::default()
        };
        let location = StoreLocation::from_url(dir.path().join("s").to_str().unwrap(), true).unwrap();
        let report = convert(&input, location, &options).await.unwrap();
        let end = progress.snapshot();
        assert_eq!(end.phase, imzarr_convert::Phase::Finishing, "{name}");
        assert!(end.total > 0 && end.done == end.total, "{name}: {end:?}");
        // Each point counts once read and once written, with its m/z and intensity bytes.
        assert!(end.total >= 2 * report.points * 2, "{name}: {end:?}");
    }
}

/// A `.ibd` whose bytes do not match its declared SHA-1 fails the conversion (the checksum is
/// verified beside the conversion, before the store is marked complete): no root `zarr.json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checksum_mismatch_fails_and_leaves_no_complete_store() {
    let dir = tempfile::tempdir().unwrap();
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/imzml/cardinal1_cut_masspix");
    let input = dir.path().join("bad.imzML");
    std::fs::copy(source.with_extension("imzML"), &input).unwrap();
    let mut ibd = std::fs::read(source.with_extension("ibd")).unwrap();
    let last = ibd.len() - 1;
    ibd[last] ^= 0x40; // a value, not the UUID
    std::fs::write(input.with_extension("ibd"), ibd).unwrap();
    let store = dir.path().join("store");
    let location = StoreLocation::from_url(store.to_str().unwrap(), true).unwrap();
    let error = convert(&input, location, &ConvertOptions::default()).await.unwrap_err();
    assert!(
        matches!(
            error,
            imzarr_convert::ConvertError::Imzml(imzarr_imzml::ImzmlError::ChecksumMismatch { .. })
        ),
        "{error}"
    );
    assert!(
        !store.join("zarr.json").exists(),
        "a store that failed its checksum looks complete"
    );
    let unverified = ConvertOptions {
        verify_checksums: false,
        overwrite: true,
        ..ConvertOptions::default()
    };
    let location = StoreLocation::from_url(store.to_str().unwrap(), true).unwrap();
    convert(&input, location, &unverified).await.unwrap();
    assert!(store.join("zarr.json").exists());
}

/// Strict mode refuses repairs found only once the `.ibd` is read (here a stale MD5 beside a
/// correct SHA-1, found by the verification beside the conversion): no complete store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_refuses_a_stale_checksum_found_during_the_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/imzml/pyimzml_example_processed");
    let input = dir.path().join("stale.imzML");
    // The file is Latin-1: spliced as bytes.
    let mut xml = std::fs::read(source.with_extension("imzML")).unwrap();
    let at = xml.windows(13).position(|w| w == b"<fileContent>").unwrap() + 13;
    let stale_md5 = format!(
        r#"<cvParam cvRef="IMS" accession="IMS:1000090" name="ibd MD5" value="{}"/>"#,
        "1".repeat(32)
    );
    xml.splice(at..at, stale_md5.into_bytes());
    std::fs::write(&input, xml).unwrap();
    std::fs::copy(source.with_extension("ibd"), input.with_extension("ibd")).unwrap();
    let store = dir.path().join("store");

    let strict = ConvertOptions {
        parse: imzarr_imzml::ParseOptions {
            strict: true,
            ..Default::default()
        },
        ..ConvertOptions::default()
    };
    let location = StoreLocation::from_url(store.to_str().unwrap(), true).unwrap();
    let error = convert(&input, location, &strict).await.unwrap_err();
    assert!(error.to_string().contains("strict mode: stale-checksum"), "{error}");
    assert!(!store.join("zarr.json").exists());

    let location = StoreLocation::from_url(store.to_str().unwrap(), true).unwrap();
    let overwrite = ConvertOptions {
        overwrite: true,
        ..ConvertOptions::default()
    };
    convert(&input, location, &overwrite).await.unwrap();
    let root: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join("zarr.json")).unwrap()).unwrap();
    let source = &root["attributes"]["imzarr"]["source"];
    assert_eq!(source["verified_checksums"], serde_json::json!(["SHA-1"]));
    assert_eq!(source["quirks"][0]["kind"], "stale-checksum");
}

/// `--overwrite` of a continuous store (2-D intensity chunk keys `c/i/j`, directories on disk)
/// by a processed one (1-D keys `c/i`, files where those directories were) succeeds, and
/// leaves no object of the old store behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwriting_a_store_of_the_other_mode_leaves_nothing_of_it() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/imzml");
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let options = ConvertOptions {
        overwrite: true,
        ..ConvertOptions::default()
    };
    let mut fresh = Vec::new();
    for name in ["pyimzml_example_continuous", "pyimzml_example_processed"] {
        let input = dir.join(format!("{name}.imzML"));
        let location = StoreLocation::from_url(store.to_str().unwrap(), true).unwrap();
        convert(&input, location, &options).await.unwrap();
        let alone = work.path().join(name);
        let location = StoreLocation::from_url(alone.to_str().unwrap(), true).unwrap();
        convert(&input, location, &options).await.unwrap();
        fresh.push(alone);
    }
    let entries = |root: &Path| -> Vec<String> {
        let mut found: Vec<String> = entries(root)
            .into_iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        found.sort();
        found
    };
    assert_eq!(entries(&store), entries(&fresh[1]));
}
