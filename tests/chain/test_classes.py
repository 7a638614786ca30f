"""The class table a country may change or extend (METHOD.md section 10, `[classes.N]`): the
configuration's checks, and runs whose changed table must give the numbers of an equivalent
default run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gsocseq.classes import ClassTable
from gsocseq.config import ConfigError, from_dict
from gsocseq.errors import GsocseqError, InputError
from gsocseq.pixels import run_pixels

N = 6


def _inputs(land_use: int) -> dict[str, Any]:
    """Six pixels of different climates and soils, all of class ``land_use``, 20 years."""
    rng = np.random.default_rng(21)
    months = np.arange(12)
    season = np.cos(months * np.pi / 6)
    t = 12 + rng.uniform(-6, 10, (N, 1)) - 8 * season
    p = rng.uniform(30, 120, (N, 1)) * (1 + 0.5 * season)
    e = rng.uniform(40, 90, (N, 1)) * (1 - 0.6 * season)
    years = 20
    return {
        "soc": rng.uniform(20, 90, N),
        "clay": rng.uniform(5, 45, N),
        "npp_reference": rng.uniform(3, 6, N),
        "cover": np.where(months < 3, 1.0, 0.6)[None, :].repeat(N, 0),
        "spinup_temperature": t,
        "spinup_precipitation": p,
        "spinup_pet": e,
        "warmup_temperature": np.tile(t, years) + 0.02 * np.arange(12 * years),
        "warmup_precipitation": np.tile(p, years),
        "warmup_pet": np.tile(e, years),
        "land_use": np.full(N, land_use),
    }


def _config(classes: dict[str, Any], mode: str = "rothamsted") -> dict[str, Any]:
    return {"run": {"mode": mode, "uncertainty": "minmax", "threads": 1}, "classes": classes}


def test_class_table_entries_are_checked() -> None:
    ok = from_dict(
        _config(
            {
                "14": {
                    "name": "agroforestry",
                    "dpm_rpm": 0.5,
                    "npp_coefficient": 0.8,
                    "ssm_group": "crops",
                },
                "modelled": [2, 14],
            }
        ),
        require_inputs=False,
    )
    t = ok.class_table
    assert (t.name(14), t.dpm_rpm[14], t.coefficient[14], t.ssm_group[14]) == (
        "agroforestry",
        0.5,
        0.8,
        0,
    )
    assert t.max_code == 14 and 14 in t.modellable and t.known[14] and not t.known[15]
    assert ClassTable.default().max_code == 13
    for classes, message in [
        ({"14": {"name": "x", "dpm_rpm": 0.5}}, r"\[classes.14\]: class 14 is new; give npp_"),
        ({"9": {"npp_coefficient": 0.5}}, r"class 9 has no coefficients; give dpm_rpm"),
        ({"2": {"dpm_rmp": 1.0}}, r"\[classes.2\]: unknown key 'dpm_rmp'"),
        ({"2": {"rate_factor": 0}}, r"\[classes.2\].rate_factor: 0, expected a number > 0"),
        ({"2": {"ssm_group": "forest"}}, r"ssm_group: 'forest', expected one of crops"),
        ({"2": {"input_pattern": [0.1] * 12}}, r"input_pattern: .*expected 12 monthly shares"),
        ({"2": {"cover": [1.2] * 12}}, r"\[classes.2\].cover: .*expected 12 monthly cover"),
        ({"300": {"name": "x"}}, r"\[classes\]: unknown key '300'"),
        ({"modelled": [2, 15]}, r"class 15 has no coefficients"),
    ]:
        with pytest.raises(ConfigError, match=message):
            from_dict(_config(classes), require_inputs=False)
    with pytest.raises(ConfigError, match="input_pattern is a refinement of rothamsted mode"):
        from_dict(
            _config({"2": {"input_pattern": [1 / 12] * 12}}, "fao-v1.2"), require_inputs=False
        )


def test_an_npp_coefficient_of_0_is_refused() -> None:
    """The spin-up's reference NPP and the warm-up's year-to-year input ratios divide by the
    class's coefficient: with 0 every pixel of the class got NaN stocks (1,598 of the demo's
    3,740 with cropland's set to 0, exit 0 and a warning 'a result is not finite')."""
    for value in (0, 0.0, -0.1):
        with pytest.raises(ConfigError, match=rf"\[classes.2\].npp_coefficient: {value}, expected"):
            from_dict(_config({"2": {"npp_coefficient": value}}), require_inputs=False)
    with pytest.raises(ConfigError, match=r"npp_coefficient: 0, expected a number > 0"):
        run_pixels(_inputs(2), _config({"2": {"npp_coefficient": 0}}))
    ok = run_pixels(_inputs(2), _config({"2": {"npp_coefficient": 1e-3}}))
    assert np.isfinite(ok["T0"]).all()


