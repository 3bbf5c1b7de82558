"""The `imzarr` binary end to end, with pyimzML as the oracle: convert -> info -> ion-image ->
spectrum -> region -> validate -> export, locally and over the S3 test server; the exported
imzML, read by pyimzML, equals the source."""

import json
import os
import subprocess
import uuid
import warnings

import numpy as np
import pytest
from pyimzml.ImzMLParser import ImzMLParser

from conftest import FACTS, FIXTURE_NAMES, FIXTURES, imzarr_binary, run_imzarr
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


# File content and scan settings terms the exporter writes for the new files itself.
OWN_FILE_CONTENT = {
    "universally unique identifier", "ibd MD5", "ibd SHA-1", "ibd SHA-256",
    "continuous", "processed", "centroid spectrum", "profile spectrum", "MS1 spectrum",
}
OWN_SCAN_SETTINGS = {"max count of pixels x", "max count of pixels y"}
PIXEL_SIZE = {"pixel size (x)", "pixel size y"}


def without(mapping, keys):
    return {k: v for k, v in mapping.items() if k not in keys}


@pytest.mark.parametrize("name", ORACLE_FIXTURES)
def test_export_carries_the_source_header_over(stores, name, tmp_path):
    """pyimzML's reading of the exported header holds the source's samples, instrument
    configurations, source files, contacts, file content terms and scan settings, and its
    software and data processing besides the exporter's own."""
    out = tmp_path / f"{name}.imzML"
    run_imzarr("export", str(stores[name]), str(out))
    source = ImzMLParser(str(FIXTURES / f"{name}.imzML")).metadata.pretty()
    with warnings.catch_warnings():
        # A reference to a group the file does not define. (Terms whose names disagree with
        # their accessions are the source's, copied as they were.)
        warnings.filterwarnings("error", message="ReferenceableParamGroup .* not found")
        exported = ImzMLParser(str(out)).metadata.pretty()
    assert exported["samples"] == source["samples"], name
    if source["instrument_configurations"]:
        assert exported["instrument_configurations"] == source["instrument_configurations"], name
    else:
        assert list(exported["instrument_configurations"]) == ["IC1"], name
    for section in ("softwares", "data_processings"):
        # The exporter's own comes last, under an id the source does not use.
        *theirs, (own_id, _) = exported[section].items()
        assert dict(theirs) == source[section], (name, section)
        assert own_id not in source[section], (name, section)
    assert without(exported["file_description"], OWN_FILE_CONTENT) == without(
        source["file_description"], OWN_FILE_CONTENT
    ), name
    if source["scan_settings"]:
        # The first scan settings get the maximum pixel counts of the grid written, and a pixel
        # size where they had none; the others stay as they were.
        source_first, *source_others = source["scan_settings"].values()
        exported_first, *exported_others = exported["scan_settings"].values()
        added = OWN_SCAN_SETTINGS | (set() if PIXEL_SIZE & set(source_first) else PIXEL_SIZE)
        assert without(exported_first, added) == without(source_first, OWN_SCAN_SETTINGS), name
        assert exported_others == source_others, name


@pytest.mark.parametrize("name", ORACLE_FIXTURES)
def test_info_lists_the_instrument_and_software_pyimzml_reads(stores, name):
    """`imzarr info --json`, of the imzML and of the store, lists the software and instrument
    configurations pyimzML's metadata holds, each component's terms under its kind."""
    metadata = ImzMLParser(str(FIXTURES / f"{name}.imzML")).metadata.pretty()
    for location in (str(FIXTURES / f"{name}.imzML"), str(stores[name])):
        info = json.loads(run_imzarr("info", location, "--json").stdout)
        softwares = metadata["softwares"].values()
        assert [(s["id"], s["version"]) for s in info["software"]] == [(s["id"], s.get("version")) for s in softwares]
        configurations = metadata["instrument_configurations"]
        assert [c["id"] for c in info["instrument"]] == list(configurations), (name, location)
        for ours, theirs in zip(info["instrument"], configurations.values()):
            for component in theirs.get("components", []):
                names = [term.split(" ")[0] for term in ours[component["type"]]]
                for term in set(component) - {"type", "order"}:
                    assert term.split(" ")[0] in names, (name, component["type"], term, ours)


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


