"""Small synthetic input areas in the native layout, written with rasterio, for the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from gsocseq._core import miami_npp

NODATA = -999.0


def write(
    path: Path, data: np.ndarray, transform=None, crs="EPSG:4326", nodata=NODATA, dtype="float32"
) -> Path:
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": dtype,
        "crs": crs,
        "transform": transform or Affine(0.01, 0.0, 10.0, 0.0, -0.01, 50.0),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data.astype(dtype))
    return path


write_raster = write


def make_area(
    folder: Path,
    rows: int = 4,
    cols: int = 6,
    years: int = 20,
    seed: int = 1,
    lu_bands: int | None = None,
    transform: Affine | None = None,
    crs: str = "EPSG:4326",
) -> dict:
    """Write a small area (on ``transform`` and ``crs``: 0.01 degree from 10 E, 50 N by
    default); return the run configuration (a dict) for it."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(path: Path, data: np.ndarray, **kw) -> Path:
        return write_raster(path, data, transform=transform, crs=crs, **kw)

    rng = np.random.default_rng(seed)
    shape = (rows, cols)
    month = np.arange(12)
    # a gradient from cool and wet (row 0) to hot and dry (last row)
    base_t = np.linspace(6, 26, rows)[:, None] + rng.uniform(-1, 1, shape)
    season_t = 8 * np.cos(2 * np.pi * (month - 6) / 12)
    temp = base_t[None] + season_t[:, None, None]
    rain_year = np.linspace(1600, 350, rows)[:, None] + rng.uniform(-50, 50, shape)
    rain_share = 1 + 0.8 * np.cos(2 * np.pi * (month - 0) / 12)
    prec = rain_year[None] * (rain_share / rain_share.sum())[:, None, None]
    pet = np.clip(10 + 5.5 * temp, 5, None)
    soc = rng.uniform(20, 90, shape)
    clay = rng.uniform(8, 55, shape)
    classes = np.array([2, 3, 5, 12, 13, 2, 3, 4, 1, 2])
    lu_last = classes[rng.integers(0, len(classes), shape)]
    lu_last[0, 0], lu_last[0, 1], lu_last[1, 0] = 13, 3, 2
    lu = np.repeat(lu_last[None], years, axis=0)
    lu[:3, 1, 0] = 4  # forest the first years, then cropland
    lu[5, 0, 1] = 1  # a year of a class without coefficients (artificial)
    cover = np.where(rng.uniform(size=(12, *shape)) > 0.8, 1.0, 0.6)
    years_t = (
        temp[None]
        + rng.normal(0, 0.6, (years, 1, *shape))
        + 0.03 * np.arange(years)[:, None, None, None]
    )
    years_p = prec[None] * rng.uniform(0.7, 1.3, (years, 1, *shape))
    years_e = np.clip(10 + 5.5 * years_t, 5, None)
    series = lambda a: a.reshape(years * 12, *shape)  # noqa: E731
    # the 1981-2000 MIAMI NPP of the spin-up climate (t C/ha/yr), as a country's reference is
    # (the run compares it with the warm-up's own NPP: [checks] npp_reference_ratio_max)
    npp = miami_npp(temp.mean(axis=0).ravel(), prec.sum(axis=0).ravel()).reshape(shape)
    npp = npp * rng.uniform(0.9, 1.1, shape)
    paths = {
        "soc": write(folder / "soc.tif", soc),
        "clay": write(folder / "clay.tif", clay),
        "land_use": write(
            folder / "lu.tif", lu if lu_bands is None else lu[-lu_bands:], nodata=255, dtype="uint8"
        ),
        "cover": write(folder / "cover.tif", cover),
        "spinup_temperature": write(folder / "t_spin.tif", temp),
        "spinup_precipitation": write(folder / "p_spin.tif", prec),
        "spinup_pet": write(folder / "e_spin.tif", pet),
        "warmup_temperature": write(folder / "t_warm.tif", series(years_t) * 10),
        "warmup_precipitation": write(folder / "p_warm.tif", series(years_p)),
        "warmup_pet": write(folder / "e_warm.tif", series(years_e) * 10),
        "npp_reference": write(folder / "npp.tif", npp),
        "npp_reference_min": write(folder / "npp_min.tif", npp * 0.93),
        "npp_reference_max": write(folder / "npp_max.tif", npp * 1.06),
    }
    inputs = {k: str(v) for k, v in paths.items()}
    inputs["warmup_temperature"] = {"path": inputs["warmup_temperature"], "scale": 0.1}
    inputs["warmup_pet"] = {"path": inputs["warmup_pet"], "scale": 0.1}
    return {
        "run": {"name": "TST", "output": str(folder / "out"), "mode": "rothamsted"},
        "inputs": inputs,
    }
