"""Phase 2, warm-up (METHOD.md section 4): the reference NPP of 1981-2000 that scales the
yearly carbon inputs, and MIAMI NPP.

The warm-up itself runs in the Rust core (:mod:`gsocseq.model`).
"""

from __future__ import annotations

import numpy as np

from gsocseq.config import Config

#: (temperature, precipitation) factors of the central, min and max runs
PERTURBATIONS = ((1.0, 1.0), (1.02, 0.95), (0.98, 1.05))


def miami_npp(temperature: np.ndarray, precipitation: np.ndarray) -> np.ndarray:
    """Yearly MIAMI NPP (Lieth 1975) in t C/ha/yr from (..., 12) monthly temperature (degrees C)
    and precipitation (mm): min(NPP_T, NPP_P) g DM/m2 x 0.01 x 0.5."""
    t_mean = temperature.mean(axis=-1)
    p_sum = precipitation.sum(axis=-1)
    npp_t = 3000.0 / (1.0 + np.exp(1.315 - 0.119 * t_mean))
    npp_p = 3000.0 * (1.0 - np.exp(-0.000664 * p_sum))
    return np.minimum(npp_t, npp_p) * (1.0 / 100.0) * 0.5


def reference_from_series(temperature: np.ndarray, precipitation: np.ndarray) -> np.ndarray:
    """(n, 3) reference NPP (central, min, max) from (n, 12 Y) monthly 1981-2000 series: the mean
    of yearly MIAMI NPP, each month perturbed before the yearly aggregation."""
    n = temperature.shape[0]
    t = temperature.reshape(n, -1, 12)
    p = precipitation.reshape(n, -1, 12)
    return np.stack([miami_npp(t * ft, p * fp).mean(axis=1) for ft, fp in PERTURBATIONS], axis=1)


def npp_reference(config: Config, data: dict[str, np.ndarray], n: int) -> np.ndarray:
    """(n, 3) reference NPP before land-use coefficients (central, min, max), t C/ha/yr, from
    (n, bands) ``data``."""
    if "npp_reference" in data:
        central = data["npp_reference"][:, 0]
        low = data["npp_reference_min"][:, 0] if "npp_reference_min" in data else central
        high = data["npp_reference_max"][:, 0] if "npp_reference_max" in data else central
        return np.ascontiguousarray(np.stack([central, low, high], axis=1))
    return np.ascontiguousarray(
        reference_from_series(data["reference_temperature"], data["reference_precipitation"])
    )
