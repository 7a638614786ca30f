"""Where ``gsocseq init`` writes the configuration: the project folder (INPUTS' parent, also
when INPUTS is given as "."), the folder given when it holds STACK under another name (never
its parent or the current folder), and nothing the user had replaced without --overwrite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from gsocseq.cli import main
from gsocseq.init import RESAMPLED, init

from ..conftest import DATA

INPUTS = DATA / "fao_v1.2_t1000" / "inputs"


def test_a_folder_not_called_inputs_gets_the_configuration_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    shutil.copytree(INPUTS, project / "tha_data")
    monkeypatch.chdir(project)
    res = CliRunner().invoke(main, ["init", "tha_data", "--name", "THA"])
    assert res.exit_code == 0, res.output
    assert (project / "tha_data" / "THA_gsocseq.toml").exists()
    assert not (project / "THA_gsocseq.toml").exists()  # not into the current folder
    assert "the configuration goes into it" in res.output


def test_inputs_given_as_dot_writes_into_the_project_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    shutil.copytree(INPUTS, project / "INPUTS")
    monkeypatch.chdir(project / "INPUTS")
    path, _ = init(".", name="THA")
    assert path == project / "THA_gsocseq.toml" and path.exists()
    assert not (project / "INPUTS" / "THA_gsocseq.toml").exists()


def test_nothing_is_replaced_without_overwrite(tmp_path: Path) -> None:
    """An existing configuration, or a series resampled before (the configuration since
    removed): exit 2 naming it, the file as it was."""
    project = tmp_path / "project"
    shutil.copytree(INPUTS, project / "INPUTS")
    config = project / "THA_gsocseq.toml"
    config.write_text("# mine\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["init", str(project), "--name", "THA"])
    assert res.exit_code == 2 and f"{config}: exists already" in res.output
    assert config.read_text(encoding="utf-8") == "# mine\n"
    config.unlink()
    # PET off the grid of the stacks: init resamples it into resampled_inputs/
    series = project / "INPUTS/TERRA_CLIMATE/PET_2001-2020.tif"
    with rasterio.open(series) as ds:
        profile, data, t = ds.profile, ds.read(), ds.transform
    with rasterio.open(
        series, "w", **dict(profile, transform=Affine(t.a, 0, t.c + t.a / 2, 0, t.e, t.f))
    ) as ds:
        ds.write(data)
    mine = project / RESAMPLED / series.name
    mine.parent.mkdir()
    mine.write_bytes(b"mine")
    res = CliRunner().invoke(main, ["init", str(project), "--name", "THA"])
    assert res.exit_code == 2 and f"{mine}: exists already" in res.output, res.output
    assert mine.read_bytes() == b"mine" and not config.exists()
    res = CliRunner().invoke(main, ["init", str(project), "--name", "THA", "--overwrite"])
    assert res.exit_code == 0, res.output
    assert config.exists() and mine.read_bytes() != b"mine"
