"""The national report (``gsocseq report``): statistics recomputed independently from the
layers, the HTML and its figures, grouping by admin polygons in another CRS, the STAC item."""

from __future__ import annotations

import base64
import csv
import html
import importlib.util
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.crs import CRS
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform

from gsocseq import stac
from gsocseq.cli.report import command as report_command
from gsocseq.errors import InputError
from gsocseq.methods import methods as methods_rows
from gsocseq.report import (
    CO2_PER_C,
    compute_statistics,
    load_run,
    report,
    row_areas_ha,
    window_areas_ha,
)

A = 6378137.0
F = 1.0 / 298.257223563
#: authalic (equal-area) radius of WGS84, m
R_AUTHALIC = 6371007.181


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gsocseq import run
    from gsocseq.demo import generate_inputs

    tmp = tmp_path_factory.mktemp("report")
    run(generate_inputs(tmp))
    return tmp


@pytest.fixture(scope="module")
def html_path(run_dir: Path) -> Path:
    return report(run_dir)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        raw = ds.read(1)
        out = raw.astype(np.float64)
        out[raw == ds.nodata] = np.nan
    return out


def _cell_areas_ha_by_quadrature(path: Path) -> np.ndarray:
    """(rows, cols) cell areas on the WGS84 ellipsoid by Gauss-Legendre quadrature of
    dA = M(phi) N(phi) cos(phi) dphi dlambda (independent of the closed form in report.py)."""
    with rasterio.open(path) as ds:
        t, h, w = ds.transform, ds.height, ds.width
    e2 = F * (2 - F)
    nodes, weights = np.polynomial.legendre.leggauss(8)
    out = np.empty(h)
    for r in range(h):
        p1, p2 = math.radians(t.f + r * t.e), math.radians(t.f + (r + 1) * t.e)
        phi = (p1 + p2) / 2 + (p2 - p1) / 2 * nodes
        s2 = np.sin(phi) ** 2
        m = A * (1 - e2) / (1 - e2 * s2) ** 1.5
        n = A / np.sqrt(1 - e2 * s2)
        out[r] = abs((p2 - p1) / 2 * np.sum(weights * m * n * np.cos(phi))) * math.radians(t.a)
    return np.broadcast_to(out[:, None] / 1e4, (h, w))


def test_pixel_areas_geographic_and_projected() -> None:
    t = Affine(0.5, 0, 10.0, 0, -0.5, 60.0)
    areas = row_areas_ha(t, CRS.from_epsg(4326), 0, 4)
    sphere = np.array(
        [
            R_AUTHALIC**2
            * math.radians(0.5)
            * abs(math.sin(math.radians(60 - 0.5 * r)) - math.sin(math.radians(59.5 - 0.5 * r)))
            / 1e4
            for r in range(4)
        ]
    )
    # the authalic sphere and the ellipsoid differ by < 1 % cell by cell (not in total)
    assert np.allclose(areas, sphere, rtol=1e-2)
    # whole globe on the ellipsoid: 2 pi a^2 + pi b^2 / e ln((1 + e) / (1 - e))
    e = math.sqrt(F * (2 - F))
    b = A * (1 - F)
    globe = 2 * math.pi * A**2 + math.pi * b**2 / e * math.log((1 + e) / (1 - e))
    g = row_areas_ha(Affine(360, 0, -180, 0, -1, 90), CRS.from_epsg(4326), 0, 180)
    assert g.sum() * 1e4 == pytest.approx(globe, rel=1e-12)
    # projected grids: the ground area, not the nominal 30 m x 30 m (test below)
    with pytest.raises(InputError):
        row_areas_ha(Affine(30, 0, 500000, 0, -30, 0), CRS.from_epsg(32633), 5, 3)