def test_a_changed_or_added_class_gives_the_numbers_of_its_equivalent() -> None:
    """Cropland given grassland's coefficients runs as grassland; a new class 14 with
    cropland's values runs as cropland (bit for bit); an input pattern moves every stock."""
    grass = run_pixels(_inputs(3), _config({}))
    as_grass = run_pixels(
        _inputs(2),
        _config({"2": {"dpm_rpm": 0.67, "npp_coefficient": 0.72, "ssm_group": "grass"}}),
    )
    crops = run_pixels(_inputs(2), _config({}))
    new = run_pixels(
        _inputs(14),
        _config(
            {
                "14": {
                    "name": "my crops",
                    "dpm_rpm": 1.44,
                    "npp_coefficient": 0.53,
                    "ssm_group": "crops",
                },
                "modelled": [14],
            }
        ),
    )
    for key in ("T0", "finalSOC_BAU", "finalSOC_SSM3", "ASR_SSM2_uncertainty", "cin_mean"):
        np.testing.assert_array_equal(as_grass[key], grass[key], err_msg=key)
        np.testing.assert_array_equal(new[key], crops[key], err_msg=key)
    assert np.isfinite(crops["T0"]).all()
    assert not np.allclose(crops["finalSOC_SSM3"], grass["finalSOC_SSM3"])
    # an input pattern: the spin-up still ends at the map's SOC, the rest moves
    summer = [0.0] * 4 + [0.25] * 4 + [0.0] * 4
    patterned = run_pixels(_inputs(2), _config({"2": {"input_pattern": summer}}))
    np.testing.assert_allclose(patterned["T0"], crops["T0"], rtol=0.2)
    assert not np.allclose(patterned["finalSOC_BAU"], crops["finalSOC_BAU"], rtol=1e-6)
    uniform = run_pixels(_inputs(2), _config({"2": {"input_pattern": [1 / 12] * 12}}))
    np.testing.assert_allclose(uniform["finalSOC_SSM1"], crops["finalSOC_SSM1"], rtol=1e-12)


