"""The master grid of ``gsocseq prepare``: the SOC map clipped to the area of interest,
every other input warped onto it (bilinear), and the float32 outputs written on it."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.transform
import rasterio.warp
import rasterio.windows
from rasterio._err import CPLE_BaseError
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError, RasterioIOError

from gsocseq.config import typed
from gsocseq.errors import InputError
from gsocseq.prepare.settings import DEFAULT_TILE_SIZE, Settings
from gsocseq.vectors import read_polygons
from gsocseq.writing import atomic_raster

if TYPE_CHECKING:  # pragma: no cover
    from gsocseq.prepare.summary import Report


NODATA = -999.0
LU_NODATA = 255


@dataclass
class Grid:
    """The master grid (the SOC map, clipped to the AOI's bounding box) and the AOI mask."""

    crs: CRS
    transform: Any
    height: int
    width: int
    inside: np.ndarray  # (h, w) bool: in the AOI polygon and SOC valid
    tile: int = DEFAULT_TILE_SIZE  # tiles of the rasters written, pixels a side

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def profile(self, count: int, dtype: str = "float32", nodata: float = NODATA) -> dict:
        prof: dict[str, Any] = {
            "driver": "GTiff",
            "height": self.height,
            "width": self.width,
            "count": count,
            "dtype": dtype,
            "nodata": nodata,
            "crs": self.crs,
            "transform": self.transform,
            "compress": "deflate",
            "interleave": "band",
        }
        if self.height > self.tile and self.width > self.tile:
            prof.update(tiled=True, blockxsize=self.tile, blockysize=self.tile)
        return prof


def open_source(
    path: Path, what: str, variable: Optional[str] = None, bands: Optional[int] = None
) -> Any:
    """Open a raster (NetCDF: the named variable when the file has several); with ``bands``,
    an :class:`InputError` unless it has exactly that many bands (a file of one quantity
    that holds several, a stack of depth layers say, would otherwise be read as its first
    band or first months, silently)."""
    if not path.exists():
        raise InputError(f"{path}: file not found ({what})")
    try:
        ds = rasterio.open(path)
        if ds.count == 0 and ds.subdatasets:
            subs = ds.subdatasets
            ds.close()
            pick = [s for s in subs if variable and s.rsplit(":", 1)[-1] == variable]
            if not pick:
                names = ", ".join(s.rsplit(":", 1)[-1] for s in subs)
                raise InputError(
                    f"{path}: no variable {variable!r} in the file ({what}); it has {names}"
                )
            ds = rasterio.open(pick[0])
    except RasterioIOError as exc:
        raise InputError(f"{path}: cannot be opened as a raster ({what}): {exc}") from None
    if ds.crs is None:
        ds.close()
        raise InputError(f"{path}: the raster has no CRS ({what})")
    if bands is not None and ds.count != bands:
        count = ds.count
        ds.close()
        fix = (
            "give each layer or year as a file of its own (a stack of depth layers: one file "
            "per layer with its _depths; split a stack with gdal_translate -b N)"
            if bands == 1
            else f"give a file of {bands} bands"
        )
        raise InputError(f"{path}: {count} bands, expected {bands} ({what}): {fix}")
    return ds


def master_grid(settings: Settings, report: Report) -> tuple[Grid, np.ndarray]:
    """The clipped master grid and the SOC (t C/ha, NaN outside the AOI and where nodata)."""
    t = settings.table
    soc_path = settings.path(typed(t["soc"], str, "[prepare].soc"))
    scale = typed(t.get("soc_scale", 1.0), float, "[prepare].soc_scale")
    with open_source(soc_path, "SOC map, master grid", bands=1) as ds:
        full = rasterio.windows.Window(0, 0, ds.width, ds.height)
        aoi_note = "none (the whole SOC map)"
        geoms: list[dict] = []
        if "aoi" in t:
            aoi_path = settings.path(typed(t["aoi"], str, "[prepare].aoi"))
            layer = t.get("aoi_layer")
            raw_geoms, aoi_crs = read_polygons(aoi_path, layer, "area of interest 'aoi'")
            if not raw_geoms:
                raise InputError(f"{aoi_path}: the area of interest has no polygon")
            geoms = [rasterio.warp.transform_geom(aoi_crs, ds.crs, g) for g in raw_geoms]
            xs, ys = [], []
            for g in geoms:
                polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
                for poly in polys:
                    for x, y in poly[0]:
                        xs.append(x)
                        ys.append(y)
            win = rasterio.windows.from_bounds(min(xs), min(ys), max(xs), max(ys), ds.transform)
            col0, row0 = math.floor(win.col_off + 1e-9), math.floor(win.row_off + 1e-9)
            col1 = math.ceil(win.col_off + win.width - 1e-9)
            row1 = math.ceil(win.row_off + win.height - 1e-9)
            try:
                window = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0).intersection(
                    full
                )
            except rasterio.errors.WindowError:
                raise InputError(
                    f"{aoi_path}: the area of interest does not overlap the SOC map {soc_path}"
                ) from None
            parts = sum(len(g["coordinates"]) if g["type"] == "MultiPolygon" else 1 for g in geoms)
            aoi_note = (
                f"`{aoi_path.name}` ({parts} polygon(s), CRS {aoi_crs.to_string()}), "
                f"reprojected to {ds.crs.to_string()}"
            )
        else:
            window = full
        window = rasterio.windows.Window(
            int(window.col_off), int(window.row_off), int(window.width), int(window.height)
        )
        transform = ds.window_transform(window)
        raw = ds.read(1, window=window, masked=False)
        soc = raw.astype(np.float64)
        if ds.nodata is not None and not math.isnan(ds.nodata):
            soc[raw == ds.nodata] = np.nan
        soc = soc * scale
        crs = ds.crs
        src_info = (ds.width, ds.height, ds.res)
    h, w = soc.shape
    if geoms:
        in_poly = rasterio.features.geometry_mask(
            geoms, out_shape=(h, w), transform=transform, invert=True
        )
    else:
        in_poly = np.ones((h, w), dtype=bool)
    valid = np.isfinite(soc)
    inside = in_poly & valid
    if not inside.any():
        raise InputError(f"{soc_path}: no valid SOC pixel inside the area of interest")
    soc[~inside] = np.nan
    grid = Grid(crs, transform, h, w, inside, settings.tile_size)
    report.grid(
        soc_path, src_info, grid, aoi_note, int(in_poly.sum()), int((in_poly & ~valid).sum())
    )
    report.layer(
        "SOC",
        [soc_path],
        crs.to_string(),
        "none (defines the grid)",
        f"x {scale:g}",
        "t C/ha, 0-30 cm",
        f"{int(inside.sum())} valid pixels in the AOI; {int((in_poly & ~valid).sum())} nodata",
    )
    return grid, soc


