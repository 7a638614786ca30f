"""gsocseq prepare: raw-style inputs in several CRSs -> the inputs of a run (docs/prepare.md)."""

from __future__ import annotations

import calendar
import math
import os
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from click.testing import CliRunner
from rasterio.transform import from_origin

from gsocseq.cli.prepare import command as prepare_command
from gsocseq.config import ConfigError
from gsocseq.prepare import (
    npp_reference_parts,
    prepare,
    soil_0_30,
)
from gsocseq.rasters import InputError
from gsocseq.vectors import read_polygons

# master grid: UTM 47N, 1 km pixels, 12 x 10 (around 100.0 E, 14.4 N)
UTM = "EPSG:32647"
UTM_T = from_origin(600000.0, 1600000.0, 1000.0, 1000.0)
# coarse climate grid, geographic
CLIM_T = from_origin(99.8, 14.6, 0.04, 0.04)
SPIN = [1981, 1982]
WARM = [2001, 2002]


def _tif(
    path: Path,
    data: Any,
    crs: str,
    transform: Any,
    nodata: float | None = -999.0,
    dtype: str = "float32",
    scales: tuple[float, ...] | None = None,
) -> Path:
    data = np.array(data, ndmin=3)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[1],
        width=data.shape[2],
        count=data.shape[0],
        dtype=dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(data.astype(dtype))
        if scales:
            dst.scales = scales
    return path


def _polygon_wkb(ring: list[tuple[float, float]]) -> bytes:
    out = struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(ring))
    return out + b"".join(struct.pack("<dd", x, y) for x, y in ring)


def _gpkg(path: Path, ring: list[tuple[float, float]], crs: str) -> Path:
    pyogrio_raw = pytest.importorskip("pyogrio.raw")
    geom = np.array([_polygon_wkb(ring)], dtype=object)
    pyogrio_raw.write(
        path, geom, [], [], crs=crs, geometry_type="Polygon", driver="GPKG", layer="aoi"
    )
    return path


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        data = ds.read(masked=True).astype(np.float64)
    return data.filled(np.nan)


def _terraclimate(folder: Path, years: range, sea: bool = True, meta_scale: bool = True) -> None:
    """TerraClimate-like yearly files: T and PET x 10 as int16, 12 bands; the west is sea."""
    rows, cols = 8, 8
    for year in years:
        month = np.arange(1, 13, dtype=np.float64)[:, None, None] * np.ones((1, rows, cols))
        tmax = 300 + 10 * month + (year - 1981)  # 31.x .. 42 degrees C (x10)
        tmin = 200 + 0 * month  # 20 degrees C
        pr = 50.0 + 10 * month  # mm
        pet = 1000 + 0 * month  # 100 mm (x10)
        for name, arr in (("tmmx", tmax), ("tmmn", tmin), ("pr", pr), ("pet", pet)):
            arr = arr.copy()
            if sea:
                arr[:, :, :4] = -32768
            scaled = name != "pr"
            _tif(
                folder / f"{name}_{year}.tif",
                arr,
                "EPSG:4326",
                CLIM_T,
                nodata=-32768,
                dtype="int16",
                scales=(0.1,) * 12 if scaled and meta_scale else None,
            )


def _raw_inputs(tmp: Path) -> dict[str, Any]:
    """Raw-style inputs in four CRSs and the [prepare] table that names them."""
    raw = tmp / "raw"
    raw.mkdir()
    soc = np.full((10, 12), 40.0)
    soc[0, 0] = -999.0
    _tif(raw / "soc.tif", soc, UTM, UTM_T)
    # SoilGrids-style clay, g/kg, 3 layer means, geographic 0.005 degrees
    fine_t = from_origin(99.85, 14.55, 0.005, 0.005)
    for i, (name, v) in enumerate((("0-5", 200), ("5-15", 250), ("15-30", 300))):
        _tif(raw / f"clay_{name}cm.tif", np.full((40, 60), v + 0 * i), "EPSG:4326", fine_t)
    _tif(raw / "sand.tif", np.full((40, 60), 30.0), "EPSG:4326", fine_t)
    _tif(raw / "ec.tif", np.full((40, 60), 1.5), "EPSG:4326", fine_t)
    # ESA CCI land use, 300 m, uint8: west cropland (10), east grassland (130)
    lu = np.full((40, 60), 130, dtype=np.uint8)
    lu[:, :30] = 10
    for y in range(WARM[0], WARM[1] + 1):
        _tif(raw / f"ESACCI_{y}.tif", lu, "EPSG:4326", fine_t, nodata=None, dtype="uint8")
    # NDVI proportions in web mercator
    merc_t = from_origin(11110000.0, 1630000.0, 2000.0, 2000.0)
    for m in range(1, 13):
        _tif(raw / f"ndvi_prop_{m:02d}.tif", np.full((40, 40), 0.5), "EPSG:3857", merc_t)
    _terraclimate(raw, range(SPIN[0], WARM[1] + 1))
    return {
        "name": "TST",
        "output": str(tmp / "prepared"),
        "soc": str(raw / "soc.tif"),
        "clay": [str(raw / f"clay_{n}cm.tif") for n in ("0-5", "5-15", "15-30")],
        "clay_depths": [0, 5, 15, 30],
        "clay_scale": 0.1,
        "sand": str(raw / "sand.tif"),
        "ec": str(raw / "ec.tif"),
        "land_use": str(raw / "ESACCI_{year}.tif"),
        "land_use_table": "esa-cci",
        "cover": str(raw / "ndvi_prop_{month:02d}.tif"),
        "quicklooks": False,
        "climate": {
            "source": "terraclimate",
            "tmax": str(raw / "tmmx_{year}.tif"),
            "tmin": str(raw / "tmmn_{year}.tif"),
            "precipitation": str(raw / "pr_{year}.tif"),
            "pet": str(raw / "pet_{year}.tif"),
            "spinup_years": SPIN,
            "warmup_years": WARM,
            "coastal_fill_km": 10,
        },
        "run": {"uncertainty": "none", "threads": 1},
    }


# ---------------------------------------------------------------------------------------------
# numbers computed by hand


def test_clay_trapezoid_manual_example() -> None:
    # FAO manual eq. 6.1: point values at 0, 5, 15, 30 cm
    assert soil_0_30([14.5, 25.0, 25.3, 25.0], [0, 5, 15, 30]) == pytest.approx(24.25, abs=1e-12)
    # layer means 0-5, 5-15, 15-30: thickness-weighted
    assert soil_0_30([20.0, 25.0, 30.0], [0, 5, 15, 30]) == pytest.approx(
        (20 * 5 + 25 * 10 + 30 * 15) / 30
    )
    arr = soil_0_30([np.full(3, 14.5), np.full(3, 25.0), np.full(3, 25.3), np.full(3, 25.0)],
                    [0, 5, 15, 30])  # fmt: skip
    np.testing.assert_allclose(arr, 24.25)
    with pytest.raises(ConfigError):
        soil_0_30([1.0, 2.0], [0, 5, 15, 30])


