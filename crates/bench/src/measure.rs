//! The measurements.

use std::path::Path;
use std::time::Instant;

use imzarr::{Dataset, MzWindow};
use imzarr_convert::{ConvertOptions, convert};
use imzarr_format::Codec;
use imzarr_imzml::{Mode, parse_file};
use imzarr_store::StoreLocation;
use serde_json::{Value, json};

use crate::datasets::{ensure, spec_for, store_files};
use crate::queries;
use crate::remote::{Query, S3Server, round_trips};

/// Writes every dirty page to disk (`sync`), so that a timed run does not pay for the
/// write-back of what the previous one (generation, the `cp` baseline, an old store) left.
fn settle_page_cache() -> anyhow::Result<()> {
    let status = std::process::Command::new("sync").status()?;
    anyhow::ensure!(status.success(), "sync failed");
    Ok(())
}

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

/// Bytes of every file of the store directory `store`.
fn dir_size(store: &Path) -> anyhow::Result<u64> {
    let mut bytes = 0;
    for (path, _) in store_files(store)? {
        bytes += std::fs::metadata(path)?.len();
    }
    Ok(bytes)
}

/// XML parse throughput versus reading the same bytes, on a header of `spectra` spectra
/// without terms of their own and on one whose spectra each give the five sample terms (scan
/// start time, scan window, user parameters: the values the parser collects for the store).
pub fn parse(dir: &Path, spectra: u64) -> anyhow::Result<Vec<Value>> {
    let side = (spectra as f64).sqrt().ceil() as u64;
    let plain = imzarr_imzml::synthetic::SyntheticSpec {
        width: side,
        height: spectra.div_ceil(side),
        points_per_spectrum: 2,
        skip_every: 0,
        ..imzarr_imzml::synthetic::SyntheticSpec::small_processed()
    };
    let with_terms = imzarr_imzml::synthetic::SyntheticSpec {
        spectrum_terms: imzarr_imzml::synthetic::sample_spectrum_terms(),
        ..plain.clone()
    };
    [
        ("imzML parse", format!("header_{spectra}"), plain),
        (
            "imzML parse, 5 terms per spectrum",
            format!("header_{spectra}_terms"),
            with_terms,
        ),
    ]
    .into_iter()
    .map(|(what, name, spec)| parse_one(dir, what, &name, &spec))
    .collect()
}

