"""Pipeline behaviour on inputs: nodata, the invalid-input rule, the FAO layout against the
equivalent native configuration, block sizes and threads, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from gsocseq.cli import main
from gsocseq.config import ConfigError, load
from gsocseq.pipeline import run
from gsocseq.rasters import InputError

from ..chain.test_fao import INPUTS, fao_config
from ..synthetic import make_area, write


def read(path):
    with rasterio.open(path) as ds:
        a = ds.read().astype(np.float64)
        if ds.nodata is not None and not math.isnan(ds.nodata):
            a[a == ds.nodata] = np.nan
        return a


def layers(out):
    return {p.name: read(p) for p in sorted(out.glob("*.tif"))}


def _set_pixel(path, band_values, r, c):
    with rasterio.open(path, "r+") as ds:
        data = ds.read()
        for b, v in band_values.items():
            data[b, r, c] = v
        ds.write(data)


def test_nodata_in_any_input_gives_nodata_out(tmp_path):
    cfg = make_area(tmp_path, rows=3, cols=4, seed=7)
    cfg["run"]["uncertainty"] = "none"
    inputs = cfg["inputs"]
    lu = read(inputs["land_use"])[-1]
    targets = list(zip(*np.nonzero(np.isin(lu, [2, 3, 5, 12, 13]))))
    keys = ["soc", "clay", "cover", "spinup_temperature", "warmup_precipitation", "npp_reference"]
    assert len(targets) > len(keys)
    for key, (r, c) in zip(keys, targets):
        path = inputs[key]["path"] if isinstance(inputs[key], dict) else inputs[key]
        with rasterio.open(path) as ds:
            count = ds.count
        _set_pixel(path, {b: -999 for b in range(count)}, r, c)  # all bands nodata
    summary = run(cfg)
    t0 = read(tmp_path / "out" / "TST_GSOCseq_T0_Map030.tif")[0]
    for key, (r, c) in zip(keys, targets):
        assert np.isnan(t0[r, c]), key
        assert summary.counts[f"nodata:{key}"] == 1
    others = [rc for rc in targets[len(keys) :]]
    assert all(not np.isnan(t0[r, c]) for r, c in others)
    assert summary.counts["modelled"] == len(targets) - len(keys)


@pytest.mark.parametrize(
    ("key", "bands", "value", "message"),
    [
        ("soc", {0: -5.0}, None, "soc = -5, expected 0 to 800"),
        ("clay", {0: 150.0}, None, "clay = 150, expected 0 to 100"),
        ("cover", {3: 1.4}, None, "cover = 1.4"),
        ("spinup_temperature", {2: np.inf}, None, "spinup_temperature = inf"),
        ("warmup_precipitation", {7: -999.0}, None, "band 8, row 0, col 0"),
        ("warmup_precipitation", {7: -999.0}, None, "nodata in 1 of 240 bands"),
        (
            "warmup_temperature",
            {100: 990.0},
            None,
            "band 101, row 0, col 0 (x=10.005000, y=49.995000): warmup_temperature = 99 "
            "after scale 0.1, expected -60 to 60 degrees C",
        ),
        ("land_use", {19: 77}, None, "land-use code 77 is not in the FAO class table"),
    ],
)
def test_invalid_values_are_errors_naming_file_band_and_pixel(tmp_path, key, bands, value, message):
    cfg = make_area(tmp_path, rows=3, cols=4, seed=7)
    path = cfg["inputs"][key]
    path = path["path"] if isinstance(path, dict) else path
    _set_pixel(path, bands, 0, 0)  # pixel (0, 0) is paddy, modelled
    with pytest.raises(InputError) as err:
        run(cfg)
    text = str(err.value)
    assert message in text and path in text and "row 0, col 0" in text and "x=" in text
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.tif"))
    # the same with invalid = "mask": the pixel is not modelled and counted
    cfg["run"]["invalid"] = "mask"
    summary = run(cfg)
    assert np.isnan(read(tmp_path / "out" / "TST_GSOCseq_T0_Map030.tif")[0][0, 0])
    assert any(k.startswith("invalid:") for k in summary.counts)


def test_wrong_grid_and_band_counts(tmp_path):
    cfg = make_area(tmp_path, rows=3, cols=4, seed=7)
    write(
        tmp_path / "clay_shifted.tif",
        np.full((3, 4), 20.0),
        transform=rasterio.transform.from_origin(10.005, 50.0, 0.01, 0.01),
    )
    bad = dict(cfg, inputs=dict(cfg["inputs"], clay=str(tmp_path / "clay_shifted.tif")))
    with pytest.raises(InputError, match="origin"):
        run(bad)
    write(tmp_path / "cover11.tif", np.full((11, 3, 4), 0.6))
    bad = dict(cfg, inputs=dict(cfg["inputs"], cover=str(tmp_path / "cover11.tif")))
    with pytest.raises(InputError, match="has 11 bands, expected 12"):
        run(bad)
    write(tmp_path / "p13.tif", np.full((13, 3, 4), 10.0))
    bad = dict(cfg, inputs=dict(cfg["inputs"], warmup_precipitation=str(tmp_path / "p13.tif")))
    with pytest.raises(InputError, match="expected 240"):
        run(bad)
    write(tmp_path / "clay_utm.tif", np.full((3, 4), 20.0), crs="EPSG:32633")
    bad = dict(cfg, inputs=dict(cfg["inputs"], clay=str(tmp_path / "clay_utm.tif")))
    with pytest.raises(InputError, match="CRS"):
        run(bad)


def test_config_errors_are_clear(tmp_path):
    cfg = make_area(tmp_path, rows=2, cols=2)
    with pytest.raises(ConfigError, match="did you mean 'uncertainty'"):
        run(dict(cfg, run=dict(cfg["run"], uncertanty="none")))
    with pytest.raises(ConfigError, match="increase is a fraction >= 0"):
        run(dict(cfg, scenarios={"SSM1": {"crops": -0.05}}))
    with pytest.raises(ConfigError, match="spinup"):
        run(dict(cfg, run=dict(cfg["run"], mode="fao-v1.2", spinup="equilibrium")))


def test_an_increase_given_in_percent_is_refused(tmp_path):
    """SSM1 written as 5 (meaning 5 %) ran +500 % with exit 0 (up to 10 was taken). A whole
    number above 1 is now an error saying what 5 % is; a fraction above 1 written with its
    point (1.5: +150 %) runs, with a warning in the run summary."""
    cfg = make_area(tmp_path, rows=2, cols=2)
    for value, group in ((5, "crops"), (20, "increase")):
        with pytest.raises(ConfigError) as err:
            run(dict(cfg, scenarios={"SSM1": {group: value}}))
        text = str(err.value)
        assert text.startswith("[scenarios.SSM1].crops:")  # increase: every group's
        assert "increase is a fraction >= 0" in text and f"got {value} (+{100 * value} %)" in text
        assert f"{value} % is {value / 100:g}; write {value}.0 if" in text
    config = load(dict(cfg, scenarios={"SSM4": {"increase": 1.0}, "BIG": {"crops": 1.5}}))
    assert config.scenarios["SSM4"] == (1.0, 1.0, 1.0) and config.scenarios["BIG"][0] == 1.5
    summary = run(dict(cfg, scenarios={"BIG": {"crops": 1.5, "grass": 0.1}}))
    warning = "[scenarios.BIG]: input increase crops 1.5 (+150 %), above +100 %: a percentage? "
    assert warning + "1.5 % is 0.015" in summary.warnings


def test_fao_layout_equals_the_equivalent_native_config(tmp_path):
    """The FAO stacks split into single rasters give the same layers in fao-v1.2 mode."""
    run(fao_config(tmp_path / "stacks"))
    with rasterio.open(INPUTS / "STACK/THA_NP_Stack_Set_SPIN_UP.tif") as ds:
        spin = ds.read()
        transform, crs = ds.transform, ds.crs
    with rasterio.open(INPUTS / "STACK/THA_NP_Stack_Set_Warm_UP.tif") as ds:
        warm = ds.read()
    with rasterio.open(INPUTS / "STACK/THA_NP_Stack_Set_Forward.tif") as ds:
        fwd = ds.read()
    d = tmp_path / "native"
    d.mkdir()

    def w(name, data, dtype="float32", nodata=np.nan):
        return str(write(d / name, data, transform=transform, crs=crs, dtype=dtype, nodata=nodata))

    stacks = fao_config(tmp_path)["inputs"]["fao"]
    native = {
        "soc": w("soc.tif", spin[0]),
        "clay": w("clay.tif", spin[1]),
        "spinup_temperature": w("t.tif", spin[2:14]),
        "spinup_precipitation": w("p.tif", spin[14:26]),
        "spinup_pet": w("e.tif", spin[26:38]),
        "cover": w("cov.tif", spin[40:52]),
        "land_use": w("lu.tif", np.nan_to_num(warm[14:34], nan=255), "uint8", 255),
        "forward_temperature": w("tf.tif", fwd[2:14]),
        "forward_precipitation": w("pf.tif", fwd[14:26]),
        "forward_pet": w("ef.tif", fwd[26:38]),
    }
    for key in (
        "warmup_temperature",
        "warmup_precipitation",
        "warmup_pet",
        "npp_reference",
        "npp_reference_min",
        "npp_reference_max",
    ):
        native[key] = stacks[key]
    run(
        {
            "run": {"name": "THA_NP", "mode": "fao-v1.2", "output": str(tmp_path / "native_out")},
            "inputs": native,
        }
    )
    a, b = layers(tmp_path / "stacks"), layers(tmp_path / "native_out")
    assert set(a) == set(b) and len(a) == 31  # the 29, the land use, the exclusion mask
    for name in a:
        assert np.array_equal(a[name], b[name], equal_nan=True), name


def test_block_size_and_threads_do_not_change_a_bit(tmp_path):
    cfg = make_area(tmp_path / "a", rows=20, cols=33, seed=11)
    run(cfg, block_size=256, threads=2)
    cfg2 = make_area(tmp_path / "b", rows=20, cols=33, seed=11)
    run(cfg2, block_size=16, threads=1)
    a, b = layers(tmp_path / "a" / "out"), layers(tmp_path / "b" / "out")
    assert set(a) == set(b)
    for name in a:
        assert np.array_equal(a[name], b[name], equal_nan=True), name


def test_cli_run_validate_and_exit_codes(tmp_path):
    cfg = make_area(tmp_path, rows=2, cols=3, seed=2)
    lines = ["[run]", 'name = "CLI"', 'output = "cli_out"', 'uncertainty = "none"', "[inputs]"]
    for k, v in cfg["inputs"].items():
        if isinstance(v, dict):
            lines.append(f'{k} = {{ path = "{v["path"]}", scale = {v["scale"]} }}')
        else:
            lines.append(f'{k} = "{v}"')
    toml = tmp_path / "run.toml"
    toml.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    res = runner.invoke(main, ["validate", str(toml)])
    assert res.exit_code == 0, res.output
    assert "pixels to model" in res.output
    res = runner.invoke(main, ["run", str(toml), "-q"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "cli_out" / "CLI_GSOCseq_run.json").read_text())
    assert summary["counts"]["modelled"] > 0
    # a finished run with unchanged inputs and configuration is a no-op
    # (the folder's lock and the record of its holder aside)
    outputs = [p for p in (tmp_path / "cli_out").glob("*") if not p.name.startswith(".gsocseq.")]
    before = {p.name: p.stat().st_mtime_ns for p in outputs}
    res = runner.invoke(main, ["run", str(toml), "-q"])
    assert res.exit_code == 0, res.output
    after = {p.name: p.stat().st_mtime_ns for p in outputs}
    assert before == after
    # a file the run does not own is never overwritten without --overwrite
    other = tmp_path / "other_out"
    other.mkdir()
    (other / "CLI_GSOCseq_T0_Map030.tif").write_bytes(b"somebody's file")
    res = runner.invoke(main, ["run", str(toml), "-q", "-o", str(other)])
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert (other / "CLI_GSOCseq_T0_Map030.tif").read_bytes() == b"somebody's file"
    res = runner.invoke(main, ["run", str(toml), "-q", "-o", str(other), "--overwrite"])
    assert res.exit_code == 0, res.output
    toml.write_text(toml.read_text().replace('name = "CLI"', 'nme = "CLI"'))
    res = runner.invoke(main, ["run", str(toml), "-q"])
    assert res.exit_code == 2 and "did you mean 'name'" in res.output


def test_blocks_without_modelled_pixels(tmp_path):
    """A block of water (no modelled pixel) is nodata in every layer, not an error."""
    cfg = make_area(tmp_path, rows=20, cols=33, seed=13)
    with rasterio.open(cfg["inputs"]["land_use"], "r+") as ds:
        lu = ds.read()
        lu[:, :16, 16:32] = 11
        ds.write(lu)
    summary = run(cfg, block_size=16)
    t0 = read(tmp_path / "out" / "TST_GSOCseq_T0_Map030.tif")[0]
    assert np.isnan(t0[:16, 16:32]).all()
    assert summary.counts["modelled"] == (~np.isnan(t0)).sum() > 0


@pytest.mark.parametrize("dtype", ["float32", "int16", "uint16", "float64"])
def test_series_read_in_place_equal_gathered_arrays(tmp_path, dtype):
    """The warm-up series reach the core as read (WindowBands: the window's bands in the
    raster's own type, scale and nodata applied by the core); every result equals the run on
    the same values gathered into (n, months) float64 arrays, bit for bit."""
    from gsocseq.config import from_dict
    from gsocseq.inputs import WindowBands
    from gsocseq.rasters import windows

    from ..blocks import read_block

    cfg = make_area(tmp_path, rows=9, cols=21, seed=5)
    # the series stored as whole numbers of tenths in the chosen type
    for key in ("warmup_temperature", "warmup_precipitation", "warmup_pet"):
        spec = cfg["inputs"][key]
        path = spec["path"] if isinstance(spec, dict) else spec
        with rasterio.open(path) as ds:
            data, profile = ds.read(), ds.profile
        scale = spec["scale"] if isinstance(spec, dict) else 1.0
        tenths = np.round(data * scale * 10) + (300 if key == "warmup_temperature" else 0)
        # no nodata value at all for float64 (every value is data)
        profile.update(dtype=dtype, nodata=None if dtype == "float64" else 9999)
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(tenths.astype(dtype))
        offset = -30.0 if key == "warmup_temperature" else 0.0
        cfg["inputs"][key] = {"path": path, "scale": 0.1, "offset": offset}
    config = from_dict(cfg)
    chain, block = read_block(config, next(windows(9, 21, 16)))
    series = {k: v for k, v in block.arrays.items() if isinstance(v, WindowBands)}
    assert sorted(series) == ["warmup_pet", "warmup_precipitation", "warmup_temperature"]
    assert all(v.raw.dtype == np.dtype(dtype) for v in series.values())
    gathered = dict(block.arrays, **{k: v.to_array() for k, v in series.items()})
    assert all(
        a.shape == (block.n, 240) and a.dtype == np.float64
        for a in gathered.values()
        if a.ndim == 2 and a.shape[1] == 240
    )
    a = chain.simulate(block.arrays)
    b = chain.simulate(gathered)
    assert block.n > 100
    for key in a:
        assert np.array_equal(a[key], b[key], equal_nan=True), key


def test_window_series_argument_errors(tmp_path):
    from gsocseq.config import from_dict
    from gsocseq.inputs import WindowBands
    from gsocseq.rasters import windows

    from ..blocks import read_block

    config = from_dict(make_area(tmp_path, rows=3, cols=4, seed=3))
    chain, block = read_block(config, next(windows(3, 4, 16)))
    t = block.arrays["warmup_temperature"]
    bad = dict(
        block.arrays,
        warmup_temperature=WindowBands(
            t.raw, t.pixels + t.raw.shape[1], t.nodata, t.scale, t.offset
        ),
    )
    with pytest.raises(ValueError, match=r"warmup_temperature.pixels: index .* outside"):
        chain.simulate(bad)
    with pytest.raises(TypeError, match=r"warmup_temperature: expected an \(n, months\)"):
        chain.simulate(dict(block.arrays, warmup_temperature=[1.0, 2.0]))
    short = dict(block.arrays, warmup_pet=block.arrays["warmup_pet"].to_array()[:, :12])
    with pytest.raises(ValueError, match=r"warmup_pet: .* pixels of 12 months, expected"):
        chain.simulate(short)


def test_read_parts_cut_the_heavy_inputs_into_consecutive_ranges():
    """The parts a block's inputs are read in: every band of every input exactly once, the
    heavy band-interleaved inputs cut in consecutive ranges on handles of their own, an input
    that may not be cut read whole, the heaviest parts first; one thread: whole inputs."""
    from gsocseq.inputs import read_parts

    weights, most, counts = (
        [8.0, 3.4, 2.0, 0.1, 5.0],
        [240, 240, 240, 20, 1],
        [240, 240, 240, 20, 12],
    )
    parts = read_parts(weights, most, counts, workers=2)
    for i, n in enumerate(counts):
        mine = sorted((a, b, h) for j, h, a, b in parts if j == i)
        assert mine[0][0] == 0 and mine[-1][1] == n
        assert all(x[1] == y[0] for x, y in zip(mine, mine[1:]))  # consecutive, no overlap
        assert sorted(h for _, _, h in mine) == list(range(len(mine)))  # a handle each
    cuts = {i: sum(1 for j, *_ in parts if j == i) for i in range(len(counts))}
    assert cuts[0] > 1 and cuts[4] == 1 and cuts[3] == 1
    assert max(cuts.values()) <= 4  # two parts a thread at most
    sizes = [weights[i] * (b - a) / counts[i] for i, _, a, b in parts]
    assert sizes == sorted(sizes, reverse=True)
    assert read_parts(weights, most, counts, workers=1) == [
        (i, 0, 0, n) for i, n in enumerate(counts)
    ]


@pytest.mark.parametrize("interleave", ["band", "pixel"])
def test_a_block_read_in_parts_equals_one_read(tmp_path, interleave):
    """The bands of an input read in parts on several threads (each part on its own handle)
    give the block read on one thread, value for value; a pixel-interleaved input (its blocks
    hold every band: cut, they would be decoded once per part) is read whole."""
    from gsocseq.chain import Modelled
    from gsocseq.config import from_dict
    from gsocseq.inputs import Inputs, WindowBands
    from gsocseq.rasters import windows

    cfg = make_area(tmp_path, rows=20, cols=24, seed=3)
    spec = cfg["inputs"]["warmup_precipitation"]
    path = spec["path"] if isinstance(spec, dict) else spec
    with rasterio.open(path) as ds:
        data, profile = ds.read(), ds.profile
    profile.update(interleave=interleave, tiled=True, blockxsize=16, blockysize=16)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
    config = from_dict(cfg)
    window = next(windows(20, 24, 32))

    def block_values(threads):
        with Inputs(config, Modelled(config)) as inputs:
            block = inputs.read_block(window, threads)
            values = {
                k: (v.raw[:, : 20 * 24].copy() if isinstance(v, WindowBands) else v.copy())
                for k, v in block.values.items()
            }
            handles = {k: len(r._handles) for k, r in inputs.rasters.items()}
        return values, handles

    one, none = block_values(1)
    many, handles = block_values(8)
    assert not any(none.values())
    assert sorted(one) == sorted(many) and len(one) > 5
    for k in one:
        assert one[k].dtype == many[k].dtype and np.array_equal(one[k], many[k], equal_nan=True), k
    cut = "warmup_precipitation"
    assert (handles[cut] > 0) == (interleave == "band")
