"""The ``[prepare]`` table: keys, climate variables and years, checked (docs/prepare.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from gsocseq.config import check_keys, read_toml, resolve_path, typed
from gsocseq.errors import ConfigError

RUN_CONFIG = "gsocseq.toml"
REPORT = "prepare_report.md"
#: Tiles of the rasters written, pixels a side ([prepare] tile_size, --tile-size): the run's
#: default block size, so that a block decodes each tile of a band once. Smaller tiles suit
#: smaller memory budgets (docs/scaling.md, "Memory").
DEFAULT_TILE_SIZE = 256


PREPARE_KEYS = (
    "name", "output", "aoi", "aoi_layer", "soc", "soc_scale", "clay", "clay_depths",
    "clay_scale", "sand", "sand_depths", "sand_scale", "silt", "silt_depths", "silt_scale",
    "bulk_density", "bulk_density_depths", "bulk_density_scale", "organic_carbon",
    "organic_carbon_depths", "organic_carbon_scale", "ec", "ec_scale", "land_use",
    "land_use_table", "cover", "cover_scale", "cover_ndvi", "ndvi_threshold", "ndvi_scale",
    "cover_defaults",
    "climate", "run", "classes", "scenarios", "exclusions", "checks", "quicklooks", "overwrite",
    "tile_size",
)  # fmt: skip
CLIMATE_KEYS = (
    "source", "tmax", "tmin", "temperature", "precipitation", "pet", "spinup_years",
    "warmup_years", "coastal_fill_km",
)  # fmt: skip


VARIABLE_KEYS = ("path", "scale", "offset", "variable", "units", "first_year")
#: default NetCDF variable names per source and quantity
NC_VARIABLES = {
    "terraclimate": {"tmax": "tmax", "tmin": "tmin", "precipitation": "ppt", "pet": "pet"},
    "cru": {"temperature": "tmp", "precipitation": "pre", "pet": "pet"},
}


@dataclass
class Variable:
    """One climate variable: file template(s), scale/offset when the file has none, NetCDF
    variable name, units (PET: ``mm/day`` or ``mm/month``) and first year of GeoTIFF series."""

    key: str
    paths: list[str]
    scale: Optional[float] = None
    offset: float = 0.0
    variable: Optional[str] = None
    units: Optional[str] = None
    first_year: Optional[int] = None


@dataclass
class Settings:
    """The validated [prepare] table; paths resolved against the configuration's folder."""

    base: Path
    name: str
    output: Path
    table: dict[str, Any]
    climate: dict[str, Any]
    source: str
    variables: dict[str, Variable]
    spinup: tuple[int, int]
    warmup: tuple[int, int]
    coastal_fill_km: float
    overwrite: bool
    quicklooks: bool
    tile_size: int = DEFAULT_TILE_SIZE

    def path(self, value: str) -> Path:
        return resolve_path(self.base, value, "[prepare]")


def _read_config(config: Union[str, os.PathLike, Mapping[str, Any]]) -> tuple[dict, Path]:
    if isinstance(config, Mapping):
        data = dict(config)
        base = Path(".").resolve()
    else:
        path = Path(config)
        data = read_toml(path)
        base = path.resolve().parent
    if "prepare" in data:
        check_keys(data, ("prepare",), "configuration")
        data = data["prepare"]
    if not isinstance(data, Mapping):
        raise ConfigError("[prepare]: expected a table")
    return dict(data), base


