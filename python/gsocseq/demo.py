"""A synthetic but realistic demonstration area: every input of a ``gsocseq run``.

:func:`generate_inputs` writes GeoTIFFs and a run configuration (``gsocseq.toml``) for a small
area on a 30 arc-second EPSG:4326 grid that spans a tropical climate gradient: mean annual
temperature 8 degrees C (cool highlands, north) to 27 degrees C (lowlands, south), annual
precipitation 300 mm (west) to 2200 mm (east) with a single northern-tropical rainy season, so
that water-limited pixels (annual P < PET) and humid pixels (P > PET) both exist.

Units follow METHOD.md section 1: SOC t C/ha (0-30 cm), clay and sand %, EC dS/m, cover factor c
(0.6 covered .. 1.0 bare), temperature degrees C, precipitation and PET mm/month, NPP
t C/ha/yr. As in TerraClimate downloads, the 2001-20xx monthly temperature and PET series hold
values x 10 (the configuration gives them ``scale = 0.1``). Float rasters use nodata -999 (a
lake, where SOC is nodata); land use is uint8 with nodata 255 (class 0 = "no data", valid).

Everything is deterministic for a given seed (``numpy.random.default_rng(seed)``) and uses numpy
only. The 1981-2000 yearly series behind the MIAMI NPP reference rasters is generated in memory
(its mean is the written climatology) and not written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from rasterio.crs import CRS
from rasterio.transform import from_origin

from gsocseq import _core, fao
from gsocseq.classes import DEFAULT_MODELLED
from gsocseq.writing import atomic_raster, new_file

__all__ = ["PIXEL_SIZE", "generate_inputs", "miami_npp"]

#: pixel size, degrees (30 arc-seconds)
PIXEL_SIZE = 0.0083333333
#: north-west corner of the grid, degrees (longitude, latitude)
ORIGIN = (30.0, 5.0)
#: nodata of every float raster (FAO convention)
NODATA = -999.0
#: nodata of the land-use raster (class 0 is a valid "no data" class, 255 is never written)
LU_NODATA = 255
#: the classes modelled by the written configuration (the default's)
MODELLED = DEFAULT_MODELLED

_TWO_PI = 2.0 * np.pi
_MONTHS = np.arange(12, dtype=np.float64)


def miami_npp(temperature_monthly: Any, precipitation_monthly: Any) -> np.ndarray:
    """Yearly MIAMI NPP (Lieth 1975), t C/ha/yr, from 12 monthly values on the last axis.

    ``temperature_monthly``: monthly mean temperature, degrees C, shape (..., 12);
    ``precipitation_monthly``: monthly precipitation, mm, shape (..., 12). With T_mean the mean
    and P_sum the sum of the 12 months: NPP_T = 3000 / (1 + exp(1.315 - 0.119 T_mean)),
    NPP_P = 3000 (1 - exp(-0.000664 P_sum)) (g DM/m2/yr); NPP = min(NPP_T, NPP_P) x 0.01
    (t DM/ha) x 0.5 (t C/ha). Returns float64 of shape (...).
    """
    t = np.asarray(temperature_monthly, dtype=np.float64)
    p = np.asarray(precipitation_monthly, dtype=np.float64)
    if t.shape[-1:] != (12,) or p.shape[-1:] != (12,):
        raise ValueError(
            f"miami_npp: expected 12 months on the last axis, got {t.shape} and {p.shape}"
        )
    return fao.miami_npp(t.mean(axis=-1), p.sum(axis=-1))


# ---------------------------------------------------------------------------------------------
# random fields


def _smooth_field(rng: np.random.Generator, rows: int, cols: int, n: int = 6) -> np.ndarray:
    """A smooth random field (sum of ``n`` low-frequency plane waves), mean 0, std 1."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    size = float(max(rows, cols, 8))
    field = np.zeros((rows, cols))
    for _ in range(n):
        wavelength = size * rng.uniform(0.35, 1.4)
        angle = rng.uniform(0.0, np.pi)
        phase = rng.uniform(0.0, _TWO_PI)
        k = _TWO_PI / wavelength
        field += rng.uniform(0.5, 1.0) * np.sin(k * (x * np.cos(angle) + y * np.sin(angle)) + phase)
    field -= field.mean()
    std = field.std()
    return field / std if std > 0 else field


