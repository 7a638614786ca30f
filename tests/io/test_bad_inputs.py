"""The battery of bad inputs: each ends in exit code 2 with a message that names the file (or
key) and what was expected, and leaves nothing in the output folder that looks like a result."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

from gsocseq.cli import main
from gsocseq.pipeline import run
from gsocseq.rasters import InputError
from gsocseq.validate import validate

from ..synthetic import make_area, write

ROWS, COLS = 3, 4


def _path(cfg: dict, key: str) -> str:
    v = cfg["inputs"][key]
    return v["path"] if isinstance(v, dict) else v


def _set(cfg: dict, key: str, band: int, value: float, r: int = 0, c: int = 0) -> str:
    path = _path(cfg, key)
    with rasterio.open(path, "r+") as ds:
        data = ds.read()
        data[band, r, c] = value
        ds.write(data)
    return path


def _replace(cfg: dict, key: str, data: np.ndarray, tmp: Path, **kw) -> str:
    path = str(write(tmp / f"bad_{key}.tif", data, **kw))
    cfg["inputs"][key] = path
    return path


def toml_of(cfg: dict) -> str:
    lines = ["[run]"]
    for k, v in cfg["run"].items():
        lines.append(f"{k} = {json.dumps(v)}" if isinstance(v, str) else f"{k} = {v}")
    lines.append("[inputs]")
    for k, v in cfg["inputs"].items():
        if isinstance(v, dict):
            inner = ", ".join(f"{a} = {b!r}".replace("'", '"') for a, b in v.items())
            lines.append(f"{k} = {{ {inner} }}")
        else:
            lines.append(f'{k} = "{v}"')
    for name, groups in cfg.get("scenarios", {}).items():
        lines.append(f"[scenarios.{name}]")
        lines += [f"{g} = {x}" for g, x in groups.items()]
    if "checks" in cfg:
        lines.append("[checks]")
        lines += [f"{k} = {v}" for k, v in cfg["checks"].items()]
    return "\n".join(lines) + "\n"


#: a case returns what the message must hold: a text, or several
Case = Callable[[dict, Path], "str | tuple[str, ...]"]


def crs(cfg, tmp):
    return _replace(cfg, "clay", np.full((ROWS, COLS), 20.0), tmp, crs="EPSG:32633") and "CRS"


def origin(cfg, tmp):
    _replace(
        cfg,
        "clay",
        np.full((ROWS, COLS), 20.0),
        tmp,
        transform=from_origin(10.003, 50.0, 0.01, 0.01),
    )
    return "origin"


def resolution(cfg, tmp):
    _replace(
        cfg, "clay", np.full((ROWS, COLS), 20.0), tmp, transform=from_origin(10.0, 50.0, 0.02, 0.02)
    )
    return "pixel size"


def shape(cfg, tmp):
    _replace(cfg, "clay", np.full((ROWS + 1, COLS), 20.0), tmp)
    return "shape"


def missing_band(cfg, tmp):
    _replace(cfg, "cover", np.full((11, ROWS, COLS), 0.6), tmp)
    return "has 11 bands, expected 12"


def extra_band(cfg, tmp):
    _replace(cfg, "spinup_pet", np.full((13, ROWS, COLS), 50.0), tmp)
    return "has 13 bands, expected 12"


def series_not_years(cfg, tmp):
    _replace(cfg, "warmup_temperature", np.full((239, ROWS, COLS), 100.0), tmp)
    cfg["inputs"]["warmup_temperature"] = {
        "path": cfg["inputs"]["warmup_temperature"],
        "scale": 0.1,
    }
    return "multiple of 12"


def series_mismatch(cfg, tmp):
    _replace(cfg, "warmup_precipitation", np.full((228, ROWS, COLS), 50.0), tmp)
    return "expected 240"


def lu_too_many_bands(cfg, tmp):
    _replace(cfg, "land_use", np.full((21, ROWS, COLS), 2), tmp, dtype="uint8", nodata=255)
    return "expected 1 to 20"


def nodata_some_months(cfg, tmp):
    return _set(cfg, "warmup_temperature", 30, -999) and "nodata in 1 of 240 bands"


def nan_some_months(cfg, tmp):
    return _set(cfg, "spinup_precipitation", 4, np.nan) and "nodata in 1 of 12 bands"


def value(key, band, v, needle):
    def case(cfg, tmp):
        _set(cfg, key, band, v)
        return needle

    case.__name__ = f"{key}_{v}"
    return case


def _lu_gap(cfg: dict) -> tuple[int, int]:
    """Land use nodata in warm-up year 4 of the first pixel of a modelled class (in 2020)."""
    with rasterio.open(_path(cfg, "land_use"), "r+") as ds:
        lu = ds.read()
        r, c = (int(v[0]) for v in np.nonzero(np.isin(lu[-1], (2, 3, 5, 12, 13))))
        lu[3, r, c] = ds.nodata
        ds.write(lu)
    return r, c


def lu_nodata_some_years(cfg, tmp):
    """METHOD.md 2: land use is an input quantity like the others, nodata in some of its
    bands only is invalid input (was: left out with exit 0, counted as nodata in every band)."""
    r, c = _lu_gap(cfg)
    return f"band 4, row {r}, col {c}", "land use nodata in 1 of 20 warm-up years"


def lu_code(cfg, tmp):
    return _set(cfg, "land_use", 19, 77, 2, 3) and "land-use code 77"


def file_missing(cfg, tmp):
    cfg["inputs"]["clay"] = str(tmp / "nowhere.tif")
    return "file not found"


def directory(cfg, tmp):
    cfg["inputs"]["clay"] = str(tmp)
    return "is a folder"


def empty_file(cfg, tmp):
    (tmp / "empty.tif").write_bytes(b"")
    cfg["inputs"]["clay"] = str(tmp / "empty.tif")
    return "cannot be opened as a raster"


def garbage_file(cfg, tmp):
    (tmp / "garbage.tif").write_bytes(b"II*\x00" + b"\x13" * 500)
    cfg["inputs"]["clay"] = str(tmp / "garbage.tif")
    return "cannot be opened as a raster"


def truncated(cfg, tmp):
    src = Path(_path(cfg, "warmup_precipitation"))
    data = src.read_bytes()
    (tmp / "trunc.tif").write_bytes(data[: len(data) // 2])
    cfg["inputs"]["warmup_precipitation"] = str(tmp / "trunc.tif")
    return "trunc.tif"


def output_under_file(cfg, tmp):
    (tmp / "afile").write_text("x")
    cfg["run"]["output"] = str(tmp / "afile" / "out")
    return "cannot create the output folder"


def typo_run(cfg, tmp):
    cfg["run"]["uncertanty"] = "none"
    return "did you mean 'uncertainty'"


def typo_input(cfg, tmp):
    cfg["inputs"]["clya"] = cfg["inputs"].pop("clay")
    return "did you mean 'clay'"


def negative_increase(cfg, tmp):
    cfg["scenarios"] = {"SSM1": {"crops": -0.05, "grass": 0.05, "paddy": 0.05}}
    return "increase is a fraction >= 0"


def unknown_mode(cfg, tmp):
    cfg["run"]["mode"] = "rothamsted-2"
    return "is not one of rothamsted, fao-v1.2"


def missing_input(cfg, tmp):
    del cfg["inputs"]["cover"]
    return "missing cover"


def bands_out_of_range(cfg, tmp):
    cfg["inputs"]["cover"] = {"path": _path(cfg, "cover"), "bands": "1-13"}
    return "asks for band 13"


def zero_scale(cfg, tmp):
    cfg["inputs"]["clay"] = {"path": _path(cfg, "clay"), "scale": 0.0}
    return "must not be 0"


def zero_years(cfg, tmp):
    cfg["run"]["years"] = 0
    return "[run].years"


def odd_block(cfg, tmp):
    cfg["run"]["block_size"] = 100
    return "multiple of 16"


def bad_threads(cfg, tmp):
    cfg["run"]["threads"] = -1
    return "[run].threads"


def wrong_type(cfg, tmp):
    cfg["run"]["qa_mask"] = "yes"
    return "expected true or false"


def uncertainty_raster(cfg, tmp):
    cfg["inputs"]["soc_uncertainty"] = _replace(
        cfg, "soc_uncertainty", np.full((ROWS, COLS), 150.0), tmp
    )
    return "soc_uncertainty = 150, expected 0 to 100"


# -- unit plausibility (METHOD.md 2): wrong units caught before any computation ----------------


def _scale_file(cfg: dict, key: str, factor: float) -> str:
    path = _path(cfg, key)
    with rasterio.open(path, "r+") as ds:
        ds.write(ds.read() * factor)
    return path


def _fill(cfg: dict, key: str, value: float) -> str:
    path = _path(cfg, key)
    with rasterio.open(path, "r+") as ds:
        ds.write(np.full((ds.count, ds.height, ds.width), value, dtype=ds.dtypes[0]))
    return path


def soc_kg_per_m2(cfg, tmp):
    _scale_file(cfg, "soc", 0.1)  # kg C/m2: plausible numbers, 10x too small
    return "kg C/m2? GSOCseq needs t C/ha (x10: set scale = 10 on input 'soc')"


def pet_terraclimate_unscaled(cfg, tmp):
    cfg["inputs"]["warmup_pet"] = _path(cfg, "warmup_pet")  # scale = 0.1 forgotten
    return "TerraClimate stores PET x10 (x0.1: set scale = 0.1 on input 'warmup_pet')"


def precipitation_x100(cfg, tmp):
    _scale_file(cfg, "warmup_precipitation", 100)
    return "stored x100? (x0.01: set scale = 0.01 on input 'warmup_precipitation')"


def npp_1e30(cfg, tmp):
    _set(cfg, "npp_reference", 0, 1e30, 1, 1)
    return "npp.tif: band 1, row 1, col 1"


def npp_1e308(cfg, tmp):
    path = _path(cfg, "npp_reference")
    with rasterio.open(path) as ds:
        data = ds.read().astype(np.float64)
    data[0, 2, 3] = 1e308
    _replace(cfg, "npp_reference", data[0], tmp, dtype="float64")
    return "npp_reference = 1e+308, expected 0 to 50 t C/ha/yr ([checks] npp_max)"


def precipitation_1e30(cfg, tmp):
    _set(cfg, "warmup_precipitation", 100, 1e30, 2, 2)
    return "warmup_precipitation = 1e+30, expected 0 to 3000 mm/month"


def temperature_median(cfg, tmp):
    _fill(cfg, "spinup_temperature", 50.0)  # every month plausible, the year is not
    return "median annual mean 50 degrees C is above 45 degrees C"


def pet_median(cfg, tmp):
    _fill(cfg, "spinup_pet", 400.0)  # every month plausible, 4,800 mm a year is not
    return "spinup_pet median annual sum 4,800 mm is above 4,000 mm"


def clay_g_per_kg(cfg, tmp):
    _scale_file(cfg, "clay", 10)
    return "g/kg? GSOCseq needs % (x0.1: set scale = 0.1 on input 'clay')"


def cover_percent(cfg, tmp):
    _scale_file(cfg, "cover", 100)
    return "NDVI share in %?"


def clay_fraction(cfg, tmp):
    _scale_file(cfg, "clay", 0.01)
    return "a fraction? GSOCseq needs % (x100: set scale = 100 on input 'clay')"


def temperature_kelvin(cfg, tmp):
    cfg["inputs"]["spinup_temperature"] = {"path": _path(cfg, "spinup_temperature")}
    path = _path(cfg, "spinup_temperature")
    with rasterio.open(path, "r+") as ds:
        ds.write(ds.read() + 273.15)
    return "or kelvin? (offset = -273.15)"


def precipitation_in_metres(cfg, tmp):
    # every precipitation input in m: plausible monthly values, no period 10x another
    _scale_file(cfg, "spinup_precipitation", 0.001)
    _scale_file(cfg, "warmup_precipitation", 0.001)
    return (
        "is below 10 mm ([checks] precipitation_median_min): m? GSOCseq needs mm a month "
        "(x1000: set scale = 1000 on input 'spinup_precipitation')"
    )


def pet_per_day(cfg, tmp):
    _scale_file(cfg, "spinup_pet", 1 / 30)
    return (
        "is below 100 mm ([checks] pet_median_min): mm a day? GSOCseq needs mm a month, about "
        "30.4 days each (x30.4: set scale = 30.4 on input 'spinup_pet')"
    )


def warmup_temperature_scaled_twice(cfg, tmp):
    # the series already in degrees C, scale = 0.1 kept: every value plausible, 10x too cold
    _scale_file(cfg, "warmup_temperature", 0.1)
    path = _path(cfg, "warmup_temperature")
    return (
        f"{path}: warmup_temperature reads 1/",
        f" of spinup_temperature ({_path(cfg, 'spinup_temperature')}): largest |monthly mean|",
        "likely x10 on warmup_temperature: set scale = 1 on input 'warmup_temperature'",
    )


def warmup_precipitation_scaled_like_temperature(cfg, tmp):
    # TerraClimate stores T and PET x10, precipitation in mm: scale = 0.1 copied to it
    path = _path(cfg, "warmup_precipitation")
    cfg["inputs"]["warmup_precipitation"] = {"path": path, "scale": 0.1}
    return (
        "warmup_precipitation reads 1/",
        " of spinup_precipitation",
        "[checks] period_ratio_max",
        "set scale = 1 on input 'warmup_precipitation'",
    )


def _by_month(cfg: dict, key: str) -> str:
    """Rewrite a 12*Y-band series month by month (all years of January first)."""
    path = _path(cfg, key)
    with rasterio.open(path, "r+") as ds:
        data = ds.read()
        years = ds.count // 12
        ds.write(data.reshape(years, 12, *data.shape[1:]).swapaxes(0, 1).reshape(data.shape))
    return path


def warmup_temperature_by_month(cfg, tmp):
    # every value, median and range as before: only the order of the bands is wrong
    path = _by_month(cfg, "warmup_temperature")
    return (
        f"{path}: warmup_temperature (240 bands) looks stored month by month",
        "[checks] series_order_ratio = 10",
        "gdal_translate -b 1 -b 21 -b 41 ... -b 221 -b 2 -b 22",
    )


def warmup_precipitation_by_month(cfg, tmp):
    path = _by_month(cfg, "warmup_precipitation")
    return f"{path}: warmup_precipitation (240 bands) looks stored month by month"


def spinup_precipitation_per_day(cfg, tmp):
    _scale_file(cfg, "spinup_precipitation", 1 / 30)
    return (
        " times spinup_precipitation",
        "likely x30.4 on spinup_precipitation: set scale = 30.4 on input 'spinup_precipitation';",
    )


def uncertainty_fraction(cfg, tmp):
    # 0.2 for 20 %: within 0-100 %, and every uncertainty layer 100 times too narrow
    cfg["inputs"]["clay_uncertainty"] = _replace(
        cfg, "clay_uncertainty", np.full((ROWS, COLS), 0.1), tmp
    )
    return (
        "clay_uncertainty median 0.1 % is below 1 % ([checks] uncertainty_median_min): a "
        "fraction (0.2 for 20 %)? GSOCseq needs % (x100: set scale = 100 on input "
        "'clay_uncertainty')"
    )


def sand_fraction(cfg, tmp):
    # within 0-100 %, and the exclusion rule sand > 90 % would exclude nothing
    cfg["inputs"]["sand"] = _replace(cfg, "sand", np.full((ROWS, COLS), 0.95), tmp)
    return "sand median 0.95 % is below 1 % ([checks] sand_median_min): a fraction?"


def spinup_class_without_coefficients(cfg, tmp):
    # bare soil (9) has no DPM/RPM nor NPP coefficient: every result was NaN, with exit 0
    path = _replace(cfg, "spinup_land_use", np.full((ROWS, COLS), 9.0), tmp)
    return (
        f"{path}: band 1, row 0, col 0",
        "spin-up class 9 has no coefficients (the spin-up needs its DPM/RPM ratio and NPP "
        "coefficient; classes with coefficients: 2, 3, 4, 5, 6, 8, 12, 13)",
    )


def spinup_class_fractional(cfg, tmp):
    # 2.5 was read as class 2
    _replace(cfg, "spinup_land_use", np.full((ROWS, COLS), 2.5), tmp)
    return "land-use code 2.5 is not in the FAO class table"


def scenario_named_t0(cfg, tmp):
    # its final-stock uncertainty layer was T0_UncertaintyMap030: one of the two written over
    cfg["scenarios"] = {"T0": {"crops": 0.3}}
    return (
        "[scenarios]: the layer of uncertainty of the t0 stock and that of uncertainty of the "
        "final T0 stock would be one file, TST_GSOCseq_T0_UncertaintyMap030.tif"
    )


def scenario_names_differing_in_case(cfg, tmp):
    # one file on Windows and macOS
    cfg["scenarios"] = {"SSM1": {"crops": 0.1}, "ssm1": {"crops": 0.2}}
    return "would be one file, TST_GSOCseq_finalSOC_SSM1_Map030.tif (file names compare"


def scale_nan(cfg, tmp):
    # nan is a TOML number: every value NaN, so every pixel nodata (exit 0, empty layers)
    cfg["inputs"]["soc"] = {"path": _path(cfg, "soc"), "scale": float("nan")}
    return "[inputs].soc.scale: expected a number, got nan"


def offset_inf(cfg, tmp):
    cfg["inputs"]["clay"] = {"path": _path(cfg, "clay"), "offset": float("inf")}
    return "[inputs].clay.offset: expected a finite number, got inf"


def cover_vegetated_share(cfg, tmp):
    _fill(cfg, "cover", 0.3)
    return "the vegetated share P_veg instead of the cover factor?"


def precipitation_x100_first_value_fits_x10(cfg, tmp):
    # the first value beyond 3,000 would fit x10 (4,990 -> 499), the file as a whole only x100
    path = _scale_file(cfg, "spinup_precipitation", 100)
    with rasterio.open(path, "r+") as ds:
        data = ds.read()
        data[:, 0, 0] = np.linspace(4000, 4990, 12)
        data[5, 2, 3] = 38_000.0
        ds.write(data)
    return "stored x100? (x0.01: set scale = 0.01 on input 'spinup_precipitation')"


def undeclared_nodata_9999(cfg, tmp):
    _set(cfg, "soc", 0, -9999.0, 1, 2)  # a -9999 fill whose nodata value is not declared
    return "soc = -9999, expected 0 to 800 t C/ha: an undeclared nodata value or a broken file?"


def undeclared_nodata_65535(cfg, tmp):
    path = _path(cfg, "clay")
    with rasterio.open(path) as ds:
        clay = np.round(ds.read(1))
    clay[2, 1] = 65535
    _replace(cfg, "clay", clay, tmp, dtype="uint16", nodata=None)
    return "clay = 65535, expected 0 to 100 %: an undeclared nodata value"


def soc_kg_per_ha(cfg, tmp):
    _scale_file(cfg, "soc", 1000)
    return "kg C/ha? GSOCseq needs t C/ha (x0.001: set scale = 0.001 on input 'soc')"


def soc_g_per_m2(cfg, tmp):
    _scale_file(cfg, "soc", 100)
    return "g C/m2? GSOCseq needs t C/ha (x0.01: set scale = 0.01 on input 'soc')"


def soc_percent(cfg, tmp):
    _scale_file(cfg, "soc", 1 / 40)  # a concentration in %, not a stock
    return "or a concentration (% or g/kg) instead of a stock?"


def precipitation_genuine_extreme(cfg, tmp):
    _set(cfg, "spinup_precipitation", 6, 3100.0, 1, 1)  # a monsoon month beyond the default
    return "if the value is right, raise [checks] precipitation_max"


def ec_negative(cfg, tmp):
    cfg["inputs"]["ec"] = _replace(cfg, "ec", np.full((ROWS, COLS), -1.0), tmp)
    return "ec = -1, expected 0 or more dS/m"


def ec_micro_siemens(cfg, tmp):
    # EC in uS/cm: plausible numbers of dS/m to the range, every pixel above the 4 dS/m exclusion
    ec = np.linspace(300.0, 2500.0, ROWS * COLS).reshape(ROWS, COLS)
    cfg["inputs"]["ec"] = _replace(cfg, "ec", ec, tmp)
    return "ec median 1,500 dS/m is above 50 dS/m ([checks] ec_median_max): uS/cm (x0.001)"


def checks_typo(cfg, tmp):
    cfg["checks"] = {"soc_median_mn": 5}
    return "did you mean 'soc_median_min'"


def checks_inverted(cfg, tmp):
    cfg["checks"] = {"temperature_min": 70}
    return "temperature_min (70) must be below temperature_max (60)"


# -- the right culprit, and tracebacks turned into errors -----------------------------------


def warmup_temperature_12_bands(cfg, tmp):
    path = _replace(cfg, "warmup_temperature", np.full((12, ROWS, COLS), 150.0), tmp)
    cfg["inputs"]["warmup_temperature"] = {"path": path, "scale": 0.1}
    return f"{path}: input 'warmup_temperature' has 12 bands, expected 240"


def every_series_one_year(cfg, tmp):
    # the three series of one year against 20 years of land use: both sides named
    for key in ("warmup_temperature", "warmup_precipitation", "warmup_pet"):
        with rasterio.open(_path(cfg, key)) as ds:
            first = ds.read()[:12]
        path = _replace(cfg, key, first, tmp)
        if key != "warmup_precipitation":
            cfg["inputs"][key] = {"path": path, "scale": 0.1}
    return "hold 12 bands, 1 year(s): if the land use is right, the series are short"


def complex_raster(cfg, tmp):
    path = _replace(cfg, "clay", np.full((ROWS, COLS), 20 + 0j), tmp, dtype="complex64")
    return f"{path}: input 'clay' holds complex numbers (complex64)"


def nul_in_name(cfg, tmp):
    cfg["run"]["name"] = "TST\x00X"
    return "[run].name: 'TST\\x00X' cannot be a file name prefix"


def output_symlink_loop(cfg, tmp):
    os.symlink(tmp / "loop_b", tmp / "loop_a")
    os.symlink(tmp / "loop_a", tmp / "loop_b")
    cfg["run"]["output"] = str(tmp / "loop_a")
    return "[run].output"


CASES: list[Case] = [
    crs,
    origin,
    resolution,
    shape,
    missing_band,
    extra_band,
    series_not_years,
    series_mismatch,
    lu_too_many_bands,
    nodata_some_months,
    nan_some_months,
    lu_nodata_some_years,
    value("soc", 0, -5.0, "soc = -5, expected 0 to 800"),
    value("soc", 0, 900.0, "soc = 900"),
    value("clay", 0, 150.0, "clay = 150, expected 0 to 100"),
    value("clay", 0, -1.0, "clay = -1"),
    value("spinup_temperature", 3, 70.0, "spinup_temperature = 70, expected -60 to 60"),
    value("spinup_precipitation", 3, -4.0, "spinup_precipitation = -4"),
    value("spinup_pet", 3, -1.0, "spinup_pet = -1"),
    value("cover", 5, 0.3, "cover = 0.3"),
    value("cover", 5, 1.5, "cover = 1.5"),
    value("npp_reference", 0, -2.0, "npp_reference = -2"),
    value("warmup_temperature", 100, np.inf, "warmup_temperature = inf"),
    value("warmup_pet", 100, -np.inf, "warmup_pet = -inf"),
    lu_code,
    file_missing,
    directory,
    empty_file,
    garbage_file,
    truncated,
    output_under_file,
    typo_run,
    typo_input,
    negative_increase,
    unknown_mode,
    missing_input,
    bands_out_of_range,
    zero_scale,
    zero_years,
    odd_block,
    bad_threads,
    wrong_type,
    uncertainty_raster,
    soc_kg_per_m2,
    pet_terraclimate_unscaled,
    precipitation_x100,
    npp_1e30,
    npp_1e308,
    precipitation_1e30,
    temperature_median,
    pet_median,
    clay_g_per_kg,
    cover_percent,
    clay_fraction,
    temperature_kelvin,
    cover_vegetated_share,
    precipitation_in_metres,
    pet_per_day,
    warmup_temperature_scaled_twice,
    warmup_precipitation_scaled_like_temperature,
    spinup_precipitation_per_day,
    warmup_temperature_by_month,
    warmup_precipitation_by_month,
    uncertainty_fraction,
    sand_fraction,
    spinup_class_without_coefficients,
    spinup_class_fractional,
    scenario_named_t0,
    scenario_names_differing_in_case,
    scale_nan,
    offset_inf,
    precipitation_x100_first_value_fits_x10,
    undeclared_nodata_9999,
    undeclared_nodata_65535,
    soc_kg_per_ha,
    soc_g_per_m2,
    soc_percent,
    precipitation_genuine_extreme,
    ec_negative,
    ec_micro_siemens,
    checks_typo,
    checks_inverted,
    warmup_temperature_12_bands,
    every_series_one_year,
    complex_raster,
    nul_in_name,
    output_symlink_loop,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input(tmp_path, case):
    cfg = make_area(tmp_path / "in", rows=ROWS, cols=COLS, seed=31)
    out = tmp_path / "out"
    cfg["run"]["output"] = str(out)
    needle = case(cfg, tmp_path)
    needle, *more = (needle,) if isinstance(needle, str) else needle  # all in the message
    toml = tmp_path / "run.toml"
    toml.write_text(toml_of(cfg))
    res = CliRunner().invoke(main, ["run", str(toml), "-q"])
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert res.output.startswith("Error: ") and needle in res.output, res.output
    for text in more:
        assert text in res.output, (text, res.output)
    assert "Traceback" not in res.output
    if out.exists():
        results = [p.name for p in out.iterdir() if not p.name.startswith(".")]
        assert results == [], results


def test_battery_is_large_enough():
    assert len(CASES) >= 30


def test_invalid_toml_and_missing_config(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nname = 1\n")
    res = CliRunner().invoke(main, ["run", str(bad), "-q"])
    assert res.exit_code == 2 and "not valid TOML" in res.output
    res = CliRunner().invoke(main, ["run", str(tmp_path / "none.toml"), "-q"])
    assert res.exit_code == 2 and "configuration file not found" in res.output


def test_a_scale_declared_in_the_files_metadata_is_not_read_past(tmp_path):
    """Rainfall stored as int16 x 10 with GDAL scale 0.1 in its metadata, in a dry area: every
    value and median is plausible read as stored (500 mm a month, the two periods alike), so
    the run computed with 10 times the rainfall, exit 0. gsocseq applies the configuration's
    scale only: the file's own is named, with the setting that applies it."""
    cfg = make_area(tmp_path / "in", rows=4, cols=5, seed=3)
    for key in ("spinup_precipitation", "warmup_precipitation"):
        path = Path(cfg["inputs"][key])
        with rasterio.open(path) as ds:
            profile, data = ds.profile, ds.read()
        dry = np.where(data == profile["nodata"], -32768, np.round(data / 4 * 10))
        profile.update(dtype="int16", nodata=-32768)
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(dry.astype("int16"))
            ds.scales = (0.1,) * ds.count
    res = _cli(tmp_path, cfg, "validate")
    assert res.exit_code == 2, res.output
    assert (
        "input 'spinup_precipitation' declares scale 0.1 and offset 0 in its metadata"
        in (res.output)
        and "scale = 0.1 }" in res.output
    )
    for key in ("spinup_precipitation", "warmup_precipitation"):
        cfg["inputs"][key] = {"path": cfg["inputs"][key], "scale": 0.1}
    _miami_reference(cfg, precipitation_scale=0.1)  # the dry area's NPP
    res = _cli(tmp_path, cfg, "validate")
    assert res.exit_code == 0, res.output


