"""Resume after SIGKILL, tiles and Dask: the same layers, bit for bit."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from click.testing import CliRunner

from gsocseq.checkpoint import changes
from gsocseq.cli import main
from gsocseq.pipeline import run

from ..synthetic import make_area


def layers(out: Path) -> dict[str, np.ndarray]:
    res = {}
    for p in sorted(out.glob("*.tif")):
        with rasterio.open(p) as ds:
            res[p.name] = ds.read()
            res[p.name + ":meta"] = (ds.crs, ds.transform, ds.nodata, ds.descriptions)
    return res


def same(a: dict, b: dict) -> None:
    assert set(a) == set(b) and a
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].tobytes() == b[k].tobytes(), k
        else:
            assert a[k] == b[k], k


def write_toml(cfg: dict, path: Path, output: Path) -> Path:
    lines = ["[run]", 'name = "TST"', f'output = "{output}"', "block_size = 16", "[inputs]"]
    for k, v in cfg["inputs"].items():
        if isinstance(v, dict):
            lines.append(f'{k} = {{ path = "{v["path"]}", scale = {v["scale"]} }}')
        else:
            lines.append(f'{k} = "{v}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def test_tiles_then_assemble_equal_the_plain_run(tmp_path):
    cfg = make_area(tmp_path / "in", rows=40, cols=37, seed=21)
    plain = write_toml(cfg, tmp_path / "plain.toml", tmp_path / "plain")
    tiled = write_toml(cfg, tmp_path / "tiled.toml", tmp_path / "tiled")
    assert CliRunner().invoke(main, ["run", str(plain), "-q"]).exit_code == 0
    runner = CliRunner()
    res = runner.invoke(main, ["assemble", str(tiled), "-q"])
    assert res.exit_code == 2 and "not computed yet" in res.output
    for i in (3, 1, 2):  # any order
        res = runner.invoke(main, ["run", str(tiled), "--tile", f"{i}/3", "-q"])
        assert res.exit_code == 0, res.output
    assert not list((tmp_path / "tiled").glob("*.tif"))
    res = runner.invoke(main, ["assemble", str(tiled), "-q"])
    assert res.exit_code == 0, res.output
    same(layers(tmp_path / "plain"), layers(tmp_path / "tiled"))


def test_inputs_that_moved_with_the_same_contents_are_the_same_run(tmp_path):
    """A project folder moved (another drive, a renamed folder), or tiles on machines that see
    the inputs at other paths: the run continues (it was refused as 'a run of another
    configuration' naming only the paths), and the layers are the plain run's bit for bit."""
    cfg = make_area(tmp_path / "in", rows=40, cols=37, seed=21)
    plain = write_toml(cfg, tmp_path / "plain.toml", tmp_path / "plain")
    assert CliRunner().invoke(main, ["run", str(plain), "-q"]).exit_code == 0
    here = write_toml(cfg, tmp_path / "here.toml", tmp_path / "tiled")
    elsewhere = tmp_path / "moved é"
    shutil.copytree(tmp_path / "in", elsewhere)
    cfg_there = json.loads(json.dumps(cfg).replace(str(tmp_path / "in"), str(elsewhere)))
    there = write_toml(cfg_there, tmp_path / "there.toml", tmp_path / "tiled")
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(here), "--tile", "1/2", "-q"]).exit_code == 0
    res = runner.invoke(main, ["run", str(there), "--tile", "2/2", "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["assemble", str(there), "-q"])
    assert res.exit_code == 0, res.output
    same(layers(tmp_path / "plain"), layers(tmp_path / "tiled"))
    assert run(here).status == "up to date"
    # other contents at the new place are another run, as before
    with rasterio.open(elsewhere / Path(cfg["inputs"]["clay"]).name, "r+") as ds:
        ds.write(ds.read(1) + 1, 1)
    res = runner.invoke(main, ["run", str(there), "-q"])
    assert res.exit_code == 2 and "input clay changed" in res.output
    assert changes({"p": "C\u00f4te"}, {"p": "Cote"}) == ['p: "C\u00f4te" -> "Cote"']


def test_assembly_replaces_truncated_temporaries_of_a_killed_run(tmp_path):
    # A run killed while writing its layers leaves truncated hidden temporaries (a TIFF header
    # pointing past the end of the file); assembling again must replace them, not fail on them.
    cfg = make_area(tmp_path / "in", rows=20, cols=18, seed=26)
    plain = write_toml(cfg, tmp_path / "plain.toml", tmp_path / "plain")
    killed = write_toml(cfg, tmp_path / "killed.toml", tmp_path / "killed")
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(plain), "-q"]).exit_code == 0
    assert runner.invoke(main, ["run", str(killed), "--tile", "1/1", "-q"]).exit_code == 0
    names = [p.name for p in (tmp_path / "plain").glob("*.tif")]
    for name in names:
        for tmp in (f".{name}.part.tif", f".{name}.cog.part.tif"):
            (tmp_path / "killed" / tmp).write_bytes(b"II*\x00\x08\x00\x00\x00")
    res = runner.invoke(main, ["assemble", str(killed), "-q"])
    assert res.exit_code == 0, res.output
    same(layers(tmp_path / "plain"), layers(tmp_path / "killed"))
    assert not [p for p in (tmp_path / "killed").iterdir() if ".part" in p.name]


def test_dask_local_cluster_equals_the_plain_run(tmp_path):
    cfg = make_area(tmp_path / "in", rows=33, cols=40, seed=22)
    cfg["run"]["block_size"] = 16
    run(dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "plain"))))
    summary = run(
        dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "dask"))), scheduler="local:2"
    )
    assert summary.status == "complete"
    same(layers(tmp_path / "plain"), layers(tmp_path / "dask"))


def _kill_after(cmd: list[str], out: Path, blocks: int, env: dict) -> None:
    """Start the run and SIGKILL it once ``blocks`` block checkpoints exist."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    folder = out / ".gsocseq-TST" / "blocks"
    while time.time() < deadline and proc.poll() is None:
        if folder.exists() and len(list(folder.glob("block_*.npz"))) >= blocks:
            break
        time.sleep(0.01)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_resume_after_sigkill_is_bit_identical(tmp_path):
    cfg = make_area(tmp_path / "in", rows=48, cols=48, seed=23)
    plain = write_toml(cfg, tmp_path / "plain.toml", tmp_path / "plain")
    assert CliRunner().invoke(main, ["run", str(plain), "-q"]).exit_code == 0
    ref = layers(tmp_path / "plain")
    killed = write_toml(cfg, tmp_path / "killed.toml", tmp_path / "killed")
    cmd = [sys.executable, "-m", "gsocseq.cli", "run", str(killed), "-q", "--threads", "1"]
    env = dict(os.environ)
    for blocks in (1, 4, 7, 9):  # kill at several points (9: while assembling)
        _kill_after(cmd, tmp_path / "killed", blocks, env)
        for p in (tmp_path / "killed").glob("*.tif"):
            # a final name is complete; anything else is a hidden temporary name
            assert p.name in ref or (p.name.startswith(".") and ".part" in p.name), p.name
        for p in (tmp_path / "killed").glob("TST_*.tif"):
            with rasterio.open(p) as ds:
                assert ds.read().tobytes() == ref[p.name].tobytes()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    same(ref, layers(tmp_path / "killed"))
    leftovers = [p.name for p in (tmp_path / "killed").iterdir() if p.name.startswith(".TST")]
    assert not leftovers
    summary = json.loads((tmp_path / "killed" / "TST_GSOCseq_run.json").read_text())
    assert (
        summary["counts"]["modelled"]
        == json.loads((tmp_path / "plain" / "TST_GSOCseq_run.json").read_text())["counts"][
            "modelled"
        ]
    )
    assert not math.isnan(summary["timings"]["total_s"])


def test_changed_input_invalidates_the_checkpoint(tmp_path):
    cfg = make_area(tmp_path / "in", rows=20, cols=20, seed=24)
    toml = write_toml(cfg, tmp_path / "a.toml", tmp_path / "out")
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(toml), "-q"]).exit_code == 0
    with rasterio.open(tmp_path / "out" / "TST_GSOCseq_T0_Map030.tif") as ds:
        before = ds.read()
    with rasterio.open(cfg["inputs"]["soc"], "r+") as ds:
        ds.write(ds.read() * 1.1)
    # the folder holds the run of the earlier inputs: refused, named, nothing touched
    res = runner.invoke(main, ["run", str(toml), "-q"])
    assert res.exit_code == 2 and "input soc changed" in res.output, res.output
    with rasterio.open(tmp_path / "out" / "TST_GSOCseq_T0_Map030.tif") as ds:
        assert np.array_equal(before, ds.read())
    assert runner.invoke(main, ["run", str(toml), "-q", "--overwrite"]).exit_code == 0
    with rasterio.open(tmp_path / "out" / "TST_GSOCseq_T0_Map030.tif") as ds:
        after = ds.read()
    assert not np.array_equal(before, after)


