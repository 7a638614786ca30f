"""The settings of ``gsocseq.rothc``: the official program's by default (open-pan evaporation x
0.75, 23 cm), the GSOCseq methodology's with ``**rothc.GSOCSEQ`` (PET, 30 cm; the chain's own,
pinned by tests/chain/test_rothamsted.py, which computes the chain by hand with it)."""

from __future__ import annotations

import numpy as np

from gsocseq import rothc
from gsocseq.config import RunOptions

# the README's example climate (Rothamsted, open-pan evaporation)
YEAR = dict(
    temperature=[3.7, 3.1, 5.5, 7.4, 10.9, 14.4, 16.3, 16.2, 13.8, 9.5, 6.2, 4.1],
    precipitation=[52, 43, 35, 52, 65, 46, 64, 61, 59, 63, 73, 61],
    evaporation=[7, 17, 41, 71, 104, 117, 130, 107, 62, 30, 9, 4],
    cover=0.6,
    dpm_rpm=1.44,
    clay=np.array([15.0, 23.4, 40.0]),
)


def test_the_defaults_are_the_official_settings() -> None:
    default, _, _ = rothc.equilibrium_inputs(45.0, **YEAR)
    official, _, _ = rothc.equilibrium_inputs(45.0, **YEAR, **rothc.OFFICIAL)
    assert np.array_equal(default, official)
    assert rothc.OFFICIAL == {"evap_coefficient": 0.75, "depth": 23.0}


def test_the_gsocseq_preset_is_the_chains_and_needs_less_input() -> None:
    assert rothc.GSOCSEQ == {"evap_coefficient": 1.0, "depth": RunOptions().depth}
    official, _, _ = rothc.equilibrium_inputs(45.0, **YEAR)
    gsocseq, _, _ = rothc.equilibrium_inputs(45.0, **YEAR, **rothc.GSOCSEQ)
    # as the module's docstring says: 20-24 % less input holds the same SOC
    change = gsocseq / official - 1.0
    assert np.all((change > -0.25) & (change < -0.19)), change
