"""The numerics of the FAO GSOCseq v1.2 R scripts on numpy arrays (``fao-v1.2`` mode).

These reproduce the scripts' numbers, defects included (METHOD.md section 9,
docs/fao-v1.2-numerics.md): SoilR's temperature function (NaN below -18.3 degrees C), the
scripts' moisture function (restarts every January, December's maximum for every month),
forward Euler on the continuous RothC ODE with R's time grid (12 years - 1 steps), the
analytical spin-up of script 11 and the pedotransfer pools of script 11.2.

Shapes: per-pixel values (n,), per-month values (n, 12). Units: degrees C, mm, %, t C/ha,
t C/ha/yr. Pools are DPM, RPM, BIO, HUM, IOM.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gsocseq import _core
from gsocseq._arrays import F64, as_float

__all__ = [
    "analytical_spinup",
    "euler",
    "iom",
    "miami_npp",
    "moisture_factors",
    "r_mean",
    "temperature_factor",
    "weihermuller_pools",
    "xi",
]


def _rows(name: str, value: Any, n: int) -> F64:
    arr = np.ascontiguousarray(np.broadcast_to(as_float(name, value), (n, 12)))
    return arr


def _cols(name: str, value: Any, n: int) -> F64:
    return np.ascontiguousarray(np.broadcast_to(as_float(name, value), (n,)))


def _n(*values: Any) -> int:
    """Pixels: the first axis of 2-D arguments and the length of 1-D ones that are not a single
    12-month year."""
    sizes = {np.shape(v)[0] for v in values if np.ndim(v) == 2}
    sizes |= {np.shape(v)[0] for v in values if np.ndim(v) == 1 and np.shape(v)[0] != 12}
    if len(sizes) > 1:
        raise ValueError(f"arguments disagree on the number of pixels: {sorted(sizes)}")
    return sizes.pop() if sizes else 1


def temperature_factor(temperature: Any) -> F64:
    """SoilR ``fT.RothC``: 47.9 / (1 + exp(106 / (T + 18.3))); NaN below -18.3 degrees C."""
    t = as_float("temperature", temperature)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(t >= -18.3, 47.9 / (1.0 + np.exp(106.0 / (t + 18.3))), np.nan)


def moisture_factors(precipitation: Any, pet: Any, cover: Any, clay: Any) -> F64:
    """Moisture factor of the scripts' ``fw1func`` for each month of one year, (n, 12)."""
    n = _n(precipitation, pet, cover, clay)
    return _core.fao_moisture(
        _rows("precipitation", precipitation, n),
        _rows("pet", pet, n),
        _rows("cover", cover, n),
        _cols("clay", clay, n),
    )


def xi(
    temperature: Any, precipitation: Any, pet: Any, cover: Any, clay: Any, paddy: Any = 1.0
) -> F64:
    """Monthly rate modifier xi = fT fW fC fPR of one year, (n, 12); ``paddy`` 0.4 for class 13."""
    n = _n(temperature, precipitation, pet, cover, clay, paddy)
    return _core.fao_xi(
        _rows("temperature", temperature, n),
        _rows("precipitation", precipitation, n),
        _rows("pet", pet, n),
        _rows("cover", cover, n),
        _cols("clay", clay, n),
        _cols("paddy", paddy, n),
    )


def r_mean(values: Any, axis: int = -1) -> F64:
    """R's ``mean()``: the correctly rounded mean (as R's long-double accumulation gives)."""
    import math

    arr = np.moveaxis(as_float("values", values), axis, -1)
    flat = arr.reshape(-1, arr.shape[-1])
    out = np.array([math.fsum(row) / len(row) if len(row) else np.nan for row in flat])
    return out.reshape(arr.shape[:-1])


def iom(soc: Any) -> F64:
    """Falloon IOM, 0.049 SOC^1.139 (t C/ha)."""
    return 0.049 * np.power(as_float("soc", soc), 1.139)


