"""Country refinements (METHOD.md section 10) in raster runs: a class's default cover, forward
climate series and warm-up inputs read from rasters, practices given as rasters, the same bits
in one process, with tiles, with Dask and after a resume, and the report's scenario table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from gsocseq.errors import InputError
from gsocseq.pipeline import assemble_run, run
from gsocseq.pixels import run_pixels

from ..synthetic import make_area, write_raster
from .test_scaleout import _kill_after, layers, same

MODELLED = (2, 3, 5, 12, 13)


def _read(path: Any) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def _write_like(cfg: dict, name: str, data: np.ndarray, nodata: float = -999.0) -> str:
    """``data`` (bands, rows, cols) on the grid of the area's SOC, next to its inputs."""
    soc = Path(cfg["inputs"]["soc"])
    with rasterio.open(soc) as ds:
        transform, crs = ds.transform, ds.crs
    return str(write_raster(soc.parent / name, data, transform=transform, crs=crs, nodata=nodata))


def _out(cfg: dict, folder: Path, **run_options: Any) -> dict:
    return dict(cfg, run=dict(cfg["run"], output=str(folder), **run_options))


def test_a_class_default_cover_serves_pixels_without_a_cover_value(tmp_path):
    """Pixels whose cover raster is nodata take their classes' default cover ([classes.N]
    cover): the same bits as a run whose cover raster holds those values; without a default
    for one of its classes a pixel stays nodata."""
    cfg = make_area(tmp_path / "in", rows=6, cols=7, seed=31)
    cover = _read(cfg["inputs"]["cover"])
    # (values a float32 raster holds exactly, as the class table's float64 values)
    default = [0.625, 0.625, 0.75, 0.875, 0.875, 1.0, 1.0, 1.0, 0.875, 0.75, 0.75, 0.625]
    holes = np.zeros(cover.shape[1:], dtype=bool)
    holes[::2, 1::2] = True
    filled = cover.copy()
    filled[:, holes] = np.array(default)[:, None]
    given = dict(cfg, inputs=dict(cfg["inputs"], cover=_write_like(cfg, "filled.tif", filled)))
    run(_out(given, tmp_path / "given", uncertainty="minmax", threads=1))
    missing = cover.copy()
    missing[:, holes] = -999.0
    gaps = dict(cfg, inputs=dict(cfg["inputs"], cover=_write_like(cfg, "gaps.tif", missing)))
    gaps["classes"] = {str(c): {"cover": default} for c in MODELLED}
    summary = run(_out(gaps, tmp_path / "gaps", uncertainty="minmax", threads=1))
    ref, got = layers(tmp_path / "given"), layers(tmp_path / "gaps")
    lu = _read(cfg["inputs"]["land_use"])
    # a pixel without cover needs a default for the class of every year (one with a year of
    # artificial land, class 1, has none)
    defaulted = holes & np.isin(lu, MODELLED).all(axis=0)
    assert defaulted.any() and (holes & ~defaulted & np.isin(lu[-1], MODELLED)).any()
    names = [k for k in ref if k.endswith("Map030.tif")]
    assert any("finalSOC_SSM2" in k for k in names)
    for name in names:
        nodata = ref[name + ":meta"][2]
        a, b = ref[name], got[name]
        keep = ~holes | defaulted
        assert a[:, keep].tobytes() == b[:, keep].tobytes(), name
        assert (b[:, holes & ~defaulted] == nodata).all() or np.isnan(
            b[:, holes & ~defaulted]
        ).all()
    assert summary.counts["cover:class_default"] == int(defaulted.sum())
    # a default for cropland only: the other classes' pixels without cover are nodata
    gaps["classes"] = {"2": {"cover": default}}
    crops = run(_out(gaps, tmp_path / "crops", uncertainty="minmax", threads=1))
    cropland = (lu == 2).all(axis=0)
    assert crops.counts["cover:class_default"] == int((holes & cropland).sum()) > 0
    name = next(k for k in names if "finalSOC_SSM2" in k)
    only = layers(tmp_path / "crops")[name][0]
    assert np.array_equal(only[holes & cropland], ref[name][0][holes & cropland])
    assert (only[defaulted & ~cropland] == ref[name + ":meta"][2]).all()
    assert (defaulted & ~cropland).any()