def test_practice_scenarios_of_the_worked_example() -> None:
    """Cover crops on cropland in zone 1, +0.5 t C/ha/yr manure in zone 2, no-till on cropland
    everywhere (docs/refinements.md): BAU keeps its bits; a per-zone setting gives in each zone
    (and group) the numbers of the same setting given everywhere, and BAU's where its table
    leaves the zone or group out."""
    inputs = _inputs(2)
    inputs["land_use"] = np.array([2, 2, 3, 2, 3, 2])
    inputs["zone"] = np.array([1, 2, 1, 2, 3, 1])
    cover = [0.6] * 12
    example = {
        "COVER": {"cover": {"zones": {"1": {"crops": cover}}}},
        "MANURE": {"fym": {"zones": {"2": 0.5}}},
        "NOTILL": {"rate_factor": {"crops": 0.95}},
    }
    plain = run_pixels(inputs, _config({}))
    got = run_pixels(inputs, {**_config({}), "scenarios": example})
    everywhere = run_pixels(
        inputs,
        {
            **_config({}),
            "scenarios": {
                "COVER": {"cover": cover},
                "MANURE": {"fym": 0.5},
                "NOTILL": {"rate_factor": 0.95},
            },
        },
    )
    for key in ("T0", "finalSOC_BAU", "BAU_uncertainty"):
        np.testing.assert_array_equal(got[key], plain[key], err_msg=key)
    zone, crops = inputs["zone"], inputs["land_use"] == 2
    for name, where in (
        ("COVER", (zone == 1) & crops),
        ("MANURE", zone == 2),
        ("NOTILL", crops),
    ):
        assert where.any() and (~where).any()
        final = got[f"finalSOC_{name}"]
        np.testing.assert_array_equal(final[where], everywhere[f"finalSOC_{name}"][where])
        # where the practice does not apply: BAU bit for bit, no change, no uncertainty of it
        np.testing.assert_array_equal(final[~where], plain["finalSOC_BAU"][~where], err_msg=name)
        np.testing.assert_array_equal(got[f"RelDiff_{name}"][~where], 0.0, err_msg=name)
        np.testing.assert_array_equal(got[f"RSR_{name}"][~where], 0.0, err_msg=name)
        assert np.isnan(got[f"RSR_{name}_uncertainty"][~where]).all(), name
        assert np.isfinite(got[f"RSR_{name}_uncertainty"][where]).all(), name
        assert (final[where] > plain["finalSOC_BAU"][where]).all(), name
    # the same stepped month by month (a forward climate series): BAU's bits where nothing
    # applies
    years = 20
    series = {
        f"forward_series_{part}": np.tile(
            inputs[f"warmup_{part}"].reshape(N, years, 12).mean(axis=1), years
        )
        for part in ("temperature", "precipitation", "pet")
    }
    stepped = run_pixels({**inputs, **series}, {**_config({}), "scenarios": example})
    for name, where in (("MANURE", zone == 2), ("NOTILL", crops)):
        np.testing.assert_array_equal(
            stepped[f"finalSOC_{name}"][~where], stepped["finalSOC_BAU"][~where], err_msg=name
        )
    with pytest.raises(ConfigError, match="no zone input"):
        run_pixels(_inputs(2), {**_config({}), "scenarios": example})
    with pytest.raises(ConfigError, match="refinements of rothamsted mode"):
        from_dict({**_config({}, "fao-v1.2"), "scenarios": example}, require_inputs=False)
    with pytest.raises(ConfigError, match=r"land_use: class 9 has no coefficients"):
        from_dict({**_config({}), "scenarios": {"X": {"land_use": 9}}}, require_inputs=False)


