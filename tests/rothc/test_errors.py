"""Bad input to the RothC API: clear ValueErrors naming the argument and the position."""

from __future__ import annotations

import numpy as np
import pytest

from gsocseq import rothc


def _kw(n=3, months=12):
    return dict(
        pools=np.tile([0.5, 5.0, 0.7, 30.0, 3.0], (n, 1)),
        temperature=np.full((n, months), 10.0),
        precipitation=np.full((n, months), 60.0),
        evaporation=np.full((n, months), 40.0),
        cover=np.full((n, months), 0.6),
        plant_input=np.full((n, months), 0.2),
        dpm_rpm=1.44,
        clay=np.full(n, 20.0),
    )


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("clay", np.array([20.0, 150.0, 20.0]), "clay: value 150 at pixel 1 is outside"),
        ("clay", np.array([20.0, 20.0, -1.0]), "clay: value -1 at pixel 2"),
        ("depth", 0.0, "depth: value 0 at pixel 0 is outside > 0 cm"),
        ("tsmd", np.array([0.0, 0.0, 5.0]), "tsmd: value 5 at pixel 2"),
    ],
)
def test_per_pixel_out_of_range(name, value, needle):
    with pytest.raises(ValueError, match=needle):
        rothc.run(**dict(_kw(), **{name: value}))


@pytest.mark.parametrize("name", ["plant_input", "cover", "fym_input", "dpm_rpm"])
def test_per_month_out_of_range_names_pixel_and_month(name):
    kw = _kw()
    arr = np.array(kw.get(name, 0.0) * np.ones((3, 12)))
    arr[2, 7] = -0.5 if name != "cover" else 1.5
    arr[1, 9] = -0.5 if name != "cover" else 1.5  # the first offending pixel is reported
    kw[name] = arr
    with pytest.raises(ValueError, match=rf"{name}: value .* at pixel 1, month 9"):
        rothc.run(**kw)


def test_mismatched_pixel_counts():
    kw = _kw()
    kw["clay"] = np.full(4, 20.0)
    with pytest.raises(ValueError, match=r"number of pixels: .*clay has 4"):
        rothc.run(**kw)


def test_mismatched_month_counts():
    kw = _kw()
    kw["precipitation"] = np.full((3, 11), 50.0)
    with pytest.raises(ValueError, match=r"number of months: .*precipitation has 11"):
        rothc.run(**kw)


def test_bad_shapes_and_types():
    with pytest.raises(ValueError, match="pools: expected"):
        rothc.run(**dict(_kw(), pools=np.zeros((3, 4))))
    with pytest.raises(ValueError, match="temperature: expected a scalar"):
        rothc.run(**dict(_kw(), temperature=np.zeros((3, 12, 1))))
    with pytest.raises(ValueError, match="clay: expected a scalar or"):
        rothc.run(**dict(_kw(), clay=np.zeros((3, 1))))
    with pytest.raises(ValueError, match="temperature: expected real numbers"):
        rothc.run(**dict(_kw(), temperature=np.array(["a"] * 12)))
    with pytest.raises(ValueError, match="cannot tell the number of months"):
        rothc.run(
            pools=[0, 0, 0, 0, 1],
            temperature=10,
            precipitation=1,
            evaporation=1,
            cover=0.6,
            plant_input=0.1,
            dpm_rpm=1.44,
            clay=20,
        )
    with pytest.raises(ValueError, match="evap_coefficient"):
        rothc.run(**_kw(), evap_coefficient=-1)
    with pytest.raises(ValueError, match="threads"):
        rothc.run(**_kw(), threads=-2)


def test_spinup_needs_twelve_months_and_a_method():
    kw = _kw(months=12)
    kw.pop("pools")
    with pytest.raises(ValueError, match="method"):
        rothc.spinup(method="magic", iom=1.0, **kw)
    kw13 = _kw(months=13)
    kw13.pop("pools")
    with pytest.raises(ValueError, match="expected 12 months"):
        rothc.spinup(method="equilibrium", iom=1.0, **kw13)