def resampling_for(ds: Any, grid: Grid, continuous: bool) -> Resampling:
    """Bilinear for continuous fields (land use: :func:`_land_use_classes`, the methodology's
    majority rule, so that prepared inputs match any other implementation of it)."""
    del ds, grid, continuous
    return Resampling.bilinear


def band_scale(
    ds: Any, band: int, scale: Optional[float], offset: float
) -> tuple[float, float, str]:
    """(scale, offset, where from): the file's scale_factor/add_offset metadata if present, else
    the configured ``scale``/``offset`` (default 1, 0)."""
    s = ds.scales[band - 1] if ds.scales else 1.0
    o = ds.offsets[band - 1] if ds.offsets else 0.0
    if (s not in (None, 1.0)) or (o not in (None, 0.0)):
        return float(s or 1.0), float(o or 0.0), "file metadata"
    for tags in (ds.tags(band), ds.tags()):
        sf = [v for k, v in tags.items() if k.split("#")[-1] == "scale_factor"]
        ao = [v for k, v in tags.items() if k.split("#")[-1] == "add_offset"]
        if sf or ao:
            return float(sf[0]) if sf else 1.0, float(ao[0]) if ao else 0.0, "file metadata"
    if scale is not None or offset:
        return (1.0 if scale is None else scale), offset, "configuration"
    return 1.0, 0.0, "none"


#: values that mark "no data" in files that do not declare it (with an integer type's limit:
#: TerraClimate's sea is int16 -32768): GIS tools' -9999, float32's lowest
UNDECLARED = (-9999.0, -3.4028234663852886e38)


def undeclared_nodata(ds: Any, band: int, grid: Grid) -> None:
    """InputError when band ``band`` of ``ds``, which declares no nodata value, holds a value
    that marks no data (its integer type's limit, -9999, float32's lowest) under the master
    grid: bilinear warping blended it into its neighbours (-1,513 mm of PET beside the sea)
    and the error named no file."""
    kind = np.dtype(ds.dtypes[band - 1])
    marks = list(UNDECLARED) if kind.kind == "f" else []
    if kind.kind == "i":
        marks.append(float(np.iinfo(kind).min))
    elif kind.kind == "u" and kind.itemsize > 1:
        marks.append(float(np.iinfo(kind).max))
    if not marks:
        return
    try:
        xs, ys = affine(grid.transform, np.array([0, grid.width, 0, grid.width]),
                        np.array([0, 0, grid.height, grid.height]))  # fmt: skip
        left, right, bottom, top = min(xs), max(xs), min(ys), max(ys)
        if ds.crs != grid.crs:
            left, bottom, right, top = rasterio.warp.transform_bounds(
                grid.crs, ds.crs, left, bottom, right, top, densify_pts=21
            )
        win = rasterio.windows.from_bounds(left, bottom, right, top, ds.transform)
        col0, row0 = math.floor(win.col_off) - 1, math.floor(win.row_off) - 1
        col1 = math.ceil(win.col_off + win.width) + 1
        row1 = math.ceil(win.row_off + win.height) + 1
        win = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0).intersection(
            rasterio.windows.Window(0, 0, ds.width, ds.height)
        )
        values = ds.read(band, window=win)
    except (RasterioError, CPLE_BaseError, ValueError):  # named by the warp that follows
        return
    for mark in marks:
        hits = int(np.count_nonzero(values == mark))
        if hits:
            raise InputError(
                f"{ds.name}: band {band} holds {mark:g} at {hits:,} pixels under the area and "
                f"declares no nodata value: an undeclared nodata value (the sea of TerraClimate, "
                f"say)? Declare it (gdal_edit -a_nodata {mark:g} FILE): prepare then leaves "
                "those pixels out and fills coastal ones from their neighbours"
            )


