"""gsocseq prepare against expectations written from METHOD.md sections 1, 2, 4 and 10 and
the products' own legends alone (not from gsocseq's code): every code of the built-in
reclass tables, the land-use majority on a finer grid (centres on edges, ties, nodata) and
on a coarser one, TerraClimate scaling and band order, the MIAMI NPP reference, clay depth
weighting, the cover factor, and bilinear reprojection onto the SOC grid (exact on a field
linear in the source grid's pixel coordinates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform as warp_transform

from gsocseq.classes import ESA_TO_FAO
from gsocseq.prepare import prepare

CRS = "EPSG:32631"
X0, Y0, PX = 500000.0, 4000000.0, 300.0
MASTER = from_origin(X0, Y0, PX, PX)
N = 255  # land-use nodata of the test files

#: METHOD.md section 2, as written there
SPEC_ESA = {
    0: 0, 190: 1, 10: 2, 11: 2, 30: 2, 40: 2, 130: 3,
    **{c: 4 for c in (50, 60, 61, 62, 70, 71, 72, 80, 81, 82, 90, 100, 110)},
    120: 5, 121: 5, 122: 5, 160: 6, 180: 6, 170: 7, 150: 8, 151: 8, 152: 8, 153: 8,
    200: 9, 201: 9, 202: 9, 220: 10, 210: 11, 12: 12, 20: 13,
}  # fmt: skip
#: Copernicus Global Land Cover 100 m (CGLS-LC100 discrete classification legend)
COPERNICUS = {
    0: 0, 20: 5, 30: 3, 40: 2, 50: 1, 60: 9, 70: 10, 80: 11, 90: 6, 100: 0, 200: 0,
    **{c: 4 for c in (111, 112, 113, 114, 115, 116, 121, 122, 123, 124, 125, 126)},
}  # fmt: skip
#: ESA WorldCover 10 m legend
WORLDCOVER = {10: 4, 20: 5, 30: 3, 40: 2, 50: 1, 60: 9, 70: 10, 80: 11, 90: 6, 95: 7, 100: 0}
#: FAO GLC-SHARE: the 11 classes keep their codes
GLC_SHARE = {c: c for c in range(1, 12)}


def _tif(path: Path, data: Any, transform: Any, nodata: Optional[float] = -999.0,
         dtype: str = "float32", crs: str = CRS) -> str:  # fmt: skip
    a = np.array(data, ndmin=3)
    with rasterio.open(path, "w", driver="GTiff", height=a.shape[1], width=a.shape[2],
                       count=a.shape[0], dtype=dtype, crs=crs, transform=transform,
                       nodata=nodata) as ds:  # fmt: skip
        ds.write(a.astype(dtype))
    return str(path)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        assert ds.transform == MASTER and ds.crs == rasterio.crs.CRS.from_string(CRS)
        return ds.read().astype(np.float64)


Field = Callable[[int, int], Any]


def _inputs(tmp: Path, h: int, w: int, spin: tuple[int, int] = (1981, 1982),
            warm: tuple[int, int] = (2001, 2002), fields: Optional[dict[str, Field]] = None,
            climate_grid: Any = MASTER, climate_crs: str = CRS) -> dict:  # fmt: skip
    """A prepare table on an h x w master grid: SOC 50, clay 20, TerraClimate-like yearly
    12-band int16 files (T and PET x 10) on ``climate_grid``, land use still to be given."""
    tmp.mkdir(parents=True, exist_ok=True)
    fields = fields or {}
    defaults = {"tmmx": 250, "tmmn": 50, "pr": 80, "pet": 700}
    _tif(tmp / "soc.tif", np.full((h, w), 50.0), MASTER)
    _tif(tmp / "clay.tif", np.full((h, w), 20.0), MASTER)
    for y in [*range(spin[0], spin[1] + 1), *range(warm[0], warm[1] + 1)]:
        for name, v in defaults.items():
            f = fields.get(name)
            bands = [f(y, m) if f else np.full((h, w), v) for m in range(12)]
            _tif(tmp / f"{name}_{y}.tif", bands, climate_grid, -32768, "int16", climate_crs)
    return {
        "name": "TST",
        "output": str(tmp / "out"),
        "soc": str(tmp / "soc.tif"),
        "clay": str(tmp / "clay.tif"),
        "quicklooks": False,
        "cover_defaults": {"other": 1.0},
        "climate": {
            "source": "terraclimate",
            "tmax": {"path": str(tmp / "tmmx_{year}.tif"), "scale": 0.1},
            "tmin": {"path": str(tmp / "tmmn_{year}.tif"), "scale": 0.1},
            "precipitation": str(tmp / "pr_{year}.tif"),
            "pet": {"path": str(tmp / "pet_{year}.tif"), "scale": 0.1},
            "spinup_years": list(spin),
            "warmup_years": list(warm),
        },
    }


def _land_use(tmp: Path, table: dict, src: Any, transform: Any, **kw: Any) -> np.ndarray:
    table["land_use"] = _tif(tmp / "lu.tif", np.stack([src, src]), transform, N, "uint8")
    table.update(kw)
    out = prepare({"prepare": table}, overwrite=True).parent
    return _read(out / "LandUse_2001-2002.tif")


def test_every_code_of_every_builtin_table(tmp_path: Path) -> None:
    assert dict(ESA_TO_FAO) == SPEC_ESA
    for name, legend in (("esa-cci", SPEC_ESA), ("copernicus", COPERNICUS),
                         ("worldcover", WORLDCOVER), ("glc-share", GLC_SHARE)):  # fmt: skip
        codes = sorted(legend)
        table = _inputs(tmp_path / name, 1, len(codes))
        got = _land_use(tmp_path / name, table, [codes], MASTER, land_use_table=name)
        assert got.tolist() == [[[legend[c] for c in codes]]] * 2, name


def test_land_use_majority_edges_ties_nodata_and_a_coarser_grid(tmp_path: Path) -> None:
    """200 m source pixels on the 300 m grid: a master cell holds the centres on its left
    and top edges only (1, 2 or 4 centres); ties go to the source pixel nearest the master
    pixel's centre; nodata is not counted. Coarser (600 m) source: the class under the
    master pixel's centre, nodata staying nodata."""
    table = _inputs(tmp_path, 2, 3)
    src = [
        [190, 10, 130, 50, 10],  # (0, 1): crop at 150 m, grass at 50 m from the centre: 3
        [130, 10, 130, 130, 20],  # (1, 1): 2 crop, 2 grass, grass (2, 2) nearest: 3
        [N, 10, 130, 10, 20],  # (1, 0): grass + nodata: 3; (1, 2): crop nearest: 2
    ]
    got = _land_use(tmp_path, table, src, from_origin(X0, Y0, 200.0, 200.0))
    assert got[-1].tolist() == [[1, 3, 4], [3, 3, 2]]
    coarse = from_origin(X0 - 100, Y0 + 100, 600.0, 600.0)
    got = _land_use(tmp_path, table, [[N, 130], [10, 10]], coarse, overwrite=True)
    assert got[-1].tolist() == [[N, N, 3], [N, N, 3]]


