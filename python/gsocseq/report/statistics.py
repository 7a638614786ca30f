"""Statistics of a run's layers per administrative unit and land-use class, accumulated
over windows: pixels, area, area-weighted mean and SD, totals (t C, Mt CO2e) and their
uncertainty; written as CSV."""

from __future__ import annotations

import contextlib
import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import rasterio
from rasterio.crs import CRS

from gsocseq import csvsafe, writing
from gsocseq.errors import InputError
from gsocseq.rasters import read_values as _read
from gsocseq.rasters import windows
from gsocseq.report.areas import window_areas_ha
from gsocseq.report.load import RunLayer, RunOutput
from gsocseq.report.zones import Zones, _on_grid, rasterize_zones

#: t CO2 per t C
CO2_PER_C = 44.0 / 12.0
#: window size of the block-wise reads, pixels
BLOCK = 512
#: fine histogram of the rates (t C/ha/yr): range and bin width; values outside go to the ends
HIST_RANGE = (-10.0, 10.0)
HIST_BIN = 0.001


#: class index of land-use codes outside 0..255 (or land use nodata)
OTHER_CLASS = 256
NCLASS = 257


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
    # grid pixels (valid or not) of each zone, "(outside)" first: a unit without any vanished
    zone_pixels: Optional[np.ndarray] = None

    @property
    def run_crs(self) -> Optional[CRS]:
        with rasterio.open(self.run.land_use) as ds:
            return ds.crs

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
    zone_src: Any = None
    zone_codes = np.asarray(zones.codes if zones else [], dtype=np.int64)
    stack = contextlib.ExitStack()
    zone_pixels = np.zeros(nzones, dtype=np.int64)
    try:
        lu = rasterio.open(run.land_use)
        handles[run.land_use] = lu
        if zones is not None and zones.raster is not None:
            src = stack.enter_context(rasterio.open(zones.raster))
            zone_src = stack.enter_context(_on_grid(src, lu))
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
            if zones is not None and zone_src is not None:
                raw_zone = zone_src.read(1, window=window).astype(np.int64)
                # the zone (1..n) of each code; 0 for nodata or a code that is no zone
                at = np.minimum(np.searchsorted(zone_codes, raw_zone), len(zone_codes) - 1)
                zone = np.where(zone_codes[at] == raw_zone, at + 1, 0)
                if zone_src.nodata is not None:
                    zone[raw_zone == zone_src.nodata] = 0
            elif zones:
                zone = rasterize_zones(zones, lu.window_transform(window), (h, w)).astype(np.int64)
            else:
                zone = np.zeros((h, w), dtype=np.int64)
            zone_pixels += np.bincount(zone.ravel(), minlength=nzones)
            group = zone * NCLASS + codes
            area = window_areas_ha(
                lu.transform,
                lu.crs,
                int(window.row_off),
                int(window.col_off),
                h,
                w,
                (lu.height, lu.width),
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
        stack.close()
        for ds in handles.values():
            ds.close()
    stats = Statistics(run=run, zones=zones, sums=sums, hist=hist, extremes=extremes)
    stats.zone_pixels = zone_pixels
    stats.rows = _rows(stats)
    return stats


def class_name(code: int) -> str:
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
        "land_use_name": "all classes" if code is None else class_name(code),
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
    with writing.replacing(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: repr(v) if isinstance(v, float) else csvsafe.cell(v) for k, v in row.items()}
            )
    return path
