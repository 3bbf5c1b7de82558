"""Binary arrays other than m/z and intensity, checked against pyimzML and zarr-python.

Real fixtures get, in every spectrum, a third binary array of kind "mean ion mobility array"
(MS:1002816) that points at the spectrum's intensities in the `.ibd`: its values are then known
independently, as what pyimzML reads for the intensities of the unchanged fixture. The converted
store must hold them, read by zarr-python, in `spectra/other/MS_1002816`, in the intensities'
type and order; an export must write them back as a third array that points at the same values.
"""

import copy
import json
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import zarr
from pyimzml.ImzMLParser import ImzMLParser

from conftest import FIXTURES, run_imzarr

NS = "http://psi.hupo.org/ms/mzml"
MOBILITY = "MS:1002816"
FIXTURE_NAMES = [
    "pyimzml_example_processed",  # processed, 32-bit intensities
    "cardinal1_example_continuous",  # continuous
    "maldiquant_picked",  # processed, 64-bit intensities
]


def q(tag):
    return f"{{{NS}}}{tag}"


def params_of(array, groups):
    """The cvParams of a binaryDataArray, those of its referenced groups included."""
    params = []
    for child in array:
        if child.tag == q("referenceableParamGroupRef"):
            params.extend(groups[child.get("ref")].findall(q("cvParam")))
        elif child.tag == q("cvParam"):
            params.append(child)
    return params


def with_mobility_arrays(source, target):
    """Writes `source` with a mobility array at the intensities' place in every spectrum."""
    ET.register_namespace("", NS)
    root = ET.parse(source).getroot()
    groups = {g.get("id"): g for g in root.iter(q("referenceableParamGroup"))}
    added = 0
    for array_list in root.iter(q("binaryDataArrayList")):
        intensity = next(
            a
            for a in array_list.findall(q("binaryDataArray"))
            if any(p.get("accession") == "MS:1000515" for p in params_of(a, groups))
        )
        mobility = ET.Element(intensity.tag, intensity.attrib)
        for param in params_of(intensity, groups):
            param = copy.deepcopy(param)
            if param.get("accession") == "MS:1000515":
                param.attrib = {"cvRef": "MS", "accession": MOBILITY, "name": "mean ion mobility array", "value": ""}
            mobility.append(param)
        for child in intensity:
            if child.tag not in (q("referenceableParamGroupRef"), q("cvParam")):
                mobility.append(copy.deepcopy(child))
        array_list.append(mobility)
        array_list.set("count", str(len(array_list)))
        added += 1
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
    return added


def external_values(imzml_path, array):
    """The values of a binaryDataArray element of an uncompressed imzML, read from its `.ibd`."""
    terms = {p.get("accession"): p.get("value") for p in array.iter(q("cvParam"))}
    dtype = {"MS:1000521": "<f4", "MS:1000523": "<f8", "MS:1000519": "<i4", "MS:1000522": "<i8"}
    (kind,) = [dtype[a] for a in terms if a in dtype]
    offset, length = int(terms["IMS:1000102"]), int(terms["IMS:1000103"])
    with open(imzml_path.with_suffix(".ibd"), "rb") as ibd:
        ibd.seek(offset)
        return np.frombuffer(ibd.read(length * np.dtype(kind).itemsize), dtype=kind)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_other_arrays_are_stored_read_by_zarr_python_and_exported(name, tmp_path):
    imzml = tmp_path / f"{name}.imzML"
    spectra = with_mobility_arrays(FIXTURES / f"{name}.imzML", imzml)
    shutil.copy(FIXTURES / f"{name}.ibd", tmp_path / f"{name}.ibd")
    store = tmp_path / f"{name}.imzarr"
    run_imzarr("convert", str(imzml), str(store))

    oracle = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    assert len(oracle.coordinates) == spectra
    group = zarr.open_group(str(store), mode="r")
    block = group.attrs["imzarr"]
    assert block["version"] == "1.4"
    (info,) = block["other_arrays"]
    assert (info["key"], info["accession"], info["name"]) == ("MS_1002816", MOBILITY, "mean ion mobility array")
    mobility = group["spectra/other/MS_1002816"][...]
    intensity = group["spectra/intensity"][...]
    assert mobility.dtype == intensity.dtype and mobility.shape == intensity.shape
    source_index = group["pixels/source_index"][...]
    continuous = block["mode"] == "continuous"
    offsets = None if continuous else group["pixels/point_offset"][...]
    for k, source in enumerate(source_index):
        values = mobility[k] if continuous else mobility[offsets[k] : offsets[k + 1]]
        expected = oracle.getspectrum(int(source))[1]
        assert values.dtype == expected.dtype, (name, k)
        assert np.array_equal(values, expected), (name, k)

    # The command line prints them beside each point.
    x, y = oracle.coordinates[-1][:2]
    printed = json.loads(run_imzarr("spectrum", str(store), "--x", str(x), "--y", str(y), "--json").stdout)
    expected = oracle.getspectrum(len(oracle.coordinates) - 1)[1].astype(np.float64)
    assert np.array_equal(np.array(printed["other"]["MS_1002816"], dtype=np.float64), expected), name

    exported = tmp_path / "out" / f"{name}.imzML"
    exported.parent.mkdir()
    run_imzarr("export", str(store), str(exported))
    root = ET.parse(exported).getroot()
    groups = {g.get("id"): g for g in root.iter(q("referenceableParamGroup"))}
    back = ImzMLParser(str(exported))
    checked = 0
    for i, spectrum in enumerate(root.iter(q("spectrum"))):
        (array,) = [
            a
            for a in spectrum.iter(q("binaryDataArray"))
            if any(p.get("accession") == MOBILITY for p in params_of(a, groups))
        ]
        inline = copy.deepcopy(array)
        for param in params_of(array, groups):
            inline.append(copy.deepcopy(param))
        values = external_values(exported, inline)
        assert np.array_equal(values, back.getspectrum(i)[1]), (name, i)
        assert np.array_equal(values, oracle.getspectrum(i)[1]), (name, i)
        checked += 1
    assert checked == spectra