def _unit(a: np.ndarray) -> np.ndarray:
    """``a`` rescaled linearly to [0, 1]."""
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def _blob(
    rng: np.random.Generator, rows: int, cols: int, area: float, center: tuple[float, float]
) -> np.ndarray:
    """A boolean elliptic blob of about ``area`` pixels with a wavy shore around ``center``."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    ratio = rng.uniform(1.2, 1.8)
    b = np.sqrt(area / (np.pi * ratio))
    a = b * ratio
    angle = rng.uniform(0.0, np.pi)
    dy, dx = y - center[0], x - center[1]
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    r = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    theta = np.arctan2(v, u)
    shore = 1.0 + 0.12 * np.sin(3 * theta + rng.uniform(0, _TWO_PI))
    return r <= shore


def _pick(rng: np.random.Generator, mask: np.ndarray, n: int) -> np.ndarray:
    """Flat indices of up to ``n`` distinct pixels drawn from ``mask`` (sorted)."""
    candidates = np.flatnonzero(mask)
    n = min(n, candidates.size)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.sort(rng.choice(candidates, size=n, replace=False))


# ---------------------------------------------------------------------------------------------
# climate


def _pet(temperature: np.ndarray, precipitation: np.ndarray) -> np.ndarray:
    """Thornthwaite-like monthly PET, mm/month, from monthly T (degrees C) and P (mm), bands
    first (12, rows, cols): rises with temperature, a little higher in dry months; 20-200."""
    t = np.maximum(temperature, 0.0)
    base = 20.0 + 180.0 * (t / 32.0) ** 1.3
    mean_p = np.maximum(precipitation.mean(axis=0, keepdims=True), 1.0)
    dryness = np.clip(1.0 - precipitation / mean_p, -1.0, 1.0)
    return np.clip(base * (1.0 + 0.12 * dryness), 20.0, 200.0)


class _Anomalies(NamedTuple):
    """Interannual variability of a series of years, zero mean over the years."""

    t_year: np.ndarray  # (years, 12) temperature offsets, degrees C
    t_space: np.ndarray  # (years,) weights of the spatial pattern, degrees C
    p_year: np.ndarray  # (years, 12) log precipitation factors
    p_space: np.ndarray  # (years,) weights of the spatial pattern in the log factor
    p_norm: np.ndarray  # (12, rows, cols) mean over the years of the precipitation factor


def _year_anomalies(rng: np.random.Generator, n_years: int, pattern: np.ndarray) -> _Anomalies:
    """Draw the interannual variability of ``n_years`` years: temperature anomalies average to
    0 and precipitation factors to 1 over the years at every pixel and month."""
    t_year = rng.normal(0.0, 0.4, n_years)[:, None] + rng.normal(0.0, 0.5, (n_years, 12))
    t_space = rng.normal(0.0, 0.3, n_years)
    p_year = rng.normal(0.0, 0.15, n_years)[:, None] + rng.normal(0.0, 0.25, (n_years, 12))
    p_space = rng.normal(0.0, 0.1, n_years)
    if n_years > 1:
        t_year -= t_year.mean(axis=0)
        t_space -= t_space.mean()
    p_norm = np.zeros((12, *pattern.shape))
    for y in range(n_years):
        p_norm += np.exp(p_year[y][:, None, None] + p_space[y] * pattern)
    return _Anomalies(t_year, t_space, p_year, p_space, p_norm / n_years)


def _year_climate(
    t_clim: np.ndarray,
    p_clim: np.ndarray,
    pattern: np.ndarray,
    anomalies: _Anomalies,
    year: int,
    trend: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Monthly T (degrees C) and P (mm) of one year (12, rows, cols): climatology + warming
    ``trend`` (degrees C) + interannual anomalies (additive for T, multiplicative for P)."""
    a = anomalies
    t = t_clim + trend + a.t_year[year][:, None, None] + a.t_space[year] * pattern
    factor = np.exp(a.p_year[year][:, None, None] + a.p_space[year] * pattern) / a.p_norm
    return t, p_clim * factor


# ---------------------------------------------------------------------------------------------
# writing


def _profile(rows: int, cols: int, count: int, dtype: str, nodata: float) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": count,
        "dtype": dtype,
        "nodata": nodata,
        "crs": CRS.from_epsg(4326),
        "transform": from_origin(ORIGIN[0], ORIGIN[1], PIXEL_SIZE, PIXEL_SIZE),
        "compress": "deflate",
        "interleave": "band" if count > 1 else "pixel",
    }
    if rows > 256 or cols > 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    return profile


_atomic_raster = atomic_raster


