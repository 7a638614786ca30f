"""Raster inputs: opening, checking against the master grid, and windowed reads.

Every value read is float64 ``raw * scale + offset`` with the file's nodata (and NaN) as NaN.
Nothing is read whole: the run reads one window of every input at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from gsocseq.config import InputSpec
from gsocseq.errors import InputError

#: stored types read as they are (the core converts them); any other real type (int64, uint64,
#: float16) is read as float64 by GDAL: exact for every value below 2^53 in magnitude, and a
#: larger one is far outside every plausible range anyway
NATIVE_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")


@dataclass
class Raster:
    """An opened input raster with the bands to read and how to scale them."""

    key: str
    spec: InputSpec
    dataset: rasterio.io.DatasetReader
    bands: tuple[int, ...]
    # the values of the last window read_raw read (reused by the next one)
    _buffer: Optional[np.ndarray] = field(default=None, repr=False)
    # more handles on the same file, so that parts of its bands are read side by side (a GDAL
    # dataset handle serves one thread at a time): opened when first needed
    _handles: list[rasterio.io.DatasetReader] = field(default_factory=list, repr=False)

    @property
    def path(self) -> Path:
        return self.spec.path

    @property
    def count(self) -> int:
        return len(self.bands)

    def read(self, window: Window, bands: Optional[Sequence[int]] = None) -> np.ndarray:
        """(bands, rows, cols) float64, nodata as NaN. ``bands`` are 0-based positions in
        this input's band list."""
        chosen = self.bands if bands is None else tuple(self.bands[b] for b in bands)
        try:
            raw = self.dataset.read(list(chosen), window=window, masked=False)
        except RasterioIOError as exc:
            raise InputError(f"{self.path}: cannot read window {window} ({exc})") from None
        data = raw.astype(np.float64)
        nodata = self.dataset.nodata
        if nodata is not None and not math.isnan(nodata):
            data[raw == nodata] = np.nan
        if self.spec.scale != 1.0 or self.spec.offset != 0.0:
            data = data * self.spec.scale + self.spec.offset
        return data

    @property
    def nodata_value(self) -> Optional[float]:
        """The stored value meaning "no data" (None when there is none or it is NaN: NaN is
        missing anyway)."""
        nodata = self.dataset.nodata
        return None if nodata is None or math.isnan(nodata) else float(nodata)

    @property
    def dtype(self) -> np.dtype:
        """The type values are read in: the stored type (of the first band; GDAL rasters have
        one type), or float64 for a type the core does not read (see NATIVE_DTYPES)."""
        stored = self.dataset.dtypes[0]
        return np.dtype(stored if stored in NATIVE_DTYPES else np.float64)

    def drop_buffer(self) -> None:
        """Free the buffer of :meth:`read_raw` (the next call allocates another)."""
        self._buffer = None

    def read_raw(self, window: Window, bands: Sequence[int]) -> np.ndarray:
        """(bands, h * w) values of the window in the file's own type, nodata as stored.
        ``bands`` are 0-based positions in this input's band list. The values are read into a
        buffer of this raster that its next ``read_raw`` overwrites."""
        raw = self.raw_buffer(window, len(bands))
        self.read_raw_into(window, bands, raw)
        return raw.reshape(len(bands), -1)

    def raw_buffer(self, window: Window, count: int) -> np.ndarray:
        """(count, h, w) of this raster's type for the values of ``count`` bands of the
        window: the buffer of :meth:`read_raw`, which its next call overwrites."""
        h, w = int(window.height), int(window.width)
        size = count * h * w
        dtype = self.dtype
        if self._buffer is None or self._buffer.size < size or self._buffer.dtype != dtype:
            self._buffer = np.empty(size, dtype=dtype)
        return self._buffer[:size].reshape(count, h, w)

    def read_raw_into(
        self, window: Window, bands: Sequence[int], out: np.ndarray, handle: int = 0
    ) -> None:
        """The window's values as stored into ``out`` (bands, h, w) of this raster's type (any
        strides), through the file's ``handle``-th dataset handle (0: :attr:`dataset`; each
        handle serves one thread at a time)."""
        chosen = [self.bands[b] for b in bands]
        try:
            self._handle(handle).read(chosen, window=window, out=out, masked=False)
        except RasterioIOError as exc:
            raise InputError(f"{self.path}: cannot read window {window} ({exc})") from None

    def open_handles(self, count: int) -> None:
        """Have ``count`` dataset handles on the file (:attr:`dataset` and ``count - 1`` more)
        for :meth:`read_raw_into` on as many threads (opened here, on the caller's thread)."""
        while len(self._handles) < count - 1:
            try:
                self._handles.append(rasterio.open(self.path))
            except RasterioIOError as exc:
                raise InputError(f"{self.path}: cannot open it again ({exc})") from None

    def _handle(self, index: int) -> rasterio.io.DatasetReader:
        return self.dataset if index == 0 else self._handles[index - 1]

    def gather(
        self,
        raw: np.ndarray,
        pixels: np.ndarray,
        round_f32: bool = False,
        out: Optional[np.ndarray] = None,
        check: Optional[tuple[float, float]] = None,
    ) -> Any:
        """Values of the flat pixel indices ``pixels`` of ``raw`` (bands, h * w) as read by
        :meth:`read_raw`: float64 ``raw * scale + offset``, nodata as NaN (rounded to float32
        with ``round_f32``), in one pass. Without ``out`` and ``check``: (bands, n) values. With
        ``out``: written to ``out`` (n, bands) instead. With ``check`` = (lo, hi): returns the
        per-pixel (status, band) of the invalid-input checks (see ``inputs.check_values``)."""
        from gsocseq import _core

        return _core.gather_pixels(
            raw,
            np.ascontiguousarray(pixels, dtype=np.int64),
            self.nodata_value,
            float(self.spec.scale),
            float(self.spec.offset),
            round_f32,
            out=out,
            check=check,
        )

    def read_pixels(
        self,
        window: Window,
        bands: Optional[Sequence[int]],
        pixels: np.ndarray,
        round_f32: bool = False,
    ) -> np.ndarray:
        """(bands, n) float64 values of the window's flat pixel indices ``pixels``: nodata as
        NaN, ``raw * scale + offset`` (rounded to float32 with ``round_f32``). The window is
        read in the file's own type and only those pixels are converted, in one pass."""
        chosen = range(self.count) if bands is None else bands
        return self.gather(self.read_raw(window, chosen), pixels, round_f32)

    def close(self) -> None:
        for ds in self._handles:
            ds.close()
        self._handles.clear()
        self.dataset.close()


