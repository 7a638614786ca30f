"""Monte Carlo uncertainty and years to steady state (METHOD.md sections 5-6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from gsocseq import _core, rothc
from gsocseq.pipeline import run

from ..oracles import miami_npp
from ..synthetic import make_area
from .test_rothamsted import by_hand


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


def test_pixels_without_monte_carlo_values_are_counted_and_named(tmp_path):
    """A draw is SOC x (1 + z soc_uncertainty / 196): with a soc_uncertainty of 90 % some draws
    are below 0 and the pixel's Monte Carlo layers are nodata (the core's rule: a draw not
    finite). That was silent (exit 0, no count, no warning; 3 in 4 of the demo's pixels)."""
    from ..synthetic import write_raster

    cfg = make_area(tmp_path, rows=6, cols=8, seed=41)
    with rasterio.open(cfg["inputs"]["soc"]) as ds:
        transform, crs = ds.transform, ds.crs
    cfg["inputs"]["soc_uncertainty"] = str(
        write_raster(tmp_path / "u.tif", np.full((6, 8), 90.0), transform=transform, crs=crs)
    )
    cfg["run"].update(uncertainty="montecarlo", samples=100, seed=1)
    summary = run(cfg)
    t0 = read(tmp_path / "out" / "TST_GSOCseq_T0_Map030.tif")
    mc = read(tmp_path / "out" / "TST_GSOCseq_T0_Mean_MC030.tif")
    lost = int((np.isfinite(t0) & np.isnan(mc)).sum())
    assert 0 < lost < np.isfinite(t0).sum()
    assert summary.counts["montecarlo:a draw not finite"] == lost
    warned = f"{lost:,} pixels have no Monte Carlo values"
    assert any(w.startswith(warned) for w in summary.warnings)


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


def mean_miami(t: np.ndarray, p: np.ndarray, ft: float = 1.0, fp: float = 1.0) -> float:
    """M(T fT, P fP): the mean over the years of yearly MIAMI NPP, every month perturbed."""
    return float(miami_npp((t * ft).reshape(-1, 12), (p * fp).reshape(-1, 12)).mean())


def mc_by_hand(cfg: dict, seed: int, samples: int, t: np.ndarray, p: np.ndarray, npp_ref: float):
    """Run the Monte Carlo area ``cfg``; its first modelled pixel of the last (hot, dry) row;
    each of its draws by hand (gsocseq.rothc) with the draw's factors and the reference NPP
    NPP_ref x M(T fT, P fP) / M(T, P), M over the (n, rows, cols) monthly series ``t``, ``p``
    (degrees C, mm); ``npp_ref`` None: M(T, P) itself. Returns (layer reader, pixel, draws,
    T0 of each draw, final stocks of each scenario and draw)."""
    cfg["run"].update(uncertainty="montecarlo", samples=samples, seed=seed)
    run(cfg)
    out = Path(cfg["run"]["output"])
    t0_layer = read(out / "TST_GSOCseq_T0_Map030.tif")
    r = t0_layer.shape[0] - 1
    c = int(np.flatnonzero(~np.isnan(t0_layer[r]))[0])
    t, p = t[:, r, c], p[:, r, c]
    central = mean_miami(t, p)
    ref = central if npp_ref is None else npp_ref[r, c]
    draws = _core.monte_carlo_draws(r * t0_layer.shape[1] + c, seed, samples, 0.2, 0.1)
    assert draws.shape == (samples, 5)
    t0s, finals = [], {s: [] for s in ("BAU", "SSM1", "SSM2", "SSM3")}
    for f_soc, f_clay, f_t, f_p, f_inc in draws:
        hand = by_hand(
            cfg,
            r,
            c,
            0,
            perturb=(f_soc, f_clay, f_t, f_p, f_inc),
            npp_reference=ref * mean_miami(t, p, f_t, f_p) / central,
        )
        t0s.append(hand["t0"])
        for s in finals:
            finals[s].append(hand["final"][s])

    def layer(name: str) -> float:
        return read(out / f"TST_GSOCseq_{name}_MC030.tif")[r, c]

    return layer, (t, p, central), draws, np.array(t0s), {k: np.array(v) for k, v in finals.items()}


def check_stats(layer, name: str, values: np.ndarray) -> None:
    """The Monte Carlo layers of ``name`` are the statistics of ``values``, to 1 float32 ulp."""
    lo, hi = np.percentile(values, [2.5, 97.5])
    mean = values.mean()
    want = {"Mean": mean, "P2.5": lo, "P97.5": hi, "U": 100 * (hi - lo) / (2 * abs(mean))}
    for stat, v in want.items():
        got = layer(f"{name}_{stat}")
        assert abs(got - v) <= abs(np.spacing(np.float32(v))), (name, stat, got, v)


def test_monte_carlo_draws_by_hand_for_a_dry_pixel(tmp_path):
    """Each draw of a water-limited pixel run by hand through gsocseq.rothc with its factors
    and the reference NPP that follows its drawn climate (METHOD.md section 6): NPP_ref x
    M(T fT, P fP) / M(T, P), M over the warm-up series (no 1981-2000 series given); the Monte
    Carlo layers are the statistics of these draws."""
    cfg = make_area(tmp_path, rows=4, cols=3, seed=5)
    t_w = read_all(cfg["inputs"]["warmup_temperature"]["path"]) * 0.1
    p_w = read_all(cfg["inputs"]["warmup_precipitation"])
    npp_ref = read(cfg["inputs"]["npp_reference"])
    layer, (t, p, central), draws, t0s, finals = mc_by_hand(cfg, 9, 40, t_w, p_w, npp_ref)
    # the hot, dry row: annual P well below what MIAMI's temperature limb allows
    npp_t = 3000 / (1 + np.exp(1.315 - 0.119 * t.reshape(-1, 12).mean(axis=1)))
    npp_p = 3000 * (1 - np.exp(-0.000664 * p.reshape(-1, 12).sum(axis=1)))
    assert np.all(npp_p < 0.5 * npp_t)  # water-limited every year
    # the precipitation draws move the reference NPP with the warm-up NPP (they cancel in the
    # inputs): nearly in proportion to P in a water-limited pixel
    refs = [mean_miami(t, p, d[2], d[3]) / central for d in draws]
    assert np.corrcoef(refs, draws[:, 3])[0, 1] > 0.99
    check_stats(layer, "T0", t0s)
    for s, v in finals.items():
        check_stats(layer, f"finalSOC_{s}", v)
        check_stats(layer, f"ASR_{s}", (v - t0s) / 20)
    for s in ("SSM1", "SSM2", "SSM3"):
        check_stats(layer, f"RSR_{s}", (finals[s] - finals["BAU"]) / 20)


def test_monte_carlo_npp_follows_the_1981_2000_series_when_given(tmp_path):
    """With 240-band 1981-2000 series (and no NPP raster), M is taken over those series."""
    from ..synthetic import write

    cfg = make_area(tmp_path, rows=4, cols=3, seed=5)
    inputs = cfg["inputs"]
    t_w = read_all(inputs["warmup_temperature"]["path"]) * 0.1
    p_w = read_all(inputs["warmup_precipitation"])
    # a cooler, drier past
    inputs["reference_temperature"] = str(write(tmp_path / "t_ref.tif", t_w - 0.8))
    inputs["reference_precipitation"] = str(write(tmp_path / "p_ref.tif", p_w * 0.85))
    for key in ("npp_reference", "npp_reference_min", "npp_reference_max"):
        del inputs[key]
    # the series as written (float32)
    t_ref = (t_w - 0.8).astype(np.float32).astype(np.float64)
    p_ref = (p_w * 0.85).astype(np.float32).astype(np.float64)
    layer, _, _, t0s, finals = mc_by_hand(cfg, 2, 16, t_ref, p_ref, None)
    check_stats(layer, "T0", t0s)
    check_stats(layer, "finalSOC_SSM2", finals["SSM2"])


def read_all(path):
    with rasterio.open(path) as ds:
        return ds.read().astype(np.float64)


def test_montecarlo_needs_rothamsted_mode(tmp_path):
    from gsocseq.config import ConfigError

    cfg = make_area(tmp_path, rows=2, cols=2)
    cfg["run"].update(mode="fao-v1.2", uncertainty="montecarlo")
    with pytest.raises(ConfigError, match="rothamsted"):
        run(cfg)
