"""A run folder is exported and reported on only as the run wrote it: a layer changed after the
run (edited, copied over from another run) and, given the configuration, a run of another
configuration or of other inputs are refused (exit 2) instead of delivered; running the
configuration again writes a changed layer again."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from gsocseq import run
from gsocseq.cli import main
from gsocseq.demo import generate_inputs
from gsocseq.errors import InputError
from gsocseq.export import export_fao, verify
from gsocseq.report import report

T0 = "DEMO_GSOCseq_T0_Map030.tif"


def _demo(tmp: Path) -> tuple[Path, Path]:
    """(configuration, output folder) of a small demo run (exclusions off: the export's fill
    of the excluded pixels decodes a 32-band 512-pixel tile per layer, ~0.4 s each)."""
    config = generate_inputs(tmp, rows=12, cols=16, years=3)
    config.write_text(config.read_text() + "\n[exclusions]\nenabled = false\n")
    summary = run(config, threads=1)
    return config, Path(summary.output)


def _edit(path: Path) -> None:
    """The layer rewritten with every value doubled, as a GIS would save it."""
    with rasterio.open(path) as ds:
        profile, data, tags = ds.profile, ds.read(1), ds.tags()
    data[data != profile["nodata"]] *= 2
    profile.update(driver="GTiff")
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data, 1)
        ds.update_tags(**tags)


def test_a_layer_changed_after_the_run_is_refused_then_written_again(tmp_path: Path) -> None:
    config, out = _demo(tmp_path)
    original = (out / T0).read_bytes()
    _edit(out / T0)
    # before: exported and reported with exit 0, the run 'up to date'
    with pytest.raises(InputError, match=rf"{T0}: not the layer run 'DEMO' wrote"):
        export_fao(out, "KEN")
    with pytest.raises(InputError, match=rf"{T0}: not the layer run 'DEMO' wrote"):
        report(out)
    res = CliRunner().invoke(main, ["export", str(config), "--fao", "KEN"])
    assert res.exit_code == 2 and "then export it" in res.output
    assert not (out / "FAO_KEN").exists()
    again = run(config, threads=1)
    assert again.status != "up to date"
    assert any(w.startswith(f"{T0} changed after the run") for w in again.warnings)
    assert (out / T0).read_bytes() == original  # the run's own layer, bit for bit
    assert run(config, threads=1).status == "up to date"
    assert verify(export_fao(config, "KEN").zip) == []
    # a copy of the whole folder is the same run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("FAO_*", "inputs"))
    assert verify(export_fao(copy, "KEN").zip) == []


def test_the_configuration_must_be_the_one_that_ran(tmp_path: Path) -> None:
    config, out = _demo(tmp_path)
    text = config.read_text()
    config.write_text(text.replace("crops = 0.05", "crops = 0.07", 1))
    # before: the run of the earlier configuration was delivered under this one's name
    for call in (lambda: export_fao(config, "KEN"), lambda: report(config)):
        with pytest.raises(InputError, match=r"another configuration or other inputs .*"
                           r"scenarios\.SSM1: \[0\.05, 0\.05, 0\.05\] -> \[0\.07"):  # fmt: skip
            call()
    res = CliRunner().invoke(main, ["report", str(config)])
    assert res.exit_code == 2 and "run that configuration first" in res.output
    assert verify(export_fao(out, "KEN").zip) == []  # the folder: the run it holds
    config.write_text(text)
    clay = config.parent / "Clay.tif"
    saved = clay.read_bytes()
    with rasterio.open(clay, "r+") as ds:
        data = ds.read(1)
        ds.write(np.where(data > 0, data + 1, data), 1)
    with pytest.raises(InputError, match="input clay changed"):
        export_fao(config, "KEN", output=tmp_path / "d2")
    clay.write_bytes(saved)
    assert verify(export_fao(config, "KEN", output=tmp_path / "d3").zip) == []
    # the project folder moved elsewhere: the same configuration and inputs, by content
    moved = tmp_path.parent / f"{tmp_path.name} moved é"
    shutil.move(tmp_path, moved)
    moved_config = moved / config.relative_to(tmp_path)
    assert verify(export_fao(moved_config, "KEN", output=moved / "d4").zip) == []


def test_overwrite_removes_the_replaced_runs_whole_report(tmp_path: Path) -> None:
    """--overwrite removes the replaced run's report with it; report.pdf was left behind (the
    PDF of the other configuration's numbers in the new run's report folder, alone)."""
    pytest.importorskip("matplotlib")
    config, out = _demo(tmp_path)
    report(out)
    assert (out / "report" / "report.pdf").is_file()
    text = config.read_text()
    config.write_text(text.replace("crops = 0.05", "crops = 0.06", 1))
    assert config.read_text() != text
    summary = run(config, threads=1, overwrite=True)
    assert any(w.startswith("replaced a finished run") for w in summary.warnings)
    assert not (out / "report").exists(), sorted((out / "report").rglob("*"))
