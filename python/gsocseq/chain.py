"""The GSOCseq chain for n pixels (METHOD.md sections 2-7), one room for the raster pipeline,
the site table, the Dask workers and the array API:

1. which pixels are modelled (:class:`Modelled`: the class of the last warm-up year, SOC > 0),
   and which the exclusion rules leave out of the national layers;
2. the core's arguments from the values of each quantity (:func:`core_arguments`: the spin-up
   class and DPM/RPM, the forward climate and class, the reference NPP);
3. one call into the Rust core for every phase (spin-up, warm-up, forward runs of every
   scenario and horizon, min/max or Monte Carlo chains): :meth:`Chain.simulate`;
4. the layers from the core's float64 stocks and the QA step (:meth:`Chain.layer_values`),
   and the per-pixel flags counted (:meth:`Chain.flag_counts`).

The phases themselves run in the core; this module holds the rules that choose their
arguments and the formulas of the layers (METHOD.md section 7). Units: stocks t C/ha, inputs
and rates t C/ha/yr, temperature degrees C, precipitation and PET mm/month, uncertainty %.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from typing import Any, Callable, Optional

import numpy as np

from gsocseq import _core, classes, fao, products
from gsocseq.config import GROUPS, WARMUP_START, Config, spinup_land_use_in_fao_mode
from gsocseq.errors import ConfigError, InputError
from gsocseq.inputs import RANGES
from gsocseq.multipliers import CalibrationTable, load_table

#: bits of the per-pixel flags returned by the core, and their words (the core's)
FLAGS: dict[int, str] = _core.FLAGS
#: (temperature, precipitation) factors of the central, min and max runs (the core's)
PERTURBATIONS = _core.MINMAX_CLIMATE
#: defaults of the uncertainty inputs, %
DEFAULT_UNCERTAINTY = {"soc_uncertainty": 20.0, "clay_uncertainty": 10.0}
#: the count of modelled pixels without Monte Carlo values (a draw not finite)
MC_NOT_FINITE = "montecarlo:a draw not finite"


def t0_year(warmup_years: int) -> int:
    """The calendar year of t0: the end of the last warm-up year (2020 for 20 years)."""
    return WARMUP_START + warmup_years


# -- 1. which pixels are modelled ------------------------------------------------------------


class Modelled:
    """The rule of which pixels are modelled (METHOD.md section 2): the FAO class of the last
    warm-up year is one of ``[classes] modelled``, every quantity is valid (the invalid-input
    rule of :mod:`gsocseq.inputs`) and SOC > 0. The exclusion rules (SOC, sand, EC above their
    thresholds) do not stop a pixel from being modelled: they mask the national layers
    (:meth:`masked`), and the FAO delivery has the pixels' values. The readers are handed this
    rule; they import no phase rule."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.classes = np.asarray(config.modelled)

    def candidates(self, last_class: np.ndarray) -> np.ndarray:
        """Pixels whose class of the last warm-up year is modelled (NaN, nodata and any value
        that is no such class: not modelled)."""
        return np.isin(last_class, self.classes)

    @staticmethod
    def carbon(soc: np.ndarray) -> np.ndarray:
        """Pixels with SOC > 0 t C/ha (SOC 0 or below is valid but not modelled: no carbon;
        NaN: not modelled)."""
        with np.errstate(invalid="ignore"):
            return soc > 0

    def keep(
        self, singles: Mapping[str, np.ndarray], ok: np.ndarray, counts: Counter
    ) -> tuple[np.ndarray, np.ndarray]:
        """Of the valid pixels ``ok``, those with SOC > 0 (:meth:`carbon`), and the exclusion
        rules each of them meets (:func:`exclusion_bits`); ``singles`` holds (1, n) values of
        the single-band quantities (``soc``, and ``sand``, ``ec`` when given)."""
        zero = ok & ~self.carbon(singles["soc"][0])
        counts["not modelled:soc_0"] += int(zero.sum())
        ok = ok & ~zero
        ok = ok & self.soil_water(singles, ok, counts)
        return ok, exclusion_bits(self.config, singles, ok, counts)

    def class_cover(
        self,
        status: np.ndarray,
        lu: np.ndarray,
        spinup: Optional[np.ndarray],
        counts: Counter,
    ) -> np.ndarray:
        """The cover's checks ``status`` (per pixel, ``_core.PIXEL_STATUS``) with the pixels
        without a cover value (nodata in all 12 months) made valid when the class of every
        warm-up year ((Y, n) ``lu``) and the spin-up class ((n,) ``spinup``, when given) have a
        default cover (``[classes.N] cover``, METHOD.md section 10): the core gives each phase
        its class's default. Counted as ``cover:class_default``; the one rule of raster runs,
        site tables and arrays."""
        table = self.config.class_table
        if not table.default_cover:
            return status
        covered = table.covered(lu).all(axis=0)
        if spinup is not None:
            covered &= table.covered(spinup)
        defaulted = (status == _core.PIXEL_STATUS["all_nodata"]) & covered
        counts["cover:class_default"] += int(defaulted.sum())
        return np.where(defaulted, _core.PIXEL_STATUS["ok"], status).astype(status.dtype)

    def masked(self, bits: np.ndarray) -> np.ndarray:
        """Pixels of exclusion ``bits`` that the national layers leave out (nodata): those
        meeting a rule, when ``[exclusions] enabled``."""
        if not self.config.exclusions.enabled:
            return np.zeros(bits.shape, dtype=bool)
        return bits != 0

    def soil_water(
        self, singles: Mapping[str, np.ndarray], ok: np.ndarray, counts: Counter
    ) -> np.ndarray:
        """With a van Genuchten moisture option (ROTHC.md section 8), the pixels whose clay,
        silt, bulk density and organic carbon (given, or SOC / (bulk density x depth)) are all
        > 0 and organic carbon at most 58.1 % (the Wösten pedotransfer functions take their
        logarithms and inverses); the others are not modelled and counted by the quantity."""
        if self.config.run.moisture == "rothc-26.3":
            return np.ones_like(ok)
        keep = np.ones_like(ok)
        with np.errstate(invalid="ignore", divide="ignore"):
            for name in ("clay", "silt", "bulk_density", "organic_carbon"):
                if name in singles:
                    hit = ok & keep & ~(singles[name][0] > 0)
                    counts[f"not modelled:{name}_0"] += int(hit.sum())
                    keep &= ~hit
            if "organic_carbon" not in singles and "bulk_density" in singles:
                oc = organic_carbon_from_soc(
                    singles["soc"][0], singles["bulk_density"][0], self.config.run.depth
                )
                hit = ok & keep & ~(oc <= MAX_ORGANIC_CARBON)
                counts["not modelled:organic_carbon_from_soc>58.1"] += int(hit.sum())
                keep &= ~hit
        return keep