def test_practices_in_a_raster_run(tmp_path) -> None:
    """The worked example on rasters (a zones raster): the layers of the zone's pixels equal
    those of `gsocseq.pixels.run_pixels` for the same pixels (the site chain), the summary
    says what each scenario does, and a changed practice is a changed run (not resumed)."""
    import json

    import rasterio

    from gsocseq.pipeline import run

    from ..synthetic import make_area, write_raster

    cfg = make_area(tmp_path / "area")
    with rasterio.open(cfg["inputs"]["soc"]) as ds:
        transform, crs, shape = ds.transform, ds.crs, ds.shape
    zones = (np.arange(shape[0] * shape[1]).reshape(shape) % 3 + 1).astype(np.float32)
    cfg["inputs"]["zone"] = str(
        write_raster(tmp_path / "area" / "zones.tif", zones[None], transform=transform, crs=crs)
    )
    cfg["run"].update(uncertainty="minmax", threads=1)
    cfg["scenarios"] = {
        "COVER": {"cover": {"zones": {"1": {"crops": [0.6] * 12}}}},
        # zone 8 is not in the zone raster: a warning naming it
        "MANURE": {"fym": {"zones": {"2": 0.5, "8": 0.3}}},
        "NOTILL": {"rate_factor": {"crops": 0.95}},
    }
    summary = run(cfg)
    out = tmp_path / "area" / "out"
    described = json.loads((out / "TST_GSOCseq_run.json").read_text())["options"][
        "scenario_descriptions"
    ]
    assert described["MANURE"] == "manure/compost zone 2: 0.5 t C/ha/yr; zone 8: 0.3 t C/ha/yr"
    (warned,) = [w for w in summary.warnings if "zone(s)" in w]
    assert "[scenarios.MANURE].fym: zone(s) 8 " in warned and "zones.tif" in warned
    assert described["NOTILL"] == "decomposition rate x crops: 0.95"

    def layer(name):
        with rasterio.open(out / f"TST_GSOCseq_{name}_Map030.tif") as ds:
            a = ds.read(1).astype(np.float64)
            return np.where(a == ds.nodata, np.nan, a)

    def uncertainty(name):
        with rasterio.open(out / f"TST_GSOCseq_{name}_UncertaintyMap030.tif") as ds:
            a = ds.read(1).astype(np.float64)
            return np.where(a == ds.nodata, np.nan, a)

    manure, bau = layer("finalSOC_MANURE"), layer("finalSOC_BAU")
    inside = np.isfinite(bau)
    zone2, other = inside & (zones == 2), inside & (zones != 2)
    assert (manure[zone2] > bau[zone2]).all() and other.any()
    # outside zone 2 the scenario is BAU bit for bit: RelDiff and RSR 0 (not masked by the QA
    # range [0, 80) as a -1e-15 would be), the RSR uncertainty nodata (0 / 0) as for an
    # increase of 0, never a percentage of noise
    np.testing.assert_array_equal(manure[other], bau[other])
    np.testing.assert_array_equal(layer("RelDiff_MANURE")[other], 0.0)
    np.testing.assert_array_equal(layer("RSR_MANURE")[other], 0.0)
    assert np.isnan(uncertainty("RSR_MANURE")[other]).all()
    assert np.isfinite(uncertainty("RSR_MANURE")[zone2]).all()
    # a zone raster of fractional codes, or without any code of a table: exit 2 before
    # anything is computed
    for codes, match in (
        (zones + 0.5, r"row 0, column 0\) holds zone 1.5"),
        (zones + 10, "no zone"),
    ):
        bad = dict(cfg, run={**cfg["run"], "output": str(tmp_path / "bad")})
        bad["inputs"] = {
            **cfg["inputs"],
            "zone": str(
                write_raster(tmp_path / "bad_zones.tif", codes[None], transform=transform, crs=crs)
            ),
        }
        with pytest.raises(GsocseqError, match=match):
            run(bad)
        assert not (tmp_path / "bad" / "TST_GSOCseq_run.json").exists()
    # another manure rate is another run: refused without overwrite, not resumed
    cfg["scenarios"]["MANURE"] = {"fym": {"zones": {"2": 1.0}}}
    with pytest.raises(Exception, match=r"(?i)differ|overwrite"):
        run(cfg)
    assert summary is not None


def test_forward_series_and_warmup_inputs() -> None:
    """A forward climate series that repeats the forward climatology gives the closed form's
    stocks (stepped month by month instead); the NPP of each warm-up year given as MIAMI's
    gives the default run; carbon inputs given are the warm-up's inputs (Cin_mean)."""
    from gsocseq.chain import miami_npp

    inputs = _inputs(2)
    plain = run_pixels(inputs, _config({}))
    years = 20
    climatology = {
        part: inputs[f"warmup_{part}"].reshape(N, years, 12).mean(axis=1)
        for part in ("temperature", "precipitation", "pet")
    }
    series = {f"forward_series_{k}": np.tile(v, years) for k, v in climatology.items()}
    stepped = run_pixels({**inputs, **series}, _config({}))
    for key in ("T0", "finalSOC_BAU", "finalSOC_SSM3", "ASR_SSM2_uncertainty"):
        np.testing.assert_allclose(stepped[key], plain[key], rtol=1e-11, err_msg=key)
    scaled = run_pixels(
        {**inputs, **series},
        {
            **_config({}),
            "run": {"uncertainty": "minmax", "threads": 1, "forward_inputs": "npp-scaled"},
        },
    )
    np.testing.assert_array_equal(scaled["T0"], plain["T0"])
    assert not np.allclose(scaled["finalSOC_BAU"], plain["finalSOC_BAU"], rtol=1e-9)

    t = inputs["warmup_temperature"].reshape(N, years, 12)
    p = inputs["warmup_precipitation"].reshape(N, years, 12)
    npp = run_pixels({**inputs, "warmup_npp": miami_npp(t, p)}, _config({}))
    for key in ("T0", "finalSOC_BAU", "cin_mean"):
        np.testing.assert_allclose(npp[key], plain[key], rtol=1e-12, err_msg=key)
    carbon = np.linspace(1.5, 2.5, years)[None, :].repeat(N, 0)
    given = run_pixels({**inputs, "warmup_carbon_input": carbon}, _config({}))
    np.testing.assert_allclose(given["cin_mean"], carbon.mean(axis=1), rtol=1e-15)
    with pytest.raises(ValueError, match="at least 240"):
        short = {k: v[:, :120] for k, v in series.items()}
        run_pixels({**inputs, **short}, _config({}))