def _write(
    path: Path,
    data: np.ndarray,
    lake: np.ndarray,
    descriptions: list[str] | None = None,
) -> None:
    """Write a float32 raster (bands, rows, cols), nodata -999 over the lake."""
    data = np.array(data, dtype=np.float32, ndmin=3)
    data[:, lake] = NODATA
    count, rows, cols = data.shape
    with _atomic_raster(path, _profile(rows, cols, count, "float32", NODATA)) as dst:
        dst.write(data)
        for i, text in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, text)


def _write_text(path: Path, text: str) -> None:
    tmp = new_file(path.parent, f".{path.name}.", ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _config_text(files: dict[str, str], warmup_years: int) -> str:
    def q(key: str) -> str:
        return '"' + files[key] + '"'

    return f"""\
# gsocseq demonstration run: synthetic inputs written by gsocseq.demo.generate_inputs
# (warm-up years: {warmup_years}). Paths are relative to this file.

[run]
name = "DEMO"
output = ".."          # layers are written into the folder above inputs/
mode = "rothamsted"
years = 20
uncertainty = "minmax"

[inputs]
soc = {q("soc")}
clay = {q("clay")}
land_use = {q("land_use")}
cover = {q("cover")}
spinup_temperature = {q("spinup_temperature")}
spinup_precipitation = {q("spinup_precipitation")}
spinup_pet = {q("spinup_pet")}
warmup_temperature = {{ path = {q("warmup_temperature")}, scale = 0.1 }}
warmup_precipitation = {q("warmup_precipitation")}
warmup_pet = {{ path = {q("warmup_pet")}, scale = 0.1 }}
npp_reference = {q("npp_reference")}
npp_reference_min = {q("npp_reference_min")}
npp_reference_max = {q("npp_reference_max")}
sand = {q("sand")}
ec = {q("ec")}

[scenarios.SSM1]
crops = 0.05
grass = 0.05
paddy = 0.05
[scenarios.SSM2]
crops = 0.10
grass = 0.10
paddy = 0.10
[scenarios.SSM3]
crops = 0.20
grass = 0.20
paddy = 0.20

[classes]
modelled = [{", ".join(str(c) for c in MODELLED)}]
"""


# ---------------------------------------------------------------------------------------------
# the area


def generate_inputs(
    outdir: str | os.PathLike[str],
    *,
    seed: int = 0,
    rows: int = 60,
    cols: int = 80,
    years: int = 20,
) -> Path:
    """Write a synthetic demonstration area into ``outdir/inputs/``; return the config path.

    ``rows`` x ``cols`` pixels of 30 arc-seconds (EPSG:4326, north-west corner 30 E, 5 N);
    ``years`` warm-up years 2001..2000+years (land-use bands and 12*years monthly bands).
    Files (keys of the ``[inputs]`` table of ``outdir/inputs/gsocseq.toml``):

    - ``SOC.tif``: SOC 0-30 cm, t C/ha, 15-150; a lake (~3 % of pixels) is nodata -999 and
      a few pixels are 0.
    - ``Clay.tif`` (%, 5-60), ``Sand.tif`` (%, 5-95, a few pixels > 90), ``EC.tif`` (dS/m,
      mostly 0.1-2, a few > 4).
    - ``LandUse.tif``: ``years`` bands uint8, FAO classes (2 cropland, 3 grassland, 4 tree
      covered, 5 shrub, 12 tree crops, 13 paddy, 1 artificial, 9 bare, 11 water over the lake,
      0 no data on a few pixels); ~3 % of pixels change class (forest cleared for cropland,
      cropland abandoned to grassland, towns growing over cropland).
    - ``Cover.tif``: 12 bands, cover factor c = 1 - 0.4 P_veg in [0.6, 1.0].
    - ``Temp_81-00.tif`` (degrees C), ``Prec_81-00.tif``, ``PET_81-00.tif`` (mm/month):
      12-band 1981-2000 monthly climatology.
    - ``Temp_2001-20xx.tif``, ``PET_2001-20xx.tif`` (values x 10, scale 0.1) and
      ``Prec_2001-20xx.tif`` (mm): 12*years monthly bands, climatology + 0.03 degrees C/yr
      warming + interannual variability.
    - ``NPP_MIAMI_MEAN_81-00.tif`` and its ``_MIN`` (monthly T x 1.02, P x 0.95) and ``_MAX``
      (T x 0.98, P x 1.05) variants: mean yearly MIAMI NPP (:func:`miami_npp`) of a 1981-2000
      series (climatology + interannual variability, mean = the climatology), t C/ha/yr.

    Every file is written under a temporary name and renamed when complete.
    """
    if rows < 8 or cols < 8:
        raise ValueError(f"generate_inputs: at least 8 x 8 pixels, got {rows} x {cols}")
    if years < 1:
        raise ValueError(f"generate_inputs: at least 1 warm-up year, got {years}")
    rng = np.random.default_rng(seed)
    folder = Path(outdir) / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    n = rows * cols
    last_year = 2000 + years

    # ---- geography: north-south temperature, west-east (and some north-south) rain --------
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float64)
    v = yy / (rows - 1)  # 0 north .. 1 south
    u = xx / (cols - 1)  # 0 west .. 1 east
    g_temp, g_rain, g_soil, g_clay, g_sand, g_ec, g_var = (
        _smooth_field(rng, rows, cols) for _ in range(7)
    )
    t_ann = 8.0 + 19.0 * _unit(v + 0.08 * g_temp)
    p_ann = 300.0 + 1900.0 * _unit(0.75 * u + 0.25 * (1.0 - v) + 0.12 * g_rain)
    warm = (t_ann - 8.0) / 19.0
    wet = (p_ann - 300.0) / 1900.0

    # monthly climatology (bands first): T peaks before the rains (April/May), rains peak in
    # July, one dry season that is longer and harsher in the dry west
    t_amp = 1.0 + 3.0 * (1.0 - v) + 0.3 * g_var
    t_clim = t_ann + t_amp * np.cos(_TWO_PI * (_MONTHS - 3.5) / 12.0)[:, None, None]
    p_amp = 1.35 - 0.6 * wet
    wave = np.cos(_TWO_PI * (_MONTHS - 6.0) / 12.0)[:, None, None]
    wave2 = np.cos(2.0 * _TWO_PI * (_MONTHS - 6.0) / 12.0)[:, None, None]
    share = np.maximum(1.0 + p_amp * wave + 0.25 * wet * wave2, 0.0) + 0.02
    share /= share.sum(axis=0, keepdims=True)
    p_clim = p_ann * share
    pet_clim = _pet(t_clim, p_clim)

    # ---- lake ---------------------------------------------------------------------------
    center = (rng.uniform(0.25, 0.75) * rows, rng.uniform(0.25, 0.75) * cols)
    lake = _blob(rng, rows, cols, 0.03 * n, center)

    # ---- land use of the last year ------------------------------------------------------
    f = [_smooth_field(rng, rows, cols) for _ in range(6)]
    jitter = rng.normal(0.0, 0.08, (6, rows, cols))
    classes = np.array([2, 3, 4, 5, 12, 13], dtype=np.uint8)
    scores = np.stack(
        [
            0.45 + 0.5 * f[0],  # cropland
            1.4 * (0.45 - wet) + 0.3 * (1.0 - warm) + 0.5 * f[1],  # grassland
            1.6 * (wet - 0.55) + 0.2 * (1.0 - warm) + 0.6 * f[2],  # tree covered
            1.6 * (0.3 - wet) + 0.2 * warm + 0.5 * f[3],  # shrub
            np.where((warm > 0.45) & (wet > 0.35), 0.1 + 0.6 * f[4], -9.0),  # tree crops
            np.where((t_ann >= 19.0) & (p_ann >= 1100.0), 0.55 + 0.6 * f[5], -9.0),  # paddy
        ]
    )
    # class biases nudged towards target shares, so every seed gets every class
    target = np.array([0.36, 0.16, 0.18, 0.14, 0.08, 0.08])
    bias = np.zeros((6, 1, 1))
    for _ in range(40):
        choice = np.argmax(scores + jitter + bias, axis=0)
        got = np.bincount(choice.ravel(), minlength=6) / n
        bias[:, 0, 0] = np.clip(bias[:, 0, 0] + 0.3 * np.log((target + 1e-3) / (got + 1e-3)), -3, 3)
    lu = classes[np.argmax(scores + jitter + bias, axis=0)]
    lu[(wet < 0.12) & (f[1] + f[3] > 1.0)] = 9  # bare soil in the driest corner
    towns = np.zeros((rows, cols), dtype=bool)
    town_rims = np.zeros((rows, cols), dtype=bool)
    for _ in range(max(1, n // 2400)):
        cy, cx = rng.uniform(0, rows), rng.uniform(0, cols)
        r = rng.uniform(1.2, 2.5)
        d = np.hypot(yy - cy, xx - cx)
        towns |= d <= r
        town_rims |= (d > r) & (d <= r + 1.0)
    lu[towns] = 1
    lu[lake] = 11
    no_data_class = _pick(rng, ~lake & ~towns, max(2, n // 1200))
    lu.flat[no_data_class] = 0

    # ---- land-use history: ~3 % of pixels change class ----------------------------------
    history = np.repeat(lu[None], years, axis=0)
    if years > 1:
        flat = history.reshape(years, n)

        def change(idx: np.ndarray, before: int) -> None:
            when = rng.integers(1, years, size=idx.size)  # first year of the new class
            for i, w in zip(idx.tolist(), when.tolist()):
                flat[:w, i] = before

        # forest cleared for cropland: cropland pixels where forest scores highest
        crop = np.flatnonzero(lu.ravel() == 2)
        order = crop[np.argsort(-(scores[2] - scores[0]).ravel()[crop], kind="stable")]
        frontier = order[: max(1, 4 * int(0.018 * n))]
        size = min(frontier.size, int(0.018 * n) or 1)
        cleared = np.sort(rng.choice(frontier, size=size, replace=False))
        change(cleared, 4)
        # cropland abandoned to grassland
        change(_pick(rng, lu == 3, int(0.008 * n) or 1), 2)
        # towns growing over cropland
        grow = _pick(rng, town_rims & (lu == 2), int(0.004 * n) or 1)
        lu.flat[grow] = 1
        flat[:, grow] = 1
        change(grow, 2)

    # ---- soil ---------------------------------------------------------------------------
    soc = 15.0 + 135.0 * _unit(0.5 * wet + 0.5 * (1.0 - warm) + 0.15 * g_soil)
    soc *= np.select([lu == 2, lu == 13, lu == 4], [0.8, 0.9, 1.15], 1.0)
    soc = np.clip(soc + rng.normal(0.0, 1.5, (rows, cols)), 15.0, 150.0)
    soc = np.round(soc, 1)
    soc.flat[_pick(rng, ~lake, max(3, n // 1000))] = 0.0
    clay = np.round(
        np.clip(5.0 + 55.0 * _unit(0.6 * wet + 0.4 * g_clay) + rng.normal(0, 1.0, lu.shape), 5, 60),
        1,
    )
    sand = (100.0 - clay) * (0.3 + 0.55 * _unit(g_sand - 0.8 * wet))
    sand = np.round(np.clip(sand + rng.normal(0.0, 1.0, lu.shape), 5.0, 89.0), 1)
    dune_mask = ~lake & (lu != 0) & (wet < 0.3)
    if not dune_mask.any():
        dune_mask = ~lake
    dunes = _pick(rng, dune_mask, max(3, n // 600))
    sand.flat[dunes] = np.round(rng.uniform(90.5, 95.0, dunes.size), 1)
    clay.flat[dunes] = np.minimum(clay.flat[dunes], 100.0 - sand.flat[dunes])
    ec = 0.1 + 1.9 * _unit(g_ec + 1.5 * (1.0 - wet)) ** 2
    ec = np.round(np.clip(ec + rng.normal(0.0, 0.03, lu.shape), 0.1, 2.0), 2)
    salty = _pick(rng, ~lake & (wet < 0.4), max(3, n // 800))
    ec.flat[salty] = np.round(rng.uniform(4.2, 9.0, salty.size), 2)

    # ---- cover factor c = 1 - 0.4 P_veg of the last year's class ------------------------
    dry_rank = np.argsort(np.argsort(p_clim, axis=0, kind="stable"), axis=0)  # 0 = driest
    n_bare = np.rint(2.0 + 2.0 * (1.0 - wet)).astype(np.int64)  # 2-4 bare months
    bare = dry_rank < n_bare
    noise = rng.uniform(0.0, 1.0, (12, rows, cols))
    p_veg = 0.85 + 0.15 * noise  # grass, shrub, trees: covered all year
    crop_veg = np.where(bare, 0.25 * noise, 0.5 + 0.45 * noise)
    paddy_veg = np.where(dry_rank < 2, 0.12 * noise, 0.75 + 0.25 * noise)
    p_veg = np.where(lu == 2, crop_veg, p_veg)
    p_veg = np.where(lu == 12, 0.8 + 0.2 * noise, p_veg)
    p_veg = np.where(lu == 13, paddy_veg, p_veg)
    p_veg = np.where(np.isin(lu, (0, 1, 9)), 0.0, p_veg)
    cover = np.clip(1.0 - 0.4 * p_veg, 0.6, 1.0)

    # ---- 1981-2000 series -> MIAMI NPP reference ----------------------------------------
    ref = _year_anomalies(rng, 20, g_var)
    npp = np.zeros((3, rows, cols))
    _, (t_min, p_min), (t_max, p_max) = _core.MINMAX_CLIMATE
    for y in range(20):
        t, p = _year_climate(t_clim, p_clim, g_var, ref, y)
        t, p = np.moveaxis(t, 0, -1), np.moveaxis(p, 0, -1)
        npp[0] += miami_npp(t, p)
        npp[1] += miami_npp(t * t_min, p * p_min)
        npp[2] += miami_npp(t * t_max, p * p_max)
    npp /= 20.0

    # ---- write --------------------------------------------------------------------------
    span = f"2001-{last_year}"
    files = {
        "soc": "SOC.tif",
        "clay": "Clay.tif",
        "land_use": "LandUse.tif",
        "cover": "Cover.tif",
        "spinup_temperature": "Temp_81-00.tif",
        "spinup_precipitation": "Prec_81-00.tif",
        "spinup_pet": "PET_81-00.tif",
        "warmup_temperature": f"Temp_{span}.tif",
        "warmup_precipitation": f"Prec_{span}.tif",
        "warmup_pet": f"PET_{span}.tif",
        "npp_reference": "NPP_MIAMI_MEAN_81-00.tif",
        "npp_reference_min": "NPP_MIAMI_MEAN_81-00_MIN.tif",
        "npp_reference_max": "NPP_MIAMI_MEAN_81-00_MAX.tif",
        "sand": "Sand.tif",
        "ec": "EC.tif",
    }
    month_names = [f"{m:02d}" for m in range(1, 13)]
    _write(folder / files["soc"], soc, lake, ["SOC 0-30 cm, t C/ha"])
    _write(folder / files["clay"], clay, lake, ["clay, %"])
    _write(folder / files["sand"], sand, lake, ["sand, %"])
    _write(folder / files["ec"], ec, lake, ["electrical conductivity, dS/m"])
    _write(folder / files["cover"], cover, lake, [f"cover factor, month {m}" for m in month_names])
    _write(
        folder / files["spinup_temperature"],
        t_clim,
        lake,
        [f"T 1981-2000 {m}" for m in month_names],
    )
    _write(
        folder / files["spinup_precipitation"],
        np.round(p_clim, 1),
        lake,
        [f"P 1981-2000 {m}" for m in month_names],
    )
    _write(
        folder / files["spinup_pet"], pet_clim, lake, [f"PET 1981-2000 {m}" for m in month_names]
    )
    for key, layer in zip(("npp_reference", "npp_reference_min", "npp_reference_max"), npp):
        _write(folder / files[key], layer, lake, ["MIAMI NPP 1981-2000 mean, t C/ha/yr"])

    with _atomic_raster(
        folder / files["land_use"], _profile(rows, cols, years, "uint8", LU_NODATA)
    ) as dst:
        dst.write(history)
        for i in range(years):
            dst.set_band_description(i + 1, f"land use {2001 + i}")

    # monthly 2001.. series, written one year (12 bands) at a time
    warm_anom = _year_anomalies(rng, years, g_var)
    profile = _profile(rows, cols, 12 * years, "float32", NODATA)
    with (
        _atomic_raster(folder / files["warmup_temperature"], profile) as dt,
        _atomic_raster(folder / files["warmup_precipitation"], profile) as dp,
        _atomic_raster(folder / files["warmup_pet"], profile) as de,
    ):
        for y in range(years):
            t, p = _year_climate(t_clim, p_clim, g_var, warm_anom, y, trend=0.03 * (y + 1))
            p = np.round(p, 1)
            pet = _pet(t, p)
            bands = list(range(12 * y + 1, 12 * y + 13))
            for dst, data in ((dt, np.round(t * 10.0)), (dp, p), (de, np.round(pet * 10.0))):
                out = data.astype(np.float32)
                out[:, lake] = NODATA
                dst.write(out, indexes=bands)
            for b, m in zip(bands, month_names):
                for dst in (dt, dp, de):
                    dst.set_band_description(b, f"{2001 + y}-{m}")

    config = folder / "gsocseq.toml"
    _write_text(config, _config_text(files, years))
    return config
