"""The command line's start-up: ``gsocseq --help`` lists every command without importing the
raster stack; each command imports what it drives only when it runs.

.ci/wheel runs this file against the installed wheel (.ci/smoke-tests).
"""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from gsocseq.cli import main


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
        "ours = sorted(m for m in sys.modules if m.startswith('gsocseq.') and not "
        "m.startswith('gsocseq.cli'))\n"
        "print('OURS', ours)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out, out
    # the commands' modules, the core (its constants) and the errors only: no configuration
    # module (TOML, dataclasses, ~15 ms) before a command runs
    assert "OURS ['gsocseq._core', 'gsocseq.errors']" in out, out
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
