"""``gsocseq init``: a commented run configuration from a folder the user already has.

Two kinds of folder are recognised:

- an FAO GSOCseq v1.2 folder, as the FAO R scripts lay it out: ``INPUTS/STACK`` (the spin-up,
  warm-up and forward stacks of scripts 7-9), ``INPUTS/TERRA_CLIMATE`` (the 12*Y-band 2001-2020
  series that script 12 reads; ``INPUTS/CRU_LAYERS`` for CRU), ``INPUTS/NPP_TERRA`` (the 1981-2000
  MIAMI NPP reference and its _MIN/_MAX variants) and ``INPUTS/AOI_POLYGON``. The folder given may
  be the project folder holding ``INPUTS`` or ``INPUTS`` itself (the configuration then goes into
  the project folder, its parent), or a folder of another name laid out as ``INPUTS`` (the
  configuration then goes into that folder itself, never into its parent or the current
  folder); names are matched without regard to case, and the files are told apart by their
  names and band counts;
- the output folder of ``gsocseq prepare`` (its ``gsocseq.toml`` names the prepared rasters).

The scales are decided from the data, not assumed: the warm-up series are compared with the
forward stack, which holds the 2001-2020 monthly means of the same quantities in degrees C and
mm. Series not on the grid of the stacks (script 12 resamples them bilinearly onto the land use)
are resampled the same way into a folder beside the configuration. The configuration written is
checked as ``gsocseq validate`` reads it before it gets its final name.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.vrt import WarpedVRT

from gsocseq.config import (
    DEFAULT_SCENARIOS,
    GROUPS,
    MODES,
    NATIVE_INPUTS,
    from_dict,
    parse_toml,
    read_toml,
    toml_value,
)
from gsocseq.errors import ConfigError, InputError
from gsocseq.folder import write_errors
from gsocseq.rasters import same_grid, windows
from gsocseq.writing import atomic_raster, gdal_writes

__all__ = ["Found", "discover", "init", "is_iso3"]

#: where init puts series it resampled onto the grid of the stacks (beside the configuration)
RESAMPLED = "resampled_inputs"
#: pixels sampled to compare the series with the forward stack (a decimated read)
SAMPLE_SIDE = 256
ISO3 = re.compile(r"^[A-Z]{3}$")

# FAO v1.2 file names (case-insensitive); scripts 7-9 write THA_Stack_Set_SPIN_UP.tif, v1.1
# wrote Stack_Set_FOWARD.tif
_STACKS = {
    "spinup_stack": re.compile(r"stack_set_spin_?up", re.I),
    "warmup_stack": re.compile(r"stack_set_warm_?up", re.I),
    "forward_stack": re.compile(r"stack_set_fo(r)?ward", re.I),
}
_SERIES = {
    "warmup_temperature": re.compile(r"temp|tmp", re.I),
    "warmup_precipitation": re.compile(r"prec|ppt|rain", re.I),
    "warmup_pet": re.compile(r"pet|evap", re.I),
}
#: stack: (what, FAO script that writes it, band layout)
_STACK_TEXT = {
    "spinup_stack": (
        "spin-up",
        7,
        "SOC, clay, 12 T (1981-2000), 12 P, 12 PET, DR, LU (2020), 12 cover",
    ),
    "warmup_stack": ("warm-up", 8, "SOC, clay, 12 cover, Y land-use bands, Y DR bands"),
    "forward_stack": (
        "forward",
        9,
        "SOC, clay, 12 T (2001-2020), 12 P, 12 PET, DR, LU, 12 cover",
    ),
}
_NPP = re.compile(r"^npp_miami_mean_81-00(?P<rest>.*)\.tiff?$", re.I)
#: bands of the forward stack holding the 2001-2020 monthly means (0-based; METHOD.md 2 layout)
_FORWARD_BANDS = {"warmup_temperature": range(2, 14), "warmup_pet": range(26, 38)}


def is_iso3(name: str) -> bool:
    """True for a name of three capital letters (an ISO 3166-1 alpha-3 code such as KEN)."""
    return bool(ISO3.match(name))


@dataclass
class Entry:
    """One input of the configuration to write."""

    path: Path
    scale: float = 1.0
    comment: str = ""
    check: str = ""  # how the scale was decided


@dataclass
class Found:
    """What :func:`discover` found in a folder."""

    kind: str  # "fao" (an FAO v1.2 INPUTS folder) or "prepared" (a gsocseq prepare output)
    root: Path  # the folder the configuration goes into by default
    inputs: dict[str, Entry]
    name: Optional[str] = None  # the file prefix found (e.g. "THA_NP"), if any
    aoi: Optional[Path] = None
    years: int = 0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # sections copied from a prepare output's configuration
    extra: dict[str, Any] = field(default_factory=dict)
    # series to resample onto the stacks' grid: key -> source file
    resample: dict[str, Path] = field(default_factory=dict)


# --------------------------------------------------------------------------------- discovery


def _child(folder: Path, name: str) -> Optional[Path]:
    """The sub-folder of ``folder`` called ``name``, whatever its case."""
    if not folder.is_dir():
        return None
    for p in sorted(folder.iterdir()):
        if p.is_dir() and p.name.lower() == name.lower():
            return p
    return None


def _tifs(folder: Optional[Path]) -> list[Path]:
    if folder is None:
        return []
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".tif", ".tiff")
    )


def _bands(path: Path) -> int:
    try:
        with rasterio.open(path) as ds:
            return int(ds.count)
    except RasterioIOError as exc:
        raise InputError(f"{path}: cannot be opened as a raster ({exc})") from None


def _one(candidates: list[Path], what: str, folder: Path) -> Path:
    if not candidates:
        raise InputError(f"{folder}: no {what}")
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise InputError(
            f"{folder}: several files could be the {what} ({names}); move the ones not to use "
            "out of the folder"
        )
    return candidates[0]


def discover(folder: Union[str, os.PathLike]) -> Found:
    """What ``folder`` holds: an FAO v1.2 folder (the project folder or its ``INPUTS``) or the
    output of ``gsocseq prepare``. Raises :class:`~gsocseq.rasters.InputError` naming what is
    missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    if (folder / "gsocseq.toml").is_file() and _child(folder, "STACK") is None:
        return _discover_prepared(folder)
    inputs = folder if _child(folder, "STACK") is not None else _child(folder, "INPUTS")
    if inputs is None or _child(inputs, "STACK") is None:
        raise InputError(
            f"{folder}: neither an FAO GSOCseq folder (INPUTS/STACK with the stacks of scripts "
            "7-9) nor the output of gsocseq prepare (gsocseq.toml); give the folder that holds "
            "INPUTS, or prepare the raw inputs first (gsocseq prepare, docs/prepare.md)"
        )
    return _discover_fao(folder, inputs)