#: organic carbon, %, at which organic matter (1.72 OC) is the whole soil
MAX_ORGANIC_CARBON = RANGES["organic_carbon"][1]


def organic_carbon_from_soc(soc: Any, bulk_density: Any, depth: float) -> Any:
    """Organic carbon, %, of a layer of ``depth`` cm at ``bulk_density`` g/cm3 holding ``soc``
    t C/ha: SOC / (bulk density x depth) (ROTHC.md section 8; the core's rule, for the
    checks)."""
    return soc / (bulk_density * depth)


def exclusion_rules(config: Config) -> list[tuple[str, int, float, str]]:
    """(quantity, bit of :data:`gsocseq.products.EXCLUSION_BITS`, threshold, text) of each
    exclusion rule with a threshold, e.g. ("soc", 1, 200.0, "SOC > 200 t C/ha")."""
    ex = config.exclusions
    out = []
    for name, label, limit, unit in (
        ("soc", "SOC", ex.soc_max, "t C/ha"),
        ("sand", "sand", ex.sand_max, "%"),
        ("ec", "EC", ex.ec_max, "dS/m"),
    ):
        if limit is not None:
            out.append((name, products.EXCLUSION_BITS[name], limit, f"{label} > {limit:g} {unit}"))
    return out


def unapplied_exclusion_rules(config: Config) -> list[tuple[str, str]]:
    """(quantity, text) of the exclusion rules whose input the run does not have (``sand``,
    ``ec`` not given): no pixel is tested against them (:func:`exclusion_bits`)."""
    return [
        (name, text)
        for name, _, _, text in exclusion_rules(config)
        if name != "soc" and name not in config.inputs
    ]


def exclusion_bits(
    config: Config, data: Mapping[str, np.ndarray], ok: np.ndarray, counts: Counter
) -> np.ndarray:
    """uint8 per pixel: the sum of the bits of the exclusion rules (:func:`exclusion_rules`)
    the pixels ``ok`` of (1, n) ``data`` meet (0 elsewhere); whether or not ``[exclusions]``
    are enabled, so that the exclusion mask always says which rule a pixel meets. With
    exclusions enabled, the pixels of each rule are counted (``excluded:soc>200``): the
    national layers leave them out."""
    bits = np.zeros(ok.shape, dtype=np.uint8)
    with np.errstate(invalid="ignore"):
        for name, bit, limit, _ in exclusion_rules(config):
            if name not in data:
                continue
            hit = ok & (data[name][0] > limit)
            bits[hit] |= bit
            if config.exclusions.enabled:
                counts[f"excluded:{name}>{limit:g}"] += int(hit.sum())
    return bits