def test_projected_pixel_areas_are_ground_areas() -> None:
    """METHOD.md section 8: pixel area in ha. A conformal projection scales areas by k^2, so
    a cell's ground area is its nominal area / k^2 (was: the nominal area, 4x too large in
    Mercator at 60 degrees)."""
    # UTM on the central meridian at the equator: k = 0.9996 exactly
    utm = window_areas_ha(
        Affine(30, 0, 500000, 0, -30, 0), CRS.from_epsg(32633), 5, 0, 3, 2, (10, 2)
    )
    assert utm.shape == (3, 2)
    assert np.allclose(utm, 0.09 / 0.9996**2, rtol=1e-9, atol=0)
    # ellipsoidal Mercator (EPSG:3395): k = sqrt(1 - e^2 sin^2 phi) / cos phi
    e2 = F * (2 - F)
    _, (y60,) = warp_transform("EPSG:4326", "EPSG:3395", [30.0], [60.0])
    t = Affine(1000, 0, 3339584.7, 0, -1000, y60 + 2000)
    got = window_areas_ha(t, CRS.from_epsg(3395), 1, 2, 3, 4, (6, 8))
    cols, rows = np.meshgrid(np.arange(2, 6) + 0.5, np.arange(1, 4) + 0.5)
    _, lat = warp_transform(
        "EPSG:3395", "EPSG:4326", (t.c + t.a * cols).ravel(), (t.f + t.e * rows).ravel()
    )
    phi = np.radians(np.reshape(lat, cols.shape))
    k = np.sqrt(1 - e2 * np.sin(phi) ** 2) / np.cos(phi)
    assert np.allclose(got, 100.0 / k**2, rtol=1e-6, atol=0)
    assert 24 < got.mean() < 26  # a quarter of the nominal 100 ha
    # a cell's area does not depend on the window it is computed in
    whole = window_areas_ha(t, CRS.from_epsg(3395), 0, 0, 6, 8, (6, 8))
    assert np.allclose(whole[1:4, 2:6], got, rtol=1e-12, atol=0)
    # equal-area projection (LAEA Europe): the nominal area
    laea = window_areas_ha(
        Affine(1000, 0, 4321000, 0, -1000, 3210000), CRS.from_epsg(3035), 0, 0, 2, 2, (2, 2)
    )
    assert np.allclose(laea, 100.0, rtol=1e-7, atol=0)
    # feet: the unit converted
    ft = window_areas_ha(
        Affine(1000, 0, 500000, 0, -1000, 3000000), CRS.from_epsg(2236), 0, 0, 1, 1, (1, 1)
    )
    assert ft[0, 0] == pytest.approx((1000 * 1200 / 3937) ** 2 / 1e4, rel=2e-3)


def test_totals_match_independent_recomputation(run_dir: Path, html_path: Path) -> None:
    run = load_run(run_dir)
    rows = _rows(html_path.parent / f"{run.name}_GSOCseq_statistics.csv")
    prefix = run_dir / f"{run.name}_GSOCseq_"
    lu = _read(Path(f"{prefix}LandUse.tif"))
    area = _cell_areas_ha_by_quadrature(Path(f"{prefix}LandUse.tif"))
    by = {(r["unit"], r["land_use"], r["product"]): r for r in rows}
    checked = 0
    for product, unc in (
        ("T0", "T0"),
        ("finalSOC_SSM2", "SSM2"),
        ("ASR_BAU", "ASR_BAU"),
        ("RSR_SSM3", "RSR_SSM3"),
    ):
        x = _read(Path(f"{prefix}{product}_Map030.tif"))
        u = _read(Path(f"{prefix}{unc}_UncertaintyMap030.tif"))
        classes = sorted({int(c) for c in np.unique(lu[np.isfinite(x)])})
        assert classes, product
        for c in [*classes, None]:
            sel = np.isfinite(x) & (True if c is None else lu == c)
            total = float(np.sum(x[sel] * area[sel]))
            a = float(np.sum(area[sel]))
            both = sel & np.isfinite(u)
            pm = float(np.sum(u[both] / 100 * np.abs(x[both]) * area[both]))
            row = by[("all", "all" if c is None else str(c), product)]
            assert int(row["pixels"]) == int(sel.sum())
            assert float(row["area_ha"]) == pytest.approx(a, rel=1e-9)
            assert float(row["total_t_C"]) == pytest.approx(total, rel=1e-9, abs=1e-6)
            assert float(row["total_Mt_CO2e"]) == pytest.approx(
                total * 44 / 12 / 1e6, rel=1e-9, abs=1e-12
            )
            assert float(row["mean_per_ha"]) == pytest.approx(total / a, rel=1e-9, abs=1e-12)
            assert float(row["uncertainty_t_C"]) == pytest.approx(pm, rel=1e-9, abs=1e-6)
            assert float(row["uncertainty_area_share"]) == pytest.approx(
                float(np.sum(area[both])) / a, rel=1e-9
            )
            checked += 1
    assert checked >= 4 * 4
    # no uncertainty layer for AbsDiff: empty cells, not zeros
    assert by[("all", "all", "AbsDiff_BAU")]["uncertainty_t_C"] == ""
    assert CO2_PER_C == pytest.approx(44 / 12)


