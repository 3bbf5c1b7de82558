//! A conversion killed at several points and resumed each time gives the same store, byte for
//! byte, as one uninterrupted run; an interrupted store is never taken for a complete one.

#[path = "../../convert/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    let shards_in_total = shard_objects(&clean);
    assert!(
        shards_in_total >= 10,
        "the input should make many shards, not {shards_in_total}"
    );
    // Killed once at a time early on, then each time another fifth of the shards is written:
    // kills at fixed times alone can all land before the first shard on one machine and after
    // the last on another.
    let kill_points = [
        KillPoint::After(full_run.mul_f64(0.1)),
        KillPoint::Shards(shards_in_total / 5),
        KillPoint::Shards(shards_in_total * 2 / 5),
        KillPoint::Shards(shards_in_total * 3 / 5),
        KillPoint::Shards(shards_in_total * 4 / 5),
    ];
    let mut kept_any = false;
    for kill_point in kill_points {
        let mut child = convert(&input, &resumed).spawn().unwrap();
        kill_point.wait(&mut child, &resumed);
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

/// When a conversion under test is killed.
enum KillPoint {
    /// This long after it started.
    After(Duration),
    /// Once the store holds this many shards, or when the run ends by itself.
    Shards(usize),
}

impl KillPoint {
    /// Waits until `child`, converting into `store`, is due to be killed.
    fn wait(&self, child: &mut Child, store: &Path) {
        match *self {
            KillPoint::After(delay) => std::thread::sleep(delay),
            KillPoint::Shards(count) => {
                let deadline = Instant::now() + Duration::from_secs(120);
                while shard_objects(store) < count && Instant::now() < deadline {
                    if child.try_wait().unwrap().is_some() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }
}

/// How many shard objects a local store holds, staging files of unfinished uploads aside;
/// tolerant of a conversion writing to it meanwhile.
fn shard_objects(root: &Path) -> usize {
    let mut count = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let key = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
                count += usize::from(key.contains("/c/") && !key.contains('#'));
            }
        }
    }
    count
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
