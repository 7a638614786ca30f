"""rothamsted mode on the FAO v1.2 layout (the public 1,000-pixel area): the DPM/RPM ratio of
every phase comes from the stacks' DR bands (METHOD.md section 3), and the chain equals a run
by hand through gsocseq.rothc."""

from __future__ import annotations

import functools
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

from gsocseq import classes, rothc
from gsocseq.pipeline import run

from ..oracles import miami_npp
from .test_fao import INPUTS, fao_config

SSM = {"SSM1": 0.05, "SSM2": 0.10, "SSM3": 0.20}


@functools.cache
def _stack(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read().astype(np.float64)


def _nodata(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        a = ds.read().astype(np.float64)
        a[a == ds.nodata] = np.nan
        return a


def _config(out: Path, warmup_stack: Path) -> dict:
    cfg = fao_config(out, mode="rothamsted", uncertainty="none", intermediate=True)
    cfg["inputs"]["fao"]["warmup_stack"] = str(warmup_stack)
    return cfg


def by_hand(warm: np.ndarray, r: int, c: int) -> dict:
    """The three phases of pixel (r, c) with gsocseq.rothc as METHOD.md sections 3-5 describe
    them on the FAO layout (``warm`` the warm-up stack)."""
    spin = _stack(INPUTS / "STACK/THA_NP_Stack_Set_SPIN_UP.tif")[:, r, c]
    fwd = _stack(INPUTS / "STACK/THA_NP_Stack_Set_Forward.tif")[:, r, c]
    series = {
        key: _stack(INPUTS / "TERRA_CLIMATE" / name)[:, r, c] * scale
        for key, name, scale in (
            ("t", "AverageTemperature_2001-2020.tif", 0.1),
            ("p", "Precipitation_2001-2020.tif", 1.0),
            ("e", "PET_2001-2020.tif", 0.1),
        )
    }
    npp_raster = _stack(INPUTS / "NPP_TERRA/NPP_MIAMI_MEAN_81-00_AOI.tif")[0, r, c]
    _, coef, paddy, _ = classes.lookup_tables()
    soc, clay = spin[0], spin[1]
    lu = warm[14:34, r, c].astype(int)
    dr = warm[34:54, r, c]
    soil = dict(clay=clay, depth=30.0, evap_coefficient=1.0)
    # the spin-up year: the first warm-up year whose class has coefficients, its DR band
    year = next(y for y, k in enumerate(lu) if not np.isnan(coef[k]))
    spin_class = lu[year]
    ceq, pools, tsmd = rothc.equilibrium_inputs(
        soc,
        temperature=spin[2:14],
        precipitation=spin[14:26],
        evaporation=spin[26:38],
        cover=spin[40:52],
        dpm_rpm=dr[year],
        rate_factor=paddy[spin_class],
        **soil,
    )
    pools2000 = pools.copy()
    npp_ref = npp_raster * coef[spin_class]
    inputs: list[float] = []
    prev_npp, restart = math.nan, True
    for y in range(20):
        m = slice(12 * y, 12 * y + 12)
        k = lu[y]
        if np.isnan(coef[k]):
            cin, restart = 0.0, True
        else:
            npp = float(miami_npp(series["t"][m], series["p"][m])) * coef[k]
            cin = ceq[0] * npp / npp_ref if restart else inputs[-1] * npp / prev_npp
            restart, prev_npp = False, npp
        inputs.append(cin)
        res = rothc.run(
            pools=pools,
            tsmd=tsmd,
            temperature=series["t"][m],
            precipitation=series["p"][m],
            evaporation=series["e"][m],
            cover=warm[2:14, r, c],
            plant_input=cin / 12,
            dpm_rpm=dr[y],
            rate_factor=paddy[k],
            **soil,
        )
        pools, tsmd = res.pools, res.tsmd
    cin_mean = float(np.mean(inputs))
    k = lu[-1]
    group = {2: "crops", 12: "crops", 13: "paddy"}.get(k, "grass")
    finals = {}
    for name, inc in [("BAU", 0.0), *SSM.items()]:
        res = rothc.run(
            pools=pools,
            tsmd=tsmd,
            temperature=np.tile(fwd[2:14], 20),
            precipitation=np.tile(fwd[14:26], 20),
            evaporation=np.tile(fwd[26:38], 20),
            cover=np.tile(fwd[40:52], 20),
            plant_input=cin_mean * (1 + (inc if group else 0.0)) / 12,
            dpm_rpm=fwd[38],
            rate_factor=paddy[k],
            **soil,
        )
        finals[name] = res.pools.sum()
    return {
        "ceq": ceq[0],
        "pools2000": pools2000[0],
        "t0": pools.sum(),
        "final": finals,
        "spin_class": spin_class,
        "year": year,
    }


@pytest.fixture(scope="module")
def dr_runs(tmp_path_factory):
    """The area as published, and with the crops' DR bands of the warm-up stack set to 1.0 (a
    country's own DR) and 5 cropland pixels artificial (no coefficients, DR 0) in 2001-2003."""
    folder = tmp_path_factory.mktemp("fao_dr")
    original = INPUTS / "STACK/THA_NP_Stack_Set_Warm_UP.tif"
    edited = folder / "warm_up_dr.tif"
    shutil.copy(original, edited)
    with rasterio.open(edited, "r+") as ds:
        stack = ds.read()
        lu, dr = stack[14:34], stack[34:54]
        dr[lu == 2] = 1.0
        rows, cols = np.nonzero(lu[-1] == 2)
        for r, c in zip(rows[::50][:5], cols[::50][:5]):
            lu[:3, r, c], dr[:3, r, c] = 1, 0.0
        ds.write(lu, indexes=list(range(15, 35)))
        ds.write(dr, indexes=list(range(35, 55)))
    run(_config(folder / "published", original))
    run(_config(folder / "edited", edited))
    return folder, _stack(original), _stack(edited)


def _layer(out: Path, name: str) -> np.ndarray:
    return _nodata(out / f"THA_NP_GSOCseq_{name}.tif")


def test_spinup_dr_from_the_warmup_stack(dr_runs):
    folder, _, edited = dr_runs
    ceq_pub = _layer(folder / "published", "Ceq")[0]
    ceq_edit = _layer(folder / "edited", "Ceq")[0]
    modelled = ~np.isnan(ceq_pub)
    assert np.array_equal(modelled, ~np.isnan(ceq_edit))
    lu = edited[14:34]
    _, coef, _, _ = classes.lookup_tables()
    has = ~np.isnan(coef[np.nan_to_num(lu, nan=0).astype(int)])
    spin_class = np.take_along_axis(lu, np.argmax(has, axis=0)[None], axis=0)[0]
    crops = modelled & (spin_class == 2)
    others = modelled & (spin_class != 2)
    assert crops.sum() >= 100 and others.sum() >= 100
    # C_eq follows the stacks' DR of the spin-up year: less DPM in the input (DR 1.0 instead of
    # 1.44) decomposes more slowly, so less input holds the same SOC
    assert np.all(ceq_edit[crops] < ceq_pub[crops])
    rel = ceq_edit[crops] / ceq_pub[crops] - 1
    assert np.median(rel) < -1e-3
    assert np.array_equal(ceq_edit[others], ceq_pub[others])


@pytest.mark.parametrize("which", ["published", "edited"])
def test_spinup_and_warmup_equal_the_chain_by_hand(dr_runs, which):
    folder, published, edited = dr_runs
    warm = published if which == "published" else edited
    out = folder / which
    ceq = _layer(out, "Ceq")[0]
    pools2000 = _layer(out, "Pools2000")
    t0 = _layer(out, "T0_Map030")[0]
    bau = _layer(out, "finalSOC_BAU_Map030")[0]
    rows, cols = np.nonzero(~np.isnan(ceq))
    lu = warm[14:34, rows, cols]
    # every 40th modelled pixel, and every pixel whose first warm-up years have no
    # coefficients (the spin-up year is a later one)
    late = np.isnan(classes.lookup_tables()[1][np.nan_to_num(lu[0], nan=0).astype(int)])
    picks = sorted(set(range(0, len(rows), 40)) | set(np.flatnonzero(late)))
    years = set()
    for i in picks:
        r, c = int(rows[i]), int(cols[i])
        hand = by_hand(warm, r, c)
        years.add(hand["year"])
        assert np.float32(hand["ceq"]) == np.float32(ceq[r, c]), (r, c)
        assert np.array_equal(hand["pools2000"].astype(np.float32), pools2000[:, r, c]), (r, c)
        assert np.float32(hand["t0"]) == np.float32(t0[r, c]), (r, c)
        assert abs(bau[r, c] / hand["final"]["BAU"] - 1) < 2e-7
    assert len(picks) >= 25
    assert years == ({0} if which == "published" else {0, 3})