def _soc_10_percent_more(soc: Path, new: Path) -> None:
    """``new``: a copy of the SOC map ``soc`` with every value 10 % larger."""
    shutil.copy(soc, new)
    with rasterio.open(new, "r+") as ds:
        ds.write(ds.read() * 1.1)


def test_an_input_replaced_while_the_run_reads_it_is_refused(tmp_path):
    # An input replaced under a live run (a gsocseq prepare --overwrite of its folder): the
    # run's open handles read the old file, the content hash (taken while the blocks compute)
    # and handles opened later the new one. The run finished and running it again said "up to
    # date": layers of the old contents under the new contents' fingerprint, silently.
    import pytest

    from gsocseq.errors import InputError

    cfg = make_area(tmp_path / "in", rows=40, cols=40, seed=27)
    cfg["run"].update(block_size=16, threads=1)
    soc = Path(cfg["inputs"]["soc"])
    new = soc.with_name("new_soc.tif")
    _soc_10_percent_more(soc, new)
    calls = []

    def replace_once(done: int, total: int) -> None:
        if not calls:
            os.replace(new, soc)
        calls.append(done)

    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"soc.tif: input soc was rewritten or replaced while"):
        run(dict(cfg, run=dict(cfg["run"], output=str(out))), progress=replace_once)
    assert not (out / "TST_GSOCseq_run.json").exists()
    assert not (out / "TST_GSOCseq_T0_Map030.tif").exists()
    # the inputs final now: the same command starts over, the run of the new contents
    run(dict(cfg, run=dict(cfg["run"], output=str(out))))
    run(dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "clean"))))
    same(layers(out), layers(tmp_path / "clean"))
    # resumed (its inputs hashed before any block): the same
    _soc_10_percent_more(soc, new)
    stop = []

    def interrupt(done: int, total: int) -> None:
        stop.append(done)
        if len(stop) == 3:
            raise KeyboardInterrupt

    again = tmp_path / "again"
    with pytest.raises(KeyboardInterrupt):
        run(dict(cfg, run=dict(cfg["run"], output=str(again))), progress=interrupt)
    calls.clear()
    with pytest.raises(InputError, match=r"input soc was rewritten or replaced"):
        run(dict(cfg, run=dict(cfg["run"], output=str(again))), progress=replace_once)
    run(dict(cfg, run=dict(cfg["run"], output=str(again))))
    run(dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "clean2"))))
    same(layers(again), layers(tmp_path / "clean2"))
    # a tile: its blocks and the other tiles' go, so the assembly cannot mix two contents
    from gsocseq.pipeline import assemble_run

    _soc_10_percent_more(soc, new)
    tiled = dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "tiled")))
    run(tiled, tile="1/2")
    calls.clear()
    with pytest.raises(InputError, match=r"input soc was rewritten or replaced"):
        run(tiled, tile="2/2", progress=replace_once)
    with pytest.raises(InputError, match=r"not computed yet"):
        assemble_run(tiled)
    run(tiled, tile="1/2")
    run(tiled, tile="2/2")
    assemble_run(tiled)
    run(dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "clean3"))))
    same(layers(tmp_path / "tiled"), layers(tmp_path / "clean3"))


