//! The measurements.

use std::path::Path;
use std::time::Instant;

use imzarr::{Dataset, MzWindow};
use imzarr_convert::{ConvertOptions, convert};
use imzarr_imzml::{Mode, parse_file};
use imzarr_store::StoreLocation;
use serde_json::{Value, json};

use crate::datasets::{ensure, spec_for};

fn row(name: &str, figure: String, baseline: String, ratio: String, extra: Value) -> Value {
    json!({"name": name, "figure": figure, "baseline": baseline, "ratio": ratio, "data": extra})
}

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        dir_size(&e.path())
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// XML parse throughput versus reading the same bytes.
pub fn parse(dir: &Path, spectra: u64) -> anyhow::Result<Value> {
    let side = (spectra as f64).sqrt().ceil() as u64;
    let spec = imzarr_imzml::synthetic::SyntheticSpec {
        width: side,
        height: spectra.div_ceil(side),
        points_per_spectrum: 2,
        skip_every: 0,
        ..imzarr_imzml::synthetic::SyntheticSpec::small_processed()
    };
    let path = ensure(dir, &format!("header_{spectra}"), &spec)?;
    let bytes = std::fs::metadata(&path)?.len() as f64;
    let started = Instant::now();
    let read = std::fs::read(&path)?;
    let read_seconds = started.elapsed().as_secs_f64();
    assert_eq!(read.len() as f64, bytes);
    let started = Instant::now();
    let imzml = parse_file(&path)?;
    let parse_seconds = started.elapsed().as_secs_f64();
    assert_eq!(imzml.spectra.len() as u64, spec.width * spec.height);
    let mbps = bytes / 1e6 / parse_seconds;
    Ok(row(
        "imzML parse",
        format!(
            "{mbps:.0} MB/s ({:.0} MB, {} spectra, {parse_seconds:.2} s)",
            bytes / 1e6,
            imzml.spectra.len()
        ),
        format!("read: {:.0} MB/s", bytes / 1e6 / read_seconds),
        format!("{:.2}x read time", parse_seconds / read_seconds),
        json!({"mb_per_s": mbps, "bytes": bytes, "spectra": imzml.spectra.len()}),
    ))
}

/// Converts a generated dataset, next to `cp` of its files, then queries the store.
pub async fn convert_and_query(dir: &Path, mode: Mode, size_mb: u64, memory_mib: u64) -> anyhow::Result<Vec<Value>> {
    let label = match mode {
        Mode::Processed => "processed",
        Mode::Continuous => "continuous",
    };
    let spec = spec_for(mode, size_mb);
    let input = ensure(dir, &format!("{label}_{size_mb}mb"), &spec)?;
    let ibd = input.with_extension("ibd");
    let input_bytes = std::fs::metadata(&input)?.len() + std::fs::metadata(&ibd)?.len();

    let copy_dir = dir.join("cp-baseline");
    std::fs::create_dir_all(&copy_dir)?;
    let started = Instant::now();
    for file in [&input, &ibd] {
        let status = std::process::Command::new("cp").arg(file).arg(&copy_dir).status()?;
        anyhow::ensure!(status.success(), "cp failed");
    }
    let cp_seconds = started.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&copy_dir)?;

    let store = dir.join(format!("{label}_{size_mb}mb.imzarr"));
    let options = ConvertOptions {
        overwrite: true,
        memory_bytes: memory_mib << 20,
        ..ConvertOptions::default()
    };
    let location = StoreLocation::from_url(store.to_str().unwrap_or_default(), true)?;
    let started = Instant::now();
    let report = convert(&input, location, &options).await?;
    let convert_seconds = started.elapsed().as_secs_f64();
    let output_bytes = dir_size(&store);
    let mbps = input_bytes as f64 / 1e6 / convert_seconds;
    let mut rows = vec![row(
        &format!("convert {label} {size_mb} MB"),
        format!(
            "{mbps:.0} MB/s ({convert_seconds:.2} s), peak RSS {:.0} MiB, output {:.2}x input",
            peak_rss_mib().unwrap_or(f64::NAN),
            output_bytes as f64 / input_bytes as f64
        ),
        format!(
            "cp: {:.0} MB/s ({cp_seconds:.2} s)",
            input_bytes as f64 / 1e6 / cp_seconds
        ),
        format!("{:.1}x cp time", convert_seconds / cp_seconds),
        json!({"input_bytes": input_bytes, "output_bytes": output_bytes, "seconds": convert_seconds, "cp_seconds": cp_seconds, "spectra": report.spectra, "points": report.points}),
    )];

    let dataset = Dataset::open(store.to_str().unwrap_or_default()).await?;
    // Centre the window on a real m/z value of a spectrum, as a user picking a peak would.
    let probe = dataset
        .spectrum(1, 1)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no spectrum at (1, 1)"))?;
    let centre = probe.mz[probe.mz.len() * 3 / 7];
    // Warm the cached index arrays, as a session would.
    dataset
        .ion_image(MzWindow::ppm(probe.mz[probe.mz.len() / 5], 5.0))
        .await?;
    let before = dataset.stats();
    let started = Instant::now();
    let image = dataset.ion_image(MzWindow::ppm(centre, 5.0)).await?;
    let ion_seconds = started.elapsed().as_secs_f64();
    let used = dataset.stats().since(&before);
    let value_bytes: u64 = match mode {
        Mode::Processed => image.points * (8 + 4 + 4),
        Mode::Continuous => image.points * 4,
    };
    rows.push(row(
        &format!("ion image 5 ppm, {label} {size_mb} MB, local"),
        format!(
            "{:.1} ms, {} GETs, {:.1} KB read",
            ion_seconds * 1e3,
            used.gets,
            used.bytes_read as f64 / 1e3
        ),
        format!(
            "bytes of the {} points in the window: {:.1} KB",
            image.points,
            value_bytes as f64 / 1e3
        ),
        format!(
            "{:.1}x bytes needed",
            used.bytes_read as f64 / value_bytes.max(1) as f64
        ),
        json!({"seconds": ion_seconds, "gets": used.gets, "bytes_read": used.bytes_read, "points": image.points}),
    ));

    let before = dataset.stats();
    let started = Instant::now();
    let spectrum = dataset
        .spectrum(spec.width as i64 / 2, spec.height as i64 / 2)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no spectrum"))?;
    let spectrum_seconds = started.elapsed().as_secs_f64();
    let used = dataset.stats().since(&before);
    rows.push(row(
        &format!("spectrum, {label} {size_mb} MB, local"),
        format!(
            "{:.2} ms, {} GETs, {:.1} KB read",
            spectrum_seconds * 1e3,
            used.gets,
            used.bytes_read as f64 / 1e3
        ),
        format!("{} points", spectrum.mz.len()),
        String::new(),
        json!({"seconds": spectrum_seconds, "gets": used.gets, "bytes_read": used.bytes_read}),
    ));
    Ok(rows)
}
