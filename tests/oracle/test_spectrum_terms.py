"""Spectrum terms (scan start times, scan windows, user parameters), checked against pyimzML.

pyimzML's full spectrum metadata is the independent reading of each spectrum's terms. Cardinal's
fixtures give each pixel's position again as user parameters; a fixture is also given a scan
start time (with its unit) in most spectra and a scan window in every spectrum. The converted
store must hold, read by zarr-python, the number each spectrum gives in `pixels/terms/<key>`
(NaN where it gives none) and a constant as the term's `value`; an export must give back to
pyimzML the same terms with the same values, in the same elements, and numbers written with a
fixed count of fraction digits (Cardinal's `23.000000`) and user parameters' types as the
source wrote them.
"""

import json
import math
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import zarr
from pyimzml.ImzMLParser import ImzMLParser

from conftest import FIXTURES, run_imzarr
from test_python_recipe import ImzarrStore, assert_image_equals

NS = "http://psi.hupo.org/ms/mzml"
CARDINAL = ["cardinal2_combat_40pixel", "cardinal2_123_combined", "cardinal_spatial_dgmm_input"]


def q(tag):
    return f"{{{NS}}}{tag}"


def start_time(i):
    """The scan start time given to spectrum `i` (none in every fourth)."""
    return None if i % 4 == 3 else round(0.125 * i + 3.0, 6)


def temperature(i):
    """The stage temperature given to spectrum `i`, as text with three fraction digits."""
    return f"{20 + 0.25 * i:.3f}"


def with_scan_terms(source, target):
    """Writes `source` with a scan start time in most spectra and a scan window in every one."""
    ET.register_namespace("", NS)
    root = ET.parse(source).getroot()
    for i, spectrum in enumerate(root.iter(q("spectrum"))):
        scan = spectrum.find(f"{q('scanList')}/{q('scan')}")
        if start_time(i) is not None:
            scan.insert(0, ET.Element(q("cvParam"), {
                "cvRef": "MS", "accession": "MS:1000016", "name": "scan start time",
                "value": str(start_time(i)), "unitCvRef": "UO", "unitAccession": "UO:0000031",
                "unitName": "minute",
            }))
        ET.SubElement(scan, q("userParam"), {
            "name": "stage temperature", "type": "xsd:float", "value": temperature(i),
        })
        windows = ET.SubElement(scan, q("scanWindowList"), {"count": "1"})
        window = ET.SubElement(windows, q("scanWindow"))
        ET.SubElement(window, q("cvParam"), {
            "cvRef": "MS", "accession": "MS:1000501", "name": "scan window lower limit",
            "value": "100.0", "unitCvRef": "MS", "unitAccession": "MS:1000040", "unitName": "m/z",
        })
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)


def oracle_terms(path):
    """For every spectrum, its scan's terms as pyimzML reads them: {term: (value, unit accession)},
    a term being a cvParam's accession or a userParam's name."""
    parser = ImzMLParser(str(path), include_spectra_metadata="full")
    spectra = []
    for metadata in parser.spectrum_full_metadata:
        (scan,) = metadata.scans
        # userParams: (name, type, parsed, raw value, unit name, unit accession);
        # cvParams: (name, accession, parsed, raw name, raw value, unit name, unit accession).
        terms = {p[0]: (p[3], p[5]) for p in scan.user_params}
        terms.update({p[1]: (p[4], p[6]) for p in scan.cv_params})
        for window in scan.scan_windows:
            terms.update({p[1]: (p[4], p[6]) for p in window.cv_params})
        spectra.append(terms)
    return spectra


def raw_user_params(path):
    """For every spectrum, its scan's user parameters as written, read by ElementTree (pyimzML
    reads a `dtype` attribute instead of mzML's `type`): {name: (type, value text)}."""
    root = ET.parse(path).getroot()
    return [
        {
            p.get("name"): (p.get("type"), p.get("value"))
            for p in spectrum.find(f"{q('scanList')}/{q('scan')}").iter(q("userParam"))
        }
        for spectrum in root.iter(q("spectrum"))
    ]