def test_dask_worker_killed_mid_run_still_gives_identical_outputs(tmp_path, monkeypatch):
    cfg = make_area(tmp_path / "in", rows=40, cols=40, seed=25)
    cfg["run"]["block_size"] = 16
    run(dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "plain"))))
    marker = tmp_path / "killed.marker"
    monkeypatch.setenv("GSOCSEQ_TEST_KILL_WORKER", f"4:{marker}")
    summary = run(
        dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "dask"))), scheduler="local:2"
    )
    assert marker.exists()  # a worker really died in the middle of the run
    assert summary.status == "complete"
    same(layers(tmp_path / "plain"), layers(tmp_path / "dask"))


def test_a_dask_worker_of_another_gsocseq_version_is_refused(tmp_path, monkeypatch):
    # The workers import their own gsocseq: one of another version (a cluster whose
    # environment was not upgraded with the client's) computed its blocks by other code into
    # a run whose manifest names the client's version, silently. Here the client says it is
    # another version than the spawned worker.
    import pytest

    from gsocseq.errors import ConfigError

    cfg = make_area(tmp_path / "in", rows=20, cols=20, seed=26)
    cfg["run"].update(block_size=16, output=str(tmp_path / "dask"))
    monkeypatch.setattr("gsocseq.pipeline.dask.__version__", "0.0.0-other")
    with pytest.raises(ConfigError, match=r"runs gsocseq \S+, the run gsocseq 0\.0\.0-other"):
        run(cfg, scheduler="local:1")
    assert not list((tmp_path / "dask" / ".gsocseq-TST" / "blocks").glob("block_*.npz"))


def test_fingerprint_hashed_while_blocks_compute_is_the_one_of_a_resume(tmp_path):
    # A new output folder: the inputs are hashed while the blocks compute. The manifest then
    # holds the fingerprint a resumed run computes before anything else, so running again does
    # nothing; a manifest without it (killed before the hashes were done) starts over.
    from gsocseq.checkpoint import config_fingerprint, fingerprint, input_hashes
    from gsocseq.config import load
    from gsocseq.pipeline import Plan

    cfg = make_area(tmp_path / "in", rows=24, cols=20, seed=25)
    toml = write_toml(cfg, tmp_path / "a.toml", tmp_path / "out")
    run(toml)
    manifest_path = tmp_path / "out" / ".gsocseq-TST" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["complete"] and manifest["fingerprint"]
    assert set(manifest["input_hashes"]) == set(cfg["inputs"])
    config = load(toml)
    with Plan(config) as plan:  # hashes first, as a resume does
        assert plan.complete
        assert (
            fingerprint(config_fingerprint(config), input_hashes(config))
            == (manifest["fingerprint"])
        )
    ref = layers(tmp_path / "out")
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.tif")}
    run(toml)  # nothing to do
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.tif")}
    # as if killed before the hashes were recorded: no fingerprint, so everything again
    manifest_path.write_text(json.dumps(dict(manifest, fingerprint=None, complete=False)))
    run(toml)
    assert stamps != {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.tif")}
    same(ref, layers(tmp_path / "out"))
    assert json.loads(manifest_path.read_text())["fingerprint"] == manifest["fingerprint"]
