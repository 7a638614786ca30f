"""``gsocseq prepare``: raw downloads to the inputs of a ``gsocseq run`` (docs/prepare.md).

Reads a ``[prepare]`` TOML table naming the raw inputs (SOC map, clay/sand depth layers, ESA CCI
land use, NDVI cover, TerraClimate or CRU climate, an optional area-of-interest polygon), clips
and masks everything to the polygon and the SOC map (the master grid), reprojects/resamples each
input onto that grid, converts units (METHOD.md sections 1, 2, 4, 6) and writes:

- float32 GeoTIFFs in physical units (nodata -999): SOC t C/ha, clay and sand %, EC dS/m, cover
  factor c, the 12-band 1981-2000 climatology (degrees C, mm/month, mm/month), the 12*Y-band
  warm-up series (same units, scale 1), the 1981-2000 mean MIAMI NPP reference in t C/ha/yr
  with its min (T x 1.02, P x 0.95) and max (T x 0.98, P x 1.05) variants;
- the land use as uint8 FAO classes (nodata 255), one band per warm-up year;
- ``gsocseq.toml``, the run configuration (relative paths), ``prepare_report.md`` and one
  quick-look PNG per layer (``quicklook/``, when matplotlib is installed).

Memory: rasters are processed one band at a time on the (clipped) master grid; the climate
series is read, warped and written month by month, never all years at once.
"""

from __future__ import annotations

import calendar
import csv
import datetime as _dt
import json
import math
import os
import re
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.transform
import rasterio.warp
import rasterio.windows
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError

from gsocseq.chain import PERTURBATIONS, miami_npp
from gsocseq.classes import ESA_TO_FAO, NAMES
from gsocseq.config import (
    ConfigError,
    _check_keys,
    _typed,
    read_toml,
    resolve_path,
    toml_value,
)
from gsocseq.config import from_dict as _run_config_from_dict
from gsocseq.rasters import InputError
from gsocseq.writing import atomic_raster

__all__ = ["prepare", "soil_0_30", "terraclimate_temperature"]

NODATA = -999.0
LU_NODATA = 255
RUN_CONFIG = "gsocseq.toml"
REPORT = "prepare_report.md"

PREPARE_KEYS = (
    "name", "output", "aoi", "aoi_layer", "soc", "soc_scale", "clay", "clay_depths",
    "clay_scale", "sand", "sand_depths", "sand_scale", "ec", "ec_scale", "land_use",
    "land_use_table", "cover", "cover_scale", "cover_ndvi", "ndvi_threshold", "ndvi_scale",
    "cover_defaults",
    "climate", "run", "classes", "scenarios", "exclusions", "checks", "quicklooks", "overwrite",
)  # fmt: skip
CLIMATE_KEYS = (
    "source", "tmax", "tmin", "temperature", "precipitation", "pet", "spinup_years",
    "warmup_years", "coastal_fill_km",
)  # fmt: skip
VARIABLE_KEYS = ("path", "scale", "offset", "variable", "units", "first_year")
COVER_GROUPS = {
    "crops": (2, 12),
    "grass": (3, 5, 6, 8),
    "paddy": (13,),
    "tree": (4,),
}
#: default NetCDF variable names per source and quantity
NC_VARIABLES = {
    "terraclimate": {"tmax": "tmax", "tmin": "tmin", "precipitation": "ppt", "pet": "pet"},
    "cru": {"temperature": "tmp", "precipitation": "pre", "pet": "pet"},
}


# ---------------------------------------------------------------------------------------------
# small numeric helpers (public: documented and tested)


def soil_0_30(values: Sequence[Any], depths: Sequence[float]) -> Any:
    """Mean of a soil property over the layer ``depths[0]..depths[-1]`` (cm).

    ``len(values) == len(depths)``: point values at the depths, trapezoidal rule (FAO GSOCseq
    manual eq. 6.1): sum of (v_i + v_i+1)/2 (d_i+1 - d_i) / (d_last - d_first); e.g. 14.5, 25.0,
    25.3, 25.0 at 0, 5, 15, 30 cm gives 24.25. ``len(values) == len(depths) - 1``: layer means
    (SoilGrids 0-5, 5-15, 15-30 cm), thickness-weighted mean. Values are numbers or arrays;
    units are kept.
    """
    d = [float(x) for x in depths]
    total = d[-1] - d[0]
    if total <= 0 or any(b <= a for a, b in zip(d, d[1:])):
        raise ConfigError(f"depths must increase, got {list(depths)}")
    if len(values) == len(d):
        parts = [(values[i] + values[i + 1]) * 0.5 * (d[i + 1] - d[i]) for i in range(len(d) - 1)]
    elif len(values) == len(d) - 1:
        parts = [values[i] * (d[i + 1] - d[i]) for i in range(len(d) - 1)]
    else:
        raise ConfigError(
            f"{len(values)} layers do not fit {len(d)} depths (give one value per depth, "
            "or one layer between each pair of depths)"
        )
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out / total


def terraclimate_temperature(tmax: Any, tmin: Any) -> Any:
    """Monthly mean temperature (degrees C) = (tmax + tmin) / 2, both in degrees C."""
    return (tmax + tmin) * 0.5


def days_in_month(year: int, month: int) -> int:
    """Days in a month of the Gregorian calendar (CRU PET mm/day x days = mm/month)."""
    return calendar.monthrange(year, month)[1]


def npp_reference_parts(t_mean: np.ndarray, p_sum: np.ndarray) -> list[np.ndarray]:
    """Yearly MIAMI NPP (t C/ha/yr) of the central, min and max runs from the yearly mean
    temperature (degrees C) and precipitation sum (mm): each month x 1.02 / 0.95 (min) or
    0.98 / 1.05 (max) before the aggregation, which is the same as scaling the mean and sum."""
    return [
        miami_npp((t_mean * ft)[..., None], (p_sum * fp)[..., None]) for ft, fp in PERTURBATIONS
    ]


# ---------------------------------------------------------------------------------------------
# configuration


@dataclass
class Variable:
    """One climate variable: file template(s), scale/offset when the file has none, NetCDF
    variable name, units (PET: ``mm/day`` or ``mm/month``) and first year of GeoTIFF series."""

    key: str
    paths: list[str]
    scale: Optional[float] = None
    offset: float = 0.0
    variable: Optional[str] = None
    units: Optional[str] = None
    first_year: Optional[int] = None


@dataclass
class Settings:
    """The validated [prepare] table; paths resolved against the configuration's folder."""

    base: Path
    name: str
    output: Path
    table: dict[str, Any]
    climate: dict[str, Any]
    source: str
    variables: dict[str, Variable]
    spinup: tuple[int, int]
    warmup: tuple[int, int]
    coastal_fill_km: float
    overwrite: bool
    quicklooks: bool

    def path(self, value: str) -> Path:
        return resolve_path(self.base, value, "[prepare]")


def _read_config(config: Union[str, os.PathLike, Mapping[str, Any]]) -> tuple[dict, Path]:
    if isinstance(config, Mapping):
        data = dict(config)
        base = Path(".").resolve()
    else:
        path = Path(config)
        data = read_toml(path)
        base = path.resolve().parent
    if "prepare" in data:
        _check_keys(data, ("prepare",), "configuration")
        data = data["prepare"]
    if not isinstance(data, Mapping):
        raise ConfigError("[prepare]: expected a table")
    return dict(data), base


