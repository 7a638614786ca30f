"""Reading the inputs of a run block by block, in the native or the FAO v1.2 layout, and the
one invalid-input rule of METHOD.md section 2.

A block is a window of the master grid. Only the pixels that the rule of modelled pixels
(:class:`PixelRule`, the chain's :class:`gsocseq.chain.Modelled`, handed in: a reader imports
no phase rule) takes as candidates are checked and gathered; everything else stays nodata.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, Union

import numpy as np
from rasterio.enums import Interleaving
from rasterio.windows import Window

from gsocseq import _core
from gsocseq.classes import ClassTable
from gsocseq.config import (
    PRACTICE_KEYS,
    WARMUP_START,
    Checks,
    Config,
    forward_inputs_unused,
    practice_rasters,
)
from gsocseq.plausibility import RASTER_NODATA, Distribution, bound_note, hint
from gsocseq.products import LAND_USE_NODATA
from gsocseq.rasters import (
    InputError,
    Raster,
    check_grid,
    expect_bands,
    open_raster,
    pixel_location,
)

INF = float("inf")
#: position of the first year's land use in the FAO warm-up stack (SOC, clay, 12 cover, then
#: Y land-use bands and Y DR bands)
FAO_LAND_USE_BAND = 14
#: quantities handed to the core as read (:class:`WindowBands`), not gathered into float64
WARMUP_SERIES = ("warmup_temperature", "warmup_precipitation", "warmup_pet")
#: quantity: (low, high, unit) of plausible values (the core's, METHOD.md section 2)
RANGES: dict[str, tuple[float, float, str]] = dict(_core.PLAUSIBLE_RANGES)
Limits = dict[str, tuple[float, float, str]]


class PixelRule(Protocol):
    """Which pixels are modelled (:class:`gsocseq.chain.Modelled`)."""

    def candidates(self, last_class: np.ndarray) -> np.ndarray:
        """Pixels whose class of the last warm-up year is modelled."""
        ...

    def carbon(self, soc: np.ndarray) -> np.ndarray:
        """Pixels whose SOC (t C/ha) is modelled."""
        ...

    def class_cover(
        self,
        status: np.ndarray,
        lu: np.ndarray,
        spinup: Optional[np.ndarray],
        counts: Counter,
    ) -> np.ndarray:
        """The cover's checks ``status`` with the pixels that take their classes' default
        cover made valid."""
        ...

    def keep(
        self, singles: dict[str, np.ndarray], ok: np.ndarray, counts: Counter
    ) -> tuple[np.ndarray, np.ndarray]:
        """Of the valid pixels ``ok``, those modelled, and the exclusion rules each meets
        (uint8 bits), from (1, n) single-band values."""
        ...


def limits(checks: Checks, max_class: Optional[int] = None) -> Limits:
    """:data:`RANGES` with the bounds that are [checks] thresholds (METHOD.md section 2, unit
    plausibility): temperature, and the upper bounds of precipitation, PET and NPP; land-use
    codes up to ``max_class`` (the highest code of the run's class table)."""
    out = dict(RANGES)
    if max_class is not None and max_class != RANGES["class"][1]:
        out["class"] = (0.0, float(max_class), f"(land-use class of the table, 0-{max_class})")
    out["temperature"] = (checks.temperature_min, checks.temperature_max, "degrees C")
    out["precipitation"] = (0.0, checks.precipitation_max, "mm/month")
    out["pet"] = (0.0, checks.pet_max, "mm/month")
    out["npp"] = (0.0, checks.npp_max, "t C/ha/yr")
    return out


def scale_fix(key: str, scale: float) -> Callable[[float], str]:
    """How to rescale input ``key`` (read with ``scale``) by a factor, for a hint."""
    return lambda factor: f"set scale = {scale * factor:g} on input {key!r}"


@dataclass
class Quantity:
    """Bands of one input that hold one physical quantity."""

    name: str  # e.g. "warmup_temperature"
    raster: Raster
    bands: tuple[int, ...]  # 0-based positions in the raster's band list
    kind: str  # key of RANGES
    float32: bool = False  # round to float32 after scaling (fao-v1.2 warm-up series)
    # handed to the core as read (WindowBands) instead of gathered into float64
    in_place: bool = False


@dataclass(frozen=True)
class WindowBands:
    """Monthly series of the modelled pixels of a window, as read: ``raw`` (months, window
    pixels) in the raster's own type, ``pixels`` the flat window index of each modelled pixel.
    A value is ``raw * scale + offset`` in float64 (nodata as NaN; rounded to float32 with
    ``round_f32``). The core reads them where they lie (no (n, months) float64 copy)."""

    raw: np.ndarray
    pixels: np.ndarray  # int64
    nodata: Optional[float]
    scale: float
    offset: float
    round_f32: bool = False

    def to_array(self) -> np.ndarray:
        """The (n, months) float64 values."""
        values = _core.gather_pixels(
            self.raw, self.pixels, self.nodata, self.scale, self.offset, self.round_f32
        )
        return np.ascontiguousarray(values.T)


@dataclass
class Block:
    """The modelled pixels of one window: the values of each quantity as (n, bands) float64
    arrays (the warm-up series as :class:`WindowBands`, the window's bands as read), their
    (n, Y) warm-up classes, and the core's arguments once made from them (``arrays``)."""

    window: Window
    rows: np.ndarray  # row of each modelled pixel in the window
    cols: np.ndarray
    land_use: np.ndarray  # (h, w) uint8 forward class of modelled pixels, 0 (no data) elsewhere
    values: dict[str, Any] = field(default_factory=dict)
    classes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.uint8))
    pixel_id: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    arrays: dict[str, Any] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    # the exclusion rules each pixel meets (uint8 bits of gsocseq.products.EXCLUSION_BITS)
    exclusion: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))
    # buffers behind ``arrays`` and the pool they go back to (see :meth:`release`)
    _buffers: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _pool: Optional[dict[str, list[np.ndarray]]] = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.rows)

    def release(self) -> None:
        """Hand the buffers of ``values`` back to the reader for a later block (``values`` and
        ``arrays`` are emptied: their values are overwritten by the next blocks read)."""
        self.values = {}
        self.arrays = {}
        if self._pool is not None:
            for name, buf in self._buffers.items():
                self._pool.setdefault(name, []).append(buf)
        self._buffers = {}


