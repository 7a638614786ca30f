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