def _discover_fao(folder: Path, inputs: Path) -> Found:
    stack_dir = _child(inputs, "STACK")
    assert stack_dir is not None
    # the project folder (where the FAO scripts also write OUTPUTS): INPUTS' parent (of the
    # absolute path: the parent of "." is "." itself); a folder of another name holding STACK
    # has no known project folder, so the configuration goes into the folder the user gave
    root = folder
    absolute = Path(os.path.abspath(folder))
    if inputs == folder and absolute.name.lower() == "inputs":
        root = absolute.parent
    found = Found(kind="fao", root=root, inputs={})
    if inputs == folder and root == folder:
        found.notes.append(
            f"{folder} holds STACK itself and is not called INPUTS: the configuration goes "
            "into it (-o/--config to write it elsewhere)"
        )
    stacks = _tifs(stack_dir)
    for key, pattern in _STACKS.items():
        what, script, layout = _STACK_TEXT[key]
        path = _one(
            [p for p in stacks if pattern.search(p.name)],
            f"{what} stack (*Stack_Set_{what.upper().replace('-', '_')}*.tif of script {script})",
            stack_dir,
        )
        found.inputs[key] = Entry(path, comment=f"{what} stack of script {script}: {layout}")
    prefixes = {
        re.split(r"_?stack_set", p.name, flags=re.I)[0]
        for p in (e.path for e in found.inputs.values())
    }
    prefixes.discard("")
    if len(prefixes) == 1:
        found.name = prefixes.pop()
    warm_bands = _bands(found.inputs["warmup_stack"].path)
    if warm_bands < 16 or (warm_bands - 14) % 2:
        raise InputError(
            f"{found.inputs['warmup_stack'].path}: {warm_bands} bands; the FAO warm-up stack "
            "has 14 + 2 Y (SOC, clay, 12 cover, Y land-use and Y DR bands)"
        )
    found.years = (warm_bands - 14) // 2
    for key in ("spinup_stack", "forward_stack"):
        n = _bands(found.inputs[key].path)
        if n != 52:
            raise InputError(
                f"{found.inputs[key].path}: {n} bands, expected the 52 of the FAO stack (SOC, "
                "clay, 12 T, 12 P, 12 PET, DR, LU, 12 cover)"
            )
    _climate_series(found, inputs)
    _npp(found, inputs)
    aoi_dir = _child(inputs, "AOI_POLYGON")
    if aoi_dir is not None:
        shapes = sorted(
            p
            for p in aoi_dir.iterdir()
            if p.suffix.lower() in (".shp", ".gpkg", ".geojson", ".json")
        )
        if shapes:
            found.aoi = shapes[0]
    _check_grids(found)
    _check_scales(found)
    return found


