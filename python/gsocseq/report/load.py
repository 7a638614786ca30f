"""The layers of a run's output folder, found by their names (:mod:`gsocseq.products`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import rasterio

from gsocseq import products
from gsocseq.errors import InputError

FAMILIES = tuple(products.FAMILIES)
#: family: (quantity, units per ha, units of a total)
QUANTITY = products.FAMILIES


@dataclass
class RunLayer:
    """One statistics layer of a run (a ``*_Map030.tif``) and its uncertainty layer, if any."""

    product: str  # file product, e.g. "ASR_SSM1" or "ASR_SSM1_2070"
    family: str  # T0, finalSOC, AbsDiff, RelDiff, ASR, RSR
    scenario: str  # "T0" for the t0 stock, else BAU, SSM1, ...
    year: Optional[int]  # final year of a horizon other than the main one
    path: Path
    description: str
    uncertainty: Optional[Path]

    @property
    def quantity(self) -> str:
        return QUANTITY[self.family][0]

    @property
    def per_ha_units(self) -> str:
        return QUANTITY[self.family][1]

    @property
    def total_units(self) -> str:
        return QUANTITY[self.family][2]


@dataclass
class RunOutput:
    """The layers of one gsocseq run folder."""

    dir: Path
    name: str
    summary: dict[str, Any]
    layers: list[RunLayer]
    uncertainty_layers: list[Path]
    other_layers: list[Path]
    land_use: Path
    t0_year: Optional[int]
    final_year: Optional[int]

    @property
    def all_rasters(self) -> list[Path]:
        """Every raster the run wrote, in the run summary's order where it has one."""
        return [
            *(lay.path for lay in self.layers),
            *self.uncertainty_layers,
            *self.other_layers,
            self.land_use,
        ]


def _band_description(path: Path) -> str:
    with rasterio.open(path) as ds:
        return ds.descriptions[0] or ""


def load_run(run_dir: str | os.PathLike[str]) -> RunOutput:
    """Find the run summary, the layers and the land-use layer of a run folder.

    Raises :class:`InputError` when the folder is not a gsocseq run output or a layer the
    summary lists is missing.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: not a folder")
    from gsocseq.folder import run_summary

    summary_path, name, summary = run_summary(run_dir)
    listed = summary.get("layers")
    if listed:
        files = [run_dir / str(f) for f in listed]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise InputError(
                f"{run_dir}: layers listed in {summary_path.name} are missing: "
                + ", ".join(missing[:5])
                + (" ..." if len(missing) > 5 else "")
            )
    else:
        files = sorted(run_dir.glob(f"{name}_*.tif"))
    land_use = run_dir / products.land_use_file(name)
    if not land_use.exists():
        raise InputError(f"{land_use}: land-use layer not found (needed for the statistics)")

    maps: dict[str, Path] = {}
    uncertainty: dict[str, Path] = {}
    others: list[Path] = []
    for f in files:
        parsed = products.parse(f.name, name)
        if parsed is None or parsed.kind == "land_use":
            continue
        if parsed.kind == "uncertainty":
            uncertainty[parsed.product] = f
        elif parsed.kind == "map":
            maps[parsed.product] = f
        else:
            others.append(f)
    used: set[str] = set()
    layers: list[RunLayer] = []
    for product, path in maps.items():
        split = products.split_product(product)
        if split is None:
            others.append(path)
            continue
        family, scenario, year = split
        candidates = products.uncertainty_products(family, scenario, year)
        unc = next((uncertainty[c] for c in candidates if c in uncertainty), None)
        if unc is not None:
            used.add(unc.name)
        layers.append(
            RunLayer(
                product=product,
                family=family,
                scenario=scenario,
                year=year,
                path=path,
                description=_band_description(path) or product,
                uncertainty=unc,
            )
        )
    if not layers:
        example = products.Layer("*").file_name(name)
        raise InputError(f"{run_dir}: no {example} layers")
    t0_year = final_year = None
    for lay in layers:
        m = re.search(r"\((\d{4})\)", lay.description) if lay.family == "T0" else None
        if m:
            t0_year = int(m.group(1))
    years = (summary.get("options") or {}).get("years")
    if t0_year is not None and isinstance(years, int):
        horizons = (summary.get("options") or {}).get("horizons") or []
        final_year = t0_year + max([years, *[int(h) for h in horizons]])
    return RunOutput(
        dir=run_dir,
        name=name,
        summary=summary,
        layers=layers,
        uncertainty_layers=list(uncertainty.values()),
        other_layers=others,
        land_use=land_use,
        t0_year=t0_year,
        final_year=final_year,
    )
