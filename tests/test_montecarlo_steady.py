"""Monte Carlo uncertainty and years to steady state (METHOD.md sections 5-6)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from gsocseq.pipeline import run

from .synthetic import make_area


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


def test_montecarlo_needs_rothamsted_mode(tmp_path):
    from gsocseq.config import ConfigError

    cfg = make_area(tmp_path, rows=2, cols=2)
    cfg["run"].update(mode="fao-v1.2", uncertainty="montecarlo")
    with pytest.raises(ConfigError, match="rothamsted"):
        run(cfg)