def test_miami_reference_by_hand() -> None:
    t_mean, p_sum = np.array([20.0]), np.array([1200.0])
    parts = npp_reference_parts(t_mean, p_sum)
    for (ft, fp), got in zip(((1.0, 1.0), (1.02, 0.95), (0.98, 1.05)), parts):
        npp_t = 3000 / (1 + math.exp(1.315 - 0.119 * 20 * ft))
        npp_p = 3000 * (1 - math.exp(-0.000664 * 1200 * fp))
        assert got[0] == pytest.approx(min(npp_t, npp_p) * 0.01 * 0.5, rel=1e-14)
    # central run: NPP_T = 2230.9 > NPP_P = 1647.7 g DM/m2/yr, so precipitation limits
    assert parts[0][0] == pytest.approx(3000 * (1 - math.exp(-0.7968)) * 0.005, rel=1e-14)


# ---------------------------------------------------------------------------------------------
# the whole preparation, then a run


def test_prepare_polygon_other_crs_then_run(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    # polygon in EPSG:4326 (rasters: UTM master, 4326 climate/soil, 3857 cover): the east part
    # (the climate grid is sea west of 99.96 E: those AOI pixels need the coastal fill)
    ring = [(99.945, 14.30), (100.10, 14.30), (100.10, 14.50), (99.945, 14.50), (99.945, 14.30)]
    table["aoi"] = str(_gpkg(tmp_path / "aoi.gpkg", ring, "EPSG:4326"))
    cfg = prepare({"prepare": table})
    out = cfg.parent
    assert cfg.name == "gsocseq.toml"
    text = cfg.read_text()
    assert "scale" not in text.split("[inputs]")[1]  # physical units, scale 1
    assert str(tmp_path) not in text  # relative paths

    soc = _read(out / "SOC.tif")[0]
    inside = np.isfinite(soc)
    assert 0 < inside.sum() < soc.size  # clipped to the polygon, west part masked
    with rasterio.open(out / "SOC.tif") as ds:
        assert ds.crs == rasterio.crs.CRS.from_string(UTM)
        xs, _ = rasterio.transform.xy(ds.transform, *np.nonzero(inside))
        lon, _ = rasterio.warp.transform(UTM, "EPSG:4326", xs, [1595000.0] * len(xs))
        assert min(lon) > 99.945  # every kept pixel is inside the polygon

    clay = _read(out / "Clay.tif")[0]
    np.testing.assert_allclose(clay[inside], (20 * 5 + 25 * 10 + 30 * 15) / 30, rtol=1e-6)
    assert np.isnan(clay[~inside]).all()
    np.testing.assert_allclose(_read(out / "EC.tif")[0][inside], 1.5, rtol=1e-6)
    assert 'ec = "EC.tif"' in text and 'sand = "Sand.tif"' in text
    cover = _read(out / "Cover.tif")
    assert cover.shape[0] == 12
    np.testing.assert_allclose(cover[:, inside], 0.8, rtol=1e-6)

    lu = _read(out / "LandUse_2001-2002.tif")
    assert lu.shape[0] == 2
    assert set(np.unique(lu[:, inside])) <= {2.0, 3.0}
    # every band says what it is, in which units
    for name, first, units in (
        ("PET_2001-2002.tif", "2001-01", "mm/month"),
        ("Temp_1981-1982.tif", "01 (mean 1981-1982)", "degrees C"),
        ("Cover.tif", "01: cover factor c (0.6 covered .. 1.0 bare)", "cover factor"),
        ("SOC.tif", "SOC stock, 0-30 cm", "t C/ha"),
        ("NPP_MIAMI_MEAN_1981-1982_MAX.tif", "MIAMI NPP, mean 1981-1982 (max run)", "t C/ha/yr"),
        ("LandUse_2001-2002.tif", "2001 FAO land-use class", ""),
    ):
        with rasterio.open(out / name) as ds:
            assert ds.descriptions[0] == first and (ds.units[0] or "") == units, name
            if name.startswith("PET"):
                assert ds.descriptions[-1] == "2002-12"

    # climate: T = (tmax + tmin)/2 from x10 ints with scale_factor metadata
    t = _read(out / "Temp_1981-1982.tif")
    months = np.arange(1, 13)
    expect_t = ((30 + months) + 0.05 + 20) / 2  # mean of 1981 (+0) and 1982 (+0.1)
    np.testing.assert_allclose(t[:, inside].mean(axis=1), expect_t, rtol=1e-5)
    pet = _read(out / "PET_2001-2002.tif")
    assert pet.shape[0] == 24
    np.testing.assert_allclose(pet[:, inside], 100.0, rtol=1e-6)
    p = _read(out / "Prec_1981-1982.tif")
    np.testing.assert_allclose(p[:, inside].mean(axis=1), 50 + 10 * months, rtol=1e-6)
    # NPP reference: yearly MIAMI with T_mean, P_sum of each year, then the mean
    ref = [_read(out / f"NPP_MIAMI_MEAN_1981-1982{s}.tif")[0] for s in ("", "_MIN", "_MAX")]
    p_sum = float(np.sum(50 + 10 * months))
    expect = [0.0, 0.0, 0.0]
    for k in (0, 1):
        t_mean = float(np.mean(((30 + months + 0.1 * k) + 20) / 2))
        for i, v in enumerate(npp_reference_parts(np.array([t_mean]), np.array([p_sum]))):
            expect[i] += v[0] / 2
    for got, want in zip(ref, expect):
        np.testing.assert_allclose(got[inside], want, rtol=1e-6)
    assert ref[1][inside][0] < ref[0][inside][0] < ref[2][inside][0]  # P limited

    report = (out / "prepare_report.md").read_text()
    assert "bilinear" in report and "majority" in report and "EPSG:3857" in report
    filled = [int(n) for n in re.findall(r"coastal pixels filled \(<= 10 km\): (\d+)", report)]
    assert filled and all(n > 0 for n in filled)  # the west of the climate grid is sea
    assert np.isfinite(t[:, inside]).all()  # every AOI pixel got climate

    import gsocseq

    summary = gsocseq.run(cfg, quiet=True)
    assert summary.modelled == int(inside.sum())
    t0 = _read(Path(summary.output) / "TST_GSOCseq_T0_Map030.tif")[0]
    assert np.isfinite(t0[inside]).all() and (t0[inside] > 0).all()
    assert np.isnan(t0[~inside]).all()


def test_an_undeclared_nodata_value_is_named_with_its_file(tmp_path: Path) -> None:
    """One year's PET file (int16, TerraClimate's -32768 sea) declares no nodata value: the sea
    was warped bilinearly into the coast (PET -1,513 mm) and the error named the template
    'pet_{year}.tif', a pixel of the master grid and a value no file holds."""
    table = _raw_inputs(tmp_path)
    pet = tmp_path / "raw" / "pet_1982.tif"
    with rasterio.open(pet) as ds:
        profile, data = ds.profile, ds.read()
    profile.update(nodata=None)
    with rasterio.open(pet, "w", **profile) as ds:
        ds.write(data)
        ds.scales = (0.1,) * 12
    with pytest.raises(InputError, match=r"pet_1982\.tif: band 1 holds -32768 at \d+ pixels"):
        prepare({"prepare": table}, overwrite=True)
    assert not (tmp_path / "prepared" / "gsocseq.toml").exists()


def test_prepare_quicklooks_and_cli(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    table = _raw_inputs(tmp_path)
    table["quicklooks"] = True
    table["climate"]["warmup_years"] = [2001, 2001]
    table["land_use"] = [table["land_use"].format(year=2001)]
    toml = _prepare_toml(tmp_path, table, '[prepare.run]\nuncertainty = "none"\n')
    runner = CliRunner()
    res = runner.invoke(prepare_command, [str(toml), "-q"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "prepared"
    assert (out / "quicklook" / "warmup_temperature.png").stat().st_size > 0
    assert "quicklook/soc.png" in (out / "prepare_report.md").read_text()
    # a second time refuses to overwrite (overwrite=True: the other tests)
    res = runner.invoke(prepare_command, [str(toml), "-q"])
    assert res.exit_code == 2 and "already exists" in res.output


def _prepare_toml(folder: Path, table: dict[str, Any], extra: str = "") -> Path:
    """``table`` (a [prepare] table with its [prepare.climate]) written as folder/prepare.toml,
    ``extra`` TOML after it."""
    toml = folder / "prepare.toml"
    toml.write_text(
        "[prepare]\n"
        + "".join(f"{k} = {_toml(v)}\n" for k, v in table.items() if not isinstance(v, dict))
        + "[prepare.climate]\n"
        + "".join(f"{k} = {_toml(v)}\n" for k, v in table["climate"].items())
        + extra
    )
    return toml


def _toml(v: Any) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return json.dumps(v)


# ---------------------------------------------------------------------------------------------
# CRU NetCDF: PET mm/day -> mm/month


def _cru_nc(path: Path, var: str, values: np.ndarray, first_year: int, units: str) -> Path:
    """A CRU-like NetCDF (one variable, monthly time axis in days since 1900-1-1), written by
    GDAL's netCDF driver (CreateCopy from a GeoTIFF carrying the NETCDF_DIM_* metadata)."""
    n = values.shape[0]
    times = []
    for i in range(n):
        y, m = first_year + i // 12, i % 12 + 1
        times.append((np.datetime64(f"{y}-{m:02d}-15") - np.datetime64("1900-01-01")).item().days)
    tif = path.with_suffix(".src.tif")
    with rasterio.open(
        tif, "w", driver="GTiff", height=values.shape[1], width=values.shape[2], count=n,
        dtype="float32", crs="EPSG:4326", transform=CLIM_T, nodata=9.96921e36,
    ) as d:  # fmt: skip
        d.update_tags(
            NETCDF_DIM_EXTRA="{time}",
            NETCDF_DIM_time_DEF=f"{{{n},6}}",
            NETCDF_DIM_time_VALUES="{" + ",".join(str(t) for t in times) + "}",
            NETCDF_VARNAME=var,
            **{"time#units": "days since 1900-1-1", f"{var}#units": units},
        )
        for b, t in enumerate(times, start=1):
            d.update_tags(b, NETCDF_DIM_time=str(t), NETCDF_VARNAME=var)
        d.write(values.astype("float32"))
    rasterio.shutil.copy(tif, path, driver="netCDF")
    tif.unlink()
    return path


def test_cru_netcdf_pet_mm_per_day(tmp_path: Path) -> None:
    if "netCDF" not in rasterio.drivers.raster_driver_extensions().values():
        pytest.skip("GDAL without netCDF")
    table = _raw_inputs(tmp_path)
    raw = tmp_path / "raw"
    # 1981-1982 and 2001-2002 in one file each, as CRU's decade files
    for first, years in ((1981, 2), (2001, 2)):
        n = 12 * years
        shape = (n, 8, 8)
        _cru_nc(raw / f"cru_tmp_{first}.nc", "tmp", np.full(shape, 25.0), first, "degrees C")
        _cru_nc(raw / f"cru_pre_{first}.nc", "pre", np.full(shape, 80.0), first, "mm/month")
        _cru_nc(raw / f"cru_pet_{first}.nc", "pet", np.full(shape, 3.0), first, "mm/day")
    with rasterio.open(raw / "cru_pet_1981.nc") as ds:  # a real NetCDF with a time axis
        assert ds.driver == "netCDF" and ds.count == 24
    table["climate"] = {
        "source": "cru",
        "temperature": [str(raw / "cru_tmp_1981.nc"), str(raw / "cru_tmp_2001.nc")],
        "precipitation": [str(raw / "cru_pre_1981.nc"), str(raw / "cru_pre_2001.nc")],
        "pet": [str(raw / "cru_pet_1981.nc"), str(raw / "cru_pet_2001.nc")],
        "spinup_years": SPIN,
        "warmup_years": WARM,
    }
    out = prepare(table).parent
    inside = np.isfinite(_read(out / "SOC.tif")[0])
    pet = _read(out / "PET_2001-2002.tif")
    days = [calendar.monthrange(y, m)[1] for y in (2001, 2002) for m in range(1, 13)]
    np.testing.assert_allclose(pet[:, inside].mean(axis=1), 3.0 * np.array(days), rtol=1e-6)
    spin = _read(out / "PET_1981-1982.tif")
    np.testing.assert_allclose(spin[1, inside], 3.0 * 28, rtol=1e-6)  # February 1981, 1982
    np.testing.assert_allclose(_read(out / "Temp_1981-1982.tif")[:, inside], 25.0, rtol=1e-6)
    assert "mm/day x days in month" in (out / "prepare_report.md").read_text()


# ---------------------------------------------------------------------------------------------
# land use, cover variants


def test_reclassification_csv_and_absent_code(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    csv = tmp_path / "table.csv"
    csv.write_text("code,fao_class\n10,12\n130,5\n")
    table["land_use_table"] = str(csv)
    out = prepare(table).parent
    lu = _read(out / "LandUse_2001-2002.tif")
    inside = np.isfinite(_read(out / "SOC.tif")[0])
    assert set(np.unique(lu[:, inside])) == {12.0, 5.0}
    csv.write_text("code,fao_class\n10,2\n")  # 130 missing
    with pytest.raises(InputError, match=r"ESACCI_2001.tif: band 1: land-use code 130"):
        prepare(table, overwrite=True)


def test_builtin_reclassification_tables(tmp_path: Path) -> None:
    """Copernicus LC100, ESA WorldCover and GLC-SHARE land use give the map the ESA CCI codes
    of the same land give (cropland west, grassland east); their tables follow METHOD.md."""
    from gsocseq.classes import RECLASS_TABLES, reclass_table

    for name, (table, _) in RECLASS_TABLES.items():
        assert set(table.values()) <= set(range(14)), name
    copernicus, _ = reclass_table("Copernicus")
    assert (copernicus[40], copernicus[30], copernicus[20], copernicus[90]) == (2, 3, 5, 6)
    assert {copernicus[c] for c in (111, 116, 121, 126)} == {4}
    worldcover, _ = reclass_table("worldcover")
    assert (worldcover[10], worldcover[40], worldcover[95], worldcover[80]) == (4, 2, 7, 11)
    assert reclass_table("glc-share")[0][11] == 11 and reclass_table("table.csv") is None

    table = _raw_inputs(tmp_path)
    esa = _read(prepare(table).parent / "LandUse_2001-2002.tif")
    raw = tmp_path / "raw"
    fine_t = from_origin(99.85, 14.55, 0.005, 0.005)
    for name, crop, grass in (("copernicus", 40, 30), ("worldcover", 40, 30), ("glc-share", 2, 3)):
        lu = np.full((40, 60), grass, dtype=np.uint8)
        lu[:, :30] = crop
        for y in range(WARM[0], WARM[1] + 1):
            _tif(raw / f"{name}_{y}.tif", lu, "EPSG:4326", fine_t, nodata=None, dtype="uint8")
        table["land_use"] = str(raw / f"{name}_{{year}}.tif")
        table["land_use_table"] = name
        out = prepare(table, overwrite=True).parent
        np.testing.assert_array_equal(_read(out / "LandUse_2001-2002.tif"), esa)
        assert RECLASS_TABLES[name][1] in (out / "prepare_report.md").read_text()
    table["land_use_table"] = "corine"
    with pytest.raises(InputError, match=r"corine: file not found .*copernicus, worldcover"):
        prepare(table, overwrite=True)


def test_cover_defaults_and_ndvi_threshold(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    del table["cover"]
    crops = [1.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.6, 0.6, 0.7, 0.8, 0.9, 1.0]
    table["cover_defaults"] = {"crops": crops, "grass": 0.6}
    out = prepare(table).parent
    cover = _read(out / "Cover.tif")
    lu = _read(out / "LandUse_2001-2002.tif")[-1]
    crop = lu == 2
    assert crop.any() and (lu == 3).any()
    np.testing.assert_allclose(
        cover[:, crop], np.broadcast_to(np.array(crops)[:, None], cover[:, crop].shape), rtol=1e-6
    )
    np.testing.assert_allclose(cover[:, lu == 3], 0.6, rtol=1e-6)

    # raw NDVI stacks: 4 images a month, 3 of them above 0.6 -> P_veg 0.75 -> c 0.7
    del table["cover_defaults"]
    raw = tmp_path / "raw"
    merc_t = from_origin(11110000.0, 1630000.0, 2000.0, 2000.0)
    stack = np.stack([np.full((40, 40), v) for v in (0.7, 0.8, 0.5, 0.9)])
    for m in range(1, 13):
        _tif(raw / f"ndvi_{m:02d}.tif", stack * 10000, "EPSG:3857", merc_t)
    table["cover_ndvi"] = str(raw / "ndvi_{month:02d}.tif")
    table["ndvi_scale"] = 0.0001
    out = prepare(table, overwrite=True).parent
    inside = np.isfinite(_read(out / "SOC.tif")[0])
    np.testing.assert_allclose(_read(out / "Cover.tif")[:, inside], 0.7, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# errors


def test_missing_year_file_is_named(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    (tmp_path / "raw" / "pr_1982.tif").unlink()
    with pytest.raises(InputError, match=r"pr_1982.tif: file not found"):
        prepare(table)


def test_a_file_of_one_quantity_with_other_band_counts_is_refused(tmp_path: Path) -> None:
    """A file that should hold one layer (SOC, a clay depth layer, EC, a year of land use, a
    month of NDVI) or one year of 12 months (TerraClimate) but holds more bands was read as
    its first band(s), silently: a SoilGrids 0-5/5-15/15-30 cm stack given as the one clay
    layer made the 0-30 cm clay the 0-5 cm clay."""
    raw = tmp_path / "raw"
    fine_t = from_origin(99.85, 14.55, 0.005, 0.005)
    table = _raw_inputs(tmp_path)
    stack = _tif(raw / "clay_stack.tif", np.stack([np.full((40, 60), v) for v in (100, 250, 400)]),
                 "EPSG:4326", fine_t)  # fmt: skip
    one = dict(table, clay=str(stack))
    del one["clay_depths"]
    with pytest.raises(InputError, match=r"clay_stack.tif: 3 bands, expected 1 \(clay layer\)"):
        prepare(one)
    lu = np.full((2, 40, 60), 130, dtype=np.uint8)
    lu[1] = 10
    for y in WARM:
        _tif(raw / f"lu2_{y}.tif", lu, "EPSG:4326", fine_t, nodata=None, dtype="uint8")
    with pytest.raises(InputError, match=r"lu2_2001.tif: 2 bands, expected 1 \(land use\)"):
        prepare(dict(table, land_use=str(raw / "lu2_{year}.tif")))
    _tif(raw / "soc2.tif", np.full((2, 10, 12), 40.0), UTM, UTM_T)
    with pytest.raises(InputError, match=r"soc2.tif: 2 bands, expected 1"):
        prepare(dict(table, soc=str(raw / "soc2.tif")))
    _tif(raw / "pr13_1981.tif", np.full((13, 8, 8), 60.0), "EPSG:4326", CLIM_T)
    climate = dict(table["climate"], precipitation=str(raw / "pr13_{year}.tif"))
    with pytest.raises(InputError, match=r"pr13_1981.tif: 13 bands, expected 12"):
        prepare(dict(table, climate=climate))
    assert not (tmp_path / "prepared").exists()
    # a single land-use file of a band per year is still read band by band
    _tif(raw / "lu_years.tif", lu, "EPSG:4326", fine_t, nodata=None, dtype="uint8")
    out = prepare(dict(table, land_use=str(raw / "lu_years.tif"))).parent
    assert _read(out / "LandUse_2001-2002.tif").shape[0] == 2


def test_a_raw_input_that_prepare_would_write_over_is_refused(tmp_path: Path) -> None:
    """Raw inputs in the output folder under a prepared file's name (a raw SOC map named
    SOC.tif, the prepare TOML named gsocseq.toml): prepare said the file "already exists (use
    --overwrite)", and --overwrite replaced the user's SOC map with the prepared (scaled,
    clipped) one, the raw map lost."""
    table = _raw_inputs(tmp_path)
    raw = tmp_path / "raw"
    (raw / "soc.tif").rename(raw / "SOC.tif")
    table.update(soc=str(raw / "SOC.tif"), soc_scale=0.5, output=str(raw))
    before = (raw / "SOC.tif").read_bytes()
    for overwrite in (False, True):
        with pytest.raises(InputError, match=r"SOC.tif: \[prepare\]\.soc is a raw input and"):
            prepare(table, overwrite=overwrite)
    assert (raw / "SOC.tif").read_bytes() == before
    assert not (raw / "gsocseq.toml").exists()
    # a template's file (land use of one year), a link to an output, the TOML itself
    table.update(soc=str(tmp_path / "raw" / "soc_map.tif"))
    (raw / "SOC.tif").rename(raw / "soc_map.tif")
    (raw / "ESACCI_2002.tif").rename(raw / "LandUse_2001-2002.tif")
    table["land_use"] = [str(raw / "ESACCI_2001.tif"), str(raw / "LandUse_2001-2002.tif")]
    with pytest.raises(InputError, match=r"\[prepare\]\.land_use is a raw input"):
        prepare(table, overwrite=True)
    (raw / "LandUse_2001-2002.tif").rename(raw / "ESACCI_2002.tif")
    table["land_use"] = str(raw / "ESACCI_{year}.tif")
    (raw / "Clay.tif").symlink_to(raw / "clay_0-5cm.tif")
    with pytest.raises(InputError, match=r"clay_0-5cm.tif: \[prepare\]\.clay is a raw input"):
        prepare(table, overwrite=True)
    (raw / "Clay.tif").unlink()
    toml = _prepare_toml(raw, dict(table, output="."))
    toml = toml.rename(raw / "gsocseq.toml")
    with pytest.raises(InputError, match=r"the prepare configuration is a raw input"):
        prepare(toml, overwrite=True)
    assert "[prepare" in toml.read_text()


def test_unscaled_terraclimate_temperature_is_an_error(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    _terraclimate(tmp_path / "raw", range(1981, 1983), meta_scale=False)
    with pytest.raises(InputError, match=r"scale = 0\.1"):
        prepare(table)
    # with the scale given in the configuration it works
    for k in ("tmax", "tmin", "pet"):
        table["climate"][k] = {"path": table["climate"][k], "scale": 0.1}
    _terraclimate(tmp_path / "raw", range(2001, 2003), meta_scale=False)
    out = prepare(table, overwrite=True).parent
    assert "(configuration)" in (out / "prepare_report.md").read_text()


def test_unknown_keys_suggest(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    table["clay_scal"] = 0.1
    with pytest.raises(ConfigError, match=r"unknown key 'clay_scal'.*did you mean 'clay_scale'"):
        prepare(table)
    del table["clay_scal"]
    table["climate"]["warmup_year"] = [2001, 2020]
    with pytest.raises(ConfigError, match="did you mean 'warmup_years'"):
        prepare(table)


def test_cli_error_exit_code(tmp_path: Path) -> None:
    toml = tmp_path / "p.toml"
    toml.write_text('[prepare]\nsoc = "x.tif"\n')
    res = CliRunner().invoke(prepare_command, [str(toml)])
    assert res.exit_code == 2
    assert res.output.startswith("Error: [prepare]: missing 'clay'")


def test_geojson_polygon_crs(tmp_path: Path) -> None:
    p = tmp_path / "a.geojson"
    p.write_text(
        '{"type": "FeatureCollection", "crs": {"type": "name", "properties": '
        '{"name": "EPSG:3857"}}, "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}'
    )
    geoms, crs = read_polygons(p)
    assert crs.to_epsg() == 3857 and geoms[0]["type"] == "Polygon"


def test_crs_that_cannot_be_transformed_is_named(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    src = Path(table["clay"][0])
    with rasterio.open(src) as ds:
        profile, data = ds.profile, ds.read()
    # a local engineering CRS: no transformation to any geographic or projected CRS exists
    profile["crs"] = rasterio.crs.CRS.from_wkt(
        'LOCAL_CS["local grid",LOCAL_DATUM["site",0],UNIT["metre",1],'
        'AXIS["X",EAST],AXIS["Y",NORTH]]'
    )
    bad = tmp_path / "clay_local.tif"
    with rasterio.open(bad, "w", **profile) as ds:
        ds.write(data)
    table["clay"] = [str(bad), *table["clay"][1:]]
    with pytest.raises(InputError, match=r"clay_local.tif: cannot be transformed from its CRS"):
        prepare(table)


# ---------------------------------------------------------------------------------------------
# gaps, failures, units, file modes, coastal fill, land-use majority (issue 15)


def test_partial_gaps_become_nodata_in_all_bands_and_are_counted(tmp_path: Path) -> None:
    """A pixel valid in only some bands of a series (an NDVI cloud gap in March, a missing
    March 2001 of precipitation) is nodata in every band of that series, counted in the
    report; the run then counts it as nodata (not modelled)."""
    table = _raw_inputs(tmp_path)
    table["climate"]["coastal_fill_km"] = 0
    raw = tmp_path / "raw"
    merc_t = from_origin(11110000.0, 1630000.0, 2000.0, 2000.0)
    gap = np.full((40, 40), 0.5)
    gap[5:12, 10:20] = -999.0  # cloud gap
    _tif(raw / "ndvi_prop_03.tif", gap, "EPSG:3857", merc_t)
    with rasterio.open(raw / "pr_2001.tif", "r+") as ds:
        march = ds.read(3)
        march[:, 5:8] = -32768
        ds.write(march, 3)
    out = prepare(table).parent
    inside = np.isfinite(_read(out / "SOC.tif")[0])
    for name, bands in (("Cover.tif", 12), ("Prec_2001-2002.tif", 24)):
        data = _read(out / name)
        assert data.shape[0] == bands
        valid = np.isfinite(data).sum(axis=0)
        assert set(np.unique(valid[inside])) <= {0, bands}, name  # all bands or none
    cover_gap = inside & np.isnan(_read(out / "Cover.tif")[0])
    prec_gap = inside & np.isnan(_read(out / "Prec_2001-2002.tif")[0])
    # the gaps reached some pixels only, and only those (the west is sea in every month)
    sea = inside & np.isnan(_read(out / "Temp_2001-2002.tif")[0])
    assert cover_gap.sum() > 0 and (prec_gap & ~sea).sum() > 0
    report = (out / "prepare_report.md").read_text()
    n_prec = int((prec_gap & ~sea).sum())
    assert f"Prec_2001-2002.tif: {n_prec} pixels valid in some months only" in report
    assert f"{int(cover_gap.sum())} partially valid set to nodata" in report

    import gsocseq

    summary = gsocseq.run(out / "gsocseq.toml", quiet=True)
    assert summary.counts["nodata:cover"] == int(cover_gap.sum())
    t0 = _read(Path(summary.output) / "TST_GSOCseq_T0_Map030.tif")[0]
    assert np.isnan(t0[cover_gap | prec_gap]).all()
    assert np.isfinite(t0[inside & ~cover_gap & ~prec_gap & ~sea]).all()


def test_failed_prepare_leaves_nothing_it_wrote(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    out = Path(table["output"])
    (tmp_path / "raw" / "pr_2002.tif").rename(tmp_path / "pr_2002.tif")  # fails in the climate
    with pytest.raises(InputError, match=r"pr_2002\.tif: file not found"):
        prepare(table)
    assert not out.exists()  # the folder it created is gone too
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError):
        prepare(table)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    # the corrected rerun does not refuse ("already exists")
    (tmp_path / "pr_2002.tif").rename(tmp_path / "raw" / "pr_2002.tif")
    prepare(table)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    # a failing --overwrite keeps every earlier file as it was
    (tmp_path / "raw" / "pr_2002.tif").unlink()
    with pytest.raises(InputError):
        prepare(table, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_an_overwrite_stopped_while_publishing_leaves_no_run_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prepare --overwrite stopped (a signal) between two of the moves that publish its
    files left the earlier gsocseq.toml naming new SOC.tif beside earlier clay, climate...: a
    run of it mixed two preparations, silently."""
    import gsocseq.prepare as prep

    table = _raw_inputs(tmp_path)
    out = prepare(table).parent
    moves = []
    real = os.replace

    def stop_at_the_third_raster(src: Any, dst: Any) -> None:
        if Path(dst).parent == out and str(dst).endswith(".tif"):  # publishing
            moves.append(dst)
            if len(moves) == 3:
                raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(prep.os, "replace", stop_at_the_third_raster)
    with pytest.raises(KeyboardInterrupt):
        prepare(dict(table, soc_scale=0.5), overwrite=True)
    monkeypatch.setattr(prep.os, "replace", real)
    assert len(moves) == 3
    assert not (out / "gsocseq.toml").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".gsocseq-prepare-")]
    prepare(dict(table, soc_scale=0.5), overwrite=True)  # the rerun completes it
    assert (out / "gsocseq.toml").exists()


def test_a_unit_error_names_the_raw_input_and_the_output_folder(tmp_path: Path) -> None:
    """SOC in kg C/ha: the error names the raw SOC file and the output folder, never the
    prepared SOC.tif that prepare never wrote."""
    table = _raw_inputs(tmp_path)
    raw_soc = tmp_path / "raw" / "soc.tif"
    _tif(raw_soc, np.full((10, 12), 40000.0), UTM, UTM_T)
    out = Path(table["output"])
    with pytest.raises(InputError) as failed:
        prepare(table)
    text = str(failed.value)
    assert text.startswith(f"[prepare].soc ({raw_soc})"), text
    assert "soc_scale by 0.001" in text and f"nothing was written into {out}:" in text
    assert "SOC.tif" not in text and ".gsocseq-prepare-" not in text
    assert not out.exists()


def test_ndvi_shares_in_percent_are_an_error_with_a_hint(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    merc_t = from_origin(11110000.0, 1630000.0, 2000.0, 2000.0)
    for m in range(1, 13):
        _tif(tmp_path / "raw" / f"ndvi_prop_{m:02d}.tif", np.full((40, 40), 50.0), "EPSG:3857",
             merc_t)  # fmt: skip
    with pytest.raises(InputError, match=r"ndvi_prop_01.tif: band 1: NDVI share P_veg = 50 .*"
                       r"percent\? set cover_scale = 0\.01"):  # fmt: skip
        prepare(table)
    table["cover_scale"] = 0.01
    out = prepare(table).parent
    inside = np.isfinite(_read(out / "SOC.tif")[0])
    np.testing.assert_allclose(_read(out / "Cover.tif")[:, inside], 0.8, rtol=1e-6)


def test_written_files_get_the_users_umask(tmp_path: Path) -> None:
    import os
    import stat

    from gsocseq import demo

    old = os.umask(0o027)
    try:
        table = _raw_inputs(tmp_path)
        out = prepare(table).parent
        inputs = demo.generate_inputs(tmp_path / "demo").parent
    finally:
        os.umask(old)
    files = [p for p in (*out.iterdir(), *inputs.iterdir()) if p.is_file()]
    assert len(files) > 20
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {oct(0o640)}, modes


def _fill_grid(crs: str, transform: Any, shape: tuple[int, int]) -> Any:
    from gsocseq.prepare.grid import Grid

    return Grid(
        crs=rasterio.crs.CRS.from_user_input(crs),
        transform=transform,
        height=shape[0],
        width=shape[1],
        inside=np.ones(shape, dtype=bool),
    )


def test_coastal_fill_radius_follows_the_distance() -> None:
    """On a 10 m grid, a valid pixel 7 km away (700 pixels) fills with coastal_fill_km = 10
    (the search was capped at 500 pixels)."""
    from gsocseq.prepare.climate import CoastalFill

    grid = _fill_grid(UTM, from_origin(600000.0, 1600000.0, 10.0, 10.0), (3, 800))
    values = np.full(grid.shape, np.nan)
    values[:, 0] = 7.0
    filled = CoastalFill(grid, 10.0)("precipitation", values)
    assert np.all(filled[:, :701] == 7.0) and np.all(filled[:, 701:] == 7.0)  # 7.99 km
    near = CoastalFill(grid, 5.0)("precipitation", values)
    assert np.all(near[:, :501] == 7.0) and np.isnan(near[:, 501:]).all()


def test_coastal_fill_takes_the_nearest_valid_pixel() -> None:
    """Every filled pixel takes a valid pixel at the smallest distance (km, longitude degrees
    x 111.32 cos(latitude) of the pixel's row, latitude x 110.574) within the radius: against
    all pairs by brute force, on a geographic grid with a random coast."""
    from gsocseq.prepare.climate import CoastalFill

    rng = np.random.default_rng(3)
    grid = _fill_grid("EPSG:4326", from_origin(20.0, 62.0, 0.02, 0.01), (40, 50))
    valid = rng.uniform(size=grid.shape) < 0.05
    values = np.where(valid, rng.uniform(1, 2, grid.shape), np.nan)
    filled = CoastalFill(grid, 3.0)("temperature", values)
    lat = 62.0 - (np.arange(40) + 0.5) * 0.01
    dx = 0.02 * 111.320 * np.cos(np.radians(lat))
    vr, vc = np.nonzero(valid)
    for r, c in zip(*np.nonzero(~valid)):
        dist = np.hypot((vr - r) * 0.01 * 110.574, (vc - c) * dx[r])
        within = dist <= 3.0
        if not within.any():
            assert np.isnan(filled[r, c])
            continue
        nearest = dist[within].min()
        choices = values[vr[within][dist[within] == nearest], vc[within][dist[within] == nearest]]
        assert filled[r, c] in choices, (r, c)


def test_land_use_majority_of_fao_classes(tmp_path: Path) -> None:
    """A finer land-use grid (3 x 3 source pixels per master pixel): every source pixel
    reclassified to its FAO class first, then the majority; ties: the tied class of the
    source pixel nearest the master pixel's centre (METHOD.md section 2)."""
    table = _raw_inputs(tmp_path)
    lu = np.full((30, 36), 130, dtype=np.uint8)  # grassland
    # master pixel (1, 1): 3 x code 10 + 2 x code 11 (cropland 5/9), 4 x grassland
    lu[3:6, 3:6] = [[10, 130, 11], [130, 10, 130], [11, 130, 10]]
    # master pixel (1, 2): 4 cropland corners, 4 grassland edges, forest centre: tie between
    # cropland and grassland, the grassland pixels are nearer the centre
    lu[3:6, 6:9] = [[10, 130, 10], [130, 60, 130], [10, 130, 10]]
    # master pixel (1, 3): the same tie with the sides swapped
    lu[3:6, 9:12] = [[130, 10, 130], [10, 60, 10], [130, 10, 130]]
    # master pixel (1, 4): one of each of 9 classes' codes but 2 x tree (50, 60): tree
    lu[3:6, 12:15] = [[10, 50, 130], [120, 60, 160], [150, 190, 210]]
    src_t = from_origin(600000.0, 1600000.0, 1000.0 / 3, 1000.0 / 3)
    raw = tmp_path / "raw"
    for y in range(WARM[0], WARM[1] + 1):
        _tif(raw / f"ESACCI_{y}.tif", lu, UTM, src_t, nodata=None, dtype="uint8")
    out = prepare(table).parent
    got = _read(out / "LandUse_2001-2002.tif")[-1]
    assert got[1, 1] == 2  # was grassland with the mode of the ESA codes (130 x 4)
    assert got[1, 2] == 3
    assert got[1, 3] == 2
    assert got[1, 4] == 4
    assert got[5, 5] == 3


def test_report_counts_the_parts_of_a_multipolygon(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    a = [[99.95, 14.30], [100.0, 14.30], [100.0, 14.35], [99.95, 14.35], [99.95, 14.30]]
    b = [[100.03, 14.40], [100.08, 14.40], [100.08, 14.45], [100.03, 14.45], [100.03, 14.40]]
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        f'"geometry": {{"type": "MultiPolygon", "coordinates": [[{a}], [{b}]]}}}}]}}'
    )
    table["aoi"] = str(aoi)
    out = prepare(table).parent
    assert "`aoi.geojson` (2 polygon(s)" in (out / "prepare_report.md").read_text()


def test_land_use_majority_against_brute_force_whatever_the_block(tmp_path: Path) -> None:
    """Random ESA codes on a finer grid not aligned with the master grid (0.0035 vs 0.01
    degrees): every master pixel against the rule computed pixel by pixel, for three block
    sizes."""
    from gsocseq.classes import ESA_TO_FAO
    from gsocseq.prepare.land_use import _land_use_classes

    rng = np.random.default_rng(11)
    codes = np.array([10, 11, 30, 130, 50, 60, 120, 150, 210], dtype=np.uint8)
    src = codes[rng.integers(0, len(codes), (70, 90))]
    src[rng.uniform(size=src.shape) < 0.03] = 255  # nodata
    src_t = from_origin(100.0013, 14.5009, 0.0035, 0.0035)
    path = _tif(tmp_path / "lu.tif", src, "EPSG:4326", src_t, nodata=255, dtype="uint8")
    master_t = from_origin(100.002, 14.499, 0.01, 0.01)
    grid = _fill_grid("EPSG:4326", master_t, (22, 28))
    lut_codes = np.array(sorted(ESA_TO_FAO))
    lut_vals = np.array([ESA_TO_FAO[c] for c in lut_codes])
    # by hand: the source centres of each master pixel, their FAO classes, the majority, ties
    # by the nearest tied source pixel, then the smaller class
    ii, jj = np.nonzero(src != 255)
    sx = 100.0013 + (jj + 0.5) * 0.0035
    sy = 14.5009 - (ii + 0.5) * 0.0035
    col = np.floor((sx - 100.002) / 0.01).astype(int)
    row = np.floor((14.499 - sy) / 0.01).astype(int)
    cls = np.array([ESA_TO_FAO[int(v)] for v in src[ii, jj]])
    want = np.full(grid.shape, -1)
    for r in range(grid.height):
        for c in range(grid.width):
            at = (row == r) & (col == c)
            if not at.any():
                continue
            counts = np.bincount(cls[at], minlength=14)
            tied = np.flatnonzero(counts == counts.max())
            cx, cy = 100.002 + (c + 0.5) * 0.01, 14.499 - (r + 0.5) * 0.01
            d2 = np.round(((sx[at] - cx) ** 2 + (sy[at] - cy) ** 2) / 1e-4, 9)
            pick = [(d, k) for d, k in zip(d2, cls[at]) if k in tied]
            want[r, c] = min(pick)[1]
    assert (want >= 0).all()
    with rasterio.open(path) as ds:
        for block in (28, 200, 100_000):
            got = _land_use_classes(ds, 1, grid, lut_codes, lut_vals, "esa", block_pixels=block)
            assert np.array_equal(got, want), block


def test_land_use_of_fewer_years_than_the_warm_up_is_said(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    table["land_use"] = table["land_use"].format(year=2002)  # one year for two
    cfg = prepare({"prepare": table})
    out = cfg.parent
    with rasterio.open(out / "LandUse_2001-2002.tif") as ds:
        assert ds.count == 1 and ds.descriptions[0] == "2002 FAO land-use class"
    report = (out / "prepare_report.md").read_text()
    assert "land use: 1 band(s) for 2 warm-up years" in report and "2001-2002" in report


def test_soil_water_layers_for_the_dryland_moisture_options(tmp_path: Path) -> None:
    table = _raw_inputs(tmp_path)
    raw = tmp_path / "raw"
    fine_t = from_origin(99.85, 14.55, 0.005, 0.005)
    # SoilGrids units: silt g/kg, bdod cg/cm3, 3 layer means
    for name, silt, bd in (("0-5", 300, 120), ("5-15", 360, 130), ("15-30", 420, 140)):
        _tif(raw / f"silt_{name}cm.tif", np.full((40, 60), float(silt)), "EPSG:4326", fine_t)
        _tif(raw / f"bdod_{name}cm.tif", np.full((40, 60), float(bd)), "EPSG:4326", fine_t)
    layers = ("0-5", "5-15", "15-30")
    table["silt"] = [str(raw / f"silt_{n}cm.tif") for n in layers]
    table["silt_scale"] = 0.1
    table["bulk_density"] = [str(raw / f"bdod_{n}cm.tif") for n in layers]
    bad = {**table, "output": str(tmp_path / "bad")}
    with pytest.raises(InputError, match=r"bulk_density: median 133.*cg/cm3.*by 0.01"):
        prepare({"prepare": bad})
    assert not (tmp_path / "bad" / "BulkDensity.tif").exists()
    table["bulk_density_scale"] = 0.01
    table["run"] = {**table["run"], "moisture": "farina-2"}
    cfg = prepare({"prepare": table})
    out = cfg.parent
    inside = np.isfinite(_read(out / "SOC.tif")[0])
    silt = _read(out / "Silt.tif")[0]
    np.testing.assert_allclose(silt[inside], (30 * 5 + 36 * 10 + 42 * 15) / 30, rtol=1e-6)
    bd = _read(out / "BulkDensity.tif")[0]
    np.testing.assert_allclose(bd[inside], (1.2 * 5 + 1.3 * 10 + 1.4 * 15) / 30, rtol=1e-6)
    text = cfg.read_text()
    assert 'silt = "Silt.tif"' in text and 'bulk_density = "BulkDensity.tif"' in text
    assert 'moisture = "farina-2"' in text
    import gsocseq

    summary = gsocseq.run(cfg, quiet=True)
    assert summary.options["moisture"] == "farina-2"
    assert summary.modelled == int(inside.sum())


def test_tile_size_tiles_every_raster_and_changes_no_value(tmp_path: Path) -> None:
    """--tile-size (and [prepare] tile_size): every raster written tiled N x N where the grid
    is larger than a tile, the values those of the default tiles (strips on this small grid)."""
    table = _raw_inputs(tmp_path)
    # a master grid of 40 x 48 pixels of 250 m over the same area
    _tif(
        tmp_path / "raw" / "soc.tif",
        np.full((40, 48), 40.0),
        UTM,
        from_origin(600000.0, 1600000.0, 250.0, 250.0),
    )
    default = prepare(table, overwrite=True).parent
    rasters = sorted(p.name for p in default.glob("*.tif"))
    assert len(rasters) >= 13
    before = {}
    for name in rasters:
        with rasterio.open(default / name) as ds:
            assert not ds.profile["tiled"]  # strips: the grid is smaller than 256
            before[name] = ds.read()
    table["output"] = str(tmp_path / "tiled")
    tiled = prepare(table, tile_size=16).parent
    for name in rasters:
        with rasterio.open(tiled / name) as ds:
            assert set(ds.block_shapes) == {(16, 16)}, name
            assert np.array_equal(ds.read(), before[name], equal_nan=True), name
    # the table's key, and the command line's option before it
    table["output"] = str(tmp_path / "by_table")
    table["tile_size"] = 32
    with rasterio.open(prepare(table).parent / "SOC.tif") as ds:
        assert ds.block_shapes[0] == (32, 32)
    table["output"] = str(tmp_path / "by_option")
    with rasterio.open(prepare(table, tile_size=16).parent / "SOC.tif") as ds:
        assert ds.block_shapes[0] == (16, 16)


@pytest.mark.parametrize("size", [0, 8, 100, 250, 8192, "128"])
def test_tile_size_not_a_multiple_of_16_is_refused(tmp_path: Path, size: Any) -> None:
    table = _raw_inputs(tmp_path)
    table["tile_size"] = size
    words = "multiple of 16" if isinstance(size, int) else "whole number"
    with pytest.raises(ConfigError, match=rf"\[prepare\].tile_size: .*{words}"):
        prepare(table)
    assert not (tmp_path / "prepared").exists()
    toml = tmp_path / "p.toml"
    toml.write_text('[prepare]\nsoc = "x.tif"\n')
    if isinstance(size, int):
        res = CliRunner().invoke(prepare_command, [str(toml), "--tile-size", str(size)])
        assert res.exit_code == 2
        assert "--tile-size: expected a multiple of 16" in res.output


TERM_AFTER_THE_CLIMATE = """
import os, signal, sys, time
import gsocseq.prepare as prepare

write_climate = prepare.write_climate
def then_term(*args, **kwargs):
    done = write_climate(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)  # a batch scheduler's time limit
    time.sleep(10)
    return done
prepare.write_climate = then_term
from gsocseq.cli import main
main(sys.argv[1:])
"""


def test_prepare_stopped_by_sigterm_leaves_nothing_it_wrote(tmp_path: Path) -> None:
    # before: killed on the spot (exit -15), its hidden stage of prepared rasters left in the
    # output folder
    import subprocess
    import sys

    table = _raw_inputs(tmp_path)
    toml = _prepare_toml(tmp_path, table)
    res = subprocess.run(
        [sys.executable, "-c", TERM_AFTER_THE_CLIMATE, "prepare", str(toml), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 143, res.stderr
    assert "interrupted: nothing prepared" in res.stderr and "Traceback" not in res.stderr
    assert not Path(table["output"]).exists()  # the folder it created is gone too
