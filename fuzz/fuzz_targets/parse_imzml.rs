//! Fuzzes the imzML parser with arbitrary XML. Run with
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run parse_imzml -- -max_total_time=60` from the repository
//! root; seeds are the real fixtures (`fuzz/seed_corpus.sh`). Any crash found goes to
//! `crates/imzml/tests/fuzz_regressions/`, which `tests/fuzz_regressions.rs` replays.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    imzarr_imzml::fuzz_parse(data);
});
