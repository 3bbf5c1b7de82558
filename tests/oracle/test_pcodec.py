"""Stores compressed with pcodec (`imzarr convert --codec pcodec`, format 1.4) hold the same
values as the default stores, and zarr-python (numcodecs with the `pcodec` package) reads them:
every array of every fixture equals the one of the blosc store, which the other oracle tests
hold to pyimzML, and ion images read from them by `imzarr ion-image` equal pyimzML's window sums.
"""

import json

import numpy as np
import pytest
import zarr
from pyimzml.ImzMLParser import ImzMLParser

from conftest import FACTS, FIXTURE_NAMES, FIXTURES, consolidated_arrays, convert_every_fixture, run_imzarr
from test_oracle import PYIMZML_MISREADS, pyimzml_window_sums


@pytest.fixture(scope="module")
def pcodec_stores(tmp_path_factory):
    return convert_every_fixture(tmp_path_factory.mktemp("pcodec"), "--codec", "pcodec")


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_array_equals_the_blosc_store(stores, pcodec_stores, name):
    ours, theirs = zarr.open_group(str(pcodec_stores[name]), mode="r"), zarr.open_group(str(stores[name]), mode="r")
    arrays = consolidated_arrays(pcodec_stores[name])
    assert set(arrays) == set(consolidated_arrays(stores[name]))
    codecs = {path: [c["name"] for c in doc["codecs"][0]["configuration"]["codecs"]] for path, doc in arrays.items()}
    assert codecs["spectra/mz"] == ["numcodecs.pcodec", "crc32c"]
    assert codecs["images/tic/0"][1] == "blosc"
    assert ours.attrs["imzarr"]["version"] == "1.4"
    assert json.loads(run_imzarr("info", str(pcodec_stores[name]), "--json").stdout)["compression"] == {"pcodec": {"level": 5}}
    for path in arrays:
        got, expected = ours[path][...], theirs[path][...]
        assert got.dtype == expected.dtype, path
        assert np.array_equal(got.view(np.uint8), expected.view(np.uint8)), path


@pytest.mark.parametrize("name", sorted(set(FIXTURE_NAMES) - PYIMZML_MISREADS))
def test_ion_image_of_a_pcodec_store_equals_pyimzml(pcodec_stores, name, tmp_path):
    peak = FACTS[name]["max_peak_pyimzml"]["mz"]
    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    root = zarr.open_group(str(pcodec_stores[name]), mode="r")
    ox, oy = root.attrs["imzarr"]["grid"]["origin"][:2]
    out = tmp_path / "ion.npy"
    run_imzarr("ion-image", str(pcodec_stores[name]), "--mz", repr(peak), "--da", "0.01", "-o", str(out))
    image = np.load(out)
    expected = pyimzml_window_sums(parser, peak - 0.01, peak + 0.01)
    for i, (x, y, *_rest) in enumerate(parser.coordinates):
        assert image[y - oy, x - ox] == pytest.approx(expected[i], rel=1e-9, abs=1e-12), (name, x, y)