# -- 2. the core's arguments -----------------------------------------------------------------


def scenario_table(config: Config) -> tuple[list[str], np.ndarray, int]:
    """Scenario names (BAU first), (S, 3) input increases per SSM group (crops, grass, paddy),
    and the index of the scenario that gets min/max runs in fao-v1.2 (SSM2, as script 13)."""
    names = ["BAU", *config.scenarios]
    table = np.zeros((len(names), 3))
    for i, name in enumerate(config.scenarios, start=1):
        table[i] = config.scenarios[name]
    uncertain = names.index("SSM2") if "SSM2" in names else min(2, len(names) - 1)
    return names, table, uncertain


#: Inputs of the refinements passed to the core as read (METHOD.md section 10): a forward climate
#: series (12 H months), the NPP or the carbon input of each warm-up year.
REFINED_INPUTS = (
    "forward_series_temperature",
    "forward_series_precipitation",
    "forward_series_pet",
    "warmup_npp",
    "warmup_carbon_input",
)

#: Columns of a pixel's values a per-zone practice setting takes (12 for a cover).
_WIDTH = {"cover": 12}


def practice_table(
    config: Config,
) -> tuple[list[dict[str, Any]], list[tuple[int, int, Any]]]:
    """What each scenario does besides its input increase (METHOD.md section 10), for the
    core: one dict of settings per scenario, BAU first (empty: none), each setting (kind,
    value) with kind everywhere, group (crops, grass, paddy; None: BAU's), class or pixel (the
    first of the pixel's value columns); and the columns of the settings given per zone or as
    a raster: (first column, width, {zone: value} or the raster's input key). Empty lists
    without practices."""
    if not config.practices:
        return [], []
    out: list[dict[str, Any]] = [{}]
    columns: list[tuple[int, int, Any]] = []
    width = 0
    for name in config.scenarios:
        settings: dict[str, Any] = {}
        for key, (kind, value) in config.practices.get(name, {}).items():
            if kind == "group":
                settings[key] = ("group", [value.get(g) for g in GROUPS])
            elif kind in ("zone", "raster"):
                settings[key] = ("pixel", width)
                columns.append((width, _WIDTH.get(key, 1), value))
                width += _WIDTH.get(key, 1)
            else:
                settings[key] = (kind, value)
        out.append(settings)
    return out, columns


def scenario_values(
    columns: list[tuple[int, int, Any]],
    zones: Optional[np.ndarray],
    forward_class: np.ndarray,
    table: classes.ClassTable,
    rasters: Optional[Mapping[str, np.ndarray]] = None,
) -> np.ndarray:
    """(n, K) values of the practice settings given per zone or as rasters for pixels of
    ``zones`` (zone codes) and forward classes ``forward_class``: each setting's value in the
    pixel's zone (for its SSM group or class when the zone's value is given so), NaN (BAU's)
    where the table leaves the zone, group or class out; a raster's values ((n, width) in
    ``rasters`` by input key) as read, NaN (nodata) keeping BAU's."""
    width = max(c + w for c, w, _ in columns)
    out = np.full((forward_class.shape[0], width), np.nan)
    group = table.ssm_group[forward_class.astype(np.intp)]
    for c, w, by_zone in columns:
        if isinstance(by_zone, str):  # a raster's input key
            assert rasters is not None
            out[:, c : c + w] = rasters[by_zone]
            continue
        assert zones is not None
        for zone, value in by_zone.items():
            in_zone = zones == zone
            if isinstance(value, tuple) and value and value[0] in ("group", "class"):
                kind, values = value
                for k, v in values.items():
                    of = (group == GROUPS.index(k)) if kind == "group" else (forward_class == k)
                    out[in_zone & of, c : c + w] = v
            else:
                out[in_zone, c : c + w] = value
    return out


def miami_npp(temperature: np.ndarray, precipitation: np.ndarray) -> np.ndarray:
    """Yearly MIAMI NPP (Lieth 1975) in t C/ha/yr from (..., 12) monthly temperature (degrees C)
    and precipitation (mm): :func:`gsocseq.fao.miami_npp` (the core's) of the mean temperature
    and the precipitation sum of the 12 months."""
    return fao.miami_npp(temperature.mean(axis=-1), precipitation.sum(axis=-1))


def reference_from_series(temperature: np.ndarray, precipitation: np.ndarray) -> np.ndarray:
    """(n, 3) reference NPP (central, min, max) from (n, 12 Y) monthly 1981-2000 series: the mean
    of yearly MIAMI NPP, each month perturbed before the yearly aggregation."""
    n = temperature.shape[0]
    t = temperature.reshape(n, -1, 12)
    p = precipitation.reshape(n, -1, 12)
    return np.stack([miami_npp(t * ft, p * fp).mean(axis=1) for ft, fp in PERTURBATIONS], axis=1)


