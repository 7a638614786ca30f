"""The GSOCseq chain on in-memory arrays: n pixels (or sites) in, one array per result out.

For tools that hold their inputs in memory (numpy, xarray, a database): the same rules as
``gsocseq run`` (the invalid-input rule, the unit plausibility checks, the modelled-pixel
rule and exclusions, every phase in the Rust core, the layer formulas and the QA step),
without rasters. The inputs are named as the columns of docs/sites.md:

- per pixel, shape (n,): ``soc`` (t C/ha), ``clay`` (%), ``npp_reference`` (t C/ha/yr) and
  the optional ``npp_reference_min``, ``npp_reference_max``, ``soc_uncertainty``,
  ``clay_uncertainty`` (%), ``sand`` (%), ``ec`` (dS/m), ``spinup_land_use`` (FAO class);
- monthly, shape (n, 12): ``cover``, ``spinup_temperature`` (degrees C),
  ``spinup_precipitation``, ``spinup_pet`` (mm), optional ``forward_temperature``,
  ``forward_precipitation``, ``forward_pet``;
- monthly series from January of the first warm-up year, shape (n, 12 Y):
  ``warmup_temperature``, ``warmup_precipitation``, ``warmup_pet``;
- ``land_use``: FAO class, (n,) for every year or (n, Y') for the last Y' <= Y warm-up years
  (fewer: the oldest repeated at the start).

Nodata is NaN; a pixel whose 12 cover values are NaN takes its classes' default cover
(``[classes.N] cover``) when each has one, as in a raster run. ``run_pixels`` returns
``modelled`` (bool), ``flags`` (the core's bits, :data:`gsocseq.chain.FLAGS`), ``ceq``,
``cin_t0``, ``cin_mean`` (t C/ha/yr), ``soc_t0`` (t C/ha) and one float64 array per map
product (``T0``, ``finalSOC_BAU``, ``ASR_SSM1``, ``ASR_SSM1_uncertainty``, ...;
:attr:`gsocseq.products.Layer.column`), NaN where a pixel is not modelled or the QA step
removed its value.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, Union

import numpy as np

from gsocseq import _core
from gsocseq.chain import Chain
from gsocseq.config import (
    SOIL_WATER_INPUTS,
    Config,
    check_zone_codes,
    forward_inputs_unused,
    load,
    practice_warnings,
    soil_water_missing,
    with_options,
    zone_tables,
)
from gsocseq.errors import InputError
from gsocseq.inputs import (
    apply_checks,
    check_values,
    limits,
    range_message,
    spinup_classes,
    unknown_code_message,
    unknown_codes,
)
from gsocseq.multipliers import CalibrationTable
from gsocseq.plausibility import Distribution, Reading, check_config

#: inputs of 12 monthly values: kind of values (a key of gsocseq.inputs.RANGES)
MONTHLY = {
    "cover": "cover",
    "spinup_temperature": "temperature",
    "spinup_precipitation": "precipitation",
    "spinup_pet": "pet",
    "forward_temperature": "temperature",
    "forward_precipitation": "precipitation",
    "forward_pet": "pet",
}
#: inputs of 12 Y monthly values (the warm-up series)
SERIES = {
    "warmup_temperature": "temperature",
    "warmup_precipitation": "precipitation",
    "warmup_pet": "pet",
}
#: inputs of the refinements (METHOD.md section 10), any number of values: a forward climate
#: series of 12 H months (H >= the longest horizon), the NPP or the carbon input of each warm-up
#: year (t C/ha/yr)
REFINED = {
    "forward_series_temperature": "temperature",
    "forward_series_precipitation": "precipitation",
    "forward_series_pet": "pet",
    "warmup_npp": "npp",
    "warmup_carbon_input": "npp",
}
#: inputs of one value per pixel
SINGLE = {
    "soc": "soc",
    "clay": "clay",
    "npp_reference": "npp",
    "npp_reference_min": "npp",
    "npp_reference_max": "npp",
    "soc_uncertainty": "uncertainty",
    "clay_uncertainty": "uncertainty",
    "sand": "sand",
    "ec": "ec",
    "spinup_land_use": "class",
    "silt": "silt",
    "bulk_density": "bulk_density",
    "organic_carbon": "organic_carbon",
    "zone": "zone",
}
#: soil inputs of the van Genuchten moisture options (read with them only)
SOIL_WATER = ("silt", "bulk_density", "organic_carbon")
REQUIRED = (
    "soc",
    "clay",
    "npp_reference",
    "cover",
    "spinup_temperature",
    "spinup_precipitation",
    "spinup_pet",
    "warmup_temperature",
    "warmup_precipitation",
    "warmup_pet",
)
#: results of the core per pixel besides the layers: name -> the core's result
CORE_COLUMNS = {"ceq": "ceq", "cin_t0": "cin_t0", "cin_mean": "cin_mean", "soc_t0": "soc_t0"}

Locate = Callable[[str], Callable[[int, int], str]]
#: how a table marks "no data" (the hint for an undeclared nodata value such as -9999)
TABLE_NODATA = "an empty cell, NA or nan is nodata"
Fix = Callable[[str], Callable[[float], str]]
#: each pixel's multipliers of plant inputs and of decomposition rates, (n,) each
Multipliers = tuple[np.ndarray, np.ndarray]


def _multipliers(given: Any, n: int) -> Multipliers:
    """Two (n,) float64 arrays of multipliers in [0.001, 1000] (else a ValueError)."""
    from gsocseq.multipliers import BOUNDS

    try:
        inp, rate = (np.asarray(v, dtype=np.float64) for v in given)
    except (TypeError, ValueError):
        raise ValueError(
            "calibration: expected a CalibrationTable or two (n,) arrays of multipliers"
        ) from None
    for name, a in (("input", inp), ("rate", rate)):
        if a.shape != (n,):
            raise ValueError(f"calibration: {name} multipliers of shape {a.shape}, expected ({n},)")
        if not np.all((a >= BOUNDS[0]) & (a <= BOUNDS[1])):
            raise ValueError(
                f"calibration: {name} multipliers outside {BOUNDS[0]:g}..{BOUNDS[1]:g}"
            )
    return inp, rate


def run_pixels(
    inputs: Mapping[str, Any],
    config: Union[str, os.PathLike, Mapping[str, Any], Config, None] = None,
    *,
    pixel_id: Optional[np.ndarray] = None,
    calibration: Union[CalibrationTable, Multipliers, None] = None,
    **options: Any,
) -> dict[str, np.ndarray]:
    """The GSOCseq chain for n pixels given as arrays named as the columns of docs/sites.md
    (shapes in the module's docstring; any real dtype, NaN for nodata); returns one (n,) array
    per result (the module's docstring). ``config`` gives [run] options, scenarios, classes,
    exclusions and checks (a TOML path, a mapping or a :class:`~gsocseq.config.Config`; its
    [inputs] are not needed); ``options`` override [run] keys (``mode="fao-v1.2"``,
    ``threads=1``, ``uncertainty="none"``). ``pixel_id``: (n,) integers that seed each
    pixel's Monte Carlo draws (default: its position, 0..n-1; give a pixel the same id in every
    call for the same draws). Bad values raise
    :class:`~gsocseq.errors.InputError` naming the input, the pixel and the month; a bad
    option :class:`~gsocseq.errors.ConfigError`. ``calibration``: multipliers per group
    (:class:`~gsocseq.calibrate.CalibrationTable`) instead of the table of ``[run]
    calibration``, or each pixel's multipliers of plant inputs and of decomposition rates as
    two (n,) arrays."""
    cfg = configure(config, **options)
    data: dict[str, np.ndarray] = {}
    n: Optional[int] = None
    unknown = sorted(set(inputs) - {*SINGLE, *MONTHLY, *SERIES, *REFINED, "land_use"})
    if unknown:
        raise InputError(
            f"unknown input {unknown[0]!r}: the inputs are named as the columns of docs/sites.md"
        )
    for name, value in inputs.items():
        a = np.asarray(value, dtype=np.float64)
        expected = "(n,)" if name in SINGLE else "(n,) or (n, years)" if name == "land_use" else ""
        if name in SINGLE or (name == "land_use" and a.ndim == 1):
            if a.ndim != 1:
                raise InputError(f"{name}: expected {expected} values, got shape {a.shape}")
            a = a[None, :]
        else:
            width = 12 if name in MONTHLY else None
            if a.ndim != 2 or (width is not None and a.shape[1] != width):
                shape = "(n, 12)" if width else "(n, 12 years)" if name in SERIES else expected
                raise InputError(f"{name}: expected {shape} values, got shape {a.shape}")
            a = a.T  # (bands, n): a view, read band by band
        if n is not None and a.shape[1] != n:
            raise InputError(f"{name}: {a.shape[1]} pixels, the other inputs have {n}")
        n = a.shape[1]
        data[name] = a
    missing = [k for k in (*REQUIRED, "land_use") if k not in data]
    if missing:
        raise InputError(f"missing inputs: {', '.join(missing)} (see docs/sites.md)")
    lu = data.pop("land_use")
    if pixel_id is not None and np.shape(pixel_id) != (n,):
        raise InputError(f"pixel_id: expected ({n},) values, got shape {np.shape(pixel_id)}")

    def locate(name: str) -> Callable[[int, int], str]:
        return lambda i, b: f"{name}, pixel {i}, value {b + 1}"

    def fix(name: str) -> Callable[[float], str]:
        return lambda factor: f"multiply {name} by {factor:g}"

    return run_checked(cfg, data, lu, "inputs", locate, fix, pixel_id, calibration)


def configure(
    config: Union[str, os.PathLike, Mapping[str, Any], Config, None] = None, **options: Any
) -> Config:
    """The configuration of a run without rasters: ``config`` (its [inputs] not needed) with
    the [run] ``options`` changed."""
    cfg = load(config if config is not None else {}, require_inputs=False)
    options = {k: v for k, v in options.items() if v is not None}
    return with_options(cfg, **options) if options else cfg


def warmup_years(data: Mapping[str, np.ndarray], where: str) -> int:
    """Y of (bands, n) ``data``: the warm-up series hold 12 Y values each (one that disagrees
    with the other two is named, not the first)."""
    counts = {name: data[name].shape[0] for name in SERIES}
    for name, bands in counts.items():
        if bands % 12 or bands == 0:
            raise InputError(f"{where}: {name} has {bands} monthly values, not a multiple of 12")
    values = list(counts.values())
    common = max(values, key=values.count)
    if values.count(common) == 1:
        listing = ", ".join(f"{name}: {bands}" for name, bands in counts.items())
        raise InputError(f"{where}: the warm-up series disagree on their months ({listing})")
    for name, bands in counts.items():
        if bands != common:
            like = " and ".join(k for k in counts if k != name)
            raise InputError(
                f"{where}: {name} has {bands} monthly values, expected {common} (like {like})"
            )
    return common // 12


def run_checked(
    cfg: Config,
    data: dict[str, np.ndarray],
    lu: np.ndarray,
    where: str,
    locate: Locate,
    fix: Fix,
    pixel_id: Optional[np.ndarray] = None,
    calibration: Union[CalibrationTable, Multipliers, None] = None,
) -> dict[str, np.ndarray]:
    """:func:`run_pixels` on (bands, n) float64 ``data`` (views of any strides) and (Y', n)
    land use ``lu``: the checks (messages name ``where``, ``locate(name)(pixel, band)`` and
    the fix ``fix(name)(factor)``), the chain, the result arrays."""
    if cfg.run.moisture == "rothc-26.3":  # the soil water inputs are not read
        data = {k: v for k, v in data.items() if k not in SOIL_WATER}
    else:
        missing = [k for k in SOIL_WATER_INPUTS if k not in data]
        if missing:
            raise InputError(soil_water_missing(cfg.run.moisture, missing, where))
    years = warmup_years(data, where)
    if lu.shape[0] > years:
        raise InputError(
            f"{where}: {lu.shape[0]} land_use values for {years} warm-up year(s) (the warm-up "
            f"series hold {12 * years} monthly values: if the land use is right, they are short)"
        )
    if lu.shape[0] < years:  # the oldest year repeated at the start, as script 8 does
        lu = np.concatenate([np.repeat(lu[:1], years - lu.shape[0], axis=0), lu])
    n = lu.shape[1]
    table = calibration if isinstance(calibration, CalibrationTable) else None
    chain = Chain(cfg, years, table)
    given: Optional[Multipliers] = None
    if calibration is not None and table is None:
        given = _multipliers(calibration, lu.shape[1])
        chain.calibration = None
    if chain.calibration is not None and chain.calibration.by == "zone" and "zone" not in data:
        raise InputError(
            f"{where}: the multipliers of {chain.calibration.source} are by zone: give each "
            "site's zone (column zone)"
        )
    counts: Counter = Counter()
    bounds = limits(cfg.checks, cfg.class_table.max_code)
    kinds = {
        name: SINGLE.get(name) or MONTHLY.get(name) or SERIES.get(name) or REFINED[name]
        for name in data
    }
    with np.errstate(invalid="ignore"):
        candidates = chain.modelled.candidates(lu[-1]) & chain.modelled.carbon(data["soc"][0])
    # every value checked once by the core: (status, band) per pixel serve the unit
    # plausibility checks (of the candidates) and then the invalid-input rule (of all); the
    # quantities side by side on the run's threads (the core and numpy release the GIL)
    workers = min(len(data), cfg.run.threads or os.cpu_count() or 1)
    with ThreadPoolExecutor(max(workers, 1), thread_name_prefix="gsocseq-check") as pool:

        def check_one(name: str) -> tuple[np.ndarray, np.ndarray]:
            lo, hi, _ = bounds[kinds[name]]
            return _core.check_pixels(data[name], lo, hi)

        checked = dict(zip(data, pool.map(check_one, data)))
        _check_units(data, kinds, checked, candidates, cfg, where, locate, fix, bounds, pool)
    # a pixel without cover may take its classes' default cover, as in a raster run
    spinup = data["spinup_land_use"][0] if "spinup_land_use" in data else None
    status, band = checked["cover"]
    checked["cover"] = (chain.modelled.class_cover(status, lu, spinup, counts), band)
    ok = np.ones(n, dtype=bool)
    for name, values in data.items():
        status, band = checked[name]
        ok &= apply_checks(
            name,
            kinds[name],
            status,
            band,
            functools.partial(_pixel_values, values),
            locate(name),
            cfg.run.invalid,
            counts,
            "",
            bounds,
            fix(name),
            TABLE_NODATA,
        )
    ok &= check_values(
        "land_use",
        "class",
        lu,
        locate("land_use"),
        cfg.run.invalid,
        counts,
        bounds=bounds,
        nodata=TABLE_NODATA,
    )
    # a code the class table does not hold (2.5, or a gap between the codes of [classes.N]),
    # as in a raster run: it was a site silently not modelled
    bad = unknown_codes(cfg.class_table, lu)
    bad_px = bad.any(axis=0) & ok
    if bad_px.any():
        if cfg.run.invalid == "error":
            b, i = (int(v[0]) for v in np.nonzero(bad & ok))
            raise InputError(
                f"{locate('land_use')(i, b)}: "
                f"{unknown_code_message(cfg.class_table, float(lu[b, i]))}"
            )
        counts["invalid:land_use"] += int(bad_px.sum())
        ok &= ~bad_px
    ok &= chain.modelled.candidates(lu[-1])
    if "spinup_land_use" in data and cfg.run.mode != "fao-v1.2":
        ok = spinup_classes(
            cfg.class_table,
            data["spinup_land_use"][0],
            ok,
            lambda i: locate("spinup_land_use")(i, 0),
            cfg.run.invalid,
            counts,
        )
    ok, bits = chain.modelled.keep(data, ok, counts)
    # a site an exclusion rule leaves out of the national layers has no results
    ok &= ~chain.modelled.masked(bits)
    result: dict[str, np.ndarray] = {"modelled": ok}
    keep = np.flatnonzero(ok)
    flags = np.zeros(n, dtype=np.uint8)
    result["flags"] = flags
    # no pixel modelled: every result column all NaN all the same (the core takes 0 pixels)
    every = len(keep) == n
    if "zone" in data and zone_tables(cfg) and len(keep):
        zone = data["zone"][0]
        fractional = np.flatnonzero(ok & np.isfinite(zone) & (zone != np.floor(zone)))
        if len(fractional):
            i = fractional[0]
            raise InputError(
                f"{locate('zone')(i, 0)}: {zone[i]:g} is not a zone code (zones are whole "
                "numbers: the codes of the practice tables' zones = { ... })"
            )
        codes = np.unique(zone[ok & np.isfinite(zone)])
        for text in check_zone_codes(
            cfg, codes.astype(np.int64).tolist(), f"column zone of {where}"
        ):
            warnings.warn(text, UserWarning, stacklevel=3)
    for text in practice_warnings(cfg):
        warnings.warn(text, UserWarning, stacklevel=3)
    if cfg.run.forward_inputs == "npp-scaled" and "forward_series_temperature" not in data:
        text = forward_inputs_unused(f"no forward_series_* columns in {where}")
        warnings.warn(text, UserWarning, stacklevel=3)

    def kept(v: np.ndarray) -> np.ndarray:  # (n kept, bands)
        return v.T if every else v.T[ok]

    # the pixel's id (default: its position, the row of a table) seeds its Monte Carlo draws
    ids = keep if pixel_id is None else np.asarray(pixel_id)[keep]
    arrays = chain.arguments(
        {k: kept(v) for k, v in data.items()},
        kept(lu).astype(np.uint8),
        ids.astype(np.uint64),
        counts,
    )
    if given is not None:
        arrays["calibration_input"] = np.ascontiguousarray(given[0][keep])
        arrays["calibration_rate"] = np.ascontiguousarray(given[1][keep])
    sim = chain.simulate(arrays)
    # a pixel without equilibrium: an input error, or not modelled (its results NaN)
    none = chain.no_equilibrium(
        sim, lambda i, name: locate(name)(int(keep[i]), 0), counts, given=data.keys()
    )
    if none.any():
        ok[keep[none]] = False
    flags[keep] = np.asarray(sim.flags) & ~np.uint32(_core.NO_EQUILIBRIUM | _core.NO_SOIL_WATER)
    layers = chain.layer_values(sim, counts)
    columns = {name: getattr(sim, key)[:, 0] for name, key in CORE_COLUMNS.items()}
    by_key = {layer.key: layer for layer in chain.layers}
    for key, v in layers.items():
        if v.ndim == 1 and key in by_key:
            columns[by_key[key].column] = v
    for name, v in columns.items():
        col = np.full(n, np.nan)
        col[keep] = v
        result[name] = col
    return result


def _pixel_values(values: np.ndarray, i: int) -> np.ndarray:
    """The values of pixel ``i`` in every band of (bands, n) ``values`` (for a message)."""
    return values[:, i]


def _check_units(
    data: dict[str, np.ndarray],
    kinds: dict[str, str],
    checked: dict[str, tuple[np.ndarray, np.ndarray]],
    rows: np.ndarray,
    cfg: Config,
    where: str,
    locate: Locate,
    fix: Fix,
    bounds: Any,
    pool: ThreadPoolExecutor,
) -> None:
    """The unit plausibility checks of a run (METHOD.md section 2) over the pixels ``rows``
    (those with a modelled class and SOC > 0): every value of every row is read (the
    quantities side by side in ``pool``). ``checked``: the core's (status, band) of every pixel
    of each quantity."""
    readings = []
    reads = []
    picked = np.flatnonzero(rows)
    every = len(picked) == len(rows)
    for name, values in data.items():
        kind = kinds[name]
        columns = name if name in SINGLE else f"{name}_1..{name}_{values.shape[0]}"
        reading = Reading(
            name,
            kind,
            f"{where}, column(s) {columns}",
            bounds[kind][2],
            "every modelled site",
            fix(name),
            annual=Reading.annual_for(kind, values.shape[0]),
        )

        def beyond(
            b: int, i: int, value: float, seen: Distribution, name: str = name, kind: str = kind
        ) -> str:
            text = locate(name)(int(picked[i]), b)
            return range_message(text, name, kind, value, "", bounds, fix(name), seen, TABLE_NODATA)

        status, band = checked[name]
        if not every:
            status, band = status[rows], band[rows]
        # (pixels, bands): the caller's own rows when they are C-ordered (no copy)
        chosen = values.T if every else values.T[rows]
        reads.append(pool.submit(reading.add, chosen, status, band, beyond))
        readings.append(reading)
    for done in reads:
        done.result()
    check_config(readings, cfg, bounds)
