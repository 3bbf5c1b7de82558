//! Helpers shared by the converter's test suites (and, by path, by those of the command line,
//! the reader and the export): the real fixtures, and what a store holds on disk.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The real imzML fixtures, sorted.
pub fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/imzml");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "imzML"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "fixtures missing from {}", dir.display());
    files
}

/// Every object (file) below `root`, by its path relative to `root`, with its bytes.
pub fn objects(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    for path in entries(root) {
        if path.is_file() {
            let key = path.strip_prefix(root).unwrap().display().to_string();
            found.insert(key, std::fs::read(&path).unwrap());
        }
    }
    found
}

/// Every file and directory below `root`, depth first.
pub fn entries(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(entries(&path));
        }
        found.push(path);
    }
    found
}