def npp_reference(data: Mapping[str, Any]) -> np.ndarray:
    """(n, 3) reference NPP before land-use coefficients (central, min, max), t C/ha/yr, from
    (n, bands) ``data``: the given rasters (min and max default to the central one), else
    from the 1981-2000 series (METHOD.md section 4)."""
    if "npp_reference" in data:
        central = data["npp_reference"][:, 0]
        low = data["npp_reference_min"][:, 0] if "npp_reference_min" in data else central
        high = data["npp_reference_max"][:, 0] if "npp_reference_max" in data else central
        return np.ascontiguousarray(np.stack([central, low, high], axis=1))
    return np.ascontiguousarray(
        reference_from_series(data["reference_temperature"], data["reference_precipitation"])
    )


def spinup_year(lu: np.ndarray, table: Optional[classes.ClassTable] = None) -> np.ndarray:
    """Position of the spin-up year of rothamsted mode, per pixel, in (n, Y) warm-up classes:
    the first year whose class has coefficients in ``table`` (the run's; None: the default
    table) (0 when none has)."""
    _, coef, _, _ = (table or classes.ClassTable.default()).lookup()
    return np.argmax(~np.isnan(coef[lu.astype(np.intp)]), axis=1)


def spinup_class(
    config: Config, lu: np.ndarray, data: Mapping[str, Any], fao_layout: bool
) -> dict[str, np.ndarray]:
    """Class and DPM/RPM of the spin-up (METHOD.md section 3) for (n, Y) warm-up classes ``lu``
    and (n, bands) values ``data``.

    rothamsted: an explicit spin-up land-use raster if given, else the first warm-up year whose
    class has coefficients. fao-v1.2: the 2020 land use (the last year). In the FAO layout the
    DPM/RPM is read from the stacks (float32, as the scripts hold it), never from the table:
    fao-v1.2 takes the spin-up stack's DR band, rothamsted the warm-up stack's DR band of its
    spin-up year, so that spin-up and warm-up year 1 use the same bits (METHOD.md section 3).
    """
    table = config.class_table
    if config.run.mode == "fao-v1.2":
        cls = lu[:, -1]
        dr = data["spinup_dpm_rpm"][:, 0] if fao_layout else table.dpm_rpm_of(cls, float32=True)
    elif "spinup_land_use" in data:
        cls = data["spinup_land_use"][:, 0].astype(np.uint8)
        dr = table.dpm_rpm_of(cls)
    else:
        year = spinup_year(lu, table)
        cls = lu[np.arange(lu.shape[0]), year]
        if fao_layout:
            dr = data["warmup_dpm_rpm"][np.arange(lu.shape[0]), year]
        else:
            dr = table.dpm_rpm_of(cls)
    return {
        "spinup_class": np.ascontiguousarray(cls, dtype=np.uint8),
        "spinup_dpm_rpm": np.ascontiguousarray(dr, dtype=np.float64),
    }


def forward_climate(
    config: Config, data: Mapping[str, Any], lu: np.ndarray, fao_layout: bool
) -> dict[str, np.ndarray]:
    """Forward T, P, PET (n, 12), class and DPM/RPM of each pixel (METHOD.md section 5), from
    (n, bands) ``data``.

    Forward layers (or the FAO forward stack) are used as read; otherwise they are left out and
    the core takes the 12 monthly means of the scaled warm-up series, in float64 (as numpy's
    ``series.reshape(n, years, 12).mean(axis=1)``). Land use: the last warm-up year.
    """
    res: dict[str, np.ndarray] = {}
    for part in ("temperature", "precipitation", "pet"):
        key = f"forward_{part}"
        if key in data:
            res[key] = np.ascontiguousarray(data[key])
    cls = lu[:, -1]
    res["forward_class"] = np.ascontiguousarray(cls, dtype=np.uint8)
    if fao_layout:
        res["forward_dpm_rpm"] = np.ascontiguousarray(data["forward_dpm_rpm"][:, 0])
    else:
        fao_mode = config.run.mode == "fao-v1.2"
        res["forward_dpm_rpm"] = config.class_table.dpm_rpm_of(cls, float32=fao_mode)
    return res