def open_raster(key: str, spec: InputSpec) -> Raster:
    """Open one input, naming the file and the config key when it cannot be opened."""
    path = spec.path
    if not path.exists():
        raise InputError(f"{path}: file not found (input {key!r})")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a raster file (input {key!r})")
    try:
        ds = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputError(f"{path}: cannot be opened as a raster (input {key!r}): {exc}") from None
    complex_types = sorted({t for t in ds.dtypes if "complex" in t})
    if complex_types:
        ds.close()
        raise InputError(
            f"{path}: input {key!r} holds complex numbers ({complex_types[0]}); gsocseq reads real "
            "values: convert it, e.g. gdal_translate -ot Float32 (which keeps the real part)"
        )
    if spec.bands is not None:
        bad = [b for b in spec.bands if b > ds.count]
        if bad:
            ds.close()
            raise InputError(
                f"{path}: input {key!r} asks for band {bad[0]} but the file has {ds.count} bands"
            )
        bands = spec.bands
    else:
        bands = tuple(range(1, ds.count + 1))
    declared = _declared_scale(ds, bands)
    if declared is not None and (spec.scale, spec.offset) == (1.0, 0.0):
        # read as stored: a dry country's rainfall stored x10 passes every range (500 mm a
        # month), and the file's own metadata said so
        ds.close()
        s, o = declared
        setting = f"scale = {s:g}" + (f", offset = {o:g}" if o else "")
        raise InputError(
            f"{path}: input {key!r} declares scale {s:g} and offset {o:g} in its metadata (GDAL "
            "scale/offset, shown by gdalinfo), which gsocseq does not apply by itself: values "
            f"are read as stored, value = raw x scale + offset of the configuration. Set "
            f"{{ path = ..., {setting} }} on input {key!r}, or, if the stored values are already "
            "in the units the input needs, remove the metadata (gdal_edit -scale 1 -offset 0)"
        )
    return Raster(key=key, spec=spec, dataset=ds, bands=bands)