def _climate_series(found: Found, inputs: Path) -> None:
    months = 12 * found.years
    terra = _child(inputs, "TERRA_CLIMATE")
    cru = _child(inputs, "CRU_LAYERS")
    folder = terra if terra is not None else cru
    if folder is None:
        raise InputError(
            f"{inputs}: no TERRA_CLIMATE (or CRU_LAYERS) folder with the {months}-band monthly "
            "warm-up series of script 12"
        )
    bands = {p: _bands(p) for p in _tifs(folder)}
    for key, pattern in _SERIES.items():
        what = key.split("_", 1)[1]
        series = f"{months}-band {what} series ({found.years} warm-up years as the warm-up stack)"
        near = [f"{p.name} ({n} bands)" for p, n in bands.items() if pattern.search(p.name)]
        if near and not any(n == months for p, n in bands.items() if pattern.search(p.name)):
            # a series with a month missing or given twice was reported as no series at all
            raise InputError(
                f"{folder}: no {series}; its {what} files: {', '.join(near)}. A series with "
                f"fewer or more bands than {months} has a month missing or given twice: build "
                "it again (FAO script 12: 12 bands a warm-up year, 2001 first)"
            )
        path = _one(
            [p for p, n in bands.items() if n == months and pattern.search(p.name)], series, folder
        )
        # TerraClimate stores temperature and PET x 10 (script 12 multiplies them by 0.1); CRU
        # holds degrees C and mm; _check_scales confirms this against the forward stack
        scale = 0.1 if folder is terra and key != "warmup_precipitation" else 1.0
        unit = "degrees C" if key == "warmup_temperature" else "mm"
        source = "TerraClimate (stored x 10)" if scale != 1 else folder.name
        found.inputs[key] = Entry(
            path, scale, f"{source} {what}, {months} monthly bands, {unit} (script 12)"
        )


def _npp(found: Found, inputs: Path) -> None:
    folder = _child(inputs, "NPP_TERRA") or _child(inputs, "NPP")
    if folder is None:
        raise InputError(
            f"{inputs}: no NPP_TERRA folder with NPP_MIAMI_MEAN_81-00_AOI.tif (script 3)"
        )
    by_kind: dict[str, list[Path]] = {"": [], "_MIN": [], "_MAX": []}
    for p in _tifs(folder):
        m = _NPP.match(p.name)
        if m is None:
            continue
        rest = m.group("rest").upper()
        kind = "_MIN" if rest.endswith("_MIN") else "_MAX" if rest.endswith("_MAX") else ""
        by_kind[kind].append(p)
    for kind, key in (
        ("", "npp_reference"),
        ("_MIN", "npp_reference_min"),
        ("_MAX", "npp_reference_max"),
    ):
        paths = by_kind[kind]
        if len(paths) > 1:  # the AOI-clipped one is the one script 12 reads
            clipped = [p for p in paths if "_AOI" in p.name.upper()]
            paths = clipped if len(clipped) == 1 else paths
        if not paths and not kind:
            raise InputError(f"{folder}: no NPP_MIAMI_MEAN_81-00_AOI.tif (script 3)")
        if not paths:
            found.notes.append(
                f"no NPP_MIAMI_MEAN_81-00_AOI{kind}.tif: the {kind[1:].lower()} run uses the "
                "central NPP reference (as script 12 does without it)"
            )
            continue
        path = _one(paths, f"NPP reference NPP_MIAMI_MEAN_81-00*{kind}.tif", folder)
        run = {"": "", "_MIN": " of the min run", "_MAX": " of the max run"}[kind]
        found.inputs[key] = Entry(
            path, comment=f"1981-2000 mean MIAMI NPP{run}, t C/ha/yr (script 3)"
        )


