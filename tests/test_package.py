"""The package as pip installs it: its files, its metadata, its command line's start-up.

.ci/wheel runs this file against the installed wheel with GSOCSEQ_EXPECT_INSTALLED set to the
fresh virtual environment, so that a test run which silently imported the source tree fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata, resources
from pathlib import Path

from click.testing import CliRunner

import gsocseq
import gsocseq._core
from gsocseq.cli import main

PACKAGE = Path(gsocseq.__file__).resolve().parent


def test_imported_from_the_expected_place() -> None:
    expected = os.environ.get("GSOCSEQ_EXPECT_INSTALLED")
    if expected:
        prefix = Path(expected).resolve()
        assert PACKAGE.is_relative_to(prefix), f"gsocseq imported from {PACKAGE}, not {prefix}"
        assert "site-packages" in PACKAGE.parts, PACKAGE
    # the extension module sits in the package it belongs to (wheel or editable build)
    assert Path(gsocseq._core.__file__).resolve().parent == PACKAGE


def test_files_a_wheel_must_carry() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_core.pyi").is_file()
    example = resources.files("gsocseq") / "data" / "rothamsted" / "RothC_input.dat"
    assert example.is_file()
    assert example.read_text().strip()


def test_metadata_agrees_with_the_extension() -> None:
    # the version is the Rust crates' one, read by maturin and compiled into _core
    assert metadata.version("gsocseq") == gsocseq.__version__ == gsocseq._core.__version__
    distribution = metadata.distribution("gsocseq")
    scripts = [e.value for e in distribution.entry_points if e.group == "console_scripts"]
    assert scripts == ["gsocseq.cli:main"]
    # the extras the install docs name
    extras = set(distribution.metadata.get_all("Provides-Extra") or [])
    assert {"prepare", "report", "dask", "test"} <= extras, extras


def test_help_lists_every_command_without_the_raster_stack() -> None:
    # a fresh interpreter: the test session has long imported numpy and rasterio
    probe = (
        "import sys\n"
        "from gsocseq.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'rasterio', 'matplotlib', 'dask'))\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out, out
    for name in ("prepare", "report", "site", "run", "validate", "assemble", "demo"):
        assert f"\n  {name} " in out, (name, out)


def test_commands_import_no_heavy_module_until_they_run() -> None:
    # every command lives in a module of gsocseq.cli that imports click and its options only
    probe = (
        "import sys\n"
        "import gsocseq.cli\n"
        "ctx = gsocseq.cli.main.make_context('gsocseq', ['--help'], resilient_parsing=True)\n"
        "names = gsocseq.cli.main.list_commands(ctx)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'rasterio', 'matplotlib', 'dask'))\n"
        "print('COMMANDS', names, 'HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out, out
    assert "'prepare'" in out and "'site'" in out, out
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "Prepare the rasters and the run configuration" in result.output


def test_a_lazy_command_runs() -> None:
    result = CliRunner().invoke(main, ["site", "--help"])
    assert result.exit_code == 0, result.output
    assert "SITES" in result.output
