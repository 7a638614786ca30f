"""``gsocseq prepare``: raw downloads to the inputs of a ``gsocseq run`` (docs/prepare.md).

Reads a ``[prepare]`` TOML table naming the raw inputs (SOC map, clay/sand depth layers, ESA CCI
land use, NDVI cover, TerraClimate or CRU climate, an optional area-of-interest polygon), clips
and masks everything to the polygon and the SOC map (the master grid), reprojects/resamples each
input onto that grid, converts units (METHOD.md sections 1, 2, 4, 6) and writes:

- float32 GeoTIFFs in physical units (nodata -999): SOC t C/ha, clay and sand %, EC dS/m, cover
  factor c, the 12-band 1981-2000 climatology (degrees C, mm/month, mm/month), the 12*Y-band
  warm-up series (same units, scale 1), the 1981-2000 mean MIAMI NPP reference in t C/ha/yr
  with its min (T x 1.02, P x 0.95) and max (T x 0.98, P x 1.05) variants;
- the land use as uint8 FAO classes (nodata 255), one band per warm-up year;
- ``gsocseq.toml``, the run configuration (relative paths), ``prepare_report.md`` and one
  quick-look PNG per layer (``quicklook/``, when matplotlib is installed).

Memory: rasters are processed one band at a time on the (clipped) master grid; the climate
series is read, warped and written month by month, never all years at once.

Rooms: :mod:`~gsocseq.prepare.settings` (the [prepare] table), :mod:`~gsocseq.prepare.grid`
(the master grid, warping, writing), :mod:`~gsocseq.prepare.soil`,
:mod:`~gsocseq.prepare.land_use`, :mod:`~gsocseq.prepare.cover`,
:mod:`~gsocseq.prepare.climate`, :mod:`~gsocseq.prepare.summary` (the report, the run
configuration, quick looks); the area of interest is read by :mod:`gsocseq.vectors`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from gsocseq.config import from_dict as _run_config_from_dict
from gsocseq.config import typed
from gsocseq.errors import ConfigError, InputError
from gsocseq.prepare.climate import npp_reference_parts, terraclimate_temperature, write_climate
from gsocseq.prepare.cover import write_cover
from gsocseq.prepare.grid import (
    atomic_writer,
    describe_bands,
    f32,
    master_grid,
    open_source,
    resampling_for,
    warp,
)
from gsocseq.prepare.land_use import write_land_use
from gsocseq.prepare.settings import REPORT, RUN_CONFIG, Settings, read_settings
from gsocseq.prepare.soil import soil_0_30, soil_layer
from gsocseq.prepare.summary import Report, quicklooks, run_config_text

__all__ = [
    "RUN_CONFIG",
    "npp_reference_parts",
    "prepare",
    "soil_0_30",
    "terraclimate_temperature",
]


def prepare(
    config: Union[str, os.PathLike, Mapping[str, Any]],
    *,
    overwrite: bool = False,
    quiet: bool = True,
    tile_size: Optional[int] = None,
) -> Path:
    """Prepare every input of a ``gsocseq run`` from raw downloads (see docs/prepare.md).

    ``config``: a TOML file with a ``[prepare]`` table, or that table (or ``{"prepare": ...}``)
    as a mapping (relative paths then relative to the working directory). Returns the path of
    the written run configuration (``{output}/gsocseq.toml``). ``tile_size``: tiles of the
    rasters written, pixels a side (a multiple of 16; None: ``[prepare] tile_size``, else 256).
    Raises :class:`~gsocseq.config.ConfigError` or :class:`~gsocseq.rasters.InputError`.
    """
    start = time.perf_counter()
    settings = read_settings(config, overwrite, tile_size)

    def say(msg: str) -> None:
        if not quiet:
            print(f"prepare: {msg}", file=sys.stderr, flush=True)

    out = settings.output
    w0, w1 = settings.warmup
    wy = f"{w0}-{w1}"
    sy = f"{settings.spinup[0]}-{settings.spinup[1]}"
    names: dict[str, str] = {
        "soc": "SOC.tif",
        "clay": "Clay.tif",
        "land_use": f"LandUse_{wy}.tif",
        "cover": "Cover.tif",
        "spinup_temperature": f"Temp_{sy}.tif",
        "spinup_precipitation": f"Prec_{sy}.tif",
        "spinup_pet": f"PET_{sy}.tif",
        "warmup_temperature": f"Temp_{wy}.tif",
        "warmup_precipitation": f"Prec_{wy}.tif",
        "warmup_pet": f"PET_{wy}.tif",
        "npp_reference": f"NPP_MIAMI_MEAN_{sy}.tif",
        "npp_reference_min": f"NPP_MIAMI_MEAN_{sy}_MIN.tif",
        "npp_reference_max": f"NPP_MIAMI_MEAN_{sy}_MAX.tif",
    }
    if "sand" in settings.table:
        names["sand"] = "Sand.tif"
    for key, file in SOIL_WATER_FILES.items():
        if key in settings.table:
            names[key] = file
    if "ec" in settings.table:
        names["ec"] = "EC.tif"
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: the output folder is a file")
    _check_inputs_are_not_outputs(settings, config, out, [*names.values(), RUN_CONFIG, REPORT])
    existing = [n for n in (*names.values(), RUN_CONFIG, REPORT) if (out / n).exists()]
    if existing and not settings.overwrite:
        raise InputError(
            f"{out / existing[0]}: already exists (use --overwrite or [prepare] overwrite = true)"
        )
    # everything is written into a folder of its own inside ``out`` and moved into ``out``
    # once complete: a prepare that fails leaves nothing it wrote (nor replaced)
    created = _make_folders(out)
    stage = Path(tempfile.mkdtemp(dir=out, prefix=".gsocseq-prepare-"))
    try:
        _prepare_into(settings, stage, names, say, start)
        _publish(stage, out, [*names.values(), REPORT, RUN_CONFIG])
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    path = out / RUN_CONFIG
    say(f"run configuration {path}")
    return path


def _raw_files(settings: Settings) -> dict[Path, str]:
    """Every file the [prepare] table names (templates expanded over the years and months), by
    its resolved path: the key that names it."""
    first = min(settings.spinup[0], settings.warmup[0])
    years = range(first, max(settings.spinup[1], settings.warmup[1]) + 1)
    found: dict[Path, str] = {}

    def walk(value: Any, where: str) -> None:
        if isinstance(value, str):
            names = {value}
            if "{" in value:
                names = set()
                for y in years:
                    for m in range(1, 13):
                        try:
                            names.add(value.format(year=y, month=m))
                        except (KeyError, IndexError, ValueError):
                            pass
            for name in names:
                try:
                    found.setdefault(settings.path(name), where)
                except ConfigError:
                    pass
        elif isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for v in value:
                walk(v, where)

    walk(settings.table, "[prepare]")
    return found


def _check_inputs_are_not_outputs(
    settings: Settings,
    config: Union[str, os.PathLike, Mapping[str, Any]],
    out: Path,
    written: Sequence[str],
) -> None:
    """:class:`InputError` when a raw input (or the prepare configuration itself) is a file
    that prepare writes into ``out``: ``--overwrite`` would replace the user's own data with
    the prepared layer (a raw SOC map named SOC.tif in the output folder, say)."""
    raw = _raw_files(settings)
    if not isinstance(config, Mapping):
        raw.setdefault(Path(config).resolve(), "the prepare configuration")
    targets = {(out / name).resolve(): name for name in written}
    # the same file under another name: a case-insensitive disk, a hard or symbolic link
    present: dict[tuple[int, int], str] = {}
    for target, name in targets.items():
        try:
            st = target.stat()
        except OSError:
            continue
        present[(st.st_dev, st.st_ino)] = name
    for path, where in raw.items():
        hit = targets.get(path)
        if hit is None and present:
            try:
                st = path.stat()
            except OSError:
                continue
            hit = present.get((st.st_dev, st.st_ino))
        if hit is not None:
            raise InputError(
                f"{path}: {where} is a raw input and also a file prepare writes ({hit} in "
                f"{out}): it would be replaced by the prepared file; choose another output "
                "folder ([prepare] output) or move the raw inputs elsewhere"
            )


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the folders created, outermost first."""
    missing = []
    for f in (folder, *folder.parents):
        if f.exists():
            break
        missing.append(f)
    folder.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def _publish(stage: Path, out: Path, names: Sequence[str]) -> None:
    """Move the prepared files ``names`` (the run configuration last) and the quick looks from
    ``stage`` into ``out``; remove ``stage``. An earlier run configuration in ``out`` goes
    first: a publish stopped between two moves (a signal) leaves no configuration that names
    a mix of earlier and new rasters."""
    (out / RUN_CONFIG).unlink(missing_ok=True)
    looks = stage / "quicklook"
    if looks.is_dir():
        (out / "quicklook").mkdir(exist_ok=True)
        for png in sorted(looks.iterdir()):
            os.replace(png, out / "quicklook" / png.name)
    for name in names:
        os.replace(stage / name, out / name)
    shutil.rmtree(stage)


