"""Climate of ``gsocseq prepare``: TerraClimate or CRU monthly files on the master grid,
coastal pixels filled, the 1981-2000 climatology and MIAMI NPP references, the warm-up
series (T degrees C, P and PET mm/month)."""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gsocseq.chain import PERTURBATIONS, miami_npp
from gsocseq.errors import ConfigError, InputError
from gsocseq.prepare.grid import (
    CLIMATE_UNITS,
    Grid,
    Series,
    atomic_writer,
    band_scale,
    climatology_labels,
    describe_bands,
    f32,
    month_labels,
    open_source,
    resampling_for,
    warp,
)
from gsocseq.prepare.settings import NC_VARIABLES, Settings, Variable
from gsocseq.prepare.summary import Report


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


#: (rows, cols) of the pixels to fill, (rows, cols) of their nearest valid pixels, and the
#: count of those left without one
Index = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.int64]


class CoastalFill:
    """Fills master-grid pixels in the AOI that a coarse climate grid misses with the value of
    the nearest valid climate pixel (on the master grid) within ``radius_km``."""

    def __init__(self, grid: Grid, radius_km: float) -> None:
        self.grid = grid
        self.radius = radius_km
        self.cache: dict[bytes, Index] = {}
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

    def _index(self, valid: np.ndarray) -> Index:
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
            self.open[key] = open_source(path, f"climate {var.key}", name)
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
        if band > ds.count or (self.s.source != "cru" and ds.count != 12):
            raise InputError(
                f"{path}: {ds.count} bands, expected 12 (climate {key}, year {year}: one "
                "file per year of 12 monthly bands)"
            )
        res = resampling_for(ds, self.grid, True)
        scale, offset, how = band_scale(ds, band, var.scale, var.offset)
        values = warp(ds, band, self.grid, res) * scale + offset
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


def write_climate(
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
            series = Series(
                files[key],
                grid,
                12,
                climatology_labels(s0, s1),
                CLIMATE_UNITS[key.split("_", 1)[1]],
            )
            for m in range(12):
                full = counts[q, m] == n_years
                series.write(
                    m + 1, np.where(full, sums[q, m] / np.maximum(counts[q, m], 1), np.nan)
                )
            partial[key] = series.close()
        del sums, counts
        for k, key in enumerate(("npp_reference", "npp_reference_min", "npp_reference_max")):
            with atomic_writer(files[key], grid.profile(1)) as dst:
                dst.write(f32(np.where(npp_ok, npp[k] / n_years, np.nan), grid.inside), 1)
                run = ("central", "min", "max")[k]
                describe_bands(dst, [f"MIAMI NPP, mean {s0}-{s1} ({run} run)"], "t C/ha/yr")
        del npp
        # 2001-2020: the monthly series, month by month
        w0, w1 = settings.warmup
        n = 12 * (w1 - w0 + 1)
        outs = [
            Series(files[k], grid, n, month_labels(w0, w1), CLIMATE_UNITS[k.split("_", 1)[1]])
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
        quantity = "temperature" if key in ("tmax", "tmin") else key
        report.layer(
            f"climate {key}",
            info["files"],
            info["crs"],
            info["res"],
            "; ".join(sorted(info["scale"])),
            info["units"] or label[quantity],
            f"coastal pixels filled (<= {settings.coastal_fill_km:g} km): "
            f"{clim.fill.filled.get(quantity, 0)}; left nodata: "
            f"{clim.fill.unfilled.get(quantity, 0)}",
        )
    if settings.source == "terraclimate" and "tmax" in settings.variables:
        report.notes.append("temperature = (tmax + tmin) / 2 of each month")
    report.notes.append(
        f"spin-up climatology: monthly means {s0}-{s1}; NPP reference: mean of {n_years} yearly "
        "MIAMI NPP (t C/ha/yr, before land-use coefficients); min: every month T x 1.02, "
        f"P x 0.95; max: T x 0.98, P x 1.05; warm-up series {w0}-{w1} ({n} bands, scale 1)"
    )
    return partial