def test_windowed_accumulation_is_block_size_independent(run_dir: Path) -> None:
    run = load_run(run_dir)
    big = compute_statistics(run, block=512).rows
    small = compute_statistics(run, block=16).rows  # windows cut the 80 x 60 grid unevenly
    assert len(big) == len(small)
    for a, b in zip(big, small):
        assert (a["unit"], a["land_use"], a["product"]) == (b["unit"], b["land_use"], b["product"])
        assert a["pixels"] == b["pixels"]
        assert a["total_t_C"] == pytest.approx(b["total_t_C"], rel=1e-12, abs=1e-9)


def test_html_embeds_the_300_dpi_pngs(html_path: Path) -> None:
    """One file to e-mail: every figure embedded, the same bytes as the PNG beside it."""
    pytest.importorskip("matplotlib")
    text = html_path.read_text(encoding="utf-8")
    images = re.findall(r"<img src='([^']+)'", text)
    # stocks, ASR, RSR, uncertainty and land-use maps; histograms and boxplots of ASR, RSR
    assert len(images) >= 9
    pngs = {p.read_bytes() for p in (html_path.parent / "figures").glob("*.png")}
    for src in images:
        assert src.startswith("data:image/png;base64,"), src[:40]
        data = base64.b64decode(src.split(",", 1)[1])
        assert data in pngs
        assert data[:8] == b"\x89PNG\r\n\x1a\n", src
        i = data.index(b"pHYs")
        ppm = int.from_bytes(data[i + 4 : i + 8], "big")
        assert ppm * 0.0254 == pytest.approx(300, abs=0.5), src
    assert "t C/yr" in text and "Mt CO2e" in text


def _admin_geojson(path: Path, split_lon: float) -> None:
    """Two units in EPSG:3857 (legacy GeoJSON crs member): west and middle of the area; the
    east strip (lon > 30.5) is outside both."""

    def ring(lon0: float, lon1: float) -> list[list[float]]:
        lons = [lon0, lon1, lon1, lon0, lon0]
        lats = [4.4, 4.4, 5.1, 5.1, 4.4]
        xs, ys = warp_transform("EPSG:4326", "EPSG:3857", lons, lats)
        return [[x, y] for x, y in zip(xs, ys)]

    data = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"district": "West"},
                "geometry": {"type": "Polygon", "coordinates": [ring(29.9, split_lon)]},
            },
            {
                "type": "Feature",
                "properties": {"district": "Middle"},
                "geometry": {"type": "Polygon", "coordinates": [ring(split_lon, 30.5)]},
            },
        ],
    }
    path.write_text(json.dumps(data), encoding="utf-8")