def analytical_spinup(
    soc: Any, *, xi_mean: Any, clay: Any, dpm_rpm: Any, iom_soc: Any = None
) -> tuple[F64, F64]:
    """Script 11: annual input (t C/ha/yr) and pools (n, 5) of the continuous equilibrium for
    total SOC ``soc`` at the mean rate ``xi_mean``. IOM from ``iom_soc`` (default ``soc``; the
    scripts' min/max runs pass the central SOC)."""
    n = _n(soc, xi_mean, clay, dpm_rpm)
    soc_a = _cols("soc", soc, n)
    iom_a = iom(_cols("iom_soc", soc if iom_soc is None else iom_soc, n))
    return _core.fao_analytical_spinup(
        soc_a,
        np.ascontiguousarray(iom_a),
        _cols("xi_mean", xi_mean, n),
        _cols("clay", clay, n),
        _cols("dpm_rpm", dpm_rpm, n),
    )


def euler(
    pools: Any,
    *,
    annual_input: Any,
    xi_months: Any,
    clay: Any,
    dpm_rpm: Any,
    years: float,
    start_years: float = 0.0,
) -> tuple[F64, F64]:
    """soilassessment ``carbonTurnover(..., "euler")``: forward Euler over ``years`` on R's time
    grid (12 years - 1 steps; step j uses ``xi_months[j % 12]``; the input a constant flux).
    ``start_years`` continues a shorter run. Returns (pools (n, 5), DPM amplification (n,))."""
    p = as_float("pools", pools)
    n = p.shape[0] if p.ndim == 2 else _n(annual_input, xi_months, clay, dpm_rpm)
    return _core.fao_euler(
        np.ascontiguousarray(np.broadcast_to(p, (n, 5))),
        _cols("annual_input", annual_input, n),
        _rows("xi_months", xi_months, n),
        _cols("clay", clay, n),
        _cols("dpm_rpm", dpm_rpm, n),
        float(years),
        float(start_years),
    )


_PEDO = {
    "crops": ((0.9902, 0.4788), (1.09038, 0.04055), (0.9878, -0.3818)),
    "trees": ((1.7631, 0.4043), (0.9757, 0.0209), (0.8712, -0.2904)),
    "grass": ((1.3837, 0.4692), (1.03401, 0.02531), (0.9316, -0.5243)),
}


def weihermuller_pools(soc: Any, clay: Any, iom_value: Any, group: str) -> F64:
    """Pools of Weihermuller et al. (2013) (script 11.2), (n, 5); DPM is the remainder and may
    be negative. ``group``: "crops" (2, 12, 13), "trees" (4) or "grass" (3, 5, 6, 8)."""
    if group not in _PEDO:
        raise ValueError(f"group: expected one of {', '.join(_PEDO)}, got {group!r}")
    (e1, f1), (e2, f2), (e3, f3) = _PEDO[group]
    s, c, i = (as_float(k, v) for k, v in (("soc", soc), ("clay", clay), ("iom", iom_value)))
    rpm = ((0.184 * s + 0.1555) * np.power(c + 1.275, -0.1158)) * e1 + f1
    bio = ((0.014 * s + 0.0075) * np.power(c + 8.8473, 0.0567)) * e2 + f2
    hum = ((0.7148 * s + 0.5069) * np.power(c + 0.3421, 0.0184)) * e3 + f3
    dpm = s - i - rpm - hum - bio
    return np.stack(np.broadcast_arrays(dpm, rpm, bio, hum, i), axis=-1)


def miami_npp(mean_temperature: Any, annual_precipitation: Any) -> F64:
    """MIAMI NPP (Lieth 1975) as the scripts scale it, t C/ha/yr, from the annual mean
    temperature (degrees C) and annual precipitation (mm), broadcast against each other (the
    core's function, METHOD.md section 4): min(NPP_T, NPP_P) g DM/m2/yr x 0.01 x 0.5 with
    NPP_T = 3000 / (1 + exp(1.315 - 0.119 T)), NPP_P = 3000 (1 - exp(-0.000664 P)); NaN where
    either is NaN."""
    t, p = np.broadcast_arrays(
        as_float("mean_temperature", mean_temperature),
        as_float("annual_precipitation", annual_precipitation),
    )
    out = _core.miami_npp(t, p)
    return out[()] if out.ndim == 0 else out
