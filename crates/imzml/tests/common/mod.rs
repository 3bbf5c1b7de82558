//! Helpers shared by the test suites that edit a generated imzML file.

use std::path::{Path, PathBuf};

use imzarr_imzml::synthetic::{SyntheticSpec, write_synthetic};

/// Writes `spec` as `good.imzML` (and `good.ibd`) in `dir`; returns its path and XML text.
pub fn write_good(dir: &Path, spec: &SyntheticSpec) -> (PathBuf, String) {
    let path = dir.join("good.imzML");
    write_synthetic(&path, spec).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

/// Writes `xml` as `name.imzML` beside a copy of `good.ibd`.
pub fn variant(dir: &Path, name: &str, xml: &str) -> PathBuf {
    let path = dir.join(format!("{name}.imzML"));
    std::fs::write(&path, xml).unwrap();
    std::fs::copy(dir.join("good.ibd"), path.with_extension("ibd")).unwrap();
    path
}
