"""Figures of the report (300 dpi PNG): maps of the stocks and rates from decimated reads,
histograms and boxplots of ASR and RSR per land-use class."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np
import rasterio
from rasterio.crs import CRS

from gsocseq import classes, methods, products, writing
from gsocseq.report.load import RunLayer, RunOutput
from gsocseq.report.statistics import HIST_BIN, HIST_RANGE, Statistics, class_name
from gsocseq.report.zones import Zones

#: longest side of a map's decimated read, pixels
MAP_PIXELS = 1000
#: resolution of the figures, dots per inch
FIGURE_DPI = 300
#: the outline of an area without admin units: pieces of at least this share of its pixels
OUTLINE_MIN_SHARE = 0.005


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _decimated(path: Path) -> tuple[np.ndarray, tuple[float, float, float, float], CRS]:
    """Band 1 read at most MAP_PIXELS on its longer side (nearest), NaN for nodata, and the
    (left, right, bottom, top) extent."""
    from rasterio.enums import Resampling

    with rasterio.open(path) as ds:
        step = max(1, math.ceil(max(ds.height, ds.width) / MAP_PIXELS))
        shape = (math.ceil(ds.height / step), math.ceil(ds.width / step))
        raw = ds.read(1, out_shape=shape, resampling=Resampling.nearest)
        data = raw.astype(np.float64)
        if ds.nodata is not None:
            data[raw == ds.nodata] = np.nan
        data[~np.isfinite(data)] = np.nan
        b = ds.bounds
        return data, (b.left, b.right, b.bottom, b.top), ds.crs


def _rings(geom: dict[str, Any]) -> Iterable[np.ndarray]:
    t = geom.get("type")
    if t == "Polygon":
        polys = [geom["coordinates"]]
    elif t == "MultiPolygon":
        polys = geom["coordinates"]
    elif t == "GeometryCollection":
        for g in geom.get("geometries", []):
            yield from _rings(g)
        return
    else:
        return
    for poly in polys:
        for ring in poly:
            yield np.asarray(ring, dtype=float)[:, :2]


def _outline(
    ax: Any, mask: np.ndarray, extent: tuple[float, float, float, float], zones: Optional[Zones]
) -> None:
    """The admin units' boundaries, else the outer boundary of the pixels with values: the
    outer ring of each piece of at least :data:`OUTLINE_MIN_SHARE` of them (holes and specks
    not drawn: a realistic area has thousands)."""
    if zones and zones.shapes:
        for geom, _ in zones.shapes:
            for ring in _rings(geom):
                ax.plot(ring[:, 0], ring[:, 1], color="0.15", linewidth=0.6)
        return
    from affine import Affine
    from rasterio import features

    total = int(mask.sum())
    if not total:
        return
    h, w = mask.shape
    left, right, bottom, top = extent
    px, py = (right - left) / w, (top - bottom) / h
    transform = Affine(px, 0.0, left, 0.0, -py, top)
    data = mask.astype(np.uint8)
    for geom, _ in features.shapes(data, mask=mask, transform=transform):
        ring = np.asarray(geom["coordinates"][0], dtype=float)
        x, y = ring[:, 0], ring[:, 1]
        area = 0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])) / (px * py)
        if area >= OUTLINE_MIN_SHARE * total:
            ax.plot(x, y, color="0.15", linewidth=0.6)


def _axis_labels(ax: Any, crs: Optional[CRS]) -> None:
    if crs is not None and crs.is_geographic:
        ax.set_xlabel("longitude (degrees)", fontsize=6)
        ax.set_ylabel("latitude (degrees)", fontsize=6)
    else:
        unit = (crs.linear_units if crs is not None else "") or "map units"
        ax.set_xlabel(f"x ({unit})", fontsize=6)
        ax.set_ylabel(f"y ({unit})", fontsize=6)


def _scale(values: np.ndarray, diverging: bool) -> tuple[float, float, str]:
    """The colour scale of a map (the QGIS styles' rule, :func:`gsocseq.styles.colour_scale`)."""
    from gsocseq.styles import colour_scale

    return colour_scale(values, diverging)


def _map_figure(
    layers: Sequence[RunLayer],
    path: Path,
    units: str,
    diverging: bool,
    zones: Optional[Zones],
    title: str,
    cmap: Optional[str] = None,
) -> Path:
    """Maps of ``layers`` on a common colour scale (:func:`_scale`; ``cmap`` instead of its
    choice), each panel with its colour bar and axis labels."""
    plt = _plt()
    data = [_decimated(lay.path) for lay in layers]
    values = np.concatenate([d[0][np.isfinite(d[0])] for d in data] or [np.zeros(1)])
    if values.size == 0:
        values = np.zeros(1)
    vmin, vmax, chosen = _scale(values, diverging)
    n = len(layers)
    ncols = 2 if n == 4 else min(n, 3)
    nrows = math.ceil(n / ncols)
    extent = data[0][1]
    crs = data[0][2]
    aspect = 1.0
    if crs is not None and crs.is_geographic:
        aspect = 1.0 / max(math.cos(math.radians((extent[2] + extent[3]) / 2)), 0.05)
    width = extent[1] - extent[0]
    height = (extent[3] - extent[2]) * aspect
    panel_w = 3.0
    panel_h = panel_w * height / width + 0.6
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_w * ncols + 0.8 * ncols, panel_h * nrows + 0.4),
        squeeze=False,
        constrained_layout=True,
    )
    for ax, lay, (arr, ext, _) in zip(axes.flat, layers, data):
        image = ax.imshow(
            arr,
            extent=ext,
            cmap=cmap or chosen,
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
            aspect=aspect,
        )
        _outline(ax, np.isfinite(arr), ext, zones)
        ax.set_xlim(ext[0], ext[1])
        ax.set_ylim(ext[2], ext[3])
        ax.set_title(lay.description, fontsize=7)
        ax.tick_params(labelsize=6)
        _axis_labels(ax, crs)
        cb = fig.colorbar(image, ax=ax, shrink=0.8, extend="both")
        cb.set_label(units, fontsize=6)
        cb.ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=9)
    with writing.replacing(path) as tmp:
        fig.savefig(tmp, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def _rgb(colour: tuple[int, int, int]) -> tuple[float, float, float]:
    return (colour[0] / 255, colour[1] / 255, colour[2] / 255)


def _land_use_figure(run: RunOutput, path: Path, zones: Optional[Zones]) -> Optional[Path]:
    """The land use of the modelled pixels (the classes' colours of the layer's colour
    table), with a legend of the classes present."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    plt = _plt()
    arr, ext, crs = _decimated(run.land_use)
    present = sorted(int(c) for c in np.unique(arr[np.isfinite(arr)]))
    if not present:
        return None
    colours = [classes.COLOURS.get(c, (128, 128, 128)) for c in range(256)]
    cmap = ListedColormap([_rgb(c) for c in colours])
    fig, ax = plt.subplots(figsize=(6.0, 5.0), constrained_layout=True)
    aspect = 1.0
    if crs is not None and crs.is_geographic:
        aspect = 1.0 / max(math.cos(math.radians((ext[2] + ext[3]) / 2)), 0.05)
    ax.imshow(
        arr, extent=ext, cmap=cmap, vmin=-0.5, vmax=255.5, interpolation="nearest", aspect=aspect
    )
    _outline(ax, np.isfinite(arr), ext, zones)
    ax.set_title("Land use of the modelled pixels (forward runs)", fontsize=8)
    ax.tick_params(labelsize=6)
    _axis_labels(ax, crs)
    handles = [
        Patch(
            color=_rgb(classes.COLOURS.get(c, (128, 128, 128))),
            label=methods.class_label(c),
        )
        for c in present
    ]
    ax.legend(
        handles=handles, fontsize=6, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False
    )
    with writing.replacing(path) as tmp:
        fig.savefig(tmp, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def _coarse(
    counts: np.ndarray, first: int, last: int, nbins: int = 40
) -> tuple[np.ndarray, np.ndarray]:
    """Rebin a fine histogram's bins ``first .. last - 1`` into about ``nbins`` bins:
    (edges in t C/ha/yr, counts)."""
    group = max(1, math.ceil((last - first) / nbins))
    last = first + math.ceil((last - first) / group) * group
    sub = np.zeros(last - first)
    take = counts[first : min(last, counts.size)]
    sub[: take.size] = take
    merged = sub.reshape(-1, group).sum(axis=1)
    edges = HIST_RANGE[0] + HIST_BIN * (first + group * np.arange(merged.size + 1))
    return edges, merged


def _box_stats(counts: np.ndarray, extremes: Sequence[float], label: str) -> dict[str, Any]:
    """matplotlib bxp statistics from a fine histogram (quartiles to the bin width,
    whiskers at the furthest data within 1.5 IQR, outliers not drawn)."""
    centres = HIST_RANGE[0] + HIST_BIN * (np.arange(counts.size) + 0.5)
    cum = np.cumsum(counts)
    total = cum[-1]

    def q(p: float) -> float:
        return float(centres[np.searchsorted(cum, p * total)])

    q1, med, q3 = q(0.25), q(0.5), q(0.75)
    iqr = q3 - q1
    present = centres[counts > 0]
    lo_in = present[present >= q1 - 1.5 * iqr]
    hi_in = present[present <= q3 + 1.5 * iqr]
    whislo = max(float(lo_in.min()) if lo_in.size else q1, extremes[0])
    whishi = min(float(hi_in.max()) if hi_in.size else q3, extremes[1])
    return {
        "label": label,
        "q1": q1,
        "med": med,
        "q3": q3,
        "whislo": whislo,
        "whishi": whishi,
        "fliers": [],
    }


def _distribution_figures(stats: Statistics, family: str, folder: Path) -> list[Path]:
    """Histogram and boxplot figures of one rate family (ASR or RSR), a panel per scenario,
    one curve / box per land-use class."""
    plt = _plt()
    layers = [lay for lay in stats.run.layers if lay.family == family and lay.year is None]
    if not layers:
        return []
    classes = sorted({c for lay in layers for c in stats.hist[lay.product]})
    colours = plt.get_cmap("tab10")
    n = len(layers)
    out: list[Path] = []
    fig, axes = plt.subplots(
        1, n, figsize=(2.6 * n + 0.6, 2.6), squeeze=False, sharey=True, constrained_layout=True
    )
    for ax, lay in zip(axes.flat, layers):
        occupied = [np.nonzero(h)[0] for h in stats.hist[lay.product].values()]
        occupied = [o for o in occupied if o.size]
        if not occupied:
            continue
        first = min(int(o[0]) for o in occupied)
        last = max(int(o[-1]) for o in occupied) + 1
        for i, c in enumerate(classes):
            counts = stats.hist[lay.product].get(c)
            if counts is None:
                continue
            edges, merged = _coarse(counts, first, last)
            ax.stairs(merged, edges, color=colours(i % 10), label=class_name(c), linewidth=1)
        ax.axvline(0.0, color="0.5", linewidth=0.5)
        ax.set_title(f"{family} {lay.scenario}", fontsize=8)
        ax.set_xlabel(f"{family} (t C/ha/yr)", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0, 0].set_ylabel("pixels", fontsize=7)
    axes[0, -1].legend(fontsize=6, frameon=False)
    path = folder / f"{family}_histograms.png"
    with writing.replacing(path) as tmp:
        fig.savefig(tmp, dpi=300)
    plt.close(fig)
    out.append(path)

    fig, axes = plt.subplots(
        1, n, figsize=(2.6 * n + 0.6, 3.0), squeeze=False, sharey=True, constrained_layout=True
    )
    for ax, lay in zip(axes.flat, layers):
        boxes = [
            _box_stats(stats.hist[lay.product][c], stats.extremes[lay.product][c], class_name(c))
            for c in classes
            if c in stats.hist[lay.product]
        ]
        if boxes:
            ax.bxp(
                boxes,
                showfliers=False,
                patch_artist=True,
                boxprops={"facecolor": "0.85", "linewidth": 0.6},
                medianprops={"color": "k"},
            )
        ax.axhline(0.0, color="0.5", linewidth=0.5)
        ax.set_title(f"{family} {lay.scenario}", fontsize=8)
        ax.tick_params(axis="x", labelsize=6, rotation=45)
        ax.tick_params(axis="y", labelsize=6)
    axes[0, 0].set_ylabel(f"{family} (t C/ha/yr)", fontsize=7)
    path = folder / f"{family}_boxplots.png"
    with writing.replacing(path) as tmp:
        fig.savefig(tmp, dpi=300)
    plt.close(fig)
    out.append(path)
    return out


def unit_means(stats: Statistics, product: str) -> dict[str, float]:
    """Area-weighted mean (per ha) of ``product`` in each zone (all land-use classes)."""
    out = {}
    for r in stats.rows:
        if r["land_use"] == "all" and r["product"] == product and r["unit"] in stats.zone_names:
            if r["unit"] not in ("all", "(outside)") and r["mean_per_ha"] != "":
                out[r["unit"]] = float(r["mean_per_ha"])
    return out


def _choropleth_figure(stats: Statistics, family: str, path: Path) -> Optional[Path]:
    """The admin units filled with their area-weighted mean of each layer of ``family`` (a
    panel per scenario, one colour scale, a colour bar on every panel)."""
    zones = stats.zones
    if zones is None or not zones.shapes:
        return None
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    plt = _plt()
    layers = [lay for lay in stats.run.layers if lay.family == family and lay.year is None]
    means = {lay.product: unit_means(stats, lay.product) for lay in layers}
    values = np.array([v for m in means.values() for v in m.values()])
    if not layers or values.size == 0:
        return None
    vmin, vmax, ramp = _scale(values, family in ("AbsDiff", "RelDiff", "ASR", "RSR"))
    norm, cmap = Normalize(vmin, vmax), colormaps[ramp]
    units = products.FAMILIES[family][1]
    n = len(layers)
    fig, axes = plt.subplots(
        1, n, figsize=(3.2 * n + 0.6, 3.2), squeeze=False, constrained_layout=True
    )
    for ax, lay in zip(axes.flat, layers):
        for geom, zid in zones.shapes:
            v = means[lay.product].get(zones.names[zid - 1])
            colour = cmap(norm(v)) if v is not None else (0.9, 0.9, 0.9, 1.0)
            for ring in _rings(geom):
                ax.fill(ring[:, 0], ring[:, 1], facecolor=colour, edgecolor="0.2", linewidth=0.4)
        ax.set_title(f"{lay.product}: mean per unit", fontsize=7)
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=6)
        _axis_labels(ax, stats.run_crs)
        cb = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.8)
        cb.set_label(units, fontsize=6)
        cb.ax.tick_params(labelsize=6)
    with writing.replacing(path) as tmp:
        fig.savefig(tmp, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def make_figures(stats: Statistics, folder: Path) -> dict[str, Path]:
    """Every figure of the report (300 dpi PNGs in ``folder``), by key."""
    folder.mkdir(parents=True, exist_ok=True)
    main = [lay for lay in stats.run.layers if lay.year is None]
    figures: dict[str, Path] = {}
    stocks = [lay for lay in main if lay.family in ("T0", "finalSOC")]
    if stocks:
        figures["stocks"] = _map_figure(
            stocks,
            folder / "stocks_map.png",
            "SOC stock (t C/ha)",
            False,
            stats.zones,
            "SOC stocks, 0-30 cm",
        )
    for family, title in (
        ("ASR", "Absolute sequestration rate"),
        ("RSR", "Relative sequestration rate (vs BAU)"),
    ):
        lays = [lay for lay in main if lay.family == family]
        if lays:
            figures[f"{family}_map"] = _map_figure(
                lays,
                folder / f"{family}_map.png",
                f"{family} (t C/ha/yr)",
                True,
                stats.zones,
                title,
            )
            for p in _distribution_figures(stats, family, folder):
                figures[p.stem] = p
    unc = [
        dataclasses.replace(lay, path=lay.uncertainty, description=f"{lay.product}: uncertainty")
        for lay in main
        if lay.uncertainty is not None and lay.family in ("T0", "finalSOC")
    ]
    if unc:
        figures["uncertainty_map"] = _map_figure(
            unc[:6],
            folder / "uncertainty_map.png",
            "uncertainty (%)",
            False,
            stats.zones,
            "Uncertainty of the stocks (half the min-max range, % of the value)",
            cmap="magma_r",
        )
    for family in ("ASR", "RSR"):
        choropleth = _choropleth_figure(stats, family, folder / f"{family}_choropleth.png")
        if choropleth is not None:
            figures[f"{family}_choropleth"] = choropleth
    land_use = _land_use_figure(stats.run, folder / "land_use_map.png", stats.zones)
    if land_use is not None:
        figures["land_use_map"] = land_use
    return figures
