"""The conversion of a run's layers to COGs: under the GDAL cache the memory budget chose (in
bytes, rasterio's unit: a cache given in MiB was a cache of as many bytes), from temporaries
whose tiles hold one band each (16 rows of it in multi-band files), and with the same values,
nodata, descriptions, tags and overviews as the conversion of a pixel-interleaved temporary
of square tiles under an ample cache (the layout before 2026-12-06)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.env import get_gdal_config
from rasterio.windows import Window

from gsocseq import writing
from gsocseq.gdalcache import MIB, cache_env
from gsocseq.pipeline import gdal_env
from gsocseq.products import NODATA, Layer
from gsocseq.writing import EXCLUDED, LayerWriter

SIDE = 600  # above the COGs' 512-pixel blocks: one overview level
TILE = 256  # the temporaries' tiles (the run's block size): blocks cut at 256 and 512


def _master(path: Path) -> Path:
    profile = {
        "driver": "GTiff",
        "width": SIDE,
        "height": SIDE - 40,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": Affine(0.01, 0.0, 10.0, 0.0, -0.01, 50.0),
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.zeros((1, SIDE - 40, SIDE), dtype=np.float32))
    return path


def _write_run(out: Path, cache_mib: int) -> tuple[LayerWriter, list[Path]]:
    """A writer of a one-band layer, a 5-band pool layer and the excluded values of both,
    fed block by block with values that differ at every pixel (a quarter of the pixels not
    modelled, a tenth excluded), then converted."""
    rng = np.random.default_rng(7)
    layers = [Layer("T0", units="t C/ha"), Layer("Pools2000", units="t C/ha", bands=5)]
    with rasterio.open(_master(out / "master.tif")) as master:
        height, width = master.height, master.width
        writer = LayerWriter(
            out,
            "x",
            master,
            layers,
            tile=TILE,
            excluded_layers=layers,
            tags={"producer": "test", "gsocseq_run": "cog"},
            gdal_cache_mib=cache_mib,
        )
    for row in range(0, height, TILE):
        for col in range(0, width, TILE):
            h, w = min(TILE, height - row), min(TILE, width - col)
            modelled = rng.random((h, w)) < 0.75
            rows, cols = np.nonzero(modelled)
            n = len(rows)
            values = {
                layers[0].key: rng.normal(40.0, 10.0, n),
                layers[1].key: rng.normal(10.0, 3.0, (n, 5)),
            }
            land_use = np.where(modelled, 2, 0).astype(np.uint8)
            writer.write(
                Window(col, row, w, h),
                rows,
                cols,
                values,
                land_use,
                exclusion=np.zeros(n, dtype=np.uint8),
                masked=rng.random(n) < 0.1,
            )
    return writer, writer.finish()


def _reference(
    tmp: Path, cog: Path, predictor: str, to_cog: Callable[..., None], blocksize: int = 512
) -> None:
    """``tmp`` (a temporary as the writer leaves it) copied pixel-interleaved in square tiles
    and converted to ``cog`` under a 512 MiB cache: the conversion before band-interleaved
    temporaries."""
    pixel = tmp.with_name(tmp.name + ".pixel.tif")
    with rasterio.Env(**cache_env(512)):
        with rasterio.open(tmp) as src:
            profile = dict(src.profile, interleave="pixel", blockxsize=TILE, blockysize=TILE)
            with rasterio.open(pixel, "w", **profile) as dst:
                dst.write(src.read())
                dst.update_tags(**src.tags())
                dst.descriptions = src.descriptions
                dst.units = src.units
        to_cog(pixel, cog, predictor, blocksize=blocksize)
    pixel.unlink()


def test_the_budget_cache_is_given_to_gdal_in_bytes() -> None:
    # rasterio.Env(GDAL_CACHEMAX=n) sets n bytes: 32 was a cache of 32 bytes before
    with rasterio.Env(**gdal_env(32)):
        assert get_gdal_config("GDAL_CACHEMAX") == 32 * MIB
    with rasterio.Env(**gdal_env()):
        assert get_gdal_config("GDAL_CACHEMAX") == 256 * MIB


def test_layers_convert_under_the_budget_cache_from_band_interleaved_temporaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, tuple[int, str, int]] = {}  # in the order converted
    tiles: dict[int, set[tuple[int, int]]] = {}  # band count: the tile shapes of the temporaries
    real = writing.to_cog

    def recording(source: Path, target: Path, predictor: str, blocksize: int = 512) -> None:
        with rasterio.open(source) as ds:
            seen[target.name] = (get_gdal_config("GDAL_CACHEMAX"), ds.interleaving.name, ds.count)
            tiles.setdefault(ds.count, set()).update(ds.block_shapes)
        real(source, target, predictor, blocksize=blocksize)

    monkeypatch.setattr(writing, "to_cog", recording)
    monkeypatch.setattr(writing, "COG_WORKERS", 1)  # one at a time: the order is the order run
    writer, written = _write_run(tmp_path, cache_mib=24)
    assert len(seen) == len(written) == 4  # T0, the pools, the land use, the excluded values
    for cache, interleaving, _ in seen.values():
        assert cache == 24 * MIB
        assert interleaving.upper() == "BAND"
    # the files of most bytes a pixel first (pools 5 x 4, excluded 2 x 4, T0 4, land use 1);
    # the files returned in the writer's order (the run summary's list of layers)
    assert [count for _, _, count in seen.values()] == [5, 2, 1, 1]
    # a multi-band file in tiles of 16 rows (its overviews read rows of tiles of every band)
    assert tiles == {5: {(16, TILE)}, 2: {(16, TILE)}, 1: {(TILE, TILE)}}
    assert [p.name for p in written] == [t.name for t in writer.targets.values()]
    assert written[0].name.endswith("T0_Map030.tif") and "LandUse" in written[2].name


def test_cogs_hold_the_values_metadata_and_overviews_of_the_former_conversion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every COG (bands, overviews, nodata, descriptions, units, tags) equals the conversion
    of the same temporary stored pixel-interleaved under an ample cache, and its full
    resolution equals the values written (rounded to float32, nodata where not modelled)."""
    references: dict[str, Path] = {}
    real = writing.to_cog

    def with_reference(source: Path, target: Path, predictor: str, blocksize: int = 512) -> None:
        ref = tmp_path / "ref" / target.name
        ref.parent.mkdir(exist_ok=True)
        _reference(source, ref, predictor, real, blocksize)
        references[target.name.split(".cog.part")[0].lstrip(".")] = ref
        real(source, target, predictor, blocksize=blocksize)

    monkeypatch.setattr(writing, "to_cog", with_reference)
    writer, written = _write_run(tmp_path, cache_mib=16)
    assert len(written) == 4
    excluded = writer.targets[EXCLUDED]
    for path in written:
        ref = references[path.name]
        with rasterio.open(path) as got, rasterio.open(ref) as want:
            assert got.count == want.count and got.dtypes == want.dtypes
            assert got.nodata == want.nodata
            assert got.descriptions == want.descriptions and got.units == want.units
            assert got.tags() == want.tags()
            # the excluded values in smaller tiles (writing.EXCLUDED_BLOCK): one more level
            block = writing.EXCLUDED_BLOCK if path == excluded else 512
            assert got.overviews(1) == want.overviews(1) == ([2, 4] if block == 256 else [2])
            assert got.block_shapes == want.block_shapes == [(block, block)] * got.count
            data = got.read()
            np.testing.assert_array_equal(data, want.read())
            assert (data != got.nodata).any()
            if path == excluded:  # band 1: the T0 values of excluded pixels, nodata elsewhere
                assert 0 < np.count_nonzero(data[0] != NODATA) < 0.2 * data[0].size
        for level in (0,):
            with (
                rasterio.open(path, overview_level=level) as got,
                rasterio.open(ref, overview_level=level) as want,
            ):
                assert got.shape == want.shape == (280, 300)
                np.testing.assert_array_equal(got.read(), want.read())


