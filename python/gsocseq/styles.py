"""QGIS styles beside a run's layers, and the one rule of their colour scales (the report's maps
use it too). QGIS opens ``X.tif`` with the style of ``X.qml`` beside it, so a GIS user sees
each layer family at once as meant: stocks on a sequential scale, changes and rates on a
diverging scale centred on 0 (sequential from 0 where all values have one sign), uncertainty
in % on its own sequential scale, the land use and the exclusion mask as named classes.

The limits of a continuous scale are the 2nd and 98th percentiles of the layer's values, read
from its smallest overview (the layers are COGs): a few thousand pixels whatever the map.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Optional

import numpy as np
import rasterio

from gsocseq import classes, products

#: colour ramps (position 0..1, colour) of the scales: matplotlib's, sampled
RAMPS = {
    "viridis": (
        (0.0, "#440154"),
        (0.25, "#3b528b"),
        (0.5, "#21918c"),
        (0.75, "#5ec962"),
        (1.0, "#fde725"),
    ),
    "RdBu": (
        (0.0, "#b2182b"),
        (0.25, "#ef8a62"),
        (0.5, "#f7f7f7"),
        (0.75, "#67a9cf"),
        (1.0, "#2166ac"),
    ),
    "YlGn": ((0.0, "#ffffe5"), (0.5, "#78c679"), (1.0, "#004529")),
    "YlOrRd_r": ((0.0, "#800026"), (0.5, "#fd8d3c"), (1.0, "#ffffcc")),
    "magma_r": (
        (0.0, "#fcfdbf"),
        (0.25, "#fc8961"),
        (0.5, "#b73779"),
        (0.75, "#51127c"),
        (1.0, "#000004"),
    ),
}
#: families whose values have a sign (changes and rates)
SIGNED = ("AbsDiff", "RelDiff", "ASR", "RSR")
#: the uncertainty layers' colour map
UNCERTAINTY_RAMP = "magma_r"
#: the exclusion mask's classes (sums of products.EXCLUSION_BITS)
EXCLUSION_COLOURS = {
    0: ("#ffffff", 0, "none"),
    1: ("#8c510a", 255, "1 SOC rule"),
    2: ("#f6e8c3", 255, "2 sand rule"),
    3: ("#d8b365", 255, "3 SOC + sand"),
    4: ("#5ab4ac", 255, "4 EC rule"),
    5: ("#01665e", 255, "5 SOC + EC"),
    6: ("#c7eae5", 255, "6 sand + EC"),
    7: ("#000000", 255, "7 all three"),
}


def colour_scale(values: np.ndarray, signed: bool) -> tuple[float, float, str]:
    """(low, high, ramp) of finite ``values``: for ``signed`` families a diverging ramp centred
    on 0 where the values have both signs, else a sequential one from 0; for others viridis.
    Limits: the 2nd and 98th percentiles."""
    if values.size == 0:
        values = np.zeros(1)
    lo, hi = (float(v) for v in np.percentile(values, [2, 98]))
    low, high = float(values.min()), float(values.max())
    if signed and low < 0 < high:
        lim = max(abs(lo), abs(hi)) or 1.0
        return -lim, lim, "RdBu"
    if signed and high <= 0:
        return (lo if lo < 0 else -1.0), 0.0, "YlOrRd_r"
    if signed:
        return 0.0, (hi if hi > 0 else 1.0), "YlGn"
    return lo, (hi if hi > lo else lo + 1.0), "viridis"


def _overview_values(path: Path) -> np.ndarray:
    """The finite values of band 1 at the file's smallest overview (or in full without one)."""
    with rasterio.open(path) as ds:
        levels = ds.overviews(1)
    kw = {"overview_level": len(levels) - 1} if levels else {}
    with rasterio.open(path, **kw) as ds:
        raw = ds.read(1)
        values = raw.astype(np.float64)
        if ds.nodata is not None:
            values = values[raw != ds.nodata]
    return values[np.isfinite(values)]


def _header() -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28" styleCategories="Symbology">\n  <pipe>\n'
    )


def _footer() -> str:
    return "  </pipe>\n  <blendMode>0</blendMode>\n</qgis>\n"


def ramp_style(low: float, high: float, ramp: str, units: str) -> str:
    """A single-band pseudocolour style from ``low`` to ``high`` on ``ramp``."""
    items = []
    for pos, colour in RAMPS[ramp]:
        value = low + pos * (high - low)
        label = f"{value:.4g}" + (f" {units}" if pos in (0.0, 1.0) and units else "")
        items.append(
            f'          <item alpha="255" value="{value:.9g}" label="{html.escape(label)}" '
            f'color="{colour}"/>\n'
        )
    return (
        _header() + f'    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" '
        f'alphaBand="-1" classificationMin="{low:.9g}" classificationMax="{high:.9g}">\n'
        "      <rastershader>\n"
        f'        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" '
        f'clip="0" minimumValue="{low:.9g}" maximumValue="{high:.9g}">\n'
        + "".join(items)
        + "        </colorrampshader>\n      </rastershader>\n    </rasterrenderer>\n"
        + _footer()
    )


def palette_style(entries: Sequence[tuple[int, str, int, str]]) -> str:
    """A paletted style: (value, colour, alpha, label) per class."""
    rows = "".join(
        f'        <paletteEntry value="{v}" color="{c}" alpha="{a}" '
        f'label="{html.escape(label)}"/>\n'
        for v, c, a, label in entries
    )
    return (
        _header() + '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1">\n'
        "      <colorPalette>\n"
        + rows
        + "      </colorPalette>\n    </rasterrenderer>\n"
        + _footer()
    )


def land_use_style() -> str:
    entries = [
        (code, "#{:02x}{:02x}{:02x}".format(*classes.COLOURS[code]), 255, f"{code} {name}")
        for code, name in sorted(classes.NAMES.items())
        if code in classes.COLOURS
    ]
    return palette_style(entries)


def exclusion_style() -> str:
    return palette_style([(v, c, a, label) for v, (c, a, label) in EXCLUSION_COLOURS.items()])


def style_of(path: Path, prefix: str) -> Optional[str]:
    """The style of the layer file ``path`` of run ``prefix`` (None for a file without one:
    a multi-band file)."""
    name = path.name
    if name == products.land_use_file(prefix):
        return land_use_style()
    if name == products.exclusion_mask_file(prefix):
        return exclusion_style()
    if name == products.flags_file(prefix):
        return None  # bit sums: no scale reads them (the band description lists the bits)
    with rasterio.open(path) as ds:
        if ds.count != 1:
            return None
        units = (ds.units[0] if ds.units else "") or ""
    parsed = products.parse(name, prefix)
    family = None
    if parsed is not None:
        split = products.split_product(parsed.product)
        family = split[0] if split else None
    values = _overview_values(path)
    if parsed is not None and parsed.kind == "uncertainty":
        hi = float(np.percentile(values, 98)) if values.size else 1.0
        return ramp_style(0.0, hi if hi > 0 else 1.0, UNCERTAINTY_RAMP, units or "%")
    low, high, ramp = colour_scale(values, family in SIGNED)
    return ramp_style(low, high, ramp, units)


def write_styles(files: Iterable[Path], prefix: str) -> list[Path]:
    """``X.qml`` beside each layer ``X.tif`` of run ``prefix`` (written whole, then renamed);
    the styles written."""
    out = []
    for path in files:
        if path.suffix != ".tif":
            continue
        text = style_of(path, prefix)
        if text is None:
            continue
        target = path.with_name(products.style_file(path.name))
        tmp = target.with_name(f".{target.name}.part")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        out.append(target)
    return out