def test_pixels_left_out_for_nodata_are_named_in_a_warning(tmp_path):
    """A soc_uncertainty raster with holes took those pixels out of every layer, with exit 0
    and a count in run.json only; the warning names the input, its file and how many."""
    cfg = make_area(tmp_path / "in", rows=4, cols=5, seed=3)
    with rasterio.open(cfg["inputs"]["soc"]) as ds:
        transform = ds.transform
    holes = np.full((4, 5), 25.0)
    holes[:, :2] = -999.0
    cfg["inputs"]["soc_uncertainty"] = str(
        write(tmp_path / "u.tif", holes, transform=transform, nodata=-999.0)
    )
    summary = run(cfg)
    n = summary.counts["nodata:soc_uncertainty"]
    assert n > 0
    assert any(
        w.startswith("pixels of a modelled class not modelled for nodata")
        and f"soc_uncertainty {n:,} (u.tif)" in w
        for w in summary.warnings
    ), summary.warnings


def test_pixels_of_the_area_without_land_use_are_named(tmp_path):
    """A land-use raster covering part of the area (nodata over the SOC map's last columns):
    prepare's report counted those pixels, the run summary, validate and the report said
    nothing (exit 0, a country partly unmodelled). Now they are counted (no land use; the
    classes not modelled), the run warns naming the files, and the report says it."""
    pytest.importorskip("matplotlib")
    cfg = make_area(tmp_path / "in", rows=5, cols=6, seed=3)
    path = cfg["inputs"]["land_use"]
    with rasterio.open(path, "r+") as ds:
        lu = ds.read()
        lu[:, :, 4:] = 255  # the land use stops two columns short of the SOC map
        ds.write(lu)
    last = lu[-1]
    unmodelled = {c: int((last[:, :4] == c).sum()) for c in (1, 4)}
    assert all(unmodelled.values())
    summary = run(cfg)
    assert summary.counts["area:no_land_use"] == 10
    assert {c: summary.counts.get(f"area:class_{c}", 0) for c in (1, 4)} == unmodelled
    warning = next(w for w in summary.warnings if "have no land use" in w)
    assert warning.startswith("10 pixels of the area (SOC has a value in soc.tif)")
    assert "lu.tif (band 20, 2020)" in warning and "extent" in warning
    text = validate(cfg)
    assert "not modelled: no land use: 10" in text and f"4 tree covered: {unmodelled[4]}" in text
    res = CliRunner().invoke(main, ["report", cfg["run"]["output"], "-o", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert re.search(r"not modelled: no land use 10 .* land use \(in \S*lu.tif\) is nodata", plain)
    assert "10 pixels of the area (SOC has a value in soc.tif) have no land use" in plain


def test_land_use_nodata_in_some_years_is_masked_as_invalid(tmp_path):
    """With invalid = "mask" such a pixel is not modelled and counted as invalid land use."""
    cfg = make_area(tmp_path / "in", rows=ROWS, cols=COLS, seed=31)
    cfg["run"].update(output=str(tmp_path / "out"), invalid="mask", uncertainty="none")
    r, c = _lu_gap(cfg)
    summary = run(cfg)
    assert summary.counts["invalid:land_use"] == 1 and "nodata:land_use" not in summary.counts
    with rasterio.open(tmp_path / "out" / f"{cfg['run']['name']}_GSOCseq_T0_Map030.tif") as ds:
        t0 = ds.read(1)
    assert t0[r, c] == -999 and (t0 != -999).sum() == summary.counts["modelled"]


def test_exclusion_rules_without_their_input_are_not_reported_as_applied(tmp_path):
    """No sand or EC raster (an FAO folder's configuration): the run summary listed "sand > 90
    %, EC > 4 dS/m" among the rules applied and the report said such pixels were left out of
    the national layers; no pixel was tested against them. Now they are named as not applied
    (run summary, a warning, the report's methods)."""
    from gsocseq.methods import methods

    cfg = make_area(tmp_path / "in", rows=4, cols=5, seed=3)
    summary = run(cfg)
    ex = summary.options["exclusions"]
    assert ex["rules"] == ["SOC > 200 t C/ha"]
    assert ex["not_applied"] == ["sand > 90 % (no sand input)", "EC > 4 dS/m (no ec input)"]
    assert any(
        w.startswith(
            "exclusion rules not applied, their input not given: sand > 90 % ([inputs] "
            "sand), EC > 4 dS/m ([inputs] ec)"
        )
        for w in summary.warnings
    ), summary.warnings
    row = dict(methods(summary.to_dict()))["exclusions"]
    assert row.startswith("SOC > 200 t C/ha: modelled, left out")
    assert row.endswith("not applied: sand > 90 % (no sand input), EC > 4 dS/m (no ec input)")
    # with a sand input, its rule applies; EC's still does not
    with rasterio.open(cfg["inputs"]["soc"]) as ds:
        transform = ds.transform
    cfg["inputs"]["sand"] = str(
        write(tmp_path / "sand.tif", np.full((4, 5), 40.0), transform=transform, nodata=-999.0)
    )
    cfg["run"]["output"] = str(tmp_path / "out2")
    ex = run(cfg).options["exclusions"]
    assert ex["rules"] == ["SOC > 200 t C/ha", "sand > 90 %"]
    assert ex["not_applied"] == ["EC > 4 dS/m (no ec input)"]


def test_an_area_with_no_pixel_to_model_is_an_error(tmp_path):
    """A land-use raster that holds no modelled class where SOC has a value (off the area, in
    the wrong codes, or forest only): the run wrote 35 empty layers with exit 0. Now exit 2
    before anything is written, naming the files and what the land use holds."""
    cfg = make_area(tmp_path / "in", rows=4, cols=5, seed=3)
    with rasterio.open(cfg["inputs"]["land_use"], "r+") as ds:
        lu = ds.read()
        lu[:, :, :3] = 255  # no land use
        lu[:, :, 3:] = 4  # tree covered
        ds.write(lu)
    for command in ("run", "validate"):
        res = _cli(tmp_path, cfg, command)
        assert res.exit_code == 2, res.output
        text = " ".join(res.output.split())
        assert "soc.tif: no pixel to model: no pixel with SOC > 0 has a land-use class of " in text
        assert "[classes] modelled (2, 3, 5, 12, 13) in lu.tif (band 20, 2020)" in text
        assert "the land use holds no land use 12, class 4 tree covered 8" in text
    assert not Path(cfg["run"]["output"]).exists()


def test_a_configuration_as_windows_editors_write_it(tmp_path):
    """Saved in the ANSI encoding with 'Côte' (was a UnicodeDecodeError traceback), with the
    BOM of 'UTF-8 with BOM' (was 'Invalid statement at line 1'), Windows paths in double
    quotes (an escape error without the fix, or a path with a tab in it)."""
    cfg = make_area(tmp_path / "in", rows=4, cols=5, seed=3)
    text = toml_of(cfg)
    cases = [
        ("ansi.toml", text.replace('"TST"', '"C\u00f4te"').encode("cp1252"),
         "line 2 is not UTF-8 text (byte 0xf4"),
        ("backslash.toml", text.replace("[inputs]", '[inputs]\nsand = "D:\\data\\S.tif"').encode(),
         "a Windows path in double quotes? '\\' starts an escape there"),
        ("tab.toml", text.replace(f'output = "{cfg["run"]["output"]}"',
                                  'output = "C:\\temp\\new"').encode(),
         "contains the control character '\\t': a Windows path in double quotes?"),
    ]  # fmt: skip
    for name, data, needle in cases:
        path = tmp_path / name
        path.write_bytes(data)
        res = CliRunner().invoke(main, ["validate", str(path)])
        assert res.exit_code == 2 and needle in res.output, (name, res.output, res.exception)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    res = CliRunner().invoke(main, ["validate", str(bom)])
    assert res.exit_code == 0, res.output


# -- unit plausibility: what is read, when, and what the user can change ---------------------


def _area(tmp_path: Path) -> dict:
    cfg = make_area(tmp_path / "in", rows=ROWS, cols=COLS, seed=31)
    cfg["run"]["output"] = str(tmp_path / "out")
    return cfg


def _cli(tmp_path: Path, cfg: dict, command: str = "run") -> Any:
    toml = tmp_path / "run.toml"
    toml.write_text(toml_of(cfg))
    args = [command, str(toml)] + (["-q"] if command == "run" else [])
    return CliRunner().invoke(main, args)


def test_wrong_unit_stops_before_any_computation(tmp_path, monkeypatch):
    import gsocseq.chain

    def never(*args, **kwargs):
        raise AssertionError("computed despite a wrong unit")

    monkeypatch.setattr(gsocseq.chain.Chain, "simulate", never)
    cfg = _area(tmp_path)
    _scale_file(cfg, "soc", 0.1)
    res = _cli(tmp_path, cfg)
    assert res.exit_code == 2 and "kg C/m2" in res.output, res.output
    # what was read: the median and range, with units
    assert "soc median 6.64 t C/ha is below 10 t C/ha" in res.output
    assert "range 2.29 to 8.96 t C/ha" in res.output
    assert not (tmp_path / "out").exists()


def test_wrong_unit_is_no_maskable_pixel(tmp_path):
    cfg = _area(tmp_path)
    cfg["run"]["invalid"] = "mask"
    cfg["inputs"]["warmup_pet"] = _path(cfg, "warmup_pet")
    res = _cli(tmp_path, cfg)
    assert res.exit_code == 2 and "TerraClimate stores PET x10" in res.output
    # one broken pixel is: masked and counted with invalid = "mask"
    cfg = _area(tmp_path / "b")
    cfg["run"]["invalid"] = "mask"
    _set(cfg, "npp_reference", 0, 1e30, 1, 1)
    summary = run(cfg)
    assert summary.counts["invalid:npp_reference"] == 1
    # and said: a whole year x100 masks every pixel (exit 0, 0 pixels modelled, no word before)
    (note,) = [w for w in summary.warnings if "invalid input" in w]
    assert (
        'pixels not modelled for invalid input ([run] invalid = "mask"): npp_reference 1;' in note
    )


def test_wrong_unit_beyond_the_range_is_no_maskable_pixel(tmp_path):
    # with invalid = "mask", NPP in g C/m2/yr masked every pixel (exit 0, empty layers) and
    # precipitation x100 modelled the pixels whose months stayed below 3,000 mm
    for key, factor, needle in (
        ("npp_reference", 100, "g C/m2/yr? GSOCseq needs t C/ha/yr"),
        ("cover", 100, "NDVI share in %?"),
        ("spinup_temperature", 10, "stored x10, as TerraClimate does?"),
    ):
        cfg = _area(tmp_path / key)
        cfg["run"]["invalid"] = "mask"
        _scale_file(cfg, key, factor)
        res = _cli(tmp_path / key, cfg)
        assert res.exit_code == 2, res.output
        assert "is outside the plausible range" in res.output and needle in res.output
        assert "a wrong unit, not pixels to mask" in res.output
    # the same in a site table
    from gsocseq.site import run_sites

    from ..chain.test_site import site_table

    table = site_table(make_area(tmp_path / "s", rows=2, cols=2, seed=9))
    table["npp_reference"] = [v * 100 for v in table["npp_reference"]]
    with pytest.raises(InputError, match="a wrong unit, not pixels to mask"):
        run_sites(table, invalid="mask")


def test_checks_thresholds_can_be_changed(tmp_path):
    cfg = _area(tmp_path)
    _scale_file(cfg, "soc", 0.1)
    cfg["checks"] = {"soc_median_min": 5.0}  # a user who knows the soils are that poor
    res = _cli(tmp_path, cfg)
    assert res.exit_code == 0, res.output
    cfg = _area(tmp_path / "b")
    cfg["checks"] = {"pet_max": 150.0}  # lowered: the area's warm months are above
    res = _cli(tmp_path / "b", cfg)
    assert res.exit_code == 2 and "expected 0 to 150 mm/month ([checks] pet_max)" in res.output


def test_period_ratio_threshold_can_be_changed(tmp_path):
    cfg = _area(tmp_path)
    path = _path(cfg, "warmup_precipitation")
    cfg["inputs"]["warmup_precipitation"] = {"path": path, "scale": 0.1}
    # a user who knows the periods differ that much (and so their NPP)
    cfg["checks"] = {"period_ratio_max": 20.0, "npp_reference_ratio_max": 10.0}
    res = _cli(tmp_path, cfg)
    assert res.exit_code == 0, res.output
    cfg = _area(tmp_path / "b")
    cfg["checks"] = {"period_ratio_max": 1.0}
    res = _cli(tmp_path / "b", cfg)
    assert res.exit_code == 2 and "[checks].period_ratio_max: expected > 1" in res.output


def test_series_order_threshold_can_be_changed(tmp_path):
    cfg = _area(tmp_path)
    _by_month(cfg, "warmup_pet")
    res = _cli(tmp_path, cfg, "validate")
    assert res.exit_code == 2 and "warmup_pet (240 bands) looks stored month by month" in res.output
    cfg["checks"] = {"series_order_ratio": 1e9}  # a user who knows better
    res = _cli(tmp_path, cfg)
    assert res.exit_code == 0, res.output
    cfg = _area(tmp_path / "b")
    cfg["checks"] = {"series_order_ratio": 1.0}
    res = _cli(tmp_path / "b", cfg)
    assert res.exit_code == 2 and "[checks].series_order_ratio: expected > 1" in res.output


def test_validate_refuses_scenario_names_whose_layers_collide(tmp_path):
    cfg = _area(tmp_path)
    # SSM_UncertaintyMap030: the uncertainty of SSM2 under its FAO name
    cfg["scenarios"] = {"SSM2": {"crops": 0.1}, "SSM": {"crops": 0.3}}
    res = _cli(tmp_path, cfg, "validate")
    assert res.exit_code == 2 and "TST_GSOCseq_SSM_UncertaintyMap030.tif" in res.output, res.output
    cfg["scenarios"] = {"SSM4": {"crops": 0.3}, "ASR-SSM4": {"crops": 0.3}}  # distinct
    res = _cli(tmp_path, cfg, "validate")
    assert res.exit_code == 0, res.output


def test_desert_periods_are_not_compared(tmp_path):
    # a desert country that lowered precipitation_median_min: 5 mm a year in 1981-2000 and
    # 40 in 2001-2020 is a few showers, not a wrong scale
    cfg = _area(tmp_path)
    _scale_file(cfg, "spinup_precipitation", 5 / 954)
    _scale_file(cfg, "warmup_precipitation", 40 / 802)
    cfg["checks"] = {"precipitation_median_min": 1.0}
    res = _cli(tmp_path, cfg)
    assert res.exit_code == 0, res.output


def test_nan_in_the_configuration_is_an_error(tmp_path):
    # TOML's nan is a number: compared with it every rule passed (soc_max = nan excluded
    # nothing, silently) or every value became NaN
    from gsocseq.config import load
    from gsocseq.errors import ConfigError

    for table, key, where in (
        ("exclusions", "soc_max", "[exclusions].soc_max"),
        ("exclusions", "ec_max", "[exclusions].ec_max"),
        ("checks", "soc_median_min", "[checks].soc_median_min"),
        ("run", "depth", "[run].depth"),
        ("scenarios", "SSM1", "[scenarios.SSM1].crops"),
    ):
        cfg = _area(tmp_path / key)
        value = {"crops": math.nan} if table == "scenarios" else math.nan
        cfg.setdefault(table, {})[key] = value
        with pytest.raises(ConfigError, match=re.escape(f"{where}: expected a number, got nan")):
            load(cfg)


def test_validate_prints_median_and_range_with_units(tmp_path):
    cfg = _area(tmp_path)
    _set(cfg, "soc", 0, 0.0, 0, 0)  # SOC 0: valid, not modelled, not in the distribution
    res = _cli(tmp_path, cfg, "validate")
    assert res.exit_code == 0, res.output
    lines = {line.split()[0]: line for line in res.output.splitlines() if "median" in line}
    for name, unit in (
        ("soc", "t C/ha"),
        ("clay", "%"),
        ("cover", "(cover factor)"),
        ("spinup_temperature", "degrees C"),
        ("warmup_temperature", "degrees C"),
        ("spinup_precipitation", "mm/month"),
        ("warmup_pet", "mm/month"),
        ("npp_reference", "t C/ha/yr"),
    ):
        assert f" {unit}, range " in lines[name] and lines[name].count(unit) >= 2, lines[name]
    with rasterio.open(_path(cfg, "soc")) as ds:
        soc = ds.read(1)
    with rasterio.open(_path(cfg, "land_use")) as ds:
        modelled = np.isin(ds.read(ds.count), (2, 3, 5, 12, 13)) & (soc > 0)
    assert not modelled[0, 0] and soc[0, 0] == 0
    lo, hi = soc[modelled].min(), soc[modelled].max()
    assert f"range {lo:.3g} to {hi:.3g} t C/ha" in lines["soc"]
    assert f"({modelled.sum()} pixels: every modelled pixel)" in lines["soc"]
    assert "median annual sum" in lines["warmup_pet"]


def test_fao_layout_terraclimate_series_scale_defaults_to_01(tmp_path):
    from gsocseq.config import load

    from ..chain.test_fao import fao_config

    cfg = fao_config(tmp_path / "out")
    fao = cfg["inputs"]["fao"]
    for key in ("warmup_temperature", "warmup_pet"):
        fao[key] = fao[key]["path"]  # plain paths, as the FAO layout is fixed
    specs = load(cfg).inputs
    assert specs["warmup_temperature"].scale == specs["warmup_pet"].scale == 0.1
    assert specs["warmup_precipitation"].scale == 1.0
    assert "pixels to model: 1000" in validate(cfg)
    fao["warmup_pet"] = {"path": fao["warmup_pet"], "scale": 1.0}  # a user who says otherwise
    assert load(cfg).inputs["warmup_pet"].scale == 1.0


def test_int64_raster_is_read_like_float32(tmp_path):
    cfg = _area(tmp_path)
    with rasterio.open(_path(cfg, "clay")) as ds:
        clay = np.round(ds.read(1))
    ref = dict(cfg, inputs=dict(cfg["inputs"]), run=dict(cfg["run"], output=str(tmp_path / "f")))
    ref["inputs"]["clay"] = str(write(tmp_path / "clay_f32.tif", clay))
    cfg["inputs"]["clay"] = str(write(tmp_path / "clay_i64.tif", clay, dtype="int64"))
    run(ref)
    run(cfg)
    for name in ("T0", "finalSOC_SSM1", "ASR_BAU"):
        a = _read1(tmp_path / "f" / f"TST_GSOCseq_{name}_Map030.tif")
        b = _read1(tmp_path / "out" / f"TST_GSOCseq_{name}_Map030.tif")
        assert np.array_equal(a, b), name


def _read1(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1)


def test_prepare_outputs_get_the_unit_checks(tmp_path):
    from gsocseq.prepare import RUN_CONFIG, prepare

    from .test_prepare import _raw_inputs

    table = _raw_inputs(tmp_path)
    table["soc_scale"] = 0.1  # a raw SOC map already in t C/ha, "converted" from kg C/m2
    with pytest.raises(InputError, match=r"soc\.tif\) as prepared .*: soc median 4 t C/ha .*by 10"):
        prepare(table)
    assert not (tmp_path / "prepared" / RUN_CONFIG).exists()


# -- site tables: rows against the header, separators, units, what is written ---------------


def _site_csv(tmp_path: Path, delimiter: str = ",", decimal: str = ".") -> tuple[Path, dict]:
    from ..chain.test_site import site_table

    cfg = make_area(tmp_path / "sites_in", rows=2, cols=2, seed=9)
    table = site_table(cfg)
    path = tmp_path / "sites.csv"
    lines = [delimiter.join(table)]
    for i in range(len(table["site"])):
        cells = [str(table[k][i]) for k in table]
        lines.append(delimiter.join(c.replace(".", decimal) for c in cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, table


def _site(path: Path, out: Path) -> Any:
    return CliRunner().invoke(main, ["site", str(path), "-o", str(out), "-q"])


def test_site_row_with_an_unquoted_decimal_comma(tmp_path):
    path, _ = _site_csv(tmp_path)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("clay")] = "31,5"  # shifts the rest of the row by one
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    res = _site(path, tmp_path / "r.csv")
    assert res.exit_code == 2, res.output
    assert f"row 2 (line 3) has {len(header) + 1} fields, the header has {len(header)}" in (
        res.output
    )
    assert "decimal comma" in res.output and not (tmp_path / "r.csv").exists()


def test_site_duplicated_and_unknown_columns(tmp_path):
    path, _ = _site_csv(tmp_path)
    lines = path.read_text().splitlines()
    dup = tmp_path / "dup.csv"
    header = lines[0].split(",")
    i = header.index("npp_reference_min")
    header[i] = "clay"  # a second clay column
    dup.write_text("\n".join([",".join(header), *lines[1:]]) + "\n")
    res = _site(dup, tmp_path / "r.csv")
    assert (
        res.exit_code == 2
        and f"column 'clay' appears twice (columns {header.index('clay') + 1} and {i + 1})"
        in (res.output)
    ), res.output
    header[i] = "npp_referense_min"  # misspelled optional column
    typo = tmp_path / "typo.csv"
    typo.write_text("\n".join([",".join(header), *lines[1:]]) + "\n")
    res = _site(typo, tmp_path / "r.csv")
    assert res.exit_code == 2, res.output
    assert "unknown column 'npp_referense_min' (did you mean 'npp_reference_min'?)" in res.output
    header[i] = "warmup_pett_1"
    typo.write_text("\n".join([",".join(header), *lines[1:]]) + "\n")
    res = _site(typo, tmp_path / "r.csv")
    assert "unknown column 'warmup_pett_1' (did you mean 'warmup_pet_1'?)" in res.output


def test_site_semicolons_and_decimal_commas_are_read(tmp_path):
    path, _ = _site_csv(tmp_path)
    assert _site(path, tmp_path / "comma.csv").exit_code == 0
    (tmp_path / "eu").mkdir()
    eu, _ = _site_csv(tmp_path / "eu", delimiter=";", decimal=",")
    assert "," in eu.read_text() and ";" in eu.read_text()
    res = _site(eu, tmp_path / "semicolon.csv")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "semicolon.csv").read_text() == (tmp_path / "comma.csv").read_text()
    # a quoted decimal comma in a ',' table is not guessed: named, with the hint
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("soc")] = '"45,5"'
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    res = _site(path, tmp_path / "q.csv")
    assert res.exit_code == 2 and "'45,5' is not a number (a decimal comma?" in res.output


def test_site_digits_grouped_with_underscores_are_refused(tmp_path):
    # Python's float() reads '4_5' as 45: a clay of 45 % for a cell that is no number
    path, _ = _site_csv(tmp_path)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    for k, cell in enumerate(["4_5", '"4_5"']):  # plain table (core reader), quoted (csv reader)
        cells = lines[2].split(",")
        cells[header.index("clay")] = cell
        path.write_text("\n".join([*lines[:2], ",".join(cells), *lines[3:]]) + "\n")
        res = _site(path, tmp_path / f"r{k}.csv")
        assert res.exit_code == 2, res.output
        assert "row 2, column clay: '4_5' is not a number (digits grouped with '_'?" in (res.output)
        assert not (tmp_path / f"r{k}.csv").exists()


def test_site_table_encodings_quotes_and_case(tmp_path):
    path, _ = _site_csv(tmp_path)
    text = path.read_text()
    assert _site(path, tmp_path / "utf8.csv").exit_code == 0
    # Excel's "Unicode text": UTF-16 with its BOM, read as it is
    (tmp_path / "u16.csv").write_bytes(text.encode("utf-16"))
    res = _site(tmp_path / "u16.csv", tmp_path / "utf16.csv")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "utf16.csv").read_bytes() == (tmp_path / "utf8.csv").read_bytes()
    # Excel's default CSV on Windows (cp1252): named, with the fix
    lines = text.splitlines()
    lines[2] = "Sété" + lines[2][lines[2].index(",") :]
    (tmp_path / "cp.csv").write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    res = _site(tmp_path / "cp.csv", tmp_path / "r.csv")
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert "cp.csv: line 3 is not UTF-8 text (byte 0xe9): save the table as 'CSV UTF-8'" in (
        res.output
    )
    # a quote that is not closed swallows the next lines
    lines = text.splitlines()
    lines[1] = '"' + lines[1]
    path.write_text("\n".join(lines) + "\n")
    res = _site(path, tmp_path / "r.csv")
    assert res.exit_code == 2 and 'a quote " that is not closed?' in res.output, res.output
    # a column in capitals gets its suggestion
    lines = text.splitlines()
    path.write_text("\n".join([lines[0].replace("clay", "CLAY", 1), *lines[1:]]) + "\n")
    res = _site(path, tmp_path / "r.csv")
    assert res.exit_code == 2 and "unknown column 'CLAY' (did you mean 'clay'?)" in res.output


