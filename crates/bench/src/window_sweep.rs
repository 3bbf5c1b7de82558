//! Ion images of many 5 ppm windows (peaks of spectra across the dataset), read first in a
//! fresh session and again once the session has cached the indexes: the spread of bytes read
//! against the bytes of the points in each window, not one window's luck with chunk bounds.

use imzarr::{Dataset, MzWindow};
use imzarr_format::AcquisitionMode;
use imzarr_imzml::Mode;
use serde_json::{Value, json};

/// Pixels whose spectra give the windows, as fractions of the grid's width and height.
const PROBES: [(f64, f64); 5] = [(0.1, 0.1), (0.3, 0.7), (0.5, 0.5), (0.7, 0.3), (0.9, 0.9)];
/// Windows per probe spectrum, at evenly spaced peaks.
const PEAKS_PER_PROBE: usize = 8;

/// Bytes of the values of `points` points of an ion image: m/z, intensity and spectrum number
/// each (processed), or the intensity alone (continuous, the axis is shared).
pub fn window_value_bytes(mode: Mode, points: u64) -> u64 {
    match mode {
        Mode::Processed => points * (8 + 4 + 4),
        Mode::Continuous => points * 4,
    }
}

/// The window centres: peaks of the probe spectra.
async fn centres(dataset: &Dataset) -> anyhow::Result<Vec<f64>> {
    let grid = &dataset.attributes().grid;
    let mut centres = Vec::new();
    for (fx, fy) in PROBES {
        let x = grid.origin[0] + (grid.width as f64 * fx) as i64;
        let y = grid.origin[1] + (grid.height as f64 * fy) as i64;
        let Some(spectrum) = dataset.spectrum(x, y).await? else {
            continue;
        };
        let n = spectrum.mz.len();
        centres.extend((0..PEAKS_PER_PROBE.min(n)).map(|k| spectrum.mz[(2 * k + 1) * n / (2 * PEAKS_PER_PROBE)]));
    }
    anyhow::ensure!(!centres.is_empty(), "no probe pixel has a spectrum");
    Ok(centres)
}

/// Bytes read ÷ bytes needed of the ion image of `centre` ± 5 ppm; `None` for an empty window.
async fn ratio(dataset: &Dataset, mode: Mode, centre: f64) -> anyhow::Result<Option<f64>> {
    let before = dataset.stats();
    let image = dataset.ion_image(MzWindow::ppm(centre, 5.0)).await?;
    let read = dataset.stats().since(&before).bytes_read;
    let needed = window_value_bytes(mode, image.points);
    Ok((needed > 0).then(|| read as f64 / needed as f64))
}

/// Median, 90th percentile and largest of `ratios`.
fn spread(mut ratios: Vec<f64>) -> (f64, f64, f64) {
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9), at(1.0))
}

/// Three rows: the windows read first in fresh sessions (the pixel index already read, as any
/// image needs it), one after the other in one session (later windows find shard index
/// entries, or whole indexes, that earlier ones fetched), and read a third time in that
/// session (their shard index entries cached).
pub async fn sweep(store: &str, label: &str) -> anyhow::Result<Vec<Value>> {
    let session = Dataset::open(store).await?;
    let mode = match session.attributes().mode {
        AcquisitionMode::Processed => Mode::Processed,
        AcquisitionMode::Continuous => Mode::Continuous,
    };
    let centres = centres(&session).await?;
    let mut first = Vec::new();
    for &centre in &centres {
        let fresh = Dataset::open(store).await?;
        let origin = &fresh.attributes().grid.origin;
        fresh.spectrum_number(origin[0], origin[1], origin[2]).await?;
        first.extend(ratio(&fresh, mode, centre).await?);
    }
    let (mut session_first, mut warm) = (Vec::new(), Vec::new());
    for pass in 0..3 {
        for &centre in &centres {
            let r = ratio(&session, mode, centre).await?;
            match pass {
                0 => session_first.extend(r),
                2 => warm.extend(r),
                _ => {}
            }
        }
    }
    anyhow::ensure!(!first.is_empty(), "every window is empty");
    let rows = [
        ("first in a fresh session", first),
        ("one after the other in one session, first pass", session_first),
        ("third in one session", warm),
    ];
    Ok(rows
        .into_iter()
        .map(|(when, ratios)| {
            let count = ratios.len();
            let (median, p90, max) = spread(ratios);
            json!({
                "name": format!("ion images 5 ppm at {count} peaks, {label}, local, {when}"),
                "figure": format!("bytes read ÷ bytes needed: median {median:.1}x, 90th percentile {p90:.1}x, largest {max:.1}x"),
                "baseline": "bytes of the points in each window",
                "ratio": format!("median {median:.1}x"),
                "data": {"windows": count, "median": median, "p90": p90, "max": max},
            })
        })
        .collect())
}
