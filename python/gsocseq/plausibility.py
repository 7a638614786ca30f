"""Unit plausibility (METHOD.md section 2): what was read of each input quantity, checked
against the ``[checks]`` thresholds before any computation, with a hint naming the likely
mistake.

Value ranges cannot catch a wrong unit: SOC in kg C/m2 is a plausible number of t C/ha, only
10x too small everywhere. So a run, ``validate``, ``gsocseq site`` and ``gsocseq prepare`` also
look at the distribution of every quantity over the modelled pixels: its median, its range and,
for monthly climate, the median annual mean (temperature) or sum (precipitation, PET).

Medians with fixed memory: a :class:`Distribution` counts values in a fixed histogram of
65,536 bins, the top 16 bits of each value's float32 pattern (counted by the core,
``_core.count_values``, the core's ``input::distribution``). Every power of two is cut into
128 bins of equal width, whatever the scale of the values, so a quantile is known within
0.4 % (half a bin) and the exact minimum and maximum are kept beside it: enough to decide
thresholds that a unit error misses by a factor of 10, in 512 KiB per quantity for any map size
(an exact median of 10^7 pixels x 240 months would hold every value). Which pixels are read is
the business of :mod:`gsocseq.survey`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Literal, Optional

import numpy as np

from gsocseq import _core
from gsocseq.config import Checks, Config
from gsocseq.errors import InputError

_BINS = _core.HISTOGRAM_BINS
# bins in the order of their values: negative floats (sign bit set) from the most negative
# (largest pattern) up to -0, then +0 up to the largest positive
_ORDER = np.concatenate([np.arange(_BINS - 1, _BINS // 2 - 1, -1), np.arange(0, _BINS // 2)])


class Distribution:
    """Count, exact minimum and maximum, and quantiles within 0.4 % of a stream of values, in
    fixed memory (see the module's docstring)."""

    def __init__(self) -> None:
        self.counts = np.zeros(_BINS, dtype=np.int64)
        self.count = 0
        self.low = math.inf
        self.high = -math.inf

    def add(self, values: np.ndarray) -> None:
        """Count the finite values of ``values`` (NaN and +-inf are not counted)."""
        v = np.asarray(values, dtype=np.float64).reshape(-1, 1)
        if v.size:
            self.merge(_core.count_values(v)[0])

    def merge(self, counted: tuple[np.ndarray, int, float, float]) -> None:
        """Add what the core counted (``_core.count_values``: the bins' counts, the count, the
        minimum and the maximum)."""
        counts, count, low, high = counted
        if not count:
            return
        self.counts += counts.view(np.int64)
        self.count += int(count)
        self.low = min(self.low, float(low))
        self.high = max(self.high, float(high))

    def quantile(self, q: float) -> float:
        """The value of rank q (0..1), the middle of its bin (NaN when empty)."""
        if not self.count:
            return math.nan
        if q <= 0:
            return self.low
        if q >= 1:
            return self.high
        cum = np.cumsum(self.counts[_ORDER])
        key = int(_ORDER[int(np.searchsorted(cum, math.floor(q * (self.count - 1)) + 1))])
        if key & 0x7F80 == 0:
            # the bin of +-0 and the subnormal numbers (below 1.2e-38): 0, not the middle of
            # the bin (4.59e-41 in a message where the values are zeros)
            return min(max(0.0, self.low), self.high)
        edges = np.array([key << 16, (key << 16) | 0xFFFF], dtype=np.uint32).view(np.float32)
        mid = float(edges.astype(np.float64).mean())
        if not math.isfinite(mid):
            mid = float(edges[0])
        return min(max(mid, self.low), self.high)

    @property
    def median(self) -> float:
        return self.quantile(0.5)


@dataclass
class Reading:
    """What was read of one input quantity.

    ``values``: every value read (the monthly values of a monthly quantity); ``annual``: per
    pixel, the mean (temperature) or sum (precipitation, PET) of 12 months, for 12-band groups;
    ``first_beyond``: (value, message) of the first value outside the plausible range seen,
    the message written when it is raised (``message(values)``: the hint looks at every value
    read, e.g. x100 rather than x10); ``fix(factor)``: how the user rescales this input,
    e.g. "set scale = 0.1 on input 'warmup_pet'"."""

    name: str
    kind: str
    source: str
    unit: str
    read: str  # which pixels: "every modelled pixel", "4 of 25 blocks, one year each", ...
    fix: Callable[[float], str]
    values: Distribution = field(default_factory=Distribution)
    annual: Optional[Distribution] = None
    pixels: int = 0
    first_beyond: Optional[tuple[float, Callable[[Distribution], str]]] = None
    #: a 12*Y-band series' mean of each band over the pixels of one window (for the order of
    #: its bands), or None
    band_means: Optional[np.ndarray] = None
    #: an NPP reference's ratio to the warm-up's own NPP at the surveyed pixels (see
    #: :func:`gsocseq.survey`), and what that NPP is; None when nothing to compare
    warmup_ratio: Optional[Distribution] = None
    warmup_npp: str = ""

    @staticmethod
    def annual_for(kind: str, bands: int) -> Optional[Distribution]:
        """A distribution of annual figures for ``bands`` monthly values of ``kind``, or None."""
        return Distribution() if kind in ANNUAL_KINDS and bands % 12 == 0 else None

    def add(
        self,
        values: np.ndarray,
        status: np.ndarray,
        band: np.ndarray,
        beyond: Callable[[int, int, float, Distribution], str],
    ) -> None:
        """Count the (n, bands) values of n pixels, with their status and first band concerned
        from the invalid-input checks (``_core``: 0 valid, 1 nodata in every band, 2 in some,
        3 +-inf, 4 out of range). Nodata and +-inf are not counted. Whole years of 12 bands
        give the annual figures. The first value out of range (or +-inf) seen is kept,
        described by ``beyond(band, pixel, value, values)`` when it is raised (``values``:
        the distribution of everything read by then)."""
        n = len(status)
        if not n:
            return
        every = bool(np.all(status == 0))
        annual: Optional[Literal["mean", "sum"]] = None
        if self.annual is not None and values.shape[1] % 12 == 0:
            annual = "mean" if self.kind == "temperature" else "sum"
        # every finite value, and each valid pixel's years, counted by the core in one pass
        counted, years = _core.count_values(values, status, annual)
        self.values.merge(counted)
        if self.annual is not None and years is not None:
            self.annual.merge(years)
        self.pixels += n if every else int(np.count_nonzero(status != 1))
        if self.first_beyond is None and not every:
            culprits = np.flatnonzero(status >= 3)
            if len(culprits):
                i = int(culprits[0])
                b = int(band[i])
                v = float(values[i, b])
                self.first_beyond = (v, lambda seen: beyond(b, i, v, seen))

    def summary(self) -> str:
        """ "median 67.6 t C/ha, 20.1 to 119.8 (1,004,663 pixels: every modelled pixel)"."""
        v = self.values
        if not v.count:
            return f"no valid values ({self.read})"
        unit = DISPLAY_UNITS.get(self.kind, self.unit)
        text = f"median {fmt(v.median)} {unit}, range {fmt(v.low)} to {fmt(v.high)} {unit}"
        if self.annual is not None and self.annual.count:
            what = "mean" if self.kind == "temperature" else "sum"
            unit = self.unit.replace("/month", "")
            text += f"; median annual {what} {fmt(self.annual.median)} {unit}"
        return f"{text} ({self.pixels:,} pixels: {self.read})"


def fmt(v: float) -> str:
    """A number for a message: 3 significant digits, thousands separated (1,996; 6.8; 1e+30)."""
    if math.isnan(v) or math.isinf(v):
        return str(v)
    a = abs(v)
    if a == 0:
        return "0"
    if 1000 <= a < 1e7:
        return f"{v:,.0f}"
    return f"{v:.3g}"


#: kinds with an annual figure per pixel: the mean (temperature) or the sum of 12 months
ANNUAL_KINDS = ("temperature", "precipitation", "pet")


def is_series(bands: int) -> bool:
    """Whether ``bands`` monthly bands are a series of whole years (12*Y, Y >= 2), stored year
    by year: band 12*(y-1)+m is month m of year y."""
    return bands > 12 and bands % 12 == 0


#: short units of the quantities without one, for the summaries
DISPLAY_UNITS = {"cover": "(cover factor)", "dpm_rpm": "(DPM/RPM)", "class": "(FAO class)"}

#: the [checks] key behind the upper (or lower) bound of a kind's plausible range
BOUND_KEYS = {
    "temperature": ("temperature_min", "temperature_max"),
    "precipitation": (None, "precipitation_max"),
    "pet": (None, "pet_max"),
    "npp": (None, "npp_max"),
}


#: the likely unit mistakes of a kind: (factor that fixes the values, what the mistake is)
MISTAKES = {
    "soc": (
        (0.01, "g C/m2? GSOCseq needs t C/ha (x0.01"),
        (0.001, "kg C/ha? GSOCseq needs t C/ha (x0.001"),
    ),
    "clay": ((0.1, "g/kg? GSOCseq needs % (x0.1"),),
    "temperature": ((0.1, "stored x10, as TerraClimate does? (x0.1"),),
    "pet": ((0.1, "TerraClimate stores PET x10 (x0.1"),),
    "precipitation": (
        (0.1, "not mm/month? stored x10? (x0.1"),
        (0.01, "not mm/month? stored x100? (x0.01"),
    ),
    "npp": ((0.01, "g C/m2/yr? GSOCseq needs t C/ha/yr (x0.01"),),
    "silt": ((0.1, "g/kg (SoilGrids)? GSOCseq needs % (x0.1"),),
    "bulk_density": (
        (0.01, "cg/cm3 (SoilGrids bdod)? GSOCseq needs g/cm3 (x0.01"),
        (0.001, "kg/m3? GSOCseq needs g/cm3 (x0.001"),
    ),
    "organic_carbon": (
        (0.01, "dg/kg (SoilGrids soc)? GSOCseq needs % (x0.01"),
        (0.1, "g/kg? GSOCseq needs % (x0.1"),
    ),
}


#: values that rasters (and tables) commonly hold for "no data": beyond the range of every
#: quantity but an integer type's limits, the -9999 of many GIS tools, float32's lowest
NODATA_VALUES = (-9999.0, -999.0, -99.0, -32768.0, -32767.0, 32767.0, 65535.0, -128.0, 255.0)
#: the advice for an undeclared nodata value in a raster
RASTER_NODATA = (
    'declare the file\'s nodata value, e.g. gdal_edit -a_nodata; or [run] invalid = "mask"'
)


def hint(
    kind: str,
    value: float,
    fix: Callable[[float], str],
    lo: float,
    hi: float,
    seen: Optional[Distribution] = None,
    nodata: str = RASTER_NODATA,
) -> str:
    """The likely mistake behind ``value`` of ``kind`` outside its plausible range [lo, hi]: a
    unit whose factor brings the value into the range (of those, first one that brings every
    value ``seen`` into it: x100 rather than x10 for precipitation read 40 to 38,490), an
    undeclared nodata value (-9999, 65535, 1e30, ...; ``nodata``: how to declare it) or a
    broken file ("" when none is likely, e.g. a negative precipitation)."""
    if not math.isfinite(value):
        return ""
    if kind == "cover" and 1 < value <= 100:
        return "NDVI share in %? The cover factor is c = 1 - 0.4 P_veg (0.6 covered .. 1.0 bare)"
    if kind == "cover" and 0 <= value < 0.6:
        return "the vegetated share P_veg instead of the cover factor? c = 1 - 0.4 P_veg"
    if value in NODATA_VALUES or abs(value) >= 1e6 or value <= -3.4e38:
        return f"an undeclared nodata value or a broken file? ({nodata})"
    fitting = [(f, text) for f, text in MISTAKES.get(kind, ()) if lo <= value * f <= hi]
    every = []
    if seen is not None and seen.count:
        every = [(f, t) for f, t in fitting if lo <= seen.low * f and seen.high * f <= hi]
    if not fitting:
        return ""
    # the units that fit every value read (x10 and x100 may both), else the first for this one
    likely = " or ".join(f"{t}: {fix(f)})" for f, t in every) if every else ""
    factor, text = fitting[0]
    likely = likely or f"{text}: {fix(factor)})"
    kelvin = ""
    if kind == "temperature" and lo <= value - 273.15 <= hi:
        kelvin = "; or kelvin? (offset = -273.15)"
    right = ""
    key = _bound_key(kind, value)
    if key and abs(value) < 10 * max(abs(lo), abs(hi)):  # near the bound: a real extreme?
        right = f"; if the value is right, {'lower' if value < lo else 'raise'} [checks] {key}"
    return f"{likely}{kelvin}{right}"


def _bound_key(kind: str, value: float) -> Optional[str]:
    """The [checks] key of the bound of ``kind`` that ``value`` crosses (None: a fixed bound)."""
    keys = BOUND_KEYS.get(kind)
    if keys is None or not math.isfinite(value):
        return None
    return keys[1] if value > 0 else keys[0]


def bound_note(kind: str, value: float) -> str:
    """ " ([checks] pet_max)" when the bound that ``value`` crosses is a [checks] threshold."""
    key = _bound_key(kind, value)
    return f" ([checks] {key})" if key else ""


def check(
    readings: list[Reading],
    checks: Checks,
    pointwise: bool = True,
    limits: Optional[Mapping[str, tuple[float, float, str]]] = None,
    depth: float = 30.0,
) -> None:
    """Raise an :class:`InputError` for the first implausible distribution (median checks of
    every quantity first: they name a wrong unit; then, with ``pointwise``, a value beyond its
    plausible range; then two inputs of one climate quantity far apart, ``[checks]
    period_ratio_max``), naming the source, what was read and the likely mistake. Without
    ``pointwise`` (``invalid = "mask"``: a value beyond its range is a pixel to mask) a median
    beyond the plausible range ``limits[kind]`` stops too: half the pixels beyond it is a wrong
    unit (NPP in g C/m2, cover in %), not pixels to mask. ``depth``: the layer's, cm (the
    organic carbon that the SOC stock and bulk density imply)."""
    for r in readings:
        problem = _median_problem(r, checks)
        if not problem and not pointwise and limits is not None and r.kind in limits:
            problem = _median_beyond(r, *limits[r.kind])
        if problem:
            raise InputError(f"{r.source}: {r.name} {problem}; read: {r.summary()}")
    if pointwise:
        for r in readings:
            if r.first_beyond is not None:
                raise InputError(f"{r.first_beyond[1](r.values)}; read: {r.summary()}")
    # last: a value beyond its range names its pixel and unit (kelvin?) better
    problem = (
        _period_problem(readings, checks)
        or _npp_problem(readings, checks)
        or _npp_reference_problem(readings, checks)
        or _order_problem(readings, checks)
        or _organic_carbon_problem(readings, checks, depth)
    )
    if problem:
        raise InputError(problem)


def check_config(
    readings: list[Reading],
    config: Config,
    limits: Optional[Mapping[str, tuple[float, float, str]]] = None,
) -> None:
    """:func:`check` under ``config``: its ``[checks]``, its rule for invalid values (a value
    beyond its range stops with ``invalid = "error"``) and its layer depth, cm."""
    check(
        readings,
        config.checks,
        pointwise=config.run.invalid == "error",
        limits=limits,
        depth=config.run.depth,
    )


def _median_beyond(r: Reading, lo: float, hi: float, unit: str) -> str:
    median = r.values.median
    if not r.values.count or lo <= median <= hi:
        return ""
    likely = hint(r.kind, median, r.fix, lo, hi, r.values)
    return (
        f"median {fmt(median)} is outside the plausible range {fmt(lo)} to {fmt(hi)} {unit}"
        f"{bound_note(r.kind, median)}: a wrong unit, not pixels to mask"
        + (f" ({likely})" if likely else "")
    )


#: the checks on a median: (kind, which median, [checks] key (``_min``: the median must not be
#: below it, ``_max``: not above), unit, the likely mistake, the factor that fixes it)
MEDIAN_CHECKS = (
    ("soc", "median", "soc_median_min", "t C/ha", "kg C/m2? GSOCseq needs t C/ha", 10.0),
    ("clay", "median", "clay_median_min", "%", "a fraction? GSOCseq needs %", 100.0),
    ("clay", "median", "clay_median_max", "%", "g/kg? GSOCseq needs %", 0.1),
    ("sand", "median", "sand_median_min", "%", "a fraction? GSOCseq needs %", 100.0),
    ("silt", "median", "silt_median_min", "%", "a fraction? GSOCseq needs %", 100.0),
    (
        "uncertainty",
        "median",
        "uncertainty_median_min",
        "%",
        "a fraction (0.2 for 20 %)? GSOCseq needs %",
        100.0,
    ),
    (
        "temperature",
        "median annual mean",
        "temperature_median_max",
        "degrees C",
        "stored x10, as TerraClimate does?",
        0.1,
    ),
    ("pet", "median annual sum", "pet_median_max", "mm", "TerraClimate stores PET x10", 0.1),
    (
        "precipitation",
        "median annual sum",
        "precipitation_median_min",
        "mm",
        "m? GSOCseq needs mm a month",
        1000.0,
    ),
    ("pet", "median annual sum", "pet_median_min", "mm", "m? GSOCseq needs mm a month", 1000.0),
    (
        "ec",
        "median",
        "ec_median_max",
        "dS/m",
        "uS/cm (x0.001) or mS/m (x0.01)? GSOCseq needs dS/m (the exclusion rule: EC > 4 dS/m)",
        0.001,
    ),
)


#: what else a median beyond a [checks] threshold may mean
OTHER_MISTAKES = {
    "soc_median_min": (
        "; or a concentration (% or g/kg) instead of a stock? t C/ha = g/kg x bulk density "
        "(g/cm3) x depth (cm) x 0.1 (x (1 - coarse fragments))"
    ),
}


#: a median annual sum of precipitation or PET (mm) at or above which "mm a day" (x30.4) is
#: more likely than "m" (x1000): a year of 1 m is 1 in m, 33 in mm a day
_PER_DAY_ABOVE = 5.0
#: days in a month on average: mm a day -> mm a month (about: months have 28 to 31 days)
_DAYS_PER_MONTH = 30.4


def _median_problem(r: Reading, c: Checks) -> str:
    for kind, which, key, unit, mistake, factor in MEDIAN_CHECKS:
        dist = r.values if which == "median" else r.annual
        if kind != r.kind or dist is None or not dist.count:
            continue
        median, limit = dist.median, getattr(c, key)
        below = key.endswith("_min")
        if key in ("precipitation_median_min", "pet_median_min") and median >= _PER_DAY_ABOVE:
            mistake = f"mm a day? GSOCseq needs mm a month, about {_DAYS_PER_MONTH:g} days each"
            factor = _DAYS_PER_MONTH
        if median < limit if below else median > limit:
            side = "below" if below else "above"
            text = (
                f"{which} {fmt(median)} {unit} is {side} {fmt(limit)} {unit} ([checks] {key}): "
                f"{mistake} (x{factor:g}: {r.fix(factor)})"
            )
            return text + OTHER_MISTAKES.get(key, "")
    return ""


#: median annual precipitation (mm) below which the periods are not compared: in a desert a
#: few showers more or less change it many times (precipitation_median_min still applies)
_DRY = 50.0


def _typical(r: Reading) -> float:
    """How large the values of a climate reading are, to compare two inputs of one quantity:
    the median annual sum (precipitation, PET), or the largest |value| of the 5 and 95 %
    quantiles of the monthly temperatures (their median may be near 0 degrees C). NaN when
    there is nothing to compare."""
    if r.kind == "temperature":
        if not r.values.count:
            return math.nan
        return max(abs(r.values.quantile(0.05)), abs(r.values.quantile(0.95)))
    if r.annual is None or not r.annual.count:
        return math.nan
    return r.annual.median


#: median warm-up NPP (t C/ha/yr) below which the NPP reference is not compared with it: MIAMI
#: NPP of a year of :data:`_DRY` mm, rain-limited (0.49). In a desert a few showers more or
#: less change the NPP of a period many times, as they change its precipitation
DRY_NPP = float(_core.miami_npp(np.array([30.0]), np.array([_DRY]))[0])


def _period_problem(readings: list[Reading], c: Checks) -> str:
    """A climate quantity whose inputs (the 1981-2000 means, the 2001-2020 series, the forward
    climate, ...) differ by more than ``[checks] period_ratio_max`` in their typical values:
    the climate of one place in two periods differs far less, so one of them has a wrong scale
    (a TerraClimate x0.1 applied twice, or to precipitation, which TerraClimate stores in mm)
    that each one's own range and median let pass. "" when none."""
    for kind in ANNUAL_KINDS:
        of_kind = [(r, _typical(r)) for r in readings if r.kind == kind]
        of_kind = [(r, t) for r, t in of_kind if t > 0]
        if len(of_kind) < 2 or (kind == "precipitation" and max(t for _, t in of_kind) < _DRY):
            continue  # nothing to compare; in a desert, years of 5 and 30 mm both happen
        # the reference: the middle one (of two, the first: the 1981-2000 means), and the
        # input farthest from it
        ref, ref_t = of_kind[0]
        if len(of_kind) > 2:
            ref, ref_t = sorted(of_kind, key=lambda rt: rt[1])[(len(of_kind) - 1) // 2]
        odd, odd_t = max(of_kind, key=lambda rt: abs(math.log(rt[1] / ref_t)))
        ratio = odd_t / ref_t
        if max(ratio, 1 / ratio) <= c.period_ratio_max:
            continue
        what = "largest |monthly mean| (5-95 %)" if kind == "temperature" else "median annual sum"
        unit = "degrees C" if kind == "temperature" else "mm"
        # the likely unit factor between them: x10 / x100 / x1000, or mm a day vs a month
        size = max(ratio, 1 / ratio)
        step = min((10.0, 100.0, 1000.0, _DAYS_PER_MONTH), key=lambda f: abs(math.log(size / f)))
        small, large = (ref, odd) if ratio > 1 else (odd, ref)
        fixes = [f"x{step:g} on {small.name}: {small.fix(step)}"]
        if step != _DAYS_PER_MONTH:  # mm a day: the smaller one, whichever it is
            fixes.append(f"x{1 / step:g} on {large.name}: {large.fix(1 / step)}")
        times = f"{fmt(ratio)} times" if ratio > 1 else f"1/{fmt(1 / ratio)} of"
        return (
            f"{odd.source}: {odd.name} reads {times} {ref.name} ({ref.source}): {what} "
            f"{fmt(odd_t)} vs {fmt(ref_t)} {unit}, beyond a factor of "
            f"{fmt(c.period_ratio_max)} ([checks] period_ratio_max). The climate of one area "
            "in two periods differs far less: one of them has a wrong unit or scale (e.g. "
            "TerraClimate's x0.1 applied twice, or to precipitation, stored in mm); "
            f"likely {' or '.join(fixes)}; read: {odd.name} {odd.summary()}; "
            f"{ref.name} {ref.summary()}"
        )
    return ""


def _npp_problem(readings: list[Reading], c: Checks) -> str:
    """A ``warmup_npp`` (the NPP of each warm-up year, of one source with ``npp_reference``: the
    warm-up inputs are C_eq NPP_y / NPP_ref) whose median is further than ``[checks]
    period_ratio_max`` from the reference's: one of them in another unit (kg C/m2/yr read as
    t C/ha/yr: every warm-up input 10 times too small, with exit 0). The NPP of one area in two
    periods differs far less. "" when none."""
    named = {r.name: r for r in readings if r.kind == "npp" and r.values.count}
    npp, ref = named.get("warmup_npp"), named.get("npp_reference")
    if npp is None or ref is None or not (npp.values.median > 0 and ref.values.median > 0):
        return ""
    ratio = npp.values.median / ref.values.median
    if max(ratio, 1 / ratio) <= c.period_ratio_max:
        return ""
    step = min((10.0, 0.1, 0.01, 0.5, 2.0), key=lambda f: abs(math.log(f * ratio)))
    times = f"{fmt(ratio)} times" if ratio > 1 else f"1/{fmt(1 / ratio)} of"
    return (
        f"{npp.source}: {npp.name} reads {times} {ref.name} ({ref.source}): median "
        f"{fmt(npp.values.median)} vs {fmt(ref.values.median)} t C/ha/yr, beyond a factor of "
        f"{fmt(c.period_ratio_max)} ([checks] period_ratio_max). The warm-up inputs are C_eq "
        "x NPP of the year / the reference NPP, so both must be of one source and unit (t C/ha/"
        "yr; kg C/m2/yr is x10, g C/m2/yr x0.01, t of dry matter x0.5); likely "
        f"x{step:g} on {npp.name}: {npp.fix(step)}; read: {npp.name} {npp.summary()}; "
        f"{ref.name} {ref.summary()}"
    )


#: what a ratio of an NPP reference to the warm-up's NPP far from 1 likely is: (the factor
#: that fixes the reference, the unit it was likely given in)
NPP_UNIT_MISTAKES = (
    (10.0, "kg C/m2/yr"),
    (0.01, "g C/m2/yr"),
    (0.5, "t DM/ha/yr (dry matter: x0.5 for carbon)"),
    (100.0, "a fraction of t C/ha/yr"),
    (0.1, "stored x10"),
    (2.0, "half of t C/ha/yr (carbon x0.5 applied twice?)"),
)


def _npp_reference_problem(readings: list[Reading], c: Checks) -> str:
    """An NPP reference raster (``npp_reference``, ``_min``, ``_max``) whose median ratio to
    the warm-up's own NPP at the surveyed pixels (MIAMI of the warm-up climate, or the mean of
    the ``warmup_npp`` rasters) is beyond ``[checks] npp_reference_ratio_max`` either way: the
    warm-up inputs are I_1 = C_eq NPP_1 / NPP_ref (METHOD.md section 4), so a reference in
    kg C/m2/yr (10x too small) makes every warm-up input 10x too large, with exit 0 (a T0 of
    261 t C/ha against a SOC map of 70). "" when none."""
    for r in readings:
        d = r.warmup_ratio
        if d is None or not d.count:
            continue
        ratio = d.median
        if not ratio > 0 or max(ratio, 1 / ratio) <= c.npp_reference_ratio_max:
            continue
        factor, unit = min(NPP_UNIT_MISTAKES, key=lambda fu: abs(math.log(fu[0] * ratio)))
        return (
            f"{r.source}: {r.name} reads {fmt(ratio)} times the warm-up's own NPP at the "
            f"modelled pixels (the median over {d.count:,} pixels of {r.name} / "
            f"{r.warmup_npp}, t C/ha/yr), beyond a factor of "
            f"{fmt(c.npp_reference_ratio_max)} ([checks] npp_reference_ratio_max). The "
            "warm-up inputs are C_eq x NPP of the year / the reference NPP, so the reference "
            "must be the same NPP of 1981-2000 in t C/ha/yr (kg C/m2/yr is x10, g C/m2/yr "
            f"x0.01, t of dry matter x0.5); likely {unit}: x{factor:g}: {r.fix(factor)}; if the "
            f"values are right, raise [checks] npp_reference_ratio_max; read: {r.summary()}"
        )
    return ""


def _organic_carbon_problem(readings: list[Reading], c: Checks, depth: float) -> str:
    """An organic carbon input (%) whose median is further than ``[checks]
    organic_carbon_ratio_max`` from the organic carbon that the SOC and bulk density inputs
    imply, SOC / (bulk density x depth) with their medians: a wrong unit within the plausible
    range (SoilGrids soc in dg/kg scaled x0.1 as g/kg: every value 10 times too large, OM up to
    the whole soil, the van Genuchten deficits wrong with exit 0). The two differ by the
    coarse fragments and the sources only (a factor below 2). "" when none."""
    first = {r.kind: r for r in reversed(readings) if r.values.count}
    oc, soc, bd = (first.get(k) for k in ("organic_carbon", "soc", "bulk_density"))
    if oc is None or soc is None or bd is None:
        return ""
    implied = soc.values.median / (bd.values.median * depth)
    given = oc.values.median
    if not (implied > 0 and given > 0):
        return ""
    ratio = given / implied
    if max(ratio, 1 / ratio) <= c.organic_carbon_ratio_max:
        return ""
    step = min((0.01, 0.1, 10.0, 100.0), key=lambda f: abs(math.log(f * ratio)))
    times = f"{fmt(ratio)} times" if ratio > 1 else f"1/{fmt(1 / ratio)} of"
    return (
        f"{oc.source}: {oc.name} reads {times} the organic carbon that the SOC and bulk "
        f"density inputs imply (median {fmt(given)} % against SOC / (bulk density x depth) = "
        f"{fmt(soc.values.median)} t C/ha / ({fmt(bd.values.median)} g/cm3 x {fmt(depth)} cm) "
        f"= {fmt(implied)} %), beyond a factor of {fmt(c.organic_carbon_ratio_max)} ([checks] "
        "organic_carbon_ratio_max): a wrong unit or scale (GSOCseq needs %; SoilGrids soc is "
        f"dg/kg: scale = 0.01, g/kg: scale = 0.1); likely x{step:g}: {oc.fix(step)}; or leave "
        f"organic_carbon out (the default is SOC / (bulk density x depth)); read: {oc.summary()}"
    )


#: the smallest variance (squared units) of a month's values across the years, read year by
#: year, that can tell the order of a series' bands: below it, every reading of the bands is
#: as good as another (a series that repeats one year, or constant)
_ORDER_NOISE = {"temperature": 0.01, "precipitation": 0.1, "pet": 0.1}


def series_order(means: np.ndarray) -> tuple[float, float]:
    """For the band means of a 12*Y-band series: (across years, within runs), the mean
    variance of each month's Y values read year by year (bands m, m+12, ...: small, the
    years' differences, when the file is stored year by year) and the mean variance of the
    12 runs of Y consecutive bands (what a file stored month by month, all years of January
    first, holds in one month: there small, and the seasons large across the years)."""
    years = len(means) // 12
    across_years = float(np.mean(np.var(means.reshape(years, 12), axis=0)))
    within_runs = float(np.mean(np.var(means.reshape(12, years), axis=1)))
    return across_years, within_runs


def _order_problem(readings: list[Reading], c: Checks) -> str:
    """A 12*Y-band climate series whose bands look stored month by month (bands 1..Y all
    January, ...) where gsocseq reads them year by year (bands 1..12 the first year): the
    values of one month read across the years vary more than ``[checks] series_order_ratio``
    times those of runs of Y consecutive bands. Read year by year, a year-by-year file's
    month varies only from year to year while runs of Y consecutive months cross the
    seasons; a month-by-month file is the other way round. "" when none (or the seasons are
    too weak to tell: then the order changes little)."""
    for r in readings:
        means = r.band_means
        if means is None or not is_series(len(means)) or not np.all(np.isfinite(means)):
            continue
        across_years, within_runs = series_order(means)
        if across_years < _ORDER_NOISE.get(r.kind, 0.0):
            continue
        if across_years <= c.series_order_ratio * within_runs:
            continue
        years = len(means) // 12
        unit = "degrees C" if r.kind == "temperature" else "mm"
        ratio = "infinitely many" if within_runs == 0 else f"{fmt(across_years / within_runs)}"
        return (
            f"{r.source}: {r.name} ({len(means)} bands) looks stored month by month (bands 1-"
            f"{years} all one month of the {years} years, ...), but gsocseq reads a series year "
            f"by year (bands 1-12 the months of the first year, 13-24 the second, ...): read "
            f"that way, each month's band means vary {ratio} times more across the years than "
            f"runs of {years} consecutive bands (variances {fmt(across_years)} and "
            f"{fmt(within_runs)} {unit} squared; beyond [checks] series_order_ratio = "
            f"{fmt(c.series_order_ratio)}). Reorder the bands year by year (month m of year y "
            f"is band {years}*(m-1)+y of this file: e.g. gdal_translate -b 1 -b {years + 1} "
            f"-b {2 * years + 1} ... -b {11 * years + 1} -b 2 -b {years + 2} ...); if the file "
            "is right, raise [checks] series_order_ratio"
        )
    return ""


def describe(readings: list[Reading]) -> list[str]:
    """One line per quantity: name, source and what was read."""
    width = max((len(r.name) for r in readings), default=0)
    return [f"  {r.name:<{width}}  {r.summary()}" for r in readings]