def test_given_carbon_inputs_of_a_year_without_coefficients_are_not_used() -> None:
    """METHOD.md section 4: "A year of a class without coefficients has input 0 (it counts as 0
    in the mean)". Such a class (9 bare soil, 1 artificial, ...) has no DPM/RPM ratio to split a
    plant input with, so a `warmup_carbon_input` given for such a year cannot enter the soil
    either: the year has input 0 and the pixel is flagged (64), as with MIAMI or a given NPP.
    The given input went in whole as RPM (a ratio of 0 invented for the class), unflagged."""
    inputs = _inputs(2)
    years = 20
    # grassland, three years of bare soil (9), then cropland
    inputs["land_use"] = np.array([3] * 8 + [9] * 3 + [2] * 9)[None, :].repeat(N, 0)
    carbon = np.linspace(1.5, 2.5, years)[None, :].repeat(N, 0) * np.linspace(1, 2, N)[:, None]
    bare = inputs["land_use"] == 9
    zeroed = np.where(bare, 0.0, carbon)
    config = {**_config({}), "run": {"uncertainty": "minmax", "threads": 1, "flags": True}}
    given = run_pixels({**inputs, "warmup_carbon_input": carbon}, config)
    expected = run_pixels({**inputs, "warmup_carbon_input": zeroed}, config)
    assert given["modelled"].all()
    np.testing.assert_allclose(given["cin_mean"], zeroed.sum(axis=1) / years, rtol=1e-15)
    assert (given["flags"] & 64 == 64).all()
    for key in ("T0", "finalSOC_BAU", "finalSOC_SSM3", "ASR_SSM1", "T0_uncertainty"):
        np.testing.assert_array_equal(given[key], expected[key], err_msg=key)