class Inputs:
    """The opened inputs of a run (either layout), checked against the master grid; ``rule``
    says which pixels are modelled."""

    def __init__(self, config: Config, rule: PixelRule) -> None:
        self.config = config
        self.rule = rule
        self.fao_mode = config.run.mode == "fao-v1.2"
        self.rasters: dict[str, Raster] = {}
        self.notes: list[str] = []
        try:
            for key, spec in config.inputs.items():
                self.rasters[key] = open_raster(key, spec)
            self.master = self.rasters["spinup_stack" if config.layout == "fao" else "soc"]
            for r in self.rasters.values():
                check_grid(self.master, r)
            self.quantities: list[Quantity] = []
            #: quantities whose nodata is a value (practice rasters: BAU's), by their range
            self.optional: Limits = {}
            if config.layout == "fao":
                self._fao_layout()
            else:
                self._native_layout()
        except Exception:
            self.close()
            raise
        self.warnings: list[str] = list(self.notes)
        self.limits = limits(config.checks, config.class_table.max_code)
        self.limits.update(self.optional)
        # float64 buffers of the block arrays, by quantity, reused by the blocks read after a
        # block's release(): the first writes to fresh memory (page faults) cost as much as
        # gathering the values
        self._pool: dict[str, list[np.ndarray]] = {}
        # inputs of a block read side by side (GDAL releases the GIL), see _read_raw
        self._readers: Optional[ThreadPoolExecutor] = None
        self._reader_count = 0
        self._file_bytes: dict[str, float] = {}
        lu = self.rasters.get("land_use")
        if lu is not None and lu.count < self.years:
            first = WARMUP_START + 1
            self.warnings.append(
                f"{lu.path}: land use of {lu.count} years for {self.years} warm-up years: its "
                f"first band stands for {first}-{first + self.years - lu.count} (repeated "
                f"{self.years - lu.count + 1} times, as FAO script 8 does); give a band per "
                "year for the land-use changes of those years"
            )
        if config.run.uncertainty == "minmax" and not self.fao_mode:
            have = {"npp_reference_min", "npp_reference_max"} <= set(self.rasters)
            if not have and "reference_temperature" not in self.rasters:
                self.warnings.append(
                    "no npp_reference_min/_max: the min/max runs use the central NPP reference"
                )

    # -- layouts ---------------------------------------------------------------------------
    def _q(self, name: str, key: str, bands: range | tuple[int, ...], kind: str, f32=False) -> None:
        # the warm-up series, hundreds of bands, are read by the core where they lie
        in_place = name in WARMUP_SERIES
        self.quantities.append(Quantity(name, self.rasters[key], tuple(bands), kind, f32, in_place))

    def _optional_singles(self) -> None:
        """Single-band inputs that either layout may have."""
        for key, kind in (
            ("npp_reference", "npp"),
            ("npp_reference_min", "npp"),
            ("npp_reference_max", "npp"),
            ("soc_uncertainty", "uncertainty"),
            ("clay_uncertainty", "uncertainty"),
            ("sand", "sand"),
            ("ec", "ec"),
            ("spinup_land_use", "class"),
            ("zone", "zone"),
            *self._soil_water(),
        ):
            if key in self.rasters:
                self._q(key, key, (0,), kind)

    def _soil_water(self) -> list[tuple[str, str]]:
        """The soil inputs of the van Genuchten moisture options, read only with them (else
        named in a warning)."""
        keys = [k for k in ("silt", "bulk_density", "organic_carbon") if k in self.rasters]
        if self.config.run.moisture == "rothc-26.3":
            if keys:
                self.notes.append(
                    f'{", ".join(keys)} not used: moisture = "rothc-26.3" takes clay and '
                    'depth only (the soil water inputs are for "farina-2" and "farina-3")'
                )
            return []
        return [(k, k) for k in keys]

    def _series_years(self, key: str) -> int:
        r = self.rasters[key]
        if r.count % 12:
            raise InputError(
                f"{r.path}: input {key!r} has {r.count} bands, expected 12 monthly bands per "
                f"year (a multiple of 12)"
            )
        return r.count // 12

    def _warmup_years(self) -> int:
        """Warm-up years of the three 12*Y-band series; one that disagrees with the other two
        is named."""
        keys = ("warmup_temperature", "warmup_precipitation", "warmup_pet")
        rs = self.rasters
        counts = [rs[k].count for k in keys]
        common = max(counts, key=counts.count)
        if counts.count(common) == 1 or common % 12:
            for key in keys:
                self._series_years(key)
            listing = "; ".join(f"{rs[k].path} ({k}): {rs[k].count}" for k in keys)
            raise InputError(
                f"the warm-up series disagree on their number of bands (12 per year): {listing}"
            )
        for key in keys:
            if rs[key].count != common:
                like = " and ".join(k for k in keys if k != key)
                odd = "; not a multiple of 12" if rs[key].count % 12 else ""
                raise InputError(
                    f"{rs[key].path}: input {key!r} has {rs[key].count} bands, expected {common} "
                    f"({common // 12} years of monthly values like {like}{odd})"
                )
        return common // 12

    def _native_layout(self) -> None:
        rs = self.rasters
        for key in (
            "soc",
            "clay",
            "soc_uncertainty",
            "clay_uncertainty",
            "sand",
            "ec",
            "spinup_land_use",
            "zone",
            "silt",
            "bulk_density",
            "organic_carbon",
            "npp_reference",
            "npp_reference_min",
            "npp_reference_max",
        ):
            if key in rs:
                expect_bands(rs[key], 1, "a single band")
        for key in (
            "cover",
            "spinup_temperature",
            "spinup_precipitation",
            "spinup_pet",
            "forward_temperature",
            "forward_precipitation",
            "forward_pet",
        ):
            if key in rs:
                expect_bands(rs[key], 12, "one band per month")
        years = self._warmup_years()
        self.years = years
        lu = rs["land_use"]
        if lu.count > years:
            raise InputError(
                f"{lu.path}: input 'land_use' has {lu.count} bands, expected 1 to {years} "
                f"(one per warm-up year; the warm-up series warmup_temperature, "
                f"warmup_precipitation and warmup_pet hold {12 * years} bands, {years} "
                f"year(s): if the land use is right, the series are short)"
            )
        if "reference_temperature" in rs:
            ref_years = self._series_years("reference_temperature")
            expect_bands(
                rs["reference_precipitation"], 12 * ref_years, "like reference_temperature"
            )
            self._q(
                "reference_temperature",
                "reference_temperature",
                range(12 * ref_years),
                "temperature",
            )
            self._q(
                "reference_precipitation",
                "reference_precipitation",
                range(12 * ref_years),
                "precipitation",
            )
        self._refinement_series(years)
        self._practice_rasters()
        f32 = self.fao_mode
        self._q("soc", "soc", (0,), "soc")
        self._q("clay", "clay", (0,), "clay")
        self._q("cover", "cover", range(12), "cover")
        for part in ("temperature", "precipitation", "pet"):
            self._q(f"spinup_{part}", f"spinup_{part}", range(12), part)
            self._q(f"warmup_{part}", f"warmup_{part}", range(12 * years), part, f32)
            if f"forward_{part}" in rs:
                self._q(f"forward_{part}", f"forward_{part}", range(12), part)
        self._optional_singles()

    def _refinement_series(self, years: int) -> None:
        """The series of the country refinements (METHOD.md section 10), when given: a forward
        climate series of 12 bands a year for at least the longest horizon (the three alike),
        and the NPP or carbon input of each of the Y warm-up years."""
        rs = self.rasters
        keys = [f"forward_series_{p}" for p in ("temperature", "precipitation", "pet")]
        if keys[0] in rs:
            horizon = max(self.config.all_horizons)
            first = rs[keys[0]]
            for key in keys:
                r = rs[key]
                if r.count % 12 or r.count < 12 * horizon or r.count != first.count:
                    like = "" if key == keys[0] else f", as {keys[0]} ({first.count})"
                    raise InputError(
                        f"{r.path}: input {key!r} has {r.count} bands, expected 12 monthly "
                        f"bands per year for at least {horizon} years (the longest horizon): "
                        f"{12 * horizon} or more, a multiple of 12{like}"
                    )
            for key, part in zip(keys, ("temperature", "precipitation", "pet")):
                self._q(key, key, range(rs[key].count), part)
        elif self.config.run.forward_inputs == "npp-scaled":
            self.notes.append(forward_inputs_unused("no [inputs] forward_series_*"))
        for key in ("warmup_npp", "warmup_carbon_input"):
            if key in rs:
                expect_bands(rs[key], years, f"one band per warm-up year ({years} years)")
                self._q(key, key, range(years), "npp")

    def _practice_rasters(self) -> None:
        """The rasters of practice settings (``[scenarios.NAME] key = { path = ... }``): one
        band (12 for a cover), values in the setting's range, nodata keeping BAU's value."""
        for name, (_, key) in practice_rasters(self.config).items():
            what, low, high, strict = PRACTICE_KEYS[key]
            bands = 12 if key == "cover" else 1
            expect_bands(self.rasters[name], bands, what)
            lowest = float(np.nextafter(low, high)) if strict else low
            self.optional[name] = (lowest, high, f"({what})")
            self._q(name, name, range(bands), name)

    def _fao_layout(self) -> None:
        rs = self.rasters
        expect_bands(
            rs["spinup_stack"],
            52,
            "the FAO spin-up stack: SOC, clay, 12 T, 12 P, 12 PET, DR, LU, 12 cover",
        )
        expect_bands(
            rs["forward_stack"], 52, "the FAO forward stack, laid out as the spin-up stack"
        )
        years = self._warmup_years()
        expect_bands(
            rs["warmup_stack"],
            FAO_LAND_USE_BAND + 2 * years,
            f"the FAO warm-up stack for {years} years: SOC, clay, 12 cover, {years} LU, {years} DR",
        )
        for key in (
            "npp_reference",
            "npp_reference_min",
            "npp_reference_max",
            "soc_uncertainty",
            "clay_uncertainty",
            "sand",
            "ec",
            "zone",
            "silt",
            "bulk_density",
            "organic_carbon",
        ):
            if key in rs:
                expect_bands(rs[key], 1, "a single band")
        self.years = years
        f32 = self.fao_mode
        self._q("soc", "spinup_stack", (0,), "soc")
        self._q("clay", "spinup_stack", (1,), "clay")
        self._q("spinup_temperature", "spinup_stack", range(2, 14), "temperature")
        self._q("spinup_precipitation", "spinup_stack", range(14, 26), "precipitation")
        self._q("spinup_pet", "spinup_stack", range(26, 38), "pet")
        self._q("spinup_dpm_rpm", "spinup_stack", (38,), "dpm_rpm")
        self._q("spinup_cover", "spinup_stack", range(40, 52), "cover")
        self._q("warmup_cover", "warmup_stack", range(2, 14), "cover")
        lu = FAO_LAND_USE_BAND
        self._q("warmup_dpm_rpm", "warmup_stack", range(lu + years, lu + 2 * years), "dpm_rpm")
        self._q("forward_temperature", "forward_stack", range(2, 14), "temperature")
        self._q("forward_precipitation", "forward_stack", range(14, 26), "precipitation")
        self._q("forward_pet", "forward_stack", range(26, 38), "pet")
        self._q("forward_dpm_rpm", "forward_stack", (38,), "dpm_rpm")
        self._q("forward_cover", "forward_stack", range(40, 52), "cover")
        for part in ("temperature", "precipitation", "pet"):
            self._q(f"warmup_{part}", f"warmup_{part}", range(12 * years), part, f32)
        self._optional_singles()

    # -- land use --------------------------------------------------------------------------
    def _land_use(self, window: Window) -> tuple[Raster, np.ndarray, int]:
        """(raster, (Y, h, w) classes with NaN nodata, first band position) of the warm-up."""
        if self.config.layout == "fao":
            r, first = self.rasters["warmup_stack"], FAO_LAND_USE_BAND
            return r, r.read(window, range(first, first + self.years)), first
        r = self.rasters["land_use"]
        lu = r.read(window)
        if lu.shape[0] < self.years:  # the oldest band repeated at the start, as script 8 does
            pad = np.repeat(lu[:1], self.years - lu.shape[0], axis=0)
            lu = np.concatenate([pad, lu], axis=0)
        return r, lu, 0

    def last_land_use(self, window: Window) -> np.ndarray:
        """(h * w) classes of the last warm-up year as stored (nodata as stored): which pixels
        are modelled. In the raster's buffer, overwritten by its next read."""
        r, band = self._last_land_use_band()
        return r.read_raw(window, [band]).reshape(-1)

    def _last_land_use_band(self) -> tuple[Raster, int]:
        """The raster and band position of the last warm-up year's land use."""
        if self.config.layout == "fao":
            return self.rasters["warmup_stack"], FAO_LAND_USE_BAND + self.years - 1
        r = self.rasters["land_use"]
        return r, r.count - 1

    def fix_of(self, q: Quantity) -> Callable[[float], str]:
        """How to rescale quantity ``q`` by a factor, for a hint: the input's scale, or the
        stack's bands when the input holds other quantities too."""
        r = q.raster
        if sum(1 for x in self.quantities if x.raster is r) == 1:
            return scale_fix(r.key, r.spec.scale)
        return lambda factor: f"{q.name} in {r.path.name} x{factor:g} (rebuild the stack)"

    def _check_codes(
        self, raster: Raster, lu: np.ndarray, window: Window, offset: int
    ) -> np.ndarray:
        """Pixels with a land-use code absent from the table (any pixel)."""
        table = self.config.class_table
        bad = unknown_codes(table, lu)
        bad_px = np.asarray(bad.any(axis=0), dtype=bool)
        if bad_px.any() and self.config.run.invalid == "error":
            b, r, c = (int(v[0]) for v in np.nonzero(bad))
            band = raster.bands[min(b + offset, raster.count - 1)] if raster.count else b + 1
            where = pixel_location(self.master.dataset, window.row_off + r, window.col_off + c)
            raise InputError(
                f"{raster.path}: band {band}, {where}: "
                f"{unknown_code_message(table, float(lu[b, r, c]))}"
            )
        return bad_px

    def _missing_year_error(
        self,
        raster: Raster,
        lu_c: np.ndarray,
        flat: np.ndarray,
        missing: np.ndarray,
        window: Window,
        offset: int,
    ) -> None:
        """The error of the first pixel of a modelled class whose land use is nodata in an
        earlier warm-up year (``lu_c``: (Y, n) classes of the candidates ``flat``)."""
        i = int(np.flatnonzero(missing)[0])
        years = lu_c[:, i]
        b = int(np.flatnonzero(np.isnan(years))[0])
        pad = len(years) - (raster.count - offset)  # the oldest band repeated at the start
        band = raster.bands[offset + max(b - pad, 0)]
        pix = int(flat[i])
        where = pixel_location(
            self.master.dataset,
            int(window.row_off) + pix // int(window.width),
            int(window.col_off) + pix % int(window.width),
        )
        k = int(np.isnan(years).sum())
        raise InputError(
            f"{raster.path}: band {band}, {where}: land use nodata in {k} of {len(years)} "
            f"warm-up years of a pixel of class {int(years[-1])} in the last year (a pixel "
            "is valid in every band of a quantity, or nodata in all; [run] invalid = "
            '"mask" leaves such pixels out)'
        )

    # -- blocks ----------------------------------------------------------------------------
    def read_block(self, window: Window, threads: Optional[int] = None) -> Block:
        """The block of ``window``: its inputs read (side by side on up to ``threads`` threads,
        None or 0 for all cores), checked and gathered for the modelled pixels."""
        h, w = int(window.height), int(window.width)
        lu_raster, lu, offset = self._land_use(window)
        counts: Counter = Counter()
        bad_codes = self._check_codes(lu_raster, lu, window, offset)
        modelled = self.rule.candidates(lu[-1]) & ~bad_codes
        counts["invalid:land_use"] += int(bad_codes.sum())
        flat = np.flatnonzero(modelled.ravel())
        ok = np.ones(len(flat), dtype=bool)
        # a modelled pixel (class of the last year) without a class in an earlier year: nodata
        # in some bands of land use, invalid input as in any other quantity (METHOD.md 2)
        lu_c = lu.reshape(lu.shape[0], -1)[:, flat]
        missing_year = np.isnan(lu_c).any(axis=0)
        if missing_year.any():
            if self.config.run.invalid == "error":
                self._missing_year_error(lu_raster, lu_c, flat, missing_year, window, offset)
            counts["invalid:land_use"] += int(missing_year.sum())
        ok &= ~missing_year
        # every input read once, in its own type; the values of the pixels of modelled land use
        # gathered straight into the (n, bands) arrays of the core and checked in the same pass,
        # except the warm-up series: checked here, then read by the core where they lie
        raws, buffers = self._read_raw(window, threads)
        self._count_unmodelled(raws, lu[-1], modelled | bad_codes, counts)
        singles: dict[str, np.ndarray] = {}
        gathered: dict[str, np.ndarray] = {}
        cover: Optional[tuple[Quantity, np.ndarray, np.ndarray]] = None
        for q in self.quantities:
            raw = raws[q.name]
            if q.in_place:  # checked here, read by the core
                lo, hi, _ = self.limits[q.kind]
                status, band = q.raster.gather(raw, flat, q.float32, check=(lo, hi))
                ok &= self._verdict(q, status, band, raw, flat, window, counts)
            elif len(q.bands) == 1:
                values = q.raster.gather(raw, flat, q.float32)
                ok &= self._valid(q, values, flat, window, counts)
                singles[q.name] = values
            else:
                lo, hi, _ = self.limits[q.kind]
                buf = self._take(q.name, h * w * len(q.bands))
                buffers[q.name] = buf
                out = buf[: len(flat) * len(q.bands)].reshape(len(flat), len(q.bands))
                status, band = q.raster.gather(raw, flat, q.float32, out=out, check=(lo, hi))
                if q.name == "cover":  # checked once the spin-up class is read
                    cover = (q, status, band)
                else:
                    ok &= self._verdict(q, status, band, raw, flat, window, counts)
                gathered[q.name] = out
        if cover is not None:  # pixels without cover may take their classes' default cover
            q, status, band = cover
            spinup = singles["spinup_land_use"][0] if "spinup_land_use" in singles else None
            status = self.rule.class_cover(status, lu_c, spinup, counts)
            ok &= self._verdict(q, status, band, raws[q.name], flat, window, counts)
        if "spinup_land_use" in singles and self.config.run.mode != "fao-v1.2":
            q = next(q for q in self.quantities if q.name == "spinup_land_use")
            ok = spinup_classes(
                self.config.class_table,
                singles[q.name][0],
                ok,
                lambda i: self._where(q, flat, window, i, 0),
                self.config.run.invalid,
                counts,
            )
        ok, bits = self.rule.keep(singles, ok, counts)
        keep = flat[ok]
        n = len(keep)
        block = Block(
            window=window,
            rows=keep // w,
            cols=keep % w,
            land_use=np.full((h, w), LAND_USE_NODATA, dtype=np.uint8),
            counts=counts,
            _buffers=buffers,
            _pool=self._pool,
        )
        block.exclusion = bits[ok]
        lu_keep = lu_c[:, ok].T.astype(np.uint8)  # (n, Y)
        block.land_use.ravel()[keep] = lu_keep[:, -1]
        # the arrays of the core: as gathered when every pixel is kept, else the kept pixels
        # gathered again from the window's values
        data: dict[str, Union[np.ndarray, WindowBands]] = {}
        every = n == len(flat)
        for q in self.quantities:
            if q.in_place:
                data[q.name] = WindowBands(
                    raws[q.name],
                    keep.astype(np.int64),
                    q.raster.nodata_value,
                    float(q.raster.spec.scale),
                    float(q.raster.spec.offset),
                    q.float32,
                )
            elif len(q.bands) == 1:
                data[q.name] = singles.pop(q.name)[0, ok][:, None]
            elif every:
                data[q.name] = gathered.pop(q.name)
            else:  # into the same buffer (the values of every pixel are not needed any more)
                del gathered[q.name]
                out = buffers[q.name][: n * len(q.bands)].reshape(n, len(q.bands))
                q.raster.gather(raws[q.name], keep, q.float32, out=out)
                data[q.name] = out
        del raws
        block.values = data
        block.classes = lu_keep
        # the pixel's position in the grid seeds its Monte Carlo draws
        width = int(self.master.dataset.width)
        block.pixel_id = (
            (block.rows.astype(np.uint64) + np.uint64(window.row_off)) * np.uint64(width)
            + block.cols.astype(np.uint64)
            + np.uint64(window.col_off)
        )
        for c, k in zip(*np.unique(lu_keep[:, -1], return_counts=True)):
            counts[f"modelled:class_{int(c)}"] += int(k)
        counts["modelled"] += int(ok.sum())
        return block

    def _count_unmodelled(
        self, raws: Mapping[str, np.ndarray], last: np.ndarray, seen: np.ndarray, counts: Counter
    ) -> None:
        """Count the pixels of the area (SOC has a value) that no modelled class of the last
        warm-up year covers (``seen``: candidates and pixels of codes outside the table,
        counted apart): ``area:no_land_use`` (nodata: a land-use raster covering part of the
        area) and ``area:class_N`` (a class outside ``[classes] modelled``)."""
        others = np.flatnonzero(~seen.ravel())
        if not others.size:
            return
        q = next(q for q in self.quantities if q.name == "soc")
        area = ~np.isnan(q.raster.gather(raws["soc"], others)[0])
        classes = last.reshape(-1)[others[area]]
        none = np.isnan(classes)
        counts["area:no_land_use"] += int(none.sum())
        for c, k in zip(*np.unique(classes[~none], return_counts=True)):
            counts[f"area:class_{int(c)}"] += int(k)

    def area_classes(self, window: Window, counts: Counter) -> None:
        """Count the pixels of ``window`` where SOC has a value and whose class of the last
        warm-up year is not a modelled one, as :meth:`read_block` does (``area:no_land_use``,
        ``area:class_N``), reading only the SOC and that land-use band (an area where nothing
        is modelled: what its land use holds)."""
        r, band = self._last_land_use_band()
        last = r.read(window, [band])[0]
        q = next(q for q in self.quantities if q.name == "soc")
        raw = q.raster.read_raw(window, [q.bands[0]])
        self._count_unmodelled({"soc": raw}, last, self.rule.candidates(last), counts)

    def land_use_source(self) -> str:
        """The file and band of the last warm-up year's land use (which pixels are modelled),
        for messages."""
        r, band = self._last_land_use_band()
        return f"{r.path.name} (band {r.bands[band]}, {WARMUP_START + self.years})"

    def _band_bytes(self, r: Raster) -> float:
        """Bytes a band of ``r`` takes in its file (compressed as stored): what reading one of
        its bands costs, relative to the other inputs."""
        size = self._file_bytes.get(r.key)
        if size is None:
            size = self._file_bytes[r.key] = r.path.stat().st_size / max(1, r.dataset.count)
        return size

    @staticmethod
    def _band_split(r: Raster) -> bool:
        """Whether parts of ``r``'s bands can be read apart without decoding anything twice:
        a band's blocks hold that band alone (band-interleaved, or one band)."""
        return r.dataset.count == 1 or r.dataset.interleaving != Interleaving.pixel

    def _take(self, name: str, size: int, dtype: Optional[np.dtype] = None) -> np.ndarray:
        """A buffer of at least ``size`` values of ``dtype`` for ``name`` (from the pool)."""
        dtype = np.dtype(np.float64) if dtype is None else dtype
        spare = self._pool.get(name)
        buf = spare.pop() if spare else None
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = np.empty(size, dtype=dtype)
        return buf

    def _read_raw(
        self, window: Window, threads: Optional[int] = None
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Raw (bands, h * w) values of every quantity: each input read once (the bands of all
        its quantities), on up to ``threads`` threads: the inputs side by side, and the bands
        of a large band-interleaved input in parts on handles of their own
        (:func:`read_parts`: the largest input alone would keep one core decoding while the
        other has finished). An input with a quantity the core reads in place is read into a
        buffer of the block's own (returned too, by name, for the pool: the next block is read
        while this one computes); the others into the input's reused buffer."""
        by_raster: dict[str, list[Quantity]] = {}
        for q in self.quantities:
            by_raster.setdefault(q.raster.key, []).append(q)
        h, w = int(window.height), int(window.width)
        buffers: dict[str, np.ndarray] = {}
        # per input: its quantities, bands, the (bands, h * w [+ pad]) values and the
        # (bands, h, w) view they are read into
        reads: list[tuple[list[Quantity], list[int], np.ndarray, np.ndarray]] = []
        for qs in by_raster.values():
            r = qs[0].raster
            bands = sorted({b for q in qs for b in q.bands})
            if any(q.in_place for q in qs):
                size = len(bands) * (h * w + _pad(r.dtype))
                buf = self._take(f"raw:{r.key}", size, r.dtype)
                buffers[f"raw:{r.key}"] = buf
                # rows one cache line longer than the window: the core reads a pixel's months
                # a row apart, and rows of a power-of-two size would all fall in the same
                # cache sets
                raw = buf[:size].reshape(len(bands), -1)
                into = raw[:, : h * w].reshape(len(bands), h, w)
            else:
                into = r.raw_buffer(window, len(bands))
                raw = into.reshape(len(bands), -1)
            reads.append((qs, bands, raw, into))

        workers = threads or os.cpu_count() or 1
        parts = read_parts(
            [len(b) * self._band_bytes(qs[0].raster) for qs, b, _, _ in reads],
            [len(b) if self._band_split(qs[0].raster) else 1 for qs, b, _, _ in reads],
            [len(b) for _, b, _, _ in reads],
            workers,
        )
        for i, handles in Counter(i for i, _, _, _ in parts).items():
            reads[i][0][0].raster.open_handles(handles)

        def read(part: tuple[int, int, int, int]) -> None:
            i, handle, a, b = part
            qs, bands, _, into = reads[i]
            qs[0].raster.read_raw_into(window, bands[a:b], into[a:b], handle)

        workers = min(workers, len(parts))
        if workers > 1:
            if self._readers is None or self._reader_count != workers:
                if self._readers is not None:
                    self._readers.shutdown()
                self._readers = ThreadPoolExecutor(workers, thread_name_prefix="gsocseq-read")
                self._reader_count = workers
            list(self._readers.map(read, parts))
        else:
            for part in parts:
                read(part)
        results = [(qs, bands, raw) for qs, bands, raw, _ in reads]
        out: dict[str, np.ndarray] = {}
        for qs, bands, raw in results:
            row = {b: i for i, b in enumerate(bands)}
            for q in qs:
                rows = [row[b] for b in q.bands]
                if rows == list(range(rows[0], rows[0] + len(rows))):
                    out[q.name] = raw[rows[0] : rows[0] + len(rows)]
                else:  # pragma: no cover - bands of a quantity are consecutive in both layouts
                    out[q.name] = np.ascontiguousarray(raw[rows])
        return out, buffers

    def _valid(
        self, q: Quantity, values: np.ndarray, flat: np.ndarray, window: Window, counts: Counter
    ) -> np.ndarray:
        def where(i: int, b: int) -> str:
            return self._where(q, flat, window, i, b)

        return check_values(
            q.name,
            q.kind,
            values,
            where,
            self.config.run.invalid,
            counts,
            scale_note(q.raster.spec.scale),
            self.limits,
            self.fix_of(q),
            nodata_ok=q.name in self.optional,
        )

    def _verdict(
        self,
        q: Quantity,
        status: np.ndarray,
        band: np.ndarray,
        raw: np.ndarray,
        flat: np.ndarray,
        window: Window,
        counts: Counter,
    ) -> np.ndarray:
        """:meth:`_valid` from the checks made while gathering (the values of a pixel in error
        are gathered again for the message)."""

        def where(i: int, b: int) -> str:
            return self._where(q, flat, window, i, b)

        def values(i: int) -> np.ndarray:
            return q.raster.gather(raw, flat[i : i + 1], q.float32)[:, 0]

        note = scale_note(q.raster.spec.scale)
        invalid = self.config.run.invalid
        return apply_checks(
            q.name,
            q.kind,
            status,
            band,
            values,
            where,
            invalid,
            counts,
            note,
            self.limits,
            self.fix_of(q),
            nodata_ok=q.name in self.optional,
        )

    def spinup_location(
        self, window: Window, row: int, col: int, name: str = "spinup_temperature"
    ) -> str:
        """Where the pixel at ``row``, ``col`` of ``window`` is, for an error about its spin-up
        (no equilibrium: the spin-up temperature raster; no soil water: ``name`` silt or
        organic_carbon): the raster of the input ``name`` and the pixel's position."""
        q = next(q for q in self.quantities if q.name == name)
        loc = pixel_location(
            self.master.dataset, int(window.row_off) + row, int(window.col_off) + col
        )
        return f"{q.raster.path}: {loc}"

    def _where(self, q: Quantity, flat: np.ndarray, window: Window, i: int, b: int) -> str:
        pix = int(flat[i])
        row = int(window.row_off) + pix // int(window.width)
        col = int(window.col_off) + pix % int(window.width)
        loc = pixel_location(self.master.dataset, row, col)
        return f"{q.raster.path}: band {q.raster.bands[q.bands[b]]}, {loc}"

    def drop_buffers(self) -> None:
        """Free the buffers kept for the blocks to come (the last block is read: the memory
        serves the conversion of the layers)."""
        self._pool.clear()
        for r in self.rasters.values():
            r.drop_buffer()

    def close(self) -> None:
        readers = getattr(self, "_readers", None)
        if readers is not None:
            readers.shutdown()
            self._readers = None
        for r in self.rasters.values():
            r.close()

    def __enter__(self) -> Inputs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_parts(
    weights: Sequence[float], max_parts: Sequence[int], counts: Sequence[int], workers: int
) -> list[tuple[int, int, int, int]]:
    """How the bands of a block's inputs are read on ``workers`` threads: (input, handle,
    first band, end band) parts, the heaviest first (a pool of threads then takes them
    longest first). ``weights[i]`` is what reading input ``i`` costs (its bytes), ``counts[i]``
    its bands, ``max_parts[i]`` the parts it may be cut in (1: read whole). An input heavier
    than a third of a thread's share is cut into consecutive ranges of bands of about that
    weight, up to two parts per thread, each read on a handle of its own (0, 1, ...)."""
    if workers <= 1:
        return [(i, 0, 0, n) for i, n in enumerate(counts)]
    total = float(sum(weights))
    share = total / (3 * workers)
    parts: list[tuple[float, int, int, int, int]] = []
    for i, (weight, most, n) in enumerate(zip(weights, max_parts, counts)):
        k = 1 if share <= 0 else max(1, min(most, n, 2 * workers, math.ceil(weight / share)))
        for j in range(k):
            a, b = n * j // k, n * (j + 1) // k
            parts.append((weight * (b - a) / max(1, n), i, j, a, b))
    parts.sort(key=lambda p: (-p[0], p[1], p[2]))
    return [(i, j, a, b) for _, i, j, a, b in parts]


