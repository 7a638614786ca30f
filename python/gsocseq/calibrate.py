"""Calibration against measurements (METHOD.md section 10).

Per group of observations (a zone or a land-use class), the one multiplier of plant inputs or of
decomposition rates that minimises the sum of squared errors of simulated against observed SOC,
with its standard error from the curvature of the sum of squares at the minimum:
``SE = sqrt(2 s^2 / SSE''(k))``, ``s^2 = SSE(k) / (n - 1)`` (for a model linear in k, the
standard error of a least-squares slope). The fit is Gauss-Newton on the multiplier with central
differences (simulated SOC is linear in the plant-input multiplier, so that fit is exact in one
step; the rate multiplier takes a few), each step checked to lower the sum of squares.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: what a multiplier multiplies: "input" the plant inputs after the spin-up (warm-up and
#: forward), "rate" the decomposition rate of every active pool in every phase
PARAMETERS = ("input", "rate")
#: accepted multipliers
BOUNDS = (1e-3, 1e3)


@dataclass(frozen=True)
class Fit:
    """A fitted multiplier.

    multiplier and standard_error: the least-squares multiplier and its standard error (NaN
    with one observation); n: observations; sse: sum of squared errors at the multiplier,
    (t C/ha)^2; rmse_before, rmse_after: RMSE (t C/ha) at multiplier 1 and at the fit;
    iterations: simulations of the Gauss-Newton steps; converged: the step fell below
    the tolerance within the iterations allowed.
    """

    multiplier: float
    standard_error: float
    n: int
    sse: float
    rmse_before: float
    rmse_after: float
    iterations: int
    converged: bool


def fit_multiplier(
    simulate: Callable[[float], Any],
    observed: Any,
    *,
    start: float = 1.0,
    bounds: tuple[float, float] = BOUNDS,
    tolerance: float = 1e-10,
    max_iterations: int = 50,
) -> Fit:
    """The multiplier k minimising sum (simulate(k) - observed)^2 (module docstring).

    ``simulate(k)`` returns the simulated SOC (t C/ha) of every observation with multiplier
    ``k``; ``observed`` the observed SOC (t C/ha, no NaN). ``bounds``: the multipliers
    accepted (a fit at a bound is not converged).
    """
    obs = np.asarray(observed, dtype=np.float64).ravel()
    if obs.size == 0 or not np.all(np.isfinite(obs)):
        raise ValueError("observed: expected at least one finite observation (t C/ha)")
    lo, hi = bounds
    if not 0 < lo < start < hi:
        raise ValueError(f"start: {start} is not within the bounds {bounds}")

    def sim(k: float) -> np.ndarray:
        values = np.asarray(simulate(k), dtype=np.float64).ravel()
        if values.shape != obs.shape:
            raise ValueError(f"simulate({k}) returned {values.size} values, expected {obs.size}")
        return values

    def sse_of(values: np.ndarray) -> float:
        # a multiplier whose run is not finite is never the better one
        return float(np.sum((values - obs) ** 2)) if np.all(np.isfinite(values)) else math.inf

    k = float(start)
    current = sim(k)
    sse = sse_of(current)
    if not math.isfinite(sse):
        raise ValueError(f"simulated SOC is not finite with the multiplier {k}")
    rmse_before = math.sqrt((sse if k == 1.0 else sse_of(sim(1.0))) / obs.size)
    iterations, converged = 1, False
    for _ in range(max_iterations):
        h = 1e-4 * k
        jacobian = (sim(k + h) - sim(k - h)) / (2 * h)
        iterations += 2
        curvature = float(np.dot(jacobian, jacobian))
        if not (curvature > 0 and math.isfinite(curvature)):
            break  # the observations do not depend on the multiplier
        step = -float(np.dot(jacobian, current - obs)) / curvature
        # the step, halved until the sum of squares does not grow (within the bounds)
        for _ in range(40):
            trial = min(max(k + step, lo), hi)
            values = sim(trial)
            iterations += 1
            trial_sse = sse_of(values)
            if trial_sse <= sse or abs(trial - k) <= tolerance * k:
                break
            step /= 2
        else:
            break
        moved = abs(trial - k)
        if trial_sse <= sse:
            k, current, sse = trial, values, trial_sse
        if moved <= tolerance * max(k, 1.0):
            converged = not (k <= lo or k >= hi)
            break
    n = obs.size
    se = math.nan
    if n > 1 and converged:
        h = 1e-3 * k
        second = (sse_of(sim(k + h)) - 2 * sse + sse_of(sim(k - h))) / (h * h)
        iterations += 2
        se = math.sqrt(2 * (sse / (n - 1)) / second) if second > 0 else math.nan
    return Fit(
        multiplier=k,
        standard_error=se,
        n=n,
        sse=sse,
        rmse_before=rmse_before,
        rmse_after=math.sqrt(sse / n),
        iterations=iterations,
        converged=converged,
    )