fn parse_one(
    dir: &Path,
    what: &str,
    name: &str,
    spec: &imzarr_imzml::synthetic::SyntheticSpec,
) -> anyhow::Result<Value> {
    let path = ensure(dir, name, spec)?;
    let bytes = std::fs::metadata(&path)?.len() as f64;
    let started = Instant::now();
    let read = std::fs::read(&path)?;
    let read_seconds = started.elapsed().as_secs_f64();
    assert_eq!(read.len() as f64, bytes);
    let started = Instant::now();
    let imzml = parse_file(&path)?;
    let parse_seconds = started.elapsed().as_secs_f64();
    assert_eq!(imzml.spectra.len() as u64, spec.width * spec.height);
    assert_eq!(imzml.spectrum_terms.len(), spec.spectrum_terms.len());
    let mbps = bytes / 1e6 / parse_seconds;
    Ok(row(
        what,
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

/// What a conversion in a process of its own took.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Conversion {
    /// Wall time of the conversion.
    pub seconds: f64,
    /// Peak resident memory of the converting process.
    pub peak_rss_mib: f64,
    /// Spectra converted.
    pub spectra: u64,
    /// Points converted.
    pub points: u64,
}

/// Converts `input` to `store` (a path or a URL) in this process (`imzarr-bench convert-one`).
pub async fn convert_here(input: &Path, store: &str, args: &ConvertArgs) -> anyhow::Result<Conversion> {
    let defaults = ConvertOptions::default();
    let options = ConvertOptions {
        overwrite: true,
        memory_bytes: args.memory_mib << 20,
        mz_chunk_points: args.mz_chunk_points.unwrap_or(defaults.mz_chunk_points),
        codec: args
            .pcodec_level
            .map_or(defaults.codec, |level| Codec::Pcodec { level }),
        ..defaults
    };
    let location = StoreLocation::from_url(store, true)?;
    let started = Instant::now();
    let report = convert(input, location, &options).await?;
    Ok(Conversion {
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_mib: peak_rss_mib().unwrap_or(f64::NAN),
        spectra: report.spectra,
        points: report.points,
    })
}

/// Converts `input` to `store` (a path or a URL) in a child process with the environment
/// variables `env` added, so that its peak RSS is the converter's alone (not that of
/// generating data or of earlier runs).
pub(crate) fn convert_in_child(
    input: &Path,
    store: &str,
    env: &[(&str, String)],
    args: &ConvertArgs,
) -> anyhow::Result<Conversion> {
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .arg("convert-one")
        .arg(input)
        .arg(store)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["--memory-mib", &args.memory_mib.to_string()]);
    if let Some(points) = args.mz_chunk_points {
        command.args(["--mz-chunk-points", &points.to_string()]);
    }
    if let Some(level) = args.pcodec_level {
        command.args(["--pcodec-level", &level.to_string()]);
    }
    let output = command.stderr(std::process::Stdio::inherit()).output()?;
    anyhow::ensure!(output.status.success(), "the conversion of {} failed", input.display());
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// What to convert, and how.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// Approximate input size in MB.
    #[arg(long, default_value_t = 100)]
    pub size_mb: u64,
    /// Memory budget of the converter in MiB.
    #[arg(long, default_value_t = 1024)]
    pub memory_mib: u64,
    /// Points per inner chunk of the m/z-major layout (the converter's default when absent).
    #[arg(long)]
    pub mz_chunk_points: Option<u64>,
    /// Compress with pcodec at this level (0-12) instead of the converter's default codec.
    #[arg(long)]
    pub pcodec_level: Option<u8>,
}

/// A converted dataset and the queries to repeat against its copy on the S3 test server.
pub struct RemoteQueries {
    /// "processed 1000 MB".
    label: String,
    /// The source imzML.
    input: std::path::PathBuf,
    /// The local store, to upload.
    store: std::path::PathBuf,
    /// Its key prefix on the server.
    prefix: String,
    /// The m/z the ion-image rows centre their window on.
    centre: f64,
    /// The pixel of the spectrum rows.
    x: i64,
    y: i64,
}

/// Converts a generated dataset, next to `cp` of its files, then queries the store; also
/// returns what [`remote_rows`] repeats on the S3 test server.
pub async fn convert_and_query(
    dir: &Path,
    mode: Mode,
    args: &ConvertArgs,
) -> anyhow::Result<(Vec<Value>, RemoteQueries)> {
    let size_mb = args.size_mb;
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
    settle_page_cache()?;
    let started = Instant::now();
    for file in [&input, &ibd] {
        let status = std::process::Command::new("cp").arg(file).arg(&copy_dir).status()?;
        anyhow::ensure!(status.success(), "cp failed");
    }
    let cp_seconds = started.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&copy_dir)?;

    let store = dir.join(format!("{label}_{size_mb}mb.imzarr"));
    if store.exists() {
        std::fs::remove_dir_all(&store)?;
    }
    settle_page_cache()?;
    let conversion = convert_in_child(&input, store.to_str().unwrap_or_default(), &[], args)?;
    let convert_seconds = conversion.seconds;
    let output_bytes = dir_size(&store)?;
    let mbps = input_bytes as f64 / 1e6 / convert_seconds;
    // The same conversion again at once. On the VM of BENCHMARKS.md the first conversion
    // after other work spent several times the system time of the next one (13 s against
    // 3 s), the memory its writes take having gone back to the host; an archive's
    // conversions run one after the other like the second.
    std::fs::remove_dir_all(&store)?;
    settle_page_cache()?;
    let again = convert_in_child(&input, store.to_str().unwrap_or_default(), &[], args)?;
    let again_mbps = input_bytes as f64 / 1e6 / again.seconds;
    let mut rows = vec![row(
        &format!("convert {label} {size_mb} MB"),
        format!(
            "{mbps:.0} MB/s ({convert_seconds:.2} s; run again at once: {again_mbps:.0} MB/s, {:.2} s), peak RSS {:.0} MiB, output {:.2}x input",
            again.seconds,
            conversion.peak_rss_mib.max(again.peak_rss_mib),
            output_bytes as f64 / input_bytes as f64
        ),
        format!(
            "cp: {:.0} MB/s ({cp_seconds:.2} s)",
            input_bytes as f64 / 1e6 / cp_seconds
        ),
        format!("{:.1}x cp time", convert_seconds / cp_seconds),
        json!({"input_bytes": input_bytes, "output_bytes": output_bytes, "seconds": convert_seconds, "seconds_run_again": again.seconds, "cp_seconds": cp_seconds, "spectra": conversion.spectra, "points": conversion.points, "peak_rss_mib": conversion.peak_rss_mib, "peak_rss_mib_run_again": again.peak_rss_mib, "memory_budget_mib": args.memory_mib}),
    )];

    let dataset = Dataset::open(store.to_str().unwrap_or_default()).await?;
    // The pixel whose spectrum the spectrum rows read.
    let (x, y) = (spec.width as i64 / 2, spec.height as i64 / 2);
    // Centre the window on a real m/z value of a spectrum, as a user picking a peak would.
    let probe = dataset
        .spectrum(1, 1)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no spectrum at (1, 1)"))?;
    let peak = probe.mz.len() * 3 / 7;
    let centre = probe.mz[peak];
    // Warm the cached index arrays, as a session would (the pixel index; the m/z chunk index is
    // read a block at a time, and the measured window's block is most likely another one: the
    // first read below pays for it).
    dataset
        .ion_image(MzWindow::ppm(probe.mz[probe.mz.len() / 5], 5.0))
        .await?;
    let first_also = match mode {
        Mode::Processed => " (and in its block of the m/z chunk index)",
        Mode::Continuous => "",
    };
    let (image, ion_seconds, row_cold) = ion_image_row(
        &dataset,
        mode,
        centre,
        &format!("ion image 5 ppm, {label} {size_mb} MB, local, first in its shard{first_also}"),
    )
    .await?;
    rows.push(row_cold);
    // The next peaks of the same spectrum: other chunks, most likely of the same shards. Each
    // read of a shard fetches the index entries it needs, until those known would make an
    // eighth of the index; then the whole index is fetched and cached (an analyst's session
    // after its first images).
    for (offset, label_of_read) in [(1, "second in its shard"), (2, "third in its shard")] {
        let (_, _, row_next) = ion_image_row(
            &dataset,
            mode,
            probe.mz[peak + offset],
            &format!("ion image 5 ppm, {label} {size_mb} MB, local, {label_of_read}"),
        )
        .await?;
        rows.push(row_next);
    }

    rows.extend(
        crate::window_sweep::sweep(store.to_str().unwrap_or_default(), &format!("{label} {size_mb} MB")).await?,
    );

    let before = dataset.stats();
    let started = Instant::now();
    let spectrum = dataset
        .spectrum(x, y)
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

    let before = dataset.stats();
    let started = Instant::now();
    let spectra = queries::region_spectra(&dataset).await?;
    let region_seconds = started.elapsed().as_secs_f64();
    let used = dataset.stats().since(&before);
    let region_points: usize = spectra.iter().map(|s| s.mz.len()).sum();
    let region_value_bytes = region_points as u64 * value_bytes_per_point(mode);
    rows.push(row(
        &format!("32x32 region spectra, {label} {size_mb} MB, local"),
        format!(
            "{:.1} ms, {} GETs, {:.1} KB read",
            region_seconds * 1e3,
            used.gets,
            used.bytes_read as f64 / 1e3
        ),
        format!("{region_points} points, {:.1} KB", region_value_bytes as f64 / 1e3),
        format!(
            "{:.1}x bytes needed",
            used.bytes_read as f64 / region_value_bytes.max(1) as f64
        ),
        json!({"seconds": region_seconds, "gets": used.gets, "bytes_read": used.bytes_read, "points": region_points}),
    ));

    let fresh = Dataset::open(store.to_str().unwrap_or_default()).await?;
    let before = fresh.stats();
    let started = Instant::now();
    let tic = queries::tic(&fresh).await?;
    let tic_seconds = started.elapsed().as_secs_f64();
    let used = fresh.stats().since(&before);
    rows.push(row(
        &format!("TIC, {label} {size_mb} MB, local, after open"),
        format!(
            "{:.1} ms, {} GETs, {:.1} KB read",
            tic_seconds * 1e3,
            used.gets,
            used.bytes_read as f64 / 1e3
        ),
        format!("{} pixels", tic.values.len()),
        String::new(),
        json!({"seconds": tic_seconds, "gets": used.gets, "bytes_read": used.bytes_read}),
    ));

    if let Some(python) = pyimzml_queries(&input, centre, 5.0, x, y)? {
        let ours: f64 = image.image.values.iter().filter(|v| !v.is_nan()).sum();
        anyhow::ensure!(
            (ours - python.ion_sum).abs() <= 1e-4 * python.ion_sum.abs().max(1.0),
            "pyimzML's ion image sums to {}, ours to {ours}",
            python.ion_sum
        );
        let our_spectrum_sum: f64 = spectrum.intensity.iter().sum();
        anyhow::ensure!(
            (our_spectrum_sum - python.spectrum_sum).abs() <= 1e-6 * python.spectrum_sum.abs().max(1.0),
            "pyimzML's spectrum at ({x}, {y}) sums to {}, ours to {our_spectrum_sum}",
            python.spectrum_sum
        );
        rows.push(row(
            &format!("ion image 5 ppm, {label} {size_mb} MB: pyimzML getionimage on the imzML"),
            format!("{:.0} ms (parse {:.0} ms)", python.ion_seconds * 1e3, python.parse_seconds * 1e3),
            format!("imzarr: {:.1} ms", ion_seconds * 1e3),
            faster(python.ion_seconds, ion_seconds),
            json!({"pyimzml_seconds": python.ion_seconds, "pyimzml_parse_seconds": python.parse_seconds, "imzarr_seconds": ion_seconds}),
        ));
        rows.push(row(
            &format!("spectrum, {label} {size_mb} MB: pyimzML getspectrum after its parse"),
            format!("{:.2} ms", python.spectrum_seconds * 1e3),
            format!("imzarr: {:.2} ms", spectrum_seconds * 1e3),
            faster(python.spectrum_seconds, spectrum_seconds),
            json!({"pyimzml_seconds": python.spectrum_seconds, "imzarr_seconds": spectrum_seconds}),
        ));
    }
    let remote = RemoteQueries {
        label: format!("{label} {size_mb} MB"),
        input,
        prefix: format!("{label}_{size_mb}mb.imzarr"),
        store,
        centre,
        x,
        y,
    };
    Ok((rows, remote))
}

