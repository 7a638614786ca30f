"""The battery of bad inputs: each ends in exit code 2 with a message that names the file (or
key) and what was expected, and leaves nothing in the output folder that looks like a result."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

from gsocseq.cli import main

from .synthetic import make_area, write

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
        lines.append(f"{k} = {v!r}".replace("'", '"') if isinstance(v, str) else f"{k} = {v}")
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
    return "\n".join(lines) + "\n"


Case = Callable[[dict, Path], str]


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
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input(tmp_path, case):
    cfg = make_area(tmp_path / "in", rows=ROWS, cols=COLS, seed=31)
    out = tmp_path / "out"
    cfg["run"]["output"] = str(out)
    needle = case(cfg, tmp_path)
    toml = tmp_path / "run.toml"
    toml.write_text(toml_of(cfg))
    res = CliRunner().invoke(main, ["run", str(toml), "-q"])
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert res.output.startswith("Error: ") and needle in res.output, res.output
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