def test_site_series_of_the_wrong_length_is_named(tmp_path):
    from gsocseq.site import run_sites

    from ..chain.test_site import site_table

    table = site_table(make_area(tmp_path, rows=2, cols=2, seed=9))
    short = {k: v for k, v in table.items() if not k.startswith("warmup_temperature_")}
    short.update(
        {f"warmup_temperature_{m}": table[f"warmup_temperature_{m}"] for m in range(1, 13)}
    )
    with pytest.raises(InputError, match=r"warmup_temperature has 12 monthly values, expected 240"):
        run_sites(short)


def test_site_units_are_checked(tmp_path):
    from gsocseq.site import run_sites

    from ..chain.test_site import site_table

    cfg = make_area(tmp_path, rows=2, cols=2, seed=9)
    table = site_table(cfg)
    kg = dict(table, soc=[v / 10 for v in table["soc"]])
    with pytest.raises(InputError, match=r"column\(s\) soc: soc median .* kg C/m2"):
        run_sites(kg)
    pet = {
        k: ([v * 10 for v in vs] if k.startswith("warmup_pet_") else vs) for k, vs in table.items()
    }
    with pytest.raises(
        InputError,
        match=r"TerraClimate stores PET x10 \(x0\.1: multiply the column\(s\) warmup_pet_",
    ):
        run_sites(pet)


