"""National report of a gsocseq run (METHOD.md section 8): statistics, figures, STAC item.

``gsocseq report RUN_OUTPUT_DIR`` (or :func:`report`) reads the layers a run wrote
(``{name}_GSOCseq_*_Map030.tif``, ``*_UncertaintyMap030.tif``, ``{name}_GSOCseq_LandUse.tif``
and ``{name}_GSOCseq_run.json``) window by window and writes into the report folder:

- ``{name}_GSOCseq_statistics.csv``: per administrative unit (optional), land-use class and
  layer: pixels, area (ha), area-weighted mean and SD (t C/ha or t C/ha/yr), total (t C, or
  t C/yr for rates) and in Mt CO2e (x 44/12 / 1e6), with the total's uncertainty where the
  layer has an uncertainty layer (fully correlated rule: sum of U_i/100 x |X_i| x a_i).
- ``report.html`` with PNG figures beside it in ``figures/`` (300 dpi): maps of the stocks and
  rates, histograms and boxplots of ASR and RSR per land-use class, tables of totals.
- ``{name}_GSOCseq_stac.json``: a STAC 1.0 item with one asset per layer (:mod:`gsocseq.stac`).

Memory does not grow with the raster: statistics are accumulated over windows, histograms on a
fixed fine grid of values, and maps are drawn from decimated reads.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import rasterio
from rasterio.crs import CRS

from gsocseq import csvsafe, products
from gsocseq.rasters import InputError, windows
from gsocseq.rasters import read_values as _read

__all__ = [
    "CO2_PER_C",
    "RunLayer",
    "RunOutput",
    "Zones",
    "compute_statistics",
    "load_run",
    "read_admin",
    "report",
    "row_areas_ha",
]

#: t CO2 per t C
CO2_PER_C = 44.0 / 12.0
#: WGS84 semi-major axis (m) and flattening
WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563
#: window size of the block-wise reads, pixels
BLOCK = 512
#: longest side of a map's decimated read, pixels
MAP_PIXELS = 1000
#: fine histogram of the rates (t C/ha/yr): range and bin width; values outside go to the ends
HIST_RANGE = (-10.0, 10.0)
HIST_BIN = 0.001
#: class index of land-use codes outside 0..255 (or land use nodata)
OTHER_CLASS = 256
NCLASS = 257

FAMILIES = tuple(products.FAMILIES)
#: family: (quantity, units per ha, units of a total)
QUANTITY = products.FAMILIES
CSV_FIELDS = [
    "unit",
    "land_use",
    "land_use_name",
    "product",
    "family",
    "scenario",
    "final_year",
    "quantity",
    "pixels",
    "area_ha",
    "mean_per_ha",
    "sd_per_ha",
    "mean_units",
    "total",
    "total_units",
    "total_t_C",
    "total_Mt_CO2e",
    "uncertainty_t_C",
    "uncertainty_Mt_CO2e",
    "uncertainty_percent",
    "uncertainty_area_share",
]


# ----------------------------------------------------------------------------- run discovery


@dataclass
class RunLayer:
    """One statistics layer of a run (a ``*_Map030.tif``) and its uncertainty layer, if any."""

    product: str  # file product, e.g. "ASR_SSM1" or "ASR_SSM1_2070"
    family: str  # T0, finalSOC, AbsDiff, RelDiff, ASR, RSR
    scenario: str  # "T0" for the t0 stock, else BAU, SSM1, ...
    year: Optional[int]  # final year of a horizon other than the main one
    path: Path
    description: str
    uncertainty: Optional[Path]

    @property
    def quantity(self) -> str:
        return QUANTITY[self.family][0]

    @property
    def per_ha_units(self) -> str:
        return QUANTITY[self.family][1]

    @property
    def total_units(self) -> str:
        return QUANTITY[self.family][2]


@dataclass
class RunOutput:
    """The layers of one gsocseq run folder."""

    dir: Path
    name: str
    summary: dict[str, Any]
    layers: list[RunLayer]
    uncertainty_layers: list[Path]
    other_layers: list[Path]
    land_use: Path
    t0_year: Optional[int]
    final_year: Optional[int]

    @property
    def all_rasters(self) -> list[Path]:
        """Every raster the run wrote, in the run summary's order where it has one."""
        return [
            *(lay.path for lay in self.layers),
            *self.uncertainty_layers,
            *self.other_layers,
            self.land_use,
        ]


def _band_description(path: Path) -> str:
    with rasterio.open(path) as ds:
        return ds.descriptions[0] or ""