def _years(value: Any, where: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(f"{where}: expected [first, last] years, got {value!r}")
    a, b = (typed(v, int, where) for v in value)
    if b < a:
        raise ConfigError(f"{where}: last year {b} is before the first {a}")
    return a, b


def _variable(key: str, value: Any, where: str) -> Variable:
    if isinstance(value, (str, list)):
        value = {"path": value}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a file name, a list of files or a table")
    check_keys(value, VARIABLE_KEYS, where)
    if "path" not in value:
        raise ConfigError(f"{where}: missing 'path'")
    raw = value["path"]
    paths = [raw] if isinstance(raw, str) else raw
    if not isinstance(paths, list) or not paths:
        raise ConfigError(f"{where}.path: expected a file name or a list of file names")
    paths = [typed(p, str, f"{where}.path") for p in paths]
    units = value.get("units")
    if units is not None and units not in ("mm/day", "mm/month"):
        raise ConfigError(f'{where}.units: expected "mm/day" or "mm/month", got {units!r}')
    return Variable(
        key=key,
        paths=paths,
        scale=typed(value["scale"], float, f"{where}.scale") if "scale" in value else None,
        offset=typed(value.get("offset", 0.0), float, f"{where}.offset"),
        variable=typed(value["variable"], str, f"{where}.variable")
        if "variable" in value
        else None,
        units=units,
        first_year=(
            typed(value["first_year"], int, f"{where}.first_year")
            if "first_year" in value
            else None
        ),
    )


def tile_size(value: Any, where: str) -> int:
    """A tile size checked: a multiple of 16 (GeoTIFF tiles) from 16 to 4096 pixels."""
    size = typed(value, int, where)
    if size % 16 or not 16 <= size <= 4096:
        raise ConfigError(
            f"{where}: expected a multiple of 16 from 16 to 4096 pixels (GeoTIFF tiles; "
            f"{DEFAULT_TILE_SIZE} by default, 64 or 128 for --memory 256M), got {size}"
        )
    return size


def read_settings(
    config: Union[str, os.PathLike, Mapping[str, Any]],
    overwrite: bool,
    tile: Optional[int] = None,
) -> Settings:
    """The [prepare] table of ``config`` checked; ``overwrite`` and ``tile`` (--tile-size,
    checked first) given on the command line override the table's."""
    tile = None if tile is None else tile_size(tile, "--tile-size")
    table, base = _read_config(config)
    check_keys(table, PREPARE_KEYS, "[prepare]")
    for key in ("soc", "clay", "land_use", "climate"):
        if key not in table:
            raise ConfigError(f"[prepare]: missing {key!r}")
    covers = [k for k in ("cover", "cover_ndvi", "cover_defaults") if k in table]
    if len(covers) != 1:
        raise ConfigError(
            "[prepare]: give exactly one of cover (NDVI proportions), cover_ndvi (raw NDVI "
            f"stacks) or [prepare.cover_defaults] (found {covers or 'none'})"
        )
    name = typed(table.get("name", "GSOCseq"), str, "[prepare].name")
    if not name or any(c in name for c in '/\\:*?"<>|'):
        raise ConfigError(f"[prepare].name: {name!r} cannot be a file name prefix")
    output = resolve_path(
        base, typed(table.get("output", "prepared"), str, "[prepare].output"), "[prepare].output"
    )
    climate = table["climate"]
    if not isinstance(climate, Mapping):
        raise ConfigError("[prepare.climate]: expected a table")
    check_keys(climate, CLIMATE_KEYS, "[prepare.climate]")
    source = typed(climate.get("source", "terraclimate"), str, "[prepare.climate].source")
    if source not in NC_VARIABLES:
        raise ConfigError(
            f'[prepare.climate].source: expected "terraclimate" or "cru", got {source!r}'
        )
    if source == "terraclimate":
        temp = ("temperature",) if "temperature" in climate else ("tmax", "tmin")
        needed: tuple[str, ...] = (*temp, "precipitation", "pet")
    else:
        needed = ("temperature", "precipitation", "pet")
        extra = [k for k in ("tmax", "tmin") if k in climate]
        if extra:
            raise ConfigError(f"[prepare.climate]: {extra[0]} is for TerraClimate; CRU has 'tmp'")
    missing = [k for k in needed if k not in climate]
    if missing:
        raise ConfigError(f"[prepare.climate]: missing {', '.join(missing)} (source {source!r})")
    variables = {k: _variable(k, climate[k], f"[prepare.climate].{k}") for k in needed}
    spinup = _years(climate.get("spinup_years", [1981, 2000]), "[prepare.climate].spinup_years")
    warmup = _years(climate.get("warmup_years", [2001, 2020]), "[prepare.climate].warmup_years")
    fill = typed(climate.get("coastal_fill_km", 10.0), float, "[prepare.climate].coastal_fill_km")
    if fill < 0:
        raise ConfigError(f"[prepare.climate].coastal_fill_km: expected >= 0, got {fill}")
    return Settings(
        base=base,
        name=name,
        output=output,
        table=table,
        climate=dict(climate),
        source=source,
        variables=variables,
        spinup=spinup,
        warmup=warmup,
        coastal_fill_km=fill,
        overwrite=overwrite or typed(table.get("overwrite", False), bool, "[prepare].overwrite"),
        quicklooks=typed(table.get("quicklooks", True), bool, "[prepare].quicklooks"),
        tile_size=(
            tile
            if tile is not None
            else tile_size(table.get("tile_size", DEFAULT_TILE_SIZE), "[prepare].tile_size")
        ),
    )


def file_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: expected a file name or a list of file names, got {value!r}")
