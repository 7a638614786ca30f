"""Fuzzing (hypothesis): the RothC API and the configuration loader never crash or hang on
arbitrary input; they return results or raise ValueError / ConfigError with a message."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gsocseq import rothc
from gsocseq.config import ConfigError, from_dict, load

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
values = st.one_of(
    floats,
    st.integers(-(10**6), 10**6),
    arrays(np.float64, st.integers(0, 14), elements=floats),
    arrays(np.float64, st.tuples(st.integers(0, 3), st.integers(0, 14)), elements=floats),
    arrays(np.int32, st.integers(1, 13), elements=st.integers(-5, 200)),
    st.lists(st.floats(-1e3, 1e3), max_size=13),
    st.just("text"),
    st.none(),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    pools=values,
    temperature=values,
    precipitation=values,
    evaporation=values,
    cover=values,
    plant_input=values,
    dpm_rpm=values,
    clay=values,
    depth=values,
    tsmd=values,
    rate_factor=values,
)
def test_run_never_crashes(**kw):
    try:
        res = rothc.run(**kw)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return
    assert res.pools.shape[1] == 5
    assert res.tsmd.shape == res.co2.shape == (res.pools.shape[0],)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    method=st.sampled_from(["equilibrium", "rothamsted-iterative", "other"]),
    temperature=values,
    precipitation=values,
    evaporation=values,
    cover=values,
    plant_input=values,
    clay=values,
    iom=values,
)
def test_spinup_never_crashes(method, **kw):
    try:
        res = rothc.spinup(method=method, dpm_rpm=1.44, **kw)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return
    assert res.pools.shape[1] == 5


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5000)
    | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(["run", "inputs", "scenarios", "classes", "exclusions", "runn", "fao"])
run_keys = st.sampled_from(
    [
        "name",
        "mode",
        "spinup",
        "years",
        "uncertainty",
        "threads",
        "block_size",
        "horizons",
        "qa_mask",
        "invalid",
        "output",
        "bogus",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(
        keys, st.one_of(json_values, st.dictionaries(run_keys, json_values, max_size=6)), max_size=5
    )
)
def test_config_loader_only_raises_config_errors(data):
    try:
        from_dict(data)
    except ConfigError as exc:
        assert str(exc)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=300))
def test_config_text_only_raises_config_errors(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("cfg") / "c.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load(path)
    except ConfigError as exc:
        assert str(exc)
