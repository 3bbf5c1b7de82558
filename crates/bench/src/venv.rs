//! The Python environment of the baselines (pyimzML) and of the S3 test server (moto): the
//! `.venv` that `bash .ci/run` makes, made here the same way when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

const VENV: &str = ".venv";

/// The venv's interpreter with `tests/requirements.txt` installed; `None` (with a message)
/// when there is none and none can be made, so that the suite still runs without Python.
pub fn python() -> anyhow::Result<Option<PathBuf>> {
    let python = Path::new(VENV).join("bin/python");
    if python.exists() {
        return Ok(Some(python));
    }
    let requirements = Path::new("tests/requirements.txt");
    if !requirements.exists() {
        eprintln!("no {VENV} and no tests/requirements.txt here (run from the repository root): Python rows skipped");
        return Ok(None);
    }
    let base = base_interpreter();
    eprintln!("making {VENV} with {} (once) ...", base.display());
    let made = Command::new(&base).args(["-m", "venv", VENV]).status()?.success()
        && Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(requirements)
            .status()?
            .success();
    if !made {
        eprintln!("could not make {VENV}: pyimzML and S3 rows skipped");
        return Ok(None);
    }
    Ok(Some(python))
}

/// Python 3.12.1 from pyenv where it is (zarr-python 3.4 needs 3.12), else `python3`.
fn base_interpreter() -> PathBuf {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pyenv")));
    root.map(|r| r.join("versions/3.12.1/bin/python3"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("python3"))
}
