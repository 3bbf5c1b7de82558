//! A conversion killed at several points and resumed each time gives the same store, byte for
//! byte, as one uninterrupted run; an interrupted store is never taken for a complete one.

#[path = "../../convert/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::objects;
use imzarr_imzml::synthetic::{SyntheticSpec, write_synthetic};

const BIN: &str = env!("CARGO_BIN_EXE_imzarr");

fn convert(input: &Path, output: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["convert", "--resume", "--shard-mib", "1", "--memory", "32"])
        .arg(input)
        .arg(output)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn killed_and_resumed_conversions_equal_a_clean_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.imzML");
    let spec = SyntheticSpec {
        width: 64,
        height: 48,
        points_per_spectrum: 400,
        ..SyntheticSpec::small_processed()
    };
    write_synthetic(&input, &spec).unwrap();

    let clean = dir.path().join("clean.imzarr");
    let started = Instant::now();
    let output = convert(&input, &clean).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let full_run = started.elapsed();

    let resumed = dir.path().join("resumed.imzarr");
    let mut kept_any = false;
    for fraction in [0.2, 0.45, 0.7, 0.9] {
        let mut child = convert(&input, &resumed).spawn().unwrap();
        std::thread::sleep(full_run.mul_f64(fraction));
        child.kill().ok();
        let output = child.wait_with_output().unwrap();
        // Whether the run ended by itself, from how it ended (a check before the kill races
        // with a run finishing just then).
        let finished = output.status.success();
        let stdout = String::from_utf8_lossy(&output.stdout);
        kept_any |= stdout.contains("kept from the interrupted run");
        if !finished {
            // A kill that lands after the root metadata was written, while the progress marker
            // is being removed, leaves a finished store: it must then be the clean one.
            let info = Command::new(BIN).arg("info").arg(&resumed).output().unwrap();
            if info.status.success() {
                assert_same_store(&clean, &resumed, &["imzarr-progress.json"]);
            }
        }
    }
    let output = convert(&input, &resumed).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    kept_any |= stdout.contains("kept from the interrupted run");
    assert!(kept_any, "no run kept shards of an interrupted one: {stdout}");

    assert_same_store(&clean, &resumed, &[]);

    // Once complete, --resume leaves the store alone.
    let output = convert(&input, &resumed).output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("already complete"));

    // A run killed after writing the root metadata but before removing its progress marker
    // finished its store: resuming it reports it complete and removes the marker.
    let marker = resumed.join("imzarr-progress.json");
    std::fs::write(&marker, b"{}").unwrap();
    let output = convert(&input, &resumed).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("already complete"));
    assert!(!marker.exists(), "the stale progress marker was left");
    assert_same_store(&clean, &resumed, &[]);
}

/// Asserts that two local stores hold the same objects, byte for byte, apart from `ignored`
/// keys in `other`; a clean store never holds a progress marker.
fn assert_same_store(clean: &Path, other: &Path, ignored: &[&str]) {
    let (a, mut b) = (objects(clean), objects(other));
    b.retain(|key, _| !ignored.contains(&key.as_str()));
    assert!(!a.contains_key("imzarr-progress.json"));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (key, bytes) in &a {
        assert!(bytes == &b[key], "{key} differs");
    }
}
