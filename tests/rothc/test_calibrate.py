"""``gsocseq.calibrate``: multipliers recovered from synthetic observations made with known
multipliers (RothC runs of ``gsocseq.rothc``), within their standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gsocseq import rothc
from gsocseq.calibrate import fit_multiplier


class Sites:
    """``n`` sites spun up to their SOC, then run ``years`` years from the state at the end of
    the spin-up; SOC observed at every ``every``-th year end."""

    def __init__(self, n: int = 8, years: int = 30, every: int = 3, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        season = np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False))
        self.n, self.years, self.every = n, years, every
        self.temperature = (rng.uniform(6, 22, (n, 1)) - 8 * season)[:, None, :]
        self.precipitation = (rng.uniform(20, 90, (n, 1)) * (1 + 0.5 * season))[:, None, :]
        self.evaporation = (50 - 35 * season + 0 * rng.uniform(size=(n, 1)))[:, None, :]
        self.cover = np.where(rng.uniform(size=(n, 12)) < 0.25, 1.0, 0.6)
        self.clay = rng.uniform(10, 50, n)
        self.soc = rng.uniform(30, 80, n)
        # a trend: the years after the spin-up are warmer and drier
        trend = np.linspace(0, 2, years)[None, :, None]
        self.t_run = np.tile(self.temperature, (1, years, 1)) + trend
        self.p_run = np.tile(self.precipitation, (1, years, 1)) * (1 - 0.1 * trend)

    def run(self, parameter: str, k: float) -> np.ndarray:
        """SOC (t C/ha) at the observed year ends with multiplier ``k`` of the plant input
        after the spin-up, or of the decomposition rate (every phase): (n, years // every)."""
        rate = k if parameter == "rate" else 1.0
        year = {
            "temperature": self.temperature[:, 0],
            "precipitation": self.precipitation[:, 0],
            "evaporation": self.evaporation[:, 0],
            "cover": self.cover,
            "dpm_rpm": 1.44,
            "clay": self.clay,
            "depth": 30.0,
            "evap_coefficient": 1.0,
            "rate_factor": rate,
        }
        annual, pools, tsmd = rothc.equilibrium_inputs(self.soc, **year)
        plant = (annual * (k if parameter == "input" else 1.0) / 12.0)[:, None]
        out = rothc.run(
            pools=pools,
            temperature=self.t_run.reshape(self.n, -1),
            precipitation=self.p_run.reshape(self.n, -1),
            evaporation=np.tile(self.evaporation[:, 0], (1, self.years)),
            cover=np.tile(self.cover, (1, self.years)),
            plant_input=np.repeat(plant, 12 * self.years, axis=1),
            dpm_rpm=1.44,
            clay=self.clay,
            depth=30.0,
            evap_coefficient=1.0,
            rate_factor=rate,
            tsmd=tsmd,
            trajectory=True,
        )
        soc = out.monthly.sum(axis=2)  # (n, months)
        return soc[:, 12 * self.every - 1 :: 12 * self.every]


@pytest.fixture(scope="module")
def sites() -> Sites:
    return Sites()


@pytest.mark.parametrize(("parameter", "truth"), [("input", 1.3), ("input", 0.7), ("rate", 1.25)])
def test_noise_free_observations_give_the_multiplier_exactly(sites, parameter, truth):
    observed = sites.run(parameter, truth)
    fit = fit_multiplier(lambda k: sites.run(parameter, k), observed)
    assert fit.converged
    assert fit.multiplier == pytest.approx(truth, rel=1e-8)
    assert fit.rmse_after < 1e-6 < fit.rmse_before
    assert fit.n == observed.size == 8 * 10
    # linear in the input multiplier: the Gauss-Newton step lands on it at once
    if parameter == "input":
        assert fit.iterations <= 10


@pytest.mark.parametrize(("parameter", "truth"), [("input", 1.2), ("rate", 0.8)])
def test_multipliers_recovered_within_their_standard_errors(sites, parameter, truth):
    clean = sites.run(parameter, truth)
    sigma = 0.5  # t C/ha, measurement error
    within, errors, ses = 0, [], []
    for seed in range(40):
        noise = np.random.default_rng(100 + seed).normal(0, sigma, clean.shape)
        fit = fit_multiplier(lambda k: sites.run(parameter, k), clean + noise)
        assert fit.converged
        errors.append(fit.multiplier - truth)
        ses.append(fit.standard_error)
        within += abs(fit.multiplier - truth) <= 1.96 * fit.standard_error
        # the residual standard deviation estimates the noise
        assert math.sqrt(fit.sse / (fit.n - 1)) == pytest.approx(sigma, rel=0.25)
    # about 95 % of the 95 % intervals hold the truth (38 of 40; at least 34 allowed)
    assert within >= 34, within
    # the standard error is the spread of the estimates: their scatter matches it
    assert np.std(errors) == pytest.approx(np.mean(ses), rel=0.35)
    assert abs(np.mean(errors)) < 3 * np.mean(ses) / math.sqrt(40)


def test_standard_error_is_the_least_squares_slope_error_for_a_linear_model():
    # y = a + k b: SE(k) = s / sqrt(sum b^2), s^2 = SSE / (n - 1)
    rng = np.random.default_rng(5)
    a, b = rng.uniform(20, 40, 12), rng.uniform(-3, 3, 12)
    observed = a + 1.7 * b + rng.normal(0, 0.2, 12)
    fit = fit_multiplier(lambda k: a + k * b, observed)
    k = float(np.dot(b, observed - a) / np.dot(b, b))
    s = math.sqrt(float(np.sum((a + k * b - observed) ** 2)) / 11)
    assert fit.multiplier == pytest.approx(k, rel=1e-12)
    assert fit.standard_error == pytest.approx(s / math.sqrt(float(np.dot(b, b))), rel=1e-6)


def test_degenerate_fits():
    # one observation: an exact fit, no standard error
    one = fit_multiplier(lambda k: np.array([10.0 * k]), [12.0])
    assert one.multiplier == pytest.approx(1.2) and math.isnan(one.standard_error)
    # observations that do not depend on the multiplier: not converged
    flat = fit_multiplier(lambda k: np.array([1.0, 2.0]), [1.5, 2.5])
    assert not flat.converged and flat.multiplier == 1.0
    # the best multiplier beyond the bounds: held at the bound, not converged
    far = fit_multiplier(lambda k: np.array([k]), [5000.0])
    assert far.multiplier == 1000.0 and not far.converged
    with pytest.raises(ValueError, match="at least one finite observation"):
        fit_multiplier(lambda k: np.array([k]), [np.nan])
    with pytest.raises(ValueError, match="returned 2 values, expected 1"):
        fit_multiplier(lambda k: np.array([k, k]), [1.0])
