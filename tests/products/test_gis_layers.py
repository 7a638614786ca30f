"""Layers a GIS user reads at once: the land use with a colour table and class names, a QGIS
style beside each layer, provenance tags in every GeoTIFF, a run summary without the user's
directory layout, and the land use of fewer years than the warm-up said."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from gsocseq import __version__
from gsocseq.classes import NAMES
from gsocseq.errors import InputError
from gsocseq.pipeline import run

from ..synthetic import make_area, write_raster


def test_land_use_styles_tags_and_relative_paths(tmp_path):
    cfg = make_area(tmp_path / "in", rows=6, cols=8, lu_bands=5)
    summary = run(cfg)
    out = Path(summary.output)
    assert out.is_absolute() and out == tmp_path / "in" / "out"
    # the land use: int16 (METHOD.md section 7), 0 = no data, the class names
    with rasterio.open(out / "TST_GSOCseq_LandUse.tif") as ds:
        assert ds.dtypes[0] == "int16" and ds.nodata == 0
        codes = np.unique(ds.read(1))
        tags = ds.tags(1)
    assert {2, 3} <= set(codes.tolist())
    assert all(tags[f"class_{c}"] == NAMES[c] for c in codes if c)
    # a QGIS style beside every single-band layer, of the layer's kind
    tifs = sorted(out.glob("*.tif"))
    for tif in tifs:
        qml = tif.with_suffix(".qml")
        with rasterio.open(tif) as ds:
            assert ds.tags()["producer"] == f"gsocseq {__version__}"  # provenance, every file
            assert ds.tags()["gsocseq_mode"] == "rothamsted"
            assert "SSM3: crops +20 %" in ds.tags()["gsocseq_scenarios"]
            assert len(ds.tags()["gsocseq_date"]) == 10
            if ds.count > 1:
                assert not qml.exists()
                continue
            values = ds.read(1, masked=True).compressed()
        renderer = ET.parse(qml).getroot().find("pipe/rasterrenderer")
        assert renderer is not None, qml.name
        if tif.name.endswith(("LandUse.tif", "ExclusionMask.tif")):
            assert renderer.get("type") == "paletted"
            labels = [e.get("label") for e in renderer.iter("paletteEntry")]
            if "LandUse" in tif.name:
                assert "2 cropland" in labels and "13 paddy fields" in labels
            continue
        assert renderer.get("type") == "singlebandpseudocolor"
        lo, hi = float(renderer.get("classificationMin")), float(renderer.get("classificationMax"))
        assert lo < hi
        if "_ASR_" in tif.name or "_AbsDiff_" in tif.name:
            if "Uncertainty" not in tif.name and values.min() < 0 < values.max():
                assert lo == -hi  # diverging, centred on 0
        if "_RSR_" in tif.name and "Uncertainty" not in tif.name and values.min() >= 0:
            assert lo == 0.0  # one sign: sequential from 0
    # run.json: paths relative to the output folder
    text = (out / "TST_GSOCseq_run.json").read_text(encoding="utf-8")
    assert str(tmp_path) not in text
    data = json.loads(text)
    assert data["output"] == "." and data["inputs"]["soc"] == "../soc.tif"
    # the Annex II protocol on the national layers, in run.json
    assert data["qa_protocol"] == summary.qa_protocol and len(data["qa_protocol"]["checks"]) > 29
    assert (out / data["inputs"]["soc"]).resolve() == (tmp_path / "in" / "soc.tif").resolve()
    # the land use of 5 years for a warm-up of 20: said
    said = [w for w in summary.warnings if "land use of 5 years for 20 warm-up years" in w]
    assert said and "2001-2016" in said[0] and "repeated 16 times" in said[0]
    # running again: up to date, the summary's output whole again
    again = run(cfg)
    assert again.status == "up to date" and Path(again.output) == out


def test_a_grid_mismatch_says_how_to_fix_it(tmp_path):
    cfg = make_area(tmp_path / "in", rows=6, cols=8)
    with rasterio.open(cfg["inputs"]["clay"]) as ds:
        clay = ds.read(1)
    write_raster(tmp_path / "clay.tif", clay, transform=Affine(0.01, 0, 10.003, 0, -0.01, 50.0))
    cfg["inputs"]["clay"] = str(tmp_path / "clay.tif")
    with pytest.raises(InputError) as err:
        run(cfg)
    text = str(err.value)
    assert "origin" in text and "gsocseq prepare" in text
    assert "gdalwarp -t_srs EPSG:4326 -te 10 49.94 10.08 50 -ts 8 6 -r bilinear" in text


def test_validate_names_the_classes_in_number_order(tmp_path):
    from gsocseq.validate import validate

    report = validate(make_area(tmp_path / "in", rows=6, cols=8))
    lines = [line.strip() for line in report.splitlines()]
    named = [line for line in lines if line.split(" ")[0].isdigit()]
    codes = [int(line.split(" ")[0]) for line in named]
    assert codes == sorted(codes) and len(codes) >= 3
    assert any(line.startswith("2 cropland: ") for line in named)
    assert any(line.startswith("12 tree crops: ") or line.startswith("13 paddy") for line in named)


def test_flags_layer_on_request(tmp_path):
    cfg = make_area(tmp_path / "in", rows=6, cols=8)
    plain = run(dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "plain"))))
    assert not (Path(plain.output) / "TST_GSOCseq_Flags.tif").exists()
    summary = run(dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "flags"), flags=True)))
    out = Path(summary.output)
    with rasterio.open(out / "TST_GSOCseq_Flags.tif") as ds:
        assert ds.dtypes[0] == "uint16" and ds.nodata == 65535
        assert "64 a warm-up year's class has no coefficients" in ds.descriptions[0]
        bits = ds.read(1)
    with rasterio.open(out / "TST_GSOCseq_LandUse.tif") as ds:
        modelled = ds.read(1) != 0
    assert np.array_equal(bits == 65535, ~modelled)
    flagged = {k[len("flag:") :]: v for k, v in summary.counts.items() if k.startswith("flag:")}
    assert flagged  # make_area has a year of a class without coefficients
    from gsocseq.chain import FLAGS

    for bit, text in FLAGS.items():
        assert int(((bits & bit) > 0)[modelled].sum()) == flagged.get(text, 0), text
    # the layers are those of the run without the flags layer, bit for bit
    for name in ("TST_GSOCseq_T0_Map030.tif", "TST_GSOCseq_ASR_SSM1_Map030.tif"):
        with rasterio.open(out / name) as a, rasterio.open(Path(plain.output) / name) as b:
            assert np.array_equal(a.read(), b.read())