def _check_grids(found: Found) -> None:
    """Inputs off the grid of the spin-up stack: the series and NPP are resampled (bilinear,
    as script 12 does), a stack off the grid is an error."""
    master_path = found.inputs["spinup_stack"].path
    with rasterio.open(master_path) as master:
        for key, entry in found.inputs.items():
            if key == "spinup_stack":
                continue
            with rasterio.open(entry.path) as ds:
                problem = same_grid(master, ds)
            if problem is None:
                continue
            if key.endswith("_stack"):
                raise InputError(
                    f"{entry.path}: not on the grid of {master_path.name} ({problem}); the three "
                    "stacks of scripts 7-9 share one grid: build them again, or prepare the "
                    "inputs with gsocseq prepare"
                )
            found.resample[key] = entry.path
            found.notes.append(
                f"{entry.path.name}: not on the grid of the stacks ({problem}); resampled "
                f"bilinearly onto it into {RESAMPLED}/ (as script 12 resamples it)"
            )


def _mean_abs(path: Path, bands: Sequence[int], scale: float) -> tuple[float, float]:
    """Mean and maximum of |value| x ``scale`` of the 1-based ``bands`` over the valid pixels
    of a decimated read (at most SAMPLE_SIDE pixels a side); NaN without values."""
    total, count, high = 0.0, 0, 0.0
    with rasterio.open(path) as ds:
        step = max(1, math.ceil(max(ds.height, ds.width) / SAMPLE_SIDE))
        shape = (math.ceil(ds.height / step), math.ceil(ds.width / step))
        for start in range(0, len(bands), 12):
            chunk = list(bands[start : start + 12])
            data = ds.read(
                chunk, out_shape=(len(chunk), *shape), resampling=Resampling.nearest, masked=True
            )
            values = np.abs(data.astype(np.float64).filled(np.nan))
            ok = np.isfinite(values)
            if ok.any():
                total += float(values[ok].sum())
                count += int(ok.sum())
                high = max(high, float(values[ok].max()))
    if not count:
        return math.nan, math.nan
    return total / count * abs(scale), high * abs(scale)


#: largest plausible monthly |value| (METHOD.md 2, unit plausibility): beyond it, x 10
_PLAUSIBLE = {"warmup_temperature": 60.0, "warmup_pet": 1000.0}


