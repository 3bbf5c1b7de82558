"""imzarr against tools nobody on this project wrote.

- pyimzML reads the source imzML: every spectrum and coordinate in the store must equal it, and
  ion images rendered by `imzarr ion-image` must equal pyimzML's window sums.
- zarr-python opens every array of every store and reads the same values.
- ome-zarr-models validates the TIC image, and rejects broken copies of it.
"""

import bisect
import json
import shutil
import subprocess
import warnings

import numpy as np
import pytest
import zarr
from pyimzml.ImzMLParser import ImzMLParser

from conftest import FACTS, FIXTURE_NAMES, FIXTURES, ROOT, consolidated_arrays, run_imzarr

# pyimzML takes the first of two conflicting precision terms; the byte lengths prove the file
# stores 64-bit m/z (see crates/imzml/tests/real_fixtures.rs), so pyimzML is no oracle here.
PYIMZML_MISREADS = {"thyra_two_precision_terms"}


def open_store(path):
    return zarr.open_group(str(path), mode="r")


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_array_opens_in_zarr_python(stores, name):
    root = open_store(stores[name])
    arrays = consolidated_arrays(stores[name])
    assert len(arrays) >= 10
    for path, document in arrays.items():
        data = root[path][...]
        assert list(data.shape) == document["shape"], path


@pytest.mark.parametrize("name", sorted(set(FIXTURE_NAMES) - PYIMZML_MISREADS))
def test_spectra_and_coordinates_equal_pyimzml(stores, name):
    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    root = open_store(stores[name])
    attrs = root.attrs["imzarr"]
    ox, oy = attrs["grid"]["origin"][:2]
    source_index = root["pixels/source_index"][:]
    xs, ys = root["pixels/x"][:], root["pixels/y"][:]
    assert len(source_index) == len(parser.coordinates) == FACTS[name]["spectra"]
    index = root["pixels/index"][:]
    if attrs["mode"] == "processed":
        offsets = root["pixels/point_offset"][:]
        mz_all, int_all = root["spectra/mz"][:], root["spectra/intensity"][:]
    else:
        axis, rows = root["spectra/mz"][:], root["spectra/intensity"][:]
    for k, src in enumerate(source_index):
        x, y = parser.coordinates[int(src)][:2]
        assert (xs[k] + ox, ys[k] + oy) == (x, y)
        assert index[y - oy, x - ox] == k
        mz, intensity = parser.getspectrum(int(src))
        if attrs["mode"] == "processed":
            a, b = offsets[k], offsets[k + 1]
            got_mz, got_int = mz_all[a:b], int_all[a:b]
        else:
            got_mz, got_int = axis, rows[k]
        assert got_mz.dtype == mz.dtype and got_int.dtype == intensity.dtype
        assert np.array_equal(got_mz, mz) and np.array_equal(got_int, intensity), (name, k)


def pyimzml_window_sums(parser, low, high):
    """pyimzML's getionimage logic (bisect on each spectrum), per spectrum index."""
    sums = []
    for i in range(len(parser.coordinates)):
        mz, intensity = parser.getspectrum(i)
        lo = bisect.bisect_left(mz, low)
        hi = bisect.bisect_right(mz, high)
        sums.append(float(np.sum(intensity[lo:hi], dtype=np.float64)))
    return sums


@pytest.mark.parametrize("name", sorted(set(FIXTURE_NAMES) - PYIMZML_MISREADS))
def test_ion_image_equals_pyimzml(stores, name, tmp_path):
    peak = FACTS[name]["max_peak_pyimzml"]["mz"]
    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    root = open_store(stores[name])
    ox, oy = root.attrs["imzarr"]["grid"]["origin"][:2]
    windows = [(peak, 0.01), (peak, 2.0), (1.0, 0.5)]  # at the peak, wide, below every m/z
    for centre, half_width in windows:
        out = tmp_path / f"ion_{centre}_{half_width}.npy"
        run_imzarr("ion-image", str(stores[name]), "--mz", repr(centre), "--da", repr(half_width), "-o", str(out))
        image = np.load(out)
        expected = pyimzml_window_sums(parser, centre - half_width, centre + half_width)
        acquired = np.zeros(image.shape, dtype=bool)
        for i, (x, y, *_rest) in enumerate(parser.coordinates):
            acquired[y - oy, x - ox] = True
            assert image[y - oy, x - ox] == pytest.approx(expected[i], rel=1e-9, abs=1e-12), (name, centre, x, y)
        assert np.all(np.isnan(image[~acquired])), "pixels without a spectrum must be NaN"


