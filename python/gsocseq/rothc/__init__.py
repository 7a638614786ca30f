"""The Rothamsted Carbon Model (RothC-26.3) on numpy arrays, as the official Rothamsted programs
compute it (monthly step, exact exponential decay, topsoil moisture deficit carried on).

Units: pools and inputs t C/ha (inputs per month), temperature degrees C (monthly mean),
precipitation and evaporation mm/month, clay %, depth cm, deficit (``tsmd``) mm (<= 0).
Pools are ordered DPM, RPM, BIO, HUM, IOM.

Shapes: every per-month argument takes a scalar, (months,) or (n, months); every per-pixel
argument (``clay``, ``depth``, ``tsmd``, ``iom``, ``soc``) a scalar or (n,); ``rate_factor`` a
scalar, (n,) or (n, months). n comes from the arguments with a pixel axis (n = 1 when none has
one). Any real dtype is converted to float64.

Bad values raise ``ValueError`` naming the argument and the first offending pixel and month
(clay outside [0, 100], negative carbon inputs or DPM/RPM ratio, cover outside [0, 1],
depth <= 0, a positive deficit). Negative evaporation (dew) and precipitation are accepted as
the official programs accept them. A pixel with any non-finite input (NaN, +-inf) gets
NaN outputs; the other pixels are unaffected.

Defaults are the official RothC-26.3 program's: open-pan ``evaporation`` (multiplied by
``evap_coefficient`` 0.75 inside the model) and a 23 cm topsoil (:data:`OFFICIAL`). The GSOCseq
methodology (METHOD.md section 2) takes PET (coefficient 1.0) and 0-30 cm: pass
``**rothc.GSOCSEQ`` to compute as ``gsocseq run`` does. The two differ: with the GSOCseq
settings the soil dries more (the whole PET, a deeper layer's larger deficit), decomposition is
slower, and the plant input that holds a given SOC at equilibrium is 20-24 % lower than with
the defaults (the README's example climate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gsocseq import _core
from gsocseq._arrays import F64, Layout, as_float

__all__ = [
    "GSOCSEQ",
    "OFFICIAL",
    "RunResult",
    "SpinupResult",
    "analytical_equilibrium",
    "equilibrium_inputs",
    "falloon_iom",
    "rate_modifiers",
    "run",
    "spinup",
]

POOLS = ("DPM", "RPM", "BIO", "HUM", "IOM")
#: the official RothC-26.3 settings, the functions' defaults: open-pan evaporation x 0.75, 23 cm
OFFICIAL: dict[str, float] = {"evap_coefficient": 0.75, "depth": 23.0}
#: the GSOCseq methodology's settings (METHOD.md section 2, ``gsocseq run``'s chain): the
#: evaporation argument is PET (coefficient 1.0), the layer 0-30 cm (``[run] depth``'s default)
GSOCSEQ: dict[str, float] = {"evap_coefficient": 1.0, "depth": 30.0}


@dataclass(frozen=True)
class RunResult:
    """Outcome of :func:`run`.

    pools: (n, 5) pools at the end of the last month, t C/ha.
    tsmd: (n,) accumulated topsoil moisture deficit at the end, mm.
    co2: (n,) CO2-C released over the whole run, t C/ha.
    monthly: (n, months, 5) pools at the end of every month, or None.
    monthly_co2: (n, months) CO2-C released in each month, t C/ha, or None.
    """

    pools: F64
    tsmd: F64
    co2: F64
    monthly: F64 | None = None
    monthly_co2: F64 | None = None


@dataclass(frozen=True)
class SpinupResult:
    """Outcome of :func:`spinup`, ready to pass to :func:`run` (``pools=``, ``tsmd=``).

    pools: (n, 5) pools at the end of the spin-up (end of December), t C/ha.
    tsmd: (n,) deficit carried into the next January, mm.
    months: (n,) months run by the iterative rule, or None for the equilibrium.
    """

    pools: F64
    tsmd: F64
    months: np.ndarray | None = None


def falloon_iom(soc: Any) -> F64:
    """Inert organic matter (t C/ha) from total SOC (t C/ha): 0.049 SOC^1.139 (Falloon 1998)."""
    return 0.049 * np.power(as_float("soc", soc), 1.139)


def _forcing(
    layout: Layout,
    *,
    temperature: Any,
    precipitation: Any,
    evaporation: Any,
    cover: Any,
    rate_factor: Any,
    clay: Any,
    depth: Any,
    plant_input: Any = None,
    fym_input: Any = None,
    dpm_rpm: Any = None,
    with_inputs: bool = False,
) -> None:
    if with_inputs:  # None is not a value of a required argument (a clear error, not later)
        given = {"plant_input": plant_input, "fym_input": fym_input, "dpm_rpm": dpm_rpm}
        for name, value in given.items():
            if value is None:
                raise ValueError(f"{name}: expected a number or an array, got None")
    layout.add_monthly("temperature", temperature)
    layout.add_monthly("precipitation", precipitation)
    layout.add_monthly("evaporation", evaporation)
    layout.add_monthly("cover", cover)
    if plant_input is not None:
        layout.add_monthly("plant_input", plant_input)
    if fym_input is not None:
        layout.add_monthly("fym_input", fym_input)
    if dpm_rpm is not None:
        layout.add_monthly("dpm_rpm", dpm_rpm)
    layout.add_per_pixel("rate_factor", rate_factor, monthly_ok=True)
    layout.add_per_pixel("clay", clay)
    layout.add_per_pixel("depth", depth)


#: the soil inputs of the van Genuchten moisture options
SOIL_WATER = ("silt", "bulk_density", "organic_carbon")


def _moisture(
    layout: Layout,
    moisture: str,
    bare_deficit: str,
    min_moisture_rate: float,
    water: dict[str, Any],
) -> Any:
    """The core's moisture argument (None for RothC-26.3 with its defaults); the per-pixel
    soil water of the van Genuchten options added to ``layout``."""
    options = (str(moisture), str(bare_deficit), float(min_moisture_rate))
    if options == ("rothc-26.3", "standard", 0.2):
        return None
    if moisture in ("farina-2", "farina-3"):
        missing = [k for k in SOIL_WATER if water.get(k) is None]
        if missing:
            raise ValueError(
                f"{', '.join(missing)}: needed by moisture {moisture!r} (silt %, bulk_density "
                "g/cm3, organic_carbon %; e.g. SOC / (bulk density x depth))"
            )
        for k in SOIL_WATER:
            layout.add_per_pixel(k, water[k])
    return options


def _evap(evap_coefficient: float) -> float:
    value = float(evap_coefficient)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"evap_coefficient: expected a finite value >= 0, got {evap_coefficient}")
    return value


def _threads(threads: int | None) -> int | None:
    if threads is None:
        return None
    if int(threads) < 0:
        raise ValueError(
            f"threads: expected None, 0 (all cores) or a positive count, got {threads}"
        )
    return int(threads)


def run(
    *,
    pools: Any,
    temperature: Any,
    precipitation: Any,
    evaporation: Any,
    cover: Any,
    plant_input: Any,
    dpm_rpm: Any,
    clay: Any,
    fym_input: Any = 0.0,
    depth: Any = OFFICIAL["depth"],
    evap_coefficient: float = OFFICIAL["evap_coefficient"],
    rate_factor: Any = 1.0,
    tsmd: Any = 0.0,
    trajectory: bool = False,
    threads: int | None = None,
    moisture: str = "rothc-26.3",
    bare_deficit: str = "standard",
    min_moisture_rate: float = 0.2,
    silt: Any = None,
    bulk_density: Any = None,
    organic_carbon: Any = None,
) -> RunResult:
    """Run RothC month by month from ``pools`` and deficit ``tsmd``.

    Arguments: ``pools`` (n, 5) t C/ha; ``temperature`` degrees C; ``precipitation`` mm;
    ``evaporation`` mm (open pan with ``evap_coefficient`` 0.75, PET with 1.0); ``cover`` the
    cover rate factor c (0.6 covered .. 1.0 bare; bare for the moisture rule when c > 0.8);
    ``plant_input`` and ``fym_input`` t C/ha entering at the end of each month; ``dpm_rpm`` the
    DPM/RPM ratio of the plant input; ``clay`` %; ``depth`` cm; ``rate_factor`` an extra
    multiplier of the decomposition rate (0.4 for paddy fields); ``trajectory`` also returns
    the pools and CO2 of every month; ``threads`` None or 0 for all cores.

    Moisture (ROTHC.md section 8): ``moisture`` "rothc-26.3" (default), or the van Genuchten
    options of the official RothC v2.0.0, "farina-2" and "farina-3", which need ``silt`` (%),
    ``bulk_density`` (g/cm3) and ``organic_carbon`` (%) per pixel; ``bare_deficit``
    "standard" or "wilting-point"; ``min_moisture_rate`` the moisture factor at wilting point
    (0.2; other values with the van Genuchten options only)."""
    layout = Layout()
    layout.add_pools("pools", pools)
    _forcing(
        layout,
        temperature=temperature,
        precipitation=precipitation,
        evaporation=evaporation,
        cover=cover,
        rate_factor=rate_factor,
        clay=clay,
        depth=depth,
        plant_input=plant_input,
        fym_input=fym_input,
        dpm_rpm=dpm_rpm,
        with_inputs=True,
    )
    layout.add_per_pixel("tsmd", tsmd)
    water = {"silt": silt, "bulk_density": bulk_density, "organic_carbon": organic_carbon}
    opts = _moisture(layout, moisture, bare_deficit, min_moisture_rate, water)
    m = layout.monthly_arrays()
    p = layout.pixel_arrays()
    out = _core.run(
        m, p, _evap(evap_coefficient), bool(trajectory), _threads(threads), moisture=opts
    )
    return RunResult(*out)


def rate_modifiers(
    temperature: Any,
    precipitation: Any,
    evaporation: Any,
    cover: Any,
    clay: Any,
    depth: Any = OFFICIAL["depth"],
    evap_coefficient: float = OFFICIAL["evap_coefficient"],
    rate_factor: Any = 1.0,
    tsmd: Any = 0.0,
    threads: int | None = None,
    *,
    moisture: str = "rothc-26.3",
    bare_deficit: str = "standard",
    min_moisture_rate: float = 0.2,
    silt: Any = None,
    bulk_density: Any = None,
    organic_carbon: Any = None,
) -> tuple[F64, F64, F64, F64, F64]:
    """Monthly rate modifiers ``(a, b, c, rate, tsmd)``, each (n, months).

    a: temperature factor; b: moisture factor from the deficit after the month's water
    balance; c: cover factor as given; rate: a b c x rate_factor; tsmd: deficit after the
    month, mm, carried from month to month starting at ``tsmd``. Moisture options as for
    :func:`run`.
    """
    layout = Layout()
    _forcing(
        layout,
        temperature=temperature,
        precipitation=precipitation,
        evaporation=evaporation,
        cover=cover,
        rate_factor=rate_factor,
        clay=clay,
        depth=depth,
    )
    layout.add_per_pixel("tsmd", tsmd)
    water = {"silt": silt, "bulk_density": bulk_density, "organic_carbon": organic_carbon}
    opts = _moisture(layout, moisture, bare_deficit, min_moisture_rate, water)
    m = layout.monthly_arrays()
    p = layout.pixel_arrays()
    return _core.rate_modifiers(m, p, _evap(evap_coefficient), _threads(threads), moisture=opts)


def spinup(
    *,
    method: _core.SpinupRule,
    temperature: Any,
    precipitation: Any,
    evaporation: Any,
    cover: Any,
    plant_input: Any,
    dpm_rpm: Any,
    clay: Any,
    iom: Any,
    fym_input: Any = 0.0,
    depth: Any = OFFICIAL["depth"],
    evap_coefficient: float = OFFICIAL["evap_coefficient"],
    rate_factor: Any = 1.0,
    threads: int | None = None,
    moisture: str = "rothc-26.3",
    bare_deficit: str = "standard",
    min_moisture_rate: float = 0.2,
    silt: Any = None,
    bulk_density: Any = None,
    organic_carbon: Any = None,
) -> SpinupResult:
    """Spin RothC up on one 12-month year of forcing (per-month arguments have 12 months).

    ``method="rothamsted-iterative"``: the official rule, the year repeated from empty active
    pools and deficit 0 until the year-end active carbon changes by <= 1e-6 t C/ha (the month
    count is returned). ``method="equilibrium"``: the exact discrete periodic equilibrium, the
    deficit cycled from 0 to its periodic year, then the fixed point of the 12 composed monthly
    affine maps. ``iom`` (t C/ha) is the inert pool. Moisture options as for :func:`run`.
    """
    layout = Layout(months=12)
    _forcing(
        layout,
        temperature=temperature,
        precipitation=precipitation,
        evaporation=evaporation,
        cover=cover,
        rate_factor=rate_factor,
        clay=clay,
        depth=depth,
        plant_input=plant_input,
        fym_input=fym_input,
        dpm_rpm=dpm_rpm,
        with_inputs=True,
    )
    layout.add_per_pixel("iom", iom)
    water = {"silt": silt, "bulk_density": bulk_density, "organic_carbon": organic_carbon}
    opts = _moisture(layout, moisture, bare_deficit, min_moisture_rate, water)
    m = layout.monthly_arrays()
    p = layout.pixel_arrays()
    pools, tsmd, months = _core.spinup(
        method, m, p, _evap(evap_coefficient), _threads(threads), moisture=opts
    )
    return SpinupResult(pools, tsmd, months)


def equilibrium_inputs(
    soc: Any,
    *,
    temperature: Any,
    precipitation: Any,
    evaporation: Any,
    cover: Any,
    dpm_rpm: Any,
    clay: Any,
    fym_input: Any = 0.0,
    depth: Any = OFFICIAL["depth"],
    evap_coefficient: float = OFFICIAL["evap_coefficient"],
    rate_factor: Any = 1.0,
    threads: int | None = None,
    moisture: str = "rothc-26.3",
    bare_deficit: str = "standard",
    min_moisture_rate: float = 0.2,
    silt: Any = None,
    bulk_density: Any = None,
    organic_carbon: Any = None,
) -> tuple[F64, F64, F64]:
    """Annual plant input that holds total SOC ``soc`` (t C/ha) at the exact discrete equilibrium.

    IOM = 0.049 soc^1.139 (Falloon). The input enters as 1/12 at the end of every month; 12-month
    forcing as for :func:`spinup`. Returns ``(annual_input, pools, tsmd)``: t C/ha/yr (n,), the
    end-of-December pools (n, 5) t C/ha, the periodic year-end deficit (n,) mm. Moisture options
    as for :func:`run`.
    """
    layout = Layout(months=12)
    _forcing(
        layout,
        temperature=temperature,
        precipitation=precipitation,
        evaporation=evaporation,
        cover=cover,
        rate_factor=rate_factor,
        clay=clay,
        depth=depth,
        fym_input=fym_input,
        dpm_rpm=dpm_rpm,
    )
    layout.add_per_pixel("soc", soc)
    water = {"silt": silt, "bulk_density": bulk_density, "organic_carbon": organic_carbon}
    opts = _moisture(layout, moisture, bare_deficit, min_moisture_rate, water)
    m = layout.monthly_arrays()
    p = layout.pixel_arrays()
    return _core.equilibrium_inputs(m, p, _evap(evap_coefficient), _threads(threads), moisture=opts)


def analytical_equilibrium(soc: Any, *, xi: Any, clay: Any, dpm_rpm: Any) -> tuple[F64, F64]:
    """Continuous-time RothC equilibrium at the constant mean rate modifier ``xi`` (Dechow et
    al. 2019), as FAO GSOCseq v1.2 script 11 computes it.

    ``soc`` t C/ha, ``clay`` %, ``dpm_rpm`` the DPM/RPM ratio; the caller picks the modifiers
    that make ``xi`` (e.g. the mean of a b c over 12 months). Returns ``(annual_input, pools)``:
    t C/ha/yr (n,), pools (n, 5) t C/ha with IOM by Falloon.
    """
    layout = Layout(months=1)
    for name, value in (("soc", soc), ("xi", xi), ("clay", clay), ("dpm_rpm", dpm_rpm)):
        layout.add_per_pixel(name, value)
    p = layout.pixel_arrays()
    return _core.analytical_equilibrium(p["soc"], p["xi"], p["clay"], p["dpm_rpm"])
