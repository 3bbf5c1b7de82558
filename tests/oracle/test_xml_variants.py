"""The same imzML, written the ways other XML software writes it, converts to the same store.

Each variant keeps the `.ibd` and the meaning of the XML, and changes only how the XML spells it:
what Python's ElementTree makes of it (`ns0:` prefixes), other encodings (UTF-16, a UTF-8 byte
order mark, Latin-1 and UTF-8 re-declared), single quotes, comments between elements, CRLF line
ends, one line, no default namespace, character references in attribute values, parameter groups
written inline, the file content's terms in a group (referenced before it is defined), arrays
and spectra in another order, decimal positions, no `count` attributes. Every array of the
variant's store must equal the original's, dtype and bits (with spectra listed backwards, the
source index of each pixel's spectrum counts from the other end), and so must the UUID, the
declared and verified checksums and the declared mode.
"""

import copy
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import zarr

from conftest import FIXTURES, run_imzarr

NS = "http://psi.hupo.org/ms/mzml"
FIXTURE_NAMES = [
    "pyimzml_example_processed",  # Latin-1, 32-bit m/z and intensities
    "cardinal1_example_continuous",  # no encoding declared
    "imzy_simple",  # processed, spectra sharing m/z arrays
    "maldiquant_picked",  # UTF-8, 64-bit intensities
    "thyra_iontof_sparse",  # CRLF line ends, 64-bit arrays
]


def q(tag):
    return f"{{{NS}}}{tag}"


def declared_encoding(raw):
    match = re.match(rb"""<\?xml[^>]*encoding=["']([^"']+)["']""", raw)
    return match.group(1).decode().lower() if match else "utf-8"


def with_declaration(text, encoding):
    """`text` with its XML declaration naming `encoding` (one is added if it has none)."""
    if text.startswith("<?xml"):
        declaration, rest = text.split("?>", 1)
        declaration = re.sub(r"""\sencoding=["'][^"']*["']""", "", declaration)
        return f'{declaration} encoding="{encoding}"?>{rest}'
    return f'<?xml version="1.0" encoding="{encoding}"?>{text}'


def text_variants(raw):
    encoding = declared_encoding(raw)
    text = raw.decode(encoding)
    utf8 = with_declaration(text, "UTF-8")
    yield "utf16", b"\xff\xfe" + with_declaration(text, "UTF-16").encode("utf-16-le")
    yield "bom_utf8", b"\xef\xbb\xbf" + utf8.encode("utf-8")
    yield "latin1", with_declaration(text, "ISO-8859-1").encode("latin-1", errors="xmlcharrefreplace")
    yield "single_quotes", re.sub(r'(\s[\w:]+)="([^"]*)"', r"\1='\2'", utf8).encode()
    yield "comments", utf8.replace("><", "><!-- between --><").encode()
    yield "crlf", utf8.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    yield "one_line", re.sub(r">\s+<", "><", utf8).encode()
    yield "no_namespace", re.sub(r'\sxmlns="[^"]*"', "", utf8, count=1).encode()
    references = re.sub(
        r'(accession="IMS:10001\d\d"[^>]*value=")(\d)',
        lambda m: f"{m.group(1)}&#{ord(m.group(2))};",
        utf8,
    )
    assert references != utf8
    yield "character_references", references.encode()


def tree_variants(path):
    def inline_groups(root):
        groups = {g.get("id"): g for g in root.iter(q("referenceableParamGroup"))}
        for array in root.iter(q("binaryDataArray")):
            for ref in array.findall(q("referenceableParamGroupRef")):
                at = list(array).index(ref)
                array.remove(ref)
                for k, param in enumerate(groups[ref.get("ref")]):
                    array.insert(at + k, copy.deepcopy(param))

    def reverse_children(tag):
        def edit(root):
            for parent in root.iter(q(tag)):
                children = list(parent)
                for child in children:
                    parent.remove(child)
                parent.extend(reversed(children))

        return edit

    def decimal_positions(root):
        for param in root.iter(q("cvParam")):
            if param.get("accession") in ("IMS:1000050", "IMS:1000051"):
                param.set("value", param.get("value") + ".0")

    def no_counts(root):
        for element in root.iter():
            element.attrib.pop("count", None)

    def spectra_reversed(root):
        reverse_children("spectrumList")(root)
        # mzML numbers spectra by their place in the list.
        for place, spectrum in enumerate(root.iter(q("spectrum"))):
            spectrum.set("index", str(place))

    def file_content_in_a_group(root):
        # fileDescription comes before the group list, so its reference points forward.
        content = next(root.iter(q("fileContent")))
        group = ET.Element(q("referenceableParamGroup"), id="fileContentTerms")
        for param in list(content):
            content.remove(param)
            group.append(param)
        content.append(ET.Element(q("referenceableParamGroupRef"), ref="fileContentTerms"))
        group_list = next(root.iter(q("referenceableParamGroupList")))
        group_list.insert(0, group)
        if "count" in group_list.attrib:
            group_list.set("count", str(len(group_list)))

    edits = {
        "inline_groups": inline_groups,
        "file_content_in_a_group": file_content_in_a_group,
        "arrays_reversed": reverse_children("binaryDataArrayList"),
        "spectra_reversed": spectra_reversed,
        "decimal_positions": decimal_positions,
        "no_counts": no_counts,
        "elementtree": lambda root: None,  # ElementTree's own spelling: ns0: prefixes
    }
    for name, edit in edits.items():
        root = ET.parse(path).getroot()
        edit(root)
        yield name, ET.tostring(root, encoding="utf-8", xml_declaration=True)


def arrays(group, prefix=""):
    for name, member in group.members():
        if isinstance(member, zarr.Group):
            yield from arrays(member, f"{prefix}{name}/")
        else:
            yield f"{prefix}{name}"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_spelling_of_the_xml_gives_the_same_store(stores, name, tmp_path):
    source = FIXTURES / f"{name}.imzML"
    original = zarr.open_group(str(stores[name]), mode="r")
    paths = sorted(arrays(original))
    assert len(paths) >= 10
    variants = list(text_variants(source.read_bytes())) + list(tree_variants(source))
    for variant, xml in variants:
        imzml = tmp_path / f"{variant}.imzML"
        imzml.write_bytes(xml)
        shutil.copy(FIXTURES / f"{name}.ibd", tmp_path / f"{variant}.ibd")
        store = tmp_path / f"{variant}.imzarr"
        run_imzarr("convert", str(imzml), str(store))
        converted = zarr.open_group(str(store), mode="r")
        assert sorted(arrays(converted)) == paths, variant
        for key in ("uuid", "checksums", "verified_checksums", "declared_mode"):
            expected = original.attrs["imzarr"]["source"][key]
            assert converted.attrs["imzarr"]["source"][key] == expected, (variant, key)
        for path in paths:
            expected, got = original[path][...], converted[path][...]
            if variant == "spectra_reversed" and path == "pixels/source_index":
                # The same spectra at the same pixels, numbered from the other end.
                expected = (len(expected) - 1 - expected).astype(expected.dtype)
            assert got.dtype == expected.dtype and got.shape == expected.shape, (variant, path)
            assert np.array_equal(got.view(np.uint8), expected.view(np.uint8)), (variant, path)
