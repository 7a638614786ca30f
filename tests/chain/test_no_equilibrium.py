"""A pixel whose decomposition rate is 0 in every month (temperature below -5 degrees C, cover 0
or rate_factor 0 all year) has no equilibrium. Before: NaN results, no error (exit 0 and a
warning in a run). Now: the array API raises OutOfRangeError naming the pixel; chain runs
apply the invalid-input rule (an input error naming the pixel, or with invalid = "mask" not
modelled and counted); the other pixels' numbers are unchanged."""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pytest
import rasterio

from gsocseq import rothc
from gsocseq.errors import InputError, OutOfRangeError
from gsocseq.pipeline import run
from gsocseq.site import run_sites

from ..synthetic import make_area
from .test_site import site_table

NEEDLE = r"pixel 1: the decomposition rate is 0 in every month .*: no equilibrium exists"


def _forcing(n: int = 3) -> dict:
    return dict(
        temperature=np.full((n, 12), 10.0),
        precipitation=np.full((n, 12), 50.0),
        evaporation=np.full((n, 12), 40.0),
        cover=np.full((n, 12), 0.6),
        rate_factor=np.ones((n, 12)),
        dpm_rpm=1.44,
        clay=np.full(n, 20.0),
    )


def _dead(case: str) -> dict:
    kw = _forcing()
    kw[{"cold": "temperature", "cover": "cover", "rate_factor": "rate_factor"}[case]][1] = (
        -25.0 if case == "cold" else 0.0
    )
    return kw


@pytest.mark.parametrize("case", ["cold", "cover", "rate_factor"])
def test_array_api_names_the_pixel_without_equilibrium(case):
    kw = _dead(case)
    with pytest.raises(OutOfRangeError, match=NEEDLE) as e:
        rothc.equilibrium_inputs(np.full(3, 40.0), **kw)
    assert e.value.location == "pixel 1" and e.value.value == 0.0
    for method in ("equilibrium", "rothamsted-iterative"):
        with pytest.raises(OutOfRangeError, match=NEEDLE):
            rothc.spinup(
                method=method, plant_input=np.full((3, 12), 0.1), iom=np.full(3, 3.0), **kw
            )
    with pytest.raises(OutOfRangeError, match=r"pixel 1: the mean rate modifier xi is 0"):
        rothc.analytical_equilibrium(
            np.full(3, 40.0), xi=np.array([0.5, 0.0, 0.7]), clay=20.0, dpm_rpm=1.44
        )


def test_one_month_that_decomposes_has_an_equilibrium():
    kw = _dead("cold")
    kw["temperature"][1, 6] = -4.0  # a = 0 below -5 degrees C only
    annual, pools, _ = rothc.equilibrium_inputs(np.full(3, 40.0), **kw)
    assert np.isfinite(annual).all() and np.isfinite(pools).all()
    # the valid pixels' numbers are those of a run without the dead pixel
    ok, ok_pools, _ = rothc.equilibrium_inputs(np.full(3, 40.0), **_forcing())
    assert annual[0].tobytes() == ok[0].tobytes() and pools[2].tobytes() == ok_pools[2].tobytes()


def _frozen_area(tmp_path: Path, invalid: str) -> dict:
    cfg = make_area(tmp_path / "in", rows=3, cols=4, seed=9)
    cfg["run"]["output"] = str(tmp_path / "out")
    cfg["run"]["invalid"] = invalid
    v = cfg["inputs"]["spinup_temperature"]
    path = v["path"] if isinstance(v, dict) else v
    with rasterio.open(path, "r+") as ds:
        t = ds.read()
        t[:, 0, :] = -25.0  # the first row frozen all year
        ds.write(t)
    return cfg


def _layer(folder: Path, product: str) -> np.ndarray:
    (path,) = glob.glob(str(folder / f"*_GSOCseq_{product}_Map030.tif"))
    with rasterio.open(path) as ds:
        return ds.read(1, masked=True).filled(np.nan)


def test_raster_run_error_or_mask(tmp_path):
    with pytest.raises(InputError, match=r"row 0, col \d.*no equilibrium exists for the spin-up"):
        run(_frozen_area(tmp_path / "e", "error"))
    summary = run(_frozen_area(tmp_path / "m", "mask"))
    masked = summary.counts["invalid:no_equilibrium"]
    assert masked >= 1
    assert not any("not finite" in w for w in summary.warnings)
    t0 = _layer(tmp_path / "m" / "out", "T0")
    assert np.isnan(t0[0]).all() and np.isfinite(t0[1:]).any()
    # the other rows: the numbers of a run without the frozen row
    clean = make_area(tmp_path / "c" / "in", rows=3, cols=4, seed=9)
    clean["run"]["output"] = str(tmp_path / "c" / "out")
    modelled = run(clean).counts["modelled"]
    assert summary.counts["modelled"] == modelled - masked
    want = _layer(tmp_path / "c" / "out", "T0")
    assert np.isfinite(want[0]).any()
    assert t0[1:].tobytes() == want[1:].tobytes()


def test_sites_error_or_mask(tmp_path):
    table = site_table(make_area(tmp_path, rows=2, cols=2, seed=9))
    clean = run_sites(table)
    assert clean["modelled"][1] == 1
    for m in range(12):
        table[f"spinup_temperature_{m + 1}"][1] = -25.0
    with pytest.raises(InputError, match=r"site r0c1 \(row 2\).*no equilibrium exists"):
        run_sites(table)
    got = run_sites(table, invalid="mask")
    assert got["modelled"][1] == 0 and np.isnan(got["T0"][1])
    # the other sites: as without the frozen one
    others = [0, 2, 3]
    assert (got["modelled"][others] == clean["modelled"][others]).all()
    assert got["T0"][others].tobytes() == clean["T0"][others].tobytes()