def _check_scales(found: Found) -> None:
    """Compare the scaled warm-up series with the forward stack, whose bands hold the 2001-2020
    monthly means of the same quantities in degrees C and mm (area means of |value|, so that a
    series on another grid compares too). A factor of 10 between them is the series' scale,
    unless the stack itself is implausible (monthly temperature beyond 60 degrees C, PET beyond
    1,000 mm): FAO scripts 1_1 and 2_1 never rescale TerraClimate temperature (METHOD.md 1), and
    such stacks are an error."""
    fwd = found.inputs["forward_stack"].path
    for key, stack_bands in _FORWARD_BANDS.items():
        entry = found.inputs[key]
        what = "temperature" if key == "warmup_temperature" else "PET"
        unit = "degrees C" if key == "warmup_temperature" else "mm"
        a, a_max = _mean_abs(fwd, [b + 1 for b in stack_bands], 1.0)
        # the first and the last year are enough to tell a factor of 10 (and read 1/10 of a
        # 20-year series: a national 1 km series is gigabytes)
        months = _bands(entry.path)
        bands = [*range(1, 13), *range(max(13, months - 11), months + 1)]
        b, _ = _mean_abs(entry.path, bands, entry.scale)
        if not (a > 0 and b > 0):
            found.warnings.append(
                f"{entry.path.name}: no values to compare with {fwd.name}; scale = "
                f"{entry.scale:g} assumed, check the unit before running"
            )
            continue
        ratio = a / b
        measured = f"mean |{what}| {b:.3g} vs {a:.3g} {unit} in {fwd.name}"
        if a_max > _PLAUSIBLE[key]:
            raise InputError(
                f"{fwd}: {what} bands up to {a_max:.4g} {unit} a month, {ratio:.3g} times "
                f"{entry.path.name} x {entry.scale:g} ({measured}): the stacks hold "
                "TerraClimate values not divided by 10 (FAO scripts 1_1 and 2_1 never rescale "
                "TerraClimate temperature, so every phase would run 10 times too warm). Build "
                "the inputs with gsocseq prepare (docs/prepare.md), or build the stacks again "
                "from layers divided by 10"
            )
        if 0.5 <= ratio <= 2.0:
            entry.check = f"checked: x {entry.scale:g} agrees with the forward stack ({measured})"
            continue
        factor = 10.0 if 5.0 <= ratio <= 20.0 else 0.1 if 0.05 <= ratio <= 0.2 else None
        if factor is None:
            entry.check = f"does not match the forward stack ({measured}): check the unit"
            found.warnings.append(f"{entry.path.name}: x {entry.scale:g} {entry.check}")
            continue
        old, entry.scale = entry.scale, float(np.float64(entry.scale) * factor)
        entry.scale = round(entry.scale, 12)
        entry.check = (
            f"scale {entry.scale:g}, not {old:g}: with {old:g} its monthly means are "
            f"{1 / ratio:.3g} times the forward stack's ({measured})"
            if factor < 1
            else f"scale {entry.scale:g}, not {old:g}: with {old:g} its monthly means are "
            f"1/{1 / ratio:.3g} of the forward stack's ({measured})"
        )
        found.notes.append(f"{entry.path.name}: {entry.check}")


def _discover_prepared(folder: Path) -> Found:
    config_path = folder / "gsocseq.toml"
    data = read_toml(config_path)
    table = data.get("inputs")
    if not isinstance(table, Mapping) or "fao" in table:
        raise InputError(f"{config_path}: not a configuration written by gsocseq prepare")
    found = Found(kind="prepared", root=folder, inputs={})
    for key, value in table.items():
        spec = value if isinstance(value, Mapping) else {"path": value}
        if key not in NATIVE_INPUTS or not isinstance(spec.get("path"), str):
            raise InputError(f"{config_path}: [inputs].{key} is not an input of gsocseq run")
        path = (folder / spec["path"]).resolve()
        if not path.exists():
            raise InputError(f"{path}: listed in {config_path} but not found")
        scale = float(spec.get("scale", 1.0))
        found.inputs[key] = Entry(path, scale, NATIVE_INPUTS[key][1])
    run = data.get("run") or {}
    if isinstance(run, Mapping) and isinstance(run.get("name"), str):
        found.name = run["name"]
    if isinstance(run, Mapping) and isinstance(run.get("mode"), str):
        found.extra["run"] = {"mode": run["mode"]}
    for section in ("scenarios", "classes", "exclusions", "checks"):
        if section in data:
            found.extra[section] = data[section]
    with rasterio.open(found.inputs["warmup_temperature"].path) as ds:
        found.years = ds.count // 12
    return found


# --------------------------------------------------------------------------------- writing


