"""Phase 1, spin-up (METHOD.md section 3): the land use and DPM/RPM ratio of the spin-up.

The spin-up itself (equilibrium, analytical, numerical or the official iterative rule) runs in
the Rust core, for all phases of a block at once (:mod:`gsocseq.model`).
"""

from __future__ import annotations

import numpy as np

from gsocseq import classes
from gsocseq.config import Config


def spinup_class(
    config: Config, lu: np.ndarray, data: dict[str, np.ndarray], fao_layout: bool
) -> dict[str, np.ndarray]:
    """Class and DPM/RPM of the spin-up for (n, Y) warm-up classes ``lu`` and (n, bands) values
    ``data``.

    rothamsted: an explicit spin-up land-use raster if given, else the first warm-up year whose
    class has coefficients. fao-v1.2: the 2020 land use (the last year; the FAO spin-up stack's
    LU and DR bands in the FAO layout).
    """
    from gsocseq.inputs import first_with_coefficients

    if config.run.mode == "fao-v1.2":
        cls = lu[:, -1]
        dr = data["spinup_dpm_rpm"][:, 0] if fao_layout else classes.dpm_rpm_of(cls, float32=True)
    else:
        if "spinup_land_use" in data:
            cls = data["spinup_land_use"][:, 0].astype(np.uint8)
        else:
            cls = first_with_coefficients(lu)
        dr = classes.dpm_rpm_of(cls)
    return {
        "spinup_class": np.ascontiguousarray(cls, dtype=np.uint8),
        "spinup_dpm_rpm": np.ascontiguousarray(dr, dtype=np.float64),
    }