def _declared_scale(
    ds: rasterio.io.DatasetReader, bands: Sequence[int]
) -> Optional[tuple[float, float]]:
    """(scale, offset) of the first of ``bands`` whose GDAL metadata declares a scale other
    than 1 or an offset other than 0 (the values' units: TerraClimate as int16 x 10), else
    None."""
    for b in bands:
        s, o = ds.scales[b - 1], ds.offsets[b - 1]
        s = 1.0 if s is None else float(s)
        o = 0.0 if o is None else float(o)
        if (s, o) != (1.0, 0.0):
            return s, o
    return None


def same_grid(master: rasterio.io.DatasetReader, other: rasterio.io.DatasetReader) -> Optional[str]:
    """None when the grids match (equal CRS, shape, origin and pixel size within 1e-6 of a
    pixel), else what differs."""
    if master.crs != other.crs:
        return f"CRS {other.crs} differs from the master grid's {master.crs}"
    if (other.height, other.width) != (master.height, master.width):
        return (
            f"shape {other.height} x {other.width} differs from the master grid's "
            f"{master.height} x {master.width}"
        )
    a, b = master.transform, other.transform
    px, py = abs(a.a), abs(a.e)
    tol = 1e-6
    if (
        abs(a.a - b.a) > tol * px
        or abs(a.e - b.e) > tol * py
        or abs(a.b - b.b) > tol * px
        or abs(a.d - b.d) > tol * py
    ):
        return f"pixel size {b.a}, {b.e} differs from the master grid's {a.a}, {a.e}"
    if abs(a.c - b.c) > tol * px or abs(a.f - b.f) > tol * py:
        return f"origin ({b.c}, {b.f}) differs from the master grid's ({a.c}, {a.f})"
    return None


#: inputs of classes (resampled with the nearest neighbour, never interpolated)
CATEGORICAL = ("land_use", "spinup_land_use")


def check_grid(master: Raster, other: Raster) -> None:
    problem = same_grid(master.dataset, other.dataset)
    if problem:
        b = master.dataset.bounds
        raise InputError(
            f"{other.path}: input {other.key!r} is not on the master grid of {master.path}: "
            f"{problem}. Put it on that grid with gsocseq prepare (docs/prepare.md), or with "
            f"GDAL: gdalwarp -t_srs {master.dataset.crs} -te {b.left:.9g} {b.bottom:.9g} "
            f"{b.right:.9g} {b.top:.9g} -ts {master.dataset.width} {master.dataset.height} "
            f"-r {'near' if other.key in CATEGORICAL else 'bilinear'} {other.path} "
            f"{Path(other.path).stem}_on_grid.tif"
        )


def expect_bands(raster: Raster, expected: int, what: str) -> None:
    if raster.count != expected:
        raise InputError(
            f"{raster.path}: input {raster.key!r} has {raster.count} bands, expected {expected} "
            f"({what})"
        )


def windows(height: int, width: int, block: int) -> Iterator[Window]:
    """Square windows of ``block`` pixels covering the grid row by row."""
    for row in range(0, height, block):
        for col in range(0, width, block):
            yield Window(col, row, min(block, width - col), min(block, height - row))


def read_values(ds: rasterio.io.DatasetReader, window: Window, band: int = 1) -> np.ndarray:
    """float64 values of ``band`` in ``window``, nodata and non-finite values as NaN (the
    layers of a run, read back)."""
    raw = ds.read(band, window=window)
    data = raw.astype(np.float64)
    if ds.nodata is not None and not math.isnan(ds.nodata):
        data[raw == ds.nodata] = np.nan
    data[~np.isfinite(data)] = np.nan
    return data


def pixel_location(dataset: rasterio.io.DatasetReader, row: int, col: int) -> str:
    x, y = dataset.xy(row, col)
    return f"row {row}, col {col} (x={x:.6f}, y={y:.6f})"
