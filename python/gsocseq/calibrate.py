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

import csv
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from gsocseq import csvsafe
from gsocseq.errors import ConfigError, InputError, OutputError
from gsocseq.evaluate import (
    NOT_MODELLED,
    SIMULATED,
    STARTING_STATE,
    Source,
    _config,
    match_sites,
    read_observations,
    read_sites,
    simulate_at_years,
    site_arrays,
)
from gsocseq.multipliers import BOUNDS, GROUPINGS, PARAMETERS, TABLE_COLUMNS, CalibrationTable
from gsocseq.site import run_sites


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


@dataclass(frozen=True)
class Calibration:
    """The fits of ``gsocseq calibrate``: one :class:`Fit` per group (``by``: what the groups
    are, :data:`~gsocseq.multipliers.GROUPINGS`) of the multiplier of ``parameter``; ``left_out``
    counts the observations not fitted (starting states, sites not modelled)."""

    by: str
    parameter: str
    fits: dict[str, Fit]
    left_out: dict[str, int]

    def table(self) -> CalibrationTable:
        """The multipliers as a run takes them (converged fits only)."""
        values = {g: f.multiplier for g, f in self.fits.items() if f.converged}
        return CalibrationTable(
            self.by,
            values if self.parameter == "input" else {},
            values if self.parameter == "rate" else {},
        )


def calibrate(
    sites: Source,
    observations: Source,
    config: Any = None,
    parameter: str = "input",
    by: str = "land_use",
    **options: Any,
) -> Calibration:
    """Per group of sites, the multiplier of ``parameter`` ("input": plant inputs after the
    spin-up; "rate": decomposition rates in every phase) that fits the simulated SOC of the
    group's sites to the observed SOC (t C/ha) at the years of the observations (module
    docstring; the sites and observations as :func:`gsocseq.evaluate.evaluate` takes them).

    ``by``: "land_use" (the class of a site's last warm-up year, as a run groups its pixels),
    "zone" (the site table's ``zone`` column) or "all" (one multiplier); ``config``: [run]
    options, scenarios and classes; ``options`` override [run] keys. Runs in rothamsted
    mode; a calibration table in the configuration is not applied (the fit starts from 1).
    """
    if parameter not in PARAMETERS:
        raise ConfigError(f"parameter: {parameter!r} is not one of {', '.join(PARAMETERS)}")
    if by not in GROUPINGS:
        raise ConfigError(f"by: {by!r} is not one of {', '.join(GROUPINGS)}")
    cfg = _config(config, options)
    site_table = read_sites(sites)
    obs = read_observations(observations)
    index = match_sites(site_table, obs)
    arrays = site_arrays(site_table)
    if by == "zone" and "zone" not in arrays:
        raise InputError(f"{site_table.source}: --by zone needs a zone column (a code per site)")
    grouping = CalibrationTable(by)
    site_group = grouping.groups(arrays["land_use"][:, -1], arrays.get("zone"))
    n_sites = len(site_table.ids)
    ones = np.ones(n_sites)
    modelled = np.asarray(run_sites(site_table.table, cfg, years=1)["modelled"]) == 1
    _, status = simulate_at_years(site_table, index, obs.year, cfg, (ones, ones), modelled)
    used = status == SIMULATED
    left_out = {s: int(np.sum(status == s)) for s in (STARTING_STATE, NOT_MODELLED)}
    fits: dict[str, Fit] = {}
    for group in sorted(set(site_group[index[used]]), key=_order):
        pick = np.flatnonzero(used & (site_group[index] == group))
        members = site_group == group

        def simulate(k: float, pick: np.ndarray = pick, members: np.ndarray = members) -> Any:
            factor = np.where(members, k, 1.0)
            given = (factor, ones) if parameter == "input" else (ones, factor)
            years = obs.year[pick]
            return simulate_at_years(site_table, index[pick], years, cfg, given, modelled)[0]

        fits[group] = fit_multiplier(simulate, obs.soc[pick])
    if not fits:
        raise InputError(
            f"{obs.source}: no observation to fit (every one is a starting state or of a site "
            "not modelled)"
        )
    return Calibration(by, parameter, fits, left_out)


def _order(group: str) -> tuple[int, float, str]:
    """Class and zone codes in numerical order, names after them."""
    try:
        return (0, float(group), group)
    except ValueError:
        return (1, 0.0, group)


def write_table(
    calibration: Calibration, path: Union[str, os.PathLike], overwrite: bool = False
) -> Path:
    """The calibration table (:data:`~gsocseq.multipliers.TABLE_COLUMNS`, one row per group)
    at ``path``, which ``[run] calibration`` (or ``gsocseq run --calibration``) reads; an
    existing file is replaced only with ``overwrite``. Written whole before it takes its
    name."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: already exists (use --overwrite to replace it)")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder (give the calibration table's file name)")
    tmp = path.with_name(f".{path.name}.part")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(TABLE_COLUMNS)
            for group, fit in calibration.fits.items():
                w.writerow(
                    [
                        calibration.by,
                        csvsafe.cell(group),
                        calibration.parameter,
                        repr(fit.multiplier),
                        "" if math.isnan(fit.standard_error) else repr(fit.standard_error),
                        fit.n,
                        repr(fit.rmse_before),
                        repr(fit.rmse_after),
                        "true" if fit.converged else "false",
                    ]
                )
        os.replace(tmp, path)
    except BaseException as exc:  # a signal too: no temporary left behind
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write the calibration table ({exc})") from None
        raise
    return path


def summary(calibration: Calibration) -> str:
    """The fits as a text table: per group the multiplier, its standard error, n and the RMSE
    (t C/ha) before and after."""
    head = (
        f"{calibration.by:<16} {calibration.parameter + ' x':>10} {'SE':>9} {'n':>5} "
        f"{'RMSE 1':>8} {'RMSE k':>8}"
    )
    lines = [head]
    for group, f in calibration.fits.items():
        note = "" if f.converged else "  (not converged: left out of runs)"
        lines.append(
            f"{group[:16]:<16} {f.multiplier:>10.4f} {f.standard_error:>9.4f} {f.n:>5} "
            f"{f.rmse_before:>8.3f} {f.rmse_after:>8.3f}{note}"
        )
    notes = [f"{n} {s}" for s, n in calibration.left_out.items() if n]
    if notes:
        lines.append(f"left out: {', '.join(notes)}")
    return "\n".join(lines)