def test_site_undeclared_nodata_gets_the_tables_advice(tmp_path):
    path, _ = _site_csv(tmp_path)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("soc")] = "-9999"
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    res = _site(path, tmp_path / "r.csv")
    assert res.exit_code == 2, res.output
    assert "soc = -9999, expected 0 to 800 t C/ha: an undeclared nodata value" in res.output
    assert "(an empty cell, NA or nan is nodata)" in res.output and "gdal" not in res.output


def test_site_ids_cannot_inject_formulas(tmp_path):
    path, _ = _site_csv(tmp_path)
    lines = path.read_text().splitlines()
    ids = ["=1+2", "-5", "@SUM(A1)", "+cmd|' /C calc'!A0"]
    rows = [f'"{sid}"' + line[line.index(",") :] for sid, line in zip(ids, lines[1:])]
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    res = _site(path, tmp_path / "r.csv")
    assert res.exit_code == 0, res.output
    import csv

    with open(tmp_path / "r.csv", newline="") as f:
        out = list(csv.DictReader(f))
    assert [r["site"] for r in out] == ["'=1+2", "-5", "'@SUM(A1)", "'+cmd|' /C calc'!A0"]
    numbers = [v for r in out for k, v in r.items() if k != "site" and v]
    assert all(float(v) == float(v) for v in numbers)  # numbers stay numbers
    assert any(v.startswith("-") for v in numbers)  # negative ones included


