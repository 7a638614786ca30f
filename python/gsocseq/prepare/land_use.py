"""Land use of ``gsocseq prepare`` (METHOD.md section 2): every source pixel reclassified to
its FAO class (ESA CCI table or the user's), then the majority class of the source pixels
whose centres fall in each master pixel; one band per warm-up year."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.transform
import rasterio.warp
import rasterio.windows
from rasterio.errors import RasterioIOError

from gsocseq.classes import NAMES, RECLASS_TABLES, reclass_table
from gsocseq.config import typed
from gsocseq.errors import ConfigError, InputError
from gsocseq.prepare.grid import (
    LU_NODATA,
    Grid,
    affine,
    atomic_writer,
    describe_bands,
    open_source,
    transform_error,
)
from gsocseq.prepare.settings import Settings, file_list
from gsocseq.prepare.summary import Report

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
    xs, ys = affine(tr, np.array([0, w, 0, w]), np.array([r0, r0, r1, r1]))
    left, right = float(np.min(xs)), float(np.max(xs))
    bottom, top = float(np.min(ys)), float(np.max(ys))
    if not same_crs:
        try:
            left, bottom, right, top = rasterio.warp.transform_bounds(
                grid.crs, ds.crs, left, bottom, right, top, densify_pts=21
            )
        except Exception as exc:  # GDAL's CPLE_* errors
            raise InputError(transform_error(ds, grid, exc)) from None
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
        x1, _ = affine(src_tr, np.arange(j0, j0 + sw) + 0.5, np.zeros(sw))
        _, y1 = affine(src_tr, np.zeros(sh), np.arange(i0, i0 + sh) + 0.5)
        mc1 = np.floor(affine(inv, x1, np.zeros(sw))[0]).astype(np.int64)
        mr1 = np.floor(affine(inv, np.zeros(sh), y1)[1]).astype(np.int64) - r0
        mc1[(mc1 < 0) | (mc1 >= w)] = -1
        mr1[(mr1 < 0) | (mr1 >= rows)] = -1
        cell = (mr1[:, None] * w + mc1[None, :]).ravel()
        cell[((mr1 < 0)[:, None] | (mc1 < 0)[None, :]).ravel()] = -1

        def centres(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return x1[k % sw], y1[k // sw]

    else:
        jj, ii = np.meshgrid(np.arange(j0, j0 + sw) + 0.5, np.arange(i0, i0 + sh) + 0.5)
        sx, sy = affine(src_tr, jj.ravel(), ii.ravel())
        if not same_crs:
            sx, sy = (np.asarray(v) for v in rasterio.warp.transform(ds.crs, grid.crs, sx, sy))
        fc, fr = affine(inv, sx, sy)
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
        cx, cy = affine(tr, (cc % w) + 0.5, (cc // w) + r0 + 0.5)
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
        ex, ey = affine(tr, (empty % w) + 0.5, (empty // w) + r0 + 0.5)
        if not same_crs:
            ex, ey = (np.asarray(v) for v in rasterio.warp.transform(grid.crs, ds.crs, ex, ey))
        fc, fr = affine(~src_tr, np.asarray(ex), np.asarray(ey))
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


def _unknown_code(
    ds: Any, band: int, grid: Grid, table: str, code: Any, row: int, col: int
) -> None:
    """The error for a source code absent from the table, at master pixel (row, col)."""
    x, y = rasterio.transform.xy(grid.transform, int(row), int(col))
    raise InputError(
        f"{ds.name}: band {band}: land-use code {code:g} is not in the table ({table}) "
        f"at x={x:.6f}, y={y:.6f}"
    )


def _land_use_table(settings: Settings) -> tuple[dict[int, int], str]:
    spec = settings.table.get("land_use_table", "esa-cci")
    spec = typed(spec, str, "[prepare].land_use_table")
    builtin = reclass_table(spec)
    if builtin is not None:
        return builtin
    path = settings.path(spec)
    if not path.exists():
        raise InputError(
            f"{path}: file not found ([prepare].land_use_table: a CSV code,fao_class or one of "
            f"{', '.join(RECLASS_TABLES)})"
        )
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
    files = file_list(value, "[prepare].land_use")
    if len(files) == 1:
        p = settings.path(files[0])
        with open_source(p, "land use") as ds:
            n = ds.count
        return [(p, b) for b in range(1, n + 1)]
    return [(settings.path(f), 1) for f in files]


def write_land_use(settings: Settings, grid: Grid, report: Report, out: Path) -> np.ndarray:
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
    y0, y1 = settings.warmup
    first_year = y1 - len(sources) + 1  # the bands are the last years of the warm-up
    if len(sources) < years:
        report.notes.append(
            f"land use: {len(sources)} band(s) for {years} warm-up years: the first band stands "
            f"for {y0}-{first_year} (the run repeats it {years - len(sources) + 1} times, as FAO "
            "script 8 does); give a band per year for the land-use changes of those years"
        )
    # written to a first file; pixels with a class in some years only (a source not covering
    # every year's area) are then nodata in every year: the run rejects a partially valid
    # pixel as invalid input (METHOD.md section 2), nodata in all years is "not modelled"
    first = out.with_name(f".{out.stem}.bands{out.suffix}")
    profile = grid.profile(len(sources), "uint8", LU_NODATA)
    descriptions = [f"{first_year + i} FAO land-use class" for i in range(len(sources))]
    valid = np.zeros(grid.shape, dtype=np.int32)
    with atomic_writer(first, profile) as dst:
        describe_bands(dst, descriptions, "")
        # a file per year holds that year's land use alone (a single file: a band per year)
        per_year = len({p for p, _ in sources}) == len(sources)
        for i, (path, band) in enumerate(sources, start=1):
            with open_source(path, "land use", bands=1 if per_year else None) as ds:
                crs.add(ds.crs.to_string())
                classes = _land_use_classes(
                    ds, band, grid, lut_codes, lut_vals, table_note.strip("`")
                )
            fao = np.where(grid.inside & (classes >= 0), classes, LU_NODATA)
            dst.write(fao.astype(np.uint8), i)
            valid += fao != LU_NODATA
            last = np.where(fao == LU_NODATA, -1, fao)
    partial = (valid > 0) & (valid < len(sources))
    n_partial = int(partial.sum())
    if not n_partial:
        os.replace(first, out)
    else:
        try:
            with rasterio.open(first) as src, atomic_writer(out, profile) as dst:
                for b in range(1, len(sources) + 1):
                    data = src.read(b)
                    data[partial] = LU_NODATA
                    dst.write(data, b)
                describe_bands(dst, descriptions, "")
        finally:
            os.remove(first)
        last[partial] = -1
        report.notes.append(
            f"land use: {n_partial} pixels with a class in some years only set to nodata in "
            "every year (not modelled): give land use for every year of the area"
        )
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
