"""Shared helpers: the imzarr binary, the fixtures, and conversions cached per session."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "imzml"
FACTS = json.loads((FIXTURES / "facts.json").read_text())


def imzarr_binary() -> Path:
    binary = Path(os.environ.get("IMZARR_BIN", ROOT / "target" / "debug" / "imzarr"))
    if not binary.exists():
        raise RuntimeError(f"{binary} does not exist: build it with `cargo build -p imzarr-cli`")
    return binary


def run_imzarr(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(imzarr_binary()), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"imzarr {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


FIXTURE_NAMES = sorted(FACTS)


def consolidated_arrays(store: Path) -> dict:
    """The consolidated `zarr.json` documents of a store's arrays, by path."""
    consolidated = json.loads((store / "zarr.json").read_text())["consolidated_metadata"]["metadata"]
    return {path: doc for path, doc in consolidated.items() if doc["node_type"] == "array"}


def convert_every_fixture(out: Path, *options: str) -> dict:
    """Every fixture converted into `out` with `options`: name -> store path."""
    converted = {}
    for name in FIXTURE_NAMES:
        store = out / f"{name}.imzarr"
        run_imzarr("convert", str(FIXTURES / f"{name}.imzML"), str(store), *options)
        converted[name] = store
    return converted


@pytest.fixture(scope="session")
def stores(tmp_path_factory):
    """Every fixture converted once: name -> store path."""
    return convert_every_fixture(tmp_path_factory.mktemp("stores"))