def _resample_onto(source: Path, master: Path, target: Path) -> None:
    """``source`` resampled bilinearly onto the grid of ``master`` into ``target`` (float32,
    values as stored: the configuration's scale still applies), window by window."""
    with rasterio.open(master) as m, rasterio.open(source) as src:
        nodata = src.nodata if src.nodata is not None else -999.0
        profile = {
            "driver": "GTiff",
            "width": m.width,
            "height": m.height,
            "count": src.count,
            "dtype": "float32",
            "crs": m.crs,
            "transform": m.transform,
            "nodata": nodata,
            "compress": "deflate",
            "predictor": 3,
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
            "interleave": "band",
        }
        with (
            WarpedVRT(
                src,
                crs=m.crs,
                transform=m.transform,
                width=m.width,
                height=m.height,
                resampling=Resampling.bilinear,
                src_nodata=nodata,
                nodata=nodata,
            ) as vrt,
            atomic_raster(target, profile) as dst,
        ):
            for b in range(1, src.count + 1):
                for window in windows(m.height, m.width, 512):
                    dst.write(vrt.read(b, window=window).astype(np.float32), b, window=window)
                if src.descriptions[b - 1]:
                    dst.set_band_description(b, src.descriptions[b - 1])


def _rel(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()


def _config_text(found: Found, base: Path, name: str, mode: str, output: str) -> str:
    fao = found.kind == "fao"
    lines = [
        f"# gsocseq run configuration written by gsocseq init from {found.root}",
        "# Reference: docs/configuration.md. Paths are relative to this file.",
        "# Check it with `gsocseq validate THIS_FILE`, then `gsocseq run THIS_FILE`.",
        "",
        "[run]",
        "# the ISO 3166-1 alpha-3 code of the country: every layer is named {name}_GSOCseq_...",
        f"name = {toml_value(name)}",
        "# rothamsted: the official RothC-26.3 numerics (recommended for a national submission);",
        "# fao-v1.2: the numbers of the FAO v1.2 R scripts, defects included (to compare with",
        "# maps made with the scripts). docs/fao-submission.md: the figures of the difference.",
        f"mode = {toml_value(mode)}",
        f"output = {toml_value(output)}",
        '# min/max uncertainty runs (the FAO uncertainty layers); "none" skips them',
        'uncertainty = "minmax"',
        "",
    ]
    if fao:
        lines += ["[inputs.fao]"]
    else:
        lines += ["[inputs]"]
    for key, entry in found.inputs.items():
        path = entry.path
        if key in found.resample:
            path = base / RESAMPLED / path.name
        lines += [f"# {text}" for text in (entry.comment, entry.check) if text]
        rel = _rel(path, base)
        # the series always with their scale: the FAO layout's default is 0.1 for T and PET
        if entry.scale != 1.0 or key.startswith("warmup_"):
            lines.append(
                f"{key} = {{ path = {toml_value(rel)}, scale = {toml_value(entry.scale)} }}"
            )
        else:
            lines.append(f"{key} = {toml_value(rel)}")
    lines.append("")
    scenarios = found.extra.get("scenarios")
    if scenarios:
        for sname, groups in scenarios.items():
            lines.append(f"[scenarios.{sname}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in groups.items()]
            lines.append("")
    else:
        lines.append(
            "# Scenarios: the increase of the carbon input over BAU per SSM group (0.05 = +5 %)."
        )
        lines.append("# These are the FAO defaults; change them to the country's own figures.")
        for sname, inc in DEFAULT_SCENARIOS.items():
            lines.append(f"[scenarios.{sname}]")
            lines += [f"{g} = {toml_value(inc)}" for g in GROUPS]
            lines.append("")
    for section in ("classes", "exclusions", "checks"):
        if section in found.extra:
            lines.append(f"[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in found.extra[section].items()]
            lines.append("")
    if "exclusions" not in found.extra:
        lines += [
            "# Exclusions (manual ch. 5): SOC > 200 t C/ha, sand > 90 %, EC > 4 dS/m are masked in",
            "# the national layers (on by default in rothamsted mode, off in fao-v1.2); sand and",
            "# EC need [inputs] sand and ec. gsocseq export --fao delivers them unmasked.",
            "# [exclusions]",
            "# enabled = true",
            "# soc_max = 200.0",
            "",
        ]
    if found.aoi is not None:
        lines += [
            "# Area of interest (for the statistics per unit of the report):",
            f"#   gsocseq report {output} --admin {_rel(found.aoi, base)}",
            "",
        ]
    return "\n".join(lines)


def init(
    folder: Union[str, os.PathLike],
    *,
    name: Optional[str] = None,
    mode: Optional[str] = None,
    config: Optional[Union[str, os.PathLike]] = None,
    overwrite: bool = False,
) -> tuple[Path, Found]:
    """Write a commented run configuration for the inputs in ``folder`` (see
    :func:`discover`); returns its path and what was found (``notes``: what was decided and
    why; ``warnings``: what the user should look at).

    ``name``: the run name (the ISO 3166-1 alpha-3 code of the country, e.g. "KEN"); without
    it the file prefix of the FAO stacks (or the prepared configuration's name) is used, with a
    warning, and with neither it is a :class:`~gsocseq.config.ConfigError`. ``mode``:
    "rothamsted" (default) or "fao-v1.2" (default: a prepared configuration's). ``config``: where
    to write (default ``{name}_gsocseq.toml`` in the project folder: see :func:`discover`); an
    existing file (the configuration, a series resampled before) is kept unless ``overwrite``:
    an :class:`~gsocseq.rasters.InputError` before anything is written.
    """
    found = discover(folder)
    if mode is None:
        mode = str(found.extra.get("run", {}).get("mode", "rothamsted"))
    if mode not in MODES:
        raise ConfigError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    if name is None:
        if not found.name:
            raise ConfigError(
                f"{folder}: no run name found in the file names; give the ISO 3166-1 alpha-3 "
                "code of the country: gsocseq init FOLDER --name ISO3 (e.g. --name KEN)"
            )
        name = found.name
        found.warnings.append(
            f"run name {name!r} taken from the file names; FAO names every layer with the "
            "ISO 3166-1 alpha-3 code of the country (--name ISO3)"
            if not is_iso3(name)
            else f"run name {name!r} taken from the file names (--name to choose another)"
        )
    elif not is_iso3(name):
        found.warnings.append(
            f"run name {name!r} is not an ISO 3166-1 alpha-3 code (three capital letters such as "
            "KEN): the national layers are named with it; gsocseq export --fao ISO3 names the "
            "FAO delivery"
        )
    if config is None:
        path = found.root / f"{name}_gsocseq.toml"
    else:
        path = Path(config)
    if path.exists() and not overwrite:
        raise InputError(f"{path}: exists already (use --overwrite to replace it)")
    base = path.resolve().parent
    for source in found.resample.values():
        if (base / RESAMPLED / source.name).exists() and not overwrite:
            raise InputError(
                f"{base / RESAMPLED / source.name}: exists already (use --overwrite to replace "
                "it, or -o to write the configuration into another folder)"
            )
    output = "OUTPUTS/gsocseq" if found.kind == "fao" else "out"
    text = _config_text(found, base, name, mode, output)
    try:  # the configuration must be one that run and validate accept
        from_dict(parse_toml(text, path), base_dir=base)
    except ConfigError as exc:  # pragma: no cover - a defect of init itself
        raise ConfigError(f"gsocseq init wrote a configuration it cannot read: {exc}") from None
    # a full disk (or a quota, a read-only folder): exit 2 naming the folder and the space
    # needed, and nothing new left (it was a traceback, exit 1, and a series resampled before
    # the failure made the same command refuse: "exists already")
    written: list[Path] = []
    tmp = path.with_name(f".{path.name}.part")
    folder = base / RESAMPLED
    made = not folder.exists()
    try:
        with write_errors(base, lambda: _init_bytes(found), "gsocseq init", ""):
            if found.resample:
                folder.mkdir(parents=True, exist_ok=True)
                master = found.inputs["spinup_stack"].path
                for source in found.resample.values():
                    target = folder / source.name
                    with gdal_writes(target):
                        _resample_onto(source, master, target)
                    written.append(target)
            base.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
    except BaseException:
        for leftover in [tmp] + ([] if overwrite else written):
            leftover.unlink(missing_ok=True)
        if made and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise
    return path, found


def _init_bytes(found: Found) -> int:
    """About the space init needs: the series it resamples, as float32 on the stacks' grid."""
    if not found.resample:
        return 1 << 16
    with rasterio.open(found.inputs["spinup_stack"].path) as m:
        pixels = m.width * m.height
    total = 0
    for source in found.resample.values():
        with rasterio.open(source) as src:
            total += 4 * pixels * src.count
    return total + (1 << 16)
