"""--quiet silences progress and the summary, never a warning about the run."""

from pathlib import Path

import numpy as np
import rasterio
from click.testing import CliRunner

from gsocseq.cli import main

from ..synthetic import make_area, write_raster


def test_a_run_warning_is_printed_with_quiet(tmp_path: Path) -> None:
    """A zone of a practice that appears nowhere is said on stderr with -q, as without it
    (it reached run.json only, so a scripted run never showed it)."""
    cfg = make_area(tmp_path / "area")
    with rasterio.open(cfg["inputs"]["soc"]) as ds:
        transform, crs, shape = ds.transform, ds.crs, ds.shape
    zones = (np.arange(shape[0] * shape[1]).reshape(shape) % 2 + 1).astype(np.float32)
    zone = write_raster(tmp_path / "area" / "zones.tif", zones[None], transform=transform, crs=crs)
    lines = ["[run]", 'name = "TST"', "threads = 1", "[inputs]", f'zone = "{zone}"']
    for k, v in cfg["inputs"].items():
        if isinstance(v, dict):
            lines.append(f'{k} = {{ path = "{v["path"]}", scale = {v["scale"]} }}')
        else:
            lines.append(f'{k} = "{v}"')
    lines += ["[scenarios.MANURE]", 'fym = { zones = { "2" = 0.5, "8" = 0.3 } }']
    said = {}
    for quiet in (False, True):
        toml = tmp_path / f"run{quiet}.toml"
        out = tmp_path / f"out{quiet}"
        toml.write_text("\n".join([*lines[:2], f'output = "{out}"', *lines[2:]]) + "\n")
        res = CliRunner().invoke(main, ["run", str(toml), *(["-q"] if quiet else [])])
        assert res.exit_code == 0, res.output
        said[quiet] = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
        assert any("[scenarios.MANURE].fym: zone(s) 8 " in w for w in said[quiet]), res.stderr
        assert ("pixels modelled" in res.stderr) is not quiet, res.stderr
    assert said[True] == said[False]
