//! Every real fixture converts, and the result is marked complete only at the end.

use std::path::PathBuf;

use imzarr_convert::{ConvertOptions, convert};
use imzarr_store::StoreLocation;

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/imzml");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "imzML"))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_converts() {
    let out = tempfile::tempdir().unwrap();
    let options = ConvertOptions {
        verify_checksums: false,
        ..ConvertOptions::default()
    };
    for input in fixtures() {
        let name = input.file_stem().unwrap().to_string_lossy().to_string();
        let target = out.path().join(format!("{name}.imzarr"));
        let location = StoreLocation::from_url(target.to_str().unwrap(), true).unwrap();
        let report = convert(&input, location, &options)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.spectra > 0);
        let root: serde_json::Value =
            serde_json::from_slice(&std::fs::read(target.join("zarr.json")).unwrap()).unwrap();
        assert_eq!(root["attributes"]["imzarr"]["format"], "imzarr", "{name}");
        eprintln!(
            "{name}: {} spectra, {} points, {} bytes written",
            report.spectra, report.points, report.output_bytes
        );
    }
}
