"""What the inputs of a run hold, read before any computation: the distribution of every
quantity over the modelled pixels, for the unit plausibility checks of
:mod:`gsocseq.plausibility` (METHOD.md section 2).

Which pixels are read, so that the survey costs a small share of a run whatever the map:

- single-band quantities (SOC, clay, NPP, ...): every modelled pixel, block by block (the
  run's blocks; one band each, and the last warm-up year's land use to know which pixels are
  modelled: a few bands of the hundreds a run reads);
- multi-band quantities (cover, climate): the modelled pixels (at most
  :data:`PIXELS_PER_BLOCK`) of :data:`BLOCKS` blocks spread evenly over the blocks that hold
  modelled pixels, and of a 12*Y-band series one year per block, spread over the years. A
  wrong unit is a property of a whole file; one value beyond the plausible range elsewhere is
  still caught, pixel by pixel, when the run reads its block;
- every band of each 12*Y-band climate series (Y >= 2) in one window of
  :data:`ORDER_WINDOW` pixels a side around the first modelled pixel of the first of those
  blocks: the mean of each band, for the order of the bands (``Reading.band_means``).

Memory is fixed by the block size: values are counted into fixed histograms
(:class:`~gsocseq.plausibility.Distribution`), never kept.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, Union

import numpy as np
from rasterio.windows import Window

from gsocseq import _core
from gsocseq.chain import Modelled
from gsocseq.config import Config
from gsocseq.inputs import Inputs, Quantity, range_message, scale_note
from gsocseq.plausibility import (
    ANNUAL_KINDS,
    DRY_NPP,
    Distribution,
    Reading,
    check_config,
    is_series,
)
from gsocseq.rasters import InputError, pixel_location, windows

#: blocks read for the multi-band quantities
BLOCKS = 4
#: modelled pixels per block read for the multi-band quantities (evenly thinned)
PIXELS_PER_BLOCK = 4096
#: side (pixels) of the window whose every band of each climate series is read, for the
#: order of the bands (years, then months): 64 x 64 x 240 float32 is 3.9 MB
ORDER_WINDOW = 64


Fix = Callable[[float], str]


def survey(
    inputs: Inputs, blocks: int = BLOCKS, fix_for: Optional[Callable[[str], Fix]] = None
) -> list[Reading]:
    """What every quantity of ``inputs`` holds over the modelled pixels (see the module's
    docstring for which pixels are read). ``fix_for(name)``: how a user rescales quantity
    ``name``, for the hints (default: the input's ``scale``)."""
    cfg = inputs.config
    m = inputs.master.dataset
    wins = list(windows(m.height, m.width, cfg.run.block_size))
    singles = [q for q in inputs.quantities if len(q.bands) == 1]
    multi = [q for q in inputs.quantities if len(q.bands) > 1]
    readings = {q.name: _reading(inputs, q, fix_for) for q in inputs.quantities}
    for q in singles:
        readings[q.name].read = "every modelled pixel"
    modelled = np.zeros(len(wins), dtype=np.int64)
    soc = next(q for q in singles if q.name == "soc")
    # the inputs of a window read side by side (GDAL releases the GIL; a handle each)
    pool = ThreadPoolExecutor(min(4, os.cpu_count() or 1), thread_name_prefix="gsocseq-survey")
    with pool:
        for k, window in enumerate(wins):
            modelled[k] = _singles(inputs, readings, singles, soc, window, pool)
        if not modelled.any():  # (was a run of empty layers, exit 0)
            raise InputError(_nothing_to_model(inputs, wins))
        _multi(inputs, readings, multi, soc, wins, modelled, blocks, pool)
    return list(readings.values())


def _singles(
    inputs: Inputs,
    readings: dict[str, Reading],
    singles: list[Quantity],
    soc: Quantity,
    window: Window,
    pool: ThreadPoolExecutor,
) -> int:
    """Count every modelled pixel of the window's single-band quantities; returns how many
    pixels are modelled."""
    land_use = pool.submit(_modelled_land_use, inputs, window)
    raws = _read(singles, window, pool=pool)
    flat = land_use.result()
    if not len(flat):
        return 0
    values, status, band = _gather(inputs, soc, raws[soc.name], flat)
    carbon = inputs.rule.carbon(values[:, 0])
    # SOC 0 is valid but not modelled: left out of the distribution (a negative SOC is not)
    counted = np.flatnonzero(carbon | (status >= 2))
    _count(
        inputs,
        readings[soc.name],
        soc,
        values[counted],
        status[counted],
        band[counted],
        flat[counted],
        window,
        range(1),
    )
    flat = flat[carbon]
    for q in singles:
        if q is not soc and len(flat):
            _add(inputs, readings[q.name], q, raws[q.name], flat, window, range(1))
    return len(flat)


def _nothing_to_model(inputs: Inputs, wins: list[Window]) -> str:
    """Why no pixel of ``inputs`` is modelled: what the land use of the area (SOC has a value)
    holds."""
    counts: Counter = Counter()
    for window in wins:
        inputs.area_classes(window, counts)
    cfg = inputs.config
    names = cfg.class_table.names
    codes = sorted(int(k[len("area:class_") :]) for k in counts if k.startswith("area:class_"))
    held = [f"no land use {counts['area:no_land_use']:,}"] if counts["area:no_land_use"] else []
    held += [
        f"class {c} {names.get(c, '(a code the class table lacks)')} {counts[f'area:class_{c}']:,}"
        for c in codes
    ]
    area = (
        f"where SOC has a value, the land use holds {', '.join(held)}"
        if held
        else "no pixel of those classes has SOC > 0"
    )
    return (
        f"{inputs.master.path}: no pixel to model: no pixel with SOC > 0 has a land-use class "
        f"of [classes] modelled ({', '.join(str(c) for c in cfg.modelled)}) in "
        f"{inputs.land_use_source()}; {area}. Check the land-use raster (its extent, nodata "
        "and codes: FAO classes, METHOD.md section 2) and [classes] modelled"
    )


def _multi(
    inputs: Inputs,
    readings: dict[str, Reading],
    multi: list[Quantity],
    soc: Quantity,
    wins: list[Window],
    modelled: np.ndarray,
    blocks: int,
    pool: ThreadPoolExecutor,
) -> None:
    """Count the modelled pixels (thinned) of ``blocks`` windows spread over those with
    modelled pixels, for the multi-band quantities (one year of a series each)."""
    occupied = np.flatnonzero(modelled)
    chosen = _spread(occupied, blocks)
    thinned = bool(modelled[chosen].max(initial=0) > PIXELS_PER_BLOCK)
    for q in multi:
        yearly = is_series(len(q.bands))
        if len(chosen) == len(occupied) and not thinned and not yearly:
            read = "every modelled pixel"
        else:
            read = f"{len(chosen)} of {len(occupied)} blocks with modelled pixels"
            read += ", one year each" if yearly else ""
            read += f", at most {PIXELS_PER_BLOCK:,} pixels per block" if thinned else ""
        readings[q.name].read = read
    for j, k in enumerate(chosen):
        window = wins[int(k)]
        flat = _modelled_land_use(inputs, window)
        values = soc.raster.gather(_read([soc], window)[soc.name], flat, soc.float32)
        flat = flat[inputs.rule.carbon(values[0])]
        step = max(1, math.ceil(len(flat) / PIXELS_PER_BLOCK))
        flat = flat[::step]
        picks = {q.name: _bands(q, j, len(chosen)) for q in multi}
        raws = _read(multi, window, picks, pool)
        gathered = {
            q.name: _add(inputs, readings[q.name], q, raws[q.name], flat, window, picks[q.name])
            for q in multi
        }
        # the window of the series' band order, its series read once (side by side) for the
        # band means and the warm-up's MIAMI NPP
        order: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if j == 0 and len(flat):
            wanted = _band_order_series(multi) + _miami_climate(inputs)
            _order_values(inputs, wanted, window, flat, order, pool)
        if len(flat):
            _npp_ratios(inputs, readings, gathered, window, flat, order)
        if j == 0 and len(flat):
            _band_means(readings, _band_order_series(multi), order)


#: the NPP reference rasters compared with the warm-up's own NPP
NPP_REFERENCES = ("npp_reference", "npp_reference_min", "npp_reference_max")


def _npp_ratios(
    inputs: Inputs,
    readings: dict[str, Reading],
    gathered: dict[str, np.ndarray],
    window: Window,
    flat: np.ndarray,
    order: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """Count the ratio of each NPP reference raster to the warm-up's own NPP (METHOD.md
    sections 4 and 10), both before the land-use coefficients (the run applies them to both
    alike): at the surveyed pixels ``flat`` of a block, to the mean of the ``warmup_npp``
    bands when given (``gathered``: the (n, bands) values of the multi-band quantities);
    else, once (the first block), at the modelled pixels of the window of
    :data:`ORDER_WINDOW` pixels a side of :func:`_band_means`, to the mean of the warm-up
    years' MIAMI NPP (t C/ha/yr, the core's): every year read, as the reference is a
    20-year mean (one dry year would be 30 % off). Nothing to compare with
    ``warmup_carbon_input`` (the reference is not used then), nor in a desert (a median
    warm-up NPP below :data:`~gsocseq.plausibility.DRY_NPP`). ``order``: the values already
    read there (:func:`_order_values`)."""
    refs = [q for q in inputs.quantities if q.name in NPP_REFERENCES]
    if not refs or "warmup_carbon_input" in gathered:
        return
    if "warmup_npp" in gathered:
        own = gathered["warmup_npp"].mean(axis=1)
        what = "the mean of the warmup_npp bands"
        pixels, sub = flat, window
    else:
        climate = _miami_climate(inputs)
        if len(climate) < 2 or any(r.warmup_ratio is not None for r in readings.values()):
            return
        sub, pixels = _order_window(window, flat)
        years_of = _order_values(inputs, climate, window, flat, order)
        t, p = (_years(*years_of[name]) for name in WARMUP_CLIMATE)
        years = t.shape[1]
        miami = _core.miami_npp(t.mean(axis=2).ravel(), p.sum(axis=2).ravel())
        own = miami.reshape(-1, years).mean(axis=1)
        what = f"the mean MIAMI NPP of the {years} warm-up years"
    known = own[np.isfinite(own)]
    if not len(known) or float(np.median(known)) < DRY_NPP:
        return  # a desert (or nothing known): no ratio to judge a unit by
    raws = _read(refs, sub)
    for q in refs:
        values, status, _ = _gather(inputs, q, raws[q.name], pixels)
        ratio = values[:, 0] / own
        ok = (status == 0) & np.isfinite(ratio) & (own > 0)
        reading = readings[q.name]
        if reading.warmup_ratio is None:
            reading.warmup_ratio = Distribution()
            reading.warmup_npp = what
        reading.warmup_ratio.add(ratio[ok])


#: the warm-up series that MIAMI NPP is computed of: temperature, precipitation
WARMUP_CLIMATE = ("warmup_temperature", "warmup_precipitation")


def _miami_climate(inputs: Inputs) -> list[Quantity]:
    """The warm-up temperature (degrees C) and precipitation (mm) series of ``inputs`` that
    MIAMI NPP can be computed of (12 or 12*Y monthly bands), in :data:`WARMUP_CLIMATE`'s
    order; fewer than 2 when not both."""
    by_name = {q.name: q for q in inputs.quantities}
    found = [by_name[n] for n in WARMUP_CLIMATE if n in by_name]
    return [q for q in found if is_series(len(q.bands)) or len(q.bands) == 12]


def _band_order_series(multi: list[Quantity]) -> list[Quantity]:
    """The 12*Y-band climate series (Y >= 2) whose band order the band means check."""
    return [q for q in multi if q.kind in ANNUAL_KINDS and is_series(len(q.bands))]


def _order_values(
    inputs: Inputs,
    quantities: list[Quantity],
    window: Window,
    flat: np.ndarray,
    order: dict[str, tuple[np.ndarray, np.ndarray]],
    pool: Optional[ThreadPoolExecutor] = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(n, bands) values and status of every band of ``quantities`` at the modelled pixels of
    the window of :func:`_order_window`; each read once per block: ``order`` keeps them (the
    ones missing read side by side on ``pool``)."""
    missing = [q for q in quantities if q.name not in order]
    if missing:
        sub, pixels = _order_window(window, flat)
        raws = _read(missing, sub, pool=pool)
        for q in missing:
            values, status, _ = _gather(inputs, q, raws[q.name], pixels)
            order[q.name] = (values, status)
    return {q.name: order[q.name] for q in quantities}


def _years(values: np.ndarray, status: np.ndarray) -> np.ndarray:
    """(n, Y, 12) of the (n, 12*Y) values of a monthly series (NaN at the pixels whose
    ``status`` is not 0: not valid)."""
    return np.where(status[:, None] != 0, np.nan, values).reshape(len(values), -1, 12)


def _band_means(
    readings: dict[str, Reading],
    series: list[Quantity],
    order: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """The mean of every band of each 12*Y-band climate series (Y >= 2) of ``series`` over the
    valid modelled pixels of the window of :func:`_order_window` (``order``: their values
    there, read by :func:`_order_values` side by side; memory: one small window of all their
    bands, 3.9 MB a 20-year series)."""
    for q in series:
        values, status = order[q.name]
        valid = values[status == 0]
        if len(valid):
            readings[q.name].band_means = valid.mean(axis=0)


def _order_window(window: Window, flat: np.ndarray) -> tuple[Window, np.ndarray]:
    """The window of at most :data:`ORDER_WINDOW` pixels a side around the first of ``flat``
    (flat indices of the modelled pixels of ``window``), and the flat indices in it of the
    modelled pixels it holds."""
    h, w = int(window.height), int(window.width)
    first_row, first_col = divmod(int(flat[0]), w)
    size_r, size_c = min(ORDER_WINDOW, h), min(ORDER_WINDOW, w)
    r0 = min(first_row, h - size_r)
    c0 = max(0, min(first_col - size_c // 2, w - size_c))
    sub = Window(int(window.col_off) + c0, int(window.row_off) + r0, size_c, size_r)
    rows, cols = np.divmod(flat, w)
    inside = (rows >= r0) & (rows < r0 + size_r) & (cols >= c0) & (cols < c0 + size_c)
    return sub, (rows[inside] - r0) * size_c + (cols[inside] - c0)


def check_inputs(
    config: Union[Config, Inputs], fix_for: Optional[Callable[[str], Fix]] = None
) -> list[Reading]:
    """Survey the inputs of ``config`` (or opened ``inputs``) and check them (raises an
    :class:`~gsocseq.rasters.InputError` naming the file, what was read and the likely
    mistake); returns the readings."""
    if isinstance(config, Inputs):
        readings = survey(config, fix_for=fix_for)
        cfg, limits = config.config, config.limits
    else:
        cfg = config
        with Inputs(config, Modelled(config)) as inputs:
            readings = survey(inputs, fix_for=fix_for)
            limits = inputs.limits
    check_config(readings, cfg, limits)
    return readings


def _reading(inputs: Inputs, q: Quantity, fix_for: Optional[Callable[[str], Fix]]) -> Reading:
    r = q.raster
    bands = [r.bands[b] for b in q.bands]
    if r.count == len(bands):
        source = str(r.path)
    elif len(bands) == 1:
        source = f"{r.path} band {bands[0]}"
    else:
        source = f"{r.path} bands {bands[0]}-{bands[-1]}"
    unit = inputs.limits[q.kind][2]
    annual = Reading.annual_for(q.kind, len(q.bands))
    fix = fix_for(q.name) if fix_for is not None else inputs.fix_of(q)
    return Reading(q.name, q.kind, source, unit, "", fix, annual=annual)


def _modelled_land_use(inputs: Inputs, window: Window) -> np.ndarray:
    """Flat window indices of the pixels whose last warm-up class is modelled (compared as
    stored: a nodata value or NaN is no modelled class)."""
    return np.flatnonzero(inputs.rule.candidates(inputs.last_land_use(window)))


def _bands(q: Quantity, j: int, blocks: int) -> range:
    """Positions of ``q.bands`` read in the j-th of ``blocks`` blocks: all, or one year of a
    12*Y-band series (the years spread over the blocks)."""
    n = len(q.bands)
    if is_series(n):
        years = n // 12
        year = round(j * (years - 1) / (blocks - 1)) if blocks > 1 else years - 1
        return range(12 * year, 12 * year + 12)
    return range(n)


def _read(
    quantities: list[Quantity],
    window: Window,
    picks: Optional[dict[str, range]] = None,
    pool: Optional[ThreadPoolExecutor] = None,
) -> dict[str, np.ndarray]:
    """Raw (bands, h * w) values of the chosen bands of each quantity, each input read once
    (the inputs side by side on ``pool``)."""
    by_raster: dict[str, list[Quantity]] = {}
    for q in quantities:
        by_raster.setdefault(q.raster.key, []).append(q)

    def chosen(q: Quantity) -> list[int]:
        positions = picks[q.name] if picks is not None else range(len(q.bands))
        return [q.bands[p] for p in positions]

    def read(qs: list[Quantity]) -> tuple[list[Quantity], list[int], np.ndarray]:
        bands = sorted({b for q in qs for b in chosen(q)})
        # the raster's buffer, overwritten by its next read: used before the next _read
        return qs, bands, qs[0].raster.read_raw(window, bands)

    groups = list(by_raster.values())
    out: dict[str, np.ndarray] = {}
    for qs, bands, raw in pool.map(read, groups) if pool is not None else map(read, groups):
        row = {b: i for i, b in enumerate(bands)}
        for q in qs:
            rows = [row[b] for b in chosen(q)]
            out[q.name] = raw[rows[0] : rows[-1] + 1]  # the bands of a quantity are consecutive
    return out


def _add(
    inputs: Inputs,
    reading: Reading,
    q: Quantity,
    raw: np.ndarray,
    flat: np.ndarray,
    window: Window,
    positions: range,
) -> np.ndarray:
    """Gather and check the raw (bands, h * w) values of ``q`` (band positions ``positions``
    of q.bands) at the window's pixels ``flat`` in one pass, and count them into ``reading``;
    returns the (n, bands) values."""
    values, status, band = _gather(inputs, q, raw, flat)
    _count(inputs, reading, q, values, status, band, flat, window, positions)
    return values


def _gather(
    inputs: Inputs, q: Quantity, raw: np.ndarray, flat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, bands) values of the raw (bands, h * w) values of ``q`` at the window's pixels
    ``flat``, and their (status, first band concerned) of the invalid-input checks."""
    lo, hi, _ = inputs.limits[q.kind]
    values = np.empty((len(flat), raw.shape[0]))
    status, band = q.raster.gather(raw, flat, q.float32, out=values, check=(lo, hi))
    return values, status, band


def _count(
    inputs: Inputs,
    reading: Reading,
    q: Quantity,
    values: np.ndarray,
    status: np.ndarray,
    band: np.ndarray,
    flat: np.ndarray,
    window: Window,
    positions: range,
) -> None:
    """Count (n, bands) gathered values of ``q`` at the window's pixels ``flat`` into
    ``reading`` (a value beyond the range named by its file, band and pixel)."""

    def beyond(b: int, i: int, value: float, seen: Distribution) -> str:
        where = _where(inputs, q, flat, window, i, positions[b])
        note = scale_note(q.raster.spec.scale)
        return range_message(where, q.name, q.kind, value, note, inputs.limits, reading.fix, seen)

    reading.add(values, status, band, beyond)


def _where(inputs: Inputs, q: Quantity, flat: np.ndarray, window: Window, i: int, b: int) -> str:
    pix = int(flat[i])
    row = int(window.row_off) + pix // int(window.width)
    col = int(window.col_off) + pix % int(window.width)
    loc = pixel_location(inputs.master.dataset, row, col)
    return f"{q.raster.path}: band {q.raster.bands[q.bands[b]]}, {loc}"


def _spread(candidates: np.ndarray, k: int) -> np.ndarray:
    """Up to k of ``candidates`` spread evenly (first and last included)."""
    if len(candidates) <= k:
        return candidates
    picks = np.round(np.linspace(0, len(candidates) - 1, k)).astype(np.int64)
    return candidates[np.unique(picks)]
