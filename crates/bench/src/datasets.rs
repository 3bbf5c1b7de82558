//! Generated datasets, cached by their parameters.

use std::path::{Path, PathBuf};

use imzarr_imzml::synthetic::{SyntheticSpec, write_synthetic};
use imzarr_imzml::{DataType, Mode};

/// A processed (~1,000 peaks, f64/f32) or continuous (20,000 channels, f32/f32) dataset of
/// about `size_mb` MB of `.ibd`.
pub fn spec_for(mode: Mode, size_mb: u64) -> SyntheticSpec {
    let (points, mz_dtype) = match mode {
        Mode::Processed => (1000usize, DataType::F64),
        Mode::Continuous => (20_000usize, DataType::F32),
    };
    let per_spectrum = match mode {
        Mode::Processed => points as u64 * 12,
        Mode::Continuous => points as u64 * 4,
    };
    let spectra = (size_mb * 1_000_000 / per_spectrum).max(1);
    let side = (spectra as f64).sqrt().ceil() as u64;
    SyntheticSpec {
        width: side,
        height: spectra.div_ceil(side),
        mode,
        points_per_spectrum: points,
        mz_dtype,
        intensity_dtype: DataType::F32,
        skip_every: 0,
        seed: 7,
        ..SyntheticSpec::small_processed()
    }
}

/// The `.imzML` of `spec`, generated once.
pub fn ensure(dir: &Path, name: &str, spec: &SyntheticSpec) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("{name}.imzML"));
    if !path.exists() || !path.with_extension("ibd").exists() {
        eprintln!("generating {} ...", path.display());
        write_synthetic(&path, spec)?;
    }
    Ok(path)
}

/// Every file of the store directory `store`, with its key (its `/`-separated path inside).
pub fn store_files(store: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let key = path
                    .strip_prefix(root)?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((path, key));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(store, store, &mut files)?;
    Ok(files)
}