def test_npp_scaled_inputs_without_a_forward_series_are_warned() -> None:
    """forward_inputs = "npp-scaled" scales the inputs of each year of a forward series; without
    one the forward runs take the climatology with constant inputs, the same bits as the default:
    it was accepted without a word (the user asked for scaled inputs and got constant ones). Now
    a warning says so; with a series there is none."""
    import warnings

    inputs = _inputs(2)
    plain = run_pixels(inputs, _config({}))
    options = {**_config({}), "run": {"threads": 1, "forward_inputs": "npp-scaled"}}
    unused = r'forward_inputs = "npp-scaled" not used: .*no forward_series_'
    with pytest.warns(UserWarning, match=unused):
        scaled = run_pixels(inputs, options)
    np.testing.assert_array_equal(scaled["finalSOC_BAU"], plain["finalSOC_BAU"])
    series = {
        f"forward_series_{k}": np.tile(inputs[f"warmup_{k}"][:, :12], 20)
        for k in ("temperature", "precipitation", "pet")
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_pixels({**inputs, **series}, options)


def test_practices_that_could_never_apply_are_refused_or_warned() -> None:
    """A practice for a class no pixel is modelled as, adoption years with nothing to adopt, a
    zone table none of whose zones is given and a fractional zone code are errors (exit 2);
    zones of a table absent from the input and adoption years longer than the horizon are
    warnings (each was accepted silently before)."""
    base = _config({})
    for practice, match in (
        ({"rate_factor": {"77": 0.9}}, r"rate_factor: class 77 is not a modelled class"),
        ({"fym": {"zones": {"1": {"21": 0.5}}}}, r"fym: class 21 is not a modelled class"),
        ({"land_use": {"1": 3}}, r"land_use: class 1 is not a modelled class"),
        ({"adoption_years": 5}, r"adoption_years = 5: nothing to adopt"),
    ):
        with pytest.raises(ConfigError, match=match):
            from_dict({**base, "scenarios": {"X": practice}}, require_inputs=False)
    # adoption of an input increase alone is a ramp of the increase
    from_dict(
        {**base, "scenarios": {"X": {"increase": 0.1, "adoption_years": 5}}}, require_inputs=False
    )

    inputs = _inputs(2)
    inputs["zone"] = np.array([1, 2, 1, 2, 3, 1])
    with pytest.warns(
        UserWarning, match=r"\[scenarios.X\].fym: zone\(s\) 8, 9 of the table are not"
    ):
        run_pixels(
            inputs, {**base, "scenarios": {"X": {"fym": {"zones": {"2": 0.5, "8": 1, "9": 1}}}}}
        )
    with pytest.raises(ConfigError, match=r"\[scenarios.X\].fym: no zone of the table \(8\)"):
        run_pixels(inputs, {**base, "scenarios": {"X": {"fym": {"zones": {"8": 0.5}}}}})
    with pytest.raises(InputError, match=r"zone, pixel 2, value 1: 1.5 is not a zone code"):
        run_pixels(
            {**inputs, "zone": np.array([1, 2, 1.5, 2, 3, 1])},
            {**base, "scenarios": {"X": {"fym": {"zones": {"2": 0.5}}}}},
        )
    with pytest.warns(
        UserWarning, match=r"adoption_years = 25: longer than the 20-year horizon.*20/25"
    ):
        run_pixels(inputs, {**base, "scenarios": {"X": {"fym": 0.5, "adoption_years": 25}}})


def test_nan_cover_takes_the_class_default_cover() -> None:
    """Pixels whose cover is NaN take their classes' default cover ([classes.N] cover), as
    raster pixels do: the results of the same inputs with those values written in, bit for
    bit; a pixel with a warm-up or spin-up class without a default (and every pixel without
    defaults) is not modelled."""
    default = [0.6, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.6]
    filled = _inputs(2)
    filled["land_use"] = np.array([[2, 2], [2, 2], [3, 2], [2, 2], [2, 2], [2, 2]])
    filled["spinup_land_use"] = np.array([2, 2, 2, 3, 2, 2])
    filled["cover"][:4] = default
    gaps = dict(filled, cover=filled["cover"].copy())
    gaps["cover"][:4] = np.nan
    config = _config({"2": {"cover": default}})
    ref, got = run_pixels(filled, config), run_pixels(gaps, config)
    assert ref["modelled"].all()
    assert list(got["modelled"]) == [True, True, False, False, True, True]
    same = got["modelled"]
    assert set(got) == set(ref)
    for key, values in ref.items():
        if key not in ("modelled", "flags"):
            assert values[same].tobytes() == got[key][same].tobytes(), key
            assert np.isnan(got[key][~same]).all(), key
    # without defaults, a pixel without cover is not modelled (as before)
    plain = run_pixels(gaps, _config({}))
    assert list(plain["modelled"]) == [False] * 4 + [True] * 2


def test_a_land_use_code_near_a_whole_number_is_written_in_full() -> None:
    """2.0000001 was written "land-use code 2 is not in the FAO class table", a class the
    table holds; now in full, with the likely cause."""
    inputs = _inputs(2)
    inputs["land_use"] = np.full_like(np.asarray(inputs["land_use"], dtype=np.float64), 2.0000001)
    with pytest.raises(
        InputError, match=r"land-use code 2\.0000001 is not in .*not a whole number"
    ):
        run_pixels(inputs, _config({}))
    from gsocseq.inputs import unknown_code_message

    whole = unknown_code_message(ClassTable.default(), 20.0)
    assert whole.startswith("land-use code 20 is not in the FAO class table (0-13: classes")
