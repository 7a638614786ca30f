"""``gsocseq site``: a table of sites gives the values of the map layers at those pixels."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from gsocseq.cli import main
from gsocseq.pipeline import run
from gsocseq.rasters import InputError
from gsocseq.site import run_sites

from ..synthetic import make_area


def _read(path, scale=1.0):
    with rasterio.open(path) as ds:
        return ds.read().astype(np.float64) * scale


def site_table(cfg: dict) -> dict[str, list]:
    inp = cfg["inputs"]

    def arr(key):
        v = inp[key]
        return _read(v["path"], v["scale"]) if isinstance(v, dict) else _read(v)

    lu = arr("land_use")
    rows, cols = lu.shape[1:]
    table: dict[str, list] = {"site": [f"r{r}c{c}" for r in range(rows) for c in range(cols)]}

    def add(name, data):
        flat = data.reshape(data.shape[0], -1)
        if data.shape[0] == 1:
            table[name] = list(flat[0])
        else:
            for b in range(data.shape[0]):
                table[f"{name}_{b + 1}"] = list(flat[b])

    for key in inp:
        add(key, arr(key))
    return table


def test_sites_equal_the_raster_layers(tmp_path):
    cfg = make_area(tmp_path, rows=3, cols=4, seed=9)
    run(cfg)
    table = site_table(cfg)
    res = run_sites(table)
    out = tmp_path / "out"
    lu = _read(cfg["inputs"]["land_use"])[-1].ravel()
    assert list(res["modelled"]) == [int(v in (2, 3, 5, 12, 13)) for v in lu]
    for product in ("T0", "finalSOC_BAU", "ASR_SSM2", "RSR_SSM3"):
        layer = _read(out / f"TST_GSOCseq_{product}_Map030.tif")[0].ravel()
        got = res[product].astype(np.float32)
        m = res["modelled"] == 1
        assert np.array_equal(got[m], layer[m].astype(np.float32)), product
        assert np.all(layer[~m] == -999)
    unc = _read(out / "TST_GSOCseq_T0_UncertaintyMap030.tif")[0].ravel()
    m = res["modelled"] == 1
    assert np.array_equal(res["T0_uncertainty"][m].astype(np.float32), unc[m].astype(np.float32))


def test_site_cli_writes_csv(tmp_path):
    cfg = make_area(tmp_path, rows=2, cols=3, seed=9)
    table = site_table(cfg)
    path = tmp_path / "sites.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(table))
        for i in range(len(table["site"])):
            w.writerow([table[k][i] for k in table])
    res = CliRunner().invoke(main, ["site", str(path), "-o", str(tmp_path / "r.csv"), "-q"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert len(rows) == 6 and "finalSOC_SSM1" in rows[0]
    res = CliRunner().invoke(
        main, ["site", str(path), "-o", str(tmp_path / "f.csv"), "--mode", "fao-v1.2", "-q"]
    )
    assert res.exit_code == 0, res.output
    fao = list(csv.DictReader(open(tmp_path / "f.csv")))
    both = [(float(r["T0"]), float(f["T0"])) for r, f in zip(rows, fao) if r["T0"] and f["T0"]]
    assert both and all(a != b for a, b in both)  # the two modes' numerics differ


def test_bad_site_tables(tmp_path):
    cfg = make_area(tmp_path, rows=2, cols=2, seed=9)
    table = site_table(cfg)
    bad = dict(table, clay=[20, 200, 20, 20])
    with pytest.raises(InputError, match=r"site r0c1 \(row 2\), clay value 1: clay = 200"):
        run_sites(bad)
    bad = dict(table)
    del bad["cover_12"]
    with pytest.raises(InputError, match="cover"):
        run_sites(bad)
    bad = dict(table, soc=["x", 1, 2, 3])
    with pytest.raises(InputError, match="is not a number"):
        run_sites(bad)


def test_a_land_use_code_the_table_lacks_is_an_error_as_in_a_raster(tmp_path):
    # a raster run stops on land use 2.5; a site with it was silently not modelled (exit 0)
    cfg = make_area(tmp_path, rows=2, cols=2, seed=9)
    table = site_table(cfg)
    years = [k for k in table if k.startswith("land_use_")]
    last = years[-1]
    table[last] = [2.5, *table[last][1:]]
    with pytest.raises(
        InputError,
        match=rf"site r0c0 \(row 1\), land_use value {len(years)}: land-use code 2.5 is ",
    ):
        run_sites(table)
    # with invalid = "mask": not modelled, and counted as the raster run counts it
    masked = run_sites(table, invalid="mask")
    assert masked["modelled"][0] == 0
    assert list(masked["modelled"][1:]) == list(run_sites(site_table(cfg))["modelled"][1:])


def test_a_spin_up_class_without_coefficients_is_an_error(tmp_path):
    # spinup_land_use 9 (bare soil): no DPM/RPM, no NPP coefficient; every result was NaN
    cfg = make_area(tmp_path, rows=2, cols=2, seed=9)
    table = site_table(cfg)
    modelled = run_sites(table)["modelled"]
    first = int(np.flatnonzero(modelled)[0])
    table["spinup_land_use"] = [9.0] * 4
    with pytest.raises(
        InputError, match=rf"\(row {first + 1}\), spinup_land_use value 1: spin-up "
    ):
        run_sites(table)
    masked = run_sites(table, invalid="mask")
    assert not masked["modelled"].any()
    table["spinup_land_use"] = [0.0] * 4  # "no data" in the ESA table: not modelled
    assert not run_sites(table)["modelled"].any()


def test_no_site_modelled_still_gives_every_result_column(tmp_path):
    # every site forest: the results had "site" and "modelled" only (run_pixels: no "T0",
    # a KeyError in the caller's code)
    cfg = make_area(tmp_path, rows=2, cols=2, seed=9)
    table = site_table(cfg)
    full = run_sites(table)
    for k in [k for k in table if k.startswith("land_use")]:
        table[k] = [4.0] * len(table[k])
    res = run_sites(table)
    assert set(res) == set(full)
    assert not res["modelled"].any()
    for name, values in res.items():
        if name not in ("site", "modelled", "flags"):
            assert len(values) == 4 and np.isnan(values).all(), name


def test_empty_cover_cells_take_the_class_default_cover(tmp_path):
    """Sites whose cover cells are empty take their classes' default cover ([classes.N]
    cover), as raster pixels do: the results of the table with those values written in, bit
    for bit; a site with a class without a default (and every site without defaults) stays
    not modelled."""
    example = Path(__file__).parents[2] / "docs" / "examples" / "sites.csv"
    with open(example, newline="") as f:
        rows = list(csv.DictReader(f))
    default = [0.6, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.6]
    cover = [f"cover_{m}" for m in range(1, 13)]
    # every site's cover cells empty, or holding the default (the paddy site: class 13 without
    # a default, its own values)
    gaps = tmp_path / "gaps.csv"
    with open(gaps, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow(dict(r, **dict.fromkeys(cover, "")))
    filled = tmp_path / "filled.csv"
    with open(filled, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            paddy = r["land_use_20"] == "13"
            w.writerow(r if paddy else dict(r, **{k: repr(v) for k, v in zip(cover, default)}))
    config = {"classes": {"2": {"cover": default}, "3": {"cover": default}}}
    ref = run_sites(filled, config)
    got = run_sites(gaps, config)
    assert list(ref["modelled"]) == [1, 1, 1]
    assert list(got["modelled"]) == [1, 1, 0]
    assert set(got) == set(ref)
    for key, values in ref.items():
        if key not in ("site", "modelled"):
            assert values[:2].tobytes() == got[key][:2].tobytes(), key
            assert np.isnan(got[key][2]), key
    # without defaults, a site without cover is not modelled (as before)
    assert list(run_sites(gaps)["modelled"]) == [0, 0, 0]
