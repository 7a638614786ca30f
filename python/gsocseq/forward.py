"""Phase 3, forward runs (METHOD.md section 5): forward climate, land use and the scenario table.

The runs themselves (BAU, SSMs, min/max, every horizon) are in the Rust core
(:mod:`gsocseq.model`).
"""

from __future__ import annotations

import numpy as np

from gsocseq import classes
from gsocseq.config import Config


def forward_climate(
    config: Config,
    data: dict[str, np.ndarray],
    out: dict[str, np.ndarray],
    lu: np.ndarray,
    fao_layout: bool,
) -> dict[str, np.ndarray]:
    """Forward T, P, PET (n, 12), class and DPM/RPM of each pixel, from (n, bands) ``data``.

    Forward layers (or the FAO forward stack) are used as read; otherwise they are left out and
    the core takes the 12 monthly means of the scaled warm-up series, in float64 (as numpy's
    ``series.reshape(n, years, 12).mean(axis=1)``). Land use: the last warm-up year.
    """
    res: dict[str, np.ndarray] = {}
    for part in ("temperature", "precipitation", "pet"):
        key = f"forward_{part}"
        if key in data:
            res[key] = np.ascontiguousarray(data[key])
    cls = lu[:, -1]
    res["forward_class"] = np.ascontiguousarray(cls, dtype=np.uint8)
    if fao_layout:
        res["forward_dpm_rpm"] = np.ascontiguousarray(data["forward_dpm_rpm"][:, 0])
    else:
        res["forward_dpm_rpm"] = classes.dpm_rpm_of(cls, float32=config.run.mode == "fao-v1.2")
    return res


def scenario_table(config: Config) -> tuple[list[str], np.ndarray, int]:
    """Scenario names (BAU first), (S, 3) input increases per SSM group (crops, grass, paddy),
    and the index of the scenario that gets min/max runs in fao-v1.2 (SSM2, as script 13)."""
    names = ["BAU", *config.scenarios]
    table = np.zeros((len(names), 3))
    for i, name in enumerate(config.scenarios, start=1):
        table[i] = config.scenarios[name]
    uncertain = names.index("SSM2") if "SSM2" in names else min(2, len(names) - 1)
    return names, table, uncertain