def warp(ds: Any, band: int, grid: Grid, resampling: Resampling) -> np.ndarray:
    """One band onto the master grid, float64 with NaN nodata (raw values, not scaled); a
    value that marks no data in a file that declares none is an error
    (:func:`undeclared_nodata`)."""
    dst = np.full(grid.shape, np.nan, dtype=np.float64)
    src_nodata = ds.nodata
    if src_nodata is None:
        undeclared_nodata(ds, band, grid)
    if src_nodata is None and np.dtype(ds.dtypes[band - 1]).kind == "f":
        src_nodata = np.nan
    try:
        rasterio.warp.reproject(
            source=rasterio.band(ds, band),
            destination=dst,
            src_nodata=src_nodata,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            dst_nodata=np.nan,
            resampling=resampling,
        )
    except RasterioIOError as exc:
        raise InputError(f"{ds.name}: cannot read band {band} ({exc})") from None
    except Exception as exc:  # GDAL's CPLE_* errors: a CRS pair that cannot be transformed
        raise InputError(transform_error(ds, grid, exc)) from None
    return dst


def transform_error(ds: Any, grid: Grid, exc: Exception) -> str:
    return (
        f"{ds.name}: cannot be transformed from its CRS ({ds.crs}) to the master grid's "
        f"({grid.crs}): {exc}"
    )


def affine(tr: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The affine transform ``tr`` applied to arrays of (x, y) (columns and rows, or map
    coordinates for an inverse transform)."""
    return tr.a * x + tr.b * y + tr.c, tr.d * x + tr.e * y + tr.f


atomic_writer = atomic_raster


def describe_bands(ds: Any, descriptions: Sequence[str], units: str) -> None:
    """Band descriptions (``2001-01``, a month, a quantity) and units of an output, so that a
    GIS and gdalinfo say what each band is."""
    for b, text in enumerate(descriptions, start=1):
        ds.set_band_description(b, text)
    if units:
        ds.units = tuple([units] * ds.count)


def month_labels(first: int, last: int) -> list[str]:
    """``2001-01`` ... ``2020-12``: the bands of a monthly series from ``first`` to ``last``."""
    return [f"{y}-{m:02d}" for y in range(first, last + 1) for m in range(1, 13)]


def climatology_labels(first: int, last: int) -> list[str]:
    """The 12 bands of a monthly climatology: ``01 (mean 1981-2000)`` ..."""
    return [f"{m:02d} (mean {first}-{last})" for m in range(1, 13)]


#: units of the prepared climate quantities
CLIMATE_UNITS = {"temperature": "degrees C", "precipitation": "mm/month", "pet": "mm/month"}


def f32(values: np.ndarray, inside: np.ndarray) -> np.ndarray:
    out = np.where(inside & np.isfinite(values), values, NODATA).astype(np.float32)
    return out


class Series:
    """A multi-band float32 output written band by band; tracks per-pixel valid band counts so
    that pixels valid in only some bands become nodata in all (METHOD.md section 2: the run
    rejects partially valid pixels), counted.

    The bands go to a first file as they come; when some pixel turns out valid in only some
    bands, :meth:`close` copies that file band by band into ``path`` with those pixels set to
    nodata (a written band is never read back from a file open for writing)."""

    def __init__(
        self,
        path: Path,
        grid: Grid,
        count: int,
        descriptions: Sequence[str] = (),
        units: str = "",
    ) -> None:
        self.path = path
        self.first = path.with_name(f".{path.stem}.bands{path.suffix}")
        self.grid = grid
        self.count = count
        self.valid = np.zeros(grid.shape, dtype=np.int32)
        self._cm = atomic_writer(self.first, grid.profile(count))
        self.ds = self._cm.__enter__()
        self.descriptions, self.units = list(descriptions), units
        describe_bands(self.ds, self.descriptions, units)

    def write(self, band: int, values: np.ndarray) -> None:
        ok = self.grid.inside & np.isfinite(values)
        self.valid += ok
        self.ds.write(np.where(ok, values, NODATA).astype(np.float32), band)

    def close(self, error: bool = False) -> int:
        """Finish the file; returns the number of partially valid pixels set to nodata."""
        if error:
            self._cm.__exit__(RuntimeError, RuntimeError(), None)
            return 0
        self._cm.__exit__(None, None, None)
        partial = (self.valid > 0) & (self.valid < self.count)
        n = int(partial.sum())
        if not n:
            os.replace(self.first, self.path)
            return 0
        try:
            with (
                rasterio.open(self.first) as src,
                atomic_writer(self.path, self.grid.profile(self.count)) as dst,
            ):
                for b in range(1, self.count + 1):
                    data = src.read(b)
                    data[partial] = NODATA
                    dst.write(data, b)
                describe_bands(dst, self.descriptions, self.units)
        finally:
            os.remove(self.first)
        return n
