"""Soil inputs of ``gsocseq prepare``: clay and sand 0-30 cm (%) from one layer or depth
layers (:func:`soil_0_30`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from gsocseq.config import typed
from gsocseq.errors import ConfigError
from gsocseq.prepare.grid import Grid, band_scale, open_source, resampling_for, warp
from gsocseq.prepare.settings import Settings, file_list
from gsocseq.prepare.summary import Report


def soil_0_30(values: Sequence[Any], depths: Sequence[float]) -> Any:
    """Mean of a soil property over the layer ``depths[0]..depths[-1]`` (cm).

    ``len(values) == len(depths)``: point values at the depths, trapezoidal rule (FAO GSOCseq
    manual eq. 6.1): sum of (v_i + v_i+1)/2 (d_i+1 - d_i) / (d_last - d_first); e.g. 14.5, 25.0,
    25.3, 25.0 at 0, 5, 15, 30 cm gives 24.25. ``len(values) == len(depths) - 1``: layer means
    (SoilGrids 0-5, 5-15, 15-30 cm), thickness-weighted mean. Values are numbers or arrays;
    units are kept.
    """
    d = [float(x) for x in depths]
    total = d[-1] - d[0]
    if total <= 0 or any(b <= a for a, b in zip(d, d[1:])):
        raise ConfigError(f"depths must increase, got {list(depths)}")
    if len(values) == len(d):
        parts = [(values[i] + values[i + 1]) * 0.5 * (d[i + 1] - d[i]) for i in range(len(d) - 1)]
    elif len(values) == len(d) - 1:
        parts = [values[i] * (d[i + 1] - d[i]) for i in range(len(d) - 1)]
    else:
        raise ConfigError(
            f"{len(values)} layers do not fit {len(d)} depths (give one value per depth, "
            "or one layer between each pair of depths)"
        )
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out / total


def soil_layer(
    settings: Settings, grid: Grid, report: Report, key: str, units: str
) -> Optional[np.ndarray]:
    """Clay or sand 0-30 cm (%), from one layer or depth layers, NaN outside the AOI."""
    t = settings.table
    if key not in t:
        return None
    files = file_list(t[key], f"[prepare].{key}")
    scale = typed(t.get(f"{key}_scale", 1.0), float, f"[prepare].{key}_scale")
    paths = [settings.path(f) for f in files]
    layers = []
    crs = set()
    methods = set()
    for p in paths:
        with open_source(p, f"{key} layer", bands=1) as ds:
            res = resampling_for(ds, grid, True)
            methods.add(res.name)
            crs.add(ds.crs.to_string())
            s, o, _ = band_scale(ds, 1, scale, 0.0)
            layers.append(warp(ds, 1, grid, res) * s + o)
    if len(layers) == 1:
        values = layers[0]
        how = "one 0-30 cm layer"
    else:
        default = [0, 5, 15, 30] if len(layers) in (3, 4) else None
        depths = t.get(f"{key}_depths", default)
        if not isinstance(depths, list):
            raise ConfigError(f"[prepare].{key}_depths: expected layer boundaries in cm")
        depths = [typed(d, float, f"[prepare].{key}_depths") for d in depths]
        try:
            values = soil_0_30(layers, depths)
        except ConfigError as exc:
            raise ConfigError(f"[prepare].{key}: {exc}") from None
        kind = "point values, trapezoid" if len(layers) == len(depths) else "layer means, weighted"
        how = f"{len(layers)} layers at {depths} cm ({kind})"
    values[~grid.inside] = np.nan
    n_nan = int((grid.inside & ~np.isfinite(values)).sum())
    report.layer(
        key,
        paths,
        ", ".join(sorted(crs)),
        ", ".join(sorted(methods)),
        f"x {scale:g}",
        units,
        f"{how}; {n_nan} AOI pixels nodata",
    )
    return values
