"""``gsocseq validate``: every check of a run (configuration, grids, band counts, unit
plausibility, value ranges) without computing anything."""

from __future__ import annotations

import os
from collections import Counter
from typing import Union

from gsocseq.chain import Chain, Modelled
from gsocseq.config import Config, load
from gsocseq.inputs import Inputs
from gsocseq.methods import pixel_counts
from gsocseq.plausibility import describe
from gsocseq.rasters import windows
from gsocseq.survey import check_inputs


def validate(config: Union[str, os.PathLike, dict, Config]) -> str:
    """Check the configuration, the units (the survey a run makes first) and read every input
    block; raise on the first problem, else return a short report with the median and range
    read of every quantity."""
    cfg = load(config)
    counts: Counter = Counter()
    with Inputs(cfg, Modelled(cfg)) as inputs:
        Chain(cfg, inputs.years)  # its layers' names, as a run checks them (scenario T0, ...)
        readings = check_inputs(inputs)
        m = inputs.master.dataset
        for window in windows(m.height, m.width, cfg.run.block_size):
            counts.update(inputs.read_block(window).counts)
        lines = [
            f"configuration OK ({cfg.layout} layout, mode {cfg.run.mode}, "
            f"{inputs.years} warm-up years)",
            f"master grid {m.width} x {m.height}, {m.crs}, pixel {m.res[0]:g} x {m.res[1]:g}",
            f"pixels to model: {counts.get('modelled', 0)}",
        ]
        # by class (codes with names, in number order), then by rule
        rows = pixel_counts({"counts": {k: v for k, v in counts.items() if v}})
        for row in rows[1:]:
            share = "" if row.share is None else f" ({row.share:.1f} %)"
            lines.append(f"  {row.what.strip()}: {row.pixels:,}{share}")
        lines.append("read over the modelled pixels (median, range, units):")
        lines += describe(readings)
        lines += [f"warning: {w}" for w in inputs.warnings]
    return "\n".join(lines)