def test_site_results_never_replace_an_input_nor_follow_a_loop(tmp_path):
    path, _ = _site_csv(tmp_path)
    before = path.read_bytes()
    for out in (path, tmp_path / "." / path.name):  # the site table itself: refused, kept
        res = _site(path, out)
        assert res.exit_code == 2, res.output
        assert "the results would replace it" in res.output and path.read_bytes() == before
    os.symlink(tmp_path / "loop_b", tmp_path / "loop_a")
    os.symlink(tmp_path / "loop_a", tmp_path / "loop_b")
    for out in (tmp_path / "loop_a", tmp_path / "loop_a" / "r.csv"):
        res = _site(path, out)
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        assert f"{out}: cannot be resolved" in res.output
    assert os.path.islink(tmp_path / "loop_a")  # the link is not replaced by the results
    res = _site(path, tmp_path / "nowhere" / "r.csv")
    assert res.exit_code == 2 and "cannot write the results" in res.output, res.output
    os.symlink(tmp_path / "real.csv", tmp_path / "link.csv")  # a link: its target is written
    assert _site(path, tmp_path / "link.csv").exit_code == 0
    assert os.path.islink(tmp_path / "link.csv") and (tmp_path / "real.csv").stat().st_size


def test_demo_into_a_symlink_loop(tmp_path):
    os.symlink(tmp_path / "loop_b", tmp_path / "loop_a")
    os.symlink(tmp_path / "loop_a", tmp_path / "loop_b")
    for out in (tmp_path / "loop_a", tmp_path / "loop_a" / "sub"):
        res = CliRunner().invoke(main, ["demo", str(out), "-q"])
        assert res.exit_code == 2, (res.output, res.exception)
        assert f"{out}: cannot create the output folder" in res.output, res.output


