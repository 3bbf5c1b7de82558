"""The `imzarr` binary end to end, with pyimzML as the oracle: convert -> info -> ion-image ->
spectrum -> region -> validate -> export, locally and over the S3 test server; the exported
imzML, read by pyimzML, equals the source."""

import json
import os
import uuid

import numpy as np
import pytest
from pyimzml.ImzMLParser import ImzMLParser

from conftest import FACTS, FIXTURE_NAMES, FIXTURES, run_imzarr
from test_oracle import PYIMZML_MISREADS, pyimzml_window_sums

ORACLE_FIXTURES = sorted(set(FIXTURE_NAMES) - PYIMZML_MISREADS)


def assert_same_as_source(name, exported_path):
    source = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    exported = ImzMLParser(str(exported_path))
    assert len(exported.coordinates) == len(source.coordinates), name
    for i, (s, e) in enumerate(zip(source.coordinates, exported.coordinates)):
        assert tuple(s[:2]) == tuple(e[:2]), (name, i)
        source_mz, source_int = source.getspectrum(i)
        mz, intensity = exported.getspectrum(i)
        assert mz.dtype == source_mz.dtype and intensity.dtype == source_int.dtype, (name, i)
        assert np.array_equal(mz, source_mz) and np.array_equal(intensity, source_int), (name, i)


@pytest.mark.parametrize("name", ORACLE_FIXTURES)
def test_export_is_read_by_pyimzml_as_the_source(stores, name, tmp_path):
    out = tmp_path / f"{name}.imzML"
    result = run_imzarr("export", str(stores[name]), str(out))
    assert f"exported {FACTS[name]['spectra']} spectra" in result.stdout
    assert_same_as_source(name, out)


@pytest.mark.parametrize("name", ORACLE_FIXTURES[:4])
def test_region_and_mean_equal_pyimzml(stores, name):
    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    xs = [c[0] for c in parser.coordinates]
    ys = [c[1] for c in parser.coordinates]
    x0, y0 = min(xs), min(ys)
    x1, y1 = x0 + 4, y0 + 3
    lines = run_imzarr("region", str(stores[name]), "--x", f"{x0}..{x1}", "--y", f"{y0}..{y1}", "--json").stdout.splitlines()
    got = {(d["x"], d["y"]): d for d in map(json.loads, lines)}
    expected = [i for i, c in enumerate(parser.coordinates) if x0 <= c[0] < x1 and y0 <= c[1] < y1]
    assert sorted(got) == sorted(tuple(parser.coordinates[i][:2]) for i in expected)
    for i in expected:
        mz, intensity = parser.getspectrum(i)
        spectrum = got[tuple(parser.coordinates[i][:2])]
        assert np.array_equal(np.asarray(spectrum["mz"]), mz.astype(np.float64))
        assert np.array_equal(np.asarray(spectrum["intensity"]), intensity.astype(np.float64))
    mean = json.loads(run_imzarr("region", str(stores[name]), "--x", f"{x0}..{x1}", "--y", f"{y0}..{y1}", "--mean", "--json").stdout)
    assert mean["spectra"] == len(expected)
    if expected:
        points = {}
        for i in expected:
            for m, v in zip(*parser.getspectrum(i)):
                points[float(m)] = points.get(float(m), 0.0) + float(v)
        assert np.array_equal(np.asarray(mean["mz"]), np.asarray(sorted(points)))
        want = np.asarray([points[m] for m in sorted(points)]) / len(expected)
        assert np.allclose(np.asarray(mean["intensity"]), want, rtol=1e-9, atol=1e-12)


S3_BUCKET = os.environ.get("IMZARR_TEST_S3_BUCKET")


@pytest.mark.skipif(not S3_BUCKET, reason="IMZARR_TEST_S3_BUCKET is not set: no S3 test server is up")
@pytest.mark.parametrize("name", ["cardinal1_cut_masspix", "pyimzml_example_processed"])
def test_cli_over_the_s3_test_server(name, tmp_path):
    url = f"s3://{S3_BUCKET}/cli-{uuid.uuid4().hex}/{name}.imzarr"
    run_imzarr("convert", str(FIXTURES / f"{name}.imzML"), url)
    info = json.loads(run_imzarr("info", url, "--json").stdout)
    assert info["spectra"] == FACTS[name]["spectra"]
    peak = FACTS[name]["max_peak_pyimzml"]["mz"]
    out = tmp_path / "ion.npy"
    stats = run_imzarr("ion-image", url, "--mz", repr(peak), "--da", "0.01", "-o", str(out), "--stats").stdout
    assert "requests:" in stats and "GETs" in stats
    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    image = np.load(out)
    ox, oy = info["grid"]["origin"][:2]
    expected = pyimzml_window_sums(parser, peak - 0.01, peak + 0.01)
    for i, (x, y, *_rest) in enumerate(parser.coordinates):
        assert image[y - oy, x - ox] == pytest.approx(expected[i], rel=1e-9, abs=1e-12)
    x, y = parser.coordinates[0][:2]
    spectrum = json.loads(run_imzarr("spectrum", url, "--x", str(x), "--y", str(y), "--json").stdout)
    assert np.array_equal(np.asarray(spectrum["intensity"]), parser.getspectrum(0)[1].astype(np.float64))
    run_imzarr("validate", url, "--full")
    exported = tmp_path / f"{name}.imzML"
    run_imzarr("export", url, str(exported))
    assert_same_as_source(name, exported)
