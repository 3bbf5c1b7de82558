//! Writing images: PNG with the viridis colour map, TIFF, CSV and NumPy `.npy`.

use std::io::Write;
use std::path::Path;

use imzarr::Image;

use crate::exit::{CommandError, Failure};

/// Writes `image` to `path` in the format its extension names (`.png`, clipped at the upper
/// `percentile`; `.tif`/`.tiff`; `.csv`; `.npy`).
pub fn write_image(path: &Path, image: &Image, percentile: f64) -> Result<(), CommandError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let result = match extension.as_str() {
        "png" => write_png(path, image, percentile),
        "csv" => write_csv(path, image),
        "npy" => write_npy(path, image),
        "tif" | "tiff" => write_tiff(path, image),
        other => {
            return Err(CommandError::new(
                Failure::Input,
                format!(
                    "{}: unknown image format {other:?}; use .png, .tiff, .csv or .npy",
                    path.display()
                ),
            ));
        }
    };
    result.map_err(|e| CommandError::new(Failure::Io, format!("{}: {e}", path.display())))
}

/// 16 stops of matplotlib's viridis, interpolated linearly.
const VIRIDIS: [[u8; 3]; 16] = [
    [68, 1, 84],
    [72, 26, 108],
    [71, 47, 125],
    [65, 68, 135],
    [57, 86, 140],
    [49, 104, 142],
    [42, 120, 142],
    [35, 136, 142],
    [31, 152, 139],
    [34, 168, 132],
    [53, 183, 121],
    [84, 197, 104],
    [122, 209, 81],
    [165, 219, 54],
    [210, 226, 27],
    [253, 231, 37],
];

fn viridis(t: f64) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let i = (t.floor() as usize).min(VIRIDIS.len() - 2);
    let f = t - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    [0, 1, 2].map(|c| (a[c] as f64 + (b[c] as f64 - a[c] as f64) * f).round() as u8)
}

/// The value at `percentile` (0-100) of the finite values, for contrast clipping.
pub fn percentile(values: &[f64], percentile: f64) -> f64 {
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return 0.0;
    }
    finite.sort_by(f64::total_cmp);
    let rank = ((percentile.clamp(0.0, 100.0) / 100.0) * (finite.len() - 1) as f64).round() as usize;
    finite[rank]
}

/// Writes the first z-plane as an RGBA PNG: viridis from 0 to the clip value, transparent
/// where no spectrum was acquired.
pub fn write_png(path: &Path, image: &Image, clip_percentile: f64) -> std::io::Result<()> {
    let plane = (image.width * image.height) as usize;
    let values = &image.values[..plane];
    let high = percentile(values, clip_percentile);
    let low = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let span = if high > low { high - low } else { 1.0 };
    let mut rgba = Vec::with_capacity(plane * 4);
    for &v in values {
        if v.is_finite() {
            let [r, g, b] = viridis((v - low) / span);
            rgba.extend_from_slice(&[r, g, b, 255]);
        } else {
            rgba.extend_from_slice(&[0, 0, 0, 0]);
        }
    }
    let file = std::fs::File::create(path)?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), image.width as u32, image.height as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer.write_image_data(&rgba).map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)
}

/// Writes `y,x,value` rows (0-based grid positions; `nan` where no spectrum was acquired).
pub fn write_csv(path: &Path, image: &Image) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "z,y,x,value")?;
    for z in 0..image.depth {
        for y in 0..image.height {
            for x in 0..image.width {
                let v = image.values[((z * image.height + y) * image.width + x) as usize];
                writeln!(out, "{z},{y},{x},{v}")?;
            }
        }
    }
    out.flush()
}

