"""Property tests of the RothC core: mass balance, positivity, monotonicity, equilibrium."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gsocseq import rothc
from gsocseq.errors import OutOfRangeError

MONTHS = 24


def _month_arrays(draw, months):
    temperature = draw(arrays(np.float64, months, elements=st.floats(-20, 40)))
    precipitation = draw(arrays(np.float64, months, elements=st.floats(0, 400)))
    evaporation = draw(arrays(np.float64, months, elements=st.floats(0, 250)))
    cover = draw(arrays(np.float64, months, elements=st.sampled_from([0.6, 0.75, 0.9, 1.0])))
    plant = draw(arrays(np.float64, months, elements=st.floats(0, 2)))
    fym = draw(arrays(np.float64, months, elements=st.sampled_from([0.0, 0.0, 0.5, 3.0])))
    return dict(
        temperature=temperature,
        precipitation=precipitation,
        evaporation=evaporation,
        cover=cover,
        plant_input=plant,
        fym_input=fym,
    )


@st.composite
def cases(draw, months=MONTHS):
    forcing = _month_arrays(draw, months)
    pools = np.array(
        [
            draw(st.floats(0, 5)),
            draw(st.floats(0, 20)),
            draw(st.floats(0, 3)),
            draw(st.floats(0, 100)),
            draw(st.floats(0, 10)),
        ]
    )
    return dict(
        forcing,
        pools=pools,
        clay=draw(st.floats(0, 100)),
        depth=draw(st.floats(5, 60)),
        dpm_rpm=draw(st.sampled_from([0.25, 0.67, 1.44])),
        rate_factor=draw(st.sampled_from([1.0, 0.4])),
        evap_coefficient=draw(st.sampled_from([0.75, 1.0])),
    )


@settings(max_examples=150, deadline=None)
@given(cases())
def test_mass_balance_every_month(case):
    res = rothc.run(**case, trajectory=True)
    assert res.monthly is not None and res.monthly_co2 is not None
    soc = np.concatenate([[case["pools"].sum()], res.monthly[0].sum(axis=1)])
    inputs = case["plant_input"] + case["fym_input"]
    expected = soc[:-1] + inputs - res.monthly_co2[0]
    np.testing.assert_allclose(soc[1:], expected, rtol=1e-12, atol=1e-12)
    assert np.all(res.monthly_co2 >= 0)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_pools_never_negative(case):
    res = rothc.run(**case, trajectory=True)
    assert res.monthly is not None
    assert np.all(res.monthly >= 0)
    assert np.all(res.tsmd <= 0)


@settings(max_examples=100, deadline=None)
@given(cases(), st.floats(0.001, 3.0))
def test_more_input_never_less_soc(case, extra):
    base = rothc.run(**case, trajectory=True)
    more = rothc.run(**dict(case, plant_input=case["plant_input"] + extra / 12), trajectory=True)
    assert base.monthly is not None and more.monthly is not None
    assert np.all(more.monthly.sum(axis=2) >= base.monthly.sum(axis=2))
    assert more.monthly.sum(axis=2)[0, -1] > base.monthly.sum(axis=2)[0, -1]


@settings(max_examples=100, deadline=None)
@given(cases(months=12))
def test_equilibrium_is_a_fixed_point(case):
    case = dict(case)
    pools = case.pop("pools")
    # a year without decomposition (every month below -5 degrees C) has no equilibrium
    assume(case["temperature"].max() >= -5)
    eq = rothc.spinup(method="equilibrium", iom=pools[4], **case)
    again = rothc.run(pools=eq.pools, tsmd=eq.tsmd, **case)
    np.testing.assert_allclose(again.pools, eq.pools, rtol=1e-12, atol=1e-300)
    # exactly periodic, unless the deficit creeps towards a limit it has not reached within
    # the cycle search (e.g. 1e-5 mm of evaporation a month): then it moves by the year's
    # water balance
    balance = np.asarray(case["precipitation"]) - case.get("evap_coefficient", 0.75) * np.asarray(
        case["evaporation"]
    )
    creep = float(np.max(np.abs(np.sum(balance, axis=-1))))
    assert abs(again.tsmd[0] - eq.tsmd[0]) <= 1e-9 + creep


@settings(max_examples=60, deadline=None)
@given(cases(months=12), st.floats(5, 200))
def test_equilibrium_inputs_hold_the_target(case, soc):
    case = dict(case)
    case.pop("pools")
    case.pop("plant_input")
    assume(case["temperature"].max() >= -5)
    case["fym_input"] = case["fym_input"] * 0.01  # manure alone must stay below the target
    annual, pools, _tsmd = rothc.equilibrium_inputs(soc, **case)
    np.testing.assert_allclose(pools.sum(axis=1), soc, rtol=1e-12)
    np.testing.assert_allclose(pools[:, 4], rothc.falloon_iom(soc), rtol=1e-15)
    if annual[0] < 0:  # manure alone holds more than the target: no plant input to check
        return
    # the same pools are the equilibrium of a spin-up with that input
    eq = rothc.spinup(method="equilibrium", iom=pools[0, 4], plant_input=annual[0] / 12, **case)
    np.testing.assert_allclose(eq.pools, pools, rtol=1e-10)


def test_iterative_spinup_close_to_equilibrium():
    t = np.array([3.7, 3.1, 5.5, 7.4, 10.9, 14.4, 16.3, 16.2, 13.8, 9.5, 6.2, 4.1])
    kw = dict(
        temperature=np.stack([t, t + 8]),
        precipitation=60.0,
        evaporation=np.linspace(5, 120, 12),
        cover=0.6,
        plant_input=np.array([0, 0, 0, 0, 0, 0, 0, 2.0, 0, 0, 0, 0]),
        dpm_rpm=1.44,
        clay=[23.4, 40.0],
        iom=3.0,
    )
    it = rothc.spinup(method="rothamsted-iterative", **kw)
    eq = rothc.spinup(method="equilibrium", **kw)
    assert it.months is not None and eq.months is None
    assert np.all(it.months % 12 == 0)
    np.testing.assert_allclose(it.pools.sum(axis=1), eq.pools.sum(axis=1), atol=2e-3)


def test_identical_bits_for_any_thread_count():
    rng = np.random.default_rng(7)
    n, months = 3000, 36
    kw = dict(
        pools=rng.uniform(0, 30, (n, 5)),
        temperature=rng.uniform(-10, 35, (n, months)),
        precipitation=rng.uniform(0, 200, (n, months)),
        evaporation=rng.uniform(0, 150, (n, months)),
        cover=rng.choice([0.6, 1.0], (n, months)),
        plant_input=rng.uniform(0, 1, (n, months)),
        dpm_rpm=1.44,
        clay=rng.uniform(0, 80, n),
        trajectory=True,
    )
    one = rothc.run(**kw, threads=1)
    two = rothc.run(**kw, threads=2)
    default = rothc.run(**kw)
    for a, b, c in zip(
        (one.pools, one.tsmd, one.co2, one.monthly),
        (two.pools, two.tsmd, two.co2, two.monthly),
        (default.pools, default.tsmd, default.co2, default.monthly),
    ):
        assert a.tobytes() == b.tobytes() == c.tobytes()
    sp = dict(
        temperature=kw["temperature"][:, :12],
        precipitation=kw["precipitation"][:, :12],
        evaporation=kw["evaporation"][:, :12],
        cover=kw["cover"][:, :12],
        plant_input=kw["plant_input"][:, :12],
        dpm_rpm=1.44,
        clay=kw["clay"],
        iom=2.0,
    )
    for method in ("equilibrium", "rothamsted-iterative"):
        a = rothc.spinup(method=method, threads=1, **sp)
        b = rothc.spinup(method=method, threads=2, **sp)
        assert a.pools.tobytes() == b.pools.tobytes()


def test_paddy_rate_factor_slows_decomposition():
    kw = dict(
        pools=[1, 5, 1, 30, 3],
        temperature=np.full(12, 25.0),
        precipitation=100,
        evaporation=50,
        cover=0.6,
        plant_input=0,
        dpm_rpm=1.44,
        clay=30,
    )
    normal = rothc.run(**kw)
    paddy = rothc.run(**kw, rate_factor=0.4)
    per_month = rothc.run(**kw, rate_factor=np.full((1, 12), 0.4))
    assert paddy.co2[0] < normal.co2[0]
    assert paddy.pools.tobytes() == per_month.pools.tobytes()


def test_year_without_decomposition_has_no_equilibrium():
    # an error naming the pixel (it was NaN pools, silently)
    with pytest.raises(OutOfRangeError, match="pixel 0: the decomposition rate is 0 in every"):
        rothc.spinup(
            method="equilibrium",
            temperature=-10.0 * np.ones(12),
            precipitation=10,
            evaporation=0,
            cover=0.6,
            plant_input=0.1,
            dpm_rpm=1.44,
            clay=20,
            iom=1.0,
        )