def test_any_real_dtype_is_accepted():
    kw = _kw()
    ref = rothc.run(**kw)
    kw32 = {k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    kw32["clay"] = np.full(3, 20, dtype=np.int32)
    got = rothc.run(**kw32)
    np.testing.assert_allclose(got.pools, ref.pools, rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "name", ["temperature", "precipitation", "cover", "plant_input", "clay", "pools"]
)
def test_non_finite_input_gives_nan_for_that_pixel_only(name, bad):
    kw = _kw()
    ref = rothc.run(**kw, trajectory=True)
    arr = np.array(kw[name], dtype=float, copy=True)
    if arr.ndim == 1:
        arr[1] = bad
    else:
        arr[1, 3] = bad
    kw[name] = arr
    res = rothc.run(**kw, trajectory=True)
    assert np.isnan(res.pools[1]).all() and np.isnan(res.tsmd[1]) and np.isnan(res.co2[1])
    assert res.monthly is not None and np.isnan(res.monthly[1]).all()
    for i in (0, 2):
        assert res.pools[i].tobytes() == ref.pools[i].tobytes()


def test_broadcasting_forms_agree():
    months = 12
    t = np.linspace(2, 20, months)
    full = rothc.run(
        pools=np.tile([0.5, 5, 0.7, 30, 3], (2, 1)),
        temperature=np.tile(t, (2, 1)),
        precipitation=np.full((2, months), 50.0),
        evaporation=np.full((2, months), 30.0),
        cover=np.full((2, months), 0.6),
        plant_input=np.full((2, months), 0.1),
        dpm_rpm=np.full((2, months), 1.44),
        clay=np.array([25.0, 25.0]),
        depth=np.array([23.0, 23.0]),
        rate_factor=np.ones((2, months)),
        tsmd=np.zeros(2),
    )
    short = rothc.run(
        pools=[0.5, 5, 0.7, 30, 3],
        temperature=t,
        precipitation=50,
        evaporation=30,
        cover=0.6,
        plant_input=0.1,
        dpm_rpm=1.44,
        clay=[25.0, 25.0],
    )
    assert full.pools.tobytes() == short.pools.tobytes()


@pytest.mark.parametrize("trajectory", [False, True])
def test_pixels_run_in_groups_give_the_bits_of_pixels_run_alone(trajectory):
    # 9 pixels: two full groups of 4 (one with a non-finite pixel) and a tail of 1
    rng = np.random.default_rng(5)
    n, months = 9, 30
    kw = dict(
        pools=rng.uniform(0, 40, (n, 5)),
        temperature=rng.uniform(-8, 30, (n, months)),
        precipitation=rng.uniform(0, 150, (n, months)),
        evaporation=rng.uniform(0, 120, (n, months)),
        cover=rng.choice([0.6, 1.0], (n, months)),
        plant_input=rng.uniform(0, 0.4, (n, months)),
        fym_input=rng.choice([0.0, 0.1], (n, months)),
        dpm_rpm=rng.choice([1.44, 0.67], (n, months)),
        clay=rng.uniform(5, 60, n),
        rate_factor=rng.choice([1.0, 0.4], n),  # per pixel: broadcast over the months
        tsmd=-rng.uniform(0, 20, n),
    )
    kw["temperature"][5, 7] = np.nan
    res = rothc.run(**kw, trajectory=trajectory)
    assert np.isnan(res.pools[5]).all() and np.isnan(res.co2[5])
    for i in [0, 1, 2, 3, 4, 6, 7, 8]:
        alone = rothc.run(
            **{k: (v[i : i + 1] if isinstance(v, np.ndarray) else v) for k, v in kw.items()},
            trajectory=trajectory,
        )
        for field in ("pools", "tsmd", "co2", "monthly", "monthly_co2"):
            got, want = getattr(res, field), getattr(alone, field)
            if want is None:
                assert got is None
                continue
            assert got[i].tobytes() == want[0].tobytes(), (i, field)


@pytest.mark.parametrize("name", ["plant_input", "fym_input", "dpm_rpm"])
def test_none_for_an_input_is_a_clear_error(name):
    """Found by the fuzz test: None for a required input used to fail with a KeyError."""
    kw = dict(_kw(), **{name: None})
    message = f"{name}: expected a number or an array, got None"
    with pytest.raises(ValueError, match=message):
        rothc.run(**kw)
    kw.pop("pools")
    with pytest.raises(ValueError, match=message):
        rothc.spinup(method="equilibrium", iom=1.0, **kw)
