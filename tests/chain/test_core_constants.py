"""The domain constants the core owns, as Python sees them: one copy, METHOD.md's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gsocseq import _core, chain, classes, demo, fao


def test_class_table_is_method_section_2():
    dr, coef, paddy, group = classes.lookup_tables()
    rows = {2: (1.44, 0.53, 0), 3: (0.67, 0.72, 1), 4: (0.25, 0.88, 255), 5: (0.67, 0.72, 1)}
    rows |= {6: (0.67, 0.72, 1), 8: (0.67, 0.72, 1), 12: (1.44, 0.53, 0), 13: (1.44, 0.53, 2)}
    for code in range(256):
        if code in rows:
            assert (dr[code], coef[code], group[code]) == rows[code], code
        else:
            assert np.isnan(dr[code]) and np.isnan(coef[code]) and group[code] == 255, code
        assert paddy[code] == (0.4 if code == 13 else 1.0), code
    with pytest.raises(ValueError):
        coef[2] = 1.0  # one copy, not writable
    assert set(classes.NAMES) == set(range(14))


def test_flags_and_factors():
    assert chain.FLAGS == _core.FLAGS
    assert sorted(_core.FLAGS) == [1 << k for k in range(8)]
    assert _core.FLAGS[128] == "a result is not finite"
    assert chain.PERTURBATIONS == ((1.0, 1.0), (1.02, 0.95), (0.98, 1.05))
    assert _core.MINMAX_INCREASE == (1.0, 0.85, 1.15)
    spread = {"temperature": 0.02, "precipitation": 0.05, "increase": 0.15}
    assert _core.MONTE_CARLO_SPREAD == spread
    # one tolerance for the input patterns' sums: the configuration's check is the core's
    assert classes.PATTERN_SUM_TOLERANCE is _core.PATTERN_SUM_TOLERANCE
    assert _core.PATTERN_SUM_TOLERANCE == 1e-6


def test_one_miami_npp():
    # by hand (METHOD.md section 4): T 10 degrees C, P 1000 mm
    rain = 3000.0 * (1.0 - math.exp(-0.664))
    temp = 3000.0 / (1.0 + math.exp(1.315 - 1.19))
    assert fao.miami_npp(10.0, 1000.0) == pytest.approx(min(rain, temp) * 0.005, rel=1e-15)
    # every Python face is the core's function, to the bit
    rng = np.random.default_rng(5)
    t = rng.uniform(-10.0, 35.0, (50, 12))
    p = rng.uniform(0.0, 300.0, (50, 12))
    core = _core.miami_npp(t.mean(axis=1), p.sum(axis=1))
    for face in (chain.miami_npp(t, p), demo.miami_npp(t, p)):
        assert face.tobytes() == core.tobytes()
    assert fao.miami_npp(t.mean(axis=1), p.sum(axis=1)).tobytes() == core.tobytes()
    # broadcasting, and no data in, no data out
    assert np.isnan(fao.miami_npp(np.array([10.0, np.nan]), 1000.0)).tolist() == [False, True]
    assert np.isnan(fao.miami_npp(np.nan, 1000.0)) and np.isnan(fao.miami_npp(10.0, np.nan))


def _stub_literals() -> dict[str, tuple[str, ...]]:
    """The typing aliases of _core.pyi (stub-only names) and their Literal values."""
    import ast
    from pathlib import Path

    tree = ast.parse((Path(_core.__file__).parent / "_core.pyi").read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript):
            if getattr(node.value.value, "id", None) == "Literal":
                values = ast.literal_eval(node.value.slice)
                out[node.targets[0].id] = values if isinstance(values, tuple) else (values,)
    return out


def test_stub_literals_are_the_spellings_the_core_accepts():
    literals = _stub_literals()
    assert literals["Mode"] == _core.MODES
    assert literals["SpinupMethod"] == _core.SPINUP_METHODS
    assert literals["NumericalPools"] == _core.NUMERICAL_POOLS
    assert literals["ForwardInputs"] == _core.FORWARD_INPUTS
    base = dict(mode="rothamsted", spinup="equilibrium", horizons=[20], scenarios=[(0, 0, 0)])
    for moisture in literals["MoistureModel"]:
        for bare in literals["BareDeficit"]:
            rate = 0.2 if moisture == "rothc-26.3" else 0.15
            sim = _core.Simulator(
                **base, moisture=moisture, bare_deficit=bare, min_moisture_rate=rate
            )
            assert sim.__getnewargs_ex__()[1]["moisture"] == moisture
    with pytest.raises(ValueError, match="moisture"):
        _core.Simulator(**base, moisture="farina-4")
    with pytest.raises(ValueError, match="moisture: farina-2: the dryland"):
        _core.Simulator(**dict(base, mode="fao-v1.2", spinup="analytical"), moisture="farina-2")