/// Converts the source of `queries` straight to the S3 test server, then uploads the local
/// store and repeats the queries against it.
pub async fn remote_rows(server: &S3Server, queries: &RemoteQueries, args: &ConvertArgs) -> anyhow::Result<Vec<Value>> {
    let RemoteQueries {
        label,
        input,
        store,
        prefix,
        centre,
        x,
        y,
    } = queries;
    let mut rows = vec![crate::remote_convert::convert_to_s3(server, input, label, args).await?];
    let started = Instant::now();
    server.upload(store, prefix).await?;
    eprintln!(
        "uploaded {} to the S3 test server in {:.1} s",
        store.display(),
        started.elapsed().as_secs_f64()
    );
    for (name, query) in [
        ("ion image 5 ppm, first after open", Query::IonImage { mz: *centre }),
        ("ion image 5 ppm, asked again", Query::IonImageAgain { mz: *centre }),
        ("spectrum, first after open", Query::Spectrum { x: *x, y: *y }),
        ("32x32 region spectra, first after open", Query::Region),
        ("TIC, first after open", Query::Tic),
    ] {
        let name = format!("{name}, {label}, S3");
        rows.push(round_trips(server, prefix, &name, query).await?);
    }
    Ok(rows)
}

/// An ion image of `mz` ± 5 ppm: the image, its seconds and its row of figures.
async fn ion_image_row(
    dataset: &Dataset,
    mode: Mode,
    mz: f64,
    name: &str,
) -> anyhow::Result<(imzarr::IonImage, f64, Value)> {
    let before = dataset.stats();
    let started = Instant::now();
    let image = dataset.ion_image(MzWindow::ppm(mz, 5.0)).await?;
    let seconds = started.elapsed().as_secs_f64();
    let used = dataset.stats().since(&before);
    let value_bytes = crate::window_sweep::window_value_bytes(mode, image.points);
    let row = row(
        name,
        format!(
            "{:.1} ms, {} GETs, {:.1} KB read",
            seconds * 1e3,
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
        json!({"seconds": seconds, "gets": used.gets, "bytes_read": used.bytes_read, "points": image.points}),
    );
    Ok((image, seconds, row))
}

/// Bytes of one point's values (m/z and intensity; continuous: the intensity alone, as the
/// m/z axis is shared).
fn value_bytes_per_point(mode: Mode) -> u64 {
    match mode {
        Mode::Processed => 8 + 4,
        Mode::Continuous => 4,
    }
}

/// "imzarr Nx faster", or "pyimzML Nx faster" when it is.
fn faster(pyimzml_seconds: f64, imzarr_seconds: f64) -> String {
    let ratio = pyimzml_seconds / imzarr_seconds;
    if ratio >= 1.0 {
        format!("imzarr {ratio:.0}x faster")
    } else {
        format!("pyimzML {:.0}x faster", 1.0 / ratio)
    }
}

/// What pyimzML took on the source imzML.
struct PyimzmlFigures {
    /// Parse and `getionimage`.
    ion_seconds: f64,
    ion_sum: f64,
    /// `ImzMLParser` alone.
    parse_seconds: f64,
    /// `getspectrum` of one pixel, after the parse.
    spectrum_seconds: f64,
    spectrum_sum: f64,
}

/// pyimzML's `getionimage` for `mz` ± `ppm` and `getspectrum` at (x, y) on `input`, with sums
/// to check against ours; `None` when no venv with pyimzML is at `.venv` and none can be made.
fn pyimzml_queries(input: &Path, mz: f64, ppm: f64, x: i64, y: i64) -> anyhow::Result<Option<PyimzmlFigures>> {
    let Some(python) = crate::venv::python()? else {
        return Ok(None);
    };
    let script = r#"
import sys, time
from pyimzml.ImzMLParser import ImzMLParser, getionimage
path, mz, ppm, x, y = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
t0 = time.perf_counter()
parser = ImzMLParser(path)
t1 = time.perf_counter()
image = getionimage(parser, mz, tol=mz * ppm * 1e-6)
t2 = time.perf_counter()
index = next(i for i, c in enumerate(parser.coordinates) if c[0] == x and c[1] == y)
t3 = time.perf_counter()
mzs, intensities = parser.getspectrum(index)
t4 = time.perf_counter()
print(t2 - t0, float(image.sum()), t1 - t0, t4 - t3, float(intensities.sum(dtype="float64")))
"#;
    let output = std::process::Command::new(python)
        .args(["-c", script])
        .arg(input)
        .arg(mz.to_string())
        .arg(ppm.to_string())
        .arg(x.to_string())
        .arg(y.to_string())
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "pyimzML failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout)?;
    let numbers: Vec<f64> = text
        .split_whitespace()
        .map(str::parse::<f64>)
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("unexpected pyimzML output: {text}"))?;
    match numbers.as_slice() {
        &[ion_seconds, ion_sum, parse_seconds, spectrum_seconds, spectrum_sum] => Ok(Some(PyimzmlFigures {
            ion_seconds,
            ion_sum,
            parse_seconds,
            spectrum_seconds,
            spectrum_sum,
        })),
        _ => anyhow::bail!("unexpected pyimzML output: {text}"),
    }
}