@pytest.mark.parametrize("name", sorted(set(FIXTURE_NAMES) - PYIMZML_MISREADS))
def test_max_ion_image_and_tic_image_equal_pyimzml(stores, name, tmp_path):
    """`imzarr ion-image --aggregation max` gives the most intense point in the window (0 where a
    spectrum has none) and `imzarr tic` each spectrum's intensity sum, as pyimzML reads them."""
    peak = FACTS[name]["max_peak_pyimzml"]["mz"]
    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    root = open_store(stores[name])
    ox, oy = root.attrs["imzarr"]["grid"]["origin"][:2]
    low, high = peak - 2.0, peak + 2.0
    run_imzarr("ion-image", str(stores[name]), "--mz", repr(peak), "--da", "2.0",
               "--aggregation", "max", "-o", str(tmp_path / "max.npy"))
    run_imzarr("tic", str(stores[name]), "-o", str(tmp_path / "tic.npy"))
    maxima, tic = np.load(tmp_path / "max.npy"), np.load(tmp_path / "tic.npy")
    acquired = np.zeros(tic.shape, dtype=bool)
    for i, (x, y, *_rest) in enumerate(parser.coordinates):
        mz, intensity = parser.getspectrum(i)
        inside = intensity[bisect.bisect_left(mz, low):bisect.bisect_right(mz, high)]
        expected_max = float(np.max(inside)) if len(inside) else 0.0
        acquired[y - oy, x - ox] = True
        assert maxima[y - oy, x - ox] == expected_max, (name, x, y)
        expected_tic = float(np.sum(intensity, dtype=np.float64))
        assert tic[y - oy, x - ox] == pytest.approx(expected_tic, rel=1e-9, abs=1e-12), (name, x, y)
    assert np.all(np.isnan(maxima[~acquired])) and np.all(np.isnan(tic[~acquired])), name


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_tic_image_is_valid_ome_zarr(stores, name):
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "ome-zarr-models"), "validate", str(stores[name] / "images" / "tic")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if FACTS[n]["mode"] == "continuous"])
def test_continuous_cube_is_valid_ome_zarr(stores, name):
    root = open_store(stores[name])
    if root.attrs["imzarr"]["mode"] != "continuous":
        pytest.skip("stored as processed")
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "ome-zarr-models"), "validate", str(stores[name] / "mz_major")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "breakage",
    ["drop_version", "wrong_axis_count", "missing_level"],
)
def test_ome_zarr_models_rejects_broken_copies(stores, tmp_path, breakage):
    copy = tmp_path / "tic"
    shutil.copytree(stores["cardinal1_cut_masspix"] / "images" / "tic", copy)
    group = json.loads((copy / "zarr.json").read_text())
    ome = group["attributes"]["ome"]
    if breakage == "drop_version":
        del ome["version"]
    elif breakage == "wrong_axis_count":
        ome["multiscales"][0]["axes"] = ome["multiscales"][0]["axes"][1:]
    else:
        shutil.rmtree(copy / "0")
    (copy / "zarr.json").write_text(json.dumps(group))
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "ome-zarr-models"), "validate", str(copy)], capture_output=True, text=True)
    assert result.returncode != 0, f"{breakage} was accepted"