# -- the report's admin polygons ------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    from gsocseq.demo import generate_inputs

    folder = tmp_path_factory.mktemp("demo")
    run(generate_inputs(folder))
    return folder


def _admin(path: Path, features: list) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _unit(name: str, ring: list) -> dict:
    return {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


WEST = [[30.0, 4.5], [30.3, 4.5], [30.3, 5.0], [30.0, 5.0], [30.0, 4.5]]
BOWTIE = [[30.3, 4.5], [30.66, 5.0], [30.66, 4.5], [30.3, 5.0], [30.3, 4.5]]


def _report(demo_run: Path, out: Path, admin: Path, monkeypatch, draw: bool = False) -> Any:
    import gsocseq.report as rep
    from gsocseq.report import figures

    def one_map(stats, folder):  # a map with the admin outlines (the full set: test_report)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = [lay for lay in stats.run.layers if lay.family == "T0"]
        return {
            "stocks": figures._map_figure(t0, folder / "t0.png", "t C/ha", False, stats.zones, "T0")
        }

    monkeypatch.setattr(rep, "make_figures", one_map if draw else (lambda stats, folder: {}))
    return CliRunner().invoke(
        main, ["report", str(demo_run), "-o", str(out), "--admin", str(admin)]
    )


def test_admin_geojson_nested_too_deeply(demo_run, tmp_path, monkeypatch):
    deep = tmp_path / "deep.geojson"
    n = 100_000
    deep.write_text(
        '{"type": "Feature", "properties": {"name": "D"}, "geometry": {"type": "Polygon", '
        '"coordinates": ' + "[" * n + "]" * n + "}}"
    )
    res = _report(demo_run, tmp_path / "r", deep, monkeypatch)
    assert res.exit_code == 2, res.output
    assert "deep.geojson: cannot be read as GeoJSON (nested too deeply)" in res.output


def test_admin_invalid_polygon_repaired_when_the_report_draws_maps(demo_run, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    admin = _admin(tmp_path / "a.geojson", [_unit("West", WEST), _unit("Bowtie", BOWTIE)])
    res = _report(demo_run, tmp_path / "r", admin, monkeypatch, draw=True)
    assert res.exit_code == 0, res.output
    assert "feature 2 ('Bowtie'): invalid polygon (Self-intersection" in res.output
    assert "repaired with make_valid" in res.output
    with open(tmp_path / "r" / "DEMO_GSOCseq_statistics.csv") as f:
        units = {line.split(",")[0] for line in f}
    assert "Bowtie" in units and (tmp_path / "r" / "figures" / "t0.png").stat().st_size > 0
    html = (tmp_path / "r" / "report.html").read_text()
    assert "repaired with make_valid" in html
    # rings that are no polygon at all are refused, naming the feature
    short = _admin(tmp_path / "s.geojson", [_unit("West", WEST), _unit("Line", WEST[:2])])
    res = _report(demo_run, tmp_path / "s", short, monkeypatch, draw=True)
    assert res.exit_code == 2 and "feature 2 ('Line'): not a readable polygon" in res.output
    ragged = [[30.3, 4.5], [30.6, 4.5, 1.0, 2.0], [30.6], [30.3, 4.5]]
    bad = _admin(tmp_path / "b.geojson", [_unit("West", WEST), _unit("Ragged", ragged)])
    res = _report(demo_run, tmp_path / "b", bad, monkeypatch, draw=True)
    assert res.exit_code == 2 and "feature 2 ('Ragged')" in res.output, res.output


def test_admin_geojson_of_the_wrong_shape(demo_run, tmp_path, monkeypatch):
    odd = tmp_path / "odd.geojson"
    odd.write_text('{"type": "FeatureCollection", "crs": "EPSG:4326", "features": 5}')
    res = _report(demo_run, tmp_path / "r", odd, monkeypatch)
    assert res.exit_code == 2 and "odd.geojson: 'features' is not a list" in res.output
    odd.write_text(json.dumps({"type": "FeatureCollection", "features": [{"properties": [1]}]}))
    res = _report(demo_run, tmp_path / "r", odd, monkeypatch)
    assert res.exit_code == 2 and "feature 1 is not a GeoJSON feature object" in res.output
    point = {"type": "Feature", "properties": {"name": "P"}, "geometry": {"type": "Point"}}
    _admin(odd, [_unit("West", WEST), point])
    res = _report(demo_run, tmp_path / "r", odd, monkeypatch)
    assert res.exit_code == 2 and "feature 2 ('P'): a Point geometry" in res.output


def test_admin_unit_with_a_nan_vertex_is_refused(demo_run, tmp_path, monkeypatch):
    ring = [[30.3, 4.5], [30.66, 4.5], [float("nan"), 5.0], [30.3, 5.0], [30.3, 4.5]]
    admin = _admin(tmp_path / "a.geojson", [_unit("West", WEST), _unit("East", ring)])
    res = _report(demo_run, tmp_path / "r", admin, monkeypatch)
    assert res.exit_code == 2, res.output
    assert "feature 2 ('East'): vertex 3 is (nan, 5)" in res.output


def test_admin_units_left_out_of_the_statistics_are_named(demo_run, tmp_path, monkeypatch):
    east = [[30.3, 4.5], [30.67, 4.5], [30.67, 5.0], [30.3, 5.0], [30.3, 4.5]]
    tiny = [[30.301, 4.601], [30.302, 4.601], [30.302, 4.602], [30.301, 4.602], [30.301, 4.601]]
    far = [[50.0, 4.5], [50.3, 4.5], [50.3, 5.0], [50.0, 5.0], [50.0, 4.5]]
    whole = [[30.0, 4.5], [30.67, 4.5], [30.67, 5.0], [30.0, 5.0], [30.0, 4.5]]
    units = [_unit("West", WEST), _unit("East", east), _unit("Tiny", tiny), _unit("Far", far)]
    admin = _admin(tmp_path / "a.geojson", units)
    res = _report(demo_run, tmp_path / "r", admin, monkeypatch)
    assert res.exit_code == 0, res.output
    assert "unit 'Tiny' covers no pixel centre (smaller than a pixel?)" in res.output
    assert "unit 'Far' lies outside the run's grid: not in the statistics" in res.output
    assert "unit 'West'" not in res.output and "unit 'East'" not in res.output
    assert "lies outside the run" in (tmp_path / "r" / "report.html").read_text()
    # a unit under a later one (a pixel in two polygons counts for the last) is named too
    admin = _admin(tmp_path / "b.geojson", [_unit("West", WEST), _unit("All", whole)])
    res = _report(demo_run, tmp_path / "s", admin, monkeypatch)
    assert res.exit_code == 0, res.output
    assert "unit 'West' is covered by the unit(s) after it ('All'" in res.output


def test_admin_vertex_beyond_longitude_latitude_is_refused(demo_run, tmp_path, monkeypatch):
    # a vertex of 1e308 made GDAL burn the whole row: West vanished from the statistics
    east = [[30.3, 4.5], [1e308, 4.5], [30.67, 5.0], [30.3, 5.0], [30.3, 4.5]]
    admin = _admin(tmp_path / "a.geojson", [_unit("West", WEST), _unit("East", east)])
    res = _report(demo_run, tmp_path / "r", admin, monkeypatch)
    assert res.exit_code == 2, res.output
    assert "feature 2 ('East'): vertex 2 is (1e+308, 4.5), no longitude/latitude" in res.output


def test_admin_names_cannot_inject_formulas_and_are_escaped(demo_run, tmp_path, monkeypatch):
    east = [[30.3, 4.5], [30.66, 4.5], [30.66, 5.0], [30.3, 5.0], [30.3, 4.5]]
    names = ['=HYPERLINK("http://x","y")', "<b>East</b>"]
    admin = _admin(tmp_path / "a.geojson", [_unit(names[0], WEST), _unit(names[1], east)])
    res = _report(demo_run, tmp_path / "r", admin, monkeypatch)
    assert res.exit_code == 0, res.output
    import csv

    with open(tmp_path / "r" / "DEMO_GSOCseq_statistics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["unit"] for r in rows} == {"all", "'" + names[0], names[1], "(outside)"}
    means = [r["mean_per_ha"] for r in rows if r["mean_per_ha"] not in ("", "nan")]
    assert any(v.startswith("-") for v in means) and all(float(v) == float(v) for v in means)
    html = (tmp_path / "r" / "report.html").read_text()
    assert "&lt;b&gt;East&lt;/b&gt;" in html and "<b>East</b>" not in html


def test_a_spinup_land_use_in_fao_mode_is_refused_not_ignored(tmp_path):
    # fao-v1.2 spins up on the 2020 land use (METHOD.md section 3): the raster or column was
    # read (its nodata even left pixels out) and then not used, with exit 0
    from gsocseq.config import load
    from gsocseq.errors import ConfigError
    from gsocseq.site import run_sites

    from ..chain.test_site import site_table

    cfg = make_area(tmp_path / "area", rows=ROWS, cols=COLS)
    table = site_table(cfg)
    _replace(cfg, "spinup_land_use", np.full((ROWS, COLS), 3.0), tmp_path)
    fao = {**cfg, "run": {**cfg["run"], "mode": "fao-v1.2"}}
    refused = "fao-v1.2 runs the spin-up on the land use of the last warm-up year"
    with pytest.raises(ConfigError, match=refused):
        load(fao)
    with pytest.raises(ConfigError, match=refused):  # a rothamsted configuration run so
        run(cfg, output=tmp_path / "out", mode="fao-v1.2")
    assert not (tmp_path / "out").exists()
    table["spinup_land_use"] = [3.0] * len(table["soc"])
    with pytest.raises(ConfigError, match=refused):
        run_sites(table, {"run": {"mode": "fao-v1.2"}})
    assert run_sites(table, {"run": {"mode": "rothamsted"}})["modelled"].any()


def _miami_reference(cfg: dict, precipitation_scale: float = 1.0) -> np.ndarray:
    """Write the area's npp_reference (and _min, _max: x0.95, x1.05) as a country's would be:
    MIAMI NPP of its 1981-2000 climate (here the spin-up climatology), t C/ha/yr; returns it."""
    from gsocseq import _core

    with rasterio.open(_path(cfg, "spinup_temperature")) as ds:
        t = ds.read().astype(np.float64)
    with rasterio.open(_path(cfg, "spinup_precipitation")) as ds:
        p = ds.read().astype(np.float64) * precipitation_scale
    npp = _core.miami_npp(t.mean(axis=0).ravel(), p.sum(axis=0).ravel()).reshape(t.shape[1:])
    for key, factor in (("npp_reference", 1.0), ("npp_reference_min", 0.95)):
        with rasterio.open(_path(cfg, key), "r+") as ds:
            ds.write((npp * factor)[None].astype(ds.dtypes[0]))
    with rasterio.open(_path(cfg, "npp_reference_max"), "r+") as ds:
        ds.write((npp * 1.05)[None].astype(ds.dtypes[0]))
    return npp


@pytest.mark.parametrize(
    "key, factor, ratio_max, likely",
    [
        # kg C/m2/yr read as t C/ha/yr: every warm-up input 10 times too large, exit 0
        (
            "npp_reference",
            0.1,
            None,
            "likely kg C/m2/yr: x10: set scale = 10 on input 'npp_reference'",
        ),
        # t of dry matter: twice the carbon, every warm-up input halved (caught under the
        # tighter threshold a country that knows its climate sets; the default 3 lets it pass)
        ("npp_reference", 2.0, 1.5, "likely t DM/ha/yr (dry matter: x0.5 for carbon): x0.5"),
        ("npp_reference_max", 0.1, None, "x10: set scale = 10 on input 'npp_reference_max'"),
        ("npp_reference_min", 2.0, 1.5, "x0.5: set scale = 0.5 on input 'npp_reference_min'"),
    ],
)
def test_npp_reference_in_another_unit_than_the_warmup_npp_is_refused(
    tmp_path, key, factor, ratio_max, likely
):
    # the warm-up inputs are C_eq x NPP_y / NPP_ref (METHOD.md section 4): a reference in
    # kg C/m2/yr passed every check and gave a T0 of 261 t C/ha against a SOC map of 70
    cfg = _area(tmp_path / "ok")
    _miami_reference(cfg)
    if ratio_max is not None:
        cfg["checks"] = {"npp_reference_ratio_max": ratio_max}
    assert _cli(tmp_path / "ok", cfg, "validate").exit_code == 0
    cfg = _area(tmp_path)
    _miami_reference(cfg)
    if ratio_max is not None:
        # under the default the same file passes: a factor 2 is within two periods' change
        _scale_file(cfg, key, factor)
        assert _cli(tmp_path, cfg, "validate").exit_code == 0
        _scale_file(cfg, key, 1 / factor)
        cfg["checks"] = {"npp_reference_ratio_max": ratio_max}
    path = _scale_file(cfg, key, factor)
    for command in ("validate", "run"):
        res = _cli(tmp_path, cfg, command)
        assert res.exit_code == 2, res.output
        assert f"{path}: {key} reads " in res.output, res.output
        assert "times the warm-up's own NPP" in res.output
        assert "the mean MIAMI NPP of the 20 warm-up years" in res.output
        assert "[checks] npp_reference_ratio_max" in res.output
        assert likely in " ".join(res.output.split()), res.output
    assert not (tmp_path / "out").exists()
    # the message's ratio is the factor (the rest is the climate's change and the survey)
    ratio = float(re.search(rf"{key} reads ([0-9.e+-]+) times", res.output).group(1))
    assert 0.7 * factor < ratio < 1.3 * factor * (0.95 if key.endswith("min") else 1.05)


def test_npp_reference_is_compared_with_the_warmup_npp_rasters(tmp_path):
    # with yearly warm-up NPP rasters, the reference is their source's spin-up-period NPP: a
    # reference 2x too large (t of dry matter) against them is refused under a threshold of
    # 1.5, within [checks] period_ratio_max (5) that their medians are compared with
    cfg = _area(tmp_path)
    npp = _miami_reference(cfg)
    warm = cfg["inputs"]["npp_reference"].replace("npp.tif", "warmup_npp.tif")
    years = np.linspace(0.9, 1.1, 20)[:, None, None] * npp[None]
    with rasterio.open(_path(cfg, "npp_reference")) as ds:
        profile = dict(ds.profile, count=20)
    with rasterio.open(warm, "w", **profile) as ds:
        ds.write(years.astype(profile["dtype"]))
    cfg["inputs"]["warmup_npp"] = warm
    assert _cli(tmp_path, cfg, "validate").exit_code == 0
    _scale_file(cfg, "npp_reference", 2.0)
    assert _cli(tmp_path, cfg, "validate").exit_code == 0  # the default, 3
    cfg["checks"] = {"npp_reference_ratio_max": 1.5}
    res = _cli(tmp_path, cfg, "validate")
    assert res.exit_code == 2, res.output
    assert "npp_reference reads 2 times the warm-up's own NPP" in res.output
    assert "the mean of the warmup_npp bands" in res.output
    # a user whose reference is right raises the threshold
    cfg["checks"] = {"npp_reference_ratio_max": 3.0}
    assert _cli(tmp_path, cfg, "validate").exit_code == 0
    cfg["checks"] = {"npp_reference_ratio_max": 1.0}
    res = _cli(tmp_path, cfg, "validate")
    assert res.exit_code == 2 and "[checks].npp_reference_ratio_max: expected > 1" in res.output