def test_excluded_values_keep_each_layer_in_its_own_band(tmp_path: Path) -> None:
    """The excluded values' COG (pixel-interleaved tiles of every band, writing.EXCLUDED_BLOCK
    pixels a side) holds in band b the values of excluded layer b at the excluded pixels and
    nodata elsewhere, band b described by that layer's key; the layers themselves are nodata
    there. Each layer's values differ from every other's (layer i: 10^6 (i + 1) + a pixel's index,
    exactly in float32 (below 2^24), so a band lost, shifted or swapped, or a tile of one band
    written into another, fails;
    read whole and by the 512-pixel windows of ``gsocseq export --fao`` (every band of a window
    at once, under its 8 MiB cache), at full resolution and in the overviews."""
    layers = [Layer(p, units="t C/ha") for p in ("T0", "finalSOC_BAU", "ASR_SSM1", "RSR_SSM2")]
    with rasterio.open(_master(tmp_path / "master.tif")) as master:
        height, width = master.height, master.width
        writer = LayerWriter(
            tmp_path, "x", master, layers, tile=TILE, excluded_layers=list(reversed(layers))
        )
    index = np.arange(height * width, dtype=np.float64).reshape(height, width)
    rng = np.random.default_rng(11)
    excluded = np.zeros((height, width), dtype=bool)
    modelled = np.zeros((height, width), dtype=bool)
    for row in range(0, height, TILE):
        for col in range(0, width, TILE):
            h, w = min(TILE, height - row), min(TILE, width - col)
            mod = rng.random((h, w)) < 0.8
            rows, cols = np.nonzero(mod)
            masked = rng.random(len(rows)) < 0.3
            pixel = index[row + rows, col + cols]
            values = {lay.key: 1e6 * (i + 1) + pixel for i, lay in enumerate(layers)}
            modelled[row + rows, col + cols] = True
            excluded[row + rows[masked], col + cols[masked]] = True
            writer.write(
                Window(col, row, w, h),
                rows,
                cols,
                values,
                np.where(mod, 2, 0).astype(np.uint8),
                exclusion=np.zeros(len(rows), dtype=np.uint8),
                masked=masked,
            )
    writer.finish()
    expected = {lay.key: (1e6 * (i + 1) + index).astype(np.float32) for i, lay in enumerate(layers)}
    path = writer.targets[EXCLUDED]
    with rasterio.open(path) as ds:
        assert ds.count == len(layers)
        assert ds.block_shapes == [(writing.EXCLUDED_BLOCK,) * 2] * ds.count
        assert ds.interleaving.name.upper() == "PIXEL"
        assert [d for d in ds.descriptions] == [lay.key for lay in reversed(layers)]
        whole = ds.read()
        overviews = [ds.read(b, out_shape=(ds.height // 2, ds.width // 2)) for b in (1, 2)]
    with rasterio.Env(**cache_env(8)), rasterio.open(path) as ds:
        bands = [3, 1, 4]  # some of them, in another order (as export asks)
        by_windows = np.full((len(bands), height, width), NODATA, dtype=np.float32)
        for row in range(0, height, 512):
            for col in range(0, width, 512):
                w = Window(col, row, min(512, width - col), min(512, height - row))
                by_windows[:, row : row + int(w.height), col : col + int(w.width)] = ds.read(
                    bands, window=w
                )
    np.testing.assert_array_equal(by_windows, whole[[b - 1 for b in bands]])
    assert excluded.any() and (modelled & ~excluded).any()
    for b, lay in enumerate(reversed(layers)):
        want = np.where(excluded, expected[lay.key], np.float32(NODATA))
        np.testing.assert_array_equal(whole[b], want, err_msg=f"band {b + 1} ({lay.key})")
        with rasterio.open(writer.targets[lay.key]) as ds:
            national = ds.read(1)
        assert (national[excluded] == NODATA).all()
        kept = modelled & ~excluded
        np.testing.assert_array_equal(national[kept], expected[lay.key][kept])
    # the overviews of each band hold that band's values (nearest neighbour: some of them)
    for b, ov in enumerate(overviews):
        key = list(reversed(layers))[b].key
        found = ov[ov != NODATA]
        assert found.size and np.isin(found, whole[b][excluded]).all(), key


def test_temporaries_have_no_predictor_and_give_the_same_cog_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporaries are written without a TIFF predictor (writing.TEMPORARY_PREDICTOR:
    libtiff's floating-point predictor cost a fifth of the conversion and hardly shrank a
    run's values), and every COG (the float layers, the excluded values, the land use) is
    byte for byte the conversion of the same temporary stored with the predictor the
    temporaries had before (3 for floating point, 2 for integers)."""
    references: dict[str, Path] = {}
    predictors: dict[str, str] = {}
    real = writing.to_cog

    def with_reference(source: Path, target: Path, predictor: str, blocksize: int = 512) -> None:
        with rasterio.open(source) as src:
            predictors[target.name] = src.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR", "1")
            profile = dict(src.profile, predictor=predictor)
            before = tmp_path / "before" / source.name
            before.parent.mkdir(exist_ok=True)
            with rasterio.open(before, "w", **profile) as dst:
                dst.write(src.read())
                dst.update_tags(**src.tags())
                dst.descriptions = src.descriptions
                dst.units = src.units
                if src.count == 1 and src.dtypes[0] == "uint8":
                    dst.write_colormap(1, src.colormap(1))
                if src.count == 1:  # the land use's class names (int16: no colour table)
                    dst.update_tags(1, **src.tags(1))
        with rasterio.open(before) as b:
            assert b.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR") == predictor
        ref = tmp_path / "before" / target.name
        real(before, ref, predictor, blocksize=blocksize)
        references[target.name.split(".cog.part")[0].lstrip(".")] = ref
        real(source, target, predictor, blocksize=blocksize)

    monkeypatch.setattr(writing, "to_cog", with_reference)
    _, written = _write_run(tmp_path, cache_mib=16)
    assert len(written) == 4 and set(predictors.values()) == {"1"}
    for path in written:
        assert path.read_bytes() == references[path.name].read_bytes(), path.name
