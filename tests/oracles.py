"""Independent numpy formulas the tests check the core and the chain against (written from
METHOD.md, not taken from the package: the package's own copies are the core's)."""

from __future__ import annotations

import numpy as np


def miami_npp(temperature: np.ndarray, precipitation: np.ndarray) -> np.ndarray:
    """Yearly MIAMI NPP (Lieth 1975, METHOD.md section 4) in t C/ha/yr from (..., 12) monthly
    temperature (degrees C) and precipitation (mm): min(NPP_T, NPP_P) g DM/m2 x 0.01 x 0.5."""
    t_mean = np.asarray(temperature).mean(axis=-1)
    p_sum = np.asarray(precipitation).sum(axis=-1)
    npp_t = 3000.0 / (1.0 + np.exp(1.315 - 0.119 * t_mean))
    npp_p = 3000.0 * (1.0 - np.exp(-0.000664 * p_sum))
    return np.minimum(npp_t, npp_p) * (1.0 / 100.0) * 0.5