def _prepare_into(
    settings: Settings, stage: Path, names: Mapping[str, str], say: Any, start: float
) -> None:
    """Write every prepared file into the folder ``stage``."""
    files = {k: stage / v for k, v in names.items()}
    report = Report()

    say("master grid and area of interest")
    grid, soc = master_grid(settings, report)
    with atomic_writer(files["soc"], grid.profile(1)) as dst:
        dst.write(f32(soc, grid.inside), 1)
        describe_bands(dst, ["SOC stock, 0-30 cm"], "t C/ha")
    say("soil")
    for key, units in (("clay", "%"), ("sand", "%"), *SOIL_WATER_UNITS.items()):
        values = soil_layer(settings, grid, report, key, units)
        if values is not None:
            if key in SOIL_WATER_UNITS:
                _check_soil_water(key, values[grid.inside])
            with atomic_writer(files[key], grid.profile(1)) as dst:
                dst.write(f32(values, grid.inside), 1)
                describe_bands(dst, [f"{key} content, 0-30 cm"], "%")
    if "ec" in settings.table:
        p = settings.path(typed(settings.table["ec"], str, "[prepare].ec"))
        scale = typed(settings.table.get("ec_scale", 1.0), float, "[prepare].ec_scale")
        with open_source(p, "EC", bands=1) as ds:
            res = resampling_for(ds, grid, True)
            ec = warp(ds, 1, grid, res) * scale
            crs = ds.crs.to_string()
        with atomic_writer(files["ec"], grid.profile(1)) as dst:
            dst.write(f32(ec, grid.inside), 1)
            describe_bands(dst, ["electrical conductivity"], "dS/m")
        report.layer("ec", [p], crs, res.name, f"x {scale:g}", "dS/m", "exclusion mask input")
    say("land use")
    last_lu = write_land_use(settings, grid, report, files["land_use"])
    say("cover")
    write_cover(settings, grid, report, last_lu, files["cover"])
    say("climate")
    partial = write_climate(settings, grid, report, files)
    for key, n in partial.items():
        if n:
            report.notes.append(f"{names[key]}: {n} pixels valid in some months only set to nodata")
    report.notes.append(
        "exclusions (SOC > 200 t C/ha, sand > 90 %, EC > 4 dS/m) are applied by the run, "
        "[exclusions] of the run configuration"
    )
    config_text = run_config_text(settings, names)
    _check_units(stage, settings, names, config_text)
    if settings.quicklooks:
        say("quick looks")
        quicklooks(stage, names, report)
    _write_text(stage / REPORT, report.text(settings, names, time.perf_counter() - start))
    _write_text(stage / RUN_CONFIG, config_text)