@pytest.mark.skipif(not S3_BUCKET, reason="IMZARR_TEST_S3_BUCKET is not set: no S3 test server is up")
@pytest.mark.parametrize("name", ["cardinal1_cut_masspix", "pyimzml_example_processed"])
def test_cli_over_plain_http_from_a_public_bucket(stores, name, tmp_path):
    """A store published in a public bucket (or on any web server answering range requests)
    reads over `http://` without credentials, as the same store does locally."""
    import boto3

    endpoint = os.environ["AWS_ENDPOINT_URL"]
    prefix = f"public-{uuid.uuid4().hex}/{name}.imzarr"
    run_imzarr("convert", str(FIXTURES / f"{name}.imzML"), f"s3://{S3_BUCKET}/{prefix}")
    s3 = boto3.client("s3", endpoint_url=endpoint)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET, Prefix=prefix + "/"):
        for item in page["Contents"]:
            s3.put_object_acl(Bucket=S3_BUCKET, Key=item["Key"], ACL="public-read")
    url = f"{endpoint}/{S3_BUCKET}/{prefix}"
    assert url.startswith("http://"), url
    anonymous = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}

    def answers(store, out):
        def imzarr(*args):
            result = subprocess.run([str(imzarr_binary()), *args], capture_output=True, text=True, env=anonymous)
            assert result.returncode == 0, (args, result.stderr)
            return result.stdout.replace(store, "STORE")

        info = json.loads(imzarr("info", store, "--json"))
        x, y = info["grid"]["origin"][:2]
        peak = FACTS[name]["max_peak_pyimzml"]["mz"]
        imzarr("ion-image", store, "--mz", repr(peak), "--da", "0.01", "-o", str(out))
        return [info, imzarr("spectrum", store, "--x", str(x), "--y", str(y)), np.load(out).tolist(),
                imzarr("validate", store, "--full")]

    local = answers(str(stores[name]), tmp_path / "local.npy")
    assert answers(url, tmp_path / "http.npy") == local