def test_climate_clay_cover_and_npp_reference(tmp_path: Path) -> None:
    """T = (tmax + tmin) / 2 and PET after their x0.1 scale; the spin-up climatology is the
    month's mean over the spin-up years, the warm-up series year after year, January first;
    the NPP reference the spin-up years' mean of yearly MIAMI NPP (x 0.01 x 0.5, no class
    coefficient), _MIN/_MAX with T x 1.02 / 0.98 and P x 0.95 / 1.05 in every month; clay the
    thickness-weighted mean of the 0-5, 5-15, 15-30 cm layers; c = 1 - 0.4 P_veg; SOC nodata
    is nodata in every layer."""
    h, w = 2, 3
    pix = np.arange(h * w).reshape(h, w)
    fields: dict[str, Field] = {
        "tmmx": lambda y, m: 150 + 10 * m + 3 * (y % 10) + 7 * pix,
        "tmmn": lambda y, m: -40 + 5 * m - (y % 10) + 2 * pix,
        "pr": lambda y, m: 5 + 20 * m + (y % 7) * 3 + 11 * pix,
        "pet": lambda y, m: 300 + 25 * m + (y % 5) * 4 + 13 * pix,
    }
    spin, warm = (1981, 1983), (2001, 2002)
    table = _inputs(tmp_path, h, w, spin, warm, fields)
    soc = np.array([[50.0, 0.0, -999.0], [30.0, 80.0, 250.0]])
    _tif(tmp_path / "soc.tif", soc, MASTER)
    layers = [_tif(tmp_path / f"clay{i}.tif", 100.0 * (i + 1) + pix, MASTER) for i in range(3)]
    share = np.stack([np.full((h, w), m / 11) for m in range(12)])
    del table["cover_defaults"]
    table.update(clay=layers, clay_scale=0.1, cover=_tif(tmp_path / "cov.tif", share, MASTER))
    _land_use(tmp_path, table, np.full((h, w), 10), MASTER)
    out = tmp_path / "out"

    def t(y: int, m: int) -> Any:
        return (fields["tmmx"](y, m) * 0.1 + fields["tmmn"](y, m) * 0.1) / 2

    def p(y: int, m: int) -> Any:
        return fields["pr"](y, m) * 1.0

    def e(y: int, m: int) -> Any:
        return fields["pet"](y, m) * 0.1

    def miami(y: int, ft: float, fp: float) -> Any:
        tmean = np.mean([t(y, m) * ft for m in range(12)], axis=0)
        psum = np.sum([p(y, m) * fp for m in range(12)], axis=0)
        npp_t = 3000 / (1 + np.exp(1.315 - 0.119 * tmean))
        npp_p = 3000 * (1 - np.exp(-0.000664 * psum))
        return np.minimum(npp_t, npp_p) * 0.01 * 0.5

    sy, wy = range(spin[0], spin[1] + 1), range(warm[0], warm[1] + 1)
    expected = {"Clay.tif": ((100 + pix) * 5 + (200 + pix) * 10 + (300 + pix) * 15) / 300,
                "Cover.tif": 1 - 0.4 * share, "SOC.tif": soc}  # fmt: skip
    for name, f in (("Temp", t), ("Prec", p), ("PET", e)):
        expected[f"{name}_1981-1983.tif"] = [np.mean([f(y, m) for y in sy], 0) for m in range(12)]
        expected[f"{name}_2001-2002.tif"] = [f(y, m) for y in wy for m in range(12)]
    for suffix, ft, fp in (("", 1.0, 1.0), ("_MIN", 1.02, 0.95), ("_MAX", 0.98, 1.05)):
        npp = np.mean([miami(y, ft, fp) for y in sy], 0)
        expected[f"NPP_MIAMI_MEAN_1981-1983{suffix}.tif"] = npp
    area = soc != -999.0
    for name, want in expected.items():
        got, want = _read(out / name), np.array(want, ndmin=3)
        assert got.shape == want.shape, name
        assert (got[:, ~area] == -999.0).all(), name
        np.testing.assert_allclose(got[:, area], want[:, area], rtol=1e-6, err_msg=name)


