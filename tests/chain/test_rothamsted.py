"""rothamsted mode on a small synthetic area: every layer against the chain of phases run by
hand through the gsocseq.rothc Python API (METHOD.md sections 3-7)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio

from gsocseq import classes, rothc
from gsocseq.pipeline import run

from ..oracles import miami_npp
from ..synthetic import make_area

PERTURB = {
    0: (1.0, 1.0, 1.0, 1.0, 1.0),
    1: (0.8, 0.9, 1.02, 0.95, 0.85),
    2: (1.2, 1.1, 0.98, 1.05, 1.15),
}
SSM = {"SSM1": 0.05, "SSM2": 0.10, "SSM3": 0.20}


def read(path):
    with rasterio.open(path) as ds:
        a = ds.read().astype(np.float64)
        a[a == ds.nodata] = np.nan
        return a


def by_hand(
    area: dict,
    r: int,
    c: int,
    run_index: int,
    spinup: str = "equilibrium",
    perturb: tuple[float, ...] | None = None,
    npp_reference: float | None = None,
) -> dict:
    """The three phases for pixel (r, c) with gsocseq.rothc, as METHOD.md describes them:
    the central, min or max run (``run_index``), or the factors ``perturb`` (SOC, clay, T, P,
    increase) with the reference NPP ``npp_reference`` (t C/ha/yr before the coefficient)."""
    inp = {k: (v["path"] if isinstance(v, dict) else v) for k, v in area["inputs"].items()}
    f_soc, f_clay, f_t, f_p, f_inc = PERTURB[run_index] if perturb is None else perturb
    soc = read(inp["soc"])[0, r, c] * f_soc
    clay = read(inp["clay"])[0, r, c] * f_clay
    cover = read(inp["cover"])[:, r, c]
    lu = read(inp["land_use"])[:, r, c].astype(int)
    dr, coef, paddy, _ = classes.lookup_tables()
    spin_class = next(x for x in lu if not np.isnan(coef[x]))
    t_spin = read(inp["spinup_temperature"])[:, r, c] * f_t
    p_spin = read(inp["spinup_precipitation"])[:, r, c] * f_p
    e_spin = read(inp["spinup_pet"])[:, r, c]
    soil = dict(clay=clay, **rothc.GSOCSEQ)  # the chain's settings (PET, 30 cm)
    forcing = dict(
        temperature=t_spin,
        precipitation=p_spin,
        evaporation=e_spin,
        cover=cover,
        dpm_rpm=dr[spin_class],
        rate_factor=paddy[spin_class],
        **soil,
    )
    if spinup == "equilibrium":
        ceq, pools, tsmd = rothc.equilibrium_inputs(soc, **forcing)
    else:  # official iterative rule with C_eq of the equilibrium
        ceq, _, _ = rothc.equilibrium_inputs(soc, **forcing)
        sp = rothc.spinup(
            method="rothamsted-iterative",
            plant_input=float(ceq[0]) / 12,
            iom=rothc.falloon_iom(soc),
            **forcing,
        )
        pools, tsmd = sp.pools, sp.tsmd
    npp_key = ("npp_reference", "npp_reference_min", "npp_reference_max")[run_index]
    if npp_reference is None:
        npp_reference = read(inp[npp_key])[0, r, c]
    npp_ref = npp_reference * coef[spin_class]
    t_w = read(inp["warmup_temperature"])[:, r, c] * 0.1 * f_t
    p_w = read(inp["warmup_precipitation"])[:, r, c] * f_p
    e_w = read(inp["warmup_pet"])[:, r, c] * 0.1
    years = len(t_w) // 12
    inputs = []
    prev_npp = None
    restart = True
    for y in range(years):
        m = slice(12 * y, 12 * y + 12)
        k = lu[y]
        if np.isnan(coef[k]):
            cin, restart = 0.0, True
        else:
            npp = float(miami_npp(t_w[m], p_w[m])) * coef[k]
            cin = ceq[0] * npp / npp_ref if restart else inputs[-1] * npp / prev_npp
            restart, prev_npp = False, npp
        inputs.append(cin)
        res = rothc.run(
            pools=pools,
            tsmd=tsmd,
            temperature=t_w[m],
            precipitation=p_w[m],
            evaporation=e_w[m],
            cover=cover,
            plant_input=cin / 12,
            dpm_rpm=dr[k] if not np.isnan(dr[k]) else 0.0,
            rate_factor=paddy[k],
            **soil,
        )
        pools, tsmd = res.pools, res.tsmd
    t0 = pools.sum()
    cin_mean = float(np.mean(inputs))
    t_f = t_w.reshape(-1, 12).mean(axis=0)
    p_f = p_w.reshape(-1, 12).mean(axis=0)
    e_f = e_w.reshape(-1, 12).mean(axis=0)
    k = lu[-1]
    group = {2: "crops", 12: "crops", 13: "paddy"}.get(k, "grass")
    finals = {}
    # the forward run of each scenario for ``years`` years (its monthly input, forcing)
    forward = {}
    for name, inc in [("BAU", 0.0), *SSM.items()]:
        inc = inc if group else 0.0
        forward[name] = dict(
            pools=pools,
            tsmd=tsmd,
            plant_input=cin_mean * (1 + inc * f_inc) / 12,
            dpm_rpm=dr[k],
            rate_factor=paddy[k],
            **soil,
        )
        res = rothc.run(
            temperature=np.tile(t_f, 20),
            precipitation=np.tile(p_f, 20),
            evaporation=np.tile(e_f, 20),
            cover=np.tile(cover, 20),
            **forward[name],
        )
        finals[name] = res.pools.sum()
    climate = {"temperature": t_f, "precipitation": p_f, "evaporation": e_f, "cover": cover}
    return {
        "ceq": ceq[0],
        "t0": t0,
        "cin_mean": cin_mean,
        "final": finals,
        "forward": forward,
        "forward_climate": climate,
    }


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    folder = tmp_path_factory.mktemp("roth")
    cfg = make_area(folder)
    cfg["run"]["intermediate"] = True
    summary = run(cfg)
    return cfg, folder / "out", summary


def layer(out, product, unc=False):
    kind = "UncertaintyMap030" if unc else "Map030"
    return read(out / f"TST_GSOCseq_{product}_{kind}.tif")[0]


def test_layers_equal_the_chain_by_hand(area):
    cfg, out, summary = area
    lu = read(cfg["inputs"]["land_use"])[-1]
    modelled = np.isin(lu, [2, 3, 5, 12, 13])
    t0 = layer(out, "T0")
    assert np.array_equal(~np.isnan(t0), modelled)
    assert summary.counts["modelled"] == modelled.sum()
    ceq = read(out / "TST_GSOCseq_Ceq.tif")[0]
    checked = 0
    for r, c in zip(*np.nonzero(modelled)):
        runs = [by_hand(cfg, r, c, i) for i in range(3)]
        central = runs[0]
        assert math.isclose(ceq[r, c], np.float32(central["ceq"]), rel_tol=1e-7)
        assert np.float32(central["t0"]) == np.float32(t0[r, c])
        for name, f in central["final"].items():
            got = layer(out, f"finalSOC_{name}")[r, c]
            assert abs(got / f - 1) < 2e-7, (name, got, f)
            assert abs(
                layer(out, f"AbsDiff_{name}")[r, c] - np.float32(f - central["t0"])
            ) <= 1e-6 * abs(f)
            dx = [run_["final"][name] - run_["t0"] for run_ in runs]
            u = 100 * abs(dx[2] - dx[1]) / (2 * abs(dx[0]))
            got_u = layer(out, f"ASR_{name}", unc=True)[r, c]
            if not np.isnan(got_u):
                assert abs(got_u / u - 1) < 1e-5, (name, got_u, u)
        u_t0 = 100 * abs(runs[2]["t0"] - runs[1]["t0"]) / (2 * central["t0"])
        assert abs(layer(out, "T0", unc=True)[r, c] / u_t0 - 1) < 1e-6
        checked += 1
    assert checked >= 10


def test_iterative_spinup_mode(tmp_path):
    cfg = make_area(tmp_path, rows=2, cols=3, seed=4)
    cfg["run"].update(spinup="rothamsted-iterative", uncertainty="none")
    run(cfg)
    out = tmp_path / "out"
    lu = read(cfg["inputs"]["land_use"])[-1]
    t0 = layer(out, "T0")
    for r, c in zip(*np.nonzero(np.isin(lu, [2, 3, 5, 12, 13]))):
        hand = by_hand(cfg, r, c, 0, spinup="rothamsted-iterative")
        assert np.float32(hand["t0"]) == np.float32(t0[r, c])


def test_modes_differ_as_documented(tmp_path):
    """fao-v1.2 on the same inputs gives other numbers (moisture restart, Euler), and the same
    set of modelled pixels."""
    cfg = make_area(tmp_path / "a", seed=3)
    cfg["run"]["uncertainty"] = "none"
    run(cfg)
    fao_cfg = make_area(tmp_path / "b", seed=3)
    fao_cfg["run"].update(mode="fao-v1.2", uncertainty="none")
    run(fao_cfg)
    a = layer(tmp_path / "a" / "out", "finalSOC_BAU")
    b = layer(tmp_path / "b" / "out", "finalSOC_BAU")
    both = ~np.isnan(a) & ~np.isnan(b)
    assert both.sum() >= 10
    rel = np.abs(a[both] / b[both] - 1)
    assert rel.max() > 1e-3  # the numerics really differ
    assert rel.max() < 1.0  # but stay the same order of magnitude


def test_horizons_and_extra_scenarios(tmp_path):
    cfg = make_area(tmp_path, rows=2, cols=3, seed=5)
    cfg["run"].update(horizons=[50, 100], uncertainty="minmax")
    cfg["scenarios"] = {
        "SSM1": {"crops": 0.05, "grass": 0.05, "paddy": 0.05},
        "SSM2": {"crops": 0.1, "grass": 0.1, "paddy": 0.1},
        "SSM3": {"crops": 0.2, "grass": 0.2, "paddy": 0.2},
        "SSM4": {"crops": 0.3, "grass": 0.3, "paddy": 0.3},
    }
    summary = run(cfg)
    out = tmp_path / "out"
    names = set(summary.layers)
    assert "TST_GSOCseq_finalSOC_SSM4_Map030.tif" in names
    assert "TST_GSOCseq_finalSOC_BAU_2070_Map030.tif" in names
    assert "TST_GSOCseq_ASR_SSM4_2120_UncertaintyMap030.tif" in names
    f20 = layer(out, "finalSOC_SSM4")
    f100 = layer(out, "finalSOC_SSM4_2120")
    s3 = layer(out, "finalSOC_SSM3")
    m = ~np.isnan(f20)
    assert np.all(f20[m] > s3[m])  # +30 % input ends above +20 %
    assert np.all(f100[m] != f20[m])