#: the soil layers of the dryland moisture options (ROTHC.md section 8): file, units
SOIL_WATER_FILES = {
    "silt": "Silt.tif",
    "bulk_density": "BulkDensity.tif",
    "organic_carbon": "OrganicCarbon.tif",
}
SOIL_WATER_UNITS = {"silt": "%", "bulk_density": "g/cm3", "organic_carbon": "%"}


def _check_soil_water(key: str, values: np.ndarray) -> None:
    """The median of a prepared soil water layer within its plausible range (the run reads
    these layers with the dryland moisture options only, so prepare checks their unit
    itself): SoilGrids' silt in g/kg, bdod in cg/cm3 and soc in dg/kg need a scale."""
    from gsocseq.inputs import RANGES
    from gsocseq.plausibility import hint

    finite = values[np.isfinite(values)]
    if not finite.size:
        return
    lo, hi, unit = RANGES[key]
    median = float(np.median(finite))
    if lo < median <= hi:
        return
    likely = hint(key, median, lambda f: f"multiply [prepare] {key}_scale by {f:g}", lo, hi)
    raise InputError(
        f"[prepare].{key}: median {median:g} after {key}_scale, expected {lo:g} to {hi:g} "
        f"{unit}" + (f": {likely}" if likely else "")
    )


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