def load_run(run_dir: str | os.PathLike[str]) -> RunOutput:
    """Find the run summary, the layers and the land-use layer of a run folder.

    Raises :class:`InputError` when the folder is not a gsocseq run output or a layer the
    summary lists is missing.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: not a folder")
    from gsocseq.folder import run_summary

    summary_path, name, summary = run_summary(run_dir)
    listed = summary.get("layers")
    if listed:
        files = [run_dir / str(f) for f in listed]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise InputError(
                f"{run_dir}: layers listed in {summary_path.name} are missing: "
                + ", ".join(missing[:5])
                + (" ..." if len(missing) > 5 else "")
            )
    else:
        files = sorted(run_dir.glob(f"{name}_*.tif"))
    land_use = run_dir / products.land_use_file(name)
    if not land_use.exists():
        raise InputError(f"{land_use}: land-use layer not found (needed for the statistics)")

    maps: dict[str, Path] = {}
    uncertainty: dict[str, Path] = {}
    others: list[Path] = []
    for f in files:
        parsed = products.parse(f.name, name)
        if parsed is None or parsed.kind == "land_use":
            continue
        if parsed.kind == "uncertainty":
            uncertainty[parsed.product] = f
        elif parsed.kind == "map":
            maps[parsed.product] = f
        else:
            others.append(f)
    used: set[str] = set()
    layers: list[RunLayer] = []
    for product, path in maps.items():
        split = products.split_product(product)
        if split is None:
            others.append(path)
            continue
        family, scenario, year = split
        candidates = products.uncertainty_products(family, scenario, year)
        unc = next((uncertainty[c] for c in candidates if c in uncertainty), None)
        if unc is not None:
            used.add(unc.name)
        layers.append(
            RunLayer(
                product=product,
                family=family,
                scenario=scenario,
                year=year,
                path=path,
                description=_band_description(path) or product,
                uncertainty=unc,
            )
        )
    if not layers:
        example = products.Layer("*").file_name(name)
        raise InputError(f"{run_dir}: no {example} layers")
    t0_year = final_year = None
    for lay in layers:
        m = re.search(r"\((\d{4})\)", lay.description) if lay.family == "T0" else None
        if m:
            t0_year = int(m.group(1))
    years = (summary.get("options") or {}).get("years")
    if t0_year is not None and isinstance(years, int):
        horizons = (summary.get("options") or {}).get("horizons") or []
        final_year = t0_year + max([years, *[int(h) for h in horizons]])
    return RunOutput(
        dir=run_dir,
        name=name,
        summary=summary,
        layers=layers,
        uncertainty_layers=list(uncertainty.values()),
        other_layers=others,
        land_use=land_use,
        t0_year=t0_year,
        final_year=final_year,
    )


# ----------------------------------------------------------------------------- pixel areas


def _authalic_q(phi: np.ndarray, e: float) -> np.ndarray:
    s = np.sin(phi)
    return s / (1.0 - e * e * s * s) + np.log((1.0 + e * s) / (1.0 - e * s)) / (2.0 * e)


def row_areas_ha(transform: Any, crs: CRS, row_off: int, height: int) -> np.ndarray:
    """Area of one cell of each of the rows ``row_off .. row_off + height - 1``, ha.

    Geographic grids: the exact area of the cell on the WGS84 ellipsoid,
    ``dlon * b^2 / 2 * |q(phi2) - q(phi1)|`` with q the authalic-latitude function (dlon in
    radians, b the semi-minor axis). Projected grids: ``|a*e - b*d|`` of the affine transform
    in square metres (times the CRS's linear unit factor squared) / 1e4, the same on every row.
    """
    a, b, _c, d, e, f = (
        transform.a,
        transform.b,
        transform.c,
        transform.d,
        transform.e,
        transform.f,
    )
    if crs is None:
        raise InputError("the grid has no CRS: pixel areas cannot be computed")
    if crs.is_geographic:
        if b != 0.0 or d != 0.0:
            raise InputError("rotated geographic grids are not supported for pixel areas")
        ecc = math.sqrt(WGS84_F * (2.0 - WGS84_F))
        semi_minor = WGS84_A * (1.0 - WGS84_F)
        rows = np.arange(row_off, row_off + height, dtype=np.float64)
        lat1 = np.radians(np.clip(f + rows * e, -90.0, 90.0))
        lat2 = np.radians(np.clip(f + (rows + 1.0) * e, -90.0, 90.0))
        dq = np.abs(_authalic_q(lat2, ecc) - _authalic_q(lat1, ecc))
        return math.radians(abs(a)) * semi_minor**2 / 2.0 * dq / 1e4
    factor = 1.0
    try:
        factor = float(crs.linear_units_factor[1])
    except Exception:
        factor = 1.0
    return np.full(height, abs(a * e - b * d) * factor * factor / 1e4)


# ----------------------------------------------------------------------------- admin units


@dataclass
class Zones:
    """Administrative units: names and geometries in the raster CRS (zone id = index + 1)."""

    field: str
    names: list[str]
    shapes: list[tuple[dict[str, Any], int]]
    # geometries repaired or left out (dataclasses.field: ``field`` is the admin field here)
    notes: list[str] = dataclasses.field(default_factory=list)


def _geojson_features(path: Path) -> tuple[list[dict[str, Any]], Optional[CRS]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as GeoJSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: cannot be read as GeoJSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a GeoJSON FeatureCollection, Feature or geometry")
    crs = None
    member = data.get("crs")
    props = member.get("properties") if isinstance(member, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if name:
        try:
            crs = CRS.from_user_input(name)
        except Exception as exc:
            raise InputError(f"{path}: unknown crs {name!r} ({exc})") from None
    if data.get("type") == "FeatureCollection":
        features = data.get("features") or []
        if not isinstance(features, list):
            raise InputError(f"{path}: 'features' is not a list")
    elif data.get("type") == "Feature":
        features = [data]
    elif "coordinates" in data or data.get("type") == "GeometryCollection":
        features = [{"type": "Feature", "properties": {}, "geometry": data}]
    else:
        raise InputError(f"{path}: not a GeoJSON FeatureCollection, Feature or geometry")
    return features, crs


def _ogr_features(path: Path) -> tuple[list[dict[str, Any]], Optional[CRS]]:
    """Features of a non-GeoJSON vector file, with fiona, else pyogrio with geopandas."""
    try:
        import fiona  # type: ignore[import-not-found]
    except ImportError:
        fiona = None
    if fiona is not None:
        with fiona.open(path) as src:
            crs = CRS.from_wkt(src.crs_wkt) if src.crs_wkt else None
            features = [json.loads(json.dumps(f.__geo_interface__, default=list)) for f in src]
        return features, crs
    try:
        import pyogrio  # type: ignore[import-not-found]

        frame = pyogrio.read_dataframe(path)
    except ImportError:
        raise InputError(
            f"{path}: only GeoJSON can be read without fiona or pyogrio (with geopandas); "
            "convert it (ogr2ogr -f GeoJSON) or install one of them"
        ) from None
    crs = CRS.from_wkt(frame.crs.to_wkt()) if frame.crs is not None else None
    return json.loads(frame.to_json())["features"], crs


def read_admin(path: str | os.PathLike[str], admin_field: Optional[str], dst_crs: CRS) -> Zones:
    """Read administrative polygons (GeoJSON natively, other formats with pyogrio or fiona)
    and reproject them to ``dst_crs``.

    A GeoJSON file's CRS is its legacy ``crs`` member when present, else WGS84 longitude /
    latitude (RFC 7946). Features with the same ``admin_field`` value form one unit; without
    ``admin_field`` the first of name/NAME/NAME_1/ADM1_EN/shapeName/admin found in the
    properties is used, else the feature number.
    """
    from rasterio.warp import transform_geom

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: admin file not found")
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        features, crs = _geojson_features(path)
    else:
        features, crs = _ogr_features(path)
    if crs is None:
        crs = CRS.from_epsg(4326)
    for i, f in enumerate(features):
        if not isinstance(f, dict) or not isinstance(f.get("properties") or {}, dict):
            raise InputError(f"{path}: feature {i + 1} is not a GeoJSON feature object")
    notes = [
        f"{path}: feature {i + 1} has no geometry: left out of the statistics"
        for i, f in enumerate(features)
        if not f.get("geometry")
    ]
    numbered = [(i, f) for i, f in enumerate(features) if f.get("geometry")]
    if not numbered:
        raise InputError(f"{path}: no features with a geometry")
    props0 = numbered[0][1].get("properties") or {}
    if admin_field is None:
        for cand in ("name", "NAME", "NAME_1", "ADM1_EN", "shapeName", "admin"):
            if cand in props0:
                admin_field = cand
                break
    names: list[str] = []
    index: dict[str, int] = {}
    shapes: list[tuple[dict[str, Any], int]] = []
    for i, feat in numbered:
        props = feat.get("properties") or {}
        if admin_field is None:
            value = f"feature {i + 1}"
        elif admin_field not in props:
            fields = ", ".join(sorted(props)) or "none"
            raise InputError(
                f"{path}: feature {i + 1} has no field {admin_field!r} (fields: {fields})"
            )
        else:
            value = str(props[admin_field])
        if value not in index:
            index[value] = len(names) + 1
            names.append(value)
        label = f"{path}: feature {i + 1} ({value!r})"
        geom = _polygon(feat["geometry"], label, notes)
        try:
            if crs != dst_crs:
                geom = transform_geom(crs, dst_crs, geom)
        except Exception as exc:
            raise InputError(f"{label} cannot be reprojected ({exc})") from None
        shapes.append((_polygon(geom, label, notes), index[value]))
    return Zones(field=admin_field or "feature", names=names, shapes=shapes, notes=notes)


def _polygon(geom: Any, label: str, notes: list[str]) -> dict[str, Any]:
    """A feature's geometry as a valid (Multi)Polygon mapping: refused (naming ``label``) when
    it is no polygon, cannot be read or has a vertex that is not a finite number (the unit
    would vanish from the statistics); repaired with shapely's make_valid when invalid (a
    self-intersection, say), with a note."""
    import shapely
    from shapely.geometry import mapping, shape

    kind = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
    if kind not in ("Polygon", "MultiPolygon"):
        raise InputError(f"{label}: a {kind} geometry, expected a Polygon or MultiPolygon")
    try:
        with np.errstate(invalid="ignore"):  # NaN vertices: refused below
            g = shape(geom)
        coords = shapely.get_coordinates(g)
    except (RecursionError, Exception) as exc:
        raise InputError(f"{label}: not a readable polygon ({exc})") from None
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{label}: vertex {k + 1} is ({coords[k, 0]:g}, {coords[k, 1]:g}); every vertex needs "
            "finite coordinates (the unit would vanish from the statistics)"
        )
    if g.is_empty:
        raise InputError(f"{label}: an empty polygon")
    if not g.is_valid:
        reason = shapely.is_valid_reason(g)
        fixed = shapely.make_valid(g)
        parts = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
        polygons = [q for p in parts for q in shapely.get_parts(p)]
        if not polygons or shapely.MultiPolygon(polygons).area == 0:
            raise InputError(f"{label}: an invalid polygon ({reason}) without area")
        g = polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
        note = f"{label}: invalid polygon ({reason}) repaired with make_valid"
        if note not in notes:
            notes.append(note)
    return dict(mapping(g))


def _rasterize_zones(zones: Zones, window_transform: Any, shape: tuple[int, int]) -> np.ndarray:
    from rasterio.features import rasterize

    return rasterize(
        zones.shapes, out_shape=shape, transform=window_transform, fill=0, dtype="int32"
    )


# ----------------------------------------------------------------------------- statistics


@dataclass
class _Acc:
    n: np.ndarray
    area: np.ndarray
    sxa: np.ndarray
    sx2a: np.ndarray
    sua: np.ndarray
    ua: np.ndarray

    @classmethod
    def zeros(cls, size: int) -> _Acc:
        return cls(*(np.zeros(size) for _ in range(6)))


@dataclass
class Statistics:
    """Block-wise accumulated sums: per layer product, arrays over (zone, class) groups."""

    run: RunOutput
    zones: Optional[Zones]
    sums: dict[str, _Acc]
    hist: dict[str, dict[int, np.ndarray]]
    extremes: dict[str, dict[int, list[float]]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def zone_names(self) -> list[str]:
        return ["(outside)", *self.zones.names] if self.zones else ["all"]


def compute_statistics(
    run: RunOutput, zones: Optional[Zones] = None, block: int = BLOCK
) -> Statistics:
    """Accumulate, window by window, for every layer and (zone, land-use class) group: pixel
    count, area (ha), sum(X a), sum(X^2 a), sum(U/100 |X| a) and the area with uncertainty;
    and fine histograms of the rates (ASR, RSR) per class. Memory is O(block^2)."""
    nzones = len(zones.names) + 1 if zones else 1
    size = nzones * NCLASS
    sums = {lay.product: _Acc.zeros(size) for lay in run.layers}
    nbins = round((HIST_RANGE[1] - HIST_RANGE[0]) / HIST_BIN)
    rates = [lay for lay in run.layers if lay.family in ("ASR", "RSR")]
    hist: dict[str, dict[int, np.ndarray]] = {lay.product: {} for lay in rates}
    extremes: dict[str, dict[int, list[float]]] = {lay.product: {} for lay in rates}
    handles: dict[Path, rasterio.io.DatasetReader] = {}
    try:
        lu = rasterio.open(run.land_use)
        handles[run.land_use] = lu
        for lay in run.layers:
            for p in (lay.path, lay.uncertainty):
                if p is not None and p not in handles:
                    ds = rasterio.open(p)
                    handles[p] = ds
                    if ds.shape != lu.shape or ds.transform != lu.transform:
                        raise InputError(f"{p}: not on the grid of {run.land_use.name}")
        for window in windows(lu.height, lu.width, block):
            h, w = int(window.height), int(window.width)
            raw_lu = lu.read(1, window=window)
            codes = raw_lu.astype(np.int64)
            bad = (codes < 0) | (codes > 255)
            if lu.nodata is not None:
                bad |= raw_lu == lu.nodata
            codes[bad] = OTHER_CLASS
            zone = (
                _rasterize_zones(zones, lu.window_transform(window), (h, w)).astype(np.int64)
                if zones
                else np.zeros((h, w), dtype=np.int64)
            )
            group = zone * NCLASS + codes
            area = np.broadcast_to(
                row_areas_ha(lu.transform, lu.crs, int(window.row_off), h)[:, None], (h, w)
            )
            for lay in run.layers:
                x = _read(handles[lay.path], window)
                ok = ~np.isnan(x)
                if not ok.any():
                    continue
                g, xv, av = group[ok], x[ok], area[ok]
                acc = sums[lay.product]
                acc.n += np.bincount(g, minlength=size)
                acc.area += np.bincount(g, weights=av, minlength=size)
                acc.sxa += np.bincount(g, weights=xv * av, minlength=size)
                acc.sx2a += np.bincount(g, weights=xv * xv * av, minlength=size)
                if lay.uncertainty is not None:
                    u = _read(handles[lay.uncertainty], window)[ok]
                    uok = ~np.isnan(u)
                    acc.sua += np.bincount(
                        g[uok],
                        weights=u[uok] / 100.0 * np.abs(xv[uok]) * av[uok],
                        minlength=size,
                    )
                    acc.ua += np.bincount(g[uok], weights=av[uok], minlength=size)
                if lay.product in hist:
                    bins = np.clip(((xv - HIST_RANGE[0]) / HIST_BIN).astype(np.int64), 0, nbins - 1)
                    cls = codes[ok]
                    for c in np.unique(cls):
                        sel = cls == c
                        hc = hist[lay.product].setdefault(int(c), np.zeros(nbins, np.int64))
                        hc += np.bincount(bins[sel], minlength=nbins)
                        ext = extremes[lay.product].setdefault(int(c), [math.inf, -math.inf])
                        ext[0] = min(ext[0], float(xv[sel].min()))
                        ext[1] = max(ext[1], float(xv[sel].max()))
    finally:
        for ds in handles.values():
            ds.close()
    stats = Statistics(run=run, zones=zones, sums=sums, hist=hist, extremes=extremes)
    stats.rows = _rows(stats)
    return stats


def _class_name(code: int) -> str:
    from gsocseq.classes import NAMES

    if code == OTHER_CLASS:
        return "unclassified"
    return NAMES.get(code, f"class {code}")


def _row(unit: str, code: Optional[int], lay: RunLayer, acc: _Acc, idx: Any) -> dict[str, Any]:
    n = int(acc.n[idx].sum())
    area = float(acc.area[idx].sum())
    sxa = float(acc.sxa[idx].sum())
    sx2a = float(acc.sx2a[idx].sum())
    sua = float(acc.sua[idx].sum())
    ua = float(acc.ua[idx].sum())
    mean = sxa / area if area > 0 else math.nan
    sd = math.sqrt(max(sx2a / area - mean * mean, 0.0)) if area > 0 else math.nan
    has_unc = lay.uncertainty is not None
    return {
        "unit": unit,
        "land_use": "all" if code is None else str(code),
        "land_use_name": "all classes" if code is None else _class_name(code),
        "product": lay.product,
        "family": lay.family,
        "scenario": lay.scenario,
        "final_year": "" if lay.year is None else lay.year,
        "quantity": lay.quantity,
        "pixels": n,
        "area_ha": area,
        "mean_per_ha": mean,
        "sd_per_ha": sd,
        "mean_units": lay.per_ha_units,
        "total": sxa,
        "total_units": lay.total_units,
        "total_t_C": sxa,
        "total_Mt_CO2e": sxa * CO2_PER_C / 1e6,
        "uncertainty_t_C": sua if has_unc else "",
        "uncertainty_Mt_CO2e": sua * CO2_PER_C / 1e6 if has_unc else "",
        "uncertainty_percent": (100.0 * sua / abs(sxa) if sxa != 0 else math.nan)
        if has_unc
        else "",
        "uncertainty_area_share": (ua / area if area > 0 else math.nan) if has_unc else "",
    }


def _rows(stats: Statistics) -> list[dict[str, Any]]:
    names = stats.zone_names
    nz = len(names)
    rows: list[dict[str, Any]] = []
    units: list[tuple[str, Optional[int]]] = [("all", None)]
    if stats.zones:
        units += [(names[z], z) for z in range(1, nz)] + [(names[0], 0)]
    for lay in stats.run.layers:
        acc = stats.sums[lay.product]
        per_class = acc.n.reshape(nz, NCLASS).sum(axis=0)
        codes = [int(c) for c in np.nonzero(per_class)[0]]
        for unit, z in units:
            zsel = slice(None) if z is None else slice(z * NCLASS, (z + 1) * NCLASS)
            if z is not None and acc.n[zsel].sum() == 0:
                continue
            for code in [*codes, None]:
                if code is None:
                    idx: Any = (
                        np.arange(acc.n.size)
                        if z is None
                        else np.arange(z * NCLASS, (z + 1) * NCLASS)
                    )
                else:
                    idx = (
                        (np.arange(nz) * NCLASS + code)
                        if z is None
                        else np.array([z * NCLASS + code])
                    )
                if code is not None and acc.n[idx].sum() == 0:
                    continue
                rows.append(_row(unit, code, lay, acc, idx))
    return rows


def write_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write the statistics rows (full float precision, empty cell = not applicable)."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: repr(v) if isinstance(v, float) else csvsafe.cell(v) for k, v in row.items()}
            )
    return path


# ----------------------------------------------------------------------------- figures


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _decimated(path: Path) -> tuple[np.ndarray, tuple[float, float, float, float], CRS]:
    """Band 1 read at most MAP_PIXELS on its longer side (nearest), NaN for nodata, and the
    (left, right, bottom, top) extent."""
    from rasterio.enums import Resampling

    with rasterio.open(path) as ds:
        step = max(1, math.ceil(max(ds.height, ds.width) / MAP_PIXELS))
        shape = (math.ceil(ds.height / step), math.ceil(ds.width / step))
        raw = ds.read(1, out_shape=shape, resampling=Resampling.nearest)
        data = raw.astype(np.float64)
        if ds.nodata is not None:
            data[raw == ds.nodata] = np.nan
        data[~np.isfinite(data)] = np.nan
        b = ds.bounds
        return data, (b.left, b.right, b.bottom, b.top), ds.crs


def _rings(geom: dict[str, Any]) -> Iterable[np.ndarray]:
    t = geom.get("type")
    if t == "Polygon":
        polys = [geom["coordinates"]]
    elif t == "MultiPolygon":
        polys = geom["coordinates"]
    elif t == "GeometryCollection":
        for g in geom.get("geometries", []):
            yield from _rings(g)
        return
    else:
        return
    for poly in polys:
        for ring in poly:
            yield np.asarray(ring, dtype=float)[:, :2]


def _outline(
    ax: Any, mask: np.ndarray, extent: tuple[float, float, float, float], zones: Optional[Zones]
) -> None:
    if zones:
        for geom, _ in zones.shapes:
            for ring in _rings(geom):
                ax.plot(ring[:, 0], ring[:, 1], color="0.15", linewidth=0.6)
        return
    h, w = mask.shape
    left, right, bottom, top = extent
    padded = np.pad(mask.astype(float), 1)
    xs = left + (np.arange(w + 2) - 0.5) * (right - left) / w
    ys = top - (np.arange(h + 2) - 0.5) * (top - bottom) / h
    ax.contour(xs, ys, padded, levels=[0.5], colors="0.15", linewidths=0.6)


def _map_figure(
    layers: Sequence[RunLayer],
    path: Path,
    units: str,
    diverging: bool,
    zones: Optional[Zones],
    title: str,
) -> Path:
    """Maps of ``layers`` on a common colour scale: viridis for stocks, a diverging scale
    centred on 0 (limits +-max |2nd, 98th percentile|) for rates."""
    plt = _plt()
    data = [_decimated(lay.path) for lay in layers]
    values = np.concatenate([d[0][np.isfinite(d[0])] for d in data] or [np.zeros(1)])
    if values.size == 0:
        values = np.zeros(1)
    lo, hi = np.percentile(values, [2, 98])
    if diverging:
        lim = max(abs(lo), abs(hi)) or 1.0
        vmin, vmax, cmap = -lim, lim, "RdBu"
    else:
        vmin, vmax, cmap = lo, hi if hi > lo else lo + 1.0, "viridis"
    n = len(layers)
    ncols = 2 if n == 4 else min(n, 3)
    nrows = math.ceil(n / ncols)
    extent = data[0][1]
    crs = data[0][2]
    aspect = 1.0
    if crs is not None and crs.is_geographic:
        aspect = 1.0 / max(math.cos(math.radians((extent[2] + extent[3]) / 2)), 0.05)
    width = extent[1] - extent[0]
    height = (extent[3] - extent[2]) * aspect
    panel_w = 2.6
    panel_h = panel_w * height / width + 0.5
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_w * ncols + 1.2, panel_h * nrows + 0.4),
        squeeze=False,
        constrained_layout=True,
    )
    image = None
    for ax, lay, (arr, ext, _) in zip(axes.flat, layers, data):
        image = ax.imshow(
            arr, extent=ext, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest", aspect=aspect
        )
        _outline(ax, np.isfinite(arr), ext, zones)
        ax.set_xlim(ext[0], ext[1])
        ax.set_ylim(ext[2], ext[3])
        ax.set_title(lay.description, fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if image is not None:
        cb = fig.colorbar(image, ax=axes, shrink=0.6, extend="both")
        cb.set_label(units, fontsize=8)
        cb.ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=300)
    plt.close(fig)
    return path


def _coarse(
    counts: np.ndarray, first: int, last: int, nbins: int = 40
) -> tuple[np.ndarray, np.ndarray]:
    """Rebin a fine histogram's bins ``first .. last - 1`` into about ``nbins`` bins:
    (edges in t C/ha/yr, counts)."""
    group = max(1, math.ceil((last - first) / nbins))
    last = first + math.ceil((last - first) / group) * group
    sub = np.zeros(last - first)
    take = counts[first : min(last, counts.size)]
    sub[: take.size] = take
    merged = sub.reshape(-1, group).sum(axis=1)
    edges = HIST_RANGE[0] + HIST_BIN * (first + group * np.arange(merged.size + 1))
    return edges, merged


def _box_stats(counts: np.ndarray, extremes: Sequence[float], label: str) -> dict[str, Any]:
    """matplotlib bxp statistics from a fine histogram (quartiles to the bin width,
    whiskers at the furthest data within 1.5 IQR, outliers not drawn)."""
    centres = HIST_RANGE[0] + HIST_BIN * (np.arange(counts.size) + 0.5)
    cum = np.cumsum(counts)
    total = cum[-1]

    def q(p: float) -> float:
        return float(centres[np.searchsorted(cum, p * total)])

    q1, med, q3 = q(0.25), q(0.5), q(0.75)
    iqr = q3 - q1
    present = centres[counts > 0]
    lo_in = present[present >= q1 - 1.5 * iqr]
    hi_in = present[present <= q3 + 1.5 * iqr]
    whislo = max(float(lo_in.min()) if lo_in.size else q1, extremes[0])
    whishi = min(float(hi_in.max()) if hi_in.size else q3, extremes[1])
    return {
        "label": label,
        "q1": q1,
        "med": med,
        "q3": q3,
        "whislo": whislo,
        "whishi": whishi,
        "fliers": [],
    }


def _distribution_figures(stats: Statistics, family: str, folder: Path) -> list[Path]:
    """Histogram and boxplot figures of one rate family (ASR or RSR), a panel per scenario,
    one curve / box per land-use class."""
    plt = _plt()
    layers = [lay for lay in stats.run.layers if lay.family == family and lay.year is None]
    if not layers:
        return []
    classes = sorted({c for lay in layers for c in stats.hist[lay.product]})
    colours = plt.get_cmap("tab10")
    n = len(layers)
    out: list[Path] = []
    fig, axes = plt.subplots(
        1, n, figsize=(2.6 * n + 0.6, 2.6), squeeze=False, sharey=True, constrained_layout=True
    )
    for ax, lay in zip(axes.flat, layers):
        occupied = [np.nonzero(h)[0] for h in stats.hist[lay.product].values()]
        occupied = [o for o in occupied if o.size]
        if not occupied:
            continue
        first = min(int(o[0]) for o in occupied)
        last = max(int(o[-1]) for o in occupied) + 1
        for i, c in enumerate(classes):
            counts = stats.hist[lay.product].get(c)
            if counts is None:
                continue
            edges, merged = _coarse(counts, first, last)
            ax.stairs(merged, edges, color=colours(i % 10), label=_class_name(c), linewidth=1)
        ax.axvline(0.0, color="0.5", linewidth=0.5)
        ax.set_title(f"{family} {lay.scenario}", fontsize=8)
        ax.set_xlabel(f"{family} (t C/ha/yr)", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0, 0].set_ylabel("pixels", fontsize=7)
    axes[0, -1].legend(fontsize=6, frameon=False)
    path = folder / f"{family}_histograms.png"
    fig.savefig(path, dpi=300)
    plt.close(fig)
    out.append(path)

    fig, axes = plt.subplots(
        1, n, figsize=(2.6 * n + 0.6, 3.0), squeeze=False, sharey=True, constrained_layout=True
    )
    for ax, lay in zip(axes.flat, layers):
        boxes = [
            _box_stats(stats.hist[lay.product][c], stats.extremes[lay.product][c], _class_name(c))
            for c in classes
            if c in stats.hist[lay.product]
        ]
        if boxes:
            ax.bxp(
                boxes,
                showfliers=False,
                patch_artist=True,
                boxprops={"facecolor": "0.85", "linewidth": 0.6},
                medianprops={"color": "k"},
            )
        ax.axhline(0.0, color="0.5", linewidth=0.5)
        ax.set_title(f"{family} {lay.scenario}", fontsize=8)
        ax.tick_params(axis="x", labelsize=6, rotation=45)
        ax.tick_params(axis="y", labelsize=6)
    axes[0, 0].set_ylabel(f"{family} (t C/ha/yr)", fontsize=7)
    path = folder / f"{family}_boxplots.png"
    fig.savefig(path, dpi=300)
    plt.close(fig)
    out.append(path)
    return out


def make_figures(stats: Statistics, folder: Path) -> dict[str, Path]:
    """Every figure of the report (300 dpi PNGs in ``folder``), by key."""
    folder.mkdir(parents=True, exist_ok=True)
    main = [lay for lay in stats.run.layers if lay.year is None]
    figures: dict[str, Path] = {}
    stocks = [lay for lay in main if lay.family in ("T0", "finalSOC")]
    if stocks:
        figures["stocks"] = _map_figure(
            stocks,
            folder / "stocks_map.png",
            "SOC stock (t C/ha)",
            False,
            stats.zones,
            "SOC stocks, 0-30 cm",
        )
    for family, title in (
        ("ASR", "Absolute sequestration rate"),
        ("RSR", "Relative sequestration rate (vs BAU)"),
    ):
        lays = [lay for lay in main if lay.family == family]
        if lays:
            figures[f"{family}_map"] = _map_figure(
                lays,
                folder / f"{family}_map.png",
                f"{family} (t C/ha/yr)",
                True,
                stats.zones,
                title,
            )
            for p in _distribution_figures(stats, family, folder):
                figures[p.stem] = p
    return figures


# ----------------------------------------------------------------------------- HTML


def _fmt_t(v: float) -> str:
    return "" if v == "" or (isinstance(v, float) and math.isnan(v)) else f"{v:,.0f}"


def _fmt_mt(v: Any) -> str:
    return "" if v == "" or (isinstance(v, float) and math.isnan(v)) else f"{v:,.4f}"


def _cell(row: dict[str, Any]) -> str:
    t = _fmt_t(row["total_t_C"])
    mt = _fmt_mt(row["total_Mt_CO2e"])
    if row["uncertainty_t_C"] != "":
        t += f" &plusmn; {_fmt_t(row['uncertainty_t_C'])}"
        mt += f" &plusmn; {_fmt_mt(row['uncertainty_Mt_CO2e'])}"
    return f"{t}<br><span class='co2'>{mt}</span>"


def _class_codes(rows: list[dict[str, Any]], unit: str) -> list[str]:
    codes = {r["land_use"] for r in rows if r["unit"] == unit and r["land_use"] != "all"}
    return sorted(codes, key=int)


def _totals_table(
    rows: list[dict[str, Any]], layers: list[RunLayer], unit: str, total_units: str
) -> str:
    by = {(r["land_use"], r["product"]): r for r in rows if r["unit"] == unit}
    classes = [*_class_codes(rows, unit), "all"]
    co2_units = "Mt CO2e/yr" if total_units.endswith("/yr") else "Mt CO2e"
    head = "".join(f"<th>{html.escape(lay.product)}</th>" for lay in layers)
    out = [f"<table><tr><th>land use</th><th>area (ha)</th>{head}</tr>"]
    for c in classes:
        first = next((by[(c, lay.product)] for lay in layers if (c, lay.product) in by), None)
        if first is None:
            continue
        cells = "".join(
            f"<td>{_cell(by[(c, lay.product)])}</td>" if (c, lay.product) in by else "<td></td>"
            for lay in layers
        )
        name = html.escape(first["land_use_name"])
        label = name if c == "all" else f"{c} {name}"
        out.append(f"<tr><td>{label}</td><td>{_fmt_t(first['area_ha'])}</td>{cells}</tr>")
    out.append("</table>")
    out.append(
        f"<p class='note'>Cells: total {total_units} &plusmn; uncertainty; below, {co2_units}.</p>"
    )
    return "\n".join(out)


def _means_table(rows: list[dict[str, Any]], layers: list[RunLayer]) -> str:
    by = {(r["land_use"], r["product"]): r for r in rows if r["unit"] == "all"}
    classes = [*_class_codes(rows, "all"), "all"]
    head = "".join(f"<th>{html.escape(lay.product)}</th>" for lay in layers)
    out = [f"<table><tr><th>land use</th>{head}</tr>"]
    for c in classes:
        cells = []
        name = ""
        for lay in layers:
            r = by.get((c, lay.product))
            if r is None:
                cells.append("<td></td>")
                continue
            name = r["land_use_name"]
            cells.append(f"<td>{r['mean_per_ha']:.3f} &plusmn; {r['sd_per_ha']:.3f}</td>")
        label = html.escape(name) if c == "all" else f"{c} {html.escape(name)}"
        out.append(f"<tr><td>{label}</td>{''.join(cells)}</tr>")
    out.append(
        "</table><p class='note'>Area-weighted mean &plusmn; area-weighted SD over "
        "pixels, t C/ha/yr.</p>"
    )
    return "\n".join(out)


def _units_table(stats: Statistics, layers: list[RunLayer]) -> str:
    rows = [r for r in stats.rows if r["land_use"] == "all"]
    by = {(r["unit"], r["product"]): r for r in rows}
    units = [
        u
        for u in [*stats.zone_names[1:], stats.zone_names[0], "all"]
        if any((u, lay.product) in by for lay in layers)
    ]
    head = "".join(f"<th>{html.escape(lay.product)}</th>" for lay in layers)
    out = [
        f"<table><tr><th>{html.escape(stats.zones.field if stats.zones else 'unit')}</th>"
        f"<th>area (ha)</th>{head}</tr>"
    ]
    for u in units:
        first = next(by[(u, lay.product)] for lay in layers if (u, lay.product) in by)
        cells = "".join(
            f"<td>{_cell(by[(u, lay.product)])}</td>" if (u, lay.product) in by else "<td></td>"
            for lay in layers
        )
        out.append(f"<tr><td>{html.escape(u)}</td><td>{_fmt_t(first['area_ha'])}</td>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


_CSS = """
body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0}
td,th{border:1px solid #bbb;padding:3px 6px;text-align:right;vertical-align:top}
td:first-child,th:first-child{text-align:left}
.co2{color:#555}.note{font-size:12px;color:#555}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}
"""


def write_html(
    stats: Statistics,
    figures: dict[str, Path],
    folder: Path,
    csv_path: Path,
    stac_path: Path,
    notes: Sequence[str] = (),
) -> Path:
    """Write ``report.html`` in ``folder`` (figures referenced by relative path)."""
    run = stats.run
    main = [lay for lay in run.layers if lay.year is None]
    stocks = [lay for lay in main if lay.family in ("T0", "finalSOC")]
    rates = [lay for lay in main if lay.family in ("ASR", "RSR")]
    opts = run.summary.get("options") or {}
    period = (
        f"{run.t0_year}-{run.final_year}"
        if run.t0_year and run.final_year
        else f"{opts.get('years', '?')} years"
    )

    def img(key: str, alt: str) -> str:
        if key not in figures:
            return ""
        rel = Path(os.path.relpath(figures[key], folder)).as_posix()
        return f"<img src='{html.escape(rel)}' alt='{html.escape(alt)}'>"

    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(run.name)} GSOCseq national report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(run.name)}: GSOCseq soil organic carbon sequestration potential</h1>",
        f"<p>Run folder <code>{html.escape(str(run.dir))}</code>, mode "
        f"<b>{html.escape(str(run.summary.get('mode', '?')))}</b>, period {period}, "
        f"scenarios BAU, {html.escape(', '.join(sorted(opts.get('scenarios') or {})))}; "
        f"gsocseq {html.escape(str(run.summary.get('version', '?')))}. Statistics: "
        f"<a href='{html.escape(csv_path.name)}'>{html.escape(csv_path.name)}</a>; "
        f"STAC item: <a href='{html.escape(stac_path.name)}'>{html.escape(stac_path.name)}</a>."
        "</p>",
        *(f"<p class='note'><b>Note:</b> {html.escape(n)}</p>" for n in notes),
        "<h2>Totals per land-use class</h2>",
        "<h3>SOC stocks (t C, 0-30 cm)</h3>",
        _totals_table(stats.rows, stocks, "all", "t C"),
        "<h3>Sequestration per year (t C/yr)</h3>",
        _totals_table(stats.rows, rates, "all", "t C/yr"),
        "<p class='note'>Area: pixel areas on the WGS84 ellipsoid (geographic grids) or from "
        "the grid's transform (projected). Uncertainty of a total: the per-pixel uncertainty "
        "layers (U %) summed as fully correlated, sum(U<sub>i</sub>/100 |X<sub>i</sub>| "
        "a<sub>i</sub>); pixels whose uncertainty is nodata add nothing (the CSV's "
        "uncertainty_area_share gives the share of the area covered).</p>",
        "<h3>Mean rates per class (area-weighted)</h3>",
        _means_table(stats.rows, rates),
    ]
    if stats.zones:
        parts += [
            f"<h2>Per administrative unit ({html.escape(stats.zones.field)})</h2>",
            "<h3>SOC stocks (t C)</h3>",
            _units_table(stats, stocks),
            "<h3>Sequestration per year (t C/yr)</h3>",
            _units_table(stats, rates),
        ]
    if figures:
        parts += [
            "<h2>Maps</h2>",
            img("stocks", "SOC stock maps"),
            img("ASR_map", "ASR maps"),
            img("RSR_map", "RSR maps"),
            "<h2>Distributions per land-use class</h2>",
            img("ASR_histograms", "ASR histograms"),
            img("ASR_boxplots", "ASR boxplots"),
            img("RSR_histograms", "RSR histograms"),
            img("RSR_boxplots", "RSR boxplots"),
            "<p class='note'>Histograms count pixels; boxes are the quartiles and median, "
            "whiskers the furthest values within 1.5 IQR (outliers not drawn), all to "
            f"{HIST_BIN} t C/ha/yr.</p>",
        ]
    parts.append("</body></html>")
    path = folder / "report.html"
    path.write_text("\n".join(p for p in parts if p) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- entry points


def report(
    run_dir: str | os.PathLike[str],
    output: Optional[str | os.PathLike[str]] = None,
    admin: Optional[str | os.PathLike[str]] = None,
    admin_field: Optional[str] = None,
    wait: bool = False,
) -> Path:
    """Write the national report of the run in ``run_dir`` into ``output`` (default
    ``run_dir/report``): statistics CSV, ``report.html`` with its figures (300 dpi PNGs in
    ``figures/``; left out with a note if matplotlib is not installed) and the STAC item.
    ``admin``: polygons (GeoJSON, or any OGR format with pyogrio/fiona) to group the
    statistics by, named by ``admin_field``. The run folder is held shared meanwhile (a run
    writing it makes this wait with ``wait``, else raise
    :class:`~gsocseq.folder.FolderInUse`). Returns the path of ``report.html``."""
    from gsocseq.folder import FolderLock

    if not Path(run_dir).is_dir():
        raise InputError(f"{run_dir}: not a folder")
    # shared: no run writes the folder meanwhile (the report never mixes two runs' layers)
    with FolderLock(Path(run_dir), shared=True, wait=wait, what="report"):
        return _report(run_dir, output, admin, admin_field)


def _report(
    run_dir: str | os.PathLike[str],
    output: Optional[str | os.PathLike[str]],
    admin: Optional[str | os.PathLike[str]],
    admin_field: Optional[str],
) -> Path:
    from gsocseq import stac

    run = load_run(run_dir)
    folder = Path(output) if output is not None else run.dir / "report"
    zones = None
    notes: list[str] = []
    if admin is not None:
        with rasterio.open(run.land_use) as ds:
            zones = read_admin(admin, admin_field, ds.crs)
        for note in zones.notes:
            notes.append(note)
            print("warning: " + note, file=sys.stderr)
    stats = compute_statistics(run, zones)
    if zones and not any(r["unit"] not in ("all", "(outside)") for r in stats.rows):
        raise InputError(f"{admin}: no admin polygon covers a pixel of the run's layers")
    # the folder only once the inputs are good: a bad --admin leaves no empty folder behind
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{folder}: cannot create the report folder ({exc})") from None
    csv_path = write_csv(stats.rows, folder / products.statistics_file(run.name))

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        figures: dict[str, Path] = {}
        notes.append(
            "matplotlib is not installed: figures left out (pip install 'gsocseq[report]')."
        )
        print("warning: " + notes[-1], file=sys.stderr)
    else:
        figures = make_figures(stats, folder / "figures")

    stac_path = folder / products.stac_file(run.name)
    extra = {
        "run_summary": {
            "href": str(run.dir / products.summary_file(run.name)),
            "type": "application/json",
            "title": "run summary",
            "roles": ["metadata"],
        },
        "statistics": {
            "href": str(csv_path),
            "type": "text/csv",
            "title": "national statistics",
            "roles": ["metadata"],
        },
        "report": {
            "href": str(folder / "report.html"),
            "type": "text/html",
            "title": "national report",
            "roles": ["overview"],
        },
    }
    rasters = [p for p in run.all_rasters if p.suffix == ".tif"]
    item = stac.build_item(
        folder,
        run.name,
        rasters,
        extra_assets=extra,
        t0_year=run.t0_year,
        final_year=run.final_year,
        properties={
            "title": f"{run.name} GSOCseq soil organic carbon sequestration potential",
            "gsocseq:mode": run.summary.get("mode"),
            "gsocseq:version": run.summary.get("version"),
        },
    )
    stac.write_item(item, stac_path)
    return write_html(stats, figures, folder, csv_path, stac_path, notes)