def _series_area(tmp_path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The area with a warming 20-year forward series and yearly warm-up NPP, as rasters."""
    cfg = make_area(tmp_path / "in", rows=5, cols=6, seed=32)
    t = _read(cfg["inputs"]["warmup_temperature"]["path"]) * 0.1
    p = _read(cfg["inputs"]["warmup_precipitation"])
    e = _read(cfg["inputs"]["warmup_pet"]["path"]) * 0.1
    warming = 2.0 * np.repeat(np.arange(20) / 19.0, 12)[:, None, None]
    series = {"temperature": t + warming, "precipitation": p * 0.9, "pet": e * 1.05}
    rows, cols = t.shape[1:]
    npp = np.linspace(3.0, 6.0, 20)[:, None, None] + np.zeros((20, rows, cols))
    arrays = {f"forward_series_{k}": v for k, v in series.items()}
    arrays["warmup_npp"] = npp
    for key, values in arrays.items():
        cfg["inputs"][key] = _write_like(cfg, f"{key}.tif", values)
    return cfg, arrays


def test_npp_scaled_inputs_without_a_forward_series_are_a_warning(tmp_path):
    """A raster run with forward_inputs = "npp-scaled" and no forward_series_* inputs took the
    forward climatology with constant inputs without a word; now the run summary warns."""
    cfg = make_area(tmp_path / "area", rows=3, cols=4, seed=3)
    cfg["run"]["forward_inputs"] = "npp-scaled"
    summary = run(cfg, output=tmp_path / "out")
    assert any(
        w.startswith('forward_inputs = "npp-scaled" not used') and "forward_series_*" in w
        for w in summary.warnings
    ), summary.warnings


def test_forward_series_and_warmup_npp_rasters_give_the_site_chain_numbers(tmp_path):
    """A raster run with a forward climate series and yearly warm-up NPP rasters gives, pixel
    by pixel, the numbers of gsocseq.pixels.run_pixels on the same values (the site chain,
    checked against month-by-month RothC in the core's tests), not those of a plain run."""
    cfg, arrays = _series_area(tmp_path)
    summary = run(_out(cfg, tmp_path / "out", uncertainty="minmax", threads=1))
    got = layers(tmp_path / "out")
    plain_cfg = dict(cfg, inputs={k: v for k, v in cfg["inputs"].items() if k not in arrays})
    run(_out(plain_cfg, tmp_path / "plain", uncertainty="minmax", threads=1))
    plain = layers(tmp_path / "plain")
    inputs: dict[str, np.ndarray] = {}
    flat = lambda a: a.reshape(a.shape[0], -1).T.astype(np.float64)  # noqa: E731
    raw = {
        "soc": cfg["inputs"]["soc"],
        "clay": cfg["inputs"]["clay"],
        "cover": cfg["inputs"]["cover"],
        "spinup_temperature": cfg["inputs"]["spinup_temperature"],
        "spinup_precipitation": cfg["inputs"]["spinup_precipitation"],
        "spinup_pet": cfg["inputs"]["spinup_pet"],
        "warmup_precipitation": cfg["inputs"]["warmup_precipitation"],
        "npp_reference": cfg["inputs"]["npp_reference"],
        "npp_reference_min": cfg["inputs"]["npp_reference_min"],
        "npp_reference_max": cfg["inputs"]["npp_reference_max"],
    }
    for key, path in raw.items():
        v = flat(_read(path))
        inputs[key] = v[:, 0] if v.shape[1] == 1 else v
    for key in ("warmup_temperature", "warmup_pet"):
        spec = cfg["inputs"][key]
        inputs[key] = flat(_read(spec["path"]) * np.float32(spec["scale"]))
    inputs["land_use"] = flat(_read(cfg["inputs"]["land_use"]))
    for key, values in arrays.items():
        inputs[key] = flat(values.astype(np.float32))
    sites = run_pixels(inputs, {"run": {"uncertainty": "minmax", "threads": 1}})
    key = next(k for k in got if k.endswith("finalSOC_SSM2_Map030.tif"))
    mapped = got[key][0].ravel()
    ok = np.isfinite(mapped) & (mapped != got[key + ":meta"][2])
    assert ok.sum() >= 10 and summary.counts["modelled"] >= 10
    np.testing.assert_allclose(mapped[ok], sites["finalSOC_SSM2"][ok], rtol=1e-6)
    assert not np.allclose(mapped[ok], plain[key][0].ravel()[ok], rtol=1e-4)


def test_refinement_rasters_of_the_wrong_band_count_are_named(tmp_path):
    cfg, arrays = _series_area(tmp_path)
    short = _write_like(cfg, "short.tif", arrays["forward_series_pet"][:120])
    bad = dict(cfg, inputs=dict(cfg["inputs"], forward_series_pet=short))
    with pytest.raises(InputError, match=r"short.tif: input 'forward_series_pet' has 120 bands, "):
        run(_out(bad, tmp_path / "bad"))
    npp = _write_like(cfg, "npp19.tif", arrays["warmup_npp"][:19])
    bad = dict(cfg, inputs=dict(cfg["inputs"], warmup_npp=npp))
    with pytest.raises(
        InputError, match=r"npp19.tif: input 'warmup_npp' has 19 bands, expected 20"
    ):
        run(_out(bad, tmp_path / "bad2"))


def test_practice_settings_given_as_rasters(tmp_path):
    """Manure and cover crops given as rasters (nodata: BAU's value) give the layers of the same
    settings given per zone, bit for bit; every pixel stays modelled; out-of-range values are
    named with their file and band."""
    cfg = make_area(tmp_path / "in", rows=6, cols=8, seed=35)
    zone = (np.arange(48).reshape(6, 8) % 3 + 1).astype(np.float32)
    cfg["inputs"]["zone"] = _write_like(cfg, "zone.tif", zone[None])
    cover = [0.625] * 6 + [0.75] * 6  # (float32 holds them exactly)
    by_zone = dict(
        cfg,
        scenarios={
            "MANURE": {"fym": {"zones": {"2": 0.5}}, "adoption_years": 3},
            "COVER": {"increase": 0.05, "cover": {"zones": {"1": cover}}},
        },
    )
    zoned = run(_out(by_zone, tmp_path / "zoned", uncertainty="minmax", threads=1))
    manure = np.where(zone == 2, 0.5, -999.0)[None]
    covers = np.where(zone == 1, np.array(cover)[:, None, None], -999.0)
    rasters = dict(
        cfg,
        scenarios={
            "MANURE": {
                "fym": {"path": _write_like(cfg, "manure.tif", manure)},
                "adoption_years": 3,
            },
            "COVER": {
                "increase": 0.05,
                "cover": {"path": _write_like(cfg, "covers.tif", covers)},
            },
        },
    )
    got = run(_out(rasters, tmp_path / "rasters", uncertainty="minmax", threads=1))
    ref, mine = layers(tmp_path / "zoned"), layers(tmp_path / "rasters")
    names = [k for k in ref if k.endswith("Map030.tif")]
    assert any("finalSOC_MANURE" in k for k in names)
    for name in names:
        assert ref[name].tobytes() == mine[name].tobytes(), name
    assert got.counts["modelled"] == zoned.counts["modelled"] > 0
    final = next(k for k in names if "finalSOC_MANURE" in k)
    bau = next(k for k in names if "finalSOC_BAU" in k)
    inside = ref[final][0] != ref[final + ":meta"][2]
    assert (mine[final][0][inside & (zone == 2)] > mine[bau][0][inside & (zone == 2)]).all()
    assert (mine[final][0][inside & (zone != 2)] == mine[bau][0][inside & (zone != 2)]).all()
    bad = dict(
        rasters, scenarios={"MANURE": {"fym": {"path": _write_like(cfg, "x.tif", manure * -1)}}}
    )
    with pytest.raises(InputError, match=r"x.tif: band 1, .*scenarios.MANURE.fym"):
        run(_out(bad, tmp_path / "bad", threads=1))


def _toml_value(v: Any) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(x)}' for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (str, Path)):
        return json.dumps(str(v))
    return repr(v)


def _toml(cfg: dict, path: Path) -> Path:
    lines = []
    for table in ("run", "inputs", "classes"):
        if cfg.get(table):
            lines.append(f"[{table}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in cfg[table].items()]
    for name, settings in cfg.get("scenarios", {}).items():
        lines.append(f"[scenarios.{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


#: the worked example of docs/refinements.md, adopted over 5 years (stepped, then closed form)
EXAMPLE = {
    "COVER": {"increase": 0.05, "cover": {"zones": {"1": {"crops": [0.6] * 12}}}},
    "MANURE": {"fym": {"zones": {"2": 0.5}}, "adoption_years": 5},
    "NOTILL": {"rate_factor": {"crops": 0.95}},
}


def test_practices_give_the_same_bits_with_tiles_dask_and_a_resume(tmp_path):
    """A run with practices (per zone, per group, adopted over years) gives the same layers in
    one process, as three tiles assembled, on a local Dask cluster, and after being killed and
    run again (the checkpoint resumed)."""
    cfg = make_area(tmp_path / "in", rows=40, cols=36, seed=33)
    zone = (np.arange(40 * 36).reshape(40, 36) // 7 % 3 + 1).astype(np.float32)
    cfg["inputs"]["zone"] = _write_like(cfg, "zone.tif", zone[None])
    cfg["scenarios"] = EXAMPLE
    cfg["run"].update(block_size=16, uncertainty="minmax")
    plain = run(_out(cfg, tmp_path / "plain", threads=1))
    ref = layers(tmp_path / "plain")
    assert plain.status == "complete" and any("finalSOC_MANURE" in k for k in ref)
    tiled = _out(cfg, tmp_path / "tiled")
    for i in (2, 3, 1):
        run(tiled, tile=f"{i}/3")
    assemble_run(tiled)
    same(ref, layers(tmp_path / "tiled"))
    dask = run(_out(cfg, tmp_path / "dask"), scheduler="local:2")
    assert dask.status == "complete"
    same(ref, layers(tmp_path / "dask"))
    killed = _toml(_out(cfg, tmp_path / "killed"), tmp_path / "killed.toml")
    cmd = [sys.executable, "-m", "gsocseq.cli", "run", str(killed), "-q", "--threads", "1"]
    env = dict(os.environ)
    _kill_after(cmd, tmp_path / "killed", 3, env)
    assert not (tmp_path / "killed" / "TST_GSOCseq_run.json").exists()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    same(ref, layers(tmp_path / "killed"))


def test_the_report_says_what_each_scenario_does(tmp_path):
    """The report's scenario table has a row per scenario with its practices in words."""
    from gsocseq.report import report

    cfg = make_area(tmp_path / "in", rows=4, cols=6, seed=34)
    zone = np.array([[1, 2, 3, 1, 2, 3]] * 4, dtype=np.float32)
    cfg["inputs"]["zone"] = _write_like(cfg, "zone.tif", zone[None])
    cfg["scenarios"] = EXAMPLE
    run(_out(cfg, tmp_path / "out", uncertainty="none", threads=1))
    html = Path(report(tmp_path / "out")).read_text()
    table = html[html.index("<h2>Scenarios</h2>") :]
    table = table[: table.index("</table>")]
    rows = {
        r.split("</td><td>")[0].split("<td>")[-1]: r.split("</td><td>")[1].split("</td>")[0]
        for r in table.split("<tr>")[2:]
    }
    assert set(rows) == {"BAU", "COVER", "MANURE", "NOTILL"}
    assert rows["COVER"] == "input +5 %; cover zone 1: crops: c " + "/".join(["0.6"] * 12)
    assert rows["MANURE"] == ("manure/compost zone 2: 0.5 t C/ha/yr; adopted over 5 years")
    assert rows["NOTILL"] == "decomposition rate x crops: 0.95"


def test_default_covers_are_checked_against_the_scenarios_and_the_mode(tmp_path):
    from gsocseq.config import ConfigError, from_dict

    cfg = make_area(tmp_path / "in", rows=2, cols=3, seed=36)
    cfg["classes"] = {"2": {"cover": [0.6] * 12}}
    cfg["scenarios"] = {"GRASS": {"land_use": 3}}
    with pytest.raises(ConfigError, match=r"land_use: class 3 has no default cover"):
        from_dict(cfg)
    cfg["classes"]["3"] = {"cover": [0.6] * 12}
    assert from_dict(cfg).class_table.has_cover(3)
    cfg["run"]["mode"] = "fao-v1.2"
    del cfg["scenarios"]
    with pytest.raises(ConfigError, match=r"default cover is a refinement of rothamsted"):
        from_dict(cfg)


def test_warmup_npp_in_another_unit_than_its_reference_is_refused(tmp_path):
    # the warm-up inputs are C_eq x NPP_y / NPP_ref: a warm-up NPP in kg C/m2/yr (every value
    # a tenth of t C/ha/yr, within the plausible range) made every input 10 times too small,
    # with exit 0
    cfg, arrays = _series_area(tmp_path)
    kg_per_m2 = _write_like(cfg, "npp_kg_m2.tif", arrays["warmup_npp"] * 0.1)
    bad = dict(cfg, inputs=dict(cfg["inputs"], warmup_npp=kg_per_m2))
    with pytest.raises(InputError, match=r"warmup_npp reads 1/.* npp_reference .*period_ratio_max"):
        run(_out(bad, tmp_path / "bad"))
    fixed = dict(cfg, inputs=dict(cfg["inputs"], warmup_npp={"path": kg_per_m2, "scale": 10.0}))
    assert run(_out(fixed, tmp_path / "fixed")).counts["modelled"] > 0
