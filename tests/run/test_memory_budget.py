"""The memory budget of a run ([run].memory, --memory): sizes parsed and checked, the block
size, reading ahead and GDAL's cache chosen within the budget, and the same layers bit for bit
whatever the budget chooses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import blake3
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from gsocseq.checkpoint import config_fingerprint
from gsocseq.cli import main
from gsocseq.config import ConfigError, from_dict, parse_memory, with_options
from gsocseq.pipeline import memory, run

from ..synthetic import make_area


def layers(folder):
    out = {}
    for path in sorted(folder.glob("*.tif")):
        with rasterio.open(path) as ds:
            out[path.name] = ds.read()
    return out


def test_sizes_are_parsed_in_binary_units():
    assert parse_memory("256M") == 256
    assert parse_memory("2G") == 2048
    assert parse_memory("1.5GiB") == 1536
    assert parse_memory("512mb") == 512
    assert parse_memory(300) == 300
    assert parse_memory("262144K") == 256
    for bad in ("lots", "-1G", "256 X", True):
        with pytest.raises(ConfigError, match="expected a size such as 256M"):
            parse_memory(bad)
    with pytest.raises(ConfigError, match="below the smallest budget"):
        parse_memory("100M")


def test_config_checks_the_budget_and_the_fingerprint_ignores_it(tmp_path):
    cfg = make_area(tmp_path)
    with pytest.raises(ConfigError, match="memory"):
        from_dict({**cfg, "run": {**cfg["run"], "memory": "a lot"}}, base_dir=tmp_path)
    loaded = from_dict({**cfg, "run": {**cfg["run"], "memory": "1G"}}, base_dir=tmp_path)
    assert loaded.run.memory == "1G"
    with pytest.raises(ConfigError, match="below the smallest budget"):
        with_options(loaded, memory="64M")
    # the budget chooses the blocks; the block size, not the budget, is the run's identity
    assert config_fingerprint(loaded) == config_fingerprint(with_options(loaded, memory="256M"))


def test_blocks_in_flight_fit_the_budget():
    cfg = from_dict({"run": {}}, require_inputs=False)
    per_pixel = 3112  # 20 years of monthly T, P and PET at float32, and the rest
    previous = None
    for budget in ("2G", "1G", "512M", "384M", "256M", "224M"):
        plan = memory.plan_memory(with_options(cfg, memory=budget), 20_000, 20_000, per_pixel)
        room = (plan.budget_mib - memory.BASE_MIB - plan.gdal_cache_mib) * 2**20
        in_flight = 2 if plan.read_ahead else 1
        per_block = in_flight * per_pixel + memory.COMPUTE_BYTES_PER_PIXEL
        assert plan.block_size**2 * per_block <= room, budget
        assert plan.block_size % 16 == 0 and 16 <= plan.block_size <= 256
        assert 16 <= plan.gdal_cache_mib <= max(16, plan.budget_mib // 16)
        if previous is not None:  # a smaller budget never holds more
            assert plan.block_size <= previous.block_size
            assert plan.gdal_cache_mib <= previous.gdal_cache_mib
        previous = plan
    # the default budget reads ahead in blocks of at least 128 pixels a side; 256M still
    # reads ahead
    default = memory.plan_memory(cfg, 20_000, 20_000, per_pixel)
    assert default.budget_mib == memory.DEFAULT_MIB and default.read_ahead
    assert default.block_size >= 128
    assert memory.plan_memory(
        with_options(cfg, memory="256M"), 20_000, 20_000, per_pixel
    ).read_ahead
    # inputs tiled 256 x 256 (as gsocseq prepare writes them): whole tiles first, one block
    # at a time rather than blocks that cut the tiles (decoded again for every block)
    tiled = memory.plan_memory(cfg, 20_000, 20_000, per_pixel, 256)
    assert (tiled.block_size, tiled.read_ahead) == (256, False)
    # a small map keeps the configured blocks (they hold only the map)
    assert memory.plan_memory(cfg, 40, 60, per_pixel).block_size == cfg.run.block_size
    # a budget that cannot hold one block of 16 x 16 pixels says so
    with pytest.raises(ConfigError, match="cannot hold one block"):
        memory.plan_memory(with_options(cfg, memory="224M"), 20_000, 20_000, 10**8)


def test_a_tight_budget_gives_the_same_layers(tmp_path, monkeypatch):
    """A budget that leaves room for one 16 x 16 block only (no reading ahead) gives the layers of
    the default run bit for bit, and the summary says what it chose."""
    make_area(tmp_path / "a", rows=20, cols=33, seed=11)
    default = run(make_area(tmp_path / "a", rows=20, cols=33, seed=11))
    assert default.options["block_size"] == 256 and default.options["memory"] is None
    cfg = make_area(tmp_path / "b", rows=20, cols=33, seed=11)
    cache = memory.gdal_cache_mib(224)
    monkeypatch.setattr(memory, "BASE_MIB", 224 - cache - 1.5)  # 1.5 MiB left for blocks
    chosen = []
    real = memory.plan_memory
    monkeypatch.setattr(
        "gsocseq.pipeline.plan_memory", lambda *a: chosen.append(real(*a)) or chosen[-1]
    )
    tight = run(cfg, memory="224M")
    assert chosen[-1].block_size == 16 and not chosen[-1].read_ahead
    assert tight.options["block_size"] == 16 and tight.options["memory"] == "224M"
    a, b = layers(tmp_path / "a" / "out"), layers(tmp_path / "b" / "out")
    assert set(a) == set(b) and a
    for name in a:
        assert np.array_equal(a[name], b[name], equal_nan=True), name


def test_the_protocol_tallies_one_window_at_a_time_below_the_default_budget(tmp_path, monkeypatch):
    """The run summary's QA protocol tallies two windows side by side under the default budget
    (about 25 MiB more) and one at a time below it; the table is the same."""
    from gsocseq import qa_protocol

    assert memory.protocol_workers(256) == 1 and memory.protocol_workers(224) == 1
    assert memory.protocol_workers(512) == qa_protocol.WORKERS == 2
    assert memory.protocol_workers(2048) == 2
    used = []
    real = qa_protocol.protocol
    monkeypatch.setattr(
        qa_protocol, "protocol", lambda *a, **k: used.append(k["workers"]) or real(*a, **k)
    )
    default = run(make_area(tmp_path / "a", rows=20, cols=33, seed=11))
    small = run(make_area(tmp_path / "b", rows=20, cols=33, seed=11), memory="256M")
    assert used == [2, 1]
    assert default.qa_protocol and small.qa_protocol == default.qa_protocol


def test_cli_memory_option(tmp_path):
    inputs = make_area(tmp_path, rows=2, cols=3, seed=2)["inputs"]

    def value(v):  # a path, a number, or a table of them
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return json.dumps(v if isinstance(v, float) else str(v))

    toml = tmp_path / "run.toml"
    run_table = '[run]\nname = "MEM"\noutput = "mem_out"\nuncertainty = "none"\n'
    toml.write_text(
        run_table + "[inputs]\n" + "".join(f"{k} = {value(v)}\n" for k, v in inputs.items())
    )
    res = CliRunner().invoke(main, ["run", str(toml), "-q", "--memory", "2 lots"])
    assert res.exit_code == 2 and "expected a size such as 256M" in res.output, res.output
    res = CliRunner().invoke(main, ["run", str(toml), "-q", "--memory", "256M"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "mem_out" / "MEM_GSOCseq_T0_Map030.tif").exists()


def test_hashing_an_input_holds_one_window_not_the_file(tmp_path):
    """A run hashes its inputs while its first blocks compute, so the hash's resident memory
    adds to the blocks'. A 96 MiB file raises the peak resident memory of a fresh process by
    less than 32 MiB (a 64 MiB window put a 10^7-pixel run at 489 MiB under the 512M budget),
    and its digest is BLAKE3 of its bytes."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("resident memory read from Linux /proc")
    data = np.random.default_rng(5).integers(0, 256, 96 << 20, dtype=np.uint8).tobytes()
    path = tmp_path / "input.tif"
    path.write_bytes(data)
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from gsocseq import checkpoint\n"
        "def hwm():\n"
        "    with open('/proc/self/status') as fh:\n"
        "        return next(int(l.split()[1]) for l in fh if l.startswith('VmHWM'))\n"
        "before = hwm()\n"
        "digest = checkpoint._digest(Path(sys.argv[1]))\n"
        "print(json.dumps({'digest': digest, 'grew_kib': hwm() - before}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["digest"] == blake3.blake3(data).hexdigest()
    assert got["grew_kib"] < 32 * 1024, got