def test_admin_grouping_with_polygons_in_another_crs(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gsocseq.report as rep
    from gsocseq.report import figures

    drawn: list[Path] = []

    def one_map(stats: rep.Statistics, folder: Path) -> dict[str, Path]:
        # the full figure set is tested above: here only a map with the admin outlines (time)
        if importlib.util.find_spec("matplotlib") is None:
            return {}
        folder.mkdir(parents=True, exist_ok=True)
        t0 = [lay for lay in stats.run.layers if lay.family == "T0"]
        path = figures._map_figure(t0, folder / "t0.png", "t C/ha", False, stats.zones, "T0")
        drawn.append(path)
        return {"stocks": path}

    monkeypatch.setattr(rep, "make_figures", one_map)
    px = 0.0083333333
    split = 30.0 + 36.25 * px  # between pixel centres (36.5 px) and edges (36 px)
    admin = tmp_path / "districts.geojson"
    _admin_geojson(admin, split)
    out = tmp_path / "rep"
    result = CliRunner().invoke(
        report_command,
        [str(run_dir), "-o", str(out), "--admin", str(admin), "--admin-field", "district", "-q"],
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""
    rows = _rows(out / "DEMO_GSOCseq_statistics.csv")
    by = {(r["unit"], r["land_use"], r["product"]): r for r in rows}
    prefix = run_dir / "DEMO_GSOCseq_"
    x = _read(Path(f"{prefix}T0_Map030.tif"))
    area = _cell_areas_ha_by_quadrature(Path(f"{prefix}T0_Map030.tif"))
    with rasterio.open(f"{prefix}T0_Map030.tif") as ds:
        t = ds.transform
    lon = t.c + (np.arange(x.shape[1]) + 0.5) * t.a
    lon = np.broadcast_to(lon[None, :], x.shape)
    ok = np.isfinite(x)
    expected = {
        "West": ok & (lon < split),
        "Middle": ok & (lon > split) & (lon < 30.5),
        "(outside)": ok & (lon > 30.5),
        "all": ok,
    }
    for unit, sel in expected.items():
        row = by[(unit, "all", "T0")]
        assert int(row["pixels"]) == int(sel.sum()) > 0, unit
        assert float(row["total_t_C"]) == pytest.approx(float(np.sum(x[sel] * area[sel])), rel=1e-9)
    parts = sum(
        float(by[(u, "all", "ASR_SSM1")]["total_t_C"]) for u in ("West", "Middle", "(outside)")
    )
    assert parts == pytest.approx(float(by[("all", "all", "ASR_SSM1")]["total_t_C"]), rel=1e-9)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Per administrative unit (district)" in html and "Middle" in html
    assert all(p.exists() for p in drawn)


def test_cli_errors_exit_2(run_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(report_command, [str(tmp_path)])
    assert r.exit_code == 2 and "Error:" in r.output and "GSOCseq_run.json" in r.output
    admin = tmp_path / "a.geojson"
    _admin_geojson(admin, 30.3)
    r = runner.invoke(
        report_command,
        [str(run_dir), "-o", str(tmp_path / "x"), "--admin", str(admin), "--admin-field", "nope"],
    )
    assert r.exit_code == 2 and "no field 'nope'" in r.output and "district" in r.output
    far = tmp_path / "far.geojson"
    far.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {"name": "Nowhere"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
                },
            }
        )
    )
    r = runner.invoke(
        report_command, [str(run_dir), "-o", str(tmp_path / "y"), "--admin", str(far)]
    )
    assert r.exit_code == 2 and "no admin polygon covers" in r.output


def test_a_failed_report_creates_no_folder(run_dir: Path, tmp_path: Path) -> None:
    """-o DIR with a bad --admin (missing, a field it lacks, far away): exit 2, no DIR."""
    runner = CliRunner()
    admin = tmp_path / "a.geojson"
    _admin_geojson(admin, 30.3)
    far = tmp_path / "far.geojson"
    far.write_text(
        '{"type": "Feature", "properties": {"name": "Nowhere"}, "geometry": {"type": '
        '"Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}}'
    )
    for k, extra in enumerate(
        (
            ["--admin", str(tmp_path / "missing.geojson")],
            ["--admin", str(admin), "--admin-field", "nope"],
            ["--admin", str(far)],
        )
    ):
        out = tmp_path / f"report{k}" / "nested"
        r = runner.invoke(report_command, [str(run_dir), "-o", str(out), *extra])
        assert r.exit_code == 2 and "Error:" in r.output, r.output
        assert not out.parent.exists(), extra


