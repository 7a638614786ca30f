"""Monte Carlo uncertainty and years to steady state (METHOD.md sections 5-6)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from gsocseq import rothc
from gsocseq.pipeline import run

from .synthetic import make_area
from .test_pipeline_rothamsted import by_hand


def read(path):
    with rasterio.open(path) as ds:
        a = ds.read(1).astype(np.float64)
        a[a == ds.nodata] = np.nan
        return a


@pytest.fixture(scope="module")
def mc_area(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mc")
    cfg = make_area(folder, rows=5, cols=6, seed=41)
    cfg["run"].update(uncertainty="montecarlo", samples=300, seed=3, steady_state=True)
    summary = run(cfg)
    return cfg, folder / "out", summary


def test_monte_carlo_layers(mc_area):
    _cfg, out, summary = mc_area
    names = set(summary.layers)
    for stat in ("Mean", "P2.5", "P97.5", "U"):
        for product in ("T0", "finalSOC_BAU", "finalSOC_SSM3", "ASR_SSM1", "RSR_SSM2"):
            assert f"TST_GSOCseq_{product}_{stat}_MC030.tif" in names
    t0 = read(out / "TST_GSOCseq_T0_Map030.tif")
    mean = read(out / "TST_GSOCseq_T0_Mean_MC030.tif")
    lo = read(out / "TST_GSOCseq_T0_P2.5_MC030.tif")
    hi = read(out / "TST_GSOCseq_T0_P97.5_MC030.tif")
    u = read(out / "TST_GSOCseq_T0_U_MC030.tif")
    m = ~np.isnan(t0)
    assert np.array_equal(m, ~np.isnan(mean))
    assert np.all(lo[m] < mean[m]) and np.all(mean[m] < hi[m])
    assert np.allclose(mean[m], t0[m], rtol=0.03)
    np.testing.assert_allclose(u[m], 100 * (hi[m] - lo[m]) / (2 * mean[m]), rtol=1e-5)
    # T0 is nearly linear in the SOC map value: the 95 % range of the draws approaches the
    # min/max range of the SOC factor (+-20 %), the stock uncertainty of the min/max runs
    u_minmax = read(out / "TST_GSOCseq_T0_UncertaintyMap030.tif")
    ratio = u[m] / u_minmax[m]
    assert np.all((ratio > 0.7) & (ratio < 1.35)), ratio
    assert 0.9 < np.median(ratio) < 1.15


def test_monte_carlo_draws_do_not_depend_on_tiling(tmp_path, mc_area):
    _cfg, out, _ = mc_area
    cfg2 = make_area(tmp_path, rows=5, cols=6, seed=41)
    cfg2["run"].update(
        uncertainty="montecarlo", samples=300, seed=3, steady_state=True, block_size=16, threads=1
    )
    run(cfg2)
    for name in ("T0_P2.5_MC030", "ASR_SSM2_U_MC030", "YearsToSteadyState_SSM1"):
        a = read(out / f"TST_GSOCseq_{name}.tif")
        b = read(tmp_path / "out" / f"TST_GSOCseq_{name}.tif")
        assert np.array_equal(a, b, equal_nan=True), name
    cfg3 = make_area(tmp_path / "other", rows=5, cols=6, seed=41)
    cfg3["run"].update(uncertainty="montecarlo", samples=300, seed=4)
    run(cfg3)
    a = read(out / "TST_GSOCseq_T0_P2.5_MC030.tif")
    c = read(tmp_path / "other" / "out" / "TST_GSOCseq_T0_P2.5_MC030.tif")
    assert not np.array_equal(a, c, equal_nan=True)  # another seed, other draws


def test_years_to_steady_state(mc_area):
    _, out, _ = mc_area
    ssm3 = read(out / "TST_GSOCseq_YearsToSteadyState_SSM3.tif")
    t0 = read(out / "TST_GSOCseq_T0_Map030.tif")
    finite = ~np.isnan(ssm3)
    assert finite.sum() >= 5
    assert np.all(ssm3[finite] > 1) and np.all(ssm3[finite] < 10_000)
    assert np.all(np.isnan(ssm3[np.isnan(t0)]))


def years_by_hand(forward: dict, climate: dict, years: int = 50_000) -> float:
    """Years to the new steady state (METHOD.md section 5) from a month-by-month run of
    ``years`` years: the year-end total SOC, its last value as the equilibrium, the last year
    end outside the 5 % band, linear between year ends."""
    res = rothc.run(
        **{k: np.tile(v, years) for k, v in climate.items()}, trajectory=True, **forward
    )
    year_ends = np.concatenate([[forward["pools"].sum()], res.monthly[0, 11::12].sum(axis=1)])
    eq = year_ends[-1]
    # converged: the last 1,000 year ends agree with the equilibrium to 1e-11
    assert np.all(np.abs(year_ends[-1000:] - eq) <= 1e-11 * eq)
    tol = 0.05 * abs(year_ends[0] - eq)
    last = int(np.flatnonzero(np.abs(year_ends - eq) > tol)[-1])
    edge = eq + tol if year_ends[last] > eq else eq - tol
    return last + (edge - year_ends[last]) / (year_ends[last + 1] - year_ends[last])


def test_years_to_steady_state_equal_a_long_monthly_run(tmp_path):
    """The layers on year-end stocks (defined on every modelled pixel) against 50,000 years
    month by month through gsocseq.rothc, from the chain's state at t0 by hand."""
    cfg = make_area(tmp_path, rows=4, cols=5, seed=8)
    cfg["run"].update(uncertainty="none", steady_state=True)
    run(cfg)
    t0 = read(tmp_path / "out" / "TST_GSOCseq_T0_Map030.tif")
    layers = {
        s: read(tmp_path / "out" / f"TST_GSOCseq_YearsToSteadyState_{s}.tif")
        for s in ("BAU", "SSM1", "SSM2", "SSM3")
    }
    modelled = ~np.isnan(t0)
    assert modelled.sum() >= 10
    for r, c in zip(*np.nonzero(modelled)):
        hand = by_hand(cfg, r, c, 0)
        for s, layer in layers.items():
            want = years_by_hand(hand["forward"][s], hand["forward_climate"])
            # to 1 float32 ulp (the layers are float32)
            ulp = np.spacing(np.float32(want))
            assert abs(np.float32(layer[r, c]) - np.float32(want)) <= ulp, (r, c, s, want)


def test_montecarlo_needs_rothamsted_mode(tmp_path):
    from gsocseq.config import ConfigError

    cfg = make_area(tmp_path, rows=2, cols=2)
    cfg["run"].update(mode="fao-v1.2", uncertainty="montecarlo")
    with pytest.raises(ConfigError, match="rothamsted"):
        run(cfg)
