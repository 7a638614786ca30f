"""The synthetic demonstration area of gsocseq.demo: determinism, grids, units, ranges, config."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from gsocseq import demo

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

FLOAT_FILES = {
    # file: band count (20 warm-up years)
    "SOC.tif": 1,
    "Clay.tif": 1,
    "Sand.tif": 1,
    "EC.tif": 1,
    "Cover.tif": 12,
    "Temp_81-00.tif": 12,
    "Prec_81-00.tif": 12,
    "PET_81-00.tif": 12,
    "Temp_2001-2020.tif": 240,
    "Prec_2001-2020.tif": 240,
    "PET_2001-2020.tif": 240,
    "NPP_MIAMI_MEAN_81-00.tif": 1,
    "NPP_MIAMI_MEAN_81-00_MIN.tif": 1,
    "NPP_MIAMI_MEAN_81-00_MAX.tif": 1,
}
ALL_FILES = {**FLOAT_FILES, "LandUse.tif": 20}
MODELLED = (2, 3, 5, 12, 13)


def _read(folder: Path, name: str) -> np.ndarray:
    with rasterio.open(folder / name) as src:
        return src.read()


@pytest.fixture(scope="module")
def area(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """inputs/ folder of the default demo (seed 0, 60 x 80, 20 years)."""
    config = demo.generate_inputs(tmp_path_factory.mktemp("demo0"))
    return config.parent


@pytest.fixture(scope="module")
def layers(area: Path) -> dict[str, np.ndarray]:
    """Every raster as read (raw values, nodata included)."""
    return {name: _read(area, name) for name in ALL_FILES}


@pytest.fixture(scope="module")
def lake(layers: dict[str, np.ndarray]) -> np.ndarray:
    return layers["SOC.tif"][0] == demo.NODATA


def _valid(a: np.ndarray, lake: np.ndarray) -> np.ndarray:
    """Values of (bands, rows, cols) ``a`` off the lake, as (bands, pixels) float64."""
    return a[:, ~lake].astype(np.float64)


# --- miami_npp -------------------------------------------------------------------------------


def _miami_by_hand(t_mean: float, p_sum: float) -> float:
    npp_t = 3000.0 / (1.0 + math.exp(1.315 - 0.119 * t_mean))
    npp_p = 3000.0 * (1.0 - math.exp(-0.000664 * p_sum))
    return min(npp_t, npp_p) * 0.01 * 0.5


def test_miami_npp_hand_values() -> None:
    # T_mean = 10, P_sum = 1000: NPP_T = 3000 / (1 + e^0.125) = 1406.37 g DM/m2 (limiting),
    # NPP_P = 3000 (1 - e^-0.664) = 1455.64 -> 1406.37 * 0.005 = 7.03186 t C/ha/yr
    npp = demo.miami_npp(np.full(12, 10.0), np.full(12, 1000.0 / 12))
    assert npp.shape == ()
    assert float(npp) == pytest.approx(7.03186, abs=1e-5)
    # T_mean = 25, P_sum = 300: water-limited, NPP_P = 3000 (1 - e^-0.1992) = 541.84 -> 2.70921
    t = 25.0 + 3.0 * np.cos(np.arange(12))  # only the mean matters
    t += 25.0 - t.mean()
    p = np.array([0, 0, 10, 20, 40, 60, 70, 50, 30, 20, 0, 0], dtype=float)
    assert p.sum() == 300.0
    assert float(demo.miami_npp(t, p)) == pytest.approx(2.70921, abs=1e-5)


def test_miami_npp_vectorised_and_checked() -> None:
    rng = np.random.default_rng(5)
    t = rng.uniform(-5, 30, (3, 4, 12))
    p = rng.uniform(0, 250, (3, 4, 12))
    npp = demo.miami_npp(t, p)
    assert npp.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            expected = _miami_by_hand(float(t[i, j].mean()), float(p[i, j].sum()))
            assert npp[i, j] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError):
        demo.miami_npp(np.zeros((4, 11)), np.zeros((4, 11)))


# --- files, grids, determinism ---------------------------------------------------------------


def test_files_and_no_leftovers(area: Path) -> None:
    assert sorted(p.name for p in area.iterdir()) == sorted([*ALL_FILES, "gsocseq.toml"])


def test_band_counts_dtypes_nodata_and_grid(area: Path) -> None:
    transform = from_origin(30.0, 5.0, demo.PIXEL_SIZE, demo.PIXEL_SIZE)
    for name, count in ALL_FILES.items():
        with rasterio.open(area / name) as src:
            assert src.count == count, name
            assert src.shape == (60, 80), name
            assert src.crs.to_epsg() == 4326, name
            assert src.transform.almost_equals(transform, precision=1e-12), name
            assert src.res[0] == pytest.approx(30 / 3600, rel=1e-7)
            assert src.compression is not None and src.compression.name.lower() == "deflate"
            if name == "LandUse.tif":
                assert src.dtypes == ("uint8",) * count
                assert src.nodata == 255
            else:
                assert src.dtypes == ("float32",) * count, name
                assert src.nodata == -999.0, name


def test_deterministic_for_a_seed(tmp_path: Path, layers: dict[str, np.ndarray]) -> None:
    again = demo.generate_inputs(tmp_path / "same", seed=0).parent
    other = demo.generate_inputs(tmp_path / "other", seed=1).parent
    differs = []
    for name in ALL_FILES:
        a = _read(again, name)
        assert a.tobytes() == layers[name].tobytes(), name
        differs.append(_read(other, name).tobytes() != a.tobytes())
    assert all(differs)
    assert (again / "gsocseq.toml").read_text() == (other / "gsocseq.toml").read_text()


def test_nodata_is_the_lake_in_every_float_raster(
    layers: dict[str, np.ndarray], lake: np.ndarray
) -> None:
    assert 0.02 <= lake.mean() <= 0.04
    for name in FLOAT_FILES:
        a = layers[name]
        assert np.isfinite(a).all(), name
        nodata = a == demo.NODATA
        assert (nodata == lake[None]).all(), name
    lu = layers["LandUse.tif"]
    assert (lu[:, lake] == 11).all()
    assert not (lu == 255).any()


# --- values ----------------------------------------------------------------------------------


def test_soil_ranges(layers: dict[str, np.ndarray], lake: np.ndarray) -> None:
    soc = _valid(layers["SOC.tif"], lake)[0]
    assert 0 < (soc == 0).sum() < 0.01 * soc.size
    positive = soc[soc > 0]
    assert positive.min() >= 15 and positive.max() <= 150
    assert positive.std() > 10  # a real gradient, not a constant
    clay = _valid(layers["Clay.tif"], lake)[0]
    sand = _valid(layers["Sand.tif"], lake)[0]
    ec = _valid(layers["EC.tif"], lake)[0]
    assert clay.min() >= 5 and clay.max() <= 60
    assert sand.min() >= 5 and sand.max() <= 95
    assert (clay + sand <= 100.0 + 1e-4).all()
    assert 0 < (sand > 90).sum() < 0.01 * sand.size
    assert ec.min() >= 0.1
    assert np.median(ec) <= 2
    assert 0 < (ec > 4).sum() < 0.01 * ec.size


def test_climate_ranges_units_and_gradient(layers: dict[str, np.ndarray], lake: np.ndarray) -> None:
    t = _valid(layers["Temp_81-00.tif"], lake)
    p = _valid(layers["Prec_81-00.tif"], lake)
    pet = _valid(layers["PET_81-00.tif"], lake)
    assert -60 <= t.min() and t.max() <= 60
    assert p.min() >= 0 and pet.min() >= 20 and pet.max() <= 200
    t_ann, p_ann = t.mean(axis=0), p.sum(axis=0)
    assert t_ann.min() == pytest.approx(8, abs=0.5) and t_ann.max() == pytest.approx(27, abs=0.5)
    assert p_ann.min() == pytest.approx(300, abs=20) and p_ann.max() == pytest.approx(2200, abs=20)
    # north (row 0) cool, south warm
    t_rows = layers["Temp_81-00.tif"].mean(axis=0)
    assert t_rows[:5][~lake[:5]].mean() + 10 < t_rows[-5:][~lake[-5:]].mean()
    # a dry season: the driest month gets far less than a twelfth of the annual rain
    assert np.median(p.min(axis=0) / p_ann) < 0.03

    # 2001-2020 series: T and PET stored x 10 (TerraClimate); scale 0.1 gives degrees C, mm
    ts = _valid(layers["Temp_2001-2020.tif"], lake) * 0.1
    ps = _valid(layers["Prec_2001-2020.tif"], lake)
    pets = _valid(layers["PET_2001-2020.tif"], lake) * 0.1
    assert -60 <= ts.min() and ts.max() <= 60
    assert ps.min() >= 0 and pets.min() >= 20 - 1e-6 and pets.max() <= 200 + 1e-6
    assert np.allclose(layers["Temp_2001-2020.tif"][:, ~lake] % 1, 0)  # integer x10 values
    # mean of the series = climatology + the mean warming of 0.03 degC/yr over years 1..20
    t_shift = ts.reshape(20, 12, -1).mean(axis=0) - t
    assert np.abs(t_shift - 0.03 * 10.5).max() < 0.06
    # precipitation varies from year to year around the climatology (0.1 mm rounding)
    assert np.abs(ps.reshape(20, 12, -1).mean(axis=0) - p).max() <= 0.11
    assert np.median(ps.reshape(20, 12, -1).sum(axis=1).std(axis=0) / p_ann) > 0.05


def test_water_limited_and_humid_modelled_pixels(layers: dict[str, np.ndarray]) -> None:
    modelled = np.isin(layers["LandUse.tif"][-1], MODELLED)
    p_ann = layers["Prec_81-00.tif"].sum(axis=0)[modelled]
    pet_ann = layers["PET_81-00.tif"].sum(axis=0)[modelled]
    assert (p_ann < pet_ann).mean() > 0.1
    assert (p_ann > pet_ann).mean() > 0.1


def test_land_use(layers: dict[str, np.ndarray], lake: np.ndarray) -> None:
    lu = layers["LandUse.tif"]
    last = lu[-1]
    assert set(np.unique(lu).tolist()) <= {0, 1, 2, 3, 4, 5, 9, 11, 12, 13}
    counts = {c: int((last == c).sum()) for c in MODELLED}
    assert sum(n >= 20 for n in counts.values()) >= 4, counts
    assert (last == 4).sum() > 0 and (last == 1).sum() > 0 and (last == 0).sum() > 0
    assert np.isin(last, MODELLED).mean() > 0.5
    changed = (lu != last[None]).any(axis=0)
    assert 0.01 <= changed.mean() <= 0.05
    # forest cleared for cropland at some year, never changing back
    cleared = (lu[0] == 4) & (last == 2)
    assert cleared.sum() > 0.005 * last.size
    years_forest = (lu == 4).sum(axis=0)[cleared]
    assert years_forest.min() >= 1 and years_forest.max() <= 19
    first_crop = np.argmax(lu[:, cleared] == 2, axis=0)
    assert (first_crop == years_forest).all()  # forest, then cropland to the end
    # paddy only where it is warm and wet
    t_ann = layers["Temp_81-00.tif"].mean(axis=0)
    p_ann = layers["Prec_81-00.tif"].sum(axis=0)
    paddy = (last == 13) & ~lake
    assert t_ann[paddy].min() >= 18 and p_ann[paddy].min() >= 1000


def test_cover(layers: dict[str, np.ndarray], lake: np.ndarray) -> None:
    cover = layers["Cover.tif"]
    c = _valid(cover, lake)
    assert c.min() >= np.float32(0.6) and c.max() <= 1.0
    last = layers["LandUse.tif"][-1]
    bare_months = (cover >= 0.9).sum(axis=0)
    crops = (last == 2) & ~lake
    assert bare_months[crops].min() >= 2 and bare_months[crops].max() <= 4
    # bare months of cropland are the dry season
    p = layers["Prec_81-00.tif"]
    dry = p <= np.sort(p, axis=0)[3][None]  # the 4 driest months (ties included)
    assert ((cover >= 0.9) & ~dry)[:, crops].sum() == 0
    for cls in (3, 4, 5):
        sel = (last == cls) & ~lake
        assert cover[:, sel].max() <= 0.67, cls


def test_npp_reference(layers: dict[str, np.ndarray], lake: np.ndarray) -> None:
    ref = _valid(layers["NPP_MIAMI_MEAN_81-00.tif"], lake)[0]
    low = _valid(layers["NPP_MIAMI_MEAN_81-00_MIN.tif"], lake)[0]
    high = _valid(layers["NPP_MIAMI_MEAN_81-00_MAX.tif"], lake)[0]
    assert ref.min() > 0 and ref.max() <= 15.0
    t = np.moveaxis(_valid(layers["Temp_81-00.tif"], lake), 0, -1)
    p = np.moveaxis(_valid(layers["Prec_81-00.tif"], lake), 0, -1)
    # the mean of the yearly NPP is close to (not equal to) the NPP of the mean climate
    clim = demo.miami_npp(t, p)
    rel = np.abs(ref / clim - 1)
    assert np.median(rel) < 0.03 and rel.max() < 0.2
    assert not np.allclose(ref, clim, rtol=1e-4)
    # MIN: T x 1.02, P x 0.95: lower where water limits NPP, higher where temperature does
    npp_t = 3000 / (1 + np.exp(1.315 - 0.119 * t.mean(axis=-1)))
    npp_p = 3000 * (1 - np.exp(-0.000664 * p.sum(axis=-1)))
    water = npp_p < 0.7 * npp_t
    cold = npp_t < 0.7 * npp_p
    assert water.sum() > 0 and cold.sum() > 0
    assert ((low < ref) & (ref < high))[water].all()
    assert ((low > ref) & (ref > high))[cold].all()


# --- configuration ---------------------------------------------------------------------------


def test_config(area: Path) -> None:
    path = area / "gsocseq.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    run = data["run"]
    assert run == {
        "name": "DEMO",
        "output": "..",
        "mode": "rothamsted",
        "years": 20,
        "uncertainty": "minmax",
    }
    inputs = data["inputs"]
    assert len(inputs) == 15
    named = set()
    for key, value in inputs.items():
        rel = value["path"] if isinstance(value, dict) else value
        assert not Path(rel).is_absolute()
        assert (area / rel).is_file(), key
        named.add(rel)
    assert named == set(ALL_FILES)
    assert inputs["warmup_temperature"] == {"path": "Temp_2001-2020.tif", "scale": 0.1}
    assert inputs["warmup_pet"] == {"path": "PET_2001-2020.tif", "scale": 0.1}
    assert inputs["soc"] == "SOC.tif" and inputs["land_use"] == "LandUse.tif"
    assert data["scenarios"] == {
        name: {"crops": v, "grass": v, "paddy": v}
        for name, v in (("SSM1", 0.05), ("SSM2", 0.10), ("SSM3", 0.20))
    }
    assert data["classes"] == {"modelled": [2, 3, 5, 12, 13]}

    from gsocseq import config

    cfg = config.load(path)
    assert cfg.output_dir == area.parent.resolve()
    assert cfg.inputs["warmup_pet"].scale == 0.1
    assert all(spec.path.is_file() for spec in cfg.inputs.values())


def test_other_sizes_and_years(tmp_path: Path) -> None:
    cfg = demo.generate_inputs(tmp_path, seed=3, rows=20, cols=24, years=3)
    folder = cfg.parent
    with rasterio.open(folder / "LandUse.tif") as src:
        assert src.count == 3 and src.shape == (20, 24)
    for name in ("Temp_2001-2003.tif", "Prec_2001-2003.tif", "PET_2001-2003.tif"):
        with rasterio.open(folder / name) as src:
            assert src.count == 36 and src.shape == (20, 24)
    text = cfg.read_text()
    assert 'path = "Temp_2001-2003.tif"' in text
    data = tomllib.loads(text)
    assert all(
        (folder / (v["path"] if isinstance(v, dict) else v)).is_file()
        for v in data["inputs"].values()
    )
    with pytest.raises(ValueError):
        demo.generate_inputs(tmp_path, rows=4, cols=4)
    with pytest.raises(ValueError):
        demo.generate_inputs(tmp_path, years=0)
