"""Reading an imzarr store with zarr-python alone: ion images, spectra, the TIC and the kept
spectrum terms (scan start times, user parameters, ...).

The store is plain Zarr v3, so nothing but zarr-python (3.1 or later) and NumPy is needed, and
each query fetches only the chunks it needs, as the Rust reader does (local paths, or
``s3://bucket/sample.imzarr`` with ``storage_options`` through fsspec/s3fs). Section 7 of
``spec/imzarr-1.md`` describes the arrays used here. Copy this file into your project, or
import it from a checkout::

    from imzarr_zarr import ImzarrStore
    store = ImzarrStore("sample.imzarr")
    image = store.ion_image(885.5, 885.6)        # [y, x] (or [z, y, x]); NaN where no spectrum
    mz, intensity = store.spectrum(10, 20)        # imzML coordinates, the source's dtypes

The test suite checks every function against pyimzML on every real fixture
(``tests/oracle/test_python_recipe.py``, ``tests/oracle/test_spectrum_terms.py``).
"""

import numpy as np
import zarr

# `pixels/index` holds this where no spectrum was acquired.
NO_SPECTRUM = 4294967295


class ImzarrStore:
    """An opened imzarr store: its `imzarr` attributes and pixel index, read once."""

    def __init__(self, url, storage_options=None):
        self.root = zarr.open_group(url, mode="r", storage_options=storage_options)
        self.attributes = self.root.attrs["imzarr"]
        version = self.attributes["version"]
        if self.attributes.get("format") != "imzarr" or version.split(".")[0] != "1":
            raise ValueError(f"{url}: not an imzarr 1.x store (format version {version})")
        self.mode = self.attributes["mode"]
        self.origin = self.attributes["grid"]["origin"]
        # [height, width], or [depth, height, width] for 3-D data.
        self.pixel_index = self.root["pixels/index"][...]

    def _image(self, per_spectrum):
        """An image of the per-spectrum `values`: NaN where no spectrum was acquired."""
        image = np.full(self.pixel_index.shape, np.nan)
        acquired = self.pixel_index != NO_SPECTRUM
        image[acquired] = per_spectrum[self.pixel_index[acquired]]
        return image

    def ion_image(self, low, high):
        """The summed intensities of each spectrum's points with low <= m/z <= high."""
        if self.mode == "continuous":
            return self._ion_image_continuous(low, high)
        sums = np.zeros(self.attributes["counts"]["spectra"])
        chunks = self._chunks_overlapping(low, high)
        if chunks:
            chunk_points = self.attributes["mz_index"]["chunk_points"]
            points = slice(chunks.start * chunk_points, chunks.stop * chunk_points)
            mz = self.root["mz_major/mz"][points]
            inside = (mz >= low) & (mz <= high)
            intensity = self.root["mz_major/intensity"][points][inside].astype(np.float64)
            spectrum = self.root["mz_major/spectrum"][points][inside]
            np.add.at(sums, spectrum, intensity)
        return self._image(sums)

    def _ion_image_continuous(self, low, high):
        axis = self.root["spectra/mz"][...]
        first, stop = np.searchsorted(axis, low, "left"), np.searchsorted(axis, high, "right")
        # The m/z-major cube: [channel, (z,) y, x], so a window is a slab of channels.
        slab = self.root["mz_major/intensity"][first:stop]
        sums = slab.astype(np.float64).sum(axis=0)
        return np.where(self.pixel_index != NO_SPECTRUM, sums, np.nan)

    def _chunks_overlapping(self, low, high):
        """The inner chunks of the m/z-major arrays whose m/z range meets [low, high]:
        the coarse level in the attributes picks the blocks of the chunk index to read."""
        index = self.root["mz_major/chunk_mz_range"]
        rows_total = index.shape[0]
        blocks = self.attributes["mz_index"].get("blocks")
        start, stop = 0, rows_total
        if blocks is not None:
            # Bounds may be the strings "Infinity" and "-Infinity", which float() reads.
            bounds = np.array([[float(v) for v in b] for b in blocks["mz_range"]]).reshape(-1, 2)
            wanted = np.nonzero((bounds[:, 1] >= low) & (bounds[:, 0] <= high))[0]
            if len(wanted) == 0:
                return None
            # Blocks are in m/z order, so the wanted ones are a run.
            start = int(wanted[0]) * blocks["rows"]
            stop = min((int(wanted[-1]) + 1) * blocks["rows"], rows_total)
        ranges = index[start:stop]
        # Both columns are non-decreasing: the chunks with max >= low and min <= high.
        first = start + np.searchsorted(ranges[:, 1], low, "left")
        last = start + np.searchsorted(ranges[:, 0], high, "right")
        return range(int(first), int(last)) if first < last else None

    def spectrum(self, x, y, z=None):
        """The m/z and intensity arrays at imzML coordinates (x, y[, z]), in the source's
        dtypes; None where no spectrum was acquired."""
        at = (y - self.origin[1], x - self.origin[0])
        if self.pixel_index.ndim == 3:
            at = ((z if z is not None else self.origin[2]) - self.origin[2],) + at
        if any(i < 0 or i >= n for i, n in zip(at, self.pixel_index.shape)):
            return None
        k = int(self.pixel_index[at])
        if k == NO_SPECTRUM:
            return None
        if self.mode == "continuous":
            return self.root["spectra/mz"][...], self.root["spectra/intensity"][k]
        start, stop = self.root["pixels/point_offset"][k : k + 2]
        return self.root["spectra/mz"][start:stop], self.root["spectra/intensity"][start:stop]

    def tic(self):
        """The total ion current of each pixel; NaN where no spectrum was acquired."""
        return self._image(self.root["pixels/tic"][...])

    def spectrum_terms(self):
        """The terms of the source's spectra that the store keeps (format 1.2), by key."""
        return {term["key"]: term for term in self.attributes.get("spectrum_terms", [])}

    def term_image(self, key):
        """The numbers of the kept spectrum term `key` at every pixel; NaN where no spectrum was
        acquired or the spectrum did not give the term. A term with one `value` for every
        spectrum has no array."""
        return self._image(self.root[f"pixels/terms/{key}"][...])
