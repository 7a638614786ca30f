"""``gsocseq validate``: every check of a run (configuration, grids, band counts, value ranges)
without computing anything."""

from __future__ import annotations

import os
from collections import Counter
from typing import Union

from gsocseq.config import Config, load
from gsocseq.inputs import Inputs
from gsocseq.rasters import windows


def validate(config: Union[str, os.PathLike, dict, Config]) -> str:
    """Check the configuration and read every input block; raise on the first problem, else
    return a short report."""
    cfg = load(config)
    counts: Counter = Counter()
    with Inputs(cfg) as inputs:
        m = inputs.master.dataset
        for window in windows(m.height, m.width, cfg.run.block_size):
            counts.update(inputs.read_block(window).counts)
        lines = [
            f"configuration OK ({cfg.layout} layout, mode {cfg.run.mode}, "
            f"{inputs.years} warm-up years)",
            f"master grid {m.width} x {m.height}, {m.crs}, pixel {m.res[0]:g} x {m.res[1]:g}",
            f"pixels to model: {counts.get('modelled', 0)}",
        ]
        for key, value in sorted(counts.items()):
            if value and key != "modelled":
                lines.append(f"  {key}: {value}")
        lines += [f"warning: {w}" for w in inputs.warnings]
    return "\n".join(lines)