def stored_terms(store):
    """{term: [value of each source spectrum]} as zarr-python reads them from `store`."""
    group = zarr.open_group(str(store), mode="r")
    source_index = group["pixels/source_index"][...]
    by_term = {}
    for info in group.attrs["imzarr"].get("spectrum_terms", []):
        term = info["name"] if info["accession"] == "userParam" else info["accession"]
        if "value" in info:
            values = [info["value"]] * len(source_index)
        else:
            numbers = group[f"pixels/terms/{info['key']}"][...]
            assert numbers.dtype == np.float64 and numbers.shape == source_index.shape, info
            values = [None] * len(source_index)
            for k, source in enumerate(source_index):
                values[int(source)] = None if math.isnan(numbers[k]) else float(numbers[k])
        by_term[term] = (info, values)
    return by_term


def assert_same(stored, oracle, where):
    for term, (info, values) in stored.items():
        for i, value in enumerate(values):
            given = oracle[i].get(term)
            if value is None:
                assert given is None, (where, term, i)
            elif "value" in info:
                assert given is not None and given[0] == value, (where, term, i, given)
            else:
                assert given is not None and float(given[0]) == value, (where, term, i, given)
            if given is not None:
                assert given[1] == (info.get("unit") or {}).get("accession"), (where, term, i)


@pytest.mark.parametrize("name", CARDINAL)
def test_cardinal_positions_given_as_user_parameters_are_kept(name, stores, tmp_path):
    stored = stored_terms(stores[name])
    assert sorted(stored) == ["3DPositionX", "3DPositionY"], name
    oracle = oracle_terms(FIXTURES / f"{name}.imzML")
    assert_same(stored, oracle, name)
    assert [stored[term][0].get("decimals") for term in sorted(stored)] == [6, 6], name

    # An export writes them back as Cardinal wrote them (`23.000000`).
    exported = tmp_path / f"{name}.imzML"
    run_imzarr("export", str(stores[name]), str(exported))
    assert raw_user_params(exported) == raw_user_params(FIXTURES / f"{name}.imzML"), name

    # The zarr-python recipe draws them as images.
    recipe = ImzarrStore(str(stores[name]))
    assert sorted(recipe.spectrum_terms()) == ["userParam_3DPositionX", "userParam_3DPositionY"]
    parser = ImzMLParser(str(FIXTURES / f"{name}.imzML"))
    expected = [float(terms["3DPositionX"][0]) for terms in oracle]
    assert_image_equals(recipe.term_image("userParam_3DPositionX"), recipe, parser, expected)


def test_scan_terms_are_stored_and_exported_as_pyimzml_reads_them(tmp_path):
    name = "pyimzml_example_processed"
    imzml = tmp_path / f"{name}.imzML"
    with_scan_terms(FIXTURES / f"{name}.imzML", imzml)
    shutil.copy(FIXTURES / f"{name}.ibd", tmp_path / f"{name}.ibd")
    store = tmp_path / f"{name}.imzarr"
    run_imzarr("convert", str(imzml), str(store))

    oracle = oracle_terms(imzml)
    stored = stored_terms(store)
    assert sorted(stored) == ["MS:1000016", "MS:1000501", "stage temperature"]
    start_info, start_values = stored["MS:1000016"]
    assert "value" not in start_info and start_info["element"] == "scan"
    assert start_values == [start_time(i) for i in range(len(oracle))]
    window_info, _ = stored["MS:1000501"]
    assert (window_info["element"], window_info["value"]) == ("scanWindow", "100.0")
    temperature_info, _ = stored["stage temperature"]
    assert (temperature_info["type"], temperature_info["decimals"]) == ("xsd:float", 3)
    assert_same(stored, oracle, "store")

    # The command line prints a spectrum's terms with it.
    parser = ImzMLParser(str(imzml))
    for i in (0, 3):
        x, y = parser.coordinates[i][:2]
        printed = json.loads(run_imzarr("spectrum", str(store), "--x", str(x), "--y", str(y), "--json").stdout)
        assert printed["terms"] == {
            "MS_1000016": start_time(i),
            "MS_1000501": "100.0",
            "userParam_stage_temperature": float(temperature(i)),
        }, i

    exported = tmp_path / "out" / f"{name}.imzML"
    exported.parent.mkdir()
    run_imzarr("export", str(store), str(exported))
    assert_same(stored, oracle_terms(exported), "export")
    assert raw_user_params(exported) == raw_user_params(imzml)
    assert [terms["stage temperature"] for terms in raw_user_params(imzml)] == [
        ("xsd:float", temperature(i)) for i in range(len(oracle))
    ]