def _pad(dtype: np.dtype) -> int:
    """Values in a cache line (64 bytes) of ``dtype``."""
    return 64 // np.dtype(dtype).itemsize


def scale_note(scale: float) -> str:
    return f" after scale {scale:g}" if scale != 1 else ""


def range_message(
    where: str,
    name: str,
    kind: str,
    value: float,
    note: str,
    bounds: Limits,
    fix: Optional[Callable[[float], str]] = None,
    seen: Optional[Distribution] = None,
    nodata: str = RASTER_NODATA,
) -> str:
    """ "{where}: clay = 150, expected 0 to 100 %: g/kg? ..." for a value beyond the plausible
    range of ``kind`` (with the likely unit mistake when there is one, judged on every value
    ``seen`` when given)."""
    lo, hi, unit = bounds[kind]
    expected = f"{lo:g} or more" if hi == INF else f"{lo:g} to {hi:g}"
    text = f"{where}: {name} = {value:g}{note}, expected {expected} {unit}".rstrip()
    text += bound_note(kind, value)
    likely = hint(kind, value, fix or scale_fix(name, 1.0), lo, hi, seen, nodata)
    return f"{text}: {likely}" if likely else text


def unknown_codes(table: ClassTable, lu: np.ndarray) -> np.ndarray:
    """Where the land-use codes ``lu`` (any shape, float, NaN for nodata) are absent from the
    class ``table``: not whole numbers (2.5), below 0, beyond its largest code, or a code it
    leaves out."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(lu) & ((lu != np.round(lu)) | (lu < 0) | (lu > table.max_code))
        if not table.known[: table.max_code + 1].all():  # codes the table leaves out
            codes = np.where(bad | np.isnan(lu), 0, lu).astype(np.intp)
            bad |= ~table.known[codes]
    return bad


def unknown_code_message(table: ClassTable, code: float) -> str:
    """What is wrong with a land-use ``code`` that :func:`unknown_codes` found. A code near a
    whole number is written in full (2.0000002, not "2", a class of the table), with the likely
    cause."""
    if float(code).is_integer():
        return (
            f"land-use code {code:g} is not in the FAO class table (0-{table.max_code}: classes "
            "0-13 and the configuration's [classes.N]; convert land-cover codes with gsocseq "
            "prepare)"
        )
    return (
        f"land-use code {float(code)!r} is not in the FAO class table (not a whole number: a "
        "land-use raster resampled other than by nearest neighbour or majority? gsocseq "
        "prepare puts land cover on the grid by majority)"
    )


def spinup_classes(
    table: ClassTable,
    cls: np.ndarray,
    ok: np.ndarray,
    where: Callable[[int], str],
    invalid: str,
    counts: Counter,
) -> np.ndarray:
    """Of the pixels ``ok``, those whose given spin-up class (``spinup_land_use``, (n,) codes,
    NaN for nodata) can start a spin-up: a class of ``table`` with coefficients (its DPM/RPM
    ratio and NPP coefficient). Code 0 ("no data" in the ESA table): not modelled, counted. A
    class without coefficients (1 artificial, 9 bare soil, ...) or a code the table lacks
    (2.5): an :class:`InputError` naming ``where(pixel)``, or with ``invalid = "mask"`` not
    modelled and counted (their results were NaN with exit 0; 2.5 was read as class 2)."""
    with np.errstate(invalid="ignore"):
        zero = ok & (cls == 0)
    counts["not modelled:spinup_land_use_0"] += int(zero.sum())
    ok = ok & ~zero
    unknown = unknown_codes(table, cls)
    codes = np.where(np.isnan(cls) | unknown, 0, cls).astype(np.intp)
    bad = ok & ~np.isnan(cls) & (unknown | ~np.isin(codes, table.modellable))
    if bad.any():
        if invalid == "error":
            i = int(np.flatnonzero(bad)[0])
            code = float(cls[i])
            what = (
                unknown_code_message(table, code)
                if unknown[i]
                else f"spin-up class {code:g} has no coefficients (the spin-up needs its DPM/RPM "
                f"ratio and NPP coefficient; classes with coefficients: "
                f"{', '.join(map(str, table.modellable))})"
            )
            raise InputError(f"{where(i)}: {what}")
        counts["invalid:spinup_land_use"] += int(bad.sum())
    return ok & ~bad


def check_values(
    name: str,
    kind: str,
    values: np.ndarray,
    where: Callable[[int, int], str],
    invalid: str,
    counts: Counter,
    note: str = "",
    bounds: Optional[Limits] = None,
    fix: Optional[Callable[[float], str]] = None,
    nodata: str = RASTER_NODATA,
    nodata_ok: bool = False,
) -> np.ndarray:
    """The invalid-input rule for one quantity, (bands, n) values: returns the usable pixels.

    Nodata in every band: not modelled (counted). Nodata in some bands only, +-inf, or a finite
    value outside the plausible range: an :class:`InputError` naming ``where(pixel, band)``, or
    with ``invalid == "mask"`` not modelled and counted.
    """
    bounds = RANGES if bounds is None else bounds
    lo, hi, _ = bounds[kind]
    status, band = _core.check_pixels(np.ascontiguousarray(values, dtype=np.float64), lo, hi)
    return apply_checks(
        name,
        kind,
        status,
        band,
        lambda i: values[:, i],
        where,
        invalid,
        counts,
        note,
        bounds,
        fix,
        nodata,
        nodata_ok,
    )


def apply_checks(
    name: str,
    kind: str,
    status: np.ndarray,
    band: np.ndarray,
    pixel_values: Callable[[int], np.ndarray],
    where: Callable[[int, int], str],
    invalid: str,
    counts: Counter,
    note: str = "",
    bounds: Optional[Limits] = None,
    fix: Optional[Callable[[float], str]] = None,
    nodata: str = RASTER_NODATA,
    nodata_ok: bool = False,
) -> np.ndarray:
    """:func:`check_values` from the per-pixel (status, band) of the checks (``_core``);
    ``pixel_values(i)`` gives the values of pixel i in every band (for an error message).
    ``nodata_ok``: nodata in every band is a value (a practice raster's: BAU's), not a reason
    to leave the pixel out."""
    bounds = RANGES if bounds is None else bounds
    all_nan = (status == 1) & (not nodata_ok)
    problem = status >= 2
    counts[f"nodata:{name}"] += int(all_nan.sum())
    if problem.any():
        if invalid == "error":
            i = int(np.flatnonzero(problem)[0])
            b = int(band[i])
            v = pixel_values(i)
            if status[i] == 2:
                k = int(np.isnan(v).sum())
                raise InputError(
                    f"{where(i, b)}: nodata in {k} of {len(v)} bands of {name} (a pixel "
                    "is valid in every band of a quantity, or nodata in all)"
                )
            raise InputError(
                range_message(where(i, b), name, kind, v[b], note, bounds, fix, None, nodata)
            )
        counts[f"invalid:{name}"] += int(problem.sum())
    return ~(all_nan | problem)