@pytest.mark.parametrize("mode", ["processed", "continuous"])
def test_a_grid_with_empty_shards_reads_in_zarr_python(tmp_path, mode):
    """Spectra far apart along x: the shards of spatial arrays between them are not written,
    and zarr-python reads them as the fill value; the TIC and the cube stay valid OME-Zarr."""
    from pyimzml.ImzMLWriter import ImzMLWriter

    positions = [(1, 1), (2, 1), (1, 3), (7000, 3), (6999, 2)]
    source = tmp_path / f"far_{mode}.imzML"
    rng = np.random.default_rng(3)
    axis = np.linspace(100.0, 900.0, 32)
    with ImzMLWriter(str(source), mode=mode, mz_dtype=np.float64, intensity_dtype=np.float32) as writer:
        for x, y in positions:
            mz = axis if mode == "continuous" else np.sort(rng.uniform(100.0, 900.0, 12))
            writer.addSpectrum(mz, rng.uniform(1.0, 1000.0, len(mz)).astype(np.float32), (x, y, 1))
    store = tmp_path / f"far_{mode}.imzarr"
    run_imzarr("convert", str(source), str(store))
    root = open_store(store)
    index = root["pixels/index"]
    # A 7000-pixel-wide grid cut into several shards along x, of which the middle ones are empty.
    written = sorted(p.name for p in (store / "pixels" / "index" / "c" / "0").iterdir())
    assert len(written) == 2 and index.shape[1] > 2 * index.shards[1], (written, index.shards)
    values = index[:]
    tic = root["images/tic/0"][0]
    parser = ImzMLParser(str(source))
    for k in range(len(positions)):
        x, y = int(root["pixels/x"][k]), int(root["pixels/y"][k])
        src = int(root["pixels/source_index"][k])
        assert values[y, x] == k
        assert tic[y, x] == pytest.approx(float(parser.getspectrum(src)[1].astype(np.float64).sum()))
    assert (values == 4294967295).sum() == values.size - len(positions)
    assert np.isnan(tic).sum() == tic.size - len(positions)
    validator = str(ROOT / ".venv" / "bin" / "ome-zarr-models")
    groups = [store / "images" / "tic"] + ([store / "mz_major"] if mode == "continuous" else [])
    for group in groups:
        result = subprocess.run([validator, "validate", str(group)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["cardinal1_cut_masspix", "pyimzml_example_processed"])
def test_a_store_annotated_and_reconsolidated_by_zarr_python_reads_the_same(stores, name, tmp_path):
    """A user adds a labels group (zarr-python's default codecs, which imzarr does not read)
    and an attribute, and zarr-python rewrites the consolidated metadata in its own spelling:
    imzarr ignores the extension and answers as before; the store still validates."""
    annotated = tmp_path / f"{name}.imzarr"
    shutil.copytree(stores[name], annotated)
    root = zarr.open_group(str(annotated), mode="r+")
    grid = root.attrs["imzarr"]["grid"]
    labels = root.require_group("labels").create_array("tissue", shape=(grid["height"], grid["width"]), dtype="uint8")
    labels[...] = 1
    root.attrs["lab_note"] = "annotated in zarr-python"
    with warnings.catch_warnings():  # zarr-python warns that consolidation is not in the v3 spec
        warnings.simplefilter("ignore", UserWarning)
        zarr.consolidate_metadata(str(annotated))
    consolidated = json.loads((annotated / "zarr.json").read_text())["consolidated_metadata"]["metadata"]
    assert "labels/tissue" in consolidated and "storage_transformers" in consolidated["pixels/x"]

    result = run_imzarr("validate", str(annotated), "--full")
    assert result.returncode == 0, result.stdout + result.stderr
    x0, y0, _ = grid["origin"]
    axis = open_store(stores[name])["spectra/mz"]
    mz = float(axis[axis.shape[0] // 2])

    def answers(store, out):
        out.mkdir()
        info = run_imzarr("info", str(store))
        spectrum = run_imzarr("spectrum", str(store), "--x", str(x0), "--y", str(y0))
        image = run_imzarr("ion-image", str(store), "--mz", str(mz), "--da", "0.5", "-o", str(out / "ion.csv"))
        for result in (info, spectrum, image):
            assert result.returncode == 0, result.stderr
        return [info.stdout.replace(str(store), "STORE"), spectrum.stdout, (out / "ion.csv").read_text()]

    expected = answers(stores[name], tmp_path / "original")
    assert expected[1].count("\n") > 2 and expected[2].count("\n") > 2, expected
    assert answers(annotated, tmp_path / "annotated") == expected


@pytest.mark.parametrize("name", ["cardinal1_example_continuous", "m2aia_test"])
def test_a_continuous_file_with_a_descending_axis_is_stored_as_processed(name, tmp_path):
    """The same spectra, written with the shared m/z axis (and so every intensity array) in
    descending order: an m/z-major cube needs channels in m/z order, so the store is processed,
    says why, keeps every spectrum as the file has it and renders the same ion images."""
    source = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    ibd = bytearray((FIXTURES / f"{name}.ibd").read_bytes())
    reversed_at = set()
    for i in range(len(source.coordinates)):
        arrays = [(source.mzOffsets[i], source.mzLengths[i], source.mzPrecision),
                  (source.intensityOffsets[i], source.intensityLengths[i], source.intensityPrecision)]
        for offset, length, dtype in arrays:
            if offset not in reversed_at:
                reversed_at.add(offset)
                size = length * np.dtype(dtype).itemsize
                values = np.frombuffer(bytes(ibd[offset:offset + size]), dtype=dtype)
                ibd[offset:offset + size] = values[::-1].tobytes()
    xml = (FIXTURES / f"{name}.imzML").read_bytes()
    # The checksums no longer hold for the rewritten .ibd.
    for accession in (b"IMS:1000090", b"IMS:1000091", b"IMS:1000092"):
        start = xml.find(b'accession="' + accession)
        if start >= 0:
            xml = xml[:xml.rfind(b"<", 0, start)] + xml[xml.find(b"/>", start) + 2:]
    (tmp_path / "descending.imzML").write_bytes(xml)
    (tmp_path / "descending.ibd").write_bytes(bytes(ibd))
    store = tmp_path / "descending.imzarr"
    run_imzarr("convert", str(tmp_path / "descending.imzML"), str(store))

    parser = ImzMLParser(str(tmp_path / "descending.imzML"))
    root = open_store(store)
    attrs = root.attrs["imzarr"]
    assert attrs["mode"] == "processed"
    assert [q["kind"] for q in attrs["source"]["quirks"]].count("unsorted-continuous-axis") == 1
    ox, oy = attrs["grid"]["origin"][:2]
    offsets, source_index = root["pixels/point_offset"][:], root["pixels/source_index"][:]
    mz_all, int_all = root["spectra/mz"][:], root["spectra/intensity"][:]
    for k, src in enumerate(source_index):
        mz, intensity = parser.getspectrum(int(src))
        assert mz[0] > mz[-1]
        a, b = offsets[k], offsets[k + 1]
        assert np.array_equal(mz_all[a:b], mz) and np.array_equal(int_all[a:b], intensity), (name, k)

    peak = FACTS[name]["max_peak_pyimzml"]["mz"]
    out = tmp_path / "ion.npy"
    run_imzarr("ion-image", str(store), "--mz", repr(peak), "--da", "0.5", "-o", str(out))
    image = np.load(out)
    for i, (x, y, *_rest) in enumerate(parser.coordinates):
        mz, intensity = parser.getspectrum(i)
        inside = (mz >= peak - 0.5) & (mz <= peak + 0.5)
        expected = float(np.sum(intensity[inside], dtype=np.float64))
        assert image[y - oy, x - ox] == pytest.approx(expected, rel=1e-9, abs=1e-12), (name, x, y)
    assert np.nanmax(image) > 0, "the window at the file's most intense peak holds signal"
