//! Replays every input the fuzzer ever crashed on (and a few hand-picked edge cases): each must
//! parse or fail with an error, never panic.

use std::path::PathBuf;

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        imzarr_imzml::fuzz_parse(&std::fs::read(&path).unwrap());
        replayed += 1;
    }
    assert!(replayed >= 3, "only {replayed} inputs in {}", dir.display());
}