@pytest.mark.skipif(not S3_BUCKET, reason="IMZARR_TEST_S3_BUCKET is not set: no S3 test server is up")
def test_convert_reads_imzml_over_plain_http(stores, tmp_path):
    """An imzML and its .ibd published on a web server (a public bucket here) convert from their
    `http://` URL, without credentials, into the store the local files give."""
    import boto3

    name = "pyimzml_example_processed"
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    prefix = f"public-input-{uuid.uuid4().hex}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    for suffix in ("imzML", "ibd"):
        s3.upload_file(str(FIXTURES / f"{name}.{suffix}"), S3_BUCKET, f"{prefix}/{name}.{suffix}",
                       ExtraArgs={"ACL": "public-read"})
    anonymous = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    store = tmp_path / f"{name}.imzarr"
    result = subprocess.run([str(imzarr_binary()), "convert", f"{endpoint}/{S3_BUCKET}/{prefix}/{name}.imzML", str(store)],
                            capture_output=True, text=True, env=anonymous)
    assert result.returncode == 0, result.stderr
    files = lambda root: {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert files(store) == files(stores[name])


VIRIDIS_LOW, VIRIDIS_HIGH = (68, 1, 84), (253, 231, 37)


@pytest.mark.parametrize("name", ORACLE_FIXTURES[:6])
def test_ion_image_png_and_tiff_against_pyimzml(stores, name, tmp_path):
    """The PNG decoded (pypng) is transparent exactly where pyimzML has no spectrum, the darkest
    viridis colour where the window sums to 0 (the scale starts at 0) and the brightest at the
    image's maximum; the
    TIFF (read by tifffile) holds pyimzML's window sums."""
    import png
    import tifffile

    peak = FACTS[name]["max_peak_pyimzml"]["mz"]
    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    info = json.loads(run_imzarr("info", str(stores[name]), "--json").stdout)
    ox, oy = info["grid"]["origin"][:2]
    expected = pyimzml_window_sums(parser, peak - 0.01, peak + 0.01)
    run_imzarr("ion-image", str(stores[name]), "--mz", repr(peak), "--da", "0.01", "-o", str(tmp_path / "ion.png"), "--percentile", "100")
    run_imzarr("ion-image", str(stores[name]), "--mz", repr(peak), "--da", "0.01", "-o", str(tmp_path / "ion.tiff"))
    width, height, rows, _ = png.Reader(filename=str(tmp_path / "ion.png")).asRGBA8()
    pixels = np.array([list(row) for row in rows], dtype=np.uint8).reshape(height, width, 4)
    tiff = tifffile.imread(str(tmp_path / "ion.tiff"))
    assert tiff.shape == (height, width) and tiff.dtype == np.float64
    acquired = np.zeros((height, width), dtype=bool)
    top = max(expected)
    for i, (x, y, *_rest) in enumerate(parser.coordinates):
        acquired[y - oy, x - ox] = True
        rgba = tuple(int(v) for v in pixels[y - oy, x - ox])
        assert rgba[3] == 255, (name, x, y)
        assert tiff[y - oy, x - ox] == pytest.approx(expected[i], rel=1e-9, abs=1e-12)
        if expected[i] == 0.0 and top > 0.0:
            assert rgba[:3] == VIRIDIS_LOW, (name, x, y, rgba)
        if expected[i] == top and top > 0.0:
            assert rgba[:3] == VIRIDIS_HIGH, (name, x, y, rgba)
    assert np.all(pixels[~acquired][:, 3] == 0), "pixels without a spectrum must be transparent"
    assert np.all(np.isnan(tiff[~acquired]))


@pytest.mark.parametrize("name", ORACLE_FIXTURES[:4])
def test_spectrum_plot_peaks_where_pyimzml_does(stores, name, tmp_path):
    """The PNG plot's tallest stick is in the column of pyimzML's most intense point."""
    import png

    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    x, y = parser.coordinates[0][:2]
    mz, intensity = parser.getspectrum(0)
    if len(mz) < 2 or float(intensity.max()) <= 0:
        pytest.skip("a spectrum with one point or no signal has no peak to find")
    run_imzarr("spectrum", str(stores[name]), "--x", str(x), "--y", str(y), "-o", str(tmp_path / "s.png"))
    width, height, rows, _ = png.Reader(filename=str(tmp_path / "s.png")).asRGB8()
    pixels = np.array([list(row) for row in rows], dtype=np.uint8).reshape(height, width, 3)
    drawn = np.any(pixels != 255, axis=2)
    heights = drawn.sum(axis=0)
    peak = float(mz[int(np.argmax(intensity))])
    column = round((peak - float(mz[0])) / (float(mz[-1]) - float(mz[0])) * (width - 1))
    assert heights[column] == heights.max() == height, (name, column, int(np.argmax(heights)))


@pytest.mark.skipif(not S3_BUCKET, reason="IMZARR_TEST_S3_BUCKET is not set: no S3 test server is up")
def test_an_archive_on_s3_converts_by_prefix(stores, tmp_path):
    """`imzarr convert s3://bucket/prefix/ OUT`: every .imzML object below the prefix, named by
    its path below it, each store equal to the one converted from the local file."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    prefix = f"archive-{uuid.uuid4().hex}"
    layout = {"cardinal1_cut_masspix": "a/one", "pyimzml_example_processed": "two", "imzy_simple": "a/b/three"}
    for name, key in layout.items():
        for ext in ("imzML", "ibd"):
            s3.upload_file(str(FIXTURES / f"{name}.{ext}"), S3_BUCKET, f"{prefix}/{key}.{ext}")
    out = tmp_path / "stores"
    result = run_imzarr("convert", f"s3://{S3_BUCKET}/{prefix}/", str(out))
    assert "summary: 3 converted, 0 skipped" in result.stdout, result.stdout
    for name, key in layout.items():
        store = out / f"{key}.imzarr"
        ours = {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file() and p != store / "zarr.json"}
        local = {p.relative_to(stores[name]): p.read_bytes() for p in stores[name].rglob("*") if p.is_file() and p != stores[name] / "zarr.json"}
        # Root metadata names the source file, which differs; every array and its data must not.
        assert ours == local, name

    # A glob over the same objects (`*` stays within one level, `**` crosses levels), and a
    # manifest naming a remote prefix and a remote file: the same stores, by the same names.
    globbed = tmp_path / "globbed"
    result = run_imzarr("convert", f"s3://{S3_BUCKET}/{prefix}/a/**/*.imzML", str(globbed))
    assert "summary: 2 converted, 0 skipped" in result.stdout, result.stdout
    assert (globbed / "one.imzarr" / "zarr.json").is_file() and (globbed / "b" / "three.imzarr" / "zarr.json").is_file()
    one_level = tmp_path / "one-level"
    result = run_imzarr("convert", f"s3://{S3_BUCKET}/{prefix}/*/*.imzML", str(one_level))
    assert "summary: 1 converted, 0 skipped" in result.stdout, result.stdout
    assert (one_level / "a" / "one.imzarr" / "zarr.json").is_file()
    manifest = tmp_path / "manifest.txt"
    manifest.write_text(f"# remote inputs\ns3://{S3_BUCKET}/{prefix}/a/b/\n\ns3://{S3_BUCKET}/{prefix}/two.imzML\n")
    listed = tmp_path / "listed"
    result = run_imzarr("convert", "--manifest", str(manifest), str(listed))
    assert "summary: 2 converted, 0 skipped" in result.stdout, result.stdout
    assert (listed / "three.imzarr" / "zarr.json").is_file() and (listed / "two.imzarr" / "zarr.json").is_file()
