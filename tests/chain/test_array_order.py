"""Arrays in any memory order give the numbers of C-ordered arrays: the binding reads a
Fortran-ordered array's values in row-major order, never column after column (rust-numpy's
``as_slice`` accepts both orders; a site table's Fortran-ordered land-use view once gave each
site another row's DPM/RPM ratios)."""

from __future__ import annotations

import numpy as np

from gsocseq import rothc
from gsocseq.inputs import WindowBands
from gsocseq.rasters import windows

from ..synthetic import make_area


def fortran(a):
    return np.asfortranarray(a) if isinstance(a, np.ndarray) and a.ndim == 2 else a


def test_simulator_reads_fortran_ordered_arrays_in_row_order(tmp_path):
    from gsocseq.config import from_dict

    from ..blocks import read_block

    config = from_dict(make_area(tmp_path, rows=5, cols=9, seed=11))
    chain, block = read_block(config, next(windows(5, 9, 16)))
    arrays = dict(block.arrays)
    series = {k: v for k, v in arrays.items() if isinstance(v, WindowBands)}
    assert len(series) == 3
    rows = dict(arrays, **{k: v.to_array() for k, v in series.items()})
    two_d = [k for k, v in rows.items() if isinstance(v, np.ndarray) and v.ndim == 2]
    assert {"warmup_temperature", "warmup_class", "spinup_cover", "npp_reference"} <= set(two_d)
    flipped = {k: fortran(v) for k, v in rows.items()}
    assert all(not flipped[k].flags.c_contiguous for k in two_d)
    # the window's bands as read, in Fortran order too
    bands = dict(
        arrays,
        **{
            k: WindowBands(np.asfortranarray(v.raw), v.pixels, v.nodata, v.scale, v.offset)
            for k, v in series.items()
        },
    )
    expected = chain.simulate(rows)
    assert block.n > 16 and np.isfinite(expected["final_soc"]).all()
    for given in (flipped, bands):
        got = chain.simulate(given)
        assert list(got) == list(expected)
        for key in expected:
            assert np.array_equal(got[key], expected[key], equal_nan=True), key


def test_rothc_run_reads_fortran_ordered_arrays_in_row_order():
    rng = np.random.default_rng(3)
    n, months = 7, 36
    monthly = {
        "temperature": rng.uniform(-5, 25, (n, months)),
        "precipitation": rng.uniform(0, 150, (n, months)),
        "evaporation": rng.uniform(0, 120, (n, months)),
        "cover": rng.choice([0.6, 1.0], (n, months)),
        "plant_input": rng.uniform(0, 0.5, (n, months)),
        "dpm_rpm": rng.uniform(0.25, 1.44, (n, months)),
        "rate_factor": rng.choice([0.4, 1.0], (n, months)),
    }
    pools = rng.uniform(0.1, 20, (n, 5))
    clay = rng.uniform(5, 60, n)
    c_order = rothc.run(pools=pools, clay=clay, trajectory=True, **monthly)
    f_monthly = {k: np.asfortranarray(v) for k, v in monthly.items()}
    assert not f_monthly["temperature"].flags.c_contiguous
    f_order = rothc.run(pools=np.asfortranarray(pools), clay=clay, trajectory=True, **f_monthly)
    for name in ("pools", "tsmd", "co2", "monthly", "monthly_co2"):
        assert np.array_equal(getattr(f_order, name), getattr(c_order, name)), name
    # every pixel differs from the others: a mix-up of rows would show
    assert len({tuple(p) for p in c_order.pools}) == n
