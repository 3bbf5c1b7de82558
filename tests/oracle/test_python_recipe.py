"""The zarr-python recipe (`examples/python/imzarr_zarr.py`) against pyimzML reading the source
imzML: ion images, spectra and the TIC of every real fixture, and ion images over a store whose
m/z chunk index has several blocks, with windows across its whole m/z range."""

import sys

import numpy as np
import pytest
from pyimzml.ImzMLParser import ImzMLParser

from conftest import FACTS, FIXTURE_NAMES, FIXTURES, ROOT, run_imzarr
from test_oracle import PYIMZML_MISREADS, pyimzml_window_sums

sys.path.insert(0, str(ROOT / "examples" / "python"))
from imzarr_zarr import ImzarrStore  # noqa: E402

NAMES = sorted(set(FIXTURE_NAMES) - PYIMZML_MISREADS)


def assert_image_equals(image, store, parser, expected):
    ox, oy = store.origin[:2]
    acquired = np.zeros(image.shape, dtype=bool)
    for i, (x, y, *_rest) in enumerate(parser.coordinates):
        acquired[y - oy, x - ox] = True
        assert image[y - oy, x - ox] == pytest.approx(expected[i], rel=1e-9, abs=1e-12), (x, y)
    assert np.all(np.isnan(image[~acquired])), "pixels without a spectrum must be NaN"


@pytest.mark.parametrize("name", NAMES)
def test_ion_images_spectra_and_tic_equal_pyimzml(stores, name):
    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    store = ImzarrStore(str(stores[name]))
    peak = FACTS[name]["max_peak_pyimzml"]["mz"]
    for low, high in [(peak - 0.01, peak + 0.01), (peak - 2.0, peak + 2.0), (0.5, 1.5), (1e9, 2e9)]:
        image = store.ion_image(low, high)
        assert_image_equals(image, store, parser, pyimzml_window_sums(parser, low, high))
    tics = []
    for i, (x, y, *_rest) in enumerate(parser.coordinates):
        mz, intensity = parser.getspectrum(i)
        got_mz, got_intensity = store.spectrum(x, y)
        assert got_mz.dtype == mz.dtype and got_intensity.dtype == intensity.dtype
        assert np.array_equal(got_mz, mz) and np.array_equal(got_intensity, intensity), (x, y)
        tics.append(float(np.sum(intensity, dtype=np.float64)))
    assert_image_equals(store.tic(), store, parser, tics)
    ox, oy = store.origin[:2]
    assert store.spectrum(ox - 1, oy) is None


def test_windows_across_a_chunk_index_of_several_blocks(tmp_path):
    name = "pyimzml_example_processed"
    target = tmp_path / "small_chunks.imzarr"
    # 75,591 points in chunks of 8: 9,449 rows of the chunk index, in 37 blocks of 256 rows.
    run_imzarr("convert", "--mz-chunk-points", "8", str(FIXTURES / f"{name}.imzML"), str(target))
    store = ImzarrStore(str(target))
    blocks = store.attributes["mz_index"]["blocks"]
    assert len(blocks["mz_range"]) >= 4, blocks["rows"]
    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    low, high = store.attributes["mz_range"]
    # Windows that start inside each block and straddle the boundaries between blocks.
    edges = [float(b[0]) for b in blocks["mz_range"]] + [float(blocks["mz_range"][-1][1])]
    windows = [(e - 0.3, e + 0.3) for e in edges] + [(low, high), (low - 1.0, low), (high, high + 1.0)]
    # Windows that end, or begin, exactly at a point with signal: both bounds are inclusive.
    mz = store.root["mz_major/mz"][...]
    intensity = store.root["mz_major/intensity"][...]
    with_signal = np.nonzero(intensity > 0)[0]
    for k in with_signal[:: max(1, len(with_signal) // 25)]:
        m = float(mz[k])
        windows += [(m - 0.05, m), (m, m + 0.05)]
    for window in windows:
        image = store.ion_image(*window)
        assert_image_equals(image, store, parser, pyimzml_window_sums(parser, *window))
