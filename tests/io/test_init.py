"""``gsocseq init``: an FAO v1.2 folder (the public t1000 area laid out as the FAO scripts lay
it out) or a prepare output to a configuration that validate accepts and run completes."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from gsocseq.cli import main
from gsocseq.config import load, read_toml
from gsocseq.errors import ConfigError, InputError
from gsocseq.init import RESAMPLED, discover, init
from gsocseq.pipeline import run
from gsocseq.validate import validate

from ..chain.test_fao import _read
from ..conftest import DATA
from ..synthetic import make_area

T1000 = DATA / "fao_v1.2_t1000"


def fao_project(tmp_path: Path, inputs_name: str = "INPUTS") -> Path:
    """A copy of the t1000 area as an FAO project folder: PROJECT/INPUTS/STACK, ..."""
    project = tmp_path / "project"
    shutil.copytree(T1000 / "inputs", project / inputs_name)
    return project


def test_fao_folder_to_a_run_equal_to_the_r_maps(tmp_path):
    """init finds every input with its scale; validate accepts the configuration; the run in
    fao-v1.2 mode gives the 29 layers of the FAO R scripts bit for bit."""
    project = fao_project(tmp_path, "inputs")  # any case
    path, found = init(project, name="THA", mode="fao-v1.2")
    assert path == project / "THA_gsocseq.toml"
    assert found.kind == "fao" and found.years == 20 and found.name == "THA_NP"
    assert found.warnings == []  # the name was given, the scales agree with the stacks
    text = path.read_text()
    assert "checked: x 0.1 agrees with the forward stack" in text  # temperature and PET
    data = read_toml(path)
    fao = data["inputs"]["fao"]
    assert fao["warmup_temperature"]["scale"] == 0.1 and fao["warmup_pet"]["scale"] == 0.1
    assert fao["warmup_precipitation"]["scale"] == 1.0  # written, never left to a default
    assert fao["npp_reference_min"].endswith("NPP_MIAMI_MEAN_81-00_AOI_MIN.tif")
    assert fao["spinup_stack"] == "inputs/STACK/THA_NP_Stack_Set_SPIN_UP.tif"  # relative
    cfg = load(path)
    assert cfg.run.name == "THA" and cfg.run.mode == "fao-v1.2" and cfg.layout == "fao"
    report = validate(path)
    assert "pixels to model: 1000" in report
    summary = run(path)
    assert summary.modelled == 1000
    out = project / "OUTPUTS" / "gsocseq"
    for ref in sorted((T1000 / "outputs/maps").glob("*.tif")):
        mine = out / ref.name.replace("THA_NP_", "THA_")
        a, b = _read(ref).astype(np.float32), _read(mine).astype(np.float32)
        assert np.array_equal(np.isnan(a), np.isnan(b)), ref.name
        m = ~np.isnan(a)
        ulp = np.abs(a[m].view(np.int32).astype(np.int64) - b[m].view(np.int32).astype(np.int64))
        assert ulp.max() <= 1, ref.name


def test_inputs_folder_itself_and_the_name_from_the_files(tmp_path):
    project = fao_project(tmp_path)
    path, found = init(project / "INPUTS")  # the INPUTS folder given: the project is its parent
    assert path == project / "THA_NP_gsocseq.toml"
    assert load(path).run.name == "THA_NP"
    assert any("ISO 3166-1 alpha-3" in w for w in found.warnings)  # THA_NP is not an ISO3 code
    assert "rothamsted" in path.read_text()
    with pytest.raises(InputError, match="exists already"):
        init(project)
    init(project, overwrite=True)


def test_no_name_anywhere_is_an_error(tmp_path):
    project = fao_project(tmp_path)
    for p in (project / "INPUTS/STACK").iterdir():
        p.rename(p.with_name(p.name.replace("THA_NP_", "")))
    with pytest.raises(ConfigError, match="--name ISO3"):
        init(project)
    path, found = init(project, name="KEN")
    assert load(path).run.name == "KEN" and found.warnings == []


def test_series_stored_in_degrees_gets_scale_1(tmp_path):
    """A temperature series already in degrees C (not TerraClimate's x 10) is recognised by
    comparing it with the forward stack."""
    project = fao_project(tmp_path)
    series = project / "INPUTS/TERRA_CLIMATE/AverageTemperature_2001-2020.tif"
    with rasterio.open(series) as ds:
        profile, data = ds.profile, ds.read()
    with rasterio.open(series, "w", **{**profile, "dtype": "float32"}) as ds:
        ds.write((data * 0.1).astype(np.float32))
    path, found = init(project, name="THA")
    assert load(path).inputs["warmup_temperature"].scale == 1.0
    assert load(path).inputs["warmup_pet"].scale == 0.1
    assert any("scale 1, not 0.1" in n for n in found.notes)
    assert "pixels to model: 1000" in validate(path)


def test_stacks_with_temperature_x10_are_refused(tmp_path):
    """FAO scripts 1_1 and 2_1 never rescale TerraClimate temperature (METHOD.md 1): stacks 10
    times the series are named before anything runs."""
    project = fao_project(tmp_path)
    stack = project / "INPUTS/STACK/THA_NP_Stack_Set_Forward.tif"
    with rasterio.open(stack) as ds:
        profile, data = ds.profile, ds.read()
    data[2:14] *= 10
    with rasterio.open(stack, "w", **profile) as ds:
        ds.write(data)
    with pytest.raises(InputError, match="10 times") as err:
        init(project, name="THA")
    assert "1_1 and 2_1" in str(err.value) and "gsocseq prepare" in str(err.value)
    assert not (project / "THA_gsocseq.toml").exists()


def _pet_off_the_grid(project: Path) -> tuple[Affine, np.ndarray]:
    """The project's PET series on a grid of 1/100 degree (coarser, shifted): the original
    transform and the coarse values."""
    series = project / "INPUTS/TERRA_CLIMATE/PET_2001-2020.tif"
    with rasterio.open(series) as ds:
        profile, data = ds.profile, ds.read().astype(np.float32)
        t = ds.transform
    # the same area on a grid of 1/100 degree (coarser, shifted)
    coarse = dict(
        profile, width=36, height=36, dtype="float32", transform=Affine(0.01, 0, t.c, 0, -0.01, t.f)
    )
    from rasterio.warp import Resampling, reproject

    out = np.empty((data.shape[0], 36, 36), np.float32)
    reproject(
        data,
        out,
        src_transform=t,
        src_crs=profile["crs"],
        dst_transform=coarse["transform"],
        dst_crs=profile["crs"],
        resampling=Resampling.average,
    )
    with rasterio.open(series, "w", **coarse) as ds:
        ds.write(out)
    return t, out


def test_series_off_the_grid_are_resampled_bilinearly(tmp_path):
    """Script 12 resamples the TerraClimate series bilinearly onto the land use: init does the
    same into a folder beside the configuration, and validate accepts the result."""
    project = fao_project(tmp_path)
    t, out = _pet_off_the_grid(project)
    path, found = init(project, name="THA")
    resampled = project / RESAMPLED / "PET_2001-2020.tif"
    assert resampled.exists()
    assert load(path).inputs["warmup_pet"].path == resampled.resolve()
    assert load(path).inputs["warmup_pet"].scale == 0.1  # still checked against the stack
    assert any("resampled" in n for n in found.notes)
    with (
        rasterio.open(resampled) as a,
        rasterio.open(project / "INPUTS/STACK/THA_NP_Stack_Set_SPIN_UP.tif") as m,
    ):
        assert (a.crs, a.transform, a.shape, a.count) == (m.crs, m.transform, m.shape, 240)
        # bilinear: a pixel centre between four coarse centres is their weighted mean
        x, y = a.xy(20, 20)
        col, row = (x - t.c) / 0.01 - 0.5, (t.f - y) / 0.01 - 0.5
        i, j = math.floor(row), math.floor(col)
        fy, fx = row - i, col - j
        q = out[0, i : i + 2, j : j + 2].astype(np.float64)
        expected = (
            q[0, 0] * (1 - fx) * (1 - fy)
            + q[0, 1] * fx * (1 - fy)
            + q[1, 0] * (1 - fx) * fy
            + q[1, 1] * fx * fy
        )
        assert a.read(1)[20, 20] == pytest.approx(expected, rel=1e-5)
    assert "pixels to model: 1000" in validate(path)


def test_two_candidate_stacks_are_named(tmp_path):
    project = fao_project(tmp_path)
    stack = project / "INPUTS/STACK/THA_NP_Stack_Set_SPIN_UP.tif"
    shutil.copy(stack, stack.with_name("THA_NP_Stack_Set_SPIN_UP_old.tif"))
    with pytest.raises(InputError, match="several files could be the spin-up stack"):
        init(project, name="THA")


@pytest.mark.parametrize("count", [239, 252])
def test_a_series_with_a_month_missing_or_twice_is_named(tmp_path, count):
    """It was 'no 240-band pet series' beside PET_2001-2020.tif: the file named, its bands."""
    project = fao_project(tmp_path)
    pet = project / "INPUTS/TERRA_CLIMATE/PET_2001-2020.tif"
    with rasterio.open(pet) as ds:
        profile, data = ds.profile, ds.read()
    profile.update(count=count)
    with rasterio.open(pet, "w", **profile) as ds:
        ds.write(np.concatenate([data, data[:12]])[:count])
    with pytest.raises(
        InputError, match=rf"no 240-band pet series .*PET_2001-2020\.tif \({count} bands\)"
    ):
        init(project, name="THA")


def test_not_an_fao_folder(tmp_path):
    with pytest.raises(InputError, match="neither an FAO GSOCseq folder"):
        discover(tmp_path)


def test_prepare_output(tmp_path):
    """A prepare output (its gsocseq.toml with relative paths) to a commented configuration."""
    folder = tmp_path / "prepared"
    cfg = make_area(folder)
    lines = ["[run]", 'name = "TST"', "", "[inputs]"]
    for key, value in cfg["inputs"].items():
        if isinstance(value, dict):
            rel = Path(value["path"]).name
            lines.append(f'{key} = {{ path = "{rel}", scale = {value["scale"]} }}')
        else:
            lines.append(f'{key} = "{Path(value).name}"')
    lines += ["", "[scenarios.SSM1]", "crops = 0.07", "grass = 0.05", "paddy = 0.05"]
    (folder / "gsocseq.toml").write_text("\n".join(lines) + "\n")
    path, found = init(folder)
    assert found.kind == "prepared" and found.years == 20
    assert path == folder / "TST_gsocseq.toml"  # prepare's own gsocseq.toml is kept
    cfg2 = load(path)
    assert cfg2.inputs["warmup_temperature"].scale == 0.1
    assert cfg2.scenarios == {"SSM1": (0.07, 0.05, 0.05)}  # the prepared scenarios kept
    assert "# SOC map, t C/ha 0-30 cm (master grid)" in path.read_text()  # commented
    assert "pixels to model" in validate(path)


def test_cli(tmp_path):
    project = fao_project(tmp_path)
    res = CliRunner().invoke(main, ["init", str(project), "--name", "THA"])
    assert res.exit_code == 0, res.output
    assert "next: gsocseq validate" in res.output
    res = CliRunner().invoke(main, ["init", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "not a folder" in res.output


def test_init_on_a_full_disk_exits_2_and_leaves_nothing(tmp_path):
    """Resampling a series onto a full disk (here a file size limit: EFBIG, as ENOSPC) stopped
    with a traceback, exit 1. Now exit 2 naming the folder and the space needed, nothing left
    (no configuration, no resampled series: the same command then runs on a bigger disk)."""
    import resource
    import subprocess
    import sys

    project = fao_project(tmp_path)
    _pet_off_the_grid(project)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    args = [sys.executable, "-m", "gsocseq.cli", "init", str(project), "--name", "THA"]
    res = subprocess.run(args, capture_output=True, text=True, preexec_fn=limit, timeout=300)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert f"{project}: cannot write the outputs" in res.stderr and "init needs up to" in res.stderr
    assert sorted(p.name for p in project.iterdir()) == ["INPUTS"]
    res = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert (project / RESAMPLED / "PET_2001-2020.tif").exists()
