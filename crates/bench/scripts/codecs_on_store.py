"""Compression ratios of other lossless codecs on the arrays of an imzarr store.

Reads the first values of each large array with zarr-python and compresses them chunk by chunk
(chunks of the array's own inner-chunk size) with blosc (lz4, zstd; byte and bit shuffle) and,
when the `pcodec` package is installed, with pcodec. Prints ratio = compressed / raw bytes.

    .venv/bin/python crates/bench/scripts/codecs_on_store.py target/bench-data/continuous_1000mb.imzarr
    .venv/bin/pip install pcodec   # for the pcodec rows
"""

import sys
import time

import numpy as np
import zarr
from numcodecs import Blosc

SAMPLE_BYTES = 48_000_000
ARRAYS = ["spectra/mz", "spectra/intensity", "mz_major/mz", "mz_major/intensity", "mz_major/spectrum"]


def sample(array):
    row_bytes = array.dtype.itemsize * int(np.prod(array.shape[1:], dtype=np.int64))
    rows = max(1, min(array.shape[0], SAMPLE_BYTES // max(row_bytes, 1)))
    return array[0:rows]


def blosc_rows(raw, chunk_bytes, typesize):
    for cname, level in [("lz4", 5), ("zstd", 1), ("zstd", 3)]:
        for shuffle, name in [(Blosc.SHUFFLE, "shuffle"), (Blosc.BITSHUFFLE, "bitshuffle")]:
            codec = Blosc(cname=cname, clevel=level, shuffle=shuffle, typesize=typesize)
            started = time.perf_counter()
            total = sum(len(codec.encode(raw[i : i + chunk_bytes])) for i in range(0, len(raw), chunk_bytes))
            seconds = time.perf_counter() - started
            yield f"blosc {cname} {level} {name}", total / len(raw), len(raw) / seconds / 1e6


def pcodec_rows(values, chunk_values):
    try:
        from pcodec import ChunkConfig, standalone
    except ImportError:
        return
    for level in [0, 4, 8]:
        started = time.perf_counter()
        total = sum(
            len(standalone.simple_compress(values[i : i + chunk_values], ChunkConfig(compression_level=level)))
            for i in range(0, values.size, chunk_values)
        )
        seconds = time.perf_counter() - started
        yield f"pcodec {level}", total / values.nbytes, values.nbytes / seconds / 1e6


def main(path):
    group = zarr.open_group(path, mode="r")
    for name in ARRAYS:
        if name not in group or group[name].ndim == 0 or group[name].size < 1_000_000:
            continue
        array = group[name]
        data = np.ascontiguousarray(sample(array))
        chunk_values = int(np.prod(array.chunks))
        chunk_bytes = chunk_values * array.dtype.itemsize
        print(f"{name} {array.dtype} inner chunk {array.chunks}, {data.nbytes / 1e6:.0f} MB sampled")
        rows = list(blosc_rows(data.tobytes(), chunk_bytes, array.dtype.itemsize))
        rows += list(pcodec_rows(data.reshape(-1), chunk_values))
        for label, ratio, speed in rows:
            print(f"  {label:28s} {ratio:.3f}  {speed:6.0f} MB/s")


if __name__ == "__main__":
    main(sys.argv[1])