def core_arguments(
    config: Config, data: Mapping[str, Any], lu: np.ndarray, fao_layout: bool
) -> dict[str, Any]:
    """(n, ...) arrays of every argument of the core from the values of each quantity of the
    modelled pixels: (n, bands) arrays (made C-contiguous float64 here when they are not; the
    block reader gathers them so), or, for the warm-up series, anything the core reads as a
    series (the reader's window bands, read where they lie). ``lu``: (n, Y) warm-up classes."""

    def t(name: str) -> np.ndarray:
        return np.ascontiguousarray(data[name], dtype=np.float64)

    n = lu.shape[0]
    out: dict[str, Any] = {
        "soc": t("soc")[:, 0],
        "clay": t("clay")[:, 0],
    }
    for key, default in DEFAULT_UNCERTAINTY.items():
        out[key] = data[key][:, 0] / 100.0 if key in data else np.full(n, default / 100.0)
    if fao_layout:
        out["spinup_cover"] = t("spinup_cover")
        out["warmup_cover"] = t("warmup_cover")
        out["forward_cover"] = t("forward_cover")
    else:
        cover = t("cover")
        out["spinup_cover"] = out["warmup_cover"] = out["forward_cover"] = cover
    for part in ("temperature", "precipitation", "pet"):
        out[f"spinup_{part}"] = t(f"spinup_{part}")
        series = data[f"warmup_{part}"]
        out[f"warmup_{part}"] = t(f"warmup_{part}") if isinstance(series, np.ndarray) else series
    out["warmup_class"] = np.ascontiguousarray(lu)
    fao_mode = config.run.mode == "fao-v1.2"
    # from the C-ordered classes: the binding takes a Fortran-ordered array (the site table's
    # transposed view) as if it were C-ordered, and gave each pixel another pixel's DR
    out["warmup_dpm_rpm"] = (
        t("warmup_dpm_rpm")
        if fao_layout
        else config.class_table.dpm_rpm_of(out["warmup_class"], float32=fao_mode)
    )
    out.update(spinup_class(config, lu, data, fao_layout))
    out.update(forward_climate(config, data, lu, fao_layout))
    if config.run.moisture != "rothc-26.3":  # the soil water of the van Genuchten options
        for name in ("silt", "bulk_density", "organic_carbon"):
            if name in data:
                out[name] = t(name)[:, 0]
    if fao_mode and "spinup_land_use" in data:  # a site table's column, an array
        raise ConfigError(spinup_land_use_in_fao_mode("spinup_land_use"))
    for key in REFINED_INPUTS:
        if key in data:
            if fao_mode:
                raise ConfigError(
                    f"{key}: the refinements of METHOD.md section 10 are rothamsted mode's "
                    "(fao-v1.2 reproduces the scripts)"
                )
            out[key] = np.ascontiguousarray(data[key], dtype=np.float64)
    _, columns = practice_table(config)
    if columns:
        by_zone = any(not isinstance(v, str) for _, _, v in columns)
        if by_zone and "zone" not in data:
            raise ConfigError(
                "[scenarios]: a practice is given per zone, and there is no zone input "
                "([inputs] zone = the zone raster)"
            )
        rasters = {v: data[v] for _, _, v in columns if isinstance(v, str)}
        zones = data["zone"][:, 0] if by_zone else None
        out["scenario_values"] = scenario_values(
            columns, zones, out["forward_class"], config.class_table, rasters
        )
    out["npp_reference"] = npp_reference(data)
    # the climate a Monte Carlo draw's reference NPP follows (else the warm-up series)
    for part in ("temperature", "precipitation"):
        if f"reference_{part}" in data:
            out[f"reference_{part}"] = t(f"reference_{part}")
    return out


# -- 3. and 4. the core, the layers ----------------------------------------------------------


def _rel_unc(hi: np.ndarray, lo: np.ndarray, central: np.ndarray) -> np.ndarray:
    """Half the range of the min and max runs in % of the central value (METHOD.md section
    6); nodata (NaN) where the central value is exactly 0 (a scenario that changes nothing
    at a pixel, an increase of 0), as 0 / 0 already is: never an infinite percentage."""
    u = 100.0 * np.abs(hi - lo) / (2.0 * np.abs(central))
    return np.where(central == 0.0, np.nan, u)


