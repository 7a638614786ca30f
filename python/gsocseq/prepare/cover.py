"""The 12-band cover factor c of ``gsocseq prepare`` (0.6 covered .. 1.0 bare): from NDVI
shares, raw NDVI stacks or per-class defaults."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.transform
import rasterio.warp
import rasterio.windows

from gsocseq.config import check_keys, typed
from gsocseq.errors import ConfigError, InputError
from gsocseq.prepare.grid import Grid, Series, band_scale, open_source, resampling_for, warp
from gsocseq.prepare.settings import Settings, file_list
from gsocseq.prepare.summary import Report

COVER_GROUPS = {
    "crops": (2, 12),
    "grass": (3, 5, 6, 8),
    "paddy": (13,),
    "tree": (4,),
}


def _month_files(template: Any, where: str) -> list[str]:
    if isinstance(template, str) and "{month" in template:
        return [template.format(month=m) for m in range(1, 13)]
    return file_list(template, where)


def write_cover(
    settings: Settings, grid: Grid, report: Report, last_lu: np.ndarray, out: Path
) -> None:
    """The 12-band cover factor c (0.6 covered .. 1.0 bare)."""
    t = settings.table
    series = Series(
        out,
        grid,
        12,
        [f"{m:02d}: cover factor c (0.6 covered .. 1.0 bare)" for m in range(1, 13)],
        "cover factor",
    )
    crs: set[str] = set()
    try:
        if "cover" in t:
            files = [settings.path(f) for f in _month_files(t["cover"], "[prepare].cover")]
            bands = [(p, 1) for p in files]
            if len(files) == 1:
                with open_source(files[0], "cover") as ds:
                    bands = [(files[0], b) for b in range(1, ds.count + 1)]
            if len(bands) != 12:
                raise InputError(
                    f"{files[0]}: cover needs 12 monthly NDVI proportions, got {len(bands)}"
                )
            scale = typed(t.get("cover_scale", 1.0), float, "[prepare].cover_scale")
            for m, (p, b) in enumerate(bands, start=1):
                with open_source(
                    p, "cover (NDVI proportion)", bands=None if len(files) == 1 else 1
                ) as ds:
                    crs.add(ds.crs.to_string())
                    s, o, _ = band_scale(ds, b, scale, 0.0)
                    prop = warp(ds, b, grid, resampling_for(ds, grid, True)) * s + o
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
            thr = typed(t.get("ndvi_threshold", 0.6), float, "[prepare].ndvi_threshold")
            scale = typed(t.get("ndvi_scale", 1.0), float, "[prepare].ndvi_scale")
            for m, p in enumerate(files, start=1):
                with open_source(p, "cover (NDVI stack)") as ds:
                    crs.add(ds.crs.to_string())
                    above = np.zeros(grid.shape)
                    n = np.zeros(grid.shape)
                    res = resampling_for(ds, grid, True)
                    for b in range(1, ds.count + 1):
                        s, o, _ = band_scale(ds, b, scale, 0.0)
                        v = warp(ds, b, grid, res) * s + o
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
            check_keys(defaults, allowed, "[prepare.cover_defaults]")
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
                arr = np.array([typed(x, float, where) for x in vals])
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
