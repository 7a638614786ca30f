"""The dryland moisture options of RothC v2.0.0 (ROTHC.md section 8) end to end: the
configuration, raster runs, site tables and the run summary."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import rasterio

from gsocseq.config import load
from gsocseq.errors import ConfigError
from gsocseq.pipeline import run
from gsocseq.pixels import run_pixels
from gsocseq.rasters import InputError
from gsocseq.site import run_sites

from ..synthetic import make_area, write
from .test_site import site_table

FARINA = {"moisture": "farina-2"}


def _soil_water(tmp_path, cfg: dict, silt=None, bd=None) -> dict:
    """silt (g/kg, SoilGrids' unit) and bulk density (cg/cm3, SoilGrids' bdod) rasters added
    to the area's inputs with the scales that make them % and g/cm3."""
    with rasterio.open(cfg["inputs"]["soc"]) as ds:
        shape = (ds.height, ds.width)
    rng = np.random.default_rng(5)
    silt = rng.uniform(100, 600, shape) if silt is None else silt
    bd = rng.uniform(110, 160, shape) if bd is None else bd
    cfg["inputs"]["silt"] = {"path": str(write(tmp_path / "silt.tif", silt)), "scale": 0.1}
    cfg["inputs"]["bulk_density"] = {"path": str(write(tmp_path / "bd.tif", bd)), "scale": 0.01}
    return cfg


def _layer(out, product: str) -> np.ndarray:
    with rasterio.open(out / f"TST_GSOCseq_{product}_Map030.tif") as ds:
        return ds.read(1, masked=True).filled(np.nan).astype(np.float64)


def test_dryland_runs_equal_their_sites_and_change_the_dry_pixels(tmp_path):
    cfg = _soil_water(tmp_path, make_area(tmp_path / "area", rows=4, cols=4, seed=3))
    standard = run(cfg, output=tmp_path / "standard")
    dry = run({**cfg, "run": {**cfg["run"], **FARINA}}, output=tmp_path / "farina")
    assert standard.options["moisture"] == "rothc-26.3"
    assert dry.options["moisture"] == "farina-2"
    assert dry.options["bare_deficit"] == "standard"
    assert dry.options["min_moisture_rate"] == 0.2
    assert dry.counts["modelled"] == standard.counts["modelled"]
    a = _layer(tmp_path / "standard", "finalSOC_BAU")
    b = _layer(tmp_path / "farina", "finalSOC_BAU")
    modelled = ~np.isnan(a)
    assert np.array_equal(modelled, ~np.isnan(b))
    # soils that dry and wet over the year: other limits, other stocks; the hot and dry last
    # row stays at wilting point all year (b = 0.2 under every option): the same stocks
    change = np.abs(b / a - 1)
    assert np.all(change[:-1][modelled[:-1]] > 1e-4)
    assert np.array_equal(a[-1], b[-1], equal_nan=True)
    # the same chain for a table of the same pixels (the soil water as columns, scaled)
    table = site_table(cfg)
    sites = run_sites(table, {"run": {"mode": "rothamsted", **FARINA}})
    got = sites["finalSOC_BAU"].astype(np.float32)
    assert np.array_equal(got, b.ravel().astype(np.float32), equal_nan=True)
    # the soil water is not read without the option, and the summary says so
    assert any("silt, bulk_density not used" in w for w in standard.warnings)


def _wet(table: dict) -> dict:
    """The sites' climate made wet: every month's precipitation far above its PET."""
    out = dict(table)
    for name in table:
        if "precipitation" in name:
            out[name] = [400.0] * len(table[name])
    return out


def test_a_soil_that_never_dries_gives_rothc_26_3_bit_for_bit(tmp_path):
    cfg = _soil_water(tmp_path, make_area(tmp_path / "area", rows=3, cols=3, seed=4))
    table = site_table(cfg)
    wet = _wet(table)
    base = run_sites(wet, {"run": {"mode": "rothamsted"}})
    for options in (
        FARINA,
        {"moisture": "farina-3"},
        {"moisture": "farina-2", "bare_deficit": "wilting-point", "min_moisture_rate": 0.1},
    ):
        other = run_sites(wet, {"run": {"mode": "rothamsted", **options}})
        for column in ("soc_t0", "finalSOC_BAU", "ASR_SSM2"):
            assert np.array_equal(base[column], other[column], equal_nan=True), (options, column)
    # and the dry climate of the same sites does not
    dry = run_sites(table, {"run": {"mode": "rothamsted", **FARINA}})
    plain = run_sites(table, {"run": {"mode": "rothamsted"}})
    assert not np.array_equal(dry["finalSOC_BAU"], plain["finalSOC_BAU"], equal_nan=True)


