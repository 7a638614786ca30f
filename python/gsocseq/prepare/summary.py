"""What ``gsocseq prepare`` writes besides the rasters: its Markdown report, the run
configuration (checked as the run reads it) and the quick-look PNGs."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.transform
import rasterio.warp
import rasterio.windows

from gsocseq.config import from_dict as _run_config_from_dict
from gsocseq.config import toml_value
from gsocseq.errors import ConfigError
from gsocseq.prepare.settings import RUN_CONFIG, Settings

if TYPE_CHECKING:  # pragma: no cover
    from gsocseq.prepare.grid import Grid


@dataclass
class Report:
    """What prepare did to every input, written as Markdown."""

    lines: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def grid(
        self, soc: Path, src: tuple, grid: Grid, aoi: str, in_poly: int, soc_nodata: int
    ) -> None:
        width, height, res = src
        self.lines += [
            "## Master grid and area of interest",
            "",
            f"- SOC map `{soc}`: {width} x {height} pixels, pixel size {res[0]:g} x {res[1]:g}, "
            f"CRS {grid.crs.to_string()}",
            f"- area of interest: {aoi}",
            f"- prepared grid: {grid.width} x {grid.height} pixels, origin "
            f"({grid.transform.c:.6f}, {grid.transform.f:.6f})",
            f"- pixels in the polygon: {in_poly}; SOC nodata among them: {soc_nodata}; "
            f"pixels kept: {int(grid.inside.sum())} (every other pixel is nodata in every layer)",
            "",
            "## Layers",
            "",
            "| layer | source | CRS | resampling | scale | units | pixels |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]

    def layer(
        self,
        name: str,
        sources: Sequence[Path],
        crs: str,
        resampling: str,
        scale: str,
        units: str,
        pixels: str,
    ) -> None:
        names = [Path(s).name for s in sources]
        src = ", ".join(f"`{n}`" for n in names[:4])
        if len(names) > 4:
            src += f" ... ({len(names)} files)"
        self.lines.append(
            f"| {name} | {src} | {crs} | {resampling} | {scale} | {units} | {pixels} |"
        )

    def text(self, settings: Settings, outputs: Mapping[str, str], seconds: float) -> str:
        head = [
            f"# gsocseq prepare report: {settings.name}",
            "",
            f"Prepared {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} in {seconds:.1f} s. "
            f"Run configuration: `{RUN_CONFIG}` (`gsocseq run {RUN_CONFIG}`). Every layer is "
            "float32 with nodata -999 on the master grid (land use: uint8 FAO classes, nodata "
            "255), in physical units (scale 1).",
            "",
        ]
        files = ["", "## Files", "", "| input key | file |", "| --- | --- |"]
        files += [f"| {k} | `{v}` |" for k, v in outputs.items()]
        notes = ["", "## Notes", ""] + [f"- {n}" for n in self.notes] if self.notes else []
        looks = ["", "## Quick looks", ""] + [f"![{n}](quicklook/{n}.png)" for n in self.layers]
        return "\n".join(head + self.lines + files + notes + looks) + "\n"


def run_config_text(settings: Settings, inputs: Mapping[str, str]) -> str:
    t = settings.table
    run = {"name": settings.name, "output": "out"}
    extra = t.get("run", {})
    if not isinstance(extra, Mapping):
        raise ConfigError("[prepare.run]: expected a table (copied into [run])")
    run.update(extra)
    data: dict[str, Any] = {"run": run, "inputs": dict(inputs)}
    for key in ("classes", "exclusions", "checks", "scenarios"):
        if key in t:
            data[key] = t[key]
    # the written configuration must be valid: check it as the run will read it
    _run_config_from_dict(data, base_dir=settings.output)
    lines = [
        "# written by gsocseq prepare; paths are relative to this file, values in physical units",
        "",
    ]
    for section in ("run", "inputs", "classes", "exclusions", "checks"):
        if section in data:
            lines.append(f"[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in data[section].items()]
            lines.append("")
    for name, groups in data.get("scenarios", {}).items():
        lines.append(f"[scenarios.{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in groups.items()]
        lines.append("")
    return "\n".join(lines)


def quicklooks(out: Path, names: Mapping[str, str], report: Report) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        report.notes.append("matplotlib is not installed: no quick-look PNGs")
        return
    folder = out / "quicklook"
    folder.mkdir(exist_ok=True)
    for key, fname in names.items():
        with rasterio.open(out / fname) as ds:
            step = max(1, math.ceil(max(ds.height, ds.width) / 800))
            data = ds.read(1, masked=True)[::step, ::step].astype(np.float64)
            title = f"{key} (band 1 of {ds.count})" if ds.count > 1 else key
        fig, ax = plt.subplots(figsize=(6, 5))
        try:
            im = ax.imshow(data, cmap="tab20" if key == "land_use" else "viridis")
            fig.colorbar(im, ax=ax, shrink=0.8)
            ax.set_title(title)
            ax.set_xticks([])
            ax.set_yticks([])
            fig.savefig(folder / f"{key}.png", dpi=80, bbox_inches="tight")
        finally:
            plt.close(fig)
        report.layers.append(key)