def _years(value: Any, where: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(f"{where}: expected [first, last] years, got {value!r}")
    a, b = (_typed(v, int, where) for v in value)
    if b < a:
        raise ConfigError(f"{where}: last year {b} is before the first {a}")
    return a, b


def _variable(key: str, value: Any, where: str) -> Variable:
    if isinstance(value, (str, list)):
        value = {"path": value}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a file name, a list of files or a table")
    _check_keys(value, VARIABLE_KEYS, where)
    if "path" not in value:
        raise ConfigError(f"{where}: missing 'path'")
    raw = value["path"]
    paths = [raw] if isinstance(raw, str) else raw
    if not isinstance(paths, list) or not paths:
        raise ConfigError(f"{where}.path: expected a file name or a list of file names")
    paths = [_typed(p, str, f"{where}.path") for p in paths]
    units = value.get("units")
    if units is not None and units not in ("mm/day", "mm/month"):
        raise ConfigError(f'{where}.units: expected "mm/day" or "mm/month", got {units!r}')
    return Variable(
        key=key,
        paths=paths,
        scale=_typed(value["scale"], float, f"{where}.scale") if "scale" in value else None,
        offset=_typed(value.get("offset", 0.0), float, f"{where}.offset"),
        variable=_typed(value["variable"], str, f"{where}.variable")
        if "variable" in value
        else None,
        units=units,
        first_year=(
            _typed(value["first_year"], int, f"{where}.first_year")
            if "first_year" in value
            else None
        ),
    )


def _settings(config: Union[str, os.PathLike, Mapping[str, Any]], overwrite: bool) -> Settings:
    table, base = _read_config(config)
    _check_keys(table, PREPARE_KEYS, "[prepare]")
    for key in ("soc", "clay", "land_use", "climate"):
        if key not in table:
            raise ConfigError(f"[prepare]: missing {key!r}")
    covers = [k for k in ("cover", "cover_ndvi", "cover_defaults") if k in table]
    if len(covers) != 1:
        raise ConfigError(
            "[prepare]: give exactly one of cover (NDVI proportions), cover_ndvi (raw NDVI "
            f"stacks) or [prepare.cover_defaults] (found {covers or 'none'})"
        )
    name = _typed(table.get("name", "GSOCseq"), str, "[prepare].name")
    if not name or any(c in name for c in '/\\:*?"<>|'):
        raise ConfigError(f"[prepare].name: {name!r} cannot be a file name prefix")
    output = resolve_path(
        base, _typed(table.get("output", "prepared"), str, "[prepare].output"), "[prepare].output"
    )
    climate = table["climate"]
    if not isinstance(climate, Mapping):
        raise ConfigError("[prepare.climate]: expected a table")
    _check_keys(climate, CLIMATE_KEYS, "[prepare.climate]")
    source = _typed(climate.get("source", "terraclimate"), str, "[prepare.climate].source")
    if source not in NC_VARIABLES:
        raise ConfigError(
            f'[prepare.climate].source: expected "terraclimate" or "cru", got {source!r}'
        )
    if source == "terraclimate":
        temp = ("temperature",) if "temperature" in climate else ("tmax", "tmin")
        needed: tuple[str, ...] = (*temp, "precipitation", "pet")
    else:
        needed = ("temperature", "precipitation", "pet")
        extra = [k for k in ("tmax", "tmin") if k in climate]
        if extra:
            raise ConfigError(f"[prepare.climate]: {extra[0]} is for TerraClimate; CRU has 'tmp'")
    missing = [k for k in needed if k not in climate]
    if missing:
        raise ConfigError(f"[prepare.climate]: missing {', '.join(missing)} (source {source!r})")
    variables = {k: _variable(k, climate[k], f"[prepare.climate].{k}") for k in needed}
    spinup = _years(climate.get("spinup_years", [1981, 2000]), "[prepare.climate].spinup_years")
    warmup = _years(climate.get("warmup_years", [2001, 2020]), "[prepare.climate].warmup_years")
    fill = _typed(climate.get("coastal_fill_km", 10.0), float, "[prepare.climate].coastal_fill_km")
    if fill < 0:
        raise ConfigError(f"[prepare.climate].coastal_fill_km: expected >= 0, got {fill}")
    return Settings(
        base=base,
        name=name,
        output=output,
        table=table,
        climate=dict(climate),
        source=source,
        variables=variables,
        spinup=spinup,
        warmup=warmup,
        coastal_fill_km=fill,
        overwrite=overwrite or _typed(table.get("overwrite", False), bool, "[prepare].overwrite"),
        quicklooks=_typed(table.get("quicklooks", True), bool, "[prepare].quicklooks"),
    )


def _file_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: expected a file name or a list of file names, got {value!r}")


# ---------------------------------------------------------------------------------------------
# the master grid and the area of interest


@dataclass
class Grid:
    """The master grid (the SOC map, clipped to the AOI's bounding box) and the AOI mask."""

    crs: CRS
    transform: Any
    height: int
    width: int
    inside: np.ndarray  # (h, w) bool: in the AOI polygon and SOC valid

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
        if self.height > 256 and self.width > 256:
            prof.update(tiled=True, blockxsize=256, blockysize=256)
        return prof


def _wkb_geometry(data: bytes) -> dict[str, Any]:
    """GeoJSON-like dict of a WKB (ISO or EWKB) Polygon or MultiPolygon (2D, Z and M dropped)."""
    pos = 0

    def read(fmt: str) -> tuple:
        nonlocal pos
        vals = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return vals

    def geometry() -> tuple[str, Any]:
        (order,) = read("B")
        e = "<" if order == 1 else ">"
        (kind,) = read(e + "I")
        ndim = 2
        if kind & 0x20000000:  # EWKB SRID
            read(e + "I")
        if kind & 0x80000000:
            ndim += 1
        if kind & 0x40000000:
            ndim += 1
        kind &= 0x0FFFFFFF
        iso = kind // 1000
        ndim += {0: 0, 1: 1, 2: 1, 3: 2}.get(iso, 0)
        kind %= 1000

        def ring() -> list:
            (n,) = read(e + "I")
            flat = read(e + "d" * (n * ndim))
            return [list(flat[i * ndim : i * ndim + 2]) for i in range(n)]

        if kind == 3:
            (nr,) = read(e + "I")
            return "Polygon", [ring() for _ in range(nr)]
        if kind == 6:
            (np_,) = read(e + "I")
            return "MultiPolygon", [geometry()[1] for _ in range(np_)]
        raise ConfigError(f"area of interest: geometry type {kind} is not a polygon")

    kind, coords = geometry()
    return {"type": kind, "coordinates": coords}


def _read_aoi(path: Path, layer: Optional[str]) -> tuple[list[dict], CRS]:
    """Polygons of a Shapefile, GeoPackage or GeoJSON (pyogrio; GeoJSON also without it)."""
    if not path.exists():
        raise InputError(f"{path}: file not found (area of interest 'aoi')")
    try:
        import pyogrio.raw
    except ImportError:
        if path.suffix.lower() in (".geojson", ".json"):
            return _read_geojson(path)
        raise ConfigError(
            f"{path}: reading a polygon needs pyogrio (pip install 'gsocseq[prepare]'); "
            "or give the area of interest as GeoJSON"
        ) from None
    try:
        meta, _, wkbs, _ = pyogrio.raw.read(path, layer=layer, force_2d=True, columns=[])
    except Exception as exc:  # pyogrio raises its own DataSourceError / DataLayerError
        raise InputError(f"{path}: cannot read the area of interest ({exc})") from None
    crs_text = meta.get("crs")
    if not crs_text:
        if path.suffix.lower() in (".geojson", ".json"):
            crs_text = "EPSG:4326"
        else:
            raise InputError(f"{path}: the area of interest has no CRS")
    geoms = [_wkb_geometry(bytes(w)) for w in wkbs if w is not None]
    return geoms, CRS.from_user_input(crs_text)


def _read_geojson(path: Path) -> tuple[list[dict], CRS]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the GeoJSON area of interest ({exc})") from None
    crs = CRS.from_epsg(4326)
    name = (doc.get("crs") or {}).get("properties", {}).get("name")
    if name:
        crs = CRS.from_user_input(name)
    if doc.get("type") == "FeatureCollection":
        geoms = [f["geometry"] for f in doc.get("features", []) if f.get("geometry")]
    elif doc.get("type") == "Feature":
        geoms = [doc["geometry"]]
    else:
        geoms = [doc]
    for g in geoms:
        if g.get("type") not in ("Polygon", "MultiPolygon"):
            raise ConfigError(f"{path}: area of interest geometry {g.get('type')} is not a polygon")
    return geoms, crs


def _open(path: Path, what: str, variable: Optional[str] = None) -> Any:
    """Open a raster (NetCDF: the named variable when the file has several)."""
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
    return ds


def _master_grid(settings: Settings, report: Report) -> tuple[Grid, np.ndarray]:
    """The clipped master grid and the SOC (t C/ha, NaN outside the AOI and where nodata)."""
    t = settings.table
    soc_path = settings.path(_typed(t["soc"], str, "[prepare].soc"))
    scale = _typed(t.get("soc_scale", 1.0), float, "[prepare].soc_scale")
    with _open(soc_path, "SOC map, master grid") as ds:
        full = rasterio.windows.Window(0, 0, ds.width, ds.height)
        aoi_note = "none (the whole SOC map)"
        geoms: list[dict] = []
        if "aoi" in t:
            aoi_path = settings.path(_typed(t["aoi"], str, "[prepare].aoi"))
            layer = t.get("aoi_layer")
            raw_geoms, aoi_crs = _read_aoi(aoi_path, layer)
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
    grid = Grid(crs=crs, transform=transform, height=h, width=w, inside=inside)
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


# ---------------------------------------------------------------------------------------------
# warping


def _resampling_for(ds: Any, grid: Grid, continuous: bool) -> Resampling:
    """Bilinear for continuous fields (land use: :func:`_land_use_classes`, the methodology's
    majority rule, so that prepared inputs match any other implementation of it)."""
    del ds, grid, continuous
    return Resampling.bilinear


def _band_scale(
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


def _warp(ds: Any, band: int, grid: Grid, resampling: Resampling) -> np.ndarray:
    """One band onto the master grid, float64 with NaN nodata (raw values, not scaled)."""
    dst = np.full(grid.shape, np.nan, dtype=np.float64)
    src_nodata = ds.nodata
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
        raise InputError(_transform_error(ds, grid, exc)) from None
    return dst


def _transform_error(ds: Any, grid: Grid, exc: Exception) -> str:
    return (
        f"{ds.name}: cannot be transformed from its CRS ({ds.crs}) to the master grid's "
        f"({grid.crs}): {exc}"
    )


#: FAO classes 0-13 (METHOD.md section 2)
N_CLASSES = 14


def _land_use_classes(
    ds: Any,
    band: int,
    grid: Grid,
    lut_codes: np.ndarray,
    lut_vals: np.ndarray,
    table: str,
    block_pixels: int = 65_536,
) -> np.ndarray:
    """One band of land-use codes as FAO classes on the master grid (int64, -1 = nodata), by
    the rule of METHOD.md section 2: every source pixel reclassified to its FAO class first,
    then the majority class of the source pixels whose centres fall in the master pixel (a
    pixel's cell is [left, right) x (bottom, top]). Ties: the tied class of the source pixel
    nearest the master pixel's centre (equally near: the smaller class). A master pixel that
    no source centre falls in (a source as coarse as the grid or coarser) takes the class of
    the source pixel under its centre. Source nodata is not counted; a code absent from the
    table on a pixel of the area of interest is an error.

    The master grid is done in blocks of rows of about ``block_pixels`` pixels (the source
    window under each block read at a time), so memory follows the block, not the source; the
    result does not depend on the block."""
    out = np.full(grid.shape, -1, dtype=np.int64)
    h, w = grid.shape
    step = max(1, block_pixels // max(w, 1))
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        out[r0:r1] = _land_use_block(ds, band, grid, r0, r1, lut_codes, lut_vals, table)
    return out


def _land_use_block(
    ds: Any,
    band: int,
    grid: Grid,
    r0: int,
    r1: int,
    lut_codes: np.ndarray,
    lut_vals: np.ndarray,
    table: str,
) -> np.ndarray:
    """:func:`_land_use_classes` of master rows r0..r1."""
    w = grid.width
    rows = r1 - r0
    result = np.full((rows, w), -1, dtype=np.int64)
    tr = grid.transform
    same_crs = ds.crs == grid.crs
    # the source window under the block (one source pixel of margin)
    xs, ys = _affine(tr, np.array([0, w, 0, w]), np.array([r0, r0, r1, r1]))
    left, right = float(np.min(xs)), float(np.max(xs))
    bottom, top = float(np.min(ys)), float(np.max(ys))
    if not same_crs:
        try:
            left, bottom, right, top = rasterio.warp.transform_bounds(
                grid.crs, ds.crs, left, bottom, right, top, densify_pts=21
            )
        except Exception as exc:  # GDAL's CPLE_* errors
            raise InputError(_transform_error(ds, grid, exc)) from None
    full = rasterio.windows.Window(0, 0, ds.width, ds.height)
    try:
        win = rasterio.windows.from_bounds(left, bottom, right, top, ds.transform)
        col0 = math.floor(win.col_off) - 1
        row0 = math.floor(win.row_off) - 1
        col1 = math.ceil(win.col_off + win.width) + 1
        row1 = math.ceil(win.row_off + win.height) + 1
        win = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0).intersection(full)
    except rasterio.errors.WindowError:
        return result  # the source does not reach this block
    win = rasterio.windows.Window(
        int(win.col_off), int(win.row_off), int(win.width), int(win.height)
    )
    try:
        raw = ds.read(band, window=win)
    except RasterioIOError as exc:
        raise InputError(f"{ds.name}: cannot read band {band} ({exc})") from None
    valid = np.ones(raw.shape, dtype=bool)
    if ds.nodata is not None:
        valid &= raw != ds.nodata
    if raw.dtype.kind == "f":
        valid &= np.isfinite(raw)
    classes = _reclassify(raw, valid, lut_codes, lut_vals).ravel()  # -1: not in the table
    valid = valid.ravel()
    sh, sw = raw.shape
    # positions from the source's own transform and whole-raster indices (not the window's):
    # the same bits whatever the block
    src_tr = ds.transform
    j0, i0 = int(win.col_off), int(win.row_off)
    inv = ~tr
    # the master cell of every source pixel centre (-1: outside the block)
    if same_crs and src_tr.b == src_tr.d == tr.b == tr.d == 0:
        # axis-aligned grids of one CRS: a column and a row of centres do (the same
        # arithmetic as the general case, whose cross terms are 0)
        x1, _ = _affine(src_tr, np.arange(j0, j0 + sw) + 0.5, np.zeros(sw))
        _, y1 = _affine(src_tr, np.zeros(sh), np.arange(i0, i0 + sh) + 0.5)
        mc1 = np.floor(_affine(inv, x1, np.zeros(sw))[0]).astype(np.int64)
        mr1 = np.floor(_affine(inv, np.zeros(sh), y1)[1]).astype(np.int64) - r0
        mc1[(mc1 < 0) | (mc1 >= w)] = -1
        mr1[(mr1 < 0) | (mr1 >= rows)] = -1
        cell = (mr1[:, None] * w + mc1[None, :]).ravel()
        cell[((mr1 < 0)[:, None] | (mc1 < 0)[None, :]).ravel()] = -1

        def centres(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return x1[k % sw], y1[k // sw]

    else:
        jj, ii = np.meshgrid(np.arange(j0, j0 + sw) + 0.5, np.arange(i0, i0 + sh) + 0.5)
        sx, sy = _affine(src_tr, jj.ravel(), ii.ravel())
        if not same_crs:
            sx, sy = (np.asarray(v) for v in rasterio.warp.transform(ds.crs, grid.crs, sx, sy))
        fc, fr = _affine(inv, sx, sy)
        mc, mr = np.floor(fc).astype(np.int64), np.floor(fr).astype(np.int64) - r0
        cell = np.where((mr >= 0) & (mr < rows) & (mc >= 0) & (mc < w), mr * w + mc, -1)

        def centres(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return sx[k], sy[k]

    inside = grid.inside[r0:r1].ravel()
    k = np.flatnonzero((cell >= 0) & valid)
    cell, cls = cell[k], classes[k]
    unknown = (cls < 0) & inside[cell]
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        _unknown_code(ds, band, grid, table, raw.ravel()[k[i]], r0 + cell[i] // w, cell[i] % w)
    known = cls >= 0
    cell, cls, k = cell[known], cls[known], k[known]
    counts = np.bincount(cell * N_CLASSES + cls, minlength=rows * w * N_CLASSES).reshape(
        rows * w, N_CLASSES
    )
    top_count = counts.max(axis=1)
    tied = counts == top_count[:, None]
    n_tied = tied.sum(axis=1)
    flat = result.reshape(-1)
    flat[:] = np.where(top_count > 0, np.argmax(counts, axis=1), -1)
    # ties: the tied class of the nearest source pixel (then the smaller class)
    candidate = (n_tied[cell] > 1) & (top_count[cell] > 0) & tied[cell, cls]
    if candidate.any():
        cc, kk, cl = cell[candidate], k[candidate], cls[candidate]
        cx, cy = _affine(tr, (cc % w) + 0.5, (cc // w) + r0 + 0.5)
        sx_k, sy_k = centres(kk)
        # squared distance in pixel areas, to 1e-9: equally near in exact arithmetic stays
        # equally near whatever the rounding
        d2 = np.round(((sx_k - cx) ** 2 + (sy_k - cy) ** 2) / abs(tr.a * tr.e - tr.b * tr.d), 9)
        order = np.lexsort((cl, d2, cc))
        first = np.unique(cc[order], return_index=True)[1]
        flat[cc[order][first]] = cl[order][first]
    # no source centre in the pixel: the source pixel under its centre
    empty = np.flatnonzero(top_count == 0)
    if empty.size:
        ex, ey = _affine(tr, (empty % w) + 0.5, (empty // w) + r0 + 0.5)
        if not same_crs:
            ex, ey = (np.asarray(v) for v in rasterio.warp.transform(grid.crs, ds.crs, ex, ey))
        fc, fr = _affine(~src_tr, np.asarray(ex), np.asarray(ey))
        sc, sr = np.floor(fc).astype(np.int64) - j0, np.floor(fr).astype(np.int64) - i0
        ok = (sr >= 0) & (sr < sh) & (sc >= 0) & (sc < sw)
        at = sr[ok] * sw + sc[ok]
        ok[ok] = valid[at]
        at = sr[ok] * sw + sc[ok]
        bad = (classes[at] < 0) & inside[empty[ok]]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            e = int(empty[ok][i])
            _unknown_code(ds, band, grid, table, raw.ravel()[at[i]], r0 + e // w, e % w)
        flat[empty[ok]] = classes[at]
    return result


def _reclassify(
    raw: np.ndarray, valid: np.ndarray, lut_codes: np.ndarray, lut_vals: np.ndarray
) -> np.ndarray:
    """FAO class of every source code (int64, -1 where the code is not in the table or the
    pixel is nodata): a dense lookup table for small whole codes (uint8/uint16 rasters), else a
    search."""
    if raw.dtype.kind in "ui" and raw.dtype.itemsize <= 2:
        low = int(np.iinfo(raw.dtype).min)
        dense = np.full(int(np.iinfo(raw.dtype).max) - low + 1, -1, dtype=np.int64)
        fits = (lut_codes >= low) & (lut_codes <= np.iinfo(raw.dtype).max)
        dense[lut_codes[fits] - low] = lut_vals[fits]
        out = dense[raw.astype(np.int64) - low if low else raw]
    else:
        with np.errstate(invalid="ignore"):
            whole = valid & (raw == np.round(raw)) if raw.dtype.kind == "f" else valid
        codes = np.where(whole, raw, lut_codes[0]).astype(np.int64)
        pos = np.clip(np.searchsorted(lut_codes, codes), 0, len(lut_codes) - 1)
        out = np.where((lut_codes[pos] == codes) & whole, lut_vals[pos], -1)
        out[valid & ~whole] = -1
    out[~valid] = -1
    return out


def _affine(tr: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The affine transform ``tr`` applied to arrays of (x, y) (columns and rows, or map
    coordinates for an inverse transform)."""
    return tr.a * x + tr.b * y + tr.c, tr.d * x + tr.e * y + tr.f


def _unknown_code(
    ds: Any, band: int, grid: Grid, table: str, code: Any, row: int, col: int
) -> None:
    """The error for a source code absent from the table, at master pixel (row, col)."""
    x, y = rasterio.transform.xy(grid.transform, int(row), int(col))
    raise InputError(
        f"{ds.name}: band {band}: land-use code {code:g} is not in the table ({table}) "
        f"at x={x:.6f}, y={y:.6f}"
    )


class CoastalFill:
    """Fills master-grid pixels in the AOI that a coarse climate grid misses with the value of
    the nearest valid climate pixel (on the master grid) within ``radius_km``."""

    def __init__(self, grid: Grid, radius_km: float) -> None:
        self.grid = grid
        self.radius = radius_km
        self.cache: dict[bytes, tuple[np.ndarray, ...]] = {}
        self.filled: dict[str, int] = {}
        self.unfilled: dict[str, int] = {}
        tr = grid.transform
        if grid.crs.is_geographic:
            lat = tr.f + (np.arange(grid.height) + 0.5) * tr.e
            self.dx = abs(tr.a) * 111.320 * np.cos(np.radians(lat))
            self.dy = abs(tr.e) * 110.574
        else:
            unit = grid.crs.linear_units_factor[1] / 1000.0
            self.dx = np.full(grid.height, abs(tr.a) * unit)
            self.dy = abs(tr.e) * unit

    def _index(self, valid: np.ndarray) -> tuple[np.ndarray, ...]:
        """(rows, cols) of the AOI pixels without a value, (rows, cols) of the nearest valid
        pixel of each within the radius, and the count of those left without one.

        The search covers every row within the radius (no cap: on a 10 m grid, 10 km are 1,000
        rows), nearest rows first, and stops for a pixel as soon as no farther row can hold a
        nearer valid pixel. Within a row the distance grows with the column offset, so only the
        nearest valid column on either side is a candidate (precomputed for every row).
        Distance: hypot(row offset x dy, column offset x dx of the pixel's row) in km; among
        equally near pixels the first found wins (nearer row, the row above, the left one)."""
        targets = self.grid.inside & ~valid
        rows, cols = np.nonzero(targets)
        best = np.full(rows.size, np.inf)
        src_r = np.zeros(rows.size, dtype=np.int64)
        src_c = np.zeros(rows.size, dtype=np.int64)
        if rows.size and self.radius > 0 and valid.any():
            h, w = valid.shape
            index = np.arange(w, dtype=np.int64)
            # the nearest valid column at or left of each column (-1: none) and at or right
            # of it (w: none)
            left = np.maximum.accumulate(np.where(valid, index, -1), axis=1)
            right = np.minimum.accumulate(np.where(valid, index, w)[:, ::-1], axis=1)[:, ::-1]
            dxr = self.dx[rows]
            active = np.arange(rows.size)
            k = 0
            while active.size and k * self.dy <= self.radius:
                for oy in (0,) if k == 0 else (-k, k):
                    r = rows[active] + oy
                    inside = (r >= 0) & (r < h)
                    at, r = active[inside], r[inside]
                    for nearest in (left, right):
                        c = nearest[r, cols[at]]
                        dist = np.hypot(oy * self.dy, (c - cols[at]) * dxr[at])
                        better = (c >= 0) & (c < w) & (dist < best[at]) & (dist <= self.radius)
                        hit = at[better]
                        best[hit] = dist[better]
                        src_r[hit] = r[better]
                        src_c[hit] = c[better]
                k += 1
                # a row k away is at least k dy away: pixels with a nearer one are done
                active = active[best[active] > k * self.dy]
        found = np.isfinite(best)
        return rows[found], cols[found], src_r[found], src_c[found], np.int64((~found).sum())

    def __call__(self, key: str, values: np.ndarray) -> np.ndarray:
        valid = np.isfinite(values)
        sig = np.packbits(valid).tobytes()
        if sig not in self.cache:
            self.cache = {sig: self._index(valid)}  # patterns repeat band after band
        rows, cols, sr, sc, missing = self.cache[sig]
        out = values.copy()
        out[rows, cols] = values[sr, sc]
        self.filled[key] = max(self.filled.get(key, 0), int(rows.size))
        self.unfilled[key] = max(self.unfilled.get(key, 0), int(missing))
        return out


# ---------------------------------------------------------------------------------------------
# writing


_writer = atomic_raster


def _f32(values: np.ndarray, inside: np.ndarray) -> np.ndarray:
    out = np.where(inside & np.isfinite(values), values, NODATA).astype(np.float32)
    return out


class Series:
    """A multi-band float32 output written band by band; tracks per-pixel valid band counts so
    that pixels valid in only some bands become nodata in all (METHOD.md section 2: the run
    rejects partially valid pixels), counted.

    The bands go to a first file as they come; when some pixel turns out valid in only some
    bands, :meth:`close` copies that file band by band into ``path`` with those pixels set to
    nodata (a written band is never read back from a file open for writing)."""

    def __init__(self, path: Path, grid: Grid, count: int) -> None:
        self.path = path
        self.first = path.with_name(f".{path.stem}.bands{path.suffix}")
        self.grid = grid
        self.count = count
        self.valid = np.zeros(grid.shape, dtype=np.int32)
        self._cm = _writer(self.first, grid.profile(count))
        self.ds = self._cm.__enter__()

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
                _writer(self.path, self.grid.profile(self.count)) as dst,
            ):
                for b in range(1, self.count + 1):
                    data = src.read(b)
                    data[partial] = NODATA
                    dst.write(data, b)
        finally:
            os.remove(self.first)
        return n


# ---------------------------------------------------------------------------------------------
# the report


@dataclass
class Report:
    """What prepare did to every input, written as Markdown."""

    lines: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def grid(
        self, soc: Path, src: tuple, grid: Grid, aoi: str, in_poly: int, soc_nodata: int
    ) -> None:
        width, height, res = src
        self.lines += [
            "## Master grid and area of interest",
            "",
            f"- SOC map `{soc}`: {width} x {height} pixels, pixel size {res[0]:g} x {res[1]:g}, "
            f"CRS {grid.crs.to_string()}",
            f"- area of interest: {aoi}",
            f"- prepared grid: {grid.width} x {grid.height} pixels, origin "
            f"({grid.transform.c:.6f}, {grid.transform.f:.6f})",
            f"- pixels in the polygon: {in_poly}; SOC nodata among them: {soc_nodata}; "
            f"pixels kept: {int(grid.inside.sum())} (every other pixel is nodata in every layer)",
            "",
            "## Layers",
            "",
            "| layer | source | CRS | resampling | scale | units | pixels |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]

    def layer(
        self,
        name: str,
        sources: Sequence[Path],
        crs: str,
        resampling: str,
        scale: str,
        units: str,
        pixels: str,
    ) -> None:
        names = [Path(s).name for s in sources]
        src = ", ".join(f"`{n}`" for n in names[:4])
        if len(names) > 4:
            src += f" ... ({len(names)} files)"
        self.lines.append(
            f"| {name} | {src} | {crs} | {resampling} | {scale} | {units} | {pixels} |"
        )

    def text(self, settings: Settings, outputs: Mapping[str, str], seconds: float) -> str:
        head = [
            f"# gsocseq prepare report: {settings.name}",
            "",
            f"Prepared {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} in {seconds:.1f} s. "
            f"Run configuration: `{RUN_CONFIG}` (`gsocseq run {RUN_CONFIG}`). Every layer is "
            "float32 with nodata -999 on the master grid (land use: uint8 FAO classes, nodata "
            "255), in physical units (scale 1).",
            "",
        ]
        files = ["", "## Files", "", "| input key | file |", "| --- | --- |"]
        files += [f"| {k} | `{v}` |" for k, v in outputs.items()]
        notes = ["", "## Notes", ""] + [f"- {n}" for n in self.notes] if self.notes else []
        looks = ["", "## Quick looks", ""] + [f"![{n}](quicklook/{n}.png)" for n in self.layers]
        return "\n".join(head + self.lines + files + notes + looks) + "\n"


# ---------------------------------------------------------------------------------------------
# the inputs


def _soil(
    settings: Settings, grid: Grid, report: Report, key: str, units: str
) -> Optional[np.ndarray]:
    """Clay or sand 0-30 cm (%), from one layer or depth layers, NaN outside the AOI."""
    t = settings.table
    if key not in t:
        return None
    files = _file_list(t[key], f"[prepare].{key}")
    scale = _typed(t.get(f"{key}_scale", 1.0), float, f"[prepare].{key}_scale")
    paths = [settings.path(f) for f in files]
    layers = []
    crs = set()
    methods = set()
    for p in paths:
        with _open(p, f"{key} layer") as ds:
            res = _resampling_for(ds, grid, True)
            methods.add(res.name)
            crs.add(ds.crs.to_string())
            s, o, _ = _band_scale(ds, 1, scale, 0.0)
            layers.append(_warp(ds, 1, grid, res) * s + o)
    if len(layers) == 1:
        values = layers[0]
        how = "one 0-30 cm layer"
    else:
        default = [0, 5, 15, 30] if len(layers) in (3, 4) else None
        depths = t.get(f"{key}_depths", default)
        if not isinstance(depths, list):
            raise ConfigError(f"[prepare].{key}_depths: expected layer boundaries in cm")
        depths = [_typed(d, float, f"[prepare].{key}_depths") for d in depths]
        try:
            values = soil_0_30(layers, depths)
        except ConfigError as exc:
            raise ConfigError(f"[prepare].{key}: {exc}") from None
        kind = "point values, trapezoid" if len(layers) == len(depths) else "layer means, weighted"
        how = f"{len(layers)} layers at {depths} cm ({kind})"
    values[~grid.inside] = np.nan
    n_nan = int((grid.inside & ~np.isfinite(values)).sum())
    report.layer(
        key,
        paths,
        ", ".join(sorted(crs)),
        ", ".join(sorted(methods)),
        f"x {scale:g}",
        units,
        f"{how}; {n_nan} AOI pixels nodata",
    )
    return values


def _land_use_table(settings: Settings) -> tuple[dict[int, int], str]:
    spec = settings.table.get("land_use_table", "esa-cci")
    spec = _typed(spec, str, "[prepare].land_use_table")
    if spec.lower() in ("esa-cci", "esa", "esacci"):
        return dict(ESA_TO_FAO), "ESA CCI -> FAO (v1.2 land-use script)"
    path = settings.path(spec)
    if not path.exists():
        raise InputError(f"{path}: file not found ([prepare].land_use_table)")
    table: dict[int, int] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            if not row or not row[0].strip() or row[0].strip().startswith("#"):
                continue
            try:
                code, cls = int(row[0]), int(row[1])
            except (ValueError, IndexError):
                if n == 1:
                    continue  # header
                raise InputError(f"{path}: line {n}: expected code,fao_class, got {row}") from None
            if not 0 <= cls <= 13:
                raise InputError(f"{path}: line {n}: FAO class {cls} is not 0-13")
            table[code] = cls
    if not table:
        raise InputError(f"{path}: the land-use table is empty")
    return table, f"`{path.name}`"


def _land_use_sources(settings: Settings) -> list[tuple[Path, int]]:
    """(file, band) of each warm-up year's land use."""
    value = settings.table["land_use"]
    y0, y1 = settings.warmup
    if isinstance(value, str) and "{year" in value:
        return [(settings.path(value.format(year=y)), 1) for y in range(y0, y1 + 1)]
    files = _file_list(value, "[prepare].land_use")
    if len(files) == 1:
        p = settings.path(files[0])
        with _open(p, "land use") as ds:
            n = ds.count
        return [(p, b) for b in range(1, n + 1)]
    return [(settings.path(f), 1) for f in files]


def _land_use(settings: Settings, grid: Grid, report: Report, out: Path) -> np.ndarray:
    """Write the FAO land-use classes (one band per year); return the last year's classes."""
    table, table_note = _land_use_table(settings)
    lut_codes = np.array(sorted(table), dtype=np.int64)
    lut_vals = np.array([table[c] for c in lut_codes], dtype=np.int64)
    sources = _land_use_sources(settings)
    years = settings.warmup[1] - settings.warmup[0] + 1
    if len(sources) > years:
        raise ConfigError(
            f"[prepare].land_use: {len(sources)} land-use bands for {years} warm-up years"
        )
    last = np.full(grid.shape, -1, dtype=np.int64)
    crs = set()
    with _writer(out, grid.profile(len(sources), "uint8", LU_NODATA)) as dst:
        for i, (path, band) in enumerate(sources, start=1):
            with _open(path, "land use") as ds:
                crs.add(ds.crs.to_string())
                classes = _land_use_classes(
                    ds, band, grid, lut_codes, lut_vals, table_note.strip("`")
                )
            fao = np.where(grid.inside & (classes >= 0), classes, LU_NODATA)
            dst.write(fao.astype(np.uint8), i)
            last = np.where(fao == LU_NODATA, -1, fao)
    counts = {int(k): int(v) for k, v in zip(*np.unique(last[grid.inside], return_counts=True))}
    text = ", ".join(f"{NAMES.get(k, k) if k >= 0 else 'nodata'} {v}" for k, v in counts.items())
    report.layer(
        "land_use",
        [p for p, _ in sources],
        ", ".join(sorted(crs)),
        "majority of the FAO classes of the source pixels",
        table_note,
        f"FAO class, {len(sources)} band(s)",
        f"last year: {text}",
    )
    return last


def _month_files(template: Any, where: str) -> list[str]:
    if isinstance(template, str) and "{month" in template:
        return [template.format(month=m) for m in range(1, 13)]
    return _file_list(template, where)


def _cover(settings: Settings, grid: Grid, report: Report, last_lu: np.ndarray, out: Path) -> None:
    """The 12-band cover factor c (0.6 covered .. 1.0 bare)."""
    t = settings.table
    series = Series(out, grid, 12)
    crs: set[str] = set()
    try:
        if "cover" in t:
            files = [settings.path(f) for f in _month_files(t["cover"], "[prepare].cover")]
            bands = [(p, 1) for p in files]
            if len(files) == 1:
                with _open(files[0], "cover") as ds:
                    bands = [(files[0], b) for b in range(1, ds.count + 1)]
            if len(bands) != 12:
                raise InputError(
                    f"{files[0]}: cover needs 12 monthly NDVI proportions, got {len(bands)}"
                )
            scale = _typed(t.get("cover_scale", 1.0), float, "[prepare].cover_scale")
            for m, (p, b) in enumerate(bands, start=1):
                with _open(p, "cover (NDVI proportion)") as ds:
                    crs.add(ds.crs.to_string())
                    s, o, _ = _band_scale(ds, b, scale, 0.0)
                    prop = _warp(ds, b, grid, _resampling_for(ds, grid, True)) * s + o
                _check_shares(prop, grid, p, b, s)
                # within [0, 1] up to the rounding of the resampling
                series.write(m, 1.0 - 0.4 * np.clip(prop, 0.0, 1.0))
            how = (f"NDVI proportion P_veg x {scale:g}", "c = 1 - 0.4 P_veg")
            sources = files
        elif "cover_ndvi" in t:
            files = [
                settings.path(f) for f in _month_files(t["cover_ndvi"], "[prepare].cover_ndvi")
            ]
            if len(files) != 12:
                raise ConfigError("[prepare].cover_ndvi: expected 12 monthly NDVI stacks")
            thr = _typed(t.get("ndvi_threshold", 0.6), float, "[prepare].ndvi_threshold")
            scale = _typed(t.get("ndvi_scale", 1.0), float, "[prepare].ndvi_scale")
            for m, p in enumerate(files, start=1):
                with _open(p, "cover (NDVI stack)") as ds:
                    crs.add(ds.crs.to_string())
                    above = np.zeros(grid.shape)
                    n = np.zeros(grid.shape)
                    res = _resampling_for(ds, grid, True)
                    for b in range(1, ds.count + 1):
                        s, o, _ = _band_scale(ds, b, scale, 0.0)
                        v = _warp(ds, b, grid, res) * s + o
                        ok = np.isfinite(v)
                        n += ok
                        above += ok & (v > thr)
                with np.errstate(invalid="ignore", divide="ignore"):
                    prop = np.where(n > 0, above / np.maximum(n, 1), np.nan)
                series.write(m, 1.0 - 0.4 * prop)
            how = (f"raw NDVI x {scale:g}, threshold {thr:g}", "P_veg = share of images > thr")
            sources = files
        else:
            defaults = t["cover_defaults"]
            if not isinstance(defaults, Mapping):
                raise ConfigError("[prepare.cover_defaults]: expected a table")
            allowed = (*COVER_GROUPS, "other", *(str(c) for c in range(14)))
            _check_keys(defaults, allowed, "[prepare.cover_defaults]")
            per_class: dict[int, np.ndarray] = {}
            order = ["other", *COVER_GROUPS, *(k for k in defaults if k.isdigit())]
            for key in order:
                if key not in defaults:
                    continue
                v = defaults[key]
                where = f"[prepare.cover_defaults].{key}"
                vals = [v] * 12 if not isinstance(v, list) else v
                if len(vals) != 12:
                    raise ConfigError(f"{where}: expected one value or 12 monthly values")
                arr = np.array([_typed(x, float, where) for x in vals])
                if (arr < 0.6).any() or (arr > 1.0).any():
                    raise ConfigError(f"{where}: cover factors are 0.6 (covered) .. 1.0 (bare)")
                classes = (
                    range(14)
                    if key == "other"
                    else COVER_GROUPS.get(key, (int(key),) if key.isdigit() else ())
                )
                for c in classes:
                    per_class[c] = arr
            lut = np.full((14, 12), np.nan)
            for c, arr in per_class.items():
                lut[c] = arr
            cls = np.where((last_lu >= 0) & (last_lu < 14), last_lu, 0)
            known = (last_lu >= 0) & (last_lu < 14)
            for m in range(12):
                series.write(m + 1, np.where(known, lut[cls, m], np.nan))
            how = ("per-class defaults of the last land-use year", "c as configured")
            sources = []
    except BaseException:
        series.close(error=True)
        raise
    partial = series.close()
    n_nan = int((grid.inside & (series.valid == 0)).sum())
    report.layer(
        "cover",
        sources,
        ", ".join(sorted(crs)) or grid.crs.to_string(),
        "bilinear" if sources else "-",
        how[0],
        f"cover factor c ({how[1]})",
        f"{n_nan} AOI pixels nodata; {partial} partially valid set to nodata",
    )


def _check_shares(prop: np.ndarray, grid: Grid, path: Path, band: int, scale: float) -> None:
    """NDVI shares P_veg are fractions 0-1: a value outside (in the AOI) is an input error,
    never clipped (shares in percent would give c = 0.6 everywhere)."""
    with np.errstate(invalid="ignore"):
        bad = grid.inside & ((prop > 1.0 + 1e-6) | (prop < -1e-6))
    if not bad.any():
        return
    r, c = (int(v[0]) for v in np.nonzero(bad))
    x, y = rasterio.transform.xy(grid.transform, r, c)
    v = float(prop[r, c])
    hint = "percent? set cover_scale = 0.01 in [prepare]" if 1.0 < v <= 100.0 else ""
    raise InputError(
        f"{path}: band {band}: NDVI share P_veg = {v:g} (after scale {scale:g}) at x={x:.6f}, "
        f"y={y:.6f}: expected a fraction 0-1" + (f" ({hint})" if hint else "")
    )


# -- climate ------------------------------------------------------------------------------------


class Climate:
    """Monthly climate on the master grid: T (degrees C), P and PET (mm/month)."""

    def __init__(self, settings: Settings, grid: Grid, report: Report) -> None:
        self.s = settings
        self.grid = grid
        self.report = report
        self.fill = CoastalFill(grid, settings.coastal_fill_km)
        self.open: dict[str, Any] = {}
        self.used: dict[str, dict[str, Any]] = {}
        self.index: dict[str, dict[tuple[int, int], tuple[Path, int]]] = {}
        if settings.source == "cru":
            for key, var in settings.variables.items():
                self.index[key] = self._cru_index(var)

    def close(self) -> None:
        for ds in self.open.values():
            ds.close()
        self.open = {}

    def _ds(self, path: Path, var: Variable) -> Any:
        name = var.variable or NC_VARIABLES[self.s.source].get(var.key)
        key = f"{path}|{name}"
        if key not in self.open:
            if len(self.open) > 8:
                self.close()
            self.open[key] = _open(path, f"climate {var.key}", name)
        return self.open[key]

    def _cru_index(self, var: Variable) -> dict[tuple[int, int], tuple[Path, int]]:
        """(year, month) -> (file, band) from the NetCDF time axis (or ``first_year``)."""
        years = range(
            min(self.s.spinup[0], self.s.warmup[0]), max(self.s.spinup[1], self.s.warmup[1]) + 1
        )
        paths: list[Path] = []
        for p in var.paths:
            names = sorted({p.format(year=y) for y in years}) if "{year" in p else [p]
            paths += [self.s.path(n) for n in names if self.s.path(n).exists() or "{year" not in p]
        index: dict[tuple[int, int], tuple[Path, int]] = {}
        for path in paths:
            ds = self._ds(path, var)
            dates = _band_dates(ds, var)
            if dates is None:
                raise InputError(
                    f"{path}: no time axis in the file (climate {var.key}); give "
                    f"first_year = ... in [prepare.climate].{var.key} for a monthly series "
                    "starting in January"
                )
            for b, ym in enumerate(dates, start=1):
                index.setdefault(ym, (path, b))
        return index

    def _raw(self, key: str, year: int, month: int) -> np.ndarray:
        var = self.s.variables[key]
        if self.s.source == "cru":
            try:
                path, band = self.index[key][(year, month)]
            except KeyError:
                files = ", ".join(str(self.s.path(p)) for p in var.paths)
                raise InputError(
                    f"climate {key}: no data for {year}-{month:02d} in {files}"
                ) from None
        else:
            templates = var.paths
            if len(templates) != 1 or "{year" not in templates[0]:
                raise ConfigError(
                    f"[prepare.climate].{key}: expected one file name template with {{year}}, "
                    'e.g. "tmmx_{year}.tif"'
                )
            path = self.s.path(templates[0].format(year=year))
            band = month
            if not path.exists():
                raise InputError(f"{path}: file not found (climate {key}, year {year})")
        ds = self._ds(path, var)
        if band > ds.count:
            raise InputError(
                f"{path}: month {month} missing (climate {key}, year {year}: "
                f"{ds.count} bands, expected 12)"
            )
        res = _resampling_for(ds, self.grid, True)
        scale, offset, how = _band_scale(ds, band, var.scale, var.offset)
        values = _warp(ds, band, self.grid, res) * scale + offset
        units = var.units or ("mm/day" if self.s.source == "cru" and key == "pet" else "mm/month")
        if key == "pet" and units == "mm/day":
            values = values * days_in_month(year, month)
        info = self.used.setdefault(
            key,
            {"files": [], "crs": ds.crs.to_string(), "res": res.name, "scale": set(), "units": ""},
        )
        if path not in info["files"]:
            info["files"].append(path)
        info["scale"].add(f"x {scale:g} + {offset:g} ({how})" if offset else f"x {scale:g} ({how})")
        if key in ("pet",) and units == "mm/day":
            info["units"] = "mm/day x days in month -> mm/month"
        self._check(key, values, path, band, scale)
        return values

    def _check(self, key: str, values: np.ndarray, path: Path, band: int, scale: float) -> None:
        v = values[self.grid.inside]
        v = v[np.isfinite(v)]
        if not v.size:
            return
        if key in ("tmax", "tmin", "temperature") and (v.max() > 60 or v.min() < -90):
            raise InputError(
                f"{path}: band {band}: temperature {v.max() if v.max() > 60 else v.min():g} "
                f"degrees C after scale {scale:g}; TerraClimate stores T x 10 (set "
                f"scale = 0.1 in [prepare.climate].{key} when the file has no scale_factor)"
            )
        if key == "pet" and v.max() > 1000:
            raise InputError(
                f"{path}: band {band}: PET {v.max():g} mm/month after scale {scale:g}; "
                f"TerraClimate stores PET x 10 (set scale = 0.1 in [prepare.climate].pet)"
            )

    def month(self, year: int, month: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(T degrees C, P mm/month, PET mm/month) of one month, coastal pixels filled."""
        if "temperature" in self.s.variables:
            t = self._raw("temperature", year, month)
        else:
            t = terraclimate_temperature(
                self._raw("tmax", year, month), self._raw("tmin", year, month)
            )
        p = self._raw("precipitation", year, month)
        e = self._raw("pet", year, month)
        return self.fill("temperature", t), self.fill("precipitation", p), self.fill("pet", e)


def _band_dates(ds: Any, var: Variable) -> Optional[list[tuple[int, int]]]:
    units = ""
    for k, v in ds.tags().items():
        if k.lower() == "time#units":
            units = v
    values = [ds.tags(b).get("NETCDF_DIM_time") for b in range(1, ds.count + 1)]
    if units and all(v is not None for v in values):
        m = re.match(r"\s*(days|hours|seconds)\s+since\s+(\d+)-(\d+)-(\d+)", units)
        if not m:
            raise InputError(f"{ds.name}: cannot read the time units {units!r}")
        per_day = {"days": 1.0, "hours": 24.0, "seconds": 86400.0}[m.group(1)]
        origin = _dt.datetime(int(m.group(2)), int(m.group(3)), int(m.group(4)))
        out = []
        for v in values:
            d = origin + _dt.timedelta(days=float(v) / per_day)  # type: ignore[arg-type]
            out.append((d.year, d.month))
        return out
    if var.first_year is not None:
        return [(var.first_year + i // 12, i % 12 + 1) for i in range(ds.count)]
    return None


def _climate(
    settings: Settings, grid: Grid, report: Report, files: dict[str, Path]
) -> dict[str, int]:
    """Write the spin-up climatology, the warm-up series and the NPP references."""
    clim = Climate(settings, grid, report)
    shape = grid.shape
    partial: dict[str, int] = {}
    try:
        # 1981-2000: climatology and MIAMI NPP reference, year by year
        s0, s1 = settings.spinup
        n_years = s1 - s0 + 1
        sums = np.zeros((3, 12, *shape))
        counts = np.zeros((3, 12, *shape), dtype=np.int32)
        npp = np.zeros((3, *shape))
        npp_ok = np.ones(shape, dtype=bool)
        for year in range(s0, s1 + 1):
            t_sum = np.zeros(shape)
            p_sum = np.zeros(shape)
            for m in range(12):
                values = clim.month(year, m + 1)
                for q, v in enumerate(values):
                    ok = np.isfinite(v)
                    sums[q, m][ok] += v[ok]
                    counts[q, m] += ok
                t_sum += values[0]
                p_sum += values[1]
            for k, part in enumerate(npp_reference_parts(t_sum / 12.0, p_sum)):
                npp[k] += np.nan_to_num(part)
            npp_ok &= np.isfinite(t_sum) & np.isfinite(p_sum)
        for q, key in enumerate(("spinup_temperature", "spinup_precipitation", "spinup_pet")):
            series = Series(files[key], grid, 12)
            for m in range(12):
                full = counts[q, m] == n_years
                series.write(
                    m + 1, np.where(full, sums[q, m] / np.maximum(counts[q, m], 1), np.nan)
                )
            partial[key] = series.close()
        del sums, counts
        for k, key in enumerate(("npp_reference", "npp_reference_min", "npp_reference_max")):
            with _writer(files[key], grid.profile(1)) as dst:
                dst.write(_f32(np.where(npp_ok, npp[k] / n_years, np.nan), grid.inside), 1)
        del npp
        # 2001-2020: the monthly series, month by month
        w0, w1 = settings.warmup
        n = 12 * (w1 - w0 + 1)
        outs = [
            Series(files[k], grid, n)
            for k in ("warmup_temperature", "warmup_precipitation", "warmup_pet")
        ]
        try:
            for year in range(w0, w1 + 1):
                for m in range(12):
                    for series, v in zip(outs, clim.month(year, m + 1)):
                        series.write((year - w0) * 12 + m + 1, v)
        except BaseException:
            for series in outs:
                series.close(error=True)
            raise
        for key, series in zip(("warmup_temperature", "warmup_precipitation", "warmup_pet"), outs):
            partial[key] = series.close()
    finally:
        clim.close()
    label = {"temperature": "degrees C", "precipitation": "mm/month", "pet": "mm/month"}
    for key, info in clim.used.items():
        q = "temperature" if key in ("tmax", "tmin") else key
        report.layer(
            f"climate {key}",
            info["files"],
            info["crs"],
            info["res"],
            "; ".join(sorted(info["scale"])),
            info["units"] or label[q],
            f"coastal pixels filled (<= {settings.coastal_fill_km:g} km): "
            f"{clim.fill.filled.get(q, 0)}; left nodata: {clim.fill.unfilled.get(q, 0)}",
        )
    if settings.source == "terraclimate" and "tmax" in settings.variables:
        report.notes.append("temperature = (tmax + tmin) / 2 of each month")
    report.notes.append(
        f"spin-up climatology: monthly means {s0}-{s1}; NPP reference: mean of {n_years} yearly "
        "MIAMI NPP (t C/ha/yr, before land-use coefficients); min: every month T x 1.02, "
        f"P x 0.95; max: T x 0.98, P x 1.05; warm-up series {w0}-{w1} ({n} bands, scale 1)"
    )
    return partial


# ---------------------------------------------------------------------------------------------
# the run configuration


def _run_config_text(settings: Settings, inputs: Mapping[str, str]) -> str:
    t = settings.table
    run = {"name": settings.name, "output": "out"}
    extra = t.get("run", {})
    if not isinstance(extra, Mapping):
        raise ConfigError("[prepare.run]: expected a table (copied into [run])")
    run.update(extra)
    data: dict[str, Any] = {"run": run, "inputs": dict(inputs)}
    for key in ("classes", "exclusions", "checks", "scenarios"):
        if key in t:
            data[key] = t[key]
    # the written configuration must be valid: check it as the run will read it
    _run_config_from_dict(data, base_dir=settings.output)
    lines = [
        "# written by gsocseq prepare; paths are relative to this file, values in physical units",
        "",
    ]
    for section in ("run", "inputs", "classes", "exclusions", "checks"):
        if section in data:
            lines.append(f"[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in data[section].items()]
            lines.append("")
    for name, groups in data.get("scenarios", {}).items():
        lines.append(f"[scenarios.{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in groups.items()]
        lines.append("")
    return "\n".join(lines)


def _quicklooks(out: Path, names: Mapping[str, str], report: Report) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        report.notes.append("matplotlib is not installed: no quick-look PNGs")
        return
    folder = out / "quicklook"
    folder.mkdir(exist_ok=True)
    for key, fname in names.items():
        with rasterio.open(out / fname) as ds:
            step = max(1, math.ceil(max(ds.height, ds.width) / 800))
            data = ds.read(1, masked=True)[::step, ::step].astype(np.float64)
            title = f"{key} (band 1 of {ds.count})" if ds.count > 1 else key
        fig, ax = plt.subplots(figsize=(6, 5))
        try:
            im = ax.imshow(data, cmap="tab20" if key == "land_use" else "viridis")
            fig.colorbar(im, ax=ax, shrink=0.8)
            ax.set_title(title)
            ax.set_xticks([])
            ax.set_yticks([])
            fig.savefig(folder / f"{key}.png", dpi=80, bbox_inches="tight")
        finally:
            plt.close(fig)
        report.layers.append(key)


# ---------------------------------------------------------------------------------------------
# entry points


def prepare(
    config: Union[str, os.PathLike, Mapping[str, Any]],
    *,
    overwrite: bool = False,
    quiet: bool = True,
) -> Path:
    """Prepare every input of a ``gsocseq run`` from raw downloads (see docs/prepare.md).

    ``config``: a TOML file with a ``[prepare]`` table, or that table (or ``{"prepare": ...}``)
    as a mapping (relative paths then relative to the working directory). Returns the path of
    the written run configuration (``{output}/gsocseq.toml``). Raises
    :class:`~gsocseq.config.ConfigError` or :class:`~gsocseq.rasters.InputError`.
    """
    start = time.perf_counter()
    settings = _settings(config, overwrite)

    def say(msg: str) -> None:
        if not quiet:
            print(f"prepare: {msg}", file=sys.stderr, flush=True)

    out = settings.output
    w0, w1 = settings.warmup
    wy = f"{w0}-{w1}"
    sy = f"{settings.spinup[0]}-{settings.spinup[1]}"
    names: dict[str, str] = {
        "soc": "SOC.tif",
        "clay": "Clay.tif",
        "land_use": f"LandUse_{wy}.tif",
        "cover": "Cover.tif",
        "spinup_temperature": f"Temp_{sy}.tif",
        "spinup_precipitation": f"Prec_{sy}.tif",
        "spinup_pet": f"PET_{sy}.tif",
        "warmup_temperature": f"Temp_{wy}.tif",
        "warmup_precipitation": f"Prec_{wy}.tif",
        "warmup_pet": f"PET_{wy}.tif",
        "npp_reference": f"NPP_MIAMI_MEAN_{sy}.tif",
        "npp_reference_min": f"NPP_MIAMI_MEAN_{sy}_MIN.tif",
        "npp_reference_max": f"NPP_MIAMI_MEAN_{sy}_MAX.tif",
    }
    if "sand" in settings.table:
        names["sand"] = "Sand.tif"
    if "ec" in settings.table:
        names["ec"] = "EC.tif"
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: the output folder is a file")
    existing = [n for n in (*names.values(), RUN_CONFIG, REPORT) if (out / n).exists()]
    if existing and not settings.overwrite:
        raise InputError(
            f"{out / existing[0]}: already exists (use --overwrite or [prepare] overwrite = true)"
        )
    # everything is written into a folder of its own inside ``out`` and moved into ``out``
    # once complete: a prepare that fails leaves nothing it wrote (nor replaced)
    created = _make_folders(out)
    stage = Path(tempfile.mkdtemp(dir=out, prefix=".gsocseq-prepare-"))
    try:
        _prepare_into(settings, stage, names, say, start)
        _publish(stage, out, [*names.values(), REPORT, RUN_CONFIG])
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    path = out / RUN_CONFIG
    say(f"run configuration {path}")
    return path


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the folders created, outermost first."""
    missing = []
    for f in (folder, *folder.parents):
        if f.exists():
            break
        missing.append(f)
    folder.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def _publish(stage: Path, out: Path, names: Sequence[str]) -> None:
    """Move the prepared files ``names`` (the run configuration last) and the quick looks from
    ``stage`` into ``out``; remove ``stage``."""
    looks = stage / "quicklook"
    if looks.is_dir():
        (out / "quicklook").mkdir(exist_ok=True)
        for png in sorted(looks.iterdir()):
            os.replace(png, out / "quicklook" / png.name)
    for name in names:
        os.replace(stage / name, out / name)
    shutil.rmtree(stage)


def _prepare_into(
    settings: Settings, stage: Path, names: Mapping[str, str], say: Any, start: float
) -> None:
    """Write every prepared file into the folder ``stage``."""
    files = {k: stage / v for k, v in names.items()}
    report = Report()

    say("master grid and area of interest")
    grid, soc = _master_grid(settings, report)
    with _writer(files["soc"], grid.profile(1)) as dst:
        dst.write(_f32(soc, grid.inside), 1)
    say("soil")
    for key in ("clay", "sand"):
        values = _soil(settings, grid, report, key, "%")
        if values is not None:
            with _writer(files[key], grid.profile(1)) as dst:
                dst.write(_f32(values, grid.inside), 1)
    if "ec" in settings.table:
        p = settings.path(_typed(settings.table["ec"], str, "[prepare].ec"))
        scale = _typed(settings.table.get("ec_scale", 1.0), float, "[prepare].ec_scale")
        with _open(p, "EC") as ds:
            res = _resampling_for(ds, grid, True)
            ec = _warp(ds, 1, grid, res) * scale
            crs = ds.crs.to_string()
        with _writer(files["ec"], grid.profile(1)) as dst:
            dst.write(_f32(ec, grid.inside), 1)
        report.layer("ec", [p], crs, res.name, f"x {scale:g}", "dS/m", "exclusion mask input")
    say("land use")
    last_lu = _land_use(settings, grid, report, files["land_use"])
    say("cover")
    _cover(settings, grid, report, last_lu, files["cover"])
    say("climate")
    partial = _climate(settings, grid, report, files)
    for key, n in partial.items():
        if n:
            report.notes.append(f"{names[key]}: {n} pixels valid in some months only set to nodata")
    report.notes.append(
        "exclusions (SOC > 200 t C/ha, sand > 90 %, EC > 4 dS/m) are applied by the run, "
        "[exclusions] of the run configuration"
    )
    config_text = _run_config_text(settings, names)
    _check_units(stage, settings.output, config_text)
    if settings.quicklooks:
        say("quick looks")
        _quicklooks(stage, names, report)
    _write_text(stage / REPORT, report.text(settings, names, time.perf_counter() - start))
    _write_text(stage / RUN_CONFIG, config_text)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


#: the [prepare] keys that set the unit of each prepared quantity
_PREPARE_KEYS = {
    "soc": "[prepare] soc_scale",
    "clay": "[prepare] clay_scale",
    "sand": "[prepare] sand_scale",
    "ec": "[prepare] ec_scale",
    "temperature": "the scale of [prepare.climate] tmax and tmin (or temperature)",
    "precipitation": "the scale of [prepare.climate].precipitation",
    "pet": "the scale (or units) of [prepare.climate].pet",
}


def _check_units(stage: Path, out: Path, config_text: str) -> None:
    """The unit plausibility checks of a run (METHOD.md section 2) on the rasters prepared in
    ``stage`` (named as they will be in ``out``): a raw input in a wrong unit stops here."""
    from gsocseq import config as run_config
    from gsocseq.survey import check_inputs

    cfg = _run_config_from_dict(run_config.tomllib.loads(config_text), base_dir=stage)

    def fix_for(name: str) -> Any:
        part = name.rsplit("_", 1)[-1]
        key = _PREPARE_KEYS.get(name) or _PREPARE_KEYS.get(part)
        if key is None:
            return lambda factor: f"x{factor:g} (the raw inputs it comes from: see {REPORT})"
        return lambda factor: f"multiply {key} by {factor:g}"

    try:
        check_inputs(cfg, fix_for=fix_for)
    except InputError as exc:
        text = str(exc).replace(str(stage.resolve()), str(out))
        raise InputError(
            f"{text} (as gsocseq prepare made it from the [prepare] table: fix the table and "
            "prepare again; nothing was written)"
        ) from None