def test_smaller_tiles_under_small_budgets():
    """Inputs tiled 128 or 64 pixels a side (gsocseq prepare --tile-size): blocks of whole tiles
    where the budget holds them, else blocks that divide the tiles (docs/scaling.md)."""
    cfg = from_dict({"run": {}}, require_inputs=False)
    per_pixel = 3112

    def plan(budget, tile):
        p = memory.plan_memory(with_options(cfg, memory=budget), 20_000, 20_000, per_pixel, tile)
        return p.block_size, p.read_ahead

    # 256M: 64-pixel blocks (a 128-pixel block and the run exceed 256 MiB: measured 257-260),
    # read ahead when they are whole tiles
    assert plan("256M", 128) == (64, False)
    assert plan("256M", 64) == (64, True)
    # 512M: blocks of whole 128-pixel tiles read ahead (less memory than one 256-pixel block)
    assert plan("512M", 128) == (128, True)
    assert plan("512M", 256) == (256, False)


def test_the_tiles_of_the_largest_input_decide(tmp_path):
    """The budget reads the tiles of the input holding the most bytes a pixel (the warm-up
    series), not the SOC map's."""
    import rasterio.shutil

    cfg = make_area(tmp_path, rows=40, cols=40, seed=3)
    inputs = cfg["inputs"]

    def tiled(key, tile):
        spec = inputs[key]
        source = spec["path"] if isinstance(spec, dict) else spec
        path = tmp_path / f"{key}_{tile}.tif"
        rasterio.shutil.copy(
            source, path, driver="GTiff", tiled=True, blockxsize=tile, blockysize=tile
        )
        inputs[key] = {**spec, "path": str(path)} if isinstance(spec, dict) else str(path)

    def tile():
        return memory.input_tile(from_dict(cfg, base_dir=tmp_path))

    assert tile() == 16  # strips
    tiled("soc", 32)
    assert tile() == 16  # the series: strips
    for key in ("warmup_temperature", "warmup_precipitation", "warmup_pet"):
        tiled(key, 16)
    assert tile() == 16
    for key in ("warmup_temperature", "warmup_precipitation", "warmup_pet"):
        tiled(key, 48)
    assert tile() == 48