def test_a_folder_of_the_users_own_files_is_not_overwritten(run_dir: Path, tmp_path: Path) -> None:
    """-o naming a folder that holds the user's own report.html (or report.pdf, figures/*.png):
    the report replaced them without a word. Now exit 2 naming them, nothing written; other
    files of the folder are left alone; a report's own folder is replaced by the next report
    (the default folder too)."""
    runner = CliRunner()
    mine = tmp_path / "documents"
    (mine / "figures").mkdir(parents=True)
    for name in ("report.html", "figures/stocks_map.png", "thesis.docx"):
        (mine / name).write_text("the user's own")
    r = runner.invoke(report_command, [str(run_dir), "-o", str(mine)])
    assert r.exit_code == 2, r.output
    assert "report.html, figures/stocks_map.png, which no gsocseq report wrote" in r.output
    assert sorted(p.name for p in mine.rglob("*")) == [
        "figures",
        "report.html",
        "stocks_map.png",
        "thesis.docx",
    ]
    assert all(p.read_text() == "the user's own" for p in mine.rglob("*") if p.is_file())
    (mine / "report.html").unlink()
    (mine / "figures/stocks_map.png").unlink()
    for _ in range(2):  # a folder of the report's own: replaced
        r = runner.invoke(report_command, [str(run_dir), "-o", str(mine), "-q"])
        assert r.exit_code == 0, r.output
        assert (mine / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (mine / "thesis.docx").read_text() == "the user's own"


def test_a_unit_name_with_a_control_character_is_refused(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin unit (or zone) named with a NUL or a line break: exit 2 naming the file and the
    feature, never a statistics CSV holding the raw character (a NUL ends the line for many
    readers: the unit's rows no longer match its name)."""
    import gsocseq.report as rep

    monkeypatch.setattr(rep, "make_figures", lambda stats, folder: {})
    admin = tmp_path / "a.geojson"
    _admin_geojson(admin, 30.3)
    data = json.loads(admin.read_text(encoding="utf-8"))
    for bad in ("Mid\x00dle", "Mid\ndle"):
        data["features"][1]["properties"]["district"] = bad
        admin.write_text(json.dumps(data), encoding="utf-8")
        out = tmp_path / "rep"
        args = [str(run_dir), "-o", str(out), "--admin", str(admin), "--admin-field", "district"]
        r = CliRunner().invoke(report_command, [*args, "-q"])
        assert r.exit_code == 2, r.output
        assert f"{admin}: feature 2" in r.output and "control character" in r.output
        assert not out.exists()
    names = tmp_path / "names.csv"
    names.write_text("code,name\n4,warm\x00moist\n", encoding="utf-8")
    zones = tmp_path / "zones.tif"
    args = [str(run_dir), "-o", str(tmp_path / "z"), "--zones", str(zones)]
    r = CliRunner().invoke(report_command, [*args, "--zone-names", str(names), "-q"])
    assert r.exit_code == 2 and f"{names}: the name of zone 4" in r.output, r.output


def test_stac_item_has_an_asset_per_layer(run_dir: Path, html_path: Path) -> None:
    item_path = html_path.parent / "DEMO_GSOCseq_stac.json"
    item = json.loads(item_path.read_text(encoding="utf-8"))
    assert stac.check_item(item) == []
    summary = json.loads((run_dir / "DEMO_GSOCseq_run.json").read_text(encoding="utf-8"))
    hrefs = {(item_path.parent / a["href"]).resolve(): a for a in item["assets"].values()}
    for name in summary["layers"]:
        asset = hrefs[(run_dir / name).resolve()]
        assert not Path(asset["href"]).is_absolute()
        assert asset["roles"] == ["data"]
        with rasterio.open(run_dir / name) as ds:
            assert asset["title"] == ds.descriptions[0]
            assert asset["raster:bands"][0]["nodata"] == ds.nodata
    for asset in item["assets"].values():
        assert (item_path.parent / asset["href"]).exists(), asset["href"]
    props = item["properties"]
    assert props["datetime"] is None
    assert props["start_datetime"].startswith("2020-") and props["end_datetime"].startswith("2040-")
    assert props["proj:epsg"] == 4326 and props["proj:shape"] == [60, 80]
    west, south, east, north = item["bbox"]
    assert west == pytest.approx(30.0) and north == pytest.approx(5.0)
    assert east == pytest.approx(30.0 + 80 * 0.0083333333) and south < north
    assert stac.check_item({k: v for k, v in item.items() if k != "bbox"}) == [
        "missing field 'bbox'"
    ]
    pystac = pytest.importorskip("pystac")
    parsed = pystac.Item.from_dict(item)
    assert len(parsed.assets) == len(item["assets"])


def test_without_matplotlib_tables_and_stac_still_written(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    html = report(run_dir, output=tmp_path / "plain")
    text = html.read_text(encoding="utf-8")
    assert "matplotlib is not installed" in text and "<img" not in text
    assert "matplotlib is not installed" in capsys.readouterr().err
    assert (tmp_path / "plain" / "DEMO_GSOCseq_statistics.csv").exists()
    assert (tmp_path / "plain" / "DEMO_GSOCseq_stac.json").exists()


def test_report_a_reader_needs_without_run_json(run_dir: Path, tmp_path: Path) -> None:
    """The methods (mode and why, scenario increases, inputs), the pixel counts (excluded per
    rule, masked by QA per layer, against run.json), the QA protocol, the files to send, the
    emissions share (recomputed), a PDF; from the configuration as from the folder."""
    pytest.importorskip("matplotlib")
    summary = json.loads(next(run_dir.glob("*_GSOCseq_run.json")).read_text())
    config = run_dir / "inputs" / "gsocseq.toml"
    r = CliRunner().invoke(
        report_command, [str(config), "-o", str(tmp_path / "r"), "--emissions", "12.5"]
    )
    assert r.exit_code == 0, r.output
    text = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    plain = html.unescape(re.sub(r"<[^>]+>", " ", text))
    assert "rothamsted: the official RothC-26.3 numerics" in plain
    assert "mode for a national submission" in plain
    assert re.search(r"SSM3\s+20 %\s+20 %\s+20 %", plain)  # the demo's increases
    assert "inputs/SOC.tif" in plain and str(run_dir) + "/inputs" not in plain
    counts = summary["counts"]
    excluded = {k: v for k, v in counts.items() if k.startswith("excluded:")}
    masked = {k: v for k, v in counts.items() if k.startswith("qa:")}
    assert excluded and masked  # the demo has both
    for key, n in excluded.items():
        assert re.search(rf"excluded: {re.escape(key[9:])}\s+{n:,}\s", plain), key
    for key, n in masked.items():
        stem = key[len("qa:GSOCseq_") : -len(".tif outside range")]
        share = 100 * n / counts["modelled"]
        assert re.search(rf"masked by QA: {stem}\s+{n:,}\s+{share:.1f} %", plain), key
    assert "QA protocol (GSOCseq manual, Annex II)" in plain
    assert "gsocseq export" in plain and "--fao ISO3" in plain  # no export yet
    rows = _rows(next((tmp_path / "r").glob("*_statistics.csv")))
    for scenario in ("BAU", "SSM1", "SSM2", "SSM3"):
        row = next(
            r
            for r in rows
            if r["unit"] == "all" and r["land_use"] == "all" and r["product"] == f"ASR_{scenario}"
        )
        share = 100 * float(row["total_Mt_CO2e"]) / 12.5
        assert re.search(rf"{scenario}\s+\S+\s+{share:.2f} %", plain), scenario
    pdf = (tmp_path / "r" / "report.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-" and pdf.count(b"/Type /Page") >= 10  # text, then 9 figures
    args = [str(run_dir), "-o", str(tmp_path / "e"), "--emissions", "-1"]
    r = CliRunner().invoke(report_command, args)
    assert r.exit_code == 2 and "Mt CO2e/yr" in r.output


def test_the_pdf_names_the_model_options_and_what_each_scenario_does() -> None:
    """The PDF's methods said neither the moisture option nor the calibration table (the HTML
    only, in its header), and its scenario table gave input increases only: a scenario of
    manure or no-till read "0 % 0 % 0 %", as BAU. Now both are there, as in the HTML."""
    from types import SimpleNamespace

    from gsocseq.report.pdf import _text_lines

    summary = {
        "mode": "rothamsted",
        "options": {
            "moisture": "farina-2",
            "bare_deficit": "standard",
            "min_moisture_rate": 0.2,
            "calibration": "/data/KEN_calibration.csv",
            "scenarios": {"FYM": [0.0, 0.0, 0.0]},
            "scenario_descriptions": {"BAU": "as the warm-up", "FYM": "manure 1.5 t C/ha/yr"},
        },
        "counts": {"modelled": 10},
    }
    stats = SimpleNamespace(run=SimpleNamespace(summary=summary), rows=[])
    text = "\n".join(_text_lines(stats, None, []))  # type: ignore[arg-type]
    assert "model options: moisture farina-2 (RothC v2.0.0" in text
    assert "calibrated (KEN_calibration.csv)" in text
    assert re.search(r"what each scenario does:\n\s+BAU: as the warm-up\n\s+FYM: manure 1.5", text)
    plain = dict(methods_rows({"options": {}}))
    assert plain["model options"] == "RothC-26.3 moisture, not calibrated"


def test_outline_is_the_outer_boundary_not_every_hole() -> None:
    """A realistic mask has thousands of holes: only the outer ring of the area is drawn."""
    pytest.importorskip("matplotlib")
    from gsocseq.report.figures import _outline

    mask = np.ones((60, 80), dtype=bool)
    mask[5:55:3, 5:75:3] = False  # 17 x 24 one-pixel holes
    mask[0:2, 0:2] = False
    calls: list[str] = []

    class Axes:
        def plot(self, *a, **k):
            calls.append("plot")

        def contour(self, *a, **k):
            calls.append("contour")

    _outline(Axes(), mask, (0.0, 8.0, 0.0, 6.0), None)
    assert calls == ["plot"]


def test_rates_of_one_sign_get_a_sequential_scale() -> None:
    from gsocseq.report.figures import _scale

    assert _scale(np.array([0.0, 0.1, 0.5, 2.0]), True)[2] != "RdBu"
    assert _scale(np.array([0.0, 0.1, 0.5, 2.0]), True)[0] == 0.0
    assert _scale(np.array([-1.0, -0.5]), True)[1] == 0.0
    lo, hi, cmap = _scale(np.linspace(-1, 2, 101), True)
    assert cmap == "RdBu" and lo == -hi


def test_zones_from_a_categorical_raster_on_another_grid(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--zones: an IPCC-like climate zone raster at twice the run's pixel size (each cell
    covers 2 x 2 run pixels), codes named by a CSV, nodata outside; totals per zone against
    numpy on the pixels each zone cell covers."""
    import gsocseq.report as rep

    monkeypatch.setattr(rep, "make_figures", lambda stats, folder: {})
    prefix = run_dir / "DEMO_GSOCseq_"
    with rasterio.open(f"{prefix}T0_Map030.tif") as ds:
        t, (h, w) = ds.transform, ds.shape
    coarse = np.zeros(((h + 1) // 2, (w + 1) // 2), dtype=np.uint8)
    coarse[:, : coarse.shape[1] // 3] = 4  # "warm temperate moist" in the west
    coarse[:, coarse.shape[1] // 3 :] = 7  # "tropical dry" elsewhere
    coarse[0, :] = 0  # nodata: outside every zone
    zone_path = tmp_path / "ipcc.tif"
    profile = {
        "driver": "GTiff",
        "width": coarse.shape[1],
        "height": coarse.shape[0],
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:4326",
        "transform": Affine(2 * t.a, 0, t.c, 0, 2 * t.e, t.f),
        "nodata": 0,
    }
    with rasterio.open(zone_path, "w", **profile) as ds:
        ds.write(coarse, 1)
    names = tmp_path / "names.csv"
    names.write_text("code,name\n4,warm temperate moist\n7,tropical dry\n", encoding="utf-8")
    out = tmp_path / "z"
    args = [str(run_dir), "-o", str(out), "--zones", str(zone_path), "--zone-names", str(names)]
    result = CliRunner().invoke(report_command, [*args, "-q"])
    assert result.exit_code == 0, result.output
    by = {
        (r["unit"], r["land_use"], r["product"]): r
        for r in _rows(out / "DEMO_GSOCseq_statistics.csv")
    }
    x = _read(Path(f"{prefix}T0_Map030.tif"))
    area = _cell_areas_ha_by_quadrature(Path(f"{prefix}T0_Map030.tif"))
    fine = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)[:h, :w]
    ok = np.isfinite(x)
    for unit, code in (("warm temperate moist", 4), ("tropical dry", 7), ("(outside)", 0)):
        sel = ok & (fine == code)
        row = by[(unit, "all", "T0")]
        assert int(row["pixels"]) == int(sel.sum()) > 0, unit
        assert float(row["total_t_C"]) == pytest.approx(float(np.sum(x[sel] * area[sel])), rel=1e-9)
    assert "Per zone (ipcc)" in (out / "report.html").read_text(encoding="utf-8")
    both = CliRunner().invoke(report_command, [*args, "--admin", str(zone_path)])
    assert both.exit_code == 2 and "exclude each other" in both.output


def test_choropleth_per_admin_unit(run_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import gsocseq.report as rep
    from gsocseq.report import figures

    admin = tmp_path / "districts.geojson"
    _admin_geojson(admin, 30.3)
    run = load_run(run_dir)
    with rasterio.open(run.land_use) as ds:
        zones = rep.read_admin(admin, "district", ds.crs)
    stats = compute_statistics(run, zones)
    means = figures.unit_means(stats, "ASR_SSM2")
    assert set(means) == {"West", "Middle"}
    for r in stats.rows:
        if r["land_use"] == "all" and r["product"] == "ASR_SSM2" and r["unit"] in means:
            assert means[r["unit"]] == r["mean_per_ha"]
    path = figures._choropleth_figure(stats, "ASR", tmp_path / "c.png")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figures._choropleth_figure(compute_statistics(run), "ASR", tmp_path / "n.png") is None


def test_evaluation_section_and_model_options(run_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "evaluation"
    folder.mkdir()
    (folder / "evaluation_statistics.csv").write_text(
        "group,n,observed_mean,simulated_mean,rmse,relative_rmse_percent,mean_error,"
        "efficiency,r\nall,12,50.0,51.0,2.5,5.0,1.0,0.81,0.93\n"
    )
    (folder / "evaluation_1to1.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = tmp_path / "report"
    res = CliRunner().invoke(
        report_command, [str(run_dir), "-o", str(out), "--evaluation", str(folder), "-q"]
    )
    assert res.exit_code == 0, res.output
    text = (out / "report.html").read_text()
    assert "Evaluation against measured SOC" in text and "<td>2.500</td>" in text
    assert "<td>+1.000</td>" in text and "alt='simulated against observed SOC'" in text
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [str(run_dir), "-o", str(out), "--evaluation", str(empty)]
    res = CliRunner().invoke(report_command, args)
    assert res.exit_code == 2 and "evaluation_statistics.csv: not found" in res.output
