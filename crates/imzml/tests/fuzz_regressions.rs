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

/// A short fuzzing campaign run by every test run (the long one is `cargo fuzz run parse`, by
/// hand): the XML of real fixtures from different writers with random bytes overwritten,
/// inserted or cut, and random slices of it, parse or fail with an error, never panic.
mod mutations {
    use proptest::prelude::*;

    const FIXTURES: [&str; 4] = [
        "cardinal1_cut_masspix",
        "pyimzml_example_processed",
        "thyra_two_precision_terms",
        "m2aia_test",
    ];

    fn xml(which: usize) -> Vec<u8> {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/imzml");
        std::fs::read(dir.join(format!("{}.imzML", FIXTURES[which % FIXTURES.len()]))).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn mutated_fixture_xml_never_panics(
            which in any::<usize>(),
            edits in prop::collection::vec((any::<usize>(), 0usize..3, prop::collection::vec(any::<u8>(), 1..12)), 1..6),
        ) {
            let mut data = xml(which);
            for (at, kind, bytes) in edits {
                let at = at % data.len().max(1);
                match kind {
                    0 => {
                        for (i, b) in bytes.iter().enumerate() {
                            if let Some(slot) = data.get_mut(at + i) {
                                *slot = *b;
                            }
                        }
                    }
                    1 => {
                        data.splice(at..at, bytes);
                    }
                    _ => {
                        let end = (at + bytes.len() * 16).min(data.len());
                        data.drain(at..end);
                    }
                }
            }
            imzarr_imzml::fuzz_parse(&data);
        }

        #[test]
        fn slices_of_fixture_xml_never_panic(which in any::<usize>(), start in any::<usize>(), len in any::<usize>()) {
            let data = xml(which);
            let start = start % data.len();
            let end = (start + len % (data.len() - start + 1)).min(data.len());
            imzarr_imzml::fuzz_parse(&data[start..end]);
        }
    }
}
