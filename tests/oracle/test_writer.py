"""pyimzML reads the imzML our writer produces, and sees what imzarr sees after conversion."""

import subprocess

import numpy as np
import pytest
import zarr
from pyimzml.ImzMLParser import ImzMLParser

from conftest import ROOT, run_imzarr

SYNTHESIZE = ROOT / "target" / "debug" / "examples" / "synthesize"

# pyimzML reads 32/64-bit floats and integers only; the other types and zlib-compressed files
# are checked by the Rust round-trip tests.
CASES = [
    ("processed", "float64", "float32"),
    ("processed", "float32", "int32"),
    ("processed", "float64", "int64"),
    ("continuous", "float32", "float32"),
    ("continuous", "float64", "float64"),
]


@pytest.mark.parametrize("mode,mz_type,intensity_type", CASES)
def test_pyimzml_reads_our_writer(tmp_path, mode, mz_type, intensity_type):
    source = tmp_path / "synthetic.imzML"
    subprocess.run([str(SYNTHESIZE), str(source), mode, mz_type, intensity_type], check=True, capture_output=True)
    parser = ImzMLParser(str(source))
    store = tmp_path / "synthetic.imzarr"
    run_imzarr("convert", str(source), str(store))
    root = zarr.open_group(str(store), mode="r")
    assert root.attrs["imzarr"]["mode"] == mode
    source_index = root["pixels/source_index"][:]
    assert len(source_index) == len(parser.coordinates) > 0
    for k, src in enumerate(source_index):
        mz, intensity = parser.getspectrum(int(src))
        assert mz.dtype == np.dtype(mz_type) and intensity.dtype == np.dtype(intensity_type)
        if mode == "processed":
            offsets = root["pixels/point_offset"][k : k + 2]
            got_mz = root["spectra/mz"][offsets[0] : offsets[1]]
            got_int = root["spectra/intensity"][offsets[0] : offsets[1]]
        else:
            got_mz, got_int = root["spectra/mz"][:], root["spectra/intensity"][k]
        assert np.array_equal(got_mz, mz) and np.array_equal(got_int, intensity)
