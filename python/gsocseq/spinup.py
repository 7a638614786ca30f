"""Phase 1, spin-up (METHOD.md section 3): the land use and DPM/RPM ratio of the spin-up.

The spin-up itself (equilibrium, analytical, numerical or the official iterative rule) runs in
the Rust core, for all phases of a block at once (:mod:`gsocseq.model`).
"""

from __future__ import annotations

import numpy as np

from gsocseq import classes
from gsocseq.config import Config


def spinup_year(lu: np.ndarray) -> np.ndarray:
    """Position of the spin-up year of rothamsted mode, per pixel, in (n, Y) warm-up classes:
    the first year whose class has coefficients (0 when none has)."""
    _, coef, _, _ = classes.lookup_tables()
    return np.argmax(~np.isnan(coef[lu.astype(np.intp)]), axis=1)


def spinup_class(
    config: Config, lu: np.ndarray, data: dict[str, np.ndarray], fao_layout: bool
) -> dict[str, np.ndarray]:
    """Class and DPM/RPM of the spin-up for (n, Y) warm-up classes ``lu`` and (n, bands) values
    ``data``.

    rothamsted: an explicit spin-up land-use raster if given, else the first warm-up year whose
    class has coefficients. fao-v1.2: the 2020 land use (the last year). In the FAO layout the
    DPM/RPM is read from the stacks (float32, as the scripts hold it), never from the table:
    fao-v1.2 takes the spin-up stack's DR band, rothamsted the warm-up stack's DR band of its
    spin-up year, so that spin-up and warm-up year 1 use the same bits (METHOD.md section 3).
    """
    if config.run.mode == "fao-v1.2":
        cls = lu[:, -1]
        dr = data["spinup_dpm_rpm"][:, 0] if fao_layout else classes.dpm_rpm_of(cls, float32=True)
    elif "spinup_land_use" in data:
        cls = data["spinup_land_use"][:, 0].astype(np.uint8)
        dr = classes.dpm_rpm_of(cls)
    else:
        year = spinup_year(lu)
        cls = lu[np.arange(lu.shape[0]), year]
        if fao_layout:
            dr = data["warmup_dpm_rpm"][np.arange(lu.shape[0]), year]
        else:
            dr = classes.dpm_rpm_of(cls)
    return {
        "spinup_class": np.ascontiguousarray(cls, dtype=np.uint8),
        "spinup_dpm_rpm": np.ascontiguousarray(dr, dtype=np.float64),
    }