class Chain:
    """The GSOCseq chain of one run configuration, built once per run: its scenarios, its
    layers and the core's options; then :meth:`simulate` and :meth:`layer_values` for any
    number of blocks of pixels. ``warmup_years``: Y, the years of the warm-up series."""

    def __init__(
        self,
        config: Config,
        warmup_years: int,
        calibration: Optional[CalibrationTable] = None,
    ) -> None:
        self.config = config
        self.warmup_years = warmup_years
        self.t0_year = t0_year(warmup_years)
        self.scenarios, self.increases, self.uncertain = scenario_table(config)
        self.practices, _ = practice_table(config)
        self.layers = products.layers(config, self.scenarios, self.t0_year)
        self.modelled = Modelled(config)
        self._simulator: Optional[_core.Simulator] = None
        #: multipliers per group (``[run] calibration``, or given), None: none
        self.calibration = (
            calibration if calibration is not None else load_table(config.run.calibration)
        )
        if self.calibration is not None and self.calibration.by == "zone" and config.inputs:
            if "zone" not in config.inputs:
                raise ConfigError(
                    f"{self.calibration.source}: multipliers by zone: give the zone raster "
                    "([inputs] zone, one whole-number code per pixel)"
                )

    def arguments(
        self,
        values: Mapping[str, Any],
        lu: np.ndarray,
        pixel_id: np.ndarray,
        counts: Optional[Counter] = None,
    ) -> dict[str, Any]:
        """The core's arguments (:func:`core_arguments`) of n pixels from the values of each
        quantity, their (n, Y) warm-up classes ``lu`` and their ``pixel_id`` (uint64: the
        seed of a pixel's Monte Carlo draws, its position in the grid or table); with a
        calibration table, each pixel's multipliers (pixels of no calibrated group counted in
        ``counts``)."""
        out = core_arguments(self.config, values, lu, self.config.layout == "fao")
        out["pixel_id"] = pixel_id
        if self.calibration is not None:
            zone = values["zone"][:, 0] if "zone" in values else None
            out["calibration_input"], out["calibration_rate"] = self.calibration.multipliers(
                lu[:, -1], zone, counts
            )
        return out

    @property
    def simulator(self) -> _core.Simulator:
        """The core's simulator of the run's options (built once, on first use)."""
        if self._simulator is None:
            run, table = self.config.run, self.config.class_table
            horizons = list(self.config.all_horizons)
            self._simulator = _core.Simulator(
                mode=run.mode,
                spinup=run.spinup,
                numerical_pools=run.numerical_pools,
                horizons=horizons,
                main_horizon=horizons.index(run.years),
                steady_state=run.steady_state,
                mc_samples=run.samples if run.uncertainty == "montecarlo" else 0,
                mc_seed=run.seed,
                scenarios=self.increases,
                uncertainty=run.uncertainty != "none",
                fao_uncertain_scenario=self.uncertain,
                depth=run.depth,
                evap_coefficient=1.0,
                moisture=run.moisture,
                bare_deficit=run.bare_deficit,
                min_moisture_rate=run.min_moisture_rate,
                class_table=_core.ClassTable(
                    table.coefficient, table.dpm_rpm, table.rate_factor, table.ssm_group
                ),
                class_input_pattern=None if table.uniform_input else table.input_pattern,
                class_cover=table.cover if table.default_cover else None,
                practices=self.practices or None,
                forward_inputs=run.forward_inputs,
                threads=run.threads,
            )
        return self._simulator

    def simulate(
        self, arrays: Mapping[str, Any], threads: Optional[int] = None
    ) -> _core.SimulateResult:
        """Every phase for the (n, ...) core arguments ``arrays`` (:func:`core_arguments` and
        ``pixel_id``, the seed of a pixel's Monte Carlo draws), in one call into the core on
        ``threads`` threads (None: the run's; 0: all cores)."""
        return self.simulator.simulate(arrays, threads=threads)

    def no_equilibrium(
        self,
        sim: _core.SimulateResult,
        where: Callable[[int, str], str],
        counts: Counter,
        given: Optional[Collection[str]] = None,
    ) -> np.ndarray:
        """The pixels of ``sim`` whose spin-up has no equilibrium (the core's rule: the
        decomposition rate is 0 in every month, flag ``_core.NO_EQUILIBRIUM``; their results
        are NaN), by the invalid-input rule: an :class:`InputError` naming ``where(pixel, input)``
        (the pixel in the raster or column of that input), or
        with ``[run] invalid = "mask"`` not modelled and counted (``invalid:no_equilibrium``).
        Before: NaN results, exit 0 and a warning that a result is not finite. So are the
        pixels whose soil water gives no moisture function (flag ``_core.NO_SOIL_WATER``,
        counted as ``invalid:no_soil_water``)."""
        flags = np.asarray(sim.flags)
        bad = (flags & _core.NO_EQUILIBRIUM) != 0
        if bad.any():
            if self.config.run.invalid == "error":
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"{where(i, 'spinup_temperature')}: {_core.ZERO_RATE}: no equilibrium "
                    "exists for the spin-up (a pixel frozen all year cannot be modelled: check "
                    'the spin-up temperature\'s units, or set [run] invalid = "mask" to leave '
                    "such pixels out)"
                )
            counts["invalid:no_equilibrium"] += int(bad.sum())
        # a dryland moisture option and a soil the pedotransfer functions do not cover: NaN
        # results, exit 0 and a warning that a result is not finite before
        dry = ((flags & _core.NO_SOIL_WATER) != 0) & ~bad
        if dry.any():
            if self.config.run.invalid == "error":
                i = int(np.flatnonzero(dry)[0])
                run = self.config.run
                # the soil input the user gave (``given``: the columns of a table; else the
                # configuration's rasters)
                names = self.config.inputs if given is None else given
                soil = "organic_carbon" if "organic_carbon" in names else "silt"
                raise InputError(
                    f"{where(i, soil)}: moisture = {run.moisture!r}: the soil water inputs of "
                    "this pixel (clay, silt, bulk_density and organic_carbon, or SOC / (bulk "
                    "density x depth), in its central or min/max run) give no usable retention "
                    "curve: "
                    "the Wösten et al. (1999) pedotransfer functions are outside their range "
                    "(deficits not 0 > 1 bar > wilting point; organic soils, organic carbon "
                    'above about 25 %): use moisture = "rothc-26.3" for such soils, or set '
                    '[run] invalid = "mask" to leave such pixels out'
                )
            counts["invalid:no_soil_water"] += int(dry.sum())
        return bad | dry

    @staticmethod
    def flag_counts(sim: _core.SimulateResult) -> dict[str, int]:
        """Pixels per flag of the core (:data:`FLAGS`), by the flag's words; only flags hit
        (pixels without equilibrium are counted by :meth:`no_equilibrium`, not here)."""
        out: dict[str, int] = {}
        flags = np.asarray(sim.flags)
        flags = flags[(flags & (_core.NO_EQUILIBRIUM | _core.NO_SOIL_WATER)) == 0]
        for bit, text in FLAGS.items():
            hit = int(np.count_nonzero(flags & bit))
            if hit:
                out[text] = hit
        return out

    def layer_values(
        self,
        sim: _core.SimulateResult,
        counts: Counter,
        counted: Optional[np.ndarray] = None,
    ) -> dict[str, np.ndarray]:
        """Values (float64) of every layer for the pixels of ``sim``, by layer key
        (:attr:`gsocseq.products.Layer.key`), from the unrounded stocks; with ``qa_mask`` the
        stocks outside [0, 300] t C/ha are nodata before any difference (script 13) and each
        layer's values outside its range are nodata (script 15), counted in ``counts`` over
        the pixels ``counted`` (all when None; the national layers' pixels in a run: an
        excluded pixel's values go to the FAO delivery only)."""
        values = self._values(sim, counts, counted)
        if self.config.run.qa_mask:
            self.apply_qa(values, counts, counted)
        return values

    def apply_qa(
        self,
        values: dict[str, np.ndarray],
        counts: Counter,
        counted: Optional[np.ndarray] = None,
    ) -> None:
        """Script 15: each layer's values outside its range become nodata (layer by layer);
        those of the pixels ``counted`` (all when None) counted."""
        for layer in self.layers:
            rng = layer.qa_range
            v = values.get(layer.key)
            if rng is None or v is None:
                continue
            lo, hi, lo_in, hi_in = rng
            with np.errstate(invalid="ignore"):
                below = v < lo if lo_in else v <= lo
                above = v > hi if hi_in else v >= hi
                bad = (below | above) & ~np.isnan(v)
            if bad.any():
                hits = int(bad.sum() if counted is None else (bad & counted).sum())
                counts[f"qa:{layer.key.lstrip('_')} outside range"] += hits
                v[bad] = np.nan

    def _values(
        self, sim: _core.SimulateResult, counts: Counter, counted: Optional[np.ndarray]
    ) -> dict[str, np.ndarray]:
        config, scenarios, t0_year = self.config, self.scenarios, self.t0_year
        fao = config.run.mode == "fao-v1.2"
        minmax = config.run.uncertainty != "none"
        qa = config.run.qa_mask
        t0 = sim.soc_t0  # (n, 3)
        out: dict[str, np.ndarray] = {}
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for h, years in enumerate(config.all_horizons):
                main = years == config.run.years
                year = None if main else t0_year + years
                suffix = "" if main else f"_{year}"
                final = sim.final_soc[:, h].copy()  # (n, S, 3)
                if qa:  # script 13: final stocks outside [0, 300] are nodata before differences
                    lo, hi = products.FINAL_RANGE
                    for s, name in enumerate(scenarios):
                        runs = (0, 1, 2) if s > 0 else (0,)
                        for r in runs:
                            v = final[:, s, r]
                            bad = (v < lo) | (v > hi) | np.isinf(v)
                            if bad.any():
                                run_name = ("", "_min", "_max")[r]
                                hits = bad if counted is None else bad & counted
                                counts[
                                    f"qa:finalSOC_{name}{run_name}{suffix} outside [0, 300]"
                                ] += int(hits.sum())
                                v[bad] = np.nan
                f = final[:, :, 0]

                def put(
                    product: str, values: np.ndarray, unc: bool = False, year: Any = year
                ) -> None:
                    out[products.layer_key(product, unc, year)] = values

                if main:
                    put("T0", t0[:, 0])
                for s, name in enumerate(scenarios):
                    put(f"finalSOC_{name}", f[:, s])
                for s, name in enumerate(scenarios):
                    put(f"AbsDiff_{name}", f[:, s] - t0[:, 0])
                for s in range(1, len(scenarios)):
                    put(f"RelDiff_{scenarios[s]}", f[:, s] - f[:, 0])
                for s, name in enumerate(scenarios):
                    put(f"ASR_{name}", (f[:, s] - t0[:, 0]) / years)
                for s in range(1, len(scenarios)):
                    put(f"RSR_{scenarios[s]}", (f[:, s] - f[:, 0]) / years)
                if not minmax:
                    continue
                if fao:
                    unc_0 = ((t0[:, 2] - t0[:, 1]) / (2 * t0[:, 0])) * 100
                    unc_b = ((final[:, 0, 2] - final[:, 0, 1]) / (2 * f[:, 0])) * 100
                    u = self.uncertain
                    unc_s = ((final[:, u, 2] - final[:, u, 1]) / (2 * f[:, u])) * 100
                    if main:
                        put("T0", unc_0, True)
                    put("BAU", unc_b, True)
                    put("SSM", unc_s, True)
                    f0 = f[:, 0]
                    put(
                        "ASR_BAU",
                        np.sqrt((unc_b * f0) ** 2 + (unc_0 * t0[:, 0]) ** 2)
                        / np.abs(t0[:, 0] + f0),
                        True,
                    )
                    for s in range(1, len(scenarios)):
                        fs = f[:, s]
                        put(
                            f"ASR_{scenarios[s]}",
                            np.sqrt((unc_s * fs) ** 2 + (unc_0 * t0[:, 0]) ** 2)
                            / np.abs(t0[:, 0] + fs),
                            True,
                        )
                    for s in range(1, len(scenarios)):
                        fs = f[:, s]
                        put(
                            f"RSR_{scenarios[s]}",
                            np.sqrt((unc_s * fs) ** 2 + (unc_b * f0) ** 2) / np.abs(f0 + fs),
                            True,
                        )
                    continue
                if main:
                    put("T0", _rel_unc(t0[:, 2], t0[:, 1], t0[:, 0]), True)
                for s, name in enumerate(scenarios):
                    value = _rel_unc(final[:, s, 2], final[:, s, 1], f[:, s])
                    put("BAU" if s == 0 else name, value, True)
                    if name == "SSM2":
                        put("SSM", value, True)
                for s, name in enumerate(scenarios):
                    dx = final[:, s, :] - t0  # (n, 3): same run's final minus t0
                    put(f"ASR_{name}", _rel_unc(dx[:, 2], dx[:, 1], dx[:, 0]), True)
                for s in range(1, len(scenarios)):
                    dx = final[:, s, :] - final[:, 0, :]
                    put(f"RSR_{scenarios[s]}", _rel_unc(dx[:, 2], dx[:, 1], dx[:, 0]), True)
        key = products.intermediate_key
        if sim.mc is not None:
            for k, (product, _) in enumerate(products.mc_products(scenarios)):
                for j, stat in enumerate(products.MC_STATS):
                    out[key(products.mc_product(product, stat))] = sim.mc[:, k, j]
            # a pixel with a draw that is not finite has no Monte Carlo values: counted (it
            # was silent: a soc_uncertainty of 90 % left 3 in 4 of the demo's pixels without)
            lost = np.isfinite(t0[:, 0]) & np.isnan(sim.mc[:, :, 0]).any(axis=1)
            counts[MC_NOT_FINITE] += int((lost if counted is None else lost & counted).sum())
        if sim.steady_years is not None:
            for s, name in enumerate(scenarios):
                out[key(products.steady_state_product(name))] = sim.steady_years[:, s]
        if config.run.intermediate:
            out[key("Ceq")] = sim.ceq[:, 0]
            out[key("Cin_t0")] = sim.cin_t0[:, 0]
            out[key("Cin_mean")] = sim.cin_mean[:, 0]
            out[key(products.spinup_pools_product())] = sim.pools_spinup[:, 0, :]
            out[key(products.t0_pools_product(t0_year))] = sim.pools_t0[:, 0, :]
        return out