/// Writes a NumPy `.npy` (version 1.0) array of `float64`, shape `(height, width)` or
/// `(depth, height, width)`.
pub fn write_npy(path: &Path, image: &Image) -> std::io::Result<()> {
    let shape = if image.depth > 1 {
        format!("({}, {}, {})", image.depth, image.height, image.width)
    } else {
        format!("({}, {})", image.height, image.width)
    };
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(b"\x93NUMPY\x01\x00")?;
    out.write_all(&(header.len() as u16).to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    for v in &image.values {
        out.write_all(&v.to_le_bytes())?;
    }
    out.flush()
}

/// Writes a baseline little-endian TIFF of `float64` samples (`NaN` where no spectrum was
/// acquired), uncompressed, one page per z plane, which Fiji, tifffile and GDAL read.
pub fn write_tiff(path: &Path, image: &Image) -> std::io::Result<()> {
    const ENTRIES: u16 = 11;
    let ifd_bytes = 2 + 12 * u64::from(ENTRIES) + 4;
    let plane_bytes = image.width * image.height * 8;
    let too_large = || std::io::Error::other("the image is too large for a TIFF (4 GiB)");
    let page_bytes = ifd_bytes + plane_bytes;
    if 8 + page_bytes * image.depth > u64::from(u32::MAX) || image.width > u64::from(u32::MAX) {
        return Err(too_large());
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(b"II")?;
    out.write_all(&42u16.to_le_bytes())?;
    out.write_all(&8u32.to_le_bytes())?;
    for z in 0..image.depth {
        let ifd_at = 8 + z * page_bytes;
        let data_at = ifd_at + ifd_bytes;
        let next = if z + 1 < image.depth { ifd_at + page_bytes } else { 0 };
        out.write_all(&ENTRIES.to_le_bytes())?;
        // (tag, type: 3 SHORT / 4 LONG, value), in ascending tag order.
        let entries: [(u16, u16, u32); ENTRIES as usize] = [
            (256, 4, image.width as u32),  // ImageWidth
            (257, 4, image.height as u32), // ImageLength
            (258, 3, 64),                  // BitsPerSample
            (259, 3, 1),                   // Compression: none
            (262, 3, 1),                   // PhotometricInterpretation: BlackIsZero
            (273, 4, data_at as u32),      // StripOffsets
            (277, 3, 1),                   // SamplesPerPixel
            (278, 4, image.height as u32), // RowsPerStrip: one strip
            (279, 4, plane_bytes as u32),  // StripByteCounts
            (284, 3, 1),                   // PlanarConfiguration: chunky
            (339, 3, 3),                   // SampleFormat: IEEE floating point
        ];
        for (tag, kind, value) in entries {
            out.write_all(&tag.to_le_bytes())?;
            out.write_all(&kind.to_le_bytes())?;
            out.write_all(&1u32.to_le_bytes())?;
            // A SHORT sits in the first two bytes of the value field.
            out.write_all(&value.to_le_bytes())?;
        }
        out.write_all(&(next as u32).to_le_bytes())?;
        let plane = (z * image.width * image.height) as usize..((z + 1) * image.width * image.height) as usize;
        for v in &image.values[plane] {
            out.write_all(&v.to_le_bytes())?;
        }
    }
    out.flush()
}

/// Width and height of a spectrum plot, in pixels.
const PLOT: (usize, usize) = (1200, 400);

/// Writes a spectrum as a PNG plot: m/z across (from the first to the last value), intensity
/// up (from 0 to the largest), each pixel column showing the largest intensity that falls in
/// it as a stick, dark blue on white.
pub fn write_spectrum_png(path: &Path, mz: &[f64], intensity: &[f64]) -> std::io::Result<()> {
    let (width, height) = PLOT;
    let mut column_max = vec![0.0f64; width];
    let (first, last) = (mz.first().copied().unwrap_or(0.0), mz.last().copied().unwrap_or(1.0));
    let span = if last > first { last - first } else { 1.0 };
    for (&m, &v) in mz.iter().zip(intensity) {
        if m.is_finite() && v.is_finite() {
            let column = (((m - first) / span) * (width - 1) as f64)
                .round()
                .clamp(0.0, (width - 1) as f64) as usize;
            column_max[column] = column_max[column].max(v);
        }
    }
    let top = column_max.iter().copied().fold(0.0, f64::max);
    let mut rgb = vec![255u8; width * height * 3];
    for (x, &v) in column_max.iter().enumerate() {
        let bar = if top > 0.0 {
            ((v / top) * (height - 1) as f64).round() as usize
        } else {
            0
        };
        for y in (height - 1 - bar)..height {
            rgb[(y * width + x) * 3..(y * width + x) * 3 + 3].copy_from_slice(&[31, 58, 147]);
        }
    }
    let file = std::fs::File::create(path)?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer.write_image_data(&rgb).map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_ends_and_percentiles() {
        assert_eq!(viridis(0.0), [68, 1, 84]);
        assert_eq!(viridis(1.0), [253, 231, 37]);
        assert_eq!(percentile(&[f64::NAN, 1.0, 2.0, 3.0, 100.0], 50.0), 3.0);
        assert_eq!(percentile(&[f64::NAN], 99.0), 0.0);
    }
}
