"""Run configuration: the TOML file of ``gsocseq run`` (reference: docs/configuration.md).

Every key is checked: unknown keys are errors with a suggestion, values are type- and
range-checked, relative paths are relative to the configuration file.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsocseq import _core
from gsocseq.classes import DEFAULT_MODELLED
from gsocseq.errors import ConfigError
from gsocseq.products import PRODUCT_DEPTH_CM

if TYPE_CHECKING:  # numpy and the core stay out of `gsocseq --help`
    from gsocseq.classes import ClassTable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: the spellings of the core's options (the core parses them)
MODES = _core.MODES
SPINUP_METHODS = _core.SPINUP_METHODS
FAO_SPINUP_METHODS = ("analytical", "numerical")
NUMERICAL_POOLS = _core.NUMERICAL_POOLS
UNCERTAINTY = ("none", "minmax", "montecarlo")
INVALID = ("error", "mask")
#: calendar year before the first warm-up year (t0 = this + warm-up years)
WARMUP_START = 2000
GROUPS = ("crops", "grass", "paddy")
#: the moisture functions (ROTHC.md section 8): RothC-26.3, or the van Genuchten options 2 and
#: 3 of RothC v2.0.0 (Farina et al. 2013), and the deficit of a bare soil
MOISTURE = ("rothc-26.3", "farina-2", "farina-3")
BARE_DEFICIT = ("standard", "wilting-point")
#: the moisture rate modifier at wilting point of RothC-26.3 (minRM_Moist of RothC v2.0.0)
STANDARD_MIN_MOISTURE_RATE = 0.2
#: the soil inputs of the van Genuchten moisture options (organic carbon: default from SOC)
SOIL_WATER_INPUTS = ("silt", "bulk_density")

NATIVE_INPUTS = {
    # key: (required, description)
    "soc": (True, "SOC map, t C/ha 0-30 cm (master grid)"),
    "clay": (True, "clay, %"),
    "land_use": (True, "FAO land-use class, 1 band or one band per warm-up year"),
    "cover": (True, "cover factor, 12 bands"),
    "spinup_temperature": (True, "1981-2000 monthly mean temperature, 12 bands, degrees C"),
    "spinup_precipitation": (True, "1981-2000 monthly precipitation, 12 bands, mm"),
    "spinup_pet": (True, "1981-2000 monthly PET, 12 bands, mm"),
    "warmup_temperature": (True, "monthly temperature series, 12*Y bands, degrees C"),
    "warmup_precipitation": (True, "monthly precipitation series, 12*Y bands, mm"),
    "warmup_pet": (True, "monthly PET series, 12*Y bands, mm"),
    "npp_reference": (False, "1981-2000 mean MIAMI NPP, t C/ha/yr"),
    "npp_reference_min": (False, "NPP reference of the min run"),
    "npp_reference_max": (False, "NPP reference of the max run"),
    "reference_temperature": (False, "1981-2000 monthly temperature, 240 bands"),
    "reference_precipitation": (False, "1981-2000 monthly precipitation, 240 bands"),
    "forward_temperature": (False, "forward monthly temperature, 12 bands"),
    "forward_precipitation": (False, "forward monthly precipitation, 12 bands"),
    "forward_pet": (False, "forward monthly PET, 12 bands"),
    "spinup_land_use": (False, "land-use class of the spin-up, 1 band"),
    "soc_uncertainty": (False, "SOC uncertainty, %"),
    "clay_uncertainty": (False, "clay uncertainty, %"),
    "sand": (False, "sand, % (exclusion mask)"),
    "ec": (False, "electrical conductivity, dS/m (exclusion mask)"),
    "silt": (False, "silt, % (moisture farina-2, farina-3)"),
    "bulk_density": (False, "bulk density, g/cm3 (moisture farina-2, farina-3)"),
    "organic_carbon": (False, "organic carbon, % (moisture farina-2, farina-3; default from SOC)"),
    "zone": (False, "zone code, whole number >= 0 (calibration tables and practices by zone)"),
    **{
        f"forward_series_{part}": (False, f"forward monthly {what}, 12*H bands (METHOD.md 10)")
        for part, what in (
            ("temperature", "temperature series, degrees C"),
            ("precipitation", "precipitation series, mm"),
            ("pet", "PET series, mm"),
        )
    },
    "warmup_npp": (False, "NPP of each warm-up year, t C/ha/yr, Y bands (METHOD.md 10)"),
    "warmup_carbon_input": (False, "carbon input of each warm-up year, t C/ha/yr, Y bands"),
}
FAO_INPUTS = {
    "spinup_stack": (True, "FAO spin-up stack, 52 bands"),
    "warmup_stack": (True, "FAO warm-up stack, 14 + 2 Y bands"),
    "forward_stack": (True, "FAO forward stack, 52 bands"),
    "warmup_temperature": (True, "2001-2020 temperature, 12*Y bands"),
    "warmup_precipitation": (True, "2001-2020 precipitation, 12*Y bands"),
    "warmup_pet": (True, "2001-2020 PET, 12*Y bands"),
    "npp_reference": (True, "NPP_MIAMI_MEAN_81-00, t C/ha/yr"),
    "npp_reference_min": (False, "NPP reference of the min run"),
    "npp_reference_max": (False, "NPP reference of the max run"),
    "soc_uncertainty": (False, "SOC uncertainty, %"),
    "clay_uncertainty": (False, "clay uncertainty, %"),
    "sand": (False, "sand, % (exclusion mask)"),
    "ec": (False, "electrical conductivity, dS/m (exclusion mask)"),
    "silt": (False, "silt, % (moisture farina-2, farina-3)"),
    "bulk_density": (False, "bulk density, g/cm3 (moisture farina-2, farina-3)"),
    "organic_carbon": (False, "organic carbon, % (moisture farina-2, farina-3; default from SOC)"),
    "zone": (False, "zone code, whole number >= 0 (calibration tables and practices by zone)"),
}
#: TerraClimate stores T and PET x10; the FAO layout holds the raw series (METHOD.md 1, 2)
FAO_SCALES = {"warmup_temperature": 0.1, "warmup_pet": 0.1}
#: The plant input of the forward runs of a forward climate series (METHOD.md section 10).
FORWARD_INPUTS: tuple[str, ...] = _core.FORWARD_INPUTS
DEFAULT_SCENARIOS = {"SSM1": 0.05, "SSM2": 0.10, "SSM3": 0.20}


@dataclass(frozen=True)
class InputSpec:
    """One input raster: path, value = raw * scale + offset, optional 1-based band list."""

    path: Path
    scale: float = 1.0
    offset: float = 0.0
    bands: tuple[int, ...] | None = None


@dataclass(frozen=True)
class RunOptions:
    """The [run] table."""

    name: str = "GSOCseq"
    output: Path = Path("out")
    mode: _core.Mode = "rothamsted"
    spinup: _core.SpinupMethod = "equilibrium"
    numerical_pools: _core.NumericalPools = "second-run"
    years: int = 20
    horizons: tuple[int, ...] = ()
    uncertainty: str = "minmax"
    qa_mask: bool = True
    invalid: str = "error"
    threads: int = 0
    intermediate: bool = False
    flags: bool = False
    samples: int = 100
    seed: int = 0
    steady_state: bool = False
    block_size: int = 256
    memory: str | None = None  # the run's memory budget ("512M"), see gsocseq.pipeline.memory
    depth: float = PRODUCT_DEPTH_CM
    overwrite: bool = False
    scheduler: str | None = None
    moisture: _core.MoistureModel = "rothc-26.3"
    bare_deficit: _core.BareDeficit = "standard"
    min_moisture_rate: float = STANDARD_MIN_MOISTURE_RATE
    calibration: Path | None = None
    forward_inputs: _core.ForwardInputs = "constant"


@dataclass(frozen=True)
class Exclusions:
    """The [exclusions] table (thresholds; None disables a rule)."""

    enabled: bool = True
    soc_max: float | None = 200.0
    sand_max: float | None = 90.0
    ec_max: float | None = 4.0


@dataclass(frozen=True)
class Checks:
    """The [checks] table: unit plausibility thresholds (METHOD.md section 2). A wrong unit
    passes the value ranges, so every run and ``validate`` also checks the distribution of each
    quantity over the modelled pixels before computing; a user who knows better changes them."""

    soc_median_min: float = 10.0  # t C/ha: below, kg C/m2? (x10)
    clay_median_min: float = 1.0  # %: below, a fraction? (x100)
    clay_median_max: float = 100.0  # %: above, g/kg? (x0.1)
    sand_median_min: float = 1.0  # %: below, a fraction? (x100)
    silt_median_min: float = 1.0  # %: below, a fraction? (x100)
    uncertainty_median_min: float = 1.0  # %, SOC and clay uncertainty: below, a fraction?
    temperature_min: float = -60.0  # degrees C, any monthly mean (x10?)
    temperature_max: float = 60.0  # degrees C, any monthly mean (x10?)
    temperature_median_max: float = 45.0  # degrees C, median annual mean (x10?)
    precipitation_max: float = 3000.0  # mm, any monthly sum
    pet_max: float = 1000.0  # mm, any monthly sum (TerraClimate x10?)
    pet_median_max: float = 4000.0  # mm, median annual sum (TerraClimate x10?)
    precipitation_median_min: float = 10.0  # mm, median annual sum: below, m? (x1000)
    pet_median_min: float = 100.0  # mm, median annual sum: below, mm/day (x30.4) or m?
    #: largest ratio between the typical values of one climate quantity in two inputs (the
    #: 1981-2000 means, the 2001-2020 series, the forward climate): beyond, a wrong scale
    period_ratio_max: float = 5.0
    #: largest ratio of a 12*Y-band series' variance of each month across the years (read year
    #: by year) to that of runs of Y consecutive bands: beyond, stored month by month
    series_order_ratio: float = 10.0
    #: largest ratio between the median organic carbon input and the organic carbon the SOC
    #: and bulk density inputs imply (SOC / (bulk density x depth)): beyond, a wrong unit
    organic_carbon_ratio_max: float = 5.0
    npp_max: float = 50.0  # t C/ha/yr, any pixel (g C/m2/yr?)
    #: largest ratio (either way) of the median over the modelled pixels of npp_reference
    #: (and _min, _max) / the warm-up's own NPP (the mean MIAMI NPP of its years, or of the
    #: warmup_npp bands). A wrong unit is x10 (kg C/m2), x100 (g C/m2) or x0.1 (stored x10):
    #: refused. 3, not lower: two climate periods of one area may differ up to
    #: ``period_ratio_max`` (synthetic areas, scenario studies, a reference from another
    #: climate source), and MIAMI's NPP follows rain almost linearly in dry places, so a
    #: tighter default would refuse valid inputs; a country that knows its two periods' NPP
    #: differ by tens of percent sets 1.5 to catch dry matter (x2) too
    npp_reference_ratio_max: float = 3.0
    ec_median_max: float = 50.0  # dS/m, median EC (seawater's): above, mS/m or uS/cm?


@dataclass(frozen=True)
class Config:
    """A validated run configuration."""

    run: RunOptions
    inputs: Mapping[str, InputSpec]
    layout: str  # "native" or "fao"
    scenarios: Mapping[str, tuple[float, float, float]]
    modelled: tuple[int, ...] = DEFAULT_MODELLED
    #: practice settings of the scenarios that have some (METHOD.md section 10)
    practices: Mapping[str, Mapping[str, Setting]] = field(default_factory=dict)
    class_table: ClassTable = field(default_factory=lambda: _default_class_table())
    exclusions: Exclusions = field(default_factory=Exclusions)
    checks: Checks = field(default_factory=Checks)
    base_dir: Path = Path(".")
    source: Path | None = None

    @property
    def output_dir(self) -> Path:
        return self.run.output

    @property
    def all_horizons(self) -> tuple[int, ...]:
        return tuple(sorted({self.run.years, *self.run.horizons}))


def _default_class_table() -> ClassTable:
    from gsocseq.classes import ClassTable

    return ClassTable.default()


def _stack_dpm_rpm(class_table: ClassTable, practices: Mapping[str, Any]) -> None:
    """In the FAO layout the DPM/RPM ratio of every phase is the stacks' DR bands, never the
    table's (METHOD.md section 3): a ``[classes.N] dpm_rpm`` that changes a default class
    could never change a pixel, unless a scenario's ``land_use`` moves pixels to that class
    (its forward runs take the table's). Refused, naming the fix (it was accepted, and the
    layers were those of the stacks' DR bit for bit)."""
    from gsocseq.classes import ClassTable

    default = ClassTable.default().dpm_rpm
    targets: set[int] = set()
    for settings in practices.values():
        if "land_use" in settings:
            kind, value = settings["land_use"]
            targets.update([value] if kind == "everywhere" else value.values())
    for code, entry in sorted(class_table.changes.items()):
        given = entry.get("dpm_rpm")
        if given is None or math.isnan(default[code]) or given == default[code]:
            continue  # not given, a class new to the table (needs one), or the default
        if code in targets:
            continue
        raise ConfigError(
            f"[classes.{code}].dpm_rpm: {given:g} (default {default[code]:g}) is not used in the "
            "FAO v1.2 layout ([inputs.fao]), which reads the DPM/RPM ratio of every phase from "
            "the stacks' DR bands: write the ratio into the DR bands of the spin-up, warm-up "
            "and forward stacks, or give the inputs one per file ([inputs], docs/configuration"
            ".md), or remove dpm_rpm"
        )


def _class_table(classes: Mapping[str, Any]) -> ClassTable:
    """The run's class table: the default with the ``[classes.N]`` changes (METHOD.md
    section 10), each checked."""
    from gsocseq.classes import ClassTable, check_class

    changes: dict[int, dict[str, Any]] = {}
    for key, entry in classes.items():
        if key == "modelled":
            continue
        where = f"[classes.{key}]"
        if not str(key).isdigit() or not 0 <= int(key) <= 255:
            raise ConfigError(
                f"[classes]: unknown key {key!r} (expected modelled, or a class code 0-255 "
                "with its table, e.g. [classes.14])"
            )
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected a table (name, dpm_rpm, npp_coefficient, ...)")
        try:
            changes[int(key)] = check_class(int(key), entry, where)
        except ValueError as e:
            raise ConfigError(str(e)) from None
    return ClassTable.default().with_changes(changes)


def _suggest(key: str, allowed: Any) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(table: Mapping[str, Any], allowed: Any, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r}{_suggest(key, allowed)}")


def typed(value: Any, kind: Any, where: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if kind is float:
        # TOML's nan is no number: compared with it, every check passes and every value is NaN
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise AssertionError(kind)


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    value = typed(value, str, where)
    if value not in choices:
        raise ConfigError(
            f"{where}: {value!r} is not one of {', '.join(choices)}{_suggest(value, choices)}"
        )
    return value


def _parse_bands(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, list):
        bands = [typed(v, int, where) for v in value]
    elif isinstance(value, str):
        bands = []
        for part in value.split(","):
            part = part.strip()
            try:
                if "-" in part:
                    lo, hi = (int(v) for v in part.split("-", 1))
                    bands.extend(range(lo, hi + 1))
                else:
                    bands.append(int(part))
            except ValueError:
                raise ConfigError(f"{where}: cannot read band list {value!r}") from None
    else:
        raise ConfigError(f'{where}: expected a band list like "1-12" or [1, 2], got {value!r}')
    if not bands or min(bands) < 1:
        raise ConfigError(f"{where}: bands are numbered from 1, got {value!r}")
    return tuple(bands)


def resolve_path(base: Path, value: str, where: str) -> Path:
    """``base / value`` made absolute; a NUL or other control character, or a symlink loop,
    is a ConfigError naming ``where``."""
    bad = next((c for c in value if ord(c) < 32), None)
    if bad is not None:
        escape = {"\t": "t", "\n": "n", "\r": "r", "\b": "b", "\f": "f"}.get(bad)
        hint = (
            f": a Windows path in double quotes? There '\\{escape}' is the escape of that "
            'character; write the path with / ("C:/temp/SOC.tif") or in single quotes '
            "('C:\\temp\\SOC.tif')"
            if escape
            else ""
        )
        raise ConfigError(f"{where}: {value!r} contains the control character {bad!r}{hint}")
    try:
        return (base / value).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop (< 3.13)
        raise ConfigError(f"{where}: {base / value} cannot be resolved ({exc})") from None


def _input(value: Any, where: str, base: Path, default_scale: float = 1.0) -> InputSpec:
    if isinstance(value, str):
        path = resolve_path(base, value, where) if value else Path()
        return InputSpec(path=path, scale=default_scale)
    if isinstance(value, Mapping):
        check_keys(value, ("path", "scale", "offset", "bands"), where)
        if "path" not in value:
            raise ConfigError(f"{where}: missing 'path'")
        bands = _parse_bands(value["bands"], f"{where}.bands") if "bands" in value else None
        scale = typed(value.get("scale", default_scale), float, f"{where}.scale")
        offset = typed(value.get("offset", 0.0), float, f"{where}.offset")
        if scale == 0:
            raise ConfigError(f"{where}.scale: must not be 0")
        for key, v in (("scale", scale), ("offset", offset)):
            if not math.isfinite(v):
                raise ConfigError(f"{where}.{key}: expected a finite number, got {v!r}")
        path = typed(value["path"], str, f"{where}.path")
        return InputSpec(
            path=resolve_path(base, path, f"{where}.path"), scale=scale, offset=offset, bands=bands
        )
    raise ConfigError(f"{where}: expected a path or {{ path = ..., scale = ... }}, got {value!r}")


def _inputs(table: Any, base: Path) -> tuple[str, dict[str, InputSpec]]:
    if not isinstance(table, Mapping):
        raise ConfigError("[inputs]: expected a table")
    if "fao" in table:
        extra = [k for k in table if k != "fao"]
        if extra:
            raise ConfigError(
                f"[inputs]: give either [inputs.fao] or the single inputs, not both (found {extra})"
            )
        fao = table["fao"]
        if not isinstance(fao, Mapping):
            raise ConfigError("[inputs.fao]: expected a table")
        check_keys(fao, FAO_INPUTS, "[inputs.fao]")
        specs = {
            k: _input(v, f"[inputs.fao].{k}", base, FAO_SCALES.get(k, 1.0)) for k, v in fao.items()
        }
        missing = [k for k, (req, _) in FAO_INPUTS.items() if req and k not in specs]
        if missing:
            raise ConfigError(f"[inputs.fao]: missing {', '.join(missing)}")
        return "fao", specs
    check_keys(table, (*NATIVE_INPUTS, "fao"), "[inputs]")
    specs = {k: _input(v, f"[inputs].{k}", base) for k, v in table.items()}
    missing = [k for k, (req, _) in NATIVE_INPUTS.items() if req and k not in specs]
    if missing:
        raise ConfigError(f"[inputs]: missing {', '.join(missing)}")
    if "npp_reference" not in specs and not (
        "reference_temperature" in specs and "reference_precipitation" in specs
    ):
        raise ConfigError(
            "[inputs]: give npp_reference, or reference_temperature and reference_precipitation "
            "(240-band 1981-2000 series) to compute it"
        )
    for prefix in ("forward", "forward_series"):
        keys = [f"{prefix}_{part}" for part in ("temperature", "precipitation", "pet")]
        partial = [k for k in keys if k in specs]
        if partial and len(partial) != 3:
            raise ConfigError(
                f"[inputs]: {prefix.replace('_', ' ')} climate needs {', '.join(keys[:2])} and "
                f"{keys[2]} together (found only {', '.join(partial)})"
            )
    if "warmup_npp" in specs and "warmup_carbon_input" in specs:
        raise ConfigError(
            "[inputs]: give warmup_npp (NPP of each warm-up year, scaled as MIAMI's) or "
            "warmup_carbon_input (the inputs themselves), not both"
        )
    return "native", specs


def forward_inputs_unused(where: str) -> str:
    """The warning of ``forward_inputs = "npp-scaled"`` without a forward climate series
    (``where``: the forward_series_* inputs or columns), whose forward runs take the 12-month
    climatology: the option changes nothing there."""
    return (
        'forward_inputs = "npp-scaled" not used: it scales the plant inputs of each year of a '
        f"forward climate series, and there is none ({where}): the forward runs took the "
        "12-month forward climatology with constant inputs (Cin_mean x the scenario)"
    )


def soil_water_missing(moisture: str, missing: list[str], where: str) -> str:
    """The message of a run with a van Genuchten moisture option and no ``missing`` soil
    inputs."""
    return (
        f'{where}: moisture = "{moisture}" needs {" and ".join(missing)} (silt %, bulk_density '
        "g/cm3; organic_carbon % is optional: default SOC / (bulk density x depth)); "
        '`gsocseq prepare` writes them from SoilGrids, or use moisture = "rothc-26.3"'
    )


def _moisture(table: Mapping[str, Any], mode: str, prefix: str) -> dict[str, Any]:
    """The moisture options of ``table`` ([run] keys moisture, bare_deficit,
    min_moisture_rate), checked: the RothC v2.0.0 options run in rothamsted mode only, and
    min_moisture_rate is 0.2 with RothC-26.3 (as the official program: refused, not ignored)."""
    out: dict[str, Any] = {}
    if "moisture" in table:
        out["moisture"] = _choice(table["moisture"], MOISTURE, f"{prefix}moisture")
    if "bare_deficit" in table:
        out["bare_deficit"] = _choice(table["bare_deficit"], BARE_DEFICIT, f"{prefix}bare_deficit")
    if "min_moisture_rate" in table:
        rate = typed(table["min_moisture_rate"], float, f"{prefix}min_moisture_rate")
        if not 0.0 <= rate <= 1.0:
            raise ConfigError(
                f"{prefix}min_moisture_rate: expected 0 to 1 (the moisture rate modifier at "
                f"wilting point; 0.2, Farina et al. also used 0.15 and 0.1), got {rate:g}"
            )
        out["min_moisture_rate"] = rate
    return out


def _check_moisture(run: RunOptions, prefix: str) -> None:
    if run.mode != "rothamsted" and (
        run.moisture != "rothc-26.3" or run.bare_deficit != "standard"
    ):
        raise ConfigError(
            f"{prefix}moisture: the dryland moisture options of RothC v2.0.0 (moisture, "
            'bare_deficit) run in mode = "rothamsted"; fao-v1.2 keeps the scripts\' moisture '
            "function"
        )
    if run.moisture == "rothc-26.3" and run.min_moisture_rate != STANDARD_MIN_MOISTURE_RATE:
        raise ConfigError(
            f"{prefix}min_moisture_rate: {run.min_moisture_rate:g} needs moisture = "
            '"farina-2" or "farina-3" (RothC-26.3 uses 0.2, as the official RothC v2.0.0 '
            "does for its option 1)"
        )


def spinup_land_use_in_fao_mode(where: str) -> str:
    """The message of a spin-up land use given to a fao-v1.2 run (which would not use it)."""
    return (
        f"{where}: fao-v1.2 runs the spin-up on the land use of the last warm-up year (2020), "
        "as the scripts do (METHOD.md section 3), and would not use it; a spin-up land use is "
        'rothamsted mode\'s: remove it, or set mode = "rothamsted"'
    )


def _calibration_mode(table: Any, mode: str, prefix: str) -> None:
    if table is not None and mode != "rothamsted":
        raise ConfigError(
            f'{prefix}calibration: calibrated multipliers need mode = "rothamsted" (they were '
            "fitted to year-end states of the official RothC numerics)"
        )


#: The practice settings of a scenario (METHOD.md section 10): key -> (what a value is, its
#: lowest and highest value, whether the lowest is excluded).
PRACTICE_KEYS: dict[str, tuple[str, float, float, bool]] = {
    "added_input": ("plant input added, t C/ha/yr", 0.0, 50.0, False),
    "fym": ("farmyard manure or compost, t C/ha/yr", 0.0, 50.0, False),
    "rate_factor": ("multiplier of the decomposition rates (0.95: no-till)", 0.0, 5.0, True),
    "cover": ("12 monthly cover factors 0.6 (covered) .. 1.0 (bare)", 0.6, 1.0, False),
    "land_use": ("the forward land-use class (land-use change)", 0.0, 255.0, False),
    "adoption_years": ("years of linear adoption, whole", 0.0, 1000.0, False),
}

#: A practice setting as the configuration gives it: ("everywhere", value), ("group",
#: {group: value}), ("class", {code: value}), ("zone", {zone: value}) or ("raster", the key of
#: its input in ``Config.inputs``: :func:`practice_input`); a value is a number, or 12 numbers
#: for ``cover``; a zone's value may itself be ("group", ...) or ("class", ...).
Setting = tuple[str, Any]


def _practice_value(key: str, value: Any, where: str) -> Any:
    what, low, high, strict = PRACTICE_KEYS[key]
    if key == "cover":
        if not (
            isinstance(value, list)
            and len(value) == 12
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            and all(low <= v <= high for v in value)
        ):
            raise ConfigError(f"{where}: {value!r}, expected {what}")
        return tuple(float(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {value!r}, expected a number ({what})")
    v = float(value)
    if not (low < v if strict else low <= v) or v > high or v != v:
        raise ConfigError(f"{where}: {value!r}, expected {what}")
    if key in ("land_use", "adoption_years") and v != int(v):
        raise ConfigError(f"{where}: {value!r}, expected a whole number ({what})")
    return int(v) if key in ("land_use", "adoption_years") else v


def _by_group_or_class(key: str, value: Mapping[str, Any], where: str) -> Setting | None:
    """A table per SSM group ("group", {...}) or per class code ("class", {...}); None when
    ``value`` is neither."""
    if set(value) <= set(GROUPS):
        return ("group", {g: _practice_value(key, v, f"{where}.{g}") for g, v in value.items()})
    if all(str(c).isdigit() and int(c) <= 255 for c in value):
        return (
            "class",
            {int(c): _practice_value(key, v, f"{where}.{c}") for c, v in value.items()},
        )
    return None


def _zone_value(key: str, value: Any, where: str) -> Any:
    """The value of one zone: a value, or a table per SSM group or per class within the zone
    (("group", {...}) or ("class", {...}))."""
    if not isinstance(value, Mapping):
        return _practice_value(key, value, where)
    setting = _by_group_or_class(key, value, where)
    if setting is None:
        raise ConfigError(f"{where}: expected a value, or a table per SSM group or per class")
    return setting


def practice_input(scenario: str, key: str) -> str:
    """The key in ``Config.inputs`` of the raster of setting ``key`` of ``scenario``."""
    return f"scenarios.{scenario}.{key}"


def practice_rasters(config: Config) -> dict[str, tuple[str, str]]:
    """The practice settings given as rasters: {input key: (scenario, setting key)}."""
    return {
        value: (name, key)
        for name, settings in config.practices.items()
        for key, (kind, value) in settings.items()
        if kind == "raster"
    }


def _practice_setting(
    key: str, value: Any, where: str, base: Path, rasters: dict[str, InputSpec], scenario: str
) -> Setting:
    """A practice setting: a value everywhere, per SSM group (crops, grass, paddy), per class
    ("2" = ...), per zone of the `zone` input (zones = {"1" = ...}) or a raster of the values
    ({ path = "...", scale = ... }: nodata keeps BAU's value), added to ``rasters``."""
    if not isinstance(value, Mapping):
        return ("everywhere", _practice_value(key, value, where))
    if "path" in value:
        if key == "land_use":
            raise ConfigError(
                f"{where}: the land-use change is given everywhere, per group, class or zone "
                "(a class of the table each), not as a raster"
            )
        name = practice_input(scenario, key)
        rasters[name] = _input(value, where, base)
        return ("raster", name)
    if set(value) == {"zones"}:
        zones = value["zones"]
        if not isinstance(zones, Mapping) or not zones or not all(str(z).isdigit() for z in zones):
            raise ConfigError(
                f"{where}.zones: expected a table of zone codes of the zone input, e.g. "
                '{ "1" = 0.5, "2" = 1.0 }'
            )
        return (
            "zone",
            {int(z): _zone_value(key, v, f"{where}.zones.{z}") for z, v in zones.items()},
        )
    setting = _by_group_or_class(key, value, where)
    if setting is not None:
        return setting
    raise ConfigError(
        f"{where}: expected a value, a table per SSM group (crops, grass, paddy), per class "
        '("2" = ...) or per zone (zones = { "1" = ... })'
    )


def _describe_value(key: str, value: Any) -> str:
    unit = {"added_input": " t C/ha/yr", "fym": " t C/ha/yr", "adoption_years": " years"}
    if key == "cover":
        return "c " + "/".join(f"{v:g}" for v in value)
    if key == "land_use":
        return f"class {value}"
    return f"{value:g}{unit.get(key, '')}"


def _describe_setting(key: str, setting: Setting) -> str:
    kind, value = setting
    if kind == "everywhere":
        return _describe_value(key, value)
    if kind == "zone":
        parts = []
        for zone, v in value.items():
            nested = isinstance(v, tuple) and len(v) == 2 and v[0] in ("group", "class")
            inner = _describe_setting(key, v) if nested else _describe_value(key, v)
            parts.append(f"zone {zone}: {inner}")
        return "; ".join(parts)
    label = "" if kind == "group" else "class "
    return ", ".join(f"{label}{k}: {_describe_value(key, v)}" for k, v in value.items())


#: What each practice is called in a scenario's description.
PRACTICE_WORDS = {
    "added_input": "plant input added",
    "fym": "manure/compost",
    "rate_factor": "decomposition rate x",
    "cover": "cover",
    "land_use": "land use changed to",
    "adoption_years": "adopted over",
}


def describe_scenarios(config: Config) -> dict[str, str]:
    """What each scenario does, in words (the run summary and the report's scenario table)."""
    out = {"BAU": "the warm-up's mean input (Cin_mean), the land use and cover of t0"}
    for name, inc in config.scenarios.items():
        if len(set(inc)) == 1:
            parts = [f"input +{100 * inc[0]:g} %"] if inc[0] else []
        else:
            parts = ["input " + ", ".join(f"{g} +{100 * v:g} %" for g, v in zip(GROUPS, inc))]
        for key, setting in config.practices.get(name, {}).items():
            if setting[0] == "raster":  # the file's name (its values vary by pixel)
                text = f"from {config.inputs[setting[1]].path.name}"
            else:
                text = _describe_setting(key, setting)
            parts.append(f"{PRACTICE_WORDS[key]} {text}")
        out[name] = "; ".join(parts) or "as BAU"
    return out


def _nested(value: Any) -> bool:
    """Whether a zone's value is itself a table per SSM group or per class."""
    return isinstance(value, tuple) and len(value) == 2 and value[0] in ("group", "class")


def _setting_values(setting: Setting) -> list[Any]:
    """Every value a practice setting gives (those within zones too)."""
    kind, value = setting
    if kind == "everywhere":
        return [value]
    out: list[Any] = []
    for v in value.values():
        out += _setting_values(v) if _nested(v) else [v]
    return out


def _setting_classes(setting: Setting) -> list[int]:
    """The class codes a practice setting gives values for (those within zones too)."""
    kind, value = setting
    if kind == "class":
        return list(value)
    if kind == "zone":
        return [c for v in value.values() if _nested(v) and v[0] == "class" for c in v[1]]
    return []


def _check_practices(
    practices: Mapping[str, Mapping[str, Setting]],
    scenarios: Mapping[str, tuple[float, float, float]],
    modelled: tuple[int, ...],
) -> None:
    """Practice settings that could never change a pixel are errors: a value for a class no
    pixel is modelled as, adoption years with nothing to adopt."""
    for name, settings in practices.items():
        where = f"[scenarios.{name}]"
        for key, setting in settings.items():
            for code in _setting_classes(setting):
                if code not in modelled:
                    raise ConfigError(
                        f"{where}.{key}: class {code} is not a modelled class "
                        f"([classes].modelled: {', '.join(map(str, modelled))}); a value per "
                        "class applies to the pixels of that class in the last warm-up year"
                    )
        if set(settings) == {"adoption_years"} and not any(scenarios[name]):
            years = settings["adoption_years"][1]
            raise ConfigError(
                f"{where}.adoption_years = {years!r}: nothing to adopt (the scenario has no "
                "practice and no input increase); add the practice (fym, rate_factor, cover, "
                "added_input, land_use, increase) or remove adoption_years"
            )


def practice_warnings(config: Config) -> list[str]:
    """What the run summary (and `gsocseq site`) should tell about the practice scenarios:
    input increases above +100 % (a percentage written as a fraction?), adoption years longer
    than a horizon (METHOD.md section 10: the ramp over N years is not shortened, so by a
    horizon of H < N years the practice is only H/N adopted)."""
    out = []
    for name, increases in config.scenarios.items():
        big = [(g, v) for g, v in zip(GROUPS, increases) if v > INCREASE_MAX]
        if big:
            listing = ", ".join(f"{g} {v:g} (+{100 * v:g} %)" for g, v in big)
            out.append(
                f"[scenarios.{name}]: input increase {listing}, above +{100 * INCREASE_MAX:g} "
                f"%: a percentage? {big[0][1]:g} % is {big[0][1] / 100:g}"
            )
    for name, settings in config.practices.items():
        if "adoption_years" not in settings:
            continue
        n = max(_setting_values(settings["adoption_years"]))
        for h in (h for h in config.all_horizons if h < n):
            out.append(
                f"[scenarios.{name}].adoption_years = {n}: longer than the {h}-year horizon; "
                f"the ramp moves linearly over {n} years, so its {h}-year layers have only "
                f"{h}/{n} of the practice"
            )
    return out


def zone_tables(config: Config) -> list[tuple[str, list[int]]]:
    """The zone tables of the practice scenarios: (``[scenarios.NAME].key``, zone codes)."""
    return [
        (f"[scenarios.{name}].{key}", list(value))
        for name, settings in config.practices.items()
        for key, (kind, value) in settings.items()
        if kind == "zone"
    ]


def check_zone_codes(config: Config, present: Iterable[int], source: str) -> list[str]:
    """The zone codes of the practice tables against the codes ``present`` in the zone input
    ``source``: a ConfigError when no code of a table is present (the scenario would be BAU
    everywhere), else a warning for each table naming the codes it has and the input has not."""
    have = {int(c) for c in present}
    out = []
    for where, codes in zone_tables(config):
        absent = [c for c in codes if c not in have]
        listing = ", ".join(map(str, absent))
        seen = ", ".join(map(str, sorted(have)[:20])) or "none"
        if len(absent) == len(codes):
            raise ConfigError(
                f"{where}: no zone of the table ({listing}) is in the zone input {source} "
                f"(its zones: {seen}); the scenario would be BAU everywhere"
            )
        if absent:
            out.append(
                f"{where}: zone(s) {listing} of the table are not in the zone input {source}"
            )
    return out


#: the input increase of a scenario above which the run warns (+100 %; FAO's SSM1-3 are +5,
#: +10, +20 %): beyond, most likely a percentage
INCREASE_MAX = 1.0


def _scenarios(
    table: Any, base: Path = Path("."), rasters: dict[str, InputSpec] | None = None
) -> tuple[dict[str, tuple[float, float, float]], dict[str, dict[str, Setting]]]:
    """The input increase of every scenario per SSM group, and the practice settings of those
    that have some (METHOD.md sections 5 and 10); the rasters of the settings given so go into
    ``rasters`` (paths relative to ``base``)."""
    rasters = {} if rasters is None else rasters
    if table is None:
        return {k: (v, v, v) for k, v in DEFAULT_SCENARIOS.items()}, {}
    if not isinstance(table, Mapping) or not table:
        raise ConfigError("[scenarios]: expected tables like [scenarios.SSM1]")
    out: dict[str, tuple[float, float, float]] = {}
    practices: dict[str, dict[str, Setting]] = {}
    for name, groups in table.items():
        where = f"[scenarios.{name}]"
        if name == "BAU":
            raise ConfigError(f"{where}: BAU is always run with the warm-up's mean input")
        if not name.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"{where}: scenario names are letters, digits, '-' and '_'")
        if not isinstance(groups, Mapping):
            raise ConfigError(f"{where}: expected crops, grass, paddy increases")
        check_keys(groups, (*GROUPS, "increase", *PRACTICE_KEYS), where)
        if "increase" in groups and any(g in groups for g in GROUPS):
            raise ConfigError(f"{where}: give increase or crops/grass/paddy, not both")
        values = []
        for g in GROUPS:
            default = groups.get("increase", 0.0)
            raw = groups.get(g, default)
            v = typed(raw, float, f"{where}.{g}")
            if v > INCREASE_MAX and isinstance(raw, int) and not isinstance(raw, bool):
                # a whole number above 1 is a percentage (5 meaning 5 % ran +500 %, exit 0);
                # a fraction is written with its point (1.5: +150 %, with a warning)
                raise ConfigError(
                    f"{where}.{g}: the input increase is a fraction >= 0 (0.05 = +5 %), got "
                    f"{raw} (+{100 * raw} %): a percentage? {raw} % is {raw / 100:g}; write "
                    f"{raw}.0 if +{100 * raw} % is meant"
                )
            if v < 0 or v > 10:
                raise ConfigError(
                    f"{where}.{g}: the input increase is a fraction >= 0 (0.05 = +5 %), got {v}"
                )
            values.append(v)
        out[name] = (values[0], values[1], values[2])
        settings = {
            key: _practice_setting(key, groups[key], f"{where}.{key}", base, rasters, name)
            for key in PRACTICE_KEYS
            if key in groups
        }
        if settings:
            practices[name] = settings
    return out, practices


def _checks(table: Any) -> Checks:
    if not isinstance(table, Mapping):
        raise ConfigError("[checks]: expected a table")
    fields = Checks.__dataclass_fields__
    check_keys(table, fields, "[checks]")
    values = {k: typed(v, float, f"[checks].{k}") for k, v in table.items()}
    checks = Checks(**values)
    if checks.clay_median_min >= checks.clay_median_max:
        raise ConfigError(
            f"[checks]: clay_median_min ({checks.clay_median_min:g}) must be below "
            f"clay_median_max ({checks.clay_median_max:g})"
        )
    if checks.temperature_min >= checks.temperature_max:
        raise ConfigError(
            f"[checks]: temperature_min ({checks.temperature_min:g}) must be below "
            f"temperature_max ({checks.temperature_max:g})"
        )
    positive = ("precipitation_max", "pet_max", "pet_median_max", "npp_max", "clay_median_max")
    for k in (*positive, "ec_median_max"):
        if getattr(checks, k) <= 0:
            raise ConfigError(f"[checks].{k}: expected > 0, got {getattr(checks, k):g}")
    if checks.period_ratio_max <= 1:
        raise ConfigError(
            f"[checks].period_ratio_max: expected > 1 (a ratio of typical values), got "
            f"{checks.period_ratio_max:g}"
        )
    if checks.organic_carbon_ratio_max <= 1:
        raise ConfigError(
            f"[checks].organic_carbon_ratio_max: expected > 1 (a ratio of medians), got "
            f"{checks.organic_carbon_ratio_max:g}"
        )
    if checks.npp_reference_ratio_max <= 1:
        raise ConfigError(
            f"[checks].npp_reference_ratio_max: expected > 1 (a ratio of NPPs), got "
            f"{checks.npp_reference_ratio_max:g}"
        )
    if checks.series_order_ratio <= 1:
        raise ConfigError(
            f"[checks].series_order_ratio: expected > 1 (a ratio of variances), got "
            f"{checks.series_order_ratio:g}"
        )
    return checks


def from_dict(
    data: Mapping[str, Any],
    base_dir: str | os.PathLike | None = None,
    source: Path | None = None,
    require_inputs: bool = True,
) -> Config:
    """Validate a configuration given as a mapping (the parsed TOML). ``require_inputs=False``
    for runs whose inputs come from elsewhere (a table of sites)."""
    base = Path(base_dir or ".").resolve()
    check_keys(
        data, ("run", "inputs", "scenarios", "classes", "exclusions", "checks"), "configuration"
    )
    run_table = data.get("run", {})
    if not isinstance(run_table, Mapping):
        raise ConfigError("[run]: expected a table")
    fields = RunOptions.__dataclass_fields__
    check_keys(run_table, fields, "[run]")
    mode = _choice(run_table.get("mode", "rothamsted"), MODES, "[run].mode")
    fao = mode == "fao-v1.2"
    opts: dict[str, Any] = {"mode": mode}
    opts["spinup"] = _choice(
        run_table.get("spinup", "analytical" if fao else "equilibrium"),
        FAO_SPINUP_METHODS if fao else SPINUP_METHODS,
        "[run].spinup",
    )
    opts["numerical_pools"] = _choice(
        run_table.get("numerical_pools", "weihermuller" if fao else "second-run"),
        NUMERICAL_POOLS,
        "[run].numerical_pools",
    )
    if "name" in run_table:
        name = typed(run_table["name"], str, "[run].name")
        if (
            not name
            or any(c in name for c in '/\\:*?"<>|')
            or any(ord(c) < 32 for c in name)
            or name.strip() != name
        ):
            raise ConfigError(f"[run].name: {name!r} cannot be a file name prefix")
        opts["name"] = name
    output = typed(run_table.get("output", "out"), str, "[run].output")
    opts["output"] = resolve_path(base, output, "[run].output")
    years = typed(run_table.get("years", 20), int, "[run].years")
    if not 1 <= years <= 1000:
        raise ConfigError(f"[run].years: expected 1 to 1000 years, got {years}")
    opts["years"] = years
    horizons = run_table.get("horizons", [])
    if not isinstance(horizons, list):
        raise ConfigError("[run].horizons: expected a list of years, e.g. [50, 100]")
    hs = tuple(typed(h, int, "[run].horizons") for h in horizons)
    if any(not 1 <= h <= 1000 for h in hs):
        raise ConfigError("[run].horizons: every horizon is 1 to 1000 years")
    opts["horizons"] = hs
    opts["uncertainty"] = _choice(
        run_table.get("uncertainty", "minmax"), UNCERTAINTY, "[run].uncertainty"
    )
    samples = typed(run_table.get("samples", 100), int, "[run].samples")
    if not 2 <= samples <= 100_000:
        raise ConfigError(f"[run].samples: expected 2 to 100000 Monte Carlo samples, got {samples}")
    opts["samples"] = samples
    seed = typed(run_table.get("seed", 0), int, "[run].seed")
    if not 0 <= seed < 2**63:
        raise ConfigError(f"[run].seed: expected a whole number >= 0, got {seed}")
    opts["seed"] = seed
    opts["steady_state"] = typed(run_table.get("steady_state", False), bool, "[run].steady_state")
    if fao and (opts["uncertainty"] == "montecarlo" or opts["steady_state"]):
        raise ConfigError(
            "[run]: Monte Carlo uncertainty and the steady-state layer use the official RothC "
            'numerics: set mode = "rothamsted"'
        )
    opts["forward_inputs"] = _choice(
        run_table.get("forward_inputs", "constant"), FORWARD_INPUTS, "[run].forward_inputs"
    )
    opts["qa_mask"] = typed(run_table.get("qa_mask", True), bool, "[run].qa_mask")
    opts["invalid"] = _choice(run_table.get("invalid", "error"), INVALID, "[run].invalid")
    threads = typed(run_table.get("threads", 0), int, "[run].threads")
    if threads < 0:
        raise ConfigError(f"[run].threads: expected 0 (all cores) or more, got {threads}")
    opts["threads"] = threads
    opts["intermediate"] = typed(run_table.get("intermediate", False), bool, "[run].intermediate")
    opts["flags"] = typed(run_table.get("flags", False), bool, "[run].flags")
    block = typed(run_table.get("block_size", 256), int, "[run].block_size")
    if not 16 <= block <= 4096 or block % 16:
        raise ConfigError(
            f"[run].block_size: expected a multiple of 16 from 16 to 4096, got {block}"
        )
    opts["block_size"] = block
    if "memory" in run_table:
        memory = run_table["memory"]
        parse_memory(memory)  # checked now, used by the run
        opts["memory"] = str(memory)
    depth = typed(run_table.get("depth", PRODUCT_DEPTH_CM), float, "[run].depth")
    if depth <= 0:
        raise ConfigError(f"[run].depth: expected > 0 cm, got {depth}")
    opts["depth"] = depth
    opts["overwrite"] = typed(run_table.get("overwrite", False), bool, "[run].overwrite")
    if "scheduler" in run_table:
        opts["scheduler"] = typed(run_table["scheduler"], str, "[run].scheduler") or None
    opts.update(_moisture(run_table, mode, "[run]."))
    if "calibration" in run_table:
        table = typed(run_table["calibration"], str, "[run].calibration")
        opts["calibration"] = resolve_path(base, table, "[run].calibration") if table else None
    _calibration_mode(opts.get("calibration"), mode, "[run].")

    if "inputs" not in data:
        if require_inputs:
            raise ConfigError("configuration: missing [inputs]")
        layout, inputs = "native", dict[str, InputSpec]()
    else:
        layout, inputs = _inputs(data["inputs"], base)
    if layout == "fao" and mode != "fao-v1.2" and "spinup_land_use" in inputs:
        raise ConfigError("[inputs.fao]: spinup_land_use is not part of the FAO layout")
    if mode == "fao-v1.2" and "spinup_land_use" in inputs:  # was read, then left unused
        raise ConfigError(spinup_land_use_in_fao_mode("[inputs].spinup_land_use"))
    if inputs and opts.get("moisture", "rothc-26.3") != "rothc-26.3":
        missing = [k for k in SOIL_WATER_INPUTS if k not in inputs]
        if missing:
            table = "[inputs.fao]" if layout == "fao" else "[inputs]"
            raise ConfigError(soil_water_missing(opts["moisture"], missing, table))

    setting_rasters: dict[str, InputSpec] = {}
    scenarios, practices = _scenarios(data.get("scenarios"), base, setting_rasters)
    if setting_rasters and require_inputs and layout != "native":
        raise ConfigError(
            f"[{next(iter(setting_rasters))}]: practice rasters are read in the native "
            "layout ([inputs]), not in the FAO layout"
        )
    inputs = {**inputs, **setting_rasters}
    classes = data.get("classes", {})
    if not isinstance(classes, Mapping):
        raise ConfigError("[classes]: expected a table")
    class_table = _class_table(classes)
    if practices and fao:
        raise ConfigError(
            f"[scenarios.{next(iter(practices))}]: practice settings are refinements of "
            "rothamsted mode (fao-v1.2 reproduces the scripts' increases only)"
        )
    for name, settings in practices.items():
        if "land_use" in settings:
            kind, value = settings["land_use"]
            for code in [value] if kind == "everywhere" else list(value.values()):
                if code not in class_table.modellable:
                    having = ", ".join(map(str, class_table.modellable))
                    raise ConfigError(
                        f"[scenarios.{name}].land_use: class {code} has no coefficients "
                        f"(classes with coefficients: {having})"
                    )
                if class_table.default_cover and not class_table.has_cover(code):
                    raise ConfigError(
                        f"[scenarios.{name}].land_use: class {code} has no default cover, and "
                        "pixels without a cover value take their classes' defaults: give "
                        f"[classes.{code}] cover"
                    )
    if layout == "fao":
        _stack_dpm_rpm(class_table, practices)
    if fao and any("input_pattern" in e for e in class_table.changes.values()):
        raise ConfigError(
            "[classes]: input_pattern is a refinement of rothamsted mode (fao-v1.2 reproduces "
            "the scripts' I/12 a month)"
        )
    if fao and class_table.default_cover:
        raise ConfigError(
            "[classes]: a class's default cover is a refinement of rothamsted mode (fao-v1.2 "
            "reproduces the scripts, which take the cover raster)"
        )
    modelled = classes.get("modelled", list(DEFAULT_MODELLED))
    if not isinstance(modelled, list) or not modelled:
        raise ConfigError("[classes].modelled: expected a list of FAO classes, e.g. [2, 3, 5]")
    valid = set(class_table.modellable)
    for c in modelled:
        c = typed(c, int, "[classes].modelled")
        if c not in valid:
            raise ConfigError(
                f"[classes].modelled: class {c} has no coefficients "
                f"(modellable: {', '.join(str(v) for v in sorted(valid))})"
            )
    _check_practices(practices, scenarios, tuple(int(c) for c in modelled))
    excl_table = data.get("exclusions", {})
    if not isinstance(excl_table, Mapping):
        raise ConfigError("[exclusions]: expected a table")
    check_keys(excl_table, Exclusions.__dataclass_fields__, "[exclusions]")
    excl = Exclusions(
        enabled=typed(excl_table.get("enabled", not fao), bool, "[exclusions].enabled"),
        soc_max=typed(excl_table.get("soc_max", Exclusions.soc_max), float, "[exclusions].soc_max"),
        sand_max=typed(
            excl_table.get("sand_max", Exclusions.sand_max), float, "[exclusions].sand_max"
        ),
        ec_max=typed(excl_table.get("ec_max", Exclusions.ec_max), float, "[exclusions].ec_max"),
    )
    checks = _checks(data.get("checks", {}))
    run = RunOptions(**opts)
    _check_moisture(run, "[run].")
    return Config(
        run=run,
        inputs=inputs,
        layout=layout,
        scenarios=scenarios,
        modelled=tuple(int(c) for c in modelled),
        practices=practices,
        class_table=class_table,
        exclusions=excl,
        checks=checks,
        base_dir=base,
        source=source,
    )


def model_words(options: Mapping[str, Any]) -> str:
    """The model options of a run (its summary's ``options``) that change numbers beyond the
    mode, in words: the dryland moisture function and the calibration table ("" when
    neither)."""
    words = []
    moisture = options.get("moisture", "rothc-26.3")
    bare = options.get("bare_deficit", "standard")
    if moisture != "rothc-26.3" or bare != "standard":
        text = f"moisture {moisture} (RothC v2.0.0, Farina et al. 2013; bare deficit {bare}"
        if moisture != "rothc-26.3":
            text += f", minimum rate {options.get('min_moisture_rate', 0.2):g}"
        words.append(text + ")")
    if options.get("calibration"):
        words.append(f"calibrated ({Path(str(options['calibration'])).name})")
    return ", ".join(words)


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML file ``path``; a missing, unreadable or invalid file is a ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from None
    try:  # UTF-8, with or without the BOM that Windows editors write (utf-8-sig)
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # was a traceback (an ANSI file with 'Côte')
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: line {line} is not UTF-8 text (byte {raw[exc.start]:#04x}, an accented "
            "letter in the Windows ANSI encoding?): save the file as UTF-8 (Notepad: Save As, "
            "Encoding UTF-8)"
        ) from None
    return parse_toml(text, path)


def parse_toml(text: str, where: Path) -> dict[str, Any]:
    """``text`` parsed as TOML; invalid TOML is a ConfigError naming ``where`` (with the fix
    when a backslash of a Windows path broke a string)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        hint = ""
        line = getattr(exc, "lineno", None) or _error_line(str(exc))
        lines = text.splitlines()
        if line and 0 < line <= len(lines) and "\\" in lines[line - 1]:
            hint = (
                ": a Windows path in double quotes? '\\' starts an escape there; write it "
                "with / (\"C:/data/SOC.tif\") or in single quotes ('C:\\data\\SOC.tif')"
            )
        raise ConfigError(f"{where}: not valid TOML ({exc}){hint}") from None


def _error_line(message: str) -> int | None:
    """The line a TOML error message names ('... (at line 4, column 12)')."""
    found = re.search(r"at line (\d+)", message)
    return int(found.group(1)) if found else None


def toml_value(v: Any) -> str:
    """``v`` (a bool, number, string, list or table) written as a TOML value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise ConfigError(f"cannot write {v!r} to a configuration")


def load(
    source: str | os.PathLike | Mapping[str, Any] | Config, require_inputs: bool = True
) -> Config:
    """A :class:`Config` from a TOML file path, a mapping or a Config."""
    if isinstance(source, Config):
        return source
    if isinstance(source, Mapping):
        return from_dict(source, require_inputs=require_inputs)
    path = Path(source)
    data = read_toml(path)
    return from_dict(
        data, base_dir=path.resolve().parent, source=path.resolve(), require_inputs=require_inputs
    )


#: The smallest memory budget a run accepts, MiB (below, the interpreter and GDAL alone do not
#: fit): see gsocseq.pipeline.memory.
MIN_MEMORY_MIB = 224

_UNITS = {"": 1, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def parse_memory(text: str | int | float) -> int:
    """A memory size as MiB: ``"256M"``, ``"1G"``, ``"1.5GiB"``, ``"512MB"`` (binary units;
    a bare number is MiB)."""
    if isinstance(text, bool):
        raise ConfigError(f"memory: expected a size such as 256M or 2G, got {text!r}")
    if isinstance(text, (int, float)):
        value, unit = float(text), ""
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?)(?:I?B)?\s*", str(text).upper())
        if m is None:
            raise ConfigError(f"memory: expected a size such as 256M or 2G, got {text!r}")
        value, unit = float(m.group(1)), m.group(2)
    mib = int(value * _UNITS[unit])
    if mib < MIN_MEMORY_MIB:
        raise ConfigError(
            f"memory: {text!r} is below the smallest budget a run fits in ({MIN_MEMORY_MIB}M)"
        )
    return mib


def with_options(config: Config, **changes: Any) -> Config:
    """A copy of ``config`` with [run] options changed (command-line and API overrides),
    checked like the file's values."""
    fields = RunOptions.__dataclass_fields__
    check_keys(changes, fields, "run options")
    if "output" in changes:
        changes["output"] = resolve_path(Path("."), os.fspath(changes["output"]), "output")
    if "threads" in changes and (typed(changes["threads"], int, "threads") < 0):
        raise ConfigError(f"threads: expected 0 (all cores) or more, got {changes['threads']}")
    if "block_size" in changes:
        block = typed(changes["block_size"], int, "block_size")
        if not 16 <= block <= 4096 or block % 16:
            raise ConfigError(f"block_size: expected a multiple of 16 from 16 to 4096, got {block}")
    if changes.get("memory") is not None:
        parse_memory(changes["memory"])
        changes["memory"] = str(changes["memory"])
    for key in ("qa_mask", "overwrite", "intermediate", "flags"):
        if key in changes:
            typed(changes[key], bool, key)
    for key, choices in (
        ("mode", MODES),
        ("uncertainty", UNCERTAINTY),
        ("invalid", INVALID),
        ("forward_inputs", FORWARD_INPUTS),
    ):
        if key in changes:
            _choice(changes[key], choices, key)
    changes.update(_moisture(changes, changes.get("mode", config.run.mode), ""))
    if changes.get("calibration") is not None:
        changes["calibration"] = resolve_path(
            Path("."), os.fspath(changes["calibration"]), "calibration"
        )
    run = replace(config.run, **changes)
    _check_moisture(run, "")
    _calibration_mode(run.calibration, run.mode, "")
    if run.mode == "fao-v1.2" and "spinup_land_use" in config.inputs:
        raise ConfigError(spinup_land_use_in_fao_mode("[inputs].spinup_land_use"))
    if config.inputs and run.moisture != "rothc-26.3":
        missing = [k for k in SOIL_WATER_INPUTS if k not in config.inputs]
        if missing:
            raise ConfigError(soil_water_missing(run.moisture, missing, "[inputs]"))
    return replace(config, run=run)
