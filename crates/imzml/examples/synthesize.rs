//! Writes a synthetic imzML dataset: `synthesize OUT.imzML MODE MZ_TYPE INTENSITY_TYPE [zlib]`.
//!
//! MODE is `processed` or `continuous`; types are Zarr names (`float64`, `int32`, ...). Used by
//! the Python oracle tests to check that pyimzML reads what our writer writes.

use imzarr_imzml::synthetic::{SyntheticSpec, write_synthetic};
use imzarr_imzml::{Compression, DataType, Mode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, mode, mz, intensity, rest @ ..] = args.as_slice() else {
        return Err("usage: synthesize OUT.imzML processed|continuous MZ_TYPE INTENSITY_TYPE [zlib]".into());
    };
    let mode = match mode.as_str() {
        "processed" => Mode::Processed,
        "continuous" => Mode::Continuous,
        other => return Err(format!("unknown mode {other}").into()),
    };
    let dtype = |name: &str| DataType::from_zarr_name(name).ok_or_else(|| format!("unknown type {name}"));
    let base = if mode == Mode::Processed {
        SyntheticSpec::small_processed()
    } else {
        SyntheticSpec::small_continuous()
    };
    let compression = if rest.first().is_some_and(|r| r == "zlib") {
        Compression::Zlib
    } else {
        Compression::None
    };
    let spec = SyntheticSpec {
        mz_dtype: dtype(mz)?,
        intensity_dtype: dtype(intensity)?,
        compression,
        ..base
    };
    let written = write_synthetic(out, &spec)?;
    println!("{} spectra written to {}", written.spectra, written.imzml.display());
    Ok(())
}