#: the [prepare] keys that set the unit of each prepared quantity
_PREPARE_KEYS = {
    "soc": "[prepare] soc_scale",
    "clay": "[prepare] clay_scale",
    "sand": "[prepare] sand_scale",
    "silt": "[prepare] silt_scale",
    "bulk_density": "[prepare] bulk_density_scale",
    "organic_carbon": "[prepare] organic_carbon_scale",
    "ec": "[prepare] ec_scale",
    "temperature": "the scale of [prepare.climate] tmax and tmin (or temperature)",
    "precipitation": "the scale of [prepare.climate].precipitation",
    "pet": "the scale (or units) of [prepare.climate].pet",
}


def _source(settings: Settings, key: str) -> str:
    """The raw input(s) of the [prepare] table that the prepared layer ``key`` comes from."""

    def files(value: Any) -> str:
        values = value if isinstance(value, list) else [value]
        return ", ".join(str(settings.path(v)) if isinstance(v, str) else repr(v) for v in values)

    quantity = key.rsplit("_", 1)[-1]
    if key.startswith("npp_reference"):
        return "the MIAMI NPP reference of " + ", ".join(
            f"[prepare.climate].{k} ({files(settings.variables[k].paths)})"
            for k in ("tmax", "tmin", "temperature", "precipitation")
            if k in settings.variables
        )
    if quantity in ("temperature", "precipitation", "pet"):
        variables = [quantity]
        if quantity == "temperature" and "temperature" not in settings.variables:
            variables = ["tmax", "tmin"]
        return " and ".join(
            f"[prepare.climate].{k} ({files(settings.variables[k].paths)})" for k in variables
        )
    return f"[prepare].{key} ({files(settings.table.get(key))})"


def _check_units(
    stage: Path, settings: Settings, names: Mapping[str, str], config_text: str
) -> None:
    """The unit plausibility checks of a run (METHOD.md section 2) on the rasters prepared in
    ``stage`` (the files ``names``): a raw input in a wrong unit stops here, named with the
    output folder (the prepared file itself is never written)."""
    from gsocseq import config as run_config
    from gsocseq.survey import check_inputs

    cfg = _run_config_from_dict(run_config.tomllib.loads(config_text), base_dir=stage)

    def fix_for(name: str) -> Any:
        part = name.rsplit("_", 1)[-1]
        key = _PREPARE_KEYS.get(name) or _PREPARE_KEYS.get(part)
        if key is None:
            return lambda factor: f"x{factor:g} (the raw inputs it comes from: see {REPORT})"
        return lambda factor: f"multiply {key} by {factor:g}"

    try:
        check_inputs(cfg, fix_for=fix_for)
    except InputError as exc:
        text = str(exc)
        for key, name in names.items():
            made = f"{_source(settings, key)} as prepared onto the master grid"
            for folder in {str(stage), str(stage.resolve())}:
                text = text.replace(str(Path(folder) / name), made)
        for folder in {str(stage), str(stage.resolve())}:
            text = text.replace(folder, str(settings.output))
        raise InputError(
            f"{text} (nothing was written into {settings.output}: fix the [prepare] table and "
            "prepare again)"
        ) from None