def test_organic_carbon_given_or_from_soc(tmp_path):
    cfg = _soil_water(tmp_path, make_area(tmp_path / "area", rows=2, cols=3, seed=6))
    table = site_table(cfg)
    derived = run_sites(table, {"run": {"mode": "rothamsted", **FARINA}})
    # OC = SOC / (BD x depth) given as a column: the same numbers (central chain; the min/max
    # chains take their own SOC without the column)
    oc = [s / (b * 30.0) for s, b in zip(table["soc"], table["bulk_density"])]
    given = run_sites(
        {**table, "organic_carbon": oc},
        {"run": {"mode": "rothamsted", **FARINA, "uncertainty": "none"}},
    )
    central = run_sites(table, {"run": {"mode": "rothamsted", **FARINA, "uncertainty": "none"}})
    np.testing.assert_allclose(given["finalSOC_BAU"], central["finalSOC_BAU"], rtol=1e-12)
    assert np.array_equal(central["finalSOC_BAU"], derived["finalSOC_BAU"], equal_nan=True)
    # a much higher OC changes the retention curve, hence the stocks (5 %: 5.3 times what
    # SOC / (BD x depth) gives, beyond [checks] organic_carbon_ratio_max unless raised)
    other = run_sites(
        {**table, "organic_carbon": [5.0] * len(oc)},
        {
            "run": {"mode": "rothamsted", **FARINA, "uncertainty": "none"},
            "checks": {"organic_carbon_ratio_max": 10.0},
        },
    )
    assert not np.allclose(other["finalSOC_BAU"], central["finalSOC_BAU"], equal_nan=True)


def test_configuration_errors_name_the_key_and_the_fix(tmp_path):
    cfg = make_area(tmp_path / "area", rows=2, cols=2)
    with pytest.raises(ConfigError, match=r"moisture = \"farina-2\" needs silt and bulk_density"):
        load({**cfg, "run": {**cfg["run"], **FARINA}})
    with pytest.raises(ConfigError, match=r"\[run\].moisture: 'farina-4' is not one of"):
        load({**cfg, "run": {**cfg["run"], "moisture": "farina-4"}})
    with pytest.raises(ConfigError, match='run in mode = "rothamsted"'):
        fao = {**copy.deepcopy(cfg), "run": {**cfg["run"], **FARINA, "mode": "fao-v1.2"}}
        load(_soil_water(tmp_path, fao))
    with pytest.raises(ConfigError, match=r"min_moisture_rate: 0\.15 needs moisture"):
        load({**cfg, "run": {**cfg["run"], "min_moisture_rate": 0.15}})
    with pytest.raises(ConfigError, match="min_moisture_rate: expected 0 to 1"):
        load({**cfg, "run": {**cfg["run"], "min_moisture_rate": 2}})
    # a site table without the soil water columns
    table = site_table(cfg)
    with pytest.raises(InputError, match="needs silt and bulk_density"):
        run_sites(table, {"run": {"mode": "rothamsted", **FARINA}})


def test_soil_water_values_checked_with_the_likely_unit(tmp_path):
    cfg = make_area(tmp_path / "area", rows=2, cols=3, seed=2)
    table = site_table(cfg)
    n = len(table["soc"])
    opts = {"run": {"mode": "rothamsted", **FARINA}}
    with pytest.raises(InputError, match=r"bulk_density = 130, expected 0 to 2.65 g/cm3.*cg/cm3"):
        run_sites({**table, "silt": [30.0] * n, "bulk_density": [130.0] * n}, opts)
    with pytest.raises(InputError, match=r"silt = 300, expected 0 to 100 %.*g/kg"):
        run_sites({**table, "silt": [300.0] * n, "bulk_density": [1.3] * n}, opts)
    # silt 0: not modelled (the pedotransfer functions take its logarithm), counted
    res = run_sites({**table, "silt": [0.0] + [30.0] * (n - 1), "bulk_density": [1.3] * n}, opts)
    plain = run_sites({**table, "silt": [30.0] * n, "bulk_density": [1.3] * n}, opts)
    assert res["modelled"][0] == 0 and plain["modelled"][0] == 1
    assert np.array_equal(res["modelled"][1:], plain["modelled"][1:])


def test_the_array_api_takes_the_options(tmp_path):
    cfg = make_area(tmp_path / "area", rows=2, cols=2, seed=7)
    table = site_table(cfg)
    n = len(table["soc"])
    arrays = {k: np.array(v) for k, v in table.items() if k != "site"}
    grouped: dict = {}
    for k, v in arrays.items():
        base, _, number = k.rpartition("_")
        if number.isdigit():
            grouped.setdefault(base, []).append((int(number), v))
        else:
            grouped[k] = v
    inputs = {
        k: (np.column_stack([a for _, a in sorted(v)]) if isinstance(v, list) else v)
        for k, v in grouped.items()
    }
    inputs["silt"] = np.full(n, 35.0)
    inputs["bulk_density"] = np.full(n, 1.3)
    res = run_pixels(inputs, None, mode="rothamsted", moisture="farina-3")
    plain = run_pixels(inputs, None, mode="rothamsted")
    assert np.all(np.isfinite(res["soc_t0"][res["modelled"]]))
    assert not np.array_equal(res["soc_t0"], plain["soc_t0"], equal_nan=True)


