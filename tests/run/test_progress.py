"""Progress in pixels of the grid: a block is computed in parts (the same bits as one call)
that advance the progress; plain lines in a log, the assembly said."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gsocseq.cli import main
from gsocseq.pipeline import local, run

from ..synthetic import make_area
from .test_scaleout import layers, same, write_toml


def test_part_bounds_cover_the_block_in_lane_multiples(monkeypatch):
    assert local.part_bounds(2048) == [(0, 2048)]
    monkeypatch.setattr(local, "MIN_PART", 16)
    for n in (17, 100, 255, 1000, 4099):
        bounds = local.part_bounds(n)
        assert bounds[0][0] == 0 and bounds[-1][1] == n and len(bounds) <= local.PARTS
        assert all(b[1] == c[0] for b, c in zip(bounds, bounds[1:]))
        assert all((hi - lo) % 16 == 0 for lo, hi in bounds[:-1])


@pytest.mark.parametrize("uncertainty", ["minmax", "montecarlo"])
def test_a_block_in_parts_gives_the_bits_of_one_call(tmp_path, monkeypatch, uncertainty):
    cfg = make_area(tmp_path / "in", rows=19, cols=23, seed=7)
    cfg["run"].update(uncertainty=uncertainty, samples=20, block_size=32)
    whole = run(dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "whole"))))
    monkeypatch.setattr(local, "MIN_PART", 16)
    calls: list[tuple[int, int]] = []
    parts = run(
        dict(cfg, run=dict(cfg["run"], output=str(tmp_path / "parts"))),
        progress=lambda done, total: calls.append((done, total)),
    )
    same(layers(tmp_path / "whole"), layers(tmp_path / "parts"))
    assert whole.counts == parts.counts
    # one block of 19 x 23 pixels, in parts: the progress moves within it
    assert calls[0] == (0, 19 * 23) and calls[-1] == (19 * 23, 19 * 23)
    assert len(calls) > 3 and all(a[0] < b[0] for a, b in zip(calls, calls[1:]))


def test_progress_lines_in_a_log(tmp_path):
    cfg = make_area(tmp_path / "in", rows=5, cols=7)
    toml = tmp_path / "a.toml"
    write_toml(cfg, toml, tmp_path / "out")
    res = CliRunner().invoke(main, ["run", str(toml)])  # stderr is no terminal here
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "computing 35 of 35 pixels"  # nothing before the inputs are open
    assert "100.0 % of 35 pixels" in lines[1]
    assert lines[2].startswith("assembling the layers")
    res = CliRunner().invoke(main, ["run", str(toml), "-q"])
    # -q: no progress and no summary; the run's warnings only
    assert all(line.startswith("warning: ") for line in res.output.splitlines()), res.output
