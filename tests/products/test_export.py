"""``gsocseq export --fao``: the 29 products on the GSP template grid (copied or resampled
bilinearly), across the antimeridian, the Annex II QA protocol recomputed here, the manifest
and the zip."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from rasterio.warp import transform as warp_points

from gsocseq import export as export_module
from gsocseq.cli import main
from gsocseq.errors import InputError, OutputError
from gsocseq.export import export_fao, template_parts, verify
from gsocseq.pipeline import run
from gsocseq.qa_protocol import MASKED_SHARE_MAX, fao_layers, protocol

from ..chain.test_fao import T1000, _read, fao_config
from ..synthetic import make_area, write_raster

R = 1.0 / 120.0
FAO_NAMES = sorted(lay.file_name("THA") for lay in fao_layers())


def _aligned(t: Affine) -> bool:
    cols, rows = (t.c + 180) * 120, (90 - t.f) * 120
    return (
        abs(cols - round(cols)) < 1e-6
        and abs(rows - round(rows)) < 1e-6
        and abs(t.a - R) < 1e-12
        and abs(t.e + R) < 1e-12
    )


@pytest.fixture(scope="module")
def t1000_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("t1000") / "run"
    run(fao_config(out))
    return out


@pytest.fixture(scope="module")
def t1000_export(t1000_run, tmp_path_factory):
    return export_fao(t1000_run, "tha", output=tmp_path_factory.mktemp("exp") / "FAO_THA")


def test_a_run_on_the_template_is_copied_value_for_value(t1000_run, t1000_export):
    e = t1000_export
    assert e.method == "copied" and len(e.parts) == 1
    names = sorted(p.name for p in e.folder.glob("*Map030.tif"))
    assert names == FAO_NAMES  # the 29, named with the ISO3 code
    for name in names:
        ours = e.folder / name
        theirs = t1000_run / name.replace("THA_", "THA_NP_")
        with rasterio.open(ours) as a, rasterio.open(theirs) as b:
            assert a.crs.to_epsg() == 4326 and _aligned(a.transform)
            assert a.dtypes[0] == "float32" and a.nodata == -999
            assert a.transform.almost_equals(b.transform, precision=1e-12)
            assert np.array_equal(a.read(1), b.read(1))  # bit for bit, nodata included
        # and so the FAO R scripts' own maps, pixel for pixel within one float32 ulp
        ref = _read(T1000 / "outputs/maps" / theirs.name).astype(np.float32)
        mine = _read(ours).astype(np.float32)
        assert np.array_equal(np.isnan(ref), np.isnan(mine))
    # the land use as METHOD.md section 7 asks: int16, its classes those of the run
    with rasterio.open(e.folder / "THA_GSOCseq_LandUse.tif") as a:
        with rasterio.open(t1000_run / "THA_NP_GSOCseq_LandUse.tif") as b:
            assert a.dtypes[0] == b.dtypes[0] == "int16" and a.nodata == 0
            assert np.array_equal(a.read(1), b.read(1))


def test_manifest_checksums_and_zip(t1000_export):
    e = t1000_export
    manifest = json.loads((e.folder / "THA_GSOCseq_manifest.json").read_text())
    assert manifest["iso3"] == "THA" and manifest["run"]["mode"] == "fao-v1.2"
    assert manifest["grid"]["crs"] == "EPSG:4326"
    assert manifest["gsocseq_version"]
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(FAO_NAMES) <= set(listed)
    assert "THA_GSOCseq_LandUse.tif" in listed and "THA_GSOCseq_QA_protocol.csv" in listed
    for name, entry in listed.items():
        data = (e.folder / name).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        if name.endswith(".tif"):
            assert entry["crs"] == "EPSG:4326"
    sums = (e.folder / "THA_GSOCseq_SHA256SUMS.txt").read_text().splitlines()
    for line in sums:
        digest, name = line.split("  ")
        assert hashlib.sha256((e.folder / name).read_bytes()).hexdigest() == digest
    with zipfile.ZipFile(e.zip) as z:
        names = z.namelist()
    assert all("/" not in n for n in names)  # flat, as the Secretariat's script unzips it
    assert set(names) == {p.name for p in e.files}
    assert verify(e.zip) == [] and verify(e.folder) == []


def test_verify_finds_a_changed_file(t1000_export, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(t1000_export.folder, copy)
    (copy / "THA_GSOCseq_submission.zip").unlink()
    layer = copy / "THA_GSOCseq_T0_Map030.tif"
    data = bytearray(layer.read_bytes())
    data[-10] ^= 0xFF
    layer.write_bytes(bytes(data))
    (copy / "notes.txt").write_text("x")
    problems = verify(copy)
    assert any("T0_Map030.tif: SHA-256 differs" in p for p in problems)
    assert any("notes.txt: in the delivery but not in the manifest" in p for p in problems)


def _protocol_by_hand(folder: Path, iso: str, modelled=(2, 3, 5, 12, 13)):
    """The Annex II checks recomputed with numpy from the files: {(item, check): passed}."""
    lu = _read(folder / f"{iso}_GSOCseq_LandUse.tif")
    support = np.isin(np.nan_to_num(lu, nan=-1), modelled)
    out = {}
    values = {}
    for lay in fao_layers():
        v = _read(folder / lay.file_name(iso))
        values[lay.product + ("_U" if lay.uncertainty else "")] = v
        name = lay.file_name(iso)[:-4]
        lo, hi, lo_in, hi_in = lay.qa_range
        x = v[~np.isnan(v)]
        inside = ((x >= lo) if lo_in else (x > lo)) & ((x <= hi) if hi_in else (x < hi))
        out[(name, "range")] = bool(inside.all()) and len(x) > 0
        masked = (support & np.isnan(v)).sum() / support.sum()
        out[(name, "masked")] = masked <= MASKED_SHARE_MAX
    for c in np.unique(lu[support]).astype(int):
        here = support & (lu == c)
        f = np.stack([values[f"finalSOC_{s}"][here] for s in ("BAU", "SSM1", "SSM2", "SSM3")])
        f = f[:, ~np.isnan(f).any(axis=0)]
        m = f.mean(axis=1)
        out[(c, "order")] = bool(np.all(np.diff(m) >= 0))
        out[(c, "rsr")] = all(
            np.nanmean(values[f"RSR_{s}"][here]) >= 0 for s in ("SSM1", "SSM2", "SSM3")
        )
    return out


def _protocol_rows(path: Path) -> dict:
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["check"].startswith("values in the QA range"):
                rows[(r["item"], "range")] = r["result"] == "pass"
            elif r["check"].startswith("modelled pixels without"):
                rows[(r["item"], "masked")] = r["result"] == "pass"
            elif r["check"].startswith("mean final SOC"):
                rows[(int(r["item"].split()[1]), "order")] = r["result"] == "pass"
            elif r["check"].startswith("mean RSR"):
                rows[(int(r["item"].split()[1]), "rsr")] = r["result"] == "pass"
    return rows


def test_qa_protocol_recomputed(t1000_export):
    e = t1000_export
    by_hand = _protocol_by_hand(e.folder, "THA")
    assert _protocol_rows(e.folder / "THA_GSOCseq_QA_protocol.csv") == by_hand
    assert e.protocol.passed == all(by_hand.values())
    rows = {(c.step, c.check): c.result for c in e.protocol.checks if c.step < 4}
    assert set(rows.values()) == {"pass"}  # names, ISO3, horizon, template grid, land use


def test_qa_protocol_by_small_windows_equals_one_window(t1000_export):
    """The protocol reads the layers a window at a time (each layer opened for the window
    only): 7-pixel windows give the table of one window holding the whole map, every figure."""
    folder = t1000_export.folder
    parts = [{lay.key: folder / lay.file_name("THA") for lay in fao_layers()}]
    land_use = [folder / "THA_GSOCseq_LandUse.tif"]
    with rasterio.open(land_use[0]) as ds:
        whole = max(ds.height, ds.width)
        assert ds.height > 7 and ds.width > 7
    classes = [2, 3, 5, 12, 13]
    small = protocol(parts, land_use, "THA", classes, template=True, block=7)
    one = protocol(parts, land_use, "THA", classes, template=True, block=whole)
    assert small.to_dict() == one.to_dict()
    means = [c for c in one.checks if c.check.startswith("mean")]
    assert len(one.checks) > 29 and means


def test_qa_protocol_windows_side_by_side_equal_one_at_a_time(t1000_export, monkeypatch):
    """The windows are tallied on threads (qa_protocol.WORKERS) and added in window order:
    the table of 7-pixel windows on two threads is the table on one, every figure, and the
    threads did tally windows."""
    import threading

    from gsocseq import qa_protocol

    folder = t1000_export.folder
    parts = [{lay.key: folder / lay.file_name("THA") for lay in fao_layers()}]
    land_use = [folder / "THA_GSOCseq_LandUse.tif"]
    classes = [2, 3, 5, 12, 13]
    seen: set[str] = set()
    tally = qa_protocol._tally_window

    def spy(task):
        seen.add(threading.current_thread().name)
        return tally(task)

    monkeypatch.setattr(qa_protocol, "_tally_window", spy)
    tables = {}
    for workers in (1, 2):
        monkeypatch.setattr(qa_protocol, "WORKERS", workers)
        tables[workers] = protocol(parts, land_use, "THA", classes, template=True, block=7)
    assert tables[2].to_dict() == tables[1].to_dict()
    assert any(c.check.startswith("mean final SOC") for c in tables[1].checks)
    assert seen and all(name.startswith("gsocseq-qa") for name in seen)
    if (os.cpu_count() or 1) > 1:
        assert len(seen) >= 2


def test_qa_protocol_csv_has_no_formula_cells(tmp_path):
    """A measured range such as "-7.1 to 4.3" is text a spreadsheet would read as a formula:
    written with a leading ' (OWASP), as every CSV gsocseq writes."""
    from gsocseq.qa_protocol import Check, Protocol

    protocol = Protocol(
        [Check(4, "KEN_GSOCseq_ASR_BAU_Map030", "range", "-7.1 to 4.3", "-5 to 5", "fail")]
    )
    path = protocol.write_csv(tmp_path / "qa.csv")
    with open(path, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["measured"] == "'-7.1 to 4.3" and row["expected"] == "'-5 to 5"
    assert row["step"] == "4" and row["result"] == "fail"


def test_qa_protocol_fails_what_it_should(t1000_export, tmp_path):
    """A T0 value outside [0, 800], a class whose SSM3 mean falls below SSM2, an RSR layer with
    many masked pixels and a missing product each fail their row (and only theirs)."""
    folder = tmp_path / "bad"
    shutil.copytree(t1000_export.folder, folder)

    def edit(name: str, change) -> None:
        path = folder / name
        with rasterio.open(path) as ds:
            profile, data = ds.profile, ds.read(1)
        change(data)
        profile.pop("blockxsize", None), profile.pop("blockysize", None)
        with rasterio.open(path, "w", **{**profile, "driver": "GTiff", "tiled": False}) as ds:
            ds.write(data, 1)

    lu = _read(folder / "THA_GSOCseq_LandUse.tif")
    first = tuple(np.argwhere(lu == 2)[0])
    edit("THA_GSOCseq_T0_Map030.tif", lambda d: d.__setitem__(first, 900.0))
    ssm2 = _read(folder / "THA_GSOCseq_finalSOC_SSM2_Map030.tif")
    paddy = lu == 13
    edit(
        "THA_GSOCseq_finalSOC_SSM3_Map030.tif",
        lambda d: d.__setitem__(paddy, (ssm2[paddy] - 1).astype(np.float32)),
    )
    many = np.argwhere(lu == 3)[:200]
    edit(
        "THA_GSOCseq_RSR_SSM1_Map030.tif",
        lambda d: d.__setitem__((many[:, 0], many[:, 1]), -999.0),
    )
    by_hand = _protocol_by_hand(folder, "THA")
    parts = {
        lay.key: folder / lay.file_name("THA")
        for lay in fao_layers()
        if lay.product != "RelDiff_SSM3"
    }
    missing = {**parts, "_GSOCseq_RelDiff_SSM3_Map030.tif": None}
    result = protocol(
        [missing], [folder / "THA_GSOCseq_LandUse.tif"], "THA", [2, 3, 5, 12, 13], template=True
    )
    failed = {(c.item, c.check.split(" (")[0]) for c in result.failures}
    assert ("all products", "the 29 mandatory products present") in failed
    assert ("THA_GSOCseq_T0_Map030", "values in the QA range") in failed
    assert ("THA_GSOCseq_RSR_SSM1_Map030", "modelled pixels without a value") in failed
    assert ("class 13 paddy fields", "mean final SOC SSM3 >= SSM2 >= SSM1 >= BAU") in failed
    assert len(failed) == 4
    assert not by_hand[("THA_GSOCseq_T0_Map030", "range")]
    assert not by_hand[(13, "order")]
    assert not by_hand[("THA_GSOCseq_RSR_SSM1_Map030", "masked")]


def _bilinear(src: np.ndarray, t: Affine, x: float, y: float) -> float:
    """Bilinear value at (x, y) of ``src`` (NaN nodata) where the four centres around it all
    have values; NaN otherwise."""
    col, row = (x - t.c) / t.a - 0.5, (y - t.f) / t.e - 0.5
    i, j = math.floor(row), math.floor(col)
    if i < 0 or j < 0 or i + 1 >= src.shape[0] or j + 1 >= src.shape[1]:
        return math.nan
    q = src[i : i + 2, j : j + 2]
    if np.isnan(q).any():
        return math.nan
    fy, fx = row - i, col - j
    return float(
        q[0, 0] * (1 - fx) * (1 - fy)
        + q[0, 1] * fx * (1 - fy)
        + q[1, 0] * (1 - fx) * fy
        + q[1, 1] * fx * fy
    )


def _nearest_has_value(src: np.ndarray, t: Affine, x: float, y: float) -> bool:
    col, row = math.floor((x - t.c) / t.a), math.floor((y - t.f) / t.e)
    inside = 0 <= row < src.shape[0] and 0 <= col < src.shape[1]
    return inside and not math.isnan(src[row, col])


def _check_resampled(run_dir: Path, export_dir: Path, iso: str, run_name: str, crs: str) -> int:
    """Every exported pixel against the run's layer: a value exactly where the run's nearest
    pixel has one; equal to the bilinear interpolation (computed here) where the four centres
    around it have values. Returns the pixels compared."""
    compared = 0
    for product in ("T0", "ASR_SSM2"):
        with rasterio.open(run_dir / f"{run_name}_GSOCseq_{product}_Map030.tif") as ds:
            src, st = ds.read(1).astype(np.float64), ds.transform
        src[src == -999] = np.nan
        files = sorted(export_dir.glob(f"{iso}_GSOCseq_{product}_Map030*.tif"))
        assert files
        for path in files:
            with rasterio.open(path) as ds:
                assert ds.crs.to_epsg() == 4326 and _aligned(ds.transform)
                out, t = _read(path), ds.transform
            rows, cols = np.indices(out.shape)
            lon = t.c + (cols.ravel() + 0.5) * t.a
            lat = t.f + (rows.ravel() + 0.5) * t.e
            xs, ys = warp_points("EPSG:4326", crs, lon.tolist(), lat.tolist())
            if crs == "EPSG:4326" and st.c > 180 - 1:  # a source given in 0..360
                xs = [x + 360 if x < 0 else x for x in xs]
            for k, (x, y) in enumerate(zip(xs, ys)):
                value = out.ravel()[k]
                assert _nearest_has_value(src, st, x, y) == (not math.isnan(value)), (path, k)
                expected = _bilinear(src, st, x, y)
                if not math.isnan(expected):
                    assert value == pytest.approx(expected, rel=2e-6, abs=1e-6), (path, k)
                    compared += 1
    return compared


def test_another_grid_is_resampled_bilinearly_onto_the_template(tmp_path):
    cfg = make_area(tmp_path / "a", rows=14, cols=17)  # 0.01 degree from 10 E, 50 N
    summary = run(cfg)
    e = export_fao(summary.output, "TST")
    assert e.method == "resampled" and len(e.parts) == 1
    assert _check_resampled(Path(summary.output), e.folder, "TST", "TST", "EPSG:4326") > 50
    assert verify(e.zip) == []


def test_a_run_of_another_depth_fails_the_qa_protocol(tmp_path):
    """[run] depth = 20: its layers are named Map030 (0-30 cm) and were delivered to FAO as the
    0-30 cm products with a QA protocol that passed step 1; now the layer depth is a check of
    step 1 (the run's national protocol and the delivery's), failing at 20 cm only."""

    def depth_check(checks):
        rows = [c for c in checks if c["check"] == "layer depth ([run] depth)"]
        assert len(rows) == 1 and rows[0]["step"] == 1
        return rows[0]["measured"], rows[0]["result"]

    cfg = make_area(tmp_path / "a", rows=4, cols=5)
    summary = run(cfg)
    assert depth_check(summary.qa_protocol["checks"]) == ("30 cm", "pass")
    cfg["run"].update(depth=20, output=str(tmp_path / "b" / "out"))
    summary = run(cfg)
    assert depth_check(summary.qa_protocol["checks"]) == ("20 cm", "fail")
    e = export_fao(summary.output, "TST")
    assert depth_check([c.__dict__ for c in e.protocol.checks]) == ("20 cm", "fail")
    with open(e.folder / "TST_GSOCseq_QA_protocol.csv", encoding="utf-8") as f:
        assert any(
            r["check"] == "layer depth ([run] depth)" and r["result"] == "fail"
            for r in csv.DictReader(f)
        )


@pytest.mark.parametrize("west", [180 - 5 * R, -180 - 5 * R], ids=["0..360", "below -180"])
def test_a_geographic_grid_across_the_antimeridian_is_split_and_copied(tmp_path, west):
    """A run in EPSG:4326 across 180 degrees (given from 179.96 E, or from -180.04) is wrapped:
    an _east file up to 180 and a _west file from -180, values copied."""
    t = Affine(R, 0, west, 0, -R, -17.0)
    cfg = make_area(tmp_path / "a", rows=12, cols=15, transform=t)
    cfg["run"]["name"] = "FJI"
    summary = run(cfg)
    e = export_fao(summary.output, "FJI")
    assert e.method == "copied" and [p.suffix for p in e.parts] == ["_east", "_west"]
    for lay in fao_layers():
        name = lay.file_name("FJI")
        with rasterio.open(Path(summary.output) / name) as ds:
            whole = ds.read(1)
        east = e.folder / name.replace(".tif", "_east.tif")
        west = e.folder / name.replace(".tif", "_west.tif")
        with rasterio.open(east) as a, rasterio.open(west) as b:
            assert a.bounds.right == pytest.approx(180.0, abs=1e-9)
            assert b.bounds.left == pytest.approx(-180.0, abs=1e-9)
            assert _aligned(a.transform) and _aligned(b.transform)
            assert np.array_equal(np.concatenate([a.read(1), b.read(1)], axis=1), whole)
    assert e.protocol.checks[0].result == "pass"  # the 29 present, in both parts
    assert verify(e.zip) == []


def test_a_projected_grid_across_the_antimeridian_is_split_and_resampled(tmp_path):
    """A run in a projected CRS across 180 degrees (EPSG:3832, PDC Mercator) is resampled
    onto the template in two parts; every pixel against a bilinear interpolation computed
    here."""
    xs, ys = warp_points("EPSG:4326", "EPSG:3832", [179.95], [-17.0])
    t = Affine(1000.0, 0, xs[0], 0, -1000.0, ys[0])
    cfg = make_area(tmp_path / "a", rows=12, cols=15, transform=t, crs="EPSG:3832")
    summary = run(cfg)
    method, parts = template_parts(
        rasterio.open(Path(summary.output) / "TST_GSOCseq_T0_Map030.tif")
    )
    assert method == "resampled" and [p.suffix for p in parts] == ["_east", "_west"]
    e = export_fao(summary.output, "FJI")
    west = _read(e.folder / "FJI_GSOCseq_T0_Map030_west.tif")
    assert (~np.isnan(west)).sum() > 20  # the part beyond 180 has values
    assert _check_resampled(Path(summary.output), e.folder, "FJI", "TST", "EPSG:3832") > 100


@pytest.mark.parametrize(
    "transform", [None, Affine(R, 0.0, 10.0, 0.0, -R, 50.0)], ids=["resampled", "copied"]
)
def test_excluded_pixels_are_modelled_masked_nationally_and_delivered(
    tmp_path, monkeypatch, transform
):
    """METHOD.md 2 and 7: a pixel an exclusion rule meets is modelled; the national layers
    leave it out, the exclusion mask says which rule, and the FAO delivery has its values: the
    same as a run with exclusions disabled, bit for bit, everywhere."""
    cfg = make_area(tmp_path / "a", rows=6, cols=8, transform=transform)
    with rasterio.open(cfg["inputs"]["soc"], "r+") as ds:
        soc = ds.read(1)
        soc[0, 0] = 250.0  # above the 200 t C/ha rule (a paddy pixel of make_area)
        ds.write(soc, 1)
    kept_cfg = dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "kept")))
    kept_cfg["exclusions"] = {"enabled": False}
    kept = run(kept_cfg)
    lu = _read(Path(kept.output) / "TST_GSOCseq_LandUse.tif")
    sand = np.full(lu.shape, 40.0)
    modelled = np.argwhere(~np.isnan(lu))
    r, c = modelled[len(modelled) // 2]
    sand[r, c] = 95.0  # above the 90 % rule
    with rasterio.open(cfg["inputs"]["soc"]) as ds:
        sand_path = write_raster(tmp_path / "sand.tif", sand, transform=ds.transform)
    cfg["inputs"]["sand"] = kept_cfg["inputs"]["sand"] = str(sand_path)
    kept = run(dict(kept_cfg, run=dict(kept_cfg["run"], overwrite=True)))
    masked = run(cfg)
    a, b = Path(masked.output), Path(kept.output)
    assert masked.counts["excluded:soc>200"] == 1 and masked.counts["excluded:sand>90"] == 1
    assert masked.counts["modelled"] == kept.counts["modelled"]  # excluded pixels modelled
    with rasterio.open(a / "TST_GSOCseq_ExclusionMask.tif") as ds:
        bits = ds.read(1)
        assert ds.nodata == 255 and "1 SOC > 200 t C/ha" in ds.descriptions[0]
    assert bits[0, 0] == 1 and bits[r, c] == 2
    with rasterio.open(b / "TST_GSOCseq_ExclusionMask.tif") as ds:
        assert np.array_equal(bits, ds.read(1))  # which rules: also when they are not applied
    assert np.all((bits == 255) == np.isnan(lu))  # 255: not modelled
    assert ((bits > 0) & (bits < 255)).sum() == 2
    excluded = (bits > 0) & (bits < 255)
    with rasterio.open(a / "TST_GSOCseq_ExcludedValues.tif") as ds:
        band = {d: i for i, d in enumerate(ds.descriptions, start=1)}
        extra = {d: ds.read(i, masked=True).filled(np.nan) for d, i in band.items()}
    assert not (b / "TST_GSOCseq_ExcludedValues.tif").exists()
    for lay in fao_layers():
        national, whole = _read(a / lay.file_name("TST")), _read(b / lay.file_name("TST"))
        assert np.all(np.isnan(national[excluded]))
        assert np.array_equal(national[~excluded], whole[~excluded], equal_nan=True)
        assert np.array_equal(extra[lay.key][excluded], whole[excluded], equal_nan=True)
        assert np.all(np.isnan(extra[lay.key][~excluded]))
    assert not np.isnan(extra[fao_layers()[0].key][excluded]).any()  # T0 of both
    # the protocol on the national layers: the excluded pixels are not "masked"
    row = next(
        c
        for c in masked.qa_protocol["checks"]
        if c["item"] == "TST_GSOCseq_T0_Map030" and "masked" in c["check"]
    )
    assert f"(0 of {masked.counts['modelled'] - 2})" in row["measured"], row
    # the delivery: one continuous surface, as if nothing had been excluded
    ea, eb = export_fao(a, "TST"), export_fao(b, "TST")
    assert ea.warnings == [] and ea.method == ("copied" if transform else "resampled")
    for lay in [*fao_layers(), None]:
        name = lay.file_name("TST") if lay else "TST_GSOCseq_ExclusionMask.tif"
        assert np.array_equal(_read(ea.folder / name), _read(eb.folder / name), equal_nan=True), (
            name
        )
    # and the same files, byte for byte: every product, the land use, the QA protocol (the
    # mask's description says whether the rules were applied; the manifest dates itself)
    names = [lay.file_name("TST") for lay in fao_layers()]
    names += ["TST_GSOCseq_LandUse.tif", "TST_GSOCseq_QA_protocol.csv"]
    for name in names:
        assert (ea.folder / name).read_bytes() == (eb.folder / name).read_bytes(), name
    # filled window by window (2 x 3 windows here): still the delivery of the run without
    # exclusions, byte for byte (copied: the same bytes as in one window)
    monkeypatch.setattr(export_module, "BLOCK", 3)
    ec = export_fao(a, "TST", output=tmp_path / "small_windows")
    ed = export_fao(b, "TST", output=tmp_path / "small_windows_kept")
    for name in names:
        assert (ec.folder / name).read_bytes() == (ed.folder / name).read_bytes(), name
        if transform is not None:
            assert (ec.folder / name).read_bytes() == (ea.folder / name).read_bytes(), name


def test_refusals(t1000_run, t1000_export, tmp_path):
    with pytest.raises(InputError, match="alpha-3"):
        export_fao(t1000_run, "TH")
    with pytest.raises(InputError, match="exists already"):
        export_fao(t1000_run, "THA", output=t1000_export.folder)
    with pytest.raises(InputError, match="not the output folder of a finished run"):
        export_fao(tmp_path, "THA")
    partial = tmp_path / "partial"
    shutil.copytree(t1000_run, partial)
    (partial / "THA_NP_GSOCseq_RSR_SSM3_UncertaintyMap030.tif").unlink()
    with pytest.raises(InputError, match="RSR_SSM3_UncertaintyMap030"):
        export_fao(partial, "THA")
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")  # before any work, not a traceback
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    with pytest.raises(InputError, match="loop_a: cannot be resolved"):
        export_fao(t1000_run, "THA", output=tmp_path / "loop_a")
    assert not list(tmp_path.glob(".loop_a*"))


def test_cli_and_overwrite(t1000_run, tmp_path):
    out = tmp_path / "delivery"
    args = ["export", str(t1000_run), "--fao", "THA", "-o", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "send to FAO" in res.output and "QA protocol (Annex II)" in res.output
    before = (out / "THA_GSOCseq_manifest.json").read_text()
    assert CliRunner().invoke(main, args).exit_code == 2  # not replaced without --overwrite
    assert (out / "THA_GSOCseq_manifest.json").read_text() == before
    res = CliRunner().invoke(main, [*args, "--overwrite"])
    assert res.exit_code == 0 and verify(out) == []
    assert not list(tmp_path.glob(".delivery*"))  # no staging folder left


def test_overwrite_replaces_a_delivery_and_nothing_else(t1000_run, tmp_path):
    # -o a folder of the user's with --overwrite: it was removed whole, with what it held
    mine = tmp_path / "deliveries"
    (mine / "FAO_ETH").mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(
        OutputError, match=r"holds what an earlier delivery did not write \(FAO_ETH/, notes.txt\)"
    ):
        export_fao(t1000_run, "THA", output=mine, overwrite=True)
    assert (mine / "notes.txt").read_text() == "mine" and (mine / "FAO_ETH").is_dir()
    # a file added to an earlier delivery is kept as well
    out = tmp_path / "FAO_THA"
    export_fao(t1000_run, "THA", output=out)
    (out / "cover_letter.txt").write_text("to the GSP Secretariat")
    with pytest.raises(OutputError, match=r"cover_letter\.txt"):
        export_fao(t1000_run, "THA", output=out, overwrite=True)
    assert (out / "cover_letter.txt").exists() and verify(out) == [
        "cover_letter.txt: in the delivery but not in the manifest"
    ]
    (out / "cover_letter.txt").unlink()
    export_fao(t1000_run, "THA", output=out, overwrite=True)  # the delivery alone: replaced
    assert verify(out) == []
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("mine")
    with pytest.raises(OutputError, match="not a folder of an earlier delivery"):
        export_fao(t1000_run, "THA", output=a_file, overwrite=True)
    assert a_file.read_text() == "mine"
    assert not list(tmp_path.glob(".*.part-*"))  # nothing staged


def test_the_delivery_folder_gets_the_users_umask(t1000_export):
    # it was a tempfile.mkdtemp folder renamed into place: 0700 whatever the umask
    umask = os.umask(0)
    os.umask(umask)
    assert t1000_export.folder.stat().st_mode & 0o777 == 0o777 & ~umask


def test_one_export_at_a_time_into_a_folder(t1000_run, tmp_path):
    """A second export into the folder another export is writing stops (exit 2, naming it)
    instead of failing on the first's delivery at the end (exit 1) or, finishing later, taking
    it away without --overwrite. Exports into other folders go on."""
    import threading

    from gsocseq.errors import FolderInUse
    from gsocseq.folder import FolderLock

    out = tmp_path / "FAO_THA"
    held, done = threading.Event(), threading.Event()

    def other_export() -> None:  # another thread takes the lock as another process would
        with FolderLock(tmp_path, what="export", name=export_module.EXPORT_LOCK_NAME):
            held.set()
            done.wait(60)

    holder = threading.Thread(target=other_export)
    holder.start()
    assert held.wait(60)
    try:
        with pytest.raises(FolderInUse, match=r"in use by another gsocseq export; wait"):
            export_fao(t1000_run, "THA", output=out)
        assert not out.exists() and not list(tmp_path.glob(".*.part-*"))
        other = export_fao(t1000_run, "THA", output=tmp_path / "sub" / "FAO_THA")
        assert verify(other.zip) == []
    finally:
        done.set()
        holder.join()
    res = CliRunner().invoke(main, ["export", str(t1000_run), "--fao", "THA", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert verify(out) == []


def test_verify_on_a_full_temporary_folder_says_so(t1000_run, t1000_export, tmp_path, monkeypatch):
    """verify unpacks a zip into a temporary folder: that folder full is an error naming it and
    the space needed (exit 2), not a delivery that "does not verify"."""
    import errno

    def full(self, path=None, members=None, pwd=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", full)
    with pytest.raises(OutputError, match=r"no room to unpack .*\.zip for checking .*TMPDIR"):
        verify(t1000_export.zip)
    # the export's own check of its zip: exit 2 saying so, no delivery, nothing staged
    out = tmp_path / "FAO_THA"
    res = CliRunner().invoke(main, ["export", str(t1000_run), "--fao", "THA", "-o", str(out)])
    assert res.exit_code == 2 and "TMPDIR" in res.output, res.output
    assert not out.exists() and not list(tmp_path.glob(".*.part-*"))