def test_the_summary_names_the_model_options():
    from gsocseq.config import model_words

    assert model_words({"moisture": "rothc-26.3", "bare_deficit": "standard"}) == ""
    words = model_words(
        {"moisture": "farina-3", "min_moisture_rate": 0.1, "calibration": "/a/c.csv"}
    )
    assert "moisture farina-3" in words and "minimum rate 0.1" in words
    assert "calibrated (c.csv)" in words


def _farina_area(tmp_path: Path) -> tuple[dict, np.ndarray]:
    """A 4 x 4 area under FARINA's moisture options and its organic carbon (%) consistent with
    its SOC: SOC / (bulk density x 30 cm)."""
    cfg = _soil_water(tmp_path, make_area(tmp_path / "area", rows=4, cols=4, seed=3))
    cfg["run"].update(FARINA)
    with rasterio.open(cfg["inputs"]["soc"]) as ds:
        soc = ds.read(1).astype(np.float64)
    with rasterio.open(cfg["inputs"]["bulk_density"]["path"]) as ds:
        bd = ds.read(1) * 0.01
    return cfg, soc / (bd * 30.0)


def test_organic_carbon_in_a_wrong_unit_is_refused_naming_the_scale(tmp_path):
    # SoilGrids soc is dg/kg: the range check's hint said "g/kg? x0.1" alone, and with that
    # scale (every OC 10 times too large, within the range) the run ended with exit 0 and
    # other van Genuchten deficits
    cfg, oc = _farina_area(tmp_path)
    dg_per_kg = write(tmp_path / "oc.tif", oc * 100.0)  # % x 100
    for scale, problem in ((None, r"dg/kg \(SoilGrids soc\)\? .*x0\.01"), (0.1, "ratio_max")):
        spec = (
            {"path": str(dg_per_kg)} if scale is None else {"path": str(dg_per_kg), "scale": scale}
        )
        bad = {**cfg, "inputs": {**cfg["inputs"], "organic_carbon": spec}}
        with pytest.raises(InputError, match=problem) as exc:
            run(bad, output=tmp_path / f"bad{scale}")
        if scale == 0.1:
            assert "set scale = 0.01 on input 'organic_carbon'" in str(exc.value)
    good = {
        **cfg,
        "inputs": {**cfg["inputs"], "organic_carbon": {"path": str(dg_per_kg), "scale": 0.01}},
    }
    assert run(good, output=tmp_path / "good").counts["modelled"] > 0


def test_a_soil_without_a_retention_curve_is_an_input_error_or_masked(tmp_path):
    """An organic soil (organic carbon 30 %, within its range) has no ordered Wösten deficits:
    the pixel was counted as modelled, its layers nodata, exit 0 and a warning that 'a result is
    not finite'. Now an input error naming the organic carbon raster and the pixel, or with
    invalid = "mask" not modelled and counted; the other pixels keep their bits."""
    cfg, oc = _farina_area(tmp_path)
    good = {
        **cfg,
        "inputs": {**cfg["inputs"], "organic_carbon": str(write(tmp_path / "a.tif", oc))},
    }
    plain = run(good, output=tmp_path / "good")
    t0 = _layer(tmp_path / "good", "T0")
    row, col = (int(v[0]) for v in np.nonzero(~np.isnan(t0)))
    peat = oc.copy()
    peat[row, col] = 30.0
    path = write(tmp_path / "peat.tif", peat)
    bad = {**cfg, "inputs": {**cfg["inputs"], "organic_carbon": str(path)}}
    with pytest.raises(InputError, match=rf"peat.tif: row {row}, col {col} .*no usable retention"):
        run(bad, output=tmp_path / "bad")
    bad["run"] = {**bad["run"], "invalid": "mask"}
    masked = run(bad, output=tmp_path / "masked")
    assert masked.counts["invalid:no_soil_water"] == 1
    assert masked.counts["modelled"] == plain.counts["modelled"] - 1
    assert not any("not finite" in w for w in masked.warnings), masked.warnings
    t0_masked = _layer(tmp_path / "masked", "T0")
    assert np.isnan(t0_masked[row, col])
    t0[row, col] = np.nan
    assert np.array_equal(t0_masked, t0, equal_nan=True)
    # the same pixel as a site: an error naming its row
    table = site_table(good)
    table["organic_carbon"] = list(peat.ravel())
    # (its organic_carbon column named, not silt: the table gave organic carbon)
    with pytest.raises(
        InputError, match=r"\(row 1\), organic_carbon value 1: .*no usable retention curve"
    ):
        run_sites(table, {"run": {"mode": "rothamsted", **FARINA}})