def test_climate_reprojected_bilinearly_onto_the_soc_grid(tmp_path: Path) -> None:
    """A geographic 0.004 degree climate grid around the UTM master grid holding a field linear
    in its pixel coordinates: bilinear resampling gives, at each master pixel's centre, the
    field at that centre's position in the source grid."""
    h, w = 2, 3
    corners = warp_transform(CRS, "EPSG:4326", [X0, X0 + w * PX], [Y0 - h * PX, Y0])
    dx = 0.004
    lon0 = np.floor(min(corners[0]) / dx) * dx - 2 * dx
    lat0 = np.ceil(max(corners[1]) / dx) * dx + 2 * dx
    cols, rows = np.meshgrid(np.arange(8), np.arange(6))
    field = 100 + 3 * cols + 2 * rows  # tenths of a degree C
    fields: dict[str, Field] = {"tmmx": lambda y, m: field, "tmmn": lambda y, m: field}
    grid = from_origin(lon0, lat0, dx, dx)
    table = _inputs(tmp_path, h, w, fields=fields, climate_grid=grid, climate_crs="EPSG:4326")
    _land_use(tmp_path, table, np.full((h, w), 10), MASTER)
    cx, cy = np.meshgrid(X0 + (np.arange(w) + 0.5) * PX, Y0 - (np.arange(h) + 0.5) * PX)
    lon, lat = warp_transform(CRS, "EPSG:4326", cx.ravel(), cy.ravel())
    col = (np.array(lon) - lon0) / dx - 0.5
    row = (lat0 - np.array(lat)) / dx - 0.5
    want = ((100 + 3 * col + 2 * row) * 0.1).reshape(h, w)
    got = _read(tmp_path / "out" / "Temp_2001-2002.tif")
    np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), atol=1e-5)


def test_land_use_of_some_years_only_is_nodata_in_every_year(tmp_path: Path) -> None:
    """A pixel with a class in some warm-up years only (a year's source not covering it) is
    invalid input for the run (METHOD.md section 2: nodata in some bands of a quantity);
    prepare sets it to nodata in every year, as it does for the climate series, and says so.
    (Was: written as is, then left out by the run as 'nodata in every band'.)"""
    table = _inputs(tmp_path, 2, 3)
    first, last = np.full((2, 3), 10), np.full((2, 3), 130)
    first[0, 0], last[1, 2] = N, N
    table["land_use"] = _tif(tmp_path / "lu.tif", [first, last], MASTER, N, "uint8")
    out = prepare({"prepare": table}).parent
    assert _read(out / "LandUse_2001-2002.tif").tolist() == [
        [[N, 2, 2], [2, 2, N]],
        [[N, 3, 3], [3, 3, N]],
    ]
    assert (
        "land use: 2 pixels with a class in some years only set to nodata"
        in (out / "prepare_report.md").read_text()
    )
